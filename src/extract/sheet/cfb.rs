//! Compound files (`[MS-CFB]`, the container of `.xls` workbooks): just
//! enough to read one stream out of a file held in memory.
//!
//! A compound file is a small FAT file system: a 512-byte header, sectors
//! of 512 (version 3) or 4096 bytes (version 4), a FAT chaining them, and a
//! directory of 128-byte entries. Streams under 4096 bytes live in 64-byte
//! mini sectors inside the root entry's stream, chained by the mini FAT.
//!
//! Every index read from the file is checked against the file: a chain
//! that loops, points past the end or runs short is an error, never a
//! panic or an allocation sized by the file's claims.

use std::borrow::Cow;

/// End of a sector chain.
pub(super) const END_OF_CHAIN: u32 = 0xFFFF_FFFE;
/// Length of the header, and of a version-3 sector.
const HEADER: usize = 512;
/// Entries of the FAT's first sectors held in the header (the DIFAT).
const HEADER_DIFAT: usize = 109;
/// A stream is in the mini stream when shorter than this.
pub(super) const MINI_CUTOFF: u64 = 4096;
/// Length of a mini sector.
const MINI_SECTOR: usize = 64;
/// Directory entry type of a stream, and of the root.
pub(super) const STREAM: u8 = 2;
pub(super) const ROOT: u8 = 5;

/// The stream named `name` (lower-case ASCII; names are compared with
/// case ignored) of the compound file `data`, borrowed from it when its
/// sectors are contiguous: `Ok(None)` when there is none, `Err` when the
/// file is damaged.
pub(super) fn stream<'d>(data: &'d [u8], name: &str) -> Result<Option<Cow<'d, [u8]>>, String> {
    let file = File::open(data)?;
    let entries = file.chain_bytes(file.first_dir, u64::MAX)?;
    let entries: Vec<&[u8]> = entries.chunks_exact(128).collect();
    let root = entries
        .iter()
        .find(|e| e[66] == ROOT)
        .ok_or("no root entry")?;
    let Some(entry) = entries
        .iter()
        .find(|e| e[66] == STREAM && entry_name(e) == name)
    else {
        return Ok(None);
    };
    let start = u32_at(entry, 116);
    let mut size = u64_at(entry, 120);
    if file.sector == HEADER {
        // Version 3: the high half is undefined and may hold garbage.
        size &= 0xFFFF_FFFF;
    }
    if size >= MINI_CUTOFF {
        return file.chain_bytes(start, size).map(Some);
    }
    let mini_stream = file.chain_bytes(u32_at(root, 116), u64_at(root, 120))?;
    let mini_fat = file.chain_bytes(file.first_mini_fat, u64::MAX)?;
    let mini_fat: Vec<u32> = mini_fat.chunks_exact(4).map(|c| u32_at(c, 0)).collect();
    let mut out = Vec::new();
    let mut at = start;
    while (out.len() as u64) < size {
        let sector = mini_stream
            .get(at as usize * MINI_SECTOR..)
            .and_then(|s| s.get(..MINI_SECTOR))
            .ok_or("mini stream chain points past the mini stream")?;
        out.extend_from_slice(sector);
        if out.len() > mini_stream.len() {
            return Err("mini stream chain loops".into());
        }
        at = *mini_fat
            .get(at as usize)
            .ok_or("mini stream chain points past the mini FAT")?;
        if at == END_OF_CHAIN && (out.len() as u64) < size {
            return Err("mini stream chain ends early".into());
        }
    }
    out.truncate(size as usize);
    Ok(Some(Cow::Owned(out)))
}

/// The header's facts and the FAT.
struct File<'d> {
    data: &'d [u8],
    sector: usize,
    first_dir: u32,
    first_mini_fat: u32,
    fat: Vec<u32>,
}

impl<'d> File<'d> {
    fn open(data: &'d [u8]) -> Result<File<'d>, String> {
        if data.len() < HEADER || !data.starts_with(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") {
            return Err("not a compound file".into());
        }
        let sector = match u16::from_le_bytes([data[30], data[31]]) {
            9 => 512,
            12 => 4096,
            shift => return Err(format!("sector size 2^{shift} is not 512 or 4096")),
        };
        let mut file = File {
            data,
            sector,
            first_dir: u32_at(data, 48),
            first_mini_fat: u32_at(data, 60),
            fat: Vec::new(),
        };
        let fat_sectors = u32_at(data, 44) as usize;
        let sectors_in_file = data.len() / sector;
        if fat_sectors > sectors_in_file {
            return Err(format!(
                "{fat_sectors} FAT sectors in a file of {sectors_in_file}"
            ));
        }
        // Where the FAT's sectors are: 109 in the header, the rest in a
        // chain of DIFAT sectors, each ending with the next one's number.
        let mut fat_at: Vec<u32> = (0..HEADER_DIFAT.min(fat_sectors))
            .map(|i| u32_at(data, 76 + 4 * i))
            .collect();
        let mut difat = u32_at(data, 68);
        while fat_at.len() < fat_sectors {
            let bytes = file.sector_bytes(difat)?;
            let per = sector / 4 - 1;
            fat_at.extend((0..per).map(|i| u32_at(bytes, 4 * i)));
            difat = u32_at(bytes, 4 * per);
        }
        fat_at.truncate(fat_sectors);
        let mut fat = Vec::with_capacity(fat_sectors * sector / 4);
        for &at in &fat_at {
            let bytes = file.sector_bytes(at)?;
            fat.extend(bytes.chunks_exact(4).map(|c| u32_at(c, 0)));
        }
        file.fat = fat;
        Ok(file)
    }

    /// The bytes of sector `at`. The last sector of a file may be cut
    /// short (writers leave out trailing padding); it is read as far as it
    /// goes.
    fn sector_bytes(&self, at: u32) -> Result<&'d [u8], String> {
        let start = HEADER + at as usize * self.sector;
        match self.data.get(start..) {
            Some(rest) if !rest.is_empty() => Ok(&rest[..rest.len().min(self.sector)]),
            _ => Err(format!("sector {at} is past the end of the file")),
        }
    }

    /// The bytes of the chain starting at sector `start`, at most `size`
    /// of them (`u64::MAX`: the whole chain). Borrowed from the file when
    /// the chain's sectors follow each other, as they mostly do; copied
    /// otherwise.
    fn chain_bytes(&self, start: u32, size: u64) -> Result<Cow<'d, [u8]>, String> {
        let first = HEADER + start as usize * self.sector;
        // `None` while the sectors are contiguous.
        let mut copy: Option<Vec<u8>> = None;
        let mut len = 0;
        let mut at = start;
        while at != END_OF_CHAIN && (len as u64) < size {
            let bytes = self.sector_bytes(at)?;
            if copy.is_none() && len > 0 && at as usize * self.sector + HEADER != first + len {
                copy = Some(self.data[first..first + len].to_vec());
            }
            if let Some(copy) = &mut copy {
                copy.extend_from_slice(bytes);
            }
            len += bytes.len();
            // A chain is no longer than the file.
            if len > self.data.len() {
                return Err("sector chain loops".into());
            }
            at = *self
                .fat
                .get(at as usize)
                .ok_or_else(|| format!("sector {at} is not in the FAT"))?;
        }
        if size != u64::MAX {
            if (len as u64) < size {
                return Err("sector chain ends early".into());
            }
            len = size as usize;
        }
        Ok(match copy {
            Some(mut copy) => {
                copy.truncate(len);
                Cow::Owned(copy)
            }
            None if len == 0 => Cow::Borrowed(&[]),
            None => Cow::Borrowed(&self.data[first..first + len]),
        })
    }
}

/// The name of a directory entry (UTF-16, its length in bytes with the
/// terminating NUL at offset 64).
fn entry_name(entry: &[u8]) -> String {
    let bytes = usize::from(u16::from_le_bytes([entry[64], entry[65]])).min(64);
    let units: Vec<u16> = entry[..bytes.saturating_sub(2)]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units).to_ascii_lowercase()
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::super::xls_write::compound_file;
    use super::*;

    #[test]
    fn streams_in_sectors_in_the_mini_stream_and_fragmented() {
        let long: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let file = compound_file("Workbook", &long);
        let read = stream(&file, "workbook").unwrap().unwrap();
        assert!(matches!(read, Cow::Borrowed(_)), "contiguous: borrowed");
        assert_eq!(&*read, long.as_slice());
        assert!(stream(&file, "book").unwrap().is_none());

        let short = b"a short stream".to_vec();
        let file = compound_file("Book", &short);
        assert_eq!(&*stream(&file, "book").unwrap().unwrap(), short.as_slice());

        // Move the stream's first sector to the end of the file: the chain
        // then jumps back and forth, and the stream is copied together.
        let mut file = compound_file("Workbook", &long);
        let fat_at = |i: usize| HEADER + 4 * i;
        // The stream's entry: the second of the directory, in sector 1.
        let start_at = HEADER + HEADER + 128 + 116;
        let first = u32_at(&file, start_at) as usize;
        let moved = (file.len() - HEADER) / HEADER;
        let bytes = file[HEADER + first * HEADER..][..HEADER].to_vec();
        file.extend_from_slice(&bytes);
        let next = u32_at(&file, fat_at(first));
        file[fat_at(moved)..][..4].copy_from_slice(&next.to_le_bytes());
        file[fat_at(first)..][..4].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
        file[start_at..][..4].copy_from_slice(&(moved as u32).to_le_bytes());
        let read = stream(&file, "workbook").unwrap().unwrap();
        assert!(matches!(read, Cow::Owned(_)), "fragmented: copied");
        assert_eq!(&*read, long.as_slice());

        // A chain that loops, for a stream said to be longer than the
        // file, is an error (not an endless read).
        file[fat_at(moved)..][..4].copy_from_slice(&(moved as u32).to_le_bytes());
        file[start_at + 4..][..4].copy_from_slice(&(1u32 << 30).to_le_bytes());
        let err = stream(&file, "workbook").map(|s| s.map(|s| s.len()));
        assert_eq!(err, Err("sector chain loops".to_string()));
    }
}
