//! A BIFF12 writer: synthetic `.xlsb` workbooks for the tests and
//! [`crate::synth::xlsb_roster`], made of the parts and records the
//! `.xlsb` readers (ours and calamine's) look for: the workbook part
//! listing the sheets and their relationships, the date system, the
//! shared strings, the styles' number formats, and worksheets of cells.

use std::io::{Cursor, Write};

/// One BIFF12 record: its type and size as the variable-length integers of
/// MS-XLSB 2.1.4 (7 bits a byte, the high bit saying that more follow).
pub(super) fn record(out: &mut Vec<u8>, typ: u16, body: &[u8]) {
    if typ < 0x80 {
        out.push(typ as u8);
    } else {
        out.extend([(typ & 0x7F) as u8 | 0x80, (typ >> 7) as u8]);
    }
    let mut size = body.len();
    loop {
        let low = (size & 0x7F) as u8;
        size >>= 7;
        if size == 0 {
            out.push(low);
            break;
        }
        out.push(low | 0x80);
    }
    out.extend_from_slice(body);
}

/// An `XLWideString`: a count of UTF-16 units, then the units.
pub(super) fn wide(out: &mut Vec<u8>, text: &str) {
    let units: Vec<u16> = text.encode_utf16().collect();
    out.extend((units.len() as u32).to_le_bytes());
    out.extend(units.iter().flat_map(|u| u.to_le_bytes()));
}

/// Little-endian `u32`s, one after the other.
fn u32s(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The body of a cell record: the column, then the style (24 bits) and
/// flags.
pub(super) fn cell(col: u32, style: u32) -> Vec<u8> {
    u32s(&[col, style])
}

/// Appends the `BrtRowHdr` of `row` (style, height and flags left zero).
pub(super) fn row_header(out: &mut Vec<u8>, row: u32) {
    let mut header = u32s(&[row, 0]);
    header.extend([0; 9]);
    record(out, 0x00, &header);
}

/// An `.xlsb` workbook of one sheet named `sheet` holding `rows`: numbers
/// of up to 15 digits as number cells (a phone stored as a number), other
/// text as shared strings, as [`super::xls_write::roster`] does for `.xls`.
pub(crate) fn roster(sheet: &str, rows: &[Vec<String>]) -> Vec<u8> {
    let mut strings: Vec<String> = Vec::new();
    let mut cells = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        row_header(&mut cells, r as u32);
        for (c, text) in row.iter().enumerate() {
            let mut body = cell(c as u32, 0);
            match super::xls_write::number_cell(text) {
                Some(n) => {
                    body.extend(n.to_le_bytes());
                    record(&mut cells, 0x05, &body); // BrtCellReal
                }
                None => {
                    body.extend((strings.len() as u32).to_le_bytes());
                    strings.push(text.clone());
                    record(&mut cells, 0x07, &body); // BrtCellIsst
                }
            }
        }
    }
    let book = Book {
        sheets: vec![Sheet::cells(sheet, cells)],
        strings,
        ..Book::default()
    };
    book.write()
}

/// A sheet of a [`Book`]: a worksheet with its cell records (`BrtRowHdr`
/// and cell records, see [`record`]), or a chart sheet.
pub(super) struct Sheet {
    pub name: String,
    pub cells: Vec<u8>,
    pub chart: bool,
}

impl Sheet {
    /// A worksheet.
    pub fn cells(name: &str, cells: Vec<u8>) -> Sheet {
        Sheet {
            name: name.to_string(),
            cells,
            chart: false,
        }
    }
}

/// A workbook to write: its sheets, shared strings, custom number formats
/// (id and code), the number format of each cell style, and the date
/// system. Without styles, no styles part is written.
#[derive(Default)]
pub(super) struct Book {
    pub sheets: Vec<Sheet>,
    pub strings: Vec<String>,
    pub formats: Vec<(u16, String)>,
    pub styles: Vec<u16>,
    pub is_1904: bool,
}

impl Book {
    /// The `.xlsb` file.
    pub fn write(&self) -> Vec<u8> {
        const RELS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
        const PACKAGE: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
        let mut book = Vec::new();
        record(&mut book, 0x83, &[]); // BrtBeginBook
        record(&mut book, 0x99, &u32s(&[u32::from(self.is_1904), 0])); // BrtWbProp
        record(&mut book, 0x8F, &[]); // BrtBeginBundleShs
        let mut rels = String::new();
        let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
        for (i, sheet) in self.sheets.iter().enumerate() {
            let id = format!("rId{}", i + 1);
            let mut bundle = u32s(&[0, i as u32 + 1]); // visible, tab id
            wide(&mut bundle, &id);
            wide(&mut bundle, &sheet.name);
            record(&mut book, 0x9C, &bundle); // BrtBundleSh
            let (kind, target) = if sheet.chart {
                ("chartsheet", format!("chartsheets/sheet{}.bin", i + 1))
            } else {
                ("worksheet", format!("worksheets/sheet{}.bin", i + 1))
            };
            rels +=
                &format!("<Relationship Id=\"{id}\" Type=\"{RELS}/{kind}\" Target=\"{target}\"/>");
            let mut part = Vec::new();
            record(&mut part, 0x81, &[]); // BrtBeginSheet
            if !sheet.chart {
                record(&mut part, 0x94, &u32s(&[0, 0, 0, 0])); // BrtWsDim
                record(&mut part, 0x91, &[]); // BrtBeginSheetData
                part.extend_from_slice(&sheet.cells);
                record(&mut part, 0x92, &[]); // BrtEndSheetData
            }
            record(&mut part, 0x82, &[]); // BrtEndSheet
            parts.push((format!("xl/{target}"), part));
        }
        record(&mut book, 0x90, &[]); // BrtEndBundleShs
        record(&mut book, 0x9D, &[0; 22]); // BrtCalcProp
        record(&mut book, 0x84, &[]); // BrtEndBook
        parts.push(("xl/workbook.bin".into(), book));

        let mut shared = Vec::new();
        let count = self.strings.len() as u32;
        record(&mut shared, 0x9F, &u32s(&[count, count])); // BrtBeginSst
        for text in &self.strings {
            let mut item = vec![0]; // no rich text, no phonetics
            wide(&mut item, text);
            record(&mut shared, 0x13, &item); // BrtSSTItem
        }
        record(&mut shared, 0xA0, &[]); // BrtEndSst
        parts.push(("xl/sharedStrings.bin".into(), shared));
        let n = self.sheets.len();
        rels += &format!(
            "<Relationship Id=\"rId{}\" Type=\"{RELS}/sharedStrings\" Target=\"sharedStrings.bin\"/>",
            n + 1
        );

        if !self.styles.is_empty() {
            let mut styles = Vec::new();
            record(&mut styles, 0x267, &u32s(&[self.formats.len() as u32])); // BrtBeginFmts
            for (id, code) in &self.formats {
                let mut fmt = id.to_le_bytes().to_vec();
                wide(&mut fmt, code);
                record(&mut styles, 0x2C, &fmt); // BrtFmt
            }
            record(&mut styles, 0x268, &[]); // BrtEndFmts
            record(&mut styles, 0x269, &u32s(&[self.styles.len() as u32])); // BrtBeginCellXFs
            for format in &self.styles {
                let mut xf = 0xFFFFu16.to_le_bytes().to_vec(); // no parent
                xf.extend(format.to_le_bytes());
                xf.extend([0; 12]);
                record(&mut styles, 0x2F, &xf); // BrtXF
            }
            record(&mut styles, 0x26A, &[]); // BrtEndCellXFs
            parts.push(("xl/styles.bin".into(), styles));
            rels += &format!(
                "<Relationship Id=\"rId{}\" Type=\"{RELS}/styles\" Target=\"styles.bin\"/>",
                n + 2
            );
        }
        parts.push((
            "xl/_rels/workbook.bin.rels".into(),
            format!(
                "<?xml version=\"1.0\"?><Relationships xmlns=\"{PACKAGE}\">{rels}</Relationships>"
            )
            .into_bytes(),
        ));
        parts.push((
            "_rels/.rels".into(),
            format!(
                "<?xml version=\"1.0\"?><Relationships xmlns=\"{PACKAGE}\">\
                 <Relationship Id=\"rId1\" Type=\"{RELS}/officeDocument\" Target=\"xl/workbook.bin\"/></Relationships>"
            )
            .into_bytes(),
        ));
        parts.push((
            "[Content_Types].xml".into(),
            b"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
              <Default Extension=\"bin\" ContentType=\"application/vnd.ms-excel.sheet.binary.macroEnabled.main\"/>\
              <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
              </Types>"
                .to_vec(),
        ));
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in parts.iter().rev() {
            zip.start_file(name.as_str(), options)
                .expect("writing to memory");
            zip.write_all(bytes).expect("writing to memory");
        }
        zip.finish().expect("writing to memory").into_inner()
    }
}
