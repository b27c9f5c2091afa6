//! `Conv2DTranspose`: the transposed (up-sampling) 2-D convolution.

use super::{common::*, options::ConvOptions, spatial::*, Size2};
use crate::activations::ActivationSpec;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layers::{BuildContext, CallContext, Layer, Weight};
use crate::regularizers::Regularizer;
use crate::tensor::Tensor;
use serde_json::json;

/// Transposed 2-D convolution (Keras `Conv2DTranspose`), the gradient of `Conv2D` with
/// respect to its input: upsamples by `strides`.
///
/// Output size per axis, as Keras/TensorFlow: without `output_padding`, `in * stride` for
/// `same` and `in * stride + max(k - stride, 0)` for `valid` (`k` the dilated window); with
/// it, `(in - 1) * stride + k - 2 * (k / 2 if same else 0) + output_padding`. The kernel is
/// stored as Keras does, `[kh, kw, filters, in]`.
#[derive(Debug)]
pub struct Conv2DTranspose<B: Backend> {
    filters: usize,
    output_padding: Option<[usize; 2]>,
    spatial: Spatial,
    opts: ConvOptions,
    kernel: Option<Tensor<B>>,
    bias: Option<Tensor<B>>,
}

impl<B: Backend> Conv2DTranspose<B> {
    /// `filters` output channels over a `kernel_size` window, stride 1, `valid` padding.
    pub fn new(filters: usize, kernel_size: impl Into<Size2>) -> Self {
        Self {
            filters,
            output_padding: None,
            spatial: Spatial::new(2, kernel_size.into()),
            opts: ConvOptions::default(),
            kernel: None,
            bias: None,
        }
    }

    conv_builders!(kernel_initializer, kernel_regularizer);

    /// Extra rows/columns at the end of the output (each smaller than the stride).
    pub fn output_padding(mut self, p: impl Into<Size2>) -> Self {
        self.output_padding = Some(p.into().0);
        self
    }
    /// The kernel `[kh, kw, filters, in]`, once built.
    pub fn kernel(&self) -> Option<&Tensor<B>> {
        self.kernel.as_ref()
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config or unknown names.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let class = "Conv2DTranspose";
        let filters = crate::layers::cfg_size(config, class, "filters")?;
        let mut l = Self::new(filters, 1);
        l.spatial = Spatial::read_config(2, config, class, "kernel_size")?;
        l.output_padding =
            cfg_sizes_min(config, class, "output_padding", 2, 0)?.map(|v| [v[0], v[1]]);
        l.opts.read_config(config, "kernel")?;
        Ok(l)
    }

    /// Per axis: output length, crop at the start, and the (crop at the end, extra zeros at
    /// the end) applied to the full transposed convolution.
    fn geometry(&self, hw: [usize; 2]) -> [(usize, (usize, usize), usize); 2] {
        let mut g = [(0, (0, 0), 0); 2];
        for i in 0..2 {
            let (n, s) = (hw[i], self.spatial.strides[i]);
            let k = (self.spatial.kernel[i] - 1) * self.spatial.dilation[i] + 1;
            let same = self.spatial.padding == "same";
            let len = match self.output_padding {
                None if same => n * s,
                None => n * s + k.saturating_sub(s),
                Some(op) => {
                    ((n - 1) * s + k + op[i]).saturating_sub(if same { 2 * (k / 2) } else { 0 })
                }
            };
            let full = (n - 1) * s + k;
            let before = if same {
                (full.saturating_sub(len)) / 2
            } else {
                0
            };
            let (after, extra) = if full - before >= len {
                (full - before - len, 0)
            } else {
                (0, len - (full - before))
            };
            g[i] = (len, (before, after), extra);
        }
        g
    }
}

impl<B: Backend> Layer<B> for Conv2DTranspose<B> {
    fn class_name(&self) -> &'static str {
        "Conv2DTranspose"
    }
    kernel_bias_layer_methods!();
    fn validate(&self) -> Result<()> {
        let name = &self.opts.name;
        if self.filters == 0 {
            return Err(Error::invalid(name, "filters", "must be at least 1, got 0"));
        }
        self.spatial.validate(name, false)?;
        if let Some(op) = self.output_padding {
            for i in 0..2 {
                if op[i] >= self.spatial.strides[i].max(self.spatial.dilation[i]) {
                    return Err(Error::invalid(
                        name,
                        "output_padding",
                        format!(
                            "{op:?} must be smaller than the strides {:?} (or dilation)",
                            self.spatial.strides
                        ),
                    ));
                }
            }
        }
        self.opts.activation.resolve().map(|_| ())
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        let (_, c) = self.spatial.split(&self.opts.name, input_shape, None)?;
        let k = self.spatial.kernel;
        let shape = [k[0], k[1], self.filters, c];
        let (kernel, bias) = self
            .opts
            .build_kernel_bias::<B>(&shape, self.filters, ctx)?;
        (self.kernel, self.bias) = (Some(kernel), bias);
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let c = self.kernel.as_ref().map(|k| k.shape()[3]);
        let (hw, _) = self.spatial.split(&self.opts.name, input_shape, c)?;
        let g = self.geometry(hw);
        Ok(self.spatial.join([g[0].0, g[1].0], self.filters))
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let kernel = built_weight(&self.kernel, &self.opts.name)?;
        let c_in = kernel.shape()[3];
        let xs = self.spatial.to_nchw(&self.opts.name, x, c_in)?;
        let xs = xs.to_dtype(kernel.dtype())?;
        let s = xs.shape();
        let g = self.geometry([s[2], s[3]]);
        // Keras [kh, kw, out, in] -> engine [in, out, kh, kw].
        let w = kernel.permute(&[3, 2, 0, 1])?;
        let p = self.spatial.params([g[0].1, g[1].1], 1);
        let y = Tensor::new(B::conv_transpose2d(
            xs.inner(),
            w.inner(),
            p,
            [g[0].2, g[1].2],
        )?);
        let y = match &self.bias {
            Some(b) => y.add(&b.reshape_to(&[1, b.numel(), 1, 1])?)?,
            None => y,
        };
        self.opts.finish(&self.spatial, y, ctx)
    }
    fn get_config(&self) -> serde_json::Value {
        let mut c = json!({"filters": self.filters, "output_padding": self.output_padding});
        self.spatial.write_config(&mut c, "kernel_size");
        self.opts.write_config(&mut c, "kernel");
        c
    }
}
