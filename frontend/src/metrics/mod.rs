//! Streaming metrics: `update` per batch (on the device, no host sync), `result` when the
//! progress line or the epoch end needs a number, `reset` between epochs.
//!
//! Accuracy ([`Accuracy`], [`TopKAccuracy`]), confusion-count metrics ([`Precision`],
//! [`Recall`], [`AUC`], [`F1Score`], [`MeanIoU`]) and regression metrics
//! ([`MeanAbsoluteError`], [`MeanSquaredError`], [`RootMeanSquaredError`], [`R2Score`])
//! keep their state as device tensors; only `result` reads it. [`get`] builds one by
//! Keras name; [`MetricSpec`] is a name or a ready metric object.

#[macro_use]
mod state;
mod classification;
mod confusion;
mod functional;
mod regression;

pub use classification::{
    F1Average, F1Score, F1ScoreConfig, MeanIoU, MeanIoUConfig, MeanIou, TopKAccuracy,
};
pub use confusion::{
    AUCConfig, Auc, Confusion, Curve, Precision, PrecisionConfig, Recall, RecallConfig, Summation,
    AUC,
};
pub use functional::{
    accuracy_score, f1_score, fbeta_score, mean_absolute_error, mean_squared_error, Average,
};
pub use regression::{
    MeanAbsoluteError, MeanSquaredError, R2Aggregation, R2Score, R2ScoreConfig,
    RootMeanSquaredError,
};

use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::losses::TargetKind;
use crate::tensor::Tensor;

/// A streaming metric.
pub trait Metric<B: Backend>: Send + Sync + std::fmt::Debug {
    /// Name shown in logs (`accuracy`).
    fn name(&self) -> &str;
    /// Accumulates one batch (device-side).
    ///
    /// # Errors
    /// When shapes do not fit.
    fn update(&mut self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<()>;
    /// Current value (reads the device state).
    ///
    /// # Errors
    /// On engine errors.
    fn result(&self) -> Result<f64>;
    /// Clears the state.
    fn reset(&mut self);
    /// Hyper-parameters as JSON, under Keras' names: the metric's `…Config` struct (for
    /// the metrics that have one), else just its name.
    fn get_config(&self) -> serde_json::Value {
        serde_json::json!({ "name": self.name() })
    }
}

/// Running sum on the device plus a host count: the mean of values seen.
#[derive(Debug)]
pub struct Mean<B: Backend> {
    name: String,
    total: Option<Tensor<B>>,
    count: f64,
}

impl<B: Backend> Mean<B> {
    /// An empty mean named `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            total: None,
            count: 0.0,
        }
    }

    /// Adds `value` (a scalar tensor) with `weight` (e.g. the batch size).
    ///
    /// # Errors
    /// On engine errors.
    pub fn update_value(&mut self, value: &Tensor<B>, weight: f64) -> Result<()> {
        let v = value.detach().to_dtype(DType::F64)?.mul_scalar(weight)?;
        self.total = Some(match &self.total {
            Some(t) => t.add(&v)?,
            None => v,
        });
        self.count += weight;
        Ok(())
    }

    /// Adds a pre-summed `sum` of `count` values (exact for integer-valued sums such as
    /// counts of correct predictions).
    ///
    /// # Errors
    /// On engine errors.
    pub fn update_sum(&mut self, sum: &Tensor<B>, count: f64) -> Result<()> {
        let v = sum.detach().to_dtype(DType::F64)?;
        self.total = Some(match &self.total {
            Some(t) => t.add(&v)?,
            None => v,
        });
        self.count += count;
        Ok(())
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Current mean.
    ///
    /// # Errors
    /// On engine errors.
    pub fn result(&self) -> Result<f64> {
        match &self.total {
            Some(t) if self.count > 0.0 => Ok(t.item()? / self.count),
            _ => Ok(0.0),
        }
    }

    /// Clears.
    pub fn reset(&mut self) {
        self.total = None;
        self.count = 0.0;
    }
}

/// Which accuracy to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccuracyKind {
    /// `round(p > threshold) == y`, averaged over all elements.
    Binary,
    /// `argmax(p) == argmax(y)`.
    Categorical,
    /// `argmax(p) == y` for integer labels.
    SparseCategorical,
}

/// Accuracy, as a streaming mean of per-sample correctness.
///
/// ```
/// use stratanet::{metrics::{Accuracy, AccuracyKind, Metric}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut acc = Accuracy::<B>::new(AccuracyKind::SparseCategorical);
/// let p = Tensor::<B>::from_vec(vec![0.9f32, 0.1, 0.2, 0.8, 0.6, 0.4], &[3, 2])?;
/// let y = Tensor::<B>::from_vec(vec![0i64, 1, 1], &[3])?;
/// acc.update(&y, &p)?;
/// assert!((acc.result()? - 2.0 / 3.0).abs() < 1e-12);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Accuracy<B: Backend> {
    kind: AccuracyKind,
    threshold: f64,
    name: String,
    mean: Mean<B>,
}

impl<B: Backend> Accuracy<B> {
    /// Accuracy of the given kind, named `accuracy`.
    pub fn new(kind: AccuracyKind) -> Self {
        Self {
            kind,
            threshold: 0.5,
            name: "accuracy".into(),
            mean: Mean::new("accuracy"),
        }
    }

    /// Renames it (`binary_accuracy`, ...).
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The kind Keras picks for `"accuracy"` given the loss and shapes.
    pub fn infer_kind(
        loss: TargetKind,
        y_true_shape: &[usize],
        y_pred_shape: &[usize],
    ) -> AccuracyKind {
        match loss {
            TargetKind::Binary => AccuracyKind::Binary,
            TargetKind::SparseCategorical => AccuracyKind::SparseCategorical,
            TargetKind::Categorical => AccuracyKind::Categorical,
            TargetKind::Regression => {
                if y_pred_shape.last() == Some(&1) {
                    AccuracyKind::Binary
                } else if y_true_shape.len() < y_pred_shape.len()
                    || (y_true_shape.last() == Some(&1) && y_pred_shape.last() != Some(&1))
                {
                    AccuracyKind::SparseCategorical
                } else {
                    AccuracyKind::Categorical
                }
            }
        }
    }

    /// Per-sample correctness as floats (`[N]`), on the device.
    ///
    /// # Errors
    /// When shapes do not fit.
    pub fn correct(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        let (t, p) = (y_true.shape(), y_pred.shape());
        let n = p.first().copied().unwrap_or(0);
        let c = match self.kind {
            AccuracyKind::Binary => {
                let y = if t.len() + 1 == p.len() {
                    y_true.unsqueeze(-1)?
                } else {
                    y_true.clone()
                };
                if y.shape() != p {
                    return Err(Error::shape(
                        &self.name,
                        "y_true",
                        format!("shape {p:?}"),
                        &t,
                    ));
                }
                let pred = y_pred.gt_scalar(self.threshold)?.to_dtype(y_pred.dtype())?;
                let eq = pred
                    .eq(&y.to_dtype(y_pred.dtype())?)?
                    .to_dtype(DType::F32)?;
                if eq.rank() > 1 {
                    let axes: Vec<isize> = (1..eq.rank() as isize).collect();
                    eq.mean(&axes, false)?
                } else {
                    eq
                }
            }
            AccuracyKind::Categorical => {
                if t != p {
                    return Err(Error::shape(
                        &self.name,
                        "y_true",
                        format!("one-hot shape {p:?}"),
                        &t,
                    ));
                }
                y_pred
                    .argmax(-1, false)?
                    .eq(&y_true.argmax(-1, false)?)?
                    .to_dtype(DType::F32)?
            }
            AccuracyKind::SparseCategorical => {
                let ok = (t.len() == 1 && t[0] == n) || (t.len() == 2 && t[0] == n && t[1] == 1);
                if !ok || p.len() != 2 {
                    return Err(Error::shape(
                        &self.name,
                        "y_true",
                        format!("labels of shape [{n}] for predictions {p:?}"),
                        &t,
                    ));
                }
                let labels = y_true.reshape_to(&[n])?.to_dtype(DType::I64)?;
                y_pred
                    .argmax(-1, false)?
                    .eq(&labels)?
                    .to_dtype(DType::F32)?
            }
        };
        Ok(c)
    }
}

impl<B: Backend> Metric<B> for Accuracy<B> {
    fn name(&self) -> &str {
        &self.name
    }
    fn update(&mut self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<()> {
        let c = self.correct(&y_true.detach(), &y_pred.detach())?;
        let n = c.numel() as f64;
        if n > 0.0 {
            self.mean.update_sum(&c.sum_all()?, n)?;
        }
        Ok(())
    }
    fn result(&self) -> Result<f64> {
        self.mean.result()
    }
    fn reset(&mut self) {
        self.mean.reset()
    }
}

/// Known metric names.
pub const METRIC_NAMES: &[&str] = &[
    "accuracy",
    "acc",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "precision",
    "recall",
    "auc",
    "f1_score",
    "mae",
    "mean_absolute_error",
    "mse",
    "mean_squared_error",
    "rmse",
    "root_mean_squared_error",
    "r2_score",
];

/// A metric by name, with Keras' defaults. `"accuracy"` picks its kind from the loss and
/// shapes, like Keras; top-k accuracies use `k = 5`; `"auc"` is ROC AUC with 200
/// thresholds; `"f1_score"` is the macro average (thresholded at 0.5 when the loss is
/// binary, else the argmax of each row).
///
/// # Errors
/// [`Error::UnknownName`].
pub fn get<B: Backend>(
    name: &str,
    loss: TargetKind,
    y_true_shape: &[usize],
    y_pred_shape: &[usize],
) -> Result<Box<dyn Metric<B>>> {
    Ok(match name {
        "accuracy" | "acc" => Box::new(
            Accuracy::new(Accuracy::<B>::infer_kind(loss, y_true_shape, y_pred_shape)).named(name),
        ),
        "binary_accuracy" => Box::new(Accuracy::new(AccuracyKind::Binary).named(name)),
        "categorical_accuracy" => Box::new(Accuracy::new(AccuracyKind::Categorical).named(name)),
        "sparse_categorical_accuracy" => {
            Box::new(Accuracy::new(AccuracyKind::SparseCategorical).named(name))
        }
        "top_k_categorical_accuracy" => Box::new(TopKAccuracy::categorical(5).named(name)),
        "sparse_top_k_categorical_accuracy" => Box::new(TopKAccuracy::sparse(5).named(name)),
        "precision" => Box::new(Precision::new().named(name)),
        "recall" => Box::new(Recall::new().named(name)),
        "auc" => Box::new(AUC::new().named(name)),
        "f1_score" => {
            let f1 = F1Score::new(F1Average::Macro).named(name);
            Box::new(if loss == TargetKind::Binary {
                f1.threshold(0.5)
            } else {
                f1
            })
        }
        "mae" | "mean_absolute_error" => Box::new(MeanAbsoluteError::new().named(name)),
        "mse" | "mean_squared_error" => Box::new(MeanSquaredError::new().named(name)),
        "rmse" | "root_mean_squared_error" => Box::new(RootMeanSquaredError::new().named(name)),
        "r2_score" => Box::new(R2Score::new().named(name)),
        other => return Err(Error::unknown("metric", other, METRIC_NAMES)),
    })
}

/// Checks a metric name without building it.
///
/// # Errors
/// [`Error::UnknownName`].
pub fn check_name(name: &str) -> Result<()> {
    if METRIC_NAMES.contains(&name) {
        Ok(())
    } else {
        Err(Error::unknown("metric", name, METRIC_NAMES))
    }
}

/// What `compile` can take as one metric: a Keras name, resolved once the first batch
/// shows the shapes, or a ready metric object.
///
/// ```
/// use stratanet::metrics::{MetricSpec, Precision, AUC, Curve};
/// use stratanet::losses::TargetKind;
/// use stratanet::DefaultBackend as B;
/// # fn main() -> stratanet::Result<()> {
/// let specs: Vec<MetricSpec<B>> = vec![
///     "accuracy".into(),
///     AUC::new().curve(Curve::Pr).named("pr_auc").into(),
///     Precision::new().threshold(0.3).into(),
/// ];
/// assert_eq!(specs[1].name(), "pr_auc");
/// let m = specs.into_iter().next().unwrap().resolve(TargetKind::Binary, &[4], &[4, 1])?;
/// assert_eq!(m.name(), "accuracy");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub enum MetricSpec<B: Backend> {
    /// A name for [`get`].
    Name(String),
    /// A metric object, used as given.
    Metric(Box<dyn Metric<B>>),
}

impl<B: Backend> MetricSpec<B> {
    /// The name it will log under.
    pub fn name(&self) -> String {
        match self {
            MetricSpec::Name(n) => n.clone(),
            MetricSpec::Metric(m) => m.name().to_string(),
        }
    }

    /// Checks a name early (at `compile`); objects always pass.
    ///
    /// # Errors
    /// [`Error::UnknownName`].
    pub fn check(&self) -> Result<()> {
        match self {
            MetricSpec::Name(n) => check_name(n),
            MetricSpec::Metric(_) => Ok(()),
        }
    }

    /// The metric: built by [`get`] for a name (with the loss kind and shapes of the first
    /// batch), or the object itself, reset.
    ///
    /// # Errors
    /// [`Error::UnknownName`].
    pub fn resolve(
        self,
        loss: TargetKind,
        y_true_shape: &[usize],
        y_pred_shape: &[usize],
    ) -> Result<Box<dyn Metric<B>>> {
        match self {
            MetricSpec::Name(n) => get(&n, loss, y_true_shape, y_pred_shape),
            MetricSpec::Metric(mut m) => {
                m.reset();
                Ok(m)
            }
        }
    }
}

impl<B: Backend> From<&str> for MetricSpec<B> {
    fn from(name: &str) -> Self {
        MetricSpec::Name(name.to_string())
    }
}

impl<B: Backend> From<String> for MetricSpec<B> {
    fn from(name: String) -> Self {
        MetricSpec::Name(name)
    }
}

impl<B: Backend> From<Box<dyn Metric<B>>> for MetricSpec<B> {
    fn from(metric: Box<dyn Metric<B>>) -> Self {
        MetricSpec::Metric(metric)
    }
}

/// What plain `compile` takes as its metrics: names (`&["accuracy", "f1_score"]`, `&[]`),
/// metric objects (`vec![Box::new(F1Score::new(F1Average::Macro)) as Box<dyn Metric<B>>]`),
/// or both as [`MetricSpec`]s (`vec!["accuracy".into(), AUC::new().into()]`, the vector
/// typed as `Vec<MetricSpec<B>>`).
///
/// ```
/// use stratanet::metrics::{F1Average, F1Score, MetricSpec};
/// use stratanet::{prelude::*, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut m = Sequential::<B>::new();
/// m.add(Input::new(&[4]))?;
/// m.add(Dense::new(3).activation("softmax"))?;
/// m.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;
/// let metrics: Vec<MetricSpec<B>> = vec![
///     "accuracy".into(),
///     F1Score::new(F1Average::Weighted).named("weighted_f1").into(),
/// ];
/// m.compile("adam", "sparse_categorical_crossentropy", metrics)?;
/// let x = Tensor::<B>::from_vec(vec![0.5f32; 8], &[2, 4])?;
/// let y = Tensor::<B>::from_vec(vec![0i64, 2], &[2])?;
/// let logs = m.evaluate(&x, &y)?;
/// assert!(logs.get("weighted_f1").is_some());
/// # Ok(())
/// # }
/// ```
pub trait IntoMetrics<B: Backend> {
    /// The metrics, in order.
    fn into_metrics(self) -> Vec<MetricSpec<B>>;
}

impl<B: Backend> IntoMetrics<B> for &[&str] {
    fn into_metrics(self) -> Vec<MetricSpec<B>> {
        self.iter().map(|&n| n.into()).collect()
    }
}

impl<B: Backend, const N: usize> IntoMetrics<B> for &[&str; N] {
    fn into_metrics(self) -> Vec<MetricSpec<B>> {
        self.as_slice().into_metrics()
    }
}

impl<B: Backend> IntoMetrics<B> for &[String] {
    fn into_metrics(self) -> Vec<MetricSpec<B>> {
        self.iter().map(|n| n.as_str().into()).collect()
    }
}

impl<B: Backend> IntoMetrics<B> for Vec<MetricSpec<B>> {
    fn into_metrics(self) -> Vec<MetricSpec<B>> {
        self
    }
}

impl<B: Backend, const N: usize> IntoMetrics<B> for [MetricSpec<B>; N] {
    fn into_metrics(self) -> Vec<MetricSpec<B>> {
        self.into_iter().collect()
    }
}

impl<B: Backend> IntoMetrics<B> for Vec<Box<dyn Metric<B>>> {
    fn into_metrics(self) -> Vec<MetricSpec<B>> {
        self.into_iter().map(MetricSpec::Metric).collect()
    }
}

impl<B: Backend> IntoMetrics<B> for MetricSpec<B> {
    fn into_metrics(self) -> Vec<MetricSpec<B>> {
        vec![self]
    }
}

/// Implements `From<$t<B>> for MetricSpec<B>` for metric types generic over the backend
/// (custom metrics can use it too, or pass `Box::new(m) as Box<dyn Metric<B>>`).
#[macro_export]
macro_rules! impl_into_metric_spec {
    ($($t:ident),* $(,)?) => {
        $(impl<B: $crate::Backend> From<$t<B>> for $crate::metrics::MetricSpec<B> {
            fn from(metric: $t<B>) -> Self {
                $crate::metrics::MetricSpec::Metric(Box::new(metric))
            }
        })*
    };
}

impl_into_metric_spec!(
    Accuracy,
    TopKAccuracy,
    Precision,
    Recall,
    AUC,
    F1Score,
    MeanIoU,
    MeanAbsoluteError,
    MeanSquaredError,
    RootMeanSquaredError,
    R2Score,
);
