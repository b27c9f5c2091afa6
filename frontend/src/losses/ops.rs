//! Shared numerics of the losses: target alignment, last-axis reductions, label
//! smoothing, stable cross-entropies, one-hot and hinge label conversions.

use super::EPSILON;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Brings `y_true` to `y_pred`'s shape and dtype the way Keras does: `[N]` targets against
/// `[N, 1]` predictions gain an axis (and `[N, 1]` ones against `[N]` lose it); otherwise
/// shapes must match exactly. Losses and metrics share it.
pub(crate) fn align<B: Backend>(
    loss: &str,
    y_true: &Tensor<B>,
    y_pred: &Tensor<B>,
) -> Result<Tensor<B>> {
    let (t, p) = (y_true.shape(), y_pred.shape());
    let y = y_true.to_dtype(y_pred.dtype())?;
    if t == p {
        return Ok(y);
    }
    if t.len() + 1 == p.len() && p.last() == Some(&1) && p[..p.len() - 1] == t[..] {
        return y.unsqueeze(-1);
    }
    if t.len() == p.len() + 1 && t.last() == Some(&1) && t[..t.len() - 1] == p[..] {
        return y.squeeze(-1);
    }
    Err(Error::shape(
        loss,
        "y_true",
        format!("shape {p:?} (as y_pred)"),
        &t,
    ))
}

/// Mean over the last axis, giving one value per sample for `[N, d]` (and `[N]` for `[N]`).
pub(super) fn mean_last<B: Backend>(t: &Tensor<B>) -> Result<Tensor<B>> {
    match t.rank() {
        0 | 1 => Ok(t.clone()),
        2 => t.mean(&[-1], false),
        _ => {
            let axes: Vec<isize> = (1..t.rank() as isize).collect();
            t.mean(&axes, false)
        }
    }
}

/// Sum over the last axis, then the mean over any axes between batch and last, giving one
/// value per sample (`[N]` stays elementwise).
pub(super) fn sum_last<B: Backend>(t: &Tensor<B>) -> Result<Tensor<B>> {
    match t.rank() {
        0 | 1 => Ok(t.clone()),
        _ => per_sample_of(&t.sum(&[-1], false)?),
    }
}

/// Means over every axis but the first (`[N]` and scalars unchanged).
pub(super) fn per_sample_of<B: Backend>(t: &Tensor<B>) -> Result<Tensor<B>> {
    if t.rank() > 1 {
        mean_last(t)
    } else {
        Ok(t.clone())
    }
}

/// The binary targets brought to `y_pred` and smoothed by `smoothing`, with their
/// elementwise binary cross-entropy against `y_pred`.
pub(super) fn binary_targets_and_ce<B: Backend>(
    loss: &str,
    y_true: &Tensor<B>,
    y_pred: &Tensor<B>,
    from_logits: bool,
    smoothing: f64,
) -> Result<(Tensor<B>, Tensor<B>)> {
    let y = smooth_binary(&align(loss, y_true, y_pred)?, smoothing)?;
    let ce = binary_ce(&y, y_pred, from_logits)?;
    Ok((y, ce))
}

/// One-hot (or soft) targets checked against `y_pred` and smoothed by `smoothing`.
pub(super) fn smoothed_one_hot<B: Backend>(
    loss: &str,
    y_true: &Tensor<B>,
    y_pred: &Tensor<B>,
    smoothing: f64,
) -> Result<Tensor<B>> {
    smooth_categorical(&one_hot_targets(loss, y_true, y_pred)?, smoothing)
}

/// Keras' binary label smoothing: `y * (1 - s) + 0.5 s`.
fn smooth_binary<B: Backend>(y: &Tensor<B>, s: f64) -> Result<Tensor<B>> {
    if s == 0.0 {
        Ok(y.clone())
    } else {
        y.affine(1.0 - s, 0.5 * s)
    }
}

/// Keras' categorical label smoothing: `y * (1 - s) + s / num_classes`.
fn smooth_categorical<B: Backend>(y: &Tensor<B>, s: f64) -> Result<Tensor<B>> {
    let k = y.shape().last().copied().unwrap_or(1).max(1) as f64;
    if s == 0.0 {
        Ok(y.clone())
    } else {
        y.affine(1.0 - s, s / k)
    }
}

/// Elementwise binary cross-entropy: stable `softplus(x) - x y` on logits, Keras' clipped
/// form on probabilities.
fn binary_ce<B: Backend>(
    y: &Tensor<B>,
    y_pred: &Tensor<B>,
    from_logits: bool,
) -> Result<Tensor<B>> {
    if from_logits {
        y_pred.softplus()?.sub(&y_pred.mul(y)?)
    } else {
        let p = y_pred.clamp(EPSILON, 1.0 - EPSILON)?;
        let a = y.mul(&p.log()?)?;
        let b = y.affine(-1.0, 1.0)?.mul(&p.affine(-1.0, 1.0)?.log()?)?;
        a.add(&b)?.neg()
    }
}

/// `log p` over the last axis, as Keras computes it: `log_softmax` for logits (stable),
/// else the renormalised probabilities clipped to `[1e-7, 1 - 1e-7]`.
pub(super) fn categorical_log_probs<B: Backend>(
    y_pred: &Tensor<B>,
    from_logits: bool,
) -> Result<Tensor<B>> {
    if from_logits {
        y_pred.log_softmax(-1)
    } else {
        let p = y_pred.div(&y_pred.sum(&[-1], true)?)?;
        p.clamp(EPSILON, 1.0 - EPSILON)?.log()
    }
}

/// Checks dense (one-hot or soft) targets: same shape as `y_pred`, rank >= 2.
fn one_hot_targets<B: Backend>(
    loss: &str,
    y_true: &Tensor<B>,
    y_pred: &Tensor<B>,
) -> Result<Tensor<B>> {
    let (t, p) = (y_true.shape(), y_pred.shape());
    if t != p || p.len() < 2 {
        return Err(Error::shape(
            loss,
            "y_true",
            format!("one-hot targets of shape {p:?} (as y_pred, rank >= 2)"),
            &t,
        ));
    }
    y_true.to_dtype(y_pred.dtype())
}

/// Keras' `convert_binary_labels_to_hinge`: when every target is 0 or 1, maps them to -1/1
/// (decided on the device for the whole batch, no host read).
pub(super) fn hinge_labels<B: Backend>(y: &Tensor<B>) -> Result<Tensor<B>> {
    if y.numel() == 0 {
        return Ok(y.clone());
    }
    // y (1 - y) == 0 exactly for 0 and 1; all() as the minimum of the 0/1 mask
    let is01 = y
        .mul(&y.affine(-1.0, 1.0)?)?
        .eq(&y.zeros_like()?)?
        .to_dtype(y.dtype())?;
    let all = is01.reshape_to(&[y.numel()])?.min(&[0], false)?;
    // y + all * (y - 1): 2y - 1 when all == 1, else y
    y.add(&y.add_scalar(-1.0)?.mul(&all)?)
}
