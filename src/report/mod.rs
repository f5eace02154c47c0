//! Reports: findings, the §5.4a inventory, masking and output formats.
//!
//! Workers turn matches into [`Finding`]s (already masked unless the user
//! asked for values, so a raw value never travels further than the worker)
//! and send one [`FileReport`] per file. A single reporter owns the output
//! writer and the [`Inventory`]: findings of one file come out together, in
//! file order.

pub mod baseline;
pub mod distinct;
pub mod inventory;
pub mod mask;
pub mod output;
pub mod sarif;

use std::sync::Arc;

use compact_str::CompactString;

use crate::detect::context::KindSet;
use crate::detect::{Confidence, Kind, MAX_KINDS};

pub use inventory::Inventory;
pub use output::{Format, Output};

/// A path for reports: its text (lossy UTF-8), and its bytes when they are
/// not valid UTF-8 (see [`FileReport::raw_path`]).
pub fn display_path(path: &std::path::Path) -> (String, Option<Vec<u8>>) {
    match path.to_str() {
        Some(text) => (text.to_string(), None),
        None => (
            path.to_string_lossy().into_owned(),
            Some(path.as_os_str().as_encoded_bytes().to_vec()),
        ),
    }
}

/// Standard base64 (RFC 4648, with padding), for `path_b64`.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One validated value, located and classified, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Archive member chain (`outer.zip!data/roster.csv`). Names are
    /// shared between the findings of one place (a column of a million
    /// rows holds one copy).
    pub member: Option<Arc<str>>,
    /// 1-based line in the decoded text, for line-numbered sources.
    pub line: Option<u64>,
    /// 1-based character column, with `line`.
    pub col: Option<u64>,
    /// Spreadsheet sheet name.
    pub sheet: Option<Arc<str>>,
    /// Spreadsheet cell in A1 form.
    pub cell: Option<String>,
    /// Database table.
    pub table: Option<Arc<str>>,
    /// 1-based row within the table.
    pub row: Option<u64>,
    /// Name the value sits under (header, key, column).
    pub field: Option<Arc<str>>,
    /// What was found.
    pub kind: Kind,
    /// How sure the detector is.
    pub confidence: Confidence,
    /// The value as printed: masked unless `--show-values`.
    pub shown: CompactString,
    /// Keyed hash of the canonical value, for counting distinct values
    /// without keeping them.
    pub value_hash: u64,
    /// Deterministic SHA-256 of the canonical value ([`mask::stable_hash`]),
    /// the same across runs: the basis of SARIF fingerprints. Never printed.
    /// `None` when the scan did not compute it
    /// ([`crate::scan::ScanOptions::fingerprints`]).
    pub stable_hash: Option<[u8; 32]>,
}

impl Finding {
    /// Stable fingerprint of the finding: hex SHA-256 of path, member and
    /// the value's stable hash (which includes the kind). It has no line,
    /// so moving a log line keeps it; it has no raw value. SARIF's
    /// `partialFingerprints` and baselines use it. `None` without a
    /// stable hash.
    pub fn fingerprint(&self, path: &str) -> Option<String> {
        use sha2::{Digest, Sha256};
        let stable_hash = self.stable_hash?;
        let mut h = Sha256::new();
        for part in [path, self.member.as_deref().unwrap_or_default()] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.update(stable_hash);
        Some(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Scanned: bytes read and the encoding detected.
    Scanned {
        /// Bytes read from the file.
        bytes: u64,
        /// Encoding the text was decoded from.
        encoding: &'static str,
    },
    /// A block of a stream (stdin) that more blocks follow: its findings,
    /// and its bytes read. The stream's last block is [`Outcome::Scanned`]
    /// (with the bytes since the previous block), so the stream counts as
    /// one file. Blocks of a stream reach the reporter consecutively.
    Partial {
        /// Bytes read from the stream for this block.
        bytes: u64,
    },
    /// Not scanned, with the reason.
    Skipped {
        /// Human-readable reason (`binary data (NUL bytes)`, `unreadable: …`).
        reason: String,
    },
}

/// A part of a file that was not scanned: an archive member, a sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSkip {
    /// Member chain or description of the part.
    pub part: String,
    /// Why it was not scanned.
    pub reason: String,
}

/// Values seen under one name (CSV/spreadsheet column, JSON key path, table
/// column), and how many of them held each kind: the per-column inventory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Column {
    /// Archive member chain.
    pub member: Option<String>,
    /// Spreadsheet sheet.
    pub sheet: Option<String>,
    /// Database table.
    pub table: Option<String>,
    /// Header, key path or column name.
    pub field: String,
    /// Values scanned under the name.
    pub values: u64,
    /// Per kind (indexed by [`Kind::index`]), values holding at least one
    /// finding of that kind.
    pub hits: [u64; MAX_KINDS],
    /// Kinds the name is a context word for, as far as the scan knew
    /// (custom kinds' words); the builtins' are looked up from `field`.
    pub named: KindSet,
}

/// The result of one file, sent as one batch to the reporter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// Path as walked (`-` or `--stdin-name` for stdin), lossily converted
    /// to UTF-8.
    pub path: String,
    /// The path's bytes when they are not valid UTF-8 (so `path` lost
    /// some): reports carry them alongside (`path_b64`). `None` otherwise.
    pub raw_path: Option<Vec<u8>>,
    /// Scanned or skipped.
    pub outcome: Outcome,
    /// Findings in file order.
    pub findings: Vec<Finding>,
    /// Parts of the file that were not scanned.
    pub skipped_parts: Vec<PartSkip>,
    /// Per-column counts, in order of first appearance.
    pub columns: Vec<Column>,
}

impl FileReport {
    /// A report for a file that was not scanned.
    pub fn skipped(path: String, reason: String) -> FileReport {
        FileReport {
            path,
            raw_path: None,
            outcome: Outcome::Skipped { reason },
            findings: Vec::new(),
            skipped_parts: Vec::new(),
            columns: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_of_rfc4648_vectors() {
        for (raw, b64) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), b64);
        }
        assert_eq!(base64(b"\xff\xfe\x00"), "//4A");
    }

    #[cfg(unix)]
    #[test]
    fn display_path_keeps_bytes_only_when_lossy() {
        use std::os::unix::ffi::OsStrExt;
        let raw = std::path::Path::new(std::ffi::OsStr::from_bytes(b"d/n\xff.txt"));
        assert_eq!(
            display_path(raw),
            ("d/n\u{fffd}.txt".to_string(), Some(b"d/n\xff.txt".to_vec()))
        );
        assert_eq!(
            display_path(std::path::Path::new("d/名单.csv")),
            ("d/名单.csv".to_string(), None)
        );
    }
}
