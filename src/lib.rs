//! piscan: find personal information in file shares, database dumps and
//! logs, and tell which of it is sensitive under GB/T 35273.
//!
//! The library is the pipeline; `main.rs` only parses the command line into
//! a [`config::Config`] and calls [`scan::run`]:
//!
//! ```text
//! source (walk, sniff) → extract (decode to text units) → detect (find and
//! validate) → classify (category, sensitivity) → report (mask, inventory,
//! formats)
//! ```
//!
//! Data flows one way: extractors know nothing about detectors, detectors
//! nothing about files.

pub mod classify;
pub mod config;
mod cpu;
pub mod detect;
pub mod exit_codes;
pub mod extract;
pub mod patterns;
pub mod report;
pub mod scan;
pub mod settings;
pub mod source;
pub mod synth;
