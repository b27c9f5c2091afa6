//! candle keeps the autograd graph of every tensor computed from a parameter alive for as
//! long as the tensor lives. `predict` and `evaluate` must hold only detached results, so
//! their peak memory must not grow with the number of batches (docs/ARCHITECTURE.md,
//! "Detached results"). candle here;
//! `memory_tch.rs` runs the same check on libtorch, `memory_fit*.rs` check `fit`.
//!
//! One test per binary: the process' peak RSS (`VmHWM`) is global.

#[cfg(target_os = "linux")]
mod memory_support;

#[cfg(all(target_os = "linux", feature = "candle"))]
#[test]
fn predict_and_evaluate_peak_rss_does_not_grow_with_batches() {
    memory_support::predict_and_evaluate_peak_rss_does_not_grow_with_batches::<stratanet::Candle>();
}
