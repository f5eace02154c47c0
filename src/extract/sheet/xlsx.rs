//! Office Open XML workbooks (`.xlsx`, `.xlsm`), read with `zip` and
//! `quick-xml`.
//!
//! # Why not calamine
//!
//! calamine's xlsx reader holds every shared string as a `String` of its
//! own, about 56 bytes per string besides its text: a 30 MB roster of
//! 600 000 rows (1.8 million shared strings) peaked at 171 MB. Here the
//! shared strings are one `String` and a table of where each ends (4 bytes
//! per string), past 16 MiB of text written to a temporary file
//! (`SharedStrings`), and sheets are streamed cell by cell, so memory
//! depends on neither the number of cells nor that of distinct strings.
//! calamine still tells an encrypted workbook.
//!
//! # Parts
//!
//! `xl/workbook.xml` lists the sheets in order (and the 1904 date system);
//! `xl/_rels/workbook.xml.rels` points each sheet to its part and names the
//! shared strings and styles parts. Worksheets and macro sheets are read,
//! chart and dialog sheets are not. Element names are matched by local name,
//! so prefixed markup (`<x:c>`) reads the same.
//!
//! # Cells
//!
//! * `t="s"`: the shared string; the text of its runs (`<r><t>`) joined,
//!   phonetic guides (`<rPh>`) left out, `_xHHHH_` escapes decoded.
//! * `t="inlineStr"` (`<is>`) and `t="str"` (a formula's text): the text.
//! * `t="d"`: the ISO 8601 text as stored.
//! * `t="b"` and `t="e"` (booleans, `#N/A`): no unit.
//! * numbers: under a date or time format (built-in 14–22, 45, 47 and the
//!   East Asian 27–36, 50–58, or a custom code with `d`, `m`, `y`, `h` or
//!   `s` outside quotes and brackets) a date; otherwise the number. An
//!   elapsed-time format (`[h]:mm`) is a duration and shows the number.
//!   A value that is not a number is passed on as text.
//!
//! A cell without a reference follows the one before it in its row; a row
//! without a number follows the row before it.

use std::collections::HashMap;
use std::fmt::Display;
use std::io::{BufRead, Read, Seek};

use quick_xml::events::{BytesStart, Event};
use zip::ZipArchive;

use super::super::Sink;
use super::part::{
    attr, cap_cell_text, cell_cut, opened, push_text, read_part, Xml, CELL_TEXT_MAX,
};
use super::{Dates, Kind, SharedStrings, SheetWriter, Value};

/// The workbook part and its relationships.
const WORKBOOK: &str = "xl/workbook.xml";
const WORKBOOK_RELS: &str = "xl/_rels/workbook.xml.rels";

/// Extracts the cells of every worksheet of the workbook in `reader` into
/// `sink` through `writer`. `Err` is the reason the workbook could not be
/// read at all; a sheet that cannot be read is skipped after the cells read
/// before the damage, and the other sheets are still read.
pub(super) fn extract<R: Read + Seek>(
    reader: R,
    writer: &mut SheetWriter,
    sink: &mut dyn Sink,
) -> Result<(), String> {
    let unreadable = |e: &dyn Display| Kind::Xlsx.unreadable(e);
    let (mut zip, rels) = open_package(reader, Kind::Xlsx, WORKBOOK_RELS)?;
    let book = read_part(&mut zip, WORKBOOK, read_workbook)
        .map_err(|e| unreadable(&e))?
        .ok_or_else(|| unreadable(&"no xl/workbook.xml"))?;
    let (formats, custom) = read_part(
        &mut zip,
        &part_of(&rels, "/styles", "xl/styles.xml"),
        read_styles,
    )
    .map_err(|e| unreadable(&e))?
    .unwrap_or_default();
    let dates = Dates::new(&formats, &custom, book.is_1904);
    let strings_part = part_of(&rels, "/sharedStrings", "xl/sharedStrings.xml");
    let (mut strings, cut) = read_part(&mut zip, &strings_part, read_strings)
        .map_err(|e| unreadable(&e))?
        .unwrap_or_default();
    if cut > 0 {
        let reason = format!(
            "{cut} shared strings over {} MiB: the rest of each not scanned",
            CELL_TEXT_MAX >> 20
        );
        sink.skip(&strings_part, &reason);
    }
    read_sheets(
        &book.sheets,
        &rels,
        WORKBOOK_RELS,
        writer,
        sink,
        |part, writer, sink| {
            read_part(&mut zip, part, |xml| {
                read_cells(xml, &mut strings, &dates, writer, sink)
            })
        },
    );
    Ok(())
}

/// Opens the zip of a workbook of `kind` and reads the relationships of
/// its workbook part from `rels_part` (none when it is missing).
pub(super) fn open_package<R: Read + Seek>(
    reader: R,
    kind: Kind,
    rels_part: &str,
) -> Result<(ZipArchive<R>, Vec<Rel>), String> {
    let mut zip = ZipArchive::new(reader).map_err(|e| kind.unreadable(e))?;
    let rels = read_part(&mut zip, rels_part, read_rels)
        .map_err(|e| kind.unreadable(e))?
        .unwrap_or_default();
    Ok((zip, rels))
}

/// Reads the cells of each sheet of `sheets`, in order, whose
/// relationship (in `rels`, read from `rels_part`) is a sheet of cells:
/// `read` reads the part it names (`None`: there is no such part) through
/// `writer`. A sheet that cannot be read is skipped after the cells read
/// before the damage.
pub(super) fn read_sheets(
    sheets: &[SheetEntry],
    rels: &[Rel],
    rels_part: &str,
    writer: &mut SheetWriter,
    sink: &mut dyn Sink,
    mut read: impl FnMut(&str, &mut SheetWriter, &mut dyn Sink) -> Result<Option<()>, String>,
) {
    for sheet in sheets {
        let rel = rels.iter().find(|r| r.id == sheet.rel);
        if rel.is_some_and(|r| !r.holds_cells()) {
            continue;
        }
        writer.start(&sheet.name);
        let result = match rel {
            None => Err(format!("no relationship {:?} in {rels_part}", sheet.rel)),
            Some(rel) => {
                let part = rel.target.as_str();
                read(part, writer, sink)
                    .and_then(|found| found.ok_or_else(|| format!("no part {part:?} for it")))
            }
        };
        writer.finish(sink);
        if let Err(e) = result {
            sink.skip(&sheet.name, &format!("unreadable sheet: {e}"));
        }
    }
}

/// One relationship of the workbook (`.xlsx` and `.xlsb` alike).
pub(super) struct Rel {
    id: String,
    /// The part it points to, as a zip member name.
    target: String,
    /// Its type (a URI).
    kind: String,
}

impl Rel {
    /// Whether the target is a sheet of cells (not a chart or dialog).
    fn holds_cells(&self) -> bool {
        let kind = self.kind.to_ascii_lowercase();
        kind.ends_with("/worksheet") || kind.ends_with("macrosheet")
    }
}

/// The relationships of the workbook part.
fn read_rels<B: BufRead>(xml: &mut Xml<B>) -> Result<Vec<Rel>, String> {
    let mut rels = Vec::new();
    loop {
        let event = xml.next()?;
        if matches!(event, Event::Eof) {
            return Ok(rels);
        }
        let Some(e) = opened(&event).filter(|e| e.local_name().as_ref() == b"Relationship") else {
            continue;
        };
        let get = |name: &[u8]| attr(e, name).unwrap_or_default().into_owned();
        rels.push(Rel {
            id: get(b"Id"),
            target: member_name(&get(b"Target")),
            kind: get(b"Type"),
        });
    }
}

/// The part of the relationship whose type ends with `kind` (`/styles`),
/// or `default` when there is none.
pub(super) fn part_of(rels: &[Rel], kind: &str, default: &str) -> String {
    rels.iter()
        .find(|r| r.kind.ends_with(kind))
        .map_or_else(|| default.to_string(), |r| r.target.clone())
}

/// The zip member a relationship target of the workbook names: relative
/// to `xl/`, or absolute from the package root when it starts with `/`.
fn member_name(target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        vec!["xl"]
    };
    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// A sheet as the workbook lists it (`.xlsx` and `.xlsb` alike).
pub(super) struct SheetEntry {
    pub(super) name: String,
    /// Its relationship id.
    pub(super) rel: String,
}

/// What the workbook part says (`.xlsx` and `.xlsb` alike): the sheets in
/// order and the date system.
#[derive(Default)]
pub(super) struct Book {
    pub(super) sheets: Vec<SheetEntry>,
    pub(super) is_1904: bool,
}

/// The sheets of the workbook part, in order, and its date system.
fn read_workbook<B: BufRead>(xml: &mut Xml<B>) -> Result<Book, String> {
    let mut book = Book::default();
    loop {
        let event = xml.next()?;
        if matches!(event, Event::Eof) {
            return Ok(book);
        }
        let Some(e) = opened(&event) else {
            continue;
        };
        match e.local_name().as_ref() {
            b"workbookPr" => {
                book.is_1904 = attr(e, b"date1904").is_some_and(|v| v == "1" || v == "true");
            }
            b"sheet" => book.sheets.push(SheetEntry {
                name: attr(e, b"name").unwrap_or_default().into_owned(),
                rel: attr(e, b"id").unwrap_or_default().into_owned(),
            }),
            _ => {}
        }
    }
}

/// The number format id of each cell style (`cellXfs/xf`, in order), and
/// whether each custom format (`numFmt`, by id) shows a date or time.
fn read_styles<B: BufRead>(xml: &mut Xml<B>) -> Result<(Vec<u32>, HashMap<u32, bool>), String> {
    let mut custom: HashMap<u32, bool> = HashMap::new();
    let mut formats = Vec::new();
    let mut in_cell_styles = false;
    loop {
        let event = xml.next()?;
        let id = |e: &BytesStart<'_>| attr(e, b"numFmtId").and_then(|v| v.parse::<u32>().ok());
        match &event {
            Event::Eof => return Ok((formats, custom)),
            Event::Start(e) if e.local_name().as_ref() == b"cellXfs" => in_cell_styles = true,
            Event::End(e) if e.local_name().as_ref() == b"cellXfs" => in_cell_styles = false,
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"numFmt" => {
                    if let Some(id) = id(e) {
                        let code = attr(e, b"formatCode").unwrap_or_default();
                        custom.insert(id, is_date_code(&code));
                    }
                }
                b"xf" if in_cell_styles => formats.push(id(e).unwrap_or(0)),
                _ => {}
            },
            _ => {}
        }
    }
}

/// Whether the built-in number format `id` shows a date or time: 14–22,
/// 45 and 47, and the East Asian date formats 27–36 and 50–58 (`yyyy年m月d日`
/// in a Chinese Excel). 46 (`[h]:mm:ss`) is a duration.
pub(super) fn is_date_id(id: u32) -> bool {
    matches!(id, 14..=22 | 27..=36 | 45 | 47 | 50..=58)
}

/// Whether the custom number format `code` shows a date or time: its first
/// section has `d`, `m`, `y`, `h` or `s` outside quotes, escapes and
/// brackets (colours, locales, conditions). An elapsed-time bracket
/// (`[h]`, `[mm]`) makes it a duration, which is not a date.
pub(super) fn is_date_code(code: &str) -> bool {
    let mut chars = code.chars();
    while let Some(c) = chars.next() {
        match c {
            ';' => return false,
            '"' => {
                chars.by_ref().find(|&c| c == '"');
            }
            // An escaped character, a space as wide as one, a fill.
            '\\' | '_' | '*' => {
                chars.next();
            }
            '[' => {
                let inside: String = chars.by_ref().take_while(|&c| c != ']').collect();
                let lower = inside.to_ascii_lowercase();
                let elapsed = !lower.is_empty()
                    && lower.chars().all(|c| c == lower.as_bytes()[0] as char)
                    && matches!(lower.as_bytes()[0], b'h' | b'm' | b's');
                if elapsed {
                    return false;
                }
            }
            c if matches!(c.to_ascii_lowercase(), 'd' | 'm' | 'y' | 'h' | 's') => return true,
            _ => {}
        }
    }
    false
}

impl SharedStrings {
    /// Ends the string being written at the end of `text`, decoding its
    /// `_xHHHH_` escapes.
    fn end(&mut self, from: usize) -> Result<(), String> {
        unescape_tail(&mut self.text, from);
        self.close()
    }
}

/// Reads the shared strings part, and counts the strings cut to
/// [`CELL_TEXT_MAX`].
fn read_strings<B: BufRead>(xml: &mut Xml<B>) -> Result<(SharedStrings, usize), String> {
    let mut strings = SharedStrings::default();
    // The string being read (from where it starts in `strings.text`).
    let mut string: Option<Text> = None;
    let mut cut = 0;
    loop {
        let event = xml.next()?;
        match &event {
            Event::Eof => return Ok((strings, cut)),
            Event::Start(e) if e.local_name().as_ref() == b"si" => {
                string = Some(Text {
                    from: strings.text.len(),
                    ..Text::default()
                });
            }
            Event::Empty(e) if e.local_name().as_ref() == b"si" => {
                strings.end(strings.text.len())?;
            }
            Event::End(e) if e.local_name().as_ref() == b"si" => {
                if let Some(text) = string.take() {
                    strings.end(text.from)?;
                    cut += usize::from(text.cut);
                }
            }
            _ => {
                if let Some(text) = &mut string {
                    text.take(&event, &mut strings.text)?;
                }
            }
        }
    }
}

/// Collects the character data of text elements (`t`, and `v` of a cell),
/// leaving out phonetic guides (`rPh`), up to [`CELL_TEXT_MAX`] bytes.
#[derive(Default)]
struct Text {
    /// Depth of open text elements.
    open: u32,
    /// Depth of open phonetic guides.
    phonetic: u32,
    /// Where the text starts in the string it is appended to.
    from: usize,
    /// Text was dropped past [`CELL_TEXT_MAX`].
    cut: bool,
}

impl Text {
    /// Appends what `event` adds to the text to `out`.
    fn take(&mut self, event: &Event<'_>, out: &mut String) -> Result<(), String> {
        let counter = |name: &[u8]| match name {
            b"t" | b"v" => Some(true),
            b"rPh" => Some(false),
            _ => None,
        };
        match event {
            Event::Start(e) => match counter(e.local_name().as_ref()) {
                Some(true) => self.open += 1,
                Some(false) => self.phonetic += 1,
                None => {}
            },
            Event::End(e) => match counter(e.local_name().as_ref()) {
                Some(true) => self.open = self.open.saturating_sub(1),
                Some(false) => self.phonetic = self.phonetic.saturating_sub(1),
                None => {}
            },
            _ if self.open == 0 || self.phonetic > 0 || self.cut => {}
            _ => {
                push_text(event, out)?;
                self.cut = cap_cell_text(out, self.from);
            }
        }
        Ok(())
    }
}

/// Decodes the `_xHHHH_` escapes (a character Excel cannot store as is,
/// `_x000D_` for a carriage return) in `text[from..]`.
fn unescape_tail(text: &mut String, from: usize) {
    if !text[from..].contains("_x") {
        return;
    }
    let mut out = String::with_capacity(text.len() - from);
    let mut rest = &text[from..];
    while let Some(i) = rest.find("_x") {
        out.push_str(&rest[..i]);
        let escaped = rest
            .get(i + 2..i + 7)
            .filter(|s| s.ends_with('_'))
            .and_then(|s| u32::from_str_radix(&s[..4], 16).ok())
            .and_then(char::from_u32);
        match escaped {
            Some(c) => {
                out.push(c);
                rest = &rest[i + 7..];
            }
            None => {
                out.push_str("_x");
                rest = &rest[i + 2..];
            }
        }
    }
    out.push_str(rest);
    text.truncate(from);
    text.push_str(&out);
}

/// The cell being read.
struct Cell {
    row: u32,
    col: u32,
    kind: CellType,
    /// Its style index (`s`).
    style: usize,
}

/// What a cell's `t` attribute says its value is.
#[derive(Clone, Copy)]
enum CellType {
    /// `s`: an index into the shared strings.
    Shared,
    /// `inlineStr`, `str` (a formula's text).
    Text,
    /// `d`: an ISO 8601 date.
    Iso,
    /// `b`, `e`: a boolean or an error, no unit.
    Nothing,
    /// `n`, or no `t`.
    Number,
}

impl CellType {
    /// The type a `t` attribute names; an unknown one is read as a number.
    fn of(t: &[u8]) -> CellType {
        match t {
            b"s" => CellType::Shared,
            b"str" | b"inlineStr" => CellType::Text,
            b"d" => CellType::Iso,
            b"b" | b"e" => CellType::Nothing,
            _ => CellType::Number,
        }
    }
}

/// A decimal index (a style, a shared string).
fn parse_index(digits: &[u8]) -> Option<usize> {
    std::str::from_utf8(digits).ok()?.trim().parse().ok()
}

/// Streams the cells of one worksheet part to `writer`.
fn read_cells<B: BufRead>(
    xml: &mut Xml<B>,
    strings: &mut SharedStrings,
    dates: &Dates,
    writer: &mut SheetWriter,
    sink: &mut dyn Sink,
) -> Result<(), String> {
    let mut next_row = 0u32;
    let mut row = 0u32;
    let mut next_col = 0u32;
    let mut cell: Option<Cell> = None;
    let mut text = String::new();
    let mut collect = Text::default();
    let mut in_data = false;
    loop {
        let event = xml.next()?;
        match &event {
            Event::Eof if in_data => return Err("the part ends inside the sheet data".into()),
            Event::Eof => return Ok(()),
            Event::Start(e) if e.local_name().as_ref() == b"sheetData" => in_data = true,
            Event::End(e) if e.local_name().as_ref() == b"sheetData" => in_data = false,
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"row" => {
                row = match attr(e, b"r") {
                    Some(r) => r
                        .parse::<u32>()
                        .ok()
                        .and_then(|r| r.checked_sub(1))
                        .ok_or_else(|| format!("bad row number {r:?}"))?,
                    None => next_row,
                };
                next_row = row.saturating_add(1);
                next_col = 0;
            }
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"c" => {
                let mut at = None;
                let mut kind = CellType::Number;
                let mut style = 0;
                // One pass over the attributes: this runs for every cell.
                for a in e.attributes().with_checks(false).flatten() {
                    match a.key.local_name().as_ref() {
                        b"r" => at = Some(a.value),
                        b"t" => kind = CellType::of(&a.value),
                        b"s" => style = parse_index(&a.value).unwrap_or(0),
                        _ => {}
                    }
                }
                let (r, c) = match at {
                    Some(a1) => parse_a1(&a1).ok_or_else(|| {
                        format!("bad cell reference {:?}", String::from_utf8_lossy(&a1))
                    })?,
                    None => (row, next_col),
                };
                next_col = c.saturating_add(1);
                if matches!(event, Event::Start(_)) {
                    cell = Some(Cell {
                        row: r,
                        col: c,
                        kind,
                        style,
                    });
                    text.clear();
                    collect = Text::default();
                }
            }
            Event::End(e) if e.local_name().as_ref() == b"c" => {
                if let Some(cell) = cell.take() {
                    if collect.cut {
                        sink.skip(&writer.sheet, &cell_cut(cell.row, cell.col));
                    }
                    if let Some(value) = cell_value(&cell, &text, strings, dates)? {
                        writer.cell(sink, cell.row, cell.col, value);
                    }
                }
            }
            _ if cell.is_some() => collect.take(&event, &mut text)?,
            _ => {}
        }
    }
}

/// The value of a cell whose text (of `v`, or of `is`) is `text`; `None`
/// for cells that give no unit.
fn cell_value<'v>(
    cell: &Cell,
    text: &'v str,
    strings: &'v mut SharedStrings,
    dates: &Dates,
) -> Result<Option<Value<'v>>, String> {
    let value = match cell.kind {
        CellType::Shared => {
            let found = match parse_index(text.as_bytes()) {
                Some(i) => strings.get(i)?,
                None => None,
            };
            let index = text.trim();
            Value::Text(found.ok_or_else(|| format!("no shared string {index:?}"))?)
        }
        CellType::Text => Value::Text(text),
        CellType::Iso => Value::Iso(text),
        CellType::Nothing => return Ok(None),
        CellType::Number => match text.trim().parse::<f64>() {
            Ok(f) => match dates.number(cell.style, f) {
                Some(value) => value,
                None => return Ok(None),
            },
            Err(_) => Value::Text(text),
        },
    };
    Ok(Some(value).filter(Value::is_present))
}

/// The zero-based `(row, column)` of an A1 reference (`B7` gives `(6, 1)`).
fn parse_a1(a1: &[u8]) -> Option<(u32, u32)> {
    let a1 = std::str::from_utf8(a1).ok()?;
    let digits = a1.find(|c: char| c.is_ascii_digit())?;
    let (letters, number) = a1.split_at(digits);
    if letters.is_empty() || letters.len() > 3 || !letters.bytes().all(|b| b.is_ascii_alphabetic())
    {
        return None;
    }
    let col = letters.bytes().fold(0u32, |n, b| {
        n * 26 + u32::from(b.to_ascii_uppercase() - b'A' + 1)
    });
    let row: u32 = number.parse().ok()?;
    Some((row.checked_sub(1)?, col - 1))
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;
    use crate::extract::a1;
    use crate::extract::testing::Recorder;

    const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    const RELS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
    const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

    /// A workbook written by hand, with what writers other than Excel do:
    /// prefixed markup, rich text, phonetic guides, escapes, inline
    /// strings, cells and rows without references, the 1904 date system,
    /// a custom date format, a duration, a chart sheet, a sheet whose part
    /// is missing. `edit` rewrites each part's XML.
    fn workbook(edit: impl Fn(String) -> String) -> Vec<u8> {
        let parts = [
            (
                "xl/_rels/workbook.xml.rels",
                format!(
                    r#"<Relationships xmlns="{RELS}">
<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/data.xml"/>
<Relationship Id="rId2" Type="{REL}/chartsheet" Target="chartsheets/c.xml"/>
<Relationship Id="rId3" Type="{REL}/worksheet" Target="/xl/worksheets/gone.xml"/>
<Relationship Id="rId4" Type="{REL}/sharedStrings" Target="strings.xml"/>
<Relationship Id="rId5" Type="{REL}/styles" Target="styles.xml"/>
</Relationships>"#
                ),
            ),
            (
                "xl/workbook.xml",
                format!(
                    r#"<x:workbook xmlns:x="{MAIN}" xmlns:r="{REL}"><x:workbookPr date1904="1"/>
<x:sheets><x:sheet name="数据 &amp; 表" sheetId="1" r:id="rId1"/><x:sheet name="图" sheetId="2" r:id="rId2"/>
<x:sheet name="缺" sheetId="3" r:id="rId3"/><x:sheet name="无" sheetId="4" r:id="rId9"/></x:sheets></x:workbook>"#
                ),
            ),
            (
                "xl/styles.xml",
                format!(
                    r#"<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/></numFmts>
<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>
<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"><alignment/></xf><xf numFmtId="46"/></cellXfs></styleSheet>"#
                ),
            ),
            (
                "xl/strings.xml",
                format!(
                    r#"<sst xmlns="{MAIN}" count="3" uniqueCount="3"><si><t>身份证号</t></si>
<si><r><rPr><b/></rPr><t>手机</t></r><r><t xml:space="preserve"> 号</t></r><rPh sb="0" eb="2"><t>しゅき</t></rPh></si>
<si><t>a&amp;b_x000D_&#x4e2d;</t></si><si/></sst>"#
                ),
            ),
            (
                "xl/worksheets/data.xml",
                format!(
                    r#"<x:worksheet xmlns:x="{MAIN}"><x:sheetData>
<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c></x:row>
<x:row r="2"><x:c r="A2" t="s"><x:v>2</x:v></x:c><x:c t="inlineStr"><x:is><x:t>inline</x:t></x:is></x:c>
<x:c r="D2" t="str"><x:f>A1&amp;B1</x:f><x:v>formula text</x:v></x:c><x:c r="E2" t="b"><x:v>1</x:v></x:c>
<x:c r="F2" t="e"><x:v>#N/A</x:v></x:c><x:c r="G2" s="1"><x:v>366</x:v></x:c><x:c r="H2" s="2"><x:v>1.5</x:v></x:c>
<x:c r="I2" t="d"><x:v>2024-03-07T08:30:00</x:v></x:c><x:c r="J2"><x:v>13812345678</x:v></x:c>
<x:c r="K2" t="s"><x:v>3</x:v></x:c><x:c r="L2"/></x:row>
<x:row><x:c t="inlineStr"><x:is><x:t>next row</x:t></x:is></x:c></x:row></x:sheetData></x:worksheet>"#
                ),
            ),
            ("xl/chartsheets/c.xml", "<chartsheet/>".to_string()),
        ];
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, xml) in parts {
            zip.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(edit(xml).as_bytes()).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn read(data: &[u8]) -> Recorder {
        let mut rec = Recorder::default();
        super::super::extract("book.xlsx", data, &mut rec);
        rec
    }

    #[test]
    fn cells_of_a_hand_written_workbook() {
        let rec = read(&workbook(|xml| xml));
        let cells: Vec<(String, String, Option<String>)> = rec
            .units
            .iter()
            .map(|u| {
                let (r, c) = u.cell.unwrap();
                (a1(r, c), u.text.clone(), u.field.clone())
            })
            .collect();
        let field = |f: &str| Some(f.to_string());
        let expected = [
            ("A1", "身份证号", None),
            ("B1", "手机 号", None),
            ("A2", "a&b\r中", field("身份证号")),
            ("B2", "inline", field("手机 号")),
            ("D2", "formula text", None),
            ("G2", "1905-01-01", None),
            ("H2", "1.5", None),
            ("I2", "2024-03-07T08:30:00", None),
            ("J2", "13812345678", None),
            ("A3", "next row", field("身份证号")),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(c, t, f)| (c.to_string(), t.to_string(), f.clone()))
            .collect();
        assert_eq!(cells, expected);
        assert!(rec
            .units
            .iter()
            .all(|u| u.sheet.as_deref() == Some("数据 & 表")));
        // The chart sheet is not read; the sheets without their part or
        // relationship are said.
        let skips: Vec<_> = rec
            .skips
            .iter()
            .map(|(s, r)| (s.as_str(), r.as_str()))
            .collect();
        assert_eq!(
            skips,
            [
                (
                    "缺",
                    "unreadable sheet: no part \"xl/worksheets/gone.xml\" for it"
                ),
                (
                    "无",
                    "unreadable sheet: no relationship \"rId9\" in xl/_rels/workbook.xml.rels"
                ),
            ]
        );
    }

    #[test]
    fn a_bad_shared_string_index_ends_the_sheet() {
        let rec = read(&workbook(|xml| {
            xml.replace("<x:v>2</x:v>", "<x:v>99</x:v>")
        }));
        assert_eq!(rec.units.len(), 2, "{:?}", rec.units);
        assert_eq!(rec.skips[0].0, "数据 & 表");
        assert!(
            rec.skips[0].1.contains("no shared string \"99\""),
            "{:?}",
            rec.skips
        );
    }

    #[test]
    fn a1_references() {
        assert_eq!(parse_a1(b"A1"), Some((0, 0)));
        assert_eq!(parse_a1(b"B7"), Some((6, 1)));
        assert_eq!(parse_a1(b"aa10"), Some((9, 26)));
        assert_eq!(parse_a1(b"XFD1048576"), Some((1_048_575, 16_383)));
        for bad in ["", "A", "7", "A0", "#", "ABCD1", "A1B", "Ä1", "A-1"] {
            assert_eq!(parse_a1(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn date_formats() {
        for code in [
            "yyyy-mm-dd",
            "m/d/yy h:mm",
            "[$-F800]dddd\\,\\ mmmm\\ dd\\,\\ yyyy",
            "[Red]yyyy\"年\"m\"月\"d\"日\"",
            "h:mm AM/PM",
            "mm:ss.0",
        ] {
            assert!(is_date_code(code), "{code}");
        }
        for code in [
            "General",
            "0.00",
            "#,##0;[Red]-#,##0",
            "@",
            "\"days\" 0",
            "0_);[Red](0)",
            "[h]:mm:ss",
            "[mm]:ss",
            "0.00E+00",
            "\\d0",
            "0;yyyy",
        ] {
            assert!(!is_date_code(code), "{code}");
        }
        assert!(is_date_id(14) && is_date_id(22) && is_date_id(31) && is_date_id(58));
        assert!(!is_date_id(0) && !is_date_id(1) && !is_date_id(46) && !is_date_id(49));
    }

    #[test]
    fn targets_are_member_names() {
        assert_eq!(
            member_name("worksheets/sheet1.xml"),
            "xl/worksheets/sheet1.xml"
        );
        assert_eq!(member_name("/xl/worksheets/s.xml"), "xl/worksheets/s.xml");
        assert_eq!(member_name("../custom/s.xml"), "custom/s.xml");
        assert_eq!(member_name("./sharedStrings.xml"), "xl/sharedStrings.xml");
    }

    #[test]
    fn cells_and_shared_strings_over_the_limit_are_cut_and_reported() {
        let long = "13812345678 ".repeat(CELL_TEXT_MAX / 12 + 100_000);
        let rec = read(&workbook(|xml| {
            xml.replace("<x:t>inline</x:t>", &format!("<x:t>{long}</x:t>"))
                .replace("<t>身份证号</t>", &format!("<t>{long}</t>"))
        }));
        let sheet = "数据 & 表";
        // Then the sheets without a part, as without long cells.
        assert_eq!(
            rec.skips[..2],
            [
                (
                    "xl/strings.xml".to_string(),
                    "1 shared strings over 8 MiB: the rest of each not scanned".to_string()
                ),
                (sheet.to_string(), cell_cut(1, 1)),
            ]
        );
        assert_eq!(rec.skips.len(), 4);
        assert_eq!(
            cell_cut(1, 1),
            "cell B2: text over 8 MiB, the rest of it not scanned"
        );
        for cell in [(0, 0), (1, 1)] {
            let unit = rec.units.iter().find(|u| u.cell == Some(cell)).unwrap();
            assert!(long.starts_with(&unit.text));
            assert!(unit.text.len() > CELL_TEXT_MAX - 12 && unit.text.len() <= CELL_TEXT_MAX);
        }
        // The cells after them are read.
        assert!(rec.units.iter().any(|u| u.text == "next row"));
        assert!(rec.units.iter().any(|u| u.text == "手机 号"));
    }

    #[test]
    fn escapes_in_strings() {
        let mut s = "keep_x000D_".to_string();
        unescape_tail(&mut s, 4);
        assert_eq!(s, "keep\r");
        let mut s = "a_x0041_b_xZZZZ_c_x00".to_string();
        unescape_tail(&mut s, 0);
        assert_eq!(s, "aAb_xZZZZ_c_x00");
        let mut s = "_x0041_x".to_string();
        unescape_tail(&mut s, 1);
        assert_eq!(s, "_x0041_x");
    }
}
