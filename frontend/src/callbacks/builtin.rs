//! Keras' built-in callbacks.

use super::{Callback, CallbackContext, LogSource, Logs};
use crate::data::HostTensor;
use crate::error::{Error, Result};
use std::io::Write;
use std::path::PathBuf;

/// Whether a monitored quantity should go down or up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Lower is better (losses).
    Min,
    /// Higher is better (accuracies).
    Max,
    /// `Max` for names containing `acc`, `auc`, `precision`, `recall`, `f1` or `r2`
    /// (accuracy-like), `Min` otherwise — Keras' rule.
    Auto,
}

impl Mode {
    /// The starting "best" value: one that any monitored value improves on.
    fn worst(self) -> f64 {
        if self == Mode::Max {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }
    }

    fn resolve(self, monitor: &str) -> Mode {
        match self {
            Mode::Auto => {
                let m = monitor.to_ascii_lowercase();
                if ["acc", "auc", "precision", "recall", "f1", "r2", "iou"]
                    .iter()
                    .any(|k| m.contains(k))
                {
                    Mode::Max
                } else {
                    Mode::Min
                }
            }
            m => m,
        }
    }
}

/// `current` improves on `reference` by more than `min_delta` in the given direction.
fn improves(mode: Mode, current: f64, reference: f64, min_delta: f64) -> bool {
    match mode {
        Mode::Max => current - min_delta.abs() > reference,
        _ => current + min_delta.abs() < reference,
    }
}

fn monitored(logs: &Logs, monitor: &str, who: &str) -> Option<f64> {
    let v = logs.get(monitor);
    if v.is_none() {
        let known: Vec<&str> = logs.iter().map(|(k, _)| k).collect();
        eprintln!(
            "{who}: monitored value '{monitor}' is not in the logs (available: {}); skipping",
            known.join(", ")
        );
    }
    v
}

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

/// Formats a Keras-style file pattern: `{epoch}` (1-based), `{epoch:02d}`, `{val_loss:.4f}`.
///
/// # Errors
/// An unknown name or format in the pattern.
pub fn format_path(pattern: &str, epoch: usize, logs: &Logs) -> Result<String> {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map(|c| open + c).ok_or_else(|| {
            Error::invalid(
                "ModelCheckpoint",
                "filepath",
                format!("unclosed '{{' in {pattern:?}"),
            )
        })?;
        let field = &rest[open + 1..close];
        let (name, spec) = field.split_once(':').unwrap_or((field, ""));
        let value = if name == "epoch" {
            (epoch + 1) as f64
        } else {
            logs.get(name).ok_or_else(|| {
                Error::invalid(
                    "ModelCheckpoint",
                    "filepath",
                    format!("'{name}' is not in the logs (pattern {pattern:?})"),
                )
            })?
        };
        let s = if let Some(w) = spec.strip_suffix('d') {
            let width: usize = w.trim_start_matches('0').parse().unwrap_or(0);
            if w.starts_with('0') {
                format!("{:0width$}", value as i64, width = width)
            } else {
                format!("{:width$}", value as i64, width = width)
            }
        } else if let Some(p) = spec.strip_prefix('.').and_then(|p| p.strip_suffix('f')) {
            let prec: usize = p.parse().map_err(|_| {
                Error::invalid(
                    "ModelCheckpoint",
                    "filepath",
                    format!("bad format {spec:?}"),
                )
            })?;
            format!("{value:.prec$}")
        } else if spec.is_empty() {
            if name == "epoch" {
                format!("{}", value as i64)
            } else {
                format!("{value}")
            }
        } else {
            return Err(Error::invalid(
                "ModelCheckpoint",
                "filepath",
                format!("unsupported format {spec:?}"),
            ));
        };
        out.push_str(&s);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Saves the weights at the end of epochs, like `keras.callbacks.ModelCheckpoint`
/// (`save_weights_only` semantics: the `.safetensors` weights file).
#[derive(Debug, Clone)]
pub struct ModelCheckpoint {
    filepath: String,
    monitor: String,
    mode: Mode,
    save_best_only: bool,
    verbose: bool,
    best: f64,
    saved: Vec<PathBuf>,
}

impl ModelCheckpoint {
    /// Saves to `filepath` after every epoch; the pattern may use `{epoch:02d}` and logged
    /// values such as `{val_loss:.4f}`.
    pub fn new(filepath: &str) -> Self {
        Self {
            filepath: filepath.to_string(),
            monitor: "val_loss".into(),
            mode: Mode::Auto,
            save_best_only: false,
            verbose: false,
            best: f64::INFINITY,
            saved: Vec::new(),
        }
    }
    /// The value `save_best_only` compares (default `val_loss`).
    pub fn monitor(mut self, m: &str) -> Self {
        self.monitor = m.to_string();
        self
    }
    /// Direction of improvement.
    pub fn mode(mut self, m: Mode) -> Self {
        self.mode = m;
        self
    }
    /// Only save when the monitored value improves.
    pub fn save_best_only(mut self, b: bool) -> Self {
        self.save_best_only = b;
        self
    }
    /// Print a line per save.
    pub fn verbose(mut self, v: bool) -> Self {
        self.verbose = v;
        self
    }
    /// Files written so far.
    pub fn saved(&self) -> &[PathBuf] {
        &self.saved
    }
}

impl Callback for ModelCheckpoint {
    fn on_train_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.mode = self.mode.resolve(&self.monitor);
        self.best = self.mode.worst();
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        ctx: &mut CallbackContext<'_>,
    ) -> Result<()> {
        let path = PathBuf::from(format_path(&self.filepath, epoch, logs)?);
        if self.save_best_only {
            let Some(current) = monitored(logs, &self.monitor, "ModelCheckpoint") else {
                return Ok(());
            };
            if !improves(self.mode, current, self.best, 0.0) {
                return Ok(());
            }
            if self.verbose {
                println!(
                    "Epoch {}: {} improved from {:.5} to {:.5}, saving model to {}",
                    epoch + 1,
                    self.monitor,
                    self.best,
                    current,
                    path.display()
                );
            }
            self.best = current;
        } else if self.verbose {
            println!("Epoch {}: saving model to {}", epoch + 1, path.display());
        }
        ctx.model.save_weights(&path)?;
        self.saved.push(path);
        Ok(())
    }
}

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

/// Streams per-epoch logs to a CSV file (`epoch` first, then the log names in order), like
/// `keras.callbacks.CSVLogger`.
#[derive(Debug)]
pub struct CsvLogger {
    path: PathBuf,
    separator: char,
    append: bool,
    file: Option<std::fs::File>,
    keys: Option<Vec<String>>,
}

impl CsvLogger {
    /// Writes to `path` (overwriting, unless [`CsvLogger::append`]).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            separator: ',',
            append: false,
            file: None,
            keys: None,
        }
    }
    /// Field separator (default `,`).
    pub fn separator(mut self, s: char) -> Self {
        self.separator = s;
        self
    }
    /// Append to an existing file (for resumed training) instead of overwriting.
    pub fn append(mut self, a: bool) -> Self {
        self.append = a;
        self
    }
}

impl Callback for CsvLogger {
    fn on_train_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        let existed = self.append && self.path.exists() && std::fs::metadata(&self.path)?.len() > 0;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(self.append)
            .truncate(!self.append)
            .open(&self.path)
            .map_err(|e| {
                Error::Io(std::io::Error::new(
                    e.kind(),
                    format!("{}: {e}", self.path.display()),
                ))
            })?;
        self.file = Some(file);
        self.keys = if existed { Some(Vec::new()) } else { None };
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        _ctx: &mut CallbackContext<'_>,
    ) -> Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let sep = self.separator.to_string();
        let keys: Vec<String> = logs.iter().map(|(k, _)| k.to_string()).collect();
        if self.keys.is_none() {
            writeln!(file, "epoch{sep}{}", keys.join(&sep))?;
        }
        self.keys = Some(keys);
        let values: Vec<String> = logs.iter().map(|(_, v)| format!("{v}")).collect();
        writeln!(file, "{epoch}{sep}{}", values.join(&sep))?;
        file.flush()?;
        Ok(())
    }

    fn on_train_end(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        if let Some(f) = self.file.take() {
            f.sync_all()?;
        }
        Ok(())
    }
}

/// Stops training as soon as the running loss is NaN or infinite, like
/// `keras.callbacks.TerminateOnNaN` (reads the loss every batch: one device sync per batch).
#[derive(Debug, Clone, Default)]
pub struct TerminateOnNan {
    terminated_at: Option<usize>,
}

impl TerminateOnNan {
    /// A new callback.
    pub fn new() -> Self {
        Self::default()
    }
    /// The batch (0-based, within its epoch) at which training was stopped.
    pub fn terminated_at(&self) -> Option<usize> {
        self.terminated_at
    }
}

impl Callback for TerminateOnNan {
    fn on_train_batch_end(
        &mut self,
        step: usize,
        logs: &mut dyn LogSource,
        ctx: &mut CallbackContext<'_>,
    ) -> Result<()> {
        if let Some(loss) = logs.logs()?.get("loss") {
            if !loss.is_finite() {
                println!("Batch {step}: Invalid loss, terminating training");
                self.terminated_at = Some(step);
                ctx.state.stop_training = true;
            }
        }
        Ok(())
    }
}

type EpochFn = Box<dyn FnMut(usize, &Logs, &mut CallbackContext<'_>) -> Result<()> + Send>;
type EpochBeginFn = Box<dyn FnMut(usize, &mut CallbackContext<'_>) -> Result<()> + Send>;
type PlainFn = Box<dyn FnMut(&mut CallbackContext<'_>) -> Result<()> + Send>;
type BatchFn =
    Box<dyn FnMut(usize, &mut dyn LogSource, &mut CallbackContext<'_>) -> Result<()> + Send>;

/// A callback from closures, like `keras.callbacks.LambdaCallback`.
///
/// ```
/// use stratanet::callbacks::LambdaCallback;
/// let cb = LambdaCallback::new().on_epoch_end(|epoch, logs, _ctx| {
///     println!("epoch {epoch}: {logs}");
///     Ok(())
/// });
/// # let _ = cb;
/// ```
#[derive(Default)]
pub struct LambdaCallback {
    train_begin: Option<PlainFn>,
    train_end: Option<PlainFn>,
    epoch_begin: Option<EpochBeginFn>,
    epoch_end: Option<EpochFn>,
    batch_end: Option<BatchFn>,
}

impl std::fmt::Debug for LambdaCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaCallback").finish_non_exhaustive()
    }
}

impl LambdaCallback {
    /// A callback that does nothing until hooks are set.
    pub fn new() -> Self {
        Self::default()
    }
    /// Runs `f` before training.
    pub fn on_train_begin(
        mut self,
        f: impl FnMut(&mut CallbackContext<'_>) -> Result<()> + Send + 'static,
    ) -> Self {
        self.train_begin = Some(Box::new(f));
        self
    }
    /// Runs `f` after training.
    pub fn on_train_end(
        mut self,
        f: impl FnMut(&mut CallbackContext<'_>) -> Result<()> + Send + 'static,
    ) -> Self {
        self.train_end = Some(Box::new(f));
        self
    }
    /// Runs `f(epoch, ctx)` before each epoch.
    pub fn on_epoch_begin(
        mut self,
        f: impl FnMut(usize, &mut CallbackContext<'_>) -> Result<()> + Send + 'static,
    ) -> Self {
        self.epoch_begin = Some(Box::new(f));
        self
    }
    /// Runs `f(epoch, logs, ctx)` after each epoch.
    pub fn on_epoch_end(
        mut self,
        f: impl FnMut(usize, &Logs, &mut CallbackContext<'_>) -> Result<()> + Send + 'static,
    ) -> Self {
        self.epoch_end = Some(Box::new(f));
        self
    }
    /// Runs `f(step, logs, ctx)` after each training batch.
    pub fn on_train_batch_end(
        mut self,
        f: impl FnMut(usize, &mut dyn LogSource, &mut CallbackContext<'_>) -> Result<()>
            + Send
            + 'static,
    ) -> Self {
        self.batch_end = Some(Box::new(f));
        self
    }
}

impl Callback for LambdaCallback {
    fn on_train_begin(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.train_begin.as_mut().map_or(Ok(()), |f| f(ctx))
    }
    fn on_train_end(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.train_end.as_mut().map_or(Ok(()), |f| f(ctx))
    }
    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.epoch_begin.as_mut().map_or(Ok(()), |f| f(epoch, ctx))
    }
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        ctx: &mut CallbackContext<'_>,
    ) -> Result<()> {
        self.epoch_end
            .as_mut()
            .map_or(Ok(()), |f| f(epoch, logs, ctx))
    }
    fn on_train_batch_end(
        &mut self,
        step: usize,
        logs: &mut dyn LogSource,
        ctx: &mut CallbackContext<'_>,
    ) -> Result<()> {
        self.batch_end
            .as_mut()
            .map_or(Ok(()), |f| f(step, logs, ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_patterns() {
        let mut logs = Logs::new();
        logs.insert("val_loss", 0.123456);
        assert_eq!(
            format_path("m_{epoch:02d}-{val_loss:.2f}.safetensors", 4, &logs).unwrap(),
            "m_05-0.12.safetensors"
        );
        assert_eq!(format_path("w{epoch}.st", 0, &logs).unwrap(), "w1.st");
        assert!(format_path("w{nope}.st", 0, &logs).is_err());
        assert!(format_path("w{epoch.st", 0, &logs).is_err());
    }

    #[test]
    fn improvement_rules() {
        assert!(improves(Mode::Min, 0.5, 0.6, 0.05));
        assert!(!improves(Mode::Min, 0.56, 0.6, 0.05));
        assert!(improves(Mode::Max, 0.9, 0.8, 0.0));
        assert_eq!(Mode::Auto.resolve("val_accuracy"), Mode::Max);
        assert_eq!(Mode::Auto.resolve("val_loss"), Mode::Min);
    }
}
