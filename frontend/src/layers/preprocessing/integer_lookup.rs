//! [`IntegerLookup`]: integer values to contiguous indices (and back).

use super::common::*;
use super::*;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::layers::config::to_json;
use crate::layers::{BuildContext, CallContext, Layer};
use crate::tensor::Tensor;

// ------------------------------------------------------------------ IntegerLookup

/// Maps integer values to contiguous indices (Keras `IntegerLookup`), or back with
/// `invert(true)`.
///
/// Index layout, as Keras: with a `mask_token` (and int output) index 0 is the mask, then
/// `num_oov_indices` OOV indices (default 1; with several, an unknown value `v` goes to
/// `floormod(v, num_oov_indices)`), then the vocabulary. `adapt` orders the vocabulary by
/// descending frequency, ties by descending value, and keeps `max_tokens` minus the special
/// indices; the mask and OOV tokens (default -1) are never learned. Inverted, index 0 is
/// the mask token and any index outside the vocabulary gives the OOV token.
///
/// Lookups run on the host (one round trip per call: `call` copies the values to the
/// host, looks them up and uploads the indices); the one-hot/multi-hot/count encoding
/// runs on the engine. The vocabulary is saved in the layer config.
#[derive(Debug)]
pub struct IntegerLookup<B: Backend> {
    /// The config (in `core.config`, `invert` always set) and the index.
    core: LookupCore<i64>,
    built: bool,
    _b: std::marker::PhantomData<fn() -> B>,
}

impl<B: Backend> Default for IntegerLookup<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> IntegerLookup<B> {
    /// Keras defaults: no max_tokens, 1 OOV index, no mask token, OOV token -1, int output.
    pub fn new() -> Self {
        Self::with_core(LookupCore::default())
    }
    /// A layer on `core`, writing `invert` (default false) and its vocabulary dtype.
    fn with_core(mut core: LookupCore<i64>) -> Self {
        core.config.invert.get_or_insert(false);
        core.config.vocabulary_dtype = Some("int64");
        Self {
            core,
            built: false,
            _b: std::marker::PhantomData,
        }
    }
    /// A layer with a given vocabulary (a leading mask/OOV prefix as returned by
    /// [`IntegerLookup::vocabulary`] is accepted and dropped).
    ///
    /// # Errors
    /// Empty vocabulary, repeated values, the mask among the values, or above `max_tokens`
    /// (set the other options first).
    pub fn with_vocabulary(mut self, vocabulary: &[i64]) -> Result<Self> {
        let name = self.label().to_string();
        self.core.set_vocabulary(&name, vocabulary.to_vec())?;
        Ok(self)
    }
    field_setters! {
        /// Largest vocabulary size, special indices included.
        max_tokens: core.config.max_tokens = Some(usize),
        /// Number of OOV indices (default 1; 0 makes unknown values an error).
        num_oov_indices: core.config.num_oov_indices = usize,
        /// A value that maps to index 0 (padding).
        mask_token: core.config.mask_token = Some(i64),
        /// The value inverted OOV indices map to (default -1).
        oov_token: core.config.oov_token = i64,
        /// Output encoding (default int).
        output_mode: core.config.output_mode = OutputMode,
        /// Pads encoded outputs to `max_tokens` columns.
        pad_to_max_tokens: core.config.pad_to_max_tokens = bool,
        /// Maps indices back to values.
        invert: core.config.invert = Some(bool),
        /// Sets the layer's name.
        name: core.config.name = &str,
    }
    label_or_default!("integer_lookup", core.config.name);
    /// Learns the vocabulary from the values of `data` (any shape; floats must be whole).
    ///
    /// # Errors
    /// A layer given a vocabulary, non-integer values.
    pub fn adapt(&mut self, data: &Tensor<B>) -> Result<()> {
        self.adapt_batches(std::iter::once(data.clone()))
    }
    /// [`IntegerLookup::adapt`] over several batches (counts add up).
    ///
    /// # Errors
    /// As [`IntegerLookup::adapt`].
    pub fn adapt_batches<I: IntoIterator<Item = Tensor<B>>>(&mut self, batches: I) -> Result<()> {
        let name = self.label().to_string();
        self.core.counts.clear();
        for b in batches {
            for v in integer_values(&name, &b)? {
                self.core.count(&v);
            }
        }
        self.core.finalize();
        Ok(())
    }
    /// Learns the vocabulary from host values (`None` = missing, not counted).
    pub fn adapt_values(&mut self, values: &[Option<i64>]) {
        self.core.adapt(values.iter().flatten().copied());
    }
    /// The vocabulary with the special tokens first (index order), as Keras
    /// `get_vocabulary()`.
    pub fn vocabulary(&self) -> Vec<i64> {
        self.core.vocabulary()
    }
    /// Number of indices (special ones included), the `one_hot` depth.
    pub fn vocabulary_size(&self) -> usize {
        self.core.vocabulary_size()
    }
    /// Indices of host values (`None`, a missing value, goes to the first OOV index).
    ///
    /// # Errors
    /// No vocabulary yet; an unknown value with `num_oov_indices(0)`.
    pub fn lookup(&self, values: &[Option<i64>]) -> Result<Vec<i64>> {
        let name = self.label();
        self.core.ready(name)?;
        values
            .iter()
            .map(|v| self.core.lookup(name, v.as_ref()))
            .collect()
    }
    /// Values of indices (the inverse of [`IntegerLookup::lookup`]).
    ///
    /// # Errors
    /// No vocabulary yet.
    pub fn invert_indices(&self, indices: &[i64]) -> Result<Vec<i64>> {
        self.core.ready(self.label())?;
        Ok(indices.iter().map(|&i| self.core.invert(i)).collect())
    }
    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// [`Error::Config`] naming `IntegerLookup.field` of a malformed field; a size out of
    /// its limits; a vocabulary refused by [`IntegerLookup::with_vocabulary`].
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        LookupCore::from_config(config).map(Self::with_core)
    }
    /// Whether the layer maps indices back to values.
    fn inverts(&self) -> bool {
        self.core.config.invert == Some(true)
    }
}

impl<B: Backend> Layer<B> for IntegerLookup<B> {
    preprocessing_layer_methods!(@flag "IntegerLookup", field: core.config.name);
    fn validate(&self) -> Result<()> {
        self.core.validate(self.label())?;
        if self.inverts() && self.core.config.output_mode != OutputMode::Int {
            return Err(Error::invalid(
                self.label(),
                "output_mode",
                "must be int when invert is set",
            ));
        }
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if self.core.config.output_mode != OutputMode::Int
            && self.core.config.vocabulary.is_none()
            && !self.core.config.pad_to_max_tokens
        {
            return Err(Error::NotReady {
                op: format!("{}.output_shape", self.label()),
                needed: "given a vocabulary".into(),
                hint: format!(
                    "output_mode {} needs the vocabulary size: adapt or set the vocabulary before adding the layer to a model",
                    self.core.config.output_mode.as_str()
                ),
            });
        }
        Ok(self
            .core
            .config
            .output_mode
            .output_shape(input_shape, self.core.depth()))
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        let name = self.label();
        check_rank1(name, x)?;
        self.core.ready(name)?;
        let values = integer_values(name, x)?;
        let out: Vec<i64> = if self.inverts() {
            values.iter().map(|&i| self.core.invert(i)).collect()
        } else {
            values
                .iter()
                .map(|v| self.core.lookup(name, Some(v)))
                .collect::<Result<_>>()?
        };
        let idx = Tensor::<B>::from_vec_on(out, &x.shape(), x.device())?;
        encode(&idx, self.core.config.output_mode, self.core.depth())
    }
    fn get_config(&self) -> serde_json::Value {
        to_json(&self.core.config)
    }
}
