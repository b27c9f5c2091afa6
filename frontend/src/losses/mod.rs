//! Losses (Keras names, formulas and defaults), computed in numerically stable ways.
//!
//! A loss returns one value per sample ([`Loss::per_sample`]); [`Loss::call`] reduces them
//! with the loss' [`Reduction`] (Keras' default `sum_over_batch_size`: the mean), and
//! [`Loss::call_weighted`] weights them by a `sample_weight` first, as Keras'
//! `reduce_weighted_values` does.
//!
//! ```
//! use stratanet::{losses::{Loss, MeanSquaredError, Reduction}, Tensor, DefaultBackend as B};
//! # fn main() -> stratanet::Result<()> {
//! let y = Tensor::<B>::from_vec(vec![0.0f32, 0.0, 0.0], &[3, 1])?;
//! let p = Tensor::<B>::from_vec(vec![1.0f32, 2.0, 3.0], &[3, 1])?;
//! let w = Tensor::<B>::from_vec(vec![1.0f32, 0.0, 2.0], &[3])?;
//! // sum_over_batch_size: (1*1 + 0*4 + 2*9) / 3
//! let l = Loss::<B>::call_weighted(&MeanSquaredError, &y, &p, Some(&w))?.item()?;
//! assert!((l - 19.0 / 3.0).abs() < 1e-6);
//! let sum = MeanSquaredError.reduction(Reduction::Sum);
//! assert!((Loss::<B>::call_weighted(&sum, &y, &p, Some(&w))?.item()? - 19.0).abs() < 1e-6);
//! # Ok(())
//! # }
//! ```

#[macro_use]
mod simple;
mod focal;
mod hinge;
mod ops;
mod probabilistic;
mod reduction;
mod registry;
mod regression;

pub use focal::{BinaryFocalCrossentropy, CategoricalFocalCrossentropy};
pub use hinge::{CategoricalHinge, Hinge, SquaredHinge};
pub(crate) use ops::align;
pub use probabilistic::{
    BinaryCrossentropy, CategoricalCrossentropy, KLDivergence, Poisson,
    SparseCategoricalCrossentropy,
};
pub use reduction::{reduce_weighted_values, Reduced, Reduction};
pub use registry::{from_config, get, IntoLoss, LOSS_NAMES};
pub use regression::{
    CosineSimilarity, Huber, LogCosh, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredError, MeanSquaredLogarithmicError,
};

use crate::backend::{Backend, DType};
use crate::error::Result;
use crate::tensor::Tensor;

/// Keras' fuzz factor for clipping probabilities.
pub const EPSILON: f64 = 1e-7;

/// What kind of targets a loss expects (used to pick the right `"accuracy"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// 0/1 targets per output unit.
    Binary,
    /// One-hot (or soft) class distributions.
    Categorical,
    /// Integer class labels.
    SparseCategorical,
    /// Real-valued targets.
    Regression,
}

/// A loss function.
///
/// ## Design
/// A loss only defines [`Loss::per_sample`]; reductions and sample weights are shared
/// provided methods, so every loss (custom ones included) gets Keras' `reduction` and
/// `sample_weight` semantics.
pub trait Loss<B: Backend>: Send + Sync + std::fmt::Debug {
    /// Keras name (`sparse_categorical_crossentropy`).
    fn name(&self) -> &'static str;
    /// Per-sample loss, shape `[batch]`.
    ///
    /// # Errors
    /// [`Error::Shape`](crate::error::Error::Shape) when `y_true` and `y_pred` do not fit
    /// together.
    fn per_sample(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>>;
    /// [`Loss::per_sample`] for targets that [`Loss::check_targets`] has already accepted:
    /// `fit` and `evaluate` check all their targets once before the first batch and then
    /// call this per batch, so a loss may skip per-batch checks that read from the device
    /// (the sparse losses' label range check, a synchronisation per batch on CUDA). A
    /// wrapping loss forwards it. The default is [`Loss::per_sample`].
    ///
    /// # Errors
    /// As [`Loss::per_sample`], less what `check_targets` covers.
    fn per_sample_checked(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        self.per_sample(y_true, y_pred)
    }
    /// The kind of targets expected.
    fn target_kind(&self) -> TargetKind;
    /// Hyper-parameters as JSON.
    fn get_config(&self) -> serde_json::Value;

    /// The reduction [`Loss::call`] applies (default `sum_over_batch_size`, the mean).
    fn reduction(&self) -> Reduction {
        Reduction::SumOverBatchSize
    }

    /// The per-sample losses reduced with [`Loss::reduction`]: a scalar, except with
    /// [`Reduction::None`] (shape `[batch]`).
    ///
    /// # Errors
    /// As [`Loss::per_sample`], plus
    /// [`Error::LabelOutOfRange`](crate::error::Error::LabelOutOfRange) for bad sparse
    /// labels.
    fn call(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        self.call_weighted(y_true, y_pred, None)
    }

    /// Like [`Loss::call`], with optional per-sample weights (`[batch]`, `[batch, 1]` or a
    /// scalar) applied as Keras' `reduce_weighted_values` does: `sum_over_batch_size` is
    /// `sum(l * w) / batch`, `mean_with_sample_weight` is `sum(l * w) / sum(w)`.
    ///
    /// # Errors
    /// As [`Loss::call`], plus [`Error::Shape`](crate::error::Error::Shape) for weights of
    /// the wrong shape.
    fn call_weighted(
        &self,
        y_true: &Tensor<B>,
        y_pred: &Tensor<B>,
        sample_weight: Option<&Tensor<B>>,
    ) -> Result<Tensor<B>> {
        self.check_targets(y_true, &y_pred.shape())?;
        let values = self.per_sample(y_true, y_pred)?;
        reduce_weighted_values(&values, sample_weight, self.reduction())
    }

    /// Validates a whole target tensor against the prediction shape once (reads labels to
    /// the host for sparse losses). `fit`/`evaluate` call it before the batch loop so the
    /// loop itself needs no host sync.
    ///
    /// # Errors
    /// [`Error::LabelOutOfRange`](crate::error::Error::LabelOutOfRange) or
    /// [`Error::Shape`](crate::error::Error::Shape).
    fn check_targets(&self, _y_true: &Tensor<B>, _pred_shape: &[usize]) -> Result<()> {
        Ok(())
    }

    /// The dtype targets are converted to before training (`I64` for sparse labels).
    fn target_dtype(&self, model_dtype: DType) -> DType {
        match self.target_kind() {
            TargetKind::SparseCategorical => DType::I64,
            _ => model_dtype,
        }
    }
}
