//! Argument checks shared by every engine: broadcasting, axes, permutations, matmul,
//! convolution and pooling shapes, written once so both engines reject the same calls with
//! the same [`Error`] values.
//!
//! Each check works on plain shapes (`&[usize]`) and hyper-parameters, never on an engine's
//! tensor, so an engine calls it with its own tensor's dims before running its kernel (the
//! engines' kernels panic or abort on some of these inputs). Dtype checks stay in the
//! engines, which know their own dtypes.

use super::base::DType;
use crate::error::{Error, Result, ShapeList};

/// The numpy broadcast of two shapes, `None` when they are incompatible.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for (i, o) in out.iter_mut().enumerate() {
        let da = if i < rank - a.len() {
            1
        } else {
            a[i - (rank - a.len())]
        };
        let db = if i < rank - b.len() {
            1
        } else {
            b[i - (rank - b.len())]
        };
        *o = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// The broadcast shape of the operands of the elementwise `op`.
///
/// # Errors
/// [`Error::ShapeMismatch`] naming `op` and both shapes when they do not broadcast.
pub fn check_broadcast(op: &str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    broadcast_shape(a, b).ok_or_else(|| Error::mismatch(op, a, b))
}

/// Checks that the operands of `op` share a dtype; `same` is the engine's own comparison
/// (an engine may hold several dtypes that the frontend sees as one), `lhs` and `rhs` the
/// frontend dtypes named in the error.
///
/// # Errors
/// [`Error::DType`] naming `op` and `rhs` otherwise.
pub fn check_same_dtype(op: &str, same: bool, lhs: DType, rhs: DType) -> Result<()> {
    if same {
        Ok(())
    } else {
        Err(Error::DType {
            op: op.to_string(),
            argument: "rhs".to_string(),
            expected: format!("{lhs} (the dtype of lhs)"),
            got: rhs.to_string(),
        })
    }
}

/// Checks that `argument` of `op` holds floats; `is_float` is the engine's own test and
/// `got` the frontend dtype named in the error.
///
/// # Errors
/// [`Error::DType`] naming `op` and `argument` otherwise.
pub fn check_float(op: &str, argument: &str, is_float: bool, got: DType) -> Result<()> {
    if is_float {
        Ok(())
    } else {
        Err(Error::DType {
            op: op.to_string(),
            argument: argument.to_string(),
            expected: "a float dtype (f32 or f64)".to_string(),
            got: got.to_string(),
        })
    }
}

/// The host checks of integer `div` (engines' kernels panic or trap on these), given the
/// engine's reads: whether the divisor holds a zero and, for `i64` operands only (`None`
/// otherwise), whether some `i64::MIN` is divided by -1.
///
/// # Errors
/// [`Error::InvalidArgument`] naming `div` and `rhs` (division by zero) or `operands`
/// (overflow); an engine error from either read.
pub fn check_int_division(
    divisor_has_zero: impl FnOnce() -> Result<bool>,
    min_by_minus_one: Option<impl FnOnce() -> Result<bool>>,
) -> Result<()> {
    if divisor_has_zero()? {
        return Err(Error::invalid("div", "rhs", "integer division by zero"));
    }
    if let Some(overflow) = min_by_minus_one {
        if overflow()? {
            return Err(Error::invalid(
                "div",
                "operands",
                "integer division overflow (i64::MIN / -1)",
            ));
        }
    }
    Ok(())
}

/// Checks that `axis` is below the rank of `shape`.
///
/// # Errors
/// [`Error::Shape`] naming `op` and `argument` otherwise.
pub fn check_axis(op: &str, argument: &str, axis: usize, shape: &[usize]) -> Result<()> {
    if axis < shape.len() {
        Ok(())
    } else {
        Err(Error::shape(
            op,
            argument,
            format!(
                "an axis below the rank, got axis {axis} for rank {}",
                shape.len()
            ),
            shape,
        ))
    }
}

/// Checks the arguments of `narrow`: `axis` below the rank of `shape` and
/// `start..start + len` inside that axis.
///
/// # Errors
/// [`Error::Shape`] naming `narrow` and `axis` or `input` otherwise.
pub fn check_narrow(axis: usize, start: usize, len: usize, shape: &[usize]) -> Result<()> {
    check_axis("narrow", "axis", axis, shape)?;
    if start.checked_add(len).is_none_or(|end| end > shape[axis]) {
        return Err(Error::shape(
            "narrow",
            "input",
            format!(
                "axis {axis} to hold entries {start}..{}",
                start.saturating_add(len)
            ),
            shape,
        ));
    }
    Ok(())
}

/// Checks that `axes` are distinct and below the rank of `shape` (the argument `axes` of a
/// reduction).
///
/// # Errors
/// [`Error::Shape`] for an axis out of range, [`Error::InvalidArgument`] for a repeated one.
pub fn check_axes(op: &str, axes: &[usize], shape: &[usize]) -> Result<()> {
    for (i, &a) in axes.iter().enumerate() {
        check_axis(op, "axes", a, shape)?;
        if axes[..i].contains(&a) {
            return Err(Error::invalid(
                op,
                "axes",
                format!("axis {a} is repeated in {axes:?}"),
            ));
        }
    }
    Ok(())
}

/// The first tensor of a list operand of `op` (`concat`, `stack`), or the error for an
/// empty list.
///
/// # Errors
/// [`Error::Invalid`] naming `tensors`.
pub fn first_operand<'a, T>(op: &str, ts: &'a [T]) -> Result<&'a T> {
    ts.first()
        .ok_or_else(|| Error::invalid(op, "tensors", "at least one tensor is needed"))
}

/// Checks one further operand of `concat` along `axis`: its shape equals the first
/// operand's (`first`) on every other axis.
///
/// # Errors
/// [`Error::ShapeMismatch`].
pub fn check_concat_operand(axis: usize, first: &[usize], shape: &[usize]) -> Result<()> {
    let compatible = shape.len() == first.len()
        && shape
            .iter()
            .zip(first)
            .enumerate()
            .all(|(i, (a, b))| i == axis || a == b);
    if !compatible {
        return Err(Error::ShapeMismatch {
            op: "concat".to_string(),
            lhs: ShapeList(first.to_vec()),
            rhs: ShapeList(shape.to_vec()),
            detail: Some(format!("shapes must agree except on axis {axis}")),
        });
    }
    Ok(())
}

/// Checks `stack`'s new `axis` against the first operand's shape: at most its rank.
///
/// # Errors
/// [`Error::Shape`] naming `axis`.
pub fn check_stack_axis(axis: usize, first: &[usize]) -> Result<()> {
    if axis > first.len() {
        return Err(Error::shape(
            "stack",
            "axis",
            format!("an axis up to the rank, got axis {axis}"),
            first,
        ));
    }
    Ok(())
}

/// Checks one further operand of `stack`: the same shape as the first (`first`).
///
/// # Errors
/// [`Error::ShapeMismatch`].
pub fn check_stack_operand(first: &[usize], shape: &[usize]) -> Result<()> {
    if shape != first {
        return Err(Error::ShapeMismatch {
            op: "stack".to_string(),
            lhs: ShapeList(first.to_vec()),
            rhs: ShapeList(shape.to_vec()),
            detail: Some("stacked tensors must have the same shape".to_string()),
        });
    }
    Ok(())
}

/// Checks that `axes` is a permutation of `0..rank` for `permute` of a tensor of `shape`.
///
/// # Errors
/// [`Error::Shape`] naming `permute` and `axes` otherwise.
pub fn check_permutation(axes: &[usize], shape: &[usize]) -> Result<()> {
    let rank = shape.len();
    let mut seen = vec![false; rank];
    let valid = axes.len() == rank
        && axes
            .iter()
            .all(|&a| a < rank && !std::mem::replace(&mut seen[a], true));
    if valid {
        Ok(())
    } else {
        Err(Error::shape(
            "permute",
            "axes",
            format!("a permutation of 0..{rank}, got axes {axes:?}"),
            shape,
        ))
    }
}

/// Checks the ranks of the operands of `matmul` (2 or more each).
///
/// # Errors
/// [`Error::Shape`] naming the operand (`lhs` or `rhs`) of rank below 2.
pub fn check_matmul_ranks(op: &str, a: &[usize], b: &[usize]) -> Result<()> {
    for (argument, d) in [("lhs", a), ("rhs", b)] {
        if d.len() < 2 {
            return Err(Error::shape(op, argument, "rank 2 or more", d));
        }
    }
    Ok(())
}

/// Checks that the inner dimensions of `matmul` agree and the batch axes broadcast
/// (operands of rank 2 or more, see [`check_matmul_ranks`]).
///
/// # Errors
/// [`Error::ShapeMismatch`] with both shapes and which of the two failed.
pub fn check_matmul_shapes(op: &str, a: &[usize], b: &[usize]) -> Result<()> {
    let k_ok = a[a.len() - 1] == b[b.len() - 2];
    let batch_ok = broadcast_shape(&a[..a.len() - 2], &b[..b.len() - 2]).is_some();
    if k_ok && batch_ok {
        return Ok(());
    }
    let detail = if k_ok {
        "batch axes do not broadcast"
    } else {
        "inner dimensions differ"
    };
    Err(Error::ShapeMismatch {
        op: op.to_string(),
        lhs: ShapeList(a.to_vec()),
        rhs: ShapeList(b.to_vec()),
        detail: Some(detail.to_string()),
    })
}

/// The shape checks of `LinalgOps::dense_relu`: [`check_matmul_bias`]'s, naming
/// `dense_relu` (a missing bias stands for one of the right length).
///
/// # Errors
/// [`Error::Shape`] or [`Error::ShapeMismatch`] naming `input`, `kernel` or `bias`.
pub fn check_dense_relu(x: &[usize], w: &[usize], b: Option<&[usize]>) -> Result<()> {
    let units = [w.get(1).copied().unwrap_or(0)];
    check_matmul_bias("dense_relu", x, w, b.unwrap_or(&units))
}

/// Checks the operands of [`LinalgOps::matmul_bias`](super::LinalgOps::matmul_bias): `x
/// [m, k]`, `w [k, n]`, `b [n]`.
///
/// # Errors
/// [`Error::Shape`] naming `input`, `kernel` or `bias` and its shape, or
/// [`Error::ShapeMismatch`] when `x` and `w` do not chain.
pub fn check_matmul_bias(op: &str, x: &[usize], w: &[usize], b: &[usize]) -> Result<()> {
    if x.len() != 2 {
        return Err(Error::shape(op, "input", "rank 2 [m, k]", x));
    }
    if w.len() != 2 {
        return Err(Error::shape(op, "kernel", "rank 2 [k, n]", w));
    }
    check_matmul_shapes(op, x, w)?;
    if b != [w[1]] {
        return Err(Error::shape(op, "bias", format!("[{}]", w[1]), b));
    }
    Ok(())
}

/// Checks the ranks of a convolution's input `x` and kernel `w` (`rank` 3 for 1-D, 4 for
/// 2-D convolutions); run before the dtype checks.
///
/// # Errors
/// [`Error::Shape`] naming `input` (with the expected layout) or `kernel`.
pub fn check_conv_ranks(op: &str, x: &[usize], w: &[usize], rank: usize) -> Result<()> {
    let layout = if rank == 3 {
        "[N, C, L]"
    } else {
        "[N, C, H, W]"
    };
    if x.len() != rank {
        return Err(Error::shape(
            op,
            "input",
            format!("rank {rank} {layout}"),
            x,
        ));
    }
    if w.len() != rank {
        return Err(Error::shape(op, "kernel", format!("rank {rank}"), w));
    }
    Ok(())
}

/// Checks a convolution's positive hyper-parameters and non-empty spatial axes (after
/// [`check_conv_ranks`] and the engine's dtype checks).
///
/// # Errors
/// [`Error::InvalidArgument`] naming `stride`, `dilation` or `groups`; [`Error::Shape`] for
/// an empty spatial axis of the input or the kernel.
pub fn check_conv_params(
    op: &str,
    x: &[usize],
    w: &[usize],
    stride: &[usize],
    dilation: &[usize],
    groups: usize,
) -> Result<()> {
    if stride.contains(&0) {
        return Err(Error::invalid(
            op,
            "stride",
            format!("{stride:?} must be positive"),
        ));
    }
    if dilation.contains(&0) {
        return Err(Error::invalid(
            op,
            "dilation",
            format!("{dilation:?} must be positive"),
        ));
    }
    if groups == 0 {
        return Err(Error::invalid(op, "groups", "must be positive"));
    }
    if x[2..].contains(&0) || w[2..].contains(&0) {
        return Err(Error::shape(op, "input", "non-empty spatial axes", x));
    }
    Ok(())
}

/// `Ok` when the kernel `w` `fits` `layout` for `c_in` input channels in `groups` groups;
/// else the [`Error::Shape`] naming `kernel`.
fn kernel_groups(
    op: &str,
    fits: bool,
    layout: &str,
    c_in: usize,
    groups: usize,
    w: &[usize],
) -> Result<()> {
    if fits {
        return Ok(());
    }
    Err(Error::shape(
        op,
        "kernel",
        format!(
            "{layout} with {c_in} input channels and {groups} groups \
             (channels divisible by groups)"
        ),
        w,
    ))
}

/// Checks a convolution kernel `w [C_out, C_in / groups, ...]` against the input channels
/// of `x` and `groups`.
///
/// # Errors
/// [`Error::Shape`] naming `kernel`.
pub fn check_conv_groups(op: &str, x: &[usize], w: &[usize], groups: usize) -> Result<()> {
    let (c_in, c_out, g) = (x[1], w[0], groups);
    let fits = c_in % g == 0 && c_out % g == 0 && w[1] * g == c_in;
    kernel_groups(op, fits, "[C_out, C_in / groups, ...]", c_in, g, w)
}

/// Checks a transposed convolution kernel `w [C_in, C_out / groups, ...]` against the
/// input channels of `x` and `groups`.
///
/// # Errors
/// [`Error::Shape`] naming `kernel`.
pub fn check_conv_transpose_groups(
    op: &str,
    x: &[usize],
    w: &[usize],
    groups: usize,
) -> Result<()> {
    let (c_in, g) = (x[1], groups);
    let fits = w[0] == c_in && c_in % g == 0;
    kernel_groups(op, fits, "[C_in, C_out / groups, ...]", c_in, g, w)
}

/// The padded length and dilated kernel extent of spatial axis `axis` of a convolution
/// (input length `size`, kernel length `kernel`), checking that the kernel fits.
///
/// # Errors
/// [`Error::Shape`] naming `input` (with its shape `x`) when the dilated kernel is longer
/// than the padded axis.
pub fn conv_window(
    op: &str,
    x: &[usize],
    axis: usize,
    size: usize,
    kernel: usize,
    padding: (usize, usize),
    dilation: usize,
) -> Result<(usize, usize)> {
    let padded = size + padding.0 + padding.1;
    let eff = dilation * (kernel - 1) + 1;
    if eff > padded {
        return Err(Error::shape(
            op,
            "input",
            format!(
                "padded spatial axis {axis} of at least the dilated kernel size {eff} \
                 (padding {padding:?})"
            ),
            x,
        ));
    }
    Ok((padded, eff))
}

/// Checks that each `output_padding` of a transposed convolution is smaller than the
/// stride or the dilation of its axis.
///
/// # Errors
/// [`Error::InvalidArgument`] naming `output_padding`.
pub fn check_output_padding(
    op: &str,
    output_padding: &[usize],
    stride: &[usize],
    dilation: &[usize],
) -> Result<()> {
    for i in 0..output_padding.len() {
        if output_padding[i] >= stride[i].max(dilation[i]) {
            return Err(Error::invalid(
                op,
                "output_padding",
                format!(
                    "{output_padding:?} must be smaller than the stride {stride:?} or the \
                     dilation {dilation:?} on each axis"
                ),
            ));
        }
    }
    Ok(())
}

/// Checks that the full output length `full` (including `output_padding`) of spatial axis
/// `axis` of a transposed convolution exceeds the cropped `padding`.
///
/// # Errors
/// [`Error::Shape`] naming `input` (with its shape `x`).
pub fn check_transpose_crop(
    op: &str,
    x: &[usize],
    axis: usize,
    full: usize,
    padding: (usize, usize),
) -> Result<()> {
    if full <= padding.0 + padding.1 {
        return Err(Error::shape(
            op,
            "input",
            format!(
                "a spatial axis {axis} whose output ({full} before padding) exceeds the \
                 padding {padding:?}"
            ),
            x,
        ));
    }
    Ok(())
}

/// Checks that a convolution bias has shape `[c_out]` (one value per output channel), for
/// [`NnOps::conv2d_bias`](super::NnOps::conv2d_bias) and its engine overrides.
///
/// # Errors
/// [`Error::Shape`] naming `op` and `bias` otherwise.
pub fn check_conv_bias(op: &str, c_out: usize, bias_shape: &[usize]) -> Result<()> {
    if bias_shape != [c_out] {
        return Err(Error::shape(
            op,
            "bias",
            format!("[{c_out}] (one value per output channel)"),
            bias_shape,
        ));
    }
    Ok(())
}

/// Checks a 2-D pooling call on `x [N, C, H, W]`; returns the output size `[H_out, W_out]`.
///
/// # Errors
/// [`Error::Shape`] for a wrong rank or a window larger than the input,
/// [`Error::InvalidArgument`] for a zero kernel or stride.
pub fn check_pool(
    op: &str,
    x: &[usize],
    kernel: [usize; 2],
    stride: [usize; 2],
) -> Result<[usize; 2]> {
    if x.len() != 4 {
        return Err(Error::shape(op, "input", "rank 4 [N, C, H, W]", x));
    }
    if kernel.contains(&0) || stride.contains(&0) {
        return Err(Error::invalid(
            op,
            "kernel/stride",
            format!("kernel {kernel:?} and stride {stride:?} must be positive"),
        ));
    }
    let (h, w) = (x[2], x[3]);
    if kernel[0] > h || kernel[1] > w {
        return Err(Error::shape(
            op,
            "input",
            format!("spatial size at least the pool size {kernel:?}"),
            x,
        ));
    }
    Ok([
        (h - kernel[0]) / stride[0] + 1,
        (w - kernel[1]) / stride[1] + 1,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy() {
        assert_eq!(broadcast_shape(&[2, 1, 3], &[4, 1]), Some(vec![2, 4, 3]));
        assert_eq!(broadcast_shape(&[], &[5]), Some(vec![5]));
        assert_eq!(broadcast_shape(&[2], &[3]), None);
        assert!(check_broadcast("add", &[2], &[3]).is_err());
    }

    #[test]
    fn axes_and_permutations() {
        assert!(check_axis("sum", "axis", 1, &[2, 3]).is_ok());
        assert!(check_axis("sum", "axis", 2, &[2, 3]).is_err());
        assert!(check_axes("sum", &[0, 0], &[2, 3]).is_err());
        assert!(check_permutation(&[1, 0], &[2, 3]).is_ok());
        assert!(check_permutation(&[1, 1], &[2, 3]).is_err());
    }

    #[test]
    fn conv_and_pool() {
        assert!(check_conv_ranks("conv2d", &[1, 1, 4], &[1, 1, 2, 2], 4).is_err());
        assert!(
            check_conv_params("conv2d", &[1, 1, 4, 4], &[1, 1, 2, 2], &[0, 1], &[1, 1], 1).is_err()
        );
        assert!(check_conv_groups("conv2d", &[1, 4, 4, 4], &[2, 2, 2, 2], 2).is_ok());
        assert_eq!(
            conv_window("conv2d", &[1, 1, 4, 4], 0, 4, 3, (1, 1), 1).unwrap(),
            (6, 3)
        );
        assert!(conv_window("conv2d", &[1, 1, 4, 4], 0, 4, 3, (0, 0), 2).is_err());
        assert_eq!(
            check_pool("max_pool2d", &[1, 1, 5, 4], [2, 2], [2, 2]).unwrap(),
            [2, 2]
        );
        assert!(check_conv_bias("conv2d_bias", 3, &[2]).is_err());
    }
}
