//! Stochastic gradient descent.

use super::{check_pair, Optimizer};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde_json::json;

/// SGD with optional momentum, Nesterov momentum and decoupled weight decay, following
/// Keras 3:
///
/// - weight decay (decoupled): `p -= lr * weight_decay * p`, applied before the step;
/// - plain: `p -= lr * g`;
/// - momentum: `v = momentum * v - lr * g`, then `p += v`, or with Nesterov
///   `p += momentum * v - lr * g`.
///
/// (For a constant rate this equals PyTorch's SGD with `v_torch = -v / lr`.)
///
/// ```
/// use stratanet::{optimizers::{Optimizer, Sgd}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let p = Tensor::<B>::from_vec(vec![1.0f32, 2.0], &[2])?.to_param()?;
/// let g = Tensor::<B>::from_vec(vec![0.5f32, -1.0], &[2])?;
/// let mut opt = Sgd::new(0.1);
/// opt.apply(&[p.clone()], &[Some(g)])?;
/// assert_eq!(p.to_vec_f32()?, vec![0.95, 2.1]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Sgd<B: Backend> {
    lr: f64,
    momentum: f64,
    nesterov: bool,
    weight_decay: f64,
    iterations: u64,
    velocity: Vec<Option<Tensor<B>>>,
}

impl<B: Backend> Sgd<B> {
    /// SGD with learning rate `lr`, no momentum.
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            iterations: 0,
            velocity: Vec::new(),
        }
    }
    /// Momentum factor in `[0, 1)`.
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }
    /// Nesterov momentum.
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }
    /// Decoupled weight decay factor.
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
}

impl<B: Backend> Optimizer<B> for Sgd<B> {
    fn name(&self) -> &'static str {
        "sgd"
    }
    fn learning_rate(&self) -> f64 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn iterations(&self) -> u64 {
        self.iterations
    }
    fn apply(&mut self, params: &[Tensor<B>], grads: &[Option<Tensor<B>>]) -> Result<()> {
        if params.len() != grads.len() {
            return Err(Error::invalid(
                "sgd",
                "grads",
                format!("{} gradients for {} parameters", grads.len(), params.len()),
            ));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(Error::invalid(
                "sgd",
                "momentum",
                format!("must be in [0, 1), got {}", self.momentum),
            ));
        }
        if self.velocity.len() < params.len() {
            self.velocity.resize(params.len(), None);
        }
        let lr = self.lr;
        for (i, (p, g)) in params.iter().zip(grads).enumerate() {
            let Some(g) = g else { continue };
            check_pair("sgd", p, g)?;
            let g = g.detach();
            let mut w = p.detach();
            if self.weight_decay != 0.0 {
                w = w.affine(1.0 - lr * self.weight_decay, 0.0)?;
            }
            let new = if self.momentum > 0.0 {
                let v_prev = match &self.velocity[i] {
                    Some(v) => v.clone(),
                    None => g.zeros_like()?,
                };
                let v = v_prev.mul_scalar(self.momentum)?.sub(&g.mul_scalar(lr)?)?;
                let upd = if self.nesterov {
                    v.mul_scalar(self.momentum)?.sub(&g.mul_scalar(lr)?)?
                } else {
                    v.clone()
                };
                self.velocity[i] = Some(v);
                w.add(&upd)?
            } else {
                w.sub(&g.mul_scalar(lr)?)?
            };
            p.assign(&new)?;
        }
        self.iterations += 1;
        Ok(())
    }
    fn variables(&self) -> Vec<(String, Tensor<B>)> {
        self.velocity
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (format!("momentum/{i}"), v.clone())))
            .collect()
    }
    fn get_config(&self) -> serde_json::Value {
        json!({"name": "sgd", "learning_rate": self.lr, "momentum": self.momentum,
               "nesterov": self.nesterov, "weight_decay": self.weight_decay})
    }
}
