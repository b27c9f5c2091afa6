//! AdamW.

use super::AdamConfig;

optimizer! {
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
    pub struct AdamW("adamw", AdamConfig, weight_decay 0.004);
}
