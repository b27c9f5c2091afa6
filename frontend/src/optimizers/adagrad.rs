//! Adagrad.

use super::{Rule, Update};
use crate::backend::Backend;
use crate::error::Result;

optimizer! {
    /// Adagrad, following Keras 3 (defaults lr 0.001, initial_accumulator_value 0.1, epsilon
    /// 1e-7):
    ///
    /// ```text
    /// accumulator += g^2              (starts at initial_accumulator_value)
    /// p -= lr * g / sqrt(accumulator + epsilon)
    /// ```
    ///
    /// State: `accumulator/<i>`.
    ///
    /// PyTorch's `torch.optim.Adagrad` (with `initial_accumulator_value` set to Keras' and
    /// `lr_decay` 0) adds epsilon outside the square root (`sqrt(accumulator) + eps`); that is
    /// the only difference.
    ///
    /// ```
    /// use stratanet::optimizers::{Adagrad, Optimizer};
    /// use stratanet::{DefaultBackend as B, Tensor};
    /// # fn main() -> stratanet::Result<()> {
    /// let p = Tensor::<B>::from_vec(vec![1.0f64], &[1])?.to_param()?;
    /// let g = Tensor::<B>::from_vec(vec![0.3f64], &[1])?;
    /// let mut opt = Adagrad::<B>::new(0.1);
    /// opt.apply(&[p.clone()], &[Some(g)])?;
    /// let want = 1.0 - 0.1 * 0.3 / (0.1f64 + 0.09 + 1e-7).sqrt();
    /// assert!((p.to_vec_f64()?[0] - want).abs() < 1e-12);
    /// # Ok(())
    /// # }
    /// ```
    pub struct Adagrad("adagrad", AdagradConfig) {
        /// Starting value of the accumulators (default 0.1).
        initial_accumulator_value: f64 = 0.1,
        /// Epsilon, added under the square root (default 1e-7).
        epsilon: f64 = 1e-7,
    }
}

impl Rule for AdagradConfig {
    fn slots(&self) -> Vec<(&'static str, f64)> {
        vec![("accumulator", self.initial_accumulator_value)]
    }
    fn update<B: Backend>(&self, u: Update<'_, B>) -> Result<()> {
        let (w, g, slots, lr) = (u.decayed()?, u.g, u.slots, u.lr);
        let acc = slots[0].add(&g.square()?)?;
        let step = g
            .mul_scalar(lr)?
            .div(&acc.add_scalar(self.epsilon)?.sqrt()?)?;
        slots[0] = acc;
        u.p.assign(&w.sub(&step)?)
    }
}
