//! Layer configs as types: the [`LayerConfig`] trait (a layer's hyper-parameters in one
//! serde struct with Keras' field names and defaults), [`parse`] (JSON to config with errors
//! naming the layer and the field), and the macros that write the rest: the config struct
//! itself, builder setters and the config/identity methods of a layer.
//!
//! ## Adding a layer with this pattern
//!
//! 1. Declare the config with `layer_config!`: each hyper-parameter under Keras' name with
//!    its Keras default after `=` (a `name` field comes first by itself), and in
//!    `check(config) { .. }` the checks of raw values against [`crate::limits`] (sizes,
//!    shapes) whose errors must name the layer. Field types serialize as the file format
//!    wants: [`crate::initializers::Initializer`], [`crate::regularizers::Regularizer`],
//!    [`crate::activations::Activation`] and [`crate::activations::ActivationSpec`] have
//!    serde impls writing today's encodings; `#[serde(..)]` attributes pass through.
//! 2. The layer holds `config: FooConfig`; `config_methods!(FooConfig)` writes
//!    `with_config`, `config`, the `name` builder and `from_config`, `config_setters!` the
//!    other builders (`field: Type`, `field: Option<Type>`, `field: lowercase`).
//! 3. In `impl Layer`: `layer_identity!("Foo", built: |l| ..)`, `trainable_config!()` for
//!    `trainable`/`set_trainable`/`get_config`, or `shape_preserving!()` for a weightless
//!    layer that keeps its input's shape; weights through [`super::weights`].

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

/// Writes a resolvable activation as its config, an unknown name as `null`.
pub(crate) fn resolved_or_null<S: serde::Serializer>(
    a: &crate::activations::ActivationSpec,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    a.resolve().ok().serialize(s)
}

/// A config as JSON (what `get_config` returns).
pub(crate) fn to_json<C: Serialize>(config: &C) -> serde_json::Value {
    serde_json::to_value(config).unwrap_or(serde_json::Value::Null)
}

/// Builder setters writing `self.config.<field>`, doc comments passed through. A field
/// declared `field: Option<T>` gets a setter taking `T`; `field: lowercase` a setter
/// taking `&str`, stored lowercased.
///
/// ```ignore
/// config_setters! {
///     /// Whether to add a bias (default `true`).
///     use_bias: bool,
///     /// Penalty on the kernel, added to the training loss.
///     kernel_regularizer: Option<Regularizer>,
///     /// `"channels_last"` (default) or `"channels_first"`; stored lowercased.
///     data_format: lowercase,
/// }
/// ```
macro_rules! config_setters {
    () => {};
    ($(#[$doc:meta])* $field:ident: lowercase, $($rest:tt)*) => {
        $(#[$doc])*
        pub fn $field(mut self, value: &str) -> Self {
            self.config.$field = value.to_lowercase();
            self
        }
        config_setters!($($rest)*);
    };
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

/// The [`super::Layer`] methods over a config with a `trainable` field: `trainable`,
/// `set_trainable` and (unless `trainable only`) `get_config` as the config's JSON.
macro_rules! trainable_config {
    () => {
        $crate::layers::config::trainable_config!(trainable only);
        fn get_config(&self) -> serde_json::Value {
            $crate::layers::config::to_json(&self.config)
        }
    };
    (trainable only) => {
        fn trainable(&self) -> bool {
            self.config.trainable
        }
        fn set_trainable(&mut self, trainable: bool) {
            self.config.trainable = trainable;
        }
    };
}
pub(crate) use trainable_config;

/// The [`super::Layer`] methods of a layer without weights that keeps the shape of its
/// input: `output_shape` is the input's, `get_config` the config's JSON (`build` is the
/// trait's default: validation).
macro_rules! shape_preserving {
    () => {
        fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
            Ok(input_shape.to_vec())
        }
        fn get_config(&self) -> serde_json::Value {
            $crate::layers::config::to_json(&self.config)
        }
    };
}
pub(crate) use shape_preserving;

/// Declares a layer's `…Config`: the struct (a `name` field first unless `without name`,
/// then the fields given, each with Keras' default after `=`), its `Default` and its [`LayerConfig`] impl, with
/// `check(config) { .. }` as [`LayerConfig::check_raw`] when given. Field attributes (doc
/// comments, `#[serde(..)]`) pass through.
///
/// ```ignore
/// layer_config! {
///     /// The hyper-parameters of [`Dropout`].
///     pub struct DropoutConfig for "Dropout" {
///         /// Fraction of the inputs dropped in training (required).
///         rate: f64 = 0.0,
///         /// Fixed seed of the masks.
///         seed: Option<u64> = None,
///     }
///     check(config) { cfg_f64(config, "Dropout", "rate").map(|_| ()) }
/// }
/// ```
macro_rules! layer_config {
    (
        @emit [$($meta:tt)*] $config:ident $class:literal {
            $($(#[$fmeta:meta])* $field:ident: $ty:ty = $default:expr,)*
        }
        $(check($raw:ident) $check:block)?
    ) => {
        $($meta)*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        #[serde(default)]
        pub struct $config {
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl Default for $config {
            fn default() -> Self {
                Self {
                    $($field: $default,)*
                }
            }
        }

        impl $crate::layers::config::LayerConfig for $config {
            const CLASS: &'static str = $class;
            $(fn check_raw($raw: &serde_json::Value) -> $crate::error::Result<()> $check)?
        }
    };
    (
        $(#[$meta:meta])*
        pub struct $config:ident for $class:literal without name { $($body:tt)* }
        $($rest:tt)*
    ) => {
        $crate::layers::config::layer_config!(
            @emit [$(#[$meta])*] $config $class { $($body)* } $($rest)*
        );
    };
    (
        $(#[$meta:meta])*
        pub struct $config:ident for $class:literal { $($body:tt)* }
        $($rest:tt)*
    ) => {
        $crate::layers::config::layer_config!(
            @emit [$(#[$meta])*] $config $class {
                /// Instance name.
                name: String = String::new(),
                $($body)*
            } $($rest)*
        );
    };
}
pub(crate) use layer_config;

/// The config methods of a layer keeping its hyper-parameters in `config: $config`:
/// `with_config` (built by the closure given, else `Self { config }`), `config`, the `name`
/// builder and `from_config` (through [`parse`], or [`parse_as`] with `class: ..` for a
/// config shared by several classes; `without from_config` when the layer writes its own).
macro_rules! config_methods {
    (@with $config:ty) => {
        $crate::layers::config::config_methods!(@with $config, |config| Self { config });
    };
    (@with $config:ty, |$c:ident| $ctor:expr) => {
        /// A layer with the given hyper-parameters.
        pub fn with_config($c: $config) -> Self {
            $ctor
        }
    };
    (@common $config:ty) => {
        /// The hyper-parameters.
        pub fn config(&self) -> &$config {
            &self.config
        }

        /// Sets the layer's name.
        pub fn name(mut self, name: &str) -> Self {
            self.config.name = name.to_string();
            self
        }
    };
    (@from $config:ty $(, $class:expr)?) => {
        /// Inverse of `get_config`.
        ///
        /// # Errors
        /// [`Error::Config`](crate::Error::Config) naming the class and the field of a
        /// malformed config; a value out of its limits names the layer.
        pub fn from_config(config: &serde_json::Value) -> $crate::error::Result<Self> {
            $crate::layers::config::config_methods!(@parse config $(, $class)?)
                .map(Self::with_config)
        }
    };
    (@parse $v:ident) => {
        $crate::layers::config::parse($v)
    };
    (@parse $v:ident, $class:expr) => {
        $crate::layers::config::parse_as($v, $class)
    };
    ($config:ty, without from_config) => {
        $crate::layers::config::config_methods!(@with $config);
        $crate::layers::config::config_methods!(@common $config);
    };
    ($config:ty $(, |$c:ident| $ctor:expr)? $(, class: $class:expr)?) => {
        $crate::layers::config::config_methods!(@with $config $(, |$c| $ctor)?);
        $crate::layers::config::config_methods!(@common $config);
        $crate::layers::config::config_methods!(@from $config $(, $class)?);
    };
}
pub(crate) use config_methods;
