//! The lookup core shared by [`IntegerLookup`](super::IntegerLookup) and
//! [`StringLookup`](super::StringLookup): index layout, vocabulary, `adapt`, config.

use super::common::*;
use super::*;
use crate::error::{Error, Result};
use crate::layers::config::{parse, to_json, LayerConfig};
use crate::layers::{cfg_label, cfg_opt_size};
use crate::limits::size_value;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::Hash;

// ------------------------------------------------------------------ lookup core

/// Token types of the lookup tables.
pub(crate) trait LookupToken:
    Clone + Eq + Hash + Ord + std::fmt::Debug + Serialize + DeserializeOwned
{
    /// Keras class of the lookup layer on these tokens (`IntegerLookup`), used in errors.
    const CLASS: &'static str;
    /// Keras' default OOV token.
    fn default_oov() -> Self;
    /// OOV bucket when there are several OOV indices.
    fn oov_bucket(&self, n: usize) -> i64;
}
impl LookupToken for i64 {
    const CLASS: &'static str = "IntegerLookup";
    fn default_oov() -> Self {
        -1
    }
    fn oov_bucket(&self, n: usize) -> i64 {
        self.rem_euclid(n as i64)
    }
}
impl LookupToken for String {
    const CLASS: &'static str = "StringLookup";
    fn default_oov() -> Self {
        "[UNK]".to_string()
    }
    fn oov_bucket(&self, n: usize) -> i64 {
        (fingerprint64(self.as_bytes()) % n as u64) as i64
    }
}

/// The hyper-parameters of the lookup layers (Keras' names and defaults) with the learned
/// or given vocabulary. `invert` and `vocabulary_dtype` are written when set: the layers
/// set them (`IntegerLookup` both, `StringLookup` the dtype), `FeatureSpace` neither.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, bound = "T: LookupToken")]
pub(crate) struct LookupConfig<T> {
    /// Instance name.
    pub(crate) name: String,
    /// Largest vocabulary size, special indices included.
    pub(crate) max_tokens: Option<usize>,
    /// Number of OOV indices (default 1; 0 makes unknown values an error).
    pub(crate) num_oov_indices: usize,
    /// A token that maps to index 0 (padding).
    pub(crate) mask_token: Option<T>,
    /// The token inverted OOV indices map to.
    pub(crate) oov_token: T,
    /// Output encoding (default int).
    pub(crate) output_mode: OutputMode,
    /// Pads encoded outputs to `max_tokens` columns.
    pub(crate) pad_to_max_tokens: bool,
    /// Learned or given tokens (no mask/OOV); `None` before `adapt`.
    pub(crate) vocabulary: Option<Vec<T>>,
    /// Maps indices back to tokens (`IntegerLookup`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) invert: Option<bool>,
    /// Keras' `vocabulary_dtype`, written by the layers (never read).
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub(crate) vocabulary_dtype: Option<&'static str>,
}

impl<T: LookupToken> Default for LookupConfig<T> {
    fn default() -> Self {
        Self {
            name: String::new(),
            max_tokens: None,
            num_oov_indices: 1,
            mask_token: None,
            oov_token: T::default_oov(),
            output_mode: OutputMode::Int,
            pad_to_max_tokens: false,
            vocabulary: None,
            invert: None,
            vocabulary_dtype: None,
        }
    }
}

impl<T: LookupToken> LayerConfig for LookupConfig<T> {
    const CLASS: &'static str = T::CLASS;
    fn check_raw(config: &serde_json::Value) -> Result<()> {
        cfg_opt_size(config, T::CLASS, "max_tokens")?;
        if let Some(v) = config.get("num_oov_indices") {
            size_value(v, &cfg_label(config, T::CLASS), "num_oov_indices", 0)?;
        }
        Ok(())
    }
}

/// Index layout and vocabulary shared by `IntegerLookup` and `StringLookup`.
#[derive(Debug, Clone)]
pub(crate) struct LookupCore<T: LookupToken> {
    pub(super) config: LookupConfig<T>,
    pub(super) index: HashMap<T, i64>,
    pub(super) counts: HashMap<T, u64>,
}

impl<T: LookupToken> Default for LookupCore<T> {
    fn default() -> Self {
        Self::with_config(LookupConfig::default())
    }
}

impl<T: LookupToken> LookupCore<T> {
    /// A core with the given config, its vocabulary (if any) indexed as it is.
    pub(crate) fn with_config(config: LookupConfig<T>) -> Self {
        let mut core = Self {
            config,
            index: HashMap::new(),
            counts: HashMap::new(),
        };
        if let Some(tokens) = core.config.vocabulary.take() {
            core.install(tokens);
        }
        core
    }
    /// Inverse of [`LookupCore::config_json`] and of the lookup layers' `get_config`.
    ///
    /// # Errors
    /// [`Error::Config`] naming `Class.field` of a malformed field; a size out of its
    /// limits; a vocabulary refused by [`LookupCore::set_vocabulary`].
    pub(crate) fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c: LookupConfig<T> = parse(config)?;
        let vocabulary = c.vocabulary.take();
        let mut core = Self::with_config(c);
        if let Some(v) = vocabulary {
            core.set_vocabulary(T::CLASS, v)?;
        }
        Ok(core)
    }
    /// The config with `name` as the name (what `FeatureSpace` saves).
    pub(crate) fn config_json(&self, name: &str) -> serde_json::Value {
        let mut c = to_json(&self.config);
        c["name"] = serde_json::Value::from(name);
        c
    }
    /// The same core writing its result as `mode`.
    pub(crate) fn with_output_mode(mut self, mode: OutputMode) -> Self {
        self.config.output_mode = mode;
        self
    }
    /// The learned or given tokens (no mask/OOV); empty before `adapt`.
    pub(crate) fn tokens(&self) -> &[T] {
        self.config.vocabulary.as_deref().unwrap_or(&[])
    }
    pub(crate) fn oov_start(&self) -> usize {
        usize::from(self.config.mask_token.is_some() && self.config.output_mode == OutputMode::Int)
    }
    pub(crate) fn token_start(&self) -> usize {
        self.oov_start() + self.config.num_oov_indices
    }
    pub(crate) fn vocabulary_size(&self) -> usize {
        self.token_start() + self.config.vocabulary.as_ref().map_or(0, |t| t.len())
    }
    pub(crate) fn depth(&self) -> usize {
        match (self.config.pad_to_max_tokens, self.config.max_tokens) {
            (true, Some(m)) => m,
            _ => self.vocabulary_size(),
        }
    }
    pub(crate) fn validate(&self, name: &str) -> Result<()> {
        if let Some(m) = self.config.max_tokens {
            if m <= 1 {
                return Err(Error::invalid(
                    name,
                    "max_tokens",
                    format!("must be > 1, got {m}"),
                ));
            }
        }
        if self.config.pad_to_max_tokens && self.config.max_tokens.is_none() {
            return Err(Error::invalid(
                name,
                "pad_to_max_tokens",
                "needs max_tokens",
            ));
        }
        Ok(())
    }
    pub(crate) fn vocabulary(&self) -> Vec<T> {
        let mut v = Vec::new();
        if let (Some(m), 1) = (&self.config.mask_token, self.oov_start()) {
            v.push(m.clone());
        }
        v.extend(std::iter::repeat_n(
            self.config.oov_token.clone(),
            self.config.num_oov_indices,
        ));
        v.extend(self.config.vocabulary.iter().flatten().cloned());
        v
    }
    /// Sets a vocabulary as Keras' `set_vocabulary` (a leading mask/OOV prefix is dropped).
    pub(crate) fn set_vocabulary(&mut self, name: &str, vocab: Vec<T>) -> Result<()> {
        if vocab.is_empty() {
            return Err(Error::invalid(name, "vocabulary", "is empty"));
        }
        let special: Vec<T> = {
            let mut s = Vec::new();
            if let (Some(m), 1) = (&self.config.mask_token, self.oov_start()) {
                s.push(m.clone());
            }
            s.extend(std::iter::repeat_n(
                self.config.oov_token.clone(),
                self.config.num_oov_indices,
            ));
            s
        };
        let tokens: Vec<T> =
            if vocab.len() >= special.len() && vocab[..special.len()] == special[..] {
                vocab[special.len()..].to_vec()
            } else {
                vocab
            };
        let mut seen = std::collections::HashSet::new();
        let repeated: Vec<&T> = tokens.iter().filter(|t| !seen.insert(*t)).collect();
        if !repeated.is_empty() {
            return Err(Error::invalid(
                name,
                "vocabulary",
                format!("has repeated terms {repeated:?}"),
            ));
        }
        if let Some(m) = &self.config.mask_token {
            if tokens.contains(m) {
                return Err(Error::invalid(
                    name,
                    "vocabulary",
                    format!("contains the mask token {m:?}; leave it out (it gets index 0)"),
                ));
            }
        }
        let size = self.token_start() + tokens.len();
        if let Some(m) = self.config.max_tokens {
            if size > m {
                return Err(Error::invalid(
                    name,
                    "vocabulary",
                    format!("has size {size} with special tokens, above max_tokens {m}"),
                ));
            }
        }
        self.install(tokens);
        Ok(())
    }
    pub(crate) fn install(&mut self, tokens: Vec<T>) {
        let start = self.token_start() as i64;
        self.index = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), start + i as i64))
            .collect();
        self.config.vocabulary = Some(tokens);
    }
    pub(crate) fn count(&mut self, token: &T) {
        *self.counts.entry(token.clone()).or_insert(0) += 1;
    }
    /// Learns the vocabulary from `tokens` (counted, then [`LookupCore::finalize`]),
    /// replacing an earlier one.
    pub(crate) fn adapt<I: IntoIterator<Item = T>>(&mut self, tokens: I) {
        self.counts.clear();
        for t in tokens {
            *self.counts.entry(t).or_insert(0) += 1;
        }
        self.finalize();
    }
    /// Keras' `finalize_state`: drop mask and OOV tokens, sort by count descending then
    /// token descending, keep `max_tokens - token_start`.
    pub(crate) fn finalize(&mut self) {
        let mut counts: Vec<(T, u64)> = std::mem::take(&mut self.counts).into_iter().collect();
        counts.retain(|(t, _)| {
            Some(t) != self.config.mask_token.as_ref() && *t != self.config.oov_token
        });
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
        if let Some(m) = self.config.max_tokens {
            counts.truncate(m.saturating_sub(self.token_start()));
        }
        self.install(counts.into_iter().map(|(t, _)| t).collect());
    }
    pub(crate) fn ready(&self, name: &str) -> Result<()> {
        if self.config.vocabulary.is_none() {
            return Err(Error::NotReady {
                op: format!("{name}.lookup"),
                needed: "given a vocabulary".into(),
                hint: "call adapt(data) or set the vocabulary first".into(),
            });
        }
        Ok(())
    }
    /// Index of a token. In non-int modes the mask maps to -1 (encoded as a zero row).
    pub(crate) fn lookup(&self, name: &str, token: Option<&T>) -> Result<i64> {
        let Some(token) = token else {
            return self.oov(name, None);
        };
        if self.config.mask_token.as_ref() == Some(token) {
            return Ok(if self.config.output_mode == OutputMode::Int {
                0
            } else {
                -1
            });
        }
        match self.index.get(token) {
            Some(&i) => Ok(i),
            None => self.oov(name, Some(token)),
        }
    }
    pub(crate) fn oov(&self, name: &str, token: Option<&T>) -> Result<i64> {
        let start = self.oov_start() as i64;
        match (self.config.num_oov_indices, token) {
            (0, _) => Err(Error::invalid(
                name,
                "input",
                format!(
                    "{} is not in the vocabulary and num_oov_indices is 0 (set num_oov_indices(1) to map unknown values to an OOV index)",
                    token.map_or("a missing value".to_string(), |t| format!("{t:?}"))
                ),
            )),
            (1, _) | (_, None) => Ok(start),
            (n, Some(t)) => Ok(start + t.oov_bucket(n)),
        }
    }
    /// Token of an index (Keras `invert`): 0 is the mask when there is one, vocabulary
    /// indices give their token, everything else the OOV token.
    pub(crate) fn invert(&self, index: i64) -> T {
        if let (Some(m), 1, 0) = (&self.config.mask_token, self.oov_start(), index) {
            return m.clone();
        }
        let start = self.token_start() as i64;
        self.config
            .vocabulary
            .as_ref()
            .and_then(|t| {
                if index >= start {
                    t.get((index - start) as usize)
                } else {
                    None
                }
            })
            .cloned()
            .unwrap_or_else(|| self.config.oov_token.clone())
    }
}
