//! `memory.rs`'s check on libtorch: the peak RSS of `predict` and `evaluate` does not grow
//! with the number of batches.
//!
//! One test per binary: the process' peak RSS (`VmHWM`) is global.

#[cfg(target_os = "linux")]
mod memory_support;

#[cfg(all(target_os = "linux", feature = "tch"))]
#[test]
fn predict_and_evaluate_peak_rss_does_not_grow_with_batches() {
    memory_support::predict_and_evaluate_peak_rss_does_not_grow_with_batches::<stratanet::Tch>();
}
