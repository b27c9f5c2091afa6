//! Core layers: `Input`, `Dense`, `Activation`, `Flatten`, `Reshape`.

use super::config::{
    config_methods, config_setters, layer_config, layer_identity, shape_preserving, to_json,
    trainable_config,
};
use super::weights::{named_weights, weight_penalties};
use super::{cfg_field, check_input, BuildContext, CallContext, Layer, Weight};
use crate::activations::{Activation, ActivationSpec};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::regularizers::Regularizer;
use crate::tensor::Tensor;

/// Declares the shape of a model's input (batch axis excluded), like `keras.Input(shape=...)`.
///
/// ```
/// use stratanet::{layers::{Dense, Input}, Sequential, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut model = Sequential::<B>::new();
/// model.add(Input::new(&[8]))?;
/// model.add(Dense::new(4))?;
/// assert_eq!(model.output_shape()?, vec![4]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Input {
    config: InputConfig,
}

layer_config! {
    /// The hyper-parameters of [`Input`] (Keras' `InputLayer`).
    pub struct InputConfig for "InputLayer" {
        /// Per-sample shape (required).
        shape: Vec<usize> = Vec::new(),
    }
    check(config) { super::cfg_shape(config, "InputLayer", "shape", 1).map(|_| ()) }
}

impl Input {
    /// An input of the given per-sample shape; its name (set by [`Input::name`]) is the one
    /// `fit` and `predict` accept for it.
    pub fn new(shape: &[usize]) -> Self {
        Self::with_config(InputConfig {
            shape: shape.to_vec(),
            ..Default::default()
        })
    }

    /// The declared per-sample shape.
    pub fn shape(&self) -> &[usize] {
        &self.config.shape
    }
    config_methods!(InputConfig);
}

impl<B: Backend> Layer<B> for Input {
    layer_identity!("InputLayer");
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let c = &self.config;
        if input_shape != c.shape.as_slice() {
            return Err(Error::shape(
                &c.name,
                "input",
                format!("per-sample shape {:?}", c.shape),
                input_shape,
            ));
        }
        Ok(c.shape.clone())
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        check_input(&self.config.name, x, &self.config.shape)?;
        Ok(x.clone())
    }
    fn get_config(&self) -> serde_json::Value {
        to_json(&self.config)
    }
    fn declared_input_shape(&self) -> Option<Vec<usize>> {
        Some(self.config.shape.clone())
    }
}

/// Densely connected layer: `activation(x @ kernel + bias)` over the last axis.
///
/// The input size is inferred when the layer is built, so `Dense::new(64)` is all it needs.
///
/// ```
/// use stratanet::{layers::{Dense, Input}, Sequential, Tensor, DefaultBackend as B};
/// use stratanet::initializers::Initializer;
/// # fn main() -> stratanet::Result<()> {
/// let mut model = Sequential::<B>::new();
/// model.add(Input::new(&[2]))?;
/// model.add(Dense::new(1).kernel_initializer(Initializer::Ones).activation("relu"))?;
/// let x = Tensor::<B>::from_vec(vec![1.0f32, 2.0, -3.0, 1.0], &[2, 2])?;
/// // [1 + 2, relu(-3 + 1)] with a kernel of ones and a zero bias
/// assert_eq!(model.predict_with(&x, 32)?.to_vec_f32()?, vec![3.0, 0.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Dense<B: Backend> {
    config: DenseConfig,
    resolved: Activation,
    kernel: Option<Tensor<B>>,
    bias: Option<Tensor<B>>,
}

layer_config! {
    /// The hyper-parameters of [`Dense`], as its config JSON holds them (Keras' names and
    /// defaults).
    pub struct DenseConfig for "Dense" {
        /// Number of output units (required).
        units: usize = 0,
        /// Activation of the output.
        activation: ActivationSpec = ActivationSpec::Known(Activation::Linear),
        /// Whether to add a bias.
        use_bias: bool = true,
        /// Kernel initialiser.
        kernel_initializer: Initializer = Initializer::GlorotUniform,
        /// Bias initialiser.
        bias_initializer: Initializer = Initializer::Zeros,
        /// Penalty on the kernel.
        kernel_regularizer: Option<Regularizer> = None,
        /// Penalty on the bias.
        bias_regularizer: Option<Regularizer> = None,
        /// Penalty on the output.
        activity_regularizer: Option<Regularizer> = None,
        /// Whether the weights are trained.
        trainable: bool = true,
    }
    check(config) { super::cfg_size(config, "Dense", "units").map(|_| ()) }
}

impl<B: Backend> Dense<B> {
    /// A layer with `units` outputs, linear activation, a bias, Glorot-uniform kernel.
    pub fn new(units: usize) -> Self {
        Self::with_config(DenseConfig {
            units,
            ..DenseConfig::default()
        })
    }

    config_methods!(DenseConfig, |config| Self {
        resolved: config.activation.resolve().unwrap_or(Activation::Linear),
        config,
        kernel: None,
        bias: None,
    });

    /// Activation applied to the output (a name like `"relu"` or an [`Activation`]).
    /// An unknown name is reported when the layer is added to a model.
    pub fn activation(mut self, a: impl Into<ActivationSpec>) -> Self {
        self.config.activation = a.into();
        if let Ok(r) = self.config.activation.resolve() {
            self.resolved = r;
        }
        self
    }

    config_setters! {
        /// Whether to add a bias (default `true`).
        use_bias: bool,
        /// Kernel initialiser (default Glorot uniform).
        kernel_initializer: Initializer,
        /// Bias initialiser (default zeros).
        bias_initializer: Initializer,
        /// Penalty on the kernel, added to the training loss.
        kernel_regularizer: Option<Regularizer>,
        /// Penalty on the bias, added to the training loss.
        bias_regularizer: Option<Regularizer>,
        /// Penalty on the layer's output, recorded in the [`CallContext`] by `call` (the
        /// training loop adds it to the loss).
        activity_regularizer: Option<Regularizer>,
    }

    /// Number of output units.
    pub fn units(&self) -> usize {
        self.config.units
    }
    /// The kernel `[in, units]`, once built.
    pub fn kernel(&self) -> Option<&Tensor<B>> {
        self.kernel.as_ref()
    }
    /// The bias `[units]`, once built (and if used).
    pub fn bias(&self) -> Option<&Tensor<B>> {
        self.bias.as_ref()
    }
}

impl<B: Backend> Layer<B> for Dense<B> {
    layer_identity!("Dense", built: |l| l.kernel.is_some());
    fn validate(&self) -> Result<()> {
        super::check_positive(&self.config.name, "units", self.config.units)?;
        self.config.activation.resolve().map(|_| ())
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        self.resolved = self.config.activation.resolve()?;
        super::check_min_rank(&self.config.name, input_shape, 1, "per sample")?;
        let in_dim = input_shape[input_shape.len() - 1];
        let kernel = self.config.kernel_initializer.init::<B>(
            &[in_dim, self.config.units],
            ctx.dtype,
            ctx.device,
            &mut ctx.rng,
        )?;
        self.kernel = Some(kernel.to_param()?);
        if self.config.use_bias {
            let bias = self.config.bias_initializer.init::<B>(
                &[self.config.units],
                ctx.dtype,
                ctx.device,
                &mut ctx.rng,
            )?;
            self.bias = Some(bias.to_param()?);
        }
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        super::check_min_rank(&self.config.name, input_shape, 1, "per sample")?;
        if let Some(k) = &self.kernel {
            let in_dim = k.shape()[0];
            if input_shape[input_shape.len() - 1] != in_dim {
                return Err(Error::shape(
                    &self.config.name,
                    "input",
                    format!("last dimension {in_dim}"),
                    input_shape,
                ));
            }
        }
        let mut out = input_shape.to_vec();
        *out.last_mut().unwrap_or(&mut 0) = self.config.units;
        Ok(out)
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let kernel = self.kernel.as_ref().ok_or_else(|| Error::NotReady {
            op: format!("{}.call", self.config.name),
            needed: "built".into(),
            hint: "add it to a model with a known input shape, or call build".into(),
        })?;
        let kernel = &ctx.read(kernel)?;
        let in_dim = kernel.shape()[0];
        let s = x.shape();
        if s.len() < 2 || s[s.len() - 1] != in_dim {
            return Err(Error::shape(
                &self.config.name,
                "input",
                format!("last dimension {in_dim}"),
                &s,
            ));
        }
        let x = x.to_dtype(kernel.dtype())?;
        let bias = ctx.read_opt(&self.bias)?;
        // One fused call where the engine has one (libtorch's `addmm`; candle's kernel,
        // with the ReLU inside).
        let relu = self.resolved == Activation::Relu;
        let affine = |x2: &Tensor<B>| match (&bias, relu) {
            (b, true) => x2.dense_relu(kernel, b.as_ref()),
            (Some(b), false) => x2.matmul_bias(kernel, b),
            (None, false) => x2.matmul(kernel),
        };
        let y = if s.len() == 2 {
            affine(&x)?
        } else {
            let flat = x.reshape(&[-1, in_dim as isize])?;
            let mut out_shape = s.clone();
            *out_shape.last_mut().unwrap_or(&mut 0) = self.config.units;
            affine(&flat)?.reshape_to(&out_shape)?
        };
        let y = if relu { y } else { self.resolved.apply(&y)? };
        super::conv::record_activity(&self.config.activity_regularizer, &y, ctx)?;
        Ok(y)
    }
    fn weights(&self) -> Vec<Weight<B>> {
        named_weights(
            self.config.trainable,
            &[("kernel", &self.kernel), ("bias", &self.bias)],
        )
    }
    trainable_config!(trainable only);
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>> {
        weight_penalties(&[
            (&self.config.kernel_regularizer, &self.kernel),
            (&self.config.bias_regularizer, &self.bias),
        ])
    }
    fn get_config(&self) -> serde_json::Value {
        to_json(&self.config)
    }
}

/// Applies an activation function, like `keras.layers.Activation("relu")`.
#[derive(Debug, Clone)]
pub struct ActivationLayer {
    config: ActivationConfig,
}

layer_config! {
    /// The hyper-parameters of [`ActivationLayer`] (Keras' `Activation`).
    pub struct ActivationConfig for "Activation" {
        /// The function applied (required); an unknown name is written as `null`.
        #[serde(serialize_with = "super::config::resolved_or_null")]
        activation: ActivationSpec = ActivationSpec::Known(Activation::Linear),
    }
    check(config) { cfg_field(config, "Activation", "activation").map(|_| ()) }
}

impl ActivationLayer {
    /// A layer applying `activation` (a name or an [`Activation`]).
    pub fn new(activation: impl Into<ActivationSpec>) -> Self {
        Self::with_config(ActivationConfig {
            activation: activation.into(),
            ..Default::default()
        })
    }
    config_methods!(ActivationConfig);
}

impl<B: Backend> Layer<B> for ActivationLayer {
    layer_identity!("Activation");
    fn validate(&self) -> Result<()> {
        self.config.activation.resolve().map(|_| ())
    }
    shape_preserving!();
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        super::check_min_rank(&self.config.name, &x.shape(), 2, "batch, ...")?;
        self.config.activation.resolve()?.apply(x)
    }
}

/// Flattens each sample: `[batch, d1, d2, ...] -> [batch, d1 * d2 * ...]`.
#[derive(Debug, Clone, Default)]
pub struct Flatten {
    config: FlattenConfig,
}

layer_config! {
    /// The hyper-parameters of [`Flatten`]: its name only.
    pub struct FlattenConfig for "Flatten" {}
}

impl Flatten {
    /// A flatten layer.
    pub fn new() -> Self {
        Self::default()
    }
    config_methods!(FlattenConfig);
}

impl<B: Backend> Layer<B> for Flatten {
    layer_identity!("Flatten");
    fn build(&mut self, _input_shape: &[usize], _ctx: &mut BuildContext) -> Result<()> {
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(vec![crate::limits::checked_numel(
            &self.config.name,
            "input",
            input_shape,
        )?])
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        super::check_min_rank(&self.config.name, &x.shape(), 1, "batch, ...")?;
        if x.rank() == 1 {
            return x.unsqueeze(1);
        }
        x.flatten_from_1()
    }
    fn get_config(&self) -> serde_json::Value {
        to_json(&self.config)
    }
}

/// Reshapes each sample to `target_shape` (batch axis excluded; one entry may be -1).
#[derive(Debug, Clone)]
pub struct Reshape {
    config: ReshapeConfig,
}

layer_config! {
    /// The hyper-parameters of [`Reshape`].
    pub struct ReshapeConfig for "Reshape" {
        /// Per-sample target shape, one entry may be -1 (required).
        target_shape: Vec<isize> = Vec::new(),
    }
    check(config) {
        let label = super::cfg_label(config, "Reshape");
        let t: Vec<usize> = cfg_field(config, "Reshape", "target_shape")?
            .as_array()
            .ok_or_else(|| Error::config("Reshape.target_shape", "expected a list of integers"))?
            .iter()
            .map(|v| match v.as_i64() {
                Some(-1) => Ok(1),
                _ => crate::limits::size_value(v, &label, "target_shape", 1),
            })
            .collect::<Result<_>>()?;
        crate::limits::checked_numel(&label, "target_shape", &t).map(|_| ())
    }
}

impl Reshape {
    /// A reshape to `target_shape`, like `keras.layers.Reshape((4, 4))`.
    pub fn new(target_shape: &[isize]) -> Self {
        Self::with_config(ReshapeConfig {
            target_shape: target_shape.to_vec(),
            ..Default::default()
        })
    }
    config_methods!(ReshapeConfig);

    fn resolve(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let n = crate::limits::checked_numel(&self.config.name, "input", input_shape)?;
        let known_dims: Vec<usize> = self
            .config
            .target_shape
            .iter()
            .filter(|&&d| d >= 0)
            .map(|&d| d as usize)
            .collect();
        let known = crate::limits::checked_numel(&self.config.name, "target_shape", &known_dims)?;
        let holes = self.config.target_shape.iter().filter(|&&d| d < 0).count();
        let err = || {
            Error::shape(
                &self.config.name,
                "input",
                format!(
                    "{} elements per sample to fit target_shape {:?}",
                    n, self.config.target_shape
                ),
                input_shape,
            )
        };
        if holes > 1 || self.config.target_shape.iter().any(|&d| d < -1) {
            return Err(Error::invalid(
                &self.config.name,
                "target_shape",
                format!("at most one -1 entry, got {:?}", self.config.target_shape),
            ));
        }
        let out: Vec<usize> = if holes == 1 {
            if known == 0 || n % known != 0 {
                return Err(err());
            }
            self.config
                .target_shape
                .iter()
                .map(|&d| if d < 0 { n / known } else { d as usize })
                .collect()
        } else {
            self.config
                .target_shape
                .iter()
                .map(|&d| d as usize)
                .collect()
        };
        if crate::limits::checked_numel(&self.config.name, "target_shape", &out)? != n {
            return Err(err());
        }
        Ok(out)
    }
}

impl<B: Backend> Layer<B> for Reshape {
    layer_identity!("Reshape");
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildContext) -> Result<()> {
        self.resolve(input_shape).map(|_| ())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        self.resolve(input_shape)
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        let s = x.shape();
        super::check_min_rank(&self.config.name, &s, 1, "batch, ...")?;
        let mut target = vec![s[0]];
        target.extend(self.resolve(&s[1..])?);
        x.reshape_to(&target)
    }
    fn get_config(&self) -> serde_json::Value {
        to_json(&self.config)
    }
}
