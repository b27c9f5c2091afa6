//! The layer registry: one table of built-in layer classes (driving both
//! [`super::layer_from_config`] and the "known names" list of its error) and the
//! registration of user-defined classes, so that models using them load from their configs
//! (`Sequential::from_config`, `Model::load`).

use super::*;
use crate::backend::Backend;
use crate::error::{Error, Result};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Builds a layer from its JSON config (the output of its `get_config`).
pub type LayerFactory<B> = fn(&serde_json::Value) -> Result<Box<dyn Layer<B>>>;

/// One table entry: `"Dense" => Dense::<B>::from_config`, boxed.
macro_rules! entry {
    ($name:literal => $ctor:expr) => {
        (
            $name,
            (|c: &serde_json::Value| -> Result<Box<dyn Layer<B>>> { Ok(Box::new($ctor(c)?)) })
                as LayerFactory<B>,
        )
    };
}

/// Merge layers share one type; the table entry passes the class name on.
macro_rules! merge {
    ($name:literal) => {
        entry!($name => |c| Merge::from_config($name, c))
    };
}

/// The built-in layer classes, in the order the "known names" of an error lists them.
pub(crate) fn builtins<B: Backend>() -> [(&'static str, LayerFactory<B>); 55] {
    [
        entry!("InputLayer" => Input::from_config),
        entry!("Dense" => Dense::<B>::from_config),
        entry!("Activation" => ActivationLayer::from_config),
        entry!("Dropout" => Dropout::from_config),
        entry!("Flatten" => Flatten::from_config),
        entry!("Reshape" => Reshape::from_config),
        merge!("Add"),
        merge!("Subtract"),
        merge!("Multiply"),
        merge!("Average"),
        merge!("Maximum"),
        merge!("Minimum"),
        entry!("Concatenate" => Concatenate::from_config),
        entry!("Conv1D" => Conv1D::<B>::from_config),
        entry!("Conv2D" => Conv2D::<B>::from_config),
        entry!("Conv2DTranspose" => Conv2DTranspose::<B>::from_config),
        entry!("DepthwiseConv2D" => DepthwiseConv2D::<B>::from_config),
        entry!("SeparableConv2D" => SeparableConv2D::<B>::from_config),
        entry!("MaxPooling1D" => MaxPooling1D::from_config),
        entry!("MaxPooling2D" => MaxPooling2D::from_config),
        entry!("AveragePooling1D" => AveragePooling1D::from_config),
        entry!("AveragePooling2D" => AveragePooling2D::from_config),
        entry!("GlobalAveragePooling1D" => GlobalAveragePooling1D::from_config),
        entry!("GlobalAveragePooling2D" => GlobalAveragePooling2D::from_config),
        entry!("GlobalMaxPooling1D" => GlobalMaxPooling1D::from_config),
        entry!("GlobalMaxPooling2D" => GlobalMaxPooling2D::from_config),
        entry!("BatchNormalization" => BatchNormalization::<B>::from_config),
        entry!("LayerNormalization" => LayerNormalization::<B>::from_config),
        entry!("ZeroPadding2D" => ZeroPadding2D::from_config),
        entry!("UpSampling2D" => UpSampling2D::from_config),
        entry!("Permute" => Permute::from_config),
        entry!("RepeatVector" => RepeatVector::from_config),
        entry!("SpatialDropout1D" => SpatialDropout1D::from_config),
        entry!("SpatialDropout2D" => SpatialDropout2D::from_config),
        entry!("GaussianNoise" => GaussianNoise::from_config),
        entry!("SimpleRNN" => SimpleRNN::<B>::from_config),
        entry!("LSTM" => LSTM::<B>::from_config),
        entry!("GRU" => GRU::<B>::from_config),
        ("Bidirectional", bidirectional::<B>),
        entry!("Embedding" => Embedding::<B>::from_config),
        entry!("MultiHeadAttention" => MultiHeadAttention::<B>::from_config),
        entry!("Normalization" => Normalization::<B>::from_config),
        entry!("Discretization" => Discretization::<B>::from_config),
        entry!("CategoryEncoding" => CategoryEncoding::from_config),
        entry!("IntegerLookup" => IntegerLookup::<B>::from_config),
        entry!("Hashing" => Hashing::<B>::from_config),
        entry!("Rescaling" => Rescaling::from_config),
        entry!("Resizing" => Resizing::from_config),
        entry!("CenterCrop" => CenterCrop::from_config),
        entry!("RandomFlip" => RandomFlip::from_config),
        entry!("RandomRotation" => RandomRotation::from_config),
        entry!("RandomZoom" => RandomZoom::from_config),
        entry!("RandomTranslation" => RandomTranslation::from_config),
        entry!("RandomContrast" => RandomContrast::from_config),
        entry!("RandomBrightness" => RandomBrightness::from_config),
    ]
}

/// `Bidirectional` wraps one of three cells, named in its config.
fn bidirectional<B: Backend>(config: &serde_json::Value) -> Result<Box<dyn Layer<B>>> {
    Ok(
        match recurrent::bidirectional_inner_class(config)?.as_str() {
            "SimpleRNN" => Box::new(Bidirectional::<B, SimpleCell>::from_config(config)?),
            "LSTM" => Box::new(Bidirectional::<B, LstmCell>::from_config(config)?),
            "GRU" => Box::new(Bidirectional::<B, GruCell>::from_config(config)?),
            other => {
                return Err(Error::unknown(
                    "Bidirectional inner layer class",
                    other,
                    &["SimpleRNN", "LSTM", "GRU"],
                ))
            }
        },
    )
}

type Registry = HashMap<(TypeId, String), Box<dyn Any + Send>>;

fn registry() -> &'static Mutex<Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Registers a layer class by name for engine `B` (like Keras'
/// `register_keras_serializable`): configs whose `class_name` is `class_name` are built with
/// `factory`. Registering a name again replaces the factory.
///
/// ```
/// use stratanet::layers::{register_layer, Layer, BuildContext, CallContext};
/// use stratanet::{DefaultBackend as B, Result, Tensor};
///
/// /// Multiplies its input by a constant.
/// #[derive(Debug)]
/// struct Scale { factor: f64, name: String }
///
/// impl Layer<B> for Scale {
///     fn class_name(&self) -> &'static str { "Scale" }
///     fn name(&self) -> &str { &self.name }
///     fn set_name(&mut self, name: String) { self.name = name }
///     fn built(&self) -> bool { true }
///     fn build(&mut self, _: &[usize], _: &mut BuildContext) -> Result<()> { Ok(()) }
///     fn output_shape(&self, s: &[usize]) -> Result<Vec<usize>> { Ok(s.to_vec()) }
///     fn call(&self, x: &Tensor<B>, _: &mut CallContext) -> Result<Tensor<B>> { x.mul_scalar(self.factor) }
///     fn get_config(&self) -> serde_json::Value { serde_json::json!({"name": self.name, "factor": self.factor}) }
/// }
///
/// register_layer::<B>("Scale", |cfg| {
///     Ok(Box::new(Scale {
///         factor: cfg["factor"].as_f64().unwrap_or(1.0),
///         name: cfg["name"].as_str().unwrap_or("").to_string(),
///     }))
/// });
/// let layer = stratanet::layers::layer_from_config::<B>("Scale", &serde_json::json!({"factor": 2.0}))?;
/// assert_eq!(layer.class_name(), "Scale");
/// # Ok::<(), stratanet::Error>(())
/// ```
pub fn register_layer<B: Backend>(class_name: &str, factory: LayerFactory<B>) {
    if let Ok(mut r) = registry().lock() {
        r.insert(
            (TypeId::of::<B>(), class_name.to_string()),
            Box::new(factory),
        );
    }
}

/// The registered factory for `class_name` on engine `B`.
pub(crate) fn lookup<B: Backend>(class_name: &str) -> Option<LayerFactory<B>> {
    let r = registry().lock().ok()?;
    r.get(&(TypeId::of::<B>(), class_name.to_string()))
        .and_then(|f| f.downcast_ref::<LayerFactory<B>>())
        .copied()
}

/// Names registered for engine `B` (for error messages).
pub(crate) fn registered_names<B: Backend>() -> Vec<String> {
    registry()
        .lock()
        .map(|r| {
            let mut v: Vec<String> = r
                .keys()
                .filter(|(t, _)| *t == TypeId::of::<B>())
                .map(|(_, n)| n.clone())
                .collect();
            v.sort();
            v
        })
        .unwrap_or_default()
}
