//! Adamax.

use super::{Rule, Update};
use crate::backend::Backend;
use crate::error::Result;

optimizer! {
    /// Adamax (Adam with the infinity norm), following Keras 3 (defaults lr 0.001, beta_1 0.9,
    /// beta_2 0.999, epsilon 1e-7):
    ///
    /// ```text
    /// m = m + (g - m) * (1 - beta_1)
    /// u = max(beta_2 * u, |g|)
    /// p -= lr * m / ((1 - beta_1^t) * (u + epsilon))
    /// ```
    ///
    /// State: `m/<i>`, `u/<i>`.
    ///
    /// PyTorch's `torch.optim.Adamax` puts epsilon inside the maximum (`u = max(beta_2 * u,
    /// |g| + eps)`, `p -= lr / (1 - beta_1^t) * m / u`), so its `u` and its steps differ from
    /// Keras' by about epsilon.
    ///
    /// ```
    /// use stratanet::optimizers::{Adamax, Optimizer};
    /// use stratanet::{DefaultBackend as B, Tensor};
    /// # fn main() -> stratanet::Result<()> {
    /// let p = Tensor::<B>::from_vec(vec![1.0f64], &[1])?.to_param()?;
    /// let g = Tensor::<B>::from_vec(vec![-2.0f64], &[1])?;
    /// let mut opt = Adamax::<B>::new(0.1);
    /// opt.apply(&[p.clone()], &[Some(g)])?;
    /// // m = -0.2, u = 2: p = 1 + 0.1 * 0.2 / (0.1 * (2 + 1e-7))
    /// assert!((p.to_vec_f64()?[0] - (1.0 + 0.2 / (2.0 + 1e-7))).abs() < 1e-12);
    /// # Ok(())
    /// # }
    /// ```
    pub struct Adamax("adamax", AdamaxConfig) {
        /// First-moment decay (default 0.9).
        beta_1: f64 = 0.9,
        /// Decay of the infinity norm (default 0.999).
        beta_2: f64 = 0.999,
        /// Epsilon, added to `u` (default 1e-7).
        epsilon: f64 = 1e-7,
    }
}

impl Rule for AdamaxConfig {
    fn slots(&self) -> Vec<(&'static str, f64)> {
        vec![("m", 0.0), ("u", 0.0)]
    }
    fn update<B: Backend>(&self, u: Update<'_, B>) -> Result<()> {
        let (w, g, slots, lr, step) = (u.decayed()?, u.g, u.slots, u.lr, u.step);
        let bias = 1.0 - self.beta_1.powf(step as f64);
        let m = slots[0].add(&g.sub(&slots[0])?.mul_scalar(1.0 - self.beta_1)?)?;
        let norm = slots[1].mul_scalar(self.beta_2)?.maximum(&g.abs()?)?;
        let step = m
            .mul_scalar(lr)?
            .div(&norm.add_scalar(self.epsilon)?.mul_scalar(bias)?)?;
        slots[0] = m;
        slots[1] = norm;
        u.p.assign(&w.sub(&step)?)
    }
}
