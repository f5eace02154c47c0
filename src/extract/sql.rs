//! SQL dumps: the rows of mysqldump / MariaDB dumps, pg_dump plain text
//! (`INSERT` and `COPY … FROM stdin`), SQLite `.dump`, and the generic
//! `INSERT INTO t [(cols)] VALUES (…),(…)` scripts of Navicat, phpMyAdmin
//! and SQL Server, each value sent as its own unit with its table, row and
//! column.
//!
//! # Tokenizer design
//!
//! One forward pass over the raw bytes with a cursor; no statement or line
//! is ever copied (see *Streaming* for reading a file in a window). A dump
//! is not decoded as a whole: mysqldump without `--hex-blob` writes raw
//! binary between quotes, so the file is often not valid UTF-8 even when
//! every text value is. Each value is decoded on its own instead: valid
//! UTF-8 as is, else GB18030 if it decodes without a single error, else it
//! is binary and skipped. (UTF-16 files, which SQL
//! Server tools write, are the exception: they are transcoded to UTF-8
//! first, since no byte-level tokenizer can read them.)
//!
//! * **Statements.** At a statement start the first keyword picks a parser:
//!   `INSERT`/`REPLACE` (rows), `CREATE TABLE` (column names, kept per table
//!   for later `INSERT`s without a column list), `COPY … FROM stdin` (the
//!   tab-separated block up to `\.`), `DELIMITER` (changes the statement
//!   terminator, for trigger and procedure blocks), `SET` (dialect hints),
//!   psql meta-commands (`\connect`, `\restrict`: one line). Anything else
//!   is skipped *loosely* up to the current delimiter.
//! * **Values.** A value is an expression up to a top-level `,` or `)`. Its
//!   first text literal is the value (`'…'`, `"…"`, `N'…'`, `E'…'`,
//!   `_utf8mb4'…'`, `$$…$$`, and SQLite's `replace('…','\n',char(10))` and
//!   `unistr('…')` are evaluated); a lone number is the value (phones and
//!   cards stored as BIGINT); `NULL`, `DEFAULT`, `X'…'`, `0x…`, `b'…'` and
//!   `_binary '…'` give nothing. Only the current value is ever buffered, in
//!   one reused `Vec` (capped at [`MAX_VALUE`]); strings are scanned with
//!   `memchr` and copied in runs.
//! * **Dialects.** Backslash escapes in `'…'` are MySQL's (`\n`, `\'`, `\0`,
//!   `\Z` …) unless the dump is standard SQL: the head of the file says so
//!   (pg_dump's `standard_conforming_strings = on`, SQLite's `PRAGMA`, SQL
//!   Server's `[dbo]`), or a later `SET standard_conforming_strings`,
//!   `PRAGMA`, or the quoting of an `INSERT`'s table name (`` `t` `` or
//!   `[t]`) does; MySQL's `SQL_MODE='…NO_BACKSLASH_ESCAPES…'` turns them
//!   off too. `SET NAMES gbk` makes GBK double bytes opaque, so a trail byte
//!   `0x5C` is not taken for a backslash.
//! * **Loose skipping.** Skipped statements are still tokenized (strings,
//!   dollar quotes, comments), so a `;` inside a function body does not end
//!   them. Their text literals, their plain comments and their long numbers
//!   are sent as units without a table (an `UPDATE … SET phone='…'` or a
//!   `-- Host: 10.1.2.3` header is still scanned); executable comments
//!   (`/*!40101 … */`) are not. With the default `;` delimiter a loose skip
//!   also stops at a line that starts a new statement (`INSERT`, `CREATE`,
//!   `COPY`, `GO` …), which is how SQL Server scripts without semicolons and
//!   broken statements are resynchronised. Other `CREATE` statements
//!   (triggers, procedures, functions, views) are skipped as blocks instead:
//!   they end at the delimiter outside `BEGIN`/`CASE` … `END` and
//!   parentheses, or at a `GO` line, so the `INSERT`s of a SQLite trigger
//!   body are not taken for rows.
//! * **Places.** A value's line and column (in characters) are computed
//!   lazily by a forward-only counter, so a 1 GB single-line `INSERT` is
//!   counted once, not once per value. The column counts UTF-8 characters
//!   (GBK characters after `SET NAMES gbk`; elsewhere, bytes that are not
//!   UTF-8 continuation bytes). Positions inside a value are those of its
//!   decoded text: exact unless the value has escapes (a MySQL `\n` makes
//!   the detector's line count run one ahead of the file's).
//! * **Blocks of plain rows.** Runs of rows made only of plain literals
//!   (numbers, `NULL`, strings without escapes other than `\\`, `\'`,
//!   `\"`) are sent as one [`Rows`] block ([`Sink::rows`]) instead of value
//!   by value: a sink may pass over a block in which nothing can be a value
//!   (most rows of an application's tables) at the cost of one scan of its
//!   bytes. See the `rows` module.
//! * **Rows.** Each table's row counter runs across all its statements and
//!   `COPY` blocks; with a row limit, later rows are still tokenized (without
//!   copying or locating anything) so later tables are seen.
//! * **Malformed input** (an unterminated string, comment or tuple) is
//!   reported with [`Sink::skip`] as `malformed SQL near line N: …`. Parsing
//!   resumes at the next line that starts a statement after the start of
//!   the broken value; the bytes skipped over are sent as one raw unit, so
//!   nothing goes unscanned. Re-reading bytes already tokenized is limited to
//!   the size of the file in total, so the pass stays linear.
//! * **Streaming.** [`extract`] parses a buffer holding the whole file;
//!   [`extract_reader`] parses a reader through a window of
//!   [`STREAM_WINDOW`] bytes with the same parser, so memory is bounded
//!   whatever the length of a line (MySQL 8 writes a table as one
//!   `INSERT` line of hundreds of MB). The parser records a *checkpoint*
//!   (position, dialect, delimiter, locator, row and context: at a
//!   statement, between the tuples of an `INSERT`, at a `COPY` line) before
//!   each such piece; tables changed since are kept in an undo log. When
//!   a non-final window's end is looked at (a byte past it, a search that
//!   finds nothing, a lookahead such as a statement-starting line that
//!   reaches it), the piece is void: the state goes back to the
//!   checkpoint, the driver drops the bytes before it (counting their
//!   lines first), reads more and parses the piece again. Sink calls the
//!   void run made before it looked at the end are not made twice (they
//!   are counted and replayed silently). A piece that does not fit grows
//!   the window, up to [`STREAM_CAP`]; beyond that it is parsed as if the
//!   input ended at the window's end (reported), and a string cut that way
//!   is skipped to its closing quote, then its statement loosely. UTF-16
//!   input is transcoded chunk by chunk into the window. The units and
//!   skips are the same as [`extract`]'s, except past the cap and in the
//!   re-reading budget after errors (the bytes read so far, not the file's
//!   size).

use std::cell::Cell;
use std::collections::HashMap;
use std::io::{self, Read};
use std::rc::Rc;

use encoding_rs::{Decoder, DecoderResult, GB18030, UTF_16LE};
use memchr::{memchr, memmem};

use super::{Origin, Place, Sink, Unit};
use crate::source::sniff;

mod rows;
pub use rows::Rows;

/// Largest value buffered; longer values are cut here (and reported).
pub const MAX_VALUE: usize = 32 << 20;
/// Identifiers (table and column names) are cut at this many bytes.
const MAX_IDENT: usize = 256;
/// Column names kept per table.
const MAX_COLUMNS: usize = 4096;
/// Tables tracked by name; rows of further tables share one counter.
const MAX_TABLES: usize = 65_536;
/// Longest `DELIMITER` accepted.
const MAX_DELIMITER: usize = 16;
/// Longest `replace()` pattern evaluated.
const SMALL: usize = 16;
/// `replace(…, pattern, char(n))` pairs evaluated per value.
const MAX_PAIRS: usize = 8;

/// The encoding reported for byte-oriented dumps.
const ENCODING: &str = "SQL dump (values decoded one by one: UTF-8, else GB18030)";

/// Whether `head` (the first bytes of a file, up to 8 KiB are looked at) is a
/// SQL dump or script worth parsing as one.
///
/// True when a dump tool's header line is there (`-- MySQL dump`,
/// `-- MariaDB dump`, `-- PostgreSQL database dump`, `-- phpMyAdmin SQL
/// Dump`, a Navicat `Data Transfer` banner, `/*!40101 SET`, SSMS's
/// `/****** Object:` …), or when the first line that is not blank or a
/// comment starts with a SQL keyword (`SET`, `INSERT`, `CREATE`, `PRAGMA`,
/// `BEGIN` …) *and* some line starts with a data statement (`INSERT INTO`,
/// `REPLACE INTO`, `CREATE TABLE`, `COPY … FROM stdin`). Statements must
/// start their line, so source code that mentions SQL in a string does not
/// count. UTF-16 heads are decoded first.
pub fn looks_like_dump(head: &[u8]) -> bool {
    let head = &head[..head.len().min(sniff::SNIFF_LEN)];
    if let Some((enc, bom)) = super::text::utf16(head) {
        let body = head.get(bom..).unwrap_or_default();
        let (text, _) = enc.decode_without_bom_handling(body);
        return sniff_text(text.as_bytes());
    }
    sniff_text(head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head))
}

/// Whether `head` starts a pg_dump custom-format archive (`PGDMP`), which is
/// compressed binary and cannot be read as text.
pub fn is_pg_custom(head: &[u8]) -> bool {
    head.starts_with(b"PGDMP")
}

/// Extracts the values of the SQL dump `data` (the raw bytes of the whole
/// file) into `sink`: one unit per value with `table`, `row` (1-based per
/// table), `field` (the column name, when the statement or an earlier
/// `CREATE TABLE` gives it), `line` and `col`. Comments, and literals of
/// statements that are not rows, are sent without a table. With
/// `max_rows_per_table: Some(n)` only the first `n` rows of each table are
/// sent (the rest are skipped, and reported once per table).
pub fn extract(data: &[u8], max_rows_per_table: Option<u64>, sink: &mut dyn Sink) {
    if let Some((enc, bom)) = super::text::utf16(data) {
        let body = data.get(bom..).unwrap_or_default();
        let (text, _) = enc.decode_without_bom_handling(body);
        sink.encoding(if enc == UTF_16LE {
            "SQL dump (UTF-16LE)"
        } else {
            "SQL dump (UTF-16BE)"
        });
        Parser::new(text.as_bytes(), 0, max_rows_per_table, sink).run();
        return;
    }
    let start = if data.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    sink.encoding(ENCODING);
    Parser::new(data, start, max_rows_per_table, sink).run();
}

/// Bytes the streaming parser reads at a time: its window holds this much
/// (from the last checkpoint on) while every piece fits.
pub const STREAM_WINDOW: usize = 4 << 20;

/// Largest window of the streaming parser. A single piece (one `INSERT`
/// tuple, one statement that is not rows, one `COPY` line) that does not
/// fit is read as if the input ended at the window's end (reported with
/// [`Sink::skip`]); parsing then goes on after it.
pub const STREAM_CAP: usize = MAX_VALUE + (1 << 20);

/// Bytes kept before the checkpoint when the window moves on (the
/// dollar-quote test looks one byte back).
const BEHIND: usize = 16;

/// Bytes read (or decoded) per `read` call.
const CHUNK: usize = 64 << 10;

/// Extracts the values of the SQL dump read from `reader` into `sink`,
/// like [`extract`], with memory bounded whatever the length of its lines
/// or statements: the dump is parsed in a window of [`STREAM_WINDOW`]
/// bytes (growing up to [`STREAM_CAP`] for a single longer piece) that
/// moves on at checkpoints between statements, `INSERT` tuples and `COPY`
/// lines. UTF-16 dumps are transcoded as they are read.
///
/// `head` holds the first bytes of the file when the caller has read them
/// already (for sniffing): they are taken before `reader`, which must then
/// be positioned right after them. Pass `&[]` otherwise.
///
/// The units and skips are the same as [`extract`] gives for the whole
/// file, in the same order, except that re-reading after syntax errors is
/// limited to the bytes read so far rather than to the file's size, and
/// pieces longer than [`STREAM_CAP`] are cut. Units are sent as soon as
/// their piece is parsed. Read errors are returned (after the units of
/// what was read before them).
pub fn extract_reader(
    reader: &mut dyn Read,
    head: &[u8],
    max_rows_per_table: Option<u64>,
    sink: &mut dyn Sink,
) -> io::Result<()> {
    let limits = (STREAM_WINDOW, STREAM_CAP);
    stream(reader, head, max_rows_per_table, sink, limits).map(|_| ())
}

/// What a streamed parse cost (for tests and measurements).
#[derive(Debug, Default)]
struct Stats {
    /// Largest capacity the window buffer had.
    max_window: usize,
    /// Times the window moved on.
    refills: u64,
    /// Pieces read as if cut at the cap.
    forced: u64,
    /// Bytes dropped from the window's front so far.
    dropped: u64,
    /// Absolute end offsets of the non-final windows parsed.
    #[cfg(test)]
    borders: Vec<u64>,
}

/// [`extract_reader`] with a window of `window` bytes growing up to `cap`.
fn stream(
    reader: &mut dyn Read,
    head: &[u8],
    max_rows: Option<u64>,
    sink: &mut dyn Sink,
    (window, cap): (usize, usize),
) -> io::Result<Stats> {
    let mut input = Input {
        head,
        reader,
        decoder: None,
        chunk: vec![0; CHUNK],
        eof: false,
    };
    // Room for the window, and for the overshoot of transcoding a chunk.
    let slack = 2 * CHUNK;
    let mut win = Vec::with_capacity(window.max(sniff::SNIFF_LEN + 3) + slack);
    input.fill(&mut win, sniff::SNIFF_LEN + 3)?;
    let mut start = 0;
    if let Some((enc, bom)) = super::text::utf16(&win) {
        sink.encoding(if enc == UTF_16LE {
            "SQL dump (UTF-16LE)"
        } else {
            "SQL dump (UTF-16BE)"
        });
        let raw = std::mem::take(&mut win);
        let mut decoder = enc.new_decoder_without_bom_handling();
        decode_into(
            &mut decoder,
            raw.get(bom..).unwrap_or_default(),
            &mut win,
            input.eof,
        );
        input.decoder = Some(decoder);
        input.fill(&mut win, sniff::SNIFF_LEN)?;
    } else {
        if win.starts_with(b"\xef\xbb\xbf") {
            start = 3;
        }
        sink.encoding(ENCODING);
    }
    input.fill(&mut win, window)?;
    let mut stats = Stats {
        max_window: win.capacity(),
        ..Stats::default()
    };
    let mut parser = Parser::new(&win, start, max_rows, sink);
    parser.eof = input.eof;
    let result = loop {
        #[cfg(test)]
        if !parser.eof {
            stats.borders.push(stats.dropped + parser.data.len() as u64);
        }
        let run = parser.run();
        if run == Run::Done {
            break Ok(());
        }
        parser.settle();
        let keep = parser.pos.saturating_sub(BEHIND);
        let mut idle = parser.rebind(&[]);
        win.drain(..keep);
        idle.shift(keep);
        stats.dropped += keep as u64;
        if win.capacity() > 2 * (window + slack).max(win.len()) {
            win.shrink_to((window + slack).max(win.len()));
        }
        let have = win.len();
        let short = run == Run::Short;
        let forced = short && have >= cap;
        let mut failed = None;
        if !forced {
            let target = if short && have >= window / 2 {
                have.saturating_mul(2).min(cap)
            } else {
                window.max(have + 1)
            };
            win.reserve_exact((target + slack).saturating_sub(have));
            if let Err(e) = input.fill(&mut win, target) {
                failed = Some(e);
            }
            idle.grant(win.len() - have);
        }
        stats.refills += 1;
        stats.max_window = stats.max_window.max(win.capacity());
        parser = idle.rebind(&win);
        if let Some(e) = failed {
            // Units of what was read are out; the rest is unknown.
            break Err(e);
        }
        parser.eof = input.eof;
        if forced {
            stats.forced += 1;
            parser.force(cap);
        }
    };
    drop(parser);
    result.map(|()| stats)
}

/// The bytes of a dump as the streaming parser reads them.
struct Input<'r> {
    /// Bytes already read by the caller, taken first.
    head: &'r [u8],
    reader: &'r mut dyn Read,
    /// For UTF-16 dumps: the transcoder to UTF-8.
    decoder: Option<Decoder>,
    chunk: Vec<u8>,
    eof: bool,
}

impl Input<'_> {
    /// Appends to `win` until it holds `target` bytes or the input ends.
    fn fill(&mut self, win: &mut Vec<u8>, target: usize) -> io::Result<()> {
        while win.len() < target && !self.eof {
            let want = (target - win.len()).clamp(1, CHUNK);
            let n = self.read_chunk(want)?;
            if n == 0 {
                self.eof = true;
            }
            let bytes = self.chunk.get(..n).unwrap_or_default();
            match &mut self.decoder {
                None => win.extend_from_slice(bytes),
                Some(decoder) => decode_into(decoder, bytes, win, n == 0),
            }
        }
        Ok(())
    }

    /// Reads up to `want` bytes into `chunk`.
    fn read_chunk(&mut self, want: usize) -> io::Result<usize> {
        let want = want.min(self.chunk.len());
        if !self.head.is_empty() {
            let n = want.min(self.head.len());
            self.chunk[..n].copy_from_slice(&self.head[..n]);
            self.head = &self.head[n..];
            return Ok(n);
        }
        loop {
            match self.reader.read(&mut self.chunk[..want]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                result => return result,
            }
        }
    }
}

/// Transcodes `src` (UTF-16) onto the end of `win` (`last`: the input ends).
fn decode_into(decoder: &mut Decoder, src: &[u8], win: &mut Vec<u8>, last: bool) {
    let max = decoder
        .max_utf8_buffer_length(src.len())
        .unwrap_or(src.len() * 3 + 16);
    let old = win.len();
    win.reserve(max);
    win.resize(old + max, 0);
    let (_, read, written, _) = decoder.decode_to_utf8(src, &mut win[old..], last);
    debug_assert_eq!(read, src.len());
    win.truncate(old + written);
}

/// `n` bytes as a size in MiB, or bytes when smaller.
fn size_text(n: usize) -> String {
    if n >= 1 << 20 {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

// ---------------------------------------------------------------------------
// Sniffing
// ---------------------------------------------------------------------------

/// Header lines that only dump tools write.
const STRONG: &[&[u8]] = &[
    b"-- MySQL dump",
    b"-- MariaDB dump",
    b"-- PostgreSQL database dump",
    b"-- Dumped from database version",
    b"-- Dumped by pg_dump",
    b"-- phpMyAdmin SQL Dump",
    b"-- Adminer ",
    b"-- HeidiSQL",
    b"-- Table structure for",
    b"-- Dumping data for table",
    b"/*!40101 SET",
    b"/*!40014 SET",
    b"/*!40103 SET",
    b"/****** Object:",
];

/// Words a SQL script starts with.
const FIRST_WORDS: &[&str] = &[
    "SET",
    "INSERT",
    "REPLACE",
    "CREATE",
    "DROP",
    "BEGIN",
    "START",
    "PRAGMA",
    "USE",
    "LOCK",
    "UNLOCK",
    "COPY",
    "ALTER",
    "SELECT",
    "DELETE",
    "UPDATE",
    "COMMENT",
    "GRANT",
    "REVOKE",
    "TRUNCATE",
    "DELIMITER",
    "GO",
    "IF",
    "DECLARE",
    "COMMIT",
];

fn sniff_text(head: &[u8]) -> bool {
    let mut in_comment = false;
    let mut first: Option<bool> = None;
    let mut statements = 0usize;
    // Lines found with memchr: most text stops being looked at after a few.
    let mut rest = Some(head);
    let lines = std::iter::from_fn(|| {
        let text = rest?;
        let end = memchr(b'\n', text);
        rest = end.map(|i| &text[i + 1..]);
        Some(&text[..end.unwrap_or(text.len())])
    });
    for (n, raw) in lines.enumerate() {
        // Text that does not start like SQL is no dump, unless a tool's
        // header line follows a stray first line or two (a warning that
        // `mysqldump … 2>&1` mixed in): no need to read all of it.
        if first == Some(false) && n >= 5 {
            return false;
        }
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        // Every strong header starts with `-` or `/`.
        let strong = matches!(line.first(), Some(b'-' | b'/'))
            && STRONG.iter().any(|m| starts_with_ci(line, m));
        if strong
            || (line.starts_with(b" Navicat ") && memmem::find(line, b"Data Transfer").is_some())
        {
            return true;
        }
        if in_comment {
            in_comment = memmem::find(line, b"*/").is_none();
            continue;
        }
        let t = trim_start(line);
        if t.is_empty() || t.starts_with(b"--") || t.starts_with(b"#") {
            continue;
        }
        if let Some(body) = t.strip_prefix(b"/*") {
            in_comment = memmem::find(body, b"*/").is_none();
            continue;
        }
        if first.is_none() {
            let word_len = t
                .iter()
                .position(|b| !b.is_ascii_alphabetic())
                .unwrap_or(t.len());
            let word = &t[..word_len];
            first = Some(
                FIRST_WORDS
                    .iter()
                    .any(|k| word.eq_ignore_ascii_case(k.as_bytes())),
            );
        }
        // Statements count only for text that starts like SQL.
        if first == Some(true) && statement_line(line) {
            statements += 1;
        }
    }
    first == Some(true) && statements > 0
}

/// A line that starts a data statement.
fn statement_line(line: &[u8]) -> bool {
    const STARTS: &[&[u8]] = &[
        b"INSERT INTO",
        b"INSERT IGNORE INTO",
        b"INSERT OR ",
        b"INSERT [",
        b"REPLACE INTO",
        b"CREATE TABLE",
        b"CREATE TEMPORARY TABLE",
    ];
    STARTS.iter().any(|s| starts_with_ci(line, s))
        || (starts_with_ci(line, b"COPY ") && find_ci(line, b"FROM stdin").is_some())
}

fn starts_with_ci(hay: &[u8], prefix: &[u8]) -> bool {
    hay.get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
}

/// Case-insensitive search for an ASCII needle.
fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c))
        .unwrap_or(s.len());
    &s[n..]
}

fn trim(s: &[u8]) -> &[u8] {
    let s = trim_start(s);
    let n = s
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c))
        .map_or(0, |i| i + 1);
    &s[..n]
}

/// Whether the dump's head says it is MySQL-flavoured (backslash escapes).
fn mysql_head(head: &[u8]) -> bool {
    const MYSQL: &[&[u8]] = &[
        b"-- MySQL dump",
        b"-- MariaDB dump",
        b"/*!40",
        b"ENGINE=",
        b"LOCK TABLES",
        b"phpMyAdmin",
        b"Source Server Type    : MySQL",
        b"Source Server Type    : MariaDB",
    ];
    const STANDARD: &[&[u8]] = &[
        b"PostgreSQL database dump",
        b"standard_conforming_strings = on",
        b"PRAGMA ",
        b"BEGIN TRANSACTION;",
        b"[dbo]",
        b"SET ANSI_NULLS",
        b"SET QUOTED_IDENTIFIER",
        b"Source Server Type    : PostgreSQL",
        b"Source Server Type    : SQLite",
        b"Source Server Type    : SQL Server",
    ];
    if MYSQL.iter().any(|m| memmem::find(head, m).is_some()) {
        return true;
    }
    !STANDARD.iter().any(|m| memmem::find(head, m).is_some())
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/// First byte of a bare identifier.
fn ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

/// A byte of a bare identifier.
fn ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

fn eq(word: &[u8], keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword.as_bytes())
}

/// Characters in `s`: bytes that are not UTF-8 continuation bytes, or, in
/// a GBK dump, GBK characters.
fn chars(s: &[u8], gbk: bool) -> u64 {
    if !gbk {
        return super::text::chars(s);
    }
    let mut n = 0;
    let mut k = 0;
    while let Some(&b) = s.get(k) {
        k += if gbk_double(b, s.get(k + 1).copied()) {
            2
        } else {
            1
        };
        n += 1;
    }
    n
}

/// Whether `lead` and `trail` form a GBK double byte.
fn gbk_double(lead: u8, trail: Option<u8>) -> bool {
    (0x81..=0xfe).contains(&lead) && trail.is_some_and(|t| (0x40..=0xfe).contains(&t) && t != 0x7f)
}

/// Appends `bytes` to `out` up to `cap` bytes; sets `cut` when some were
/// dropped.
fn push_capped(out: &mut Vec<u8>, bytes: &[u8], cap: usize, cut: &mut bool) {
    let room = cap.saturating_sub(out.len());
    if bytes.len() > room {
        *cut = true;
        out.extend_from_slice(&bytes[..room]);
    } else {
        out.extend_from_slice(bytes);
    }
}

/// pg `bytea` in hex output: `\x` and hex digits only.
fn is_bytea_hex(value: &[u8]) -> bool {
    value
        .strip_prefix(b"\\x")
        .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
}

/// Encoding names that mean GBK double bytes.
fn is_gbk_name(name: &[u8]) -> bool {
    ["gbk", "gb2312", "gb18030", "cp936"]
        .iter()
        .any(|n| eq(name, n))
}

/// The value after `key` in a `SET key = value` / `SET key TO 'value'` text.
fn setting<'a>(stmt: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let at = find_ci(stmt, key)?;
    let mut rest = stmt.get(at + key.len()..)?;
    rest = trim_start(rest);
    if let Some(r) = rest.strip_prefix(b"=") {
        rest = trim_start(r);
    } else if starts_with_ci(rest, b"TO ") {
        rest = trim_start(rest.get(3..)?);
    }
    if let Some(r) = rest.strip_prefix(b"'") {
        rest = r;
    }
    let n = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-'))
        .unwrap_or(rest.len());
    Some(&rest[..n])
}

/// Decodes one value: valid UTF-8 as is, else GB18030 without a single
/// error (into `scratch`), else `None` (binary).
fn decode_value<'a>(raw: &'a [u8], scratch: &'a mut Vec<u8>) -> Option<&'a [u8]> {
    if simdutf8::basic::from_utf8(raw).is_ok() {
        return Some(raw);
    }
    let mut decoder = GB18030.new_decoder_without_bom_handling();
    let max = decoder.max_utf8_buffer_length_without_replacement(raw.len())?;
    scratch.clear();
    scratch.resize(max, 0);
    let (result, _, written) = decoder.decode_to_utf8_without_replacement(raw, scratch, true);
    match result {
        DecoderResult::InputEmpty => Some(scratch.get(..written).unwrap_or_default()),
        _ => None,
    }
}

/// Decodes an identifier (UTF-8, else GB18030, else lossy), cut to
/// [`MAX_IDENT`] bytes on a character boundary.
fn decode_name(raw: &[u8]) -> String {
    let mut name = match std::str::from_utf8(raw) {
        Ok(s) => s.to_string(),
        // Cut inside the last character.
        Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => {
            String::from_utf8_lossy(&raw[..e.valid_up_to()]).into_owned()
        }
        Err(_) => match GB18030.decode_without_bom_handling_and_without_replacement(raw) {
            Some(s) => s.into_owned(),
            None => String::from_utf8_lossy(raw).into_owned(),
        },
    };
    if name.len() > MAX_IDENT {
        let mut cut = MAX_IDENT;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
    }
    name
}

/// Replaces every `pat` in `buf` by `rep` (via `scratch`).
fn replace_all(buf: &mut Vec<u8>, pat: &[u8], rep: &[u8], scratch: &mut Vec<u8>) {
    if pat.is_empty() || memmem::find(buf, pat).is_none() {
        return;
    }
    scratch.clear();
    let mut last = 0;
    for i in memmem::find_iter(buf.as_slice(), pat) {
        scratch.extend_from_slice(buf.get(last..i).unwrap_or_default());
        scratch.extend_from_slice(rep);
        last = i + pat.len();
    }
    scratch.extend_from_slice(buf.get(last..).unwrap_or_default());
    std::mem::swap(buf, scratch);
}

/// The value of up to `max` hex digits at the start of `s`, and how many
/// were read.
fn hex_prefix(s: &[u8], max: usize) -> (u32, usize) {
    let mut value = 0u32;
    let mut n = 0;
    while n < max {
        let Some(d) = s.get(n).and_then(|&b| (b as char).to_digit(16)) else {
            break;
        };
        value = value.wrapping_mul(16).wrapping_add(d);
        n += 1;
    }
    (value, n)
}

/// Pushes the UTF-8 encoding of code point `cp` (nothing when invalid).
fn push_char(out: &mut Vec<u8>, cp: u32) {
    if let Some(c) = char::from_u32(cp) {
        let mut tmp = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
    }
}

/// SQLite `unistr()`: `\XXXX`, `\uXXXX`, `\+XXXXXX`, `\UXXXXXXXX`, `\\`.
fn unistr(buf: &mut Vec<u8>, scratch: &mut Vec<u8>) {
    if memchr(b'\\', buf).is_none() {
        return;
    }
    scratch.clear();
    let mut i = 0;
    while let Some(&b) = buf.get(i) {
        if b != b'\\' {
            scratch.push(b);
            i += 1;
            continue;
        }
        let rest = buf.get(i + 1..).unwrap_or_default();
        let (skip, digits) = match rest.first() {
            Some(b'\\') => {
                scratch.push(b'\\');
                i += 2;
                continue;
            }
            Some(b'u') => (1, 4),
            Some(b'+') => (1, 6),
            Some(b'U') => (1, 8),
            _ => (0, 4),
        };
        let (cp, n) = hex_prefix(rest.get(skip..).unwrap_or_default(), digits);
        if n == digits {
            push_char(scratch, cp);
            i += 1 + skip + n;
        } else {
            scratch.push(b'\\');
            i += 1;
        }
    }
    std::mem::swap(buf, scratch);
}

/// Undoes pg `COPY` text-format escapes of one field into `out`.
fn copy_unescape(field: &[u8], out: &mut Vec<u8>, cut: &mut bool) {
    let mut i = 0;
    while i < field.len() {
        let rest = field.get(i..).unwrap_or_default();
        let Some(k) = memchr(b'\\', rest) else {
            push_capped(out, rest, MAX_VALUE, cut);
            return;
        };
        push_capped(out, &rest[..k], MAX_VALUE, cut);
        i += k + 1;
        let Some(&c) = field.get(i) else {
            push_capped(out, b"\\", MAX_VALUE, cut);
            return;
        };
        let mut byte = [c];
        i += 1;
        match c {
            b'b' => byte[0] = 8,
            b'f' => byte[0] = 12,
            b'n' => byte[0] = b'\n',
            b'r' => byte[0] = b'\r',
            b't' => byte[0] = b'\t',
            b'v' => byte[0] = 11,
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                let mut n = 1;
                while n < 3 {
                    match field.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                            n += 1;
                        }
                        _ => break,
                    }
                }
                byte[0] = (v & 0xff) as u8;
            }
            b'x' => {
                let (v, n) = hex_prefix(field.get(i..).unwrap_or_default(), 2);
                if n > 0 {
                    byte[0] = v as u8;
                    i += n;
                }
            }
            _ => {}
        }
        push_capped(out, &byte, MAX_VALUE, cut);
    }
}

/// Whether a line starting at `p` starts a statement: where a broken or
/// `;`-less statement is taken to end.
fn line_starts_statement(data: &[u8], p: usize) -> bool {
    const RESTART: &[&[u8]] = &[
        b"INSERT",
        b"REPLACE",
        b"COPY",
        b"CREATE",
        b"DROP",
        b"LOCK",
        b"UNLOCK",
        b"GO",
        b"DELIMITER",
    ];
    let rest = data.get(p..).unwrap_or_default();
    RESTART.iter().any(|k| {
        starts_with_ci(rest, k) && rest.get(k.len()).is_none_or(|&b| is_space(b) || b == b';')
    })
}

// ---------------------------------------------------------------------------
// Line and column
// ---------------------------------------------------------------------------

/// Byte offsets to 1-based line and character column, forward only: each
/// byte is counted once however many values a line holds.
#[derive(Debug, Clone, Copy)]
struct Locator {
    /// Count GBK double bytes as one character.
    gbk: bool,
    pos: usize,
    line: u64,
    /// Column of the character at `pos`.
    col: u64,
}

impl Locator {
    /// Line and column of `p`; a `p` behind the last one asked for gets the
    /// last answer (callers ask in order).
    fn locate(&mut self, data: &[u8], p: usize) -> (u64, u64) {
        let gbk = self.gbk;
        let p = p.min(data.len());
        if p > self.pos {
            let span = data.get(self.pos..p).unwrap_or_default();
            (self.line, self.col) = advance((self.line, self.col), span, gbk);
            self.pos = p;
        }
        (self.line, self.col)
    }
}

/// Line and column after `span`, which starts at line and column `at`.
fn advance((line, col): (u64, u64), span: &[u8], gbk: bool) -> (u64, u64) {
    match memchr::memrchr(b'\n', span) {
        Some(last) => (
            line + memchr::memchr_iter(b'\n', span).count() as u64,
            1 + chars(span.get(last + 1..).unwrap_or_default(), gbk),
        ),
        None => (line, col + chars(span, gbk)),
    }
}

/// [`Locator::locate`] on a shared locator.
fn locate(loc: &Cell<Locator>, data: &[u8], p: usize) -> (u64, u64) {
    let mut l = loc.get();
    let at = l.locate(data, p);
    loc.set(l);
    at
}

// ---------------------------------------------------------------------------
// The parser
// ---------------------------------------------------------------------------

/// What is known about a table.
#[derive(Debug, Default, Clone)]
struct TableState {
    /// Column names from its `CREATE TABLE`.
    columns: Rc<[String]>,
    /// Rows seen so far.
    rows: u64,
    /// The row limit was reported.
    capped: bool,
}

/// A syntax error: the value or statement it broke (`anchor`) and where it
/// was noticed (`at`).
#[derive(Debug)]
struct Malformed {
    anchor: usize,
    at: usize,
    what: &'static str,
}

/// Backslash escapes inside a quoted string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escapes {
    /// Standard SQL: only doubled quotes.
    Plain,
    /// MySQL: `\n`, `\'`, `\0`, `\Z` … and doubled quotes.
    MySql,
    /// PostgreSQL `E'…'`: C-like escapes, octal, hex, `\u`.
    PgE,
}

/// Where the content of a scanned string goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Capture {
    Skip,
    /// Into the value buffer.
    Value,
    /// Into the small buffer (a `replace()` pattern).
    Small,
}

/// How a value ended.
enum End {
    Comma,
    Close,
}

/// How a loose skip ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A statement: at the delimiter, or before a line that starts one.
    Statement,
    /// A `CREATE TABLE` element: also at a top-level `,` or `)`.
    List,
    /// A `CREATE TRIGGER/PROCEDURE/FUNCTION/VIEW …`: at the delimiter
    /// outside `BEGIN`/`CASE` … `END` and parentheses (with the `;`
    /// delimiter), or before a `GO` line; a body's statements are not rows.
    Block,
}

/// Where a loose skip stopped (the stopping byte is not consumed).
#[derive(Debug, PartialEq, Eq)]
enum LooseEnd {
    Delimiter,
    Comma,
    Close,
    Keyword,
    Eof,
}

/// The function a value expression starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    None,
    Replace,
    Unistr,
    Other,
}

/// What one value expression holds so far.
struct Expr {
    start: usize,
    /// Content start and end of the first literal, when it is text.
    text: Option<(usize, usize)>,
    /// A literal (text or binary) was seen.
    literal: bool,
    func: Func,
    /// The small buffer holds a `replace()` pattern awaiting its `char()`.
    pattern: bool,
}

struct Parser<'d, 's> {
    data: &'d [u8],
    pos: usize,
    sink: &'s mut dyn Sink,
    max_rows: Option<u64>,
    /// The statement terminator (`DELIMITER`).
    delim: Rc<[u8]>,
    /// MySQL syntax: `#` comments, `"…"` strings.
    mysql: bool,
    /// Backslash escapes in plain strings.
    backslash: bool,
    /// MySQL's `sql_mode` has `NO_BACKSLASH_ESCAPES`.
    no_backslash: bool,
    /// GBK double bytes are opaque inside strings.
    gbk: bool,
    /// Per table seen, its rows (foldhash: three lookups per row).
    tables: HashMap<Rc<str>, TableState, foldhash::fast::RandomState>,
    /// Shared by tables beyond [`MAX_TABLES`].
    overflow: TableState,
    /// Counts lines and columns up to the last position asked for; a
    /// `Cell` so that a unit's [`Origin`] can move it while the sink holds
    /// the parser's other fields.
    loc: Cell<Locator>,
    /// End of the source of the last unit sent.
    emitted_to: usize,
    /// Bytes that may still be tokenized a second time after errors.
    budget: usize,
    /// Row of the tuple being parsed.
    row: u64,
    /// Line of the current statement's first byte.
    stmt_line: u64,
    /// When to look for plain rows again.
    plain: Backoff,
    /// The current value.
    buf: Vec<u8>,
    /// `buf` was cut at [`MAX_VALUE`].
    cut: bool,
    small: Vec<u8>,
    small_cut: bool,
    scratch: Vec<u8>,
    /// `replace()` pairs of the current value: pattern, replacement.
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
    /// The counts of the last block of plain rows ([`Rows::sent`]).
    sent: Vec<u64>,
    // -- streaming (see the module doc) --------------------------------------
    /// `data` ends where the input ends; when false, running into its end
    /// sets `short` instead of taking it for the end of the dump.
    eof: bool,
    /// Something at or past the end of a non-final window was looked at:
    /// what was parsed since the last checkpoint depends on bytes not read
    /// yet, and is parsed again from the checkpoint once they are.
    short: Cell<bool>,
    /// The last checkpoint (only kept while `!eof`).
    cp: Checkpoint,
    /// Where [`Parser::run`] resumes: the checkpoint's context.
    resume: Option<Resume>,
    /// Tables as they were at the checkpoint, for those changed since.
    undo: Vec<(Rc<str>, Option<TableState>)>,
    /// Sink calls since the checkpoint (those made before `short`).
    emits: u64,
    /// The first this many sink calls after the checkpoint were made by an
    /// earlier, short run: they are not made again.
    replay: u64,
    /// The step from the checkpoint at this position is parsed as if the
    /// window ended the input (it outgrew the window's cap).
    forced: Option<usize>,
    /// A string ran into the end of a forced window: its quote and escapes.
    cut_string: Option<(u8, Escapes)>,
}

/// Where parsing can resume at a checkpoint.
#[derive(Debug, Clone)]
enum Resume {
    /// At a statement.
    Statement,
    /// Between the tuples of an `INSERT` (before the `(` of the next one).
    Tuples {
        table: Rc<str>,
        columns: Rc<[String]>,
    },
    /// At a line of a `COPY` block.
    Copy {
        table: Rc<str>,
        columns: Rc<[String]>,
        csv: bool,
    },
    /// Inside a string longer than the window's cap (its start was sent
    /// raw): skip to its end, then the rest of its statement loosely.
    SkipString { quote: u8, esc: Escapes },
}

/// The parser's state at a point where it can resume (window-relative
/// positions); tables are restored from [`Parser::undo`].
#[derive(Debug, Clone)]
struct Checkpoint {
    pos: usize,
    resume: Resume,
    delim: Rc<[u8]>,
    mysql: bool,
    backslash: bool,
    no_backslash: bool,
    gbk: bool,
    overflow: TableState,
    loc: Locator,
    emitted_to: usize,
    budget: usize,
    row: u64,
    stmt_line: u64,
    plain: Backoff,
}

/// When [`Parser::plain_rows`] looks for a block again after rows that
/// were not plain: after 1, 2, 4 … up to 256 rows as failures follow each
/// other, so that a table whose every row has an escape does not have
/// each row read twice. Part of the checkpoint: a run from it must make
/// the same choices.
#[derive(Debug, Clone, Copy, Default)]
struct Backoff {
    /// Rows still to go the usual way.
    skip: u32,
    /// The next wait after a failure.
    wait: u32,
}

/// How [`Parser::run`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    /// At the end of the input.
    Done,
    /// At the end of a non-final window, at a checkpoint.
    Exhausted,
    /// A step from the checkpoint needs bytes past the window.
    Short,
}

impl<'d, 's> Parser<'d, 's> {
    fn new(
        data: &'d [u8],
        start: usize,
        max_rows: Option<u64>,
        sink: &'s mut dyn Sink,
    ) -> Parser<'d, 's> {
        let start = start.min(data.len());
        let head = &data[start..data.len().min(start + sniff::SNIFF_LEN)];
        let loc = Locator {
            gbk: false,
            pos: start,
            line: 1,
            col: 1,
        };
        let delim: Rc<[u8]> = Rc::from(&b";"[..]);
        Parser {
            data,
            pos: start,
            sink,
            max_rows,
            delim: Rc::clone(&delim),
            mysql: mysql_head(head),
            backslash: mysql_head(head),
            no_backslash: false,
            gbk: false,
            tables: HashMap::default(),
            overflow: TableState::default(),
            loc: Cell::new(loc),
            emitted_to: start,
            budget: data.len(),
            row: 0,
            stmt_line: 1,
            plain: Backoff::default(),
            buf: Vec::new(),
            cut: false,
            small: Vec::new(),
            small_cut: false,
            scratch: Vec::new(),
            pairs: Vec::new(),
            sent: Vec::new(),
            eof: true,
            short: Cell::new(false),
            cp: Checkpoint {
                pos: start,
                resume: Resume::Statement,
                delim,
                mysql: false,
                backslash: false,
                no_backslash: false,
                gbk: false,
                overflow: TableState::default(),
                loc,
                emitted_to: start,
                budget: data.len(),
                row: 0,
                stmt_line: 1,
                plain: Backoff::default(),
            },
            resume: None,
            undo: Vec::new(),
            emits: 0,
            replay: 0,
            forced: None,
            cut_string: None,
        }
    }

    /// The same parser over another window (the driver moves the bytes and
    /// shifts the positions).
    fn rebind<'e>(self, data: &'e [u8]) -> Parser<'e, 's> {
        Parser {
            data,
            pos: self.pos,
            sink: self.sink,
            max_rows: self.max_rows,
            delim: self.delim,
            mysql: self.mysql,
            backslash: self.backslash,
            no_backslash: self.no_backslash,
            gbk: self.gbk,
            tables: self.tables,
            overflow: self.overflow,
            loc: self.loc,
            emitted_to: self.emitted_to,
            budget: self.budget,
            row: self.row,
            stmt_line: self.stmt_line,
            plain: self.plain,
            buf: self.buf,
            cut: self.cut,
            small: self.small,
            small_cut: self.small_cut,
            scratch: self.scratch,
            pairs: self.pairs,
            sent: self.sent,
            eof: self.eof,
            short: self.short,
            cp: self.cp,
            resume: self.resume,
            undo: self.undo,
            emits: self.emits,
            replay: self.replay,
            forced: self.forced,
            cut_string: self.cut_string,
        }
    }

    /// Notes that the parse looked at the end of the window.
    fn hit_end(&self) {
        if !self.eof {
            self.short.set(true);
        }
    }

    /// Notes when the `n` bytes from `p` are not all in the window.
    fn need(&self, p: usize, n: usize) {
        if p.saturating_add(n) > self.data.len() {
            self.hit_end();
        }
    }

    fn peek(&self) -> Option<u8> {
        self.byte_at(self.pos)
    }

    fn byte_at(&self, i: usize) -> Option<u8> {
        let b = self.data.get(i).copied();
        if b.is_none() {
            self.hit_end();
        }
        b
    }

    fn at_delim(&self) -> bool {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        if rest.len() < self.delim.len() && self.delim.starts_with(rest) {
            self.hit_end();
        }
        rest.starts_with(&self.delim)
    }

    // -- checkpoints ---------------------------------------------------------

    /// Records a point where parsing can resume in context `resume`.
    fn checkpoint(&mut self, resume: impl FnOnce() -> Resume) {
        if self.forced.is_some_and(|at| at != self.pos) {
            // The oversized step is over.
            self.forced = None;
            self.eof = false;
        }
        self.cut_string = None;
        if self.eof || self.short.get() {
            return;
        }
        if self.emits >= self.replay {
            self.emits = 0;
            self.replay = 0;
        }
        self.undo.clear();
        self.cp = Checkpoint {
            pos: self.pos,
            resume: resume(),
            delim: Rc::clone(&self.delim),
            mysql: self.mysql,
            backslash: self.backslash,
            no_backslash: self.no_backslash,
            gbk: self.gbk,
            overflow: self.overflow.clone(),
            loc: self.loc.get(),
            emitted_to: self.emitted_to,
            budget: self.budget,
            row: self.row,
            stmt_line: self.stmt_line,
            plain: self.plain,
        };
    }

    /// Goes back to the last checkpoint after a short step.
    fn restore(&mut self) {
        let cp = self.cp.clone();
        self.pos = cp.pos;
        self.delim = cp.delim;
        self.mysql = cp.mysql;
        self.backslash = cp.backslash;
        self.no_backslash = cp.no_backslash;
        self.gbk = cp.gbk;
        self.overflow = cp.overflow;
        self.loc.set(cp.loc);
        self.emitted_to = cp.emitted_to;
        self.budget = cp.budget;
        self.row = cp.row;
        self.stmt_line = cp.stmt_line;
        self.plain = cp.plain;
        while let Some((table, old)) = self.undo.pop() {
            match old {
                Some(state) => {
                    self.tables.insert(table, state);
                }
                None => {
                    self.tables.remove(&table);
                }
            }
        }
        self.replay = self.replay.max(self.emits);
        self.emits = 0;
        self.short.set(false);
        self.resume = Some(cp.resume);
    }

    /// Before `table`'s state changes: keeps what it was at the checkpoint.
    fn note_table(&mut self, table: &str) {
        if self.eof || self.undo.iter().any(|(t, _)| &**t == table) {
            return;
        }
        let entry = match self.tables.get_key_value(table) {
            Some((t, state)) => (Rc::clone(t), Some(state.clone())),
            None => (Rc::from(table), None),
        };
        self.undo.push(entry);
    }

    /// Whether a sink call is made: not after `short`, nor when an earlier
    /// run from the checkpoint made it already.
    fn deliver(&mut self) -> bool {
        deliver(&self.short, &mut self.emits, self.replay)
    }

    fn out_skip(&mut self, what: &str, reason: &str) {
        if self.deliver() {
            self.sink.skip(what, reason);
        }
    }

    /// Line and column of `p` (see [`Locator::locate`]).
    fn locate(&self, p: usize) -> (u64, u64) {
        locate(&self.loc, self.data, p)
    }

    /// Counts lines up to the checkpoint (the bytes before it are about to
    /// be dropped).
    fn settle(&mut self) {
        self.locate(self.pos);
        self.cp.loc = self.loc.get();
    }

    /// Positions after the driver dropped the window's first `n` bytes.
    fn shift(&mut self, n: usize) {
        self.pos -= n;
        let loc = self.loc.get();
        self.loc.set(Locator {
            pos: loc.pos - n,
            ..loc
        });
        self.emitted_to = self.emitted_to.saturating_sub(n);
        self.cp.pos -= n;
        self.cp.loc.pos -= n;
        self.cp.emitted_to = self.cp.emitted_to.saturating_sub(n);
        if let Some(at) = &mut self.forced {
            *at -= n;
        }
    }

    /// `n` more bytes were read: re-reading may cost that much more.
    fn grant(&mut self, n: usize) {
        self.budget = self.budget.saturating_add(n);
        self.cp.budget = self.cp.budget.saturating_add(n);
    }

    /// Parses the step from the checkpoint as if the window ended the
    /// input: it does not fit in a window of `cap` bytes.
    fn force(&mut self, cap: usize) {
        self.eof = true;
        self.forced = Some(self.pos);
        let line = self.locate(self.pos).0;
        self.sink.skip(
            "",
            &format!(
                "SQL near line {line}: one piece (statement, row or line) longer than {}, \
                 read as if it ended there",
                size_text(cap)
            ),
        );
    }

    fn escapes(&self) -> Escapes {
        if self.backslash {
            Escapes::MySql
        } else {
            Escapes::Plain
        }
    }

    /// Parses statement after statement, from the checkpoint when resuming.
    fn run(&mut self) -> Run {
        // At the checkpoint already when resuming.
        let mut at_checkpoint = self.resume.is_some();
        let mut next = self.resume.take();
        loop {
            let step = next.take().unwrap_or(Resume::Statement);
            if !at_checkpoint {
                let resume = step.clone();
                self.checkpoint(|| resume);
            }
            at_checkpoint = false;
            if self.pos >= self.data.len() {
                if self.eof {
                    return Run::Done;
                }
                self.resume = Some(step);
                return Run::Exhausted;
            }
            let start = self.pos;
            match step {
                Resume::Statement => {
                    self.statement();
                    if self.pos <= start {
                        self.pos = start + 1;
                    }
                }
                Resume::Tuples { table, columns } => {
                    if let Err(e) = self.tuples(&table, &columns) {
                        let row = (self.row > 0).then_some(self.row);
                        self.recover(e, &table, row);
                    }
                }
                Resume::Copy {
                    table,
                    columns,
                    csv,
                } => self.copy_rows(&table, &columns, csv),
                Resume::SkipString { quote, esc } => {
                    if self.skip_string_rest(quote, esc) {
                        if let Err(e) = self.skip_statement(start) {
                            self.recover(e, "", None);
                        }
                    } else if self.pos == start {
                        // A split escape or character: needs more bytes.
                        self.hit_end();
                    } else if !self.eof {
                        self.resume = Some(Resume::SkipString { quote, esc });
                    }
                }
            }
            if self.short.get() {
                self.restore();
                return Run::Short;
            }
            next = self.resume.take();
        }
    }

    /// Parses one statement (or an empty one).
    fn statement(&mut self) {
        if let Err(e) = self.skip_space(true) {
            self.recover(e, "", None);
            return;
        }
        if self.pos >= self.data.len() {
            return;
        }
        if self.at_delim() {
            self.pos += self.delim.len();
            return;
        }
        if self.peek() == Some(b'\\') {
            // A psql meta-command (`\connect`, pg_dump's `\restrict`): one line.
            self.skip_line();
            return;
        }
        let start = self.pos;
        self.stmt_line = self.locate(start).0;
        let word = self.word();
        let result = if eq(word, "INSERT") || eq(word, "REPLACE") {
            self.insert(start)
        } else if eq(word, "CREATE") {
            self.create(start)
        } else if eq(word, "COPY") {
            self.copy(start)
        } else if eq(word, "DELIMITER") {
            self.delimiter();
            Ok(())
        } else if eq(word, "GO") && self.rest_of_line_blank() {
            self.skip_line();
            Ok(())
        } else if eq(word, "SET") {
            self.set(start)
        } else {
            if eq(word, "PRAGMA") {
                self.set_mysql(false);
            } else if eq(word, "LOCK") || eq(word, "UNLOCK") {
                self.set_mysql(true);
            }
            self.skip_statement(start)
        };
        if let Err(e) = result {
            self.recover(e, "", None);
        }
    }

    /// An ASCII word (`[A-Za-z0-9_]*`) at the cursor.
    fn word(&mut self) -> &'d [u8] {
        let data = self.data;
        let s = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.pos += 1;
        }
        &data[s..self.pos]
    }

    /// A bare identifier-like word (non-ASCII bytes included).
    fn word_any(&mut self) -> &'d [u8] {
        let data = self.data;
        let s = self.pos;
        while self.peek().is_some_and(ident_char) {
            self.pos += 1;
        }
        &data[s..self.pos]
    }

    fn rest_of_line_blank(&self) -> bool {
        self.blank_to_eol(self.pos)
    }

    /// Whether the bytes from `p` are only blanks, digits and `;` up to
    /// the first newline (stops at the first other byte, so a long line
    /// costs nothing).
    fn blank_to_eol(&self, p: usize) -> bool {
        for &b in self.data.get(p..).unwrap_or_default() {
            if b == b'\n' {
                return true;
            }
            if !(is_space(b) || b.is_ascii_digit() || b == b';') {
                return false;
            }
        }
        self.hit_end();
        true
    }

    /// Whether the line at `p` is a SQL Server batch separator `GO [n]`.
    fn go_line(&self, p: usize) -> bool {
        self.need(p, 2);
        let rest = self.data.get(p..).unwrap_or_default();
        starts_with_ci(rest, b"GO") && self.blank_to_eol(p + 2)
    }

    /// Whether the line at `p` starts a statement (see
    /// [`line_starts_statement`]).
    fn starts_statement(&self, p: usize) -> bool {
        self.need(p, 10);
        line_starts_statement(self.data, p)
    }

    /// The start of the first line after `from` that starts a statement,
    /// or the end of the data.
    fn next_statement_line(&self, from: usize) -> usize {
        let data = self.data;
        let mut i = from;
        while let Some(k) = data.get(i..).and_then(|r| memchr(b'\n', r)) {
            let start = i + k + 1;
            if self.starts_statement(start) {
                return start;
            }
            i = start;
        }
        self.hit_end();
        data.len()
    }

    fn skip_line(&mut self) {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        self.pos += match memchr(b'\n', rest) {
            Some(k) => k + 1,
            None => {
                self.hit_end();
                rest.len()
            }
        };
    }

    /// Skips whitespace and comments; sends plain comments as units when
    /// `emit`.
    fn skip_space(&mut self, emit: bool) -> Result<(), Malformed> {
        loop {
            match self.peek() {
                Some(b) if is_space(b) => self.pos += 1,
                Some(_) => {
                    if !self.comment(emit)? {
                        return Ok(());
                    }
                }
                None => return Ok(()),
            }
        }
    }

    /// Consumes a comment at the cursor, if there is one.
    fn comment(&mut self, emit: bool) -> Result<bool, Malformed> {
        let data = self.data;
        let p = self.pos;
        let next = self.byte_at(p + 1);
        let body_start = match self.peek() {
            Some(b'-') if next == Some(b'-') => p + 2,
            Some(b'#') if self.mysql => p + 1,
            Some(b'/') if next == Some(b'*') => {
                let body_start = p + 2;
                let rest = data.get(body_start..).unwrap_or_default();
                let Some(k) = memmem::find(rest, b"*/") else {
                    self.hit_end();
                    return Err(Malformed {
                        anchor: p,
                        at: data.len(),
                        what: "unterminated comment",
                    });
                };
                let body = &rest[..k];
                self.pos = body_start + k + 2;
                if body.starts_with(b"!") || body.starts_with(b"M!") {
                    // Executable comment: SET statements, trigger bodies.
                    let head = &body[..body.len().min(256)];
                    if let Some(v) = setting(head, b"SET NAMES") {
                        self.set_gbk(is_gbk_name(v));
                    }
                    self.sql_mode(head);
                } else if emit {
                    self.emit_trimmed(body_start, body);
                }
                return Ok(true);
            }
            _ => return Ok(false),
        };
        let rest = data.get(body_start..).unwrap_or_default();
        let end = memchr(b'\n', rest).unwrap_or_else(|| {
            self.hit_end();
            rest.len()
        });
        self.pos = body_start + end;
        if emit {
            self.emit_trimmed(body_start, &rest[..end]);
        }
        Ok(true)
    }

    /// Sends a comment body (at `start`) as a unit, trimmed.
    fn emit_trimmed(&mut self, start: usize, body: &[u8]) {
        let lead = body.len() - trim_start(body).len();
        let text = trim(body);
        if !text.is_empty() {
            let s = start + lead;
            self.emit_slice(s, s + text.len(), None, None, None);
        }
    }

    /// Skips to the end of the statement (consuming its delimiter).
    fn skip_statement(&mut self, start: usize) -> Result<(), Malformed> {
        self.skip_mode(Mode::Statement, start)
    }

    /// Skips to the end of the statement in `mode` (consuming its
    /// delimiter).
    fn skip_mode(&mut self, mode: Mode, start: usize) -> Result<(), Malformed> {
        if self.loose(mode, start)? == LooseEnd::Delimiter {
            self.pos += self.delim.len();
        }
        Ok(())
    }

    /// Tokenizes loosely, sending literals, plain comments and long numbers
    /// as units without a table, up to where `mode` ends (see [`Mode`]) or
    /// the end. Errors are anchored at `anchor`.
    fn loose(&mut self, mode: Mode, anchor: usize) -> Result<LooseEnd, Malformed> {
        let reanchor = |mut e: Malformed| {
            e.anchor = anchor;
            e
        };
        let plain_delim = &*self.delim == b";";
        let in_list = mode == Mode::List;
        let mut depth = 0u32;
        let mut blocks = 0u32;
        loop {
            let Some(b) = self.peek() else {
                if mode == Mode::Block && (blocks > 0 || depth > 0) {
                    // Swallowed to the end: let recovery re-read the rest.
                    return Err(Malformed {
                        anchor,
                        at: self.pos,
                        what: "unterminated BEGIN … END block",
                    });
                }
                return Ok(LooseEnd::Eof);
            };
            if self.at_delim() {
                if mode == Mode::Block && plain_delim && (blocks > 0 || depth > 0) {
                    self.pos += self.delim.len();
                    continue;
                }
                return Ok(LooseEnd::Delimiter);
            }
            let next = self.byte_at(self.pos + 1);
            match b {
                b'\n' => {
                    self.pos += 1;
                    let stop = match mode {
                        Mode::Block => self.go_line(self.pos),
                        _ => plain_delim && self.starts_statement(self.pos),
                    };
                    if stop {
                        return Ok(LooseEnd::Keyword);
                    }
                }
                b'\'' => {
                    let esc = self.escapes();
                    self.loose_literal(b'\'', esc, true).map_err(reanchor)?;
                }
                b'"' => {
                    // A string in MySQL; an identifier elsewhere.
                    let esc = self.escapes();
                    let text = self.mysql;
                    self.loose_literal(b'"', esc, text).map_err(reanchor)?;
                }
                b'`' => {
                    self.quoted_ident(b'`', b'`').map_err(reanchor)?;
                }
                b'$' => match self.dollar_tag() {
                    Some(n) => {
                        let (s, e) = self.dollar(n, Capture::Value).map_err(reanchor)?;
                        self.emit_buf(s, e, None, None, None);
                    }
                    None => self.pos += 1,
                },
                b'-' | b'#' | b'/'
                    if matches!((b, next), (b'-', Some(b'-')) | (b'/', Some(b'*')))
                        || (b == b'#' && self.mysql) =>
                {
                    self.comment(true).map_err(reanchor)?;
                }
                b'(' => {
                    depth = depth.saturating_add(1);
                    self.pos += 1;
                }
                b')' => {
                    if in_list && depth == 0 {
                        return Ok(LooseEnd::Close);
                    }
                    depth = depth.saturating_sub(1);
                    self.pos += 1;
                }
                b',' if in_list && depth == 0 => return Ok(LooseEnd::Comma),
                b'0'..=b'9' => {
                    let s = self.pos;
                    while self
                        .peek()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_')
                    {
                        self.pos += 1;
                    }
                    let token = &self.data[s..self.pos];
                    if token.len() >= 7 && token.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
                        self.emit_slice(s, self.pos, None, None, None);
                    }
                }
                _ if ident_start(b) => {
                    let word = self.word_any();
                    if mode == Mode::Block {
                        if eq(word, "BEGIN") || eq(word, "CASE") {
                            blocks = blocks.saturating_add(1);
                        } else if eq(word, "END") {
                            blocks = blocks.saturating_sub(1);
                            // END IF, END CASE, END LOOP … close one block.
                            let save = self.pos;
                            while self.peek().is_some_and(|c| c == b' ' || c == b'\t') {
                                self.pos += 1;
                            }
                            let closer = self.word();
                            let kinds = ["IF", "CASE", "LOOP", "WHILE", "REPEAT", "FOR"];
                            if !kinds.iter().any(|k| eq(closer, k)) {
                                self.pos = save;
                            }
                        }
                    }
                    if self.peek() == Some(b'\'') {
                        match word {
                            [b'E' | b'e'] => {
                                self.loose_literal(b'\'', Escapes::PgE, true)
                                    .map_err(reanchor)?;
                            }
                            [b'X' | b'x' | b'B' | b'b'] => {
                                self.loose_literal(b'\'', Escapes::Plain, false)
                                    .map_err(reanchor)?;
                            }
                            _ => {
                                let esc = self.escapes();
                                let text = !eq(word, "_binary");
                                self.loose_literal(b'\'', esc, text).map_err(reanchor)?;
                            }
                        }
                    }
                }
                _ => self.pos += 1,
            }
        }
    }

    /// A string literal in a loose statement: sent when it is text.
    fn loose_literal(&mut self, quote: u8, esc: Escapes, text: bool) -> Result<(), Malformed> {
        let capture = if text { Capture::Value } else { Capture::Skip };
        let (s, e) = self.string(quote, esc, capture)?;
        if text && !is_bytea_hex(&self.buf) {
            self.emit_buf(s, e, None, None, None);
        }
        Ok(())
    }

    /// Scans the quoted string at the cursor (on its opening quote); returns
    /// the content's start and end (the closing quote).
    fn string(
        &mut self,
        quote: u8,
        esc: Escapes,
        capture: Capture,
    ) -> Result<(usize, usize), Malformed> {
        let data = self.data;
        let open = self.pos;
        let content = open + 1;
        let unterminated = Malformed {
            anchor: open,
            at: data.len(),
            what: "unterminated string",
        };
        match capture {
            Capture::Value => {
                self.buf.clear();
                self.cut = false;
            }
            Capture::Small => {
                self.small.clear();
                self.small_cut = false;
            }
            Capture::Skip => {}
        }
        let mut i = content;
        loop {
            let rest = data.get(i..).unwrap_or_default();
            let found = self.quote_or_escape(rest, quote, esc);
            let Some(k) = found else {
                self.hit_end();
                if self.forced.is_some() {
                    self.cut_string = Some((quote, esc));
                }
                return Err(unterminated);
            };
            let j = i + k;
            self.put(capture, &rest[..k]);
            if self.byte_at(j) == Some(quote) {
                if self.byte_at(j + 1) == Some(quote) {
                    self.put(capture, &[quote]);
                    i = j + 2;
                    continue;
                }
                self.pos = j + 1;
                return Ok((content, j));
            }
            // A backslash.
            let Some(c) = self.byte_at(j + 1) else {
                return Err(unterminated);
            };
            i = match esc {
                Escapes::PgE => self.pg_escape(capture, j + 1),
                _ => {
                    match c {
                        b'0' => self.put(capture, b"\0"),
                        b'b' => self.put(capture, b"\x08"),
                        b'n' => self.put(capture, b"\n"),
                        b'r' => self.put(capture, b"\r"),
                        b't' => self.put(capture, b"\t"),
                        b'Z' => self.put(capture, b"\x1a"),
                        // MySQL keeps the backslash of \% and \_ outside
                        // LIKE patterns.
                        b'%' => self.put(capture, b"\\%"),
                        b'_' => self.put(capture, b"\\_"),
                        _ => self.put(capture, &[c]),
                    }
                    j + 2
                }
            };
        }
    }

    /// One PostgreSQL `E'…'` escape whose letter is at `p`; returns the
    /// index after it.
    fn pg_escape(&mut self, capture: Capture, p: usize) -> usize {
        self.need(p, 10);
        let rest = self.data.get(p..).unwrap_or_default();
        let Some(&c) = rest.first() else {
            return p;
        };
        match c {
            b'b' => self.put(capture, b"\x08"),
            b'f' => self.put(capture, b"\x0c"),
            b'n' => self.put(capture, b"\n"),
            b'r' => self.put(capture, b"\r"),
            b't' => self.put(capture, b"\t"),
            b'0'..=b'7' => {
                let n = rest
                    .iter()
                    .take(3)
                    .take_while(|d| (b'0'..=b'7').contains(*d))
                    .count();
                let v = rest[..n]
                    .iter()
                    .fold(0u32, |v, d| v * 8 + u32::from(d - b'0'));
                self.put(capture, &[(v & 0xff) as u8]);
                return p + n;
            }
            b'x' => {
                let (v, n) = hex_prefix(&rest[1..], 2);
                if n > 0 {
                    self.put(capture, &[v as u8]);
                    return p + 1 + n;
                }
                self.put(capture, b"x");
            }
            b'u' | b'U' => {
                let digits = if c == b'u' { 4 } else { 8 };
                let (v, n) = hex_prefix(&rest[1..], digits);
                if n == digits {
                    let mut tmp = Vec::with_capacity(4);
                    push_char(&mut tmp, v);
                    self.put(capture, &tmp);
                    return p + 1 + n;
                }
                self.put(capture, &[c]);
            }
            _ => self.put(capture, &[c]),
        }
        p + 1
    }

    /// Offset in `rest` of the next `quote`, or, where escapes apply, of
    /// the next backslash if it comes first.
    fn quote_or_escape(&self, rest: &[u8], quote: u8, esc: Escapes) -> Option<usize> {
        match esc {
            Escapes::Plain => rows::quote_or_backslash(rest, quote, false),
            _ if self.gbk => find_gbk(rest, quote),
            _ => rows::quote_or_backslash(rest, quote, true),
        }
    }

    /// Skips the rest of a string (the cursor inside it) up to and past its
    /// closing quote: true when it closed, else the cursor is where the
    /// window's bytes stop being certainly inside it.
    fn skip_string_rest(&mut self, quote: u8, esc: Escapes) -> bool {
        let data = self.data;
        let mut i = self.pos;
        loop {
            let rest = data.get(i..).unwrap_or_default();
            let found = self.quote_or_escape(rest, quote, esc);
            let Some(k) = found else {
                self.pos = if esc != Escapes::Plain && self.gbk {
                    i + gbk_safe_end(rest)
                } else {
                    data.len()
                };
                return false;
            };
            let j = i + k;
            if j + 1 >= data.len() && !self.eof {
                // A doubled quote or an escape may go on in the next window.
                self.pos = j;
                return false;
            }
            if data.get(j) == Some(&quote) {
                if data.get(j + 1) == Some(&quote) {
                    i = j + 2;
                    continue;
                }
                self.pos = j + 1;
                return true;
            }
            i = j + 2;
        }
    }

    fn put(&mut self, capture: Capture, bytes: &[u8]) {
        match capture {
            Capture::Skip => {}
            Capture::Value => push_capped(&mut self.buf, bytes, MAX_VALUE, &mut self.cut),
            Capture::Small => push_capped(&mut self.small, bytes, SMALL, &mut self.small_cut),
        }
    }

    /// The length of the dollar-quote tag (`$$`, `$body$`) at the cursor.
    fn dollar_tag(&self) -> Option<usize> {
        if self.pos > 0 && self.byte_at(self.pos - 1).is_some_and(ident_char) {
            return None;
        }
        let rest = self.data.get(self.pos + 1..)?;
        let Some(n) = rest
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_'))
        else {
            self.hit_end();
            return None;
        };
        if rest.first().is_some_and(u8::is_ascii_digit) || rest.get(n) != Some(&b'$') {
            return None;
        }
        Some(n + 2)
    }

    /// Scans a dollar-quoted string whose tag is `tag_len` bytes long.
    fn dollar(&mut self, tag_len: usize, capture: Capture) -> Result<(usize, usize), Malformed> {
        let data = self.data;
        let open = self.pos;
        let content = open + tag_len;
        let tag = data.get(open..content).unwrap_or_default();
        let rest = data.get(content..).unwrap_or_default();
        let Some(k) = memmem::find(rest, tag) else {
            self.hit_end();
            return Err(Malformed {
                anchor: open,
                at: data.len(),
                what: "unterminated dollar-quoted string",
            });
        };
        if capture == Capture::Value {
            self.buf.clear();
            self.cut = false;
        }
        self.put(capture, &rest[..k]);
        self.pos = content + k + tag_len;
        Ok((content, content + k))
    }

    /// Skips a quoted identifier; returns its raw content (doubled closing
    /// quotes kept as one), cut to [`MAX_IDENT`] bytes.
    fn quoted_ident(&mut self, open: u8, close: u8) -> Result<Vec<u8>, Malformed> {
        let data = self.data;
        let start = self.pos;
        debug_assert_eq!(self.peek(), Some(open));
        let mut i = start + 1;
        let mut name = Vec::new();
        let mut cut = false;
        loop {
            let rest = data.get(i..).unwrap_or_default();
            let Some(k) = memchr(close, rest) else {
                self.hit_end();
                return Err(Malformed {
                    anchor: start,
                    at: data.len(),
                    what: "unterminated quoted name",
                });
            };
            push_capped(&mut name, &rest[..k], MAX_IDENT + 4, &mut cut);
            if self.byte_at(i + k + 1) == Some(close) {
                push_capped(&mut name, &[close], MAX_IDENT + 4, &mut cut);
                i += k + 2;
                continue;
            }
            self.pos = i + k + 1;
            return Ok(name);
        }
    }

    /// An identifier, bare or quoted (`` ` ``, `"`, `[ ]`), decoded.
    fn ident(&mut self) -> Result<Option<String>, Malformed> {
        let raw = match self.peek() {
            Some(b'`') => self.quoted_ident(b'`', b'`')?,
            Some(b'"') => self.quoted_ident(b'"', b'"')?,
            Some(b'[') => self.quoted_ident(b'[', b']')?,
            Some(b) if ident_start(b) => {
                let data = self.data;
                let s = self.pos;
                while let Some(b) = self.peek() {
                    if self.gbk && gbk_double(b, self.byte_at(self.pos + 1)) {
                        self.pos += 2;
                    } else if ident_char(b) {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                let raw = &data[s..self.pos];
                raw[..raw.len().min(MAX_IDENT + 4)].to_vec()
            }
            _ => return Ok(None),
        };
        Ok(Some(decode_name(&raw)))
    }

    /// `a.b.c`: the last part (the schema prefix is dropped).
    fn qualified_name(&mut self) -> Result<Option<String>, Malformed> {
        let mut last = None;
        while let Some(part) = self.ident()? {
            last = Some(part);
            if self.peek() == Some(b'.') {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(last)
    }

    /// A parenthesised list of names (the `(` consumed).
    fn column_list(&mut self) -> Result<Vec<String>, Malformed> {
        let start = self.pos;
        let mut columns = Vec::new();
        loop {
            self.skip_space(false)?;
            match self.peek() {
                Some(b')') => {
                    self.pos += 1;
                    return Ok(columns);
                }
                Some(b',') => self.pos += 1,
                None => {
                    return Err(Malformed {
                        anchor: start,
                        at: self.pos,
                        what: "unterminated column list",
                    })
                }
                Some(_) => match self.qualified_name()? {
                    Some(name) if columns.len() < MAX_COLUMNS => columns.push(name),
                    Some(_) => {}
                    None => {
                        return Err(Malformed {
                            anchor: start,
                            at: self.pos,
                            what: "bad column list",
                        })
                    }
                },
            }
        }
    }

    /// The columns known for `table`.
    fn columns_of(&self, table: &str) -> Rc<[String]> {
        self.tables
            .get(table)
            .map(|t| Rc::clone(&t.columns))
            .unwrap_or_else(|| Rc::from(Vec::new()))
    }

    /// Starts the next row of `table`: its ordinal, and whether it is sent.
    fn next_row(&mut self, table: &str) -> (u64, bool) {
        self.next_rows(table, 1)
    }

    /// [`Self::next_row`] for `n` rows at once: the first one's ordinal,
    /// and whether it is sent (all of them are when no limit is set).
    fn next_rows(&mut self, table: &str, n: u64) -> (u64, bool) {
        self.note_table(table);
        if !self.tables.contains_key(table) && self.tables.len() < MAX_TABLES {
            self.tables.insert(Rc::from(table), TableState::default());
        }
        let state = match self.tables.get_mut(table) {
            Some(state) => state,
            None => &mut self.overflow,
        };
        let row = state.rows + 1;
        state.rows += n;
        let Some(max) = self.max_rows.filter(|&max| row > max) else {
            return (row, true);
        };
        if !state.capped {
            state.capped = true;
            self.out_skip(
                table,
                &format!("rows after the first {max} not scanned (row limit)"),
            );
        }
        (row, false)
    }

    // -- statements ----------------------------------------------------------

    /// `INSERT` / `REPLACE` (the keyword read).
    fn insert(&mut self, start: usize) -> Result<(), Malformed> {
        loop {
            self.skip_space(false)?;
            let save = self.pos;
            let word = self.word();
            let modifier = [
                "INTO",
                "IGNORE",
                "LOW_PRIORITY",
                "DELAYED",
                "HIGH_PRIORITY",
                "OR",
                "REPLACE",
                "ABORT",
                "FAIL",
                "ROLLBACK",
            ]
            .iter()
            .any(|k| eq(word, k));
            if !modifier {
                self.pos = save;
                break;
            }
        }
        let quote = self.peek();
        let Some(name) = self.qualified_name()? else {
            return self.skip_statement(start);
        };
        match quote {
            Some(b'`') => self.set_mysql(true),
            Some(b'[') => self.set_mysql(false),
            _ => {}
        }
        self.row = 0;
        if let Err(e) = self.insert_rows(start, &name) {
            let row = (self.row > 0).then_some(self.row);
            self.recover(e, &name, row);
        }
        Ok(())
    }

    /// The rest of an `INSERT` after its table name.
    fn insert_rows(&mut self, start: usize, name: &str) -> Result<(), Malformed> {
        self.skip_space(false)?;
        let mut explicit = None;
        if self.peek() == Some(b'(') {
            let save = self.pos;
            self.pos += 1;
            self.skip_space(false)?;
            let probe = self.pos;
            let word = self.word();
            self.pos = probe;
            if eq(word, "SELECT") || eq(word, "WITH") || self.peek() == Some(b'(') {
                self.pos = save;
                return self.skip_statement(start);
            }
            explicit = Some(self.column_list()?);
            self.skip_space(false)?;
        }
        loop {
            let word = self.word();
            if eq(word, "VALUES") || eq(word, "VALUE") {
                break;
            }
            if eq(word, "OVERRIDING") {
                // pg: OVERRIDING SYSTEM|USER VALUE
                self.skip_space(false)?;
                self.word();
                self.skip_space(false)?;
                self.word();
                self.skip_space(false)?;
                continue;
            }
            // INSERT … SELECT, … SET a = 1, DEFAULT VALUES
            return self.skip_statement(start);
        }
        let columns: Rc<[String]> = match explicit {
            Some(list) => Rc::from(list),
            None => self.columns_of(name),
        };
        self.tuples(&Rc::from(name), &columns)
    }

    /// The tuples of an `INSERT`, from the cursor on (a checkpoint before
    /// each).
    fn tuples(&mut self, name: &Rc<str>, columns: &Rc<[String]>) -> Result<(), Malformed> {
        loop {
            self.checkpoint(|| Resume::Tuples {
                table: Rc::clone(name),
                columns: Rc::clone(columns),
            });
            self.skip_space(false)?;
            if self.peek() != Some(b'(') {
                // The delimiter, ON DUPLICATE KEY …, or a `;`-less next
                // statement: the statement loop takes it from here.
                return Ok(());
            }
            if !self.plain_rows(name, columns) {
                self.tuple(name, columns)?;
            }
            self.skip_space(false)?;
            if self.peek() == Some(b',') {
                self.pos += 1;
            } else {
                return Ok(());
            }
        }
    }

    /// A block of rows of plain literals at the cursor (a `(`), sent
    /// whole with [`Sink::rows`]; false when there is none (see [`rows`]).
    /// Not with a row limit, nor where quotes are not what they seem (GBK
    /// double bytes, a `DELIMITER` in force).
    fn plain_rows(&mut self, table: &str, columns: &[String]) -> bool {
        if self.gbk || *self.delim != *b";" || self.max_rows.is_some() {
            return false;
        }
        if self.plain.skip > 0 {
            self.plain.skip -= 1;
            return false;
        }
        let start = self.pos;
        let block = match rows::block(self.data, start, self.backslash, self.eof, &mut self.sent) {
            Ok(block) => block,
            Err(rows::Stop::End) => {
                // Not with the rest of the block unread: the run from the
                // checkpoint is void, and the next one sends the block
                // whole (not these values one by one first).
                self.hit_end();
                return false;
            }
            Err(rows::Stop::NotPlain) => {
                self.plain.skip = self.plain.wait;
                self.plain.wait = (self.plain.wait * 2).clamp(1, 256);
                return false;
            }
        };
        self.plain = Backoff::default();
        let (first, _) = self.next_rows(table, block.rows);
        self.row = first + block.rows - 1;
        self.pos = block.end;
        self.emitted_to = self.emitted_to.max(block.end);
        if self.deliver() {
            let (line, col) = self.locate(start);
            self.sink.rows(&Rows {
                raw: &self.data[start..block.end],
                table,
                columns,
                first_row: first,
                rows: block.rows,
                sent: &self.sent,
                line,
                col,
                backslash: self.backslash,
            });
        }
        true
    }

    /// One `( … )` row (on its `(`).
    fn tuple(&mut self, table: &str, columns: &[String]) -> Result<(), Malformed> {
        let (row, send) = self.next_row(table);
        self.row = row;
        self.pos += 1;
        let mut i = 0usize;
        loop {
            let field = columns.get(i).map(String::as_str);
            match self.value(table, field, row, send)? {
                End::Comma => i += 1,
                End::Close => return Ok(()),
            }
        }
    }

    /// One value expression of a tuple, up to and including its top-level
    /// `,` or `)`; sends it when `send`.
    fn value(
        &mut self,
        table: &str,
        field: Option<&str>,
        row: u64,
        send: bool,
    ) -> Result<End, Malformed> {
        self.skip_space(false)?;
        if let Some(end) = self.plain_value(table, field, row, send) {
            return Ok(end);
        }
        let mut x = Expr {
            start: self.pos,
            text: None,
            literal: false,
            func: Func::None,
            pattern: false,
        };
        let anchor = x.start;
        let reanchor = |mut e: Malformed| {
            e.anchor = anchor;
            e
        };
        self.pairs.clear();
        let mut depth = 0u32;
        let mut tokens = 0u32;
        let mut number: Option<(usize, usize)> = None;
        let end = loop {
            self.skip_space(false).map_err(reanchor)?;
            let p = self.pos;
            let Some(b) = self.peek() else {
                return Err(Malformed {
                    anchor,
                    at: p,
                    what: "unterminated VALUES row",
                });
            };
            if self.at_delim() {
                return Err(Malformed {
                    anchor,
                    at: p,
                    what: "VALUES row not closed",
                });
            }
            let next = self.byte_at(p + 1);
            match b {
                b',' if depth == 0 => {
                    self.pos += 1;
                    break End::Comma;
                }
                b')' if depth == 0 => {
                    self.pos += 1;
                    break End::Close;
                }
                b'(' => {
                    depth = depth.saturating_add(1);
                    self.pos += 1;
                }
                b')' => {
                    depth -= 1;
                    self.pos += 1;
                }
                b'\'' | b'"' => {
                    let esc = self.escapes();
                    self.expr_literal(b, esc, true, &mut x, send)
                        .map_err(reanchor)?;
                }
                b'$' if self.dollar_tag().is_some() => {
                    let n = self.dollar_tag().unwrap_or(2);
                    let capture = if send && !x.literal {
                        Capture::Value
                    } else {
                        Capture::Skip
                    };
                    let span = self.dollar(n, capture).map_err(reanchor)?;
                    if !x.literal {
                        x.literal = true;
                        x.text = Some(span);
                    }
                }
                b'0'..=b'9' => {
                    let span = self.number_token();
                    self.classify_number(span, tokens, &mut x, &mut number);
                }
                b'-' | b'+' | b'.'
                    if tokens == 0
                        && next.is_some_and(|c| c.is_ascii_digit() || (c == b'.' && b != b'.')) =>
                {
                    let span = self.number_token();
                    self.classify_number(span, tokens, &mut x, &mut number);
                }
                _ if ident_start(b) => {
                    let word = self.word_any();
                    let after = self.peek();
                    match (word, after) {
                        ([b'N' | b'n'], Some(b'\'')) => {
                            let esc = self.escapes();
                            self.expr_literal(b'\'', esc, true, &mut x, send)
                                .map_err(reanchor)?;
                        }
                        ([b'E' | b'e'], Some(b'\'')) => {
                            self.expr_literal(b'\'', Escapes::PgE, true, &mut x, send)
                                .map_err(reanchor)?;
                        }
                        ([b'X' | b'x' | b'B' | b'b'], Some(b'\'')) => {
                            self.expr_literal(b'\'', Escapes::Plain, false, &mut x, send)
                                .map_err(reanchor)?;
                        }
                        ([b'U' | b'u'], Some(b'&'))
                            if self.byte_at(self.pos + 1) == Some(b'\'') =>
                        {
                            self.pos += 1;
                            self.expr_literal(b'\'', Escapes::Plain, true, &mut x, send)
                                .map_err(reanchor)?;
                        }
                        ([b'_', ..], _) if word.len() > 1 => {
                            // A charset introducer: _utf8mb4'…', _binary '…'.
                            let save = self.pos;
                            while self.peek().is_some_and(|c| c == b' ' || c == b'\t') {
                                self.pos += 1;
                            }
                            match self.peek() {
                                Some(q @ (b'\'' | b'"')) => {
                                    let esc = self.escapes();
                                    let text = !eq(word, "_binary");
                                    self.expr_literal(q, esc, text, &mut x, send)
                                        .map_err(reanchor)?;
                                }
                                _ => self.pos = save,
                            }
                        }
                        _ => {
                            if tokens == 0 {
                                x.func = if eq(word, "replace") {
                                    Func::Replace
                                } else if eq(word, "unistr") {
                                    Func::Unistr
                                } else {
                                    Func::Other
                                };
                            } else if x.pattern && eq(word, "char") {
                                let save = self.pos;
                                match self.char_call() {
                                    Some(rep) => {
                                        if self.pairs.len() < MAX_PAIRS {
                                            self.pairs.push((self.small.clone(), rep));
                                        }
                                        x.pattern = false;
                                    }
                                    None => self.pos = save,
                                }
                            }
                        }
                    }
                }
                _ => self.pos += 1,
            }
            tokens = tokens.saturating_add(1);
        };
        if send {
            if let Some((s, e)) = x.text {
                match x.func {
                    Func::Replace => {
                        for (pat, rep) in &self.pairs {
                            replace_all(&mut self.buf, pat, rep, &mut self.scratch);
                        }
                    }
                    Func::Unistr => unistr(&mut self.buf, &mut self.scratch),
                    Func::None | Func::Other => {}
                }
                if !is_bytea_hex(&self.buf) {
                    self.emit_buf(s, e, Some(table), field, Some(row));
                }
            } else if let (1, Some((s, e))) = (tokens, number) {
                self.emit_slice(s, e, Some(table), field, Some(row));
            }
        }
        Ok(end)
    }

    /// The values most rows are made of, taken without the expression
    /// machinery of [`Self::value`]: a plain number (`42`, `-7`, `4073.95`)
    /// or a quoted string with no escape and no doubled quote, right before
    /// the `,` or `)` that ends it. Sends it as `value` would and returns
    /// its end; anything else (or what the window does not hold whole) is
    /// left to `value`, with the cursor unmoved.
    fn plain_value(
        &mut self,
        table: &str,
        field: Option<&str>,
        row: u64,
        send: bool,
    ) -> Option<End> {
        if *self.delim != *b";" {
            return None;
        }
        let data = self.data;
        let s = self.pos;
        let (value, close) = match *data.get(s)? {
            b'\'' => {
                let content = s + 1;
                let rest = data.get(content..)?;
                let k = self.quote_or_escape(
                    &rest[..rest.len().min(MAX_VALUE)],
                    b'\'',
                    self.escapes(),
                )?;
                let j = content + k;
                // A backslash, or a doubled quote.
                if data[j] != b'\'' || data.get(j + 1) == Some(&b'\'') {
                    return None;
                }
                if is_bytea_hex(&data[content..j]) {
                    (None, j + 1)
                } else {
                    (Some((content, j)), j + 1)
                }
            }
            b'0'..=b'9' | b'-' => {
                let (e, _) = rows::number(data, s).ok()?;
                (Some((s, e)), e)
            }
            _ => return None,
        };
        let end = match *data.get(close)? {
            b',' => End::Comma,
            b')' => End::Close,
            _ => return None,
        };
        self.pos = close + 1;
        if let (true, Some((s, e))) = (send, value) {
            self.emit_slice(s, e, Some(table), field, Some(row));
        }
        Some(end)
    }

    /// A literal inside a value expression.
    fn expr_literal(
        &mut self,
        quote: u8,
        esc: Escapes,
        text: bool,
        x: &mut Expr,
        send: bool,
    ) -> Result<(), Malformed> {
        let capture = if !send || !text {
            Capture::Skip
        } else if !x.literal {
            Capture::Value
        } else if x.func == Func::Replace {
            Capture::Small
        } else {
            Capture::Skip
        };
        let span = self.string(quote, esc, capture)?;
        if !x.literal {
            x.literal = true;
            if text {
                x.text = Some(span);
            }
        } else if capture == Capture::Small {
            x.pattern = !self.small_cut;
        }
        Ok(())
    }

    /// A number-like token at the cursor (sign, digits, letters, dots, an
    /// exponent sign): its span.
    fn number_token(&mut self) -> (usize, usize) {
        let s = self.pos;
        if matches!(self.peek(), Some(b'-' | b'+')) {
            self.pos += 1;
        }
        // Digits, dots and exponents so far (`1.5e-3`, not `0xe-1`).
        let mut numeric = true;
        let mut prev = 0u8;
        while let Some(c) = self.peek() {
            let exponent_sign = matches!(c, b'-' | b'+')
                && numeric
                && matches!(prev, b'e' | b'E')
                && self
                    .byte_at(self.pos + 1)
                    .is_some_and(|d| d.is_ascii_digit());
            if c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || exponent_sign {
                numeric &= c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+');
                prev = c;
                self.pos += 1;
            } else {
                break;
            }
        }
        (s, self.pos)
    }

    /// Hex and bit literals (`0x…`, `0b…`) are binary; other numbers may
    /// be the value when they stand alone.
    fn classify_number(
        &self,
        (s, e): (usize, usize),
        tokens: u32,
        x: &mut Expr,
        number: &mut Option<(usize, usize)>,
    ) {
        let token = self.data.get(s..e).unwrap_or_default();
        let digits = token
            .strip_prefix(b"-")
            .or(token.strip_prefix(b"+"))
            .unwrap_or(token);
        if digits.len() > 2 && matches!(&digits[..2], b"0x" | b"0X" | b"0b" | b"0B") {
            x.literal = true;
        } else if tokens == 0 {
            *number = Some((s, e));
        }
    }

    /// `char(10)` / `char(13,10)` after the word `char`: the characters.
    fn char_call(&mut self) -> Option<Vec<u8>> {
        let skip_ws = |p: &mut Self| {
            while p.peek().is_some_and(is_space) {
                p.pos += 1;
            }
        };
        skip_ws(self);
        if self.peek() != Some(b'(') {
            return None;
        }
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            skip_ws(self);
            self.need(self.pos, 12);
            let rest = self.data.get(self.pos..).unwrap_or_default();
            let (cp, n) = if starts_with_ci(rest, b"0x") {
                let (v, n) = hex_prefix(&rest[2..], 8);
                (v, if n > 0 { n + 2 } else { 0 })
            } else {
                let n = rest
                    .iter()
                    .take(10)
                    .take_while(|d| d.is_ascii_digit())
                    .count();
                let v = rest[..n].iter().fold(0u32, |v, d| {
                    v.saturating_mul(10).saturating_add(u32::from(d - b'0'))
                });
                (v, n)
            };
            if n == 0 || out.len() > 64 {
                return None;
            }
            self.pos += n;
            push_char(&mut out, cp);
            skip_ws(self);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b')') => {
                    self.pos += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    /// `CREATE …` (the keyword read): column names of a `CREATE TABLE`.
    fn create(&mut self, start: usize) -> Result<(), Malformed> {
        loop {
            self.skip_space(false)?;
            let word = self.word();
            if eq(word, "TABLE") {
                break;
            }
            let modifier = [
                "OR",
                "REPLACE",
                "TEMPORARY",
                "TEMP",
                "GLOBAL",
                "LOCAL",
                "UNLOGGED",
                "VIRTUAL",
            ]
            .iter()
            .any(|k| eq(word, k));
            if !modifier {
                // TRIGGER, PROCEDURE, FUNCTION, VIEW, INDEX, DATABASE …
                return self.skip_mode(Mode::Block, start);
            }
        }
        self.skip_space(false)?;
        let save = self.pos;
        if eq(self.word(), "IF") {
            for _ in 0..2 {
                self.skip_space(false)?;
                self.word();
            }
            self.skip_space(false)?;
        } else {
            self.pos = save;
        }
        let Some(name) = self.qualified_name()? else {
            return self.skip_statement(start);
        };
        self.skip_space(false)?;
        if self.peek() != Some(b'(') {
            // AS SELECT, LIKE other, USING fts5(…)
            return self.skip_statement(start);
        }
        self.pos += 1;
        let mut columns = Vec::new();
        loop {
            self.skip_space(true)?;
            if self.peek() == Some(b')') {
                self.pos += 1;
                break;
            }
            if let Some(column) = self.column_name()? {
                if columns.len() < MAX_COLUMNS {
                    columns.push(column);
                }
            }
            match self.loose(Mode::List, start)? {
                LooseEnd::Comma => self.pos += 1,
                LooseEnd::Close => {
                    self.pos += 1;
                    break;
                }
                LooseEnd::Delimiter | LooseEnd::Keyword | LooseEnd::Eof => {
                    return Err(Malformed {
                        anchor: start,
                        at: self.pos,
                        what: "unterminated CREATE TABLE",
                    })
                }
            }
        }
        if !columns.is_empty() {
            self.note_table(&name);
            if !self.tables.contains_key(name.as_str()) && self.tables.len() < MAX_TABLES {
                self.tables
                    .insert(Rc::from(name.as_str()), TableState::default());
            }
            if let Some(state) = self.tables.get_mut(name.as_str()) {
                state.columns = Rc::from(columns);
            }
        }
        self.skip_statement(start)
    }

    /// The column a `CREATE TABLE` element defines, or `None` for a
    /// constraint or index (`PRIMARY KEY`, `KEY idx (…)`, `CONSTRAINT` …).
    fn column_name(&mut self) -> Result<Option<String>, Malformed> {
        let quoted = matches!(self.peek(), Some(b'`' | b'"' | b'['));
        let Some(name) = self.ident()? else {
            return Ok(None);
        };
        if quoted {
            return Ok(Some(name));
        }
        let constraint = [
            "PRIMARY",
            "UNIQUE",
            "CONSTRAINT",
            "FOREIGN",
            "CHECK",
            "FULLTEXT",
            "SPATIAL",
            "EXCLUDE",
            "LIKE",
        ]
        .iter()
        .any(|k| name.eq_ignore_ascii_case(k));
        if constraint {
            return Ok(None);
        }
        if (name.eq_ignore_ascii_case("KEY") || name.eq_ignore_ascii_case("INDEX"))
            && self.index_follows()
        {
            return Ok(None);
        }
        Ok(Some(name))
    }

    /// After `KEY`/`INDEX`: whether an index definition follows (`(…)`,
    /// `name (…)`, `name USING …`) rather than a column type (pg allows a
    /// column named `key`). The cursor does not move.
    fn index_follows(&mut self) -> bool {
        let save = self.pos;
        let found = (|| -> Result<bool, Malformed> {
            self.skip_space(false)?;
            if self.peek() == Some(b'(') {
                return Ok(true);
            }
            if self.ident()?.is_none() {
                return Ok(false);
            }
            self.skip_space(false)?;
            let probe = self.pos;
            let word = self.word();
            self.pos = probe;
            Ok(self.peek() == Some(b'(') || eq(word, "USING"))
        })()
        .unwrap_or(false);
        self.pos = save;
        found
    }

    /// `COPY name [(cols)] FROM stdin …;` (the keyword read) and its data.
    fn copy(&mut self, start: usize) -> Result<(), Malformed> {
        self.skip_space(false)?;
        let Some(name) = self.qualified_name()? else {
            return self.skip_statement(start);
        };
        self.skip_space(false)?;
        let mut explicit = None;
        if self.peek() == Some(b'(') {
            self.pos += 1;
            explicit = Some(self.column_list()?);
            self.skip_space(false)?;
        }
        if !eq(self.word(), "FROM") {
            return self.skip_statement(start);
        }
        self.skip_space(false)?;
        if !eq(self.word(), "STDIN") {
            return self.skip_statement(start);
        }
        let options = self.pos;
        if self.loose(Mode::Statement, start)? != LooseEnd::Delimiter {
            return Ok(());
        }
        let csv = find_ci(self.data.get(options..self.pos).unwrap_or_default(), b"csv").is_some();
        self.pos += self.delim.len();
        // The data starts on the next line.
        let rest = self.data.get(self.pos..).unwrap_or_default();
        match memchr(b'\n', rest) {
            Some(k) => self.pos += k + 1,
            None => {
                self.hit_end();
                self.pos = self.data.len();
                return Ok(());
            }
        }
        let columns: Rc<[String]> = match explicit {
            Some(list) => Rc::from(list),
            None => self.columns_of(&name),
        };
        self.copy_rows(&Rc::from(name.as_str()), &columns, csv);
        Ok(())
    }

    /// The lines of a `COPY` block up to `\.`: one row each, fields
    /// separated by tabs (`csv`: the whole line is one unit). A checkpoint
    /// before each line.
    fn copy_rows(&mut self, table_rc: &Rc<str>, columns: &Rc<[String]>, csv: bool) {
        let data = self.data;
        let table: &str = table_rc;
        loop {
            self.checkpoint(|| Resume::Copy {
                table: Rc::clone(table_rc),
                columns: Rc::clone(columns),
                csv,
            });
            if self.pos >= data.len() {
                // The block goes on in the next window, if any.
                self.hit_end();
                return;
            }
            let line_start = self.pos;
            let rest = &data[line_start..];
            let end = memchr(b'\n', rest).map_or_else(
                || {
                    self.hit_end();
                    data.len()
                },
                |k| line_start + k,
            );
            self.pos = (end + 1).min(data.len());
            let raw = &data[line_start..end];
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            if line == b"\\." {
                return;
            }
            let (row, send) = self.next_row(table);
            if !send || line.is_empty() {
                continue;
            }
            if csv {
                self.emit_slice(
                    line_start,
                    line_start + line.len(),
                    Some(table),
                    None,
                    Some(row),
                );
                continue;
            }
            let mut field_start = line_start;
            for (i, field) in line.split(|&b| b == b'\t').enumerate() {
                let s = field_start;
                field_start += field.len() + 1;
                let name = columns.get(i).map(String::as_str);
                if field.is_empty() || field == b"\\N" {
                    continue;
                }
                if memchr(b'\\', field).is_none() {
                    self.emit_slice(s, s + field.len(), Some(table), name, Some(row));
                    continue;
                }
                self.buf.clear();
                self.cut = false;
                copy_unescape(field, &mut self.buf, &mut self.cut);
                if !is_bytea_hex(&self.buf) {
                    self.emit_buf(s, s + field.len(), Some(table), name, Some(row));
                }
            }
        }
    }

    /// `DELIMITER xx` (the keyword read): the new terminator, to the end of
    /// the line.
    fn delimiter(&mut self) {
        while self.peek().is_some_and(|b| b == b' ' || b == b'\t') {
            self.pos += 1;
        }
        let s = self.pos;
        while self.peek().is_some_and(|b| !is_space(b)) {
            self.pos += 1;
        }
        let delim = &self.data[s..self.pos];
        if !delim.is_empty() && delim.len() <= MAX_DELIMITER {
            self.delim = Rc::from(delim);
        }
        self.skip_line();
    }

    /// `SET …` (the keyword read): dialect hints.
    fn set(&mut self, start: usize) -> Result<(), Malformed> {
        self.skip_statement(start)?;
        let end = self.pos.min(start + 512);
        let stmt = self.data.get(start..end).unwrap_or_default();
        if let Some(v) = setting(stmt, b"standard_conforming_strings") {
            if eq(v, "off") {
                self.backslash = true;
            } else if eq(v, "on") {
                self.backslash = false;
            }
        }
        if let Some(v) = setting(stmt, b"NAMES").or_else(|| setting(stmt, b"client_encoding")) {
            self.set_gbk(is_gbk_name(v));
        }
        self.sql_mode(stmt);
        Ok(())
    }

    /// Whether the dump is GBK (`SET NAMES gbk`).
    fn set_gbk(&mut self, gbk: bool) {
        self.gbk = gbk;
        // What comes before is counted in the old encoding.
        self.locate(self.pos);
        let loc = self.loc.get();
        self.loc.set(Locator { gbk, ..loc });
    }

    /// A MySQL dialect hint: MySQL (`true`) or standard SQL.
    fn set_mysql(&mut self, mysql: bool) {
        self.mysql = mysql;
        self.backslash = mysql && !self.no_backslash;
    }

    /// `SQL_MODE='…NO_BACKSLASH_ESCAPES…'` in a `SET` statement or an
    /// executable comment (a mode taken from a variable is ignored).
    fn sql_mode(&mut self, stmt: &[u8]) {
        let mut from = 0;
        while let Some(at) = find_ci(stmt.get(from..).unwrap_or_default(), b"sql_mode") {
            from += at + 8;
            let rest = trim_start(stmt.get(from..).unwrap_or_default());
            let Some(rest) = rest.strip_prefix(b"=") else {
                continue;
            };
            let rest = trim_start(rest);
            if let Some(&q @ (b'\'' | b'"')) = rest.first() {
                let value = &rest[1..];
                let value = &value[..memchr(q, value).unwrap_or(value.len())];
                self.no_backslash = find_ci(value, b"NO_BACKSLASH_ESCAPES").is_some();
                self.set_mysql(true);
                return;
            }
        }
    }

    // -- errors and units ----------------------------------------------------

    /// Reports a syntax error, sends the bytes it makes unreadable as one
    /// raw unit, and resumes at the next line that starts a statement.
    fn recover(&mut self, e: Malformed, table: &str, row: Option<u64>) {
        let data = self.data;
        let len = data.len();
        let a = e.anchor.max(self.emitted_to).min(len);
        let at = e.at.clamp(a, len);
        let mut resume = self.next_statement_line(a);
        if resume < at {
            let cost = at - resume;
            if cost <= self.budget {
                self.budget -= cost;
            } else {
                resume = self.next_statement_line(at);
            }
        }
        // The anchor's line when it can still be located (forward only),
        // else its statement's.
        let line = if e.anchor >= self.loc.get().pos {
            self.locate(e.anchor).0
        } else {
            self.stmt_line
        };
        self.out_skip(
            table,
            &format!("malformed SQL near line {line}: {}", e.what),
        );
        let table = (!table.is_empty()).then_some(table);
        self.emit_raw(a, resume, table, row);
        if let Some((quote, esc)) = self.cut_string.take() {
            if resume >= len && self.forced.is_some() {
                // A string longer than the window: its start went out raw;
                // the rest is skipped, not parsed as SQL.
                self.resume = Some(Resume::SkipString { quote, esc });
            }
        }
        self.pos = resume;
        self.emitted_to = self.emitted_to.max(resume);
    }

    /// Sends `data[s..e]` as it is (decoded if it can be), for recovery.
    fn emit_raw(&mut self, s: usize, e: usize, table: Option<&str>, row: Option<u64>) {
        let data = self.data;
        let raw = data.get(s..e).unwrap_or_default();
        if trim(raw).is_empty() {
            return;
        }
        self.send(s, raw, Decode::Lenient, table, None, row);
    }

    /// Sends `raw`, whose source starts at `s`, as a unit: decoded as
    /// `how` says, located, and only if [`deliver`] allows the call.
    fn send(
        &mut self,
        s: usize,
        raw: &[u8],
        how: Decode,
        table: Option<&str>,
        field: Option<&str>,
        row: Option<u64>,
    ) {
        let text = match how {
            Decode::Value => match decode_value(raw, &mut self.scratch) {
                Some(text) => text,
                None => return,
            },
            Decode::Lenient if raw.len() <= MAX_VALUE => {
                decode_value(raw, &mut self.scratch).unwrap_or(raw)
            }
            Decode::Lenient => raw,
        };
        if !deliver(&self.short, &mut self.emits, self.replay) {
            return;
        }
        let (loc, data) = (&self.loc, self.data);
        let origin = move || locate(loc, data, s);
        self.sink.unit(&Unit {
            text,
            place: Place {
                origin: Some(Origin(&origin)),
                table,
                row,
                field,
                ..Place::default()
            },
        });
    }

    /// Sends the value buffer, whose source starts at `s` and ends at `e`.
    fn emit_buf(
        &mut self,
        s: usize,
        e: usize,
        table: Option<&str>,
        field: Option<&str>,
        row: Option<u64>,
    ) {
        self.emitted_to = self.emitted_to.max(e);
        if self.buf.is_empty() {
            return;
        }
        if self.cut {
            if let Err(err) = std::str::from_utf8(&self.buf) {
                if err.error_len().is_none() {
                    self.buf.truncate(err.valid_up_to());
                }
            }
            let what = table.unwrap_or("");
            let where_ = match (field, row) {
                (Some(f), Some(r)) => format!("column {f}, row {r}: "),
                (None, Some(r)) => format!("row {r}: "),
                _ => String::new(),
            };
            self.out_skip(
                what,
                &format!(
                    "{where_}value longer than {} MiB, only its start scanned",
                    MAX_VALUE >> 20
                ),
            );
            self.cut = false;
        }
        // Lent out for the call (its capacity comes back with it).
        let buf = std::mem::take(&mut self.buf);
        self.send(s, &buf, Decode::Value, table, field, row);
        self.buf = buf;
    }

    /// Sends `data[s..e]` as a value.
    fn emit_slice(
        &mut self,
        s: usize,
        e: usize,
        table: Option<&str>,
        field: Option<&str>,
        row: Option<u64>,
    ) {
        let data = self.data;
        self.emitted_to = self.emitted_to.max(e);
        let raw = data.get(s..e).unwrap_or_default();
        if raw.is_empty() {
            return;
        }
        self.send(s, raw, Decode::Value, table, field, row);
    }
}

/// How [`Parser::send`] decodes what it sends.
#[derive(Debug, Clone, Copy)]
enum Decode {
    /// A value: UTF-8 or GB18030, else binary and not sent.
    Value,
    /// Recovered bytes: decoded if they can be (and not too long), else
    /// sent as they are.
    Lenient,
}

/// Whether a sink call is made: not after `short`, nor when an earlier run
/// from the checkpoint made it already (see [`Parser::replay`]).
fn deliver(short: &Cell<bool>, emits: &mut u64, replay: u64) -> bool {
    if short.get() {
        return false;
    }
    let i = *emits;
    *emits += 1;
    i >= replay
}

/// The end of the whole characters of `s` (which holds no quote or
/// backslash) in a GBK dump: before a last lead byte whose trail is not
/// there.
fn gbk_safe_end(s: &[u8]) -> usize {
    let mut k = 0;
    while let Some(&b) = s.get(k) {
        if k + 1 == s.len() && (0x81..=0xfe).contains(&b) {
            return k;
        }
        k += if gbk_double(b, s.get(k + 1).copied()) {
            2
        } else {
            1
        };
    }
    s.len()
}

/// The next quote or backslash in `s`, stepping over GBK double bytes (whose
/// trail byte may be `0x5C`).
fn find_gbk(s: &[u8], quote: u8) -> Option<usize> {
    let mut k = 0;
    while let Some(&b) = s.get(k) {
        if b == quote || b == b'\\' {
            return Some(k);
        }
        k += if gbk_double(b, s.get(k + 1).copied()) {
            2
        } else {
            1
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::testing::{Recorded, Recorder};
    use crate::synth::{self, Rng};
    use proptest::prelude::*;

    fn run(data: &[u8]) -> Recorder {
        run_max(data, None)
    }

    fn run_max(data: &[u8], max: Option<u64>) -> Recorder {
        let mut rec = Recorder::default();
        extract(data, max, &mut rec);
        rec
    }

    /// The units of `table`, in order.
    fn rows<'r>(rec: &'r Recorder, table: &str) -> Vec<&'r Recorded> {
        rec.units
            .iter()
            .filter(|u| u.table.as_deref() == Some(table))
            .collect()
    }

    /// The unit of `table` at `row` under `field`.
    fn cell<'r>(rec: &'r Recorder, table: &str, row: u64, field: &str) -> &'r Recorded {
        rec.units
            .iter()
            .find(|u| {
                u.table.as_deref() == Some(table)
                    && u.row == Some(row)
                    && u.field.as_deref() == Some(field)
            })
            .unwrap_or_else(|| panic!("no {table}.{field} row {row} in {:#?}", rec.units))
    }

    fn has_cell(rec: &Recorder, table: &str, row: u64, field: &str) -> bool {
        rec.units.iter().any(|u| {
            u.table.as_deref() == Some(table)
                && u.row == Some(row)
                && u.field.as_deref() == Some(field)
        })
    }

    /// 1-based line and character column of the first `needle` in `data`.
    fn line_col(data: &[u8], needle: &[u8]) -> (u64, u64) {
        let at = memmem::find(data, needle).expect("needle in data");
        let before = &data[..at];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count() as u64;
        let start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        (line, 1 + chars(&before[start..], false))
    }

    #[test]
    fn mysqldump_rows_fields_escapes_and_binary() {
        let mut rng = Rng::new(1);
        let id1 = synth::resident_id(&mut rng);
        let id2 = synth::resident_id(&mut rng);
        let phone = synth::mobile(&mut rng);
        let (gbk_name, _, _) = GB18030.encode("李四");
        let mut data = Vec::new();
        data.extend_from_slice(
            format!(
                "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
--
-- Host: 10.20.30.40    Database: shop
-- ------------------------------------------------------
-- Server version\t8.0.36

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;

--
-- Table structure for table `customers`
--

DROP TABLE IF EXISTS `customers`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!50503 SET character_set_client = utf8mb4 */;
CREATE TABLE `customers` (
  `id` int NOT NULL AUTO_INCREMENT,
  `name` varchar(50) NOT NULL DEFAULT '' COMMENT '姓名',
  `id_card` char(18) DEFAULT NULL,
  `mobile` bigint DEFAULT NULL,
  `note` text,
  `photo` blob,
  `avatar` varbinary(16) DEFAULT NULL,
  `raw` blob,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_card` (`id_card`),
  KEY `idx_mobile` (`mobile`) USING BTREE,
  CONSTRAINT `fk_x` FOREIGN KEY (`id`) REFERENCES `x` (`id`)
) ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=utf8mb4;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `customers`
--

LOCK TABLES `customers` WRITE;
/*!40000 ALTER TABLE `customers` DISABLE KEYS */;
INSERT INTO `customers` VALUES (1,'张三','{id1}',{phone},'核验记录\\n{id2}',_binary 'PNG\\0\\r\\n\\Z',0x89504E47,'"
            )
            .as_bytes(),
        );
        // Raw binary inside quotes (mysqldump without --hex-blob).
        data.extend_from_slice(b"\xff\xfe\x00\x81\\'x");
        data.extend_from_slice(b"'),(2,'O\\'Brien ''Jr'' \\\"Q\\\"',NULL,-1,'tab\\there 50\\% \\_',NULL,NULL,NULL),(3,'");
        data.extend_from_slice(&gbk_name);
        data.extend_from_slice(
            b"',NULL,NULL,'',NULL,NULL,NULL);
/*!40000 ALTER TABLE `customers` ENABLE KEYS */;
UNLOCK TABLES;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;

-- Dump completed on 2024-05-01 10:00:00
",
        );
        assert!(std::str::from_utf8(&data).is_err());
        assert!(looks_like_dump(&data));

        let rec = run(&data);
        assert_eq!(rec.encodings, vec![ENCODING]);
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);

        assert_eq!(cell(&rec, "customers", 1, "id").text, "1");
        let name = cell(&rec, "customers", 1, "name");
        assert_eq!(name.text, "张三");
        assert_eq!((name.line, name.col), {
            let (l, c) = line_col(&data, "'张三'".as_bytes());
            (Some(l), c + 1)
        });
        assert_eq!(cell(&rec, "customers", 1, "id_card").text, id1);
        let mobile = cell(&rec, "customers", 1, "mobile");
        assert_eq!(mobile.text, phone);
        assert_eq!(mobile.col, line_col(&data, phone.as_bytes()).1);
        assert_eq!(
            cell(&rec, "customers", 1, "note").text,
            format!("核验记录\n{id2}")
        );
        // _binary, 0x…, and raw binary bytes are not text.
        for field in ["photo", "avatar", "raw"] {
            assert!(!has_cell(&rec, "customers", 1, field), "{field}");
        }
        assert_eq!(
            cell(&rec, "customers", 2, "name").text,
            "O'Brien 'Jr' \"Q\""
        );
        assert!(!has_cell(&rec, "customers", 2, "id_card"));
        assert_eq!(cell(&rec, "customers", 2, "mobile").text, "-1");
        assert_eq!(
            cell(&rec, "customers", 2, "note").text,
            "tab\there 50\\% \\_"
        );
        // A GBK value in a UTF-8 dump is decoded on its own.
        assert_eq!(cell(&rec, "customers", 3, "name").text, "李四");
        assert!(!has_cell(&rec, "customers", 3, "note"), "empty string");
        assert_eq!(rows(&rec, "customers").len(), 11);

        // Plain comments are scanned (without a table); executable ones and
        // the SET statements are not.
        let host = rec.containing("10.20.30.40");
        assert_eq!(host.len(), 1);
        assert_eq!((host[0].table.as_deref(), host[0].line), (None, Some(3)));
        assert!(rec.containing("OLD_CHARACTER_SET_CLIENT").is_empty());
        assert!(rec.units.iter().any(|u| u.text == "姓名"));
        assert!(rec
            .units
            .iter()
            .all(|u| u.table.is_none() || u.table.as_deref() == Some("customers")));
    }

    #[test]
    fn pg_dump_copy_and_inserts() {
        let mut rng = Rng::new(2);
        let (p1, p2, p3) = (
            synth::mobile(&mut rng),
            synth::mobile(&mut rng),
            synth::mobile(&mut rng),
        );
        let id = synth::resident_id(&mut rng);
        let data = format!(
            "--
-- PostgreSQL database dump
--

-- Dumped from database version 16.2
-- Dumped by pg_dump version 16.2

SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);

CREATE FUNCTION public.audit() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
INSERT INTO audit_log VALUES (1, 'x');
RETURN NEW;
END;
$$;

CREATE TABLE public.users (
    id integer NOT NULL,
    name character varying(50),
    phone text,
    key text,
    avatar bytea,
    CONSTRAINT users_pk PRIMARY KEY (id)
);

COPY public.users (id, name, phone, key, avatar) FROM stdin;
1\t张三\t{p1}\ta\\tb\t\\\\x89504e47
2\t\\N\t{p2}\tC:\\\\dir\\\\\t\\N
\\.

INSERT INTO public.users VALUES (3, 'line one
身份证 {id}
line three', NULL, 'it''s', '\\x0102');
INSERT INTO public.users (name, phone) VALUES (E'tab\\there \\'q\\'', '{p3}');
"
        );
        let data = data.as_bytes();
        assert!(looks_like_dump(data));
        let rec = run(data);
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);

        let name = cell(&rec, "users", 1, "name");
        assert_eq!(name.text, "张三");
        let copy_line = line_col(data, b"1\t").0;
        assert_eq!((name.line, name.col), (Some(copy_line), 3));
        assert_eq!(cell(&rec, "users", 1, "phone").text, p1);
        assert_eq!(cell(&rec, "users", 1, "key").text, "a\tb");
        assert!(!has_cell(&rec, "users", 1, "avatar"), "bytea is binary");
        assert!(!has_cell(&rec, "users", 2, "name"), "\\N is NULL");
        assert_eq!(cell(&rec, "users", 2, "phone").text, p2);
        assert_eq!(cell(&rec, "users", 2, "key").text, "C:\\dir\\");
        assert_eq!(cell(&rec, "users", 2, "phone").line, Some(copy_line + 1));

        // --inserts: a string with literal newlines; the next row's lines
        // stay right.
        let multi = cell(&rec, "users", 3, "name");
        assert_eq!(multi.text, format!("line one\n身份证 {id}\nline three"));
        assert_eq!(
            multi.line,
            Some(line_col(data, b"INSERT INTO public.users VALUES").0)
        );
        assert_eq!(cell(&rec, "users", 3, "key").text, "it's");
        assert!(!has_cell(&rec, "users", 3, "avatar"), "'\\x..' bytea");
        let e = cell(&rec, "users", 4, "name");
        assert_eq!(e.text, "tab\there 'q'");
        let p3_unit = cell(&rec, "users", 4, "phone");
        assert_eq!(p3_unit.text, p3);
        let (l, c) = line_col(data, p3.as_bytes());
        assert_eq!((p3_unit.line, p3_unit.col), (Some(l), c));

        // The function body is a string, not rows of audit_log.
        assert!(rows(&rec, "audit_log").is_empty());
        assert!(rec
            .units
            .iter()
            .any(|u| u.table.is_none() && u.text.contains("RETURN NEW")));
    }

    #[test]
    fn sqlite_dump_replace_char_and_blobs() {
        let mut rng = Rng::new(3);
        let id = synth::resident_id(&mut rng);
        let phone = synth::mobile(&mut rng);
        let data = format!(
            "PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, bio TEXT, pic BLOB);
INSERT INTO people VALUES(1,'王五',replace('地址\\n身份证{id}\\n','\\n',char(10)),X'89504E47');
INSERT INTO \"people\" VALUES(2,'x',replace(replace('a\\r\\nb {phone}','\\r',char(13)),'\\n',char(10)),NULL);
INSERT INTO people VALUES(3,'C:\\new',unistr('tel\\u000a{phone}'),NULL);
CREATE TABLE sqlite_sequence(name,seq);
CREATE TRIGGER tr AFTER INSERT ON people BEGIN
INSERT INTO people(name) VALUES (CASE WHEN 1 THEN 'trig' END);
INSERT INTO people(name) VALUES ('trig2');
END;
CREATE VIEW v AS SELECT name FROM people;
INSERT INTO people VALUES(4,'last',NULL,NULL);
COMMIT;
"
        );
        assert!(looks_like_dump(data.as_bytes()));
        let rec = run(data.as_bytes());
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(cell(&rec, "people", 1, "name").text, "王五");
        assert_eq!(
            cell(&rec, "people", 1, "bio").text,
            format!("地址\n身份证{id}\n")
        );
        assert!(!has_cell(&rec, "people", 1, "pic"));
        assert_eq!(
            cell(&rec, "people", 2, "bio").text,
            format!("a\r\nb {phone}")
        );
        // Standard strings: a backslash is a backslash.
        assert_eq!(cell(&rec, "people", 3, "name").text, "C:\\new");
        assert_eq!(cell(&rec, "people", 3, "bio").text, format!("tel\n{phone}"));
        // The trigger body is code, not rows.
        assert_eq!(rows(&rec, "people").len(), 11);
        assert_eq!(cell(&rec, "people", 4, "name").text, "last");
        assert!(rec.containing("trig").iter().all(|u| u.table.is_none()));
    }

    #[test]
    fn explicit_column_lists_and_sql_server_scripts() {
        let mut rng = Rng::new(4);
        let (p1, p2) = (synth::mobile(&mut rng), synth::mobile(&mut rng));
        let card = synth::bank_card(&mut rng);
        let mysql = format!(
            "CREATE TABLE `t` (`a` varchar(10), `b` varchar(30), `c` bigint);
INSERT INTO `t` (`c`, `a`) VALUES ({card},'x'),(1,'y');
INSERT INTO `t` VALUES ('z','{p1}',2) ON DUPLICATE KEY UPDATE `b`=VALUES(`b`);
INSERT INTO t VALUES ('w', 'v', 3);
"
        );
        let rec = run(mysql.as_bytes());
        assert_eq!(cell(&rec, "t", 1, "c").text, card);
        assert_eq!(cell(&rec, "t", 1, "a").text, "x");
        assert_eq!(cell(&rec, "t", 2, "a").text, "y");
        assert_eq!(cell(&rec, "t", 3, "b").text, p1);
        assert_eq!(cell(&rec, "t", 4, "a").text, "w");

        // SSMS style: brackets, N'…', no semicolons, GO.
        let mssql = format!(
            "USE [crm]
GO
SET ANSI_NULLS ON
GO
/****** Object:  Table [dbo].[Users]    Script Date: 2024/5/1 ******/
CREATE TABLE [dbo].[Users](
\t[Id] [int] IDENTITY(1,1) NOT NULL,
\t[Name] [nvarchar](50) NULL,
\t[Mobile] [varchar](20) NULL,
 CONSTRAINT [PK_Users] PRIMARY KEY CLUSTERED
(
\t[Id] ASC
)WITH (PAD_INDEX = OFF) ON [PRIMARY]
) ON [PRIMARY]
GO
SET IDENTITY_INSERT [dbo].[Users] ON
INSERT [dbo].[Users] ([Id], [Name], [Mobile]) VALUES (1, N'赵六', N'{p1}')
INSERT [dbo].[Users] ([Id], [Name], [Mobile]) VALUES (2, N'钱七', N'{p2}')
INSERT INTO [dbo].[Users] VALUES (3, N'孙八', CAST(N'{p2}' AS VarChar(20)))
SET IDENTITY_INSERT [dbo].[Users] OFF
GO
"
        );
        assert!(looks_like_dump(mssql.as_bytes()));
        let rec = run(mssql.as_bytes());
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(cell(&rec, "Users", 1, "Name").text, "赵六");
        assert_eq!(cell(&rec, "Users", 1, "Mobile").text, p1);
        assert_eq!(cell(&rec, "Users", 2, "Mobile").text, p2);
        assert_eq!(cell(&rec, "Users", 3, "Name").text, "孙八");
        assert_eq!(cell(&rec, "Users", 3, "Mobile").text, p2);
    }

    #[test]
    fn navicat_and_phpmyadmin_dumps() {
        let mut rng = Rng::new(10);
        let id = synth::resident_id(&mut rng);
        let navicat = format!(
            "/*
 Navicat Premium Data Transfer

 Source Server         : local
 Source Server Type    : MySQL
 Source Host           : 192.168.1.20:3306

 Date: 01/05/2024 10:00:00
*/

SET NAMES utf8mb4;
SET FOREIGN_KEY_CHECKS = 0;

-- ----------------------------
-- Table structure for user
-- ----------------------------
DROP TABLE IF EXISTS `user`;
CREATE TABLE `user`  (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) CHARACTER SET utf8mb4 NULL DEFAULT NULL COMMENT '姓名',
  `sfz` varchar(18) NULL DEFAULT NULL,
  PRIMARY KEY (`id`) USING BTREE
) ENGINE = InnoDB AUTO_INCREMENT = 3 ROW_FORMAT = Dynamic;

-- ----------------------------
-- Records of user
-- ----------------------------
INSERT INTO `user` VALUES (1, '张三', '{id}');
INSERT INTO `user` VALUES (2, '李\\\\四', NULL);

SET FOREIGN_KEY_CHECKS = 1;
"
        );
        assert!(looks_like_dump(navicat.as_bytes()));
        let rec = run(navicat.as_bytes());
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(cell(&rec, "user", 1, "sfz").text, id);
        assert_eq!(cell(&rec, "user", 2, "name").text, "李\\四");
        assert_eq!(rec.containing("192.168.1.20:3306")[0].table, None);

        // sql_mode without backslash escapes.
        let php = "-- phpMyAdmin SQL Dump
SET SQL_MODE = \"NO_AUTO_VALUE_ON_ZERO,NO_BACKSLASH_ESCAPES\";
START TRANSACTION;
CREATE TABLE `t` (
  `path` varchar(255) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO `t` (`path`) VALUES
('C:\\new\\'),
('x');
COMMIT;
";
        let rec = run(php.as_bytes());
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(cell(&rec, "t", 1, "path").text, "C:\\new\\");
        assert_eq!(cell(&rec, "t", 2, "path").text, "x");
    }

    #[test]
    fn delimiter_blocks_hide_trigger_and_procedure_bodies() {
        let mut rng = Rng::new(5);
        let phone = synth::mobile(&mut rng);
        let data = format!(
            "CREATE TABLE `t` (`a` varchar(20));
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ /*!50003 TRIGGER trg BEFORE INSERT ON t FOR EACH ROW BEGIN
  SET NEW.a = '1'; INSERT INTO log VALUES ('x');
END */;;
CREATE PROCEDURE p()
BEGIN
INSERT INTO log VALUES ('in proc');
  SELECT 1;
END ;;
DELIMITER ;
INSERT INTO `t` VALUES ('{phone}'),('after');
"
        );
        let rec = run(data.as_bytes());
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert!(rows(&rec, "log").is_empty());
        let in_proc = rec.containing("in proc");
        assert_eq!(in_proc.len(), 1);
        assert_eq!(in_proc[0].table, None);
        assert_eq!(cell(&rec, "t", 1, "a").text, phone);
        assert_eq!(cell(&rec, "t", 2, "a").text, "after");
    }

    #[test]
    fn unterminated_quote_is_reported_and_parsing_resumes() {
        let mut rng = Rng::new(6);
        let phone = synth::mobile(&mut rng);
        let data = format!(
            "INSERT INTO t VALUES (1,'abc);
INSERT INTO t VALUES (2,'{phone}');
INSERT INTO t VALUES (3,'ok');
"
        );
        let rec = run(data.as_bytes());
        assert_eq!(
            rec.skips,
            vec![(
                "t".to_string(),
                "malformed SQL near line 1: unterminated string".to_string()
            )]
        );
        let unit = rec.containing(&phone);
        assert_eq!(unit.len(), 1);
        assert_eq!(
            (unit[0].row, unit[0].line, unit[0].col),
            (Some(2), Some(2), 26)
        );
        assert!(rec.units.iter().any(|u| u.text == "ok" && u.row == Some(3)));
        // The broken bytes are scanned as they are.
        assert!(rec.units.iter().any(|u| u.text.starts_with("'abc);")));

        // At the very end, nothing to resume at.
        let rec = run(format!("INSERT INTO t VALUES (1,'{phone}").as_bytes());
        assert_eq!(rec.skips.len(), 1);
        assert_eq!(rec.containing(&phone).len(), 1);
        for broken in [
            "/* no end",
            "INSERT INTO t VALUES (1, 2",
            "CREATE TABLE t (a int",
            "CREATE TRIGGER x BEGIN\nINSERT INTO t VALUES ('a');\n",
        ] {
            let rec = run(broken.as_bytes());
            assert_eq!(rec.skips.len(), 1, "{broken}");
        }
    }

    #[test]
    fn row_limit_keeps_the_first_rows_of_every_table() {
        let data = "CREATE TABLE a (x text);
INSERT INTO a VALUES ('a1'),('a2');
INSERT INTO a VALUES ('a3'),('a4'),('a5');
INSERT INTO b VALUES ('b1'),('b2'),('b3'),('b4');
COPY c (x) FROM stdin;
c1
c2
c3
c4
\\.
INSERT INTO a VALUES ('a6');
";
        let rec = run_max(data.as_bytes(), Some(3));
        let texts: Vec<&str> = rec.units.iter().map(|u| u.text.as_str()).collect();
        assert_eq!(
            texts,
            ["a1", "a2", "a3", "b1", "b2", "b3", "c1", "c2", "c3"]
        );
        assert_eq!(rec.skips.len(), 3);
        assert!(rec.skips.iter().all(|(_, r)| r.contains("first 3")));
        assert_eq!(run(data.as_bytes()).units.len(), 14);
    }

    /// Counts units without keeping them.
    #[derive(Default)]
    struct Counter {
        units: u64,
        last: Option<(Option<u64>, Option<u64>, u64, String)>,
        skips: usize,
    }

    impl Sink for Counter {
        fn unit(&mut self, unit: &Unit<'_>) {
            self.units += 1;
            let p = unit.place;
            let start = p.start();
            self.last = Some((
                p.row,
                start.map(|(line, _)| line),
                start.map_or(p.col, |(_, col)| col),
                String::from_utf8_lossy(unit.text).into_owned(),
            ));
        }

        fn skip(&mut self, _what: &str, _reason: &str) {
            self.skips += 1;
        }
    }

    #[test]
    fn a_20_mb_single_line_insert_is_linear() {
        let mut rng = Rng::new(7);
        let phone = synth::mobile(&mut rng);
        let mut data = String::from("INSERT INTO big VALUES ");
        let mut rows = 0u64;
        while data.len() < 20 << 20 {
            rows += 1;
            if rows > 1 {
                data.push(',');
            }
            data.push_str(&format!("({rows},'{phone}','备注\\'{rows}')"));
        }
        let last_at = data.rfind(&phone).unwrap();
        let last_col = 1 + data[..last_at].chars().count() as u64;
        data.push_str(";\nINSERT INTO after VALUES ('end');\n");

        let mut counter = Counter::default();
        extract(data.as_bytes(), None, &mut counter);
        assert_eq!(counter.units, 3 * rows + 1);
        assert_eq!(counter.skips, 0);
        assert_eq!(
            counter.last,
            Some((Some(1), Some(2), 28, "end".to_string()))
        );

        // The column of the last phone on the 20 MB line.
        let mut rec = Recorder::default();
        extract(data.as_bytes(), None, &mut LastPhone(&mut rec, &phone));
        let last = rec.units.last().unwrap();
        assert_eq!(
            (last.row, last.line, last.col),
            (Some(rows), Some(1), last_col)
        );

        // With a row limit the rest is skipped fast.
        let mut counter = Counter::default();
        extract(data.as_bytes(), Some(2), &mut counter);
        assert_eq!(counter.units, 3 * 2 + 1);
    }

    /// Keeps only the units equal to a value.
    struct LastPhone<'a>(&'a mut Recorder, &'a str);

    impl Sink for LastPhone<'_> {
        fn unit(&mut self, unit: &Unit<'_>) {
            if unit.text == self.1.as_bytes() {
                self.0.units.clear();
                self.0.unit(unit);
            }
        }
        fn skip(&mut self, what: &str, reason: &str) {
            self.0.skip(what, reason);
        }
    }

    #[test]
    fn gbk_dump_trail_byte_is_not_a_backslash() {
        // A character whose GBK trail byte is 0x5C, right before the quote.
        let c = (0x4e00u32..0x9fa5)
            .filter_map(char::from_u32)
            .find(|c| {
                let text = c.to_string();
                let (b, _, _) = GB18030.encode(&text);
                b.len() == 2 && b[1] == b'\\'
            })
            .unwrap();
        let phone = synth::mobile(&mut Rng::new(8));
        let text =
            format!("/*!40101 SET NAMES gbk */;\nINSERT INTO `t` VALUES ('张{c}','{phone}');\n");
        let (gbk, _, _) = GB18030.encode(&text);
        let rec = run(&gbk);
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(rec.units[0].text, format!("张{c}"));
        assert_eq!(rec.units[1].text, phone);
        // Columns count GBK characters.
        let line2 = text.lines().nth(1).unwrap();
        let col = 1 + line2[..line2.find(&phone).unwrap()].chars().count() as u64;
        assert_eq!((rec.units[1].line, rec.units[1].col), (Some(2), col));
    }

    #[test]
    fn psql_meta_commands_are_lines() {
        let data = "\\restrict abc\nSET standard_conforming_strings = on;\n\\connect db\nINSERT INTO t VALUES ('a\\n');\n\\unrestrict abc\n";
        let rec = run(data.as_bytes());
        assert_eq!(rec.units.len(), 1, "{:?}", rec.units);
        let u = &rec.units[0];
        assert_eq!(
            (u.text.as_str(), u.table.as_deref(), u.field.as_deref()),
            ("a\\n", Some("t"), None)
        );
    }

    #[test]
    fn utf16_scripts_are_transcoded() {
        let phone = synth::mobile(&mut Rng::new(9));
        let text = format!("SET NOCOUNT ON\nINSERT [dbo].[t] ([m]) VALUES (N'{phone}')\n");
        let mut data = vec![0xff, 0xfe];
        data.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        assert!(looks_like_dump(&data));
        let rec = run(&data);
        assert_eq!(rec.encodings, vec!["SQL dump (UTF-16LE)"]);
        let unit = cell(&rec, "t", 1, "m");
        assert_eq!((unit.text.as_str(), unit.line), (phone.as_str(), Some(2)));
    }

    #[test]
    fn sniffing() {
        let yes: &[&[u8]] = &[
            b"-- MySQL dump 10.13\n",
            b"-- MariaDB dump 10.19\n",
            b"--\n-- PostgreSQL database dump\n--\n",
            b"-- phpMyAdmin SQL Dump\n",
            b"/*\n Navicat Premium Data Transfer\n\n Source Server Type    : MySQL\n*/\n",
            b"PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nCREATE TABLE t(a);\n",
            b"INSERT INTO t VALUES (1);\n",
            b"\xef\xbb\xbf-- exported\nSET NAMES utf8;\nINSERT INTO `t` VALUES (1);\n",
            b"/* header */\nCOPY public.t (a) FROM stdin;\n1\n\\.\n",
        ];
        for head in yes {
            assert!(looks_like_dump(head), "{}", String::from_utf8_lossy(head));
        }
        let no: &[&[u8]] = &[
            b"import sqlite3\ncur.execute(\"INSERT INTO t VALUES (?)\")\n",
            b"#!/usr/bin/env python\nSQL = '''\nINSERT INTO t VALUES (1)\n'''\n",
            b"/*\n * License\n */\npackage db;\nString q = \"\"\"\nINSERT INTO t VALUES (1)\n\"\"\";\n",
            b"# Notes\nRun this:\nINSERT INTO t VALUES (1);\n",
            b"SELECT * FROM t;\n",
            b"name,phone\nINSERT INTO,1\n",
        ];
        for head in no {
            assert!(!looks_like_dump(head), "{}", String::from_utf8_lossy(head));
        }
        assert!(is_pg_custom(b"PGDMP\x01\x0e\x00"));
        assert!(!is_pg_custom(b"-- PGDMP"));
        // `sniff_text` looks for strong headers only on such lines.
        assert!(STRONG
            .iter()
            .all(|m| matches!(m.first(), Some(b'-' | b'/'))));
    }

    #[test]
    fn literal_forms() {
        let data = "INSERT INTO `t` VALUES (_utf8mb4'utf8mb4 text',_binary 'bin',X'4142',b'0101',\
                    0x4142,1.5e-3,-2,+3,'a' 'b',NULL,DEFAULT,TRUE,CONCAT('c','d'),'\\Z\\0');";
        let rec = run(data.as_bytes());
        let texts: Vec<&str> = rec.units.iter().map(|u| u.text.as_str()).collect();
        assert_eq!(
            texts,
            ["utf8mb4 text", "1.5e-3", "-2", "+3", "a", "c", "\x1a\0"]
        );
        let fields: Vec<Option<u64>> = rec.units.iter().map(|u| u.row).collect();
        assert!(fields.iter().all(|r| *r == Some(1)));
    }

    fn fragment() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"INSERT INTO `t` VALUES (1,'a\\'b',NULL),(2,\"x\");\n".to_vec()),
            Just(b"INSERT INTO t (a, b) VALUES ('13812345678', 0x1F);\n".to_vec()),
            Just(b"CREATE TABLE t (`a` int, KEY k (a), b text);\n".to_vec()),
            Just(b"COPY public.t (a, b) FROM stdin;\n1\t\\N\n2\tx\\ty\n\\.\n".to_vec()),
            Just(b"DELIMITER ;;\nCREATE TRIGGER x BEGIN SET a = 1; END;;\nDELIMITER ;\n".to_vec()),
            Just(b"/*!40101 SET NAMES gbk */;\n".to_vec()),
            Just(b"SET standard_conforming_strings = on;\n".to_vec()),
            Just(b"-- comment 10.0.0.1\n# hash\n/* block */\n".to_vec()),
            Just(
                b"INSERT INTO t VALUES(replace('a\\nb','\\n',char(10)),E'\\x41\\101');\n".to_vec()
            ),
            Just(b"SELECT $f$ body ; $f$;\n".to_vec()),
            Just(b"GO\n".to_vec()),
            Just(b"'".to_vec()),
            Just(b"(".to_vec()),
            Just(b")".to_vec()),
            Just(b"\\".to_vec()),
            Just(b"\n".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..24),
        ]
    }

    fn check(data: &[u8], max: Option<u64>) {
        let mut rec = Recorder::default();
        extract(data, max, &mut rec);
        let lines = 1 + data.iter().filter(|&&b| b == b'\n').count() as u64;
        for u in &rec.units {
            assert!(u.row.is_none_or(|r| r >= 1), "{u:?}");
            let line = u.line.expect("every unit has a line");
            assert!((1..=lines).contains(&line), "{u:?} of {lines} lines");
            assert!(u.col >= 1);
        }
    }

    // -- streaming -----------------------------------------------------------

    /// A reader over `data` that returns at most the next of `sizes` bytes
    /// per call (cycling).
    struct Chunks<'a> {
        data: &'a [u8],
        sizes: Vec<usize>,
        i: usize,
    }

    impl Read for Chunks<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let size = self.sizes[self.i % self.sizes.len()].max(1);
            self.i += 1;
            let n = size.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// Streams `data` (its first `head` bytes passed as already read) in
    /// reads of `sizes` through a window of `window` bytes up to `cap`.
    fn streamed(
        data: &[u8],
        head: usize,
        sizes: &[usize],
        (window, cap): (usize, usize),
        max: Option<u64>,
    ) -> (Recorder, Stats) {
        let head = head.min(data.len());
        let mut reader = Chunks {
            data: &data[head..],
            sizes: sizes.to_vec(),
            i: 0,
        };
        let mut rec = Bounded(Recorder::default(), 100_000);
        let stats = stream(&mut reader, &data[..head], max, &mut rec, (window, cap))
            .expect("reads from memory");
        (rec.0, stats)
    }

    /// A recorder that fails on more than so many units or skips (a parse
    /// that goes round in circles).
    struct Bounded(Recorder, usize);

    impl Sink for Bounded {
        fn unit(&mut self, unit: &Unit<'_>) {
            assert!(self.0.units.len() < self.1, "too many units");
            self.0.unit(unit);
        }
        fn skip(&mut self, what: &str, reason: &str) {
            assert!(self.0.skips.len() < self.1, "too many skips");
            self.0.skip(what, reason);
        }
        fn encoding(&mut self, name: &'static str) {
            self.0.encoding(name);
        }
    }

    /// Whether the streamed parse gives exactly the whole-buffer parse.
    fn same_as_whole(data: &[u8], head: usize, sizes: &[usize], window: usize, max: Option<u64>) {
        let whole = run_max(data, max);
        let (rec, stats) = streamed(data, head, sizes, (window, 1 << 20), max);
        let what = format!("window {window}, reads {sizes:?}, head {head}");
        assert_eq!(rec.encodings, whole.encodings, "{what}");
        assert_eq!(rec.skips, whole.skips, "{what}");
        assert_eq!(rec.units.len(), whole.units.len(), "{what}");
        for (i, (a, b)) in rec.units.iter().zip(&whole.units).enumerate() {
            assert_eq!(a, b, "unit {i}, {what}");
        }
        assert_eq!(stats.forced, 0);
    }

    const FIXTURES: &[&[u8]] = &[
        include_bytes!("../../tests/fixtures/dumps/mysqldump-default.sql"),
        include_bytes!("../../tests/fixtures/dumps/mysqldump-complete-insert.sql"),
        include_bytes!("../../tests/fixtures/dumps/mysqldump-hex-blob.sql"),
        include_bytes!("../../tests/fixtures/dumps/pg_dump-plain.sql"),
        include_bytes!("../../tests/fixtures/dumps/pg_dump-inserts.sql"),
        include_bytes!("../../tests/fixtures/dumps/pg_dump-column-inserts.sql"),
        include_bytes!("../../tests/fixtures/dumps/sqlite3-dump.sql"),
    ];

    /// `data` behind a header of more than the first window (which is at
    /// least the sniffed head), so window borders fall inside `data`.
    fn padded(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = format!("{header}\n").into_bytes();
        while out.len() < sniff::SNIFF_LEN + 64 {
            out.extend_from_slice(b"SET @pad = 'padding padding padding padding';\n");
        }
        out.extend_from_slice(data);
        out
    }

    fn utf16le(data: &[u8]) -> Vec<u8> {
        let mut out = b"\xff\xfe".to_vec();
        for unit in String::from_utf8_lossy(data).encode_utf16() {
            out.extend_from_slice(&unit.to_le_bytes());
        }
        out
    }

    #[test]
    fn fixtures_stream_like_the_whole_buffer() {
        for data in FIXTURES {
            for window in [1, 7, 100, 1000, STREAM_WINDOW] {
                same_as_whole(data, 0, &[1, 7, 4096], window, None);
            }
            same_as_whole(data, 8192, &[7], 64, Some(1));
            same_as_whole(&utf16le(data), 100, &[3, 5000], 50, None);
        }
    }

    /// Every window border from 1-byte reads and windows of 1 to `windows`
    /// bytes: the same units and skips as the whole buffer, and each of
    /// `spots` (offsets into `data`) was the first byte past a window.
    fn borders_everywhere(data: &[u8], windows: usize, spots: &[usize]) {
        let whole = run(data);
        let mut seen = vec![false; spots.len()];
        for window in 1..=windows {
            let (rec, stats) = streamed(data, 0, &[1], (window, 1 << 20), None);
            assert_eq!(rec.skips, whole.skips, "window {window}");
            assert_eq!(rec.units, whole.units, "window {window}");
            for (spot, seen) in spots.iter().zip(&mut seen) {
                *seen |= stats.borders.contains(&(*spot as u64));
            }
        }
        for (spot, seen) in spots.iter().zip(seen) {
            assert!(seen, "no window ended at {spot}");
        }
    }

    fn offset(data: &[u8], needle: &[u8]) -> usize {
        memmem::find(data, needle).expect("needle in data")
    }

    #[test]
    fn a_value_split_on_a_window_border() {
        let data = padded(
            "-- MySQL dump",
            b"INSERT INTO `t` VALUES (1,'13812345678','\xe5\xbc\xa0\xe4\xb8\x89'),(2,'110105199001011237',NULL);\n",
        );
        let phone = offset(&data, b"13812345678");
        let zhang = offset(&data, "张三".as_bytes());
        // Inside the phone, inside 张 (a 3-byte character), and right
        // before the closing quote.
        borders_everywhere(&data, 120, &[phone + 5, zhang + 1, zhang + 2, zhang + 6]);
        let rec = run(&data);
        let texts: Vec<&str> = rows(&rec, "t").iter().map(|u| u.text.as_str()).collect();
        assert_eq!(
            texts,
            ["1", "13812345678", "张三", "2", "110105199001011237"]
        );
    }

    #[test]
    fn an_escape_split_on_a_window_border() {
        let data = padded(
            "-- MySQL dump",
            b"INSERT INTO `t` VALUES (1,'O\\'Brien \\\\',E'x'),(2,'it''s');\n",
        );
        let backslash = offset(&data, b"\\'Brien");
        let doubled = offset(&data, b"''s");
        // The backslash is the last byte of a window; so is the first of
        // two quotes.
        borders_everywhere(&data, 120, &[backslash + 1, doubled + 1]);
        let rec = run(&data);
        assert!(rec.units.iter().any(|u| u.text == "O'Brien \\"));
        assert!(rec.units.iter().any(|u| u.text == "it's"));
    }

    #[test]
    fn a_copy_block_split_on_window_borders() {
        let data = padded(
            "-- PostgreSQL database dump",
            b"COPY public.t (name, phone) FROM stdin;\n\xe5\xbc\xa0\xe4\xb8\x89\t13812345678\nO\\\\B\t\\N\n\\.\nINSERT INTO t VALUES ('after');\n",
        );
        let line2 = offset(&data, b"O\\\\B");
        let end = offset(&data, b"\\.\n");
        borders_everywhere(&data, 160, &[line2, line2 + 1, end + 1, end + 2]);
        let rec = run(&data);
        assert_eq!(cell(&rec, "t", 1, "phone").text, "13812345678");
        assert_eq!(cell(&rec, "t", 2, "name").text, "O\\B");
        assert_eq!(rows(&rec, "t").len(), 4);
    }

    #[test]
    fn a_gbk_character_split_on_a_window_border() {
        let (gbk, _, _) = GB18030.encode("李四");
        let mut body = b"SET NAMES gbk;\nINSERT INTO `t` VALUES (1,'".to_vec();
        body.extend_from_slice(&gbk);
        // A trail byte 0x5C (a backslash in ASCII) right before the quote.
        body.extend_from_slice(b"\x81\x5c'),(2,'x');\n");
        let data = padded("-- MySQL dump", &body);
        let at = offset(&data, &gbk);
        let trail = offset(&data, b"\x81\x5c'");
        borders_everywhere(&data, 120, &[at + 1, trail + 1, trail + 2]);
        let rec = run(&data);
        assert!(rows(&rec, "t").iter().any(|u| u.text == "x"));
    }

    #[test]
    fn a_malformed_statement_near_a_border_then_a_good_one() {
        let data = padded(
            "-- MySQL dump",
            b"INSERT INTO `t` VALUES (1,'broken,\nINSERT INTO `t` VALUES (2,'13812345678');\nINSERT INTO u VALUES ('ok');\n",
        );
        let quote = offset(&data, b"'broken");
        let next = offset(&data, b"INSERT INTO `t` VALUES (2");
        borders_everywhere(&data, 150, &[quote + 1, next - 1, next + 3]);
        let rec = run(&data);
        assert_eq!(rec.skips.len(), 1, "{:?}", rec.skips);
        assert!(rows(&rec, "t").iter().any(|u| u.text == "13812345678"));
        assert_eq!(rows(&rec, "u").len(), 1);
    }

    fn streaming_fragment() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => fragment(),
            1 => Just(b"INSERT INTO t VALUES ('\xe5\xbc\xa0\xe4\xb8\x89', $q$a;b$q$);\n".to_vec()),
            1 => Just(b"CREATE TABLE `t` (`a` int, `b` text);\n".to_vec()),
            1 => Just(b"DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 'x'; END$$\nDELIMITER ;\n".to_vec()),
            1 => Just(b"COPY t FROM stdin WITH (FORMAT csv);\n\"a\",1\n\\.\n".to_vec()),
            1 => Just(b"/* unterminated".to_vec()),
        ]
    }

    /// Removes or inserts a byte at each of `cuts` (an even byte removes).
    fn mutate(data: &mut Vec<u8>, cuts: Vec<(prop::sample::Index, u8)>) {
        for (at, byte) in cuts {
            if data.is_empty() {
                break;
            }
            let i = at.index(data.len());
            if byte % 2 == 0 {
                data.remove(i);
            } else {
                data.insert(i, byte);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn streaming_is_chunk_invariant(
            fixture in proptest::option::of(0..FIXTURES.len()),
            parts in proptest::collection::vec(streaming_fragment(), 0..24),
            cuts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
            pad in any::<bool>(),
            utf16 in proptest::bool::weighted(0.1),
            window in prop_oneof![1usize..16, 16usize..300, Just(1usize << 12)],
            sizes in proptest::collection::vec(1usize..20, 1..4),
            head in 0usize..10_000,
            max in proptest::option::of(0u64..3),
        ) {
            let mut data = match fixture {
                Some(i) => FIXTURES[i].to_vec(),
                None => parts.concat(),
            };
            mutate(&mut data, cuts);
            if pad && fixture.is_none() {
                data = padded("-- MySQL dump", &data);
            }
            if utf16 {
                data = utf16le(&data);
            }
            same_as_whole(&data, head, &sizes, window, max);
        }
    }

    /// A well-formed value as a dump may write it (in MySQL and in
    /// standard SQL alike): plain numbers and strings (taken by
    /// `plain_value`) and what `value` alone handles.
    fn dump_value() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "42",
            "-7",
            "4073.95",
            "1.2.3",
            "-",
            "1e5",
            "0x1F",
            "NULL",
            "''",
            "'abc'",
            "'13812345678'",
            "'it''s'",
            "'a\\\\b'",
            "'a\\\"b'",
            "'\\x41'",
            "'张三'",
            "'a,b)'",
            "CONCAT('a','b')",
            "_utf8mb4'x'",
            "X'41'",
            "'a' 'b'",
            "(1)",
            "--1",
            "+5",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// `(42,'x')` goes through `plain_value`, `(42 ,'x' )` cannot (a
        /// space before the end): both must send the same units.
        #[test]
        fn plain_values_are_sent_as_the_expression_parser_sends_them(
            rows in proptest::collection::vec(proptest::collection::vec(dump_value(), 1..5), 1..5),
            mysql in any::<bool>(),
        ) {
            let head = if mysql { "-- MySQL dump\n" } else { "-- PostgreSQL database dump\n" };
            let write = |spaced: bool| {
                let end = if spaced { " " } else { "" };
                let tuples: Vec<String> = rows
                    .iter()
                    .map(|row| format!("({})", row.iter().map(|v| format!("{v}{end}")).collect::<Vec<_>>().join(",")))
                    .collect();
                format!("{head}INSERT INTO t (a,b,c,d) VALUES {};\nSELECT 1;\n", tuples.join(","))
            };
            let what = |rec: Recorder| -> Vec<_> {
                rec.units.into_iter().map(|u| (u.text, u.table, u.row, u.field)).collect()
            };
            prop_assert_eq!(what(run(write(false).as_bytes())), what(run(write(true).as_bytes())));
        }
    }

    /// An `INSERT` of `rows` tuples on one line, generated as it is read:
    /// `(n,'<resident ID of row n>','138<n>','张<n>')`.
    struct BigInsert {
        rows: u64,
        row: u64,
        buf: Vec<u8>,
        at: usize,
    }

    impl BigInsert {
        fn new(rows: u64) -> BigInsert {
            BigInsert {
                rows,
                row: 0,
                buf: b"-- MySQL dump\nINSERT INTO `big` VALUES ".to_vec(),
                at: 0,
            }
        }

        /// A valid resident ID (region 110105) that encodes `row`.
        fn id(row: u64) -> String {
            let day = 1 + row % 28;
            let first17 = format!(
                "110105{}{:02}{day:02}{:03}",
                1950 + row % 50,
                1 + row % 12,
                row % 1000
            );
            let check = crate::detect::resident_id::check_char(first17.as_bytes()) as char;
            format!("{first17}{check}")
        }

        fn phone(row: u64) -> String {
            format!("138{:08}", row % 100_000_000)
        }
    }

    impl Read for BigInsert {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.at == self.buf.len() {
                self.buf.clear();
                self.at = 0;
                if self.row < self.rows {
                    self.row += 1;
                    let n = self.row;
                    if n > 1 {
                        self.buf.push(b',');
                    }
                    let tuple = format!(
                        "({n},'{}','{}','张{n}')",
                        BigInsert::id(n),
                        BigInsert::phone(n)
                    );
                    self.buf.extend_from_slice(tuple.as_bytes());
                    if n == self.rows {
                        self.buf
                            .extend_from_slice(b";\nINSERT INTO after VALUES ('end');\n");
                    }
                } else {
                    return Ok(0);
                }
            }
            let n = out.len().min(self.buf.len() - self.at);
            out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    /// Checks every unit of a [`BigInsert`] as it comes.
    #[derive(Default)]
    struct BigCheck {
        units: u64,
        rows: u64,
        skips: u64,
        last: Option<String>,
    }

    impl Sink for BigCheck {
        fn unit(&mut self, unit: &Unit<'_>) {
            let text = std::str::from_utf8(unit.text).expect("UTF-8");
            let place = unit.place;
            if place.table.is_none() {
                assert_eq!((text, place.start()), ("MySQL dump", Some((1, 4))));
                return;
            }
            self.units += 1;
            if place.table == Some("after") {
                self.last = Some(text.to_string());
                return;
            }
            assert_eq!(place.table, Some("big"));
            assert_eq!(place.start().map(|(line, _)| line), Some(2));
            let row = place.row.expect("a row");
            match (self.units - 1) % 4 {
                0 => {
                    assert_eq!(row, self.rows + 1, "rows in order, once each");
                    self.rows = row;
                    assert_eq!(text, row.to_string());
                }
                1 => assert_eq!(text, BigInsert::id(row)),
                2 => assert_eq!(text, BigInsert::phone(row)),
                _ => assert_eq!(text, format!("张{row}")),
            }
        }

        fn skip(&mut self, _: &str, _: &str) {
            self.skips += 1;
        }
    }

    fn big_insert(bytes: u64) {
        // Each tuple is about 60 bytes.
        let rows = bytes / 60;
        let mut reader = BigInsert::new(rows);
        let mut check = BigCheck::default();
        let limits = (STREAM_WINDOW, STREAM_CAP);
        let stats = stream(&mut reader, &[], None, &mut check, limits).unwrap();
        assert_eq!(check.rows, rows);
        assert_eq!(check.units, 4 * rows + 1);
        assert_eq!(check.last.as_deref(), Some("end"));
        assert_eq!((check.skips, stats.forced), (0, 0));
        // The window never grew: every tuple fits.
        assert!(stats.max_window <= STREAM_WINDOW + 2 * CHUNK, "{stats:?}");
        assert!(stats.refills >= stats.dropped / STREAM_WINDOW as u64);
        assert!(stats.dropped > bytes / 2);
    }

    #[test]
    fn a_50_mb_single_line_insert_streams_in_a_small_window() {
        big_insert(50 << 20);
    }

    #[test]
    #[ignore = "1 GB: run with --ignored (and --release)"]
    fn a_1_gb_single_line_insert_streams_in_a_small_window() {
        big_insert(1 << 30);
    }

    #[test]
    fn an_oversized_piece_is_cut_at_the_cap() {
        // A 300 KB value in a window capped at 64 KiB: reported, bounded,
        // and the rows after it are still read.
        let mut data = padded("-- MySQL dump", b"INSERT INTO `t` VALUES (1,'");
        data.extend(std::iter::repeat_n(b'a', 300_000));
        data.extend_from_slice(
            b"','13812345678'),(2,'13912345678');\nINSERT INTO u VALUES ('ok');\n",
        );
        let (rec, stats) = streamed(&data, 0, &[4096], (4096, 64 << 10), None);
        assert!(stats.forced > 0);
        assert!(stats.max_window <= (64 << 10) + 2 * CHUNK, "{stats:?}");
        assert!(
            rec.skips
                .iter()
                .any(|(_, r)| r.contains("longer than 65536 bytes")),
            "{:?}",
            rec.skips
        );
        assert_eq!(rows(&rec, "u").len(), 1, "{:?}", rec.skips);
        assert!(rec.units.iter().any(|u| u.text.contains("13912345678")));
    }

    proptest! {
        #[test]
        fn random_sql_never_panics(
            parts in proptest::collection::vec(fragment(), 0..24),
            cuts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
            max in proptest::option::of(0u64..3),
        ) {
            let mut data = parts.concat();
            mutate(&mut data, cuts);
            check(&data, max);
        }

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            check(&data, None);
        }
    }
}
