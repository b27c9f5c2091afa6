//! `set_num_threads` in a process of its own (rayon's global pool can be built once).

use stratanet_candle::Candle;
use stratanet_frontend::backend::{BackendBase, MathOps};

#[test]
fn set_num_threads_once_before_work() -> stratanet_frontend::Result<()> {
    assert!(Candle::set_num_threads(0).is_err());
    Candle::set_num_threads(2)?;
    assert_eq!(Candle::num_threads(), 2);
    // The pool candle's kernels run on really has 2 threads.
    assert_eq!(rayon::current_num_threads(), 2);
    Candle::set_num_threads(2)?;
    assert!(Candle::set_num_threads(3).is_err());
    let t = stratanet_candle::candle_core::Tensor::ones(
        1000,
        stratanet_candle::candle_core::DType::F32,
        &stratanet_candle::candle_core::Device::Cpu,
    )
    .map_err(|e| stratanet_frontend::Error::backend("candle", "ones", e))?;
    Candle::exp(&t)?;
    Ok(())
}
