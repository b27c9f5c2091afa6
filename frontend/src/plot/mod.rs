//! Pictures of training and of models: [`History::plot`] (feature `plot`) draws loss and
//! metrics per epoch to PNG or SVG with `plotters`; [`plot_model`] and the models' `to_dot`
//! describe the layer graph in Graphviz DOT, like Keras' `plot_model` / `model_to_dot`.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::model::{Model, Sequential};
use std::path::Path;

/// What [`plot_model`] and `to_dot` draw, like the arguments of `keras.utils.plot_model`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotOptions {
    /// Show each layer's input and output shapes (default `false`).
    pub show_shapes: bool,
    /// Label nodes `name (ClassName)`; when `false`, only `ClassName` (default `true`).
    pub show_layer_names: bool,
    /// Add an `Activation: relu` line for layers that have an activation (default `false`).
    pub show_layer_activations: bool,
    /// Graphviz `rankdir`: `"TB"` (top to bottom, default) or `"LR"` (left to right).
    pub rankdir: String,
    /// Graphviz `dpi` of the rendered picture (default 96).
    pub dpi: u32,
}

impl Default for PlotOptions {
    fn default() -> Self {
        Self {
            show_shapes: false,
            show_layer_names: true,
            show_layer_activations: false,
            rankdir: "TB".into(),
            dpi: 96,
        }
    }
}

impl PlotOptions {
    crate::builder::setters! {
        /// The defaults (names shown, shapes hidden, top to bottom, 96 dpi).
        new();
        /// Show input and output shapes.
        show_shapes(on: bool) => show_shapes = on;
        /// Show layer names.
        show_layer_names(on: bool) => show_layer_names = on;
        /// Show layer activations.
        show_layer_activations(on: bool) => show_layer_activations = on;
        /// Graph direction, `"TB"` or `"LR"`.
        rankdir(dir: &str) => rankdir = dir.to_string();
        /// Resolution of rendered pictures.
        dpi(dpi: u32) => dpi = dpi;
    }

    fn check(&self, context: &str) -> Result<()> {
        if self.rankdir != "TB" && self.rankdir != "LR" {
            return Err(Error::invalid(
                context,
                "rankdir",
                format!("'{}' (expected \"TB\" or \"LR\")", self.rankdir),
            ));
        }
        if self.dpi == 0 {
            return Err(Error::invalid(context, "dpi", "0 (must be positive)"));
        }
        Ok(())
    }
}

#[cfg(feature = "plot")]
mod chart;
mod dot;

/// A model [`plot_model`] can draw: [`Sequential`] and the functional [`Model`].
pub trait ToDot {
    /// The layer graph in Graphviz DOT.
    ///
    /// # Errors
    /// As the model's own `to_dot`.
    fn to_dot(&self, opts: &PlotOptions) -> Result<String>;
}

impl<B: Backend> ToDot for Sequential<B> {
    fn to_dot(&self, opts: &PlotOptions) -> Result<String> {
        Sequential::to_dot(self, opts)
    }
}

impl<B: Backend> ToDot for Model<B> {
    fn to_dot(&self, opts: &PlotOptions) -> Result<String> {
        Model::to_dot(self, opts)
    }
}

/// `true` when Graphviz's `dot` program can be run.
pub fn graphviz_available() -> bool {
    std::process::Command::new("dot")
        .arg("-V")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The extension of `path` in lower case (empty when it has none).
fn lowercase_extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default()
}

/// Draws the model's layer graph to `path`, like `keras.utils.plot_model`. The extension
/// picks the output: `.dot`/`.gv` writes the DOT text ([`ToDot::to_dot`]) and needs
/// nothing else; `.svg`, `.png` and `.pdf` run Graphviz's `dot` program on it.
///
/// When Graphviz is not installed, a picture cannot be made: the DOT text is then still
/// written next to the requested file (same name, `.dot` extension), so it can be rendered
/// elsewhere, and the call returns an error that says so.
///
/// ```
/// use stratanet::prelude::*;
/// use stratanet::utils::{plot_model, PlotOptions};
/// # fn main() -> stratanet::Result<()> {
/// let mut model = Sequential::<DefaultBackend>::new();
/// model.add(Input::new(&[4]))?;
/// model.add(Dense::new(2))?;
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("stratanet_doc_plot_model.dot");
/// plot_model(&model, &path, &PlotOptions::new().show_shapes(true))?;
/// assert!(std::fs::read_to_string(&path)?.starts_with("digraph"));
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// An extension other than `dot`, `gv`, `svg`, `png` or `pdf`; the errors of `to_dot`;
/// Graphviz not installed (for pictures); `dot` failing (its message is included); I/O
/// errors naming the file.
pub fn plot_model<M: ToDot + ?Sized>(
    model: &M,
    path: impl AsRef<Path>,
    opts: &PlotOptions,
) -> Result<()> {
    const CTX: &str = "plot_model";
    let path = path.as_ref();
    let ext = lowercase_extension(path);
    let format = match ext.as_str() {
        "dot" | "gv" => None,
        "svg" | "png" | "pdf" => Some(ext.clone()),
        _ => {
            return Err(Error::invalid(
                CTX,
                "path",
                format!(
                    "'{}' has extension '{ext}'; expected .dot, .gv, .svg, .png or .pdf",
                    path.display()
                ),
            ))
        }
    };
    let dot = model.to_dot(opts)?;
    let Some(format) = format else {
        return crate::callbacks::write_text(path, &dot);
    };
    if !graphviz_available() {
        let fallback = path.with_extension("dot");
        crate::callbacks::write_text(&fallback, &dot)?;
        return Err(Error::invalid(
            CTX,
            "path",
            format!(
                "cannot render '{}': Graphviz is not installed (the `dot` program is not on PATH; e.g. `apt-get install graphviz`). The DOT text was written to '{}'",
                path.display(),
                fallback.display()
            ),
        ));
    }
    run_dot(&dot, &format, path)
}

fn run_dot(dot: &str, format: &str, path: &Path) -> Result<()> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let io = |e: std::io::Error| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!(
                "plot_model: running Graphviz `dot` for '{}': {e}",
                path.display()
            ),
        ))
    };
    let mut child = Command::new("dot")
        .arg(format!("-T{format}"))
        .arg("-o")
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A write error (dot exited early) is reported through dot's status below.
        let _ = stdin.write_all(dot.as_bytes());
    }
    let out = child.wait_with_output().map_err(io)?;
    if !out.status.success() {
        return Err(Error::invalid(
            "plot_model",
            "path",
            format!(
                "Graphviz `dot -T{format}` failed for '{}' ({}): {}",
                path.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(())
}
