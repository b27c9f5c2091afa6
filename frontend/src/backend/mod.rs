//! The [`Backend`] trait: the one seam between stratanet and an engine.
//!
//! The trait is bundled from op-family traits, one file each (mirrored by every engine
//! crate): [`BackendBase`] (types, dtypes, devices), [`CreationOps`] (creation, host
//! transfer, seeded random), [`ShapeOps`], [`MathOps`], [`CompareOps`], [`ReduceOps`],
//! [`LinalgOps`], [`NnOps`] (convolution, pooling), [`AutogradOps`] and [`CompositeOps`]
//! (activations, softmax, cross-entropy as overridable defaults), [`RnnOps`] (whole-sequence
//! LSTM/GRU, unrolled by default, fused on libtorch) and [`OptimOps`] (fused in-place
//! optimizer steps). [`check`] holds the argument checks every engine shares.

mod autograd;
mod base;
pub mod check;
mod compare;
mod composite;
mod creation;
mod forward;
mod linalg;
pub mod malloc;
mod math;
mod nn;
mod optim;
mod reduce;
mod rnn;
mod shape;

pub use autograd::AutogradOps;
pub(crate) use base::flag_value;
pub use base::{BackendBase, DType, Device, HostData};
pub use check::check_conv_bias;
pub use compare::CompareOps;
pub use composite::CompositeOps;
pub use creation::{CreationOps, Distribution};
pub use linalg::{dense_relu_via_parts, matmul_bias_via_add, LinalgOps};
pub use math::MathOps;
pub use nn::{conv2d_nhwc_via_nchw, max_pool2d_nhwc_via_nchw, Conv1dParams, Conv2dParams, NnOps};
pub use optim::{
    adam_step_default, check_adam_operands, check_sgd_operands, check_step_operands,
    sgd_step_default, AdamStep, OptimOps, SgdStep,
};
pub use reduce::ReduceOps;
pub use rnn::{check_rnn_shapes, lstm_unrolled, RnnOps};
pub use shape::ShapeOps;

/// An engine that stratanet can run on.
///
/// ## Design
///
/// - **Static methods on a zero-sized type.** A backend is a marker type (`Candle`, `Tch`);
///   its ops are associated functions over the engine's own tensor handle
///   (`Self::Tensor`), so there is no dynamic dispatch in the hot loop and the engine's
///   handles (reference-counted in both engines) are passed around unchanged. Users meet
///   [`crate::Tensor`], the typed wrapper with methods and operators.
/// - **Op families in separate traits.** A reader finds any op in one hop, and each engine
///   crate mirrors the files. Adding an op with a default implementation does not break
///   engines.
/// - **Primitives are required, composites are defaults.** Softmax, cross-entropy and the
///   activations are written once in [`CompositeOps`] from primitives, so a new engine is
///   small; an engine with a fused kernel overrides the default.
/// - **Autograd is the engine's.** [`AutogradOps`] only makes parameters, asks the engine for
///   gradients and updates parameters in place.
/// - **Randomness is explicit.** Random ops take a seed; the default implementations draw
///   from the frontend's host generator so engines without a seedable generator (candle CPU)
///   stay reproducible.
/// - **Everything fallible returns [`crate::Result`].** Engine errors are wrapped with the
///   engine and op names, never unwrapped.
pub trait Backend:
    BackendBase
    + CreationOps
    + ShapeOps
    + MathOps
    + CompareOps
    + ReduceOps
    + LinalgOps
    + NnOps
    + AutogradOps
    + CompositeOps
    + RnnOps
    + OptimOps
{
}
