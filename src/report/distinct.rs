//! Counting distinct values in bounded memory.
//!
//! The inventory says how many *distinct* ID numbers or cards a system
//! holds. Up to [`EXACT_LIMIT`] values per kind the count is exact (a set
//! of the values' 64-bit keyed hashes); past that, the set is folded into a
//! HyperLogLog sketch of 2^14 one-byte registers (16 KiB, standard error
//! about 0.8 %), so a dump of fifty million customers costs no more memory
//! than one of a hundred thousand. The summary says when a count is an
//! estimate.
//!
//! The hashes come from [`crate::report::mask::value_hash`], a keyed hash,
//! so they are already uniform: the set hashes them no further and the
//! sketch takes its bits straight from them.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// Distinct values counted exactly, per kind, before switching to the
/// sketch (8 MiB of set at most).
pub const EXACT_LIMIT: usize = 1 << 19;

/// Bits of the hash that pick a register.
const P: u32 = 14;
const REGISTERS: usize = 1 << P;

/// A hasher for values that are hashes already: it passes them through.
#[derive(Debug, Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A distinct count: exact while small, estimated past [`EXACT_LIMIT`].
#[derive(Debug, Clone, Default)]
pub struct Distinct(Counter);

#[derive(Debug, Clone)]
enum Counter {
    /// The hashes seen.
    Exact(HashSet<u64, BuildHasherDefault<PassThrough>>),
    /// HyperLogLog registers: the most leading zeros (plus one) seen among
    /// the hashes that fell in each.
    Sketch(Box<[u8; REGISTERS]>),
}

impl Default for Counter {
    fn default() -> Counter {
        Counter::Exact(HashSet::default())
    }
}

impl Distinct {
    /// Adds a value's hash.
    pub fn insert(&mut self, hash: u64) {
        match &mut self.0 {
            Counter::Exact(set) => {
                set.insert(hash);
                if set.len() > EXACT_LIMIT {
                    let mut registers = Box::new([0u8; REGISTERS]);
                    for &h in set.iter() {
                        observe(&mut registers, h);
                    }
                    self.0 = Counter::Sketch(registers);
                }
            }
            Counter::Sketch(registers) => observe(registers, hash),
        }
    }

    /// The count: exact, or the sketch's estimate.
    pub fn count(&self) -> u64 {
        match &self.0 {
            Counter::Exact(set) => set.len() as u64,
            Counter::Sketch(registers) => estimate(registers),
        }
    }

    /// Whether [`Distinct::count`] is an estimate.
    pub fn is_estimate(&self) -> bool {
        matches!(self.0, Counter::Sketch(_))
    }
}

fn observe(registers: &mut [u8; REGISTERS], hash: u64) {
    let index = (hash >> (64 - P)) as usize;
    // The rest of the bits, with a stop bit so an all-zero rest is bounded.
    let rest = (hash << P) | (1 << (P - 1));
    let rank = rest.leading_zeros() as u8 + 1;
    registers[index] = registers[index].max(rank);
}

/// The HyperLogLog estimate, with linear counting for small cardinalities.
fn estimate(registers: &[u8; REGISTERS]) -> u64 {
    let m = REGISTERS as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let sum: f64 = registers.iter().map(|&r| (-f64::from(r)).exp2()).sum();
    let raw = alpha * m * m / sum;
    let zeros = registers.iter().filter(|&&r| r == 0).count();
    let value = if raw <= 2.5 * m && zeros > 0 {
        m * (m / zeros as f64).ln()
    } else {
        raw
    };
    value.round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::Rng;

    #[test]
    fn exact_below_the_limit_then_estimated_within_two_percent() {
        let mut rng = Rng::new(9);
        let mut d = Distinct::default();
        let hashes: Vec<u64> = (0..EXACT_LIMIT).map(|_| rng.next_u64()).collect();
        for &h in hashes.iter().chain(&hashes) {
            d.insert(h);
        }
        assert_eq!(d.count(), EXACT_LIMIT as u64, "repeats count once");
        assert!(!d.is_estimate());
        let total = 3 * EXACT_LIMIT;
        for _ in EXACT_LIMIT..total {
            d.insert(rng.next_u64());
        }
        for &h in &hashes {
            d.insert(h);
        }
        assert!(d.is_estimate());
        let error = (d.count() as f64 - total as f64).abs() / total as f64;
        assert!(error < 0.02, "estimate {} of {total}", d.count());
    }

    #[test]
    fn sketch_estimates_small_and_large_counts() {
        for n in [1_000u64, 50_000, 2_000_000] {
            let mut rng = Rng::new(n);
            let mut registers = Box::new([0u8; REGISTERS]);
            for _ in 0..n {
                observe(&mut registers, rng.next_u64());
            }
            let error = (estimate(&registers) as f64 - n as f64).abs() / n as f64;
            assert!(error < 0.03, "{n}: {}", estimate(&registers));
        }
    }
}
