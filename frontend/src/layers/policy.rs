//! A layer's own dtype policy (Keras' `Dense(10, dtype="float32")`): [`LayerDtype::dtype`]
//! wraps any layer in [`WithDtype`], which runs it under that policy whatever the model's.
//!
//! The usual use is the last layer of a model trained under `mixed_float16` or
//! `mixed_bfloat16`, kept in `float32` for numerical safety, as Keras' mixed precision
//! guide advises:
//!
//! ```
//! use stratanet::prelude::*;
//! use stratanet::mixed_precision::Policy;
//! # fn main() -> stratanet::Result<()> {
//! let mut m = Sequential::<DefaultBackend>::new().with_seed(1);
//! m.set_dtype_policy(Policy::MixedBFloat16);
//! m.add(Input::new(&[4]))?;
//! m.add(Dense::new(8).activation("relu"))?; // computes in bf16 (the model's policy)
//! m.add(Dense::new(3).activation("softmax").dtype(Policy::Float32))?; // in f32
//! let last = &m.layers()[1];
//! assert_eq!(last.dtype_policy(), Some(Policy::Float32));
//! assert_eq!(last.get_config()["dtype"], "float32");
//! # Ok(())
//! # }
//! ```

use super::{BuildContext, CallContext, Layer, Weight};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::mixed_precision::Policy;
use crate::tensor::Tensor;

/// A layer run under its own dtype policy: it reads its weights in the policy's compute
/// dtype, casts its float inputs to that dtype on entry (so a `float32` layer inside a
/// mixed model takes `f32` inputs), and its config carries `"dtype": "<policy>"`, so the
/// policy is saved and loaded with the model. Everything else is the wrapped layer's own:
/// class name, name, weights, shapes.
///
/// Made by [`LayerDtype::dtype`]; a config with a `"dtype"` policy (stratanet's string, or
/// Keras 3's `{"class_name": "DTypePolicy", "config": {"name": …}}`) loads as one.
#[derive(Debug)]
pub struct WithDtype<L: ?Sized> {
    policy: Policy,
    inner: Box<L>,
}

impl<L> WithDtype<L> {
    /// `layer` run under `policy`.
    pub fn new(layer: L, policy: Policy) -> Self {
        Self::boxed(Box::new(layer), policy)
    }
}

impl<L: ?Sized> WithDtype<L> {
    /// A boxed `layer` (one built from its config) run under `policy`.
    pub fn boxed(layer: Box<L>, policy: Policy) -> Self {
        Self {
            inner: layer,
            policy,
        }
    }

    /// The wrapped layer.
    pub fn inner(&self) -> &L {
        &self.inner
    }

    /// The policy the layer runs under.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The compute dtype the context gets: the 16-bit type of a mixed policy, `None`
    /// (the weights' own dtype) for `float32`.
    fn compute_dtype(&self) -> Option<crate::backend::DType> {
        self.policy.is_mixed().then(|| self.policy.compute_dtype())
    }

    /// Runs `f` with the context computing under this layer's policy and the float inputs
    /// cast to its compute dtype (a half input widened to `f32` under `float32`).
    fn under<B: Backend, T>(
        &self,
        inputs: &[Tensor<B>],
        ctx: &mut CallContext,
        f: impl FnOnce(&L, &[Tensor<B>], &mut CallContext) -> Result<T>,
    ) -> Result<T> {
        let dtype = self.compute_dtype();
        let cast: Vec<Tensor<B>> = inputs
            .iter()
            .map(|x| match dtype {
                Some(d) if x.dtype().is_float() && x.dtype() != d => x.to_dtype(d),
                None if x.dtype().is_half() => x.to_dtype(self.policy.variable_dtype()),
                _ => Ok(x.clone()),
            })
            .collect::<Result<_>>()?;
        let outer = ctx.compute_dtype();
        ctx.set_compute_dtype(dtype);
        let out = f(&self.inner, &cast, ctx);
        ctx.set_compute_dtype(outer);
        out
    }
}

/// Reads a layer config's `"dtype"` as a policy: `None` without the key; the policy for
/// a policy name or Keras 3's `DTypePolicy` object.
///
/// # Errors
/// [`Error::Config`] at `Class.dtype` for anything else (an unknown name, a number).
pub(crate) fn policy_in_config(class: &str, config: &serde_json::Value) -> Result<Option<Policy>> {
    let Some(d) = config.get("dtype") else {
        return Ok(None);
    };
    let name = d.as_str().or_else(|| {
        d.get("config")
            .and_then(|c| c.get("name"))
            .and_then(|n| n.as_str())
    });
    let bad = |why: String| Error::config(format!("{class}.dtype"), why);
    let name = name.ok_or_else(|| {
        bad(format!(
            "expected a dtype policy name (float32, mixed_bfloat16, mixed_float16), got {d}"
        ))
    })?;
    Policy::from_name(name)
        .map(Some)
        .map_err(|e| bad(e.to_string()))
}

/// `.dtype(policy)` on every layer: the layer under its own dtype policy (Keras' `dtype=`
/// argument). See [`WithDtype`].
pub trait LayerDtype<B: Backend>: Layer<B> + Sized {
    /// This layer run under `policy` instead of the model's (see [`WithDtype`]).
    fn dtype(self, policy: Policy) -> WithDtype<Self> {
        WithDtype::new(self, policy)
    }
}

impl<B: Backend, L: Layer<B>> LayerDtype<B> for L {}

impl<B: Backend, L: Layer<B> + ?Sized> Layer<B> for WithDtype<L> {
    fn class_name(&self) -> &'static str {
        self.inner.class_name()
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn set_name(&mut self, name: String) {
        self.inner.set_name(name);
    }
    fn built(&self) -> bool {
        self.inner.built()
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.inner.build(input_shape, ctx)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        self.inner.output_shape(input_shape)
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        self.under(std::slice::from_ref(x), ctx, |l, xs, ctx| {
            l.call(&xs[0], ctx)
        })
    }
    fn weights(&self) -> Vec<Weight<B>> {
        self.inner.weights()
    }
    fn trainable(&self) -> bool {
        self.inner.trainable()
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.inner.set_trainable(trainable);
    }
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>> {
        self.inner.regularization_loss()
    }
    fn get_config(&self) -> serde_json::Value {
        let mut c = self.inner.get_config();
        if let Some(o) = c.as_object_mut() {
            o.insert("dtype".into(), self.policy.name().into());
        }
        c
    }
    fn declared_input_shape(&self) -> Option<Vec<usize>> {
        self.inner.declared_input_shape()
    }
    fn validate(&self) -> Result<()> {
        self.inner.validate()
    }
    fn dtype_policy(&self) -> Option<Policy> {
        Some(self.policy)
    }
    fn build_multi(&mut self, input_shapes: &[Vec<usize>], ctx: &mut BuildContext) -> Result<()> {
        self.inner.build_multi(input_shapes, ctx)
    }
    fn output_shapes(&self, input_shapes: &[Vec<usize>]) -> Result<Vec<Vec<usize>>> {
        self.inner.output_shapes(input_shapes)
    }
    fn call_multi(&self, inputs: &[Tensor<B>], ctx: &mut CallContext) -> Result<Vec<Tensor<B>>> {
        self.under(inputs, ctx, |l, xs, ctx| l.call_multi(xs, ctx))
    }
}
