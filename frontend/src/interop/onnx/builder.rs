//! The ONNX graph under construction: nodes with unique value names, initializers from
//! the model's weights, and the attribute constructors.

use super::proto::{attribute_type, data_type, AttributeProto, NodeProto, TensorProto};
use crate::backend::HostData;
use crate::data::HostTensor;
use crate::error::{Error, Result};
use std::collections::HashMap;

pub(super) fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_type::INT),
        i: Some(v),
        ..Default::default()
    }
}

pub(super) fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_type::INTS),
        ints: v.to_vec(),
        ..Default::default()
    }
}

pub(super) fn attr_float(name: &str, v: f64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_type::FLOAT),
        f: Some(v as f32),
        ..Default::default()
    }
}

pub(super) fn attr_str(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_type::STRING),
        s: Some(v.as_bytes().to_vec()),
        ..Default::default()
    }
}

/// Builds the graph: nodes, initializers, unique value names.
pub(super) struct Builder {
    pub(super) nodes: Vec<NodeProto>,
    pub(super) inits: Vec<TensorProto>,
    pub(super) weights: HashMap<String, HostTensor>,
    /// `FLOAT` or `DOUBLE`: the models' float type.
    pub(super) elem: i32,
    pub(super) counter: usize,
}

impl Builder {
    pub(super) fn fresh(&mut self, base: &str) -> String {
        self.counter += 1;
        format!("{base}:{}", self.counter)
    }

    pub(super) fn node(
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

    pub(super) fn float_init(&mut self, name: &str, values: &[f64], shape: &[usize]) -> String {
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

    pub(super) fn int_init(&mut self, name: &str, values: &[i64]) -> String {
        self.inits.push(TensorProto {
            dims: vec![values.len() as i64],
            data_type: Some(data_type::INT64),
            name: Some(name.into()),
            int64_data: values.to_vec(),
            ..Default::default()
        });
        name.to_string()
    }

    pub(super) fn scalar(&mut self, layer: &str, v: f64) -> String {
        let n = self.fresh(&format!("{layer}/const"));
        self.float_init(&n, &[v], &[])
    }

    /// The weight `layer/name` as an initializer (optionally transformed), by its name.
    pub(super) fn weight(
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

    pub(super) fn weight_values(&self, layer: &str, name: &str) -> Result<Option<Vec<f64>>> {
        let path = format!("{layer}/{name}");
        self.weights
            .get(&path)
            .map(|w| host_f64(w, &path))
            .transpose()
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
