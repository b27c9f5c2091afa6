//! A functional [`Model`]'s config ([`Model::get_config`], [`Model::from_config`]) and
//! loading a saved one ([`Model::load`]).

use super::{lock, Model, Shared, SymbolicTensor};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::layers::{Input, Layer};
use std::collections::HashMap;

impl<B: Backend> Model<B> {
    /// The graph as JSON: each layer's class and config once, then the nodes in
    /// topological order with their inputs (`[node, output]` pairs), the model inputs and
    /// outputs. [`Model::from_config`] rebuilds the same graph (fresh weights).
    pub fn get_config(&self) -> serde_json::Value {
        let index: HashMap<usize, usize> = self
            .arch
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id, i))
            .collect();
        let mut layers = Vec::new();
        for l in &self.arch.layers {
            if let Ok(g) = lock(l) {
                layers.push(serde_json::json!({"class_name": g.class_name(), "config": g.get_config(), "name": g.name()}));
            }
        }
        let nodes: Vec<serde_json::Value> = self.arch
            .nodes
            .iter()
            .map(|n| match &n.layer {
                None => {
                    let i = self.arch.inputs.iter().position(|t| t.node.id == n.id).unwrap_or(0);
                    serde_json::json!({"input": self.arch.input_names.get(i).cloned().unwrap_or_default(), "shape": n.output_shapes[0]})
                }
                Some(l) => {
                    let name = lock(l).map(|g| g.name().to_string()).unwrap_or_default();
                    let inputs: Vec<[usize; 2]> = n.inputs.iter().map(|t| [index[&t.node.id], t.index]).collect();
                    serde_json::json!({"layer": name, "inputs": inputs})
                }
            })
            .collect();
        let inputs: Vec<usize> = self.arch.inputs.iter().map(|t| index[&t.node.id]).collect();
        let outputs: Vec<[usize; 2]> = self
            .arch
            .outputs
            .iter()
            .map(|t| [index[&t.node.id], t.index])
            .collect();
        serde_json::json!({
            "name": self.arch.name,
            "layers": layers,
            "nodes": nodes,
            "inputs": inputs,
            "outputs": outputs,
        })
    }

    /// Rebuilds a model from [`Model::get_config`] (fresh weights; layer names kept).
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed config, unknown layer classes (register custom
    /// ones with [`crate::layers::register_layer`]).
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let name = config["name"].as_str().unwrap_or("");
        crate::limits::nested_model(name, || Self::from_config_inner(config))
    }

    fn from_config_inner(config: &serde_json::Value) -> Result<Self> {
        let bad = |what: &str| Error::config("model_config", what.to_string());
        let mut shared: HashMap<String, Shared<B>> = HashMap::new();
        for l in config["layers"]
            .as_array()
            .ok_or_else(|| bad("missing 'layers'"))?
        {
            let class = l["class_name"]
                .as_str()
                .ok_or_else(|| bad("a layer without class_name"))?;
            let name = l["name"].as_str().unwrap_or("").to_string();
            let mut layer = layer_from_config::<B>(class, &l["config"])?;
            if !name.is_empty() {
                layer.set_name(name.clone());
            }
            shared.insert(name, Shared::from_boxed(layer));
        }
        let mut built: Vec<Vec<SymbolicTensor<B>>> = Vec::new();
        for (i, n) in config["nodes"]
            .as_array()
            .ok_or_else(|| bad("missing 'nodes'"))?
            .iter()
            .enumerate()
        {
            if let Some(input) = n.get("input") {
                let name = input.as_str().unwrap_or("");
                let shape = crate::layers::cfg_shape(n, &format!("input '{name}'"), "shape", 1)?;
                built.push(vec![Input::new(&shape).name(name).tensor::<B>()]);
                continue;
            }
            let lname = n["layer"]
                .as_str()
                .ok_or_else(|| bad(&format!("node {i} has neither 'input' nor 'layer'")))?;
            let layer = shared
                .get(lname)
                .ok_or_else(|| bad(&format!("node {i} uses unknown layer '{lname}'")))?;
            let refs: Vec<[usize; 2]> = serde_json::from_value(n["inputs"].clone())?;
            let args: Vec<SymbolicTensor<B>> = refs
                .iter()
                .map(|[node, out]| {
                    built
                        .get(*node)
                        .and_then(|v| v.get(*out))
                        .cloned()
                        .ok_or_else(|| {
                            bad(&format!(
                                "node {i} refers to node {node} output {out}, not built yet"
                            ))
                        })
                })
                .collect::<Result<_>>()?;
            built.push(layer.apply_outputs(&args)?);
        }
        let pick = |[node, out]: [usize; 2]| -> Result<SymbolicTensor<B>> {
            built
                .get(node)
                .and_then(|v| v.get(out))
                .cloned()
                .ok_or_else(|| bad(&format!("no node {node} output {out}")))
        };
        let inputs: Vec<usize> = serde_json::from_value(config["inputs"].clone())?;
        let outputs: Vec<[usize; 2]> = serde_json::from_value(config["outputs"].clone())?;
        let inputs: Vec<SymbolicTensor<B>> = inputs
            .into_iter()
            .map(|i| pick([i, 0]))
            .collect::<Result<_>>()?;
        let outputs: Vec<SymbolicTensor<B>> =
            outputs.into_iter().map(pick).collect::<Result<_>>()?;
        let mut m = Model::new(&inputs, &outputs)?;
        if let Some(name) = config["name"].as_str() {
            m.arch.name = name.to_string();
        }
        Ok(m)
    }
}

impl<B: Backend> Model<B> {
    /// Loads a model saved with `save` (on any engine), like [`crate::Sequential::load`]:
    /// onto [`Device::auto`](crate::Device::auto) whatever device it was saved from (inside a [`Device::scope`](crate::Device::scope),
    /// onto that device).
    ///
    /// # Limits
    /// As [`crate::Sequential::load`]: every size in the file's config is a whole number in
    /// `1..=2^31 - 1`, one weight holds at most `2^32` values, the weights built from the
    /// config hold at most as many values as the file stores (refused before allocating),
    /// models nest at most 32 deep; see [`crate::limits`].
    ///
    /// # Errors
    /// A missing, truncated, corrupted, foreign or newer file, a config over the limits
    /// above, or weights that do not match the architecture: a clear error, never a panic.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self> {
        crate::model::persist::load_model(path.as_ref(), "Functional", None, Self::from_config)
    }
}

/// Builds a layer from its class name and config, as [`crate::layers::layer_from_config`]
/// does, and also a nested functional model (`"Functional"`, through
/// [`Model::from_config`]): the lookup a saved model's config goes through.
///
/// ```
/// use stratanet::DefaultBackend as B;
/// let layer = stratanet::model::layer_from_config::<B>("Dense", &serde_json::json!({"units": 2}))?;
/// assert_eq!(layer.class_name(), "Dense");
/// # Ok::<(), stratanet::Error>(())
/// ```
///
/// # Errors
/// As [`crate::layers::layer_from_config`] (the "known names" of an unknown class include
/// `Functional`), and [`Model::from_config`]'s for a nested model.
pub fn layer_from_config<B: Backend>(
    class_name: &str,
    config: &serde_json::Value,
) -> Result<Box<dyn Layer<B>>> {
    if class_name == "Functional" {
        return Ok(Box::new(Model::<B>::from_config(config)?));
    }
    crate::layers::layer_from_config::<B>(class_name, config).map_err(|e| match e {
        Error::UnknownName {
            kind,
            name,
            mut known,
        } => {
            known.push("Functional".to_string());
            Error::UnknownName { kind, name, known }
        }
        e => e,
    })
}
