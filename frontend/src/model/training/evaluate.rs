//! `evaluate` and `evaluate_dataset`: an inference pass with the loss and metrics,
//! also run by `fit` for validation.

use super::compile::Compiled;
use super::distributed;
use super::feed::{check_from_dataset, DatasetFeed, Feed, TensorFeed};
use super::inputs::{
    check_all_targets, check_batch_size, check_not_empty, count_samples, targets, to_model,
};
use super::step::{BatchLoss, LossTargets};
use super::tracker::Tracker;
use super::{each, Network};
use crate::backend::Backend;
use crate::callbacks::{BatchEnd, Callback, CallbackContext, FitState, Logs};
use crate::dataset::Dataset;
use crate::distribute::DataParallel;
use crate::error::Result;
use crate::layers::CallContext;
use crate::model::Data;
use crate::tensor::Tensor;

/// Callbacks and state for the per-batch hooks of an evaluation or prediction pass.
pub(super) struct Hooks<'a> {
    pub(super) callbacks: &'a mut [Box<dyn Callback>],
    pub(super) state: &'a mut FitState,
}

/// An evaluation pass over `feed` (inference mode, detached results). With a
/// data-parallel strategy (`dist`, several ranks) each rank evaluates its slice of every
/// batch and the logs are averaged across ranks, weighted by their sample counts.
pub(super) fn evaluate_feed<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    compiled: &Compiled<B>,
    feed: &mut dyn Feed<B>,
    tracker_ys: &[Tensor<B>],
    mut hooks: Option<Hooks<'_>>,
    dist: Option<&DataParallel>,
) -> Result<Logs> {
    let out_shapes = net.output_shapes()?;
    let mut tracker = Tracker::new(compiled, tracker_ys, &out_shapes)?;
    let reg = net.regularization_loss()?.map(|r| r.detach());
    let mut samples = 0;
    B::no_grad(|| -> Result<()> {
        let mut step = 0;
        while let Some(b) = feed.next_batch()? {
            let b = match dist {
                Some(dp) => distributed::shard_batch(dp, b)?.0,
                None => b,
            };
            samples += b.len;
            if let Some(h) = hooks.as_mut() {
                each(h.callbacks, h.state, net, |cb, ctx| {
                    cb.on_test_batch_begin(step, ctx)
                })?;
            }
            // A rank without samples in a short batch computes nothing but still runs the
            // batch hooks.
            if b.len > 0 {
                let mut ctx = CallContext::inference();
                let preds: Vec<Tensor<B>> = net
                    .forward(&b.xs, &mut ctx)?
                    .into_iter()
                    .map(|p| p.detach())
                    .collect();
                let targets = LossTargets {
                    ys: &b.ys,
                    sample_weight: None,
                    checked: b.targets_checked,
                };
                let losses =
                    BatchLoss::of_outputs(compiled, targets, &preds)?.plus_activity(&mut ctx)?;
                let mut total = losses.total.detach();
                if let Some(r) = &reg {
                    total = total.add(&r.to_dtype(total.dtype())?)?;
                }
                tracker.loss.update_value(&total, b.len as f64)?;
                for (m, l) in tracker.output_losses.iter_mut().zip(&losses.per_output) {
                    if let (Some(m), Some(l)) = (m, l) {
                        m.update_value(&l.detach(), b.len as f64)?;
                    }
                }
                tracker.update_metrics(&b.ys, &preds)?;
            }
            if let Some(h) = hooks.as_mut() {
                for cb in h.callbacks.iter_mut() {
                    let ctx = CallbackContext {
                        state: &mut *h.state,
                        model: net.access(),
                    };
                    cb.on_test_batch_end(BatchEnd {
                        step,
                        logs: &mut tracker,
                        ctx,
                    })?;
                }
            }
            step += 1;
        }
        Ok(())
    })?;
    match dist {
        Some(dp) => distributed::reduce_logs(dp, &tracker.logs()?, samples),
        None => tracker.logs(),
    }
}

/// `evaluate` on a feed, with the callbacks' `on_test_*` hooks (on rank 0 only under a
/// data-parallel strategy of several ranks, `dist`).
pub(super) fn evaluate_with_hooks<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    compiled: &Compiled<B>,
    feed: &mut dyn Feed<B>,
    callbacks: &mut [Box<dyn Callback>],
    dist: Option<&DataParallel>,
) -> Result<Logs> {
    feed.begin_epoch(0)?;
    let ys = feed.first_targets()?;
    let dist = dist.filter(|dp| dp.size() > 1);
    if callbacks.is_empty() || dist.is_some_and(|dp| !dp.is_root()) {
        return evaluate_feed(net, compiled, feed, &ys, None, dist);
    }
    let mut state = FitState {
        epochs: 0,
        steps: feed.steps().unwrap_or(0),
        verbose: 0,
        stop_training: false,
        learning_rate: compiled.optimizer.learning_rate(),
        epoch: 0,
    };
    each(callbacks, &mut state, net, |cb, ctx| cb.on_test_begin(ctx))?;
    let hooks = Hooks {
        callbacks: &mut *callbacks,
        state: &mut state,
    };
    let logs = evaluate_feed(net, compiled, feed, &ys, Some(hooks), dist)?;
    each(callbacks, &mut state, net, |cb, ctx| {
        cb.on_test_end(&logs, ctx)
    })?;
    Ok(logs)
}

/// The `evaluate` computation; with a data-parallel strategy (`dist`) each rank evaluates
/// its slice of every batch and every rank returns the global logs.
///
/// # Errors
/// As [`fit`].
pub fn evaluate<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    compiled: &Compiled<B>,
    x: Data<B>,
    y: Data<B>,
    batch_size: usize,
    callbacks: &mut [Box<dyn Callback>],
    dist: Option<&DataParallel>,
) -> Result<Logs> {
    check_batch_size("evaluate", batch_size)?;
    let xs = x.resolve(&net.input_names(), "x")?;
    let ys = y.resolve(&net.output_names(), "y")?;
    let n = count_samples("evaluate", &xs, &ys)?;
    check_not_empty("evaluate", n, &xs)?;
    net.check_inputs(&xs)?;
    let out_shapes = net.output_shapes()?;
    let xs = to_model(net, &xs)?;
    let ys = targets("evaluate", net, compiled, &ys)?;
    check_all_targets(compiled, &ys, &out_shapes)?;
    let mut feed = TensorFeed::new(xs, ys, batch_size, net.device());
    evaluate_with_hooks(net, compiled, &mut feed, callbacks, dist)
}

/// `evaluate` on a [`Dataset`]: one pass (pass 0, so repeated calls see the same order),
/// batched by `batch_size` when the dataset has no `batch` of its own.
///
/// # Errors
/// `batch_size` 0, an empty dataset, batches that do not fit the model, errors from the
/// dataset.
pub fn evaluate_dataset<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    compiled: &Compiled<B>,
    data: &mut Dataset,
    batch_size: usize,
    callbacks: &mut [Box<dyn Callback>],
) -> Result<Logs> {
    check_batch_size("evaluate_dataset", batch_size)?;
    data.set_epoch(0);
    let mut feed = DatasetFeed::new(data, "evaluate_dataset", batch_size, net, Some(compiled));
    check_from_dataset(net, compiled, &mut feed)?;
    evaluate_with_hooks(net, compiled, &mut feed, callbacks, None)
}
