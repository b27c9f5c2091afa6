//! Symbolic tensors and applying layers to them: [`SymbolicTensor`], [`Apply`] and
//! [`Shared`] (one layer applied several times).

use super::{lock, LayerRef, Node, NODE_IDS};
use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::layers::{snake_case, BuildContext, Input, Layer};
use crate::model::summary::shape_str;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// A placeholder for a batch flowing through a model under construction: its per-sample
/// shape is known, its values are not. Made by [`Input::tensor`] and [`Apply::apply`].
pub struct SymbolicTensor<B: Backend> {
    pub(super) node: Arc<Node<B>>,
    pub(super) index: usize,
}

impl<B: Backend> Clone for SymbolicTensor<B> {
    fn clone(&self) -> Self {
        Self {
            node: self.node.clone(),
            index: self.index,
        }
    }
}

impl<B: Backend> std::fmt::Debug for SymbolicTensor<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SymbolicTensor(shape={})", shape_str(self.shape()))
    }
}

impl<B: Backend> SymbolicTensor<B> {
    /// Per-sample shape (batch excluded).
    pub fn shape(&self) -> &[usize] {
        &self.node.output_shapes[self.index]
    }
}

impl Input {
    /// A symbolic input tensor for the functional API, like `keras.Input(shape=...)`.
    pub fn tensor<B: Backend>(self) -> SymbolicTensor<B> {
        let name = Layer::<B>::name(&self).to_string();
        SymbolicTensor {
            node: Arc::new(Node {
                id: NODE_IDS.fetch_add(1, Ordering::Relaxed),
                layer: None,
                input_name: name,
                inputs: Vec::new(),
                output_shapes: vec![self.shape().to_vec()],
            }),
            index: 0,
        }
    }
}

/// Connects `layer` to `inputs`: builds it on their shapes (once) and returns the node's
/// symbolic outputs.
fn connect<B: Backend>(
    layer: &LayerRef<B>,
    inputs: &[SymbolicTensor<B>],
) -> Result<Vec<SymbolicTensor<B>>> {
    if inputs.is_empty() {
        return Err(Error::invalid(
            "apply",
            "inputs",
            "at least one symbolic tensor",
        ));
    }
    let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape().to_vec()).collect();
    let output_shapes = {
        let mut l = lock(layer)?;
        if l.name().is_empty() {
            let base = snake_case(l.class_name());
            l.set_name(base);
        }
        l.validate()?;
        if !l.built() {
            let label = format!("{} ({})", l.name(), l.class_name());
            // Keras' placement: the GPU when there is one (see `Device::placement`).
            let device = crate::model::device::placement::<B>(&label)?;
            let mut ctx = BuildContext::new(device, DType::F32, crate::random::next_global_seed());
            crate::limits::in_layer(|| label, || l.build_multi(&shapes, &mut ctx))?;
        } else if !l.weights().is_empty() {
            // Built elsewhere (a Normalization adapted on CPU tensors, a model moved with
            // on_device): its weights follow the placement, like a new layer's.
            let label = format!("{} ({})", l.name(), l.class_name());
            let device = crate::model::device::placement::<B>(&label)?;
            if crate::model::device::misplaced(l.as_ref(), device) {
                if let Some(f) = crate::model::device::rebuild_layer(
                    l.as_ref(),
                    &shapes,
                    device,
                    DType::F32,
                    None,
                )? {
                    *l = f;
                }
            }
        }
        let outs = l.output_shapes(&shapes)?;
        for o in &outs {
            crate::limits::check_shape(l.name(), "output shape", o)?;
        }
        outs
    };
    let node = Arc::new(Node {
        id: NODE_IDS.fetch_add(1, Ordering::Relaxed),
        layer: Some(layer.clone()),
        input_name: String::new(),
        inputs: inputs.to_vec(),
        output_shapes,
    });
    Ok((0..node.output_shapes.len())
        .map(|index| SymbolicTensor {
            node: node.clone(),
            index,
        })
        .collect())
}

/// Applying layers to symbolic tensors (the functional API). Implemented for every layer,
/// which is consumed (one use); wrap a layer in [`Shared`] to apply it several times with
/// the same weights.
pub trait Apply<B: Backend> {
    /// Applies to one input; the layer's single output.
    ///
    /// # Errors
    /// The layer does not accept the input's shape (the message names the layer).
    fn apply(self, x: &SymbolicTensor<B>) -> Result<SymbolicTensor<B>>;
    /// Applies to several inputs (merges); the layer's first output.
    ///
    /// # Errors
    /// As [`Apply::apply`].
    fn apply_multi(self, xs: &[SymbolicTensor<B>]) -> Result<SymbolicTensor<B>>;
    /// Applies to several inputs, returning every output (layers with states).
    ///
    /// # Errors
    /// As [`Apply::apply`].
    fn apply_outputs(self, xs: &[SymbolicTensor<B>]) -> Result<Vec<SymbolicTensor<B>>>;
}

impl<B: Backend, L: Layer<B> + 'static> Apply<B> for L {
    fn apply(self, x: &SymbolicTensor<B>) -> Result<SymbolicTensor<B>> {
        Shared::new(self).apply(x)
    }
    fn apply_multi(self, xs: &[SymbolicTensor<B>]) -> Result<SymbolicTensor<B>> {
        Shared::new(self).apply_multi(xs)
    }
    fn apply_outputs(self, xs: &[SymbolicTensor<B>]) -> Result<Vec<SymbolicTensor<B>>> {
        Shared::new(self).apply_outputs(xs)
    }
}

/// A layer applied more than once with one set of weights (a shared layer, as when Keras
/// calls the same layer object twice).
///
/// ```
/// use stratanet::prelude::*;
/// use stratanet::layers::Concatenate;
/// # fn main() -> stratanet::Result<()> {
/// type B = DefaultBackend;
/// let a = Input::new(&[3]).tensor::<B>();
/// let b = Input::new(&[3]).tensor::<B>();
/// let encoder = Shared::new(Dense::new(2));
/// let ea = encoder.apply(&a)?;
/// let eb = encoder.apply(&b)?;
/// let out = Concatenate::new(-1).apply_multi(&[ea, eb])?;
/// let model = Model::new(&[a, b], &[out])?;
/// assert_eq!(model.count_params().0, 3 * 2 + 2); // one kernel and bias, used twice
/// # Ok(())
/// # }
/// ```
pub struct Shared<B: Backend> {
    pub(super) layer: LayerRef<B>,
}

impl<B: Backend> Clone for Shared<B> {
    fn clone(&self) -> Self {
        Self {
            layer: self.layer.clone(),
        }
    }
}

impl<B: Backend> std::fmt::Debug for Shared<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl<B: Backend> Shared<B> {
    /// Wraps a layer for reuse.
    pub fn new(layer: impl Layer<B> + 'static) -> Self {
        Self {
            layer: Arc::new(Mutex::new(Box::new(layer))),
        }
    }
    /// Wraps an already boxed layer.
    pub fn from_boxed(layer: Box<dyn Layer<B>>) -> Self {
        Self {
            layer: Arc::new(Mutex::new(layer)),
        }
    }
}

impl<B: Backend> Shared<B> {
    /// Applies the shared layer to one input (see [`Apply::apply`]).
    ///
    /// # Errors
    /// The layer does not accept the input's shape.
    pub fn apply(&self, x: &SymbolicTensor<B>) -> Result<SymbolicTensor<B>> {
        self.apply_multi(std::slice::from_ref(x))
    }
    /// Applies the shared layer to several inputs (see [`Apply::apply_multi`]).
    ///
    /// # Errors
    /// The layer does not accept the inputs' shapes.
    pub fn apply_multi(&self, xs: &[SymbolicTensor<B>]) -> Result<SymbolicTensor<B>> {
        Ok(connect(&self.layer, xs)?.remove(0))
    }
    /// Applies the shared layer, returning every output (see [`Apply::apply_outputs`]).
    ///
    /// # Errors
    /// The layer does not accept the inputs' shapes.
    pub fn apply_outputs(&self, xs: &[SymbolicTensor<B>]) -> Result<Vec<SymbolicTensor<B>>> {
        connect(&self.layer, xs)
    }
}
