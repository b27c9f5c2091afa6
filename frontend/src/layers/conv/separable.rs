//! `SeparableConv2D`: a depthwise convolution followed by a pointwise one.

use super::depthwise::depthwise_engine_kernel;
use super::{common::*, options::ConvOptions, spatial::*, Size2};
use crate::activations::ActivationSpec;
use crate::backend::{Backend, Conv2dParams};
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layers::{BuildContext, CallContext, Layer, Weight};
use crate::regularizers::Regularizer;
use crate::tensor::Tensor;
use serde_json::json;

/// Depthwise-separable 2-D convolution (Keras `SeparableConv2D`): a depthwise convolution
/// (`[kh, kw, in, depth_multiplier]`, with the strides, padding and dilation) followed by a
/// pointwise one (`[1, 1, in * depth_multiplier, filters]`) and the bias.
///
/// The kernel regulariser and initialiser apply to both kernels.
#[derive(Debug)]
pub struct SeparableConv2D<B: Backend> {
    filters: usize,
    depth_multiplier: usize,
    spatial: Spatial,
    opts: ConvOptions,
    pointwise_initializer: Initializer,
    depthwise: Option<Tensor<B>>,
    pointwise: Option<Tensor<B>>,
    bias: Option<Tensor<B>>,
}

impl<B: Backend> SeparableConv2D<B> {
    /// `filters` output channels over a `kernel_size` window, depth multiplier 1.
    pub fn new(filters: usize, kernel_size: impl Into<Size2>) -> Self {
        Self {
            filters,
            depth_multiplier: 1,
            spatial: Spatial::new(2, kernel_size.into()),
            opts: ConvOptions::default(),
            pointwise_initializer: Initializer::GlorotUniform,
            depthwise: None,
            pointwise: None,
            bias: None,
        }
    }

    conv_builders!(depthwise_initializer, kernel_regularizer);

    /// Initialiser of the pointwise kernel (default Glorot uniform).
    pub fn pointwise_initializer(mut self, init: Initializer) -> Self {
        self.pointwise_initializer = init;
        self
    }
    /// Depthwise filters per input channel (default 1).
    pub fn depth_multiplier(mut self, m: usize) -> Self {
        self.depth_multiplier = m;
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

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config or unknown names.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let class = "SeparableConv2D";
        let filters = crate::layers::cfg_size(config, class, "filters")?;
        let mut l = Self::new(filters, 1);
        l.spatial = Spatial::read_config(2, config, class, "kernel_size")?;
        l.depth_multiplier =
            crate::layers::cfg_opt_size(config, class, "depth_multiplier")?.unwrap_or(1);
        l.opts.read_config(config, "depthwise")?;
        if let Some(i) = config.get("pointwise_initializer") {
            l.pointwise_initializer = Initializer::from_config(i)?;
        }
        l.opts.kernel_regularizer = config
            .get("kernel_regularizer")
            .and_then(Regularizer::from_config);
        Ok(l)
    }
}

impl<B: Backend> Layer<B> for SeparableConv2D<B> {
    fn class_name(&self) -> &'static str {
        "SeparableConv2D"
    }
    conv_common_layer_methods!();
    fn built(&self) -> bool {
        self.depthwise.is_some()
    }
    fn validate(&self) -> Result<()> {
        let name = &self.opts.name;
        if self.filters == 0 || self.depth_multiplier == 0 {
            return Err(Error::invalid(
                name,
                "filters/depth_multiplier",
                format!(
                    "must be at least 1, got {} and {}",
                    self.filters, self.depth_multiplier
                ),
            ));
        }
        self.spatial.validate(name, false)?;
        self.opts.activation.resolve().map(|_| ())
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        self.opts.resolved = self.opts.activation.resolve()?;
        let (_, c) = self.spatial.split(&self.opts.name, input_shape, None)?;
        Layer::<B>::output_shape(self, input_shape)?;
        let k = self.spatial.kernel;
        let m = self.depth_multiplier;
        let dw = self
            .opts
            .init::<B>(&self.opts.kernel_initializer, &[k[0], k[1], c, m], ctx)?;
        let pw_shape = [1, 1, c * m, self.filters];
        let pw = self
            .opts
            .init::<B>(&self.pointwise_initializer, &pw_shape, ctx)?;
        (self.depthwise, self.pointwise) = (Some(dw), Some(pw));
        self.bias = self.opts.init_bias::<B>(self.filters, ctx)?;
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let c_known = self.depthwise.as_ref().map(|k| k.shape()[2]);
        let (hw, _) = self.spatial.split(&self.opts.name, input_shape, c_known)?;
        let (out, _) = self.spatial.window(&self.opts.name, hw, input_shape)?;
        Ok(self.spatial.join(out, self.filters))
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let dw = built_weight(&self.depthwise, &self.opts.name)?;
        let pw = built_weight(&self.pointwise, &self.opts.name)?;
        let c_in = dw.shape()[2];
        let (xs, pads) = self.spatial.conv_input(&self.opts.name, x, dw, c_in)?;
        let p = self.spatial.params(pads, c_in);
        let w = depthwise_engine_kernel(dw)?;
        let y = Tensor::<B>::new(B::conv2d(xs.inner(), w.inner(), p)?);
        let wp = pw.permute(&[3, 2, 0, 1])?;
        let b = self.bias.as_ref().map(Tensor::inner);
        let y = Tensor::<B>::new(B::conv2d_bias(
            y.inner(),
            wp.inner(),
            b,
            Conv2dParams::default(),
        )?);
        self.opts.finish(&self.spatial, y, ctx)
    }
    fn weights(&self) -> Vec<Weight<B>> {
        let mut w = Vec::new();
        push_weight(
            &mut w,
            "depthwise_kernel",
            &self.depthwise,
            self.opts.trainable,
        );
        push_weight(
            &mut w,
            "pointwise_kernel",
            &self.pointwise,
            self.opts.trainable,
        );
        push_weight(&mut w, "bias", &self.bias, self.opts.trainable);
        w
    }
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>> {
        weight_penalties(&[
            (&self.opts.kernel_regularizer, &self.depthwise),
            (&self.opts.kernel_regularizer, &self.pointwise),
            (&self.opts.bias_regularizer, &self.bias),
        ])
    }
    fn get_config(&self) -> serde_json::Value {
        let mut c = json!({
            "filters": self.filters,
            "depth_multiplier": self.depth_multiplier,
            "pointwise_initializer": self.pointwise_initializer.to_config(),
        });
        self.spatial.write_config(&mut c, "kernel_size");
        self.opts.write_config(&mut c, "depthwise");
        c["kernel_regularizer"] = regularizer_config(&self.opts.kernel_regularizer);
        c
    }
}
