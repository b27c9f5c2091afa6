//! [`LossScaleOptimizer`]: dynamic loss scaling for `mixed_float16` training (Keras'
//! `keras.optimizers.LossScaleOptimizer`).

use super::Optimizer;
use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde_json::{json, Value};

/// Keras' default first loss scale, 2^15.
pub const INITIAL_SCALE: f64 = 32768.0;
/// Keras' default number of finite steps between two doublings of the scale.
pub const DYNAMIC_GROWTH_STEPS: u64 = 2000;

/// Dynamic loss scaling around another optimizer, with Keras' semantics.
///
/// The training step multiplies the loss by [`scale`](Self::scale) before backpropagation
/// (so small `f16` gradients do not underflow); [`apply`](Optimizer::apply) divides the
/// gradients by it, then:
/// - when every gradient is finite, the inner optimizer takes its step, and after
///   `dynamic_growth_steps` finite steps in a row the scale doubles;
/// - when any is `inf` or `NaN`, the step is skipped (no parameter or slot changes, the
///   iteration count does not advance) and the scale halves (never below 1).
///
/// `compile` wraps the optimizer in one automatically when the model's policy is
/// `mixed_float16`, as Keras does. The scale and the growth counter are saved with the
/// optimizer's state (`loss_scale/current`, `loss_scale/step_counter`).
///
/// Checking the gradients reads one number per step back to the host.
///
/// ```
/// use stratanet::optimizers::{Adam, LossScaleOptimizer, Optimizer};
/// use stratanet::{DefaultBackend as B, Tensor};
/// # fn main() -> stratanet::Result<()> {
/// let mut opt = LossScaleOptimizer::<B>::new(Box::new(Adam::new(0.1)));
/// assert_eq!(opt.scale(), 32768.0);
/// let p = Tensor::<B>::from_vec(vec![1.0f32], &[1])?.to_param()?;
/// let inf = Tensor::<B>::from_vec(vec![f32::INFINITY], &[1])?;
/// opt.apply(&[p.clone()], &[Some(inf)])?; // skipped, scale halved
/// assert_eq!((opt.scale(), opt.iterations()), (16384.0, 0));
/// assert_eq!(p.to_vec_f32()?, vec![1.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct LossScaleOptimizer<B: Backend> {
    inner: Box<dyn Optimizer<B>>,
    initial_scale: f64,
    dynamic_growth_steps: u64,
    scale: f64,
    step_counter: u64,
}

impl<B: Backend> LossScaleOptimizer<B> {
    /// Wraps `inner` with Keras' defaults: initial scale 2^15, growth every 2,000 finite
    /// steps.
    pub fn new(inner: Box<dyn Optimizer<B>>) -> Self {
        Self {
            inner,
            initial_scale: INITIAL_SCALE,
            dynamic_growth_steps: DYNAMIC_GROWTH_STEPS,
            scale: INITIAL_SCALE,
            step_counter: 0,
        }
    }

    /// Sets the first scale (Keras' `initial_scale`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless it is finite and at least 1.
    pub fn initial_scale(mut self, scale: f64) -> Result<Self> {
        if !(scale.is_finite() && scale >= 1.0) {
            return Err(Error::invalid(
                "LossScaleOptimizer",
                "initial_scale",
                format!("must be finite and >= 1, got {scale}"),
            ));
        }
        self.initial_scale = scale;
        self.scale = scale;
        Ok(self)
    }

    /// Sets how many finite steps in a row double the scale (Keras'
    /// `dynamic_growth_steps`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for 0.
    pub fn dynamic_growth_steps(mut self, steps: u64) -> Result<Self> {
        if steps == 0 {
            return Err(Error::invalid(
                "LossScaleOptimizer",
                "dynamic_growth_steps",
                "must be at least 1",
            ));
        }
        self.dynamic_growth_steps = steps;
        Ok(self)
    }

    /// The current loss scale.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The wrapped optimizer.
    pub fn inner_optimizer(&self) -> &dyn Optimizer<B> {
        self.inner.as_ref()
    }

    /// Rebuilds one from [`Optimizer::get_config`].
    ///
    /// # Errors
    /// A missing or unknown inner optimizer, bad scale settings.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let inner = super::from_config::<B>(&cfg["inner_optimizer"])?;
        let mut o = Self::new(inner);
        if let Some(s) = cfg.get("initial_scale") {
            let s = s.as_f64().ok_or_else(|| {
                Error::config("LossScaleOptimizer.initial_scale", "expected a number")
            })?;
            o = o.initial_scale(s)?;
        }
        if let Some(n) = cfg.get("dynamic_growth_steps") {
            let n = n.as_u64().ok_or_else(|| {
                Error::config(
                    "LossScaleOptimizer.dynamic_growth_steps",
                    "expected a positive integer",
                )
            })?;
            o = o.dynamic_growth_steps(n)?;
        }
        Ok(o)
    }
}

/// Whether every value of every gradient is finite (one host read).
fn all_finite<B: Backend>(grads: &[Option<Tensor<B>>]) -> Result<bool> {
    let mut total: Option<Tensor<B>> = None;
    for g in grads.iter().flatten() {
        // 0 * x is 0 for finite x and NaN for inf or NaN.
        let probe = g.to_dtype(DType::F32)?.mul_scalar(0.0)?.sum_all()?;
        total = Some(match total {
            Some(t) => t.add(&probe)?,
            None => probe,
        });
    }
    Ok(match total {
        Some(t) => t.item()?.is_finite(),
        None => true,
    })
}

impl<B: Backend> Optimizer<B> for LossScaleOptimizer<B> {
    fn name(&self) -> &'static str {
        "loss_scale_optimizer"
    }
    fn learning_rate(&self) -> f64 {
        self.inner.learning_rate()
    }
    fn set_learning_rate(&mut self, lr: f64) {
        self.inner.set_learning_rate(lr);
    }
    fn iterations(&self) -> u64 {
        self.inner.iterations()
    }
    fn set_iterations(&mut self, n: u64) {
        self.inner.set_iterations(n);
    }
    fn loss_scale(&self) -> Option<f64> {
        Some(self.scale)
    }
    /// Unscales `grads` (gradients of the loss times [`scale`](Self::scale)), then steps
    /// or skips as the type's docs say.
    fn apply(&mut self, params: &[Tensor<B>], grads: &[Option<Tensor<B>>]) -> Result<()> {
        if !all_finite(grads)? {
            self.scale = (self.scale / 2.0).max(1.0);
            self.step_counter = 0;
            return Ok(());
        }
        let inv = 1.0 / self.scale;
        let unscaled: Vec<Option<Tensor<B>>> = grads
            .iter()
            .map(|g| g.as_ref().map(|g| g.mul_scalar(inv)).transpose())
            .collect::<Result<_>>()?;
        self.inner.apply(params, &unscaled)?;
        self.step_counter += 1;
        if self.step_counter >= self.dynamic_growth_steps {
            self.scale *= 2.0;
            self.step_counter = 0;
        }
        Ok(())
    }
    fn variables(&self) -> Vec<(String, Tensor<B>)> {
        let mut v = self.inner.variables();
        let device = v
            .first()
            .map(|(_, t)| t.device())
            .unwrap_or(crate::backend::Device::Cpu);
        let scalar =
            |x: f64| Tensor::<B>::from_vec(vec![x], &[1]).and_then(|t| t.to_device(device));
        if let (Ok(s), Ok(c)) = (scalar(self.scale), scalar(self.step_counter as f64)) {
            v.push(("loss_scale/current".into(), s));
            v.push(("loss_scale/step_counter".into(), c));
        }
        v
    }
    fn set_variables(&mut self, vars: &[(String, Tensor<B>)]) -> Result<()> {
        let (mine, inner): (Vec<_>, Vec<_>) = vars
            .iter()
            .cloned()
            .partition(|(n, _)| n.starts_with("loss_scale/"));
        let mut scale = self.scale;
        let mut counter = self.step_counter;
        for (n, t) in &mine {
            let x = t.item()?;
            match n.as_str() {
                "loss_scale/current" if x.is_finite() && x >= 1.0 => scale = x,
                "loss_scale/step_counter" if x.is_finite() && x >= 0.0 => counter = x as u64,
                _ => {
                    return Err(Error::config(
                        format!("optimizer/{n}"),
                        format!("not a loss-scale state value ({x})"),
                    ))
                }
            }
        }
        self.inner.set_variables(&inner)?;
        self.scale = scale;
        self.step_counter = counter;
        Ok(())
    }
    fn get_config(&self) -> Value {
        json!({
            "name": "loss_scale_optimizer",
            "inner_optimizer": self.inner.get_config(),
            "initial_scale": self.initial_scale,
            "dynamic_growth_steps": self.dynamic_growth_steps,
        })
    }
}
