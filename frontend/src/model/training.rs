//! The training loop shared by every model kind.

use crate::backend::{Backend, DType};
use crate::callbacks::{
    Callback, CallbackContext, FitState, History, LogSource, Logs, ModelAccess, ProgressBar,
};
use crate::error::{Error, Result};
use crate::layers::CallContext;
use crate::losses::Loss;
use crate::metrics::{Mean, Metric};
use crate::optimizers::Optimizer;
use crate::random::Rng;
use crate::tensor::Tensor;

/// What the training loop needs from a model.
pub trait Network<B: Backend> {
    /// Model name (`sequential`).
    fn model_name(&self) -> &str;
    /// Forward pass on a batch.
    ///
    /// # Errors
    /// Shape errors naming the layer.
    fn forward(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>>;
    /// Trainable parameters in a fixed order.
    fn trainable_params(&self) -> Vec<Tensor<B>>;
    /// Sum of the layers' regularisation penalties.
    ///
    /// # Errors
    /// On engine errors.
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>>;
    /// Checks that `x` fits the model's inputs, building the model on `x`'s shape if needed.
    ///
    /// # Errors
    /// [`Error::Shape`] naming the first layer, with expected and actual shapes.
    fn prepare_input(&mut self, x: &Tensor<B>) -> Result<()>;
    /// Per-sample output shape.
    ///
    /// # Errors
    /// When the model is not built.
    fn output_shape(&self) -> Result<Vec<usize>>;
    /// Device of the weights.
    fn device(&self) -> crate::Device;
    /// Float dtype of the weights.
    fn dtype(&self) -> DType;
    /// The model as callbacks see it.
    fn access(&mut self) -> &mut dyn ModelAccess;
}

/// Calls `hook` on every callback with a fresh context.
fn each<B: Backend, N: Network<B> + ?Sized>(
    callbacks: &mut [Box<dyn Callback>],
    state: &mut FitState,
    net: &mut N,
    mut hook: impl FnMut(&mut dyn Callback, &mut CallbackContext<'_>) -> Result<()>,
) -> Result<()> {
    for cb in callbacks.iter_mut() {
        let mut ctx = CallbackContext {
            state: &mut *state,
            model: net.access(),
        };
        hook(cb.as_mut(), &mut ctx)?;
    }
    Ok(())
}

/// What `compile` sets: optimizer, loss and metric names.
#[derive(Debug)]
pub struct Compiled<B: Backend> {
    /// The optimizer.
    pub optimizer: Box<dyn Optimizer<B>>,
    /// The loss.
    pub loss: Box<dyn Loss<B>>,
    /// Metric names (resolved on the first batch, when shapes are known).
    pub metrics: Vec<String>,
}

/// Options of `fit`, with Keras' defaults (`epochs = 1`, `batch_size = 32`, `shuffle`,
/// `verbose = 1`).
///
/// ```
/// use stratanet::{FitOptions, DefaultBackend as B};
/// let opts = FitOptions::<B>::new().epochs(20).batch_size(64).validation_split(0.1).seed(42);
/// assert_eq!(opts.epochs, 20);
/// ```
pub struct FitOptions<B: Backend> {
    /// Passes over the data.
    pub epochs: usize,
    /// Samples per gradient step.
    pub batch_size: usize,
    /// Fraction of the samples (taken from the end, before shuffling, as Keras) held out
    /// for validation.
    pub validation_split: f64,
    /// Explicit validation data (takes precedence over `validation_split`).
    pub validation_data: Option<(Tensor<B>, Tensor<B>)>,
    /// Reshuffle the training samples every epoch.
    pub shuffle: bool,
    /// Seed for shuffling and dropout (default: the model's seed).
    pub seed: Option<u64>,
    /// 0 silent, 1 progress bar, 2 one line per epoch.
    pub verbose: u8,
    /// Extra callbacks.
    pub callbacks: Vec<Box<dyn Callback>>,
    /// Per-sample loss weights, shape `[N]`.
    pub sample_weight: Option<Tensor<B>>,
    /// Per-class loss weights, indexed by class (Keras' `class_weight` dict as a vector).
    pub class_weight: Option<Vec<f64>>,
}

impl<B: Backend> Default for FitOptions<B> {
    fn default() -> Self {
        Self {
            epochs: 1,
            batch_size: 32,
            validation_split: 0.0,
            validation_data: None,
            shuffle: true,
            seed: None,
            verbose: 1,
            callbacks: Vec::new(),
            sample_weight: None,
            class_weight: None,
        }
    }
}

impl<B: Backend> std::fmt::Debug for FitOptions<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FitOptions")
            .field("epochs", &self.epochs)
            .field("batch_size", &self.batch_size)
            .field("validation_split", &self.validation_split)
            .field("shuffle", &self.shuffle)
            .field("seed", &self.seed)
            .field("verbose", &self.verbose)
            .finish_non_exhaustive()
    }
}

impl<B: Backend> FitOptions<B> {
    /// Keras' defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `epochs`.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }
    /// Sets `batch_size`.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }
    /// Sets `validation_split`.
    pub fn validation_split(mut self, split: f64) -> Self {
        self.validation_split = split;
        self
    }
    /// Sets `validation_data`.
    pub fn validation_data(mut self, x: Tensor<B>, y: Tensor<B>) -> Self {
        self.validation_data = Some((x, y));
        self
    }
    /// Sets `shuffle`.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }
    /// Sets the seed for shuffling and dropout.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
    /// Sets `verbose`.
    pub fn verbose(mut self, verbose: u8) -> Self {
        self.verbose = verbose;
        self
    }
    /// Weights each sample's loss (`[N]`, like Keras' `sample_weight`).
    pub fn sample_weight(mut self, w: Tensor<B>) -> Self {
        self.sample_weight = Some(w);
        self
    }
    /// Weights each sample's loss by its class: `weights[c]` for class `c` (Keras'
    /// `class_weight={0: 1.0, 1: 5.0}` is `vec![1.0, 5.0]`).
    pub fn class_weight(mut self, weights: Vec<f64>) -> Self {
        self.class_weight = Some(weights);
        self
    }
    /// Adds a callback.
    pub fn callback(mut self, cb: impl Callback + 'static) -> Self {
        self.callbacks.push(Box::new(cb));
        self
    }
}

/// Running loss and metrics of one pass.
struct Tracker<B: Backend> {
    loss: Mean<B>,
    metrics: Vec<Box<dyn Metric<B>>>,
}

impl<B: Backend> Tracker<B> {
    fn new(compiled: &Compiled<B>, y_shape: &[usize], out_shape: &[usize]) -> Result<Self> {
        let mut metrics = Vec::new();
        for name in &compiled.metrics {
            metrics.push(crate::metrics::get::<B>(
                name,
                compiled.loss.target_kind(),
                y_shape,
                out_shape,
            )?);
        }
        Ok(Self {
            loss: Mean::new("loss"),
            metrics,
        })
    }

    fn logs(&self) -> Result<Logs> {
        let mut l = Logs::new();
        l.insert("loss", self.loss.result()?);
        for m in &self.metrics {
            l.insert(m.name().to_string(), m.result()?);
        }
        Ok(l)
    }
}

impl<B: Backend> LogSource for Tracker<B> {
    fn logs(&mut self) -> Result<Logs> {
        Tracker::logs(self)
    }
}

fn check_xy<B: Backend>(op: &str, x: &Tensor<B>, y: &Tensor<B>) -> Result<usize> {
    let (xs, ys) = (x.shape(), y.shape());
    if xs.is_empty() || ys.is_empty() || xs[0] != ys[0] {
        return Err(Error::ShapeMismatch {
            op: op.into(),
            lhs: crate::error::ShapeList(xs.clone()),
            rhs: crate::error::ShapeList(ys.clone()),
            detail: Some(format!(
                "x and y must have the same number of samples (first dimension): {} vs {}",
                xs.first().copied().unwrap_or(0),
                ys.first().copied().unwrap_or(0)
            )),
        });
    }
    Ok(xs[0])
}

fn check_batch_size(op: &str, batch_size: usize) -> Result<()> {
    if batch_size == 0 {
        return Err(Error::invalid(
            op,
            "batch_size",
            "must be at least 1, got 0",
        ));
    }
    Ok(())
}

/// Moves `x` to the model's device and dtype (floats only; integer inputs stay integers).
fn to_model<B: Backend, N: Network<B> + ?Sized>(net: &N, x: &Tensor<B>) -> Result<Tensor<B>> {
    let x = x.to_device(net.device())?;
    if x.dtype().is_float() {
        x.to_dtype(net.dtype())
    } else {
        Ok(x)
    }
}

fn targets<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    compiled: &Compiled<B>,
    y: &Tensor<B>,
) -> Result<Tensor<B>> {
    y.to_device(net.device())?
        .to_dtype(compiled.loss.target_dtype(net.dtype()))
}

fn full_shape(n: usize, per_sample: &[usize]) -> Vec<usize> {
    std::iter::once(n)
        .chain(per_sample.iter().copied())
        .collect()
}

fn batch<B: Backend>(
    t: &Tensor<B>,
    idx: Option<&Tensor<B>>,
    start: usize,
    len: usize,
) -> Result<Tensor<B>> {
    match idx {
        Some(perm) => t.index_select(&perm.narrow(0, start, len)?, 0),
        None => t.narrow(0, start, len),
    }
}

/// One optimisation step on a batch; returns the detached total loss (with penalties).
///
/// # Errors
/// Shape errors from the layers or the loss, engine errors.
#[allow(clippy::too_many_arguments)]
pub fn train_step<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    compiled: &mut Compiled<B>,
    params: &[Tensor<B>],
    x: &Tensor<B>,
    y: &Tensor<B>,
    sample_weight: Option<&Tensor<B>>,
    seed: u64,
    metrics: &mut [Box<dyn Metric<B>>],
) -> Result<Tensor<B>> {
    let mut ctx = CallContext::training(seed);
    let pred = net.forward(x, &mut ctx)?;
    let loss = compute_loss(net, compiled, y, &pred, sample_weight)?;
    let grads = loss.grad(params)?;
    compiled.optimizer.apply(params, &grads)?;
    let pred = pred.detach();
    for m in metrics.iter_mut() {
        m.update(y, &pred)?;
    }
    Ok(loss.detach())
}

/// The training objective of a batch: the compiled loss (weighted by `sample_weight`,
/// Keras' `sum_over_batch_size`: `sum(loss_i * w_i) / batch`) plus the layers' penalties.
///
/// # Errors
/// Shape errors from the loss, or a `sample_weight` that is not `[batch]`.
pub fn compute_loss<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    compiled: &Compiled<B>,
    y: &Tensor<B>,
    pred: &Tensor<B>,
    sample_weight: Option<&Tensor<B>>,
) -> Result<Tensor<B>> {
    let per_sample = compiled.loss.per_sample(y, pred)?;
    let mut loss = match sample_weight {
        Some(w) => {
            let w = w.to_dtype(per_sample.dtype())?;
            let n = per_sample.shape().first().copied().unwrap_or(0);
            if w.shape() != [n] {
                return Err(Error::shape(
                    compiled.loss.name(),
                    "sample_weight",
                    format!("shape [{n}] (one weight per sample)"),
                    &w.shape(),
                ));
            }
            per_sample.mul(&w)?.mean_all()?
        }
        None => per_sample.mean_all()?,
    };
    if let Some(r) = net.regularization_loss()? {
        loss = loss.add(&r.to_dtype(loss.dtype())?)?;
    }
    Ok(loss)
}

/// Per-sample weights for `class_weight` (`weights[c]` for samples of class `c`): class
/// indices are the labels (`[N]`/`[N, 1]` integers), the argmax of one-hot targets, or
/// the rounded value of `[N, 1]` binary targets.
fn class_sample_weights<B: Backend>(y: &Tensor<B>, class_weight: &[f64]) -> Result<Tensor<B>> {
    let s = y.shape();
    let classes: Vec<i64> = match s.as_slice() {
        [_] => y.to_vec_f64()?.iter().map(|v| v.round() as i64).collect(),
        [_, 1] => y.to_vec_f64()?.iter().map(|v| v.round() as i64).collect(),
        [_, _] => y.argmax(-1, false)?.to_vec_i64()?,
        _ => {
            return Err(Error::shape(
                "fit",
                "class_weight targets",
                "rank 1 or 2 (labels, one-hot or binary)",
                &s,
            ))
        }
    };
    let w: Vec<f64> = classes
        .iter()
        .map(|&c| {
            usize::try_from(c)
                .ok()
                .and_then(|c| class_weight.get(c).copied())
                .ok_or_else(|| {
                    Error::invalid(
                        "fit",
                        "class_weight",
                        format!(
                            "no weight for class {c} ({} weights given)",
                            class_weight.len()
                        ),
                    )
                })
        })
        .collect::<Result<_>>()?;
    Tensor::from_vec_on(w, &[classes.len()], y.device())
}

/// The `fit` loop.
///
/// # Errors
/// See `Sequential::fit`.
pub fn fit<B: Backend, N: Network<B> + ?Sized>(
    net: &mut N,
    compiled: &mut Compiled<B>,
    default_seed: u64,
    x: &Tensor<B>,
    y: &Tensor<B>,
    mut opts: FitOptions<B>,
) -> Result<History> {
    check_batch_size("fit", opts.batch_size)?;
    let n_all = check_xy("fit", x, y)?;
    if !(0.0..1.0).contains(&opts.validation_split) {
        return Err(Error::invalid(
            "fit",
            "validation_split",
            format!("must be in [0, 1), got {}", opts.validation_split),
        ));
    }
    net.prepare_input(x)?;
    let out_shape = net.output_shape()?;
    let x = to_model(net, x)?;
    let y = targets(net, compiled, y)?;
    compiled
        .loss
        .check_targets(&y, &full_shape(n_all, &out_shape))?;
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
        (None, Some(cw)) => Some(class_sample_weights(&y, cw)?.to_dtype(net.dtype())?),
        (None, None) => None,
    };

    // Validation data: explicit, or the last `validation_split` of the samples.
    let (x_train, y_train, val, sw_train) = if let Some((vx, vy)) = opts.validation_data.take() {
        check_xy("fit (validation_data)", &vx, &vy)?;
        net.prepare_input(&vx)?;
        let vx = to_model(net, &vx)?;
        let vy = targets(net, compiled, &vy)?;
        compiled
            .loss
            .check_targets(&vy, &full_shape(vx.shape()[0], &out_shape))?;
        (x, y, Some((vx, vy)), sample_weight)
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
            x.narrow(0, 0, n_train)?,
            y.narrow(0, 0, n_train)?,
            Some((x.narrow(0, n_train, n_val)?, y.narrow(0, n_train, n_val)?)),
            sw,
        )
    } else {
        (x, y, None, sample_weight)
    };

    let n = x_train.shape()[0];
    let bs = opts.batch_size;
    let steps = n.div_ceil(bs);
    let seed = opts.seed.unwrap_or(default_seed);
    let mut rng = Rng::new(seed);
    let params = net.trainable_params();
    let mut callbacks: Vec<Box<dyn Callback>> = Vec::new();
    callbacks.push(Box::new(ProgressBar::new(opts.verbose)));
    callbacks.append(&mut opts.callbacks);
    let mut state = FitState {
        epochs: opts.epochs,
        steps,
        verbose: opts.verbose,
        stop_training: false,
        learning_rate: compiled.optimizer.learning_rate(),
        epoch: 0,
    };
    let mut history = History::default();
    let mut tracker = Tracker::new(compiled, &y_train.shape(), &full_shape(n, &out_shape))?;
    each(&mut callbacks, &mut state, net, |cb, ctx| {
        cb.on_train_begin(ctx)
    })?;
    let device = net.device();
    let mut global_step: u64 = 0;
    for epoch in 0..opts.epochs {
        state.epoch = epoch;
        each(&mut callbacks, &mut state, net, |cb, ctx| {
            cb.on_epoch_begin(epoch, ctx)
        })?;
        tracker.loss.reset();
        for m in tracker.metrics.iter_mut() {
            m.reset();
        }
        let perm = if opts.shuffle {
            let p: Vec<i64> = rng.permutation(n).into_iter().map(|i| i as i64).collect();
            Some(Tensor::<B>::from_vec_on(p, &[n], device)?)
        } else {
            None
        };
        for step in 0..steps {
            each(&mut callbacks, &mut state, net, |cb, ctx| {
                cb.on_train_batch_begin(step, ctx)
            })?;
            // A callback changed the rate: hand it to the optimizer (this replaces a
            // schedule, as assigning `optimizer.learning_rate` does in Keras).
            if state.learning_rate != compiled.optimizer.learning_rate() {
                compiled.optimizer.set_learning_rate(state.learning_rate);
            }
            let start = step * bs;
            let len = bs.min(n - start);
            let xb = batch(&x_train, perm.as_ref(), start, len)?;
            let yb = batch(&y_train, perm.as_ref(), start, len)?;
            let swb = match &sw_train {
                Some(w) => Some(batch(w, perm.as_ref(), start, len)?),
                None => None,
            };
            global_step += 1;
            let loss = train_step(
                &*net,
                compiled,
                &params,
                &xb,
                &yb,
                swb.as_ref(),
                Rng::derive(seed, global_step),
                &mut tracker.metrics,
            )?;
            tracker.loss.update_value(&loss, len as f64)?;
            // The rate for the next step (schedules advance with the optimizer's step count).
            state.learning_rate = compiled.optimizer.learning_rate();
            for cb in callbacks.iter_mut() {
                let mut ctx = CallbackContext {
                    state: &mut state,
                    model: net.access(),
                };
                cb.on_train_batch_end(step, &mut tracker, &mut ctx)?;
            }
            if state.stop_training {
                break;
            }
        }
        let mut logs = tracker.logs()?;
        if let Some((vx, vy)) = &val {
            each(&mut callbacks, &mut state, net, |cb, ctx| {
                cb.on_test_begin(ctx)
            })?;
            let vlogs = evaluate_prepared(&*net, compiled, vx, vy, bs)?;
            each(&mut callbacks, &mut state, net, |cb, ctx| {
                cb.on_test_end(&vlogs, ctx)
            })?;
            logs.extend_prefixed(&vlogs, "val_");
        }
        each(&mut callbacks, &mut state, net, |cb, ctx| {
            cb.on_epoch_end(epoch, &logs, ctx)
        })?;
        history.push(epoch, &logs);
        if state.stop_training {
            break;
        }
    }
    compiled.optimizer.set_learning_rate(state.learning_rate);
    each(&mut callbacks, &mut state, net, |cb, ctx| {
        cb.on_train_end(ctx)
    })?;
    Ok(history)
}

fn evaluate_prepared<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    compiled: &Compiled<B>,
    x: &Tensor<B>,
    y: &Tensor<B>,
    batch_size: usize,
) -> Result<Logs> {
    let n = x.shape()[0];
    let out_shape = net.output_shape()?;
    let mut tracker = Tracker::new(compiled, &y.shape(), &full_shape(n, &out_shape))?;
    let reg = net.regularization_loss()?.map(|r| r.detach());
    B::no_grad(|| -> Result<()> {
        for start in (0..n).step_by(batch_size) {
            let len = batch_size.min(n - start);
            let xb = x.narrow(0, start, len)?;
            let yb = y.narrow(0, start, len)?;
            let pred = net.forward(&xb, &mut CallContext::inference())?.detach();
            let mut loss = compiled.loss.per_sample(&yb, &pred)?.mean_all()?;
            if let Some(r) = &reg {
                loss = loss.add(&r.to_dtype(loss.dtype())?)?;
            }
            tracker.loss.update_value(&loss, len as f64)?;
            for m in tracker.metrics.iter_mut() {
                m.update(&yb, &pred)?;
            }
        }
        Ok(())
    })?;
    tracker.logs()
}

/// The `evaluate` computation.
///
/// # Errors
/// See `Sequential::evaluate`.
pub fn evaluate<B: Backend, N: Network<B> + ?Sized>(
    net: &mut N,
    compiled: &Compiled<B>,
    x: &Tensor<B>,
    y: &Tensor<B>,
    batch_size: usize,
) -> Result<Logs> {
    check_batch_size("evaluate", batch_size)?;
    let n = check_xy("evaluate", x, y)?;
    net.prepare_input(x)?;
    let out_shape = net.output_shape()?;
    let x = to_model(net, x)?;
    let y = targets(net, compiled, y)?;
    compiled
        .loss
        .check_targets(&y, &full_shape(n, &out_shape))?;
    evaluate_prepared(&*net, compiled, &x, &y, batch_size)
}

/// The `predict` computation: batched inference, detached outputs joined on the device.
///
/// # Errors
/// See `Sequential::predict`.
pub fn predict<B: Backend, N: Network<B> + ?Sized>(
    net: &mut N,
    x: &Tensor<B>,
    batch_size: usize,
) -> Result<Tensor<B>> {
    check_batch_size("predict", batch_size)?;
    if x.rank() == 0 {
        return Err(Error::shape(
            net.model_name(),
            "x",
            "a batch (rank >= 1)",
            &x.shape(),
        ));
    }
    net.prepare_input(x)?;
    let x = to_model(net, x)?;
    let n = x.shape()[0];
    let mut outs = Vec::with_capacity(n.div_ceil(batch_size));
    B::no_grad(|| -> Result<()> {
        for start in (0..n).step_by(batch_size) {
            let len = batch_size.min(n - start);
            let xb = x.narrow(0, start, len)?;
            outs.push(net.forward(&xb, &mut CallContext::inference())?.detach());
        }
        Ok(())
    })?;
    if outs.is_empty() {
        let out_shape = net.output_shape()?;
        return Tensor::zeros(&full_shape(0, &out_shape), net.dtype(), net.device());
    }
    if outs.len() == 1 {
        return Ok(outs.remove(0));
    }
    Tensor::concat(&outs, 0)
}
