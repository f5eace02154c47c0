//! Archives: gzip, zip and tar, read in memory, never extracted to disk.
//! (Stub: implemented in the archive task.)

use super::{Limits, Sink};

/// Whether `data` is a tar archive (ustar magic at offset 257).
pub fn is_tar(data: &[u8]) -> bool {
    data.get(257..262) == Some(b"ustar")
}

/// Extracts a gzip stream.
pub fn extract_gzip(_name: &str, _data: &[u8], _limits: &Limits, _depth: u32, sink: &mut dyn Sink) {
    sink.skip("", "gzip not supported yet");
}

/// Extracts a zip archive.
pub fn extract_zip(_data: &[u8], _limits: &Limits, _depth: u32, sink: &mut dyn Sink) {
    sink.skip("", "zip not supported yet");
}

/// Extracts a tar archive.
pub fn extract_tar(_data: &[u8], _limits: &Limits, _depth: u32, sink: &mut dyn Sink) {
    sink.skip("", "tar not supported yet");
}
