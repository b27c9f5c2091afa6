//! Pictures of training and of models: [`History::plot`] (feature `plot`) draws loss and
//! metrics per epoch to PNG or SVG with `plotters`; [`plot_model`] and the models' `to_dot`
//! describe the layer graph in Graphviz DOT, like Keras' `plot_model` / `model_to_dot`.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::model::{GraphNode, Model, Sequential};
use std::fmt::Write as _;
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
    /// The defaults (names shown, shapes hidden, top to bottom, 96 dpi).
    pub fn new() -> Self {
        Self::default()
    }
    /// Show input and output shapes.
    pub fn show_shapes(mut self, on: bool) -> Self {
        self.show_shapes = on;
        self
    }
    /// Show layer names.
    pub fn show_layer_names(mut self, on: bool) -> Self {
        self.show_layer_names = on;
        self
    }
    /// Show layer activations.
    pub fn show_layer_activations(mut self, on: bool) -> Self {
        self.show_layer_activations = on;
        self
    }
    /// Graph direction, `"TB"` or `"LR"`.
    pub fn rankdir(mut self, dir: &str) -> Self {
        self.rankdir = dir.to_string();
        self
    }
    /// Resolution of rendered pictures.
    pub fn dpi(mut self, dpi: u32) -> Self {
        self.dpi = dpi;
        self
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

/// A node of the drawn graph: one per layer (a shared layer is one node with several
/// incoming edges, as in Keras).
struct DotNode {
    name: String,
    class_name: String,
    activation: Option<String>,
    /// Input shapes per call of the layer (empty for an input).
    input_shapes: Vec<String>,
    /// Output shapes per call.
    output_shapes: Vec<String>,
}

/// `(None, 4)` for one tensor, `[(None, 4), (None, 2)]` for several.
fn shapes_str(shapes: &[Vec<usize>]) -> String {
    let parts: Vec<String> = shapes.iter().map(|s| crate::model::shape_str(s)).collect();
    if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("[{}]", parts.join(", "))
    }
}

/// The shapes of a layer's calls: the common value, or `multiple` when calls differ.
fn calls_str(calls: &[String]) -> String {
    match calls.first() {
        Some(first) if calls.iter().all(|c| c == first) => first.clone(),
        Some(_) => "multiple".into(),
        None => "?".into(),
    }
}

fn activation_of(config: Option<&serde_json::Value>) -> Option<String> {
    config
        .and_then(|c| c.get("activation"))
        .and_then(|a| a.as_str())
        .map(str::to_string)
}

/// A DOT string literal.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn render_dot(
    model_name: &str,
    nodes: &[DotNode],
    edges: &[(String, String)],
    opts: &PlotOptions,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(model_name));
    let _ = writeln!(out, "  graph [rankdir={}, dpi={}];", opts.rankdir, opts.dpi);
    out.push_str("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f2f2f2\", fontname=\"Helvetica\", fontsize=11];\n");
    for n in nodes {
        let mut label = if opts.show_layer_names {
            format!("{} ({})", n.name, n.class_name)
        } else {
            n.class_name.clone()
        };
        if opts.show_layer_activations {
            if let Some(a) = &n.activation {
                let _ = write!(label, "\nActivation: {a}");
            }
        }
        if opts.show_shapes {
            if !n.input_shapes.is_empty() {
                let _ = write!(label, "\nInput shape: {}", calls_str(&n.input_shapes));
            }
            let _ = write!(label, "\nOutput shape: {}", calls_str(&n.output_shapes));
        }
        let _ = writeln!(out, "  {} [label={}];", quote(&n.name), quote(&label));
    }
    for (a, b) in edges {
        let _ = writeln!(out, "  {} -> {};", quote(a), quote(b));
    }
    out.push_str("}\n");
    out
}

impl<B: Backend> Sequential<B> {
    /// The model as a Graphviz DOT graph: a chain of its layers, labelled
    /// `name (ClassName)` like Keras' `model_to_dot` (Keras draws no input node for a
    /// `Sequential` either). Render it with [`plot_model`](crate::utils::plot_model).
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// use stratanet::utils::PlotOptions;
    /// # fn main() -> stratanet::Result<()> {
    /// let mut model = Sequential::<DefaultBackend>::new();
    /// model.add(Input::new(&[4]))?;
    /// model.add(Dense::new(8).activation("relu"))?;
    /// model.add(Dense::new(1))?;
    /// let dot = model.to_dot(&PlotOptions::new().show_shapes(true))?;
    /// assert!(dot.contains("\"dense\" -> \"dense_1\";"));
    /// assert!(dot.contains("Output shape: (None, 8)"));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// A model without layers; `show_shapes` on a model that is not built; a `rankdir`
    /// other than `TB`/`LR` or a zero `dpi`.
    pub fn to_dot(&self, opts: &PlotOptions) -> Result<String> {
        const CTX: &str = "Sequential::to_dot";
        opts.check(CTX)?;
        if self.layers().is_empty() {
            return Err(Error::invalid(CTX, "model", "the model has no layers"));
        }
        let mut shape = match (self.input_shape(), opts.show_shapes) {
            (Some(s), _) => Some(s.to_vec()),
            (None, false) => None,
            (None, true) => {
                return Err(Error::NotReady {
                    op: "to_dot with show_shapes".into(),
                    needed: "built".into(),
                    hint: "add an Input first or call build(input_shape)".into(),
                })
            }
        };
        let mut nodes = Vec::with_capacity(self.layers().len());
        for l in self.layers() {
            let (input_shapes, output_shapes) = match shape.take() {
                Some(input) => {
                    let output = l.output_shape(&input)?;
                    let io = (
                        vec![shapes_str(&[input])],
                        vec![shapes_str(std::slice::from_ref(&output))],
                    );
                    shape = Some(output);
                    io
                }
                None => (Vec::new(), Vec::new()),
            };
            nodes.push(DotNode {
                name: l.name().to_string(),
                class_name: l.class_name().to_string(),
                activation: activation_of(Some(&l.get_config())),
                input_shapes,
                output_shapes,
            });
        }
        let edges = nodes
            .windows(2)
            .map(|w| (w[0].name.clone(), w[1].name.clone()))
            .collect::<Vec<_>>();
        Ok(render_dot(self.name(), &nodes, &edges, opts))
    }
}

impl<B: Backend> Model<B> {
    /// The model's layer graph as Graphviz DOT: one node per input and per layer
    /// (`name (ClassName)`), an edge for every tensor a layer consumes, so multi-input and
    /// multi-output models, residual merges and shared layers (one node, several incoming
    /// edges) appear as in Keras' `model_to_dot`. A shared layer called on different shapes
    /// shows `multiple` with `show_shapes`. Render it with
    /// [`plot_model`](crate::utils::plot_model).
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// use stratanet::layers::Add;
    /// use stratanet::utils::PlotOptions;
    /// # fn main() -> stratanet::Result<()> {
    /// let x = Input::new(&[4]).name("x").tensor::<DefaultBackend>();
    /// let h = Dense::new(4).name("hidden").apply(&x)?;
    /// let y = Add().name("residual").apply_multi(&[x.clone(), h])?;
    /// let model = Model::new(&[x], &[y])?;
    /// let dot = model.to_dot(&PlotOptions::new())?;
    /// assert!(dot.contains("\"x\" -> \"residual\";"));
    /// assert!(dot.contains("\"hidden\" -> \"residual\";"));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// A `rankdir` other than `TB`/`LR` or a zero `dpi`; a poisoned layer lock.
    pub fn to_dot(&self, opts: &PlotOptions) -> Result<String> {
        opts.check("Model::to_dot")?;
        let graph: Vec<GraphNode> = self.graph_nodes()?;
        let mut nodes: Vec<DotNode> = Vec::new();
        let mut edges: Vec<(String, String)> = Vec::new();
        for g in &graph {
            let inputs: Vec<Vec<usize>> = g.inputs.iter().map(|t| t.shape.clone()).collect();
            let idx = match nodes.iter().position(|n| n.name == g.name) {
                Some(i) => i,
                None => {
                    nodes.push(DotNode {
                        name: g.name.clone(),
                        class_name: g.class_name.clone(),
                        activation: activation_of(g.config.as_ref()),
                        input_shapes: Vec::new(),
                        output_shapes: Vec::new(),
                    });
                    nodes.len() - 1
                }
            };
            if !inputs.is_empty() {
                nodes[idx].input_shapes.push(shapes_str(&inputs));
            }
            nodes[idx].output_shapes.push(shapes_str(&g.output_shapes));
            for t in &g.inputs {
                let e = (t.name.clone(), g.name.clone());
                if !edges.contains(&e) {
                    edges.push(e);
                }
            }
        }
        Ok(render_dot(self.name(), &nodes, &edges, opts))
    }
}

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
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
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

#[cfg(feature = "plot")]
mod chart {
    use crate::callbacks::History;
    use crate::error::{Error, Result};
    use plotters::coord::Shift;
    use plotters::prelude::*;
    use std::path::Path;
    use std::sync::OnceLock;

    /// DejaVu Sans (from matplotlib's data files; licence in assets/fonts/LICENSE_DEJAVU),
    /// so text renders without system fonts.
    static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

    /// Panel size in pixels.
    const PANEL: (u32, u32) = (640, 420);
    /// Matplotlib's first two colours: training blue, validation orange.
    const TRAIN: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
    const VAL: RGBColor = RGBColor(0xff, 0x7f, 0x0e);

    fn register_font() -> Result<()> {
        static DONE: OnceLock<bool> = OnceLock::new();
        let ok = *DONE.get_or_init(|| {
            plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
        });
        if ok {
            Ok(())
        } else {
            Err(Error::invalid(
                "History::plot",
                "font",
                "the bundled DejaVu Sans font could not be parsed",
            ))
        }
    }

    /// A panel: the family's base name and its series (`loss`, then `val_loss`), each as
    /// (name, 1-based epoch, value) points with finite values.
    type Panel = (String, Vec<(String, Vec<(f64, f64)>)>);

    fn panels(h: &History) -> Vec<Panel> {
        let mut bases: Vec<String> = Vec::new();
        for name in h.history.keys() {
            let base = name.strip_prefix("val_").unwrap_or(name).to_string();
            if !bases.contains(&base) {
                bases.push(base);
            }
        }
        // `loss` first, the rest in name order, as Keras lists them.
        bases.sort_by_key(|b| (b != "loss", b.clone()));
        bases
            .into_iter()
            .filter_map(|base| {
                let series: Vec<(String, Vec<(f64, f64)>)> = [base.clone(), format!("val_{base}")]
                    .into_iter()
                    .filter(|n| h.history.contains_key(n))
                    .map(|n| {
                        let pts = h
                            .recorded(&n)
                            .into_iter()
                            .filter(|(_, v)| v.is_finite())
                            .map(|(e, v)| (e as f64 + 1.0, v))
                            .collect();
                        (n, pts)
                    })
                    .filter(|(_, pts): &(String, Vec<(f64, f64)>)| !pts.is_empty())
                    .collect();
                (!series.is_empty()).then_some((base, series))
            })
            .collect()
    }

    fn draw_err<E: std::error::Error + Send + Sync>(
        path: &Path,
    ) -> impl FnOnce(DrawingAreaErrorKind<E>) -> Error + '_ {
        move |e| {
            Error::Io(std::io::Error::other(format!(
                "{}: drawing failed: {e}",
                path.display()
            )))
        }
    }

    fn draw_panel<DB: DrawingBackend>(
        area: &DrawingArea<DB, Shift>,
        panel: &Panel,
        path: &Path,
    ) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let (base, series) = panel;
        let all = series.iter().flat_map(|(_, p)| p.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in all {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        // Whole-epoch ticks, at most ten: every 1, 2, 5, 10, 20, 50, ... epochs.
        let (first, last) = (x0.round() as u64, x1.round() as u64);
        let span = (last - first).max(1);
        let step = [1u64, 2, 5]
            .iter()
            .cycle()
            .scan(1u64, |scale, &m| {
                let s = m * *scale;
                if m == 5 {
                    *scale *= 10;
                }
                Some(s)
            })
            .find(|s| span / s <= 10)
            .unwrap_or(1);
        // x in hundredths of an epoch: an integer axis takes exact key points, and leaves
        // room for 5% margins (as matplotlib) so end points and markers are not clipped.
        let ticks: Vec<i64> = (first..=last)
            .filter(|e| (e - first) % step == 0)
            .map(|e| e as i64 * 100)
            .collect();
        let xpad = (((x1 - x0) * 5.0).round() as i64).max(25);
        let (x0, x1) = (
            (x0 * 100.0).round() as i64 - xpad,
            (x1 * 100.0).round() as i64 + xpad,
        );
        let ypad = if y1 > y0 {
            (y1 - y0) * 0.05
        } else {
            y0.abs().max(1.0) * 0.05
        };
        let (y0, y1) = (y0 - ypad, y1 + ypad);
        // Legend where the curves are not: below when the first series ends high.
        let ends_high = series[0]
            .1
            .last()
            .is_some_and(|&(_, y)| (y - y0) / (y1 - y0) > 0.5);
        let legend_at = if ends_high {
            SeriesLabelPosition::LowerRight
        } else {
            SeriesLabelPosition::UpperRight
        };
        let title = if base == "loss" {
            "Model loss".to_string()
        } else {
            format!("Model {base}")
        };
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d((x0..x1).with_key_points(ticks), y0..y1)
            .map_err(draw_err(path))?;
        chart
            .configure_mesh()
            .x_desc("Epoch")
            .y_desc(base.as_str())
            .x_label_formatter(&|x| format!("{}", x / 100))
            .y_label_formatter(&|y| format!("{y:.3}"))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 15))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(draw_err(path))?;
        for (name, pts) in series {
            let color = if name.starts_with("val_") { VAL } else { TRAIN };
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|&(x, y)| ((x * 100.0).round() as i64, y)),
                    color.stroke_width(2),
                ))
                .map_err(draw_err(path))?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    pts.iter().map(|&(x, y)| {
                        Circle::new(((x * 100.0).round() as i64, y), 3, color.filled())
                    }),
                )
                .map_err(draw_err(path))?;
        }
        chart
            .configure_series_labels()
            .position(legend_at)
            .label_font(("sans-serif", 13))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(draw_err(path))?;
        Ok(())
    }

    fn draw_all<DB: DrawingBackend>(
        root: DrawingArea<DB, Shift>,
        panels: &[Panel],
        cols: usize,
        path: &Path,
    ) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(draw_err(path))?;
        let rows = panels.len().div_ceil(cols);
        let areas = root.split_evenly((rows, cols));
        for (area, panel) in areas.iter().zip(panels) {
            draw_panel(area, panel, path)?;
        }
        root.present().map_err(draw_err(path))?;
        Ok(())
    }

    /// Encodes 8-bit RGB pixels as a PNG file.
    fn write_png(path: &Path, (w, h): (u32, u32), rgb: &[u8]) -> Result<()> {
        let fail = |e: &dyn std::fmt::Display| {
            Error::Io(std::io::Error::other(format!(
                "{}: PNG encoding failed: {e}",
                path.display()
            )))
        };
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| fail(&e))?;
        writer.write_image_data(rgb).map_err(|e| fail(&e))?;
        writer.finish().map_err(|e| fail(&e))?;
        crate::saving::atomic_write(path, &bytes)
    }

    impl History {
        /// Draws loss and metrics per epoch to `path`, a PNG or SVG picked by the extension
        /// (`.png`, `.svg`): one panel per metric family (`loss` with `val_loss`,
        /// `accuracy` with `val_accuracy`, ...), up to three panels a row, each with a
        /// title, axis labels, a legend, training in blue and validation in orange, x the
        /// 1-based epoch as Keras prints it. Epochs in which a series was not logged are
        /// skipped (the line joins the logged ones, each marked by a dot). Text uses the
        /// bundled DejaVu Sans font, so no system fonts are needed. Feature `plot`
        /// (default).
        ///
        /// ```
        /// # fn main() -> stratanet::Result<()> {
        /// let mut h = stratanet::History::default();
        /// for (e, loss) in [0.9, 0.6, 0.5].into_iter().enumerate() {
        ///     let mut logs = stratanet::Logs::new();
        ///     logs.insert("loss", loss);
        ///     h.push(e, &logs);
        /// }
        /// # let dir = tempfile::tempdir()?;
        /// let path = dir.path().join("stratanet_doc_history.svg");
        /// h.plot(&path)?;
        /// assert!(std::fs::read_to_string(&path)?.contains("Model loss"));
        /// # Ok(())
        /// # }
        /// ```
        ///
        /// # Errors
        /// An extension other than `png`/`svg`; a history with no epochs or no finite
        /// value; a misaligned history; drawing or I/O errors naming the file.
        pub fn plot(&self, path: impl AsRef<Path>) -> Result<()> {
            const CTX: &str = "History::plot";
            let path = path.as_ref();
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .unwrap_or_default();
            if ext != "png" && ext != "svg" {
                return Err(Error::invalid(
                    CTX,
                    "path",
                    format!(
                        "'{}' has extension '{ext}'; expected .png or .svg",
                        path.display()
                    ),
                ));
            }
            if self.is_empty() {
                return Err(Error::invalid(CTX, "history", "no epochs recorded"));
            }
            self.check_aligned(CTX)?;
            let panels = panels(self);
            if panels.is_empty() {
                return Err(Error::invalid(
                    CTX,
                    "history",
                    format!(
                        "no finite value to plot in {} epochs (series: {})",
                        self.len(),
                        self.history.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            register_font()?;
            let cols = panels.len().min(3);
            let rows = panels.len().div_ceil(cols);
            let size = (PANEL.0 * cols as u32, PANEL.1 * rows as u32);
            if ext == "svg" {
                let mut svg = String::new();
                draw_all(
                    SVGBackend::with_string(&mut svg, size).into_drawing_area(),
                    &panels,
                    cols,
                    path,
                )?;
                crate::saving::atomic_write(path, svg.as_bytes())
            } else {
                let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
                draw_all(
                    BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area(),
                    &panels,
                    cols,
                    path,
                )?;
                write_png(path, size, &rgb)
            }
        }
    }
}
