//! Matrix multiplication.

use super::base::BackendBase;
use crate::error::Result;

/// Linear algebra.
pub trait LinalgOps: BackendBase {
    /// Batched matrix product: `[..., m, k] x [..., k, n] -> [..., m, n]`; the batch axes
    /// broadcast. Both operands have rank at least 2.
    fn matmul(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
}
