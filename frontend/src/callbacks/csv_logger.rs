//! `CsvLogger`: one CSV row of logs per epoch.

use super::{Callback, CallbackContext, Logs};
use crate::error::{Error, Result};
use std::io::Write;
use std::path::PathBuf;

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
