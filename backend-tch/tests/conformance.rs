//! The frontend's backend conformance suite (every op and gradient test), run on libtorch.
//!
//! Run one family with `cargo test -p stratanet-tch --test conformance nn::`.

stratanet_frontend::backend_conformance_tests!(stratanet_tch::Tch);
