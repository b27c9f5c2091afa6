//! Graphviz DOT for the models: `Sequential::to_dot` and `Model::to_dot` (nodes, edges, labels).

use super::PlotOptions;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::model::{GraphNode, Model, Sequential};
use std::fmt::Write as _;

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
