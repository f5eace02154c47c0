//! Bank card numbers: Luhn plus a known issuer prefix and length.
//!
//! The issuer table (`patterns/card_bins.tsv`) holds card-scheme ranges
//! (UnionPay 62, Visa 4, …) and the BINs of the large Chinese banks. A
//! number must pass Luhn *and* match a row whose lengths include its own:
//! together these reject nearly all 15–19 digit order ids and counters,
//! which a Luhn check alone would let through one time in ten.

use std::collections::HashSet;
use std::sync::LazyLock;

use super::{luhn, Confidence};
use crate::patterns;

/// One row of the issuer table.
#[derive(Debug)]
struct Issuer {
    /// Number of leading digits compared.
    width: usize,
    lo: u64,
    hi: u64,
    /// Bit `n` set when length `n` is allowed.
    lengths: u32,
    /// A specific bank's BIN rather than a whole scheme's range.
    bank: bool,
}

static ISSUERS: LazyLock<Vec<Issuer>> = LazyLock::new(|| {
    let mut rows = Vec::new();
    for (line, rec) in patterns::records(patterns::CARD_BINS) {
        let bad = |why| patterns::bad_record("card_bins.tsv", line, why);
        let [prefix, lengths, _issuer, level] = rec[..] else {
            bad("expected 4 columns")
        };
        let (lo, hi) = prefix.split_once('-').unwrap_or((prefix, prefix));
        if lo.len() != hi.len() {
            bad("range ends differ in length");
        }
        let (Ok(lo_n), Ok(hi_n)) = (lo.parse(), hi.parse()) else {
            bad("prefix is not a number")
        };
        let mut mask = 0u32;
        for part in lengths.split(',') {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) else {
                bad("bad length")
            };
            for n in a..=b {
                mask |= 1 << n;
            }
        }
        rows.push(Issuer {
            width: lo.len(),
            lo: lo_n,
            hi: hi_n,
            lengths: mask,
            bank: level == "bank",
        });
    }
    rows
});

/// Digits of a number that pick its bucket in [`BY_PREFIX`].
const BUCKET_DIGITS: usize = 4;

/// Per first [`BUCKET_DIGITS`] digits, the rows of [`ISSUERS`] whose range
/// holds numbers starting with them: a lookup tries a row or two, not all
/// of them (every 15–19 digit order id or timestamp pair is looked up; a
/// number starting with 62 would try some fifty rows of bank BINs).
struct Buckets {
    /// Bucket `p` is `rows[start[p]..start[p + 1]]`.
    start: Vec<u32>,
    /// Indices in [`ISSUERS`]: the table is small (some 50 KiB), so a
    /// lookup stays in cache.
    rows: Vec<u16>,
}

static BY_PREFIX: LazyLock<Buckets> = LazyLock::new(|| {
    let mut buckets = vec![Vec::new(); 10usize.pow(BUCKET_DIGITS as u32)];
    for (i, issuer) in ISSUERS.iter().enumerate() {
        let (lo, hi) = if issuer.width <= BUCKET_DIGITS {
            let scale = 10u64.pow((BUCKET_DIGITS - issuer.width) as u32);
            (issuer.lo * scale, (issuer.hi + 1) * scale - 1)
        } else {
            let scale = 10u64.pow((issuer.width - BUCKET_DIGITS) as u32);
            (issuer.lo / scale, issuer.hi / scale)
        };
        let row = u16::try_from(i).expect("card_bins.tsv holds too many rows");
        for bucket in &mut buckets[lo as usize..=hi as usize] {
            bucket.push(row);
        }
    }
    let mut start = Vec::with_capacity(buckets.len() + 1);
    let mut rows = Vec::new();
    for bucket in buckets {
        start.push(rows.len() as u32);
        rows.extend(bucket);
    }
    start.push(rows.len() as u32);
    Buckets { start, rows }
});

fn prefix_value(digits: &[u8], width: usize) -> u64 {
    digits[..width]
        .iter()
        .fold(0, |acc, &b| acc * 10 + u64::from(b - b'0'))
}

/// The confidence an issuer prefix and length give a 15–19 digit number
/// (`High` for a specific bank's BIN, `Medium` for a scheme's range), or
/// `None` when no issuer has that prefix and length. Luhn is not checked.
pub fn issuer(digits: &[u8]) -> Option<Confidence> {
    let n = digits.len();
    if !(15..=19).contains(&n) || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let Buckets { start, rows } = &*BY_PREFIX;
    let bucket = prefix_value(digits, BUCKET_DIGITS) as usize;
    rows[start[bucket] as usize..start[bucket + 1] as usize]
        .iter()
        .map(|&row| &ISSUERS[usize::from(row)])
        .filter(|issuer| issuer.lengths & (1 << n) != 0)
        .filter(|issuer| (issuer.lo..=issuer.hi).contains(&prefix_value(digits, issuer.width)))
        .map(|issuer| {
            if issuer.bank {
                Confidence::High
            } else {
                Confidence::Medium
            }
        })
        .max()
}

/// Whether the digits are filler or test patterns rather than an issued
/// number: repeating with a period of at most 4 (`5454545454545454`), or
/// holding a run of 8 ascending digits (`2345678901234560`, decimal test
/// vectors).
pub fn is_patterned(digits: &[u8]) -> bool {
    let periodic = (1..=4).any(|p| {
        digits
            .get(p..)
            .is_some_and(|rest| digits.iter().zip(rest).all(|(a, b)| a == b))
    });
    let mut ascending = 1;
    let counting = digits.windows(2).any(|w| {
        ascending = if (w[0] - b'0' + 1) % 10 == w[1] - b'0' {
            ascending + 1
        } else {
            1
        };
        ascending >= 8
    });
    periodic || counting
}

/// Whether the digits hold a long low-entropy stretch: a substring with a
/// period of at most 4 that repeats for 7 more digits beyond its first
/// period (`4012888888881881`, `4117101010101010`, `5105105105105100`).
/// Test and filler numbers are made this way; a random card number holds
/// such a stretch about once in a million. Applied to scheme ranges only:
/// a Chinese bank's account part may run zeros (`6228480000000000017`).
pub fn is_low_entropy(digits: &[u8]) -> bool {
    (1..=4).any(|p| {
        let mut run = 0;
        digits.iter().zip(digits.iter().skip(p)).any(|(a, b)| {
            run = if a == b { run + 1 } else { 0 };
            run >= 7
        })
    })
}

/// The published test numbers of `patterns/test_cards.txt`.
/// (Foldhash, not SipHash: every card candidate is looked up.)
static TEST_CARDS: LazyLock<HashSet<&'static [u8], foldhash::fast::RandomState>> =
    LazyLock::new(|| {
        patterns::records(patterns::TEST_CARDS)
            .map(|(line, rec)| {
                let number = rec[0];
                if !(15..=19).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit())
                {
                    patterns::bad_record("test_cards.txt", line, "expected 15-19 digits")
                }
                number.as_bytes()
            })
            .collect()
    });

/// Whether the digits are a card number that payment processors publish
/// for testing (Stripe, Braintree …, `patterns/test_cards.txt`).
pub fn is_test_number(digits: &[u8]) -> bool {
    TEST_CARDS.contains(digits)
}

/// Validates a card number given as 15–19 ASCII digits: issuer prefix and
/// length, Luhn, and not a repeating pattern; a scheme-range number also
/// not low-entropy ([`is_low_entropy`]). Published test numbers validate,
/// at medium confidence ([`is_test_number`]; the scanner drops them unless a
/// context word says card).
pub fn validate(digits: &[u8]) -> Option<Confidence> {
    let confidence = issuer(digits)?;
    if !luhn::is_valid(digits) || is_patterned(digits) {
        return None;
    }
    if is_test_number(digits) {
        return Some(Confidence::Medium);
    }
    if confidence == Confidence::Medium && is_low_entropy(digits) {
        return None;
    }
    Some(confidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(payload: &str) -> String {
        let c = luhn::check_digit(payload.as_bytes()) as char;
        format!("{payload}{c}")
    }

    #[test]
    fn prefix_buckets_agree_with_every_row() {
        let mut rng = crate::synth::Rng::new(5);
        // Random numbers under every bucket's prefix, and each row's range
        // ends.
        let mut starts: Vec<String> = (0..10_000).map(|p| format!("{p:04}")).collect();
        for i in ISSUERS.iter() {
            starts.push(format!("{:0w$}", i.lo, w = i.width));
            starts.push(format!("{:0w$}", i.hi, w = i.width));
        }
        for start in &starts {
            for len in 15..=19 {
                for _ in 0..3 {
                    let mut digits = start.clone();
                    while digits.len() < len {
                        digits.push((b'0' + rng.below(10) as u8) as char);
                    }
                    let d = digits.as_bytes();
                    let all = ISSUERS
                        .iter()
                        .filter(|i| i.lengths & (1 << len) != 0)
                        .filter(|i| (i.lo..=i.hi).contains(&prefix_value(d, i.width)))
                        .map(|i| i.bank)
                        .max()
                        .map(|bank| {
                            if bank {
                                Confidence::High
                            } else {
                                Confidence::Medium
                            }
                        });
                    assert_eq!(issuer(d), all, "{digits}");
                }
            }
        }
    }

    #[test]
    fn chinese_bank_bins_are_high() {
        for payload in [
            "622202198805170236",
            "621700000011112222",
            "622588190736458",
        ] {
            let c = card(payload);
            assert_eq!(validate(c.as_bytes()), Some(Confidence::High), "{c}");
        }
    }

    #[test]
    fn scheme_ranges_are_medium() {
        for c in [
            "4111111111111111", // a published test number: medium
            "5500000000000004", // likewise
            "378282246310005",
            "3530111333300000",
        ] {
            assert_eq!(validate(c.as_bytes()), Some(Confidence::Medium), "{c}");
        }
        assert_eq!(
            validate(card("222100731946285").as_bytes()),
            Some(Confidence::Medium)
        );
    }

    #[test]
    fn test_numbers_and_low_entropy() {
        for c in ["4229989800000003", "371260714673002", "6200000000000005"] {
            assert!(is_test_number(c.as_bytes()), "{c}");
        }
        for c in [
            card("453201888888881"), // eight 8s
            card("491710101010101"), // 1010101010…
            card("520520520520520"), // 520 repeated
            "342342342342345".to_string(),
        ] {
            assert!(!is_test_number(c.as_bytes()), "{c}");
            assert!(is_low_entropy(c.as_bytes()), "{c}");
            assert_eq!(validate(c.as_bytes()), None, "{c}");
        }
        // Synthetic random scheme-range numbers are neither.
        for payload in ["453201511283036", "519875364021987", "37612094837261"] {
            let c = card(payload);
            assert!(!is_low_entropy(c.as_bytes()), "{c}");
            assert!(!is_test_number(c.as_bytes()), "{c}");
            assert_eq!(validate(c.as_bytes()), Some(Confidence::Medium), "{c}");
        }
        // A bank BIN keeps a run of zeros in its account part.
        let zeros = card("622848000000000001");
        assert_eq!(
            validate(zeros.as_bytes()),
            Some(Confidence::High),
            "{zeros}"
        );
    }

    /// `detect::long_run_may_count` leaves runs of 16, 17 and 19 digits
    /// starting with `1` unmarked (the 19-digit ids of logs): no issuer
    /// may start so.
    #[test]
    fn no_issuer_starts_with_1() {
        for len in 15..=19 {
            for prefix in 100_000..200_000u32 {
                let digits = format!("{prefix:0<len$}");
                assert_eq!(issuer(digits.as_bytes()), None, "{digits}");
            }
        }
    }

    #[test]
    fn luhn_failure_unknown_prefix_or_length_rejected() {
        assert_eq!(validate(b"4111111111111112"), None, "Luhn");
        assert_eq!(
            validate(card("999999999999999").as_bytes()),
            None,
            "prefix 9"
        );
        assert_eq!(
            validate(card("11111111111111111").as_bytes()),
            None,
            "prefix 1"
        );
        assert_eq!(
            validate(card("41111111111111111").as_bytes()),
            None,
            "Visa of 18"
        );
        assert_eq!(
            validate(card("5500000000000").as_bytes()),
            None,
            "14 digits"
        );
        assert_eq!(
            validate(card("62220212345678901234").as_bytes()),
            None,
            "21 digits"
        );
    }
}
