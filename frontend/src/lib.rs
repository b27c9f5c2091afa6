//! # stratanet-frontend
//!
//! The engine-independent core of stratanet: the [`Backend`] trait, the user-facing
//! [`Tensor`], layers, models, optimizers, losses, metrics, callbacks and the training loop.
//! Users normally depend on the `stratanet` facade crate, which re-exports all of this and
//! picks an engine.

#![warn(missing_docs)]

pub mod activations;
pub mod backend;
mod builder;
pub mod callbacks;
mod config_serde;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod data;
pub mod dataset;
pub mod datasets;
pub mod distribute;
pub mod error;
pub mod initializers;
pub mod interop;
pub mod layers;
pub mod limits;
pub mod losses;
pub mod metrics;
pub mod mixed_precision;
pub mod model;
pub mod optimizers;
mod plot;
pub mod random;
pub mod regularizers;
pub mod saving;
pub mod tabular;
pub mod tensor;
pub mod utils;

pub use backend::{Backend, DType, Device, HostData};
pub use callbacks::{History, Logs};
pub use data::HostTensor;
pub use error::{Error, Result};
/// The 16-bit float host types of [`DType::BF16`] and [`DType::F16`] tensors (from the
/// `half` crate, which candle and tch use too).
pub use half::{bf16, f16};
pub use model::{
    compute_class_weight, ClassWeight, EvaluateOptions, FitOptions, Model, PredictOptions,
    Sequential,
};
pub use random::set_random_seed;
pub use tensor::Tensor;
