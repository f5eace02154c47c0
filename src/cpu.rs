//! What the CPU can do, asked once per process: the byte classifiers of
//! the scanner and of the SQL block reader run with AVX-512BW where the CPU
//! has it (one compare gives a 64-bit mask for a 64-byte window), and with
//! SSE2, part of the x86-64 baseline, elsewhere.

/// Whether the CPU has AVX-512BW (and the target is x86-64).
pub(crate) fn avx512bw() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAS.get_or_init(|| std::arch::is_x86_feature_detected!("avx512bw"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
