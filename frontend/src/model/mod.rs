//! Models: the shared core (compile, the training loop, evaluate, predict, summary) and
//! the two model kinds, [`Sequential`] and the functional [`Model`].

mod api;
mod data;
mod device;
mod functional;
mod parts;
pub mod persist;
mod sequential;
mod summary;
pub mod training;

pub use api::{Architecture, ModelCore, ModelParts, ModelState};
pub use data::Data;
pub(crate) use functional::GraphNode;
pub use functional::{
    layer_from_config, Apply, LayerGraph, LayerRef, Model, Shared, SymbolicTensor,
};
pub use sequential::{LayerStack, Sequential};
pub(crate) use summary::shape_str;
pub use summary::{render_summary, SummaryRow};
pub use training::{
    compute_class_weight, ClassWeight, Compile, Compiled, CompiledMetric, EvaluateOptions,
    FitOptions, Network, PredictOptions, DEFAULT_BATCH_SIZE,
};
