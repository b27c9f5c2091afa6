//! Elementwise arithmetic.

use crate::kernels;
use crate::{binary, check, need_float, same_dtype, unary, wrap, Candle};
use candle_core::Tensor;
use stratanet_frontend::backend::{BackendBase, CreationOps, MathOps};
use stratanet_frontend::{engine_ops, Result};

/// Whether any element of a `u8` mask is set (one host read).
fn any(mask: &Tensor, op: &str) -> Result<bool> {
    let m = mask
        .flatten_all()
        .and_then(|m| m.max(0))
        .and_then(|m| m.to_scalar::<u8>())
        .map_err(wrap(op))?;
    Ok(m != 0)
}

/// Integer division panics in candle's kernels on a zero divisor (and on `MIN / -1`):
/// check on the host first. Only integer division pays this read.
fn check_int_division(a: &Tensor, b: &Tensor) -> Result<()> {
    if b.dtype().is_float() || b.elem_count() == 0 {
        return Ok(());
    }
    let overflow = (a.dtype() == candle_core::DType::I64).then_some(|| {
        let mask = a
            .eq(i64::MIN as f64)
            .and_then(|l| b.eq(-1.0).and_then(|r| l.broadcast_mul(&r)))
            .map_err(wrap("div"))?;
        any(&mask, "div")
    });
    check::check_int_division(|| any(&b.eq(0.0).map_err(wrap("div"))?, "div"), overflow)
}

impl MathOps for Candle {
    engine_ops!(binary binary, Tensor:
        add => broadcast_add,
        sub => broadcast_sub,
        mul => broadcast_mul,
        maximum => broadcast_maximum,
        minimum => broadcast_minimum,
    );

    /// Integer division by zero is an error (checked on the host, integers only).
    fn div(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        same_dtype("div", a, b)?;
        check::check_broadcast("div", a.dims(), b.dims())?;
        check_int_division(a, b)?;
        a.broadcast_div(b).map_err(wrap("div"))
    }

    /// `exp(b * log(a))` (candle's `broadcast_pow`): defined for `a > 0`; a negative base
    /// gives NaN.
    fn pow(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        need_float("pow", "lhs", a)?;
        binary("pow", a, b, |a, b| a.broadcast_pow(b))
    }

    fn affine(t: &Tensor, mul: f64, add: f64) -> Result<Tensor> {
        t.affine(mul, add).map_err(wrap("affine"))
    }

    fn powf(t: &Tensor, exponent: f64) -> Result<Tensor> {
        need_float("powf", "input", t)?;
        t.powf(exponent).map_err(wrap("powf"))
    }

    /// Selects with comparisons, so the gradient is 1 inside `[min, max]` including the
    /// bounds (like torch), where candle's own `clamp` would give 0.5 on them.
    fn clamp(t: &Tensor, min: f64, max: f64) -> Result<Tensor> {
        let op = "clamp";
        let device = Self::tensor_device(t);
        let dtype = Self::dtype(t);
        let lo = Self::full(&[], min, dtype, &device)?
            .broadcast_as(t.shape())
            .map_err(wrap(op))?;
        let hi = Self::full(&[], max, dtype, &device)?
            .broadcast_as(t.shape())
            .map_err(wrap(op))?;
        let below = t.lt(&lo).map_err(wrap(op))?;
        let above = t.gt(&hi).map_err(wrap(op))?;
        let upper = above.where_cond(&hi, t).map_err(wrap(op))?;
        below.where_cond(&lo, &upper).map_err(wrap(op))
    }

    engine_ops!(unary unary, Tensor:
        neg => neg,
        abs => abs,
        exp => exp,
        log => log,
        sqrt => sqrt,
        square => sqr,
        recip => recip,
        sin => sin,
        cos => cos,
        tanh => tanh,
        erf => erf,
    );

    /// candle's `relu` maps NaN to 0 (`max(x, 0)`), which would hide NaN inputs from the
    /// loss and from `TerminateOnNan`; NaN is passed through, as torch and Keras do.
    /// f32/f64 contiguous CPU tensors run the one-pass kernel ([`kernels::act`]).
    fn relu(t: &Tensor) -> Result<Tensor> {
        let op = "relu";
        if kernels::supported(t) && t.is_contiguous() {
            return kernels::act::relu(t).map_err(wrap(op));
        }
        let r = t.relu().map_err(wrap(op))?;
        if !t.dtype().is_float() {
            return Ok(r);
        }
        let nan = t.ne(t).map_err(wrap(op))?;
        nan.where_cond(t, &r).map_err(wrap(op))
    }

    /// candle's `sign`, detached (it has no gradient).
    fn sign(t: &Tensor) -> Result<Tensor> {
        t.sign().map(|s| s.detach()).map_err(wrap("sign"))
    }
}
