//! Creating tensors: from host vectors, constants, ranges and random draws.

use super::{numel, Element, Tensor};
use crate::backend::{Backend, DType, Device, HostData};
use crate::error::{Error, Result};

impl<B: Backend> Tensor<B> {
    /// A tensor on the CPU from a vector and a shape.
    ///
    /// # Errors
    /// When `data.len()` is not the product of `shape`.
    pub fn from_vec<E: Element>(data: Vec<E>, shape: &[usize]) -> Result<Self> {
        Self::from_vec_on(data, shape, Device::Cpu)
    }

    /// A tensor on `device` from a vector and a shape.
    ///
    /// # Errors
    /// When `data.len()` is not the product of `shape` or the device is unavailable.
    pub fn from_vec_on<E: Element>(data: Vec<E>, shape: &[usize], device: Device) -> Result<Self> {
        Self::from_host(E::into_host(data), shape, device)
    }

    /// A tensor from [`HostData`].
    ///
    /// # Errors
    /// When the element count does not match `shape` or the device is unavailable.
    pub fn from_host(data: HostData, shape: &[usize], device: Device) -> Result<Self> {
        if data.len() != numel(shape) {
            return Err(Error::shape(
                "Tensor::from_vec",
                "data",
                format!("{} elements for shape {:?}", numel(shape), shape),
                &[data.len()],
            ));
        }
        let dev = B::device(device)?;
        Ok(Self::new(B::from_host(data, shape, &dev)?))
    }

    /// A rank-0 `f32` tensor.
    pub fn scalar(value: f32) -> Result<Self> {
        Self::from_vec(vec![value], &[])
    }

    /// Zeros of `dtype` on `device`.
    pub fn zeros(shape: &[usize], dtype: DType, device: Device) -> Result<Self> {
        Ok(Self::new(B::zeros(shape, dtype, &B::device(device)?)?))
    }

    /// Ones of `dtype` on `device`.
    pub fn ones(shape: &[usize], dtype: DType, device: Device) -> Result<Self> {
        Ok(Self::new(B::ones(shape, dtype, &B::device(device)?)?))
    }

    /// `value` everywhere.
    pub fn full(shape: &[usize], value: f64, dtype: DType, device: Device) -> Result<Self> {
        Ok(Self::new(B::full(
            shape,
            value,
            dtype,
            &B::device(device)?,
        )?))
    }

    /// Zeros with this tensor's shape, dtype and device.
    pub fn zeros_like(&self) -> Result<Self> {
        Ok(Self::new(B::zeros(
            &self.shape(),
            self.dtype(),
            &self.engine_device(),
        )?))
    }

    /// Ones with this tensor's shape, dtype and device.
    pub fn ones_like(&self) -> Result<Self> {
        Ok(Self::new(B::ones(
            &self.shape(),
            self.dtype(),
            &self.engine_device(),
        )?))
    }

    /// A rank-0 tensor with this tensor's dtype and device.
    pub fn scalar_like(&self, value: f64) -> Result<Self> {
        Ok(Self::new(B::scalar_like(&self.inner, value)?))
    }

    /// `0, 1, ..., n-1` as `i64`.
    pub fn arange(n: usize, device: Device) -> Result<Self> {
        Ok(Self::new(B::arange(
            0.0,
            n as f64,
            1.0,
            DType::I64,
            &B::device(device)?,
        )?))
    }

    /// Seeded uniform samples in `[low, high)`.
    pub fn uniform(
        shape: &[usize],
        low: f64,
        high: f64,
        seed: u64,
        dtype: DType,
        device: Device,
    ) -> Result<Self> {
        Ok(Self::new(B::uniform(
            shape,
            low,
            high,
            seed,
            dtype,
            &B::device(device)?,
        )?))
    }

    /// Seeded normal samples.
    pub fn normal(
        shape: &[usize],
        mean: f64,
        std: f64,
        seed: u64,
        dtype: DType,
        device: Device,
    ) -> Result<Self> {
        Ok(Self::new(B::normal(
            shape,
            mean,
            std,
            seed,
            dtype,
            &B::device(device)?,
        )?))
    }
}
