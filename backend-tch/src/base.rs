//! Dtypes, devices and threads.

use crate::{dtype_of, kind_of, to_kind, wrap, Tch, TchTensor};
use stratanet_frontend::backend::{BackendBase, DType, Device};
use stratanet_frontend::{Error, Result};

/// Whether CUDA device `i` exists in this libtorch build and machine.
fn cuda_ordinal_ok(i: usize) -> bool {
    tch::Cuda::is_available() && (i as i64) < tch::Cuda::device_count()
}

impl BackendBase for Tch {
    type Tensor = TchTensor;
    type Device = tch::Device;

    const NAME: &'static str = "tch";

    /// `Cuda(i)` needs a CUDA-enabled libtorch and a GPU with ordinal `i`. The first call
    /// also sets glibc's `malloc` thresholds for libtorch's allocation pattern (once per
    /// process; `STRATANET_MALLOC_TUNING=0` opts out, see
    /// `stratanet_frontend::backend::malloc`).
    fn device(device: Device) -> Result<tch::Device> {
        stratanet_frontend::backend::malloc::tune_once();
        match device {
            Device::Cpu => Ok(tch::Device::Cpu),
            Device::Cuda(i) => {
                if cuda_ordinal_ok(i) {
                    Ok(tch::Device::Cuda(i))
                } else if !tch::Cuda::is_available() {
                    Err(Error::invalid(
                        "device",
                        "device",
                        format!(
                            "cuda:{i} requested, but libtorch sees no CUDA device (a CUDA \
                             build of libtorch and a GPU with its driver are needed)"
                        ),
                    ))
                } else {
                    Err(Error::invalid(
                        "device",
                        "device",
                        format!(
                            "cuda:{i} requested, but libtorch sees {} CUDA device(s)",
                            tch::Cuda::device_count()
                        ),
                    ))
                }
            }
        }
    }

    /// The device of `t`; devices stratanet never creates (MPS, Vulkan) report `Cpu`.
    fn device_of(t: &TchTensor) -> Device {
        match t.device() {
            tch::Device::Cuda(i) => Device::Cuda(i),
            _ => Device::Cpu,
        }
    }

    fn tensor_device(t: &TchTensor) -> tch::Device {
        t.device()
    }

    fn cuda_is_available() -> bool {
        tch::Cuda::is_available()
    }

    fn dtype(t: &TchTensor) -> DType {
        dtype_of(t)
    }

    fn shape(t: &TchTensor) -> Vec<usize> {
        t.dims()
    }

    /// libtorch's conversion: to [`DType::Bool`] a value is true when non-zero, floats to
    /// integers truncate toward zero.
    fn to_dtype(t: &TchTensor, dtype: DType) -> Result<TchTensor> {
        let kind = to_kind(dtype);
        if kind_of(t) == kind {
            return Ok(t.clone());
        }
        t.f_to_kind(kind).map(TchTensor).map_err(wrap("to_dtype"))
    }

    fn to_device(t: &TchTensor, device: &tch::Device) -> Result<TchTensor> {
        t.f_to_device(*device)
            .map(TchTensor)
            .map_err(wrap("to_device"))
    }

    /// libtorch's intra-op thread count (`at::set_num_threads`); it may be changed at any
    /// time.
    ///
    /// # Errors
    /// When `n` is 0 or does not fit an `i32`.
    fn set_num_threads(n: usize) -> Result<()> {
        if n == 0 || n > i32::MAX as usize {
            return Err(Error::invalid(
                "set_num_threads",
                "n",
                format!("the number of threads must be between 1 and {}", i32::MAX),
            ));
        }
        tch::set_num_threads(n as i32);
        Ok(())
    }

    fn num_threads() -> usize {
        tch::get_num_threads().max(1) as usize
    }

    /// Waits for the CUDA device's streams; a no-op on the CPU.
    fn synchronize(device: &tch::Device) -> Result<()> {
        match *device {
            tch::Device::Cuda(i) => {
                if !cuda_ordinal_ok(i) {
                    return Err(Error::invalid(
                        "synchronize",
                        "device",
                        format!("cuda:{i} is not available"),
                    ));
                }
                // tch's `synchronize` unwraps libtorch's error: turn that panic into an Err.
                std::panic::catch_unwind(|| tch::Cuda::synchronize(i as i64)).map_err(|p| {
                    let msg = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "CUDA synchronize failed".to_string());
                    Error::invalid("synchronize", "device", msg)
                })
            }
            _ => Ok(()),
        }
    }
}
