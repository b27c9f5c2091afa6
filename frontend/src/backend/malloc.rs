//! The process's `malloc` settings for a deep-learning engine's allocation pattern (glibc
//! on Linux), applied by both engine crates on their first device call.
//!
//! Both engines allocate a fresh buffer for the result of (almost) every op: candle a `Vec`
//! per op plus a zero-filled gradient per autograd node, libtorch through its CPU
//! allocator (`posix_memalign`). With glibc's defaults, allocations above its dynamic
//! `mmap` threshold (128 KiB at first) get their own mapping, and freed memory at the top
//! of the heap above 128 KiB is handed back to the kernel: an activation-sized buffer is
//! mapped, zero-filled page by page by the kernel (a page fault every 4 KiB) and unmapped
//! again (a TLB shoot-down on every core) on every op of every step. When glibc's
//! threshold happens to adapt depends on the order of the process's first allocations, so
//! the same program runs fast in one process and slow in the next.
//!
//! Measured (`cargo xtask bench`, 2 threads; BENCHMARKS.md runs 13 and 17): on candle's
//! CNN that kernel work was about 30% of `fit`, and training ran about 2x faster
//! without it; on libtorch, `fit` on the bench's LSTM trained faster in 8 of 8 paired
//! runs (median 4,620 -> 4,980 samples/s), and a hand-written tch CNN loop predicted at
//! 7,100-18,800 samples/s with the defaults against 17,200-22,700 with these settings.
//!
//! So the first use of an engine (the first call for one of its devices, which every
//! tensor creation makes; `set_num_threads` alone does not count) raises glibc's `mmap`
//! threshold to 32 MiB (its maximum on 64-bit) and its trim threshold to 256 MiB: freed
//! buffers stay in the heap and are reused (what preloading jemalloc or tcmalloc, as
//! PyTorch's CPU tuning guide recommends, also achieves). The cost is memory: up to 256 MiB
//! of freed memory may stay mapped to the process instead of going back to the system. Set
//! `STRATANET_MALLOC_TUNING=0` before the first op to keep glibc's defaults (for example
//! when the process shares the machine with memory-hungry work, or sets these parameters
//! itself with `mallopt` or `GLIBC_TUNABLES`). Other C libraries and platforms are left
//! alone.

use std::sync::Once;

/// The `mmap` threshold set: 32 MiB, glibc's ceiling on 64-bit targets.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 32 << 20;
/// The trim threshold set: 256 MiB.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: i32 = 256 << 20;

static TUNE: Once = Once::new();

/// Applies the settings of the module docs once per process (unless
/// `STRATANET_MALLOC_TUNING=0`); every later call returns at once. The engine crates call
/// it from `BackendBase::device`; a program needs to call it only to apply the settings
/// before its first engine call (before a large allocation of its own, say).
pub fn tune_once() {
    TUNE.call_once(|| {
        if std::env::var("STRATANET_MALLOC_TUNING").is_ok_and(|v| v.trim() == "0") {
            return;
        }
        apply();
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply() {
    // SAFETY: `mallopt` only sets allocator parameters; it is thread-safe (it takes the
    // arena lock) and both values are within glibc's accepted ranges. A refusal (return
    // 0) leaves the default in place, which is harmless.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() {}

#[cfg(test)]
mod tests {
    /// glibc accepts both values (`mallopt` returns 1; 0 would mean the setting was
    /// refused and the defaults kept).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_accepts_both_settings() {
        // SAFETY: as in `apply`.
        let set = |param, value| unsafe { libc::mallopt(param, value) };
        assert_eq!(set(libc::M_MMAP_THRESHOLD, super::MMAP_THRESHOLD), 1);
        assert_eq!(set(libc::M_TRIM_THRESHOLD, super::TRIM_THRESHOLD), 1);
    }
}
