//! The first candle device call of a single-threaded process sets
//! `CANDLE_BARRIER_POOL_SPIN_LIMIT=2000` (a test of its own, without the test harness,
//! whose threads would keep it from being set).

use stratanet_candle::Candle;
use stratanet_frontend::backend::{BackendBase, Device};

fn main() {
    const VAR: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
    if std::env::var_os(VAR).is_some() {
        eprintln!("spin_limit: {VAR} is set in the environment; it must be left as it is");
        let before = std::env::var(VAR).ok();
        Candle::device(Device::Cpu).expect("cpu device");
        assert_eq!(
            std::env::var(VAR).ok(),
            before,
            "a user's value was changed"
        );
        return;
    }
    Candle::device(Device::Cpu).expect("cpu device");
    let want = if cfg!(target_os = "linux") {
        Some("2000")
    } else {
        None
    };
    assert_eq!(std::env::var(VAR).ok().as_deref(), want);
    // Once per process: a later call with the variable removed leaves it removed.
    std::env::remove_var(VAR);
    Candle::device(Device::Cpu).expect("cpu device");
    assert_eq!(std::env::var(VAR).ok(), None);
    println!("spin_limit: ok");
}
