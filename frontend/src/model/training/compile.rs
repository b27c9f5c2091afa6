//! What `compile` produces: [`Compiled`] (optimizer, losses, loss weights, metrics per
//! output), the [`Compile`] builder for multi-output models and [`compile_simple`].

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::losses::{IntoLoss, Loss};
use crate::metrics::{Metric, MetricSpec};
use crate::optimizers::{IntoOptimizer, Optimizer};
use crate::tensor::Tensor;
use std::sync::{Arc, Mutex};

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

    pub(super) fn instantiate(
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
pub(super) struct SharedMetric<B: Backend>(Arc<Mutex<Box<dyn Metric<B>>>>, String);

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
pub(super) type LossResult<B> = Result<Box<dyn Loss<B>>>;

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
    /// let logs = m.evaluate_with(&x, &y, 32)?;
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

/// The single-loss form of `compile`: the same loss and metrics for every output (metric
/// names, or metric objects for a model with one output).
///
/// # Errors
/// Unknown names; a metric object given for a model with several outputs (one object
/// cannot keep the state of several outputs: use [`Compile::metric`] per output).
pub fn compile_simple<B: Backend>(
    output_names: &[String],
    optimizer: impl IntoOptimizer<B>,
    loss: impl IntoLoss<B>,
    metrics: impl crate::metrics::IntoMetrics<B>,
) -> Result<Compiled<B>> {
    let metrics = metrics.into_metrics();
    for m in &metrics {
        m.check()?;
        if let (MetricSpec::Metric(obj), true) = (m, output_names.len() > 1) {
            return Err(Error::invalid(
                "compile",
                "metrics",
                format!(
                    "the metric object '{}' cannot serve the {} outputs ({}) at once; give it to one output with compile_with(Compile::new(..).metric(output, ..))",
                    obj.name(),
                    output_names.len(),
                    output_names.join(", ")
                ),
            ));
        }
    }
    let optimizer = optimizer.into_optimizer()?;
    let first = loss.into_loss()?;
    let (name, cfg) = (first.name(), first.get_config());
    let mut losses: Vec<Option<Box<dyn Loss<B>>>> = vec![Some(first)];
    for _ in 1..output_names.len() {
        losses.push(Some(crate::losses::from_config::<B>(name, &cfg)?));
    }
    let compiled: Vec<CompiledMetric<B>> = metrics
        .into_iter()
        .map(CompiledMetric::from_spec)
        .collect::<Result<_>>()?;
    Ok(Compiled {
        optimizer,
        losses,
        loss_weights: vec![1.0; output_names.len()],
        metrics: vec![compiled; output_names.len()],
        output_names: output_names.to_vec(),
    })
}
