//! Normalization layers: `BatchNormalization`, `LayerNormalization`.

use super::config::{
    config_methods, config_setters, layer_config, layer_identity, to_json, trainable_config,
};
use super::conv::not_built;
use super::weights::{named_weights, push_weight, weight_penalties};
use super::{BuildContext, CallContext, Layer, Weight};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::regularizers::Regularizer;
use crate::tensor::Tensor;
use serde::{Deserialize, Deserializer};

/// Resolves a Keras feature axis (negative counts from the end; 0 is the batch axis) for
/// an input of full rank `rank` (batch included).
fn feature_axis(layer: &str, axis: isize, per_sample: &[usize]) -> Result<usize> {
    let rank = per_sample.len() as isize + 1;
    let a = if axis < 0 { axis + rank } else { axis };
    if a < 1 || a >= rank {
        return Err(Error::shape(
            layer,
            "input",
            format!("a rank that has feature axis {axis} (not the batch axis)"),
            per_sample,
        ));
    }
    Ok(a as usize)
}

/// Shape `[1, .., c, .., 1]` of rank `rank` with `c` at `axis`.
fn param_shape(rank: usize, axis: usize, c: usize) -> Vec<usize> {
    let mut s = vec![1; rank];
    s[axis] = c;
    s
}

/// `(x - mean) / sqrt(var + eps) * gamma + beta`, parameters broadcast along `axis`.
fn normalize<B: Backend>(
    x: &Tensor<B>,
    mean: &Tensor<B>,
    var: &Tensor<B>,
    gamma: Option<&Tensor<B>>,
    beta: Option<&Tensor<B>>,
    eps: f64,
    bshape: &[usize],
) -> Result<Tensor<B>> {
    let inv = var.add_scalar(eps)?.sqrt()?.recip()?;
    let mut y = x.sub(mean)?.mul(&inv)?;
    if let Some(g) = gamma {
        y = y.mul(&g.reshape_to(bshape)?)?;
    }
    if let Some(b) = beta {
        y = y.add(&b.reshape_to(bshape)?)?;
    }
    Ok(y)
}

/// Batch normalization (Keras `BatchNormalization`): normalises each feature over the batch
/// (and every other axis) in training, with the moving statistics at inference.
///
/// Weights: `gamma` and `beta` (trainable, when `scale`/`center`), `moving_mean` and
/// `moving_variance` (non-trainable). In a training call the moving statistics are updated
/// in place: `moving = moving * momentum + batch * (1 - momentum)` with the biased batch
/// variance, as Keras does (PyTorch's `running_var` uses the unbiased one and
/// `momentum = 1 - keras_momentum`). A frozen layer (`set_trainable(false)`) runs in
/// inference mode, as in Keras. On 64 channels it has 256 parameters, 128 non-trainable.
///
/// ```
/// use stratanet::layers::{BatchNormalization, Layer, BuildContext, CallContext};
/// use stratanet::{Tensor, DType, Device, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut bn = BatchNormalization::<B>::new().momentum(0.5).epsilon(0.0);
/// bn.build(&[1], &mut BuildContext::new(Device::Cpu, DType::F32, 0))?;
/// let x = Tensor::<B>::from_vec(vec![1.0f32, 3.0], &[2, 1])?;
/// // training: batch mean 2, biased variance 1
/// let y = bn.call(&x, &mut CallContext::training(0))?;
/// assert_eq!(y.to_vec_f32()?, vec![-1.0, 1.0]);
/// // moving mean 0 * 0.5 + 2 * 0.5 = 1, moving variance 1 * 0.5 + 1 * 0.5 = 1
/// let w = bn.weights();
/// assert_eq!((w[2].name.as_str(), w[2].trainable), ("moving_mean", false));
/// assert_eq!(w[2].value.to_vec_f32()?, vec![1.0]);
/// // inference uses the moving statistics: (3 - 1) / 1
/// let z = bn.call(&x, &mut CallContext::inference())?;
/// assert_eq!(z.to_vec_f32()?, vec![0.0, 2.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct BatchNormalization<B: Backend> {
    config: BatchNormalizationConfig,
    gamma: Option<Tensor<B>>,
    beta: Option<Tensor<B>>,
    moving_mean: Option<Tensor<B>>,
    moving_variance: Option<Tensor<B>>,
}

layer_config! {
    /// The hyper-parameters of [`BatchNormalization`] (Keras' names and defaults).
    pub struct BatchNormalizationConfig for "BatchNormalization" {
        /// The feature axis (read from an integer or a one-element list).
        #[serde(deserialize_with = "single_axis")]
        axis: isize = -1,
        /// Momentum of the moving statistics.
        momentum: f64 = 0.99,
        /// Added to the variance.
        epsilon: f64 = 1e-3,
        /// Whether to add the `beta` offset.
        center: bool = true,
        /// Whether to multiply by `gamma`.
        scale: bool = true,
        /// Initialiser of `beta`.
        beta_initializer: Initializer = Initializer::Zeros,
        /// Initialiser of `gamma`.
        gamma_initializer: Initializer = Initializer::Ones,
        /// Penalty on `beta`.
        beta_regularizer: Option<Regularizer> = None,
        /// Penalty on `gamma`.
        gamma_regularizer: Option<Regularizer> = None,
        /// Whether `gamma` and `beta` are trained.
        trainable: bool = true,
    }
    check(config) {
        read_single_axis(config, "BatchNormalization", "only one feature axis is supported").map(|_| ())
    }
}

impl<B: Backend> Default for BatchNormalization<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> BatchNormalization<B> {
    /// Keras defaults: axis -1, momentum 0.99, epsilon 1e-3, center and scale.
    pub fn new() -> Self {
        Self::with_config(BatchNormalizationConfig::default())
    }
    config_setters! {
        /// The feature axis (default -1; 1 for `channels_first` images).
        axis: isize,
        /// Momentum of the moving statistics (default 0.99).
        momentum: f64,
        /// Added to the variance (default 1e-3).
        epsilon: f64,
        /// Whether to add the `beta` offset (default `true`).
        center: bool,
        /// Whether to multiply by `gamma` (default `true`).
        scale: bool,
        /// Initialiser of `beta` (default zeros).
        beta_initializer: Initializer,
        /// Initialiser of `gamma` (default ones).
        gamma_initializer: Initializer,
        /// Penalty on `beta`.
        beta_regularizer: Option<Regularizer>,
        /// Penalty on `gamma`.
        gamma_regularizer: Option<Regularizer>,
    }

    fn features(&self) -> Option<usize> {
        self.moving_mean.as_ref().map(|m| m.numel())
    }
    config_methods!(BatchNormalizationConfig, |config| Self {
        config,
        gamma: None,
        beta: None,
        moving_mean: None,
        moving_variance: None,
    });
}

/// The `axis` of a normalisation config: an integer or a one-element list (Keras writes
/// both); `several` is the error message for a longer list.
fn read_single_axis(
    config: &serde_json::Value,
    layer: &str,
    several: &str,
) -> Result<Option<isize>> {
    let Some(a) = config.get("axis") else {
        return Ok(None);
    };
    if let Some(a) = a.as_i64() {
        return Ok(Some(a as isize));
    }
    let v: Vec<isize> = serde_json::from_value(a.clone())
        .map_err(|_| Error::config(format!("{layer}.axis"), "expected an integer"))?;
    match v.as_slice() {
        [a] => Ok(Some(*a)),
        _ => Err(Error::config(format!("{layer}.axis"), several)),
    }
}

/// Deserializes an `axis` checked by [`read_single_axis`]: an integer or `[integer]`.
fn single_axis<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<isize, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Axis {
        One(isize),
        List([isize; 1]),
    }
    Ok(match Axis::deserialize(d)? {
        Axis::One(a) | Axis::List([a]) => a,
    })
}

fn check_epsilon(layer: &str, eps: f64) -> Result<()> {
    if !(eps >= 0.0 && eps.is_finite()) {
        return Err(Error::invalid(
            layer,
            "epsilon",
            format!("must be a finite number >= 0, got {eps}"),
        ));
    }
    Ok(())
}

/// Checks the batch `x` against the built feature count along `axis`; returns the axis.
fn check_features<B: Backend>(
    layer: &str,
    x: &Tensor<B>,
    axis: isize,
    features: usize,
) -> Result<usize> {
    let s = x.shape();
    let bad = || {
        Error::shape(
            layer,
            "input",
            format!("[batch, ...] with {features} features on axis {axis}"),
            &s,
        )
    };
    if s.len() < 2 {
        return Err(bad());
    }
    let a = feature_axis(layer, axis, &s[1..]).map_err(|_| bad())?;
    if s[a] != features {
        return Err(bad());
    }
    Ok(a)
}

impl<B: Backend> Layer<B> for BatchNormalization<B> {
    layer_identity!("BatchNormalization", built: |l| l.moving_mean.is_some());
    fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.config.momentum) {
            return Err(Error::invalid(
                &self.config.name,
                "momentum",
                format!("must be in [0, 1], got {}", self.config.momentum),
            ));
        }
        check_epsilon(&self.config.name, self.config.epsilon)
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        Layer::<B>::validate(self)?;
        let a = feature_axis(&self.config.name, self.config.axis, input_shape)?;
        let c = input_shape[a - 1];
        let mut init = |i: &Initializer| -> Result<Tensor<B>> {
            i.init::<B>(&[c], ctx.dtype, ctx.device, &mut ctx.rng)?
                .to_param()
        };
        if self.config.scale {
            self.gamma = Some(init(&self.config.gamma_initializer)?);
        }
        if self.config.center {
            self.beta = Some(init(&self.config.beta_initializer)?);
        }
        self.moving_mean = Some(init(&Initializer::Zeros)?);
        self.moving_variance = Some(init(&Initializer::Ones)?);
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let a = feature_axis(&self.config.name, self.config.axis, input_shape)?;
        if let Some(c) = self.features() {
            if input_shape[a - 1] != c {
                return Err(Error::shape(
                    &self.config.name,
                    "input",
                    format!("{c} features on axis {}", self.config.axis),
                    input_shape,
                ));
            }
        }
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let (mm, mv) = match (&self.moving_mean, &self.moving_variance) {
            (Some(m), Some(v)) => (m, v),
            _ => return Err(not_built(&self.config.name)),
        };
        let c = mm.numel();
        let a = check_features(&self.config.name, x, self.config.axis, c)?;
        let x = x.to_dtype(mm.dtype())?;
        let rank = x.rank();
        let bshape = param_shape(rank, a, c);
        let (gamma, beta) = (self.gamma.as_ref(), self.beta.as_ref());
        if !(ctx.training && self.config.trainable) {
            let mean = mm.reshape_to(&bshape)?;
            let var = mv.reshape_to(&bshape)?;
            return normalize(&x, &mean, &var, gamma, beta, self.config.epsilon, &bshape);
        }
        let axes: Vec<isize> = (0..rank).filter(|&i| i != a).map(|i| i as isize).collect();
        let mean = x.mean(&axes, true)?;
        let var = x.sub(&mean)?.square()?.mean(&axes, true)?;
        let y = normalize(&x, &mean, &var, gamma, beta, self.config.epsilon, &bshape)?;
        let m = self.config.momentum;
        for (moving, batch) in [(mm, &mean), (mv, &var)] {
            let batch = batch.detach().reshape_to(&[c])?;
            let updated = moving
                .detach()
                .mul_scalar(m)?
                .add(&batch.mul_scalar(1.0 - m)?)?;
            moving.assign(&updated)?;
        }
        Ok(y)
    }
    fn weights(&self) -> Vec<Weight<B>> {
        let mut w = Vec::new();
        for (name, t, trainable) in [
            ("gamma", &self.gamma, self.config.trainable),
            ("beta", &self.beta, self.config.trainable),
            ("moving_mean", &self.moving_mean, false),
            ("moving_variance", &self.moving_variance, false),
        ] {
            push_weight(&mut w, name, t, trainable);
        }
        w
    }
    trainable_config!(trainable only);
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>> {
        weight_penalties(&[
            (&self.config.gamma_regularizer, &self.gamma),
            (&self.config.beta_regularizer, &self.beta),
        ])
    }
    fn get_config(&self) -> serde_json::Value {
        to_json(&self.config)
    }
}

/// Layer normalization (Keras `LayerNormalization`): normalises each sample over the
/// feature axis (default -1) with its own mean and (biased) variance, then scales by
/// `gamma` and offsets by `beta` (per feature). Same in training and inference.
#[derive(Debug)]
pub struct LayerNormalization<B: Backend> {
    config: LayerNormalizationConfig,
    gamma: Option<Tensor<B>>,
    beta: Option<Tensor<B>>,
    features: Option<usize>,
}

layer_config! {
    /// The hyper-parameters of [`LayerNormalization`] (Keras' names and defaults).
    pub struct LayerNormalizationConfig for "LayerNormalization" {
        /// The normalised axis (read from an integer or a one-element list).
        #[serde(deserialize_with = "single_axis")]
        axis: isize = -1,
        /// Added to the variance.
        epsilon: f64 = 1e-3,
        /// Whether to add the `beta` offset.
        center: bool = true,
        /// Whether to multiply by `gamma`.
        scale: bool = true,
        /// Initialiser of `beta`.
        beta_initializer: Initializer = Initializer::Zeros,
        /// Initialiser of `gamma`.
        gamma_initializer: Initializer = Initializer::Ones,
        /// Whether `gamma` and `beta` are trained.
        trainable: bool = true,
    }
    check(config) {
        read_single_axis(config, "LayerNormalization", "only one axis is supported").map(|_| ())
    }
}

impl<B: Backend> Default for LayerNormalization<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> LayerNormalization<B> {
    /// Keras defaults: axis -1, epsilon 1e-3, center and scale.
    pub fn new() -> Self {
        Self::with_config(LayerNormalizationConfig::default())
    }
    config_setters! {
        /// The normalised axis (default -1).
        axis: isize,
        /// Added to the variance (default 1e-3).
        epsilon: f64,
        /// Whether to add the `beta` offset (default `true`).
        center: bool,
        /// Whether to multiply by `gamma` (default `true`).
        scale: bool,
        /// Initialiser of `beta` (default zeros).
        beta_initializer: Initializer,
        /// Initialiser of `gamma` (default ones).
        gamma_initializer: Initializer,
    }
    config_methods!(LayerNormalizationConfig, |config| Self {
        config,
        gamma: None,
        beta: None,
        features: None,
    });
}

impl<B: Backend> Layer<B> for LayerNormalization<B> {
    layer_identity!("LayerNormalization", built: |l| l.features.is_some());
    fn validate(&self) -> Result<()> {
        check_epsilon(&self.config.name, self.config.epsilon)
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        Layer::<B>::validate(self)?;
        let a = feature_axis(&self.config.name, self.config.axis, input_shape)?;
        let c = input_shape[a - 1];
        let mut init = |i: &Initializer| -> Result<Tensor<B>> {
            i.init::<B>(&[c], ctx.dtype, ctx.device, &mut ctx.rng)?
                .to_param()
        };
        if self.config.scale {
            self.gamma = Some(init(&self.config.gamma_initializer)?);
        }
        if self.config.center {
            self.beta = Some(init(&self.config.beta_initializer)?);
        }
        self.features = Some(c);
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let a = feature_axis(&self.config.name, self.config.axis, input_shape)?;
        if let Some(c) = self.features {
            if input_shape[a - 1] != c {
                return Err(Error::shape(
                    &self.config.name,
                    "input",
                    format!("{c} features on axis {}", self.config.axis),
                    input_shape,
                ));
            }
        }
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        let c = self.features.ok_or_else(|| not_built(&self.config.name))?;
        let a = check_features(&self.config.name, x, self.config.axis, c)?;
        let x = match self.gamma.as_ref().or(self.beta.as_ref()) {
            Some(p) => x.to_dtype(p.dtype())?,
            None => x.clone(),
        };
        let bshape = param_shape(x.rank(), a, c);
        let mean = x.mean(&[a as isize], true)?;
        let var = x.sub(&mean)?.square()?.mean(&[a as isize], true)?;
        normalize(
            &x,
            &mean,
            &var,
            self.gamma.as_ref(),
            self.beta.as_ref(),
            self.config.epsilon,
            &bshape,
        )
    }
    fn weights(&self) -> Vec<Weight<B>> {
        named_weights(
            self.config.trainable,
            &[("gamma", &self.gamma), ("beta", &self.beta)],
        )
    }
    trainable_config!();
}
