//! Registration of user-defined layer classes, so that models using them load from their
//! configs (`Sequential::from_config`, `Model::load`).

use super::Layer;
use crate::backend::Backend;
use crate::error::Result;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Builds a layer from its JSON config (the output of its `get_config`).
pub type LayerFactory<B> = fn(&serde_json::Value) -> Result<Box<dyn Layer<B>>>;

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
