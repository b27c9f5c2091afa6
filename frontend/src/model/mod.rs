//! Models: the shared core (compile, the training loop, evaluate, predict, summary) and
//! the two model kinds, [`Sequential`] and the functional [`Model`].

mod api;
mod data;
mod functional;
pub mod persist;
mod sequential;
mod summary;
pub mod training;

pub use api::{ModelParts, ModelState};
pub use data::Data;
pub(crate) use functional::GraphNode;
pub use functional::{Apply, LayerRef, Model, Shared, SymbolicTensor};
pub use sequential::Sequential;
pub(crate) use summary::shape_str;
pub use summary::{render_summary, SummaryRow};
pub use training::{Compile, Compiled, CompiledMetric, FitOptions, Network};
