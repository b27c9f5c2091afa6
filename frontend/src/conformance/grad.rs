//! Gradient checks: analytic gradients against central finite differences on the host.

use super::{assert_close, f64s, ok, pseudo, tensor, values};
use crate::backend::Backend;
use crate::error::Result;

/// Tolerance of [`check_grad`]: `|analytic - numeric| <= GRAD_TOL * (1 + |numeric|)`.
pub const GRAD_TOL: f64 = 1e-6;
/// Step of the central finite differences in [`check_grad`].
pub const FD_STEP: f64 = 1e-5;

/// Gradient check of `f` at `inputs` (values and shapes, made `f64`).
///
/// The analytic side makes each input a parameter with
/// [`AutogradOps::param`](crate::backend::AutogradOps::param), builds the scalar
/// `sum(f(inputs) * w)` for fixed, unequal weights `w`, and asks
/// [`AutogradOps::grad`](crate::backend::AutogradOps::grad). The numeric side perturbs each
/// input element by `±FD_STEP` on the host, evaluates `f` on plain tensors and forms the same
/// weighted sum on the host. A missing gradient counts as zeros.
pub fn check_grad<B: Backend>(
    op: &str,
    inputs: &[(Vec<f64>, Vec<usize>)],
    f: impl Fn(&[B::Tensor]) -> Result<B::Tensor>,
) {
    let params: Vec<B::Tensor> = inputs
        .iter()
        .map(|(v, s)| ok(op, B::param(&f64s::<B>(v, s))))
        .collect();
    let out = ok(op, f(&params));
    let out_shape = B::shape(&out);
    let n_out: usize = out_shape.iter().product();
    let w: Vec<f64> = (0..n_out)
        .map(|k| 0.5 + ((k * 7) % 11) as f64 / 10.0)
        .collect();
    let wt = tensor::<B>(&w, &out_shape, B::dtype(&out));
    let axes: Vec<usize> = (0..out_shape.len()).collect();
    let loss = ok(op, B::sum(&ok(op, B::mul(&out, &wt)), &axes, false));
    let grads = ok(&format!("{op}: grad"), B::grad(&loss, &params));
    assert_eq!(
        grads.len(),
        params.len(),
        "{op}: grad returned the wrong count"
    );

    let eval = |vals: &[Vec<f64>]| -> f64 {
        let ts: Vec<B::Tensor> = vals
            .iter()
            .zip(inputs)
            .map(|(v, (_, s))| f64s::<B>(v, s))
            .collect();
        let o = ok(op, f(&ts));
        values::<B>(&o).iter().zip(&w).map(|(a, b)| a * b).sum()
    };
    let base: Vec<Vec<f64>> = inputs.iter().map(|(v, _)| v.clone()).collect();
    for (i, (v, s)) in inputs.iter().enumerate() {
        let analytic = match &grads[i] {
            Some(g) => {
                assert_eq!(B::shape(g), *s, "{op}: gradient {i} shape");
                values::<B>(g)
            }
            None => vec![0.0; v.len()],
        };
        let mut numeric = Vec::with_capacity(v.len());
        for j in 0..v.len() {
            let mut plus = base.clone();
            plus[i][j] += FD_STEP;
            let mut minus = base.clone();
            minus[i][j] -= FD_STEP;
            numeric.push((eval(&plus) - eval(&minus)) / (2.0 * FD_STEP));
        }
        assert_close(
            &format!("{op}: gradient of input {i} (analytic vs finite differences)"),
            &analytic,
            &numeric,
            GRAD_TOL,
        );
    }
}

/// Shorthand for a [`check_grad`] input: `values` with `shape`.
pub fn input(shape: &[usize], values: Vec<f64>) -> (Vec<f64>, Vec<usize>) {
    assert_eq!(
        values.len(),
        shape.iter().product::<usize>(),
        "input: element count"
    );
    (values, shape.to_vec())
}

/// A [`check_grad`] input of `shape` holding [`pseudo`] values from `seed`.
pub fn pseudo_input(shape: &[usize], seed: u64) -> (Vec<f64>, Vec<usize>) {
    input(shape, pseudo(shape.iter().product(), seed))
}
