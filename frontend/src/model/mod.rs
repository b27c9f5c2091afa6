//! Models: the shared core (compile, the training loop, evaluate, predict, summary) and
//! [`Sequential`]. The functional `Model` reuses the same core.

mod sequential;
mod summary;
mod training;

pub use sequential::Sequential;
pub use summary::{render_summary, SummaryRow};
pub use training::{Compiled, FitOptions, Network};
