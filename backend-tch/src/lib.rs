//! # stratanet-tch
//!
//! The [`Backend`] of stratanet on libtorch through [`tch`] (CPU and CUDA, whatever the
//! installed libtorch supports).
//!
//! [`Tch`] is a zero-sized marker type: its ops are associated functions over
//! [`TchTensor`], a cheap-to-clone handle around [`tch::Tensor`], split into one file per
//! op family exactly like the frontend's trait (`base`, `creation`, `shape`, `math`,
//! `compare`, `reduce`, `linalg`, `nn`, `autograd`, `composite`).
//!
//! ## Mapping decisions
//!
//! - Dtypes: `F32` is `Kind::Float`, `F64` `Kind::Double`, `I64` `Kind::Int64` and
//!   [`DType::Bool`] `Kind::Bool`. Other kinds a user may hand in are seen as `I64`
//!   (integers) or `F32` (half floats) and converted when read to the host.
//! - Only the fallible `f_*` calls of tch are used; every libtorch error is wrapped as
//!   [`Error::Backend`] with the op name. Arguments for which libtorch would abort, or
//!   silently promote (torch type-promotes mixed dtypes, stratanet errors), are checked up
//!   front.
//! - Binary ops broadcast natively; operands of different dtypes are an [`Error::DType`].
//!   Integer division truncates toward zero (like candle and Rust), and dividing by zero is
//!   an error.
//! - Autograd is libtorch's: a parameter is a leaf with `requires_grad`, gradients come from
//!   the autograd engine run on the requested inputs only (`.grad` fields are not touched).
//! - Random ops are served by libtorch's own generator, reseeded with the call's seed under a
//!   process-wide lock (see `creation.rs`).
//! - Composite ops use libtorch's fused kernels (softmax, log-softmax, logsumexp, sigmoid,
//!   softplus, log-sigmoid, GELU, SiLU, ELU, SELU, leaky ReLU, cross-entropy).
//!
//! [`DType::Bool`]: stratanet_frontend::backend::DType::Bool

#![warn(missing_docs)]

pub use host_reads::host_read_count;
pub use tch;

use stratanet_frontend::backend::{Backend, DType};
use stratanet_frontend::{Error, Result};
use tch::{Kind, TchError};

mod autograd;
mod base;
mod compare;
mod composite;
mod creation;
mod host_reads;
mod linalg;
mod math;
mod nn;
mod optim;
mod reduce;
mod rnn;
mod shape;

/// The libtorch engine, as a stratanet [`Backend`].
///
/// Tensors are [`TchTensor`], devices [`tch::Device`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Tch;

impl Backend for Tch {}

/// A libtorch tensor handle: [`tch::Tensor`] made `Clone` (a shallow clone: the same
/// tensor, storage and autograd identity) and `Sync`.
#[derive(Debug)]
pub struct TchTensor(pub tch::Tensor);

impl Clone for TchTensor {
    /// Another handle to the same libtorch tensor (no copy of the data).
    fn clone(&self) -> Self {
        TchTensor(self.0.shallow_clone())
    }
}

// SAFETY: `tch::Tensor` is `Send` but not `Sync` because it wraps a raw pointer to a C++
// `at::Tensor`. Sharing `&TchTensor` between threads only lets them call tch's `&self`
// methods, which run ATen ops that *read* the tensor (metadata, storage) and build new
// tensors; ATen supports such concurrent reads (PyTorch itself shares tensors between
// threads, e.g. its autograd worker threads and data loaders), and the handle's reference
// count is atomic (`c10::intrusive_ptr`), so `shallow_clone` from several threads is sound.
// The only mutation this crate performs through a shared handle is `assign`, which writes
// the parameter's *values* in place (as an optimizer step does in PyTorch); callers must not
// read a parameter on one thread while assigning it on another, exactly as in PyTorch.
// `Sync` is required by the frontend (`BackendBase::Tensor: Sync`), so that `Tensor<B>` is
// shareable on every engine. Tested by the root crate's `tests/threads.rs`: eight threads
// run a model's forward pass 200 times each through shared `&` handles to the same weight
// and input tensors, bitwise equal to a single-threaded run.
unsafe impl Sync for TchTensor {}

impl From<tch::Tensor> for TchTensor {
    fn from(t: tch::Tensor) -> Self {
        TchTensor(t)
    }
}

impl std::ops::Deref for TchTensor {
    type Target = tch::Tensor;

    fn deref(&self) -> &tch::Tensor {
        &self.0
    }
}

impl TchTensor {
    /// The wrapped [`tch::Tensor`].
    pub fn inner(&self) -> &tch::Tensor {
        &self.0
    }

    /// Unwraps the [`tch::Tensor`].
    pub fn into_inner(self) -> tch::Tensor {
        self.0
    }

    /// The dimensions as `usize`.
    pub(crate) fn dims(&self) -> Vec<usize> {
        self.0.size().into_iter().map(|d| d as usize).collect()
    }

    /// The number of elements.
    pub(crate) fn elem_count(&self) -> usize {
        self.dims().iter().product()
    }
}

/// Maps a libtorch error to [`Error::Backend`] naming the op.
pub(crate) fn wrap(op: &str) -> impl FnOnce(TchError) -> Error + '_ {
    move |e| Error::backend("tch", op, e)
}

/// `usize` dimensions as libtorch's `i64`.
pub(crate) fn i64s(v: &[usize]) -> Vec<i64> {
    v.iter().map(|&d| d as i64).collect()
}

/// The libtorch kind that stores a frontend dtype.
pub(crate) fn to_kind(dtype: DType) -> Kind {
    match dtype {
        DType::F32 => Kind::Float,
        DType::F64 => Kind::Double,
        DType::I64 => Kind::Int64,
        DType::Bool => Kind::Bool,
        DType::BF16 => Kind::BFloat16,
        DType::F16 => Kind::Half,
    }
}

/// The frontend dtype a libtorch kind is seen as.
pub(crate) fn from_kind(kind: Kind) -> DType {
    match kind {
        Kind::Float => DType::F32,
        Kind::BFloat16 => DType::BF16,
        Kind::Half => DType::F16,
        Kind::Double => DType::F64,
        Kind::Bool => DType::Bool,
        Kind::Int64 | Kind::Int | Kind::Int16 | Kind::Int8 | Kind::Uint8 => DType::I64,
        _ => DType::F32,
    }
}

/// The kind of `t`; `Float` for the (unreachable here) undefined tensor.
pub(crate) fn kind_of(t: &tch::Tensor) -> Kind {
    t.f_kind().unwrap_or(Kind::Float)
}

/// The frontend dtype of `t`.
pub(crate) fn dtype_of(t: &tch::Tensor) -> DType {
    from_kind(kind_of(t))
}

/// Whether `t` holds `Float` or `Double` (or half) values.
pub(crate) fn is_float(t: &tch::Tensor) -> bool {
    matches!(
        kind_of(t),
        Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16
    )
}

/// Errors with [`Error::DType`] when the operands of `op` have different dtypes.
pub(crate) fn same_dtype(op: &str, a: &tch::Tensor, b: &tch::Tensor) -> Result<()> {
    let (ka, kb) = (kind_of(a), kind_of(b));
    check::check_same_dtype(op, ka == kb, from_kind(ka), from_kind(kb))
}

/// Errors with [`Error::DType`] unless `t` holds floats.
pub(crate) fn need_float(op: &str, argument: &str, t: &tch::Tensor) -> Result<()> {
    check::check_float(op, argument, is_float(t), dtype_of(t))
}

pub(crate) use stratanet_frontend::backend::check::{
    self, broadcast_shape, check_axes, check_axis,
};
