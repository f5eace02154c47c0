//! Detection: find validated personal information in a buffer of text.
//!
//! # Design
//!
//! Detection is a single left-to-right pass over bytes, not a set of regexes
//! run per line. The pass stops only at *anchors*: a digit run that may be a
//! value by its length and neighbours, a separator after a short run that
//! may start an address or a chain of groups, an `@`, and a `:` or `-` that
//! could be the first separator of a MAC address (which bytes those are is
//! found 64 bytes at a time, see `skip.rs`). Everything a kind needs is
//! decided from the anchor outwards:
//!
//! * a digit run is measured, its neighbours are checked against the
//!   boundary rule (an ASCII letter or digit on either side means the run is
//!   part of a longer token: an order id, a hash, a UUID) and, by length and
//!   shape, it is handed to the validators of [`resident_id`], [`bank_card`],
//!   [`mobile`], [`imei`], [`passport`] or [`ipv4`];
//! * an `@` is expanded to an address by [`email`];
//! * a separator preceded by two hex digits is tried by [`mac`].
//!
//! Validators are plain functions over digits; the few kinds that need
//! evidence ([`imei`], [`passport`]) ask [`context`] for a context word in
//! the field name or just before the value. Nothing here allocates per line
//! or per candidate, and nothing knows about files: callers pass text and an
//! optional field name and get byte ranges back.
//!
//! Kinds defined in the configuration ([`custom`]) are not part of this pass:
//! they are regexes with an optional validator, run by
//! [`custom::CustomDetectors::scan`] as a second pass over the same text, and
//! only when any are defined.

pub mod bank_card;
pub mod context;
pub mod custom;
pub mod email;
pub mod imei;
pub mod ipv4;
pub mod luhn;
pub mod mac;
pub mod mobile;
pub mod passport;
pub mod resident_id;
mod skip;

use context::Evidence;

/// Most kinds a process knows: the builtins and the custom kinds together
/// (a [`context::KindSet`] is a 32-bit set, per-kind arrays have this size).
pub const MAX_KINDS: usize = 32;

/// A kind of personal information that piscan detects: one of the
/// [`Kind::BUILTIN`] kinds, or a custom kind defined in the configuration
/// and registered with [`custom::register`].
///
/// A small copyable index (`kind.index()` < [`MAX_KINDS`]): builtins are
/// 0‥7 in the order of the contract's table, custom kinds follow in the
/// order they were registered. Builtins are associated constants, usable as
/// `match` patterns; a `match` needs a `_` arm for custom kinds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind(u8);

#[allow(non_upper_case_globals)]
impl Kind {
    /// PRC resident identity card number (GB 11643).
    pub const ResidentId: Kind = Kind(0);
    /// Bank card or account number.
    pub const BankCard: Kind = Kind(1);
    /// PRC passport number.
    pub const Passport: Kind = Kind(2);
    /// Mainland mobile phone number.
    pub const Mobile: Kind = Kind(3);
    /// Mobile device IMEI.
    pub const Imei: Kind = Kind(4);
    /// Email address.
    pub const Email: Kind = Kind(5);
    /// IPv4 address.
    pub const Ipv4: Kind = Kind(6);
    /// MAC address.
    pub const MacAddress: Kind = Kind(7);
}

/// The ids of the builtin kinds, by index.
const BUILTIN_IDS: [&str; 8] = [
    "cn_resident_id",
    "bank_card",
    "cn_passport",
    "cn_mobile",
    "imei",
    "email",
    "ipv4",
    "mac_address",
];

impl Kind {
    /// Every builtin kind, in the order of the contract's table.
    pub const BUILTIN: [Kind; 8] = [
        Kind::ResidentId,
        Kind::BankCard,
        Kind::Passport,
        Kind::Mobile,
        Kind::Imei,
        Kind::Email,
        Kind::Ipv4,
        Kind::MacAddress,
    ];

    /// Every kind known to the process: the builtins, then the registered
    /// custom kinds. A kind's position in this list is its [`Kind::index`].
    pub fn all() -> Vec<Kind> {
        Kind::BUILTIN
            .into_iter()
            .chain(custom::registered())
            .collect()
    }

    /// The kind's position in [`Kind::all`], below [`MAX_KINDS`]: the index
    /// of per-kind arrays and sets.
    #[inline]
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// Whether the kind is one of [`Kind::BUILTIN`].
    #[inline]
    pub fn is_builtin(self) -> bool {
        self.index() < Kind::BUILTIN.len()
    }

    /// The kind at `index`, which must be a builtin's or a registered one's.
    fn at(index: usize) -> Kind {
        debug_assert!(index < MAX_KINDS);
        Kind(index as u8)
    }

    /// The stable id used in every output format (`cn_resident_id`, …, or
    /// a custom kind's id).
    pub fn id(self) -> &'static str {
        match BUILTIN_IDS.get(self.index()) {
            Some(id) => id,
            None => custom::definition(self).id.as_str(),
        }
    }

    /// The kind with the given id, builtin or registered.
    pub fn from_id(id: &str) -> Option<Kind> {
        Kind::BUILTIN
            .into_iter()
            .find(|k| k.id() == id)
            .or_else(|| custom::find(id))
    }

    /// Whether the value is made of digits: true for the builtins but email
    /// and MAC address, and for custom kinds with a checksum validator.
    pub fn is_numeric(self) -> bool {
        match self {
            Kind::Email | Kind::MacAddress => false,
            k if k.is_builtin() => true,
            k => custom::definition(k).validator != custom::Validator::None,
        }
    }
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kind({})", self.id())
    }
}

/// How sure a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Confidence {
    /// Shape and checksum valid, but weaker evidence (a card scheme's whole
    /// range, an unknown area code, a private-looking IP without context).
    #[default]
    Medium,
    /// Validated and/or confirmed by context.
    High,
}

impl Confidence {
    /// `"high"` or `"medium"`, as in the output contract.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::High => "high",
            Confidence::Medium => "medium",
        }
    }
}

/// One validated value: a byte range of the scanned text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// Offset of the first byte of the value.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
    /// What the value is.
    pub kind: Kind,
    /// How sure the detector is.
    pub confidence: Confidence,
}

const DIGIT: u8 = 1;
const ALPHA: u8 = 2;
const AT: u8 = 4;
const SEP: u8 = 8;

/// Byte classes: what the scanning loop may stop at.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_digit() {
            DIGIT
        } else if c.is_ascii_alphabetic() {
            ALPHA
        } else if c == b'@' {
            AT
        } else if c == b':' || c == b'-' {
            SEP
        } else {
            0
        };
        b += 1;
    }
    t
};

/// Whether `b` is an ASCII letter or digit: the bytes that glue a value to a
/// longer token under the contract's boundary rule.
#[inline]
pub(crate) fn is_alnum(b: u8) -> bool {
    CLASS[b as usize] & (DIGIT | ALPHA) != 0
}

#[inline]
fn is_digit(b: u8) -> bool {
    b.is_ascii_digit()
}

pub(crate) use skip::digits_end;

/// Whether the whole run of 7 or more digits `text[s..e]` may be a value or
/// count as a candidate ([`Stats`]) when the scanner handles it: the run
/// rules of `Scanner::digit_run` and `Scanner::plain_number`, by the run's
/// length, first digit and neighbours, with nothing validated. A false
/// answer lets [`skip::Marks`] leave the run unmarked: the 19-digit ids and
/// 13-digit epochs of every log line cost no visit.
///
/// Exact for what it rules out, loose elsewhere: a 17-digit run before an
/// `X` is kept even when the `X` is glued to more, a card-length run
/// whatever its issuer (only a `1` first is ruled out: no issuer starts
/// so, a test checks it).
pub(crate) fn long_run_may_count(text: &[u8], s: usize, e: usize) -> bool {
    let before = |k: usize| if s >= k { text[s - k] } else { b' ' };
    let after = |k: usize| text.get(e + k).copied().unwrap_or(b' ');
    let len = e - s;
    if before(1).is_ascii_alphabetic() {
        return passport::at(text, s, e).is_some();
    }
    if before(1) == b'.' && is_digit(before(2)) {
        return false; // a fraction or the tail of a dotted number
    }
    match after(0) {
        b'X' | b'x' => return len == 17,
        b'.' if is_digit(after(1)) => return false, // no IPv4 address
        b if is_alnum(b) || b == b'@' => return false,
        _ => {}
    }
    match len {
        11 => text[s] == b'1',
        13 => text[s] == b'8',
        15 | 18 => true,
        16 | 17 | 19 => text[s] != b'1',
        _ => false,
    }
}

/// Counts of candidates and how many passed validation, kept per file.
///
/// Real data validates almost always: a column of phone numbers is nearly
/// all in assigned segments, a list of card numbers nearly all passes Luhn.
/// Tables of other numbers (stroke codes, test vectors, big integers) pass
/// at the rate of chance. When a file holds many candidates and few pass,
/// the few that pass are chance too, and [`Stats::implausible`] says so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// 11-digit runs starting with `1`.
    pub mobile_candidates: u32,
    /// Of those, in an assigned segment.
    pub mobile_valid: u32,
    /// 15–19 digit runs with a card issuer's prefix and length.
    pub card_candidates: u32,
    /// Of those, passing Luhn.
    pub card_valid: u32,
    /// Valid bare mobile numbers that are multiples of 100.
    pub mobile_round: u32,
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, other: Stats) {
        self.mobile_candidates += other.mobile_candidates;
        self.mobile_valid += other.mobile_valid;
        self.card_candidates += other.card_candidates;
        self.card_valid += other.card_valid;
        self.mobile_round += other.mobile_round;
    }
}

impl Stats {
    /// Candidates needed before the pass rate is trusted.
    const MIN_CANDIDATES: u32 = 20;

    /// Whether medium-confidence findings of `kind` in this file are likely
    /// chance: at least 20 candidates of which fewer than 70 % (mobile) or
    /// 50 % (card) validate. Context-confirmed (high) findings are kept.
    ///
    /// Also for mobiles: at least 20 valid ones of which half or more end in
    /// `00`, which one real number in a hundred does. Those are a table of
    /// round quantities (seconds of whole days, sizes), not of phones.
    pub fn implausible(&self, kind: Kind) -> bool {
        let rate_below = |valid: u32, all: u32, percent: u32| {
            all >= Self::MIN_CANDIDATES && valid * 100 < all * percent
        };
        let round =
            self.mobile_valid >= Self::MIN_CANDIDATES && self.mobile_round * 2 >= self.mobile_valid;
        match kind {
            Kind::Mobile => round || rate_below(self.mobile_valid, self.mobile_candidates, 70),
            Kind::BankCard => rate_below(self.card_valid, self.card_candidates, 50),
            _ => false,
        }
    }
}

/// Scans `text` and appends every validated value to `out`, in order of
/// position and without overlaps.
///
/// `field` is the name the text sits under (CSV header, JSON key, column),
/// when the extractor knows one; its context words count as evidence for
/// every value in `text`.
pub fn scan(text: &[u8], field: Option<&str>, out: &mut Vec<Match>) {
    let field = field.map_or(Evidence::default(), context::in_field);
    scan_counting(text, field, out, &mut Stats::default());
}

/// [`scan`] with the field's evidence already known
/// ([`context::in_field`], which callers scanning many values under one
/// field compute once), also adding to the file's candidate counts.
pub fn scan_counting(text: &[u8], field: Evidence, out: &mut Vec<Match>, stats: &mut Stats) {
    let mut scanner = Scanner {
        text,
        field,
        out,
        stats,
        last_end: 0,
        first_only: false,
    };
    scanner.run();
}

/// Whether some part of `text` could be a value of a builtin kind, in
/// whatever context it were scanned: false means that no part of it,
/// scanned alone, would give a match or add to the candidate counts.
///
/// This lets a caller pass over many small units at once (the rows of a
/// dump, one block of source text) and split them into units only when
/// the answer is yes. The text is scanned as if every kind's context word
/// stood before every value, so that nothing a unit's own context (its
/// field name, its neighbours) might allow is missed; the scan stops at the
/// first match or candidate. Callers must keep the units apart in the
/// block by bytes that end any value (quotes, commas), so that the
/// block's tokens are the units' tokens.
pub fn may_hold(text: &[u8]) -> bool {
    let mut out = Vec::new();
    let mut stats = Stats::default();
    let mut scanner = Scanner {
        text,
        field: Evidence {
            pro: context::KindSet::ALL,
            contra: context::KindSet::EMPTY,
        },
        out: &mut out,
        stats: &mut stats,
        last_end: 0,
        first_only: true,
    };
    scanner.run();
    !out.is_empty() || stats != Stats::default()
}

/// How far ahead of its window the scanner asks for text to be brought
/// into the cache. The hardware's own prefetcher stops at each 4 KiB page
/// boundary; asking 8 windows ahead made the scan of logs held in memory
/// 5 % faster (0.60 → 0.57 s per GiB on one core), and whole scans of the
/// logs, one large log and a dump 2–3 % faster.
const PREFETCH: usize = 512;

/// Asks for the cache line holding `text[at]` (if any) to be fetched.
#[inline(always)]
fn prefetch(text: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(byte) = text.get(at) {
        // SAFETY: SSE is part of the x86-64 baseline; a prefetch reads
        // nothing into the program, and the address is inside `text`.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                std::ptr::from_ref(byte).cast(),
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (text, at);
}

struct Scanner<'a> {
    text: &'a [u8],
    field: Evidence,
    out: &'a mut Vec<Match>,
    stats: &'a mut Stats,
    last_end: usize,
    /// Stop at the first match or candidate ([`may_hold`]).
    first_only: bool,
}

impl Scanner<'_> {
    /// Visits the marked bytes ([`skip::Marks`]) in order; `resume` is
    /// where the last handler left off, and marks before it are spent.
    fn run(&mut self) {
        let text = self.text;
        let mut resume: usize = 0;
        let mut base = 0;
        let mut windows = skip::Marks::new(text);
        while base < text.len() {
            prefetch(text, base + PREFETCH);
            let mut marks = windows.window(base);
            loop {
                let spent = resume.saturating_sub(base);
                if spent >= skip::WINDOW {
                    break;
                }
                marks &= u64::MAX << spent;
                if marks == 0 {
                    break;
                }
                resume = self.mark(base + marks.trailing_zeros() as usize, resume);
                if self.first_only && self.found_any() {
                    return;
                }
            }
            // Windows stay aligned, so that the next one usually follows
            // on (its marks need the classes of the one before).
            base += skip::WINDOW;
            if resume > base {
                base += (resume - base) / skip::WINDOW * skip::WINDOW;
            }
        }
    }

    /// Whether a match was made or a candidate counted.
    fn found_any(&self) -> bool {
        !self.out.is_empty() || *self.stats != Stats::default()
    }

    /// Handles the mark at `p`: the run of digits it belongs to or follows
    /// (from its start, but not before `resume`), then the byte itself.
    /// Returns where scanning resumes.
    fn mark(&mut self, p: usize, resume: usize) -> usize {
        let byte = self.text.get(p).copied();
        if byte.is_some_and(is_digit) {
            return self.run_or_timestamp(self.run_start(p, resume));
        }
        if p > resume && is_digit(self.text[p - 1]) {
            let next = self.run_or_timestamp(self.run_start(p - 1, resume));
            if next > p {
                return next;
            }
        }
        match byte.map(|b| CLASS[b as usize]) {
            Some(AT) => self.at_sign(p),
            Some(SEP) => self.separator(p),
            _ => p + 1,
        }
    }

    /// Handles the digit run starting at `s`, or passes over the date or
    /// timestamp starting there ([`skip::timestamp_end`]); returns where
    /// scanning resumes.
    fn run_or_timestamp(&mut self, s: usize) -> usize {
        match skip::timestamp_end(self.text, s) {
            Some(end) => end,
            None => self.digit_run(s),
        }
    }

    /// Start of the run of digits holding `p`, not before `floor`.
    fn run_start(&self, p: usize, floor: usize) -> usize {
        skip::digits_start(self.text, p).max(floor)
    }

    fn byte(&self, i: usize) -> u8 {
        self.text.get(i).copied().unwrap_or(b' ')
    }

    fn before(&self, i: usize) -> u8 {
        if i == 0 {
            b' '
        } else {
            self.text[i - 1]
        }
    }

    fn emit(&mut self, start: usize, end: usize, kind: Kind, confidence: Confidence) {
        if start >= self.last_end {
            self.out.push(Match {
                start,
                end,
                kind,
                confidence,
            });
            self.last_end = end;
        }
    }

    /// What the field name and the 48 characters before `start` say.
    fn evidence(&self, start: usize) -> Evidence {
        self.field.with(context::before(self.text, start))
    }

    /// Whether there is a context word for `kind` in the field name or in
    /// the 48 characters before `start` on the same line.
    fn has_context(&self, kind: Kind, start: usize) -> bool {
        self.field.pro.contains(kind) || context::before(self.text, start).pro.contains(kind)
    }

    /// Raises `confidence` to high when there is context for `kind`.
    fn confirm(&self, kind: Kind, start: usize, confidence: Confidence) -> Confidence {
        if confidence == Confidence::Medium && self.has_context(kind, start) {
            Confidence::High
        } else {
            confidence
        }
    }

    /// Whether the byte at `i` glues a value ending there to what follows:
    /// a letter or digit, an `@` (email local part), or `.digit` (decimal).
    fn glued_after(&self, i: usize) -> bool {
        let b = self.byte(i);
        is_alnum(b) || b == b'@' || (b == b'.' && is_digit(self.byte(i + 1)))
    }

    /// Handles the digit run starting at `s`; returns where scanning resumes.
    fn digit_run(&mut self, s: usize) -> usize {
        let e = digits_end(self.text, s);
        let next = self.byte(e);
        // Most runs are short (times, hex fragments, counters). Under 7
        // digits a run is no value of its own; it can only start an IPv4
        // address (`10.1`) or a chain of groups (`138 1`, `2024-0`).
        if e - s < 7 && !(matches!(next, b'.' | b' ' | b'-') && is_digit(self.byte(e + 1))) {
            return e;
        }
        let prev = self.before(s);
        if prev.is_ascii_alphabetic() {
            // Only a passport has digits after a letter (7 or 8 of them).
            if !matches!(e - s, 7 | 8) {
                return e;
            }
            if let Some((start, conf)) = passport::at(self.text, s, e) {
                if self.has_context(Kind::Passport, start) {
                    self.emit(start, e, Kind::Passport, conf);
                    return e;
                }
            }
            return e;
        }
        // A fraction or the tail of a dotted number: "3.14159265358", "1.2.3.4.5".
        if prev == b'.' && is_digit(self.before(s - 1)) {
            return e;
        }
        match next {
            b'X' | b'x' if e - s == 17 && !self.glued_after(e + 1) => {
                self.resident_id(s, e + 1);
                return e + 1;
            }
            b'@' => return e,
            b'.' if is_digit(self.byte(e + 1)) => {
                return match ipv4::at(self.text, s) {
                    Some(ip) => {
                        self.ipv4(s, ip);
                        ip.end
                    }
                    None => e,
                };
            }
            b' ' | b'-' if (2..=4).contains(&(e - s)) && is_digit(self.byte(e + 1)) => {
                // `527D 5282 5281 5290 5293`: groups continuing a longer
                // sequence of groups are not a number of their own.
                let continues = s > 0 && prev == next && is_alnum(self.before(s - 1));
                let chain = Chain::parse(self.text, s);
                if (!continues && self.grouped(&chain)) || chain.len >= 3 {
                    return chain.end;
                }
                return e;
            }
            _ if is_alnum(next) => return e,
            _ => {}
        }
        self.plain_number(s, e);
        e
    }

    /// A run of digits standing alone between boundaries; returns whether
    /// it was a value.
    fn plain_number(&mut self, s: usize, e: usize) -> bool {
        if self.operand(s, e) {
            return false;
        }
        let d = &self.text[s..e];
        // `+1 555…`: an international number is only Chinese after +86.
        let international = self.before(s) == b'+';
        match d.len() {
            18 => self.resident_id(s, e) || self.bank_card(s, e, d),
            11 if !international => {
                if d[0] == b'1' {
                    self.stats.mobile_candidates += 1;
                }
                self.mobile(s, e, d, Confidence::Medium)
            }
            13 if d.starts_with(b"86") => self.mobile(s, e, &d[2..], Confidence::High),
            15 if d.starts_with(b"0086") && mobile::is_valid(&d[4..]) => {
                self.mobile(s, e, &d[4..], Confidence::High)
            }
            15 if imei::is_valid(d) && self.has_context(Kind::Imei, s) => {
                self.emit(s, e, Kind::Imei, Confidence::High);
                true
            }
            15..=19 => self.bank_card(s, e, d),
            _ => false,
        }
    }

    /// Whether the number at `s..e` is a factor or power of an arithmetic
    /// expression: `*` or `^` (or `**`) joins it to a letter, digit or
    /// parenthesis (`13340783196*x**35`, `2**13340783196`, `x^…`). Markdown
    /// bold (`**13812345678**`) touches a `*` but no operand, and stays.
    fn operand(&self, s: usize, e: usize) -> bool {
        let is_op = |b: u8| b == b'*' || b == b'^';
        let joins = |b: u8| is_alnum(b) || b == b'(' || b == b')';
        let op_after = is_op(self.byte(e)) && {
            let next = if self.byte(e + 1) == b'*' {
                self.byte(e + 2)
            } else {
                self.byte(e + 1)
            };
            joins(next)
        };
        let op_before = s > 0 && is_op(self.before(s)) && {
            let prev = if self.before(s - 1) == b'*' && s > 1 {
                self.before(s - 2)
            } else {
                self.before(s - 1)
            };
            joins(prev)
        };
        op_after || op_before
    }

    fn resident_id(&mut self, s: usize, e: usize) -> bool {
        match resident_id::validate(&self.text[s..e]) {
            Some(conf) => {
                let conf = self.confirm(Kind::ResidentId, s, conf);
                self.emit(s, e, Kind::ResidentId, conf);
                true
            }
            None => false,
        }
    }

    fn bank_card(&mut self, s: usize, e: usize, digits: &[u8]) -> bool {
        // `#2238000000000000`: an encoded or hex number, not a card.
        if self.before(s) == b'#' {
            return false;
        }
        let Some(issuer) = bank_card::issuer(digits) else {
            return false;
        };
        self.stats.card_candidates += 1;
        if !luhn::is_valid(digits) {
            return false;
        }
        self.stats.card_valid += 1;
        if bank_card::is_patterned(digits) {
            return false;
        }
        let test_number = bank_card::is_test_number(digits);
        if !test_number && issuer == Confidence::Medium && bank_card::is_low_entropy(digits) {
            return false;
        }
        let context = self.has_context(Kind::BankCard, s);
        let conf = match (context, test_number) {
            // A processor's published test number is only worth a mention
            // where the text says it is a card.
            (false, true) => return false,
            (true, true) => Confidence::Medium,
            (true, false) => Confidence::High,
            // A scheme-range number among big integers (`check(5503284107318959,
            // 446, 11270725851789228032)`) is one of them.
            (false, false) if issuer == Confidence::Medium && self.among_big_numbers(s, e) => {
                return false
            }
            (false, false) => issuer,
        };
        self.emit(s, e, Kind::BankCard, conf);
        true
    }

    /// Whether the line around `s..e` (up to 160 bytes either side) holds
    /// another run of 12 or more digits that is no value of its own: the
    /// value then sits in a table or expression of big integers (float
    /// mantissas, polynomial coefficients, test vectors). A 13-digit run
    /// starting with `1` is taken for an epoch in milliseconds, the
    /// neighbour of many a real value in logs, and does not count.
    fn among_big_numbers(&self, s: usize, e: usize) -> bool {
        const REACH: usize = 160;
        let text = self.text;
        let from = text[s.saturating_sub(REACH)..s]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(s.saturating_sub(REACH), |p| s.saturating_sub(REACH) + p + 1);
        let to = text[e..(e + REACH).min(text.len())]
            .iter()
            .position(|&b| b == b'\n')
            .map_or((e + REACH).min(text.len()), |p| e + p);
        let mut i = from;
        while i < to {
            if !is_digit(text[i]) || (i > from && is_digit(text[i - 1])) {
                i += 1;
                continue;
            }
            let end = digits_end(text, i).min(to);
            // `…002X`: the 17 digits of an ID ending in a check `X`.
            let run = match text.get(end) {
                Some(b'X' | b'x') if end - i == 17 => &text[i..=end],
                _ => &text[i..end],
            };
            let big = run.len() >= 12
                && i != s
                && !(run.len() == 13 && run[0] == b'1')
                && resident_id::validate(run).is_none()
                && bank_card::validate(run).is_none();
            if big {
                return true;
            }
            i = end;
        }
        false
    }

    /// A mobile number; `written` is the confidence its writing gives
    /// (high for `+86`/`0086` and grouped forms, medium for 11 bare digits,
    /// which a context word raises).
    fn mobile(&mut self, s: usize, e: usize, digits: &[u8], written: Confidence) -> bool {
        if !mobile::is_valid(digits) {
            return false;
        }
        let bare = written == Confidence::Medium;
        self.stats.mobile_valid += u32::from(bare);
        self.stats.mobile_round += u32::from(bare && digits.ends_with(b"00"));
        let evidence = self.evidence(s);
        // `"timestamp": 19287398741`: a counter-word and no context word.
        if bare && evidence.contra.contains(Kind::Mobile) && !evidence.pro.contains(Kind::Mobile) {
            return false;
        }
        let conf = self.confirm(Kind::Mobile, s, written);
        self.emit(s, e, Kind::Mobile, conf);
        true
    }

    /// An IPv4 address: context words confirm it; counter-words
    /// (`version`, `RFC`, `OID`) reject it unless a context word confirms
    /// it; one shaped like a version or placeholder (`1.2.3.4`, section
    /// `7.1.1.1`, `1.15.5.4`, `42.42.42.42`, [`ipv4::Ipv4::needs_context`])
    /// needs a context word.
    fn ipv4(&mut self, s: usize, ip: ipv4::Ipv4) {
        let evidence = self.evidence(s);
        // An IP word (`client_ip=`) outweighs a counter-word further back
        // (`version=3.1.2 client_ip=10.1.2.3`).
        let confirmed = evidence.pro.contains(Kind::Ipv4);
        if evidence.contra.contains(Kind::Ipv4) && !confirmed {
            return;
        }
        if ip.needs_context && !confirmed {
            return;
        }
        let conf = if confirmed {
            Confidence::High
        } else {
            Confidence::Medium
        };
        self.emit(s, ip.end, Kind::Ipv4, conf);
    }

    /// Tries a chain of digit groups (`138 1234 5678`, `+86-138-1234-5678`,
    /// `6222 0212 3456 7890 123`) as a mobile number or a card.
    fn grouped(&mut self, chain: &Chain) -> bool {
        if is_alnum(self.byte(chain.end)) {
            return false;
        }
        let mut digits = [0u8; 24];
        let n = chain.digits(self.text, &mut digits);
        let digits = &digits[..n];
        let lens = chain.lens();
        let (s, e) = (chain.start, chain.end);
        match *lens {
            [2 | 4, ref rest @ ..] if matches!(rest, [3, 4, 4] | [11]) => {
                let prefix = lens[0];
                let country = &digits[..prefix];
                if country != b"86" && country != b"0086" {
                    return false;
                }
                let start = if self.before(s) == b'+' { s - 1 } else { s };
                self.mobile(start, e, &digits[prefix..], Confidence::High)
            }
            [3, 4, 4] => self.mobile(s, e, digits, Confidence::High),
            [4, 6, 5] => self.bank_card(s, e, digits),
            [4, 4, 4, ref middle @ .., last]
                if middle.iter().all(|&g| g == 4) && (1..=4).contains(&last) =>
            {
                (15..=19).contains(&n) && self.bank_card(s, e, digits)
            }
            _ => false,
        }
    }

    /// Handles an `@`: an email address around it.
    fn at_sign(&mut self, at: usize) -> usize {
        match email::around(self.text, at, self.last_end) {
            Some((start, end)) => {
                self.emit(start, end, Kind::Email, Confidence::High);
                end
            }
            None => at + 1,
        }
    }

    /// Handles a `:` or `-`: the first separator of a MAC address.
    fn separator(&mut self, i: usize) -> usize {
        if i < 2 {
            return i + 1;
        }
        match mac::at(self.text, i - 2) {
            Some(end) if i - 2 >= self.last_end => {
                let conf = Confidence::High;
                self.emit(i - 2, end, Kind::MacAddress, conf);
                end
            }
            _ => i + 1,
        }
    }
}

/// Digit groups joined by one repeated separator (space or `-`): the
/// grouped writing of phone and card numbers, and also dates and version
/// numbers, which the caller skips as a whole.
struct Chain {
    start: usize,
    end: usize,
    /// Number of groups; more than [`Chain::MAX`] means "too long for any value".
    len: usize,
    starts: [usize; Chain::MAX],
    lens: [usize; Chain::MAX],
}

impl Chain {
    const MAX: usize = 6;
    /// Longest group of a grouped value (Amex `3782 822463 10005`).
    const MAX_GROUP: usize = 6;

    /// Reads the chain whose first group starts at `start` and is followed by
    /// a separator and a digit.
    fn parse(text: &[u8], start: usize) -> Chain {
        let first_end = digits_end(text, start);
        let sep = text[first_end];
        let mut chain = Chain {
            start,
            end: first_end,
            len: 1,
            starts: [start; Chain::MAX],
            lens: [first_end - start; Chain::MAX],
        };
        while text.get(chain.end) == Some(&sep)
            && text.get(chain.end + 1).is_some_and(|b| is_digit(*b))
        {
            let gs = chain.end + 1;
            let ge = digits_end(text, gs);
            // Only the number after a country code may be long (`86 13812345678`);
            // a long run after short groups stands on its own (`12-34-<ID>`).
            if ge - gs > Chain::MAX_GROUP && chain.len > 1 {
                break;
            }
            if chain.len < Chain::MAX {
                chain.starts[chain.len] = gs;
                chain.lens[chain.len] = ge - gs;
            }
            chain.len += 1;
            chain.end = ge;
            if ge - gs > Chain::MAX_GROUP {
                break;
            }
        }
        chain
    }

    /// The lengths of the groups; empty when the chain is too long.
    fn lens(&self) -> &[usize] {
        self.lens.get(..self.len).unwrap_or(&[])
    }

    /// Copies the digits of all groups into `buf`; returns how many, or 0
    /// when they do not fit.
    fn digits(&self, text: &[u8], buf: &mut [u8; 24]) -> usize {
        let mut n = 0;
        for (&s, &len) in self.starts.iter().zip(self.lens()) {
            let Some(dst) = buf.get_mut(n..n + len) else {
                return 0;
            };
            dst.copy_from_slice(&text[s..s + len]);
            n += len;
        }
        n
    }
}

#[cfg(test)]
mod tests;
