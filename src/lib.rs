//! # stratanet — Keras for Rust
//!
//! One model definition — a [`Sequential`] stack of layers — compiles, fits, evaluates and
//! predicts on two engines: Hugging Face candle (pure Rust, the default) and libtorch
//! (through `tch`, feature `tch`). Switch engines with a cargo feature; the model code
//! does not change.
//!
//! ```
//! use stratanet::prelude::*;
//! # fn main() -> stratanet::Result<()> {
//! stratanet::set_random_seed(42);
//! let mut model = Sequential::<DefaultBackend>::new()
//!     .layer(Input::new(&[64]))
//!     .layer(Dense::new(32).activation("relu"))
//!     .layer(Dropout::new(0.1))
//!     .layer(Dense::new(10).activation("softmax"));
//! model.compile(Adam::new(1e-3), "sparse_categorical_crossentropy", &["accuracy"])?;
//! println!("{}", model.summary()?);
//!
//! // Host arrays: no engine type, moved to the model's device by `fit`.
//! let (x, y) = stratanet::datasets::digits_host()?;
//! let history = model.fit(&x, &y, FitOptions::new().epochs(2).batch_size(64).verbose(0))?;
//! assert_eq!(history.get("accuracy").unwrap().len(), 2);
//! # Ok(())
//! # }
//! ```
//!
//! ## Names
//!
//! Both spellings of a name with an acronym compile: the one Rust's API guidelines give
//! (acronyms as words: `Sgd`, `RmsProp`, `ReduceLrOnPlateau`, `TerminateOnNan`,
//! `CsvLogger`, `Lstm`, `Gru`, `SimpleRnn`, `Auc`, `MeanIou`) and Keras' (`SGD`, `RMSprop`,
//! `ReduceLROnPlateau`, `TerminateOnNaN`, `CSVLogger`, `LSTM`, `GRU`, `SimpleRNN`, `AUC`,
//! `MeanIoU`). One of each pair is the item, the other a `pub type` alias of it (found
//! under either name in the docs' search), so a guess from either habit compiles.

#![warn(missing_docs)]

pub use stratanet_frontend::optimizers::schedules;
pub use stratanet_frontend::*;

mod engine;
pub use engine::{set_num_threads, Engine, ENGINE_NAMES};

/// The candle engine (pure Rust).
#[cfg(feature = "candle")]
pub use stratanet_candle::Candle;

/// The libtorch engine (feature `tch`).
#[cfg(feature = "tch")]
pub use stratanet_tch::Tch;

/// The engine used when none is named: candle, unless only `tch` is enabled.
#[cfg(feature = "candle")]
pub type DefaultBackend = stratanet_candle::Candle;

/// The engine used when none is named: candle, unless only `tch` is enabled.
#[cfg(all(feature = "tch", not(feature = "candle")))]
pub type DefaultBackend = stratanet_tch::Tch;

#[cfg(not(any(feature = "candle", feature = "tch")))]
compile_error!("stratanet needs an engine: enable the `candle` (default) or `tch` feature.");

/// Everything a training script usually needs: the model kinds and their options, the
/// common layers, optimizers, losses and callbacks, host arrays, `Table`/`FeatureSpace`,
/// and the traits whose methods scripts call (`Layer`, `Apply`).
pub mod prelude {
    pub use crate::activations::Activation;
    pub use crate::callbacks::{
        CSVLogger, CsvLogger, EarlyStopping, LambdaCallback, LearningRateScheduler, Mode,
        ModelCheckpoint, ReduceLROnPlateau, ReduceLrOnPlateau, TensorBoard, TerminateOnNaN,
        TerminateOnNan,
    };
    pub use crate::datasets::train_test_split;
    pub use crate::layers::{
        ActivationLayer, Add, AveragePooling2D, BatchNormalization, Bidirectional, Concatenate,
        Conv1D, Conv2D, Dense, Dropout, Embedding, Flatten, GlobalAveragePooling1D,
        GlobalAveragePooling2D, GlobalMaxPooling1D, Gru, Input, Layer, LayerDtype,
        LayerNormalization, Lstm, MaxPooling1D, MaxPooling2D, Normalization, Padding, Rescaling,
        Reshape, SimpleRnn, StringLookup, TextVectorization, GRU, LSTM,
    };
    pub use crate::losses::{
        BinaryCrossentropy, CategoricalCrossentropy, Huber, MeanAbsoluteError, MeanSquaredError,
        SparseCategoricalCrossentropy,
    };
    pub use crate::model::{Apply, Compile, Model, Shared};
    pub use crate::optimizers::{Adam, AdamW, RMSprop, RmsProp, Sgd, SGD};
    pub use crate::tabular::{FeatureSpace, Table};
    pub use crate::{
        DType, DefaultBackend, Device, EvaluateOptions, FitOptions, History, HostTensor, Logs,
        PredictOptions, Sequential, Tensor,
    };
}
