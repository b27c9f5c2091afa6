//! Focal cross-entropies (Lin et al.): binary and categorical.

use super::ops::*;
use super::{Loss, Reduction, TargetKind, EPSILON};
use crate::backend::Backend;
use crate::error::Result;
use crate::tensor::Tensor;

loss! {
    /// Binary focal cross-entropy (Lin et al.), Keras' `BinaryFocalCrossentropy`:
    /// `(1 - p_t)^gamma * bce`, with `p_t = y p + (1 - y)(1 - p)`, times
    /// `alpha y + (1 - alpha)(1 - y)` when `apply_class_balancing`; mean over the last axis.
    ///
    /// With `from_logits` the cross-entropy term is the stable `softplus(x) - x y`.
    ///
    /// ```
    /// use stratanet::{losses::{BinaryFocalCrossentropy, Loss}, Tensor, DefaultBackend as B};
    /// # fn main() -> stratanet::Result<()> {
    /// let y = Tensor::<B>::from_vec(vec![1.0f32], &[1, 1])?;
    /// let p = Tensor::<B>::from_vec(vec![0.8f32], &[1, 1])?;
    /// let l = Loss::<B>::call(&BinaryFocalCrossentropy::new(), &y, &p)?.item()?;
    /// assert!((l - 0.2f64.powi(2) * -(0.8f64).ln()).abs() < 1e-6);
    /// # Ok(())
    /// # }
    /// ```
    pub struct BinaryFocalCrossentropy("binary_focal_crossentropy", Binary) {
        /// Weight the positive class by `alpha` and the negative by `1 - alpha` (default false).
        apply_class_balancing: bool = false,
        /// Class-balancing weight (default 0.25).
        alpha: f64 = 0.25,
        /// Focusing exponent (default 2).
        gamma: f64 = 2.0,
        /// Whether predictions are logits.
        from_logits: bool = false,
        /// Label smoothing towards 0.5 (default 0).
        label_smoothing: f64 = 0.0,
    }
    |self, y_true, y_pred| {
        let (y, bce) = binary_targets_and_ce(
            "binary_focal_crossentropy",
            y_true,
            y_pred,
            self.from_logits,
            self.label_smoothing,
        )?;
        let p = if self.from_logits {
            y_pred.sigmoid()?
        } else {
            y_pred.clone()
        };
        // 1 - p_t = 1 - (y p + (1 - y)(1 - p)) = y + p - 2 y p
        let one_minus_pt = y.add(&p)?.sub(&y.mul(&p)?.mul_scalar(2.0)?)?;
        let factor = one_minus_pt.clamp(0.0, f64::INFINITY)?.powf(self.gamma)?;
        let mut l = factor.mul(&bce)?;
        if self.apply_class_balancing {
            l = l.mul(&y.affine(2.0 * self.alpha - 1.0, 1.0 - self.alpha)?)?;
        }
        mean_last(&l)
    }
}

impl BinaryFocalCrossentropy {
    /// Sets `apply_class_balancing` and `alpha`.
    pub fn class_balancing(mut self, apply: bool, alpha: f64) -> Self {
        self.apply_class_balancing = apply;
        self.alpha = alpha;
        self
    }
}

loss! {
    /// Categorical focal cross-entropy, Keras' `CategoricalFocalCrossentropy`:
    /// `sum(-alpha (1 - p)^gamma y log p)` over the last axis, `p` renormalised and clipped to
    /// `[1e-7, 1 - 1e-7]` (from logits: `log_softmax`, clipped the same way in log space).
    pub struct CategoricalFocalCrossentropy("categorical_focal_crossentropy", Categorical) {
        /// Weight (default 0.25).
        alpha: f64 = 0.25,
        /// Focusing exponent (default 2).
        gamma: f64 = 2.0,
        /// Whether predictions are logits.
        from_logits: bool = false,
        /// Label smoothing towards uniform (default 0).
        label_smoothing: f64 = 0.0,
    }
    |self, y_true, y_pred| {
        let y = smoothed_one_hot(
            "categorical_focal_crossentropy",
            y_true,
            y_pred,
            self.label_smoothing,
        )?;
        let logp = if self.from_logits {
            y_pred
                .log_softmax(-1)?
                .clamp(EPSILON.ln(), (1.0 - EPSILON).ln())?
        } else {
            categorical_log_probs(y_pred, false)?
        };
        let p = logp.exp()?;
        let w = p
            .affine(-1.0, 1.0)?
            .powf(self.gamma)?
            .mul_scalar(self.alpha)?;
        let l = w.mul(&y)?.mul(&logp)?.sum(&[-1], false)?.neg()?;
        per_sample_of(&l)
    }
}
