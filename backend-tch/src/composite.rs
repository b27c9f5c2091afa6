//! Composite operations on libtorch's fused kernels.
//!
//! Fused: `sigmoid`, `softplus` (libtorch's threshold 20 returns `x` above it, where the
//! closed form differs by less than `e^-20`), `log_sigmoid`, `logsumexp`, `softmax`,
//! `log_softmax`, `gelu` (`approximate="none"`), `gelu_tanh` (`"tanh"`), `silu`, `selu`
//! (the same constants as Keras), `elu` (alpha 1; other alphas use `expm1` and `where`),
//! `leaky_relu` (libtorch's kernel for its default slope 0.01, `prelu` with a one-element
//! weight for others) and `sparse_softmax_cross_entropy` (`cross_entropy_loss` without
//! reduction). At exactly 0, the leaky ReLU's gradient is libtorch's (`alpha`) rather than
//! the default's 1.

use crate::{check_axes, check_axis, dtype_of, i64s, kind_of, wrap, Tch, TchTensor};
use stratanet_frontend::backend::{CompositeOps, DType};
use stratanet_frontend::{Error, Result};
use tch::{Reduction, TchError, Tensor};

/// Runs a libtorch unary kernel.
fn fused(
    op: &str,
    t: &TchTensor,
    f: impl FnOnce(&Tensor) -> std::result::Result<Tensor, TchError>,
) -> Result<TchTensor> {
    f(t).map(TchTensor).map_err(wrap(op))
}

impl CompositeOps for Tch {
    fn sigmoid(t: &TchTensor) -> Result<TchTensor> {
        fused("sigmoid", t, |t| t.f_sigmoid())
    }

    fn softplus(t: &TchTensor) -> Result<TchTensor> {
        fused("softplus", t, |t| t.f_softplus())
    }

    fn log_sigmoid(t: &TchTensor) -> Result<TchTensor> {
        fused("log_sigmoid", t, |t| t.f_log_sigmoid())
    }

    fn logsumexp(t: &TchTensor, axes: &[usize], keepdim: bool) -> Result<TchTensor> {
        check_axes("logsumexp", axes, &t.dims())?;
        if axes.is_empty() {
            // The default's value over no axes: `log(e^(t - t)) + t = t`.
            return Ok(t.clone());
        }
        fused("logsumexp", t, |t| t.f_logsumexp(i64s(axes), keepdim))
    }

    fn softmax(t: &TchTensor, axis: usize) -> Result<TchTensor> {
        check_axis("softmax", "axis", axis, &t.dims())?;
        fused("softmax", t, |t| t.f_softmax(axis as i64, None))
    }

    fn log_softmax(t: &TchTensor, axis: usize) -> Result<TchTensor> {
        check_axis("log_softmax", "axis", axis, &t.dims())?;
        fused("log_softmax", t, |t| t.f_log_softmax(axis as i64, None))
    }

    fn gelu(t: &TchTensor) -> Result<TchTensor> {
        fused("gelu", t, |t| t.f_gelu("none"))
    }

    fn gelu_tanh(t: &TchTensor) -> Result<TchTensor> {
        fused("gelu_tanh", t, |t| t.f_gelu("tanh"))
    }

    fn silu(t: &TchTensor) -> Result<TchTensor> {
        fused("silu", t, |t| t.f_silu())
    }

    /// libtorch's `elu` for `alpha = 1` (its only one through tch); otherwise
    /// `where(t > 0, t, alpha * expm1(min(t, 0)))`.
    fn elu(t: &TchTensor, alpha: f64) -> Result<TchTensor> {
        if alpha == 1.0 {
            return fused("elu", t, |t| t.f_elu());
        }
        fused("elu", t, |t| {
            let neg = t.f_clamp_max(0.0)?.f_expm1()?.f_mul_scalar(alpha)?;
            t.f_where_self(&t.f_gt(0.0)?, &neg)
        })
    }

    fn selu(t: &TchTensor) -> Result<TchTensor> {
        fused("selu", t, |t| t.f_selu())
    }

    /// libtorch's `leaky_relu` for its slope 0.01, `prelu` with a one-element weight for
    /// other slopes (rank 0 inputs run as rank 1).
    fn leaky_relu(t: &TchTensor, alpha: f64) -> Result<TchTensor> {
        if alpha == 0.01 {
            return fused("leaky_relu", t, |t| t.f_leaky_relu());
        }
        let dims = t.dims();
        fused("leaky_relu", t, |t| {
            let w = Tensor::f_full([1], alpha, (kind_of(t), t.device()))?;
            if dims.is_empty() {
                t.f_reshape([1])?.f_prelu(&w)?.f_reshape([0i64; 0])
            } else {
                t.f_prelu(&w)
            }
        })
    }

    /// libtorch's `cross_entropy_loss` without reduction (no label is ignored; an
    /// out-of-range label is libtorch's error on the CPU, and is read back and refused
    /// before the kernel on CUDA).
    fn sparse_softmax_cross_entropy(logits: &TchTensor, labels: &TchTensor) -> Result<TchTensor> {
        let op = "sparse_softmax_cross_entropy";
        cross_entropy_shapes(op, logits, labels)?;
        crate::shape::check_cuda_indices(op, labels, logits.dims()[1])?;
        cross_entropy_kernel(op, logits, labels)
    }

    /// Shapes and dtype checked; the labels' range is not read back on CUDA (the caller
    /// has validated them).
    fn sparse_softmax_cross_entropy_in_range(
        logits: &TchTensor,
        labels: &TchTensor,
    ) -> Result<TchTensor> {
        let op = "sparse_softmax_cross_entropy";
        cross_entropy_shapes(op, logits, labels)?;
        cross_entropy_kernel(op, logits, labels)
    }
}

/// The shape and dtype checks of the sparse cross-entropy (no device read).
fn cross_entropy_shapes(op: &str, logits: &TchTensor, labels: &TchTensor) -> Result<()> {
    let (ld, yd) = (logits.dims(), labels.dims());
    if ld.len() != 2 {
        return Err(Error::shape(op, "logits", "rank 2 [N, C]", &ld));
    }
    if yd != [ld[0]] {
        return Err(Error::shape(
            op,
            "labels",
            format!("[{}] (one label per row of the logits)", ld[0]),
            &yd,
        ));
    }
    if dtype_of(labels) != DType::I64 {
        return Err(Error::DType {
            op: op.to_string(),
            argument: "labels".to_string(),
            expected: "i64".to_string(),
            got: dtype_of(labels).to_string(),
        });
    }
    Ok(())
}

fn cross_entropy_kernel(op: &str, logits: &TchTensor, labels: &TchTensor) -> Result<TchTensor> {
    logits
        .f_cross_entropy_loss(labels, None::<&Tensor>, Reduction::None, i64::MIN, 0.0)
        .map(TchTensor)
        .map_err(wrap(op))
}
