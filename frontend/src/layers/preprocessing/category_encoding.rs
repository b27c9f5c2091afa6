//! [`CategoryEncoding`]: one-hot / multi-hot / count of integer categories.

use super::common::*;
use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::layers::config::{config_methods, config_setters, layer_config, to_json};
use crate::layers::{cfg_size, BuildContext, CallContext, Layer};
use crate::tensor::Tensor;

// ------------------------------------------------------------------ CategoryEncoding

/// Encodes integer categories in `[0, num_tokens)` (Keras `CategoryEncoding`): `one_hot`,
/// `multi_hot` (default) or `count`, as `f32`, on the engine. Values are checked on the
/// host first (one device-to-host copy per call): one outside the range is an error naming
/// the layer, as in Keras.
#[derive(Debug)]
pub struct CategoryEncoding {
    config: CategoryEncodingConfig,
    built: bool,
}

layer_config! {
    /// The hyper-parameters of [`CategoryEncoding`] (Keras' names and defaults).
    pub struct CategoryEncodingConfig for "CategoryEncoding" {
        /// Number of categories (required).
        num_tokens: usize = 0,
        /// Output encoding (default `multi_hot`).
        output_mode: OutputMode = OutputMode::MultiHot,
    }
    check(config) { cfg_size(config, "CategoryEncoding", "num_tokens").map(|_| ()) }
}

impl CategoryEncoding {
    /// `num_tokens` categories, Keras' default mode `multi_hot`.
    pub fn new(num_tokens: usize) -> Self {
        Self::with_config(CategoryEncodingConfig {
            num_tokens,
            ..Default::default()
        })
    }
    config_setters! {
        /// Output encoding (`OneHot`, `MultiHot` or `Count`).
        output_mode: OutputMode,
    }
    config_methods!(CategoryEncodingConfig, |config| Self {
        config,
        built: false
    });
    label_or_default!("category_encoding");
}

impl<B: Backend> Layer<B> for CategoryEncoding {
    preprocessing_layer_methods!(@flag "CategoryEncoding");
    fn validate(&self) -> Result<()> {
        if self.config.num_tokens == 0 {
            return Err(Error::invalid(
                self.label(),
                "num_tokens",
                "must be at least 1",
            ));
        }
        if self.config.output_mode == OutputMode::Int {
            return Err(Error::invalid(
                self.label(),
                "output_mode",
                "must be one_hot, multi_hot or count",
            ));
        }
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(self
            .config
            .output_mode
            .output_shape(input_shape, self.config.num_tokens))
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        check_rank1(self.label(), x)?;
        let values = integer_values(self.label(), x)?;
        if let Some(bad) = values
            .iter()
            .find(|&&v| v < 0 || v >= self.config.num_tokens as i64)
        {
            return Err(Error::invalid(
                self.label(),
                "input",
                format!(
                    "values must be in [0, {}) (num_tokens), got {bad} in input of shape {:?}",
                    self.config.num_tokens,
                    x.shape()
                ),
            ));
        }
        let idx = x.to_dtype(DType::I64)?;
        encode(&idx, self.config.output_mode, self.config.num_tokens)
    }
    fn get_config(&self) -> serde_json::Value {
        to_json(&self.config)
    }
}
