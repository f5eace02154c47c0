//! Finding the few places in a text where a value can start, 64 bytes at a
//! time.
//!
//! Most bytes of a log line can be passed over: words, punctuation, CJK
//! text, and most digits too. A log line of 230 bytes holds some 28 runs of
//! digits (dates, times, counters, hex fragments of ids), yet a run of
//! under 7 digits is no value of its own: it matters only when it may start
//! an IPv4 address (`10.`) or a chain of digit groups (`138 `, `2024-`).
//! So the scanner does not stop at every digit. [`Marks`] marks, for a
//! window of 64 bytes, only:
//!
//! - the last digit of a run of 7 or more that may be a value by its
//!   length, first digit and neighbours ([`super::long_run_may_count`]:
//!   11 digits starting with `1`, 15, 18, card lengths not starting with
//!   `1`, …), so that the 19-digit ids and 13-digit epochs of every log
//!   line are passed over; the next window's first byte tells whether a
//!   run ends on the last byte;
//! - a `.`, space or `-` between two digits (a run that may continue
//!   into an address or a chain), unless the run before it is 7 digits or
//!   longer (its own mark passes over it) or follows a letter or a `.`
//!   after a digit (`b9-8995` in a UUID, `3.11.2`: such a run starts no
//!   address or chain); a `.` only after 1 to 3 digits and with another
//!   `.` 2 to 4 bytes on, as the first of an address (`1345.80` and
//!   `12.5ms` can start nothing);
//! - a `:` or `-` with another one 3 bytes on (the first separator of a
//!   MAC address, `a4:5e:…`);
//! - every `@` (emails).
//!
//! The scanner visits the marked bytes in order and, for a digit mark,
//! goes back to the start of its run; it handles exactly the runs and
//! separators the byte-by-byte loop it replaces would have found worth a
//! look (a differential property test in `detect::tests` checks this).
//! Each mark visited costs some 20 ns, mostly mispredicted branches, so
//! leaving out the marks that can never make a value pays even when the
//! arithmetic that finds them grows.
//!
//! The classes of the 64 bytes are found with AVX-512BW where the CPU has
//! it (one compare per class, chosen once at run time; the last window of
//! a text, and all of a short one, loaded under a mask), else with SSE2
//! compares, 16 bytes per instruction (part of the x86-64 baseline), on a
//! copy padded with spaces where the window is short; elsewhere a plain
//! loop does the same, and a property test checks that they agree. The
//! marks are then plain arithmetic on 128-bit masks whose low half is the
//! window before: "the byte before is a digit" is a shift, "the run
//! reaching this byte follows a letter" is the letter mask spread over the
//! digits after it in three shifts (1, 2, then 4 bytes), and a long run's
//! start is the highest run start at or below its end.
//! The scanner asks for windows aligned on 64 bytes, so the window before
//! is nearly always the one it asked for last.
//!
//! [`digits_end`] and [`digits_start`] find where a run ends or starts with
//! one 16-byte compare: runs
//! are of every length, so a byte loop would mispredict its exit on nearly
//! every run.

/// Width of the windows [`Marks`] looks at.
pub(crate) const WINDOW: usize = 64;

/// Byte classes of one window, one bit per byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Classes {
    /// ASCII digits.
    digit: u64,
    /// ASCII letters.
    alpha: u64,
    /// `.`.
    dot: u64,
    /// `@`.
    at: u64,
    /// `:` and `-`, the separators of a MAC address.
    sep: u64,
    /// `.`, space and `-`: what may continue a short run of digits.
    next: u64,
}

/// The marks of a text, window by window (see the module docs).
pub(crate) struct Marks<'t> {
    text: &'t [u8],
    /// Where the window after the last one asked for starts.
    next_base: usize,
    /// Classes of the last window asked for.
    last: Classes,
    /// How classes are found on this CPU.
    classify: Classify,
}

impl<'t> Marks<'t> {
    pub(crate) fn new(text: &'t [u8]) -> Self {
        Marks {
            text,
            next_base: 0,
            last: Classes::default(),
            classify: classify(),
        }
    }

    /// The classes of the 64 bytes from `start` (which may lie before the
    /// text: `start < 0`); bytes outside the text read as spaces.
    fn classes_at(&self, start: isize) -> Classes {
        let text = self.text;
        if let Ok(first) = usize::try_from(start) {
            // A whole window, or the end of the text (a short unit, such
            // as a value of a dump, is all end).
            let bytes = text.get(first..).unwrap_or_default();
            // SAFETY: `classify` only gives functions this CPU can run,
            // and they take up to 64 bytes.
            return unsafe { (self.classify)(&bytes[..bytes.len().min(WINDOW)]) };
        }
        // A window starting before the text: the part of it inside the
        // text goes to `padded[skip..]`.
        let mut padded = [b' '; WINDOW];
        let skip = start.unsigned_abs();
        if skip < WINDOW {
            let n = (WINDOW - skip).min(text.len());
            padded[skip..skip + n].copy_from_slice(&text[..n]);
        }
        // SAFETY: as above.
        unsafe { (self.classify)(&padded) }
    }

    /// The marks of the window `text[base..base + WINDOW]`: bit `i`
    /// stands for byte `base + i`. Bytes past the end of the text read as
    /// spaces and are never marked.
    pub(crate) fn window(&mut self, base: usize) -> u64 {
        let c = self.classes_at(base as isize);
        // The window before, as the low half of 128-bit masks whose high
        // half is this one, so that shifting left by k looks k bytes back
        // across the border. Windows follow each other but after a jump.
        let before = if base == self.next_base {
            self.last
        } else {
            self.classes_at(base as isize - WINDOW as isize)
        };
        self.next_base = base + WINDOW;
        self.last = c;
        let text = self.text;
        let ahead = |k: usize| text.get(base + WINDOW + k).copied().unwrap_or(b' ');
        // A separator with another one 3 bytes on (the last 3 bytes of the
        // window look at the first 3 of the next).
        let sep_ahead = if c.sep >> 61 == 0 {
            0
        } else {
            (0..3).fold(0u64, |bits, k| {
                bits | u64::from(matches!(ahead(k), b':' | b'-')) << (61 + k)
            })
        };
        let mac = c.sep & ((c.sep >> 3) | sep_ahead);
        if c.digit == 0 {
            // Prose: no run ends or continues here.
            return mac | c.at;
        }
        let wide = |now: u64, then: u64| (u128::from(now) << 64) | u128::from(then);
        let high = |bits: u128| (bits >> 64) as u64;
        let digits = wide(c.digit, before.digit);
        let after_digit = high(digits << 1);
        let digit_next = (c.digit >> 1) | u64::from(ahead(0).is_ascii_digit()) << 63;
        // Digits at b and b-1, then b..b-3, then b..b-6: the 7th digit of a
        // run, or a later one.
        let two = digits & (digits << 1);
        let four = two & (two << 2);
        let seven = four & (four << 3);
        // Digits of a run that starts right after a letter, or after a `.`
        // that follows a digit, reached through up to 7 digits: such a
        // run is only ever a passport (after a letter, marked at its end
        // below), never the start of an address or a chain.
        let mut led = wide(c.alpha, before.alpha) | (wide(c.dot, before.dot) & (digits << 1));
        led |= (led << 1) & digits;
        led |= (led << 2) & two;
        led |= (led << 4) & four;
        // A digit before and after, the run before being short and free to
        // start a value.
        // A `.` after a run can only start an IPv4 address: after 1 to 3
        // digits, with the next `.` 2 to 4 bytes on (`10.1.`, `10.123.`).
        // Others (`1345.80`, `12.5ms`) are passed over; near the window's
        // end, where the next `.` would be in the next window, they are
        // kept.
        let dot_ahead = (c.dot >> 2) | (c.dot >> 3) | (c.dot >> 4) | u64::MAX << 60;
        let no_address = c.dot & (high(four << 1) | !dot_ahead);
        let joint = c.next & !no_address & after_digit & digit_next & !high((led | seven) << 1);
        // The last digits of runs of 7 or more, each marked when the whole
        // run may be a value (super::long_run_may_count).
        let mut ends = high(seven) & !digit_next;
        let mut long = 0;
        if ends != 0 {
            let starts = digits & !(digits << 1);
            while ends != 0 {
                let e = ends.trailing_zeros();
                ends &= ends - 1;
                // The start of the run: the last start at or before it,
                // in this window or the one before.
                let upto = starts & (u128::MAX >> (63 - e));
                if upto == 0 {
                    continue; // over 64 digits long
                }
                // Bit `i` stands for byte `base + i - 64`.
                let start = (base + 127 - upto.leading_zeros() as usize).checked_sub(WINDOW);
                let end = base + e as usize + 1;
                if start.is_some_and(|start| super::long_run_may_count(text, start, end)) {
                    long |= 1 << e;
                }
            }
        }
        long | joint | mac | c.at
    }
}

/// A way to find the [`Classes`] of a window: of up to [`WINDOW`] bytes,
/// the bytes after them reading as spaces. `unsafe` because the AVX-512
/// one may only be called where the CPU has AVX-512BW.
type Classify = unsafe fn(&[u8]) -> Classes;

/// `bytes` (at most `N` of them) followed by `fill`: the window the
/// classifiers without masked loads look at (spaces after the text), and
/// the 32 bytes of a [`Shape`] (line breaks after it).
fn padded<const N: usize>(bytes: &[u8], fill: u8) -> [u8; N] {
    let mut window = [fill; N];
    window[..bytes.len()].copy_from_slice(bytes);
    window
}

/// The fastest [`Classify`] this CPU runs, chosen once per process:
/// AVX-512BW (one compare per class for the 64 bytes), else SSE2 (part of
/// the x86-64 baseline), else a plain loop on other architectures.
fn classify() -> Classify {
    #[cfg(target_arch = "x86_64")]
    {
        if crate::cpu::avx512bw() {
            avx512::classes
        } else {
            sse2::classes
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        scalar_classes
    }
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn scalar_classes(bytes: &[u8]) -> Classes {
    let mut c = Classes::default();
    for (i, &b) in padded::<WINDOW>(bytes, b' ').iter().enumerate() {
        let bit = 1u64 << i;
        if b.is_ascii_digit() {
            c.digit |= bit;
        }
        if b.is_ascii_alphabetic() {
            c.alpha |= bit;
        }
        if b == b'.' {
            c.dot |= bit;
        }
        if b == b'@' {
            c.at |= bit;
        }
        if b == b':' || b == b'-' {
            c.sep |= bit;
        }
        if b == b'.' || b == b' ' || b == b'-' {
            c.next |= bit;
        }
    }
    c
}

/// End of the run of ASCII digits starting at `from` (`from` itself when
/// there is no digit there; `text.len()` when `from` is past the end).
#[inline]
pub(crate) fn digits_end(text: &[u8], from: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    let from = sse2::digit_blocks(text, from);
    text.get(from..)
        .and_then(|rest| rest.iter().position(|b| !b.is_ascii_digit()))
        .map_or(text.len(), |p| from + p)
}

/// Start of the run of ASCII digits ending just before `end`: the first
/// offset `s <= end` with `text[s..end]` all digits.
#[inline]
pub(crate) fn digits_start(text: &[u8], end: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    let end = sse2::digit_blocks_back(text, end);
    text[..end]
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |p| p + 1)
}

/// End of the date or timestamp at `s` when nothing in it can start a
/// value, so that its digit runs and separators need no look of their
/// own: `2024-05-17`, or `2024-05-17T15:23:45` (or a space for the `T`)
/// with an optional fraction of 1 to 9 digits after `.` or `,`. Logs and
/// dumps hold one or two per line, and each costs the scanner four marks
/// (a chain of groups, a MAC separator, a decimal point) that can never
/// make a value.
///
/// `None` whenever the shape could be part of something longer: a letter,
/// digit or joining punctuation before it, a longer fraction, or after it a
/// digit, `:`, `.`, `@`, or a space or `-` before a digit (the seconds
/// could start a chain `86 138 1234 5678`, a MAC, an address). The scanner then
/// looks at the runs one by one as usual; the differential tests in
/// `detect::tests` check that the two agree.
///
/// The shape is checked on the byte classes of the 32 bytes from `s`
/// ([`Shape`]), not byte by byte: a dump's table of orders (two
/// timestamps to a row of 100 bytes) scans 6 % faster so.
pub(crate) fn timestamp_end(text: &[u8], s: usize) -> Option<usize> {
    // Bits of the 32 bytes from `s`: the date `0000-00-00`, then
    // `T00:00:00`, then a fraction from byte 19.
    const DATE_DIGITS: u32 = 0b11_0110_1111;
    const DATE_DASHES: u32 = 1 << 4 | 1 << 7;
    const DATE: u32 = (1 << 10) - 1;
    const TIME_DIGITS: u32 = 0b110_1101_1000_0000_0000;
    const TIME_COLONS: u32 = 1 << 13 | 1 << 16;
    const TIME: u32 = ((1 << 19) - 1) & !DATE & !(1 << 10);
    let joins = |b: u8| b.is_ascii_alphanumeric() || b"-.:+_@/%\\".contains(&b);
    // Most digit runs are no date: a look at the fifth byte tells.
    if text.get(s + 4) != Some(&b'-') || (s > 0 && joins(text[s - 1])) {
        return None;
    }
    let b = Shape::at(text, s);
    if b.digit & DATE != DATE_DIGITS || b.dash & DATE_DASHES != DATE_DASHES {
        return None;
    }
    let mut end = 10;
    if b.tee & 1 << 10 != 0 && b.digit & TIME == TIME_DIGITS && b.colon & TIME_COLONS == TIME_COLONS
    {
        end = 19;
        if b.fraction & 1 << 19 != 0 && b.digit & 1 << 20 != 0 {
            let digits = (!(b.digit >> 20)).trailing_zeros();
            if digits > 9 {
                return None;
            }
            end = 20 + digits as usize;
        }
    }
    // What joins digits into a value: `.` (addresses), `:` (MACs), a space
    // or `-` before more digits (chains), `@` (emails).
    let at = |bits: u32, k: usize| bits >> (end + k) & 1 != 0;
    let glued = at(b.digit | b.glue, 0) || (at(b.chain, 0) && at(b.digit, 1));
    (!glued).then_some(s + end)
}

/// Classes of the 32 bytes from an offset, one bit per byte, as
/// [`timestamp_end`] needs them: it tells a timestamp apart from what
/// continues it by a few masks rather than a loop over its 19 to 29
/// bytes, each byte a branch. Bytes past the end of the text are in no
/// class (as a line break).
#[derive(Debug, Default, PartialEq, Eq)]
struct Shape {
    digit: u32,
    /// `-`.
    dash: u32,
    /// `:`.
    colon: u32,
    /// `T` or space, between date and time.
    tee: u32,
    /// `.` or `,`, before a fraction of a second.
    fraction: u32,
    /// `:`, `.` or `@`: glue a value to digits before them.
    glue: u32,
    /// Space or `-`: continue a chain of digit groups.
    chain: u32,
}

impl Shape {
    const LEN: usize = 32;

    fn at(text: &[u8], s: usize) -> Shape {
        match text.get(s..s + Shape::LEN) {
            Some(bytes) => Shape::of(bytes.try_into().expect("32 bytes")),
            // Short units (a dump's values) end within the 32 bytes.
            None => Shape::of(&padded(text.get(s..).unwrap_or_default(), b'\n')),
        }
    }

    #[inline]
    fn of(bytes: &[u8; Shape::LEN]) -> Shape {
        #[cfg(target_arch = "x86_64")]
        {
            sse2::shape(bytes)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Shape::bytewise(bytes)
        }
    }

    /// The shape of 32 bytes, byte by byte (what [`sse2::shape`] finds
    /// 16 bytes at a time).
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    fn bytewise(bytes: &[u8; Shape::LEN]) -> Shape {
        let mut b = Shape::default();
        for (i, &byte) in bytes.iter().enumerate() {
            let bit = 1u32 << i;
            let set = |class: &mut u32, yes: bool| *class |= bit * u32::from(yes);
            set(&mut b.digit, byte.is_ascii_digit());
            set(&mut b.dash, byte == b'-');
            set(&mut b.colon, byte == b':');
            set(&mut b.tee, matches!(byte, b'T' | b' '));
            set(&mut b.fraction, matches!(byte, b'.' | b','));
            set(&mut b.glue, matches!(byte, b':' | b'.' | b'@'));
            set(&mut b.chain, matches!(byte, b' ' | b'-'));
        }
        b
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Classes, WINDOW};
    use std::arch::x86_64::{
        _mm512_cmpeq_epi8_mask, _mm512_cmplt_epu8_mask, _mm512_mask_loadu_epi8, _mm512_or_si512,
        _mm512_set1_epi8, _mm512_sub_epi8,
    };

    /// [`super::scalar_classes`], the 64 bytes at once. Fewer bytes are
    /// loaded under a mask, spaces in the other lanes: a short unit (a
    /// dump's value) needs no copy into a padded window.
    ///
    /// # Safety
    /// The CPU must have AVX-512BW.
    #[target_feature(enable = "avx512bw")]
    pub(super) unsafe fn classes(bytes: &[u8]) -> Classes {
        let n = bytes.len().min(WINDOW);
        let lanes = if n == WINDOW { u64::MAX } else { (1 << n) - 1 };
        // SAFETY: the lanes loaded are the first `n` bytes of `bytes`; the
        // others are not read (masked loads do not touch them).
        let x = unsafe {
            _mm512_mask_loadu_epi8(_mm512_set1_epi8(b' ' as i8), lanes, bytes.as_ptr().cast())
        };
        let eq = |b: u8| _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8(b as i8));
        // (b - lo) as u8 < len.
        let in_range = |x, lo: u8, len: u8| {
            _mm512_cmplt_epu8_mask(
                _mm512_sub_epi8(x, _mm512_set1_epi8(lo as i8)),
                _mm512_set1_epi8(len as i8),
            )
        };
        let (dash, dot) = (eq(b'-'), eq(b'.'));
        Classes {
            digit: in_range(x, b'0', 10),
            // ASCII letters are `a`..=`z` with the case bit set.
            alpha: in_range(_mm512_or_si512(x, _mm512_set1_epi8(0x20)), b'a', 26),
            dot,
            at: eq(b'@'),
            sep: eq(b':') | dash,
            next: dot | eq(b' ') | dash,
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use super::{Classes, Shape, WINDOW};
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8, _mm_sub_epi8, _mm_xor_si128,
    };

    /// [`super::scalar_classes`], 16 bytes per compare.
    #[inline]
    pub(super) fn classes(bytes: &[u8]) -> Classes {
        let padded;
        let window: &[u8; WINDOW] = match bytes.try_into() {
            Ok(window) => window,
            Err(_) => {
                padded = super::padded(bytes, b' ');
                &padded
            }
        };
        let mut c = Classes::default();
        // SAFETY: SSE2 is part of the x86-64 baseline, so these intrinsics
        // are always available; each load reads 16 bytes inside `window`
        // (offsets 0, 16, 32, 48 of 64), unaligned loads being allowed.
        unsafe {
            let at = _mm_set1_epi8(b'@' as i8);
            let colon = _mm_set1_epi8(b':' as i8);
            let dash = _mm_set1_epi8(b'-' as i8);
            let dot = _mm_set1_epi8(b'.' as i8);
            let space = _mm_set1_epi8(b' ' as i8);
            // ASCII letters are `a`..=`z` with the case bit set.
            let lower = _mm_set1_epi8(0x20);
            for part in 0..WINDOW / 16 {
                let x: __m128i = _mm_loadu_si128(window.as_ptr().add(16 * part).cast());
                let is_dash = _mm_cmpeq_epi8(x, dash);
                let is_dot = _mm_cmpeq_epi8(x, dot);
                let bits = |lanes: __m128i| (_mm_movemask_epi8(lanes) as u32 as u64) << (16 * part);
                c.digit |= bits(digits(x));
                c.alpha |= bits(in_range(_mm_or_si128(x, lower), b'a', 26));
                c.dot |= bits(is_dot);
                c.at |= bits(_mm_cmpeq_epi8(x, at));
                c.sep |= bits(_mm_or_si128(_mm_cmpeq_epi8(x, colon), is_dash));
                c.next |= bits(_mm_or_si128(
                    _mm_or_si128(is_dot, _mm_cmpeq_epi8(x, space)),
                    is_dash,
                ));
            }
        }
        c
    }

    /// [`super::Shape::bytewise`], 16 bytes per compare.
    #[inline]
    pub(super) fn shape(bytes: &[u8; Shape::LEN]) -> Shape {
        let mut b = Shape::default();
        // SAFETY: as in `classes`; the loads read 16 bytes at offsets 0
        // and 16 of 32.
        unsafe {
            let eq = |x, byte: u8| _mm_cmpeq_epi8(x, _mm_set1_epi8(byte as i8));
            for part in 0..2 {
                let x: __m128i = _mm_loadu_si128(bytes.as_ptr().add(16 * part).cast());
                let bits = |lanes: __m128i| (_mm_movemask_epi8(lanes) as u32) << (16 * part);
                let (dash, colon, space, dot) =
                    (eq(x, b'-'), eq(x, b':'), eq(x, b' '), eq(x, b'.'));
                b.digit |= bits(digits(x));
                b.dash |= bits(dash);
                b.colon |= bits(colon);
                b.tee |= bits(_mm_or_si128(space, eq(x, b'T')));
                b.fraction |= bits(_mm_or_si128(dot, eq(x, b',')));
                b.glue |= bits(_mm_or_si128(_mm_or_si128(colon, dot), eq(x, b'@')));
                b.chain |= bits(_mm_or_si128(space, dash));
            }
        }
        b
    }

    /// Passes over whole 16-byte blocks of digits; returns the offset of
    /// the first byte that is no digit, or of the first byte not in a whole
    /// block.
    #[inline]
    pub(super) fn digit_blocks(text: &[u8], mut i: usize) -> usize {
        // SAFETY: as in `classes`; every load reads 16 bytes at `i` with
        // `i + 16 <= text.len()`.
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

    /// Goes back over whole 16-byte blocks of digits ending at `end`;
    /// returns the start of the run when a block holds its first digit,
    /// else the end of the first block not gone over (the caller looks at
    /// the bytes before one by one).
    #[inline]
    pub(super) fn digit_blocks_back(text: &[u8], mut end: usize) -> usize {
        // SAFETY: as in `classes`; every load reads the 16 bytes before
        // `end`, with `16 <= end <= text.len()`.
        unsafe {
            while end >= 16 && end <= text.len() {
                let x: __m128i = _mm_loadu_si128(text.as_ptr().add(end - 16).cast());
                let other = !_mm_movemask_epi8(digits(x)) as u32 & 0xFFFF;
                if other != 0 {
                    return end - 16 + (32 - other.leading_zeros()) as usize;
                }
                end -= 16;
            }
        }
        end
    }

    /// Lanes of `x` holding an ASCII digit set to all ones.
    #[inline]
    unsafe fn digits(x: __m128i) -> __m128i {
        in_range(x, b'0', 10)
    }

    /// The lanes of `x` in `lo..lo + len`.
    #[inline]
    unsafe fn in_range(x: __m128i, lo: u8, len: u8) -> __m128i {
        let flip = _mm_set1_epi8(i8::MIN);
        // (b - lo) as u8 < len, as a signed compare after flipping the sign bit.
        let below = _mm_set1_epi8((len ^ 0x80) as i8);
        _mm_cmplt_epi8(
            _mm_xor_si128(_mm_sub_epi8(x, _mm_set1_epi8(lo as i8)), flip),
            below,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bytes that exercise every class and the boundaries between them.
    fn text_strategy() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop::sample::select(b"0123456789 .-:@a\n\x80".to_vec()),
            0..300,
        )
    }

    fn marked(marks: u64) -> Vec<u32> {
        (0..64).filter(|i| marks >> i & 1 == 1).collect()
    }

    #[test]
    fn marks_a_run_end_a_digit_joint_a_mac_separator_and_at() {
        //            0         1         2         3         4         5
        //            012345678901234567890123456789012345678901234567890123456
        let text = b"ab 13812345678 12:34 x-1 a@b 15:23:45 12 34 b12-34 1.23-4";
        // 13: the last digit of a run that may be a mobile number; 26:
        // `@`; 31: `:` with another 3 on; 37, 40 and 50: a space or `-`
        // between digits. Not 14 (the run before is long: its own mark
        // passes it), 17 (`:` after a digit, no MAC shape), 20 and 24 (a
        // space after a digit only), 22 (`-` after a letter), 47 (the run
        // before follows a letter), 52 (a `.` with no `.` 2 to 4 bytes on:
        // no address), 55 (the run before follows `1.`).
        assert_eq!(
            marked(Marks::new(text).window(0)),
            vec![13, 26, 31, 37, 40, 50]
        );
    }

    #[test]
    fn marks_a_dot_only_where_an_address_may_start() {
        //            0         1         2         3
        //            0123456789012345678901234567890123
        let text = b"10.1.2.3 1345.80 12.5 ms 192.168.0.1";
        // 2 and 28: 1 to 3 digits, then a `.` with another 2 to 4 bytes
        // on. Not 13 (4 digits before), 19 (no `.` after). The dots
        // after the first of an address follow a digit and a `.`.
        assert_eq!(marked(Marks::new(text).window(0)), vec![2, 28]);
    }

    #[test]
    fn marks_only_long_runs_that_may_be_values() {
        let text = b"ts=1718695425145 EA1234567 id=1790757761088459156 6222021234567890128 ";
        let mut marks = Marks::new(text);
        // 25: the end of a passport; not 15 (13 digits, not `86…`) nor 48
        // (19 digits starting with `1`: no card).
        assert_eq!(marked(marks.window(0)), vec![25]);
        // 68: 19 digits that may be a card, their end in the next window.
        assert_eq!(marked(marks.window(64)), vec![4]);
        let may_count = |text: &str, run: &str| {
            crate::detect::long_run_may_count(text.as_bytes(), 1, 1 + run.len())
        };
        for (run, alone) in [
            ("13812345678", true),
            ("23812345678", false),
            ("8613812345678", true),
            ("1718695425145", false),
            ("490154203237518", true),
            ("110105194912310029", true),
            ("1234567890123456", false),
            ("6222021234567890", true),
            ("6222021234567890128", true),
            ("1790757761088459156", false),
            ("12345678901234567", false),
            ("123456789012", false),
            ("12345678901234567890", false),
        ] {
            assert_eq!(may_count(&format!(" {run} "), run), alone, "{run}");
            assert!(!may_count(&format!("a{run} "), run), "a{run}");
            assert!(!may_count(&format!("1.{run} "), run), "1.{run}");
            assert!(!may_count(&format!(" {run}.5"), run), "{run}.5");
            assert!(!may_count(&format!(" {run}@x"), run), "{run}@x");
            // Only an ID has a letter after its digits: 17 and an `X`.
            let before_x = may_count(&format!(" {run}X"), run);
            assert_eq!(before_x, run.len() == 17, "{run}X");
        }
        let passport = |text: &str| {
            crate::detect::long_run_may_count(text.as_bytes(), text.len() - 9, text.len() - 1)
        };
        assert!(passport(" G12345678 "));
        assert!(passport(" EA1234567 "));
        assert!(!passport(" E12345678x"), "glued to what follows");
        assert!(!passport("xG12345678 "), "glued to what is before");
        assert!(!passport(" Z12345678 "), "no passport letter");
    }

    #[test]
    fn a_run_across_windows_is_seen_whole() {
        let mut text = vec![b'x'; 60];
        text.extend_from_slice(b" 13812345678 ");
        // Digits at 61..72: the last (71) is in the second window.
        let mut marks = Marks::new(&text);
        assert_eq!(marks.window(0), 0);
        assert_eq!(marks.window(64), 1 << 7, "following window");
        assert_eq!(Marks::new(&text).window(64), 1 << 7, "after a jump");
        assert_eq!(Marks::new(&text).window(63), 1 << 8, "unaligned");
        // A run ending on the last byte of a window, or going on past it.
        let mut text = vec![b'x'; 52];
        text.extend_from_slice(b" 13812345678 ");
        assert_eq!(Marks::new(&text).window(0), 1 << 63);
        text[64] = b'9';
        assert_eq!(Marks::new(&text).window(0), 0, "12 digits");
    }

    #[test]
    fn timestamps_are_passed_over_only_when_nothing_can_follow_on() {
        let end = |text: &str, s: usize| timestamp_end(text.as_bytes(), s);
        assert_eq!(end("2024-05-17T15:23:45.145+08:00 INFO", 0), Some(23));
        assert_eq!(end("at 2024-05-17 15:23:45,145 INFO", 3), Some(26));
        assert_eq!(end("('2024-05-24 19:03:58','x')", 2), Some(21));
        assert_eq!(end("2024-05-17T15:23:45Z", 0), Some(19));
        assert_eq!(end("d=2024-05-17,", 2), Some(12));
        assert_eq!(end("2024-05-17", 0), Some(10));
        // Joined to what is before or after.
        assert_eq!(end("x2024-05-17 15:23:45 ", 1), None);
        assert_eq!(end("9-2024-05-17 15:23:45 ", 2), None);
        assert_eq!(end("2024-05-17 15:23:45:67:89:ab", 0), None);
        assert_eq!(end("2024-05-17 15:23:86 138 1234 5678", 0), None);
        assert_eq!(end("2024-05-17 15:23:45.1.2.3", 0), None);
        assert_eq!(end("2024-05-17 15:23:45.", 0), None);
        assert_eq!(end("2024-05-17 15:23:45.1234567890 ", 0), None);
        assert_eq!(end("2024-05-17 15:23:45,13812345678", 0), None);
        assert_eq!(end("2024-05-17 13812345678", 0), None);
        assert_eq!(end("2024-05-17T15:23", 0), Some(10));
        assert_eq!(end("2024-05-17@x.cn", 0), None);
        // Not the shape.
        assert_eq!(end("2024-5-17 ", 0), None);
        assert_eq!(end("2024-05-1", 0), None);
    }

    /// [`timestamp_end`] as it was written first, byte by byte: the
    /// reference its masks are checked against.
    fn timestamp_end_bytewise(text: &[u8], s: usize) -> Option<usize> {
        const DATE: &[u8; 10] = b"0000-00-00";
        const TIME: &[u8; 9] = b"T00:00:00";
        let fits = |at: usize, shape: &[u8]| {
            text.get(at..at + shape.len()).is_some_and(|bytes| {
                bytes.iter().zip(shape).all(|(&b, &want)| match want {
                    b'0' => b.is_ascii_digit(),
                    b'T' => b == b'T' || b == b' ',
                    _ => b == want,
                })
            })
        };
        let joins = |b: u8| b.is_ascii_alphanumeric() || b"-.:+_@/%\\".contains(&b);
        if (s > 0 && joins(text[s - 1])) || !fits(s, DATE) {
            return None;
        }
        let mut end = s + DATE.len();
        if fits(end, TIME) {
            end += TIME.len();
            if matches!(text.get(end), Some(b'.' | b','))
                && text.get(end + 1).is_some_and(u8::is_ascii_digit)
            {
                let fraction = digits_end(text, end + 1);
                if fraction - end - 1 > 9 {
                    return None;
                }
                end = fraction;
            }
        }
        let after = |k: usize| text.get(end + k).copied().unwrap_or(b'\n');
        let glued = after(0).is_ascii_digit()
            || matches!(after(0), b':' | b'.' | b'@')
            || (matches!(after(0), b' ' | b'-') && after(1).is_ascii_digit());
        (!glued).then_some(end)
    }

    #[test]
    fn digit_runs_end_at_the_first_other_byte() {
        assert_eq!(digits_end(b"12345678901234567890123x", 0), 23);
        assert_eq!(digits_end(b"12a", 0), 2);
        assert_eq!(digits_end(b"a", 0), 0);
        assert_eq!(digits_end(b"123", 3), 3);
        assert_eq!(digits_start(b"x12345678901234567890123", 24), 1);
        assert_eq!(digits_start(b"12345678901234567890123", 23), 0);
        assert_eq!(digits_start(b"a1", 1), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]
        #[test]
        fn simd_classes_are_the_scalar_classes(
            text in prop::collection::vec(any::<u8>(), 64),
            len in 0usize..=64,
        ) {
            // Whole windows, and short ones (spaces after them).
            for bytes in [&text[..], &text[..len]] {
                // SAFETY: `classify` only gives functions this CPU can run.
                prop_assert_eq!(unsafe { classify()(bytes) }, scalar_classes(bytes));
                #[cfg(target_arch = "x86_64")]
                prop_assert_eq!(sse2::classes(bytes), scalar_classes(bytes));
            }
            let mut padded = text[..len].to_vec();
            padded.resize(WINDOW, b' ');
            prop_assert_eq!(scalar_classes(&text[..len]), scalar_classes(&padded));
        }

        #[test]
        fn timestamps_end_where_the_bytewise_check_ends(
            head in prop::sample::select(vec!["", "x", " ", "-", "'", "9"]),
            date in prop::sample::select(vec!["2024-05-17", "2024-5-17", "2024-05-1", "2024-05-17"]),
            tee in prop::sample::select(vec!["T", " ", "x", "", "T"]),
            time in prop::sample::select(vec!["15:23:45", "15:23", "15:2x:45", "15:23:45"]),
            dot in prop::sample::select(vec!["", ".", ",", ":", "."]),
            fraction in 0usize..13,
            tail in prop::collection::vec(
                prop::sample::select(vec![
                    " ", "1", "-", ":", ".", "@", "x", "\n", "+08:00", "12", "/", "'", "Z",
                ]),
                0..4,
            ),
            cut in 0usize..80,
        ) {
            let text = [head, date, tee, time, dot, &"7".repeat(fraction), &tail.concat()].concat();
            let text = &text.as_bytes()[..cut.min(text.len())];
            for s in 0..text.len() {
                prop_assert_eq!(timestamp_end(text, s), timestamp_end_bytewise(text, s), "at {}", s);
            }
        }

        #[test]
        fn simd_shapes_are_the_bytewise_shapes(text in prop::collection::vec(any::<u8>(), 32)) {
            let bytes: &[u8; Shape::LEN] = text.as_slice().try_into().unwrap();
            #[cfg(target_arch = "x86_64")]
            prop_assert_eq!(Shape::of(bytes), Shape::bytewise(bytes));
            let cut = &text[..text.len() - usize::from(bytes[31]) % 32];
            let mut padded = [b'\n'; Shape::LEN];
            padded[..cut.len()].copy_from_slice(cut);
            prop_assert_eq!(Shape::at(cut, 0), Shape::bytewise(&padded));
        }

        #[test]
        fn digit_runs_start_where_a_byte_loop_starts(text in text_strategy(), end in 0usize..300) {
            let end = end.min(text.len());
            let expected = (0..end).rev().find(|&i| !text[i].is_ascii_digit()).map_or(0, |i| i + 1);
            prop_assert_eq!(digits_start(&text, end), expected);
        }

        #[test]
        fn digit_runs_end_where_a_byte_loop_ends(text in text_strategy(), from in 0usize..300) {
            let from = from.min(text.len());
            let expected = (from..text.len()).find(|&i| !text[i].is_ascii_digit()).unwrap_or(text.len());
            prop_assert_eq!(digits_end(&text, from), expected);
        }
    }
}
