//! The assertions of the suite: results unwrapped with the op's name, expected errors, and
//! values compared within a tolerance.

use super::{tensor, values};
use crate::backend::{Backend, DType};
use crate::error::Result;

/// Tolerance (absolute plus relative, see [`assert_close`]) for `f32` value tests.
pub const TOL_F32: f64 = 1e-5;
/// Tolerance for `f64` value tests.
pub const TOL_F64: f64 = 1e-10;
/// Tolerance of `bf16` and `f16` value tests, in multiples of the type's machine epsilon
/// ([`DType::epsilon`]: 2^-7 for bf16, 2^-10 for f16). Inputs are rounded to the 16-bit
/// type (up to eps/2 relative each) and the result once more; the suite's sums are short
/// (a few to a few dozen terms, accumulated in f32 by libtorch and by candle's matrix
/// products), so 4 eps covers those roundings: 0.031 for bf16, 0.0039 for f16.
/// [`assert_float`] applies it norm-wise for 16-bit results, `4 eps (1 + max|want|)` on
/// every element, because sums of rounded terms cancel (a convolution output near zero
/// carries the rounding of its largest terms).
pub const HALF_EPS_MULTIPLE: f64 = 4.0;

/// The tolerance of a value test in `dtype`: [`TOL_F32`], [`TOL_F64`], or
/// [`HALF_EPS_MULTIPLE`] times the epsilon of `bf16` / `f16`.
pub fn tolerance(dtype: DType) -> f64 {
    match dtype {
        DType::F64 => TOL_F64,
        DType::BF16 | DType::F16 => HALF_EPS_MULTIPLE * dtype.epsilon().unwrap_or(0.0),
        _ => TOL_F32,
    }
}

/// Unwraps `r`, panicking with the op name and the error.
pub fn ok<T>(op: &str, r: Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{op}: unexpected error: {e}"),
    }
}

/// Asserts that `r` is an error (a bad argument must give `Err`, not a value or a panic).
pub fn assert_err<T: std::fmt::Debug>(op: &str, r: Result<T>) {
    if let Ok(v) = r {
        panic!("{op}: expected an error, got Ok({v:?})");
    }
}

/// Asserts `|got - want| <= tol * (1 + |want|)` elementwise (infinities must match exactly;
/// NaN never passes), naming `op` in the message.
pub fn assert_close(op: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_within(op, got, want, |w| tol * (1.0 + w.abs()), &tol.to_string());
}

/// Asserts `|got - want| <= bound(want)` elementwise (infinities must match exactly; NaN
/// never passes); `tolerance` describes the bound in the message.
fn assert_within(op: &str, got: &[f64], want: &[f64], bound: impl Fn(f64) -> f64, tolerance: &str) {
    assert_eq!(
        got.len(),
        want.len(),
        "{op}: got {} values, expected {}\n got: {got:?}\nwant: {want:?}",
        got.len(),
        want.len()
    );
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let close = if w.is_infinite() {
            g == w
        } else {
            (g - w).abs() <= bound(w)
        };
        assert!(
            close,
            "{op}: element {i}: got {g}, expected {w} (tolerance {tolerance})\n got: {got:?}\nwant: {want:?}"
        );
    }
}

/// Asserts a tensor's shape and (all-close) values.
pub fn assert_tensor<B: Backend>(op: &str, t: &B::Tensor, shape: &[usize], want: &[f64], tol: f64) {
    assert_eq!(B::shape(t), shape, "{op}: shape");
    assert_close(op, &values::<B>(t), want, tol);
}

/// Asserts a tensor's shape, dtype and values, within [`tolerance`] of the dtype.
pub fn assert_float<B: Backend>(
    op: &str,
    t: &B::Tensor,
    dtype: DType,
    shape: &[usize],
    want: &[f64],
) {
    assert_eq!(B::dtype(t), dtype, "{op}: dtype");
    if dtype.is_half() {
        // The inputs were rounded to 16 bits before the op, and sums of rounded terms
        // cancel: the bound is norm-wise, scaled by the largest expected magnitude.
        assert_eq!(B::shape(t), shape, "{op}: shape");
        let scale = want
            .iter()
            .filter(|w| w.is_finite())
            .fold(0.0f64, |m, w| m.max(w.abs()));
        let bound = tolerance(dtype) * (1.0 + scale);
        assert_within(
            op,
            &values::<B>(t),
            want,
            |_| bound,
            &format!("{bound} (norm-wise)"),
        );
        return;
    }
    assert_tensor::<B>(op, t, shape, want, tolerance(dtype));
}

/// The float dtypes a value check runs in: `f32`, `f64`, then the 16-bit `bf16` and `f16`
/// (within [`tolerance`]).
pub const FLOATS: [DType; 4] = [DType::F32, DType::F64, DType::BF16, DType::F16];

/// `f32` and `f64` only: optimizer updates, which always run on `f32` variables (a mixed
/// precision policy keeps variables in `f32`), and finite-difference gradient checks.
pub const WIDE_FLOATS: [DType; 2] = [DType::F32, DType::F64];

/// Host values and the shape of the tensor they make, an input of [`check_op`].
pub type Operand<'a> = (&'a [f64], &'a [usize]);

/// Checks an op on fixed inputs: for each of `dtypes`, `f` of `inputs` made tensors of that
/// dtype must give a tensor of that dtype with `shape` and the values `want` (see
/// [`assert_float`]). `op` names the check in messages.
pub fn check_op<B: Backend>(
    op: &str,
    dtypes: &[DType],
    inputs: &[Operand],
    shape: &[usize],
    want: &[f64],
    f: impl Fn(&[B::Tensor]) -> Result<B::Tensor>,
) {
    for &dtype in dtypes {
        let ts: Vec<B::Tensor> = inputs
            .iter()
            .map(|&(v, s)| tensor::<B>(v, s, dtype))
            .collect();
        let name = format!("{op} ({dtype})");
        let out = ok(&name, f(&ts));
        assert_float::<B>(&name, &out, dtype, shape, want);
    }
}
