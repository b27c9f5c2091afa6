//! Regression losses (Keras' grouping): mean squared / absolute / percentage / squared
//! logarithmic error, Huber, log-cosh, cosine similarity.

use super::ops::*;
use super::{Loss, Reduced, Reduction, TargetKind, EPSILON};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde_json::json;

/// A hyper-parameter-free loss as a unit struct (config `{}`; another reduction through
/// [`Reduced`]) of `mean(f(y_true - y_pred))` over the last axis.
macro_rules! unit_loss {
    ($(#[$doc:meta])* $t:ident, $name:literal, |$d:ident| $f:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $t;

        impl $t {
            /// This loss with another reduction.
            pub fn reduction(self, reduction: Reduction) -> Reduced<Self> {
                Reduced::new(self, reduction)
            }
        }

        impl<B: Backend> Loss<B> for $t {
            fn name(&self) -> &'static str {
                $name
            }
            fn per_sample(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
                let $d = align($name, y_true, y_pred)?.sub(y_pred)?;
                mean_last(&$f?)
            }
            fn target_kind(&self) -> TargetKind {
                TargetKind::Regression
            }
            fn get_config(&self) -> serde_json::Value {
                json!({})
            }
        }
    };
}

unit_loss!(
    /// Mean squared error: `mean((y_true - y_pred)^2)` over the last axis.
    MeanSquaredError,
    "mean_squared_error",
    |d| d.square()
);

unit_loss!(
    /// Mean absolute error.
    MeanAbsoluteError,
    "mean_absolute_error",
    |d| d.abs()
);

loss! {
    /// Huber loss: `0.5 e^2` where `|e| <= delta`, else `delta * (|e| - 0.5 delta)`.
    pub struct Huber("huber", Regression) new(delta: f64) {
        /// Threshold between the quadratic and linear parts (default 1.0).
        delta: f64 = 1.0,
    }
    |self, y_true, y_pred| {
        let y = align("huber", y_true, y_pred)?;
        let e = y.sub(y_pred)?.abs()?;
        // quad = min(|e|, delta); loss = 0.5 quad^2 + delta * (|e| - quad)
        let quad = e.clamp(0.0, self.delta)?;
        let lin = e.sub(&quad)?;
        let l = quad
            .square()?
            .mul_scalar(0.5)?
            .add(&lin.mul_scalar(self.delta)?)?;
        mean_last(&l)
    }
}

simple_loss!(
    /// Log-cosh: `mean(log(cosh(p - y)))`, computed stably as `x + softplus(-2x) - log 2`.
    ///
    /// ```
    /// use stratanet::{losses::{LogCosh, Loss}, Tensor, DefaultBackend as B};
    /// # fn main() -> stratanet::Result<()> {
    /// let y = Tensor::<B>::from_vec(vec![0.0f32, 0.0], &[2, 1])?;
    /// let p = Tensor::<B>::from_vec(vec![1.0f32, 200.0], &[2, 1])?;
    /// let l = Loss::<B>::call(&LogCosh::new(), &y, &p)?.item()?;
    /// // cosh(200) overflows f32; the stable form gives 200 - ln 2
    /// let want = (1.0f64.cosh().ln() + 200.0 - std::f64::consts::LN_2) / 2.0;
    /// assert!((l - want).abs() < 1e-4);
    /// # Ok(())
    /// # }
    /// ```
    LogCosh,
    "log_cosh",
    Regression,
    |y, p| {
        let x = p.sub(&y)?;
        let l = x
            .add(&x.mul_scalar(-2.0)?.softplus()?)?
            .add_scalar(-std::f64::consts::LN_2)?;
        mean_last(&l)
    }
);

simple_loss!(
    /// Cosine similarity loss: `-sum(l2_normalize(y) * l2_normalize(p))` over the last axis
    /// (so -1 is best, as in Keras); norms are floored at `sqrt(1e-12)`.
    CosineSimilarity,
    "cosine_similarity",
    Regression,
    |y, p| {
        let norm = |t: &Tensor<B>| -> Result<Tensor<B>> {
            let ss = t.square()?.sum(&[-1], true)?.clamp(1e-12, f64::INFINITY)?;
            t.div(&ss.sqrt()?)
        };
        if p.rank() < 2 {
            return Err(Error::shape(
                "cosine_similarity",
                "y_pred",
                "rank >= 2 ([batch, features])".to_string(),
                &p.shape(),
            ));
        }
        per_sample_of(&norm(&y)?.mul(&norm(p)?)?.sum(&[-1], false)?.neg()?)
    }
);

simple_loss!(
    /// Mean absolute percentage error: `100 mean(|y - p| / max(|y|, 1e-7))`.
    MeanAbsolutePercentageError,
    "mean_absolute_percentage_error",
    Regression,
    |y, p| {
        let d = y.sub(p)?.div(&y.abs()?.clamp(EPSILON, f64::INFINITY)?)?;
        mean_last(&d.abs()?.mul_scalar(100.0)?)
    }
);

simple_loss!(
    /// Mean squared logarithmic error: `mean((log(max(p, 1e-7) + 1) - log(max(y, 1e-7) + 1))^2)`.
    MeanSquaredLogarithmicError,
    "mean_squared_logarithmic_error",
    Regression,
    |y, p| {
        let lp = p.clamp(EPSILON, f64::INFINITY)?.add_scalar(1.0)?.log()?;
        let ly = y.clamp(EPSILON, f64::INFINITY)?.add_scalar(1.0)?.log()?;
        mean_last(&lp.sub(&ly)?.square()?)
    }
);
