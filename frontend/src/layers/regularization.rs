//! Regularisation layers.

use super::{cfg_field, cfg_name, BuildContext, CallContext, Layer};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde_json::json;

/// Randomly zeroes a fraction `rate` of inputs during training and scales the rest by
/// `1 / (1 - rate)`; the identity at inference.
///
/// ```
/// use stratanet::{layers::{Dropout, Layer, CallContext}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let d = Dropout::new(0.5);
/// let x = Tensor::<B>::ones(&[4, 1000], stratanet::DType::F32, stratanet::Device::Cpu)?;
/// let y = Layer::<B>::call(&d, &x, &mut CallContext::training(7))?.to_vec_f32()?;
/// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
/// let kept = y.iter().filter(|&&v| v == 2.0).count() as f64 / 4000.0;
/// assert!((kept - 0.5).abs() < 0.05);
/// // inference: identity
/// let z = Layer::<B>::call(&d, &x, &mut CallContext::inference())?;
/// assert_eq!(z.sum_all()?.item()?, 4000.0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Dropout {
    rate: f64,
    seed: Option<u64>,
    name: String,
}

impl Dropout {
    /// Drops a fraction `rate` (in `[0, 1)`) of the inputs in training.
    pub fn new(rate: f64) -> Self {
        Self {
            rate,
            seed: None,
            name: String::new(),
        }
    }

    /// A fixed seed for this layer's masks (otherwise derived from `fit`'s seed).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let rate = cfg_field(config, "Dropout", "rate")?
            .as_f64()
            .ok_or_else(|| Error::config("Dropout.rate", "expected a number"))?;
        let mut l = Self::new(rate);
        l.seed = config.get("seed").and_then(|s| s.as_u64());
        l.name = cfg_name(config);
        Ok(l)
    }
}

impl<B: Backend> Layer<B> for Dropout {
    fn class_name(&self) -> &'static str {
        "Dropout"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn built(&self) -> bool {
        true
    }
    fn validate(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(Error::invalid(
                &self.name,
                "rate",
                format!("must be in [0, 1), got {}", self.rate),
            ));
        }
        Ok(())
    }
    fn build(&mut self, _input_shape: &[usize], _ctx: &mut BuildContext) -> Result<()> {
        Layer::<B>::validate(self)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        // A layer called outside a model has not been validated: a rate of 1 would
        // otherwise give 0 * inf = NaN.
        Layer::<B>::validate(self)?;
        if !ctx.training || self.rate == 0.0 {
            return Ok(x.clone());
        }
        let seed = match self.seed {
            Some(s) => crate::random::Rng::derive(s, ctx.next_seed()),
            None => ctx.next_seed(),
        };
        let u = Tensor::<B>::new(B::uniform(
            &x.shape(),
            0.0,
            1.0,
            seed,
            x.dtype(),
            &x.engine_device(),
        )?);
        let keep = u.ge(&u.scalar_like(self.rate)?)?.to_dtype(x.dtype())?;
        x.mul(&keep)?.mul_scalar(1.0 / (1.0 - self.rate))
    }
    fn get_config(&self) -> serde_json::Value {
        json!({"name": self.name, "rate": self.rate, "seed": self.seed})
    }
}
