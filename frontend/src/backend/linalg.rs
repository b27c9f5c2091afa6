//! Matrix multiplication.

use super::base::BackendBase;
use super::check::check_matmul_bias;
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
