//! Creation and host transfer.

use super::base::{BackendBase, DType, HostData};
use crate::error::Result;
use crate::random::Rng;

/// Creating tensors and moving their contents to and from the host.
pub trait CreationOps: BackendBase {
    /// A tensor holding `data` with the given shape. The dtype is the data's.
    ///
    /// # Errors
    /// When `data.len()` is not the product of `shape`.
    fn from_host(data: HostData, shape: &[usize], device: &Self::Device) -> Result<Self::Tensor>;
    /// Copies a tensor's contents to the host, row-major.
    fn to_host(t: &Self::Tensor) -> Result<HostData>;
    /// All zeros.
    fn zeros(shape: &[usize], dtype: DType, device: &Self::Device) -> Result<Self::Tensor>;
    /// All ones.
    fn ones(shape: &[usize], dtype: DType, device: &Self::Device) -> Result<Self::Tensor>;
    /// All `value` (converted to `dtype`).
    fn full(
        shape: &[usize],
        value: f64,
        dtype: DType,
        device: &Self::Device,
    ) -> Result<Self::Tensor>;
    /// `[start, start + step, ...]` up to but excluding `end`, as a rank-1 tensor.
    fn arange(
        start: f64,
        end: f64,
        step: f64,
        dtype: DType,
        device: &Self::Device,
    ) -> Result<Self::Tensor>;

    /// Samples of `dist` from a generator seeded with `seed`: the one hook behind
    /// [`CreationOps::uniform`] and [`CreationOps::normal`].
    ///
    /// The default draws on the host from the frontend's [`Rng`]; engines with a seedable
    /// generator of their own may override it. Same seed, same engine, same device:
    /// identical values.
    fn random(
        shape: &[usize],
        dist: Distribution,
        seed: u64,
        dtype: DType,
        device: &Self::Device,
    ) -> Result<Self::Tensor> {
        Self::from_host(host_draw(shape, seed, dtype, dist), shape, device)
    }

    /// Uniform samples in `[low, high)` from a generator seeded with `seed` (see
    /// [`CreationOps::random`]).
    fn uniform(
        shape: &[usize],
        low: f64,
        high: f64,
        seed: u64,
        dtype: DType,
        device: &Self::Device,
    ) -> Result<Self::Tensor> {
        Self::random(shape, Distribution::Uniform(low, high), seed, dtype, device)
    }

    /// Normal samples with the given mean and standard deviation, seeded like
    /// [`CreationOps::uniform`].
    fn normal(
        shape: &[usize],
        mean: f64,
        std: f64,
        seed: u64,
        dtype: DType,
        device: &Self::Device,
    ) -> Result<Self::Tensor> {
        Self::random(shape, Distribution::Normal(mean, std), seed, dtype, device)
    }
}

/// A distribution of seeded samples ([`CreationOps::random`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Distribution {
    /// Uniform in `[low, high)`.
    Uniform(f64, f64),
    /// Normal with `(mean, std)`.
    Normal(f64, f64),
}

/// One value of `dtype` per element of `shape`, each `draw` from a generator seeded with
/// `seed` (the host default of [`CreationOps::random`]).
fn host_draw(shape: &[usize], seed: u64, dtype: DType, dist: Distribution) -> HostData {
    let mut rng = Rng::new(seed);
    let n: usize = shape.iter().product();
    let v: Vec<f64> = match dist {
        Distribution::Uniform(low, high) => (0..n).map(|_| rng.uniform(low, high)).collect(),
        Distribution::Normal(mean, std) => {
            (0..n).map(|_| mean + std * rng.standard_normal()).collect()
        }
    };
    HostData::from_f64(&v, dtype)
}
