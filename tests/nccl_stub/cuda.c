/* A stand-in for libcuda.so (the CUDA driver API) for tests/nccl.rs: one "device" whose
 * memory is host memory, copies are memcpy, work completes at once. Only what cudarc's
 * context, stream, event and memory calls use. Environment:
 *   STUB_NO_DEVICE  cuInit fails with CUDA_ERROR_NO_DEVICE (100)
 *   STUB_NO_DEVICE_RANK  the same, only in the MPI rank of that number
 *   STUB_HANG       events never complete (CUDA_ERROR_NOT_READY, 600): a hung collective
 */
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef void *CUcontext;
typedef void *CUstream;
typedef void *CUevent;

static int token;

CUresult cuInit(unsigned flags) {
    (void)flags;
    const char *rank = getenv("OMPI_COMM_WORLD_RANK"), *bad = getenv("STUB_NO_DEVICE_RANK");
    if (rank && bad && strcmp(rank, bad) == 0) return 100;
    return getenv("STUB_NO_DEVICE") ? 100 : 0;
}
CUresult cuDriverGetVersion(int *v) { *v = 12080; return 0; }
CUresult cuDeviceGetCount(int *n) { *n = 1; return 0; }
CUresult cuDeviceGet(CUdevice *d, int ordinal) { if (ordinal != 0) return 101; *d = 0; return 0; }
CUresult cuDeviceGetAttribute(int *v, int attr, CUdevice d) { (void)attr; (void)d; *v = 0; return 0; }
CUresult cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d) { (void)d; *c = &token; return 0; }
CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d) { (void)d; return 0; }
CUresult cuCtxSetCurrent(CUcontext c) { (void)c; return 0; }
CUresult cuCtxGetCurrent(CUcontext *c) { *c = &token; return 0; }
CUresult cuCtxSynchronize(void) { return 0; }
CUresult cuStreamCreate(CUstream *s, unsigned flags) { (void)flags; *s = malloc(1); return 0; }
CUresult cuStreamDestroy_v2(CUstream s) { free(s); return 0; }
CUresult cuStreamSynchronize(CUstream s) { (void)s; return 0; }
CUresult cuStreamQuery(CUstream s) { (void)s; return 0; }
CUresult cuStreamWaitEvent(CUstream s, CUevent e, unsigned f) { (void)s; (void)e; (void)f; return 0; }
CUresult cuEventCreate(CUevent *e, unsigned flags) { (void)flags; *e = malloc(1); return 0; }
CUresult cuEventDestroy_v2(CUevent e) { free(e); return 0; }
CUresult cuEventRecord(CUevent e, CUstream s) { (void)e; (void)s; return 0; }
CUresult cuEventQuery(CUevent e) { (void)e; return getenv("STUB_HANG") ? 600 : 0; }
CUresult cuEventSynchronize(CUevent e) { (void)e; return 0; }
CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n) { *p = (CUdeviceptr)malloc(n ? n : 1); return 0; }
CUresult cuMemFree_v2(CUdeviceptr p) { free((void *)p); return 0; }
CUresult cuMemsetD8Async(CUdeviceptr p, unsigned char v, size_t n, CUstream s) {
    (void)s; memset((void *)p, v, n); return 0;
}
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *h, size_t n, CUstream s) {
    (void)s; memcpy((void *)d, h, n); return 0;
}
CUresult cuMemcpyDtoHAsync_v2(void *h, CUdeviceptr d, size_t n, CUstream s) {
    (void)s; memcpy(h, (const void *)d, n); return 0;
}
CUresult cuGetErrorString(CUresult e, const char **s) { (void)e; *s = "stub CUDA error"; return 0; }
CUresult cuGetErrorName(CUresult e, const char **s) { (void)e; *s = "STUB_CUDA_ERROR"; return 0; }
