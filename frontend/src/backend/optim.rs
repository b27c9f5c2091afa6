//! Fused, in-place optimizer steps: one trait call per parameter that updates the
//! parameter and its optimizer slots where they are, overridable with engine kernels.

use super::autograd::AutogradOps;
use super::composite::CompositeOps;
use crate::error::{Error, Result};

/// The scalars of one Adam step in Keras' formula, for [`OptimOps::adam_step`].
///
/// ```text
/// p = p * decay                               (decoupled weight decay; skipped when 1)
/// m = m + (g - m) * (1 - beta_1)
/// v = v + (g^2 - v) * (1 - beta_2)
/// vhat = max(vhat, v)                         (AMSGrad only; then vhat replaces v below)
/// p = p - lr_t * m / (sqrt(v) + epsilon)
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    /// The bias-corrected rate `lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)`.
    pub lr_t: f64,
    /// First-moment decay.
    pub beta_1: f64,
    /// Second-moment decay.
    pub beta_2: f64,
    /// Added to `sqrt(v)`.
    pub epsilon: f64,
    /// Factor applied to the parameter before the step (`1 - lr * weight_decay`; 1 for
    /// none).
    pub decay: f64,
}

/// The scalars of one SGD step in Keras' formula, for [`OptimOps::sgd_step`].
///
/// ```text
/// p = p * decay                               (decoupled weight decay; skipped when 1)
/// without velocity:  p = p - lr * g
/// with velocity:     v = momentum * v - lr * g
///                    p = p + v                (or p + momentum * v - lr * g, Nesterov)
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdStep {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor (used only with a velocity slot).
    pub momentum: f64,
    /// Nesterov momentum (used only with a velocity slot).
    pub nesterov: bool,
    /// Factor applied to the parameter before the step (`1 - lr * weight_decay`; 1 for
    /// none).
    pub decay: f64,
}

/// Checks that every tensor of a fused step has the parameter's shape and float dtype.
pub fn check_step_operands<B: AutogradOps>(
    op: &str,
    param: &B::Tensor,
    others: &[(&str, &B::Tensor)],
) -> Result<()> {
    let dtype = B::dtype(param);
    if !dtype.is_float() {
        return Err(Error::DType {
            op: op.to_string(),
            argument: "param".to_string(),
            expected: "a float dtype".to_string(),
            got: dtype.to_string(),
        });
    }
    let shape = B::shape(param);
    for (name, t) in others {
        let s = B::shape(t);
        if s != shape {
            return Err(Error::mismatch(
                format!("{op}: param and {name}"),
                &shape,
                &s,
            ));
        }
        if B::dtype(t) != dtype {
            return Err(Error::DType {
                op: op.to_string(),
                argument: (*name).to_string(),
                expected: format!("{dtype} (the parameter's)"),
                got: B::dtype(t).to_string(),
            });
        }
    }
    Ok(())
}

/// [`check_step_operands`] for `adam_step`: `grad`, `m`, `v` and `vhat` (AMSGrad) against
/// `param`.
///
/// # Errors
/// As [`check_step_operands`].
pub fn check_adam_operands<B: AutogradOps>(
    param: &B::Tensor,
    grad: &B::Tensor,
    m: &B::Tensor,
    v: &B::Tensor,
    vhat: Option<&B::Tensor>,
) -> Result<()> {
    let mut others = vec![("grad", grad), ("m", m), ("v", v)];
    others.extend(vhat.map(|vh| ("vhat", vh)));
    check_step_operands::<B>("adam_step", param, &others)
}

/// [`check_step_operands`] for `sgd_step`: `grad` and the velocity against `param`.
///
/// # Errors
/// As [`check_step_operands`].
pub fn check_sgd_operands<B: AutogradOps>(
    param: &B::Tensor,
    grad: &B::Tensor,
    velocity: Option<&B::Tensor>,
) -> Result<()> {
    let mut others = vec![("grad", grad)];
    others.extend(velocity.map(|v| ("velocity", v)));
    check_step_operands::<B>("sgd_step", param, &others)
}

/// The detached parameter, times `decay` (decoupled weight decay) unless it is 1.
fn decayed<B: OptimOps>(param: &B::Tensor, decay: f64) -> Result<B::Tensor> {
    let w = B::detach(param);
    if decay == 1.0 {
        Ok(w)
    } else {
        B::affine(&w, decay, 0.0)
    }
}

/// Optimizer updates that write the parameter and its state in place.
///
/// The defaults compute the new values with the primitive ops (the same arithmetic as the
/// optimizers' generic rules) and write them back with [`AutogradOps::assign`]; engines
/// override them with in-place kernels (libtorch's `lerp_`/`addcmul_`/`addcdiv_`, candle
/// in-place custom ops) so that a step allocates (almost) nothing. The parameter keeps its
/// identity; the state tensors must be tensors the optimizer owns (contiguous, not shared
/// with anything else), because they are overwritten.
pub trait OptimOps: CompositeOps + AutogradOps {
    /// A new tensor with `t`'s values in its own contiguous storage, cut from the graph
    /// (what an optimizer keeps as state it will update in place).
    fn copy(t: &Self::Tensor) -> Result<Self::Tensor>;

    /// One Adam step ([`AdamStep`]) on `param` with gradient `grad`, updating the moments
    /// `m`, `v` and, for AMSGrad, `vhat` in place.
    ///
    /// # Errors
    /// When a tensor's shape or dtype differs from the parameter's, or on engine errors.
    fn adam_step(
        param: &Self::Tensor,
        grad: &Self::Tensor,
        m: &Self::Tensor,
        v: &Self::Tensor,
        vhat: Option<&Self::Tensor>,
        h: &AdamStep,
    ) -> Result<()> {
        adam_step_default::<Self>(param, grad, m, v, vhat, h)
    }

    /// One SGD step ([`SgdStep`]) on `param` with gradient `grad`, updating the velocity in
    /// place when there is one.
    ///
    /// # Errors
    /// When a tensor's shape or dtype differs from the parameter's, or on engine errors.
    fn sgd_step(
        param: &Self::Tensor,
        grad: &Self::Tensor,
        velocity: Option<&Self::Tensor>,
        h: &SgdStep,
    ) -> Result<()> {
        sgd_step_default::<Self>(param, grad, velocity, h)
    }
}

/// The default [`OptimOps::adam_step`] on primitive ops and [`AutogradOps::assign`], for
/// engines that override it only for some dtypes or devices.
///
/// # Errors
/// As [`OptimOps::adam_step`].
pub fn adam_step_default<B: OptimOps>(
    param: &B::Tensor,
    grad: &B::Tensor,
    m: &B::Tensor,
    v: &B::Tensor,
    vhat: Option<&B::Tensor>,
    h: &AdamStep,
) -> Result<()> {
    check_adam_operands::<B>(param, grad, m, v, vhat)?;
    let w = decayed::<B>(param, h.decay)?;
    let m_new = B::add(m, &B::affine(&B::sub(grad, m)?, 1.0 - h.beta_1, 0.0)?)?;
    let v_new = B::add(
        v,
        &B::affine(&B::sub(&B::square(grad)?, v)?, 1.0 - h.beta_2, 0.0)?,
    )?;
    let denom_v = match vhat {
        Some(vh) => {
            let vh_new = B::maximum(vh, &v_new)?;
            B::assign(vh, &vh_new)?;
            vh_new
        }
        None => v_new.clone(),
    };
    let denom = B::affine(&B::sqrt(&denom_v)?, 1.0, h.epsilon)?;
    let step = B::affine(&B::div(&m_new, &denom)?, h.lr_t, 0.0)?;
    let w_new = B::sub(&w, &step)?;
    B::assign(m, &m_new)?;
    B::assign(v, &v_new)?;
    B::assign(param, &w_new)
}

/// The default [`OptimOps::sgd_step`] on primitive ops and [`AutogradOps::assign`].
///
/// # Errors
/// As [`OptimOps::sgd_step`].
pub fn sgd_step_default<B: OptimOps>(
    param: &B::Tensor,
    grad: &B::Tensor,
    velocity: Option<&B::Tensor>,
    h: &SgdStep,
) -> Result<()> {
    check_sgd_operands::<B>(param, grad, velocity)?;
    let w = decayed::<B>(param, h.decay)?;
    let lr_g = B::affine(grad, h.lr, 0.0)?;
    let w_new = match velocity {
        Some(v) => {
            let v_new = B::sub(&B::affine(v, h.momentum, 0.0)?, &lr_g)?;
            let upd = if h.nesterov {
                B::sub(&B::affine(&v_new, h.momentum, 0.0)?, &lr_g)?
            } else {
                v_new.clone()
            };
            B::assign(v, &v_new)?;
            B::add(&w, &upd)?
        }
        None => B::sub(&w, &lr_g)?,
    };
    B::assign(param, &w_new)
}
