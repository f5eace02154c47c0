//! IPv4 addresses in dotted-quad form.
//!
//! Each octet is 0–255 without leading zeros, and the address must stand
//! alone: no letter, digit or further `.digit` on either side, so version
//! strings such as `1.2.3.4.5` and decimals do not match. Addresses that
//! never identify a person are not reported: `0.0.0.0/8`, loopback
//! `127.0.0.0/8` and `224.0.0.0` and above (multicast, reserved, netmasks
//! such as `255.255.255.0`).

use super::{digits_end, is_alnum};

/// A dotted quad found in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4 {
    /// Offset one past its last byte.
    pub end: usize,
    /// Every octet is a single digit (`1.2.3.4`, section `7.1.1.1`): more
    /// likely a version or section number unless context says otherwise.
    pub single_digits: bool,
}

/// The IPv4 address starting at `s` (a digit run followed by `.`), if any.
pub fn at(text: &[u8], s: usize) -> Option<Ipv4> {
    let before = |back: usize| if s >= back { text[s - back] } else { b' ' };
    if is_alnum(before(1)) || before(1) == b'.' {
        return None;
    }
    // `linux-2.6.35.9`, `python_3.11.0.1`: a version glued to a name.
    if matches!(before(1), b'-' | b'_') && before(2).is_ascii_alphabetic() {
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
    let glued = is_alnum(after) || (after == b'.' && is_alnum(after2));
    let network = after == b'/' && after2.is_ascii_digit();
    let version = matches!(after, b'+' | b'~' | b'_') || (after == b'-' && is_alnum(after2));
    if glued || network || version || !is_host(octets) {
        return None;
    }
    Some(Ipv4 {
        end: i,
        single_digits: octets.iter().all(|&o| o < 10),
    })
}

/// Whether the address can belong to a host that a person uses.
fn is_host([a, b, c, _]: [u32; 4]) -> bool {
    let reserved = a == 0
        || a == 127
        || a >= 224
        || (a, b, c) == (192, 0, 2)
        || (a, b, c) == (198, 51, 100)
        || (a, b, c) == (203, 0, 113)
        || (a == 198 && (b == 18 || b == 19));
    !reserved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str) -> Option<&str> {
        let s = text.find(|c: char| c.is_ascii_digit())?;
        at(text.as_bytes(), s).map(|ip| &text[s..ip.end])
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
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "10.0.0.0/8",
            "linux-2.6.35.9",
            "1.2.5.1-2",
            "6.2.0.0~rc1",
        ] {
            assert_eq!(find(text), None, "{text}");
        }
    }
}
