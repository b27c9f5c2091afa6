//! [`Nccl`]: the [`Collective`] over NVIDIA's NCCL, one CUDA GPU per rank, through cudarc's
//! NCCL and driver bindings (feature `nccl`).
//!
//! MPI ([`Mpi`]) starts the job and carries what is small: rank 0 creates NCCL's unique id
//! and broadcasts it over MPI, then every rank joins the NCCL communicator on its GPU; the
//! byte broadcasts and barriers of [`Collective`] stay on MPI. The sums (the per-step
//! gradient all-reduce, the epoch's metrics) go over NCCL.
//!
//! **Host staging.** In this version the fused gradient buffer of data-parallel training is
//! assembled on the host (the [`Collective`] trait takes host slices), so every all-reduce
//! copies the buffer to the GPU, runs `ncclAllReduce` there and copies the result back.
//! NCCL then moves the data between GPUs (NVLink, PCIe peer-to-peer, InfiniBand with
//! GPUDirect), which is where it beats MPI on host memory; the two copies across PCIe per
//! step remain, so do not expect the speed of a framework that reduces the gradients where
//! they were computed.
//!
//! **Libraries.** libcuda (the driver) and libnccl are opened at run time (cudarc's dynamic
//! loading), so the feature builds without the CUDA toolkit and a binary built with it runs
//! on machines without a GPU as long as NCCL is not asked for. cudarc looks for `libnccl.so`
//! (the name `libnccl-dev` installs), not `libnccl.so.2` alone (what the `nvidia-nccl-cu12`
//! wheel ships): link the latter as `libnccl.so` in a folder on `LD_LIBRARY_PATH`. A missing
//! library, no GPU, or an NCCL or CUDA error is an [`Error::Distributed`] naming `nccl` and
//! the reason, never a panic.

use super::{check_root, env_number, Collective, Mpi};
use crate::error::{Error, Result};
use cudarc::driver::{CudaContext, CudaEvent, CudaSlice, CudaStream, DevicePtrMut};
use cudarc::nccl::{result as nccl, sys as nccl_sys};
use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The shared libraries cudarc opens at run time, by the names it tries first. The second
/// name of each is only used to tell the user what is wrong (see [`probe_libraries`]).
#[cfg(not(windows))]
const LIBCUDA: [&str; 2] = ["libcuda.so", "libcuda.so.1"];
#[cfg(windows)]
const LIBCUDA: [&str; 2] = ["nvcuda.dll", "nvcuda.dll"];
#[cfg(not(windows))]
const LIBNCCL: [&str; 2] = ["libnccl.so", "libnccl.so.2"];
#[cfg(windows)]
const LIBNCCL: [&str; 2] = ["nccl.dll", "nccl.dll"];

/// Environment variables through which launchers tell a process its rank among the ranks on
/// its machine (Open MPI, MPICH/Hydra, Slurm), which picks its GPU by default.
const LOCAL_RANK_VARS: [&str; 4] = [
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "MPI_LOCALRANKID",
    "SLURM_LOCALID",
    "LOCAL_RANK",
];

/// Environment variables with this process' global rank, for error messages raised before
/// MPI is initialised.
const RANK_VARS: [&str; 4] = [
    "OMPI_COMM_WORLD_RANK",
    "PMIX_RANK",
    "PMI_RANK",
    "SLURM_PROCID",
];

/// The NCCL communicator of one rank. Destroyed (or aborted, after a failure) when dropped;
/// cudarc's own `Comm` panics in `drop` when aborting fails and hides the raw handle that
/// `ncclCommGetAsyncError` needs, hence this small owner.
struct CommHandle {
    comm: nccl_sys::ncclComm_t,
    /// Set after a failure or a timeout: the communicator is aborted instead of destroyed.
    broken: Option<String>,
}

// SAFETY: an NCCL communicator may be used from any thread as long as calls on it are not
// concurrent; every use goes through `Nccl::state`'s mutex.
unsafe impl Send for CommHandle {}

impl Drop for CommHandle {
    fn drop(&mut self) {
        if self.comm.is_null() {
            return;
        }
        let comm = self.comm;
        let broken = self.broken.is_some();
        // Errors here cannot be reported (and a panic from a missing symbol must not escape
        // a destructor): ignored.
        let _ = catch_unwind(AssertUnwindSafe(move || {
            // SAFETY: `comm` came from ncclCommInitRank and is released once, here.
            unsafe {
                if broken {
                    let _ = nccl::comm_abort(comm);
                } else {
                    let _ = nccl::comm_destroy(comm);
                }
            }
        }));
    }
}

/// What the all-reduces need on the GPU, behind the mutex.
struct State {
    comm: CommHandle,
    stream: Arc<CudaStream>,
    /// Recorded after each all-reduce and polled, so a hung peer becomes a timeout.
    done: CudaEvent,
    /// Device buffers, grown to the largest all-reduce so far and reused.
    f32_buf: Option<CudaSlice<f32>>,
    f64_buf: Option<CudaSlice<f64>>,
}

/// NCCL across one CUDA GPU per rank, as a [`Collective`]: the sums on the GPUs over NCCL,
/// broadcasts and barriers over MPI (which also launched the job).
///
/// Made by [`Nccl::world`] (or [`DataParallel::nccl`](super::DataParallel::nccl), or
/// [`DataParallel::from_env`](super::DataParallel::from_env) with
/// `STRATANET_COLLECTIVE=nccl`). Launch one process per GPU: `mpirun -np 4 ./train` on a
/// machine with four GPUs.
///
/// The collectives take host buffers (see the [`Collective`] trait): each all-reduce copies
/// its buffer to the rank's GPU, sums it there over NCCL and copies it back, because the
/// fused gradient buffer of data-parallel training lives on the host in this version. The
/// model itself may train on the CPU or on that GPU (`Device::Cuda(ordinal)`, see
/// [`Nccl::device_ordinal`]).
///
/// An all-reduce that does not finish within the timeout (the MPI handle's,
/// `STRATANET_COLLECTIVE_TIMEOUT`, default 300 s), or that NCCL reports as failed, aborts
/// the communicator and returns [`Error::Distributed`]; every later call fails at once and
/// the process should exit, non-zero.
pub struct Nccl {
    rank: usize,
    size: usize,
    ordinal: usize,
    timeout: Duration,
    /// Declared before `mpi`: the communicator goes before MPI is finalised.
    state: Mutex<State>,
    mpi: Arc<Mpi>,
}

impl std::fmt::Debug for Nccl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nccl")
            .field("rank", &self.rank)
            .field("size", &self.size)
            .field("device_ordinal", &self.ordinal)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The GPU of the process with local rank `local_rank` among `devices` GPUs: round robin.
pub(crate) fn default_ordinal(local_rank: usize, devices: usize) -> usize {
    local_rank % devices.max(1)
}

/// Text of a panic payload.
fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Runs `f`, turning a panic of cudarc's loader (a library or symbol that cannot be found)
/// into an error message.
fn guarded<T>(
    f: impl FnOnce() -> std::result::Result<T, String>,
) -> std::result::Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let text = panic_text(p);
            let hint = if text.contains("Unable to dynamically load") {
                // E.g. libnccl.so.2 mapped by another library (libtorch), but no
                // libnccl.so for cudarc to open.
                " (put the library on LD_LIBRARY_PATH under the first name listed: for NCCL, \
                 link it as libnccl.so to libnccl.so.2)"
            } else {
                ""
            };
            Err(format!("the CUDA/NCCL bindings panicked: {text}{hint}"))
        }
    }
}

/// Whether a shared library opens under `name`.
fn library_opens(name: &str) -> bool {
    // SAFETY: opening libcuda/libnccl runs their initialisers, which is what using them
    // does anyway; the handle is closed again at once (the loader keeps one reference
    // per open, so cudarc's own open later is unaffected).
    unsafe { libloading::Library::new(name) }.is_ok()
}

/// Whether a library whose file name starts with `stem` (`libnccl.so`) is already mapped
/// into this process: linked when the program was built (candle's `cuda` feature makes
/// cudarc link the libraries instead of opening them), or opened by another library.
fn mapped_in_process(stem: &str) -> bool {
    #[cfg(target_os = "linux")]
    {
        std::fs::read_to_string("/proc/self/maps").is_ok_and(|maps| {
            maps.lines()
                .filter_map(|l| l.rsplit('/').next())
                .any(|file| file.starts_with(stem))
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = stem;
        false
    }
}

/// Checks that libcuda and libnccl can be opened under the names cudarc tries (or are
/// already linked in), so that a missing library is a clear error instead of a panic
/// inside cudarc's loader.
fn probe_libraries() -> std::result::Result<(), String> {
    probe_with(|name| {
        // A mapped `libnccl.so.2` (libtorch's CUDA build loads one) does not let cudarc's
        // loader open `libnccl.so`: for NCCL only the name cudarc opens counts.
        library_opens(name) || (!name.starts_with("libnccl") && mapped_in_process(name))
    })
}

/// [`probe_libraries`] over a given "does this library open" test.
fn probe_with(opens: impl Fn(&str) -> bool) -> std::result::Result<(), String> {
    if !LIBCUDA.iter().any(|n| opens(n)) {
        return Err(format!(
            "the CUDA driver library ({}) cannot be opened: no NVIDIA driver on this machine, \
             or it is not on the loader path (LD_LIBRARY_PATH)",
            LIBCUDA[0]
        ));
    }
    if !opens(LIBNCCL[0]) {
        if opens(LIBNCCL[1]) {
            return Err(format!(
                "{} is on the loader path but {} is not, the name cudarc opens: link it as \
                 {} in a folder on LD_LIBRARY_PATH (or install libnccl-dev)",
                LIBNCCL[1], LIBNCCL[0], LIBNCCL[0]
            ));
        }
        return Err(format!(
            "the NCCL library ({}) cannot be opened: install NCCL (libnccl2 and libnccl-dev, \
             or the nvidia-nccl wheel with a {} link) and put it on LD_LIBRARY_PATH",
            LIBNCCL[0], LIBNCCL[0]
        ));
    }
    Ok(())
}

/// NCCL's name and description of an error code.
fn nccl_error_text(e: &nccl::NcclError) -> String {
    let code = e.0;
    // SAFETY: ncclGetErrorString returns a static, NUL-terminated string for any code.
    let text = catch_unwind(|| unsafe {
        let p = nccl_sys::ncclGetErrorString(code);
        if p.is_null() {
            String::new()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    })
    .unwrap_or_default();
    if text.is_empty() {
        format!("{code:?}")
    } else {
        format!("{code:?} ({text})")
    }
}

impl Nccl {
    /// NCCL across the ranks of MPI's world, each on its GPU: the `LOCAL_RANK`-th GPU of its
    /// machine (from `OMPI_COMM_WORLD_LOCAL_RANK`, `MPI_LOCALRANKID`, `SLURM_LOCALID` or
    /// `LOCAL_RANK`, modulo the number of GPUs; the global rank when none is set).
    ///
    /// A collective operation: every rank of the job must call it.
    ///
    /// # Errors
    /// [`Error::Distributed`] (operation `nccl init`) when libcuda or libnccl cannot be
    /// opened, there is no CUDA device, MPI fails, or NCCL cannot build the communicator.
    pub fn world() -> Result<Arc<Self>> {
        Self::world_on(None)
    }

    /// [`Nccl::world`] on GPU `ordinal` of this machine (`None`: by local rank). Two ranks
    /// must not share a GPU (NCCL refuses it).
    ///
    /// # Errors
    /// As [`Nccl::world`], and for an ordinal past the machine's GPUs.
    pub fn world_on(ordinal: Option<usize>) -> Result<Arc<Self>> {
        // Check the libraries before MPI starts, which may only happen once per process.
        let rank = env_number(&RANK_VARS).map_or(0, |(_, r)| r);
        let size = super::launcher_size().map_or(1, |(_, n)| n);
        probe_libraries().map_err(|m| Error::distributed("nccl init", rank, size, m))?;
        Self::from_mpi(Mpi::world()?, ordinal)
    }

    /// NCCL across the ranks of `mpi`, on GPU `ordinal` (`None`: by local rank, as
    /// [`Nccl::world`]). Rank 0 creates NCCL's unique id and broadcasts it over `mpi`.
    ///
    /// A collective operation: every rank of `mpi` must call it. The ranks agree over MPI
    /// (with its timeout) that all of them have their GPU before NCCL builds the
    /// communicator; `ncclCommInitRank` itself then waits for every rank without a timeout,
    /// so a rank that dies at exactly that moment leaves the others waiting.
    ///
    /// # Errors
    /// As [`Nccl::world`].
    pub fn from_mpi(mpi: Arc<Mpi>, ordinal: Option<usize>) -> Result<Arc<Self>> {
        let (rank, size) = (mpi.rank(), mpi.size());
        let fail = |m: String| Error::distributed("nccl init", rank, size, m);
        // Every rank takes part in the id broadcast and the agreement below even when its
        // own libraries or GPU failed, so that the others get an error instead of waiting.
        let device = probe_libraries().and_then(|()| {
            guarded(|| {
                let count = CudaContext::device_count()
                    .map_err(|e| format!("CUDA: cannot count the GPUs: {e}"))?;
                let count = usize::try_from(count).unwrap_or(0);
                if count == 0 {
                    return Err("no CUDA device on this machine".into());
                }
                let ordinal = match ordinal {
                    Some(o) if o >= count => {
                        return Err(format!(
                            "GPU {o} asked for, but this machine has {count} (0..{count})"
                        ))
                    }
                    Some(o) => o,
                    None => default_ordinal(
                        env_number(&LOCAL_RANK_VARS).map_or(rank, |(_, r)| r),
                        count,
                    ),
                };
                let ctx = CudaContext::new(ordinal)
                    .map_err(|e| format!("CUDA: cannot open GPU {ordinal}: {e}"))?;
                let stream = ctx
                    .new_stream()
                    .map_err(|e| format!("CUDA: cannot create a stream on GPU {ordinal}: {e}"))?;
                let done = ctx
                    .new_event(None)
                    .map_err(|e| format!("CUDA: cannot create an event on GPU {ordinal}: {e}"))?;
                Ok((ordinal, ctx, stream, done))
            })
        });
        // Rank 0's unique id (128 bytes) after a status byte: 1 = id follows, 0 = rank 0
        // failed.
        let mut msg = [0u8; 129];
        if rank == 0 && device.is_ok() {
            match guarded(|| nccl::get_uniqueid().map_err(|e| nccl_error_text(&e))) {
                Ok(id) => {
                    msg[0] = 1;
                    for (d, s) in msg[1..].iter_mut().zip(id.internal.iter()) {
                        *d = *s as u8;
                    }
                }
                Err(e) => {
                    mpi.broadcast_bytes(&mut msg, 0)?;
                    return Err(fail(format!("ncclGetUniqueId failed: {e}")));
                }
            }
        }
        mpi.broadcast_bytes(&mut msg, 0)?;
        // ncclCommInitRank waits for every rank without a timeout: agree first (over MPI,
        // which has one) that every rank is ready, so that one rank's failure becomes an
        // error on all of them instead of a hang.
        let mut failed = [f64::from(u8::from(device.is_err() || msg[0] != 1))];
        mpi.all_reduce_sum_f64(&mut failed)?;
        let (ordinal, ctx, stream, done) = device.map_err(fail)?;
        if msg[0] != 1 {
            return Err(fail(
                "rank 0 could not set up its GPU or NCCL id (see its error)".into(),
            ));
        }
        if failed[0] > 0.0 {
            return Err(fail(format!(
                "{} other rank(s) could not set up their GPU (see their errors)",
                failed[0]
            )));
        }
        let mut id = nccl_sys::ncclUniqueId { internal: [0; 128] };
        for (d, s) in id.internal.iter_mut().zip(msg[1..].iter()) {
            *d = *s as std::ffi::c_char;
        }
        let n = i32::try_from(size).map_err(|_| fail(format!("{size} ranks exceed NCCL's int")))?;
        let r = i32::try_from(rank).map_err(|_| fail(format!("rank {rank} exceeds NCCL's int")))?;
        let comm = guarded(|| {
            ctx.bind_to_thread()
                .map_err(|e| format!("CUDA: cannot bind GPU {ordinal}: {e}"))?;
            let mut comm: nccl_sys::ncclComm_t = std::ptr::null_mut();
            // SAFETY: `comm` is a valid out-pointer; `id` is rank 0's unique id, the same on
            // every rank; the GPU's context is current on this thread.
            unsafe { nccl::comm_init_rank(&mut comm, n, id, r) }.map_err(|e| {
                format!(
                    "ncclCommInitRank on GPU {ordinal} failed: {}",
                    nccl_error_text(&e)
                )
            })?;
            Ok(comm)
        })
        .map_err(fail)?;
        let timeout = mpi.timeout();
        Ok(Arc::new(Self {
            rank,
            size,
            ordinal,
            timeout,
            state: Mutex::new(State {
                comm: CommHandle { comm, broken: None },
                stream,
                done,
                f32_buf: None,
                f64_buf: None,
            }),
            mpi,
        }))
    }

    /// The CUDA device ordinal (on this machine) of this rank's GPU.
    pub fn device_ordinal(&self) -> usize {
        self.ordinal
    }

    /// The MPI handle that carries the broadcasts and barriers.
    pub fn mpi(&self) -> &Arc<Mpi> {
        &self.mpi
    }

    fn err(&self, op: &str, message: impl Into<String>) -> Error {
        Error::distributed(op, self.rank, self.size, message)
    }

    /// The state, unless an earlier failure broke the communicator.
    fn lock(&self, op: &str) -> Result<MutexGuard<'_, State>> {
        let st = self
            .state
            .lock()
            .map_err(|_| self.err(op, "nccl: the communicator's lock is poisoned"))?;
        if let Some(why) = &st.comm.broken {
            return Err(self.err(
                op,
                format!("nccl: unusable after an earlier failure: {why}"),
            ));
        }
        Ok(st)
    }

    /// Marks the communicator broken (it is aborted, which also ends NCCL's kernels still
    /// waiting for a peer) and returns the error.
    fn break_with(&self, op: &str, st: &mut State, why: String) -> Error {
        let comm = st.comm.comm;
        if !comm.is_null() {
            let _ = catch_unwind(AssertUnwindSafe(move || {
                // SAFETY: a live communicator, aborted once; the handle is nulled below so
                // that `drop` does not release it again.
                unsafe { nccl::comm_abort(comm) }
            }));
            st.comm.comm = std::ptr::null_mut();
        }
        st.comm.broken = Some(why.clone());
        self.err(op, format!("nccl: {why}"))
    }

    /// Waits for the work queued on the stream (polling its event) until the deadline,
    /// checking NCCL's asynchronous error before every poll (and so once more after the
    /// work completed: an operation NCCL reports as failed has no valid result).
    fn wait(&self, op: &str, st: &mut State) -> Result<()> {
        st.done
            .record(&st.stream)
            .map_err(|e| format!("CUDA: cannot record an event: {e}"))
            .map_err(|m| self.break_with(op, st, m))?;
        let start = Instant::now();
        let mut polls: u32 = 0;
        loop {
            let comm = st.comm.comm;
            let checked = guarded(|| {
                let mut async_err = nccl_sys::ncclResult_t::ncclSuccess;
                // SAFETY: a live communicator and a valid out-pointer.
                let rc = unsafe { nccl_sys::ncclCommGetAsyncError(comm, &mut async_err) };
                for code in [rc, async_err] {
                    code.result()
                        .map_err(|e| format!("NCCL reported {}", nccl_error_text(&e)))?;
                }
                Ok(())
            });
            if let Err(why) = checked {
                return Err(self.break_with(op, st, why));
            }
            match st.done.try_is_complete() {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => return Err(self.break_with(op, st, format!("CUDA: {e}"))),
            }
            if start.elapsed() > self.timeout {
                let why = format!(
                    "timed out after {:.1} s waiting for the other ranks (a rank died or \
                     hangs; STRATANET_COLLECTIVE_TIMEOUT sets the limit)",
                    self.timeout.as_secs_f64()
                );
                return Err(self.break_with(op, st, why));
            }
            polls = polls.saturating_add(1);
            if polls < 2_000 {
                std::hint::spin_loop();
            } else if polls < 20_000 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }

    /// Sums `buf` across the ranks through the device buffer `slot`.
    fn all_reduce<T>(
        &self,
        buf: &mut [T],
        slot: impl Fn(&mut State) -> &mut Option<CudaSlice<T>>,
        dtype: nccl_sys::ncclDataType_t,
    ) -> Result<()>
    where
        T: cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits,
    {
        const OP: &str = "all_reduce_sum";
        let mut st = self.lock(OP)?;
        if buf.is_empty() {
            return Ok(());
        }
        let st = &mut *st;
        let n = buf.len();
        let staged = guarded(|| {
            st.stream
                .context()
                .bind_to_thread()
                .map_err(|e| format!("CUDA: cannot bind GPU {}: {e}", self.ordinal))?;
            let stream = st.stream.clone();
            let comm = st.comm.comm;
            let dev = slot(st);
            if dev.as_ref().is_none_or(|d| d.len() < n) {
                // Drop the old buffer first: the new one may need its memory.
                *dev = None;
                *dev = Some(stream.alloc_zeros::<T>(n).map_err(|e| {
                    format!(
                        "CUDA: cannot allocate {} bytes on GPU {}: {e}",
                        std::mem::size_of_val(&*buf),
                        self.ordinal
                    )
                })?);
            }
            let Some(dev) = dev.as_mut() else {
                return Err("the device buffer vanished".into());
            };
            let mut view = dev.slice_mut(0..n);
            stream
                .memcpy_htod(&*buf, &mut view)
                .map_err(|e| format!("CUDA: copy to GPU {}: {e}", self.ordinal))?;
            let (ptr, _record) = view.device_ptr_mut(&stream);
            // SAFETY: `ptr` holds `n` elements of `dtype` on this rank's GPU, in place (send
            // and receive buffers equal, which NCCL allows); the communicator is live and
            // the stream belongs to its GPU.
            unsafe {
                nccl::all_reduce(
                    ptr as *const std::ffi::c_void,
                    ptr as *mut std::ffi::c_void,
                    n,
                    dtype,
                    nccl_sys::ncclRedOp_t::ncclSum,
                    comm,
                    stream.cu_stream() as nccl_sys::cudaStream_t,
                )
            }
            .map_err(|e| format!("ncclAllReduce failed: {}", nccl_error_text(&e)))?;
            Ok(())
        });
        if let Err(m) = staged {
            return Err(self.break_with(OP, st, m));
        }
        self.wait(OP, st)?;
        let copied = guarded(|| {
            let stream = st.stream.clone();
            let Some(dev) = slot(st).as_ref() else {
                return Err("the device buffer vanished".into());
            };
            stream
                .memcpy_dtoh(&dev.slice(0..n), buf)
                .map_err(|e| format!("CUDA: copy from GPU {}: {e}", self.ordinal))?;
            stream
                .synchronize()
                .map_err(|e| format!("CUDA: synchronise GPU {}: {e}", self.ordinal))
        });
        copied.map_err(|m| self.break_with(OP, st, m))
    }
}

impl Collective for Nccl {
    fn name(&self) -> &'static str {
        "nccl"
    }
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn all_reduce_sum_f32(&self, buf: &mut [f32]) -> Result<()> {
        self.all_reduce(
            buf,
            |st| &mut st.f32_buf,
            nccl_sys::ncclDataType_t::ncclFloat32,
        )
    }
    fn all_reduce_sum_f64(&self, buf: &mut [f64]) -> Result<()> {
        self.all_reduce(
            buf,
            |st| &mut st.f64_buf,
            nccl_sys::ncclDataType_t::ncclFloat64,
        )
    }
    /// Over MPI: these are the small messages (seeds, weights once at the start, callback
    /// state), not worth a trip through the GPU.
    fn broadcast_bytes(&self, buf: &mut [u8], root: usize) -> Result<()> {
        check_root("broadcast", root, self.rank, self.size)?;
        let _serialised = self.lock("broadcast")?;
        self.mpi.broadcast_bytes(buf, root)
    }
    /// Over MPI.
    fn barrier(&self) -> Result<()> {
        let _serialised = self.lock("barrier")?;
        self.mpi.barrier()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_take_gpus_round_robin() {
        assert_eq!(default_ordinal(0, 4), 0);
        assert_eq!(default_ordinal(5, 4), 1);
        assert_eq!(default_ordinal(3, 1), 0);
        assert_eq!(default_ordinal(2, 0), 0);
    }

    #[test]
    fn missing_libraries_are_named() {
        let none = probe_with(|_| false).unwrap_err();
        assert!(none.contains(LIBCUDA[0]), "{none}");
        let no_nccl = probe_with(|n| LIBCUDA.contains(&n)).unwrap_err();
        assert!(
            no_nccl.contains(LIBNCCL[0]) && no_nccl.contains("install NCCL"),
            "{no_nccl}"
        );
        #[cfg(not(windows))]
        {
            let only_so2 = probe_with(|n| n != LIBNCCL[0]).unwrap_err();
            assert!(only_so2.contains("link it as libnccl.so"), "{only_so2}");
        }
        assert!(probe_with(|_| true).is_ok());
    }

    #[test]
    fn libraries_mapped_in_the_process_are_found() {
        // The C library is mapped into every (dynamically linked) test process.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        assert!(mapped_in_process("libc.so"));
        assert!(!mapped_in_process("libstratanet-no-such-library.so"));
    }

    #[test]
    fn panics_of_the_bindings_become_messages() {
        let e = guarded::<()>(|| panic!("Unable to dynamically load the \"nccl\" library"))
            .unwrap_err();
        assert!(e.contains("panicked") && e.contains("\"nccl\""), "{e}");
        assert!(e.contains("link it as libnccl.so"), "{e}");
        assert_eq!(guarded(|| Ok::<_, String>(3)), Ok(3));
    }
}
