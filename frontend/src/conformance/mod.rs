//! The backend conformance suite: every op and gradient test, written once, generic over
//! `B: Backend`, and stamped out for one engine by
//! [`backend_conformance_tests!`](crate::backend_conformance_tests).
//!
//! Compiled only with the frontend's `conformance` cargo feature, which engine crates enable
//! in their `[dev-dependencies]`.
//!
//! ## Layout
//!
//! One module per op family, mirroring `frontend/src/backend/`: [`base`] (dtypes, devices,
//! threads), [`creation`], [`shape`], [`math`], [`compare`], [`reduce`], [`linalg`], [`nn`],
//! [`autograd`], [`composite`], [`rnn`] and [`optim`] ([`nn`] is a folder: convolutions,
//! pooling and their host references). Each test is a `pub fn name<B: Backend>()` that
//! panics on failure. Expected values are closed-form: written by hand, or computed on the
//! host with plain loops and `f64` math, never with the backend's own ops.
//!
//! The shared helpers, re-exported here so that each family's `use super::*` sees them:
//! `host` (tensors from host values and back, deterministic inputs), `assert` (unwrapping,
//! tolerances, comparisons, [`check_op`] for an op on fixed inputs), `broadcast` (the host
//! reference of broadcasting binary ops), `grad` ([`check_grad`]) and `device` (which
//! device a test runs on). `suite` holds the macros that stamp the tests out, and `wiring`
//! the self-test that keeps the macro's lists in step with the family files.
//!
//! Gradients are checked by [`check_grad`]: central finite differences in `f64` on
//! host-created inputs, compared with [`AutogradOps::grad`](crate::backend::AutogradOps::grad)
//! of a weighted sum of the op's output, so every output element's Jacobian row counts.

pub mod autograd;
pub mod base;
pub mod compare;
pub mod composite;
pub mod creation;
pub mod linalg;
pub mod math;
pub mod nn;
pub mod optim;
pub mod reduce;
pub mod rnn;
pub mod shape;

mod assert;
mod broadcast;
mod device;
mod grad;
mod host;
mod suite;
#[cfg(test)]
mod wiring;

pub use assert::*;
pub use broadcast::*;
pub use device::*;
pub use grad::*;
pub use host::*;

// The names every family file uses, brought in by its `use super::*`.
use crate::backend::{Backend, DType, Device, HostData};
use crate::error::Result;
