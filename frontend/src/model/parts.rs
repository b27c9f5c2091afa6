//! What every model kind carries and provides to the shared API of [`ModelCore`]:
//! the compile state ([`ModelState`]), the [`ModelParts`] the API needs, and the
//! [`Architecture`] trait through which the layer stack and the layer graph supply them.

use super::api::ModelCore;
use super::training::{Compiled, Network};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::layers::{CallContext, Weight};
use crate::mixed_precision::Policy;
use crate::tensor::Tensor;

/// Compile state and seeds every model kind carries.
#[derive(Debug)]
pub struct ModelState<B: Backend> {
    /// What `compile` set.
    pub compiled: Option<Compiled<B>>,
    /// Seed for initial weights and `fit`'s default seed.
    pub seed: u64,
    /// Number of training-mode `call`s (seeds dropout in custom loops).
    pub calls: u64,
    /// Activity penalties of the last training-mode `call`, added by `compute_loss`.
    pub pending_activity: Option<Tensor<B>>,
    /// Named text assets saved in the model file (e.g. a `FeatureSpace` or `StringLookup`
    /// as JSON), like the vocabulary assets of a Keras SavedModel.
    pub assets: std::collections::BTreeMap<String, String>,
    /// The dtype policy the layers run under: the global policy when the model was made
    /// (see [`crate::mixed_precision`]).
    pub policy: Policy,
}

impl<B: Backend> ModelState<B> {
    /// A fresh state with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            compiled: None,
            seed,
            calls: 0,
            pending_activity: None,
            assets: std::collections::BTreeMap::new(),
            policy: crate::mixed_precision::global_policy(),
        }
    }

    /// The compile state, for a call `op` that needs it.
    ///
    /// # Errors
    /// [`Error::NotReady`] when not compiled.
    pub fn require_compiled(&self, op: &str) -> Result<&Compiled<B>> {
        self.compiled.as_ref().ok_or_else(|| not_compiled(op))
    }

    /// The compile state, mutable, for a call `op` that needs it.
    ///
    /// # Errors
    /// [`Error::NotReady`] when not compiled.
    pub fn require_compiled_mut(&mut self, op: &str) -> Result<&mut Compiled<B>> {
        self.compiled.as_mut().ok_or_else(|| not_compiled(op))
    }

    /// Takes the compile state out for a call that needs both it and the model.
    ///
    /// # Errors
    /// [`Error::NotReady`] when not compiled.
    pub fn take_compiled(&mut self, op: &str) -> Result<Compiled<B>> {
        self.compiled.take().ok_or_else(|| Error::NotReady {
            op: op.into(),
            needed: "compiled".into(),
            hint: "call model.compile(optimizer, loss, metrics) before fit/evaluate".into(),
        })
    }
}

/// The error of a call `op` on a model that is not compiled.
fn not_compiled(op: &str) -> Error {
    Error::NotReady {
        op: op.into(),
        needed: "compiled".into(),
        hint: "call model.compile(optimizer, loss, metrics) first".into(),
    }
}

/// What the shared API needs from a model kind besides [`Network`].
pub trait ModelParts<B: Backend>: Network<B> {
    /// Compile state and seeds.
    fn state(&self) -> &ModelState<B>;
    /// Mutable compile state and seeds.
    fn state_mut(&mut self) -> &mut ModelState<B>;
    /// Every weight with its path (`dense_1/kernel`).
    fn named_weights(&self) -> Vec<(String, Weight<B>)>;
    /// Every weight's parameter handle with its path (writes through them update the model).
    fn weight_handles(&self) -> Vec<(String, Tensor<B>)> {
        self.named_weights()
            .into_iter()
            .map(|(n, w)| (n, w.value))
            .collect()
    }
    /// Rebuilds every built layer on `device` with copies of its weights (see
    /// `to_device`), their float weights cast to `cast` when given (see
    /// `cast_variables`); on error nothing is changed.
    ///
    /// # Errors
    /// Layers that cannot be rebuilt from their config, engine errors.
    fn move_layers(
        &mut self,
        device: crate::Device,
        cast: Option<crate::backend::DType>,
    ) -> Result<()>;
    /// `Sequential` or `Functional` (stored in saved files).
    fn model_class(&self) -> &'static str;
    /// The architecture as JSON (stored in saved files).
    fn model_config(&self) -> serde_json::Value;
    /// The layer graph callbacks see (see [`crate::callbacks::ModelAccess::layer_graph`]).
    ///
    /// # Errors
    /// A poisoned layer lock; a layer whose output shape cannot be computed.
    fn layer_graph(&self) -> Result<Vec<crate::callbacks::LayerNode>>;
    /// An error recorded while the model was defined and not reported yet (a failed layer
    /// of `Sequential::layer`'s chain), surfaced by `compile`.
    ///
    /// # Errors
    /// That error.
    fn pending_error(&mut self) -> Result<()>;
}

/// What differs between the model kinds behind [`ModelParts`], implemented by their
/// architecture types (the layer stack of a [`super::Sequential`], the layer graph of a
/// functional [`super::Model`]); `ModelParts` itself is implemented once, for every
/// [`ModelCore`] whose architecture implements this.
pub trait Architecture<B: Backend>: Sized {
    /// `Sequential` or `Functional` (stored in saved files).
    const CLASS: &'static str;
    /// Every weight of `model` with its path (`dense_1/kernel`).
    fn named_weights(model: &ModelCore<B, Self>) -> Vec<(String, Weight<B>)>;
    /// As [`ModelParts::move_layers`].
    ///
    /// # Errors
    /// Layers that cannot be rebuilt from their config, engine errors.
    fn move_layers(
        model: &mut ModelCore<B, Self>,
        device: crate::Device,
        cast: Option<crate::backend::DType>,
    ) -> Result<()>;
    /// The architecture of `model` as JSON (stored in saved files).
    fn config(model: &ModelCore<B, Self>) -> serde_json::Value;
    /// As [`ModelParts::layer_graph`].
    ///
    /// # Errors
    /// A poisoned layer lock; a layer whose output shape cannot be computed.
    fn layer_graph(model: &ModelCore<B, Self>) -> Result<Vec<crate::callbacks::LayerNode>>;
    /// As [`ModelParts::pending_error`]; none by default.
    ///
    /// # Errors
    /// The pending error.
    fn pending_error(_model: &mut ModelCore<B, Self>) -> Result<()> {
        Ok(())
    }
}

impl<B: Backend, A: Architecture<B>> ModelParts<B> for ModelCore<B, A>
where
    Self: Network<B>,
{
    fn state(&self) -> &ModelState<B> {
        &self.state
    }
    fn state_mut(&mut self) -> &mut ModelState<B> {
        &mut self.state
    }
    fn named_weights(&self) -> Vec<(String, Weight<B>)> {
        A::named_weights(self)
    }
    fn move_layers(
        &mut self,
        device: crate::Device,
        cast: Option<crate::backend::DType>,
    ) -> Result<()> {
        A::move_layers(self, device, cast)
    }
    fn model_class(&self) -> &'static str {
        A::CLASS
    }
    fn model_config(&self) -> serde_json::Value {
        A::config(self)
    }
    fn layer_graph(&self) -> Result<Vec<crate::callbacks::LayerNode>> {
        A::layer_graph(self)
    }
    fn pending_error(&mut self) -> Result<()> {
        A::pending_error(self)
    }
}

/// Runs a model's forward pass `run` under `policy`: layers compute in the policy's
/// compute dtype (through [`CallContext::read`]; a layer with its own policy sets its
/// own, see [`crate::layers::WithDtype`]), and 16-bit outputs come back widened to the
/// model's variable dtype `wide` (`f32`), so the loss, the metrics and `predict` run in
/// it as in Keras. A `float32` model computes in its own dtype even when nested in a
/// mixed one; the context's compute dtype is restored afterwards.
///
/// # Errors
/// Those of `run`, and engine errors of the casts.
pub(crate) fn forward_under<B: Backend>(
    policy: Policy,
    wide: crate::backend::DType,
    ctx: &mut CallContext,
    run: impl FnOnce(&mut CallContext) -> Result<Vec<Tensor<B>>>,
) -> Result<Vec<Tensor<B>>> {
    let inner = policy.is_mixed().then(|| policy.compute_dtype());
    let outer = ctx.compute_dtype();
    ctx.set_compute_dtype(inner);
    let outs = run(ctx);
    ctx.set_compute_dtype(outer);
    outs?
        .into_iter()
        .map(|y| {
            if y.dtype().is_half() && !wide.is_half() {
                y.to_dtype(wide)
            } else {
                Ok(y)
            }
        })
        .collect()
}
