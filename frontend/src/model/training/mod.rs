//! The training loop shared by every model kind (`Sequential` and the functional `Model`):
//! compile state, `fit`, `evaluate`, `predict`, with any number of inputs and outputs.
//!
//! One concern per file: the compile state (`compile.rs`), [`FitOptions`] (`options.rs`),
//! the running loss and metrics (`tracker.rs`), checks and conversions of `x`/`y`
//! (`inputs.rs`), the batch sources (`feed.rs`), loss assembly and the per-fit `TrainStep`
//! (`step.rs`), `class_weight` (`class_weight.rs`) and the three passes (`fit.rs`,
//! `evaluate.rs`, `predict.rs`). This file holds the [`Network`] trait the passes run on.

mod class_weight;
mod compile;
mod distributed;
mod evaluate;
mod feed;
mod fit;
mod inputs;
mod options;
mod predict;
mod step;
mod tracker;

pub use class_weight::{compute_class_weight, ClassWeight};
pub use compile::{compile_simple, Compile, Compiled, CompiledMetric};
pub use evaluate::{evaluate, evaluate_dataset};
pub use fit::{fit, fit_dataset};
pub use options::{EvaluateOptions, FitOptions, PredictOptions, DEFAULT_BATCH_SIZE};
pub use predict::{predict, predict_dataset};
pub use step::compute_loss;

use crate::backend::{Backend, DType};
use crate::callbacks::{Callback, CallbackContext, FitState, ModelAccess};
use crate::error::Result;
use crate::layers::CallContext;
use crate::tensor::Tensor;

/// What the training loop needs from a model.
pub trait Network<B: Backend> {
    /// Model name (`sequential`).
    fn model_name(&self) -> &str;
    /// Names of the inputs, in order.
    fn input_names(&self) -> Vec<String>;
    /// Names of the outputs, in order.
    fn output_names(&self) -> Vec<String>;
    /// Forward pass on a batch: one tensor per input, one per output.
    ///
    /// # Errors
    /// Shape errors naming the layer.
    fn forward(&self, xs: &[Tensor<B>], ctx: &mut CallContext) -> Result<Vec<Tensor<B>>>;
    /// Trainable parameters in a fixed order.
    fn trainable_params(&self) -> Vec<Tensor<B>>;
    /// Sum of the layers' weight-regularisation penalties.
    ///
    /// # Errors
    /// On engine errors.
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>>;
    /// Checks that the inputs fit the model, building it on their shapes if needed.
    ///
    /// # Errors
    /// [`Error::Shape`] naming the first layer, with expected and actual shapes.
    fn prepare_inputs(&mut self, xs: &[Tensor<B>]) -> Result<()>;
    /// Checks that the inputs fit the built model, without building or moving it (the
    /// check of `evaluate` and `predict`, which take the model by shared reference).
    ///
    /// # Errors
    /// [`Error::Shape`] as [`Self::prepare_inputs`]; [`Error::NotReady`] when the model is
    /// not built yet.
    ///
    /// [`Error::Shape`]: crate::Error::Shape
    /// [`Error::NotReady`]: crate::Error::NotReady
    fn check_inputs(&self, xs: &[Tensor<B>]) -> Result<()>;
    /// Per-sample output shapes.
    ///
    /// # Errors
    /// When the model is not built.
    fn output_shapes(&self) -> Result<Vec<Vec<usize>>>;
    /// Device of the weights.
    fn device(&self) -> crate::Device;
    /// Float dtype of the weights.
    fn dtype(&self) -> DType;
    /// The model as callbacks see it.
    fn access(&self) -> &dyn ModelAccess;
}

/// Calls `hook` on every callback with a fresh context.
fn each<B: Backend, N: Network<B> + ?Sized>(
    callbacks: &mut [Box<dyn Callback>],
    state: &mut FitState,
    net: &N,
    mut hook: impl FnMut(&mut dyn Callback, &mut CallbackContext<'_>) -> Result<()>,
) -> Result<()> {
    for cb in callbacks.iter_mut() {
        let mut ctx = CallbackContext {
            state: &mut *state,
            model: net.access(),
        };
        hook(cb.as_mut(), &mut ctx)?;
    }
    Ok(())
}
