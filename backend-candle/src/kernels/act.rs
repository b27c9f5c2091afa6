//! ReLU as one op in each direction (candle's own `relu` plus the NaN pass-through the
//! backend adds would be four ops forward and eight backward over the activation).

use super::{contiguous_slice, is_nan, Elem};
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

/// Elements per rayon task.
const CHUNK: usize = 1 << 14;

/// `max(x, 0)`, NaN passed through (as torch and Keras do); gradient `grad * (x >= 0)`,
/// NaN inputs passing the gradient. Input must be contiguous.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Relu;

/// The ReLU backward op `(x, grad) -> grad * !(x < 0)`.
#[derive(Clone, Copy, Debug)]
struct ReluGrad;

fn relu_fwd<T: Elem>(s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
    let x = contiguous_slice::<T>(s, l, "relu")?;
    let mut y = vec![T::ZERO; x.len()];
    y.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(y, x)| {
            for (y, &x) in y.iter_mut().zip(x) {
                // `x < 0` is false for NaN, which is kept.
                *y = if x < T::ZERO { T::ZERO } else { x };
            }
        });
    Ok((T::storage(y), l.shape().clone()))
}

fn relu_bwd<T: Elem>(
    s1: &CpuStorage,
    l1: &Layout,
    s2: &CpuStorage,
    l2: &Layout,
) -> candle_core::Result<(CpuStorage, Shape)> {
    // The gradient passes at 0 and for NaN inputs.
    masked_grad::<T>((s1, l1), (s2, l2), |x| x >= T::ZERO || is_nan(x))
}

/// The gradient through a ReLU: `grad` where `pass(v)`, else 0, for `v` the ReLU's input or
/// output (contiguous, as `grad`), in parallel chunks.
pub(crate) fn masked_grad<T: Elem>(
    (s1, l1): (&CpuStorage, &Layout),
    (s2, l2): (&CpuStorage, &Layout),
    pass: impl Fn(T) -> bool + Sync,
) -> candle_core::Result<(CpuStorage, Shape)> {
    let v = contiguous_slice::<T>(s1, l1, "relu backward")?;
    let g = contiguous_slice::<T>(s2, l2, "relu backward")?;
    if v.len() != g.len() {
        return Err(candle_core::Error::Msg(format!(
            "relu backward: gradient of shape {:?} for {:?}",
            l2.dims(),
            l1.dims()
        )));
    }
    let mut d = vec![T::ZERO; v.len()];
    d.par_chunks_mut(CHUNK)
        .zip(v.par_chunks(CHUNK).zip(g.par_chunks(CHUNK)))
        .for_each(|(d, (v, g))| {
            for ((d, &v), &g) in d.iter_mut().zip(v).zip(g) {
                *d = if pass(v) { g } else { T::ZERO };
            }
        });
    Ok((T::storage(d), l1.shape().clone()))
}

impl CustomOp1 for Relu {
    fn name(&self) -> &'static str {
        "relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        super::dispatch_float!("relu", s, relu_fwd(s, l))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(arg.apply_op2_no_bwd(&grad.contiguous()?, &ReluGrad)?))
    }
}

impl CustomOp2 for ReluGrad {
    fn name(&self) -> &'static str {
        "relu_backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        super::dispatch_float!("relu backward", s1, relu_bwd(s1, l1, s2, l2))
    }
}

/// ReLU of a contiguous f32/f64 CPU tensor.
pub(crate) fn relu(t: &Tensor) -> candle_core::Result<Tensor> {
    t.apply_op1(Relu)
}
