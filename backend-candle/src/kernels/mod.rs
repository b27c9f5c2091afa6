//! Fused CPU kernels (candle `CustomOp`s with hand-written backward passes) for the hot
//! paths candle's own ops make slow: the convolution as im2col + one matrix product
//! ([`conv`]), max pooling that reads and writes channels-last batches in place ([`pool`]),
//! the whole-sequence LSTM ([`lstm`]) and ReLU ([`act`]).
//!
//! Every kernel covers f32 and f64 tensors on the CPU; callers fall back to the
//! composite candle path for 16-bit dtypes and other devices ([`supported`]).

pub(crate) mod act;
pub(crate) mod conv;
pub(crate) mod lstm;
pub(crate) mod pool;

use candle_core::{CpuStorage, DType, Layout, Storage, Tensor};

/// Whether the fused kernels handle `t`: an f32 or f64 tensor on the CPU.
pub(crate) fn supported(t: &Tensor) -> bool {
    t.device().is_cpu() && matches!(t.dtype(), DType::F32 | DType::F64)
}

/// The float element types the kernels are written for.
pub(crate) trait Elem:
    Copy
    + Send
    + Sync
    + 'static
    + PartialOrd
    + std::ops::Add<Output = Self>
    + std::ops::AddAssign
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + candle_core::WithDType
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// The slice of a CPU storage of this type.
    fn slice(s: &CpuStorage) -> candle_core::Result<&[Self]>;
    /// Wraps a vector as a CPU storage.
    fn storage(v: Vec<Self>) -> CpuStorage;
    /// `1 / (1 + exp(-x))`.
    fn sigmoid(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
}

impl Elem for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    fn slice(s: &CpuStorage) -> candle_core::Result<&[Self]> {
        s.as_slice::<f32>()
    }
    fn storage(v: Vec<Self>) -> CpuStorage {
        CpuStorage::F32(v)
    }
    fn sigmoid(self) -> Self {
        1.0 / (1.0 + (-self).exp())
    }
    /// Through `exp` (libm's `tanhf` is several times slower): a Taylor polynomial below
    /// 0.1 in magnitude (error below 1e-12 there), `(1 - e) / (1 + e)` with
    /// `e = exp(-2 |x|)` above (relative error a few 1e-7); NaN stays NaN.
    fn tanh(self) -> Self {
        let a = self.abs();
        if a < 0.1 {
            let x2 = self * self;
            self * (1.0
                + x2 * (-1.0 / 3.0
                    + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0 + x2 * (62.0 / 2835.0)))))
        } else {
            let e = (-2.0 * a).exp();
            ((1.0 - e) / (1.0 + e)).copysign(self)
        }
    }
}

impl Elem for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    fn slice(s: &CpuStorage) -> candle_core::Result<&[Self]> {
        s.as_slice::<f64>()
    }
    fn storage(v: Vec<Self>) -> CpuStorage {
        CpuStorage::F64(v)
    }
    fn sigmoid(self) -> Self {
        1.0 / (1.0 + (-self).exp())
    }
    fn tanh(self) -> Self {
        f64::tanh(self)
    }
}

/// The strides of a 4-D view of a storage (its shape is checked on creation): element `(a, b, c, d)` is at
/// `offset + a * s[0] + b * s[1] + c * s[2] + d * s[3]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View4 {
    /// Strides, in elements.
    pub strides: [usize; 4],
    /// Offset of element `(0, 0, 0, 0)`.
    pub offset: usize,
}

impl View4 {
    /// The view a 4-D layout describes; errors unless its shape is `dims`.
    pub fn of(layout: &Layout, dims: [usize; 4], op: &'static str) -> candle_core::Result<Self> {
        if layout.dims() != dims {
            return Err(candle_core::Error::Msg(format!(
                "{op}: expected shape {dims:?}, got {:?}",
                layout.dims()
            )));
        }
        let s = layout.stride();
        Ok(Self {
            strides: [s[0], s[1], s[2], s[3]],
            offset: layout.start_offset(),
        })
    }
}

/// The contiguous data of a CPU tensor of element type `T`, from its first element.
/// Errors unless `t` is contiguous and stored on the CPU as `T`.
pub(crate) fn cpu_data<T: Elem, R>(
    t: &Tensor,
    f: impl FnOnce(&[T]) -> candle_core::Result<R>,
) -> candle_core::Result<R> {
    let (storage, layout) = t.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else {
        return Err(candle_core::Error::Msg(
            "fused kernel: tensor not on the CPU".into(),
        ));
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        return Err(candle_core::Error::Msg(
            "fused kernel: tensor not contiguous".into(),
        ));
    };
    f(&T::slice(cpu)?[start..end])
}

/// A contiguous slice of a storage seen through a layout that must be contiguous.
pub(crate) fn contiguous_slice<'a, T: Elem>(
    s: &'a CpuStorage,
    layout: &Layout,
    op: &'static str,
) -> candle_core::Result<&'a [T]> {
    let Some((start, end)) = layout.contiguous_offsets() else {
        return Err(candle_core::Error::Msg(format!(
            "{op}: operand not contiguous"
        )));
    };
    Ok(&T::slice(s)?[start..end])
}

/// The gemm crate's parallelism for candle's current thread count.
pub(crate) fn parallelism() -> gemm::Parallelism {
    let n = candle_core::utils::get_num_threads();
    if n > 1 {
        gemm::Parallelism::Rayon(n)
    } else {
        gemm::Parallelism::None
    }
}

/// `dst (rows x cols, row stride dst_rs, column stride 1) (+)= lhs @ rhs` with
/// `(pointer, row stride, column stride)` operands; `parallel`: with gemm's own threads
/// ([`parallelism`]), else single-threaded (for callers that run one image per rayon task).
///
/// # Safety
/// The pointers must address matrices of the given sizes and strides, `dst` not aliasing
/// the others.
pub(crate) unsafe fn gemm_into<T: Elem>(
    (rows, cols, k): (usize, usize, usize),
    dst: (*mut T, usize),
    accumulate: bool,
    lhs: (*const T, usize, usize),
    rhs: (*const T, usize, usize),
    parallel: bool,
) {
    gemm::gemm(
        rows,
        cols,
        k,
        dst.0,
        1,
        dst.1 as isize,
        accumulate,
        lhs.0,
        lhs.2 as isize,
        lhs.1 as isize,
        rhs.0,
        rhs.2 as isize,
        rhs.1 as isize,
        T::ONE,
        T::ONE,
        false,
        false,
        false,
        if parallel {
            parallelism()
        } else {
            gemm::Parallelism::None
        },
    );
}

/// Dispatches a CPU storage to `f32` or `f64` code; other dtypes are an error.
macro_rules! dispatch_float {
    ($op:expr, $storage:expr, $recv:ident . $f:ident ( $($arg:expr),* )) => {
        match $storage {
            candle_core::CpuStorage::F32(_) => $recv.$f::<f32>($($arg),*),
            candle_core::CpuStorage::F64(_) => $recv.$f::<f64>($($arg),*),
            _ => Err(candle_core::Error::Msg(format!(
                "{}: no fused kernel for this dtype",
                $op
            ))),
        }
    };
    ($op:expr, $storage:expr, $f:ident ( $($arg:expr),* )) => {
        match $storage {
            candle_core::CpuStorage::F32(_) => $f::<f32>($($arg),*),
            candle_core::CpuStorage::F64(_) => $f::<f64>($($arg),*),
            _ => Err(candle_core::Error::Msg(format!(
                "{}: no fused kernel for this dtype",
                $op
            ))),
        }
    };
}
pub(crate) use dispatch_float;
