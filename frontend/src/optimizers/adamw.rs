//! AdamW.

use super::adam::{AdamConfig, AdamRule};
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
    pub(super) core: Core<B, AdamRule>,
}

impl<B: Backend> AdamW<B> {
    /// AdamW with learning rate (or schedule) `lr`, weight decay 0.004 and the
    /// hyper-parameters `config`.
    pub fn with_config(lr: impl Into<LearningRate>, config: AdamConfig) -> Self {
        let rule = AdamRule {
            name: "adamw",
            cfg: config,
        };
        let mut core = Core::new(rule, lr.into());
        core.options.weight_decay = Some(0.004);
        Self { core }
    }
}

optimizer_common!(AdamW);
