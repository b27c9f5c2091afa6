//! `SeparableConv2D`: a depthwise convolution followed by a pointwise one.

use super::depthwise::depthwise_engine_kernel;
use super::{common::*, options::ConvOptions, spatial::*, Axes, Dims, Size2};
use crate::activations::ActivationSpec;
use crate::backend::{Backend, Conv2dParams};
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layers::config::{config_setters, layer_config, layer_identity, parse, to_json};
use crate::layers::{BuildContext, CallContext, Layer, Weight};
use crate::regularizers::Regularizer;
use crate::tensor::Tensor;

/// Depthwise-separable 2-D convolution (Keras `SeparableConv2D`): a depthwise convolution
/// (`[kh, kw, in, depth_multiplier]`, with the strides, padding and dilation) followed by a
/// pointwise one (`[1, 1, in * depth_multiplier, filters]`) and the bias.
///
/// The kernel regulariser and initialiser apply to both kernels.
#[derive(Debug)]
pub struct SeparableConv2D<B: Backend> {
    config: SeparableConv2DConfig,
    depthwise: Option<Tensor<B>>,
    pointwise: Option<Tensor<B>>,
    bias: Option<Tensor<B>>,
}

layer_config! {
    /// The hyper-parameters of [`SeparableConv2D`] (Keras' names and defaults).
    pub struct SeparableConv2DConfig for "SeparableConv2D" without name {
        /// Number of output channels (required).
        filters: usize = 0,
        /// Depthwise filters per input channel.
        depth_multiplier: usize = 1,
        /// The window.
        #[serde(flatten)]
        window: ConvWindow<Axes<2>> = ConvWindow::default(),
        /// Initialiser of the depthwise kernel.
        depthwise_initializer: Initializer = Initializer::GlorotUniform,
        /// Initialiser of the pointwise kernel.
        pointwise_initializer: Initializer = Initializer::GlorotUniform,
        /// Written as [`SeparableConv2DConfig::kernel_regularizer`], which is the one applied.
        depthwise_regularizer: Option<Regularizer> = None,
        /// Penalty on both kernels.
        kernel_regularizer: Option<Regularizer> = None,
        /// Activation, bias, name and the other shared fields.
        #[serde(flatten)]
        options: ConvOptions = ConvOptions::default(),
    }
    check(config) {
        let class = "SeparableConv2D";
        crate::layers::cfg_size(config, class, "filters")?;
        crate::layers::cfg_opt_size(config, class, "depth_multiplier")?;
        check_window(
            config,
            class,
            2,
            &["kernel_size", "strides", "dilation_rate"],
        )
    }
}

impl<B: Backend> SeparableConv2D<B> {
    /// `filters` output channels over a `kernel_size` window, depth multiplier 1.
    pub fn new(filters: usize, kernel_size: impl Into<Size2>) -> Self {
        Self::with_config(SeparableConv2DConfig {
            filters,
            window: ConvWindow::new(kernel_size.into()),
            ..SeparableConv2DConfig::default()
        })
    }

    conv_constructors!(SeparableConv2DConfig; depthwise, pointwise, bias);

    conv_builders!();
    config_setters! {
        /// Initialiser of the depthwise kernel (default Glorot uniform).
        depthwise_initializer: Initializer,
        /// Initialiser of the pointwise kernel (default Glorot uniform).
        pointwise_initializer: Initializer,
        /// Depthwise filters per input channel (default 1).
        depth_multiplier: usize,
    }

    /// Penalty on both kernels, added to the training loss.
    pub fn kernel_regularizer(mut self, r: Regularizer) -> Self {
        self.config.kernel_regularizer = Some(r);
        self.config.depthwise_regularizer = Some(r);
        self
    }
    /// The depthwise kernel `[kh, kw, in, depth_multiplier]`, once built.
    pub fn depthwise_kernel(&self) -> Option<&Tensor<B>> {
        self.depthwise.as_ref()
    }
    /// The pointwise kernel `[1, 1, in * depth_multiplier, filters]`, once built.
    pub fn pointwise_kernel(&self) -> Option<&Tensor<B>> {
        self.pointwise.as_ref()
    }
}

impl<B: Backend> Layer<B> for SeparableConv2D<B> {
    conv_layer_methods!("SeparableConv2D", depthwise);
    fn validate(&self) -> Result<()> {
        let c = &self.config;
        let name = &c.options.name;
        if c.filters == 0 || c.depth_multiplier == 0 {
            return Err(Error::invalid(
                name,
                "filters/depth_multiplier",
                format!(
                    "must be at least 1, got {} and {}",
                    c.filters, c.depth_multiplier
                ),
            ));
        }
        c.window.spatial().validate(name, false)?;
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
        let dw_shape = [k[0], k[1], ch, m];
        let dw = c
            .options
            .init::<B>(&c.depthwise_initializer, &dw_shape, ctx)?;
        let pw_shape = [1, 1, ch * m, c.filters];
        let pw = c
            .options
            .init::<B>(&c.pointwise_initializer, &pw_shape, ctx)?;
        let bias = c.options.init_bias::<B>(c.filters, ctx)?;
        (self.depthwise, self.pointwise, self.bias) = (Some(dw), Some(pw), bias);
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (name, spatial) = (&self.config.options.name, self.config.window.spatial());
        let c_known = self.depthwise.as_ref().map(|k| k.shape()[2]);
        let (hw, _) = spatial.split(name, input_shape, c_known)?;
        let (out, _) = spatial.window(name, hw, input_shape)?;
        Ok(spatial.join(out, self.config.filters))
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let (name, spatial) = (&self.config.options.name, self.config.window.spatial());
        let dw = &ctx.read(built_weight(&self.depthwise, name)?)?;
        let pw = &ctx.read(built_weight(&self.pointwise, name)?)?;
        let c_in = dw.shape()[2];
        let (xs, pads) = spatial.conv_input(name, x, dw, c_in)?;
        let p = spatial.params(pads, c_in);
        let w = depthwise_engine_kernel(dw)?;
        let y = Tensor::<B>::new(B::conv2d(xs.inner(), w.inner(), p)?);
        let wp = pw.permute(&[3, 2, 0, 1])?;
        let bias = ctx.read_opt(&self.bias)?;
        let b = bias.as_ref().map(Tensor::inner);
        let y = Tensor::<B>::new(B::conv2d_bias(
            y.inner(),
            wp.inner(),
            b,
            Conv2dParams::default(),
        )?);
        self.config.options.finish(&spatial, y, ctx)
    }
    fn weights(&self) -> Vec<Weight<B>> {
        let mut w = Vec::new();
        let trainable = self.config.options.trainable;
        push_weight(&mut w, "depthwise_kernel", &self.depthwise, trainable);
        push_weight(&mut w, "pointwise_kernel", &self.pointwise, trainable);
        push_weight(&mut w, "bias", &self.bias, trainable);
        w
    }
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>> {
        let kernel_reg = &self.config.kernel_regularizer;
        weight_penalties(&[
            (kernel_reg, &self.depthwise),
            (kernel_reg, &self.pointwise),
            (&self.config.options.bias_regularizer, &self.bias),
        ])
    }
}
