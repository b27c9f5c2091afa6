//! The batch sources of a pass: [`Feed`], with tensors on the device ([`TensorFeed`]) or
//! a [`Dataset`] ([`DatasetFeed`]) behind it.

use super::class_weight::class_sample_weights;
use super::compile::Compiled;
use super::inputs::check_all_targets;
use super::Network;
use crate::backend::{Backend, Device};
use crate::dataset::{Dataset, Upload};
use crate::error::{Error, Result};
use crate::random::Rng;
use crate::tensor::Tensor;

/// Rows `start..start + len` of `t`, or of `t` reordered by `perm`, a permutation of
/// `0..n` (`n` = `t`'s rows) built by [`TensorFeed`]: its entries are in range by
/// construction, so the engine's range check (a device read per batch on CUDA) is skipped.
pub(super) fn batch<B: Backend>(
    t: &Tensor<B>,
    perm: Option<&Tensor<B>>,
    start: usize,
    len: usize,
) -> Result<Tensor<B>> {
    match perm {
        Some(perm) => {
            let idx = perm.narrow(0, start, len)?;
            Ok(Tensor::new(B::index_select_in_range(
                t.inner(),
                idx.inner(),
                0,
            )?))
        }
        None => t.narrow(0, start, len),
    }
}

pub(super) fn batch_all<B: Backend>(
    ts: &[Tensor<B>],
    idx: Option<&Tensor<B>>,
    start: usize,
    len: usize,
) -> Result<Vec<Tensor<B>>> {
    ts.iter().map(|t| batch(t, idx, start, len)).collect()
}

pub(super) fn narrow_all<B: Backend>(
    ts: &[Tensor<B>],
    start: usize,
    len: usize,
) -> Result<Vec<Tensor<B>>> {
    ts.iter().map(|t| t.narrow(0, start, len)).collect()
}

/// A batch ready for the model: inputs, targets, per-sample weights, sample count.
pub(super) struct FeedBatch<B: Backend> {
    pub(super) xs: Vec<Tensor<B>>,
    pub(super) ys: Vec<Tensor<B>>,
    pub(super) sw: Option<Tensor<B>>,
    pub(super) len: usize,
    /// The targets were validated by the losses' `check_targets` before the loop (all of
    /// them, not only this batch's), so the losses may skip their per-batch device reads.
    pub(super) targets_checked: bool,
}

/// Where the batches of a training, evaluation or prediction pass come from: tensors on
/// the device, or a [`Dataset`].
pub(super) trait Feed<B: Backend> {
    /// Batches per epoch, when known.
    fn steps(&self) -> Option<usize>;
    /// Starts epoch `epoch`.
    fn begin_epoch(&mut self, epoch: usize) -> Result<()>;
    /// The next batch of the epoch; `None` ends it.
    fn next_batch(&mut self) -> Result<Option<FeedBatch<B>>>;
    /// Targets to size the metrics with (all of them, or the epoch's first batch).
    fn first_targets(&mut self) -> Result<Vec<Tensor<B>>>;
}

/// Batches of tensors on the device: `index_select` by a seeded permutation, or `narrow`.
///
/// Its targets have passed [`check_all_targets`] (every caller checks them first: `fit`,
/// its validation tensors and `evaluate`; `predict` has none), so its batches say
/// `targets_checked` and the hot loop reads nothing back from the device.
pub(super) struct TensorFeed<B: Backend> {
    xs: Vec<Tensor<B>>,
    ys: Vec<Tensor<B>>,
    sw: Option<Tensor<B>>,
    n: usize,
    batch_size: usize,
    /// The shuffling generator (`None`: in order).
    rng: Option<Rng>,
    steps_per_epoch: Option<usize>,
    device: Device,
    /// The current pass' permutation, on the host and (once used) on the device.
    perm_host: Vec<usize>,
    perm: Option<Tensor<B>>,
    /// Next sample of the current pass (`>= n`: no pass running).
    pos: usize,
    /// Batches served in the current epoch.
    step: usize,
}

impl<B: Backend> TensorFeed<B> {
    /// Batches of `batch_size` samples of `xs` and `ys`, in order, one pass per epoch,
    /// without sample weights (see the `with_*` setters).
    pub(super) fn new(
        xs: Vec<Tensor<B>>,
        ys: Vec<Tensor<B>>,
        batch_size: usize,
        device: Device,
    ) -> Self {
        let n = xs.first().map(|x| x.shape()[0]).unwrap_or(0);
        Self {
            xs,
            ys,
            sw: None,
            n,
            batch_size,
            rng: None,
            steps_per_epoch: None,
            device,
            perm_host: Vec::new(),
            perm: None,
            pos: usize::MAX,
            step: 0,
        }
    }

    /// Per-sample weights, batched with the samples.
    pub(super) fn with_sample_weight(mut self, sw: Option<Tensor<B>>) -> Self {
        self.sw = sw;
        self
    }

    /// Shuffles each pass with `rng` (`None`: in order).
    pub(super) fn with_shuffle(mut self, rng: Option<Rng>) -> Self {
        self.rng = rng;
        self
    }

    /// Batches per epoch (`None`: one pass), continuing the pass across epochs.
    pub(super) fn with_steps(mut self, steps_per_epoch: Option<usize>) -> Self {
        self.steps_per_epoch = steps_per_epoch;
        self
    }

    fn new_pass(&mut self) {
        if let Some(rng) = &mut self.rng {
            self.perm_host = rng.permutation(self.n);
            self.perm = None;
        }
        self.pos = 0;
    }

    fn begin(&mut self) {
        self.step = 0;
        if self.steps_per_epoch.is_none() || self.pos >= self.n {
            self.new_pass();
        }
    }

    /// The next batch's `(start, len)` in the current pass.
    fn advance(&mut self) -> Option<(usize, usize)> {
        if self.n == 0 || self.step >= self.steps().unwrap_or(0) {
            return None;
        }
        if self.pos >= self.n {
            self.new_pass();
        }
        let start = self.pos;
        let len = self.batch_size.min(self.n - start);
        self.pos += len;
        self.step += 1;
        Some((start, len))
    }

    /// Replays `epochs` epochs without computing anything (resuming at `initial_epoch`), so
    /// the shuffles continue as in an uninterrupted run.
    pub(super) fn skip_epochs(&mut self, epochs: usize) {
        for _ in 0..epochs {
            self.begin();
            while self.advance().is_some() {}
        }
    }
}

impl<B: Backend> Feed<B> for TensorFeed<B> {
    fn steps(&self) -> Option<usize> {
        Some(
            self.steps_per_epoch
                .unwrap_or_else(|| self.n.div_ceil(self.batch_size)),
        )
    }

    fn begin_epoch(&mut self, _epoch: usize) -> Result<()> {
        self.begin();
        Ok(())
    }

    fn next_batch(&mut self) -> Result<Option<FeedBatch<B>>> {
        let Some((start, len)) = self.advance() else {
            return Ok(None);
        };
        if self.rng.is_some() && self.perm.is_none() {
            let p: Vec<i64> = self.perm_host.iter().map(|&i| i as i64).collect();
            self.perm = Some(Tensor::<B>::from_vec_on(p, &[self.n], self.device)?);
        }
        let perm = self.perm.as_ref();
        Ok(Some(FeedBatch {
            xs: batch_all(&self.xs, perm, start, len)?,
            ys: batch_all(&self.ys, perm, start, len)?,
            sw: match &self.sw {
                Some(w) => Some(batch(w, perm, start, len)?),
                None => None,
            },
            len,
            targets_checked: true,
        }))
    }

    fn first_targets(&mut self) -> Result<Vec<Tensor<B>>> {
        Ok(self.ys.clone())
    }
}

/// Batches of a [`Dataset`], uploaded to the model's device on this thread.
pub(super) struct DatasetFeed<'a, B: Backend> {
    ds: &'a mut Dataset,
    op: &'static str,
    batch_size: usize,
    steps_per_epoch: Option<usize>,
    upload: Upload,
    class_weight: Option<Vec<f64>>,
    inputs: usize,
    /// Expected number of target tensors (`None`: targets are ignored, for `predict`).
    outputs: Option<usize>,
    /// A batch read ahead (to build the model or size the metrics).
    pending: Option<FeedBatch<B>>,
    step: usize,
}

impl<'a, B: Backend> DatasetFeed<'a, B> {
    /// Batches of `ds` for `net`, one pass per epoch: with their targets (uploaded to the
    /// dtypes of `compiled`'s losses) when `compiled` is given, without (for `predict`)
    /// when not. `op` names the caller in errors.
    pub(super) fn new<N: Network<B> + ?Sized>(
        ds: &'a mut Dataset,
        op: &'static str,
        batch_size: usize,
        net: &N,
        compiled: Option<&Compiled<B>>,
    ) -> Self {
        Self {
            ds,
            op,
            batch_size,
            steps_per_epoch: None,
            upload: upload_for(net, compiled),
            class_weight: None,
            inputs: net.input_names().len(),
            outputs: compiled.map(|_| net.output_names().len()),
            pending: None,
            step: 0,
        }
    }

    /// Batches per epoch (`None`: one pass), continuing the dataset across epochs.
    pub(super) fn with_steps(mut self, steps_per_epoch: Option<usize>) -> Self {
        self.steps_per_epoch = steps_per_epoch;
        self
    }

    /// Weights each batch's samples by `class_weight[class]`.
    pub(super) fn with_class_weight(mut self, class_weight: Option<Vec<f64>>) -> Self {
        self.class_weight = class_weight;
        self
    }

    /// The next batch of the dataset (restarting it when `steps_per_epoch` asks for more).
    fn pull(&mut self) -> Result<Option<FeedBatch<B>>> {
        let mut b = self.ds.next_batch_or(self.batch_size)?;
        if b.is_none() && self.steps_per_epoch.is_some() {
            b = self.ds.next_batch_or(self.batch_size)?;
            if b.is_none() {
                return Err(Error::invalid(
                    self.op,
                    "dataset",
                    "yields no batches (steps_per_epoch needs at least one)",
                ));
            }
        }
        let Some(b) = b else { return Ok(None) };
        if b.x.len() != self.inputs {
            return Err(Error::invalid(
                self.op,
                "dataset",
                format!(
                    "batches have {} input tensors, the model has {} inputs",
                    b.x.len(),
                    self.inputs
                ),
            ));
        }
        if let Some(outs) = self.outputs {
            if b.y.len() != outs {
                return Err(Error::invalid(
                    self.op,
                    "dataset",
                    format!(
                        "batches have {} target tensors, the model has {outs} outputs",
                        b.y.len()
                    ),
                ));
            }
        }
        let (xs, ys) = self.upload.batch::<B>(&b)?;
        let sw = match &self.class_weight {
            Some(cw) => {
                let w = class_sample_weights(&ys[0], cw)?;
                Some(w.to_dtype(self.upload.dtype)?)
            }
            None => None,
        };
        Ok(Some(FeedBatch {
            xs,
            ys,
            sw,
            len: b.len(),
            // Only the first batch's targets were checked up front.
            targets_checked: false,
        }))
    }

    /// Reads the epoch's first batch ahead and returns it.
    ///
    /// # Errors
    /// An empty dataset, or a reading error.
    pub(super) fn peek(&mut self) -> Result<&FeedBatch<B>> {
        if self.pending.is_none() {
            self.pending = self.pull()?;
        }
        self.pending
            .as_ref()
            .ok_or_else(|| Error::invalid(self.op, "dataset", "yields no batches"))
    }
}

impl<B: Backend> Feed<B> for DatasetFeed<'_, B> {
    fn steps(&self) -> Option<usize> {
        self.steps_per_epoch
            .or_else(|| self.ds.batches_per_pass(self.batch_size))
    }

    fn begin_epoch(&mut self, epoch: usize) -> Result<()> {
        self.step = 0;
        if self.pending.is_none() && self.steps_per_epoch.is_none() {
            self.ds.set_epoch(epoch as u64);
        }
        Ok(())
    }

    fn next_batch(&mut self) -> Result<Option<FeedBatch<B>>> {
        if self.steps_per_epoch.is_some_and(|s| self.step >= s) {
            return Ok(None);
        }
        let b = match self.pending.take() {
            Some(b) => Some(b),
            None => self.pull()?,
        };
        if b.is_some() {
            self.step += 1;
        }
        Ok(b)
    }

    fn first_targets(&mut self) -> Result<Vec<Tensor<B>>> {
        Ok(self.peek()?.ys.clone())
    }
}

/// How a dataset batch is uploaded for `net`: device, input dtype, target dtypes.
pub(super) fn upload_for<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    compiled: Option<&Compiled<B>>,
) -> Upload {
    let dtype = net.dtype();
    Upload {
        device: net.device(),
        dtype,
        target_dtypes: compiled
            .map(|c| {
                c.losses
                    .iter()
                    .map(|l| l.as_ref().map(|l| l.target_dtype(dtype)).unwrap_or(dtype))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Per-sample output shapes and a batch of targets.
pub(super) type OutputsAndTargets<B> = (Vec<Vec<usize>>, Vec<Tensor<B>>);

/// Builds the model on a dataset's first batch and checks its targets; returns the
/// output shapes and the first batch's targets (to size the metrics).
pub(super) fn prepare_from_dataset<B: Backend, N: Network<B> + ?Sized>(
    net: &mut N,
    compiled: &Compiled<B>,
    feed: &mut DatasetFeed<'_, B>,
) -> Result<OutputsAndTargets<B>> {
    let first_xs = feed.peek()?.xs.clone();
    net.prepare_inputs(&first_xs)?;
    targets_of_dataset(&*net, compiled, feed)
}

/// [`prepare_from_dataset`] for a pass that does not build the model (`evaluate_dataset`):
/// checks the first batch against the built model.
pub(super) fn check_from_dataset<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    compiled: &Compiled<B>,
    feed: &mut DatasetFeed<'_, B>,
) -> Result<OutputsAndTargets<B>> {
    let first_xs = feed.peek()?.xs.clone();
    net.check_inputs(&first_xs)?;
    targets_of_dataset(net, compiled, feed)
}

/// The output shapes and the first batch's targets, checked against the compiled losses.
fn targets_of_dataset<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    compiled: &Compiled<B>,
    feed: &mut DatasetFeed<'_, B>,
) -> Result<OutputsAndTargets<B>> {
    let out_shapes = net.output_shapes()?;
    let ys = feed.first_targets()?;
    check_all_targets(compiled, &ys, &out_shapes)?;
    Ok((out_shapes, ys))
}
