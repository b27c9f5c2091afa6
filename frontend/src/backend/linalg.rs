//! Matrix multiplication.

use super::base::BackendBase;
use super::check::{check_dense_relu, check_matmul_bias};
use super::math::MathOps;
use crate::error::Result;

/// Linear algebra.
pub trait LinalgOps: BackendBase + MathOps {
    /// Batched matrix product: `[..., m, k] x [..., k, n] -> [..., m, n]`; the batch axes
    /// broadcast. Both operands have rank at least 2.
    fn matmul(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;

    /// `x [m, k] x w [k, n] + b [n]`, the bias added to every row: a `Dense` layer's
    /// affine map. The default multiplies, then adds the bias broadcast
    /// ([`matmul_bias_via_add`]); an engine with a fused kernel (libtorch's `addmm`, as
    /// PyTorch's `nn.Linear` uses) overrides it to do both in one call, which saves a pass
    /// over the output per layer. Same dtype for all three.
    fn matmul_bias(x: &Self::Tensor, w: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor> {
        matmul_bias_via_add::<Self>(x, w, b)
    }

    /// `max(x [m, k] x w [k, n] (+ b [n]), 0)`: a `Dense` layer with a ReLU. The default
    /// ([`dense_relu_via_parts`]) is [`matmul_bias`](Self::matmul_bias) (or
    /// [`matmul`](Self::matmul) without a bias), then [`MathOps::relu`]; an engine that
    /// fuses the three (candle's CPU kernel) overrides it, sparing the activation its own
    /// graph node, buffer and passes.
    fn dense_relu(
        x: &Self::Tensor,
        w: &Self::Tensor,
        b: Option<&Self::Tensor>,
    ) -> Result<Self::Tensor> {
        dense_relu_via_parts::<Self>(x, w, b)
    }
}

/// The default [`LinalgOps::matmul_bias`]: [`LinalgOps::matmul`], then
/// [`MathOps::add`] with the bias broadcast over the rows.
///
/// # Errors
/// [`check_matmul_bias`]'s, naming `matmul_bias`, the argument and its shape.
pub fn matmul_bias_via_add<B: LinalgOps>(
    x: &B::Tensor,
    w: &B::Tensor,
    b: &B::Tensor,
) -> Result<B::Tensor> {
    check_matmul_bias("matmul_bias", &B::shape(x), &B::shape(w), &B::shape(b))?;
    B::add(&B::matmul(x, w)?, b)
}

/// The default [`LinalgOps::dense_relu`]: [`LinalgOps::matmul_bias`] (or
/// [`LinalgOps::matmul`]), then [`MathOps::relu`].
///
/// # Errors
/// [`check_dense_relu`]'s, naming the argument and its shape.
pub fn dense_relu_via_parts<B: LinalgOps>(
    x: &B::Tensor,
    w: &B::Tensor,
    b: Option<&B::Tensor>,
) -> Result<B::Tensor> {
    let bs = b.map(|b| B::shape(b));
    check_dense_relu(&B::shape(x), &B::shape(w), bs.as_deref())?;
    let y = match b {
        Some(b) => B::matmul_bias(x, w, b)?,
        None => B::matmul(x, w)?,
    };
    B::relu(&y)
}
