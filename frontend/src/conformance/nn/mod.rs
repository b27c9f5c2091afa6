//! Conformance of [`NnOps`](crate::backend::NnOps): convolutions (stride, asymmetric
//! padding, dilation, groups), transposed convolutions against a naive host reference, and
//! pooling.
//!
//! `conv` checks the convolutions and `pool` the pooling ops, values and gradients each;
//! `nhwc` the channels-last entry points against the channels-first ops they stand for;
//! `reference` holds the host references ([`host_conv2d`], [`host_conv_transpose2d`]) the
//! convolutions are checked against.

mod conv;
mod nhwc;
mod pool;
mod reference;

pub use conv::*;
pub use nhwc::*;
pub use pool::*;
pub use reference::{host_conv2d, host_conv_transpose2d};
