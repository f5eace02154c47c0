//! Rows of plain literals, sent as one block.
//!
//! Most rows of an application's dump hold nothing personal: order
//! numbers, amounts, timestamps, status words, UUIDs, JSON payloads. Sent
//! value by value, each costs a sink call, a column lookup and a scan of a
//! dozen bytes, and that per-value cost, not the bytes, is what makes a
//! dump slower to scan than a log. So the parser sends runs of rows made
//! only of *plain literals* as one [`Rows`] block: their source text, which
//! a sink may scan as a whole and pass over when nothing in it could be a
//! value, and the counts it needs to keep its column statistics without
//! looking at the values. A sink that wants the values calls
//! [`Rows::units`], which sends exactly the units the parser would have
//! sent one by one (the default of [`Sink::rows`]).
//!
//! A plain literal is one whose source text, scanned in place, has the
//! same tokens as its value: a number (`42`, `-7`, `4073.95`; one dot at
//! most, so that no address spans a comma), `NULL`, or a quoted string
//! whose only escapes are `\\`, `\'` and `\"` (the escape becomes a
//! punctuation mark, and a backslash is one as well). Quotes and commas
//! keep the values apart. A row with anything else (`\n` escapes, which
//! glue the `n` to a number in the source, hex and binary literals,
//! function calls, bytes that are not UTF-8) ends the block and goes the
//! usual way.

use super::{advance, is_bytea_hex, Place, Sink, Unit};
use memchr::{memchr, memchr2};

mod fast;

/// Most rows in a block: a block holding a value is split into units,
/// so a small one wastes little.
const MAX_ROWS: u64 = 128;
/// Most source bytes in a block.
const MAX_BYTES: usize = 32 << 10;
/// Most values in a row of a block (the bits of a mask).
const MAX_WIDTH: usize = 64;

/// Rows of one table, one after another in the source, all of plain
/// literals and of the same number of values (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    /// The source text, from the first row's `(` to the last row's `)`.
    pub raw: &'a [u8],
    /// The table.
    pub table: &'a str,
    /// Its column names, as far as known (a value past them has no field).
    pub columns: &'a [String],
    /// The 1-based ordinal of the first row in its table.
    pub first_row: u64,
    /// How many rows.
    pub rows: u64,
    /// Per position in a row, how many of the rows have a value there that
    /// is sent as a unit (not `NULL`, not an empty string). Its length is
    /// the number of values per row.
    pub sent: &'a [u64],
    /// Line and column (in characters) of the first byte of `raw`.
    pub line: u64,
    /// See `line`.
    pub col: u64,
    /// Backslash escapes are on (MySQL); otherwise a backslash is itself.
    pub backslash: bool,
}

impl Rows<'_> {
    /// Sends the values of the rows to `sink`, as units, with the places
    /// the parser gives values one by one.
    pub fn units<S: Sink + ?Sized>(&self, sink: &mut S) {
        let raw = self.raw;
        let mut decoded = Vec::new();
        let (mut at, mut line, mut col) = (0, self.line, self.col);
        let mut i = 0;
        let mut row = self.first_row;
        while i < raw.len() {
            // On a row's `(`.
            i += 1;
            let mut n = 0;
            loop {
                let Ok(v) = literal(raw, i, self.backslash) else {
                    debug_assert!(false, "a block holds plain rows only");
                    return;
                };
                if let Some((s, e)) = v.text {
                    (line, col) = advance((line, col), &raw[at..s], false);
                    at = s;
                    let text = if v.escaped {
                        unescape(&raw[s..e], &mut decoded);
                        &decoded[..]
                    } else {
                        &raw[s..e]
                    };
                    sink.unit(&Unit {
                        text,
                        place: Place {
                            line: Some(line),
                            col,
                            table: Some(self.table),
                            row: Some(row),
                            field: self.columns.get(n).map(String::as_str),
                            ..Place::default()
                        },
                    });
                }
                n += 1;
                i = v.end + 1;
                if raw[v.end] == b')' {
                    break;
                }
            }
            row += 1;
            // Past the `,` between rows.
            i += 1;
        }
    }
}

/// A block found by [`block`]: where it ends (past the last `)`) and how
/// many rows it holds; the counts per position are in the `sent` given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Block {
    pub end: usize,
    pub rows: u64,
}

/// Why there is no block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// It runs into the end of the bytes given: with more of them it may
    /// be one, or a longer one.
    End,
    /// The first row is not of plain literals, or too long.
    NotPlain,
}

/// The rows of plain literals starting at `data[start]` (a `(`), each
/// whole in `data` and followed directly by `,(` when another one is
/// taken; `sent` gets the counts of [`Rows::sent`].
///
/// Blocks of numbers and strings without escapes are found by
/// `fast::block`, 64 bytes at a time; others (`NULL`, empty strings,
/// escapes, bytes that are not UTF-8) value by value.
///
/// Unless `eof` (`data` ends where the input ends), a block must not
/// depend on where `data` ends: a streaming parser that reads on and
/// parses again from before the block must get the same block. So a
/// block that runs into the end of `data` (rather than into its size
/// limit) is no block, and says [`Stop::End`].
pub(super) fn block(
    data: &[u8],
    start: usize,
    backslash: bool,
    eof: bool,
    sent: &mut Vec<u64>,
) -> Result<Block, Stop> {
    let limit = data.len().min(start.saturating_add(MAX_BYTES));
    let window_end = limit == data.len() && !eof;
    // Rows are checked for UTF-8 one by one only when the whole span is
    // not UTF-8 (a cut character at its end is enough).
    let utf8 = simdutf8::basic::from_utf8(&data[start..limit]).is_ok();
    if utf8 {
        if let Some(found) = fast::block(data, start, limit, window_end, backslash, sent) {
            return found;
        }
    }
    plain_block(data, start, limit, window_end, utf8, backslash, sent)
}

/// [`block`] value by value, for any block.
fn plain_block(
    data: &[u8],
    start: usize,
    limit: usize,
    window_end: bool,
    utf8: bool,
    backslash: bool,
    sent: &mut Vec<u64>,
) -> Result<Block, Stop> {
    sent.clear();
    let mut rows = 0;
    let mut i = start;
    let mut end = start;
    while rows < MAX_ROWS {
        match row(&data[..limit], i, backslash, utf8, sent) {
            Ok(row_end) => end = row_end,
            Err(Stop::End) if window_end => return Err(Stop::End),
            Err(_) if rows == 0 => return Err(Stop::NotPlain),
            Err(_) => break,
        }
        rows += 1;
        match data.get(end..end + 2) {
            Some(b",(") => i = end + 1,
            None if window_end => return Err(Stop::End),
            _ => break,
        }
    }
    Ok(Block { end, rows })
}

/// One row of plain literals at `data[i]` (a `(`), UTF-8 (known to be
/// when `utf8`): its end, past the `)`. The first row of a block (`sent`
/// empty) sets the width, the length of `sent`; a later one must have it.
/// Adds to `sent` only for a row that is taken.
fn row(
    data: &[u8],
    i: usize,
    backslash: bool,
    utf8: bool,
    sent: &mut Vec<u64>,
) -> Result<usize, Stop> {
    let first = sent.is_empty();
    // Bit n: the row's value n is sent.
    let mut mask = 0u64;
    let mut n = 0;
    let mut j = i + 1;
    loop {
        let v = literal(data, j, backslash)?;
        if n >= MAX_WIDTH || (!first && n >= sent.len()) {
            return Err(Stop::NotPlain);
        }
        mask |= u64::from(v.text.is_some()) << n;
        n += 1;
        j = v.end + 1;
        if data[v.end] == b')' {
            break;
        }
    }
    if (!first && n != sent.len()) || (!utf8 && simdutf8::basic::from_utf8(&data[i..j]).is_err()) {
        return Err(Stop::NotPlain);
    }
    if first {
        sent.resize(n, 0);
    }
    for (k, total) in sent.iter_mut().enumerate() {
        *total += mask >> k & 1;
    }
    Ok(j)
}

/// A plain literal: where it ends (on the `,` or `)` after it), its text
/// when it is sent, and whether that has escapes.
struct Literal {
    end: usize,
    text: Option<(usize, usize)>,
    escaped: bool,
}

/// The plain literal at `data[i]`, ended by a `,` or `)`.
fn literal(data: &[u8], i: usize, backslash: bool) -> Result<Literal, Stop> {
    let byte = |k: usize| data.get(k).copied().ok_or(Stop::End);
    let (end, text, escaped) = match byte(i)? {
        b'\'' => {
            let content = i + 1;
            let mut j = content;
            let mut escaped = false;
            loop {
                let k = quote_or_backslash(&data[j.min(data.len())..], b'\'', backslash);
                j += k.ok_or(Stop::End)?;
                if data[j] == b'\\' {
                    if !matches!(byte(j + 1)?, b'\\' | b'\'' | b'"') {
                        return Err(Stop::NotPlain);
                    }
                    escaped = true;
                    j += 2;
                    continue;
                }
                break;
            }
            // The closing quote; a doubled one is an escape.
            if byte(j + 1)? == b'\'' {
                return Err(Stop::NotPlain);
            }
            // pg's `bytea` in hex (`'\\x0102'`, without backslash escapes) is
            // binary and not sent.
            let text = (j > content && !is_bytea_hex(&data[content..j])).then_some((content, j));
            (j + 1, text, escaped)
        }
        b'0'..=b'9' | b'-' => {
            let (e, dots) = number(data, i)?;
            if dots > 1 {
                return Err(Stop::NotPlain);
            }
            (e, Some((i, e)), false)
        }
        b'N' | b'n' => {
            let word = data.get(i..i + 4).ok_or(Stop::End)?;
            if !word.eq_ignore_ascii_case(b"NULL") {
                return Err(Stop::NotPlain);
            }
            (i + 4, None, false)
        }
        _ => return Err(Stop::NotPlain),
    };
    match byte(end)? {
        b',' | b')' => Ok(Literal { end, text, escaped }),
        _ => Err(Stop::NotPlain),
    }
}

/// The plain number at `data[i]` (`42`, `-7`, `4073.95`: an optional
/// minus, then digits and dots, a digit first): its end and how many dots
/// it has. [`Stop::End`] when `data` ends inside it.
pub(super) fn number(data: &[u8], i: usize) -> Result<(usize, usize), Stop> {
    let sign = usize::from(data.get(i) == Some(&b'-'));
    let rest = data.get(i + sign..).unwrap_or_default();
    // Most numbers (ids, amounts, epochs) end within 16 bytes: one compare.
    #[cfg(target_arch = "x86_64")]
    if let Some(head) = rest.first_chunk::<16>() {
        let (digits, dots) = sse2::digits_and_dots(head);
        let len = (!(digits | dots)).trailing_zeros() as usize;
        if len < 16 {
            return finish(
                data,
                i,
                sign,
                len,
                (dots & ((1 << len) - 1)).count_ones() as usize,
            );
        }
    }
    let mut dots = 0;
    let len = rest
        .iter()
        .position(|&b| {
            dots += usize::from(b == b'.');
            !(b.is_ascii_digit() || b == b'.')
        })
        .ok_or(Stop::End)?;
    finish(data, i, sign, len, dots)
}

/// The end of a number at `data[i]` with an optional sign and `len` digits
/// and dots, `dots` of them dots; a digit must come first.
fn finish(
    data: &[u8],
    i: usize,
    sign: usize,
    len: usize,
    dots: usize,
) -> Result<(usize, usize), Stop> {
    if len == 0 || !data[i + sign].is_ascii_digit() {
        return Err(Stop::NotPlain);
    }
    Ok((i + sign + len, dots))
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        _mm_sub_epi8,
    };

    /// Masks of the ASCII digits and of the dots among 16 bytes.
    #[inline]
    pub(super) fn digits_and_dots(head: &[u8; 16]) -> (u32, u32) {
        // SAFETY: SSE2 is part of the x86-64 baseline; the load reads the
        // 16 bytes of `head`, unaligned loads being allowed.
        unsafe {
            let x = _mm_loadu_si128(head.as_ptr().cast());
            // b - '0' as a signed byte is below 10 exactly for digits once
            // shifted by 0x80: (b - '0') ^ 0x80 < 10 ^ 0x80 (signed).
            let shifted = _mm_sub_epi8(x, _mm_set1_epi8((b'0' as i8).wrapping_add(i8::MIN)));
            let digits = _mm_cmplt_epi8(shifted, _mm_set1_epi8(i8::MIN + 10));
            let dots = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'.' as i8));
            (
                _mm_movemask_epi8(digits) as u32,
                _mm_movemask_epi8(dots) as u32,
            )
        }
    }
}

/// The first `quote` (or `\\` with `backslash`) in `rest`: where a
/// string's text stops. Most strings of a dump are short: their first 16
/// bytes are looked at with one compare before a search of the rest.
pub(super) fn quote_or_backslash(rest: &[u8], quote: u8, backslash: bool) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if let Some(head) = rest.first_chunk::<16>() {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86-64 baseline; the load reads the
        // 16 bytes of `head`, unaligned loads being allowed.
        let found = unsafe {
            let x = _mm_loadu_si128(head.as_ptr().cast());
            let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(quote as i8));
            let escape = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
            let both = if backslash {
                _mm_or_si128(quote, escape)
            } else {
                quote
            };
            _mm_movemask_epi8(both)
        };
        if found != 0 {
            return Some(found.trailing_zeros() as usize);
        }
        return search(&rest[16..], quote, backslash).map(|k| k + 16);
    }
    search(rest, quote, backslash)
}

/// The first `quote` (or `\\` with `backslash`) in `rest`, by `memchr`.
fn search(rest: &[u8], quote: u8, backslash: bool) -> Option<usize> {
    if backslash {
        memchr2(quote, b'\\', rest)
    } else {
        memchr(quote, rest)
    }
}

/// The value of a string whose escapes are `\\`, `\'` and `\"`.
fn unescape(source: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while let Some(k) = memchr(b'\\', &source[i..]) {
        out.extend_from_slice(&source[i..i + k]);
        out.push(source[i + k + 1]);
        i += k + 2;
    }
    out.extend_from_slice(&source[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn block_of(data: &str, eof: bool) -> Result<(Block, Vec<u64>), Stop> {
        let mut sent = Vec::new();
        block(data.as_bytes(), 0, true, eof, &mut sent).map(|b| (b, sent))
    }

    #[test]
    fn rows_of_plain_literals_make_a_block() {
        let data = r#"(1,'a',NULL,''),(2,'it\'s',-7.5,'{\"k\":1}'),(3,'x',4,'y');"#;
        let (b, sent) = block_of(data, true).unwrap();
        assert_eq!((b.rows, &data[b.end..]), (3, ";"));
        assert_eq!(sent, [3, 3, 2, 2], "NULL and '' are not sent");
    }

    #[test]
    fn a_block_ends_before_a_row_that_is_not_plain() {
        for (data, rows) in [
            (r"(1,'a'),(2,'x\ny'),(3,'b')", 1),
            ("(1,'a'),(2,'it''s'),(3,'b')", 1),
            ("(1,'a'),(2,0x41),(3,'b')", 1),
            ("(1,'a'),(2,'1.2.3'),(3,1.2.3)", 2),
            ("(1,'a'),(2,'b',3),(3,'b')", 1),
            ("(1,'a'),(2, 'b')", 1),
            ("(1,'a') ,(2,'b')", 1),
        ] {
            assert_eq!(
                block_of(data, true).map(|(b, _)| b.rows),
                Ok(rows),
                "{data}"
            );
        }
        assert_eq!(block_of(r"(1,'x\ny')", true), Err(Stop::NotPlain));
        assert_eq!(block_of("(1,CONCAT('a'))", true), Err(Stop::NotPlain));
    }

    #[test]
    fn a_block_running_into_the_window_end_waits_for_more() {
        // Cut anywhere, a window that is not the input's end gives no
        // block: the same rows must come whole once more is read.
        let data = "(1,'a'),(2,'b'),(3,'c');\n";
        for cut in 1..data.len() - 1 {
            assert_eq!(block_of(&data[..cut], false), Err(Stop::End), "{cut}");
        }
        let (b, _) = block_of(data, false).unwrap();
        assert_eq!(b.rows, 3);
        // At the input's end, the rows before a broken one are a block.
        assert_eq!(block_of("(1,'a'),(2,'b", true).map(|(b, _)| b.rows), Ok(1));
    }

    /// Counts the units [`Rows::units`] sends per position in a row.
    #[derive(Default)]
    struct PerPosition {
        columns: Vec<String>,
        counts: Vec<u64>,
    }

    impl Sink for PerPosition {
        fn unit(&mut self, unit: &Unit<'_>) {
            let field = unit.place.field.expect("every position is named");
            let k = self.columns.iter().position(|c| c == field).unwrap();
            self.counts[k] += 1;
        }
        fn skip(&mut self, _: &str, _: &str) {}
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// On any bytes the block reader does not panic, and the units of a
        /// block it finds are as many, per position, as it counted.
        #[test]
        fn a_block_sends_what_it_counted(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "(", ")", ",", "'", "''", "\\", "\\'", "\\n", "\"", "1", "-", ".", "4.5",
                "NULL", "null", "N", "x", "张", "\u{ff}", " ", "),(", "'a'", "42",
            ]), 0..60),
            backslash in proptest::prelude::any::<bool>(),
            eof in proptest::prelude::any::<bool>(),
        ) {
            let text = format!("({}", parts.concat());
            let mut sent = Vec::new();
            if let Ok(b) = block(text.as_bytes(), 0, backslash, eof, &mut sent) {
                let columns: Vec<String> = (0..sent.len()).map(|k| format!("c{k}")).collect();
                let mut got = PerPosition {
                    counts: vec![0; sent.len()],
                    columns: columns.clone(),
                };
                let rows = Rows {
                    raw: &text.as_bytes()[..b.end],
                    table: "t",
                    columns: &columns,
                    first_row: 1,
                    rows: b.rows,
                    sent: &sent,
                    line: 1,
                    col: 1,
                    backslash,
                };
                rows.units(&mut got);
                proptest::prop_assert_eq!(got.counts, sent);
            }
        }
    }

    proptest! {
        /// The 16-byte probe reads numbers as a byte loop does.
        #[test]
        fn numbers_are_read_as_byte_by_byte(
            bytes in proptest::collection::vec(prop::sample::select(b"0123456789.-,)x".to_vec()), 0..40),
        ) {
            let reference = || {
                let sign = usize::from(bytes.first() == Some(&b'-'));
                let rest = &bytes[sign..];
                let len = rest.iter().position(|&b| !(b.is_ascii_digit() || b == b'.')).ok_or(Stop::End)?;
                let dots = rest[..len].iter().filter(|&&b| b == b'.').count();
                if len == 0 || !rest[0].is_ascii_digit() {
                    return Err(Stop::NotPlain);
                }
                Ok((sign + len, dots))
            };
            prop_assert_eq!(number(&bytes, 0), reference());
        }
    }

    #[test]
    fn the_end_of_a_string_is_found_at_any_offset() {
        for len in 0..48 {
            for at in 0..len {
                for (stop, backslash, found) in [
                    (b'\'', false, Some(at)),
                    (b'\\', true, Some(at)),
                    (b'\\', false, None),
                ] {
                    let mut text = vec![b'x'; len];
                    text[at] = stop;
                    assert_eq!(
                        quote_or_backslash(&text, b'\'', backslash),
                        found,
                        "{len} {at}"
                    );
                }
            }
            assert_eq!(quote_or_backslash(&vec![b'x'; len], b'\'', true), None);
        }
    }

    #[test]
    fn units_are_the_values_with_their_places() {
        /// Text, row, field and start of each unit.
        type Got = (String, Option<u64>, Option<String>, Option<(u64, u64)>);
        struct Units(Vec<Got>);
        impl Sink for Units {
            fn unit(&mut self, unit: &Unit<'_>) {
                let p = unit.place;
                let text = String::from_utf8_lossy(unit.text).into_owned();
                self.0
                    .push((text, p.row, p.field.map(str::to_string), p.start()));
            }
            fn skip(&mut self, _: &str, _: &str) {}
        }
        let raw = r#"(1,'张三',NULL),(2,'a\"b\\c',7)"#;
        let mut sent = Vec::new();
        block(raw.as_bytes(), 0, true, true, &mut sent).unwrap();
        let columns = ["id".to_string(), "name".to_string()];
        let rows = Rows {
            raw: raw.as_bytes(),
            table: "t",
            columns: &columns,
            first_row: 10,
            rows: 2,
            sent: &sent,
            line: 3,
            col: 5,
            backslash: true,
        };
        let mut units = Units(Vec::new());
        rows.units(&mut units);
        let f = |s: &str| Some(s.to_string());
        assert_eq!(
            units.0,
            [
                ("1".into(), Some(10), f("id"), Some((3, 6))),
                ("张三".into(), Some(10), f("name"), Some((3, 9))),
                ("2".into(), Some(11), f("id"), Some((3, 20))),
                (r#"a"b\c"#.into(), Some(11), f("name"), Some((3, 23))),
                ("7".into(), Some(11), None, Some((3, 32))),
            ]
        );
    }
}
