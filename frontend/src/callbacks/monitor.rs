//! What the monitoring callbacks share: the [`Mode`] of a monitored value, the
//! improvement rule, the lookup of the value in the logs, the running [`Tracker`] of the
//! best value, and the builder setters over a callback's `…Config`.

use super::Logs;
use serde::{Deserialize, Serialize};

/// Builder setters writing `self.config.<field>`, one per listed field; `=> |v| expr`
/// converts the argument first (e.g. `min_delta` keeps its absolute value).
macro_rules! config_setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty $(=> |$v:ident| $conv:expr)?),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $field(mut self, value: $ty) -> Self {
            $(let $v = value; let value = $conv;)?
            self.config.$field = value;
            self
        }
    )*};
}
pub(super) use config_setters;

/// Whether a monitored quantity should go down or up (Keras' `"min"`, `"max"`, `"auto"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Lower is better (losses).
    Min,
    /// Higher is better (accuracies).
    Max,
    /// `Max` for names containing `acc`, `auc`, `precision`, `recall`, `f1` or `r2`
    /// (accuracy-like), `Min` otherwise — Keras' rule.
    #[default]
    Auto,
}

impl Mode {
    /// The starting "best" value: one that any monitored value improves on.
    pub(super) fn worst(self) -> f64 {
        if self == Mode::Max {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }
    }

    pub(super) fn resolve(self, monitor: &str) -> Mode {
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
pub(super) fn improves(mode: Mode, current: f64, reference: f64, min_delta: f64) -> bool {
    match mode {
        Mode::Max => current - min_delta.abs() > reference,
        _ => current + min_delta.abs() < reference,
    }
}

/// Running state of a monitored value during `fit`: the resolved direction, the best value
/// so far and the epochs waited since it last improved.
#[derive(Debug, Clone)]
pub(super) struct Tracker {
    pub(super) mode: Mode,
    pub(super) best: f64,
    pub(super) wait: usize,
}

impl Default for Tracker {
    fn default() -> Self {
        Self {
            mode: Mode::Auto,
            best: f64::INFINITY,
            wait: 0,
        }
    }
}

impl Tracker {
    /// Starts over (at `on_train_begin`): resolves `mode` for `monitor`, forgets the best
    /// value and the wait.
    pub(super) fn begin(&mut self, mode: Mode, monitor: &str) {
        self.mode = mode.resolve(monitor);
        self.best = self.mode.worst();
        self.wait = 0;
    }

    /// `current` improves on the best value so far by more than `min_delta`.
    pub(super) fn improves(&self, current: f64, min_delta: f64) -> bool {
        improves(self.mode, current, self.best, min_delta)
    }
}

/// The value of `monitor` in `logs`; when it is missing, a warning naming `who` and the
/// available names, and `None`.
pub(super) fn monitored(logs: &Logs, monitor: &str, who: &str) -> Option<f64> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn improvement_rules() {
        assert!(improves(Mode::Min, 0.5, 0.6, 0.05));
        assert!(!improves(Mode::Min, 0.56, 0.6, 0.05));
        assert!(improves(Mode::Max, 0.9, 0.8, 0.0));
        assert_eq!(Mode::Auto.resolve("val_accuracy"), Mode::Max);
        assert_eq!(Mode::Auto.resolve("val_loss"), Mode::Min);
        let mut t = Tracker::default();
        t.begin(Mode::Auto, "accuracy");
        assert_eq!((t.mode, t.best), (Mode::Max, f64::NEG_INFINITY));
        assert!(t.improves(0.1, 0.0));
    }
}
