//! [`Tensor`]: the user-facing tensor, generic over the engine.

use crate::backend::{Backend, DType, Device, HostData};
use crate::error::{Error, Result};
use std::fmt;
use std::marker::PhantomData;

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
impl Element for f32 {
    fn into_host(v: Vec<Self>) -> HostData {
        HostData::F32(v)
    }
}
impl Element for f64 {
    fn into_host(v: Vec<Self>) -> HostData {
        HostData::F64(v)
    }
}
impl Element for i64 {
    fn into_host(v: Vec<Self>) -> HostData {
        HostData::I64(v)
    }
}
impl Element for bool {
    fn into_host(v: Vec<Self>) -> HostData {
        HostData::Bool(v)
    }
}

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

    // ---------------------------------------------------------------- creation

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

    // ---------------------------------------------------------------- metadata

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

    // ---------------------------------------------------------------- host transfer

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

    // ---------------------------------------------------------------- shape ops

    /// New shape with the same element count; one entry may be `-1` (inferred).
    pub fn reshape(&self, shape: &[isize]) -> Result<Self> {
        let cur = self.shape();
        let n = numel(&cur);
        let known: usize = shape
            .iter()
            .filter(|&&d| d >= 0)
            .map(|&d| d as usize)
            .product();
        let holes = shape.iter().filter(|&&d| d < 0).count();
        let bad = || {
            Error::shape(
                "reshape",
                "input",
                format!("{} elements to fit shape {:?}", n, shape),
                &cur,
            )
        };
        if holes > 1 || shape.iter().any(|&d| d < -1) {
            return Err(bad());
        }
        let target: Vec<usize> = if holes == 1 {
            if known == 0 || n % known != 0 {
                return Err(bad());
            }
            shape
                .iter()
                .map(|&d| if d < 0 { n / known } else { d as usize })
                .collect()
        } else {
            shape.iter().map(|&d| d as usize).collect()
        };
        if numel(&target) != n {
            return Err(bad());
        }
        if target == cur {
            return Ok(self.clone());
        }
        Ok(Self::new(B::reshape(&self.inner, &target)?))
    }

    /// Reshape to an exact `usize` shape.
    pub fn reshape_to(&self, shape: &[usize]) -> Result<Self> {
        let s: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
        self.reshape(&s)
    }

    /// Reorders axes.
    pub fn permute(&self, axes: &[usize]) -> Result<Self> {
        let s = self.shape();
        let mut seen = vec![false; s.len()];
        if axes.len() != s.len()
            || axes
                .iter()
                .any(|&a| a >= s.len() || std::mem::replace(&mut seen[a], true))
        {
            return Err(Error::shape(
                "permute",
                "axes",
                format!("a permutation of 0..{} (got {:?})", s.len(), axes),
                &s,
            ));
        }
        Ok(Self::new(B::permute(&self.inner, axes)?))
    }

    /// Swaps two axes.
    pub fn transpose(&self, a: isize, b: isize) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(a, s.len(), "transpose", &s)?;
        let b = resolve_axis(b, s.len(), "transpose", &s)?;
        let mut axes: Vec<usize> = (0..s.len()).collect();
        axes.swap(a, b);
        self.permute(&axes)
    }

    /// Broadcasts to `shape`.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Self> {
        Ok(Self::new(B::broadcast_to(&self.inner, shape)?))
    }

    /// Inserts a size-1 axis at `axis`.
    pub fn unsqueeze(&self, axis: isize) -> Result<Self> {
        let mut s = self.shape();
        let a = resolve_axis(axis, s.len() + 1, "unsqueeze", &s)?;
        s.insert(a, 1);
        self.reshape_to(&s)
    }

    /// Removes a size-1 axis.
    pub fn squeeze(&self, axis: isize) -> Result<Self> {
        let mut s = self.shape();
        let a = resolve_axis(axis, s.len(), "squeeze", &s)?;
        if s[a] != 1 {
            return Err(Error::shape(
                "squeeze",
                "input",
                format!("size 1 on axis {axis}"),
                &s,
            ));
        }
        s.remove(a);
        self.reshape_to(&s)
    }

    /// Flattens every axis after the first: `[N, ...] -> [N, prod(...)]`.
    pub fn flatten_from_1(&self) -> Result<Self> {
        let s = self.shape();
        if s.is_empty() {
            return Err(Error::shape("flatten", "input", "rank at least 1", &s));
        }
        self.reshape_to(&[s[0], numel(&s[1..])])
    }

    /// `len` entries of `axis` from `start`.
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "narrow", &s)?;
        if start + len > s[a] {
            return Err(Error::shape(
                "narrow",
                "input",
                format!("axis {a} of size at least {}", start + len),
                &s,
            ));
        }
        Ok(Self::new(B::narrow(&self.inner, a, start, len)?))
    }

    /// Joins along an existing axis.
    pub fn concat(ts: &[Self], axis: isize) -> Result<Self> {
        let first = ts
            .first()
            .ok_or_else(|| Error::invalid("concat", "tensors", "at least one tensor"))?;
        let s = first.shape();
        let a = resolve_axis(axis, s.len(), "concat", &s)?;
        for t in ts {
            let o = t.shape();
            if o.len() != s.len()
                || o.iter()
                    .zip(&s)
                    .enumerate()
                    .any(|(i, (x, y))| i != a && x != y)
            {
                return Err(Error::mismatch("concat", &s, &o));
            }
        }
        let inner: Vec<B::Tensor> = ts.iter().map(|t| t.inner.clone()).collect();
        Ok(Self::new(B::concat(&inner, a)?))
    }

    /// Joins along a new axis.
    pub fn stack(ts: &[Self], axis: isize) -> Result<Self> {
        let first = ts
            .first()
            .ok_or_else(|| Error::invalid("stack", "tensors", "at least one tensor"))?;
        let s = first.shape();
        let a = resolve_axis(axis, s.len() + 1, "stack", &s)?;
        for t in ts {
            if t.shape() != s {
                return Err(Error::mismatch("stack", &s, &t.shape()));
            }
        }
        let inner: Vec<B::Tensor> = ts.iter().map(|t| t.inner.clone()).collect();
        Ok(Self::new(B::stack(&inner, a)?))
    }

    /// Rows (or entries of `axis`) selected by an `i64` index tensor.
    pub fn index_select(&self, indices: &Self, axis: isize) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "index_select", &s)?;
        Ok(Self::new(B::index_select(&self.inner, &indices.inner, a)?))
    }

    /// torch-style `gather` along `axis`.
    pub fn gather(&self, indices: &Self, axis: isize) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "gather", &s)?;
        Ok(Self::new(B::gather(&self.inner, &indices.inner, a)?))
    }

    /// Pads `axis` with `before`/`after` entries of `value`.
    pub fn pad(&self, axis: isize, before: usize, after: usize, value: f64) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "pad", &s)?;
        Ok(Self::new(B::pad(&self.inner, a, before, after, value)?))
    }

    // ---------------------------------------------------------------- elementwise

    fn check_binary(&self, other: &Self, op: &str) -> Result<()> {
        if self.dtype() != other.dtype() {
            return Err(Error::DType {
                op: op.into(),
                argument: "rhs".into(),
                expected: self.dtype().to_string(),
                got: other.dtype().to_string(),
            });
        }
        let (a, b) = (self.shape(), other.shape());
        if broadcast_shape(&a, &b).is_none() {
            return Err(Error::mismatch(op, &a, &b));
        }
        Ok(())
    }

    /// `self + other` (broadcasting).
    pub fn add(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "add")?;
        Ok(Self::new(B::add(&self.inner, &other.inner)?))
    }
    /// `self - other` (broadcasting).
    pub fn sub(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "sub")?;
        Ok(Self::new(B::sub(&self.inner, &other.inner)?))
    }
    /// `self * other` (broadcasting).
    pub fn mul(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "mul")?;
        Ok(Self::new(B::mul(&self.inner, &other.inner)?))
    }
    /// `self / other` (broadcasting).
    pub fn div(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "div")?;
        Ok(Self::new(B::div(&self.inner, &other.inner)?))
    }
    /// `self ^ other` (broadcasting).
    pub fn pow(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "pow")?;
        Ok(Self::new(B::pow(&self.inner, &other.inner)?))
    }
    /// Elementwise maximum.
    pub fn maximum(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "maximum")?;
        Ok(Self::new(B::maximum(&self.inner, &other.inner)?))
    }
    /// Elementwise minimum.
    pub fn minimum(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "minimum")?;
        Ok(Self::new(B::minimum(&self.inner, &other.inner)?))
    }
    /// `self * mul + add`.
    pub fn affine(&self, mul: f64, add: f64) -> Result<Self> {
        Ok(Self::new(B::affine(&self.inner, mul, add)?))
    }
    /// `self + value`.
    pub fn add_scalar(&self, value: f64) -> Result<Self> {
        self.affine(1.0, value)
    }
    /// `self * value`.
    pub fn mul_scalar(&self, value: f64) -> Result<Self> {
        self.affine(value, 0.0)
    }
    /// `self ^ exponent`.
    pub fn powf(&self, exponent: f64) -> Result<Self> {
        Ok(Self::new(B::powf(&self.inner, exponent)?))
    }
    /// Clamps into `[min, max]`.
    pub fn clamp(&self, min: f64, max: f64) -> Result<Self> {
        Ok(Self::new(B::clamp(&self.inner, min, max)?))
    }
    /// Batched matrix product (batch axes broadcast).
    pub fn matmul(&self, other: &Self) -> Result<Self> {
        let (a, b) = (self.shape(), other.shape());
        if a.len() < 2 || b.len() < 2 || a[a.len() - 1] != b[b.len() - 2] {
            return Err(Error::ShapeMismatch {
                op: "matmul".into(),
                lhs: crate::error::ShapeList(a),
                rhs: crate::error::ShapeList(b),
                detail: Some("expected [..., m, k] x [..., k, n]".into()),
            });
        }
        self.check_binary(other, "matmul").or_else(|e| match e {
            Error::ShapeMismatch { .. } => Ok(()),
            e => Err(e),
        })?;
        Ok(Self::new(B::matmul(&self.inner, &other.inner)?))
    }

    /// Elementwise comparison `==` (result dtype `Bool`).
    pub fn eq(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "eq")?;
        Ok(Self::new(B::eq(&self.inner, &other.inner)?))
    }
    /// `!=`.
    pub fn ne(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "ne")?;
        Ok(Self::new(B::ne(&self.inner, &other.inner)?))
    }
    /// `<`.
    pub fn lt(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "lt")?;
        Ok(Self::new(B::lt(&self.inner, &other.inner)?))
    }
    /// `<=`.
    pub fn le(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "le")?;
        Ok(Self::new(B::le(&self.inner, &other.inner)?))
    }
    /// `>`.
    pub fn gt(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "gt")?;
        Ok(Self::new(B::gt(&self.inner, &other.inner)?))
    }
    /// `>=`.
    pub fn ge(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "ge")?;
        Ok(Self::new(B::ge(&self.inner, &other.inner)?))
    }
    /// Comparison with a scalar: `self > value`.
    pub fn gt_scalar(&self, value: f64) -> Result<Self> {
        self.gt(&self.scalar_like(value)?)
    }
    /// `on_true` where this `Bool` mask is set, else `on_false`.
    pub fn where_cond(&self, on_true: &Self, on_false: &Self) -> Result<Self> {
        Ok(Self::new(B::where_cond(
            &self.inner,
            &on_true.inner,
            &on_false.inner,
        )?))
    }
}

macro_rules! unary {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        impl<B: Backend> Tensor<B> {
            $(
                $(#[$doc])*
                pub fn $name(&self) -> Result<Self> {
                    Ok(Self::new(B::$name(&self.inner)?))
                }
            )*
        }
    };
}

unary!(
    /// `-self`.
    neg,
    /// `|self|`.
    abs,
    /// `e^self`.
    exp,
    /// Natural logarithm.
    log,
    /// Square root.
    sqrt,
    /// `self * self`.
    square,
    /// `1 / self`.
    recip,
    /// Sine.
    sin,
    /// Cosine.
    cos,
    /// Hyperbolic tangent.
    tanh,
    /// Error function.
    erf,
    /// ReLU.
    relu,
    /// Sign (-1, 0, 1).
    sign,
    /// Logistic sigmoid.
    sigmoid,
    /// Softplus.
    softplus,
    /// `log(sigmoid(self))`.
    log_sigmoid,
    /// GELU (exact).
    gelu,
    /// GELU (tanh approximation).
    gelu_tanh,
    /// SiLU / swish.
    silu,
    /// SELU.
    selu,
);

impl<B: Backend> Tensor<B> {
    /// ELU with `alpha`.
    pub fn elu(&self, alpha: f64) -> Result<Self> {
        Ok(Self::new(B::elu(&self.inner, alpha)?))
    }
    /// Leaky ReLU with slope `alpha` below zero.
    pub fn leaky_relu(&self, alpha: f64) -> Result<Self> {
        Ok(Self::new(B::leaky_relu(&self.inner, alpha)?))
    }
    /// Softmax along `axis`.
    pub fn softmax(&self, axis: isize) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "softmax", &s)?;
        Ok(Self::new(B::softmax(&self.inner, a)?))
    }
    /// Log-softmax along `axis`.
    pub fn log_softmax(&self, axis: isize) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "log_softmax", &s)?;
        Ok(Self::new(B::log_softmax(&self.inner, a)?))
    }
    /// `log(sum(exp(self)))` along `axis`.
    pub fn logsumexp(&self, axis: isize, keepdim: bool) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "logsumexp", &s)?;
        Ok(Self::new(B::logsumexp(&self.inner, &[a], keepdim)?))
    }

    // ---------------------------------------------------------------- reductions

    fn axes(&self, axes: &[isize], op: &str) -> Result<Vec<usize>> {
        let s = self.shape();
        let mut out = Vec::with_capacity(axes.len());
        for &a in axes {
            let r = resolve_axis(a, s.len(), op, &s)?;
            if !out.contains(&r) {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Sum over `axes`.
    pub fn sum(&self, axes: &[isize], keepdim: bool) -> Result<Self> {
        let a = self.axes(axes, "sum")?;
        Ok(Self::new(B::sum(&self.inner, &a, keepdim)?))
    }
    /// Mean over `axes`.
    pub fn mean(&self, axes: &[isize], keepdim: bool) -> Result<Self> {
        let a = self.axes(axes, "mean")?;
        Ok(Self::new(B::mean(&self.inner, &a, keepdim)?))
    }
    /// Maximum over `axes`.
    pub fn max(&self, axes: &[isize], keepdim: bool) -> Result<Self> {
        let a = self.axes(axes, "max")?;
        Ok(Self::new(B::max(&self.inner, &a, keepdim)?))
    }
    /// Minimum over `axes`.
    pub fn min(&self, axes: &[isize], keepdim: bool) -> Result<Self> {
        let a = self.axes(axes, "min")?;
        Ok(Self::new(B::min(&self.inner, &a, keepdim)?))
    }
    /// Sum of every element (rank 0).
    pub fn sum_all(&self) -> Result<Self> {
        let all: Vec<usize> = (0..self.rank()).collect();
        Ok(Self::new(B::sum(&self.inner, &all, false)?))
    }
    /// Mean of every element (rank 0).
    pub fn mean_all(&self) -> Result<Self> {
        let all: Vec<usize> = (0..self.rank()).collect();
        Ok(Self::new(B::mean(&self.inner, &all, false)?))
    }
    /// Index of the maximum along `axis` (`i64`).
    pub fn argmax(&self, axis: isize, keepdim: bool) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "argmax", &s)?;
        Ok(Self::new(B::argmax(&self.inner, a, keepdim)?))
    }
    /// Index of the minimum along `axis` (`i64`).
    pub fn argmin(&self, axis: isize, keepdim: bool) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "argmin", &s)?;
        Ok(Self::new(B::argmin(&self.inner, a, keepdim)?))
    }

    // ---------------------------------------------------------------- autograd

    /// A trainable parameter holding a copy of these values.
    pub fn to_param(&self) -> Result<Self> {
        Ok(Self::new(B::param(&self.inner)?))
    }
    /// Whether this is a trainable parameter.
    pub fn is_param(&self) -> bool {
        B::is_param(&self.inner)
    }
    /// The same values cut from the autograd graph.
    pub fn detach(&self) -> Self {
        Self::new(B::detach(&self.inner))
    }
    /// Gradients of this scalar with respect to `params` (`None` where unused).
    pub fn grad(&self, params: &[Self]) -> Result<Vec<Option<Self>>> {
        if self.numel() != 1 {
            return Err(Error::shape("grad", "loss", "a scalar", &self.shape()));
        }
        let inner: Vec<B::Tensor> = params.iter().map(|p| p.inner.clone()).collect();
        Ok(B::grad(&self.inner, &inner)?
            .into_iter()
            .map(|g| g.map(Self::new))
            .collect())
    }
    /// Overwrites this parameter's values in place.
    pub fn assign(&self, value: &Self) -> Result<()> {
        if self.shape() != value.shape() {
            return Err(Error::mismatch("assign", &self.shape(), &value.shape()));
        }
        let v = value.to_dtype(self.dtype())?;
        B::assign(&self.inner, &v.inner)
    }
}

/// The numpy broadcast of two shapes, or `None` when incompatible.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return None;
        };
    }
    Some(out)
}

macro_rules! binop {
    ($tr:ident, $m:ident, $f:ident) => {
        impl<B: Backend> std::ops::$tr<&Tensor<B>> for &Tensor<B> {
            type Output = Result<Tensor<B>>;
            fn $m(self, rhs: &Tensor<B>) -> Result<Tensor<B>> {
                Tensor::$f(self, rhs)
            }
        }
        impl<B: Backend> std::ops::$tr<Tensor<B>> for Tensor<B> {
            type Output = Result<Tensor<B>>;
            fn $m(self, rhs: Tensor<B>) -> Result<Tensor<B>> {
                Tensor::$f(&self, &rhs)
            }
        }
        impl<B: Backend> std::ops::$tr<&Tensor<B>> for Tensor<B> {
            type Output = Result<Tensor<B>>;
            fn $m(self, rhs: &Tensor<B>) -> Result<Tensor<B>> {
                Tensor::$f(&self, rhs)
            }
        }
        impl<B: Backend> std::ops::$tr<Tensor<B>> for &Tensor<B> {
            type Output = Result<Tensor<B>>;
            fn $m(self, rhs: Tensor<B>) -> Result<Tensor<B>> {
                Tensor::$f(self, &rhs)
            }
        }
    };
}
binop!(Add, add, add);
binop!(Sub, sub, sub);
binop!(Mul, mul, mul);
binop!(Div, div, div);

impl<B: Backend> std::ops::Add<f64> for &Tensor<B> {
    type Output = Result<Tensor<B>>;
    fn add(self, rhs: f64) -> Result<Tensor<B>> {
        self.affine(1.0, rhs)
    }
}
impl<B: Backend> std::ops::Sub<f64> for &Tensor<B> {
    type Output = Result<Tensor<B>>;
    fn sub(self, rhs: f64) -> Result<Tensor<B>> {
        self.affine(1.0, -rhs)
    }
}
impl<B: Backend> std::ops::Mul<f64> for &Tensor<B> {
    type Output = Result<Tensor<B>>;
    fn mul(self, rhs: f64) -> Result<Tensor<B>> {
        self.affine(rhs, 0.0)
    }
}
impl<B: Backend> std::ops::Div<f64> for &Tensor<B> {
    type Output = Result<Tensor<B>>;
    fn div(self, rhs: f64) -> Result<Tensor<B>> {
        self.affine(1.0 / rhs, 0.0)
    }
}
impl<B: Backend> std::ops::Neg for &Tensor<B> {
    type Output = Result<Tensor<B>>;
    fn neg(self) -> Result<Tensor<B>> {
        Tensor::neg(self)
    }
}
