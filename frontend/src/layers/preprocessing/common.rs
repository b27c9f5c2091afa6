//! Shared by the preprocessing layers: [`OutputMode`] and its engine encoding, host
//! value checks, serde of [`OutputMode`] and the `Layer` boilerplate every
//! preprocessing layer repeats.

use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

// ------------------------------------------------------------------ output modes

/// How a categorical layer writes its result (Keras `output_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// The integer index (`i64`), same shape as the input.
    Int,
    /// One `f32` row of `depth` per value: a last axis of size 1 is replaced by `depth`,
    /// otherwise `depth` is appended.
    OneHot,
    /// One `f32` row of `depth` per sample: 1 where an index occurs in the sample's last
    /// axis.
    MultiHot,
    /// As `MultiHot`, with the number of occurrences.
    Count,
}

impl OutputMode {
    /// Keras' name (`"one_hot"`).
    pub fn as_str(self) -> &'static str {
        match self {
            OutputMode::Int => "int",
            OutputMode::OneHot => "one_hot",
            OutputMode::MultiHot => "multi_hot",
            OutputMode::Count => "count",
        }
    }

    /// Parses Keras' name (`"binary"` is Keras' old name of `"multi_hot"`).
    ///
    /// # Errors
    /// [`Error::UnknownName`] for another name.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "int" => OutputMode::Int,
            "one_hot" => OutputMode::OneHot,
            "multi_hot" | "binary" => OutputMode::MultiHot,
            "count" => OutputMode::Count,
            other => {
                return Err(Error::unknown(
                    "output_mode",
                    other,
                    &["int", "one_hot", "multi_hot", "count"],
                ))
            }
        })
    }

    /// Per-sample output shape for a per-sample input shape and `depth` classes.
    ///
    /// A per-sample shape `[]` (inputs `[batch]`) gives `[depth]` in every non-int mode:
    /// each sample is one value (Keras collapses the batch axis in `multi_hot`/`count` for
    /// rank-1 inputs; stratanet keeps one row per sample).
    pub fn output_shape(self, per_sample: &[usize], depth: usize) -> Vec<usize> {
        match self {
            OutputMode::Int => per_sample.to_vec(),
            OutputMode::OneHot => {
                let mut s = per_sample.to_vec();
                if s.last() == Some(&1) {
                    s.pop();
                }
                s.push(depth);
                s
            }
            OutputMode::MultiHot | OutputMode::Count => {
                let mut s = per_sample.to_vec();
                s.pop();
                s.push(depth);
                s
            }
        }
    }
}

// Written as Keras' name; `"binary"` is read too, an unknown name stays an
// `Error::UnknownName`.
crate::config_serde::serde_by_name!(OutputMode);

/// Encodes `i64` indices `[batch, ...]` on the engine. Indices outside `[0, depth)` give
/// all-zero rows (Keras' treatment of the mask in non-int modes).
pub(super) fn encode<B: Backend>(
    idx: &Tensor<B>,
    mode: OutputMode,
    depth: usize,
) -> Result<Tensor<B>> {
    let s = idx.shape();
    let range = Tensor::<B>::arange(depth, idx.device())?;
    match mode {
        OutputMode::Int => Ok(idx.clone()),
        OutputMode::OneHot => {
            let idx = if s.len() > 1 && s[s.len() - 1] == 1 {
                idx.squeeze(-1)?
            } else {
                idx.clone()
            };
            idx.unsqueeze(-1)?.eq(&range)?.to_dtype(DType::F32)
        }
        OutputMode::MultiHot | OutputMode::Count => {
            let idx = if s.len() == 1 {
                idx.unsqueeze(-1)?
            } else {
                idx.clone()
            };
            let hot = idx.unsqueeze(-1)?.eq(&range)?.to_dtype(DType::F32)?;
            if mode == OutputMode::MultiHot {
                hot.max(&[-2], false)
            } else {
                hot.sum(&[-2], false)
            }
        }
    }
}

/// Integer values of a tensor on the host (floats must be whole numbers).
pub(super) fn integer_values<B: Backend>(layer: &str, x: &Tensor<B>) -> Result<Vec<i64>> {
    if x.dtype() == DType::I64 {
        return x.to_vec_i64();
    }
    let v = x.to_vec_f64()?;
    v.iter()
        .map(|&f| {
            if f.fract() == 0.0 && f.abs() < 9.2e18 {
                Ok(f as i64)
            } else {
                Err(Error::invalid(
                    layer,
                    "input",
                    format!("expected integer values, got {f} (shape {:?})", x.shape()),
                ))
            }
        })
        .collect()
}

/// The `Layer` methods every preprocessing layer implements the same way: the identity
/// methods of [`layer_identity`](crate::layers::config::layer_identity) (the arguments
/// after the class are passed on) and no trainable weights. With `@flag` (a layer
/// without weights or device state), `built` is its `built` flag and `build` validates
/// the hyper-parameters and sets it.
macro_rules! preprocessing_layer_methods {
    (@flag $class:literal $(, field: $($path:ident).+)?) => {
        preprocessing_layer_methods!($class $(, field: $($path).+)?, built: |l| l.built);
        fn build(&mut self, _input_shape: &[usize], _ctx: &mut BuildContext) -> Result<()> {
            Layer::<B>::validate(self)?;
            self.built = true;
            Ok(())
        }
    };
    ($class:literal $(, $($identity:tt)*)?) => {
        layer_identity!($class $(, $($identity)*)?);
        fn trainable(&self) -> bool {
            false
        }
    };
}
/// Used by [`preprocessing_layer_methods`], which callers import with `common::*`.
pub(super) use crate::layers::config::layer_identity;
pub(super) use preprocessing_layer_methods;

/// Builder setters of the lookup layers, whose config is in `core.config` (the other
/// layers use [`config_setters`](crate::layers::config::config_setters)): `setter: path =
/// Type` writes `self.path = value`, `setter: path = Some(Type)` writes
/// `self.path = Some(value)`, `setter: path = &str` stores an owned string.
///
/// ```ignore
/// field_setters! {
///     /// Output encoding (default int).
///     output_mode: core.config.output_mode = OutputMode,
///     /// Largest vocabulary size.
///     max_tokens: core.config.max_tokens = Some(usize),
/// }
/// ```
macro_rules! field_setters {
    () => {};
    ($(#[$doc:meta])* $setter:ident: $($path:ident).+ = &str, $($rest:tt)*) => {
        $(#[$doc])*
        pub fn $setter(mut self, value: &str) -> Self {
            self.$($path).+ = value.to_string();
            self
        }
        field_setters!($($rest)*);
    };
    ($(#[$doc:meta])* $setter:ident: $($path:ident).+ = Some($ty:ty), $($rest:tt)*) => {
        $(#[$doc])*
        pub fn $setter(mut self, value: $ty) -> Self {
            self.$($path).+ = Some(value);
            self
        }
        field_setters!($($rest)*);
    };
    ($(#[$doc:meta])* $setter:ident: $($path:ident).+ = $ty:ty, $($rest:tt)*) => {
        $(#[$doc])*
        pub fn $setter(mut self, value: $ty) -> Self {
            self.$($path).+ = value;
            self
        }
        field_setters!($($rest)*);
    };
}
pub(super) use field_setters;

/// The `label` a preprocessing layer's errors use: its name (at `config.name`, or the path
/// given), or `default`, Keras' snake-case class name, while it has none.
macro_rules! label_or_default {
    ($default:literal $(, $($path:ident).+)?) => {
        fn label(&self) -> &str {
            label_or(&label_or_default!(@name self $(, $($path).+)?), $default)
        }
    };
    (@name $s:ident) => { $s.config.name };
    (@name $s:ident, $($path:ident).+) => { $s.$($path).+ };
}
pub(super) use label_or_default;

/// The name errors give a layer: its `name`, or `default` (Keras' snake-case class name)
/// while it has none.
pub(super) fn label_or<'a>(name: &'a str, default: &'static str) -> &'a str {
    if name.is_empty() {
        default
    } else {
        name
    }
}

/// Checks that `n` host values fill `shape` (`[batch, ...]`, row-major).
pub(super) fn check_layout(layer: &str, n: usize, shape: &[usize]) -> Result<()> {
    if shape.is_empty() || shape.iter().product::<usize>() != n {
        return Err(Error::shape(
            layer,
            "values",
            format!("{n} values laid out as [batch, ...]"),
            shape,
        ));
    }
    Ok(())
}

pub(super) fn check_rank1<B: Backend>(layer: &str, x: &Tensor<B>) -> Result<()> {
    if x.rank() == 0 {
        return Err(Error::shape(
            layer,
            "input",
            "[batch, ...] (rank 1 or more)",
            &x.shape(),
        ));
    }
    Ok(())
}
