//! Creation and host transfer. `uniform` and `normal` keep the trait's seeded host
//! generator (candle's CPU generator cannot be seeded).

use crate::{to_candle_dtype, wrap, Candle};
use candle_core::{Device, Tensor};
use stratanet_frontend::backend::{CreationOps, DType, HostData};
use stratanet_frontend::{Error, Result};

impl CreationOps for Candle {
    fn from_host(data: HostData, shape: &[usize], device: &Device) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if data.len() != n {
            return Err(Error::invalid(
                "from_host",
                "data",
                format!(
                    "{} values do not fill shape {shape:?} ({n} elements)",
                    data.len()
                ),
            ));
        }
        let t = match data {
            HostData::F32(v) => Tensor::from_vec(v, shape, device),
            HostData::F64(v) => Tensor::from_vec(v, shape, device),
            HostData::I64(v) => Tensor::from_vec(v, shape, device),
            HostData::Bool(v) => {
                let v: Vec<u8> = v.into_iter().map(u8::from).collect();
                Tensor::from_vec(v, shape, device)
            }
            HostData::BF16(v) => Tensor::from_vec(v, shape, device),
            HostData::F16(v) => Tensor::from_vec(v, shape, device),
        };
        t.map_err(wrap("from_host"))
    }

    fn to_host(t: &Tensor) -> Result<HostData> {
        use candle_core::DType as C;
        let op = "to_host";
        let flat = t.flatten_all().map_err(wrap(op))?;
        Ok(match t.dtype() {
            C::F32 => HostData::F32(flat.to_vec1().map_err(wrap(op))?),
            C::F64 => HostData::F64(flat.to_vec1().map_err(wrap(op))?),
            C::I64 => HostData::I64(flat.to_vec1().map_err(wrap(op))?),
            C::U8 => {
                let v: Vec<u8> = flat.to_vec1().map_err(wrap(op))?;
                HostData::Bool(v.into_iter().map(|x| x != 0).collect())
            }
            C::BF16 => HostData::BF16(flat.to_vec1().map_err(wrap(op))?),
            C::F16 => HostData::F16(flat.to_vec1().map_err(wrap(op))?),
            C::U32 | C::I16 | C::I32 => {
                let flat = flat.to_dtype(C::I64).map_err(wrap(op))?;
                HostData::I64(flat.to_vec1().map_err(wrap(op))?)
            }
            _ => {
                let flat = flat.to_dtype(C::F32).map_err(wrap(op))?;
                HostData::F32(flat.to_vec1().map_err(wrap(op))?)
            }
        })
    }

    fn zeros(shape: &[usize], dtype: DType, device: &Device) -> Result<Tensor> {
        Tensor::zeros(shape, to_candle_dtype(dtype), device).map_err(wrap("zeros"))
    }

    fn ones(shape: &[usize], dtype: DType, device: &Device) -> Result<Tensor> {
        Tensor::ones(shape, to_candle_dtype(dtype), device).map_err(wrap("ones"))
    }

    fn full(shape: &[usize], value: f64, dtype: DType, device: &Device) -> Result<Tensor> {
        let t = match dtype {
            DType::F32 => Tensor::full(value as f32, shape, device),
            DType::F64 => Tensor::full(value, shape, device),
            DType::I64 => Tensor::full(value as i64, shape, device),
            DType::Bool => Tensor::full(u8::from(value != 0.0), shape, device),
            DType::BF16 => Tensor::full(half::bf16::from_f64(value), shape, device),
            DType::F16 => Tensor::full(half::f16::from_f64(value), shape, device),
        };
        t.map_err(wrap("full"))
    }

    /// Values `start + i * step` computed in `f64` on the host, then converted.
    fn arange(start: f64, end: f64, step: f64, dtype: DType, device: &Device) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
            return Err(Error::invalid(
                "arange",
                "arguments",
                format!("start {start}, end {end} and step {step} must be finite, step non-zero"),
            ));
        }
        let n = ((end - start) / step).ceil().max(0.0) as usize;
        let v: Vec<f64> = (0..n).map(|i| start + i as f64 * step).collect();
        Self::from_host(HostData::from_f64(&v, dtype), &[n], device)
    }
}
