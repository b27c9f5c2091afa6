//! Optimizers. They update parameters in place (the parameter keeps its identity) and keep
//! their state as named tensors on the device.

mod adam;
mod sgd;

pub use adam::Adam;
pub use sgd::Sgd;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A gradient-descent optimizer.
pub trait Optimizer<B: Backend>: Send + std::fmt::Debug {
    /// Keras name (`adam`).
    fn name(&self) -> &'static str;
    /// The learning rate the next update will use (for a schedule: its value at the
    /// current step count).
    fn learning_rate(&self) -> f64;
    /// Sets a constant learning rate (replacing any schedule), as callbacks such as
    /// `ReduceLROnPlateau` do.
    fn set_learning_rate(&mut self, lr: f64);
    /// Number of update steps applied so far.
    fn iterations(&self) -> u64;
    /// Applies one update. `params[i]` pairs with `grads[i]` across calls (the slot order
    /// is fixed by the model); a `None` gradient leaves that parameter unchanged.
    ///
    /// # Errors
    /// When a gradient's shape differs from its parameter's, or on engine errors.
    fn apply(&mut self, params: &[Tensor<B>], grads: &[Option<Tensor<B>>]) -> Result<()>;
    /// State tensors by name (`m/3`, `v/3`), for saving.
    fn variables(&self) -> Vec<(String, Tensor<B>)>;
    /// Hyper-parameters as JSON.
    fn get_config(&self) -> serde_json::Value;
}

pub(crate) fn check_pair<B: Backend>(op: &str, p: &Tensor<B>, g: &Tensor<B>) -> Result<()> {
    if p.shape() != g.shape() {
        return Err(Error::mismatch(
            format!("{op}: parameter and gradient"),
            &p.shape(),
            &g.shape(),
        ));
    }
    Ok(())
}

/// Known optimizer names.
pub const OPTIMIZER_NAMES: &[&str] = &["sgd", "adam"];

/// An optimizer by Keras name with Keras' defaults (`sgd`: lr 0.01, `adam`: lr 0.001).
///
/// # Errors
/// [`Error::UnknownName`].
pub fn get<B: Backend>(name: &str) -> Result<Box<dyn Optimizer<B>>> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "sgd" => Box::new(Sgd::new(0.01)),
        "adam" => Box::new(Adam::new(0.001)),
        other => return Err(Error::unknown("optimizer", other, OPTIMIZER_NAMES)),
    })
}

/// Anything `compile` accepts as an optimizer.
pub trait IntoOptimizer<B: Backend> {
    /// Resolves into a boxed optimizer.
    ///
    /// # Errors
    /// For unknown names.
    fn into_optimizer(self) -> Result<Box<dyn Optimizer<B>>>;
}

impl<B: Backend> IntoOptimizer<B> for &str {
    fn into_optimizer(self) -> Result<Box<dyn Optimizer<B>>> {
        get(self)
    }
}
impl<B: Backend> IntoOptimizer<B> for Box<dyn Optimizer<B>> {
    fn into_optimizer(self) -> Result<Box<dyn Optimizer<B>>> {
        Ok(self)
    }
}
impl<B: Backend> IntoOptimizer<B> for Sgd<B> {
    fn into_optimizer(self) -> Result<Box<dyn Optimizer<B>>> {
        Ok(Box::new(self))
    }
}
impl<B: Backend> IntoOptimizer<B> for Adam<B> {
    fn into_optimizer(self) -> Result<Box<dyn Optimizer<B>>> {
        Ok(Box::new(self))
    }
}
