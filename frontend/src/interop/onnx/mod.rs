//! ONNX export: writes a built `Sequential` or functional `Model` as an ONNX model
//! (opset [`OPSET`]) that `onnxruntime` and other ONNX tools run, with the model's
//! current weights as initializers and inference behaviour (dropout and noise are the
//! identity, batch normalization uses the moving statistics).
//!
//! Supported layers: `Dense`, `Activation` and every built-in activation, `Conv1D`,
//! `Conv2D` (channels-last models get `Transpose` nodes around ONNX's NCHW `Conv`),
//! `MaxPooling1D/2D`, `AveragePooling1D/2D`, `GlobalAveragePooling1D/2D`,
//! `GlobalMaxPooling1D/2D`, `BatchNormalization` (folded to `Mul` + `Add` on the feature
//! axis), `LayerNormalization`, `Flatten`, `Reshape`, `Permute`, the merges `Add`,
//! `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`, `Concatenate`, and `Dropout`,
//! `SpatialDropout1D/2D`, `GaussianNoise` (the identity). Any other layer (recurrent,
//! attention, nested models, custom layers) gives an error naming the layer and its class.
//!
//! The graph's inputs and outputs are named like the model's (`input_layer`, the output
//! layer's name) and have a symbolic batch dimension `batch`.
//!
//! ```
//! use stratanet::prelude::*;
//! # fn main() -> stratanet::Result<()> {
//! let mut model = Sequential::<DefaultBackend>::new();
//! model.add(Input::new(&[4]))?;
//! model.add(Dense::new(8).activation("relu"))?;
//! model.add(Dense::new(3).activation("softmax"))?;
//! # let dir = tempfile::tempdir()?;
//! let path = dir.path().join("stratanet-onnx-doc.onnx");
//! stratanet::interop::onnx::export(&model, &path)?;
//! let proto = stratanet::interop::onnx::read(&path)?;
//! let ops: Vec<String> = proto.graph.unwrap().node.iter().map(|n| n.op_type.clone().unwrap()).collect();
//! assert_eq!(ops, ["MatMul", "Add", "Relu", "MatMul", "Add", "Softmax"]);
//! # Ok(())
//! # }
//! ```

pub mod proto;

use crate::activations::Activation;
use crate::backend::{Backend, HostData};
use crate::data::HostTensor;
use crate::error::{Error, Result};
use crate::model::ModelParts;
use proto::{
    attribute_type, data_type, AttributeProto, Dimension, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto,
    TypeProtoTensor, ValueInfoProto,
};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// The ONNX operator set version the exporter targets.
pub const OPSET: i64 = 17;
/// The ONNX IR version matching [`OPSET`].
pub const IR_VERSION: i64 = 8;

/// Writes `model` (built: it needs its weights) to `path` as ONNX, atomically.
///
/// # Errors
/// A layer the exporter does not support (named, with its class), an unbuilt model,
/// engine and I/O errors. An existing file is left intact on failure.
pub fn export<B: Backend, M: ModelParts<B>>(model: &M, path: impl AsRef<Path>) -> Result<()> {
    let proto = to_proto(model)?;
    crate::saving::atomic_write(path.as_ref(), &prost::Message::encode_to_vec(&proto))
}

/// Reads an ONNX file back into the message structs (to inspect an export).
///
/// # Errors
/// I/O errors; [`Error::Config`] when the bytes are not an ONNX `ModelProto`.
pub fn read(path: impl AsRef<Path>) -> Result<ModelProto> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("reading {}: {e}", path.display()),
        ))
    })?;
    <ModelProto as prost::Message>::decode(bytes.as_slice()).map_err(|e| {
        Error::config(
            path.display().to_string(),
            format!("not an ONNX model ({e})"),
        )
    })
}

/// One application of a layer in the model graph.
struct GNode {
    layer: String,
    class: String,
    config: Value,
    /// `(node index, output index)` of each input; a model input is a node with no layer.
    inputs: Vec<(usize, usize)>,
}

enum Entry {
    Input(String, Vec<usize>),
    Layer(GNode),
}

/// The model's graph from its config, in topological order, and its outputs.
/// Graph entries in topological order and the `(node, output)` of each model output.
type Graph = (Vec<Entry>, Vec<(usize, usize)>);

fn graph_of<B: Backend, M: ModelParts<B>>(m: &M) -> Result<Graph> {
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

fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_type::INT),
        i: Some(v),
        ..Default::default()
    }
}

fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_type::INTS),
        ints: v.to_vec(),
        ..Default::default()
    }
}

fn attr_float(name: &str, v: f64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_type::FLOAT),
        f: Some(v as f32),
        ..Default::default()
    }
}

fn attr_str(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_type::STRING),
        s: Some(v.as_bytes().to_vec()),
        ..Default::default()
    }
}

/// Builds the graph: nodes, initializers, unique value names.
struct Builder {
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    weights: HashMap<String, HostTensor>,
    /// `FLOAT` or `DOUBLE`: the models' float type.
    elem: i32,
    counter: usize,
}

impl Builder {
    fn fresh(&mut self, base: &str) -> String {
        self.counter += 1;
        format!("{base}:{}", self.counter)
    }

    fn node(
        &mut self,
        op: &str,
        layer: &str,
        inputs: &[&str],
        attrs: Vec<AttributeProto>,
    ) -> String {
        let out = self.fresh(&format!("{layer}/{op}"));
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            name: Some(format!("{layer}/{op}_{}", self.nodes.len())),
            op_type: Some(op.into()),
            attribute: attrs,
            ..Default::default()
        });
        out
    }

    fn float_init(&mut self, name: &str, values: &[f64], shape: &[usize]) -> String {
        let raw: Vec<u8> = if self.elem == data_type::DOUBLE {
            values.iter().flat_map(|v| v.to_le_bytes()).collect()
        } else {
            values
                .iter()
                .flat_map(|v| (*v as f32).to_le_bytes())
                .collect()
        };
        self.inits.push(TensorProto {
            dims: shape.iter().map(|&d| d as i64).collect(),
            data_type: Some(self.elem),
            name: Some(name.into()),
            raw_data: Some(raw),
            ..Default::default()
        });
        name.to_string()
    }

    fn int_init(&mut self, name: &str, values: &[i64]) -> String {
        self.inits.push(TensorProto {
            dims: vec![values.len() as i64],
            data_type: Some(data_type::INT64),
            name: Some(name.into()),
            int64_data: values.to_vec(),
            ..Default::default()
        });
        name.to_string()
    }

    fn scalar(&mut self, layer: &str, v: f64) -> String {
        let n = self.fresh(&format!("{layer}/const"));
        self.float_init(&n, &[v], &[])
    }

    /// The weight `layer/name` as an initializer (optionally transformed), by its name.
    fn weight(
        &mut self,
        layer: &str,
        name: &str,
        transform: Option<&[usize]>,
    ) -> Result<Option<String>> {
        let path = format!("{layer}/{name}");
        let Some(w) = self.weights.get(&path).cloned() else {
            return Ok(None);
        };
        let (w, init_name) = match transform {
            Some(perm) => (
                crate::interop::torch::permute_host(&w, perm),
                format!("{path}:onnx"),
            ),
            None => (w, path.clone()),
        };
        let values = host_f64(&w, &path)?;
        self.float_init(&init_name, &values, &w.shape);
        Ok(Some(init_name))
    }

    fn weight_values(&self, layer: &str, name: &str) -> Result<Option<Vec<f64>>> {
        let path = format!("{layer}/{name}");
        self.weights
            .get(&path)
            .map(|w| host_f64(w, &path))
            .transpose()
    }

    fn activation(&mut self, layer: &str, x: &str, spec: &Value) -> Result<String> {
        let a = Activation::from_config(spec)?;
        Ok(match a {
            Activation::Linear => x.to_string(),
            Activation::Relu => self.node("Relu", layer, &[x], vec![]),
            Activation::Sigmoid => self.node("Sigmoid", layer, &[x], vec![]),
            Activation::Tanh => self.node("Tanh", layer, &[x], vec![]),
            Activation::Softmax => self.node("Softmax", layer, &[x], vec![attr_int("axis", -1)]),
            Activation::LogSoftmax => {
                self.node("LogSoftmax", layer, &[x], vec![attr_int("axis", -1)])
            }
            Activation::Gelu => {
                // x * (0.5 + 0.5 * erf(x / sqrt(2))), as the engines compute it.
                let k = self.scalar(layer, std::f64::consts::FRAC_1_SQRT_2);
                let s = self.node("Mul", layer, &[x, &k], vec![]);
                let e = self.node("Erf", layer, &[&s], vec![]);
                let half = self.scalar(layer, 0.5);
                let h = self.node("Mul", layer, &[&e, &half], vec![]);
                let h = self.node("Add", layer, &[&h, &half], vec![]);
                self.node("Mul", layer, &[x, &h], vec![])
            }
            Activation::Silu => {
                let s = self.node("Sigmoid", layer, &[x], vec![]);
                self.node("Mul", layer, &[x, &s], vec![])
            }
            Activation::Elu => self.node("Elu", layer, &[x], vec![attr_float("alpha", 1.0)]),
            Activation::Selu => self.node(
                "Selu",
                layer,
                &[x],
                vec![
                    attr_float("alpha", 1.673_263_242_354_377_3),
                    attr_float("gamma", 1.050_700_987_355_480_5),
                ],
            ),
            Activation::LeakyRelu(alpha) => {
                self.node("LeakyRelu", layer, &[x], vec![attr_float("alpha", alpha)])
            }
            Activation::Softplus => self.node("Softplus", layer, &[x], vec![]),
        })
    }
}

fn host_f64(w: &HostTensor, path: &str) -> Result<Vec<f64>> {
    Ok(match &w.data {
        HostData::F32(v) => v.iter().map(|&x| x as f64).collect(),
        HostData::F64(v) => v.clone(),
        _ => {
            return Err(Error::config(
                path,
                "the ONNX exporter handles floating-point weights only",
            ))
        }
    })
}

fn usizes(v: &Value, key: &str, rank: usize, default: usize) -> Vec<i64> {
    match &v[key] {
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_i64().unwrap_or(default as i64))
            .collect(),
        Value::Number(n) => vec![n.as_i64().unwrap_or(default as i64); rank],
        _ => vec![default as i64; rank],
    }
}

/// Unsupported-layer error.
fn unsupported(layer: &str, class: &str, why: &str) -> Error {
    Error::invalid(
        "onnx export",
        format!("layer '{layer}' ({class})"),
        why.to_string(),
    )
}

/// The conv/pool spatial attributes; `padding` from the config.
fn spatial_attrs(
    layer: &str,
    class: &str,
    cfg: &Value,
    rank: usize,
    window_key: &str,
    conv: bool,
) -> Result<Vec<AttributeProto>> {
    let window = usizes(cfg, window_key, rank, 1);
    let strides = usizes(cfg, "strides", rank, 1);
    let mut attrs = vec![
        attr_ints("kernel_shape", &window),
        attr_ints("strides", &strides),
    ];
    if conv {
        let dil = usizes(cfg, "dilation_rate", rank, 1);
        attrs.push(attr_ints("dilations", &dil));
        attrs.push(attr_int("group", cfg["groups"].as_i64().unwrap_or(1)));
    }
    match cfg["padding"].as_str().unwrap_or("valid") {
        "valid" => attrs.push(attr_ints("pads", &vec![0; 2 * rank])),
        "same" => attrs.push(attr_str("auto_pad", "SAME_UPPER")),
        "causal" if conv && rank == 1 => {
            let dil = usizes(cfg, "dilation_rate", rank, 1);
            attrs.push(attr_ints("pads", &[(window[0] - 1) * dil[0], 0]));
        }
        other => {
            return Err(unsupported(
                layer,
                class,
                &format!("padding '{other}' is not supported by the ONNX exporter"),
            ))
        }
    }
    Ok(attrs)
}

fn channels_last(cfg: &Value) -> bool {
    cfg["data_format"].as_str().unwrap_or("channels_last") == "channels_last"
}

/// Runs `op` on a channels-last tensor by transposing to channels-first and back.
fn channels_first_op(
    b: &mut Builder,
    layer: &str,
    x: &str,
    rank: usize,
    cfg: &Value,
    extra_inputs: &[String],
    (op, attrs): (&str, Vec<AttributeProto>),
) -> String {
    let last = channels_last(cfg);
    let (to_cf, to_cl): (Vec<i64>, Vec<i64>) = if rank == 2 {
        (vec![0, 3, 1, 2], vec![0, 2, 3, 1])
    } else {
        (vec![0, 2, 1], vec![0, 2, 1])
    };
    let xin = if last {
        b.node("Transpose", layer, &[x], vec![attr_ints("perm", &to_cf)])
    } else {
        x.to_string()
    };
    let mut inputs: Vec<&str> = vec![&xin];
    inputs.extend(extra_inputs.iter().map(String::as_str));
    let y = b.node(op, layer, &inputs, attrs);
    if last {
        b.node("Transpose", layer, &[&y], vec![attr_ints("perm", &to_cl)])
    } else {
        y
    }
}

/// Emits one layer application; returns its output value.
fn emit(b: &mut Builder, n: &GNode, xs: &[String]) -> Result<String> {
    let (layer, class, cfg) = (n.layer.as_str(), n.class.as_str(), &n.config);
    let one = || -> Result<&String> {
        match xs {
            [x] => Ok(x),
            _ => Err(unsupported(layer, class, "expected one input")),
        }
    };
    let merge = |b: &mut Builder, op: &str| -> Result<String> {
        if xs.len() < 2 {
            return Err(unsupported(
                layer,
                class,
                "a merge needs at least two inputs",
            ));
        }
        let mut acc = xs[0].clone();
        for x in &xs[1..] {
            acc = b.node(op, layer, &[&acc, x], vec![]);
        }
        Ok(acc)
    };
    Ok(match class {
        "Dense" => {
            let x = one()?;
            let k = b
                .weight(layer, "kernel", None)?
                .ok_or_else(|| unsupported(layer, class, "not built (no kernel)"))?;
            let mut y = b.node("MatMul", layer, &[x, &k], vec![]);
            if let Some(bias) = b.weight(layer, "bias", None)? {
                y = b.node("Add", layer, &[&y, &bias], vec![]);
            }
            b.activation(layer, &y, &cfg["activation"])?
        }
        "Activation" => {
            let x = one()?.clone();
            b.activation(layer, &x, &cfg["activation"])?
        }
        "Dropout" | "SpatialDropout1D" | "SpatialDropout2D" | "GaussianNoise" => {
            let x = one()?.clone();
            b.node("Identity", layer, &[&x], vec![])
        }
        "Flatten" => {
            let x = one()?.clone();
            b.node("Flatten", layer, &[&x], vec![attr_int("axis", 1)])
        }
        "Reshape" => {
            let x = one()?.clone();
            let target: Vec<i64> = serde_json::from_value(cfg["target_shape"].clone())?;
            let mut shape = vec![0i64];
            shape.extend(target);
            let s = b.fresh(&format!("{layer}/shape"));
            let s = b.int_init(&s, &shape);
            b.node("Reshape", layer, &[&x, &s], vec![])
        }
        "Permute" => {
            let x = one()?.clone();
            let dims: Vec<i64> = serde_json::from_value(cfg["dims"].clone())?;
            let mut perm = vec![0i64];
            perm.extend(dims);
            b.node("Transpose", layer, &[&x], vec![attr_ints("perm", &perm)])
        }
        "Conv2D" | "Conv1D" => {
            let x = one()?.clone();
            let rank = if class == "Conv2D" { 2 } else { 1 };
            let perm: &[usize] = if rank == 2 { &[3, 2, 0, 1] } else { &[2, 1, 0] };
            let k = b
                .weight(layer, "kernel", Some(perm))?
                .ok_or_else(|| unsupported(layer, class, "not built (no kernel)"))?;
            let mut extra = vec![k];
            if let Some(bias) = b.weight(layer, "bias", None)? {
                extra.push(bias);
            }
            let attrs = spatial_attrs(layer, class, cfg, rank, "kernel_size", true)?;
            let y = channels_first_op(b, layer, &x, rank, cfg, &extra, ("Conv", attrs));
            b.activation(layer, &y, &cfg["activation"])?
        }
        "MaxPooling2D" | "AveragePooling2D" | "MaxPooling1D" | "AveragePooling1D" => {
            let x = one()?.clone();
            let rank = if class.ends_with("2D") { 2 } else { 1 };
            let op = if class.starts_with("Max") {
                "MaxPool"
            } else {
                "AveragePool"
            };
            let attrs = spatial_attrs(layer, class, cfg, rank, "pool_size", false)?;
            channels_first_op(b, layer, &x, rank, cfg, &[], (op, attrs))
        }
        "GlobalAveragePooling2D" | "GlobalMaxPooling2D" | "GlobalAveragePooling1D"
        | "GlobalMaxPooling1D" => {
            let x = one()?.clone();
            let two = class.ends_with("2D");
            let axes: Vec<i64> = match (two, channels_last(cfg)) {
                (true, true) => vec![1, 2],
                (true, false) => vec![2, 3],
                (false, true) => vec![1],
                (false, false) => vec![2],
            };
            let op = if class.starts_with("GlobalMax") {
                "ReduceMax"
            } else {
                "ReduceMean"
            };
            let keep = cfg["keepdims"].as_bool().unwrap_or(false) as i64;
            b.node(
                op,
                layer,
                &[&x],
                vec![attr_ints("axes", &axes), attr_int("keepdims", keep)],
            )
        }
        "BatchNormalization" => {
            let x = one()?.clone();
            if cfg["axis"].as_i64().unwrap_or(-1) != -1 {
                return Err(unsupported(
                    layer,
                    class,
                    "only axis -1 (channels-last) is supported by the ONNX exporter",
                ));
            }
            let eps = cfg["epsilon"].as_f64().unwrap_or(1e-3);
            let mean = b
                .weight_values(layer, "moving_mean")?
                .ok_or_else(|| unsupported(layer, class, "not built (no moving_mean)"))?;
            let var = b
                .weight_values(layer, "moving_variance")?
                .ok_or_else(|| unsupported(layer, class, "not built"))?;
            let c = mean.len();
            let gamma = b.weight_values(layer, "gamma")?.unwrap_or(vec![1.0; c]);
            let beta = b.weight_values(layer, "beta")?.unwrap_or(vec![0.0; c]);
            // Inference: (x - mean) * (gamma / sqrt(var + eps)) + beta.
            let scale: Vec<f64> = (0..c).map(|i| gamma[i] / (var[i] + eps).sqrt()).collect();
            let m = b.float_init(&format!("{layer}/moving_mean"), &mean, &[c]);
            let s = b.float_init(&format!("{layer}/scale:onnx"), &scale, &[c]);
            let bt = b.float_init(&format!("{layer}/beta:onnx"), &beta, &[c]);
            let y = b.node("Sub", layer, &[&x, &m], vec![]);
            let y = b.node("Mul", layer, &[&y, &s], vec![]);
            b.node("Add", layer, &[&y, &bt], vec![])
        }
        "LayerNormalization" => {
            let x = one()?.clone();
            let axis = &cfg["axis"];
            let single = match axis {
                Value::Number(n) => n.as_i64() == Some(-1),
                Value::Array(a) => a.len() == 1 && a[0].as_i64() == Some(-1),
                _ => false,
            };
            if !single {
                return Err(unsupported(
                    layer,
                    class,
                    "only axis -1 is supported by the ONNX exporter",
                ));
            }
            let eps = cfg["epsilon"].as_f64().unwrap_or(1e-3);
            let gamma = b.weight_values(layer, "gamma")?;
            let beta = b.weight_values(layer, "beta")?;
            let c = gamma
                .as_ref()
                .or(beta.as_ref())
                .map(Vec::len)
                .ok_or_else(|| {
                    unsupported(
                        layer,
                        class,
                        "needs scale or center (its feature size is otherwise unknown)",
                    )
                })?;
            let g = b.float_init(
                &format!("{layer}/gamma:onnx"),
                &gamma.unwrap_or(vec![1.0; c]),
                &[c],
            );
            let bt = b.float_init(
                &format!("{layer}/beta:onnx"),
                &beta.unwrap_or(vec![0.0; c]),
                &[c],
            );
            b.node(
                "LayerNormalization",
                layer,
                &[&x, &g, &bt],
                vec![attr_int("axis", -1), attr_float("epsilon", eps)],
            )
        }
        "Add" => merge(b, "Add")?,
        "Subtract" => {
            if xs.len() != 2 {
                return Err(unsupported(layer, class, "Subtract takes exactly two inputs"));
            }
            b.node("Sub", layer, &[&xs[0], &xs[1]], vec![])
        }
        "Multiply" => merge(b, "Mul")?,
        "Maximum" => merge(b, "Max")?,
        "Minimum" => merge(b, "Min")?,
        "Average" => {
            let refs: Vec<&str> = xs.iter().map(String::as_str).collect();
            b.node("Mean", layer, &refs, vec![])
        }
        "Concatenate" => {
            let refs: Vec<&str> = xs.iter().map(String::as_str).collect();
            let axis = cfg["axis"].as_i64().unwrap_or(-1);
            b.node("Concat", layer, &refs, vec![attr_int("axis", axis)])
        }
        other => {
            return Err(unsupported(
                layer,
                other,
                "this layer class is not supported by the ONNX exporter (supported: Dense, Activation, Conv1D/2D, pooling, BatchNormalization, LayerNormalization, Flatten, Reshape, Permute, merges, Dropout)",
            ))
        }
    })
}

fn value_info(name: &str, elem: i32, per_sample: Option<&[usize]>) -> ValueInfoProto {
    let shape = per_sample.map(|s| {
        let mut dim = vec![Dimension {
            dim_param: Some("batch".into()),
            ..Default::default()
        }];
        dim.extend(s.iter().map(|&d| Dimension {
            dim_value: Some(d as i64),
            ..Default::default()
        }));
        TensorShapeProto { dim }
    });
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: Some(elem),
                shape,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Builds the ONNX `ModelProto` of `model` without writing it.
///
/// # Errors
/// As [`export`].
pub fn to_proto<B: Backend, M: ModelParts<B>>(model: &M) -> Result<ModelProto> {
    let (entries, outputs) = graph_of(model)?;
    let mut weights = HashMap::new();
    let mut elem = data_type::FLOAT;
    for (name, w) in model.named_weights() {
        let h = HostTensor::from_tensor(&w.value)?;
        if matches!(h.data, HostData::F64(_)) {
            elem = data_type::DOUBLE;
        }
        weights.insert(name, h);
    }
    let mut b = Builder {
        nodes: Vec::new(),
        inits: Vec::new(),
        weights,
        elem,
        counter: 0,
    };
    let mut values: Vec<String> = Vec::with_capacity(entries.len());
    let mut inputs = Vec::new();
    for e in &entries {
        match e {
            Entry::Input(name, shape) => {
                inputs.push(value_info(name, elem, Some(shape)));
                values.push(name.clone());
            }
            Entry::Layer(n) => {
                let xs: Vec<String> = n
                    .inputs
                    .iter()
                    .map(|&(i, out)| {
                        if out != 0 {
                            return Err(unsupported(
                                &n.layer,
                                &n.class,
                                "inputs from a layer's second or later output are not supported",
                            ));
                        }
                        values.get(i).cloned().ok_or_else(|| {
                            Error::config("onnx export", format!("node refers to node {i}"))
                        })
                    })
                    .collect::<Result<_>>()?;
                values.push(emit(&mut b, n, &xs)?);
            }
        }
    }
    // Name the graph outputs like the model's outputs.
    let names = model.output_names();
    let mut graph_outputs = Vec::new();
    for (k, &(node, _)) in outputs.iter().enumerate() {
        let name = names
            .get(k)
            .cloned()
            .unwrap_or_else(|| format!("output_{k}"));
        let src = values[node].clone();
        let is_input = matches!(entries[node], Entry::Input(..));
        match b
            .nodes
            .iter_mut()
            .rev()
            .find(|n| n.output.first() == Some(&src))
        {
            Some(last)
                if !is_input
                    && !graph_outputs
                        .iter()
                        .any(|o: &ValueInfoProto| o.name.as_deref() == Some(src.as_str())) =>
            {
                last.output[0] = name.clone();
                for n in b.nodes.iter_mut() {
                    for i in n.input.iter_mut() {
                        if *i == src {
                            *i = name.clone();
                        }
                    }
                }
                for v in values.iter_mut() {
                    if *v == src {
                        *v = name.clone();
                    }
                }
            }
            _ => {
                b.node("Identity", &name, &[&src], vec![]);
                let last = b.nodes.len() - 1;
                b.nodes[last].output[0] = name.clone();
            }
        }
        graph_outputs.push(value_info(&name, elem, None));
    }
    let graph = GraphProto {
        node: b.nodes,
        name: Some(model.model_name().to_string()),
        initializer: b.inits,
        input: inputs,
        output: graph_outputs,
        ..Default::default()
    };
    Ok(ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }],
        producer_name: Some("stratanet".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        graph: Some(graph),
        metadata_props: vec![StringStringEntryProto {
            key: Some("model_class".into()),
            value: Some(model.model_class().into()),
        }],
        ..Default::default()
    })
}
