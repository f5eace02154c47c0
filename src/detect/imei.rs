//! IMEI: 15 digits, the last a Luhn check digit.
//!
//! A Luhn-valid 15-digit number is common by chance (one in ten random
//! numbers), so the scanner reports an IMEI only with a context word; this
//! module checks the number itself.

use super::luhn;

/// Whether `digits` is a well-formed IMEI: 15 digits passing Luhn, not all
/// zero.
pub fn is_valid(digits: &[u8]) -> bool {
    digits.len() == 15 && digits.iter().any(|&b| b != b'0') && luhn::is_valid(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid() {
        assert!(is_valid(b"490154203237518"));
        assert!(is_valid(b"356938035643809"));
        assert!(!is_valid(b"490154203237519"), "check digit");
        assert!(!is_valid(b"000000000000000"), "all zero");
        assert!(!is_valid(b"4901542032375180"), "16 digits");
        assert!(!is_valid(b"49015420323751"), "14 digits");
    }
}
