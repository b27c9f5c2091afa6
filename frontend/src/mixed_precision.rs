//! Keras dtype policies: `float32`, `mixed_bfloat16` and `mixed_float16`.
//!
//! A policy names two dtypes: the **variable dtype**, in which weights are stored, updated
//! by the optimizer and saved (always `f32` here), and the **compute dtype**, in which
//! layers run their matrix products, convolutions and recurrences. Under a mixed policy,
//! layers read their weights cast to the 16-bit compute type (the cast is differentiable,
//! so gradients reach the `f32` variables in `f32`), cast their inputs on entry, and:
//!
//! - softmax runs in `f32` (its input is widened first), like Keras' advice to keep the
//!   last activation in `float32`;
//! - a model's outputs are widened to `f32` before the loss and the metrics, so both run in
//!   `f32`, and `predict` returns `f32`;
//! - `BatchNormalization` and `LayerNormalization` compute their statistics in `f32`.
//!
//! A model takes the global policy when it is created (as a Keras layer does when it is
//! constructed); [`set_global_policy`] before building the model, or
//! `model.set_dtype_policy(…)` afterwards. One layer can run under its own policy with
//! `.dtype(policy)` ([`crate::layers::LayerDtype`], Keras' `dtype=` argument), typically a
//! last layer kept in `float32`. `model.cast_variables(DType::BF16)` turns the variables
//! themselves into 16-bit ones (for a smaller file or pure 16-bit inference).
//!
//! ```
//! use stratanet::mixed_precision::{self, Policy};
//! mixed_precision::set_global_policy("mixed_bfloat16")?;
//! assert_eq!(mixed_precision::global_policy(), Policy::MixedBFloat16);
//! assert_eq!(Policy::MixedBFloat16.compute_dtype(), stratanet::DType::BF16);
//! mixed_precision::set_global_policy("float32")?;
//! # Ok::<(), stratanet::Error>(())
//! ```

use crate::backend::DType;
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU8, Ordering};

/// A dtype policy (Keras' `DTypePolicy` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Policy {
    /// Variables and computation in `f32` (the default).
    #[default]
    Float32,
    /// `f32` variables, `bf16` computation.
    MixedBFloat16,
    /// `f32` variables, `f16` computation. Training under it should scale the loss (see
    /// Keras' `LossScaleOptimizer`), as `f16`'s range ends at 65,504 and small gradients
    /// underflow.
    MixedFloat16,
}

impl Policy {
    /// Every policy, in the order of their codes.
    pub const ALL: [Policy; 3] = [Policy::Float32, Policy::MixedBFloat16, Policy::MixedFloat16];

    /// Keras' name: `float32`, `mixed_bfloat16`, `mixed_float16`.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Float32 => "float32",
            Policy::MixedBFloat16 => "mixed_bfloat16",
            Policy::MixedFloat16 => "mixed_float16",
        }
    }

    /// The dtype layers compute in.
    pub fn compute_dtype(self) -> DType {
        match self {
            Policy::Float32 => DType::F32,
            Policy::MixedBFloat16 => DType::BF16,
            Policy::MixedFloat16 => DType::F16,
        }
    }

    /// The dtype variables are stored in (`f32` for every policy).
    pub fn variable_dtype(self) -> DType {
        DType::F32
    }

    /// Whether computation runs in a 16-bit type.
    pub fn is_mixed(self) -> bool {
        self != Policy::Float32
    }

    /// The policy named `name` (Keras' names).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the known policies.
    pub fn from_name(name: &str) -> Result<Policy> {
        Policy::ALL
            .into_iter()
            .find(|p| p.name() == name.trim())
            .ok_or_else(|| {
                Error::invalid(
                    "dtype policy",
                    "name",
                    format!(
                        "unknown policy '{name}'; known: {}",
                        Policy::ALL.map(Policy::name).join(", ")
                    ),
                )
            })
    }

    fn code(self) -> u8 {
        self as u8
    }

    fn from_code(c: u8) -> Policy {
        Policy::ALL.get(usize::from(c)).copied().unwrap_or_default()
    }
}

impl std::fmt::Display for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Policy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Policy> {
        Policy::from_name(s)
    }
}

crate::config_serde::serde_by_name!(Policy, name, from_name);

/// The process-wide policy new models take (a [`Policy`] code).
static GLOBAL: AtomicU8 = AtomicU8::new(0);

/// Sets the policy that models created from now on take: `"float32"`, `"mixed_bfloat16"`
/// or `"mixed_float16"` (Keras' `keras.mixed_precision.set_global_policy`).
///
/// # Errors
/// [`Error::InvalidArgument`] for an unknown name; the policy is unchanged.
pub fn set_global_policy(name: &str) -> Result<()> {
    let p = Policy::from_name(name)?;
    GLOBAL.store(p.code(), Ordering::Relaxed);
    Ok(())
}

/// The policy new models take (`float32` unless [`set_global_policy`] changed it).
pub fn global_policy() -> Policy {
    Policy::from_code(GLOBAL.load(Ordering::Relaxed))
}

/// Reads `--policy NAME` or `--policy=NAME` from the command line, as every example
/// does, and makes it the global policy; returns the global policy (unchanged without the
/// flag).
///
/// # Errors
/// As [`policy_from_arg_list`].
pub fn set_global_policy_from_args() -> Result<Policy> {
    if let Some(p) = policy_from_arg_list(std::env::args().skip(1))? {
        GLOBAL.store(p.code(), Ordering::Relaxed);
    }
    Ok(global_policy())
}

/// The policy a `--policy NAME` / `--policy=NAME` flag in `args` names, if any.
///
/// ```
/// use stratanet::mixed_precision::{policy_from_arg_list, Policy};
/// let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
/// assert_eq!(policy_from_arg_list(args(&["--policy", "mixed_float16"]))?, Some(Policy::MixedFloat16));
/// assert_eq!(policy_from_arg_list(args(&["--epochs=3"]))?, None);
/// assert!(policy_from_arg_list(args(&["--policy=bf16"])).is_err());
/// assert!(policy_from_arg_list(args(&["--policy"])).is_err());
/// # Ok::<(), stratanet::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] naming `--policy`: a flag without a value, or an unknown
/// policy name.
pub fn policy_from_arg_list(args: impl IntoIterator<Item = String>) -> Result<Option<Policy>> {
    let known = Policy::ALL.map(Policy::name).join(", ");
    let value = crate::backend::flag_value(args, "--policy").map_err(|()| {
        Error::invalid(
            "dtype policy",
            "--policy",
            format!("expected one of {known}"),
        )
    })?;
    value
        .map(|v| {
            Policy::from_name(&v).map_err(|_| {
                Error::invalid(
                    "dtype policy",
                    "--policy",
                    format!("unknown policy '{v}'; known: {known}"),
                )
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        for p in Policy::ALL {
            assert_eq!(Policy::from_name(p.name()).unwrap(), p);
            assert_eq!(Policy::from_code(p.code()), p);
            assert_eq!(p.variable_dtype(), DType::F32);
        }
        let e = Policy::from_name("mixed_float8").unwrap_err().to_string();
        assert!(
            e.contains("mixed_float8") && e.contains("mixed_bfloat16"),
            "{e}"
        );
        assert!(set_global_policy("bogus").is_err());
        assert_eq!(
            serde_json::to_value(Policy::MixedFloat16).unwrap(),
            "mixed_float16"
        );
    }
}
