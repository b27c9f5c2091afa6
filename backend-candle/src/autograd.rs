//! Parameters and candle's autograd (`Var` + `backward`).

use crate::{need_float, same_dtype, wrap, Candle};
use candle_core::{Tensor, Var};
use stratanet_frontend::backend::AutogradOps;
use stratanet_frontend::{Error, Result};

impl AutogradOps for Candle {
    /// A fresh contiguous copy flagged as a candle variable (even when `t` is one).
    fn param(t: &Tensor) -> Result<Tensor> {
        need_float("param", "value", t)?;
        // `Var::from_tensor` would return a variable as is; a detached input always copies.
        let var = Var::from_tensor(&t.detach()).map_err(wrap("param"))?;
        Ok(var.into_inner())
    }

    fn is_param(t: &Tensor) -> bool {
        t.is_variable()
    }

    fn detach(t: &Tensor) -> Tensor {
        t.detach()
    }

    fn grad(loss: &Tensor, params: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        if loss.elem_count() != 1 {
            return Err(Error::shape(
                "grad",
                "loss",
                "a single element (reduce the loss first)",
                loss.dims(),
            ));
        }
        need_float("grad", "loss", loss)?;
        let store = loss.backward().map_err(wrap("grad"))?;
        Ok(params.iter().map(|p| store.get(p).cloned()).collect())
    }

    /// Copies into the parameter's storage with `slice_set` over its flattened view, so
    /// every handle sees the new values. A `value` that shares the parameter's storage is
    /// copied first.
    fn assign(param: &Tensor, value: &Tensor) -> Result<()> {
        let op = "assign";
        if param.dims() != value.dims() {
            return Err(Error::mismatch(op, param.dims(), value.dims()));
        }
        same_dtype(op, param, value)?;
        if !param.is_contiguous() {
            return Err(Error::invalid(
                op,
                "param",
                "must be contiguous (a parameter made by `param`)",
            ));
        }
        let n = param.elem_count();
        if n == 0 {
            return Ok(());
        }
        // A reshape of a contiguous tensor is a view on the same storage.
        let dst = param.reshape(n).map_err(wrap(op))?;
        let src = value
            .detach()
            .contiguous()
            .and_then(|v| v.reshape(n))
            .map_err(wrap(op))?;
        match dst.slice_set(&src, 0, 0) {
            Ok(()) => Ok(()),
            // candle refuses a source sharing the destination's storage: copy it.
            Err(_) => {
                let src = src.copy().map_err(wrap(op))?;
                dst.slice_set(&src, 0, 0).map_err(wrap(op))
            }
        }
    }
}
