//! PRC resident identity card numbers (GB 11643-1999).
//!
//! Layout: 6-digit area code (GB/T 2260), 8-digit birth date `YYYYMMDD`,
//! 3-digit sequence, and an ISO 7064 MOD 11-2 check character (`0`-`9` or
//! `X`). Validation checks, in order of cost: the check character, the
//! birth date (a real calendar day, 1900 up to today), the province prefix
//! and finally the area code. An area code missing from the list, under a
//! valid province, still matches with medium confidence: the list cannot
//! hold every code ever issued, and the check digit already rejects 10 of 11
//! random numbers.

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use super::Confidence;
use crate::patterns;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// Area codes as a bitset over 0..1 000 000.
static AREAS: LazyLock<Vec<u64>> = LazyLock::new(|| {
    let mut bits = vec![0u64; 1_000_000 / 64 + 1];
    for (line, rec) in patterns::records(patterns::REGIONS) {
        match rec[0].parse::<usize>() {
            Ok(code) if rec[0].len() == 6 => bits[code / 64] |= 1 << (code % 64),
            _ => patterns::bad_record("regions.txt", line, "expected a 6-digit code"),
        }
    }
    bits
});

static PROVINCES: LazyLock<[bool; 100]> = LazyLock::new(|| {
    let mut table = [false; 100];
    for (line, rec) in patterns::records(patterns::PROVINCES) {
        match rec[0].parse::<usize>() {
            Ok(code) if rec[0].len() == 2 => table[code] = true,
            _ => patterns::bad_record("provinces.tsv", line, "expected a 2-digit code"),
        }
    }
    table
});

/// Today's date as `YYYYMMDD` (UTC), the latest valid birth date.
static TODAY: LazyLock<u32> = LazyLock::new(|| {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    y * 10_000 + m * 100 + d
});

/// Converts days since 1970-01-01 to a (year, month, day) civil date.
fn civil_from_days(days: i64) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as u32, m as u32, d as u32)
}

fn number(digits: &[u8]) -> u32 {
    digits
        .iter()
        .fold(0, |acc, &b| acc * 10 + u32::from(b - b'0'))
}

/// The check character for the first 17 digits.
pub fn check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(&b, w)| u32::from(b - b'0') * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

/// The ISO 7064 MOD 11-2 check character (`0`-`9` or `X`) of ASCII digits
/// of any length; [`check_char`] is its 17-digit case with the weights of
/// GB 11643 precomputed. `None` when a byte is not a digit.
pub fn mod11_2_check_char(payload: &[u8]) -> Option<u8> {
    // The weight of a digit is 2^k mod 11, k its distance from the check
    // character; the sum is taken mod 11 as in `check_char`.
    let mut sum = 0u32;
    let mut weight = 2u32;
    for &b in payload.iter().rev() {
        let d = u32::from(b.wrapping_sub(b'0'));
        if d > 9 {
            return None;
        }
        sum = (sum + d * weight) % 11;
        weight = weight * 2 % 11;
    }
    Some(CHECK_CHARS[sum as usize])
}

/// Whether `value` (ASCII digits, the last one possibly `X` or `x`) ends
/// with its ISO 7064 MOD 11-2 check character. Needs at least two characters.
pub fn is_valid_mod11_2(value: &[u8]) -> bool {
    match value.split_last() {
        Some((&check, payload)) if !payload.is_empty() => {
            mod11_2_check_char(payload) == Some(check.to_ascii_uppercase())
        }
        _ => false,
    }
}

/// Whether `yyyymmdd` is a real calendar day from 1900-01-01 to today.
pub fn is_birth_date(yyyymmdd: &[u8]) -> bool {
    let (y, m, d) = (
        number(&yyyymmdd[..4]),
        number(&yyyymmdd[4..6]),
        number(&yyyymmdd[6..8]),
    );
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1900 && (1..=days_in_month).contains(&d) && y * 10_000 + m * 100 + d <= *TODAY
}

/// Whether the 6-digit area code is in the GB/T 2260 list.
pub fn is_known_area(code: &[u8]) -> bool {
    let code = number(code) as usize;
    AREAS[code / 64] & (1 << (code % 64)) != 0
}

/// Validates an 18-character resident ID (`X` or `x` allowed last).
///
/// Returns `High` for a known area code, `Medium` for an unknown area code in
/// a valid province, `None` when the value is not a resident ID.
pub fn validate(id: &[u8]) -> Option<Confidence> {
    if id.len() != 18 || !id[..17].iter().all(u8::is_ascii_digit) {
        return None;
    }
    if check_char(&id[..17]) != id[17].to_ascii_uppercase() {
        return None;
    }
    if !is_birth_date(&id[6..14]) || !PROVINCES[number(&id[..2]) as usize] {
        return None;
    }
    Some(if is_known_area(&id[..6]) {
        Confidence::High
    } else {
        Confidence::Medium
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds an ID from its first 17 digits with the computed check char.
    fn with_check(first17: &str) -> String {
        let c = check_char(first17.as_bytes()) as char;
        format!("{first17}{c}")
    }

    #[test]
    fn generic_mod11_2_agrees_with_gb11643() {
        for first17 in [
            "11010519491231002",
            "44030419800101123",
            "00000000000000000",
        ] {
            let id = with_check(first17);
            assert_eq!(
                mod11_2_check_char(first17.as_bytes()),
                Some(check_char(first17.as_bytes()))
            );
            assert!(is_valid_mod11_2(id.as_bytes()));
            assert!(is_valid_mod11_2(id.to_ascii_lowercase().as_bytes()));
        }
        assert!(is_valid_mod11_2(b"11010519491231002X"));
        assert!(!is_valid_mod11_2(b"110105194912310029"));
        // ISO 7064 example: 0794 has check character 0.
        assert!(is_valid_mod11_2(b"07940"));
        assert!(!is_valid_mod11_2(b"07941"));
        assert!(!is_valid_mod11_2(b"0"));
        assert!(!is_valid_mod11_2(b""));
        assert!(!is_valid_mod11_2(b"12a45"));
    }

    #[test]
    fn computed_check_digits_validate() {
        for first17 in [
            "11010519900307123",
            "44030119851231002",
            "35010219950609824",
        ] {
            let id = with_check(first17);
            assert_eq!(validate(id.as_bytes()), Some(Confidence::High), "{id}");
        }
    }

    #[test]
    fn check_character_x_in_both_cases() {
        // 11010519491231002 has check character X.
        assert_eq!(check_char(b"11010519491231002"), b'X');
        assert!(validate(b"11010519491231002X").is_some());
        assert!(validate(b"11010519491231002x").is_some());
    }

    #[test]
    fn wrong_check_digit_fails() {
        let id = with_check("11010519900307123");
        let mut bad = id.into_bytes();
        bad[17] = if bad[17] == b'1' { b'2' } else { b'1' };
        assert_eq!(validate(&bad), None);
    }

    #[test]
    fn impossible_and_future_dates_fail() {
        for first17 in [
            "11010519900230123", // 30 February
            "11010519901301123", // month 13
            "11010518991231123", // before 1900
            "11010530000101123", // future
            "11010519000229123", // 1900 is not a leap year
        ] {
            assert_eq!(validate(with_check(first17).as_bytes()), None, "{first17}");
        }
        assert!(validate(with_check("11010520000229123").as_bytes()).is_some());
    }

    #[test]
    fn unknown_province_fails_unknown_area_is_medium() {
        assert_eq!(validate(with_check("99010519900307123").as_bytes()), None);
        assert_eq!(
            validate(with_check("11999919900307123").as_bytes()),
            Some(Confidence::Medium)
        );
    }

    #[test]
    fn historical_area_codes_are_known() {
        assert!(is_known_area(b"110103"), "崇文区, abolished 2010");
        assert!(is_known_area(b"110104"), "宣武区, abolished 2010");
        assert!(is_known_area(b"110105"));
    }

    #[test]
    fn malformed_lengths_fail() {
        assert_eq!(validate(b"11010519900307123"), None);
        assert_eq!(validate(b"1101051990030712345"), None);
        assert_eq!(validate(b"1101051990030712a4"), None);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_000), (2024, 10, 4));
    }
}
