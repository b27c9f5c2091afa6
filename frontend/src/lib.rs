//! # stratanet-frontend
//!
//! The engine-independent core of stratanet: the [`Backend`] trait, the user-facing
//! [`Tensor`], layers, models, optimizers, losses, metrics, callbacks and the training loop.
//! Users normally depend on the `stratanet` facade crate, which re-exports all of this and
//! picks an engine.

#![warn(missing_docs)]

pub mod backend;
pub mod error;
pub mod random;

pub use backend::{Backend, DType, Device, HostData};
pub use error::{Error, Result};
