//! Running a functional [`Model`]: the forward pass over its graph, and the
//! [`Network`]/[`ModelParts`] implementations the shared training loop drives.

use super::{lock, LayerGraph, Model, SymbolicTensor};
use crate::backend::{Backend, DType, Device};
use crate::callbacks::{LayerNode, ModelAccess};
use crate::error::{Error, Result};
use crate::layers::{CallContext, Weight};
use crate::model::api::Architecture;
use crate::model::training::Network;
use crate::tensor::Tensor;
use std::collections::HashMap;

impl<B: Backend> Model<B> {
    /// The value computed for `t` in a run, or an error naming the graph with `missing`.
    fn computed(
        &self,
        values: &HashMap<usize, Vec<Tensor<B>>>,
        t: &SymbolicTensor<B>,
        missing: &str,
    ) -> Result<Tensor<B>> {
        values
            .get(&t.node.id)
            .and_then(|v| v.get(t.index))
            .cloned()
            .ok_or_else(|| Error::invalid(&self.arch.name, "graph", missing))
    }

    /// An error unless `xs` holds one tensor per model input.
    fn check_input_count(&self, xs: &[Tensor<B>]) -> Result<()> {
        if xs.len() == self.arch.inputs.len() {
            return Ok(());
        }
        Err(Error::invalid(
            &self.arch.name,
            "inputs",
            format!(
                "{} tensors given, the model has {} inputs",
                xs.len(),
                self.arch.inputs.len()
            ),
        ))
    }

    pub(super) fn run(&self, xs: &[Tensor<B>], ctx: &mut CallContext) -> Result<Vec<Tensor<B>>> {
        self.check_input_count(xs)?;
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
                .map(|t| self.computed(&values, t, "a node ran before its inputs"))
                .collect::<Result<_>>()?;
            let out = lock(layer)?.call_multi(&args, ctx)?;
            values.insert(n.id, out);
        }
        self.arch
            .outputs
            .iter()
            .map(|t| self.computed(&values, t, "an output was not computed"))
            .collect()
    }

    pub(super) fn all_weights(&self) -> Vec<(String, Weight<B>)> {
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
        let wide = Network::dtype(self);
        crate::model::parts::forward_under(self.state.policy, wide, ctx, |ctx| self.run(xs, ctx))
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
        self.check_inputs(xs)
    }
    fn check_inputs(&self, xs: &[Tensor<B>]) -> Result<()> {
        self.check_input_count(xs)?;
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
    fn access(&self) -> &dyn ModelAccess {
        self
    }
}

impl<B: Backend> Architecture<B> for LayerGraph<B> {
    const CLASS: &'static str = "Functional";
    fn named_weights(model: &Model<B>) -> Vec<(String, Weight<B>)> {
        model.all_weights()
    }
    fn move_layers(model: &mut Model<B>, device: Device, cast: Option<DType>) -> Result<()> {
        model.move_graph_layers(device, cast)
    }
    fn config(model: &Model<B>) -> serde_json::Value {
        model.get_config()
    }
    /// One node per input and per layer (a shared layer's calls merged into one node, as
    /// in `to_dot`), edges from every tensor a call consumes.
    fn layer_graph(model: &Model<B>) -> Result<Vec<LayerNode>> {
        let mut nodes: Vec<LayerNode> = Vec::new();
        for g in model.graph_nodes()? {
            let inputs = g.inputs.iter().map(|t| (t.name.clone(), t.tensor_index));
            match nodes.iter_mut().find(|n| n.name == g.name) {
                Some(n) => {
                    for i in inputs {
                        if !n.inputs.contains(&i) {
                            n.inputs.push(i);
                        }
                    }
                }
                None => nodes.push(LayerNode {
                    name: g.name,
                    class_name: g.class_name,
                    inputs: inputs.collect(),
                    output_shapes: g.output_shapes,
                    config: g.config,
                }),
            }
        }
        Ok(nodes)
    }
}
