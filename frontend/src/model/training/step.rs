//! Loss assembly (output losses, sample weights, weight and activity penalties) and the
//! [`TrainStep`] that runs one optimisation step per batch.

use super::compile::Compiled;
use super::distributed::{average_gradients, check_batch_weights};
use super::feed::FeedBatch;
use super::tracker::Tracker;
use super::Network;
use crate::backend::Backend;
use crate::distribute::DataParallel;
use crate::error::{Error, Result};
use crate::layers::CallContext;
use crate::losses::{reduce_weighted_values, Reduction};
use crate::random::Rng;
use crate::tensor::Tensor;

/// The targets a batch's losses are computed against.
pub(super) struct LossTargets<'a, B: Backend> {
    /// One target tensor per output.
    pub(super) ys: &'a [Tensor<B>],
    /// Per-sample weights (`[batch]`), if any.
    pub(super) sample_weight: Option<&'a Tensor<B>>,
    /// `ys` passed [`check_all_targets`](super::inputs::check_all_targets) before the
    /// loop, so the losses skip their per-batch device reads
    /// ([`Loss::per_sample_checked`](crate::losses::Loss::per_sample_checked)).
    pub(super) checked: bool,
}

/// The losses of a batch: the total objective (weighted output losses, sample weights,
/// weight and activity penalties) and each output's weighted-by-sample loss.
pub(super) struct BatchLoss<B: Backend> {
    pub(super) total: Tensor<B>,
    pub(super) per_output: Vec<Option<Tensor<B>>>,
}

impl<B: Backend> BatchLoss<B> {
    /// The weighted sum of the output losses (no penalties yet), and each output's loss.
    ///
    /// # Errors
    /// Shape errors from the losses, a `sample_weight` that is not `[batch]`, or no output
    /// with a loss.
    pub(super) fn of_outputs(
        compiled: &Compiled<B>,
        targets: LossTargets<'_, B>,
        preds: &[Tensor<B>],
    ) -> Result<Self> {
        let LossTargets {
            ys,
            sample_weight,
            checked,
        } = targets;
        let mut total: Option<Tensor<B>> = None;
        let mut per_output = Vec::with_capacity(preds.len());
        for (i, pred) in preds.iter().enumerate() {
            let Some(loss_fn) = &compiled.losses[i] else {
                per_output.push(None);
                continue;
            };
            let per_sample = if checked {
                loss_fn.per_sample_checked(&ys[i], pred)?
            } else {
                loss_fn.per_sample(&ys[i], pred)?
            };
            if let Some(w) = sample_weight {
                let n = per_sample.shape().first().copied().unwrap_or(0);
                if w.shape() != [n] {
                    return Err(Error::shape(
                        loss_fn.name(),
                        "sample_weight",
                        format!("shape [{n}] (one weight per sample)"),
                        &w.shape(),
                    ));
                }
            }
            // The loss' own reduction (Keras' default `sum_over_batch_size`); a loss with
            // reduction `none` is averaged, since training needs a scalar.
            let l = match loss_fn.reduction() {
                Reduction::None => {
                    reduce_weighted_values(&per_sample, sample_weight, Reduction::SumOverBatchSize)?
                }
                r => reduce_weighted_values(&per_sample, sample_weight, r)?,
            };
            let weighted = if compiled.loss_weights[i] == 1.0 {
                l.clone()
            } else {
                l.mul_scalar(compiled.loss_weights[i])?
            };
            total = Some(match total {
                Some(t) => t.add(&weighted)?,
                None => weighted,
            });
            per_output.push(Some(l));
        }
        let total =
            total.ok_or_else(|| Error::invalid("compile", "loss", "no output has a loss"))?;
        Ok(Self { total, per_output })
    }

    /// Adds the layers' weight-regularisation penalties of `net`.
    pub(super) fn plus_weight_penalties<N: Network<B> + ?Sized>(mut self, net: &N) -> Result<Self> {
        if let Some(r) = net.regularization_loss()? {
            self.total = self.total.add(&r.to_dtype(self.total.dtype())?)?;
        }
        Ok(self)
    }

    /// Adds the activity penalties the forward pass left in `ctx`.
    pub(super) fn plus_activity(mut self, ctx: &mut CallContext) -> Result<Self> {
        if let Some(a) = ctx.take_activity_loss::<B>()? {
            self.total = self.total.add(&a.to_dtype(self.total.dtype())?)?;
        }
        Ok(self)
    }
}

/// The training objective of a batch for models with one output: the compiled loss
/// (weighted by `sample_weight`, Keras' `sum_over_batch_size`: `sum(loss_i * w_i) /
/// batch`) plus the layers' penalties.
///
/// # Errors
/// Shape errors from the loss, or a `sample_weight` that is not `[batch]`.
pub fn compute_loss<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    compiled: &Compiled<B>,
    ys: &[Tensor<B>],
    preds: &[Tensor<B>],
    sample_weight: Option<&Tensor<B>>,
    ctx: &mut CallContext,
) -> Result<Tensor<B>> {
    let targets = LossTargets {
        ys,
        sample_weight,
        checked: false,
    };
    Ok(BatchLoss::of_outputs(compiled, targets, preds)?
        .plus_weight_penalties(net)?
        .plus_activity(ctx)?
        .total)
}

/// The parts of a training step fixed for a whole `fit`: the trainable parameters, the
/// seed, and the step counter that derives each step's dropout seed from it.
pub(super) struct TrainStep<B: Backend> {
    params: Vec<Tensor<B>>,
    seed: u64,
    /// Steps taken so far (counting those of the epochs skipped by `initial_epoch`).
    global_step: u64,
}

impl<B: Backend> TrainStep<B> {
    /// A step for `net`'s trainable parameters, seeded by `seed`, `global_step` steps in.
    pub(super) fn new<N: Network<B> + ?Sized>(net: &N, seed: u64, global_step: u64) -> Self {
        Self {
            params: net.trainable_params(),
            seed,
            global_step,
        }
    }

    /// One optimisation step on a batch; returns the detached total loss (with penalties)
    /// and updates the tracker's per-output losses and metrics.
    pub(super) fn run<N: Network<B> + ?Sized>(
        &mut self,
        net: &N,
        compiled: &mut Compiled<B>,
        b: &FeedBatch<B>,
        tracker: &mut Tracker<B>,
        dist: Option<(&DataParallel, usize)>,
    ) -> Result<Tensor<B>> {
        self.global_step += 1;
        let (xs, ys) = (&b.xs, &b.ys);
        let mut ctx = CallContext::training(Rng::derive(self.seed, self.global_step));
        let preds = net.forward(xs, &mut ctx)?;
        let targets = LossTargets {
            ys,
            sample_weight: b.sw.as_ref(),
            checked: b.targets_checked,
        };
        let losses = BatchLoss::of_outputs(compiled, targets, &preds)?
            .plus_weight_penalties(net)?
            .plus_activity(&mut ctx)?;
        let grads = match compiled.optimizer.loss_scale() {
            Some(s) => losses.total.mul_scalar(s)?.grad(&self.params)?,
            None => losses.total.grad(&self.params)?,
        };
        // Data-parallel: average across ranks between backward and the optimizer step.
        let grads = match dist {
            Some((dp, n_global)) => {
                check_batch_weights(compiled, b)?;
                average_gradients(dp, &self.params, grads, b.len, n_global)?
            }
            None => grads,
        };
        compiled.optimizer.apply(&self.params, &grads)?;
        let n = xs[0].shape()[0] as f64;
        for (m, l) in tracker.output_losses.iter_mut().zip(&losses.per_output) {
            if let (Some(m), Some(l)) = (m, l) {
                m.update_value(&l.detach(), n)?;
            }
        }
        let preds: Vec<Tensor<B>> = preds.iter().map(|p| p.detach()).collect();
        tracker.update_metrics(ys, &preds)?;
        Ok(losses.total.detach())
    }

    /// The step of a rank whose slice of a (short, last) global batch of `n_global` samples
    /// is empty: it adds nothing to the averaged gradients but takes the same step as the
    /// other ranks.
    pub(super) fn run_empty(
        &mut self,
        compiled: &mut Compiled<B>,
        dp: &DataParallel,
        n_global: usize,
    ) -> Result<()> {
        self.global_step += 1;
        let none = vec![None; self.params.len()];
        let grads = average_gradients(dp, &self.params, none, 0, n_global)?;
        compiled.optimizer.apply(&self.params, &grads)
    }
}
