//! The scan: walk → read → sniff → extract → detect → classify → report.
//!
//! Walker threads do all per-file work (reading, decoding, detection,
//! masking) and send one [`FileReport`] per file over a bounded channel to a
//! single reporter thread, which owns the output, the inventory and the
//! progress display. That keeps each file's findings together, output
//! unmixed, and memory bounded by the channel, not by the tree.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::{Config, FailOn};
use crate::detect::context::{self, Evidence, KindSet};
use crate::detect::{self, Confidence, Match, Stats};
use crate::exit_codes;
use crate::extract::text::Locator;
use crate::extract::{self, Extracted, Limits, Place, Sink, Unit};
use crate::report::baseline::{Baseline, BaselineWriter};
use crate::report::inventory::Summary;
use crate::report::output::{human_bytes, scan_line};
use crate::report::{mask, Column, FileReport, Finding, Inventory, Outcome, Output, PartSkip};
use crate::settings::Filter;
use crate::source::{self, sniff, Entry};

mod stream;

/// How files are extracted and findings rendered.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Print values unmasked.
    pub show_values: bool,
    /// Drop findings below this confidence.
    pub min_confidence: Confidence,
    /// Bounds on archives and tables.
    pub limits: Limits,
    /// Kinds, confidences and values not reported (from `piscan.toml`).
    pub filter: Filter,
}

thread_local! {
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static MATCHES: RefCell<Vec<Match>> = const { RefCell::new(Vec::new()) };
}

/// Most distinct columns counted per file.
const MAX_COLUMNS: usize = 10_000;

/// The scan loop's [`Sink`]: runs the detectors on every unit and turns
/// matches into findings, column counts and skipped parts.
struct Collector<'m> {
    opts: &'m ScanOptions,
    matches: &'m mut Vec<Match>,
    /// Candidate counts of the whole file, for [`Stats::implausible`].
    stats: Stats,
    /// Units seen so far (the current unit's ordinal).
    units: u64,
    findings: Vec<Finding>,
    /// Per finding: the ordinal of its unit and its column, if any.
    origins: Vec<(u64, Option<usize>)>,
    /// Column positions by hash of (member, sheet, table, field).
    column_index: HashMap<u64, Vec<usize>>,
    /// Per column, what its name says (computed once per column).
    evidence: Vec<Evidence>,
    /// The column of the previous value.
    last_column: Option<usize>,
    column_hasher: std::hash::RandomState,
    skipped_parts: Vec<PartSkip>,
    columns: Vec<Column>,
    encoding: Option<&'static str>,
}

impl<'m> Collector<'m> {
    fn new(opts: &'m ScanOptions, matches: &'m mut Vec<Match>) -> Self {
        Collector {
            opts,
            matches,
            stats: Stats::default(),
            units: 0,
            findings: Vec::new(),
            origins: Vec::new(),
            column_index: HashMap::new(),
            evidence: Vec::new(),
            last_column: None,
            column_hasher: std::hash::RandomState::new(),
            skipped_parts: Vec::new(),
            columns: Vec::new(),
            encoding: None,
        }
    }

    /// The column of a value's field, created on first sight. Looked up by a
    /// hash of the borrowed names, so there is no allocation per value and
    /// no slowdown with many distinct fields; a file keeps at most
    /// [`MAX_COLUMNS`] of them (a JSON map keyed by names would otherwise
    /// make one per entry).
    fn column(&mut self, place: &Place<'_>) -> Option<usize> {
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
        // Rows visit their columns in order: try the one after the last.
        let next = self.last_column.map_or(0, |i| i + 1) % self.columns.len().max(1);
        if self.columns.get(next).is_some_and(same) {
            self.last_column = Some(next);
            return Some(next);
        }
        let hash = self.column_hasher.hash_one(key);
        let candidates = self.column_index.entry(hash).or_default();
        let found = candidates.iter().copied().find(|&i| same(&self.columns[i]));
        if found.is_none() && self.columns.len() < MAX_COLUMNS {
            candidates.push(self.columns.len());
            self.columns.push(Column {
                member: place.member.map(str::to_string),
                sheet: place.sheet.map(str::to_string),
                table: place.table.map(str::to_string),
                field: field.to_string(),
                ..Column::default()
            });
            self.evidence.push(context::in_field(field));
            self.last_column = Some(self.columns.len() - 1);
            return self.last_column;
        }
        self.last_column = found;
        found
    }

    /// Drops findings the file's statistics show to be chance, then counts
    /// per column how many values hold each kind.
    fn finish(&mut self) {
        let stats = self.stats;
        (self.findings, self.origins) = std::mem::take(&mut self.findings)
            .into_iter()
            .zip(std::mem::take(&mut self.origins))
            .filter(|(f, _)| !(f.confidence == Confidence::Medium && stats.implausible(f.kind)))
            .unzip();
        let mut counted: Option<(u64, KindSet)> = None;
        for (f, &(unit, column)) in self.findings.iter().zip(&self.origins) {
            let Some(column) = column else { continue };
            let seen = match &mut counted {
                Some((u, seen)) if *u == unit => seen,
                _ => &mut counted.insert((unit, KindSet::EMPTY)).1,
            };
            if !seen.contains(f.kind) {
                seen.insert(f.kind);
                self.columns[column].hits[f.kind as usize] += 1;
            }
        }
    }
}

impl Sink for Collector<'_> {
    fn unit(&mut self, unit: &Unit<'_>) {
        let place = unit.place;
        self.units += 1;
        let column = self.column(&place);
        if let Some(c) = column {
            self.columns[c].values += 1;
        }
        self.matches.clear();
        let evidence = match (column, place.field) {
            (Some(c), _) => self.evidence[c],
            (None, Some(field)) => context::in_field(field),
            (None, None) => Evidence::default(),
        };
        detect::scan_counting(unit.text, evidence, self.matches, &mut self.stats);
        let mut lines = place
            .line
            .map(|first| Locator::new(unit.text, first, place.col));
        let opts = self.opts;
        for m in self.matches.iter().filter(|m| {
            m.confidence >= opts.min_confidence && opts.filter.admits(m.kind, m.confidence)
        }) {
            // Matches span ASCII bytes only.
            let value = String::from_utf8_lossy(&unit.text[m.start..m.end]);
            // The raw value is seen here only: allowlisted values are
            // dropped before anything is derived from them.
            if opts.filter.is_allowlisted(m.kind, &value) {
                continue;
            }
            let (line, col) = match lines.as_mut() {
                Some(counter) => {
                    let (l, c) = counter.locate(m.start);
                    (Some(l), Some(c))
                }
                None => (None, None),
            };
            self.origins.push((self.units, column));
            self.findings.push(Finding {
                member: place.member.map(str::to_string),
                line,
                col,
                sheet: place.sheet.map(str::to_string),
                cell: place.cell.map(|(r, c)| extract::a1(r, c)),
                table: place.table.map(str::to_string),
                row: place.row,
                field: place.field.map(str::to_string),
                kind: m.kind,
                confidence: m.confidence,
                shown: if opts.show_values {
                    value.to_string()
                } else {
                    mask::mask(m.kind, &value)
                },
                value_hash: mask::value_hash(m.kind, &value),
                stable_hash: mask::stable_hash(m.kind, &value),
            });
        }
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

/// Scans the contents of one file (or stdin) named `path`.
pub fn scan_buffer(data: &[u8], path: String, opts: &ScanOptions) -> FileReport {
    MATCHES.with_borrow_mut(|matches| {
        let mut collector = Collector::new(opts, matches);
        match extract::extract(&path, data, &opts.limits, 0, &mut collector) {
            Extracted::Binary(what) => FileReport::skipped(path, what.to_string()),
            Extracted::Scanned => {
                collector.finish();
                FileReport {
                    path,
                    raw_path: None,
                    outcome: Outcome::Scanned {
                        bytes: data.len() as u64,
                        encoding: collector.encoding.unwrap_or("binary container"),
                    },
                    findings: collector.findings,
                    skipped_parts: collector.skipped_parts,
                    columns: collector.columns,
                }
            }
        }
    })
}

/// Scans one block of a stream: decoded text whose first character is at
/// `line`, `col`, reported with `outcome`. The per-file statistics rule
/// ([`Stats::implausible`], applied in [`Collector::finish`]) judges each
/// block on its own, so a stream is judged block by block.
fn scan_text(
    text: &[u8],
    line: u64,
    col: u64,
    path: String,
    outcome: Outcome,
    opts: &ScanOptions,
) -> FileReport {
    MATCHES.with_borrow_mut(|matches| {
        let mut collector = Collector::new(opts, matches);
        collector.unit(&Unit {
            text,
            place: Place {
                line: Some(line),
                col,
                ..Place::default()
            },
        });
        collector.finish();
        FileReport {
            path,
            raw_path: None,
            outcome,
            findings: collector.findings,
            skipped_parts: collector.skipped_parts,
            columns: collector.columns,
        }
    })
}

/// Buffers above this size are released after use, so one huge file does
/// not pin its memory in a worker for the rest of the scan.
const KEEP_BUFFER: usize = 16 << 20;

/// Reads and scans one file. The first 8 KiB are read and sniffed first, so
/// a binary file is skipped without reading the rest of it.
pub fn scan_file(path: &Path, display: String, opts: &ScanOptions) -> FileReport {
    READ_BUF.with_borrow_mut(|buf| {
        buf.clear();
        let read = File::open(path).and_then(|file| {
            let mut head = file.take(sniff::SNIFF_LEN as u64);
            head.read_to_end(buf)?;
            if let Err(what) = extract::detect_format(&display, buf) {
                return Ok(Err(what));
            }
            head.into_inner().read_to_end(buf)?;
            Ok(Ok(()))
        });
        let report = match read {
            Err(err) => {
                let reason = format!("unreadable: {}", source::io_message(&err));
                FileReport::skipped(display, reason)
            }
            Ok(Err(what)) => FileReport::skipped(display, what.to_string()),
            Ok(Ok(())) => scan_buffer(buf, display, opts),
        };
        if buf.capacity() > KEEP_BUFFER {
            *buf = Vec::new();
        }
        report
    })
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

/// Receives file reports, writes the report and builds the inventory.
fn report(
    config: &Config,
    baseline: Option<&Baseline>,
    rx: mpsc::Receiver<FileReport>,
    out: Box<dyn Write + Send>,
    started: Instant,
) -> io::Result<Summary> {
    let bar = progress_bar(config.progress);
    let mut out = Output::new(
        io::BufWriter::with_capacity(256 * 1024, out),
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
    for mut report in rx {
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
    };
    let baseline = config.baseline.as_deref().map(Baseline::load).transpose()?;
    let out: Box<dyn Write + Send> = match &config.output {
        Some(path) => Box::new(
            File::create(path)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?,
        ),
        None => Box::new(io::stdout()),
    };
    let (tx, rx) = mpsc::sync_channel::<FileReport>(256);
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
                |report| tx.send(report).is_ok(),
            );
        }
        if !config.stdin || !config.walk.paths.is_empty() {
            source::walk(&config.walk, |entry| {
                let (report, raw_path) = match entry {
                    Entry::File { path, .. } => {
                        let (display, raw) = crate::report::display_path(&path);
                        (scan_file(&path, display, opts), raw)
                    }
                    Entry::Skipped { path, reason } => {
                        let (display, raw) = crate::report::display_path(&path);
                        (FileReport::skipped(display, reason), raw)
                    }
                };
                let _ = tx.send(FileReport { raw_path, ..report });
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
