//! Numpy broadcasting on the host: the reference of every broadcasting binary op and the
//! shape pairs each one is checked on.

use super::{assert_tensor, ok, tensor, tolerance, values};
use crate::backend::{Backend, DType};
use crate::error::Result;

/// The numpy broadcast of two shapes (the engines' own check, re-exported here).
pub use crate::backend::check::broadcast_shape;

/// Row-major strides of a shape.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The flat index into a tensor of `in_shape` that broadcasts to position `out_index` (a
/// multi-index into the broadcast shape).
pub fn broadcast_source(out_index: &[usize], in_shape: &[usize]) -> usize {
    let offset = out_index.len() - in_shape.len();
    let st = strides(in_shape);
    in_shape
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            if d == 1 {
                0
            } else {
                out_index[i + offset] * st[i]
            }
        })
        .sum()
}

/// The multi-index of flat position `flat` in `shape`.
pub fn unravel(flat: usize, shape: &[usize]) -> Vec<usize> {
    let st = strides(shape);
    shape
        .iter()
        .enumerate()
        .map(|(i, &d)| (flat / st[i]) % d.max(1))
        .collect()
}

/// Host reference of an elementwise broadcasting binary op.
pub fn host_binary(
    a: &[f64],
    sa: &[usize],
    b: &[f64],
    sb: &[usize],
    f: impl Fn(f64, f64) -> f64,
) -> (Vec<f64>, Vec<usize>) {
    let shape = broadcast_shape(sa, sb).expect("host_binary: incompatible shapes");
    let n: usize = shape.iter().product();
    let out = (0..n)
        .map(|k| {
            let idx = unravel(k, &shape);
            f(a[broadcast_source(&idx, sa)], b[broadcast_source(&idx, sb)])
        })
        .collect();
    (out, shape)
}

/// Shape pairs every broadcasting binary op is checked on.
pub const BROADCAST_CASES: &[(&[usize], &[usize])] = &[
    (&[2, 3], &[2, 3]),
    (&[2, 3], &[3]),
    (&[3], &[2, 3]),
    (&[2, 1], &[1, 3]),
    (&[], &[2, 3]),
    (&[2, 3], &[]),
    (&[2, 1, 3], &[4, 1]),
];

/// Checks a broadcasting binary op on every pair of [`BROADCAST_CASES`] in `dtype`, against
/// the host function `f` (inputs from `gen(n, seed)`).
pub fn check_broadcast<B: Backend>(
    op: &str,
    dtype: DType,
    gen: impl Fn(usize, u64) -> Vec<f64>,
    b_op: impl Fn(&B::Tensor, &B::Tensor) -> Result<B::Tensor>,
    f: impl Fn(f64, f64) -> f64,
) {
    for (case, &(sa, sb)) in BROADCAST_CASES.iter().enumerate() {
        let na: usize = sa.iter().product();
        let nb: usize = sb.iter().product();
        let a = gen(na, 100 + case as u64);
        let b = gen(nb, 200 + case as u64);
        let ta = tensor::<B>(&a, sa, dtype);
        let tb = tensor::<B>(&b, sb, dtype);
        // Expected values from the inputs as the engine holds them (after rounding to dtype).
        let a = values::<B>(&ta);
        let b = values::<B>(&tb);
        let (want, shape) = host_binary(&a, sa, &b, sb, &f);
        let name = format!("{op} {sa:?} with {sb:?} ({dtype})");
        let out = ok(&name, b_op(&ta, &tb));
        let tol = tolerance(dtype);
        assert_tensor::<B>(&name, &out, &shape, &want, tol);
    }
}
