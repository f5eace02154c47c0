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
    /// The address has the shape of a version, section number or
    /// placeholder more often than of a host, and counts only with an IP
    /// context word: every octet a single digit (`1.2.3.4`, section
    /// `7.1.1.1`); a one-digit first octet and the others below 100
    /// (`1.15.5.4`, `4.3.99.16`: release numbers, while real hosts have
    /// them so about one time in sixteen); all four octets equal
    /// (`42.42.42.42`, `170.170.170.170`); or ascending digits
    /// (`12.34.56.78`).
    pub needs_context: bool,
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
    if after_number_list(text, s) {
        return None;
    }
    Some(Ipv4 {
        end: i,
        needs_context: version_like(octets) || ascending(&text[s..i]),
    })
}

/// Whether the octets are shaped like a version or a placeholder (see
/// [`Ipv4::needs_context`]).
fn version_like(octets: [u32; 4]) -> bool {
    let [a, b, c, d] = octets;
    let single = octets.iter().all(|&o| o < 10);
    let release = a < 10 && b < 100 && c < 100 && d < 100;
    let repeated = a == b && b == c && c == d;
    single || release || repeated
}

/// Whether the digits of the quad, dots left out, count up by one for 6 or
/// more (`12.34.56.78`, `123.45.67.89`).
fn ascending(quad: &[u8]) -> bool {
    let mut run = 1;
    let mut last: Option<u8> = None;
    for &b in quad.iter().filter(|b| b.is_ascii_digit()) {
        run = match last {
            Some(l) if (l - b'0' + 1) % 10 == b - b'0' => run + 1,
            _ => 1,
        };
        if run >= 6 {
            return true;
        }
        last = Some(b);
    }
    false
}

/// Whether the token right before `s` (one space, comma or `-` away) is a
/// decimal or a two- or three-part dotted number: the quad is then one
/// more item of a list of numbers (SVG path data `2.83-2.12 3.51.98.32`,
/// version lists `3.40.1 3.40.1.1`), not an address. A full quad before it
/// (`10.0.0.1 10.0.0.2`) is a list of addresses and does not count.
fn after_number_list(text: &[u8], s: usize) -> bool {
    if s < 2 || !matches!(text[s - 1], b' ' | b',' | b'-') {
        return false;
    }
    let mut i = s - 1;
    let mut dots = 0;
    let mut digits_in_part = 0;
    while i > 0 {
        let b = text[i - 1];
        if b.is_ascii_digit() {
            digits_in_part += 1;
        } else if b == b'.' && digits_in_part > 0 {
            dots += 1;
            digits_in_part = 0;
        } else {
            break;
        }
        i -= 1;
    }
    // `.5` (SVG shorthand) counts as a decimal too.
    let token_before = i.checked_sub(1).map_or(b' ', |p| text[p]);
    let decimal_start = digits_in_part > 0 || (dots == 1 && token_before != b'.');
    !is_alnum(token_before) && (1..=2).contains(&dots) && decimal_start
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
    fn quads_in_number_lists() {
        // SVG path data and version lists.
        assert_eq!(find("c0 1.52-.87 2.83-2.12 3.51.98.32 2.03"), None);
        assert_eq!(find("3.40.1 3.40.1.1 3.40.1.2"), None);
        // A list of addresses still is one.
        let t = "10.0.0.1 192.168.7.20";
        assert_eq!(
            at(t.as_bytes(), 9).map(|ip| &t[9..ip.end]),
            Some("192.168.7.20")
        );
        let t = "took 12 ms 192.168.7.20";
        assert_eq!(
            at(t.as_bytes(), 11).map(|ip| &t[11..ip.end]),
            Some("192.168.7.20")
        );
    }

    #[test]
    fn version_shaped_quads_need_context() {
        let needs = |t: &str| at(t.as_bytes(), 0).unwrap().needs_context;
        for t in [
            "1.2.3.4",
            "1.15.5.4",
            "4.3.99.16",
            "8.8.4.44",
            "42.42.42.42",
            "12.34.56.78",
        ] {
            assert!(needs(t), "{t}");
        }
        for t in ["192.168.1.20", "3.5.140.2", "10.0.0.1", "1.1.1.100"] {
            assert!(!needs(t), "{t}");
        }
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
