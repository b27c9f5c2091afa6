//! [`Recurrent`]'s construction, builders, config and its `Layer` implementation.

use super::{Cell, Recurrent};
use crate::activations::{Activation, ActivationSpec};
use crate::backend::{Backend, HostData};
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::layers::{cfg_name, BuildContext, CallContext, Layer, Weight};
use crate::random::Rng;
use crate::tensor::Tensor;
use serde_json::json;
use std::marker::PhantomData;

impl<B: Backend, C: Cell> Recurrent<B, C> {
    /// A layer with `units` outputs and Keras' defaults: `tanh` activation, `sigmoid`
    /// recurrent activation, a bias, Glorot-uniform kernel, orthogonal recurrent kernel,
    /// only the last output returned.
    pub fn new(units: usize) -> Self {
        Self {
            units,
            activation: Activation::Tanh.into(),
            recurrent_activation: Activation::Sigmoid.into(),
            use_bias: true,
            return_sequences: false,
            return_state: false,
            go_backwards: false,
            dropout: 0.0,
            recurrent_dropout: 0.0,
            seed: None,
            unit_forget_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            recurrent_initializer: None,
            bias_initializer: Initializer::Zeros,
            trainable: true,
            name: String::new(),
            kernel: None,
            recurrent_kernel: None,
            bias: None,
            _cell: PhantomData,
        }
    }

    /// Output activation (default `tanh`).
    pub fn activation(mut self, a: impl Into<ActivationSpec>) -> Self {
        self.activation = a.into();
        self
    }
    /// Gate activation of LSTM and GRU (default `sigmoid`; unused by `SimpleRNN`).
    pub fn recurrent_activation(mut self, a: impl Into<ActivationSpec>) -> Self {
        self.recurrent_activation = a.into();
        self
    }
    /// Whether to add biases (default `true`).
    pub fn use_bias(mut self, b: bool) -> Self {
        self.use_bias = b;
        self
    }
    /// Return the whole output sequence `[batch, time, units]` instead of the last output.
    pub fn return_sequences(mut self, b: bool) -> Self {
        self.return_sequences = b;
        self
    }
    /// Also return the final states (`h`, and `c` for the LSTM) as extra outputs.
    pub fn return_state(mut self, b: bool) -> Self {
        self.return_state = b;
        self
    }
    /// Process the sequence backwards (outputs come in processing order, as Keras).
    pub fn go_backwards(mut self, b: bool) -> Self {
        self.go_backwards = b;
        self
    }
    /// Fraction of the input features dropped in training (one mask per sequence).
    pub fn dropout(mut self, rate: f64) -> Self {
        self.dropout = rate;
        self
    }
    /// Fraction of the recurrent state dropped in training (one mask per sequence).
    pub fn recurrent_dropout(mut self, rate: f64) -> Self {
        self.recurrent_dropout = rate;
        self
    }
    /// A fixed seed for the dropout masks (otherwise derived from `fit`'s seed).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
    /// LSTM only: initialise the forget-gate bias to one (Keras' default `true`).
    pub fn unit_forget_bias(mut self, b: bool) -> Self {
        self.unit_forget_bias = b;
        self
    }
    /// Kernel initialiser (default Glorot uniform).
    pub fn kernel_initializer(mut self, init: Initializer) -> Self {
        self.kernel_initializer = init;
        self
    }
    /// Recurrent-kernel initialiser (default orthogonal).
    pub fn recurrent_initializer(mut self, init: Initializer) -> Self {
        self.recurrent_initializer = Some(init);
        self
    }
    /// Bias initialiser (default zeros).
    pub fn bias_initializer(mut self, init: Initializer) -> Self {
        self.bias_initializer = init;
        self
    }
    /// Sets the layer's name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
    /// Number of units.
    pub fn units(&self) -> usize {
        self.units
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
    /// On a malformed config or unknown names.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let units = crate::layers::cfg_size(config, C::CLASS, "units")?;
        let mut l = Self::new(units);
        l.name = cfg_name(config);
        if let Some(a) = config.get("activation") {
            l.activation = Activation::from_config(a)?.into();
        }
        if let Some(a) = config.get("recurrent_activation") {
            l.recurrent_activation = Activation::from_config(a)?.into();
        }
        let flag = |k: &str, d: bool| config.get(k).and_then(|v| v.as_bool()).unwrap_or(d);
        l.use_bias = flag("use_bias", true);
        l.return_sequences = flag("return_sequences", false);
        l.return_state = flag("return_state", false);
        l.go_backwards = flag("go_backwards", false);
        l.unit_forget_bias = flag("unit_forget_bias", true);
        l.trainable = flag("trainable", true);
        if !flag("reset_after", true) {
            return Err(Error::config(
                format!("{}.reset_after", C::CLASS),
                "only reset_after=true (the Keras 3 default) is supported",
            ));
        }
        l.dropout = config
            .get("dropout")
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        l.recurrent_dropout = config
            .get("recurrent_dropout")
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        l.seed = config.get("seed").and_then(|v| v.as_u64());
        if let Some(i) = config.get("kernel_initializer") {
            l.kernel_initializer = Initializer::from_config(i)?;
        }
        if let Some(i) = config.get("recurrent_initializer") {
            l.recurrent_initializer = if i.as_str() == Some("orthogonal") {
                None
            } else {
                Some(Initializer::from_config(i)?)
            };
        }
        if let Some(i) = config.get("bias_initializer") {
            l.bias_initializer = Initializer::from_config(i)?;
        }
        Ok(l)
    }

    /// A fresh, unbuilt layer with the same hyper-parameters.
    pub(super) fn fresh(&self) -> Self {
        let mut l = Self::new(self.units);
        l.activation = self.activation.clone();
        l.recurrent_activation = self.recurrent_activation.clone();
        l.use_bias = self.use_bias;
        l.return_sequences = self.return_sequences;
        l.return_state = self.return_state;
        l.go_backwards = self.go_backwards;
        l.dropout = self.dropout;
        l.recurrent_dropout = self.recurrent_dropout;
        l.seed = self.seed;
        l.unit_forget_bias = self.unit_forget_bias;
        l.kernel_initializer = self.kernel_initializer;
        l.recurrent_initializer = self.recurrent_initializer;
        l.bias_initializer = self.bias_initializer;
        l.trainable = self.trainable;
        l
    }

    pub(super) fn bias_shape(&self) -> Vec<usize> {
        let g = C::GATES * self.units;
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
                &self.name,
                "input",
                format!("[batch, time, {feat}] (rank 3)"),
                input_shape,
            ));
        }
        Ok(())
    }

    pub(super) fn not_ready(&self) -> Error {
        Error::NotReady {
            op: format!("{}.call", self.name),
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
    fn class_name(&self) -> &'static str {
        C::CLASS
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn built(&self) -> bool {
        self.kernel.is_some()
    }
    fn validate(&self) -> Result<()> {
        if self.units == 0 {
            return Err(Error::invalid(
                &self.name,
                "units",
                "must be at least 1, got 0",
            ));
        }
        for (arg, r) in [
            ("dropout", self.dropout),
            ("recurrent_dropout", self.recurrent_dropout),
        ] {
            if !(0.0..1.0).contains(&r) {
                return Err(Error::invalid(
                    &self.name,
                    arg,
                    format!("must be in [0, 1), got {r}"),
                ));
            }
        }
        self.activation.resolve()?;
        self.recurrent_activation.resolve().map(|_| ())
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        self.check_shape(input_shape)?;
        let (d, u, g) = (input_shape[1], self.units, C::GATES * self.units);
        let kernel =
            self.kernel_initializer
                .init::<B>(&[d, g], ctx.dtype, ctx.device, &mut ctx.rng)?;
        let rk = match self.recurrent_initializer {
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
        if self.use_bias {
            let shape = self.bias_shape();
            let mut v = self.bias_initializer.try_sample(&shape, &mut ctx.rng)?;
            if C::CLASS == "LSTM" && self.unit_forget_bias {
                v[u..2 * u].iter_mut().for_each(|b| *b = 1.0);
            }
            let b = Tensor::<B>::from_host(HostData::from_f64(&v, ctx.dtype), &shape, ctx.device)?;
            self.bias = Some(b.to_param()?);
        }
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        self.check_shape(input_shape)?;
        Ok(if self.return_sequences {
            vec![input_shape[0], self.units]
        } else {
            vec![self.units]
        })
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        Ok(self.call_multi(std::slice::from_ref(x), ctx)?.remove(0))
    }
    fn build_multi(&mut self, input_shapes: &[Vec<usize>], ctx: &mut BuildContext) -> Result<()> {
        match input_shapes.first() {
            Some(s) => self.build(s, ctx),
            None => Err(Error::invalid(
                &self.name,
                "inputs",
                "expected a sequence input",
            )),
        }
    }
    fn output_shapes(&self, input_shapes: &[Vec<usize>]) -> Result<Vec<Vec<usize>>> {
        let first = input_shapes
            .first()
            .ok_or_else(|| Error::invalid(&self.name, "inputs", "expected a sequence input"))?;
        let mut v = vec![self.output_shape(first)?];
        if self.return_state {
            v.extend(std::iter::repeat_n(vec![self.units], C::STATES));
        }
        Ok(v)
    }
    /// Inputs: the sequence `[batch, time, features]`, then optionally the initial states
    /// (`h`, and `c` for the LSTM). Outputs: the last output (or the sequence), then with
    /// `return_state` the final states.
    fn call_multi(&self, inputs: &[Tensor<B>], ctx: &mut CallContext) -> Result<Vec<Tensor<B>>> {
        let x = inputs
            .first()
            .ok_or_else(|| Error::invalid(&self.name, "inputs", "expected a sequence input"))?;
        let s = x.shape();
        let mask = if s.len() == 3 {
            ctx.take_sequence_mask::<B>(s[0], s[1])
        } else {
            None
        };
        let (seq, states) = self.run(x, &inputs[1..], mask.as_ref(), ctx)?;
        if let (Some(m), true) = (mask, self.return_sequences) {
            ctx.set_sequence_mask(m);
        }
        Ok(self.outputs(seq, states))
    }
    fn weights(&self) -> Vec<Weight<B>> {
        [
            ("kernel", &self.kernel),
            ("recurrent_kernel", &self.recurrent_kernel),
            ("bias", &self.bias),
        ]
        .into_iter()
        .filter_map(|(n, w)| {
            w.as_ref().map(|w| Weight {
                name: n.into(),
                value: w.clone(),
                trainable: self.trainable,
            })
        })
        .collect()
    }
    fn trainable(&self) -> bool {
        self.trainable
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
    }
    fn get_config(&self) -> serde_json::Value {
        let act = |a: &ActivationSpec| match a.resolve() {
            Ok(a) => a.to_config(),
            Err(_) => json!(null),
        };
        let mut c = json!({
            "name": self.name,
            "units": self.units,
            "activation": act(&self.activation),
            "use_bias": self.use_bias,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
            "kernel_initializer": self.kernel_initializer.to_config(),
            "recurrent_initializer": self
                .recurrent_initializer
                .map_or(json!("orthogonal"), |i| i.to_config()),
            "bias_initializer": self.bias_initializer.to_config(),
            "trainable": self.trainable,
        });
        if C::CLASS != "SimpleRNN" {
            c["recurrent_activation"] = act(&self.recurrent_activation);
        }
        if C::CLASS == "LSTM" {
            c["unit_forget_bias"] = json!(self.unit_forget_bias);
        }
        if C::CLASS == "GRU" {
            c["reset_after"] = json!(true);
        }
        c
    }
}
