//! A BIFF8 writer: synthetic `.xls` workbooks for the tests, the
//! benchmarks and [`crate::synth::xls_roster`], the mirror of `xls.rs` and
//! `cfb.rs` (whose record types and layout it shares).
//!
//! It writes what Excel writes for the cells it is given: a compound file
//! of 512-byte sectors (the stream in the mini stream when it is under
//! 4096 bytes), workbook globals with `FORMAT`, `XF`, `BOUNDSHEET` and a
//! shared-string table split over `CONTINUE` records, then the sheets.

use super::cfb::{END_OF_CHAIN, MINI_CUTOFF, ROOT, STREAM};
use super::xls::{BOF, BOUNDSHEET, CONTINUE, EOF, FORMAT, LABELSST, NUMBER, SST, XF};

/// A compound file holding one stream, `name`: in the mini stream when
/// it is under 4096 bytes, else in sectors of its own.
pub(crate) fn compound_file(name: &str, stream: &[u8]) -> Vec<u8> {
    const SECTOR: usize = 512;
    const FREE: u32 = 0xFFFF_FFFF;
    let mini = (stream.len() as u64) < MINI_CUTOFF;
    let pad = |bytes: &[u8], to: usize| {
        let mut v = bytes.to_vec();
        v.resize(bytes.len().div_ceil(to).max(1) * to, 0);
        v
    };
    let payload = pad(&pad(stream, 64), SECTOR);
    let data_sectors = payload.len() / SECTOR;
    // Sectors: the FAT, the DIFAT (where the FAT is, past the 109 places
    // in the header), the directory, the mini FAT, the data.
    let others = 1 + usize::from(mini) + data_sectors;
    let difat_for = |fat: usize| fat.saturating_sub(109).div_ceil(127);
    let mut fat_sectors = 1;
    while fat_sectors * 128 < fat_sectors + difat_for(fat_sectors) + others {
        fat_sectors += 1;
    }
    let difat_sectors = difat_for(fat_sectors);
    let dir = fat_sectors + difat_sectors;
    let mini_fat = dir + 1;
    let first_data = dir + 1 + usize::from(mini);
    let mut fat = vec![FREE; fat_sectors * 128];
    fat[..fat_sectors].fill(0xFFFF_FFFD);
    fat[fat_sectors..dir].fill(0xFFFF_FFFC);
    fat[dir] = END_OF_CHAIN;
    if mini {
        fat[mini_fat] = END_OF_CHAIN;
    }
    let end = first_data + data_sectors;
    for (entry, next) in fat[first_data..end].iter_mut().zip(first_data + 1..) {
        *entry = if next < end {
            next as u32
        } else {
            END_OF_CHAIN
        };
    }
    let mut difat = Vec::new();
    for d in 0..difat_sectors {
        for k in 0..127 {
            let i = 109 + d * 127 + k;
            let v = if i < fat_sectors { i as u32 } else { FREE };
            difat.extend_from_slice(&v.to_le_bytes());
        }
        let next = if d + 1 < difat_sectors {
            (fat_sectors + d + 1) as u32
        } else {
            END_OF_CHAIN
        };
        difat.extend_from_slice(&next.to_le_bytes());
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1");
    out.extend_from_slice(&[0; 16]);
    for v in [0x3Eu16, 3, 0xFFFE, 9, 6] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&[0; 6]);
    let mini_fat_at = if mini { mini_fat as u32 } else { END_OF_CHAIN };
    for v in [
        0,
        fat_sectors as u32,
        dir as u32,
        0,
        MINI_CUTOFF as u32,
        mini_fat_at,
        u32::from(mini),
        if difat_sectors > 0 {
            fat_sectors as u32
        } else {
            END_OF_CHAIN
        },
        difat_sectors as u32,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for i in 0..109 {
        let v = if i < fat_sectors { i as u32 } else { FREE };
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in &fat {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend(difat);
    let entry = |name: &str, kind: u8, child: u32, start: u32, size: u64| {
        let mut e: Vec<u8> = name
            .encode_utf16()
            .chain([0])
            .flat_map(u16::to_le_bytes)
            .collect();
        let len = if name.is_empty() { 0 } else { e.len() as u16 };
        e.resize(64, 0);
        e.extend_from_slice(&len.to_le_bytes());
        e.extend_from_slice(&[kind, 1]);
        for v in [FREE, FREE, child] {
            e.extend_from_slice(&v.to_le_bytes());
        }
        e.extend_from_slice(&[0; 36]);
        e.extend_from_slice(&start.to_le_bytes());
        e.extend_from_slice(&size.to_le_bytes());
        e
    };
    let (root_start, root_size, start) = if mini {
        (first_data as u32, payload.len() as u64, 0)
    } else {
        (END_OF_CHAIN, 0, first_data as u32)
    };
    out.extend(entry("Root Entry", ROOT, 1, root_start, root_size));
    out.extend(entry(name, STREAM, FREE, start, stream.len() as u64));
    out.extend(entry("", 0, FREE, 0, 0));
    out.extend(entry("", 0, FREE, 0, 0));
    if mini {
        let n = stream.len().div_ceil(64).max(1);
        let mut table = vec![FREE; 128];
        for (i, v) in table.iter_mut().enumerate().take(n) {
            *v = if i + 1 < n {
                i as u32 + 1
            } else {
                END_OF_CHAIN
            };
        }
        for v in table {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out.extend_from_slice(&payload);
    out
}

/// A BIFF record.
pub(crate) fn record(kind: u16, data: &[u8]) -> Vec<u8> {
    let mut r = kind.to_le_bytes().to_vec();
    r.extend_from_slice(&(data.len() as u16).to_le_bytes());
    r.extend_from_slice(data);
    r
}

/// Whether `s` needs 2 bytes per character (else Latin-1, 1 byte).
fn is_wide(s: &str) -> bool {
    s.chars().any(|c| c as u32 > 0xFF)
}

/// The characters of `s`, 1 or 2 bytes each.
fn char_bytes(s: &str, wide: bool) -> Vec<Vec<u8>> {
    if wide {
        s.encode_utf16().map(|u| u.to_le_bytes().to_vec()).collect()
    } else {
        s.chars().map(|c| vec![c as u8]).collect()
    }
}

/// An `XLUnicodeString` (16-bit count, flags, characters).
pub(crate) fn unicode(s: &str) -> Vec<u8> {
    let wide = is_wide(s);
    let chars = char_bytes(s, wide);
    let mut out = (chars.len() as u16).to_le_bytes().to_vec();
    out.push(u8::from(wide));
    out.extend(chars.concat());
    out
}

/// An `SST` record and its `CONTINUE`s, no body over `limit` bytes:
/// strings are split inside their characters, as Excel does, with the
/// width flag starting each continuation.
fn sst(strings: &[String], limit: usize) -> Vec<u8> {
    let mut bodies = vec![Vec::new()];
    let n = strings.len() as u32;
    bodies[0].extend_from_slice(&n.to_le_bytes());
    bodies[0].extend_from_slice(&n.to_le_bytes());
    for s in strings {
        let units: Vec<u16> = s.encode_utf16().collect();
        let needs_wide = |from: usize| units[from..].iter().any(|&u| u > 0xFF);
        let mut wide = needs_wide(0);
        if bodies.last().unwrap().len() + 3 > limit {
            bodies.push(Vec::new());
        }
        let body = bodies.last_mut().unwrap();
        body.extend_from_slice(&(units.len() as u16).to_le_bytes());
        body.push(u8::from(wide));
        for (i, &u) in units.iter().enumerate() {
            let width = if wide { 2 } else { 1 };
            if bodies.last().unwrap().len() + width > limit {
                // A continuation states its own width, as Excel does:
                // narrow when the rest of the string allows.
                wide = needs_wide(i);
                bodies.push(vec![u8::from(wide)]);
            }
            let body = bodies.last_mut().unwrap();
            if wide {
                body.extend_from_slice(&u.to_le_bytes());
            } else {
                body.push(u as u8);
            }
        }
    }
    let mut out = record(SST, &bodies[0]);
    for body in &bodies[1..] {
        out.extend(record(CONTINUE, body));
    }
    out
}

/// A cell record's common head: row, column, XF.
pub(crate) fn cell_head(row: u16, col: u16, xf: u16) -> Vec<u8> {
    [row, col, xf]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect()
}

/// A BIFF8 workbook stream: `sheets` of `(name, type, records)`, with
/// the shared strings and the XF formats given (XF `i` uses number
/// format `xf_formats[i]`; `formats` are the custom ones).
pub(crate) fn workbook(
    sheets: &[(&str, u8, Vec<u8>)],
    strings: &[String],
    formats: &[(u16, &str)],
    xf_formats: &[u16],
) -> Vec<u8> {
    let bof = |dt: u16| {
        let mut d = [0x0600u16, dt, 0, 0].map(u16::to_le_bytes).concat();
        d.extend_from_slice(&[0; 8]);
        record(BOF, &d)
    };
    let globals = |offsets: &[u32]| {
        let mut g = bof(5);
        for (id, code) in formats {
            let mut d = id.to_le_bytes().to_vec();
            d.extend(unicode(code));
            g.extend(record(FORMAT, &d));
        }
        for f in xf_formats {
            let mut d = [0u16, *f, 0, 0, 0, 0, 0, 0, 0, 0]
                .map(u16::to_le_bytes)
                .concat();
            d.truncate(20);
            g.extend(record(XF, &d));
        }
        for ((name, kind, _), at) in sheets.iter().zip(offsets) {
            let mut d = at.to_le_bytes().to_vec();
            d.extend_from_slice(&[0, *kind]);
            let u = unicode(name);
            // A short string: an 8-bit count.
            d.push(u[0]);
            d.extend_from_slice(&u[2..]);
            g.extend(record(BOUNDSHEET, &d));
        }
        g.extend(sst(strings, 100));
        g.extend(record(EOF, &[]));
        g
    };
    let mut offsets = vec![0; sheets.len()];
    let mut at = globals(&offsets).len() as u32;
    let mut body = Vec::new();
    for ((_, kind, records), offset) in sheets.iter().zip(&mut offsets) {
        *offset = at;
        let mut s = bof(if *kind == 2 { 0x20 } else { 0x10 });
        s.extend_from_slice(records);
        s.extend(record(EOF, &[]));
        at += s.len() as u32;
        body.extend(s);
    }
    let mut stream = globals(&offsets);
    stream.extend(body);
    stream
}

/// The number a roster cell holding `text` is written as: digits, up to
/// 15 of them (a phone stored as a number); other text is a string.
pub(super) fn number_cell(text: &str) -> Option<f64> {
    let digits = text.len() <= 15 && text.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| text.parse().ok()).flatten()
}

/// A one-sheet workbook named `sheet` of the rows given: numbers of up to
/// 15 digits as `NUMBER` cells (a phone stored as a number), other text as
/// shared strings.
pub(crate) fn roster(sheet: &str, rows: &[Vec<String>]) -> Vec<u8> {
    let mut strings: Vec<String> = Vec::new();
    let mut records = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        for (c, text) in row.iter().enumerate() {
            let mut data = cell_head(r as u16, c as u16, 0);
            match number_cell(text) {
                Some(n) => {
                    data.extend_from_slice(&n.to_le_bytes());
                    records.extend(record(NUMBER, &data));
                }
                None => {
                    data.extend_from_slice(&(strings.len() as u32).to_le_bytes());
                    strings.push(text.clone());
                    records.extend(record(LABELSST, &data));
                }
            }
        }
    }
    let stream = workbook(&[(sheet, 0, records)], &strings, &[], &[0]);
    compound_file("Workbook", &stream)
}
