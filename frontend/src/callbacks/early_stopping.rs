//! `EarlyStopping`: stop training when a monitored value stops improving.

use super::monitor::{improves, monitored, Mode};
use super::{Callback, CallbackContext, Logs};
use crate::error::Result;
use crate::saving::HostTensor;

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
    monitor: String,
    min_delta: f64,
    patience: usize,
    mode: Mode,
    baseline: Option<f64>,
    restore_best_weights: bool,
    start_from_epoch: usize,
    verbose: bool,
    wait: usize,
    best: f64,
    best_epoch: usize,
    stopped_epoch: Option<usize>,
    best_weights: Option<Vec<(String, HostTensor)>>,
}

impl EarlyStopping {
    /// Monitors `monitor` (`"val_loss"` in Keras' default) with patience 0.
    pub fn new(monitor: &str) -> Self {
        Self {
            monitor: monitor.to_string(),
            min_delta: 0.0,
            patience: 0,
            mode: Mode::Auto,
            baseline: None,
            restore_best_weights: false,
            start_from_epoch: 0,
            verbose: false,
            wait: 0,
            best: f64::INFINITY,
            best_epoch: 0,
            stopped_epoch: None,
            best_weights: None,
        }
    }
    /// Minimum change that counts as an improvement.
    pub fn min_delta(mut self, d: f64) -> Self {
        self.min_delta = d.abs();
        self
    }
    /// Epochs without improvement before stopping.
    pub fn patience(mut self, p: usize) -> Self {
        self.patience = p;
        self
    }
    /// Direction of improvement.
    pub fn mode(mut self, m: Mode) -> Self {
        self.mode = m;
        self
    }
    /// A value the monitored quantity must beat; training stops if it does not within
    /// `patience` epochs.
    pub fn baseline(mut self, b: f64) -> Self {
        self.baseline = Some(b);
        self
    }
    /// Restore the weights of the best epoch when training ends.
    pub fn restore_best_weights(mut self, r: bool) -> Self {
        self.restore_best_weights = r;
        self
    }
    /// Epochs to wait before monitoring starts (warm-up).
    pub fn start_from_epoch(mut self, e: usize) -> Self {
        self.start_from_epoch = e;
        self
    }
    /// Print a line when stopping and restoring.
    pub fn verbose(mut self, v: bool) -> Self {
        self.verbose = v;
        self
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
        self.best
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.mode = self.mode.resolve(&self.monitor);
        self.wait = 0;
        self.stopped_epoch = None;
        self.best = self.mode.worst();
        self.best_weights = None;
        self.best_epoch = 0;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        ctx: &mut CallbackContext<'_>,
    ) -> Result<()> {
        let Some(current) = monitored(logs, &self.monitor, "EarlyStopping") else {
            return Ok(());
        };
        if epoch < self.start_from_epoch {
            return Ok(());
        }
        if self.restore_best_weights && self.best_weights.is_none() {
            self.best_weights = Some(ctx.model.get_weights()?);
            self.best_epoch = epoch;
        }
        self.wait += 1;
        if improves(self.mode, current, self.best, self.min_delta) {
            self.best = current;
            self.best_epoch = epoch;
            if self.restore_best_weights {
                self.best_weights = Some(ctx.model.get_weights()?);
            }
            if self
                .baseline
                .is_none_or(|b| improves(self.mode, current, b, self.min_delta))
            {
                self.wait = 0;
            }
            return Ok(());
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            ctx.state.stop_training = true;
        }
        Ok(())
    }

    fn on_train_end(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        if let (Some(e), true) = (self.stopped_epoch, self.verbose) {
            println!("Epoch {}: early stopping", e + 1);
        }
        if self.restore_best_weights {
            if let Some(w) = &self.best_weights {
                if self.verbose {
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
