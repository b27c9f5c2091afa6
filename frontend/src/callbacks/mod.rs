//! Callbacks: hooks into `fit`, and the two every `fit` uses: [`History`] and the Keras-style
//! [`ProgressBar`].

mod progress;

pub use progress::ProgressBar;

use crate::error::Result;
use std::collections::BTreeMap;
use std::fmt;

/// Named scalar results (`loss`, `accuracy`, `val_loss`, ...), kept sorted by name like
/// Keras' progress line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Logs(BTreeMap<String, f64>);

impl Logs {
    /// Empty logs.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets a value.
    pub fn insert(&mut self, name: impl Into<String>, value: f64) {
        self.0.insert(name.into(), value);
    }
    /// A value by name.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.get(name).copied()
    }
    /// Iterates in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// `true` when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Adds every entry of `other` with a prefix (`val_`).
    pub fn extend_prefixed(&mut self, other: &Logs, prefix: &str) {
        for (k, v) in other.iter() {
            self.insert(format!("{prefix}{k}"), v);
        }
    }
}

/// Keras' number format: 4 decimals, scientific notation for very small or large values.
pub fn format_value(v: f64) -> String {
    if v == 0.0 || (1e-3..1e4).contains(&v.abs()) {
        format!("{v:.4}")
    } else {
        format!("{v:.4e}")
    }
}

impl fmt::Display for Logs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .iter()
            .map(|(k, v)| format!("{k}: {}", format_value(v)))
            .collect();
        f.write_str(&parts.join(" - "))
    }
}

/// Source of the running training logs; reading them syncs with the device, so callbacks
/// call it only when they need numbers (the progress bar: when it redraws).
pub trait LogSource {
    /// Current running logs (loss and metrics over the epoch so far).
    ///
    /// # Errors
    /// On engine errors.
    fn logs(&mut self) -> Result<Logs>;
}

/// State shared with callbacks during `fit`.
#[derive(Debug, Clone)]
pub struct FitState {
    /// Total epochs requested.
    pub epochs: usize,
    /// Batches per epoch.
    pub steps: usize,
    /// Verbosity (0 silent, 1 progress bar, 2 one line per epoch).
    pub verbose: u8,
    /// Set by a callback to end training after the current batch/epoch.
    pub stop_training: bool,
    /// The optimizer's learning rate (a callback may change it).
    pub learning_rate: f64,
}

/// Hooks called by `fit`. Every method has an empty default.
pub trait Callback: Send {
    /// Before the first epoch.
    fn on_train_begin(&mut self, _state: &mut FitState) -> Result<()> {
        Ok(())
    }
    /// Before each epoch (0-based).
    fn on_epoch_begin(&mut self, _epoch: usize, _state: &mut FitState) -> Result<()> {
        Ok(())
    }
    /// After each training batch (0-based step within the epoch).
    fn on_train_batch_end(
        &mut self,
        _step: usize,
        _logs: &mut dyn LogSource,
        _state: &mut FitState,
    ) -> Result<()> {
        Ok(())
    }
    /// After each epoch, with training and validation logs.
    fn on_epoch_end(&mut self, _epoch: usize, _logs: &Logs, _state: &mut FitState) -> Result<()> {
        Ok(())
    }
    /// After the last epoch.
    fn on_train_end(&mut self, _state: &mut FitState) -> Result<()> {
        Ok(())
    }
}

/// Per-epoch logs of a `fit` call, as Keras' `History`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Epoch indices that ran (0-based).
    pub epoch: Vec<usize>,
    /// Values per name, one per epoch.
    pub history: BTreeMap<String, Vec<f64>>,
}

impl History {
    /// Values of `name` per epoch.
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.history.get(name).map(|v| v.as_slice())
    }
    /// Last value of `name`.
    pub fn last(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(|v| v.last().copied())
    }
    /// Records one epoch.
    pub fn push(&mut self, epoch: usize, logs: &Logs) {
        self.epoch.push(epoch);
        for (k, v) in logs.iter() {
            self.history.entry(k.to_string()).or_default().push(v);
        }
    }
}
