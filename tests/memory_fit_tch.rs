//! A long `fit` on libtorch holds its memory flat: 200 epochs, and the peak RSS after epoch
//! 200 is within 5% of the peak after epoch 20.
//!
//! One test per binary: the process' peak RSS (`VmHWM`) is global.

#[cfg(target_os = "linux")]
mod memory_support;

#[cfg(all(target_os = "linux", feature = "tch"))]
#[test]
fn fit_peak_rss_is_flat_over_200_epochs() {
    memory_support::fit_peak_rss_is_flat_over_200_epochs::<stratanet::Tch>();
}
