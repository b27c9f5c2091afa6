//! Fused optimizer steps with libtorch's in-place kernels.
//!
//! Adam is `lerp_` for both moments (`m + (g - m) * (1 - beta_1)` is exactly Keras'
//! formula; libtorch's vectorised `lerp` may use a fused multiply-add, so results can
//! differ from the default in the last bit), `maximum` into `vhat` for AMSGrad, then
//! `sqrt`, `add_`, `div` into the same buffer, `mul_` and `sub_` on the parameter: two
//! temporary tensors per parameter instead of about ten, and no copy back. SGD is `mul_`
//! and `sub_`/`add_` on the velocity and parameter. Everything runs under no-grad, on any
//! device libtorch supports.

use crate::{wrap, Tch, TchTensor};
use stratanet_frontend::backend::{
    check_adam_operands, check_sgd_operands, AdamStep, OptimOps, SgdStep,
};
use stratanet_frontend::Result;
use tch::TchError;

/// A second handle to the same tensor, for libtorch's `&mut self` in-place calls.
fn handle(t: &TchTensor) -> tch::Tensor {
    t.0.shallow_clone()
}

/// A handle to `param`, multiplied in place by `decay` (decoupled weight decay) unless it
/// is 1.
fn decayed(param: &TchTensor, decay: f64) -> std::result::Result<tch::Tensor, TchError> {
    let mut p = handle(param);
    if decay != 1.0 {
        let _ = p.f_mul_scalar_(decay)?;
    }
    Ok(p)
}

/// Runs an in-place update under no-grad, its libtorch errors wrapped as `op`'s.
fn fused(op: &str, update: impl FnOnce() -> std::result::Result<(), TchError>) -> Result<()> {
    let _guard = tch::no_grad_guard();
    update().map_err(wrap(op))
}

impl OptimOps for Tch {
    /// `detach_copy`, made contiguous when libtorch kept the source's strides.
    fn copy(t: &TchTensor) -> Result<TchTensor> {
        let c = t.0.f_detach_copy().map_err(wrap("copy"))?;
        if c.is_contiguous() {
            Ok(TchTensor(c))
        } else {
            c.f_contiguous().map(TchTensor).map_err(wrap("copy"))
        }
    }

    fn adam_step(
        param: &TchTensor,
        grad: &TchTensor,
        m: &TchTensor,
        v: &TchTensor,
        vhat: Option<&TchTensor>,
        h: &AdamStep,
    ) -> Result<()> {
        check_adam_operands::<Tch>(param, grad, m, v, vhat)?;
        fused("adam_step", || {
            let mut p = decayed(param, h.decay)?;
            let _ = handle(m).f_lerp_(&grad.0, 1.0 - h.beta_1)?;
            let _ = handle(v).f_lerp_(&grad.0.f_square()?, 1.0 - h.beta_2)?;
            let denom_v = match vhat {
                Some(vh) => {
                    let _ = vh.0.f_maximum_out(&vh.0, &v.0)?;
                    &vh.0
                }
                None => &v.0,
            };
            // d = (m / (sqrt(v) + eps)) * lr_t, in one buffer; then p -= d.
            let mut d = denom_v.f_sqrt()?;
            let _ = d.f_add_scalar_(h.epsilon)?;
            let _ = m.0.f_div_out(&d, &d)?;
            let _ = d.f_mul_scalar_(h.lr_t)?;
            let _ = p.f_sub_(&d)?;
            Ok(())
        })
    }

    fn sgd_step(
        param: &TchTensor,
        grad: &TchTensor,
        velocity: Option<&TchTensor>,
        h: &SgdStep,
    ) -> Result<()> {
        check_sgd_operands::<Tch>(param, grad, velocity)?;
        fused("sgd_step", || {
            let mut p = decayed(param, h.decay)?;
            let lr_g = grad.0.f_mul_scalar(h.lr)?;
            match velocity {
                None => {
                    let _ = p.f_sub_(&lr_g)?;
                }
                Some(v) => {
                    let mut vv = handle(v);
                    let _ = vv.f_mul_scalar_(h.momentum)?;
                    let _ = vv.f_sub_(&lr_g)?;
                    if h.nesterov {
                        let mut upd = v.0.f_mul_scalar(h.momentum)?;
                        let _ = upd.f_sub_(&lr_g)?;
                        let _ = p.f_add_(&upd)?;
                    } else {
                        let _ = p.f_add_(&v.0)?;
                    }
                }
            }
            Ok(())
        })
    }
}
