//! Elementwise arithmetic.

use crate::{check, is_float, kind_of, need_float, same_dtype, wrap, Tch, TchTensor};
use stratanet_frontend::backend::MathOps;
use stratanet_frontend::{engine_ops, Result};
use tch::{Kind, TchError, Tensor};

/// Checks dtypes and broadcastability, then runs a libtorch binary op (which broadcasts).
/// (Comparisons use it too.)
pub(crate) fn binary(
    op: &str,
    a: &TchTensor,
    b: &TchTensor,
    f: impl FnOnce(&Tensor, &Tensor) -> std::result::Result<Tensor, TchError>,
) -> Result<TchTensor> {
    same_dtype(op, a, b)?;
    check::check_broadcast(op, &a.dims(), &b.dims())?;
    f(a, b).map(TchTensor).map_err(wrap(op))
}

/// Runs a libtorch unary op.
fn unary(
    op: &str,
    t: &TchTensor,
    f: impl FnOnce(&Tensor) -> std::result::Result<Tensor, TchError>,
) -> Result<TchTensor> {
    f(t).map(TchTensor).map_err(wrap(op))
}

/// `r` converted back to `kind` when libtorch promoted it (integer tensors with float
/// scalars).
fn keep_kind(op: &str, r: Tensor, kind: Kind) -> Result<TchTensor> {
    if kind_of(&r) == kind {
        Ok(TchTensor(r))
    } else {
        r.f_to_kind(kind).map(TchTensor).map_err(wrap(op))
    }
}

/// Whether any element of a boolean mask is set (one host read).
fn any(mask: &Tensor, op: &str) -> Result<bool> {
    crate::host_reads::note_host_read();
    let v = mask
        .f_any()
        .and_then(|m| m.f_int64_value(&[]))
        .map_err(wrap(op))?;
    Ok(v != 0)
}

/// Integer division by zero (and `i64::MIN / -1`, which traps on x86) is checked on the
/// host first. Only integer division pays this read.
fn check_int_division(a: &Tensor, b: &Tensor) -> Result<()> {
    if b.numel() == 0 {
        return Ok(());
    }
    let overflow = (kind_of(a) == Kind::Int64).then_some(|| {
        let mask = a
            .f_eq(i64::MIN)
            .and_then(|l| b.f_eq(-1).and_then(|r| l.f_logical_and(&r)))
            .map_err(wrap("div"))?;
        any(&mask, "div")
    });
    check::check_int_division(|| any(&b.f_eq(0).map_err(wrap("div"))?, "div"), overflow)
}

impl MathOps for Tch {
    engine_ops!(binary binary, TchTensor:
        add => f_add,
        sub => f_sub,
        mul => f_mul,
        maximum => f_maximum,
        minimum => f_minimum,
    );

    /// Float division is libtorch's; integer division truncates toward zero (like candle
    /// and Rust), and an integer division by zero is an error (checked on the host).
    fn div(a: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        let op = "div";
        same_dtype(op, a, b)?;
        check::check_broadcast(op, &a.dims(), &b.dims())?;
        if is_float(a) {
            return a.f_div(b).map(TchTensor).map_err(wrap(op));
        }
        check_int_division(a, b)?;
        let r = a.f_div_tensor_mode(b, "trunc").map_err(wrap(op))?;
        keep_kind(op, r, kind_of(a))
    }

    /// libtorch's `pow` (a negative base with an integral exponent is defined, unlike the
    /// `exp(b log a)` of candle; the suite uses positive bases).
    fn pow(a: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        need_float("pow", "lhs", a)?;
        binary("pow", a, b, |a, b| a.f_pow(b))
    }

    /// For integer tensors, integral `mul` and `add` stay exact in `i64`; fractional ones
    /// are applied in `f64` and the result truncated back to the tensor's dtype.
    fn affine(t: &TchTensor, mul: f64, add: f64) -> Result<TchTensor> {
        let op = "affine";
        let kind = kind_of(t);
        if is_float(t) {
            return t
                .f_mul_scalar(mul)
                .and_then(|r| r.f_add_scalar(add))
                .map(TchTensor)
                .map_err(wrap(op));
        }
        let integral = |x: f64| x.fract() == 0.0 && x.abs() < 9.0e18;
        let r = if integral(mul) && integral(add) {
            t.f_mul_scalar(mul as i64)
                .and_then(|r| r.f_add_scalar(add as i64))
        } else {
            t.f_to_kind(Kind::Double)
                .and_then(|r| r.f_mul_scalar(mul))
                .and_then(|r| r.f_add_scalar(add))
        }
        .map_err(wrap(op))?;
        keep_kind(op, r, kind)
    }

    fn powf(t: &TchTensor, exponent: f64) -> Result<TchTensor> {
        need_float("powf", "input", t)?;
        unary("powf", t, |t| t.f_pow_tensor_scalar(exponent))
    }

    /// libtorch's `clamp`: the gradient is 1 inside `[min, max]` including the bounds.
    fn clamp(t: &TchTensor, min: f64, max: f64) -> Result<TchTensor> {
        let op = "clamp";
        let r = t.f_clamp(min, max).map_err(wrap(op))?;
        keep_kind(op, r, kind_of(t))
    }

    engine_ops!(unary unary, TchTensor:
        neg => f_neg,
        abs => f_abs,
        exp => f_exp,
        log => f_log,
        sqrt => f_sqrt,
        square => f_square,
        recip => f_reciprocal,
        sin => f_sin,
        cos => f_cos,
        tanh => f_tanh,
        erf => f_erf,
        relu => f_relu,
    );

    /// libtorch's `sign`, detached (it has no gradient).
    fn sign(t: &TchTensor) -> Result<TchTensor> {
        unary("sign", t, |t| t.f_sign().and_then(|s| s.f_detach()))
    }
}
