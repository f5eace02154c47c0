//! Builders of small, valid container files (zip, gzip, tar, xlsx, ods,
//! docx, SQLite) and a recording sink, shared by the hardening tests.

#![allow(dead_code)]

use std::io::{Cursor, Write};
use std::path::Path;

use piscan::extract::{Sink, Unit};

/// A zip of `(name, data)` members, deflated.
pub fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, options).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// `data`, gzip-compressed.
pub fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A tar of `(name, data)` members.
pub fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        // Written raw, so that hostile names (`../x`) are kept as they are.
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// A `.docx` whose body has one paragraph per element of `paragraphs`.
pub fn docx(paragraphs: &[String]) -> Vec<u8> {
    let mut body = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>"#,
    );
    for p in paragraphs {
        body.push_str(&format!("<w:p><w:r><w:t>{p}</w:t></w:r></w:p>"));
    }
    body.push_str("</w:body></w:document>");
    zip(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", body.as_bytes()),
    ])
}

const XLSX_PARTS: [(&str, &str); 4] = [
    (
        "[Content_Types].xml",
        r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
    ),
    (
        "_rels/.rels",
        r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
    ),
    (
        "xl/workbook.xml",
        r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
    ),
    (
        "xl/_rels/workbook.xml.rels",
        r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#,
    ),
];

/// A minimal `.xlsx` zipped by hand: one sheet `S` whose column A holds
/// `cells` as shared strings, plus `padding` extra shared strings of
/// `filler` (to build a shared-strings bomb).
pub fn xlsx(cells: &[String], filler: &str, padding: usize) -> Vec<u8> {
    let mut sheet = String::from(
        r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    let mut strings = String::from(
        r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
    );
    for (i, cell) in cells.iter().enumerate() {
        let r = i + 1;
        sheet.push_str(&format!(
            r#"<row r="{r}"><c r="A{r}" t="s"><v>{i}</v></c></row>"#
        ));
        strings.push_str(&format!("<si><t>{cell}</t></si>"));
    }
    for _ in 0..padding {
        strings.push_str(&format!("<si><t>{filler}</t></si>"));
    }
    sheet.push_str("</sheetData></worksheet>");
    strings.push_str("</sst>");
    let mut parts: Vec<(&str, &[u8])> =
        XLSX_PARTS.iter().map(|(n, d)| (*n, d.as_bytes())).collect();
    parts.push(("xl/worksheets/sheet1.xml", sheet.as_bytes()));
    parts.push(("xl/sharedStrings.xml", strings.as_bytes()));
    zip(&parts)
}

/// Rewrites the declared uncompressed size of member `name` (local header
/// and central directory) to `size`: a zip that lies about its sizes.
pub fn lie_about_size(zip: &mut [u8], name: &str, size: u32) {
    let needle = name.as_bytes();
    let mut at = 0;
    while let Some(i) = zip[at..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + at)
    {
        if i >= 30 && zip[i - 30..].starts_with(b"PK\x03\x04") {
            zip[i - 30 + 22..i - 30 + 26].copy_from_slice(&size.to_le_bytes());
        }
        if i >= 46 && zip[i - 46..].starts_with(b"PK\x01\x02") {
            zip[i - 46 + 24..i - 46 + 28].copy_from_slice(&size.to_le_bytes());
        }
        at = i + 1;
    }
}

/// A SQLite database file at `path` with a table `people(name, phone)`.
pub fn sqlite(path: &Path, rows: &[(String, String)]) {
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch("CREATE TABLE people (name TEXT, phone TEXT, note TEXT);")
        .unwrap();
    for (name, phone) in rows {
        db.execute(
            "INSERT INTO people VALUES (?1, ?2, 'synthetic')",
            (name, phone),
        )
        .unwrap();
    }
}

/// The bytes of a SQLite database like [`sqlite`] makes.
pub fn sqlite_bytes(rows: &[(String, String)]) -> Vec<u8> {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("t.db");
    sqlite(&path, rows);
    std::fs::read(path).unwrap()
}

/// A unit as recorded: text, line, col, row.
pub type Recorded = (Vec<u8>, Option<u64>, u64, Option<u64>);

/// What an extractor sent: units (text and the numeric parts of the place)
/// and skips.
#[derive(Debug, Default)]
pub struct Recorder {
    /// `(text, line, col, row)` of every unit.
    pub units: Vec<Recorded>,
    /// `(what, reason)` of every skip.
    pub skips: Vec<(String, String)>,
}

impl Sink for Recorder {
    fn unit(&mut self, unit: &Unit<'_>) {
        self.units.push((
            unit.text.to_vec(),
            unit.place.line,
            unit.place.col,
            unit.place.row,
        ));
    }

    fn skip(&mut self, what: &str, reason: &str) {
        self.skips.push((what.to_string(), reason.to_string()));
    }
}

impl Recorder {
    /// Whether any unit's text contains `needle`.
    pub fn saw(&self, needle: &str) -> bool {
        self.units
            .iter()
            .any(|(t, ..)| String::from_utf8_lossy(t).contains(needle))
    }
}

/// An OpenDocument spreadsheet whose body is `tables`.
pub fn ods(tables: &str) -> Vec<u8> {
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>"#
    );
    zip(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        ),
        ("content.xml", content.as_bytes()),
    ])
}
