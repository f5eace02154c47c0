//! Compound files (`[MS-CFB]`, the container of `.xls` workbooks): just
//! enough to read one stream out of a file, from memory or from the file
//! where it is.
//!
//! A compound file is a small FAT file system: a 512-byte header, sectors
//! of 512 (version 3) or 4096 bytes (version 4), a FAT chaining them, and a
//! directory of 128-byte entries. Streams under 4096 bytes live in 64-byte
//! mini sectors inside the root entry's stream, chained by the mini FAT.
//!
//! [`open`] reads the header, the FAT (4 bytes per sector of the file) and
//! the directory; [`Compound::stream`] gives a stream as a reader that
//! seeks from sector to sector ([`Stream`]), so a large workbook is never
//! held whole: only the list of its sectors. A short stream (in the mini
//! stream) is read into memory.
//!
//! Every index read from the file is checked against the file: a chain
//! that loops, points past the end or runs short is an error, never a
//! panic or an allocation sized by the file's claims.

use std::io::{self, Cursor, Read, Seek, SeekFrom};

use super::le::{u16_at, u32_at, u64_at};

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

/// An opened compound file: the header's facts, the FAT and the directory.
pub(super) struct Compound<R> {
    reader: R,
    /// Length of the file.
    len: u64,
    sector: usize,
    first_mini_fat: u32,
    fat: Vec<u32>,
    /// The directory's 128-byte entries, one after another.
    entries: Vec<u8>,
}

/// Opens the compound file in `reader`.
pub(super) fn open<R: Read + Seek>(mut reader: R) -> Result<Compound<R>, String> {
    let io = |e: io::Error| format!("cannot read: {e}");
    let len = reader.seek(SeekFrom::End(0)).map_err(io)?;
    reader.rewind().map_err(io)?;
    let mut header = [0u8; HEADER];
    if len < HEADER as u64 || reader.read_exact(&mut header).is_err() {
        return Err("not a compound file".into());
    }
    if !header.starts_with(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") {
        return Err("not a compound file".into());
    }
    let sector = match u16_at(&header, 30) {
        9 => 512,
        12 => 4096,
        shift => return Err(format!("sector size 2^{shift} is not 512 or 4096")),
    };
    let mut file = Compound {
        reader,
        len,
        sector,
        first_mini_fat: u32_at(&header, 60),
        fat: Vec::new(),
        entries: Vec::new(),
    };
    let fat_sectors = u32_at(&header, 44) as usize;
    let sectors_in_file = (len / sector as u64) as usize;
    if fat_sectors > sectors_in_file {
        return Err(format!(
            "{fat_sectors} FAT sectors in a file of {sectors_in_file}"
        ));
    }
    // Where the FAT's sectors are: 109 in the header, the rest in a chain
    // of DIFAT sectors, each ending with the next one's number.
    let mut fat_at: Vec<u32> = (0..HEADER_DIFAT.min(fat_sectors))
        .map(|i| u32_at(&header, 76 + 4 * i))
        .collect();
    let mut difat = u32_at(&header, 68);
    let mut bytes = vec![0; sector];
    while fat_at.len() < fat_sectors {
        file.read_sector(difat, &mut bytes)?;
        let per = sector / 4 - 1;
        fat_at.extend((0..per).map(|i| u32_at(&bytes, 4 * i)));
        difat = u32_at(&bytes, 4 * per);
    }
    fat_at.truncate(fat_sectors);
    let mut fat = Vec::with_capacity(fat_sectors * sector / 4);
    for &at in &fat_at {
        let n = file.read_sector(at, &mut bytes)?;
        fat.extend(bytes[..n].chunks_exact(4).map(|c| u32_at(c, 0)));
    }
    file.fat = fat;
    file.entries = file.chain_bytes(u32_at(&header, 48), u64::MAX)?;
    Ok(file)
}

impl<R: Read + Seek> Compound<R> {
    /// Reads sector `at` into `buf` (a sector long); returns how many bytes
    /// there were. The last sector of a file may be cut short (writers
    /// leave out trailing padding); it is read as far as it goes.
    fn read_sector(&mut self, at: u32, buf: &mut [u8]) -> Result<usize, String> {
        let start = HEADER as u64 + u64::from(at) * self.sector as u64;
        if start >= self.len {
            return Err(format!("sector {at} is past the end of the file"));
        }
        let n = (self.len - start).min(self.sector as u64) as usize;
        self.reader
            .seek(SeekFrom::Start(start))
            .and_then(|_| self.reader.read_exact(&mut buf[..n]))
            .map_err(|e| format!("cannot read sector {at}: {e}"))?;
        Ok(n)
    }

    /// The sectors of the chain starting at `start`, enough for `size`
    /// bytes (`u64::MAX`: the whole chain).
    fn chain(&self, start: u32, size: u64) -> Result<Vec<u32>, String> {
        let mut sectors = Vec::new();
        let mut at = start;
        while at != END_OF_CHAIN && (sectors.len() as u64 * self.sector as u64) < size {
            // A chain is no longer than the file.
            if sectors.len() as u64 * self.sector as u64 > self.len {
                return Err("sector chain loops".into());
            }
            sectors.push(at);
            at = *self
                .fat
                .get(at as usize)
                .ok_or_else(|| format!("sector {at} is not in the FAT"))?;
        }
        if size != u64::MAX && (sectors.len() as u64 * self.sector as u64) < size {
            return Err("sector chain ends early".into());
        }
        Ok(sectors)
    }

    /// The bytes of the chain starting at `start`, at most `size` of them
    /// (for the directory, the mini FAT and the mini stream, which are
    /// small).
    fn chain_bytes(&mut self, start: u32, size: u64) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut bytes = vec![0; self.sector];
        for at in self.chain(start, size)? {
            let n = self.read_sector(at, &mut bytes)?;
            out.extend_from_slice(&bytes[..n]);
        }
        if size != u64::MAX {
            if (out.len() as u64) < size {
                return Err("sector chain ends early".into());
            }
            out.truncate(size as usize);
        }
        Ok(out)
    }

    /// The directory entry of the stream named `name` (lower-case ASCII;
    /// names are compared with case ignored).
    fn entry(&self, name: &str) -> Option<&[u8]> {
        self.entries
            .chunks_exact(128)
            .find(|e| e[66] == STREAM && entry_name(e) == name)
    }

    /// Whether there is a stream named `name` (lower-case ASCII).
    pub(super) fn has(&self, name: &str) -> bool {
        self.entry(name).is_some()
    }

    /// The stream named `name` (lower-case ASCII), as a reader: `Ok(None)`
    /// when there is none, `Err` when the file is damaged.
    pub(super) fn stream(mut self, name: &str) -> Result<Option<Stream<R>>, String> {
        let Some(entry) = self.entry(name) else {
            return Ok(None);
        };
        let start = u32_at(entry, 116);
        let mut size = u64_at(entry, 120);
        if self.sector == HEADER {
            // Version 3: the high half is undefined and may hold garbage.
            size &= 0xFFFF_FFFF;
        }
        if size >= MINI_CUTOFF {
            let sectors = self.chain(start, size)?;
            return Ok(Some(Stream::Sectors(Sectors {
                reader: self.reader,
                sectors,
                sector: self.sector,
                size,
                pos: 0,
            })));
        }
        let root = self
            .entries
            .chunks_exact(128)
            .find(|e| e[66] == ROOT)
            .ok_or("no root entry")?;
        let (root_start, root_size) = (u32_at(root, 116), u64_at(root, 120));
        let mini_stream = self.chain_bytes(root_start, root_size.min(self.len))?;
        let mini_fat = self.chain_bytes(self.first_mini_fat, u64::MAX)?;
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
        Ok(Some(Stream::Memory(Cursor::new(out))))
    }
}

/// A stream of a compound file, read and sought like a file.
pub(super) enum Stream<R> {
    /// In sectors of the file, read where they are.
    Sectors(Sectors<R>),
    /// Read from the mini stream into memory.
    Memory(Cursor<Vec<u8>>),
}

/// A stream in sectors of the file: where they are, and the position.
pub(super) struct Sectors<R> {
    reader: R,
    sectors: Vec<u32>,
    sector: usize,
    size: u64,
    pos: u64,
}

impl<R: Read + Seek> Read for Sectors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let sector = self.sector as u64;
        let i = (self.pos / sector) as usize;
        let within = self.pos % sector;
        // As far as the sectors after this one follow it in the file.
        let mut run = 1;
        while i + run < self.sectors.len()
            && self.sectors[i + run] == self.sectors[i + run - 1].wrapping_add(1)
            && (run as u64 * sector - within) < buf.len() as u64
        {
            run += 1;
        }
        let want = (run as u64 * sector - within)
            .min(self.size - self.pos)
            .min(buf.len() as u64) as usize;
        let at = HEADER as u64 + u64::from(self.sectors[i]) * sector + within;
        self.reader.seek(SeekFrom::Start(at))?;
        let n = self.reader.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file ends inside a stream",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R> Seek for Sectors<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        Ok(self.pos)
    }
}

impl<R: Read + Seek> Read for Stream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Sectors(s) => s.read(buf),
            Stream::Memory(m) => m.read(buf),
        }
    }
}

impl<R: Read + Seek> Seek for Stream<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match self {
            Stream::Sectors(s) => s.seek(to),
            Stream::Memory(m) => m.seek(to),
        }
    }
}

/// The name of a directory entry (UTF-16, its length in bytes with the
/// terminating NUL at offset 64).
fn entry_name(entry: &[u8]) -> String {
    let bytes = usize::from(u16_at(entry, 64)).min(64);
    let units: Vec<u16> = entry[..bytes.saturating_sub(2)]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::super::xls_write::compound_file;
    use super::*;

    /// The whole stream `name` of `file`, read in pieces of 700 bytes.
    fn read(file: &[u8], name: &str) -> Result<Option<Vec<u8>>, String> {
        let Some(mut stream) = open(Cursor::new(file))?.stream(name)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        let mut buf = [0; 700];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return Ok(Some(out)),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    #[test]
    fn streams_in_sectors_in_the_mini_stream_and_fragmented() {
        let long: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let file = compound_file("Workbook", &long);
        assert_eq!(read(&file, "workbook").unwrap().unwrap(), long);
        assert!(read(&file, "book").unwrap().is_none());
        let mut stream = open(Cursor::new(&file))
            .unwrap()
            .stream("workbook")
            .unwrap()
            .unwrap();
        stream.seek(SeekFrom::Start(4000)).unwrap();
        let mut tail = Vec::new();
        stream.read_to_end(&mut tail).unwrap();
        assert_eq!(tail, long[4000..]);

        let short = b"a short stream".to_vec();
        let file = compound_file("Book", &short);
        assert_eq!(read(&file, "book").unwrap().unwrap(), short);

        // Move the stream's first sector to the end of the file: the chain
        // then jumps back and forth.
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
        assert_eq!(read(&file, "workbook").unwrap().unwrap(), long);

        // A chain that loops, for a stream said to be longer than the
        // file, is an error (not an endless read).
        file[fat_at(moved)..][..4].copy_from_slice(&(moved as u32).to_le_bytes());
        file[start_at + 4..][..4].copy_from_slice(&(1u32 << 30).to_le_bytes());
        assert_eq!(
            read(&file, "workbook"),
            Err("sector chain loops".to_string())
        );
    }
}
