//! Baselines: findings a team has reviewed and accepted, recorded by
//! fingerprint, so that a CI gate fails only on new ones.
//!
//! A baseline file holds fingerprints ([`super::Finding::fingerprint`]:
//! a hash of path, member, kind and a hash of the value), never a value and
//! never a line number: a log line that moves keeps its fingerprint, a new
//! value in the same file gets a new one.
//!
//! ```json
//! {"version": 1, "tool": "piscan", "fingerprints": ["3f1c…", "…"]}
//! ```

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::FileReport;

#[derive(Serialize, Deserialize)]
struct BaselineFile {
    version: u32,
    tool: String,
    fingerprints: Vec<String>,
}

/// Accepted findings, by fingerprint.
#[derive(Debug, Default)]
pub struct Baseline {
    fingerprints: HashSet<String>,
}

impl Baseline {
    /// Reads a baseline file written by `--baseline-write`.
    pub fn load(path: &Path) -> anyhow::Result<Baseline> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read baseline {}", path.display()))?;
        let file: BaselineFile = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a piscan baseline file", path.display()))?;
        anyhow::ensure!(
            file.version == 1,
            "{}: unsupported baseline version {}",
            path.display(),
            file.version
        );
        Ok(Baseline {
            fingerprints: file.fingerprints.into_iter().collect(),
        })
    }

    /// Drops the findings of `report` that the baseline accepts (a finding
    /// without a fingerprint is kept).
    pub fn filter(&self, report: &mut FileReport) {
        let path = &report.path;
        report.findings.retain(|f| {
            f.fingerprint(path)
                .is_none_or(|print| !self.fingerprints.contains(&print))
        });
    }
}

/// Collects the fingerprints of a scan for `--baseline-write`.
#[derive(Debug, Default)]
pub struct BaselineWriter {
    fingerprints: BTreeSet<String>,
}

impl BaselineWriter {
    /// Records every finding of `report` (that has a fingerprint).
    pub fn add(&mut self, report: &FileReport) {
        let prints = report
            .findings
            .iter()
            .filter_map(|f| f.fingerprint(&report.path));
        self.fingerprints.extend(prints);
    }

    /// Writes the baseline file (sorted, so it diffs well in review).
    pub fn write(self, path: &Path) -> anyhow::Result<()> {
        let file = BaselineFile {
            version: 1,
            tool: "piscan".to_string(),
            fingerprints: self.fingerprints.into_iter().collect(),
        };
        let mut text = serde_json::to_string_pretty(&file)?;
        text.push('\n');
        fs::write(path, text).with_context(|| format!("cannot write baseline {}", path.display()))
    }
}
