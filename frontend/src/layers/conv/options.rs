//! [`ConvOptions`] (activation, bias, initialisers, regularisers) and the builder and
//! `Layer` methods every convolution shares.

use super::{common::*, spatial::Spatial};
use crate::activations::{Activation, ActivationSpec};
use crate::backend::Backend;
use crate::error::Result;
use crate::initializers::Initializer;
use crate::layers::{cfg_name, BuildContext, CallContext, Weight};
use crate::regularizers::Regularizer;
use crate::tensor::Tensor;
use serde_json::json;

/// The options every convolution shares: activation, bias, initialisers, regularisers.
#[derive(Debug, Clone)]
pub(crate) struct ConvOptions {
    pub(crate) activation: ActivationSpec,
    pub(crate) resolved: Activation,
    pub(crate) use_bias: bool,
    pub(crate) kernel_initializer: Initializer,
    pub(crate) bias_initializer: Initializer,
    pub(crate) kernel_regularizer: Option<Regularizer>,
    pub(crate) bias_regularizer: Option<Regularizer>,
    pub(crate) activity_regularizer: Option<Regularizer>,
    pub(crate) trainable: bool,
    pub(crate) name: String,
}

impl Default for ConvOptions {
    fn default() -> Self {
        Self {
            activation: ActivationSpec::Known(Activation::Linear),
            resolved: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            bias_regularizer: None,
            activity_regularizer: None,
            trainable: true,
            name: String::new(),
        }
    }
}

impl ConvOptions {
    pub(crate) fn write_config(&self, map: &mut serde_json::Value, kernel_prefix: &str) {
        map["name"] = json!(self.name);
        map["activation"] = self.resolved.to_config();
        map["use_bias"] = json!(self.use_bias);
        map[format!("{kernel_prefix}_initializer")] = self.kernel_initializer.to_config();
        map["bias_initializer"] = self.bias_initializer.to_config();
        map[format!("{kernel_prefix}_regularizer")] = regularizer_config(&self.kernel_regularizer);
        map["bias_regularizer"] = regularizer_config(&self.bias_regularizer);
        map["activity_regularizer"] = regularizer_config(&self.activity_regularizer);
        map["trainable"] = json!(self.trainable);
    }

    pub(crate) fn read_config(
        &mut self,
        config: &serde_json::Value,
        kernel_prefix: &str,
    ) -> Result<()> {
        self.name = cfg_name(config);
        if let Some(a) = config.get("activation") {
            self.resolved = Activation::from_config(a)?;
            self.activation = ActivationSpec::Known(self.resolved);
        }
        if let Some(b) = config.get("use_bias").and_then(|b| b.as_bool()) {
            self.use_bias = b;
        }
        if let Some(i) = config.get(format!("{kernel_prefix}_initializer")) {
            self.kernel_initializer = Initializer::from_config(i)?;
        }
        if let Some(i) = config.get("bias_initializer") {
            self.bias_initializer = Initializer::from_config(i)?;
        }
        self.kernel_regularizer = config
            .get(format!("{kernel_prefix}_regularizer"))
            .and_then(Regularizer::from_config);
        self.bias_regularizer = config
            .get("bias_regularizer")
            .and_then(Regularizer::from_config);
        self.activity_regularizer = config
            .get("activity_regularizer")
            .and_then(Regularizer::from_config);
        if let Some(t) = config.get("trainable").and_then(|b| b.as_bool()) {
            self.trainable = t;
        }
        Ok(())
    }

    pub(crate) fn set_activation(&mut self, a: ActivationSpec) {
        self.activation = a;
        if let Ok(r) = self.activation.resolve() {
            self.resolved = r;
        }
    }

    pub(crate) fn init<B: Backend>(
        &self,
        init: &Initializer,
        shape: &[usize],
        ctx: &mut BuildContext,
    ) -> Result<Tensor<B>> {
        init.init::<B>(shape, ctx.dtype, ctx.device, &mut ctx.rng)?
            .to_param()
    }

    /// Resolves the activation and initialises a `kernel_shape` kernel and, with `use_bias`,
    /// a `[bias_len]` bias: what `build` does once the layer has checked its input.
    pub(crate) fn build_kernel_bias<B: Backend>(
        &mut self,
        kernel_shape: &[usize],
        bias_len: usize,
        ctx: &mut BuildContext,
    ) -> Result<(Tensor<B>, Option<Tensor<B>>)> {
        self.resolved = self.activation.resolve()?;
        let kernel = self.init::<B>(&self.kernel_initializer, kernel_shape, ctx)?;
        Ok((kernel, self.init_bias(bias_len, ctx)?))
    }

    /// A `[len]` bias from the bias initialiser, or `None` without `use_bias`.
    pub(crate) fn init_bias<B: Backend>(
        &self,
        len: usize,
        ctx: &mut BuildContext,
    ) -> Result<Option<Tensor<B>>> {
        if !self.use_bias {
            return Ok(None);
        }
        self.init::<B>(&self.bias_initializer, &[len], ctx)
            .map(Some)
    }

    /// `kernel` and `bias` (those that exist) as the layer's weights.
    pub(crate) fn kernel_bias_weights<B: Backend>(
        &self,
        kernel: &Option<Tensor<B>>,
        bias: &Option<Tensor<B>>,
    ) -> Vec<Weight<B>> {
        let mut w = Vec::new();
        push_weight(&mut w, "kernel", kernel, self.trainable);
        push_weight(&mut w, "bias", bias, self.trainable);
        w
    }

    /// The kernel and bias regularisation penalties.
    pub(crate) fn kernel_bias_penalties<B: Backend>(
        &self,
        kernel: &Option<Tensor<B>>,
        bias: &Option<Tensor<B>>,
    ) -> Result<Option<Tensor<B>>> {
        weight_penalties(&[
            (&self.kernel_regularizer, kernel),
            (&self.bias_regularizer, bias),
        ])
    }

    /// From the engine's `[N, C, H, W]` result (bias already added): returns to the layer's
    /// layout, applies the activation and records the activity penalty.
    pub(crate) fn finish<B: Backend>(
        &self,
        spatial: &Spatial,
        y: Tensor<B>,
        ctx: &mut CallContext,
    ) -> Result<Tensor<B>> {
        // Elementwise activations commute with the permute: apply them to the engine's
        // contiguous `[N, C, H, W]` result, so the layer's channels-last output is a view of
        // it and a following pooling or convolution permutes it back without a copy.
        // Softmax variants (over the last axis) run in the layer's layout.
        let y = match self.resolved {
            Activation::Softmax | Activation::LogSoftmax => {
                self.resolved.apply(&spatial.nchw_to_layout(&y)?)?
            }
            a => spatial.nchw_to_layout(&a.apply(&y)?)?,
        };
        record_activity(&self.activity_regularizer, &y, ctx)?;
        Ok(y)
    }
}

/// Builder methods shared by the convolution layers.
macro_rules! conv_builders {
    ($kernel_init:ident, $kernel_reg:ident) => {
        /// Strides (one integer or one per spatial axis; default 1).
        pub fn strides(mut self, s: impl Into<Size2>) -> Self {
            self.spatial.strides = self.spatial.norm(s.into());
            self
        }
        /// `"valid"` (default) or `"same"` (TensorFlow's: `out = ceil(in / stride)`, extra
        /// padding at the end).
        pub fn padding(mut self, padding: &str) -> Self {
            self.spatial.padding = padding.to_lowercase();
            self
        }
        /// Dilation rate (one integer or one per spatial axis; default 1).
        pub fn dilation_rate(mut self, d: impl Into<Size2>) -> Self {
            self.spatial.dilation = self.spatial.norm(d.into());
            self
        }
        /// `"channels_last"` (default, `[N, .., C]`) or `"channels_first"` (`[N, C, ..]`).
        pub fn data_format(mut self, data_format: &str) -> Self {
            self.spatial.data_format = data_format.to_lowercase();
            self
        }
        /// Activation applied to the output (a name like `"relu"` or an [`Activation`]).
        pub fn activation(mut self, a: impl Into<ActivationSpec>) -> Self {
            self.opts.set_activation(a.into());
            self
        }
        /// Whether to add a bias (default `true`).
        pub fn use_bias(mut self, use_bias: bool) -> Self {
            self.opts.use_bias = use_bias;
            self
        }
        /// Kernel initialiser (default Glorot uniform, with Keras' fans).
        pub fn $kernel_init(mut self, init: Initializer) -> Self {
            self.opts.kernel_initializer = init;
            self
        }
        /// Bias initialiser (default zeros).
        pub fn bias_initializer(mut self, init: Initializer) -> Self {
            self.opts.bias_initializer = init;
            self
        }
        /// Penalty on the kernel, added to the training loss.
        pub fn $kernel_reg(mut self, r: Regularizer) -> Self {
            self.opts.kernel_regularizer = Some(r);
            self
        }
        /// Penalty on the bias, added to the training loss.
        pub fn bias_regularizer(mut self, r: Regularizer) -> Self {
            self.opts.bias_regularizer = Some(r);
            self
        }
        /// Penalty on the layer's output, recorded in the [`CallContext`] by `call`.
        pub fn activity_regularizer(mut self, r: Regularizer) -> Self {
            self.opts.activity_regularizer = Some(r);
            self
        }
        /// Sets the layer's name.
        pub fn name(mut self, name: &str) -> Self {
            self.opts.name = name.to_string();
            self
        }
    };
}

/// The `Layer` methods every convolution implements the same way.
macro_rules! conv_common_layer_methods {
    () => {
        fn name(&self) -> &str {
            &self.opts.name
        }
        fn set_name(&mut self, name: String) {
            self.opts.name = name;
        }
        fn trainable(&self) -> bool {
            self.opts.trainable
        }
        fn set_trainable(&mut self, trainable: bool) {
            self.opts.trainable = trainable;
        }
    };
}

/// The `Layer` methods of a convolution whose weights are `self.kernel` and `self.bias`.
macro_rules! kernel_bias_layer_methods {
    () => {
        conv_common_layer_methods!();
        fn built(&self) -> bool {
            self.kernel.is_some()
        }
        fn weights(&self) -> Vec<Weight<B>> {
            self.opts.kernel_bias_weights(&self.kernel, &self.bias)
        }
        fn regularization_loss(&self) -> Result<Option<Tensor<B>>> {
            self.opts.kernel_bias_penalties(&self.kernel, &self.bias)
        }
    };
}
