//! `LambdaCallback`: a callback from closures.

use super::{BatchEnd, Callback, CallbackContext, EpochEnd, LogSource, Logs};
use crate::error::Result;

type EpochFn = Box<dyn FnMut(usize, &Logs, &mut CallbackContext<'_>) -> Result<()> + Send>;
type EpochBeginFn = Box<dyn FnMut(usize, &mut CallbackContext<'_>) -> Result<()> + Send>;
type PlainFn = Box<dyn FnMut(&mut CallbackContext<'_>) -> Result<()> + Send>;
type BatchFn =
    Box<dyn FnMut(usize, &mut dyn LogSource, &mut CallbackContext<'_>) -> Result<()> + Send>;

/// Builder setters storing a boxed closure `f` in the listed field.
macro_rules! hook_setters {
    ($($(#[$doc:meta])* $name:ident => $field:ident: FnMut($($arg:ty),*)),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $name(
            mut self,
            f: impl FnMut($($arg),*) -> Result<()> + Send + 'static,
        ) -> Self {
            self.$field = Some(Box::new(f));
            self
        }
    )*};
}

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
    hook_setters! {
        /// Runs `f` before training.
        on_train_begin => train_begin: FnMut(&mut CallbackContext<'_>),
        /// Runs `f` after training.
        on_train_end => train_end: FnMut(&mut CallbackContext<'_>),
        /// Runs `f(epoch, ctx)` before each epoch.
        on_epoch_begin => epoch_begin: FnMut(usize, &mut CallbackContext<'_>),
        /// Runs `f(epoch, logs, ctx)` after each epoch.
        on_epoch_end => epoch_end: FnMut(usize, &Logs, &mut CallbackContext<'_>),
        /// Runs `f(step, logs, ctx)` after each training batch.
        on_train_batch_end => batch_end: FnMut(usize, &mut dyn LogSource, &mut CallbackContext<'_>),
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
    fn on_epoch_end(&mut self, mut end: EpochEnd<'_>) -> Result<()> {
        let f = self.epoch_end.as_mut();
        f.map_or(Ok(()), |f| f(end.epoch, end.logs, &mut end.ctx))
    }
    fn on_train_batch_end(&mut self, mut end: BatchEnd<'_>) -> Result<()> {
        let f = self.batch_end.as_mut();
        f.map_or(Ok(()), |f| f(end.step, end.logs, &mut end.ctx))
    }
}
