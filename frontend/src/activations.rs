//! Activation functions by name, as Keras' `activation="relu"`.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// An activation function.
///
/// ```
/// use stratanet::{activations::Activation, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let act: Activation = "relu".parse()?;
/// let x = Tensor::<B>::from_vec(vec![-1.0f32, 2.0], &[2])?;
/// assert_eq!(act.apply(&x)?.to_vec_f32()?, vec![0.0, 2.0]);
/// assert!("nope".parse::<Activation>().is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// Identity.
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// Softmax over the last axis.
    Softmax,
    /// Log-softmax over the last axis.
    LogSoftmax,
    /// GELU (exact, erf form; Keras' default).
    Gelu,
    /// SiLU, also called swish.
    Silu,
    /// ELU with alpha 1.
    Elu,
    /// SELU.
    Selu,
    /// Leaky ReLU with the given negative slope (Keras' default 0.2).
    LeakyRelu(f64),
    /// Softplus.
    Softplus,
}

/// Every accepted activation name.
pub const ACTIVATION_NAMES: &[&str] = &[
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "gelu",
    "silu",
    "swish",
    "elu",
    "selu",
    "leaky_relu",
    "softplus",
];

impl Activation {
    /// Parses a Keras activation name (`None`/empty means linear).
    ///
    /// # Errors
    /// [`Error::UnknownName`] listing the known names.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "" | "linear" | "none" => Activation::Linear,
            "relu" => Activation::Relu,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "softmax" => Activation::Softmax,
            "log_softmax" => Activation::LogSoftmax,
            "gelu" => Activation::Gelu,
            "silu" | "swish" => Activation::Silu,
            "elu" => Activation::Elu,
            "selu" => Activation::Selu,
            "leaky_relu" => Activation::LeakyRelu(0.2),
            "softplus" => Activation::Softplus,
            other => return Err(Error::unknown("activation", other, ACTIVATION_NAMES)),
        })
    }

    /// The Keras name.
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
            Activation::LogSoftmax => "log_softmax",
            Activation::Gelu => "gelu",
            Activation::Silu => "silu",
            Activation::Elu => "elu",
            Activation::Selu => "selu",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::Softplus => "softplus",
        }
    }

    /// Config value: the name, or `{"name": "leaky_relu", "negative_slope": a}`.
    pub fn to_config(&self) -> serde_json::Value {
        match self {
            Activation::LeakyRelu(a) if *a != 0.2 => {
                serde_json::json!({"name": "leaky_relu", "negative_slope": a})
            }
            other => serde_json::Value::String(other.name().to_string()),
        }
    }

    /// Inverse of [`Activation::to_config`].
    ///
    /// # Errors
    /// On an unknown name or a malformed value.
    pub fn from_config(v: &serde_json::Value) -> Result<Self> {
        match v {
            serde_json::Value::Null => Ok(Activation::Linear),
            serde_json::Value::String(s) => Self::from_name(s),
            serde_json::Value::Object(m) => {
                let name = m.get("name").and_then(|n| n.as_str()).unwrap_or("");
                let act = Self::from_name(name)?;
                match (act, m.get("negative_slope").and_then(|x| x.as_f64())) {
                    (Activation::LeakyRelu(_), Some(a)) => Ok(Activation::LeakyRelu(a)),
                    (a, _) => Ok(a),
                }
            }
            other => Err(Error::config(
                "activation",
                format!("expected a name, got {other}"),
            )),
        }
    }

    /// Applies the activation (softmax variants over the last axis, in `f32` when `x` is
    /// `bf16` or `f16`).
    pub fn apply<B: Backend>(&self, x: &Tensor<B>) -> Result<Tensor<B>> {
        match self {
            Activation::Linear => Ok(x.clone()),
            Activation::Relu => x.relu(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            // In f32 for 16-bit inputs, as Keras advises for a mixed precision model's
            // last activation (see `mixed_precision`): the result stays f32.
            Activation::Softmax => widen_half(x)?.softmax(-1),
            Activation::LogSoftmax => widen_half(x)?.log_softmax(-1),
            Activation::Gelu => x.gelu(),
            Activation::Silu => x.silu(),
            Activation::Elu => x.elu(1.0),
            Activation::Selu => x.selu(),
            Activation::LeakyRelu(a) => x.leaky_relu(*a),
            Activation::Softplus => x.softplus(),
        }
    }
}

impl std::str::FromStr for Activation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::from_name(s)
    }
}

/// Anything a layer accepts as an activation: an [`Activation`] or a name (checked when
/// the layer is added to a model or built).
#[derive(Debug, Clone, PartialEq)]
pub enum ActivationSpec {
    /// A resolved activation.
    Known(Activation),
    /// A name still to parse.
    Name(String),
}

impl ActivationSpec {
    /// Resolves the name.
    ///
    /// # Errors
    /// [`Error::UnknownName`] for an unknown name.
    pub fn resolve(&self) -> Result<Activation> {
        match self {
            ActivationSpec::Known(a) => Ok(*a),
            ActivationSpec::Name(n) => Activation::from_name(n),
        }
    }
}

impl From<Activation> for ActivationSpec {
    fn from(a: Activation) -> Self {
        ActivationSpec::Known(a)
    }
}
impl From<&str> for ActivationSpec {
    fn from(s: &str) -> Self {
        ActivationSpec::Name(s.to_string())
    }
}
impl From<String> for ActivationSpec {
    fn from(s: String) -> Self {
        ActivationSpec::Name(s)
    }
}

crate::config_serde::serde_via_config! {
    /// Written as [`Activation::to_config`] writes it.
    Serialize for Activation;
    /// Read as [`Activation::from_config`] reads it (`null` is linear).
    Deserialize with |v| Self::from_config(v).map_err(crate::error::field_error);
}

/// Written as the activation it resolves to; a name that does not resolve (rejected when
/// the layer joins a model) is written as given.
impl serde::Serialize for ActivationSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match (self.resolve(), self) {
            (Ok(a), _) => a.serialize(s),
            (Err(_), ActivationSpec::Name(n)) => n.serialize(s),
            (Err(_), ActivationSpec::Known(a)) => a.serialize(s),
        }
    }
}

/// Read as a resolved [`Activation`].
impl<'de> serde::Deserialize<'de> for ActivationSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Activation::deserialize(d).map(ActivationSpec::Known)
    }
}

/// `x` widened to `f32` when it is a 16-bit float, else `x`.
fn widen_half<B: Backend>(x: &Tensor<B>) -> Result<Tensor<B>> {
    if x.dtype().is_half() {
        x.to_dtype(crate::backend::DType::F32)
    } else {
        Ok(x.clone())
    }
}
