//! Custom kinds: kinds of personal information defined as data in the
//! configuration (`[[custom]]` tables of `piscan.toml` or of the files in
//! `--patterns DIR`, see [`crate::settings`]) instead of in code.
//!
//! # Design
//!
//! A custom kind has two halves:
//!
//! * its **definition** ([`CustomDef`]: id, regex, validator, context
//!   words, category, sensitivity, labels), kept in a process-global,
//!   append-only **registry**. Registering gives the definition a [`Kind`]
//!   index after the builtins, so everything downstream — `kind.id()`,
//!   [`crate::classify::classify`], per-kind arrays and
//!   [`super::context::KindSet`]s, SARIF rules, the inventory, masking and
//!   fingerprints — treats it like a builtin without any context being
//!   threaded through. Entries are leaked (`&'static`): a process registers
//!   a handful, once, when it reads its configuration. Registering an id
//!   again with the same definition returns the same kind; with a different
//!   definition it is an error. At most [`MAX_CUSTOM`] kinds can be
//!   registered (a [`super::context::KindSet`] has 32 bits, 8 of them
//!   builtins). Slots are written once under a lock and read without one.
//! * its **detector** ([`CustomDetectors`], compiled regexes and context
//!   words of one configuration), which the scan runs as an extra pass over
//!   each unit after the builtin scanner, only when custom kinds are
//!   defined: without them detection costs exactly what it did before.
//!
//! The pass: every kind's regex (a [`RegexSet`] first says which of them
//! match at all, when there are several) finds candidates; a capture group
//! named `value` narrows a match to the value; the validator checks the
//! value's digits ([`super::luhn`], or ISO 7064 MOD 11-2 from
//! [`super::resident_id`]); a context word in the field name or in the 48
//! characters before the value (the same rule as the builtins', see
//! [`super::context`]) makes the match high confidence, its absence medium,
//! or drops it when the kind requires context. Custom kinds are detected
//! independently of the builtins and of each other: a value matched by a
//! builtin detector and by a custom regex is reported as both, so adding a
//! custom kind never hides a builtin finding.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use regex::bytes::{Regex, RegexSet};

use super::context::{Evidence, Words};
use super::{resident_id, Confidence, Kind, Match, MAX_KINDS};
use crate::classify::Class;

/// Most custom kinds a process can register.
pub const MAX_CUSTOM: usize = MAX_KINDS - Kind::BUILTIN.len();

/// The checksum a custom kind's value must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validator {
    /// No checksum: the regex alone decides.
    #[default]
    None,
    /// Luhn (mod 10) over the value's digits, as for bank cards.
    Luhn,
    /// ISO 7064 MOD 11-2 over the value's digits, the last of which may be
    /// `X`, as for resident ID numbers.
    Mod11_2,
}

impl Validator {
    /// Every validator with its name in the configuration.
    pub const NAMES: [(&'static str, Validator); 3] = [
        ("luhn", Validator::Luhn),
        ("mod11-2", Validator::Mod11_2),
        ("none", Validator::None),
    ];

    /// The validator named `name` (`luhn`, `mod11-2`, `none`).
    pub fn from_name(name: &str) -> Option<Validator> {
        Validator::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, v)| v)
    }

    /// The name in the configuration.
    pub fn name(self) -> &'static str {
        Validator::NAMES
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("none", |(n, _)| n)
    }

    /// The characters the checksum is computed over: the ASCII digits of
    /// `value` (separators and letters ignored), for MOD 11-2 followed by
    /// an `X` when the value's last letter or digit is `X` or `x`. `None`
    /// for [`Validator::None`].
    pub fn checked_chars(self, value: &[u8]) -> Option<Vec<u8>> {
        if self == Validator::None {
            return None;
        }
        let mut chars: Vec<u8> = value.iter().copied().filter(u8::is_ascii_digit).collect();
        let last = value.iter().rev().find(|b| b.is_ascii_alphanumeric());
        if self == Validator::Mod11_2 && matches!(last, Some(b'X' | b'x')) {
            chars.push(b'X');
        }
        Some(chars)
    }

    /// Whether `value` passes the checksum (always, for [`Validator::None`]).
    pub fn accepts(self, value: &[u8]) -> bool {
        match self {
            Validator::None => true,
            Validator::Luhn => self
                .checked_chars(value)
                .is_some_and(|d| d.len() >= 2 && super::luhn::is_valid(&d)),
            Validator::Mod11_2 => self
                .checked_chars(value)
                .is_some_and(|d| resident_id::is_valid_mod11_2(&d)),
        }
    }
}

/// What a custom kind is: how it is found and how it is classified.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomDef {
    /// Id in reports (`employee_card`): lower snake case, not a builtin's.
    pub id: String,
    /// Pattern in [`regex`] syntax; a capture group named `value` selects
    /// the value inside the match.
    pub regex: String,
    /// Checksum over the value's digits.
    pub validator: Validator,
    /// Context words (ASCII case-insensitive).
    pub context: Vec<String>,
    /// Report a value only next to a context word.
    pub require_context: bool,
    /// GB/T 35273 Appendix A category id.
    pub category: String,
    /// Whether the kind is sensitive personal information.
    pub sensitive: bool,
    /// Chinese label.
    pub label_zh: String,
    /// English label.
    pub label_en: String,
    /// One-line description.
    pub description: String,
}

/// A registered custom kind: its definition and its classification.
#[derive(Debug)]
pub struct CustomKind {
    /// The definition.
    pub def: &'static CustomDef,
    /// The classification, borrowing the definition's strings.
    pub class: Class,
}

/// Why a definition cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterError {
    /// The id is a builtin kind's.
    Builtin,
    /// Another definition was registered under the id.
    Conflict,
    /// [`MAX_CUSTOM`] kinds are registered already.
    TooMany,
}

impl std::fmt::Display for RegisterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RegisterError::Builtin => "is the id of a builtin kind",
            RegisterError::Conflict => "is already registered with another definition",
            RegisterError::TooMany => "is one custom kind too many (at most 24)",
        })
    }
}

static SLOTS: [OnceLock<CustomKind>; MAX_CUSTOM] = [const { OnceLock::new() }; MAX_CUSTOM];
/// Slots filled; a slot is set before the count covers it.
static COUNT: AtomicUsize = AtomicUsize::new(0);
static REGISTER: Mutex<()> = Mutex::new(());

/// Registers `def` and returns its kind; the kind already registered when
/// the same definition was registered before.
pub fn register(def: CustomDef) -> Result<Kind, RegisterError> {
    if Kind::BUILTIN.iter().any(|k| k.id() == def.id) {
        return Err(RegisterError::Builtin);
    }
    let _lock = REGISTER.lock().unwrap_or_else(|e| e.into_inner());
    let n = COUNT.load(Ordering::Acquire);
    if let Some(i) = (0..n).find(|&i| slot(i).def.id == def.id) {
        return if *slot(i).def == def {
            Ok(Kind::at(Kind::BUILTIN.len() + i))
        } else {
            Err(RegisterError::Conflict)
        };
    }
    if n == MAX_CUSTOM {
        return Err(RegisterError::TooMany);
    }
    let def: &'static CustomDef = Box::leak(Box::new(def));
    let class = Class {
        category: &def.category,
        sensitive: def.sensitive,
        label_zh: &def.label_zh,
        label_en: &def.label_en,
        description: &def.description,
    };
    // Only this thread, under the lock, writes slot `n`.
    let _ = SLOTS[n].set(CustomKind { def, class });
    COUNT.store(n + 1, Ordering::Release);
    Ok(Kind::at(Kind::BUILTIN.len() + n))
}

fn slot(i: usize) -> &'static CustomKind {
    SLOTS[i].get().expect("a counted slot is set")
}

/// The registered custom kinds, in order of registration.
pub fn registered() -> impl Iterator<Item = Kind> {
    let n = COUNT.load(Ordering::Acquire);
    (0..n).map(|i| Kind::at(Kind::BUILTIN.len() + i))
}

/// How many custom kinds can still be registered.
pub fn room() -> usize {
    MAX_CUSTOM - COUNT.load(Ordering::Acquire)
}

/// The registered custom kind `id`.
pub fn find(id: &str) -> Option<Kind> {
    registered().find(|&k| definition(k).id == id)
}

/// The registered custom kind of `kind`, which must not be a builtin.
pub fn get(kind: Kind) -> &'static CustomKind {
    let i = kind
        .index()
        .checked_sub(Kind::BUILTIN.len())
        .expect("a custom kind");
    slot(i)
}

/// The definition of the custom kind `kind`.
pub fn definition(kind: Kind) -> &'static CustomDef {
    get(kind).def
}

/// One custom kind's compiled detector.
#[derive(Debug, Clone)]
struct Detector {
    kind: Kind,
    regex: Regex,
    /// Index of the capture group named `value`.
    value_group: Option<usize>,
    validator: Validator,
    /// The kind has context words.
    has_words: bool,
    require_context: bool,
}

/// The compiled detectors of a configuration's custom kinds.
#[derive(Debug, Clone)]
pub struct CustomDetectors {
    detectors: Vec<Detector>,
    /// Which regexes match a unit at all, when there are several.
    set: Option<RegexSet>,
    /// The kinds' context words; `None` when none has any.
    words: Option<Words>,
}

/// Compiles a custom kind's pattern as the scan runs it (over bytes,
/// Unicode-aware).
pub fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(pattern)
}

impl CustomDetectors {
    /// The detectors of the registered custom `kinds`.
    pub fn new(kinds: &[Kind]) -> Result<CustomDetectors, regex::Error> {
        let mut detectors = Vec::with_capacity(kinds.len());
        let mut words = Vec::new();
        for &kind in kinds {
            let def = definition(kind);
            let regex = compile(&def.regex)?;
            let value_group = regex.capture_names().position(|name| name == Some("value"));
            words.extend(def.context.iter().map(|w| (kind, false, w.as_str())));
            detectors.push(Detector {
                kind,
                regex,
                value_group,
                validator: def.validator,
                has_words: !def.context.is_empty(),
                require_context: def.require_context,
            });
        }
        let set = if detectors.len() > 1 {
            Some(RegexSet::new(kinds.iter().map(|&k| &definition(k).regex))?)
        } else {
            None
        };
        Ok(CustomDetectors {
            detectors,
            set,
            words: (!words.is_empty()).then(|| Words::new(words)),
        })
    }

    /// The custom kinds detected.
    pub fn kinds(&self) -> impl Iterator<Item = Kind> + '_ {
        self.detectors.iter().map(|d| d.kind)
    }

    /// What a field name says about the custom kinds.
    pub fn in_field(&self, field: &str) -> Evidence {
        self.words
            .as_ref()
            .map_or(Evidence::default(), |w| w.evidence_in(field.as_bytes()))
    }

    /// Appends the custom kinds' matches in `text` to `out`, which stays
    /// ordered by start (then end). `field` is the evidence of the field
    /// name ([`CustomDetectors::in_field`], possibly with the builtins').
    pub fn scan(&self, text: &[u8], field: Evidence, out: &mut Vec<Match>) {
        let first = out.len();
        let matched = self.set.as_ref().map(|set| set.matches(text));
        for (i, d) in self.detectors.iter().enumerate() {
            if matched.as_ref().is_some_and(|m| !m.matched(i)) {
                continue;
            }
            match d.value_group {
                Some(group) => {
                    for caps in d.regex.captures_iter(text) {
                        if let Some(v) = caps.get(group) {
                            self.candidate(d, text, v.start(), v.end(), field, out);
                        }
                    }
                }
                None => {
                    for m in d.regex.find_iter(text) {
                        self.candidate(d, text, m.start(), m.end(), field, out);
                    }
                }
            }
        }
        if out.len() > first {
            out.sort_by_key(|m| (m.start, m.end));
        }
    }

    fn candidate(
        &self,
        d: &Detector,
        text: &[u8],
        start: usize,
        end: usize,
        field: Evidence,
        out: &mut Vec<Match>,
    ) {
        if start == end || !d.validator.accepts(&text[start..end]) {
            return;
        }
        let context = d.has_words
            && (field.pro.contains(d.kind)
                || self
                    .words
                    .as_ref()
                    .is_some_and(|w| w.before(text, start).pro.contains(d.kind)));
        if d.require_context && !context {
            return;
        }
        out.push(Match {
            start,
            end,
            kind: d.kind,
            confidence: if context {
                Confidence::High
            } else {
                Confidence::Medium
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::classify;
    use crate::detect::luhn;

    fn def(id: &str, regex: &str, validator: Validator) -> CustomDef {
        CustomDef {
            id: id.to_string(),
            regex: regex.to_string(),
            validator,
            category: "identity.employee_id".to_string(),
            sensitive: true,
            label_zh: "员工卡号".to_string(),
            label_en: "Employee card number".to_string(),
            description: "test kind".to_string(),
            ..CustomDef::default()
        }
    }

    fn luhn_valid(payload: &str) -> String {
        let c = luhn::check_digit(payload.as_bytes()) as char;
        format!("{payload}{c}")
    }

    fn luhn_invalid(payload: &str) -> String {
        let c = luhn::check_digit(payload.as_bytes());
        let wrong = b'0' + (c - b'0' + 1) % 10;
        format!("{payload}{}", wrong as char)
    }

    #[test]
    fn registry_gives_stable_kinds_after_the_builtins() {
        let d = def("unit_registry_card", r"\bRC\d{8}\b", Validator::None);
        let kind = register(d.clone()).unwrap();
        assert!(!kind.is_builtin());
        assert!(kind.index() >= Kind::BUILTIN.len() && kind.index() < MAX_KINDS);
        assert_eq!(kind.id(), "unit_registry_card");
        assert_eq!(Kind::from_id("unit_registry_card"), Some(kind));
        assert_eq!(register(d.clone()).unwrap(), kind, "same definition");
        let all = Kind::all();
        assert_eq!(all[..8], Kind::BUILTIN);
        assert_eq!(all[kind.index()], kind, "position in all() is the index");
        let class = classify(kind);
        assert_eq!(class.category, "identity.employee_id");
        assert!(class.sensitive);
        assert_eq!(class.label_zh, "员工卡号");
        assert!(!kind.is_numeric());

        let other = CustomDef {
            sensitive: false,
            ..d
        };
        assert_eq!(register(other), Err(RegisterError::Conflict));
        let builtin = def("bank_card", r"\d+", Validator::Luhn);
        assert_eq!(register(builtin), Err(RegisterError::Builtin));
        assert_eq!(Kind::from_id("bank_card"), Some(Kind::BankCard));
        assert_eq!(Kind::from_id("unit_never_registered"), None);
    }

    #[test]
    fn validators() {
        let v = luhn_valid("12345678901");
        assert!(Validator::Luhn.accepts(format!("EMP{v}").as_bytes()));
        assert!(Validator::Luhn.accepts(format!("{}-{}", &v[..4], &v[4..]).as_bytes()));
        assert!(!Validator::Luhn.accepts(luhn_invalid("12345678901").as_bytes()));
        assert!(!Validator::Luhn.accepts(b"0"), "too short");
        assert!(!Validator::Luhn.accepts(b"ABC"));
        assert!(Validator::Mod11_2.accepts(b"11010519491231002X"));
        assert!(Validator::Mod11_2.accepts(b"SN-0794-0"));
        assert!(!Validator::Mod11_2.accepts(b"SN-0794-1"));
        assert!(Validator::None.accepts(b"anything"));
        assert_eq!(
            Validator::Mod11_2.checked_chars(b"a-12x"),
            Some(b"12X".to_vec())
        );
        for (name, v) in Validator::NAMES {
            assert_eq!(Validator::from_name(name), Some(v));
            assert_eq!(v.name(), name);
        }
        assert_eq!(Validator::from_name("crc32"), None);
    }

    #[test]
    fn detector_validates_and_weighs_context() {
        let mut d = def("unit_detector_card", r"\bEMP\d{12}\b", Validator::Luhn);
        d.context = vec!["工号".to_string(), "employee".to_string()];
        let kind = register(d).unwrap();
        let ids = def(
            "unit_detector_sn",
            r"SN:(?P<value>\d{4}[\dX])",
            Validator::Mod11_2,
        );
        let sn = register(ids).unwrap();
        let detectors = CustomDetectors::new(&[kind, sn]).unwrap();
        assert_eq!(detectors.kinds().collect::<Vec<_>>(), [kind, sn]);

        let good = format!("EMP{}", luhn_valid("12345678901"));
        let bad = format!("EMP{}", luhn_invalid("12345678901"));
        let text = format!("工号 {good}\nx {bad} SN:07940 y {good} SN:07941");
        let mut out = vec![Match {
            start: 6,
            end: 7,
            kind: Kind::Mobile,
            confidence: Confidence::High,
        }];
        detectors.scan(text.as_bytes(), Evidence::default(), &mut out);
        let found: Vec<(Kind, &str, Confidence)> = out
            .iter()
            .map(|m| (m.kind, &text[m.start..m.end], m.confidence))
            .collect();
        assert_eq!(
            found,
            [
                (Kind::Mobile, " ", Confidence::High),
                (kind, good.as_str(), Confidence::High),
                (sn, "07940", Confidence::Medium),
                (kind, good.as_str(), Confidence::Medium),
            ]
        );
        assert!(out.windows(2).all(|w| w[0].start <= w[1].start));

        // A field name is context for every value under it.
        let field = detectors.in_field("Employee_No");
        assert!(field.pro.contains(kind));
        let mut out = Vec::new();
        detectors.scan(good.as_bytes(), field, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].confidence, Confidence::High);
    }

    #[test]
    fn required_context() {
        let mut d = def("unit_required_ctx", r"\b\d{6}\b", Validator::None);
        d.context = vec!["badge".to_string()];
        d.require_context = true;
        let kind = register(d).unwrap();
        let detectors = CustomDetectors::new(&[kind]).unwrap();
        let mut out = Vec::new();
        detectors.scan(b"123456 badge 654321", Evidence::default(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].start, out[0].confidence), (13, Confidence::High));
        out.clear();
        // `badges` is glued to a letter: no context.
        detectors.scan(b"badges 654321", Evidence::default(), &mut out);
        assert!(out.is_empty());
    }
}
