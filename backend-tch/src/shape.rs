//! Shape operations.
//!
//! libtorch checks index ranges of `index_select` and `gather` itself on the CPU (an
//! out-of-range index is an `Err`). On CUDA its check is a device-side assertion that
//! poisons the CUDA context, so the user-facing ops read the index bounds back first
//! ([`check_cuda_indices`], a synchronisation). The `*_in_range` variants, for indices the
//! caller guarantees (the training loop's batch permutation), skip that read.

use crate::{broadcast_shape, check, check_axis, dtype_of, i64s, same_dtype, wrap, Tch, TchTensor};
use stratanet_frontend::backend::check::{
    check_concat_operand, check_permutation, check_stack_axis, check_stack_operand, first_operand,
};
use stratanet_frontend::backend::ShapeOps;
use stratanet_frontend::error::ShapeList;
use stratanet_frontend::{Error, Result};
use tch::{Kind, Tensor};

/// Errors unless `indices` holds `i64` (or another integer kind).
fn need_index_dtype(op: &str, indices: &TchTensor) -> Result<()> {
    match indices.f_kind() {
        Ok(Kind::Int64 | Kind::Int) => Ok(()),
        _ => Err(Error::DType {
            op: op.to_string(),
            argument: "indices".to_string(),
            expected: "i64".to_string(),
            got: dtype_of(indices).to_string(),
        }),
    }
}

/// Refuses indices outside `0..size` before a CUDA kernel sees them. On the CPU libtorch
/// checks them itself and returns an error; on CUDA an out-of-range index is a device-side
/// assert that poisons the CUDA context for the rest of the process (every later call
/// fails), so the bounds are read back first: one `aminmax` and a two-value copy to the
/// host, a synchronisation that costs microseconds.
///
/// Counted by [`crate::host_read_count`] on every device (it reads back only on CUDA), so a
/// CPU test sees each call that would synchronise on a GPU.
pub(crate) fn check_cuda_indices(op: &str, indices: &TchTensor, size: usize) -> Result<()> {
    crate::host_reads::note_host_read();
    if !indices.device().is_cuda() || indices.numel() == 0 {
        return Ok(());
    }
    let (lo, hi) = indices
        .f_aminmax(None, false)
        .and_then(|(lo, hi)| {
            let b = Tensor::f_stack(&[lo, hi], 0)?.f_to(tch::Device::Cpu)?;
            Ok((b.f_int64_value(&[0])?, b.f_int64_value(&[1])?))
        })
        .map_err(wrap(op))?;
    let bad = if lo < 0 { lo } else { hi };
    if lo < 0 || hi >= size as i64 {
        return Err(Error::invalid(
            op,
            "indices",
            format!("index {bad} is out of range for an axis of size {size}"),
        ));
    }
    Ok(())
}

/// The axis, dtype and rank checks of `index_select` (no device read).
fn index_select_shapes(t: &TchTensor, indices: &TchTensor, axis: usize) -> Result<()> {
    check_axis("index_select", "axis", axis, &t.dims())?;
    need_index_dtype("index_select", indices)?;
    if indices.dim() != 1 {
        return Err(Error::shape(
            "index_select",
            "indices",
            "rank 1",
            &indices.dims(),
        ));
    }
    Ok(())
}

/// The axis, dtype and shape checks of `gather` (no device read).
fn gather_shapes(t: &TchTensor, indices: &TchTensor, axis: usize) -> Result<()> {
    let td = t.dims();
    check_axis("gather", "axis", axis, &td)?;
    need_index_dtype("gather", indices)?;
    let id = indices.dims();
    let fits = id.len() == td.len()
        && id
            .iter()
            .zip(&td)
            .enumerate()
            .all(|(i, (a, b))| i == axis || a <= b);
    if !fits {
        return Err(Error::ShapeMismatch {
            op: "gather".to_string(),
            lhs: ShapeList(td),
            rhs: ShapeList(id),
            detail: Some(
                "indices need the input's rank and no larger size off the gather axis".to_string(),
            ),
        });
    }
    Ok(())
}

/// The two index-taking ops, which share their flow: shape checks, an optional bounds
/// read on CUDA, then libtorch's kernel.
#[derive(Clone, Copy)]
enum Take {
    IndexSelect,
    Gather,
}

impl Take {
    /// `t`'s values at `indices` along `axis`; `bounds` reads the indices' range on CUDA
    /// first (see the module docs), elsewhere libtorch reports out-of-range indices.
    fn run(
        self,
        t: &TchTensor,
        indices: &TchTensor,
        axis: usize,
        bounds: bool,
    ) -> Result<TchTensor> {
        let op = match self {
            Take::IndexSelect => "index_select",
            Take::Gather => "gather",
        };
        match self {
            Take::IndexSelect => index_select_shapes(t, indices, axis)?,
            Take::Gather => gather_shapes(t, indices, axis)?,
        }
        if bounds {
            check_cuda_indices(op, indices, t.dims()[axis])?;
        }
        let axis = axis as i64;
        match self {
            Take::IndexSelect => t.f_index_select(axis, indices),
            Take::Gather => t.f_gather(axis, indices, false),
        }
        .map(TchTensor)
        .map_err(wrap(op))
    }
}

impl ShapeOps for Tch {
    fn reshape(t: &TchTensor, shape: &[usize]) -> Result<TchTensor> {
        if t.elem_count() != shape.iter().product::<usize>() {
            return Err(Error::ShapeMismatch {
                op: "reshape".to_string(),
                lhs: ShapeList(t.dims()),
                rhs: ShapeList(shape.to_vec()),
                detail: Some("the element counts differ".to_string()),
            });
        }
        t.f_reshape(i64s(shape))
            .map(TchTensor)
            .map_err(wrap("reshape"))
    }

    fn permute(t: &TchTensor, axes: &[usize]) -> Result<TchTensor> {
        check_permutation(axes, &t.dims())?;
        t.f_permute(i64s(axes))
            .map(TchTensor)
            .map_err(wrap("permute"))
    }

    fn broadcast_to(t: &TchTensor, shape: &[usize]) -> Result<TchTensor> {
        let dims = t.dims();
        if broadcast_shape(&dims, shape).as_deref() != Some(shape) {
            return Err(Error::ShapeMismatch {
                op: "broadcast_to".to_string(),
                lhs: ShapeList(dims),
                rhs: ShapeList(shape.to_vec()),
                detail: Some("the tensor does not broadcast to the target shape".to_string()),
            });
        }
        if dims == shape {
            return Ok(t.clone());
        }
        t.f_broadcast_to(i64s(shape))
            .map(TchTensor)
            .map_err(wrap("broadcast_to"))
    }

    fn narrow(t: &TchTensor, axis: usize, start: usize, len: usize) -> Result<TchTensor> {
        check::check_narrow(axis, start, len, &t.dims())?;
        t.f_narrow(axis as i64, start as i64, len as i64)
            .map(TchTensor)
            .map_err(wrap("narrow"))
    }

    fn concat(ts: &[TchTensor], axis: usize) -> Result<TchTensor> {
        let first = first_operand("concat", ts)?;
        let fd = first.dims();
        check_axis("concat", "axis", axis, &fd)?;
        for t in &ts[1..] {
            same_dtype("concat", first, t)?;
            check_concat_operand(axis, &fd, &t.dims())?;
        }
        if ts.len() == 1 {
            return Ok(first.clone());
        }
        let inner: Vec<&Tensor> = ts.iter().map(|t| &t.0).collect();
        Tensor::f_cat(&inner, axis as i64)
            .map(TchTensor)
            .map_err(wrap("concat"))
    }

    fn stack(ts: &[TchTensor], axis: usize) -> Result<TchTensor> {
        let first = first_operand("stack", ts)?;
        let fd = first.dims();
        check_stack_axis(axis, &fd)?;
        for t in &ts[1..] {
            same_dtype("stack", first, t)?;
            check_stack_operand(&fd, &t.dims())?;
        }
        let inner: Vec<&Tensor> = ts.iter().map(|t| &t.0).collect();
        Tensor::f_stack(&inner, axis as i64)
            .map(TchTensor)
            .map_err(wrap("stack"))
    }

    /// Out-of-range (and negative) indices are an error, reported by libtorch (see the
    /// module docs for CUDA).
    fn index_select(t: &TchTensor, indices: &TchTensor, axis: usize) -> Result<TchTensor> {
        Take::IndexSelect.run(t, indices, axis, true)
    }

    /// Shapes and dtype checked; no bounds read on CUDA (the caller guarantees them).
    fn index_select_in_range(t: &TchTensor, indices: &TchTensor, axis: usize) -> Result<TchTensor> {
        Take::IndexSelect.run(t, indices, axis, false)
    }

    /// Out-of-range (and negative) indices are an error, reported by libtorch.
    fn gather(t: &TchTensor, indices: &TchTensor, axis: usize) -> Result<TchTensor> {
        Take::Gather.run(t, indices, axis, true)
    }

    /// Shapes and dtype checked; no bounds read on CUDA (the caller guarantees them).
    fn gather_in_range(t: &TchTensor, indices: &TchTensor, axis: usize) -> Result<TchTensor> {
        Take::Gather.run(t, indices, axis, false)
    }

    fn contiguous(t: &TchTensor) -> Result<TchTensor> {
        if t.is_contiguous() {
            return Ok(t.clone());
        }
        t.f_contiguous().map(TchTensor).map_err(wrap("contiguous"))
    }

    /// libtorch's constant padding (one kernel, differentiable).
    fn pad(
        t: &TchTensor,
        axis: usize,
        before: usize,
        after: usize,
        value: f64,
    ) -> Result<TchTensor> {
        let dims = t.dims();
        check_axis("pad", "axis", axis, &dims)?;
        if before == 0 && after == 0 {
            return Ok(t.clone());
        }
        // Pairs from the last axis backwards, down to `axis`.
        let mut pad = vec![0i64; 2 * (dims.len() - axis)];
        let at = 2 * (dims.len() - 1 - axis);
        pad[at] = before as i64;
        pad[at + 1] = after as i64;
        t.f_pad(pad, "constant", Some(value))
            .map(TchTensor)
            .map_err(wrap("pad"))
    }
}
