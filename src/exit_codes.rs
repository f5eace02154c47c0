//! Exit statuses of the output contract.

/// The scan finished and the `--fail-on` policy held.
pub const SUCCESS: i32 = 0;
/// Findings violate `--fail-on`.
pub const POLICY_FAILED: i32 = 1;
/// Usage error, or nothing could be scanned at all.
pub const ERROR: i32 = 2;
