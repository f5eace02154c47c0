//! MAC addresses: six hex octets joined by `:` or `-` (one kind per address).
//!
//! The all-zero and broadcast (`ff:ff:ff:ff:ff:ff`) addresses identify no
//! device and are not reported, nor is the last line of a wrapped hex dump
//! (a certificate signature whose previous line ends in `xx:`).

use super::is_alnum;

const LEN: usize = 17;

/// The MAC address starting at `s`, if any: its end.
pub fn at(text: &[u8], s: usize) -> Option<usize> {
    let bytes = text.get(s..s + LEN)?;
    if s > 0 && (is_alnum(text[s - 1]) || matches!(text[s - 1], b':' | b'-')) {
        return None;
    }
    let sep = bytes[2];
    if sep != b':' && sep != b'-' {
        return None;
    }
    // The shape first: most separators seen are in times and UUIDs.
    for (i, &b) in bytes.iter().enumerate() {
        let ok = if i % 3 == 2 {
            b == sep
        } else {
            b.is_ascii_hexdigit()
        };
        if !ok {
            return None;
        }
    }
    // The last line of a wrapped hex dump: the text before ends in an
    // octet between separators (`…:61:29:`), not merely in a separator
    // (`MAC: 02:80:…` is an address).
    let mut before = text[..s]
        .iter()
        .rev()
        .take(64)
        .skip_while(|b| b.is_ascii_whitespace());
    let mut next = || before.next().copied();
    let (a, b, c, d) = (next(), next(), next(), next());
    let hex = |x: Option<u8>| x.is_some_and(|x| x.is_ascii_hexdigit());
    if a == Some(sep) && hex(b) && hex(c) && d == Some(sep) {
        return None;
    }
    let after = text.get(s + LEN).copied().unwrap_or(b' ');
    let after2 = text.get(s + LEN + 1).copied().unwrap_or(b' ');
    if is_alnum(after) || (after == sep && after2.is_ascii_hexdigit()) {
        return None;
    }
    let hex = || {
        bytes
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 != 2)
            .map(|(_, b)| b)
    };
    if hex().all(|&b| b == b'0') || hex().all(|b| b.eq_ignore_ascii_case(&b'f')) {
        return None;
    }
    Some(s + LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str, s: usize) -> Option<&str> {
        at(text.as_bytes(), s).map(|e| &text[s..e])
    }

    #[test]
    fn valid() {
        assert_eq!(find("00:1A:2b:3C:4d:5E", 0), Some("00:1A:2b:3C:4d:5E"));
        assert_eq!(find("mac=a4-5e-60-c2-11-0f;", 4), Some("a4-5e-60-c2-11-0f"));
    }

    /// Regression: a MAC after a label ending in its separator (`MAC: …`)
    /// was taken for the last line of a wrapped hex dump.
    #[test]
    fn after_a_label_ending_in_the_separator() {
        assert_eq!(find("MAC: 02:80:33:1c:0c:4c", 5), Some("02:80:33:1c:0c:4c"));
        assert_eq!(find("mac: 02:80:33:1c:0c:4c", 5), Some("02:80:33:1c:0c:4c"));
        assert_eq!(find("ac:\n02:80:33:1c:0c:4c", 4), Some("02:80:33:1c:0c:4c"));
        assert_eq!(
            find("网卡 - a4-5e-60-c2-11-0f", 9),
            Some("a4-5e-60-c2-11-0f")
        );
        assert_eq!(find("0f:61:29:\n b2:53:ff:6c:04:bc", 11), None);
    }

    #[test]
    fn invalid() {
        for (text, s) in [
            ("00:00:00:00:00:00", 0),
            ("ff:ff:ff:ff:ff:ff", 0),
            ("00:1a-2b:3c:4d:5e", 0),
            ("00:1a:2b:3c:4d:5g", 0),
            ("00:1a:2b:3c:4d:5e:6f", 0),
            ("x00:1a:2b:3c:4d:5e", 1),
            ("12:00:1a:2b:3c:4d:5e", 3),
            ("00:1a:2b:3c:4d", 0),
            ("61:29:\n         b2:53:ff:6c:04:bc", 15),
        ] {
            assert_eq!(find(text, s), None, "{text}");
        }
    }
}
