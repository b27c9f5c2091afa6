//! Adam.

use super::{AdamW, Rule, Update};
use crate::backend::{AdamStep, Backend};
use crate::error::{Error, Result};

optimizer! {
    /// Adam, following Keras 3 (defaults lr 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7,
    /// amsgrad off):
    ///
    /// ```text
    /// m = m + (g - m) * (1 - beta_1)
    /// v = v + (g^2 - v) * (1 - beta_2)
    /// v_hat = max(v_hat, v)                       (amsgrad only; then v_hat replaces v below)
    /// lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    /// p = p - lr_t * m / (sqrt(v) + epsilon)
    /// ```
    ///
    /// State: `m/<i>`, `v/<i>` and, with amsgrad, `vhat/<i>`.
    ///
    /// This differs from PyTorch's Adam only in where epsilon enters (PyTorch adds it to
    /// `sqrt(v_hat)`, i.e. Keras' epsilon scaled by `sqrt(1 - beta_2^t)`); with AMSGrad
    /// PyTorch's `max_exp_avg_sq` is Keras' `v_hat`. Keras' decoupled weight decay
    /// ([`weight_decay`](Self::weight_decay)) is `torch.optim.AdamW`'s.
    ///
    /// ```
    /// use stratanet::optimizers::{Adam, Optimizer};
    /// use stratanet::{DefaultBackend as B, Tensor};
    /// # fn main() -> stratanet::Result<()> {
    /// let p = Tensor::<B>::from_vec(vec![1.0f32, -1.0], &[2])?.to_param()?;
    /// let g = Tensor::<B>::from_vec(vec![0.5f32, -2.0], &[2])?;
    /// let mut opt = Adam::<B>::new(0.1).amsgrad(true);
    /// opt.apply(&[p.clone()], &[Some(g)])?;
    /// // the first Adam step moves every coordinate by about lr against its gradient's sign
    /// let v = p.to_vec_f32()?;
    /// assert!((v[0] - 0.9).abs() < 1e-5 && (v[1] + 0.9).abs() < 1e-5);
    /// # Ok(())
    /// # }
    /// ```
    pub struct Adam("adam", AdamConfig) also [AdamW] {
        /// First-moment decay (default 0.9).
        beta_1: f64 = 0.9,
        /// Second-moment decay (default 0.999).
        beta_2: f64 = 0.999,
        /// Epsilon, added to `sqrt(v)` (default 1e-7).
        epsilon: f64 = 1e-7,
        /// AMSGrad: divide by the running maximum of `v` (default off).
        amsgrad: bool = false,
    }
}

impl Rule for AdamConfig {
    fn slots(&self) -> Vec<(&'static str, f64)> {
        if self.amsgrad {
            vec![("m", 0.0), ("v", 0.0), ("vhat", 0.0)]
        } else {
            vec![("m", 0.0), ("v", 0.0)]
        }
    }
    /// One fused, in-place engine step ([`OptimOps::adam_step`](crate::backend::OptimOps::adam_step)): the moments are
    /// updated where they are, the parameter keeps its identity.
    fn update<B: Backend>(&self, u: Update<'_, B>) -> Result<()> {
        let t = u.step as f64;
        let h = AdamStep {
            lr_t: u.lr * (1.0 - self.beta_2.powf(t)).sqrt() / (1.0 - self.beta_1.powf(t)),
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            decay: u.decay.unwrap_or(1.0),
        };
        let (p, g) = (u.p.inner(), u.g.inner());
        match u.slots {
            [m, v] => B::adam_step(p, g, m.inner(), v.inner(), None, &h),
            [m, v, vhat] => B::adam_step(p, g, m.inner(), v.inner(), Some(vhat.inner()), &h),
            slots => Err(Error::invalid(
                "adam",
                "slots",
                format!("expected 2 or 3 state tensors, got {}", slots.len()),
            )),
        }
    }
}
