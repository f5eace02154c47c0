//! Word and PowerPoint text. (Stub: implemented in the Office task.)

use super::Sink;

/// Extracts a .docx or .pptx.
pub fn extract(_name: &str, _data: &[u8], sink: &mut dyn Sink) {
    sink.skip("", "Office documents not supported yet");
}
