//! Streaming metrics: `update` per batch (on the device, no host sync), `result` when the
//! progress line or the epoch end needs a number, `reset` between epochs.

use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::losses::TargetKind;
use crate::tensor::Tensor;

/// A streaming metric.
pub trait Metric<B: Backend>: Send + std::fmt::Debug {
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
];

/// A metric by name. `"accuracy"` picks its kind from the loss and shapes, like Keras.
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
