//! What the monitoring callbacks share: the [`Mode`] of a monitored value, the
//! improvement rule and the lookup of the value in the logs.

use super::Logs;

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
    }
}
