// libtorch's CUDA caching allocator statistics for the bench (tch 0.24 binds none):
// the same counters as PyTorch's torch.cuda.memory_allocated / max_memory_allocated /
// memory_reserved / max_memory_reserved / reset_peak_memory_stats.
//
// Every entry point returns a status instead of throwing: 0 ok, 1 no such CUDA device
// (a CPU-only host reports 0 devices), 2 the allocator is not initialised yet (no CUDA
// tensor was made), 3 libtorch threw.

#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>

#include <cstdint>

namespace {

int ready(int device) {
  if (device < 0 || device >= static_cast<int>(c10::cuda::device_count())) {
    return 1;
  }
  auto* a = c10::cuda::CUDACachingAllocator::get();
  if (a == nullptr || !a->initialized()) {
    return 2;
  }
  return 0;
}

}  // namespace

// out[0..4]: allocated bytes (current, peak), reserved bytes (current, peak).
extern "C" int stratanet_bench_cuda_mem(int device, int64_t* out) {
  try {
    if (int r = ready(device)) {
      return r;
    }
    const auto s = c10::cuda::CUDACachingAllocator::getDeviceStats(
        static_cast<c10::DeviceIndex>(device));
    const auto agg =
        static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    out[0] = s.allocated_bytes[agg].current;
    out[1] = s.allocated_bytes[agg].peak;
    out[2] = s.reserved_bytes[agg].current;
    out[3] = s.reserved_bytes[agg].peak;
    return 0;
  } catch (...) {
    return 3;
  }
}

extern "C" int stratanet_bench_cuda_reset_peak(int device) {
  try {
    if (int r = ready(device)) {
      return r;
    }
    c10::cuda::CUDACachingAllocator::resetPeakStats(
        static_cast<c10::DeviceIndex>(device));
    return 0;
  } catch (...) {
    return 3;
  }
}
