//! Regularisation layers.

use super::config::{
    config_methods, config_setters, layer_config, layer_identity, parse, shape_preserving, to_json,
};
use super::{cfg_f64, CallContext, Layer};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Randomly zeroes a fraction `rate` of inputs during training and scales the rest by
/// `1 / (1 - rate)`; the identity at inference.
///
/// ```
/// use stratanet::{layers::{Dropout, Layer, CallContext}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let d = Dropout::new(0.5);
/// let x = Tensor::<B>::ones(&[4, 1000], stratanet::DType::F32, stratanet::Device::Cpu)?;
/// let y = Layer::<B>::call(&d, &x, &mut CallContext::training(7))?.to_vec_f32()?;
/// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
/// let kept = y.iter().filter(|&&v| v == 2.0).count() as f64 / 4000.0;
/// assert!((kept - 0.5).abs() < 0.05);
/// // inference: identity
/// let z = Layer::<B>::call(&d, &x, &mut CallContext::inference())?;
/// assert_eq!(z.sum_all()?.item()?, 4000.0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Dropout {
    config: DropoutConfig,
}

layer_config! {
    /// The hyper-parameters of [`Dropout`] (Keras' names and defaults).
    pub struct DropoutConfig for "Dropout" {
        /// Fraction of the inputs dropped in training (required).
        rate: f64 = 0.0,
        /// Fixed seed of the masks.
        seed: Option<u64> = None,
    }
    check(config) { cfg_f64(config, "Dropout", "rate").map(|_| ()) }
}

impl Dropout {
    /// Drops a fraction `rate` (in `[0, 1)`) of the inputs in training.
    pub fn new(rate: f64) -> Self {
        Self::with_config(DropoutConfig {
            rate,
            ..Default::default()
        })
    }

    config_setters! {
        /// A fixed seed for this layer's masks (otherwise derived from `fit`'s seed).
        seed: Option<u64>,
    }
    config_methods!(DropoutConfig);
}

impl<B: Backend> Layer<B> for Dropout {
    layer_identity!("Dropout");
    fn validate(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.config.rate) {
            return Err(Error::invalid(
                &self.config.name,
                "rate",
                format!("must be in [0, 1), got {}", self.config.rate),
            ));
        }
        Ok(())
    }
    shape_preserving!();
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        // A layer called outside a model has not been validated: a rate of 1 would
        // otherwise give 0 * inf = NaN.
        Layer::<B>::validate(self)?;
        if !ctx.training || self.config.rate == 0.0 {
            return Ok(x.clone());
        }
        let seed = op_seed(self.config.seed, ctx);
        let u = Tensor::<B>::new(B::uniform(
            &x.shape(),
            0.0,
            1.0,
            seed,
            x.dtype(),
            &x.engine_device(),
        )?);
        let keep = u
            .ge(&u.scalar_like(self.config.rate)?)?
            .to_dtype(x.dtype())?;
        x.mul(&keep)?.mul_scalar(1.0 / (1.0 - self.config.rate))
    }
}

/// The seed of one random op: the layer's own (mixed with the call's) or the call's.
pub(crate) fn op_seed(own: Option<u64>, ctx: &mut CallContext) -> u64 {
    match own {
        Some(s) => crate::random::Rng::derive(s, ctx.next_seed()),
        None => ctx.next_seed(),
    }
}

/// Drops whole channels (feature maps) in training (Keras `SpatialDropout1D/2D`): one
/// keep/drop draw per sample and channel, kept channels scaled by `1 / (1 - rate)`; the
/// identity at inference. `RANK` is the number of spatial axes; use the aliases
/// [`SpatialDropout1D`] (`[N, T, C]`) and [`SpatialDropout2D`] (`[N, H, W, C]`).
#[derive(Debug, Clone)]
pub struct SpatialDropout<const RANK: usize> {
    config: SpatialDropoutConfig,
}

layer_config! {
    /// The hyper-parameters of [`SpatialDropout1D`] and [`SpatialDropout2D`].
    pub struct SpatialDropoutConfig for "SpatialDropout" {
        /// Fraction of the channels dropped in training (required).
        rate: f64 = 0.0,
        /// Fixed seed of the masks.
        seed: Option<u64> = None,
        /// `channels_last` or `channels_first`.
        data_format: String = "channels_last".into(),
    }
}

/// Channel dropout on `[N, T, C]` sequences.
pub type SpatialDropout1D = SpatialDropout<1>;
/// Channel dropout on `[N, H, W, C]` images (or `[N, C, H, W]` with `channels_first`).
pub type SpatialDropout2D = SpatialDropout<2>;

impl<const RANK: usize> SpatialDropout<RANK> {
    /// Drops a fraction `rate` (in `[0, 1)`) of the channels in training.
    pub fn new(rate: f64) -> Self {
        Self::with_config(SpatialDropoutConfig {
            rate,
            ..Default::default()
        })
    }
    config_setters! {
        /// A fixed seed for this layer's masks (otherwise derived from `fit`'s seed).
        seed: Option<u64>,
        /// `"channels_last"` (default) or `"channels_first"`.
        data_format: lowercase,
    }
    config_methods!(SpatialDropoutConfig, without from_config);

    fn class() -> &'static str {
        if RANK == 1 {
            "SpatialDropout1D"
        } else {
            "SpatialDropout2D"
        }
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        cfg_f64(config, Self::class(), "rate")?;
        let mut config: SpatialDropoutConfig = parse(config)?;
        config.data_format = config.data_format.to_lowercase();
        Ok(Self::with_config(config))
    }

    fn expected(&self) -> String {
        super::conv::expected_rank(RANK, &self.config.data_format)
    }
}

impl<B: Backend, const RANK: usize> Layer<B> for SpatialDropout<RANK> {
    layer_identity!(Self::class());
    fn validate(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.config.rate) {
            return Err(Error::invalid(
                &self.config.name,
                "rate",
                format!("must be in [0, 1), got {}", self.config.rate),
            ));
        }
        super::conv::check_data_format(&self.config.name, &self.config.data_format)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.len() != RANK + 1 {
            return Err(Error::shape(
                &self.config.name,
                "input",
                self.expected(),
                input_shape,
            ));
        }
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        let s = x.shape();
        if s.len() != RANK + 2 {
            return Err(Error::shape(
                &self.config.name,
                "input",
                self.expected(),
                &s,
            ));
        }
        if !ctx.training || self.config.rate == 0.0 {
            return Ok(x.clone());
        }
        // one draw per (sample, channel), broadcast over the spatial axes
        let mut mask_shape = vec![1; s.len()];
        mask_shape[0] = s[0];
        let c_axis = if self.config.data_format == "channels_first" {
            1
        } else {
            s.len() - 1
        };
        mask_shape[c_axis] = s[c_axis];
        let seed = op_seed(self.config.seed, ctx);
        let u = Tensor::<B>::new(B::uniform(
            &mask_shape,
            0.0,
            1.0,
            seed,
            x.dtype(),
            &x.engine_device(),
        )?);
        let keep = u
            .ge(&u.scalar_like(self.config.rate)?)?
            .to_dtype(x.dtype())?;
        x.mul(&keep.mul_scalar(1.0 / (1.0 - self.config.rate))?)
    }
    fn get_config(&self) -> serde_json::Value {
        to_json(&self.config)
    }
}

/// Adds zero-mean Gaussian noise of standard deviation `stddev` in training (Keras
/// `GaussianNoise`); the identity at inference. Seeded like [`Dropout`].
#[derive(Debug, Clone)]
pub struct GaussianNoise {
    config: GaussianNoiseConfig,
}

layer_config! {
    /// The hyper-parameters of [`GaussianNoise`] (Keras' names and defaults).
    pub struct GaussianNoiseConfig for "GaussianNoise" {
        /// Standard deviation of the noise (required).
        stddev: f64 = 0.0,
        /// Fixed seed of the noise.
        seed: Option<u64> = None,
    }
    check(config) { cfg_f64(config, "GaussianNoise", "stddev").map(|_| ()) }
}

impl GaussianNoise {
    /// Noise with standard deviation `stddev` (>= 0).
    pub fn new(stddev: f64) -> Self {
        Self::with_config(GaussianNoiseConfig {
            stddev,
            ..Default::default()
        })
    }
    config_setters! {
        /// A fixed seed for this layer's noise (otherwise derived from `fit`'s seed).
        seed: Option<u64>,
    }
    config_methods!(GaussianNoiseConfig);
}

impl<B: Backend> Layer<B> for GaussianNoise {
    layer_identity!("GaussianNoise");
    fn validate(&self) -> Result<()> {
        if !(self.config.stddev >= 0.0 && self.config.stddev.is_finite()) {
            return Err(Error::invalid(
                &self.config.name,
                "stddev",
                format!("must be a finite number >= 0, got {}", self.config.stddev),
            ));
        }
        Ok(())
    }
    shape_preserving!();
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        super::check_min_rank(&self.config.name, &x.shape(), 1, "batch, ...")?;
        if !ctx.training || self.config.stddev == 0.0 {
            return Ok(x.clone());
        }
        let seed = op_seed(self.config.seed, ctx);
        let noise = Tensor::<B>::new(B::normal(
            &x.shape(),
            0.0,
            self.config.stddev,
            seed,
            x.dtype(),
            &x.engine_device(),
        )?);
        x.add(&noise)
    }
}
