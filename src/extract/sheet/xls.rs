//! Excel 97–2003 workbooks (`.xls`, BIFF8) and Excel 5.0/95 ones (BIFF5),
//! read from the `Workbook` (or `Book`) stream of the compound file
//! ([`super::cfb`]).
//!
//! # Why not calamine
//!
//! calamine parses every sheet of an `.xls` into a dense `Range` when the
//! workbook is opened, and first reserves room for as many cells as the
//! sheet's `DIMENSIONS` record claims. A file of 5.6 KB whose record
//! claimed 4 billion rows made the allocation fail, which aborts the whole
//! process (no panic to catch); one with a cell at `A1` and another at
//! `IV65536` took 1 GB. Here each sheet's records are read one by one and
//! every cell goes straight to the sheet writer: memory is the shared
//! strings and one record, whatever the positions of the cells. The
//! stream is read through [`cfb::Stream`], from memory or, for a large
//! file, from the file where it is.
//!
//! # Records
//!
//! Workbook globals: `BOF` (the BIFF version: 8 or 5; older ones are not
//! read), `FILEPASS` (encrypted: refused as password-protected), `CODEPAGE`
//! (the 8-bit encoding of BIFF5 text; BIFF8 text is Unicode), `DATEMODE`
//! (the 1904 date system), `FORMAT` and `XF` (which cells show dates, by
//! the rules of the `.xlsx` reader), `BOUNDSHEET` (sheet names and where
//! they start; worksheets and macro sheets are read) and `SST` with its
//! `CONTINUE` records (the shared strings, kept as the `.xlsx` reader's
//! are: `SharedStrings`).
//!
//! Sheet cells: `NUMBER`, `RK` and `MULRK` (numbers, RK-compressed ones
//! decoded as integers where they are), `LABELSST`, `LABEL` and `RSTRING`
//! (text), and `FORMULA` with the `STRING` after it (a formula's cached
//! value). Booleans, errors and blanks give no unit; charts embedded in a
//! sheet (their own `BOF`…`EOF`) are passed over. A damaged sheet is skipped
//! after the cells read before the damage, and the other sheets are read.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufReader, Read, Seek, SeekFrom};

use encoding_rs::{Encoding, WINDOWS_1252};

use super::super::Sink;
use super::le::{f64_at, u16_at, u32_at};
use super::xlsx::is_date_code;
use super::{cfb, Dates, Kind, SharedStrings, SheetWriter, Value, PASSWORD};

/// Record types.
pub(super) const BOF: u16 = 0x0809;
pub(super) const EOF: u16 = 0x000A;
pub(super) const FILEPASS: u16 = 0x002F;
pub(super) const CODEPAGE: u16 = 0x0042;
pub(super) const DATEMODE: u16 = 0x0022;
pub(super) const FORMAT: u16 = 0x041E;
pub(super) const XF: u16 = 0x00E0;
pub(super) const BOUNDSHEET: u16 = 0x0085;
pub(super) const SST: u16 = 0x00FC;
pub(super) const CONTINUE: u16 = 0x003C;
pub(super) const NUMBER: u16 = 0x0203;
pub(super) const RK: u16 = 0x027E;
pub(super) const MULRK: u16 = 0x00BD;
pub(super) const LABELSST: u16 = 0x00FD;
pub(super) const LABEL: u16 = 0x0204;
pub(super) const RSTRING: u16 = 0x00D6;
pub(super) const FORMULA: u16 = 0x0006;
pub(super) const STRING: u16 = 0x0207;

/// Read buffer of the workbook stream.
const RECORD_BUFFER: usize = 64 << 10;

/// Skip reason for a sheet whose records are an earlier sheet's.
const SHARED_RECORDS: &str = "sheet points at an earlier sheet's records (not read twice)";

/// The BIFF versions read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Biff {
    /// Excel 5.0/95: 8-bit text in the workbook's code page.
    Five,
    /// Excel 97–2003: Unicode text.
    Eight,
}

/// Extracts the cells of every worksheet of the `.xls` workbook in
/// `reader` (in memory, or a large file read where it is) into `sink`
/// through `writer`. `Err` is the reason the workbook could not be read at
/// all.
pub(super) fn extract<R: Read + Seek>(
    reader: R,
    writer: &mut SheetWriter,
    sink: &mut dyn Sink,
) -> Result<(), String> {
    let unreadable = |e: &str| Kind::Xls.unreadable(e);
    let compound = cfb::open(reader).map_err(|e| unreadable(&e))?;
    let name = if compound.has("workbook") {
        "workbook"
    } else {
        "book"
    };
    let stream = compound
        .stream(name)
        .map_err(|e| unreadable(&e))?
        .ok_or_else(|| unreadable("no Workbook stream"))?;
    let mut records = Records::new(stream);
    let mut book = globals(&mut records).map_err(|e| match e {
        Refused::Password => PASSWORD.to_string(),
        Refused::Damaged(e) => unreadable(&e),
    })?;
    let mut read_at = std::collections::HashSet::new();
    // Looking strings up reads their temporary file: the book is mutable.
    let sheets = std::mem::take(&mut book.sheets);
    for sheet in &sheets {
        // Sheets pointing at the same records (a crafted file could list
        // one large sheet thousands of times) are read once.
        if !read_at.insert(sheet.at) {
            sink.skip(&sheet.name, SHARED_RECORDS);
            continue;
        }
        writer.start(&sheet.name);
        let read = cells(&mut records, sheet.at, &mut book, writer, sink);
        writer.finish(sink);
        if let Err(e) = read {
            sink.skip(&sheet.name, &format!("unreadable sheet: {e}"));
        }
    }
    Ok(())
}

/// Why the globals were not read.
enum Refused {
    Password,
    Damaged(String),
}

impl From<String> for Refused {
    fn from(e: String) -> Self {
        Refused::Damaged(e)
    }
}

/// What the workbook globals say.
struct Book {
    biff: Biff,
    encoding: &'static Encoding,
    /// By XF index: whether a number under it shows a date.
    dates: Dates,
    strings: SharedStrings,
    sheets: Vec<Sheet>,
}

/// A sheet of cells and where its records start in the stream.
struct Sheet {
    name: String,
    at: u64,
}

/// The records of a stream, read one at a time: `(type, body)`. Only one
/// record's body is held.
struct Records<R> {
    reader: BufReader<R>,
    /// The stream offset of the next record.
    at: u64,
    body: Vec<u8>,
}

impl<R: Read + Seek> Records<R> {
    fn new(stream: R) -> Self {
        Records {
            reader: BufReader::with_capacity(RECORD_BUFFER, stream),
            at: 0,
            body: Vec::new(),
        }
    }

    /// Moves to the record at stream offset `at`.
    fn seek(&mut self, at: u64) -> Result<(), String> {
        self.reader
            .seek(SeekFrom::Start(at))
            .map_err(|e| format!("cannot seek in the workbook stream: {e}"))?;
        self.at = at;
        Ok(())
    }

    /// The next record; `None` at the end of the stream (fewer than the
    /// 4 bytes of a record header left), `Err` when it is cut short.
    fn next(&mut self) -> Option<Result<(u16, &[u8]), String>> {
        let mut head = [0u8; 4];
        match self.reader.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return None,
            Err(e) => return Some(Err(format!("cannot read the workbook stream: {e}"))),
        }
        let kind = u16_at(&head, 0);
        let len = usize::from(u16_at(&head, 2));
        self.body.resize(len, 0);
        if self.reader.read_exact(&mut self.body).is_err() {
            return Some(Err(format!("record {kind:#06x} cut short")));
        }
        self.at += 4 + len as u64;
        Some(Ok((kind, &self.body)))
    }

    /// The body of the next record if it is a `CONTINUE`; otherwise
    /// `None`, and the record is left to be read.
    fn next_continue(&mut self) -> Result<Option<Vec<u8>>, String> {
        let saved = self.at;
        match self.next() {
            Some(Ok((CONTINUE, data))) => Ok(Some(data.to_vec())),
            None => Ok(None),
            Some(_) => {
                self.seek(saved)?;
                Ok(None)
            }
        }
    }
}

/// Reads the workbook globals, from the first `BOF` to its `EOF`.
fn globals<R: Read + Seek>(records: &mut Records<R>) -> Result<Book, Refused> {
    let biff = match records.next().transpose()? {
        Some((BOF, data)) if data.len() >= 4 => match u16_at(data, 0) {
            0x0600 => Biff::Eight,
            0x0500 => Biff::Five,
            v => return Err(format!("BIFF version {v:#06x} (Excel 4.0 or older) not read").into()),
        },
        Some((0x0009 | 0x0209 | 0x0409, _)) => {
            return Err("BIFF2-4 workbook (Excel 4.0 or older) not read"
                .to_string()
                .into())
        }
        _ => return Err("no BOF record at the start".to_string().into()),
    };
    let mut book = Book {
        biff,
        encoding: WINDOWS_1252,
        dates: Dates::default(),
        strings: SharedStrings::default(),
        sheets: Vec::new(),
    };
    let mut is_1904 = false;
    let mut custom: HashMap<u32, bool> = HashMap::new();
    let mut xf_formats: Vec<u32> = Vec::new();
    while let Some(record) = records.next() {
        let (kind, data) = record?;
        match kind {
            EOF => break,
            FILEPASS => return Err(Refused::Password),
            CODEPAGE if data.len() >= 2 => {
                if let Some(encoding) = codepage::to_encoding(u16_at(data, 0)) {
                    book.encoding = encoding;
                }
            }
            DATEMODE if data.len() >= 2 => is_1904 = u16_at(data, 0) == 1,
            FORMAT if data.len() >= 2 => {
                let mut code = String::new();
                book.string(&data[2..], biff == Biff::Eight, &mut code)?;
                custom.insert(u32::from(u16_at(data, 0)), is_date_code(&code));
            }
            XF if data.len() >= 4 => xf_formats.push(u32::from(u16_at(data, 2))),
            BOUNDSHEET if data.len() >= 7 => {
                // Worksheets and macro sheets; not charts or VBA modules.
                if matches!(data[5], 0 | 1) {
                    // A `ShortXLUnicodeString`: an 8-bit count.
                    let mut name = String::new();
                    book.string(&data[6..], false, &mut name)?;
                    book.sheets.push(Sheet {
                        name,
                        at: u64::from(u32_at(data, 0)),
                    });
                }
            }
            SST if data.len() >= 8 => {
                let first = data[8..].to_vec();
                book.strings = shared_strings(first, || records.next_continue())?;
            }
            _ => {}
        }
    }
    book.dates = Dates::new(&xf_formats, &custom, is_1904);
    Ok(book)
}

impl Book {
    /// An `XLUnicodeString` (BIFF8: 16-bit count, flags, characters) or its
    /// BIFF5 form (8-bit count when `wide_count` is false, else 16-bit,
    /// then bytes in the code page).
    /// Appends it to `out`.
    fn string(&self, data: &[u8], wide_count: bool, out: &mut String) -> Result<(), String> {
        let (count, rest) = if wide_count {
            (usize::from(u16_at_checked(data, 0)?), data.get(2..))
        } else {
            (
                usize::from(*data.first().ok_or("string cut short")?),
                data.get(1..),
            )
        };
        let rest = rest.unwrap_or_default();
        match self.biff {
            Biff::Eight => {
                let (&flags, chars) = rest.split_first().ok_or("string cut short")?;
                let mut reader = Pieces {
                    part: Cow::Borrowed(chars),
                    at: 0,
                    more: no_more,
                };
                reader.chars(count, flags & 1 != 0, out)
            }
            Biff::Five => {
                let bytes = rest.get(..count).ok_or("string cut short")?;
                out.push_str(&self.encoding.decode_without_bom_handling(bytes).0);
                Ok(())
            }
        }
    }

    /// A number cell's value under XF `xf`.
    fn number(&self, xf: u16, value: f64) -> Option<Value<'static>> {
        self.dates.number(usize::from(xf), value)
    }

    /// An RK-compressed number under XF `xf` (see [`Dates::rk`]).
    fn rk(&self, xf: u16, rk: u32) -> Option<Value<'static>> {
        self.dates.rk(usize::from(xf), rk)
    }
}

/// Reads the shared strings (`XLUnicodeRichExtendedString`s) from the
/// body of an `SST` record (past its counts) and, through `more`, the
/// `CONTINUE`s after it, one at a time.
fn shared_strings<M>(first: Vec<u8>, more: M) -> Result<SharedStrings, String>
where
    M: FnMut() -> Result<Option<Vec<u8>>, String>,
{
    let mut strings = SharedStrings::default();
    let mut reader = Pieces {
        part: Cow::Owned(first),
        at: 0,
        more,
    };
    while !reader.at_end()? {
        let count = usize::from(reader.u16()?);
        let flags = reader.u8()?;
        let runs = if flags & 8 != 0 { reader.u16()? } else { 0 };
        let extra = if flags & 4 != 0 { reader.u32()? } else { 0 };
        reader.chars(count, flags & 1 != 0, &mut strings.text)?;
        reader.skip(usize::from(runs) * 4)?;
        reader.skip(extra as usize)?;
        strings.close()?;
    }
    Ok(strings)
}

/// No continuation: for a string that is whole in its record.
fn no_more() -> Result<Option<Vec<u8>>, String> {
    Ok(None)
}

/// A byte reader over a record and its continuations, which `more` gives
/// one at a time (so only one is held): numbers read across the joins, and
/// characters as `[MS-XLS]` splits them (each continuation that carries
/// characters starts with their width flag).
struct Pieces<'d, M> {
    part: Cow<'d, [u8]>,
    at: usize,
    more: M,
}

impl<M> Pieces<'_, M>
where
    M: FnMut() -> Result<Option<Vec<u8>>, String>,
{
    /// Moves to the next part; false when there is none.
    fn next_part(&mut self) -> Result<bool, String> {
        match (self.more)()? {
            Some(part) => {
                self.part = Cow::Owned(part);
                self.at = 0;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Moves past exhausted parts; false when there are no more bytes.
    fn settle(&mut self) -> Result<bool, String> {
        while self.at >= self.part.len() {
            if !self.next_part()? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn at_end(&mut self) -> Result<bool, String> {
        Ok(!self.settle()?)
    }

    fn u8(&mut self) -> Result<u8, String> {
        if !self.settle()? {
            return Err("shared strings cut short".into());
        }
        let b = self.part[self.at];
        self.at += 1;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes([self.u8()?, self.u8()?]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes([
            self.u8()?,
            self.u8()?,
            self.u8()?,
            self.u8()?,
        ]))
    }

    fn skip(&mut self, mut n: usize) -> Result<(), String> {
        while n > 0 {
            if !self.settle()? {
                return Err("shared strings cut short".into());
            }
            let step = n.min(self.part.len() - self.at);
            self.at += step;
            n -= step;
        }
        Ok(())
    }

    /// Appends `count` characters, 2 bytes each (UTF-16) when `wide`, else
    /// 1 (Latin-1), to `out`. A continuation met on the way starts with a
    /// new width flag.
    fn chars(&mut self, mut count: usize, mut wide: bool, out: &mut String) -> Result<(), String> {
        while count > 0 {
            let rest = self.part.get(self.at..).unwrap_or_default();
            if rest.is_empty() {
                if !self.next_part()? {
                    return Err("string cut short".into());
                }
                wide = self.u8()? & 1 != 0;
                continue;
            }
            let width = if wide { 2 } else { 1 };
            let n = count.min(rest.len() / width);
            if n == 0 {
                return Err("half a character before a record's end".into());
            }
            let bytes = &rest[..n * width];
            if wide {
                let units = bytes
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]));
                out.extend(char::decode_utf16(units).map(|c| c.unwrap_or('\u{FFFD}')));
            } else {
                out.extend(bytes.iter().map(|&b| char::from(b)));
            }
            self.at += n * width;
            count -= n;
        }
        Ok(())
    }
}

/// Streams the cells of the sheet whose `BOF` is at `at` to `writer`.
/// Errors name no offsets: a sheet's skip reason is counted by its text,
/// and a crafted file may list many damaged sheets.
fn cells<R: Read + Seek>(
    records: &mut Records<R>,
    at: u64,
    book: &mut Book,
    writer: &mut SheetWriter,
    sink: &mut dyn Sink,
) -> Result<(), String> {
    records.seek(at)?;
    match records.next().transpose()? {
        Some((BOF, _)) => {}
        _ => return Err("no BOF record where the sheet starts".into()),
    }
    // Depth of embedded substreams (charts), whose records are not cells.
    let mut depth = 0u32;
    // Where a formula's text goes (its `STRING` record follows).
    let mut formula_text: Option<(u32, u32)> = None;
    let mut text = String::new();
    while let Some(record) = records.next() {
        let (kind, data) = record?;
        match kind {
            BOF => depth += 1,
            EOF if depth == 0 => return Ok(()),
            EOF => depth -= 1,
            _ if depth > 0 => {}
            _ if data.len() < 6 => {}
            _ => {
                let (row, col, xf) = (
                    u32::from(u16_at(data, 0)),
                    u32::from(u16_at(data, 2)),
                    u16_at(data, 4),
                );
                let value = match kind {
                    NUMBER if data.len() >= 14 => book.number(xf, f64_at(data, 6)),
                    RK if data.len() >= 10 => book.rk(xf, u32_at(data, 6)),
                    MULRK => {
                        let last = data.len().saturating_sub(2);
                        for (k, pair) in data[4..last.max(4)].chunks_exact(6).enumerate() {
                            let value = book.rk(u16_at(pair, 0), u32_at(pair, 2));
                            if let Some(value) = value.filter(Value::is_present) {
                                writer.cell(sink, row, col + k as u32, value);
                            }
                        }
                        None
                    }
                    LABELSST if data.len() >= 10 => {
                        book.strings.get(u32_at(data, 6) as usize)?.map(Value::Text)
                    }
                    LABEL | RSTRING => {
                        text.clear();
                        book.string(&data[6..], true, &mut text)?;
                        Some(Value::Text(&text))
                    }
                    FORMULA if data.len() >= 14 => {
                        let value = &data[6..14];
                        formula_text = None;
                        if value[6..8] == [0xFF, 0xFF] {
                            if value[0] == 0 {
                                formula_text = Some((row, col));
                            }
                            None
                        } else {
                            book.number(xf, f64_at(value, 0))
                        }
                    }
                    _ => None,
                };
                if let Some(value) = value.filter(Value::is_present) {
                    writer.cell(sink, row, col, value);
                }
            }
        }
        if kind == STRING && depth == 0 {
            if let Some((row, col)) = formula_text.take() {
                text.clear();
                book.string(data, true, &mut text)?;
                if let Some(value) = Some(Value::Text(&text)).filter(Value::is_present) {
                    writer.cell(sink, row, col, value);
                }
            }
        }
    }
    Err("the sheet has no EOF record".into())
}

fn u16_at_checked(data: &[u8], at: usize) -> Result<u16, String> {
    match data.get(at..at + 2) {
        Some(b) => Ok(u16::from_le_bytes([b[0], b[1]])),
        None => Err("string cut short".into()),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::super::xls_write::{cell_head, compound_file, record, unicode, workbook};
    use super::*;
    use crate::extract::a1;
    use crate::extract::sheet::tests::calamine_cells;
    use crate::extract::testing::Recorder;
    use crate::synth::{self, Rng};

    /// An RK value holding the integer `n` (which must fit in 30 bits).
    fn rk_int(n: i32) -> u32 {
        ((n << 2) | 2) as u32
    }

    /// The records of one random cell for the differential test.
    fn cell_records(row: u16, col: u16, kind: u8, seed: u64, strings: usize) -> Vec<u8> {
        let mut rng = Rng::new(seed);
        let xf = rng.below(5) as u16;
        let head = cell_head(row, col, xf);
        let with = |kind: u16, tail: &[u8]| {
            let mut d = head.clone();
            d.extend_from_slice(tail);
            record(kind, &d)
        };
        match kind {
            0 => with(LABELSST, &(rng.below(strings as u64) as u32).to_le_bytes()),
            1 => with(LABEL, &unicode(&synth::resident_id(&mut rng))),
            2 => {
                let phone: f64 = synth::mobile(&mut rng).parse().unwrap();
                with(NUMBER, &phone.to_le_bytes())
            }
            3 => with(NUMBER, &((rng.below(80_000) as f64) / 8.0).to_le_bytes()),
            4 => {
                let n = rng.below(1 << 20) as i32 - (1 << 19);
                with(RK, &rk_int(n).to_le_bytes())
            }
            // An integer divided by 100, and a double's high half.
            5 => with(RK, &(rk_int(rng.below(100_000) as i32) | 1).to_le_bytes()),
            6 => {
                let f = [0.5f64, 1.5, 1024.0, 45000.0, -2.0][rng.below(5) as usize];
                with(RK, &(((f.to_bits() >> 32) as u32) & !3).to_le_bytes())
            }
            7 => {
                let mut d = [row, col].map(u16::to_le_bytes).concat();
                let n = 1 + rng.below(3) as u16;
                for k in 0..n {
                    d.extend_from_slice(&(k % 5).to_le_bytes());
                    d.extend_from_slice(&rk_int(rng.below(1 << 29) as i32).to_le_bytes());
                }
                d.extend_from_slice(&(col + n - 1).to_le_bytes());
                record(MULRK, &d)
            }
            // The cached value, options, and an empty formula (`cce` 0).
            8 => {
                let mut tail = (rng.below(1000) as f64 + 0.25).to_le_bytes().to_vec();
                tail.extend_from_slice(&[0; 8]);
                with(FORMULA, &tail)
            }
            9 => {
                let tail = [0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0];
                let mut r = with(FORMULA, &tail);
                r.extend(record(STRING, &unicode(&synth::mobile(&mut rng))));
                r
            }
            _ => with(0x0205, &[1, 0]),
        }
    }

    /// Our units and skips for `data`.
    fn ours(data: &[u8]) -> Recorder {
        let mut rec = Recorder::default();
        let mut writer = SheetWriter::default();
        if let Err(e) = extract(Cursor::new(data), &mut writer, &mut rec) {
            rec.skips.push((String::new(), e));
        }
        rec
    }

    fn strings(rng: &mut Rng) -> Vec<String> {
        let mut s: Vec<String> = ["姓名", "身份证号", "a & b", "Zoë", " ", ""]
            .map(String::from)
            .to_vec();
        s.extend((0..20).map(|_| synth::resident_id(rng)));
        s.push("长".repeat(120));
        // Wide, then narrow after a split.
        s.push(format!("{}{}", "长".repeat(45), "x".repeat(150)));
        s
    }

    const FORMATS: [(u16, &str); 2] = [(164, "yyyy\"年\"m\"月\"d\"日\""), (165, "0.00")];
    /// General, a built-in date, a custom date, a custom number, a duration.
    const XF_FORMATS: [u16; 5] = [0, 14, 164, 165, 46];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Random workbooks read by this reader and by calamine's give the
        /// same units, fields included: shared strings split across
        /// `CONTINUE` records, labels, numbers, RK and MULRK numbers,
        /// formulas with number and text values, dates, booleans, a chart
        /// sheet, streams in the mini stream and in sectors.
        #[test]
        fn xls_reader_agrees_with_calamine(
            sheets in proptest::collection::vec(
                proptest::collection::vec((0u16..30, 0u16..6, 0u8..11, proptest::prelude::any::<u64>()), 0..40),
                1..4,
            ),
            seed in proptest::prelude::any::<u64>(),
        ) {
            let strings = strings(&mut Rng::new(seed));
            let mut built: Vec<(String, u8, Vec<u8>)> = Vec::new();
            for (i, cells) in sheets.iter().enumerate() {
                let mut cells = cells.clone();
                // Cells in row order, one record per place, as Excel writes.
                cells.sort_by_key(|c| (c.0, c.1));
                cells.dedup_by_key(|c| (c.0, c.1 / 8));
                let records = cells
                    .iter()
                    .map(|&(row, col, kind, seed)| cell_records(row, col * 8, kind, seed, strings.len()))
                    .collect::<Vec<_>>()
                    .concat();
                built.push((format!("表{i}"), 0, records));
            }
            built.push(("图".into(), 2, Vec::new()));
            let sheets: Vec<(&str, u8, Vec<u8>)> =
                built.iter().map(|(n, k, r)| (n.as_str(), *k, r.clone())).collect();
            let stream = workbook(&sheets, &strings, &FORMATS, &XF_FORMATS);
            let data = compound_file("Workbook", &stream);
            let ours = ours(&data);
            let theirs = calamine_cells::<calamine::Xls<_>>(&data);
            proptest::prop_assert!(ours.skips.is_empty(), "{:?}", ours.skips);
            proptest::prop_assert_eq!(&ours.units, &theirs.units);
        }
    }

    /// The `(A1, text)` of the units.
    fn cells_of(rec: &Recorder) -> Vec<(String, String)> {
        rec.units
            .iter()
            .map(|u| {
                let (row, col) = u.cell.unwrap();
                (a1(row, col), u.text.clone())
            })
            .collect()
    }

    #[test]
    fn a_lying_dimensions_record_and_far_apart_cells_cost_nothing() {
        let mut dims = 0u32.to_le_bytes().to_vec();
        dims.extend_from_slice(&u32::MAX.to_le_bytes());
        dims.extend_from_slice(&[0, 0, 0, 1, 0, 0]);
        let mut records = record(0x0200, &dims);
        let phone: f64 = 13812345678.0;
        for (row, col) in [(0u16, 0u16), (65535, 255)] {
            let mut d = cell_head(row, col, 0);
            d.extend_from_slice(&phone.to_le_bytes());
            records.extend(record(NUMBER, &d));
        }
        let stream = workbook(&[("S", 0, records)], &[], &[], &[0]);
        let rec = ours(&compound_file("Workbook", &stream));
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(
            cells_of(&rec),
            [
                ("A1".to_string(), "13812345678".to_string()),
                ("IV65536".to_string(), "13812345678".to_string())
            ]
        );
    }

    #[test]
    fn sheets_sharing_records_are_read_once() {
        let mut d = cell_head(0, 0, 0);
        d.extend_from_slice(&unicode("13812345678"));
        let stream = workbook(&[("A", 0, record(LABEL, &d))], &[], &[], &[0]);
        // A second BOUNDSHEET, "B", at the same offset as "A".
        let mut records = Records::new(Cursor::new(&stream));
        let mut copy = None;
        while let Some(Ok((kind, data))) = records.next() {
            if kind == BOUNDSHEET {
                let mut data = data.to_vec();
                *data.last_mut().unwrap() = b'B';
                copy = Some((records.at as usize, record(BOUNDSHEET, &data)));
            }
        }
        let (at, boundsheet) = copy.unwrap();
        let mut stream = stream.clone();
        stream.splice(at..at, boundsheet.iter().copied());
        // The sheet's records moved by the inserted record's length.
        let moved = |stream: &mut Vec<u8>, at: usize| {
            let offset = u32::from_le_bytes(stream[at + 4..at + 8].try_into().unwrap());
            let offset = offset + boundsheet.len() as u32;
            stream[at + 4..at + 8].copy_from_slice(&offset.to_le_bytes());
        };
        moved(&mut stream, at - boundsheet.len());
        moved(&mut stream, at);
        let rec = ours(&compound_file("Workbook", &stream));
        assert_eq!(
            cells_of(&rec),
            [("A1".to_string(), "13812345678".to_string())]
        );
        assert_eq!(rec.skips, [("B".to_string(), SHARED_RECORDS.to_string())]);
    }

    #[test]
    fn biff5_text_is_in_the_code_page() {
        // BIFF5: BOF version 0x0500, CODEPAGE 936 (GBK), 8-bit strings.
        let mut bof = [0x0500u16, 5, 0, 0].map(u16::to_le_bytes).concat();
        bof.extend_from_slice(&[0; 4]);
        let gbk = |s: &str| encoding_rs::GBK.encode(s).0.into_owned();
        let name = gbk("员工");
        let label = gbk("张三 13812345678");
        let sheet_at = |globals_len: u32| {
            let mut g = record(BOF, &bof);
            g.extend(record(CODEPAGE, &936u16.to_le_bytes()));
            let mut d = globals_len.to_le_bytes().to_vec();
            d.extend_from_slice(&[0, 0, name.len() as u8]);
            d.extend_from_slice(&name);
            g.extend(record(BOUNDSHEET, &d));
            g.extend(record(EOF, &[]));
            g
        };
        let len = sheet_at(0).len() as u32;
        let mut stream = sheet_at(len);
        let mut sheet_bof = [0x0500u16, 0x10, 0, 0].map(u16::to_le_bytes).concat();
        sheet_bof.extend_from_slice(&[0; 4]);
        stream.extend(record(BOF, &sheet_bof));
        let mut d = cell_head(1, 2, 0);
        d.extend_from_slice(&(label.len() as u16).to_le_bytes());
        d.extend_from_slice(&label);
        stream.extend(record(LABEL, &d));
        stream.extend(record(EOF, &[]));
        let rec = ours(&compound_file("Book", &stream));
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(rec.units[0].sheet.as_deref(), Some("员工"));
        assert_eq!(
            cells_of(&rec),
            [("C2".to_string(), "张三 13812345678".to_string())]
        );
    }

    #[test]
    fn encrypted_old_and_damaged_workbooks() {
        let sheet = |records: Vec<u8>| workbook(&[("S", 0, records)], &[], &[], &[0]);
        // FILEPASS among the globals.
        let mut stream = sheet(Vec::new());
        let bof_len = 4 + 16;
        let filepass = record(FILEPASS, &[1, 0, 0, 0]);
        stream.splice(bof_len..bof_len, filepass.iter().copied());
        let rec = ours(&compound_file("Workbook", &stream));
        assert_eq!(rec.skips, [(String::new(), PASSWORD.to_string())]);

        // Excel 4.0.
        let rec = ours(&compound_file("Workbook", &record(0x0409, &[0; 6])));
        assert_eq!(
            rec.skips[0].1,
            "corrupt or unreadable xls workbook: BIFF2-4 workbook (Excel 4.0 or older) not read"
        );

        // No workbook stream; not a compound file.
        let rec = ours(&compound_file("Other", &sheet(Vec::new())));
        assert_eq!(
            rec.skips[0].1,
            "corrupt or unreadable xls workbook: no Workbook stream"
        );
        let rec = ours(b"\xd0\xcf\x11\xe0 but nothing more");
        assert_eq!(
            rec.skips[0].1,
            "corrupt or unreadable xls workbook: not a compound file"
        );

        // A sheet cut inside a record: the cells before it are kept.
        let mut d = cell_head(0, 0, 0);
        d.extend_from_slice(&unicode("13812345678"));
        let mut records = record(LABEL, &d);
        records.extend_from_slice(&[0x04, 0x02, 0xFF, 0x00, 1, 2]);
        let mut stream = sheet(records);
        // Drop the sheet's EOF: the cut record runs to the end.
        stream.truncate(stream.len() - 4);
        let rec = ours(&compound_file("Workbook", &stream));
        assert_eq!(
            cells_of(&rec),
            [("A1".to_string(), "13812345678".to_string())]
        );
        // No offset in the reason: skips are counted by their text.
        assert_eq!(
            rec.skips,
            [(
                "S".to_string(),
                "unreadable sheet: record 0x0204 cut short".to_string()
            )]
        );
    }

    #[test]
    fn damaged_compound_files_are_errors_not_panics() {
        let stream = workbook(
            &[(
                "S",
                0,
                record(LABEL, &[cell_head(0, 0, 0), unicode("x")].concat()),
            )],
            &["a".repeat(5000)],
            &[],
            &[0],
        );
        let data = compound_file("Workbook", &stream);
        let mut rng = Rng::new(3);
        for _ in 0..2000 {
            let mut bad = data.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bad.len() as u64) as usize;
                bad[at] = rng.below(256) as u8;
            }
            let cut = rng.below(bad.len() as u64 + 1) as usize;
            ours(&bad);
            ours(&bad[..cut]);
        }
    }
}
