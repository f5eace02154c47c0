//! piscan: find personal information in files, dumps and logs, and tell which
//! of it is sensitive under GB/T 35273.
pub mod classify;
pub mod detect;
pub mod patterns;
pub mod synth;
