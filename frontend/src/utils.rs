//! Utilities, as in `keras.utils`: drawing a model's layer graph with Graphviz
//! ([`plot_model`], the models' `to_dot`). Plots of training curves are
//! [`History::plot`](crate::History) (feature `plot`).

pub use crate::plot::{graphviz_available, plot_model, PlotOptions, ToDot};
