//! RMSprop.

use super::update::require;
use super::{Rule, Update};
use crate::backend::Backend;
use crate::error::Result;

optimizer! {
    /// RMSprop, following Keras 3 (defaults lr 0.001, rho 0.9, momentum 0, epsilon 1e-7,
    /// centered off):
    ///
    /// ```text
    /// velocity = rho * velocity + (1 - rho) * g^2
    /// average_gradient = rho * average_gradient + (1 - rho) * g          (centered only)
    /// denominator = velocity + epsilon      (centered: velocity - average_gradient^2 + epsilon)
    /// increment = lr * g / sqrt(denominator)
    /// momentum = momentum_factor * momentum + increment;  p -= momentum  (with momentum)
    /// p -= increment                                                     (without)
    /// ```
    ///
    /// State: `velocity/<i>`, plus `momentum/<i>` with momentum and `average_gradient/<i>` when
    /// centered.
    ///
    /// PyTorch's `torch.optim.RMSprop` (`alpha` = rho) adds epsilon outside the square root
    /// (`g / (sqrt(velocity) + eps)`) and keeps its momentum buffer without the rate
    /// (`buf = momentum * buf + g / avg; p -= lr * buf`): for a constant rate it differs only in
    /// the epsilon placement.
    ///
    /// ```
    /// use stratanet::optimizers::{Optimizer, RmsProp};
    /// use stratanet::{DefaultBackend as B, Tensor};
    /// # fn main() -> stratanet::Result<()> {
    /// let p = Tensor::<B>::from_vec(vec![1.0f64], &[1])?.to_param()?;
    /// let g = Tensor::<B>::from_vec(vec![2.0f64], &[1])?;
    /// let mut opt = RmsProp::<B>::new(0.01).rho(0.9).momentum(0.5).centered(true);
    /// opt.apply(&[p.clone()], &[Some(g)])?;
    /// // velocity 0.4, average 0.2: p = 1 - 0.01 * 2 / sqrt(0.4 - 0.04 + 1e-7)
    /// let want = 1.0 - 0.02 / (0.36f64 + 1e-7).sqrt();
    /// assert!((p.to_vec_f64()?[0] - want).abs() < 1e-12);
    /// # Ok(())
    /// # }
    /// ```
    #[doc(alias = "RMSprop")]
    pub struct RmsProp("rmsprop", RmsPropConfig) {
        /// Discount factor of the squared-gradient average (default 0.9).
        rho: f64 = 0.9,
        /// Momentum factor (default 0: none).
        momentum: f64 = 0.0,
        /// Epsilon, added under the square root (default 1e-7).
        epsilon: f64 = 1e-7,
        /// Normalise by the estimated variance of the gradient instead of its second moment
        /// (default off).
        centered: bool = false,
    }
}

/// Keras' spelling of [`RmsProp`] (`keras.optimizers.RMSprop`).
pub type RMSprop<B> = RmsProp<B>;

impl Rule for RmsPropConfig {
    fn validate(&self, name: &str) -> Result<()> {
        let ok = self.momentum >= 0.0 || self.momentum.is_nan();
        require(ok, name, "momentum", ">= 0", self.momentum)
    }
    fn slots(&self) -> Vec<(&'static str, f64)> {
        let mut s = vec![("velocity", 0.0)];
        if self.momentum > 0.0 {
            s.push(("momentum", 0.0));
        }
        if self.centered {
            s.push(("average_gradient", 0.0));
        }
        s
    }
    fn update<B: Backend>(&self, u: Update<'_, B>) -> Result<()> {
        let (w, g, slots, lr) = (u.decayed()?, u.g, u.slots, u.lr);
        let rho = self.rho;
        let velocity = slots[0]
            .mul_scalar(rho)?
            .add(&g.square()?.mul_scalar(1.0 - rho)?)?;
        let denominator = if self.centered {
            let k = slots.len() - 1;
            let avg = slots[k].mul_scalar(rho)?.add(&g.mul_scalar(1.0 - rho)?)?;
            let d = velocity.sub(&avg.square()?)?.add_scalar(self.epsilon)?;
            slots[k] = avg;
            d
        } else {
            velocity.add_scalar(self.epsilon)?
        };
        slots[0] = velocity;
        let increment = g.mul_scalar(lr)?.div(&denominator.sqrt()?)?;
        if self.momentum > 0.0 {
            let m = slots[1].mul_scalar(self.momentum)?.add(&increment)?;
            slots[1] = m.clone();
            u.p.assign(&w.sub(&m)?)
        } else {
            u.p.assign(&w.sub(&increment)?)
        }
    }
}
