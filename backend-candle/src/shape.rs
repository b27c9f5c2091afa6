//! Shape operations.

use crate::{broadcast_shape, check, check_axis, from_candle_dtype, same_dtype, wrap, Candle};
use candle_core::Tensor;
use stratanet_frontend::backend::check::{
    check_concat_operand, check_permutation, check_stack_axis, check_stack_operand, first_operand,
};
use stratanet_frontend::backend::ShapeOps;
use stratanet_frontend::error::ShapeList;
use stratanet_frontend::{Error, Result};

/// Errors unless `indices` holds integers (`i64`, or candle's `u32`).
fn need_index_dtype(op: &str, indices: &Tensor) -> Result<()> {
    match indices.dtype() {
        candle_core::DType::I64 | candle_core::DType::U32 => Ok(()),
        other => Err(Error::DType {
            op: op.to_string(),
            argument: "indices".to_string(),
            expected: "i64".to_string(),
            got: from_candle_dtype(other).to_string(),
        }),
    }
}

/// `t` itself when contiguous, else a contiguous copy (candle's CPU indexing kernels
/// need contiguous operands).
fn contiguous(t: &Tensor) -> Result<Tensor> {
    t.contiguous().map_err(wrap("contiguous"))
}

impl ShapeOps for Candle {
    fn reshape(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
        if t.elem_count() != shape.iter().product::<usize>() {
            return Err(Error::ShapeMismatch {
                op: "reshape".to_string(),
                lhs: ShapeList(t.dims().to_vec()),
                rhs: ShapeList(shape.to_vec()),
                detail: Some("the element counts differ".to_string()),
            });
        }
        t.reshape(shape).map_err(wrap("reshape"))
    }

    fn permute(t: &Tensor, axes: &[usize]) -> Result<Tensor> {
        check_permutation(axes, t.dims())?;
        t.permute(axes).map_err(wrap("permute"))
    }

    fn broadcast_to(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
        if broadcast_shape(t.dims(), shape).as_deref() != Some(shape) {
            return Err(Error::ShapeMismatch {
                op: "broadcast_to".to_string(),
                lhs: ShapeList(t.dims().to_vec()),
                rhs: ShapeList(shape.to_vec()),
                detail: Some("the tensor does not broadcast to the target shape".to_string()),
            });
        }
        if t.dims() == shape {
            return Ok(t.clone());
        }
        t.broadcast_as(shape).map_err(wrap("broadcast_to"))
    }

    fn narrow(t: &Tensor, axis: usize, start: usize, len: usize) -> Result<Tensor> {
        check::check_narrow(axis, start, len, t.dims())?;
        t.narrow(axis, start, len).map_err(wrap("narrow"))
    }

    fn concat(ts: &[Tensor], axis: usize) -> Result<Tensor> {
        let first = first_operand("concat", ts)?;
        check_axis("concat", "axis", axis, first.dims())?;
        for t in &ts[1..] {
            same_dtype("concat", first, t)?;
            check_concat_operand(axis, first.dims(), t.dims())?;
        }
        Tensor::cat(ts, axis).map_err(wrap("concat"))
    }

    fn stack(ts: &[Tensor], axis: usize) -> Result<Tensor> {
        let first = first_operand("stack", ts)?;
        check_stack_axis(axis, first.dims())?;
        for t in &ts[1..] {
            same_dtype("stack", first, t)?;
            check_stack_operand(first.dims(), t.dims())?;
        }
        Tensor::stack(ts, axis).map_err(wrap("stack"))
    }

    /// Out-of-range (and negative) indices are an error, reported by candle.
    fn index_select(t: &Tensor, indices: &Tensor, axis: usize) -> Result<Tensor> {
        check_axis("index_select", "axis", axis, t.dims())?;
        need_index_dtype("index_select", indices)?;
        if indices.rank() != 1 {
            return Err(Error::shape(
                "index_select",
                "indices",
                "rank 1",
                indices.dims(),
            ));
        }
        let (t, indices) = (contiguous(t)?, contiguous(indices)?);
        t.index_select(&indices, axis).map_err(wrap("index_select"))
    }

    /// Out-of-range (and negative) indices are an error, reported by candle.
    fn gather(t: &Tensor, indices: &Tensor, axis: usize) -> Result<Tensor> {
        check_axis("gather", "axis", axis, t.dims())?;
        need_index_dtype("gather", indices)?;
        let fits = indices.rank() == t.rank()
            && indices
                .dims()
                .iter()
                .zip(t.dims())
                .enumerate()
                .all(|(i, (a, b))| i == axis || a <= b);
        if !fits {
            return Err(Error::ShapeMismatch {
                op: "gather".to_string(),
                lhs: ShapeList(t.dims().to_vec()),
                rhs: ShapeList(indices.dims().to_vec()),
                detail: Some(
                    "indices need the input's rank and no larger size off the gather axis"
                        .to_string(),
                ),
            });
        }
        let (t, indices) = (contiguous(t)?, contiguous(indices)?);
        t.gather(&indices, axis).map_err(wrap("gather"))
    }

    fn contiguous(t: &Tensor) -> Result<Tensor> {
        t.contiguous().map_err(wrap("contiguous"))
    }
}
