//! Excel binary workbooks (`.xlsb`): a zip of BIFF12 record streams
//! (`[MS-XLSB]`), read with `zip` and the record reader below.
//!
//! # Why not calamine
//!
//! calamine's `.xlsb` reader holds every shared string as a `String` of its
//! own: a 12 MB roster of 800 000 distinct strings peaked at 195 MB. Here
//! the shared strings go to the same [`SharedStrings`] as an `.xlsx`'s
//! (held compactly, past 16 MiB of text written to a temporary file), and
//! sheets are streamed record by record, so memory depends on neither the
//! number of cells nor that of distinct strings. calamine still tells an
//! encrypted workbook, and is the oracle of the differential test.
//!
//! # Parts
//!
//! The relationships (`xl/_rels/workbook.bin.rels`) are XML, read as an
//! `.xlsx`'s are. `xl/workbook.bin` lists the sheets (`BrtBundleSh`: state,
//! tab id, relationship id, name) and the date system (`BrtWbProp`);
//! `xl/styles.bin` the custom number formats (`BrtFmt`) and the number
//! format of each cell style (`BrtXF` between `BrtBeginCellXFs` and
//! `BrtEndCellXFs`); `xl/sharedStrings.bin` one `BrtSSTItem` per string.
//! Worksheets and macro sheets are read, chart and dialog sheets are not.
//!
//! # Records
//!
//! A record is its type (1 or 2 bytes) and size (1 to 4 bytes), both
//! 7 bits a byte with the high bit saying that more follow, then its body.
//! Bodies are read into one reused buffer, and a record longer than
//! [`MAX_RECORD`] (Excel's longest are a few hundred KB) is an error rather
//! than an allocation sized by the file.
//!
//! # Cells
//!
//! Between `BrtBeginSheetData` and `BrtEndSheetData`, `BrtRowHdr` sets the
//! row; a cell record starts with its column and its style (24 bits):
//!
//! * `BrtCellIsst`: the shared string; `BrtCellSt`, `BrtFmlaString`: the
//!   text.
//! * `BrtCellReal`, `BrtFmlaNum`: the number, a date under a date or time
//!   format (the rules of the `.xlsx` reader); `BrtCellRk`: the RK number
//!   (`Dates::rk`, as in an `.xls`).
//! * Booleans, errors and blanks: no unit.

use std::fmt::Display;
use std::io::{BufRead, Read, Seek};

use super::super::Sink;
use super::le::{bytes_at, u16_at, u32_at};
use super::part::read_member;
use super::xlsx::{is_date_code, open_package, part_of, read_sheets, Book, SheetEntry};
use super::{Dates, Kind, SharedStrings, SheetWriter, Value};

/// The workbook part and its relationships.
const WORKBOOK: &str = "xl/workbook.bin";
const WORKBOOK_RELS: &str = "xl/_rels/workbook.bin.rels";

/// Longest record body read.
const MAX_RECORD: usize = 16 << 20;

/// Record types (`[MS-XLSB]` 2.3.2).
mod brt {
    pub const ROW_HDR: u16 = 0x00;
    pub const CELL_RK: u16 = 0x02;
    pub const CELL_REAL: u16 = 0x05;
    pub const CELL_ST: u16 = 0x06;
    pub const CELL_ISST: u16 = 0x07;
    pub const FMLA_STRING: u16 = 0x08;
    pub const FMLA_NUM: u16 = 0x09;
    /// The last cell record type (`BrtFmlaError`).
    pub const LAST_CELL: u16 = 0x0B;
    pub const SST_ITEM: u16 = 0x13;
    pub const FMT: u16 = 0x2C;
    pub const XF: u16 = 0x2F;
    pub const END_BUNDLE_SHS: u16 = 0x90;
    pub const BEGIN_SHEET_DATA: u16 = 0x91;
    pub const END_SHEET_DATA: u16 = 0x92;
    pub const WB_PROP: u16 = 0x99;
    pub const BUNDLE_SH: u16 = 0x9C;
    pub const BEGIN_CELL_XFS: u16 = 0x269;
    pub const END_CELL_XFS: u16 = 0x26A;
}

/// Extracts the cells of every worksheet of the workbook in `reader` into
/// `sink` through `writer`. `Err` is the reason the workbook could not be
/// read at all; a sheet that cannot be read is skipped after the cells read
/// before the damage, and the other sheets are still read.
pub(super) fn extract<R: Read + Seek>(
    reader: R,
    writer: &mut SheetWriter,
    sink: &mut dyn Sink,
) -> Result<(), String> {
    let unreadable = |e: &dyn Display| Kind::Xlsb.unreadable(e);
    let (mut zip, rels) = open_package(reader, Kind::Xlsb, WORKBOOK_RELS)?;
    let book = read_member(&mut zip, WORKBOOK, Records::new, read_workbook)
        .map_err(|e| unreadable(&e))?
        .ok_or_else(|| unreadable(&"no xl/workbook.bin"))?;
    let styles = part_of(&rels, "/styles", "xl/styles.bin");
    let dates = read_member(&mut zip, &styles, Records::new, |r| {
        read_styles(r, book.is_1904)
    })
    .map_err(|e| unreadable(&e))?
    .unwrap_or_default();
    let strings_part = part_of(&rels, "/sharedStrings", "xl/sharedStrings.bin");
    let mut strings = read_member(&mut zip, &strings_part, Records::new, read_strings)
        .map_err(|e| unreadable(&e))?
        .unwrap_or_default();
    read_sheets(
        &book.sheets,
        &rels,
        WORKBOOK_RELS,
        writer,
        sink,
        |part, writer, sink| {
            read_member(&mut zip, part, Records::new, |records| {
                read_cells(records, &mut strings, &dates, writer, sink)
            })
        },
    );
    Ok(())
}

/// The records of a part, one at a time.
struct Records<B> {
    input: B,
    /// The body of the record read last.
    body: Vec<u8>,
    /// Offset in the part of the next record.
    at: u64,
}

impl<B: BufRead> Records<B> {
    fn new(input: B) -> Self {
        Records {
            input,
            body: Vec::new(),
            at: 0,
        }
    }

    /// The next byte; `None` at the end of the part.
    fn byte(&mut self) -> Result<Option<u8>, String> {
        let at = self.at;
        let buf = self
            .input
            .fill_buf()
            .map_err(|e| format!("cannot read at byte {at}: {e}"))?;
        let Some(&b) = buf.first() else {
            return Ok(None);
        };
        self.input.consume(1);
        self.at += 1;
        Ok(Some(b))
    }

    /// A byte of the record header that began at `start`.
    fn header_byte(&mut self, start: u64) -> Result<u8, String> {
        self.byte()?
            .ok_or_else(|| format!("record at byte {start} cut short"))
    }

    /// Reads the next record, its body into `self.body`, and returns its
    /// type; `None` at the end of the part.
    fn next(&mut self) -> Result<Option<u16>, String> {
        let start = self.at;
        let Some(first) = self.byte()? else {
            return Ok(None);
        };
        let mut typ = u16::from(first & 0x7F);
        if first & 0x80 != 0 {
            typ |= u16::from(self.header_byte(start)? & 0x7F) << 7;
        }
        let mut size = 0usize;
        for shift in [0, 7, 14, 21] {
            let b = self.header_byte(start)?;
            size |= usize::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        if size > MAX_RECORD {
            return Err(format!(
                "record at byte {start} of {size} bytes (longer than any Excel writes)"
            ));
        }
        self.body.clear();
        let read = (&mut self.input)
            .take(size as u64)
            .read_to_end(&mut self.body)
            .map_err(|e| format!("cannot read at byte {}: {e}", self.at))?;
        self.at += read as u64;
        if read < size {
            return Err(format!("record at byte {start} cut short"));
        }
        Ok(Some(typ))
    }
}

/// Appends the `XLWideString` at `body[at..]` (a count of UTF-16 units,
/// then the units; unpaired surrogates become U+FFFD) to `out`, and
/// returns the offset past it.
fn wide_string(body: &[u8], at: usize, out: &mut String) -> Result<usize, String> {
    let units = bytes_at(body, at)
        .map(u32::from_le_bytes)
        .ok_or("string cut short")? as usize;
    let end = units
        .checked_mul(2)
        .and_then(|n| n.checked_add(at + 4))
        .filter(|&end| end <= body.len())
        .ok_or("string cut short")?;
    let utf16 = body[at + 4..end].chunks_exact(2).map(|u| u16_at(u, 0));
    out.extend(char::decode_utf16(utf16).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)));
    Ok(end)
}

/// Reads the workbook part up to the end of its sheet list.
fn read_workbook<B: BufRead>(records: &mut Records<B>) -> Result<Book, String> {
    let mut book = Book::default();
    while let Some(typ) = records.next()? {
        let body = &records.body;
        match typ {
            brt::WB_PROP => book.is_1904 = body.first().is_some_and(|flags| flags & 1 != 0),
            brt::BUNDLE_SH => {
                // The state and tab id, then the relationship id, which is
                // null (a count of 0xFFFFFFFF) for a sheet without a part.
                if body.get(8..12).is_some_and(|n| n == [0xFF; 4]) {
                    continue;
                }
                let mut rel = String::new();
                let at = wide_string(body, 8, &mut rel)?;
                let mut name = String::new();
                wide_string(body, at, &mut name)?;
                book.sheets.push(SheetEntry { name, rel });
            }
            brt::END_BUNDLE_SHS => break,
            _ => {}
        }
    }
    Ok(book)
}

/// Reads the styles part: which cell styles show numbers as dates.
fn read_styles<B: BufRead>(records: &mut Records<B>, is_1904: bool) -> Result<Dates, String> {
    let mut custom = std::collections::HashMap::new();
    let mut formats = Vec::new();
    let mut in_cell_styles = false;
    let mut code = String::new();
    while let Some(typ) = records.next()? {
        let body = &records.body;
        match typ {
            brt::FMT if body.len() >= 2 => {
                code.clear();
                wide_string(body, 2, &mut code)?;
                custom.insert(u32::from(u16_at(body, 0)), is_date_code(&code));
            }
            brt::BEGIN_CELL_XFS => in_cell_styles = true,
            brt::END_CELL_XFS => break,
            brt::XF if in_cell_styles => {
                let format = bytes_at(body, 2).map_or(0, u16::from_le_bytes);
                formats.push(u32::from(format));
            }
            _ => {}
        }
    }
    Ok(Dates::new(&formats, &custom, is_1904))
}

/// Reads the shared strings part; a string's rich-text runs and phonetic
/// guides, after its text, are left out.
fn read_strings<B: BufRead>(records: &mut Records<B>) -> Result<SharedStrings, String> {
    let mut strings = SharedStrings::default();
    while let Some(typ) = records.next()? {
        if typ == brt::SST_ITEM {
            // The flags byte, then the text.
            wide_string(&records.body, 1, &mut strings.text)?;
            strings.close()?;
        }
    }
    Ok(strings)
}

/// Streams the cells of one worksheet part to `writer`.
fn read_cells<B: BufRead>(
    records: &mut Records<B>,
    strings: &mut SharedStrings,
    dates: &Dates,
    writer: &mut SheetWriter,
    sink: &mut dyn Sink,
) -> Result<(), String> {
    let mut row = 0u32;
    let mut in_data = false;
    let mut text = String::new();
    while let Some(typ) = records.next()? {
        let body = &records.body;
        match typ {
            brt::BEGIN_SHEET_DATA => in_data = true,
            brt::END_SHEET_DATA => return Ok(()),
            brt::ROW_HDR if in_data => {
                row = bytes_at(body, 0)
                    .map(u32::from_le_bytes)
                    .ok_or("row record cut short")?;
            }
            typ if in_data && typ <= brt::LAST_CELL => {
                if body.len() < 8 {
                    return Err(format!("cell record of {} bytes in row {row}", body.len()));
                }
                let col = u32_at(body, 0);
                let style = (u32_at(body, 4) & 0xFF_FFFF) as usize;
                let number_cut = || format!("number cut short in row {row}");
                let value = match typ {
                    brt::CELL_RK => {
                        let rk = bytes_at(body, 8).map(u32::from_le_bytes);
                        dates.rk(style, rk.ok_or_else(number_cut)?)
                    }
                    brt::CELL_REAL | brt::FMLA_NUM => {
                        let number = bytes_at(body, 8).map(f64::from_le_bytes);
                        dates.number(style, number.ok_or_else(number_cut)?)
                    }
                    brt::CELL_ST | brt::FMLA_STRING => {
                        text.clear();
                        wide_string(body, 8, &mut text)?;
                        Some(Value::Text(&text))
                    }
                    brt::CELL_ISST => {
                        let index = bytes_at(body, 8).map(u32::from_le_bytes);
                        let index = index.ok_or_else(|| format!("cell cut short in row {row}"))?;
                        let found = strings.get(index as usize)?;
                        Some(Value::Text(
                            found.ok_or_else(|| format!("no shared string {index}"))?,
                        ))
                    }
                    _ => None,
                };
                if let Some(value) = value.filter(Value::is_present) {
                    writer.cell(sink, row, col, value);
                }
            }
            _ => {}
        }
    }
    if in_data {
        return Err("the part ends inside the sheet data".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::super::tests::calamine_cells;
    use super::super::xlsb_write::{cell, record, row_header, wide, Book, Sheet};
    use super::*;
    use crate::extract::testing::Recorder;
    use crate::synth::{self, Rng};

    /// Our units and skips for `data`.
    fn ours(data: &[u8]) -> Recorder {
        let mut rec = Recorder::default();
        if let Err(e) = extract(Cursor::new(data), &mut SheetWriter::default(), &mut rec) {
            rec.skips.push((String::new(), e));
        }
        rec
    }

    fn rk_int(n: i32) -> u32 {
        ((n << 2) | 2) as u32
    }

    /// General, a built-in date, a custom date, a custom number, a duration.
    const STYLES: [u16; 5] = [0, 14, 164, 165, 46];

    /// The records of one random cell for the differential test; `strings`
    /// shared strings exist.
    fn cell_record(col: u32, kind: u8, seed: u64, strings: usize) -> Vec<u8> {
        let mut rng = Rng::new(seed);
        let mut style = rng.below(STYLES.len() as u64) as u32;
        // calamine reads a whole RK integer as an integer whatever its style
        // (a date style included, where this reader gives the date).
        if kind == 4 && matches!(style, 1 | 2) {
            style = 0;
        }
        let mut body = cell(col, style);
        let typ = match kind {
            0 => {
                body.extend((rng.below(strings as u64) as u32).to_le_bytes());
                brt::CELL_ISST
            }
            1 => {
                wide(&mut body, &synth::resident_id(&mut rng));
                brt::CELL_ST
            }
            2 => {
                let phone: f64 = synth::mobile(&mut rng).parse().unwrap();
                body.extend(phone.to_le_bytes());
                brt::CELL_REAL
            }
            3 => {
                body.extend(((rng.below(80_000) as f64) / 8.0).to_le_bytes());
                brt::CELL_REAL
            }
            4 => {
                let n = rng.below(1 << 20) as i32 - (1 << 19);
                body.extend(rk_int(n).to_le_bytes());
                brt::CELL_RK
            }
            // An integer divided by 100, and a double's high half.
            5 => {
                body.extend((rk_int(rng.below(100_000) as i32) | 1).to_le_bytes());
                brt::CELL_RK
            }
            6 => {
                let f = [0.5f64, 1.5, 1024.0, 45000.0, -2.0][rng.below(5) as usize];
                body.extend((((f.to_bits() >> 32) as u32) & !3).to_le_bytes());
                brt::CELL_RK
            }
            // A formula's cached value, its flags and an empty formula.
            7 => {
                body.extend((rng.below(1000) as f64 + 0.25).to_le_bytes());
                body.extend([0; 10]);
                brt::FMLA_NUM
            }
            8 => {
                wide(&mut body, &synth::mobile(&mut rng));
                body.extend([0; 10]);
                brt::FMLA_STRING
            }
            // A boolean, an error (#N/A), a blank.
            9 => {
                body.push(1);
                0x04
            }
            10 => {
                body.push(0x2A);
                0x03
            }
            _ => 0x01,
        };
        let mut out = Vec::new();
        record(&mut out, typ, &body);
        out
    }

    fn strings(rng: &mut Rng) -> Vec<String> {
        let mut s: Vec<String> = ["姓名", "身份证号", "a & b", "Zoë", " ", "", "😀 emoji"]
            .map(String::from)
            .to_vec();
        s.extend((0..20).map(|_| synth::resident_id(rng)));
        s.push("长".repeat(120));
        s
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Random workbooks read by this reader and by calamine's give the
        /// same units, fields included: shared and inline strings, real and
        /// RK numbers, formulas with number and text values, dates in both
        /// date systems, durations, booleans, errors, blanks, and a chart
        /// sheet.
        #[test]
        fn xlsb_reader_agrees_with_calamine(
            sheets in proptest::collection::vec(
                proptest::collection::vec((0u32..30, 0u32..6, 0u8..12, proptest::prelude::any::<u64>()), 0..40),
                1..4,
            ),
            seed in proptest::prelude::any::<u64>(),
            is_1904 in proptest::prelude::any::<bool>(),
        ) {
            let strings = strings(&mut Rng::new(seed));
            let mut book = Book {
                strings: strings.clone(),
                formats: vec![(164, "yyyy\"年\"m\"月\"d\"日\"".into()), (165, "0.00".into())],
                styles: STYLES.to_vec(),
                is_1904,
                ..Book::default()
            };
            for (i, cells) in sheets.iter().enumerate() {
                let mut cells = cells.clone();
                // Cells in row order, one record per place, as Excel writes.
                cells.sort_by_key(|c| (c.0, c.1));
                cells.dedup_by_key(|c| (c.0, c.1));
                let mut records = Vec::new();
                let mut last_row = None;
                for &(row, col, kind, seed) in &cells {
                    if last_row != Some(row) {
                        row_header(&mut records, row);
                        last_row = Some(row);
                    }
                    records.extend(cell_record(col, kind, seed, strings.len()));
                }
                book.sheets.push(Sheet::cells(&format!("表{i}"), records));
            }
            book.sheets.push(Sheet { name: "图".into(), cells: Vec::new(), chart: true });
            let data = book.write();
            let ours = ours(&data);
            let theirs = calamine_cells::<calamine::Xlsb<_>>(&data);
            proptest::prop_assert!(ours.skips.is_empty(), "{:?}", ours.skips);
            proptest::prop_assert_eq!(&ours.units, &theirs.units);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any bytes as a sheet's records, after a valid row header, or as
        /// the shared strings, give units and clean skips, never a panic
        /// (which the guard would report as a corrupt spreadsheet).
        #[test]
        fn damaged_records_never_panic(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::any::<u8>(),
                    proptest::sample::select(vec![0x00u8, 0x02, 0x05, 0x06, 0x07, 0x08, 0x13, 0x80, 0xFF, 0x92]),
                ],
                0..300,
            ),
            as_strings in proptest::prelude::any::<bool>(),
        ) {
            let mut cells = Vec::new();
            row_header(&mut cells, 0);
            cells.extend(isst(0, 0));
            let book = Book {
                sheets: vec![Sheet::cells("S", cells)],
                strings: vec!["甲".into()],
                ..Book::default()
            };
            let part = if as_strings { "xl/sharedStrings.bin" } else { "xl/worksheets/sheet1.bin" };
            let data = super::super::tests::rezip(&book.write(), |name, mut old| {
                if name == part {
                    if as_strings {
                        old = bytes.clone();
                    } else {
                        old.truncate(old.len() - 6); // BrtEndSheetData, BrtEndSheet
                        old.extend_from_slice(&bytes);
                    }
                }
                Some(old)
            });
            let mut rec = Recorder::default();
            super::super::extract("r.xlsb", &data, &mut rec);
            for (_, reason) in &rec.skips {
                proptest::prop_assert!(!reason.contains("reader failed"), "{}", reason);
            }
        }
    }

    /// A one-sheet workbook whose cell records are `cells` (after a
    /// `BrtRowHdr` of row 0), with the shared strings `strings`.
    fn one_sheet(cells: Vec<u8>, strings: &[&str]) -> Vec<u8> {
        let mut records = Vec::new();
        row_header(&mut records, 0);
        records.extend(cells);
        Book {
            sheets: vec![Sheet::cells("S", records)],
            strings: strings.iter().map(|s| s.to_string()).collect(),
            ..Book::default()
        }
        .write()
    }

    /// A shared-string cell at `col` pointing at string `index`.
    fn isst(col: u32, index: u32) -> Vec<u8> {
        let mut body = cell(col, 0);
        body.extend(index.to_le_bytes());
        let mut out = Vec::new();
        record(&mut out, brt::CELL_ISST, &body);
        out
    }

    #[test]
    fn shared_strings_past_the_held_part_are_read_back_from_their_file() {
        // `SharedStrings::HELD` is 128 bytes in tests: most of these spill.
        let mut rng = Rng::new(7);
        let ids: Vec<String> = (0..200).map(|_| synth::resident_id(&mut rng)).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        // Out of order as well as in order.
        let order: Vec<u32> = (0..200).rev().chain(0..200).collect();
        let cells = order
            .iter()
            .enumerate()
            .map(|(col, &i)| isst(col as u32, i))
            .collect::<Vec<_>>()
            .concat();
        let rec = ours(&one_sheet(cells, &refs));
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        let texts: Vec<&str> = rec.units.iter().map(|u| u.text.as_str()).collect();
        let expected: Vec<&str> = order.iter().map(|&i| refs[i as usize]).collect();
        assert_eq!(texts, expected);
    }

    #[test]
    fn a_missing_shared_string_skips_the_sheet_after_the_cells_before_it() {
        let cells = [isst(0, 0), isst(1, 5), isst(2, 0)].concat();
        let rec = ours(&one_sheet(cells, &["甲"]));
        let texts: Vec<&str> = rec.units.iter().map(|u| u.text.as_str()).collect();
        assert_eq!(texts, ["甲"]);
        assert_eq!(
            rec.skips,
            [(
                "S".to_string(),
                "unreadable sheet: xl/worksheets/sheet1.bin: no shared string 5".to_string()
            )]
        );
    }

    #[test]
    fn a_record_claiming_more_than_any_excel_writes_is_an_error_not_an_allocation() {
        // A size of 0x0FFFFFFF (the largest four bytes can say), then nothing.
        let mut cells = isst(0, 0);
        cells.extend([brt::CELL_ST as u8, 0xFF, 0xFF, 0xFF, 0x7F]);
        let rec = ours(&one_sheet(cells, &["甲"]));
        assert_eq!(rec.units.len(), 1);
        assert_eq!(rec.skips.len(), 1);
        assert!(
            rec.skips[0]
                .1
                .contains("of 268435455 bytes (longer than any Excel writes)"),
            "{:?}",
            rec.skips
        );
    }

    #[test]
    fn cut_records_and_strings_are_errors() {
        // A cell record whose string claims more units than it holds, then
        // a record header cut inside its size.
        let mut body = cell(0, 0);
        body.extend(1000u32.to_le_bytes());
        body.extend([b'a', 0]);
        let mut cut_string = Vec::new();
        record(&mut cut_string, brt::CELL_ST, &body);
        let rec = ours(&one_sheet(cut_string, &[]));
        assert_eq!(
            rec.skips,
            [(
                "S".to_string(),
                "unreadable sheet: xl/worksheets/sheet1.bin: string cut short".to_string()
            )]
        );
        let rec = ours(&one_sheet(vec![brt::CELL_ST as u8, 0x80], &[]));
        assert!(rec.skips[0].1.contains("cut short"), "{:?}", rec.skips);
    }

    #[test]
    fn a_sheet_without_a_relationship_is_skipped_and_the_others_read() {
        let mut records = Vec::new();
        row_header(&mut records, 0);
        records.extend(isst(0, 0));
        let book = Book {
            sheets: vec![Sheet::cells("S", Vec::new()), Sheet::cells("T", records)],
            strings: vec!["甲".into()],
            ..Book::default()
        };
        // Rename the first sheet's relationship id in the workbook part
        // (UTF-16, so the edit keeps every length).
        let data = super::super::tests::rezip(&book.write(), |name, mut bytes| {
            if name == WORKBOOK {
                let utf16 =
                    |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
                let at = bytes.windows(8).position(|w| w == utf16("rId1")).unwrap();
                bytes[at..at + 8].copy_from_slice(&utf16("rId9"));
            }
            Some(bytes)
        });
        let rec = ours(&data);
        let texts: Vec<&str> = rec.units.iter().map(|u| u.text.as_str()).collect();
        assert_eq!(texts, ["甲"]);
        assert_eq!(
            rec.skips,
            [(
                "S".to_string(),
                "unreadable sheet: no relationship \"rId9\" in xl/_rels/workbook.bin.rels"
                    .to_string()
            )]
        );
    }
}
