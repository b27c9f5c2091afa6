//! Weight regularisers whose penalty is added to the training loss.

use crate::backend::Backend;
use crate::error::Result;
use crate::tensor::Tensor;

/// An L1/L2 penalty on a weight: `l1 * sum(|w|) + l2 * sum(w^2)` (Keras' `L1L2`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Regularizer {
    /// L1 factor.
    pub l1: f64,
    /// L2 factor.
    pub l2: f64,
}

impl Regularizer {
    /// `l1 * sum(|w|)`.
    pub fn l1(l1: f64) -> Self {
        Self { l1, l2: 0.0 }
    }
    /// `l2 * sum(w^2)` (Keras' default factor is 0.01).
    pub fn l2(l2: f64) -> Self {
        Self { l1: 0.0, l2 }
    }
    /// Both.
    pub fn l1_l2(l1: f64, l2: f64) -> Self {
        Self { l1, l2 }
    }

    /// The penalty for `w`, a rank-0 tensor.
    pub fn penalty<B: Backend>(&self, w: &Tensor<B>) -> Result<Tensor<B>> {
        let mut total = w.scalar_like(0.0)?;
        if self.l1 != 0.0 {
            total = total.add(&w.abs()?.sum_all()?.mul_scalar(self.l1)?)?;
        }
        if self.l2 != 0.0 {
            total = total.add(&w.square()?.sum_all()?.mul_scalar(self.l2)?)?;
        }
        Ok(total)
    }

    /// Config as JSON.
    pub fn to_config(&self) -> serde_json::Value {
        serde_json::json!({"l1": self.l1, "l2": self.l2})
    }

    /// Inverse of [`Regularizer::to_config`].
    pub fn from_config(v: &serde_json::Value) -> Option<Self> {
        if v.is_null() {
            return None;
        }
        Some(Self {
            l1: v.get("l1").and_then(|x| x.as_f64()).unwrap_or(0.0),
            l2: v.get("l2").and_then(|x| x.as_f64()).unwrap_or(0.0),
        })
    }
}

crate::config_serde::serde_via_config! {
    /// Written as [`Regularizer::to_config`] writes it (`{"l1": .., "l2": ..}`).
    Serialize for Regularizer;
    /// Read as [`Regularizer::from_config`] reads it (missing or non-numeric factors are 0;
    /// `null` is the absence of a regulariser, through `Option<Regularizer>`).
    Deserialize with |v| Ok(Self::from_config(v).unwrap_or(Self { l1: 0.0, l2: 0.0 }));
}
