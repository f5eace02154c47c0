//! XML with its character data broken into runs of bounded length.
//!
//! quick-xml reads a text event whole into its buffer: a workbook cell or
//! a document paragraph of 200 MB of text (Excel stops at 32 767
//! characters, other writers do not) would be held whole, and copied again
//! by the reader keeping it. [`TextRuns`] sits between the decompressed
//! part and quick-xml, and where character data runs on for more than
//! [`RUN_MAX`] bytes it inserts an empty processing instruction
//! ([`BREAK`]), which the readers ignore: quick-xml then gives the run as
//! several text events, and the readers keep (or send in pieces) only
//! what they need.
//!
//! A CDATA section longer than a run is split the same way, by ending it
//! and opening another (`]]><![CDATA[`): the text is the same. A tag,
//! comment or processing instruction longer than [`MARKUP_MAX`], which
//! quick-xml would hold whole, ends the part with an error instead.
//!
//! To know where character data is, it follows the markup: tags (with
//! their quoted attribute values, which may hold `>`), comments, CDATA
//! sections and processing instructions, by `memchr` jumps from one
//! delimiter to the next. A break goes after a space or line break where
//! there is one, so that no value is cut, and never inside an entity or
//! character reference, nor inside a UTF-8 character. A document type
//! declaration with an internal subset is the one construct it does not
//! follow (Office parts have none): a run of over [`RUN_MAX`] bytes inside
//! one could get a break, and the part would read as malformed.

use std::io::{self, Read};

/// Longest run of character data passed on without a break.
pub const RUN_MAX: usize = 1 << 20;

/// What is inserted to break a run: a processing instruction, which the
/// readers pass over.
pub const BREAK: &[u8] = b"<?piscan?>";

/// What is inserted to break a long CDATA section: its end and a new one,
/// so that its text is the same.
const CDATA_BREAK: &[u8] = b"]]><![CDATA[";

/// Longest markup (a tag with its attributes, a comment, a processing
/// instruction) passed on: quick-xml holds each whole. A longer one is an
/// error, after the bytes before it. (A CDATA section is text: it is split
/// like a run, by ending it and opening another, `]]><![CDATA[`.)
pub const MARKUP_MAX: usize = 16 << 20;

/// Read buffer.
const BUFFER: usize = 64 << 10;

/// Bytes needed after a `<` to tell what it opens (`<![CDATA[`).
const OPENER: usize = 9;

/// Bytes a reference may span, for telling one being passed.
const REFERENCE_MAX: usize = 64;

/// Bytes kept available past the end of a full run to choose its break
/// (the rest of a reference or character), and after a `<`.
const AHEAD: usize = REFERENCE_MAX + OPENER;

/// Where the reader is in the markup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Character data.
    Text,
    /// Inside a tag or declaration; in an attribute value when `quote`.
    Tag { quote: Option<u8> },
    /// Inside a comment (ends with `-->`), CDATA section (`]]>`) or
    /// processing instruction (`?>`): `need` times `mark`, then `>`.
    Until { mark: u8, need: u8 },
    /// After the `<` of a tag at `lt` in the bytes at hand, not followed:
    /// up to the next `<` are the tag, then character data too short to
    /// need a break, which is checked when that `<` is found (the gap is
    /// followed exactly from `lt` otherwise). One search per tag, where
    /// following it costs two or more. Never left at the end of a pass.
    Lazy { lt: usize },
}

/// A reader of XML from `inner` whose character data never runs on for
/// more than [`RUN_MAX`] bytes without markup (see the module's docs).
pub struct TextRuns<R> {
    inner: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
    mode: Mode,
    /// Bytes of character data since the last markup.
    run: usize,
    /// The most `run` may reach.
    run_max: usize,
    /// Bytes of an opener (`!--` after `<`) still to pass before its end
    /// is looked for.
    opener: usize,
    /// `mark` bytes just before the bytes passed next (in [`Mode::Until`]).
    marks: u8,
    /// Bytes of character data passed since a `&` not closed by a `;` yet
    /// (a reference being passed), if there is one in the last 64.
    amp: Option<usize>,
    /// What is still to insert ([`BREAK`] or [`CDATA_BREAK`], or the rest
    /// of one); empty when none is due.
    pending: &'static [u8],
    /// Bytes from `start` passed (the markup followed over them) and not
    /// given out yet.
    ready: usize,
    /// Bytes the next pass needs at hand: [`AHEAD`], or more when a full
    /// run had too few after it to choose its break.
    need: usize,
    /// Bytes of the markup being passed, and the most it may have.
    markup: usize,
    markup_max: usize,
    /// The markup went over `markup_max`: an error once the bytes before
    /// are given.
    too_long: bool,
}

impl<R: Read> TextRuns<R> {
    /// Reads XML from `inner`.
    pub fn new(inner: R) -> Self {
        Self::with_limits(inner, RUN_MAX, MARKUP_MAX)
    }

    fn with_limits(inner: R, run_max: usize, markup_max: usize) -> Self {
        TextRuns {
            inner,
            buf: vec![0; BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            mode: Mode::Text,
            run: 0,
            run_max,
            opener: 0,
            marks: 0,
            amp: None,
            pending: &[],
            ready: 0,
            need: AHEAD,
            markup: 0,
            markup_max,
            too_long: false,
        }
    }

    /// Makes at least [`TextRuns::need`] bytes available (at most a
    /// buffer), unless the input ends.
    fn fill(&mut self) -> io::Result<()> {
        let need = self.need.min(self.buf.len());
        if self.end - self.start >= need || self.eof {
            return Ok(());
        }
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        while self.end < need && !self.eof {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// How many of the bytes available can be passed on now; follows the
    /// markup over them, and sets a break due after them.
    fn pass(&mut self) -> usize {
        let avail = &self.buf[self.start..self.end];
        let limit = avail.len();
        let mut i = 0;
        self.need = AHEAD;
        while i < limit || matches!(self.mode, Mode::Lazy { .. }) {
            if self.opener > 0 {
                let n = self.opener.min(limit - i);
                self.opener -= n;
                self.markup += n;
                i += n;
                continue;
            }
            let (from, in_markup) = (
                i,
                matches!(self.mode, Mode::Tag { .. } | Mode::Until { .. }),
            );
            let window = &avail[i..limit];
            match self.mode {
                Mode::Text => {
                    let room = self.run_max - self.run;
                    let seen = &window[..window.len().min(room)];
                    if let Some(k) = memchr::memchr(b'<', seen) {
                        let at = i + k;
                        let ahead = &avail[at..];
                        if ahead.len() < OPENER && !self.eof {
                            // Told on the next read, with more bytes.
                            return at;
                        }
                        (self.mode, self.opener) = opened(ahead, at);
                        self.marks = 0;
                        self.markup = 1;
                        self.run = 0;
                        self.amp = None;
                        i = at + 1;
                    } else if let Some(cut) = space_break(seen, self.run, self.run_max) {
                        // The run is half full: break it after a space.
                        self.run = 0;
                        self.amp = None;
                        self.pending = BREAK;
                        return i + cut;
                    } else if seen.len() < room {
                        self.run += seen.len();
                        self.amp = open_reference(self.amp, seen);
                        i = limit;
                    } else if room + AHEAD > window.len() && !self.eof {
                        // Full, but the break is chosen with the bytes
                        // after it at hand: on the next read, which reads
                        // more when none pass now (a full buffer leaves
                        // some to pass).
                        let safe = window.len().saturating_sub(AHEAD);
                        if i + safe == 0 {
                            self.need = room + AHEAD;
                        }
                        self.run += safe;
                        self.amp = open_reference(self.amp, &window[..safe]);
                        return i + safe;
                    } else {
                        // The run is full, without a space: break it.
                        let cut = break_point(window, room, self.amp, self.run == 0);
                        self.run = 0;
                        self.amp = None;
                        self.pending = BREAK;
                        return i + cut;
                    }
                }
                Mode::Tag { quote: Some(q) } => match memchr::memchr(q, window) {
                    Some(k) => {
                        self.mode = Mode::Tag { quote: None };
                        i += k + 1;
                    }
                    None => i = limit,
                },
                Mode::Tag { quote: None } => match memchr::memchr3(b'>', b'"', b'\'', window) {
                    Some(k) => {
                        self.mode = match window[k] {
                            b'>' => Mode::Text,
                            q => Mode::Tag { quote: Some(q) },
                        };
                        i += k + 1;
                    }
                    None => i = limit,
                },
                Mode::Lazy { lt } => {
                    let next = memchr::memchr(b'<', window).map(|k| i + k);
                    match next {
                        Some(at)
                            if at - lt < self.run_max / 2 && (limit - at >= OPENER || self.eof) =>
                        {
                            (self.mode, self.opener) = opened(&avail[at..], at);
                            self.marks = 0;
                            self.markup = 1;
                            i = at + 1;
                        }
                        // A long gap, or the end of the bytes at hand.
                        _ => {
                            self.mode = Mode::Tag { quote: None };
                            self.run = 0;
                            self.amp = None;
                            self.markup = 1;
                            i = lt + 1;
                            continue;
                        }
                    }
                }
                Mode::Until { mark, need } => {
                    // A CDATA section is text: past a run's length without
                    // its end, it is ended and opened again.
                    let room = match mark {
                        b']' => self.run_max.saturating_sub(self.markup).max(1),
                        _ => window.len(),
                    };
                    let seen = &window[..window.len().min(room)];
                    let (k, marks) = match memchr::memchr(b'>', seen) {
                        Some(k) => (k, trailing(&seen[..k], mark, self.marks)),
                        None => (seen.len(), trailing(seen, mark, self.marks)),
                    };
                    if mark == b']' && k == room {
                        if let Some(cut) = cdata_break(window, room) {
                            self.markup = OPENER;
                            self.marks = 0;
                            self.pending = CDATA_BREAK;
                            return i + cut;
                        }
                    }
                    i += k;
                    self.marks = marks.min(need);
                    if i < limit && k < seen.len() {
                        // At a `>`.
                        i += 1;
                        if self.marks >= need {
                            self.mode = Mode::Text;
                        }
                        self.marks = 0;
                    }
                }
            }
            if in_markup {
                self.markup += i - from;
                if self.markup > self.markup_max {
                    self.too_long = true;
                    return i;
                }
            }
        }
        limit
    }
}

/// Where a CDATA section's text `window`, `room` bytes being left in its
/// run, is ended and opened again: after its last space in the run's second
/// half, else at the last character's start not right after a `]` (which
/// could make an end with the inserted `]]>`); `None` when there is no
/// such place (the section is then followed on, up to [`MARKUP_MAX`]).
fn cdata_break(window: &[u8], room: usize) -> Option<usize> {
    let seen = &window[..room];
    if let Some(k) = seen[room / 2..].iter().rposition(|&b| b <= b' ') {
        return Some(room / 2 + k + 1);
    }
    // The byte after the place must be at hand, to tell a character's start.
    let top = if window.len() > room { room } else { room - 1 };
    (1..=top)
        .rev()
        .take(8)
        .find(|&p| seen[p - 1] != b']' && window[p] & 0xC0 != 0x80)
}

/// The mode a `<` at `at` starts, told from the bytes `ahead` starting with
/// it, and how many bytes of its opener follow the `<`.
fn opened(ahead: &[u8], at: usize) -> (Mode, usize) {
    if ahead.starts_with(b"<!--") {
        (until(b'-', 2), 3)
    } else if ahead.starts_with(b"<![CDATA[") {
        (until(b']', 2), 8)
    } else if ahead.starts_with(b"<?") {
        (until(b'?', 1), 1)
    } else {
        (Mode::Lazy { lt: at }, 0)
    }
}

/// The mode inside a construct ending with `need` times `mark`, then `>`.
fn until(mark: u8, need: u8) -> Mode {
    Mode::Until { mark, need }
}

/// How many `mark` bytes end `bytes`, counting `before` more when all of
/// them are marks (capped at 255).
fn trailing(bytes: &[u8], mark: u8, before: u8) -> u8 {
    let n = bytes.iter().rev().take_while(|&&b| b == mark).count();
    let n = if n == bytes.len() {
        n + usize::from(before)
    } else {
        n
    };
    n.min(u8::MAX as usize) as u8
}

/// [`TextRuns::amp`] after passing the character data `text`.
fn open_reference(amp: Option<usize>, text: &[u8]) -> Option<usize> {
    let semicolon = memchr::memrchr(b';', text);
    match memchr::memrchr(b'&', text) {
        Some(a) if semicolon.is_none_or(|s| s < a) => Some(text.len() - a),
        _ if semicolon.is_some() => None,
        _ => amp.map(|d| d + text.len()).filter(|&d| d <= REFERENCE_MAX),
    }
}

/// Where a run with `run` bytes passed already can be broken in `seen`,
/// its next bytes up to [`TextRuns::run_max`]: after the last space or
/// line break (they are in no value, reference or character) that leaves
/// the run at least half full, if there is one.
fn space_break(seen: &[u8], run: usize, run_max: usize) -> Option<usize> {
    let from = (run_max / 2).saturating_sub(run).min(seen.len());
    let k = seen[from..].iter().rposition(|&b| b <= b' ')?;
    Some(from + k + 1)
}

/// Where character data `window` is broken when the run, with `room`
/// bytes left, has no space to break at ([`space_break`]); `fresh`: the
/// run started at the window's start, `amp` as in [`TextRuns::amp`] before
/// it. Before a reference the break would cut, or after one begun before
/// the window; else before the UTF-8 character it would cut. Never 0 for a
/// fresh run, which must move on.
fn break_point(window: &[u8], room: usize, amp: Option<usize>, fresh: bool) -> usize {
    let seen = &window[..room];
    let mut cut = room;
    match memchr::memrchr(b'&', seen) {
        Some(a) if !seen[a..].contains(&b';') && room - a <= REFERENCE_MAX && (a > 0 || !fresh) => {
            cut = a;
        }
        None if amp.is_some() && !seen.contains(&b';') => {
            let ahead = &window[..window.len().min(room + REFERENCE_MAX)];
            if let Some(s) = memchr::memchr(b';', ahead) {
                return s + 1;
            }
        }
        _ => {}
    }
    let continues = |k: usize| window.get(k).is_some_and(|&b| b & 0xC0 == 0x80);
    while cut > 0 && continues(cut) {
        cut -= 1;
    }
    // At the window's start: inside a character passed in part, or
    // nothing passed in a fresh run; move on to the next character.
    if cut == 0 && (fresh || continues(0)) {
        cut = usize::from(!continues(0));
        while continues(cut) {
            cut += 1;
        }
    }
    cut
}

impl<R: Read> Read for TextRuns<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if !self.pending.is_empty() && self.ready == 0 {
            let n = self.pending.len().min(out.len());
            out[..n].copy_from_slice(&self.pending[..n]);
            self.pending = &self.pending[n..];
            return Ok(n);
        }
        while self.ready == 0 {
            if self.too_long {
                let what = "XML markup (a tag, comment or processing instruction)";
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{what} over {} MiB", self.markup_max >> 20),
                ));
            }
            self.fill()?;
            if self.start == self.end {
                return Ok(0);
            }
            // With the bytes `need` says at hand, `pass` moves on, or sets
            // a break due before them, or asks for more.
            self.ready = self.pass();
            if self.ready == 0 && !self.pending.is_empty() {
                return self.read(out);
            }
        }
        let n = self.ready.min(out.len());
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        self.ready -= n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use quick_xml::events::Event;
    use quick_xml::Reader;

    /// The character data of `xml` as quick-xml reads it (text, CDATA and
    /// references, in order), its longest text event, and whether it was
    /// well-formed to the end.
    fn text_of(xml: impl io::BufRead) -> (String, usize, bool) {
        let mut reader = Reader::from_reader(xml);
        let (mut buf, mut text, mut longest) = (Vec::new(), String::new(), 0);
        loop {
            buf.clear();
            match reader.read_event_into(&mut buf) {
                Ok(Event::Eof) => return (text, longest, true),
                Ok(Event::Text(t)) => {
                    longest = longest.max(t.len());
                    text.push_str(&String::from_utf8_lossy(&t));
                }
                Ok(Event::CData(t)) => text.push_str(&String::from_utf8_lossy(&t)),
                Ok(Event::GeneralRef(r)) => {
                    text.push('&');
                    text.push_str(&String::from_utf8_lossy(&r));
                    text.push(';');
                }
                Ok(_) => {}
                Err(_) => return (text, longest, false),
            }
        }
    }

    /// `bytes` without what [`TextRuns`] inserts (nor, in the original,
    /// what looks like it: adjacent CDATA sections).
    fn without_breaks(bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for insert in [BREAK, CDATA_BREAK] {
            let mut rest = &out[..];
            let mut kept = Vec::new();
            while let Some(k) = memchr::memmem::find(rest, insert) {
                kept.extend_from_slice(&rest[..k]);
                rest = &rest[k + insert.len()..];
            }
            kept.extend_from_slice(rest);
            out = kept;
        }
        out
    }

    /// A reader giving at most `.1` bytes at a time.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// `xml` read through [`TextRuns`] with runs of `run_max`, from a
    /// reader giving it and a reader taking it `step` bytes at a time
    /// (buffer ends fall anywhere).
    fn through(xml: &[u8], run_max: usize, step: usize) -> Vec<u8> {
        let mut runs = TextRuns::with_limits(Trickle(xml, step), run_max, MARKUP_MAX);
        let mut out = Vec::new();
        let mut buf = vec![0; step];
        loop {
            let n = runs.read(&mut buf).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    /// Generated XML: elements holding text with references, attributes
    /// whose values hold `>` and quotes, comments, CDATA sections and
    /// processing instructions that hold `<`, `>` and their end marks.
    fn document() -> impl Strategy<Value = String> {
        let word = prop_oneof![
            "[a-z0-9]{1,12}",
            Just(" ".to_string()),
            Just("\n".to_string()),
            Just("&amp;".to_string()),
            Just("&#20013;".to_string()),
            Just("中文".to_string()),
            Just("13812345678".to_string()),
        ];
        let text = prop::collection::vec(word, 0..40).prop_map(|w| w.concat());
        let piece = prop_oneof![
            text.clone()
                .prop_map(|t| format!("<t a=\"x>'y\" b='\"z>'>{t}</t>")),
            text.clone().prop_map(|t| t.to_string()),
            Just("<!-- a > b -- c <d> --->".replace("--->", "-->")),
            Just("<![CDATA[ x < y ]] > ]> ]]>".to_string()),
            text.clone().prop_map(|t| format!("<![CDATA[{t}]]]]]>")),
            Just("<?pi a > b ? c?>".to_string()),
            Just("<e/>".to_string()),
        ];
        prop::collection::vec(piece, 0..30).prop_map(|p| format!("<r>{}</r>", p.concat()))
    }

    proptest! {
        #[test]
        fn runs_are_broken_and_the_text_is_the_same(
            xml in document(),
            run_max in REFERENCE_MAX..200,
            step in 1usize..40,
        ) {
            let (want, _, ok) = text_of(xml.as_bytes());
            prop_assert!(ok, "{}", xml);
            let broken = through(xml.as_bytes(), run_max, step);
            let (got, longest, ok) = text_of(&broken[..]);
            prop_assert!(ok, "{}", String::from_utf8_lossy(&broken));
            prop_assert_eq!(got, want);
            // A run ends at its limit, moved back at most to the start of
            // a reference or a character.
            prop_assert!(longest <= run_max + REFERENCE_MAX, "{} > {}", longest, run_max);
            // Only breaks were added.
            prop_assert_eq!(without_breaks(&broken), without_breaks(xml.as_bytes()));
        }

        #[test]
        fn any_bytes_pass_through_with_breaks_only(
            bytes in prop::collection::vec(any::<u8>(), 0..300),
            run_max in 1usize..64,
            step in 1usize..40,
        ) {
            let broken = through(&bytes, run_max, step);
            prop_assert_eq!(without_breaks(&broken), without_breaks(&bytes));
        }
    }

    #[test]
    fn markup_over_its_limit_is_an_error_after_the_bytes_before() {
        let long = "x".repeat(100);
        for markup in [
            format!("<t a=\"{long}\"/>"),
            format!("<!-- {long} -->"),
            format!("<?pi {long}?>"),
        ] {
            let xml = format!("<r>before{markup}after</r>");
            let mut runs = TextRuns::with_limits(Trickle(xml.as_bytes(), 7), 64, 64);
            let mut out = Vec::new();
            let error = runs.read_to_end(&mut out).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            assert!(error.to_string().starts_with("XML markup"), "{error}");
            let out = String::from_utf8(out).unwrap();
            assert!(out.starts_with("<r>before<"), "{out}");
            assert!(!out.contains("after"), "{out}");
            // Under the limit, the same markup passes.
            let mut runs = TextRuns::with_limits(Trickle(xml.as_bytes(), 7), 64, 200);
            let mut out = Vec::new();
            runs.read_to_end(&mut out).unwrap();
            assert_eq!(out, xml.as_bytes());
        }
    }

    #[test]
    fn a_long_cdata_section_is_split_not_refused() {
        let long = "中".repeat(100);
        let xml = format!("<r><![CDATA[{long}]]]]></r>");
        let broken = through(xml.as_bytes(), 64, 7);
        assert!(memchr::memmem::find(&broken, CDATA_BREAK).is_some());
        let (text, _, ok) = text_of(&broken[..]);
        assert!(ok);
        assert_eq!(text, format!("{long}]]"));
    }

    #[test]
    fn a_long_run_is_broken_at_spaces() {
        let text = "13812345678 lorem ipsum ".repeat(RUN_MAX / 8);
        let xml = format!("<r><c>{text}</c></r>");
        let broken = through(xml.as_bytes(), RUN_MAX, BUFFER);
        let (got, longest, ok) = text_of(&broken[..]);
        assert!(ok);
        assert_eq!(got, text);
        assert!(longest <= RUN_MAX && longest > RUN_MAX / 2, "{longest}");
        // Every piece ends after a space: no number is cut.
        let broken = String::from_utf8(broken).unwrap();
        let pieces: Vec<&str> = broken.split("<?piscan?>").collect();
        assert!(pieces.len() >= 4, "{}", pieces.len());
        for piece in &pieces[..pieces.len() - 1] {
            assert!(piece.ends_with(' '), "{}", &piece[piece.len() - 20..]);
        }
    }
}
