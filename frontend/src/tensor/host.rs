//! Moving tensors between host and devices, and reading their values back.

use super::Tensor;
use crate::backend::{Backend, DType, Device, HostData};
use crate::error::{Error, Result};

impl<B: Backend> Tensor<B> {
    /// Contents on the host.
    pub fn to_host(&self) -> Result<HostData> {
        B::to_host(&self.inner)
    }

    /// Contents as `f32` (converted from any dtype), row-major.
    pub fn to_vec_f32(&self) -> Result<Vec<f32>> {
        Ok(self.to_host()?.to_f32_vec())
    }

    /// Contents as `f64`.
    pub fn to_vec_f64(&self) -> Result<Vec<f64>> {
        Ok(self.to_host()?.to_f64_vec())
    }

    /// Contents as `i64`.
    pub fn to_vec_i64(&self) -> Result<Vec<i64>> {
        Ok(self.to_host()?.to_i64_vec())
    }

    /// The single value of a one-element tensor, as `f64`.
    ///
    /// # Errors
    /// When the tensor does not hold exactly one element.
    pub fn item(&self) -> Result<f64> {
        if self.numel() != 1 {
            return Err(Error::shape(
                "item",
                "tensor",
                "exactly one element",
                &self.shape(),
            ));
        }
        Ok(self.to_vec_f64()?[0])
    }

    /// Converts to another dtype.
    pub fn to_dtype(&self, dtype: DType) -> Result<Self> {
        if self.dtype() == dtype {
            return Ok(self.clone());
        }
        Ok(Self::new(B::to_dtype(&self.inner, dtype)?))
    }

    /// Moves to another device.
    pub fn to_device(&self, device: Device) -> Result<Self> {
        if self.device() == device {
            return Ok(self.clone());
        }
        Ok(Self::new(B::to_device(&self.inner, &B::device(device)?)?))
    }
}
