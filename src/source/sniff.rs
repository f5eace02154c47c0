//! File type sniffing from the first bytes of a file.
//!
//! A file is binary when its first 8 KiB hold a NUL byte (as git and
//! ripgrep decide) or when it starts with the magic number of a common
//! binary format. UTF-16 text, which is full of NULs, is recognised first by
//! its byte-order mark or by its alternating-NUL pattern.

/// How much of a file is looked at.
pub const SNIFF_LEN: usize = 8 * 1024;

/// Magic numbers of binary formats. Each is long enough, or non-ASCII
/// enough, that no text file starts with it by chance (a CSV row starting
/// `MZ,Mozambique` is text); formats whose magic is short ASCII followed by
/// NUL bytes (PE `MZ`, ID3, Ogg) are caught by the NUL rule instead.
const MAGIC: &[(&[u8], &str)] = &[
    (b"\x7fELF", "ELF executable"),
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
    let (mut even, mut odd) = (0, 0);
    for pair in head.chunks_exact(2) {
        even += usize::from(pair[0] == 0);
        odd += usize::from(pair[1] == 0);
    }
    // At least 40 % of one column NUL and almost none of the other.
    if odd * 10 >= pairs * 4 && even * 50 <= pairs {
        Some(true)
    } else if even * 10 >= pairs * 4 && odd * 50 <= pairs {
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
    }
}
