//! Metrics as plain functions of whole arrays, like scikit-learn's `accuracy_score` and
//! `f1_score`: [`accuracy_score`], [`f1_score`], [`fbeta_score`], [`mean_absolute_error`],
//! [`mean_squared_error`].

use super::classification::one_hot_if_sparse;
use super::{
    Accuracy, AccuracyKind, F1Average, F1Score, MeanAbsoluteError, MeanSquaredError, Metric,
};
use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// How [`f1_score`] averages its per-class scores (the name scikit-learn uses for
/// [`F1Average`]).
pub type Average = F1Average;

/// The F1 score of predictions against targets, averaged as `average` (scikit-learn's
/// `f1_score(y_true, y_pred.argmax(-1), average=...)`; Keras' `F1Score` with its `1e-7`
/// guards, so a class never predicted nor present scores 0). The targets move to the
/// predictions' device (a model's outputs stay on its device). `y_true`: integer labels
/// `[n]` (or `[n, 1]`) or one-hot rows `[n, classes]`; `y_pred`: scores or probabilities
/// `[n, classes]` (the highest of each row is the predicted class).
///
/// ```
/// use stratanet::metrics::{f1_score, Average};
/// use stratanet::{Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let y = Tensor::<B>::from_vec(vec![0i64, 1, 1], &[3])?;
/// let probs = Tensor::<B>::from_vec(vec![0.9f32, 0.1, 0.2, 0.8, 0.6, 0.4], &[3, 2])?;
/// // class 0: tp 1, fp 1 -> 2/3; class 1: tp 1, fn 1 -> 2/3
/// assert!((f1_score(&y, &probs, Average::Macro)? - 2.0 / 3.0).abs() < 1e-6);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// Shapes that do not fit (naming `f1_score`); a label outside `0..classes`.
pub fn f1_score<B: Backend>(
    y_true: &Tensor<B>,
    y_pred: &Tensor<B>,
    average: Average,
) -> Result<f64> {
    fbeta_score(y_true, y_pred, 1.0, average)
}

/// The F-beta score (Keras' `FBetaScore`, scikit-learn's `fbeta_score`); as [`f1_score`]
/// with `beta` weighing recall `beta` times as much as precision.
///
/// # Errors
/// As [`f1_score`]; a `beta` that is not positive.
pub fn fbeta_score<B: Backend>(
    y_true: &Tensor<B>,
    y_pred: &Tensor<B>,
    beta: f64,
    average: Average,
) -> Result<f64> {
    let name = if beta == 1.0 {
        "f1_score"
    } else {
        "fbeta_score"
    };
    if !(beta > 0.0 && beta.is_finite()) {
        return Err(Error::invalid(
            name,
            "beta",
            format!("must be positive, got {beta}"),
        ));
    }
    check_labels(name, y_true, y_pred)?;
    let y_true = &y_true.to_device(y_pred.device())?;
    let mut m = F1Score::<B>::new(average).beta(beta).named(name);
    m.update(&one_hot_if_sparse(y_true, y_pred)?, y_pred)?;
    m.result()
}

/// The share of correct predictions (scikit-learn's `accuracy_score`). `y_pred` is
/// predicted labels of the same shape as `y_true` (compared exactly), or scores
/// `[n, classes]` against integer labels `[n]`/`[n, 1]` or one-hot `[n, classes]` targets
/// (the highest score is the prediction), or probabilities `[n, 1]` of binary `0/1`
/// targets (thresholded at 0.5).
///
/// ```
/// use stratanet::metrics::accuracy_score;
/// use stratanet::{Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let y = Tensor::<B>::from_vec(vec![0i64, 1, 1, 2], &[4])?;
/// let probs = Tensor::<B>::from_vec(
///     vec![0.8f32, 0.1, 0.1, 0.2, 0.7, 0.1, 0.5, 0.3, 0.2, 0.1, 0.1, 0.8],
///     &[4, 3],
/// )?;
/// assert_eq!(accuracy_score(&y, &probs)?, 0.75);
/// let predicted = Tensor::<B>::from_vec(vec![0i64, 1, 0, 2], &[4])?;
/// assert_eq!(accuracy_score(&y, &predicted)?, 0.75);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// Shapes that do not fit (naming `accuracy_score`); no samples.
pub fn accuracy_score<B: Backend>(y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<f64> {
    const NAME: &str = "accuracy_score";
    let y_true = &y_true.to_device(y_pred.device())?;
    let (t, p) = (y_true.shape(), y_pred.shape());
    if p.first().copied().unwrap_or(0) == 0 {
        return Err(Error::shape(NAME, "y_pred", "at least one sample", &p));
    }
    if t == p && (p.len() == 1 || p[1..].iter().all(|&d| d == 1)) && y_pred.dtype() == DType::I64 {
        let eq = y_pred
            .eq(&y_true.to_dtype(DType::I64)?)?
            .to_dtype(DType::F64)?;
        return eq.mean_all()?.item();
    }
    let kind = match p.as_slice() {
        [_, 1] => AccuracyKind::Binary,
        [_, _] if t == p => AccuracyKind::Categorical,
        [_, _] => AccuracyKind::SparseCategorical,
        _ => {
            return Err(Error::shape(
                NAME,
                "y_pred",
                "labels like y_true, or scores [n, classes]",
                &p,
            ))
        }
    };
    let mut m = Accuracy::<B>::new(kind).named(NAME);
    m.update(y_true, y_pred)?;
    m.result()
}

/// The mean absolute error of predictions against targets of the same number of values
/// (`[n]` against `[n, 1]` is fine), like scikit-learn's `mean_absolute_error`.
///
/// ```
/// use stratanet::metrics::mean_absolute_error;
/// use stratanet::{Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let y = Tensor::<B>::from_vec(vec![1f32, 2.0, 4.0], &[3])?;
/// let p = Tensor::<B>::from_vec(vec![1.5f32, 2.0, 3.0], &[3, 1])?;
/// assert!((mean_absolute_error(&y, &p)? - 0.5).abs() < 1e-7);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// Shapes that do not fit (naming `mean_absolute_error`).
pub fn mean_absolute_error<B: Backend>(y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<f64> {
    let y_true = &y_true.to_device(y_pred.device())?;
    let mut m = MeanAbsoluteError::<B>::new().named("mean_absolute_error");
    m.update(y_true, y_pred)?;
    m.result()
}

/// The mean squared error, as [`mean_absolute_error`] (scikit-learn's
/// `mean_squared_error`).
///
/// # Errors
/// Shapes that do not fit (naming `mean_squared_error`).
pub fn mean_squared_error<B: Backend>(y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<f64> {
    let y_true = &y_true.to_device(y_pred.device())?;
    let mut m = MeanSquaredError::<B>::new().named("mean_squared_error");
    m.update(y_true, y_pred)?;
    m.result()
}

/// Integer labels must lie in `0..classes` (read on the host: the functions are called
/// once on whole arrays).
fn check_labels<B: Backend>(name: &str, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<()> {
    let (t, p) = (y_true.shape(), y_pred.shape());
    if p.len() == 2 && p[1] > 1 && (t == [p[0]] || t == [p[0], 1]) {
        let classes = p[1] as i64;
        if let Some(&bad) = y_true
            .to_vec_f64()?
            .iter()
            .find(|&&l| l < 0.0 || l >= classes as f64 || l.fract() != 0.0)
        {
            return Err(Error::invalid(
                name,
                "y_true",
                format!("label {bad} out of range for {classes} classes (labels must be in 0..{classes})"),
            ));
        }
    }
    Ok(())
}
