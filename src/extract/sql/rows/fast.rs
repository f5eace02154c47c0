//! The common block, read 64 bytes at a time.
//!
//! Most blocks of an application's dump are the plainest kind: numbers
//! and quoted strings without escapes, no `NULL`, no empty string. For
//! those, [`block`] finds the rows from bit masks of the bytes (quotes,
//! commas, parentheses, digits, dots, minus signs) instead of reading value
//! by value: the quotes' running parity tells string bytes from the rest,
//! and a handful of mask operations check every rule a plain literal must
//! follow (a string between separators, a number of a sign, digits and at
//! most one dot, nothing else outside strings). It gives up (`None`) at the
//! first thing it does not handle before the block's end, and
//! [`super::block`] reads the block the usual way: the answer, when there is
//! one, is always the one the usual way gives (a property test compares
//! them).

use super::{Block, Stop, MAX_ROWS, MAX_WIDTH};

/// Bytes per window.
const WINDOW: usize = 64;

/// The bytes of one window that matter, one bit per byte (bit `k` for the
/// window's byte `k`); bytes past the span are in none.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Masks {
    quote: u64,
    comma: u64,
    open: u64,
    close: u64,
    digit: u64,
    dot: u64,
    minus: u64,
    backslash: u64,
    double_quote: u64,
    /// Anything else: a letter, a space, a backslash, a double quote, a
    /// byte of a multibyte character. Fine inside a string, and the only
    /// class there that is not a quote.
    other: u64,
}

impl Masks {
    /// The masks of `bytes` (at most [`WINDOW`] of them).
    fn of(bytes: &[u8]) -> Masks {
        let mut padded = [0u8; WINDOW];
        let chunk: &[u8; WINDOW] = match bytes.first_chunk() {
            Some(chunk) => chunk,
            None => {
                padded[..bytes.len()].copy_from_slice(bytes);
                &padded
            }
        };
        let mut m = classify(chunk);
        if bytes.len() < WINDOW {
            // The padding's zero bytes are "other": not past the span.
            m.other &= (1u64 << bytes.len()) - 1;
        }
        m
    }
}

/// The masks of 64 bytes: with AVX-512BW where the CPU has it, else 16
/// bytes at a time with SSE2 (part of the x86-64 baseline).
#[cfg(target_arch = "x86_64")]
fn classify(bytes: &[u8; WINDOW]) -> Masks {
    let mut m = if crate::cpu::avx512bw() {
        // SAFETY: the CPU has AVX-512BW.
        unsafe { avx512(bytes) }
    } else {
        sse2(bytes)
    };
    m.other = !(m.quote | m.comma | m.open | m.close | m.dot | m.minus | m.digit);
    m
}

/// [`classify`] with one compare per class for the 64 bytes.
///
/// # Safety
/// The CPU must have AVX-512BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw")]
unsafe fn avx512(bytes: &[u8; WINDOW]) -> Masks {
    use std::arch::x86_64::{
        _mm512_cmpeq_epi8_mask, _mm512_cmplt_epu8_mask, _mm512_loadu_si512, _mm512_set1_epi8,
        _mm512_sub_epi8,
    };
    let x = _mm512_loadu_si512(bytes.as_ptr().cast());
    let eq = |b: u8| _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8(b as i8));
    Masks {
        quote: eq(b'\''),
        comma: eq(b','),
        open: eq(b'('),
        close: eq(b')'),
        // b - '0' as an unsigned byte is below 10 exactly for digits.
        digit: _mm512_cmplt_epu8_mask(
            _mm512_sub_epi8(x, _mm512_set1_epi8(b'0' as i8)),
            _mm512_set1_epi8(10),
        ),
        dot: eq(b'.'),
        minus: eq(b'-'),
        backslash: eq(b'\\'),
        double_quote: eq(b'"'),
        other: 0,
    }
}

/// [`classify`] 16 bytes at a time.
#[cfg(target_arch = "x86_64")]
fn sse2(bytes: &[u8; WINDOW]) -> Masks {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        _mm_sub_epi8,
    };
    let mut m = Masks::default();
    for (k, part) in bytes.chunks_exact(16).enumerate() {
        let shift = 16 * k;
        // SAFETY: SSE2 is part of the x86-64 baseline; the load reads the
        // 16 bytes of `part`, unaligned loads being allowed.
        unsafe {
            let x = _mm_loadu_si128(part.as_ptr().cast());
            let eq = |b: u8| _mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(b as i8))) as u64;
            // b - '0' is below 10 exactly for digits, compared signed
            // after a shift by 0x80.
            let shifted = _mm_sub_epi8(x, _mm_set1_epi8((b'0' as i8).wrapping_add(i8::MIN)));
            let digit = _mm_movemask_epi8(_mm_cmplt_epi8(shifted, _mm_set1_epi8(i8::MIN + 10)));
            m.quote |= eq(b'\'') << shift;
            m.comma |= eq(b',') << shift;
            m.open |= eq(b'(') << shift;
            m.close |= eq(b')') << shift;
            m.dot |= eq(b'.') << shift;
            m.minus |= eq(b'-') << shift;
            m.backslash |= eq(b'\\') << shift;
            m.double_quote |= eq(b'"') << shift;
            m.digit |= (digit as u64) << shift;
        }
    }
    m
}

#[cfg(not(target_arch = "x86_64"))]
fn classify(bytes: &[u8; WINDOW]) -> Masks {
    scalar(bytes)
}

/// [`classify`] byte by byte: for other architectures, and the reference
/// of the tests.
#[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
fn scalar(bytes: &[u8; WINDOW]) -> Masks {
    let mut m = Masks::default();
    for (k, &b) in bytes.iter().enumerate() {
        let bit = 1u64 << k;
        match b {
            b'\'' => m.quote |= bit,
            b',' => m.comma |= bit,
            b'(' => m.open |= bit,
            b')' => m.close |= bit,
            b'.' => m.dot |= bit,
            b'-' => m.minus |= bit,
            b'0'..=b'9' => m.digit |= bit,
            _ => m.other |= bit,
        }
        match b {
            b'\\' => m.backslash |= bit,
            b'"' => m.double_quote |= bit,
            _ => {}
        }
    }
    m
}

/// Bit `k` set when bit `k` or any bit below it of `x` is set an odd
/// number of times: the running parity of the quotes.
fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
}

/// The bytes of a window escaped by a backslash: each one right after an
/// odd run of backslashes (`\'`, `\\\'`; `\\` escapes the second
/// backslash). `odd`: the window before ended in such a run; it is set for
/// the next window.
///
/// Adding a run's first bit to the mask carries through the run to the
/// byte after it; that byte is escaped when the run is odd, that is when
/// the run starts and ends at positions of different parity (a run
/// continuing an odd one counts as starting one position earlier).
fn escaped(backslashes: u64, odd: &mut bool) -> u64 {
    const EVEN: u64 = 0x5555_5555_5555_5555;
    let carried = u64::from(*odd);
    let starts = backslashes & !(backslashes << 1);
    let even_class = EVEN ^ carried;
    let even_ends = backslashes.wrapping_add(starts & even_class) & !backslashes;
    let (odd_sum, overflow) = backslashes.overflowing_add(starts & !even_class);
    let odd_ends = odd_sum & !backslashes;
    *odd = overflow;
    (even_ends & !EVEN) | (odd_ends & EVEN) | (carried & !backslashes)
}

/// The block of rows at `data[start]` (a `(`) within `data[..limit]`, as
/// [`super::block`] would find it, or `None` when it holds something this
/// reader leaves to the usual one. `window_end`: `limit` is where `data`
/// ends, and the input goes on; `backslash`: backslash escapes are on. The
/// span must be UTF-8.
pub(super) fn block(
    data: &[u8],
    start: usize,
    limit: usize,
    window_end: bool,
    backslash: bool,
    sent: &mut Vec<u64>,
) -> Option<Result<Block, Stop>> {
    let span = &data[start..limit];
    let masks_at = |w: usize| Masks::of(span.get(w..).unwrap_or_default());
    // The byte before each byte, and the one after it, as masks.
    let before = |m: u64, p: u64| (m << 1) | (p >> 63);
    let two_before = |m: u64, p: u64| (m << 2) | (p >> 62);
    let after = |m: u64, n: u64| (m >> 1) | (n << 63);
    // The previous window's masks, the quotes' parity at its end (all
    // ones inside a string), and the commas outside strings before the
    // current window.
    let mut prev = Masks::default();
    let mut parity = 0u64;
    let mut odd_backslashes = false;
    let mut prev_quote = 0u64;
    let mut commas_before = 0u64;
    let mut next = masks_at(0);
    // The rows taken, their values each, the commas outside strings before
    // the current row, where the last row ended, and the last dot outside
    // strings.
    let mut rows = 0u64;
    let mut width = 0usize;
    let mut row_commas = 0u64;
    let mut last_end = 0usize;
    let mut last_dot: Option<usize> = None;
    // The first byte this reader does not handle.
    let mut first_violation = usize::MAX;
    let mut w = 0;
    while w < span.len() {
        let cur = next;
        next = masks_at(w + WINDOW);
        // With backslash escapes, an escaped quote is no quote.
        let escaped = if backslash {
            escaped(cur.backslash, &mut odd_backslashes)
        } else {
            0
        };
        let quote = cur.quote & !escaped;
        // Inclusive parity: set on an opening quote and the string's
        // bytes, clear on a closing quote and outside strings.
        let inside = prefix_xor(quote) ^ parity;
        parity = 0u64.wrapping_sub(inside >> 63);
        let outside = !inside & !quote;
        let opening = quote & inside;
        let closing = quote & !inside;
        let comma = cur.comma & outside;
        let close = cur.close & outside;
        // Outside strings, the byte before a value's first one is a `,` or
        // `(`; a row's `(` is the first byte, or after `),`.
        let sep_before = before(cur.comma | cur.open, prev.comma | prev.open);
        let row_open =
            (before(cur.comma, prev.comma) & two_before(cur.close, prev.close)) | u64::from(w == 0);
        // A backslash outside strings, or anywhere without escapes (pg's
        // bytea, `'\\x0102'`, is not sent); an escape other than `\\`,
        // `\'` and `\"`.
        let backslashes = if backslash {
            (cur.backslash & outside) | (escaped & !(cur.quote | cur.double_quote))
        } else {
            cur.backslash
        };
        let violations = (cur.other & outside)
            | backslashes
            // Two quotes in a row: an empty string or a doubled quote.
            | (quote & before(quote, prev_quote))
            // A string not right after a `,` or `(`, or not right before a
            // `,` or `)`.
            | (opening & !sep_before)
            | (closing & !after(cur.comma | cur.close, next.comma | next.close))
            // A sign not first, or without a digit after it.
            | (cur.minus & outside & !sep_before)
            | (cur.minus & outside & !after(cur.digit, next.digit))
            // A dot not after a digit.
            | (cur.dot & outside & !before(cur.digit, prev.digit))
            // An empty value.
            | ((comma | close) & sep_before)
            // A `(` that starts no row (a function call).
            | (cur.open & outside & !row_open);
        if violations != 0 {
            first_violation = first_violation.min(w + violations.trailing_zeros() as usize);
        }
        // At most one dot in a number: between two dots outside strings
        // there must be more than digits.
        let mut dots = cur.dot & outside;
        while dots != 0 {
            let at = w + dots.trailing_zeros() as usize;
            dots &= dots - 1;
            if last_dot.is_some_and(|last| span[last + 1..at].iter().all(u8::is_ascii_digit)) {
                first_violation = first_violation.min(at);
            }
            last_dot = Some(at);
        }
        // Rows end at each `)` outside strings.
        let mut ends = close;
        while ends != 0 {
            let at = w + ends.trailing_zeros() as usize;
            ends &= ends - 1;
            let end = at + 1;
            if first_violation < end {
                return None;
            }
            let below = comma & ((1u64 << (at - w)) - 1);
            let commas = commas_before + u64::from(below.count_ones());
            let values = (commas - row_commas) as usize + 1;
            if rows == 0 && values <= MAX_WIDTH {
                width = values;
            } else if values != width {
                return None;
            }
            rows += 1;
            last_end = start + end;
            match data.get(last_end..last_end + 2) {
                // The comma between the rows is not one of the next row's.
                Some(b",(") if rows < MAX_ROWS => row_commas = commas + 1,
                None if window_end => return Some(Err(Stop::End)),
                _ => return Some(Ok(finish(sent, width, rows, last_end))),
            }
        }
        commas_before += u64::from(comma.count_ones());
        prev = cur;
        prev_quote = quote;
        w += WINDOW;
    }
    // The span ends inside a row: cut by the end of the bytes read so far,
    // it is no block yet; cut by the size limit, or at the input's end, it
    // ends the block before it. Unless something before the cut is left to
    // the usual reader (which may see a row end where this one, misled by
    // an escaped quote, did not).
    if first_violation < span.len() {
        return None;
    }
    Some(match rows {
        _ if window_end => Err(Stop::End),
        0 => Err(Stop::NotPlain),
        _ => Ok(finish(sent, width, rows, last_end)),
    })
}

/// The block found: `rows` rows of `width` values, every one sent.
fn finish(sent: &mut Vec<u64>, width: usize, rows: u64, end: usize) -> Block {
    sent.clear();
    sent.resize(width, rows);
    Block { end, rows }
}

#[cfg(test)]
mod tests {
    use super::super::plain_block;
    use super::*;
    use proptest::prelude::*;

    /// Values of every kind the two readers meet: plain ones this reader
    /// takes, and the ones it leaves to the usual reader.
    const VALUES: &[&str] = &[
        "1",
        "42",
        "-7",
        "4073.95",
        "0.5",
        "5.",
        "1.2.3",
        "-",
        ".5",
        "--1",
        "1-2",
        "'a'",
        "'张三'",
        "'x,y'",
        "'p)q'",
        "'(r'",
        "'s.t'",
        "'-'",
        "'1.2.3'",
        "'{\"k\":1}'",
        "''",
        "'it''s'",
        "'a\\'b'",
        "'\\\\x01'",
        "NULL",
        "null",
        "x",
        " 1",
        "f(1)",
        "'a'5",
        "5'a'",
        "'a' ",
        "\"q\"",
        "'{\\\"k\\\":1}'",
        "'a\\\\'",
        "'a\\\\\\'b'",
        "'\\n'",
        "'\\\\\\\\'",
    ];

    /// Rows of `values` (indices into [`VALUES`]) by row, written as a
    /// dump writes them.
    fn rows_text(rows: &[Vec<usize>]) -> String {
        let rows: Vec<String> = rows
            .iter()
            .map(|row| {
                let values: Vec<&str> = row.iter().map(|&v| VALUES[v % VALUES.len()]).collect();
                format!("({})", values.join(","))
            })
            .collect();
        rows.join(",")
    }

    /// A reader's answer and the counts it gave.
    type Found = (Result<Block, Stop>, Vec<u64>);

    /// Both readers on `data[..limit]`, this one first: `None` when this
    /// one leaves it.
    fn both(data: &[u8], limit: usize, eof: bool, backslash: bool) -> Option<(Found, Found)> {
        let window_end = limit == data.len() && !eof;
        if std::str::from_utf8(&data[..limit]).is_err() {
            return None;
        }
        let mut fast_sent = Vec::new();
        let fast = block(data, 0, limit, window_end, backslash, &mut fast_sent)?;
        let mut plain_sent = Vec::new();
        let plain = plain_block(data, 0, limit, window_end, true, backslash, &mut plain_sent);
        Some(((fast, fast_sent), (plain, plain_sent)))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Wherever this reader gives an answer, it is the usual reader's:
        /// rows of plain and other values, of the same or other widths,
        /// cut anywhere, at the input's end or not, with a tail after
        /// them.
        #[test]
        fn agrees_with_the_value_by_value_reader(
            rows in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![12 => 0usize..8, 1 => 0usize..VALUES.len()], 1..6),
                1..12),
            tail in prop::sample::select(vec!["", ";", ";\nINSERT INTO t VALUES (1);", ",", ",(", " ", "),("]),
            cut in 0.0f64..1.0,
            full in any::<bool>(),
            eof in any::<bool>(),
            backslash in any::<bool>(),
        ) {
            let text = format!("{}{tail}", rows_text(&rows));
            let data = text.as_bytes();
            let limit = if full { data.len() } else { 1 + ((data.len() - 1) as f64 * cut) as usize };
            if let Some(((fast, fast_sent), (plain, plain_sent))) = both(data, limit, eof, backslash) {
                prop_assert_eq!(fast, plain, "{:?} cut at {}", text, limit);
                if fast.is_ok() {
                    prop_assert_eq!(fast_sent, plain_sent, "{:?}", text);
                }
            }
        }

        /// The same, on any sequence of the bytes that matter.
        #[test]
        fn agrees_on_any_bytes(
            parts in proptest::collection::vec(prop::sample::select(vec![
                "(", ")", ",", "'", "\\", "\"", "1", "-", ".", "4.5", "N", "x", "张", " ",
                "),(", "'a'", "42", ",(", "')", "\\'", "\\\\", "'\\\"'",
            ]), 0..60),
            eof in any::<bool>(),
            backslash in any::<bool>(),
        ) {
            let text = format!("({}", parts.concat());
            let data = text.as_bytes();
            if let Some(((fast, fast_sent), (plain, plain_sent))) = both(data, data.len(), eof, backslash) {
                prop_assert_eq!(fast, plain, "{:?}", text);
                if fast.is_ok() {
                    prop_assert_eq!(fast_sent, plain_sent, "{:?}", text);
                }
            }
        }
    }

    proptest! {
        /// The SIMD classifiers agree with the byte loop.
        #[test]
        fn classifiers_agree(
            bytes in proptest::collection::vec(
                prop_oneof![any::<u8>(), prop::sample::select(b"'(),.-0123456789\\\"/:@".to_vec())],
                WINDOW,
            ),
        ) {
            let window: [u8; WINDOW] = bytes.try_into().unwrap();
            prop_assert_eq!(classify(&window), scalar(&window));
            #[cfg(target_arch = "x86_64")]
            {
                let mut sse2 = sse2(&window);
                sse2.other = scalar(&window).other;
                prop_assert_eq!(sse2, scalar(&window));
            }
        }
    }

    /// [`escaped`] by counting the runs one by one.
    fn escaped_by_runs(backslashes: u64, odd: &mut bool) -> u64 {
        let mut escaped = 0;
        for at in 0..64 {
            if backslashes >> at & 1 == 1 {
                *odd = !*odd;
            } else {
                if *odd {
                    escaped |= 1 << at;
                }
                *odd = false;
            }
        }
        escaped
    }

    proptest! {
        /// The carries find the bytes that counting finds, window after
        /// window.
        #[test]
        fn escapes_are_found_by_the_carries(
            windows in proptest::collection::vec(
                prop_oneof![any::<u64>(), Just(u64::MAX), Just(1u64 << 63), Just(1), Just(0b0110)],
                1..6,
            ),
            odd in any::<bool>(),
        ) {
            let (mut a, mut b) = (odd, odd);
            for w in windows {
                prop_assert_eq!(escaped(w, &mut a), escaped_by_runs(w, &mut b), "{:#x}", w);
                prop_assert_eq!(a, b);
            }
        }
    }

    /// Rows across many windows, as an application's tables hold them
    /// (mysqldump's `\"` in JSON included): blocks of 128 rows, cut by the
    /// size limit or by the end of the bytes read; strings holding every
    /// byte that matters outside them.
    #[test]
    fn long_blocks_are_read_here_and_the_same() {
        let order = |i: usize| {
            format!(
                "({i},179{i:016},{},{}.{:02},'SHIPPED','2024-05-24 19:03:58')",
                i * 7,
                i % 5000,
                i % 100
            )
        };
        let event = |i: usize| {
            format!("({i},'2a0c0129-31ec-{i:04}','{{\"ts\":17180,\"p\":\"/items/({i}),\\\"x\\\"\"}}',-{i}.5)")
        };
        for row in [&order as &dyn Fn(usize) -> String, &event] {
            let text: Vec<String> = (0..400).map(row).collect();
            let text = format!("{};\n", text.join(","));
            let data = text.as_bytes();
            for limit in [data.len(), 32 << 10, 9000, 4097, 65, 64, 63] {
                let limit = limit.min(data.len());
                for eof in [false, true] {
                    let found = both(data, limit, eof, true);
                    // A cut right after a sign or a closing quote is left to
                    // the usual reader (this one looks one byte ahead).
                    let Some(((fast, fast_sent), (plain, plain_sent))) = found else {
                        assert!(limit < data.len(), "{text:?}");
                        continue;
                    };
                    assert_eq!(fast, plain, "limit {limit}");
                    assert_eq!(fast_sent, plain_sent);
                }
            }
        }
    }
}
