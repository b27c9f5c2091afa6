//! The frontend's backend conformance suite (every op and gradient test), run on candle,
//! on the CPU (`cpu::`) and, when stratanet-candle is built with the `cuda` feature, once
//! more on the first CUDA device (`cuda::`; without a GPU each CUDA test prints a skip line
//! and passes, and `cuda::conformance_device_summary` prints how many ran).
//!
//! Run one family with `cargo test -p stratanet-candle --test conformance cpu::nn::`; the
//! CUDA copy builds with `cargo xtask cuda --check` (see the README's GPU section).

mod cpu {
    stratanet_frontend::backend_conformance_tests!(stratanet_candle::Candle);
}

#[cfg(feature = "cuda")]
mod cuda {
    use stratanet_frontend::backend::Device;
    stratanet_frontend::backend_conformance_tests!(stratanet_candle::Candle, Device::Cuda(0));
}
