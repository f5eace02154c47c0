//! A zip archive's central directory, read in slices so that memory does
//! not grow with the number of members.
//!
//! The `zip` crate reads the whole central directory into memory when an
//! archive is opened: about 700 bytes per member, so a backup zip of
//! 300 000 files cost 210 MB before its first member was read. Its entries
//! are only ever visited in order here, so the directory is cut into
//! slices of at most [`SLICE_ENTRIES`] entries and [`SLICE_BYTES`] bytes,
//! and the crate opens one slice at a time through a [`Slice`] view: the
//! archive's bytes up to the end of that slice, followed by end records
//! made for it (a ZIP64 end of central directory, its locator and the
//! classic end record, which together say where the slice starts, how long
//! it is and how many entries it holds). The crate still parses every entry
//! and reads every member itself; this module only finds where the
//! directory is and how many entries it claims ([`locate`]: a workbook or
//! document, whose readers open the whole directory, is refused past
//! `MAX_DOCUMENT_PARTS`) and where its entries end ([`measure`]), reading
//! a 46-byte fixed header per entry.
//!
//! Anything unexpected in the end records (a multi-disk archive, a
//! directory that does not start where its records say) makes [`locate`]
//! give up, and the caller opens the archive whole as before, so the
//! crate's own tolerance of odd archives and its error messages are kept.

use std::io::{self, Read, Seek, SeekFrom};

/// Most entries in one slice (the crate keeps about 700 bytes per entry).
pub(super) const SLICE_ENTRIES: u64 = 8192;

/// A slice ends after the entry that reaches this many bytes (names, extra
/// fields and comments may be long).
pub(super) const SLICE_BYTES: u64 = 4 << 20;

/// End of central directory record: signature and fixed length.
const EOCD: (&[u8; 4], u64) = (b"PK\x05\x06", 22);
/// ZIP64 end of central directory locator.
const LOCATOR: (&[u8; 4], u64) = (b"PK\x06\x07", 20);
/// ZIP64 end of central directory record (without extensible data).
const EOCD64: (&[u8; 4], u64) = (b"PK\x06\x06", 56);
/// Central directory file header: signature and fixed length.
const ENTRY: (&[u8; 4], u64) = (b"PK\x01\x02", 46);
/// Longest archive comment, which may follow the end record.
const MAX_COMMENT: u64 = 0xFFFF;

/// Where an archive's central directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Directory {
    /// Offset of its first entry in the reader.
    pub start: u64,
    /// Its length in bytes.
    pub size: u64,
    /// The number of entries the end records give.
    pub entries: u64,
    /// Bytes before the archive proper (a self-extracting stub): offsets
    /// recorded in the archive are this much lower than in the reader.
    pub offset: u64,
}

impl Directory {
    /// Offset one past its last entry.
    pub fn end(&self) -> u64 {
        self.start + self.size
    }
}

fn u16_at(bytes: &[u8], at: usize) -> u64 {
    u64::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]))
}

fn u32_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u64::from(u32::from_le_bytes(word))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Reads `n` bytes at `at`; `None` past the end or on a read error.
fn read_at<R: Read + Seek>(reader: &mut R, at: u64, n: u64) -> Option<Vec<u8>> {
    let mut bytes = vec![0; usize::try_from(n).ok()?];
    reader.seek(SeekFrom::Start(at)).ok()?;
    reader.read_exact(&mut bytes).ok()?;
    Some(bytes)
}

/// Finds the central directory of the zip archive `reader`, `len` bytes
/// long, from its end records; `None` when they are missing, span disks
/// or do not agree with what is at the offsets they give.
pub(super) fn locate<R: Read + Seek>(reader: &mut R, len: u64) -> Option<Directory> {
    let tail_len = len.min(EOCD.1 + MAX_COMMENT);
    let tail = read_at(reader, len - tail_len, tail_len)?;
    // The last end record whose comment fits in the file.
    let at = (0..tail.len().saturating_sub(EOCD.1 as usize - 1))
        .rev()
        .find(|&i| {
            tail[i..].starts_with(EOCD.0) && i as u64 + EOCD.1 + u16_at(&tail, i + 20) <= tail_len
        })?;
    let record = &tail[at..];
    let eocd_at = len - tail_len + at as u64;
    if u16_at(record, 4) != 0 || u16_at(record, 6) != 0 {
        return None; // multi-disk
    }
    let (entries, size, declared) = (u16_at(record, 10), u32_at(record, 12), u32_at(record, 16));
    let zip64 = entries == 0xFFFF || size == 0xFFFF_FFFF || declared == 0xFFFF_FFFF;
    // Where the directory ends in the reader: at the record after it.
    let (end, size, declared, entries) = if zip64 {
        let locator_at = eocd_at.checked_sub(LOCATOR.1)?;
        let locator = read_at(reader, locator_at, LOCATOR.1)?;
        if !locator.starts_with(LOCATOR.0) || u32_at(&locator, 16) > 1 {
            return None;
        }
        // Recorded where it is, or right before the locator after a stub.
        let recorded = u64_at(&locator, 8);
        let record = [Some(recorded), locator_at.checked_sub(EOCD64.1)]
            .into_iter()
            .flatten()
            .find_map(|at| {
                let record = read_at(reader, at, EOCD64.1)?;
                record.starts_with(EOCD64.0).then_some((at, record))
            });
        let (record_at, record) = record?;
        if u32_at(&record, 16) != 0 || u32_at(&record, 20) != 0 {
            return None; // multi-disk
        }
        let entries = u64_at(&record, 32);
        (record_at, u64_at(&record, 40), u64_at(&record, 48), entries)
    } else {
        (eocd_at, size, declared, entries)
    };
    // Bytes before the archive: the directory ends right before the record
    // after it, or (ZIP64 records the classic record does not point to
    // lie between them) there are none.
    let stub = end.checked_sub(declared.checked_add(size)?);
    [stub, Some(0)].into_iter().flatten().find_map(|offset| {
        let directory = Directory {
            start: declared.checked_add(offset)?,
            size,
            entries,
            offset,
        };
        // An empty directory has nothing to check; else an entry must be
        // where the records say.
        let fits = directory.start.checked_add(size)? <= len;
        let starts_right =
            size == 0 || read_at(reader, directory.start, 4).is_some_and(|sig| sig == ENTRY.0);
        (fits && starts_right).then_some(directory)
    })
}

/// Measures the slice of the directory that starts at `at` (before `end`):
/// its length in bytes and its number of entries, at most `max_entries`
/// and about [`SLICE_BYTES`]. `None` when no whole entry starts at `at`.
pub(super) fn measure<R: Read + Seek>(
    reader: &mut R,
    at: u64,
    end: u64,
    max_entries: u64,
) -> io::Result<Option<(u64, u64)>> {
    reader.seek(SeekFrom::Start(at))?;
    let mut headers = io::BufReader::with_capacity(64 << 10, reader);
    let (mut bytes, mut entries) = (0u64, 0u64);
    let mut header = [0u8; ENTRY.1 as usize];
    while entries < max_entries && bytes < SLICE_BYTES && at + bytes < end {
        if at + bytes + ENTRY.1 > end {
            break;
        }
        headers.read_exact(&mut header)?;
        if !header.starts_with(ENTRY.0) {
            break;
        }
        let rest = u16_at(&header, 28) + u16_at(&header, 30) + u16_at(&header, 32);
        if at + bytes + ENTRY.1 + rest > end {
            break;
        }
        headers.seek_relative(rest as i64)?;
        bytes += ENTRY.1 + rest;
        entries += 1;
    }
    Ok((entries > 0).then_some((bytes, entries)))
}

/// The archive as the `zip` crate sees it when it opens one slice of the
/// directory: the reader's bytes up to the slice's end, then end records
/// that describe the slice alone.
pub(super) struct Slice<R> {
    inner: R,
    /// Where the reader's bytes stop and the end records start.
    cut: u64,
    records: Vec<u8>,
    pos: u64,
    /// Whether `inner` is positioned at `pos`.
    synced: bool,
}

impl<R: Read + Seek> Slice<R> {
    /// The view of the slice of `directory` starting at `at`, `bytes` long,
    /// holding `entries` entries.
    pub fn new(inner: R, directory: &Directory, at: u64, bytes: u64, entries: u64) -> Slice<R> {
        let cut = at + bytes;
        let mut records = Vec::with_capacity((EOCD64.1 + LOCATOR.1 + EOCD.1) as usize);
        // ZIP64 end of central directory: offsets as the archive records them.
        records.extend_from_slice(EOCD64.0);
        records.extend_from_slice(&(EOCD64.1 - 12).to_le_bytes());
        records.extend_from_slice(&[45, 0, 45, 0]); // versions made by, needed
        records.extend_from_slice(&[0; 8]); // this disk, the directory's disk
        records.extend_from_slice(&entries.to_le_bytes()); // on this disk
        records.extend_from_slice(&entries.to_le_bytes());
        records.extend_from_slice(&bytes.to_le_bytes());
        records.extend_from_slice(&(at - directory.offset).to_le_bytes());
        // Its locator.
        records.extend_from_slice(LOCATOR.0);
        records.extend_from_slice(&[0; 4]);
        records.extend_from_slice(&(cut - directory.offset).to_le_bytes());
        records.extend_from_slice(&1u32.to_le_bytes());
        // The classic record, every field saying "see ZIP64".
        records.extend_from_slice(EOCD.0);
        records.extend_from_slice(&[0; 4]);
        records.extend_from_slice(&[0xFF; 12]);
        records.extend_from_slice(&[0; 2]);
        Slice {
            inner,
            cut,
            records,
            pos: 0,
            synced: false,
        }
    }
}

impl<R: Read + Seek> Read for Slice<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = if self.pos < self.cut {
            if !self.synced {
                self.inner.seek(SeekFrom::Start(self.pos))?;
                self.synced = true;
            }
            let room = usize::try_from(self.cut - self.pos).unwrap_or(usize::MAX);
            let want = buf.len().min(room);
            self.inner.read(&mut buf[..want])?
        } else {
            let from = usize::try_from(self.pos - self.cut).unwrap_or(usize::MAX);
            let rest = self.records.get(from..).unwrap_or_default();
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            n
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for Slice<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let len = self.cut + self.records.len() as u64;
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        if target != self.pos {
            self.pos = target;
            self.synced = false;
        }
        Ok(target)
    }
}
