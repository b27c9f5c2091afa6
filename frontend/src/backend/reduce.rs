//! Reductions.

use super::base::BackendBase;
use crate::error::Result;

/// Reductions over axes. An empty `axes` list reduces nothing for `sum`/`mean`/`max`/`min`
/// (the frontend passes every axis to reduce all).
pub trait ReduceOps: BackendBase {
    /// Sum over `axes`.
    fn sum(t: &Self::Tensor, axes: &[usize], keepdim: bool) -> Result<Self::Tensor>;
    /// Mean over `axes`.
    fn mean(t: &Self::Tensor, axes: &[usize], keepdim: bool) -> Result<Self::Tensor>;
    /// Maximum over `axes`.
    fn max(t: &Self::Tensor, axes: &[usize], keepdim: bool) -> Result<Self::Tensor>;
    /// Minimum over `axes`.
    fn min(t: &Self::Tensor, axes: &[usize], keepdim: bool) -> Result<Self::Tensor>;
    /// Index of the maximum along `axis`, as `i64` (first one on ties).
    fn argmax(t: &Self::Tensor, axis: usize, keepdim: bool) -> Result<Self::Tensor>;
    /// Index of the minimum along `axis`, as `i64` (first one on ties).
    fn argmin(t: &Self::Tensor, axis: usize, keepdim: bool) -> Result<Self::Tensor>;
}
