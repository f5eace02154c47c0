//! The scan: walk → read → sniff → extract → detect → classify → report.
//!
//! Walker threads do all per-file work (reading, decoding, detection,
//! masking) and send one [`FileReport`] per file over a bounded channel to a
//! single reporter thread, which owns the output, the inventory and the
//! progress display. That keeps each file's findings together, output
//! unmixed, and memory bounded by the channel, not by the tree.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{self, BufReader, Read, Seek, Write};
use std::path::Path;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use flate2::read::MultiGzDecoder;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::{Config, FailOn};
use crate::detect::context::{self, Evidence, KindSet};
use crate::detect::custom::CustomDetectors;
use crate::detect::{self, Confidence, Match, Stats};
use crate::exit_codes;
use crate::extract::text::{self, Locator};
use crate::extract::{
    self, archive, json, sql, sqlite, table, Extracted, Format, Limits, Place, Sink, Unit,
};
use crate::report::baseline::{Baseline, BaselineWriter};
use crate::report::inventory::Summary;
use crate::report::output::{human_bytes, scan_line};
use crate::report::{mask, Column, FileReport, Finding, Inventory, Outcome, Output, PartSkip};
use crate::settings::Filter;
use crate::source::{self, sniff, Entry};

mod relay;
mod stream;

/// How files are extracted and findings rendered.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Print values unmasked.
    pub show_values: bool,
    /// Drop findings below this confidence.
    pub min_confidence: Confidence,
    /// Bounds on archives and tables.
    pub limits: Limits,
    /// Kinds, confidences and values not reported (from `piscan.toml`).
    pub filter: Filter,
    /// Threads that scan the blocks of one large file at the same time
    /// (0: one per core).
    pub threads: usize,
    /// Detectors of the custom kinds, run after the builtin scanner on
    /// every unit; `None` (no extra pass) when there are none.
    pub custom: Option<Arc<CustomDetectors>>,
    /// Compute each finding's [`Finding::stable_hash`], the basis of its
    /// fingerprint (SARIF, baselines). A SHA-256 per finding: a scan whose
    /// report has no fingerprints turns it off. On by default.
    pub fingerprints: bool,
    /// Large files being streamed under these options (clones share the
    /// count), so that they share the threads: see `stream::Active`.
    pub streams: Streams,
}

/// A count of the streams of one scan, shared by clones of its
/// [`ScanOptions`].
#[derive(Debug, Clone, Default)]
pub struct Streams(Arc<std::sync::atomic::AtomicUsize>);

impl Default for ScanOptions {
    fn default() -> ScanOptions {
        ScanOptions {
            show_values: false,
            min_confidence: Confidence::default(),
            limits: Limits::default(),
            filter: Filter::default(),
            threads: 0,
            custom: None,
            fingerprints: true,
            streams: Streams::default(),
        }
    }
}

impl ScanOptions {
    /// How many blocks of a large file are scanned at the same time.
    fn block_threads(&self) -> usize {
        match self.threads {
            0 => thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// Where a scan sends its reports: the reporter's channel. Returns false
/// when the reporter is gone (the scan then stops).
pub type Reports<'s> = dyn FnMut(FileReport) -> bool + Send + 's;

/// Findings a file collects before they are sent on as an
/// [`Outcome::Partial`] report, so that memory does not grow with the
/// number of findings in one file (a dump of a million customers).
const FLUSH_FINDINGS: usize = 1024;

/// Room for the findings of a batch after the first: the batch goes once
/// [`FLUSH_FINDINGS`] are reached, after the unit that reached them.
const BATCH_CAPACITY: usize = FLUSH_FINDINGS + FLUSH_FINDINGS / 4;

thread_local! {
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static MATCHES: RefCell<Vec<Match>> = const { RefCell::new(Vec::new()) };
}

/// Most distinct columns counted per file.
const MAX_COLUMNS: usize = 10_000;

/// The names of a place, shared by the findings there (one allocation per
/// column or member and batch of findings sent, not per finding).
///
/// Each batch sent gets copies of its own ([`Names::for_batch`]): the
/// reporter thread drops a batch's findings, and with them a reference to
/// each name, while this thread makes the next batch's. Were the names
/// shared across batches, both threads would write the same reference
/// counts, and the cache line would move between the cores at every
/// finding (5 % of the CPU on a dump where every row holds a value).
#[derive(Debug, Clone, Default)]
struct Names {
    member: Option<Arc<str>>,
    sheet: Option<Arc<str>>,
    table: Option<Arc<str>>,
    field: Option<Arc<str>>,
    /// The batch (see [`Collector::batch`]) these copies were made for.
    batch: u64,
}

impl Names {
    /// Whether these are the names of `place`.
    fn are(&self, place: &Place<'_>) -> bool {
        self.member.as_deref() == place.member
            && self.sheet.as_deref() == place.sheet
            && self.table.as_deref() == place.table
            && self.field.as_deref() == place.field
    }

    /// Makes these the names of `place`, reusing those that are the same.
    fn update(&mut self, place: &Place<'_>) {
        fn keep(slot: &mut Option<Arc<str>>, name: Option<&str>) {
            if slot.as_deref() != name {
                *slot = name.map(Arc::from);
            }
        }
        keep(&mut self.member, place.member);
        keep(&mut self.sheet, place.sheet);
        keep(&mut self.table, place.table);
        keep(&mut self.field, place.field);
    }

    /// These names, copied anew when they were made for an earlier batch.
    fn for_batch(&mut self, batch: u64) -> &Names {
        if self.batch != batch {
            let slots = [
                &mut self.member,
                &mut self.sheet,
                &mut self.table,
                &mut self.field,
            ];
            for name in slots.into_iter().flatten() {
                *name = Arc::from(&**name);
            }
            self.batch = batch;
        }
        self
    }
}

/// The scan loop's [`Sink`]: runs the detectors on every unit and turns
/// matches into findings, column counts and skipped parts.
struct Collector<'m> {
    opts: &'m ScanOptions,
    matches: &'m mut Vec<Match>,
    /// The file's name (for format hints and reports).
    name: &'m str,
    /// Where findings go every [`FLUSH_FINDINGS`]; `None` keeps them all
    /// for the final report.
    flush: Option<&'m mut Reports<'m>>,
    /// The reporter is gone: nothing more is collected.
    gone: bool,
    /// Batches of findings sent so far: the findings of the next one get
    /// names of their own ([`Names::for_batch`]).
    batch: u64,
    /// Candidate counts of the whole file, for [`Stats::implausible`].
    stats: Stats,
    /// Candidate counts per column: a column of order ids whose every tenth
    /// value passes Luhn by chance is judged on its own, even in a dump
    /// whose card column makes the file's rate look plausible.
    column_stats: Vec<Stats>,
    /// Units seen so far (the current unit's ordinal).
    units: u64,
    findings: Vec<Finding>,
    /// Per finding: the ordinal of its unit and its column, if any.
    origins: Vec<(u64, Option<usize>)>,
    /// The last unit whose findings were counted per column, and the kinds
    /// counted for it (a unit's findings may span flushes).
    counted: Option<(u64, KindSet)>,
    /// Column positions by hash of (member, sheet, table, field).
    column_index: HashMap<u64, Vec<usize>>,
    /// Per column, what its name says (computed once per column).
    evidence: Vec<Evidence>,
    /// Per column, its names for findings.
    names: Vec<Names>,
    /// The names of the last finding outside columns.
    loose_names: Names,
    /// The column of the previous value.
    last_column: Option<usize>,
    /// The column a row of the current table starts with: where a value
    /// goes after the last column of its row.
    row_start: Option<usize>,
    column_hasher: std::hash::RandomState,
    skipped_parts: Vec<PartSkip>,
    columns: Vec<Column>,
    encoding: Option<&'static str>,
    /// Where the last unit's findings were located ([`Locator::position`]):
    /// a caller that needs the unit's end counts on from there instead of
    /// counting its lines again (a stream's block, see [`scan_text`]).
    located: Option<(usize, (u64, u64))>,
}

impl<'m> Collector<'m> {
    fn new(
        opts: &'m ScanOptions,
        matches: &'m mut Vec<Match>,
        name: &'m str,
        flush: Option<&'m mut Reports<'m>>,
    ) -> Self {
        Collector {
            opts,
            matches,
            name,
            flush,
            gone: false,
            batch: 0,
            stats: Stats::default(),
            column_stats: Vec::new(),
            units: 0,
            findings: Vec::new(),
            origins: Vec::new(),
            counted: None,
            column_index: HashMap::new(),
            evidence: Vec::new(),
            names: Vec::new(),
            loose_names: Names::default(),
            last_column: None,
            row_start: None,
            column_hasher: std::hash::RandomState::new(),
            skipped_parts: Vec::new(),
            columns: Vec::new(),
            encoding: None,
            located: None,
        }
    }

    /// The column of a value's field, created on first sight. Looked up by a
    /// hash of the borrowed names, so there is no allocation per value and
    /// no slowdown with many distinct fields; a file keeps at most
    /// [`MAX_COLUMNS`] of them (a JSON map keyed by names would otherwise
    /// make one per entry).
    fn column(&mut self, place: &Place<'_>) -> Option<usize> {
        self.lookup(place, true)
    }

    /// [`Self::column`], creating a new column only when `create` (and
    /// there is room for it).
    fn lookup(&mut self, place: &Place<'_>, create: bool) -> Option<usize> {
        let field = place.field?;
        let key = (place.member, place.sheet, place.table, field);
        let same = |c: &Column| {
            (
                c.member.as_deref(),
                c.sheet.as_deref(),
                c.table.as_deref(),
                c.field.as_str(),
            ) == key
        };
        // Rows visit their columns in order: try the one after the last,
        // then the first of the row (after the last column of a table that
        // is not the last one seen).
        let next = self.last_column.map_or(0, |i| i + 1) % self.columns.len().max(1);
        for known in [Some(next), self.row_start].into_iter().flatten() {
            if self.columns.get(known).is_some_and(same) {
                self.last_column = Some(known);
                return Some(known);
            }
        }
        let hash = self.column_hasher.hash_one(key);
        let candidates = self.column_index.entry(hash).or_default();
        let found = candidates.iter().copied().find(|&i| same(&self.columns[i]));
        if create && found.is_none() && self.columns.len() < MAX_COLUMNS {
            candidates.push(self.columns.len());
            self.columns.push(Column {
                member: place.member.map(str::to_string),
                sheet: place.sheet.map(str::to_string),
                table: place.table.map(str::to_string),
                field: field.to_string(),
                ..Column::default()
            });
            let evidence = self.field_evidence(field);
            self.evidence.push(evidence);
            self.column_stats.push(Stats::default());
            let mut names = Names::default();
            names.update(place);
            self.names.push(names);
            if let Some(column) = self.columns.last_mut() {
                column.named = evidence.pro;
            }
            self.last_column = Some(self.columns.len() - 1);
            return self.last_column;
        }
        if found.is_some() {
            self.row_start = found;
        }
        self.last_column = found;
        found
    }

    /// Sends the findings collected so far as a partial report, when there
    /// are enough of them and a place to send them.
    fn maybe_flush(&mut self) {
        if self.findings.len() >= FLUSH_FINDINGS {
            self.flush_now();
        }
    }

    /// Sends the findings collected so far, judged by the statistics rule
    /// on what was seen so far, when findings are sent as they come.
    fn flush_now(&mut self) {
        if self.flush.is_none() {
            return;
        }
        self.finish();
        if let Some(send) = &mut self.flush {
            let report = FileReport {
                path: self.name.to_string(),
                raw_path: None,
                outcome: Outcome::Partial { bytes: 0 },
                // The next batch as large: a file that flushed once is
                // dense, and a vector that grows copies its findings.
                findings: std::mem::replace(&mut self.findings, Vec::with_capacity(BATCH_CAPACITY)),
                skipped_parts: std::mem::take(&mut self.skipped_parts),
                columns: Vec::new(),
            };
            self.gone = !send(report);
            self.batch += 1;
        }
    }

    /// What a field name says, about the builtin and the custom kinds.
    fn field_evidence(&self, field: &str) -> Evidence {
        let builtin = context::in_field(field);
        match &self.opts.custom {
            Some(custom) => builtin.with(custom.in_field(field)),
            None => builtin,
        }
    }

    /// Scans `unit.text[piece]` and makes findings of its matches; `lines`
    /// locates them in the unit.
    fn scan_piece<'t>(
        &mut self,
        unit: &Unit<'t>,
        piece: std::ops::Range<usize>,
        column: Option<usize>,
        evidence: Evidence,
        lines: &mut Option<Option<Locator<'t>>>,
    ) {
        let place = unit.place;
        let (from, text) = (piece.start, &unit.text[piece]);
        self.matches.clear();
        let mut counted = Stats::default();
        detect::scan_counting(text, evidence, self.matches, &mut counted);
        self.stats += counted;
        if let Some(c) = column {
            self.column_stats[c] += counted;
        }
        if let Some(custom) = &self.opts.custom {
            custom.scan(text, evidence, self.matches);
        }
        let opts = self.opts;
        for i in 0..self.matches.len() {
            let m = self.matches[i];
            if m.confidence < opts.min_confidence || !opts.filter.admits(m.kind, m.confidence) {
                continue;
            }
            // A piece of dense text holds 10 000s of findings.
            self.maybe_flush();
            if self.gone {
                return;
            }
            // Builtin matches span ASCII bytes only; a custom kind's are
            // whole characters of the (decoded) text.
            let bytes = &text[m.start..m.end];
            let value = std::str::from_utf8(bytes)
                .map_or_else(|_| String::from_utf8_lossy(bytes), Cow::Borrowed);
            // The raw value is seen here only: allowlisted values are
            // dropped before anything is derived from them.
            if opts.filter.is_allowlisted(m.kind, &value) {
                continue;
            }
            let lines = lines.get_or_insert_with(|| {
                place
                    .start()
                    .map(|(line, col)| Locator::new(unit.text, line, col))
            });
            let (line, col) = match lines.as_mut() {
                Some(counter) => {
                    let (l, c) = counter.locate(from + m.start);
                    (Some(l), Some(c))
                }
                None => (None, None),
            };
            self.origins.push((self.units, column));
            let names = match column {
                Some(c) => &mut self.names[c],
                None => {
                    self.loose_names.update(&place);
                    &mut self.loose_names
                }
            };
            let names = names.for_batch(self.batch);
            self.findings.push(Finding {
                member: names.member.clone(),
                line,
                col,
                sheet: names.sheet.clone(),
                cell: place.cell.map(|(r, c)| extract::a1(r, c)),
                table: names.table.clone(),
                row: place.row,
                field: names.field.clone(),
                kind: m.kind,
                confidence: m.confidence,
                shown: if opts.show_values {
                    compact_str::CompactString::from(&*value)
                } else {
                    mask::mask(m.kind, &value)
                },
                value_hash: mask::value_hash(m.kind, &value),
                stable_hash: opts.fingerprints.then(|| mask::stable_hash(m.kind, &value)),
            });
        }
    }

    /// Drops findings the file's statistics (so far) show to be chance,
    /// and counts per column how many values hold each kind (in place:
    /// the findings are not moved).
    fn finish(&mut self) {
        let (stats, column_stats) = (self.stats, &self.column_stats);
        let columns = &mut self.columns;
        let mut origins = self.origins.drain(..);
        let counted = &mut self.counted;
        self.findings.retain(|f| {
            let (unit, column) = origins.next().unwrap_or_default();
            let chance = f.confidence == Confidence::Medium
                && (stats.implausible(f.kind)
                    || column.is_some_and(|c| column_stats[c].implausible(f.kind)));
            if chance {
                return false;
            }
            if let Some(column) = column {
                let seen = match counted {
                    Some((u, seen)) if *u == unit => seen,
                    _ => &mut counted.insert((unit, KindSet::EMPTY)).1,
                };
                if !seen.contains(f.kind) {
                    seen.insert(f.kind);
                    columns[column].hits[f.kind.index()] += 1;
                }
            }
            true
        });
    }
}

/// Longest piece of a unit scanned at once (see [`Collector::unit`]).
const PIECE: usize = 1 << 20;

/// End of the piece of `text` starting at `from`: the whole rest when it is
/// short, else after the last line break in the second half of [`PIECE`]
/// bytes, or else at [`text::space_cut`] (values do not span those), or
/// else at [`PIECE`] bytes, moved back to the start of a UTF-8 character.
fn piece_end(text: &[u8], from: usize) -> usize {
    let rest = &text[from..];
    if rest.len() <= PIECE {
        return text.len();
    }
    let window = &rest[..PIECE];
    let cut = memchr::memrchr(b'\n', &window[PIECE / 2..])
        .map(|k| PIECE / 2 + k + 1)
        .or_else(|| text::space_cut(window))
        .unwrap_or_else(|| text::char_start(rest, PIECE, PIECE / 2));
    from + cut
}

impl Sink for Collector<'_> {
    fn unit(&mut self, unit: &Unit<'_>) {
        if self.gone {
            return;
        }
        let place = unit.place;
        self.units += 1;
        let column = self.column(&place);
        if let Some(c) = column {
            self.columns[c].values += 1;
        }
        let evidence = match (column, place.field) {
            (Some(c), _) => self.evidence[c],
            (None, Some(field)) => self.field_evidence(field),
            (None, None) => Evidence::default(),
        };
        // Positions are worked out for the first finding only (see
        // `Place::origin`).
        let mut lines: Option<Option<Locator>> = None;
        // A huge unit (a field or string of many MB) is scanned in pieces,
        // its findings sent between them, so that memory does not grow
        // with the findings of one unit.
        let mut from = 0;
        loop {
            let to = piece_end(unit.text, from);
            self.scan_piece(unit, from..to, column, evidence, &mut lines);
            self.maybe_flush();
            if to >= unit.text.len() || self.gone {
                break;
            }
            from = to;
        }
        self.located = lines.flatten().map(|at| at.position());
    }

    /// Rows in which nothing can be a value (by [`detect::may_hold`], which
    /// knows nothing of custom kinds) only add to the counts of their
    /// columns, when those are known already; others (and the first rows
    /// of a table, which make its columns in the order the values come)
    /// are scanned value by value.
    fn rows(&mut self, rows: &extract::sql::Rows<'_>) {
        if self.gone {
            return;
        }
        let sent = || {
            rows.columns
                .iter()
                .zip(rows.sent)
                .filter(|(_, &n)| n > 0)
                .map(|(field, &n)| {
                    let place = Place {
                        table: Some(rows.table),
                        field: Some(field.as_str()),
                        ..Place::default()
                    };
                    (place, n)
                })
        };
        let new_column = sent().any(|(place, _)| {
            self.lookup(&place, false).is_none() && self.columns.len() < MAX_COLUMNS
        });
        if new_column || self.opts.custom.is_some() || detect::may_hold(rows.raw) {
            rows.units(self);
            return;
        }
        for (place, n) in sent() {
            if let Some(c) = self.lookup(&place, false) {
                self.columns[c].values += n;
            }
        }
        self.units += rows.sent.iter().sum::<u64>();
    }

    /// A large text member is scanned as a stream of blocks on every core
    /// ([`stream::scan_stream`]), when findings are sent as they come: its
    /// reports become partial reports of the archive, its findings and
    /// skips under the member chain.
    fn text_stream(&mut self, member: Option<&str>, reader: &mut dyn Read) -> bool {
        if self.flush.is_none() || self.gone {
            return false;
        }
        // What came before goes first: findings stay in order.
        self.flush_now();
        let (opts, name) = (self.opts, self.name.to_string());
        let Some(send) = &mut self.flush else {
            return false;
        };
        let chain: Option<Arc<str>> = member.map(Arc::from);
        let part = member.unwrap_or("").to_string();
        let mut forward = |mut report: FileReport| {
            for finding in &mut report.findings {
                finding.member.clone_from(&chain);
            }
            for skip in &mut report.skipped_parts {
                skip.reason = format!("{} ({})", skip.reason, skip.part);
                skip.part.clone_from(&part);
            }
            if let Outcome::Skipped { reason } = &report.outcome {
                report.skipped_parts.push(PartSkip {
                    part: part.clone(),
                    reason: reason.clone(),
                });
            }
            // The archive's own report counts its bytes.
            report.outcome = Outcome::Partial { bytes: 0 };
            send(report)
        };
        let (block, max_line) = (stream::FILE_BLOCK, stream::MAX_LINE);
        let reader = stream::Filled::new(reader);
        // A member's reader never waits on a writer.
        let live = false;
        self.gone = !stream::scan_stream(reader, name, opts, block, max_line, live, &mut forward);
        true
    }

    fn skip(&mut self, what: &str, reason: &str) {
        self.skipped_parts.push(PartSkip {
            part: what.to_string(),
            reason: reason.to_string(),
        });
    }

    fn encoding(&mut self, name: &'static str) {
        self.encoding.get_or_insert(name);
    }
}

/// Scans the contents of one file (or stdin) named `path` and returns all
/// its findings in one report.
pub fn scan_buffer(data: &[u8], path: String, opts: &ScanOptions) -> FileReport {
    let format = extract::detect_format(&path, data);
    collect(path, opts, None, |collector| {
        extract_whole(data, format, collector)
    })
    .0
}

/// Scans the contents of one file named `path`, of the format
/// [`extract::detect_format`] said of their head, sending its findings to
/// `send` as they are collected: partial reports every 1 024 findings,
/// then the final one. False when the reporter is gone.
fn scan_detected_to(
    format: Result<Format, &'static str>,
    data: &[u8],
    path: String,
    opts: &ScanOptions,
    send: &mut Reports<'_>,
) -> bool {
    let flush = Some(&mut *send);
    let (report, alive) = collect(path, opts, flush, |collector| {
        extract_whole(data, format, collector)
    });
    alive && send(report)
}

/// Extracts a file's whole contents, of the detected `format`, into
/// `collector` (the extraction step of [`collect`] for a file held in
/// memory).
fn extract_whole(
    data: &[u8],
    format: Result<Format, &'static str>,
    collector: &mut Collector<'_>,
) -> (Extracted, u64) {
    let (name, limits) = (collector.name, collector.opts.limits);
    let extracted = extract::extract_detected(format, name, data, &limits, 0, collector);
    (extracted, data.len() as u64)
}

/// Scans `input` as it is read with `extract` (a streaming extractor:
/// [`sql::extract_reader`], [`table::extract_reader`]), sending findings as
/// they are collected. A read error ends the file with its rest listed as
/// skipped. False when the reporter is gone.
fn scan_streamed(
    input: &mut (dyn Read + Send),
    path: String,
    opts: &ScanOptions,
    send: &mut Reports<'_>,
    extract: impl FnOnce(&mut dyn Read, &mut dyn Sink) -> io::Result<()> + Send,
) -> bool {
    let (report, alive) = collect(path, opts, Some(&mut *send), |collector| {
        let mut counted = CountingReader {
            inner: input,
            bytes: 0,
        };
        // Tokenizing on one core, scanning on another.
        let result = if opts.block_threads() > 1 {
            relay::relay(&mut counted, |input, sink| extract(input, sink), collector)
        } else {
            extract(&mut counted, collector)
        };
        if let Err(err) = result {
            let reason = source::read_failure(&err);
            collector.skip(&format!("the rest, after byte {}", counted.bytes), &reason);
        }
        (Extracted::Scanned, counted.bytes)
    });
    alive && send(report)
}

/// How a file is read: whole (in the format its head showed), or as a
/// stream (text as blocks of lines, a dump in the SQL tokenizer's window),
/// possibly through gzip.
enum Plan {
    Whole(Format),
    /// A large SQLite database, opened where it is
    /// ([`sqlite::extract_file`]).
    SqliteInPlace {
        len: u64,
    },
    /// A large SQLite database that cannot be opened where it is (a
    /// truncated one), copied to a temporary file and read there
    /// ([`sqlite::extract_copied`]).
    SqliteCopy {
        rest: File,
        len: u64,
    },
    Stream {
        format: Format,
        gzip: bool,
        rest: File,
        /// The file's size.
        len: u64,
    },
    /// A large `.xlsx`, `.ods` or `.xls` workbook, `.docx` or `.pptx`, read
    /// from the file ([`extract::sheet::extract_reader`], [`extract::office::extract_reader`]).
    DocumentInPlace {
        format: Format,
        /// The file's first bytes (its magic number).
        head: [u8; 8],
        rest: File,
        len: u64,
    },
    /// A large zip or tar archive (`gzip`: a `.tar.gz`), read from the
    /// file one member at a time, not held whole; or a large gzip file
    /// (`format` gzip) whose content is not streamed as lines (a JSON
    /// document, a workbook, a database), decompressed from the file.
    Archive {
        format: Format,
        gzip: bool,
        rest: File,
        len: u64,
    },
}

/// Read buffer of a tar archive read from its file, in one pass.
const ARCHIVE_BUFFER: usize = 256 << 10;

/// Read buffer of a zip archive read from its file. The reader seeks to
/// every member, which empties the buffer: a large one would read far
/// more than a jar's many small members hold.
const ZIP_BUFFER: usize = 8 << 10;

/// The format inside a gzip file named `name` whose first compressed bytes
/// are `head`, when it can be streamed (plain text, a SQL dump, CSV, JSON
/// lines, a tar archive); an error when its content is binary, which is
/// then not decompressed further (as a binary file is not read on).
fn streamable_gzip(name: &str, head: &[u8]) -> Result<Option<Format>, &'static str> {
    let mut inner = Vec::new();
    // A head cut mid-stream fails to decode further: keep what it gave.
    let _ = MultiGzDecoder::new(head)
        .take(sniff::SNIFF_LEN as u64)
        .read_to_end(&mut inner);
    if inner.is_empty() {
        // Empty or corrupt from the start: the archive reader reports it.
        return Ok(None);
    }
    let format = extract::detect_format(&archive::gzip_inner_name(name), &inner)?;
    Ok(matches!(
        format,
        Format::Text | Format::SqlDump | Format::Csv | Format::JsonLines | Format::Tar
    )
    .then_some(format))
}

/// Scans standard input that is no lines of text (an archive, a workbook,
/// a database), read from `input` as an archive member would be
/// ([`archive::extract_input`]): never held whole past the member limits.
fn scan_input(input: impl Read, path: String, opts: &ScanOptions, send: &mut Reports<'_>) -> bool {
    let name = path.clone();
    let (report, alive) = collect(path, opts, Some(&mut *send), |collector| {
        let mut counted = CountingReader {
            inner: input,
            bytes: 0,
        };
        let extracted = archive::extract_input(&name, &mut counted, &opts.limits, collector);
        (extracted, counted.bytes)
    });
    alive && send(report)
}

/// A reader that counts the bytes it returned.
struct CountingReader<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Runs `extract` (which returns what the file was and its size) into a
/// collector for the file `path`, and makes the file's final report. With
/// `flush`, findings are sent there in batches as they are collected; the
/// flag is false when the reporter has gone meanwhile.
fn collect(
    path: String,
    opts: &ScanOptions,
    flush: Option<&mut Reports<'_>>,
    extract: impl FnOnce(&mut Collector<'_>) -> (Extracted, u64),
) -> (FileReport, bool) {
    MATCHES.with(|cell| {
        // A text member of an archive is scanned by blocks inside the
        // archive's collection ([`Collector::text_stream`]): the first
        // block, on this thread, gets a buffer of its own.
        let (mut own, mut shared);
        let matches: &mut Vec<Match> = match cell.try_borrow_mut() {
            Ok(borrowed) => {
                shared = borrowed;
                &mut shared
            }
            Err(_) => {
                own = Vec::new();
                &mut own
            }
        };
        // A local closure: the collector's borrow of it ends here.
        let mut forward;
        let flush: Option<&mut Reports<'_>> = match flush {
            Some(send) => {
                forward = |report| send(report);
                Some(&mut forward)
            }
            None => None,
        };
        let mut collector = Collector::new(opts, matches, &path, flush);
        let (extracted, bytes) = extract(&mut collector);
        let alive = !collector.gone;
        if let Extracted::Binary(what) = extracted {
            return (FileReport::skipped(path, what.to_string()), alive);
        }
        collector.finish();
        let encoding = collector.encoding.unwrap_or("binary container");
        let (findings, skipped_parts, mut columns) = (
            collector.findings,
            collector.skipped_parts,
            collector.columns,
        );
        // Only columns holding something are summarised; the rest (a JSON
        // file may have thousands of key paths) would wait in the batch to
        // the reporter for nothing.
        columns.retain(|c| c.hits.iter().any(|&n| n > 0));
        columns.shrink_to_fit();
        let report = FileReport {
            path,
            raw_path: None,
            outcome: Outcome::Scanned { bytes, encoding },
            findings,
            skipped_parts,
            columns,
        };
        (report, alive)
    })
}

/// Scans one block of a stream: decoded text whose first character is at
/// line 1, column 1, reported with `outcome` (the caller moves the findings
/// to where the block sits). The per-file statistics rule
/// ([`Stats::implausible`], applied in [`Collector::finish`]) judges each
/// block on its own, so a stream is judged block by block.
///
/// Findings go to `flush` as they are collected, every [`FLUSH_FINDINGS`]
/// (a block of dense text holds 100 000s of them), with the statistics
/// rule applied to what was seen so far; the rest are in the report
/// returned, with the line and column of the character after the block
/// (counted on from the last finding: the block's lines are counted once).
fn scan_text(
    text: &[u8],
    path: String,
    outcome: Outcome,
    opts: &ScanOptions,
    flush: &mut Reports<'_>,
) -> (FileReport, (u64, u64)) {
    let mut end = (1, 1);
    let (report, _) = collect(path, opts, Some(flush), |collector| {
        let place = Place::lines();
        collector.unit(&Unit { text, place });
        let mut at = match collector.located {
            Some(position) => Locator::resume(text, position),
            None => Locator::new(text, 1, 1),
        };
        end = at.locate(text.len());
        (Extracted::Scanned, text.len() as u64)
    });
    (FileReport { outcome, ..report }, end)
}

/// Buffers above this size are released after use, so one huge file does
/// not pin its memory in a worker for the rest of the scan.
const KEEP_BUFFER: usize = 16 << 20;

/// Plain-text files, SQL dumps, CSV/TSV and JSON-lines files larger than
/// this are scanned as they are read (text as blocks of lines, several at
/// a time; dumps in the SQL tokenizer's window; tables and JSON lines in
/// chunks of whole records) instead of being read whole.
const STREAM_ABOVE: u64 = 4 << 20;

/// SQLite databases larger than this are opened where they are rather
/// than read into memory (and copied into SQLite's), when their header
/// allows it ([`sqlite::readable_in_place`]).
const SQLITE_IN_PLACE_ABOVE: u64 = 16 << 20;

/// Reads and scans one file and sends its reports to `send`. `len` is its
/// size when the walker has it already (it looks only to enforce
/// `--max-filesize`); otherwise it is taken from the open file, which spares
/// resolving the path a second time. The first 8 KiB are read and sniffed
/// first, so a binary file is skipped without reading the rest of it. Large
/// text files are streamed (`stream::scan_stream`): memory stays bounded
/// and their blocks are scanned on all cores; large SQL dumps are tokenized
/// as they are read ([`sql::extract_reader`]). False when the reporter is
/// gone.
pub fn scan_file(
    path: &Path,
    display: String,
    len: Option<u64>,
    opts: &ScanOptions,
    send: &mut Reports<'_>,
) -> bool {
    READ_BUF.with_borrow_mut(|buf| {
        buf.clear();
        // Held while a large file is read whole and scanned (see below).
        let mut alone = None;
        let read = File::open(path).and_then(|mut rest| {
            let len = match len {
                Some(len) => len,
                None => rest.metadata()?.len(),
            };
            read_into(&mut rest, buf, sniff::SNIFF_LEN, len)?;
            let format = match extract::detect_format(&display, buf) {
                Err(what) => return Ok(Err(what)),
                Ok(format) => format,
            };
            if len > STREAM_ABOVE
                && matches!(
                    format,
                    Format::Text | Format::SqlDump | Format::Csv | Format::JsonLines
                )
            {
                let gzip = false;
                return Ok(Ok(Plan::Stream {
                    format,
                    gzip,
                    rest,
                    len,
                }));
            }
            if len > json::WHOLE_MAX && format == Format::Json {
                // Said in the report, with a partial one before the rest.
                let skip = PartSkip {
                    part: String::new(),
                    reason: json::too_long_reason(),
                };
                let note = FileReport {
                    path: display.clone(),
                    raw_path: None,
                    outcome: Outcome::Partial { bytes: 0 },
                    findings: Vec::new(),
                    skipped_parts: vec![skip],
                    columns: Vec::new(),
                };
                if !send(note) {
                    return Ok(Err("the reporter is gone"));
                }
                return Ok(Ok(Plan::Stream {
                    format: Format::Text,
                    gzip: false,
                    rest,
                    len,
                }));
            }
            if format == Format::Sqlite && len > SQLITE_IN_PLACE_ABOVE {
                return Ok(Ok(if sqlite::readable_in_place(buf, len) {
                    Plan::SqliteInPlace { len }
                } else {
                    Plan::SqliteCopy { rest, len }
                }));
            }
            let document = matches!(format, Format::Spreadsheet | Format::OfficeText);
            if len > STREAM_ABOVE && document && extract::reads_in_place(format, &display, buf) {
                let mut head = [0; 8];
                let n = buf.len().min(head.len());
                head[..n].copy_from_slice(&buf[..n]);
                return Ok(Ok(Plan::DocumentInPlace {
                    format,
                    head,
                    rest,
                    len,
                }));
            }
            if len > STREAM_ABOVE && matches!(format, Format::Zip | Format::Tar) {
                let gzip = false;
                return Ok(Ok(Plan::Archive {
                    format,
                    gzip,
                    rest,
                    len,
                }));
            }
            if format == Format::Gzip {
                match streamable_gzip(&display, buf) {
                    Err(what) => return Ok(Err(what)),
                    Ok(Some(Format::Tar)) => {
                        let (format, gzip) = (Format::Tar, true);
                        return Ok(Ok(Plan::Archive {
                            format,
                            gzip,
                            rest,
                            len,
                        }));
                    }
                    Ok(Some(format)) => {
                        let gzip = true;
                        return Ok(Ok(Plan::Stream {
                            format,
                            gzip,
                            rest,
                            len,
                        }));
                    }
                    Ok(None) if len > STREAM_ABOVE => {
                        return Ok(Ok(Plan::Archive {
                            format,
                            gzip: false,
                            rest,
                            len,
                        }));
                    }
                    Ok(None) => {}
                }
            }
            // A large file is read whole by one worker at a time, which
            // first lets go of the blocks its last stream left in its pool.
            if len > extract::HOLD_ALONE_ABOVE {
                stream::release_pool();
                alone = Some(extract::hold_alone());
            }
            // A head shorter than asked for ended at the end of the file.
            if buf.len() == sniff::SNIFF_LEN {
                read_into(&mut rest, buf, usize::MAX, len)?;
            }
            Ok(Ok(Plan::Whole(format)))
        });
        let sent = match read {
            Err(err) => {
                let reason = source::read_failure(&err);
                send(FileReport::skipped(display, reason))
            }
            Ok(Err(what)) => send(FileReport::skipped(display, what.to_string())),
            Ok(Ok(Plan::Stream {
                format,
                gzip,
                rest,
                len,
            })) => {
                let head = std::mem::take(buf);
                let read = io::Cursor::new(&head[..]).chain(rest);
                let mut input: Box<dyn Read + Send> = if gzip {
                    Box::new(archive::gzip_stream(read, len, &opts.limits))
                } else {
                    Box::new(read)
                };
                let sent = match format {
                    Format::SqlDump => {
                        let rows = opts.limits.max_rows_per_table;
                        scan_streamed(&mut input, display, opts, send, |input, sink| {
                            sql::extract_reader(input, &[], rows, sink)
                        })
                    }
                    Format::JsonLines => {
                        scan_streamed(&mut input, display, opts, send, |input, sink| {
                            json::extract_lines_reader(input, sink)
                        })
                    }
                    Format::Csv => {
                        // `x.tsv.gz` is told by `x.tsv`.
                        let name = archive::gzip_inner_name(&display).into_owned();
                        scan_streamed(&mut input, display, opts, send, |input, sink| {
                            table::extract_reader(&name, input, sink)
                        })
                    }
                    _ => {
                        let (block, max_line) = (stream::FILE_BLOCK, stream::MAX_LINE);
                        let input = stream::Filled::new(&mut input);
                        let live = false;
                        stream::scan_stream(input, display, opts, block, max_line, live, send)
                    }
                };
                drop(input);
                *buf = head;
                sent
            }
            Ok(Ok(Plan::Archive {
                format,
                gzip,
                mut rest,
                len,
            })) => {
                let limits = opts.limits;
                let name = display.clone();
                let (report, alive) = collect(display, opts, Some(&mut *send), |collector| {
                    if format == Format::Zip {
                        // The zip reader seeks; the head read is read again.
                        match rest.rewind() {
                            Ok(()) => {
                                let file = BufReader::with_capacity(ZIP_BUFFER, rest);
                                archive::extract_zip_reader(file, len, &limits, 0, collector);
                            }
                            Err(err) => collector.skip("", &source::read_failure(&err)),
                        }
                        return (Extracted::Scanned, len);
                    }
                    // Read in one pass, from the head read.
                    let read = io::Cursor::new(&buf[..]).chain(rest);
                    let read = BufReader::with_capacity(ARCHIVE_BUFFER, read);
                    let extracted = match (format, gzip) {
                        (Format::Gzip, _) => {
                            archive::extract_gzip_reader(&name, read, len, &limits, 0, collector)
                        }
                        (_, true) => {
                            let tar = archive::gzip_stream(read, len, &limits);
                            archive::extract_tar_reader(tar, &limits, 0, collector);
                            Extracted::Scanned
                        }
                        (_, false) => {
                            archive::extract_tar_reader(read, &limits, 0, collector);
                            Extracted::Scanned
                        }
                    };
                    (extracted, len)
                });
                alive && send(report)
            }
            Ok(Ok(Plan::DocumentInPlace {
                format,
                head,
                rest,
                len,
            })) => {
                let limits = opts.limits;
                let name = display.clone();
                // The readers seek; the head read is read again.
                let read = move |file: BufReader<File>, sink: &mut dyn Sink| {
                    extract::extract_in_place(&name, format, &head, file, len, &limits, 0, sink)
                };
                let (report, alive) = collect(display, opts, Some(&mut *send), |collector| {
                    // Inflating and parsing on one core, scanning on another.
                    let file = BufReader::new(rest);
                    let result = if opts.block_threads() > 1 {
                        relay::relay(file, read, collector)
                    } else {
                        read(file, collector)
                    };
                    if let Err(err) = result {
                        collector.skip("", &source::read_failure(&err));
                    }
                    (Extracted::Scanned, len)
                });
                alive && send(report)
            }
            Ok(Ok(Plan::Whole(format))) => scan_detected_to(Ok(format), buf, display, opts, send),
            Ok(Ok(Plan::SqliteInPlace { len })) => {
                let rows = opts.limits.max_rows_per_table;
                let (report, alive) = collect(display, opts, Some(&mut *send), |collector| {
                    sqlite::extract_file(path, rows, collector);
                    (Extracted::Scanned, len)
                });
                alive && send(report)
            }
            Ok(Ok(Plan::SqliteCopy { mut rest, len })) => {
                let rows = opts.limits.max_rows_per_table;
                let (report, alive) = collect(display, opts, Some(&mut *send), |collector| {
                    // The head read is read again.
                    match rest.seek(std::io::SeekFrom::Start(0)) {
                        Ok(_) => sqlite::extract_copied(&mut rest, rows, collector),
                        Err(err) => collector.skip("", &source::read_failure(&err)),
                    }
                    (Extracted::Scanned, len)
                });
                alive && send(report)
            }
        };
        // A large buffer is released, and a file held alone before the
        // next large file may be read.
        if buf.capacity() > KEEP_BUFFER || alone.is_some() {
            *buf = Vec::new();
        }
        drop(alone);
        sent
    })
}

/// Files up to this size are read with the size their metadata gives.
const ONE_READ_MAX: usize = 1 << 20;

/// Appends the contents of `file` to `buf` (which holds what was read of it
/// so far) until `buf` holds `limit` bytes or the file ends. `len` is the
/// file's size from its metadata: a read that brings `buf` to exactly that
/// size (asking for one byte more) is taken for the end of the file, so a
/// small file takes one `read` call, not a second one that returns 0. A
/// file that has grown since is read on to its end (or `limit`). Files of
/// [`ONE_READ_MAX`] bytes or more are read the ordinary way (the buffer is
/// not sized, and zeroed, from a size that may be wrong: a sparse file).
fn read_into(file: &mut File, buf: &mut Vec<u8>, limit: usize, len: u64) -> io::Result<()> {
    if let Some(len) = usize::try_from(len).ok().filter(|&len| len < ONE_READ_MAX) {
        let mut filled = buf.len();
        let target = limit.min(len + 1);
        buf.resize(target.max(filled), 0);
        // Whether the file holds more than `len` bytes, and `limit` is not
        // reached: then it is read on as it comes.
        let grown = loop {
            if filled >= target {
                break Ok(filled < limit);
            }
            match file.read(&mut buf[filled..target]) {
                Ok(0) => break Ok(false),
                Ok(n) => {
                    filled += n;
                    if filled == len {
                        break Ok(false);
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => break Err(err),
            }
        };
        buf.truncate(filled);
        if !grown? {
            return Ok(());
        }
    }
    // Room for the size the metadata gives, if it can be had: reserved,
    // not written, so a wrong size costs address space, not memory, and
    // the buffer is not copied as it grows.
    let expected = len.min(limit as u64).saturating_add(1);
    let _ = buf.try_reserve_exact(
        usize::try_from(expected)
            .unwrap_or(0)
            .saturating_sub(buf.len()),
    );
    file.take(limit.saturating_sub(buf.len()) as u64)
        .read_to_end(buf)?;
    Ok(())
}

/// A walker thread's reports on their way to the reporter, sent in
/// batches: one channel message (and reporter wake-up) per file would cost
/// more than scanning a small file. A batch goes when it holds
/// [`BATCH_REPORTS`] reports or [`FLUSH_FINDINGS`] findings, when a
/// partial report (a block of a large file) joins it, and when the thread
/// is done.
struct Batch<'t> {
    tx: &'t mpsc::SyncSender<Vec<FileReport>>,
    reports: Vec<FileReport>,
    findings: usize,
}

/// Reports per batch.
const BATCH_REPORTS: usize = 64;

impl<'t> Batch<'t> {
    fn new(tx: &'t mpsc::SyncSender<Vec<FileReport>>) -> Self {
        Batch {
            tx,
            reports: Vec::new(),
            findings: 0,
        }
    }

    /// Adds a report; false when the reporter is gone.
    fn send(&mut self, report: FileReport) -> bool {
        let partial = matches!(report.outcome, Outcome::Partial { .. });
        self.findings += report.findings.len();
        self.reports.push(report);
        if partial || self.reports.len() >= BATCH_REPORTS || self.findings >= FLUSH_FINDINGS {
            return self.flush();
        }
        true
    }

    fn flush(&mut self) -> bool {
        self.findings = 0;
        self.reports.is_empty() || self.tx.send(std::mem::take(&mut self.reports)).is_ok()
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

fn progress_bar(enabled: bool) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Capacity of the report's output buffer. A file's findings are rendered
/// into one buffer first ([`Output`]); a batch of them larger than this
/// (a block of a dump) goes to the output as it is, without a copy.
const OUTPUT_BUFFER: usize = 64 * 1024;

/// Receives file reports, writes the report and builds the inventory.
fn report(
    config: &Config,
    baseline: Option<&Baseline>,
    rx: mpsc::Receiver<Vec<FileReport>>,
    out: Box<dyn Write + Send>,
    started: Instant,
) -> io::Result<Summary> {
    let bar = progress_bar(config.progress);
    let mut out = Output::new(
        io::BufWriter::with_capacity(OUTPUT_BUFFER, out),
        config.format,
        config.color,
    );
    let mut inventory = Inventory::new(config.column_threshold);
    let mut recorded = config
        .baseline_write
        .as_ref()
        .map(|_| BaselineWriter::default());
    let mut pending = Vec::new();
    let (mut files, mut bytes, mut findings) = (0u64, 0u64, 0u64);
    let mut write_error = None;
    out.begin()?;
    for mut report in rx.into_iter().flatten() {
        if let Some(recorded) = &mut recorded {
            recorded.add(&report);
        }
        if let Some(baseline) = baseline {
            baseline.filter(&mut report);
        }
        // The blocks of a stream count as one file, at its last block.
        let partial = matches!(report.outcome, Outcome::Partial { .. });
        files += u64::from(!partial);
        findings += report.findings.len() as u64;
        let message = match &report.outcome {
            Outcome::Partial { bytes: n } => {
                bytes += n;
                None
            }
            Outcome::Scanned { bytes: n, encoding } => {
                bytes += n;
                config.verbose.then(|| format!("scanned, {encoding}"))
            }
            Outcome::Skipped { reason } => {
                (config.verbose || reason.starts_with("unreadable")).then(|| reason.clone())
            }
        };
        if let Some(message) = message.filter(|_| !config.quiet) {
            bar.suspend(|| eprintln!("piscan: {}: {message}", report.path));
        }
        if config.verbose && !config.quiet {
            for part in &report.skipped_parts {
                bar.suspend(|| {
                    eprintln!("piscan: {}: {}: {}", report.path, part.part, part.reason)
                });
            }
        }
        if files % 64 == 0 {
            bar.set_message(format!(
                "{files} files, {}, {findings} findings",
                human_bytes(bytes)
            ));
        }
        inventory.add(&report);
        if config.sort_by_path {
            pending.push(report);
        } else if write_error.is_none() {
            // A stream's next block may be long in coming: show this one now.
            write_error = out
                .file(&report)
                .and_then(|()| if partial { out.flush() } else { Ok(()) })
                .err();
            if write_error.is_some() {
                // Stop reading: stdin may never end (`kubectl logs -f`).
                break;
            }
        }
    }
    bar.finish_and_clear();
    pending.sort_by(|a: &FileReport, b| a.path.cmp(&b.path));
    for report in &pending {
        if write_error.is_none() {
            write_error = out.file(report).err();
        }
    }
    if let Some(err) = write_error {
        return Err(err);
    }
    let summary = inventory.summary(started.elapsed().as_secs_f64());
    out.finish(&summary)?;
    if let (Some(recorded), Some(path)) = (recorded, &config.baseline_write) {
        recorded
            .write(path)
            .map_err(|e| io::Error::other(format!("{e:#}")))?;
    }
    Ok(summary)
}

/// Runs a scan as configured and returns the process exit status.
pub fn run(config: &Config) -> anyhow::Result<i32> {
    let started = Instant::now();
    let opts = &ScanOptions {
        show_values: config.show_values,
        min_confidence: config.min_confidence,
        limits: config.limits,
        filter: config.filter.clone(),
        threads: config.walk.threads,
        custom: config.custom.clone(),
        fingerprints: config.format == crate::report::Format::Sarif
            || config.baseline.is_some()
            || config.baseline_write.is_some(),
        streams: Streams::default(),
    };
    let baseline = config.baseline.as_deref().map(Baseline::load).transpose()?;
    let out: Box<dyn Write + Send> = match &config.output {
        Some(path) => Box::new(
            File::create(path)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?,
        ),
        None => Box::new(io::stdout()),
    };
    let (tx, rx) = mpsc::sync_channel::<Vec<FileReport>>(16);
    let summary = thread::scope(|scope| -> anyhow::Result<io::Result<Summary>> {
        let reporter = scope.spawn(|| report(config, baseline.as_ref(), rx, out, started));
        if config.stdin {
            // A closed channel means the reporter failed; it says why.
            stream::scan_stream(
                io::stdin().lock(),
                config.stdin_name.clone(),
                opts,
                stream::BLOCK,
                stream::MAX_LINE,
                // A pipe's writer may pause: what was read is sent first.
                true,
                &mut |report| tx.send(vec![report]).is_ok(),
            );
        }
        if !config.stdin || !config.walk.paths.is_empty() {
            source::walk(&config.walk, || {
                let mut batch = Batch::new(&tx);
                move |entry| {
                    let (display, raw_path) = match &entry {
                        Entry::File { path, .. } | Entry::Skipped { path, .. } => {
                            crate::report::display_path(path)
                        }
                    };
                    let send = &mut |report: FileReport| {
                        let raw_path = raw_path.clone();
                        batch.send(FileReport { raw_path, ..report })
                    };
                    match entry {
                        Entry::File { path, len } => {
                            scan_file(&path, display, len, opts, send);
                        }
                        Entry::Skipped { reason, .. } => {
                            send(FileReport::skipped(display, reason));
                        }
                    }
                }
            })?;
        }
        drop(tx);
        Ok(reporter.join().expect("reporter thread panicked"))
    })?;
    let summary = match summary {
        Ok(summary) => summary,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return Ok(exit_codes::SUCCESS),
        Err(err) => anyhow::bail!("cannot write the report: {err}"),
    };
    Ok(verdict(config, &summary))
}

/// Prints the closing line on stderr and decides the exit status.
fn verdict(config: &Config, s: &Summary) -> i32 {
    let failing = match config.fail_on {
        FailOn::None => false,
        FailOn::Sensitive => s.sensitive_findings > 0,
        FailOn::Any => s.findings > 0,
    };
    if !config.quiet {
        if config.format != crate::report::Format::Table || config.output.is_some() {
            eprintln!("piscan: {}", scan_line(s));
        }
        if failing {
            let counted: Vec<String> = s
                .kinds
                .iter()
                .filter(|k| k.sensitive || config.fail_on == FailOn::Any)
                .map(|k| format!("{} {}", k.kind, k.count))
                .collect();
            let (n, what) = match config.fail_on {
                FailOn::Sensitive => (s.sensitive_findings, "sensitive findings"),
                _ => (s.findings, "findings"),
            };
            eprintln!("piscan: {n} {what} ({}) — failing", counted.join(", "));
        }
    }
    if failing {
        exit_codes::POLICY_FAILED
    } else if s.files_scanned == 0 && s.files_skipped > 0 {
        exit_codes::ERROR
    } else {
        exit_codes::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gzip file's head tells what it holds: lines are streamed, binary
    /// content is skipped with its reason before more is decompressed,
    /// other formats are read whole.
    #[test]
    fn a_gzip_head_tells_its_content() {
        let gz = |data: &[u8]| {
            let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut out, data).unwrap();
            out.finish().unwrap()
        };
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend([0u8; 64]);
        assert_eq!(streamable_gzip("pic.png.gz", &gz(&png)), Err("PNG image"));
        let log = b"2024-05-17 login ok\n";
        assert_eq!(
            streamable_gzip("app.log.gz", &gz(log)),
            Ok(Some(Format::Text))
        );
        assert_eq!(streamable_gzip("a.json.gz", &gz(b"{\"a\": 1}")), Ok(None));
        assert_eq!(streamable_gzip("x.gz", b"\x1f\x8b\x09garbage"), Ok(None));
    }

    /// A unit of several MB (one quoted CSV field) is scanned in pieces:
    /// no value is lost or doubled at the cuts, and every one keeps its
    /// line, column and field.
    #[test]
    fn a_huge_unit_is_scanned_in_pieces_without_loss() {
        let mut rng = crate::synth::Rng::new(3);
        let mut csv = String::from("note,id\n\"");
        let mut phones = Vec::new();
        while csv.len() < 3 * PIECE {
            let phone = crate::synth::mobile(&mut rng);
            csv.push_str(&format!("call {phone} back, said the ticket\n"));
            phones.push(phone);
        }
        csv.push_str("\",x\n");
        let report = scan_buffer(csv.as_bytes(), "t.csv".into(), &ScanOptions::default());
        assert_eq!(report.findings.len(), phones.len());
        for (i, f) in report.findings.iter().enumerate() {
            assert_eq!(f.line, Some(2 + i as u64), "one per line, in order");
            assert_eq!(f.col, Some(if i == 0 { 7 } else { 6 }));
            assert_eq!(f.field.as_deref(), Some("note"));
        }
    }

    /// The file's candidate counts are the sums of its pieces' and units'
    /// (all of them: a table of round numbers in valid mobile segments,
    /// whole days in seconds, is judged on the whole file).
    #[test]
    fn a_file_of_round_numbers_in_mobile_segments_is_implausible() {
        let table = crate::synth::whole_days_table(30);
        let opts = ScanOptions::default();
        let report = scan_buffer(table.as_bytes(), "days.txt".into(), &opts);
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        let csv: String = format!(
            "day,seconds\n{}",
            table
                .replace("(\"", "")
                .replace("\",", ",")
                .replace("),", "")
        );
        let report = scan_buffer(csv.as_bytes(), "days.csv".into(), &opts);
        assert!(report.findings.is_empty(), "{:?}", report.findings);
    }

    #[test]
    fn pieces_end_at_a_line_break_else_whitespace_else_a_character() {
        let mut text = vec![b'a'; PIECE + 10];
        text[PIECE - 5] = b' ';
        text[PIECE / 2 + 3] = b'\n';
        assert_eq!(piece_end(&text, 0), PIECE / 2 + 4, "the line break");
        text[PIECE / 2 + 3] = b'a';
        assert_eq!(piece_end(&text, 0), PIECE - 4, "the space");
        text[PIECE - 5] = b'a';
        text[PIECE] = 0x80;
        assert_eq!(piece_end(&text, 0), PIECE - 1, "before a continuation byte");
        assert_eq!(piece_end(&text[..100], 0), 100, "short: the whole");
    }

    /// `read_into` reads the whole file, or up to its limit, whether the
    /// size it is given is right, too small (the file grew) or too large
    /// (it shrank).
    #[test]
    fn read_into_trusts_the_size_only_to_save_a_read() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let over = ONE_READ_MAX as u64;
        for len in [0, 1, 5_000, 8_192, 19_999, 20_000, 20_001, over, u64::MAX] {
            for limit in [1, 8_192, 20_000, usize::MAX] {
                let mut buf = Vec::new();
                let mut file = File::open(&path).unwrap();
                read_into(&mut file, &mut buf, limit, len).unwrap();
                let want = &data[..data.len().min(limit)];
                assert!(buf == want, "len {len} limit {limit}: {}", buf.len());
                // The rest, after a head.
                read_into(&mut file, &mut buf, usize::MAX, len).unwrap();
                assert!(buf == data, "len {len} limit {limit}, rest");
            }
        }
    }

    /// The findings of one batch sent share their names; each batch has
    /// copies of its own, so that the reporter thread dropping a batch
    /// does not write the reference counts this thread is writing.
    #[test]
    fn each_batch_of_findings_has_its_own_names() {
        let mut rng = crate::synth::Rng::new(3);
        let mut batches = Vec::new();
        let mut send = |report: FileReport| {
            batches.push(report.findings);
            true
        };
        let opts = ScanOptions::default();
        collect("t.sql".into(), &opts, Some(&mut send), |collector| {
            let place = Place {
                table: Some("users"),
                field: Some("phone"),
                ..Place::default()
            };
            for _ in 0..3 * FLUSH_FINDINGS {
                let text = crate::synth::mobile(&mut rng);
                collector.unit(&Unit {
                    text: text.as_bytes(),
                    place,
                });
            }
            (Extracted::Scanned, 0)
        });
        let names = |f: &Finding| (f.table.clone().unwrap(), f.field.clone().unwrap());
        let firsts: Vec<_> = batches
            .iter()
            .filter_map(|b| b.first())
            .map(names)
            .collect();
        assert!(firsts.len() >= 3, "{}", firsts.len());
        for (batch, (table, field)) in batches.iter().zip(&firsts) {
            assert!(batch.iter().all(|f| {
                let (t, f) = names(f);
                Arc::ptr_eq(&t, table) && Arc::ptr_eq(&f, field)
            }));
        }
        for pair in firsts.windows(2) {
            assert_eq!(pair[0], pair[1]);
            assert!(!Arc::ptr_eq(&pair[0].0, &pair[1].0));
            assert!(!Arc::ptr_eq(&pair[0].1, &pair[1].1));
        }
    }
}

/// Blocks of plain dump rows ([`extract::sql::Rows`]) that
/// [`detect::may_hold`] passes over must hold nothing the same rows scanned
/// value by value would report.
#[cfg(test)]
mod plain_rows {
    use super::*;
    use crate::synth;
    use proptest::prelude::*;

    /// Values a row may hold: personal values, near misses, context and
    /// counter-words that would act on a neighbour in one text, escapes.
    fn values() -> Vec<String> {
        let card = synth::luhn_complete("622202123456789012");
        let test_card = "4111111111111111".to_string();
        [
            "42",
            "-7",
            "4513.88",
            "1795050978178321555",
            "1718695425145",
            "13812345678",
            "12345678901",
            "NULL",
            "''",
            "'13812345678'",
            "'138 1234 5678'",
            "'+86 138 1234 5678'",
            "'11010519491231002X'",
            "'110105194912310021'",
            "'E12345678'",
            "'490154203237518'",
            "'10.1.2.3'",
            "'1.2.3.4'",
            "'a@qq.com'",
            "'a4:5e:60:c2:11:0f'",
            "'2024-05-17 15:23:45'",
            "'version'",
            "'timestamp'",
            "'ip'",
            "'phone'",
            "'card'",
            "'imei'",
            "'护照'",
            "'{\\\"ip\\\":\\\"10.1.2.3\\\"}'",
            "'it\\'s'",
            "'x\\n13812345678'",
            "'a\\\\b'",
            "'CREATED'",
            "'张三'",
        ]
        .iter()
        .map(|v| v.to_string())
        .chain([card.clone(), format!("'{card}'"), format!("'{test_card}'")])
        .collect()
    }

    /// Values with nothing to report, but for their context in a text.
    fn quiet() -> Vec<String> {
        [
            "42",
            "-7",
            "4513.88",
            "1795050978178321555",
            "NULL",
            "''",
            "'2024-05-17 15:23:45'",
            "'version'",
            "'timestamp'",
            "'phone'",
            "'it\\'s'",
            "'CREATED'",
            "'张三'",
        ]
        .iter()
        .map(|v| v.to_string())
        .collect()
    }

    /// What a report says, but the positions (which spacing moves).
    fn gist(report: &FileReport) -> (Vec<String>, Vec<String>) {
        let findings = report
            .findings
            .iter()
            .map(|f| {
                let (kind, conf) = (f.kind.id(), f.confidence.as_str());
                format!(
                    "{kind} {conf} {:?} {:?} {:?} {}",
                    f.table, f.row, f.field, f.shown
                )
            })
            .collect();
        let columns = report
            .columns
            .iter()
            .map(|c| format!("{:?} {} {} {:?}", c.table, c.field, c.values, c.hits))
            .collect();
        (findings, columns)
    }

    fn dump(rows: &[Vec<String>], spaced: bool) -> Vec<u8> {
        let end = if spaced { " " } else { "" };
        let tuples: Vec<String> = rows
            .iter()
            .map(|row| {
                let row: Vec<String> = row.iter().map(|v| format!("{v}{end}")).collect();
                format!("({})", row.join(","))
            })
            .collect();
        format!(
            "-- MySQL dump\nINSERT INTO `t` (`id`,`passport_no`,`imei`,`note`) VALUES {};\n",
            tuples.join(",")
        )
        .into_bytes()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Tight rows go as blocks, spaced ones (`(42 ,'x' )`) value by
        /// value: the same findings and column counts.
        #[test]
        fn blocks_passed_over_hold_nothing(
            rows in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![
                    // Mostly values that hold nothing, so that whole
                    // blocks are passed over.
                    8 => proptest::sample::select(quiet()),
                    1 => proptest::sample::select(values()),
                ], 4),
                1..300,
            ),
        ) {
            let opts = ScanOptions::default();
            let tight = scan_buffer(&dump(&rows, false), "t.sql".into(), &opts);
            let spaced = scan_buffer(&dump(&rows, true), "t.sql".into(), &opts);
            prop_assert_eq!(gist(&tight), gist(&spaced));
        }
    }

    /// Rows of order data hold no value: they are passed over whole, yet
    /// their columns count every value; a row with a phone in the same
    /// table is found.
    #[test]
    fn rows_without_values_count_in_their_columns() {
        let mut rows = vec![];
        for i in 0..1000 {
            let row = ["42", "1795050978178321555", "'2024-05-17 15:23:45'", "NULL"];
            let mut row: Vec<String> = row.iter().map(|v| v.to_string()).collect();
            if i == 700 {
                row[0] = "13912345678".into();
                row[3] = "'13812345678'".into();
            }
            rows.push(row);
        }
        let report = scan_buffer(&dump(&rows, false), "t.sql".into(), &ScanOptions::default());
        let found: Vec<_> = report.findings.iter().map(|f| (f.kind, f.row)).collect();
        let mobile = (detect::Kind::Mobile, Some(701));
        assert_eq!(found, [mobile, mobile]);
        let note = report.columns.iter().find(|c| c.field == "note").unwrap();
        assert_eq!(
            (note.values, note.hits[detect::Kind::Mobile.index()]),
            (1, 1)
        );
        let id = report.columns.iter().find(|c| c.field == "id").unwrap();
        assert_eq!(id.values, 1000);
        assert!(detect::may_hold(b"('13812345678')"));
        assert!(!detect::may_hold(
            b"(42,1795050978178321555,'2024-05-17 15:23:45',NULL)"
        ));
    }
}
