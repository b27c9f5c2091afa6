//! Reductions.

use crate::{check_axis, wrap, Candle};
use candle_core::Tensor;
use stratanet_frontend::backend::check::check_axes;
use stratanet_frontend::backend::ReduceOps;
use stratanet_frontend::{Error, Result};

/// `t` (reduced with kept dims over `axes`) with those axes removed unless `keepdim`.
fn finish(op: &str, t: Tensor, axes: &[usize], keepdim: bool) -> Result<Tensor> {
    if keepdim {
        return Ok(t);
    }
    let shape: Vec<usize> = t
        .dims()
        .iter()
        .enumerate()
        .filter(|(i, _)| !axes.contains(i))
        .map(|(_, &d)| d)
        .collect();
    t.reshape(shape).map_err(wrap(op))
}

/// Reduces one axis at a time with a candle keepdim reduction.
fn per_axis(
    op: &str,
    t: &Tensor,
    axes: &[usize],
    keepdim: bool,
    f: impl Fn(&Tensor, usize) -> candle_core::Result<Tensor>,
) -> Result<Tensor> {
    check_axes(op, axes, t.dims())?;
    if axes.is_empty() {
        return Ok(t.clone());
    }
    if let Some(&a) = axes.iter().find(|&&a| t.dims()[a] == 0) {
        return Err(Error::shape(
            op,
            "input",
            format!("a non-empty axis {a} to reduce"),
            t.dims(),
        ));
    }
    let mut out = t.clone();
    for &a in axes {
        out = f(&out, a).map_err(wrap(op))?;
    }
    finish(op, out, axes, keepdim)
}

/// argmax/argmin along one axis, as `i64`.
fn arg(
    op: &str,
    t: &Tensor,
    axis: usize,
    keepdim: bool,
    f: impl Fn(&Tensor, usize) -> candle_core::Result<Tensor>,
) -> Result<Tensor> {
    check_axis(op, "axis", axis, t.dims())?;
    if t.dims()[axis] == 0 {
        return Err(Error::shape(
            op,
            "input",
            format!("a non-empty axis {axis}"),
            t.dims(),
        ));
    }
    let idx = f(t, axis)
        .and_then(|i| i.to_dtype(candle_core::DType::I64))
        .map_err(wrap(op))?;
    finish(op, idx, &[axis], keepdim)
}

/// A reduction candle runs over all `axes` at once (kept), then `finish`ed; no axes is
/// the identity.
fn all_axes(
    op: &str,
    t: &Tensor,
    axes: &[usize],
    keepdim: bool,
    f: impl FnOnce(&Tensor, &[usize]) -> candle_core::Result<Tensor>,
) -> Result<Tensor> {
    check_axes(op, axes, t.dims())?;
    if axes.is_empty() {
        return Ok(t.clone());
    }
    let r = f(t, axes).map_err(wrap(op))?;
    finish(op, r, axes, keepdim)
}

impl ReduceOps for Candle {
    fn sum(t: &Tensor, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        all_axes("sum", t, axes, keepdim, |t, a| t.sum_keepdim(a))
    }

    fn mean(t: &Tensor, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        all_axes("mean", t, axes, keepdim, |t, a| t.mean_keepdim(a))
    }

    fn max(t: &Tensor, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        per_axis("max", t, axes, keepdim, |t, a| t.max_keepdim(a))
    }

    fn min(t: &Tensor, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        per_axis("min", t, axes, keepdim, |t, a| t.min_keepdim(a))
    }

    fn argmax(t: &Tensor, axis: usize, keepdim: bool) -> Result<Tensor> {
        arg("argmax", t, axis, keepdim, |t, a| t.argmax_keepdim(a))
    }

    fn argmin(t: &Tensor, axis: usize, keepdim: bool) -> Result<Tensor> {
        arg("argmin", t, axis, keepdim, |t, a| t.argmin_keepdim(a))
    }
}
