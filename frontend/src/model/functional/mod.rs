//! The functional API: symbolic tensors from [`Input::tensor`], layers applied to them
//! with [`Apply::apply`], and [`Model::new`] turning the resulting graph into a model with
//! everything a `Sequential` has. This module owns the graph's types ([`LayerGraph`], its
//! nodes); the submodules own construction, execution, configs and nesting.

mod config;
mod graph;
mod layer;
mod run;
mod symbolic;

pub use config::layer_from_config;
pub use symbolic::{Apply, Shared, SymbolicTensor};

use super::api::ModelCore;
use super::training::Network;
use crate::backend::{Backend, Device};
use crate::error::{Error, Result};
use crate::layers::Layer;
use std::sync::atomic::AtomicUsize;
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

fn lock<B: Backend>(l: &LayerRef<B>) -> Result<MutexGuard<'_, Box<dyn Layer<B>>>> {
    l.lock()
        .map_err(|_| Error::invalid("layer", "lock", "poisoned by a panic in another thread"))
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
