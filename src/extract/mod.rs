//! Extraction: raw bytes to decoded text units with a location.
//!
//! An extractor turns a file's bytes into [`Unit`]s: pieces of UTF-8 text,
//! each with a [`Place`] saying where it sits (a run of lines, a CSV field
//! under its header, a spreadsheet cell, a JSON value under its key path, a
//! member of an archive). Units go to a [`Sink`]; the scan loop implements
//! it and runs the detectors. Extractors know nothing about detectors.
//!
//! [`extract`] picks the extractor from the content (magic numbers) and,
//! where content cannot tell, the file name. Archives call [`extract`] again
//! for each member, one level deeper, so nesting works to [`Limits::max_depth`].

pub mod archive;
pub mod json;
pub mod office;
pub mod sheet;
pub mod sql;
pub mod sqlite;
pub mod table;
pub mod text;
pub mod xml_runs;

use std::io::{self, Read, Seek};

use crate::source::sniff::{self, Content};

/// Where a unit of text sits inside a file. Every field is optional; the
/// finding built from it carries the ones that are set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Place<'a> {
    /// Archive member chain, `outer.zip!inner/roster.csv`.
    pub member: Option<&'a str>,
    /// 1-based line of the unit's first character; findings get `line` and
    /// `col` from their offsets when set. Read through [`Place::start`],
    /// which knows about `origin`.
    pub line: Option<u64>,
    /// 1-based column of the unit's first character on that line (1 for a
    /// unit that starts a line).
    pub col: u64,
    /// Line and column worked out only when asked for, in place of `line`
    /// and `col`: an extractor sending many small units (the values of a
    /// dump) would otherwise count characters for every one of them, while
    /// only the few holding a finding need a position.
    pub origin: Option<Origin<'a>>,
    /// Spreadsheet sheet name.
    pub sheet: Option<&'a str>,
    /// Spreadsheet cell, zero-based (row, column).
    pub cell: Option<(u32, u32)>,
    /// Database table.
    pub table: Option<&'a str>,
    /// 1-based row ordinal within the table.
    pub row: Option<u64>,
    /// The name the value sits under: header, JSON key path, column.
    pub field: Option<&'a str>,
}

/// A unit's line and column, found when called (see [`Place::origin`]).
#[derive(Clone, Copy)]
pub struct Origin<'a>(pub &'a dyn Fn() -> (u64, u64));

impl std::fmt::Debug for Origin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Origin(..)")
    }
}

/// Origins are the same when they are the same function.
impl PartialEq for Origin<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::addr_eq(self.0, other.0)
    }
}

impl Eq for Origin<'_> {}

impl Place<'_> {
    /// Line and column of the unit's first character, for line-numbered
    /// sources: from `origin` when set, else `line` and `col`.
    pub fn start(&self) -> Option<(u64, u64)> {
        match self.origin {
            Some(origin) => Some((origin.0)()),
            None => self.line.map(|line| (line, self.col)),
        }
    }

    /// A place for text that is a run of lines starting at line 1.
    pub fn lines() -> Place<'static> {
        Place {
            line: Some(1),
            col: 1,
            ..Place::default()
        }
    }
}

/// A piece of decoded text and where it sits.
#[derive(Debug, Clone, Copy)]
pub struct Unit<'a> {
    /// UTF-8 text (invalid sequences may remain where no encoding fitted).
    pub text: &'a [u8],
    /// Where the text sits.
    pub place: Place<'a>,
}

/// Receives what extractors find.
pub trait Sink {
    /// A unit of text to scan.
    fn unit(&mut self, unit: &Unit<'_>);
    /// A part of the file that was not scanned (an encrypted member, an
    /// archive over the size limit, a corrupt stream), and why. `what` is
    /// the member chain or another description of the part.
    fn skip(&mut self, what: &str, reason: &str);
    /// The encoding text was decoded from (for verbose output).
    fn encoding(&mut self, _name: &'static str) {}
    /// Rows of a dump's table made of plain literals ([`sql::Rows`]),
    /// sent as one block so that a sink can pass over rows that hold
    /// nothing without a call per value. The default sends their values as
    /// units, exactly as they would have come one by one.
    fn rows(&mut self, rows: &sql::Rows<'_>) {
        rows.units(self);
    }
    /// A large text read as a stream (an archive member over
    /// [`archive::HOLD_MAX`], already known to be text), under the member
    /// chain `member`. A sink that scans such a text better than unit by
    /// unit (on several threads) reads it all and returns `true`; the
    /// default returns `false`, and the text is then sent as units by
    /// [`text::extract_reader`]. Read errors are the sink's to report.
    fn text_stream(&mut self, _member: Option<&str>, _reader: &mut dyn std::io::Read) -> bool {
        false
    }
    /// The uncompressed-byte budget of the archive this sink receives the
    /// members of; `None` (the default) outside archives. The archive
    /// extractors wrap the sink they hand to members in one that returns
    /// their budget, so archives nested at any depth draw on the budget of
    /// the top-level archive ([`Limits::max_archive_bytes`]).
    fn archive_budget(&self) -> Option<archive::Budget> {
        None
    }
}

/// Bounds on what archives may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How deep archives may nest (an archive in a file is depth 1).
    pub max_depth: u32,
    /// Uncompressed bytes one top-level archive may hold in memory or write
    /// to temporary files (members read whole or spilled); streamed members
    /// are not counted.
    pub max_archive_bytes: u64,
    /// Largest allowed ratio of uncompressed to compressed size of a member.
    pub max_ratio: u64,
    /// Rows read per database table (the first N), for quick triage.
    pub max_rows_per_table: Option<u64>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 3,
            max_archive_bytes: 1 << 30,
            max_ratio: 100,
            max_rows_per_table: None,
        }
    }
}

/// What a file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extracted {
    /// Its text was sent to the sink.
    Scanned,
    /// Not scanned: binary content, with what it looks like.
    Binary(&'static str),
}

/// Formats recognised by content or name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain text: logs, source, anything else.
    Text,
    /// Delimited text with a header (`.csv`, `.tsv`).
    Csv,
    /// One JSON document (`.json`).
    Json,
    /// One JSON document per line (`.jsonl`, `.ndjson`).
    JsonLines,
    /// gzip stream.
    Gzip,
    /// zip archive (not an Office document).
    Zip,
    /// tar archive.
    Tar,
    /// Spreadsheet (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`; see [`sheet`]).
    Spreadsheet,
    /// Word or PowerPoint (`.docx`, `.pptx`).
    OfficeText,
    /// SQLite database file.
    Sqlite,
    /// SQL dump: mysqldump, pg_dump plain text, generic INSERT scripts.
    SqlDump,
}

/// A lower-cased file extension, held inline: the format of every file is
/// decided from it, and that costs no allocation.
struct Extension {
    bytes: [u8; Extension::MAX],
    len: usize,
}

impl Extension {
    /// Longest extension kept; longer ones are none that is looked for,
    /// and read as empty.
    const MAX: usize = 8;

    fn as_str(&self) -> &str {
        // Lower-casing ASCII letters keeps a whole `str` valid UTF-8.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

/// The lower-cased extension of `name` (empty when it has none, or a
/// longer one than [`Extension::MAX`]).
fn extension(name: &str) -> Extension {
    let base = name.rsplit(['/', '\\', '!']).next().unwrap_or(name);
    let ext = base.rsplit_once('.').map_or("", |(_, ext)| ext).as_bytes();
    let mut bytes = [0; Extension::MAX];
    let len = if ext.len() <= Extension::MAX {
        ext.len()
    } else {
        0
    };
    bytes[..len].copy_from_slice(&ext[..len]);
    bytes.make_ascii_lowercase();
    Extension { bytes, len }
}

/// Decides the format of `data` named `name`, or that it is binary. Only
/// the first [`sniff::SNIFF_LEN`] bytes of `data` are looked at, so a
/// file's head decides as its whole contents would.
pub fn detect_format(name: &str, data: &[u8]) -> Result<Format, &'static str> {
    let ext = extension(name);
    let ext = ext.as_str();
    if data.starts_with(b"\x1f\x8b") {
        return Ok(Format::Gzip);
    }
    if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        return Ok(match ext {
            "xlsx" | "xlsm" | "xlsb" | "ods" => Format::Spreadsheet,
            "docx" | "pptx" => Format::OfficeText,
            _ => Format::Zip,
        });
    }
    if data.starts_with(b"\xd0\xcf\x11\xe0") && matches!(ext, "xls" | "xlsx" | "xlsb") {
        // .xls, or an encrypted .xlsx/.xlsb (which the reader reports as such).
        return Ok(Format::Spreadsheet);
    }
    if data.starts_with(b"%PDF-") {
        // Told by its head like binary data, so that nothing more of a
        // PDF is read, however large (a file share holds many).
        return Err("PDF document (text extraction not supported)");
    }
    if archive::is_tar(data) {
        return Ok(Format::Tar);
    }
    if sqlite::is_sqlite(data) {
        return Ok(Format::Sqlite);
    }
    if sql::is_pg_custom(data) {
        return Err("pg_dump custom-format archive (convert it with `pg_restore -f dump.sql`)");
    }
    // Before the binary check: dumps without --hex-blob hold raw bytes.
    if ext == "sql" || sql::looks_like_dump(&data[..data.len().min(sniff::SNIFF_LEN)]) {
        return Ok(Format::SqlDump);
    }
    if let Content::Binary(what) = sniff::sniff(data) {
        return Err(what);
    }
    Ok(match ext {
        "csv" | "tsv" => Format::Csv,
        "json" => Format::Json,
        "jsonl" | "ndjson" => Format::JsonLines,
        _ => Format::Text,
    })
}

/// Extracts the text of `data` (named `name`, for format hints and member
/// names) into `sink`. `depth` counts the archives around it.
pub fn extract(
    name: &str,
    data: &[u8],
    limits: &Limits,
    depth: u32,
    sink: &mut dyn Sink,
) -> Extracted {
    extract_detected(detect_format(name, data), name, data, limits, depth, sink)
}

/// Like [`extract`], for a caller that has already run [`detect_format`]
/// on the first [`sniff::SNIFF_LEN`] bytes of `data` (which decide it) and
/// passes its result as `format`.
pub fn extract_detected(
    format: Result<Format, &'static str>,
    name: &str,
    data: &[u8],
    limits: &Limits,
    depth: u32,
    sink: &mut dyn Sink,
) -> Extracted {
    let format = match format {
        Ok(format) => format,
        Err(what) => return Extracted::Binary(what),
    };
    match format {
        Format::Text => text::extract(data, sink),
        Format::Csv => table::extract(name, data, sink),
        Format::Json => json::extract_document(data, sink),
        Format::JsonLines => json::extract_lines(data, sink),
        Format::Gzip => return archive::extract_gzip(name, data, limits, depth, sink),
        Format::Zip => archive::extract_zip(data, limits, depth, sink),
        Format::Tar => archive::extract_tar(data, limits, depth, sink),
        // Their readers decompress without bounds: check the zip first.
        Format::Spreadsheet | Format::OfficeText
            if data.starts_with(b"PK") && !archive::document_within_limits(data, limits, sink) => {}
        Format::Spreadsheet => sheet::extract(name, data, sink),
        Format::OfficeText => office::extract(name, data, sink),
        Format::Sqlite => sqlite::extract(data, limits.max_rows_per_table, sink),
        Format::SqlDump => sql::extract(data, limits.max_rows_per_table, sink),
    }
    Extracted::Scanned
}

/// Files read whole above this size (a JSON document of up to
/// [`json::WHOLE_MAX`], a SQLite file of up to 16 MiB, which SQLite then
/// copies) and JSON documents held whole beyond an archive's usual limit
/// ([`archive::HOLD_MAX`]) are held by one thread at a time
/// ([`hold_alone`]).
pub const HOLD_ALONE_ABOVE: u64 = 8 << 20;

static HOLDING: std::sync::Mutex<()> = std::sync::Mutex::new(());

thread_local! {
    /// Whether this thread has the [`Holding`] guard.
    static HOLDS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The right to hold content above [`HOLD_ALONE_ABOVE`] whole
/// ([`hold_alone`]); the next thread may hold once it is dropped.
pub struct Holding {
    /// `None` when this thread had the right already.
    guard: Option<std::sync::MutexGuard<'static, ()>>,
}

impl Drop for Holding {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            release_freed_memory();
            HOLDS.set(false);
            drop(guard);
        }
    }
}

/// Gives the memory freed since to the system before the next large
/// content is held. glibc keeps freed memory in per-thread arenas (and
/// after a large free it serves more sizes from them), so a 15 MiB SQLite
/// file read by one worker stayed resident while the next worker held a
/// JSON document: 94 MB instead of 75. Called once per large content.
fn release_freed_memory() {
    // SAFETY: `malloc_trim` only returns free pages of the allocator's
    // own arenas to the system; it is thread-safe.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Waits until no other thread holds content above [`HOLD_ALONE_ABOVE`]
/// whole. Drop the [`Holding`] after the content. Without it, each worker
/// could hold a 64 MiB JSON document and its parse at once: two of them
/// took 132 MB, a JSON document beside two 15 MiB SQLite files 109 MB,
/// above the 100 MB that piscan keeps to whatever it reads (70 MB with).
/// A thread that has the right already gets it at once (nothing held
/// inside a held document waits on itself).
pub fn hold_alone() -> Holding {
    if HOLDS.get() {
        return Holding { guard: None };
    }
    let guard = HOLDING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    HOLDS.set(true);
    Holding { guard: Some(guard) }
}

/// Whether a file or archive member of `format`, named `name`, whose first
/// bytes are `head`, can be read where it is (through [`Read`] + [`Seek`])
/// rather than held: a zip archive, or a workbook or document whose reader
/// reads parts from a file ([`sheet::reads_in_place`], `.docx`/`.pptx`).
pub fn reads_in_place(format: Format, name: &str, head: &[u8]) -> bool {
    match format {
        Format::Zip => true,
        Format::Spreadsheet => sheet::reads_in_place(name, head),
        Format::OfficeText => head.starts_with(b"PK"),
        _ => false,
    }
}

/// [`extract`] for what [`reads_in_place`], `len` bytes read from `reader`
/// (a large file, or a large archive member written to a temporary file),
/// whose first bytes are `head`. A workbook or document is checked against
/// the bomb guards first, as in memory. An error is a failed read or seek
/// of `reader`; damage in the content is reported to `sink` as skips.
#[allow(clippy::too_many_arguments)]
pub fn extract_in_place<R: Read + Seek>(
    name: &str,
    format: Format,
    head: &[u8],
    mut reader: R,
    len: u64,
    limits: &Limits,
    depth: u32,
    sink: &mut dyn Sink,
) -> io::Result<()> {
    reader.rewind()?;
    if format == Format::Zip {
        archive::extract_zip_reader(reader, len, limits, depth, sink);
        return Ok(());
    }
    // A compound file (`.xls`) is no zip, and passes.
    if archive::document_reader_within_limits(&mut reader, len, limits, sink) {
        reader.rewind()?;
        match format {
            Format::Spreadsheet => sheet::extract_reader(name, head, reader, sink),
            _ => office::extract_reader(name, reader, sink),
        }
    }
    Ok(())
}

/// Formats a zero-based (row, column) as an A1 cell reference.
pub fn a1(row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut c = col + 1;
    while c > 0 {
        let rem = (c - 1) % 26;
        letters.push(b'A' + rem as u8);
        c = (c - 1) / 26;
    }
    letters.reverse();
    format!(
        "{}{}",
        String::from_utf8(letters).unwrap_or_default(),
        row + 1
    )
}

/// A [`Sink`] that records everything, for extractor tests.
#[cfg(test)]
pub mod testing {
    use super::{Place, Sink, Unit};

    /// A unit as recorded: text and the place's fields, owned.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct Recorded {
        /// The unit's text (lossy UTF-8).
        pub text: String,
        /// `place.member`.
        pub member: Option<String>,
        /// `place.line`.
        pub line: Option<u64>,
        /// `place.col`.
        pub col: u64,
        /// `place.sheet`.
        pub sheet: Option<String>,
        /// `place.cell`.
        pub cell: Option<(u32, u32)>,
        /// `place.table`.
        pub table: Option<String>,
        /// `place.row`.
        pub row: Option<u64>,
        /// `place.field`.
        pub field: Option<String>,
    }

    /// Records units, skips and encodings.
    #[derive(Debug, Default)]
    pub struct Recorder {
        /// Units in the order received.
        pub units: Vec<Recorded>,
        /// `(what, reason)` of every skip.
        pub skips: Vec<(String, String)>,
        /// Encodings reported.
        pub encodings: Vec<&'static str>,
    }

    impl Recorder {
        /// The units whose text contains `needle`.
        pub fn containing(&self, needle: &str) -> Vec<&Recorded> {
            self.units
                .iter()
                .filter(|u| u.text.contains(needle))
                .collect()
        }
    }

    /// A sink that panics on the first unit: extractors that catch panics
    /// of the libraries they call must not swallow their sink's own.
    pub struct PanickingSink;

    impl Sink for PanickingSink {
        fn unit(&mut self, _: &Unit<'_>) {
            panic!("sink bug");
        }

        fn skip(&mut self, _: &str, _: &str) {}
    }

    impl Sink for Recorder {
        fn unit(&mut self, unit: &Unit<'_>) {
            let p: Place<'_> = unit.place;
            let start = p.start();
            self.units.push(Recorded {
                text: String::from_utf8_lossy(unit.text).into_owned(),
                member: p.member.map(str::to_string),
                line: start.map(|(line, _)| line),
                col: start.map_or(p.col, |(_, col)| col),
                sheet: p.sheet.map(str::to_string),
                cell: p.cell,
                table: p.table.map(str::to_string),
                row: p.row,
                field: p.field.map(str::to_string),
            });
        }

        fn skip(&mut self, what: &str, reason: &str) {
            self.skips.push((what.to_string(), reason.to_string()));
        }

        fn encoding(&mut self, name: &'static str) {
            self.encodings.push(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_content_is_held_by_one_thread_at_a_time() {
        use std::sync::mpsc;
        use std::time::Duration;
        let outer = hold_alone();
        // Again on the same thread: at once, and the outer right is kept.
        drop(hold_alone());
        let (tx, rx) = mpsc::channel();
        let other = std::thread::spawn(move || {
            let _holding = hold_alone();
            tx.send(()).unwrap();
        });
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(outer);
        rx.recv_timeout(Duration::from_secs(60)).unwrap();
        other.join().unwrap();
        // Released by the other thread: free again.
        drop(hold_alone());
    }

    #[test]
    fn a1_references() {
        assert_eq!(a1(0, 0), "A1");
        assert_eq!(a1(6, 1), "B7");
        assert_eq!(a1(0, 25), "Z1");
        assert_eq!(a1(9, 26), "AA10");
        assert_eq!(a1(0, 701), "ZZ1");
        assert_eq!(a1(0, 702), "AAA1");
    }

    #[test]
    fn formats_by_content_then_name() {
        assert_eq!(detect_format("a.log", b"hello"), Ok(Format::Text));
        assert_eq!(detect_format("a.CSV", b"a,b"), Ok(Format::Csv));
        assert_eq!(detect_format("名单.Csv", b"a,b"), Ok(Format::Csv));
        assert_eq!(detect_format("a.csv.名单", b"a,b"), Ok(Format::Text));
        assert_eq!(detect_format("a.csvcsvcsv", b"a,b"), Ok(Format::Text));
        assert_eq!(detect_format("a.json/b", b"{}"), Ok(Format::Text));
        assert_eq!(detect_format("x.jsonl", b"{}"), Ok(Format::JsonLines));
        assert_eq!(detect_format("x.txt", b"\x1f\x8b\x08"), Ok(Format::Gzip));
        assert_eq!(
            detect_format("r.xlsx", b"PK\x03\x04"),
            Ok(Format::Spreadsheet)
        );
        assert_eq!(
            detect_format("a.zip!w.docx", b"PK\x03\x04"),
            Ok(Format::OfficeText)
        );
        assert_eq!(detect_format("r.bin", b"PK\x03\x04"), Ok(Format::Zip));
        assert!(detect_format("x", b"a\x00b").is_err());
        assert_eq!(detect_format("db.sql", b"SELECT 1;"), Ok(Format::SqlDump));
        assert_eq!(
            detect_format("dump", b"-- MySQL dump 10.13\nCREATE TABLE `t` (\n"),
            Ok(Format::SqlDump)
        );
        assert!(detect_format("db.dump", b"PGDMP\x01\x0e").is_err());
    }
}
