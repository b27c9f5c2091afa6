//! AdamW.

use super::adam::{adam_builders, AdamRule};
use super::{Core, LearningRate};
use crate::backend::Backend;

/// AdamW: Keras' `AdamW`, which is [`Adam`](super::Adam) with decoupled weight decay on by default
/// (weight_decay 0.004; `p -= p * weight_decay * lr` before each step, exactly
/// `torch.optim.AdamW`'s decay). Same options and state names as [`Adam`](super::Adam).
///
/// ```
/// use stratanet::optimizers::{AdamW, Optimizer};
/// use stratanet::DefaultBackend as B;
/// let opt = AdamW::<B>::new(1e-3);
/// assert_eq!(opt.name(), "adamw");
/// assert_eq!(opt.get_config()["weight_decay"], 0.004);
/// ```
#[derive(Debug)]
pub struct AdamW<B: Backend> {
    core: Core<B, AdamRule>,
}

impl<B: Backend> AdamW<B> {
    /// AdamW with learning rate (or schedule) `lr`, weight decay 0.004 and Keras' other
    /// defaults.
    pub fn new(lr: impl Into<LearningRate>) -> Self {
        let mut core = Core::new(AdamRule::new("adamw"), lr.into());
        core.options.weight_decay = Some(0.004);
        Self { core }
    }
}

adam_builders!(AdamW);
optimizer_common!(AdamW);
