//! OpenDocument spreadsheets (`.ods`), read with `zip` and `quick-xml`.
//!
//! # Why not calamine
//!
//! An ODS file writes a run of equal cells, or of equal rows, once with a
//! repeat count (`table:number-columns-repeated`,
//! `table:number-rows-repeated`). calamine expands those counts into a dense
//! range of up to 100 million cells when the workbook is opened: a file of
//! 914 bytes holding one phone number repeated over 1 000 columns and
//! 100 000 rows took 12.5 GB. It also holds every sheet whole. Here
//! `content.xml` is streamed cell by cell, so memory is one cell's text (at
//! most [`super::part::CELL_TEXT_MAX`]) and one repeated row's cells:
//!
//! * repeated empty cells and rows only move the position (LibreOffice pads
//!   every sheet with a million empty rows this way);
//! * the copies of a repeated non-empty cell or row are units of their own,
//!   each at its own position, up to [`REPEATED_COPIES`] copies per workbook.
//!   Past that they are not expanded: the first copy of each cell was
//!   scanned and the others hold the same text, and the sheet is reported
//!   once with [`REPEATS_CUT`].
//!
//! # Cells
//!
//! The first value attribute of a cell decides its value, as in calamine
//! (a differential property test in `sheet.rs` compares the two):
//!
//! * `office:value` (types `float`, `percentage`, `currency`): the number;
//! * `office:date-value`, `office:time-value`: the ISO 8601 text as stored;
//! * `office:string-value`: that text;
//! * `office:boolean-value`: no unit;
//! * none, and `office:value-type="string"`: the text of the cell's
//!   paragraphs (`text:p`, `text:h`) joined by line breaks, with `text:s`
//!   as spaces (a run of more than 64 is shortened to 64), `text:tab` and
//!   `text:line-break` as a tab and a line break, and annotations
//!   (`office:annotation`, a comment) left out;
//! * anything else: no unit.
//!
//! Covered cells (hidden under a merged cell) are read like other cells.
//! A document whose manifest holds `manifest:encryption-data` is
//! password-protected and refused as such.

use std::fmt::Display;
use std::io::{BufRead, Read, Seek};

use quick_xml::events::{BytesStart, Event};
use zip::ZipArchive;

use super::super::Sink;
use super::part::{attr, cap_cell_text, cell_cut, opened, push_text, read_part, Xml};
use super::{Kind, SheetWriter, Value, PASSWORD};

/// The part holding the sheets.
const CONTENT: &str = "content.xml";
/// The part that says whether the document is encrypted.
const MANIFEST: &str = "META-INF/manifest.xml";

/// Copies of repeated non-empty cells given as units, per workbook (at
/// about a million cells a second, a second of work).
const REPEATED_COPIES: u64 = 1_000_000;
/// Skip reason for a sheet with copies past [`REPEATED_COPIES`].
const REPEATS_CUT: &str = "repeated cells past 1000000 copies per workbook not expanded \
                           (the first copy of each was scanned)";
/// Longest run of spaces a `text:s` gives.
const MAX_SPACES: usize = 64;
/// Most text held to repeat one row; a longer repeated row is given once.
const ROW_HOLD: usize = 1 << 20;

/// Extracts the cells of every sheet of the `.ods` document in `reader`
/// into `sink` through `writer`. `Err` is the reason the document could not
/// be read at all; damage inside a sheet ends the reading there, after the
/// cells before it, with the sheet skipped.
pub(super) fn extract<R: Read + Seek>(
    reader: R,
    writer: &mut SheetWriter,
    sink: &mut dyn Sink,
) -> Result<(), String> {
    read(reader, REPEATED_COPIES, writer, sink)
}

/// [`extract`] with an allowance of `copies` of repeated cells.
fn read<R: Read + Seek>(
    reader: R,
    copies: u64,
    writer: &mut SheetWriter,
    sink: &mut dyn Sink,
) -> Result<(), String> {
    let unreadable = |e: &dyn Display| Kind::Ods.unreadable(e);
    let mut zip = ZipArchive::new(reader).map_err(|e| unreadable(&e))?;
    if read_part(&mut zip, MANIFEST, is_encrypted).map_err(|e| unreadable(&e))? == Some(true) {
        return Err(PASSWORD.to_string());
    }
    let mut content = Content {
        writer,
        copies_left: copies,
        in_sheet: false,
        cut: false,
        row: Row::default(),
        next_row: 0,
        next_col: 0,
    };
    let read = read_part(&mut zip, CONTENT, |xml| content.read(xml, sink));
    match read {
        Ok(Some(())) => Ok(()),
        Ok(None) => Err(unreadable(&format!("no {CONTENT}"))),
        Err(e) if content.in_sheet => {
            content.end_sheet(sink);
            let sheet = content.writer.sheet.clone();
            sink.skip(
                &sheet,
                &format!("unreadable sheet: {e} (later sheets not read)"),
            );
            Ok(())
        }
        Err(e) => Err(unreadable(&e)),
    }
}

/// Whether the manifest declares encrypted parts.
fn is_encrypted<B: BufRead>(xml: &mut Xml<B>) -> Result<bool, String> {
    loop {
        let event = xml.next()?;
        if matches!(event, Event::Eof) {
            return Ok(false);
        }
        if opened(&event).is_some_and(|e| e.local_name().as_ref() == b"encryption-data") {
            return Ok(true);
        }
    }
}

/// The value a cell's attributes give.
#[derive(Debug, Clone, PartialEq)]
enum Given {
    /// `office:value`.
    Number(f64),
    /// A date or time, as stored.
    Iso(String),
    /// `office:string-value`.
    Text(String),
    /// The text of the cell's paragraphs.
    Paragraphs,
    /// No unit.
    Nothing,
}

impl Given {
    /// Reads the value attributes of a cell element (the first one wins).
    fn of(cell: &BytesStart<'_>) -> Given {
        let mut string_type = false;
        for a in cell.attributes().with_checks(false).flatten() {
            let text = || {
                a.normalized_value(quick_xml::XmlVersion::default())
                    .map(|v| v.into_owned())
                    .unwrap_or_default()
            };
            match a.key.local_name().as_ref() {
                b"value" => {
                    let v = text();
                    return match v.trim().parse::<f64>() {
                        Ok(f) => Given::Number(f),
                        Err(_) => Given::Text(v),
                    };
                }
                b"date-value" | b"time-value" => return Given::Iso(text()),
                b"string-value" => return Given::Text(text()),
                b"boolean-value" => return Given::Nothing,
                b"value-type" => string_type = a.value.as_ref() == b"string",
                _ => {}
            }
        }
        if string_type {
            Given::Paragraphs
        } else {
            Given::Nothing
        }
    }

    /// The unit's value, with `text` the paragraphs' text; `None` for no unit.
    fn value<'v>(&'v self, text: &'v str) -> Option<Value<'v>> {
        let value = match self {
            Given::Number(f) if f.is_finite() => Value::Float(*f),
            Given::Iso(s) => Value::Iso(s),
            Given::Text(s) => Value::Text(s),
            Given::Paragraphs => Value::Text(text),
            Given::Number(_) | Given::Nothing => return None,
        };
        Some(value).filter(Value::is_present)
    }
}

/// A repeat count attribute: at least 1, 1 when absent or unreadable.
fn repeats(element: &BytesStart<'_>, name: &[u8]) -> u32 {
    attr(element, name)
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(1)
        .max(1)
}

/// A cell of a repeated row, held to be given again on the rows after.
#[derive(Debug)]
struct Held {
    col: u32,
    /// Columns it spans by repetition.
    repeats: u32,
    value: Stored,
}

/// A held cell's value; text is a range of [`Row::text`].
#[derive(Debug)]
enum Stored {
    Number(f64),
    Iso(std::ops::Range<usize>),
    Text(std::ops::Range<usize>),
}

/// The row being read.
#[derive(Debug, Default)]
struct Row {
    index: u32,
    repeats: u32,
    /// The non-empty cells, while the row is repeated and small enough.
    held: Vec<Held>,
    text: String,
    /// Cells given on the first copy, columns repeated counted.
    cells: u64,
    /// Too much text to hold: the copies are not given.
    overflow: bool,
}

impl Row {
    /// Starts row `index`, repeated `repeats` times, keeping the buffers.
    fn start(&mut self, index: u32, repeats: u32) {
        self.index = index;
        self.repeats = repeats;
        self.held.clear();
        self.text.clear();
        self.cells = 0;
        self.overflow = false;
    }

    /// Holds a cell given on the first copy, to repeat it.
    fn hold(&mut self, col: u32, repeats: u32, value: Value<'_>) {
        let text = match value {
            Value::Iso(s) | Value::Text(s) => s,
            _ => "",
        };
        if self.text.len() + text.len() > ROW_HOLD {
            self.overflow = true;
            return;
        }
        let from = self.text.len();
        self.text.push_str(text);
        let range = from..self.text.len();
        let value = match value {
            Value::Float(f) => Stored::Number(f),
            Value::Iso(_) => Stored::Iso(range),
            Value::Text(_) => Stored::Text(range),
            // ODS cells give neither.
            Value::Int(_) | Value::Date(_) => return,
        };
        self.held.push(Held {
            col,
            repeats,
            value,
        });
    }
}

/// The state of reading `content.xml`.
struct Content<'w> {
    writer: &'w mut SheetWriter,
    copies_left: u64,
    in_sheet: bool,
    /// Copies were dropped in this sheet.
    cut: bool,
    row: Row,
    next_row: u32,
    next_col: u32,
}

impl Content<'_> {
    /// Reads every sheet of the part.
    fn read<B: BufRead>(&mut self, xml: &mut Xml<B>, sink: &mut dyn Sink) -> Result<(), String> {
        let mut text = String::new();
        loop {
            let event = xml.next()?;
            let (element, empty) = match &event {
                Event::Eof if self.in_sheet => return Err("the part ends inside a sheet".into()),
                Event::Eof => return Ok(()),
                Event::End(e) => {
                    match e.local_name().as_ref() {
                        b"table" if self.in_sheet => self.end_sheet(sink),
                        b"table-row" if self.in_sheet => self.end_row(sink),
                        _ => {}
                    }
                    continue;
                }
                Event::Start(e) => (e, false),
                Event::Empty(e) => (e, true),
                _ => continue,
            };
            match element.local_name().as_ref() {
                b"table" if !self.in_sheet && !empty => {
                    let name = attr(element, b"name").unwrap_or_default().into_owned();
                    self.writer.start(&name);
                    self.in_sheet = true;
                    self.cut = false;
                    self.next_row = 0;
                }
                b"table-row" if self.in_sheet => {
                    let repeats = repeats(element, b"number-rows-repeated");
                    self.row.start(self.next_row, repeats);
                    self.next_row = self.next_row.saturating_add(repeats);
                    self.next_col = 0;
                }
                b"table-cell" | b"covered-table-cell" if self.in_sheet => {
                    let repeats = repeats(element, b"number-columns-repeated");
                    let col = self.next_col;
                    self.next_col = col.saturating_add(repeats);
                    let given = Given::of(element);
                    text.clear();
                    if !empty && given == Given::Paragraphs {
                        if paragraphs(xml, &mut text)? {
                            let cut = cell_cut(self.row.index, col);
                            sink.skip(&self.writer.sheet, &cut);
                        }
                    } else if !empty {
                        end_of_cell(xml)?;
                    }
                    if let Some(value) = given.value(&text) {
                        self.cell(sink, col, repeats, value);
                    }
                }
                _ => {}
            }
        }
    }

    /// Gives a cell of the current row and its repeats across columns, and
    /// holds it when the row repeats.
    fn cell(&mut self, sink: &mut dyn Sink, col: u32, repeats: u32, value: Value<'_>) {
        let row = self.row.index;
        self.writer.cell(sink, row, col, value);
        let copies = self.take(u64::from(repeats.saturating_sub(1)));
        for k in 1..=copies {
            self.writer
                .cell(sink, row, col.saturating_add(k as u32), value);
        }
        self.row.cells += u64::from(repeats);
        if self.row.repeats > 1 && !self.row.overflow {
            self.row.hold(col, repeats, value);
        }
    }

    /// Up to `wanted` copies from the workbook's allowance; the rest are
    /// counted as cut.
    fn take(&mut self, wanted: u64) -> u64 {
        let granted = wanted.min(self.copies_left);
        self.copies_left -= granted;
        self.cut |= granted < wanted;
        granted
    }

    /// Ends a row: gives its copies on the rows it repeats over.
    fn end_row(&mut self, sink: &mut dyn Sink) {
        let row = std::mem::take(&mut self.row);
        let copies = u64::from(row.repeats.saturating_sub(1));
        if row.cells == 0 || copies == 0 {
            self.row = row;
            return;
        }
        let whole = if row.overflow { 0 } else { row.cells };
        // Whole rows only: a row is given with all its cells or not at all.
        let rows = self
            .copies_left
            .checked_div(whole)
            .map_or(0, |rows| rows.min(copies));
        self.copies_left -= rows * whole;
        self.cut |= rows < copies;
        for r in 1..=rows {
            let at = row.index.saturating_add(r as u32);
            for held in &row.held {
                let value = match &held.value {
                    Stored::Number(f) => Value::Float(*f),
                    Stored::Iso(text) => Value::Iso(&row.text[text.clone()]),
                    Stored::Text(text) => Value::Text(&row.text[text.clone()]),
                };
                for k in 0..held.repeats {
                    self.writer
                        .cell(sink, at, held.col.saturating_add(k), value);
                }
            }
        }
        self.row = row;
    }

    /// Ends the sheet being read.
    fn end_sheet(&mut self, sink: &mut dyn Sink) {
        self.writer.finish(sink);
        self.in_sheet = false;
        if self.cut {
            let sheet = self.writer.sheet.clone();
            sink.skip(&sheet, REPEATS_CUT);
        }
    }
}

/// Reads a string cell's content up to its end into `text`, up to
/// [`super::part::CELL_TEXT_MAX`] bytes; true when there was more.
fn paragraphs<B: BufRead>(xml: &mut Xml<B>, text: &mut String) -> Result<bool, String> {
    let mut depth = 0u32;
    let mut annotation = 0u32;
    let mut paragraphs = 0u32;
    let mut cut = false;
    loop {
        cut |= cap_cell_text(text, 0);
        let event = xml.next()?;
        match &event {
            Event::Eof => return Err("the part ends inside a cell".into()),
            Event::End(_) if depth == 0 => return Ok(cut),
            Event::End(e) => {
                depth -= 1;
                if e.local_name().as_ref() == b"annotation" {
                    annotation = annotation.saturating_sub(1);
                }
            }
            Event::Start(e) if e.local_name().as_ref() == b"annotation" => {
                depth += 1;
                annotation += 1;
            }
            _ if annotation > 0 || cut => {
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::Start(e) | Event::Empty(e) => {
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
                match e.local_name().as_ref() {
                    b"p" | b"h" if matches!(event, Event::Start(_)) => {
                        if paragraphs > 0 {
                            text.push('\n');
                        }
                        paragraphs += 1;
                    }
                    b"s" => {
                        let n = attr(e, b"c").and_then(|c| c.trim().parse::<usize>().ok());
                        let n = n.unwrap_or(1).min(MAX_SPACES);
                        text.extend(std::iter::repeat_n(' ', n));
                    }
                    b"tab" => text.push('\t'),
                    b"line-break" => text.push('\n'),
                    _ => {}
                }
            }
            _ => push_text(&event, text)?,
        }
    }
}

/// Passes over a cell's content up to its end.
fn end_of_cell<B: BufRead>(xml: &mut Xml<B>) -> Result<(), String> {
    let mut depth = 0u32;
    loop {
        match xml.next()? {
            Event::Eof => return Err("the part ends inside a cell".into()),
            Event::End(_) if depth == 0 => return Ok(()),
            Event::End(_) => depth -= 1,
            Event::Start(_) => depth += 1,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;
    use crate::extract::a1;
    use crate::extract::sheet::tests::ods;
    use crate::extract::testing::Recorder;

    /// The document's units as `(sheet, A1, text)`, and its skips, read
    /// with an allowance of `copies` repeated cells.
    fn cells(data: &[u8], copies: u64) -> (Vec<(String, String, String)>, Recorder) {
        let mut rec = Recorder::default();
        let mut writer = SheetWriter::default();
        if let Err(e) = read(Cursor::new(data), copies, &mut writer, &mut rec) {
            rec.skips.push((String::new(), e));
        }
        let units = rec
            .units
            .iter()
            .map(|u| {
                let (row, col) = u.cell.unwrap();
                (u.sheet.clone().unwrap(), a1(row, col), u.text.clone())
            })
            .collect();
        (units, rec)
    }

    fn text_cell(attrs: &str, text: &str) -> String {
        format!(
            r#"<table:table-cell office:value-type="string"{attrs}><text:p>{text}</text:p></table:table-cell>"#
        )
    }

    #[test]
    fn repeats_move_the_position_and_copies_are_units() {
        let tables = format!(
            r#"<table:table table:name="S"><table:table-row table:number-rows-repeated="2"><table:table-cell table:number-columns-repeated="2"/>{}</table:table-row><table:table-row table:number-rows-repeated="1000"/><table:table-row>{}</table:table-row></table:table>"#,
            text_cell(r#" table:number-columns-repeated="2""#, "x"),
            text_cell("", "y"),
        );
        let (units, rec) = cells(&ods(&tables, false), 100);
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        let at: Vec<&str> = units.iter().map(|(_, a1, _)| a1.as_str()).collect();
        assert_eq!(at, ["C1", "D1", "C2", "D2", "A1003"]);
    }

    #[test]
    fn a_cell_over_the_limit_is_cut_and_reported() {
        let long = "13812345678 ".repeat(super::super::part::CELL_TEXT_MAX / 12 + 1000);
        let tables = format!(
            r#"<table:table table:name="S"><table:table-row>{}{}</table:table-row></table:table>"#,
            text_cell(
                "",
                &format!("{long}<text:s text:c=\"5\"/>x</text:p><text:p>y")
            ),
            text_cell("", "next"),
        );
        let (units, rec) = cells(&ods(&tables, false), 100);
        assert_eq!(rec.skips, vec![("S".to_string(), cell_cut(0, 0))]);
        assert_eq!(units.len(), 2);
        let (first, next) = (&units[0].2, &units[1]);
        assert!(long.starts_with(first.as_str()));
        assert!(first.len() > super::super::part::CELL_TEXT_MAX - 12);
        assert_eq!(
            next,
            &("S".to_string(), "B1".to_string(), "next".to_string())
        );
    }

    #[test]
    fn copies_past_the_allowance_are_cut_and_said_once_per_sheet() {
        let sheet = |name: &str| {
            format!(
                r#"<table:table table:name="{name}"><table:table-row table:number-rows-repeated="1000000">{}</table:table-row></table:table>"#,
                text_cell(r#" table:number-columns-repeated="16384""#, "13812345678"),
            )
        };
        let data = ods(&(sheet("A") + &sheet("B")), false);
        let (units, rec) = cells(&data, 40_000);
        // A: the first row (16 384 cells, 16 383 of them copies), then the
        // whole rows the rest of the allowance pays for (one, 16 384
        // copies); B: its first cell and the 7 233 copies left.
        assert_eq!(units.len(), 16_384 * 2 + 1 + 7_233);
        assert_eq!(units[16_384 * 2].0, "B");
        assert_eq!(units.last().unwrap().1, a1(0, 7_233));
        assert_eq!(
            rec.skips,
            [
                ("A".to_string(), REPEATS_CUT.to_string()),
                ("B".to_string(), REPEATS_CUT.to_string())
            ]
        );
    }

    #[test]
    fn a_repeated_row_too_long_to_hold_is_given_once() {
        let long = "x".repeat(ROW_HOLD + 1);
        let tables = format!(
            r#"<table:table table:name="S"><table:table-row table:number-rows-repeated="3">{}</table:table-row></table:table>"#,
            text_cell("", &long),
        );
        let (units, rec) = cells(&ods(&tables, false), 100);
        assert_eq!(units.len(), 1);
        assert_eq!(rec.skips, [("S".to_string(), REPEATS_CUT.to_string())]);
    }

    #[test]
    fn paragraph_markup_and_other_prefixes() {
        // The table namespace bound to `t`, the text one to `x`.
        let tables = r#"<t:table xmlns:t="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:x="urn:oasis:names:tc:opendocument:xmlns:text:1.0" t:name="前缀"><t:table-row><t:table-cell office:value-type="string"><x:h>标题</x:h><x:p>a<x:tab/>b<x:line-break/>c<x:s x:c="99999999999"/>d</x:p></t:table-cell><t:table-cell office:value-type="currency" office:value="1e3"/><t:table-cell office:value-type="float" office:value="NaN"/><t:table-cell office:value-type="float" office:value="12x"/></t:table-row></t:table>"#;
        let (units, rec) = cells(&ods(tables, false), 100);
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        let spaces = " ".repeat(MAX_SPACES);
        assert_eq!(
            units,
            [
                (
                    "前缀".into(),
                    "A1".into(),
                    format!("标题\na\tb\nc{spaces}d")
                ),
                ("前缀".into(), "B1".into(), "1000".into()),
                // Not a number: its text, as the xlsx reader does.
                ("前缀".into(), "D1".into(), "12x".into()),
            ]
        );
    }

    #[test]
    fn damage_inside_a_sheet_keeps_the_cells_before_it() {
        let tables = format!(
            r#"<table:table table:name="好"><table:table-row>{}</table:table-row></table:table><table:table table:name="坏"><table:table-row>{}</table:table-row><table:table-row><table:table-cell></table:bad></table:table-row></table:table>"#,
            text_cell("", "a"),
            text_cell("", "b"),
        );
        let (units, rec) = cells(&ods(&tables, false), 100);
        assert_eq!(units.len(), 2);
        assert_eq!(rec.skips.len(), 1);
        let (sheet, reason) = &rec.skips[0];
        assert_eq!(sheet, "坏");
        assert!(
            reason.starts_with("unreadable sheet: content.xml: malformed XML at byte")
                && reason.ends_with("(later sheets not read)"),
            "{reason}"
        );
    }

    #[test]
    fn a_zip_without_content_is_refused() {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        out.start_file("mimetype", zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
            .unwrap();
        let data = out.finish().unwrap().into_inner();
        let (units, rec) = cells(&data, 100);
        assert!(units.is_empty());
        assert_eq!(
            rec.skips,
            [(
                String::new(),
                "corrupt or unreadable ods workbook: no content.xml".to_string()
            )]
        );
    }
}
