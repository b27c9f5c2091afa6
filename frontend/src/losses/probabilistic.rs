//! Probabilistic losses: binary, categorical and sparse categorical cross-entropy,
//! Kullback-Leibler divergence, Poisson.

use super::ops::*;
use super::{Loss, Reduction, TargetKind, EPSILON};
use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

loss! {
    /// Binary cross-entropy over independent 0/1 targets.
    ///
    /// With `from_logits`, uses `softplus(x) - x * y` (stable for any logit); otherwise clips
    /// probabilities to `[1e-7, 1 - 1e-7]` like Keras. `label_smoothing` moves the targets
    /// towards 0.5: `y * (1 - s) + 0.5 s`.
    pub struct BinaryCrossentropy("binary_crossentropy", Binary) {
        /// Whether predictions are logits rather than probabilities.
        from_logits: bool = false,
        /// Label smoothing in `[0, 1]` (default 0).
        label_smoothing: f64 = 0.0,
    }
    |self, y_true, y_pred| {
        let (_, bce) = binary_targets_and_ce(
            "binary_crossentropy",
            y_true,
            y_pred,
            self.from_logits,
            self.label_smoothing,
        )?;
        mean_last(&bce)
    }
}

loss! {
    /// Categorical cross-entropy against one-hot (or soft) targets over the last axis.
    ///
    /// `label_smoothing` mixes the targets with the uniform distribution:
    /// `y * (1 - s) + s / num_classes`.
    pub struct CategoricalCrossentropy("categorical_crossentropy", Categorical) {
        /// Whether predictions are logits.
        from_logits: bool = false,
        /// Label smoothing in `[0, 1]` (default 0).
        label_smoothing: f64 = 0.0,
    }
    |self, y_true, y_pred| {
        let y = smoothed_one_hot("categorical_crossentropy", y_true, y_pred, self.label_smoothing)?;
        let logp = categorical_log_probs(y_pred, self.from_logits)?;
        let l = y.mul(&logp)?.sum(&[-1], false)?.neg()?;
        per_sample_of(&l)
    }
}

loss! {
/// Categorical cross-entropy against integer labels (`[N]` or `[N, 1]`, any numeric dtype).
///
/// ```
/// use stratanet::{losses::{Loss, SparseCategoricalCrossentropy}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let logits = Tensor::<B>::from_vec(vec![0.0f32, 0.0, 1000.0, 0.0], &[2, 2])?;
/// let labels = Tensor::<B>::from_vec(vec![1i64, 0], &[2])?;
/// let loss = SparseCategoricalCrossentropy::new().from_logits(true);
/// // sample 0: ln 2; sample 1: logits [1000, 0] with label 0 -> 0 (no overflow)
/// let l = Loss::<B>::call(&loss, &labels, &logits)?.item()?;
/// assert!((l - std::f64::consts::LN_2 / 2.0).abs() < 1e-6);
/// let bad = Tensor::<B>::from_vec(vec![1i64, 5], &[2])?;
/// assert!(Loss::<B>::call(&loss, &bad, &logits).is_err());
/// # Ok(())
/// # }
/// ```
///
/// Like Keras 3, it has no `label_smoothing` (use [`CategoricalCrossentropy`] with one-hot
/// targets for that).
pub struct SparseCategoricalCrossentropy("sparse_categorical_crossentropy", SparseCategorical) {
    /// Whether predictions are logits.
    from_logits: bool = false,
}
|self, y_true, y_pred| {
    self.values(y_true, y_pred, false)
}
    /// The labels are known to be in range: the engine's in-range kernels, without their
    /// device read.
    fn per_sample_checked(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        self.values(y_true, y_pred, true)
    }
    fn check_targets(&self, y_true: &Tensor<B>, pred_shape: &[usize]) -> Result<()> {
        let mut shape = pred_shape.to_vec();
        if let Some(first) = shape.first_mut() {
            *first = y_true.shape().first().copied().unwrap_or(0);
        }
        let labels = Self::labels(y_true, &shape)?;
        let classes = shape.get(1).copied().unwrap_or(0);
        if let Some(&bad) = labels
            .to_vec_i64()?
            .iter()
            .find(|&&l| l < 0 || l as usize >= classes)
        {
            return Err(Error::LabelOutOfRange {
                context: "sparse_categorical_crossentropy".into(),
                label: bad,
                num_classes: classes,
            });
        }
        Ok(())
    }}

impl SparseCategoricalCrossentropy {
    fn labels<B: Backend>(y_true: &Tensor<B>, pred_shape: &[usize]) -> Result<Tensor<B>> {
        let t = y_true.shape();
        let n = pred_shape.first().copied().unwrap_or(0);
        let ok = pred_shape.len() == 2
            && ((t.len() == 1 && t[0] == n) || (t.len() == 2 && t[0] == n && t[1] == 1));
        if !ok {
            return Err(Error::shape(
                "sparse_categorical_crossentropy",
                "y_true",
                format!(
                    "integer labels of shape [{n}] or [{n}, 1] for y_pred of shape {pred_shape:?}"
                ),
                &t,
            ));
        }
        y_true.reshape_to(&[n])?.to_dtype(DType::I64)
    }

    /// Per-sample losses; `in_range`: the labels were checked by `check_targets`.
    fn values<B: Backend>(
        &self,
        y_true: &Tensor<B>,
        y_pred: &Tensor<B>,
        in_range: bool,
    ) -> Result<Tensor<B>> {
        let labels = Self::labels(y_true, &y_pred.shape())?;
        if self.from_logits {
            let (l, y) = (y_pred.inner(), labels.inner());
            return Ok(Tensor::new(if in_range {
                B::sparse_softmax_cross_entropy_in_range(l, y)?
            } else {
                B::sparse_softmax_cross_entropy(l, y)?
            }));
        }
        let n = labels.shape()[0];
        let p = y_pred.div(&y_pred.sum(&[-1], true)?)?;
        let logp = p.clamp(EPSILON, 1.0 - EPSILON)?.log()?;
        let idx = labels.reshape_to(&[n, 1])?;
        let picked = if in_range {
            Tensor::new(B::gather_in_range(logp.inner(), idx.inner(), 1)?)
        } else {
            logp.gather(&idx, 1)?
        };
        picked.reshape_to(&[n])?.neg()
    }
}

simple_loss!(
    /// Kullback-Leibler divergence: `sum(y log(y / p))` over the last axis, both clipped to
    /// `[1e-7, 1]` (Keras).
    ///
    /// ```
    /// use stratanet::{losses::{KLDivergence, Loss}, Tensor, DefaultBackend as B};
    /// # fn main() -> stratanet::Result<()> {
    /// let y = Tensor::<B>::from_vec(vec![0.5f32, 0.5], &[1, 2])?;
    /// let p = Tensor::<B>::from_vec(vec![0.25f32, 0.75], &[1, 2])?;
    /// let l = Loss::<B>::call(&KLDivergence::new(), &y, &p)?.item()?;
    /// let want = 0.5 * (2.0f64).ln() + 0.5 * (0.5f64 / 0.75).ln();
    /// assert!((l - want).abs() < 1e-6);
    /// # Ok(())
    /// # }
    /// ```
    KLDivergence,
    "kl_divergence",
    Categorical,
    |y, p| {
        let y = y.clamp(EPSILON, 1.0)?;
        let p = p.clamp(EPSILON, 1.0)?;
        sum_last(&y.mul(&y.log()?.sub(&p.log()?)?)?)
    }
);

simple_loss!(
    /// Poisson: `mean(p - y log(p + 1e-7))` over the last axis (Keras; torch's
    /// `poisson_nll_loss(log_input=False)` up to its `eps`).
    Poisson,
    "poisson",
    Regression,
    |y, p| { mean_last(&p.sub(&y.mul(&p.add_scalar(EPSILON)?.log()?)?)?) }
);
