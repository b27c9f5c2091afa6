//! Convolution and pooling layers: ONNX's channels-first `Conv`/`MaxPool`/`AveragePool`
//! wrapped in `Transpose` nodes for channels-last models, and global pooling as reductions.

use super::builder::{attr_int, attr_ints, attr_str, Builder};
use super::graph::GNode;
use super::layers::unsupported;
use super::proto::AttributeProto;
use crate::error::Result;
use serde_json::Value;

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

/// `Conv1D`/`Conv2D` on `x`.
pub(super) fn conv(b: &mut Builder, n: &GNode, x: &str) -> Result<String> {
    let (layer, class, cfg) = (n.layer.as_str(), n.class.as_str(), &n.config);
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
    let y = channels_first_op(b, layer, x, rank, cfg, &extra, ("Conv", attrs));
    b.activation(layer, &y, &cfg["activation"])
}

/// `MaxPooling1D/2D` and `AveragePooling1D/2D` on `x`.
pub(super) fn pool(b: &mut Builder, n: &GNode, x: &str) -> Result<String> {
    let (layer, class, cfg) = (n.layer.as_str(), n.class.as_str(), &n.config);
    let rank = if class.ends_with("2D") { 2 } else { 1 };
    let op = if class.starts_with("Max") {
        "MaxPool"
    } else {
        "AveragePool"
    };
    let attrs = spatial_attrs(layer, class, cfg, rank, "pool_size", false)?;
    Ok(channels_first_op(b, layer, x, rank, cfg, &[], (op, attrs)))
}

/// `GlobalAveragePooling1D/2D` and `GlobalMaxPooling1D/2D` on `x`.
pub(super) fn global_pool(b: &mut Builder, n: &GNode, x: &str) -> String {
    let (layer, class, cfg) = (n.layer.as_str(), n.class.as_str(), &n.config);
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
        &[x],
        vec![attr_ints("axes", &axes), attr_int("keepdims", keep)],
    )
}
