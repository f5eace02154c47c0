//! Word (`.docx`) and PowerPoint (`.pptx`) text.
//!
//! An Office Open XML file is a zip of XML parts. The zip is read with the
//! `zip` crate from the in-memory bytes, or from the file where it is when
//! it is large ([`extract_reader`]); each XML part of interest is
//! decompressed as it is read (all parts of one file together under
//! [`MAX_XML_BYTES`]) by a streaming `quick-xml` namespace reader, so no DOM
//! is built, work is linear in the part's size, and memory holds only the
//! paragraphs still open. A part in UTF-16 (allowed by XML, never written by
//! Office) is read whole and transcoded.
//!
//! **Units.** Every paragraph is one unit: `w:p` in Word, `a:p` (DrawingML)
//! in PowerPoint, in document order, including paragraphs in table cells and
//! text boxes. Its text is the concatenation of its text runs (`w:t`, `a:t`,
//! and `m:t` for Word equations) with XML entities decoded; `w:tab`/`w:ptab`
//! give `'\t'`, `w:br`/`w:cr`/`a:br` and any newline inside the text give
//! `' '`, `w:noBreakHyphen` gives `'-'`, so one paragraph stays one line.
//! Tags, attributes, field codes (`w:instrText`), deleted text of tracked
//! changes (`w:delText`), tab stop definitions (`w:tabs`) and the fallback
//! branch of `mc:AlternateContent` (a legacy copy of the same text box, which
//! would duplicate its text) are not scanned.
//!
//! **Places.** A unit's place is `line` = the paragraph's ordinal (1-based,
//! counting every paragraph, empty ones included, by the position of its
//! start tag) and `col` = 1. Empty paragraphs are counted but not sent. A
//! paragraph nested in another (a text box anchored in a paragraph) gets its
//! own ordinal and units still go out in ordinal order.
//!
//! Word: `word/document.xml` (the body) comes first; then, continuing the
//! numbering after the body's last paragraph, `word/header*.xml` and
//! `word/footer*.xml` (each in numeric order), `word/footnotes.xml`,
//! `word/endnotes.xml` and `word/comments.xml`. PowerPoint: the slides
//! `ppt/slides/slideN.xml` in numeric order (`slide10` after `slide9`), then
//! the speaker notes `ppt/notesSlides/notesSlideN.xml`, numbered as one run of
//! paragraphs across the presentation. Part names are matched without regard
//! to ASCII case, as OPC requires.
//!
//! **Failures** never panic: a corrupt zip, a missing main part
//! (`word/document.xml`, or for PowerPoint both `ppt/presentation.xml` and any
//! slide), a part that cannot be decompressed or is over the size budget, or
//! malformed XML each become a [`Sink::skip`] with the whole file (`""`) as
//! the part and a reason naming the XML part. Paragraphs read before an XML
//! error are still sent.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Cursor, Read, Seek};

use quick_xml::events::{BytesRef, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::NsReader;
use zip::ZipArchive;

use super::text::Utf16Reader;
use super::xml_runs::TextRuns;
use super::{Place, Sink, Unit};

/// Most uncompressed XML read from one Office file, all parts together.
pub const MAX_XML_BYTES: u64 = 256 << 20;

/// Bytes of a paragraph's text held before they are sent
/// ([`Paragraphs::push`]).
const PARAGRAPH_PIECE: usize = 1 << 20;

/// Read buffer of one XML part (of an Office document or a workbook).
pub(super) const PART_BUFFER: usize = 64 << 10;

/// Encoding reported for Office XML parts.
const ENCODING_UTF8: &str = "UTF-8 (Office XML)";
/// Encoding reported when the first part was UTF-16 (with a BOM).
const ENCODING_UTF16: &str = "UTF-16 (Office XML)";

/// WordprocessingML namespaces (transitional, strict).
const NS_WORD: [&[u8]; 2] = [
    b"http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    b"http://purl.oclc.org/ooxml/wordprocessingml/main",
];
/// DrawingML namespaces (transitional, strict).
const NS_DRAWING: [&[u8]; 2] = [
    b"http://schemas.openxmlformats.org/drawingml/2006/main",
    b"http://purl.oclc.org/ooxml/drawingml/main",
];
/// Office Math namespaces (transitional, strict).
const NS_MATH: [&[u8]; 2] = [
    b"http://schemas.openxmlformats.org/officeDocument/2006/math",
    b"http://purl.oclc.org/ooxml/officeDocument/math",
];
/// Markup compatibility namespace (`mc:AlternateContent`).
const NS_MC: &[u8] = b"http://schemas.openxmlformats.org/markup-compatibility/2006";

/// Which kind of Office document a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// WordprocessingML (`.docx` and its macro/template variants).
    Word,
    /// PresentationML (`.pptx` and its variants).
    PowerPoint,
}

impl Kind {
    /// The kind named by `name`'s last extension, if it names one.
    fn from_name(name: &str) -> Option<Kind> {
        match super::extension(name).as_str() {
            "docx" | "docm" | "dotx" | "dotm" => Some(Kind::Word),
            "pptx" | "pptm" | "ppsx" | "ppsm" | "potx" | "potm" => Some(Kind::PowerPoint),
            _ => None,
        }
    }
}

/// Extracts the text of a `.docx` or `.pptx` named `name` (the last
/// extension decides; an unknown one is decided by the parts present) from
/// its bytes `data` into `sink`, one unit per paragraph. See the module
/// documentation for the places given and what is skipped.
pub fn extract(name: &str, data: &[u8], sink: &mut dyn Sink) {
    extract_reader(name, Cursor::new(data), sink);
}

/// [`extract`] from `reader` (a large file, read where it is) rather than
/// from memory.
pub fn extract_reader<R: Read + Seek>(name: &str, reader: R, sink: &mut dyn Sink) {
    let mut zip = match ZipArchive::new(reader) {
        Ok(zip) => zip,
        Err(e) => {
            sink.skip(
                "",
                &format!("not a valid Office document: corrupt zip ({e})"),
            );
            return;
        }
    };
    let kind = Kind::from_name(name).or_else(|| {
        if find(&zip, "word/document.xml").is_some() {
            Some(Kind::Word)
        } else if find(&zip, "ppt/presentation.xml").is_some() {
            Some(Kind::PowerPoint)
        } else {
            None
        }
    });
    let parts = match kind {
        Some(Kind::Word) => word_parts(&zip),
        Some(Kind::PowerPoint) => powerpoint_parts(&zip),
        None => {
            sink.skip(
                "",
                "not a Word or PowerPoint document: no word/document.xml or ppt/presentation.xml",
            );
            return;
        }
    };
    let parts = match parts {
        Ok(parts) => parts,
        Err(reason) => {
            sink.skip("", reason);
            return;
        }
    };
    let vocab = match kind {
        Some(Kind::PowerPoint) => Vocab::PowerPoint,
        _ => Vocab::Word,
    };

    let mut budget = MAX_XML_BYTES;
    let mut paragraphs = Paragraphs::default();
    let mut reported_encoding = false;
    for (i, (index, part)) in parts.iter().enumerate() {
        let mut read = |xml: &mut dyn BufRead, encoding: &'static str| {
            if !reported_encoding {
                sink.encoding(encoding);
                reported_encoding = true;
            }
            read_paragraphs(xml, vocab, &mut paragraphs, sink)
        };
        match read_part(&mut zip, *index, &mut budget, &mut read) {
            Ok(Ok(())) => {}
            // Paragraphs read before the damage were sent.
            Ok(Err(reason)) => sink.skip("", &format!("{part}: {reason}")),
            Err(reason) => {
                sink.skip("", &format!("{part}: {reason}"));
                if i == 0 && vocab == Vocab::Word {
                    // Without the body there is nothing worth numbering.
                    return;
                }
            }
        }
    }
    if !reported_encoding {
        sink.encoding(ENCODING_UTF8);
    }
}

/// The index of the member named `name`, ignoring ASCII case (OPC part names
/// are case-insensitive).
pub(super) fn find<R: Read + std::io::Seek>(zip: &ZipArchive<R>, name: &str) -> Option<usize> {
    zip.index_for_name(name).or_else(|| {
        (0..zip.len()).find(|&i| {
            zip.name_for_index(i)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    })
}

/// If `name` is `prefix` + decimal digits + `.xml` (ASCII case ignored),
/// those digits' value (none at all counts as 0).
fn numbered(name: &str, prefix: &str) -> Option<u64> {
    let head = name.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = &name[prefix.len()..];
    let split = rest.len().checked_sub(4)?;
    let (digits, ext) = (rest.get(..split)?, rest.get(split..)?);
    if !ext.eq_ignore_ascii_case(".xml") || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.is_empty() {
        return Some(0);
    }
    // Over 19 digits: saturate; order among such names hardly matters.
    Some(digits.parse().unwrap_or(u64::MAX))
}

/// The members `prefix<N>.xml`, as (index, name), in numeric order of N.
fn numbered_parts<R: Read + std::io::Seek>(
    zip: &ZipArchive<R>,
    prefix: &str,
) -> Vec<(usize, String)> {
    let mut found: Vec<(u64, usize, String)> = (0..zip.len())
        .filter_map(|i| {
            let name = zip.name_for_index(i)?;
            numbered(name, prefix).map(|n| (n, i, name.to_string()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, i, name)| (i, name)).collect()
}

/// The parts of a Word document to read, in order: body first.
fn word_parts<R: Read + std::io::Seek>(
    zip: &ZipArchive<R>,
) -> Result<Vec<(usize, String)>, &'static str> {
    let body =
        find(zip, "word/document.xml").ok_or("not a valid Word document: no word/document.xml")?;
    let mut parts = vec![(body, "word/document.xml".to_string())];
    parts.extend(numbered_parts(zip, "word/header"));
    parts.extend(numbered_parts(zip, "word/footer"));
    for name in [
        "word/footnotes.xml",
        "word/endnotes.xml",
        "word/comments.xml",
    ] {
        if let Some(i) = find(zip, name) {
            parts.push((i, name.to_string()));
        }
    }
    Ok(parts)
}

/// The parts of a presentation to read, in order: slides, then notes.
fn powerpoint_parts<R: Read + std::io::Seek>(
    zip: &ZipArchive<R>,
) -> Result<Vec<(usize, String)>, &'static str> {
    let mut parts = numbered_parts(zip, "ppt/slides/slide");
    if parts.is_empty() && find(zip, "ppt/presentation.xml").is_none() {
        return Err("not a valid PowerPoint document: no ppt/presentation.xml and no slides");
    }
    parts.extend(numbered_parts(zip, "ppt/notesSlides/notesSlide"));
    Ok(parts)
}

/// Reads member `index` with `read` as it is decompressed, charging its
/// size to `budget`, and returns what `read` returned. `Err` when the part
/// cannot be opened or goes over the budget: a part whose declared size is
/// over it is not read; one that proves longer than it said is cut one byte
/// past the budget (what was read of it has been sent).
fn read_part<R, T>(
    zip: &mut ZipArchive<R>,
    index: usize,
    budget: &mut u64,
    read: &mut dyn FnMut(&mut dyn BufRead, &'static str) -> T,
) -> Result<T, String>
where
    R: Read + Seek,
{
    let over = |budget: u64| {
        format!(
            "over the size limit for Office XML ({} MiB uncompressed per file, {} MiB left)",
            MAX_XML_BYTES >> 20,
            budget >> 20
        )
    };
    let file = zip
        .by_index(index)
        .map_err(|e| format!("cannot read: {e}"))?;
    if file.size() > *budget {
        return Err(over(*budget));
    }
    // The declared size may lie: read at most one byte past the budget.
    let allowed = budget.saturating_add(1);
    let mut xml = BufReader::with_capacity(PART_BUFFER, file.take(allowed));
    let head = xml
        .fill_buf()
        .map_err(|e| format!("cannot decompress: {e}"))?;
    // Long runs of text are broken for the XML reader (see `TextRuns`).
    let result = match encoding_rs::Encoding::for_bom(head) {
        Some((encoding, bom)) if encoding != encoding_rs::UTF_8 => {
            xml.consume(bom);
            let decoded = Utf16Reader::new(&mut xml, encoding);
            let runs = TextRuns::new(decoded);
            read(
                &mut BufReader::with_capacity(PART_BUFFER, runs),
                ENCODING_UTF16,
            )
        }
        _ => {
            let runs = TextRuns::new(&mut xml);
            read(
                &mut BufReader::with_capacity(PART_BUFFER, runs),
                ENCODING_UTF8,
            )
        }
    };
    let used = allowed - xml.get_ref().limit();
    if used > *budget {
        return Err(over(*budget));
    }
    *budget -= used;
    Ok(result)
}

/// Which XML vocabulary a part is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vocab {
    /// WordprocessingML: `w:p`, `w:t` …
    Word,
    /// DrawingML text in PresentationML: `a:p`, `a:t` …
    PowerPoint,
}

/// What an element means for text extraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A paragraph.
    Paragraph,
    /// A text run whose character data is the text.
    Text,
    /// An element standing for these characters.
    Chars(&'static [u8]),
    /// An element whose whole subtree is ignored.
    Skip,
    /// Anything else: descend, collect nothing.
    Other,
}

/// The namespace an element resolved to, as far as extraction cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Word,
    Drawing,
    Math,
    Mc,
    Other,
}

impl Ns {
    fn of(resolved: &ResolveResult<'_>) -> Ns {
        let ResolveResult::Bound(Namespace(uri)) = resolved else {
            return Ns::Other;
        };
        let uri: &[u8] = uri;
        if NS_WORD.contains(&uri) {
            Ns::Word
        } else if NS_DRAWING.contains(&uri) {
            Ns::Drawing
        } else if NS_MATH.contains(&uri) {
            Ns::Math
        } else if uri == NS_MC {
            Ns::Mc
        } else {
            Ns::Other
        }
    }
}

impl Vocab {
    /// The role of element `local` in namespace `ns`.
    fn role(self, ns: Ns, local: &[u8]) -> Role {
        match (self, ns, local) {
            (_, Ns::Mc, b"Fallback") => Role::Skip,
            (Vocab::Word, Ns::Word, b"p") => Role::Paragraph,
            (Vocab::Word, Ns::Word | Ns::Math, b"t") => Role::Text,
            (Vocab::Word, Ns::Word, b"tab" | b"ptab") => Role::Chars(b"\t"),
            (Vocab::Word, Ns::Word, b"br" | b"cr") => Role::Chars(b" "),
            (Vocab::Word, Ns::Word, b"noBreakHyphen") => Role::Chars(b"-"),
            // Tab stop definitions, whose `w:tab` children are not tabs.
            (Vocab::Word, Ns::Word, b"tabs") => Role::Skip,
            (Vocab::PowerPoint, Ns::Drawing, b"p") => Role::Paragraph,
            (Vocab::PowerPoint, Ns::Drawing, b"t") => Role::Text,
            (Vocab::PowerPoint, Ns::Drawing, b"br") => Role::Chars(b" "),
            _ => Role::Other,
        }
    }
}

/// Paragraphs being collected, numbered across all parts of one file.
#[derive(Debug, Default)]
struct Paragraphs {
    /// Ordinal of the last paragraph opened.
    last: u64,
    /// Open paragraphs, innermost last: (ordinal, text).
    open: Vec<(u64, Vec<u8>)>,
    /// Closed paragraphs waiting for an enclosing one to close, so units go
    /// out in ordinal order.
    done: Vec<(u64, Vec<u8>)>,
}

impl Paragraphs {
    /// A paragraph starts.
    fn start(&mut self) {
        self.last += 1;
        self.open.push((self.last, Vec::new()));
    }

    /// The innermost paragraph ends.
    fn end(&mut self, sink: &mut dyn Sink) {
        let Some(closed) = self.open.pop() else {
            return;
        };
        if self.open.is_empty() && self.done.is_empty() {
            send(&closed, sink);
        } else {
            self.done.push(closed);
            if self.open.is_empty() {
                self.flush_done(sink);
            }
        }
    }

    /// Sends waiting paragraphs in ordinal order.
    fn flush_done(&mut self, sink: &mut dyn Sink) {
        self.done.sort_by_key(|(line, _)| *line);
        for paragraph in self.done.drain(..) {
            send(&paragraph, sink);
        }
    }

    /// Ends every open paragraph (at the end of a part, well-formed or not).
    fn end_all(&mut self, sink: &mut dyn Sink) {
        self.done.append(&mut self.open);
        self.flush_done(sink);
    }

    /// Appends text to the innermost paragraph, newlines as spaces so the
    /// paragraph stays one line.
    /// Past [`PARAGRAPH_PIECE`] bytes, the paragraph's text so far is
    /// sent, up to its last space ([`super::text::space_cut`]), as a unit of its own at the paragraph's
    /// line (ahead of the paragraphs it holds, if any): a paragraph of
    /// 100s of MB is never held whole.
    fn push(&mut self, text: &[u8], sink: &mut dyn Sink) {
        let Some((line, buf)) = self.open.last_mut() else {
            return;
        };
        buf.extend(text.iter().map(|&b| match b {
            b'\n' | b'\r' => b' ',
            b => b,
        }));
        if buf.len() >= PARAGRAPH_PIECE {
            // Text comes in whole characters: the end is a boundary.
            let cut = super::text::space_cut(buf).unwrap_or(buf.len());
            let rest = buf.split_off(cut);
            let piece = std::mem::replace(buf, rest);
            send(&(*line, piece), sink);
        }
    }

    /// Appends the text of an entity or character reference.
    fn push_ref(&mut self, reference: &BytesRef<'_>, sink: &mut dyn Sink) {
        let mut utf8 = [0; 4];
        self.push(&reference_text(reference, &mut utf8), sink);
    }
}

/// The reason given for malformed XML found at byte `position` of a part.
pub(super) fn malformed(position: u64, e: &quick_xml::Error) -> String {
    format!("malformed XML at byte {position}: {e}")
}

/// The text an entity or character reference stands for (`utf8` holds a
/// character's encoding). An unknown entity or bad character reference is
/// kept as written rather than dropped.
pub(super) fn reference_text<'u>(reference: &BytesRef<'_>, utf8: &'u mut [u8; 4]) -> Cow<'u, [u8]> {
    match reference.resolve_char_ref() {
        Ok(Some(c)) => Cow::Borrowed(c.encode_utf8(utf8).as_bytes()),
        _ => {
            let name = reference.decode().unwrap_or_default();
            match quick_xml::escape::resolve_predefined_entity(&name) {
                Some(s) => Cow::Borrowed(s.as_bytes()),
                None => Cow::Owned(format!("&{name};").into_bytes()),
            }
        }
    }
}

/// Sends one paragraph as a unit, unless it is empty.
fn send((line, text): &(u64, Vec<u8>), sink: &mut dyn Sink) {
    if text.is_empty() {
        return;
    }
    sink.unit(&Unit {
        text,
        place: Place {
            line: Some(*line),
            col: 1,
            ..Place::default()
        },
    });
}

/// Reads the paragraphs of one XML part into `paragraphs`, sending each to
/// `sink` as it closes. On malformed XML, sends what was read and returns
/// the reason.
fn read_paragraphs(
    xml: &mut dyn BufRead,
    vocab: Vocab,
    paragraphs: &mut Paragraphs,
    sink: &mut dyn Sink,
) -> Result<(), String> {
    let result = read_events(xml, vocab, paragraphs, sink);
    paragraphs.end_all(sink);
    result
}

/// The event loop of [`read_paragraphs`].
fn read_events(
    xml: &mut dyn BufRead,
    vocab: Vocab,
    paragraphs: &mut Paragraphs,
    sink: &mut dyn Sink,
) -> Result<(), String> {
    let mut reader = NsReader::from_reader(xml);
    let (mut buf, mut skipped) = (Vec::new(), Vec::new());
    // Depth of open text elements (`w:t`); character data counts only inside.
    let mut in_text = 0u32;
    loop {
        buf.clear();
        let (ns, event) = match reader.read_resolved_event_into(&mut buf) {
            Ok((resolved, event)) => (Ns::of(&resolved), event),
            Err(e) => return Err(malformed(reader.error_position(), &e)),
        };
        match event {
            Event::Start(e) => match vocab.role(ns, e.local_name().as_ref()) {
                Role::Paragraph => paragraphs.start(),
                Role::Text => in_text += 1,
                Role::Chars(c) => paragraphs.push(c, sink),
                Role::Skip => {
                    skipped.clear();
                    if let Err(e) = reader.read_to_end_into(e.name(), &mut skipped) {
                        return Err(malformed(reader.error_position(), &e));
                    }
                }
                Role::Other => {}
            },
            Event::Empty(e) => match vocab.role(ns, e.local_name().as_ref()) {
                Role::Paragraph => {
                    paragraphs.start();
                    paragraphs.end(sink);
                }
                Role::Chars(c) => paragraphs.push(c, sink),
                Role::Text | Role::Skip | Role::Other => {}
            },
            Event::End(e) => match vocab.role(ns, e.local_name().as_ref()) {
                Role::Paragraph => paragraphs.end(sink),
                Role::Text => in_text = in_text.saturating_sub(1),
                _ => {}
            },
            Event::Text(t) if in_text > 0 => paragraphs.push(&t, sink),
            Event::CData(t) if in_text > 0 => paragraphs.push(&t, sink),
            Event::GeneralRef(r) if in_text > 0 => paragraphs.push_ref(&r, sink),
            Event::Eof => break,
            _ => {}
        }
    }
    if paragraphs.open.is_empty() {
        Ok(())
    } else {
        Err("malformed XML: the part ends inside a paragraph".to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use zip::write::SimpleFileOptions;
    use zip::ZipWriter;

    use super::*;
    use crate::extract::testing::Recorder;
    use crate::synth::{self, Rng};

    const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;
    const PML: &str = r#"xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main""#;

    /// A zip of `(name, content)` members, deflated.
    fn zip_of(members: &[(&str, &str)]) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, content) in members {
            zip.start_file(*name, SimpleFileOptions::default()).unwrap();
            zip.write_all(content.as_bytes()).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn docx(body: &str) -> Vec<u8> {
        docx_with(body, &[])
    }

    fn docx_with(body: &str, more: &[(&str, &str)]) -> Vec<u8> {
        let document = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W}><w:body>{body}<w:sectPr/></w:body></w:document>"#
        );
        let mut members = vec![
            ("[Content_Types].xml", CONTENT_TYPES),
            ("word/document.xml", document.as_str()),
        ];
        members.extend_from_slice(more);
        zip_of(&members)
    }

    const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#;

    fn slide(paragraphs: &[&str]) -> String {
        let ps: String = paragraphs
            .iter()
            .map(|t| format!("<a:p><a:r><a:rPr lang=\"zh-CN\"/><a:t>{t}</a:t></a:r></a:p>"))
            .collect();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><p:sld {PML}><p:cSld><p:spTree><p:sp><p:txBody><a:bodyPr/>{ps}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>"#
        )
    }

    fn run(name: &str, data: &[u8]) -> Recorder {
        let mut rec = Recorder::default();
        extract(name, data, &mut rec);
        rec
    }

    fn texts_and_lines(rec: &Recorder) -> Vec<(String, u64)> {
        rec.units
            .iter()
            .map(|u| (u.text.clone(), u.line.unwrap_or(0)))
            .collect()
    }

    #[test]
    fn docx_paragraphs_runs_tables_entities() {
        let mut rng = Rng::new(1);
        let id = synth::resident_id(&mut rng);
        let mobile = synth::mobile(&mut rng);
        let (id_a, id_b) = id.split_at(6);
        let body = format!(
            "<w:p><w:pPr><w:pStyle w:val=\"Title\"/><w:tabs><w:tab w:val=\"left\" w:pos=\"720\"/></w:tabs></w:pPr>\
               <w:r><w:t>员工信息登记表</w:t></w:r></w:p>\
             <w:p><w:r><w:rPr><w:b/></w:rPr><w:t>身份证号:</w:t></w:r>\
               <w:r><w:t>{id_a}</w:t></w:r><w:r><w:t>{id_b}</w:t></w:r></w:p>\
             <w:p/>\
             <w:tbl><w:tblPr/><w:tr><w:tc><w:tcPr/><w:p><w:r><w:t xml:space=\"preserve\">手机 </w:t></w:r>\
               <w:r><w:t>{mobile}</w:t></w:r></w:p></w:tc>\
               <w:tc><w:p><w:r><w:t>R&amp;D &#x8EAB;&#20221;&lt;x&gt;</w:t></w:r></w:p></w:tc></w:tr></w:tbl>\
             <w:p><w:r><w:t>a</w:t><w:tab/><w:t>b</w:t><w:br/><w:t>c</w:t><w:instrText>HYPERLINK</w:instrText></w:r>\
               <w:del><w:r><w:delText>gone</w:delText></w:r></w:del></w:p>"
        );
        let rec = run("share/a.zip!dir/x.DOCX", &docx(&body));
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(rec.encodings, vec![ENCODING_UTF8]);
        assert_eq!(
            texts_and_lines(&rec),
            vec![
                ("员工信息登记表".to_string(), 1),
                (format!("身份证号:{id}"), 2),
                (format!("手机 {mobile}"), 4),
                ("R&D 身份<x>".to_string(), 5),
                ("a\tb c".to_string(), 6),
            ]
        );
        assert!(rec
            .units
            .iter()
            .all(|u| u.col == 1 && u.member.is_none() && u.field.is_none() && u.cell.is_none()));
    }

    #[test]
    fn a_long_paragraph_is_sent_in_pieces_at_its_line() {
        // 3.5 MiB of text in one run (broken by `TextRuns`), then in many.
        let long = "手机 13812345678 lorem ipsum ".repeat(3_500_000 / 32);
        let runs: String = long
            .split_inclusive(' ')
            .map(|w| format!("<w:r><w:t xml:space=\"preserve\">{w}</w:t></w:r>"))
            .collect();
        let body = format!(
            "<w:p><w:r><w:t>a</w:t></w:r></w:p><w:p><w:r><w:t>{long}</w:t></w:r></w:p>\
             <w:p>{runs}</w:p><w:p><w:r><w:t>b</w:t></w:r></w:p>"
        );
        let rec = run("x.docx", &docx(&body));
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        let units = texts_and_lines(&rec);
        assert_eq!(units.first(), Some(&("a".to_string(), 1)));
        assert_eq!(units.last(), Some(&("b".to_string(), 4)));
        for line in [2, 3] {
            let pieces: Vec<&str> = units
                .iter()
                .filter(|u| u.1 == line)
                .map(|u| u.0.as_str())
                .collect();
            assert!(pieces.len() >= 3, "{}", pieces.len());
            assert!(pieces.iter().all(|p| p.len() <= 2 * PARAGRAPH_PIECE));
            // Cut after spaces: the pieces make the paragraph.
            assert!(pieces[..pieces.len() - 1].iter().all(|p| p.ends_with(' ')));
            assert_eq!(pieces.concat(), long);
        }
    }

    #[test]
    fn docx_findings_get_paragraph_lines() {
        // End to end through the scanner: the ID is found on line 2.
        let id = synth::resident_id(&mut Rng::new(1));
        let body = format!(
            "<w:p><w:r><w:t>标题</w:t></w:r></w:p>\
             <w:p><w:r><w:t>身份证号:</w:t></w:r><w:r><w:t>{}</w:t></w:r><w:r><w:t>{}</w:t></w:r></w:p>",
            &id[..9],
            &id[9..]
        );
        let report = crate::scan::scan_buffer(
            &docx(&body),
            "x.docx".to_string(),
            &crate::scan::ScanOptions {
                show_values: true,
                ..Default::default()
            },
        );
        let found: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.shown.to_string(), f.line, f.col))
            .collect();
        assert_eq!(found, vec![(id, Some(2), Some(6))]);
    }

    #[test]
    fn docx_text_boxes_fallback_and_nesting() {
        // A text box in a paragraph: the inner paragraph gets its own
        // ordinal; the VML fallback copy is not read; order is by ordinal.
        let body = "<w:p><w:r><w:t>before</w:t></w:r>\
            <w:r><mc:AlternateContent xmlns:mc=\"http://schemas.openxmlformats.org/markup-compatibility/2006\">\
              <mc:Choice Requires=\"wps\"><w:drawing><w:txbxContent><w:p><w:r><w:t>boxed</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice>\
              <mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>boxed</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback>\
            </mc:AlternateContent></w:r><w:r><w:t>after</w:t></w:r></w:p>\
            <w:p><w:r><w:t>next</w:t></w:r></w:p>";
        let rec = run("x.docx", &docx(body));
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(
            texts_and_lines(&rec),
            vec![
                ("beforeafter".to_string(), 1),
                ("boxed".to_string(), 2),
                ("next".to_string(), 3),
            ]
        );
    }

    #[test]
    fn docx_headers_and_footers_continue_numbering() {
        let footer = format!(r#"<w:ftr {W}><w:p><w:r><w:t>footer</w:t></w:r></w:p></w:ftr>"#);
        let header2 = format!(r#"<w:hdr {W}><w:p/><w:p><w:r><w:t>h2</w:t></w:r></w:p></w:hdr>"#);
        let header10 = format!(r#"<w:hdr {W}><w:p><w:r><w:t>h10</w:t></w:r></w:p></w:hdr>"#);
        let data = docx_with(
            "<w:p><w:r><w:t>body</w:t></w:r></w:p><w:p/>",
            &[
                ("word/footer1.xml", footer.as_str()),
                ("word/header10.xml", header10.as_str()),
                ("word/header2.xml", header2.as_str()),
                ("word/_rels/header2.xml.rels", "<Relationships/>"),
            ],
        );
        let rec = run("x.docx", &data);
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(
            texts_and_lines(&rec),
            vec![
                ("body".to_string(), 1),
                ("h2".to_string(), 4),
                ("h10".to_string(), 5),
                ("footer".to_string(), 6),
            ]
        );
    }

    #[test]
    fn pptx_slides_in_numeric_order() {
        let mobile = synth::mobile(&mut Rng::new(7));
        let s2 = slide(&["第二页", &format!("电话 {mobile}")]);
        let s10 = slide(&["第十页 A&amp;B"]);
        let s1 = slide(&[]);
        let notes = format!(
            r#"<p:notes {PML}><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>备注</a:t></a:r><a:br/><a:r><a:t>x</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:notes>"#
        );
        let data = zip_of(&[
            ("[Content_Types].xml", CONTENT_TYPES),
            ("ppt/presentation.xml", "<p:presentation/>"),
            ("ppt/slides/slide10.xml", s10.as_str()),
            ("ppt/slides/slide2.xml", &s2),
            ("ppt/slides/_rels/slide2.xml.rels", "<Relationships/>"),
            ("ppt/slides/slide1.xml", &s1),
            ("ppt/notesSlides/notesSlide2.xml", &notes),
        ]);
        let rec = run("deck.pptx", &data);
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(rec.encodings, vec![ENCODING_UTF8]);
        assert_eq!(
            texts_and_lines(&rec),
            vec![
                ("第二页".to_string(), 1),
                (format!("电话 {mobile}"), 2),
                ("第十页 A&B".to_string(), 3),
                ("备注 x".to_string(), 4),
            ]
        );
    }

    #[test]
    fn pptx_without_slides_or_presentation_is_skipped() {
        let data = zip_of(&[("[Content_Types].xml", CONTENT_TYPES)]);
        let rec = run("deck.pptx", &data);
        assert!(rec.units.is_empty());
        assert_eq!(rec.skips.len(), 1);
        assert!(rec.skips[0].1.contains("no ppt/presentation.xml"));
    }

    #[test]
    fn corrupt_bytes_are_skipped() {
        for data in [
            &b""[..],
            b"PK\x03\x04",
            b"PK\x03\x04garbage garbage garbage garbage",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        ] {
            let rec = run("x.docx", data);
            assert!(rec.units.is_empty());
            assert_eq!(rec.skips.len(), 1, "{data:?}");
            assert_eq!(rec.skips[0].0, "");
            assert!(rec.skips[0].1.contains("corrupt zip"), "{:?}", rec.skips);
        }
        // A truncated real document.
        let data = docx("<w:p><w:r><w:t>hello</w:t></w:r></w:p>");
        for cut in [data.len() / 2, data.len() - 10] {
            let rec = run("x.docx", &data[..cut]);
            assert_eq!(rec.skips.len(), 1);
        }
    }

    #[test]
    fn zip_without_document_xml_is_skipped() {
        let data = zip_of(&[
            ("[Content_Types].xml", CONTENT_TYPES),
            ("word/styles.xml", "<w:styles/>"),
        ]);
        let rec = run("x.docx", &data);
        assert!(rec.units.is_empty());
        assert_eq!(
            rec.skips,
            vec![(
                String::new(),
                "not a valid Word document: no word/document.xml".to_string()
            )]
        );
    }

    #[test]
    fn malformed_xml_is_skipped_after_what_was_read() {
        let bad = format!(
            r#"<w:document {W}><w:body><w:p><w:r><w:t>ok</w:t></w:r></w:p><w:p><w:r><w:t>broken</w:r></w:p></w:body></w:document>"#
        );
        let data = zip_of(&[("word/document.xml", &bad)]);
        let rec = run("x.docx", &data);
        assert_eq!(texts_and_lines(&rec)[0], ("ok".to_string(), 1));
        assert_eq!(rec.skips.len(), 1);
        assert!(rec.skips[0]
            .1
            .starts_with("word/document.xml: malformed XML"));

        let unclosed = format!(r#"<w:document {W}><w:body><w:p><w:r><w:t>tail"#);
        let rec = run("x.docx", &zip_of(&[("word/document.xml", &unclosed)]));
        assert_eq!(rec.skips.len(), 1, "{:?}", rec.skips);
        assert_eq!(texts_and_lines(&rec), vec![("tail".to_string(), 1)]);

        let rec = run(
            "x.docx",
            &zip_of(&[("word/document.xml", "\u{0}\u{1}<<<&&")]),
        );
        assert_eq!(rec.skips.len(), 1);
    }

    #[test]
    fn unknown_extension_is_decided_by_content_and_case_is_ignored() {
        let document = format!(
            r#"<w:document {W}><w:body><w:p><w:r><w:t>hi</w:t></w:r></w:p></w:body></w:document>"#
        );
        let data = zip_of(&[("Word/Document.XML", &document)]);
        let rec = run("noext", &data);
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(texts_and_lines(&rec), vec![("hi".to_string(), 1)]);
    }

    #[test]
    fn utf16_parts_are_transcoded() {
        let document = format!(
            r#"<?xml version="1.0" encoding="UTF-16"?><w:document {W}><w:body><w:p><w:r><w:t>身份</w:t></w:r></w:p></w:body></w:document>"#
        );
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in document.encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("word/document.xml", SimpleFileOptions::default())
            .unwrap();
        zip.write_all(&utf16).unwrap();
        let data = zip.finish().unwrap().into_inner();
        let rec = run("x.docx", &data);
        assert!(rec.skips.is_empty(), "{:?}", rec.skips);
        assert_eq!(rec.encodings, vec![ENCODING_UTF16]);
        assert_eq!(texts_and_lines(&rec), vec![("身份".to_string(), 1)]);
    }

    #[test]
    fn oversized_parts_are_skipped() {
        let mut budget = 10;
        let data = zip_of(&[("word/document.xml", "<w:document>0123456789</w:document>")]);
        let mut zip = ZipArchive::new(Cursor::new(&data[..])).unwrap();
        let mut count = |xml: &mut dyn BufRead, _: &'static str| xml.bytes().count();
        let err = read_part(&mut zip, 0, &mut budget, &mut count).unwrap_err();
        assert!(err.contains("over the size limit"), "{err}");
        assert_eq!(budget, 10);
        let mut budget = 100;
        assert_eq!(read_part(&mut zip, 0, &mut budget, &mut count), Ok(35));
        assert_eq!(budget, 100 - 35);
        // A part that says it is shorter than it is: cut one byte past the
        // budget, and refused.
        let mut liar = data.clone();
        let at = liar.windows(4).position(|w| w == b"PK\x03\x04").unwrap();
        liar[at + 22..at + 26].copy_from_slice(&5u32.to_le_bytes());
        let central = liar.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        liar[central + 24..central + 28].copy_from_slice(&5u32.to_le_bytes());
        let mut zip = ZipArchive::new(Cursor::new(&liar[..])).unwrap();
        let mut budget = 10;
        let mut read = 0;
        let mut count = |xml: &mut dyn BufRead, _: &'static str| read = xml.bytes().count();
        let result = read_part(&mut zip, 0, &mut budget, &mut count);
        assert!(result.unwrap_err().contains("over the size limit"));
        assert!(read <= 11, "{read}");
    }

    #[test]
    fn numbered_names() {
        assert_eq!(
            numbered("ppt/slides/slide10.xml", "ppt/slides/slide"),
            Some(10)
        );
        assert_eq!(
            numbered("PPT/Slides/Slide2.XML", "ppt/slides/slide"),
            Some(2)
        );
        assert_eq!(
            numbered("ppt/slides/slide.xml", "ppt/slides/slide"),
            Some(0)
        );
        assert_eq!(
            numbered("ppt/slides/slide1.xml.rels", "ppt/slides/slide"),
            None
        );
        assert_eq!(numbered("ppt/slides/slideA.xml", "ppt/slides/slide"), None);
        assert_eq!(numbered("ppt/slides/slide", "ppt/slides/slide"), None);
        assert_eq!(numbered("ppt/slides/", "ppt/slides/slide"), None);
        assert_eq!(numbered("word/header1.xml", "word/header"), Some(1));
        assert_eq!(numbered("wörd/header1.xml", "word/header"), None);
    }
}
