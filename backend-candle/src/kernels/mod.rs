//! Fused CPU kernels (candle `CustomOp`s with hand-written backward passes) for the hot
//! paths candle's own ops make slow: the convolution as im2col + one matrix product
//! ([`conv`]), the dense layer's product with its bias ([`dense`]), max pooling that reads and writes channels-last batches in place ([`pool`]),
//! the whole-sequence LSTM ([`lstm`]) and ReLU ([`act`]).
//!
//! Every kernel covers f32 and f64 tensors on the CPU; callers fall back to the
//! composite candle path for 16-bit dtypes and other devices ([`supported`]).

pub(crate) mod act;
pub(crate) mod conv;
pub(crate) mod dense;
pub(crate) mod lstm;
pub(crate) mod pool;

use candle_core::{CpuStorage, DType, Layout, Storage, Tensor};
use std::sync::Mutex;

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
    /// The process-wide pool of scratch buffers of this type ([`take`], [`give`]).
    fn pool() -> &'static Mutex<Vec<Vec<Self>>>;
}

/// `exp(x)` for f32 without branches or library calls, so that loops over it vectorize:
/// `2^k * p(r)` with `x = k ln 2 + r`, `|r| <= ln 2 / 2`, `p` the degree-7 Taylor
/// polynomial (relative error about 1e-7, the rounding of f32). Arguments are clamped
/// to `[-87.3, 88.3]` (the result stays a normal float); NaN stays NaN.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    // Comparisons that are false for NaN keep it.
    let x = if x < -87.3 { -87.3 } else { x };
    let x = if x > 88.3 { 88.3 } else { x };
    // Round to nearest through the float mantissa: t's low bits hold k.
    let t = x * std::f32::consts::LOG2_E + 12_582_912.0;
    let k = t - 12_582_912.0;
    let ki = t.to_bits().wrapping_sub(0x4B40_0000);
    // ln 2 split in two (Cody and Waite) so that k * LN2_HI is exact.
    let r = x - k * 0.693_145_75 - k * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r / 5040.0))))));
    f32::from_bits(ki.wrapping_add(127) << 23) * p
}

static POOL_F32: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());
static POOL_F64: Mutex<Vec<Vec<f64>>> = Mutex::new(Vec::new());

/// Buffers the pool keeps at most (the fused LSTM holds four per call).
const POOL_MAX: usize = 8;

/// A buffer of `len` elements from the scratch pool (the smallest one that is large
/// enough), else a new one. Its contents are whatever a previous user left: callers
/// overwrite it or [`fill`](slice::fill) it. Reusing buffers spares the page faults of
/// fresh activation-sized allocations on every training step.
pub(crate) fn take<T: Elem>(len: usize) -> Vec<T> {
    let found = T::pool().lock().ok().and_then(|mut pool| {
        let best = pool
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= len)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i)?;
        Some(pool.swap_remove(best))
    });
    match found {
        Some(mut v) => {
            if v.len() >= len {
                v.truncate(len);
            } else {
                v.resize(len, T::ZERO);
            }
            v
        }
        None => vec![T::ZERO; len],
    }
}

/// Returns a buffer of [`take`] to the pool (dropping the smallest when it is full).
pub(crate) fn give<T: Elem>(v: Vec<T>) {
    if v.capacity() == 0 {
        return;
    }
    if let Ok(mut pool) = T::pool().lock() {
        pool.push(v);
        if pool.len() > POOL_MAX {
            if let Some(i) = (0..pool.len()).min_by_key(|&i| pool[i].capacity()) {
                pool.swap_remove(i);
            }
        }
    }
}

/// NaN test for the kernels' float types.
#[allow(clippy::eq_op)]
#[inline(always)]
pub(crate) fn is_nan<T: Elem>(v: T) -> bool {
    v != v
}

/// Whether the CPU has AVX2 and FMA (checked once by `std`).
#[inline]
pub(crate) fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
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
    /// Through the branch-free [`exp_f32`], so loops over it vectorize.
    #[inline(always)]
    fn sigmoid(self) -> Self {
        1.0 / (1.0 + exp_f32(-self))
    }
    /// Through [`exp_f32`] (libm's `tanhf` is several times slower and does not
    /// vectorize): a Taylor polynomial below 0.1 in magnitude (error below 1e-12 there),
    /// `(1 - e) / (1 + e)` with `e = exp(-2 |x|)` above (relative error a few 1e-7); both
    /// are computed and one selected, without a branch. NaN stays NaN.
    #[inline(always)]
    fn tanh(self) -> Self {
        let a = self.abs();
        let x2 = self * self;
        let small = self
            * (1.0
                + x2 * (-1.0 / 3.0
                    + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0 + x2 * (62.0 / 2835.0)))));
        let e = exp_f32(-2.0 * a);
        let large = ((1.0 - e) / (1.0 + e)).copysign(self);
        if a < 0.1 {
            small
        } else {
            large
        }
    }
    fn pool() -> &'static Mutex<Vec<Vec<Self>>> {
        &POOL_F32
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
    fn pool() -> &'static Mutex<Vec<Vec<Self>>> {
        &POOL_F64
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
        Self::of_perm(layout, dims, [0, 1, 2, 3], op)
    }

    /// The view of a 4-D layout of shape `dims` with its axes taken in `order`: axis `i` of
    /// the view is axis `order[i]` of the layout (`[0, 3, 1, 2]` sees an `[N, H, W, C]`
    /// tensor as `[N, C, H, W]`). Errors unless the layout's shape is `dims`.
    pub fn of_perm(
        layout: &Layout,
        dims: [usize; 4],
        order: [usize; 4],
        op: &'static str,
    ) -> candle_core::Result<Self> {
        if layout.dims() != dims {
            return Err(candle_core::Error::Msg(format!(
                "{op}: expected shape {dims:?}, got {:?}",
                layout.dims()
            )));
        }
        let s = layout.stride();
        Ok(Self {
            strides: order.map(|i| s[i]),
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
