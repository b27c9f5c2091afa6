//! `Conv2DTranspose`: the transposed (up-sampling) 2-D convolution.

use super::{common::*, options::ConvOptions, spatial::*, Axes, Dims, Size2};
use crate::activations::ActivationSpec;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layers::config::{config_setters, layer_config, layer_identity, parse, to_json};
use crate::layers::{BuildContext, CallContext, Layer, Weight};
use crate::regularizers::Regularizer;
use crate::tensor::Tensor;

/// Transposed 2-D convolution (Keras `Conv2DTranspose`), the gradient of `Conv2D` with
/// respect to its input: upsamples by `strides`.
///
/// Output size per axis, as Keras/TensorFlow: without `output_padding`, `in * stride` for
/// `same` and `in * stride + max(k - stride, 0)` for `valid` (`k` the dilated window); with
/// it, `(in - 1) * stride + k - 2 * (k / 2 if same else 0) + output_padding`. The kernel is
/// stored as Keras does, `[kh, kw, filters, in]`.
#[derive(Debug)]
pub struct Conv2DTranspose<B: Backend> {
    config: Conv2DTransposeConfig,
    kernel: Option<Tensor<B>>,
    bias: Option<Tensor<B>>,
}

layer_config! {
    /// The hyper-parameters of [`Conv2DTranspose`] (Keras' names and defaults).
    pub struct Conv2DTransposeConfig for "Conv2DTranspose" without name {
        /// Number of output channels (required).
        filters: usize = 0,
        /// Extra rows/columns at the end of the output (`None`: inferred).
        output_padding: Option<Dims<Axes<2>>> = None,
        /// The window.
        #[serde(flatten)]
        window: ConvWindow<Axes<2>> = ConvWindow::default(),
        /// Kernel initialiser.
        kernel_initializer: Initializer = Initializer::GlorotUniform,
        /// Penalty on the kernel.
        kernel_regularizer: Option<Regularizer> = None,
        /// Activation, bias, name and the other shared fields.
        #[serde(flatten)]
        options: ConvOptions = ConvOptions::default(),
    }
    check(config) {
        let class = "Conv2DTranspose";
        crate::layers::cfg_size(config, class, "filters")?;
        cfg_sizes_min(config, class, "output_padding", 2, 0)?;
        check_window(
            config,
            class,
            2,
            &["kernel_size", "strides", "dilation_rate"],
        )
    }
}

impl<B: Backend> Conv2DTranspose<B> {
    /// `filters` output channels over a `kernel_size` window, stride 1, `valid` padding.
    pub fn new(filters: usize, kernel_size: impl Into<Size2>) -> Self {
        Self::with_config(Conv2DTransposeConfig {
            filters,
            window: ConvWindow::new(kernel_size.into()),
            ..Conv2DTransposeConfig::default()
        })
    }

    conv_constructors!(Conv2DTransposeConfig; kernel, bias);

    conv_builders!();
    config_setters! {
        /// Kernel initialiser (default Glorot uniform, with Keras' fans).
        kernel_initializer: Initializer,
        /// Penalty on the kernel, added to the training loss.
        kernel_regularizer: Option<Regularizer>,
    }

    /// Extra rows/columns at the end of the output (each smaller than the stride).
    pub fn output_padding(mut self, p: impl Into<Size2>) -> Self {
        self.config.output_padding = Some(Dims::new(p));
        self
    }
    /// The kernel `[kh, kw, filters, in]`, once built.
    pub fn kernel(&self) -> Option<&Tensor<B>> {
        self.kernel.as_ref()
    }

    /// Per axis: output length, crop at the start, and the (crop at the end, extra zeros at
    /// the end) applied to the full transposed convolution.
    fn geometry(&self, hw: [usize; 2]) -> [(usize, (usize, usize), usize); 2] {
        let mut g = [(0, (0, 0), 0); 2];
        let spatial = self.config.window.spatial();
        for i in 0..2 {
            let (n, s) = (hw[i], spatial.strides[i]);
            let k = (spatial.kernel[i] - 1) * spatial.dilation[i] + 1;
            let same = spatial.padding == "same";
            let len = match self.config.output_padding.map(|p| p.0) {
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
    kernel_bias_layer_methods!("Conv2DTranspose", kernel_regularizer);
    fn validate(&self) -> Result<()> {
        let (name, spatial) = (&self.config.options.name, self.config.window.spatial());
        crate::layers::check_positive(name, "filters", self.config.filters)?;
        spatial.validate(name, false)?;
        if let Some(op) = self.config.output_padding.map(|p| p.0) {
            for i in 0..2 {
                if op[i] >= spatial.strides[i].max(spatial.dilation[i]) {
                    return Err(Error::invalid(
                        name,
                        "output_padding",
                        format!(
                            "{op:?} must be smaller than the strides {:?} (or dilation)",
                            spatial.strides
                        ),
                    ));
                }
            }
        }
        self.config.options.activation.resolve().map(|_| ())
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        let c = &self.config;
        let spatial = c.window.spatial();
        let (_, ch) = spatial.split(&c.options.name, input_shape, None)?;
        let k = spatial.kernel;
        let shape = [k[0], k[1], c.filters, ch];
        let (kernel, bias) =
            c.options
                .build_kernel_bias::<B>(&c.kernel_initializer, &shape, c.filters, ctx)?;
        (self.kernel, self.bias) = (Some(kernel), bias);
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (name, spatial) = (&self.config.options.name, self.config.window.spatial());
        let c = self.kernel.as_ref().map(|k| k.shape()[3]);
        let (hw, _) = spatial.split(name, input_shape, c)?;
        let g = self.geometry(hw);
        Ok(spatial.join([g[0].0, g[1].0], self.config.filters))
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let (name, spatial) = (&self.config.options.name, self.config.window.spatial());
        let kernel = &ctx.read(built_weight(&self.kernel, name)?)?;
        let c_in = kernel.shape()[3];
        let xs = spatial.to_nchw(name, x, c_in)?;
        let xs = xs.to_dtype(kernel.dtype())?;
        let s = xs.shape();
        let g = self.geometry([s[2], s[3]]);
        // Keras [kh, kw, out, in] -> engine [in, out, kh, kw].
        let w = kernel.permute(&[3, 2, 0, 1])?;
        let p = spatial.params([g[0].1, g[1].1], 1);
        let y = Tensor::new(B::conv_transpose2d(
            xs.inner(),
            w.inner(),
            p,
            [g[0].2, g[1].2],
        )?);
        let y = match &ctx.read_opt(&self.bias)? {
            Some(b) => y.add(&b.reshape_to(&[1, b.numel(), 1, 1])?)?,
            None => y,
        };
        self.config.options.finish(&spatial, y, ctx)
    }
}
