//! Email addresses, found from their `@`.
//!
//! The local part is read backwards from the `@` and the domain forwards,
//! each as the longest run of the characters they may hold. The domain needs
//! at least two labels and an alphabetic top-level domain of 2–24 letters
//! (or an IDN `xn--` label). Top-level domains that are really file
//! extensions (`icon@2x.png`, `pkg@1.2.js`) are rejected, and the reserved
//! documentation domains (`example.com`, `.test`, …) get medium confidence.

use super::Confidence;

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

fn is_local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// The email address around the `@` at `at`, not starting before `floor`:
/// `(start, end, confidence)`.
pub fn around(text: &[u8], at: usize, floor: usize) -> Option<(usize, usize, Confidence)> {
    // Local part: backwards from '@'.
    let mut start = at;
    while start > floor && at - start < MAX_LOCAL && is_local_char(text[start - 1]) {
        start -= 1;
    }
    while start < at && text[start] == b'.' {
        start += 1;
    }
    if start == at || text[at - 1] == b'.' {
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
    let domain = &text[at + 1..end];
    let confidence = check_domain(domain)?;
    Some((start, end, confidence))
}

/// Checks a domain's labels and top-level domain.
fn check_domain(domain: &[u8]) -> Option<Confidence> {
    let mut labels = 0;
    let mut tld: &[u8] = &[];
    for label in domain.split(|&b| b == b'.') {
        if label.is_empty()
            || label.len() > 63
            || label[0] == b'-'
            || label[label.len() - 1] == b'-'
        {
            return None;
        }
        labels += 1;
        tld = label;
    }
    let idn = tld.len() > 4 && tld[..4].eq_ignore_ascii_case(b"xn--");
    let alpha = (2..=24).contains(&tld.len()) && tld.iter().all(u8::is_ascii_alphabetic);
    if labels < 2 || !(idn || alpha) {
        return None;
    }
    let tld = std::str::from_utf8(tld).ok()?;
    if FILE_EXTENSIONS
        .iter()
        .any(|ext| ext.eq_ignore_ascii_case(tld))
    {
        return None;
    }
    let domain = std::str::from_utf8(domain).ok()?.to_ascii_lowercase();
    let reserved = RESERVED
        .iter()
        .any(|r| domain == *r || domain.ends_with(&format!(".{r}")));
    Some(if reserved {
        Confidence::Medium
    } else {
        Confidence::High
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str) -> Option<(&str, Confidence)> {
        let at = text.find('@')?;
        around(text.as_bytes(), at, 0).map(|(s, e, c)| (&text[s..e], c))
    }

    #[test]
    fn valid_addresses() {
        assert_eq!(
            find("contact: zhang.san+hr@corp-mail.com.cn."),
            Some(("zhang.san+hr@corp-mail.com.cn", Confidence::High))
        );
        assert_eq!(
            find("<12345678@qq.com>"),
            Some(("12345678@qq.com", Confidence::High))
        );
        assert_eq!(
            find("邮箱:li@163.com。"),
            Some(("li@163.com", Confidence::High))
        );
        assert_eq!(
            find("a@example.com"),
            Some(("a@example.com", Confidence::Medium))
        );
        assert_eq!(
            find("x@mail.xn--fiqs8s"),
            Some(("x@mail.xn--fiqs8s", Confidence::High))
        );
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
        ] {
            assert_eq!(find(text), None, "{text}");
        }
    }
}
