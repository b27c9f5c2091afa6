//! [`History`] to and from CSV and JSON files.
//!
//! Every series of a `History` holds one value per entry of [`History::epoch`]; an epoch in
//! which a name was not logged (validation metrics between validation epochs, with
//! `validation_freq`) holds NaN. CSV writes such a value as an empty cell (as Keras'
//! `CSVLogger` leaves a missing key), JSON as `null`. A genuinely NaN loss is written the
//! same way: both formats read as "no finite value in this epoch".

use super::History;
use crate::error::{Error, Result};
use std::path::Path;

/// One CSV field, quoted when it holds the separator, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Shortest round-trip decimal form; NaN (not logged) as an empty cell.
fn csv_value(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

/// Writes `text` to `path` atomically, naming the file in an I/O error.
pub(crate) fn write_text(path: &Path, text: &str) -> Result<()> {
    crate::saving::atomic_write(path, text.as_bytes())
}

/// An I/O error on `path`, its message prefixed by the path (`run/log.csv: No such file`).
pub(super) fn io_error_at(path: &Path, e: std::io::Error) -> Error {
    Error::Io(e).in_call(&path.display().to_string())
}

impl History {
    /// Number of epochs recorded.
    pub fn len(&self) -> usize {
        self.epoch.len()
    }

    /// `true` when no epoch was recorded.
    pub fn is_empty(&self) -> bool {
        self.epoch.is_empty()
    }

    /// The finite values of `name` with their (0-based) epochs, skipping epochs in which
    /// `name` was not logged (NaN), e.g. `val_loss` with a `validation_freq` above 1.
    pub fn recorded(&self, name: &str) -> Vec<(usize, f64)> {
        self.get(name)
            .map(|values| {
                self.epoch
                    .iter()
                    .zip(values)
                    .filter(|(_, v)| !v.is_nan())
                    .map(|(e, v)| (*e, *v))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Checks that every series has one value per epoch.
    pub(crate) fn check_aligned(&self, context: &str) -> Result<()> {
        for (name, values) in &self.history {
            if values.len() != self.epoch.len() {
                return Err(Error::invalid(
                    context,
                    "history",
                    format!(
                        "series '{name}' has {} values for {} epochs (every series needs one value per epoch; NaN where not logged)",
                        values.len(),
                        self.epoch.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The history as CSV text, in the layout of Keras' `CSVLogger`: a header
    /// `epoch,<names in sorted order>`, then one row per epoch with the 0-based epoch index.
    /// Values are written in Rust's shortest round-trip form; a name not logged in an epoch
    /// is an empty cell.
    ///
    /// ```
    /// # fn main() -> stratanet::Result<()> {
    /// let mut h = stratanet::History::default();
    /// let mut logs = stratanet::Logs::new();
    /// logs.insert("loss", 0.5);
    /// h.push(0, &logs);
    /// assert_eq!(h.to_csv_string()?, "epoch,loss\n0,0.5\n");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When a series does not have one value per epoch (a hand-edited `History`).
    pub fn to_csv_string(&self) -> Result<String> {
        self.check_aligned("History::to_csv")?;
        let mut out = String::from("epoch");
        for name in self.history.keys() {
            out.push(',');
            out.push_str(&csv_field(name));
        }
        out.push('\n');
        for (i, epoch) in self.epoch.iter().enumerate() {
            out.push_str(&epoch.to_string());
            for values in self.history.values() {
                out.push(',');
                out.push_str(&csv_value(values[i]));
            }
            out.push('\n');
        }
        Ok(out)
    }

    /// Writes [`History::to_csv_string`] to `path` (overwriting it).
    ///
    /// # Errors
    /// A misaligned history, or an I/O error (naming the file).
    pub fn to_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        write_text(path.as_ref(), &self.to_csv_string()?)
    }

    /// The history as pretty-printed JSON:
    /// `{"epoch": [0, 1], "history": {"loss": [0.9, 0.7], "val_loss": [null, 0.8]}}`
    /// (`null` where a name was not logged). [`History::from_json`] reads it back.
    ///
    /// # Errors
    /// When a series does not have one value per epoch.
    pub fn to_json_string(&self) -> Result<String> {
        self.check_aligned("History::to_json")?;
        // serde_json writes non-finite floats as null.
        let value = serde_json::json!({ "epoch": self.epoch, "history": self.history });
        Ok(serde_json::to_string_pretty(&value)?)
    }

    /// Writes [`History::to_json_string`] to `path` (overwriting it).
    ///
    /// # Errors
    /// A misaligned history, or an I/O error (naming the file).
    pub fn to_json(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut text = self.to_json_string()?;
        text.push('\n');
        write_text(path.as_ref(), &text)
    }

    /// Reads a history written by [`History::to_json_string`] (`null` reads as NaN).
    ///
    /// ```
    /// # fn main() -> stratanet::Result<()> {
    /// let h = stratanet::History::from_json_str(
    ///     r#"{"epoch": [0, 1], "history": {"loss": [0.9, 0.7], "val_loss": [null, 0.8]}}"#,
    /// )?;
    /// assert_eq!(h.recorded("val_loss"), vec![(1, 0.8)]);
    /// // NaN != NaN, so compare the text of a round trip.
    /// let back = stratanet::History::from_json_str(&h.to_json_string()?)?;
    /// assert_eq!(back.to_json_string()?, h.to_json_string()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Invalid JSON, a missing or mistyped `epoch`/`history` field, or a series whose length
    /// differs from the number of epochs; the message names the field.
    pub fn from_json_str(text: &str) -> Result<Self> {
        const CTX: &str = "History::from_json";
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::config(CTX, format!("not valid JSON: {e}")))?;
        let obj = value.as_object().ok_or_else(|| {
            Error::config(CTX, "expected a JSON object with `epoch` and `history`")
        })?;
        let epochs = obj
            .get("epoch")
            .and_then(|e| e.as_array())
            .ok_or_else(|| Error::config(CTX, "missing `epoch` (an array of epoch indices)"))?;
        let epoch = epochs
            .iter()
            .enumerate()
            .map(|(i, e)| {
                e.as_u64().map(|e| e as usize).ok_or_else(|| {
                    Error::config(
                        CTX,
                        format!("epoch[{i}] = {e} is not a non-negative integer"),
                    )
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        let series = obj
            .get("history")
            .and_then(|h| h.as_object())
            .ok_or_else(|| Error::config(CTX, "missing `history` (an object of name: values)"))?;
        let mut history = std::collections::BTreeMap::new();
        for (name, values) in series {
            let values = values
                .as_array()
                .ok_or_else(|| Error::config(CTX, format!("history['{name}'] is not an array")))?;
            let values = values
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    serde_json::Value::Null => Ok(f64::NAN),
                    v => v.as_f64().ok_or_else(|| {
                        Error::config(CTX, format!("history['{name}'][{i}] = {v} is not a number"))
                    }),
                })
                .collect::<Result<Vec<f64>>>()?;
            history.insert(name.clone(), values);
        }
        let h = History {
            epoch,
            history,
            stopped_epoch: None,
        };
        h.check_aligned(CTX)?;
        Ok(h)
    }

    /// Reads a JSON file written by [`History::to_json`].
    ///
    /// # Errors
    /// An I/O error (naming the file) or the errors of [`History::from_json_str`].
    pub fn from_json(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| io_error_at(path, e))?;
        Self::from_json_str(&text).map_err(|e| match e {
            Error::Config { message, .. } => Error::config(path.display().to_string(), message),
            e => e,
        })
    }
}
