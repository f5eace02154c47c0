//! Spreadsheets via calamine. (Stub: implemented in the spreadsheet task.)

use super::Sink;

/// Extracts a spreadsheet.
pub fn extract(_name: &str, _data: &[u8], sink: &mut dyn Sink) {
    sink.skip("", "spreadsheets not supported yet");
}
