//! PRC passport numbers: `E`/`G`/`D`/`S`/`P` + 8 digits, or `E` + a letter
//! + 7 digits.
//!
//! The shape alone is common (part numbers, SKUs), so the scanner reports a
//! passport only next to a passport context word; this module checks shape.

use super::{is_alnum, Confidence};

/// Given a digit run `[s, e)` directly preceded by a letter, returns the
/// start of the passport number it ends, if the token is passport-shaped.
pub fn at(text: &[u8], s: usize, e: usize) -> Option<(usize, Confidence)> {
    if e < text.len() && is_alnum(text[e]) {
        return None;
    }
    let boundary = |i: usize| i == 0 || !is_alnum(text[i - 1]);
    let letter = text[s - 1];
    match e - s {
        8 if matches!(letter, b'E' | b'G' | b'D' | b'S' | b'P') && boundary(s - 1) => {
            Some((s - 1, Confidence::High))
        }
        7 if s >= 2 && text[s - 2] == b'E' && letter.is_ascii_uppercase() && boundary(s - 2) => {
            Some((s - 2, Confidence::High))
        }
        _ => None,
    }
}

/// Whether `value` as a whole is passport-shaped.
pub fn is_shaped(value: &[u8]) -> bool {
    let digits = value
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    digits > 0 && at(value, digits, value.len()).is_some_and(|(start, _)| start == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        for ok in [
            "E12345678",
            "G12345678",
            "D12345678",
            "S12345678",
            "P12345678",
            "EA1234567",
        ] {
            assert!(is_shaped(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "A12345678",  // letter not used
            "E1234567",   // 7 digits after E
            "E123456789", // 9 digits
            "XE12345678", // longer token
            "EA12345678", // E + letter + 8
            "e12345678",  // lower case
            "12345678",
        ] {
            assert!(!is_shaped(bad.as_bytes()), "{bad}");
        }
    }
}
