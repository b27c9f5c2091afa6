//! Convolution and pooling, in the engines' channels-first layout, plus the channels-last
//! entry points the 2-D layers call ([`NnOps::conv2d_nhwc`], [`NnOps::max_pool2d_nhwc`]).

use super::base::BackendBase;
use super::check::check_conv_bias;
use super::math::MathOps;
use super::shape::ShapeOps;
use crate::error::Result;

/// Parameters of a 2-D convolution (height, width order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dParams {
    /// Strides.
    pub stride: [usize; 2],
    /// Zero padding as `(before, after)` for height and width.
    pub padding: [(usize, usize); 2],
    /// Dilation.
    pub dilation: [usize; 2],
    /// Number of groups (`in_channels` and `out_channels` divisible by it).
    pub groups: usize,
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Self {
            stride: [1, 1],
            padding: [(0, 0), (0, 0)],
            dilation: [1, 1],
            groups: 1,
        }
    }
}

/// Parameters of a 1-D convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv1dParams {
    /// Stride.
    pub stride: usize,
    /// Zero padding `(before, after)`.
    pub padding: (usize, usize),
    /// Dilation.
    pub dilation: usize,
    /// Groups.
    pub groups: usize,
}

impl Default for Conv1dParams {
    fn default() -> Self {
        Self {
            stride: 1,
            padding: (0, 0),
            dilation: 1,
            groups: 1,
        }
    }
}

/// Convolution and pooling. Inputs are channels-first (`[N, C, L]`, `[N, C, H, W]`); layers
/// with Keras' channels-last default permute around these calls, except `Conv2D` and
/// `MaxPooling2D`, which call the channels-last [`NnOps::conv2d_nhwc`] and
/// [`NnOps::max_pool2d_nhwc`].
pub trait NnOps: BackendBase + ShapeOps + MathOps {
    /// `x [N, C_in, L]`, `w [C_out, C_in / groups, K]` -> `[N, C_out, L_out]`.
    fn conv1d(x: &Self::Tensor, w: &Self::Tensor, p: Conv1dParams) -> Result<Self::Tensor>;
    /// `x [N, C_in, H, W]`, `w [C_out, C_in / groups, KH, KW]` -> `[N, C_out, H_out, W_out]`.
    fn conv2d(x: &Self::Tensor, w: &Self::Tensor, p: Conv2dParams) -> Result<Self::Tensor>;
    /// [`NnOps::conv2d`] plus an optional bias `b [C_out]` added at every output position.
    /// The default convolves, then adds the bias broadcast as `[1, C_out, 1, 1]`; an engine
    /// whose convolution kernel takes a bias (libtorch) overrides it to do both in one call,
    /// which saves an activation-sized buffer and a pass over it per layer.
    fn conv2d_bias(
        x: &Self::Tensor,
        w: &Self::Tensor,
        b: Option<&Self::Tensor>,
        p: Conv2dParams,
    ) -> Result<Self::Tensor> {
        let y = Self::conv2d(x, w, p)?;
        match b {
            None => Ok(y),
            Some(b) => {
                let c_out = Self::shape(&y)[1];
                check_conv_bias("conv2d_bias", c_out, &Self::shape(b))?;
                Self::add(&y, &Self::reshape(b, &[1, c_out, 1, 1])?)
            }
        }
    }
    /// A 2-D convolution in Keras' layouts: `x [N, H, W, C_in]`, `w [KH, KW, C_in / groups,
    /// C_out]`, the optional bias `b [C_out]`, then a ReLU when `relu` (NaN kept) ->
    /// `[N, H_out, W_out, C_out]`. The default ([`conv2d_nhwc_via_nchw`]) permutes to
    /// [`NnOps::conv2d_bias`] and back; an engine whose kernels work channels-last (candle's
    /// CPU kernels) overrides it so that no permute, and no separate activation, sits
    /// between the layers of a convolutional network.
    fn conv2d_nhwc(
        x: &Self::Tensor,
        w: &Self::Tensor,
        b: Option<&Self::Tensor>,
        p: Conv2dParams,
        relu: bool,
    ) -> Result<Self::Tensor> {
        conv2d_nhwc_via_nchw::<Self>(x, w, b, p, relu)
    }
    /// Max pooling (no padding) in Keras' layout: `x [N, H, W, C]` -> `[N, H_out, W_out,
    /// C]`. The default ([`max_pool2d_nhwc_via_nchw`]) permutes to [`NnOps::max_pool2d`]
    /// and back.
    fn max_pool2d_nhwc(
        x: &Self::Tensor,
        kernel: [usize; 2],
        stride: [usize; 2],
    ) -> Result<Self::Tensor> {
        max_pool2d_nhwc_via_nchw::<Self>(x, kernel, stride)
    }
    /// Transposed 1-D convolution: `w [C_in, C_out / groups, K]`; `output_padding` extra
    /// entries at the end.
    fn conv_transpose1d(
        x: &Self::Tensor,
        w: &Self::Tensor,
        p: Conv1dParams,
        output_padding: usize,
    ) -> Result<Self::Tensor>;
    /// Transposed 2-D convolution: `w [C_in, C_out / groups, KH, KW]`.
    fn conv_transpose2d(
        x: &Self::Tensor,
        w: &Self::Tensor,
        p: Conv2dParams,
        output_padding: [usize; 2],
    ) -> Result<Self::Tensor>;
    /// Max pooling over windows of `kernel` moved by `stride` (no padding) on `[N, C, H, W]`.
    fn max_pool2d(x: &Self::Tensor, kernel: [usize; 2], stride: [usize; 2])
        -> Result<Self::Tensor>;
    /// Average pooling, like [`NnOps::max_pool2d`].
    fn avg_pool2d(x: &Self::Tensor, kernel: [usize; 2], stride: [usize; 2])
        -> Result<Self::Tensor>;

    /// Max pooling on `[N, C, L]` (through the 2-D kernel with height 1).
    fn max_pool1d(x: &Self::Tensor, kernel: usize, stride: usize) -> Result<Self::Tensor> {
        let s = Self::shape(x);
        let x4 = Self::reshape(x, &[s[0], s[1], 1, s[2]])?;
        let y = Self::max_pool2d(&x4, [1, kernel], [1, stride])?;
        let ys = Self::shape(&y);
        Self::reshape(&y, &[ys[0], ys[1], ys[3]])
    }

    /// Average pooling on `[N, C, L]`.
    fn avg_pool1d(x: &Self::Tensor, kernel: usize, stride: usize) -> Result<Self::Tensor> {
        let s = Self::shape(x);
        let x4 = Self::reshape(x, &[s[0], s[1], 1, s[2]])?;
        let y = Self::avg_pool2d(&x4, [1, kernel], [1, stride])?;
        let ys = Self::shape(&y);
        Self::reshape(&y, &[ys[0], ys[1], ys[3]])
    }
}

/// [`NnOps::conv2d_nhwc`] through the channels-first [`NnOps::conv2d_bias`]: permutes `x`
/// to `[N, C, H, W]` and `w` to `[C_out, C_in / groups, KH, KW]` (views), convolves, applies
/// the ReLU when asked, and permutes the result back (a view).
///
/// # Errors
/// Those of the ops it calls (shapes, dtypes, parameters).
pub fn conv2d_nhwc_via_nchw<B: NnOps>(
    x: &B::Tensor,
    w: &B::Tensor,
    b: Option<&B::Tensor>,
    p: Conv2dParams,
    relu: bool,
) -> Result<B::Tensor> {
    let xs = B::permute(x, &[0, 3, 1, 2])?;
    let ws = B::permute(w, &[3, 2, 0, 1])?;
    let y = B::conv2d_bias(&xs, &ws, b, p)?;
    let y = if relu { B::relu(&y)? } else { y };
    B::permute(&y, &[0, 2, 3, 1])
}

/// [`NnOps::max_pool2d_nhwc`] through the channels-first [`NnOps::max_pool2d`] (permuted
/// views in and out).
///
/// # Errors
/// Those of [`NnOps::max_pool2d`].
pub fn max_pool2d_nhwc_via_nchw<B: NnOps>(
    x: &B::Tensor,
    kernel: [usize; 2],
    stride: [usize; 2],
) -> Result<B::Tensor> {
    let xs = B::permute(x, &[0, 3, 1, 2])?;
    let y = B::max_pool2d(&xs, kernel, stride)?;
    B::permute(&y, &[0, 2, 3, 1])
}
