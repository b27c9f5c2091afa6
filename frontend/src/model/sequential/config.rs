//! A [`Sequential`] model's config ([`Sequential::get_config`],
//! [`Sequential::from_config`]) and loading a saved one ([`Sequential::load`]).

use super::Sequential;
use crate::backend::Backend;
use crate::error::{Error, Result};

impl<B: Backend> Sequential<B> {
    /// Model config as JSON (`{"name", "layers": [{"class_name", "config"}]}`).
    pub fn get_config(&self) -> serde_json::Value {
        let mut layers = Vec::new();
        if let Some(s) = &self.arch.input_shape {
            layers.push(serde_json::json!({"class_name": "InputLayer", "config": {"shape": s, "name": "input_layer"}}));
        }
        for l in &self.arch.layers {
            layers
                .push(serde_json::json!({"class_name": l.class_name(), "config": l.get_config()}));
        }
        serde_json::json!({"name": self.arch.name, "dtype": self.arch.dtype, "layers": layers})
    }

    /// Rebuilds a model (fresh weights) from [`Sequential::get_config`].
    ///
    /// # Errors
    /// On malformed configs or unknown layer classes.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let name = config.get("name").and_then(|n| n.as_str()).unwrap_or("");
        crate::limits::nested_model(name, || Self::from_config_inner(config))
    }

    fn from_config_inner(config: &serde_json::Value) -> Result<Self> {
        let mut m = Self::new();
        if let Some(n) = config.get("name").and_then(|n| n.as_str()) {
            m.arch.name = n.to_string();
        }
        if let Some(d) = config.get("dtype") {
            m.arch.dtype = serde_json::from_value(d.clone())?;
        }
        let layers = config
            .get("layers")
            .and_then(|l| l.as_array())
            .ok_or_else(|| Error::config("sequential.layers", "missing list of layers"))?;
        for (i, l) in layers.iter().enumerate() {
            let class = l
                .get("class_name")
                .and_then(|c| c.as_str())
                .ok_or_else(|| {
                    Error::config(format!("sequential.layers[{i}].class_name"), "missing")
                })?;
            let cfg = l.get("config").unwrap_or(&serde_json::Value::Null);
            m.add_boxed(crate::model::layer_from_config::<B>(class, cfg)?)?;
        }
        Ok(m)
    }
}

impl<B: Backend> Sequential<B> {
    /// Loads a model saved with `save` (on any engine): architecture, weights, and, if it was
    /// compiled, its optimizer (with state), losses and metrics, ready to continue training.
    ///
    /// The model lands on the default placement, [`Device::auto`](crate::Device::auto) (the GPU when the engine
    /// sees one, else the CPU; `STRATANET_DEVICE` overrides it), whatever device it was saved
    /// from: a model saved on CUDA loads on a CPU-only machine and vice versa. For another
    /// device, load inside a [`Device::scope`](crate::Device::scope) (`Device::scope(Device::Cpu, ||
    /// Sequential::load(path))`) or move it afterwards with [`Sequential::to_device`].
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// # fn main() -> stratanet::Result<()> {
    /// let mut m = Sequential::<DefaultBackend>::new().with_seed(1);
    /// m.add(Input::new(&[3]))?;
    /// m.add(Dense::new(2).activation("softmax"))?;
    /// m.compile(Adam::new(0.01), "sparse_categorical_crossentropy", &["accuracy"])?;
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("stratanet-seq.safetensors");
    /// m.save(&path)?;
    /// let mut back = Sequential::<DefaultBackend>::load(&path)?;
    /// assert_eq!(back.get_weights()?, m.get_weights()?);
    /// assert_eq!(back.compiled().unwrap().optimizer.get_config(), m.compiled().unwrap().optimizer.get_config());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Limits
    /// The file's config is checked before anything is allocated (the checksum is no
    /// defence: anyone can recompute it); see [`crate::limits`]:
    /// - every size field (`units`, `filters`, `kernel_size`, `strides`, `pool_size`,
    ///   `input_dim`, `output_dim`, `num_heads`, `key_dim`, `n`, `num_tokens`, `num_bins`,
    ///   input and target shapes, ...) is a whole number in `1..=2^31 - 1`
    ///   ([`crate::limits::MAX_DIM`]; paddings may be 0), and shapes between layers stay
    ///   within that per dimension, with checked arithmetic;
    /// - one weight holds at most `2^32` values ([`crate::limits::MAX_WEIGHT_ELEMENTS`]);
    /// - all the weights built from the config together hold at most as many values as the
    ///   file stores (weights plus optimizer slots): a config asking for more is refused
    ///   before the weight is allocated;
    /// - models nest at most 32 deep ([`crate::limits::MAX_MODEL_DEPTH`]) and the config
    ///   JSON at most 128 levels.
    ///
    /// Each violation is an [`Error`] naming the layer and the field (or the weight's shape
    /// and the file).
    ///
    /// # Errors
    /// A missing, truncated, corrupted, foreign or newer file, a functional model's file, a
    /// config over the limits above, or weights that do not match the architecture: a clear
    /// error, never a panic.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self> {
        crate::model::persist::load_model(
            path.as_ref(),
            "Sequential",
            Some("Model"),
            Self::from_config,
        )
    }
}
