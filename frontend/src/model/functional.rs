//! The functional API: symbolic tensors from [`Input::tensor`], layers applied to them
//! with [`Apply::apply`], and [`Model::new`] turning the resulting graph into a model with
//! everything a `Sequential` has.

use super::api::{ModelCore, ModelParts, ModelState};
use super::summary::{render_summary, shape_str, SummaryRow};
use super::training::Network;
use crate::backend::{Backend, DType, Device};
use crate::callbacks::ModelAccess;
use crate::error::{Error, Result};
use crate::layers::{snake_case, BuildContext, CallContext, Input, Layer, Weight};
use crate::tensor::Tensor;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A layer that may be applied several times (shared weights).
pub type LayerRef<B> = Arc<Mutex<Box<dyn Layer<B>>>>;

static NODE_IDS: AtomicUsize = AtomicUsize::new(0);

struct Node<B: Backend> {
    id: usize,
    /// `None` for an input.
    layer: Option<LayerRef<B>>,
    /// For inputs: the declared name (may be empty).
    input_name: String,
    inputs: Vec<SymbolicTensor<B>>,
    output_shapes: Vec<Vec<usize>>,
}

/// One node of a functional model's graph: a model input or one call of a layer (a shared
/// layer has one node per call), as returned by `Model::graph_nodes`.
pub(crate) struct GraphNode {
    /// The layer's (or input's) name.
    pub name: String,
    /// `InputLayer` for an input, else the layer's class.
    pub class_name: String,
    /// Parameters, counted on the layer's first call only.
    pub params: usize,
    /// The layer's config (`None` for an input).
    pub config: Option<serde_json::Value>,
    /// The tensors this call consumes.
    pub inputs: Vec<Inbound>,
    /// Per-sample output shapes.
    pub output_shapes: Vec<Vec<usize>>,
}

/// A tensor consumed by a [`GraphNode`]: Keras' `name[node_index][tensor_index]`.
pub(crate) struct Inbound {
    /// The producing layer's (or input's) name.
    pub name: String,
    /// Which call of the producing layer.
    pub node_index: usize,
    /// Which output of that call.
    pub tensor_index: usize,
    /// Per-sample shape of the tensor.
    pub shape: Vec<usize>,
}

/// A placeholder for a batch flowing through a model under construction: its per-sample
/// shape is known, its values are not. Made by [`Input::tensor`] and [`Apply::apply`].
pub struct SymbolicTensor<B: Backend> {
    node: Arc<Node<B>>,
    index: usize,
}

impl<B: Backend> Clone for SymbolicTensor<B> {
    fn clone(&self) -> Self {
        Self {
            node: self.node.clone(),
            index: self.index,
        }
    }
}

impl<B: Backend> std::fmt::Debug for SymbolicTensor<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SymbolicTensor(shape={})", shape_str(self.shape()))
    }
}

impl<B: Backend> SymbolicTensor<B> {
    /// Per-sample shape (batch excluded).
    pub fn shape(&self) -> &[usize] {
        &self.node.output_shapes[self.index]
    }
}

fn lock<B: Backend>(l: &LayerRef<B>) -> Result<MutexGuard<'_, Box<dyn Layer<B>>>> {
    l.lock()
        .map_err(|_| Error::invalid("layer", "lock", "poisoned by a panic in another thread"))
}

impl Input {
    /// A symbolic input tensor for the functional API, like `keras.Input(shape=...)`.
    pub fn tensor<B: Backend>(self) -> SymbolicTensor<B> {
        let name = Layer::<B>::name(&self).to_string();
        SymbolicTensor {
            node: Arc::new(Node {
                id: NODE_IDS.fetch_add(1, Ordering::Relaxed),
                layer: None,
                input_name: name,
                inputs: Vec::new(),
                output_shapes: vec![self.shape().to_vec()],
            }),
            index: 0,
        }
    }
}

/// Connects `layer` to `inputs`: builds it on their shapes (once) and returns the node's
/// symbolic outputs.
fn connect<B: Backend>(
    layer: &LayerRef<B>,
    inputs: &[SymbolicTensor<B>],
) -> Result<Vec<SymbolicTensor<B>>> {
    if inputs.is_empty() {
        return Err(Error::invalid(
            "apply",
            "inputs",
            "at least one symbolic tensor",
        ));
    }
    let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape().to_vec()).collect();
    let output_shapes = {
        let mut l = lock(layer)?;
        if l.name().is_empty() {
            let base = snake_case(l.class_name());
            l.set_name(base);
        }
        l.validate()?;
        if !l.built() {
            let label = format!("{} ({})", l.name(), l.class_name());
            // Keras' placement: the GPU when there is one (see `Device::placement`).
            let device = super::api::placement::<B>(&label)?;
            let mut ctx = BuildContext::new(device, DType::F32, crate::random::next_global_seed());
            crate::limits::in_layer(|| label, || l.build_multi(&shapes, &mut ctx))?;
        } else if !l.weights().is_empty() {
            // Built elsewhere (a Normalization adapted on CPU tensors, a model moved with
            // on_device): its weights follow the placement, like a new layer's.
            let label = format!("{} ({})", l.name(), l.class_name());
            let device = super::api::placement::<B>(&label)?;
            if super::api::misplaced(l.as_ref(), device) {
                if let Some(f) = super::api::rebuild_layer(l.as_ref(), &shapes, device, DType::F32)?
                {
                    *l = f;
                }
            }
        }
        let outs = l.output_shapes(&shapes)?;
        for o in &outs {
            crate::limits::check_shape(l.name(), "output shape", o)?;
        }
        outs
    };
    let node = Arc::new(Node {
        id: NODE_IDS.fetch_add(1, Ordering::Relaxed),
        layer: Some(layer.clone()),
        input_name: String::new(),
        inputs: inputs.to_vec(),
        output_shapes,
    });
    Ok((0..node.output_shapes.len())
        .map(|index| SymbolicTensor {
            node: node.clone(),
            index,
        })
        .collect())
}

/// Applying layers to symbolic tensors (the functional API). Implemented for every layer,
/// which is consumed (one use); wrap a layer in [`Shared`] to apply it several times with
/// the same weights.
pub trait Apply<B: Backend> {
    /// Applies to one input; the layer's single output.
    ///
    /// # Errors
    /// The layer does not accept the input's shape (the message names the layer).
    fn apply(self, x: &SymbolicTensor<B>) -> Result<SymbolicTensor<B>>;
    /// Applies to several inputs (merges); the layer's first output.
    ///
    /// # Errors
    /// As [`Apply::apply`].
    fn apply_multi(self, xs: &[SymbolicTensor<B>]) -> Result<SymbolicTensor<B>>;
    /// Applies to several inputs, returning every output (layers with states).
    ///
    /// # Errors
    /// As [`Apply::apply`].
    fn apply_outputs(self, xs: &[SymbolicTensor<B>]) -> Result<Vec<SymbolicTensor<B>>>;
}

impl<B: Backend, L: Layer<B> + 'static> Apply<B> for L {
    fn apply(self, x: &SymbolicTensor<B>) -> Result<SymbolicTensor<B>> {
        Shared::new(self).apply(x)
    }
    fn apply_multi(self, xs: &[SymbolicTensor<B>]) -> Result<SymbolicTensor<B>> {
        Shared::new(self).apply_multi(xs)
    }
    fn apply_outputs(self, xs: &[SymbolicTensor<B>]) -> Result<Vec<SymbolicTensor<B>>> {
        Shared::new(self).apply_outputs(xs)
    }
}

/// A layer applied more than once with one set of weights (a shared layer, as when Keras
/// calls the same layer object twice).
///
/// ```
/// use stratanet::prelude::*;
/// use stratanet::layers::Concatenate;
/// # fn main() -> stratanet::Result<()> {
/// type B = DefaultBackend;
/// let a = Input::new(&[3]).tensor::<B>();
/// let b = Input::new(&[3]).tensor::<B>();
/// let encoder = Shared::new(Dense::new(2));
/// let ea = encoder.apply(&a)?;
/// let eb = encoder.apply(&b)?;
/// let out = Concatenate::new(-1).apply_multi(&[ea, eb])?;
/// let model = Model::new(&[a, b], &[out])?;
/// assert_eq!(model.count_params().0, 3 * 2 + 2); // one kernel and bias, used twice
/// # Ok(())
/// # }
/// ```
pub struct Shared<B: Backend> {
    layer: LayerRef<B>,
}

impl<B: Backend> Clone for Shared<B> {
    fn clone(&self) -> Self {
        Self {
            layer: self.layer.clone(),
        }
    }
}

impl<B: Backend> std::fmt::Debug for Shared<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl<B: Backend> Shared<B> {
    /// Wraps a layer for reuse.
    pub fn new(layer: impl Layer<B> + 'static) -> Self {
        Self {
            layer: Arc::new(Mutex::new(Box::new(layer))),
        }
    }
    /// Wraps an already boxed layer.
    pub fn from_boxed(layer: Box<dyn Layer<B>>) -> Self {
        Self {
            layer: Arc::new(Mutex::new(layer)),
        }
    }
}

impl<B: Backend> Shared<B> {
    /// Applies the shared layer to one input (see [`Apply::apply`]).
    ///
    /// # Errors
    /// The layer does not accept the input's shape.
    pub fn apply(&self, x: &SymbolicTensor<B>) -> Result<SymbolicTensor<B>> {
        self.apply_multi(std::slice::from_ref(x))
    }
    /// Applies the shared layer to several inputs (see [`Apply::apply_multi`]).
    ///
    /// # Errors
    /// The layer does not accept the inputs' shapes.
    pub fn apply_multi(&self, xs: &[SymbolicTensor<B>]) -> Result<SymbolicTensor<B>> {
        Ok(connect(&self.layer, xs)?.remove(0))
    }
    /// Applies the shared layer, returning every output (see [`Apply::apply_outputs`]).
    ///
    /// # Errors
    /// The layer does not accept the inputs' shapes.
    pub fn apply_outputs(&self, xs: &[SymbolicTensor<B>]) -> Result<Vec<SymbolicTensor<B>>> {
        connect(&self.layer, xs)
    }
}

/// A model built from a graph of layers (Keras' functional `Model`): several inputs and
/// outputs, shared layers, residual merges, and models used as layers.
///
/// ```
/// use stratanet::prelude::*;
/// use stratanet::layers::Add;
/// # fn main() -> stratanet::Result<()> {
/// type B = DefaultBackend;
/// stratanet::set_random_seed(0);
/// let image = Input::new(&[8]).name("image").tensor::<B>();
/// let meta = Input::new(&[2]).name("meta").tensor::<B>();
/// let h = Dense::new(8).activation("relu").apply(&image)?;
/// let h = Add().apply_multi(&[h, image.clone()])?; // residual
/// let m = Dense::new(8).apply(&meta)?;
/// let joined = stratanet::layers::Concatenate::new(-1).apply_multi(&[h, m])?;
/// let digit = Dense::new(3).activation("softmax").name("digit").apply(&joined)?;
/// let size = Dense::new(1).name("size").apply(&joined)?;
/// let mut model = Model::new(&[image, meta], &[digit, size])?;
/// model.compile_with(
///     Compile::new("adam")
///         .loss("digit", "sparse_categorical_crossentropy")
///         .loss("size", "mse")
///         .loss_weight("size", 0.5)
///         .metrics("digit", &["accuracy"]),
/// )?;
/// let xi = Tensor::<B>::uniform(&[16, 8], 0.0, 1.0, 1, DType::F32, Device::Cpu)?;
/// let xm = Tensor::<B>::uniform(&[16, 2], 0.0, 1.0, 2, DType::F32, Device::Cpu)?;
/// let yd = Tensor::<B>::from_vec((0..16).map(|i| i % 3).collect::<Vec<i64>>(), &[16])?;
/// let ys = Tensor::<B>::uniform(&[16, 1], 0.0, 1.0, 3, DType::F32, Device::Cpu)?;
/// let h = model.fit(
///     [("image", &xi), ("meta", &xm)],
///     [("digit", &yd), ("size", &ys)],
///     FitOptions::new().epochs(2).verbose(0),
/// )?;
/// for k in ["loss", "digit_loss", "size_loss", "digit_accuracy"] {
///     assert!(h.get(k).is_some(), "{k}");
/// }
/// println!("{}", model.summary()?);
/// # Ok(())
/// # }
/// ```
pub type Model<B> = ModelCore<B, LayerGraph<B>>;

/// The architecture of a functional [`Model`]: its graph of layer nodes between symbolic
/// inputs and outputs (the shared compile state lives in [`ModelCore`]).
pub struct LayerGraph<B: Backend> {
    name: String,
    /// Nodes in topological order (inputs included).
    nodes: Vec<Arc<Node<B>>>,
    inputs: Vec<SymbolicTensor<B>>,
    outputs: Vec<SymbolicTensor<B>>,
    /// Distinct layers in first-use order.
    layers: Vec<LayerRef<B>>,
    input_names: Vec<String>,
    trainable: bool,
    /// Where the weights live (the device every layer was built on), or for a model
    /// without weights, where its inputs go.
    device: Device,
}

impl<B: Backend> std::fmt::Debug for Model<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.arch.name)
            .field("inputs", &self.arch.input_names)
            .field("outputs", &self.output_names())
            .finish_non_exhaustive()
    }
}

fn same(a: &LayerRef<impl Backend>, b: &LayerRef<impl Backend>) -> bool {
    std::ptr::eq(Arc::as_ptr(a) as *const u8, Arc::as_ptr(b) as *const u8)
}

impl<B: Backend> Model<B> {
    /// A model from its symbolic inputs and outputs, like `keras.Model(inputs, outputs)`.
    ///
    /// The layers were built, when they were applied, on the default placement
    /// ([`Device::auto`]: the GPU when the engine sees one, else the CPU;
    /// `STRATANET_DEVICE` or a [`Device::scope`] around the `apply` calls overrides it);
    /// the model lives there. [`Model::on_device`] moves it.
    ///
    /// # Errors
    /// No inputs or outputs; an output that depends on an input not given (the graph is
    /// disconnected); duplicate layer or input names; layers built on different devices
    /// (naming both); for a model without weights, an invalid `STRATANET_DEVICE`. (A cycle
    /// cannot be built: a layer can only be applied to tensors that already exist.)
    pub fn new(inputs: &[SymbolicTensor<B>], outputs: &[SymbolicTensor<B>]) -> Result<Self> {
        if inputs.is_empty() || outputs.is_empty() {
            return Err(Error::invalid(
                "Model::new",
                "inputs/outputs",
                "at least one input and one output",
            ));
        }
        for (i, t) in inputs.iter().enumerate() {
            if t.node.layer.is_some() {
                return Err(Error::invalid(
                    "Model::new",
                    format!("inputs[{i}]"),
                    "not an Input tensor (make inputs with Input::new(shape).tensor())",
                ));
            }
        }
        let input_ids: HashSet<usize> = inputs.iter().map(|t| t.node.id).collect();
        // Depth-first topological sort from the outputs.
        let mut order: Vec<Arc<Node<B>>> = Vec::new();
        let mut done: HashSet<usize> = HashSet::new();
        let mut visiting: HashSet<usize> = HashSet::new();
        fn visit<B: Backend>(
            n: &Arc<Node<B>>,
            input_ids: &HashSet<usize>,
            done: &mut HashSet<usize>,
            visiting: &mut HashSet<usize>,
            order: &mut Vec<Arc<Node<B>>>,
        ) -> Result<()> {
            if done.contains(&n.id) {
                return Ok(());
            }
            if !visiting.insert(n.id) {
                return Err(Error::invalid(
                    "Model::new",
                    "graph",
                    "the layer graph has a cycle",
                ));
            }
            if n.layer.is_none() && !input_ids.contains(&n.id) {
                let name = if n.input_name.is_empty() {
                    "an unnamed Input".to_string()
                } else {
                    format!("Input '{}'", n.input_name)
                };
                return Err(Error::invalid(
                    "Model::new",
                    "outputs",
                    format!("the graph is disconnected: an output depends on {name} (shape {}) that is not among the model's inputs", shape_str(&n.output_shapes[0])),
                ));
            }
            for i in &n.inputs {
                visit(&i.node, input_ids, done, visiting, order)?;
            }
            visiting.remove(&n.id);
            done.insert(n.id);
            order.push(n.clone());
            Ok(())
        }
        for t in inputs {
            visit(&t.node, &input_ids, &mut done, &mut visiting, &mut order)?;
        }
        for t in outputs {
            visit(&t.node, &input_ids, &mut done, &mut visiting, &mut order)?;
        }
        // Distinct layers, unique names.
        let mut layers: Vec<LayerRef<B>> = Vec::new();
        for n in &order {
            if let Some(l) = &n.layer {
                if !layers.iter().any(|x| same(x, l)) {
                    layers.push(l.clone());
                }
            }
        }
        let mut used: HashMap<String, usize> = HashMap::new();
        for l in &layers {
            let mut g = lock(l)?;
            let base = g.name().to_string();
            let n = used.entry(base.clone()).or_insert(0);
            if *n > 0 {
                // A second layer with this (auto or explicit) name: number it like Keras.
                let mut k = *n;
                let mut candidate = format!("{base}_{k}");
                while used.contains_key(&candidate) {
                    k += 1;
                    candidate = format!("{base}_{k}");
                }
                *used.get_mut(&base).unwrap_or(&mut 0) = k + 1;
                used.insert(candidate.clone(), 1);
                g.set_name(candidate);
            } else {
                *n = 1;
            }
        }
        let mut input_names = Vec::new();
        for (i, t) in inputs.iter().enumerate() {
            let name = if t.node.input_name.is_empty() {
                if i == 0 {
                    "input_layer".to_string()
                } else {
                    format!("input_layer_{i}")
                }
            } else {
                t.node.input_name.clone()
            };
            if input_names.contains(&name) || used.contains_key(&name) {
                return Err(Error::invalid(
                    "Model::new",
                    "inputs",
                    format!("the name '{name}' is used twice"),
                ));
            }
            input_names.push(name);
        }
        // One device for every weight.
        let mut placed: Option<(Device, String)> = None;
        for l in &layers {
            let g = lock(l)?;
            for w in g.weights() {
                let d = w.value.device();
                match &placed {
                    None => placed = Some((d, format!("{}/{}", g.name(), w.name))),
                    Some((first, at)) if *first != d => {
                        return Err(Error::invalid(
                            "Model::new",
                            "layers",
                            format!(
                                "weights on two devices: {at} on {first}, {}/{} on {d}; build \
                                 every layer under one placement (STRATANET_DEVICE, \
                                 Device::scope) or move a model with on_device",
                                g.name(),
                                w.name
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        let device = match placed {
            Some((d, _)) => d,
            None => super::api::placement::<B>("Model::new")?,
        };
        Ok(ModelCore {
            arch: LayerGraph {
                name: "functional".into(),
                nodes: order,
                inputs: inputs.to_vec(),
                outputs: outputs.to_vec(),
                layers,
                input_names,
                trainable: true,
                device,
            },
            state: ModelState::new(crate::random::next_global_seed()),
        })
    }

    /// The model moved to `device` (builder form of [`Model::to_device`]): layers rebuilt
    /// there with copies of their weights, the compiled optimizer's state moved too (no
    /// recompiling needed).
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// # fn main() -> stratanet::Result<()> {
    /// type B = DefaultBackend;
    /// let x = Input::new(&[3]).tensor::<B>();
    /// let y = Dense::new(2).apply(&x)?;
    /// let model = Model::new(&[x], &[y])?.on_device(Device::Cpu)?;
    /// assert_eq!(model.device(), Device::Cpu);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Model::to_device`].
    pub fn on_device(mut self, device: Device) -> Result<Self> {
        self.to_device(device)?;
        Ok(self)
    }

    /// Rebuilds every layer on `device` with its weights (`api::rebuild_layer`), in place
    /// in its shared slot (the graph and `Shared` handles stay valid), and records
    /// `device`; the shared `to_device` calls it. Nothing changes unless every layer could
    /// be rebuilt.
    fn move_layers(&mut self, device: Device) -> Result<()> {
        let mut fresh = Vec::with_capacity(self.arch.layers.len());
        for l in &self.arch.layers {
            // The shapes of the layer's first call.
            let shapes: Vec<Vec<usize>> = self
                .arch
                .nodes
                .iter()
                .find(|n| n.layer.as_ref().is_some_and(|x| same(x, l)))
                .map(|n| n.inputs.iter().map(|t| t.shape().to_vec()).collect())
                .unwrap_or_default();
            let g = lock(l)?;
            let dtype = g
                .weights()
                .iter()
                .map(|w| w.value.dtype())
                .find(|d| d.is_float())
                .unwrap_or(DType::F32);
            fresh.push(super::api::rebuild_layer(
                g.as_ref(),
                &shapes,
                device,
                dtype,
            )?);
        }
        for (l, f) in self.arch.layers.iter().zip(fresh) {
            if let Some(f) = f {
                *lock(l)? = f;
            }
        }
        self.arch.device = device;
        Ok(())
    }

    /// Sets the model's name.
    pub fn with_name(mut self, name: &str) -> Self {
        self.arch.name = name.to_string();
        self
    }

    /// Sets the seed used as `fit`'s default seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.state.seed = seed;
        self
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.arch.name
    }

    /// Names of the layers, in first-use order.
    pub fn layer_names(&self) -> Vec<String> {
        self.arch
            .layers
            .iter()
            .map(|l| lock(l).map(|g| g.name().to_string()).unwrap_or_default())
            .collect()
    }

    /// Per-sample shapes of the outputs.
    ///
    /// # Errors
    /// Never for a constructed model (kept fallible like `Sequential::output_shape`).
    pub fn output_shapes(&self) -> Result<Vec<Vec<usize>>> {
        Ok(self
            .arch
            .outputs
            .iter()
            .map(|t| t.shape().to_vec())
            .collect())
    }

    /// Per-sample shapes of the inputs.
    pub fn input_shapes(&self) -> Vec<Vec<usize>> {
        self.arch
            .inputs
            .iter()
            .map(|t| t.shape().to_vec())
            .collect()
    }

    fn node_label(&self, n: &Node<B>) -> String {
        match &n.layer {
            Some(l) => lock(l).map(|g| g.name().to_string()).unwrap_or_default(),
            None => self
                .arch
                .inputs
                .iter()
                .position(|t| t.node.id == n.id)
                .map(|i| self.arch.input_names[i].clone())
                .unwrap_or_default(),
        }
    }

    /// Every node of the graph in topological order (inputs included), with the
    /// connectivity `summary` prints as "Connected to" and `to_dot` draws as edges.
    ///
    /// # Errors
    /// Only if a layer's lock was poisoned.
    pub(crate) fn graph_nodes(&self) -> Result<Vec<GraphNode>> {
        let mut seen: Vec<LayerRef<B>> = Vec::new();
        // Node index per layer (for `layer[node][tensor]` references).
        let mut node_index: HashMap<usize, usize> = HashMap::new();
        let mut uses: HashMap<*const u8, usize> = HashMap::new();
        for n in &self.arch.nodes {
            if let Some(l) = &n.layer {
                let key = Arc::as_ptr(l) as *const u8;
                let k = uses.entry(key).or_insert(0);
                node_index.insert(n.id, *k);
                *k += 1;
            } else {
                node_index.insert(n.id, 0);
            }
        }
        let mut out = Vec::with_capacity(self.arch.nodes.len());
        for n in &self.arch.nodes {
            let (class_name, params, config) = match &n.layer {
                Some(l) => {
                    let g = lock(l)?;
                    let first_use = !seen.iter().any(|x| same(x, l));
                    let params = if first_use {
                        seen.push(l.clone());
                        g.weights().iter().map(|w| w.value.numel()).sum()
                    } else {
                        0
                    };
                    (g.class_name().to_string(), params, Some(g.get_config()))
                }
                None => ("InputLayer".to_string(), 0, None),
            };
            out.push(GraphNode {
                name: self.node_label(n),
                class_name,
                params,
                config,
                inputs: n
                    .inputs
                    .iter()
                    .map(|t| Inbound {
                        name: self.node_label(&t.node),
                        node_index: node_index.get(&t.node.id).copied().unwrap_or(0),
                        tensor_index: t.index,
                        shape: t.shape().to_vec(),
                    })
                    .collect(),
                output_shapes: n.output_shapes.clone(),
            });
        }
        Ok(out)
    }

    /// The Keras summary table, with a `Connected to` column.
    ///
    /// # Errors
    /// Only if a layer's lock was poisoned.
    pub fn summary(&self) -> Result<String> {
        let rows = self
            .graph_nodes()?
            .into_iter()
            .map(|n| {
                let shapes: Vec<String> = n.output_shapes.iter().map(|s| shape_str(s)).collect();
                let connected = if n.inputs.is_empty() {
                    "-".to_string()
                } else {
                    n.inputs
                        .iter()
                        .map(|t| format!("{}[{}][{}]", t.name, t.node_index, t.tensor_index))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                SummaryRow {
                    layer: format!("{} ({})", n.name, n.class_name),
                    output_shape: shapes.join(", "),
                    params: n.params,
                    connected_to: Some(connected),
                }
            })
            .collect::<Vec<_>>();
        let (t, nt) = self.count_params();
        Ok(render_summary(
            &self.arch.name,
            &rows,
            t,
            nt,
            DType::F32.size_in_bytes(),
        ))
    }

    fn run(&self, xs: &[Tensor<B>], ctx: &mut CallContext) -> Result<Vec<Tensor<B>>> {
        if xs.len() != self.arch.inputs.len() {
            return Err(Error::invalid(
                &self.arch.name,
                "inputs",
                format!(
                    "{} tensors given, the model has {} inputs",
                    xs.len(),
                    self.arch.inputs.len()
                ),
            ));
        }
        let mut values: HashMap<usize, Vec<Tensor<B>>> =
            HashMap::with_capacity(self.arch.nodes.len());
        for (t, x) in self.arch.inputs.iter().zip(xs) {
            values.insert(t.node.id, vec![x.clone()]);
        }
        for n in &self.arch.nodes {
            let Some(layer) = &n.layer else { continue };
            let args: Vec<Tensor<B>> = n
                .inputs
                .iter()
                .map(|t| {
                    values
                        .get(&t.node.id)
                        .and_then(|v| v.get(t.index))
                        .cloned()
                        .ok_or_else(|| {
                            Error::invalid(&self.arch.name, "graph", "a node ran before its inputs")
                        })
                })
                .collect::<Result<_>>()?;
            let out = lock(layer)?.call_multi(&args, ctx)?;
            values.insert(n.id, out);
        }
        self.arch
            .outputs
            .iter()
            .map(|t| {
                values
                    .get(&t.node.id)
                    .and_then(|v| v.get(t.index))
                    .cloned()
                    .ok_or_else(|| {
                        Error::invalid(&self.arch.name, "graph", "an output was not computed")
                    })
            })
            .collect()
    }

    /// The graph as JSON: each layer's class and config once, then the nodes in
    /// topological order with their inputs (`[node, output]` pairs), the model inputs and
    /// outputs. [`Model::from_config`] rebuilds the same graph (fresh weights).
    pub fn get_config(&self) -> serde_json::Value {
        let index: HashMap<usize, usize> = self
            .arch
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id, i))
            .collect();
        let mut layers = Vec::new();
        for l in &self.arch.layers {
            if let Ok(g) = lock(l) {
                layers.push(serde_json::json!({"class_name": g.class_name(), "config": g.get_config(), "name": g.name()}));
            }
        }
        let nodes: Vec<serde_json::Value> = self.arch
            .nodes
            .iter()
            .map(|n| match &n.layer {
                None => {
                    let i = self.arch.inputs.iter().position(|t| t.node.id == n.id).unwrap_or(0);
                    serde_json::json!({"input": self.arch.input_names.get(i).cloned().unwrap_or_default(), "shape": n.output_shapes[0]})
                }
                Some(l) => {
                    let name = lock(l).map(|g| g.name().to_string()).unwrap_or_default();
                    let inputs: Vec<[usize; 2]> = n.inputs.iter().map(|t| [index[&t.node.id], t.index]).collect();
                    serde_json::json!({"layer": name, "inputs": inputs})
                }
            })
            .collect();
        let inputs: Vec<usize> = self.arch.inputs.iter().map(|t| index[&t.node.id]).collect();
        let outputs: Vec<[usize; 2]> = self
            .arch
            .outputs
            .iter()
            .map(|t| [index[&t.node.id], t.index])
            .collect();
        serde_json::json!({
            "name": self.arch.name,
            "layers": layers,
            "nodes": nodes,
            "inputs": inputs,
            "outputs": outputs,
        })
    }

    /// Rebuilds a model from [`Model::get_config`] (fresh weights; layer names kept).
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed config, unknown layer classes (register custom
    /// ones with [`crate::layers::register_layer`]).
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let name = config["name"].as_str().unwrap_or("");
        crate::limits::nested_model(name, || Self::from_config_inner(config))
    }

    fn from_config_inner(config: &serde_json::Value) -> Result<Self> {
        let bad = |what: &str| Error::config("model_config", what.to_string());
        let mut shared: HashMap<String, Shared<B>> = HashMap::new();
        for l in config["layers"]
            .as_array()
            .ok_or_else(|| bad("missing 'layers'"))?
        {
            let class = l["class_name"]
                .as_str()
                .ok_or_else(|| bad("a layer without class_name"))?;
            let name = l["name"].as_str().unwrap_or("").to_string();
            let mut layer = crate::layers::layer_from_config::<B>(class, &l["config"])?;
            if !name.is_empty() {
                layer.set_name(name.clone());
            }
            shared.insert(name, Shared::from_boxed(layer));
        }
        let mut built: Vec<Vec<SymbolicTensor<B>>> = Vec::new();
        for (i, n) in config["nodes"]
            .as_array()
            .ok_or_else(|| bad("missing 'nodes'"))?
            .iter()
            .enumerate()
        {
            if let Some(input) = n.get("input") {
                let name = input.as_str().unwrap_or("");
                let shape = crate::layers::cfg_shape(n, &format!("input '{name}'"), "shape", 1)?;
                built.push(vec![Input::new(&shape).name(name).tensor::<B>()]);
                continue;
            }
            let lname = n["layer"]
                .as_str()
                .ok_or_else(|| bad(&format!("node {i} has neither 'input' nor 'layer'")))?;
            let layer = shared
                .get(lname)
                .ok_or_else(|| bad(&format!("node {i} uses unknown layer '{lname}'")))?;
            let refs: Vec<[usize; 2]> = serde_json::from_value(n["inputs"].clone())?;
            let args: Vec<SymbolicTensor<B>> = refs
                .iter()
                .map(|[node, out]| {
                    built
                        .get(*node)
                        .and_then(|v| v.get(*out))
                        .cloned()
                        .ok_or_else(|| {
                            bad(&format!(
                                "node {i} refers to node {node} output {out}, not built yet"
                            ))
                        })
                })
                .collect::<Result<_>>()?;
            built.push(layer.apply_outputs(&args)?);
        }
        let pick = |[node, out]: [usize; 2]| -> Result<SymbolicTensor<B>> {
            built
                .get(node)
                .and_then(|v| v.get(out))
                .cloned()
                .ok_or_else(|| bad(&format!("no node {node} output {out}")))
        };
        let inputs: Vec<usize> = serde_json::from_value(config["inputs"].clone())?;
        let outputs: Vec<[usize; 2]> = serde_json::from_value(config["outputs"].clone())?;
        let inputs: Vec<SymbolicTensor<B>> = inputs
            .into_iter()
            .map(|i| pick([i, 0]))
            .collect::<Result<_>>()?;
        let outputs: Vec<SymbolicTensor<B>> =
            outputs.into_iter().map(pick).collect::<Result<_>>()?;
        let mut m = Model::new(&inputs, &outputs)?;
        if let Some(name) = config["name"].as_str() {
            m.arch.name = name.to_string();
        }
        Ok(m)
    }

    fn all_weights(&self) -> Vec<(String, Weight<B>)> {
        let mut out = Vec::new();
        for l in &self.arch.layers {
            if let Ok(g) = lock(l) {
                let name = g.name().to_string();
                for w in g.weights() {
                    out.push((format!("{name}/{}", w.name), w));
                }
            }
        }
        out
    }
}

impl<B: Backend> Network<B> for Model<B> {
    fn model_name(&self) -> &str {
        &self.arch.name
    }
    fn input_names(&self) -> Vec<String> {
        self.arch.input_names.clone()
    }
    fn output_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for t in &self.arch.outputs {
            let base = self.node_label(&t.node);
            let name = if t.node.output_shapes.len() > 1 {
                format!("{base}_{}", t.index)
            } else {
                base
            };
            names.push(name);
        }
        names
    }
    fn forward(&self, xs: &[Tensor<B>], ctx: &mut CallContext) -> Result<Vec<Tensor<B>>> {
        self.run(xs, ctx)
    }
    fn trainable_params(&self) -> Vec<Tensor<B>> {
        if !self.arch.trainable {
            return Vec::new();
        }
        self.all_weights()
            .into_iter()
            .filter(|(_, w)| w.trainable)
            .map(|(_, w)| w.value)
            .collect()
    }
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>> {
        let mut total: Option<Tensor<B>> = None;
        for l in &self.arch.layers {
            if let Some(r) = lock(l)?.regularization_loss()? {
                total = Some(match total {
                    Some(t) => t.add(&r)?,
                    None => r,
                });
            }
        }
        Ok(total)
    }
    fn prepare_inputs(&mut self, xs: &[Tensor<B>]) -> Result<()> {
        if xs.len() != self.arch.inputs.len() {
            return Err(Error::invalid(
                &self.arch.name,
                "inputs",
                format!(
                    "{} tensors given, the model has {} inputs",
                    xs.len(),
                    self.arch.inputs.len()
                ),
            ));
        }
        for (i, (t, x)) in self.arch.inputs.iter().zip(xs).enumerate() {
            let s = x.shape();
            if s.is_empty() || s[1..] != *t.shape() {
                let mut exp = vec!["batch".to_string()];
                exp.extend(t.shape().iter().map(|d| d.to_string()));
                return Err(Error::shape(
                    &self.arch.input_names[i],
                    "input",
                    format!("shape [{}]", exp.join(", ")),
                    &s,
                ));
            }
        }
        Ok(())
    }
    fn output_shapes(&self) -> Result<Vec<Vec<usize>>> {
        Model::output_shapes(self)
    }
    fn device(&self) -> Device {
        // The weights' device (a layer shared with another model moves with it), else the
        // device resolved when the model was made.
        self.all_weights()
            .first()
            .map(|(_, w)| w.value.device())
            .unwrap_or(self.arch.device)
    }
    fn dtype(&self) -> DType {
        self.all_weights()
            .iter()
            .map(|(_, w)| w.value.dtype())
            .find(|d| d.is_float())
            .unwrap_or(DType::F32)
    }
    fn access(&mut self) -> &mut dyn ModelAccess {
        self
    }
}

impl<B: Backend> ModelParts<B> for Model<B> {
    fn state(&self) -> &ModelState<B> {
        &self.state
    }
    fn move_layers(&mut self, device: Device) -> Result<()> {
        Self::move_layers(self, device)
    }
    fn state_mut(&mut self) -> &mut ModelState<B> {
        &mut self.state
    }
    fn named_weights(&self) -> Vec<(String, Weight<B>)> {
        self.all_weights()
    }
    fn model_class(&self) -> &'static str {
        "Functional"
    }
    fn model_config(&self) -> serde_json::Value {
        self.get_config()
    }
}

impl<B: Backend> Model<B> {
    /// Loads a model saved with `save` (on any engine), like [`crate::Sequential::load`]:
    /// onto [`Device::auto`] whatever device it was saved from (inside a [`Device::scope`],
    /// onto that device).
    ///
    /// # Limits
    /// As [`crate::Sequential::load`]: every size in the file's config is a whole number in
    /// `1..=2^31 - 1`, one weight holds at most `2^32` values, the weights built from the
    /// config hold at most as many values as the file stores (refused before allocating),
    /// models nest at most 32 deep; see [`crate::limits`].
    ///
    /// # Errors
    /// A missing, truncated, corrupted, foreign or newer file, a config over the limits
    /// above, or weights that do not match the architecture: a clear error, never a panic.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let file = crate::model::persist::read_model(path.as_ref())?;
        if file.class != "Functional" {
            return Err(Error::config(
                path.as_ref().display().to_string(),
                format!(
                    "holds a {} model; load it with {}::load",
                    file.class, file.class
                ),
            ));
        }
        let mut m = file.build(Self::from_config)?;
        crate::model::persist::restore(&mut m, file)?;
        Ok(m)
    }
}

/// A model used as a layer inside another model (Keras' nested models): its weights are
/// shared with the inner model.
impl<B: Backend> Layer<B> for Model<B> {
    fn class_name(&self) -> &'static str {
        "Functional"
    }
    fn name(&self) -> &str {
        &self.arch.name
    }
    fn set_name(&mut self, name: String) {
        self.arch.name = name;
    }
    fn built(&self) -> bool {
        true
    }
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildContext) -> Result<()> {
        self.build_multi(&[input_shape.to_vec()], _ctx)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(self.output_shapes_for(&[input_shape.to_vec()])?.remove(0))
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        Ok(self.run(std::slice::from_ref(x), ctx)?.remove(0))
    }
    fn weights(&self) -> Vec<Weight<B>> {
        self.all_weights()
            .into_iter()
            .map(|(n, mut w)| {
                w.name = n;
                if !self.arch.trainable {
                    w.trainable = false;
                }
                w
            })
            .collect()
    }
    fn trainable(&self) -> bool {
        self.arch.trainable
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.arch.trainable = trainable;
    }
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>> {
        Network::regularization_loss(self)
    }
    fn get_config(&self) -> serde_json::Value {
        Model::get_config(self)
    }
    fn build_multi(&mut self, input_shapes: &[Vec<usize>], _ctx: &mut BuildContext) -> Result<()> {
        self.output_shapes_for(input_shapes).map(|_| ())
    }
    fn output_shapes(&self, input_shapes: &[Vec<usize>]) -> Result<Vec<Vec<usize>>> {
        self.output_shapes_for(input_shapes)
    }
    fn call_multi(&self, inputs: &[Tensor<B>], ctx: &mut CallContext) -> Result<Vec<Tensor<B>>> {
        self.run(inputs, ctx)
    }
}

impl<B: Backend> Model<B> {
    fn output_shapes_for(&self, input_shapes: &[Vec<usize>]) -> Result<Vec<Vec<usize>>> {
        let expected = self.input_shapes();
        if input_shapes != expected.as_slice() {
            return Err(Error::ShapeMismatch {
                op: format!("{} (nested model)", self.arch.name),
                lhs: crate::error::ShapeList(expected.concat()),
                rhs: crate::error::ShapeList(input_shapes.concat()),
                detail: Some(format!(
                    "expected input shapes {expected:?}, got {input_shapes:?}"
                )),
            });
        }
        Model::output_shapes(self)
    }
}
