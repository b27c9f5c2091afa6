//! Declaring an optimizer: the [`optimizer!`] macro generates, from an optimizer's doc, Keras
//! name and hyper-parameter list, its type, its `…Config` struct (Keras' field names and
//! defaults, serde-derived), the builder setters and the `Optimizer` impl; each optimizer's
//! file adds only its [`Rule`](super::Rule) (slots and formula). Here too the helpers that
//! write a config into `get_config` and read it back in `from_config` with errors naming
//! the optimizer and the field.

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

/// The hyper-parameter half of [`optimizer!`]: the public `…Config` struct (serde derives,
/// `#[serde(default)]`, Keras' names), its `Default` (Keras' defaults) and, for each
/// optimizer type listed, `new(lr)` (the defaults, through the type's `with_config`) and
/// one builder setter per field, writing the config inside the optimizer's rule (the rule
/// itself, or what it lends through `BorrowMut`).
macro_rules! hyper_parameters {
    (
        @struct $(#[$meta:meta])* $config:ident {
            $( $(#[$doc:meta])* $field:ident : $fty:ty = $default:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default)]
        pub struct $config {
            $( $(#[$doc])* pub $field: $fty, )*
        }

        impl Default for $config {
            fn default() -> Self {
                Self { $( $field: $default, )* }
            }
        }
    };
    (@types [$ty:ident $(, $rest:ident)*] $config:ident { $($fields:tt)* }) => {
        impl<B: $crate::backend::Backend> $ty<B> {
            #[doc = concat!(
                "[`", stringify!($ty), "`] with learning rate (or schedule) `lr` and Keras' ",
                "other defaults ([`", stringify!($config), "::default`])."
            )]
            pub fn new(lr: impl Into<$crate::optimizers::LearningRate>) -> Self {
                Self::with_config(lr, $config::default())
            }
            /// The hyper-parameters, for the generated setters.
            fn hyper_mut(&mut self) -> &mut $config {
                std::borrow::BorrowMut::<$config>::borrow_mut(&mut self.core.rule)
            }
        }
        hyper_parameters!(@setters $ty { $($fields)* });
        hyper_parameters!(@types [$($rest),*] $config { $($fields)* });
    };
    (@types [] $config:ident { $($fields:tt)* }) => {};
    (
        @setters $ty:ident {
            $( $(#[$doc:meta])* $field:ident : $fty:ty = $default:expr ),* $(,)?
        }
    ) => {
        impl<B: $crate::backend::Backend> $ty<B> {
            $(
                $(#[$doc])*
                pub fn $field(mut self, $field: $fty) -> Self {
                    self.hyper_mut().$field = $field;
                    self
                }
            )*
        }
    };
}

/// Builder setters for the optional shared options, writing `self.core.options.<field>`.
macro_rules! option_setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty,)*) => {
        $(
            $(#[$doc])*
            pub fn $field(mut self, $field: $ty) -> Self {
                self.core.options.$field = Some($field);
                self
            }
        )*
    };
}

/// Declares an optimizer type: the struct (a `core: Core<B, Rule>`), `with_config`, the
/// builder methods of the shared options, the `Optimizer` and `IntoOptimizer` impls and
/// `restore` (for [`from_config`](super::from_config)); with a field list also its
/// `…Config` struct, `new` and the hyper-parameter setters (through [`hyper_parameters!`]).
///
/// - `pub struct Adam("adam", AdamConfig) also [AdamW] { beta_1: f64 = 0.9, .. }`: the
///   config is the [`Rule`](super::Rule); `AdamW` (declared elsewhere) gets the same
///   setters;
/// - `pub struct Nadam("nadam", NadamConfig => NadamRule) { .. }`: the rule is built from
///   the config with `From` and lends it through `BorrowMut`;
/// - `pub struct AdamW("adamw", AdamConfig, weight_decay 0.004);`: another optimizer's
///   config, with a default weight decay.
macro_rules! optimizer {
    (
        $(#[$meta:meta])*
        pub struct $ty:ident($name:literal, $config:ident $(=> $rule:ty)?)
            $(also [$($also:ident),*])? { $($fields:tt)* }
    ) => {
        optimizer!(@impl $(#[$meta])* $ty, $name, $config, [$($rule,)? $config], []);
        hyper_parameters!(
            @struct
            #[doc = concat!(
                "[`", stringify!($ty), "`]'s hyper-parameters, with Keras' names and defaults ",
                "(its `get_config` fields besides the shared options)."
            )]
            $config { $($fields)* }
        );
        hyper_parameters!(@types [$ty $($(, $also)*)?] $config { $($fields)* });
    };
    (
        $(#[$meta:meta])*
        pub struct $ty:ident($name:literal, $config:ty $(, weight_decay $wd:expr)?);
    ) => {
        optimizer!(@impl $(#[$meta])* $ty, $name, $config, [$config], [$($wd)?]);
    };
    (
        @impl $(#[$meta:meta])* $ty:ident, $name:literal, $config:ty,
        [$rule:ty $(, $ignored:ty)?], [$($wd:expr)?]
    ) => {
        $(#[$meta])*
        #[derive(Debug)]
        pub struct $ty<B: $crate::backend::Backend> {
            pub(super) core: $crate::optimizers::Core<B, $rule>,
        }

        impl<B: $crate::backend::Backend> $ty<B> {
            #[doc = concat!(
                "[`", stringify!($ty), "`] with learning rate (or schedule) `lr`",
                $(", weight decay ", stringify!($wd),)?
                " and the hyper-parameters `config`."
            )]
            pub fn with_config(
                lr: impl Into<$crate::optimizers::LearningRate>,
                config: $config,
            ) -> Self {
                let rule = <$rule>::from(config);
                #[allow(unused_mut)]
                let mut core = $crate::optimizers::Core::new($name, rule, lr.into());
                $(core.options.weight_decay = Some($wd);)?
                Self { core }
            }
            /// Rebuilds it from its `get_config` (the rate already read).
            pub(crate) fn restore(
                lr: $crate::optimizers::LearningRate,
                cfg: &serde_json::Value,
            ) -> $crate::error::Result<Box<dyn $crate::optimizers::Optimizer<B>>> {
                let config = $crate::optimizers::hyper::read_config($name, cfg)?;
                let mut opt = Self::with_config(lr, config);
                opt.core.options.read_config(cfg);
                Ok(Box::new(opt))
            }
            option_setters! {
                /// Decoupled weight decay: `p -= p * weight_decay * lr` before each update
                /// (Keras' `weight_decay`).
                weight_decay: f64,
                /// Clips each gradient to this L2 norm before the update (Keras' `clipnorm`).
                clipnorm: f64,
                /// Clamps each gradient element to `[-clipvalue, clipvalue]` (Keras'
                /// `clipvalue`).
                clipvalue: f64,
                /// Scales all gradients together so that their joint L2 norm is at most this
                /// (Keras' `global_clipnorm`).
                global_clipnorm: f64,
                /// Updates only every `steps`-th call to `apply` (`steps >= 2`), with the mean
                /// of the gradients since the last update (Keras'
                /// `gradient_accumulation_steps`).
                gradient_accumulation_steps: u64,
            }
            /// Replaces all shared options (rate, weight decay, clipping, accumulation).
            pub fn with_options(mut self, options: $crate::optimizers::OptimizerOptions) -> Self {
                self.core.options = options;
                self
            }
            /// The shared options.
            pub fn options(&self) -> &$crate::optimizers::OptimizerOptions {
                &self.core.options
            }
        }

        impl<B: $crate::backend::Backend> $crate::optimizers::Optimizer<B> for $ty<B> {
            fn name(&self) -> &'static str {
                self.core.name
            }
            fn learning_rate(&self) -> f64 {
                self.core.learning_rate()
            }
            fn set_learning_rate(&mut self, lr: f64) {
                self.core.set_learning_rate(lr)
            }
            fn iterations(&self) -> u64 {
                self.core.iterations()
            }
            fn set_iterations(&mut self, n: u64) {
                self.core.set_iterations(n)
            }
            fn apply(
                &mut self,
                params: &[$crate::tensor::Tensor<B>],
                grads: &[Option<$crate::tensor::Tensor<B>>],
            ) -> $crate::error::Result<()> {
                self.core.apply(params, grads)
            }
            fn variables(&self) -> Vec<(String, $crate::tensor::Tensor<B>)> {
                self.core.variables()
            }
            fn set_variables(
                &mut self,
                vars: &[(String, $crate::tensor::Tensor<B>)],
            ) -> $crate::error::Result<()> {
                self.core.set_variables(vars)
            }
            fn get_config(&self) -> serde_json::Value {
                self.core.get_config()
            }
        }

        impl<B: $crate::backend::Backend> $crate::optimizers::IntoOptimizer<B> for $ty<B> {
            fn into_optimizer(
                self,
            ) -> $crate::error::Result<Box<dyn $crate::optimizers::Optimizer<B>>> {
                Ok(Box::new(self))
            }
        }
    };
}

/// Writes the hyper-parameters `config` (a `…Config` struct) into an optimizer's
/// `get_config` map.
pub(crate) fn write_config<T: Serialize>(config: &T, map: &mut Map<String, Value>) {
    if let Ok(Value::Object(fields)) = serde_json::to_value(config) {
        map.extend(fields);
    }
}

/// Reads the hyper-parameters of optimizer `name` from its `get_config` object `cfg`
/// (other keys are ignored, missing ones take Keras' defaults).
///
/// # Errors
/// [`Error::Config`] at `optimizer.<name>.<field>` naming the malformed field.
pub(crate) fn read_config<T>(name: &str, cfg: &Value) -> Result<T>
where
    T: Serialize + DeserializeOwned + Default,
{
    T::deserialize(cfg).map_err(|e| {
        // The configs are flat: find the field that fails on its own.
        let fields = match serde_json::to_value(T::default()) {
            Ok(Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let field = fields.into_iter().find(|k| {
            let mut one = Map::new();
            one.insert(
                k.clone(),
                cfg.get(k.as_str()).cloned().unwrap_or(Value::Null),
            );
            cfg.get(k.as_str()).is_some() && T::deserialize(Value::Object(one)).is_err()
        });
        match field {
            Some(k) => Error::config(
                format!("optimizer.{name}.{k}"),
                format!("malformed {name} hyper-parameter `{k}`: {e}"),
            ),
            None => Error::config(
                format!("optimizer.{name}"),
                format!("malformed config: {e}"),
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizers::AdamConfig;
    use serde_json::json;

    #[test]
    fn configs_round_trip_and_name_bad_fields() {
        let c: AdamConfig = read_config("adam", &json!({"name": "adam", "beta_1": 0.8})).unwrap();
        assert_eq!(c.beta_1, 0.8);
        assert_eq!(c.beta_2, 0.999);
        let mut map = Map::new();
        write_config(&c, &mut map);
        assert_eq!(map["amsgrad"], false);
        let e = read_config::<AdamConfig>("adam", &json!({"beta_2": "x"})).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("adam") && msg.contains("beta_2"), "{msg}");
        assert!(matches!(e, Error::Config { .. }));
    }
}
