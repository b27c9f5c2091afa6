//! `fit` and `fit_dataset`: option checks, validation data, and the epoch, step and
//! callback loop they share.

use super::class_weight::class_sample_weights;
use super::compile::Compiled;
use super::distributed;
use super::evaluate::{evaluate_feed, Hooks};
use super::feed::{narrow_all, prepare_from_dataset, DatasetFeed, Feed, TensorFeed};
use super::inputs::{
    check_all_targets, check_batch_size, check_not_empty, count_samples, targets, to_model,
};
use super::options::FitOptions;
use super::step::TrainStep;
use super::tracker::Tracker;
use super::{each, Network};
use crate::backend::Backend;
use crate::callbacks::{
    BatchEnd, Callback, CallbackContext, EpochEnd, FitState, History, ProgressBar,
};
use crate::dataset::{BatchTensors, Dataset};
use crate::distribute::DataParallel;
use crate::error::{Error, Result};
use crate::model::Data;
use crate::random::Rng;
use crate::tensor::Tensor;

/// Checks the options shared by both forms of `fit`.
pub(super) fn check_fit_options<B: Backend>(op: &str, opts: &FitOptions<B>) -> Result<()> {
    check_batch_size(op, opts.batch_size)?;
    if opts.validation_freq == 0 {
        return Err(Error::invalid(
            op,
            "validation_freq",
            "must be at least 1, got 0",
        ));
    }
    if opts.steps_per_epoch == Some(0) {
        return Err(Error::invalid(
            op,
            "steps_per_epoch",
            "must be at least 1, got 0",
        ));
    }
    if opts.validation_batch_size == Some(0) {
        return Err(Error::invalid(
            op,
            "validation_batch_size",
            "must be at least 1, got 0",
        ));
    }
    if opts.initial_epoch > opts.epochs {
        return Err(Error::invalid(
            op,
            "initial_epoch",
            format!("{} is past epochs = {}", opts.initial_epoch, opts.epochs),
        ));
    }
    Ok(())
}

/// Resolves, checks and uploads explicit validation tensors.
pub(super) fn validation_tensors<B: Backend, N: Network<B> + ?Sized>(
    net: &mut N,
    compiled: &Compiled<B>,
    vx: Data<B>,
    vy: Data<B>,
    out_shapes: &[Vec<usize>],
) -> Result<BatchTensors<B>> {
    let vx = vx.resolve(&net.input_names(), "validation x")?;
    let vy = vy.resolve(&net.output_names(), "validation y")?;
    count_samples("fit (validation_data)", &vx, &vy)?;
    net.prepare_inputs(&vx)?;
    let vx = to_model(net, &vx)?;
    let vy = targets("fit (validation_data)", net, compiled, &vy)?;
    check_all_targets(compiled, &vy, out_shapes)?;
    Ok((vx, vy))
}

/// The validation feed of `fit`: a dataset, or tensors batched by `batch_size`.
pub(super) fn validation_feed<'a, B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    compiled: &Compiled<B>,
    dataset: Option<&'a mut Dataset>,
    tensors: Option<BatchTensors<B>>,
    batch_size: usize,
) -> Option<Box<dyn Feed<B> + 'a>> {
    if let Some(ds) = dataset {
        return Some(Box::new(DatasetFeed::new(
            ds,
            "fit (validation_dataset)",
            batch_size,
            net,
            Some(compiled),
        )));
    }
    tensors.map(|(vx, vy)| -> Box<dyn Feed<B> + 'a> {
        Box::new(TensorFeed::new(vx, vy, batch_size, net.device()))
    })
}

/// What the shared epoch loop needs besides the training feed.
pub(super) struct LoopOptions<'a, B: Backend> {
    epochs: usize,
    initial_epoch: usize,
    verbose: u8,
    validation_freq: usize,
    seed: u64,
    /// The step counter before the first step (seeds dropout per step).
    global_step: u64,
    callbacks: Vec<Box<dyn Callback>>,
    /// The validation feed, if any.
    validation: Option<Box<dyn Feed<B> + 'a>>,
    /// Data-parallel strategy, when it has several ranks.
    distribute: Option<DataParallel>,
}

/// The epoch, step and callback loop shared by [`fit`] and [`fit_dataset`].
pub(super) fn run_fit<B: Backend, N: Network<B> + ?Sized>(
    net: &mut N,
    compiled: &mut Compiled<B>,
    feed: &mut dyn Feed<B>,
    tracker_ys: &[Tensor<B>],
    mut lo: LoopOptions<'_, B>,
) -> Result<History> {
    let out_shapes = net.output_shapes()?;
    let dist = lo.distribute.take();
    let mut step_seed = lo.seed;
    if let Some(dp) = &dist {
        distributed::check_losses(compiled)?;
        distributed::broadcast_model(dp, net, compiled)?;
        // Each rank its own dropout masks (rank 0 keeps the single-process ones).
        if !dp.is_root() {
            step_seed = Rng::derive(lo.seed, dp.rank() as u64);
        }
    }
    // Hands rank 0's `stop_training` and learning rate to every rank; `now` (rank 0's)
    // says "stop before this step" (a stop from the previous batch's end).
    let sync_now = |state: &mut FitState, now: bool| match &dist {
        Some(dp) => distributed::sync_state(dp, state, now),
        None => Ok(now),
    };
    let sync = |state: &mut FitState| sync_now(state, false).map(|_| ());
    let mut train_step = TrainStep::new(&*net, step_seed, lo.global_step);
    let mut callbacks: Vec<Box<dyn Callback>> = Vec::new();
    // Under a data-parallel strategy only rank 0 runs callbacks (progress bar, checkpoints,
    // logs); `sync` hands what they change to the other ranks.
    if dist.as_ref().is_none_or(|dp| dp.is_root()) {
        callbacks.push(Box::new(ProgressBar::new(lo.verbose)));
        callbacks.append(&mut lo.callbacks);
    }
    let mut state = FitState {
        epochs: lo.epochs,
        steps: feed.steps().unwrap_or(0),
        verbose: lo.verbose,
        stop_training: false,
        learning_rate: compiled.optimizer.learning_rate(),
        epoch: 0,
    };
    let mut history = History::default();
    let mut tracker = Tracker::new(compiled, tracker_ys, &out_shapes)?;
    each(&mut callbacks, &mut state, net, |cb, ctx| {
        cb.on_train_begin(ctx)
    })?;
    sync(&mut state)?;
    for epoch in lo.initial_epoch..lo.epochs {
        state.epoch = epoch;
        state.steps = feed.steps().unwrap_or(0);
        feed.begin_epoch(epoch)?;
        each(&mut callbacks, &mut state, net, |cb, ctx| {
            cb.on_epoch_begin(epoch, ctx)
        })?;
        sync(&mut state)?;
        tracker.reset();
        let mut step = 0;
        let mut samples = 0;
        // Data-parallel: a stop requested at a batch's end reaches the other ranks with the
        // one state broadcast of the next step (one round trip per step, not two).
        let mut stop_pending = false;
        while let Some(b) = feed.next_batch()? {
            // Data-parallel: this rank's slice of the global batch.
            let (b, n_global) = match &dist {
                Some(dp) => distributed::shard_batch(dp, b)?,
                None => {
                    let n = b.len;
                    (b, n)
                }
            };
            if !stop_pending {
                each(&mut callbacks, &mut state, net, |cb, ctx| {
                    cb.on_train_batch_begin(step, ctx)
                })?;
            }
            if sync_now(&mut state, stop_pending)? {
                break;
            }
            samples += b.len;
            // A callback changed the rate: hand it to the optimizer (this replaces a
            // schedule, as assigning `optimizer.learning_rate` does in Keras).
            if state.learning_rate != compiled.optimizer.learning_rate() {
                compiled.optimizer.set_learning_rate(state.learning_rate);
            }
            match &dist {
                Some(dp) if b.len == 0 => train_step.run_empty(compiled, dp, n_global)?,
                _ => {
                    let d = dist.as_ref().map(|dp| (dp, n_global));
                    let loss = train_step.run(&*net, compiled, &b, &mut tracker, d)?;
                    tracker.loss.update_value(&loss, b.len as f64)?;
                }
            }
            // The rate for the next step (schedules advance with the optimizer's step count).
            state.learning_rate = compiled.optimizer.learning_rate();
            for cb in callbacks.iter_mut() {
                let ctx = CallbackContext {
                    state: &mut state,
                    model: net.access(),
                };
                cb.on_train_batch_end(BatchEnd {
                    step,
                    logs: &mut tracker,
                    ctx,
                })?;
            }
            step += 1;
            if state.stop_training {
                if dist.is_none() {
                    break;
                }
                stop_pending = true;
            }
        }
        let mut logs = tracker.logs()?;
        if let Some(dp) = &dist {
            logs = distributed::reduce_logs(dp, &logs, samples)?;
        }
        if let Some(vfeed) = lo
            .validation
            .as_mut()
            .filter(|_| (epoch + 1) % lo.validation_freq == 0)
        {
            each(&mut callbacks, &mut state, net, |cb, ctx| {
                cb.on_test_begin(ctx)
            })?;
            vfeed.begin_epoch(epoch)?;
            let vys = vfeed.first_targets()?;
            let hooks = Hooks {
                callbacks: &mut callbacks,
                state: &mut state,
            };
            let vlogs = evaluate_feed(
                net,
                compiled,
                vfeed.as_mut(),
                &vys,
                Some(hooks),
                dist.as_ref(),
            )?;
            each(&mut callbacks, &mut state, net, |cb, ctx| {
                cb.on_test_end(&vlogs, ctx)
            })?;
            logs.extend_prefixed(&vlogs, "val_");
        }
        each(&mut callbacks, &mut state, net, |cb, ctx| {
            cb.on_epoch_end(EpochEnd {
                epoch,
                logs: &logs,
                ctx: ctx.reborrow(),
            })
        })?;
        sync(&mut state)?;
        history.push(epoch, &logs);
        if state.stop_training {
            history.stopped_epoch = Some(epoch);
            break;
        }
    }
    if state.learning_rate != compiled.optimizer.learning_rate() {
        compiled.optimizer.set_learning_rate(state.learning_rate);
    }
    each(&mut callbacks, &mut state, net, |cb, ctx| {
        cb.on_train_end(ctx)
    })?;
    // A callback on rank 0 may have changed the weights (restoring the best ones).
    if let Some(dp) = &dist {
        distributed::broadcast_weights(dp, net)?;
    }
    Ok(history)
}

/// The `fit` loop.
///
/// # Errors
/// Not compiled; `batch_size`, `steps_per_epoch`, `validation_freq` or
/// `validation_batch_size` 0; `x` and `y` with different sample counts; inputs that do not
/// fit the first layer; labels out of range; a bad `validation_split`.
pub fn fit<B: Backend, N: Network<B> + ?Sized>(
    net: &mut N,
    compiled: &mut Compiled<B>,
    default_seed: u64,
    x: Data<B>,
    y: Data<B>,
    mut opts: FitOptions<B>,
) -> Result<History> {
    check_fit_options("fit", &opts)?;
    let xs = x.resolve(&net.input_names(), "x")?;
    let ys = y.resolve(&net.output_names(), "y")?;
    let n_all = count_samples("fit", &xs, &ys)?;
    check_not_empty("fit", n_all, &xs)?;
    if !(0.0..1.0).contains(&opts.validation_split) {
        return Err(Error::invalid(
            "fit",
            "validation_split",
            format!("must be in [0, 1), got {}", opts.validation_split),
        ));
    }
    net.prepare_inputs(&xs)?;
    let out_shapes = net.output_shapes()?;
    let xs = to_model(net, &xs)?;
    let ys = targets("fit", net, compiled, &ys)?;
    check_all_targets(compiled, &ys, &out_shapes)?;
    let sample_weight = match (opts.sample_weight.take(), &opts.class_weight) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "fit",
                "sample_weight",
                "give sample_weight or class_weight, not both",
            ))
        }
        (Some(w), None) => {
            if w.shape() != [n_all] {
                return Err(Error::shape(
                    "fit",
                    "sample_weight",
                    format!("shape [{n_all}]"),
                    &w.shape(),
                ));
            }
            Some(w.to_device(net.device())?.to_dtype(net.dtype())?)
        }
        (None, Some(cw)) => {
            if ys.len() != 1 {
                return Err(Error::invalid(
                    "fit",
                    "class_weight",
                    "only for models with one output",
                ));
            }
            let cw = cw.weights_for(&ys[0])?;
            Some(class_sample_weights(&ys[0], &cw)?.to_dtype(net.dtype())?)
        }
        (None, None) => None,
    };

    // Validation data: a dataset, explicit tensors, or the last `validation_split` of the
    // samples.
    type Split<B> = (
        Vec<Tensor<B>>,
        Vec<Tensor<B>>,
        Option<(Vec<Tensor<B>>, Vec<Tensor<B>>)>,
        Option<Tensor<B>>,
    );
    let (x_train, y_train, val, sw_train): Split<B> = if opts.validation_dataset.is_some() {
        (xs, ys, None, sample_weight)
    } else if let Some((vx, vy)) = opts.validation_data.take() {
        let v = validation_tensors(net, compiled, vx, vy, &out_shapes)?;
        (xs, ys, Some(v), sample_weight)
    } else if opts.validation_split > 0.0 {
        let n_train = ((n_all as f64) * (1.0 - opts.validation_split)).floor() as usize;
        if n_train == 0 || n_train == n_all {
            return Err(Error::invalid(
                "fit",
                "validation_split",
                format!(
                    "{} of {n_all} samples leaves an empty training or validation set",
                    opts.validation_split
                ),
            ));
        }
        let n_val = n_all - n_train;
        let sw = match &sample_weight {
            Some(w) => Some(w.narrow(0, 0, n_train)?),
            None => None,
        };
        (
            narrow_all(&xs, 0, n_train)?,
            narrow_all(&ys, 0, n_train)?,
            Some((
                narrow_all(&xs, n_train, n_val)?,
                narrow_all(&ys, n_train, n_val)?,
            )),
            sw,
        )
    } else {
        (xs, ys, None, sample_weight)
    };

    let dist = opts.distribute.take().filter(|dp| dp.size() > 1);
    let mut seed = opts.seed.unwrap_or(default_seed);
    if let Some(dp) = &dist {
        // Every rank must draw the same shuffled global batches.
        seed = dp.broadcast_u64(seed)?;
    }
    let rng = opts.shuffle.then(|| Rng::new(seed));
    let mut feed = TensorFeed::new(x_train, y_train.clone(), opts.batch_size, net.device())
        .with_sample_weight(sw_train)
        .with_shuffle(rng)
        .with_steps(opts.steps_per_epoch);
    // Resuming at `initial_epoch`: replay the shuffles and step count of the skipped epochs,
    // so a resumed run continues exactly as an uninterrupted one would.
    feed.skip_epochs(opts.initial_epoch);
    let steps = feed.steps().unwrap_or(0);
    let vbs = opts.validation_batch_size.unwrap_or(opts.batch_size);
    let mut val_ds = opts.validation_dataset.take();
    let val = validation_feed(net, compiled, val_ds.as_mut(), val, vbs);
    let lo = LoopOptions {
        epochs: opts.epochs,
        initial_epoch: opts.initial_epoch,
        verbose: opts.verbose,
        validation_freq: opts.validation_freq,
        seed,
        global_step: (opts.initial_epoch * steps) as u64,
        callbacks: std::mem::take(&mut opts.callbacks),
        validation: val,
        distribute: dist,
    };
    run_fit(net, compiled, &mut feed, &y_train, lo)
}

/// The `fit` loop on a [`Dataset`]: batches come from the dataset (batched by
/// `opts.batch_size` when it has no `batch` of its own), each epoch a new pass seeded by
/// the epoch number; validation on `opts.validation_dataset` or `opts.validation_data`.
///
/// # Errors
/// As [`fit`]; `validation_split` or `sample_weight` (not available with a dataset: use a
/// validation dataset, `class_weight`); batches whose tensor counts do not match the
/// model; an empty dataset; errors from the dataset (also from its prefetch thread).
pub fn fit_dataset<B: Backend, N: Network<B> + ?Sized>(
    net: &mut N,
    compiled: &mut Compiled<B>,
    default_seed: u64,
    train: &mut Dataset,
    mut opts: FitOptions<B>,
) -> Result<History> {
    check_fit_options("fit_dataset", &opts)?;
    if opts.validation_split != 0.0 {
        return Err(Error::invalid(
            "fit_dataset",
            "validation_split",
            "not available with a dataset: give FitOptions::validation_dataset",
        ));
    }
    if opts.sample_weight.is_some() {
        return Err(Error::invalid(
            "fit_dataset",
            "sample_weight",
            "not available with a dataset (use class_weight)",
        ));
    }
    let n_out = net.output_names().len();
    if opts.class_weight.is_some() && n_out != 1 {
        return Err(Error::invalid(
            "fit_dataset",
            "class_weight",
            "only for models with one output",
        ));
    }
    train.set_epoch(opts.initial_epoch as u64);
    let mut feed = DatasetFeed::new(train, "fit_dataset", opts.batch_size, net, Some(compiled))
        .with_steps(opts.steps_per_epoch)
        .with_class_weight(
            opts.class_weight
                .take()
                .map(|cw| cw.explicit("fit_dataset"))
                .transpose()?,
        );
    let (out_shapes, tracker_ys) = prepare_from_dataset(net, compiled, &mut feed)?;
    let val_tensors = match opts.validation_data.take() {
        Some((vx, vy)) if opts.validation_dataset.is_none() => {
            Some(validation_tensors(net, compiled, vx, vy, &out_shapes)?)
        }
        _ => None,
    };
    let vbs = opts.validation_batch_size.unwrap_or(opts.batch_size);
    let mut val_ds = opts.validation_dataset.take();
    let val = validation_feed(net, compiled, val_ds.as_mut(), val_tensors, vbs);
    let global_step = match feed.steps() {
        Some(s) => (opts.initial_epoch * s) as u64,
        None => compiled.optimizer.iterations(),
    };
    let dist = opts.distribute.take().filter(|dp| dp.size() > 1);
    let mut seed = opts.seed.unwrap_or(default_seed);
    if let Some(dp) = &dist {
        seed = dp.broadcast_u64(seed)?;
    }
    let lo = LoopOptions {
        epochs: opts.epochs,
        initial_epoch: opts.initial_epoch,
        verbose: opts.verbose,
        validation_freq: opts.validation_freq,
        seed,
        global_step,
        callbacks: std::mem::take(&mut opts.callbacks),
        validation: val,
        distribute: dist,
    };
    run_fit(net, compiled, &mut feed, &tracker_ys, lo)
}
