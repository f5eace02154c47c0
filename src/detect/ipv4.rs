//! IPv4 addresses in dotted-quad form.
//!
//! Each octet is 0–255 without leading zeros, and the address must stand
//! alone: no letter, digit or further `.digit` on either side, so version
//! strings such as `1.2.3.4.5` and decimals do not match. Addresses that
//! never identify a person are not reported: `0.0.0.0/8`, loopback
//! `127.0.0.0/8` and `224.0.0.0` and above (multicast, reserved, netmasks
//! such as `255.255.255.0`).

use super::{digits_end, is_alnum, Confidence};

/// The IPv4 address starting at `s` (a digit run followed by `.`), if any:
/// `(end, confidence)`. Medium by default; the scanner raises it with
/// context.
pub fn at(text: &[u8], s: usize) -> Option<(usize, Confidence)> {
    if s > 0 && (is_alnum(text[s - 1]) || text[s - 1] == b'.') {
        return None;
    }
    let mut octets = [0u32; 4];
    let mut i = s;
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            if text.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let e = digits_end(text, i);
        let digits = &text[i..e];
        if digits.is_empty() || digits.len() > 3 || (digits.len() > 1 && digits[0] == b'0') {
            return None;
        }
        *octet = digits
            .iter()
            .fold(0, |acc, &b| acc * 10 + u32::from(b - b'0'));
        if *octet > 255 {
            return None;
        }
        i = e;
    }
    let after = text.get(i).copied().unwrap_or(b' ');
    let after2 = text.get(i + 1).copied().unwrap_or(b' ');
    if is_alnum(after) || (after == b'.' && is_alnum(after2)) {
        return None;
    }
    if octets[0] == 0 || octets[0] == 127 || octets[0] >= 224 {
        return None;
    }
    Some((i, Confidence::Medium))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str) -> Option<&str> {
        let s = text.find(|c: char| c.is_ascii_digit())?;
        at(text.as_bytes(), s).map(|(e, _)| &text[s..e])
    }

    #[test]
    fn valid() {
        assert_eq!(find("client 192.168.1.20 connected"), Some("192.168.1.20"));
        assert_eq!(find("ip=8.8.8.8."), Some("8.8.8.8"));
        assert_eq!(find("来自10.0.0.1的请求"), Some("10.0.0.1"));
        assert_eq!(find("[223.255.255.255]"), Some("223.255.255.255"));
    }

    #[test]
    fn invalid() {
        for text in [
            "256.1.1.1",
            "1.2.3",
            "01.2.3.4",
            "1.2.3.4.5",
            "1.2.3.4a",
            "v1.2.3.4",
            "127.0.0.1",
            "0.0.0.0",
            "255.255.255.0",
            "224.0.0.1",
        ] {
            assert_eq!(find(text), None, "{text}");
        }
    }
}
