//! `Embedding`: integer indices to dense vectors.

use super::config::layer_identity;
use super::{cfg_name, BuildContext, CallContext, Layer, Weight};
use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::tensor::Tensor;
use serde_json::json;

/// Maps integer indices in `[0, input_dim)` to rows of an `[input_dim, output_dim]` table
/// (Keras `Embedding`). Inputs may be any integer or float tensor holding whole numbers
/// (models feed floats); the output has the input's shape plus `output_dim`.
///
/// With `mask_zero`, index 0 is padding: for `[batch, time]` inputs the layer records a
/// timestep mask that the next recurrent layer takes (see [`CallContext::set_sequence_mask`]
/// and the `recurrent` module's notes on masking).
///
/// ```
/// use stratanet::{layers::{Embedding, Layer, BuildContext, CallContext}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut e = Embedding::<B>::new(10, 3);
/// e.build(&[4], &mut BuildContext::new(stratanet::Device::Cpu, stratanet::DType::F32, 0))?;
/// let x = Tensor::<B>::from_vec(vec![1i64, 2, 0, 9], &[1, 4])?;
/// assert_eq!(e.call(&x, &mut CallContext::inference())?.shape(), vec![1, 4, 3]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Embedding<B: Backend> {
    input_dim: usize,
    output_dim: usize,
    mask_zero: bool,
    embeddings_initializer: Initializer,
    trainable: bool,
    name: String,
    embeddings: Option<Tensor<B>>,
}

impl<B: Backend> Embedding<B> {
    /// A table of `input_dim` rows (the vocabulary size) of `output_dim` values, initialised
    /// uniform in `[-0.05, 0.05)` like Keras.
    pub fn new(input_dim: usize, output_dim: usize) -> Self {
        Self {
            input_dim,
            output_dim,
            mask_zero: false,
            embeddings_initializer: Initializer::RandomUniform(-0.05, 0.05),
            trainable: true,
            name: String::new(),
            embeddings: None,
        }
    }
    /// Treat index 0 as padding and record a timestep mask (default `false`).
    pub fn mask_zero(mut self, b: bool) -> Self {
        self.mask_zero = b;
        self
    }
    /// Initialiser of the table.
    pub fn embeddings_initializer(mut self, init: Initializer) -> Self {
        self.embeddings_initializer = init;
        self
    }
    /// Sets the layer's name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
    /// The table `[input_dim, output_dim]`, once built.
    pub fn embeddings(&self) -> Option<&Tensor<B>> {
        self.embeddings.as_ref()
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let dim = |k: &str| super::cfg_size(config, "Embedding", k);
        let mut l = Self::new(dim("input_dim")?, dim("output_dim")?);
        l.name = cfg_name(config);
        l.mask_zero = config
            .get("mask_zero")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        l.trainable = config
            .get("trainable")
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
        if let Some(i) = config.get("embeddings_initializer") {
            l.embeddings_initializer = Initializer::from_config(i)?;
        }
        Ok(l)
    }
}

impl<B: Backend> Layer<B> for Embedding<B> {
    layer_identity!("Embedding", field: name, built: |l| l.embeddings.is_some());
    fn validate(&self) -> Result<()> {
        if self.input_dim == 0 || self.output_dim == 0 {
            return Err(Error::invalid(
                &self.name,
                "input_dim/output_dim",
                format!(
                    "must be at least 1, got {} and {}",
                    self.input_dim, self.output_dim
                ),
            ));
        }
        Ok(())
    }
    fn build(&mut self, _input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        let t = self.embeddings_initializer.init::<B>(
            &[self.input_dim, self.output_dim],
            ctx.dtype,
            ctx.device,
            &mut ctx.rng,
        )?;
        self.embeddings = Some(t.to_param()?);
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let mut s = input_shape.to_vec();
        s.push(self.output_dim);
        Ok(s)
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let table = self.embeddings.as_ref().ok_or_else(|| Error::NotReady {
            op: format!("{}.call", self.name),
            needed: "built".into(),
            hint: "add it to a model with a known input shape, or call build".into(),
        })?;
        let s = x.shape();
        if s.is_empty() {
            return Err(Error::shape(
                &self.name,
                "input",
                "[batch, ...] indices (rank 1 or more)",
                &s,
            ));
        }
        let idx = if x.dtype() == DType::I64 {
            x.clone()
        } else {
            x.to_dtype(DType::I64)?
        };
        let flat = idx.reshape_to(&[idx.numel()])?;
        let rows = table.index_select(&flat, 0)?;
        let mut out_shape = s.clone();
        out_shape.push(self.output_dim);
        if self.mask_zero && s.len() == 2 {
            let mask = idx.ne(&idx.zeros_like()?)?.to_dtype(table.dtype())?;
            ctx.set_sequence_mask(mask);
        }
        rows.reshape_to(&out_shape)
    }
    fn weights(&self) -> Vec<Weight<B>> {
        self.embeddings
            .iter()
            .map(|e| Weight {
                name: "embeddings".into(),
                value: e.clone(),
                trainable: self.trainable,
            })
            .collect()
    }
    fn trainable(&self) -> bool {
        self.trainable
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
    }
    fn get_config(&self) -> serde_json::Value {
        json!({
            "name": self.name,
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "mask_zero": self.mask_zero,
            "embeddings_initializer": self.embeddings_initializer.to_config(),
            "trainable": self.trainable,
        })
    }
}
