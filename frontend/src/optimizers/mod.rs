//! Optimizers, following Keras 3: [`Sgd`], [`Adam`], [`AdamW`], [`RmsProp`], [`Adagrad`],
//! [`Adadelta`], [`Adamax`], [`Nadam`] and [`Lion`].
//!
//! They update parameters in place (the parameter keeps its identity, so the model sees the
//! new values) and keep their state as named tensors on the device. Every optimizer shares
//! Keras' base options ([`OptimizerOptions`]), set through the same builder methods on each
//! type:
//!
//! - a learning rate or a [schedule](schedules), evaluated at the step count;
//! - `weight_decay`: decoupled, `p -= p * weight_decay * lr` before each update;
//! - `clipnorm` (each gradient clipped to that L2 norm), `global_clipnorm` (all gradients
//!   scaled together so that their joint norm is at most that) or `clipvalue` (each
//!   element clamped to `[-v, v]`): at most one of the three;
//! - `gradient_accumulation_steps(n)`: the parameters change only every `n`-th call to
//!   [`Optimizer::apply`], with the mean of the last `n` gradients.
//!
//! Per update, in Keras' order: accumulate (or average the accumulated gradients), clip,
//! decay the weights, then the optimizer's own rule.
//!
//! ```
//! use stratanet::optimizers::{Adam, Optimizer};
//! use stratanet::schedules::CosineDecay;
//! use stratanet::{DefaultBackend as B, Tensor};
//! # fn main() -> stratanet::Result<()> {
//! let w = Tensor::<B>::from_vec(vec![1.0f32, -2.0, 0.5], &[3])?.to_param()?;
//! let mut opt = Adam::<B>::new(CosineDecay::new(0.01, 1000))
//!     .amsgrad(true)
//!     .weight_decay(0.01)
//!     .global_clipnorm(1.0);
//! for _ in 0..3 {
//!     let loss = w.square()?.sum_all()?;
//!     let grads = loss.grad(std::slice::from_ref(&w))?;
//!     opt.apply(std::slice::from_ref(&w), &grads)?;
//! }
//! assert_eq!(opt.iterations(), 3);
//! let names: Vec<String> = opt.variables().into_iter().map(|(n, _)| n).collect();
//! assert_eq!(names, ["m/0", "v/0", "vhat/0"]);
//! # Ok(())
//! # }
//! ```

pub mod schedules;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

pub use schedules::{LearningRate, LearningRateSchedule};

/// A gradient-descent optimizer.
pub trait Optimizer<B: Backend>: Send + Sync + std::fmt::Debug {
    /// Keras name (`adam`).
    fn name(&self) -> &'static str;
    /// The learning rate the next update will use (for a schedule: its value at the
    /// current step count).
    fn learning_rate(&self) -> f64;
    /// Sets a constant learning rate (replacing any schedule), as callbacks such as
    /// `ReduceLROnPlateau` do.
    fn set_learning_rate(&mut self, lr: f64);
    /// Number of update steps applied so far (with gradient accumulation: updates, not
    /// calls to [`apply`](Self::apply), like Keras' `optimizer.iterations`).
    fn iterations(&self) -> u64;
    /// Sets the step count, when restoring a saved optimizer (bias corrections and
    /// schedules continue from there). With gradient accumulation the position inside the
    /// current accumulation cycle is kept (it is restored by
    /// [`set_variables`](Self::set_variables) from `gradient_accumulator/count`).
    fn set_iterations(&mut self, n: u64);
    /// Applies one update. `params[i]` pairs with `grads[i]` across calls (the slot order
    /// is fixed by the model); a `None` gradient leaves that parameter unchanged.
    ///
    /// # Errors
    /// When a gradient's shape differs from its parameter's, or on engine errors.
    fn apply(&mut self, params: &[Tensor<B>], grads: &[Option<Tensor<B>>]) -> Result<()>;
    /// State tensors by name (`m/3`, `v/3`: slot `m` of parameter 3), for saving.
    ///
    /// Like Keras' `optimizer.variables`, these are the live state: optimizers with a
    /// fused step (Adam, AdamW, SGD) update them in place, so a later
    /// [`apply`](Self::apply) changes their values. Copy them to keep a snapshot.
    fn variables(&self) -> Vec<(String, Tensor<B>)>;
    /// Restores state tensors saved from [`variables`](Self::variables). Slots not named
    /// keep their values; slots of a parameter not yet seen are created. The values are
    /// copied: the given tensors are never updated by later steps.
    ///
    /// ```
    /// use stratanet::optimizers::{Adam, Optimizer};
    /// use stratanet::{DefaultBackend as B, Tensor};
    /// # fn main() -> stratanet::Result<()> {
    /// let g = Tensor::<B>::from_vec(vec![0.5f32, -1.0], &[2])?;
    /// let p1 = Tensor::<B>::from_vec(vec![1.0f32, 2.0], &[2])?.to_param()?;
    /// let mut a = Adam::<B>::new(0.1);
    /// a.apply(&[p1.clone()], &[Some(g.clone())])?;
    /// // `b` continues from a copy of `a`'s state: both then take the same step.
    /// let p2 = Tensor::<B>::from_vec(p1.to_vec_f32()?, &[2])?.to_param()?;
    /// let mut b = Adam::<B>::new(0.1);
    /// b.set_variables(&a.variables())?;
    /// b.set_iterations(a.iterations());
    /// a.apply(&[p1.clone()], &[Some(g.clone())])?;
    /// b.apply(&[p2.clone()], &[Some(g)])?;
    /// assert_eq!(p1.to_vec_f32()?, p2.to_vec_f32()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] for a name this optimizer does not have (or a parameter given
    /// only some of its slots), [`Error::Shape`] when the slots of one parameter disagree
    /// in shape or differ from the current state's shape. Nothing changes on error.
    fn set_variables(&mut self, vars: &[(String, Tensor<B>)]) -> Result<()>;
    /// Hyper-parameters as JSON.
    fn get_config(&self) -> serde_json::Value;
    /// The factor the training step multiplies the loss by before backpropagation, for an
    /// optimizer that unscales the gradients itself ([`LossScaleOptimizer`]); `None` (the
    /// default) for plain optimizers.
    fn loss_scale(&self) -> Option<f64> {
        None
    }
}

#[macro_use]
mod hyper;
mod adadelta;
mod adagrad;
mod adam;
mod adamax;
mod adamw;
mod config;
mod lion;
mod loss_scale;
mod nadam;
mod options;
mod rmsprop;
mod sgd;
mod update;

pub use adadelta::{Adadelta, AdadeltaConfig};
pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig};
pub use adamax::{Adamax, AdamaxConfig};
pub use adamw::AdamW;
pub use config::{from_config, learning_rate_from_config};
pub use lion::{Lion, LionConfig};
pub use loss_scale::{LossScaleOptimizer, DYNAMIC_GROWTH_STEPS, INITIAL_SCALE};
pub use nadam::{Nadam, NadamConfig};
pub use options::OptimizerOptions;
pub use rmsprop::{RMSprop, RmsProp, RmsPropConfig};
pub use sgd::{Sgd, SgdConfig, SGD};
pub(crate) use update::{Core, Rule, Update};

/// Known optimizer names.
pub const OPTIMIZER_NAMES: &[&str] = &[
    "sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "lion",
];

/// `Default` for each optimizer: Keras' defaults, learning rate included.
macro_rules! keras_defaults {
    ($($ty:ident => $lr:expr),* $(,)?) => {$(
        impl<B: Backend> Default for $ty<B> {
            #[doc = concat!(
                "Keras' defaults: `keras.optimizers.", stringify!($ty), "()`, learning rate ",
                stringify!($lr), "."
            )]
            fn default() -> Self {
                Self::new($lr)
            }
        }
    )*};
}
keras_defaults!(
    Sgd => 0.01,
    Adam => 0.001,
    AdamW => 0.001,
    RmsProp => 0.001,
    Adagrad => 0.001,
    Adadelta => 0.001,
    Adamax => 0.001,
    Nadam => 0.001,
    Lion => 0.001,
);

/// An optimizer by Keras name with Keras' defaults (`sgd`: lr 0.01; all others lr 0.001;
/// `adamw`: weight decay 0.004).
///
/// ```
/// use stratanet::optimizers::{self, Optimizer};
/// use stratanet::DefaultBackend as B;
/// let opt = optimizers::get::<B>("rmsprop")?;
/// assert_eq!(opt.get_config()["rho"], 0.9);
/// # Ok::<(), stratanet::Error>(())
/// ```
///
/// # Errors
/// [`Error::UnknownName`].
pub fn get<B: Backend>(name: &str) -> Result<Box<dyn Optimizer<B>>> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "sgd" => Box::new(Sgd::default()),
        "adam" => Box::new(Adam::default()),
        "adamw" => Box::new(AdamW::default()),
        "rmsprop" => Box::new(RmsProp::default()),
        "adagrad" => Box::new(Adagrad::default()),
        "adadelta" => Box::new(Adadelta::default()),
        "adamax" => Box::new(Adamax::default()),
        "nadam" => Box::new(Nadam::default()),
        "lion" => Box::new(Lion::default()),
        other => return Err(Error::unknown("optimizer", other, OPTIMIZER_NAMES)),
    })
}

/// Anything `compile` accepts as an optimizer: a name, a boxed optimizer or any optimizer
/// type.
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
