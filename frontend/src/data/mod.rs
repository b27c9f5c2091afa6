//! Host data types shared by `dataset`, `model` and `saving`: [`HostTensor`] (values and
//! shape on the host), [`Batch`] (a model's inputs and targets as host tensors) and the
//! [`Data`] spec (tensors given to `fit`, `evaluate` and `predict`). This module sits
//! below both `dataset` and `model` and imports neither.

mod batch;
mod host_tensor;
#[cfg(feature = "ndarray")]
mod ndarray_interop;
mod spec;

pub(crate) use batch::gather;
pub use batch::{Batch, BatchTensors};
pub use host_tensor::HostTensor;
#[cfg(feature = "ndarray")]
pub use ndarray_interop::HostElement;
pub use spec::Data;
