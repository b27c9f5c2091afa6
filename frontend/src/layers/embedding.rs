//! `Embedding`: integer indices to dense vectors.

use super::config::{
    config_methods, config_setters, layer_config, layer_identity, trainable_config,
};
use super::weights::named_weights;
use super::{BuildContext, CallContext, Layer, Weight};
use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::tensor::Tensor;

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
    config: EmbeddingConfig,
    embeddings: Option<Tensor<B>>,
}

layer_config! {
    /// The hyper-parameters of [`Embedding`] (Keras' names and defaults).
    pub struct EmbeddingConfig for "Embedding" {
        /// Vocabulary size (required).
        input_dim: usize = 0,
        /// Width of a row (required).
        output_dim: usize = 0,
        /// Whether index 0 is padding.
        mask_zero: bool = false,
        /// Initialiser of the table.
        embeddings_initializer: Initializer = Initializer::RandomUniform(-0.05, 0.05),
        /// Whether the table is trained.
        trainable: bool = true,
    }
    check(config) {
        for key in ["input_dim", "output_dim"] {
            super::cfg_size(config, "Embedding", key)?;
        }
        Ok(())
    }
}

impl<B: Backend> Embedding<B> {
    /// A table of `input_dim` rows (the vocabulary size) of `output_dim` values, initialised
    /// uniform in `[-0.05, 0.05)` like Keras.
    pub fn new(input_dim: usize, output_dim: usize) -> Self {
        Self::with_config(EmbeddingConfig {
            input_dim,
            output_dim,
            ..Default::default()
        })
    }
    config_setters! {
        /// Treat index 0 as padding and record a timestep mask (default `false`).
        mask_zero: bool,
        /// Initialiser of the table.
        embeddings_initializer: Initializer,
    }
    /// The table `[input_dim, output_dim]`, once built.
    pub fn embeddings(&self) -> Option<&Tensor<B>> {
        self.embeddings.as_ref()
    }
    config_methods!(EmbeddingConfig, |config| Self {
        config,
        embeddings: None,
    });
}

impl<B: Backend> Layer<B> for Embedding<B> {
    layer_identity!("Embedding", built: |l| l.embeddings.is_some());
    fn validate(&self) -> Result<()> {
        if self.config.input_dim == 0 || self.config.output_dim == 0 {
            return Err(Error::invalid(
                &self.config.name,
                "input_dim/output_dim",
                format!(
                    "must be at least 1, got {} and {}",
                    self.config.input_dim, self.config.output_dim
                ),
            ));
        }
        Ok(())
    }
    fn build(&mut self, _input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        let t = self.config.embeddings_initializer.init::<B>(
            &[self.config.input_dim, self.config.output_dim],
            ctx.dtype,
            ctx.device,
            &mut ctx.rng,
        )?;
        self.embeddings = Some(t.to_param()?);
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let mut s = input_shape.to_vec();
        s.push(self.config.output_dim);
        Ok(s)
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let table = self.embeddings.as_ref().ok_or_else(|| Error::NotReady {
            op: format!("{}.call", self.config.name),
            needed: "built".into(),
            hint: "add it to a model with a known input shape, or call build".into(),
        })?;
        let table = &ctx.read(table)?;
        let s = x.shape();
        if s.is_empty() {
            return Err(Error::shape(
                &self.config.name,
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
        out_shape.push(self.config.output_dim);
        if self.config.mask_zero && s.len() == 2 {
            let mask = idx.ne(&idx.zeros_like()?)?.to_dtype(table.dtype())?;
            ctx.set_sequence_mask(mask);
        }
        rows.reshape_to(&out_shape)
    }
    fn weights(&self) -> Vec<Weight<B>> {
        named_weights(self.config.trainable, &[("embeddings", &self.embeddings)])
    }
    trainable_config!();
}
