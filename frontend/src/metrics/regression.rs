//! Regression metrics: [`MeanAbsoluteError`], [`MeanSquaredError`],
//! [`RootMeanSquaredError`] and [`R2Score`]. Sums live on the device.

use super::state::{align_to, columns, div0, Sums};
use super::{Mean, Metric};
use crate::backend::{Backend, DType};
use crate::error::Result;
use crate::tensor::Tensor;

/// Which error a [`RegressionError`] averages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrorKind {
    Absolute,
    Squared,
    RootSquared,
}

/// Streaming mean of elementwise errors.
#[derive(Debug)]
struct RegressionError<B: Backend> {
    kind: ErrorKind,
    mean: Mean<B>,
}

impl<B: Backend> RegressionError<B> {
    fn update(&mut self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<()> {
        // f64 on the device, so sums do not depend on how the data is batched
        let p = y_pred.detach().to_dtype(DType::F64)?;
        let y = align_to(self.mean.name(), &y_true.detach(), &p)?.to_dtype(DType::F64)?;
        let e = y.sub(&p)?;
        let e = match self.kind {
            ErrorKind::Absolute => e.abs()?,
            _ => e.square()?,
        };
        if e.numel() > 0 {
            self.mean.update_sum(&e.sum_all()?, e.numel() as f64)?;
        }
        Ok(())
    }
    fn result(&self) -> Result<f64> {
        let m = self.mean.result()?;
        Ok(if self.kind == ErrorKind::RootSquared {
            m.sqrt()
        } else {
            m
        })
    }
}

macro_rules! regression_metric {
    ($(#[$doc:meta])* $t:ident, $kind:expr, $name:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $t<B: Backend>(RegressionError<B>);

        impl<B: Backend> Default for $t<B> {
            fn default() -> Self {
                Self::new()
            }
        }

        impl<B: Backend> $t<B> {
            /// An empty metric.
            pub fn new() -> Self {
                Self(RegressionError {
                    kind: $kind,
                    mean: Mean::new($name),
                })
            }
            /// Renames it (`mae`, ...).
            pub fn named(mut self, name: &str) -> Self {
                self.0.mean = Mean::new(name);
                self
            }
        }

        impl<B: Backend> Metric<B> for $t<B> {
            fn name(&self) -> &str {
                self.0.mean.name()
            }
            fn update(&mut self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<()> {
                self.0.update(y_true, y_pred)
            }
            fn result(&self) -> Result<f64> {
                self.0.result()
            }
            fn reset(&mut self) {
                self.0.mean.reset()
            }
        }
    };
}

regression_metric!(
    /// Mean absolute error over every element seen.
    ///
    /// ```
    /// use stratanet::{metrics::{MeanAbsoluteError, Metric}, Tensor, DefaultBackend as B};
    /// # fn main() -> stratanet::Result<()> {
    /// let mut m = MeanAbsoluteError::<B>::new();
    /// let y = Tensor::<B>::from_vec(vec![1.0f32, 2.0], &[2])?;
    /// let p = Tensor::<B>::from_vec(vec![1.5f32, 1.0], &[2, 1])?;
    /// m.update(&y, &p)?;
    /// assert_eq!(m.result()?, 0.75);
    /// # Ok(())
    /// # }
    /// ```
    MeanAbsoluteError,
    ErrorKind::Absolute,
    "mean_absolute_error"
);

regression_metric!(
    /// Mean squared error over every element seen.
    MeanSquaredError,
    ErrorKind::Squared,
    "mean_squared_error"
);

regression_metric!(
    /// Root of the mean squared error over every element seen (not a mean of per-batch
    /// roots).
    RootMeanSquaredError,
    ErrorKind::RootSquared,
    "root_mean_squared_error"
);

/// How [`R2Score`] combines several outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum R2Aggregation {
    /// Plain mean of the per-output scores (Keras' default, `"uniform_average"`).
    #[serde(rename = "uniform_average")]
    UniformAverage,
    /// Mean weighted by each output's variance (`"variance_weighted_average"`).
    #[serde(rename = "variance_weighted_average")]
    VarianceWeighted,
}

/// Coefficient of determination `1 - SS_res / SS_tot` per output (Keras' `R2Score`),
/// from running sums of `y`, `y^2` and squared errors on the device. An output with zero
/// variance scores 1 when predicted exactly, else 0 (scikit-learn's convention).
///
/// ```
/// use stratanet::{metrics::{Metric, R2Score}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut r2 = R2Score::<B>::new();
/// let y = Tensor::<B>::from_vec(vec![1.0f32, 2.0, 3.0], &[3, 1])?;
/// let p = Tensor::<B>::from_vec(vec![1.0f32, 2.0, 4.0], &[3, 1])?;
/// r2.update(&y, &p)?;
/// assert!((r2.result()? - 0.5).abs() < 1e-12);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct R2Score<B: Backend> {
    config: R2ScoreConfig,
    /// `[3, outputs]`: sum y, sum y^2, sum (y - p)^2.
    sums: Sums<B>,
    count: f64,
}

metric_config! {
    /// [`R2Score`]'s hyper-parameters, with Keras' names and defaults.
    pub struct R2ScoreConfig("r2_score") for R2Score {
        /// How outputs are combined (default the uniform average).
        aggregation as "class_aggregation": R2Aggregation = R2Aggregation::UniformAverage,
        /// Adjusted R² for this many regressors: `1 - (1 - r2)(n - 1)/(n - k - 1)` (default
        /// 0: no adjustment).
        num_regressors: usize = 0,
    }
    state { sums: Sums::new(), count: 0.0 }
    new();
    impl Default;
}

impl<B: Backend> Metric<B> for R2Score<B> {
    metric_identity!();
    fn update(&mut self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<()> {
        let expected = "[batch] or [batch, outputs]";
        let (y, p) = columns(&self.config.name, y_true, y_pred, expected)?;
        let y = y.to_dtype(DType::F64)?;
        let p = p.to_dtype(DType::F64)?;
        let sy = y.sum(&[0], false)?;
        let sy2 = y.square()?.sum(&[0], false)?;
        let sse = y.sub(&p)?.square()?.sum(&[0], false)?;
        self.sums.add(&Tensor::concat(&[sy, sy2, sse], 0)?)?;
        self.count += p.shape()[0] as f64;
        Ok(())
    }
    fn result(&self) -> Result<f64> {
        let Some(s) = self.sums.read()? else {
            return Ok(0.0);
        };
        let d = s.len() / 3;
        let n = self.count;
        let mut scores = Vec::with_capacity(d);
        let mut totals = Vec::with_capacity(d);
        for j in 0..d {
            let (sy, sy2, sse) = (s[j], s[d + j], s[2 * d + j]);
            let total = (sy2 - sy * sy / n).max(0.0);
            let score = if total == 0.0 {
                if sse == 0.0 {
                    1.0
                } else {
                    0.0
                }
            } else {
                1.0 - sse / total
            };
            scores.push(score);
            totals.push(total);
        }
        let r2 = match self.config.aggregation {
            R2Aggregation::UniformAverage => scores.iter().sum::<f64>() / d.max(1) as f64,
            R2Aggregation::VarianceWeighted => div0(
                scores.iter().zip(&totals).map(|(s, t)| s * t).sum(),
                totals.iter().sum(),
            ),
        };
        let k = self.config.num_regressors as f64;
        Ok(if k > 0.0 && n - k - 1.0 > 0.0 {
            1.0 - (1.0 - r2) * (n - 1.0) / (n - k - 1.0)
        } else {
            r2
        })
    }
    fn reset(&mut self) {
        self.sums.reset();
        self.count = 0.0;
    }
}
