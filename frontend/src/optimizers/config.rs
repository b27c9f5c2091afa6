//! Rebuilding optimizers (and learning-rate schedules) from their `get_config`, for loading
//! saved models with their training state.

use super::schedules::{
    CosineDecay, CosineDecayRestarts, ExponentialDecay, InverseTimeDecay, LearningRate,
    PiecewiseConstantDecay, PolynomialDecay,
};
use super::{
    Adadelta, Adagrad, Adam, AdamW, Adamax, Lion, Nadam, Optimizer, RmsProp, Sgd, OPTIMIZER_NAMES,
};
use crate::backend::Backend;
use crate::error::{Error, Result};
use serde_json::Value;

fn num(cfg: &Value, key: &str, default: f64) -> f64 {
    cfg.get(key).and_then(Value::as_f64).unwrap_or(default)
}

fn int(cfg: &Value, key: &str) -> Result<u64> {
    cfg.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::config(format!("schedule.{key}"), "missing integer"))
}

/// A learning rate from its config: a number, or a schedule's `{"class_name", "config"}`.
///
/// # Errors
/// Unknown schedule classes; user closures (`FnSchedule`) cannot be restored from a file.
pub fn learning_rate_from_config(v: &Value) -> Result<LearningRate> {
    if let Some(lr) = v.as_f64() {
        return Ok(LearningRate::Constant(lr));
    }
    let class = v.get("class_name").and_then(Value::as_str).unwrap_or("");
    let c = &v["config"];
    let lr0 = num(c, "initial_learning_rate", 0.0);
    Ok(match class {
        "ExponentialDecay" => ExponentialDecay::new(lr0, int(c, "decay_steps")?, num(c, "decay_rate", 1.0))
            .staircase(c["staircase"].as_bool().unwrap_or(false))
            .into(),
        "InverseTimeDecay" => InverseTimeDecay::new(lr0, int(c, "decay_steps")?, num(c, "decay_rate", 1.0))
            .staircase(c["staircase"].as_bool().unwrap_or(false))
            .into(),
        "PiecewiseConstantDecay" => PiecewiseConstantDecay::new(
            serde_json::from_value(c["boundaries"].clone())?,
            serde_json::from_value(c["values"].clone())?,
        )
        .into(),
        "PolynomialDecay" => PolynomialDecay::new(lr0, int(c, "decay_steps")?)
            .end_learning_rate(num(c, "end_learning_rate", 1e-4))
            .power(num(c, "power", 1.0))
            .cycle(c["cycle"].as_bool().unwrap_or(false))
            .into(),
        "CosineDecay" => {
            let mut s = CosineDecay::new(lr0, int(c, "decay_steps")?).alpha(num(c, "alpha", 0.0));
            if let (Some(t), Some(n)) = (c["warmup_target"].as_f64(), c["warmup_steps"].as_u64()) {
                if n > 0 {
                    s = s.warmup(t, n);
                }
            }
            s.into()
        }
        "CosineDecayRestarts" => CosineDecayRestarts::new(lr0, int(c, "first_decay_steps")?)
            .t_mul(num(c, "t_mul", 2.0))
            .m_mul(num(c, "m_mul", 1.0))
            .alpha(num(c, "alpha", 0.0))
            .into(),
        "FnSchedule" => {
            return Err(Error::config(
                "optimizer.learning_rate",
                "a closure schedule (FnSchedule) cannot be restored from a file; compile again after loading",
            ))
        }
        other => {
            return Err(Error::unknown(
                "learning-rate schedule",
                other,
                &[
                    "ExponentialDecay",
                    "InverseTimeDecay",
                    "PiecewiseConstantDecay",
                    "PolynomialDecay",
                    "CosineDecay",
                    "CosineDecayRestarts",
                ],
            ))
        }
    })
}

/// An optimizer from its `get_config` (name, learning rate or schedule, hyper-parameters,
/// shared options). Its state starts empty; `set_variables` restores slots.
///
/// ```
/// use stratanet::optimizers::{self, Adam, Optimizer};
/// use stratanet::DefaultBackend as B;
/// # fn main() -> stratanet::Result<()> {
/// let adam = Adam::<B>::new(0.01).beta_1(0.8).amsgrad(true).clipnorm(1.0);
/// let back = optimizers::from_config::<B>(&adam.get_config())?;
/// assert_eq!(back.get_config(), adam.get_config());
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// Unknown names or schedule classes, malformed values.
pub fn from_config<B: Backend>(cfg: &Value) -> Result<Box<dyn Optimizer<B>>> {
    let name = cfg["name"].as_str().unwrap_or("").to_ascii_lowercase();
    if name == "loss_scale_optimizer" {
        return Ok(Box::new(super::LossScaleOptimizer::<B>::from_config(cfg)?));
    }
    let lr = learning_rate_from_config(&cfg["learning_rate"])?;
    match name.as_str() {
        "sgd" => Sgd::restore(lr, cfg),
        "adam" => Adam::restore(lr, cfg),
        "adamw" => AdamW::restore(lr, cfg),
        "rmsprop" => RmsProp::restore(lr, cfg),
        "adagrad" => Adagrad::restore(lr, cfg),
        "adadelta" => Adadelta::restore(lr, cfg),
        "adamax" => Adamax::restore(lr, cfg),
        "nadam" => Nadam::restore(lr, cfg),
        "lion" => Lion::restore(lr, cfg),
        other => Err(Error::unknown("optimizer", other, OPTIMIZER_NAMES)),
    }
}
