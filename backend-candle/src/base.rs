//! Dtypes, devices and threads.

use crate::{from_candle_dtype, to_candle_dtype, wrap, Candle};
use candle_core::{DeviceLocation, Tensor};
use std::sync::Mutex;
use stratanet_frontend::backend::{BackendBase, DType, Device};
use stratanet_frontend::{Error, Result};

/// Thread count set through [`BackendBase::set_num_threads`], once rayon's pool is built.
static NUM_THREADS: Mutex<Option<usize>> = Mutex::new(None);

impl BackendBase for Candle {
    type Tensor = Tensor;
    type Device = candle_core::Device;

    const NAME: &'static str = "candle";

    fn device(device: Device) -> Result<candle_core::Device> {
        match device {
            Device::Cpu => Ok(candle_core::Device::Cpu),
            Device::Cuda(i) => candle_core::Device::new_cuda(i).map_err(|e| {
                Error::backend(
                    "candle",
                    format!(
                        "device cuda:{i} (needs a GPU and stratanet-candle built with the \
                         `cuda` feature)"
                    ),
                    e,
                )
            }),
        }
    }

    /// The device of `t`. A Metal tensor (which stratanet never creates) reports `Cpu`.
    fn device_of(t: &Tensor) -> Device {
        match t.device().location() {
            DeviceLocation::Cuda { gpu_id } => Device::Cuda(gpu_id),
            DeviceLocation::Cpu | DeviceLocation::Metal { .. } => Device::Cpu,
        }
    }

    fn tensor_device(t: &Tensor) -> candle_core::Device {
        t.device().clone()
    }

    fn cuda_is_available() -> bool {
        candle_core::utils::cuda_is_available()
    }

    fn dtype(t: &Tensor) -> DType {
        from_candle_dtype(t.dtype())
    }

    fn shape(t: &Tensor) -> Vec<usize> {
        t.dims().to_vec()
    }

    /// Converts; to [`DType::Bool`] a value is true when non-zero (like torch), other
    /// conversions are candle's (floats to integers truncate toward zero).
    fn to_dtype(t: &Tensor, dtype: DType) -> Result<Tensor> {
        let target = to_candle_dtype(dtype);
        if t.dtype() == target {
            return Ok(t.clone());
        }
        if dtype == DType::Bool {
            return t.ne(0.0).map_err(wrap("to_dtype"));
        }
        t.to_dtype(target).map_err(wrap("to_dtype"))
    }

    fn to_device(t: &Tensor, device: &candle_core::Device) -> Result<Tensor> {
        t.to_device(device).map_err(wrap("to_device"))
    }

    /// Builds rayon's global pool (which candle's CPU kernels run on) with `n` threads.
    ///
    /// # Errors
    /// When `n` is 0, or when the pool already started (any candle op, or another library,
    /// starts it): call this once, before the first tensor operation. Calling it again with
    /// the same `n` is fine.
    fn set_num_threads(n: usize) -> Result<()> {
        if n == 0 {
            return Err(Error::invalid(
                "set_num_threads",
                "n",
                "the number of threads must be at least 1",
            ));
        }
        let mut set = NUM_THREADS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(current) = *set {
            if current == n {
                return Ok(());
            }
            return Err(Error::invalid(
                "set_num_threads",
                "n",
                format!(
                    "candle's thread pool already runs {current} threads; it can be set only \
                     once, before the first tensor operation"
                ),
            ));
        }
        match rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
        {
            Ok(()) => {
                *set = Some(n);
                Ok(())
            }
            Err(e) => Err(Error::invalid(
                "set_num_threads",
                "n",
                format!(
                    "candle's (rayon's global) thread pool has already started ({e}); call \
                     set_num_threads before the first tensor operation"
                ),
            )),
        }
    }

    /// The count given to [`BackendBase::set_num_threads`], else candle's own
    /// (`candle_core::utils::get_num_threads`: `RAYON_NUM_THREADS` or the physical cores).
    fn num_threads() -> usize {
        let set = NUM_THREADS.lock().unwrap_or_else(|p| p.into_inner());
        set.unwrap_or_else(candle_core::utils::get_num_threads)
    }

    fn synchronize(device: &candle_core::Device) -> Result<()> {
        device.synchronize().map_err(wrap("synchronize"))
    }
}
