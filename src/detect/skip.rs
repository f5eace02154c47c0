//! Skipping text the scanner has nothing to do with, 16 bytes at a time.
//!
//! The scanner stops only at digits, `@` (emails) and `:`/`-` (MAC
//! addresses); everything else (words, punctuation, CJK text) is passed
//! over. Most of a log line is such bytes, so the scanning loop asks
//! [`next_stop`] for the next byte of interest instead of looking at each
//! one. On x86-64 it compares 16 bytes per instruction with SSE2, which
//! every x86-64 processor has (no run-time detection needed); elsewhere a
//! plain loop does the same.
//!
//! [`digits_end`] finds where a run of digits ends the same way. Runs in
//! logs are short and of every length (timestamps, ids, hex fragments), so
//! a byte loop would mispredict its exit on nearly every run; one 16-byte
//! compare finds the end of any run up to 16 digits with no loop at all.

/// Whether the scanner stops at `b` (see [`super::CLASS`]).
#[inline]
fn is_stop(b: u8) -> bool {
    b.is_ascii_digit() || b == b'@' || b == b':' || b == b'-'
}

/// Offset of the first byte at or after `from` that the scanner stops at,
/// or `text.len()` when there is none.
#[inline]
pub(crate) fn next_stop(text: &[u8], from: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    let from = sse2::skip_blocks(text, from);
    scalar(text, from)
}

/// End of the run of ASCII digits starting at `from` (`from` itself when
/// there is no digit there).
#[inline]
pub(crate) fn digits_end(text: &[u8], from: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    let from = sse2::digit_blocks(text, from);
    scalar_until(text, from, |b| !b.is_ascii_digit())
}

fn scalar(text: &[u8], from: usize) -> usize {
    scalar_until(text, from, is_stop)
}

/// Offset of the first byte at or after `from` for which `stop` holds, or
/// `text.len()`.
#[inline]
fn scalar_until(text: &[u8], from: usize, stop: impl Fn(u8) -> bool) -> usize {
    text.get(from..)
        .and_then(|rest| rest.iter().position(|&b| stop(b)))
        .map_or(text.len(), |p| from + p)
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8, _mm_sub_epi8, _mm_xor_si128,
    };

    /// Passes over whole 16-byte blocks holding no stop byte; returns the
    /// offset of the first stop byte found, or of the first byte not in a
    /// whole block (the caller looks at the rest one by one).
    #[inline]
    pub(super) fn skip_blocks(text: &[u8], mut i: usize) -> usize {
        // SAFETY: SSE2 is part of the x86-64 baseline, so these intrinsics
        // are always available; every load reads 16 bytes at `i` with
        // `i + 16 <= text.len()`, unaligned loads being allowed.
        unsafe {
            let at = _mm_set1_epi8(b'@' as i8);
            let colon = _mm_set1_epi8(b':' as i8);
            let dash = _mm_set1_epi8(b'-' as i8);
            while i + 16 <= text.len() {
                let x: __m128i = _mm_loadu_si128(text.as_ptr().add(i).cast());
                let digit = digits(x);
                let marks = _mm_or_si128(
                    _mm_cmpeq_epi8(x, at),
                    _mm_or_si128(_mm_cmpeq_epi8(x, colon), _mm_cmpeq_epi8(x, dash)),
                );
                let mask = _mm_movemask_epi8(_mm_or_si128(digit, marks));
                if mask != 0 {
                    return i + mask.trailing_zeros() as usize;
                }
                i += 16;
            }
        }
        i
    }

    /// Passes over whole 16-byte blocks of digits; returns the offset of
    /// the first byte that is no digit, or of the first byte not in a whole
    /// block.
    #[inline]
    pub(super) fn digit_blocks(text: &[u8], mut i: usize) -> usize {
        // SAFETY: as in `skip_blocks`.
        unsafe {
            while i + 16 <= text.len() {
                let x: __m128i = _mm_loadu_si128(text.as_ptr().add(i).cast());
                let other = !_mm_movemask_epi8(digits(x)) & 0xFFFF;
                if other != 0 {
                    return i + other.trailing_zeros() as usize;
                }
                i += 16;
            }
        }
        i
    }

    /// Lanes of `x` holding an ASCII digit set to all ones.
    #[inline]
    unsafe fn digits(x: __m128i) -> __m128i {
        let zero = _mm_set1_epi8(b'0' as i8);
        let flip = _mm_set1_epi8(i8::MIN);
        // (b - '0') as u8 < 10, as a signed compare after flipping the sign bit.
        let ten = _mm_set1_epi8((10u8 ^ 0x80) as i8);
        _mm_cmplt_epi8(_mm_xor_si128(_mm_sub_epi8(x, zero), flip), ten)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stops_at_digits_and_marks_only() {
        let text = b"abcdefghijklmnopqrstuvwxyz ABC,.;!? \xe6\x89\x8b\xe6\x9c\xba 7 tail";
        assert_eq!(
            next_stop(text, 0),
            text.iter().position(|&b| b == b'7').unwrap()
        );
        for mark in [b'@', b':', b'-', b'0', b'9'] {
            let mut t = vec![b'x'; 40];
            t[33] = mark;
            assert_eq!(next_stop(&t, 0), 33, "{}", mark as char);
            assert_eq!(next_stop(&t, 34), 40);
        }
        assert_eq!(next_stop(b"", 0), 0);
        assert_eq!(next_stop(b"abc", 5), 3);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]
        #[test]
        fn same_as_looking_at_each_byte(text in prop::collection::vec(any::<u8>(), 0..100), from in 0usize..110) {
            let expected = (from..text.len()).find(|&i| is_stop(text[i])).unwrap_or(text.len());
            prop_assert_eq!(next_stop(&text, from), expected);
        }

        #[test]
        fn digit_runs_end_where_a_byte_loop_ends(
            text in prop::collection::vec(prop::sample::select(b"0123456789/:a \x80".to_vec()), 0..100),
            from in 0usize..100,
        ) {
            let from = from.min(text.len());
            let expected = (from..text.len()).find(|&i| !text[i].is_ascii_digit()).unwrap_or(text.len());
            prop_assert_eq!(digits_end(&text, from), expected);
        }
    }
}
