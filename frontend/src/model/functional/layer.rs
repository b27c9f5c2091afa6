//! A functional [`Model`] used as a layer inside another model (Keras' nested models).

use super::Model;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::layers::{BuildContext, CallContext, Layer, Weight};
use crate::model::training::Network;
use crate::tensor::Tensor;

/// A model used as a layer inside another model (Keras' nested models): its weights are
/// shared with the inner model.
impl<B: Backend> Layer<B> for Model<B> {
    fn class_name(&self) -> &'static str {
        "Functional"
    }
    fn name(&self) -> &str {
        &self.arch.name
    }
    fn set_name(&mut self, name: String) {
        self.arch.name = name;
    }
    fn built(&self) -> bool {
        true
    }
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildContext) -> Result<()> {
        self.build_multi(&[input_shape.to_vec()], _ctx)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(self.output_shapes_for(&[input_shape.to_vec()])?.remove(0))
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        // Through `forward`: a nested model computes under its own dtype policy.
        Ok(Network::forward(self, std::slice::from_ref(x), ctx)?.remove(0))
    }
    fn weights(&self) -> Vec<Weight<B>> {
        self.all_weights()
            .into_iter()
            .map(|(n, mut w)| {
                w.name = n;
                if !self.arch.trainable {
                    w.trainable = false;
                }
                w
            })
            .collect()
    }
    fn trainable(&self) -> bool {
        self.arch.trainable
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.arch.trainable = trainable;
    }
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>> {
        Network::regularization_loss(self)
    }
    fn get_config(&self) -> serde_json::Value {
        Model::get_config(self)
    }
    fn build_multi(&mut self, input_shapes: &[Vec<usize>], _ctx: &mut BuildContext) -> Result<()> {
        self.output_shapes_for(input_shapes).map(|_| ())
    }
    fn output_shapes(&self, input_shapes: &[Vec<usize>]) -> Result<Vec<Vec<usize>>> {
        self.output_shapes_for(input_shapes)
    }
    fn call_multi(&self, inputs: &[Tensor<B>], ctx: &mut CallContext) -> Result<Vec<Tensor<B>>> {
        Network::forward(self, inputs, ctx)
    }
}

impl<B: Backend> Model<B> {
    fn output_shapes_for(&self, input_shapes: &[Vec<usize>]) -> Result<Vec<Vec<usize>>> {
        let expected = self.input_shapes();
        if input_shapes != expected.as_slice() {
            return Err(Error::ShapeMismatch {
                op: format!("{} (nested model)", self.arch.name),
                lhs: crate::error::ShapeList(expected.concat()),
                rhs: crate::error::ShapeList(input_shapes.concat()),
                detail: Some(format!(
                    "expected input shapes {expected:?}, got {input_shapes:?}"
                )),
            });
        }
        Model::output_shapes(self)
    }
}
