//! `CsvLogger`: one CSV row of logs per epoch.

use super::history_io::io_error_at;
use super::monitor::config_setters;
use super::{Callback, CallbackContext, EpochEnd};
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;

/// Streams per-epoch logs to a CSV file (`epoch` first, then the log names in order), like
/// `keras.callbacks.CSVLogger` (that spelling, [`CSVLogger`], names it too).
#[doc(alias = "CSVLogger")]
#[derive(Debug)]
pub struct CsvLogger {
    config: CsvLoggerConfig,
    file: Option<std::fs::File>,
    keys: Option<Vec<String>>,
}

/// Keras' spelling of [`CsvLogger`] (`keras.callbacks.CSVLogger`).
pub type CSVLogger = CsvLogger;

/// The hyper-parameters of [`CsvLogger`], with Keras' names and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CsvLoggerConfig {
    /// The CSV file.
    pub filename: PathBuf,
    /// Field separator (default `,`).
    pub separator: char,
    /// Append to an existing file (for resumed training) instead of overwriting.
    pub append: bool,
}

impl Default for CsvLoggerConfig {
    fn default() -> Self {
        Self {
            filename: PathBuf::new(),
            separator: ',',
            append: false,
        }
    }
}

impl CsvLogger {
    /// Writes to `path` (overwriting, unless [`CsvLogger::append`]).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::from_config(CsvLoggerConfig {
            filename: path.into(),
            ..Default::default()
        })
    }
    /// A callback with the hyper-parameters of `config`.
    pub fn from_config(config: CsvLoggerConfig) -> Self {
        Self {
            config,
            file: None,
            keys: None,
        }
    }
    /// Its hyper-parameters.
    pub fn config(&self) -> &CsvLoggerConfig {
        &self.config
    }
    config_setters! {
        /// Field separator (default `,`).
        separator: char,
        /// Append to an existing file (for resumed training) instead of overwriting.
        append: bool,
    }
}

impl Callback for CsvLogger {
    fn on_train_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        let c = &self.config;
        let existed = c.append && c.filename.exists() && std::fs::metadata(&c.filename)?.len() > 0;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(c.append)
            .truncate(!c.append)
            .open(&c.filename)
            .map_err(|e| io_error_at(&c.filename, e))?;
        self.file = Some(file);
        self.keys = if existed { Some(Vec::new()) } else { None };
        Ok(())
    }

    fn on_epoch_end(&mut self, end: EpochEnd<'_>) -> Result<()> {
        let EpochEnd { epoch, logs, .. } = end;
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let sep = self.config.separator.to_string();
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
