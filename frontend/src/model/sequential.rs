//! [`Sequential`]: a plain stack of layers.

use super::summary::{render_summary, shape_str, SummaryRow};
use super::training::{self, Compiled, FitOptions, Network};
use crate::backend::{Backend, DType, Device};
use crate::callbacks::{History, Logs, ModelAccess};
use crate::error::{Error, Result};
use crate::layers::{snake_case, BuildContext, CallContext, Layer, Weight};
use crate::losses::IntoLoss;
use crate::optimizers::IntoOptimizer;
use crate::random::Rng;
use crate::saving::{self, HostTensor};
use crate::tensor::Tensor;
use std::collections::HashMap;
use std::path::Path;

/// A linear stack of layers, like `keras.Sequential`.
///
/// ```
/// use stratanet::prelude::*;
/// # fn main() -> stratanet::Result<()> {
/// let mut model = Sequential::<DefaultBackend>::new().with_seed(0);
/// model.add(Input::new(&[4]))?;
/// model.add(Dense::new(16).activation("relu"))?;
/// model.add(Dense::new(3).activation("softmax"))?;
/// model.compile(Adam::new(0.01), "sparse_categorical_crossentropy", &["accuracy"])?;
///
/// let x = Tensor::<DefaultBackend>::uniform(&[64, 4], 0.0, 1.0, 1, DType::F32, Device::Cpu)?;
/// let y = x.argmax(-1, false)?.clamp(0.0, 2.0)?; // a learnable labelling
/// let history = model.fit(&x, &y, FitOptions::new().epochs(3).verbose(0))?;
/// assert_eq!(history.get("loss").map(|l| l.len()), Some(3));
/// let scores = model.evaluate(&x, &y, 32)?;
/// assert!(scores.get("accuracy").is_some());
/// assert_eq!(model.predict(&x, 32)?.shape(), vec![64, 3]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Sequential<B: Backend> {
    name: String,
    layers: Vec<Box<dyn Layer<B>>>,
    input_shape: Option<Vec<usize>>,
    device: Device,
    dtype: DType,
    seed: u64,
    names: HashMap<String, usize>,
    compiled: Option<Compiled<B>>,
    calls: u64,
}

impl<B: Backend> Default for Sequential<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> Sequential<B> {
    /// An empty model named `sequential`, on the CPU, with `f32` weights and a seed from
    /// the global generator ([`crate::random::set_random_seed`]).
    pub fn new() -> Self {
        Self {
            name: "sequential".into(),
            layers: Vec::new(),
            input_shape: None,
            device: Device::Cpu,
            dtype: DType::F32,
            seed: crate::random::next_global_seed(),
            names: HashMap::new(),
            compiled: None,
            calls: 0,
        }
    }

    /// Sets the seed used for initial weights (and `fit`'s default seed). Call it before
    /// adding layers.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the model's name.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Places the weights on `device` (call before adding layers).
    pub fn on_device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }

    /// Uses `dtype` (`F32` or `F64`) for weights and computation (call before adding layers).
    pub fn with_dtype(mut self, dtype: DType) -> Self {
        self.dtype = dtype;
        self
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The layers (without the `Input`).
    pub fn layers(&self) -> &[Box<dyn Layer<B>>] {
        &self.layers
    }

    /// A layer by name.
    pub fn get_layer(&self, name: &str) -> Option<&dyn Layer<B>> {
        self.layers
            .iter()
            .find(|l| l.name() == name)
            .map(|l| l.as_ref())
    }

    /// The declared or inferred per-sample input shape.
    pub fn input_shape(&self) -> Option<&[usize]> {
        self.input_shape.as_deref()
    }

    /// Whether every layer has its weights.
    pub fn built(&self) -> bool {
        self.input_shape.is_some() && self.layers.iter().all(|l| l.built())
    }

    fn unique_name(&mut self, base: &str) -> String {
        let n = self.names.entry(base.to_string()).or_insert(0);
        let name = if *n == 0 {
            base.to_string()
        } else {
            format!("{base}_{n}")
        };
        *n += 1;
        name
    }

    fn build_ctx(&self, layer_index: usize) -> BuildContext {
        BuildContext::new(
            self.device,
            self.dtype,
            Rng::derive(self.seed, layer_index as u64 + 1),
        )
    }

    /// Appends a layer, like `model.add(...)`. An [`crate::layers::Input`] declares the
    /// input shape instead of adding a layer. When the input shape is known the layer is
    /// built at once, so its weights exist and shape errors show here.
    ///
    /// # Errors
    /// Invalid hyper-parameters (unknown activation name, zero units, ...), a second
    /// `Input`, or a layer that does not accept the previous layer's output shape.
    pub fn add(&mut self, layer: impl Layer<B> + 'static) -> Result<&mut Self> {
        self.add_boxed(Box::new(layer))
    }

    /// [`Sequential::add`] for an already boxed layer.
    ///
    /// # Errors
    /// As [`Sequential::add`].
    pub fn add_boxed(&mut self, mut layer: Box<dyn Layer<B>>) -> Result<&mut Self> {
        if layer.name().is_empty() {
            let n = self.unique_name(&snake_case(layer.class_name()));
            layer.set_name(n);
        } else if self.layers.iter().any(|l| l.name() == layer.name()) {
            return Err(Error::invalid(
                &self.name,
                "layer name",
                format!(
                    "'{}' is already used; layer names must be unique",
                    layer.name()
                ),
            ));
        }
        layer.validate()?;
        if let Some(shape) = layer.declared_input_shape() {
            if !self.layers.is_empty() || self.input_shape.is_some() {
                return Err(Error::invalid(
                    &self.name,
                    "Input",
                    "an Input must be the first thing added to a Sequential model",
                ));
            }
            self.input_shape = Some(shape);
            return Ok(self);
        }
        if let Some(input) = self.input_shape.clone() {
            let shape = self.shape_after(&input, self.layers.len())?;
            let mut ctx = self.build_ctx(self.layers.len());
            if !layer.built() {
                layer.build(&shape, &mut ctx)?;
            }
            layer.output_shape(&shape)?;
        }
        self.layers.push(layer);
        Ok(self)
    }

    /// Per-sample shape after the first `upto` layers.
    fn shape_after(&self, input: &[usize], upto: usize) -> Result<Vec<usize>> {
        let mut shape = input.to_vec();
        for l in &self.layers[..upto] {
            shape = l.output_shape(&shape)?;
        }
        Ok(shape)
    }

    /// Builds every layer for inputs of per-sample shape `input_shape` (as Keras'
    /// `model.build((None, ...))`).
    ///
    /// # Errors
    /// When a layer does not accept its input shape.
    pub fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        if let Some(existing) = &self.input_shape {
            if existing != input_shape && self.built() {
                return Err(self.input_error(input_shape));
            }
        }
        let mut shape = input_shape.to_vec();
        for i in 0..self.layers.len() {
            let mut ctx = self.build_ctx(i);
            let layer = &mut self.layers[i];
            if !layer.built() {
                layer.build(&shape, &mut ctx)?;
            }
            shape = layer.output_shape(&shape)?;
        }
        self.input_shape = Some(input_shape.to_vec());
        Ok(())
    }

    fn input_error(&self, got_per_sample: &[usize]) -> Error {
        let expected = self.input_shape.clone().unwrap_or_default();
        let layer = self
            .layers
            .first()
            .map(|l| l.name().to_string())
            .unwrap_or_else(|| self.name.clone());
        let mut exp = vec!["batch".to_string()];
        exp.extend(expected.iter().map(|d| d.to_string()));
        let mut got = vec![0usize];
        got.extend_from_slice(got_per_sample);
        Error::shape(
            layer,
            "input",
            format!("shape [{}] (per-sample {:?})", exp.join(", "), expected),
            got_per_sample,
        )
    }

    /// Per-sample output shape.
    ///
    /// # Errors
    /// When the input shape is unknown.
    pub fn output_shape(&self) -> Result<Vec<usize>> {
        let input = self.input_shape.as_ref().ok_or_else(|| Error::NotReady {
            op: format!("{}.output_shape", self.name),
            needed: "built".into(),
            hint: "add an Input first, call build, or fit/predict once".into(),
        })?;
        self.shape_after(input, self.layers.len())
    }

    /// Every weight with its path (`dense_1/kernel`), trainable first per layer.
    pub fn weights(&self) -> Vec<(String, Weight<B>)> {
        self.layers
            .iter()
            .flat_map(|l| {
                let name = l.name().to_string();
                l.weights()
                    .into_iter()
                    .map(move |w| (format!("{name}/{}", w.name), w))
            })
            .collect()
    }

    /// Copies every weight to the host, by path (Keras `get_weights`).
    ///
    /// # Errors
    /// On engine errors.
    pub fn get_weights(&self) -> Result<Vec<(String, HostTensor)>> {
        self.weights()
            .into_iter()
            .map(|(n, w)| Ok((n, HostTensor::from_tensor(&w.value)?)))
            .collect()
    }

    /// Overwrites weights in place from host copies matched by path (Keras `set_weights`).
    ///
    /// # Errors
    /// [`Error::Config`] listing missing, unexpected and mis-shaped tensors (nothing is
    /// changed then).
    pub fn set_weights(&mut self, weights: &[(String, HostTensor)]) -> Result<()> {
        let targets: Vec<(String, Tensor<B>)> = self
            .weights()
            .into_iter()
            .map(|(n, w)| (n, w.value))
            .collect();
        saving::assign_by_name(&targets, weights, &self.name)
    }

    /// Saves the weights to a `.safetensors` file (atomically), named by layer path
    /// (`dense_1/kernel`).
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// # fn main() -> stratanet::Result<()> {
    /// let dir = std::env::temp_dir().join(format!("stratanet-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("weights.safetensors");
    /// let make = |seed| -> stratanet::Result<Sequential<DefaultBackend>> {
    ///     let mut m = Sequential::new().with_seed(seed);
    ///     m.add(Input::new(&[3]))?;
    ///     m.add(Dense::new(2))?;
    ///     Ok(m)
    /// };
    /// let a = make(1)?;
    /// a.save_weights(&path)?;
    /// let mut b = make(2)?;
    /// b.load_weights(&path)?;
    /// assert_eq!(a.get_weights()?, b.get_weights()?);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// I/O and engine errors; an existing file is left intact on failure.
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        let tensors: Vec<(String, Tensor<B>)> = self
            .weights()
            .into_iter()
            .map(|(n, w)| (n, w.value))
            .collect();
        let mut meta = HashMap::new();
        meta.insert("stratanet_kind".to_string(), "weights".to_string());
        saving::save_tensors(path.as_ref(), &tensors, &meta)
    }

    /// Loads weights saved by [`Sequential::save_weights`] (or the weights of a saved
    /// model), matching by name, on this model's engine and device.
    ///
    /// # Errors
    /// A malformed or foreign file, or [`Error::Config`] listing missing, unexpected and
    /// mis-shaped tensors. The model is unchanged on error.
    pub fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let (tensors, _) = saving::load_file(path)?;
        let weights: Vec<(String, HostTensor)> = tensors
            .into_iter()
            .filter(|(n, _)| !n.starts_with("optimizer/"))
            .collect();
        let targets: Vec<(String, Tensor<B>)> = self
            .weights()
            .into_iter()
            .map(|(n, w)| (n, w.value))
            .collect();
        saving::assign_by_name(&targets, &weights, &path.display().to_string())
    }

    /// Number of trainable and non-trainable parameters.
    pub fn count_params(&self) -> (usize, usize) {
        let mut t = 0;
        let mut nt = 0;
        for (_, w) in self.weights() {
            if w.trainable {
                t += w.value.numel();
            } else {
                nt += w.value.numel();
            }
        }
        (t, nt)
    }

    /// Sets optimizer, loss and metrics, like `model.compile(...)`. Names (`"adam"`,
    /// `"sparse_categorical_crossentropy"`, `"accuracy"`) or values are accepted.
    ///
    /// # Errors
    /// Unknown optimizer, loss or metric names.
    pub fn compile(
        &mut self,
        optimizer: impl IntoOptimizer<B>,
        loss: impl IntoLoss<B>,
        metrics: &[&str],
    ) -> Result<()> {
        for m in metrics {
            crate::metrics::check_name(m)?;
        }
        self.compiled = Some(Compiled {
            optimizer: optimizer.into_optimizer()?,
            loss: loss.into_loss()?,
            metrics: metrics.iter().map(|s| s.to_string()).collect(),
        });
        Ok(())
    }

    /// The compiled optimizer, loss and metrics.
    pub fn compiled(&self) -> Option<&Compiled<B>> {
        self.compiled.as_ref()
    }

    fn take_compiled(&mut self, op: &str) -> Result<Compiled<B>> {
        self.compiled.take().ok_or_else(|| Error::NotReady {
            op: op.into(),
            needed: "compiled".into(),
            hint: "call model.compile(optimizer, loss, metrics) before fit/evaluate".into(),
        })
    }

    /// Trains the model, like `model.fit(x, y, ...)`; returns the per-epoch [`History`].
    ///
    /// # Errors
    /// Not compiled; `batch_size` 0; `x` and `y` with different sample counts; inputs that
    /// do not fit the first layer; labels out of range; a bad `validation_split`.
    pub fn fit(&mut self, x: &Tensor<B>, y: &Tensor<B>, opts: FitOptions<B>) -> Result<History> {
        let mut compiled = self.take_compiled("fit")?;
        let seed = self.seed;
        let r = training::fit(self, &mut compiled, seed, x, y, opts);
        self.compiled = Some(compiled);
        r
    }

    /// Loss and metrics on `(x, y)` in inference mode, like `model.evaluate`.
    ///
    /// # Errors
    /// As [`Sequential::fit`].
    pub fn evaluate(&mut self, x: &Tensor<B>, y: &Tensor<B>, batch_size: usize) -> Result<Logs> {
        let compiled = self.take_compiled("evaluate")?;
        let r = training::evaluate(self, &compiled, x, y, batch_size);
        self.compiled = Some(compiled);
        r
    }

    /// Outputs for `x` in inference mode, computed in batches, like `model.predict`.
    ///
    /// # Errors
    /// `batch_size` 0, or inputs that do not fit the first layer.
    pub fn predict(&mut self, x: &Tensor<B>, batch_size: usize) -> Result<Tensor<B>> {
        training::predict(self, x, batch_size)
    }

    /// One gradient step on one batch; returns the loss and metrics of that batch.
    ///
    /// # Errors
    /// As [`Sequential::fit`].
    pub fn train_on_batch(&mut self, x: &Tensor<B>, y: &Tensor<B>) -> Result<Logs> {
        let mut compiled = self.take_compiled("train_on_batch")?;
        let r = (|| {
            let n = x.shape().first().copied().unwrap_or(0);
            let seed = Rng::derive(self.seed, compiled.optimizer.iterations() + 1);
            let h = training::fit(
                self,
                &mut compiled,
                seed,
                x,
                y,
                FitOptions::new()
                    .epochs(1)
                    .batch_size(n.max(1))
                    .shuffle(false)
                    .verbose(0),
            )?;
            let mut logs = Logs::new();
            for (k, v) in &h.history {
                if let Some(last) = v.last() {
                    logs.insert(k.clone(), *last);
                }
            }
            Ok(logs)
        })();
        self.compiled = Some(compiled);
        r
    }

    /// Loss and metrics of one batch in inference mode, like Keras' `test_on_batch`.
    ///
    /// # Errors
    /// As [`Sequential::evaluate`].
    pub fn test_on_batch(&mut self, x: &Tensor<B>, y: &Tensor<B>) -> Result<Logs> {
        let n = x.shape().first().copied().unwrap_or(0);
        self.evaluate(x, y, n.max(1))
    }

    /// Outputs for one batch in inference mode, like Keras' `predict_on_batch`.
    ///
    /// # Errors
    /// As [`Sequential::predict`].
    pub fn predict_on_batch(&mut self, x: &Tensor<B>) -> Result<Tensor<B>> {
        let n = x.shape().first().copied().unwrap_or(0);
        self.predict(x, n.max(1))
    }

    /// The forward pass, like calling a Keras model: `model(x, training=...)`. In training
    /// mode random layers (dropout) draw fresh seeded masks on every call. The result keeps
    /// its autograd graph, for custom training loops.
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// # fn main() -> stratanet::Result<()> {
    /// // A custom training step: forward, loss, gradients, apply.
    /// let mut model = Sequential::<DefaultBackend>::new().with_seed(0);
    /// model.add(Input::new(&[3]))?;
    /// model.add(Dense::new(1))?;
    /// model.compile(Sgd::new(0.1), "mse", &[])?;
    /// let x = Tensor::<DefaultBackend>::ones(&[4, 3], DType::F32, Device::Cpu)?;
    /// let y = Tensor::<DefaultBackend>::zeros(&[4, 1], DType::F32, Device::Cpu)?;
    /// let before = model.evaluate(&x, &y, 4)?.get("loss").unwrap();
    /// for _ in 0..5 {
    ///     let pred = model.call(&x, true)?;
    ///     let loss = model.compute_loss(&y, &pred, None)?;
    ///     let grads = loss.grad(&model.trainable_weights())?;
    ///     model.apply_gradients(&grads)?;
    /// }
    /// assert!(model.evaluate(&x, &y, 4)?.get("loss").unwrap() < before);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Inputs that do not fit the model.
    pub fn call(&mut self, x: &Tensor<B>, training: bool) -> Result<Tensor<B>> {
        self.prepare_input(x)?;
        let x = if x.dtype().is_float() {
            x.to_dtype(self.dtype)?
        } else {
            x.clone()
        };
        let mut ctx = if training {
            self.calls += 1;
            CallContext::training(Rng::derive(self.seed ^ 0x5EED_CA11, self.calls))
        } else {
            CallContext::inference()
        };
        self.forward(&x, &mut ctx)
    }

    /// The compiled loss of `y_pred` against `y` (optionally weighted per sample) plus the
    /// layers' regularisation penalties: the objective `fit` minimises.
    ///
    /// # Errors
    /// Not compiled, or shapes that do not fit the loss.
    pub fn compute_loss(
        &self,
        y: &Tensor<B>,
        y_pred: &Tensor<B>,
        sample_weight: Option<&Tensor<B>>,
    ) -> Result<Tensor<B>> {
        let compiled = self.compiled.as_ref().ok_or_else(|| Error::NotReady {
            op: "compute_loss".into(),
            needed: "compiled".into(),
            hint: "call model.compile(optimizer, loss, metrics) first".into(),
        })?;
        let y = y.to_dtype(compiled.loss.target_dtype(self.dtype))?;
        training::compute_loss(self, compiled, &y, y_pred, sample_weight)
    }

    /// The trainable parameters, in the order [`Sequential::apply_gradients`] expects.
    pub fn trainable_weights(&self) -> Vec<Tensor<B>> {
        self.trainable_params()
    }

    /// Applies gradients (ordered like [`Sequential::trainable_weights`]) with the compiled
    /// optimizer, in place.
    ///
    /// # Errors
    /// Not compiled, or gradients that do not match the parameters.
    pub fn apply_gradients(&mut self, grads: &[Option<Tensor<B>>]) -> Result<()> {
        let params = self.trainable_params();
        let compiled = self.compiled.as_mut().ok_or_else(|| Error::NotReady {
            op: "apply_gradients".into(),
            needed: "compiled".into(),
            hint: "call model.compile(optimizer, loss, metrics) first".into(),
        })?;
        if grads.len() != params.len() {
            return Err(Error::invalid(
                "apply_gradients",
                "grads",
                format!(
                    "{} gradients for {} trainable weights",
                    grads.len(),
                    params.len()
                ),
            ));
        }
        compiled.optimizer.apply(&params, grads)
    }

    /// The Keras summary table as a string.
    ///
    /// # Errors
    /// When the model is not built (no `Input` and never called).
    pub fn summary(&self) -> Result<String> {
        let input = self.input_shape.as_ref().ok_or_else(|| Error::NotReady {
            op: "summary".into(),
            needed: "built".into(),
            hint: "add an Input first or call build(input_shape)".into(),
        })?;
        let mut shape = input.clone();
        let mut rows = Vec::new();
        for l in &self.layers {
            shape = l.output_shape(&shape)?;
            rows.push(SummaryRow {
                layer: format!("{} ({})", l.name(), l.class_name()),
                output_shape: shape_str(&shape),
                params: l.weights().iter().map(|w| w.value.numel()).sum(),
                connected_to: None,
            });
        }
        let (t, nt) = self.count_params();
        Ok(render_summary(
            &self.name,
            &rows,
            t,
            nt,
            self.dtype.size_in_bytes(),
        ))
    }

    /// Model config as JSON (`{"name", "layers": [{"class_name", "config"}]}`).
    pub fn get_config(&self) -> serde_json::Value {
        let mut layers = Vec::new();
        if let Some(s) = &self.input_shape {
            layers.push(serde_json::json!({"class_name": "InputLayer", "config": {"shape": s, "name": "input_layer"}}));
        }
        for l in &self.layers {
            layers
                .push(serde_json::json!({"class_name": l.class_name(), "config": l.get_config()}));
        }
        serde_json::json!({"name": self.name, "dtype": self.dtype, "layers": layers})
    }

    /// Rebuilds a model (fresh weights) from [`Sequential::get_config`].
    ///
    /// # Errors
    /// On malformed configs or unknown layer classes.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut m = Self::new();
        if let Some(n) = config.get("name").and_then(|n| n.as_str()) {
            m.name = n.to_string();
        }
        if let Some(d) = config.get("dtype") {
            m.dtype = serde_json::from_value(d.clone())?;
        }
        let layers = config
            .get("layers")
            .and_then(|l| l.as_array())
            .ok_or_else(|| Error::config("sequential.layers", "missing list of layers"))?;
        for (i, l) in layers.iter().enumerate() {
            let class = l
                .get("class_name")
                .and_then(|c| c.as_str())
                .ok_or_else(|| {
                    Error::config(format!("sequential.layers[{i}].class_name"), "missing")
                })?;
            let cfg = l.get("config").cloned().unwrap_or(serde_json::Value::Null);
            m.add_boxed(crate::layers::layer_from_config::<B>(class, &cfg)?)?;
        }
        Ok(m)
    }
}

impl<B: Backend> Network<B> for Sequential<B> {
    fn model_name(&self) -> &str {
        &self.name
    }
    fn forward(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let mut h = x.clone();
        for l in &self.layers {
            h = l.call(&h, ctx)?;
        }
        Ok(h)
    }
    fn trainable_params(&self) -> Vec<Tensor<B>> {
        self.layers
            .iter()
            .flat_map(|l| l.weights())
            .filter(|w| w.trainable)
            .map(|w| w.value)
            .collect()
    }
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>> {
        let mut total: Option<Tensor<B>> = None;
        for l in &self.layers {
            if let Some(r) = l.regularization_loss()? {
                total = Some(match total {
                    Some(t) => t.add(&r)?,
                    None => r,
                });
            }
        }
        Ok(total)
    }
    fn prepare_input(&mut self, x: &Tensor<B>) -> Result<()> {
        let s = x.shape();
        if s.is_empty() {
            return Err(Error::shape(&self.name, "x", "a batch (rank >= 1)", &s));
        }
        let per_sample = &s[1..];
        match &self.input_shape {
            Some(expected) if self.built() => {
                if expected.as_slice() != per_sample {
                    let layer = self
                        .layers
                        .first()
                        .map(|l| l.name().to_string())
                        .unwrap_or_else(|| self.name.clone());
                    let mut exp = vec!["batch".to_string()];
                    exp.extend(expected.iter().map(|d| d.to_string()));
                    return Err(Error::shape(
                        layer,
                        "input",
                        format!("shape [{}]", exp.join(", ")),
                        &s,
                    ));
                }
                Ok(())
            }
            _ => self.build(per_sample),
        }
    }
    fn output_shape(&self) -> Result<Vec<usize>> {
        Sequential::output_shape(self)
    }
    fn device(&self) -> Device {
        self.device
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
    fn access(&mut self) -> &mut dyn ModelAccess {
        self
    }
}

impl<B: Backend> ModelAccess for Sequential<B> {
    fn get_weights(&self) -> Result<Vec<(String, HostTensor)>> {
        Sequential::get_weights(self)
    }
    fn set_weights(&mut self, weights: &[(String, HostTensor)]) -> Result<()> {
        Sequential::set_weights(self, weights)
    }
    fn save_weights(&self, path: &Path) -> Result<()> {
        Sequential::save_weights(self, path)
    }
}
