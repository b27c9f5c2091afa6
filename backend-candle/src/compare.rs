//! Comparisons and selection. Results are candle `u8` tensors (frontend `Bool`).

use crate::{binary, broadcast_shape, same_dtype, wrap, Candle};
use candle_core::Tensor;
use stratanet_frontend::backend::CompareOps;
use stratanet_frontend::error::ShapeList;
use stratanet_frontend::{engine_ops, Error, Result};

impl CompareOps for Candle {
    engine_ops!(binary binary, Tensor:
        eq => broadcast_eq,
        ne => broadcast_ne,
        lt => broadcast_lt,
        le => broadcast_le,
        gt => broadcast_gt,
        ge => broadcast_ge,
    );

    /// A mask of another dtype counts as true where non-zero.
    fn where_cond(mask: &Tensor, on_true: &Tensor, on_false: &Tensor) -> Result<Tensor> {
        let op = "where_cond";
        same_dtype(op, on_true, on_false)?;
        let shape = broadcast_shape(on_true.dims(), on_false.dims())
            .ok_or_else(|| Error::mismatch(op, on_true.dims(), on_false.dims()))?;
        let shape = broadcast_shape(mask.dims(), &shape).ok_or_else(|| Error::ShapeMismatch {
            op: op.to_string(),
            lhs: ShapeList(mask.dims().to_vec()),
            rhs: ShapeList(shape.clone()),
            detail: Some("the mask does not broadcast with the branches".to_string()),
        })?;
        let mask = if mask.dtype() == candle_core::DType::U8 {
            mask.clone()
        } else {
            mask.ne(0.0).map_err(wrap(op))?
        };
        let expand = |t: &Tensor| -> Result<Tensor> {
            if t.dims() == shape.as_slice() {
                Ok(t.clone())
            } else {
                t.broadcast_as(shape.as_slice()).map_err(wrap(op))
            }
        };
        expand(&mask)?
            .where_cond(&expand(on_true)?, &expand(on_false)?)
            .map_err(wrap(op))
    }
}
