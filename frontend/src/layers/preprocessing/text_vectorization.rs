//! [`TextVectorization`]: text to token indices or bag-of-words rows (Keras
//! `TextVectorization`), a [`StringLookup`](super::StringLookup)-style host encoder around
//! the shared lookup core.

use super::common::*;
use super::*;
use crate::backend::{Backend, Device};
use crate::error::{Error, Result};
use crate::layers::cfg_opt_size;
use crate::layers::config::{parse, to_json, LayerConfig};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

// ------------------------------------------------------------------ options

/// The Keras class name, which config errors start with (`TextVectorization.max_tokens`).
const CLASS: &str = "TextVectorization";

/// An [`Error::Config`] at `TextVectorization.<arg>`.
fn arg_error(arg: &str, message: impl Into<String>) -> Error {
    Error::config(format!("{CLASS}.{arg}"), message)
}

/// How [`TextVectorization`] standardizes a text before splitting it (Keras
/// `standardize`; `None` in the builder is no standardization).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standardize {
    /// ASCII lowercasing, then [`Standardize::StripPunctuation`] (Keras' default).
    LowerAndStripPunctuation,
    /// ASCII lowercasing (TensorFlow's `tf.strings.lower`: `É` stays `É`).
    Lower,
    /// Removes the 32 ASCII punctuation characters ``!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~``
    /// (Keras' regular expression).
    StripPunctuation,
}

impl Standardize {
    /// Keras' name.
    pub fn as_str(self) -> &'static str {
        match self {
            Standardize::LowerAndStripPunctuation => "lower_and_strip_punctuation",
            Standardize::Lower => "lower",
            Standardize::StripPunctuation => "strip_punctuation",
        }
    }
    /// Parses Keras' name.
    ///
    /// # Errors
    /// [`Error::Config`] at `TextVectorization.standardize` for another name.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "lower_and_strip_punctuation" => Standardize::LowerAndStripPunctuation,
            "lower" => Standardize::Lower,
            "strip_punctuation" => Standardize::StripPunctuation,
            other => {
                return Err(arg_error(
                    "standardize",
                    format!("unknown standardization {other:?} (known: lower_and_strip_punctuation, lower, strip_punctuation, or null for none; Keras callables are not supported)"),
                ))
            }
        })
    }
    /// Applies the standardization to one text.
    pub fn apply(self, text: &str) -> String {
        let lower = matches!(
            self,
            Standardize::LowerAndStripPunctuation | Standardize::Lower
        );
        let strip = matches!(
            self,
            Standardize::LowerAndStripPunctuation | Standardize::StripPunctuation
        );
        text.chars()
            .filter(|c| !(strip && c.is_ascii_punctuation()))
            .map(|c| if lower { c.to_ascii_lowercase() } else { c })
            .collect()
    }
}
crate::config_serde::serde_by_name!(Standardize);

/// How [`TextVectorization`] splits a standardized text into tokens (Keras `split`;
/// `None` in the builder keeps each text as one token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// On runs of ASCII whitespace (space, `\t`, `\n`, `\v`, `\f`, `\r`), ignoring leading
    /// and trailing whitespace, as TensorFlow's `tf.strings.split` (Keras' default). Other
    /// Unicode spaces (no-break space, ideographic space) are part of tokens.
    Whitespace,
    /// Into Unicode scalar values (TensorFlow's `unicode_split`); spaces are tokens too.
    Character,
}

impl Split {
    /// Keras' name.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Whitespace => "whitespace",
            Split::Character => "character",
        }
    }
    /// Parses Keras' name.
    ///
    /// # Errors
    /// [`Error::Config`] at `TextVectorization.split` for another name.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "whitespace" => Split::Whitespace,
            "character" => Split::Character,
            other => {
                return Err(arg_error(
                    "split",
                    format!("unknown split {other:?} (known: whitespace, character, or null for none; Keras callables are not supported)"),
                ))
            }
        })
    }
    /// Splits one text into tokens.
    pub fn apply(self, text: &str) -> Vec<String> {
        match self {
            Split::Whitespace => text
                .split([' ', '\t', '\n', '\x0b', '\x0c', '\r'])
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            Split::Character => text.chars().map(String::from).collect(),
        }
    }
}
crate::config_serde::serde_by_name!(Split);

/// Which n-grams [`TextVectorization`] makes from the split tokens (Keras `ngrams`): an
/// integer `n` gives the 1- to n-grams, a list exactly those widths. A text's tokens are
/// all n-grams of the first width, then of the next (TensorFlow's `tf.strings.ngrams`,
/// joined with a space); a text shorter than a width has none of that width.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Ngrams {
    /// The 1-grams up to the `n`-grams (Keras `ngrams=n`).
    UpTo(usize),
    /// These widths, in this order (Keras `ngrams=(2, 3)`).
    Widths(Vec<usize>),
}

impl Ngrams {
    /// The widths, in order.
    fn widths(&self) -> Vec<usize> {
        match self {
            Ngrams::UpTo(n) => (1..=*n).collect(),
            Ngrams::Widths(w) => w.clone(),
        }
    }
    fn validate(&self) -> Result<()> {
        let bad = match self {
            Ngrams::UpTo(0) => Some("must be at least 1, got 0".to_string()),
            Ngrams::Widths(w) if w.is_empty() => Some("has no widths".to_string()),
            Ngrams::Widths(w) if w.contains(&0) => {
                Some(format!("widths must be at least 1, got {w:?}"))
            }
            _ => None,
        };
        bad.map_or(Ok(()), |m| Err(arg_error("ngrams", m)))
    }
    /// The n-grams of `tokens`.
    fn apply(&self, tokens: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        // Widths above the token count give nothing: no need to visit them (a hostile
        // `ngrams: 1e18` costs no more than the text is long).
        let widths: Vec<usize> = match self {
            Ngrams::UpTo(n) => (1..=(*n).min(tokens.len())).collect(),
            Ngrams::Widths(_) => self.widths(),
        };
        for w in widths {
            if w <= tokens.len() {
                out.extend(tokens.windows(w).map(|g| g.join(" ")));
            }
        }
        out
    }
}

/// How [`TextVectorization`] writes a batch of texts (Keras `output_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOutputMode {
    /// Token indices, `i64 [batch, length]`, padded with 0 (Keras' default). Index 0 is the
    /// mask/padding `""`, 1 the OOV token `"[UNK]"`.
    Int,
    /// `f32 [batch, depth]`: 1 where a vocabulary index occurs in the text. Index 0 is OOV.
    MultiHot,
    /// As `MultiHot`, with the number of occurrences.
    Count,
    /// The count times the index's inverse document frequency.
    TfIdf,
}

impl TextOutputMode {
    /// Keras' name.
    pub fn as_str(self) -> &'static str {
        match self {
            TextOutputMode::Int => "int",
            TextOutputMode::MultiHot => "multi_hot",
            TextOutputMode::Count => "count",
            TextOutputMode::TfIdf => "tf_idf",
        }
    }
    /// Parses Keras' name (and its old names `binary` and `tf-idf`).
    ///
    /// # Errors
    /// [`Error::Config`] at `TextVectorization.output_mode` for another name.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "int" => TextOutputMode::Int,
            "multi_hot" | "binary" => TextOutputMode::MultiHot,
            "count" => TextOutputMode::Count,
            "tf_idf" | "tf-idf" => TextOutputMode::TfIdf,
            other => {
                return Err(arg_error(
                    "output_mode",
                    format!("unknown output mode {other:?} (known: int, multi_hot, count, tf_idf)"),
                ))
            }
        })
    }
}
crate::config_serde::serde_by_name!(TextOutputMode);

// ------------------------------------------------------------------ config

/// The hyper-parameters of [`TextVectorization`] under Keras' names, with the vocabulary
/// (special tokens first) and, in `tf_idf` mode, the idf weights of every index.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
struct TextVectorizationConfig {
    name: String,
    max_tokens: Option<usize>,
    standardize: Option<Standardize>,
    split: Option<Split>,
    ngrams: Option<Ngrams>,
    output_mode: TextOutputMode,
    output_sequence_length: Option<usize>,
    pad_to_max_tokens: bool,
    /// Keras' sparse output (TensorFlow only): must be false.
    sparse: bool,
    /// Keras' ragged output (TensorFlow only): must be false.
    ragged: bool,
    vocabulary: Option<Vec<String>>,
    idf_weights: Option<Vec<f32>>,
    /// Keras' text encoding: only `utf-8` (Rust strings are UTF-8).
    encoding: String,
    /// Written for Keras (the size with special tokens); recomputed on reading.
    #[serde(skip_deserializing)]
    vocabulary_size: Option<usize>,
}

impl Default for TextVectorizationConfig {
    fn default() -> Self {
        Self {
            name: "text_vectorization".into(),
            max_tokens: None,
            standardize: Some(Standardize::LowerAndStripPunctuation),
            split: Some(Split::Whitespace),
            ngrams: None,
            output_mode: TextOutputMode::Int,
            output_sequence_length: None,
            pad_to_max_tokens: false,
            sparse: false,
            ragged: false,
            vocabulary: None,
            idf_weights: None,
            encoding: "utf-8".into(),
            vocabulary_size: None,
        }
    }
}

impl LayerConfig for TextVectorizationConfig {
    const CLASS: &'static str = CLASS;
    fn check_raw(config: &serde_json::Value) -> Result<()> {
        cfg_opt_size(config, CLASS, "max_tokens")?;
        cfg_opt_size(config, CLASS, "output_sequence_length")?;
        Ok(())
    }
}

// ------------------------------------------------------------------ TextVectorization

/// Maps texts to token indices or bag-of-words rows (Keras `TextVectorization`), on the
/// host: each text is standardized ([`Standardize`]), split ([`Split`]), turned into
/// n-grams ([`Ngrams`]) and looked up in a vocabulary, as Keras does on TensorFlow.
/// Strings are not engine tensors, so, like [`StringLookup`](super::StringLookup), this is
/// an encoder the input pipeline runs before the model: [`TextVectorization::encode`]
/// gives the engine tensor the model's first layer takes (`Input::new(&[len])` +
/// `Embedding` for `int`, `Input::new(&[depth])` + `Dense` for the others). Save it in the
/// model file as a text asset (`model.set_asset("text", tv.to_json())`, read back with
/// [`TextVectorization::from_json`]): the config holds the vocabulary and idf weights.
///
/// Conventions, as Keras: in `int` mode index 0 is the padding/mask `""` and 1 the OOV
/// token `"[UNK]"`; in the other modes index 0 is OOV. `adapt` orders the vocabulary by
/// descending count, ties by descending token (bytewise), keeps at most `max_tokens`
/// indices (special ones included) and never learns `""` or `"[UNK]"`. In `tf_idf` mode it
/// also learns `idf = ln(1 + documents / (1 + document frequency))` per token; the OOV
/// index gets the mean of the learned weights.
///
/// ```
/// use stratanet::layers::{TextVectorization, TextOutputMode};
/// use stratanet::{Device, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut tv = TextVectorization::new().output_sequence_length(4);
/// tv.adapt(&["foo bar", "bar baz", "baz bada boom"])?;
/// assert_eq!(tv.vocabulary(), ["", "[UNK]", "baz", "bar", "foo", "boom", "bada"]);
/// let ids = tv.encode::<B, _>(&["Foo qux, bar!", "qux baz"], Device::Cpu)?;
/// assert_eq!(ids.shape(), [2, 4]);
/// assert_eq!(ids.to_vec_i64()?, vec![4, 1, 3, 0, 1, 2, 0, 0]);
///
/// let mut bag = TextVectorization::new().output_mode(TextOutputMode::Count);
/// bag.adapt(&["a b b", "b c"])?;
/// assert_eq!(bag.vocabulary(), ["[UNK]", "b", "c", "a"]);
/// let rows = bag.encode::<B, _>(&["b b z"], Device::Cpu)?;
/// assert_eq!(rows.to_vec_f32()?, vec![1.0, 2.0, 0.0, 0.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TextVectorization {
    /// The options (`vocabulary`/`idf_weights` unused here: they live in `core`/`idf`).
    config: TextVectorizationConfig,
    /// The vocabulary and index, laid out for the output mode (mask index in `int` only).
    core: LookupCore<String>,
    /// `tf_idf`: the weight of every index below `vocabulary_size` (OOV first).
    idf: Option<Vec<f32>>,
}

impl Default for TextVectorization {
    fn default() -> Self {
        Self::new()
    }
}

impl TextVectorization {
    /// Keras defaults: no `max_tokens`, `lower_and_strip_punctuation`, `whitespace`, no
    /// n-grams, `int` output padded to the longest text of the batch.
    pub fn new() -> Self {
        let mut tv = Self {
            config: TextVectorizationConfig::default(),
            core: LookupCore::default(),
            idf: None,
        };
        tv.relayout(None);
        tv
    }

    /// The lookup options for the current output mode.
    fn lookup_config(&self) -> super::index_lookup::LookupConfig<String> {
        super::index_lookup::LookupConfig {
            name: self.config.name.clone(),
            max_tokens: self.config.max_tokens,
            mask_token: Some(String::new()),
            output_mode: if self.config.output_mode == TextOutputMode::Int {
                OutputMode::Int
            } else {
                OutputMode::MultiHot
            },
            pad_to_max_tokens: self.config.pad_to_max_tokens,
            ..Default::default()
        }
    }

    /// Rebuilds the index after an option changed (the layout depends on the output mode),
    /// keeping the learned tokens (`keep`, or the current ones).
    fn relayout(&mut self, keep: Option<Vec<String>>) {
        let tokens = keep.or_else(|| self.core.config.vocabulary.clone());
        let mut config = self.lookup_config();
        config.vocabulary = tokens;
        self.core = LookupCore::with_config(config);
    }

    /// Largest vocabulary size, special indices included (at least 2).
    pub fn max_tokens(mut self, n: usize) -> Self {
        self.config.max_tokens = Some(n);
        self.relayout(None);
        self
    }
    /// The standardization (`None`: the text as it is).
    pub fn standardize(mut self, s: Option<Standardize>) -> Self {
        self.config.standardize = s;
        self
    }
    /// The split (`None`: each text is one token).
    pub fn split(mut self, s: Option<Split>) -> Self {
        self.config.split = s;
        self
    }
    /// N-grams of widths 1 to `n` (Keras `ngrams=n`).
    pub fn ngrams(mut self, n: usize) -> Self {
        self.config.ngrams = Some(Ngrams::UpTo(n));
        self
    }
    /// N-grams of exactly these widths (Keras `ngrams=(2, 3)`).
    pub fn ngram_widths(mut self, widths: &[usize]) -> Self {
        self.config.ngrams = Some(Ngrams::Widths(widths.to_vec()));
        self
    }
    /// The output encoding (default `Int`). Set it before `adapt` for `TfIdf` (the idf
    /// weights are learned by `adapt`).
    pub fn output_mode(mut self, mode: TextOutputMode) -> Self {
        if mode != self.config.output_mode {
            self.config.output_mode = mode;
            self.relayout(None);
            if mode != TextOutputMode::TfIdf {
                self.idf = None;
            }
        }
        self
    }
    /// `int` mode: pad with 0 or truncate every row to `length` tokens (else rows are as
    /// long as the longest text of the batch).
    pub fn output_sequence_length(mut self, length: usize) -> Self {
        self.config.output_sequence_length = Some(length);
        self
    }
    /// `multi_hot`/`count`/`tf_idf`: rows of `max_tokens` columns even when the vocabulary
    /// is smaller.
    pub fn pad_to_max_tokens(mut self, pad: bool) -> Self {
        self.config.pad_to_max_tokens = pad;
        self.relayout(None);
        self
    }
    /// A name used in error messages and the config (default `text_vectorization`).
    pub fn name(mut self, name: &str) -> Self {
        self.config.name = name.to_string();
        self.core.config.name = name.to_string();
        self
    }

    /// The layer's name.
    pub fn layer_name(&self) -> &str {
        &self.config.name
    }
    /// The output mode.
    pub fn mode(&self) -> TextOutputMode {
        self.config.output_mode
    }

    /// Checks the options together (Keras' constructor checks).
    ///
    /// # Errors
    /// [`Error::Config`] at `TextVectorization.<argument>`: `max_tokens` below 2,
    /// `pad_to_max_tokens` without `max_tokens`, `output_sequence_length` 0 or outside
    /// `int` mode, bad `ngrams`, idf weights outside `tf_idf` mode.
    pub fn validate(&self) -> Result<()> {
        let c = &self.config;
        if let Some(m) = c.max_tokens {
            if m <= 1 {
                return Err(arg_error(
                    "max_tokens",
                    format!(
                        "must be greater than 1 (it counts the padding and OOV indices), got {m}"
                    ),
                ));
            }
        }
        if c.pad_to_max_tokens && c.max_tokens.is_none() {
            return Err(arg_error("pad_to_max_tokens", "needs max_tokens"));
        }
        match (c.output_sequence_length, c.output_mode) {
            (Some(0), _) => {
                return Err(arg_error("output_sequence_length", "must be at least 1"));
            }
            (Some(n), mode) if mode != TextOutputMode::Int => {
                return Err(arg_error(
                    "output_sequence_length",
                    format!(
                        "is only valid in int output mode, got {n} with output_mode {}",
                        mode.as_str()
                    ),
                ));
            }
            _ => {}
        }
        if let Some(n) = &c.ngrams {
            n.validate()?;
        }
        if let (Some(m), true) = (c.max_tokens, self.is_adapted()) {
            if self.vocabulary_size() > m {
                return Err(arg_error(
                    "max_tokens",
                    format!(
                        "is {m}, below the size of the vocabulary already set ({})",
                        self.vocabulary_size()
                    ),
                ));
            }
        }
        if self.idf.is_some() && c.output_mode != TextOutputMode::TfIdf {
            return Err(arg_error(
                "idf_weights",
                format!(
                    "are only valid in tf_idf output mode, not {}",
                    c.output_mode.as_str()
                ),
            ));
        }
        Ok(())
    }

    // -------------------------------------------------------------- vocabulary

    /// Sets a vocabulary (Keras `vocabulary=` / `set_vocabulary`); a leading special-token
    /// prefix as returned by [`TextVectorization::vocabulary`] is accepted and dropped.
    /// Not for `tf_idf` mode, which needs idf weights too:
    /// [`TextVectorization::with_vocabulary_and_idf`].
    ///
    /// # Errors
    /// [`Error::Config`] at `TextVectorization.vocabulary`: empty, repeated terms, the mask
    /// `""` among the terms, above `max_tokens`; `TextVectorization.idf_weights` in
    /// `tf_idf` mode; invalid options (see [`TextVectorization::validate`]).
    pub fn with_vocabulary<S: AsRef<str>>(mut self, vocabulary: &[S]) -> Result<Self> {
        self.set_vocabulary(vocabulary, None)?;
        Ok(self)
    }

    /// Sets a vocabulary and its idf weights (`tf_idf` mode), one weight per term. Without
    /// the special-token prefix, the OOV index gets the mean of the weights (as Keras).
    ///
    /// # Errors
    /// As [`TextVectorization::with_vocabulary`]; weights of another length than the
    /// vocabulary, or not finite.
    pub fn with_vocabulary_and_idf<S: AsRef<str>>(
        mut self,
        vocabulary: &[S],
        idf_weights: &[f32],
    ) -> Result<Self> {
        self.set_vocabulary(vocabulary, Some(idf_weights))?;
        Ok(self)
    }

    /// Sets (replaces) the vocabulary and, in `tf_idf` mode, the idf weights (Keras
    /// `set_vocabulary`).
    ///
    /// # Errors
    /// As [`TextVectorization::with_vocabulary_and_idf`].
    pub fn set_vocabulary<S: AsRef<str>>(
        &mut self,
        vocabulary: &[S],
        idf_weights: Option<&[f32]>,
    ) -> Result<()> {
        self.validate()?;
        let vocab: Vec<String> = vocabulary.iter().map(|s| s.as_ref().to_string()).collect();
        let tf_idf = self.config.output_mode == TextOutputMode::TfIdf;
        match (tf_idf, idf_weights) {
            (true, None) => {
                return Err(arg_error(
                    "idf_weights",
                    "must be given with a vocabulary in tf_idf output mode",
                ))
            }
            (false, Some(_)) => {
                return Err(arg_error(
                    "idf_weights",
                    format!(
                        "are only valid in tf_idf output mode, not {}",
                        self.config.output_mode.as_str()
                    ),
                ))
            }
            _ => {}
        }
        if let Some(w) = idf_weights {
            if w.len() != vocab.len() {
                return Err(arg_error(
                    "idf_weights",
                    format!(
                        "must have the length of the vocabulary: {} weights for {} terms",
                        w.len(),
                        vocab.len()
                    ),
                ));
            }
            if let Some(bad) = w.iter().find(|v| !v.is_finite()) {
                return Err(arg_error(
                    "idf_weights",
                    format!("must be finite, got {bad}"),
                ));
            }
        }
        let special = self.vocabulary_with(&[]);
        let has_special = vocab.len() >= special.len() && vocab[..special.len()] == special[..];
        let mut core = LookupCore::with_config(self.lookup_config());
        core.set_vocabulary(&self.config.name, vocab)
            .map_err(|e| arg_error("vocabulary", e.to_string()))?;
        self.idf = idf_weights.map(|w| {
            if has_special {
                w.to_vec()
            } else {
                let mut full = vec![mean(w); core.token_start()];
                full.extend_from_slice(w);
                full
            }
        });
        self.core = core;
        Ok(())
    }

    /// `specials` followed by the learned tokens.
    fn vocabulary_with(&self, tokens: &[String]) -> Vec<String> {
        let mut v = Vec::with_capacity(2 + tokens.len());
        if self.config.output_mode == TextOutputMode::Int {
            v.push(String::new());
        }
        v.push("[UNK]".to_string());
        v.extend(tokens.iter().cloned());
        v
    }

    /// The vocabulary in index order, special tokens first (`""` and `"[UNK]"` in `int`
    /// mode, `"[UNK]"` otherwise), as Keras `get_vocabulary()`.
    pub fn vocabulary(&self) -> Vec<String> {
        self.vocabulary_with(self.tokens())
    }
    /// Keras `get_vocabulary(include_special_tokens)`.
    pub fn get_vocabulary(&self, include_special_tokens: bool) -> Vec<String> {
        if include_special_tokens {
            self.vocabulary()
        } else {
            self.tokens().to_vec()
        }
    }
    /// The learned or given terms only.
    pub fn tokens(&self) -> &[String] {
        self.core.tokens()
    }
    /// Number of indices, special ones included (Keras `vocabulary_size()`).
    pub fn vocabulary_size(&self) -> usize {
        self.core.vocabulary_size()
    }
    /// Whether a vocabulary is set.
    pub fn is_adapted(&self) -> bool {
        self.core.config.vocabulary.is_some()
    }
    /// `tf_idf` mode: the weight of every index (OOV first), as Keras' `idf_weights`
    /// before padding.
    pub fn idf_weights(&self) -> Option<&[f32]> {
        self.idf.as_deref()
    }
    /// Width of a `multi_hot`/`count`/`tf_idf` row: `max_tokens` when padded, else
    /// [`TextVectorization::vocabulary_size`].
    pub fn depth(&self) -> usize {
        self.core.depth()
    }

    // -------------------------------------------------------------- text to tokens

    /// The tokens of one text: standardized, split, n-grams (what is looked up).
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        let standardized = match self.config.standardize {
            Some(s) => s.apply(text),
            None => text.to_string(),
        };
        let tokens = match self.config.split {
            Some(s) => s.apply(&standardized),
            None => vec![standardized],
        };
        match &self.config.ngrams {
            Some(n) => n.apply(&tokens),
            None => tokens,
        }
    }

    /// Learns the vocabulary (and, in `tf_idf` mode, the idf weights) from `texts`,
    /// replacing an earlier one.
    ///
    /// # Errors
    /// Invalid options (see [`TextVectorization::validate`]); no token at all in `texts`.
    pub fn adapt<S: AsRef<str>>(&mut self, texts: &[S]) -> Result<()> {
        self.adapt_batches(std::iter::once(texts))
    }

    /// [`TextVectorization::adapt`] over several batches (counts add up).
    ///
    /// # Errors
    /// As [`TextVectorization::adapt`].
    pub fn adapt_batches<'a, S, I>(&mut self, batches: I) -> Result<()>
    where
        S: AsRef<str> + 'a,
        I: IntoIterator<Item = &'a [S]>,
    {
        self.validate()?;
        let tf_idf = self.config.output_mode == TextOutputMode::TfIdf;
        let mut core = LookupCore::with_config(self.lookup_config());
        let mut documents = std::collections::HashMap::<String, u64>::new();
        let (mut num_documents, mut num_tokens) = (0u64, 0usize);
        for batch in batches {
            for text in batch {
                let tokens = self.tokenize(text.as_ref());
                num_tokens += tokens.len();
                for t in &tokens {
                    core.count(t);
                }
                if tf_idf {
                    for t in tokens.into_iter().collect::<HashSet<_>>() {
                        *documents.entry(t).or_insert(0) += 1;
                    }
                }
                num_documents += 1;
            }
        }
        if num_tokens == 0 {
            return Err(Error::invalid(
                &self.config.name,
                "adapt",
                format!("found no tokens in {num_documents} texts to learn a vocabulary from"),
            ));
        }
        core.finalize();
        self.idf = tf_idf.then(|| {
            let n = num_documents as f64;
            let learned: Vec<f32> = core
                .tokens()
                .iter()
                .map(|t| {
                    let df = documents.get(t).copied().unwrap_or(0) as f64;
                    (1.0 + n / (1.0 + df)).ln() as f32
                })
                .collect();
            let mut full = vec![mean(&learned); core.token_start()];
            full.extend(learned);
            full
        });
        self.core = core;
        Ok(())
    }

    // -------------------------------------------------------------- lookups

    fn ready(&self) -> Result<()> {
        self.validate()?;
        self.core.ready(&self.config.name)?;
        if self.config.output_mode == TextOutputMode::TfIdf && self.idf.is_none() {
            return Err(Error::NotReady {
                op: format!("{}.encode", self.config.name),
                needed: "given idf weights".into(),
                hint: "adapt in tf_idf mode, or set a vocabulary with idf weights".into(),
            });
        }
        Ok(())
    }

    /// The indices of one text's tokens, unpadded (in `int` mode Keras' ragged output; in
    /// the other modes a `""` token gives -1 and is not counted).
    ///
    /// # Errors
    /// No vocabulary yet; invalid options.
    pub fn token_indices(&self, text: &str) -> Result<Vec<i64>> {
        self.ready()?;
        self.indices_unchecked(text)
    }

    fn indices_unchecked(&self, text: &str) -> Result<Vec<i64>> {
        self.tokenize(text)
            .iter()
            .map(|t| self.core.lookup(&self.config.name, Some(t)))
            .collect()
    }

    /// Encodes a batch of texts on `device`: `int` gives `i64 [batch, length]` (`length`
    /// is `output_sequence_length`, else the longest text's token count; 0 pads),
    /// `multi_hot`/`count`/`tf_idf` give `f32 [batch, depth]`. With `split(None)` and no
    /// `output_sequence_length`, `int` gives one index per text, `i64 [batch]`, as Keras
    /// for `[batch]` texts (`encode_shaped` with `[batch, 1]` gives `[batch, 1]`); with an
    /// `output_sequence_length` it gives `[batch, length]` (Keras would slice the batch
    /// axis of `[batch]` texts instead).
    ///
    /// # Errors
    /// No vocabulary yet (or no idf weights in `tf_idf` mode); invalid options.
    pub fn encode<B: Backend, S: AsRef<str>>(
        &self,
        texts: &[S],
        device: Device,
    ) -> Result<Tensor<B>> {
        self.encode_rows(texts, false, device)
    }

    /// [`TextVectorization::encode`]; `column`: the texts came as `[batch, 1]`.
    fn encode_rows<B: Backend, S: AsRef<str>>(
        &self,
        texts: &[S],
        column: bool,
        device: Device,
    ) -> Result<Tensor<B>> {
        self.ready()?;
        let rows: Vec<Vec<i64>> = texts
            .iter()
            .map(|t| self.indices_unchecked(t.as_ref()))
            .collect::<Result<_>>()?;
        let batch = rows.len();
        if self.config.output_mode == TextOutputMode::Int {
            let length = self
                .config
                .output_sequence_length
                .unwrap_or_else(|| rows.iter().map(Vec::len).max().unwrap_or(0));
            let mut out = vec![0i64; elements(&self.config.name, batch, length)?];
            for (row, ids) in out.chunks_mut(length.max(1)).zip(&rows) {
                let n = ids.len().min(length);
                row[..n].copy_from_slice(&ids[..n]);
            }
            // Keras: without a split, `[batch]` texts give one index per text, `[batch]`.
            if self.config.split.is_none()
                && self.config.output_sequence_length.is_none()
                && !column
            {
                return Tensor::from_vec_on(out, &[batch], device);
            }
            return Tensor::from_vec_on(out, &[batch, length], device);
        }
        let depth = self.depth();
        let mut out = vec![0f32; elements(&self.config.name, batch, depth)?];
        for (row, ids) in out.chunks_mut(depth.max(1)).zip(&rows) {
            for &i in ids {
                // -1: the mask `""` (a text that is empty when `split` is None), dropped.
                if let Some(slot) = usize::try_from(i).ok().and_then(|i| row.get_mut(i)) {
                    *slot += 1.0;
                }
            }
            match (self.config.output_mode, &self.idf) {
                (TextOutputMode::MultiHot, _) => row.iter_mut().for_each(|v| *v = v.min(1.0)),
                (TextOutputMode::TfIdf, Some(idf)) => {
                    // Indices beyond the vocabulary (padding to max_tokens) have weight 0.
                    for (i, v) in row.iter_mut().enumerate() {
                        *v *= idf.get(i).copied().unwrap_or(0.0);
                    }
                }
                _ => {}
            }
        }
        Tensor::from_vec_on(out, &[batch, depth], device)
    }

    /// [`TextVectorization::encode`] of texts laid out as `shape`: `[batch]` or Keras'
    /// `[batch, 1]` (one text per row; the same output but for `split(None)`, see
    /// [`TextVectorization::encode`]).
    ///
    /// # Errors
    /// As [`TextVectorization::encode`]; `texts.len()` not the product of `shape`, or a
    /// shape other than `[batch]`/`[batch, 1]` (Keras: the input rank must be 1 or the last
    /// dimension 1).
    pub fn encode_shaped<B: Backend, S: AsRef<str>>(
        &self,
        texts: &[S],
        shape: &[usize],
        device: Device,
    ) -> Result<Tensor<B>> {
        check_layout(&self.config.name, texts.len(), shape)?;
        if !(shape.len() == 1 || (shape.len() == 2 && shape[1] == 1)) {
            return Err(Error::shape(
                &self.config.name,
                "input",
                "texts as [batch] or [batch, 1] (one text per sample)",
                shape,
            ));
        }
        self.encode_rows(texts, shape.len() == 2, device)
    }

    // -------------------------------------------------------------- config

    /// The config: Keras' `TextVectorization` fields, with the vocabulary (special tokens
    /// first) and, in `tf_idf` mode, the idf weights.
    pub fn get_config(&self) -> serde_json::Value {
        let mut c = self.config.clone();
        if self.is_adapted() {
            c.vocabulary = Some(self.vocabulary());
            c.vocabulary_size = Some(self.vocabulary_size());
        }
        c.idf_weights = self.idf.clone();
        to_json(&c)
    }

    /// Inverse of [`TextVectorization::get_config`]; also reads Keras' config of a layer
    /// given a `vocabulary` (and `idf_weights`).
    ///
    /// # Errors
    /// [`Error::Config`] naming `TextVectorization.<field>` of a malformed field, an
    /// unsupported `sparse`/`ragged`/`encoding`, invalid options, or a vocabulary refused
    /// by [`TextVectorization::with_vocabulary_and_idf`]; a size out of its limits.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c: TextVectorizationConfig = parse(config)?;
        if c.sparse {
            return Err(arg_error(
                "sparse",
                "sparse output is not supported (TensorFlow only in Keras)",
            ));
        }
        if c.ragged {
            return Err(arg_error("ragged", "ragged output is not supported (TensorFlow only in Keras); use token_indices for unpadded rows"));
        }
        if !matches!(c.encoding.to_ascii_lowercase().as_str(), "utf-8" | "utf8") {
            return Err(arg_error(
                "encoding",
                format!("only utf-8 is supported, got {:?}", c.encoding),
            ));
        }
        let vocabulary = c.vocabulary.take();
        let idf = c.idf_weights.take();
        let mut tv = Self {
            config: c,
            core: LookupCore::default(),
            idf: None,
        };
        tv.relayout(None);
        tv.validate()?;
        match (vocabulary, idf) {
            (Some(v), w) => tv.set_vocabulary(&v, w.as_deref())?,
            (None, Some(_)) => {
                return Err(arg_error("idf_weights", "given without a vocabulary"));
            }
            (None, None) => {}
        }
        Ok(tv)
    }

    /// The config as a JSON string (what to store as a model asset).
    pub fn to_json(&self) -> String {
        self.get_config().to_string()
    }

    /// Inverse of [`TextVectorization::to_json`].
    ///
    /// # Errors
    /// Malformed JSON or config.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_config(&serde_json::from_str(text)?)
    }
}

/// The mean of `f32` weights (accumulated in `f64`); 0 for none.
fn mean(w: &[f32]) -> f32 {
    if w.is_empty() {
        return 0.0;
    }
    (w.iter().map(|&v| f64::from(v)).sum::<f64>() / w.len() as f64) as f32
}

/// `batch * width` output elements, refused when it overflows.
fn elements(name: &str, batch: usize, width: usize) -> Result<usize> {
    batch.checked_mul(width).ok_or_else(|| {
        Error::shape(
            name,
            "output",
            "a [batch, width] output whose size fits in memory",
            &[batch, width],
        )
    })
}
