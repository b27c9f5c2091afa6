//! Merge layers for the functional API: `Add`, `Subtract`, `Multiply`, `Average`,
//! `Maximum`, `Minimum`, `Concatenate`.

use super::config::{config_methods, layer_config, parse_as, to_json};
use super::{BuildContext, CallContext, Layer};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde::Deserialize;

/// The error for a merge layer given one tensor instead of a list.
fn single_input(layer: &str, class: &str, shape: &[usize]) -> Error {
    Error::invalid(
        layer,
        "inputs",
        format!("{class} merges a list of inputs, got one of shape {shape:?}"),
    )
}

/// Per-sample shapes (batch axis dropped) of a list of inputs.
fn sample_shapes<B: Backend>(inputs: &[Tensor<B>]) -> Vec<Vec<usize>> {
    inputs
        .iter()
        .map(|t| t.shape().get(1..).map(|s| s.to_vec()).unwrap_or_default())
        .collect()
}

/// The `Layer` methods of a layer that only takes a list of inputs: the single-input ones
/// refuse (naming the class `$class`, an expression over the layer `$l`), the shapes come
/// from the layer's own `check`, the config is `self.config`.
macro_rules! multi_input_methods {
    (|$l:ident| $class:expr) => {
        fn class_name(&self) -> &'static str {
            let $l = self;
            $class
        }
        fn name(&self) -> &str {
            &self.config.name
        }
        fn set_name(&mut self, name: String) {
            self.config.name = name;
        }
        fn built(&self) -> bool {
            true
        }
        fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildContext) -> Result<()> {
            Err(single_input(
                &self.config.name,
                Layer::<B>::class_name(self),
                input_shape,
            ))
        }
        fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
            Err(single_input(
                &self.config.name,
                Layer::<B>::class_name(self),
                input_shape,
            ))
        }
        fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
            Err(single_input(
                &self.config.name,
                Layer::<B>::class_name(self),
                &x.shape(),
            ))
        }
        fn build_multi(
            &mut self,
            input_shapes: &[Vec<usize>],
            _ctx: &mut BuildContext,
        ) -> Result<()> {
            self.check(input_shapes).map(|_| ())
        }
        fn output_shapes(&self, input_shapes: &[Vec<usize>]) -> Result<Vec<Vec<usize>>> {
            Ok(vec![self.check(input_shapes)?])
        }
        fn get_config(&self) -> serde_json::Value {
            to_json(&self.config)
        }
    };
}

/// How an elementwise merge combines its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MergeOp {
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
}

impl MergeOp {
    fn class(self) -> &'static str {
        match self {
            MergeOp::Add => "Add",
            MergeOp::Subtract => "Subtract",
            MergeOp::Multiply => "Multiply",
            MergeOp::Average => "Average",
            MergeOp::Maximum => "Maximum",
            MergeOp::Minimum => "Minimum",
        }
    }
}

/// An elementwise merge of inputs of the same shape.
#[derive(Debug, Clone)]
pub struct Merge {
    op: MergeOp,
    config: MergeConfig,
}

layer_config! {
    /// The hyper-parameters of a [`Merge`] layer: its name only (the class names the op).
    pub struct MergeConfig for "Merge" {
    }
}

macro_rules! merge_ctor {
    ($(#[$doc:meta])* $fn_name:ident, $op:ident) => {
        $(#[$doc])*
        #[allow(non_snake_case)]
        pub fn $fn_name() -> Merge {
            Merge { op: MergeOp::$op, config: MergeConfig::default() }
        }
    };
}

merge_ctor!(
    /// Sums its inputs (`keras.layers.Add`), e.g. a residual connection.
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// use stratanet::layers::Add;
    /// # fn main() -> stratanet::Result<()> {
    /// type B = DefaultBackend;
    /// let x = Input::new(&[4]).tensor::<B>();
    /// let h = Dense::new(4).activation("relu").apply(&x)?;
    /// let y = Add().apply_multi(&[x.clone(), h])?; // x + f(x)
    /// let model = Model::new(&[x], &[y])?;
    /// assert_eq!(model.output_shapes()?, vec![vec![4]]);
    /// # Ok(())
    /// # }
    /// ```
    Add, Add
);
merge_ctor!(
    /// Subtracts the second input from the first (`keras.layers.Subtract`).
    Subtract, Subtract
);
merge_ctor!(
    /// Multiplies its inputs elementwise (`keras.layers.Multiply`).
    Multiply, Multiply
);
merge_ctor!(
    /// Averages its inputs (`keras.layers.Average`).
    Average, Average
);
merge_ctor!(
    /// Elementwise maximum of its inputs (`keras.layers.Maximum`).
    Maximum, Maximum
);
merge_ctor!(
    /// Elementwise minimum of its inputs (`keras.layers.Minimum`).
    Minimum, Minimum
);

impl Merge {
    /// Sets the layer's name.
    pub fn name(mut self, name: &str) -> Self {
        self.config.name = name.to_string();
        self
    }

    /// Inverse of `get_config` for the class `class_name`.
    ///
    /// # Errors
    /// Unknown class names.
    pub fn from_config(class_name: &str, config: &serde_json::Value) -> Result<Self> {
        let op = match class_name {
            "Add" => MergeOp::Add,
            "Subtract" => MergeOp::Subtract,
            "Multiply" => MergeOp::Multiply,
            "Average" => MergeOp::Average,
            "Maximum" => MergeOp::Maximum,
            "Minimum" => MergeOp::Minimum,
            other => {
                return Err(Error::unknown(
                    "merge layer",
                    other,
                    &[
                        "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
                    ],
                ))
            }
        };
        parse_as(config, class_name).map(|config| Merge { op, config })
    }

    fn check(&self, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        if shapes.len() < 2 || (self.op == MergeOp::Subtract && shapes.len() != 2) {
            return Err(Error::invalid(
                &self.config.name,
                "inputs",
                format!(
                    "{} needs {} inputs, got {}",
                    self.op.class(),
                    if self.op == MergeOp::Subtract {
                        "exactly 2"
                    } else {
                        "at least 2"
                    },
                    shapes.len()
                ),
            ));
        }
        for s in &shapes[1..] {
            if s != &shapes[0] {
                return Err(Error::ShapeMismatch {
                    op: format!("{} ({})", self.config.name, self.op.class()),
                    lhs: crate::error::ShapeList(shapes[0].clone()),
                    rhs: crate::error::ShapeList(s.clone()),
                    detail: Some("merged inputs must have the same per-sample shape".into()),
                });
            }
        }
        Ok(shapes[0].clone())
    }
}

impl<B: Backend> Layer<B> for Merge {
    multi_input_methods!(|l| l.op.class());
    fn call_multi(&self, inputs: &[Tensor<B>], ctx: &mut CallContext) -> Result<Vec<Tensor<B>>> {
        self.check(&sample_shapes(inputs))?;
        let inputs = &same_dtype(inputs, ctx)?;
        let mut acc = inputs[0].clone();
        for t in &inputs[1..] {
            acc = match self.op {
                MergeOp::Add | MergeOp::Average => acc.add(t)?,
                MergeOp::Subtract => acc.sub(t)?,
                MergeOp::Multiply => acc.mul(t)?,
                MergeOp::Maximum => acc.maximum(t)?,
                MergeOp::Minimum => acc.minimum(t)?,
            };
        }
        if self.op == MergeOp::Average {
            acc = acc.mul_scalar(1.0 / inputs.len() as f64)?;
        }
        Ok(vec![acc])
    }
}

/// The float inputs of a merge in one dtype, as branches under different dtype policies
/// meet (see [`super::LayerDtype`]): the context's compute dtype under a mixed policy,
/// else the widest float dtype among them. Inputs of one dtype are returned as they are.
///
/// # Errors
/// Engine errors of the casts.
fn same_dtype<B: Backend>(inputs: &[Tensor<B>], ctx: &CallContext) -> Result<Vec<Tensor<B>>> {
    let floats = || inputs.iter().map(Tensor::dtype).filter(|d| d.is_float());
    let Some(first) = floats().next() else {
        return Ok(inputs.to_vec());
    };
    if floats().all(|d| d == first) {
        return Ok(inputs.to_vec());
    }
    let target = ctx.compute_dtype().unwrap_or_else(|| {
        floats()
            .max_by_key(|d| (!d.is_half(), d.size_in_bytes()))
            .unwrap_or(first)
    });
    inputs
        .iter()
        .map(|t| {
            if t.dtype().is_float() && t.dtype() != target {
                t.to_dtype(target)
            } else {
                Ok(t.clone())
            }
        })
        .collect()
}

/// Joins inputs along `axis` (default -1, the last), like `keras.layers.Concatenate`.
#[derive(Debug, Clone)]
pub struct Concatenate {
    config: ConcatenateConfig,
}

/// Reads an axis as written, anything but an integer as -1 (as before configs were types).
fn axis_or_last<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<isize, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(v.as_i64().unwrap_or(-1) as isize)
}

layer_config! {
    /// The hyper-parameters of [`Concatenate`].
    pub struct ConcatenateConfig for "Concatenate" {
        /// Concatenation axis, batch included (default -1; a value that is not an integer reads
        /// as -1).
        #[serde(deserialize_with = "axis_or_last")]
        axis: isize = -1,
    }
}

impl Default for Concatenate {
    fn default() -> Self {
        Self::new(-1)
    }
}

impl Concatenate {
    /// Concatenation along `axis` (negative counts from the end; 0 is the batch axis and is
    /// not allowed).
    pub fn new(axis: isize) -> Self {
        Self::with_config(ConcatenateConfig {
            axis,
            ..Default::default()
        })
    }

    /// The per-sample axis (0-based, batch excluded).
    fn axis_for(&self, rank: usize) -> Result<usize> {
        let full = rank as isize + 1;
        let a = if self.config.axis < 0 {
            self.config.axis + full
        } else {
            self.config.axis
        };
        if a < 1 || a >= full {
            return Err(Error::invalid(
                &self.config.name,
                "axis",
                format!(
                    "{} is not a feature axis of rank-{} inputs (batch included)",
                    self.config.axis, full
                ),
            ));
        }
        Ok(a as usize - 1)
    }

    fn check(&self, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        if shapes.len() < 2 {
            return Err(Error::invalid(
                &self.config.name,
                "inputs",
                format!("Concatenate needs at least 2 inputs, got {}", shapes.len()),
            ));
        }
        let a = self.axis_for(shapes[0].len())?;
        let mut out = shapes[0].clone();
        for s in &shapes[1..] {
            let ok = s.len() == shapes[0].len()
                && s.iter()
                    .zip(&shapes[0])
                    .enumerate()
                    .all(|(i, (x, y))| i == a || x == y);
            if !ok {
                return Err(Error::ShapeMismatch {
                    op: format!("{} (Concatenate)", self.config.name),
                    lhs: crate::error::ShapeList(shapes[0].clone()),
                    rhs: crate::error::ShapeList(s.clone()),
                    detail: Some(format!(
                        "inputs must match on every axis except the concatenation axis {}",
                        self.config.axis
                    )),
                });
            }
            out[a] += s[a];
        }
        Ok(out)
    }
    config_methods!(ConcatenateConfig);
}

impl<B: Backend> Layer<B> for Concatenate {
    multi_input_methods!(|_l| "Concatenate");
    fn call_multi(&self, inputs: &[Tensor<B>], ctx: &mut CallContext) -> Result<Vec<Tensor<B>>> {
        let shapes = sample_shapes(inputs);
        self.check(&shapes)?;
        let a = self.axis_for(shapes[0].len())? as isize + 1;
        Ok(vec![Tensor::concat(&same_dtype(inputs, ctx)?, a)?])
    }
}
