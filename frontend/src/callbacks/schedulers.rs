//! Learning-rate callbacks: `ReduceLrOnPlateau` and `LearningRateScheduler`.

use super::monitor::{improves, monitored, Mode};
use super::{Callback, CallbackContext, Logs};
use crate::error::{Error, Result};

/// Lowers the learning rate by `factor` when a monitored quantity stops improving, like
/// `keras.callbacks.ReduceLROnPlateau`.
#[derive(Debug, Clone)]
pub struct ReduceLrOnPlateau {
    monitor: String,
    factor: f64,
    patience: usize,
    mode: Mode,
    min_delta: f64,
    cooldown: usize,
    min_lr: f64,
    verbose: bool,
    wait: usize,
    cooldown_counter: usize,
    best: f64,
}

impl ReduceLrOnPlateau {
    /// Keras' defaults: factor 0.1, patience 10, min_delta 1e-4, cooldown 0, min_lr 0.
    pub fn new(monitor: &str) -> Self {
        Self {
            monitor: monitor.to_string(),
            factor: 0.1,
            patience: 10,
            mode: Mode::Auto,
            min_delta: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            verbose: false,
            wait: 0,
            cooldown_counter: 0,
            best: f64::INFINITY,
        }
    }
    /// Multiplier applied to the rate (must be below 1).
    pub fn factor(mut self, f: f64) -> Self {
        self.factor = f;
        self
    }
    /// Epochs without improvement before reducing.
    pub fn patience(mut self, p: usize) -> Self {
        self.patience = p;
        self
    }
    /// Direction of improvement.
    pub fn mode(mut self, m: Mode) -> Self {
        self.mode = m;
        self
    }
    /// Minimum change that counts as an improvement.
    pub fn min_delta(mut self, d: f64) -> Self {
        self.min_delta = d.abs();
        self
    }
    /// Epochs to wait after a reduction before counting again.
    pub fn cooldown(mut self, c: usize) -> Self {
        self.cooldown = c;
        self
    }
    /// Lower bound of the rate.
    pub fn min_lr(mut self, m: f64) -> Self {
        self.min_lr = m;
        self
    }
    /// Print a line per reduction.
    pub fn verbose(mut self, v: bool) -> Self {
        self.verbose = v;
        self
    }
}

impl Callback for ReduceLrOnPlateau {
    fn on_train_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        if self.factor >= 1.0 || self.factor <= 0.0 {
            return Err(Error::invalid(
                "ReduceLROnPlateau",
                "factor",
                format!("must be in (0, 1), got {}", self.factor),
            ));
        }
        self.mode = self.mode.resolve(&self.monitor);
        self.best = self.mode.worst();
        self.wait = 0;
        self.cooldown_counter = 0;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        ctx: &mut CallbackContext<'_>,
    ) -> Result<()> {
        let Some(current) = monitored(logs, &self.monitor, "ReduceLROnPlateau") else {
            return Ok(());
        };
        let in_cooldown = self.cooldown_counter > 0;
        if in_cooldown {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if improves(self.mode, current, self.best, self.min_delta) {
            self.best = current;
            self.wait = 0;
        } else if !in_cooldown {
            self.wait += 1;
            if self.wait >= self.patience {
                let old = ctx.state.learning_rate;
                if old > self.min_lr {
                    let new = (old * self.factor).max(self.min_lr);
                    ctx.state.learning_rate = new;
                    if self.verbose {
                        println!(
                            "Epoch {}: ReduceLROnPlateau reducing learning rate to {new}.",
                            epoch + 1
                        );
                    }
                    self.cooldown_counter = self.cooldown;
                    self.wait = 0;
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
