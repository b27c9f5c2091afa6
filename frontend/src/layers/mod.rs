//! Layers: the Keras lifecycle (construct from hyper-parameters, `build` on the first input
//! shape, `call`), named weights, configs.
//!
//! Shapes given to [`Layer::build`] and [`Layer::output_shape`] exclude the batch axis, as
//! Keras' `input_shape[1:]`.

mod attention;
mod config;
mod conv;
mod core;
mod embedding;
mod merging;
mod normalization;
mod policy;
mod pooling;
mod preprocessing;
mod recurrent;
mod registry;
mod regularization;
mod reshaping;
mod weights;

pub use self::core::{
    ActivationConfig, ActivationLayer, Dense, DenseConfig, Flatten, FlattenConfig, Input,
    InputConfig, Reshape, ReshapeConfig,
};
pub use attention::{MultiHeadAttention, MultiHeadAttentionConfig};
pub use conv::{
    Axes, Conv, Conv1D, Conv2D, Conv2DTranspose, Conv2DTransposeConfig, ConvConfig, ConvOptions,
    ConvWindow, DepthwiseConv2D, DepthwiseConv2DConfig, Dims, Padding, Rank, SeparableConv2D,
    SeparableConv2DConfig, Size2,
};
pub use embedding::{Embedding, EmbeddingConfig};
pub use merging::{
    Add, Average, Concatenate, ConcatenateConfig, Maximum, Merge, MergeConfig, Minimum, Multiply,
    Subtract,
};
pub use normalization::{
    BatchNormalization, BatchNormalizationConfig, LayerNormalization, LayerNormalizationConfig,
};
pub use policy::{LayerDtype, WithDtype};
pub use pooling::{
    AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalPooling, GlobalPoolingConfig, MaxPooling1D,
    MaxPooling2D, Pooling, PoolingConfig,
};
pub(crate) use preprocessing::LookupCore;
pub(crate) use preprocessing::{aspect_crop, resize_taps, Interpolation};
pub use preprocessing::{
    fingerprint64, siphash24, CategoryEncoding, Discretization, Hashing, IntegerLookup, MaskValue,
    Ngrams, Normalization, OutputMode, Split, Standardize, StringLookup, TextOutputMode,
    TextVectorization,
};
pub use preprocessing::{
    CenterCrop, CenterCropConfig, Factor, PerChannel, RandomBrightness, RandomBrightnessConfig,
    RandomContrast, RandomContrastConfig, RandomFlip, RandomFlipConfig, RandomRotation,
    RandomRotationConfig, RandomTranslation, RandomTranslationConfig, RandomZoom, RandomZoomConfig,
    Rescaling, RescalingConfig, Resizing, ResizingConfig,
};
pub use recurrent::{
    Bidirectional, BidirectionalConfig, Cell, Gru, GruCell, Lstm, LstmCell, MergeMode, Recurrent,
    RecurrentConfig, SimpleCell, SimpleRNN, SimpleRnn, GRU, LSTM,
};
pub use registry::{register_layer, LayerFactory};
pub use regularization::{
    Dropout, DropoutConfig, GaussianNoise, GaussianNoiseConfig, SpatialDropout, SpatialDropout1D,
    SpatialDropout2D, SpatialDropoutConfig,
};
pub use reshaping::{
    Permute, PermuteConfig, RepeatVector, RepeatVectorConfig, UpSampling2D, UpSampling2DConfig,
    ZeroPadding2D, ZeroPadding2DConfig,
};

use crate::backend::{Backend, DType, Device};
use crate::error::{Error, Result};
use crate::random::Rng;
use crate::tensor::Tensor;

/// A named weight of a layer.
#[derive(Debug, Clone)]
pub struct Weight<B: Backend> {
    /// Name within the layer (`kernel`, `bias`).
    pub name: String,
    /// The tensor (a parameter handle: updates through it are seen by the layer).
    pub value: Tensor<B>,
    /// Whether the optimizer updates it.
    pub trainable: bool,
}

/// What a layer needs to create its weights.
#[derive(Debug)]
pub struct BuildContext {
    /// Device for the weights.
    pub device: Device,
    /// Float dtype for the weights.
    pub dtype: DType,
    /// Seeded generator for initialisers.
    pub rng: Rng,
}

impl BuildContext {
    /// A context on `device` with `dtype` weights and initialisers seeded by `seed`.
    pub fn new(device: Device, dtype: DType, seed: u64) -> Self {
        Self {
            device,
            dtype,
            rng: Rng::new(seed),
        }
    }
}

/// What a layer sees when it is called.
///
/// Besides the mode and the seeds it collects the activity-regulariser penalties of the
/// layers it passes through (on the layer outputs, so only known during `call`): layers
/// push them with [`CallContext::add_activity_loss`], the training loop adds
/// [`CallContext::take_activity_loss`] to the loss after the forward pass.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// Training mode (dropout and noise active).
    pub training: bool,
    seed: u64,
    counter: u64,
    activity: Vec<std::sync::Arc<dyn std::any::Any + Send + Sync>>,
    sequence_mask: Option<std::sync::Arc<dyn std::any::Any + Send + Sync>>,
    compute_dtype: Option<DType>,
}

impl CallContext {
    /// Inference mode.
    pub fn inference() -> Self {
        Self {
            training: false,
            seed: 0,
            counter: 0,
            activity: Vec::new(),
            sequence_mask: None,
            compute_dtype: None,
        }
    }

    /// Runs the layers in `dtype` (a 16-bit float under a mixed precision policy, see
    /// [`crate::mixed_precision`]); `None` computes in the weights' own dtype.
    pub fn with_compute_dtype(mut self, dtype: Option<DType>) -> Self {
        self.compute_dtype = dtype;
        self
    }

    /// Sets the dtype layers compute in (see [`CallContext::with_compute_dtype`]).
    pub fn set_compute_dtype(&mut self, dtype: Option<DType>) {
        self.compute_dtype = dtype;
    }

    /// The dtype layers compute in, when a mixed precision policy sets one.
    pub fn compute_dtype(&self) -> Option<DType> {
        self.compute_dtype
    }

    /// A weight as the layer computes with it: cast to the compute dtype when one is set
    /// and the weight is a float of another dtype (a differentiable cast: the gradient
    /// reaches the `f32` variable), else the weight itself.
    ///
    /// # Errors
    /// Engine errors of the cast.
    pub fn read<B: Backend>(&self, w: &Tensor<B>) -> Result<Tensor<B>> {
        match self.compute_dtype {
            Some(d) if w.dtype() != d && w.dtype().is_float() => w.to_dtype(d),
            _ => Ok(w.clone()),
        }
    }

    /// An optional weight as the layer computes with it (see [`CallContext::read`]).
    ///
    /// # Errors
    /// Engine errors of the cast.
    pub fn read_opt<B: Backend>(&self, w: &Option<Tensor<B>>) -> Result<Option<Tensor<B>>> {
        w.as_ref().map(|w| self.read(w)).transpose()
    }

    /// Training mode with per-call random ops seeded from `seed`.
    pub fn training(seed: u64) -> Self {
        Self {
            training: true,
            seed,
            counter: 0,
            activity: Vec::new(),
            sequence_mask: None,
            compute_dtype: None,
        }
    }

    /// A fresh seed for one random op (deterministic sequence for a given context seed).
    pub fn next_seed(&mut self) -> u64 {
        self.counter += 1;
        Rng::derive(self.seed, self.counter)
    }

    /// Records an activity-regulariser penalty (a rank-0 tensor) computed in `call`.
    pub fn add_activity_loss<B: Backend>(&mut self, penalty: Tensor<B>) {
        self.activity.push(std::sync::Arc::new(penalty));
    }

    /// Records a timestep mask `[batch, time]` (1 = keep, 0 = padding) for the next
    /// recurrent layer, as `Embedding(mask_zero=true)` does. This is stratanet's minimal
    /// form of Keras' mask propagation: the mask travels in the context, not along graph
    /// edges, and is taken by the next layer that consumes one (see
    /// [`CallContext::take_sequence_mask`]).
    pub fn set_sequence_mask<B: Backend>(&mut self, mask: Tensor<B>) {
        self.sequence_mask = Some(std::sync::Arc::new(mask));
    }

    /// Takes the recorded timestep mask if it fits an input of `batch` samples and `time`
    /// steps (and was recorded for this engine); a mask of another shape is left in place.
    pub fn take_sequence_mask<B: Backend>(
        &mut self,
        batch: usize,
        time: usize,
    ) -> Option<Tensor<B>> {
        let fits = self
            .sequence_mask
            .as_ref()
            .and_then(|m| m.downcast_ref::<Tensor<B>>())
            .is_some_and(|m| m.shape() == [batch, time]);
        if !fits {
            return None;
        }
        self.sequence_mask
            .take()
            .and_then(|m| m.downcast_ref::<Tensor<B>>().cloned())
    }

    /// Number of penalties recorded since the last [`CallContext::take_activity_loss`].
    pub fn activity_loss_count(&self) -> usize {
        self.activity.len()
    }

    /// The sum of the recorded activity penalties (`None` when there are none), clearing
    /// them. Penalties recorded for another engine are not counted.
    ///
    /// # Errors
    /// Engine errors from the additions.
    pub fn take_activity_loss<B: Backend>(&mut self) -> Result<Option<Tensor<B>>> {
        let mut total: Option<Tensor<B>> = None;
        for p in self.activity.drain(..) {
            if let Some(t) = p.downcast_ref::<Tensor<B>>() {
                total = Some(match total {
                    Some(acc) => acc.add(&t.to_dtype(acc.dtype())?)?,
                    None => t.clone(),
                });
            }
        }
        Ok(total)
    }
}

/// A layer: built from hyper-parameters, given weights on its first input shape.
///
/// ## Design
///
/// Layers speak only to [`Tensor`] (and so to the [`Backend`] trait), never to an engine.
/// Shapes exclude the batch axis. `call` validates its input and returns
/// [`Error::Shape`] naming the layer, never panicking.
pub trait Layer<B: Backend>: Send + Sync + std::fmt::Debug {
    /// Keras class name (`Dense`).
    fn class_name(&self) -> &'static str;
    /// Instance name (`dense_1`); empty until the model names it.
    fn name(&self) -> &str;
    /// Sets the instance name.
    fn set_name(&mut self, name: String);
    /// Whether `build` has run.
    fn built(&self) -> bool;
    /// Creates weights for inputs of shape `input_shape` (batch axis excluded). The default,
    /// for a layer without weights, validates the hyper-parameters and checks the shape
    /// through [`Layer::output_shape`].
    ///
    /// # Errors
    /// When the shape cannot be accepted, or a hyper-parameter is invalid.
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        self.output_shape(input_shape).map(|_| ())
    }
    /// Output shape for `input_shape` (batch axis excluded).
    ///
    /// # Errors
    /// When the input shape does not fit this layer.
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>>;
    /// Forward pass on a batch.
    ///
    /// # Errors
    /// [`Error::Shape`] for an input that does not fit, or engine errors.
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>>;
    /// All weights, trainable first, in a stable order.
    fn weights(&self) -> Vec<Weight<B>> {
        Vec::new()
    }
    /// Whether the layer's weights are trained.
    fn trainable(&self) -> bool {
        true
    }
    /// Freezes or unfreezes the layer.
    fn set_trainable(&mut self, _trainable: bool) {}
    /// Penalty added to the training loss (kernel/activity regularisers).
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>> {
        Ok(None)
    }
    /// Hyper-parameters as JSON (Keras `get_config`).
    fn get_config(&self) -> serde_json::Value;
    /// For `Input`: the declared input shape. Other layers return `None`.
    fn declared_input_shape(&self) -> Option<Vec<usize>> {
        None
    }
    /// Checks hyper-parameters (names, ranges) before the layer joins a model.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    /// The layer's own dtype policy, set by [`LayerDtype::dtype`] (Keras' `dtype=`);
    /// `None` for a layer that runs under its model's policy.
    fn dtype_policy(&self) -> Option<crate::mixed_precision::Policy> {
        None
    }

    // ---- graph (functional API) entry points: layers with several inputs or outputs
    // (merges, recurrent layers returning states, nested models) override these; the
    // defaults map one input to one output through the methods above.

    /// Builds for several inputs.
    ///
    /// # Errors
    /// As [`Layer::build`]; a single-input layer given several inputs.
    fn build_multi(&mut self, input_shapes: &[Vec<usize>], ctx: &mut BuildContext) -> Result<()> {
        match input_shapes {
            [one] => self.build(one, ctx),
            _ => Err(single_input_error(self.name(), input_shapes.len())),
        }
    }
    /// Output shapes for several inputs.
    ///
    /// # Errors
    /// As [`Layer::output_shape`].
    fn output_shapes(&self, input_shapes: &[Vec<usize>]) -> Result<Vec<Vec<usize>>> {
        match input_shapes {
            [one] => Ok(vec![self.output_shape(one)?]),
            _ => Err(single_input_error(self.name(), input_shapes.len())),
        }
    }
    /// Forward pass with several inputs and outputs.
    ///
    /// # Errors
    /// As [`Layer::call`].
    fn call_multi(&self, inputs: &[Tensor<B>], ctx: &mut CallContext) -> Result<Vec<Tensor<B>>> {
        match inputs {
            [one] => Ok(vec![self.call(one, ctx)?]),
            _ => Err(single_input_error(self.name(), inputs.len())),
        }
    }
}

fn single_input_error(layer: &str, n: usize) -> Error {
    Error::invalid(
        layer,
        "inputs",
        format!("this layer takes one input, got {n}"),
    )
}

/// Short class-based base name for auto-naming (`Dense` -> `dense`).
pub fn snake_case(class: &str) -> String {
    let mut out = String::new();
    for (i, c) in class.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                let prev = class.chars().nth(i - 1).unwrap_or('a');
                if !prev.is_uppercase() && !prev.is_ascii_digit() {
                    out.push('_');
                }
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Builds a layer from its class name and config (Keras `from_config`).
///
/// # Errors
/// [`Error::UnknownName`] for an unknown class, [`Error::Config`] for bad fields or for
/// `"Functional"`: a nested model is built by [`crate::model::layer_from_config`] (models
/// sit above layers).
pub fn layer_from_config<B: Backend>(
    class_name: &str,
    config: &serde_json::Value,
) -> Result<Box<dyn Layer<B>>> {
    if class_name == "Functional" {
        return Err(Error::config(
            "Functional",
            "a nested functional model is not a built-in layer: build it with \
             stratanet::model::layer_from_config (or Model::from_config)",
        ));
    }
    let factory = registry::builtins::<B>()
        .into_iter()
        .find(|(name, _)| *name == class_name)
        .map(|(_, factory)| factory)
        .or_else(|| registry::lookup::<B>(class_name));
    if let Some(factory) = factory {
        let layer = factory(config)?;
        // `InputLayer`'s `dtype` is its input's dtype (Keras), not a policy.
        if class_name == "InputLayer" {
            return Ok(layer);
        }
        return Ok(match policy::policy_in_config(class_name, config)? {
            Some(p) => Box::new(WithDtype::boxed(layer, p)),
            None => layer,
        });
    }
    let custom = registry::registered_names::<B>();
    let mut known: Vec<&str> = registry::builtins::<B>()
        .iter()
        .map(|(name, _)| *name)
        .collect();
    known.extend(custom.iter().map(String::as_str));
    Err(Error::unknown(
        "layer class (register custom ones with register_layer)",
        class_name,
        &known,
    ))
}

/// [`Error::Invalid`] naming `layer` and `arg` when a size `value` is 0.
pub(crate) fn check_positive(layer: &str, arg: &str, value: usize) -> Result<()> {
    if value == 0 {
        return Err(Error::invalid(layer, arg, "must be at least 1, got 0"));
    }
    Ok(())
}

/// [`Error::Shape`] naming `layer` when `shape` has fewer than `min` axes; `what` says
/// which axes count (`"batch, ..."` for a whole tensor, `"per sample"` for a shape
/// without the batch axis).
pub(crate) fn check_min_rank(layer: &str, shape: &[usize], min: usize, what: &str) -> Result<()> {
    if shape.len() < min {
        let expected = format!("rank at least {min} ({what})");
        return Err(Error::shape(layer, "input", expected, shape));
    }
    Ok(())
}

/// Reads a field of a layer config.
pub(crate) fn cfg_field<'a>(
    config: &'a serde_json::Value,
    layer: &str,
    key: &str,
) -> Result<&'a serde_json::Value> {
    config
        .get(key)
        .ok_or_else(|| Error::config(format!("{layer}.{key}"), "missing field"))
}

/// Reads a numeric field of a layer config.
pub(crate) fn cfg_f64(config: &serde_json::Value, layer: &str, key: &str) -> Result<f64> {
    cfg_field(config, layer, key)?
        .as_f64()
        .ok_or_else(|| Error::config(format!("{layer}.{key}"), "expected a number"))
}

/// `dense_1 (Dense)` for a config with a name, else `Dense`: how size errors name a layer.
pub(crate) fn cfg_label(config: &serde_json::Value, class: &str) -> String {
    match config.get("name").and_then(|n| n.as_str()) {
        Some(n) if !n.is_empty() => format!("{n} ({class})"),
        _ => class.to_string(),
    }
}

/// Reads a required size field of a layer config: a whole number in
/// `1..=`[`crate::limits::MAX_DIM`].
///
/// # Errors
/// A missing field ([`Error::Config`]), or a zero, negative, fractional or too large value
/// ([`Error::InvalidArgument`] naming the layer and the field).
pub(crate) fn cfg_size(config: &serde_json::Value, class: &str, key: &str) -> Result<usize> {
    let v = cfg_field(config, class, key)?;
    crate::limits::size_value(v, &cfg_label(config, class), key, 1)
}

/// Reads an optional size field (absent or `null` gives `None`), as [`cfg_size`].
///
/// # Errors
/// As [`cfg_size`].
pub(crate) fn cfg_opt_size(
    config: &serde_json::Value,
    class: &str,
    key: &str,
) -> Result<Option<usize>> {
    match config.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => crate::limits::size_value(v, &cfg_label(config, class), key, 1).map(Some),
    }
}

/// Reads a list of sizes (a shape) from a config field, each in `min..=`
/// [`crate::limits::MAX_DIM`], whose product must fit in a `usize`.
///
/// # Errors
/// A missing field or a value that is not a list ([`Error::Config`]), a bad entry
/// ([`Error::InvalidArgument`] naming the layer and the field).
pub(crate) fn cfg_shape(
    config: &serde_json::Value,
    class: &str,
    key: &str,
    min: usize,
) -> Result<Vec<usize>> {
    let list = cfg_field(config, class, key)?
        .as_array()
        .ok_or_else(|| Error::config(format!("{class}.{key}"), "expected a list of integers"))?;
    let label = cfg_label(config, class);
    let shape = list
        .iter()
        .map(|v| crate::limits::size_value(v, &label, key, min))
        .collect::<Result<Vec<usize>>>()?;
    crate::limits::checked_numel(&label, key, &shape)?;
    Ok(shape)
}

/// Checks that a batch `x` has shape `[batch, ..expected]`.
pub(crate) fn check_input<B: Backend>(
    layer: &str,
    x: &Tensor<B>,
    expected: &[usize],
) -> Result<()> {
    let s = x.shape();
    if s.len() != expected.len() + 1 || s[1..] != *expected {
        let exp: Vec<String> = std::iter::once("batch".to_string())
            .chain(expected.iter().map(|d| d.to_string()))
            .collect();
        return Err(Error::shape(
            layer,
            "input",
            format!("shape [{}]", exp.join(", ")),
            &s,
        ));
    }
    Ok(())
}
