//! The resolved configuration of a scan: plain data, built by the CLI (or a
//! test) and read by [`crate::scan`].

use std::path::PathBuf;
use std::sync::Arc;

use crate::detect::custom::CustomDetectors;
use crate::detect::Confidence;
use crate::extract::Limits;
use crate::report::Format;
use crate::settings::Filter;
use crate::source::WalkOptions;

/// When the scan's exit status reports failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailOn {
    /// Never (exit 0 whenever the scan finished).
    #[default]
    None,
    /// Any finding of a sensitive kind.
    Sensitive,
    /// Any finding at all.
    Any,
}

/// Everything a scan needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// Files and directories to walk (without `-`).
    pub walk: WalkOptions,
    /// Whether `-` (stdin) is one of the paths.
    pub stdin: bool,
    /// The `path` reported for stdin.
    pub stdin_name: String,
    /// Report format.
    pub format: Format,
    /// Report destination; stdout when `None`.
    pub output: Option<PathBuf>,
    /// ANSI colours in the table format.
    pub color: bool,
    /// Print values unmasked.
    pub show_values: bool,
    /// Exit status policy.
    pub fail_on: FailOn,
    /// Findings below this confidence are dropped.
    pub min_confidence: Confidence,
    /// Kinds, confidences and values not reported (from `piscan.toml`).
    pub filter: Filter,
    /// Detectors of the custom kinds (from `piscan.toml` and `--patterns`);
    /// `None` when there are none.
    pub custom: Option<Arc<CustomDetectors>>,
    /// Buffer the report and order it by path.
    pub sort_by_path: bool,
    /// Show a progress display on stderr.
    pub progress: bool,
    /// No messages on stderr but fatal errors.
    pub quiet: bool,
    /// Say on stderr what each file was (encoding, skip reason).
    pub verbose: bool,
    /// Bounds on archives and tables.
    pub limits: Limits,
    /// Share of a column's values that must hold a kind for the column to
    /// be classified as holding it.
    pub column_threshold: f64,
    /// Report only findings not in this baseline file.
    pub baseline: Option<PathBuf>,
    /// Record the fingerprints of this scan's findings in this file.
    pub baseline_write: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            walk: WalkOptions::default(),
            stdin: false,
            stdin_name: "-".to_string(),
            format: Format::Jsonl,
            output: None,
            color: false,
            show_values: false,
            fail_on: FailOn::None,
            min_confidence: Confidence::Medium,
            filter: Filter::default(),
            custom: None,
            sort_by_path: false,
            progress: false,
            quiet: false,
            verbose: false,
            limits: Limits::default(),
            column_threshold: 0.5,
            baseline: None,
            baseline_write: None,
        }
    }
}
