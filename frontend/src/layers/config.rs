//! Layer configs as types: the [`LayerConfig`] trait (a layer's hyper-parameters in one
//! serde struct with Keras' field names and defaults), [`parse`] (JSON to config with errors
//! naming the layer and the field), and the macros that generate builder setters and the
//! `class_name`/`name`/`set_name`/`built` methods of [`super::Layer`].
//!
//! ## Adding a layer with this pattern
//!
//! 1. `#[derive(Debug, Clone, Serialize, Deserialize)] #[serde(default)] pub struct FooConfig`
//!    holding `name`, `trainable` (if any) and every hyper-parameter under Keras' name, with a
//!    `Default` impl giving Keras' defaults. Field types serialize as the file format wants:
//!    [`crate::initializers::Initializer`], [`crate::regularizers::Regularizer`],
//!    [`crate::activations::Activation`] and [`crate::activations::ActivationSpec`] have serde
//!    impls writing today's encodings.
//! 2. `impl LayerConfig for FooConfig` with the class name and, in `check_raw`, the checks
//!    of values against [`crate::limits`] (sizes, shapes) that must name the layer.
//! 3. The layer holds `config: FooConfig`; `from_config` is `parse::<FooConfig>(c).map(..)`,
//!    `get_config` is `to_json(&self.config)`, the builder setters are
//!    `config_setters! { /// doc \n field: Type, .. }` and the identity methods
//!    `layer_identity!("Foo", built: |l| ..)`.

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A layer's hyper-parameters as one serde struct.
pub(crate) trait LayerConfig: Serialize + DeserializeOwned + Default {
    /// Keras class name (`Dense`), used in error paths.
    const CLASS: &'static str;

    /// Checks on the raw JSON before deserializing: required fields and value limits (sizes,
    /// shapes), so their errors name the layer as today (`dense_1 (Dense)`) and the field.
    ///
    /// # Errors
    /// A missing field or a value out of its limits.
    fn check_raw(_config: &serde_json::Value) -> Result<()> {
        Ok(())
    }
}

/// Reads a layer config from JSON.
///
/// # Errors
/// As [`LayerConfig::check_raw`]; the error of a field type (an unknown initializer or
/// activation name); else [`Error::Config`] at `Class.field` for a value of the wrong type.
pub(crate) fn parse<C: LayerConfig>(config: &serde_json::Value) -> Result<C> {
    parse_as(config, C::CLASS)
}

/// [`parse`] for a config shared by several classes: errors name `class` (`Add.name`), not
/// the family in [`LayerConfig::CLASS`].
///
/// # Errors
/// As [`parse`].
pub(crate) fn parse_as<C: LayerConfig>(config: &serde_json::Value, class: &str) -> Result<C> {
    C::check_raw(config)?;
    crate::error::take_field_error();
    match C::deserialize(config) {
        Ok(c) => Ok(c),
        Err(e) => {
            if let Some(original) = crate::error::take_field_error() {
                return Err(original);
            }
            let path = match culprit::<C>(config) {
                Some(field) => format!("{class}.{field}"),
                None => class.to_string(),
            };
            Err(Error::config(path, e.to_string()))
        }
    }
}

/// The first field of `config` that alone makes the default config fail to deserialize.
fn culprit<C: LayerConfig>(config: &serde_json::Value) -> Option<String> {
    let fields = config.as_object()?;
    let serde_json::Value::Object(base) = serde_json::to_value(C::default()).ok()? else {
        return None;
    };
    let found = fields.iter().find(|(key, value)| {
        let mut one = base.clone();
        one.insert((*key).clone(), (*value).clone());
        C::deserialize(&serde_json::Value::Object(one)).is_err()
    });
    crate::error::take_field_error();
    found.map(|(key, _)| key.clone())
}

/// Reads a string lowercased (`data_format`, `padding`), as the layers always did.
pub(crate) fn lowercase<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<String, D::Error> {
    String::deserialize(d).map(|v| v.to_lowercase())
}

/// A config as JSON (what `get_config` returns).
pub(crate) fn to_json<C: Serialize>(config: &C) -> serde_json::Value {
    serde_json::to_value(config).unwrap_or(serde_json::Value::Null)
}

/// Builder setters writing `self.config.<field>`, doc comments passed through. A field
/// declared `field: Option<T>` gets a setter taking `T`.
///
/// ```ignore
/// config_setters! {
///     /// Whether to add a bias (default `true`).
///     use_bias: bool,
///     /// Penalty on the kernel, added to the training loss.
///     kernel_regularizer: Option<Regularizer>,
/// }
/// ```
macro_rules! config_setters {
    () => {};
    ($(#[$doc:meta])* $field:ident: Option<$ty:ty>, $($rest:tt)*) => {
        $(#[$doc])*
        pub fn $field(mut self, value: $ty) -> Self {
            self.config.$field = Some(value);
            self
        }
        config_setters!($($rest)*);
    };
    ($(#[$doc:meta])* $field:ident: $ty:ty, $($rest:tt)*) => {
        $(#[$doc])*
        pub fn $field(mut self, value: $ty) -> Self {
            self.config.$field = value;
            self
        }
        config_setters!($($rest)*);
    };
}
pub(crate) use config_setters;

/// The identity methods of [`super::Layer`] for a layer keeping its name in `config.name`
/// (or in `name`, with `field: name`): `class_name`, `name`, `set_name`, `built` (`true`
/// for a layer without weights, else the closure given as `built: |l| ...`).
macro_rules! layer_identity {
    ($class:expr $(, field: $($path:ident).+)? $(, built: |$l:ident| $built:expr)?) => {
        fn class_name(&self) -> &'static str {
            $class
        }
        fn name(&self) -> &str {
            &layer_identity!(@name self $(, $($path).+)?)
        }
        fn set_name(&mut self, name: String) {
            layer_identity!(@name self $(, $($path).+)?) = name;
        }
        fn built(&self) -> bool {
            layer_identity!(@built self $(, $l, $built)?)
        }
    };
    (@built $s:ident) => { true };
    (@built $s:ident, $l:ident, $built:expr) => {{
        let $l = $s;
        $built
    }};
    (@name $s:ident) => { $s.config.name };
    (@name $s:ident, $($path:ident).+) => { $s.$($path).+ };
}
pub(crate) use layer_identity;
