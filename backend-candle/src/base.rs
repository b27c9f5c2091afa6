//! Dtypes, devices and threads.

use crate::{from_candle_dtype, to_candle_dtype, wrap, Candle};
use candle_core::{DeviceLocation, Tensor};
use std::sync::Mutex;
use stratanet_frontend::backend::{BackendBase, DType, Device};
use stratanet_frontend::{Error, Result};

/// Thread count set through [`BackendBase::set_num_threads`], once rayon's pool is built.
static NUM_THREADS: Mutex<Option<usize>> = Mutex::new(None);

/// The size rayon gives its global pool when nobody sets it (rayon-core's
/// `ThreadPoolBuilder::get_num_threads`): `RAYON_NUM_THREADS` when a positive number, else
/// the available parallelism.
fn rayon_default_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The size of rayon's global pool, asked from outside any pool (rayon's
/// `current_num_threads` answers for the pool of the calling thread when there is one).
fn global_pool_threads() -> usize {
    if rayon::current_thread_index().is_none() {
        rayon::current_num_threads()
    } else {
        std::thread::scope(|s| {
            s.spawn(rayon::current_num_threads)
                .join()
                .unwrap_or_else(|_| rayon_default_threads())
        })
    }
}

/// The candle device of CUDA ordinal `i`, made once and then shared (see
/// [`BackendBase::device`]).
#[cfg(feature = "cuda")]
fn cuda_device(i: usize) -> Result<candle_core::Device> {
    /// The CUDA devices made so far, by ordinal.
    static DEVICES: Mutex<Vec<(usize, candle_core::Device)>> = Mutex::new(Vec::new());
    let mut made = DEVICES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, d)) = made.iter().find(|(o, _)| *o == i) {
        return Ok(d.clone());
    }
    let count = cuda_device_count();
    if i >= count {
        let why = match candle_core::cuda::cudarc::driver::CudaContext::device_count() {
            Ok(n) => format!("the CUDA driver sees {n} device(s)"),
            Err(e) => format!("no usable CUDA driver or device ({e})"),
        };
        return Err(Error::invalid(
            "candle device",
            "device",
            format!("cuda:{i} is not available: {why}"),
        ));
    }
    let d = candle_core::Device::new_cuda(i)
        .map_err(|e| Error::backend("candle", format!("device cuda:{i}"), e))?;
    made.push((i, d.clone()));
    Ok(d)
}

/// Without the `cuda` feature no CUDA device can be made.
#[cfg(not(feature = "cuda"))]
fn cuda_device(i: usize) -> Result<candle_core::Device> {
    Err(Error::invalid(
        "candle device",
        "device",
        format!(
            "cuda:{i} needs stratanet-candle built with the `cuda` feature (stratanet's \
             `cuda` feature; building it needs the CUDA compiler: `cargo xtask cuda`)"
        ),
    ))
}

/// How many CUDA devices the driver reports (0 without a driver, without a GPU, or without
/// the `cuda` feature).
fn cuda_device_count() -> usize {
    #[cfg(feature = "cuda")]
    {
        candle_core::cuda::cudarc::driver::CudaContext::device_count()
            .map_or(0, |n| usize::try_from(n).unwrap_or(0))
    }
    #[cfg(not(feature = "cuda"))]
    {
        0
    }
}

impl BackendBase for Candle {
    type Tensor = Tensor;
    type Device = candle_core::Device;

    const NAME: &'static str = "candle";

    /// `Cpu`, or the CUDA device of that ordinal. Every call for `Cuda(i)` returns the same
    /// candle device (candle gives each `Device::new_cuda` its own id and stream, and refuses
    /// to mix tensors of two). The first call also sets glibc's `malloc` thresholds for
    /// candle's allocation pattern (once per process; `STRATANET_MALLOC_TUNING=0` opts
    /// out, see `stratanet_frontend::backend::malloc`) and, when the process has one
    /// thread and the variable is unset, `CANDLE_BARRIER_POOL_SPIN_LIMIT=2000` (the
    /// crate's `spin` module).
    ///
    /// # Errors
    /// For `Cuda(i)`: when this build lacks the `cuda` feature, or when the CUDA driver finds
    /// no device `i` (no GPU, no driver, or fewer devices).
    fn device(device: Device) -> Result<candle_core::Device> {
        stratanet_frontend::backend::malloc::tune_once();
        crate::spin::lower_once();
        match device {
            Device::Cpu => Ok(candle_core::Device::Cpu),
            Device::Cuda(i) => cuda_device(i),
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

    /// Whether the CUDA driver sees at least one device (always false without the `cuda`
    /// feature; candle's own `cuda_is_available` only says whether the feature is on).
    fn cuda_is_available() -> bool {
        cuda_device_count() > 0
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
    /// First, when the process has one thread and the variable is unset, it sets
    /// `CANDLE_BARRIER_POOL_SPIN_LIMIT=2000` (the crate's `spin` module).
    ///
    /// # Errors
    /// When `n` is 0, or when `n` differs from the size of a pool that already started (any
    /// candle op, or another library, starts it): call this once, before the first tensor
    /// operation. Asking for the count the pool already has (for example
    /// `set_num_threads(num_threads())`) is always `Ok`.
    fn set_num_threads(n: usize) -> Result<()> {
        // Before the pool's threads exist (see the crate's `spin` module).
        crate::spin::lower_once();
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
                    "asked for {n} threads, but candle's thread pool already runs {current}; it \
                     can be set only once, before the first tensor operation"
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
            Err(e) => {
                // The global pool exists, so asking its size starts nothing.
                let running = global_pool_threads();
                if running == n {
                    *set = Some(n);
                    return Ok(());
                }
                Err(Error::invalid(
                    "set_num_threads",
                    "n",
                    format!(
                        "asked for {n} threads, but candle's (rayon's global) thread pool has \
                         already started with {running} ({e}); call set_num_threads before \
                         the first tensor operation"
                    ),
                ))
            }
        }
    }

    /// The size of rayon's global pool, which candle's CPU kernels run on: the count given
    /// to [`BackendBase::set_num_threads`], else the size rayon gives the pool when it
    /// starts (`RAYON_NUM_THREADS`, else the logical CPUs available to the process). It does
    /// not start the pool.
    fn num_threads() -> usize {
        let set = NUM_THREADS.lock().unwrap_or_else(|p| p.into_inner());
        set.unwrap_or_else(rayon_default_threads)
    }

    fn synchronize(device: &candle_core::Device) -> Result<()> {
        device.synchronize().map_err(wrap("synchronize"))
    }
}
