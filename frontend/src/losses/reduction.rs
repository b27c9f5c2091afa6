//! [`Reduction`]s, Keras' `reduce_weighted_values`, and [`Reduced`], any loss with
//! another reduction.

use super::{Loss, TargetKind};
use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde_json::json;

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

/// Written as Keras' spelling; reading an unknown one is [`Error::UnknownName`].
impl serde::Serialize for Reduction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Reduction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Reduction::parse(&name).map_err(crate::error::field_error)
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
pub(super) fn divide_no_nan<B: Backend>(a: &Tensor<B>, b: &Tensor<B>) -> Result<Tensor<B>> {
    let zero = b.eq(&b.zeros_like()?)?;
    let safe = zero.where_cond(&b.ones_like()?, b)?;
    zero.where_cond(&a.zeros_like()?, &a.div(&safe)?)
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
