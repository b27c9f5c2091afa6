//! Comparisons and selection. Results are libtorch `Bool` tensors (frontend `Bool`).

use crate::{broadcast_shape, kind_of, same_dtype, wrap, Tch, TchTensor};
use stratanet_frontend::backend::CompareOps;
use stratanet_frontend::error::ShapeList;
use stratanet_frontend::{Error, Result};
use tch::{Kind, TchError, Tensor};

/// Checks dtypes and broadcastability, then runs a libtorch comparison (which broadcasts).
fn compare(
    op: &str,
    a: &TchTensor,
    b: &TchTensor,
    f: impl FnOnce(&Tensor, &Tensor) -> std::result::Result<Tensor, TchError>,
) -> Result<TchTensor> {
    same_dtype(op, a, b)?;
    let (ad, bd) = (a.dims(), b.dims());
    if broadcast_shape(&ad, &bd).is_none() {
        return Err(Error::mismatch(op, &ad, &bd));
    }
    f(a, b).map(TchTensor).map_err(wrap(op))
}

impl CompareOps for Tch {
    fn eq(a: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        compare("eq", a, b, |a, b| a.f_eq_tensor(b))
    }

    fn ne(a: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        compare("ne", a, b, |a, b| a.f_ne_tensor(b))
    }

    fn lt(a: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        compare("lt", a, b, |a, b| a.f_lt_tensor(b))
    }

    fn le(a: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        compare("le", a, b, |a, b| a.f_le_tensor(b))
    }

    fn gt(a: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        compare("gt", a, b, |a, b| a.f_gt_tensor(b))
    }

    fn ge(a: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        compare("ge", a, b, |a, b| a.f_ge_tensor(b))
    }

    /// libtorch's `where` (which broadcasts all three); a mask of another dtype counts as
    /// true where non-zero.
    fn where_cond(
        mask: &TchTensor,
        on_true: &TchTensor,
        on_false: &TchTensor,
    ) -> Result<TchTensor> {
        let op = "where_cond";
        same_dtype(op, on_true, on_false)?;
        let (td, fd, md) = (on_true.dims(), on_false.dims(), mask.dims());
        let shape = broadcast_shape(&td, &fd).ok_or_else(|| Error::mismatch(op, &td, &fd))?;
        if broadcast_shape(&md, &shape).is_none() {
            return Err(Error::ShapeMismatch {
                op: op.to_string(),
                lhs: ShapeList(md),
                rhs: ShapeList(shape),
                detail: Some("the mask does not broadcast with the branches".to_string()),
            });
        }
        let mask = if kind_of(mask) == Kind::Bool {
            mask.clone()
        } else {
            TchTensor(mask.f_ne(0).map_err(wrap(op))?)
        };
        on_true
            .f_where_self(&mask, on_false)
            .map(TchTensor)
            .map_err(wrap(op))
    }
}
