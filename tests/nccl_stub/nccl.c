/* A stand-in for libnccl.so for tests/nccl.rs: a one-rank communicator whose all-reduce
 * multiplies by STUB_SCALE (default 1), as if that many ranks held the same buffer, so the
 * test sees that the values went to the "device" and came back. Environment:
 *   STUB_SCALE      the all-reduce's factor
 *   STUB_ASYNC_ERR  ncclCommGetAsyncError reports ncclSystemError (2)
 * Built with -DSTUB_NO_ASYNC it lacks ncclCommGetAsyncError (an old or broken library).
 * Built with -DSTUB_MPI (by mpicc) it is a communicator of every rank of MPI's world whose
 * all-reduce is MPI_Allreduce (STUB_SCALE ignored): the whole of data-parallel training over
 * `Nccl` across processes, without a GPU.
 * Aborts and destroys are printed on stderr for the test to see. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef STUB_MPI
#include <mpi.h>
#endif

typedef int ncclResult_t;
typedef struct { char internal[128]; } ncclUniqueId;
typedef void *ncclComm_t;
static int comm_token;

ncclResult_t ncclGetVersion(int *v) { *v = 22800; return 0; }
ncclResult_t ncclGetUniqueId(ncclUniqueId *id) { memset(id->internal, 'S', 128); return 0; }
ncclResult_t ncclCommInitRank(ncclComm_t *c, int nranks, ncclUniqueId id, int rank) {
    for (int i = 0; i < 128; i++)
        if (id.internal[i] != 'S') return 4; /* ncclInvalidArgument: the id was garbled */
#ifdef STUB_MPI
    int size = -1, me = -1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    if (nranks != size || rank != me) return 4;
#else
    if (nranks != 1 || rank != 0) return 4;
#endif
    *c = &comm_token;
    return 0;
}
ncclResult_t ncclAllReduce(const void *send, void *recv, size_t count, int dtype, int op,
                           ncclComm_t comm, void *stream) {
    (void)stream;
    if (comm != &comm_token || op != 0 /* ncclSum */) return 4;
#ifdef STUB_MPI
    if (dtype != 7 && dtype != 8) return 4;
    MPI_Datatype t = dtype == 7 ? MPI_FLOAT : MPI_DOUBLE;
    int rc = MPI_Allreduce(send == recv ? MPI_IN_PLACE : send, recv, (int)count, t, MPI_SUM,
                           MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? 0 : 2;
#endif
    double k = getenv("STUB_SCALE") ? atof(getenv("STUB_SCALE")) : 1.0;
    if (dtype == 7) { /* ncclFloat32 */
        for (size_t i = 0; i < count; i++) ((float *)recv)[i] = ((const float *)send)[i] * (float)k;
    } else if (dtype == 8) { /* ncclFloat64 */
        for (size_t i = 0; i < count; i++) ((double *)recv)[i] = ((const double *)send)[i] * k;
    } else {
        return 4;
    }
    return 0;
}
#ifndef STUB_NO_ASYNC
ncclResult_t ncclCommGetAsyncError(ncclComm_t c, ncclResult_t *e) {
    (void)c; *e = getenv("STUB_ASYNC_ERR") ? 2 : 0; return 0;
}
#endif
ncclResult_t ncclCommAbort(ncclComm_t c) { (void)c; fprintf(stderr, "stub: ncclCommAbort\n"); return 0; }
ncclResult_t ncclCommDestroy(ncclComm_t c) { (void)c; fprintf(stderr, "stub: ncclCommDestroy\n"); return 0; }
const char *ncclGetErrorString(ncclResult_t e) { (void)e; return "stub NCCL error"; }
