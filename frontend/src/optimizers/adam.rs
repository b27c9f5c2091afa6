//! Adam.

use super::{check_pair, Optimizer};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde_json::json;

/// Adam, following Keras 3 (defaults lr 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7):
///
/// ```text
/// m = m + (g - m) * (1 - beta_1)
/// v = v + (g^2 - v) * (1 - beta_2)
/// lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
/// p = p - lr_t * m / (sqrt(v) + epsilon)
/// ```
///
/// This differs from PyTorch's Adam only in where epsilon enters (PyTorch adds it to
/// `sqrt(v_hat)`, i.e. Keras' epsilon scaled by `sqrt(1 - beta_2^t)`).
#[derive(Debug)]
pub struct Adam<B: Backend> {
    lr: f64,
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
    weight_decay: f64,
    iterations: u64,
    m: Vec<Option<Tensor<B>>>,
    v: Vec<Option<Tensor<B>>>,
}

impl<B: Backend> Adam<B> {
    /// Adam with learning rate `lr` and Keras' other defaults.
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            weight_decay: 0.0,
            iterations: 0,
            m: Vec::new(),
            v: Vec::new(),
        }
    }
    /// First-moment decay.
    pub fn beta_1(mut self, b: f64) -> Self {
        self.beta_1 = b;
        self
    }
    /// Second-moment decay.
    pub fn beta_2(mut self, b: f64) -> Self {
        self.beta_2 = b;
        self
    }
    /// Epsilon.
    pub fn epsilon(mut self, e: f64) -> Self {
        self.epsilon = e;
        self
    }
    /// Decoupled weight decay (`p -= lr * wd * p` before the step, as Keras).
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
}

impl<B: Backend> Optimizer<B> for Adam<B> {
    fn name(&self) -> &'static str {
        "adam"
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
                "adam",
                "grads",
                format!("{} gradients for {} parameters", grads.len(), params.len()),
            ));
        }
        if self.m.len() < params.len() {
            self.m.resize(params.len(), None);
            self.v.resize(params.len(), None);
        }
        let t = (self.iterations + 1) as f64;
        let lr_t = self.lr * (1.0 - self.beta_2.powf(t)).sqrt() / (1.0 - self.beta_1.powf(t));
        for (i, (p, g)) in params.iter().zip(grads).enumerate() {
            let Some(g) = g else { continue };
            check_pair("adam", p, g)?;
            let g = g.detach();
            let m_prev = match &self.m[i] {
                Some(m) => m.clone(),
                None => g.zeros_like()?,
            };
            let v_prev = match &self.v[i] {
                Some(v) => v.clone(),
                None => g.zeros_like()?,
            };
            let m = m_prev.add(&g.sub(&m_prev)?.mul_scalar(1.0 - self.beta_1)?)?;
            let v = v_prev.add(&g.square()?.sub(&v_prev)?.mul_scalar(1.0 - self.beta_2)?)?;
            let mut w = p.detach();
            if self.weight_decay != 0.0 {
                w = w.affine(1.0 - self.lr * self.weight_decay, 0.0)?;
            }
            let step = m
                .div(&v.sqrt()?.add_scalar(self.epsilon)?)?
                .mul_scalar(lr_t)?;
            p.assign(&w.sub(&step)?)?;
            self.m[i] = Some(m);
            self.v[i] = Some(v);
        }
        self.iterations += 1;
        Ok(())
    }
    fn variables(&self) -> Vec<(String, Tensor<B>)> {
        let mut out = Vec::new();
        for (i, (m, v)) in self.m.iter().zip(&self.v).enumerate() {
            if let (Some(m), Some(v)) = (m, v) {
                out.push((format!("m/{i}"), m.clone()));
                out.push((format!("v/{i}"), v.clone()));
            }
        }
        out
    }
    fn get_config(&self) -> serde_json::Value {
        json!({"name": "adam", "learning_rate": self.lr, "beta_1": self.beta_1,
               "beta_2": self.beta_2, "epsilon": self.epsilon, "weight_decay": self.weight_decay})
    }
}
