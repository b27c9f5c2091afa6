//! The model's layer graph read from its config: one entry a model input or a layer
//! application, in topological order, with the `(node, output)` of each model output.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::model::ModelParts;
use serde_json::Value;
use std::collections::HashMap;

/// One application of a layer in the model graph.
pub(super) struct GNode {
    pub(super) layer: String,
    pub(super) class: String,
    pub(super) config: Value,
    /// `(node index, output index)` of each input; a model input is a node with no layer.
    pub(super) inputs: Vec<(usize, usize)>,
}

/// A graph entry: a model input (name, per-sample shape) or a layer application.
pub(super) enum Entry {
    Input(String, Vec<usize>),
    Layer(GNode),
}

/// The model's graph from its config, in topological order, and its outputs.
/// Graph entries in topological order and the `(node, output)` of each model output.
pub(super) type Graph = (Vec<Entry>, Vec<(usize, usize)>);

pub(super) fn graph_of<B: Backend, M: ModelParts<B>>(m: &M) -> Result<Graph> {
    let cfg = m.model_config();
    let bad = |what: &str| Error::config("onnx export", what.to_string());
    let class = m.model_class();
    let mut entries = Vec::new();
    if class == "Sequential" {
        let layers = cfg["layers"]
            .as_array()
            .ok_or_else(|| bad("model config without layers"))?;
        for l in layers {
            let class = l["class_name"].as_str().unwrap_or_default().to_string();
            let config = l["config"].clone();
            if class == "InputLayer" {
                if !entries.is_empty() {
                    return Err(bad("an InputLayer after the first layer"));
                }
                let shape: Vec<usize> = serde_json::from_value(config["shape"].clone())?;
                let names = m.input_names();
                let name = names
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "input_layer".into());
                entries.push(Entry::Input(name, shape));
                continue;
            }
            if entries.is_empty() {
                return Err(Error::NotReady {
                    op: "onnx export".into(),
                    needed: "built".into(),
                    hint: "give the model an Input (or call it once) so its input shape is known"
                        .into(),
                });
            }
            let prev = entries.len() - 1;
            entries.push(Entry::Layer(GNode {
                layer: config["name"].as_str().unwrap_or_default().to_string(),
                class,
                config,
                inputs: vec![(prev, 0)],
            }));
        }
        if entries.len() < 2 {
            return Err(bad("the model has no layers"));
        }
        let last = entries.len() - 1;
        Ok((entries, vec![(last, 0)]))
    } else {
        let mut by_name: HashMap<String, (String, Value)> = HashMap::new();
        for l in cfg["layers"]
            .as_array()
            .ok_or_else(|| bad("model config without layers"))?
        {
            by_name.insert(
                l["name"].as_str().unwrap_or_default().to_string(),
                (
                    l["class_name"].as_str().unwrap_or_default().to_string(),
                    l["config"].clone(),
                ),
            );
        }
        for n in cfg["nodes"]
            .as_array()
            .ok_or_else(|| bad("model config without nodes"))?
        {
            if let Some(input) = n.get("input") {
                let shape: Vec<usize> = serde_json::from_value(n["shape"].clone())?;
                entries.push(Entry::Input(
                    input.as_str().unwrap_or_default().to_string(),
                    shape,
                ));
                continue;
            }
            let layer = n["layer"].as_str().unwrap_or_default().to_string();
            let (class, config) = by_name
                .get(&layer)
                .cloned()
                .ok_or_else(|| bad(&format!("node uses unknown layer '{layer}'")))?;
            let inputs: Vec<(usize, usize)> = serde_json::from_value(n["inputs"].clone())?;
            entries.push(Entry::Layer(GNode {
                layer,
                class,
                config,
                inputs,
            }));
        }
        let outputs: Vec<(usize, usize)> = serde_json::from_value(cfg["outputs"].clone())?;
        Ok((entries, outputs))
    }
}
