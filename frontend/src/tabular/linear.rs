//! [`LinearRegression`]: the ordinary least-squares baseline of a tabular regression
//! (scikit-learn's `LinearRegression`), solved on the host in `f64`.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Ridge added to the diagonal of the normal equations: it keeps them solvable where
/// columns are collinear (one-hot columns with the intercept) and, that small, changes no
/// prediction of a well-posed fit noticeably (scikit-learn's `lstsq` gives the
/// minimum-norm solution there; both predict the same).
const RIDGE: f64 = 1e-6;

/// An ordinary least-squares fit `y ≈ x · w + b` (scikit-learn's `LinearRegression`, the
/// usual baseline of a tabular regression), by the normal equations in `f64`.
///
/// ```
/// use stratanet::tabular::LinearRegression;
/// use stratanet::{Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// // y = 2 x0 - x1 + 3
/// let x = Tensor::<B>::from_vec(vec![0f32, 0.0, 1.0, 0.0, 0.0, 1.0, 2.0, 3.0], &[4, 2])?;
/// let y = Tensor::<B>::from_vec(vec![3f32, 5.0, 2.0, 4.0], &[4])?;
/// let fit = LinearRegression::fit(&x, &y)?;
/// assert!((fit.intercept() - 3.0).abs() < 1e-4 && (fit.coef()[0] - 2.0).abs() < 1e-4);
/// let pred = fit.predict(&Tensor::<B>::from_vec(vec![1f32, 1.0], &[1, 2])?)?;
/// assert!((pred.to_vec_f32()?[0] - 4.0).abs() < 1e-4);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LinearRegression {
    coef: Vec<f64>,
    intercept: f64,
}

impl LinearRegression {
    /// Fits `x` (`[n, d]`) to the targets `y` (`[n]` or `[n, 1]`).
    ///
    /// # Errors
    /// [`Error::Shape`] for `x` not of rank 2, `y` not of `n` values, no rows; engine
    /// errors reading the tensors.
    pub fn fit<B: Backend>(x: &Tensor<B>, y: &Tensor<B>) -> Result<Self> {
        const CTX: &str = "LinearRegression::fit";
        let s = x.shape();
        let [n, d] = s[..] else {
            return Err(Error::shape(CTX, "x", "[samples, features]", &s));
        };
        if n == 0 {
            return Err(Error::shape(CTX, "x", "at least one row", &s));
        }
        if y.numel() != n || y.shape().iter().skip(1).any(|&k| k != 1) {
            return Err(Error::shape(
                CTX,
                "y",
                format!("[{n}] or [{n}, 1]"),
                &y.shape(),
            ));
        }
        let (x, y) = (x.to_vec_f64()?, y.to_vec_f64()?);
        let k = d + 1;
        let row = |i: usize| x[i * d..(i + 1) * d].iter().copied().chain([1.0]);
        // [X^T X + ridge I | X^T y], with the intercept as the last column.
        let mut a = vec![vec![0.0f64; k + 1]; k];
        for (i, &yi) in y.iter().enumerate() {
            let r: Vec<f64> = row(i).collect();
            for (p, ap) in a.iter_mut().enumerate() {
                for (q, &rq) in r.iter().enumerate() {
                    ap[q] += r[p] * rq;
                }
                ap[k] += r[p] * yi;
            }
        }
        for (p, ap) in a.iter_mut().enumerate() {
            ap[p] += RIDGE;
        }
        // Gauss-Jordan elimination with partial pivoting.
        for c in 0..k {
            let pivot = (c..k)
                .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
                .unwrap_or(c);
            a.swap(c, pivot);
            let pr = a[c].clone();
            if pr[c] == 0.0 || !pr[c].is_finite() {
                return Err(Error::invalid(
                    CTX,
                    "x",
                    format!("the normal equations are singular or not finite at column {c}"),
                ));
            }
            for (r, ar) in a.iter_mut().enumerate() {
                if r != c {
                    let f = ar[c] / pr[c];
                    for (v, &pv) in ar[c..].iter_mut().zip(&pr[c..]) {
                        *v -= f * pv;
                    }
                }
            }
        }
        let w: Vec<f64> = (0..k).map(|i| a[i][k] / a[i][i]).collect();
        Ok(LinearRegression {
            coef: w[..d].to_vec(),
            intercept: w[d],
        })
    }

    /// The weight of each feature.
    pub fn coef(&self) -> &[f64] {
        &self.coef
    }

    /// The constant term.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// Predictions `[n, 1]` (`f32`, on `x`'s device) for the rows of `x` (`[n, d]`).
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` is not `[n, d]` with the `d` of the fit.
    pub fn predict<B: Backend>(&self, x: &Tensor<B>) -> Result<Tensor<B>> {
        let s = x.shape();
        let d = self.coef.len();
        let [n, dx] = s[..] else {
            return Err(Error::shape(
                "LinearRegression::predict",
                "x",
                format!("[samples, {d}]"),
                &s,
            ));
        };
        if dx != d {
            return Err(Error::shape(
                "LinearRegression::predict",
                "x",
                format!("[samples, {d}]"),
                &s,
            ));
        }
        let device = x.device();
        let x = x.to_vec_f64()?;
        let pred: Vec<f32> = (0..n)
            .map(|i| {
                let dot: f64 = x[i * d..(i + 1) * d]
                    .iter()
                    .zip(&self.coef)
                    .map(|(a, b)| a * b)
                    .sum();
                (dot + self.intercept) as f32
            })
            .collect();
        Tensor::from_vec_on(pred, &[n, 1], device)
    }
}
