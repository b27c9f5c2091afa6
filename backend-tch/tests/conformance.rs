//! The frontend's backend conformance suite (every op and gradient test), run on libtorch,
//! once on the CPU (`cpu::`) and once on the first CUDA device (`cuda::`; without a GPU each
//! CUDA test prints a skip line and passes, and `cuda::conformance_device_summary` prints
//! how many ran).
//!
//! Run one family with `cargo test -p stratanet-tch --test conformance cpu::nn::`.

mod cpu {
    stratanet_frontend::backend_conformance_tests!(stratanet_tch::Tch);
}

mod cuda {
    use stratanet_frontend::backend::Device;
    stratanet_frontend::backend_conformance_tests!(stratanet_tch::Tch, Device::Cuda(0));
}
