//! Zip members read as XML events: what the `.xlsx` and `.ods` readers
//! share (and the `.xlsb` reader, for its relationships and its binary
//! parts). Parts are decompressed and parsed as they are read, so only the
//! event buffer and what a reader keeps are held; element and attribute
//! names are matched by local name, so prefixed markup reads the same.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read, Seek};

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use zip::read::ZipFile;
use zip::ZipArchive;

use super::super::office::{find, malformed, reference_text, PART_BUFFER};
use super::super::xml_runs::TextRuns;

/// Most bytes of text kept for one cell or shared string; the rest is
/// dropped, and the cell reported ([`cell_cut`]). Excel itself stops at
/// 32 767 characters: a longer cell comes from another writer, or is
/// crafted to exhaust memory.
pub(super) const CELL_TEXT_MAX: usize = 8 << 20;

/// Cuts the text of a cell, `text[from..]`, back to [`CELL_TEXT_MAX`]
/// bytes (at a character's start) when it is longer; true when it was.
pub(super) fn cap_cell_text(text: &mut String, from: usize) -> bool {
    let mut cut = from + CELL_TEXT_MAX;
    if text.len() <= cut {
        return false;
    }
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    true
}

/// Why the cell at zero-based `(row, col)` was scanned only in part.
pub(super) fn cell_cut(row: u32, col: u32) -> String {
    format!(
        "cell {}: text over {} MiB, the rest of it not scanned",
        super::super::a1(row, col),
        CELL_TEXT_MAX >> 20
    )
}

/// An XML part being read, with its event buffer.
pub(super) struct Xml<B> {
    reader: Reader<B>,
    buf: Vec<u8>,
}

impl<B: BufRead> Xml<B> {
    /// The next event; malformed XML is an error naming the byte.
    pub(super) fn next(&mut self) -> Result<Event<'_>, String> {
        self.buf.clear();
        match self.reader.read_event_into(&mut self.buf) {
            Ok(event) => Ok(event),
            Err(e) => Err(malformed(self.reader.error_position(), &e)),
        }
    }
}

/// An XML part as it is parsed: decompressed, its long runs of text
/// broken ([`TextRuns`]: a cell's text is never held whole by the XML
/// reader), buffered.
pub(super) type Part<'z, R> = BufReader<TextRuns<ZipFile<'z, R>>>;

/// Reads the member `name` with `read`: `None` when there is no such
/// member, errors prefixed with the part's name.
pub(super) fn read_part<'z, R: Read + Seek, T>(
    zip: &'z mut ZipArchive<R>,
    name: &str,
    read: impl FnOnce(&mut Xml<Part<'z, R>>) -> Result<T, String>,
) -> Result<Option<T>, String> {
    // `TextRuns` has a buffer of its own: the member's, empty yet, goes.
    let xml = |member: BufReader<_>| Xml {
        reader: Reader::from_reader(BufReader::with_capacity(
            PART_BUFFER,
            TextRuns::new(member.into_inner()),
        )),
        buf: Vec::new(),
    };
    read_member(zip, name, xml, read)
}

/// Reads the member `name`, buffered and wrapped by `open` (an XML or a
/// record reader), with `read`: `None` when there is no such member,
/// errors prefixed with the part's name.
pub(super) fn read_member<'z, R: Read + Seek, P, T>(
    zip: &'z mut ZipArchive<R>,
    name: &str,
    open: impl FnOnce(BufReader<ZipFile<'z, R>>) -> P,
    read: impl FnOnce(&mut P) -> Result<T, String>,
) -> Result<Option<T>, String> {
    let Some(index) = find(zip, name) else {
        return Ok(None);
    };
    let member = zip.by_index(index).map_err(|e| format!("{name}: {e}"))?;
    let mut part = open(BufReader::with_capacity(PART_BUFFER, member));
    read(&mut part)
        .map(Some)
        .map_err(|e| format!("{name}: {e}"))
}

/// The value of the attribute of `element` whose local name is `name`.
pub(super) fn attr<'e>(element: &'e BytesStart<'_>, name: &[u8]) -> Option<Cow<'e, str>> {
    element
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| a.normalized_value(XmlVersion::default()).ok())
}

/// The element an event opens (or opens and closes), if any.
pub(super) fn opened<'e>(event: &'e Event<'_>) -> Option<&'e BytesStart<'e>> {
    match event {
        Event::Start(e) | Event::Empty(e) => Some(e),
        _ => None,
    }
}

/// Appends the character data `event` carries (text, CDATA, an entity or
/// character reference) to `out`; other events add nothing.
pub(super) fn push_text(event: &Event<'_>, out: &mut String) -> Result<(), String> {
    match event {
        Event::Text(t) => out.push_str(&t.xml10_content().map_err(|e| e.to_string())?),
        Event::CData(t) => out.push_str(&String::from_utf8_lossy(t)),
        Event::GeneralRef(r) => {
            let mut utf8 = [0; 4];
            out.push_str(&String::from_utf8_lossy(&reference_text(r, &mut utf8)));
        }
        _ => {}
    }
    Ok(())
}
