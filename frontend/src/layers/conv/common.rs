//! Argument and shape helpers shared by the windowed layers (convolution, pooling,
//! reshaping): window arithmetic, config readers, build checks and penalties.

use crate::backend::Backend;
use crate::error::{Error, Result};
pub(crate) use crate::layers::weights::{push_weight, weight_penalties};
use crate::layers::CallContext;
use crate::regularizers::Regularizer;
use crate::tensor::Tensor;

/// Output length and `(before, after)` padding of a windowed op along one axis.
///
/// `mode` is `valid`, `same` (TensorFlow: extra pad at the end) or `causal` (all before).
/// `None` when the (padded) input is shorter than the window.
pub(crate) fn window_axis(
    len: usize,
    window: usize,
    stride: usize,
    dilation: usize,
    mode: &str,
) -> Option<(usize, (usize, usize))> {
    // Checked throughout: sizes may come from a file (a zero window or stride, or sizes
    // whose products overflow, give `None`, reported as an error by the callers).
    if stride == 0 {
        return None;
    }
    let k = window
        .checked_sub(1)?
        .checked_mul(dilation)?
        .checked_add(1)?;
    match mode {
        "same" => {
            let out = len.div_ceil(stride);
            let total = ((out.max(1) - 1).checked_mul(stride)?.checked_add(k)?).saturating_sub(len);
            if len == 0 {
                return None;
            }
            Some((out, (total / 2, total - total / 2)))
        }
        "causal" => {
            let padded = len.checked_add(k - 1)?;
            Some(((padded - k) / stride + 1, (k - 1, 0)))
        }
        _ => {
            if len < k {
                return None;
            }
            Some(((len - k) / stride + 1, (0, 0)))
        }
    }
}

/// Reads a size that may be one integer or a list of `n` integers, each in
/// `1..=`[`crate::limits::MAX_DIM`].
pub(crate) fn cfg_sizes(
    config: &serde_json::Value,
    layer: &str,
    key: &str,
    n: usize,
) -> Result<Option<Vec<usize>>> {
    cfg_sizes_min(config, layer, key, n, 1)
}

/// [`cfg_sizes`] with entries in `min..=`[`crate::limits::MAX_DIM`].
pub(crate) fn cfg_sizes_min(
    config: &serde_json::Value,
    layer: &str,
    key: &str,
    n: usize,
    min: usize,
) -> Result<Option<Vec<usize>>> {
    let Some(v) = config.get(key) else {
        return Ok(None);
    };
    if v.is_null() {
        return Ok(None);
    }
    let label = crate::layers::cfg_label(config, layer);
    if !v.is_array() {
        let i = crate::limits::size_value(v, &label, key, min)?;
        return Ok(Some(vec![i; n]));
    }
    let list: Vec<usize> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| crate::limits::size_value(x, &label, key, min))
        .collect::<Result<_>>()?;
    if list.len() != n {
        return Err(Error::config(
            format!("{layer}.{key}"),
            format!("expected {n} integers, got {}", list.len()),
        ));
    }
    Ok(Some(list))
}

/// Reads an optional string field.
pub(crate) fn cfg_str(config: &serde_json::Value, key: &str) -> Option<String> {
    config.get(key).and_then(|v| v.as_str()).map(str::to_string)
}

/// Checks a `data_format` name.
pub(crate) fn check_data_format(layer: &str, data_format: &str) -> Result<()> {
    if data_format != "channels_last" && data_format != "channels_first" {
        return Err(Error::invalid(
            layer,
            "data_format",
            format!("must be \"channels_last\" or \"channels_first\", got {data_format:?}"),
        ));
    }
    Ok(())
}

/// Error for a layer that is called before it was built.
pub(crate) fn not_built(name: &str) -> Error {
    Error::NotReady {
        op: format!("{name}.call"),
        needed: "built".into(),
        hint: "add it to a model with a known input shape, or call build".into(),
    }
}

/// The weight `t` of layer `name`, or the [`not_built`] error while it is `None`.
pub(crate) fn built_weight<'a, B: Backend>(
    t: &'a Option<Tensor<B>>,
    name: &str,
) -> Result<&'a Tensor<B>> {
    t.as_ref().ok_or_else(|| not_built(name))
}

/// Records `reg(y)` as an activity penalty in `ctx`.
pub(crate) fn record_activity<B: Backend>(
    reg: &Option<Regularizer>,
    y: &Tensor<B>,
    ctx: &mut CallContext,
) -> Result<()> {
    if let Some(r) = reg {
        ctx.add_activity_loss(r.penalty(y)?);
    }
    Ok(())
}

/// The input an error asks for: `[batch, <RANK spatial axes>, channels]` in the data format.
pub(crate) fn expected_rank(rank: usize, data_format: &str) -> String {
    let sp = if rank == 1 { "steps" } else { "height, width" };
    if data_format == "channels_first" {
        format!("rank {} [batch, channels, {sp}]", rank + 2)
    } else {
        format!("rank {} [batch, {sp}, channels]", rank + 2)
    }
}
