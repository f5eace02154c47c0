//! Context words: evidence that a value is of a kind.
//!
//! The words (`patterns/context.tsv`) are searched with one Aho-Corasick
//! automaton, ASCII case-insensitively, in two places: the field name a value
//! sits under, and the 48 characters before the value on its line. An ASCII
//! word only counts when no ASCII letter touches it, so `ip` is found in
//! `client_ip=` but not in `zip`. Lookups happen only for candidates that
//! already passed validation, which keeps them off the hot path.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use super::Kind;
use crate::patterns;

/// How far back, in characters, a context word may stand before a value.
pub const WINDOW_CHARS: usize = 48;

/// A small set of kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KindSet(u32);

impl KindSet {
    /// The empty set.
    pub const EMPTY: KindSet = KindSet(0);

    /// Whether `kind` is in the set.
    pub fn contains(self, kind: Kind) -> bool {
        self.0 & (1 << kind as u32) != 0
    }

    /// Adds `kind` to the set.
    pub fn insert(&mut self, kind: Kind) {
        self.0 |= 1 << kind as u32;
    }
}

struct Words {
    automaton: AhoCorasick,
    kinds: Vec<Kind>,
}

static WORDS: LazyLock<Words> = LazyLock::new(|| {
    let mut words = Vec::new();
    let mut kinds = Vec::new();
    for (line, rec) in patterns::records(patterns::CONTEXT_WORDS) {
        let [kind, word] = rec[..] else {
            patterns::bad_record("context.tsv", line, "expected 2 columns")
        };
        let Some(kind) = Kind::from_id(kind) else {
            patterns::bad_record("context.tsv", line, "unknown kind")
        };
        words.push(word);
        kinds.push(kind);
    }
    let automaton = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(&words)
        .expect("context words build an automaton");
    Words { automaton, kinds }
});

/// The kinds whose context words occur in `haystack`.
fn kinds_in(haystack: &[u8]) -> KindSet {
    let words = &*WORDS;
    let mut set = KindSet::EMPTY;
    for m in words.automaton.find_overlapping_iter(haystack) {
        let word_start = haystack[m.start()];
        let word_end = haystack[m.end() - 1];
        let glued_before = word_start.is_ascii_alphabetic()
            && m.start() > 0
            && haystack[m.start() - 1].is_ascii_alphabetic();
        let glued_after = word_end.is_ascii_alphabetic()
            && haystack.get(m.end()).is_some_and(u8::is_ascii_alphabetic);
        if !glued_before && !glued_after {
            set.insert(words.kinds[m.pattern().as_usize()]);
        }
    }
    set
}

/// The kinds a field name speaks for (`身份证号`, `user_phone`, `imei` …).
pub fn kinds_named_by(field: &str) -> KindSet {
    kinds_in(field.as_bytes())
}

/// Whether a context word for `kind` stands within [`WINDOW_CHARS`]
/// characters before `start`, on the same line.
pub fn precedes(text: &[u8], start: usize, kind: Kind) -> bool {
    let mut from = start;
    let mut chars = 0;
    while from > 0 && chars < WINDOW_CHARS {
        let b = text[from - 1];
        if b == b'\n' {
            break;
        }
        from -= 1;
        if b & 0xC0 != 0x80 {
            chars += 1;
        }
    }
    kinds_in(&text[from..start]).contains(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names() {
        assert!(kinds_named_by("身份证号").contains(Kind::ResidentId));
        assert!(kinds_named_by("user.contact.Phone").contains(Kind::Mobile));
        assert!(kinds_named_by("device_IMEI").contains(Kind::Imei));
        assert!(kinds_named_by("passport_no").contains(Kind::Passport));
        assert!(!kinds_named_by("telephony_zip").contains(Kind::Ipv4));
        assert!(!kinds_named_by("hotel").contains(Kind::Mobile));
        assert_eq!(kinds_named_by("amount"), KindSet::EMPTY);
    }

    #[test]
    fn window_before_value() {
        let text = "设备号: 490154203237518".as_bytes();
        let start = text.len() - 15;
        assert!(precedes(text, start, Kind::Imei));
        assert!(!precedes(text, start, Kind::Passport));

        let far = format!("imei{} 490154203237518", " ".repeat(60));
        assert!(
            !precedes(far.as_bytes(), far.len() - 15, Kind::Imei),
            "too far"
        );

        let other_line = "imei\n490154203237518";
        assert!(
            !precedes(other_line.as_bytes(), 5, Kind::Imei),
            "other line"
        );
    }
}
