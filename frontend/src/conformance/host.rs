//! Host data in and out of the engine under test: tensors made from host values, their
//! values read back, and the deterministic pseudo-random inputs of the checks.

use super::{dev, ok};
use crate::backend::{Backend, DType, HostData};
use crate::random::Rng;

/// A tensor holding `data` with `shape` on the CPU device.
pub fn from_data<B: Backend>(data: HostData, shape: &[usize]) -> B::Tensor {
    ok("from_host", B::from_host(data, shape, &dev::<B>()))
}

/// An `f32` tensor.
pub fn f32s<B: Backend>(v: &[f32], shape: &[usize]) -> B::Tensor {
    from_data::<B>(HostData::F32(v.to_vec()), shape)
}

/// An `f64` tensor.
pub fn f64s<B: Backend>(v: &[f64], shape: &[usize]) -> B::Tensor {
    from_data::<B>(HostData::F64(v.to_vec()), shape)
}

/// An `i64` tensor.
pub fn i64s<B: Backend>(v: &[i64], shape: &[usize]) -> B::Tensor {
    from_data::<B>(HostData::I64(v.to_vec()), shape)
}

/// A boolean tensor.
pub fn bools<B: Backend>(v: &[bool], shape: &[usize]) -> B::Tensor {
    from_data::<B>(HostData::Bool(v.to_vec()), shape)
}

/// A tensor of `dtype` holding `v` (converted on the host).
pub fn tensor<B: Backend>(v: &[f64], shape: &[usize], dtype: DType) -> B::Tensor {
    from_data::<B>(HostData::from_f64(v, dtype), shape)
}

/// A tensor's values, converted to `f64` on the host.
pub fn values<B: Backend>(t: &B::Tensor) -> Vec<f64> {
    ok("to_host", B::to_host(t)).to_f64_vec()
}

/// A tensor's values, which must be `i64`.
pub fn values_i64<B: Backend>(t: &B::Tensor) -> Vec<i64> {
    match ok("to_host", B::to_host(t)) {
        HostData::I64(v) => v,
        other => panic!("to_host: expected i64 data, got {}", other.dtype()),
    }
}

/// A tensor's values, which must be booleans.
pub fn values_bool<B: Backend>(t: &B::Tensor) -> Vec<bool> {
    match ok("to_host", B::to_host(t)) {
        HostData::Bool(v) => v,
        other => panic!("to_host: expected bool data, got {}", other.dtype()),
    }
}

/// `n` deterministic values in `[-2, -0.1] ∪ [0.1, 2]`: inputs away from the kinks of
/// `relu`, `abs` and friends, and (almost surely) without ties.
pub fn pseudo(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let u = rng.uniform(-1.0, 1.0);
            u.signum() * (0.1 + 1.9 * u.abs())
        })
        .collect()
}

/// `n` deterministic values in `[0.5, 2)` (inputs for `log`, `sqrt`, `recip`, `pow`).
pub fn positive(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.uniform(0.5, 2.0)).collect()
}
