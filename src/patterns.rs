//! The data tables in `patterns/`, embedded at build time.
//!
//! Region codes, card BINs, mobile segments, context words and the kind table
//! are data, not code: they change with the numbering plans and are reviewed
//! by people who do not read Rust. Every file is a UTF-8 text file with `#`
//! comments and one TAB-separated record a line; [`records`] is the one
//! parser they all share.

/// GB/T 2260 county-level and above area codes, current and historical.
pub const REGIONS: &str = include_str!("../patterns/regions.txt");
/// Province-level prefixes (first two digits of an area code).
pub const PROVINCES: &str = include_str!("../patterns/provinces.tsv");
/// Issuer prefixes and lengths accepted for bank cards.
pub const CARD_BINS: &str = include_str!("../patterns/card_bins.tsv");
/// Card numbers published as test numbers by payment processors.
pub const TEST_CARDS: &str = include_str!("../patterns/test_cards.txt");
/// Assigned mainland mobile segments.
pub const MOBILE_SEGMENTS: &str = include_str!("../patterns/mobile_segments.txt");
/// Context words per kind.
pub const CONTEXT_WORDS: &str = include_str!("../patterns/context.tsv");
/// Top-level domains (ICANN section of the Public Suffix List).
pub const TLDS: &str = include_str!("../patterns/tlds.txt");
/// Kind → category → sensitivity table with labels.
pub const KINDS: &str = include_str!("../patterns/kinds.tsv");

/// Iterates over the records of a pattern file: non-empty lines that are not
/// `#` comments, split on TAB, each with its 1-based line number.
pub fn records(text: &'static str) -> impl Iterator<Item = (usize, Vec<&'static str>)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|(i, line)| (i + 1, line.split('\t').map(str::trim).collect()))
}

/// Panics with the file and line of a malformed embedded record.
///
/// The tables are compiled into the binary and covered by tests, so a
/// malformed record is a build defect, never a user input error.
pub fn bad_record(file: &str, line: usize, why: &str) -> ! {
    panic!("patterns/{file}:{line}: {why}")
}
