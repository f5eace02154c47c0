//! CSV and TSV: fields under their header. (Stub: implemented in the CSV task.)

use super::Sink;

/// Extracts delimited text.
pub fn extract(_name: &str, data: &[u8], sink: &mut dyn Sink) {
    super::text::extract(data, sink);
}
