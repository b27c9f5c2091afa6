//! Shape operations.

use super::base::BackendBase;
use super::creation::CreationOps;
use crate::error::Result;

/// Reshaping, slicing, joining and indexing. Axes are non-negative (the frontend resolves
/// negative ones); results may share storage with their input.
pub trait ShapeOps: BackendBase + CreationOps {
    /// Same elements, new shape (same element count).
    fn reshape(t: &Self::Tensor, shape: &[usize]) -> Result<Self::Tensor>;
    /// Reorders axes: output axis `i` is input axis `axes[i]`.
    fn permute(t: &Self::Tensor, axes: &[usize]) -> Result<Self::Tensor>;
    /// Broadcasts to `shape` by numpy rules (size-1 axes stretch, leading axes are added).
    fn broadcast_to(t: &Self::Tensor, shape: &[usize]) -> Result<Self::Tensor>;
    /// `len` elements of `axis` starting at `start`.
    fn narrow(t: &Self::Tensor, axis: usize, start: usize, len: usize) -> Result<Self::Tensor>;
    /// Joins tensors along an existing axis.
    fn concat(ts: &[Self::Tensor], axis: usize) -> Result<Self::Tensor>;
    /// Joins tensors along a new axis.
    fn stack(ts: &[Self::Tensor], axis: usize) -> Result<Self::Tensor>;
    /// Selects entries of `axis` by a rank-1 `i64` index tensor.
    fn index_select(t: &Self::Tensor, indices: &Self::Tensor, axis: usize) -> Result<Self::Tensor>;
    /// `out[i][j] = t[i][indices[i][j]]` along `axis` (torch.gather); `indices` is `i64`
    /// with the same rank as `t`.
    fn gather(t: &Self::Tensor, indices: &Self::Tensor, axis: usize) -> Result<Self::Tensor>;
    /// [`ShapeOps::index_select`] for indices the caller guarantees are in
    /// `0..shape(t)[axis]` (a permutation of `0..n` the caller built, say). An engine whose
    /// range check needs a device-to-host read (libtorch on CUDA: a synchronisation per
    /// call) skips it here, and an out-of-range index is then not reported as an error (on
    /// CUDA it is a device-side assert), so only internal callers that constructed or
    /// validated the indices use this. The default is the checked
    /// [`ShapeOps::index_select`]; shape and dtype are checked either way.
    fn index_select_in_range(
        t: &Self::Tensor,
        indices: &Self::Tensor,
        axis: usize,
    ) -> Result<Self::Tensor> {
        Self::index_select(t, indices, axis)
    }
    /// [`ShapeOps::gather`] for indices the caller guarantees are in `0..shape(t)[axis]`,
    /// with the same contract as [`ShapeOps::index_select_in_range`]. The default is the
    /// checked [`ShapeOps::gather`].
    fn gather_in_range(
        t: &Self::Tensor,
        indices: &Self::Tensor,
        axis: usize,
    ) -> Result<Self::Tensor> {
        Self::gather(t, indices, axis)
    }
    /// A contiguous copy when the layout is strided, the same tensor otherwise.
    fn contiguous(t: &Self::Tensor) -> Result<Self::Tensor>;

    /// Pads `axis` with `before` and `after` entries of `value`.
    fn pad(
        t: &Self::Tensor,
        axis: usize,
        before: usize,
        after: usize,
        value: f64,
    ) -> Result<Self::Tensor> {
        if before == 0 && after == 0 {
            return Ok(t.clone());
        }
        let shape = Self::shape(t);
        let dtype = Self::dtype(t);
        let device = Self::tensor_device(t);
        let mut parts = Vec::with_capacity(3);
        if before > 0 {
            let mut s = shape.clone();
            s[axis] = before;
            parts.push(Self::full(&s, value, dtype, &device)?);
        }
        parts.push(t.clone());
        if after > 0 {
            let mut s = shape.clone();
            s[axis] = after;
            parts.push(Self::full(&s, value, dtype, &device)?);
        }
        Self::concat(&parts, axis)
    }
}
