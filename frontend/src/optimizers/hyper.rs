//! Optimizer hyper-parameters as types: the [`hyper_parameters!`] macro declares each
//! optimizer's `…Config` struct (Keras' field names and defaults, serde-derived) together
//! with its builder setters, and the helpers that write it into `get_config` and read it
//! back in `from_config` with errors naming the optimizer and the field.

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

/// Declares an optimizer's hyper-parameters once: the public `…Config` struct (serde
/// derives, `#[serde(default)]`, Keras' names), its `Default` (Keras' defaults) and, for
/// each optimizer type listed after `for`, `new(lr)` (the defaults, through the type's own
/// `with_config`) and one builder setter per field that writes the config at the given
/// path inside the optimizer (`core.rule` or `core.rule.cfg`).
macro_rules! hyper_parameters {
    (
        $(#[$meta:meta])*
        pub struct $config:ident for [$($ty:ident),+] at $($path:ident).+ {
            $($fields:tt)*
        }
    ) => {
        hyper_parameters!(@struct $(#[$meta])* $config { $($fields)* });
        hyper_parameters!(@types [$($ty),+] $config [$($path).+] { $($fields)* });
    };
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
    (@types [$ty:ident $(, $rest:ident)*] $config:ident [$($path:ident).+] { $($fields:tt)* }) => {
        impl<B: $crate::backend::Backend> $ty<B> {
            #[doc = concat!(
                "[`", stringify!($ty), "`] with learning rate (or schedule) `lr` and Keras' other ",
                "defaults ([`", stringify!($config), "::default`])."
            )]
            pub fn new(lr: impl Into<$crate::optimizers::LearningRate>) -> Self {
                Self::with_config(lr, $config::default())
            }
            /// The hyper-parameters, for the generated setters.
            fn hyper_mut(&mut self) -> &mut $config {
                &mut self.$($path).+
            }
        }
        hyper_parameters!(@setters $ty { $($fields)* });
        hyper_parameters!(@types [$($rest),*] $config [$($path).+] { $($fields)* });
    };
    (@types [] $config:ident [$($path:ident).+] { $($fields:tt)* }) => {};
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
