//! [`Mpi`]: the [`Collective`] over MPI (rsmpi, the `mpi` crate, on the system's MPI
//! library), for CPU processes on one machine or many.
//!
//! rsmpi initialises and finalises MPI and gives the world communicator. The collectives
//! themselves are MPI's *non-blocking* ones (`MPI_Iallreduce`, `MPI_Ibcast`,
//! `MPI_Ibarrier`), polled with `MPI_Test` against a deadline, so that a rank whose peer
//! died or hangs gets an [`Error::Distributed`] after the timeout instead of blocking for
//! ever (MPI's blocking calls cannot be interrupted). rsmpi's safe non-blocking API ties a
//! request to a scope that panics when it ends with the request pending, which is exactly
//! the timed-out case; hence the few raw `mpi::ffi` calls here, on buffers this type owns.

use super::{check_root, Collective};
use crate::error::{Error, Result};
use mpi::ffi;
use std::mem::ManuallyDrop;
use std::os::raw::{c_int, c_void};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// How long a collective may wait for the other ranks before it fails (default 300 s, or
/// `STRATANET_COLLECTIVE_TIMEOUT` in seconds).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The process' MPI handle: MPI may be initialised once per process, so [`Mpi::world`]
/// hands out clones of one `Arc` while any is alive.
static WORLD: Mutex<WorldSlot> = Mutex::new(WorldSlot::Never);

enum WorldSlot {
    Never,
    Live(Weak<Mpi>),
    Finalized,
}

/// MPI's world communicator as a [`Collective`]. Made by [`Mpi::world`] (or, more usually,
/// [`DataParallel::from_env`](super::DataParallel::from_env) under `mpirun`); MPI is
/// finalised when the last handle is dropped.
///
/// Every collective copies the caller's buffer into buffers owned by this handle and runs
/// MPI's non-blocking operation on them, polling until it completes or the timeout passes.
/// After a timeout the handle is *broken*: the pending operation's buffers are leaked (MPI
/// may still write into them), every later call fails at once, and MPI is not finalised
/// (finalising would wait for the dead peer); the process should exit, non-zero.
pub struct Mpi {
    rank: usize,
    size: usize,
    timeout: Duration,
    state: Mutex<State>,
}

struct State {
    /// Finalises MPI when dropped, unless broken.
    universe: ManuallyDrop<mpi::environment::Universe>,
    /// Send and receive buffers, reused across calls (`u64` for 8-byte alignment).
    send: Vec<u64>,
    recv: Vec<u64>,
    /// Why the handle is unusable, after a failed or timed-out operation.
    broken: Option<String>,
}

// SAFETY: MPI is initialised with `MPI_THREAD_SERIALIZED` (checked in `world`), which
// allows calls from any thread as long as no two are concurrent; every MPI call here is
// made while holding `state`'s mutex, and the communicator is the process-wide
// `MPI_COMM_WORLD`.
unsafe impl Send for Mpi {}
// SAFETY: as for `Send`: all access to MPI and to the buffers goes through the mutex.
unsafe impl Sync for Mpi {}

impl std::fmt::Debug for Mpi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mpi")
            .field("rank", &self.rank)
            .field("size", &self.size)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Mpi {
    /// MPI's world communicator: initialises MPI on the first call (thread level
    /// `MPI_THREAD_SERIALIZED`), and returns the same handle while one is alive.
    ///
    /// # Errors
    /// [`Error::Distributed`] when MPI cannot be initialised (or was initialised by someone
    /// else, or was already finalised), or does not provide serialised threading.
    pub fn world() -> Result<Arc<Self>> {
        let fail = |m: String| Error::distributed("init", 0, 1, m);
        let mut slot = WORLD
            .lock()
            .map_err(|_| fail("the MPI handle's lock is poisoned".into()))?;
        match &*slot {
            WorldSlot::Live(w) => {
                if let Some(m) = w.upgrade() {
                    return Ok(m);
                }
                return Err(fail(
                    "MPI was finalised when the last handle was dropped; it cannot be \
                     initialised twice in one process (keep the DataParallel alive)"
                        .into(),
                ));
            }
            WorldSlot::Finalized => {
                return Err(fail(
                    "MPI was finalised when the last handle was dropped; it cannot be \
                     initialised twice in one process (keep the DataParallel alive)"
                        .into(),
                ))
            }
            WorldSlot::Never => {}
        }
        let (universe, level) = mpi::initialize_with_threading(mpi::Threading::Serialized)
            .ok_or_else(|| fail("MPI is already initialised by another library".into()))?;
        if !matches!(level, mpi::Threading::Serialized | mpi::Threading::Multiple) {
            return Err(fail(format!(
                "the MPI library offers thread level {level:?}; stratanet needs Serialized"
            )));
        }
        let (rank, size) = {
            use mpi::topology::Communicator;
            let world = universe.world();
            (world.rank(), world.size())
        };
        let timeout = match std::env::var("STRATANET_COLLECTIVE_TIMEOUT") {
            Ok(s) => Duration::from_secs_f64(
                s.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|t| *t > 0.0)
                    .ok_or_else(|| {
                        fail(format!(
                        "STRATANET_COLLECTIVE_TIMEOUT={s:?}: expected a positive number of seconds"
                    ))
                    })?,
            ),
            Err(_) => DEFAULT_TIMEOUT,
        };
        let m = Arc::new(Self {
            rank: usize::try_from(rank).map_err(|_| fail(format!("negative rank {rank}")))?,
            size: usize::try_from(size).map_err(|_| fail(format!("negative size {size}")))?,
            timeout,
            state: Mutex::new(State {
                universe: ManuallyDrop::new(universe),
                send: Vec::new(),
                recv: Vec::new(),
                broken: None,
            }),
        });
        *slot = WorldSlot::Live(Arc::downgrade(&m));
        Ok(m)
    }

    /// How long a collective waits for the other ranks.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sets how long a collective waits for the other ranks before it fails (on this
    /// handle and its clones).
    pub fn set_timeout(self: &mut Arc<Self>, timeout: Duration) -> Result<()> {
        let rank = self.rank;
        let size = self.size;
        Arc::get_mut(self)
            .ok_or_else(|| {
                Error::distributed(
                    "set_timeout",
                    rank,
                    size,
                    "the MPI handle is shared; set the timeout before cloning it",
                )
            })?
            .timeout = timeout;
        Ok(())
    }

    fn err(&self, op: &str, message: impl Into<String>) -> Error {
        Error::distributed(op, self.rank, self.size, message)
    }

    /// The state, unless a previous operation broke the handle.
    fn lock(&self, op: &str) -> Result<MutexGuard<'_, State>> {
        let st = self
            .state
            .lock()
            .map_err(|_| self.err(op, "the MPI handle's lock is poisoned"))?;
        if let Some(why) = &st.broken {
            return Err(self.err(op, format!("unusable after an earlier failure: {why}")));
        }
        Ok(st)
    }

    /// Waits for `req` until the deadline. On timeout or error the handle is broken and the
    /// buffers are leaked, since MPI may still use them.
    fn wait(&self, op: &str, st: &mut State, mut req: ffi::MPI_Request) -> Result<()> {
        let start = Instant::now();
        let mut polls: u32 = 0;
        loop {
            let mut flag: c_int = 0;
            // SAFETY: `req` is a live request from a non-blocking call on `st`'s buffers,
            // which stay allocated until it completes (or are leaked below).
            let rc = unsafe { ffi::MPI_Test(&mut req, &mut flag, ffi::RSMPI_STATUS_IGNORE) };
            if rc != 0 {
                return Err(self.break_with(op, st, format!("MPI_Test returned error code {rc}")));
            }
            if flag != 0 {
                return Ok(());
            }
            if start.elapsed() > self.timeout {
                return Err(self.break_with(
                    op,
                    st,
                    format!(
                        "timed out after {:.1} s waiting for the other ranks (a rank died or \
                         hangs; STRATANET_COLLECTIVE_TIMEOUT sets the limit)",
                        self.timeout.as_secs_f64()
                    ),
                ));
            }
            // Open MPI progresses a non-blocking collective only inside MPI calls, one
            // round per call: poll tightly at first (the per-step all-reduce takes tens of
            // microseconds), then yield the core, then back off to sleeping.
            polls = polls.saturating_add(1);
            if polls < 2_000 {
                std::hint::spin_loop();
            } else if polls < 200_000 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }

    fn break_with(&self, op: &str, st: &mut State, why: String) -> Error {
        std::mem::forget(std::mem::take(&mut st.send));
        std::mem::forget(std::mem::take(&mut st.recv));
        st.broken = Some(format!("{op}: {why}"));
        self.err(op, why)
    }

    /// Checks an MPI return code.
    fn check(&self, op: &str, st: &mut State, call: &str, rc: c_int) -> Result<()> {
        if rc != 0 {
            return Err(self.break_with(op, st, format!("{call} returned error code {rc}")));
        }
        Ok(())
    }

    fn count(&self, op: &str, n: usize) -> Result<c_int> {
        c_int::try_from(n).map_err(|_| self.err(op, format!("{n} elements exceed MPI's int count")))
    }

    /// All-reduce (sum) of `bytes` bytes in `st.send` into `st.recv`, as `n` elements of
    /// `datatype`.
    fn all_reduce_raw(
        &self,
        op: &str,
        st: &mut State,
        n: usize,
        datatype: ffi::MPI_Datatype,
    ) -> Result<()> {
        let count = self.count(op, n)?;
        // SAFETY: a null request handle, filled in by MPI_Iallreduce.
        let mut req: ffi::MPI_Request = unsafe { ffi::RSMPI_REQUEST_NULL };
        // SAFETY: both buffers hold at least `n` elements of `datatype` (the callers size
        // them) and stay alive until `wait` returns or leaks them; the communicator, type
        // and operation are MPI's predefined handles.
        let rc = unsafe {
            ffi::MPI_Iallreduce(
                st.send.as_ptr() as *const c_void,
                st.recv.as_mut_ptr() as *mut c_void,
                count,
                datatype,
                ffi::RSMPI_SUM,
                ffi::RSMPI_COMM_WORLD,
                &mut req,
            )
        };
        self.check(op, st, "MPI_Iallreduce", rc)?;
        self.wait(op, st, req)
    }
}

/// Resizes `v` to hold at least `bytes` bytes.
fn reserve_bytes(v: &mut Vec<u64>, bytes: usize) {
    let words = bytes.div_ceil(8);
    if v.len() < words {
        v.resize(words, 0);
    }
}

/// `v`'s storage as bytes.
fn as_bytes_mut(v: &mut [u64]) -> &mut [u8] {
    // SAFETY: u64 has no padding and any byte pattern is a valid u8; the length is exact.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, v.len() * 8) }
}

impl Collective for Mpi {
    fn name(&self) -> &'static str {
        "mpi"
    }
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }

    fn all_reduce_sum_f32(&self, buf: &mut [f32]) -> Result<()> {
        const OP: &str = "all_reduce_sum";
        let mut st = self.lock(OP)?;
        let st = &mut *st;
        let bytes = std::mem::size_of_val(buf);
        reserve_bytes(&mut st.send, bytes);
        reserve_bytes(&mut st.recv, bytes);
        for (d, s) in as_bytes_mut(&mut st.send)
            .chunks_exact_mut(4)
            .zip(buf.iter())
        {
            d.copy_from_slice(&s.to_ne_bytes());
        }
        // SAFETY: reading a predefined MPI handle.
        let dt = unsafe { ffi::RSMPI_FLOAT };
        self.all_reduce_raw(OP, st, buf.len(), dt)?;
        for (d, s) in buf
            .iter_mut()
            .zip(as_bytes_mut(&mut st.recv).chunks_exact(4))
        {
            *d = f32::from_ne_bytes([s[0], s[1], s[2], s[3]]);
        }
        Ok(())
    }

    fn all_reduce_sum_f64(&self, buf: &mut [f64]) -> Result<()> {
        const OP: &str = "all_reduce_sum";
        let mut st = self.lock(OP)?;
        let st = &mut *st;
        let bytes = std::mem::size_of_val(buf);
        reserve_bytes(&mut st.send, bytes);
        reserve_bytes(&mut st.recv, bytes);
        for (d, s) in st.send.iter_mut().zip(buf.iter()) {
            *d = s.to_bits();
        }
        // SAFETY: reading a predefined MPI handle.
        let dt = unsafe { ffi::RSMPI_DOUBLE };
        self.all_reduce_raw(OP, st, buf.len(), dt)?;
        for (d, s) in buf.iter_mut().zip(st.recv.iter()) {
            *d = f64::from_bits(*s);
        }
        Ok(())
    }

    fn broadcast_bytes(&self, buf: &mut [u8], root: usize) -> Result<()> {
        const OP: &str = "broadcast";
        check_root(OP, root, self.rank, self.size)?;
        let mut st = self.lock(OP)?;
        let st = &mut *st;
        reserve_bytes(&mut st.send, buf.len());
        as_bytes_mut(&mut st.send)[..buf.len()].copy_from_slice(buf);
        let count = self.count(OP, buf.len())?;
        let root = root as c_int; // < size, which came from a c_int
                                  // SAFETY: a null request handle, filled in by MPI_Ibcast.
        let mut req: ffi::MPI_Request = unsafe { ffi::RSMPI_REQUEST_NULL };
        // SAFETY: `send` holds at least `count` bytes and stays alive until `wait` returns
        // or leaks it; predefined type and communicator.
        let rc = unsafe {
            ffi::MPI_Ibcast(
                st.send.as_mut_ptr() as *mut c_void,
                count,
                ffi::RSMPI_UINT8_T,
                root,
                ffi::RSMPI_COMM_WORLD,
                &mut req,
            )
        };
        self.check(OP, st, "MPI_Ibcast", rc)?;
        self.wait(OP, st, req)?;
        buf.copy_from_slice(&as_bytes_mut(&mut st.send)[..buf.len()]);
        Ok(())
    }

    fn barrier(&self) -> Result<()> {
        const OP: &str = "barrier";
        let mut st = self.lock(OP)?;
        let st = &mut *st;
        // SAFETY: a null request handle, filled in by MPI_Ibarrier.
        let mut req: ffi::MPI_Request = unsafe { ffi::RSMPI_REQUEST_NULL };
        // SAFETY: the predefined world communicator; no buffers.
        let rc = unsafe { ffi::MPI_Ibarrier(ffi::RSMPI_COMM_WORLD, &mut req) };
        self.check(OP, st, "MPI_Ibarrier", rc)?;
        self.wait(OP, st, req)
    }
}

impl Drop for Mpi {
    fn drop(&mut self) {
        let st = match self.state.get_mut() {
            Ok(st) => st,
            Err(p) => p.into_inner(),
        };
        if st.broken.is_none() {
            // SAFETY: dropped once, here; rsmpi's Universe finalises MPI.
            unsafe { ManuallyDrop::drop(&mut st.universe) };
        }
        if let Ok(mut slot) = WORLD.lock() {
            *slot = WorldSlot::Finalized;
        }
    }
}
