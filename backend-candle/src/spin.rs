//! candle's barrier-pool spin limit, lowered for a training loop's mix of thread pools.
//!
//! candle runs its element-wise ops on a pool of its own (`candle-bp-*` threads) and its
//! matrix products on rayon's pool (through the `gemm` crate). After each element-wise op
//! a barrier-pool worker spins for `CANDLE_BARRIER_POOL_SPIN_LIMIT` iterations (25,000 by
//! default, about half a millisecond here) before it parks. During the matrix products
//! that follow, it competes for the cores with rayon's workers. On the bench's MLP, 2
//! threads on a 2-core Zen 4, the spinning worker took a quarter of the profile's samples.
//!
//! So the first use of the candle engine (the first `Candle::device` or
//! `Candle::set_num_threads` call, which `stratanet::set_num_threads` makes) sets
//! `CANDLE_BARRIER_POOL_SPIN_LIMIT=2000`, about 40 µs of spinning: enough to catch
//! back-to-back element-wise ops without parking, short enough to leave the cores to the
//! product. Measured (`--case ... candle fit`, interleaved, seconds, 2,000 against
//! candle's 25,000): MLP train 1.94–2.18 against 2.23–2.45; LSTM train 0.31 against
//! 0.32–0.35; CNN train unchanged within its noise.
//!
//! It only does so when the variable is unset (set it, to 25000 for candle's default, to
//! choose another value) and while the process has a single thread: changing the
//! environment while another thread may read it is not safe, so a program that has
//! already started threads keeps candle's default. It takes effect only if candle has not
//! built its pool yet. Linux only (where the thread count can be read from
//! `/proc/self/status`).

use std::sync::Once;

/// candle's variable.
const VAR: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
/// The value set.
const SPIN_LIMIT: &str = "2000";

static SET: Once = Once::new();

/// Sets [`VAR`] to [`SPIN_LIMIT`] once per process, as the module docs say.
pub(crate) fn lower_once() {
    SET.call_once(|| {
        if std::env::var_os(VAR).is_none() && single_threaded() {
            // Only this thread exists, so nothing can read the environment meanwhile.
            std::env::set_var(VAR, SPIN_LIMIT);
        }
    });
}

/// Whether the process has exactly one thread (`Threads:` of `/proc/self/status`).
#[cfg(target_os = "linux")]
fn single_threaded() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:").map(|v| v.trim() == "1"))
        })
        .unwrap_or(false)
}

/// Not known off Linux: never set there.
#[cfg(not(target_os = "linux"))]
fn single_threaded() -> bool {
    false
}

#[cfg(test)]
mod tests {
    /// A test runs beside the harness's main thread, so the process is not
    /// single-threaded, and the variable must not be set from here.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_second_thread_is_seen() {
        assert!(!super::single_threaded());
    }
}
