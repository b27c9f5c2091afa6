//! `EarlyStopping`: stop training when a monitored value stops improving.

use super::monitor::{config_setters, improves, monitored, Mode, Tracker};
use super::{Callback, CallbackContext, EpochEnd};
use crate::error::Result;
use crate::saving::HostTensor;
use serde::{Deserialize, Serialize};

/// Stops training when a monitored quantity has stopped improving, like
/// `keras.callbacks.EarlyStopping`.
///
/// ```
/// use stratanet::callbacks::{EarlyStopping, Mode};
/// let es = EarlyStopping::new("val_loss").patience(3).min_delta(1e-4).restore_best_weights(true);
/// # let _ = es;
/// ```
#[derive(Debug, Clone)]
pub struct EarlyStopping {
    config: EarlyStoppingConfig,
    tracker: Tracker,
    best_epoch: usize,
    stopped_epoch: Option<usize>,
    best_weights: Option<Vec<(String, HostTensor)>>,
}

/// The hyper-parameters of [`EarlyStopping`], with Keras' names and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EarlyStoppingConfig {
    /// The logged value to watch (Keras' default `val_loss`).
    pub monitor: String,
    /// Minimum change that counts as an improvement.
    pub min_delta: f64,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Print a line when stopping and restoring.
    pub verbose: bool,
    /// Direction of improvement.
    pub mode: Mode,
    /// A value the monitored quantity must beat.
    pub baseline: Option<f64>,
    /// Restore the weights of the best epoch when training ends.
    pub restore_best_weights: bool,
    /// Epochs to wait before monitoring starts.
    pub start_from_epoch: usize,
}

impl Default for EarlyStoppingConfig {
    fn default() -> Self {
        Self {
            monitor: "val_loss".into(),
            min_delta: 0.0,
            patience: 0,
            verbose: false,
            mode: Mode::Auto,
            baseline: None,
            restore_best_weights: false,
            start_from_epoch: 0,
        }
    }
}

impl EarlyStopping {
    /// Monitors `monitor` (`"val_loss"` in Keras' default) with patience 0.
    pub fn new(monitor: &str) -> Self {
        Self::from_config(EarlyStoppingConfig {
            monitor: monitor.to_string(),
            ..Default::default()
        })
    }
    /// A callback with the hyper-parameters of `config`.
    pub fn from_config(config: EarlyStoppingConfig) -> Self {
        Self {
            config,
            tracker: Tracker::default(),
            best_epoch: 0,
            stopped_epoch: None,
            best_weights: None,
        }
    }
    /// Its hyper-parameters.
    pub fn config(&self) -> &EarlyStoppingConfig {
        &self.config
    }
    config_setters! {
        /// Minimum change that counts as an improvement.
        min_delta: f64 => |d| d.abs(),
        /// Epochs without improvement before stopping.
        patience: usize,
        /// Direction of improvement.
        mode: Mode,
        /// A value the monitored quantity must beat; training stops if it does not within
        /// `patience` epochs.
        baseline: f64 => |b| Some(b),
        /// Restore the weights of the best epoch when training ends.
        restore_best_weights: bool,
        /// Epochs to wait before monitoring starts (warm-up).
        start_from_epoch: usize,
        /// Print a line when stopping and restoring.
        verbose: bool,
    }
    /// The epoch (0-based) at which training was stopped, if it was.
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }
    /// Epoch (0-based) with the best monitored value so far.
    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }
    /// Best monitored value so far.
    pub fn best(&self) -> f64 {
        self.tracker.best
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.tracker.begin(self.config.mode, &self.config.monitor);
        self.stopped_epoch = None;
        self.best_weights = None;
        self.best_epoch = 0;
        Ok(())
    }

    fn on_epoch_end(&mut self, end: EpochEnd<'_>) -> Result<()> {
        let EpochEnd { epoch, logs, ctx } = end;
        let c = &self.config;
        let Some(current) = monitored(logs, &c.monitor, "EarlyStopping") else {
            return Ok(());
        };
        if epoch < c.start_from_epoch {
            return Ok(());
        }
        if c.restore_best_weights && self.best_weights.is_none() {
            self.best_weights = Some(ctx.model.get_weights()?);
            self.best_epoch = epoch;
        }
        let t = &mut self.tracker;
        t.wait += 1;
        if t.improves(current, c.min_delta) {
            t.best = current;
            self.best_epoch = epoch;
            if c.restore_best_weights {
                self.best_weights = Some(ctx.model.get_weights()?);
            }
            if c.baseline
                .is_none_or(|b| improves(t.mode, current, b, c.min_delta))
            {
                t.wait = 0;
            }
            return Ok(());
        }
        if t.wait >= c.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            ctx.state.stop_training = true;
        }
        Ok(())
    }

    fn on_train_end(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        let c = &self.config;
        if let (Some(e), true) = (self.stopped_epoch, c.verbose) {
            println!("Epoch {}: early stopping", e + 1);
        }
        if c.restore_best_weights {
            if let Some(w) = &self.best_weights {
                if c.verbose {
                    println!(
                        "Restoring model weights from the end of the best epoch: {}.",
                        self.best_epoch + 1
                    );
                }
                ctx.model.set_weights(w)?;
            }
        }
        Ok(())
    }
}
