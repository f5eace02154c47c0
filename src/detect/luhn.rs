//! The Luhn (mod 10) checksum of bank cards and IMEIs.

/// Whether the ASCII digits pass the Luhn check. Non-digits fail.
pub fn is_valid(digits: &[u8]) -> bool {
    !digits.is_empty() && checksum(digits) == Some(0)
}

/// The Luhn sum mod 10 of `digits` (the last digit being the check digit);
/// `None` when a byte is not an ASCII digit.
fn checksum(digits: &[u8]) -> Option<u32> {
    let mut sum = 0;
    for (i, &b) in digits.iter().rev().enumerate() {
        let d = u32::from(b.wrapping_sub(b'0'));
        if d > 9 {
            return None;
        }
        sum += if i % 2 == 1 {
            let doubled = d * 2;
            if doubled > 9 {
                doubled - 9
            } else {
                doubled
            }
        } else {
            d
        };
    }
    Some(sum % 10)
}

/// The check digit that makes `payload` followed by it Luhn-valid.
pub fn check_digit(payload: &[u8]) -> u8 {
    let mut with_zero = payload.to_vec();
    with_zero.push(b'0');
    let sum = checksum(&with_zero).expect("payload must be ASCII digits");
    b'0' + ((10 - sum) % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert!(is_valid(b"79927398713"));
        assert!(is_valid(b"4111111111111111"));
        assert!(is_valid(b"490154203237518")); // IMEI example
        assert!(!is_valid(b"79927398710"));
        assert!(!is_valid(b"4111111111111112"));
        assert!(!is_valid(b""));
        assert!(!is_valid(b"4111-1111"));
    }

    #[test]
    fn check_digit_completes_a_valid_number() {
        assert_eq!(check_digit(b"7992739871"), b'3');
        assert_eq!(check_digit(b"49015420323751"), b'8');
        for payload in [&b"622202123456789012"[..], b"62", b"0"] {
            let mut full = payload.to_vec();
            full.push(check_digit(payload));
            assert!(is_valid(&full));
        }
    }
}
