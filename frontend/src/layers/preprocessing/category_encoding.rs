//! [`CategoryEncoding`]: one-hot / multi-hot / count of integer categories.

use super::common::*;
use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::layers::{cfg_name, BuildContext, CallContext, Layer};
use crate::tensor::Tensor;
use serde_json::json;

// ------------------------------------------------------------------ CategoryEncoding

/// Encodes integer categories in `[0, num_tokens)` (Keras `CategoryEncoding`): `one_hot`,
/// `multi_hot` (default) or `count`, as `f32`, on the engine. Values are checked on the
/// host first (one device-to-host copy per call): one outside the range is an error naming
/// the layer, as in Keras.
#[derive(Debug)]
pub struct CategoryEncoding {
    num_tokens: usize,
    output_mode: OutputMode,
    name: String,
    built: bool,
}

impl CategoryEncoding {
    /// `num_tokens` categories, Keras' default mode `multi_hot`.
    pub fn new(num_tokens: usize) -> Self {
        Self {
            num_tokens,
            output_mode: OutputMode::MultiHot,
            name: String::new(),
            built: false,
        }
    }
    field_setters! {
        /// Output encoding (`OneHot`, `MultiHot` or `Count`).
        output_mode: output_mode = OutputMode,
    }
    name_and_label!("category_encoding");
    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let n = crate::layers::cfg_size(config, "CategoryEncoding", "num_tokens")?;
        let mut l = Self::new(n);
        l.name = cfg_name(config);
        l.output_mode = cfg_mode(config, "CategoryEncoding", OutputMode::MultiHot)?;
        Ok(l)
    }
}

impl<B: Backend> Layer<B> for CategoryEncoding {
    preprocessing_layer_methods!("CategoryEncoding", flag_built);
    fn validate(&self) -> Result<()> {
        if self.num_tokens == 0 {
            return Err(Error::invalid(
                self.label(),
                "num_tokens",
                "must be at least 1",
            ));
        }
        if self.output_mode == OutputMode::Int {
            return Err(Error::invalid(
                self.label(),
                "output_mode",
                "must be one_hot, multi_hot or count",
            ));
        }
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(self.output_mode.output_shape(input_shape, self.num_tokens))
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        check_rank1(self.label(), x)?;
        let values = integer_values(self.label(), x)?;
        if let Some(bad) = values
            .iter()
            .find(|&&v| v < 0 || v >= self.num_tokens as i64)
        {
            return Err(Error::invalid(
                self.label(),
                "input",
                format!(
                    "values must be in [0, {}) (num_tokens), got {bad} in input of shape {:?}",
                    self.num_tokens,
                    x.shape()
                ),
            ));
        }
        let idx = x.to_dtype(DType::I64)?;
        encode(&idx, self.output_mode, self.num_tokens)
    }
    fn get_config(&self) -> serde_json::Value {
        json!({
            "name": self.name,
            "num_tokens": self.num_tokens,
            "output_mode": self.output_mode.as_str(),
        })
    }
}
