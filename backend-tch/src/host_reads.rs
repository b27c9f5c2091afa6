//! A process-wide count of the engine's device-to-host reads.
//!
//! On CUDA every such read waits for the device to finish the queued work (a
//! synchronisation), so a training loop that reads once per batch leaves the GPU idle
//! between batches. The count lets a test check that `fit` reads a number of times that
//! grows with the epochs, not with the batches (`tests/host_syncs.rs`), and lets the bench
//! report reads per epoch.
//!
//! Counted: [`CreationOps::to_host`](stratanet_frontend::backend::CreationOps::to_host)
//! (behind every frontend `to_host`, `to_vec_*` and `item`), the integer-division checks,
//! and the index range checks of `index_select`, `gather` and the sparse cross-entropy.
//! Those range checks read back only on CUDA, but they count on every device: a test on
//! the CPU then sees the calls that would synchronise on a GPU. The counter is one relaxed
//! atomic add per read, far below the cost of the read itself.

use std::sync::atomic::{AtomicU64, Ordering};

static HOST_READS: AtomicU64 = AtomicU64::new(0);

/// Device-to-host reads (and index range checks, which read back on CUDA) made by the tch
/// engine in this process so far, on all threads. Take the difference of two calls.
pub fn host_read_count() -> u64 {
    HOST_READS.load(Ordering::Relaxed)
}

/// Counts one read.
pub(crate) fn note_host_read() {
    HOST_READS.fetch_add(1, Ordering::Relaxed);
}
