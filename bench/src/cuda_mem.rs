//! libtorch's CUDA caching allocator statistics through `cuda_mem.cpp` (built by
//! `build.rs` when libtorch has CUDA and the CUDA runtime headers are found; otherwise every
//! call answers `None`). They are the figures PyTorch's `torch.cuda.max_memory_allocated`
//! and friends report, for the same allocator, so the two columns compare directly.
//! Reading them is host bookkeeping: no device synchronisation.

/// Allocator bytes on one device.
#[derive(Clone, Copy, Debug)]
pub struct MemStats {
    /// Bytes held by live tensors now.
    pub allocated: i64,
    /// Most bytes held by live tensors since the last [`reset_peak`].
    pub allocated_peak: i64,
    /// Bytes the allocator holds from the driver (live and cached).
    pub reserved: i64,
    /// Most reserved bytes since the last [`reset_peak`].
    pub reserved_peak: i64,
}

#[cfg(cuda_mem_shim)]
extern "C" {
    fn stratanet_bench_cuda_mem(device: i32, out: *mut i64) -> i32;
    fn stratanet_bench_cuda_reset_peak(device: i32) -> i32;
}

/// The statistics of CUDA device `device`; `None` without the shim, without that device,
/// or before libtorch has initialised its CUDA allocator.
pub fn stats(device: i32) -> Option<MemStats> {
    #[cfg(cuda_mem_shim)]
    {
        let mut out = [0i64; 4];
        // SAFETY: the shim writes exactly 4 values into `out` and never throws.
        let status = unsafe { stratanet_bench_cuda_mem(device, out.as_mut_ptr()) };
        (status == 0).then_some(MemStats {
            allocated: out[0],
            allocated_peak: out[1],
            reserved: out[2],
            reserved_peak: out[3],
        })
    }
    #[cfg(not(cuda_mem_shim))]
    {
        let _ = device;
        None
    }
}

/// Starts the peaks afresh (`torch.cuda.reset_peak_memory_stats`); false when there is
/// nothing to reset (as for [`stats`]).
pub fn reset_peak(device: i32) -> bool {
    #[cfg(cuda_mem_shim)]
    {
        // SAFETY: the shim takes a device index and never throws.
        unsafe { stratanet_bench_cuda_reset_peak(device) == 0 }
    }
    #[cfg(not(cuda_mem_shim))]
    {
        let _ = device;
        false
    }
}

/// Whether this build has the shim at all.
pub fn available() -> bool {
    cfg!(cuda_mem_shim)
}
