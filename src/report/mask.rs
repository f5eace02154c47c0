//! Masking and canonical forms of values.
//!
//! The contract: keep at most the first 3 and last 4 characters of a digit
//! value (`110***********123X`, `138****5678`), and the first character plus
//! the domain of an email (`z***@example.com`). Values shorter than 11
//! letters and digits keep a quarter at each end, so no short value is ever
//! printed whole. Separators are kept so the shape stays recognisable.
//!
//! A custom kind's value may be any text the user's regex matches, not only
//! ASCII: every letter or digit of any script counts and is masked by the
//! same rule (`EMP1234567890123` → `EMP*********0123`, `张三丰` → `***`),
//! and a value without any letter or digit is masked whole.

use std::borrow::Cow;
use std::hash::BuildHasher;
use std::sync::LazyLock;

use compact_str::{format_compact, CompactString};
use foldhash::quality::FixedState;

use crate::detect::{custom, Kind};

/// Masks `value` of `kind` for printing. Masked values are short (an ID
/// number, a card, a phone number): they are kept inline, not allocated,
/// which counts in a dump of millions of findings.
pub fn mask(kind: Kind, value: &str) -> CompactString {
    if !kind.is_builtin() {
        return mask_custom(value);
    }
    if kind == Kind::Email {
        if let Some((local, domain)) = value.split_once('@') {
            let first = local.chars().next().unwrap_or('*');
            return format_compact!("{first}***@{domain}");
        }
    }
    let n = value.bytes().filter(u8::is_ascii_alphanumeric).count();
    // A mobile number's country code (86, 0086) is shown as is; the 3 + 4
    // rule applies to the 11-digit number after it. Nothing longer than a
    // country code is shown as one.
    let prefix = if kind == Kind::Mobile {
        n.saturating_sub(11).min(4)
    } else {
        0
    };
    let (head, tail) = if n - prefix >= 11 {
        (3, 4)
    } else {
        (n / 4, n / 4)
    };
    masked_ascii(value, prefix + head, n - tail)
}

/// `value` with its ASCII letters and digits replaced by `*`, but for the
/// first `keep_head` and those after the first `keep_from` of them.
fn masked_ascii(value: &str, keep_head: usize, keep_from: usize) -> CompactString {
    let mut seen = 0;
    let mut masked = |b: u8| {
        if !b.is_ascii_alphanumeric() {
            return b;
        }
        seen += 1;
        if seen <= keep_head || seen > keep_from {
            b
        } else {
            b'*'
        }
    };
    // Built on the stack: a value of a builtin kind is a few dozen bytes.
    let mut inline = [0u8; 64];
    let long: Vec<u8>;
    let bytes: &[u8] = match inline.get_mut(..value.len()) {
        Some(out) => {
            for (o, b) in out.iter_mut().zip(value.bytes()) {
                *o = masked(b);
            }
            out
        }
        None => {
            long = value.bytes().map(masked).collect();
            &long
        }
    };
    // Only ASCII bytes were replaced, by an ASCII byte: still UTF-8.
    CompactString::from_utf8(bytes).unwrap_or_default()
}

/// Masks a custom kind's value: the 3 + 4 rule (a quarter at each end
/// below 11) over its letters and digits of any script; everything else is
/// kept, unless there is no letter or digit at all.
fn mask_custom(value: &str) -> CompactString {
    let n = value.chars().filter(|c| c.is_alphanumeric()).count();
    if n == 0 {
        return value.chars().map(|_| '*').collect();
    }
    let (head, tail) = if n >= 11 { (3, 4) } else { (n / 4, n / 4) };
    let mut seen = 0;
    value
        .chars()
        .map(|c| {
            if !c.is_alphanumeric() {
                return c;
            }
            seen += 1;
            if seen <= head || seen > n - tail {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// The canonical form of a value, so `138 1234 5678`, `+86-138-1234-5678`
/// and `13812345678` count as one distinct value. For a custom kind with a
/// validator it is the characters the checksum is computed over (digits
/// and a final upper-case `X`); without a validator the value as found.
///
/// Borrowed when the value is its own canonical form (the usual case).
pub fn canonical(kind: Kind, value: &str) -> Cow<'_, str> {
    fn digits_only(value: &str) -> Cow<'_, str> {
        if value.bytes().all(|b| b.is_ascii_digit()) {
            Cow::Borrowed(value)
        } else {
            Cow::Owned(value.chars().filter(char::is_ascii_digit).collect())
        }
    }
    match kind {
        Kind::Email if value.bytes().any(|b| b.is_ascii_uppercase()) => {
            Cow::Owned(value.to_ascii_lowercase())
        }
        Kind::MacAddress => Cow::Owned(value.to_ascii_lowercase().replace('-', ":")),
        Kind::Email | Kind::Ipv4 => Cow::Borrowed(value),
        Kind::Passport | Kind::ResidentId => {
            if value.bytes().any(|b| b.is_ascii_lowercase()) {
                Cow::Owned(value.to_ascii_uppercase())
            } else {
                Cow::Borrowed(value)
            }
        }
        Kind::Mobile => {
            let digits = digits_only(value);
            let country_code = digits.len().saturating_sub(11);
            match digits {
                Cow::Borrowed(digits) => Cow::Borrowed(&digits[country_code..]),
                Cow::Owned(mut digits) => {
                    digits.drain(..country_code);
                    Cow::Owned(digits)
                }
            }
        }
        Kind::BankCard | Kind::Imei => digits_only(value),
        // A custom kind with a checksum: the characters it is computed
        // over (digits, a final `X`); without one, the value as found.
        _ => match custom::definition(kind)
            .validator
            .checked_chars(value.as_bytes())
        {
            Some(chars) => Cow::Owned(String::from_utf8(chars).unwrap_or_default()),
            None => Cow::Borrowed(value),
        },
    }
}

/// The key of [`value_hash`]: a random seed, new in every process.
static KEY: LazyLock<FixedState> =
    LazyLock::new(|| FixedState::with_seed(std::hash::RandomState::new().hash_one(0u8)));

/// A keyed hash of the canonical value: distinct values can be counted,
/// but the hash is useless outside this process. Foldhash (its quality
/// variant, whose bits are uniform enough for the distinct-count sketch)
/// rather than SipHash: it runs for every finding.
pub fn value_hash(kind: Kind, value: &str) -> u64 {
    // Hashed as a `str`: the same hash as the owned form.
    KEY.hash_one((kind, &*canonical(kind, value)))
}

/// Salt of [`stable_hash`]; bump the version when the canonical forms
/// change, so old fingerprints are not mistaken for new ones.
const STABLE_SALT: &[u8] = b"piscan/stable-hash/v1\0";

/// Optional secret mixed into [`stable_hash`], from the environment variable
/// `PISCAN_FINGERPRINT_KEY`: without it the hash of a low-entropy value (an
/// 11-digit phone number) can be found by trying every candidate.
static STABLE_KEY: LazyLock<Vec<u8>> = LazyLock::new(|| {
    std::env::var_os("PISCAN_FINGERPRINT_KEY")
        .map(|k| k.into_encoded_bytes())
        .unwrap_or_default()
});

/// A deterministic hash of the canonical value, the same in every run (and
/// on every machine with the same `PISCAN_FINGERPRINT_KEY`): the basis of
/// report fingerprints (SARIF `partialFingerprints`). SHA-256 of salt, key,
/// kind and canonical value; the value itself is never printed.
pub fn stable_hash(kind: Kind, value: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let key: &[u8] = &STABLE_KEY;
    let mut h = Sha256::new();
    h.update(STABLE_SALT);
    h.update((key.len() as u64).to_le_bytes());
    h.update(key);
    h.update(kind.id().as_bytes());
    h.update(b"\0");
    h.update(canonical(kind, value).as_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_examples() {
        assert_eq!(
            mask(Kind::ResidentId, "11010519491231002X"),
            "110***********002X"
        );
        assert_eq!(mask(Kind::Mobile, "13812345678"), "138****5678");
        assert_eq!(
            mask(Kind::BankCard, "6222021234567890123"),
            "622************0123"
        );
        assert_eq!(mask(Kind::Email, "zhang@example.com"), "z***@example.com");
    }

    #[test]
    fn separators_kept_short_values_hidden() {
        assert_eq!(mask(Kind::Mobile, "+86 138 1234 5678"), "+86 138 **** 5678");
        assert_eq!(mask(Kind::Mobile, "008613812345678"), "0086138****5678");
        // Regression: a longer run was shown whole but for 4 digits.
        assert_eq!(mask(Kind::Mobile, "1234567890123456"), "1234567*****3456");
        assert_eq!(mask(Kind::Passport, "E12345678"), "E1*****78");
        assert_eq!(mask(Kind::Ipv4, "10.1.2.3"), "1*.*.*.3");
        assert_eq!(
            mask(Kind::MacAddress, "00:1a:2b:3c:4d:5e"),
            "00:1*:**:**:4d:5e"
        );
    }

    #[test]
    fn values_longer_than_the_stack_buffer_are_masked_alike() {
        let value = "1234-".repeat(20);
        let masked = mask(Kind::BankCard, &value);
        assert_eq!(masked.len(), value.len());
        assert!(masked.starts_with("123*-****-"), "{masked}");
        assert!(masked.ends_with("-1234-"), "{masked}");
        assert_eq!(masked.matches(char::is_numeric).count(), 7, "{masked}");
    }

    #[test]
    fn custom_values_are_masked_in_any_script() {
        let kind = custom::register(custom::CustomDef {
            id: "unit_mask_card".to_string(),
            regex: r"\bEMP[\d-]+".to_string(),
            validator: custom::Validator::Luhn,
            ..custom::CustomDef::default()
        })
        .unwrap();
        assert_eq!(mask(kind, "EMP1234567890123"), "EMP*********0123");
        assert_eq!(mask(kind, "EMP-1234-5678"), "EMP-****-5678");
        assert_eq!(mask(kind, "EMP-12345"), "EM*-***45");
        assert_eq!(mask(kind, "张三丰"), "***");
        assert_eq!(mask(kind, "工号:张三丰李四"), "工*:****四");
        assert_eq!(mask(kind, "--"), "**");
        assert_eq!(canonical(kind, "EMP-1234-5678"), "12345678");
        assert_eq!(
            value_hash(kind, "EMP 1234 5678"),
            value_hash(kind, "EMP-1234-5678")
        );
        assert_ne!(
            stable_hash(kind, "EMP-1234-5678"),
            stable_hash(Kind::BankCard, "12345678")
        );
    }

    #[test]
    fn canonical_email_keeps_dashes() {
        assert_eq!(
            canonical(Kind::Email, "Li-Na@Corp-Mail.cn"),
            "li-na@corp-mail.cn"
        );
        assert_eq!(
            canonical(Kind::MacAddress, "AA-BB-CC-DD-EE-0F"),
            "aa:bb:cc:dd:ee:0f"
        );
    }

    #[test]
    fn canonical_forms_merge_spellings() {
        let a = value_hash(Kind::Mobile, "+86 138 1234 5678");
        assert_eq!(a, value_hash(Kind::Mobile, "13812345678"));
        assert_ne!(a, value_hash(Kind::Mobile, "13812345679"));
        assert_eq!(
            value_hash(Kind::ResidentId, "11010519491231002x"),
            value_hash(Kind::ResidentId, "11010519491231002X")
        );
    }

    #[test]
    fn stable_hash_is_deterministic_and_canonical() {
        let a = stable_hash(Kind::Mobile, "+86 138 1234 5678");
        assert_eq!(a, stable_hash(Kind::Mobile, "13812345678"));
        assert_ne!(a, stable_hash(Kind::Mobile, "13812345679"));
        assert_ne!(
            stable_hash(Kind::BankCard, "6222021234567890123"),
            stable_hash(Kind::Imei, "6222021234567890123")
        );
    }
}
