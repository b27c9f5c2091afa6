//! Checks and conversions of the `x`/`y` tensors given to `fit`, `evaluate` and
//! `predict`: sample counts, batch size, device and dtype, target dtypes and ranges.

use super::compile::Compiled;
use super::Network;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

pub(super) fn count_samples<B: Backend>(
    op: &str,
    xs: &[Tensor<B>],
    ys: &[Tensor<B>],
) -> Result<usize> {
    let first = xs
        .first()
        .ok_or_else(|| Error::invalid(op, "x", "at least one input tensor"))?;
    let xs0 = first.shape();
    let n = xs0
        .first()
        .copied()
        .ok_or_else(|| Error::shape(op, "x", "a batch (rank >= 1)", &xs0))?;
    for t in xs.iter().chain(ys) {
        let s = t.shape();
        if s.first().copied() != Some(n) {
            return Err(Error::ShapeMismatch {
                op: op.into(),
                lhs: crate::error::ShapeList(xs0.clone()),
                rhs: crate::error::ShapeList(s.clone()),
                detail: Some(format!(
                    "x and y must have the same number of samples (first dimension): {} vs {}",
                    n,
                    s.first().copied().unwrap_or(0)
                )),
            });
        }
    }
    Ok(n)
}

pub(super) fn check_batch_size(op: &str, batch_size: usize) -> Result<()> {
    if batch_size == 0 {
        return Err(Error::invalid(
            op,
            "batch_size",
            "must be at least 1, got 0",
        ));
    }
    Ok(())
}

/// Moves inputs to the model's device and dtype (floats only; integer inputs stay integers).
pub(super) fn to_model<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    xs: &[Tensor<B>],
) -> Result<Vec<Tensor<B>>> {
    xs.iter()
        .map(|x| {
            let x = x.to_device(net.device())?;
            if x.dtype().is_float() {
                x.to_dtype(net.dtype())
            } else {
                Ok(x)
            }
        })
        .collect()
}

/// Converts the targets to the dtypes their losses train on (integer labels for sparse
/// losses). Float labels for an integer target must hold whole numbers, as Keras' cast
/// assumes: a fractional, NaN or infinite label is refused (naming `op`, the loss and the
/// value) instead of being truncated to a class.
pub(super) fn targets<B: Backend, N: Network<B> + ?Sized>(
    op: &str,
    net: &N,
    compiled: &Compiled<B>,
    ys: &[Tensor<B>],
) -> Result<Vec<Tensor<B>>> {
    ys.iter()
        .zip(&compiled.losses)
        .map(|(y, loss)| {
            let dtype = loss
                .as_ref()
                .map(|l| l.target_dtype(net.dtype()))
                .unwrap_or(net.dtype());
            if let (Some(l), false, true) = (loss, dtype.is_float(), y.dtype().is_float()) {
                let values = y.to_vec_f64()?;
                if let Some((i, v)) = values
                    .iter()
                    .enumerate()
                    .find(|(_, v)| !v.is_finite() || v.fract() != 0.0)
                {
                    return Err(Error::invalid(
                        op,
                        "y",
                        format!(
                            "{} needs integer class labels; sample {i} has label {v} (y has dtype {:?})",
                            l.name(),
                            y.dtype()
                        ),
                    ));
                }
            }
            y.to_device(net.device())?.to_dtype(dtype)
        })
        .collect()
}

/// `x` must hold at least one sample for `fit` and `evaluate` (Keras fails on empty data
/// too: there is no loss to report).
pub(super) fn check_not_empty<B: Backend>(op: &str, n: usize, xs: &[Tensor<B>]) -> Result<()> {
    if n == 0 {
        let shape = xs.first().map(|x| x.shape()).unwrap_or_default();
        return Err(Error::invalid(
            op,
            "x",
            format!("no samples (shape {shape:?}): there is nothing to train on or evaluate"),
        ));
    }
    Ok(())
}

pub(super) fn check_all_targets<B: Backend>(
    compiled: &Compiled<B>,
    ys: &[Tensor<B>],
    out_shapes: &[Vec<usize>],
) -> Result<()> {
    for (i, y) in ys.iter().enumerate() {
        if let Some(loss) = &compiled.losses[i] {
            let n = y.shape().first().copied().unwrap_or(0);
            loss.check_targets(y, &full_shape(n, &out_shapes[i]))?;
        }
    }
    Ok(())
}

pub(super) fn full_shape(n: usize, per_sample: &[usize]) -> Vec<usize> {
    std::iter::once(n)
        .chain(per_sample.iter().copied())
        .collect()
}
