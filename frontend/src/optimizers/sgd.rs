//! Stochastic gradient descent.

use super::hyper::write_config;
use super::{Core, LearningRate, Rule};
use crate::backend::{Backend, SgdStep};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde_json::{Map, Value};

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
#[derive(Debug)]
pub struct Sgd<B: Backend> {
    core: Core<B, SgdConfig>,
}

hyper_parameters! {
    /// Sgd's hyper-parameters, with Keras' names and defaults (its `get_config` fields
    /// besides the shared options).
    pub struct SgdConfig for [Sgd] at core.rule {
        /// Momentum factor in `[0, 1)` (default 0: none).
        momentum: f64 = 0.0,
        /// Nesterov momentum (default off).
        nesterov: bool = false,
    }
}

impl<B: Backend> Sgd<B> {
    /// Sgd with learning rate (or schedule) `lr` and the hyper-parameters `config`.
    pub fn with_config(lr: impl Into<LearningRate>, config: SgdConfig) -> Self {
        Self {
            core: Core::new(config, lr.into()),
        }
    }
}

optimizer_common!(Sgd);

impl Rule for SgdConfig {
    fn name(&self) -> &'static str {
        "sgd"
    }
    fn validate(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(Error::invalid(
                "sgd",
                "momentum",
                format!("must be in [0, 1), got {}", self.momentum),
            ));
        }
        Ok(())
    }
    fn slots(&self) -> Vec<(&'static str, f64)> {
        if self.momentum > 0.0 {
            vec![("momentum", 0.0)]
        } else {
            vec![]
        }
    }
    /// One fused, in-place engine step ([`OptimOps::sgd_step`](crate::backend::OptimOps::sgd_step)).
    fn step<B: Backend>(
        &self,
        p: &Tensor<B>,
        g: &Tensor<B>,
        slots: &mut [Tensor<B>],
        lr: f64,
        _step: u64,
        decay: Option<f64>,
    ) -> Result<()> {
        let h = SgdStep {
            lr,
            momentum: self.momentum,
            nesterov: self.nesterov,
            decay: decay.unwrap_or(1.0),
        };
        let velocity = slots.first().map(|v| v.inner());
        B::sgd_step(p.inner(), g.inner(), velocity, &h)
    }
    fn config(&self, map: &mut Map<String, Value>) {
        write_config(self, map);
    }
}
