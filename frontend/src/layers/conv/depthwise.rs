//! `DepthwiseConv2D`: one set of filters per input channel.

use super::{common::*, options::ConvOptions, spatial::*, Size2};
use crate::activations::ActivationSpec;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layers::{BuildContext, CallContext, Layer, Weight};
use crate::regularizers::Regularizer;
use crate::tensor::Tensor;
use serde_json::json;

/// Depthwise 2-D convolution (Keras `DepthwiseConv2D`): each input channel convolved with
/// its own `depth_multiplier` filters; output channel `c * depth_multiplier + m`.
///
/// The kernel is stored as Keras does, `[kh, kw, in, depth_multiplier]`.
#[derive(Debug)]
pub struct DepthwiseConv2D<B: Backend> {
    depth_multiplier: usize,
    spatial: Spatial,
    opts: ConvOptions,
    kernel: Option<Tensor<B>>,
    bias: Option<Tensor<B>>,
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
        Self {
            depth_multiplier: 1,
            spatial: Spatial::new(2, kernel_size.into()),
            opts: ConvOptions::default(),
            kernel: None,
            bias: None,
        }
    }

    conv_builders!(depthwise_initializer, depthwise_regularizer);

    /// Filters per input channel (default 1).
    pub fn depth_multiplier(mut self, m: usize) -> Self {
        self.depth_multiplier = m;
        self
    }
    /// The kernel `[kh, kw, in, depth_multiplier]`, once built.
    pub fn kernel(&self) -> Option<&Tensor<B>> {
        self.kernel.as_ref()
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config or unknown names.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let class = "DepthwiseConv2D";
        let mut l = Self::new(1);
        l.spatial = Spatial::read_config(2, config, class, "kernel_size")?;
        l.depth_multiplier =
            crate::layers::cfg_opt_size(config, class, "depth_multiplier")?.unwrap_or(1);
        l.opts.read_config(config, "depthwise")?;
        Ok(l)
    }
}

impl<B: Backend> Layer<B> for DepthwiseConv2D<B> {
    fn class_name(&self) -> &'static str {
        "DepthwiseConv2D"
    }
    kernel_bias_layer_methods!();
    fn validate(&self) -> Result<()> {
        if self.depth_multiplier == 0 {
            return Err(Error::invalid(
                &self.opts.name,
                "depth_multiplier",
                "must be at least 1, got 0",
            ));
        }
        self.spatial.validate(&self.opts.name, false)?;
        self.opts.activation.resolve().map(|_| ())
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        let (_, c) = self.spatial.split(&self.opts.name, input_shape, None)?;
        Layer::<B>::output_shape(self, input_shape)?;
        let k = self.spatial.kernel;
        let shape = [k[0], k[1], c, self.depth_multiplier];
        let (kernel, bias) =
            self.opts
                .build_kernel_bias::<B>(&shape, c * self.depth_multiplier, ctx)?;
        (self.kernel, self.bias) = (Some(kernel), bias);
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let c_known = self.kernel.as_ref().map(|k| k.shape()[2]);
        let (hw, c) = self.spatial.split(&self.opts.name, input_shape, c_known)?;
        let (out, _) = self.spatial.window(&self.opts.name, hw, input_shape)?;
        Ok(self.spatial.join(out, c * self.depth_multiplier))
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let kernel = built_weight(&self.kernel, &self.opts.name)?;
        let c_in = kernel.shape()[2];
        let (xs, pads) = self.spatial.conv_input(&self.opts.name, x, kernel, c_in)?;
        let w = depthwise_engine_kernel(kernel)?;
        let p = self.spatial.params(pads, c_in);
        let b = self.bias.as_ref().map(Tensor::inner);
        let y = Tensor::new(B::conv2d_bias(xs.inner(), w.inner(), b, p)?);
        self.opts.finish(&self.spatial, y, ctx)
    }
    fn get_config(&self) -> serde_json::Value {
        let mut c = json!({"depth_multiplier": self.depth_multiplier});
        self.spatial.write_config(&mut c, "kernel_size");
        self.opts.write_config(&mut c, "depthwise");
        c
    }
}
