//! [`Hashing`]: values hashed into bins, bit-identical to Keras/TensorFlow.

use super::common::*;
use super::*;
use crate::backend::{Backend, DType, Device};
use crate::error::{Error, Result};
use crate::layers::config::{config_methods, config_setters, layer_config, to_json};
use crate::layers::{cfg_size, BuildContext, CallContext, Layer};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

// ------------------------------------------------------------------ Hashing

/// The `mask_value` of a [`Hashing`] layer: hashed to bin 0, other values to `1..num_bins`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MaskValue {
    /// For integer inputs (tensors).
    Int(i64),
    /// For string inputs ([`Hashing::hash_strings`]).
    Str(String),
}

/// Hashes values into `num_bins` bins (Keras `Hashing`), bit-identical to Keras/TensorFlow:
/// bin = `fingerprint64(s) % num_bins`, or `siphash24(salt, s) % num_bins` with a salt,
/// where integers are hashed as their decimal strings (floats are truncated to integers
/// first, as Keras). With a `mask_value`, the mask goes to bin 0 and other values to
/// `1 + hash % (num_bins - 1)`.
///
/// As a layer it hashes integer tensors (a host round trip in `call`; the encoding runs on
/// the engine); strings are hashed on the host by [`Hashing::hash_strings`] /
/// [`Hashing::encode_strings`].
///
/// ```
/// use stratanet::layers::Hashing;
/// use stratanet::DefaultBackend as B;
/// # fn main() -> stratanet::Result<()> {
/// let h = Hashing::<B>::new(3);
/// assert_eq!(h.hash_strings(&["A", "B", "C", "D", "E"])?, vec![1, 0, 1, 1, 2]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Hashing<B: Backend> {
    config: HashingConfig,
    built: bool,
    _b: std::marker::PhantomData<fn() -> B>,
}

layer_config! {
    /// The hyper-parameters of [`Hashing`] (Keras' names and defaults).
    pub struct HashingConfig for "Hashing" {
        /// Number of bins, the mask's bin included (required).
        num_bins: usize = 0,
        /// A value hashed to bin 0.
        mask_value: Option<MaskValue> = None,
        /// SipHash key: Keras' one integer `s` (read as `[s, s]`) or a pair, written as the
        /// pair.
        #[serde(deserialize_with = "salt_key")]
        salt: Option<[u64; 2]> = None,
        /// Output encoding (default int).
        output_mode: OutputMode = OutputMode::Int,
    }
    check(config) { cfg_size(config, "Hashing", "num_bins").map(|_| ()) }
}

/// Reads a salt: `null`, one integer `s` (the key `[s, s]`) or two integers.
fn salt_key<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<[u64; 2]>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Salt {
        One(u64),
        Pair([u64; 2]),
    }
    Ok(Option::<Salt>::deserialize(d)?.map(|s| match s {
        Salt::One(s) => [s, s],
        Salt::Pair(k) => k,
    }))
}

impl<B: Backend> Hashing<B> {
    /// `num_bins` bins, no mask, no salt, `int` output.
    pub fn new(num_bins: usize) -> Self {
        Self::with_config(HashingConfig {
            num_bins,
            ..Default::default()
        })
    }
    config_setters! {
        /// A value hashed to bin 0.
        mask_value: Option<MaskValue>,
        /// Output encoding (default int).
        output_mode: OutputMode,
    }
    /// Keyed SipHash with key `[salt, salt]` (Keras' single-integer salt).
    pub fn salt(mut self, salt: u64) -> Self {
        self.config.salt = Some([salt, salt]);
        self
    }
    /// Keyed SipHash with the key `[k0, k1]`.
    pub fn salt_pair(mut self, k0: u64, k1: u64) -> Self {
        self.config.salt = Some([k0, k1]);
        self
    }
    config_methods!(HashingConfig, |config| Self {
        config,
        built: false,
        _b: std::marker::PhantomData,
    });
    label_or_default!("hashing");

    fn check(&self) -> Result<()> {
        if self.config.num_bins == 0 {
            return Err(Error::invalid(
                self.label(),
                "num_bins",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    fn bin(&self, bytes: &[u8], masked: bool) -> i64 {
        let use_mask = self.config.mask_value.is_some() && self.config.num_bins > 1;
        if use_mask && masked {
            return 0;
        }
        let bins = if use_mask {
            self.config.num_bins - 1
        } else {
            self.config.num_bins
        } as u64;
        let h = match self.config.salt {
            Some(k) => siphash24(k, bytes),
            None => fingerprint64(bytes),
        };
        (h % bins) as i64 + i64::from(use_mask)
    }

    /// Bin of each string.
    ///
    /// # Errors
    /// `num_bins` of 0.
    pub fn hash_strings(&self, values: &[&str]) -> Result<Vec<i64>> {
        self.check()?;
        Ok(values
            .iter()
            .map(|s| {
                let masked = matches!(&self.config.mask_value, Some(MaskValue::Str(m)) if m == s);
                self.bin(s.as_bytes(), masked)
            })
            .collect())
    }

    /// Bin of each integer (hashed as its decimal string).
    ///
    /// # Errors
    /// `num_bins` of 0.
    pub fn hash_ints(&self, values: &[i64]) -> Result<Vec<i64>> {
        self.check()?;
        Ok(values
            .iter()
            .map(|v| {
                let masked = matches!(&self.config.mask_value, Some(MaskValue::Int(m)) if m == v);
                self.bin(v.to_string().as_bytes(), masked)
            })
            .collect())
    }

    /// Hashes strings laid out as `shape` (`[batch, ...]`, row-major) and encodes them by
    /// the output mode on `device`.
    ///
    /// # Errors
    /// `values.len()` not the product of `shape`, or engine errors.
    pub fn encode_strings(
        &self,
        values: &[&str],
        shape: &[usize],
        device: Device,
    ) -> Result<Tensor<B>> {
        check_layout(self.label(), values.len(), shape)?;
        let idx = Tensor::<B>::from_vec_on(self.hash_strings(values)?, shape, device)?;
        encode(&idx, self.config.output_mode, self.config.num_bins)
    }
}

impl<B: Backend> Layer<B> for Hashing<B> {
    preprocessing_layer_methods!(@flag "Hashing");
    fn validate(&self) -> Result<()> {
        self.check()
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(self
            .config
            .output_mode
            .output_shape(input_shape, self.config.num_bins))
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        check_rank1(self.label(), x)?;
        self.check()?;
        // Keras compares with the mask before truncating floats to integers.
        let bins: Vec<i64> = if x.dtype() == DType::I64 {
            self.hash_ints(&x.to_vec_i64()?)?
        } else {
            let mask = match &self.config.mask_value {
                Some(MaskValue::Int(m)) => Some(*m as f64),
                _ => None,
            };
            x.to_vec_f64()?
                .into_iter()
                .map(|v| self.bin((v as i64).to_string().as_bytes(), Some(v) == mask))
                .collect()
        };
        let idx = Tensor::<B>::from_vec_on(bins, &x.shape(), x.device())?;
        encode(&idx, self.config.output_mode, self.config.num_bins)
    }
    fn get_config(&self) -> serde_json::Value {
        to_json(&self.config)
    }
}
