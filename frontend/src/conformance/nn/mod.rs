//! Conformance of [`NnOps`](crate::backend::NnOps): convolutions (stride, asymmetric
//! padding, dilation, groups), transposed convolutions against a naive host reference, and
//! pooling.
//!
//! [`conv`](self) checks the convolutions and [`pool`](self) the pooling ops, each with its
//! values and gradients; `reference` holds the host references the convolutions are checked
//! against.

mod conv;
mod pool;
mod reference;

pub use conv::*;
pub use pool::*;
pub use reference::{host_conv2d, host_conv_transpose2d};
