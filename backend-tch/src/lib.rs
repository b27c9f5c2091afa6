//! stratanet-tch: the libtorch engine for stratanet.
//!
//! This crate is a workspace member reserved for the libtorch backend (`tch = "=0.24.0"`,
//! libtorch 2.11.0). It is excluded from the workspace's default members until the
//! libtorch issue lands, so `cargo test` on a fresh clone needs no libtorch.
