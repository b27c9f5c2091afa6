//! The assertions of the suite: results unwrapped with the op's name, expected errors, and
//! values compared within a tolerance.

use super::{tensor, values};
use crate::backend::{Backend, DType};
use crate::error::Result;

/// Tolerance (absolute plus relative, see [`assert_close`]) for `f32` value tests.
pub const TOL_F32: f64 = 1e-5;
/// Tolerance for `f64` value tests.
pub const TOL_F64: f64 = 1e-10;

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
            (g - w).abs() <= tol * (1.0 + w.abs())
        };
        assert!(
            close,
            "{op}: element {i}: got {g}, expected {w} (tolerance {tol})\n got: {got:?}\nwant: {want:?}"
        );
    }
}

/// Asserts a tensor's shape and (all-close) values.
pub fn assert_tensor<B: Backend>(op: &str, t: &B::Tensor, shape: &[usize], want: &[f64], tol: f64) {
    assert_eq!(B::shape(t), shape, "{op}: shape");
    assert_close(op, &values::<B>(t), want, tol);
}

/// Asserts a tensor's shape, dtype and values, for `f32` (tolerance [`TOL_F32`]) or `f64`
/// ([`TOL_F64`]) tensors.
pub fn assert_float<B: Backend>(
    op: &str,
    t: &B::Tensor,
    dtype: DType,
    shape: &[usize],
    want: &[f64],
) {
    assert_eq!(B::dtype(t), dtype, "{op}: dtype");
    let tol = if dtype == DType::F64 {
        TOL_F64
    } else {
        TOL_F32
    };
    assert_tensor::<B>(op, t, shape, want, tol);
}

/// The float dtypes a value check runs in: `f32`, then `f64`.
pub const FLOATS: [DType; 2] = [DType::F32, DType::F64];

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
