//! [`FitOptions`]: the options of `fit`, with Keras' defaults and a builder.

use super::class_weight::ClassWeight;
use crate::backend::Backend;
use crate::callbacks::Callback;
use crate::dataset::Dataset;
use crate::distribute::DataParallel;
use crate::model::Data;
use crate::tensor::Tensor;

/// Options of `fit`, with Keras' defaults (`epochs = 1`, `batch_size = 32`, `shuffle`,
/// `verbose = 1`).
///
/// ```
/// use stratanet::{FitOptions, DefaultBackend as B};
/// let opts = FitOptions::<B>::new().epochs(20).batch_size(64).validation_split(0.1).seed(42);
/// assert_eq!(opts.epochs, 20);
/// ```
pub struct FitOptions<B: Backend> {
    /// Passes over the data.
    pub epochs: usize,
    /// Samples per gradient step.
    pub batch_size: usize,
    /// Fraction of the samples (taken from the end, before shuffling, as Keras) held out
    /// for validation.
    pub validation_split: f64,
    /// Explicit validation data (takes precedence over `validation_split`).
    pub validation_data: Option<(Data<B>, Data<B>)>,
    /// Reshuffle the training samples every epoch.
    pub shuffle: bool,
    /// Seed for shuffling and dropout (default: the model's seed).
    pub seed: Option<u64>,
    /// 0 silent, 1 progress bar, 2 one line per epoch.
    pub verbose: u8,
    /// Extra callbacks.
    pub callbacks: Vec<Box<dyn Callback>>,
    /// Per-sample loss weights, shape `[N]`.
    pub sample_weight: Option<Tensor<B>>,
    /// Per-class loss weights: explicit, indexed by class (Keras' `class_weight` dict as a
    /// vector), or [`ClassWeight::Balanced`].
    pub class_weight: Option<ClassWeight>,
    /// Epoch to start at (0-based), for resuming: `epochs` is the index of the last epoch
    /// plus one, as in Keras.
    pub initial_epoch: usize,
    /// Batches per epoch (`None`: one pass over the data). With tensors an epoch is that
    /// many batches, continuing through the (reshuffled) data across epochs; with a dataset,
    /// that many batches, restarting the dataset when it is exhausted.
    pub steps_per_epoch: Option<usize>,
    /// Validate every `validation_freq`-th epoch (those where `(epoch + 1) % freq == 0`,
    /// as Keras); default 1.
    pub validation_freq: usize,
    /// Batch size of the validation pass (default: `batch_size`).
    pub validation_batch_size: Option<usize>,
    /// Validation data as a [`Dataset`] (takes precedence over `validation_data` and
    /// `validation_split`).
    pub validation_dataset: Option<Dataset>,
    /// Data-parallel training across processes ([`DataParallel`]): `batch_size` is then
    /// the global batch, split across the ranks (see [`crate::distribute`]).
    pub distribute: Option<DataParallel>,
}

impl<B: Backend> Default for FitOptions<B> {
    fn default() -> Self {
        Self {
            epochs: 1,
            batch_size: 32,
            validation_split: 0.0,
            validation_data: None,
            shuffle: true,
            seed: None,
            verbose: 1,
            callbacks: Vec::new(),
            sample_weight: None,
            class_weight: None,
            initial_epoch: 0,
            steps_per_epoch: None,
            validation_freq: 1,
            validation_batch_size: None,
            validation_dataset: None,
            distribute: None,
        }
    }
}

impl<B: Backend> std::fmt::Debug for FitOptions<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FitOptions")
            .field("epochs", &self.epochs)
            .field("batch_size", &self.batch_size)
            .field("validation_split", &self.validation_split)
            .field("shuffle", &self.shuffle)
            .field("seed", &self.seed)
            .field("verbose", &self.verbose)
            .field("initial_epoch", &self.initial_epoch)
            .field("steps_per_epoch", &self.steps_per_epoch)
            .field("validation_freq", &self.validation_freq)
            .field("validation_batch_size", &self.validation_batch_size)
            .field("validation_dataset", &self.validation_dataset)
            .field("distribute", &self.distribute)
            .finish_non_exhaustive()
    }
}

impl<B: Backend> FitOptions<B> {
    crate::builder::setters! {
        /// Keras' defaults.
        new();
        /// Sets `epochs`.
        epochs(epochs: usize) => epochs = epochs;
        /// Sets `batch_size`.
        batch_size(batch_size: usize) => batch_size = batch_size;
        /// Sets `validation_split`.
        validation_split(split: f64) => validation_split = split;
        /// Sets `validation_data` (tensors, lists or named pairs, like `fit`'s `x` and `y`).
        validation_data(x: impl Into<Data<B>>, y: impl Into<Data<B>>) => validation_data = Some((x.into(), y.into()));
        /// Sets `shuffle`.
        shuffle(shuffle: bool) => shuffle = shuffle;
        /// Sets the seed for shuffling and dropout.
        seed(seed: u64) => seed = Some(seed);
        /// Sets `verbose`.
        verbose(verbose: u8) => verbose = verbose;
        /// Weights each sample's loss (`[N]`, like Keras' `sample_weight`).
        sample_weight(w: Tensor<B>) => sample_weight = Some(w);
        /// Weights each sample's loss by its class: `weights[c]` for class `c` (Keras'
        /// `class_weight={0: 1.0, 1: 5.0}` is `vec![1.0, 5.0]`), or
        /// [`ClassWeight::Balanced`] (scikit-learn's `"balanced"`).
        class_weight(weights: impl Into<ClassWeight>) => class_weight = Some(weights.into());
        /// Starts at epoch `epoch` (resuming a run: with the same seed, the shuffles and dropout
        /// masks continue where an uninterrupted run would be).
        initial_epoch(epoch: usize) => initial_epoch = epoch;
        /// Sets `steps_per_epoch`: batches per epoch (see the field).
        steps_per_epoch(steps: usize) => steps_per_epoch = Some(steps);
        /// Validates every `freq`-th epoch (`(epoch + 1) % freq == 0`).
        validation_freq(freq: usize) => validation_freq = freq;
        /// Sets the batch size of the validation pass.
        validation_batch_size(batch_size: usize) => validation_batch_size = Some(batch_size);
        /// Validates on a [`Dataset`] (unbatched datasets are batched by the validation batch
        /// size).
        validation_dataset(data: Dataset) => validation_dataset = Some(data);
    }
    /// Adds a callback.
    pub fn callback(mut self, cb: impl Callback + 'static) -> Self {
        self.callbacks.push(Box::new(cb));
        self
    }
    /// Trains data-parallel with `strategy` (one replica per rank; `batch_size` is the
    /// global batch). See [`crate::distribute`].
    pub fn distribute(mut self, strategy: &DataParallel) -> Self {
        self.distribute = Some(strategy.clone());
        self
    }
}

/// Keras' default `batch_size` of `evaluate` and `predict`.
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// Options of `evaluate_with`: Keras' defaults (`batch_size = 32`, no callbacks) and a
/// builder. A plain `usize` converts into it as the batch size, so
/// `model.evaluate_with(&x, &y, 128)` reads like Keras' `model.evaluate(x, y, batch_size=128)`.
///
/// ```
/// use stratanet::{EvaluateOptions, callbacks::TerminateOnNan};
/// let opts = EvaluateOptions::new().batch_size(128).callback(TerminateOnNan::new());
/// assert_eq!((opts.batch_size, opts.callbacks.len()), (128, 1));
/// assert_eq!(EvaluateOptions::from(64).batch_size, 64);
/// assert_eq!(EvaluateOptions::default().batch_size, 32);
/// ```
pub struct EvaluateOptions {
    /// Samples per batch (default 32).
    pub batch_size: usize,
    /// Callbacks whose `on_test_*` hooks run (per batch too; only on rank 0 under a
    /// data-parallel strategy).
    pub callbacks: Vec<Box<dyn Callback>>,
    /// Data-parallel strategy: each rank evaluates its slice of every batch and every rank
    /// gets the global logs (see [`crate::distribute`]).
    pub distribute: Option<DataParallel>,
}

/// Options of `predict_with` / `predict_all`: Keras' defaults (`batch_size = 32`, no
/// callbacks) and a builder; a plain `usize` converts into it as the batch size.
///
/// ```
/// use stratanet::PredictOptions;
/// assert_eq!(PredictOptions::new().batch_size(256).batch_size, 256);
/// assert_eq!(PredictOptions::from(8).batch_size, 8);
/// assert_eq!(PredictOptions::default().batch_size, 32);
/// ```
pub struct PredictOptions {
    /// Samples per batch (default 32).
    pub batch_size: usize,
    /// Callbacks whose `on_predict_*` hooks run (per batch too; only on rank 0 under a
    /// data-parallel strategy).
    pub callbacks: Vec<Box<dyn Callback>>,
    /// Data-parallel strategy: each rank predicts its slice of every batch and every rank
    /// gets all the outputs, in input order (see [`crate::distribute`]).
    pub distribute: Option<DataParallel>,
}

/// The shared builder, `Default`, `Debug` and `From<usize>` of the two option types.
macro_rules! inference_options {
    ($($t:ident),*) => {$(
        impl Default for $t {
            fn default() -> Self {
                Self {
                    batch_size: DEFAULT_BATCH_SIZE,
                    callbacks: Vec::new(),
                    distribute: None,
                }
            }
        }

        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("batch_size", &self.batch_size)
                    .field("callbacks", &self.callbacks.len())
                    .field("distribute", &self.distribute.as_ref().map(|d| d.size()))
                    .finish()
            }
        }

        impl From<usize> for $t {
            /// Default options with this batch size.
            fn from(batch_size: usize) -> Self {
                Self::new().batch_size(batch_size)
            }
        }

        impl $t {
            /// Keras' defaults: batch size 32, no callbacks.
            pub fn new() -> Self {
                Self::default()
            }

            /// Samples per batch (0 is refused when the call runs).
            pub fn batch_size(mut self, batch_size: usize) -> Self {
                self.batch_size = batch_size;
                self
            }

            /// Adds a callback.
            pub fn callback(mut self, cb: impl Callback + 'static) -> Self {
                self.callbacks.push(Box::new(cb));
                self
            }

            /// Adds boxed callbacks.
            pub fn callbacks(mut self, cbs: Vec<Box<dyn Callback>>) -> Self {
                self.callbacks.extend(cbs);
                self
            }

            /// Shards the pass across the ranks of `strategy`: each rank computes its
            /// contiguous slice of every batch (`batch_size` is the global batch) and
            /// the results are combined so every rank returns the same, global answer.
            /// Every rank must make the same call. See [`crate::distribute`].
            pub fn distribute(mut self, strategy: &DataParallel) -> Self {
                self.distribute = Some(strategy.clone());
                self
            }
        }
    )*};
}
inference_options!(EvaluateOptions, PredictOptions);
