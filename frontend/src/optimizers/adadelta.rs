//! Adadelta.

use super::{Rule, Update};
use crate::backend::Backend;
use crate::error::Result;

optimizer! {
    /// Adadelta, following Keras 3 (defaults lr 0.001, rho 0.95, epsilon 1e-7):
    ///
    /// ```text
    /// accumulated_grad = rho * accumulated_grad + (1 - rho) * g^2
    /// delta = -sqrt(accumulated_delta_var + epsilon) / sqrt(accumulated_grad + epsilon) * g
    /// accumulated_delta_var = rho * accumulated_delta_var + (1 - rho) * delta^2
    /// p += lr * delta
    /// ```
    ///
    /// State: `accumulated_grad/<i>`, `accumulated_delta_var/<i>`.
    ///
    /// This is exactly PyTorch's `torch.optim.Adadelta` (whose defaults differ: lr 1.0, eps
    /// 1e-6).
    ///
    /// ```
    /// use stratanet::optimizers::{Adadelta, Optimizer};
    /// use stratanet::{DefaultBackend as B, Tensor};
    /// # fn main() -> stratanet::Result<()> {
    /// let p = Tensor::<B>::from_vec(vec![1.0f64], &[1])?.to_param()?;
    /// let g = Tensor::<B>::from_vec(vec![2.0f64], &[1])?;
    /// let mut opt = Adadelta::<B>::new(1.0);
    /// opt.apply(&[p.clone()], &[Some(g)])?;
    /// let want = 1.0 - (1e-7f64).sqrt() / (0.05f64 * 4.0 + 1e-7).sqrt() * 2.0;
    /// assert!((p.to_vec_f64()?[0] - want).abs() < 1e-12);
    /// # Ok(())
    /// # }
    /// ```
    pub struct Adadelta("adadelta", AdadeltaConfig) {
        /// Decay rate of both running averages (default 0.95).
        rho: f64 = 0.95,
        /// Epsilon, added under both square roots (default 1e-7).
        epsilon: f64 = 1e-7,
    }
}

impl Rule for AdadeltaConfig {
    fn slots(&self) -> Vec<(&'static str, f64)> {
        vec![("accumulated_grad", 0.0), ("accumulated_delta_var", 0.0)]
    }
    fn update<B: Backend>(&self, u: Update<'_, B>) -> Result<()> {
        let (w, g, slots, lr) = (u.decayed()?, u.g, u.slots, u.lr);
        let (rho, eps) = (self.rho, self.epsilon);
        let acc_g = slots[0]
            .mul_scalar(rho)?
            .add(&g.square()?.mul_scalar(1.0 - rho)?)?;
        let delta = slots[1]
            .add_scalar(eps)?
            .sqrt()?
            .mul(g)?
            .div(&acc_g.add_scalar(eps)?.sqrt()?)?
            .neg()?;
        let acc_d = slots[1]
            .mul_scalar(rho)?
            .add(&delta.square()?.mul_scalar(1.0 - rho)?)?;
        slots[0] = acc_g;
        slots[1] = acc_d;
        u.p.assign(&w.add(&delta.mul_scalar(lr)?)?)
    }
}
