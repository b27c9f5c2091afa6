//! [`Tensor`]: the user-facing tensor, generic over the engine.

use crate::backend::{Backend, DType, Device, HostData};
use crate::error::{Error, Result};
use std::fmt;
use std::marker::PhantomData;

mod autograd;
mod create;
mod display;
mod host;
mod math;
mod reduce;
mod shape;

/// A tensor on engine `B`: a cheap-to-clone handle (clones share storage).
///
/// Every operation returns [`Result`]; the arithmetic operators on references do too, so
/// `(&a + &b)?` reads like maths and still reports shape errors.
///
/// ```
/// use stratanet::{Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let a = Tensor::<B>::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
/// let b = Tensor::<B>::from_vec(vec![10.0f32, 20.0], &[2])?;
/// let c = (&a + &b)?; // broadcasts [2] over [2, 2]
/// assert_eq!(c.to_vec_f32()?, vec![11.0, 22.0, 13.0, 24.0]);
/// assert_eq!(c.sum_all()?.item()?, 70.0);
/// # Ok(())
/// # }
/// ```
pub struct Tensor<B: Backend> {
    inner: B::Tensor,
    _b: PhantomData<B>,
}

impl<B: Backend> Clone for Tensor<B> {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone())
    }
}

impl<B: Backend> fmt::Debug for Tensor<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Tensor<{}>(shape={:?}, dtype={})",
            B::NAME,
            self.shape(),
            self.dtype()
        )
    }
}

/// Element types that can fill a tensor from a host vector.
pub trait Element: Copy + 'static {
    /// Wraps a vector in [`HostData`].
    fn into_host(v: Vec<Self>) -> HostData;
}
/// `Element` for each `type => HostData variant`.
macro_rules! elements {
    ($($t:ty => $variant:ident),*) => {$(
        impl Element for $t {
            fn into_host(v: Vec<Self>) -> HostData {
                HostData::$variant(v)
            }
        }
    )*};
}
elements!(f32 => F32, f64 => F64, i64 => I64, bool => Bool, half::bf16 => BF16, half::f16 => F16);

/// Resolves a possibly negative axis against `rank`.
pub(crate) fn resolve_axis(axis: isize, rank: usize, op: &str, shape: &[usize]) -> Result<usize> {
    let r = rank as isize;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r.max(1) || (rank == 0) {
        return Err(Error::shape(
            op,
            "axis",
            format!("axis {axis} within rank {rank}"),
            shape,
        ));
    }
    Ok(a as usize)
}

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

impl<B: Backend> Tensor<B> {
    /// Wraps an engine tensor.
    pub fn new(inner: B::Tensor) -> Self {
        Self {
            inner,
            _b: PhantomData,
        }
    }

    /// The engine tensor.
    pub fn inner(&self) -> &B::Tensor {
        &self.inner
    }

    /// Consumes the wrapper, returning the engine tensor.
    pub fn into_inner(self) -> B::Tensor {
        self.inner
    }

    /// Dimensions.
    pub fn shape(&self) -> Vec<usize> {
        B::shape(&self.inner)
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.shape().len()
    }

    /// Total element count.
    pub fn numel(&self) -> usize {
        numel(&self.shape())
    }

    /// Size of axis `axis` (negative counts from the end).
    pub fn dim(&self, axis: isize) -> Result<usize> {
        let s = self.shape();
        Ok(s[resolve_axis(axis, s.len(), "dim", &s)?])
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        B::dtype(&self.inner)
    }

    /// The device it lives on.
    pub fn device(&self) -> Device {
        B::device_of(&self.inner)
    }

    /// The engine device handle.
    pub fn engine_device(&self) -> B::Device {
        B::tensor_device(&self.inner)
    }
}

/// The numpy broadcast of two shapes (the engines' own check, re-exported here).
pub use crate::backend::check::broadcast_shape;
pub(crate) use display::argmax_rows;
pub use display::{PRINT_EDGE_ITEMS, PRINT_THRESHOLD};
