//! `LambdaCallback`: a callback from closures.

use super::{Callback, CallbackContext, LogSource, Logs};
use crate::error::Result;

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
