//! Callbacks: hooks into `fit`, and the two every `fit` uses: [`History`] and the Keras-style
//! [`ProgressBar`].

mod checkpoint;
mod csv_logger;
mod early_stopping;
mod history_io;
mod lambda;
mod monitor;
mod progress;
mod schedulers;
pub mod tensorboard;
mod terminate_on_nan;

pub use checkpoint::{ModelCheckpoint, ModelCheckpointConfig};
pub use csv_logger::{CSVLogger, CsvLogger, CsvLoggerConfig};
pub use early_stopping::{EarlyStopping, EarlyStoppingConfig};
pub(crate) use history_io::write_text;
pub use lambda::LambdaCallback;
pub use monitor::Mode;
pub use progress::ProgressBar;
pub use schedulers::{
    LearningRateScheduler, ReduceLROnPlateau, ReduceLrOnPlateau, ReduceLrOnPlateauConfig,
};
pub use tensorboard::{TensorBoard, TensorBoardConfig, UpdateFreq};
pub use terminate_on_nan::{TerminateOnNaN, TerminateOnNan};

use crate::data::HostTensor;
use crate::error::Result;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// Named scalar results (`loss`, `accuracy`, `val_loss`, ...), kept sorted by name like
/// Keras' progress line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Logs(BTreeMap<String, f64>);

impl Logs {
    /// Empty logs.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets a value.
    pub fn insert(&mut self, name: impl Into<String>, value: f64) {
        self.0.insert(name.into(), value);
    }
    /// A value by name (`None` when absent; see [`Self::value`] for an error that lists
    /// the names present).
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.get(name).copied()
    }
    /// A value by name, like Keras' `results["accuracy"]` (with `return_dict=True`).
    ///
    /// ```
    /// use stratanet::Logs;
    /// let mut logs = Logs::new();
    /// logs.insert("loss", 0.25);
    /// logs.insert("accuracy", 0.9);
    /// assert_eq!(logs.value("accuracy").unwrap(), 0.9);
    /// let e = logs.value("acc").unwrap_err();
    /// assert_eq!(e.to_string(), "unknown result 'acc'; known: accuracy, loss");
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownName`](crate::Error::UnknownName) naming `name` and every name
    /// present.
    pub fn value(&self, name: &str) -> Result<f64> {
        self.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.0.keys().map(String::as_str).collect();
            crate::error::Error::unknown("result", name, &known)
        })
    }
    /// The names present, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
    /// Iterates in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// `true` when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Adds every entry of `other` with a prefix (`val_`).
    pub fn extend_prefixed(&mut self, other: &Logs, prefix: &str) {
        for (k, v) in other.iter() {
            self.insert(format!("{prefix}{k}"), v);
        }
    }
}

/// Keras' number format: 4 decimals, scientific notation for very small or large values.
pub fn format_value(v: f64) -> String {
    if v == 0.0 || (1e-3..1e4).contains(&v.abs()) {
        format!("{v:.4}")
    } else {
        format!("{v:.4e}")
    }
}

impl fmt::Display for Logs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .iter()
            .map(|(k, v)| format!("{k}: {}", format_value(v)))
            .collect();
        f.write_str(&parts.join(" - "))
    }
}

/// Source of the running training logs; reading them syncs with the device, so callbacks
/// call it only when they need numbers (the progress bar: when it redraws).
pub trait LogSource {
    /// Current running logs (loss and metrics over the epoch so far).
    ///
    /// # Errors
    /// On engine errors.
    fn logs(&mut self) -> Result<Logs>;
}

/// State shared with callbacks during `fit`.
#[derive(Debug, Clone)]
pub struct FitState {
    /// Total epochs requested.
    pub epochs: usize,
    /// Batches per epoch.
    pub steps: usize,
    /// Verbosity (0 silent, 1 progress bar, 2 one line per epoch).
    pub verbose: u8,
    /// Set by a callback to end training after the current batch (or epoch).
    pub stop_training: bool,
    /// The optimizer's learning rate; a callback may change it (applied from the next
    /// batch on).
    pub learning_rate: f64,
    /// Current epoch (0-based).
    pub epoch: usize,
}

/// What callbacks may do with the model being trained. Weights travel as host copies, so
/// callbacks are engine-independent.
pub trait ModelAccess {
    /// Host copies of every weight, by path (`dense/kernel`).
    ///
    /// # Errors
    /// On engine errors.
    fn get_weights(&self) -> Result<Vec<(String, HostTensor)>>;
    /// Overwrites weights in place from host copies.
    ///
    /// # Errors
    /// When names or shapes do not match.
    /// Takes `&self`: the weights are written in place through the model's parameter
    /// handles, so a callback can restore weights during `evaluate` and `predict` too
    /// (which take the model by shared reference).
    fn set_weights(&self, weights: &[(String, HostTensor)]) -> Result<()>;
    /// Saves the weights to a `.safetensors` file (atomically).
    ///
    /// # Errors
    /// On I/O errors.
    fn save_weights(&self, path: &Path) -> Result<()>;
    /// The model's layer graph, one [`LayerNode`] per layer (and per input of a functional
    /// model) in topological order, for [`TensorBoard`]'s graph. The default is empty (no
    /// graph to show).
    ///
    /// # Errors
    /// On a poisoned layer lock or a layer whose output shape cannot be computed.
    fn layer_graph(&self) -> Result<Vec<LayerNode>> {
        Ok(Vec::new())
    }
}

/// One layer of a model's graph as callbacks see it: what [`ModelAccess::layer_graph`]
/// returns (a layer shared by several calls is one node with the inputs of all of them).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNode {
    /// The layer's (or input's) name.
    pub name: String,
    /// Its class (`Dense`; `InputLayer` for an input).
    pub class_name: String,
    /// The tensors it consumes: the producing node's name and which of its outputs.
    pub inputs: Vec<(String, usize)>,
    /// Per-sample output shapes, one per output (empty when the model is not built).
    pub output_shapes: Vec<Vec<usize>>,
    /// The layer's config (`None` for an input).
    pub config: Option<serde_json::Value>,
}

/// What a callback hook receives.
pub struct CallbackContext<'a> {
    /// Shared training state (`stop_training`, `learning_rate`, ...).
    pub state: &'a mut FitState,
    /// The model being trained (or evaluated): weights in and out, saves.
    pub model: &'a dyn ModelAccess,
}

impl CallbackContext<'_> {
    /// A shorter-lived copy of this context, to hand to one hook.
    pub fn reborrow(&mut self) -> CallbackContext<'_> {
        CallbackContext {
            state: &mut *self.state,
            model: self.model,
        }
    }
}

/// What `on_epoch_end` receives: the epoch (0-based), its training and validation logs,
/// and the callback context.
#[derive(Debug)]
pub struct EpochEnd<'a> {
    /// The epoch that ended (0-based).
    pub epoch: usize,
    /// Its training logs, with the validation logs (`val_` prefix) when it validated.
    pub logs: &'a Logs,
    /// Shared training state and the model.
    pub ctx: CallbackContext<'a>,
}

/// What the batch-end hooks (`on_train_batch_end`, `on_test_batch_end`) receive: the step
/// (0-based), the running logs and the callback context. Reading `logs` syncs with the
/// device: do it only when needed.
pub struct BatchEnd<'a> {
    /// The batch that ended (0-based step within the epoch or evaluation).
    pub step: usize,
    /// The running logs (loss and metrics over the batches so far).
    pub logs: &'a mut dyn LogSource,
    /// Shared training state and the model.
    pub ctx: CallbackContext<'a>,
}

impl std::fmt::Debug for BatchEnd<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchEnd")
            .field("step", &self.step)
            .field("ctx", &self.ctx)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for CallbackContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackContext")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Declares the [`Callback`] trait, each hook with an empty default, and the forwarding impl
/// for a shared `Arc<Mutex<C>>`, from one list of hook signatures.
macro_rules! callback_hooks {
    ($($(#[$doc:meta])* fn $hook:ident(&mut self $(, $arg:ident: $ty:ty)*);)*) => {
        /// Hooks called by `fit` (the `test` hooks run for its validation pass). Every method
        /// has an empty default, like Keras' `Callback`.
        #[allow(unused_variables)]
        pub trait Callback: Send {
            $($(#[$doc])* fn $hook(&mut self $(, $arg: $ty)*) -> Result<()> { Ok(()) })*
        }

        /// A shared callback: keep a clone of the `Arc` to read the callback's state after
        /// `fit` (e.g. `EarlyStopping::stopped_epoch`).
        impl<C: Callback> Callback for std::sync::Arc<std::sync::Mutex<C>> {
            $(fn $hook(&mut self $(, $arg: $ty)*) -> Result<()> {
                lock(self)?.$hook($($arg),*)
            })*
        }
    };
}

callback_hooks! {
    /// Before the first epoch.
    fn on_train_begin(&mut self, ctx: &mut CallbackContext<'_>);
    /// After the last epoch (also after an early stop).
    fn on_train_end(&mut self, ctx: &mut CallbackContext<'_>);
    /// Before each epoch (0-based).
    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut CallbackContext<'_>);
    /// After each epoch, with its training and validation logs.
    fn on_epoch_end(&mut self, end: EpochEnd<'_>);
    /// Before each training batch (0-based step within the epoch).
    fn on_train_batch_begin(&mut self, step: usize, ctx: &mut CallbackContext<'_>);
    /// After each training batch. Reading `end.logs` syncs with the device: do it only
    /// when needed.
    fn on_train_batch_end(&mut self, end: BatchEnd<'_>);
    /// Before a validation pass.
    fn on_test_begin(&mut self, ctx: &mut CallbackContext<'_>);
    /// After a validation pass, with its logs (without the `val_` prefix).
    fn on_test_end(&mut self, logs: &Logs, ctx: &mut CallbackContext<'_>);
    /// Before each batch of an evaluation (fit's validation pass or `evaluate_with`).
    fn on_test_batch_begin(&mut self, step: usize, ctx: &mut CallbackContext<'_>);
    /// After each batch of an evaluation; reading `end.logs` syncs with the device.
    fn on_test_batch_end(&mut self, end: BatchEnd<'_>);
    /// Before `predict_with`.
    fn on_predict_begin(&mut self, ctx: &mut CallbackContext<'_>);
    /// After `predict_with`.
    fn on_predict_end(&mut self, ctx: &mut CallbackContext<'_>);
    /// Before each batch of `predict_with`.
    fn on_predict_batch_begin(&mut self, step: usize, ctx: &mut CallbackContext<'_>);
    /// After each batch of `predict_with`.
    fn on_predict_batch_end(&mut self, step: usize, ctx: &mut CallbackContext<'_>);
}

/// Per-epoch logs of a `fit` call, as Keras' `History`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Epoch indices that ran (0-based).
    pub epoch: Vec<usize>,
    /// Values per name, one per entry of `epoch`; NaN in an epoch where the name was not
    /// logged (e.g. `val_loss` between validation epochs), so all series stay aligned.
    pub history: BTreeMap<String, Vec<f64>>,
    /// The epoch (0-based) after which a callback stopped training early (`EarlyStopping`,
    /// `TerminateOnNaN`, or any callback setting `stop_training`), like Keras'
    /// `EarlyStopping.stopped_epoch`; `None` when every requested epoch ran.
    pub stopped_epoch: Option<usize>,
}

impl History {
    /// The epoch and value where `name` was best: lowest for loss-like names, highest for
    /// accuracy-like ones (names containing `acc`, `auc`, `precision`, `recall`, `f1`,
    /// `r2` or `iou`, Keras' `mode="auto"` rule, as [`EarlyStopping`] uses); epochs where
    /// it was not logged (NaN) are skipped. The epoch is the entry of [`History::epoch`]
    /// (0-based, counting from `initial_epoch`); ties go to the earliest epoch.
    ///
    /// ```
    /// use stratanet::{History, Logs};
    /// let mut h = History::default();
    /// for (e, (loss, acc)) in [(0.9, 0.5), (0.4, 0.8), (0.6, 0.7)].into_iter().enumerate() {
    ///     let mut logs = Logs::new();
    ///     logs.insert("val_loss", loss);
    ///     logs.insert("val_accuracy", acc);
    ///     h.push(e, &logs);
    /// }
    /// assert_eq!(h.best("val_loss")?, (1, 0.4));
    /// assert_eq!(h.best("val_accuracy")?, (1, 0.8));
    /// assert!(h.best("val_acc").unwrap_err().to_string().contains("val_accuracy"));
    /// # Ok::<(), stratanet::Error>(())
    /// ```
    ///
    /// # Errors
    /// A name that was never logged (the message lists those that were), or one with no
    /// value in any epoch.
    pub fn best(&self, name: &str) -> Result<(usize, f64)> {
        self.best_by(name, Mode::Auto)
    }

    /// [`History::best`] in an explicit direction ([`Mode::Min`], [`Mode::Max`], or
    /// [`Mode::Auto`] for the name rule).
    ///
    /// # Errors
    /// As [`History::best`].
    pub fn best_by(&self, name: &str, mode: Mode) -> Result<(usize, f64)> {
        let series = self.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.history.keys().map(String::as_str).collect();
            crate::error::Error::unknown("History::best name", name, &known)
        })?;
        let max = mode.resolve(name) == Mode::Max;
        let mut best: Option<(usize, f64)> = None;
        for (&epoch, &v) in self.epoch.iter().zip(series) {
            if v.is_nan() {
                continue;
            }
            let better = match best {
                None => true,
                Some((_, b)) => (max && v > b) || (!max && v < b),
            };
            if better {
                best = Some((epoch, v));
            }
        }
        best.ok_or_else(|| {
            crate::error::Error::invalid(
                "History::best",
                name,
                "no value was logged for it in any epoch",
            )
        })
    }

    /// The epoch (0-based) after which a callback stopped training early: `None` when
    /// every requested epoch ran.
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }

    /// Values of `name` per epoch.
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.history.get(name).map(|v| v.as_slice())
    }
    /// Last value of `name`.
    pub fn last(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(|v| v.last().copied())
    }
    /// Records one epoch. Names missing from `logs` get NaN for this epoch, and a name seen
    /// for the first time gets NaN for the earlier epochs, so every series keeps one value
    /// per epoch.
    pub fn push(&mut self, epoch: usize, logs: &Logs) {
        let before = self.epoch.len();
        self.epoch.push(epoch);
        for (k, v) in logs.iter() {
            let series = self.history.entry(k.to_string()).or_default();
            if series.len() < before {
                series.resize(before, f64::NAN);
            }
            series.push(v);
        }
        for series in self.history.values_mut() {
            if series.len() < before + 1 {
                series.resize(before + 1, f64::NAN);
            }
        }
    }
}

fn lock<C>(m: &std::sync::Mutex<C>) -> Result<std::sync::MutexGuard<'_, C>> {
    m.lock().map_err(|_| {
        crate::Error::invalid("callback", "mutex", "poisoned by a panic in another thread")
    })
}
