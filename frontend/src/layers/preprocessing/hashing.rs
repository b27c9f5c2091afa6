//! [`Hashing`]: values hashed into bins, bit-identical to Keras/TensorFlow.

use super::common::*;
use super::*;
use crate::backend::{Backend, DType, Device};
use crate::error::{Error, Result};
use crate::layers::{cfg_name, BuildContext, CallContext, Layer};
use crate::tensor::Tensor;
use serde_json::json;

// ------------------------------------------------------------------ Hashing

/// The `mask_value` of a [`Hashing`] layer: hashed to bin 0, other values to `1..num_bins`.
#[derive(Debug, Clone, PartialEq)]
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
    num_bins: usize,
    mask_value: Option<MaskValue>,
    salt: Option<[u64; 2]>,
    output_mode: OutputMode,
    name: String,
    built: bool,
    _b: std::marker::PhantomData<fn() -> B>,
}

impl<B: Backend> Hashing<B> {
    /// `num_bins` bins, no mask, no salt, `int` output.
    pub fn new(num_bins: usize) -> Self {
        Self {
            num_bins,
            mask_value: None,
            salt: None,
            output_mode: OutputMode::Int,
            name: String::new(),
            built: false,
            _b: std::marker::PhantomData,
        }
    }
    /// A value hashed to bin 0.
    pub fn mask_value(mut self, mask: MaskValue) -> Self {
        self.mask_value = Some(mask);
        self
    }
    /// Keyed SipHash with key `[salt, salt]` (Keras' single-integer salt).
    pub fn salt(mut self, salt: u64) -> Self {
        self.salt = Some([salt, salt]);
        self
    }
    /// Keyed SipHash with the key `[k0, k1]`.
    pub fn salt_pair(mut self, k0: u64, k1: u64) -> Self {
        self.salt = Some([k0, k1]);
        self
    }
    field_setters! {
        /// Output encoding (default int).
        output_mode: output_mode = OutputMode,
    }
    name_and_label!("hashing");

    fn check(&self) -> Result<()> {
        if self.num_bins == 0 {
            return Err(Error::invalid(
                self.label(),
                "num_bins",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    fn bin(&self, bytes: &[u8], masked: bool) -> i64 {
        let use_mask = self.mask_value.is_some() && self.num_bins > 1;
        if use_mask && masked {
            return 0;
        }
        let bins = if use_mask {
            self.num_bins - 1
        } else {
            self.num_bins
        } as u64;
        let h = match self.salt {
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
                let masked = matches!(&self.mask_value, Some(MaskValue::Str(m)) if m == s);
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
                let masked = matches!(&self.mask_value, Some(MaskValue::Int(m)) if m == v);
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
        encode(&idx, self.output_mode, self.num_bins)
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let n = crate::layers::cfg_size(config, "Hashing", "num_bins")?;
        let mut l = Self::new(n);
        l.name = cfg_name(config);
        l.output_mode = cfg_mode(config, "Hashing", OutputMode::Int)?;
        l.mask_value = match config.get("mask_value") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(MaskValue::Str(s.clone())),
            Some(v) => Some(MaskValue::Int(v.as_i64().ok_or_else(|| {
                Error::config(
                    "Hashing.mask_value",
                    "expected an integer, a string or null",
                )
            })?)),
        };
        l.salt = match config.get("salt") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) if v.is_u64() => v.as_u64().map(|s| [s, s]),
            Some(v) => {
                let p: Vec<u64> = serde_json::from_value(v.clone()).map_err(|_| {
                    Error::config("Hashing.salt", "expected an integer or two integers")
                })?;
                match p.as_slice() {
                    [a, b] => Some([*a, *b]),
                    _ => {
                        return Err(Error::config(
                            "Hashing.salt",
                            "expected an integer or two integers",
                        ))
                    }
                }
            }
        };
        Ok(l)
    }
}

impl<B: Backend> Layer<B> for Hashing<B> {
    preprocessing_layer_methods!("Hashing", flag_built);
    fn validate(&self) -> Result<()> {
        self.check()
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(self.output_mode.output_shape(input_shape, self.num_bins))
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        check_rank1(self.label(), x)?;
        self.check()?;
        // Keras compares with the mask before truncating floats to integers.
        let bins: Vec<i64> = if x.dtype() == DType::I64 {
            self.hash_ints(&x.to_vec_i64()?)?
        } else {
            let mask = match &self.mask_value {
                Some(MaskValue::Int(m)) => Some(*m as f64),
                _ => None,
            };
            x.to_vec_f64()?
                .into_iter()
                .map(|v| self.bin((v as i64).to_string().as_bytes(), Some(v) == mask))
                .collect()
        };
        let idx = Tensor::<B>::from_vec_on(bins, &x.shape(), x.device())?;
        encode(&idx, self.output_mode, self.num_bins)
    }
    fn get_config(&self) -> serde_json::Value {
        let mask = match &self.mask_value {
            None => serde_json::Value::Null,
            Some(MaskValue::Int(i)) => json!(i),
            Some(MaskValue::Str(s)) => json!(s),
        };
        json!({
            "name": self.name,
            "num_bins": self.num_bins,
            "mask_value": mask,
            "salt": self.salt.map(|k| vec![k[0], k[1]]),
            "output_mode": self.output_mode.as_str(),
        })
    }
}
