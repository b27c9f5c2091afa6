//! Convolution layers: `Conv1D`, `Conv2D`, `Conv2DTranspose`, `DepthwiseConv2D`,
//! `SeparableConv2D`.
//!
//! Inputs follow Keras' `channels_last` default (`[N, L, C]`, `[N, H, W, C]`); kernels are
//! stored in Keras' layout (`[kh, kw, in / groups, filters]` for `Conv2D`), so weights
//! converted from Keras load as they are. The engines convolve channels-first, so `call`
//! permutes the input to `[N, C, H, W]` and the result back as views, and permutes the
//! kernel (a copy of the weights, which are small). Bias and elementwise activations run
//! on the contiguous `[N, C, H, W]` result, so a channels-last output is a permuted view of
//! it: the next convolution or pooling permutes it back to a contiguous tensor for free,
//! and only a layer that needs channels-last storage (a `Flatten`, say) copies it once. With `data_format("channels_first")`
//! the activations are not permuted at all. 1-D layers run the 2-D kernels on a height-1
//! image (a reshape, no copy).
//!
//! `padding("same")` follows TensorFlow/Keras: `out = ceil(in / stride)`, and when the total
//! padding is odd the extra entry goes at the end.

#[macro_use]
mod options;
mod common;
mod conv2d_transpose;
mod conv_nd;
mod depthwise;
mod dims;
mod separable;
mod spatial;

pub(crate) use common::{
    cfg_sizes, cfg_str, check_data_format, expected_rank, not_built, record_activity,
};
pub use conv2d_transpose::{Conv2DTranspose, Conv2DTransposeConfig};
pub use conv_nd::{Conv, Conv1D, Conv2D, ConvConfig};
pub use depthwise::{DepthwiseConv2D, DepthwiseConv2DConfig};
pub use dims::{Axes, Dims, Rank};
pub use options::ConvOptions;
pub use separable::{SeparableConv2D, SeparableConv2DConfig};
pub use spatial::ConvWindow;
pub use spatial::Padding;
pub(crate) use spatial::{check_window, window_setters, Spatial};

/// A window size, stride or dilation: one integer for every axis or one per axis
/// (`3`, `[3, 3]` or `(3, 3)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size2(pub [usize; 2]);

impl From<usize> for Size2 {
    fn from(v: usize) -> Self {
        Size2([v, v])
    }
}
impl From<[usize; 2]> for Size2 {
    fn from(v: [usize; 2]) -> Self {
        Size2(v)
    }
}
impl From<(usize, usize)> for Size2 {
    fn from(v: (usize, usize)) -> Self {
        Size2([v.0, v.1])
    }
}
