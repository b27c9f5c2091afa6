//! `DepthwiseConv2D`: one set of filters per input channel.

use super::{common::*, options::ConvOptions, spatial::*, Axes, Dims, Size2};
use crate::activations::ActivationSpec;
use crate::backend::Backend;
use crate::error::Result;
use crate::initializers::Initializer;
use crate::layers::config::{config_setters, layer_config, layer_identity, parse, to_json};
use crate::layers::{BuildContext, CallContext, Layer, Weight};
use crate::regularizers::Regularizer;
use crate::tensor::Tensor;

/// Depthwise 2-D convolution (Keras `DepthwiseConv2D`): each input channel convolved with
/// its own `depth_multiplier` filters; output channel `c * depth_multiplier + m`.
///
/// The kernel is stored as Keras does, `[kh, kw, in, depth_multiplier]`.
#[derive(Debug)]
pub struct DepthwiseConv2D<B: Backend> {
    config: DepthwiseConv2DConfig,
    kernel: Option<Tensor<B>>,
    bias: Option<Tensor<B>>,
}

layer_config! {
    /// The hyper-parameters of [`DepthwiseConv2D`] (Keras' names and defaults).
    pub struct DepthwiseConv2DConfig for "DepthwiseConv2D" without name {
        /// Filters per input channel.
        depth_multiplier: usize = 1,
        /// The window.
        #[serde(flatten)]
        window: ConvWindow<Axes<2>> = ConvWindow::default(),
        /// Kernel initialiser.
        depthwise_initializer: Initializer = Initializer::GlorotUniform,
        /// Penalty on the kernel.
        depthwise_regularizer: Option<Regularizer> = None,
        /// Activation, bias, name and the other shared fields.
        #[serde(flatten)]
        options: ConvOptions = ConvOptions::default(),
    }
    check(config) {
        crate::layers::cfg_opt_size(config, "DepthwiseConv2D", "depth_multiplier")?;
        check_window(
            config,
            "DepthwiseConv2D",
            2,
            &["kernel_size", "strides", "dilation_rate"],
        )
    }
}

/// `[kh, kw, in, mult]` -> engine `[in * mult, 1, kh, kw]` (groups = in).
pub(crate) fn depthwise_engine_kernel<B: Backend>(k: &Tensor<B>) -> Result<Tensor<B>> {
    let s = k.shape();
    let w = k.permute(&[2, 3, 0, 1])?;
    let w = Tensor::new(B::contiguous(w.inner())?);
    w.reshape_to(&[s[2] * s[3], 1, s[0], s[1]])
}

impl<B: Backend> DepthwiseConv2D<B> {
    /// A depthwise convolution over a `kernel_size` window with `depth_multiplier` 1.
    pub fn new(kernel_size: impl Into<Size2>) -> Self {
        Self::with_config(DepthwiseConv2DConfig {
            window: ConvWindow::new(kernel_size.into()),
            ..DepthwiseConv2DConfig::default()
        })
    }

    conv_constructors!(DepthwiseConv2DConfig; kernel, bias);

    conv_builders!();
    config_setters! {
        /// Kernel initialiser (default Glorot uniform, with Keras' fans).
        depthwise_initializer: Initializer,
        /// Penalty on the kernel, added to the training loss.
        depthwise_regularizer: Option<Regularizer>,
        /// Filters per input channel (default 1).
        depth_multiplier: usize,
    }

    /// The kernel `[kh, kw, in, depth_multiplier]`, once built.
    pub fn kernel(&self) -> Option<&Tensor<B>> {
        self.kernel.as_ref()
    }
}

impl<B: Backend> Layer<B> for DepthwiseConv2D<B> {
    kernel_bias_layer_methods!("DepthwiseConv2D", depthwise_regularizer);
    fn validate(&self) -> Result<()> {
        let c = &self.config;
        crate::layers::check_positive(&c.options.name, "depth_multiplier", c.depth_multiplier)?;
        c.window.spatial().validate(&c.options.name, false)?;
        c.options.activation.resolve().map(|_| ())
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        let c = &self.config;
        let spatial = c.window.spatial();
        let (_, ch) = spatial.split(&c.options.name, input_shape, None)?;
        Layer::<B>::output_shape(self, input_shape)?;
        let k = spatial.kernel;
        let m = c.depth_multiplier;
        let (kernel, bias) = c.options.build_kernel_bias::<B>(
            &c.depthwise_initializer,
            &[k[0], k[1], ch, m],
            ch * m,
            ctx,
        )?;
        (self.kernel, self.bias) = (Some(kernel), bias);
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (name, spatial) = (&self.config.options.name, self.config.window.spatial());
        let c_known = self.kernel.as_ref().map(|k| k.shape()[2]);
        let (hw, c) = spatial.split(name, input_shape, c_known)?;
        let (out, _) = spatial.window(name, hw, input_shape)?;
        Ok(spatial.join(out, c * self.config.depth_multiplier))
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let (name, spatial) = (&self.config.options.name, self.config.window.spatial());
        let kernel = &ctx.read(built_weight(&self.kernel, name)?)?;
        let c_in = kernel.shape()[2];
        let (xs, pads) = spatial.conv_input(name, x, kernel, c_in)?;
        let w = depthwise_engine_kernel(kernel)?;
        let p = spatial.params(pads, c_in);
        let bias = ctx.read_opt(&self.bias)?;
        let b = bias.as_ref().map(Tensor::inner);
        let y = Tensor::new(B::conv2d_bias(xs.inner(), w.inner(), b, p)?);
        self.config.options.finish(&spatial, y, ctx)
    }
}
