//! Lion.

use super::update::require;
use super::{Rule, Update};
use crate::backend::Backend;
use crate::error::Result;

optimizer! {
    /// Lion (evolved sign momentum), following Keras 3 (defaults lr 0.001, beta_1 0.9, beta_2
    /// 0.99):
    ///
    /// ```text
    /// p -= lr * sign(beta_1 * m + (1 - beta_1) * g)
    /// m = beta_2 * m + (1 - beta_2) * g
    /// ```
    ///
    /// State: `momentum/<i>`. PyTorch has no built-in Lion; this is the rule of the paper
    /// (Chen et al., 2023) and of Keras. Lion's steps have size `lr` in every coordinate, so
    /// it is usually run with a 3-10x smaller rate and larger weight decay than AdamW.
    ///
    /// ```
    /// use stratanet::optimizers::{Lion, Optimizer};
    /// use stratanet::{DefaultBackend as B, Tensor};
    /// # fn main() -> stratanet::Result<()> {
    /// let p = Tensor::<B>::from_vec(vec![1.0f32, 1.0, 1.0], &[3])?.to_param()?;
    /// let g = Tensor::<B>::from_vec(vec![0.3f32, -5.0, 0.0], &[3])?;
    /// let mut opt = Lion::<B>::new(0.125);
    /// opt.apply(&[p.clone()], &[Some(g)])?;
    /// assert_eq!(p.to_vec_f32()?, vec![0.875, 1.125, 1.0]);
    /// # Ok(())
    /// # }
    /// ```
    pub struct Lion("lion", LionConfig) {
        /// Interpolation between momentum and gradient for the step's sign (default 0.9; in
        /// `(0, 1]`).
        beta_1: f64 = 0.9,
        /// Momentum decay (default 0.99).
        beta_2: f64 = 0.99,
    }
}

impl Rule for LionConfig {
    fn validate(&self, name: &str) -> Result<()> {
        let ok = self.beta_1 > 0.0 && self.beta_1 <= 1.0;
        let rule = "in (0, 1] (otherwise Lion degenerates to SignSGD)";
        require(ok, name, "beta_1", rule, self.beta_1)
    }
    fn slots(&self) -> Vec<(&'static str, f64)> {
        vec![("momentum", 0.0)]
    }
    fn update<B: Backend>(&self, u: Update<'_, B>) -> Result<()> {
        let (w, g, slots, lr) = (u.decayed()?, u.g, u.slots, u.lr);
        let m = &slots[0];
        let direction = m
            .mul_scalar(self.beta_1)?
            .add(&g.mul_scalar(1.0 - self.beta_1)?)?
            .sign()?;
        let new_m = m
            .mul_scalar(self.beta_2)?
            .add(&g.mul_scalar(1.0 - self.beta_2)?)?;
        slots[0] = new_m;
        u.p.assign(&w.sub(&direction.mul_scalar(lr)?)?)
    }
}
