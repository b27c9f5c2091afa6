//! `TerminateOnNan`: stop training on a NaN or infinite loss.

use super::{BatchEnd, Callback};
use crate::error::Result;

/// Stops training as soon as the running loss is NaN or infinite, like
/// `keras.callbacks.TerminateOnNaN` (reads the loss every batch: one device sync per batch;
/// that spelling, [`TerminateOnNaN`], names it too).
#[doc(alias = "TerminateOnNaN")]
#[derive(Debug, Clone, Default)]
pub struct TerminateOnNan {
    terminated_at: Option<usize>,
}

/// Keras' spelling of [`TerminateOnNan`] (`keras.callbacks.TerminateOnNaN`).
pub type TerminateOnNaN = TerminateOnNan;

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
    fn on_train_batch_end(&mut self, end: BatchEnd<'_>) -> Result<()> {
        let BatchEnd { step, logs, ctx } = end;
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
