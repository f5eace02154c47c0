//! Email addresses, found from their `@`.
//!
//! The local part is read backwards from the `@` and the domain forwards,
//! each as the longest run of the characters they may hold. The domain needs
//! at least two labels and an alphabetic top-level domain of 2–24 letters
//! that is a real one: the ICANN list in `patterns/tlds.txt` (so
//! `getty@tty1.service`, `ca@valencia.po` and `aperson@dom.ain` are not
//! addresses). Top-level domains that are also common file extensions
//! (`icon@2x.png`, `bundle@1.0.zip`) are rejected, and so are the reserved
//! documentation domains (`example.com`, `.test`, …), which no person's
//! address can use, SSH remotes (`git@github.com`) and command-line
//! switches (`-x@exclude.lst`). Perl POD's `E<gt>` after an address
//! (`a@cpan.orgE<gt>`) is not part of the domain.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::patterns;

const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 253;

/// TLD-shaped file extensions that follow `@` in asset names and code.
const FILE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "css", "scss", "js", "mjs", "ts",
    "tsx", "jsx", "map", "json", "html", "htm", "txt", "rs", "go", "py", "rb", "java", "kt",
    "swift", "cpp", "hpp", "md", "yml", "yaml", "toml", "lock", "xml", "zip", "gz", "tgz", "tar",
    "so", "dll", "exe", "bin", "wasm", "woff", "woff2", "ttf", "otf", "mp3", "mp4", "pdf", "sh",
    "vue", "php", "lua", "sql", "csv", "log", "cfg", "ini", "conf", "tmp",
];

/// Second-level names reserved for documentation (RFC 2606 / RFC 6761).
const RESERVED: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "example",
    "test",
    "invalid",
    "localhost",
];

/// Local parts of service accounts used in repository URLs.
const SERVICE_USERS: &[&str] = &["git", "hg", "svn"];

static TLDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    patterns::records(patterns::TLDS)
        .map(|(_, rec)| rec[0])
        .collect()
});

fn is_local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// The email address around the `@` at `at`, not starting before `floor`:
/// `(start, end)`.
pub fn around(text: &[u8], at: usize, floor: usize) -> Option<(usize, usize)> {
    // Local part: backwards from '@'.
    let mut start = at;
    while start > floor && at - start < MAX_LOCAL && is_local_char(text[start - 1]) {
        start -= 1;
    }
    while start < at && text[start] == b'.' {
        start += 1;
    }
    if start == at || text[at - 1] == b'.' || text[start] == b'-' {
        return None;
    }
    let local = &text[start..at];
    if SERVICE_USERS.iter().any(|u| u.as_bytes() == local) {
        return None;
    }
    // Domain: forwards from '@'.
    let mut end = at + 1;
    while end < text.len() && end - at <= MAX_DOMAIN && is_domain_char(text[end]) {
        end += 1;
    }
    while end > at + 1 && matches!(text[end - 1], b'.' | b'-') {
        end -= 1;
    }
    if text[end - 1] == b'E' && text.get(end) == Some(&b'<') {
        end -= 1; // POD: E<lt>a@cpan.orgE<gt>
    }
    is_domain(&text[at + 1..end]).then_some((start, end))
}

/// Checks a domain's labels and top-level domain. Allocates nothing: it
/// runs for every `@` that has a local part.
fn is_domain(domain: &[u8]) -> bool {
    let mut buf = [0u8; MAX_DOMAIN + 1];
    let Some(lower) = buf.get_mut(..domain.len()) else {
        return false;
    };
    for (l, b) in lower.iter_mut().zip(domain) {
        *l = b.to_ascii_lowercase();
    }
    let Ok(domain) = std::str::from_utf8(lower) else {
        return false;
    };
    let mut labels = 0;
    let mut tld = "";
    for label in domain.split('.') {
        if label.is_empty() || label.len() > 63 || label.starts_with('-') || label.ends_with('-') {
            return false;
        }
        labels += 1;
        tld = label;
    }
    let reserved = RESERVED.iter().any(|r| {
        domain == *r
            || domain
                .strip_suffix(r)
                .is_some_and(|head| head.ends_with('.'))
    });
    labels >= 2 && TLDS.contains(tld) && !FILE_EXTENSIONS.contains(&tld) && !reserved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str) -> Option<&str> {
        let at = text.find('@')?;
        around(text.as_bytes(), at, 0).map(|(s, e)| &text[s..e])
    }

    #[test]
    fn valid_addresses() {
        assert_eq!(
            find("contact: zhang.san+hr@corp-mail.com.cn."),
            Some("zhang.san+hr@corp-mail.com.cn")
        );
        assert_eq!(find("<12345678@qq.com>"), Some("12345678@qq.com"));
        assert_eq!(find("邮箱:li@163.com。"), Some("li@163.com"));
        assert_eq!(find("x@mail.xn--fiqs8s"), Some("x@mail.xn--fiqs8s"));
        assert_eq!(find("E<lt>exodist@cpan.orgE<gt>"), Some("exodist@cpan.org"));
    }

    #[test]
    fn invalid_addresses() {
        for text in [
            "icon@2x.png",
            "lodash@4.17.21",
            "user@localhost",
            "@scope/package",
            "a@b",
            "a@-b.com",
            "a@b..com",
            "a.@b.com",
            "x@host.c",
            "x@host.c0m",
            "a@example.com",
            "b@mail.example.org",
            "c@host.test",
            "aperson@dom.ain",
            "getty@tty1.service",
            "ca@valencia.po",
            "x@box.local",
            "git@github.com",
            "-x@exclude.lst",
        ] {
            assert_eq!(find(text), None, "{text}");
        }
    }
}
