//! Creation, host transfer and seeded randomness.
//!
//! `uniform` and `normal` draw from libtorch's own generator on the target device, so the
//! values never travel through the host. tch 0.24 exposes no per-call `at::Generator`, so
//! each draw reseeds libtorch's default generators (`tch::manual_seed`, which seeds the
//! CPU generator and every CUDA device's) with the call's seed and draws right away, both
//! under one process-wide lock: concurrent seeded draws from several threads cannot
//! interleave, and the same seed gives the same values (same engine, same device). A side
//! effect is that libtorch's global generator is left seeded by the last call; stratanet
//! itself draws nothing else from it.

use crate::{i64s, kind_of, to_kind, wrap, Tch, TchTensor};
use std::sync::Mutex;
use stratanet_frontend::backend::{CreationOps, DType, Distribution, HostData};
use stratanet_frontend::{Error, Result};
use tch::{Device, Kind, Tensor};

/// Serialises "reseed the global generator, then draw" across threads.
static RNG_LOCK: Mutex<()> = Mutex::new(());

/// A seeded draw of `shape` in `dtype` on `device` (integer and boolean dtypes are drawn
/// as `f64` and converted like [`HostData::from_f64`]).
fn draw(
    op: &str,
    dist: Distribution,
    shape: &[usize],
    seed: u64,
    dtype: DType,
    device: Device,
) -> Result<TchTensor> {
    match dist {
        Distribution::Uniform(low, high)
            if !(low.is_finite() && high.is_finite() && low <= high) =>
        {
            return Err(Error::invalid(
                op,
                "range",
                format!("low {low} and high {high} must be finite with low <= high"),
            ));
        }
        Distribution::Normal(mean, std) if !(mean.is_finite() && std.is_finite() && std >= 0.0) => {
            return Err(Error::invalid(
                op,
                "parameters",
                format!("mean {mean} and std {std} must be finite with std >= 0"),
            ));
        }
        _ => {}
    }
    // 16-bit dtypes are drawn in f32 and rounded, like the host default.
    let kind = match dtype {
        DType::F32 | DType::BF16 | DType::F16 => Kind::Float,
        _ => Kind::Double,
    };
    let t = {
        let _lock = RNG_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        // Bit-preserving: libtorch takes the seed as a `uint64_t`.
        tch::manual_seed(seed as i64);
        let mut t = Tensor::f_empty(i64s(shape), (kind, device)).map_err(wrap(op))?;
        match dist {
            Distribution::Uniform(low, high) => t.f_uniform_(low, high),
            Distribution::Normal(mean, std) => t.f_normal_(mean, std),
        }
        .map_err(wrap(op))?
    };
    let target = to_kind(dtype);
    if target == kind {
        Ok(TchTensor(t))
    } else {
        t.f_to_kind(target).map(TchTensor).map_err(wrap(op))
    }
}

impl CreationOps for Tch {
    fn from_host(data: HostData, shape: &[usize], device: &Device) -> Result<TchTensor> {
        let op = "from_host";
        let n: usize = shape.iter().product();
        if data.len() != n {
            return Err(Error::invalid(
                op,
                "data",
                format!(
                    "{} values do not fill shape {shape:?} ({n} elements)",
                    data.len()
                ),
            ));
        }
        let flat = match &data {
            HostData::F32(v) => Tensor::f_from_slice(v),
            HostData::F64(v) => Tensor::f_from_slice(v),
            HostData::I64(v) => Tensor::f_from_slice(v),
            HostData::Bool(v) => Tensor::f_from_slice(v),
            // tch 0.24 declares `half::bf16` as `Kind::Half`: pass the bits, then view them.
            HostData::BF16(v) => {
                let bits: Vec<i16> = v.iter().map(|x| x.to_bits() as i16).collect();
                Tensor::f_from_slice(&bits).and_then(|t| t.f_view_dtype(Kind::BFloat16))
            }
            HostData::F16(v) => Tensor::f_from_slice(v),
        }
        .map_err(wrap(op))?;
        let t = flat.f_reshape(i64s(shape)).map_err(wrap(op))?;
        if *device == Device::Cpu {
            Ok(TchTensor(t))
        } else {
            t.f_to_device(*device).map(TchTensor).map_err(wrap(op))
        }
    }

    fn to_host(t: &TchTensor) -> Result<HostData> {
        let op = "to_host";
        crate::host_reads::note_host_read();
        let mut flat = t
            .f_detach()
            .and_then(|t| t.f_to_device(Device::Cpu))
            .and_then(|t| t.f_contiguous())
            .and_then(|t| t.f_reshape([-1]))
            .map_err(wrap(op))?;
        let kind = kind_of(&flat);
        match kind {
            Kind::Float | Kind::Double | Kind::Int64 | Kind::Bool | Kind::BFloat16 | Kind::Half => {
            }
            Kind::Int | Kind::Int16 | Kind::Int8 | Kind::Uint8 => {
                flat = flat.f_to_kind(Kind::Int64).map_err(wrap(op))?;
            }
            _ => {
                flat = flat.f_to_kind(Kind::Float).map_err(wrap(op))?;
            }
        }
        let n = flat.numel();
        Ok(match kind_of(&flat) {
            Kind::Double => {
                let mut v = vec![0f64; n];
                flat.f_copy_data(&mut v, n).map_err(wrap(op))?;
                HostData::F64(v)
            }
            Kind::Int64 => {
                let mut v = vec![0i64; n];
                flat.f_copy_data(&mut v, n).map_err(wrap(op))?;
                HostData::I64(v)
            }
            Kind::Bool => {
                let mut v = vec![false; n];
                flat.f_copy_data(&mut v, n).map_err(wrap(op))?;
                HostData::Bool(v)
            }
            Kind::BFloat16 => {
                // The bits, as in `from_host` (tch 0.24 takes `half::bf16` for `Half`).
                let mut bits = vec![0i16; n];
                let as_bits = flat.f_view_dtype(Kind::Int16).map_err(wrap(op))?;
                as_bits.f_copy_data(&mut bits, n).map_err(wrap(op))?;
                HostData::BF16(
                    bits.into_iter()
                        .map(|b| half::bf16::from_bits(b as u16))
                        .collect(),
                )
            }
            Kind::Half => {
                let mut v = vec![half::f16::ZERO; n];
                flat.f_copy_data(&mut v, n).map_err(wrap(op))?;
                HostData::F16(v)
            }
            _ => {
                let mut v = vec![0f32; n];
                flat.f_copy_data(&mut v, n).map_err(wrap(op))?;
                HostData::F32(v)
            }
        })
    }

    fn zeros(shape: &[usize], dtype: DType, device: &Device) -> Result<TchTensor> {
        Tensor::f_zeros(i64s(shape), (to_kind(dtype), *device))
            .map(TchTensor)
            .map_err(wrap("zeros"))
    }

    fn ones(shape: &[usize], dtype: DType, device: &Device) -> Result<TchTensor> {
        Tensor::f_ones(i64s(shape), (to_kind(dtype), *device))
            .map(TchTensor)
            .map_err(wrap("ones"))
    }

    /// The value is converted on the host first: truncated toward zero for `i64`, non-zero
    /// is `true`.
    fn full(shape: &[usize], value: f64, dtype: DType, device: &Device) -> Result<TchTensor> {
        let options = (to_kind(dtype), *device);
        let shape = i64s(shape);
        let t = match dtype {
            DType::F32 | DType::F64 | DType::BF16 | DType::F16 => {
                Tensor::f_full(shape, value, options)
            }
            DType::I64 => Tensor::f_full(shape, value as i64, options),
            DType::Bool => Tensor::f_full(shape, i64::from(value != 0.0), options),
        };
        t.map(TchTensor).map_err(wrap("full"))
    }

    /// Values `start + i * step` computed in `f64` on the device, then converted.
    fn arange(start: f64, end: f64, step: f64, dtype: DType, device: &Device) -> Result<TchTensor> {
        let op = "arange";
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
            return Err(Error::invalid(
                op,
                "arguments",
                format!("start {start}, end {end} and step {step} must be finite, step non-zero"),
            ));
        }
        let kind = to_kind(dtype);
        let n = ((end - start) / step).ceil().max(0.0);
        if n == 0.0 {
            return Tensor::f_empty([0], (kind, *device))
                .map(TchTensor)
                .map_err(wrap(op));
        }
        Tensor::f_arange_start_step(start, end, step, (Kind::Double, *device))
            .and_then(|t| t.f_to_kind(kind))
            .map(TchTensor)
            .map_err(wrap(op))
    }

    /// Drawn by libtorch's generator reseeded with `seed` (see the module docs).
    fn random(
        shape: &[usize],
        dist: Distribution,
        seed: u64,
        dtype: DType,
        device: &Device,
    ) -> Result<TchTensor> {
        let op = match dist {
            Distribution::Uniform(..) => "uniform",
            Distribution::Normal(..) => "normal",
        };
        draw(op, dist, shape, seed, dtype, *device)
    }
}
