//! `Conv1D` and `Conv2D`: the generic [`Conv`] over one or two spatial axes.

use super::{common::*, options::ConvOptions, spatial::*, Axes, Dims, Rank, Size2};
use crate::activations::ActivationSpec;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layers::config::{config_setters, layer_identity, parse, to_json, LayerConfig};
use crate::layers::{BuildContext, CallContext, Layer, Weight};
use crate::regularizers::Regularizer;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// A 1-D or 2-D convolution (`RANK` 1 or 2); use the aliases [`Conv1D`] and [`Conv2D`].
///
/// The kernel is stored in Keras' layout `[kh, kw, in / groups, filters]` (`[k, in / groups,
/// filters]` for 1-D) and the bias as `[filters]`.
#[derive(Debug)]
pub struct Conv<B: Backend, const RANK: usize> {
    config: ConvConfig<Axes<RANK>>,
    kernel: Option<Tensor<B>>,
    bias: Option<Tensor<B>>,
}

/// The hyper-parameters of [`Conv1D`] (`RANK` 1) and [`Conv2D`] (`RANK` 2), as their
/// config JSON holds them (Keras' names and defaults).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, bound = "")]
pub struct ConvConfig<R: Rank> {
    /// Number of output channels (required).
    pub filters: usize,
    /// Number of channel groups.
    pub groups: usize,
    /// The window.
    #[serde(flatten)]
    pub window: ConvWindow<R>,
    /// Kernel initialiser.
    pub kernel_initializer: Initializer,
    /// Penalty on the kernel.
    pub kernel_regularizer: Option<Regularizer>,
    /// Activation, bias, name and the other shared fields.
    #[serde(flatten)]
    pub options: ConvOptions,
}

impl<R: Rank> Default for ConvConfig<R> {
    fn default() -> Self {
        Self {
            filters: 0,
            groups: 1,
            window: ConvWindow::default(),
            kernel_initializer: Initializer::GlorotUniform,
            kernel_regularizer: None,
            options: ConvOptions::default(),
        }
    }
}

impl<R: Rank> LayerConfig for ConvConfig<R> {
    const CLASS: &'static str = if R::N == 1 { "Conv1D" } else { "Conv2D" };
    fn check_raw(config: &serde_json::Value) -> Result<()> {
        let class = Self::CLASS;
        crate::layers::cfg_size(config, class, "filters")?;
        crate::layers::cfg_opt_size(config, class, "groups")?;
        check_window(
            config,
            class,
            R::N,
            &["kernel_size", "strides", "dilation_rate"],
        )
    }
}

/// 2-D convolution over `[N, H, W, C]` images (Keras `Conv2D`).
///
/// `Conv2D::new(32, 3)` on one input channel has `3 * 3 * 1 * 32 + 32 = 320` parameters.
///
/// ```
/// use stratanet::layers::{Conv2D, Input};
/// use stratanet::initializers::Initializer;
/// use stratanet::{Sequential, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut model = Sequential::<B>::new();
/// model.add(Input::new(&[4, 4, 1]))?;
/// model.add(Conv2D::new(2, 3).padding("same").kernel_initializer(Initializer::Ones))?;
/// assert_eq!(model.output_shape()?, vec![4, 4, 2]);
/// assert_eq!(model.count_params().0, 3 * 3 * 1 * 2 + 2);
/// // a 3x3 box sum of ones: 4 in a corner, 9 in the middle
/// let x = Tensor::<B>::ones(&[1, 4, 4, 1], stratanet::DType::F32, stratanet::Device::Cpu)?;
/// let y = model.predict_with(&x, 1)?.to_vec_f32()?;
/// assert_eq!((y[0], y[2 * (4 + 1)]), (4.0, 9.0));
/// # Ok(())
/// # }
/// ```
pub type Conv2D<B> = Conv<B, 2>;

/// 1-D convolution over `[N, steps, C]` sequences (Keras `Conv1D`); `padding("causal")`
/// pads only at the start.
pub type Conv1D<B> = Conv<B, 1>;

impl<B: Backend> Conv<B, 2> {
    /// `filters` output channels, a `kernel_size` window (`3` or `[3, 5]`), stride 1,
    /// `valid` padding, linear activation, a bias, Glorot-uniform kernel.
    pub fn new(filters: usize, kernel_size: impl Into<Size2>) -> Self {
        Self::with_rank(filters, kernel_size.into())
    }
}

impl<B: Backend> Conv<B, 1> {
    /// `filters` output channels over a window of `kernel_size` steps.
    pub fn new(filters: usize, kernel_size: usize) -> Self {
        Self::with_rank(filters, Size2::from(kernel_size))
    }
}

impl<B: Backend, const RANK: usize> Conv<B, RANK> {
    fn with_rank(filters: usize, kernel: Size2) -> Self {
        Self::with_config(ConvConfig {
            filters,
            window: ConvWindow::new(kernel),
            ..ConvConfig::default()
        })
    }

    conv_constructors!(ConvConfig<Axes<RANK>>; kernel, bias);

    conv_builders!();
    config_setters! {
        /// Kernel initialiser (default Glorot uniform, with Keras' fans).
        kernel_initializer: Initializer,
        /// Penalty on the kernel, added to the training loss.
        kernel_regularizer: Option<Regularizer>,
        /// Grouped convolution: input and output channels split into `groups` (default 1).
        groups: usize,
    }

    /// Number of output channels.
    pub fn filters(&self) -> usize {
        self.config.filters
    }
    /// The kernel in Keras' layout, once built.
    pub fn kernel(&self) -> Option<&Tensor<B>> {
        self.kernel.as_ref()
    }
    /// The bias `[filters]`, once built (and if used).
    pub fn bias(&self) -> Option<&Tensor<B>> {
        self.bias.as_ref()
    }

    fn in_channels(&self) -> Option<usize> {
        self.kernel
            .as_ref()
            .map(|k| k.shape()[RANK] * self.config.groups)
    }
}

impl<B: Backend, const RANK: usize> Layer<B> for Conv<B, RANK> {
    kernel_bias_layer_methods!(ConvConfig::<Axes<RANK>>::CLASS, kernel_regularizer);
    fn validate(&self) -> Result<()> {
        let c = &self.config;
        let name = &c.options.name;
        crate::layers::check_positive(name, "filters", c.filters)?;
        if c.groups == 0 || c.filters % c.groups != 0 {
            return Err(Error::invalid(
                name,
                "groups",
                format!(
                    "must be positive and divide filters ({}), got {}",
                    c.filters, c.groups
                ),
            ));
        }
        c.window.spatial().validate(name, RANK == 1)?;
        c.options.activation.resolve().map(|_| ())
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        let c = &self.config;
        let spatial = c.window.spatial();
        let (_, ch) = spatial.split(&c.options.name, input_shape, None)?;
        if ch % c.groups != 0 {
            return Err(Error::shape(
                &c.options.name,
                "input",
                format!("a channel count divisible by groups ({})", c.groups),
                input_shape,
            ));
        }
        Layer::<B>::output_shape(self, input_shape)?;
        let k = spatial.kernel;
        let mut shape: Vec<usize> = if RANK == 1 { vec![k[1]] } else { k.to_vec() };
        shape.extend([ch / c.groups, c.filters]);
        let (kernel, bias) =
            c.options
                .build_kernel_bias::<B>(&c.kernel_initializer, &shape, c.filters, ctx)?;
        (self.kernel, self.bias) = (Some(kernel), bias);
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (name, spatial) = (&self.config.options.name, self.config.window.spatial());
        let (hw, _) = spatial.split(name, input_shape, self.in_channels())?;
        let (out, _) = spatial.window(name, hw, input_shape)?;
        Ok(spatial.join(out, self.config.filters))
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let (name, spatial) = (&self.config.options.name, self.config.window.spatial());
        let kernel = &ctx.read(built_weight(&self.kernel, name)?)?;
        let c_in = self.in_channels().unwrap_or(0);
        let bias = ctx.read_opt(&self.bias)?;
        let b = bias.as_ref().map(Tensor::inner);
        if RANK == 2 && spatial.channels_last() {
            // Keras' layouts straight to the engine: no permutes, the ReLU fused.
            spatial.check_input(name, &x.shape(), c_in)?;
            let x = x.to_dtype(kernel.dtype())?;
            let s = x.shape();
            let (_, pads) = spatial.window(name, [s[1], s[2]], &s)?;
            let p = spatial.params(pads, self.config.groups);
            let relu = self.config.options.relu_fusable()?;
            let y = B::conv2d_nhwc(x.inner(), kernel.inner(), b, p, relu)?;
            return (self.config.options).finish_channels_last(Tensor::new(y), relu, ctx);
        }
        let (xs, pads) = spatial.conv_input(name, x, kernel, c_in)?;
        // Keras [kh, kw, in/g, out] -> engine [out, in/g, kh, kw].
        let k4 = if RANK == 1 {
            let ks = kernel.shape();
            kernel.reshape_to(&[1, ks[0], ks[1], ks[2]])?
        } else {
            kernel.clone()
        };
        let w = k4.permute(&[3, 2, 0, 1])?;
        let p = spatial.params(pads, self.config.groups);
        let y = Tensor::new(B::conv2d_bias(xs.inner(), w.inner(), b, p)?);
        self.config.options.finish(&spatial, y, ctx)
    }
}
