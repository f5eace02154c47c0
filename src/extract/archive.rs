//! Archives: gzip, zip and tar, read in memory or from their file, never
//! extracted to a directory.
//!
//! # Design
//!
//! An archive is read from bytes in memory, or, when it is a large file of
//! its own, from the file ([`extract_zip_reader`] seeks in it,
//! [`extract_tar_reader`] reads it once, through gzip for a `.tar.gz`).
//! Members are read one at a time. A member of up to [`HOLD_MAX`] bytes is
//! read into a buffer and handed to [`super::extract`] one level deeper,
//! so it is recognised (text, CSV, spreadsheet, another archive …) exactly
//! like a file would be, and nested archives recurse naturally. A longer
//! member in a line-based format (text, CSV, JSON lines, SQL dump, by its
//! name and first bytes) is streamed through that format's reader
//! instead (text is offered to the sink first, [`Sink::text_stream`], which
//! the scan takes to scan it in blocks on every core), so a 5 GB log in a
//! zip costs a few MB of memory. A longer tar archive or gzip stream is
//! read in one pass the same way, its own members held or streamed in
//! turn (`stream_container`). A longer zip, workbook or document, whose
//! readers seek, is written to an anonymous temporary file (in `$TMPDIR`:
//! no name in any directory, readable by this user only, gone when closed)
//! and read there like a large file (`spill`); only when no temporary
//! file can be made is it held. A longer SQLite database is written the
//! same way to a *named* temporary file (`$TMPDIR/.piscan-…`, this user's
//! only, removed once read: SQLite opens a database by name) and opened
//! there, read-only and immutable. A long JSON document is held up to
//! the JSON reader's limit, as a file is. Member names are only ever
//! used as strings, so hostile names (`../../etc/passwd`) are harmless.
//!
//! **Member chains.** Members are handed a `MemberSink` that wraps the
//! sink of the archive: it sets `place.member` to the member's name, or
//! prefixes the chain a nested archive reported with `name!`, so a CSV
//! `data/roster.csv` in `inner.zip` in the scanned `outer.zip` reports
//! `inner.zip!data/roster.csv`. Skips are prefixed the same way. A gzip
//! stream is not a container: its content stands for the file itself (the
//! inner name is the outer one without `.gz`, `.tgz` becomes `.tar`), so it
//! adds no element to the chain and a plain `.gz` has no member at all.
//!
//! **Depth.** An archive in the scanned file is depth 1; archives may nest
//! to [`Limits::max_depth`], deeper ones are skipped with the reason. A gzip
//! stream shares the level of its content (`x.tar.gz` is one level), except
//! when that content is gzip again, which counts as one more level, so
//! recursion is always bounded.
//!
//! **Bomb guards.** Header sizes are never trusted: every decompressing read
//! goes through [`Read::take`] with one byte more than allowed, and what
//! comes out is counted.
//! - A [`Budget`] of uncompressed bytes ([`Limits::max_archive_bytes`]) is
//!   created by the top-level archive and shared, through
//!   [`Sink::archive_budget`], by every archive nested in it. It bounds
//!   what is held in memory or written to temporary files: every byte of a
//!   member that is held or spilled, or of a gzip stream decompressed in
//!   memory, is charged, including the bytes of members that are then
//!   refused. A streamed member holds nothing and is not charged.
//! - The content of a gzip stream read as a stream of unknown length is
//!   cut once it passes the ratio against the bytes taken in so far
//!   (`RatioGuard`).
//! - A zip member or gzip stream larger than [`RATIO_FLOOR`] whose
//!   uncompressed/compressed ratio exceeds [`Limits::max_ratio`] is refused;
//!   small, highly compressible text still scans. A streamed member is cut
//!   where it passes the ratio ([`Capped`]), and the rest is reported.
//!
//! A member that goes over a limit is skipped with the reason, and the rest
//! of the archive is still scanned. Declared sizes may refuse a member early
//! (without decompressing it) but never admit one. Encrypted members,
//! unsupported compression methods and corrupt archives are skipped with the
//! reason; a truncated gzip stream or zip member is scanned as far as it
//! decoded, then reported. Binary members (images, executables, PDF …)
//! are ignored silently: listing them would flood the summary. Their
//! first 8 KiB tell them, as for a file, so nothing more of them is read
//! or charged to the budget: a zip of photos or videos costs its
//! directory, not its gigabytes.
//!
//! Memory: at most one member is held at a time per nesting level, bounded
//! by [`HOLD_MAX`] ([`json::WHOLE_MAX`] for a JSON document), except a
//! zip, workbook, document or database when no temporary file can be made
//! (then by the budget).

use std::borrow::Cow;
use std::cell::Cell;
use std::io::{self, Cursor, Read, Seek, Write};
use std::rc::Rc;

use flate2::read::MultiGzDecoder;
use zip::result::ZipError;
use zip::{CompressionMethod, ZipArchive};

use super::{json, sqlite, Extracted, Format, Limits, Place, Sink, Unit};
use crate::source::sniff;

mod zip_directory;

/// Uncompressed size up to which the compression ratio is not checked, so
/// that small, highly compressible text files still scan.
pub const RATIO_FLOOR: u64 = 1 << 20;

/// The most a declared (untrusted) size may pre-allocate.
const CAPACITY_HINT: u64 = 64 << 20;

/// The magic number of a gzip stream.
const GZIP_MAGIC: &[u8] = b"\x1f\x8b";

/// The uncompressed bytes one top-level archive may still produce, shared
/// by every archive nested in it. Cloning shares the same count.
#[derive(Debug, Clone)]
pub struct Budget {
    remaining: Rc<Cell<u64>>,
}

impl Budget {
    /// A budget of `bytes` uncompressed bytes.
    pub fn new(bytes: u64) -> Budget {
        Budget {
            remaining: Rc::new(Cell::new(bytes)),
        }
    }

    /// Bytes that may still be produced.
    pub fn remaining(&self) -> u64 {
        self.remaining.get()
    }

    /// Records that `bytes` were produced.
    fn charge(&self, bytes: u64) {
        self.remaining
            .set(self.remaining.get().saturating_sub(bytes));
    }
}

/// Whether `data` is a tar archive (ustar magic at offset 257).
pub fn is_tar(data: &[u8]) -> bool {
    data.get(257..262) == Some(b"ustar")
}

/// Extracts a gzip stream (all its members, concatenated) named `name`: its
/// content is extracted as if it were the file named `name` without `.gz`,
/// with no member of its own. A truncated or corrupt stream is scanned as
/// far as it decoded, then reported as skipped. Returns what the content
/// turned out to be, so a compressed binary file is skipped as binary.
pub fn extract_gzip(
    name: &str,
    data: &[u8],
    limits: &Limits,
    depth: u32,
    sink: &mut dyn Sink,
) -> Extracted {
    extract_gzip_reader(name, data, data.len() as u64, limits, depth, sink)
}

/// [`extract_gzip`] for a gzip stream of `compressed` bytes read from
/// `input` (a large `.json.gz` or `.db.gz` file), so that the compressed
/// bytes are not held: its content is held, streamed or spilled as an
/// archive member's is.
pub fn extract_gzip_reader(
    name: &str,
    input: impl Read,
    compressed: u64,
    limits: &Limits,
    depth: u32,
    sink: &mut dyn Sink,
) -> Extracted {
    if too_deep(limits, depth, sink) {
        return Extracted::Scanned;
    }
    let budget = budget_of(sink, limits);
    let content = Member {
        name: &gzip_inner_name(name),
        element: None,
        kind: GZIP_STREAM,
        compressed: Some(compressed),
        declared: 0,
    };
    let decoder = MultiGzDecoder::new(input);
    extract_member_from(&content, decoder, limits, depth, &budget, sink).1
}

/// Extracts what is read from `input` (standard input, named `name`)
/// when it is not lines of text: as an archive member would be, at the top
/// level. Its head decides: held when short, tar and gzip streamed, a zip,
/// workbook, document or database written to a temporary file (within the
/// budget), binary content not read on. So a `.tar.gz` piped in of any
/// size costs a few MB. Returns what it turned out to be.
pub fn extract_input(
    name: &str,
    input: impl Read,
    limits: &Limits,
    sink: &mut dyn Sink,
) -> Extracted {
    let budget = budget_of(sink, limits);
    let content = Member {
        name,
        element: None,
        kind: INPUT,
        compressed: None,
        declared: 0,
    };
    extract_member_from(&content, input, limits, 0, &budget, sink).1
}

/// A gzip file decompressed as it is read, for files too large to hold
/// (a `.sql.gz` dump of many GB): no size limit applies, since nothing is
/// held, but reading fails once the output passes the ratio limit
/// (plus 1 MiB), so a bomb costs no more time than a real file. Errors
/// in the stream are [`io::ErrorKind::InvalidData`], with the reason.
pub fn gzip_stream<R: Read>(input: R, compressed: u64, limits: &Limits) -> Capped<GzipStream<R>> {
    let limit = compressed
        .saturating_mul(limits.max_ratio)
        .saturating_add(1 << 20);
    Capped::new(
        GzipStream(MultiGzDecoder::new(input)),
        limit,
        ratio_reason(limits),
    )
}

/// A gzip stream whose errors say that they are the stream's.
pub struct GzipStream<R: Read>(MultiGzDecoder<R>);

impl<R: Read> Read for GzipStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            let what = format!("gzip stream truncated or corrupt: {e}");
            io::Error::new(io::ErrorKind::InvalidData, what)
        })
    }
}

/// A reader that fails, with `reason` ([`io::ErrorKind::InvalidData`]),
/// once it has produced more than `limit` bytes: the ratio guard of a
/// stream that is not held in memory.
pub struct Capped<R> {
    inner: R,
    produced: u64,
    limit: u64,
    reason: String,
    /// The limit was hit.
    over: bool,
}

impl<R> Capped<R> {
    /// `inner`, failing after `limit` bytes (and at most one read more).
    pub fn new(inner: R, limit: u64, reason: String) -> Self {
        Capped {
            inner,
            produced: 0,
            limit,
            reason,
            over: false,
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.produced > self.limit {
            self.over = true;
            return Err(OverRatio::error(&self.reason));
        }
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        Ok(n)
    }
}

/// Extracts every file member of a zip archive held in memory (see
/// [`extract_zip_reader`]).
pub fn extract_zip(data: &[u8], limits: &Limits, depth: u32, sink: &mut dyn Sink) {
    extract_zip_reader(Cursor::new(data), data.len() as u64, limits, depth, sink);
}

/// Extracts every file member of the zip archive `reader`, `len` bytes
/// long: in memory, or a file read where it is. Directories and symbolic
/// links are ignored; encrypted members, unsupported compression methods,
/// over-limit and corrupt members are skipped with the reason. Members are
/// read one at a time, held or streamed as [`HOLD_MAX`] says, and the
/// central directory is read in slices (`zip_directory`), so memory does
/// not grow with the number of members.
pub fn extract_zip_reader<R: Read + Seek>(
    reader: R,
    len: u64,
    limits: &Limits,
    depth: u32,
    sink: &mut dyn Sink,
) {
    extract_zip_sliced(
        reader,
        len,
        limits,
        depth,
        sink,
        zip_directory::SLICE_ENTRIES,
    );
}

/// [`extract_zip_reader`] with slices of at most `slice_entries` entries.
fn extract_zip_sliced<R: Read + Seek>(
    mut reader: R,
    len: u64,
    limits: &Limits,
    depth: u32,
    sink: &mut dyn Sink,
    slice_entries: u64,
) {
    if too_deep(limits, depth, sink) {
        return;
    }
    let budget = budget_of(sink, limits);
    let corrupt = |sink: &mut dyn Sink, error: &dyn std::fmt::Display| {
        sink.skip("", &format!("corrupt zip archive: {error}"));
    };
    let Some(directory) = zip_directory::locate(&mut reader, len) else {
        // End records this module does not follow: the crate reads the
        // whole directory, or says what is wrong.
        match ZipArchive::new(reader) {
            Ok(mut archive) => extract_zip_members(&mut archive, len, limits, depth, &budget, sink),
            Err(error) => corrupt(sink, &error),
        }
        return;
    };
    let config = zip::read::Config {
        archive_offset: zip::read::ArchiveOffset::Known(directory.offset),
    };
    let mut at = directory.start;
    while at < directory.end() {
        let (bytes, entries) =
            match zip_directory::measure(&mut reader, at, directory.end(), slice_entries) {
                Ok(Some(slice)) => slice,
                Ok(None) => {
                    let at = at - directory.offset;
                    return corrupt(sink, &format!("no central directory entry at offset {at}"));
                }
                Err(error) => return corrupt(sink, &error),
            };
        let slice = zip_directory::Slice::new(&mut reader, &directory, at, bytes, entries);
        match ZipArchive::with_config(config, slice) {
            Ok(mut archive) => extract_zip_members(&mut archive, len, limits, depth, &budget, sink),
            Err(error) => return corrupt(sink, &error),
        }
        at += bytes;
    }
}

/// Extracts the file members of an opened zip archive (or slice of its
/// directory) in order; see [`extract_zip_reader`].
fn extract_zip_members<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    len: u64,
    limits: &Limits,
    depth: u32,
    budget: &Budget,
    sink: &mut dyn Sink,
) {
    for index in 0..archive.len() {
        let name = archive.name_for_index(index).unwrap_or("").to_string();
        let member = match archive.by_index_raw(index) {
            Ok(file) => ZipMember {
                name,
                ignored: file.is_dir() || file.is_symlink(),
                encrypted: file.encrypted(),
                method: file.compression(),
                compressed: file.compressed_size(),
                size: file.size(),
            },
            Err(error) => {
                sink.skip(&name, &format!("corrupt zip member: {error}"));
                continue;
            }
        };
        if member.ignored {
            continue;
        }
        if member.encrypted {
            sink.skip(&member.name, "encrypted member");
            continue;
        }
        match archive.by_index(index) {
            Ok(file) => {
                let about = Member {
                    name: &member.name,
                    element: Some(&member.name),
                    kind: "zip member",
                    compressed: Some(member.compressed.min(len)),
                    declared: member.size,
                };
                let _ = extract_member_from(&about, file, limits, depth, budget, sink);
            }
            Err(ZipError::UnsupportedArchive(what)) => {
                let reason = if zip::SUPPORTED_COMPRESSION_METHODS.contains(&member.method) {
                    format!("unsupported zip member: {what}")
                } else {
                    format!(
                        "unsupported compression method: {}",
                        method_name(member.method)
                    )
                };
                sink.skip(&member.name, &reason);
            }
            Err(error) => sink.skip(&member.name, &format!("corrupt zip member: {error}")),
        }
    }
}

/// Extracts every regular file member of a tar archive held in memory (see
/// [`extract_tar_reader`]).
pub fn extract_tar(data: &[u8], limits: &Limits, depth: u32, sink: &mut dyn Sink) {
    extract_tar_reader(data, limits, depth, sink);
}

/// Extracts every regular file member of the tar archive read from
/// `reader`, in one pass (a `.tar.gz` of many GB decompressed as it is
/// read). Members are held or streamed as [`HOLD_MAX`] says. Other entry
/// types (directories, links, devices) are ignored; sparse files and
/// members cut short are skipped with the reason, and a corrupt header
/// ends the archive with a skip.
pub fn extract_tar_reader<R: Read>(reader: R, limits: &Limits, depth: u32, sink: &mut dyn Sink) {
    if too_deep(limits, depth, sink) {
        return;
    }
    let budget = budget_of(sink, limits);
    let mut archive = tar::Archive::new(reader);
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(error) => {
            sink.skip("", &format!("corrupt tar archive: {error}"));
            return;
        }
    };
    // Whether the archive was read to its end marker.
    let mut whole = true;
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) if OverRatio::is(&error) => {
                sink.skip("", &ratio_reason(limits));
                whole = false;
                break;
            }
            Err(error) => {
                sink.skip("", &format!("corrupt tar archive: {error}"));
                whole = false;
                break;
            }
        };
        let kind = entry.header().entry_type();
        if !kind.is_file() && !kind.is_gnu_sparse() {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if kind.is_gnu_sparse() {
            sink.skip(&name, "sparse file in tar archive (not supported)");
            continue;
        }
        let size = entry.size();
        let about = Member {
            name: &name,
            element: Some(&name),
            kind: "tar member",
            compressed: None,
            declared: size,
        };
        // The archive ends inside the member: it is scanned as far as it
        // goes, then reported, and nothing follows.
        let (read, _) = extract_member_from(&about, entry, limits, depth, &budget, sink);
        if read.is_some_and(|n| n < size) {
            sink.skip(&name, "tar member truncated");
            whole = false;
            break;
        }
    }
    // What follows the end marker is read too, so that a gzip stream
    // around the archive is checked to its end (its checksum).
    if whole {
        if let Err(error) = io::copy(&mut archive.into_inner(), &mut io::sink()) {
            let reason = if OverRatio::is(&error) {
                ratio_reason(limits)
            } else {
                format!("after the tar archive: {error}")
            };
            sink.skip("", &reason);
        }
    }
}

/// Checks a zip-based document (`.xlsx`, `.docx` …) against the bomb
/// guards before it is handed to its reader, which decompresses parts
/// without bounds (an `.xlsx`'s shared strings are held whole). Every member
/// is decompressed once into nothing, counting, under the same ratio cap
/// and [`Budget`] as a zip member, and charged to the budget. When one goes
/// over a limit it is skipped with the reason and `false` is returned: the
/// document is then not read at all. A zip that cannot be opened, or a
/// member that cannot be read, is left to the document's reader to report.
pub fn document_within_limits(data: &[u8], limits: &Limits, sink: &mut dyn Sink) -> bool {
    document_reader_within_limits(Cursor::new(data), data.len() as u64, limits, sink)
}

/// Most parts a zip-based document (`.xlsx`, `.docx` …) may have: its
/// readers hold its whole directory, and a real one has hundreds (a
/// workbook of many sheets and images, a few thousand). A `.docx` padded
/// to 300 000 parts took 187 MB.
pub const MAX_DOCUMENT_PARTS: u64 = 20_000;

/// [`document_within_limits`] for a document of `len` bytes read from
/// `reader` (a large file, read where it is).
pub fn document_reader_within_limits<R: Read + Seek>(
    mut reader: R,
    len: u64,
    limits: &Limits,
    sink: &mut dyn Sink,
) -> bool {
    // Its readers open the whole directory (about 700 bytes a part).
    let parts = zip_directory::locate(&mut reader, len).map_or(0, |d| d.entries);
    if parts > MAX_DOCUMENT_PARTS {
        let reason = format!(
            "a document of {parts} parts (more than {MAX_DOCUMENT_PARTS}); the document was not scanned"
        );
        sink.skip("", &reason);
        return false;
    }
    let Ok(mut archive) = ZipArchive::new(reader) else {
        return true;
    };
    let budget = budget_of(sink, limits);
    for index in 0..archive.len() {
        let Ok(file) = archive.by_index(index) else {
            continue;
        };
        if file.is_dir() {
            continue;
        }
        let name = file.name().to_string();
        let compressed = file.compressed_size().min(len);
        let declared = file.size();
        let over = match measure_bounded(file, compressed, declared, limits, &budget) {
            Some(over) => over,
            None => continue,
        };
        let reason = over.reason(limits);
        sink.skip(&name, &format!("{reason}; the document was not scanned"));
        return false;
    }
    true
}

/// Decompresses `reader` into nothing under the caps of [`read_bounded`],
/// charging what it produced; `Some(OverRatio | OverBudget)` when it went
/// over one, `None` otherwise (read errors included).
fn measure_bounded(
    reader: impl Read,
    compressed: u64,
    declared: u64,
    limits: &Limits,
    budget: &Budget,
) -> Option<Bounded> {
    let ratio_cap = ratio_cap(compressed, limits);
    let remaining = budget.remaining();
    if declared > ratio_cap {
        return Some(Bounded::OverRatio);
    }
    if declared > remaining {
        return Some(Bounded::OverBudget);
    }
    let cap = ratio_cap.min(remaining);
    let mut limited = reader.take(cap.saturating_add(1));
    // Corrupt data ends it: the document's reader reports it.
    let (Ok((read, _)) | Err((read, _))) = copy_reads(&mut limited, &mut io::sink());
    budget.charge(read);
    (read > cap).then(|| Bounded::over(ratio_cap, remaining))
}

/// What a zip member's central-directory entry says about it.
struct ZipMember {
    name: String,
    /// A directory or a symbolic link.
    ignored: bool,
    encrypted: bool,
    method: CompressionMethod,
    /// Declared compressed size.
    compressed: u64,
    /// Declared uncompressed size (untrusted).
    size: u64,
}

/// A readable name for a compression method this build cannot decompress.
fn method_name(method: CompressionMethod) -> String {
    const KNOWN: [(CompressionMethod, &str); 8] = [
        (CompressionMethod::SHRINK, "Shrink"),
        (CompressionMethod::IMPLODE, "Implode"),
        (CompressionMethod::LZMA, "LZMA"),
        (CompressionMethod::ZSTD, "Zstandard"),
        (CompressionMethod::XZ, "XZ"),
        (CompressionMethod::PPMD, "PPMd"),
        (CompressionMethod::AES, "AES"),
        (CompressionMethod::PKWARE_IMPLODE, "PKWARE Implode"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| *known == method)
        .map(|(_, name)| name.to_string())
        .unwrap_or_else(|| method.to_string())
}

/// Members up to this many bytes are held in memory and extracted like a
/// file. The head of a longer one decides: text, CSV, JSON lines, SQL
/// dumps, tar and gzip are streamed, zips, workbooks, documents and SQLite
/// databases are spilled to a temporary file, a JSON document is held up
/// to [`json::WHOLE_MAX`] and streamed as text past it, so memory stays
/// bounded whatever their size. Binary content is told by the first
/// 8 KiB of any member, and nothing more of it is read.
pub const HOLD_MAX: usize = 16 << 20;

/// What an archive says about a member before it is read.
struct Member<'a> {
    /// The name its format is told by.
    name: &'a str,
    /// What it adds to the member chain: its name, or nothing for the
    /// content of a gzip stream, which stands for the file itself, and for
    /// standard input ([`extract_input`]).
    element: Option<&'a str>,
    /// `zip member`, `tar member`, [`GZIP_STREAM`] or [`INPUT`], for
    /// messages.
    kind: &'static str,
    /// Compressed size, for the ratio guard; `None` for members stored as
    /// they are (tar).
    compressed: Option<u64>,
    /// Declared uncompressed size (untrusted).
    declared: u64,
}

/// [`Member::kind`] of the content of a gzip stream.
const GZIP_STREAM: &str = "gzip stream";

/// [`Member::kind`] of standard input read as a file ([`extract_input`]).
const INPUT: &str = "input";

impl Member<'_> {
    /// The level the member's content is extracted at, its archive being
    /// at `depth`: one deeper for a member of an archive; for the content
    /// of a gzip stream, the stream's own, unless that content is gzip
    /// again (`gzip`), which counts as one more, so that recursion stays
    /// bounded; for standard input, the top level.
    fn level(&self, depth: u32, gzip: bool) -> u32 {
        match self.element {
            Some(_) => depth + 1,
            None => depth + u32::from(gzip && self.kind == GZIP_STREAM),
        }
    }

    /// What skips of the member as a whole are reported under.
    fn what(&self) -> &str {
        self.element.unwrap_or("")
    }

    /// The sink its content goes to: `sink`, adding the member to the chain.
    fn sink<'s>(&'s self, sink: &'s mut dyn Sink, budget: &Budget) -> MemberSink<'s> {
        MemberSink {
            inner: sink,
            name: self.element,
            budget: budget.clone(),
            chain: String::new(),
        }
    }

    /// The most bytes the ratio guard lets the member produce.
    fn ratio_cap(&self, limits: &Limits) -> u64 {
        self.compressed
            .map_or(u64::MAX, |compressed| ratio_cap(compressed, limits))
    }

    /// The whole member, streamed: its `head`, read already, then the rest
    /// of `reader` under the ratio guard ([`Capped`]).
    fn whole<R: Read>(
        &self,
        head: Vec<u8>,
        reader: R,
        limits: &Limits,
    ) -> io::Chain<Head, Capped<R>> {
        let cap = self.ratio_cap(limits).saturating_sub(head.len() as u64);
        let head = Head { bytes: head, at: 0 };
        head.chain(Capped::new(reader, cap, ratio_reason(limits)))
    }
}

/// The head of a member streamed, read already, given out again and
/// released as it goes: a JSON document's head (up to
/// [`json::WHOLE_MAX`]) would otherwise stay held, beside the blocks being
/// scanned, until the whole stream ends.
struct Head {
    bytes: Vec<u8>,
    /// Where the next read starts.
    at: usize,
}

/// Bytes of a [`Head`] given out before they are released, at the cost of
/// moving the rest down.
const HEAD_RELEASE: usize = 8 << 20;

impl Read for Head {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.bytes.len() - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        if self.at >= HEAD_RELEASE || self.at == self.bytes.len() {
            self.bytes.drain(..self.at);
            self.bytes.shrink_to_fit();
            self.at = 0;
        }
        Ok(n)
    }
}

/// Reads a member from `reader` and extracts it one level deeper (the
/// content of a gzip stream: at the stream's level), as [`HOLD_MAX`]
/// says: held in memory, or streamed. The budget is charged with the bytes
/// of members held (or refused), not with those of members streamed, which
/// hold nothing: the ratio guard follows a streamed member to its end
/// instead. Returns how many bytes the member had when it was read to its
/// end (`None` when it was refused or failed), and what it turned out to
/// be.
fn extract_member_from(
    member: &Member<'_>,
    mut reader: impl Read,
    limits: &Limits,
    depth: u32,
    budget: &Budget,
    sink: &mut dyn Sink,
) -> (Option<u64>, Extracted) {
    let refused = |sink: &mut dyn Sink, reason: &str| {
        sink.skip(member.what(), reason);
        (None, Extracted::Scanned)
    };
    let ratio_cap = member.ratio_cap(limits);
    let remaining = budget.remaining();
    let hold = HOLD_MAX as u64;
    // Declared before the content, so dropped after it.
    let mut _alone = None;
    if member.declared > ratio_cap {
        return refused(sink, &ratio_reason(limits));
    }
    // Its head tells binary content (a photo, a video, a PDF), as a file's
    // does: such a member is not read on, nor charged, whatever its size.
    let capacity = member.declared.min(hold).min(CAPACITY_HINT);
    let mut content = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    let mut result = (&mut reader)
        .take(sniff::SNIFF_LEN as u64)
        .read_to_end(&mut content);
    if result.is_ok() {
        if let Err(what) = super::detect_format(member.name, &content) {
            return (None, Extracted::Binary(what));
        }
    }
    // A small member is held whole: refused early when it cannot fit.
    if member.declared <= hold && member.declared > remaining {
        return refused(sink, &budget_reason(limits));
    }
    if result.is_ok() && content.len() == sniff::SNIFF_LEN {
        let more = (hold.min(ratio_cap) + 1).saturating_sub(content.len() as u64);
        result = (&mut reader).take(more).read_to_end(&mut content);
    }
    let mut read = content.len() as u64;
    if read > ratio_cap {
        budget.charge(read);
        return refused(sink, &ratio_reason(limits));
    }
    // A longer member is streamed, spilled or, failing both, held whole,
    // as its format (told once, from its head) allows.
    if read > hold && result.is_ok() {
        let head = &content[..content.len().min(sniff::SNIFF_LEN)];
        let format = super::detect_format(member.name, head).ok();
        let in_place = format.is_some_and(|f| super::reads_in_place(f, member.name, head));
        match format {
            Some(format @ (Format::Text | Format::Csv | Format::SqlDump | Format::JsonLines)) => {
                let read = stream_member(member, format, content, reader, limits, budget, sink);
                return (read, Extracted::Scanned);
            }
            Some(Format::Json) => {
                // Held whole up to the JSON extractor's limit, as a file
                // is (by one thread at a time); past it, streamed as text,
                // as a file is.
                _alone = Some(super::hold_alone());
                let upto = json::WHOLE_MAX.min(ratio_cap) + 1;
                result = (&mut reader).take(upto - read).read_to_end(&mut content);
                read = content.len() as u64;
                if read > ratio_cap {
                    budget.charge(read);
                    return refused(sink, &ratio_reason(limits));
                }
                if read > json::WHOLE_MAX && result.is_ok() {
                    sink.skip(member.what(), &json::too_long_reason());
                    let read =
                        stream_member(member, Format::Text, content, reader, limits, budget, sink);
                    return (read, Extracted::Scanned);
                }
            }
            Some(format @ (Format::Tar | Format::Gzip)) => {
                let reader: &mut dyn Read = &mut reader;
                let read =
                    stream_container(member, format, content, reader, limits, depth, budget, sink);
                return (read, Extracted::Scanned);
            }
            _ => {}
        }
        // A zip, workbook or document goes to an anonymous temporary file,
        // a SQLite database to a named one (SQLite opens a database by its
        // name); without a temporary file, the member is held as before.
        let to = match format {
            Some(_) if in_place => tempfile::tempfile().ok().map(SpillFile::Anonymous),
            Some(Format::Sqlite) => sqlite::temporary_file().ok().map(SpillFile::Named),
            _ => None,
        };
        if let (Some(format), Some(to)) = (format, to) {
            let reader: &mut dyn Read = &mut reader;
            let read = spill(
                member, format, content, reader, to, limits, depth, budget, sink,
            );
            return (read, Extracted::Scanned);
        }
    }
    budget.charge(read);
    if read > remaining {
        return refused(sink, &budget_reason(limits));
    }
    let error = match result {
        Err(error) => Some(error),
        // Longer than is held, and not streamed: read on, whole.
        Ok(_) if read > hold => match read_bounded(reader, ratio_cap - read, None, budget) {
            Bounded::Whole(rest) => {
                content.extend_from_slice(&rest);
                None
            }
            Bounded::Partial(rest, error) => {
                content.extend_from_slice(&rest);
                Some(error)
            }
            over @ (Bounded::OverRatio | Bounded::OverBudget) => {
                return refused(sink, &over.reason(limits))
            }
        },
        Ok(_) => None,
    };
    let mut extracted = Extracted::Scanned;
    if error.is_none() || !content.is_empty() {
        let level = member.level(depth, content.starts_with(GZIP_MAGIC));
        let mut inner = member.sink(sink, budget);
        extracted = super::extract(member.name, &content, limits, level, &mut inner);
    }
    match error {
        None => (Some(content.len() as u64), extracted),
        Some(error) => {
            sink.skip(member.what(), &failure_reason(member, &error, limits));
            (None, extracted)
        }
    }
}

/// Streams a member longer than [`HOLD_MAX`] that is a tar archive or a
/// gzip stream (`format`), like [`stream_member`]: both are read in one
/// pass, so a `.tar.gz` backup or a rotated `.log.gz` in a zip is never
/// held. Its members (or its content) are then held or streamed as any
/// member is. The content of a gzip stream is under a ratio guard of its
/// own ([`RatioGuard`]), against the bytes the stream has taken in.
#[allow(clippy::too_many_arguments)]
fn stream_container(
    member: &Member<'_>,
    format: Format,
    head: Vec<u8>,
    reader: &mut dyn Read,
    limits: &Limits,
    depth: u32,
    budget: &Budget,
    sink: &mut dyn Sink,
) -> Option<u64> {
    // Readers are passed on as `dyn Read`: each level of nesting would
    // otherwise be a type of its own, without end.
    let held = head.len() as u64;
    let taken = Rc::new(Cell::new(0));
    let mut counted = Counted {
        inner: member.whole(head, reader, limits),
        count: Rc::clone(&taken),
    };
    let input: &mut dyn Read = &mut counted;
    let mut inner = member.sink(sink, budget);
    let level = member.level(depth, format == Format::Gzip);
    match format {
        Format::Tar => extract_tar_reader(input, limits, level, &mut inner),
        _ => {
            if !too_deep(limits, level, &mut inner) {
                let content = Member {
                    name: &gzip_inner_name(member.name),
                    element: None,
                    kind: GZIP_STREAM,
                    compressed: None,
                    declared: 0,
                };
                let mut decoder = RatioGuard {
                    inner: GzipStream(MultiGzDecoder::new(input)),
                    taken: Rc::clone(&taken),
                    produced: 0,
                    max_ratio: limits.max_ratio,
                    reason: ratio_reason(limits),
                };
                let decoder: &mut dyn Read = &mut decoder;
                extract_member_from(&content, decoder, limits, level, budget, &mut inner);
            }
        }
    }
    // A failure has been reported by the reader it stopped.
    let (_, rest) = counted.inner.into_inner();
    (!rest.over).then_some(held + rest.produced)
}

/// The error of a read that went past a ratio guard ([`Capped`],
/// [`RatioGuard`]), told apart from damage so that the skip gives the
/// limit as its reason.
#[derive(Debug)]
struct OverRatio(String);

impl OverRatio {
    fn error(reason: &str) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, OverRatio(reason.to_string()))
    }

    fn is(error: &io::Error) -> bool {
        error.get_ref().is_some_and(|inner| inner.is::<OverRatio>())
    }
}

impl std::fmt::Display for OverRatio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OverRatio {}

/// Why a member whose read failed with `error` is skipped: the ratio
/// limit, or damage.
fn failure_reason(member: &Member<'_>, error: &io::Error, limits: &Limits) -> String {
    if OverRatio::is(error) {
        ratio_reason(limits)
    } else {
        format!("{} truncated or corrupt: {error}", member.kind)
    }
}

/// Where [`spill`] writes a member.
enum SpillFile {
    /// An anonymous temporary file: no name in any directory, removed when
    /// closed, readable by this user only.
    Anonymous(std::fs::File),
    /// A named one (`$TMPDIR/.piscan-…`, readable by this user only,
    /// removed when dropped), for SQLite, which opens a database by name.
    Named(tempfile::NamedTempFile),
}

/// Reads a member over [`HOLD_MAX`] that is read in place (a zip, a
/// workbook, a document: their readers seek, so it cannot be streamed; a
/// SQLite database) by writing it to a temporary file (`to`) and reading
/// it there, so that it is not held in memory. Its `head` is read already.
/// It is charged to the budget as a member held is, so the budget also
/// bounds the disk it takes. Returns its length when it was read to its
/// end.
#[allow(clippy::too_many_arguments)]
fn spill(
    member: &Member<'_>,
    format: Format,
    head: Vec<u8>,
    reader: &mut dyn Read,
    to: SpillFile,
    limits: &Limits,
    depth: u32,
    budget: &Budget,
    sink: &mut dyn Sink,
) -> Option<u64> {
    let ratio_cap = member.ratio_cap(limits);
    let remaining = budget.remaining();
    let cap = ratio_cap.min(remaining);
    // Enough for a format's magic and a SQLite header.
    let magic = head[..head.len().min(sqlite::HEADER_LEN)].to_vec();
    let write_failed = |sink: &mut dyn Sink, error: io::Error| {
        let reason = format!("cannot write a temporary file: {error}");
        sink.skip(member.what(), &reason);
        None
    };
    let (file, named) = match to {
        SpillFile::Anonymous(file) => (file, None),
        SpillFile::Named(named) => match named.as_file().try_clone() {
            Ok(file) => (file, Some(named)),
            Err(error) => return write_failed(sink, error),
        },
    };
    let mut out = io::BufWriter::with_capacity(COPY_BUFFER, file);
    let mut input = Cursor::new(head).chain(reader).take(cap.saturating_add(1));
    let (written, read_error) = match copy_reads(&mut input, &mut out) {
        Ok(copied) => copied,
        Err((written, error)) => {
            budget.charge(written);
            return write_failed(sink, error);
        }
    };
    drop(input);
    budget.charge(written);
    if written > cap {
        let reason = Bounded::over(ratio_cap, remaining).reason(limits);
        sink.skip(member.what(), &reason);
        return None;
    }
    let file = match out.into_inner() {
        Ok(file) => file,
        Err(error) => return write_failed(sink, error.into_error()),
    };
    let level = member.level(depth, false);
    let mut inner = member.sink(sink, budget);
    let result = match &named {
        Some(named) => {
            read_database(named.path(), &magic, written, limits, &mut inner);
            Ok(())
        }
        None => super::extract_in_place(
            member.name,
            format,
            &magic,
            io::BufReader::with_capacity(COPY_BUFFER, file),
            written,
            limits,
            level,
            &mut inner,
        ),
    };
    if let Err(error) = result {
        inner.skip("", &format!("cannot read its temporary file: {error}"));
    }
    match read_error {
        None => Some(written),
        Some(error) => {
            sink.skip(member.what(), &failure_reason(member, &error, limits));
            None
        }
    }
}

/// Reads the SQLite database a member was written to (at `path`, `len`
/// bytes starting with `head`): where it is when its pages are whole, else
/// (a truncated database) after its header is repaired in the file.
fn read_database(
    path: &std::path::Path,
    head: &[u8],
    len: u64,
    limits: &Limits,
    sink: &mut dyn Sink,
) {
    let rows = limits.max_rows_per_table;
    if sqlite::readable_in_place(head, len) {
        return sqlite::extract_file(path, rows, sink);
    }
    sqlite::extract_temporary(path, rows, sink);
}

/// Buffer of [`copy_reads`], and of the reader of a member's copy in a
/// temporary file ([`spill`]).
const COPY_BUFFER: usize = 64 << 10;

/// A reader that counts the bytes read through it into a shared cell.
struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// The ratio guard of content decompressed as it is read from a stream
/// whose length is not known beforehand: it fails, with `reason`
/// ([`io::ErrorKind::InvalidData`]), once it has produced more than
/// `max_ratio` times the bytes its decompressor has `taken` in, plus
/// [`RATIO_FLOOR`] (so that small, highly compressible text still scans).
struct RatioGuard<R> {
    inner: R,
    taken: Rc<Cell<u64>>,
    produced: u64,
    max_ratio: u64,
    reason: String,
}

impl<R: Read> Read for RatioGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let allowed = self
            .taken
            .get()
            .saturating_mul(self.max_ratio)
            .saturating_add(RATIO_FLOOR);
        if self.produced > allowed {
            return Err(OverRatio::error(&self.reason));
        }
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        Ok(n)
    }
}

/// Streams a member longer than [`HOLD_MAX`] in a line-based `format`
/// (text, CSV, JSON lines, a SQL dump): its `head`, read already, then the rest of `reader`,
/// under the ratio guard. A read error ends it with a skip saying how far
/// it was read.
fn stream_member(
    member: &Member<'_>,
    format: Format,
    head: Vec<u8>,
    reader: impl Read,
    limits: &Limits,
    budget: &Budget,
    sink: &mut dyn Sink,
) -> Option<u64> {
    let held = head.len() as u64;
    let mut input = member.whole(head, reader, limits);
    let mut inner = member.sink(sink, budget);
    let result = match format {
        Format::Csv => super::table::extract_reader(member.name, &mut input, &mut inner),
        Format::SqlDump => {
            super::sql::extract_reader(&mut input, &[], limits.max_rows_per_table, &mut inner)
        }
        Format::JsonLines => super::json::extract_lines_reader(&mut input, &mut inner),
        _ if inner.text_stream(None, &mut input) => Ok(()),
        _ => super::text::extract_reader(&mut input, &mut inner),
    };
    let (_, rest) = input.into_inner();
    let read = held + rest.produced;
    match result {
        Ok(()) => Some(read),
        Err(error) => {
            let reason = failure_reason(member, &error, limits);
            sink.skip(member.what(), &format!("{reason} (after {read} bytes)"));
            None
        }
    }
}

/// Skips the archive, with the reason, when it is nested too deep.
fn too_deep(limits: &Limits, depth: u32, sink: &mut dyn Sink) -> bool {
    let deep = depth >= limits.max_depth;
    if deep {
        let reason = format!("nested deeper than {} archives", limits.max_depth);
        sink.skip("", &reason);
    }
    deep
}

/// The budget of the archive around this one, or a new one for a
/// top-level archive.
fn budget_of(sink: &dyn Sink, limits: &Limits) -> Budget {
    sink.archive_budget()
        .unwrap_or_else(|| Budget::new(limits.max_archive_bytes))
}

/// The name a gzip stream's content is extracted under: `x.csv.gz` is
/// `x.csv`, `x.tgz` is `x.tar`; a name without either suffix is kept.
pub fn gzip_inner_name(name: &str) -> Cow<'_, str> {
    let has_suffix = |suffix: &str| {
        name.len() >= suffix.len()
            && name.as_bytes()[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
    };
    // The suffixes are ASCII, so the cuts fall on character boundaries.
    if has_suffix(".tgz") {
        Cow::Owned(format!("{}.tar", &name[..name.len() - 4]))
    } else if has_suffix(".gz") {
        Cow::Borrowed(&name[..name.len() - 3])
    } else {
        Cow::Borrowed(name)
    }
}

/// Formats a byte count exactly, in the largest binary unit that divides it.
fn exact_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    UNITS
        .iter()
        .find(|(unit, _)| bytes >= *unit && bytes.is_multiple_of(*unit))
        .map(|(unit, name)| format!("{} {name}", bytes / unit))
        .unwrap_or_else(|| format!("{bytes} bytes"))
}

/// Why a member over the compression ratio is skipped.
fn ratio_reason(limits: &Limits) -> String {
    format!("compression ratio above {}:1", limits.max_ratio)
}

/// Why a member over the archive budget is skipped.
fn budget_reason(limits: &Limits) -> String {
    format!(
        "archive size limit reached ({} uncompressed)",
        exact_size(limits.max_archive_bytes)
    )
}

/// The most a stream of `compressed` bytes may produce under the ratio
/// guard (never less than [`RATIO_FLOOR`]).
fn ratio_cap(compressed: u64, limits: &Limits) -> u64 {
    compressed.saturating_mul(limits.max_ratio).max(RATIO_FLOOR)
}

/// The outcome of a bounded read.
#[derive(Debug)]
enum Bounded {
    /// Everything, within the limits.
    Whole(Vec<u8>),
    /// What was read before an error (truncated or corrupt data).
    Partial(Vec<u8>, io::Error),
    /// More than the compression ratio allows; nothing kept.
    OverRatio,
    /// More than the budget has left; nothing kept.
    OverBudget,
}

impl Bounded {
    /// The limit a read went over when it passed the smaller of
    /// `ratio_cap` and the `remaining` budget.
    fn over(ratio_cap: u64, remaining: u64) -> Bounded {
        if ratio_cap <= remaining {
            Bounded::OverRatio
        } else {
            Bounded::OverBudget
        }
    }

    /// Why a member over a limit (`OverRatio`, `OverBudget`) is skipped.
    fn reason(&self, limits: &Limits) -> String {
        match self {
            Bounded::OverRatio => ratio_reason(limits),
            _ => budget_reason(limits),
        }
    }
}

/// Reads `input` into `out` until it ends or a read fails (interrupted
/// reads are retried): the bytes read, and the read's error. A failed
/// write stops it: `Err` with the bytes written before it, and its error.
#[allow(clippy::type_complexity)]
fn copy_reads(
    input: &mut impl Read,
    out: &mut impl Write,
) -> Result<(u64, Option<io::Error>), (u64, io::Error)> {
    let mut buf = vec![0; COPY_BUFFER];
    let mut copied = 0u64;
    loop {
        match input.read(&mut buf) {
            Ok(0) => return Ok((copied, None)),
            Ok(n) => {
                out.write_all(&buf[..n]).map_err(|e| (copied, e))?;
                copied += n as u64;
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Ok((copied, Some(error))),
        }
    }
}

/// Reads a decompressing stream into memory, refusing it if it produces
/// more than `ratio_cap` (see [`ratio_cap`]) or than the budget has left.
/// `declared` (a header's claim) may refuse early but is never trusted
/// otherwise. Every byte read is charged to the budget.
fn read_bounded(
    reader: impl Read,
    ratio_cap: u64,
    declared: Option<u64>,
    budget: &Budget,
) -> Bounded {
    let remaining = budget.remaining();
    match declared {
        Some(size) if size > ratio_cap => return Bounded::OverRatio,
        Some(size) if size > remaining => return Bounded::OverBudget,
        _ => {}
    }
    let cap = ratio_cap.min(remaining);
    let hint = declared.unwrap_or(0).min(cap).min(CAPACITY_HINT);
    let mut content = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    let result = reader.take(cap.saturating_add(1)).read_to_end(&mut content);
    let read = content.len() as u64;
    budget.charge(read);
    if read > cap {
        return Bounded::over(ratio_cap, remaining);
    }
    match result {
        Ok(_) => Bounded::Whole(content),
        Err(error) => Bounded::Partial(content, error),
    }
}

/// The sink handed to a member (or a gzip stream's content): adds the
/// member's name to the chain of every place and skip, forwards encodings,
/// and carries the budget to archives nested in the member.
struct MemberSink<'a> {
    inner: &'a mut dyn Sink,
    /// The member's name; `None` for a gzip stream, which adds no element.
    name: Option<&'a str>,
    budget: Budget,
    /// Buffer for `name!rest`, reused from unit to unit.
    chain: String,
}

impl MemberSink<'_> {
    /// `name!rest`, or `name` when `rest` is empty, in the reused buffer.
    fn join(chain: &mut String, name: &str, rest: &str) {
        chain.clear();
        chain.push_str(name);
        if !rest.is_empty() {
            chain.push('!');
            chain.push_str(rest);
        }
    }
}

impl Sink for MemberSink<'_> {
    fn unit(&mut self, unit: &Unit<'_>) {
        let Some(name) = self.name else {
            return self.inner.unit(unit);
        };
        let member = match unit.place.member {
            None => name,
            Some(rest) => {
                Self::join(&mut self.chain, name, rest);
                self.chain.as_str()
            }
        };
        self.inner.unit(&Unit {
            text: unit.text,
            place: Place {
                member: Some(member),
                ..unit.place
            },
        });
    }

    fn skip(&mut self, what: &str, reason: &str) {
        let Some(name) = self.name else {
            return self.inner.skip(what, reason);
        };
        Self::join(&mut self.chain, name, what);
        self.inner.skip(&self.chain, reason);
    }

    fn encoding(&mut self, name: &'static str) {
        self.inner.encoding(name);
    }

    fn text_stream(&mut self, member: Option<&str>, reader: &mut dyn Read) -> bool {
        let Some(name) = self.name else {
            return self.inner.text_stream(member, reader);
        };
        let mut chain = String::new();
        Self::join(&mut chain, name, member.unwrap_or(""));
        self.inner.text_stream(Some(&chain), reader)
    }

    fn archive_budget(&self) -> Option<Budget> {
        Some(self.budget.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{SeekFrom, Write};

    use flate2::write::GzEncoder;
    use flate2::Compression;
    use zip::write::SimpleFileOptions;
    use zip::ZipWriter;

    use super::*;
    use crate::extract::testing::Recorder;
    use crate::extract::{extract, Extracted};
    use crate::synth::{self, Rng};

    /// Synthetic resident ID number `n`.
    fn id(n: u64) -> String {
        synth::resident_id(&mut Rng::new(n))
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn zip_with(method: CompressionMethod, members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(method);
        for (name, data) in members {
            if name.ends_with('/') {
                writer.add_directory(*name, options).unwrap();
            } else {
                writer.start_file(*name, options).unwrap();
                writer.write_all(data).unwrap();
            }
        }
        writer.finish().unwrap().into_inner()
    }

    fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
        zip_with(CompressionMethod::Deflated, members)
    }

    fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in members {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            // Written raw, so that hostile names are kept as they are.
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn scan(name: &str, data: &[u8], limits: &Limits) -> Recorder {
        let mut recorder = Recorder::default();
        let got = extract(name, data, limits, 0, &mut recorder);
        assert_eq!(got, Extracted::Scanned);
        recorder
    }

    /// The member and the line of the one place `needle` was found.
    fn locate(recorder: &Recorder, needle: &str) -> (Option<String>, u64) {
        let found = recorder.containing(needle);
        assert_eq!(found.len(), 1, "{needle} in {:?}", recorder.units);
        let unit = found[0];
        let before = &unit.text[..unit.text.find(needle).unwrap()];
        let line = unit.line.unwrap() + before.matches('\n').count() as u64;
        (unit.member.clone(), line)
    }

    /// The one skip of a gzip file cut short.
    fn assert_cut_short(r: &Recorder) {
        assert_eq!(r.skips.len(), 1);
        assert_eq!(r.skips[0].0, "");
        let reason = &r.skips[0].1;
        assert!(
            reason.starts_with("gzip stream truncated or corrupt: "),
            "{reason}"
        );
    }

    fn skip(what: &str, reason: &str) -> (String, String) {
        (what.to_string(), reason.to_string())
    }

    fn roster(first: &str, second: &str) -> Vec<u8> {
        format!("姓名,身份证号\n张三,{first}\n李四,{second}\n").into_bytes()
    }

    /// A JSON document of `len` bytes or a little more, `{"rows": [...]}`,
    /// whose last row holds `last`.
    fn json_document(len: usize, last: &str) -> Vec<u8> {
        let row = r#"{"note": "lorem ipsum dolor sit amet"},"#;
        let mut doc = String::from(r#"{"rows": ["#);
        doc.push_str(&row.repeat(len / row.len() + 1));
        doc.push_str(&format!(r#"{{"phone": "{last}"}}]}}"#));
        doc.into_bytes()
    }

    #[test]
    fn long_json_members_are_held_to_the_limit_then_streamed_as_text() {
        let limits = Limits {
            max_ratio: u64::MAX,
            ..Limits::default()
        };
        let held = json_document(HOLD_MAX + 1, "13812345678");
        let streamed = json_document(json::WHOLE_MAX as usize, "13912345678");
        let members = [("held.json", &held[..]), ("streamed.json", &streamed[..])];
        for data in [zip_with(CompressionMethod::Stored, &members), tar(&members)] {
            let r = scan("x", &data, &limits);
            // Over the member limit, under the JSON one: key paths.
            let found = r.containing("13812345678");
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].field.as_deref(), Some("rows.phone"));
            assert_eq!(found[0].member.as_deref(), Some("held.json"));
            // Over the JSON limit: text, said so.
            let found = r.containing("13912345678");
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].field, None);
            assert_eq!(found[0].member.as_deref(), Some("streamed.json"));
            assert_eq!(
                r.skips,
                vec![skip("streamed.json", &json::too_long_reason())]
            );
        }
        // The content of a gzip stream, the same way.
        let r = scan("x.json.gz", &gz(&streamed), &limits);
        assert_eq!(r.containing("13912345678")[0].member, None);
        assert_eq!(r.skips, vec![skip("", &json::too_long_reason())]);
    }

    #[test]
    fn a_head_is_given_back_whole_and_released_as_it_goes() {
        let bytes: Vec<u8> = (0..HEAD_RELEASE * 3).map(|i| (i % 251) as u8).collect();
        let mut head = Head {
            bytes: bytes.clone(),
            at: 0,
        };
        let mut out = vec![0; HEAD_RELEASE + 7];
        let n = head.read(&mut out).unwrap();
        assert_eq!(out[..n], bytes[..n]);
        assert!(head.bytes.capacity() < bytes.len());
        let mut rest = Vec::new();
        head.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, bytes[n..]);
        assert_eq!(head.bytes.capacity(), 0);
    }

    #[test]
    fn gzip_inner_names() {
        assert_eq!(gzip_inner_name("dir/x.csv.gz"), "dir/x.csv");
        assert_eq!(gzip_inner_name("x.tar.GZ"), "x.tar");
        assert_eq!(gzip_inner_name("backup.tgz"), "backup.tar");
        assert_eq!(gzip_inner_name("x.gz"), "x");
        assert_eq!(gzip_inner_name("gz"), "gz");
        assert_eq!(gzip_inner_name("数据.gz"), "数据");
        assert_eq!(gzip_inner_name("noext"), "noext");
    }

    #[test]
    fn gzip_text_has_no_member_and_keeps_lines() {
        let text = format!("first\nsecond\nid={} here\n", id(1));
        let r = scan("app.log.gz", &gz(text.as_bytes()), &Limits::default());
        assert_eq!(locate(&r, &id(1)), (None, 3));
        assert!(r.skips.is_empty(), "{:?}", r.skips);
        assert_eq!(r.encodings, ["UTF-8"]);
    }

    #[test]
    fn gzip_multi_member_is_one_stream() {
        let mut data = gz(b"one\ntwo\n");
        data.extend(gz(format!("three\nid {}\n", id(2)).as_bytes()));
        let r = scan("x.log.gz", &data, &Limits::default());
        assert_eq!(locate(&r, &id(2)), (None, 4));
        assert!(r.skips.is_empty(), "{:?}", r.skips);
    }

    #[test]
    fn gzip_truncated_is_scanned_as_far_as_it_decodes() {
        let mut rng = Rng::new(7);
        let mut text = format!("header\nid {}\n", id(3));
        for _ in 0..4000 {
            text.push_str(&format!("{} {}\n", rng.digits(12), rng.below(1000)));
        }
        let data = gz(text.as_bytes());
        let r = scan("big.log.gz", &data[..data.len() / 2], &Limits::default());
        assert_eq!(locate(&r, &id(3)), (None, 2));
        assert_cut_short(&r);
    }

    #[test]
    fn gzip_corrupt_header_is_a_skip() {
        let r = scan("x.gz", b"\x1f\x8b\x09garbage", &Limits::default());
        assert!(r.units.is_empty());
        assert_eq!(r.skips.len(), 1);
        assert!(r.skips[0].1.starts_with("gzip stream truncated or corrupt"));
    }

    #[test]
    fn gzip_of_a_binary_file_is_binary() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend([0u8; 64]);
        let mut recorder = Recorder::default();
        let got = extract(
            "pic.png.gz",
            &gz(&png),
            &Limits::default(),
            0,
            &mut recorder,
        );
        assert!(matches!(got, Extracted::Binary(_)), "{got:?}");
    }

    #[test]
    fn zip_member_has_its_name() {
        let data = zip(&[("data/", b""), ("data/roster.csv", &roster(&id(4), &id(5)))]);
        let r = scan("outer.zip", &data, &Limits::default());
        assert_eq!(locate(&r, &id(4)), (Some("data/roster.csv".into()), 2));
        assert_eq!(locate(&r, &id(5)), (Some("data/roster.csv".into()), 3));
        assert!(r.skips.is_empty(), "{:?}", r.skips);
    }

    #[test]
    fn zip_in_zip_joins_the_chain() {
        let inner = zip(&[("data/roster.csv", &roster(&id(6), &id(7)))]);
        let outer = zip(&[
            ("readme.txt", format!("contact {}\n", id(8)).as_bytes()),
            ("inner.zip", &inner),
        ]);
        let r = scan("outer.zip", &outer, &Limits::default());
        assert_eq!(locate(&r, &id(8)), (Some("readme.txt".into()), 1));
        assert_eq!(
            locate(&r, &id(7)),
            (Some("inner.zip!data/roster.csv".into()), 3)
        );
        assert!(r.skips.is_empty(), "{:?}", r.skips);
    }

    #[test]
    fn gzip_in_zip_adds_no_element() {
        let log = gz(format!("a\nb\nc\nuser {}\n", id(9)).as_bytes());
        let tgz = gz(&tar(&[(
            "etc/users.txt",
            format!("{}\n", id(10)).as_bytes(),
        )]));
        let data = zip(&[("logs/app.log.gz", &log), ("backup.tgz", &tgz)]);
        let r = scan("share.zip", &data, &Limits::default());
        assert_eq!(locate(&r, &id(9)), (Some("logs/app.log.gz".into()), 4));
        assert_eq!(
            locate(&r, &id(10)),
            (Some("backup.tgz!etc/users.txt".into()), 1)
        );
        assert!(r.skips.is_empty(), "{:?}", r.skips);
    }

    #[test]
    fn tar_and_tar_gz() {
        let data = tar(&[
            (
                "logs/app.log",
                format!("start\nphone\nid {}\n", id(11)).as_bytes(),
            ),
            ("data/roster.csv", &roster(&id(12), &id(13))),
        ]);
        assert!(is_tar(&data));
        for (name, bytes) in [("backup.tar", data.clone()), ("backup.tar.gz", gz(&data))] {
            let r = scan(name, &bytes, &Limits::default());
            assert_eq!(locate(&r, &id(11)), (Some("logs/app.log".into()), 3));
            assert_eq!(locate(&r, &id(13)), (Some("data/roster.csv".into()), 3));
            assert!(r.skips.is_empty(), "{name}: {:?}", r.skips);
        }
        let r = scan("backup.tgz", &gz(&data), &Limits::default());
        assert_eq!(locate(&r, &id(12)), (Some("data/roster.csv".into()), 2));
    }

    #[test]
    fn tar_truncated_member_is_a_skip() {
        let data = tar(&[
            ("a.txt", format!("{}\n", id(14)).as_bytes()),
            ("b.txt", &vec![b'x'; 4000]),
        ]);
        let r = scan("t.tar", &data[..1024 + 512 + 1000], &Limits::default());
        assert_eq!(locate(&r, &id(14)), (Some("a.txt".into()), 1));
        assert_eq!(r.skips, [skip("b.txt", "tar member truncated")]);
    }

    #[test]
    fn encrypted_zip_member_is_skipped() {
        let plain = format!("{}\n", id(15));
        let mut data = zip_with(
            CompressionMethod::Stored,
            &[
                ("secret.txt", b"hidden text"),
                ("plain.txt", plain.as_bytes()),
            ],
        );
        // Set "encrypted" (bit 0 of the general purpose flags) on the first
        // member, in its local header and its central directory entry.
        data[6] |= 1;
        let central = data.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        data[central + 8] |= 1;
        let r = scan("x.zip", &data, &Limits::default());
        assert_eq!(r.skips, [skip("secret.txt", "encrypted member")]);
        assert!(r.containing("hidden").is_empty());
        assert_eq!(locate(&r, &id(15)), (Some("plain.txt".into()), 1));

        let outer = zip(&[("inner.zip", &data)]);
        let r = scan("outer.zip", &outer, &Limits::default());
        assert_eq!(r.skips, [skip("inner.zip!secret.txt", "encrypted member")]);
        assert_eq!(locate(&r, &id(15)), (Some("inner.zip!plain.txt".into()), 1));
    }

    #[test]
    fn compression_ratio_guard() {
        let mut bomb = vec![b' '; 10 << 20];
        bomb.extend(id(16).as_bytes());
        // Small and very compressible: scanned all the same.
        let mut small = vec![b' '; 100_000];
        small.extend(id(17).as_bytes());
        let data = zip(&[("spaces.txt", &bomb), ("small.txt", &small)]);
        let r = scan("x.zip", &data, &Limits::default());
        assert_eq!(
            r.skips,
            [skip("spaces.txt", "compression ratio above 100:1")]
        );
        assert!(r.containing(&id(16)).is_empty());
        assert_eq!(locate(&r, &id(17)), (Some("small.txt".into()), 1));

        let r = scan("spaces.txt.gz", &gz(&bomb), &Limits::default());
        assert_eq!(r.skips, [skip("", "compression ratio above 100:1")]);
        assert!(r.units.is_empty());

        let relaxed = Limits {
            max_ratio: 100_000,
            ..Limits::default()
        };
        let r = scan("x.zip", &data, &relaxed);
        assert_eq!(locate(&r, &id(16)), (Some("spaces.txt".into()), 1));
        assert!(r.skips.is_empty());
    }

    #[test]
    fn bounded_read_does_not_trust_declared_sizes() {
        let limits = Limits::default();
        let budget = Budget::new(1 << 30);
        // A stream that lies about its size: endless output.
        let endless = io::repeat(b'a');
        let got = read_bounded(endless, ratio_cap(1000, &limits), Some(10), &budget);
        assert!(matches!(got, Bounded::OverRatio), "{got:?}");
        // Everything decompressed was charged.
        assert_eq!(budget.remaining(), (1 << 30) - (RATIO_FLOOR + 1));

        let budget = Budget::new(5000);
        let got = read_bounded(io::repeat(b'a'), ratio_cap(1 << 30, &limits), None, &budget);
        assert!(matches!(got, Bounded::OverBudget), "{got:?}");
        assert_eq!(budget.remaining(), 0);

        let budget = Budget::new(5000);
        let got = read_bounded(&b"abc"[..], ratio_cap(3, &limits), Some(1), &budget);
        assert!(
            matches!(got, Bounded::Whole(ref v) if v == b"abc"),
            "{got:?}"
        );
        assert_eq!(budget.remaining(), 4997);

        // A declared size over a limit refuses without reading.
        let budget = Budget::new(5000);
        let got = read_bounded(&b"abc"[..], ratio_cap(3, &limits), Some(6000), &budget);
        assert!(matches!(got, Bounded::OverBudget), "{got:?}");
        assert_eq!(budget.remaining(), 5000);
    }

    #[test]
    fn depth_limit() {
        let z4 = zip(&[("deep.txt", format!("{}\n", id(18)).as_bytes())]);
        let z3 = zip(&[
            ("level3.txt", format!("{}\n", id(19)).as_bytes()),
            ("z4.zip", &z4),
        ]);
        let z2 = zip(&[("z3.zip", &z3)]);
        let outer = zip(&[("z2.zip", &z2)]);
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        let r = scan("outer.zip", &outer, &limits);
        assert_eq!(
            locate(&r, &id(19)),
            (Some("z2.zip!z3.zip!level3.txt".into()), 1)
        );
        assert!(r.containing(&id(18)).is_empty());
        assert_eq!(
            r.skips,
            [skip(
                "z2.zip!z3.zip!z4.zip",
                "nested deeper than 3 archives"
            )]
        );

        // A gzip stream shares the level of its content.
        let tgz = gz(&tar(&[("z3.zip", &z3)]));
        let r = scan("outer.zip", &zip(&[("z2.tgz", &tgz)]), &limits);
        assert_eq!(
            locate(&r, &id(19)),
            (Some("z2.tgz!z3.zip!level3.txt".into()), 1)
        );
        assert_eq!(
            r.skips,
            [skip(
                "z2.tgz!z3.zip!z4.zip",
                "nested deeper than 3 archives"
            )]
        );
    }

    #[test]
    fn gzip_in_gzip_counts_as_a_level() {
        let mut data = format!("{}\n", id(20)).into_bytes();
        for _ in 0..3 {
            data = gz(&data);
        }
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        assert_eq!(locate(&scan("x.gz", &data, &limits), &id(20)), (None, 1));
        let r = scan("x.gz", &gz(&data), &limits);
        assert!(r.units.is_empty());
        assert_eq!(r.skips, [skip("", "nested deeper than 3 archives")]);
    }

    #[test]
    fn binary_members_are_told_by_their_head_and_not_charged() {
        let limits = Limits {
            max_archive_bytes: 10_000,
            ..Limits::default()
        };
        let binary = |magic: &[u8]| {
            let mut data = magic.to_vec();
            data.extend((0..50_000u32).map(|i| (i * 7919 % 251) as u8));
            data
        };
        let (photo, pdf) = (binary(b"\xff\xd8\xff\xe0"), binary(b"%PDF-1.7\n"));
        let text = format!("{}\n", id(26));
        let members: [(&str, &[u8]); 3] = [
            ("photo.jpg", &photo),
            ("doc.pdf", &pdf),
            ("a.txt", text.as_bytes()),
        ];
        // Each binary member is five times the budget: read whole, they
        // would be refused, and the text after them too.
        for (name, data) in [
            ("x.zip", zip_with(CompressionMethod::Stored, &members)),
            ("x.tar", tar(&members)),
        ] {
            let r = scan(name, &data, &limits);
            assert_eq!(locate(&r, &id(26)), (Some("a.txt".into()), 1), "{name}");
            assert!(r.skips.is_empty(), "{name}: {:?}", r.skips);
        }
        // Not read past the head: a gzip stream of a PDF that is corrupt
        // in its second half is the PDF, not a damaged stream.
        let mut big = b"%PDF-1.7\n".to_vec();
        let mut state = 1u32;
        big.extend((0..1 << 20).map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (state >> 24) as u8
        }));
        let mut packed = gz(&big);
        let cut = packed.len() / 2;
        packed[cut..].fill(0xAA);
        let mut recorder = Recorder::default();
        let got = extract("doc.pdf.gz", &packed, &Limits::default(), 0, &mut recorder);
        assert!(matches!(got, Extracted::Binary(_)), "{got:?}");
        assert!(recorder.skips.is_empty(), "{:?}", recorder.skips);
    }

    #[test]
    fn budget_is_shared_across_levels() {
        let limits = Limits {
            max_archive_bytes: 10_000,
            ..Limits::default()
        };
        let reason = "archive size limit reached (10000 bytes uncompressed)";
        let pad = |n: usize, tail: &str| {
            let mut v = vec![b'x'; n];
            v.extend(format!("\n{tail}\n").as_bytes());
            v
        };
        // Honest headers: the member that does not fit is skipped, the
        // ones after it that fit are scanned.
        let data = zip_with(
            CompressionMethod::Stored,
            &[
                ("a.txt", &pad(4000, &id(21))),
                ("big.txt", &pad(8000, &id(22))),
                ("c.txt", &pad(3000, &id(23))),
            ],
        );
        let r = scan("x.zip", &data, &limits);
        assert_eq!(locate(&r, &id(21)), (Some("a.txt".into()), 2));
        assert!(r.containing(&id(22)).is_empty());
        assert_eq!(locate(&r, &id(23)), (Some("c.txt".into()), 2));
        assert_eq!(r.skips, [skip("big.txt", reason)]);

        // The inner archive draws on the outer one's budget: alone, each
        // archive fits in 10 000 bytes; together they do not.
        let inner = zip(&[
            ("second.txt", &pad(4000, &id(24))),
            ("third.txt", &pad(4000, &id(25))),
        ]);
        let outer = zip_with(
            CompressionMethod::Stored,
            &[("first.txt", &pad(3000, &id(26))), ("inner.zip", &inner)],
        );
        let r = scan("outer.zip", &outer, &limits);
        assert_eq!(locate(&r, &id(26)), (Some("first.txt".into()), 2));
        assert_eq!(
            locate(&r, &id(24)),
            (Some("inner.zip!second.txt".into()), 2)
        );
        assert!(r.containing(&id(25)).is_empty());
        assert_eq!(r.skips, [skip("inner.zip!third.txt", reason)]);

        // A gzip stream is charged too.
        let r = scan("x.log.gz", &gz(&pad(20_000, &id(27))), &limits);
        assert!(r.units.is_empty());
        assert_eq!(r.skips, [skip("", reason)]);
    }

    #[test]
    fn hostile_names_are_only_strings() {
        let text = format!("{}\n", id(28));
        let data = zip(&[("../../etc/passwd", text.as_bytes())]);
        let r = scan("x.zip", &data, &Limits::default());
        assert_eq!(locate(&r, &id(28)), (Some("../../etc/passwd".into()), 1));
        let data = tar(&[("../../etc/shadow", text.as_bytes())]);
        let r = scan("x.tar", &data, &Limits::default());
        assert_eq!(locate(&r, &id(28)), (Some("../../etc/shadow".into()), 1));
    }

    #[test]
    fn binary_members_are_ignored_silently() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend([0u8; 64]);
        let text = format!("{}\n", id(29));
        let data = zip(&[
            ("pic.png", &png),
            ("pic.png.gz", &gz(&png)),
            ("a.txt", text.as_bytes()),
        ]);
        let r = scan("x.zip", &data, &Limits::default());
        assert_eq!(r.units.len(), 1);
        assert!(r.skips.is_empty(), "{:?}", r.skips);
    }

    #[test]
    fn member_encoding_is_forwarded() {
        let text = format!("姓名 张三 身份证 {}\n", id(30));
        let (gbk, _, _) = encoding_rs::GB18030.encode(&text);
        let data = zip(&[("export.txt", &gbk)]);
        let r = scan("x.zip", &data, &Limits::default());
        assert_eq!(r.encodings, ["GB18030"]);
        assert_eq!(locate(&r, &id(30)), (Some("export.txt".into()), 1));
    }

    #[test]
    fn corrupt_zip_is_a_skip() {
        let r = scan("x.zip", b"PK\x03\x04 not really a zip", &Limits::default());
        assert!(r.units.is_empty());
        assert_eq!(r.skips.len(), 1);
        assert_eq!(r.skips[0].0, "");
        assert!(
            r.skips[0].1.starts_with("corrupt zip archive: "),
            "{:?}",
            r.skips
        );
    }

    #[test]
    fn unsupported_compression_is_a_skip() {
        let text = format!("{}\n", id(31));
        let mut data = zip_with(CompressionMethod::Stored, &[("a.txt", text.as_bytes())]);
        // Method 14 (LZMA), which this build does not decompress, in the
        // local header and the central directory.
        data[8] = 14;
        let central = data.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        data[central + 10] = 14;
        let r = scan("x.zip", &data, &Limits::default());
        assert!(r.units.is_empty());
        assert_eq!(
            r.skips,
            [skip("a.txt", "unsupported compression method: LZMA")]
        );
    }

    #[test]
    fn damaged_archives_never_panic() {
        let text = roster(&id(32), &id(33));
        let inner = zip(&[("r.csv", &text)]);
        let samples = [
            zip(&[("r.csv", &text), ("inner.zip", &inner)]),
            tar(&[("r.csv", &text), ("inner.zip", &inner)]),
            gz(&tar(&[("r.csv", &text)])),
        ];
        for (name, data) in ["x.zip", "x.tar", "x.tgz"].iter().zip(&samples) {
            for cut in (0..data.len()).step_by(7) {
                let mut r = Recorder::default();
                extract(name, &data[..cut], &Limits::default(), 0, &mut r);
            }
            let mut rng = Rng::new(99);
            for _ in 0..300 {
                let mut damaged = data.clone();
                for _ in 0..4 {
                    let at = rng.below(damaged.len() as u64) as usize;
                    damaged[at] = rng.below(256) as u8;
                }
                let mut r = Recorder::default();
                extract(name, &damaged, &Limits::default(), 0, &mut r);
            }
        }
    }

    /// Text of `lines` lines of random hex (which compresses about 2:1),
    /// with `planted` values on the given lines.
    fn hex_lines(lines: usize, planted: &[(usize, String)]) -> Vec<u8> {
        let mut rng = Rng::new(7);
        let mut out = Vec::with_capacity(lines * 65);
        for n in 1..=lines {
            match planted.iter().find(|(line, _)| *line == n) {
                Some((_, value)) => out.extend(format!("value {value} here\n").as_bytes()),
                None => {
                    for _ in 0..4 {
                        out.extend(format!("{:016x}", rng.next_u64()).as_bytes());
                    }
                    out.push(b'\n');
                }
            }
        }
        out
    }

    #[test]
    fn a_member_over_the_hold_limit_is_streamed_whatever_the_budget() {
        // 24 MiB of text: more than is held, and more than the budget.
        let lines = (24 << 20) / 65;
        let middle = (HOLD_MAX / 65) + 3;
        let planted = [(1, id(40)), (middle, id(41)), (lines, id(42))];
        let big = hex_lines(lines, &planted);
        assert!(big.len() > HOLD_MAX + (4 << 20));
        let mut rows = b"name,id_no\n".to_vec();
        for n in 0..(HOLD_MAX / 30) {
            rows.extend(format!("user{n},{:020}\n", n).as_bytes());
        }
        rows.extend(format!("last,{}\n", id(43)).as_bytes());
        let nested = zip(&[("n.txt", &hex_lines((3 << 20) / 65, &[]))]);
        let data = zip(&[
            ("logs/app.log", &big),
            ("roster.csv", &rows),
            ("nested.zip", &nested),
        ]);
        let limits = Limits {
            max_archive_bytes: 2 << 20,
            ..Limits::default()
        };
        let r = scan("x.zip", &data, &limits);
        let member = Some("logs/app.log".to_string());
        assert_eq!(locate(&r, &id(40)), (member.clone(), 1));
        assert_eq!(locate(&r, &id(41)), (member.clone(), middle as u64));
        assert_eq!(locate(&r, &id(42)), (member, lines as u64));
        // The text came in several units, of whole lines.
        let units: Vec<_> = r
            .units
            .iter()
            .filter(|u| u.member.as_deref() == Some("logs/app.log"))
            .collect();
        assert!(units.len() > 4, "{}", units.len());
        assert!(units.iter().all(|u| u.col == 1 && u.text.ends_with('\n')));
        let found = r.containing(&id(43));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].member.as_deref(), Some("roster.csv"));
        assert_eq!(found[0].field.as_deref(), Some("id_no"));
        assert_eq!(
            found[0].line,
            Some(rows.iter().filter(|&&b| b == b'\n').count() as u64)
        );
        // Streamed members hold nothing and are not charged; the nested
        // zip is held, and leaves too little for its member.
        assert_eq!(r.skips, [skip("nested.zip!n.txt", &budget_reason(&limits))]);
    }

    #[test]
    fn a_long_member_read_in_place_is_spilled_under_the_budget() {
        let lines = (HOLD_MAX + (1 << 20)) / 65;
        let big = hex_lines(lines, &[(lines, id(44))]);
        let inner = zip_with(CompressionMethod::Stored, &[("deep.log", &big)]);
        let data = zip(&[("inner.zip", &inner)]);
        let r = scan("x.zip", &data, &Limits::default());
        assert_eq!(
            locate(&r, &id(44)),
            (Some("inner.zip!deep.log".into()), lines as u64)
        );
        assert!(r.skips.is_empty(), "{:?}", r.skips);
        // Cut short in a tar: what was written is read (a zip without its
        // directory: corrupt), then the cut is reported.
        let packed = tar(&[("inner.zip", &inner)]);
        let r = scan("x.tar", &packed[..HOLD_MAX + (1 << 19)], &Limits::default());
        assert!(r.units.is_empty());
        assert_eq!(r.skips.len(), 2, "{:?}", r.skips);
        assert_eq!(r.skips[0].0, "inner.zip");
        assert!(
            r.skips[0].1.starts_with("corrupt zip archive"),
            "{:?}",
            r.skips
        );
        assert_eq!(r.skips[1], skip("inner.zip", "tar member truncated"));
        // Charged as a member held: the head alone is over this budget.
        let limits = Limits {
            max_archive_bytes: HOLD_MAX as u64 + 2,
            ..Limits::default()
        };
        let r = scan("x.zip", &data, &limits);
        assert!(r.units.is_empty());
        assert_eq!(r.skips, [skip("inner.zip", &budget_reason(&limits))]);
        let limits = Limits {
            max_archive_bytes: HOLD_MAX as u64 - 1,
            ..Limits::default()
        };
        let r = scan("x.zip", &data, &limits);
        assert!(r.units.is_empty());
        assert_eq!(r.skips, [skip("inner.zip", &budget_reason(&limits))]);
    }

    #[test]
    fn a_tar_member_over_the_hold_limit_is_streamed() {
        let lines = (HOLD_MAX + (2 << 20)) / 65;
        let big = hex_lines(lines, &[(2, id(45)), (lines - 1, id(46))]);
        let data = tar(&[
            ("big.log", &big),
            ("after.txt", format!("{}\n", id(47)).as_bytes()),
        ]);
        for (name, data) in [("x.tar", data.clone()), ("x.tgz", gz(&data))] {
            let r = scan(name, &data, &Limits::default());
            assert_eq!(locate(&r, &id(45)), (Some("big.log".into()), 2), "{name}");
            assert_eq!(
                locate(&r, &id(46)),
                (Some("big.log".into()), lines as u64 - 1)
            );
            assert_eq!(locate(&r, &id(47)), (Some("after.txt".into()), 1));
            assert!(r.skips.is_empty(), "{name}: {:?}", r.skips);
        }
        // Cut inside the big member: scanned as far as it goes.
        let r = scan("x.tar", &data[..HOLD_MAX + (1 << 20)], &Limits::default());
        assert_eq!(locate(&r, &id(45)), (Some("big.log".into()), 2));
        assert_eq!(r.skips, [skip("big.log", "tar member truncated")]);
    }

    /// A gzip stream of `data` stored without compression.
    fn gz_stored(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::none());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn long_tar_and_gzip_members_are_streamed_not_held() {
        let lines = (HOLD_MAX + (1 << 20)) / 65;
        let log = hex_lines(lines, &[(2, id(50)), (lines, id(51))]);
        let backup = tar(&[
            ("var/log/app.log", &log),
            ("etc/users.csv", &roster(&id(52), &id(53))),
        ]);
        let samples = [
            ("backup.tar", backup.clone(), "backup.tar!var/log/app.log"),
            (
                "backup.tar.gz",
                gz_stored(&backup),
                "backup.tar.gz!var/log/app.log",
            ),
            ("logs/app.log.gz", gz_stored(&log), "logs/app.log.gz"),
        ];
        // Far too small a budget to hold any of them: streamed, they hold
        // nothing, and only the small roster is charged.
        let limits = Limits {
            max_archive_bytes: 1 << 20,
            ..Limits::default()
        };
        for (name, member, log_member) in &samples {
            assert!(member.len() > HOLD_MAX);
            let after = format!("{}\n", id(54));
            let data = zip_with(
                CompressionMethod::Stored,
                &[(name, member), ("after.txt", after.as_bytes())],
            );
            let r = scan("x.zip", &data, &limits);
            let log_member = Some(log_member.to_string());
            assert_eq!(locate(&r, &id(50)), (log_member.clone(), 2), "{name}");
            assert_eq!(locate(&r, &id(51)), (log_member, lines as u64), "{name}");
            if name.contains("tar") {
                let users = Some(format!("{name}!etc/users.csv"));
                assert_eq!(locate(&r, &id(53)), (users, 3), "{name}");
            }
            assert_eq!(locate(&r, &id(54)), (Some("after.txt".into()), 1));
            assert!(r.skips.is_empty(), "{name}: {:?}", r.skips);
        }
        // Nesting depth counts as when they are held.
        let limits = Limits {
            max_depth: 1,
            ..Limits::default()
        };
        let small = tar(&[("etc/users.csv", &roster(&id(52), &id(53)))]);
        for (name, member) in [
            ("b.tar", &backup),
            ("b.tar", &small),
            ("b.tgz", &gz_stored(&backup)),
            ("b.tgz", &gz_stored(&small)),
        ] {
            let data = zip_with(CompressionMethod::Stored, &[(name, member)]);
            let r = scan("x.zip", &data, &limits);
            assert!(r.units.is_empty(), "{name}");
            assert_eq!(r.skips, [skip(name, "nested deeper than 1 archives")]);
        }
    }

    #[test]
    fn a_bad_checksum_after_a_streamed_tar_is_reported() {
        let lines = (HOLD_MAX + (1 << 20)) / 65;
        let log = hex_lines(lines, &[(2, id(57))]);
        let mut packed = gz(&tar(&[("app.log", &log)]));
        // The CRC-32 in the trailer, read only after the tar's end marker.
        let crc = packed.len() - 8;
        packed[crc] ^= 0xff;
        let r = scan("x.tgz", &packed, &Limits::default());
        assert_eq!(locate(&r, &id(57)), (Some("app.log".into()), 2));
        assert_eq!(r.skips.len(), 1, "{:?}", r.skips);
        assert_eq!(r.skips[0].0, "");
        assert!(
            r.skips[0].1.starts_with("after the tar archive: ")
                && r.skips[0].1.contains("checksum"),
            "{:?}",
            r.skips
        );
    }

    #[test]
    fn streamed_gzip_content_is_under_a_ratio_guard() {
        // Past an honest start, a stream of zeros far above the ratio.
        let lines = (HOLD_MAX + (1 << 20)) / 65;
        let mut packed = gz_stored(&hex_lines(lines, &[(2, id(55))]));
        packed.extend(gz(&vec![0u8; 64 << 20]));
        let limits = Limits {
            max_ratio: 2,
            ..Limits::default()
        };
        let after = format!("{}\n", id(56));
        let data = zip_with(
            CompressionMethod::Stored,
            &[("a.log.gz", &packed), ("after.txt", after.as_bytes())],
        );
        let r = scan("x.zip", &data, &limits);
        assert_eq!(locate(&r, &id(55)), (Some("a.log.gz".into()), 2));
        assert_eq!(locate(&r, &id(56)), (Some("after.txt".into()), 1));
        assert_eq!(r.skips.len(), 1, "{:?}", r.skips);
        assert_eq!(r.skips[0].0, "a.log.gz");
        assert!(
            r.skips[0].1.starts_with(&ratio_reason(&limits)),
            "{:?}",
            r.skips
        );
    }

    #[test]
    fn capped_reader_fails_past_its_limit() {
        let mut capped = Capped::new(io::repeat(b'a'), 10_000, "too much".into());
        let mut out = Vec::new();
        let err = capped.read_to_end(&mut out).unwrap_err();
        assert_eq!(err.to_string(), "too much");
        assert!(capped.over);
        assert!(
            out.len() > 10_000 && out.len() < 10_000 + (64 << 10),
            "{}",
            out.len()
        );
        let mut capped = Capped::new(&b"abc"[..], 3, "too much".into());
        let mut out = Vec::new();
        capped.read_to_end(&mut out).unwrap();
        assert_eq!(
            (out.as_slice(), capped.produced, capped.over),
            (&b"abc"[..], 3, false)
        );
    }

    #[test]
    fn gzip_content_over_the_hold_limit_is_streamed() {
        let lines = (HOLD_MAX + (1 << 20)) / 65;
        let log = hex_lines(lines, &[(3, id(48)), (lines, id(49))]);
        let packed = gz(&log);
        // The compressed member is held and charged; its content is not.
        let limits = Limits {
            max_archive_bytes: packed.len() as u64 + 100,
            ..Limits::default()
        };
        let data = tar(&[("logs/app.log.1.gz", &packed)]);
        let r = scan("rotated.tar", &data, &limits);
        let member = Some("logs/app.log.1.gz".to_string());
        assert_eq!(locate(&r, &id(48)), (member.clone(), 3));
        assert_eq!(locate(&r, &id(49)), (member, lines as u64));
        assert!(r.skips.is_empty(), "{:?}", r.skips);
        // A gzip file on its own, cut short: scanned as far as it decodes.
        let r = scan(
            "app.log.gz",
            &packed[..packed.len() - 1000],
            &Limits::default(),
        );
        assert_eq!(locate(&r, &id(48)), (None, 3));
        assert_cut_short(&r);
    }

    /// A zip of `n` members `m0.txt` …, each holding one ID (deflated and
    /// stored by turns), with a directory `d/` after the third.
    fn numbered_zip(n: u64) -> Vec<u8> {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..n {
            let method = if i % 2 == 0 {
                CompressionMethod::Deflated
            } else {
                CompressionMethod::Stored
            };
            let options = SimpleFileOptions::default().compression_method(method);
            if i == 3 {
                writer.add_directory("d/", options).unwrap();
            }
            writer.start_file(format!("m{i}.txt"), options).unwrap();
            writer
                .write_all(format!("{}\n", id(1000 + i)).as_bytes())
                .unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn scan_sliced(data: &[u8], slice_entries: u64) -> Recorder {
        let mut recorder = Recorder::default();
        let (len, limits) = (data.len() as u64, Limits::default());
        extract_zip_sliced(
            Cursor::new(data),
            len,
            &limits,
            0,
            &mut recorder,
            slice_entries,
        );
        recorder
    }

    fn members(r: &Recorder) -> Vec<String> {
        r.units.iter().filter_map(|u| u.member.clone()).collect()
    }

    fn member_names(n: u64) -> Vec<String> {
        (0..n).map(|i| format!("m{i}.txt")).collect()
    }

    #[test]
    fn zip_directories_are_read_in_slices() {
        let data = numbered_zip(40);
        let whole = scan_sliced(&data, u64::MAX);
        assert_eq!(members(&whole), member_names(40));
        assert_eq!(locate(&whole, &id(1039)), (Some("m39.txt".into()), 1));
        for slice in [1, 3, 7, 39, 40] {
            let r = scan_sliced(&data, slice);
            assert_eq!(r.units, whole.units, "slices of {slice}");
            assert!(r.skips.is_empty(), "{:?}", r.skips);
        }
        // What the crate finds opening the archive whole.
        let limits = Limits::default();
        let mut direct = Recorder::default();
        let budget = budget_of(&direct, &limits);
        let mut archive = ZipArchive::new(Cursor::new(&data)).unwrap();
        let len = data.len() as u64;
        extract_zip_members(&mut archive, len, &limits, 0, &budget, &mut direct);
        assert_eq!(direct.units, whole.units);
        let directory = zip_directory::locate(&mut Cursor::new(&data), len).unwrap();
        assert_eq!(directory.start, archive.central_directory_start());
        assert_eq!((directory.end(), directory.offset), (len - 22, 0));
    }

    #[test]
    fn a_slice_view_is_the_archive_up_to_the_slice_then_end_records() {
        let data = numbered_zip(6);
        let mut cursor = Cursor::new(&data);
        let directory = zip_directory::locate(&mut cursor, data.len() as u64).unwrap();
        let slice = zip_directory::measure(&mut cursor, directory.start, directory.end(), 2);
        let (bytes, entries) = slice.unwrap().unwrap();
        assert_eq!(entries, 2);
        let view = |data| {
            zip_directory::Slice::new(
                Cursor::new(data),
                &directory,
                directory.start,
                bytes,
                entries,
            )
        };
        let mut all = Vec::new();
        view(&data).read_to_end(&mut all).unwrap();
        let cut = (directory.start + bytes) as usize;
        assert_eq!(all[..cut], data[..cut]);
        assert_eq!(all.len(), cut + 56 + 20 + 22);
        // Read across the cut after seeking back from the end.
        let mut slice = view(&data);
        slice.seek(SeekFrom::End(-(56 + 20 + 22) - 3)).unwrap();
        let mut six = [0; 6];
        slice.read_exact(&mut six).unwrap();
        assert_eq!(six[..3], data[cut - 3..cut]);
        assert_eq!(&six[3..], b"PK\x06");
        assert!(slice.seek(SeekFrom::Current(-10_000)).is_err());
        // The crate, detecting everything itself, sees the slice alone.
        let archive = ZipArchive::new(view(&data)).unwrap();
        assert_eq!(archive.len(), 2);
        assert_eq!(archive.name_for_index(1), Some("m1.txt"));
    }

    #[test]
    fn a_zip_after_a_stub_is_read_in_slices() {
        let mut data = b"#!/bin/sh\nexec unzip \"$0\"\n".repeat(40);
        let stub = data.len();
        let archive = numbered_zip(20);
        data.extend_from_slice(&archive);
        let len = data.len() as u64;
        let directory = zip_directory::locate(&mut Cursor::new(&data), len).unwrap();
        assert_eq!(directory.offset, stub as u64);
        let alone = scan_sliced(&archive, u64::MAX);
        assert_eq!(members(&alone), member_names(20));
        for slice in [1, 6, u64::MAX] {
            let r = scan_sliced(&data, slice);
            assert_eq!(r.units, alone.units, "slices of {slice}");
            assert!(r.skips.is_empty(), "{:?}", r.skips);
        }
    }

    #[test]
    fn a_zip64_directory_is_read_in_slices() {
        // Over 65 535 entries: the writer adds ZIP64 end records.
        let n = 70_000;
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
        for i in 0..n {
            writer.start_file(format!("{i}"), options).unwrap();
            if i == n - 1 {
                writer.write_all(id(77).as_bytes()).unwrap();
            }
        }
        let archive = writer.finish().unwrap().into_inner();
        assert!(archive.windows(4).any(|w| w == b"PK\x06\x06"));
        // Also behind a stub, which moves every recorded offset.
        let stubbed = [&b"MZ stub "[..], &archive].concat();
        for data in [archive, stubbed] {
            let len = data.len() as u64;
            let directory = zip_directory::locate(&mut Cursor::new(&data), len).unwrap();
            assert_eq!(directory.end(), len - 56 - 20 - 22);
            let r = scan_sliced(&data, zip_directory::SLICE_ENTRIES);
            assert_eq!(locate(&r, &id(77)), (Some(format!("{}", n - 1)), 1));
            assert!(r.skips.is_empty(), "{:?}", r.skips);
        }
    }

    #[test]
    fn a_broken_directory_entry_ends_the_archive_after_the_entries_before_it() {
        let mut data = numbered_zip(10);
        let len = data.len() as u64;
        let mut cursor = Cursor::new(&data);
        let directory = zip_directory::locate(&mut cursor, len).unwrap();
        // Entries m0, m1, m2, d/, m3, then m4, whose signature breaks.
        let slice = zip_directory::measure(&mut cursor, directory.start, directory.end(), 5);
        let (before, _) = slice.unwrap().unwrap();
        let broken = directory.start + before;
        data[broken as usize] = b'X';
        for slice in [3, u64::MAX] {
            let r = scan_sliced(&data, slice);
            assert_eq!(members(&r), member_names(4), "slices of {slice}");
            let reason =
                format!("corrupt zip archive: no central directory entry at offset {broken}");
            assert_eq!(r.skips, [skip("", &reason)]);
        }
        // Opened whole, the archive gives nothing.
        assert!(ZipArchive::new(Cursor::new(&data)).is_err());
    }

    #[test]
    fn a_document_of_too_many_parts_is_not_read() {
        let document = |parts: u64| {
            let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
            let options =
                SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
            writer.start_file("word/document.xml", options).unwrap();
            writer.write_all(b"<w:document/>").unwrap();
            for i in 1..parts {
                writer
                    .start_file(format!("word/media/{i}.bin"), options)
                    .unwrap();
            }
            writer.finish().unwrap().into_inner()
        };
        let mut r = Recorder::default();
        let limits = Limits::default();
        assert!(document_within_limits(
            &document(MAX_DOCUMENT_PARTS),
            &limits,
            &mut r
        ));
        assert!(r.skips.is_empty(), "{:?}", r.skips);
        let parts = MAX_DOCUMENT_PARTS + 1;
        assert!(!document_within_limits(&document(parts), &limits, &mut r));
        let reason = format!(
            "a document of {parts} parts (more than {MAX_DOCUMENT_PARTS}); the document was not scanned"
        );
        assert_eq!(r.skips, [skip("", &reason)]);
    }

    proptest::proptest! {
        #[test]
        fn damaged_zips_are_read_without_panic(
            from_end in 0usize..1500,
            byte in proptest::prelude::any::<u8>(),
            cut in 0usize..200,
            slice in 1u64..5,
        ) {
            let mut data = numbered_zip(12);
            let at = data.len() - 1 - from_end % data.len();
            data[at] = byte;
            data.truncate(data.len() - cut);
            let r = scan_sliced(&data, slice);
            // A member is found once at most, whatever the damage.
            let mut found = members(&r);
            let all = found.len();
            found.dedup();
            proptest::prop_assert_eq!(found.len(), all);
        }
    }
}
