//! Spreadsheets (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`).
//!
//! Every non-empty cell of every worksheet (hidden ones included) becomes one
//! [`Unit`] whose [`Place`] has the sheet name, the absolute zero-based
//! `(row, column)` of the cell (so [`super::a1`] gives `B7`) and, for cells
//! under a detected header row, the header text as `field`. `line` is never
//! set: a cell is not a line of a text.
//!
//! # Reading
//!
//! The reader is chosen by the magic number and the name's extension: a zip
//! container is `.xlsx`/`.xlsm` (default), `.xlsb` or `.ods`; a compound file
//! (`D0 CF 11 E0`) is `.xls`, or an encrypted OOXML workbook when the name
//! says `.xlsx`/`.xlsb`.
//!
//! `.xlsx`/`.xlsm` workbooks are read by `xlsx.rs`, `.xlsb` workbooks by
//! `xlsb.rs`, `.ods` documents by `ods.rs` and `.xls` workbooks by
//! `xls.rs` (with `cfb.rs` for the compound file), our own readers (see
//! each for why not calamine's): cells go to the sheet writer one by one,
//! so memory does not depend on how far apart the used cells are, the
//! shared strings of an `.xlsx`, `.xlsb` or `.xls` are held compactly and,
//! past 16 MiB of text, written to a temporary file (`SharedStrings`), and
//! an `.ods`'s repeated cells are expanded only up to an allowance. All
//! four read from memory or, for a large file, from the file where it is
//! ([`extract_reader`]). calamine tells an encrypted OOXML workbook, and
//! is the oracle of the differential property tests of the four readers.
//!
//! # Failures
//!
//! A workbook that cannot be opened (truncated, not a spreadsheet, password
//! protected) is reported with `sink.skip("", reason)`. A sheet that cannot
//! be read is reported with `sink.skip(sheet_name, reason)`, after the units
//! read before the error, and the other sheets are still scanned. Every
//! reader is run under `catch_unwind`, so a panic inside it on malformed
//! input becomes a skip as well (of the sheet being read, or of the
//! workbook), never a crash of the scan; a panic raised by the sink is
//! re-raised, not disguised as a corrupt file. (A failed allocation cannot
//! be caught: it aborts the process. That is why no reader here sizes an
//! allocation by what a file claims.)
//!
//! # Header rule
//!
//! A sheet's header is found among its first rows (rows counted among the
//! non-empty ones; cells that produce no unit do not count). A row *qualifies*
//! as a header when every cell in it is a text cell (no number, date or time)
//! whose trimmed text is at most 64 characters, has an alphabetic character
//! (CJK included), no `@` and no run of more than 4 ASCII digits, so that a
//! value such as an ID number, a card, a passport or an email address never
//! becomes a field name (field names are printed unmasked).
//!
//! * Up to 3 leading rows that are a single qualifying cell (a title such as
//!   `员工信息表`, often merged across the columns) are skipped when the row
//!   after them has at least two cells and qualifies: that row is the header.
//! * Otherwise the first row is the header if it qualifies.
//! * In both cases there must be at least one row below the header, or there
//!   is no header.
//!
//! Header cells (and title cells) are units too, without `field`. Cells
//! below the header get the trimmed header text of their column, or no field
//! where the header row has no cell in that column. A sheet without a header
//! gives units without `field`. A headerless sheet whose first row is all
//! words (names, say) has that row taken as its header; the only cost is a
//! wrong field label, since every cell is scanned either way.
//!
//! # Values
//!
//! * Text cells: the text as stored; blank (all-whitespace) cells are skipped.
//! * Integer cells: decimal digits.
//! * Number cells: Rust's `{}` formatting of the `f64`, which is the shortest
//!   text that round-trips, never uses an exponent and never ends in `.0`:
//!   `13812345678.0` gives `13812345678` (an 11-digit phone stored as a
//!   number), `1e20` gives `100000000000000000000`, `0.1` gives `0.1`.
//!   Integers up to 2^53 are exact. `-0` gives `0`; infinities and NaN are
//!   skipped.
//! * Dates and times (a number under a date format) are rendered as ISO 8601:
//!   `2024-03-07`, `2024-03-07T08:30:00` (with `.mmm` when there are
//!   milliseconds), or `08:30:00` for a time of day (serial below 1). A
//!   serial outside Excel's date range (year 10000 and later, negative) and a
//!   duration are rendered as the plain number: a phone number formatted as a
//!   date is still found. ODS date and time values are passed on as the ISO
//!   text the file stores.
//! * Booleans, error values (`#N/A`) and empty cells are skipped.
//!
//! One `String` is allocated per cell of the first few rows (buffered until
//! the header is decided); after that, text cells are passed on borrowed and
//! numbers are rendered into one reused buffer.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{Cursor, Read, Seek, SeekFrom, Write as _};
use std::panic::{self, AssertUnwindSafe};

use calamine::{ExcelDateTime, ExcelDateTimeType, Reader, Xlsb, XlsbError, Xlsx, XlsxError};

use super::{Place, Sink, Unit};

mod cfb;
mod le;
mod ods;
mod part;
mod xls;
pub(crate) mod xls_write;
mod xlsb;
pub(crate) mod xlsb_write;
mod xlsx;

/// Leading single-cell title rows that may precede the header.
const MAX_TITLE_ROWS: usize = 3;
/// Distinct rows buffered before the header is decided: the titles, the
/// header and one data row.
const BUFFERED_ROWS: usize = MAX_TITLE_ROWS + 2;
/// Longest header text, in characters.
const MAX_HEADER_CHARS: usize = 64;
/// Longest run of ASCII digits in a header text (a year is fine; an ID, a
/// phone or a card number is not).
const MAX_HEADER_DIGIT_RUN: usize = 4;
/// First serial that is not a date Excel can show (10000-01-01).
const EXCEL_DATE_END: f64 = 2_958_466.0;

/// The magic number of a compound file (`.xls`, or an encrypted OOXML
/// workbook).
const COMPOUND_FILE: &[u8] = b"\xd0\xcf\x11\xe0";

/// Skip reason for an encrypted workbook.
const PASSWORD: &str = "password-protected workbook (encrypted, not scanned)";

/// Extracts every non-empty cell of the spreadsheet `data` (named `name`,
/// whose extension picks the reader where the content cannot) into `sink`.
/// Unreadable workbooks and sheets are reported with [`Sink::skip`]; a panic
/// of the spreadsheet reader on malformed input is reported the same way
/// (a panic raised by `sink` itself is not caught).
pub fn extract(name: &str, data: &[u8], sink: &mut dyn Sink) {
    guarded(sink, |writer, sink| {
        extract_workbook(name, data, writer, sink)
    });
}

/// Whether the spreadsheet named `name` whose first bytes are `head` is
/// one that [`extract_reader`] reads where it is: an `.xlsx`/`.xlsm`,
/// `.xlsb` or `.ods` workbook (a zip), an `.xls` (a compound file), or an
/// encrypted `.xlsx`/`.xlsb` (a compound file too, told without reading it
/// all).
pub fn reads_in_place(name: &str, head: &[u8]) -> bool {
    match kind(name, head) {
        Kind::Ods => head.starts_with(b"PK"),
        Kind::Xlsx | Kind::Xlsb => head.starts_with(b"PK") || head.starts_with(COMPOUND_FILE),
        Kind::Xls => head.starts_with(COMPOUND_FILE),
    }
}

/// [`extract`] for a workbook that [`reads_in_place`], whose first bytes
/// are `head`, read from `reader` (a large file, opened where it is)
/// rather than from memory: only the first 16 MiB of an `.xlsx`'s or
/// `.xls`'s shared strings and a part's or record's buffers are held.
pub fn extract_reader<R: Read + Seek>(name: &str, head: &[u8], reader: R, sink: &mut dyn Sink) {
    let kind = kind(name, head);
    guarded(sink, |writer, sink| match kind {
        Kind::Xlsx | Kind::Xlsb if head.starts_with(COMPOUND_FILE) => {
            Err(compound_ooxml(kind, reader))
        }
        Kind::Ods => ods::extract(reader, writer, sink),
        Kind::Xls => xls::extract(reader, writer, sink),
        Kind::Xlsb => xlsb::extract(reader, writer, sink),
        Kind::Xlsx => xlsx::extract(reader, writer, sink),
    });
}

/// Runs `read` (a workbook reader) with a sheet writer, reporting its `Err`
/// and its panics on malformed input as skips (a panic raised by `sink`
/// itself is not caught).
fn guarded(
    sink: &mut dyn Sink,
    read: impl FnOnce(&mut SheetWriter, &mut dyn Sink) -> Result<(), String>,
) {
    let mut writer = SheetWriter::default();
    let mut guard = Guarded {
        sink,
        inside: false,
    };
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| read(&mut writer, &mut guard)));
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(reason)) => guard.sink.skip("", &reason),
        // Not the reader's failure: a bug of the scan, let it through.
        Err(payload) if guard.inside => panic::resume_unwind(payload),
        Err(_) if writer.sheet.is_empty() => guard.sink.skip(
            "",
            "corrupt spreadsheet (the spreadsheet reader failed on it)",
        ),
        Err(_) => guard.sink.skip(
            &writer.sheet,
            "corrupt sheet (the spreadsheet reader failed on it; later sheets not scanned)",
        ),
    }
}

/// Passes everything on to a sink and remembers whether a call into it is
/// under way, to tell the sink's panics from the reader's.
struct Guarded<'s> {
    sink: &'s mut dyn Sink,
    inside: bool,
}

impl Sink for Guarded<'_> {
    fn unit(&mut self, unit: &Unit<'_>) {
        self.inside = true;
        self.sink.unit(unit);
        self.inside = false;
    }

    fn skip(&mut self, what: &str, reason: &str) {
        self.inside = true;
        self.sink.skip(what, reason);
        self.inside = false;
    }

    fn encoding(&mut self, name: &'static str) {
        self.sink.encoding(name);
    }
}

/// The reader for a workbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Xlsx,
    Xlsb,
    Xls,
    Ods,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Xlsx => "xlsx",
            Kind::Xlsb => "xlsb",
            Kind::Xls => "xls",
            Kind::Ods => "ods",
        }
    }

    /// Why a workbook of this kind is skipped when it cannot be opened.
    fn unreadable(self, error: impl std::fmt::Display) -> String {
        format!("corrupt or unreadable {} workbook: {error}", self.label())
    }
}

/// Picks the reader from the magic number, then the extension.
fn kind(name: &str, data: &[u8]) -> Kind {
    let ext = super::extension(name);
    if data.starts_with(COMPOUND_FILE) {
        // A compound file: BIFF, or an encrypted OOXML package (calamine's
        // xlsx and xlsb readers recognise those and say so).
        return match ext.as_str() {
            "xlsx" | "xlsm" | "xlam" => Kind::Xlsx,
            "xlsb" => Kind::Xlsb,
            _ => Kind::Xls,
        };
    }
    match ext.as_str() {
        "xlsb" => Kind::Xlsb,
        "ods" => Kind::Ods,
        "xls" if !data.starts_with(b"PK") => Kind::Xls,
        _ => Kind::Xlsx,
    }
}

/// Opens the workbook and sends its cells; `Err` is the reason the whole
/// workbook could not be read.
fn extract_workbook(
    name: &str,
    data: &[u8],
    writer: &mut SheetWriter,
    sink: &mut dyn Sink,
) -> Result<(), String> {
    let kind = kind(name, data);
    match kind {
        Kind::Xlsx | Kind::Xlsb if data.starts_with(COMPOUND_FILE) => {
            return Err(compound_ooxml(kind, Cursor::new(data)));
        }
        Kind::Xlsx => xlsx::extract(Cursor::new(data), writer, sink)?,
        Kind::Xlsb => xlsb::extract(Cursor::new(data), writer, sink)?,
        Kind::Xls => xls::extract(Cursor::new(data), writer, sink)?,
        Kind::Ods => ods::extract(Cursor::new(data), writer, sink)?,
    }
    Ok(())
}

/// Why an `.xlsx` or `.xlsb` workbook (`kind`) that is a compound file is
/// not read: an encrypted OOXML package is one, and calamine tells it
/// from the compound file's directory, without reading the package.
fn compound_ooxml<R: Read + Seek>(kind: Kind, reader: R) -> String {
    let opened = match kind {
        Kind::Xlsb => Xlsb::new(reader)
            .map(drop)
            .map_err(|e| (matches!(e, XlsbError::Password), e.to_string())),
        _ => Xlsx::new(reader)
            .map(drop)
            .map_err(|e| (matches!(e, XlsxError::Password), e.to_string())),
    };
    match opened {
        Err((true, _)) => PASSWORD.to_string(),
        Err((false, e)) => kind.unreadable(e),
        Ok(()) => kind.unreadable("a compound file, not a zip"),
    }
}

/// A cell value that gives a unit.
#[derive(Debug, Clone, Copy)]
enum Value<'v> {
    /// A text cell.
    Text(&'v str),
    /// An integer cell.
    Int(i64),
    /// A finite number cell.
    Float(f64),
    /// A number under a date or time format.
    Date(ExcelDateTime),
    /// A date, time or duration stored as ISO 8601 text (ODS).
    Iso(&'v str),
}

impl<'v> Value<'v> {
    /// False for blank text.
    fn is_present(&self) -> bool {
        match self {
            Value::Text(s) | Value::Iso(s) => !s.trim().is_empty(),
            _ => true,
        }
    }
}

/// The text of `value`: borrowed for text, rendered into `buf` otherwise.
fn render<'a>(value: Value<'a>, buf: &'a mut String) -> &'a str {
    match value {
        Value::Text(s) | Value::Iso(s) => s,
        other => {
            buf.clear();
            match other {
                Value::Int(i) => {
                    let _ = write!(buf, "{i}");
                }
                Value::Float(f) => write_number(buf, f),
                Value::Date(d) => write_date(buf, d),
                Value::Text(_) | Value::Iso(_) => {}
            }
            buf
        }
    }
}

/// Writes a finite number exactly: shortest round-trip digits, no exponent,
/// no `.0`, no `-0`.
fn write_number(buf: &mut String, f: f64) {
    let f = if f == 0.0 { 0.0 } else { f };
    let _ = write!(buf, "{f}");
}

/// Writes an Excel date serial as ISO 8601, or the plain number when it is a
/// duration or outside the dates Excel can show.
fn write_date(buf: &mut String, d: ExcelDateTime) {
    let serial = d.as_f64();
    if !d.is_datetime() || !(0.0..EXCEL_DATE_END).contains(&serial) {
        write_number(buf, serial);
        return;
    }
    let (year, month, day, hour, min, sec, milli) = d.to_ymd_hms_milli();
    if serial >= 1.0 {
        let _ = write!(buf, "{year:04}-{month:02}-{day:02}");
        if (hour, min, sec, milli) == (0, 0, 0, 0) {
            return;
        }
        buf.push('T');
    }
    let _ = write!(buf, "{hour:02}:{min:02}:{sec:02}");
    if milli != 0 {
        let _ = write!(buf, ".{milli:03}");
    }
}

/// Whether `text` may be a column name (see the module doc).
fn header_like(text: &str) -> bool {
    let t = text.trim();
    if t.is_empty() || t.contains('@') || !t.chars().any(char::is_alphabetic) {
        return false;
    }
    let mut chars = 0;
    let mut run = 0;
    for ch in t.chars() {
        chars += 1;
        run = if ch.is_ascii_digit() { run + 1 } else { 0 };
        if chars > MAX_HEADER_CHARS || run > MAX_HEADER_DIGIT_RUN {
            return false;
        }
    }
    true
}

/// Which cell styles show numbers as dates, and the workbook's date
/// system: what the `.xlsx` and `.xls` readers both learn from their style
/// tables.
#[derive(Debug, Default)]
struct Dates {
    /// By style index (an `.xlsx` cell's `s`, an `.xls` cell's XF):
    /// whether its number format shows a date or time.
    styles: Vec<bool>,
    is_1904: bool,
}

impl Dates {
    /// From the number format id of each style, in order, and whether each
    /// custom format (by id) shows a date; any other id is a built-in
    /// format ([`xlsx::is_date_id`]).
    fn new(formats: &[u32], custom: &HashMap<u32, bool>, is_1904: bool) -> Dates {
        let styles = formats
            .iter()
            .map(|id| custom.get(id).copied().unwrap_or(xlsx::is_date_id(*id)))
            .collect();
        Dates { styles, is_1904 }
    }

    /// Whether numbers in a cell of style `style` show as dates.
    fn is_date(&self, style: usize) -> bool {
        self.styles.get(style).copied().unwrap_or(false)
    }

    /// The value of the number `f` in a cell of style `style`: a date
    /// under a date or time format, else the number; `None` when it is not
    /// finite.
    fn number(&self, style: usize, f: f64) -> Option<Value<'static>> {
        if !f.is_finite() {
            return None;
        }
        Some(if self.is_date(style) {
            Value::Date(ExcelDateTime::new(
                f,
                ExcelDateTimeType::DateTime,
                self.is_1904,
            ))
        } else {
            Value::Float(f)
        })
    }

    /// An RK-compressed number (`[MS-XLS]` 2.5.217, `[MS-XLSB]` 2.5.122,
    /// the same 32 bits in `.xls` and `.xlsb`) in a cell of style `style`:
    /// an integer or the high 30 bits of a double, optionally divided by
    /// 100. An integer is an [`Value::Int`] unless its style shows a date.
    fn rk(&self, style: usize, rk: u32) -> Option<Value<'static>> {
        let by_100 = rk & 1 != 0;
        if rk & 2 != 0 {
            let n = i64::from((rk as i32) >> 2);
            if by_100 && n % 100 != 0 {
                return self.number(style, n as f64 / 100.0);
            }
            let n = if by_100 { n / 100 } else { n };
            if self.is_date(style) {
                return self.number(style, n as f64);
            }
            return Some(Value::Int(n));
        }
        let f = f64::from_bits(u64::from(rk & !3) << 32);
        self.number(style, if by_100 { f / 100.0 } else { f })
    }
}

/// Shared strings (`.xlsx`, `.xlsb`, `.xls`): their texts one after the other, and
/// where each ends, 4 bytes per string rather than a `String` each.
///
/// The first [`SharedStrings::HELD`] bytes of text are held. Past that,
/// the text is written, [`SharedStrings::CHUNK`] bytes at a time, to an
/// anonymous temporary file, and read back a window at a time, so that a
/// workbook of a million distinct names and addresses does not hold them
/// all. Strings come in the order of their first use, so the ones used
/// over and over (a department, a gender) are among the first and held,
/// and the later ones are looked up about in the order they were written,
/// each window serving many. A string looked up out of that order (a sheet
/// sorted after its strings were written) is read on its own, one `pread`,
/// leaving the window. Without a temporary file, all are held.
#[derive(Default)]
struct SharedStrings {
    /// The first strings, up to [`SharedStrings::HELD`] bytes of text.
    held: String,
    /// Text written to `spill`, after `held`.
    spilled: u64,
    spill: Option<Spill>,
    /// No temporary file could be made: the text stays held.
    unspillable: bool,
    /// Strings being written: the text after `held` and `spilled`.
    text: String,
    /// Where each string ends, counting from the start of `held`.
    ends: Vec<u32>,
}

/// The part of the shared strings written to a temporary file, and the
/// window of it read last.
struct Spill {
    file: std::fs::File,
    /// Offset in the file of `window`'s first byte.
    at: u64,
    window: Vec<u8>,
    /// The last string read alone, and where the last read ended.
    single: Vec<u8>,
    last: u64,
}

/// Reads `buf.len()` bytes of `file` at `offset`: one `pread` on Unix.
fn read_at(file: &mut std::fs::File, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.read_exact_at(buf, offset)
    }
    #[cfg(not(unix))]
    {
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(buf)
    }
}

impl SharedStrings {
    /// Text held before strings are written to a temporary file (small in
    /// unit tests, so that their workbooks spill).
    const HELD: usize = if cfg!(test) { 128 } else { 16 << 20 };
    /// Text gathered before it is written out, and the least read back.
    const CHUNK: usize = if cfg!(test) { 64 } else { 64 << 10 };

    /// Offset of the first byte of `text`.
    fn text_start(&self) -> u64 {
        self.held.len() as u64 + self.spilled
    }

    /// The string at `index`; an error when its temporary file cannot be
    /// read.
    fn get(&mut self, index: usize) -> Result<Option<&str>, String> {
        let Some(&end) = self.ends.get(index) else {
            return Ok(None);
        };
        let start = match index {
            0 => 0,
            i => self.ends[i - 1],
        };
        let (start, end) = (u64::from(start), u64::from(end));
        let held = self.held.len() as u64;
        let text_start = self.text_start();
        if end <= held {
            return Ok(self.held.get(start as usize..end as usize));
        }
        if start >= text_start {
            let range = (start - text_start) as usize..(end - text_start) as usize;
            return Ok(self.text.get(range));
        }
        let Some(spill) = &mut self.spill else {
            return Ok(None);
        };
        let (from, to) = (start - held, end - held);
        let window_end = spill.at + spill.window.len() as u64;
        if from >= spill.at && to <= window_end {
            let range = (from - spill.at) as usize..(to - spill.at) as usize;
            return Ok(spill
                .window
                .get(range)
                .and_then(|b| std::str::from_utf8(b).ok()));
        }
        // Just after the window or the last string read alone: reading on
        // in order, a window at a time. Elsewhere (a sorted sheet's cells
        // point all over): the string alone, leaving the window as it is.
        let in_order = |end: u64| from >= end && from - end < Self::CHUNK as u64;
        let read = if in_order(window_end) || in_order(spill.last) {
            let len = (to - from).max(Self::CHUNK as u64).min(self.spilled - from);
            spill.window.resize(len as usize, 0);
            spill.at = from;
            read_at(&mut spill.file, from, &mut spill.window).map(|()| &spill.window[..])
        } else {
            spill.single.resize((to - from) as usize, 0);
            read_at(&mut spill.file, from, &mut spill.single).map(|()| &spill.single[..])
        };
        spill.last = to;
        match read {
            Ok(bytes) => {
                let bytes = &bytes[..(to - from) as usize];
                Ok(std::str::from_utf8(bytes).ok())
            }
            Err(e) => Err(format!(
                "cannot read the shared strings' temporary file: {e}"
            )),
        }
    }

    /// Ends the string being written at the end of `text`; moves the text
    /// on to `held`, or out to the temporary file, when there is enough.
    fn close(&mut self) -> Result<(), String> {
        let end = u32::try_from(self.text_start() + self.text.len() as u64)
            .map_err(|_| "shared strings over 4 GiB of text".to_string())?;
        self.ends.push(end);
        if self.spilled == 0 && self.held.len() + self.text.len() <= Self::HELD {
            if self.held.is_empty() {
                std::mem::swap(&mut self.held, &mut self.text);
            } else {
                self.held.push_str(&self.text);
                self.text.clear();
            }
        } else if self.text.len() >= Self::CHUNK {
            self.write_out()?;
        }
        Ok(())
    }

    /// Writes `text` to the temporary file, made on first use; without
    /// one, the text stays held.
    fn write_out(&mut self) -> Result<(), String> {
        if self.unspillable {
            return Ok(());
        }
        if self.spill.is_none() {
            let Ok(file) = tempfile::tempfile() else {
                self.unspillable = true;
                return Ok(());
            };
            self.spill = Some(Spill {
                file,
                at: 0,
                window: Vec::new(),
                single: Vec::new(),
                last: 0,
            });
        }
        let Some(spill) = &mut self.spill else {
            return Ok(());
        };
        spill
            .file
            .seek(SeekFrom::End(0))
            .and_then(|_| spill.file.write_all(self.text.as_bytes()))
            .map_err(|e| format!("cannot write the shared strings to a temporary file: {e}"))?;
        self.spilled += self.text.len() as u64;
        self.text.clear();
        Ok(())
    }
}

/// A cell held back until the header is decided.
#[derive(Debug)]
struct Pending {
    row: u32,
    col: u32,
    text: String,
    /// A text cell (not a number, date or time).
    is_text: bool,
}

/// Turns the cells of one sheet, in reading order, into units: buffers the
/// first rows until the header is decided, then passes cells straight on.
/// Reused across sheets to keep its buffers.
#[derive(Debug, Default)]
struct SheetWriter {
    /// The sheet being read.
    pub(super) sheet: String,
    /// Whether the header is decided (and `pending` flushed).
    decided: bool,
    /// The header row, once decided.
    header_row: Option<u32>,
    /// Header texts by column, ascending.
    names: Vec<(u32, String)>,
    /// Cells of the first rows.
    pending: Vec<Pending>,
    /// The distinct rows in `pending`, ascending.
    rows: Vec<u32>,
    /// Rendering buffer for numbers and dates.
    buf: String,
}

impl SheetWriter {
    /// Starts a sheet.
    fn start(&mut self, sheet: &str) {
        self.sheet.clear();
        self.sheet.push_str(sheet);
        self.decided = false;
        self.header_row = None;
        self.names.clear();
        self.pending.clear();
        self.rows.clear();
    }

    /// Takes one cell at absolute `(row, col)`.
    fn cell(&mut self, sink: &mut dyn Sink, row: u32, col: u32, value: Value<'_>) {
        if !self.decided && !self.rows.contains(&row) {
            if self.rows.len() < BUFFERED_ROWS {
                let at = self.rows.partition_point(|&r| r < row);
                self.rows.insert(at, row);
            } else {
                self.decide(sink, true);
            }
        }
        let is_text = matches!(value, Value::Text(_));
        let text = render(value, &mut self.buf);
        if self.decided {
            emit(
                sink,
                &self.sheet,
                self.header_row,
                &self.names,
                row,
                col,
                text,
            );
        } else {
            self.pending.push(Pending {
                row,
                col,
                text: text.to_owned(),
                is_text,
            });
        }
    }

    /// Ends the sheet: flushes what is still buffered.
    fn finish(&mut self, sink: &mut dyn Sink) {
        if !self.decided {
            self.decide(sink, false);
        }
    }

    /// Decides the header from the buffered rows (`later`: rows follow
    /// them) and flushes the buffered cells in (row, column) order.
    fn decide(&mut self, sink: &mut dyn Sink, later: bool) {
        self.pending.sort_by_key(|p| (p.row, p.col));
        let header_row = choose_header(&self.pending, &self.rows, later);
        if let Some(h) = header_row {
            self.names.extend(
                self.pending
                    .iter()
                    .filter(|p| p.row == h)
                    .map(|p| (p.col, p.text.trim().to_string())),
            );
        }
        self.header_row = header_row;
        self.decided = true;
        for p in self.pending.drain(..) {
            emit(
                sink,
                &self.sheet,
                header_row,
                &self.names,
                p.row,
                p.col,
                &p.text,
            );
        }
        self.rows.clear();
    }
}

/// The header row among the buffered first `rows` (ascending, non-empty
/// rows) whose cells are `pending` (sorted), by the rule in the module doc.
fn choose_header(pending: &[Pending], rows: &[u32], later: bool) -> Option<u32> {
    let cells = |row: u32| pending.iter().filter(move |p| p.row == row);
    let qualifies = |row: u32| cells(row).all(|p| p.is_text && header_like(&p.text));
    let single = |row: u32| cells(row).count() == 1;
    let first = *rows.first()?;
    let titles = rows
        .iter()
        .take(MAX_TITLE_ROWS)
        .take_while(|&&r| single(r) && qualifies(r))
        .count();
    let at = match rows.get(titles) {
        Some(&r) if titles > 0 && !single(r) && qualifies(r) => titles,
        _ if qualifies(first) => 0,
        _ => return None,
    };
    (at + 1 < rows.len() || later).then(|| rows[at])
}

/// Sends one cell as a unit, with the header of its column as `field` when
/// it sits below the header row.
fn emit(
    sink: &mut dyn Sink,
    sheet: &str,
    header_row: Option<u32>,
    names: &[(u32, String)],
    row: u32,
    col: u32,
    text: &str,
) {
    let field = match header_row {
        Some(h) if row > h => names
            .binary_search_by_key(&col, |(c, _)| *c)
            .ok()
            .map(|i| names[i].1.as_str()),
        _ => None,
    };
    sink.unit(&Unit {
        text: text.as_bytes(),
        place: Place {
            sheet: Some(sheet),
            cell: Some((row, col)),
            field,
            ..Place::default()
        },
    });
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read, Write};

    use calamine::{Data, Range};
    use rust_xlsxwriter::{ExcelDateTime as XlsxDate, Format, Workbook};
    use zip::write::SimpleFileOptions;

    use super::*;
    use crate::extract::a1;
    use crate::extract::testing::{Recorded, Recorder};
    use crate::synth::{self, Rng};

    const HEADER: [&str; 4] = ["姓名", "身份证号", "手机", "工资卡号"];
    const NAMES: [&str; 3] = ["张三", "李四", "王五"];

    /// One synthetic employee: name, ID, phone, card.
    struct Employee {
        name: &'static str,
        id: String,
        phone: String,
        card: String,
    }

    fn employees(seed: u64) -> Vec<Employee> {
        let mut rng = Rng::new(seed);
        NAMES
            .iter()
            .map(|&name| Employee {
                name,
                id: synth::resident_id(&mut rng),
                phone: synth::mobile(&mut rng),
                card: synth::bank_card(&mut rng),
            })
            .collect()
    }

    /// Writes the roster with its header at zero-based `(row, col)`; the
    /// phone is a number cell, the rest text.
    fn write_roster(
        sheet: &mut rust_xlsxwriter::Worksheet,
        row: u32,
        col: u16,
        people: &[Employee],
    ) {
        for (i, h) in HEADER.iter().enumerate() {
            sheet.write_string(row, col + i as u16, *h).unwrap();
        }
        for (i, e) in people.iter().enumerate() {
            let r = row + 1 + i as u32;
            sheet.write_string(r, col, e.name).unwrap();
            sheet.write_string(r, col + 1, &e.id).unwrap();
            let phone: f64 = e.phone.parse().unwrap();
            sheet.write_number(r, col + 2, phone).unwrap();
            sheet.write_string(r, col + 3, &e.card).unwrap();
        }
    }

    fn run(name: &str, data: &[u8]) -> Recorder {
        let mut rec = Recorder::default();
        extract(name, data, &mut rec);
        rec
    }

    /// The unit of `sheet` at the A1 reference `cell`.
    fn at<'r>(rec: &'r Recorder, sheet: &str, cell: &str) -> &'r Recorded {
        rec.units
            .iter()
            .find(|u| {
                u.sheet.as_deref() == Some(sheet)
                    && u.cell.map(|(r, c)| a1(r, c)).as_deref() == Some(cell)
            })
            .unwrap_or_else(|| panic!("no unit at {sheet}!{cell}: {:#?}", rec.units))
    }

    fn roster_xlsx(people: &[Employee]) -> Vec<u8> {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet().set_name("员工").unwrap();
        write_roster(sheet, 0, 0, people);
        book.save_to_buffer().unwrap()
    }

    #[test]
    fn shared_strings_past_the_held_part_are_read_back_from_their_file() {
        let mut rng = crate::synth::Rng::new(77);
        let texts: Vec<String> = (0..2000)
            .map(|i| {
                let len = rng.below(40) as usize;
                let filler: String = (0..len).map(|k| ['a', '张', '1'][(i + k) % 3]).collect();
                format!("{i}:{filler}")
            })
            .chain(["x".repeat(SharedStrings::CHUNK * 3), String::new()])
            .collect();
        let mut strings = SharedStrings::default();
        for text in &texts {
            strings.text.push_str(text);
            strings.close().unwrap();
        }
        assert!(strings.spill.is_some() && strings.spilled > 0);
        assert!(strings.held.len() <= SharedStrings::HELD);
        assert!(strings.text.len() < SharedStrings::CHUNK);
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.extend((0..texts.len()).rev());
        order.extend((0..3000).map(|_| rng.below(texts.len() as u64) as usize));
        for i in order {
            assert_eq!(strings.get(i).unwrap(), Some(texts[i].as_str()), "{i}");
        }
        assert_eq!(strings.get(texts.len()).unwrap(), None);
    }

    #[test]
    fn roster_cells_have_sheet_cell_and_field() {
        let people = employees(7);
        let rec = run("hr/roster.xlsx", &roster_xlsx(&people));
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(rec.units.len(), 4 + 4 * people.len());

        // Header cells are units without a field.
        for (i, h) in HEADER.iter().enumerate() {
            let u = &rec.units[i];
            assert_eq!(u.text, *h);
            assert_eq!(u.cell, Some((0, i as u32)));
            assert_eq!(u.field, None);
        }

        let id = at(&rec, "员工", "B2");
        assert_eq!(id.text, people[0].id);
        assert_eq!(id.sheet.as_deref(), Some("员工"));
        assert_eq!(id.field.as_deref(), Some("身份证号"));
        assert_eq!(id.line, None);
        assert_eq!(id.member, None);

        // The phone is a number cell: exactly its 11 digits.
        for (i, e) in people.iter().enumerate() {
            let phone = at(&rec, "员工", &a1(1 + i as u32, 2));
            assert_eq!(phone.text, e.phone);
            assert_eq!(phone.text.len(), 11);
            assert_eq!(phone.field.as_deref(), Some("手机"));
            let card = at(&rec, "员工", &a1(1 + i as u32, 3));
            assert_eq!(card.text, e.card);
            assert_eq!(card.field.as_deref(), Some("工资卡号"));
            assert_eq!(at(&rec, "员工", &a1(1 + i as u32, 0)).text, e.name);
        }

        // Units come in reading order.
        let cells: Vec<_> = rec.units.iter().map(|u| u.cell.unwrap()).collect();
        let mut sorted = cells.clone();
        sorted.sort();
        assert_eq!(cells, sorted);
    }

    #[test]
    fn through_the_format_dispatch() {
        let people = employees(8);
        let data = roster_xlsx(&people);
        let mut rec = Recorder::default();
        let got = crate::extract::extract(
            "share/花名册.XLSX",
            &data,
            &crate::extract::Limits::default(),
            0,
            &mut rec,
        );
        assert_eq!(got, crate::extract::Extracted::Scanned);
        assert_eq!(
            rec.containing(&people[2].id)[0].field.as_deref(),
            Some("身份证号")
        );
    }

    #[test]
    fn no_header_when_the_first_row_has_numbers() {
        let mut rng = Rng::new(11);
        let mut book = Workbook::new();
        let sheet = book.add_worksheet().set_name("导出").unwrap();
        let mut phones = Vec::new();
        for r in 0..3u32 {
            let phone = synth::mobile(&mut rng);
            sheet
                .write_string(r, 0, synth::resident_id(&mut rng))
                .unwrap();
            sheet
                .write_number(r, 1, phone.parse::<f64>().unwrap())
                .unwrap();
            sheet.write_string(r, 2, "备注").unwrap();
            phones.push(phone);
        }
        let rec = run("x.xlsx", &book.save_to_buffer().unwrap());
        assert_eq!(rec.units.len(), 9);
        assert!(
            rec.units.iter().all(|u| u.field.is_none()),
            "{:#?}",
            rec.units
        );
        assert_eq!(at(&rec, "导出", "B3").text, phones[2]);
    }

    #[test]
    fn text_values_in_the_first_row_are_not_a_header() {
        // Text cells holding an ID, a phone or an email never become field
        // names (they would be printed unmasked).
        let mut rng = Rng::new(12);
        let mut book = Workbook::new();
        let sheet = book.add_worksheet().set_name("S").unwrap();
        for r in 0..2u32 {
            sheet
                .write_string(r, 0, synth::resident_id(&mut rng))
                .unwrap();
            sheet.write_string(r, 1, synth::email(&mut rng)).unwrap();
        }
        let rec = run("x.xlsx", &book.save_to_buffer().unwrap());
        assert_eq!(rec.units.len(), 4);
        assert!(rec.units.iter().all(|u| u.field.is_none()));
    }

    #[test]
    fn header_row_alone_has_no_fields() {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        for (i, h) in HEADER.iter().enumerate() {
            sheet.write_string(0, i as u16, *h).unwrap();
        }
        let rec = run("x.xlsx", &book.save_to_buffer().unwrap());
        assert_eq!(rec.units.len(), 4);
        assert!(rec.units.iter().all(|u| u.field.is_none()));
        assert_eq!(rec.units[0].sheet.as_deref(), Some("Sheet1"));
    }

    #[test]
    fn every_sheet_with_its_own_header_hidden_ones_too() {
        let people = employees(21);
        let mut rng = Rng::new(22);
        let imei = synth::imei(&mut rng);
        let mut book = Workbook::new();
        write_roster(
            book.add_worksheet().set_name("员工").unwrap(),
            0,
            0,
            &people,
        );
        let devices = book.add_worksheet().set_name("设备").unwrap();
        devices.write_string(0, 0, "使用人").unwrap();
        devices.write_string(0, 1, "IMEI").unwrap();
        devices.write_string(1, 0, "张三").unwrap();
        devices
            .write_number(1, 1, imei.parse::<f64>().unwrap())
            .unwrap();
        devices.set_hidden(true);
        let rec = run("x.xlsx", &book.save_to_buffer().unwrap());
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(at(&rec, "员工", "B4").text, people[2].id);
        let u = at(&rec, "设备", "B2");
        assert_eq!(u.text, imei);
        assert_eq!(u.field.as_deref(), Some("IMEI"));
        assert_eq!(
            rec.units
                .iter()
                .filter(|u| u.sheet.as_deref() == Some("设备"))
                .count(),
            4
        );
    }

    #[test]
    fn a_range_not_at_a1_keeps_absolute_cells() {
        let people = employees(31);
        let mut book = Workbook::new();
        // Header at C5, data from C6.
        write_roster(
            book.add_worksheet().set_name("员工").unwrap(),
            4,
            2,
            &people,
        );
        let rec = run("x.xlsx", &book.save_to_buffer().unwrap());
        assert_eq!(at(&rec, "员工", "C5").text, "姓名");
        assert_eq!(at(&rec, "员工", "C5").field, None);
        let id = at(&rec, "员工", "D6");
        assert_eq!(id.text, people[0].id);
        assert_eq!(id.field.as_deref(), Some("身份证号"));
        let phone = at(&rec, "员工", "E8");
        assert_eq!(phone.text, people[2].phone);
        assert_eq!(phone.field.as_deref(), Some("手机"));
        assert_eq!(rec.units[0].cell, Some((4, 2)));
    }

    #[test]
    fn title_rows_before_the_header() {
        let people = employees(41);
        let mut book = Workbook::new();
        let sheet = book.add_worksheet().set_name("员工").unwrap();
        sheet
            .merge_range(0, 0, 0, 3, "2024年员工信息表", &Format::new())
            .unwrap();
        sheet.write_string(1, 0, "人力资源部").unwrap();
        write_roster(sheet, 2, 0, &people);
        let rec = run("x.xlsx", &book.save_to_buffer().unwrap());
        assert_eq!(at(&rec, "员工", "A1").text, "2024年员工信息表");
        assert_eq!(at(&rec, "员工", "A1").field, None);
        assert_eq!(at(&rec, "员工", "A2").field, None);
        assert_eq!(at(&rec, "员工", "B3").field, None);
        let id = at(&rec, "员工", "B4");
        assert_eq!(id.text, people[0].id);
        assert_eq!(id.field.as_deref(), Some("身份证号"));
        assert_eq!(at(&rec, "员工", "A6").field.as_deref(), Some("姓名"));
    }

    #[test]
    fn single_column_sheet_keeps_its_header() {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "姓名").unwrap();
        for (r, n) in NAMES.iter().chain(NAMES.iter()).enumerate() {
            sheet.write_string(r as u32 + 1, 0, *n).unwrap();
        }
        let rec = run("x.xlsx", &book.save_to_buffer().unwrap());
        assert_eq!(rec.units.len(), 7);
        assert_eq!(rec.units[0].field, None);
        assert!(rec.units[1..]
            .iter()
            .all(|u| u.field.as_deref() == Some("姓名")));
    }

    #[test]
    fn header_gaps_and_cells_beyond_the_header() {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "姓名").unwrap();
        sheet.write_string(0, 2, "手机").unwrap();
        sheet.write_string(1, 0, "张三").unwrap();
        sheet.write_string(1, 1, "x").unwrap();
        sheet.write_number(1, 2, 13_912_345_678.0).unwrap();
        sheet.write_string(1, 5, "y").unwrap();
        let rec = run("x.xlsx", &book.save_to_buffer().unwrap());
        assert_eq!(at(&rec, "Sheet1", "B2").field, None);
        assert_eq!(at(&rec, "Sheet1", "C2").field.as_deref(), Some("手机"));
        assert_eq!(at(&rec, "Sheet1", "C2").text, "13912345678");
        assert_eq!(at(&rec, "Sheet1", "F2").field, None);
    }

    #[test]
    fn numbers_are_rendered_exactly() {
        let cases: &[(f64, &str)] = &[
            (13_812_345_678.0, "13812345678"),
            (9_007_199_254_740_992.0, "9007199254740992"),
            (1e20, "100000000000000000000"),
            (0.1, "0.1"),
            (3.25, "3.25"),
            (-42.0, "-42"),
            (1e-7, "0.0000001"),
            (-0.0, "0"),
            (0.0, "0"),
            (123_456_789_012_345.0, "123456789012345"),
        ];
        let mut buf = String::new();
        for &(f, want) in cases {
            buf.clear();
            write_number(&mut buf, f);
            assert_eq!(buf, want, "{f:?}");
        }
        assert_eq!(render(Value::Int(-7), &mut buf), "-7");
        assert_eq!(render(Value::Int(13_812_345_678), &mut buf), "13812345678");
    }

    #[test]
    fn numbers_from_a_workbook() {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        let values = [13_812_345_678.0, 1e20, 0.5, 6_222_021_234_567_890.0, -3.0];
        for (r, v) in values.iter().enumerate() {
            sheet.write_number(r as u32, 0, *v).unwrap();
        }
        let rec = run("x.xlsx", &book.save_to_buffer().unwrap());
        let texts: Vec<_> = rec.units.iter().map(|u| u.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "13812345678",
                "100000000000000000000",
                "0.5",
                "6222021234567890",
                "-3"
            ]
        );
    }

    #[test]
    fn dates_times_booleans_and_blanks() {
        let date = Format::new().set_num_format("yyyy-mm-dd");
        let stamp = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
        let time = Format::new().set_num_format("hh:mm:ss");
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        let day = XlsxDate::from_ymd(2024, 3, 7).unwrap();
        sheet.write_datetime_with_format(0, 0, &day, &date).unwrap();
        let at_830 = XlsxDate::from_ymd(2024, 3, 7)
            .unwrap()
            .and_hms(8, 30, 0)
            .unwrap();
        sheet
            .write_datetime_with_format(1, 0, &at_830, &stamp)
            .unwrap();
        let only_time = XlsxDate::from_hms(8, 30, 5).unwrap();
        sheet
            .write_datetime_with_format(2, 0, &only_time, &time)
            .unwrap();
        // A phone number under a date format is far outside the dates.
        sheet
            .write_number_with_format(3, 0, 13_812_345_678.0, &date)
            .unwrap();
        sheet.write_boolean(4, 0, true).unwrap();
        sheet.write_string(5, 0, "   ").unwrap();
        sheet.write_string(6, 0, "").unwrap();
        sheet.write_blank(7, 0, &date).unwrap();
        let rec = run("x.xlsx", &book.save_to_buffer().unwrap());
        let texts: Vec<_> = rec.units.iter().map(|u| u.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "2024-03-07",
                "2024-03-07T08:30:00",
                "08:30:05",
                "13812345678"
            ]
        );
    }

    #[test]
    fn sparse_sheet_is_streamed() {
        // A dense range from A1 to XFD1048576 would be 17 billion cells.
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "a").unwrap();
        sheet.write_string(1_048_575, 16_383, "z").unwrap();
        let rec = run("x.xlsx", &book.save_to_buffer().unwrap());
        assert_eq!(rec.units.len(), 2);
        assert_eq!(at(&rec, "Sheet1", "XFD1048576").text, "z");
    }

    #[test]
    fn truncated_and_foreign_bytes_are_skipped() {
        let data = roster_xlsx(&employees(51));
        for len in [0, 3, 30, data.len() / 2, data.len() - 1] {
            let rec = run("r.xlsx", &data[..len]);
            assert!(rec.units.is_empty(), "{len}");
            assert_eq!(rec.skips.len(), 1, "{len}: {:?}", rec.skips);
            assert_eq!(rec.skips[0].0, "");
            assert!(
                rec.skips[0]
                    .1
                    .starts_with("corrupt or unreadable xlsx workbook"),
                "{:?}",
                rec.skips
            );
        }
        let mut rng = Rng::new(52);
        let noise: Vec<u8> = (0..4096).map(|_| rng.below(256) as u8).collect();
        for name in ["n.xlsx", "n.xls", "n.ods", "n.xlsb", "n.xlsm"] {
            let rec = run(name, &noise);
            assert!(rec.units.is_empty());
            assert_eq!(rec.skips.len(), 1, "{name}");
        }
        // A compound file header and nothing else.
        let rec = run("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1");
        assert!(rec.skips[0].1.contains("xls workbook"), "{:?}", rec.skips);
    }

    #[test]
    fn damaged_bytes_never_panic() {
        let data = roster_xlsx(&employees(61));
        let mut rng = Rng::new(62);
        for _ in 0..200 {
            let mut bad = data.clone();
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(bad.len() as u64) as usize;
                bad[i] = rng.below(256) as u8;
            }
            let cut = bad.len() - rng.below(64) as usize;
            let _ = run("r.xlsx", &bad[..cut]);
        }
    }

    /// Rebuilds the zip `data`, passing each member's name and bytes through
    /// `edit` (`None` drops the member).
    pub(super) fn rezip(data: &[u8], edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) -> Vec<u8> {
        let mut archive = zip::ZipArchive::new(Cursor::new(data)).unwrap();
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..archive.len() {
            let mut member = archive.by_index(i).unwrap();
            let name = member.name().to_string();
            let mut bytes = Vec::new();
            member.read_to_end(&mut bytes).unwrap();
            if let Some(bytes) = edit(&name, bytes) {
                out.start_file(name, SimpleFileOptions::default()).unwrap();
                out.write_all(&bytes).unwrap();
            }
        }
        out.finish().unwrap().into_inner()
    }

    fn two_sheets() -> (Vec<Employee>, Vec<u8>) {
        let people = employees(71);
        let mut book = Workbook::new();
        write_roster(book.add_worksheet().set_name("坏").unwrap(), 0, 0, &people);
        write_roster(book.add_worksheet().set_name("好").unwrap(), 0, 0, &people);
        (people, book.save_to_buffer().unwrap())
    }

    #[test]
    fn a_missing_sheet_is_skipped_and_the_others_scanned() {
        let (people, data) = two_sheets();
        let data = rezip(&data, |name, bytes| {
            (name != "xl/worksheets/sheet1.xml").then_some(bytes)
        });
        let rec = run("r.xlsx", &data);
        assert_eq!(rec.skips.len(), 1, "{:?}", rec.skips);
        assert_eq!(rec.skips[0].0, "坏");
        assert!(rec.skips[0].1.starts_with("unreadable sheet"));
        assert_eq!(rec.units.len(), 16);
        assert_eq!(at(&rec, "好", "B2").text, people[0].id);
    }

    #[test]
    fn a_broken_sheet_keeps_the_cells_before_the_damage() {
        let (people, data) = two_sheets();
        let data = rezip(&data, |name, mut bytes| {
            if name == "xl/worksheets/sheet1.xml" {
                // Cut in the middle of the third row's cell reference.
                let s = String::from_utf8(bytes).unwrap();
                let i = s.find("<row r=\"3\"").unwrap();
                bytes = s.as_bytes()[..i].to_vec();
                bytes.extend_from_slice(b"<row r=\"3\"><c r=\"#\" t=\"s\"><v>0</v></c>");
            }
            Some(bytes)
        });
        let rec = run("r.xlsx", &data);
        let bad: Vec<_> = rec
            .units
            .iter()
            .filter(|u| u.sheet.as_deref() == Some("坏"))
            .collect();
        // Header and first row arrive, with fields.
        assert!(bad.len() >= 8, "{bad:#?}");
        assert_eq!(at(&rec, "坏", "B2").field.as_deref(), Some("身份证号"));
        assert_eq!(rec.skips.len(), 1, "{:?}", rec.skips);
        assert_eq!(rec.skips[0].0, "坏");
        assert_eq!(at(&rec, "好", "C4").text, people[2].phone);
    }

    /// A minimal OpenDocument spreadsheet with `tables` (`table:table`
    /// elements) as its body.
    pub(super) fn ods(tables: &str, encrypted: bool) -> Vec<u8> {
        let stored =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        let encryption = if encrypted {
            r#"<manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="AAAA"/>"#
        } else {
            ""
        };
        let manifest = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">{encryption}</manifest:file-entry>
</manifest:manifest>"#
        );
        let content = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>"#
        );
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in [
            (
                "mimetype",
                b"application/vnd.oasis.opendocument.spreadsheet".as_slice(),
            ),
            ("META-INF/manifest.xml", manifest.as_bytes()),
            ("content.xml", content.as_bytes()),
        ] {
            out.start_file(name, stored).unwrap();
            out.write_all(bytes).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    fn ods_text(s: &str) -> String {
        format!(
            r#"<table:table-cell office:value-type="string"><text:p>{s}</text:p></table:table-cell>"#
        )
    }

    fn ods_number(v: &str) -> String {
        format!(
            r#"<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>"#
        )
    }

    #[test]
    fn ods_roster() {
        let people = employees(81);
        let row =
            |cells: Vec<String>| format!("<table:table-row>{}</table:table-row>", cells.concat());
        let mut rows = vec![row(HEADER.iter().map(|h| ods_text(h)).collect())];
        for e in &people {
            rows.push(row(vec![
                ods_text(e.name),
                ods_text(&e.id),
                ods_number(&e.phone),
                ods_text(&e.card),
            ]));
        }
        let offset = format!(
            r#"<table:table table:name="偏移"><table:table-row><table:table-cell table:number-columns-repeated="2"/>{}</table:table-row><table:table-row><table:table-cell table:number-columns-repeated="2"/>{}{}</table:table-row></table:table>"#,
            ods_text("手机"),
            ods_number(&people[0].phone),
            r#"<table:table-cell office:value-type="date" office:date-value="2024-03-07"><text:p>2024-03-07</text:p></table:table-cell>"#,
        );
        let tables = format!(
            r#"<table:table table:name="员工">{}</table:table>{offset}"#,
            rows.concat()
        );
        let rec = run("hr/roster.ods", &ods(&tables, false));
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(rec.units.len(), 16 + 3);
        let id = at(&rec, "员工", "B2");
        assert_eq!(id.text, people[0].id);
        assert_eq!(id.field.as_deref(), Some("身份证号"));
        let phone = at(&rec, "员工", "C3");
        assert_eq!(phone.text, people[1].phone);
        assert_eq!(phone.field.as_deref(), Some("手机"));
        let phone = at(&rec, "偏移", "C2");
        assert_eq!(phone.text, people[0].phone);
        assert_eq!(phone.field.as_deref(), Some("手机"));
        assert_eq!(at(&rec, "偏移", "D2").text, "2024-03-07");
    }

    #[test]
    fn password_protected_ods_is_skipped() {
        let tables = format!(
            r#"<table:table table:name="S"><table:table-row>{}</table:table-row></table:table>"#,
            ods_text("x")
        );
        let rec = run("secret.ods", &ods(&tables, true));
        assert!(rec.units.is_empty());
        assert_eq!(rec.skips, [(String::new(), PASSWORD.to_string())]);
    }

    #[test]
    fn encrypted_ooxml_workbooks_are_told_in_memory_and_in_place() {
        // An encrypted .xlsx or .xlsb is a compound file holding the
        // package as a stream of this name.
        let encrypted = xls_write::compound_file("EncryptedPackage", &[0x5A; 9000]);
        let plain = xls_write::compound_file("Workbook", &[0x5A; 9000]);
        for name in ["secret.xlsx", "secret.xlsb"] {
            assert!(reads_in_place(name, &encrypted), "{name}");
            let in_place = |data: &[u8]| {
                let mut rec = Recorder::default();
                extract_reader(name, data, Cursor::new(data), &mut rec);
                rec
            };
            for rec in [run(name, &encrypted), in_place(&encrypted)] {
                assert!(rec.units.is_empty());
                assert_eq!(rec.skips, [(String::new(), PASSWORD.to_string())], "{name}");
            }
            for rec in [run(name, &plain), in_place(&plain)] {
                assert!(rec.units.is_empty());
                assert_eq!(rec.skips.len(), 1, "{name}");
                assert!(
                    rec.skips[0].1.starts_with("corrupt or unreadable"),
                    "{name}"
                );
            }
        }
    }

    /// The names of the sheets that hold cells (worksheets and macro sheets,
    /// hidden or not), in workbook order.
    fn scanned_sheets<RS: Read + Seek, R: Reader<RS>>(book: &R) -> Vec<String> {
        book.sheets_metadata()
            .iter()
            .filter(|s| {
                matches!(
                    s.typ,
                    calamine::SheetType::WorkSheet | calamine::SheetType::MacroSheet
                )
            })
            .map(|s| s.name.clone())
            .collect()
    }

    /// The cells of the workbook `data` as calamine's reader `R` reads
    /// them into ranges, through the same sheet writer: the oracle of the
    /// `.ods`, `.xls` and `.xlsb` differential tests.
    pub(super) fn calamine_cells<'d, R>(data: &'d [u8]) -> Recorder
    where
        R: Reader<Cursor<&'d [u8]>>,
        R::Error: std::fmt::Debug + std::fmt::Display,
    {
        let mut rec = Recorder::default();
        let mut book = R::new(Cursor::new(data)).unwrap();
        extract_ranges(&mut book, &mut SheetWriter::default(), &mut rec);
        rec
    }

    /// Sends the cells of every sheet as calamine reads them into ranges.
    fn extract_ranges<'d, R>(book: &mut R, writer: &mut SheetWriter, sink: &mut dyn Sink)
    where
        R: Reader<Cursor<&'d [u8]>>,
        R::Error: std::fmt::Display,
    {
        for sheet in scanned_sheets(book) {
            writer.start(&sheet);
            match book.worksheet_range(&sheet) {
                Ok(range) => {
                    extract_range(&range, writer, sink);
                    writer.finish(sink);
                }
                Err(e) => sink.skip(&sheet, &format!("unreadable sheet: {e}")),
            }
        }
    }

    /// Sends the used cells of `range` at their absolute positions.
    fn extract_range(range: &Range<Data>, writer: &mut SheetWriter, sink: &mut dyn Sink) {
        let Some((row0, col0)) = range.start() else {
            return;
        };
        for (r, c, data) in range.used_cells() {
            if let Some(value) = from_data(data) {
                let row = row0.saturating_add(u32::try_from(r).unwrap_or(u32::MAX));
                let col = col0.saturating_add(u32::try_from(c).unwrap_or(u32::MAX));
                writer.cell(sink, row, col, value);
            }
        }
    }

    /// The value of a cell read into a range; `None` for cells that give no
    /// unit.
    fn from_data(data: &Data) -> Option<Value<'_>> {
        Some(match data {
            Data::String(s) => Value::Text(s),
            Data::Int(i) => Value::Int(*i),
            Data::Float(f) if f.is_finite() => Value::Float(*f),
            Data::DateTime(d) => Value::Date(*d),
            Data::DateTimeIso(s) | Data::DurationIso(s) => Value::Iso(s),
            _ => return None,
        })
        .filter(Value::is_present)
    }

    /// One cell of the ODS differential test, `repeats` columns wide.
    fn ods_cell(kind: u8, repeats: u8, seed: u64) -> String {
        let mut rng = Rng::new(seed);
        let texts = [
            "姓名".to_string(),
            "a &amp; b &lt;c&gt; &#x4E2D;".to_string(),
            " 空格 ".to_string(),
            synth::resident_id(&mut rng),
            synth::mobile(&mut rng),
            String::new(),
        ];
        let text = &texts[rng.below(texts.len() as u64) as usize];
        let rep = format!(r#" table:number-columns-repeated="{repeats}""#);
        let value = |attrs: String| {
            format!(r#"<table:table-cell{rep} {attrs}><text:p>shown</text:p></table:table-cell>"#)
        };
        match kind {
            0 => format!("<table:table-cell{rep}/>"),
            1 => format!(
                r#"<table:table-cell{rep} office:value-type="string"><text:p>{text}</text:p></table:table-cell>"#
            ),
            2 => format!(
                r#"<table:table-cell{rep} office:value-type="string"><office:annotation><text:p>note {}</text:p></office:annotation><text:p>{text}<text:s text:c="3"/>x<text:s/></text:p><text:p><text:span>in</text:span> span</text:p></table:table-cell>"#,
                synth::mobile(&mut rng)
            ),
            3 => value(format!(
                r#"office:value-type="string" office:string-value="{text}""#
            )),
            4 => value(format!(
                r#"office:value-type="float" office:value="{}""#,
                synth::mobile(&mut rng)
            )),
            5 => value(format!(
                r#"office:value-type="percentage" office:value="{}""#,
                rng.below(1000) as f64 / 8.0
            )),
            6 => {
                value(r#"office:value-type="date" office:date-value="2024-03-07T08:30:00""#.into())
            }
            7 => value(r#"office:value-type="time" office:time-value="PT08H30M00S""#.into()),
            8 => value(r#"office:value-type="boolean" office:boolean-value="true""#.into()),
            _ => format!(
                r#"<table:covered-table-cell{rep} office:value-type="string"><text:p>{text}</text:p></table:covered-table-cell>"#
            ),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Random documents read by [`ods`] and by calamine give the same
        /// units, fields included: repeated rows and cells, empty ones,
        /// every value type, annotations, spaces, covered cells.
        #[test]
        fn ods_reader_agrees_with_calamine(
            sheets in proptest::collection::vec(
                proptest::collection::vec(
                    (1u8..4, proptest::collection::vec((0u8..10, 1u8..4, proptest::prelude::any::<u64>()), 0..6)),
                    0..12,
                ),
                1..4,
            ),
        ) {
            let mut tables = String::new();
            for (i, rows) in sheets.iter().enumerate() {
                tables += &format!(r#"<table:table table:name="S{i}">"#);
                for (repeats, cells) in rows {
                    tables += &format!(r#"<table:table-row table:number-rows-repeated="{repeats}">"#);
                    for &(kind, repeats, seed) in cells {
                        tables += &ods_cell(kind, repeats, seed);
                    }
                    tables += "</table:table-row>";
                }
                tables += "</table:table>";
            }
            let data = ods(&tables, false);
            let ours = run("x.ods", &data);
            let theirs = calamine_cells::<calamine::Ods<_>>(&data);
            proptest::prop_assert!(ours.skips.is_empty(), "{:?}", ours.skips);
            proptest::prop_assert_eq!(&ours.units, &theirs.units);
        }
    }

    #[test]
    #[should_panic(expected = "sink bug")]
    fn a_panic_of_the_sink_is_not_swallowed() {
        extract(
            "r.xlsx",
            &roster_xlsx(&employees(91)),
            &mut crate::extract::testing::PanickingSink,
        );
    }

    /// The cells of an `.xlsx` as calamine's own reader gives them, through
    /// the same sheet writer: what [`xlsx`] must agree with.
    fn calamine_xlsx(data: &[u8]) -> Recorder {
        let mut rec = Recorder::default();
        let mut writer = SheetWriter::default();
        let mut book = Xlsx::new(Cursor::new(data)).unwrap();
        for sheet in scanned_sheets(&book) {
            writer.start(&sheet);
            let mut cells = book.worksheet_cells_reader(&sheet).unwrap();
            while let Some(cell) = cells.next_cell().unwrap() {
                let data = Data::from(cell.get_value().clone());
                if let Some(value) = from_data(&data) {
                    let (row, col) = cell.get_position();
                    writer.cell(&mut rec, row, col, value);
                }
            }
            writer.finish(&mut rec);
        }
        rec
    }

    /// One cell for the differential test: its kind and a seed for its value.
    fn write_cell(sheet: &mut rust_xlsxwriter::Worksheet, row: u32, col: u16, kind: u8, seed: u64) {
        let mut rng = Rng::new(seed);
        let bold = Format::new().set_bold();
        let formats = [
            "yyyy-mm-dd",
            "[h]:mm:ss",
            "0.00",
            "yyyy\"年\"m\"月\"d\"日\"",
            "hh:mm",
        ];
        let texts = [
            "姓名",
            "a & b <c>",
            " 空格 ",
            "x_x000D_y",
            "tab\tline\nend",
            "",
        ];
        let text = || texts[rng.clone().below(texts.len() as u64) as usize].to_string();
        match kind {
            0 => sheet.write_string(row, col, text()).map(drop),
            1 => sheet
                .write_string(row, col, synth::resident_id(&mut rng))
                .map(drop),
            2 => {
                let n: f64 = synth::mobile(&mut rng).parse().unwrap();
                sheet.write_number(row, col, n).map(drop)
            }
            3 => {
                let n = (rng.below(2_000_000) as f64 - 500_000.0) / 64.0;
                let format = Format::new().set_num_format(formats[rng.below(5) as usize]);
                sheet
                    .write_number_with_format(row, col, n, &format)
                    .map(drop)
            }
            4 => sheet.write_boolean(row, col, rng.below(2) == 1).map(drop),
            5 => {
                let parts = [(&bold, "手机 "), (&Format::default(), "13800000000")];
                sheet.write_rich_string(row, col, &parts).map(drop)
            }
            6 => sheet
                .write_formula(
                    row,
                    col,
                    rust_xlsxwriter::Formula::new("=1+1").set_result("2"),
                )
                .map(drop),
            _ => sheet.write_blank(row, col, &bold).map(drop),
        }
        .unwrap();
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Random workbooks read by [`xlsx`] and by calamine give the same
        /// units, fields included.
        #[test]
        fn xlsx_reader_agrees_with_calamine(
            sheets in proptest::collection::vec(
                proptest::collection::vec((0u32..40, 0u16..6, 0u8..8, proptest::prelude::any::<u64>()), 0..40),
                1..4,
            ),
        ) {
            let mut book = Workbook::new();
            for cells in &sheets {
                let sheet = book.add_worksheet();
                for &(row, col, kind, seed) in cells {
                    write_cell(sheet, row, col, kind, seed);
                }
            }
            let data = book.save_to_buffer().unwrap();
            let ours = run("x.xlsx", &data);
            let theirs = calamine_xlsx(&data);
            proptest::prop_assert!(ours.skips.is_empty(), "{:?}", ours.skips);
            proptest::prop_assert_eq!(&ours.units, &theirs.units);
        }
    }

    #[test]
    fn header_rule() {
        assert!(header_like("身份证号"));
        assert!(header_like(" IMEI "));
        assert!(header_like("2024年入职"));
        assert!(header_like("手机号1"));
        assert!(!header_like("11010519900307123X"));
        assert!(!header_like("E12345678"));
        assert!(!header_like("zhang@example.com"));
        assert!(!header_like("2024"));
        assert!(!header_like("  "));
        assert!(!header_like(&"长".repeat(65)));
    }

    #[test]
    fn reader_by_magic_and_name() {
        assert_eq!(kind("a.xlsx", b"PK\x03\x04"), Kind::Xlsx);
        assert_eq!(kind("a.XLSM", b"PK\x03\x04"), Kind::Xlsx);
        assert_eq!(kind("a.xlsb", b"PK\x03\x04"), Kind::Xlsb);
        assert_eq!(kind("a.ods", b"PK\x03\x04"), Kind::Ods);
        assert_eq!(kind("a.xls", b"\xd0\xcf\x11\xe0"), Kind::Xls);
        // An encrypted OOXML workbook is a compound file.
        assert_eq!(kind("a.xlsx", b"\xd0\xcf\x11\xe0"), Kind::Xlsx);
        assert_eq!(kind("a.bin", b"\xd0\xcf\x11\xe0"), Kind::Xls);
    }
}
