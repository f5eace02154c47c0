//! Context words: evidence that a value is of a kind, or is not.
//!
//! The words (`patterns/context.tsv`) are searched with one Aho-Corasick
//! automaton, ASCII case-insensitively, in two places: the field name a value
//! sits under, and the 48 characters before the value on its line. An ASCII
//! word only counts when no ASCII letter touches it, so `ip` is found in
//! `client_ip=` but not in `zip`. Words marked `!kind` in the table speak
//! against a kind (`version` before a dotted quad). Lookups happen only for candidates that
//! already passed validation, which keeps them off the hot path.
//!
//! Custom kinds' context words ([`super::custom`]) are a second [`Words`]
//! automaton with the same matching rule and window.

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
    /// Every kind.
    pub const ALL: KindSet = KindSet(u32::MAX);

    /// Whether `kind` is in the set.
    pub fn contains(self, kind: Kind) -> bool {
        self.0 & (1 << kind.index()) != 0
    }

    /// Adds `kind` to the set.
    pub fn insert(&mut self, kind: Kind) {
        self.0 |= 1 << kind.index();
    }

    /// The kinds in either set.
    pub fn union(self, other: KindSet) -> KindSet {
        KindSet(self.0 | other.0)
    }
}

/// What context words say about the kinds of a nearby value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Evidence {
    /// Kinds a context word speaks for.
    pub pro: KindSet,
    /// Kinds a counter-word speaks against (`version 1.2.3.4` is no IP).
    pub contra: KindSet,
}

impl Evidence {
    /// Both sets combined with another piece of evidence.
    pub fn with(self, other: Evidence) -> Evidence {
        Evidence {
            pro: self.pro.union(other.pro),
            contra: self.contra.union(other.contra),
        }
    }
}

/// A list of context words compiled into one automaton: the builtin words
/// of `patterns/context.tsv`, or the words of the configuration's custom
/// kinds ([`super::custom`]).
#[derive(Debug, Clone)]
pub struct Words {
    automaton: AhoCorasick,
    /// Per pattern: the kind and whether the word speaks against it.
    kinds: Vec<(Kind, bool)>,
}

impl Words {
    /// The automaton of `(kind, against, word)` entries: ASCII
    /// case-insensitive, `against` marks a counter-word.
    pub fn new<'w>(entries: impl IntoIterator<Item = (Kind, bool, &'w str)>) -> Words {
        let mut words = Vec::new();
        let mut kinds = Vec::new();
        for (kind, against, word) in entries {
            words.push(word);
            kinds.push((kind, against));
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&words)
            .expect("context words build an automaton");
        Words { automaton, kinds }
    }

    /// The evidence of the words in `haystack`.
    pub fn evidence_in(&self, haystack: &[u8]) -> Evidence {
        let mut evidence = Evidence::default();
        for m in self.automaton.find_overlapping_iter(haystack) {
            let word_start = haystack[m.start()];
            let word_end = haystack[m.end() - 1];
            let glued_before = word_start.is_ascii_alphabetic()
                && m.start() > 0
                && haystack[m.start() - 1].is_ascii_alphabetic();
            let glued_after = word_end.is_ascii_alphabetic()
                && haystack.get(m.end()).is_some_and(u8::is_ascii_alphabetic);
            if !glued_before && !glued_after {
                let (kind, against) = self.kinds[m.pattern().as_usize()];
                if against {
                    evidence.contra.insert(kind);
                } else {
                    evidence.pro.insert(kind);
                }
            }
        }
        evidence
    }

    /// What the words within [`WINDOW_CHARS`] characters before `start`,
    /// on the same line, say.
    pub fn before(&self, text: &[u8], start: usize) -> Evidence {
        self.evidence_in(window_before(text, start))
    }
}

static WORDS: LazyLock<Words> = LazyLock::new(|| {
    let mut entries = Vec::new();
    for (line, rec) in patterns::records(patterns::CONTEXT_WORDS) {
        let [kind, word] = rec[..] else {
            patterns::bad_record("context.tsv", line, "expected 2 columns")
        };
        let (kind, against) = match kind.strip_prefix('!') {
            Some(kind) => (kind, true),
            None => (kind, false),
        };
        let Some(kind) = Kind::BUILTIN.into_iter().find(|k| k.id() == kind) else {
            patterns::bad_record("context.tsv", line, "unknown kind")
        };
        entries.push((kind, against, word));
    }
    Words::new(entries)
});

/// The text within [`WINDOW_CHARS`] characters before `start`, on the same
/// line: where a context word may stand before a value.
pub fn window_before(text: &[u8], start: usize) -> &[u8] {
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
    &text[from..start]
}

/// What a field name says (`身份证号`, `user_phone`, `imei`, `version` …).
pub fn in_field(field: &str) -> Evidence {
    WORDS.evidence_in(field.as_bytes())
}

/// What the words within [`WINDOW_CHARS`] characters before `start`, on the
/// same line, say.
pub fn before(text: &[u8], start: usize) -> Evidence {
    WORDS.before(text, start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pro(field: &str) -> KindSet {
        in_field(field).pro
    }

    #[test]
    fn field_names() {
        assert!(pro("身份证号").contains(Kind::ResidentId));
        assert!(pro("user.contact.Phone").contains(Kind::Mobile));
        assert!(pro("device_IMEI").contains(Kind::Imei));
        assert!(pro("passport_no").contains(Kind::Passport));
        assert!(pro("client_ip").contains(Kind::Ipv4));
        assert!(!pro("telephony_zip").contains(Kind::Ipv4));
        assert!(!pro("hotel").contains(Kind::Mobile));
        assert_eq!(in_field("amount"), Evidence::default());
    }

    #[test]
    fn counter_words() {
        assert!(in_field("version").contra.contains(Kind::Ipv4));
        let text = b"Upgrade to 3.11.10.25";
        assert!(before(text, 11).contra.contains(Kind::Ipv4));
        assert!(!before(b"client_ip=10.1.2.3", 10)
            .contra
            .contains(Kind::Ipv4));
    }

    #[test]
    fn window_before_value() {
        let text = "设备号: 490154203237518".as_bytes();
        let start = text.len() - 15;
        assert!(before(text, start).pro.contains(Kind::Imei));
        assert!(!before(text, start).pro.contains(Kind::Passport));

        let far = format!("imei{} 490154203237518", " ".repeat(60));
        assert!(
            !before(far.as_bytes(), far.len() - 15)
                .pro
                .contains(Kind::Imei),
            "too far"
        );

        let other_line = "imei\n490154203237518";
        assert!(
            !before(other_line.as_bytes(), 5).pro.contains(Kind::Imei),
            "other line"
        );
    }
}
