//! Character encodings: everything becomes UTF-8 before detection.
//!
//! Order of decisions: a byte-order mark (UTF-8, UTF-16LE/BE) wins; then
//! UTF-16 without BOM by its NUL pattern; then valid UTF-8 is used as is
//! (borrowed, no copy); then GB18030 (a superset of GBK and GB2312), if it
//! decodes without a single error; otherwise the bytes are kept as they are,
//! since every detector works on ASCII tokens and treats other bytes as
//! boundaries.
//!
//! Decoding matters for more than display: a GBK character's second byte
//! can be an ASCII letter, which would glue it to a following number under
//! the boundary rule.

use std::borrow::Cow;

use encoding_rs::{Decoder, Encoding, GB18030, UTF_16BE, UTF_16LE};

use super::{Place, Sink, Unit};
use crate::source::sniff;

/// Converts byte offsets of a text into 1-based line and character column,
/// moving forward only. Each byte is looked at once, so a single-line dump
/// of many MB with many values stays linear. Extractors use it for their
/// units' places, the scanner for findings inside a unit.
#[derive(Debug, Clone)]
pub struct Locator<'t> {
    text: &'t [u8],
    pos: usize,
    line: u64,
    /// Column of the character at `pos`.
    col: u64,
}

impl<'t> Locator<'t> {
    /// A locator whose first character is at `line`, `col`.
    pub fn new(text: &'t [u8], line: u64, col: u64) -> Self {
        Locator {
            text,
            pos: 0,
            line,
            col,
        }
    }

    /// A locator over the same text as one that stopped at `pos` (see
    /// [`Locator::position`]): it counts on from there.
    pub fn resume(text: &'t [u8], (pos, (line, col)): (usize, (u64, u64))) -> Self {
        Locator {
            text,
            pos: pos.min(text.len()),
            line,
            col,
        }
    }

    /// The last offset asked for, with its line and column.
    pub fn position(&self) -> (usize, (u64, u64)) {
        (self.pos, (self.line, self.col))
    }

    /// Line and column of the character at `offset`; an offset before the
    /// last one asked for gives the last position.
    pub fn locate(&mut self, offset: usize) -> (u64, u64) {
        let offset = offset.clamp(self.pos, self.text.len());
        let span = &self.text[self.pos..offset];
        match memchr::memrchr(b'\n', span) {
            Some(last) => {
                self.line += memchr::memchr_iter(b'\n', span).count() as u64;
                self.col = 1 + chars(&span[last + 1..]);
            }
            None => self.col += chars(span),
        }
        self.pos = offset;
        (self.line, self.col)
    }
}

/// Characters in UTF-8 bytes (bytes that do not continue a character),
/// counted with SIMD: the columns of findings on a line of many MB (a
/// one-line dump, a log without line breaks) count its characters through.
pub(crate) fn chars(bytes: &[u8]) -> u64 {
    bytecount::num_chars(bytes) as u64
}

/// Decodes a text file and sends it as one line-numbered unit.
pub fn extract(data: &[u8], sink: &mut dyn Sink) {
    let (text, encoding) = decode(data);
    sink.encoding(encoding);
    sink.unit(&Unit {
        text: &text,
        place: Place::lines(),
    });
}

/// Chunks of a streamed text: about this many bytes.
const CHUNK: usize = 4 << 20;

/// A line longer than this is sent in pieces, cut by [`space_cut`].
const MAX_LINE: usize = 8 << 20;

/// Decodes text read from `reader` and sends it as line-numbered units of
/// about 4 MiB of whole lines (a longer line in pieces): a large
/// text that is not a file of its own (an archive member) is scanned with
/// bounded memory.
pub fn extract_reader(reader: &mut dyn std::io::Read, sink: &mut dyn Sink) -> std::io::Result<()> {
    read_text(reader, CHUNK, MAX_LINE, sink)
}

/// [`extract_reader`] in chunks of `chunk` bytes, lines cut at `max`.
fn read_text(
    reader: &mut dyn std::io::Read,
    chunk: usize,
    max: usize,
    sink: &mut dyn Sink,
) -> std::io::Result<()> {
    let mut chunks = LineChunks::new(reader, chunk, max)?;
    let mut text = Vec::new();
    let (mut line, mut col) = (1, 1);
    let mut said = None;
    while let Some((encoding, _)) = chunks.next(&mut text)? {
        if said != Some(encoding) {
            sink.encoding(encoding);
            said = Some(encoding);
        }
        let place = Place {
            line: Some(line),
            col,
            ..Place::default()
        };
        sink.unit(&Unit { text: &text, place });
        match memchr::memrchr(b'\n', &text) {
            Some(last) => {
                line += bytecount::count(&text, b'\n') as u64;
                col = 1 + chars(&text[last + 1..]);
            }
            None => col += chars(&text),
        }
        text.clear();
    }
    Ok(())
}

/// Where `text`, with a line too long for `max` bytes, is cut, at most
/// `max` bytes in: after its last line break there, else at
/// [`space_cut`], else before the UTF-8 character that byte `max` is in.
fn long_line_cut(text: &[u8], max: usize) -> usize {
    let window = &text[..max];
    memchr::memrchr(b'\n', window)
        .map(|k| k + 1)
        .or_else(|| space_cut(window))
        .unwrap_or_else(|| char_start(text, max, max.saturating_sub(3).max(1)))
}

/// The start of the UTF-8 character that byte `k` of `text` is in (`k`
/// at the end of `text`), not before `floor`; `k` when there is none.
pub(crate) fn char_start(text: &[u8], k: usize, floor: usize) -> usize {
    (floor..=k)
        .rev()
        .find(|&i| text.get(i).is_none_or(|&b| b & 0xC0 != 0x80))
        .unwrap_or(k)
}

/// Where text that must be cut can be: after the last whitespace or
/// control byte, `"` or `,` in its second half (never inside a UTF-8 or
/// GB18030 character, nor inside a value; the quote and comma are for
/// minified JSON and CSV), if there is one.
pub(crate) fn space_cut(text: &[u8]) -> Option<usize> {
    text.iter()
        .rposition(|&b| b <= b' ' || b == b'"' || b == b',')
        .filter(|&i| i + 1 >= text.len() / 2)
        .map(|i| i + 1)
}

/// Decodes `data` to UTF-8; returns the text and the name of the encoding.
pub fn decode(data: &[u8]) -> (Cow<'_, [u8]>, &'static str) {
    if let Some((enc, bom_len)) = Encoding::for_bom(data) {
        let body = &data[bom_len..];
        return match enc.decode_without_bom_handling(body).0 {
            Cow::Borrowed(s) => (Cow::Borrowed(s.as_bytes()), enc.name()),
            Cow::Owned(s) => (Cow::Owned(s.into_bytes()), enc.name()),
        };
    }
    if let Some(little) = sniff::utf16_parity(&data[..data.len().min(sniff::SNIFF_LEN)]) {
        let enc = if little { UTF_16LE } else { UTF_16BE };
        let text = enc.decode_without_bom_handling(data).0.into_owned();
        return (Cow::Owned(text.into_bytes()), enc.name());
    }
    decode_8bit(data)
}

/// Decodes `data` known to be in an ASCII-compatible encoding (no BOM, no
/// UTF-16): UTF-8 as is, else GB18030 if it decodes without error, else the
/// bytes as they are. A block of whole lines of a stream is decoded with it
/// (`\n` is never part of a multi-byte UTF-8 or GB18030 character).
pub fn decode_8bit(data: &[u8]) -> (Cow<'_, [u8]>, &'static str) {
    // simdutf8's check is several times faster than the standard
    // library's on text mixing ASCII and CJK, and this runs over every byte.
    if simdutf8::basic::from_utf8(data).is_ok() {
        return (Cow::Borrowed(data), "UTF-8");
    }
    if let Some(text) = GB18030.decode_without_bom_handling_and_without_replacement(data) {
        return (Cow::Owned(text.into_owned().into_bytes()), "GB18030");
    }
    (
        Cow::Borrowed(data),
        "binary-safe bytes (not valid UTF-8 or GB18030)",
    )
}

/// UTF-16 by BOM or NUL pattern (in its first [`sniff::SNIFF_LEN`]
/// bytes): the encoding and the BOM length.
pub fn utf16(data: &[u8]) -> Option<(&'static Encoding, usize)> {
    if data.starts_with(b"\xff\xfe") {
        return Some((UTF_16LE, 2));
    }
    if data.starts_with(b"\xfe\xff") {
        return Some((UTF_16BE, 2));
    }
    let head = &data[..data.len().min(sniff::SNIFF_LEN)];
    sniff::utf16_parity(head).map(|little| (if little { UTF_16LE } else { UTF_16BE }, 0))
}

/// Input read in chunks of about `size` bytes that end at a line break,
/// each decoded on its own with [`decode_8bit`] (a line break is never
/// inside a character of UTF-8 or GB18030): how line-based formats stream
/// a large file with bounded memory. A line longer than `max` bytes is cut
/// before that (after a line break, else a space, else a whole
/// character). A UTF-8 BOM is left out; UTF-16 input (by BOM or NUL
/// pattern in its first chunk) is decoded as it is read, and its chunks
/// cut in the decoded text.
pub struct LineChunks<'r> {
    reader: &'r mut dyn std::io::Read,
    /// What was read and not given yet: bytes, or for UTF-16 input the
    /// text decoded to UTF-8.
    raw: Vec<u8>,
    size: usize,
    max: usize,
    /// The decoder of UTF-16 input (by BOM or NUL pattern, see [`utf16`]).
    utf16: Option<Decoder>,
    /// The reader has ended.
    end: bool,
    /// A chunk was given (empty input gives one empty chunk).
    started: bool,
}

impl<'r> LineChunks<'r> {
    /// Reads the first chunk of `reader`.
    pub fn new(
        reader: &'r mut dyn std::io::Read,
        size: usize,
        max: usize,
    ) -> std::io::Result<Self> {
        let mut chunks = LineChunks {
            reader,
            raw: Vec::new(),
            size,
            max,
            utf16: None,
            end: false,
            started: false,
        };
        // The first read is long enough to tell the encoding by.
        chunks.size = size.max(sniff::SNIFF_LEN);
        chunks.fill()?;
        chunks.size = size;
        if let Some((encoding, bom)) = utf16(&chunks.raw) {
            let mut decoder = encoding.new_decoder_without_bom_handling();
            let bytes = std::mem::take(&mut chunks.raw);
            decode_utf16(&mut decoder, &bytes[bom..], chunks.end, &mut chunks.raw);
            chunks.utf16 = Some(decoder);
        } else if chunks.raw.starts_with(b"\xef\xbb\xbf") {
            chunks.raw.drain(..3);
        }
        Ok(chunks)
    }

    /// Appends the next chunk, decoded, to `out`; returns its encoding's
    /// name and whether it is the last, or `None` when the input is done
    /// (empty input has one empty chunk).
    pub fn next(&mut self, out: &mut Vec<u8>) -> std::io::Result<Option<(&'static str, bool)>> {
        loop {
            if self.end && self.raw.is_empty() && self.started {
                return Ok(None);
            }
            self.started = true;
            let cut = if self.raw.len() > self.max {
                long_line_cut(&self.raw, self.max)
            } else if self.end {
                self.raw.len()
            } else if let Some(k) = memchr::memrchr(b'\n', &self.raw) {
                k + 1
            } else {
                self.fill()?;
                continue;
            };
            let encoding = match &self.utf16 {
                Some(decoder) => {
                    out.extend_from_slice(&self.raw[..cut]);
                    decoder.encoding().name()
                }
                None => {
                    let (decoded, encoding) = decode_8bit(&self.raw[..cut]);
                    out.extend_from_slice(&decoded);
                    encoding
                }
            };
            self.raw.drain(..cut);
            self.fill()?;
            return Ok(Some((encoding, self.end && self.raw.is_empty())));
        }
    }

    /// Reads until `size` more bytes are read or the input ends; UTF-16
    /// input is decoded as it comes.
    fn fill(&mut self) -> std::io::Result<()> {
        use std::io::Read;
        if self.end {
            return Ok(());
        }
        let mut bytes = Vec::new();
        let into = match self.utf16 {
            Some(_) => &mut bytes,
            None => &mut self.raw,
        };
        let target = into.len() + self.size;
        while into.len() < target && !self.end {
            let want = (target - into.len()) as u64;
            if (&mut *self.reader).take(want).read_to_end(into)? == 0 {
                self.end = true;
            }
        }
        if let Some(decoder) = &mut self.utf16 {
            decode_utf16(decoder, &bytes, self.end, &mut self.raw);
        }
        Ok(())
    }
}

/// Decodes UTF-16 bytes `src` with `decoder`, appending UTF-8 to `out`;
/// `last` at the end of the input (a cut character at a read's end waits
/// in the decoder for the next read).
pub(crate) fn decode_utf16(decoder: &mut Decoder, src: &[u8], last: bool, out: &mut Vec<u8>) {
    let start = out.len();
    let room = decoder
        .max_utf8_buffer_length(src.len())
        .unwrap_or(src.len() * 3 + 16);
    out.resize(start + room, 0);
    let (_, _, written, _) = decoder.decode_to_utf8(src, &mut out[start..], last);
    out.truncate(start + written);
}

/// UTF-16 read from a reader, given out as UTF-8 (malformed sequences
/// replaced), so that it is never held whole.
pub struct Utf16Reader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    raw: Vec<u8>,
    /// Decoded text not given out yet, from `at`.
    text: Vec<u8>,
    at: usize,
    end: bool,
}

impl<R: std::io::Read> Utf16Reader<R> {
    /// Decodes `inner`, which holds UTF-16 in `encoding` (no BOM).
    pub fn new(inner: R, encoding: &'static encoding_rs::Encoding) -> Self {
        Utf16Reader {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            raw: vec![0; 64 << 10],
            text: Vec::new(),
            at: 0,
            end: false,
        }
    }
}

impl<R: std::io::Read> std::io::Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.text.len() && !self.end {
            let n = self.inner.read(&mut self.raw)?;
            self.end = n == 0;
            self.text.clear();
            self.at = 0;
            decode_utf16(&mut self.decoder, &self.raw[..n], self.end, &mut self.text);
        }
        let n = buf.len().min(self.text.len() - self.at);
        buf[..n].copy_from_slice(&self.text[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::testing::Recorder;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn chars_are_the_bytes_that_start_a_character(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let starts = bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64;
            prop_assert_eq!(chars(&bytes), starts);
        }
    }

    #[test]
    fn locator_moves_forward_by_characters() {
        let text = "ab 身份 x\nsecond 13812345678 y 13912345678\n\nlast";
        let mut at = Locator::new(text.as_bytes(), 1, 1);
        assert_eq!(at.locate(text.find('x').unwrap()), (1, 7));
        assert_eq!(at.locate(text.find("138").unwrap()), (2, 8));
        assert_eq!(at.locate(text.find("139").unwrap()), (2, 22));
        assert_eq!(at.locate(text.find("last").unwrap()), (4, 1));
        assert_eq!(at.locate(0), (4, 1), "never moves back");
    }

    #[test]
    fn locator_starts_at_the_unit_place() {
        let mut at = Locator::new(b"abc\ndef", 10, 5);
        assert_eq!(at.locate(1), (10, 6));
        assert_eq!(at.locate(5), (11, 2));
        assert_eq!(at.locate(99), (11, 4), "clamped to the end");
    }

    #[test]
    fn a_resumed_locator_counts_on_where_the_other_stopped() {
        let text = "ab 身份 x\nsecond 13812345678\n\nlast 身 z";
        let mut first = Locator::new(text.as_bytes(), 1, 1);
        first.locate(text.find("138").unwrap());
        let mut resumed = Locator::resume(text.as_bytes(), first.position());
        assert_eq!(resumed.locate(text.find('z').unwrap()), (4, 8));
        assert_eq!(resumed.locate(text.len()), (4, 9));
        let whole = Locator::new(text.as_bytes(), 1, 1).locate(text.len());
        assert_eq!(whole, (4, 9));
    }

    #[test]
    fn utf8_is_borrowed() {
        let (text, enc) = decode("身份证 110".as_bytes());
        assert!(matches!(text, Cow::Borrowed(_)));
        assert_eq!(enc, "UTF-8");
    }

    #[test]
    fn gbk_is_transcoded() {
        let (gbk, _, _) = GB18030.encode("姓名,身份证号\n张三,110105199003071239\n");
        let (text, enc) = decode(&gbk);
        assert_eq!(enc, "GB18030");
        assert_eq!(
            std::str::from_utf8(&text).unwrap(),
            "姓名,身份证号\n张三,110105199003071239\n"
        );
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let body: Vec<u8> = "tel 13812345678"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut with_bom = vec![0xff, 0xfe];
        with_bom.extend_from_slice(&body);
        for data in [with_bom, body] {
            let (text, enc) = decode(&data);
            assert_eq!(&*text, b"tel 13812345678");
            assert_eq!(enc, "UTF-16LE");
        }
    }

    #[test]
    fn undecodable_bytes_are_kept() {
        let data = b"\xff\xfftel 13812345678 \x80";
        let (text, _) = decode(data);
        assert_eq!(&*text, data);
    }

    /// Line and column of every byte offset that starts a character.
    fn positions(text: &str) -> Vec<(usize, (u64, u64))> {
        let (mut line, mut col) = (1, 1);
        let mut out = Vec::new();
        for (at, c) in text.char_indices() {
            out.push((at, (line, col)));
            if c == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        out
    }

    proptest! {
        #[test]
        fn streamed_text_is_the_text_with_its_places(
            pieces in prop::collection::vec(prop::sample::select(vec!["ab", " ", "\n", "身份", "12345", ",", "\"x\""]), 0..200),
            chunk in 1usize..40,
            max in 4usize..60,
            utf16 in any::<bool>(),
        ) {
            let text: String = pieces.concat();
            let data: Vec<u8> = if utf16 {
                [0xfe, 0xff].into_iter().chain(text.encode_utf16().flat_map(u16::to_be_bytes)).collect()
            } else {
                text.clone().into_bytes()
            };
            let mut recorder = Recorder::default();
            read_text(&mut &data[..], chunk, max, &mut recorder).unwrap();
            if !text.is_empty() {
                let encoding = if utf16 { "UTF-16BE" } else { "UTF-8" };
                prop_assert_eq!(&recorder.encodings, &[encoding]);
            }
            let joined: String = recorder.units.iter().map(|u| u.text.as_str()).collect();
            prop_assert_eq!(&joined, &text);
            let places = positions(&text);
            let mut at = 0;
            for unit in &recorder.units {
                if !unit.text.is_empty() {
                    let (_, want) = places.iter().find(|(p, _)| *p == at).copied().unwrap();
                    prop_assert_eq!((unit.line.unwrap(), unit.col), want);
                }
                prop_assert!(unit.text.len() <= max);
                at += unit.text.len();
            }
        }
    }

    #[test]
    fn long_lines_are_cut_at_a_break_a_space_or_a_character() {
        let cut = |text: &[u8]| long_line_cut(text, text.len());
        assert_eq!(cut(b"ab\ncd ef"), 3);
        assert_eq!(cut(b"abcd ef"), 5);
        assert_eq!(cut(b"abcdefgh"), 8);
        assert_eq!(cut("身".as_bytes()), 3);
        // "身" is 3 bytes: a cut inside it moves before it.
        let text = "abcdefg身".as_bytes();
        assert_eq!(long_line_cut(text, 9), 7);
        assert_eq!(long_line_cut(text, 8), 7);
        assert_eq!(cut(text), 10);
    }
}
