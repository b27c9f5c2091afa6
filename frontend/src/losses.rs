//! Losses (Keras names, formulas and defaults), computed in numerically stable ways.
//!
//! A loss returns one value per sample ([`Loss::per_sample`]); [`Loss::call`] averages them
//! (Keras' default `sum_over_batch_size` reduction).

use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde_json::json;

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
pub trait Loss<B: Backend>: Send + std::fmt::Debug {
    /// Keras name (`sparse_categorical_crossentropy`).
    fn name(&self) -> &'static str;
    /// Per-sample loss, shape `[batch]`.
    ///
    /// # Errors
    /// [`Error::Shape`] when `y_true` and `y_pred` do not fit together.
    fn per_sample(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>>;
    /// The kind of targets expected.
    fn target_kind(&self) -> TargetKind;
    /// Hyper-parameters as JSON.
    fn get_config(&self) -> serde_json::Value;

    /// Mean over the batch, a scalar.
    ///
    /// # Errors
    /// As [`Loss::per_sample`], plus [`Error::LabelOutOfRange`] for bad sparse labels.
    fn call(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        self.check_targets(y_true, &y_pred.shape())?;
        self.per_sample(y_true, y_pred)?.mean_all()
    }

    /// Validates a whole target tensor against the prediction shape once (reads labels to
    /// the host for sparse losses). `fit`/`evaluate` call it before the batch loop so the
    /// loop itself needs no host sync.
    ///
    /// # Errors
    /// [`Error::LabelOutOfRange`] or [`Error::Shape`].
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

/// Brings `y_true` to `y_pred`'s shape the way Keras does: `[N]` targets against `[N, 1]`
/// predictions gain an axis; otherwise shapes must match exactly.
fn align<B: Backend>(loss: &str, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
    let (t, p) = (y_true.shape(), y_pred.shape());
    let y = y_true.to_dtype(y_pred.dtype())?;
    if t == p {
        return Ok(y);
    }
    if t.len() + 1 == p.len() && p.last() == Some(&1) && p[..p.len() - 1] == t[..] {
        return y.unsqueeze(-1);
    }
    if t.len() == p.len() + 1 && t.last() == Some(&1) && t[..t.len() - 1] == p[..] {
        return y.squeeze(-1);
    }
    Err(Error::shape(
        loss,
        "y_true",
        format!("shape {p:?} (as y_pred)"),
        &t,
    ))
}

/// Mean over the last axis, giving one value per sample for `[N, d]` (and `[N]` for `[N]`).
fn mean_last<B: Backend>(t: &Tensor<B>) -> Result<Tensor<B>> {
    match t.rank() {
        0 | 1 => Ok(t.clone()),
        2 => t.mean(&[-1], false),
        _ => {
            let axes: Vec<isize> = (1..t.rank() as isize).collect();
            t.mean(&axes, false)
        }
    }
}

/// Mean squared error: `mean((y_true - y_pred)^2)` over the last axis.
#[derive(Debug, Clone, Copy, Default)]
pub struct MeanSquaredError;

impl<B: Backend> Loss<B> for MeanSquaredError {
    fn name(&self) -> &'static str {
        "mean_squared_error"
    }
    fn per_sample(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        let y = align("mean_squared_error", y_true, y_pred)?;
        mean_last(&y.sub(y_pred)?.square()?)
    }
    fn target_kind(&self) -> TargetKind {
        TargetKind::Regression
    }
    fn get_config(&self) -> serde_json::Value {
        json!({})
    }
}

/// Mean absolute error.
#[derive(Debug, Clone, Copy, Default)]
pub struct MeanAbsoluteError;

impl<B: Backend> Loss<B> for MeanAbsoluteError {
    fn name(&self) -> &'static str {
        "mean_absolute_error"
    }
    fn per_sample(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        let y = align("mean_absolute_error", y_true, y_pred)?;
        mean_last(&y.sub(y_pred)?.abs()?)
    }
    fn target_kind(&self) -> TargetKind {
        TargetKind::Regression
    }
    fn get_config(&self) -> serde_json::Value {
        json!({})
    }
}

/// Huber loss: `0.5 e^2` where `|e| <= delta`, else `delta * (|e| - 0.5 delta)`.
#[derive(Debug, Clone, Copy)]
pub struct Huber {
    /// Threshold between the quadratic and linear parts (default 1.0).
    pub delta: f64,
}

impl Default for Huber {
    fn default() -> Self {
        Self { delta: 1.0 }
    }
}

impl Huber {
    /// Huber loss with the given `delta`.
    pub fn new(delta: f64) -> Self {
        Self { delta }
    }
}

impl<B: Backend> Loss<B> for Huber {
    fn name(&self) -> &'static str {
        "huber"
    }
    fn per_sample(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
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
    fn target_kind(&self) -> TargetKind {
        TargetKind::Regression
    }
    fn get_config(&self) -> serde_json::Value {
        json!({"delta": self.delta})
    }
}

/// Binary cross-entropy over independent 0/1 targets.
///
/// With `from_logits`, uses `softplus(x) - x * y` (stable for any logit); otherwise clips
/// probabilities to `[1e-7, 1 - 1e-7]` like Keras.
#[derive(Debug, Clone, Copy, Default)]
pub struct BinaryCrossentropy {
    /// Whether predictions are logits rather than probabilities.
    pub from_logits: bool,
}

impl BinaryCrossentropy {
    /// Expects probabilities (after a sigmoid).
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `from_logits`.
    pub fn from_logits(mut self, from_logits: bool) -> Self {
        self.from_logits = from_logits;
        self
    }
}

impl<B: Backend> Loss<B> for BinaryCrossentropy {
    fn name(&self) -> &'static str {
        "binary_crossentropy"
    }
    fn per_sample(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        let y = align("binary_crossentropy", y_true, y_pred)?;
        let l = if self.from_logits {
            y_pred.softplus()?.sub(&y_pred.mul(&y)?)?
        } else {
            let p = y_pred.clamp(EPSILON, 1.0 - EPSILON)?;
            let a = y.mul(&p.log()?)?;
            let b = y.affine(-1.0, 1.0)?.mul(&p.affine(-1.0, 1.0)?.log()?)?;
            a.add(&b)?.neg()?
        };
        mean_last(&l)
    }
    fn target_kind(&self) -> TargetKind {
        TargetKind::Binary
    }
    fn get_config(&self) -> serde_json::Value {
        json!({"from_logits": self.from_logits})
    }
}

/// Categorical cross-entropy against one-hot (or soft) targets over the last axis.
#[derive(Debug, Clone, Copy, Default)]
pub struct CategoricalCrossentropy {
    /// Whether predictions are logits.
    pub from_logits: bool,
}

impl CategoricalCrossentropy {
    /// Expects probabilities (after a softmax).
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `from_logits`.
    pub fn from_logits(mut self, from_logits: bool) -> Self {
        self.from_logits = from_logits;
        self
    }
}

impl<B: Backend> Loss<B> for CategoricalCrossentropy {
    fn name(&self) -> &'static str {
        "categorical_crossentropy"
    }
    fn per_sample(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        let (t, p) = (y_true.shape(), y_pred.shape());
        if t != p || p.len() < 2 {
            return Err(Error::shape(
                "categorical_crossentropy",
                "y_true",
                format!("one-hot targets of shape {p:?} (as y_pred, rank >= 2)"),
                &t,
            ));
        }
        let y = y_true.to_dtype(y_pred.dtype())?;
        let logp = if self.from_logits {
            y_pred.log_softmax(-1)?
        } else {
            let p = y_pred.div(&y_pred.sum(&[-1], true)?)?;
            p.clamp(EPSILON, 1.0 - EPSILON)?.log()?
        };
        let l = y.mul(&logp)?.sum(&[-1], false)?.neg()?;
        if l.rank() > 1 {
            mean_last(&l)
        } else {
            Ok(l)
        }
    }
    fn target_kind(&self) -> TargetKind {
        TargetKind::Categorical
    }
    fn get_config(&self) -> serde_json::Value {
        json!({"from_logits": self.from_logits})
    }
}

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
#[derive(Debug, Clone, Copy, Default)]
pub struct SparseCategoricalCrossentropy {
    /// Whether predictions are logits.
    pub from_logits: bool,
}

impl SparseCategoricalCrossentropy {
    /// Expects probabilities (after a softmax).
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `from_logits`.
    pub fn from_logits(mut self, from_logits: bool) -> Self {
        self.from_logits = from_logits;
        self
    }

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
}

impl<B: Backend> Loss<B> for SparseCategoricalCrossentropy {
    fn name(&self) -> &'static str {
        "sparse_categorical_crossentropy"
    }
    fn per_sample(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        let labels = Self::labels(y_true, &y_pred.shape())?;
        if self.from_logits {
            Ok(Tensor::new(B::sparse_softmax_cross_entropy(
                y_pred.inner(),
                labels.inner(),
            )?))
        } else {
            let n = labels.shape()[0];
            let p = y_pred.div(&y_pred.sum(&[-1], true)?)?;
            let logp = p.clamp(EPSILON, 1.0 - EPSILON)?.log()?;
            logp.gather(&labels.reshape_to(&[n, 1])?, 1)?
                .reshape_to(&[n])?
                .neg()
        }
    }
    fn target_kind(&self) -> TargetKind {
        TargetKind::SparseCategorical
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
    }
    fn get_config(&self) -> serde_json::Value {
        json!({"from_logits": self.from_logits})
    }
}

/// Known loss names.
pub const LOSS_NAMES: &[&str] = &[
    "mean_squared_error",
    "mse",
    "mean_absolute_error",
    "mae",
    "huber",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
];

/// A loss by Keras name (probability inputs, default arguments).
///
/// # Errors
/// [`Error::UnknownName`].
pub fn get<B: Backend>(name: &str) -> Result<Box<dyn Loss<B>>> {
    Ok(match name {
        "mean_squared_error" | "mse" => Box::new(MeanSquaredError),
        "mean_absolute_error" | "mae" => Box::new(MeanAbsoluteError),
        "huber" => Box::new(Huber::default()),
        "binary_crossentropy" => Box::new(BinaryCrossentropy::new()),
        "categorical_crossentropy" => Box::new(CategoricalCrossentropy::new()),
        "sparse_categorical_crossentropy" => Box::new(SparseCategoricalCrossentropy::new()),
        other => return Err(Error::unknown("loss", other, LOSS_NAMES)),
    })
}

/// Anything `compile` accepts as a loss: a name or a loss value.
pub trait IntoLoss<B: Backend> {
    /// Resolves into a boxed loss.
    ///
    /// # Errors
    /// For unknown names.
    fn into_loss(self) -> Result<Box<dyn Loss<B>>>;
}

impl<B: Backend> IntoLoss<B> for &str {
    fn into_loss(self) -> Result<Box<dyn Loss<B>>> {
        get(self)
    }
}

impl<B: Backend> IntoLoss<B> for String {
    fn into_loss(self) -> Result<Box<dyn Loss<B>>> {
        get(&self)
    }
}

impl<B: Backend> IntoLoss<B> for Box<dyn Loss<B>> {
    fn into_loss(self) -> Result<Box<dyn Loss<B>>> {
        Ok(self)
    }
}

/// Implements [`IntoLoss`] for loss types (used by every loss in this module; custom losses
/// can pass `Box::new(MyLoss)`).
#[macro_export]
macro_rules! impl_into_loss {
    ($($t:ty),* $(,)?) => {
        $(impl<B: $crate::Backend> $crate::losses::IntoLoss<B> for $t {
            fn into_loss(self) -> $crate::Result<Box<dyn $crate::losses::Loss<B>>> {
                Ok(Box::new(self))
            }
        })*
    };
}

impl_into_loss!(
    MeanSquaredError,
    MeanAbsoluteError,
    Huber,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
);
