//! Streaming text: stdin (`kubectl logs -f … | piscan scan -`), large
//! plain-text files, and large text members of archives (through
//! `Collector::text_stream`, their reports becoming partial reports of the
//! archive).
//!
//! The input is read in blocks of up to [`BLOCK`] bytes for stdin, or
//! [`FILE_BLOCK`] for a file (a read stops early when a pipe has nothing
//! more for now, see [`read_full`]). Each read is cut after its last `\n`;
//! the whole lines make a block, and the partial last line is carried over
//! to the next read. Each block is scanned as text on its own, as if it
//! started at line 1, and its findings are then moved to where the block
//! sits and sent to the reporter as one [`Outcome::Partial`] report. The
//! last report, at end of input, is [`Outcome::Scanned`], so the stream
//! counts as one file. A line longer than [`MAX_LINE`] is scanned in pieces
//! (cut at whitespace where possible), so memory stays bounded.
//!
//! Because blocks are independent, they are scanned in parallel: while
//! reads come back full (a file, or a pipe whose writer is ahead), blocks
//! are gathered, one per scanning thread, scanned at the same time, and
//! their reports sent in order. So one huge log uses every core, and a
//! slow pipe still gets its findings printed as soon as they are read.
//! Input that never pauses (a file, an archive member: not stdin) goes
//! one step further: each batch is scanned on threads of their own while
//! the stream's thread reads the next batch and sends the reports of the
//! one before, so the reads (the kernel's copy, a fifth of the CPU time
//! on page-cached logs) overlap the scans. When that thread scanned a
//! block of each batch as well, it did all the reading besides and was
//! the busiest by far: a 2 GiB log took 1.14 s, now 1.07 s.
//! Streams scanned at the same time (a directory of large logs, one per
//! walker thread) share the threads instead: each gathers its share of
//! blocks, so memory stays a few blocks per thread. Blocks are cut
//! where reads end, whatever the share, so findings do not depend on how
//! many streams run at once (a block's candidate counts decide which
//! chance matches are dropped, see `detect::Stats`).
//!
//! Encoding is decided on the first read (whatever it returned, so that
//! a slow writer's first line is not held back) and kept: a UTF-16 BOM or
//! NUL pattern selects a streaming UTF-16 decoder (lines are then cut in the
//! decoded text); otherwise each block is decoded on its own as UTF-8, else
//! GB18030 (a UTF-8 BOM is dropped).
//!
//! Stdin is scanned as line text whatever its name: CSV, JSON and SQL on
//! stdin give `line`/`col` findings, not fields. Container formats that
//! cannot be read as lines (gzip, zip, tar, Office, SQLite, by magic
//! number) are read as an archive member would be, and scanned as the
//! file would be: held when short, else streamed (tar, gzip) or written to
//! a temporary file (the formats whose readers seek); binary data and PDF
//! are skipped with the reason, as for files.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{self, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;

use encoding_rs::{Decoder, UTF_8};

use super::{scan_buffer, scan_input, scan_text, Reports, ScanOptions};
use crate::extract::text;
use crate::extract::{self, Format};
use crate::report::{FileReport, Outcome, PartSkip};
use crate::source;

/// Most bytes read from stdin at a time.
pub const BLOCK: usize = 1 << 20;

/// Most bytes read from a large file at a time.
pub const FILE_BLOCK: usize = 4 << 20;

/// A read this long means the writer of a pipe is ahead of us (a pipe
/// buffer holds 64 KiB): keep reading to fill a block.
const PIPE_CHUNK: usize = 64 << 10;

/// Longest run of text without a line break scanned as one piece.
pub const MAX_LINE: usize = 8 << 20;

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
    match text::utf16(data) {
        Some((enc, bom)) => {
            First::Lines(Decoding::Utf16(enc.new_decoder_without_bom_handling()), bom)
        }
        None if data.starts_with(b"\xef\xbb\xbf") => First::Lines(Decoding::Bytes, 3),
        None => First::Lines(Decoding::Bytes, 0),
    }
}

/// Where to cut text that has no line break and has grown to the line
/// limit: at [`text::space_cut`], else anywhere.
fn cut_long_line(text: &[u8]) -> usize {
    text::space_cut(text).unwrap_or(text.len())
}

thread_local! {
    /// Buffers of finished streams, for the next stream on this thread: a
    /// fresh multi-MB buffer costs more in page faults than its scan.
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// Buffers kept in [`POOL`] per thread, and the largest kept.
const POOL_BUFFERS: usize = 8;
const POOL_MAX_CAPACITY: usize = FILE_BLOCK + FILE_BLOCK / 2;

/// Frees this thread's pooled buffers: before it holds a large file
/// whole, idle blocks of its last stream (up to 8 of 4 MiB) must not stay
/// beside it.
pub fn release_pool() {
    POOL.with_borrow_mut(Vec::clear);
}

/// A buffer from the pool. Its length is how much of it was written
/// before (see [`Text`]): what it holds is not to be read.
fn pooled() -> Vec<u8> {
    POOL.with_borrow_mut(Vec::pop).unwrap_or_default()
}

/// Returns buffers to the pool (small enough ones, while there is room).
fn recycle(buffers: impl IntoIterator<Item = Vec<u8>>) {
    POOL.with_borrow_mut(|pool| {
        for buf in buffers {
            if pool.len() < POOL_BUFFERS && buf.capacity() <= POOL_MAX_CAPACITY {
                pool.push(buf);
            }
        }
    });
}

/// The read buffer of a stream, returned to the pool when dropped.
struct ReadBuffer(Vec<u8>);

impl Drop for ReadBuffer {
    fn drop(&mut self) {
        recycle([std::mem::take(&mut self.0)]);
    }
}

/// Text in a buffer that keeps its written length: the text is
/// `buf[..len]`, and the rest of `buf` was written before (by an earlier
/// read or text) and is not to be read. A read into the room after the
/// text so does not zero the buffer first: `Vec::resize` would write
/// every block twice, once with zeros and once by the read (5 % of the
/// time on page-cached logs).
struct Text {
    buf: Vec<u8>,
    len: usize,
}

impl Text {
    /// Empty text in a pooled buffer.
    fn pooled() -> Text {
        Text {
            buf: pooled(),
            len: 0,
        }
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Makes the text `data`.
    fn set(&mut self, data: &[u8]) {
        self.len = 0;
        self.room(data.len()).copy_from_slice(data);
        self.len = data.len();
    }

    /// The `size` bytes after the text, for a read; the buffer grows (and
    /// is zeroed) only past what was ever written, and to about what is
    /// asked: a 4 MiB block after a part line must not double the buffer
    /// to 8 MiB, as `Vec`'s growth would (a stream holds several).
    fn room(&mut self, size: usize) -> &mut [u8] {
        let end = self.len + size;
        if self.buf.len() < end {
            self.buf
                .reserve_exact((end + end / 64).saturating_sub(self.buf.len()));
            self.buf.resize(end, 0);
        }
        &mut self.buf[self.len..end]
    }

    /// Adds `n` bytes of the room (just read) to the text.
    fn extend(&mut self, n: usize) {
        self.len += n;
        debug_assert!(self.len <= self.buf.len());
    }

    /// Appends UTF-8 decoded from UTF-16 by `decoder`.
    fn decode_utf16(&mut self, decoder: &mut Decoder, data: &[u8], last: bool) {
        self.buf.truncate(self.len);
        text::decode_utf16(decoder, data, last, &mut self.buf);
        self.len = self.buf.len();
    }
}

/// A block of whole lines (or a piece of a long line) cut from the
/// stream, waiting to be scanned.
struct Block {
    /// Raw bytes (`Decoding::Bytes`) or UTF-8 (`Decoding::Utf16`).
    text: Text,
    /// Bytes of input it stands for.
    bytes: u64,
}

/// A block scanned as if it started at line 1, column 1: its last report
/// (the ones before went to the `flush` of [`scan_block`]).
struct Scanned {
    report: FileReport,
    /// Where the character after the block is, counted the same way.
    end: (u64, u64),
    encoding: &'static str,
}

/// Scans one block on its own (any thread), sending findings to `flush`
/// as they are found (see [`scan_text`]).
fn scan_block(
    block: &Block,
    utf16: bool,
    path: &str,
    opts: &ScanOptions,
    flush: &mut Reports<'_>,
) -> Scanned {
    let (text, encoding) = if utf16 {
        (Cow::Borrowed(block.text.bytes()), UTF_8.name())
    } else {
        text::decode_8bit(block.text.bytes())
    };
    let outcome = Outcome::Partial { bytes: block.bytes };
    let (report, end) = scan_text(&text, path.to_string(), outcome, opts, flush);
    Scanned {
        report,
        end,
        encoding,
    }
}

/// Moves the findings of a report on a block that starts at `start`.
fn shift_findings(report: &mut FileReport, start: (u64, u64)) {
    for f in &mut report.findings {
        if let (Some(line), Some(col)) = (f.line, f.col) {
            let (l, c) = shift(start, (line, col));
            (f.line, f.col) = (Some(l), Some(c));
        }
    }
}

/// Moves a position counted from line 1, column 1 to a block that starts
/// at `line`, `col`.
fn shift((line, col): (u64, u64), (rel_line, rel_col): (u64, u64)) -> (u64, u64) {
    if rel_line == 1 {
        (line, col + rel_col - 1)
    } else {
        (line + rel_line - 1, rel_col)
    }
}

/// The state of one stream being scanned.
struct Stream<'o> {
    path: String,
    opts: &'o ScanOptions,
    decoding: Decoding,
    /// Text read and not yet cut into a block; it holds no `\n`.
    pending: Text,
    /// Blocks cut and not yet scanned, in order.
    batch: Vec<Block>,
    /// Buffers of scanned blocks, for the next cuts.
    spare: Vec<Text>,
    /// Line and column of the first character of the first block.
    line: u64,
    col: u64,
    /// Bytes read and not yet in a block.
    unblocked: u64,
    /// The encoding reported: the first that was not UTF-8, if any.
    encoding: &'static str,
    /// The first block held over [`DENSE`] findings per MiB: the rest is
    /// read smaller (see [`Stream::read_size`]). Decided once, on the
    /// first block, which is scanned on its own: where blocks are cut must
    /// not depend on how many are scanned at once, since each block is
    /// judged by the statistics rule on its own (the findings would
    /// otherwise depend on `-j`).
    dense: bool,
    /// The first block was scanned and `dense` decided.
    decided: bool,
}

/// Findings per MiB of text from which a stream is dense: a line of
/// personal data every 500 bytes (logs hold about one per 10 KiB).
const DENSE: u64 = 2000;

/// Findings a block's thread may hand over before it waits for the
/// blocks before it to be sent (in reports of [`super::FLUSH_FINDINGS`]).
const HANDED_OVER: usize = 32;

/// Blocks being scanned on threads of their own, in order: the channel
/// of each one's findings, and its thread, which gives the block back.
type Flight<'s> = Vec<(
    mpsc::Receiver<FileReport>,
    thread::ScopedJoinHandle<'s, (Scanned, Block)>,
)>;

impl Drop for Stream<'_> {
    fn drop(&mut self) {
        let blocks = self.batch.drain(..).map(|b| b.text);
        let texts = self.spare.drain(..).chain(blocks);
        let pending = std::mem::take(&mut self.pending.buf);
        recycle(texts.map(|t| t.buf).chain([pending]));
    }
}

impl<'o> Stream<'o> {
    /// The bytes to read next, and the length from which a line is cut.
    /// The blocks of a batch are scanned at the same time and their
    /// findings sent in order, so a block's findings wait while the blocks
    /// before it are sent: a dense stream (a table of phone numbers, a
    /// JSON export) is read in eighths, so that few findings wait.
    fn read_size(&self, block: usize, max_line: usize) -> (usize, usize) {
        if self.dense {
            ((block / 8).max(1), (max_line / 4).max(1))
        } else {
            (block, max_line)
        }
    }

    /// Cuts the first `len` bytes of `pending` into a block: `pending`
    /// becomes the block, and the rest moves to a spare buffer.
    fn cut(&mut self, len: usize) {
        let mut rest = self.spare.pop().unwrap_or_else(Text::pooled);
        rest.set(&self.pending.bytes()[len..]);
        self.pending.len = len;
        self.batch.push(Block {
            text: std::mem::replace(&mut self.pending, rest),
            bytes: std::mem::take(&mut self.unblocked),
        });
    }

    /// Scans the blocks of the batch (in parallel when there are several)
    /// and sends their reports in order; the very last block of the stream
    /// is sent as `Scanned`, with `skipped_parts`. False when the reporter
    /// is gone.
    ///
    /// The first block is scanned on this thread and its findings sent as
    /// they are found. Each other block is scanned on a thread of its own
    /// that hands its findings over a small channel, drained when the
    /// blocks before it are done (their ends place it): a block of dense
    /// text holds 100 000s of findings, and only a few thousand wait.
    fn scan_batch(
        &mut self,
        last: bool,
        skipped_parts: Vec<PartSkip>,
        send: &mut Reports<'_>,
    ) -> bool {
        let mut blocks = std::mem::take(&mut self.batch);
        let count = blocks.len();
        let bytes: u64 = blocks.iter().map(|b| b.text.len as u64).sum();
        let first = (!blocks.is_empty()).then(|| blocks.remove(0));
        let mut skipped_parts = Some(skipped_parts);
        let mut found = 0u64;
        let mut counted = |report: FileReport| {
            found += report.findings.len() as u64;
            send(report)
        };
        let send = &mut counted;
        let alive = thread::scope(|scope| {
            let flight = self.spawn(scope, blocks);
            let mut alive = true;
            if let Some(first) = first {
                let start = (self.line, self.col);
                let mut forward = |mut report: FileReport| {
                    shift_findings(&mut report, start);
                    send(report)
                };
                let scanned = self.scan_here(&first, &mut forward);
                self.spare.push(first.text);
                let tail = (last && count == 1).then(|| skipped_parts.take());
                alive = self.finish_block(scanned, start, tail.flatten(), send);
            }
            alive && self.land(flight, last.then(|| skipped_parts.take()).flatten(), send)
        });
        if !self.decided {
            self.dense = found * (1 << 20) > DENSE * bytes;
            self.decided = true;
        }
        alive
    }

    /// Whether the blocks hold UTF-8 decoded from UTF-16 (else raw bytes).
    fn utf16(&self) -> bool {
        matches!(self.decoding, Decoding::Utf16(_))
    }

    /// Scans a block on this thread.
    fn scan_here(&self, block: &Block, flush: &mut Reports<'_>) -> Scanned {
        scan_block(block, self.utf16(), &self.path, self.opts, flush)
    }

    /// Starts scanning `blocks`, each on a thread of its own that hands
    /// its findings over a small channel; [`Stream::land`] sends them.
    fn spawn<'s>(&self, scope: &'s thread::Scope<'s, '_>, blocks: Vec<Block>) -> Flight<'s>
    where
        'o: 's,
    {
        let (utf16, path, opts) = (self.utf16(), self.path.clone(), self.opts);
        blocks
            .into_iter()
            .map(|block| {
                let (tx, rx) = mpsc::sync_channel::<FileReport>(HANDED_OVER);
                let path = path.clone();
                let scan = scope.spawn(move || {
                    let scanned =
                        scan_block(&block, utf16, &path, opts, &mut |r| tx.send(r).is_ok());
                    (scanned, block)
                });
                (rx, scan)
            })
            .collect()
    }

    /// Sends the reports of the blocks of `flight` in order, each
    /// placed after the one before; with `tail` (the skipped parts of the
    /// stream) the last one is the stream's last report. False when the
    /// reporter is gone.
    fn land(
        &mut self,
        flight: Flight<'_>,
        mut tail: Option<Vec<PartSkip>>,
        send: &mut Reports<'_>,
    ) -> bool {
        let count = flight.len();
        let mut alive = true;
        for (i, (handed, scan)) in flight.into_iter().enumerate() {
            let start = (self.line, self.col);
            if alive {
                for mut report in handed.iter() {
                    shift_findings(&mut report, start);
                    if !send(report) {
                        alive = false;
                        break;
                    }
                }
            }
            // Dropped, so that a scan still sending stops.
            drop(handed);
            let (scanned, block) = scan.join().expect("a block scan panicked");
            self.spare.push(block.text);
            let tail = if i + 1 == count { tail.take() } else { None };
            alive = alive && self.finish_block(scanned, start, tail, send);
        }
        alive
    }

    /// Sends the last report of a block that started at `start`, and moves
    /// on past it; with `tail` (the skipped parts of the stream) it is the
    /// stream's last report, `Scanned`.
    fn finish_block(
        &mut self,
        mut block: Scanned,
        start: (u64, u64),
        tail: Option<Vec<PartSkip>>,
        send: &mut Reports<'_>,
    ) -> bool {
        shift_findings(&mut block.report, start);
        (self.line, self.col) = shift(start, block.end);
        if self.encoding == UTF_8.name() {
            self.encoding = block.encoding;
        }
        if let Some(skipped_parts) = tail {
            let Outcome::Partial { bytes } = block.report.outcome else {
                unreachable!("blocks are scanned as partial");
            };
            block.report.outcome = Outcome::Scanned {
                bytes,
                encoding: self.encoding,
            };
            block.report.skipped_parts.extend(skipped_parts);
        }
        send(block.report)
    }
}

/// Scans `input` as a stream of lines named `path`, reading at most `block`
/// bytes at a time, and sends reports to `send` as soon as they are
/// scanned; stops when `send` returns false (the reporter is gone) and
/// returns whether it is still there. Lines longer than `max_line` bytes
/// are scanned in pieces.
///
/// While reads return full blocks (a file, or a pipe with a backlog),
/// blocks are gathered and scanned in parallel, as many as
/// [`ScanOptions::block_threads`]; a short read (a pipe that has
/// nothing more for now) scans what there is at once, so live output is
/// not held back. Unless the input is `live` (a pipe, whose writer may
/// pause after a full read), the next batch is read while one scans.
pub fn scan_stream<R: Read>(
    mut input: R,
    path: String,
    opts: &ScanOptions,
    block: usize,
    max_line: usize,
    live: bool,
    send: &mut Reports<'_>,
) -> bool {
    let block = block.max(1);
    let mut buf = ReadBuffer(pooled());
    let buf = &mut buf.0;
    buf.resize(block, 0);
    let active = Active::enter(opts);
    let mut total = 0u64;
    let mut error = None;
    let mut stream: Option<Stream<'_>> = None;
    // The length of the byte order mark the first read starts with.
    let mut bom = 0;
    // A batch of blocks scanning on threads of their own while the next
    // is read (see `ahead` below).
    thread::scope(|scope| {
        let mut flight: Option<Flight<'_>> = None;
        loop {
            let (size, line_cut) = stream
                .as_ref()
                .map_or((block, max_line), |s| s.read_size(block, max_line));
            // UTF-8 (or 8-bit) input is read straight after the pending part
            // line, not copied there from `buf`.
            let direct = stream
                .as_mut()
                .filter(|s| matches!(s.decoding, Decoding::Bytes));
            let read = match direct {
                Some(s) => {
                    let searched = s.pending.len;
                    let read = read_full(&mut input, s.pending.room(size));
                    s.pending.extend(*read.as_ref().unwrap_or(&0));
                    read.map(|n| (n, Some(searched)))
                }
                None => read_full(&mut input, &mut buf[..size]).map(|n| (n, None)),
            };
            let (n, searched) = match read {
                Ok((0, _)) => break,
                Ok(read) => read,
                Err(err) => {
                    error = Some(err);
                    break;
                }
            };
            total += n as u64;
            if stream.is_none() {
                let data = &buf[..n];
                let decoding;
                (decoding, bom) = match first(&path, data) {
                    First::Lines(decoding, bom) => (decoding, bom),
                    First::Skip(what) => return send(FileReport::skipped(path, what.to_string())),
                    First::Whole => {
                        return scan_input(data.chain(input), path, opts, send);
                    }
                };
                stream = Some(Stream {
                    path: path.clone(),
                    opts,
                    encoding: match &decoding {
                        Decoding::Bytes => UTF_8.name(),
                        Decoding::Utf16(d) => d.encoding().name(),
                    },
                    decoding,
                    pending: Text::pooled(),
                    batch: Vec::new(),
                    spare: Vec::new(),
                    line: 1,
                    col: 1,
                    unblocked: 0,
                    dense: false,
                    decided: false,
                });
            }
            let Some(s) = stream.as_mut() else {
                continue;
            };
            s.unblocked += n as u64;
            // `pending` holds no line break: look only at what was added.
            let searched = match (searched, &mut s.decoding) {
                (Some(searched), _) => searched,
                // The first read of UTF-8 text: its buffer becomes the pending
                // text (rather than a copy of it, and a second block held).
                (None, Decoding::Bytes) => {
                    buf.copy_within(bom..n, 0);
                    std::mem::swap(&mut s.pending.buf, buf);
                    s.pending.len = n - bom;
                    0
                }
                (None, Decoding::Utf16(decoder)) => {
                    let searched = s.pending.len;
                    let data = &buf[std::mem::take(&mut bom)..n];
                    s.pending.decode_utf16(decoder, data, false);
                    searched
                }
            };
            let pending = s.pending.bytes();
            let cut = match memchr::memrchr(b'\n', &pending[searched..]) {
                Some(i) => Some(searched + i + 1),
                None if pending.len() >= line_cut => Some(cut_long_line(pending)),
                None => None,
            };
            if let Some(len) = cut {
                s.cut(len);
            }
            let full = n == size && s.decided;
            let share = active.share(opts);
            if (full && s.batch.len() < share) || s.batch.is_empty() {
                continue;
            }
            // While the input is ahead (a file: not a pipe that may pause
            // with findings waiting), every block of the batch is scanned
            // on a thread of its own while this one reads the next batch,
            // and the batch before is sent meanwhile: this thread only
            // reads and sends. Scanning a block here as well made it the
            // busiest, with the reads on it alone.
            let ahead = full && !live && share > 1;
            let earlier = if ahead {
                let blocks = std::mem::take(&mut s.batch);
                flight.replace(s.spawn(scope, blocks))
            } else {
                flight.take()
            };
            if let Some(earlier) = earlier {
                if !s.land(earlier, None, send) {
                    return false;
                }
            }
            if !ahead && !s.scan_batch(false, Vec::new(), send) {
                return false;
            }
        }
        let skipped_parts = match error {
            Some(err) if total == 0 => {
                let reason = source::read_failure(&err);
                return send(FileReport::skipped(path, reason));
            }
            Some(err) => vec![PartSkip {
                part: format!("the rest, after byte {total}"),
                reason: source::read_failure(&err),
            }],
            None => Vec::new(),
        };
        match &mut stream {
            Some(s) => {
                if let Some(earlier) = flight.take() {
                    if !s.land(earlier, None, send) {
                        return false;
                    }
                }
                if let Decoding::Utf16(decoder) = &mut s.decoding {
                    s.pending.decode_utf16(decoder, &[], true);
                }
                let rest = s.pending.len;
                s.cut(rest);
                s.scan_batch(true, skipped_parts, send)
            }
            // Empty input: an empty file.
            None => send(scan_buffer(&[], path, opts)),
        }
    })
}

/// One stream counted in [`ScanOptions::streams`] while it lives. The
/// streams of a scan share the scanning threads: with as many files
/// streamed at once as there are threads (a directory of large logs), each
/// scans one block at a time; a single large file gets every thread.
struct Active<'o>(&'o AtomicUsize);

impl<'o> Active<'o> {
    fn enter(opts: &'o ScanOptions) -> Active<'o> {
        let count = &*opts.streams.0;
        count.fetch_add(1, Ordering::Relaxed);
        Active(count)
    }

    /// Streams of the scan, this one included.
    fn streams(&self) -> usize {
        self.0.load(Ordering::Relaxed).max(1)
    }

    /// How many blocks a stream gathers and scans at the same time: its
    /// share of the threads, at least one.
    fn share(&self, opts: &ScanOptions) -> usize {
        (opts.block_threads() / self.streams()).max(1)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Reads into `buf` until it is full, the input ends, or a read returns
/// less than [`PIPE_CHUNK`] (a pipe that has nothing more for now: what
/// there is gets scanned without waiting).
///
/// An error after some bytes is not kept: a pipe's (or [`Filled`] input's)
/// comes back on the next read.
fn read_full<R: Read>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    Filled::new(input).fill(buf, PIPE_CHUNK)
}

/// Input that is not a pipe (a file, the rest of one after its head, a
/// decompressing reader), whose reads fill the buffer unless the input
/// ends: its short reads (the head's end, a few KB out of a decompressor)
/// are no pipe with nothing more for now, and must not cut a block short.
pub(super) struct Filled<R> {
    inner: R,
    /// An error met after some bytes were read: those are returned first,
    /// and the error on the next read. A decompressor reports a bad
    /// checksum once, then reads as ended; a tar member's reader has
    /// nothing left to read after its last bytes: neither would say it
    /// again.
    error: Option<io::Error>,
}

impl<R: Read> Filled<R> {
    pub(super) fn new(inner: R) -> Self {
        Filled { inner, error: None }
    }

    /// Reads into `buf` until it is full, the input ends, an error comes
    /// (kept for the next read when bytes were read), or a read returns
    /// less than `short` bytes. Retries interrupted reads.
    fn fill(&mut self, buf: &mut [u8], short: usize) -> io::Result<usize> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => {
                    filled += n;
                    if n < short {
                        break;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) if filled == 0 => return Err(err),
                Err(err) => {
                    self.error = Some(err);
                    break;
                }
            }
        }
        Ok(filled)
    }
}

impl<R: Read> Read for Filled<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.fill(buf, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{self, Rng};

    #[test]
    fn text_grows_to_about_what_a_read_asks() {
        let mut text = Text {
            buf: vec![0; 1000],
            len: 900,
        };
        assert_eq!(text.room(1000).len(), 1000);
        // Not doubled, as `Vec::resize` alone would.
        assert!(
            text.buf.capacity() <= 1900 + 1900 / 64,
            "{}",
            text.buf.capacity()
        );
        assert_eq!(text.buf.len(), 1900);
    }

    #[test]
    fn the_pool_is_emptied_before_a_large_hold() {
        let buffers = || POOL.with_borrow(Vec::len);
        release_pool();
        recycle([Vec::with_capacity(1 << 10), Vec::with_capacity(1 << 10)]);
        assert_eq!(buffers(), 2);
        release_pool();
        assert_eq!(buffers(), 0);
        assert_eq!(pooled().capacity(), 0);
    }

    /// A decompressor whose data ends in a bad checksum: `data`, then one
    /// error, then the end, as flate2 reports it.
    struct BadChecksum<'a>(&'a [u8], bool);

    impl Read for BadChecksum<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return if std::mem::take(&mut self.1) {
                    Err(io::Error::new(io::ErrorKind::InvalidData, "bad checksum"))
                } else {
                    Ok(0)
                };
            }
            let n = self.0.len().min(buf.len()).min(1000);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn an_error_said_once_after_the_data_is_reported() {
        let input = "手机 13812345678\n".repeat(100);
        let mut reports = Vec::new();
        scan_stream(
            Filled::new(BadChecksum(input.as_bytes(), true)),
            "-".into(),
            &ScanOptions::default(),
            64 << 10,
            MAX_LINE,
            false,
            &mut |r| {
                reports.push(r);
                true
            },
        );
        let found: usize = reports.iter().map(|r| r.findings.len()).sum();
        assert_eq!(found, 100);
        let skips: Vec<_> = reports.iter().flat_map(|r| &r.skipped_parts).collect();
        assert_eq!(skips.len(), 1, "{skips:?}");
        assert!(skips[0].reason.contains("bad checksum"), "{skips:?}");
    }

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
            true,
            &mut |r| {
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
            .map(|f| (f.line.unwrap(), f.col.unwrap(), f.shown.to_string()))
            .collect()
    }

    /// The reports of `input` streamed from a cursor, whose full reads
    /// make blocks gathered and scanned `threads` at a time: read as a
    /// file (each batch scanned while the next is read), and the same as
    /// live input (each batch scanned before the next read).
    fn run_parallel(
        input: &[u8],
        block: usize,
        max_line: usize,
        threads: usize,
    ) -> Vec<FileReport> {
        let opts = ScanOptions {
            threads,
            ..ScanOptions::default()
        };
        let [ahead, live] = [false, true].map(|live| {
            let mut reports = Vec::new();
            let sent = scan_stream(
                io::Cursor::new(input),
                "-".to_string(),
                &opts,
                block,
                max_line,
                live,
                &mut |r| {
                    reports.push(r);
                    true
                },
            );
            assert!(sent);
            reports
        });
        assert!(ahead == live, "read ahead or not, the same reports");
        ahead
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
    fn blocks_scanned_in_parallel_keep_order_lines_and_columns() {
        let mut rng = Rng::new(11);
        let mut input = String::new();
        for i in 0..3000 {
            match i % 3 {
                0 => input.push_str(&format!("{i} 手机 {} x\n", synth::mobile(&mut rng))),
                1 => input.push_str(&format!("卡号 {} y ", synth::bank_card(&mut rng))),
                _ => input.push_str(&format!(
                    "{} {}\n",
                    "z".repeat(i % 50),
                    synth::resident_id(&mut rng)
                )),
            }
        }
        let expected = whole(input.as_bytes());
        for (block, max_line, threads) in
            [(97, 150, 4), (4096, MAX_LINE, 3), (1 << 20, MAX_LINE, 2)]
        {
            let reports = run_parallel(input.as_bytes(), block, max_line, threads);
            assert_eq!(located(&reports), expected, "{block} {max_line} {threads}");
            assert_eq!(
                reports
                    .iter()
                    .filter(|r| matches!(r.outcome, Outcome::Scanned { .. }))
                    .count(),
                1
            );
        }
    }

    /// A line of personal data every 20 bytes: blocks hand their findings
    /// over in many reports (waiting for the blocks before them), and the
    /// stream turns to smaller reads; every finding is still there, in
    /// order, at its line.
    #[test]
    fn a_dense_stream_is_sent_in_order_as_it_is_scanned() {
        let mut input = String::new();
        for i in 0..120_000u32 {
            input.push_str(&format!("{i} 138{:08}\n", 10_000_001 + i));
        }
        let expected = whole(input.as_bytes());
        assert_eq!(expected.len(), 120_000);
        let reports = run_parallel(input.as_bytes(), 1 << 20, MAX_LINE, 3);
        assert_eq!(located(&reports), expected);
        let most = reports.iter().map(|r| r.findings.len()).max();
        assert!(most <= Some(2 * crate::scan::FLUSH_FINDINGS), "{most:?}");
    }

    /// Blocks are cut in the same places whatever the number of threads
    /// (each block is judged by the statistics rule on its own, so the
    /// findings would otherwise depend on `-j`): a stream dense at first
    /// and sparse after.
    #[test]
    fn blocks_do_not_depend_on_the_number_of_threads() {
        let mut input = String::new();
        for i in 0..3_000u32 {
            input.push_str(&format!("{i} 138{:08}\n", 10_000_001 + i));
        }
        for i in 0..20_000u32 {
            input.push_str(&format!("line {i} of a log, nothing in it\n"));
        }
        let blocks = |threads| {
            let reports = run_parallel(input.as_bytes(), 64 << 10, MAX_LINE, threads);
            let bytes: Vec<u64> = reports
                .iter()
                .map(|r| match r.outcome {
                    Outcome::Partial { bytes } | Outcome::Scanned { bytes, .. } => bytes,
                    Outcome::Skipped { .. } => 0,
                })
                .collect();
            (bytes, located(&reports))
        };
        let one = blocks(1);
        assert!(one.0.len() > 10, "{:?}", one.0);
        assert_eq!(one.1.len(), 3_000);
        assert_eq!(blocks(3), one);
    }

    /// Input that is not a pipe but returns little per read (a
    /// decompressor, a file's head before its rest) gives the blocks the
    /// same input read whole gives: a `.log.gz` is judged like the log.
    #[test]
    fn filled_input_is_cut_like_a_file() {
        let mut input = String::new();
        for i in 0..20_000u32 {
            input.push_str(&format!("line {i} 手机 138{:08}\n", 10_000_001 + i));
        }
        let blocks = |reader: &mut dyn Read| {
            let mut sizes = Vec::new();
            let opts = ScanOptions::default();
            scan_stream(
                reader,
                "-".into(),
                &opts,
                64 << 10,
                MAX_LINE,
                false,
                &mut |r| {
                    sizes.push((
                        r.findings.len(),
                        matches!(r.outcome, Outcome::Partial { .. }),
                    ));
                    true
                },
            );
            sizes
        };
        let whole = blocks(&mut io::Cursor::new(input.as_bytes()));
        assert!(whole.len() > 10, "{whole:?}");
        let trickled = blocks(&mut Filled::new(Trickle(input.as_bytes(), 1000)));
        assert_eq!(trickled, whole);
        // A pipe's short reads are scanned as they come.
        assert!(blocks(&mut Trickle(input.as_bytes(), 1000)).len() > whole.len());
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
    fn binary_is_skipped_containers_are_read_as_files_empty_is_a_file() {
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
            true,
            &mut |_| {
                sent += 1;
                false
            },
        );
        assert_eq!(sent, 1);
    }
}
