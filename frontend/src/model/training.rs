//! The training loop shared by every model kind (`Sequential` and the functional `Model`):
//! compile state, `fit`, `evaluate`, `predict`, with any number of inputs and outputs.

use super::data::Data;
use crate::backend::{Backend, DType, Device};
use crate::callbacks::{
    Callback, CallbackContext, FitState, History, LogSource, Logs, ModelAccess, ProgressBar,
};
use crate::dataset::{BatchTensors, Dataset, Upload};
use crate::error::{Error, Result};
use crate::layers::CallContext;
use crate::losses::{IntoLoss, Loss};
use crate::metrics::{Mean, Metric, MetricSpec};
use crate::optimizers::{IntoOptimizer, Optimizer};
use crate::random::Rng;
use crate::tensor::Tensor;
use std::sync::{Arc, Mutex};

/// What the training loop needs from a model.
pub trait Network<B: Backend> {
    /// Model name (`sequential`).
    fn model_name(&self) -> &str;
    /// Names of the inputs, in order.
    fn input_names(&self) -> Vec<String>;
    /// Names of the outputs, in order.
    fn output_names(&self) -> Vec<String>;
    /// Forward pass on a batch: one tensor per input, one per output.
    ///
    /// # Errors
    /// Shape errors naming the layer.
    fn forward(&self, xs: &[Tensor<B>], ctx: &mut CallContext) -> Result<Vec<Tensor<B>>>;
    /// Trainable parameters in a fixed order.
    fn trainable_params(&self) -> Vec<Tensor<B>>;
    /// Sum of the layers' weight-regularisation penalties.
    ///
    /// # Errors
    /// On engine errors.
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>>;
    /// Checks that the inputs fit the model, building it on their shapes if needed.
    ///
    /// # Errors
    /// [`Error::Shape`] naming the first layer, with expected and actual shapes.
    fn prepare_inputs(&mut self, xs: &[Tensor<B>]) -> Result<()>;
    /// Per-sample output shapes.
    ///
    /// # Errors
    /// When the model is not built.
    fn output_shapes(&self) -> Result<Vec<Vec<usize>>>;
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

/// What `compile` sets: the optimizer, and per output a loss, its weight and metric names.
#[derive(Debug)]
pub struct Compiled<B: Backend> {
    /// The optimizer.
    pub optimizer: Box<dyn Optimizer<B>>,
    /// One loss per output (`None`: the output is not trained).
    pub losses: Vec<Option<Box<dyn Loss<B>>>>,
    /// Weight of each output's loss in the total.
    pub loss_weights: Vec<f64>,
    /// Metrics per output: names (resolved on the first batch, when shapes are known) or
    /// metric objects.
    pub metrics: Vec<Vec<CompiledMetric<B>>>,
    /// Output names (for log names and errors).
    pub output_names: Vec<String>,
}

/// A compiled metric: a name resolved per pass, or a metric object given to `compile`
/// (shared by the training and validation passes, reset between them, as in Keras).
pub enum CompiledMetric<B: Backend> {
    /// A metric name (`accuracy`, `auc`, ...).
    Name(String),
    /// A metric object.
    Object(Arc<Mutex<Box<dyn Metric<B>>>>),
}

impl<B: Backend> Clone for CompiledMetric<B> {
    fn clone(&self) -> Self {
        match self {
            CompiledMetric::Name(n) => CompiledMetric::Name(n.clone()),
            CompiledMetric::Object(o) => CompiledMetric::Object(o.clone()),
        }
    }
}

impl<B: Backend> std::fmt::Debug for CompiledMetric<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CompiledMetric({})", self.name())
    }
}

impl<B: Backend> CompiledMetric<B> {
    /// The metric's name (as logged).
    pub fn name(&self) -> String {
        match self {
            CompiledMetric::Name(n) => n.clone(),
            CompiledMetric::Object(o) => o.lock().map(|m| m.name().to_string()).unwrap_or_default(),
        }
    }

    fn from_spec(spec: MetricSpec<B>) -> Result<Self> {
        spec.check()?;
        Ok(match spec {
            MetricSpec::Name(n) => CompiledMetric::Name(n),
            MetricSpec::Metric(m) => CompiledMetric::Object(Arc::new(Mutex::new(m))),
        })
    }

    fn instantiate(
        &self,
        kind: crate::losses::TargetKind,
        y_true_shape: &[usize],
        y_pred_shape: &[usize],
    ) -> Result<Box<dyn Metric<B>>> {
        match self {
            CompiledMetric::Name(n) => {
                crate::metrics::get::<B>(n, kind, y_true_shape, y_pred_shape)
            }
            CompiledMetric::Object(o) => {
                let shared = SharedMetric(o.clone(), self.name());
                Ok(Box::new(shared))
            }
        }
    }
}

/// A metric object used through its shared handle.
struct SharedMetric<B: Backend>(Arc<Mutex<Box<dyn Metric<B>>>>, String);

impl<B: Backend> std::fmt::Debug for SharedMetric<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedMetric({})", self.1)
    }
}

impl<B: Backend> Metric<B> for SharedMetric<B> {
    fn name(&self) -> &str {
        &self.1
    }
    fn update(&mut self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<()> {
        self.0
            .lock()
            .map_err(|_| Error::invalid(&self.1, "lock", "poisoned"))?
            .update(y_true, y_pred)
    }
    fn result(&self) -> Result<f64> {
        self.0
            .lock()
            .map_err(|_| Error::invalid(&self.1, "lock", "poisoned"))?
            .result()
    }
    fn reset(&mut self) {
        if let Ok(mut m) = self.0.lock() {
            m.reset();
        }
    }
}

impl<B: Backend> Compiled<B> {
    /// The loss of the first output.
    pub fn loss(&self) -> Option<&dyn Loss<B>> {
        self.losses.first().and_then(|l| l.as_deref())
    }
}

/// A loss given to [`Compile`], or the error from resolving its name (reported by
/// `compile_with`).
type LossResult<B> = Result<Box<dyn Loss<B>>>;

/// `compile` arguments for models with several outputs: a loss, loss weight and metrics per
/// output name, like Keras' dicts.
///
/// ```
/// use stratanet::{model::Compile, DefaultBackend as B};
/// let c = Compile::<B>::new("adam")
///     .loss("digit", "sparse_categorical_crossentropy")
///     .loss("size", "mse")
///     .loss_weight("size", 0.5)
///     .metrics("digit", &["accuracy"]);
/// # let _ = c;
/// ```
pub struct Compile<B: Backend> {
    optimizer: Result<Box<dyn Optimizer<B>>>,
    losses: Vec<(String, LossResult<B>)>,
    default_loss: Option<Result<Box<dyn Loss<B>>>>,
    loss_weights: Vec<(String, f64)>,
    metrics: Vec<(String, MetricSpec<B>)>,
}

impl<B: Backend> std::fmt::Debug for Compile<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compile").finish_non_exhaustive()
    }
}

impl<B: Backend> Compile<B> {
    /// Starts with an optimizer (a name or a value).
    pub fn new(optimizer: impl IntoOptimizer<B>) -> Self {
        Self {
            optimizer: optimizer.into_optimizer(),
            losses: Vec::new(),
            default_loss: None,
            loss_weights: Vec::new(),
            metrics: Vec::new(),
        }
    }
    /// The loss of every output that has no [`Compile::loss`] of its own.
    pub fn default_loss(mut self, loss: impl IntoLoss<B>) -> Self {
        self.default_loss = Some(loss.into_loss());
        self
    }
    /// Adds a metric (a name or a metric object such as `Precision::new()`) for output
    /// `output`; an empty output name means the model's only output.
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// use stratanet::metrics::{Precision, AUC};
    /// # fn main() -> stratanet::Result<()> {
    /// let mut m = Sequential::<DefaultBackend>::new().with_seed(0);
    /// m.add(Input::new(&[2]))?;
    /// m.add(Dense::new(1).activation("sigmoid"))?;
    /// m.compile_with(
    ///     Compile::new("adam")
    ///         .default_loss("binary_crossentropy")
    ///         .metric("", "accuracy")
    ///         .metric("", Precision::new())
    ///         .metric("", AUC::new()),
    /// )?;
    /// let x = Tensor::<DefaultBackend>::uniform(&[32, 2], -1.0, 1.0, 1, DType::F32, Device::Cpu)?;
    /// let y = x.sum(&[-1], true)?.gt_scalar(0.0)?.to_dtype(DType::F32)?;
    /// let logs = m.evaluate(&x, &y, 32)?;
    /// assert!(logs.get("precision").is_some() && logs.get("auc").is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn metric(mut self, output: &str, metric: impl Into<MetricSpec<B>>) -> Self {
        self.metrics.push((output.to_string(), metric.into()));
        self
    }
    /// The loss of output `output`.
    pub fn loss(mut self, output: &str, loss: impl IntoLoss<B>) -> Self {
        self.losses.push((output.to_string(), loss.into_loss()));
        self
    }
    /// The weight of output `output`'s loss in the total (default 1).
    pub fn loss_weight(mut self, output: &str, weight: f64) -> Self {
        self.loss_weights.push((output.to_string(), weight));
        self
    }
    /// Metric names for output `output` (an empty name: the model's only output).
    pub fn metrics(mut self, output: &str, metrics: &[&str]) -> Self {
        for m in metrics {
            self.metrics
                .push((output.to_string(), MetricSpec::Name(m.to_string())));
        }
        self
    }

    /// Resolves against the model's output names.
    ///
    /// # Errors
    /// Unknown output names, unknown loss/metric/optimizer names, or no loss at all.
    pub fn resolve(self, output_names: &[String]) -> Result<Compiled<B>> {
        let known: Vec<&str> = output_names.iter().map(String::as_str).collect();
        let index = |name: &str| -> Result<usize> {
            if name.is_empty() {
                return if output_names.len() == 1 {
                    Ok(0)
                } else {
                    Err(Error::invalid(
                        "compile",
                        "output",
                        format!("an empty output name is only for single-output models; this one has {}", known.join(", ")),
                    ))
                };
            }
            output_names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| Error::unknown("output", name, &known))
        };
        let mut losses: Vec<Option<Box<dyn Loss<B>>>> = output_names.iter().map(|_| None).collect();
        for (name, loss) in self.losses {
            losses[index(&name)?] = Some(loss?);
        }
        if let Some(default) = self.default_loss {
            let default = default?;
            let (name, cfg) = (default.name(), default.get_config());
            let mut default = Some(default);
            for l in losses.iter_mut().filter(|l| l.is_none()) {
                *l = Some(match default.take() {
                    Some(d) => d,
                    None => crate::losses::from_config::<B>(name, &cfg)?,
                });
            }
        }
        if losses.iter().all(|l| l.is_none()) {
            return Err(Error::invalid("compile", "loss", "no output has a loss"));
        }
        let mut loss_weights = vec![1.0; output_names.len()];
        for (name, w) in self.loss_weights {
            loss_weights[index(&name)?] = w;
        }
        let mut metrics: Vec<Vec<CompiledMetric<B>>> = vec![Vec::new(); output_names.len()];
        for (name, m) in self.metrics {
            metrics[index(&name)?].push(CompiledMetric::from_spec(m)?);
        }
        Ok(Compiled {
            optimizer: self.optimizer?,
            losses,
            loss_weights,
            metrics,
            output_names: output_names.to_vec(),
        })
    }
}

/// The single-loss form of `compile`: the same loss and metrics for every output.
///
/// # Errors
/// Unknown names.
pub fn compile_simple<B: Backend>(
    output_names: &[String],
    optimizer: impl IntoOptimizer<B>,
    loss: impl IntoLoss<B>,
    metrics: &[&str],
) -> Result<Compiled<B>> {
    for m in metrics {
        crate::metrics::check_name(m)?;
    }
    let optimizer = optimizer.into_optimizer()?;
    let first = loss.into_loss()?;
    let (name, cfg) = (first.name(), first.get_config());
    let mut losses: Vec<Option<Box<dyn Loss<B>>>> = vec![Some(first)];
    for _ in 1..output_names.len() {
        losses.push(Some(crate::losses::from_config::<B>(name, &cfg)?));
    }
    Ok(Compiled {
        optimizer,
        losses,
        loss_weights: vec![1.0; output_names.len()],
        metrics: vec![
            metrics
                .iter()
                .map(|s| CompiledMetric::Name(s.to_string()))
                .collect();
            output_names.len()
        ],
        output_names: output_names.to_vec(),
    })
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
    pub validation_data: Option<(Data<B>, Data<B>)>,
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
    /// Epoch to start at (0-based), for resuming: `epochs` is the index of the last epoch
    /// plus one, as in Keras.
    pub initial_epoch: usize,
    /// Batches per epoch (`None`: one pass over the data). With tensors an epoch is that
    /// many batches, continuing through the (reshuffled) data across epochs; with a dataset,
    /// that many batches, restarting the dataset when it is exhausted.
    pub steps_per_epoch: Option<usize>,
    /// Validate every `validation_freq`-th epoch (those where `(epoch + 1) % freq == 0`,
    /// as Keras); default 1.
    pub validation_freq: usize,
    /// Batch size of the validation pass (default: `batch_size`).
    pub validation_batch_size: Option<usize>,
    /// Validation data as a [`Dataset`] (takes precedence over `validation_data` and
    /// `validation_split`).
    pub validation_dataset: Option<Dataset>,
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
            initial_epoch: 0,
            steps_per_epoch: None,
            validation_freq: 1,
            validation_batch_size: None,
            validation_dataset: None,
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
            .field("initial_epoch", &self.initial_epoch)
            .field("steps_per_epoch", &self.steps_per_epoch)
            .field("validation_freq", &self.validation_freq)
            .field("validation_batch_size", &self.validation_batch_size)
            .field("validation_dataset", &self.validation_dataset)
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
    /// Sets `validation_data` (tensors, lists or named pairs, like `fit`'s `x` and `y`).
    pub fn validation_data(mut self, x: impl Into<Data<B>>, y: impl Into<Data<B>>) -> Self {
        self.validation_data = Some((x.into(), y.into()));
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
    /// Starts at epoch `epoch` (resuming a run: with the same seed, the shuffles and dropout
    /// masks continue where an uninterrupted run would be).
    pub fn initial_epoch(mut self, epoch: usize) -> Self {
        self.initial_epoch = epoch;
        self
    }
    /// Sets `steps_per_epoch`: batches per epoch (see the field).
    pub fn steps_per_epoch(mut self, steps: usize) -> Self {
        self.steps_per_epoch = Some(steps);
        self
    }
    /// Validates every `freq`-th epoch (`(epoch + 1) % freq == 0`).
    pub fn validation_freq(mut self, freq: usize) -> Self {
        self.validation_freq = freq;
        self
    }
    /// Sets the batch size of the validation pass.
    pub fn validation_batch_size(mut self, batch_size: usize) -> Self {
        self.validation_batch_size = Some(batch_size);
        self
    }
    /// Validates on a [`Dataset`] (unbatched datasets are batched by the validation batch
    /// size).
    pub fn validation_dataset(mut self, data: Dataset) -> Self {
        self.validation_dataset = Some(data);
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
    /// Per-output loss means (only with several trained outputs).
    output_losses: Vec<Option<Mean<B>>>,
    /// Per-output metrics.
    metrics: Vec<Vec<Box<dyn Metric<B>>>>,
    prefixes: Vec<String>,
}

impl<B: Backend> Tracker<B> {
    fn new(compiled: &Compiled<B>, ys: &[Tensor<B>], out_shapes: &[Vec<usize>]) -> Result<Self> {
        let multi = compiled.output_names.len() > 1;
        let prefixes: Vec<String> = compiled
            .output_names
            .iter()
            .map(|n| {
                if multi {
                    format!("{n}_")
                } else {
                    String::new()
                }
            })
            .collect();
        let mut metrics = Vec::new();
        for (i, names) in compiled.metrics.iter().enumerate() {
            let kind = compiled.losses[i]
                .as_ref()
                .map(|l| l.target_kind())
                .unwrap_or(crate::losses::TargetKind::Regression);
            let n = ys[i].shape().first().copied().unwrap_or(0);
            let pred_shape = full_shape(n, &out_shapes[i]);
            let mut ms = Vec::new();
            for name in names {
                ms.push(name.instantiate(kind, &ys[i].shape(), &pred_shape)?);
            }
            metrics.push(ms);
        }
        let output_losses = compiled
            .losses
            .iter()
            .map(|l| (multi && l.is_some()).then(|| Mean::new("loss")))
            .collect();
        Ok(Self {
            loss: Mean::new("loss"),
            output_losses,
            metrics,
            prefixes,
        })
    }

    fn reset(&mut self) {
        self.loss.reset();
        for m in self.output_losses.iter_mut().flatten() {
            m.reset();
        }
        for m in self.metrics.iter_mut().flatten() {
            m.reset();
        }
    }

    fn update_metrics(&mut self, ys: &[Tensor<B>], preds: &[Tensor<B>]) -> Result<()> {
        for (i, ms) in self.metrics.iter_mut().enumerate() {
            for m in ms.iter_mut() {
                m.update(&ys[i], &preds[i])?;
            }
        }
        Ok(())
    }

    fn logs(&self) -> Result<Logs> {
        let mut l = Logs::new();
        l.insert("loss", self.loss.result()?);
        for (i, m) in self.output_losses.iter().enumerate() {
            if let Some(m) = m {
                l.insert(format!("{}loss", self.prefixes[i]), m.result()?);
            }
        }
        for (i, ms) in self.metrics.iter().enumerate() {
            for m in ms {
                l.insert(format!("{}{}", self.prefixes[i], m.name()), m.result()?);
            }
        }
        Ok(l)
    }
}

impl<B: Backend> LogSource for Tracker<B> {
    fn logs(&mut self) -> Result<Logs> {
        Tracker::logs(self)
    }
}

fn count_samples<B: Backend>(op: &str, xs: &[Tensor<B>], ys: &[Tensor<B>]) -> Result<usize> {
    let first = xs
        .first()
        .ok_or_else(|| Error::invalid(op, "x", "at least one input tensor"))?;
    let xs0 = first.shape();
    let n = xs0
        .first()
        .copied()
        .ok_or_else(|| Error::shape(op, "x", "a batch (rank >= 1)", &xs0))?;
    for t in xs.iter().chain(ys) {
        let s = t.shape();
        if s.first().copied() != Some(n) {
            return Err(Error::ShapeMismatch {
                op: op.into(),
                lhs: crate::error::ShapeList(xs0.clone()),
                rhs: crate::error::ShapeList(s.clone()),
                detail: Some(format!(
                    "x and y must have the same number of samples (first dimension): {} vs {}",
                    n,
                    s.first().copied().unwrap_or(0)
                )),
            });
        }
    }
    Ok(n)
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

/// Moves inputs to the model's device and dtype (floats only; integer inputs stay integers).
fn to_model<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    xs: &[Tensor<B>],
) -> Result<Vec<Tensor<B>>> {
    xs.iter()
        .map(|x| {
            let x = x.to_device(net.device())?;
            if x.dtype().is_float() {
                x.to_dtype(net.dtype())
            } else {
                Ok(x)
            }
        })
        .collect()
}

/// Converts the targets to the dtypes their losses train on (integer labels for sparse
/// losses). Float labels for an integer target must hold whole numbers, as Keras' cast
/// assumes: a fractional, NaN or infinite label is refused (naming `op`, the loss and the
/// value) instead of being truncated to a class.
fn targets<B: Backend, N: Network<B> + ?Sized>(
    op: &str,
    net: &N,
    compiled: &Compiled<B>,
    ys: &[Tensor<B>],
) -> Result<Vec<Tensor<B>>> {
    ys.iter()
        .zip(&compiled.losses)
        .map(|(y, loss)| {
            let dtype = loss
                .as_ref()
                .map(|l| l.target_dtype(net.dtype()))
                .unwrap_or(net.dtype());
            if let (Some(l), false, true) = (loss, dtype.is_float(), y.dtype().is_float()) {
                let values = y.to_vec_f64()?;
                if let Some((i, v)) = values
                    .iter()
                    .enumerate()
                    .find(|(_, v)| !v.is_finite() || v.fract() != 0.0)
                {
                    return Err(Error::invalid(
                        op,
                        "y",
                        format!(
                            "{} needs integer class labels; sample {i} has label {v} (y has dtype {:?})",
                            l.name(),
                            y.dtype()
                        ),
                    ));
                }
            }
            y.to_device(net.device())?.to_dtype(dtype)
        })
        .collect()
}

/// `x` must hold at least one sample for `fit` and `evaluate` (Keras fails on empty data
/// too: there is no loss to report).
fn check_not_empty<B: Backend>(op: &str, n: usize, xs: &[Tensor<B>]) -> Result<()> {
    if n == 0 {
        let shape = xs.first().map(|x| x.shape()).unwrap_or_default();
        return Err(Error::invalid(
            op,
            "x",
            format!("no samples (shape {shape:?}): there is nothing to train on or evaluate"),
        ));
    }
    Ok(())
}

fn check_all_targets<B: Backend>(
    compiled: &Compiled<B>,
    ys: &[Tensor<B>],
    out_shapes: &[Vec<usize>],
) -> Result<()> {
    for (i, y) in ys.iter().enumerate() {
        if let Some(loss) = &compiled.losses[i] {
            let n = y.shape().first().copied().unwrap_or(0);
            loss.check_targets(y, &full_shape(n, &out_shapes[i]))?;
        }
    }
    Ok(())
}

fn full_shape(n: usize, per_sample: &[usize]) -> Vec<usize> {
    std::iter::once(n)
        .chain(per_sample.iter().copied())
        .collect()
}

/// Rows `start..start + len` of `t`, or of `t` reordered by `perm`, a permutation of
/// `0..n` (`n` = `t`'s rows) built by [`TensorFeed`]: its entries are in range by
/// construction, so the engine's range check (a device read per batch on CUDA) is skipped.
fn batch<B: Backend>(
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

fn batch_all<B: Backend>(
    ts: &[Tensor<B>],
    idx: Option<&Tensor<B>>,
    start: usize,
    len: usize,
) -> Result<Vec<Tensor<B>>> {
    ts.iter().map(|t| batch(t, idx, start, len)).collect()
}

fn narrow_all<B: Backend>(ts: &[Tensor<B>], start: usize, len: usize) -> Result<Vec<Tensor<B>>> {
    ts.iter().map(|t| t.narrow(0, start, len)).collect()
}

/// The losses of a batch: the total objective (weighted output losses, sample weights,
/// weight and activity penalties) and each output's weighted-by-sample loss.
struct BatchLoss<B: Backend> {
    total: Tensor<B>,
    per_output: Vec<Option<Tensor<B>>>,
}

/// The [`BatchLoss`] of a batch. `targets_checked`: `ys` passed [`check_all_targets`]
/// before the loop, so the losses skip their per-batch device reads
/// ([`Loss::per_sample_checked`](crate::losses::Loss::per_sample_checked)).
#[allow(clippy::too_many_arguments)]
fn batch_loss<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    compiled: &Compiled<B>,
    ys: &[Tensor<B>],
    preds: &[Tensor<B>],
    sample_weight: Option<&Tensor<B>>,
    ctx: &mut CallContext,
    with_penalties: bool,
    targets_checked: bool,
) -> Result<BatchLoss<B>> {
    let mut total: Option<Tensor<B>> = None;
    let mut per_output = Vec::with_capacity(preds.len());
    for (i, pred) in preds.iter().enumerate() {
        let Some(loss_fn) = &compiled.losses[i] else {
            per_output.push(None);
            continue;
        };
        let per_sample = if targets_checked {
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
            crate::losses::Reduction::None => crate::losses::reduce_weighted_values(
                &per_sample,
                sample_weight,
                crate::losses::Reduction::SumOverBatchSize,
            )?,
            r => crate::losses::reduce_weighted_values(&per_sample, sample_weight, r)?,
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
    let mut total =
        total.ok_or_else(|| Error::invalid("compile", "loss", "no output has a loss"))?;
    if with_penalties {
        if let Some(r) = net.regularization_loss()? {
            total = total.add(&r.to_dtype(total.dtype())?)?;
        }
    }
    if let Some(a) = ctx.take_activity_loss::<B>()? {
        total = total.add(&a.to_dtype(total.dtype())?)?;
    }
    Ok(BatchLoss { total, per_output })
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
    Ok(batch_loss(net, compiled, ys, preds, sample_weight, ctx, true, false)?.total)
}

/// Per-sample weights for `class_weight` (`weights[c]` for samples of class `c`): class
/// indices are the labels (`[N]`/`[N, 1]` integers), the argmax of one-hot targets, or
/// the rounded value of `[N, 1]` binary targets.
fn class_sample_weights<B: Backend>(y: &Tensor<B>, class_weight: &[f64]) -> Result<Tensor<B>> {
    let s = y.shape();
    let classes: Vec<i64> = match s.as_slice() {
        [_] | [_, 1] => y.to_vec_f64()?.iter().map(|v| v.round() as i64).collect(),
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

/// One optimisation step on a batch; returns the detached total loss (with penalties) and
/// updates the tracker's per-output losses and metrics.
fn train_step<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    compiled: &mut Compiled<B>,
    params: &[Tensor<B>],
    b: &FeedBatch<B>,
    seed: u64,
    tracker: &mut Tracker<B>,
) -> Result<Tensor<B>> {
    let (xs, ys) = (&b.xs, &b.ys);
    let mut ctx = CallContext::training(seed);
    let preds = net.forward(xs, &mut ctx)?;
    let losses = batch_loss(
        net,
        compiled,
        ys,
        &preds,
        b.sw.as_ref(),
        &mut ctx,
        true,
        b.targets_checked,
    )?;
    let grads = losses.total.grad(params)?;
    compiled.optimizer.apply(params, &grads)?;
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

/// A batch ready for the model: inputs, targets, per-sample weights, sample count.
struct FeedBatch<B: Backend> {
    xs: Vec<Tensor<B>>,
    ys: Vec<Tensor<B>>,
    sw: Option<Tensor<B>>,
    len: usize,
    /// The targets were validated by the losses' `check_targets` before the loop (all of
    /// them, not only this batch's), so the losses may skip their per-batch device reads.
    targets_checked: bool,
}

/// Where the batches of a training, evaluation or prediction pass come from: tensors on
/// the device, or a [`Dataset`].
trait Feed<B: Backend> {
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
struct TensorFeed<B: Backend> {
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
    fn new(
        xs: Vec<Tensor<B>>,
        ys: Vec<Tensor<B>>,
        sw: Option<Tensor<B>>,
        batch_size: usize,
        rng: Option<Rng>,
        steps_per_epoch: Option<usize>,
        device: Device,
    ) -> Self {
        let n = xs.first().map(|x| x.shape()[0]).unwrap_or(0);
        Self {
            xs,
            ys,
            sw,
            n,
            batch_size,
            rng,
            steps_per_epoch,
            device,
            perm_host: Vec::new(),
            perm: None,
            pos: usize::MAX,
            step: 0,
        }
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
    fn skip_epochs(&mut self, epochs: usize) {
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
struct DatasetFeed<'a, B: Backend> {
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
    #[allow(clippy::too_many_arguments)]
    fn new(
        ds: &'a mut Dataset,
        op: &'static str,
        batch_size: usize,
        steps_per_epoch: Option<usize>,
        upload: Upload,
        class_weight: Option<Vec<f64>>,
        inputs: usize,
        outputs: Option<usize>,
    ) -> Self {
        Self {
            ds,
            op,
            batch_size,
            steps_per_epoch,
            upload,
            class_weight,
            inputs,
            outputs,
            pending: None,
            step: 0,
        }
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
    fn peek(&mut self) -> Result<&FeedBatch<B>> {
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
fn upload_for<B: Backend, N: Network<B> + ?Sized>(
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
type OutputsAndTargets<B> = (Vec<Vec<usize>>, Vec<Tensor<B>>);

/// Builds the model on a dataset's first batch and checks its targets; returns the
/// output shapes and the first batch's targets (to size the metrics).
fn prepare_from_dataset<B: Backend, N: Network<B> + ?Sized>(
    net: &mut N,
    compiled: &Compiled<B>,
    feed: &mut DatasetFeed<'_, B>,
) -> Result<OutputsAndTargets<B>> {
    let first_xs = feed.peek()?.xs.clone();
    net.prepare_inputs(&first_xs)?;
    let out_shapes = net.output_shapes()?;
    let ys = feed.first_targets()?;
    check_all_targets(compiled, &ys, &out_shapes)?;
    Ok((out_shapes, ys))
}

/// Checks the options shared by both forms of `fit`.
fn check_fit_options<B: Backend>(op: &str, opts: &FitOptions<B>) -> Result<()> {
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
fn validation_tensors<B: Backend, N: Network<B> + ?Sized>(
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
fn validation_feed<'a, B: Backend, N: Network<B> + ?Sized>(
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
            None,
            upload_for(net, Some(compiled)),
            None,
            net.input_names().len(),
            Some(net.output_names().len()),
        )));
    }
    tensors.map(|(vx, vy)| -> Box<dyn Feed<B> + 'a> {
        Box::new(TensorFeed::new(
            vx,
            vy,
            None,
            batch_size,
            None,
            None,
            net.device(),
        ))
    })
}

/// What the shared epoch loop needs besides the feeds.
struct LoopOptions {
    epochs: usize,
    initial_epoch: usize,
    verbose: u8,
    validation_freq: usize,
    seed: u64,
    /// The step counter before the first step (seeds dropout per step).
    global_step: u64,
    callbacks: Vec<Box<dyn Callback>>,
}

/// The epoch, step and callback loop shared by [`fit`] and [`fit_dataset`].
fn run_fit<B: Backend, N: Network<B> + ?Sized>(
    net: &mut N,
    compiled: &mut Compiled<B>,
    feed: &mut dyn Feed<B>,
    tracker_ys: &[Tensor<B>],
    mut val: Option<Box<dyn Feed<B> + '_>>,
    mut lo: LoopOptions,
) -> Result<History> {
    let out_shapes = net.output_shapes()?;
    let params = net.trainable_params();
    let mut callbacks: Vec<Box<dyn Callback>> = Vec::new();
    callbacks.push(Box::new(ProgressBar::new(lo.verbose)));
    callbacks.append(&mut lo.callbacks);
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
    let mut global_step = lo.global_step;
    for epoch in lo.initial_epoch..lo.epochs {
        state.epoch = epoch;
        state.steps = feed.steps().unwrap_or(0);
        feed.begin_epoch(epoch)?;
        each(&mut callbacks, &mut state, net, |cb, ctx| {
            cb.on_epoch_begin(epoch, ctx)
        })?;
        tracker.reset();
        let mut step = 0;
        while let Some(b) = feed.next_batch()? {
            each(&mut callbacks, &mut state, net, |cb, ctx| {
                cb.on_train_batch_begin(step, ctx)
            })?;
            // A callback changed the rate: hand it to the optimizer (this replaces a
            // schedule, as assigning `optimizer.learning_rate` does in Keras).
            if state.learning_rate != compiled.optimizer.learning_rate() {
                compiled.optimizer.set_learning_rate(state.learning_rate);
            }
            global_step += 1;
            let loss = train_step(
                &*net,
                compiled,
                &params,
                &b,
                Rng::derive(lo.seed, global_step),
                &mut tracker,
            )?;
            tracker.loss.update_value(&loss, b.len as f64)?;
            // The rate for the next step (schedules advance with the optimizer's step count).
            state.learning_rate = compiled.optimizer.learning_rate();
            for cb in callbacks.iter_mut() {
                let mut ctx = CallbackContext {
                    state: &mut state,
                    model: net.access(),
                };
                cb.on_train_batch_end(step, &mut tracker, &mut ctx)?;
            }
            step += 1;
            if state.stop_training {
                break;
            }
        }
        let mut logs = tracker.logs()?;
        if let Some(vfeed) = val
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
            let vlogs = evaluate_feed(net, compiled, vfeed.as_mut(), &vys, Some(hooks))?;
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
    if state.learning_rate != compiled.optimizer.learning_rate() {
        compiled.optimizer.set_learning_rate(state.learning_rate);
    }
    each(&mut callbacks, &mut state, net, |cb, ctx| {
        cb.on_train_end(ctx)
    })?;
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
            Some(class_sample_weights(&ys[0], cw)?.to_dtype(net.dtype())?)
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

    let seed = opts.seed.unwrap_or(default_seed);
    let rng = opts.shuffle.then(|| Rng::new(seed));
    let mut feed = TensorFeed::new(
        x_train,
        y_train.clone(),
        sw_train,
        opts.batch_size,
        rng,
        opts.steps_per_epoch,
        net.device(),
    );
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
    };
    run_fit(net, compiled, &mut feed, &y_train, val, lo)
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
    let mut feed = DatasetFeed::new(
        train,
        "fit_dataset",
        opts.batch_size,
        opts.steps_per_epoch,
        upload_for(net, Some(compiled)),
        opts.class_weight.take(),
        net.input_names().len(),
        Some(n_out),
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
    let lo = LoopOptions {
        epochs: opts.epochs,
        initial_epoch: opts.initial_epoch,
        verbose: opts.verbose,
        validation_freq: opts.validation_freq,
        seed: opts.seed.unwrap_or(default_seed),
        global_step,
        callbacks: std::mem::take(&mut opts.callbacks),
    };
    run_fit(net, compiled, &mut feed, &tracker_ys, val, lo)
}

/// Callbacks and state for the per-batch hooks of an evaluation or prediction pass.
struct Hooks<'a> {
    callbacks: &'a mut [Box<dyn Callback>],
    state: &'a mut FitState,
}

/// An evaluation pass over `feed` (inference mode, detached results).
fn evaluate_feed<B: Backend, N: Network<B> + ?Sized>(
    net: &mut N,
    compiled: &Compiled<B>,
    feed: &mut dyn Feed<B>,
    tracker_ys: &[Tensor<B>],
    mut hooks: Option<Hooks<'_>>,
) -> Result<Logs> {
    let out_shapes = net.output_shapes()?;
    let mut tracker = Tracker::new(compiled, tracker_ys, &out_shapes)?;
    let reg = net.regularization_loss()?.map(|r| r.detach());
    B::no_grad(|| -> Result<()> {
        let mut step = 0;
        while let Some(b) = feed.next_batch()? {
            if let Some(h) = hooks.as_mut() {
                each(h.callbacks, h.state, net, |cb, ctx| {
                    cb.on_test_batch_begin(step, ctx)
                })?;
            }
            let mut ctx = CallContext::inference();
            let preds: Vec<Tensor<B>> = net
                .forward(&b.xs, &mut ctx)?
                .into_iter()
                .map(|p| p.detach())
                .collect();
            let losses = batch_loss(
                &*net,
                compiled,
                &b.ys,
                &preds,
                None,
                &mut ctx,
                false,
                b.targets_checked,
            )?;
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
            if let Some(h) = hooks.as_mut() {
                for cb in h.callbacks.iter_mut() {
                    let mut cctx = CallbackContext {
                        state: &mut *h.state,
                        model: net.access(),
                    };
                    cb.on_test_batch_end(step, &mut tracker, &mut cctx)?;
                }
            }
            step += 1;
        }
        Ok(())
    })?;
    tracker.logs()
}

/// `evaluate` on a feed, with the callbacks' `on_test_*` hooks.
fn evaluate_with_hooks<B: Backend, N: Network<B> + ?Sized>(
    net: &mut N,
    compiled: &Compiled<B>,
    feed: &mut dyn Feed<B>,
    callbacks: &mut [Box<dyn Callback>],
) -> Result<Logs> {
    feed.begin_epoch(0)?;
    let ys = feed.first_targets()?;
    if callbacks.is_empty() {
        return evaluate_feed(net, compiled, feed, &ys, None);
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
    let logs = evaluate_feed(net, compiled, feed, &ys, Some(hooks))?;
    each(callbacks, &mut state, net, |cb, ctx| {
        cb.on_test_end(&logs, ctx)
    })?;
    Ok(logs)
}

/// The `evaluate` computation.
///
/// # Errors
/// As [`fit`].
pub fn evaluate<B: Backend, N: Network<B> + ?Sized>(
    net: &mut N,
    compiled: &Compiled<B>,
    x: Data<B>,
    y: Data<B>,
    batch_size: usize,
    callbacks: &mut [Box<dyn Callback>],
) -> Result<Logs> {
    check_batch_size("evaluate", batch_size)?;
    let xs = x.resolve(&net.input_names(), "x")?;
    let ys = y.resolve(&net.output_names(), "y")?;
    let n = count_samples("evaluate", &xs, &ys)?;
    check_not_empty("evaluate", n, &xs)?;
    net.prepare_inputs(&xs)?;
    let out_shapes = net.output_shapes()?;
    let xs = to_model(net, &xs)?;
    let ys = targets("evaluate", net, compiled, &ys)?;
    check_all_targets(compiled, &ys, &out_shapes)?;
    let mut feed = TensorFeed::new(xs, ys, None, batch_size, None, None, net.device());
    evaluate_with_hooks(net, compiled, &mut feed, callbacks)
}

/// `evaluate` on a [`Dataset`]: one pass (pass 0, so repeated calls see the same order),
/// batched by `batch_size` when the dataset has no `batch` of its own.
///
/// # Errors
/// `batch_size` 0, an empty dataset, batches that do not fit the model, errors from the
/// dataset.
pub fn evaluate_dataset<B: Backend, N: Network<B> + ?Sized>(
    net: &mut N,
    compiled: &Compiled<B>,
    data: &mut Dataset,
    batch_size: usize,
    callbacks: &mut [Box<dyn Callback>],
) -> Result<Logs> {
    check_batch_size("evaluate_dataset", batch_size)?;
    data.set_epoch(0);
    let mut feed = DatasetFeed::new(
        data,
        "evaluate_dataset",
        batch_size,
        None,
        upload_for(net, Some(compiled)),
        None,
        net.input_names().len(),
        Some(net.output_names().len()),
    );
    prepare_from_dataset(net, compiled, &mut feed)?;
    evaluate_with_hooks(net, compiled, &mut feed, callbacks)
}

/// Batch outputs `predict` joins into one tensor while it runs.
const PREDICT_CHUNK: usize = 64;

/// A prediction pass over `feed`: detached outputs joined on the device, one tensor per
/// output.
fn predict_feed<B: Backend, N: Network<B> + ?Sized>(
    net: &mut N,
    feed: &mut dyn Feed<B>,
    callbacks: &mut [Box<dyn Callback>],
) -> Result<Vec<Tensor<B>>> {
    feed.begin_epoch(0)?;
    let steps = feed.steps().unwrap_or(0);
    let n_out = net.output_names().len();
    let mut outs: Vec<Vec<Tensor<B>>> = vec![Vec::with_capacity(steps); n_out];
    // Batch outputs not yet joined into a chunk, per output.
    let mut pending = vec![0usize; n_out];
    let mut state = FitState {
        epochs: 0,
        steps,
        verbose: 0,
        stop_training: false,
        learning_rate: 0.0,
        epoch: 0,
    };
    each(callbacks, &mut state, net, |cb, ctx| {
        cb.on_predict_begin(ctx)
    })?;
    B::no_grad(|| -> Result<()> {
        let mut step = 0;
        while let Some(b) = feed.next_batch()? {
            each(callbacks, &mut state, net, |cb, ctx| {
                cb.on_predict_batch_begin(step, ctx)
            })?;
            let preds = net.forward(&b.xs, &mut CallContext::inference())?;
            for ((o, k), p) in outs.iter_mut().zip(pending.iter_mut()).zip(preds) {
                o.push(p.detach());
                *k += 1;
                // Join every PREDICT_CHUNK batch outputs into one tensor: one small tensor
                // kept per batch pins the freed batch buffers around it on libtorch (about
                // 0.19 MB a batch, tests/memory_tch.rs); chunks keep that bounded and copy
                // each output once more.
                if *k == PREDICT_CHUNK {
                    let start = o.len() - PREDICT_CHUNK;
                    let joined = Tensor::concat(&o[start..], 0)?;
                    o.truncate(start);
                    o.push(joined);
                    *k = 0;
                }
            }
            each(callbacks, &mut state, net, |cb, ctx| {
                cb.on_predict_batch_end(step, ctx)
            })?;
            step += 1;
        }
        Ok(())
    })?;
    each(callbacks, &mut state, net, |cb, ctx| cb.on_predict_end(ctx))?;
    let out_shapes = net.output_shapes()?;
    outs.into_iter()
        .enumerate()
        .map(|(i, mut o)| match o.len() {
            0 => Tensor::zeros(&full_shape(0, &out_shapes[i]), net.dtype(), net.device()),
            1 => Ok(o.remove(0)),
            _ => Tensor::concat(&o, 0),
        })
        .collect()
}

/// The `predict` computation: batched inference, detached outputs joined on the device,
/// one tensor per output.
///
/// # Errors
/// `batch_size` 0, or inputs that do not fit the model.
pub fn predict<B: Backend, N: Network<B> + ?Sized>(
    net: &mut N,
    x: Data<B>,
    batch_size: usize,
    callbacks: &mut [Box<dyn Callback>],
) -> Result<Vec<Tensor<B>>> {
    check_batch_size("predict", batch_size)?;
    let xs = x.resolve(&net.input_names(), "x")?;
    count_samples("predict", &xs, &[])?;
    net.prepare_inputs(&xs)?;
    let xs = to_model(net, &xs)?;
    let mut feed = TensorFeed::new(xs, Vec::new(), None, batch_size, None, None, net.device());
    predict_feed(net, &mut feed, callbacks)
}

/// `predict` on a [`Dataset`] (its targets, if any, are ignored): one pass (pass 0),
/// batched by `batch_size` when the dataset has no `batch` of its own.
///
/// # Errors
/// `batch_size` 0, an empty dataset, inputs that do not fit the model, errors from the
/// dataset.
pub fn predict_dataset<B: Backend, N: Network<B> + ?Sized>(
    net: &mut N,
    data: &mut Dataset,
    batch_size: usize,
    callbacks: &mut [Box<dyn Callback>],
) -> Result<Vec<Tensor<B>>> {
    check_batch_size("predict_dataset", batch_size)?;
    data.set_epoch(0);
    let mut feed = DatasetFeed::new(
        data,
        "predict_dataset",
        batch_size,
        None,
        upload_for(net, None),
        None,
        net.input_names().len(),
        None,
    );
    let first_xs = feed.peek()?.xs.clone();
    net.prepare_inputs(&first_xs)?;
    predict_feed(net, &mut feed, callbacks)
}
