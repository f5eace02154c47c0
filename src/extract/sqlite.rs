//! SQLite database files via rusqlite (SQLite compiled in, `bundled`).
//!
//! Every value of every table becomes one [`Unit`] whose [`Place`] has the
//! table name, the 1-based ordinal of the row within the table and the column
//! name as `field`. `line` is never set: a value is not a line of a text.
//!
//! # Reading
//!
//! **In place.** A large database file on disk whose header is consistent
//! (as many whole pages as the header counts; [`readable_in_place`])
//! is opened where it is ([`extract_file`]): read-only, through an
//! `immutable=1` URI, so SQLite takes no lock and creates no journal, WAL or
//! shared-memory file beside it, and reads pages as it needs them (memory is
//! its page cache). Everything else below applies to every way in.
//!
//! **From a repaired copy.** A large database that SQLite cannot open
//! where it is (a truncated one, or a header whose page count is not
//! valid) is copied to a named temporary file of ours
//! ([`extract_copied`]), or is already in one (an archive member), whose
//! header gets the repairs of the in-memory way below (the pages present,
//! the rollback journal mode) and whose partial last page is cut off
//! ([`extract_temporary`]); it is then opened there as in place, so memory
//! does not grow with the database. The scanned file is only read.
//!
//! **From memory.** Otherwise the extractor gets the file's *bytes* (the
//! file may sit inside an archive). It opens an in-memory connection and
//! deserializes a copy of the bytes into it, read-only
//! (`SQLITE_DESERIALIZE_READONLY`), then sets `PRAGMA query_only=1`,
//! `PRAGMA temp_store=MEMORY` and `PRAGMA cell_size_check=1`, and turns off
//! `trusted_schema` (no function with side effects runs from the schema) and
//! on `defensive` mode. Nothing is written to disk, and the scanned file is
//! never touched. No query sorts (rows are read in b-tree order), so no
//! temporary b-tree is built either. Memory is the copy of the database
//! (SQLite owns it) plus SQLite's page cache (2 MB by default); rows are
//! streamed from the statement one at a time, no table is collected. The
//! copy is one SQLite allocation, so a database over 2 GiB
//! (`SQLITE_MAX_ALLOCATION_SIZE`) cannot be loaded and is reported as
//! skipped. Bytes after the last page the header counts are not read.
//!
//! **WAL.** A database in WAL mode (header bytes 18 and 19 equal to 2) keeps
//! its most recent changes in a separate `-wal` file until a checkpoint. Only
//! the main file's bytes are read: the copy's header is marked as a rollback
//! journal database (the in-memory VFS has no WAL support), so everything
//! checkpointed into the main file is scanned and whatever is still only in
//! the `-wal` file is not. The `-wal` file itself is an ordinary binary file
//! to the walker.
//!
//! # Tables, rows and values
//!
//! * Tables are those of `PRAGMA main.table_list`: ordinary tables, `WITHOUT
//!   ROWID` tables and virtual tables (FTS3/4/5 and R*Tree are compiled in),
//!   in byte order of their names. Views are not read (their data is in
//!   tables). Internal tables (`sqlite_*`, such as `sqlite_sequence` and
//!   `sqlite_stat1`) are left out.
//! * A *shadow* table of a virtual table (`docs_content`, `docs_data` … of an
//!   FTS table `docs`) is left out when its virtual table was read without
//!   error: the text it holds was scanned under the virtual table's column
//!   names. When the virtual table cannot be read (its module is not
//!   compiled in, say), it is reported as skipped and its shadow tables are
//!   read as ordinary tables. An FTS table with *external content* returns
//!   the rows of its content table, which is read as well, so such values
//!   are found twice (once under each table).
//! * Columns are those of `PRAGMA table_xinfo`, in table order, without the
//!   hidden columns of virtual tables and without *virtual* generated columns
//!   (`GENERATED ALWAYS AS (…) VIRTUAL`): these are computed from the row's
//!   other columns on every read, which are scanned anyway, and an expression
//!   in a hostile schema could be made arbitrarily expensive. Stored
//!   generated columns are read like ordinary ones.
//! * Rows come in rowid order (`ORDER BY rowid`, or `_rowid_`/`oid` when a
//!   column is named `rowid`) for tables that have a rowid; `WITHOUT ROWID`
//!   and virtual tables are read in the order SQLite returns them (primary
//!   key order, and rowid/docid order for FTS). With `max_rows_per_table` of
//!   `Some(n)` only the first `n` rows are read (`LIMIT n`). The row ordinal
//!   counts every row read, including rows whose values are all `NULL`.
//!
//! Values:
//!
//! * `INTEGER`: decimal digits (`13812345678`).
//! * `REAL`: Rust's `{}` formatting of the `f64`, the shortest text that
//!   round-trips, never with an exponent and never ending in `.0`:
//!   `13812345678.0` gives `13812345678`, `1e20` gives
//!   `100000000000000000000`, `0.5` gives `0.5`; `-0.0` gives `0`;
//!   infinities are skipped (SQLite stores no NaN).
//! * `TEXT`: SQLite hands out UTF-8 (a UTF-16 database is converted by
//!   SQLite). Valid UTF-8 is passed on as it is, borrowed. Text that is not
//!   valid UTF-8 — typically GBK written by a legacy application into a TEXT
//!   column — is decoded as GB18030 when it decodes without a single error,
//!   else converted *lossily* (invalid sequences become U+FFFD, which is a
//!   token boundary for the detectors). Blank text (empty or all whitespace)
//!   is skipped.
//! * `BLOB` and `NULL`: skipped.
//!
//! # Failures
//!
//! A database that cannot be opened or whose schema cannot be read (corrupt,
//! encrypted with a plaintext header, not SQLite, shorter than its first
//! page) is reported with `sink.skip("", reason)` and nothing else is read.
//! A table that cannot be read (a virtual table whose module is missing, a
//! corrupt page) is reported with `sink.skip(table, reason)`, after the units
//! read before the error, and the other tables are still read. A table or
//! column name that is not valid UTF-8 cannot be put into a query: that table
//! is skipped with a reason.
//!
//! A *truncated* database — fewer whole pages than the header's page count
//! (when that count is valid), or a file that ends inside a page — is
//! reported with `sink.skip("", "truncated SQLite database (…)")` and then
//! read as far as it goes: the copy's header gets the number of pages
//! present, a partial last page is dropped, and `writable_schema` is turned
//! on so that a table whose root page is missing does not make SQLite refuse
//! the whole schema (it still allows no write: the database is read-only and
//! the connection query-only). Tables that need a missing page are then
//! skipped one by one as corrupt, after the rows read before it.
//!
//! A panic inside rusqlite (it asserts on a few conditions that only
//! out-of-memory should cause, and panics on a non-UTF-8 column name, which
//! this module never asks it for) is caught and reported as a skip; a panic
//! raised by the sink is re-raised.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{Cursor, Read, Write as _};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use encoding_rs::{GB18030, UTF_16BE, UTF_16LE};
use rusqlite::config::DbConfig;
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags, MAIN_DB};

use super::text::{LineChunks, Utf16Reader};
use super::{Place, Sink, Unit};

/// The first 16 bytes of every SQLite 3 database file.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Length of the database header (the first part of page 1).
pub(crate) const HEADER_LEN: usize = 100;

/// The largest database SQLite can load from memory: its largest single
/// allocation (`SQLITE_MAX_ALLOCATION_SIZE`, just under 2 GiB).
const MAX_LOAD: usize = 2_147_483_391;

/// The encoding reported to the sink.
const ENCODING: &str = "SQLite database";

/// Whether `head` (the first bytes of a file, at least 16 of them) starts
/// with the SQLite 3 magic string `SQLite format 3\0`.
pub fn is_sqlite(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// Extracts every `TEXT`, `INTEGER` and `REAL` value of every table of the
/// SQLite database `data` into `sink`, reading at most `max_rows_per_table`
/// rows of each table when that is `Some`. See the module documentation for
/// what is read, in which order, and how failures are reported; this never
/// panics on any input.
pub fn extract(data: &[u8], max_rows_per_table: Option<u64>, sink: &mut dyn Sink) {
    extract_opened(|| open(data), max_rows_per_table, sink);
}

/// Whether the database whose file is `len` bytes long and starts with
/// `head` (its first 100 bytes at least) can be read in place with
/// [`extract_file`]: a valid header and exactly as many whole pages as it
/// counts (a truncated file needs the header fixes of the in-memory way).
/// A database in WAL mode is read in place as from memory: the main file
/// only, since an immutable database has no `-wal` file to SQLite.
pub fn readable_in_place(head: &[u8], len: u64) -> bool {
    let Some(header) = head.get(..HEADER_LEN).filter(|_| is_sqlite(head)) else {
        return false;
    };
    let raw = u16::from_be_bytes([header[16], header[17]]);
    let page = if raw == 1 { 65536 } else { u64::from(raw) };
    let pages = u32::from_be_bytes([header[28], header[29], header[30], header[31]]);
    (512..=65536).contains(&page)
        && page.is_power_of_two()
        && header[24..28] == header[92..96]
        && pages > 0
        && len == u64::from(pages) * page
}

/// [`extract`] for a database file on disk that [`readable_in_place`]
/// accepts, opened where it is instead of copied into memory. The file is
/// never written to: SQLite opens it read-only and immutable.
pub fn extract_file(path: &Path, max_rows_per_table: Option<u64>, sink: &mut dyn Sink) {
    extract_opened(|| open_file(path), max_rows_per_table, sink);
}

/// [`extract`] on the connection `open` makes.
fn extract_opened(
    open: impl FnOnce() -> Result<(Connection, Option<String>), String>,
    max_rows_per_table: Option<u64>,
    sink: &mut dyn Sink,
) {
    sink.encoding(ENCODING);
    let mut guard = Guarded {
        sink,
        inside: false,
        table: None,
    };
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        extract_database(open, max_rows_per_table, &mut guard)
    }));
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(reason)) => guard.sink.skip("", &reason),
        // Not the reader's failure: a bug of the scan, let it through.
        Err(payload) if guard.inside => panic::resume_unwind(payload),
        Err(_) => match guard.table.take() {
            Some(table) => guard.sink.skip(
                &table,
                "SQLite reader failed on this table (later tables not scanned)",
            ),
            None => guard.sink.skip(
                "",
                "corrupt SQLite database (the SQLite reader failed on it)",
            ),
        },
    }
}

/// Passes everything on to a sink, remembering whether a call into it is
/// under way (to tell the sink's panics from the reader's) and which table
/// is being read.
struct Guarded<'s> {
    sink: &'s mut dyn Sink,
    inside: bool,
    table: Option<String>,
}

impl Guarded<'_> {
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
}

/// What `PRAGMA table_list` says a table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An ordinary table.
    Table,
    /// A virtual table (FTS, R*Tree, or an unknown module).
    Virtual,
    /// A shadow table holding a virtual table's data.
    Shadow,
}

/// A table to read.
#[derive(Debug)]
struct Table {
    name: String,
    kind: Kind,
    without_rowid: bool,
}

/// Opens the database, lists its tables and reads them. `Err` is the reason
/// the database as a whole could not be read.
fn extract_database(
    open: impl FnOnce() -> Result<(Connection, Option<String>), String>,
    max_rows: Option<u64>,
    sink: &mut Guarded<'_>,
) -> Result<(), String> {
    let (conn, truncated) = open()?;
    if let Some(reason) = truncated {
        sink.skip("", &reason);
    }
    let (tables, bad_names) = list_tables(&conn).map_err(|e| open_failure(&e))?;
    for name in bad_names {
        sink.skip(&name, "table name is not valid UTF-8 (table not scanned)");
    }
    // Virtual tables read without error, whose shadow tables are left out.
    let mut read_virtual: Vec<&str> = Vec::new();
    for table in &tables {
        if table.kind == Kind::Shadow
            && read_virtual.iter().any(|v| {
                table
                    .name
                    .strip_prefix(v)
                    .is_some_and(|rest| rest.starts_with('_'))
            })
        {
            continue;
        }
        sink.table = Some(table.name.clone());
        let result = read_table(&conn, table, max_rows, sink);
        sink.table = None;
        match result {
            Ok(()) if table.kind == Kind::Virtual => read_virtual.push(&table.name),
            Ok(()) => {}
            Err(reason) => sink.skip(&table.name, &reason),
        }
    }
    Ok(())
}

/// An in-memory, read-only connection holding a copy of `data`, and the
/// reason to report when the file is truncated (the pages present are read).
fn open(data: &[u8]) -> Result<(Connection, Option<String>), String> {
    let mut header = header_of(data)?;
    // The in-memory VFS cannot open a WAL: it is read as a rollback journal
    // database.
    let (len, truncated) = repair(&mut header, data.len())?;
    if len > MAX_LOAD {
        return Err(format!(
            "SQLite database too large to scan from memory ({len} bytes; SQLite loads at most \
             {MAX_LOAD})"
        ));
    }
    let mut conn = Connection::open_in_memory()
        .map_err(|e| format!("SQLite could not open an in-memory connection: {e}"))?;
    let bytes = Cursor::new(&header[..]).chain(&data[HEADER_LEN..len]);
    conn.deserialize_read_exact(MAIN_DB, bytes, len, true)
        .map_err(|e| format!("SQLite database could not be loaded: {e}"))?;
    harden(&conn)?;
    if truncated.is_some() {
        pass_over_missing_pages(&conn);
    }
    Ok((conn, truncated))
}

/// The header of a database whose first bytes are `head`; the reason it
/// cannot be read when there is none.
fn header_of(head: &[u8]) -> Result<[u8; HEADER_LEN], String> {
    if !is_sqlite(head) {
        return Err("not a SQLite 3 database (no `SQLite format 3` header)".to_string());
    }
    head.get(..HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| {
            format!(
                "truncated SQLite database ({} bytes, shorter than its 100-byte header)",
                head.len()
            )
        })
}

/// A table whose root page is missing makes the schema invalid;
/// `writable_schema` makes SQLite pass over it (the truncation is reported)
/// instead of refusing the whole database. It allows no write: the
/// database is read-only and the connection query-only.
fn pass_over_missing_pages(conn: &Connection) {
    let _ = conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, false);
    let _ = conn.execute_batch("PRAGMA writable_schema = 1;");
}

/// Gives `header` (of a file of `len` bytes) what SQLite needs to read the
/// file as a database of its own: the number of pages present (see
/// [`whole_pages`]) and, for a WAL database, the rollback journal mode (the
/// WAL is not read). Returns how many bytes to read (whole pages) and the
/// reason to report when that is fewer than the database had.
fn repair(header: &mut [u8; HEADER_LEN], len: usize) -> Result<(usize, Option<String>), String> {
    let found = whole_pages(header, len)?;
    // Header bytes 18 and 19: the write and read versions, 2 for WAL.
    for version in &mut header[18..20] {
        if *version == 2 {
            *version = 1;
        }
    }
    Ok(found)
}

/// A named temporary file for a copy of a database (SQLite opens a
/// database by its name): `$TMPDIR/.piscan-…`, mode 0600, removed when
/// dropped.
pub(crate) fn temporary_file() -> std::io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new().prefix(".piscan-").tempfile()
}

/// [`extract`] for a large database that [`readable_in_place`] refuses,
/// read from `reader` (from its first byte): copied to a temporary file
/// (`$TMPDIR/.piscan-…`, mode 0600), then read there by
/// [`extract_temporary`], so that memory does not grow with it (in memory,
/// it would be held twice: read, and copied into SQLite's). Without a
/// temporary file, it is read into memory as a small one is.
pub fn extract_copied(reader: &mut dyn Read, max_rows_per_table: Option<u64>, sink: &mut dyn Sink) {
    let mut temp = match temporary_file() {
        Ok(temp) => temp,
        Err(_) => {
            let mut data = Vec::new();
            return match reader.read_to_end(&mut data) {
                Ok(_) => extract(&data, max_rows_per_table, sink),
                Err(e) => sink.skip("", &format!("cannot read the database: {e}")),
            };
        }
    };
    // Flushed here: a write error in the last buffer would otherwise be
    // lost when the writer is dropped, and the copy taken for truncated.
    let mut out = std::io::BufWriter::new(temp.as_file_mut());
    let copied = std::io::copy(reader, &mut out).and_then(|_| out.flush());
    drop(out);
    match copied {
        Ok(_) => extract_temporary(temp.path(), max_rows_per_table, sink),
        Err(e) => sink.skip(
            "",
            &format!("cannot copy the database to a temporary file: {e}"),
        ),
    }
}

/// [`extract`] for a database in a temporary file of ours at `path`, which
/// is rewritten first: a database that [`readable_in_place`] refuses (a
/// truncated one, or one whose header has no valid page count) gets the
/// header the in-memory way gives it, its partial last page is cut off,
/// and it is then read where it is, so that memory does not grow with it.
/// Never call this on a file that is not a copy made for the scan.
pub fn extract_temporary(path: &Path, max_rows_per_table: Option<u64>, sink: &mut dyn Sink) {
    let open = || {
        let truncated = rewrite(path)?;
        let (conn, _) = open_file(path)?;
        if truncated.is_some() {
            pass_over_missing_pages(&conn);
        }
        Ok((conn, truncated))
    };
    extract_opened(open, max_rows_per_table, sink);
}

/// Rewrites the header of the database file at `path` with [`repair`] and
/// cuts it to whole pages; returns the truncation to report.
fn rewrite(path: &Path) -> Result<Option<String>, String> {
    use std::io::{Seek, SeekFrom};
    let failed = |e: std::io::Error| format!("cannot rewrite the temporary copy: {e}");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(failed)?;
    let len = file.metadata().map_err(failed)?.len();
    let mut head = Vec::with_capacity(HEADER_LEN);
    (&mut file)
        .take(HEADER_LEN as u64)
        .read_to_end(&mut head)
        .map_err(failed)?;
    let mut header = header_of(&head)?;
    let len = usize::try_from(len).map_err(|_| "SQLite database too large".to_string())?;
    let (keep, truncated) = repair(&mut header, len)?;
    file.seek(SeekFrom::Start(0)).map_err(failed)?;
    file.write_all(&header).map_err(failed)?;
    file.set_len(keep as u64).map_err(failed)?;
    Ok(truncated)
}

/// A read-only, immutable connection to the database file at `path`.
fn open_file(path: &Path) -> Result<(Connection, Option<String>), String> {
    let path = path
        .to_str()
        .ok_or("SQLite database path is not valid UTF-8")?;
    // A URI: `%`, `?` and `#` are escaped, the rest is the path.
    let mut uri = String::from("file:");
    for c in path.chars() {
        match c {
            '%' | '?' | '#' => {
                let _ = write!(uri, "%{:02X}", c as u32);
            }
            c => uri.push(c),
        }
    }
    uri.push_str("?mode=ro&immutable=1");
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&uri, flags).map_err(|e| open_failure(&e))?;
    harden(&conn)?;
    Ok((conn, None))
}

/// Functions with side effects are never run from the schema; the
/// database is read-only and the connection query-only; temporary b-trees
/// (sorting) stay in memory. Failures of the first two change nothing
/// about what is read.
fn harden(conn: &Connection) -> Result<(), String> {
    let _ = conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false);
    let _ = conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true);
    conn.execute_batch(
        "PRAGMA query_only = 1; PRAGMA temp_store = MEMORY; PRAGMA cell_size_check = 1;",
    )
    .map_err(|e| format!("SQLite database could not be set up read-only: {e}"))
}

/// How many bytes of a file of `len` bytes with `header` to load (whole
/// pages), and the reason to report when that is fewer than the header says
/// the database has or the file ends inside a page. The page count in
/// `header` is lowered to the pages present: SQLite then reads those, and
/// reports the tables that need a missing page as corrupt, instead of
/// refusing the whole database.
fn whole_pages(
    header: &mut [u8; HEADER_LEN],
    len: usize,
) -> Result<(usize, Option<String>), String> {
    let raw = u16::from_be_bytes([header[16], header[17]]);
    let page = if raw == 1 { 65536 } else { usize::from(raw) };
    if !(512..=65536).contains(&page) || !page.is_power_of_two() {
        // Not a valid header: SQLite says what is wrong.
        return Ok((len, None));
    }
    let whole = len / page;
    if whole == 0 {
        return Err(format!(
            "truncated SQLite database ({len} bytes, shorter than its first {page}-byte page)"
        ));
    }
    // The page count in the header is valid when the change counter matches
    // the "version-valid-for" number.
    let pages = u32::from_be_bytes([header[28], header[29], header[30], header[31]]) as usize;
    let valid = pages != 0 && header[24..28] == header[92..96];
    let reason = if valid {
        if whole >= pages {
            // Bytes after the database's last page are not read by SQLite.
            return Ok((pages * page, None));
        }
        // `whole < pages`, which came from a u32.
        let present = u32::try_from(whole).unwrap_or(u32::MAX);
        header[28..32].copy_from_slice(&present.to_be_bytes());
        Some(format!(
            "truncated SQLite database ({len} of {} bytes, {whole} of {pages} pages): \
             only the pages present were scanned",
            pages.saturating_mul(page)
        ))
    } else if !len.is_multiple_of(page) {
        Some(format!(
            "truncated SQLite database ({len} bytes, not a whole number of {page}-byte pages): \
             the last, partial page was not read"
        ))
    } else {
        None
    };
    Ok((whole * page, reason))
}

/// The reason a database cannot be read at all.
fn open_failure(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => {
            format!("not a readable SQLite database (encrypted, or not SQLite): {e}")
        }
        Some(ErrorCode::DatabaseCorrupt) => {
            format!("corrupt or truncated SQLite database: {e}")
        }
        _ => format!("SQLite database could not be read: {e}"),
    }
}

/// The tables to read, sorted by name, and the (lossy) names of tables whose
/// name is not valid UTF-8.
fn list_tables(conn: &Connection) -> rusqlite::Result<(Vec<Table>, Vec<String>)> {
    let mut stmt = conn.prepare("PRAGMA main.table_list")?;
    let mut rows = stmt.query([])?;
    let mut tables = Vec::new();
    let mut bad = Vec::new();
    // Columns: schema, name, type, ncol, wr, strict.
    while let Some(row) = rows.next()? {
        let kind = match row.get_ref(2)? {
            ValueRef::Text(b"table") => Kind::Table,
            ValueRef::Text(b"virtual") => Kind::Virtual,
            ValueRef::Text(b"shadow") => Kind::Shadow,
            _ => continue, // views
        };
        let ValueRef::Text(name) = row.get_ref(1)? else {
            continue;
        };
        if name.len() >= 7 && name[..7].eq_ignore_ascii_case(b"sqlite_") {
            continue;
        }
        let without_rowid = matches!(row.get_ref(4)?, ValueRef::Integer(n) if n != 0);
        match std::str::from_utf8(name) {
            Ok(name) => tables.push(Table {
                name: name.to_string(),
                kind,
                without_rowid,
            }),
            Err(_) => bad.push(String::from_utf8_lossy(name).into_owned()),
        }
    }
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    bad.sort();
    Ok((tables, bad))
}

/// `name` as an SQL identifier: in double quotes, inner quotes doubled.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A column as `PRAGMA table_xinfo` describes it.
struct ColumnInfo {
    /// The name, if it is valid UTF-8.
    name: Result<String, String>,
    /// 0 ordinary, 1 hidden (virtual table), 2 virtual generated, 3 stored
    /// generated.
    hidden: i64,
}

/// The columns of `table`, in table order.
fn table_columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<ColumnInfo>> {
    let mut stmt = conn.prepare("SELECT name, hidden FROM pragma_table_xinfo(?1, 'main')")?;
    let mut rows = stmt.query([table])?;
    let mut columns = Vec::new();
    while let Some(row) = rows.next()? {
        let name = match row.get_ref(0)? {
            ValueRef::Text(b) => match std::str::from_utf8(b) {
                Ok(s) => Ok(s.to_string()),
                Err(_) => Err(String::from_utf8_lossy(b).into_owned()),
            },
            _ => continue,
        };
        let hidden = match row.get_ref(1)? {
            ValueRef::Integer(n) => n,
            _ => 0,
        };
        columns.push(ColumnInfo { name, hidden });
    }
    Ok(columns)
}

/// The reason a table cannot be read.
fn table_failure(e: &rusqlite::Error) -> String {
    format!("table not readable: {e}")
}

/// Values longer than this are not loaded by the query reading a table
/// (SQLite would hold the whole value, up to 1 GB): the connection's
/// length limit makes that query stop at the row holding one
/// (`SQLITE_TOOBIG`), and that row is read again by a query that gives an
/// empty BLOB in place of a long TEXT value (and leaves out a long BLOB),
/// which [`read_long`] then reads in pieces. The other rows are read by the
/// plain query, so the check costs nothing where no value is that long.
///
/// A table without rowids (`WITHOUT ROWID`, virtual) cannot be read in
/// pieces: its row is found again by its position (`OFFSET`, which passes
/// over rows without loading their values), read with the long value
/// left out and listed as skipped, and the rows after it are read on. A
/// virtual table that loads the values of the rows it passes over (FTS5)
/// is reported as not readable past that row; its shadow tables, which
/// have rowids, are then read instead.
const LONG_VALUE: u64 = 16 << 20;

/// Bytes of a long value read and sent at a time (about: pieces end at a
/// line break or a space where there is one).
const LONG_PIECE: usize = 4 << 20;

/// How a table is read.
struct Query {
    /// The table's quoted name.
    from: String,
    /// The names of the columns read, in the order they are selected.
    fields: Vec<String>,
    /// The name its rowid goes by (the first of `rowid`, `_rowid_`, `oid`
    /// that is not a column's), for a table that has one.
    rowid: Option<&'static str>,
}

/// One query over a table's rows: those after the rowid `after` (all rows
/// for `None`), or for a table without rowids those after the first
/// `skip`, at most `limit` of them, their columns as they are or
/// (`guarded`, for the row holding a long value) with long values replaced
/// as [`LONG_VALUE`] says.
#[derive(Clone, Copy)]
struct Pass {
    after: Option<i64>,
    skip: u64,
    limit: Option<u64>,
    guarded: bool,
}

impl Query {
    /// The SQL of `pass`: the rowid first, if any, then the columns.
    fn sql(
        &self,
        Pass {
            after,
            skip,
            limit,
            guarded,
        }: Pass,
    ) -> String {
        let mut sql = String::from("SELECT ");
        if let Some(alias) = self.rowid {
            sql.push_str(alias);
            sql.push_str(", ");
        }
        for (i, field) in self.fields.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let field = quote(field);
            if guarded {
                // `typeof` and `octet_length` do not load the value.
                let _ = write!(
                    sql,
                    "CASE WHEN octet_length({field}) <= {LONG_VALUE} THEN {field} \
                     WHEN typeof({field}) = 'text' THEN x'' END"
                );
            } else {
                sql.push_str(&field);
            }
        }
        sql.push_str(" FROM main.");
        sql.push_str(&self.from);
        if let Some(alias) = self.rowid {
            if let Some(after) = after {
                let _ = write!(sql, " WHERE {alias} > {after}");
            }
            sql.push_str(" ORDER BY ");
            sql.push_str(alias);
        }
        let limit = limit.map_or(-1, |n| n.min(i64::MAX as u64) as i64);
        let skip = if self.rowid.is_none() { skip } else { 0 };
        if limit >= 0 || skip > 0 {
            let _ = write!(sql, " LIMIT {limit}");
        }
        if skip > 0 {
            let _ = write!(sql, " OFFSET {}", skip.min(i64::MAX as u64));
        }
        sql
    }
}

/// How to read `table`.
fn table_query(conn: &Connection, table: &Table) -> Result<Query, String> {
    let info = table_columns(conn, &table.name).map_err(|e| table_failure(&e))?;
    let mut fields = Vec::new();
    for column in info.iter().filter(|c| c.hidden == 0 || c.hidden == 3) {
        match &column.name {
            Ok(name) => fields.push(name.clone()),
            Err(lossy) => {
                return Err(format!(
                    "column name {lossy:?} is not valid UTF-8 (table not scanned)"
                ))
            }
        }
    }
    let from = quote(&table.name);
    if fields.is_empty() {
        // No column information: a virtual table whose module is missing
        // says so when it is queried.
        let sql = format!("SELECT * FROM main.{from}");
        return Err(match conn.prepare(&sql) {
            Err(e) => table_failure(&e),
            Ok(_) => "table has no readable columns".to_string(),
        });
    }
    let taken = |alias: &str| {
        info.iter().any(|c| match &c.name {
            Ok(name) => name.eq_ignore_ascii_case(alias),
            Err(_) => false,
        })
    };
    let rowid = (table.kind != Kind::Virtual && !table.without_rowid)
        .then(|| ["rowid", "_rowid_", "oid"].into_iter().find(|a| !taken(a)))
        .flatten();
    Ok(Query {
        from,
        fields,
        rowid,
    })
}

/// Why reading rows stopped early.
enum Stop {
    /// The row after the rowid `after` (the first row for `None`) holds a
    /// value longer than [`LONG_VALUE`].
    Long { after: Option<i64> },
    /// The table, or its rest, could not be read.
    Failed(String),
}

/// Reads the rows of `table` into the sink. `Err` is the reason the table,
/// or its rest, could not be read.
fn read_table(
    conn: &Connection,
    table: &Table,
    max_rows: Option<u64>,
    sink: &mut Guarded<'_>,
) -> Result<(), String> {
    let query = table_query(conn, table)?;
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, LONG_VALUE as i32)
        .map_err(|e| table_failure(&e))?;
    let mut ordinal = 0u64;
    let mut after = None;
    loop {
        let limit = max_rows.map(|n| n - ordinal);
        let pass = Pass {
            after,
            skip: ordinal,
            limit,
            guarded: false,
        };
        match read_rows(conn, table, &query, pass, &mut ordinal, sink) {
            Ok(_) => return Ok(()),
            Err(Stop::Failed(reason)) => return Err(reason),
            Err(Stop::Long { after: before }) => {
                let before_ordinal = ordinal;
                let pass = Pass {
                    after: before,
                    skip: ordinal,
                    limit: Some(1),
                    guarded: true,
                };
                match read_rows(conn, table, &query, pass, &mut ordinal, sink) {
                    Ok(last) => after = last,
                    Err(Stop::Long { .. }) => {
                        return Err(format!(
                            "table not readable after row {ordinal}: a value over {} MiB",
                            LONG_VALUE >> 20
                        ))
                    }
                    Err(Stop::Failed(reason)) => return Err(reason),
                }
                // No row read alone: the table changed under the reader.
                if ordinal == before_ordinal || max_rows.is_some_and(|n| ordinal >= n) {
                    return Ok(());
                }
            }
        }
    }
}

/// Reads the rows of `pass` into the sink, numbering them on from
/// `ordinal`. Returns the last rowid read (`pass.after` when there was no
/// row).
fn read_rows(
    conn: &Connection,
    table: &Table,
    query: &Query,
    pass: Pass,
    ordinal: &mut u64,
    sink: &mut Guarded<'_>,
) -> Result<Option<i64>, Stop> {
    let failed = |e: &rusqlite::Error, ordinal: u64| {
        Stop::Failed(if ordinal == 0 {
            table_failure(e)
        } else {
            format!("table not readable after row {ordinal}: {e}")
        })
    };
    let mut stmt = conn.prepare(&query.sql(pass)).map_err(|e| failed(&e, 0))?;
    let mut rows = stmt.query([]).map_err(|e| failed(&e, *ordinal))?;
    let first = usize::from(query.rowid.is_some());
    let mut number = String::new();
    let mut last = pass.after;
    loop {
        let row = match rows.next() {
            Ok(Some(row)) => row,
            Ok(None) => return Ok(last),
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::TooBig) => {
                return Err(Stop::Long { after: last })
            }
            Err(e) => return Err(failed(&e, *ordinal)),
        };
        *ordinal += 1;
        if first == 1 {
            last = Some(row.get(0).map_err(|e| failed(&e, 0))?);
        }
        for (i, field) in query.fields.iter().enumerate() {
            let place = Place {
                table: Some(&table.name),
                row: Some(*ordinal),
                field: Some(field),
                ..Place::default()
            };
            let value = row.get_ref(first + i).map_err(|e| failed(&e, 0))?;
            let text: Cow<'_, [u8]> = match value {
                // The guarded query gives these for long TEXT values; an
                // empty BLOB read this way sends nothing.
                ValueRef::Blob([]) if pass.guarded => {
                    let read = match last {
                        Some(rowid) => read_long(conn, table, field, rowid, place, sink),
                        None => Err(format!(
                            "value over {} MiB not read: a table without rowids \
                             cannot be read in pieces",
                            LONG_VALUE >> 20
                        )),
                    };
                    if let Err(reason) = read {
                        let what = format!("{}, row {ordinal}, {field}", table.name);
                        sink.skip(&what, &reason);
                    }
                    continue;
                }
                ValueRef::Null | ValueRef::Blob(_) => continue,
                ValueRef::Integer(n) => {
                    number.clear();
                    let _ = write!(number, "{n}");
                    Cow::Borrowed(number.as_bytes())
                }
                ValueRef::Real(x) => {
                    if !x.is_finite() {
                        continue;
                    }
                    number.clear();
                    // `-0.0` would print as `-0`.
                    let _ = write!(number, "{}", if x == 0.0 { 0.0 } else { x });
                    Cow::Borrowed(number.as_bytes())
                }
                ValueRef::Text(bytes) => {
                    if bytes.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    decode(bytes)
                }
            };
            sink.unit(&Unit { text: &text, place });
        }
    }
}

/// Reads a TEXT value longer than [`LONG_VALUE`] (or an empty BLOB) from
/// the column `field` of the row `rowid`, through SQLite's incremental
/// BLOB I/O, and sends it as units of about [`LONG_PIECE`] bytes at
/// `place`, so that it is never held whole. `Err` is why it could not be
/// read (after the pieces before).
fn read_long(
    conn: &Connection,
    table: &Table,
    field: &str,
    rowid: i64,
    place: Place<'_>,
    sink: &mut Guarded<'_>,
) -> Result<(), String> {
    let failure = |e: &dyn std::fmt::Display| format!("long value not readable: {e}");
    let blob = conn
        .blob_open(MAIN_DB, table.name.as_str(), field, rowid, true)
        .map_err(|e| failure(&e))?;
    let encoding: String = conn
        .pragma_query_value(None, "encoding", |row| row.get(0))
        .map_err(|e| failure(&e))?;
    let mut raw: Box<dyn Read> = match encoding.as_str() {
        "UTF-16le" => Box::new(Utf16Reader::new(blob, UTF_16LE)),
        "UTF-16be" => Box::new(Utf16Reader::new(blob, UTF_16BE)),
        _ => Box::new(blob),
    };
    let mut chunks = LineChunks::new(&mut raw, LONG_PIECE, LONG_PIECE).map_err(|e| failure(&e))?;
    let mut text = Vec::new();
    while chunks.next(&mut text).map_err(|e| failure(&e))?.is_some() {
        if !text.iter().all(u8::is_ascii_whitespace) {
            sink.unit(&Unit { text: &text, place });
        }
        text.clear();
    }
    Ok(())
}

/// A TEXT value as UTF-8: borrowed when valid, else GB18030 when it decodes
/// cleanly, else lossy.
fn decode(bytes: &[u8]) -> Cow<'_, [u8]> {
    if std::str::from_utf8(bytes).is_ok() {
        return Cow::Borrowed(bytes);
    }
    if let Some(text) = GB18030.decode_without_bom_handling_and_without_replacement(bytes) {
        return Cow::Owned(text.into_owned().into_bytes());
    }
    Cow::Owned(String::from_utf8_lossy(bytes).into_owned().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::testing::{Recorded, Recorder};
    use crate::synth::{self, Rng};
    use rusqlite::params;

    /// The bytes of an in-memory database built by `setup`.
    fn database(setup: impl FnOnce(&Connection)) -> Vec<u8> {
        let conn = Connection::open_in_memory().unwrap();
        setup(&conn);
        let data = conn.serialize(MAIN_DB).unwrap();
        data.to_vec()
    }

    fn run(data: &[u8], max_rows: Option<u64>) -> Recorder {
        let mut rec = Recorder::default();
        extract(data, max_rows, &mut rec);
        assert_eq!(rec.encodings, vec![ENCODING]);
        rec
    }

    /// `(table, row, field, text)` of every unit.
    fn cells(rec: &Recorder) -> Vec<(String, u64, String, String)> {
        rec.units
            .iter()
            .map(|u| {
                assert_eq!(u.line, None);
                assert_eq!(u.member, None);
                (
                    u.table.clone().unwrap(),
                    u.row.unwrap(),
                    u.field.clone().unwrap(),
                    u.text.clone(),
                )
            })
            .collect()
    }

    fn cell(table: &str, row: u64, field: &str, text: &str) -> (String, u64, String, String) {
        (table.into(), row, field.into(), text.into())
    }

    /// Synthetic people: (name, resident id, mobile).
    fn people(n: usize) -> Vec<(String, String, i64)> {
        let mut rng = Rng::new(1);
        (0..n)
            .map(|i| {
                let id = synth::resident_id(&mut rng);
                let mobile = synth::mobile(&mut rng).parse().unwrap();
                (format!("张{i}"), id, mobile)
            })
            .collect()
    }

    /// A `users` table with three people inserted out of id order, one row
    /// of NULLs, and a table whose name has a space and a quote; also a view
    /// and `sqlite_sequence` (AUTOINCREMENT), which are not read.
    fn users_db() -> (Vec<u8>, Vec<(String, String, i64)>) {
        let people = people(3);
        let data = database(|conn| {
            conn.execute_batch(
                "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, \
                 id_no TEXT, phone INTEGER, avatar BLOB);
                 CREATE TABLE \"odd \"\"name\"\"\" (\"col \"\"q\"\"\" TEXT, n REAL);
                 CREATE VIEW v AS SELECT name FROM users;",
            )
            .unwrap();
            for (id, p) in [(3, &people[2]), (1, &people[0]), (2, &people[1])] {
                conn.execute(
                    "INSERT INTO users VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, p.0, p.1, p.2, vec![0x89u8, b'P', b'N', b'G']],
                )
                .unwrap();
            }
            conn.execute("INSERT INTO users VALUES (4, NULL, NULL, NULL, NULL)", [])
                .unwrap();
            conn.execute_batch(
                "INSERT INTO \"odd \"\"name\"\"\" VALUES ('a', 13812345678.0), ('  ', 0.5), \
                 (NULL, -0.0), ('', 1e20);",
            )
            .unwrap();
        });
        (data, people)
    }

    #[test]
    fn magic() {
        assert!(is_sqlite(b"SQLite format 3\0\x10\x00"));
        assert!(!is_sqlite(b"SQLite format 3"));
        assert!(!is_sqlite(b"SQLite format 2\0"));
        assert!(!is_sqlite(b""));
        let (data, _) = users_db();
        assert!(is_sqlite(&data));
    }

    #[test]
    fn tables_rows_and_fields() {
        let (data, p) = users_db();
        let rec = run(&data, None);
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        let odd = "odd \"name\"";
        let q = "col \"q\"";
        let u = "users";
        assert_eq!(
            cells(&rec),
            vec![
                // Tables in name order; blank text, NULL and BLOB skipped.
                cell(odd, 1, q, "a"),
                cell(odd, 1, "n", "13812345678"),
                cell(odd, 2, "n", "0.5"),
                cell(odd, 3, "n", "0"),
                cell(odd, 4, "n", "100000000000000000000"),
                // Rows in rowid order, whatever the insertion order.
                cell(u, 1, "id", "1"),
                cell(u, 1, "name", &p[0].0),
                cell(u, 1, "id_no", &p[0].1),
                cell(u, 1, "phone", &p[0].2.to_string()),
                cell(u, 2, "id", "2"),
                cell(u, 2, "name", &p[1].0),
                cell(u, 2, "id_no", &p[1].1),
                cell(u, 2, "phone", &p[1].2.to_string()),
                cell(u, 3, "id", "3"),
                cell(u, 3, "name", &p[2].0),
                cell(u, 3, "id_no", &p[2].1),
                cell(u, 3, "phone", &p[2].2.to_string()),
                // A row of NULLs still counts.
                cell(u, 4, "id", "4"),
            ]
        );
        let phone = &rec.units[8];
        assert_eq!(phone.text.len(), 11);
        assert!(phone.text.bytes().all(|b| b.is_ascii_digit()));
        assert!(rec
            .units
            .iter()
            .all(|u| u.field.as_deref() != Some("avatar")));
    }

    #[test]
    fn max_rows_per_table() {
        let (data, p) = users_db();
        let rec = run(&data, Some(1));
        assert!(rec.units.iter().all(|u| u.row == Some(1)));
        let users: Vec<&Recorded> = rec
            .units
            .iter()
            .filter(|u| u.table.as_deref() == Some("users"))
            .collect();
        assert_eq!(users.len(), 4);
        assert_eq!(users[2].text, p[0].1);
        assert_eq!(rec.units.len(), 6);
        assert!(run(&data, Some(0)).units.is_empty());
        assert_eq!(run(&data, Some(u64::MAX)).units.len(), 18);
    }

    #[test]
    fn without_rowid_and_rowid_column() {
        let data = database(|conn| {
            conn.execute_batch(
                "CREATE TABLE w (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
                 INSERT INTO w VALUES ('b', 'second'), ('a', 'first');
                 CREATE TABLE r (rowid TEXT, v TEXT);
                 INSERT INTO r VALUES ('z', 'one'), ('y', 'two');",
            )
            .unwrap();
        });
        let rec = run(&data, None);
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(
            cells(&rec),
            vec![
                cell("r", 1, "rowid", "z"),
                cell("r", 1, "v", "one"),
                cell("r", 2, "rowid", "y"),
                cell("r", 2, "v", "two"),
                cell("w", 1, "k", "a"),
                cell("w", 1, "v", "first"),
                cell("w", 2, "k", "b"),
                cell("w", 2, "v", "second"),
            ]
        );
    }

    #[test]
    fn generated_columns() {
        let data = database(|conn| {
            conn.execute_batch(
                "CREATE TABLE g (a TEXT, \
                 v TEXT GENERATED ALWAYS AS (a || 'v') VIRTUAL, \
                 s TEXT GENERATED ALWAYS AS (a || 's') STORED);
                 INSERT INTO g (a) VALUES ('x');",
            )
            .unwrap();
        });
        let rec = run(&data, None);
        assert_eq!(
            cells(&rec),
            vec![cell("g", 1, "a", "x"), cell("g", 1, "s", "xs")]
        );
    }

    #[test]
    fn text_encodings() {
        let (gbk, _, _) = GB18030.encode("身份证号");
        let hex: String = gbk.iter().map(|b| format!("{b:02X}")).collect();
        let data = database(|conn| {
            conn.execute_batch(&format!(
                "CREATE TABLE t (v TEXT);
                 INSERT INTO t VALUES (CAST(X'{hex}' AS TEXT));
                 INSERT INTO t VALUES (CAST(X'31FF32' AS TEXT));"
            ))
            .unwrap();
        });
        let rec = run(&data, None);
        assert_eq!(
            cells(&rec),
            vec![
                cell("t", 1, "v", "身份证号"),
                cell("t", 2, "v", "1\u{FFFD}2")
            ]
        );
    }

    #[test]
    fn utf16_database() {
        let data = database(|conn| {
            conn.execute_batch(
                "PRAGMA encoding = 'UTF-16le';
                 CREATE TABLE 客户 (姓名 TEXT);
                 INSERT INTO 客户 VALUES ('李四');",
            )
            .unwrap();
        });
        assert_eq!(
            cells(&run(&data, None)),
            vec![cell("客户", 1, "姓名", "李四")]
        );
    }

    /// Text just over [`LONG_VALUE`] bytes, of lines holding `word`.
    fn long_text(word: &str) -> String {
        let line = format!("备注 {word} lorem ipsum\n");
        line.repeat(LONG_VALUE as usize / line.len() + 2)
    }

    /// Reads a database made by `schema`, then `insert` with a
    /// [`long_text`] of `word` as `?1`: that text, and what was read.
    fn read_with_long(word: &str, schema: &str, insert: &str) -> (String, Recorder) {
        let long = long_text(word);
        let data = database(|conn| {
            conn.execute_batch(schema).unwrap();
            conn.execute(insert, [&long]).unwrap();
        });
        (long, run(&data, None))
    }

    /// The units at `row` of `table`, joined, and how many there were.
    fn joined(rec: &Recorder, table: &str, row: u64) -> (String, usize) {
        let pieces: Vec<_> = cells(rec)
            .into_iter()
            .filter(|c| c.0 == table && c.1 == row)
            .collect();
        for piece in &pieces {
            assert!(
                piece.3.len() <= 2 * LONG_PIECE,
                "a piece of {}",
                piece.3.len()
            );
        }
        let text = pieces.iter().map(|c| c.3.as_str()).collect();
        (text, pieces.len())
    }

    #[test]
    fn long_values_are_read_in_pieces() {
        let (long, first) = (long_text("13812345678"), long_text("first"));
        let blob = vec![b'7'; LONG_VALUE as usize + 1];
        let data = database(|conn| {
            conn.execute_batch(
                "CREATE TABLE t (id INTEGER PRIMARY KEY, note, data BLOB);
                 CREATE TABLE u (note TEXT);
                 CREATE TABLE w (k TEXT PRIMARY KEY, note TEXT) WITHOUT ROWID;",
            )
            .unwrap();
            let rows: [(i64, &str, &[u8]); 5] = [
                (10, "a", b""),
                (20, &long, b"b"),
                (30, "c", &blob),
                (40, "d", b""),
                (50, "e", b"f"),
            ];
            for (id, note, data) in rows {
                conn.execute("INSERT INTO t VALUES (?1, ?2, ?3)", params![id, note, data])
                    .unwrap();
            }
            conn.execute("INSERT INTO u VALUES (?1), ('after')", [&first])
                .unwrap();
            conn.execute(
                "INSERT INTO w VALUES ('a', 'x'), ('k', ?1), ('z', 'after')",
                [&long],
            )
            .unwrap();
        });
        let rec = run(&data, None);
        // The long value of the table without rowids is left out, said so.
        let expected =
            "value over 16 MiB not read: a table without rowids cannot be read in pieces";
        assert_eq!(
            rec.skips,
            vec![("w, row 2, note".to_string(), expected.to_string())]
        );
        // The long value in pieces of its own row, the rows around it
        // whole, with their ordinals; the long BLOB and the empty ones
        // send nothing.
        assert_eq!(joined(&rec, "t", 2).0, format!("20{long}"));
        assert!(joined(&rec, "t", 2).1 >= 4);
        let short: Vec<_> = cells(&rec)
            .into_iter()
            .filter(|c| c.0 == "t" && c.1 != 2)
            .collect();
        let expected = [(1, "id", "10"), (1, "note", "a"), (3, "id", "30")];
        let mut expected: Vec<_> = expected
            .into_iter()
            .chain([(3, "note", "c"), (4, "id", "40"), (4, "note", "d")])
            .chain([(5, "id", "50"), (5, "note", "e"), (5, "data", "f")])
            .map(|(row, field, text)| cell("t", row, field, text))
            .collect();
        // `data` of row 5 is a BLOB: not sent.
        expected.pop();
        assert_eq!(short, expected);
        // A long value in the first row; in a table without rowids, its
        // row without it and the rows around it.
        assert_eq!(joined(&rec, "u", 1).0, first);
        let w: Vec<_> = cells(&rec).into_iter().filter(|c| c.0 == "w").collect();
        let expected = [(1, "k", "a"), (1, "note", "x"), (2, "k", "k")]
            .into_iter()
            .chain([(3, "k", "z"), (3, "note", "after")])
            .map(|(row, field, text)| cell("w", row, field, text));
        assert_eq!(w, expected.collect::<Vec<_>>());
        assert_eq!(
            cells(&rec)
                .iter()
                .filter(|c| c.0 == "u" && c.1 == 2)
                .count(),
            1
        );
        // The row limit counts the row read alone.
        let rec = run(&data, Some(3));
        let rows: Vec<_> = cells(&rec)
            .iter()
            .filter(|c| c.0 == "t")
            .map(|c| c.1)
            .collect();
        assert_eq!(rows.iter().max(), Some(&3));
        assert_eq!(joined(&rec, "u", 1).0, first);
    }

    /// FTS5 loads the values of the rows it passes over: the virtual table
    /// is not read past a long value, and its content table (with rowids)
    /// is read instead, the long value in pieces.
    #[test]
    fn a_long_value_in_a_virtual_table() {
        let (long, rec) = read_with_long(
            "13812345678",
            "CREATE VIRTUAL TABLE f USING fts5(body);",
            "INSERT INTO f VALUES ('x'), (?1), ('y')",
        );
        let reason = "table not readable after row 1: a value over 16 MiB";
        assert_eq!(rec.skips, vec![("f".to_string(), reason.to_string())]);
        assert!(cells(&rec).contains(&cell("f", 1, "body", "x")));
        let content = |row| {
            let (text, pieces) = joined(&rec, "f_content", row);
            (
                text.strip_prefix(&row.to_string()).map(str::to_string),
                pieces,
            )
        };
        let (text, pieces) = content(2);
        assert!(text.as_deref() == Some(long.as_str()) && pieces >= 4);
        assert_eq!(content(3), (Some("y".to_string()), 2));
    }

    #[test]
    fn long_values_of_a_utf16_database() {
        let (long, rec) = read_with_long(
            "李四",
            "PRAGMA encoding = 'UTF-16be'; CREATE TABLE t (note TEXT);",
            "INSERT INTO t VALUES (?1), ('b')",
        );
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        let (text, pieces) = joined(&rec, "t", 1);
        assert!(text == long && pieces >= 4);
        assert_eq!(cells(&rec).last().unwrap(), &cell("t", 2, "note", "b"));
    }

    #[test]
    fn fts_shadow_tables_are_not_read_twice() {
        let data = database(|conn| {
            conn.execute_batch(
                "CREATE VIRTUAL TABLE docs USING fts5(title, body);
                 INSERT INTO docs VALUES ('note', 'call 13812345678');
                 CREATE VIRTUAL TABLE old USING fts4(body);
                 INSERT INTO old VALUES ('fts4 text');",
            )
            .unwrap();
        });
        let rec = run(&data, None);
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(
            cells(&rec),
            vec![
                cell("docs", 1, "title", "note"),
                cell("docs", 1, "body", "call 13812345678"),
                cell("old", 1, "body", "fts4 text"),
            ]
        );
    }

    #[test]
    fn unreadable_table_is_skipped_and_others_read() {
        let data = database(|conn| {
            conn.execute_batch(
                "CREATE TABLE a (v TEXT); INSERT INTO a VALUES ('before');
                 CREATE TABLE c (v TEXT); INSERT INTO c VALUES ('after');
                 PRAGMA writable_schema = ON;
                 INSERT INTO sqlite_schema VALUES ('table', 'b', 'b', 0, \
                   'CREATE VIRTUAL TABLE b USING nosuchmodule(x)');
                 PRAGMA writable_schema = OFF;",
            )
            .unwrap();
        });
        let rec = run(&data, None);
        assert_eq!(
            cells(&rec),
            vec![cell("a", 1, "v", "before"), cell("c", 1, "v", "after")]
        );
        assert_eq!(rec.skips.len(), 1, "{:?}", rec.skips);
        assert_eq!(rec.skips[0].0, "b");
        assert!(rec.skips[0].1.contains("nosuchmodule"), "{:?}", rec.skips);
    }

    /// `text` with `\xff` as one byte 0xFF, as an SQL blob literal cast to TEXT.
    fn invalid_text(text: &str) -> String {
        let hex: String = text
            .split("\\xff")
            .map(|part| part.bytes().map(|b| format!("{b:02X}")).collect::<String>())
            .collect::<Vec<_>>()
            .join("FF");
        format!("CAST(X'{hex}' AS TEXT)")
    }

    #[test]
    fn names_not_utf8_are_skipped() {
        let data = database(|conn| {
            conn.execute_batch(&format!(
                "CREATE TABLE a (v TEXT); INSERT INTO a VALUES ('ok');
                 CREATE TABLE c (v TEXT); INSERT INTO c VALUES ('col');
                 CREATE TABLE u (v TEXT); INSERT INTO u VALUES ('tab');
                 PRAGMA writable_schema = ON;
                 UPDATE sqlite_schema SET sql = {} WHERE name = 'c';
                 UPDATE sqlite_schema SET name = {n}, tbl_name = {n}, sql = {} \
                   WHERE name = 'u';
                 PRAGMA writable_schema = OFF;",
                invalid_text("CREATE TABLE c (\"\\xff\" TEXT)"),
                invalid_text("CREATE TABLE \"u\\xff\" (v TEXT)"),
                n = invalid_text("u\\xff"),
            ))
            .unwrap();
        });
        let rec = run(&data, None);
        assert_eq!(cells(&rec), vec![cell("a", 1, "v", "ok")]);
        assert_eq!(rec.skips.len(), 2, "{:?}", rec.skips);
        assert_eq!(rec.skips[0].0, "u\u{FFFD}");
        assert!(
            rec.skips[0].1.contains("not valid UTF-8"),
            "{:?}",
            rec.skips
        );
        assert_eq!(rec.skips[1].0, "c");
        assert!(
            rec.skips[1].1.contains("not valid UTF-8"),
            "{:?}",
            rec.skips
        );
    }

    #[test]
    #[should_panic(expected = "sink bug")]
    fn sink_panics_are_not_hidden() {
        let (data, _) = users_db();
        extract(&data, None, &mut crate::extract::testing::PanickingSink);
    }

    #[test]
    fn wal_database_main_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let people = people(2);
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE t (id_no TEXT)").unwrap();
        conn.execute("INSERT INTO t VALUES (?1)", [&people[0].1])
            .unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
        // Only in the -wal file: not in the main file's bytes.
        conn.execute("INSERT INTO t VALUES (?1)", [&people[1].1])
            .unwrap();
        let data = std::fs::read(&path).unwrap();
        assert_eq!(&data[18..20], &[2, 2]);
        let rec = run(&data, None);
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(cells(&rec), vec![cell("t", 1, "id_no", &people[0].1)]);
        // In place, while the writer still holds the -wal and -shm files:
        // the same, and those files are left as they are.
        assert!(readable_in_place(&data, data.len() as u64));
        let beside = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
        let (wal, shm) = (beside("wal.db-wal"), beside("wal.db-shm"));
        let mut rec = Recorder::default();
        extract_file(&path, None, &mut rec);
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(cells(&rec), vec![cell("t", 1, "id_no", &people[0].1)]);
        assert_eq!((beside("wal.db-wal"), beside("wal.db-shm")), (wal, shm));
        assert_eq!(std::fs::read(&path).unwrap(), data);
        drop(conn);
    }

    /// A database of several pages: two tables `a` and `b` of synthetic
    /// people (resident id, mobile), and the people.
    fn big_db() -> (Vec<u8>, Vec<(String, String, i64)>) {
        let people = people(300);
        let data = database(|conn| {
            conn.execute_batch("CREATE TABLE a (id_no TEXT, phone INTEGER)")
                .unwrap();
            for p in &people {
                conn.execute("INSERT INTO a VALUES (?1, ?2)", params![p.1, p.2])
                    .unwrap();
            }
            conn.execute_batch("CREATE TABLE b AS SELECT * FROM a")
                .unwrap();
        });
        (data, people)
    }

    /// A database read in place gives the units its bytes give, and the
    /// directory it sits in is as it was: no journal, WAL or shared-memory
    /// file, the file's bytes unchanged.
    #[test]
    fn a_database_read_in_place_is_read_as_its_bytes() {
        let (data, _) = big_db();
        let dir = tempfile::tempdir().unwrap();
        // A name that needs escaping in a URI.
        let path = dir.path().join("shop #1 ?100%.db");
        std::fs::write(&path, &data).unwrap();
        assert!(readable_in_place(&data, data.len() as u64));
        let mut rec = Recorder::default();
        extract_file(&path, None, &mut rec);
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(cells(&rec), cells(&run(&data, None)));
        assert_eq!(cells(&rec).len(), 1200);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [path.file_name().unwrap()]);
        assert_eq!(std::fs::read(&path).unwrap(), data);
        // With a row limit too.
        let mut rec = Recorder::default();
        extract_file(&path, Some(2), &mut rec);
        assert_eq!(cells(&rec), cells(&run(&data, Some(2))));
    }

    /// Only a database whose header is consistent is read in place: as
    /// many whole pages as it counts.
    #[test]
    fn what_is_readable_in_place() {
        let (data, _) = big_db();
        let len = data.len() as u64;
        assert!(readable_in_place(&data, len));
        assert!(!readable_in_place(&data, len - 1), "a partial last page");
        assert!(!readable_in_place(&data, len - 4096), "a page missing");
        assert!(!readable_in_place(&data[..50], len), "a short head");
        let mut stale = data.clone();
        stale[95] ^= 1;
        assert!(!readable_in_place(&stale, len), "page count not valid");
        assert!(!readable_in_place(b"not sqlite at all", len));
    }

    #[test]
    fn corrupt_database_is_skipped() {
        let (data, _) = big_db();
        assert!(data.len() > 8 * 4096, "{}", data.len());
        // Header intact, everything after it garbage.
        let mut rng = Rng::new(7);
        let mut corrupt = data[..HEADER_LEN].to_vec();
        corrupt.extend((HEADER_LEN..data.len()).map(|_| rng.next_u64() as u8));
        let rec = run(&corrupt, None);
        assert!(rec.units.is_empty());
        assert_eq!(rec.skips.len(), 1, "{:?}", rec.skips);
        assert_eq!(rec.skips[0].0, "");
        assert!(rec.skips[0].1.contains("corrupt"), "{:?}", rec.skips);
        // Page 1 (the schema) intact, the tables' pages garbage: each table
        // is skipped.
        let mut corrupt = data[..4096].to_vec();
        corrupt.extend((4096..data.len()).map(|_| rng.next_u64() as u8));
        let rec = run(&corrupt, None);
        let skipped: Vec<&str> = rec.skips.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(skipped, ["a", "b"], "{:?}", rec.skips);
        // The magic, then garbage (encrypted with a plaintext header, say).
        let mut garbage = MAGIC.to_vec();
        garbage.extend((0..5000).map(|_| rng.next_u64() as u8));
        let rec = run(&garbage, None);
        assert!(rec.units.is_empty());
        assert_eq!(rec.skips.len(), 1, "{:?}", rec.skips);
        assert_eq!(rec.skips[0].0, "");
        // Not SQLite at all (SQLCipher encrypts the header too).
        let random: Vec<u8> = (0..4096).map(|_| rng.next_u64() as u8).collect();
        let rec = run(&random, None);
        assert_eq!(rec.skips.len(), 1, "{:?}", rec.skips);
        assert_eq!(rec.skips[0].0, "");
        assert!(rec.skips[0].1.contains("not a SQLite"), "{:?}", rec.skips);
    }

    /// Every database the in-memory way repairs reads the same when it is
    /// copied to a temporary file and repaired there: truncated anywhere,
    /// with a header whose page count is not valid (as SQLite before 3.7
    /// wrote), in WAL mode, and whole.
    #[test]
    fn a_copy_in_a_temporary_file_reads_as_in_memory() {
        let (data, _) = big_db();
        let mut stale = data.clone();
        stale[92] ^= 1; // "version-valid-for" no longer the change counter
        let mut wal = data.clone();
        wal[18..20].copy_from_slice(&[2, 2]);
        let cases = [
            data[..data.len() / 2].to_vec(),
            data[..data.len() - 1].to_vec(),
            data[..4097].to_vec(),
            data[..99].to_vec(),
            stale[..stale.len() / 3].to_vec(),
            wal,
            data.clone(),
            b"SQLite format 3\0 and then nothing".to_vec(),
        ];
        for case in cases {
            let in_memory = run(&case, None);
            let mut copied = Recorder::default();
            extract_copied(&mut Cursor::new(&case), None, &mut copied);
            assert_eq!(copied.units, in_memory.units, "{} bytes", case.len());
            assert_eq!(copied.skips, in_memory.skips, "{} bytes", case.len());
        }
    }

    #[test]
    fn truncated_database_is_skipped() {
        let (data, people) = big_db();
        let half = data.len() / 2;
        for len in [
            0,
            10,
            16,
            99,
            100,
            101,
            4095,
            4096,
            4097,
            half,
            data.len() - 1,
        ] {
            let rec = run(&data[..len], None);
            assert!(!rec.skips.is_empty(), "truncated to {len}: no skip");
            assert_eq!(rec.skips[0].0, "", "truncated to {len}");
            if len >= 16 {
                assert!(
                    rec.skips[0].1.contains("truncated"),
                    "{len}: {:?}",
                    rec.skips
                );
            }
        }
        // Half the file: the rows on the pages present are read, then `a`
        // hits a missing page and `b` (after it) has none.
        let rec = run(&data[..half], None);
        assert!(rec.units.len() > 100, "{}", rec.units.len());
        assert_eq!(rec.units[0].text, people[0].1);
        assert_eq!(rec.units[1].text, people[0].2.to_string());
        assert!(rec.units.iter().all(|u| u.table.as_deref() == Some("a")));
        let skipped: Vec<&str> = rec.skips.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(skipped, ["", "a", "b"], "{:?}", rec.skips);
        assert!(rec.skips[1].1.contains("after row"), "{:?}", rec.skips);
        // Bytes after the last page are not part of the database.
        let mut longer = data.clone();
        longer.extend_from_slice(b"trailing junk");
        let rec = run(&longer, None);
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(rec.units.len(), 1200);
        // One byte short: the partial last page is dropped, all of `a` read.
        let rec = run(&data[..data.len() - 1], None);
        let a = rec.units.iter().filter(|u| u.table.as_deref() == Some("a"));
        assert_eq!(a.count(), 600);
    }

    #[test]
    fn mutations_never_panic() {
        let (data, _) = users_db();
        let mut rng = Rng::new(3);
        for i in 0..400 {
            let mut bytes = data.clone();
            for _ in 0..1 + rng.below(8) {
                // Half of the runs hit the header.
                let span = if i % 2 == 0 { HEADER_LEN } else { bytes.len() };
                let at = rng.below(span as u64) as usize;
                bytes[at] = rng.next_u64() as u8;
            }
            let cut = bytes.len() - rng.below(bytes.len() as u64 / 4) as usize;
            let _ = run(&bytes[..cut], Some(rng.below(3)));
        }
    }
}
