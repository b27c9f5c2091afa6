//! [`StringLookup`]: strings to integer indices on the host (and back).

use super::common::*;
use super::*;
use crate::backend::{Backend, Device};
use crate::error::Result;
use crate::layers::config::to_json;
use crate::tensor::Tensor;

// ------------------------------------------------------------------ StringLookup

/// Maps strings to integer indices on the host (Keras `StringLookup`); strings cannot be
/// engine tensors, so this is an encoder the input pipeline runs before the model, not a
/// model layer. Save it next to the model with [`StringLookup::get_config`] /
/// [`StringLookup::to_json`] (the vocabulary is in the config).
///
/// Index layout, as Keras: with a `mask_token` (and int output) index 0 is the mask, then
/// `num_oov_indices` OOV indices (default 1; with several an unknown string goes to
/// `fingerprint64(s) % num_oov_indices`, as Keras), then the vocabulary. `adapt` orders by
/// descending frequency, ties by descending string (bytewise), and never learns the mask or
/// the OOV token (default `"[UNK]"`). The empty string `""` is an ordinary token unless it
/// is the mask token, as in Keras.
///
/// Missing values (`None`, a concept Keras does not have): not counted by `adapt`, and
/// looked up as the first OOV index (an error with `num_oov_indices(0)`).
///
/// ```
/// use stratanet::layers::{StringLookup, OutputMode};
/// use stratanet::{Device, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut lookup = StringLookup::new();
/// lookup.adapt(&[Some("b"), Some("a"), Some("b"), None]);
/// assert_eq!(lookup.vocabulary(), vec!["[UNK]", "b", "a"]);
/// assert_eq!(lookup.lookup(&[Some("a"), Some("zebra"), None])?, vec![2, 0, 0]);
/// assert_eq!(lookup.invert(&[1, 2, 7])?, vec!["b", "a", "[UNK]"]);
/// let one_hot = lookup.clone().output_mode(OutputMode::OneHot)
///     .encode::<B>(&[Some("a"), Some("b")], Device::Cpu)?;
/// assert_eq!(one_hot.to_vec_f32()?, vec![0.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct StringLookup {
    /// The config (in `core.config`) and the index.
    core: LookupCore<String>,
}

impl Default for StringLookup {
    fn default() -> Self {
        Self::new()
    }
}

impl StringLookup {
    /// Keras defaults: no max_tokens, 1 OOV index, no mask, OOV token `"[UNK]"`, int output.
    pub fn new() -> Self {
        Self::with_core(LookupCore::default())
    }
    /// An encoder on `core`: named `string_lookup` while it has no name, writing its
    /// vocabulary dtype.
    fn with_core(mut core: LookupCore<String>) -> Self {
        if core.config.name.is_empty() {
            core.config.name = "string_lookup".into();
        }
        core.config.vocabulary_dtype = Some("string");
        core.config.invert = None;
        Self { core }
    }
    /// Sets a vocabulary (a leading mask/OOV prefix as returned by
    /// [`StringLookup::vocabulary`] is accepted and dropped).
    ///
    /// # Errors
    /// Empty vocabulary, repeated strings, the mask among them, or above `max_tokens` (set
    /// the other options first).
    pub fn with_vocabulary(mut self, vocabulary: &[&str]) -> Result<Self> {
        let v = vocabulary.iter().map(|s| s.to_string()).collect();
        let name = self.core.config.name.clone();
        self.core.set_vocabulary(&name, v)?;
        Ok(self)
    }
    field_setters! {
        /// Largest vocabulary size, special indices included.
        max_tokens: core.config.max_tokens = Some(usize),
        /// Number of OOV indices (default 1; 0 makes unknown strings an error).
        num_oov_indices: core.config.num_oov_indices = usize,
        /// Output encoding of [`StringLookup::encode`] (default int).
        output_mode: core.config.output_mode = OutputMode,
        /// Pads encoded outputs to `max_tokens` columns.
        pad_to_max_tokens: core.config.pad_to_max_tokens = bool,
        /// A name used in error messages and the config (default `string_lookup`).
        name: core.config.name = &str,
        /// The string OOV indices invert to (default `"[UNK]"`).
        oov_token: core.config.oov_token = &str,
    }
    /// A string that maps to index 0 (padding), e.g. `""`.
    pub fn mask_token(mut self, token: &str) -> Self {
        self.core.config.mask_token = Some(token.to_string());
        self
    }
    /// The output mode.
    pub fn mode(&self) -> OutputMode {
        self.core.config.output_mode
    }
    /// Learns the vocabulary (`None` values are not counted). Replaces an earlier one.
    pub fn adapt(&mut self, values: &[Option<&str>]) {
        self.adapt_chunks(std::iter::once(values));
    }
    /// [`StringLookup::adapt`] over several chunks (counts add up).
    pub fn adapt_chunks<'a, I>(&mut self, chunks: I)
    where
        I: IntoIterator<Item = &'a [Option<&'a str>]>,
    {
        let tokens = chunks.into_iter().flatten().flatten();
        self.core.adapt(tokens.map(|v| v.to_string()));
    }
    /// The name errors give this encoder (its `name`, default `"string_lookup"`).
    pub fn layer_name(&self) -> &str {
        &self.core.config.name
    }
    /// Whether a vocabulary is set.
    pub fn is_adapted(&self) -> bool {
        self.core.config.vocabulary.is_some()
    }
    /// The vocabulary with the special tokens first (index order), as Keras
    /// `get_vocabulary()`.
    pub fn vocabulary(&self) -> Vec<String> {
        self.core.vocabulary()
    }
    /// The learned tokens only (Keras `get_vocabulary(include_special_tokens=False)`).
    pub fn tokens(&self) -> &[String] {
        self.core.config.vocabulary.as_deref().unwrap_or(&[])
    }
    /// Number of indices (special ones included): the one-hot depth.
    pub fn vocabulary_size(&self) -> usize {
        self.core.vocabulary_size()
    }
    /// Width of one encoded row (`vocabulary_size`, or `max_tokens` when padded).
    pub fn depth(&self) -> usize {
        self.core.depth()
    }
    /// Index of each string. In a non-int output mode the mask token gives -1 (an empty
    /// row when encoded).
    ///
    /// # Errors
    /// No vocabulary yet; an unknown string with `num_oov_indices(0)`.
    pub fn lookup(&self, values: &[Option<&str>]) -> Result<Vec<i64>> {
        self.core.ready(&self.core.config.name)?;
        values
            .iter()
            .map(|v| {
                let owned = v.map(|s| s.to_string());
                self.core.lookup(&self.core.config.name, owned.as_ref())
            })
            .collect()
    }
    /// Strings of indices (Keras `invert=True`): 0 is the mask token when there is one,
    /// vocabulary indices their string, anything else the OOV token.
    ///
    /// # Errors
    /// No vocabulary yet.
    pub fn invert(&self, indices: &[i64]) -> Result<Vec<String>> {
        self.core.ready(&self.core.config.name)?;
        Ok(indices.iter().map(|&i| self.core.invert(i)).collect())
    }
    /// Encodes one value per sample: `int` gives `i64 [n]`, the other modes `f32 [n, depth]`
    /// (one-hot, multi-hot and count coincide for one value).
    ///
    /// # Errors
    /// As [`StringLookup::lookup`].
    pub fn encode<B: Backend>(&self, values: &[Option<&str>], device: Device) -> Result<Tensor<B>> {
        self.encode_shaped(values, &[values.len()], device)
    }
    /// Encodes values laid out as `shape` (`[batch, ...]`, row-major): `int` gives `i64`
    /// of that shape; `one_hot` replaces a last axis of 1 by `depth` (else appends it);
    /// `multi_hot`/`count` reduce the last axis to `depth` (a `[batch]` layout is one value
    /// per sample).
    ///
    /// # Errors
    /// As [`StringLookup::lookup`]; `values.len()` not the product of `shape`.
    pub fn encode_shaped<B: Backend>(
        &self,
        values: &[Option<&str>],
        shape: &[usize],
        device: Device,
    ) -> Result<Tensor<B>> {
        check_layout(&self.core.config.name, values.len(), shape)?;
        let idx = Tensor::<B>::from_vec_on(self.lookup(values)?, shape, device)?;
        encode(&idx, self.core.config.output_mode, self.core.depth())
    }
    /// The config (Keras' `StringLookup` fields, the vocabulary included).
    pub fn get_config(&self) -> serde_json::Value {
        to_json(&self.core.config)
    }
    /// Inverse of [`StringLookup::get_config`].
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) naming `StringLookup.field` of a malformed
    /// field; a size out of its limits; a vocabulary refused by
    /// [`StringLookup::with_vocabulary`]; invalid options.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let l = Self::with_core(LookupCore::from_config(config)?);
        l.core.validate(l.layer_name())?;
        Ok(l)
    }
    /// The config as a JSON string.
    pub fn to_json(&self) -> String {
        self.get_config().to_string()
    }
    /// Inverse of [`StringLookup::to_json`].
    ///
    /// # Errors
    /// Malformed JSON or config.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_config(&serde_json::from_str(text)?)
    }
}
