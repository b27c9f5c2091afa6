//! Reading and writing a torch `state_dict` as a plain `.safetensors` file (any writer:
//! no stratanet metadata or checksum), every dtype torch writes decoded to host tensors.

use crate::backend::HostData;
use crate::data::HostTensor;
use crate::error::{Error, Result};
use safetensors::{Dtype, SafeTensors};
use std::path::Path;

/// A torch `state_dict` read from a `.safetensors` file (any writer: no stratanet metadata
/// or checksum is needed), names in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct StateDict {
    pub(super) tensors: Vec<(String, HostTensor)>,
    /// Names the file (or buffer) in errors.
    pub(super) origin: String,
}

/// An IEEE half (`f16`) bit pattern as `f32` (exact: every f16 is an f32).
fn f16_to_f32(h: u16) -> f32 {
    half::f16::from_bits(h).to_f32()
}

/// Decodes `bytes` as consecutive little-endian values of `N` bytes each (a trailing
/// partial value is dropped).
fn from_le<const N: usize, T>(bytes: &[u8], decode: impl Fn([u8; N]) -> T) -> Vec<T> {
    bytes
        .chunks_exact(N)
        .map(|c| {
            let mut b = [0u8; N];
            b.copy_from_slice(c);
            decode(b)
        })
        .collect()
}

impl StateDict {
    /// Reads a `.safetensors` file, e.g. one written by
    /// `safetensors.torch.save_file(model.state_dict(), path)`. Floating tensors of any
    /// width (f16, bf16, f32, f64) are read as f32/f64; integer ones (`num_batches_tracked`)
    /// as i64.
    ///
    /// # Errors
    /// I/O errors; a malformed file or an unsupported dtype ([`Error::Config`] naming the
    /// file and tensor). Never panics.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = crate::interop::read_file(path)?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// Parses a safetensors buffer; `origin` names it in errors.
    ///
    /// # Errors
    /// As [`StateDict::load`].
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Self> {
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| Error::config(origin, format!("not a valid safetensors file ({e})")))?;
        let mut names: Vec<(usize, String)> = st
            .tensors()
            .into_iter()
            .map(|(n, v)| (v.data().as_ptr() as usize, n))
            .collect();
        names.sort();
        let mut tensors = Vec::with_capacity(names.len());
        for (_, name) in names {
            let v = st
                .tensor(&name)
                .map_err(|e| Error::config(origin, format!("tensor '{name}': {e}")))?;
            let d = v.data();
            let data = match v.dtype() {
                Dtype::F32 => HostData::F32(from_le(d, f32::from_le_bytes)),
                Dtype::F64 => HostData::F64(from_le(d, f64::from_le_bytes)),
                Dtype::F16 => HostData::F32(from_le(d, |c| f16_to_f32(u16::from_le_bytes(c)))),
                Dtype::BF16 => HostData::F32(from_le(d, |c| half::bf16::from_le_bytes(c).to_f32())),
                Dtype::I64 => HostData::I64(from_le(d, i64::from_le_bytes)),
                Dtype::I32 => HostData::I64(from_le(d, |c| i32::from_le_bytes(c) as i64)),
                Dtype::BOOL => HostData::Bool(d.iter().map(|&b| b != 0).collect()),
                other => {
                    return Err(Error::config(
                        origin,
                        format!("tensor '{name}': unsupported dtype {other:?}"),
                    ))
                }
            };
            tensors.push((
                name,
                HostTensor {
                    data,
                    shape: v.shape().to_vec(),
                },
            ));
        }
        Ok(Self {
            tensors,
            origin: origin.to_string(),
        })
    }

    /// A state dict from named host tensors (for tests and programmatic use).
    pub fn from_tensors(tensors: Vec<(String, HostTensor)>) -> Self {
        Self {
            tensors,
            origin: "state_dict".into(),
        }
    }

    /// Writes the tensors as a plain `.safetensors` file (no stratanet metadata), as
    /// `safetensors.torch.save_file` would; Python's `safetensors.torch.load_file` reads it.
    ///
    /// # Errors
    /// Encoding and I/O errors.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        for (n, t) in &self.tensors {
            let (dt, bytes): (Dtype, Vec<u8>) = match &t.data {
                HostData::F32(v) => (Dtype::F32, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                HostData::F64(v) => (Dtype::F64, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                HostData::I64(v) => (Dtype::I64, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                HostData::Bool(v) => (Dtype::BOOL, v.iter().map(|&b| b as u8).collect()),
                HostData::BF16(v) => (
                    Dtype::BF16,
                    v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                ),
                HostData::F16(v) => (Dtype::F16, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            };
            owned.push((n.clone(), dt, t.shape.clone(), bytes));
        }
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = owned
            .iter()
            .map(|(n, dt, s, b)| {
                safetensors::tensor::TensorView::new(*dt, s.clone(), b)
                    .map(|v| (n.clone(), v))
                    .map_err(|e| Error::config(n, format!("encoding: {e}")))
            })
            .collect::<Result<_>>()?;
        let bytes = safetensors::serialize(views, None)
            .map_err(|e| Error::config("state_dict", format!("encoding: {e}")))?;
        crate::saving::atomic_write(path.as_ref(), &bytes)
    }

    /// Tensor names and shapes, in file order.
    pub fn names(&self) -> Vec<(&str, &[usize])> {
        self.tensors
            .iter()
            .map(|(n, t)| (n.as_str(), t.shape.as_slice()))
            .collect()
    }

    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&HostTensor> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }
}

/// Buffers torch keeps that have no stratanet counterpart.
pub(super) fn is_ignored(name: &str) -> bool {
    name.ends_with("num_batches_tracked")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    }

    #[test]
    fn every_dtype_decodes() {
        use safetensors::tensor::TensorView;
        let f16: Vec<u8> = [0x3c00u16, 0xc000]
            .iter()
            .flat_map(|h| h.to_le_bytes())
            .collect();
        let bf16: Vec<u8> = [1.5f32, -3.0]
            .iter()
            .flat_map(|x| ((x.to_bits() >> 16) as u16).to_le_bytes())
            .collect();
        let f32s: Vec<u8> = [0.25f32, 7.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let f64s: Vec<u8> = [0.125f64, -9.5]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let i32s: Vec<u8> = [-4i32, 70_000]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let i64s: Vec<u8> = [i64::MIN, 3].iter().flat_map(|x| x.to_le_bytes()).collect();
        let bools = vec![0u8, 1];
        let tensors = [
            ("a", Dtype::F16, &f16),
            ("b", Dtype::BF16, &bf16),
            ("c", Dtype::F32, &f32s),
            ("d", Dtype::F64, &f64s),
            ("e", Dtype::I32, &i32s),
            ("f", Dtype::I64, &i64s),
            ("g", Dtype::BOOL, &bools),
        ];
        let views: Vec<(String, TensorView<'_>)> = tensors
            .iter()
            .map(|(n, dt, b)| (n.to_string(), TensorView::new(*dt, vec![2], b).unwrap()))
            .collect();
        let bytes = safetensors::serialize(views, None).unwrap();
        let sd = StateDict::from_bytes(&bytes, "mem").unwrap();
        let data = |n: &str| sd.get(n).unwrap().data.clone();
        assert_eq!(data("a"), HostData::F32(vec![1.0, -2.0]));
        assert_eq!(data("b"), HostData::F32(vec![1.5, -3.0]));
        assert_eq!(data("c"), HostData::F32(vec![0.25, 7.0]));
        assert_eq!(data("d"), HostData::F64(vec![0.125, -9.5]));
        assert_eq!(data("e"), HostData::I64(vec![-4, 70_000]));
        assert_eq!(data("f"), HostData::I64(vec![i64::MIN, 3]));
        assert_eq!(data("g"), HostData::Bool(vec![false, true]));
        assert_eq!(sd.get("a").unwrap().shape, vec![2]);
    }
}
