//! CSV and TSV: every field is a unit, under the name of its column.
//!
//! # Steps
//!
//! 1. **Decode** the bytes with [`super::text::decode`] (BOM, UTF-16,
//!    GB18030/GBK) and report the encoding.
//! 2. **Sniff the delimiter** among `,` tab `;` `|` on a sample (the first
//!    20 non-blank records within the first MiB), splitting with each
//!    candidate and respecting quotes. A candidate is *consistent* when its
//!    most common field count is above 1 and at most a tenth of the sampled
//!    records have another count (a sample of fewer than ten records must
//!    agree completely). A `.tsv` file takes tab whenever tab is consistent;
//!    otherwise the consistent candidate with the fewest outliers wins, then
//!    the one giving more fields, then the first in the order `,` tab `;`
//!    `|`. When no candidate is consistent (prose, a one-column list, an
//!    empty file) the whole text goes out as one line-numbered unit, exactly
//!    like plain text.
//! 3. **Decide the header**: the first non-blank record is a header when it
//!    has at least two fields and every field, trimmed, is non-empty, valid
//!    UTF-8, at most 64 characters, without `@` and without a run of more
//!    than 4 ASCII digits, and more than half of them contain an alphabetic
//!    character (CJK included). Those are the spreadsheet extractor's rules,
//!    relaxed from "every cell is text" to "mostly text"
//!    (`姓名,2023,2024,备注` is a header). A record holding an ID, a phone, a
//!    card or an email address can never become a header, which matters
//!    because field names are printed unmasked.
//! 4. **Emit** every field that is not empty or all whitespace as one
//!    [`Unit`], in file order. Header cells are units without `field`; values
//!    below the header get the trimmed header text of their column as
//!    `field`, or none beyond the header's last column (ragged rows are
//!    fine). Without a header, no value has a field.
//!
//! # Splitting
//!
//! The splitter is a small hand-written RFC 4180 reader rather than the
//! `csv` crate, because the crate reports a position per record only, and a
//! finding needs the line and column of the field it is in. It works on the
//! decoded bytes, field by field, with `memchr`: an unquoted field runs to
//! the next delimiter or line end; a quoted field (one whose *first* byte is
//! `"`) runs to the next lone `"`, with `""` standing for one quote and
//! delimiters and line breaks inside taken literally. It is lenient and
//! never fails:
//!
//! * records end at `\n`, `\r\n` or a lone `\r`;
//! * a `"` inside an unquoted field is an ordinary character (`12"` screen);
//! * text after a closing quote belongs to the field (`"ab"cd` is `abcd`);
//! * a quote that is never closed makes the rest of the text one field;
//! * records may have any number of fields.
//!
//! # Positions
//!
//! `place.line` and `place.col` are the line and column (1-based, counted
//! in characters of the decoded text, like plain text) of the value's first
//! character: for a quoted field, the character after the opening quote.
//! Lines are counted by `\n` only, as in plain text, so a file with
//! old-Mac `\r` line ends is one long line there too. A forward-only
//! locator counts newlines and characters between consecutive fields, so
//! every byte is counted once, and a quoted field with line breaks inside
//! moves everything after it down correctly.
//!
//! The scanner locates findings inside a unit from their byte offsets in the
//! unit's text. A value is therefore handed over **as it stands in the
//! file** (borrowed, no copy) whenever that is its decoded value: unquoted
//! fields, and quoted fields without `""` and without text after the closing
//! quote. Line breaks inside such a value are real, so the scanner's line
//! count continues through it exactly. Only a quoted field with `""` escapes
//! (or text after its closing quote) is decoded into a scratch buffer; there
//! each `""` becomes one character, so a finding after it *on the same line
//! of the field* gets a column one less per escape. Lines are never off: the
//! decoding keeps every line break.
//!
//! # Cost
//!
//! Linear in the decoded text: the splitter jumps from delimiter to
//! delimiter with `memchr`, and the locator counts the bytes between field
//! starts once; the sniffing sample is bounded, and the header pass reads
//! only the first record (giving up at its first cell that cannot be a
//! name, or one longer than a few hundred bytes). No allocation per field:
//! values are borrowed, escaped ones share one reused buffer; the header
//! names are the only strings made. Memory is the decoded text (borrowed for
//! UTF-8 input) and that buffer.

use std::io::{self, Read};

use memchr::{memchr, memchr3};

use super::text::{LineChunks, Locator};
use super::{Place, Sink, Unit};

/// Delimiter candidates, in order of preference on a tie.
const CANDIDATES: [u8; 4] = [b',', b'\t', b';', b'|'];
/// Non-blank records sampled to sniff the delimiter.
const SNIFF_RECORDS: usize = 20;
/// Bytes of the text the delimiter sample may span.
const SNIFF_BYTES: usize = 1 << 20;
/// Longest header text, in characters.
const MAX_HEADER_CHARS: usize = 64;
/// Bytes of a field beyond which it is not a header cell (checked before
/// decoding it): room for [`MAX_HEADER_CHARS`] characters and padding.
const MAX_HEADER_BYTES: usize = 4 * MAX_HEADER_CHARS + 64;
/// Longest run of ASCII digits in a header text (a year is fine; an ID, a
/// phone or a card number is not).
const MAX_HEADER_DIGIT_RUN: usize = 4;

/// Extracts delimited text (`.csv`, `.tsv`; `name` gives the extension)
/// into `sink`: one unit per non-blank field, with its line, column and
/// header name, as the module documentation describes. Text in which no
/// delimiter is consistent goes out as one plain-text unit. Never panics on
/// any input.
pub fn extract(name: &str, data: &[u8], sink: &mut dyn Sink) {
    let (text, encoding) = super::text::decode(data);
    sink.encoding(encoding);
    match sniff_delimiter(&text, is_tsv(name), false) {
        Some(delim) => emit(&text, delim, sink),
        None => sink.unit(&Unit {
            text: &text,
            place: Place::lines(),
        }),
    }
}

/// Whether the base name of `name` (the last part after `/`, `\` or an
/// archive's `!`) ends in `.tsv`, in any case.
fn is_tsv(name: &str) -> bool {
    let base = name.rsplit(['/', '\\', '!']).next().unwrap_or(name);
    base.rsplit_once('.')
        .is_some_and(|(_, ext)| ext.eq_ignore_ascii_case("tsv"))
}

/// One field, as byte offsets into the text.
#[derive(Debug, Clone, Copy)]
struct Field {
    /// First byte of the value (after the opening quote of a quoted field).
    start: usize,
    /// End of the quoted content: the closing quote, or the end of the text
    /// when the quote is never closed. Equal to `end` for unquoted fields.
    close: usize,
    /// End of the field: where its delimiter or line end starts.
    end: usize,
    /// Whether the field started with a quote.
    quoted: bool,
    /// Whether the value differs from `text[start..close]`: `""` escapes,
    /// or text between the closing quote and `end`.
    decode: bool,
    /// Whether the field ends its record.
    last: bool,
}

/// Splits text into fields (see the module doc for the rules).
struct Splitter<'t> {
    text: &'t [u8],
    delim: u8,
    /// Where the next field starts.
    pos: usize,
    /// Whether `pos` starts a record: at the end of the text that means
    /// there are no more fields, while after a delimiter it means one more
    /// (empty) field.
    record_start: bool,
}

impl<'t> Splitter<'t> {
    fn new(text: &'t [u8], delim: u8) -> Self {
        Splitter {
            text,
            delim,
            pos: 0,
            record_start: true,
        }
    }

    /// Where a field starting its unquoted part at `from` ends.
    fn field_end(&self, from: usize) -> usize {
        let rest = self.text.get(from..).unwrap_or_default();
        memchr3(self.delim, b'\n', b'\r', rest).map_or(self.text.len(), |k| from + k)
    }
}

impl Iterator for Splitter<'_> {
    type Item = Field;

    fn next(&mut self) -> Option<Field> {
        let text = self.text;
        let len = text.len();
        if self.record_start && self.pos >= len {
            return None;
        }
        let begin = self.pos.min(len);
        let mut field = if text.get(begin) == Some(&b'"') {
            let start = begin + 1;
            let mut from = start;
            let mut escaped = false;
            let close = loop {
                match memchr(b'"', text.get(from..).unwrap_or_default()) {
                    None => break len,
                    Some(k) if text.get(from + k + 1) == Some(&b'"') => {
                        escaped = true;
                        from += k + 2;
                    }
                    Some(k) => break from + k,
                }
            };
            let after = (close + 1).min(len);
            let end = self.field_end(after);
            Field {
                start,
                close,
                end,
                quoted: true,
                decode: escaped || end > after,
                last: false,
            }
        } else {
            let end = self.field_end(begin);
            Field {
                start: begin,
                close: end,
                end,
                quoted: false,
                decode: false,
                last: false,
            }
        };
        match text.get(field.end) {
            Some(&b) if b == self.delim => {
                self.pos = field.end + 1;
                self.record_start = false;
            }
            Some(b'\r') if text.get(field.end + 1) == Some(&b'\n') => {
                self.pos = field.end + 2;
                self.record_start = true;
                field.last = true;
            }
            Some(_) => {
                self.pos = field.end + 1;
                self.record_start = true;
                field.last = true;
            }
            None => {
                self.pos = len;
                self.record_start = true;
                field.last = true;
            }
        }
        Some(field)
    }
}

/// The decoded value of `field`: borrowed from `text` when it stands there
/// as is, otherwise decoded into `buf` (`""` → `"`, text after the closing
/// quote appended).
fn value<'a>(text: &'a [u8], field: &Field, buf: &'a mut Vec<u8>) -> &'a [u8] {
    let content = text.get(field.start..field.close).unwrap_or_default();
    if !field.decode {
        return content;
    }
    buf.clear();
    // Every quote inside the content is the first of a `""` pair.
    let mut rest = content;
    while let Some(k) = memchr(b'"', rest) {
        buf.extend_from_slice(&rest[..=k]);
        rest = rest.get(k + 2..).unwrap_or_default();
    }
    buf.extend_from_slice(rest);
    if field.close < field.end {
        buf.extend_from_slice(text.get(field.close + 1..field.end).unwrap_or_default());
    }
    buf
}

/// Whether `bytes` is empty or only ASCII whitespace.
fn blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

/// The delimiter of `text`, or `None` when no candidate is consistent.
/// `more`: the input goes on after `text` (the first chunk of a stream),
/// so its last record may be cut short, as when the sample is cut.
fn sniff_delimiter(text: &[u8], tsv: bool, more: bool) -> Option<u8> {
    let sample = &text[..text.len().min(SNIFF_BYTES)];
    let truncated = more || sample.len() < text.len();
    let mut best: Option<(usize, usize, u8)> = None;
    for delim in CANDIDATES {
        let Some((fields, outliers)) = shape(sample, delim, truncated) else {
            continue;
        };
        if tsv && delim == b'\t' {
            return Some(delim);
        }
        let better = match best {
            None => true,
            Some((best_outliers, best_fields, _)) => {
                outliers < best_outliers || (outliers == best_outliers && fields > best_fields)
            }
        };
        if better {
            best = Some((outliers, fields, delim));
        }
    }
    best.map(|(_, _, delim)| delim)
}

/// The most common field count of the non-blank records of `sample` split
/// at `delim`, and how many records have another count; `None` unless that
/// count is above 1 and the others are at most a tenth. When `truncated`,
/// the last record may be cut short by the sample's end and is left out
/// (unless it is the only one).
fn shape(sample: &[u8], delim: u8, truncated: bool) -> Option<(usize, usize)> {
    let mut counts = [0usize; SNIFF_RECORDS];
    let mut records = 0;
    let mut fields = 0;
    let mut only_blank = true;
    for field in Splitter::new(sample, delim) {
        fields += 1;
        only_blank &= fields == 1 && !field.quoted && blank(&sample[field.start..field.end]);
        if !field.last {
            continue;
        }
        // Possibly cut short by the end of the sample.
        let cut = truncated && field.end >= sample.len() && records > 0;
        if !(only_blank || cut) {
            counts[records] = fields;
            records += 1;
            if records == SNIFF_RECORDS {
                break;
            }
        }
        fields = 0;
        only_blank = true;
    }
    let counts = &counts[..records];
    let (mode, agreeing) = counts
        .iter()
        .map(|&c| (c, counts.iter().filter(|&&d| d == c).count()))
        .max_by_key(|&(c, n)| (n, c))?;
    let outliers = records - agreeing;
    (mode > 1 && outliers * 10 <= records).then_some((mode, outliers))
}

/// The header of `text` split at `delim`, if its first non-blank record is
/// one (see the module doc): that record's ordinal (0-based, counting blank
/// records) and the trimmed names of its fields.
fn header(text: &[u8], delim: u8) -> Option<(usize, Vec<String>)> {
    let mut buf = Vec::new();
    let mut names = Vec::new();
    let mut alphabetic = 0;
    let mut record = 0;
    for field in Splitter::new(text, delim) {
        if field.end - field.start > MAX_HEADER_BYTES {
            return None;
        }
        let value = value(text, &field, &mut buf);
        let first_of_blank_record = names.is_empty() && field.last && blank(value);
        if first_of_blank_record {
            record += 1;
            continue;
        }
        let (name, alpha) = header_name(value)?;
        names.push(name);
        alphabetic += usize::from(alpha);
        if field.last {
            break;
        }
    }
    (names.len() >= 2 && alphabetic * 2 > names.len()).then_some((record, names))
}

/// The trimmed text of a header cell and whether it has an alphabetic
/// character, or `None` when the cell cannot be a column name.
fn header_name(value: &[u8]) -> Option<(String, bool)> {
    let name = std::str::from_utf8(value).ok()?.trim();
    if name.is_empty() || name.contains('@') {
        return None;
    }
    let (mut chars, mut run, mut alpha) = (0, 0, false);
    for ch in name.chars() {
        chars += 1;
        run = if ch.is_ascii_digit() { run + 1 } else { 0 };
        alpha |= ch.is_alphabetic();
        if chars > MAX_HEADER_CHARS || run > MAX_HEADER_DIGIT_RUN {
            return None;
        }
    }
    Some((name.to_string(), alpha))
}

/// Sends every non-blank field of `text` split at `delim` as a unit.
fn emit(text: &[u8], delim: u8, sink: &mut dyn Sink) {
    Records::new(text, delim).emit(text, true, sink);
}

/// The state of emitting a table that may come in chunks of whole records:
/// its header, the record and column reached, and the position where the
/// next chunk starts.
struct Records {
    delim: u8,
    /// The header's record and its names.
    header: Option<(usize, Vec<String>)>,
    record: usize,
    column: usize,
    line: u64,
    col: u64,
    buf: Vec<u8>,
}

impl Records {
    /// Records whose header (if any) is the first non-blank record of
    /// `first`, the first chunk.
    fn new(first: &[u8], delim: u8) -> Records {
        Records {
            delim,
            header: header(first, delim),
            record: 0,
            column: 0,
            line: 1,
            col: 1,
            buf: Vec::new(),
        }
    }

    /// Sends the non-blank fields of `text`, the next chunk. Unless `whole`
    /// (the input ends with it), the records after the last one ended by
    /// a line break are left: returns where they start, which is where the
    /// next chunk must start.
    fn emit(&mut self, text: &[u8], whole: bool, sink: &mut dyn Sink) -> usize {
        let mut locator = Locator::new(text, self.line, self.col);
        let mut splitter = Splitter::new(text, self.delim);
        // The fields of the record being read, sent when it is complete.
        let mut fields = Vec::new();
        let mut done = 0;
        while let Some(field) = splitter.next() {
            fields.push(field);
            // A field ending the text ends a record only when it is all.
            if field.last && (whole || field.end < text.len()) {
                for field in fields.drain(..) {
                    self.send(text, &field, &mut locator, sink);
                }
                done = splitter.pos;
            }
        }
        (self.line, self.col) = locator.locate(done);
        done
    }

    fn send(&mut self, text: &[u8], field: &Field, locator: &mut Locator<'_>, sink: &mut dyn Sink) {
        let value = value(text, field, &mut self.buf);
        if !blank(value) {
            let (line, col) = locator.locate(field.start);
            let name = match &self.header {
                Some((h, names)) if self.record > *h => names.get(self.column).map(String::as_str),
                _ => None,
            };
            sink.unit(&Unit {
                text: value,
                place: Place {
                    line: Some(line),
                    col,
                    field: name,
                    ..Place::default()
                },
            });
        }
        if field.last {
            self.record += 1;
            self.column = 0;
        } else {
            self.column += 1;
        }
    }
}

/// Bytes read at a time by [`extract_reader`].
const CHUNK: usize = 4 << 20;
/// A record longer than this (a quote never closed makes the rest of the
/// input one field) is sent as if the input ended there.
const MAX_RECORD: usize = 16 << 20;

/// [`extract`] on input read from `reader` in chunks of about 4 MiB of
/// whole records, so memory does not grow with the file: the same units,
/// the same places. Each chunk is read up to a line break, decoded on its
/// own (UTF-8, else GB18030: a line break is never inside a character of
/// either) and appended to the decoded rest of the chunk before, which
/// `Records::emit` splits up to its last complete record. The encoding
/// reported, the delimiter and the header come from the first chunk. Input
/// in UTF-16 is decoded as it is read ([`LineChunks`]). Returns a read
/// error, after sending what came before it.
pub fn extract_reader(name: &str, reader: &mut dyn Read, sink: &mut dyn Sink) -> io::Result<()> {
    read_chunks(name, reader, CHUNK, sink)
}

/// [`extract_reader`] reading `chunk` bytes at a time.
fn read_chunks(
    name: &str,
    reader: &mut dyn Read,
    chunk: usize,
    sink: &mut dyn Sink,
) -> io::Result<()> {
    let mut chunks = LineChunks::new(reader, chunk, MAX_RECORD)?;
    let mut text: Vec<u8> = Vec::new();
    let mut state: Option<(Option<Records>, u64)> = None;
    while let Some((encoding, end)) = chunks.next(&mut text)? {
        let last = end || text.len() >= MAX_RECORD;
        // The delimiter is sniffed on the first MiB, as on the whole text.
        if state.is_none() && !last && text.len() < SNIFF_BYTES {
            continue;
        }
        let (records, line) = state.get_or_insert_with(|| {
            sink.encoding(encoding);
            (
                sniff_delimiter(&text, is_tsv(name), !last).map(|d| Records::new(&text, d)),
                1,
            )
        });
        let done = match records {
            Some(records) => records.emit(&text, last, sink),
            None => {
                // No table: blocks of lines, like plain text.
                let done = if last {
                    text.len()
                } else {
                    memchr::memrchr(b'\n', &text).map_or(0, |k| k + 1)
                };
                if done > 0 {
                    sink.unit(&Unit {
                        text: &text[..done],
                        place: Place {
                            line: Some(*line),
                            col: 1,
                            ..Place::default()
                        },
                    });
                    *line += memchr::memchr_iter(b'\n', &text[..done]).count() as u64;
                }
                done
            }
        };
        text.drain(..done);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::testing::{Recorded, Recorder};
    use crate::synth::{self, Rng};
    use proptest::prelude::*;

    fn run(name: &str, data: &[u8]) -> Recorder {
        let mut rec = Recorder::default();
        extract(name, data, &mut rec);
        rec
    }

    /// Pieces a table may be made of: records with quotes, line breaks
    /// inside quotes, CRLF and lone CR ends, blank lines, CJK text, values.
    fn table_piece() -> impl Strategy<Value = Vec<u8>> {
        prop::sample::select(vec![
            b"name,id_no,phone\n".to_vec(),
            "张三,11010519491231002X,13812345678\r\n"
                .as_bytes()
                .to_vec(),
            b"\"a,\nb\",\"x\"\"y\",\"q\"z\n".to_vec(),
            b"\n".to_vec(),
            b"\r".to_vec(),
            b"1;2;3\n".to_vec(),
            b"\"never closed,".to_vec(),
            b"a\tb\tc\n".to_vec(),
            b",,\n".to_vec(),
            b"plain words 13812345678 ".to_vec(),
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Read in chunks of any size, a table gives the units (texts,
        /// fields, lines, columns) it gives read whole.
        #[test]
        fn chunks_give_what_the_whole_gives(
            pieces in proptest::collection::vec(table_piece(), 0..30),
            tail in proptest::collection::vec(table_piece(), 0..30),
            filler in prop::sample::select(vec![0usize, 1 << 20]),
            chunk in prop_oneof![1usize..64, 64usize..70_000],
            tsv in any::<bool>(),
            encoding in 0..4,
        ) {
            // Past the first MiB (the delimiter's sample) the chunks are
            // split into records as they come.
            let mut data = pieces.concat();
            while data.len() < filler {
                data.extend_from_slice(b"x,y,13812345678\n");
            }
            data.extend(tail.concat());
            let text = String::from_utf8(data).expect("pieces are UTF-8");
            let decoded_len = text.len();
            data = match encoding {
                0 => text.into_bytes(),
                1 => encoding_rs::GBK.encode(&text).0.into_owned(),
                // UTF-16 with a BOM, little- and big-endian.
                2 => [0xff, 0xfe].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect(),
                _ => [0xfe, 0xff].into_iter().chain(text.encode_utf16().flat_map(u16::to_be_bytes)).collect(),
            };
            let name = if tsv { "t.tsv" } else { "t.csv" };
            let whole = run(name, &data);
            let mut streamed = Recorder::default();
            read_chunks(name, &mut &data[..], chunk, &mut streamed).unwrap();
            let text_mode = whole.units.len() == 1 && whole.units[0].text.len() + 3 >= decoded_len;
            if text_mode {
                // No delimiter: blocks of lines instead of one unit, the same text.
                let joined: String = streamed.units.iter().map(|u| u.text.as_str()).collect();
                prop_assert_eq!(joined, whole.units[0].text.clone());
            } else {
                prop_assert_eq!(&streamed.units, &whole.units);
            }
            // The encoding is the first chunk's: ASCII there is UTF-8.
            prop_assert_eq!(streamed.encodings.len(), 1);
        }
    }

    /// (text, field, line, col) of every unit.
    fn units(rec: &Recorder) -> Vec<(&str, Option<&str>, u64, u64)> {
        rec.units
            .iter()
            .map(|u| {
                (
                    u.text.as_str(),
                    u.field.as_deref(),
                    u.line.expect("every unit has a line"),
                    u.col,
                )
            })
            .collect()
    }

    fn one<'r>(rec: &'r Recorder, needle: &str) -> &'r Recorded {
        let found = rec.containing(needle);
        assert_eq!(found.len(), 1, "{needle} in {:?}", rec.units);
        found[0]
    }

    #[test]
    fn comma_csv_with_header() {
        let mut rng = Rng::new(1);
        let (id1, phone1) = (synth::resident_id(&mut rng), synth::mobile(&mut rng));
        let (id2, phone2) = (synth::resident_id(&mut rng), synth::mobile(&mut rng));
        let csv = format!("姓名,身份证号,手机\n张三,{id1},{phone1}\n欧阳娜娜,{id2},{phone2}\n");
        let rec = run("roster.csv", csv.as_bytes());
        assert_eq!(rec.encodings, ["UTF-8"]);
        assert_eq!(
            units(&rec),
            vec![
                ("姓名", None, 1, 1),
                ("身份证号", None, 1, 4),
                ("手机", None, 1, 9),
                ("张三", Some("姓名"), 2, 1),
                (id1.as_str(), Some("身份证号"), 2, 4),
                (phone1.as_str(), Some("手机"), 2, 23),
                ("欧阳娜娜", Some("姓名"), 3, 1),
                (id2.as_str(), Some("身份证号"), 3, 6),
                (phone2.as_str(), Some("手机"), 3, 25),
            ]
        );
    }

    #[test]
    fn tsv_by_name_and_by_content() {
        let mut rng = Rng::new(2);
        let (card, phone) = (synth::bank_card(&mut rng), synth::mobile(&mut rng));
        let tsv = format!("name\tcard_no\tmobile\n张三\t{card}\t{phone}\n");
        for name in ["export.tsv", "export.csv", "a.zip!dir/EXPORT.TSV"] {
            let rec = run(name, tsv.as_bytes());
            assert_eq!(
                units(&rec)[3..],
                [
                    ("张三", Some("name"), 2, 1),
                    (card.as_str(), Some("card_no"), 2, 4),
                    (phone.as_str(), Some("mobile"), 2, 24),
                ],
                "{name}"
            );
        }
    }

    #[test]
    fn tsv_prefers_tab_over_a_consistent_comma() {
        // Every row has one comma and one tab: a .tsv splits at the tab.
        let text = "name,x\tnote\n张三\ta,b\n李四\tc,d\n";
        let rec = run("x.tsv", text.as_bytes());
        assert_eq!(one(&rec, "a,b").field.as_deref(), Some("note"));
        // A .csv takes the comma only when it gives more fields; here both
        // give two, and the comma comes first.
        let rec = run("x.csv", "a,b\tc\nd,e\tf\n".as_bytes());
        assert_eq!(one(&rec, "b\tc").col, 3);
    }

    #[test]
    fn semicolon_csv_with_decimal_commas() {
        let mut rng = Rng::new(3);
        let phone = synth::mobile(&mut rng);
        let csv = format!("Name;Betrag;Telefon\nMüller;1,50;{phone}\nSchmidt;22,75;{phone}\n");
        let rec = run("x.csv", csv.as_bytes());
        assert_eq!(
            units(&rec)[3..6],
            [
                ("Müller", Some("Name"), 2, 1),
                ("1,50", Some("Betrag"), 2, 8),
                (phone.as_str(), Some("Telefon"), 2, 13),
            ]
        );
    }

    #[test]
    fn pipe_delimited() {
        let rec = run(
            "x.csv",
            b"id|mobile|remark\n1|13812345678|x\n2|13912345678|y\n",
        );
        assert_eq!(
            units(&rec)[3..6],
            [
                ("1", Some("id"), 2, 1),
                ("13812345678", Some("mobile"), 2, 3),
                ("x", Some("remark"), 2, 15),
            ]
        );
    }

    #[test]
    fn quoted_newlines_keep_later_lines_right() {
        let mut rng = Rng::new(4);
        let (id, phone) = (synth::resident_id(&mut rng), synth::mobile(&mut rng));
        let csv = format!(
            "姓名,地址,手机\n\
             张三,\"北京市\n朝阳区, 3号楼\n{phone}\",{phone}\n\
             李四,\"上海\",{id}\n"
        );
        let rec = run("x.csv", csv.as_bytes());
        let address = format!("北京市\n朝阳区, 3号楼\n{phone}");
        assert_eq!(
            units(&rec)[3..],
            [
                ("张三", Some("姓名"), 2, 1),
                (address.as_str(), Some("地址"), 2, 5),
                (phone.as_str(), Some("手机"), 4, 14),
                ("李四", Some("姓名"), 5, 1),
                ("上海", Some("地址"), 5, 5),
                (id.as_str(), Some("手机"), 5, 9),
            ]
        );
    }

    #[test]
    fn doubled_quotes_are_decoded() {
        let rec = run(
            "x.csv",
            b"a,b,c\n\"say \"\"hi\"\"\",\"\"\"\",\"x\"y\n\"\",plain\"quote,z\n",
        );
        assert_eq!(
            units(&rec)[3..],
            [
                ("say \"hi\"", Some("a"), 2, 2),
                ("\"", Some("b"), 2, 15),
                ("xy", Some("c"), 2, 20),
                ("plain\"quote", Some("b"), 3, 4),
                ("z", Some("c"), 3, 16),
            ]
        );
    }

    #[test]
    fn no_header_when_the_first_row_is_data() {
        let mut rng = Rng::new(5);
        let rows: Vec<String> = (0..3)
            .map(|i| {
                format!(
                    "{i},{},{}",
                    synth::resident_id(&mut rng),
                    synth::mobile(&mut rng)
                )
            })
            .collect();
        let rec = run("x.csv", rows.join("\n").as_bytes());
        assert_eq!(rec.units.len(), 9);
        assert!(rec.units.iter().all(|u| u.field.is_none()));
        assert_eq!((rec.units[4].line, rec.units[4].col), (Some(2), 3));

        // Text first rows that hold data are not headers either.
        for first in [
            "张三,zhang@corp-mail.cn",
            "张三,E12345678",
            "张三,",
            "1,2",
            "张三,13812345678",
        ] {
            let rec = run("x.csv", format!("{first}\n李四,x\n").as_bytes());
            assert!(rec.units.iter().all(|u| u.field.is_none()), "{first}");
        }
        // Mostly text is enough.
        let rec = run("x.csv", "姓名,2023,备注\n张三,1,x\n".as_bytes());
        assert_eq!(rec.units[4].field.as_deref(), Some("2023"));
    }

    #[test]
    fn header_names_are_trimmed_and_unquoted() {
        let rec = run("x.csv", b" name ,\"mobile \"\"no\"\" \"\nx,13812345678\n");
        assert_eq!(one(&rec, "138").field.as_deref(), Some("mobile \"no\""));
        assert_eq!(one(&rec, "x").field.as_deref(), Some("name"));
    }

    #[test]
    fn ragged_rows_and_blank_lines() {
        // One ragged row among 20 sampled records is tolerated; rows after
        // the sample may be anything.
        let mut text = String::from("\n\nname,phone\r\n\r\n张三,13812345678,extra\r\n");
        text.push_str(&"r,1\r\n".repeat(18));
        text.push_str("李四\r\n");
        let rec = run("x.csv", text.as_bytes());
        let got = units(&rec);
        assert_eq!(
            got[..5],
            [
                ("name", None, 3, 1),
                ("phone", None, 3, 6),
                ("张三", Some("name"), 5, 1),
                ("13812345678", Some("phone"), 5, 4),
                ("extra", None, 5, 16),
            ]
        );
        assert_eq!(got.len(), 5 + 36 + 1);
        assert_eq!(got[5 + 36], ("李四", Some("name"), 24, 1));
    }

    #[test]
    fn gbk_csv_is_decoded() {
        let mut rng = Rng::new(6);
        let id = synth::resident_id(&mut rng);
        let text = format!("姓名,身份证号\n张三,{id}\n");
        let (gbk, _, _) = encoding_rs::GBK.encode(&text);
        let rec = run("x.csv", &gbk);
        assert_eq!(rec.encodings, ["GB18030"]);
        assert_eq!(
            units(&rec)[2..],
            [
                ("张三", Some("姓名"), 2, 1),
                (id.as_str(), Some("身份证号"), 2, 4),
            ]
        );
    }

    #[test]
    fn utf16le_with_bom() {
        let mut rng = Rng::new(7);
        let phone = synth::mobile(&mut rng);
        let text = format!("姓名\t手机\n张三\t{phone}\n");
        let mut data = vec![0xff, 0xfe];
        data.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let rec = run("x.tsv", &data);
        assert_eq!(rec.encodings, ["UTF-16LE"]);
        assert_eq!(
            units(&rec)[2..],
            [
                ("张三", Some("姓名"), 2, 1),
                (phone.as_str(), Some("手机"), 2, 4)
            ]
        );
    }

    #[test]
    fn unterminated_quote_takes_the_rest() {
        let rec = run("x.csv", b"a,b\n1,\"open\n2,13812345678\n");
        assert_eq!(
            units(&rec)[2..],
            [
                ("1", Some("a"), 2, 1),
                ("open\n2,13812345678\n", Some("b"), 2, 4),
            ]
        );
        // A lone quote at the very end, and an escape before the end.
        for data in [
            &b"a,b\n1,\""[..],
            b"a,b\n1,\"x\"\"",
            b"\"",
            b"a,\"",
            b",\"\"\"",
        ] {
            run("x.csv", data);
        }
        let rec = run("x.csv", b"a,b\n1,\"x\"\"");
        assert_eq!(units(&rec)[3], ("x\"", Some("b"), 2, 4));
    }

    #[test]
    fn crlf_line_ends() {
        let mut rng = Rng::new(8);
        let (id, phone) = (synth::resident_id(&mut rng), synth::mobile(&mut rng));
        let csv = format!("姓名,身份证号,手机\r\n张三,{id},{phone}\r\n李四,\"a\r\nb\",{phone}\r\n");
        let rec = run("x.csv", csv.as_bytes());
        assert_eq!(
            units(&rec)[2..],
            [
                ("手机", None, 1, 9),
                ("张三", Some("姓名"), 2, 1),
                (id.as_str(), Some("身份证号"), 2, 4),
                (phone.as_str(), Some("手机"), 2, 23),
                ("李四", Some("姓名"), 3, 1),
                ("a\r\nb", Some("身份证号"), 3, 5),
                (phone.as_str(), Some("手机"), 4, 4),
            ]
        );
        // A lone CR also ends a record (lines are counted by LF only).
        let rec = run("x.csv", b"name,phone\rx,13812345678\r");
        assert_eq!(one(&rec, "138").field.as_deref(), Some("phone"));
        assert_eq!(one(&rec, "138").col, 14);
    }

    #[test]
    fn inconsistent_or_empty_text_is_plain_text() {
        for text in [
            "",
            "just a line of prose\nand another, with a comma\n",
            "13812345678\n13912345678\n",
        ] {
            let rec = run("x.csv", text.as_bytes());
            assert_eq!(rec.encodings, ["UTF-8"]);
            assert_eq!(units(&rec), vec![(text, None, 1, 1)], "{text:?}");
        }
    }

    #[test]
    fn a_few_ragged_rows_in_a_long_sample_are_tolerated() {
        let mut text = String::from("a,b\n");
        for i in 0..18 {
            text.push_str(&format!("{i},x\n"));
        }
        text.push_str("1,2,3\n");
        let rec = run("x.csv", text.as_bytes());
        assert_eq!(rec.units.len(), 2 + 36 + 3);
        assert_eq!(rec.units[2].field.as_deref(), Some("a"));
    }

    #[test]
    fn long_lines() {
        let long = "x".repeat(SNIFF_BYTES + 10);
        // Records cut by the end of the sniffing sample are left out of it.
        let text = format!("id,photo\n1,{long}\n2,{long}\n");
        let rec = run("x.csv", text.as_bytes());
        assert_eq!(rec.units.len(), 6);
        assert_eq!(rec.units[3].field.as_deref(), Some("photo"));
        assert_eq!((rec.units[5].line, rec.units[5].col), (Some(3), 3));
        // A first record longer than the sample counts as far as it goes.
        let text = format!("y,{long},z\n1,2,3\n");
        let rec = run("x.csv", text.as_bytes());
        assert_eq!(rec.units.len(), 6);
        assert!(rec.units.iter().all(|u| u.field.is_none()));
        assert_eq!(rec.units[2].col as usize, SNIFF_BYTES + 14);
        // Without a delimiter in the sample, it is plain text.
        let text = format!("{long},y\n1,2\n");
        assert_eq!(run("x.csv", text.as_bytes()).units.len(), 1);
    }

    /// The 1-based (line, col) of every character start, by byte offset.
    fn offset_of(text: &[u8], line: u64, col: u64) -> Option<usize> {
        let (mut l, mut c) = (1, 1);
        for (i, &b) in text.iter().enumerate() {
            if b & 0xC0 == 0x80 {
                continue;
            }
            if (l, c) == (line, col) {
                return Some(i);
            }
            if b == b'\n' {
                (l, c) = (l + 1, 1);
            } else {
                c += 1;
            }
        }
        ((l, c) == (line, col)).then_some(text.len())
    }

    /// Writes one RFC 4180 field.
    fn quote(value: &str) -> String {
        if value.contains(['"', ',', '\n', '\r']) {
            format!("\"{}\"", value.replace('"', "\"\""))
        } else {
            value.to_string()
        }
    }

    const PIECES: &[&str] = &[
        ",",
        ";",
        "\t",
        "|",
        "\"",
        "\"\"",
        "\n",
        "\r\n",
        "\r",
        "a",
        "1",
        "张",
        " ",
        "13812345678",
        "姓名",
    ];

    proptest! {
        #[test]
        fn never_panics_and_lines_are_in_range(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..80),
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
            tsv in any::<bool>(),
        ) {
            let name = if tsv { "x.tsv" } else { "x.csv" };
            for data in [pieces.concat().into_bytes(), bytes] {
                let rec = run(name, &data);
                let (text, _) = super::super::text::decode(&data);
                let lines = memchr::memchr_iter(b'\n', &text).count() as u64 + 1;
                prop_assert_eq!(rec.encodings.len(), 1);
                for u in &rec.units {
                    let line = u.line.unwrap_or(0);
                    prop_assert!((1..=lines).contains(&line), "{:?} in {:?}", u, text);
                    prop_assert!(u.col >= 1);
                }
            }
        }

        #[test]
        fn well_formed_csv_round_trips(
            width in 2usize..5,
            cells in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::sample::select(&["a", "1", "张", " ", "\"", ",", "\n", "\r\n", "138"][..]),
                    0..4,
                ),
                2..40,
            ),
            crlf in any::<bool>(),
        ) {
            let values: Vec<String> = cells.iter().map(|c| c.concat()).collect();
            let rows: Vec<String> = values
                .chunks(width)
                .filter(|row| row.len() == width)
                .map(|row| row.iter().map(|v| quote(v)).collect::<Vec<_>>().join(","))
                .collect();
            prop_assume!(!rows.is_empty());
            let text = rows.join(if crlf { "\r\n" } else { "\n" });
            let rec = run("x.csv", text.as_bytes());
            let expected: Vec<&String> = values[..rows.len() * width]
                .iter()
                .filter(|v| !v.bytes().all(|b| b.is_ascii_whitespace()))
                .collect();
            let got: Vec<&String> = rec.units.iter().map(|u| &u.text).collect();
            prop_assert_eq!(got, expected);
            for u in rec.units.iter().filter(|u| !u.text.contains('"')) {
                let at = offset_of(text.as_bytes(), u.line.unwrap_or(0), u.col);
                prop_assert!(at.is_some(), "{:?}", u);
                prop_assert!(text.as_bytes()[at.unwrap_or(0)..].starts_with(u.text.as_bytes()), "{:?}", u);
            }
        }
    }
}
