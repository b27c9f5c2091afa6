//! Comparisons and selection. Results are libtorch `Bool` tensors (frontend `Bool`).

use crate::math::binary;
use crate::{broadcast_shape, kind_of, same_dtype, wrap, Tch, TchTensor};
use stratanet_frontend::backend::CompareOps;
use stratanet_frontend::error::ShapeList;
use stratanet_frontend::{engine_ops, Error, Result};
use tch::Kind;

impl CompareOps for Tch {
    engine_ops!(binary binary, TchTensor:
        eq => f_eq_tensor,
        ne => f_ne_tensor,
        lt => f_lt_tensor,
        le => f_le_tensor,
        gt => f_gt_tensor,
        ge => f_ge_tensor,
    );

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
