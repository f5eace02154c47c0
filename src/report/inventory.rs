//! The inventory of personal information: GB/T 35273 §5.4a's list of what
//! sensitive personal information an organisation holds, how much, and
//! where.
//!
//! Memory does not grow with the number of files scanned, or with the
//! number holding findings: per kind a count, a distinct-value counter over
//! 64-bit keyed hashes (exact, then a fixed-size sketch:
//! [`super::distinct`]), how many files hold it and the few that hold most
//! of it. Skipped files and parts are counted by reason, and listed up to
//! [`LISTED_PER_REASON`] per reason (the first by path: a share of a
//! million images does not make a list of a million; `-v` says every one
//! on stderr as it happens). What grows is the list of classified columns,
//! which the summary lists one by one. No raw value is kept.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use serde::Serialize;

use super::distinct::Distinct;
use super::{Column, FileReport, Outcome};
use crate::classify::classify;
use crate::detect::{context, Confidence, Kind, MAX_KINDS};

/// How many locations the summary lists per kind.
const TOP_LOCATIONS: usize = 10;

/// How many skipped files and parts the summary lists per reason; the rest
/// are counted (`skipped_by_reason`, `skipped_unlisted`).
pub const LISTED_PER_REASON: usize = 1000;

/// What a skip is counted under: its reason without where in the file it
/// happened (`… (after 35651584 bytes)`, `… (the rest, after byte 812)`),
/// so that a share of many damaged archives or logs gives one count per
/// kind of damage, not one per file. The listed skips keep the whole
/// reason.
fn reason_key(reason: &str) -> &str {
    let Some(open) = reason.strip_suffix(')').and_then(|r| r.rfind(" (")) else {
        return reason;
    };
    let place = &reason[open + 2..reason.len() - 1];
    let shape: String = place.chars().filter(|c| !c.is_ascii_digit()).collect();
    let has_number = place.len() > shape.len();
    if has_number && matches!(shape.as_str(), "after  bytes" | "the rest, after byte ") {
        &reason[..open]
    } else {
        reason
    }
}

/// The skipped files and parts of one reason: how many, and the first
/// [`LISTED_PER_REASON`] of them by path and part (a max-heap, so the last
/// is dropped first): the same list whatever order the files come in.
#[derive(Debug, Default)]
struct Skips {
    count: u64,
    listed: BinaryHeap<Skip>,
}

#[derive(Debug, Default)]
struct KindStats {
    count: u64,
    high: u64,
    distinct: Distinct,
    /// Files holding the kind. A path walked twice (overlapping PATH
    /// arguments) counts twice, as it does in `files_scanned`.
    files: u64,
    /// The files holding most of the kind: at most [`TOP_LOCATIONS`],
    /// most first, then by path.
    top: Vec<Location>,
}

impl KindStats {
    /// Counts a file holding `count` findings of the kind.
    fn add_file(&mut self, path: &str, count: u64) {
        self.files += 1;
        // Where the file goes: after those with more, or as many and a
        // path before.
        let at = self
            .top
            .partition_point(|l| l.count > count || (l.count == count && l.path.as_str() <= path));
        if at < TOP_LOCATIONS {
            let path = path.to_string();
            self.top.insert(at, Location { path, count });
            self.top.truncate(TOP_LOCATIONS);
        }
    }
}

/// Running totals of a scan.
#[derive(Debug)]
pub struct Inventory {
    /// Share of a column's values that must hold a kind for the column to
    /// be classified as holding it.
    column_threshold: f64,
    kinds: BTreeMap<Kind, KindStats>,
    files_scanned: u64,
    bytes_scanned: u64,
    files_with_findings: u64,
    files_skipped: u64,
    parts_skipped: u64,
    /// By reason.
    skipped: BTreeMap<String, Skips>,
    columns: Vec<ColumnSummary>,
    /// Findings per kind so far of the files whose blocks are being added
    /// (their last block has not come), for those with findings: a file is
    /// counted in `files_with_findings` and per kind when its last block
    /// comes. Streams are read one per walker thread at most, so this stays
    /// small.
    streams: HashMap<String, PerKind>,
}

/// Findings per kind of one file (or of the blocks of a stream so far).
#[derive(Debug, Clone, Copy)]
struct PerKind([Option<(Kind, u64)>; MAX_KINDS]);

impl Default for PerKind {
    fn default() -> PerKind {
        PerKind([None; MAX_KINDS])
    }
}

impl PerKind {
    fn add(&mut self, kind: Kind, n: u64) {
        match &mut self.0[kind.index()] {
            Some((_, count)) => *count += n,
            slot => *slot = Some((kind, n)),
        }
    }

    fn merge(&mut self, other: &PerKind) {
        for (kind, n) in other.iter() {
            self.add(kind, n);
        }
    }

    /// The kinds found, in [`Kind::index`] order, with their counts.
    fn iter(&self) -> impl Iterator<Item = (Kind, u64)> + '_ {
        self.0.iter().flatten().copied()
    }
}

/// A file, or a part of one (archive member, sheet), that was not scanned.
/// Ordered by path, then part.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Skip {
    /// Path as walked.
    pub path: String,
    /// The path's bytes, base64, when they are not valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_b64: Option<String>,
    /// The part inside the file, when only a part was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// Why it was not scanned.
    pub reason: String,
}

impl Ord for Skip {
    fn cmp(&self, other: &Skip) -> Ordering {
        (&self.path, &self.member, &self.path_b64, &self.reason).cmp(&(
            &other.path,
            &other.member,
            &other.path_b64,
            &other.reason,
        ))
    }
}

impl PartialOrd for Skip {
    fn partial_cmp(&self, other: &Skip) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// How many values under one name held each kind: one line of the
/// per-column inventory (`roster.xlsx / 员工 / 身份证号: 500 of 500`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ColumnSummary {
    /// Path as walked.
    pub path: String,
    /// Archive member chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// Spreadsheet sheet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// Database table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Header, key path or column name.
    pub field: String,
    /// Values scanned under it.
    pub values: u64,
    /// Values holding each kind found there, most first.
    pub kinds: Vec<ColumnKind>,
}

/// One kind's share of a column.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ColumnKind {
    /// Detector id.
    pub kind: &'static str,
    /// Whether the kind is sensitive.
    pub sensitive: bool,
    /// Values holding the kind.
    pub count: u64,
    /// `count / values`.
    pub ratio: f64,
    /// The verdict: the column holds this kind, because the ratio reaches
    /// the threshold (`--column-threshold`, default 0.5) or the column's
    /// name is a context word for the kind and some values validate.
    pub holds: bool,
}

/// Where a kind occurs, and how often.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Location {
    /// Path as walked.
    pub path: String,
    /// Findings of the kind in that file.
    pub count: u64,
}

/// One row of the inventory.
#[derive(Debug, Clone, Serialize)]
pub struct KindSummary {
    /// Detector id.
    pub kind: &'static str,
    /// Chinese label.
    pub label_zh: &'static str,
    /// English label.
    pub label_en: &'static str,
    /// Appendix A category.
    pub category: &'static str,
    /// Appendix B sensitivity.
    pub sensitive: bool,
    /// Findings of this kind.
    pub count: u64,
    /// Findings with high confidence.
    pub high_confidence: u64,
    /// Distinct values (counted by keyed hash; estimated past 524 288,
    /// see [`crate::report::distinct`]).
    pub distinct: u64,
    /// Present and true when `distinct` is an estimate (about ±1 %).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub distinct_estimated: bool,
    /// Files holding this kind.
    pub files: u64,
    /// The files holding most of it, most first.
    pub top_locations: Vec<Location>,
}

/// The summary of a scan (`"summary"` in `--format json`).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Per kind, sensitive kinds first, then by count.
    pub kinds: Vec<KindSummary>,
    /// All findings.
    pub findings: u64,
    /// Findings of sensitive kinds.
    pub sensitive_findings: u64,
    /// Files scanned.
    pub files_scanned: u64,
    /// Files with at least one finding.
    pub files_with_findings: u64,
    /// Bytes read from scanned files.
    pub bytes_scanned: u64,
    /// Files not scanned.
    pub files_skipped: u64,
    /// Parts of scanned files not scanned: archive members, sheets, the
    /// rest of a truncated stream.
    pub parts_skipped: u64,
    /// Skipped files and parts counted by reason (without the place in
    /// the file a reason may end with).
    pub skipped_by_reason: BTreeMap<String, u64>,
    /// The skipped files and parts with their reasons, sorted by path: every
    /// one, up to [`LISTED_PER_REASON`] per reason (the first by path).
    pub skipped: Vec<Skip>,
    /// Skipped files and parts counted in `skipped_by_reason` but not
    /// listed in `skipped` (over [`LISTED_PER_REASON`] for their reason).
    pub skipped_unlisted: u64,
    /// Columns (CSV/spreadsheet headers, JSON key paths, table columns)
    /// holding personal information, sensitive kinds first.
    pub columns: Vec<ColumnSummary>,
    /// Wall-clock duration of the scan.
    pub elapsed_seconds: f64,
}

fn column_summary(path: &str, column: &Column, threshold: f64) -> ColumnSummary {
    let named = context::in_field(&column.field).pro.union(column.named);
    let mut kinds: Vec<ColumnKind> = Kind::all()
        .into_iter()
        .filter(|kind| column.hits[kind.index()] > 0)
        .map(|kind| {
            let count = column.hits[kind.index()];
            let ratio = count as f64 / column.values.max(1) as f64;
            ColumnKind {
                kind: kind.id(),
                sensitive: classify(kind).sensitive,
                count,
                ratio,
                holds: ratio >= threshold || named.contains(kind),
            }
        })
        .collect();
    kinds.sort_by_key(|k| std::cmp::Reverse((k.holds, k.sensitive, k.count)));
    ColumnSummary {
        path: path.to_string(),
        member: column.member.clone(),
        sheet: column.sheet.clone(),
        table: column.table.clone(),
        field: column.field.clone(),
        values: column.values,
        kinds,
    }
}

impl Default for Inventory {
    fn default() -> Inventory {
        Inventory::new(0.5)
    }
}

impl Inventory {
    /// An empty inventory classifying columns at `column_threshold`.
    pub fn new(column_threshold: f64) -> Inventory {
        Inventory {
            column_threshold,
            kinds: BTreeMap::new(),
            files_scanned: 0,
            bytes_scanned: 0,
            files_with_findings: 0,
            files_skipped: 0,
            parts_skipped: 0,
            skipped: BTreeMap::new(),
            columns: Vec::new(),
            streams: HashMap::new(),
        }
    }

    /// Adds one file's outcome and findings, or one block of a stream
    /// ([`Outcome::Partial`]): its bytes and findings count, and the stream
    /// counts as one file when its last block comes.
    pub fn add(&mut self, report: &FileReport) {
        match &report.outcome {
            Outcome::Partial { bytes } => self.bytes_scanned += bytes,
            Outcome::Scanned { bytes, .. } => {
                self.files_scanned += 1;
                self.bytes_scanned += bytes;
            }
            Outcome::Skipped { reason } => {
                self.files_skipped += 1;
                self.skip(report, None, reason);
            }
        }
        for part in &report.skipped_parts {
            self.parts_skipped += 1;
            let member = Some(part.part.as_str()).filter(|p| !p.is_empty());
            self.skip(report, member, &part.reason);
        }
        for column in report
            .columns
            .iter()
            .filter(|c| c.hits.iter().any(|&n| n > 0))
        {
            self.columns
                .push(column_summary(&report.path, column, self.column_threshold));
        }
        let mut per_kind = PerKind::default();
        for f in &report.findings {
            let stats = self.kinds.entry(f.kind).or_default();
            stats.count += 1;
            stats.high += u64::from(f.confidence == Confidence::High);
            stats.distinct.insert(f.value_hash);
            per_kind.add(f.kind, 1);
        }
        if matches!(report.outcome, Outcome::Partial { .. }) {
            if !report.findings.is_empty() {
                let so_far = match self.streams.get_mut(&report.path) {
                    Some(so_far) => so_far,
                    None => self.streams.entry(report.path.clone()).or_default(),
                };
                so_far.merge(&per_kind);
            }
            return;
        }
        if let Some(earlier) = self.streams.remove(&report.path) {
            per_kind.merge(&earlier);
        }
        let mut found = false;
        for (kind, n) in per_kind.iter() {
            found = true;
            self.kinds
                .entry(kind)
                .or_default()
                .add_file(&report.path, n);
        }
        self.files_with_findings += u64::from(found);
    }

    /// Counts a skipped file or part of `report`, and lists it while it is
    /// among the first of its reason.
    fn skip(&mut self, report: &FileReport, member: Option<&str>, reason: &str) {
        let key = reason_key(reason);
        let skips = match self.skipped.get_mut(key) {
            Some(skips) => skips,
            None => self.skipped.entry(key.to_string()).or_default(),
        };
        skips.count += 1;
        if skips.listed.len() >= LISTED_PER_REASON {
            let before_last = skips.listed.peek().is_some_and(|last| {
                (report.path.as_str(), member) < (last.path.as_str(), last.member.as_deref())
            });
            if !before_last {
                // After every listed one: only counted (no strings made).
                return;
            }
            skips.listed.pop();
        }
        skips.listed.push(Skip {
            path: report.path.clone(),
            path_b64: report.raw_path.as_deref().map(super::base64),
            member: member.map(str::to_string),
            reason: reason.to_string(),
        });
    }

    /// Files scanned so far.
    pub fn files_scanned(&self) -> u64 {
        self.files_scanned
    }

    /// The summary, with the scan's elapsed time.
    pub fn summary(&self, elapsed_seconds: f64) -> Summary {
        let mut kinds: Vec<KindSummary> = self
            .kinds
            .iter()
            .map(|(&kind, stats)| {
                let class = classify(kind);
                KindSummary {
                    kind: kind.id(),
                    label_zh: class.label_zh,
                    label_en: class.label_en,
                    category: class.category,
                    sensitive: class.sensitive,
                    count: stats.count,
                    high_confidence: stats.high,
                    distinct: stats.distinct.count(),
                    distinct_estimated: stats.distinct.is_estimate(),
                    files: stats.files,
                    top_locations: stats.top.clone(),
                }
            })
            .collect();
        kinds.sort_by(|a, b| {
            b.sensitive
                .cmp(&a.sensitive)
                .then(b.count.cmp(&a.count))
                .then(a.kind.cmp(b.kind))
        });
        let mut skipped: Vec<Skip> = self
            .skipped
            .values()
            .flat_map(|skips| skips.listed.iter().cloned())
            .collect();
        skipped.sort();
        let mut columns = self.columns.clone();
        columns.sort_by(|a, b| {
            let key = |c: &ColumnSummary| {
                let top = c.kinds.first();
                (
                    std::cmp::Reverse(top.is_some_and(|k| k.holds)),
                    std::cmp::Reverse(top.is_some_and(|k| k.sensitive)),
                    std::cmp::Reverse(top.map_or(0, |k| k.count)),
                )
            };
            key(a).cmp(&key(b)).then_with(|| a.path.cmp(&b.path))
        });
        let skipped_by_reason: BTreeMap<String, u64> = self
            .skipped
            .iter()
            .map(|(reason, skips)| (reason.clone(), skips.count))
            .collect();
        let all: u64 = skipped_by_reason.values().sum();
        Summary {
            findings: kinds.iter().map(|k| k.count).sum(),
            sensitive_findings: kinds.iter().filter(|k| k.sensitive).map(|k| k.count).sum(),
            kinds,
            files_scanned: self.files_scanned,
            files_with_findings: self.files_with_findings,
            bytes_scanned: self.bytes_scanned,
            files_skipped: self.files_skipped,
            parts_skipped: self.parts_skipped,
            skipped_by_reason,
            skipped_unlisted: all - skipped.len() as u64,
            skipped,
            columns,
            elapsed_seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Finding;
    use crate::synth::Rng;

    fn finding(kind: Kind, value: u64) -> Finding {
        Finding {
            member: None,
            line: Some(1),
            col: Some(1),
            sheet: None,
            cell: None,
            table: None,
            row: None,
            field: None,
            kind,
            confidence: Confidence::High,
            shown: compact_str::CompactString::default(),
            value_hash: value,
            stable_hash: None,
        }
    }

    fn report(path: &str, outcome: Outcome, findings: Vec<Finding>) -> FileReport {
        FileReport {
            outcome,
            findings,
            ..FileReport::skipped(path.to_string(), String::new())
        }
    }

    fn scanned() -> Outcome {
        Outcome::Scanned {
            bytes: 1,
            encoding: "UTF-8",
        }
    }

    /// Skipped files and parts are all counted, and listed up to
    /// [`LISTED_PER_REASON`] per reason: the first by path and part,
    /// whatever order they come in.
    #[test]
    fn skips_are_counted_and_the_first_listed_per_reason() {
        let mut rng = Rng::new(8);
        let mut images: Vec<String> = (0..2_500).map(|i| format!("img/{i:05}.png")).collect();
        // Shuffled: the walk's order is not the paths' order.
        for i in (1..images.len()).rev() {
            images.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let listed = |order: &[String]| {
            let mut inventory = Inventory::default();
            for path in order {
                inventory.add(&FileReport::skipped(path.clone(), "PNG image".into()));
            }
            let mut jar = report("lib/a.jar", scanned(), Vec::new());
            jar.skipped_parts = (0..1_200)
                .rev()
                .map(|i| crate::report::PartSkip {
                    part: format!("c/{i:04}.class"),
                    reason: "binary data (NUL bytes)".into(),
                })
                .collect();
            inventory.add(&jar);
            inventory.add(&FileReport::skipped("z/locked".into(), "unreadable".into()));
            inventory.summary(0.0)
        };
        let summary = listed(&images);
        assert_eq!(summary.files_skipped, 2_501);
        assert_eq!(summary.parts_skipped, 1_200);
        assert_eq!(summary.skipped_by_reason["PNG image"], 2_500);
        assert_eq!(summary.skipped_by_reason["binary data (NUL bytes)"], 1_200);
        assert_eq!(summary.skipped_by_reason["unreadable"], 1);
        assert_eq!(summary.skipped.len(), 2 * LISTED_PER_REASON + 1);
        assert_eq!(summary.skipped_unlisted, 1_500 + 200);
        let pngs: Vec<&str> = summary
            .skipped
            .iter()
            .filter(|s| s.reason == "PNG image")
            .map(|s| s.path.as_str())
            .collect();
        let mut first = images.clone();
        first.sort();
        first.truncate(LISTED_PER_REASON);
        assert_eq!(pngs, first);
        let members: Vec<&str> = summary
            .skipped
            .iter()
            .filter_map(|s| s.member.as_deref())
            .collect();
        assert_eq!(members.first(), Some(&"c/0000.class"));
        assert_eq!(members.last(), Some(&"c/0999.class"));
        assert!(summary.skipped.windows(2).all(|w| w[0] <= w[1]));
        // The same list in another order.
        images.reverse();
        assert_eq!(listed(&images).skipped, summary.skipped);
    }

    /// The top locations are the files with most findings of the kind,
    /// ties by path, as if all files were kept and sorted at the end.
    #[test]
    fn top_locations_are_those_of_a_full_sort() {
        let mut rng = Rng::new(7);
        let mut inventory = Inventory::default();
        let mut all: Vec<(u64, String)> = Vec::new();
        for i in 0..2_000 {
            let path = format!("f{:04}", rng.below(10_000) * 10_000 + i);
            let n = rng.below(4);
            let findings = (0..n).map(|v| finding(Kind::Mobile, v)).collect();
            inventory.add(&report(&path, scanned(), findings));
            if n > 0 {
                all.push((n, path));
            }
        }
        all.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let summary = inventory.summary(0.0);
        let kind = &summary.kinds[0];
        assert_eq!(kind.files, all.len() as u64);
        assert_eq!(summary.files_with_findings, all.len() as u64);
        let want: Vec<Location> = all
            .into_iter()
            .take(TOP_LOCATIONS)
            .map(|(count, path)| Location { path, count })
            .collect();
        assert_eq!(kind.top_locations, want);
    }

    /// The blocks of a stream count as one file, with the findings of all
    /// its blocks, also when another file's report comes in between.
    #[test]
    fn a_stream_counts_once_with_all_its_blocks() {
        let mut inventory = Inventory::default();
        let block = |kind| vec![finding(kind, 1), finding(kind, 2)];
        let partial = || Outcome::Partial { bytes: 1 };
        inventory.add(&report("big", partial(), block(Kind::Mobile)));
        inventory.add(&report("big", partial(), Vec::new()));
        inventory.add(&report("small", scanned(), block(Kind::Mobile)));
        inventory.add(&report("big", partial(), block(Kind::Imei)));
        inventory.add(&report("big", scanned(), block(Kind::Mobile)));
        inventory.add(&report("quiet", partial(), Vec::new()));
        inventory.add(&report("quiet", scanned(), Vec::new()));
        let summary = inventory.summary(0.0);
        assert_eq!(summary.files_with_findings, 2);
        assert_eq!(summary.files_scanned, 3);
        let of = |id| summary.kinds.iter().find(|k| k.kind == id).unwrap();
        let mobile = of(Kind::Mobile.id());
        assert_eq!((mobile.count, mobile.files), (6, 2));
        let location = |path: &str, count| Location {
            path: path.to_string(),
            count,
        };
        assert_eq!(
            mobile.top_locations,
            [location("big", 4), location("small", 2)]
        );
        assert_eq!(of(Kind::Imei.id()).top_locations, [location("big", 2)]);
        assert!(inventory.streams.is_empty());
    }

    #[test]
    fn skips_are_counted_by_reason_without_their_place() {
        let mut inventory = Inventory::default();
        for (path, at) in [("a.zip", 35_651_584), ("b.zip", 812)] {
            let mut archive = report(path, scanned(), Vec::new());
            archive.skipped_parts = vec![
                crate::report::PartSkip {
                    part: "app.log".into(),
                    reason: format!("compression ratio above 100:1 (after {at} bytes)"),
                },
                crate::report::PartSkip {
                    part: "x.log".into(),
                    reason: format!("unexpected end of file (the rest, after byte {at})"),
                },
            ];
            inventory.add(&archive);
        }
        let keep = "corrupt zip member (member 7)";
        inventory.add(&FileReport::skipped("c.zip".into(), keep.into()));
        let summary = inventory.summary(0.0);
        let keys: Vec<(&str, u64)> = summary
            .skipped_by_reason
            .iter()
            .map(|(k, &n)| (k.as_str(), n))
            .collect();
        assert_eq!(
            keys,
            [
                ("compression ratio above 100:1", 2),
                (keep, 1),
                ("unexpected end of file", 2),
            ]
        );
        // Listed with the whole reason.
        assert_eq!(
            summary.skipped[0].reason,
            "compression ratio above 100:1 (after 35651584 bytes)"
        );
        assert_eq!(reason_key("x (after bytes)"), "x (after bytes)");
        assert_eq!(reason_key("x (after 1 2 bytes)"), "x (after 1 2 bytes)");
    }
}
