//! Output formats: `table` for people, `jsonl` and `json` for programs,
//! `sarif` for code-scanning UIs, `csv` for spreadsheets, `md` (the
//! inventory only) for compliance documents.
//!
//! Every finding is rendered into one reused byte buffer and written through
//! a single buffered writer owned by the reporter, so output never
//! interleaves and costs no allocation per finding beyond its fields.

use std::io::{self, Write};

use super::inventory::{KindSummary, Summary};
use super::{sarif, FileReport, Finding, Outcome};
use crate::classify::classify;

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Findings grouped by file, then the inventory, for a terminal.
    Table,
    /// One JSON object per finding per line.
    Jsonl,
    /// `{"findings": [...], "summary": {...}}`.
    Json,
    /// SARIF 2.1.0: one rule per kind, one result per finding.
    Sarif,
    /// A header row, then one row per finding; UTF-8 with BOM.
    Csv,
    /// The inventory as Markdown tables (no findings).
    Markdown,
}

/// Header row of `--format csv`.
pub const CSV_HEADER: [&str; 14] = [
    "path",
    "member",
    "line",
    "col",
    "sheet",
    "cell",
    "table",
    "row",
    "field",
    "kind",
    "category",
    "sensitive",
    "match",
    "confidence",
];

const RESET: &str = "\x1b[0m";
const BOLD_MAGENTA: &str = "\x1b[1;35m";
const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[33m";

/// Writes a report in one format.
pub struct Output<W: Write> {
    w: W,
    format: Format,
    color: bool,
    buf: Vec<u8>,
    findings_written: u64,
    /// Table format: the path whose group is open (its header is written
    /// and more blocks of it follow, see [`Outcome::Partial`]).
    table_open: Option<String>,
}

impl<W: Write> Output<W> {
    /// An output writing `format` to `w`, with ANSI colours if `color`
    /// (only the table format uses them).
    pub fn new(w: W, format: Format, color: bool) -> Output<W> {
        Output {
            w,
            format,
            color,
            buf: Vec::with_capacity(64 * 1024),
            findings_written: 0,
            table_open: None,
        }
    }

    /// Writes what comes before the first file.
    pub fn begin(&mut self) -> io::Result<()> {
        match self.format {
            Format::Json => self.w.write_all(b"{\"findings\":["),
            Format::Sarif => sarif::write_begin(&mut self.w),
            Format::Csv => {
                self.w.write_all("\u{feff}".as_bytes())?;
                let mut csv = csv::Writer::from_writer(&mut self.w);
                csv.write_record(CSV_HEADER)?;
                csv.flush()
            }
            _ => Ok(()),
        }
    }

    /// Writes the findings of one file.
    pub fn file(&mut self, report: &FileReport) -> io::Result<()> {
        if self.format == Format::Table {
            // The blocks of large files scanned at the same time may come
            // interleaved: another file's report closes the open group, and
            // the stream's next findings open a new one under its path.
            if self.table_open.as_ref().is_some_and(|p| *p != report.path) {
                self.table_open = None;
                self.w.write_all(b"\n")?;
            }
            // An open group is closed by its last block, findings or not.
            if self.table_open.is_none() && report.findings.is_empty() {
                return Ok(());
            }
            self.buf.clear();
            self.table_file(report)?;
            return self.w.write_all(&self.buf);
        }
        if report.findings.is_empty() {
            return Ok(());
        }
        self.buf.clear();
        match self.format {
            Format::Jsonl | Format::Json => {
                let head = json_head(&report.path, report.raw_path.as_deref());
                for f in &report.findings {
                    if self.format == Format::Json && self.findings_written > 0 {
                        self.buf.push(b',');
                    }
                    write_json(&mut self.buf, &head, f);
                    if self.format == Format::Jsonl {
                        self.buf.push(b'\n');
                    }
                    self.findings_written += 1;
                }
            }
            Format::Sarif => {
                for f in &report.findings {
                    if self.findings_written > 0 {
                        self.buf.push(b',');
                    }
                    sarif::write_result(
                        &mut self.buf,
                        &report.path,
                        report.raw_path.as_deref(),
                        f,
                    )?;
                    self.findings_written += 1;
                }
            }
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(&mut self.buf);
                for f in &report.findings {
                    write_csv(&mut csv, &report.path, f)?;
                }
                csv.flush()?;
            }
            // Table is written above; Markdown has the inventory only.
            Format::Table | Format::Markdown => return Ok(()),
        }
        self.w.write_all(&self.buf)
    }

    /// Flushes what was written so far (after a block of a stream, whose
    /// next block may be long in coming).
    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    /// Writes what comes after the last file, and flushes.
    pub fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        match self.format {
            Format::Json => {
                self.w.write_all(b"],\"summary\":")?;
                serde_json::to_writer(&mut self.w, summary)?;
                self.w.write_all(b"}\n")?;
            }
            Format::Table => {
                self.buf.clear();
                write_inventory(&mut self.buf, summary, self.color)?;
                self.w.write_all(&self.buf)?;
            }
            Format::Sarif => sarif::write_finish(&mut self.w)?,
            Format::Markdown => {
                self.buf.clear();
                write_markdown(&mut self.buf, summary)?;
                self.w.write_all(&self.buf)?;
            }
            Format::Jsonl | Format::Csv => {}
        }
        self.w.flush()
    }

    fn paint(&self, color: &str, text: &str) -> String {
        if self.color {
            format!("{color}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    /// Writes one file's group: the path, then its findings, then a blank
    /// line. The blocks of a stream make one group: the header comes with
    /// the first findings, the blank line with the last block.
    fn table_file(&mut self, report: &FileReport) -> io::Result<()> {
        if self.table_open.is_none() && !report.findings.is_empty() {
            let header = self.paint(BOLD_MAGENTA, &report.path);
            writeln!(self.buf, "{header}")?;
            self.table_open = Some(report.path.clone());
        }
        let mut member = None;
        for f in &report.findings {
            if f.member.is_some() && f.member != member {
                member.clone_from(&f.member);
                let name = self.paint(BOLD_MAGENTA, f.member.as_deref().unwrap_or_default());
                writeln!(self.buf, "  in {name}")?;
            }
            let class = classify(f.kind);
            let place = self.paint(GREEN, &format!("{:<9}", place_label(f)));
            let (color, tag) = if class.sensitive {
                (RED, "sensitive")
            } else {
                (YELLOW, "")
            };
            let kind = self.paint(color, &format!("{:<15}", f.kind.id()));
            let field = f
                .field
                .as_deref()
                .map(|s| format!("  [{s}]"))
                .unwrap_or_default();
            writeln!(
                self.buf,
                "  {place} {kind} {tag:<9}  {:<22} {:<6}  {}{field}",
                f.shown,
                f.confidence.as_str(),
                class.label_zh,
            )?;
        }
        if self.table_open.is_some() && !matches!(report.outcome, Outcome::Partial { .. }) {
            self.table_open = None;
            writeln!(self.buf)?;
        }
        Ok(())
    }
}

/// The bytes a JSON string escapes: `"`, `\\` and the control characters.
static ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Appends `text` as a quoted JSON string, escaped as `serde_json` escapes
/// it: `"`, `\\` and the control characters, nothing else.
fn json_string(buf: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    buf.reserve(bytes.len() + 2);
    buf.push(b'"');
    let mut start = 0;
    let first = bytes
        .iter()
        .position(|&b| ESCAPED[usize::from(b)])
        .unwrap_or(bytes.len());
    for (i, &b) in bytes.iter().enumerate().skip(first) {
        let mut control = *b"\\u0000";
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => {
                control[4] = HEX[usize::from(b >> 4)];
                control[5] = HEX[usize::from(b & 15)];
                &control
            }
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        buf.extend_from_slice(escape);
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
    buf.push(b'"');
}

/// Appends `key` (the literal `,"name":`) and `value` as a JSON string.
fn json_str(buf: &mut Vec<u8>, key: &[u8], value: &str) {
    buf.extend_from_slice(key);
    json_string(buf, value);
}

/// Appends `key` (the literal `,"name":`) and `n`.
fn json_u64(buf: &mut Vec<u8>, key: &[u8], n: u64) {
    buf.extend_from_slice(key);
    buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// The opening of a finding's JSON object up to its path fields, the same
/// for every finding of a file: `{"path":…` and, when `raw_path` holds the
/// bytes `path` is a lossy rendering of, `path_b64` after it.
pub fn json_head(path: &str, raw_path: Option<&[u8]>) -> Vec<u8> {
    let mut head = b"{\"path\":".to_vec();
    json_string(&mut head, path);
    if let Some(raw) = raw_path {
        json_str(&mut head, b",\"path_b64\":", &super::base64(raw));
    }
    head
}

/// Appends one finding as a JSON object (no newline), fields in contract
/// order; location fields only when set. `head` is the object's opening
/// and the path fields of its file ([`json_head`]).
pub fn write_json(buf: &mut Vec<u8>, head: &[u8], f: &Finding) {
    let class = classify(f.kind);
    buf.extend_from_slice(head);
    if let Some(member) = &f.member {
        json_str(buf, b",\"member\":", member);
    }
    if let (Some(line), Some(col)) = (f.line, f.col) {
        json_u64(buf, b",\"line\":", line);
        json_u64(buf, b",\"col\":", col);
    }
    if let Some(sheet) = &f.sheet {
        json_str(buf, b",\"sheet\":", sheet);
    }
    if let Some(cell) = &f.cell {
        json_str(buf, b",\"cell\":", cell);
    }
    if let Some(table) = &f.table {
        json_str(buf, b",\"table\":", table);
    }
    if let Some(row) = f.row {
        json_u64(buf, b",\"row\":", row);
    }
    if let Some(field) = &f.field {
        json_str(buf, b",\"field\":", field);
    }
    // Kind ids and categories are plain identifiers: nothing to escape.
    buf.extend_from_slice(b",\"kind\":\"");
    buf.extend_from_slice(f.kind.id().as_bytes());
    buf.extend_from_slice(b"\",\"category\":\"");
    buf.extend_from_slice(class.category.as_bytes());
    let sensitive: &[u8] = if class.sensitive {
        b"\",\"sensitive\":true"
    } else {
        b"\",\"sensitive\":false"
    };
    buf.extend_from_slice(sensitive);
    json_str(buf, b",\"match\":", &f.shown);
    buf.extend_from_slice(b",\"confidence\":\"");
    buf.extend_from_slice(f.confidence.as_str().as_bytes());
    buf.extend_from_slice(b"\"}");
}

/// A text cell for a spreadsheet: one starting with `=`, `+`, `-`, `@`, tab
/// or carriage return gets a leading `'`, so Excel does not run it as a
/// formula (scanned paths, sheet and field names are untrusted text).
fn excel_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// Writes one finding as a CSV row in [`CSV_HEADER`] order; absent fields
/// are empty.
fn write_csv<W: Write>(csv: &mut csv::Writer<W>, path: &str, f: &Finding) -> io::Result<()> {
    let class = classify(f.kind);
    fn text<S: AsRef<str>>(v: &Option<S>) -> std::borrow::Cow<'_, str> {
        v.as_ref()
            .map(|s| excel_safe(s.as_ref()))
            .unwrap_or_default()
    }
    let num = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
    let record: [std::borrow::Cow<'_, str>; 14] = [
        excel_safe(path),
        text(&f.member),
        num(f.line).into(),
        num(f.col).into(),
        text(&f.sheet),
        text(&f.cell),
        text(&f.table),
        num(f.row).into(),
        text(&f.field),
        f.kind.id().into(),
        class.category.into(),
        if class.sensitive { "true" } else { "false" }.into(),
        excel_safe(&f.shown),
        f.confidence.as_str().into(),
    ];
    csv.write_record(record.iter().map(|c| c.as_bytes()))?;
    Ok(())
}

/// The distinct count for people: `~` marks an estimate.
fn distinct(k: &KindSummary) -> String {
    if k.distinct_estimated {
        format!("~{}", k.distinct)
    } else {
        k.distinct.to_string()
    }
}

/// A Markdown table cell: `|` escaped, line breaks as spaces.
fn md_cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// The inventory as Markdown: kinds, columns, and the scan line.
fn write_markdown(buf: &mut Vec<u8>, s: &Summary) -> io::Result<()> {
    writeln!(
        buf,
        "## Personal information inventory (GB/T 35273 §5.4a)\n"
    )?;
    if s.kinds.is_empty() {
        writeln!(buf, "No personal information found.\n")?;
    } else {
        writeln!(
            buf,
            "| kind | label 中文 | category | sensitive | findings | distinct | files |"
        )?;
        writeln!(buf, "|---|---|---|---|---:|---:|---:|")?;
        for k in &s.kinds {
            writeln!(
                buf,
                "| `{}` | {} | `{}` | {} | {} | {} | {} |",
                k.kind,
                md_cell(k.label_zh),
                k.category,
                if k.sensitive { "**yes**" } else { "no" },
                k.count,
                distinct(k),
                k.files,
            )?;
        }
        writeln!(buf)?;
    }
    if !s.columns.is_empty() {
        writeln!(buf, "## Columns holding personal information\n")?;
        writeln!(
            buf,
            "| location | field | kind | sensitive | ratio | values |"
        )?;
        writeln!(buf, "|---|---|---|---|---:|---:|")?;
        for c in &s.columns {
            let mut location = c.path.clone();
            for part in [&c.member, &c.sheet, &c.table].into_iter().flatten() {
                location.push_str(" / ");
                location.push_str(part);
            }
            for k in &c.kinds {
                writeln!(
                    buf,
                    "| {} | {} | `{}` | {} | {:.1} %{} | {} |",
                    md_cell(&location),
                    md_cell(&c.field),
                    k.kind,
                    if k.sensitive { "**yes**" } else { "no" },
                    k.ratio * 100.0,
                    if k.holds { "" } else { " (too few)" },
                    c.values,
                )?;
            }
        }
        writeln!(buf)?;
    }
    writeln!(buf, "**Scan:** {}", scan_line(s))
}

/// Where a finding is inside its file (or archive member), for people:
/// `line:col`, `sheet!cell`, `table row N`.
pub fn place_label(f: &Finding) -> String {
    let mut parts = Vec::new();
    if let (Some(line), Some(col)) = (f.line, f.col) {
        parts.push(format!("{line}:{col}"));
    }
    if let (Some(sheet), Some(cell)) = (&f.sheet, &f.cell) {
        parts.push(format!("{sheet}!{cell}"));
    }
    match (&f.table, f.row) {
        (Some(table), Some(row)) => parts.push(format!("{table} row {row}")),
        (Some(table), None) => parts.push(table.to_string()),
        _ => {}
    }
    parts.join(" ")
}

/// `1204311` as `1,204,311`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Human-readable byte count.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// One line describing the scan, for the end of every report.
pub fn scan_line(s: &Summary) -> String {
    let mut line = format!(
        "{} findings ({} sensitive) in {} of {} files scanned, {} in {:.2} s",
        s.findings,
        s.sensitive_findings,
        s.files_with_findings,
        s.files_scanned,
        human_bytes(s.bytes_scanned),
        s.elapsed_seconds
    );
    if s.files_skipped + s.parts_skipped > 0 {
        let reasons: Vec<String> = s
            .skipped_by_reason
            .iter()
            .map(|(reason, n)| format!("{reason}: {n}"))
            .collect();
        let what = match (s.files_skipped, s.parts_skipped) {
            (files, 0) => format!("{files} skipped"),
            (0, parts) => format!("{parts} archive members or parts skipped"),
            (files, parts) => format!("{files} skipped, {parts} archive members or parts skipped"),
        };
        line.push_str(&format!("; {what} ({})", reasons.join(", ")));
    }
    line
}

fn write_inventory(buf: &mut Vec<u8>, s: &Summary, color: bool) -> io::Result<()> {
    let bold = |t: &str| {
        if color {
            format!("\x1b[1m{t}{RESET}")
        } else {
            t.to_string()
        }
    };
    writeln!(
        buf,
        "{}",
        bold("Personal information inventory (GB/T 35273 §5.4a)")
    )?;
    if s.kinds.is_empty() {
        writeln!(buf, "  no personal information found")?;
    } else {
        writeln!(
            buf,
            "  {:<15} {:<9} {:<26} {:>9} {:>9} {:>6}  top location",
            "kind", "sensitive", "category", "findings", "distinct", "files"
        )?;
        for k in &s.kinds {
            let top = k
                .top_locations
                .first()
                .map_or(String::new(), |l| format!("{} ({})", l.path, l.count));
            writeln!(
                buf,
                "  {:<15} {:<9} {:<26} {:>9} {:>9} {:>6}  {top}",
                k.kind,
                if k.sensitive { "yes" } else { "no" },
                k.category,
                k.count,
                distinct(k),
                k.files,
            )?;
        }
    }
    if !s.columns.is_empty() {
        writeln!(
            buf,
            "{}",
            bold("Columns holding personal information (sensitive first)")
        )?;
        for c in &s.columns {
            let mut name = c.path.clone();
            for part in [&c.member, &c.sheet].into_iter().flatten() {
                name.push_str(" / ");
                name.push_str(part);
            }
            match &c.table {
                Some(table) => name.push_str(&format!(" / {table}.{}", c.field)),
                None => name.push_str(&format!(" / {}", c.field)),
            }
            let unit = match (c.table.is_some(), c.values == 1) {
                (true, true) => "row",
                (true, false) => "rows",
                (false, true) => "value",
                (false, false) => "values",
            };
            for k in &c.kinds {
                writeln!(
                    buf,
                    "  {name} — {} — {} — {:.1} % of {} {unit}{}",
                    k.kind,
                    if k.sensitive {
                        "sensitive"
                    } else {
                        "not sensitive"
                    },
                    k.ratio * 100.0,
                    thousands(c.values),
                    if k.holds {
                        ""
                    } else {
                        " (too few to classify the column)"
                    },
                )?;
            }
        }
    }
    writeln!(buf, "{}", scan_line(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Inventory;
    use crate::scan::{scan_buffer, ScanOptions};

    fn block(path: &str, text: &str, last: bool) -> FileReport {
        let mut report = scan_buffer(text.as_bytes(), path.into(), &ScanOptions::default());
        if !last {
            report.outcome = Outcome::Partial { bytes: 1 };
        }
        report
    }

    #[test]
    fn interleaved_blocks_of_streams_regroup_under_their_path() {
        let reports = [
            block("p.log", "手机 13812345678\n", false),
            block("q.log", "手机 13912345678\n", true),
            block("p.log", "手机 13712345678\n", false),
            block("p.log", "nothing\n", true),
        ];
        let mut out = Output::new(Vec::new(), Format::Table, false);
        let mut inventory = Inventory::new(0.5);
        for r in &reports {
            out.file(r).unwrap();
            inventory.add(r);
        }
        let text = String::from_utf8(out.w).unwrap();
        let headers: Vec<&str> = text.lines().filter(|l| l.ends_with(".log")).collect();
        assert_eq!(headers, ["p.log", "q.log", "p.log"], "{text}");
        assert_eq!(text.matches("cn_mobile").count(), 3);
        assert!(text.ends_with("\n\n"), "the last group is closed: {text:?}");
        let summary = inventory.summary(0.0);
        assert_eq!(summary.files_scanned, 2);
        assert_eq!(summary.files_with_findings, 2);
    }

    #[test]
    fn json_strings_are_escaped_as_serde_json_escapes_them() {
        let ascii: String = (0u8..0x80).map(char::from).collect();
        for text in [
            ascii.as_str(),
            "",
            "plain",
            "名单\u{2028}\u{7f}\u{feff}\"\\x",
        ] {
            let mut buf = Vec::new();
            json_string(&mut buf, text);
            assert_eq!(
                String::from_utf8(buf).unwrap(),
                serde_json::to_string(text).unwrap()
            );
        }
    }

    #[test]
    fn numbers_for_people() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_204_311), "1,204,311");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
    }
}
