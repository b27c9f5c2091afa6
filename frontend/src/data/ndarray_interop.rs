//! `ndarray` arrays as host data (feature `ndarray`): any `ArrayBase` of `f32`, `f64` or
//! `i64`, of any dimension and memory layout, goes to `fit`, `evaluate` and `predict`
//! ([`Data`]) or becomes a [`HostTensor`] (its logical, row-major order: a transposed or
//! sliced view is copied in the order it is indexed); [`HostTensor::to_ndarray_f32`] and
//! friends turn predictions back into arrays.
//!
//! ```
//! # use stratanet_frontend as stratanet;
//! use ndarray::array;
//! use stratanet::HostTensor;
//! let x = array![[1.0f32, 2.0], [3.0, 4.0]];
//! let h = HostTensor::from(&x.t()); // a transposed view, copied in index order
//! assert_eq!(h.shape, vec![2, 2]);
//! assert_eq!(h.to_ndarray_f32()?, x.t().into_dyn());
//! # Ok::<(), stratanet::Error>(())
//! ```

use ndarray::{ArrayBase, ArrayD, Dimension, IxDyn};

use super::{Data, HostTensor};
use crate::backend::{Backend, HostData};
use crate::error::{Error, Result};

/// The element types an `ndarray` array may hold to become host data: `f32`, `f64`, `i64`.
pub trait HostElement: Copy + sealed::Sealed {
    /// Wraps values of this type as [`HostData`].
    fn host_data(values: Vec<Self>) -> HostData;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl Sealed for i64 {}
}

impl HostElement for f32 {
    fn host_data(values: Vec<Self>) -> HostData {
        HostData::F32(values)
    }
}
impl HostElement for f64 {
    fn host_data(values: Vec<Self>) -> HostData {
        HostData::F64(values)
    }
}
impl HostElement for i64 {
    fn host_data(values: Vec<Self>) -> HostData {
        HostData::I64(values)
    }
}

impl<A, S, D> From<&ArrayBase<S, D>> for HostTensor
where
    A: HostElement,
    S: ndarray::Data<Elem = A>,
    D: Dimension,
{
    fn from(a: &ArrayBase<S, D>) -> Self {
        HostTensor {
            data: A::host_data(a.iter().copied().collect()),
            shape: a.shape().to_vec(),
        }
    }
}

impl<A, S, D> From<ArrayBase<S, D>> for HostTensor
where
    A: HostElement,
    S: ndarray::Data<Elem = A>,
    D: Dimension,
{
    fn from(a: ArrayBase<S, D>) -> Self {
        HostTensor::from(&a)
    }
}

impl<B: Backend, A, S, D> From<&ArrayBase<S, D>> for Data<B>
where
    A: HostElement,
    S: ndarray::Data<Elem = A>,
    D: Dimension,
{
    fn from(a: &ArrayBase<S, D>) -> Self {
        Data::Host(Ok(vec![HostTensor::from(a)]))
    }
}

impl<B: Backend, A, S, D> From<ArrayBase<S, D>> for Data<B>
where
    A: HostElement,
    S: ndarray::Data<Elem = A>,
    D: Dimension,
{
    fn from(a: ArrayBase<S, D>) -> Self {
        Data::from(&a)
    }
}

impl HostTensor {
    /// The values as an `f32` array of this tensor's shape.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when the values are not `f32`.
    pub fn to_ndarray_f32(&self) -> Result<ArrayD<f32>> {
        match &self.data {
            HostData::F32(v) => array(v.clone(), &self.shape),
            other => Err(wrong_dtype("to_ndarray_f32", "f32", other)),
        }
    }

    /// The values as an `f64` array of this tensor's shape.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when the values are not `f64`.
    pub fn to_ndarray_f64(&self) -> Result<ArrayD<f64>> {
        match &self.data {
            HostData::F64(v) => array(v.clone(), &self.shape),
            other => Err(wrong_dtype("to_ndarray_f64", "f64", other)),
        }
    }

    /// The values as an `i64` array of this tensor's shape (class labels).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when the values are not `i64`.
    pub fn to_ndarray_i64(&self) -> Result<ArrayD<i64>> {
        match &self.data {
            HostData::I64(v) => array(v.clone(), &self.shape),
            other => Err(wrong_dtype("to_ndarray_i64", "i64", other)),
        }
    }
}

fn array<T>(v: Vec<T>, shape: &[usize]) -> Result<ArrayD<T>> {
    let n = v.len();
    ArrayD::from_shape_vec(IxDyn(shape), v).map_err(|e| {
        Error::shape(
            "HostTensor::to_ndarray",
            "shape",
            format!("{n} values ({e})"),
            shape,
        )
    })
}

fn wrong_dtype(op: &str, want: &str, got: &HostData) -> Error {
    Error::invalid(
        op,
        "dtype",
        format!("expected {want} values, got {}", got.dtype()),
    )
}
