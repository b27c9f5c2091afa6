//! [`Sequential`]: a plain stack of layers.

use super::api::{Architecture, ModelCore, ModelState};
use super::summary::{render_summary, shape_str, SummaryRow};
use super::training::Network;
use crate::backend::{Backend, DType, Device};
use crate::callbacks::{LayerNode, ModelAccess};
use crate::error::{Error, Result};
use crate::layers::{snake_case, BuildContext, CallContext, Layer, Weight};
use crate::random::Rng;
use crate::tensor::Tensor;
use std::collections::HashMap;

mod config;

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
/// let scores = model.evaluate_with(&x, &y, 32)?;
/// assert!(scores.get("accuracy").is_some());
/// assert_eq!(model.predict_with(&x, 32)?.shape(), vec![64, 3]);
///
/// // Weights round-trip through a .safetensors file.
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("stratanet-doc.safetensors");
/// model.save_weights(&path)?;
/// let before = model.get_weights()?;
/// model.fit(&x, &y, FitOptions::new().epochs(1).verbose(0))?;
/// model.load_weights(&path)?;
/// assert_eq!(model.get_weights()?, before);
///
/// // A custom training step: forward, loss, gradients, apply.
/// for _ in 0..3 {
///     let pred = model.call(&x, true)?;
///     let loss = model.compute_loss(&y, &pred, None)?;
///     let grads = loss.grad(&model.trainable_weights())?;
///     model.apply_gradients(&grads)?;
/// }
/// # Ok(())
/// # }
/// ```
pub type Sequential<B> = ModelCore<B, LayerStack<B>>;

/// The architecture of a [`Sequential`] model: its layer stack, input shape, device and
/// dtype (the shared compile state lives in [`ModelCore`]).
#[derive(Debug)]
pub struct LayerStack<B: Backend> {
    name: String,
    layers: Vec<Box<dyn Layer<B>>>,
    input_shape: Option<Vec<usize>>,
    /// Where the weights live: set by `on_device`, else resolved from
    /// [`Device::placement`] when the first layer is added or built.
    device: Option<Device>,
    dtype: DType,
    names: HashMap<String, usize>,
    /// The first error of a [`Sequential::layer`] chain, surfaced by `compile`, `build`,
    /// `summary`, `fit`, `evaluate` and `predict` (the layers after it were not added).
    deferred: Option<Deferred>,
}

/// An error of the chained builder waiting to be reported: the error itself until a call
/// that can hand it over takes it, and its message for every later call.
#[derive(Debug)]
struct Deferred {
    error: Option<Error>,
    message: String,
}

impl<B: Backend> std::fmt::Debug for Sequential<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequential")
            .field("arch", &self.arch)
            .field("state", &self.state)
            .finish()
    }
}

impl<B: Backend> Default for Sequential<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> Sequential<B> {
    /// An empty model named `sequential`, with `f32` weights and a seed from the global
    /// generator ([`crate::random::set_random_seed`]).
    ///
    /// Its weights go where Keras puts them: on the GPU when the engine sees one, else on
    /// the CPU ([`Device::auto`], overridable with `STRATANET_DEVICE=cpu|cuda|cuda:N` or a
    /// [`Device::scope`]), or on the device given to [`Sequential::on_device`]. The default
    /// is resolved when the first layer is added (or the model is built), so `new` cannot
    /// fail: an invalid `STRATANET_DEVICE` is the error of that first `add`/`build`.
    pub fn new() -> Self {
        ModelCore {
            arch: LayerStack {
                name: "sequential".into(),
                layers: Vec::new(),
                input_shape: None,
                device: None,
                dtype: DType::F32,
                names: HashMap::new(),
                deferred: None,
            },
            state: ModelState::new(crate::random::next_global_seed()),
        }
    }

    /// Sets the seed used for initial weights (and `fit`'s default seed). Call it before
    /// adding layers.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.state.seed = seed;
        self
    }

    /// Sets the model's name.
    pub fn with_name(mut self, name: &str) -> Self {
        self.arch.name = name.to_string();
        self
    }

    /// Places the weights on `device` instead of the default [`Device::auto`], like Keras'
    /// `with keras.device(...)`. Meant for before adding layers; on a model that already
    /// has weights it moves them as [`Sequential::to_device`] does, and if that fails the
    /// error is returned by the next `add`, `build`, `fit`, `evaluate`, `predict` or `call`
    /// (which retry the move), so the model never computes on a device it was not asked
    /// for. Input tensors may live anywhere: `fit`, `evaluate`, `predict` and `call` move
    /// them to this device.
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// # fn main() -> stratanet::Result<()> {
    /// let mut m = Sequential::<DefaultBackend>::new().on_device(Device::Cpu);
    /// m.add(Input::new(&[4]))?;
    /// m.add(Dense::new(2))?;
    /// assert_eq!(m.device(), Device::Cpu);
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_device(mut self, device: Device) -> Self {
        self.arch.device = Some(device);
        // A failed move is retried, and reported, by the next fallible call.
        let _ = self.ensure_placed();
        self
    }

    /// The device resolved for the weights: the one given to `on_device`, else
    /// [`Device::placement`] (resolved once, at the first layer).
    fn placement(&mut self) -> Result<Device> {
        match self.arch.device {
            Some(d) => Ok(d),
            None => {
                let d = crate::model::device::placement::<B>(&self.arch.name)?;
                self.arch.device = Some(d);
                Ok(d)
            }
        }
    }

    /// Moves the weights to the model's device if any is elsewhere (after `on_device` on a
    /// built model whose move failed).
    fn ensure_placed(&mut self) -> Result<()> {
        if let Some((asked, _)) = self.misplaced() {
            self.to_device(asked)?;
        }
        Ok(())
    }

    /// The device asked for and where a weight lies instead, when any weight is not on
    /// the model's device.
    fn misplaced(&self) -> Option<(Device, Device)> {
        let d = self.arch.device?;
        self.arch
            .layers
            .iter()
            .flat_map(|l| l.weights())
            .map(|w| w.value.device())
            .find(|&at| at != d)
            .map(|at| (d, at))
    }

    fn move_built_layers(&mut self, device: Device, cast: Option<DType>) -> Result<()> {
        let Some(input) = self.arch.input_shape.clone() else {
            // Nothing is built yet: every layer will be built on the new device.
            return Ok(());
        };
        let mut shape = input;
        let mut fresh = Vec::with_capacity(self.arch.layers.len());
        for l in &self.arch.layers {
            let out = l.output_shape(&shape)?;
            fresh.push(crate::model::device::rebuild_layer(
                l.as_ref(),
                std::slice::from_ref(&shape),
                device,
                self.arch.dtype,
                cast,
            )?);
            shape = out;
        }
        // Every layer rebuilt: commit.
        for (slot, f) in self.arch.layers.iter_mut().zip(fresh) {
            if let Some(f) = f {
                *slot = f;
            }
        }
        Ok(())
    }

    /// Uses `dtype` (`F32` or `F64`) for weights and computation (call before adding layers).
    pub fn with_dtype(mut self, dtype: DType) -> Self {
        self.arch.dtype = dtype;
        self
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.arch.name
    }

    /// The layers (without the `Input`).
    pub fn layers(&self) -> &[Box<dyn Layer<B>>] {
        &self.arch.layers
    }

    /// A layer by name.
    pub fn get_layer(&self, name: &str) -> Option<&dyn Layer<B>> {
        self.arch
            .layers
            .iter()
            .find(|l| l.name() == name)
            .map(|l| l.as_ref())
    }

    /// The declared or inferred per-sample input shape.
    pub fn input_shape(&self) -> Option<&[usize]> {
        self.arch.input_shape.as_deref()
    }

    /// Whether every layer has its weights.
    pub fn built(&self) -> bool {
        self.arch.input_shape.is_some() && self.arch.layers.iter().all(|l| l.built())
    }

    fn unique_name(&mut self, base: &str) -> String {
        let n = self.arch.names.entry(base.to_string()).or_insert(0);
        let name = if *n == 0 {
            base.to_string()
        } else {
            format!("{base}_{n}")
        };
        *n += 1;
        name
    }

    fn build_ctx(&self, layer_index: usize, device: Device) -> BuildContext {
        BuildContext::new(
            device,
            self.arch.dtype,
            Rng::derive(self.state.seed, layer_index as u64 + 1),
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

    /// Appends a layer and returns the model, for a chained definition:
    /// `Sequential::new().layer(Input::new(&[64])).layer(Dense::new(10))`. Errors do not
    /// stop the chain: the first one (as [`Sequential::add`] would return it) is kept, the
    /// layers after it are not added, and `compile`, `build`, `summary`, `fit`, `evaluate`
    /// and `predict` report it. Use [`Sequential::add`] to see each error where it happens.
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// # fn main() -> stratanet::Result<()> {
    /// let mut model = Sequential::<DefaultBackend>::new()
    ///     .layer(Input::new(&[64]))
    ///     .layer(Dense::new(32).activation("relu"))
    ///     .layer(Dense::new(10).activation("softmax"));
    /// model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;
    /// assert_eq!(model.count_params().0, 64 * 32 + 32 + 32 * 10 + 10);
    ///
    /// let mut bad = Sequential::<DefaultBackend>::new()
    ///     .layer(Input::new(&[4]))
    ///     .layer(Dense::new(3).activation("no_such_activation"))
    ///     .layer(Dense::new(2));
    /// let err = bad.compile("adam", "mse", &[]).unwrap_err();
    /// assert!(err.to_string().contains("no_such_activation"), "{err}");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use = "the chained builder returns the model"]
    pub fn layer(mut self, layer: impl Layer<B> + 'static) -> Self {
        if self.arch.deferred.is_none() {
            if let Err(e) = self.add_boxed(Box::new(layer)) {
                self.arch.deferred = Some(Deferred {
                    message: e.to_string(),
                    error: Some(e),
                });
            }
        }
        self
    }

    /// The deferred error of a [`Sequential::layer`] chain, if any: the error itself the
    /// first time, a copy of its message afterwards.
    fn take_deferred(&mut self) -> Result<()> {
        let taken = self.arch.deferred.as_mut().and_then(|d| d.error.take());
        match taken {
            Some(e) => Err(e),
            None => self.check_deferred(),
        }
    }

    /// The deferred error of a [`Sequential::layer`] chain as a message copy (for calls
    /// that take the model by shared reference).
    fn check_deferred(&self) -> Result<()> {
        match &self.arch.deferred {
            None => Ok(()),
            Some(d) => Err(self.deferred_copy(&d.message)),
        }
    }

    /// For calls by shared reference, which cannot retry a failed
    /// [`on_device`](Self::on_device) move: an error naming the device asked for when any
    /// weight is elsewhere, so the model never computes on a device it was not asked for.
    fn check_placed(&self) -> Result<()> {
        match self.misplaced() {
            None => Ok(()),
            Some((asked, at)) => Err(Error::invalid(
                &self.arch.name,
                "to_device",
                format!(
                    "the model was asked for {asked} but its weights are still on {at} (the \
                     move failed); call on_device or to_device with a usable device first"
                ),
            )),
        }
    }

    fn deferred_copy(&self, message: &str) -> Error {
        Error::invalid(
            &self.arch.name,
            "layer",
            format!("a layer of the chained definition failed: {message}"),
        )
    }

    /// [`Sequential::add`] for an already boxed layer.
    ///
    /// # Errors
    /// As [`Sequential::add`].
    pub fn add_boxed(&mut self, mut layer: Box<dyn Layer<B>>) -> Result<&mut Self> {
        let device = self.placement()?;
        self.ensure_placed()?;
        if layer.name().is_empty() {
            let n = self.unique_name(&snake_case(layer.class_name()));
            layer.set_name(n);
        } else if self.arch.layers.iter().any(|l| l.name() == layer.name()) {
            return Err(Error::invalid(
                &self.arch.name,
                "layer name",
                format!(
                    "'{}' is already used; layer names must be unique",
                    layer.name()
                ),
            ));
        }
        layer.validate()?;
        if let Some(shape) = layer.declared_input_shape() {
            if !self.arch.layers.is_empty() || self.arch.input_shape.is_some() {
                return Err(Error::invalid(
                    &self.arch.name,
                    "Input",
                    "an Input must be the first thing added to a Sequential model",
                ));
            }
            self.arch.input_shape = Some(shape);
            return Ok(self);
        }
        if let Some(input) = self.arch.input_shape.clone() {
            let shape = self.shape_after(&input, self.arch.layers.len())?;
            let mut ctx = self.build_ctx(self.arch.layers.len(), device);
            if !layer.built() {
                let label = format!("{} ({})", layer.name(), layer.class_name());
                crate::limits::in_layer(|| label, || layer.build(&shape, &mut ctx))?;
            } else if crate::model::device::misplaced(layer.as_ref(), device) {
                // Built elsewhere (a Normalization adapted on CPU tensors): move it here.
                let shapes = std::slice::from_ref(&shape);
                if let Some(f) = crate::model::device::rebuild_layer(
                    layer.as_ref(),
                    shapes,
                    device,
                    self.arch.dtype,
                    None,
                )? {
                    layer = f;
                }
            }
            let out = layer.output_shape(&shape)?;
            crate::limits::check_shape(layer.name(), "output shape", &out)?;
        }
        self.arch.layers.push(layer);
        Ok(self)
    }

    /// Per-sample shape after the first `upto` layers.
    fn shape_after(&self, input: &[usize], upto: usize) -> Result<Vec<usize>> {
        let mut shape = input.to_vec();
        for l in &self.arch.layers[..upto] {
            shape = l.output_shape(&shape)?;
            crate::limits::check_shape(l.name(), "output shape", &shape)?;
        }
        Ok(shape)
    }

    /// Builds every layer for inputs of per-sample shape `input_shape` (as Keras'
    /// `model.build((None, ...))`).
    ///
    /// # Errors
    /// When a layer does not accept its input shape.
    pub fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        self.take_deferred()?;
        let device = self.placement()?;
        self.ensure_placed()?;
        if let Some(existing) = &self.arch.input_shape {
            if existing != input_shape && self.built() {
                return Err(self.input_error(input_shape));
            }
        }
        let mut shape = input_shape.to_vec();
        for i in 0..self.arch.layers.len() {
            let mut ctx = self.build_ctx(i, device);
            let dtype = self.arch.dtype;
            let layer = &mut self.arch.layers[i];
            if !layer.built() {
                let label = format!("{} ({})", layer.name(), layer.class_name());
                crate::limits::in_layer(|| label, || layer.build(&shape, &mut ctx))?;
            } else if crate::model::device::misplaced(layer.as_ref(), device) {
                let shapes = std::slice::from_ref(&shape);
                if let Some(f) = crate::model::device::rebuild_layer(
                    layer.as_ref(),
                    shapes,
                    device,
                    dtype,
                    None,
                )? {
                    *layer = f;
                }
            }
            shape = layer.output_shape(&shape)?;
            crate::limits::check_shape(layer.name(), "output shape", &shape)?;
        }
        self.arch.input_shape = Some(input_shape.to_vec());
        Ok(())
    }

    fn input_error(&self, got_per_sample: &[usize]) -> Error {
        let expected = self.arch.input_shape.clone().unwrap_or_default();
        let detail = format!(" (per-sample {expected:?})");
        self.input_mismatch(&expected, &detail, got_per_sample)
    }

    /// The error for an input that does not have the per-sample shape `expected`, naming
    /// the first layer: `shape [batch, ...]` then `detail`, with the shape `got`.
    fn input_mismatch(&self, expected: &[usize], detail: &str, got: &[usize]) -> Error {
        let layer = self
            .arch
            .layers
            .first()
            .map(|l| l.name().to_string())
            .unwrap_or_else(|| self.arch.name.clone());
        let mut exp = vec!["batch".to_string()];
        exp.extend(expected.iter().map(|d| d.to_string()));
        Error::shape(
            layer,
            "input",
            format!("shape [{}]{detail}", exp.join(", ")),
            got,
        )
    }

    /// Per-sample output shape.
    ///
    /// # Errors
    /// When the input shape is unknown.
    pub fn output_shape(&self) -> Result<Vec<usize>> {
        let input = self
            .arch
            .input_shape
            .as_ref()
            .ok_or_else(|| Error::NotReady {
                op: format!("{}.output_shape", self.arch.name),
                needed: "built".into(),
                hint: "add an Input first, call build, or fit/predict once".into(),
            })?;
        self.shape_after(input, self.arch.layers.len())
    }

    /// The Keras summary table as a string.
    ///
    /// # Errors
    /// When the model is not built (no `Input` and never called).
    pub fn summary(&self) -> Result<String> {
        self.check_deferred()?;
        let input = self
            .arch
            .input_shape
            .as_ref()
            .ok_or_else(|| Error::NotReady {
                op: "summary".into(),
                needed: "built".into(),
                hint: "add an Input first or call build(input_shape)".into(),
            })?;
        let mut shape = input.clone();
        let mut rows = Vec::new();
        for l in &self.arch.layers {
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
            &self.arch.name,
            &rows,
            t,
            nt,
            self.arch.dtype.size_in_bytes(),
        ) + &crate::model::summary::policy_line(self.state.policy))
    }
}

impl<B: Backend> Sequential<B> {
    fn run_layers(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let mut h = x.clone();
        for l in &self.arch.layers {
            h = l.call(&h, ctx)?;
        }
        Ok(h)
    }

    fn check_input(&mut self, x: &Tensor<B>) -> Result<()> {
        self.ensure_placed()?;
        let s = x.shape();
        if s.is_empty() {
            return Err(Error::shape(
                &self.arch.name,
                "x",
                "a batch (rank >= 1)",
                &s,
            ));
        }
        let per_sample = &s[1..];
        match &self.arch.input_shape {
            Some(expected) if self.built() => {
                if expected.as_slice() != per_sample {
                    return Err(self.input_mismatch(expected, "", &s));
                }
                Ok(())
            }
            _ => self.build(per_sample),
        }
    }
}

impl<B: Backend> Network<B> for Sequential<B> {
    fn model_name(&self) -> &str {
        &self.arch.name
    }
    fn input_names(&self) -> Vec<String> {
        vec!["input_layer".to_string()]
    }
    fn output_names(&self) -> Vec<String> {
        vec![self
            .arch
            .layers
            .last()
            .map(|l| l.name().to_string())
            .unwrap_or_else(|| "output".to_string())]
    }
    fn forward(&self, xs: &[Tensor<B>], ctx: &mut CallContext) -> Result<Vec<Tensor<B>>> {
        match xs {
            [x] => super::parts::forward_under(self.state.policy, self.arch.dtype, ctx, |ctx| {
                Ok(vec![self.run_layers(x, ctx)?])
            }),
            _ => Err(Error::invalid(
                &self.arch.name,
                "inputs",
                format!("a Sequential model takes one input, got {}", xs.len()),
            )),
        }
    }
    fn trainable_params(&self) -> Vec<Tensor<B>> {
        self.arch
            .layers
            .iter()
            .flat_map(|l| l.weights())
            .filter(|w| w.trainable)
            .map(|w| w.value)
            .collect()
    }
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>> {
        let mut total: Option<Tensor<B>> = None;
        for l in &self.arch.layers {
            if let Some(r) = l.regularization_loss()? {
                total = Some(match total {
                    Some(t) => t.add(&r)?,
                    None => r,
                });
            }
        }
        Ok(total)
    }
    fn prepare_inputs(&mut self, xs: &[Tensor<B>]) -> Result<()> {
        self.take_deferred()?;
        if self.arch.layers.is_empty() {
            // Keras: "Sequential model ... cannot be built because it has no layers".
            return Err(Error::NotReady {
                op: format!("{} (fit/evaluate/predict)", self.arch.name),
                needed: "given layers".into(),
                hint: "it has no layers; call model.add(layer)".into(),
            });
        }
        match xs {
            [x] => self.check_input(x),
            _ => Err(Error::invalid(
                &self.arch.name,
                "inputs",
                format!("a Sequential model takes one input, got {}", xs.len()),
            )),
        }
    }
    fn check_inputs(&self, xs: &[Tensor<B>]) -> Result<()> {
        self.check_deferred()?;
        self.check_placed()?;
        let [x] = xs else {
            return Err(Error::invalid(
                &self.arch.name,
                "inputs",
                format!("a Sequential model takes one input, got {}", xs.len()),
            ));
        };
        let s = x.shape();
        if s.is_empty() {
            return Err(Error::shape(
                &self.arch.name,
                "x",
                "a batch (rank >= 1)",
                &s,
            ));
        }
        match &self.arch.input_shape {
            Some(expected) if self.built() => {
                if expected.as_slice() != &s[1..] {
                    return Err(self.input_mismatch(expected, "", &s));
                }
                Ok(())
            }
            _ => Err(Error::NotReady {
                op: format!("{} (evaluate/predict)", self.arch.name),
                needed: "built".into(),
                hint: if self.arch.layers.is_empty() {
                    "it has no layers; call model.add(layer)".into()
                } else {
                    format!(
                        "its input shape is not known yet: start it with an Input layer, \
                         call model.build(&{:?}) or fit it first",
                        &s[1..]
                    )
                },
            }),
        }
    }
    fn output_shapes(&self) -> Result<Vec<Vec<usize>>> {
        Ok(vec![Sequential::output_shape(self)?])
    }
    fn device(&self) -> Device {
        // Unresolved only while the model has no layer: report where it would go.
        self.arch
            .device
            .unwrap_or_else(|| Device::placement::<B>().unwrap_or_default())
    }
    fn dtype(&self) -> DType {
        self.arch.dtype
    }
    fn access(&self) -> &dyn ModelAccess {
        self
    }
}

impl<B: Backend> Architecture<B> for LayerStack<B> {
    fn pending_error(model: &mut Sequential<B>) -> Result<()> {
        model.take_deferred()
    }
    const CLASS: &'static str = "Sequential";
    fn named_weights(model: &Sequential<B>) -> Vec<(String, Weight<B>)> {
        model
            .arch
            .layers
            .iter()
            .flat_map(|l| {
                let name = l.name().to_string();
                l.weights()
                    .into_iter()
                    .map(move |w| (format!("{name}/{}", w.name), w))
            })
            .collect()
    }
    /// Rebuilds every built layer on `device` with the same weights (see
    /// `device::rebuild_layer`) and records `device`; the shared `to_device` calls it.
    fn move_layers(model: &mut Sequential<B>, device: Device, cast: Option<DType>) -> Result<()> {
        model.move_built_layers(device, cast)?;
        model.arch.device = Some(device);
        if let Some(d) = cast {
            model.arch.dtype = d;
        }
        Ok(())
    }
    fn config(model: &Sequential<B>) -> serde_json::Value {
        model.get_config()
    }
    /// A chain of the layers (no input node, as in `to_dot`), with output shapes when the
    /// input shape is known.
    fn layer_graph(model: &Sequential<B>) -> Result<Vec<LayerNode>> {
        let mut shape = model.input_shape().map(<[usize]>::to_vec);
        let mut previous: Option<String> = None;
        let mut nodes = Vec::with_capacity(model.layers().len());
        for l in model.layers() {
            let output_shapes = match shape.take() {
                Some(input) => {
                    let output = l.output_shape(&input)?;
                    shape = Some(output.clone());
                    vec![output]
                }
                None => Vec::new(),
            };
            let name = l.name().to_string();
            nodes.push(LayerNode {
                name: name.clone(),
                class_name: l.class_name().to_string(),
                inputs: previous.replace(name).map(|p| (p, 0)).into_iter().collect(),
                output_shapes,
                config: Some(l.get_config()),
            });
        }
        Ok(nodes)
    }
}
