//! Reductions.

use crate::{check_axes, check_axis, i64s, wrap, Tch, TchTensor};
use stratanet_frontend::backend::ReduceOps;
use stratanet_frontend::{Error, Result};
use tch::{TchError, Tensor};

/// Checks `axes`, returns `t` itself for an empty list, else runs the libtorch reduction
/// over all of `axes` at once.
fn reduce(
    op: &str,
    t: &TchTensor,
    axes: &[usize],
    keepdim: bool,
    nonempty: bool,
    f: impl FnOnce(&Tensor, Vec<i64>, bool) -> std::result::Result<Tensor, TchError>,
) -> Result<TchTensor> {
    let dims = t.dims();
    check_axes(op, axes, &dims)?;
    if axes.is_empty() {
        return Ok(t.clone());
    }
    if nonempty {
        if let Some(&a) = axes.iter().find(|&&a| dims[a] == 0) {
            return Err(Error::shape(
                op,
                "input",
                format!("a non-empty axis {a} to reduce"),
                &dims,
            ));
        }
    }
    f(t, i64s(axes), keepdim).map(TchTensor).map_err(wrap(op))
}

/// argmax/argmin along one axis, as `i64` (libtorch returns the first index on ties).
fn arg(
    op: &str,
    t: &TchTensor,
    axis: usize,
    keepdim: bool,
    f: impl FnOnce(&Tensor, i64, bool) -> std::result::Result<Tensor, TchError>,
) -> Result<TchTensor> {
    let dims = t.dims();
    check_axis(op, "axis", axis, &dims)?;
    if dims[axis] == 0 {
        return Err(Error::shape(
            op,
            "input",
            format!("a non-empty axis {axis}"),
            &dims,
        ));
    }
    f(t, axis as i64, keepdim).map(TchTensor).map_err(wrap(op))
}

impl ReduceOps for Tch {
    /// libtorch's `sum` (integers and booleans sum to `i64`).
    fn sum(t: &TchTensor, axes: &[usize], keepdim: bool) -> Result<TchTensor> {
        reduce("sum", t, axes, keepdim, false, |t, a, k| {
            t.f_sum_dim_intlist(a, k, None)
        })
    }

    /// libtorch's `mean` (float dtypes; libtorch rejects integer means).
    fn mean(t: &TchTensor, axes: &[usize], keepdim: bool) -> Result<TchTensor> {
        reduce("mean", t, axes, keepdim, false, |t, a, k| {
            t.f_mean_dim(a, k, None)
        })
    }

    /// libtorch's `amax` (on ties the gradient is shared evenly between the maxima).
    fn max(t: &TchTensor, axes: &[usize], keepdim: bool) -> Result<TchTensor> {
        reduce("max", t, axes, keepdim, true, |t, a, k| t.f_amax(a, k))
    }

    /// libtorch's `amin`.
    fn min(t: &TchTensor, axes: &[usize], keepdim: bool) -> Result<TchTensor> {
        reduce("min", t, axes, keepdim, true, |t, a, k| t.f_amin(a, k))
    }

    fn argmax(t: &TchTensor, axis: usize, keepdim: bool) -> Result<TchTensor> {
        arg("argmax", t, axis, keepdim, |t, a, k| t.f_argmax(a, k))
    }

    fn argmin(t: &TchTensor, axis: usize, keepdim: bool) -> Result<TchTensor> {
        arg("argmin", t, axis, keepdim, |t, a, k| t.f_argmin(a, k))
    }
}
