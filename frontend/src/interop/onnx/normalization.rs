//! `BatchNormalization` (folded to `Sub`, `Mul`, `Add` with the moving statistics) and
//! `LayerNormalization` (ONNX's own operator).

use super::builder::{attr_float, attr_int, Builder};
use super::graph::GNode;
use super::layers::unsupported;
use crate::error::Result;
use serde_json::Value;

/// `BatchNormalization` in inference mode on `x`.
pub(super) fn batch_norm(b: &mut Builder, n: &GNode, x: &str) -> Result<String> {
    let (layer, class, cfg) = (n.layer.as_str(), n.class.as_str(), &n.config);
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
    let y = b.node("Sub", layer, &[x, &m], vec![]);
    let y = b.node("Mul", layer, &[&y, &s], vec![]);
    Ok(b.node("Add", layer, &[&y, &bt], vec![]))
}

/// `LayerNormalization` over the last axis on `x`.
pub(super) fn layer_norm(b: &mut Builder, n: &GNode, x: &str) -> Result<String> {
    let (layer, class, cfg) = (n.layer.as_str(), n.class.as_str(), &n.config);
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
    Ok(b.node(
        "LayerNormalization",
        layer,
        &[x, &g, &bt],
        vec![attr_int("axis", -1), attr_float("epsilon", eps)],
    ))
}
