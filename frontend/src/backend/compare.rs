//! Comparisons and selection.

use super::base::BackendBase;
use crate::error::Result;

/// Elementwise comparisons (broadcasting, result dtype [`Bool`](super::DType::Bool)) and
/// `where`.
pub trait CompareOps: BackendBase {
    /// `a == b`.
    fn eq(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// `a != b`.
    fn ne(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// `a < b`.
    fn lt(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// `a <= b`.
    fn le(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// `a > b`.
    fn gt(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// `a >= b`.
    fn ge(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// `on_true` where `mask` is true, else `on_false`; all three broadcast together.
    /// Gradients flow to the selected branch.
    fn where_cond(
        mask: &Self::Tensor,
        on_true: &Self::Tensor,
        on_false: &Self::Tensor,
    ) -> Result<Self::Tensor>;
}
