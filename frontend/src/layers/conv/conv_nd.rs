//! `Conv1D` and `Conv2D`: the generic [`Conv`] over one or two spatial axes.

use super::{common::*, options::ConvOptions, spatial::*, Size2};
use crate::activations::ActivationSpec;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layers::{BuildContext, CallContext, Layer, Weight};
use crate::regularizers::Regularizer;
use crate::tensor::Tensor;
use serde_json::json;

/// A 1-D or 2-D convolution (`RANK` 1 or 2); use the aliases [`Conv1D`] and [`Conv2D`].
///
/// The kernel is stored in Keras' layout `[kh, kw, in / groups, filters]` (`[k, in / groups,
/// filters]` for 1-D) and the bias as `[filters]`.
#[derive(Debug)]
pub struct Conv<B: Backend, const RANK: usize> {
    filters: usize,
    groups: usize,
    spatial: Spatial,
    opts: ConvOptions,
    kernel: Option<Tensor<B>>,
    bias: Option<Tensor<B>>,
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
/// let y = model.predict(&x, 1)?.to_vec_f32()?;
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
        Self {
            filters,
            groups: 1,
            spatial: Spatial::new(RANK, kernel),
            opts: ConvOptions::default(),
            kernel: None,
            bias: None,
        }
    }

    conv_builders!(kernel_initializer, kernel_regularizer);

    /// Grouped convolution: input and output channels split into `groups` (default 1).
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }
    /// Number of output channels.
    pub fn filters(&self) -> usize {
        self.filters
    }
    /// The kernel in Keras' layout, once built.
    pub fn kernel(&self) -> Option<&Tensor<B>> {
        self.kernel.as_ref()
    }
    /// The bias `[filters]`, once built (and if used).
    pub fn bias(&self) -> Option<&Tensor<B>> {
        self.bias.as_ref()
    }

    fn class(&self) -> &'static str {
        if RANK == 1 {
            "Conv1D"
        } else {
            "Conv2D"
        }
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config or unknown names.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let class = if RANK == 1 { "Conv1D" } else { "Conv2D" };
        let filters = crate::layers::cfg_size(config, class, "filters")?;
        let mut l = Self::with_rank(filters, Size2([1, 1]));
        l.spatial = Spatial::read_config(RANK, config, class, "kernel_size")?;
        l.groups = crate::layers::cfg_opt_size(config, class, "groups")?.unwrap_or(1);
        l.opts.read_config(config, "kernel")?;
        Ok(l)
    }

    fn in_channels(&self) -> Option<usize> {
        self.kernel.as_ref().map(|k| k.shape()[RANK] * self.groups)
    }
}

impl<B: Backend, const RANK: usize> Layer<B> for Conv<B, RANK> {
    fn class_name(&self) -> &'static str {
        self.class()
    }
    kernel_bias_layer_methods!();
    fn validate(&self) -> Result<()> {
        let name = &self.opts.name;
        if self.filters == 0 {
            return Err(Error::invalid(name, "filters", "must be at least 1, got 0"));
        }
        if self.groups == 0 || self.filters % self.groups != 0 {
            return Err(Error::invalid(
                name,
                "groups",
                format!(
                    "must be positive and divide filters ({}), got {}",
                    self.filters, self.groups
                ),
            ));
        }
        self.spatial.validate(name, RANK == 1)?;
        self.opts.activation.resolve().map(|_| ())
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        let (_, c) = self.spatial.split(&self.opts.name, input_shape, None)?;
        if c % self.groups != 0 {
            return Err(Error::shape(
                &self.opts.name,
                "input",
                format!("a channel count divisible by groups ({})", self.groups),
                input_shape,
            ));
        }
        Layer::<B>::output_shape(self, input_shape)?;
        let k = self.spatial.kernel;
        let mut shape: Vec<usize> = if RANK == 1 { vec![k[1]] } else { k.to_vec() };
        shape.extend([c / self.groups, self.filters]);
        let (kernel, bias) = self
            .opts
            .build_kernel_bias::<B>(&shape, self.filters, ctx)?;
        (self.kernel, self.bias) = (Some(kernel), bias);
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (hw, _) = self
            .spatial
            .split(&self.opts.name, input_shape, self.in_channels())?;
        let (out, _) = self.spatial.window(&self.opts.name, hw, input_shape)?;
        Ok(self.spatial.join(out, self.filters))
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let kernel = built_weight(&self.kernel, &self.opts.name)?;
        let c_in = self.in_channels().unwrap_or(0);
        let (xs, pads) = self.spatial.conv_input(&self.opts.name, x, kernel, c_in)?;
        // Keras [kh, kw, in/g, out] -> engine [out, in/g, kh, kw].
        let k4 = if RANK == 1 {
            let ks = kernel.shape();
            kernel.reshape_to(&[1, ks[0], ks[1], ks[2]])?
        } else {
            kernel.clone()
        };
        let w = k4.permute(&[3, 2, 0, 1])?;
        let p = self.spatial.params(pads, self.groups);
        let b = self.bias.as_ref().map(Tensor::inner);
        let y = Tensor::new(B::conv2d_bias(xs.inner(), w.inner(), b, p)?);
        self.opts.finish(&self.spatial, y, ctx)
    }
    fn get_config(&self) -> serde_json::Value {
        let mut c = json!({"filters": self.filters, "groups": self.groups});
        self.spatial.write_config(&mut c, "kernel_size");
        self.opts.write_config(&mut c, "kernel");
        c
    }
}
