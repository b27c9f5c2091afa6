//! [`ConvOptions`] (the config fields every convolution shares: activation, bias, bias
//! initialiser, regularisers) and the builder and `Layer` methods every convolution shares.

use super::{common::*, spatial::Spatial};
use crate::activations::{Activation, ActivationSpec};
use crate::backend::Backend;
use crate::error::Result;
use crate::initializers::Initializer;
use crate::layers::{BuildContext, CallContext, Weight};
use crate::regularizers::Regularizer;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// The config fields every convolution shares (Keras' names and defaults): name,
/// activation, bias, bias initialiser and regularisers, trainable. Each family's config
/// flattens it beside its window and kernel fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ConvOptions {
    /// Instance name.
    pub name: String,
    /// Activation of the output.
    pub activation: ActivationSpec,
    /// Whether to add a bias.
    pub use_bias: bool,
    /// Bias initialiser.
    pub bias_initializer: Initializer,
    /// Penalty on the bias.
    pub bias_regularizer: Option<Regularizer>,
    /// Penalty on the output.
    pub activity_regularizer: Option<Regularizer>,
    /// Whether the weights are trained.
    pub trainable: bool,
}

impl Default for ConvOptions {
    fn default() -> Self {
        Self {
            name: String::new(),
            activation: ActivationSpec::Known(Activation::Linear),
            use_bias: true,
            bias_initializer: Initializer::Zeros,
            bias_regularizer: None,
            activity_regularizer: None,
            trainable: true,
        }
    }
}

impl ConvOptions {
    pub(crate) fn init<B: Backend>(
        &self,
        init: &Initializer,
        shape: &[usize],
        ctx: &mut BuildContext,
    ) -> Result<Tensor<B>> {
        init.init::<B>(shape, ctx.dtype, ctx.device, &mut ctx.rng)?
            .to_param()
    }

    /// Initialises a `kernel_shape` kernel with `kernel_init` and, with `use_bias`, a
    /// `[bias_len]` bias: what `build` does once the layer has checked its input.
    pub(crate) fn build_kernel_bias<B: Backend>(
        &self,
        kernel_init: &Initializer,
        kernel_shape: &[usize],
        bias_len: usize,
        ctx: &mut BuildContext,
    ) -> Result<(Tensor<B>, Option<Tensor<B>>)> {
        let kernel = self.init::<B>(kernel_init, kernel_shape, ctx)?;
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

    /// The kernel (under `kernel_reg`) and bias regularisation penalties.
    pub(crate) fn kernel_bias_penalties<B: Backend>(
        &self,
        kernel_reg: &Option<Regularizer>,
        kernel: &Option<Tensor<B>>,
        bias: &Option<Tensor<B>>,
    ) -> Result<Option<Tensor<B>>> {
        weight_penalties(&[(kernel_reg, kernel), (&self.bias_regularizer, bias)])
    }

    /// Whether the activation is a plain ReLU, which [`NnOps::conv2d_nhwc`] can fuse.
    ///
    /// [`NnOps::conv2d_nhwc`]: crate::backend::NnOps::conv2d_nhwc
    pub(crate) fn relu_fusable(&self) -> Result<bool> {
        Ok(self.activation.resolve()? == Activation::Relu)
    }

    /// From a channels-last result already in the layer's layout (bias added, and the ReLU
    /// applied when `relu_fused`): applies the activation otherwise and records the
    /// activity penalty.
    pub(crate) fn finish_channels_last<B: Backend>(
        &self,
        y: Tensor<B>,
        relu_fused: bool,
        ctx: &mut CallContext,
    ) -> Result<Tensor<B>> {
        let y = if relu_fused {
            y
        } else {
            self.activation.resolve()?.apply(&y)?
        };
        record_activity(&self.activity_regularizer, &y, ctx)?;
        Ok(y)
    }

    /// From the engine's `[N, C, H, W]` result (bias already added): returns to the layer's
    /// layout, applies the activation and records the activity penalty.
    pub(crate) fn finish<B: Backend>(
        &self,
        spatial: &Spatial,
        y: Tensor<B>,
        ctx: &mut CallContext,
    ) -> Result<Tensor<B>> {
        let activation = self.activation.resolve()?;
        // Elementwise activations commute with the permute: apply them to the engine's
        // contiguous `[N, C, H, W]` result, so the layer's channels-last output is a view of
        // it and a following pooling or convolution permutes it back without a copy.
        // Softmax variants (over the last axis) run in the layer's layout.
        let y = match activation {
            Activation::Softmax | Activation::LogSoftmax => {
                activation.apply(&spatial.nchw_to_layout(&y)?)?
            }
            a => spatial.nchw_to_layout(&a.apply(&y)?)?,
        };
        record_activity(&self.activity_regularizer, &y, ctx)?;
        Ok(y)
    }
}

/// Builder methods shared by the convolution layers: the window setters, `dilation_rate`,
/// `activation`, and the [`ConvOptions`] fields.
macro_rules! conv_builders {
    () => {
        window_setters!(config.window);
        /// Dilation rate (one integer or one per spatial axis; default 1).
        pub fn dilation_rate(mut self, d: impl Into<Size2>) -> Self {
            self.config.window.dilation_rate = Dims::new(d);
            self
        }
        /// Activation applied to the output (a name like `"relu"` or an [`Activation`]);
        /// an unknown name is reported when the layer is added to a model.
        ///
        /// [`Activation`]: crate::activations::Activation
        pub fn activation(mut self, a: impl Into<ActivationSpec>) -> Self {
            self.config.options.activation = a.into();
            self
        }
        /// Whether to add a bias (default `true`).
        pub fn use_bias(mut self, use_bias: bool) -> Self {
            self.config.options.use_bias = use_bias;
            self
        }
        /// Bias initialiser (default zeros).
        pub fn bias_initializer(mut self, init: Initializer) -> Self {
            self.config.options.bias_initializer = init;
            self
        }
        /// Penalty on the bias, added to the training loss.
        pub fn bias_regularizer(mut self, r: Regularizer) -> Self {
            self.config.options.bias_regularizer = Some(r);
            self
        }
        /// Penalty on the layer's output, recorded in the [`CallContext`] by `call`.
        pub fn activity_regularizer(mut self, r: Regularizer) -> Self {
            self.config.options.activity_regularizer = Some(r);
            self
        }
        /// Sets the layer's name.
        pub fn name(mut self, name: &str) -> Self {
            self.config.options.name = name.to_string();
            self
        }
    };
}

/// `with_config`, `config` and `from_config` of a convolution whose config is `$config` and
/// whose weights (all `None` until built) are the fields listed.
macro_rules! conv_constructors {
    ($config:ty; $($weight:ident),+) => {
        /// A layer with the given hyper-parameters.
        pub fn with_config(config: $config) -> Self {
            Self {
                config,
                $($weight: None),+
            }
        }
        /// The hyper-parameters.
        pub fn config(&self) -> &$config {
            &self.config
        }
        /// Inverse of `get_config`.
        ///
        /// # Errors
        /// On a malformed config or unknown names.
        pub fn from_config(config: &serde_json::Value) -> Result<Self> {
            parse(config).map(Self::with_config)
        }
    };
}

/// The identity, trainable and config methods of [`crate::layers::Layer`] for a
/// convolution whose config is `self.config` and whose first weight is `self.<weight>`.
macro_rules! conv_layer_methods {
    ($class:expr, $weight:ident) => {
        layer_identity!($class, field: config.options.name, built: |l| l.$weight.is_some());
        fn trainable(&self) -> bool {
            self.config.options.trainable
        }
        fn set_trainable(&mut self, trainable: bool) {
            self.config.options.trainable = trainable;
        }
        fn get_config(&self) -> serde_json::Value {
            to_json(&self.config)
        }
    };
}

/// [`conv_layer_methods`] and the weights and penalties of a convolution whose weights are
/// `self.kernel` (under the regulariser `self.config.<kernel_reg>`) and `self.bias`.
macro_rules! kernel_bias_layer_methods {
    ($class:expr, $kernel_reg:ident) => {
        conv_layer_methods!($class, kernel);
        fn weights(&self) -> Vec<Weight<B>> {
            self.config
                .options
                .kernel_bias_weights(&self.kernel, &self.bias)
        }
        fn regularization_loss(&self) -> Result<Option<Tensor<B>>> {
            self.config.options.kernel_bias_penalties(
                &self.config.$kernel_reg,
                &self.kernel,
                &self.bias,
            )
        }
    };
}
