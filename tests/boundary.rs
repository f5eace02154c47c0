//! Property test of the contract's boundary rule: a valid ID inserted into
//! random ASCII/CJK text is found, exactly once and at its position, if and
//! only if its neighbours are boundaries.

use piscan::detect::{scan, Kind};
use piscan::synth::{self, Rng};
use proptest::prelude::*;

/// Characters to build surroundings from: letters, digits, CJK, punctuation
/// and whitespace, including the ones with special meaning next to digits.
const ALPHABET: &[char] = &[
    'a', 'E', 'x', 'X', 'f', '0', '1', '5', '9', '身', '份', '证', '号', '。', ',', ':', '.', '@',
    '-', '+', ' ', '\t', '\n', '(', ')', '/', '_', '=', '"', '\'',
];

fn text_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..12)
        .prop_map(|v| v.into_iter().collect())
}

/// The boundary rule, stated independently of the scanner: ASCII letters
/// and digits glue; so does the dot of a decimal (`3.` before, `.5` after)
/// and an `@` after (an email's local part).
fn expect_hit(left: &str, right: &str) -> bool {
    let mut l = left.chars().rev();
    let (l1, l2) = (l.next(), l.next());
    let mut r = right.chars();
    let (r1, r2) = (r.next(), r.next());
    let glue = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    let glued_before = glue(l1) || (l1 == Some('.') && digit(l2));
    let glued_after = glue(r1) || (r1 == Some('.') && digit(r2)) || r1 == Some('@');
    !glued_before && !glued_after
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn inserted_id_found_iff_boundaries(left in text_strategy(), right in text_strategy(), seed in any::<u64>()) {
        let id = synth::resident_id(&mut Rng::new(seed));
        let text = format!("{left}{id}{right}");
        let (start, end) = (left.len(), left.len() + id.len());
        let mut out = Vec::new();
        scan(text.as_bytes(), None, &mut out);
        let overlapping: Vec<_> = out.iter().filter(|m| m.start < end && m.end > start).collect();
        // After an `@` the ID may be a label of an email's domain.
        let in_email = overlapping.len() == 1 && overlapping[0].kind == Kind::Email;
        if left.ends_with('@') && in_email {
            return Ok(());
        }
        if expect_hit(&left, &right) {
            prop_assert_eq!(overlapping.len(), 1, "{:?}", text);
            prop_assert_eq!(overlapping[0].kind, Kind::ResidentId);
            prop_assert_eq!((overlapping[0].start, overlapping[0].end), (start, end));
        } else {
            // The glued token may be something else (a 19-digit run can be a
            // card), but never the ID.
            prop_assert!(
                overlapping.iter().all(|m| m.kind != Kind::ResidentId),
                "{:?} gave {:?}", text, overlapping
            );
        }
    }
}
