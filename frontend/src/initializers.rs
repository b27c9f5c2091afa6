//! Weight initialisers (Keras names and formulas), drawn from the frontend's seeded host
//! generator so that every engine starts from identical weights.

use crate::backend::{Backend, DType, HostData};
use crate::error::{Error, Result};
use crate::random::Rng;
use crate::tensor::Tensor;

/// How a weight is filled when a layer is built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Initializer {
    /// Uniform in `±sqrt(6 / (fan_in + fan_out))` (Keras' default for kernels).
    GlorotUniform,
    /// Truncated normal with std `sqrt(2 / (fan_in + fan_out))`.
    GlorotNormal,
    /// Uniform in `±sqrt(6 / fan_in)`.
    HeUniform,
    /// Truncated normal with std `sqrt(2 / fan_in)`.
    HeNormal,
    /// Truncated normal with std `sqrt(1 / fan_in)`.
    LecunNormal,
    /// Uniform in `±sqrt(3 / fan_in)`.
    LecunUniform,
    /// All zeros (Keras' default for biases).
    Zeros,
    /// All ones.
    Ones,
    /// A constant.
    Constant(f64),
    /// Uniform in `[min, max)`.
    RandomUniform(f64, f64),
    /// Normal with `(mean, std)`.
    RandomNormal(f64, f64),
}

const NAMES: &[&str] = &[
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_normal",
    "lecun_uniform",
    "zeros",
    "ones",
    "constant",
    "random_uniform",
    "random_normal",
];

/// Keras' fan computation: for a kernel `[..receptive.., in, out]`,
/// `fan_in = in * receptive`, `fan_out = out * receptive`.
pub fn fans(shape: &[usize]) -> (f64, f64) {
    match shape.len() {
        0 => (1.0, 1.0),
        1 => (shape[0] as f64, shape[0] as f64),
        2 => (shape[0] as f64, shape[1] as f64),
        n => {
            let receptive: usize = shape[..n - 2].iter().product();
            (
                (shape[n - 2] * receptive) as f64,
                (shape[n - 1] * receptive) as f64,
            )
        }
    }
}

impl Initializer {
    /// Parses a Keras name (`"he_normal"`). The parameterised initialisers take Keras'
    /// defaults: `constant` is 0, `random_uniform` is `[-0.05, 0.05)`, `random_normal` has
    /// mean 0 and std 0.05.
    ///
    /// # Errors
    /// [`Error::UnknownName`].
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "glorot_uniform" => Self::GlorotUniform,
            "glorot_normal" => Self::GlorotNormal,
            "he_uniform" => Self::HeUniform,
            "he_normal" => Self::HeNormal,
            "lecun_normal" => Self::LecunNormal,
            "lecun_uniform" => Self::LecunUniform,
            "zeros" => Self::Zeros,
            "ones" => Self::Ones,
            "constant" => Self::Constant(0.0),
            "random_uniform" => Self::RandomUniform(-0.05, 0.05),
            "random_normal" => Self::RandomNormal(0.0, 0.05),
            other => return Err(Error::unknown("initializer", other, NAMES)),
        })
    }

    /// Config as JSON.
    pub fn to_config(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Self::GlorotUniform => json!("glorot_uniform"),
            Self::GlorotNormal => json!("glorot_normal"),
            Self::HeUniform => json!("he_uniform"),
            Self::HeNormal => json!("he_normal"),
            Self::LecunNormal => json!("lecun_normal"),
            Self::LecunUniform => json!("lecun_uniform"),
            Self::Zeros => json!("zeros"),
            Self::Ones => json!("ones"),
            Self::Constant(v) => json!({"name": "constant", "value": v}),
            Self::RandomUniform(a, b) => {
                json!({"name": "random_uniform", "minval": a, "maxval": b})
            }
            Self::RandomNormal(m, s) => json!({"name": "random_normal", "mean": m, "stddev": s}),
        }
    }

    /// Inverse of [`Initializer::to_config`].
    ///
    /// # Errors
    /// On unknown names or missing fields.
    pub fn from_config(v: &serde_json::Value) -> Result<Self> {
        if let Some(s) = v.as_str() {
            return Self::from_name(s);
        }
        let name = v.get("name").and_then(|n| n.as_str()).unwrap_or("");
        let f = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_f64())
                .ok_or_else(|| Error::config(format!("initializer.{k}"), "missing number"))
        };
        Ok(match name {
            "constant" => Self::Constant(f("value")?),
            "random_uniform" => Self::RandomUniform(f("minval")?, f("maxval")?),
            "random_normal" => Self::RandomNormal(f("mean")?, f("stddev")?),
            other => Self::from_name(other)?,
        })
    }

    /// Host values for a weight of `shape`.
    ///
    /// # Panics
    /// When the number of elements of `shape` overflows `usize` (or memory runs out); use
    /// [`Initializer::try_sample`] for shapes that come from outside.
    pub fn sample(&self, shape: &[usize], rng: &mut Rng) -> Vec<f64> {
        let n: usize = shape.iter().product();
        self.sample_n(n, shape, rng)
    }

    /// Host values for a weight of `shape`, checked before allocating: the element count
    /// against [`crate::limits::MAX_WEIGHT_ELEMENTS`] and, while a model file is loaded,
    /// against the values the file stores (see [`crate::limits`]).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the layer being built and the shape.
    pub fn try_sample(&self, shape: &[usize], rng: &mut Rng) -> Result<Vec<f64>> {
        let n = crate::limits::reserve_weight(shape)?;
        Ok(self.sample_n(n, shape, rng))
    }

    fn sample_n(&self, n: usize, shape: &[usize], rng: &mut Rng) -> Vec<f64> {
        let (fan_in, fan_out) = fans(shape);
        let uniform = |rng: &mut Rng, limit: f64| -> Vec<f64> {
            (0..n).map(|_| rng.uniform(-limit, limit)).collect()
        };
        // Keras' truncated-normal variance-scaling stddev correction.
        let trunc = |rng: &mut Rng, var: f64| -> Vec<f64> {
            let std = var.sqrt() / 0.879_625_661_034_239_8;
            (0..n).map(|_| rng.truncated_normal(0.0, std)).collect()
        };
        match *self {
            Self::GlorotUniform => uniform(rng, (6.0 / (fan_in + fan_out)).sqrt()),
            Self::GlorotNormal => trunc(rng, 2.0 / (fan_in + fan_out)),
            Self::HeUniform => uniform(rng, (6.0 / fan_in).sqrt()),
            Self::HeNormal => trunc(rng, 2.0 / fan_in),
            Self::LecunNormal => trunc(rng, 1.0 / fan_in),
            Self::LecunUniform => uniform(rng, (3.0 / fan_in).sqrt()),
            Self::Zeros => vec![0.0; n],
            Self::Ones => vec![1.0; n],
            Self::Constant(v) => vec![v; n],
            Self::RandomUniform(a, b) => (0..n).map(|_| rng.uniform(a, b)).collect(),
            Self::RandomNormal(m, s) => (0..n).map(|_| m + s * rng.standard_normal()).collect(),
        }
    }

    /// A tensor of `shape` and `dtype` on `device`, checked as [`Initializer::try_sample`].
    ///
    /// # Errors
    /// A shape over the limits of [`crate::limits`], engine errors.
    pub fn init<B: Backend>(
        &self,
        shape: &[usize],
        dtype: DType,
        device: crate::Device,
        rng: &mut Rng,
    ) -> Result<Tensor<B>> {
        let v = self.try_sample(shape, rng)?;
        Tensor::from_host(HostData::from_f64(&v, dtype), shape, device)
    }
}

impl std::str::FromStr for Initializer {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::from_name(s)
    }
}

crate::config_serde::serde_via_config! {
    /// Written as [`Initializer::to_config`] writes it (a name, or an object with parameters).
    Serialize for Initializer;
    /// Read as [`Initializer::from_config`] reads it.
    Deserialize with |v| Self::from_config(v).map_err(crate::error::field_error);
}
