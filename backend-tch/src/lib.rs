//! stratanet-tch: the libtorch engine for stratanet (work in progress).
pub use tch;
