//! JSON documents and JSON lines: string and number values under their key
//! path. (Stub: implemented in the JSON task.)

use super::Sink;

/// Extracts one JSON document.
pub fn extract_document(data: &[u8], sink: &mut dyn Sink) {
    super::text::extract(data, sink);
}

/// Extracts JSON lines.
pub fn extract_lines(data: &[u8], sink: &mut dyn Sink) {
    super::text::extract(data, sink);
}
