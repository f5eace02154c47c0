//! File type sniffing from the first bytes of a file.
//!
//! A file is binary when its first 8 KiB hold a NUL byte (as git and
//! ripgrep decide) or when it starts with the magic number of a common
//! binary format. UTF-16 text, which is full of NULs, is recognised first by
//! its byte-order mark or by its alternating-NUL pattern, in which the other
//! bytes are almost never control characters: binary data with NULs in
//! every other byte (the symbol table of a static library, big-endian
//! integers) was decoded as UTF-16 "text" before.

/// How much of a file is looked at.
pub const SNIFF_LEN: usize = 8 * 1024;

/// Magic numbers of binary formats. Each is long enough, or non-ASCII
/// enough, that no text file starts with it by chance (a CSV row starting
/// `MZ,Mozambique` is text); formats whose magic is short ASCII followed by
/// NUL bytes (PE `MZ`, ID3, Ogg) are caught by the NUL rule instead.
const MAGIC: &[(&[u8], &str)] = &[
    (b"\x7fELF", "ELF executable"),
    (b"!<arch>\n", "ar archive (static library)"),
    (b"\xca\xfe\xba\xbe", "Java class or Mach-O"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"\x00asm", "WebAssembly"),
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive (not supported)"),
    (b"Rar!\x1a\x07", "RAR archive (not supported)"),
    (b"BZh91AY&SY", "bzip2 archive (not supported)"),
    (b"\xfd7zXZ\x00", "xz archive (not supported)"),
    (b"\x28\xb5\x2f\xfd", "zstd archive (not supported)"),
    (
        b"\xd0\xcf\x11\xe0",
        "OLE2 document (doc/ppt, or encrypted Office file)",
    ),
];

/// The kind of content, as far as the scanner cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Text to scan (any 8-bit encoding, or UTF-16).
    Text,
    /// Binary data, with what it looks like.
    Binary(&'static str),
}

/// Sniffs the first bytes of a file.
pub fn sniff(head: &[u8]) -> Content {
    let head = &head[..head.len().min(SNIFF_LEN)];
    if head.starts_with(b"\xff\xfe") || head.starts_with(b"\xfe\xff") || looks_utf16(head) {
        return Content::Text;
    }
    if let Some((_, what)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Content::Binary(what);
    }
    if memchr::memchr(0, head).is_some() {
        return Content::Binary("binary data (NUL bytes)");
    }
    Content::Text
}

/// UTF-16 without BOM: mostly-ASCII text puts a NUL in every other byte.
pub fn looks_utf16(head: &[u8]) -> bool {
    utf16_parity(head).is_some()
}

/// `Some(true)` for little-endian UTF-16 without BOM, `Some(false)` for
/// big-endian, `None` when the bytes do not look like UTF-16.
pub fn utf16_parity(head: &[u8]) -> Option<bool> {
    let pairs = head.len() / 2;
    // Most text has no NUL at all: one vectorised search says so.
    if pairs < 4 || memchr::memchr(0, head).is_none() {
        return None;
    }
    // A character below U+0100 whose low byte is a control character other
    // than tab, line breaks, form feed and escape (terminal colours in a
    // log): rare in text, common in binary data (a table of big-endian
    // integers, the symbol table of a static library).
    let control = |b: u8| b < 0x20 && !matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x1b);
    let (mut even, mut odd, mut even_control, mut odd_control) = (0, 0, 0, 0);
    for pair in head.chunks_exact(2) {
        even += usize::from(pair[0] == 0);
        odd += usize::from(pair[1] == 0);
        even_control += usize::from(pair[1] == 0 && control(pair[0]));
        odd_control += usize::from(pair[0] == 0 && control(pair[1]));
    }
    // At least 40 % of one column NUL and almost none of the other, and
    // almost no control characters.
    if odd * 10 >= pairs * 4 && even * 50 <= pairs && even_control * 50 <= pairs {
        Some(true)
    } else if even * 10 >= pairs * 4 && odd * 50 <= pairs && odd_control * 50 <= pairs {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_binary() {
        assert_eq!(sniff(b"hello 13812345678\n"), Content::Text);
        assert_eq!(sniff("身份证".as_bytes()), Content::Text);
        assert_eq!(sniff(b""), Content::Text);
        assert_eq!(
            sniff(b"abc\x00def"),
            Content::Binary("binary data (NUL bytes)")
        );
        assert_eq!(sniff(b"\x7fELF\x02\x01"), Content::Binary("ELF executable"));
        assert!(matches!(sniff(b"\x89PNG\r\n"), Content::Binary(_)));
    }

    #[test]
    fn text_that_starts_like_a_magic_number_is_text() {
        for text in [
            "MZ,Mozambique,13812345678\n",
            "ID3 tag notes\n",
            "BZh notes\n",
            "RIFF notes",
        ] {
            assert_eq!(sniff(text.as_bytes()), Content::Text, "{text}");
        }
        assert!(matches!(sniff(b"MZ\x90\x00\x03\x00"), Content::Binary(_)));
    }

    #[test]
    fn utf16_is_text() {
        let le: Vec<u8> = "id 110105"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let be: Vec<u8> = "id 110105"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(utf16_parity(&le), Some(true));
        assert_eq!(utf16_parity(&be), Some(false));
        assert_eq!(sniff(&le), Content::Text);
        assert_eq!(sniff(&[0xff, 0xfe, b'a', 0]), Content::Text);
        // Tabs, line breaks and terminal colours are text.
        let lines: Vec<u8> = "a\tb\r\n\x1b[31mc\x1b[0m\n"
            .repeat(50)
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(utf16_parity(&lines), Some(true));
    }

    #[test]
    fn big_endian_integers_are_not_utf16() {
        // A static library's symbol table: offsets as 32-bit big-endian
        // integers put a NUL in every other byte, as UTF-16 BE would, but
        // the characters would be controls (U+0001).
        let table: Vec<u8> = (0..500u32)
            .flat_map(|i| (0x0001_23b4 + i * 0x40).to_be_bytes())
            .collect();
        assert_eq!(utf16_parity(&table), None);
        assert_eq!(sniff(&table), Content::Binary("binary data (NUL bytes)"));
        let mut ar =
            b"!<arch>\n/               0           0     0     0       73808     `\n".to_vec();
        ar.extend_from_slice(&table);
        assert_eq!(sniff(&ar), Content::Binary("ar archive (static library)"));
    }
}
