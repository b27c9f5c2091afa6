//! Parameters and libtorch's autograd (`requires_grad` leaves + the autograd engine).

use crate::{need_float, same_dtype, wrap, Tch, TchTensor};
use stratanet_frontend::backend::AutogradOps;
use stratanet_frontend::{Error, Result};
use tch::Tensor;

impl AutogradOps for Tch {
    /// A fresh contiguous copy, detached, flagged `requires_grad` (a leaf).
    fn param(t: &TchTensor) -> Result<TchTensor> {
        need_float("param", "value", t)?;
        t.f_detach_copy()
            .and_then(|c| c.f_contiguous())
            .and_then(|c| c.f_set_requires_grad(true))
            .map(TchTensor)
            .map_err(wrap("param"))
    }

    /// `requires_grad` and a leaf of the graph.
    fn is_param(t: &TchTensor) -> bool {
        t.requires_grad() && t.f_is_leaf().unwrap_or(false)
    }

    fn detach(t: &TchTensor) -> TchTensor {
        // `detach` of a defined tensor cannot fail; keep the handle if it ever did.
        t.f_detach().map(TchTensor).unwrap_or_else(|_| t.clone())
    }

    /// Runs libtorch's autograd engine from `loss` for the parameters that require
    /// gradients only (nothing is accumulated into their `.grad`); parameters the loss does
    /// not reach, and tensors that do not require gradients, get `None`. The graph is
    /// freed.
    fn grad(loss: &TchTensor, params: &[TchTensor]) -> Result<Vec<Option<TchTensor>>> {
        let op = "grad";
        if loss.elem_count() != 1 {
            return Err(Error::shape(
                op,
                "loss",
                "a single element (reduce the loss first)",
                &loss.dims(),
            ));
        }
        need_float(op, "loss", loss)?;
        let mut out: Vec<Option<TchTensor>> = vec![None; params.len()];
        if !loss.requires_grad() {
            return Ok(out);
        }
        let wanted: Vec<usize> = (0..params.len())
            .filter(|&i| params[i].requires_grad())
            .collect();
        let inputs: Vec<&Tensor> = wanted.iter().map(|&i| &params[i].0).collect();
        // libtorch's engine returns an undefined tensor for an input the loss does not
        // reach (the `allow_unused` check is Python's, not the engine's).
        let grads = Tensor::f_run_backward(&[&loss.0], &inputs, false, false).map_err(wrap(op))?;
        for (i, g) in wanted.into_iter().zip(grads) {
            if g.defined() {
                out[i] = Some(TchTensor(g));
            }
        }
        Ok(out)
    }

    /// `copy_` into the parameter under no-grad: every handle sees the new values, the
    /// parameter stays the same leaf, and no graph is recorded. A `value` overlapping the
    /// parameter's storage is copied first.
    fn assign(param: &TchTensor, value: &TchTensor) -> Result<()> {
        let op = "assign";
        let (pd, vd) = (param.dims(), value.dims());
        if pd != vd {
            return Err(Error::mismatch(op, &pd, &vd));
        }
        same_dtype(op, param, value)?;
        let _guard = tch::no_grad_guard();
        let mut dst = param.shallow_clone();
        if dst.f_copy_(value).is_ok() {
            return Ok(());
        }
        // libtorch refuses partially overlapping source and destination: copy the source.
        let src = value.f_detach_copy().map_err(wrap(op))?;
        dst.f_copy_(&src).map_err(wrap(op))
    }

    /// Runs `f` with libtorch's grad mode off (for this thread), restored afterwards.
    fn no_grad<R>(f: impl FnOnce() -> R) -> R {
        let _guard = tch::no_grad_guard();
        f()
    }
}
