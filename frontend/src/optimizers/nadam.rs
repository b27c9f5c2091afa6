//! Nadam.

use super::{Rule, Update};
use crate::backend::Backend;
use crate::error::Result;

optimizer! {
    /// Nadam (Adam with Nesterov momentum), following Keras 3 (defaults lr 0.001, beta_1 0.9,
    /// beta_2 0.999, epsilon 1e-7). With the momentum schedule
    /// `u_t = beta_1 * (1 - 0.5 * 0.96^t)` and `u_product_t = u_1 * ... * u_t`:
    ///
    /// ```text
    /// m = m + (g - m) * (1 - beta_1)
    /// v = v + (g^2 - v) * (1 - beta_2)
    /// m_hat = u_{t+1} * m / (1 - u_product_t * u_{t+1}) + (1 - u_t) * g / (1 - u_product_t)
    /// v_hat = v / (1 - beta_2^t)
    /// p -= lr * m_hat / (sqrt(v_hat) + epsilon)
    /// ```
    ///
    /// State: `m/<i>`, `v/<i>` (`u_product` follows from the step count, so it is not stored;
    /// it is computed on the host in `f64`).
    ///
    /// This is PyTorch's `torch.optim.NAdam` with `momentum_decay=1.0` (PyTorch's default
    /// 0.004 gives `u_t = beta_1 * (1 - 0.5 * 0.96^(0.004 t))`, a different schedule).
    ///
    /// ```
    /// use stratanet::optimizers::{Nadam, Optimizer};
    /// use stratanet::{DefaultBackend as B, Tensor};
    /// # fn main() -> stratanet::Result<()> {
    /// let p = Tensor::<B>::from_vec(vec![1.0f32, 2.0], &[2])?.to_param()?;
    /// let g = Tensor::<B>::from_vec(vec![0.1f32, -0.1], &[2])?;
    /// let mut opt = Nadam::<B>::new(0.01);
    /// opt.apply(&[p.clone()], &[Some(g)])?;
    /// assert_eq!(opt.iterations(), 1);
    /// assert_eq!(opt.variables().len(), 2); // m/0 and v/0
    /// # Ok(())
    /// # }
    /// ```
    pub struct Nadam("nadam", NadamConfig => NadamRule) {
        /// First-moment decay (default 0.9).
        beta_1: f64 = 0.9,
        /// Second-moment decay (default 0.999).
        beta_2: f64 = 0.999,
        /// Epsilon, added to `sqrt(v_hat)` (default 1e-7).
        epsilon: f64 = 1e-7,
    }
}

/// The Nadam rule: the hyper-parameters (serialized as its config) and the running
/// momentum-schedule product.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct NadamRule {
    #[serde(flatten)]
    cfg: NadamConfig,
    /// `(t, u_product_t, beta_1)`: the product at step `t` and the `beta_1` it was
    /// computed with (a changed `beta_1` restarts the product).
    #[serde(skip)]
    u_product: (u64, f64, f64),
}

impl From<NadamConfig> for NadamRule {
    fn from(cfg: NadamConfig) -> Self {
        Self {
            u_product: (0, 1.0, cfg.beta_1),
            cfg,
        }
    }
}

impl std::borrow::Borrow<NadamConfig> for NadamRule {
    fn borrow(&self) -> &NadamConfig {
        &self.cfg
    }
}

impl std::borrow::BorrowMut<NadamConfig> for NadamRule {
    fn borrow_mut(&mut self) -> &mut NadamConfig {
        &mut self.cfg
    }
}

impl NadamRule {
    fn u(&self, t: u64) -> f64 {
        self.cfg.beta_1 * (1.0 - 0.5 * 0.96f64.powf(t as f64))
    }
}

impl Rule for NadamRule {
    fn slots(&self) -> Vec<(&'static str, f64)> {
        vec![("m", 0.0), ("v", 0.0)]
    }
    fn begin_step(&mut self, step: u64) {
        let beta_1 = self.cfg.beta_1;
        let (t, prod) = if self.u_product.2.to_bits() == beta_1.to_bits() {
            (self.u_product.0, self.u_product.1)
        } else {
            (0, 1.0)
        };
        let (t, prod) = if step == t + 1 {
            (step, prod * self.u(step))
        } else if step == t {
            (t, prod)
        } else {
            // Restored or rewound step count: recompute the product.
            (step, (1..=step).map(|i| self.u(i)).product())
        };
        self.u_product = (t, prod, beta_1);
    }
    fn update<B: Backend>(&self, u: Update<'_, B>) -> Result<()> {
        let (w, g, slots, lr, step) = (u.decayed()?, u.g, u.slots, u.lr, u.step);
        let u_t = self.u(step);
        let u_t1 = self.u(step + 1);
        let u_prod = self.u_product.1;
        let u_prod_t1 = u_prod * u_t1;
        let beta_2_power = self.cfg.beta_2.powf(step as f64);
        let m = slots[0].add(&g.sub(&slots[0])?.mul_scalar(1.0 - self.cfg.beta_1)?)?;
        let v = slots[1].add(
            &g.square()?
                .sub(&slots[1])?
                .mul_scalar(1.0 - self.cfg.beta_2)?,
        )?;
        let m_hat = m
            .mul_scalar(u_t1 / (1.0 - u_prod_t1))?
            .add(&g.mul_scalar((1.0 - u_t) / (1.0 - u_prod))?)?;
        let denom = v
            .mul_scalar(1.0 / (1.0 - beta_2_power))?
            .sqrt()?
            .add_scalar(self.cfg.epsilon)?;
        let step = m_hat.mul_scalar(lr)?.div(&denom)?;
        slots[0] = m;
        slots[1] = v;
        u.p.assign(&w.sub(&step)?)
    }
}
