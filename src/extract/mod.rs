//! Extraction: raw bytes to decoded text units with a location.
//!
//! An extractor turns a file's bytes into [`Unit`]s: pieces of UTF-8 text,
//! each with a [`Place`] saying where it sits (line-numbered text, or later
//! a spreadsheet cell, a table row's field, an archive member). Extractors
//! know nothing about detectors; the scan loop feeds each unit's text to
//! `detect::scan` and combines the place with the match offsets.

pub mod text;

use std::borrow::Cow;

/// Where a unit of text sits inside a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// The text is a run of lines, the first of which has this 1-based
    /// number; findings get `line` and `col` from their offsets.
    pub first_line: Option<u64>,
    /// The name the text sits under (header, key, column), if any.
    pub field: Option<String>,
}

/// A piece of decoded text and where it sits.
#[derive(Debug)]
pub struct Unit<'a> {
    /// UTF-8 text (invalid sequences may remain where no encoding fitted).
    pub text: Cow<'a, [u8]>,
    /// Where the text sits.
    pub place: Place,
}

/// Extracts the text units of a file's contents and reports the encoding it
/// detected.
pub fn extract(data: &[u8], units: &mut impl FnMut(Unit<'_>)) -> &'static str {
    let (text, encoding) = text::decode(data);
    units(Unit {
        text,
        place: Place {
            first_line: Some(1),
            field: None,
        },
    });
    encoding
}
