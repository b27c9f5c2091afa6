//! The lookup core shared by [`IntegerLookup`](super::IntegerLookup) and
//! [`StringLookup`](super::StringLookup): index layout, vocabulary, `adapt`, config.

use super::common::*;
use super::*;
use crate::error::{Error, Result};
use serde_json::json;
use std::collections::HashMap;
use std::hash::Hash;

// ------------------------------------------------------------------ lookup core

/// Token types of the lookup tables.
pub(crate) trait LookupToken:
    Clone + Eq + Hash + Ord + std::fmt::Debug + serde::Serialize
{
    /// OOV bucket when there are several OOV indices.
    fn oov_bucket(&self, n: usize) -> i64;
}
impl LookupToken for i64 {
    fn oov_bucket(&self, n: usize) -> i64 {
        self.rem_euclid(n as i64)
    }
}
impl LookupToken for String {
    fn oov_bucket(&self, n: usize) -> i64 {
        (fingerprint64(self.as_bytes()) % n as u64) as i64
    }
}

/// Index layout and vocabulary shared by `IntegerLookup` and `StringLookup`.
#[derive(Debug, Clone)]
pub(crate) struct LookupCore<T: LookupToken> {
    pub(super) layer: &'static str,
    pub(super) max_tokens: Option<usize>,
    pub(super) num_oov_indices: usize,
    pub(super) mask_token: Option<T>,
    pub(super) oov_token: T,
    pub(super) output_mode: OutputMode,
    pub(super) pad_to_max_tokens: bool,
    /// Learned or given tokens (no mask/OOV).
    pub(super) tokens: Option<Vec<T>>,
    pub(super) index: HashMap<T, i64>,
    pub(super) counts: HashMap<T, u64>,
}

impl<T: LookupToken> LookupCore<T> {
    pub(crate) fn new(layer: &'static str, oov_token: T) -> Self {
        Self {
            layer,
            max_tokens: None,
            num_oov_indices: 1,
            mask_token: None,
            oov_token,
            output_mode: OutputMode::Int,
            pad_to_max_tokens: false,
            tokens: None,
            index: HashMap::new(),
            counts: HashMap::new(),
        }
    }
    /// The same core writing its result as `mode`.
    pub(crate) fn with_output_mode(mut self, mode: OutputMode) -> Self {
        self.output_mode = mode;
        self
    }
    /// The learned or given tokens (no mask/OOV); empty before `adapt`.
    pub(crate) fn tokens(&self) -> &[T] {
        self.tokens.as_deref().unwrap_or(&[])
    }
    pub(crate) fn oov_start(&self) -> usize {
        usize::from(self.mask_token.is_some() && self.output_mode == OutputMode::Int)
    }
    pub(crate) fn token_start(&self) -> usize {
        self.oov_start() + self.num_oov_indices
    }
    pub(crate) fn vocabulary_size(&self) -> usize {
        self.token_start() + self.tokens.as_ref().map_or(0, |t| t.len())
    }
    pub(crate) fn depth(&self) -> usize {
        match (self.pad_to_max_tokens, self.max_tokens) {
            (true, Some(m)) => m,
            _ => self.vocabulary_size(),
        }
    }
    pub(crate) fn validate(&self, name: &str) -> Result<()> {
        if let Some(m) = self.max_tokens {
            if m <= 1 {
                return Err(Error::invalid(
                    name,
                    "max_tokens",
                    format!("must be > 1, got {m}"),
                ));
            }
        }
        if self.pad_to_max_tokens && self.max_tokens.is_none() {
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
        if let (Some(m), 1) = (&self.mask_token, self.oov_start()) {
            v.push(m.clone());
        }
        v.extend(std::iter::repeat_n(
            self.oov_token.clone(),
            self.num_oov_indices,
        ));
        v.extend(self.tokens.iter().flatten().cloned());
        v
    }
    /// Sets a vocabulary as Keras' `set_vocabulary` (a leading mask/OOV prefix is dropped).
    pub(crate) fn set_vocabulary(&mut self, name: &str, vocab: Vec<T>) -> Result<()> {
        if vocab.is_empty() {
            return Err(Error::invalid(name, "vocabulary", "is empty"));
        }
        let special: Vec<T> = {
            let mut s = Vec::new();
            if let (Some(m), 1) = (&self.mask_token, self.oov_start()) {
                s.push(m.clone());
            }
            s.extend(std::iter::repeat_n(
                self.oov_token.clone(),
                self.num_oov_indices,
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
        if let Some(m) = &self.mask_token {
            if tokens.contains(m) {
                return Err(Error::invalid(
                    name,
                    "vocabulary",
                    format!("contains the mask token {m:?}; leave it out (it gets index 0)"),
                ));
            }
        }
        let size = self.token_start() + tokens.len();
        if let Some(m) = self.max_tokens {
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
        self.tokens = Some(tokens);
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
        counts.retain(|(t, _)| Some(t) != self.mask_token.as_ref() && *t != self.oov_token);
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
        if let Some(m) = self.max_tokens {
            counts.truncate(m.saturating_sub(self.token_start()));
        }
        self.install(counts.into_iter().map(|(t, _)| t).collect());
    }
    pub(crate) fn ready(&self, name: &str) -> Result<()> {
        if self.tokens.is_none() {
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
        if self.mask_token.as_ref() == Some(token) {
            return Ok(if self.output_mode == OutputMode::Int {
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
        match (self.num_oov_indices, token) {
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
        if let (Some(m), 1, 0) = (&self.mask_token, self.oov_start(), index) {
            return m.clone();
        }
        let start = self.token_start() as i64;
        self.tokens
            .as_ref()
            .and_then(|t| {
                if index >= start {
                    t.get((index - start) as usize)
                } else {
                    None
                }
            })
            .cloned()
            .unwrap_or_else(|| self.oov_token.clone())
    }
    pub(crate) fn config(&self, name: &str) -> serde_json::Value {
        json!({
            "name": name,
            "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "mask_token": self.mask_token,
            "oov_token": self.oov_token,
            "output_mode": self.output_mode.as_str(),
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary": self.tokens,
        })
    }
    pub(crate) fn read_config<F>(&mut self, config: &serde_json::Value, parse: F) -> Result<()>
    where
        F: Fn(&serde_json::Value) -> Option<T>,
    {
        let layer = self.layer;
        let bad = |k: &str, m: &str| Error::config(format!("{layer}.{k}"), m.to_string());
        if let Some(v) = config.get("max_tokens") {
            self.max_tokens = if v.is_null() {
                None
            } else {
                Some(crate::limits::size_value(
                    v,
                    &crate::layers::cfg_label(config, layer),
                    "max_tokens",
                    1,
                )?)
            };
        }
        if let Some(v) = config.get("num_oov_indices") {
            self.num_oov_indices = crate::limits::size_value(
                v,
                &crate::layers::cfg_label(config, layer),
                "num_oov_indices",
                0,
            )?;
        }
        if let Some(v) = config.get("mask_token") {
            self.mask_token = if v.is_null() {
                None
            } else {
                Some(parse(v).ok_or_else(|| bad("mask_token", "wrong type"))?)
            };
        }
        if let Some(v) = config.get("oov_token") {
            if !v.is_null() {
                self.oov_token = parse(v).ok_or_else(|| bad("oov_token", "wrong type"))?;
            }
        }
        self.output_mode = cfg_mode(config, layer, OutputMode::Int)?;
        self.pad_to_max_tokens = config
            .get("pad_to_max_tokens")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if let Some(v) = config.get("vocabulary") {
            if let Some(list) = v.as_array() {
                let toks = list
                    .iter()
                    .map(|t| parse(t).ok_or_else(|| bad("vocabulary", "wrong token type")))
                    .collect::<Result<Vec<T>>>()?;
                self.set_vocabulary(layer, toks)?;
            } else if !v.is_null() {
                return Err(bad("vocabulary", "expected a list or null"));
            }
        }
        Ok(())
    }
}
