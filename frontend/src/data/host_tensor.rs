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
    /// The number of samples: the first dimension (1 for a scalar).
    pub fn n_rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }

    /// The same values under another shape; one dimension may be `-1` (inferred), like
    /// `x.reshape(-1, 8, 8, 1)`.
    ///
    /// ```
    /// let x = stratanet::HostTensor::f32(vec![0.0; 12], &[3, 4])?;
    /// assert_eq!(x.reshape(&[-1, 2, 2, 1])?.shape, [3, 2, 2, 1]);
    /// assert!(x.reshape(&[5, -1]).is_err());
    /// # Ok::<(), stratanet::Error>(())
    /// ```
    ///
    /// # Errors
    /// A shape whose size differs from the number of values, or more than one `-1`.
    pub fn reshape(&self, shape: &[isize]) -> Result<Self> {
        let n = self.data.len();
        let known: usize = shape
            .iter()
            .filter(|&&d| d >= 0)
            .map(|&d| d as usize)
            .product();
        let inferred = shape.iter().filter(|&&d| d < 0).count();
        let fits = match inferred {
            0 => known == n,
            1 => known > 0 && n % known == 0,
            _ => false,
        };
        if !fits {
            return Err(Error::shape(
                "HostTensor::reshape",
                "shape",
                format!("a shape of {n} values (one -1 at most), not {shape:?}"),
                &self.shape,
            ));
        }
        let dims = shape
            .iter()
            .map(|&d| if d < 0 { n / known.max(1) } else { d as usize })
            .collect();
        Ok(Self {
            data: self.data.clone(),
            shape: dims,
        })
    }

    /// The first `n` rows (all of them when there are fewer), like `x[:n]`.
    ///
    /// # Errors
    /// A scalar.
    pub fn head(&self, n: usize) -> Result<Self> {
        let rows: Vec<usize> = (0..n.min(self.n_rows())).collect();
        self.take_rows(&rows)
    }

    /// The values as `f32` (converted from the stored type), row-major.
    pub fn to_vec_f32(&self) -> Vec<f32> {
        self.data.to_f32_vec()
    }

    /// The values as `i64` (converted from the stored type; floats truncate), row-major.
    pub fn to_vec_i64(&self) -> Vec<i64> {
        self.data.to_i64_vec()
    }

    /// The rows (samples along the first dimension) at `rows`, in that order.
    ///
    /// ```
    /// use stratanet::HostTensor;
    /// let h = HostTensor::f32(vec![0., 1., 2., 3., 4., 5.], &[3, 2])?;
    /// assert_eq!(h.take_rows(&[2, 0])?, HostTensor::f32(vec![4., 5., 0., 1.], &[2, 2])?);
    /// # Ok::<(), stratanet::Error>(())
    /// ```
    ///
    /// # Errors
    /// A scalar, or a row index past the end.
    pub fn take_rows(&self, rows: &[usize]) -> Result<Self> {
        let n = match self.shape.first() {
            Some(&n) => n,
            None => {
                return Err(Error::shape(
                    "HostTensor::take_rows",
                    "self",
                    "a tensor of rank >= 1",
                    &[],
                ))
            }
        };
        if let Some(&bad) = rows.iter().find(|&&r| r >= n) {
            return Err(Error::invalid(
                "HostTensor::take_rows",
                "rows",
                format!("row {bad} is out of range for {n} rows"),
            ));
        }
        let width: usize = self.shape[1..].iter().product();
        fn take<T: Clone>(v: &[T], rows: &[usize], width: usize) -> Vec<T> {
            rows.iter()
                .flat_map(|&r| v[r * width..(r + 1) * width].iter().cloned())
                .collect()
        }
        let data = match &self.data {
            HostData::F32(v) => HostData::F32(take(v, rows, width)),
            HostData::F64(v) => HostData::F64(take(v, rows, width)),
            HostData::I64(v) => HostData::I64(take(v, rows, width)),
            HostData::Bool(v) => HostData::Bool(take(v, rows, width)),
            HostData::BF16(v) => HostData::BF16(take(v, rows, width)),
            HostData::F16(v) => HostData::F16(take(v, rows, width)),
        };
        let mut shape = self.shape.clone();
        shape[0] = rows.len();
        Ok(Self { data, shape })
    }

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
