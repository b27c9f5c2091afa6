//! `ModelCheckpoint` and the Keras-style file patterns it fills in.

use super::monitor::{config_setters, monitored, Mode, Tracker};
use super::{Callback, CallbackContext, EpochEnd, Logs};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
    config: ModelCheckpointConfig,
    tracker: Tracker,
    saved: Vec<PathBuf>,
}

/// The hyper-parameters of [`ModelCheckpoint`], with Keras' names and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelCheckpointConfig {
    /// The file pattern (`{epoch:02d}`, `{val_loss:.4f}`).
    pub filepath: String,
    /// The value `save_best_only` compares (default `val_loss`).
    pub monitor: String,
    /// Print a line per save.
    pub verbose: bool,
    /// Only save when the monitored value improves.
    pub save_best_only: bool,
    /// Direction of improvement.
    pub mode: Mode,
}

impl Default for ModelCheckpointConfig {
    fn default() -> Self {
        Self {
            filepath: String::new(),
            monitor: "val_loss".into(),
            verbose: false,
            save_best_only: false,
            mode: Mode::Auto,
        }
    }
}

impl ModelCheckpoint {
    /// Saves to `filepath` after every epoch; the pattern may use `{epoch:02d}` and logged
    /// values such as `{val_loss:.4f}`.
    pub fn new(filepath: &str) -> Self {
        Self::from_config(ModelCheckpointConfig {
            filepath: filepath.to_string(),
            ..Default::default()
        })
    }
    /// A callback with the hyper-parameters of `config`.
    pub fn from_config(config: ModelCheckpointConfig) -> Self {
        Self {
            config,
            tracker: Tracker::default(),
            saved: Vec::new(),
        }
    }
    /// Its hyper-parameters.
    pub fn config(&self) -> &ModelCheckpointConfig {
        &self.config
    }
    config_setters! {
        /// The value `save_best_only` compares (default `val_loss`).
        monitor: &str => |m| m.to_string(),
        /// Direction of improvement.
        mode: Mode,
        /// Only save when the monitored value improves.
        save_best_only: bool,
        /// Print a line per save.
        verbose: bool,
    }
    /// Files written so far.
    pub fn saved(&self) -> &[PathBuf] {
        &self.saved
    }
}

impl Callback for ModelCheckpoint {
    fn on_train_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.tracker.begin(self.config.mode, &self.config.monitor);
        Ok(())
    }

    fn on_epoch_end(&mut self, end: EpochEnd<'_>) -> Result<()> {
        let EpochEnd { epoch, logs, ctx } = end;
        let (c, t) = (&self.config, &mut self.tracker);
        let path = PathBuf::from(format_path(&c.filepath, epoch, logs)?);
        if c.save_best_only {
            let Some(current) = monitored(logs, &c.monitor, "ModelCheckpoint") else {
                return Ok(());
            };
            if !t.improves(current, 0.0) {
                return Ok(());
            }
            if c.verbose {
                println!(
                    "Epoch {}: {} improved from {:.5} to {:.5}, saving model to {}",
                    epoch + 1,
                    c.monitor,
                    t.best,
                    current,
                    path.display()
                );
            }
            t.best = current;
        } else if c.verbose {
            println!("Epoch {}: saving model to {}", epoch + 1, path.display());
        }
        ctx.model.save_weights(&path)?;
        self.saved.push(path);
        Ok(())
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
}
