//! JSON documents and JSON lines: string and number values under their key
//! path.
//!
//! # What becomes a unit
//!
//! * Every string **value** and every **number** value is one [`Unit`]. Its
//!   text is the decoded value (escapes resolved: `\n`, `\"`, `\\`, `\/`,
//!   `\b`, `\f`, `\r`, `\t`, `\uXXXX` including surrogate pairs; an invalid
//!   escape such as `\q` or a lone surrogate `\uD800` is kept as written). A
//!   number's text is the literal as written (`13812345678`, `-1.5e3`).
//!   Its `field` is the **key path**: the object keys from the root, joined
//!   with `.`; arrays add nothing (`{"users":[{"id_no":…}]}` →
//!   `users.id_no`). A value outside any object (a top-level scalar, an
//!   element of a top-level array) has no field.
//! * Every non-empty object **key** is also a unit, **without** a field: a
//!   map keyed by phone number or ID holds personal data in its keys.
//! * `true`, `false` and `null` are ignored.
//!
//! # Key paths
//!
//! A key that looks like data rather than a name (at least five ASCII
//! digits, or an `@`) enters the path as `*`. The key itself is still
//! scanned (as a unit of its own), but the path is reported unmasked as the
//! finding's `field`, and must not leak the value; it also folds a map keyed
//! by user id into one column (`users.*.phone`) instead of one per entry.
//! Paths longer than [`MAX_FIELD`] bytes are reported by their tail (the
//! innermost keys), so a pathologically deep document costs the detectors
//! and the report a bounded amount per value.
//!
//! # Positions
//!
//! `place.line`/`place.col` are the position of the value's first
//! character: for a string or key, the character after the opening quote;
//! for a number, its first character. Columns count characters, like the
//! rest of piscan. Inside a unit, the scanner derives finding positions from
//! byte offsets into the *decoded* text; where a string contains escapes,
//! those no longer map one to one onto the source, so a finding after an
//! escape in the same string may get a column a little off. The line stays
//! right unless the string holds an escaped newline (`\n`): JSON strings
//! cannot contain raw newlines, so the scanner would count that escape as
//! one. (A raw newline inside a string is tolerated and counted correctly.)
//!
//! # The tokenizer
//!
//! serde_json gives no positions, so this is a small hand-written,
//! streaming tokenizer and parser over the decoded bytes. It does not build
//! a tree and does not recurse: nesting is an explicit stack of one byte
//! per open container, plus one offset per open object for the key path.
//! A document nested 100 000 levels deep is fine; memory beyond the input
//! is bounded by the nesting depth, the key path and the longest string.
//! Positions come from a forward-only locator that counts newlines and
//! characters between consecutive units, so every byte is counted once.
//!
//! The grammar is strict JSON (RFC 8259) for structure and numbers, with
//! three leniencies that only widen what can be scanned: several top-level
//! values separated by whitespace (concatenated JSON, or JSON lines saved
//! as `.json`) are accepted, invalid escapes are kept raw, and control
//! characters inside strings are accepted.
//!
//! # Invalid input
//!
//! [`extract_document`] first runs the parser in check-only mode (no
//! units, no decoding, no path). Only if the whole text is valid does it
//! run again and emit units; otherwise the whole text goes out as one
//! plain-text unit ([`Place::lines`]). So nothing is reported twice, and no
//! units are buffered. [`extract_lines`] does the same per line: each line
//! is its own document; an invalid line becomes one plain-text unit at its
//! line number; blank lines are skipped.

use memchr::{memchr, memchr2};

use super::text::Locator;
use super::{Place, Sink, Unit};

/// Longest key path, in bytes, handed to the sink as a field; a longer path
/// is cut to its innermost keys.
pub const MAX_FIELD: usize = 256;

/// A key with at least this many ASCII digits is data, not a name: it enters
/// the key path as `*`.
const DATA_KEY_DIGITS: usize = 5;

/// Extracts one JSON document (or several concatenated ones).
///
/// Decodes `data`, reports the encoding, then sends every key, string and
/// number with its key path and position. If the text is not valid JSON it
/// is sent as one plain-text unit instead.
pub fn extract_document(data: &[u8], sink: &mut dyn Sink) {
    let (text, encoding) = super::text::decode(data);
    sink.encoding(encoding);
    if parse(&text, 1, None).is_err() {
        sink.unit(&Unit {
            text: &text,
            place: Place::lines(),
        });
        return;
    }
    let mut out = Emitter::new(sink);
    // Checked above; the same parser accepts the same text again.
    let _ = parse(&text, 1, Some(&mut out));
}

/// Extracts JSON lines (`.jsonl`, `.ndjson`): one document per line.
///
/// Each line is parsed on its own; a valid line's values go out like
/// [`extract_document`]'s with their real line numbers, an invalid line goes
/// out as one plain-text unit at its line, and blank lines are skipped.
pub fn extract_lines(data: &[u8], sink: &mut dyn Sink) {
    let (text, encoding) = super::text::decode(data);
    sink.encoding(encoding);
    lines(&text, 1, &mut Emitter::new(sink));
}

/// JSON documents (not JSON lines) longer than this are scanned as text,
/// streamed, without their key paths: [`extract_document`] needs the whole
/// document in memory, and memory must not grow with the input. Applies to
/// files and to archive members alike.
pub const WHOLE_MAX: u64 = 64 << 20;

/// Why a document longer than [`WHOLE_MAX`] was scanned as text.
pub fn too_long_reason() -> String {
    format!(
        "JSON document over {} MiB: scanned as text, without key paths",
        WHOLE_MAX >> 20
    )
}

/// Bytes read at a time by [`extract_lines_reader`].
const CHUNK: usize = 4 << 20;
/// A line longer than this is cut (and goes out as text).
const MAX_LINE: usize = 16 << 20;

/// [`extract_lines`] on input read from `reader` in chunks of whole lines
/// ([`super::text::LineChunks`]), so memory does not grow with the file:
/// the same units and places. The encoding reported is the first chunk's;
/// UTF-16 input is decoded as it is read. Returns a read error, after
/// sending what came before it.
pub fn extract_lines_reader(
    reader: &mut dyn std::io::Read,
    sink: &mut dyn Sink,
) -> std::io::Result<()> {
    read_lines(reader, CHUNK, sink)
}

/// [`extract_lines_reader`] reading `chunk` bytes at a time.
fn read_lines(
    reader: &mut dyn std::io::Read,
    chunk: usize,
    sink: &mut dyn Sink,
) -> std::io::Result<()> {
    let mut chunks = super::text::LineChunks::new(reader, chunk, MAX_LINE)?;
    let mut out = Emitter::new(sink);
    let (mut text, mut number, mut first) = (Vec::new(), 1, true);
    while let Some((encoding, _)) = chunks.next(&mut text)? {
        if std::mem::take(&mut first) {
            out.sink.encoding(encoding);
        }
        number = lines(&text, number, &mut out);
        text.clear();
    }
    Ok(())
}

/// Sends the JSON lines of `text`, the first being line `first`; returns
/// the number of the line the text ends on (the next one when it ends with
/// a line break).
fn lines(text: &[u8], first: u64, out: &mut Emitter<'_>) -> u64 {
    let mut number = first;
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        number = first + index as u64;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(|&b| is_space(b)) {
            continue;
        }
        if parse(line, number, None).is_ok() {
            let _ = parse(line, number, Some(&mut *out));
        } else {
            out.sink.unit(&Unit {
                text: line,
                place: Place {
                    line: Some(number),
                    col: 1,
                    ..Place::default()
                },
            });
        }
    }
    number
}

/// A syntax error at a byte offset (kept for debugging; callers only need
/// to know that there was one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SyntaxError(#[allow(dead_code)] usize);

/// What the parser expects next (after whitespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Between top-level values: a value, or the end of the text.
    Top,
    /// A value (after `:` or after `,` in an array).
    Value,
    /// A value or `]` (after `[`).
    ValueOrClose,
    /// A key (after `,` in an object).
    Key,
    /// A key or `}` (after `{`).
    KeyOrClose,
    /// The `:` after a key.
    Colon,
    /// `,` or the close of the innermost container (after a value in it).
    CommaOrClose,
}

/// Stack entry of an open array.
const ARRAY: u8 = b'[';
/// Stack entry of an open object.
const OBJECT: u8 = b'{';

/// JSON whitespace.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// What follows a complete value in a container, or at the top level.
fn after_value(stack: &[u8]) -> Expect {
    if stack.is_empty() {
        Expect::Top
    } else {
        Expect::CommaOrClose
    }
}

/// Parses `text` (whose first line is line `first_line` of the file). With
/// `emit`, sends units to it; without, only checks the syntax. Never
/// recurses and never panics; the first syntax error ends the parse.
fn parse(
    text: &[u8],
    first_line: u64,
    mut emit: Option<&mut Emitter<'_>>,
) -> Result<(), SyntaxError> {
    let mut stack: Vec<u8> = Vec::new();
    let mut at = Locator::new(text, first_line, 1);
    if let Some(out) = emit.as_deref_mut() {
        out.reset();
    }
    let mut expect = Expect::Top;
    let mut i = 0;
    loop {
        while text.get(i).is_some_and(|&b| is_space(b)) {
            i += 1;
        }
        let Some(&c) = text.get(i) else {
            return if expect == Expect::Top {
                Ok(())
            } else {
                Err(SyntaxError(i))
            };
        };
        expect = match (expect, c) {
            (Expect::Colon, b':') => {
                i += 1;
                Expect::Value
            }
            (Expect::CommaOrClose, b',') => {
                i += 1;
                if stack.last() == Some(&OBJECT) {
                    Expect::Key
                } else {
                    Expect::Value
                }
            }
            (Expect::CommaOrClose | Expect::ValueOrClose, b']') if stack.last() == Some(&ARRAY) => {
                stack.pop();
                i += 1;
                after_value(&stack)
            }
            (Expect::CommaOrClose | Expect::KeyOrClose, b'}') if stack.last() == Some(&OBJECT) => {
                stack.pop();
                if let Some(out) = emit.as_deref_mut() {
                    out.close_object();
                }
                i += 1;
                after_value(&stack)
            }
            (Expect::Key | Expect::KeyOrClose, b'"') => {
                let (start, close, escaped) = string(text, i)?;
                if let Some(out) = emit.as_deref_mut() {
                    out.key(&text[start..close], escaped, at.locate(start));
                }
                i = close + 1;
                Expect::Colon
            }
            (Expect::Top | Expect::Value | Expect::ValueOrClose, _) => match c {
                b'{' => {
                    stack.push(OBJECT);
                    if let Some(out) = emit.as_deref_mut() {
                        out.open_object();
                    }
                    i += 1;
                    Expect::KeyOrClose
                }
                b'[' => {
                    stack.push(ARRAY);
                    i += 1;
                    Expect::ValueOrClose
                }
                b'"' => {
                    let (start, close, escaped) = string(text, i)?;
                    if let Some(out) = emit.as_deref_mut() {
                        out.value(&text[start..close], escaped, at.locate(start));
                    }
                    i = close + 1;
                    after_value(&stack)
                }
                b'-' | b'0'..=b'9' => {
                    let end = number(text, i)?;
                    delimited(text, end)?;
                    if let Some(out) = emit.as_deref_mut() {
                        out.value(&text[i..end], false, at.locate(i));
                    }
                    i = end;
                    after_value(&stack)
                }
                b't' | b'f' | b'n' => {
                    let word: &[u8] = match c {
                        b't' => b"true",
                        b'f' => b"false",
                        _ => b"null",
                    };
                    if !text[i..].starts_with(word) {
                        return Err(SyntaxError(i));
                    }
                    i += word.len();
                    delimited(text, i)?;
                    after_value(&stack)
                }
                _ => return Err(SyntaxError(i)),
            },
            _ => return Err(SyntaxError(i)),
        };
    }
}

/// Finds the end of the string whose opening quote is at `quote`. Returns
/// the offsets of its first byte and of its closing quote, and whether it
/// holds a backslash. A backslash always takes the next byte with it.
fn string(text: &[u8], quote: usize) -> Result<(usize, usize, bool), SyntaxError> {
    let start = quote + 1;
    let mut i = start;
    let mut escaped = false;
    loop {
        let rest = text.get(i..).unwrap_or_default();
        let Some(k) = memchr2(b'"', b'\\', rest) else {
            return Err(SyntaxError(quote));
        };
        let j = i + k;
        if text[j] == b'"' {
            return Ok((start, j, escaped));
        }
        escaped = true;
        i = j + 2;
    }
}

/// Checks the number at `i` against the JSON grammar and returns where it
/// ends: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn number(text: &[u8], i: usize) -> Result<usize, SyntaxError> {
    let digits = |mut j: usize| {
        while text.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        j
    };
    let mut j = i;
    if text.get(j) == Some(&b'-') {
        j += 1;
    }
    match text.get(j) {
        Some(b'0') => j += 1,
        Some(b'1'..=b'9') => j = digits(j + 1),
        _ => return Err(SyntaxError(j)),
    }
    if text.get(j) == Some(&b'.') {
        let end = digits(j + 1);
        if end == j + 1 {
            return Err(SyntaxError(end));
        }
        j = end;
    }
    if matches!(text.get(j), Some(b'e' | b'E')) {
        j += 1;
        if matches!(text.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let end = digits(j);
        if end == j {
            return Err(SyntaxError(end));
        }
        j = end;
    }
    Ok(j)
}

/// A number or literal must not run into the next token (`123abc`,
/// `truex`, `0123`).
fn delimited(text: &[u8], end: usize) -> Result<(), SyntaxError> {
    match text.get(end) {
        None | Some(b',' | b']' | b'}') => Ok(()),
        Some(&b) if is_space(b) => Ok(()),
        Some(_) => Err(SyntaxError(end)),
    }
}

/// Resolves the escapes of a string's raw bytes into `out`. Invalid escapes
/// are kept as written.
fn unescape(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(k) = memchr(b'\\', &raw[i..]) {
        let j = i + k;
        out.extend_from_slice(&raw[i..j]);
        let simple = match raw.get(j + 1) {
            Some(b'"') => Some(b'"'),
            Some(b'\\') => Some(b'\\'),
            Some(b'/') => Some(b'/'),
            Some(b'b') => Some(0x08),
            Some(b'f') => Some(0x0c),
            Some(b'n') => Some(b'\n'),
            Some(b'r') => Some(b'\r'),
            Some(b't') => Some(b'\t'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            i = j + 2;
            continue;
        }
        if let Some((ch, len)) = unicode_escape(&raw[j..]) {
            let mut buf = [0; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            i = j + len;
            continue;
        }
        // Invalid: the backslash and the byte it takes stay as they are.
        let end = (j + 2).min(raw.len());
        out.extend_from_slice(&raw[j..end]);
        i = end;
    }
    out.extend_from_slice(&raw[i..]);
}

/// Four hex digits at the start of `b`.
fn hex4(b: &[u8]) -> Option<u32> {
    b.get(..4)?
        .iter()
        .try_fold(0, |acc, &d| Some(acc << 4 | char::from(d).to_digit(16)?))
}

/// The character of a `\uXXXX` escape (or a `\uD8xx\uDCxx` surrogate pair)
/// at the start of `s`, and the escape's length in bytes. `None` for
/// anything else, including a lone surrogate.
fn unicode_escape(s: &[u8]) -> Option<(char, usize)> {
    if !s.starts_with(b"\\u") {
        return None;
    }
    let high = hex4(&s[2..])?;
    match high {
        0xD800..=0xDBFF => {
            if s.get(6..8)? != b"\\u" {
                return None;
            }
            let low = hex4(&s[8..])?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                return None;
            }
            let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
            char::from_u32(code).map(|c| (c, 12))
        }
        0xDC00..=0xDFFF => None,
        _ => char::from_u32(high).map(|c| (c, 6)),
    }
}

/// Whether a key holds data (a phone number, an ID, an email) rather than
/// a name.
fn is_data_key(key: &[u8]) -> bool {
    key.contains(&b'@') || key.iter().filter(|b| b.is_ascii_digit()).count() >= DATA_KEY_DIGITS
}

/// The field reported for a key path: the path itself, or its last
/// [`MAX_FIELD`] bytes, starting at a key where possible.
fn field_tail(path: &str) -> &str {
    if path.len() <= MAX_FIELD {
        return path;
    }
    let mut start = path.len() - MAX_FIELD;
    while !path.is_char_boundary(start) {
        start += 1;
    }
    if let Some(dot) = path[start..].find('.') {
        if start + dot + 1 < path.len() {
            start += dot + 1;
        }
    }
    &path[start..]
}

/// Turns parse events into units: keeps the key path and a scratch buffer
/// for decoded strings.
struct Emitter<'s> {
    sink: &'s mut dyn Sink,
    /// Keys of the open objects joined with `.`; the innermost object's
    /// current key last.
    path: String,
    /// For each open object, the length of `path` when it opened.
    objects: Vec<usize>,
    /// Decoded text of the string at hand, when it has escapes.
    scratch: Vec<u8>,
}

impl<'s> Emitter<'s> {
    fn new(sink: &'s mut dyn Sink) -> Self {
        Emitter {
            sink,
            path: String::new(),
            objects: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Forgets the path of a previous document.
    fn reset(&mut self) {
        self.path.clear();
        self.objects.clear();
    }

    fn open_object(&mut self) {
        self.objects.push(self.path.len());
    }

    fn close_object(&mut self) {
        if let Some(base) = self.objects.pop() {
            self.path.truncate(base);
        }
    }

    /// A key of the innermost object: a unit of its own (no field), and the
    /// last element of the key path.
    fn key(&mut self, raw: &[u8], escaped: bool, (line, col): (u64, u64)) {
        let key: &[u8] = if escaped {
            self.scratch.clear();
            unescape(raw, &mut self.scratch);
            &self.scratch
        } else {
            raw
        };
        if !key.is_empty() {
            self.sink.unit(&Unit {
                text: key,
                place: Place {
                    line: Some(line),
                    col,
                    ..Place::default()
                },
            });
        }
        let base = self.objects.last().copied().unwrap_or(0);
        self.path.truncate(base);
        if self.objects.len() > 1 {
            self.path.push('.');
        }
        if is_data_key(key) {
            self.path.push('*');
        } else {
            self.path.push_str(&String::from_utf8_lossy(key));
        }
    }

    /// A string (raw bytes between the quotes) or number value.
    fn value(&mut self, raw: &[u8], escaped: bool, (line, col): (u64, u64)) {
        let text: &[u8] = if escaped {
            self.scratch.clear();
            unescape(raw, &mut self.scratch);
            &self.scratch
        } else {
            raw
        };
        let field = (!self.objects.is_empty()).then(|| field_tail(&self.path));
        self.sink.unit(&Unit {
            text,
            place: Place {
                line: Some(line),
                col,
                field,
                ..Place::default()
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// Read in chunks of any size, JSON lines give the units (texts,
        /// fields, lines, columns) they give read whole.
        #[test]
        fn line_chunks_give_what_the_whole_gives(
            lines in proptest::collection::vec(
                proptest::sample::select(vec![
                    "{\"phone\":\"13812345678\",\"n\":1}\n",
                    "{\"姓名\":\"张三\",\"id\":\"11010519491231002X\"}\r\n",
                    "not json 13812345678\n",
                    "\n",
                    "[1,2,{\"a\":\"b\"}]\n",
                    "{\"unterminated\":",
                ]),
                0..40,
            ),
            chunk in 1usize..200,
            utf16 in proptest::bool::ANY,
        ) {
            let text = lines.concat();
            let data: Vec<u8> = if utf16 {
                [0xff, 0xfe].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect()
            } else {
                text.into_bytes()
            };
            let mut whole = crate::extract::testing::Recorder::default();
            extract_lines(&data, &mut whole);
            let mut streamed = crate::extract::testing::Recorder::default();
            read_lines(&mut &data[..], chunk, &mut streamed).unwrap();
            proptest::prop_assert_eq!(streamed.units, whole.units);
            proptest::prop_assert_eq!(streamed.encodings, whole.encodings);
        }
    }
    use crate::extract::testing::{Recorded, Recorder};
    use crate::synth::{self, Rng};

    fn document(text: &str) -> Recorder {
        let mut rec = Recorder::default();
        extract_document(text.as_bytes(), &mut rec);
        rec
    }

    fn lines(text: &str) -> Recorder {
        let mut rec = Recorder::default();
        extract_lines(text.as_bytes(), &mut rec);
        rec
    }

    /// The units that have a field, as (field, text).
    fn values(rec: &Recorder) -> Vec<(Option<&str>, &str)> {
        rec.units
            .iter()
            .map(|u| (u.field.as_deref(), u.text.as_str()))
            .collect()
    }

    /// The one unit whose text is exactly `text`.
    fn unit<'r>(rec: &'r Recorder, text: &str) -> &'r Recorded {
        let found: Vec<_> = rec.units.iter().filter(|u| u.text == text).collect();
        assert_eq!(found.len(), 1, "{text:?} in {:#?}", rec.units);
        found[0]
    }

    #[test]
    fn nested_objects_have_key_paths() {
        let mut rng = Rng::new(1);
        let phone = synth::mobile(&mut rng);
        let id = synth::resident_id(&mut rng);
        let text = format!(
            r#"{{"user":{{"contact":{{"phone":"{phone}","email":"a@b.cn"}},"id_no":"{id}"}},"n":"x"}}"#
        );
        let rec = document(&text);
        assert_eq!(rec.encodings, vec!["UTF-8"]);
        assert_eq!(
            values(&rec),
            vec![
                (None, "user"),
                (None, "contact"),
                (None, "phone"),
                (Some("user.contact.phone"), phone.as_str()),
                (None, "email"),
                (Some("user.contact.email"), "a@b.cn"),
                (None, "id_no"),
                (Some("user.id_no"), id.as_str()),
                (None, "n"),
                (Some("n"), "x"),
            ]
        );
    }

    #[test]
    fn arrays_add_no_index() {
        let mut rng = Rng::new(2);
        let (a, b) = (synth::resident_id(&mut rng), synth::resident_id(&mut rng));
        let card = synth::bank_card(&mut rng);
        let text = format!(
            r#"{{"users":[{{"id_no":"{a}"}},{{"id_no":"{b}","cards":[["{card}"]]}}],"tags":[]}}"#
        );
        let rec = document(&text);
        assert_eq!(unit(&rec, &a).field.as_deref(), Some("users.id_no"));
        assert_eq!(unit(&rec, &b).field.as_deref(), Some("users.id_no"));
        assert_eq!(unit(&rec, &card).field.as_deref(), Some("users.cards"));
    }

    #[test]
    fn values_outside_objects_have_no_field() {
        let rec = document(r#"["a", 13812345678, {"k": "v"}, "b"]"#);
        assert_eq!(
            values(&rec),
            vec![
                (None, "a"),
                (None, "13812345678"),
                (None, "k"),
                (Some("k"), "v"),
                (None, "b"),
            ]
        );
        assert_eq!(values(&document(r#""top""#)), vec![(None, "top")]);
        assert_eq!(values(&document("42")), vec![(None, "42")]);
        // An empty key is a key: its value has a field, the empty path.
        let rec = document(r#"{"": {"a": "x"}, "": "y"}"#);
        assert_eq!(
            values(&rec),
            vec![(None, "a"), (Some(".a"), "x"), (Some(""), "y")]
        );
    }

    #[test]
    fn numbers_are_units_and_literals_are_not() {
        let mut rng = Rng::new(3);
        let phone = synth::mobile(&mut rng);
        let text = format!(
            r#"{{"phone": {phone}, "amount": -1.5e+3, "zero": 0, "ok": true, "no": false, "none": null}}"#
        );
        let rec = document(&text);
        assert_eq!(
            values(&rec),
            vec![
                (None, "phone"),
                (Some("phone"), phone.as_str()),
                (None, "amount"),
                (Some("amount"), "-1.5e+3"),
                (None, "zero"),
                (Some("zero"), "0"),
                (None, "ok"),
                (None, "no"),
                (None, "none"),
            ]
        );
    }

    #[test]
    fn escapes_are_decoded() {
        let mut rng = Rng::new(4);
        let id = synth::resident_id(&mut rng);
        let text = format!(
            r#"{{"\u8EAB\u4EFD\u8bc1": "\u8EAB\u4EFD {id}", "e": "a\nb\t\"q\" \\ \/ \ud83d\ude00 \u00e9"}}"#
        );
        let rec = document(&text);
        assert_eq!(
            values(&rec),
            vec![
                (None, "身份证"),
                (Some("身份证"), format!("身份 {id}").as_str()),
                (None, "e"),
                (Some("e"), "a\nb\t\"q\" \\ / 😀 é"),
            ]
        );
    }

    #[test]
    fn invalid_escapes_are_kept() {
        let rec = document(r#"["\q", "\uD800x", "\uDC00", "\uD83D\u0041", "\u12G4", "\u"]"#);
        assert_eq!(
            values(&rec),
            vec![
                (None, r"\q"),
                (None, r"\uD800x"),
                (None, r"\uDC00"),
                (None, r"\uD83DA"),
                (None, r"\u12G4"),
                (None, r"\u"),
            ]
        );
    }

    #[test]
    fn positions_in_a_pretty_printed_document() {
        let mut rng = Rng::new(5);
        let phone = synth::mobile(&mut rng);
        let id = synth::resident_id(&mut rng);
        let text = format!(
            "{{\n  \"姓名\": \"张三\",\n  \"contact\": {{\n    \"phone\": {phone},\n    \
             \"身份证号\": \"{id}\"\n  }},\n  \"list\": [\n    \"a\",\n\n    7\n  ]\n}}\n"
        );
        let rec = document(&text);
        let at = |t: &str| {
            let u = unit(&rec, t);
            (u.line, u.col)
        };
        assert_eq!(at("姓名"), (Some(2), 4));
        assert_eq!(at("张三"), (Some(2), 10));
        assert_eq!(at("contact"), (Some(3), 4));
        assert_eq!(at("phone"), (Some(4), 6));
        assert_eq!(at(&phone), (Some(4), 14));
        assert_eq!(at("身份证号"), (Some(5), 6));
        assert_eq!(at(&id), (Some(5), 14));
        assert_eq!(at("a"), (Some(8), 6));
        assert_eq!(at("7"), (Some(10), 5));
        assert_eq!(unit(&rec, &id).field.as_deref(), Some("contact.身份证号"));
    }

    #[test]
    fn positions_with_crlf_and_bom() {
        let text = "\u{feff}{\r\n\"a\": \"x\",\r\n  \"b\": 12\r\n}";
        let rec = document(text);
        assert_eq!(rec.encodings, vec!["UTF-8"]);
        assert_eq!((unit(&rec, "x").line, unit(&rec, "x").col), (Some(2), 7));
        assert_eq!((unit(&rec, "12").line, unit(&rec, "12").col), (Some(3), 8));
    }

    #[test]
    fn findings_point_at_the_value() {
        use crate::detect::{Confidence, Kind};
        use crate::scan::{scan_buffer, ScanOptions};
        let mut rng = Rng::new(6);
        let phone = synth::mobile(&mut rng);
        let text = format!("{{\n  \"user\": {{\n    \"mobile\": \"tel: {phone}\"\n  }}\n}}\n");
        let opts = ScanOptions {
            show_values: true,
            min_confidence: Confidence::Medium,
            ..ScanOptions::default()
        };
        let report = scan_buffer(text.as_bytes(), "x.json".into(), &opts);
        let found: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.kind == Kind::Mobile)
            .collect();
        assert_eq!(found.len(), 1, "{:#?}", report.findings);
        assert_eq!((found[0].line, found[0].col), (Some(3), Some(21)));
        assert_eq!(found[0].field.as_deref(), Some("user.mobile"));
        assert_eq!(found[0].shown, phone);
    }

    #[test]
    fn data_keys_are_scanned_and_kept_out_of_the_path() {
        let mut rng = Rng::new(7);
        let (p1, p2) = (synth::mobile(&mut rng), synth::mobile(&mut rng));
        let text = format!(
            r#"{{"by_phone": {{"{p1}": {{"name": "张三"}}, "{p2}": {{"name": "李四"}}}}, "a@b.cn": 1, "line2": "x"}}"#
        );
        let rec = document(&text);
        assert_eq!(unit(&rec, &p1).field, None);
        assert_eq!(unit(&rec, &p2).field, None);
        assert_eq!(unit(&rec, "张三").field.as_deref(), Some("by_phone.*.name"));
        assert_eq!(unit(&rec, "李四").field.as_deref(), Some("by_phone.*.name"));
        assert_eq!(unit(&rec, "a@b.cn").field, None);
        assert_eq!(unit(&rec, "1").field.as_deref(), Some("*"));
        assert_eq!(unit(&rec, "x").field.as_deref(), Some("line2"));
        assert!(rec.units.iter().all(|u| {
            let f = u.field.as_deref().unwrap_or("");
            !f.contains(&p1) && !f.contains(&p2)
        }));
    }

    #[test]
    fn concatenated_documents_are_accepted() {
        let rec = document("{\"a\": \"x\"}\n{\"b\": 2} [\"c\"]\n");
        assert_eq!(
            values(&rec),
            vec![
                (None, "a"),
                (Some("a"), "x"),
                (None, "b"),
                (Some("b"), "2"),
                (None, "c")
            ]
        );
        assert_eq!(unit(&rec, "b").line, Some(2));
    }

    #[test]
    fn invalid_document_falls_back_to_text_once() {
        let mut rng = Rng::new(8);
        let phone = synth::mobile(&mut rng);
        for text in [
            format!("{{\"a\": \"{phone}\", }}"),
            format!("{{\"a\": \"{phone}\""),
            format!("[\"{phone}\"] ]"),
            format!("{{\"a\": 0{phone}}}"),
            format!("{{\"a\": {phone}x}}"),
            format!("{{'a': '{phone}'}}"),
            format!("// comment\n{{\"a\": \"{phone}\"}}"),
            format!("{{\"a\" \"{phone}\"}}"),
            format!("[\"{phone}\", tru]"),
            format!("[1.]\n{phone}"),
            format!("[\"{phone}\"}}"),
        ] {
            let rec = document(&text);
            assert_eq!(rec.units.len(), 1, "{text}: {:#?}", rec.units);
            let u = &rec.units[0];
            assert_eq!(u.text, text);
            assert_eq!((u.line, u.col, u.field.as_deref()), (Some(1), 1, None));
        }
    }

    #[test]
    fn empty_document_sends_nothing() {
        assert!(document("").units.is_empty());
        assert!(document(" \n\t ").units.is_empty());
        assert!(document("{}").units.is_empty());
    }

    #[test]
    fn gbk_json_is_decoded() {
        let (gbk, _, _) =
            encoding_rs::GB18030.encode("{\"姓名\": \"张三\", \"电话\": \"13812345678\"}");
        let mut rec = Recorder::default();
        extract_document(&gbk, &mut rec);
        assert_eq!(rec.encodings, vec!["GB18030"]);
        let u = unit(&rec, "13812345678");
        assert_eq!(u.field.as_deref(), Some("电话"));
        assert_eq!(u.col, 21);
    }

    #[test]
    fn json_lines_with_an_invalid_line() {
        let mut rng = Rng::new(9);
        let (a, b, c) = (
            synth::mobile(&mut rng),
            synth::resident_id(&mut rng),
            synth::bank_card(&mut rng),
        );
        let text = format!(
            "{{\"phone\": \"{a}\"}}\n\n   \r\n{{\"id\": \"{b}\", broken\r\n{{\"card\": {c}, \"x\": {{\"y\": 1}}}}\r\n"
        );
        let rec = lines(&text);
        assert_eq!(rec.encodings, vec!["UTF-8"]);
        let phone = unit(&rec, &a);
        assert_eq!(phone.field.as_deref(), Some("phone"));
        assert_eq!((phone.line, phone.col), (Some(1), 12));
        let broken = &rec.containing(&b);
        assert_eq!(broken.len(), 1);
        assert_eq!(broken[0].text, format!("{{\"id\": \"{b}\", broken"));
        assert_eq!((broken[0].line, broken[0].col), (Some(4), 1));
        assert_eq!(broken[0].field, None);
        let card = unit(&rec, &c);
        assert_eq!(card.field.as_deref(), Some("card"));
        assert_eq!((card.line, card.col), (Some(5), 10));
        // A valid line after one that left its path does not inherit it.
        assert_eq!(unit(&rec, "1").field.as_deref(), Some("x.y"));
        assert_eq!(rec.units.len(), 8);
    }

    #[test]
    fn json_lines_keys_reset_per_line() {
        let rec = lines("{\"a\": {\"b\": \"x\"\n{\"c\": \"y\"}");
        assert_eq!(unit(&rec, "y").field.as_deref(), Some("c"));
        assert_eq!(unit(&rec, "{\"a\": {\"b\": \"x\"").line, Some(1));
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        const DEPTH: usize = 100_000;
        let arrays = format!("{}\"deep\"{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
        assert_eq!(values(&document(&arrays)), vec![(None, "deep")]);

        let objects = format!("{}\"deep\"{}", "{\"k\":".repeat(DEPTH), "}".repeat(DEPTH));
        let rec = document(&objects);
        assert_eq!(rec.units.len(), DEPTH + 1);
        let deep = unit(&rec, "deep");
        let field = deep.field.as_deref().unwrap_or_default();
        assert!(
            field.len() <= MAX_FIELD && field.ends_with("k.k.k"),
            "{field}"
        );
        assert!(field.starts_with('k'));

        let mixed = format!("{}1{}", "[{\"k\":".repeat(DEPTH), "}]".repeat(DEPTH));
        assert_eq!(document(&mixed).units.len(), DEPTH + 1);

        // Unclosed and mismatched: plain text, no panic.
        for text in [
            "[".repeat(DEPTH),
            "{\"k\":".repeat(DEPTH),
            format!("{}{}", "[".repeat(DEPTH), "}".repeat(DEPTH)),
        ] {
            let rec = document(&text);
            assert_eq!(rec.units.len(), 1);
            assert_eq!(rec.units[0].field, None);
            let rec = lines(&text);
            assert_eq!(rec.units.len(), 1);
        }
    }

    #[test]
    fn long_paths_are_cut_at_a_key() {
        let key = "abcdefghij";
        let mut path = String::from(key);
        for _ in 0..100 {
            path.push('.');
            path.push_str(key);
        }
        let tail = field_tail(&path);
        assert!(tail.len() <= MAX_FIELD);
        assert!(tail.starts_with(key) && tail.ends_with(key));
        let cjk = "身".repeat(200);
        let tail = field_tail(&cjk);
        assert!(tail.len() <= MAX_FIELD && !tail.is_empty());
    }

    /// Number of lines of the decoded text.
    fn line_count(data: &[u8]) -> u64 {
        let (text, _) = crate::extract::text::decode(data);
        memchr::memchr_iter(b'\n', &text).count() as u64 + 1
    }

    fn check_units(data: &[u8]) {
        let max = line_count(data);
        for extract in [extract_document, extract_lines] {
            let mut rec = Recorder::default();
            extract(data, &mut rec);
            assert_eq!(rec.encodings.len(), 1);
            for u in &rec.units {
                let line = u.line.unwrap_or(0);
                assert!((1..=max).contains(&line), "line {line} of {max}: {u:?}");
                assert!(u.col >= 1);
            }
        }
    }

    /// JSON-ish fragments, valid and not.
    const PIECES: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"",
        "\"k\"",
        "\"v\"",
        "\\",
        "\\u",
        "\\uD83D",
        "\\uDE00",
        "\\n",
        "1",
        "-",
        "0",
        ".",
        "e",
        "13812345678",
        "true",
        "nul",
        " ",
        "\n",
        "\r\n",
        "身",
        "\u{0}",
        "\u{feff}",
        "@",
        "12345",
    ];

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let key = prop::sample::select(vec!["a", "b.c", "身份", "q\"\\", "e\n", "", "😀"]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            "[a-z0-9 身份\"\\\\/\n\t\u{1}\u{1F600}]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..6).prop_map(|entries| {
                    Value::Object(
                        entries
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect(),
                    )
                }),
            ]
        })
    }

    /// What extraction should send for `value`: (field, text) in order.
    fn expected(
        value: &serde_json::Value,
        path: Option<&str>,
        out: &mut Vec<(Option<String>, String)>,
    ) {
        use serde_json::Value;
        match value {
            Value::String(s) => out.push((path.map(str::to_string), s.clone())),
            Value::Number(n) => out.push((path.map(str::to_string), n.to_string())),
            Value::Array(items) => items.iter().for_each(|v| expected(v, path, out)),
            Value::Object(map) => {
                for (k, v) in map {
                    if !k.is_empty() {
                        out.push((None, k.clone()));
                    }
                    let sub = match path {
                        Some(p) => format!("{p}.{k}"),
                        None => k.clone(),
                    };
                    expected(v, Some(&sub), out);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..256)) {
            check_units(&data);
        }

        #[test]
        fn json_ish_input_never_panics(
            pieces in prop::collection::vec(prop::sample::select(PIECES), 0..80),
        ) {
            check_units(pieces.concat().as_bytes());
        }

        #[test]
        fn mutated_json_never_panics(
            value in json_value(),
            pretty in any::<bool>(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 0..4),
        ) {
            let mut data = if pretty {
                serde_json::to_vec_pretty(&value).unwrap()
            } else {
                serde_json::to_vec(&value).unwrap()
            };
            for (at, byte, op) in edits {
                let i = at.index(data.len() + 1);
                match op {
                    0 => data.insert(i, byte),
                    1 if i < data.len() => { data.remove(i); }
                    _ => data.truncate(i),
                }
            }
            check_units(&data);
        }

        #[test]
        fn valid_json_matches_serde(value in json_value(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&value).unwrap()
            } else {
                serde_json::to_string(&value).unwrap()
            };
            let rec = document(&text);
            let mut want = Vec::new();
            expected(&value, None, &mut want);
            let got: Vec<_> = rec.units.iter().map(|u| (u.field.clone(), u.text.clone())).collect();
            prop_assert_eq!(got, want);
            // Every unit starts where its place says, when written unescaped.
            let source: Vec<&str> = text.split('\n').collect();
            for u in &rec.units {
                let line = source[u.line.unwrap() as usize - 1];
                let rest: String = line.chars().skip(u.col as usize - 1).collect();
                if !u.text.contains(['"', '\\', '/', '\n', '\t', '\u{1}']) {
                    prop_assert!(rest.starts_with(&u.text), "{:?} at {:?}", u, rest);
                }
            }
        }
    }
}
