//! Stochastic gradient descent.

use super::update::require;
use super::{Rule, Update};
use crate::backend::{Backend, SgdStep};
use crate::error::Result;

optimizer! {
    /// SGD with optional momentum and Nesterov momentum, following Keras 3 (defaults: lr 0.01
    /// from [`get`](super::get), momentum 0, no Nesterov):
    ///
    /// - plain: `p -= lr * g`;
    /// - momentum: `v = momentum * v - lr * g`, then `p += v`, or with Nesterov
    ///   `p += momentum * v - lr * g`.
    ///
    /// State: `momentum/<i>` (Keras' velocity `v`), only with momentum. For a constant rate
    /// this equals PyTorch's `torch.optim.SGD` (dampening 0) with `v = -lr * momentum_buffer`;
    /// with a schedule they differ (Keras' velocity carries the earlier rates, PyTorch's buffer
    /// is scaled by the current one). Plus the shared options of [`OptimizerOptions`]
    /// (weight decay, clipping, accumulation).
    ///
    /// [`OptimizerOptions`]: super::OptimizerOptions
    ///
    /// ```
    /// use stratanet::{optimizers::{Optimizer, Sgd}, Tensor, DefaultBackend as B};
    /// # fn main() -> stratanet::Result<()> {
    /// let p = Tensor::<B>::from_vec(vec![1.0f32, 2.0], &[2])?.to_param()?;
    /// let g = Tensor::<B>::from_vec(vec![0.5f32, -1.0], &[2])?;
    /// let mut opt = Sgd::new(0.1);
    /// opt.apply(&[p.clone()], &[Some(g)])?;
    /// assert_eq!(p.to_vec_f32()?, vec![0.95, 2.1]);
    ///
    /// let nesterov = Sgd::<B>::new(0.1).momentum(0.9).nesterov(true).clipnorm(1.0);
    /// assert_eq!(nesterov.get_config()["nesterov"], true);
    /// # Ok(())
    /// # }
    /// ```
    #[doc(alias = "SGD")]
    pub struct Sgd("sgd", SgdConfig) {
        /// Momentum factor in `[0, 1)` (default 0: none).
        momentum: f64 = 0.0,
        /// Nesterov momentum (default off).
        nesterov: bool = false,
    }
}

/// Keras' spelling of [`Sgd`] (`keras.optimizers.SGD`), so `SGD::new(0.01)` compiles too.
#[allow(clippy::upper_case_acronyms)]
pub type SGD<B> = Sgd<B>;

impl Rule for SgdConfig {
    fn validate(&self, name: &str) -> Result<()> {
        let ok = (0.0..1.0).contains(&self.momentum);
        require(ok, name, "momentum", "in [0, 1)", self.momentum)
    }
    fn slots(&self) -> Vec<(&'static str, f64)> {
        if self.momentum > 0.0 {
            vec![("momentum", 0.0)]
        } else {
            vec![]
        }
    }
    /// One fused, in-place engine step ([`OptimOps::sgd_step`](crate::backend::OptimOps::sgd_step)).
    fn update<B: Backend>(&self, u: Update<'_, B>) -> Result<()> {
        let h = SgdStep {
            lr: u.lr,
            momentum: self.momentum,
            nesterov: self.nesterov,
            decay: u.decay.unwrap_or(1.0),
        };
        let velocity = u.slots.first().map(|v| v.inner());
        B::sgd_step(u.p.inner(), u.g.inner(), velocity, &h)
    }
}
