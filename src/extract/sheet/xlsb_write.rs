//! A BIFF12 writer: synthetic `.xlsb` workbooks for the tests and
//! [`crate::synth::xlsb_roster`], made of the parts and records calamine's
//! `.xlsb` reader looks for: the workbook part listing the sheet and its
//! relationship, the shared strings, and one worksheet of cells.

use std::io::{Cursor, Write};

/// One BIFF12 record: its type and size as the variable-length integers of
/// MS-XLSB 2.1.4 (7 bits a byte, the high bit saying that more follow).
fn record(out: &mut Vec<u8>, typ: u16, body: &[u8]) {
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
fn wide(out: &mut Vec<u8>, text: &str) {
    let units: Vec<u16> = text.encode_utf16().collect();
    out.extend((units.len() as u32).to_le_bytes());
    out.extend(units.iter().flat_map(|u| u.to_le_bytes()));
}

/// Little-endian `u32`s, one after the other.
fn u32s(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// An `.xlsb` workbook of one sheet named `sheet` holding `rows`: numbers
/// of up to 15 digits as number cells (a phone stored as a number), other
/// text as shared strings, as [`super::xls_write::roster`] does for `.xls`.
pub(crate) fn roster(sheet: &str, rows: &[Vec<String>]) -> Vec<u8> {
    let mut strings: Vec<&str> = Vec::new();
    let mut cells = Vec::new();
    record(&mut cells, 0x81, &[]); // BrtBeginSheet
    let columns = rows.iter().map(Vec::len).max().unwrap_or(1).max(1) as u32;
    let last_row = rows.len().saturating_sub(1) as u32;
    record(&mut cells, 0x94, &u32s(&[0, last_row, 0, columns - 1])); // BrtWsDim
    record(&mut cells, 0x91, &[]); // BrtBeginSheetData
    for (r, row) in rows.iter().enumerate() {
        // BrtRowHdr: the row, then style, height and flags left zero.
        let mut header = u32s(&[r as u32, 0]);
        header.extend([0; 9]);
        record(&mut cells, 0x00, &header);
        for (c, text) in row.iter().enumerate() {
            // The column, then the style (0) and flags.
            let mut body = u32s(&[c as u32, 0]);
            match super::xls_write::number_cell(text) {
                Some(n) => {
                    body.extend(n.to_le_bytes());
                    record(&mut cells, 0x05, &body); // BrtCellReal
                }
                None => {
                    body.extend((strings.len() as u32).to_le_bytes());
                    strings.push(text);
                    record(&mut cells, 0x07, &body); // BrtCellIsst
                }
            }
        }
    }
    record(&mut cells, 0x92, &[]); // BrtEndSheetData
    record(&mut cells, 0x82, &[]); // BrtEndSheet

    let mut shared = Vec::new();
    let count = strings.len() as u32;
    record(&mut shared, 0x9F, &u32s(&[count, count])); // BrtBeginSst
    for text in &strings {
        let mut item = vec![0]; // no rich text, no phonetics
        wide(&mut item, text);
        record(&mut shared, 0x13, &item); // BrtSSTItem
    }
    record(&mut shared, 0xA0, &[]); // BrtEndSst

    let mut book = Vec::new();
    record(&mut book, 0x83, &[]); // BrtBeginBook
    record(&mut book, 0x8F, &[]); // BrtBeginBundleShs
    let mut bundle = u32s(&[0, 1]); // visible, tab 1
    wide(&mut bundle, "rId1");
    wide(&mut bundle, sheet);
    record(&mut book, 0x9C, &bundle); // BrtBundleSh
    record(&mut book, 0x90, &[]); // BrtEndBundleShs
    record(&mut book, 0x9D, &[0; 22]); // BrtCalcProp
    record(&mut book, 0x84, &[]); // BrtEndBook

    const RELS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let parts: [(&str, Vec<u8>); 6] = [
        (
            "[Content_Types].xml",
            b"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
              <Default Extension=\"bin\" ContentType=\"application/vnd.ms-excel.sheet.binary.macroEnabled.main\"/>\
              <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
              </Types>"
                .to_vec(),
        ),
        (
            "_rels/.rels",
            format!(
                "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
                 <Relationship Id=\"rId1\" Type=\"{RELS}/officeDocument\" Target=\"xl/workbook.bin\"/></Relationships>"
            )
            .into_bytes(),
        ),
        ("xl/workbook.bin", book),
        (
            "xl/_rels/workbook.bin.rels",
            format!(
                "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
                 <Relationship Id=\"rId1\" Type=\"{RELS}/worksheet\" Target=\"worksheets/sheet1.bin\"/>\
                 <Relationship Id=\"rId2\" Type=\"{RELS}/sharedStrings\" Target=\"sharedStrings.bin\"/></Relationships>"
            )
            .into_bytes(),
        ),
        ("xl/sharedStrings.bin", shared),
        ("xl/worksheets/sheet1.bin", cells),
    ];
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in parts {
        zip.start_file(name, options).expect("writing to memory");
        zip.write_all(&bytes).expect("writing to memory");
    }
    zip.finish().expect("writing to memory").into_inner()
}
