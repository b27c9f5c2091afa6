//! Building a functional [`Model`] from its symbolic graph ([`Model::new`]), moving it
//! between devices, and describing it (names, shapes, graph nodes, summary).

use super::{lock, same, GraphNode, Inbound, LayerGraph, LayerRef, Model, Node, SymbolicTensor};
use crate::backend::{Backend, DType, Device};
use crate::error::{Error, Result};
use crate::model::api::{ModelCore, ModelState};
use crate::model::summary::{render_summary, shape_str, SummaryRow};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

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
            None => crate::model::device::placement::<B>("Model::new")?,
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

    /// Rebuilds every layer on `device` with its weights (`device::rebuild_layer`; float
    /// weights cast to `cast` when given), in place
    /// in its shared slot (the graph and `Shared` handles stay valid), and records
    /// `device`; the shared `to_device` calls it. Nothing changes unless every layer could
    /// be rebuilt.
    pub(super) fn move_graph_layers(&mut self, device: Device, cast: Option<DType>) -> Result<()> {
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
            fresh.push(crate::model::device::rebuild_layer(
                g.as_ref(),
                &shapes,
                device,
                dtype,
                cast,
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

    pub(super) fn node_label(&self, n: &Node<B>) -> String {
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
        Ok(
            render_summary(&self.arch.name, &rows, t, nt, DType::F32.size_in_bytes())
                + &crate::model::summary::policy_line(self.state.policy),
        )
    }
}
