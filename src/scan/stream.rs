//! Streaming stdin: `kubectl logs -f … | piscan scan -`.
//!
//! Stdin is read in blocks of up to [`BLOCK`] bytes (whatever one `read`
//! returns: a pipe gives what is there, a redirected file a full block). Each
//! read is cut after its last `\n`; the whole lines are scanned as text at
//! once and their findings sent to the reporter as one
//! [`Outcome::Partial`] report, and the partial last line is carried over
//! to the next read. The last report, at end of input, is
//! [`Outcome::Scanned`], so stdin counts as one file. Line numbers continue
//! from block to block. A line longer than [`MAX_LINE`] is scanned in
//! pieces (cut at whitespace where possible), so memory stays bounded.
//!
//! Encoding is decided on the first read (whatever it returned, so that
//! a slow writer's first line is not held back) and kept: a UTF-16 BOM or
//! NUL pattern selects a streaming UTF-16 decoder (lines are then cut in the
//! decoded text); otherwise each block is decoded on its own as UTF-8, else
//! GB18030 (a UTF-8 BOM is dropped).
//!
//! Stdin is scanned as line text whatever its name: CSV, JSON and SQL on
//! stdin give `line`/`col` findings, not fields. Container formats that
//! cannot be read as lines (gzip, zip, tar, Office, SQLite, PDF, by magic
//! number) are read whole and scanned as a file would be; binary data is
//! skipped with the reason, as for files.

use std::borrow::Cow;
use std::io::{self, Read};

use encoding_rs::{Decoder, Encoding, UTF_16BE, UTF_16LE, UTF_8};

use super::{scan_buffer, scan_text, ScanOptions};
use crate::extract::text::{self, Locator};
use crate::extract::{self, Format};
use crate::report::{FileReport, Outcome, PartSkip};
use crate::source::{self, sniff};

/// Most bytes read from stdin at a time.
pub const BLOCK: usize = 1 << 20;

/// Longest run of text without a line break scanned as one piece.
pub const MAX_LINE: usize = 64 << 20;

/// How the bytes of the stream become UTF-8 text.
enum Decoding {
    /// UTF-8 or GB18030, decided per block; carried text is raw bytes.
    Bytes,
    /// UTF-16, decoded as it is read; carried text is UTF-8.
    Utf16(Decoder),
}

/// What the first read says about the stream.
enum First {
    /// Lines of text: how to decode them, and the BOM length to drop.
    Lines(Decoding, usize),
    /// A container format: read it whole and scan it as a file.
    Whole,
    /// Binary: not scanned, with the reason.
    Skip(&'static str),
}

fn first(name: &str, data: &[u8]) -> First {
    match extract::detect_format(name, data) {
        Err(what) => return First::Skip(what),
        Ok(Format::Text | Format::Csv | Format::Json | Format::JsonLines | Format::SqlDump) => {}
        Ok(_) => return First::Whole,
    }
    if let Some((enc, bom)) = Encoding::for_bom(data) {
        if enc == UTF_8 {
            return First::Lines(Decoding::Bytes, bom);
        }
        return First::Lines(Decoding::Utf16(enc.new_decoder_without_bom_handling()), bom);
    }
    match sniff::utf16_parity(&data[..data.len().min(sniff::SNIFF_LEN)]) {
        Some(little) => {
            let enc = if little { UTF_16LE } else { UTF_16BE };
            First::Lines(Decoding::Utf16(enc.new_decoder_without_bom_handling()), 0)
        }
        None => First::Lines(Decoding::Bytes, 0),
    }
}

/// Decodes `src` with a UTF-16 decoder and appends the UTF-8 to `out`.
fn decode_utf16(decoder: &mut Decoder, src: &[u8], last: bool, out: &mut Vec<u8>) {
    let start = out.len();
    let room = decoder
        .max_utf8_buffer_length(src.len())
        .unwrap_or(src.len() * 3 + 16);
    out.resize(start + room, 0);
    let (_, _, written, _) = decoder.decode_to_utf8(src, &mut out[start..], last);
    out.truncate(start + written);
}

/// Where to cut text that has no line break and has grown to the line
/// limit: after the last whitespace or control byte in its second half (never
/// inside a UTF-8 or GB18030 character, nor inside a value), else anywhere.
fn cut_long_line(text: &[u8]) -> usize {
    match text.iter().rposition(|&b| b <= b' ') {
        Some(i) if i + 1 >= text.len() / 2 => i + 1,
        _ => text.len(),
    }
}

/// The state of one stream being scanned.
struct Stream<'o> {
    path: String,
    opts: &'o ScanOptions,
    decoding: Decoding,
    /// Text read and not yet scanned; it holds no `\n`.
    pending: Vec<u8>,
    /// Line and column of `pending`'s first character.
    line: u64,
    col: u64,
    /// Bytes read since the last report.
    unreported: u64,
    /// The encoding reported: the first that was not UTF-8, if any.
    encoding: &'static str,
}

impl Stream<'_> {
    /// Scans the first `len` bytes of `pending` and sends their report: the
    /// last one of the stream (`Scanned`) or not (`Partial`). False when
    /// the reporter is gone.
    fn emit(
        &mut self,
        len: usize,
        last: bool,
        skipped_parts: Vec<PartSkip>,
        send: &mut impl FnMut(FileReport) -> bool,
    ) -> bool {
        let raw = &self.pending[..len];
        let text = match self.decoding {
            Decoding::Bytes => {
                let (text, encoding) = text::decode_8bit(raw);
                if self.encoding == UTF_8.name() {
                    self.encoding = encoding;
                }
                text
            }
            Decoding::Utf16(_) => Cow::Borrowed(raw),
        };
        let bytes = std::mem::take(&mut self.unreported);
        let outcome = if last {
            Outcome::Scanned {
                bytes,
                encoding: self.encoding,
            }
        } else {
            Outcome::Partial { bytes }
        };
        let mut report = scan_text(
            &text,
            self.line,
            self.col,
            self.path.clone(),
            outcome,
            self.opts,
        );
        report.skipped_parts.extend(skipped_parts);
        (self.line, self.col) = Locator::new(&text, self.line, self.col).locate(text.len());
        self.pending.drain(..len);
        send(report)
    }
}

/// Scans `input` as a stream of lines named `path`, reading at most `block`
/// bytes at a time, and sends a report per block to `send` as soon as it is
/// read; stops when `send` returns false (the reporter is gone). Lines
/// longer than `max_line` bytes are scanned in pieces.
pub fn scan_stream<R: Read>(
    mut input: R,
    path: String,
    opts: &ScanOptions,
    block: usize,
    max_line: usize,
    mut send: impl FnMut(FileReport) -> bool,
) {
    let mut buf = vec![0u8; block.max(1)];
    let mut total = 0u64;
    let mut error = None;
    let mut stream: Option<Stream<'_>> = None;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                error = Some(err);
                break;
            }
        };
        total += n as u64;
        let mut data = &buf[..n];
        if stream.is_none() {
            let (decoding, bom) = match first(&path, data) {
                First::Lines(decoding, bom) => (decoding, bom),
                First::Skip(what) => {
                    send(FileReport::skipped(path, what.to_string()));
                    return;
                }
                First::Whole => {
                    let mut all = data.to_vec();
                    let report = match input.read_to_end(&mut all) {
                        Ok(_) => scan_buffer(&all, path, opts),
                        Err(err) => FileReport::skipped(
                            path,
                            format!("unreadable: {}", source::io_message(&err)),
                        ),
                    };
                    send(report);
                    return;
                }
            };
            data = &data[bom..];
            stream = Some(Stream {
                path: path.clone(),
                opts,
                encoding: match &decoding {
                    Decoding::Bytes => UTF_8.name(),
                    Decoding::Utf16(d) => d.encoding().name(),
                },
                decoding,
                pending: Vec::new(),
                line: 1,
                col: 1,
                unreported: 0,
            });
        }
        let Some(s) = stream.as_mut() else {
            continue;
        };
        s.unreported += n as u64;
        // `pending` holds no line break: look only at what was added.
        let searched = s.pending.len();
        match &mut s.decoding {
            Decoding::Bytes => s.pending.extend_from_slice(data),
            Decoding::Utf16(decoder) => decode_utf16(decoder, data, false, &mut s.pending),
        }
        let cut = match memchr::memrchr(b'\n', &s.pending[searched..]) {
            Some(i) => Some(searched + i + 1),
            None if s.pending.len() >= max_line => Some(cut_long_line(&s.pending)),
            None => None,
        };
        if let Some(len) = cut {
            if !s.emit(len, false, Vec::new(), &mut send) {
                return;
            }
        }
    }
    let skipped_parts = match error {
        Some(err) if total == 0 => {
            let reason = format!("unreadable: {}", source::io_message(&err));
            send(FileReport::skipped(path, reason));
            return;
        }
        Some(err) => vec![PartSkip {
            part: format!("the rest, after byte {total}"),
            reason: format!("unreadable: {}", source::io_message(&err)),
        }],
        None => Vec::new(),
    };
    match &mut stream {
        Some(s) => {
            if let Decoding::Utf16(decoder) = &mut s.decoding {
                decode_utf16(decoder, &[], true, &mut s.pending);
            }
            s.emit(s.pending.len(), true, skipped_parts, &mut send);
        }
        // Empty input: an empty file.
        None => {
            send(scan_buffer(&[], path, opts));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{self, Rng};

    /// A reader returning at most `step` bytes per read, like a pipe.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn run(input: &[u8], step: usize, block: usize, max_line: usize) -> Vec<FileReport> {
        let mut reports = Vec::new();
        scan_stream(
            Trickle(input, step),
            "-".to_string(),
            &ScanOptions::default(),
            block,
            max_line,
            |r| {
                reports.push(r);
                true
            },
        );
        reports
    }

    fn located(reports: &[FileReport]) -> Vec<(u64, u64, String)> {
        reports
            .iter()
            .flat_map(|r| &r.findings)
            .map(|f| (f.line.unwrap(), f.col.unwrap(), f.shown.clone()))
            .collect()
    }

    /// The report a whole-buffer scan gives for the same text.
    fn whole(input: &[u8]) -> Vec<(u64, u64, String)> {
        located(&[scan_buffer(input, "-".to_string(), &ScanOptions::default())])
    }

    #[test]
    fn blocks_continue_line_numbers_and_count_one_file() {
        let mut rng = Rng::new(7);
        let mut input = String::new();
        for i in 0..200 {
            input.push_str(&format!("{i} 手机 {} x\n", synth::mobile(&mut rng)));
        }
        input.push_str("last 手机 13812345678"); // no final newline
        for (step, block) in [(1, 16), (7, 64), (100, 100), (4096, 4096)] {
            let reports = run(input.as_bytes(), step, block, MAX_LINE);
            assert_eq!(located(&reports), whole(input.as_bytes()), "{step} {block}");
            let (last, blocks) = reports.split_last().unwrap();
            assert!(blocks
                .iter()
                .all(|r| matches!(r.outcome, Outcome::Partial { .. })));
            assert!(matches!(last.outcome, Outcome::Scanned { .. }));
            let bytes: u64 = reports
                .iter()
                .map(|r| match r.outcome {
                    Outcome::Partial { bytes } | Outcome::Scanned { bytes, .. } => bytes,
                    Outcome::Skipped { .. } => 0,
                })
                .sum();
            assert_eq!(bytes, input.len() as u64);
        }
    }

    #[test]
    fn a_long_line_is_cut_at_whitespace_and_columns_continue() {
        let line = format!("{}手机 13812345678 tail\n", "word ".repeat(40));
        let input = line.repeat(3);
        let reports = run(input.as_bytes(), 50, 50, 64);
        assert!(reports.len() > 3, "the lines were scanned in pieces");
        assert_eq!(located(&reports), whole(input.as_bytes()));
    }

    #[test]
    fn gbk_and_utf16_streams_are_decoded() {
        let text = "姓名 张三\n手机 13812345678\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let mut utf16 = vec![0xff, 0xfe];
        utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        // Without BOM, UTF-16 is recognised by the NUL bytes of ASCII text.
        let no_bom: Vec<u8> = "user: zhang\n手机 13812345678\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        for (input, encoding) in [
            (gbk.to_vec(), "GB18030"),
            (utf16, "UTF-16LE"),
            (no_bom, "UTF-16BE"),
        ] {
            // Odd steps split characters and UTF-16 code units (the first
            // read must hold 4 code units to recognise UTF-16 without BOM).
            let reports = run(&input, 9, 9, MAX_LINE);
            assert_eq!(
                located(&reports),
                vec![(2, 4, "138****5678".into())],
                "{encoding}"
            );
            let last = reports.last().unwrap();
            assert!(
                matches!(last.outcome, Outcome::Scanned { encoding: e, .. } if e == encoding),
                "{:?}",
                last.outcome
            );
        }
    }

    #[test]
    fn binary_is_skipped_containers_are_read_whole_empty_is_a_file() {
        let reports = run(b"abc\x00def 13812345678\n", 4096, 4096, MAX_LINE);
        assert_eq!(reports.len(), 1);
        assert!(matches!(reports[0].outcome, Outcome::Skipped { .. }));

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, b"x\n\xe6\x89\x8b\xe6\x9c\xba 13812345678\n").unwrap();
        let gz = gz.finish().unwrap();
        let reports = run(&gz, 5, 5, MAX_LINE);
        assert_eq!(reports.len(), 1);
        assert_eq!(located(&reports), vec![(2, 4, "138****5678".into())]);

        let reports = run(b"", 1, 1, MAX_LINE);
        assert_eq!(reports.len(), 1);
        assert!(matches!(
            reports[0].outcome,
            Outcome::Scanned { bytes: 0, .. }
        ));
    }

    #[test]
    fn stops_when_the_reporter_is_gone() {
        let input = "手机 13812345678\n".repeat(100);
        let mut sent = 0;
        scan_stream(
            Trickle(input.as_bytes(), 20),
            "-".into(),
            &ScanOptions::default(),
            20,
            MAX_LINE,
            |_| {
                sent += 1;
                false
            },
        );
        assert_eq!(sent, 1);
    }
}
