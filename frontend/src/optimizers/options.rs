//! [`OptimizerOptions`]: the base-optimizer arguments every optimizer shares (learning
//! rate or schedule, weight decay, clipping, gradient accumulation), their checks and
//! their part of `get_config`.

use super::LearningRate;
use crate::error::{Error, Result};
use serde_json::{json, Map, Value};

/// The options every optimizer shares: Keras' base-optimizer arguments.
///
/// Each optimizer type sets them with builder methods of the same names
/// (`Adam::new(lr).clipnorm(1.0)`), or all at once with `with_options`.
///
/// ```
/// use stratanet::optimizers::{OptimizerOptions, Optimizer, RmsProp};
/// use stratanet::DefaultBackend as B;
///
/// let mut shared = OptimizerOptions::new(0.01);
/// shared.clipvalue = Some(0.5);
/// shared.gradient_accumulation_steps = Some(4);
/// let opt = RmsProp::<B>::new(0.0).with_options(shared);
/// assert_eq!(opt.learning_rate(), 0.01);
/// assert_eq!(opt.get_config()["gradient_accumulation_steps"], 4);
/// ```
#[derive(Clone, Debug)]
pub struct OptimizerOptions {
    /// Constant rate or schedule.
    pub learning_rate: LearningRate,
    /// Decoupled weight decay: `p -= p * weight_decay * lr` before each update.
    pub weight_decay: Option<f64>,
    /// Clip each gradient to this L2 norm: `g * clipnorm / max(|g|, clipnorm)`.
    pub clipnorm: Option<f64>,
    /// Clamp each gradient element to `[-clipvalue, clipvalue]`.
    pub clipvalue: Option<f64>,
    /// Scale all gradients by `min(1, global_clipnorm / global_norm)`, where the global
    /// norm is the L2 norm of all gradients together.
    pub global_clipnorm: Option<f64>,
    /// Update only every `n`-th call (`n >= 2`), with the mean of the last `n` gradients.
    pub gradient_accumulation_steps: Option<u64>,
}

impl OptimizerOptions {
    /// The given rate and no weight decay, clipping or accumulation.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Self {
            learning_rate: learning_rate.into(),
            weight_decay: None,
            clipnorm: None,
            clipvalue: None,
            global_clipnorm: None,
            gradient_accumulation_steps: None,
        }
    }

    /// Checks the values as Keras does (one clipping option at most, accumulation over at
    /// least 2 steps, non-negative factors).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the optimizer and the option.
    pub fn validate(&self, op: &str) -> Result<()> {
        self.learning_rate.validate(op)?;
        for (arg, v) in [
            ("weight_decay", self.weight_decay),
            ("clipnorm", self.clipnorm),
            ("clipvalue", self.clipvalue),
            ("global_clipnorm", self.global_clipnorm),
        ] {
            if let Some(v) = v {
                if !v.is_finite() || v < 0.0 {
                    return Err(Error::invalid(
                        op,
                        arg,
                        format!("must be a finite number >= 0, got {v}"),
                    ));
                }
            }
        }
        let clips = [self.clipnorm, self.clipvalue, self.global_clipnorm]
            .iter()
            .filter(|c| c.is_some())
            .count();
        if clips > 1 {
            return Err(Error::invalid(
                op,
                "clipnorm",
                format!(
                    "only one of clipnorm, clipvalue and global_clipnorm can be set, got \
                     clipnorm={:?}, clipvalue={:?}, global_clipnorm={:?}",
                    self.clipnorm, self.clipvalue, self.global_clipnorm
                ),
            ));
        }
        if let Some(n) = self.gradient_accumulation_steps {
            if n < 2 {
                return Err(Error::invalid(
                    op,
                    "gradient_accumulation_steps",
                    format!("must be an integer >= 2, got {n}"),
                ));
            }
        }
        Ok(())
    }

    /// Sets the options present in an optimizer's `get_config` (a `null` or missing one
    /// keeps its current value).
    pub(crate) fn read_config(&mut self, cfg: &Value) {
        for (field, slot) in [
            ("weight_decay", &mut self.weight_decay),
            ("clipnorm", &mut self.clipnorm),
            ("clipvalue", &mut self.clipvalue),
            ("global_clipnorm", &mut self.global_clipnorm),
        ] {
            if let Some(v) = cfg[field].as_f64() {
                *slot = Some(v);
            }
        }
        if let Some(v) = cfg["gradient_accumulation_steps"].as_u64() {
            self.gradient_accumulation_steps = Some(v);
        }
    }

    pub(crate) fn config(&self, map: &mut Map<String, Value>) {
        map.insert("learning_rate".into(), self.learning_rate.get_config());
        map.insert("weight_decay".into(), json!(self.weight_decay));
        map.insert("clipnorm".into(), json!(self.clipnorm));
        map.insert("clipvalue".into(), json!(self.clipvalue));
        map.insert("global_clipnorm".into(), json!(self.global_clipnorm));
        map.insert(
            "gradient_accumulation_steps".into(),
            json!(self.gradient_accumulation_steps),
        );
    }
}
