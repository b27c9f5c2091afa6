//! # stratanet-candle
//!
//! The [`Backend`] of stratanet on Hugging Face [`candle_core`] (pure Rust; CPU, and CUDA
//! behind the `cuda` feature).
//!
//! [`Candle`] is a zero-sized marker type: its ops are associated functions over
//! [`candle_core::Tensor`], split into one file per op family exactly like the frontend's
//! trait (`base`, `creation`, `shape`, `math`, `compare`, `reduce`, `linalg`, `nn`,
//! `autograd`, `composite`).
//!
//! ## Mapping decisions
//!
//! - Dtypes: `F32`, `F64` and `I64` map directly; [`DType::Bool`] is candle's `U8` (0 or 1),
//!   and every `U8` tensor reads back as `Bool`. Other candle dtypes a user may hand in are
//!   seen as `I64` (integers) or `F32` (half floats) and converted when read to the host.
//! - Binary ops broadcast by numpy rules through candle's `broadcast_*` ops; operands of
//!   different dtypes are an [`Error::DType`].
//! - Convolution features candle lacks (asymmetric padding, per-axis stride or dilation,
//!   groups in the transposed 2-D convolution) are emulated with candle ops, so gradients
//!   still come from candle's autograd.
//! - Random ops keep the trait's seeded host generator: candle's CPU generator cannot be
//!   seeded.
//! - Every candle error is wrapped as [`Error::Backend`] with the op name; nothing is
//!   unwrapped.
//!
//! [`DType::Bool`]: stratanet_frontend::backend::DType::Bool

#![warn(missing_docs)]

pub use candle_core;

use stratanet_frontend::backend::{Backend, DType};
use stratanet_frontend::{Error, Result};

mod autograd;
mod base;
mod compare;
mod composite;
mod creation;
mod kernels;
mod linalg;
mod math;
mod nn;
mod optim;
mod reduce;
mod rnn;
mod shape;
mod spin;

/// The candle engine, as a stratanet [`Backend`].
///
/// Tensors are [`candle_core::Tensor`], devices [`candle_core::Device`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Candle;

impl Backend for Candle {}

/// Maps a candle error to [`Error::Backend`] naming the candle op.
pub(crate) fn wrap(op: &str) -> impl FnOnce(candle_core::Error) -> Error + '_ {
    move |e| Error::backend("candle", op, e)
}

/// The candle dtype that stores a frontend dtype.
pub(crate) fn to_candle_dtype(dtype: DType) -> candle_core::DType {
    match dtype {
        DType::F32 => candle_core::DType::F32,
        DType::F64 => candle_core::DType::F64,
        DType::I64 => candle_core::DType::I64,
        DType::Bool => candle_core::DType::U8,
        DType::BF16 => candle_core::DType::BF16,
        DType::F16 => candle_core::DType::F16,
    }
}

/// The frontend dtype a candle dtype is seen as.
pub(crate) fn from_candle_dtype(dtype: candle_core::DType) -> DType {
    use candle_core::DType as C;
    match dtype {
        C::F32 => DType::F32,
        C::F64 => DType::F64,
        C::I64 | C::U32 | C::I16 | C::I32 => DType::I64,
        C::U8 => DType::Bool,
        C::BF16 => DType::BF16,
        C::F16 => DType::F16,
        _ => DType::F32,
    }
}

/// Errors with [`Error::DType`] when the operands of `op` have different dtypes.
pub(crate) fn same_dtype(op: &str, a: &candle_core::Tensor, b: &candle_core::Tensor) -> Result<()> {
    let (da, db) = (a.dtype(), b.dtype());
    check::check_same_dtype(op, da == db, from_candle_dtype(da), from_candle_dtype(db))
}

/// Errors with [`Error::DType`] unless `t` holds floats.
pub(crate) fn need_float(op: &str, argument: &str, t: &candle_core::Tensor) -> Result<()> {
    let dtype = t.dtype();
    check::check_float(op, argument, dtype.is_float(), from_candle_dtype(dtype))
}

/// Checks dtypes and broadcastability, then runs a candle binary op (arithmetic or
/// comparison).
pub(crate) fn binary(
    op: &str,
    a: &candle_core::Tensor,
    b: &candle_core::Tensor,
    f: impl FnOnce(
        &candle_core::Tensor,
        &candle_core::Tensor,
    ) -> candle_core::Result<candle_core::Tensor>,
) -> Result<candle_core::Tensor> {
    same_dtype(op, a, b)?;
    check::check_broadcast(op, a.dims(), b.dims())?;
    f(a, b).map_err(wrap(op))
}

/// Runs a candle unary op.
pub(crate) fn unary(
    op: &str,
    t: &candle_core::Tensor,
    f: impl FnOnce(&candle_core::Tensor) -> candle_core::Result<candle_core::Tensor>,
) -> Result<candle_core::Tensor> {
    f(t).map_err(wrap(op))
}

pub(crate) use stratanet_frontend::backend::check::{self, broadcast_shape, check_axis};
