//! Losses by name: [`LOSS_NAMES`], [`get`], [`from_config`], and [`IntoLoss`], what
//! `compile` accepts.

use super::*;
use super::{Loss, Reduced, Reduction};
use crate::backend::Backend;
use crate::error::{Error, Result};

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
