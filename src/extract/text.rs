//! Character encodings: everything becomes UTF-8 before detection.
//!
//! Order of decisions: a byte-order mark (UTF-8, UTF-16LE/BE) wins; then
//! UTF-16 without BOM by its NUL pattern; then valid UTF-8 is used as is
//! (borrowed, no copy); then GB18030 (a superset of GBK and GB2312), if it
//! decodes without a single error; otherwise the bytes are kept as they are,
//! since every detector works on ASCII tokens and treats other bytes as
//! boundaries.
//!
//! Decoding matters for more than display: a GBK character's second byte
//! can be an ASCII letter, which would glue it to a following number under
//! the boundary rule.

use std::borrow::Cow;

use encoding_rs::{Encoding, GB18030, UTF_16BE, UTF_16LE};

use super::{Place, Sink, Unit};
use crate::source::sniff;

/// Decodes a text file and sends it as one line-numbered unit.
pub fn extract(data: &[u8], sink: &mut dyn Sink) {
    let (text, encoding) = decode(data);
    sink.encoding(encoding);
    sink.unit(&Unit {
        text: &text,
        place: Place::lines(),
    });
}

/// Decodes `data` to UTF-8; returns the text and the name of the encoding.
pub fn decode(data: &[u8]) -> (Cow<'_, [u8]>, &'static str) {
    if let Some((enc, bom_len)) = Encoding::for_bom(data) {
        let body = &data[bom_len..];
        return match enc.decode_without_bom_handling(body).0 {
            Cow::Borrowed(s) => (Cow::Borrowed(s.as_bytes()), enc.name()),
            Cow::Owned(s) => (Cow::Owned(s.into_bytes()), enc.name()),
        };
    }
    if let Some(little) = sniff::utf16_parity(&data[..data.len().min(sniff::SNIFF_LEN)]) {
        let enc = if little { UTF_16LE } else { UTF_16BE };
        let text = enc.decode_without_bom_handling(data).0.into_owned();
        return (Cow::Owned(text.into_bytes()), enc.name());
    }
    if std::str::from_utf8(data).is_ok() {
        return (Cow::Borrowed(data), "UTF-8");
    }
    if let Some(text) = GB18030.decode_without_bom_handling_and_without_replacement(data) {
        return (Cow::Owned(text.into_owned().into_bytes()), "GB18030");
    }
    (
        Cow::Borrowed(data),
        "binary-safe bytes (not valid UTF-8 or GB18030)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_borrowed() {
        let (text, enc) = decode("身份证 110".as_bytes());
        assert!(matches!(text, Cow::Borrowed(_)));
        assert_eq!(enc, "UTF-8");
    }

    #[test]
    fn gbk_is_transcoded() {
        let (gbk, _, _) = GB18030.encode("姓名,身份证号\n张三,110105199003071239\n");
        let (text, enc) = decode(&gbk);
        assert_eq!(enc, "GB18030");
        assert_eq!(
            std::str::from_utf8(&text).unwrap(),
            "姓名,身份证号\n张三,110105199003071239\n"
        );
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let body: Vec<u8> = "tel 13812345678"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut with_bom = vec![0xff, 0xfe];
        with_bom.extend_from_slice(&body);
        for data in [with_bom, body] {
            let (text, enc) = decode(&data);
            assert_eq!(&*text, b"tel 13812345678");
            assert_eq!(enc, "UTF-16LE");
        }
    }

    #[test]
    fn undecodable_bytes_are_kept() {
        let data = b"\xff\xfftel 13812345678 \x80";
        let (text, _) = decode(data);
        assert_eq!(&*text, data);
    }
}
