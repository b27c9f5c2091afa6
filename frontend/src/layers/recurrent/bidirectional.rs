//! `Bidirectional`: a recurrent layer run forwards and backwards, outputs merged.

use super::{Cell, Recurrent};
use crate::backend::{Backend, HostData};
use crate::error::{Error, Result};
use crate::layers::config::{config_setters, layer_config, parse, to_json};
use crate::layers::{cfg_field, BuildContext, CallContext, Layer, Weight};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// How [`Bidirectional`] joins the forward and backward outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MergeMode {
    /// Concatenate on the last axis (Keras' default).
    #[default]
    Concat,
    /// Elementwise sum.
    Sum,
    /// Elementwise product.
    Mul,
    /// Elementwise mean.
    Ave,
}

impl MergeMode {
    /// Parses Keras' names `concat`, `sum`, `mul`, `ave`.
    ///
    /// # Errors
    /// [`Error::UnknownName`] for another name.
    pub fn from_name(s: &str) -> Result<Self> {
        Ok(match s {
            "concat" => Self::Concat,
            "sum" => Self::Sum,
            "mul" => Self::Mul,
            "ave" => Self::Ave,
            other => {
                return Err(Error::unknown(
                    "merge_mode",
                    other,
                    &["concat", "sum", "mul", "ave"],
                ))
            }
        })
    }
    /// Keras' name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Concat => "concat",
            Self::Sum => "sum",
            Self::Mul => "mul",
            Self::Ave => "ave",
        }
    }
}

/// Written as Keras' name.
impl Serialize for MergeMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.name().serialize(s)
    }
}

/// Read from Keras' name; `null` (Keras' "return both outputs", not supported) reads as the
/// default, as before configs were types.
impl<'de> Deserialize<'de> for MergeMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(Self::default()),
            Some(name) => Self::from_name(&name).map_err(crate::error::field_error),
        }
    }
}

layer_config! {
    /// The hyper-parameters of [`Bidirectional`] besides the wrapped layer (whose config
    /// `get_config` writes under `layer`, as Keras).
    pub struct BidirectionalConfig for "Bidirectional" {
        /// How the two outputs are joined.
        merge_mode: MergeMode = MergeMode::Concat,
    }
}

/// Runs a recurrent layer forwards and a copy of it backwards over the sequence and merges
/// the two outputs (Keras `Bidirectional`). The backward output sequence is reversed back
/// into time order before merging. With `return_state`, the outputs are the merged output,
/// then the forward states, then the backward states.
///
/// ```
/// use stratanet::{layers::{Bidirectional, Input, GRU}, Sequential, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut model = Sequential::<B>::new();
/// model.add(Input::new(&[7, 3]))?;
/// model.add(Bidirectional::new(GRU::new(4).return_sequences(true)))?;
/// assert_eq!(model.output_shape()?, vec![7, 8]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Bidirectional<B: Backend, C: Cell> {
    config: BidirectionalConfig,
    forward: Recurrent<B, C>,
    backward: Recurrent<B, C>,
}

impl<B: Backend, C: Cell> Bidirectional<B, C> {
    /// Wraps `layer`; the backward copy has the same hyper-parameters with `go_backwards`
    /// flipped. Merge mode `concat`.
    pub fn new(layer: Recurrent<B, C>) -> Self {
        let mut backward = layer.fresh();
        backward.config.go_backwards = !layer.config.go_backwards;
        Self {
            config: BidirectionalConfig::default(),
            forward: layer,
            backward,
        }
    }
    config_setters! {
        /// How to merge the two outputs (default [`MergeMode::Concat`]).
        merge_mode: MergeMode,
    }
    /// Sets the layer's name.
    pub fn name(mut self, name: &str) -> Self {
        self.config.name = name.to_string();
        self
    }
    /// The hyper-parameters besides the wrapped layer's.
    pub fn config(&self) -> &BidirectionalConfig {
        &self.config
    }
    /// The forward layer.
    pub fn forward_layer(&self) -> &Recurrent<B, C> {
        &self.forward
    }
    /// The backward layer.
    pub fn backward_layer(&self) -> &Recurrent<B, C> {
        &self.backward
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let inner = cfg_field(config, "Bidirectional", "layer")?;
        let inner_cfg = cfg_field(inner, "Bidirectional.layer", "config")?;
        let mut l = Self::new(Recurrent::from_config(inner_cfg)?);
        l.config = parse(config)?;
        Ok(l)
    }

    fn merge(&self, a: &Tensor<B>, b: &Tensor<B>) -> Result<Tensor<B>> {
        match self.config.merge_mode {
            MergeMode::Concat => Tensor::concat(&[a.clone(), b.clone()], -1),
            MergeMode::Sum => a.add(b),
            MergeMode::Mul => a.mul(b),
            MergeMode::Ave => a.add(b)?.mul_scalar(0.5),
        }
    }
}

/// The inner class of a `Bidirectional` config (for dispatch in `layer_from_config`).
pub(crate) fn bidirectional_inner_class(config: &serde_json::Value) -> Result<String> {
    let inner = cfg_field(config, "Bidirectional", "layer")?;
    Ok(cfg_field(inner, "Bidirectional.layer", "class_name")?
        .as_str()
        .ok_or_else(|| Error::config("Bidirectional.layer.class_name", "expected a string"))?
        .to_string())
}

impl<B: Backend, C: Cell> Layer<B> for Bidirectional<B, C> {
    fn class_name(&self) -> &'static str {
        "Bidirectional"
    }
    fn name(&self) -> &str {
        &self.config.name
    }
    fn set_name(&mut self, name: String) {
        let base = crate::layers::snake_case(C::CLASS);
        self.forward.config.name = format!("{name}/forward_{base}");
        self.backward.config.name = format!("{name}/backward_{base}");
        self.config.name = name;
    }
    fn built(&self) -> bool {
        Layer::<B>::built(&self.forward)
    }
    fn validate(&self) -> Result<()> {
        Layer::<B>::validate(&self.forward)
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        if input_shape.len() != 2 {
            return Err(Error::shape(
                &self.config.name,
                "input",
                "[batch, time, features] (rank 3)",
                input_shape,
            ));
        }
        self.forward.build(input_shape, ctx)?;
        self.backward.build(input_shape, ctx)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let mut s = self.forward.output_shape(input_shape).map_err(|_| {
            Error::shape(
                &self.config.name,
                "input",
                "[batch, time, features] (rank 3)",
                input_shape,
            )
        })?;
        if self.config.merge_mode == MergeMode::Concat {
            *s.last_mut().unwrap_or(&mut 0) *= 2;
        }
        Ok(s)
    }
    fn output_shapes(&self, input_shapes: &[Vec<usize>]) -> Result<Vec<Vec<usize>>> {
        let first = input_shapes.first().ok_or_else(|| {
            Error::invalid(&self.config.name, "inputs", "expected a sequence input")
        })?;
        let mut v = vec![self.output_shape(first)?];
        if self.forward.config.return_state {
            v.extend(std::iter::repeat_n(
                vec![self.forward.config.units],
                2 * C::STATES,
            ));
        }
        Ok(v)
    }
    fn build_multi(&mut self, input_shapes: &[Vec<usize>], ctx: &mut BuildContext) -> Result<()> {
        match input_shapes {
            [s] => self.build(s, ctx),
            _ => Err(Error::invalid(
                &self.config.name,
                "inputs",
                "expected one sequence input",
            )),
        }
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        Ok(self.call_multi(std::slice::from_ref(x), ctx)?.remove(0))
    }
    fn call_multi(&self, inputs: &[Tensor<B>], ctx: &mut CallContext) -> Result<Vec<Tensor<B>>> {
        let x = match inputs {
            [x] => x,
            _ => {
                return Err(Error::invalid(
                    &self.config.name,
                    "inputs",
                    format!("expected one sequence input, got {}", inputs.len()),
                ))
            }
        };
        let s = x.shape();
        if s.len() != 3 {
            return Err(Error::shape(
                &self.config.name,
                "input",
                "[batch, time, features] (rank 3)",
                &s,
            ));
        }
        let mask = ctx.take_sequence_mask::<B>(s[0], s[1]);
        let (fseq, fstates) = self.forward.run(x, &[], mask.as_ref(), ctx)?;
        let (bseq, bstates) = self.backward.run(x, &[], mask.as_ref(), ctx)?;
        let merged = if self.forward.config.return_sequences {
            let t = s[1];
            let bseq = if t > 1 {
                let rev: Vec<i64> = (0..t as i64).rev().collect();
                let idx = Tensor::<B>::from_host(HostData::I64(rev), &[t], x.device())?;
                // In range by construction: no range check (see `go_backwards`).
                Tensor::new(B::index_select_in_range(bseq.inner(), idx.inner(), 1)?)
            } else {
                bseq
            };
            if let Some(m) = mask {
                ctx.set_sequence_mask(m);
            }
            self.merge(&fseq, &bseq)?
        } else {
            self.merge(&fstates[0], &bstates[0])?
        };
        let mut v = vec![merged];
        if self.forward.config.return_state {
            v.extend(fstates);
            v.extend(bstates);
        }
        Ok(v)
    }
    fn weights(&self) -> Vec<Weight<B>> {
        let mut w = Vec::new();
        for (prefix, l) in [("forward", &self.forward), ("backward", &self.backward)] {
            for mut x in Layer::<B>::weights(l) {
                x.name = format!("{prefix}/{}", x.name);
                w.push(x);
            }
        }
        w
    }
    fn trainable(&self) -> bool {
        self.forward.config.trainable
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.forward.config.trainable = trainable;
        self.backward.config.trainable = trainable;
    }
    fn get_config(&self) -> serde_json::Value {
        let mut c = to_json(&self.config);
        c["layer"] = json!({
            "class_name": C::CLASS,
            "config": Layer::<B>::get_config(&self.forward),
        });
        c
    }
}
