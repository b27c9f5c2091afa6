//! Recurrent layers: `SimpleRNN`, `LSTM`, `GRU` and the `Bidirectional` wrapper.
//!
//! Weights are in Keras' layout: `kernel [in, k * units]`, `recurrent_kernel
//! [units, k * units]`, `bias [k * units]` (GRU: `[2, 3 * units]`, input and recurrent
//! rows, Keras 3's `reset_after = true`), gates LSTM `i, f, c, o`, GRU `z, r, h`.
//!
//! With the default activations, no recurrent dropout and no timestep mask, LSTM and GRU
//! run through [`RnnOps`](crate::backend::RnnOps) (libtorch's fused kernels on `Tch`);
//! otherwise the layer unrolls the cell over time itself. Input dropout (one mask per
//! sequence, as Keras) is applied before either path.
//!
//! ## Masking
//!
//! A timestep mask recorded in the [`CallContext`] by `Embedding(mask_zero)` is taken by
//! the next recurrent layer whose input has the same batch and time sizes: on masked steps
//! the states are held and the output repeats the previous one (Keras'
//! `zero_output_for_mask=False`). A layer with `return_sequences` puts the mask back for
//! the next recurrent layer. Other layers neither consume nor transform the mask.
mod bidirectional;
mod cell;
mod layer;
mod unroll;

pub(crate) use bidirectional::bidirectional_inner_class;
pub use bidirectional::{Bidirectional, BidirectionalConfig, MergeMode};
pub use cell::{Cell, GruCell, LstmCell, SimpleCell};
pub use layer::RecurrentConfig;

use crate::backend::Backend;
use crate::tensor::Tensor;
use std::marker::PhantomData;

/// Fully connected RNN (Keras `SimpleRNN`).
#[allow(clippy::upper_case_acronyms)]
#[doc(alias = "SimpleRnn")]
pub type SimpleRNN<B> = Recurrent<B, SimpleCell>;

/// Long short-term memory layer (Keras `LSTM`), over inputs `[batch, time, features]`.
///
/// ```
/// use stratanet::{layers::{Input, LSTM}, Sequential, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut model = Sequential::<B>::new();
/// model.add(Input::new(&[5, 32]))?;
/// model.add(LSTM::new(128))?;
/// // 4 * (32 * 128 + 128 * 128 + 128), as in Keras
/// assert_eq!(model.count_params(), (82_432, 0));
/// let x = Tensor::<B>::ones(&[2, 5, 32], stratanet::DType::F32, stratanet::Device::Cpu)?;
/// assert_eq!(model.predict_with(&x, 32)?.shape(), vec![2, 128]);
/// # Ok(())
/// # }
/// ```
#[allow(clippy::upper_case_acronyms)]
#[doc(alias = "Lstm")]
pub type LSTM<B> = Recurrent<B, LstmCell>;

/// Gated recurrent unit (Keras `GRU`, `reset_after = true`: bias `[2, 3 * units]`).
#[allow(clippy::upper_case_acronyms)]
#[doc(alias = "Gru")]
pub type GRU<B> = Recurrent<B, GruCell>;

/// [`SimpleRNN`] spelled by Rust's API guidelines (acronyms as words).
pub type SimpleRnn<B> = SimpleRNN<B>;
/// [`LSTM`] spelled by Rust's API guidelines (acronyms as words).
pub type Lstm<B> = LSTM<B>;
/// [`GRU`] spelled by Rust's API guidelines (acronyms as words).
pub type Gru<B> = GRU<B>;

/// A recurrent layer with cell `C`; use the aliases [`SimpleRNN`], [`LSTM`] and [`GRU`].
#[derive(Debug)]
pub struct Recurrent<B: Backend, C: Cell> {
    config: RecurrentConfig,
    kernel: Option<Tensor<B>>,
    recurrent_kernel: Option<Tensor<B>>,
    bias: Option<Tensor<B>>,
    _cell: PhantomData<C>,
}
