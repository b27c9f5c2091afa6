//! One layer application to ONNX nodes: the dispatch on the layer class, the core and
//! merge layers, and the error for a layer the exporter does not support.

use super::builder::{attr_int, attr_ints, Builder};
use super::graph::GNode;
use super::{normalization, spatial};
use crate::error::{Error, Result};

/// Unsupported-layer error.
pub(super) fn unsupported(layer: &str, class: &str, why: &str) -> Error {
    Error::invalid(
        "onnx export",
        format!("layer '{layer}' ({class})"),
        why.to_string(),
    )
}

/// Emits one layer application; returns its output value.
pub(super) fn emit(b: &mut Builder, n: &GNode, xs: &[String]) -> Result<String> {
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
        "Conv2D" | "Conv1D" => spatial::conv(b, n, one()?)?,
        "MaxPooling2D" | "AveragePooling2D" | "MaxPooling1D" | "AveragePooling1D" => {
            spatial::pool(b, n, one()?)?
        }
        "GlobalAveragePooling2D" | "GlobalMaxPooling2D" | "GlobalAveragePooling1D"
        | "GlobalMaxPooling1D" => spatial::global_pool(b, n, one()?),
        "BatchNormalization" => normalization::batch_norm(b, n, one()?)?,
        "LayerNormalization" => normalization::layer_norm(b, n, one()?)?,
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
