//! Device-side running sums shared by the streaming metrics.

use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A running elementwise sum kept on the device in `f64` (detached, so no autograd graph is
/// kept alive). Only [`Sums::read`] copies it to the host.
#[derive(Debug)]
pub(crate) struct Sums<B: Backend> {
    total: Option<Tensor<B>>,
}

impl<B: Backend> Sums<B> {
    pub(crate) fn new() -> Self {
        Self { total: None }
    }

    /// Adds `value` (any shape, fixed across calls).
    pub(crate) fn add(&mut self, value: &Tensor<B>) -> Result<()> {
        let v = value.detach().to_dtype(DType::F64)?;
        self.total = Some(match &self.total {
            Some(t) => t.add(&v)?,
            None => v,
        });
        Ok(())
    }

    /// The sums on the host, `None` before the first update.
    pub(crate) fn read(&self) -> Result<Option<Vec<f64>>> {
        self.total.as_ref().map(|t| t.to_vec_f64()).transpose()
    }

    pub(crate) fn reset(&mut self) {
        self.total = None;
    }
}

/// `a / b`, 0 when `b == 0` (Keras' `divide_no_nan`).
pub(crate) fn div0(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

/// Brings `y_true` to `y_pred`'s shape when they differ only by a trailing axis of 1.
pub(crate) fn align_to<B: Backend>(
    metric: &str,
    y_true: &Tensor<B>,
    y_pred: &Tensor<B>,
) -> Result<Tensor<B>> {
    let (t, p) = (y_true.shape(), y_pred.shape());
    if t == p {
        return Ok(y_true.clone());
    }
    let trailing_one = |a: &[usize], b: &[usize]| {
        a.len() == b.len() + 1 && a.last() == Some(&1) && a[..b.len()] == b[..]
    };
    if trailing_one(&t, &p) || trailing_one(&p, &t) {
        return y_true.reshape_to(&p);
    }
    Err(Error::shape(
        metric,
        "y_true",
        format!("shape {p:?} (as y_pred)"),
        &t,
    ))
}

/// Flattens to `[numel]`.
pub(crate) fn flat<B: Backend>(t: &Tensor<B>) -> Result<Tensor<B>> {
    t.reshape_to(&[t.numel()])
}
