//! Learning-rate callbacks: `ReduceLrOnPlateau` and `LearningRateScheduler`.

use super::monitor::{config_setters, monitored, Mode, Tracker};
use super::{Callback, CallbackContext, EpochEnd};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Lowers the learning rate by `factor` when a monitored quantity stops improving, like
/// `keras.callbacks.ReduceLROnPlateau` (that spelling, [`ReduceLROnPlateau`], names it too).
#[doc(alias = "ReduceLROnPlateau")]
#[derive(Debug, Clone)]
pub struct ReduceLrOnPlateau {
    config: ReduceLrOnPlateauConfig,
    tracker: Tracker,
    cooldown_counter: usize,
}

/// Keras' spelling of [`ReduceLrOnPlateau`] (`keras.callbacks.ReduceLROnPlateau`).
pub type ReduceLROnPlateau = ReduceLrOnPlateau;

/// The hyper-parameters of [`ReduceLrOnPlateau`], with Keras' names and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReduceLrOnPlateauConfig {
    /// The logged value to watch (Keras' default `val_loss`).
    pub monitor: String,
    /// Multiplier applied to the rate (in (0, 1)).
    pub factor: f64,
    /// Epochs without improvement before reducing.
    pub patience: usize,
    /// Print a line per reduction.
    pub verbose: bool,
    /// Direction of improvement.
    pub mode: Mode,
    /// Minimum change that counts as an improvement.
    pub min_delta: f64,
    /// Epochs to wait after a reduction before counting again.
    pub cooldown: usize,
    /// Lower bound of the rate.
    pub min_lr: f64,
}

impl Default for ReduceLrOnPlateauConfig {
    fn default() -> Self {
        Self {
            monitor: "val_loss".into(),
            factor: 0.1,
            patience: 10,
            verbose: false,
            mode: Mode::Auto,
            min_delta: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
        }
    }
}

impl ReduceLrOnPlateau {
    /// Keras' defaults: factor 0.1, patience 10, min_delta 1e-4, cooldown 0, min_lr 0.
    pub fn new(monitor: &str) -> Self {
        Self::from_config(ReduceLrOnPlateauConfig {
            monitor: monitor.to_string(),
            ..Default::default()
        })
    }
    /// A callback with the hyper-parameters of `config`.
    pub fn from_config(config: ReduceLrOnPlateauConfig) -> Self {
        Self {
            config,
            tracker: Tracker::default(),
            cooldown_counter: 0,
        }
    }
    /// Its hyper-parameters.
    pub fn config(&self) -> &ReduceLrOnPlateauConfig {
        &self.config
    }
    config_setters! {
        /// Multiplier applied to the rate (must be below 1).
        factor: f64,
        /// Epochs without improvement before reducing.
        patience: usize,
        /// Direction of improvement.
        mode: Mode,
        /// Minimum change that counts as an improvement.
        min_delta: f64 => |d| d.abs(),
        /// Epochs to wait after a reduction before counting again.
        cooldown: usize,
        /// Lower bound of the rate.
        min_lr: f64,
        /// Print a line per reduction.
        verbose: bool,
    }
}

impl Callback for ReduceLrOnPlateau {
    fn on_train_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        let c = &self.config;
        if c.factor >= 1.0 || c.factor <= 0.0 {
            return Err(Error::invalid(
                "ReduceLROnPlateau",
                "factor",
                format!("must be in (0, 1), got {}", c.factor),
            ));
        }
        self.tracker.begin(c.mode, &c.monitor);
        self.cooldown_counter = 0;
        Ok(())
    }

    fn on_epoch_end(&mut self, end: EpochEnd<'_>) -> Result<()> {
        let EpochEnd { epoch, logs, ctx } = end;
        let (c, t) = (&self.config, &mut self.tracker);
        let Some(current) = monitored(logs, &c.monitor, "ReduceLROnPlateau") else {
            return Ok(());
        };
        let in_cooldown = self.cooldown_counter > 0;
        if in_cooldown {
            self.cooldown_counter -= 1;
            t.wait = 0;
        }
        if t.improves(current, c.min_delta) {
            t.best = current;
            t.wait = 0;
        } else if !in_cooldown {
            t.wait += 1;
            if t.wait >= c.patience {
                let old = ctx.state.learning_rate;
                if old > c.min_lr {
                    let new = (old * c.factor).max(c.min_lr);
                    ctx.state.learning_rate = new;
                    if c.verbose {
                        println!(
                            "Epoch {}: ReduceLROnPlateau reducing learning rate to {new}.",
                            epoch + 1
                        );
                    }
                    self.cooldown_counter = c.cooldown;
                    t.wait = 0;
                }
            }
        }
        Ok(())
    }
}

/// Sets the learning rate at the start of every epoch from `schedule(epoch, lr)`, like
/// `keras.callbacks.LearningRateScheduler`.
pub struct LearningRateScheduler {
    schedule: Box<dyn FnMut(usize, f64) -> f64 + Send>,
    verbose: bool,
}

impl std::fmt::Debug for LearningRateScheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LearningRateScheduler")
            .finish_non_exhaustive()
    }
}

impl LearningRateScheduler {
    /// `schedule(epoch, current_lr) -> new_lr` (epoch 0-based).
    pub fn new(schedule: impl FnMut(usize, f64) -> f64 + Send + 'static) -> Self {
        Self {
            schedule: Box::new(schedule),
            verbose: false,
        }
    }
    /// Print the rate each epoch.
    pub fn verbose(mut self, v: bool) -> Self {
        self.verbose = v;
        self
    }
}

impl Callback for LearningRateScheduler {
    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut CallbackContext<'_>) -> Result<()> {
        let lr = (self.schedule)(epoch, ctx.state.learning_rate);
        if !lr.is_finite() || lr < 0.0 {
            return Err(Error::invalid(
                "LearningRateScheduler",
                "schedule",
                format!("returned {lr} for epoch {epoch}; a rate must be finite and >= 0"),
            ));
        }
        ctx.state.learning_rate = lr;
        if self.verbose {
            println!(
                "Epoch {}: LearningRateScheduler setting learning rate to {lr}.",
                epoch + 1
            );
        }
        Ok(())
    }
}
