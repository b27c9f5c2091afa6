//! Losses by name: [`LOSS_NAMES`], [`get`], [`from_config`], and [`IntoLoss`], what
//! `compile` accepts.

use super::*;
use super::{Loss, Reduced, Reduction};
use crate::backend::Backend;
use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;

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
    /// A loss from its config struct.
    fn read<B: Backend, L: Loss<B> + DeserializeOwned + 'static>(
        name: &str,
        config: &Value,
    ) -> Result<Box<dyn Loss<B>>> {
        crate::error::take_field_error();
        let loss = L::deserialize(config).map_err(|e| {
            crate::error::take_field_error()
                .unwrap_or_else(|| Error::config(format!("loss.{name}"), e.to_string()))
        })?;
        Ok(Box::new(loss))
    }
    /// A unit loss, wrapped in [`Reduced`] for a reduction other than the default.
    fn unit<B: Backend, L: Loss<B> + Copy + 'static>(
        loss: L,
        config: &Value,
    ) -> Result<Box<dyn Loss<B>>> {
        Ok(match config.get("reduction").and_then(Value::as_str) {
            Some(r) if Reduction::parse(r)? != Reduction::default() => {
                Box::new(Reduced::new(loss, Reduction::parse(r)?))
            }
            _ => Box::new(loss),
        })
    }
    let empty = Value::Object(Default::default());
    let config = if config.is_null() { &empty } else { config };
    match name {
        "mean_squared_error" | "mse" => unit(MeanSquaredError, config),
        "mean_absolute_error" | "mae" => unit(MeanAbsoluteError, config),
        "huber" | "huber_loss" => read::<B, Huber>(name, config),
        "binary_crossentropy" | "bce" => read::<B, BinaryCrossentropy>(name, config),
        "categorical_crossentropy" => read::<B, CategoricalCrossentropy>(name, config),
        "sparse_categorical_crossentropy" => read::<B, SparseCategoricalCrossentropy>(name, config),
        "binary_focal_crossentropy" => read::<B, BinaryFocalCrossentropy>(name, config),
        "categorical_focal_crossentropy" => read::<B, CategoricalFocalCrossentropy>(name, config),
        "kl_divergence" | "kld" | "kullback_leibler_divergence" => {
            read::<B, KLDivergence>(name, config)
        }
        "poisson" => read::<B, Poisson>(name, config),
        "hinge" => read::<B, Hinge>(name, config),
        "squared_hinge" => read::<B, SquaredHinge>(name, config),
        "categorical_hinge" => read::<B, CategoricalHinge>(name, config),
        "log_cosh" | "logcosh" => read::<B, LogCosh>(name, config),
        "cosine_similarity" => read::<B, CosineSimilarity>(name, config),
        "mean_absolute_percentage_error" | "mape" => {
            read::<B, MeanAbsolutePercentageError>(name, config)
        }
        "mean_squared_logarithmic_error" | "msle" => {
            read::<B, MeanSquaredLogarithmicError>(name, config)
        }
        other => Err(Error::unknown("loss", other, LOSS_NAMES)),
    }
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
