//! Data-parallel training across processes, Keras' `keras.distribution.DataParallel` in
//! Rust: every process (a *rank*) holds a replica of the model and trains on its share of
//! each global batch; gradients are averaged across ranks before every optimizer step.
//!
//! ```no_run
//! use stratanet::distribute::DataParallel;
//! use stratanet::prelude::*;
//! use stratanet::{datasets, DefaultBackend as B};
//! # fn main() -> stratanet::Result<()> {
//! // `mpirun -np 2 ./train`: one process per rank; a plain `./train` is one rank.
//! let strategy = DataParallel::from_env()?;
//! let (x, y) = datasets::digits::<B>(Device::Cpu)?;
//! let mut model = Sequential::<B>::new();
//! model.add(Input::new(&[64]))?;
//! model.add(Dense::new(64).activation("relu"))?;
//! model.add(Dense::new(10).activation("softmax"))?;
//! model.compile(Adam::new(1e-3), "sparse_categorical_crossentropy", &["accuracy"])?;
//! // batch_size is the global batch: 32 samples per rank on two ranks.
//! let opts = FitOptions::new().epochs(5).batch_size(64).distribute(&strategy);
//! let history = model.fit(&x, &y, opts)?;
//! if strategy.is_root() {
//!     model.save("digits.safetensors")?; // every rank holds the same weights
//! }
//! # Ok(())
//! # }
//! ```
//!
//! What `fit` does with a strategy of more than one rank (see docs/ARCHITECTURE.md):
//!
//! - `batch_size` is the **global** batch, as in Keras' distribution API: every rank draws
//!   the same shuffled global batches (the shuffle seed is broadcast from rank 0) and trains
//!   on its contiguous slice of each (rank `r` of `n` takes samples `r·len/n ..
//!   (r+1)·len/n`), so a run gives the same weights on any number of ranks, up to float
//!   rounding.
//! - At the start the weights (and the optimizer's state and step count, when resuming) are
//!   broadcast from rank 0.
//! - After each backward pass the gradients of all parameters go into one fused `f32`
//!   buffer, weighted by the rank's share of the batch, and are summed across ranks with one
//!   all-reduce per step (DDP's bucketing with a single bucket), so every rank applies the
//!   same averaged update.
//! - Validation in `fit` is sharded the same way: each rank evaluates its slice of every
//!   validation batch. So are `evaluate_with` and `predict_with`/`predict_all` given
//!   `EvaluateOptions::distribute` / `PredictOptions::distribute`: each rank computes its
//!   slice of every global batch; `evaluate` returns the global loss and metrics on every
//!   rank, `predict` gathers every rank's slices so every rank returns all the outputs in
//!   input order (callbacks run on rank 0 only). The ranks' weights must already be equal,
//!   as they are after a distributed `fit`.
//! - The epoch's loss and metrics (training and validation) are averaged across ranks, weighted by their sample
//!   counts, so every rank's `History` holds the global figures (exact for the loss and
//!   mean metrics such as accuracy or MAE; for metrics that are not means over samples,
//!   such as AUC or precision, it is the sample-weighted mean of the ranks' values).
//! - Only rank 0 runs the callbacks: the progress bar, checkpoints, CSV logs, plots,
//!   early stopping. What callbacks change (`stop_training`, the learning rate) is
//!   broadcast from rank 0 after every callback hook, and the weights once more at the end
//!   (a callback may restore the best ones).
//!
//! The transport sits behind the small [`Collective`] trait: [`SingleProcess`] (one rank,
//! no communication); with the feature `mpi`, [`Mpi`] (rsmpi over the system's MPI
//! library, Open MPI from the distribution's packages: `cargo xtask mpi`); with the feature
//! `nccl`, [`Nccl`]: one CUDA GPU per rank, the sums over NVIDIA's NCCL (through cudarc,
//! libcuda and libnccl loaded at run time), MPI for the launch, the NCCL id and the small
//! broadcasts. [`DataParallel::from_env`] picks NCCL when `STRATANET_COLLECTIVE=nccl`
//! (`mpirun -np 4 -x STRATANET_COLLECTIVE=nccl ./train`), MPI otherwise under a launcher.
//! The collectives take host buffers: in this version the fused gradient buffer is built on
//! the host, so NCCL's all-reduce copies it to the GPU and back (see [`Nccl`]).

#[cfg(feature = "mpi")]
mod mpi;
#[cfg(feature = "nccl")]
mod nccl;

#[cfg(feature = "mpi")]
pub use self::mpi::Mpi;
#[cfg(feature = "nccl")]
pub use self::nccl::Nccl;

use crate::error::{Error, Result};
use std::sync::Arc;

/// The collective operations data-parallel training needs, on host buffers.
///
/// Every rank must call the same operations in the same order with buffers of the same
/// length (as in MPI). An implementation that cannot complete an operation (a peer died or
/// hangs past a timeout) returns [`Error::Distributed`] instead of blocking for ever.
pub trait Collective: Send + Sync + std::fmt::Debug {
    /// The transport's name (`single`, `mpi`).
    fn name(&self) -> &'static str;
    /// This process' rank, `0..size()`.
    fn rank(&self) -> usize;
    /// Number of ranks.
    fn size(&self) -> usize;
    /// Replaces `buf` on every rank by the element-wise sum of all ranks' `buf`.
    ///
    /// # Errors
    /// [`Error::Distributed`] when the operation fails or times out.
    fn all_reduce_sum_f32(&self, buf: &mut [f32]) -> Result<()>;
    /// [`all_reduce_sum_f32`](Self::all_reduce_sum_f32) on `f64` values.
    ///
    /// # Errors
    /// [`Error::Distributed`] when the operation fails or times out.
    fn all_reduce_sum_f64(&self, buf: &mut [f64]) -> Result<()>;
    /// Replaces `buf` on every rank by `root`'s `buf`.
    ///
    /// # Errors
    /// [`Error::Distributed`] when the operation fails or times out, or for a `root` that
    /// is not a rank.
    fn broadcast_bytes(&self, buf: &mut [u8], root: usize) -> Result<()>;
    /// Waits until every rank has called it.
    ///
    /// # Errors
    /// [`Error::Distributed`] when the operation fails or times out.
    fn barrier(&self) -> Result<()>;
}

/// One process alone: rank 0 of 1, every collective a no-op. What
/// [`DataParallel::from_env`] picks when the program was not started by `mpirun`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleProcess;

impl Collective for SingleProcess {
    fn name(&self) -> &'static str {
        "single"
    }
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_reduce_sum_f32(&self, _buf: &mut [f32]) -> Result<()> {
        Ok(())
    }
    fn all_reduce_sum_f64(&self, _buf: &mut [f64]) -> Result<()> {
        Ok(())
    }
    fn broadcast_bytes(&self, _buf: &mut [u8], root: usize) -> Result<()> {
        check_root("broadcast", root, 0, 1)
    }
    fn barrier(&self) -> Result<()> {
        Ok(())
    }
}

/// `root` must be a rank.
pub(crate) fn check_root(op: &str, root: usize, rank: usize, size: usize) -> Result<()> {
    if root >= size {
        return Err(Error::distributed(
            op,
            rank,
            size,
            format!("root {root} is not a rank (0..{size})"),
        ));
    }
    Ok(())
}

/// The environment variables through which launchers tell a process its rank count:
/// Open MPI's `mpirun`, PMIx, MPICH/Hydra's PMI, Slurm's `srun`.
const SIZE_VARS: [&str; 4] = [
    "OMPI_COMM_WORLD_SIZE",
    "PMIX_SIZE",
    "PMI_SIZE",
    "SLURM_NTASKS",
];

/// The number of ranks a launcher announced in the environment, if any.
fn launcher_size() -> Option<(&'static str, usize)> {
    env_number(&SIZE_VARS)
}

/// The first of `vars` that holds a number, and that number.
pub(crate) fn env_number(vars: &[&'static str]) -> Option<(&'static str, usize)> {
    vars.iter().find_map(|v| {
        std::env::var(v)
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .map(|n| (*v, n))
    })
}

/// The environment variable that picks the transport in [`DataParallel::from_env`].
const COLLECTIVE_VAR: &str = "STRATANET_COLLECTIVE";

/// The error for a transport asked for by name whose feature this build lacks.
#[allow(dead_code)] // unused when both `mpi` and `nccl` are on
fn missing_feature(feature: &str, size: usize) -> Error {
    Error::distributed(
        "init",
        0,
        size,
        format!(
            "{feature}: stratanet was built without the `{feature}` feature (build with \
             `--features stratanet/{feature}`)"
        ),
    )
}

/// The data-parallel strategy: a handle to the ranks' [`Collective`], given to
/// `FitOptions::distribute`. Cheap to clone (clones share the transport).
#[derive(Debug, Clone)]
pub struct DataParallel {
    collective: Arc<dyn Collective>,
}

impl DataParallel {
    /// The strategy for how this process was launched: under `mpirun` (or another launcher
    /// that sets `OMPI_COMM_WORLD_SIZE`, `PMIX_SIZE`, `PMI_SIZE` or `SLURM_NTASKS`) with the
    /// feature `mpi`, MPI's world communicator ([`Mpi::world`]); otherwise one process
    /// ([`SingleProcess`]), so the same program runs with and without `mpirun`.
    ///
    /// The environment variable `STRATANET_COLLECTIVE` overrides the choice: `nccl` for
    /// NCCL on one GPU per rank ([`DataParallel::nccl`], feature `nccl`), `mpi` for MPI even
    /// without a launcher (a one-rank MPI job), `single` for one process; unset, empty or
    /// `auto` is the choice above.
    ///
    /// ```
    /// // A plain process: one rank.
    /// let s = stratanet::distribute::DataParallel::from_env()?;
    /// # if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_none() {
    /// assert_eq!((s.rank(), s.size()), (0, 1));
    /// # }
    /// # Ok::<(), stratanet::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Distributed`] when a launcher announced several ranks but this build has no
    /// `mpi` feature, when MPI (or NCCL, when asked for) fails to initialise, or for a
    /// `STRATANET_COLLECTIVE` that is not one of the values above or names a transport this
    /// build lacks.
    pub fn from_env() -> Result<Self> {
        let launched = launcher_size();
        let size = launched.map_or(1, |(_, n)| n);
        let asked = std::env::var(COLLECTIVE_VAR).unwrap_or_default();
        match asked.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => {}
            "single" => return Ok(Self::single()),
            "nccl" => return Self::nccl(),
            "mpi" => {
                #[cfg(feature = "mpi")]
                return Ok(Self::from_arc(Mpi::world()?));
                #[cfg(not(feature = "mpi"))]
                return Err(missing_feature("mpi", size));
            }
            other => {
                return Err(Error::distributed(
                    "init",
                    0,
                    size,
                    format!("{COLLECTIVE_VAR}={other:?}: expected nccl, mpi, single or auto"),
                ))
            }
        }
        #[cfg(feature = "mpi")]
        if launched.is_some() {
            return Ok(Self::from_arc(Mpi::world()?));
        }
        match launched {
            Some((var, n)) if n > 1 => Err(Error::distributed(
                "init",
                0,
                n,
                format!(
                    "{var}={n}: launched as {n} ranks, but stratanet was built without the \
                     `mpi` feature (build with `--features stratanet/mpi`)"
                ),
            )),
            _ => Ok(Self::single()),
        }
    }

    /// NCCL across the ranks of the MPI job, one CUDA GPU each ([`Nccl::world`]; feature
    /// `nccl`). What [`from_env`](Self::from_env) gives with `STRATANET_COLLECTIVE=nccl`.
    ///
    /// ```no_run
    /// // mpirun -np 2 ./train   (one process per GPU)
    /// let strategy = stratanet::distribute::DataParallel::nccl()?;
    /// # Ok::<(), stratanet::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Distributed`] naming `nccl` when this build has no `nccl` feature, when
    /// libcuda or libnccl cannot be opened, there is no CUDA device, or MPI or NCCL fail to
    /// initialise.
    pub fn nccl() -> Result<Self> {
        #[cfg(feature = "nccl")]
        return Ok(Self::from_arc(Nccl::world()?));
        #[cfg(not(feature = "nccl"))]
        return Err(missing_feature(
            "nccl",
            launcher_size().map_or(1, |(_, n)| n),
        ));
    }

    /// One process ([`SingleProcess`]).
    pub fn single() -> Self {
        Self::new(SingleProcess)
    }

    /// A strategy over any [`Collective`].
    pub fn new(collective: impl Collective + 'static) -> Self {
        Self {
            collective: Arc::new(collective),
        }
    }

    /// A strategy over a shared [`Collective`].
    pub fn from_arc(collective: Arc<dyn Collective>) -> Self {
        Self { collective }
    }

    /// The transport.
    pub fn collective(&self) -> &dyn Collective {
        self.collective.as_ref()
    }

    /// This process' rank.
    pub fn rank(&self) -> usize {
        self.collective.rank()
    }

    /// Number of ranks.
    pub fn size(&self) -> usize {
        self.collective.size()
    }

    /// Whether this is rank 0, the one that prints, logs and saves.
    pub fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// The samples `start..start + len` of a global batch of `n` that this rank trains on:
    /// contiguous slices, as even as possible (the first `n % size` ranks take one more).
    pub fn shard(&self, n: usize) -> (usize, usize) {
        shard_range(n, self.rank(), self.size())
    }

    /// Broadcasts a `u64` from rank 0 (seeds, step counts).
    ///
    /// # Errors
    /// As [`Collective::broadcast_bytes`].
    pub fn broadcast_u64(&self, v: u64) -> Result<u64> {
        let mut b = v.to_le_bytes();
        self.collective.broadcast_bytes(&mut b, 0)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Broadcasts a byte message of any length from rank 0 (its length first).
    ///
    /// # Errors
    /// As [`Collective::broadcast_bytes`].
    pub fn broadcast_vec(&self, v: Vec<u8>) -> Result<Vec<u8>> {
        self.broadcast_vec_from(v, 0)
    }

    /// Broadcasts a byte message of any length from `root` (its length first); the other
    /// ranks' `v` is ignored.
    ///
    /// # Errors
    /// As [`Collective::broadcast_bytes`] (a `root` that is not a rank included).
    pub fn broadcast_vec_from(&self, v: Vec<u8>, root: usize) -> Result<Vec<u8>> {
        let mut len = (v.len() as u64).to_le_bytes();
        self.collective.broadcast_bytes(&mut len, root)?;
        let n = usize::try_from(u64::from_le_bytes(len)).map_err(|_| {
            Error::distributed(
                "broadcast",
                self.rank(),
                self.size(),
                "message length overflows usize",
            )
        })?;
        let mut buf = if self.rank() == root { v } else { vec![0u8; n] };
        self.collective.broadcast_bytes(&mut buf, root)?;
        Ok(buf)
    }

    /// Every rank's byte message, in rank order, on every rank (one broadcast per rank:
    /// meant for results gathered once per call, such as `predict`'s outputs).
    ///
    /// ```
    /// let s = stratanet::distribute::DataParallel::single();
    /// assert_eq!(s.all_gather_vec(vec![1, 2])?, vec![vec![1, 2]]);
    /// # Ok::<(), stratanet::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Collective::broadcast_bytes`].
    pub fn all_gather_vec(&self, v: Vec<u8>) -> Result<Vec<Vec<u8>>> {
        let mut mine = Some(v);
        (0..self.size())
            .map(|root| {
                let payload = if root == self.rank() {
                    mine.take().unwrap_or_default()
                } else {
                    Vec::new()
                };
                self.broadcast_vec_from(payload, root)
            })
            .collect()
    }

    /// The sample-count-weighted mean of named values across ranks: every rank passes its
    /// values (same names, same order) and the number of samples they are means over.
    ///
    /// # Errors
    /// As [`Collective::all_reduce_sum_f64`].
    pub fn weighted_mean(&self, values: &[f64], count: f64) -> Result<Vec<f64>> {
        let mut buf: Vec<f64> = values.iter().map(|v| v * count).collect();
        buf.push(count);
        self.collective.all_reduce_sum_f64(&mut buf)?;
        let total = buf.pop().unwrap_or(0.0);
        if total <= 0.0 {
            return Ok(vec![0.0; values.len()]);
        }
        Ok(buf.into_iter().map(|v| v / total).collect())
    }
}

/// Rank `rank`'s slice `(start, len)` of `n` samples shared by `size` ranks.
pub(crate) fn shard_range(n: usize, rank: usize, size: usize) -> (usize, usize) {
    let size = size.max(1);
    let start = rank * n / size;
    let end = (rank + 1) * n / size;
    (start, end - start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_the_batch_once() {
        for n in [0, 1, 5, 64, 65] {
            for size in 1..5 {
                let mut next = 0;
                for r in 0..size {
                    let (s, l) = shard_range(n, r, size);
                    assert_eq!(s, next, "n {n} size {size} rank {r}");
                    next = s + l;
                }
                assert_eq!(next, n);
            }
        }
        assert_eq!(shard_range(64, 1, 2), (32, 32));
    }

    #[test]
    fn single_process_is_rank_zero_of_one() {
        let s = DataParallel::single();
        assert_eq!((s.rank(), s.size(), s.is_root()), (0, 1, true));
        assert_eq!(s.broadcast_u64(7).unwrap(), 7);
        assert_eq!(s.broadcast_vec(vec![1, 2]).unwrap(), vec![1, 2]);
        assert_eq!(s.weighted_mean(&[0.5, 2.0], 10.0).unwrap(), vec![0.5, 2.0]);
        let e = s
            .collective()
            .broadcast_bytes(&mut [0u8; 2], 1)
            .unwrap_err();
        assert!(e.to_string().contains("root 1 is not a rank"), "{e}");
    }
}
