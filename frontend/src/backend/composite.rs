//! Composite operations built from primitives, overridable with fused engine kernels.

use super::compare::CompareOps;
use super::creation::CreationOps;
use super::math::MathOps;
use super::reduce::ReduceOps;
use super::shape::ShapeOps;
use crate::error::Result;

/// Activations, softmax and cross-entropy written once on the primitive ops. Each method is
/// a default that an engine may override with its own fused kernel; overrides must give the
/// same values (the conformance suite checks both).
pub trait CompositeOps: CreationOps + ShapeOps + MathOps + CompareOps + ReduceOps {
    /// A rank-0 tensor holding `value`, with `t`'s dtype and device.
    fn scalar_like(t: &Self::Tensor, value: f64) -> Result<Self::Tensor> {
        Self::full(&[], value, Self::dtype(t), &Self::tensor_device(t))
    }

    /// `1 / (1 + e^-t)`, computed as `0.5 * tanh(t / 2) + 0.5` (stable for large `|t|`).
    fn sigmoid(t: &Self::Tensor) -> Result<Self::Tensor> {
        let h = Self::tanh(&Self::affine(t, 0.5, 0.0)?)?;
        Self::affine(&h, 0.5, 0.5)
    }

    /// `log(1 + e^t)`, computed as `relu(t) + log(1 + e^-|t|)`.
    fn softplus(t: &Self::Tensor) -> Result<Self::Tensor> {
        let e = Self::exp(&Self::neg(&Self::abs(t)?)?)?;
        let l = Self::log(&Self::affine(&e, 1.0, 1.0)?)?;
        Self::add(&Self::relu(t)?, &l)
    }

    /// `log(sigmoid(t)) = -softplus(-t)`.
    fn log_sigmoid(t: &Self::Tensor) -> Result<Self::Tensor> {
        Self::neg(&Self::softplus(&Self::neg(t)?)?)
    }

    /// `log(sum(exp(t)))` over `axes`, shifted by the maximum for stability.
    fn logsumexp(t: &Self::Tensor, axes: &[usize], keepdim: bool) -> Result<Self::Tensor> {
        let m = Self::max(t, axes, true)?;
        let s = Self::sum(&Self::exp(&Self::sub(t, &m)?)?, axes, true)?;
        let out = Self::add(&Self::log(&s)?, &m)?;
        if keepdim {
            Ok(out)
        } else {
            let shape: Vec<usize> = Self::shape(t)
                .iter()
                .enumerate()
                .filter(|(i, _)| !axes.contains(i))
                .map(|(_, &d)| d)
                .collect();
            Self::reshape(&out, &shape)
        }
    }

    /// Softmax along `axis`.
    fn softmax(t: &Self::Tensor, axis: usize) -> Result<Self::Tensor> {
        let m = Self::max(t, &[axis], true)?;
        let e = Self::exp(&Self::sub(t, &m)?)?;
        let s = Self::sum(&e, &[axis], true)?;
        Self::div(&e, &s)
    }

    /// Log-softmax along `axis`: `t - logsumexp(t)`.
    fn log_softmax(t: &Self::Tensor, axis: usize) -> Result<Self::Tensor> {
        let m = Self::max(t, &[axis], true)?;
        let shifted = Self::sub(t, &m)?;
        let s = Self::sum(&Self::exp(&shifted)?, &[axis], true)?;
        Self::sub(&shifted, &Self::log(&s)?)
    }

    /// GELU, exact form `0.5 t (1 + erf(t / sqrt 2))` (Keras' default `approximate=False`).
    fn gelu(t: &Self::Tensor) -> Result<Self::Tensor> {
        let e = Self::erf(&Self::affine(t, std::f64::consts::FRAC_1_SQRT_2, 0.0)?)?;
        Self::mul(t, &Self::affine(&e, 0.5, 0.5)?)
    }

    /// GELU, tanh approximation.
    fn gelu_tanh(t: &Self::Tensor) -> Result<Self::Tensor> {
        let c = (2.0 / std::f64::consts::PI).sqrt();
        let cube = Self::powf(t, 3.0)?;
        let inner = Self::affine(&Self::add(t, &Self::affine(&cube, 0.044715, 0.0)?)?, c, 0.0)?;
        let h = Self::affine(&Self::tanh(&inner)?, 0.5, 0.5)?;
        Self::mul(t, &h)
    }

    /// SiLU / swish: `t * sigmoid(t)`.
    fn silu(t: &Self::Tensor) -> Result<Self::Tensor> {
        Self::mul(t, &Self::sigmoid(t)?)
    }

    /// ELU: `t` where `t > 0`, else `alpha * (e^t - 1)`.
    fn elu(t: &Self::Tensor, alpha: f64) -> Result<Self::Tensor> {
        let zero = Self::scalar_like(t, 0.0)?;
        let neg = Self::affine(&Self::exp(&Self::minimum(t, &zero)?)?, alpha, -alpha)?;
        let mask = Self::gt(t, &zero)?;
        Self::where_cond(&mask, t, &neg)
    }

    /// SELU with Keras' constants.
    fn selu(t: &Self::Tensor) -> Result<Self::Tensor> {
        const ALPHA: f64 = 1.673_263_242_354_377_3;
        const SCALE: f64 = 1.050_700_987_355_480_5;
        Self::affine(&Self::elu(t, ALPHA)?, SCALE, 0.0)
    }

    /// Leaky ReLU: `t` where `t >= 0`, else `alpha * t`.
    fn leaky_relu(t: &Self::Tensor, alpha: f64) -> Result<Self::Tensor> {
        let zero = Self::scalar_like(t, 0.0)?;
        let mask = Self::ge(t, &zero)?;
        Self::where_cond(&mask, t, &Self::affine(t, alpha, 0.0)?)
    }

    /// Per-sample cross-entropy of `logits [N, C]` against integer `labels [N]` (`i64`):
    /// `-log_softmax(logits)[i, labels[i]]`, shape `[N]`. Labels must be in range.
    fn sparse_softmax_cross_entropy(
        logits: &Self::Tensor,
        labels: &Self::Tensor,
    ) -> Result<Self::Tensor> {
        let shape = Self::shape(logits);
        let n = shape[0];
        let ls = Self::log_softmax(logits, 1)?;
        let idx = Self::reshape(labels, &[n, 1])?;
        let picked = Self::gather(&ls, &idx, 1)?;
        Self::neg(&Self::reshape(&picked, &[n])?)
    }

    /// [`CompositeOps::sparse_softmax_cross_entropy`] for labels the caller has already
    /// checked to be in `0..C` (`fit` and `evaluate` check every label once before the first
    /// batch). An engine whose label range check needs a device-to-host read (libtorch on
    /// CUDA) skips it here; an out-of-range label is then not reported as an error, so only
    /// internal callers that validated the labels use this. The default is the checked op.
    fn sparse_softmax_cross_entropy_in_range(
        logits: &Self::Tensor,
        labels: &Self::Tensor,
    ) -> Result<Self::Tensor> {
        Self::sparse_softmax_cross_entropy(logits, labels)
    }
}
