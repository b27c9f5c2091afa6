//! [`Recurrent`]'s construction, builders, config and its `Layer` implementation.

use super::{Cell, Recurrent};
use crate::activations::{Activation, ActivationSpec};
use crate::backend::{Backend, HostData};
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layers::config::{
    config_setters, layer_config, layer_identity, parse_as, to_json, trainable_config,
};
use crate::layers::weights::named_weights;
use crate::layers::{BuildContext, CallContext, Layer, Weight};
use crate::random::Rng;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

layer_config! {
    /// The hyper-parameters of [`SimpleRNN`](super::SimpleRNN), [`LSTM`](super::LSTM) and
    /// [`GRU`](super::GRU) (Keras' names and defaults; `get_config` leaves out the fields a
    /// class does not have).
    pub struct RecurrentConfig for "Recurrent" {
        /// Number of units (required).
        units: usize = 0,
        /// Output activation.
        #[serde(serialize_with = "crate::layers::config::resolved_or_null")]
        activation: ActivationSpec = Activation::Tanh.into(),
        /// Gate activation of LSTM and GRU.
        #[serde(serialize_with = "crate::layers::config::resolved_or_null")]
        recurrent_activation: ActivationSpec = Activation::Sigmoid.into(),
        /// Whether to add biases.
        use_bias: bool = true,
        /// Whether the whole output sequence is returned.
        return_sequences: bool = false,
        /// Whether the final states are extra outputs.
        return_state: bool = false,
        /// Whether the sequence is processed backwards.
        go_backwards: bool = false,
        /// Fraction of the input features dropped in training.
        dropout: f64 = 0.0,
        /// Fraction of the recurrent state dropped in training.
        recurrent_dropout: f64 = 0.0,
        /// Fixed seed of the dropout masks.
        seed: Option<u64> = None,
        /// LSTM: whether the forget-gate bias starts at one.
        unit_forget_bias: bool = true,
        /// Kernel initialiser.
        kernel_initializer: Initializer = Initializer::GlorotUniform,
        /// Recurrent-kernel initialiser (`None`: Keras' `orthogonal`).
        #[serde(serialize_with = "orthogonal_or", deserialize_with = "none_if_orthogonal")]
        recurrent_initializer: Option<Initializer> = None,
        /// Bias initialiser.
        bias_initializer: Initializer = Initializer::Zeros,
        /// GRU: Keras 3's bias layout (only `true` is supported).
        reset_after: bool = true,
        /// Whether the weights are trained.
        trainable: bool = true,
    }
}

/// Writes `None` as Keras' `"orthogonal"`.
fn orthogonal_or<S: serde::Serializer>(
    init: &Option<Initializer>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match init {
        Some(i) => i.serialize(s),
        None => "orthogonal".serialize(s),
    }
}

/// Reads `"orthogonal"` as `None` (the layer's own orthogonal initialisation).
fn none_if_orthogonal<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Initializer>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    if v.as_str() == Some("orthogonal") {
        return Ok(None);
    }
    Initializer::from_config(&v)
        .map(Some)
        .map_err(crate::error::field_error)
}

impl<B: Backend, C: Cell> Recurrent<B, C> {
    /// A layer with `units` outputs and Keras' defaults: `tanh` activation, `sigmoid`
    /// recurrent activation, a bias, Glorot-uniform kernel, orthogonal recurrent kernel,
    /// only the last output returned.
    pub fn new(units: usize) -> Self {
        Self::with_config(RecurrentConfig {
            units,
            ..Default::default()
        })
    }

    /// A layer with the given hyper-parameters.
    pub fn with_config(config: RecurrentConfig) -> Self {
        Self {
            config,
            kernel: None,
            recurrent_kernel: None,
            bias: None,
            _cell: PhantomData,
        }
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &RecurrentConfig {
        &self.config
    }

    /// Output activation (default `tanh`).
    pub fn activation(mut self, a: impl Into<ActivationSpec>) -> Self {
        self.config.activation = a.into();
        self
    }
    /// Gate activation of LSTM and GRU (default `sigmoid`; unused by `SimpleRNN`).
    pub fn recurrent_activation(mut self, a: impl Into<ActivationSpec>) -> Self {
        self.config.recurrent_activation = a.into();
        self
    }
    config_setters! {
        /// Whether to add biases (default `true`).
        use_bias: bool,
        /// Return the whole output sequence `[batch, time, units]` instead of the last output.
        return_sequences: bool,
        /// Also return the final states (`h`, and `c` for the LSTM) as extra outputs.
        return_state: bool,
        /// Process the sequence backwards (outputs come in processing order, as Keras).
        go_backwards: bool,
        /// Fraction of the input features dropped in training (one mask per sequence).
        dropout: f64,
        /// Fraction of the recurrent state dropped in training (one mask per sequence).
        recurrent_dropout: f64,
        /// A fixed seed for the dropout masks (otherwise derived from `fit`'s seed).
        seed: Option<u64>,
        /// LSTM only: initialise the forget-gate bias to one (Keras' default `true`).
        unit_forget_bias: bool,
        /// Kernel initialiser (default Glorot uniform).
        kernel_initializer: Initializer,
        /// Recurrent-kernel initialiser (default orthogonal).
        recurrent_initializer: Option<Initializer>,
        /// Bias initialiser (default zeros).
        bias_initializer: Initializer,
    }
    /// Sets the layer's name.
    pub fn name(mut self, name: &str) -> Self {
        self.config.name = name.to_string();
        self
    }
    /// Number of units.
    pub fn units(&self) -> usize {
        self.config.units
    }
    /// `[in, k * units]`, once built.
    pub fn kernel(&self) -> Option<&Tensor<B>> {
        self.kernel.as_ref()
    }
    /// `[units, k * units]`, once built.
    pub fn recurrent_kernel(&self) -> Option<&Tensor<B>> {
        self.recurrent_kernel.as_ref()
    }
    /// `[k * units]` (GRU: `[2, 3 * units]`), once built and if used.
    pub fn bias(&self) -> Option<&Tensor<B>> {
        self.bias.as_ref()
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the class and field of a malformed config, or for
    /// `reset_after = false`; an unknown activation or initialiser name.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        crate::layers::cfg_size(config, C::CLASS, "units")?;
        let config: RecurrentConfig = parse_as(config, C::CLASS)?;
        if !config.reset_after {
            return Err(Error::config(
                format!("{}.reset_after", C::CLASS),
                "only reset_after=true (the Keras 3 default) is supported",
            ));
        }
        Ok(Self::with_config(config))
    }

    /// A fresh, unbuilt layer with the same hyper-parameters.
    pub(super) fn fresh(&self) -> Self {
        Self::with_config(self.config.clone())
    }

    pub(super) fn bias_shape(&self) -> Vec<usize> {
        let g = C::GATES * self.config.units;
        if C::CLASS == "GRU" {
            vec![2, g]
        } else {
            vec![g]
        }
    }

    pub(super) fn in_dim(&self) -> Option<usize> {
        self.kernel.as_ref().map(|k| k.shape()[0])
    }

    /// Checks a per-sample input shape `[time, features]`.
    pub(super) fn check_shape(&self, input_shape: &[usize]) -> Result<()> {
        let bad = input_shape.len() != 2 || self.in_dim().is_some_and(|d| input_shape[1] != d);
        if bad {
            let feat = self
                .in_dim()
                .map_or("features".to_string(), |d| d.to_string());
            return Err(Error::shape(
                &self.config.name,
                "input",
                format!("[batch, time, {feat}] (rank 3)"),
                input_shape,
            ));
        }
        Ok(())
    }

    pub(super) fn not_ready(&self) -> Error {
        Error::NotReady {
            op: format!("{}.call", self.config.name),
            needed: "built".into(),
            hint: "add it to a model with a known input shape, or call build".into(),
        }
    }
}

/// Host orthogonal matrix `[rows, cols]` (Keras' `Orthogonal`: QR of a normal matrix, signs
/// fixed so the triangular factor has a positive diagonal), by modified Gram-Schmidt.
fn orthogonal(rows: usize, cols: usize, rng: &mut Rng) -> Vec<f64> {
    // Orthonormal columns of a [m, k] matrix with m >= k, then transpose when rows < cols.
    let (m, k) = (rows.max(cols), rows.min(cols));
    let mut a: Vec<Vec<f64>> = (0..k)
        .map(|_| (0..m).map(|_| rng.standard_normal()).collect())
        .collect();
    for j in 0..k {
        for p in 0..j {
            let prev = a[p].clone();
            let dot: f64 = a[j].iter().zip(&prev).map(|(x, y)| x * y).sum();
            for (x, y) in a[j].iter_mut().zip(&prev) {
                *x -= dot * y;
            }
        }
        let norm = a[j].iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        for v in &mut a[j] {
            *v /= norm;
        }
    }
    let mut out = vec![0.0; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            out[r * cols + c] = if rows >= cols { a[c][r] } else { a[r][c] };
        }
    }
    out
}

impl<B: Backend, C: Cell> Layer<B> for Recurrent<B, C> {
    layer_identity!(C::CLASS, built: |l| l.kernel.is_some());
    fn validate(&self) -> Result<()> {
        crate::layers::check_positive(&self.config.name, "units", self.config.units)?;
        for (arg, r) in [
            ("dropout", self.config.dropout),
            ("recurrent_dropout", self.config.recurrent_dropout),
        ] {
            if !(0.0..1.0).contains(&r) {
                return Err(Error::invalid(
                    &self.config.name,
                    arg,
                    format!("must be in [0, 1), got {r}"),
                ));
            }
        }
        self.config.activation.resolve()?;
        self.config.recurrent_activation.resolve().map(|_| ())
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        self.check_shape(input_shape)?;
        let (d, u, g) = (
            input_shape[1],
            self.config.units,
            C::GATES * self.config.units,
        );
        let kernel = self.config.kernel_initializer.init::<B>(
            &[d, g],
            ctx.dtype,
            ctx.device,
            &mut ctx.rng,
        )?;
        let rk = match self.config.recurrent_initializer {
            Some(init) => init.init::<B>(&[u, g], ctx.dtype, ctx.device, &mut ctx.rng)?,
            None => {
                // Keras initialises the whole [units, k * units] matrix as one orthogonal one.
                crate::limits::reserve_weight(&[u, g])?;
                let v = orthogonal(u, g, &mut ctx.rng);
                Tensor::from_host(HostData::from_f64(&v, ctx.dtype), &[u, g], ctx.device)?
            }
        };
        self.kernel = Some(kernel.to_param()?);
        self.recurrent_kernel = Some(rk.to_param()?);
        if self.config.use_bias {
            let shape = self.bias_shape();
            let mut v = self
                .config
                .bias_initializer
                .try_sample(&shape, &mut ctx.rng)?;
            if C::CLASS == "LSTM" && self.config.unit_forget_bias {
                v[u..2 * u].iter_mut().for_each(|b| *b = 1.0);
            }
            let b = Tensor::<B>::from_host(HostData::from_f64(&v, ctx.dtype), &shape, ctx.device)?;
            self.bias = Some(b.to_param()?);
        }
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        self.check_shape(input_shape)?;
        Ok(if self.config.return_sequences {
            vec![input_shape[0], self.config.units]
        } else {
            vec![self.config.units]
        })
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        Ok(self.call_multi(std::slice::from_ref(x), ctx)?.remove(0))
    }
    fn build_multi(&mut self, input_shapes: &[Vec<usize>], ctx: &mut BuildContext) -> Result<()> {
        match input_shapes.first() {
            Some(s) => self.build(s, ctx),
            None => Err(Error::invalid(
                &self.config.name,
                "inputs",
                "expected a sequence input",
            )),
        }
    }
    fn output_shapes(&self, input_shapes: &[Vec<usize>]) -> Result<Vec<Vec<usize>>> {
        let first = input_shapes.first().ok_or_else(|| {
            Error::invalid(&self.config.name, "inputs", "expected a sequence input")
        })?;
        let mut v = vec![self.output_shape(first)?];
        if self.config.return_state {
            v.extend(std::iter::repeat_n(vec![self.config.units], C::STATES));
        }
        Ok(v)
    }
    /// Inputs: the sequence `[batch, time, features]`, then optionally the initial states
    /// (`h`, and `c` for the LSTM). Outputs: the last output (or the sequence), then with
    /// `return_state` the final states.
    fn call_multi(&self, inputs: &[Tensor<B>], ctx: &mut CallContext) -> Result<Vec<Tensor<B>>> {
        let x = inputs.first().ok_or_else(|| {
            Error::invalid(&self.config.name, "inputs", "expected a sequence input")
        })?;
        let s = x.shape();
        let mask = if s.len() == 3 {
            ctx.take_sequence_mask::<B>(s[0], s[1])
        } else {
            None
        };
        let (seq, states) = self.run(x, &inputs[1..], mask.as_ref(), ctx)?;
        if let (Some(m), true) = (mask, self.config.return_sequences) {
            ctx.set_sequence_mask(m);
        }
        Ok(self.outputs(seq, states))
    }
    fn weights(&self) -> Vec<Weight<B>> {
        named_weights(
            self.config.trainable,
            &[
                ("kernel", &self.kernel),
                ("recurrent_kernel", &self.recurrent_kernel),
                ("bias", &self.bias),
            ],
        )
    }
    trainable_config!(trainable only);
    fn get_config(&self) -> serde_json::Value {
        let mut c = to_json(&self.config);
        if let Some(fields) = c.as_object_mut() {
            let absent: &[&str] = match C::CLASS {
                "SimpleRNN" => &["recurrent_activation", "unit_forget_bias", "reset_after"],
                "LSTM" => &["reset_after"],
                _ => &["unit_forget_bias"],
            };
            for key in absent {
                fields.remove(*key);
            }
        }
        c
    }
}
