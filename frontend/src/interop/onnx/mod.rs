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

mod activation;
mod builder;
mod graph;
mod layers;
mod normalization;
mod spatial;

use crate::backend::{Backend, HostData};
use crate::data::HostTensor;
use crate::error::{Error, Result};
use crate::model::ModelParts;
use builder::Builder;
use graph::{graph_of, Entry};
use layers::{emit, unsupported};
use proto::{
    data_type, Dimension, GraphProto, ModelProto, OperatorSetIdProto, StringStringEntryProto,
    TensorShapeProto, TypeProto, TypeProtoTensor, ValueInfoProto,
};
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
    let bytes = crate::interop::read_file(path)?;
    <ModelProto as prost::Message>::decode(bytes.as_slice()).map_err(|e| {
        Error::config(
            path.display().to_string(),
            format!("not an ONNX model ({e})"),
        )
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
