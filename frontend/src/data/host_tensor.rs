//! [`HostTensor`]: a tensor's values and shape on the host, engine-independent (saved
//! files, dataset elements, weights handed to and from users).

use crate::backend::{Backend, Device, HostData};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A tensor's contents on the host, engine-independent.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Values, row-major.
    pub data: HostData,
    /// Dimensions.
    pub shape: Vec<usize>,
}

impl HostTensor {
    /// Copies a tensor to the host.
    ///
    /// # Errors
    /// On engine errors.
    pub fn from_tensor<B: Backend>(t: &Tensor<B>) -> Result<Self> {
        Ok(Self {
            data: t.to_host()?,
            shape: t.shape(),
        })
    }

    /// Uploads to `device` on engine `B`.
    ///
    /// # Errors
    /// On engine errors.
    pub fn to_tensor<B: Backend>(&self, device: Device) -> Result<Tensor<B>> {
        Tensor::from_host(self.data.clone(), &self.shape, device)
    }

    /// The values as little-endian bytes (the safetensors layout).
    pub(crate) fn bytes(&self) -> Vec<u8> {
        match &self.data {
            HostData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            HostData::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            HostData::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            HostData::Bool(v) => v.iter().map(|&b| b as u8).collect(),
            HostData::BF16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            HostData::F16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
}

impl HostTensor {
    /// An `f32` host tensor; `data.len()` must equal the product of `shape`.
    ///
    /// # Errors
    /// [`Error::Shape`] when the sizes disagree.
    pub fn f32(data: Vec<f32>, shape: &[usize]) -> Result<Self> {
        Self::checked(HostData::F32(data), shape)
    }

    /// An `i64` host tensor (class labels); `data.len()` must equal the product of `shape`.
    ///
    /// # Errors
    /// [`Error::Shape`] when the sizes disagree.
    pub fn i64(data: Vec<i64>, shape: &[usize]) -> Result<Self> {
        Self::checked(HostData::I64(data), shape)
    }

    /// A host tensor from any [`HostData`]; `data.len()` must equal the product of `shape`.
    ///
    /// # Errors
    /// [`Error::Shape`] when the sizes disagree.
    pub fn checked(data: HostData, shape: &[usize]) -> Result<Self> {
        let want: usize = shape.iter().product();
        if data.len() != want {
            return Err(Error::shape(
                "HostTensor",
                "data",
                format!("{want} values for shape {:?}", shape),
                &[data.len()],
            ));
        }
        Ok(Self {
            data,
            shape: shape.to_vec(),
        })
    }
}
