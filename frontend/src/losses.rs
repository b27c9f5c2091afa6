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

/// How per-sample losses become the value [`Loss::call`] returns (Keras 3's `reduction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// `sum(l * w) / number of values` (Keras' default, `"sum_over_batch_size"`).
    #[default]
    SumOverBatchSize,
    /// `sum(l * w)` (`"sum"`).
    Sum,
    /// Same as `SumOverBatchSize` in Keras 3 (`"mean"`).
    Mean,
    /// `sum(l * w) / sum(w)`; without weights the plain mean (`"mean_with_sample_weight"`).
    MeanWithSampleWeight,
    /// No reduction: the weighted per-sample values (`None` / `"none"`).
    None,
}

impl Reduction {
    /// Keras' spelling (`"sum_over_batch_size"`, ..., `"none"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Reduction::SumOverBatchSize => "sum_over_batch_size",
            Reduction::Sum => "sum",
            Reduction::Mean => "mean",
            Reduction::MeanWithSampleWeight => "mean_with_sample_weight",
            Reduction::None => "none",
        }
    }

    /// Parses Keras' spelling (`"none"` for Python's `None`).
    ///
    /// # Errors
    /// [`Error::UnknownName`] for anything else.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "sum_over_batch_size" => Reduction::SumOverBatchSize,
            "sum" => Reduction::Sum,
            "mean" => Reduction::Mean,
            "mean_with_sample_weight" => Reduction::MeanWithSampleWeight,
            "none" | "None" => Reduction::None,
            other => {
                return Err(Error::unknown(
                    "reduction",
                    other,
                    &[
                        "sum_over_batch_size",
                        "sum",
                        "mean",
                        "mean_with_sample_weight",
                        "none",
                    ],
                ))
            }
        })
    }
}

impl std::fmt::Display for Reduction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Keras' `reduce_weighted_values`: multiplies `values` by `sample_weight` (brought to the
/// same rank: `[N, 1]` weights are squeezed, scalars broadcast) and reduces them.
///
/// # Errors
/// [`Error::Shape`] when the weights do not broadcast against the values.
pub fn reduce_weighted_values<B: Backend>(
    values: &Tensor<B>,
    sample_weight: Option<&Tensor<B>>,
    reduction: Reduction,
) -> Result<Tensor<B>> {
    let (values, weight) = match sample_weight {
        Some(w) => {
            let mut w = w.detach().to_dtype(values.dtype())?;
            while w.rank() > values.rank() && w.shape().last() == Some(&1) {
                w = w.squeeze(-1)?;
            }
            while w.rank() > 0 && w.rank() < values.rank() {
                w = w.unsqueeze(-1)?;
            }
            let (vs, ws) = (values.shape(), w.shape());
            if crate::tensor::broadcast_shape(&vs, &ws).as_deref() != Some(&vs[..]) {
                return Err(Error::shape(
                    "loss",
                    "sample_weight",
                    format!("a shape that broadcasts to the per-sample losses {vs:?}"),
                    &ws,
                ));
            }
            let w = w.broadcast_to(&vs)?;
            (values.mul(&w)?, Some(w))
        }
        None => (values.clone(), None),
    };
    if reduction == Reduction::None || values.rank() == 0 {
        return Ok(values);
    }
    let total = values.sum_all()?;
    match reduction {
        Reduction::Sum => Ok(total),
        Reduction::MeanWithSampleWeight if weight.is_some() => {
            let ws = weight.as_ref().map(|w| w.sum_all()).transpose()?;
            let ws = ws.expect("weight present");
            divide_no_nan(&total, &ws)
        }
        _ => {
            let n = values.numel();
            if n == 0 {
                total.zeros_like()
            } else {
                total.mul_scalar(1.0 / n as f64)
            }
        }
    }
}

/// `a / b`, 0 where `b == 0`.
fn divide_no_nan<B: Backend>(a: &Tensor<B>, b: &Tensor<B>) -> Result<Tensor<B>> {
    let zero = b.eq(&b.zeros_like()?)?;
    let safe = zero.where_cond(&b.ones_like()?, b)?;
    zero.where_cond(&a.zeros_like()?, &a.div(&safe)?)
}

/// A loss function.
///
/// ## Design
/// A loss only defines [`Loss::per_sample`]; reductions and sample weights are shared
/// provided methods, so every loss (custom ones included) gets Keras' `reduction` and
/// `sample_weight` semantics.
pub trait Loss<B: Backend>: Send + std::fmt::Debug {
    /// Keras name (`sparse_categorical_crossentropy`).
    fn name(&self) -> &'static str;
    /// Per-sample loss, shape `[batch]`.
    ///
    /// # Errors
    /// [`Error::Shape`] when `y_true` and `y_pred` do not fit together.
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
    /// As [`Loss::per_sample`], plus [`Error::LabelOutOfRange`] for bad sparse labels.
    fn call(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        self.call_weighted(y_true, y_pred, None)
    }

    /// Like [`Loss::call`], with optional per-sample weights (`[batch]`, `[batch, 1]` or a
    /// scalar) applied as Keras' `reduce_weighted_values` does: `sum_over_batch_size` is
    /// `sum(l * w) / batch`, `mean_with_sample_weight` is `sum(l * w) / sum(w)`.
    ///
    /// # Errors
    /// As [`Loss::call`], plus [`Error::Shape`] for weights of the wrong shape.
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

/// Sum over the last axis, then the mean over any axes between batch and last, giving one
/// value per sample (`[N]` stays elementwise).
fn sum_last<B: Backend>(t: &Tensor<B>) -> Result<Tensor<B>> {
    match t.rank() {
        0 | 1 => Ok(t.clone()),
        _ => per_sample_of(&t.sum(&[-1], false)?),
    }
}

/// Means over every axis but the first (`[N]` and scalars unchanged).
fn per_sample_of<B: Backend>(t: &Tensor<B>) -> Result<Tensor<B>> {
    if t.rank() > 1 {
        mean_last(t)
    } else {
        Ok(t.clone())
    }
}

/// Keras' binary label smoothing: `y * (1 - s) + 0.5 s`.
fn smooth_binary<B: Backend>(y: &Tensor<B>, s: f64) -> Result<Tensor<B>> {
    if s == 0.0 {
        Ok(y.clone())
    } else {
        y.affine(1.0 - s, 0.5 * s)
    }
}

/// Keras' categorical label smoothing: `y * (1 - s) + s / num_classes`.
fn smooth_categorical<B: Backend>(y: &Tensor<B>, s: f64) -> Result<Tensor<B>> {
    let k = y.shape().last().copied().unwrap_or(1).max(1) as f64;
    if s == 0.0 {
        Ok(y.clone())
    } else {
        y.affine(1.0 - s, s / k)
    }
}

/// Elementwise binary cross-entropy: stable `softplus(x) - x y` on logits, Keras' clipped
/// form on probabilities.
fn binary_ce<B: Backend>(
    y: &Tensor<B>,
    y_pred: &Tensor<B>,
    from_logits: bool,
) -> Result<Tensor<B>> {
    if from_logits {
        y_pred.softplus()?.sub(&y_pred.mul(y)?)
    } else {
        let p = y_pred.clamp(EPSILON, 1.0 - EPSILON)?;
        let a = y.mul(&p.log()?)?;
        let b = y.affine(-1.0, 1.0)?.mul(&p.affine(-1.0, 1.0)?.log()?)?;
        a.add(&b)?.neg()
    }
}

/// `log p` over the last axis, as Keras computes it: `log_softmax` for logits (stable),
/// else the renormalised probabilities clipped to `[1e-7, 1 - 1e-7]`.
fn categorical_log_probs<B: Backend>(y_pred: &Tensor<B>, from_logits: bool) -> Result<Tensor<B>> {
    if from_logits {
        y_pred.log_softmax(-1)
    } else {
        let p = y_pred.div(&y_pred.sum(&[-1], true)?)?;
        p.clamp(EPSILON, 1.0 - EPSILON)?.log()
    }
}

/// Checks dense (one-hot or soft) targets: same shape as `y_pred`, rank >= 2.
fn one_hot_targets<B: Backend>(
    loss: &str,
    y_true: &Tensor<B>,
    y_pred: &Tensor<B>,
) -> Result<Tensor<B>> {
    let (t, p) = (y_true.shape(), y_pred.shape());
    if t != p || p.len() < 2 {
        return Err(Error::shape(
            loss,
            "y_true",
            format!("one-hot targets of shape {p:?} (as y_pred, rank >= 2)"),
            &t,
        ));
    }
    y_true.to_dtype(y_pred.dtype())
}

/// Keras' `convert_binary_labels_to_hinge`: when every target is 0 or 1, maps them to -1/1
/// (decided on the device for the whole batch, no host read).
fn hinge_labels<B: Backend>(y: &Tensor<B>) -> Result<Tensor<B>> {
    if y.numel() == 0 {
        return Ok(y.clone());
    }
    // y (1 - y) == 0 exactly for 0 and 1; all() as the minimum of the 0/1 mask
    let is01 = y
        .mul(&y.affine(-1.0, 1.0)?)?
        .eq(&y.zeros_like()?)?
        .to_dtype(y.dtype())?;
    let all = is01.reshape_to(&[y.numel()])?.min(&[0], false)?;
    // y + all * (y - 1): 2y - 1 when all == 1, else y
    y.add(&y.add_scalar(-1.0)?.mul(&all)?)
}

/// Mean squared error: `mean((y_true - y_pred)^2)` over the last axis.
#[derive(Debug, Clone, Copy, Default)]
pub struct MeanSquaredError;

impl MeanSquaredError {
    /// This loss with another reduction.
    pub fn reduction(self, reduction: Reduction) -> Reduced<Self> {
        Reduced::new(self, reduction)
    }
}

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

impl MeanAbsoluteError {
    /// This loss with another reduction.
    pub fn reduction(self, reduction: Reduction) -> Reduced<Self> {
        Reduced::new(self, reduction)
    }
}

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
    /// Reduction (default `sum_over_batch_size`).
    pub reduction: Reduction,
}

impl Default for Huber {
    fn default() -> Self {
        Self::new(1.0)
    }
}

impl Huber {
    /// Huber loss with the given `delta`.
    pub fn new(delta: f64) -> Self {
        Self {
            delta,
            reduction: Reduction::default(),
        }
    }
    /// Sets the reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
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
        json!({"delta": self.delta, "reduction": self.reduction.as_str()})
    }
    fn reduction(&self) -> Reduction {
        self.reduction
    }
}

/// Binary cross-entropy over independent 0/1 targets.
///
/// With `from_logits`, uses `softplus(x) - x * y` (stable for any logit); otherwise clips
/// probabilities to `[1e-7, 1 - 1e-7]` like Keras. `label_smoothing` moves the targets
/// towards 0.5: `y * (1 - s) + 0.5 s`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BinaryCrossentropy {
    /// Whether predictions are logits rather than probabilities.
    pub from_logits: bool,
    /// Label smoothing in `[0, 1]` (default 0).
    pub label_smoothing: f64,
    /// Reduction (default `sum_over_batch_size`).
    pub reduction: Reduction,
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
    /// Sets `label_smoothing`.
    pub fn label_smoothing(mut self, label_smoothing: f64) -> Self {
        self.label_smoothing = label_smoothing;
        self
    }
    /// Sets the reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }
}

impl<B: Backend> Loss<B> for BinaryCrossentropy {
    fn name(&self) -> &'static str {
        "binary_crossentropy"
    }
    fn per_sample(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        let y = smooth_binary(
            &align("binary_crossentropy", y_true, y_pred)?,
            self.label_smoothing,
        )?;
        mean_last(&binary_ce(&y, y_pred, self.from_logits)?)
    }
    fn target_kind(&self) -> TargetKind {
        TargetKind::Binary
    }
    fn get_config(&self) -> serde_json::Value {
        json!({
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "reduction": self.reduction.as_str(),
        })
    }
    fn reduction(&self) -> Reduction {
        self.reduction
    }
}

/// Categorical cross-entropy against one-hot (or soft) targets over the last axis.
///
/// `label_smoothing` mixes the targets with the uniform distribution:
/// `y * (1 - s) + s / num_classes`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CategoricalCrossentropy {
    /// Whether predictions are logits.
    pub from_logits: bool,
    /// Label smoothing in `[0, 1]` (default 0).
    pub label_smoothing: f64,
    /// Reduction (default `sum_over_batch_size`).
    pub reduction: Reduction,
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
    /// Sets `label_smoothing`.
    pub fn label_smoothing(mut self, label_smoothing: f64) -> Self {
        self.label_smoothing = label_smoothing;
        self
    }
    /// Sets the reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }
}

impl<B: Backend> Loss<B> for CategoricalCrossentropy {
    fn name(&self) -> &'static str {
        "categorical_crossentropy"
    }
    fn per_sample(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        let y = one_hot_targets("categorical_crossentropy", y_true, y_pred)?;
        let y = smooth_categorical(&y, self.label_smoothing)?;
        let logp = categorical_log_probs(y_pred, self.from_logits)?;
        let l = y.mul(&logp)?.sum(&[-1], false)?.neg()?;
        per_sample_of(&l)
    }
    fn target_kind(&self) -> TargetKind {
        TargetKind::Categorical
    }
    fn get_config(&self) -> serde_json::Value {
        json!({
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "reduction": self.reduction.as_str(),
        })
    }
    fn reduction(&self) -> Reduction {
        self.reduction
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
///
/// Like Keras 3, it has no `label_smoothing` (use [`CategoricalCrossentropy`] with one-hot
/// targets for that).
#[derive(Debug, Clone, Copy, Default)]
pub struct SparseCategoricalCrossentropy {
    /// Whether predictions are logits.
    pub from_logits: bool,
    /// Reduction (default `sum_over_batch_size`).
    pub reduction: Reduction,
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
    /// Sets the reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
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

impl<B: Backend> Loss<B> for SparseCategoricalCrossentropy {
    fn name(&self) -> &'static str {
        "sparse_categorical_crossentropy"
    }
    fn per_sample(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        self.values(y_true, y_pred, false)
    }
    /// The labels are known to be in range: the engine's in-range kernels, without their
    /// device read.
    fn per_sample_checked(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        self.values(y_true, y_pred, true)
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
        json!({"from_logits": self.from_logits, "reduction": self.reduction.as_str()})
    }
    fn reduction(&self) -> Reduction {
        self.reduction
    }
}

/// Any loss with another [`Reduction`] (what `MeanSquaredError.reduction(..)` returns).
#[derive(Debug, Clone, Copy)]
pub struct Reduced<L> {
    /// The wrapped loss.
    pub loss: L,
    /// The reduction used instead of the loss' own.
    pub reduction: Reduction,
}

impl<L> Reduced<L> {
    /// Wraps `loss` with `reduction`.
    pub fn new(loss: L, reduction: Reduction) -> Self {
        Self { loss, reduction }
    }
}

impl<B: Backend, L: Loss<B>> Loss<B> for Reduced<L> {
    fn name(&self) -> &'static str {
        self.loss.name()
    }
    fn per_sample(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        self.loss.per_sample(y_true, y_pred)
    }
    fn per_sample_checked(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        self.loss.per_sample_checked(y_true, y_pred)
    }
    fn target_kind(&self) -> TargetKind {
        self.loss.target_kind()
    }
    fn get_config(&self) -> serde_json::Value {
        let mut c = self.loss.get_config();
        if let Some(m) = c.as_object_mut() {
            m.insert("reduction".into(), json!(self.reduction.as_str()));
        }
        c
    }
    fn reduction(&self) -> Reduction {
        self.reduction
    }
    fn check_targets(&self, y_true: &Tensor<B>, pred_shape: &[usize]) -> Result<()> {
        self.loss.check_targets(y_true, pred_shape)
    }
    fn target_dtype(&self, model_dtype: DType) -> DType {
        self.loss.target_dtype(model_dtype)
    }
}

/// Declares a hyper-parameter-free loss with a `reduction` field and builder.
macro_rules! simple_loss {
    ($(#[$doc:meta])* $t:ident, $name:literal, $kind:expr, |$y:ident, $p:ident| $body:block) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $t {
            /// Reduction (default `sum_over_batch_size`).
            pub reduction: Reduction,
        }

        impl $t {
            /// With default arguments.
            pub fn new() -> Self {
                Self::default()
            }
            /// Sets the reduction.
            pub fn reduction(mut self, reduction: Reduction) -> Self {
                self.reduction = reduction;
                self
            }
        }

        impl<B: Backend> Loss<B> for $t {
            fn name(&self) -> &'static str {
                $name
            }
            fn per_sample(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
                let $y = align($name, y_true, y_pred)?;
                let $p = y_pred;
                $body
            }
            fn target_kind(&self) -> TargetKind {
                $kind
            }
            fn get_config(&self) -> serde_json::Value {
                json!({"reduction": self.reduction.as_str()})
            }
            fn reduction(&self) -> Reduction {
                self.reduction
            }
        }
    };
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
    TargetKind::Categorical,
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
    TargetKind::Regression,
    |y, p| { mean_last(&p.sub(&y.mul(&p.add_scalar(EPSILON)?.log()?)?)?) }
);

simple_loss!(
    /// Hinge: `mean(max(1 - y p, 0))`; 0/1 targets are mapped to -1/1 first (Keras).
    Hinge,
    "hinge",
    TargetKind::Regression,
    |y, p| {
        let y = hinge_labels(&y)?;
        mean_last(&y.mul(p)?.affine(-1.0, 1.0)?.relu()?)
    }
);

simple_loss!(
    /// Squared hinge: `mean(max(1 - y p, 0)^2)`; 0/1 targets are mapped to -1/1 (Keras).
    SquaredHinge,
    "squared_hinge",
    TargetKind::Regression,
    |y, p| {
        let y = hinge_labels(&y)?;
        mean_last(&y.mul(p)?.affine(-1.0, 1.0)?.relu()?.square()?)
    }
);

simple_loss!(
    /// Categorical hinge: `max(max((1 - y) p) - sum(y p) + 1, 0)` over the last axis, for
    /// one-hot targets.
    CategoricalHinge,
    "categorical_hinge",
    TargetKind::Categorical,
    |y, p| {
        let pos = y.mul(p)?.sum(&[-1], false)?;
        let neg = y.affine(-1.0, 1.0)?.mul(p)?.max(&[-1], false)?;
        per_sample_of(&neg.sub(&pos)?.add_scalar(1.0)?.relu()?)
    }
);

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
    TargetKind::Regression,
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
    TargetKind::Regression,
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
    TargetKind::Regression,
    |y, p| {
        let d = y.sub(p)?.div(&y.abs()?.clamp(EPSILON, f64::INFINITY)?)?;
        mean_last(&d.abs()?.mul_scalar(100.0)?)
    }
);

simple_loss!(
    /// Mean squared logarithmic error: `mean((log(max(p, 1e-7) + 1) - log(max(y, 1e-7) + 1))^2)`.
    MeanSquaredLogarithmicError,
    "mean_squared_logarithmic_error",
    TargetKind::Regression,
    |y, p| {
        let lp = p.clamp(EPSILON, f64::INFINITY)?.add_scalar(1.0)?.log()?;
        let ly = y.clamp(EPSILON, f64::INFINITY)?.add_scalar(1.0)?.log()?;
        mean_last(&lp.sub(&ly)?.square()?)
    }
);

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
#[derive(Debug, Clone, Copy)]
pub struct BinaryFocalCrossentropy {
    /// Weight the positive class by `alpha` and the negative by `1 - alpha` (default false).
    pub apply_class_balancing: bool,
    /// Class-balancing weight (default 0.25).
    pub alpha: f64,
    /// Focusing exponent (default 2).
    pub gamma: f64,
    /// Whether predictions are logits.
    pub from_logits: bool,
    /// Label smoothing towards 0.5 (default 0).
    pub label_smoothing: f64,
    /// Reduction (default `sum_over_batch_size`).
    pub reduction: Reduction,
}

impl Default for BinaryFocalCrossentropy {
    fn default() -> Self {
        Self {
            apply_class_balancing: false,
            alpha: 0.25,
            gamma: 2.0,
            from_logits: false,
            label_smoothing: 0.0,
            reduction: Reduction::default(),
        }
    }
}

impl BinaryFocalCrossentropy {
    /// Keras' defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `apply_class_balancing` and `alpha`.
    pub fn class_balancing(mut self, apply: bool, alpha: f64) -> Self {
        self.apply_class_balancing = apply;
        self.alpha = alpha;
        self
    }
    /// Sets `gamma`.
    pub fn gamma(mut self, gamma: f64) -> Self {
        self.gamma = gamma;
        self
    }
    /// Sets `from_logits`.
    pub fn from_logits(mut self, from_logits: bool) -> Self {
        self.from_logits = from_logits;
        self
    }
    /// Sets `label_smoothing`.
    pub fn label_smoothing(mut self, label_smoothing: f64) -> Self {
        self.label_smoothing = label_smoothing;
        self
    }
    /// Sets the reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }
}

impl<B: Backend> Loss<B> for BinaryFocalCrossentropy {
    fn name(&self) -> &'static str {
        "binary_focal_crossentropy"
    }
    fn per_sample(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        let y = smooth_binary(
            &align("binary_focal_crossentropy", y_true, y_pred)?,
            self.label_smoothing,
        )?;
        let bce = binary_ce(&y, y_pred, self.from_logits)?;
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
    fn target_kind(&self) -> TargetKind {
        TargetKind::Binary
    }
    fn get_config(&self) -> serde_json::Value {
        json!({
            "apply_class_balancing": self.apply_class_balancing,
            "alpha": self.alpha,
            "gamma": self.gamma,
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "reduction": self.reduction.as_str(),
        })
    }
    fn reduction(&self) -> Reduction {
        self.reduction
    }
}

/// Categorical focal cross-entropy, Keras' `CategoricalFocalCrossentropy`:
/// `sum(-alpha (1 - p)^gamma y log p)` over the last axis, `p` renormalised and clipped to
/// `[1e-7, 1 - 1e-7]` (from logits: `log_softmax`, clipped the same way in log space).
#[derive(Debug, Clone, Copy)]
pub struct CategoricalFocalCrossentropy {
    /// Weight (default 0.25).
    pub alpha: f64,
    /// Focusing exponent (default 2).
    pub gamma: f64,
    /// Whether predictions are logits.
    pub from_logits: bool,
    /// Label smoothing towards uniform (default 0).
    pub label_smoothing: f64,
    /// Reduction (default `sum_over_batch_size`).
    pub reduction: Reduction,
}

impl Default for CategoricalFocalCrossentropy {
    fn default() -> Self {
        Self {
            alpha: 0.25,
            gamma: 2.0,
            from_logits: false,
            label_smoothing: 0.0,
            reduction: Reduction::default(),
        }
    }
}

impl CategoricalFocalCrossentropy {
    /// Keras' defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `alpha`.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }
    /// Sets `gamma`.
    pub fn gamma(mut self, gamma: f64) -> Self {
        self.gamma = gamma;
        self
    }
    /// Sets `from_logits`.
    pub fn from_logits(mut self, from_logits: bool) -> Self {
        self.from_logits = from_logits;
        self
    }
    /// Sets `label_smoothing`.
    pub fn label_smoothing(mut self, label_smoothing: f64) -> Self {
        self.label_smoothing = label_smoothing;
        self
    }
    /// Sets the reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }
}

impl<B: Backend> Loss<B> for CategoricalFocalCrossentropy {
    fn name(&self) -> &'static str {
        "categorical_focal_crossentropy"
    }
    fn per_sample(&self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<Tensor<B>> {
        let y = one_hot_targets("categorical_focal_crossentropy", y_true, y_pred)?;
        let y = smooth_categorical(&y, self.label_smoothing)?;
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
    fn target_kind(&self) -> TargetKind {
        TargetKind::Categorical
    }
    fn get_config(&self) -> serde_json::Value {
        json!({
            "alpha": self.alpha,
            "gamma": self.gamma,
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "reduction": self.reduction.as_str(),
        })
    }
    fn reduction(&self) -> Reduction {
        self.reduction
    }
}

/// Known loss names.
pub const LOSS_NAMES: &[&str] = &[
    "mean_squared_error",
    "mse",
    "mean_absolute_error",
    "mae",
    "mean_absolute_percentage_error",
    "mape",
    "mean_squared_logarithmic_error",
    "msle",
    "huber",
    "huber_loss",
    "log_cosh",
    "logcosh",
    "binary_crossentropy",
    "bce",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
    "kl_divergence",
    "kld",
    "kullback_leibler_divergence",
    "poisson",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "cosine_similarity",
];

/// A loss by Keras name (probability inputs, default arguments).
///
/// # Errors
/// [`Error::UnknownName`].
pub fn get<B: Backend>(name: &str) -> Result<Box<dyn Loss<B>>> {
    Ok(match name {
        "mean_squared_error" | "mse" => Box::new(MeanSquaredError),
        "mean_absolute_error" | "mae" => Box::new(MeanAbsoluteError),
        "mean_absolute_percentage_error" | "mape" => Box::new(MeanAbsolutePercentageError::new()),
        "mean_squared_logarithmic_error" | "msle" => Box::new(MeanSquaredLogarithmicError::new()),
        "huber" | "huber_loss" => Box::new(Huber::default()),
        "log_cosh" | "logcosh" => Box::new(LogCosh::new()),
        "binary_crossentropy" | "bce" => Box::new(BinaryCrossentropy::new()),
        "binary_focal_crossentropy" => Box::new(BinaryFocalCrossentropy::new()),
        "categorical_focal_crossentropy" => Box::new(CategoricalFocalCrossentropy::new()),
        "kl_divergence" | "kld" | "kullback_leibler_divergence" => Box::new(KLDivergence::new()),
        "poisson" => Box::new(Poisson::new()),
        "hinge" => Box::new(Hinge::new()),
        "squared_hinge" => Box::new(SquaredHinge::new()),
        "categorical_hinge" => Box::new(CategoricalHinge::new()),
        "cosine_similarity" => Box::new(CosineSimilarity::new()),
        "categorical_crossentropy" => Box::new(CategoricalCrossentropy::new()),
        "sparse_categorical_crossentropy" => Box::new(SparseCategoricalCrossentropy::new()),
        other => return Err(Error::unknown("loss", other, LOSS_NAMES)),
    })
}

/// Rebuilds a loss from its Keras name and its `get_config` (used when loading a saved
/// model's training configuration).
///
/// ```
/// use stratanet::losses::{self, BinaryCrossentropy, Loss};
/// use stratanet::DefaultBackend as B;
/// # fn main() -> stratanet::Result<()> {
/// let l = BinaryCrossentropy::new().from_logits(true).label_smoothing(0.1);
/// let cfg = Loss::<B>::get_config(&l);
/// let back = losses::from_config::<B>("binary_crossentropy", &cfg)?;
/// assert_eq!(back.get_config(), cfg);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// Unknown names or malformed values.
pub fn from_config<B: Backend>(name: &str, config: &serde_json::Value) -> Result<Box<dyn Loss<B>>> {
    let f = |k: &str, d: f64| config.get(k).and_then(|v| v.as_f64()).unwrap_or(d);
    let b = |k: &str| config.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
    let reduction = match config.get("reduction").and_then(|v| v.as_str()) {
        Some(r) => Reduction::parse(r)?,
        None => Reduction::default(),
    };
    macro_rules! simple {
        ($t:ident) => {{
            let mut l = $t::new();
            l.reduction = reduction;
            Box::new(l)
        }};
    }
    Ok(match name {
        "mean_squared_error" | "mse" => {
            if reduction == Reduction::default() {
                Box::new(MeanSquaredError)
            } else {
                Box::new(Reduced::new(MeanSquaredError, reduction))
            }
        }
        "mean_absolute_error" | "mae" => {
            if reduction == Reduction::default() {
                Box::new(MeanAbsoluteError)
            } else {
                Box::new(Reduced::new(MeanAbsoluteError, reduction))
            }
        }
        "huber" | "huber_loss" => Box::new(Huber::new(f("delta", 1.0)).reduction(reduction)),
        "binary_crossentropy" | "bce" => Box::new(BinaryCrossentropy {
            from_logits: b("from_logits"),
            label_smoothing: f("label_smoothing", 0.0),
            reduction,
        }),
        "categorical_crossentropy" => Box::new(CategoricalCrossentropy {
            from_logits: b("from_logits"),
            label_smoothing: f("label_smoothing", 0.0),
            reduction,
        }),
        "sparse_categorical_crossentropy" => Box::new(SparseCategoricalCrossentropy {
            from_logits: b("from_logits"),
            reduction,
        }),
        "binary_focal_crossentropy" => Box::new(BinaryFocalCrossentropy {
            apply_class_balancing: b("apply_class_balancing"),
            alpha: f("alpha", 0.25),
            gamma: f("gamma", 2.0),
            from_logits: b("from_logits"),
            label_smoothing: f("label_smoothing", 0.0),
            reduction,
        }),
        "categorical_focal_crossentropy" => Box::new(CategoricalFocalCrossentropy {
            alpha: f("alpha", 0.25),
            gamma: f("gamma", 2.0),
            from_logits: b("from_logits"),
            label_smoothing: f("label_smoothing", 0.0),
            reduction,
        }),
        "kl_divergence" | "kld" | "kullback_leibler_divergence" => simple!(KLDivergence),
        "poisson" => simple!(Poisson),
        "hinge" => simple!(Hinge),
        "squared_hinge" => simple!(SquaredHinge),
        "categorical_hinge" => simple!(CategoricalHinge),
        "log_cosh" | "logcosh" => simple!(LogCosh),
        "cosine_similarity" => simple!(CosineSimilarity),
        "mean_absolute_percentage_error" | "mape" => simple!(MeanAbsolutePercentageError),
        "mean_squared_logarithmic_error" | "msle" => simple!(MeanSquaredLogarithmicError),
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
    KLDivergence,
    Poisson,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    LogCosh,
    CosineSimilarity,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
);

impl<B: Backend, L: Loss<B> + 'static> IntoLoss<B> for Reduced<L> {
    fn into_loss(self) -> Result<Box<dyn Loss<B>>> {
        Ok(Box::new(self))
    }
}
