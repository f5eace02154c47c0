//! Mainland mobile numbers: 11 digits in an assigned segment (and not a
//! power of two or near one, which in code is a size, mask or flag, nor a
//! round number such as `15000000000`).
//!
//! The segments (`patterns/mobile_segments.txt`) are 3- or 4-digit prefixes;
//! they are kept in a 10 000-entry table indexed by the first four digits so
//! a lookup is one load.

use std::sync::LazyLock;

use crate::patterns;

static SEGMENTS: LazyLock<Vec<bool>> = LazyLock::new(|| {
    let mut table = vec![false; 10_000];
    for (line, rec) in patterns::records(patterns::MOBILE_SEGMENTS) {
        let prefix = rec[0];
        let Ok(value) = prefix.parse::<usize>() else {
            patterns::bad_record("mobile_segments.txt", line, "not a number")
        };
        match prefix.len() {
            3 => table[value * 10..value * 10 + 10].fill(true),
            4 => table[value] = true,
            _ => patterns::bad_record("mobile_segments.txt", line, "expected 3 or 4 digits"),
        }
    }
    table
});

/// Whether `digits` is an 11-digit number in an assigned mobile segment.
pub fn is_valid(digits: &[u8]) -> bool {
    if digits.len() != 11 || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let prefix = digits[..4]
        .iter()
        .fold(0usize, |acc, &b| acc * 10 + usize::from(b - b'0'));
    let value = digits
        .iter()
        .fold(0u64, |acc, &b| acc * 10 + u64::from(b - b'0'));
    SEGMENTS[prefix] && !is_binary_round(value) && !is_decimal_round(value)
}

/// Whether the value is a power of two or within a few bits of one
/// (`17179869184` = 2^34, `17179869183` = 2^34 - 1, `17179870208` =
/// 2^34 + 2^10): in code a memory size, a mask or a flag. At most 3 bits set,
/// or at most 3 clear below the highest; a random 34-bit number is so one
/// time in a million.
fn is_binary_round(value: u64) -> bool {
    let width = 64 - value.leading_zeros();
    value.count_ones() <= 3 || width - value.count_ones() <= 3
}

/// Whether the value ends in 7 zeros or more (`15000000000` = 1.5e10): a
/// round quantity, not a subscriber number.
fn is_decimal_round(value: u64) -> bool {
    value.is_multiple_of(10_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigned_segments() {
        for n in [
            "13812345678",
            "15912345678",
            "18612345678",
            "19912345678",
            "17401234567",
        ] {
            assert!(is_valid(n.as_bytes()), "{n}");
        }
    }

    #[test]
    fn unassigned_or_malformed() {
        for n in [
            "14012345678", // IoT data segment
            "10012345678",
            "12012345678",
            "17491234567", // 1749 is not a satellite block
            "1381234567",  // 10 digits
            "138123456789",
            "1381234567a",
            "17179869184", // 2^34
            "17179869183", // 2^34 - 1
            "17179870208", // 2^34 + 2^10
            "17179870209", // 2^34 + 2^10 + 1
            "15000000000", // 1.5e10
        ] {
            assert!(!is_valid(n.as_bytes()), "{n}");
        }
    }
}
