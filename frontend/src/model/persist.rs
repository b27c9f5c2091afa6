//! Whole-model files: architecture, weights, optimizer state and training configuration in
//! one `.safetensors` file (the format of docs/ARCHITECTURE.md), loadable on either engine.

use super::api::ModelParts;
use super::training::Compiled;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::saving::{self, HostTensor};
use crate::tensor::Tensor;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;

/// Metadata key: what the file holds (`model` or `weights`).
pub const KIND_KEY: &str = "stratanet_kind";
/// Metadata key: `Sequential` or `Functional`.
pub const CLASS_KEY: &str = "model_class";
/// Metadata key: the model config JSON.
pub const CONFIG_KEY: &str = "model_config";
/// Metadata key: the training config JSON (optimizer, losses, metrics).
pub const TRAINING_KEY: &str = "training_config";
/// Prefix of optimizer state tensors.
pub const OPTIMIZER_PREFIX: &str = "optimizer/";
/// Metadata key of the dtype policy of a model saved under a mixed policy.
pub const POLICY_KEY: &str = "dtype_policy";

/// Prefix of the metadata keys holding the model's text assets (`set_asset`).
pub const ASSET_PREFIX: &str = "asset/";

/// The training configuration as JSON.
pub fn training_config<B: Backend>(c: &Compiled<B>) -> Value {
    json!({
        "optimizer": c.optimizer.get_config(),
        "optimizer_iterations": c.optimizer.iterations(),
        "losses": c.losses.iter().map(|l| l.as_ref().map(|l| json!({"name": l.name(), "config": l.get_config()}))).collect::<Vec<_>>(),
        "loss_weights": c.loss_weights,
        "metrics": c.metrics.iter().map(|ms| ms.iter().map(|m| m.name()).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "output_names": c.output_names,
    })
}

/// Rebuilds the compile state from [`training_config`].
///
/// # Errors
/// Unknown optimizer, loss or metric names, malformed values.
pub fn compiled_from_config<B: Backend>(cfg: &Value) -> Result<Compiled<B>> {
    let bad = |what: &str| Error::config(TRAINING_KEY, what.to_string());
    let mut optimizer = crate::optimizers::from_config::<B>(&cfg["optimizer"])?;
    if let Some(it) = cfg["optimizer_iterations"].as_u64() {
        optimizer.set_iterations(it);
    }
    let losses = cfg["losses"]
        .as_array()
        .ok_or_else(|| bad("missing 'losses'"))?
        .iter()
        .map(|l| {
            if l.is_null() {
                return Ok(None);
            }
            let name = l["name"]
                .as_str()
                .ok_or_else(|| bad("a loss without a name"))?;
            Ok(Some(crate::losses::from_config::<B>(name, &l["config"])?))
        })
        .collect::<Result<Vec<_>>>()?;
    let loss_weights: Vec<f64> = serde_json::from_value(cfg["loss_weights"].clone())?;
    let metrics: Vec<Vec<String>> = serde_json::from_value(cfg["metrics"].clone())?;
    let output_names: Vec<String> = serde_json::from_value(cfg["output_names"].clone())?;
    if losses.len() != output_names.len()
        || loss_weights.len() != output_names.len()
        || metrics.len() != output_names.len()
    {
        return Err(bad(
            "losses, loss_weights, metrics and output_names differ in length",
        ));
    }
    // Metric objects are restored by name where the name resolves (a renamed or custom
    // metric object is not restored; the model still trains and predicts the same).
    let metrics: Vec<Vec<super::training::CompiledMetric<B>>> = metrics
        .into_iter()
        .map(|ms| {
            ms.into_iter()
                .filter(|m| crate::metrics::check_name(m).is_ok())
                .map(super::training::CompiledMetric::Name)
                .collect()
        })
        .collect();
    Ok(Compiled {
        optimizer,
        losses,
        loss_weights,
        metrics,
        output_names,
    })
}

/// Saves architecture, weights, optimizer state and training config atomically.
///
/// # Errors
/// Engine, encoding and I/O errors; an existing file is left intact on failure.
pub fn save_model<B: Backend, M: ModelParts<B>>(
    m: &M,
    path: &Path,
    class: &str,
    config: &Value,
) -> Result<()> {
    let mut tensors: Vec<(String, Tensor<B>)> = m.weight_handles();
    let mut meta = HashMap::new();
    meta.insert(KIND_KEY.to_string(), "model".to_string());
    meta.insert(CLASS_KEY.to_string(), class.to_string());
    meta.insert(CONFIG_KEY.to_string(), config.to_string());
    meta.insert("engine".to_string(), B::NAME.to_string());
    meta.insert("seed".to_string(), m.state().seed.to_string());
    // Variables are f32 under every policy, so the file loads under any; the policy is
    // kept so that the loaded model computes as the saved one did (Keras keeps it in
    // each layer's config).
    if m.state().policy.is_mixed() {
        meta.insert(POLICY_KEY.to_string(), m.state().policy.name().to_string());
    }
    for (name, text) in &m.state().assets {
        meta.insert(format!("{ASSET_PREFIX}{name}"), text.clone());
    }
    if let Some(c) = &m.state().compiled {
        meta.insert(TRAINING_KEY.to_string(), training_config(c).to_string());
        for (n, t) in c.optimizer.variables() {
            tensors.push((format!("{OPTIMIZER_PREFIX}{n}"), t));
        }
    }
    saving::save_tensors(path, &tensors, &meta)
}

/// A model file read back: its class, config and the rest for [`restore`].
#[derive(Debug)]
pub struct ModelFile {
    /// `Sequential` or `Functional`.
    pub class: String,
    /// The model config.
    pub config: Value,
    tensors: Vec<(String, HostTensor)>,
    meta: HashMap<String, String>,
    origin: String,
}

/// Reads a model file written by `save`.
///
/// # Errors
/// A malformed, truncated, foreign or newer file (clear [`Error::Config`]), or a weights-only
/// file (use `load_weights` for those).
pub fn read_model(path: &Path) -> Result<ModelFile> {
    let origin = path.display().to_string();
    let (tensors, meta) = saving::load_file(path)?;
    if meta.get(KIND_KEY).map(String::as_str) != Some("model") {
        return Err(Error::config(
            &origin,
            "holds weights only, not a whole model (load it with load_weights into a model of the same architecture)",
        ));
    }
    let class = meta.get(CLASS_KEY).cloned().ok_or_else(|| {
        Error::config(&origin, format!("no '{CLASS_KEY}' in the header metadata"))
    })?;
    let text = meta.get(CONFIG_KEY).ok_or_else(|| {
        Error::config(&origin, format!("no '{CONFIG_KEY}' in the header metadata"))
    })?;
    let depth = crate::limits::json_nesting(text);
    if depth > crate::limits::MAX_JSON_NESTING {
        return Err(Error::config(
            &origin,
            format!(
                "malformed model config: '{CONFIG_KEY}' nests arrays and objects {depth} levels \
                 deep; the limit is {} (models nested in models too deeply?)",
                crate::limits::MAX_JSON_NESTING
            ),
        ));
    }
    let config: Value = serde_json::from_str(text).map_err(|e| {
        Error::config(
            &origin,
            format!("malformed model config: '{CONFIG_KEY}' is not valid JSON ({e})"),
        )
    })?;
    Ok(ModelFile {
        class,
        config,
        tensors,
        meta,
        origin,
    })
}

impl ModelFile {
    /// How many values (tensor elements: weights and optimizer slots) the file stores.
    pub fn stored_values(&self) -> u128 {
        self.tensors.iter().map(|(_, t)| t.data.len() as u128).sum()
    }

    /// Runs `build` (a model's `from_config`) on the file's config with a budget: the
    /// weights it creates may hold at most [`ModelFile::stored_values`] values in total,
    /// so a config asking for more weights than the file holds is refused before the
    /// weight is allocated (see [`crate::limits`]).
    ///
    /// # Errors
    /// Those of `build`, and the budget's.
    pub fn build<T>(&self, build: impl FnOnce(&Value) -> Result<T>) -> Result<T> {
        crate::limits::with_file_budget(&self.origin, self.stored_values(), || build(&self.config))
    }
}

/// Loads a whole model of `class` (`"Sequential"` or `"Functional"`) written by `save`:
/// reads the file, refuses a model of another class (naming its loader: `other_loader`, or
/// the file's class when `None`), builds the architecture with `from_config` on the file's
/// budget ([`ModelFile::build`]), then [`restore`]s weights and compile state.
///
/// # Errors
/// Those of [`read_model`], the class check, `from_config` and [`restore`].
pub fn load_model<B: Backend, M: ModelParts<B>>(
    path: &Path,
    class: &str,
    other_loader: Option<&str>,
    from_config: impl FnOnce(&Value) -> Result<M>,
) -> Result<M> {
    let file = read_model(path)?;
    if file.class != class {
        let loader = other_loader.unwrap_or(file.class.as_str());
        return Err(Error::config(
            path.display().to_string(),
            format!("holds a {} model; load it with {loader}::load", file.class),
        ));
    }
    let mut m = file.build(from_config)?;
    restore(&mut m, file)?;
    Ok(m)
}

/// Puts a file's weights, seed and (if present) compile state with optimizer slots into a
/// freshly built model.
///
/// # Errors
/// Mismatched weights (listed), malformed training config, unknown names.
pub fn restore<B: Backend, M: ModelParts<B>>(m: &mut M, file: ModelFile) -> Result<()> {
    let (opt, weights): (Vec<_>, Vec<_>) = file
        .tensors
        .into_iter()
        .partition(|(n, _)| n.starts_with(OPTIMIZER_PREFIX));
    let targets: Vec<(String, Tensor<B>)> = m.weight_handles();
    saving::assign_by_name(&targets, &weights, &file.origin)?;
    if let Some(seed) = file.meta.get("seed").and_then(|s| s.parse().ok()) {
        m.state_mut().seed = seed;
    }
    if let Some(p) = file.meta.get(POLICY_KEY) {
        m.state_mut().policy = crate::mixed_precision::Policy::from_name(p)
            .map_err(|e| Error::config(&file.origin, format!("'{POLICY_KEY}': {e}")))?;
    }
    for (key, text) in &file.meta {
        if let Some(name) = key.strip_prefix(ASSET_PREFIX) {
            m.state_mut().assets.insert(name.to_string(), text.clone());
        }
    }
    if let Some(tc) = file.meta.get(TRAINING_KEY) {
        let cfg: Value = serde_json::from_str(tc)
            .map_err(|e| Error::config(&file.origin, format!("malformed training config: {e}")))?;
        let mut compiled = compiled_from_config::<B>(&cfg)?;
        let device = m.device();
        let vars: Vec<(String, Tensor<B>)> = opt
            .into_iter()
            .map(|(n, t)| {
                Ok((
                    n[OPTIMIZER_PREFIX.len()..].to_string(),
                    t.to_tensor::<B>(device)?,
                ))
            })
            .collect::<Result<_>>()?;
        if !vars.is_empty() {
            compiled.optimizer.set_variables(&vars)?;
        }
        m.state_mut().compiled = Some(compiled);
    }
    Ok(())
}
