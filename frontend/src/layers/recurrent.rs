//! Recurrent layers: `SimpleRNN`, `LSTM`, `GRU` and the `Bidirectional` wrapper.
//!
//! Weights are in Keras' layout: `kernel [in, k * units]`, `recurrent_kernel
//! [units, k * units]`, `bias [k * units]` (GRU: `[2, 3 * units]`, input and recurrent
//! rows, Keras 3's `reset_after = true`), gates LSTM `i, f, c, o`, GRU `z, r, h`.
//!
//! With the default activations, no recurrent dropout and no timestep mask, LSTM and GRU
//! run through [`RnnOps`](crate::backend::RnnOps) (libtorch's fused kernels on `Tch`);
//! otherwise the layer unrolls the cell over time itself. Input dropout (one mask per
//! sequence, as Keras) is applied before either path.
//!
//! ## Masking
//!
//! A timestep mask recorded in the [`CallContext`] by `Embedding(mask_zero)` is taken by
//! the next recurrent layer whose input has the same batch and time sizes: on masked steps
//! the states are held and the output repeats the previous one (Keras'
//! `zero_output_for_mask=False`). A layer with `return_sequences` puts the mask back for
//! the next recurrent layer. Other layers neither consume nor transform the mask.

use super::{cfg_field, cfg_name, BuildContext, CallContext, Layer, Weight};
use crate::activations::{Activation, ActivationSpec};
use crate::backend::{Backend, HostData};
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::random::Rng;
use crate::tensor::Tensor;
use serde_json::json;
use std::marker::PhantomData;

/// The cell of a [`Recurrent`] layer (marker types [`SimpleCell`], [`LstmCell`],
/// [`GruCell`]).
pub trait Cell: Send + Sync + std::fmt::Debug + 'static {
    /// Keras class name.
    const CLASS: &'static str;
    /// Gate blocks in the kernels (1, 4, 3).
    const GATES: usize;
    /// Number of states (1, or 2 for the LSTM's `h` and `c`).
    const STATES: usize;
}

/// `SimpleRNN`'s cell: `h = activation(x W + h U + b)`.
#[derive(Debug, Clone, Copy)]
pub struct SimpleCell;
/// `LSTM`'s cell (gates `i, f, c, o`).
#[derive(Debug, Clone, Copy)]
pub struct LstmCell;
/// `GRU`'s cell (gates `z, r, h`, `reset_after = true`).
#[derive(Debug, Clone, Copy)]
pub struct GruCell;

impl Cell for SimpleCell {
    const CLASS: &'static str = "SimpleRNN";
    const GATES: usize = 1;
    const STATES: usize = 1;
}
impl Cell for LstmCell {
    const CLASS: &'static str = "LSTM";
    const GATES: usize = 4;
    const STATES: usize = 2;
}
impl Cell for GruCell {
    const CLASS: &'static str = "GRU";
    const GATES: usize = 3;
    const STATES: usize = 1;
}

/// Fully connected RNN (Keras `SimpleRNN`).
#[allow(clippy::upper_case_acronyms)]
pub type SimpleRNN<B> = Recurrent<B, SimpleCell>;

/// Long short-term memory layer (Keras `LSTM`), over inputs `[batch, time, features]`.
///
/// ```
/// use stratanet::{layers::{Input, LSTM}, Sequential, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut model = Sequential::<B>::new();
/// model.add(Input::new(&[5, 32]))?;
/// model.add(LSTM::new(128))?;
/// // 4 * (32 * 128 + 128 * 128 + 128), as in Keras
/// assert_eq!(model.count_params(), (82_432, 0));
/// let x = Tensor::<B>::ones(&[2, 5, 32], stratanet::DType::F32, stratanet::Device::Cpu)?;
/// assert_eq!(model.predict(&x, 32)?.shape(), vec![2, 128]);
/// # Ok(())
/// # }
/// ```
#[allow(clippy::upper_case_acronyms)]
pub type LSTM<B> = Recurrent<B, LstmCell>;

/// Gated recurrent unit (Keras `GRU`, `reset_after = true`: bias `[2, 3 * units]`).
#[allow(clippy::upper_case_acronyms)]
pub type GRU<B> = Recurrent<B, GruCell>;

/// A recurrent layer with cell `C`; use the aliases [`SimpleRNN`], [`LSTM`] and [`GRU`].
#[derive(Debug)]
pub struct Recurrent<B: Backend, C: Cell> {
    units: usize,
    activation: ActivationSpec,
    recurrent_activation: ActivationSpec,
    use_bias: bool,
    return_sequences: bool,
    return_state: bool,
    go_backwards: bool,
    dropout: f64,
    recurrent_dropout: f64,
    seed: Option<u64>,
    unit_forget_bias: bool,
    kernel_initializer: Initializer,
    /// `None`: Keras' default `orthogonal`.
    recurrent_initializer: Option<Initializer>,
    bias_initializer: Initializer,
    trainable: bool,
    name: String,
    kernel: Option<Tensor<B>>,
    recurrent_kernel: Option<Tensor<B>>,
    bias: Option<Tensor<B>>,
    _cell: PhantomData<C>,
}

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
        let units = super::cfg_size(config, C::CLASS, "units")?;
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
    fn fresh(&self) -> Self {
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

    fn bias_shape(&self) -> Vec<usize> {
        let g = C::GATES * self.units;
        if C::CLASS == "GRU" {
            vec![2, g]
        } else {
            vec![g]
        }
    }

    fn in_dim(&self) -> Option<usize> {
        self.kernel.as_ref().map(|k| k.shape()[0])
    }

    /// Checks a per-sample input shape `[time, features]`.
    fn check_shape(&self, input_shape: &[usize]) -> Result<()> {
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

    fn not_ready(&self) -> Error {
        Error::NotReady {
            op: format!("{}.call", self.name),
            needed: "built".into(),
            hint: "add it to a model with a known input shape, or call build".into(),
        }
    }

    /// A dropout keep-mask `[n, d]` scaled by `1 / (1 - rate)`.
    fn dropout_mask(
        &self,
        rate: f64,
        n: usize,
        d: usize,
        like: &Tensor<B>,
        ctx: &mut CallContext,
    ) -> Result<Tensor<B>> {
        let seed = match self.seed {
            Some(s) => Rng::derive(s, ctx.next_seed()),
            None => ctx.next_seed(),
        };
        let u = Tensor::<B>::new(B::uniform(
            &[n, d],
            0.0,
            1.0,
            seed,
            like.dtype(),
            &like.engine_device(),
        )?);
        u.ge(&u.scalar_like(rate)?)?
            .to_dtype(like.dtype())?
            .mul_scalar(1.0 / (1.0 - rate))
    }

    /// Runs the layer over `x [N, T, D]` from optional initial states, with an optional
    /// timestep mask `[N, T]`; returns the output sequence `[N, T, units]` (in processing
    /// order) and the final states.
    fn run(
        &self,
        x: &Tensor<B>,
        initial: &[Tensor<B>],
        mask: Option<&Tensor<B>>,
        ctx: &mut CallContext,
    ) -> Result<(Tensor<B>, Vec<Tensor<B>>)> {
        let (kernel, rk) = match (&self.kernel, &self.recurrent_kernel) {
            (Some(k), Some(r)) => (k, r),
            _ => return Err(self.not_ready()),
        };
        let s = x.shape();
        if s.len() != 3 || s[2] != kernel.shape()[0] {
            return Err(Error::shape(
                &self.name,
                "input",
                format!("[batch, time, {}] (rank 3)", kernel.shape()[0]),
                &s,
            ));
        }
        let (n, t, d, u) = (s[0], s[1], s[2], self.units);
        let dtype = kernel.dtype();
        let mut x = x.to_dtype(dtype)?;
        let mut mask = match mask {
            Some(m) => Some(m.to_dtype(dtype)?),
            None => None,
        };
        let mut states: Vec<Tensor<B>> = Vec::with_capacity(C::STATES);
        if !initial.is_empty() && initial.len() != C::STATES {
            return Err(Error::invalid(
                &self.name,
                "initial_state",
                format!(
                    "expected {} state tensors, got {}",
                    C::STATES,
                    initial.len()
                ),
            ));
        }
        for i in 0..C::STATES {
            match initial.get(i) {
                Some(st) => {
                    if st.shape() != [n, u] {
                        return Err(Error::shape(
                            &self.name,
                            "initial_state",
                            format!("[{n}, {u}]"),
                            &st.shape(),
                        ));
                    }
                    states.push(st.to_dtype(dtype)?);
                }
                None => states.push(Tensor::zeros(&[n, u], dtype, x.device())?),
            }
        }
        if self.go_backwards && t > 1 {
            let rev: Vec<i64> = (0..t as i64).rev().collect();
            let idx = Tensor::<B>::from_host(HostData::I64(rev), &[t], x.device())?;
            // `t - 1..=0` is in range by construction: no range check (a device read per
            // batch on CUDA).
            let reverse = |v: &Tensor<B>| -> Result<Tensor<B>> {
                Ok(Tensor::new(B::index_select_in_range(
                    v.inner(),
                    idx.inner(),
                    1,
                )?))
            };
            x = reverse(&x)?;
            mask = match mask {
                Some(m) => Some(reverse(&m)?),
                None => None,
            };
        }
        let training = ctx.training;
        if training && self.dropout > 0.0 {
            let m = self.dropout_mask(self.dropout, n, d, &x, ctx)?;
            x = x.mul(&m.unsqueeze(1)?)?;
        }
        let rec_mask = if training && self.recurrent_dropout > 0.0 {
            Some(self.dropout_mask(self.recurrent_dropout, n, u, &x, ctx)?)
        } else {
            None
        };
        let act = self.activation.resolve()?;
        let rec_act = self.recurrent_activation.resolve()?;
        let (in_bias, rec_bias) = match (&self.bias, C::CLASS) {
            (Some(b), "GRU") => (
                Some(b.narrow(0, 0, 1)?.reshape_to(&[C::GATES * u])?),
                Some(b.narrow(0, 1, 1)?.reshape_to(&[C::GATES * u])?),
            ),
            (Some(b), _) => (Some(b.clone()), None),
            (None, _) => (None, None),
        };
        let fused = act == Activation::Tanh
            && rec_act == Activation::Sigmoid
            && rec_mask.is_none()
            && mask.is_none()
            && C::CLASS != "SimpleRNN";
        if fused {
            let inner = |o: &Option<Tensor<B>>| o.as_ref().map(|t| t.inner().clone());
            if C::CLASS == "LSTM" {
                let (out, h, c) = B::lstm_sequence(
                    x.inner(),
                    states[0].inner(),
                    states[1].inner(),
                    kernel.inner(),
                    rk.inner(),
                    inner(&in_bias).as_ref(),
                )?;
                return Ok((Tensor::new(out), vec![Tensor::new(h), Tensor::new(c)]));
            }
            let (out, h) = B::gru_sequence(
                x.inner(),
                states[0].inner(),
                kernel.inner(),
                rk.inner(),
                inner(&in_bias).as_ref(),
                inner(&rec_bias).as_ref(),
            )?;
            return Ok((Tensor::new(out), vec![Tensor::new(h)]));
        }

        // Unrolled: input projection for every step at once, then one step per time index.
        let g = C::GATES * u;
        let mut xw = x.reshape_to(&[n * t, d])?.matmul(kernel)?;
        if let Some(b) = &in_bias {
            xw = xw.add(b)?;
        }
        let xw = xw.reshape_to(&[n, t, g])?;
        let mut outs = Vec::with_capacity(t);
        for step in 0..t {
            let xt = xw.narrow(1, step, 1)?.reshape_to(&[n, g])?;
            let h = &states[0];
            let hd = match &rec_mask {
                Some(m) => h.mul(m)?,
                None => h.clone(),
            };
            let mut hw = hd.matmul(rk)?;
            if let Some(b) = &rec_bias {
                hw = hw.add(b)?;
            }
            let new: Vec<Tensor<B>> = match C::CLASS {
                "SimpleRNN" => vec![act.apply(&xt.add(&hw)?)?],
                "LSTM" => {
                    let z = xt.add(&hw)?;
                    let i = rec_act.apply(&z.narrow(1, 0, u)?)?;
                    let f = rec_act.apply(&z.narrow(1, u, u)?)?;
                    let gg = act.apply(&z.narrow(1, 2 * u, u)?)?;
                    let o = rec_act.apply(&z.narrow(1, 3 * u, u)?)?;
                    let c = f.mul(&states[1])?.add(&i.mul(&gg)?)?;
                    vec![o.mul(&act.apply(&c)?)?, c]
                }
                _ => {
                    let z = rec_act.apply(&xt.narrow(1, 0, u)?.add(&hw.narrow(1, 0, u)?)?)?;
                    let r = rec_act.apply(&xt.narrow(1, u, u)?.add(&hw.narrow(1, u, u)?)?)?;
                    let cand = act.apply(
                        &xt.narrow(1, 2 * u, u)?
                            .add(&r.mul(&hw.narrow(1, 2 * u, u)?)?)?,
                    )?;
                    vec![cand.add(&z.mul(&h.sub(&cand)?)?)?]
                }
            };
            states = match &mask {
                // masked steps hold the states: s + m * (new - s)
                Some(m) => {
                    let mt = m.narrow(1, step, 1)?;
                    states
                        .iter()
                        .zip(&new)
                        .map(|(old, nw)| old.add(&mt.mul(&nw.sub(old)?)?))
                        .collect::<Result<_>>()?
                }
                None => new,
            };
            outs.push(states[0].clone());
        }
        let out = if outs.is_empty() {
            Tensor::zeros(&[n, 0, u], dtype, x.device())?
        } else {
            Tensor::stack(&outs, 1)?
        };
        Ok((out, states))
    }

    /// The layer's outputs from a run: the sequence or last output, then the states.
    fn outputs(&self, seq: Tensor<B>, states: Vec<Tensor<B>>) -> Vec<Tensor<B>> {
        let first = if self.return_sequences {
            seq
        } else {
            states[0].clone()
        };
        let mut v = vec![first];
        if self.return_state {
            v.extend(states);
        }
        v
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

/// How [`Bidirectional`] joins the forward and backward outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeMode {
    /// Concatenate on the last axis (Keras' default).
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
    forward: Recurrent<B, C>,
    backward: Recurrent<B, C>,
    merge_mode: MergeMode,
    name: String,
}

impl<B: Backend, C: Cell> Bidirectional<B, C> {
    /// Wraps `layer`; the backward copy has the same hyper-parameters with `go_backwards`
    /// flipped. Merge mode `concat`.
    pub fn new(layer: Recurrent<B, C>) -> Self {
        let mut backward = layer.fresh();
        backward.go_backwards = !layer.go_backwards;
        Self {
            forward: layer,
            backward,
            merge_mode: MergeMode::Concat,
            name: String::new(),
        }
    }
    /// How to merge the two outputs (default [`MergeMode::Concat`]).
    pub fn merge_mode(mut self, mode: MergeMode) -> Self {
        self.merge_mode = mode;
        self
    }
    /// Sets the layer's name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
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
        if let Some(m) = config.get("merge_mode").and_then(|m| m.as_str()) {
            l.merge_mode = MergeMode::from_name(m)?;
        }
        l.name = cfg_name(config);
        Ok(l)
    }

    fn merge(&self, a: &Tensor<B>, b: &Tensor<B>) -> Result<Tensor<B>> {
        match self.merge_mode {
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
        &self.name
    }
    fn set_name(&mut self, name: String) {
        let base = super::snake_case(C::CLASS);
        self.forward.name = format!("{name}/forward_{base}");
        self.backward.name = format!("{name}/backward_{base}");
        self.name = name;
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
                &self.name,
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
                &self.name,
                "input",
                "[batch, time, features] (rank 3)",
                input_shape,
            )
        })?;
        if self.merge_mode == MergeMode::Concat {
            *s.last_mut().unwrap_or(&mut 0) *= 2;
        }
        Ok(s)
    }
    fn output_shapes(&self, input_shapes: &[Vec<usize>]) -> Result<Vec<Vec<usize>>> {
        let first = input_shapes
            .first()
            .ok_or_else(|| Error::invalid(&self.name, "inputs", "expected a sequence input"))?;
        let mut v = vec![self.output_shape(first)?];
        if self.forward.return_state {
            v.extend(std::iter::repeat_n(vec![self.forward.units], 2 * C::STATES));
        }
        Ok(v)
    }
    fn build_multi(&mut self, input_shapes: &[Vec<usize>], ctx: &mut BuildContext) -> Result<()> {
        match input_shapes {
            [s] => self.build(s, ctx),
            _ => Err(Error::invalid(
                &self.name,
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
                    &self.name,
                    "inputs",
                    format!("expected one sequence input, got {}", inputs.len()),
                ))
            }
        };
        let s = x.shape();
        if s.len() != 3 {
            return Err(Error::shape(
                &self.name,
                "input",
                "[batch, time, features] (rank 3)",
                &s,
            ));
        }
        let mask = ctx.take_sequence_mask::<B>(s[0], s[1]);
        let (fseq, fstates) = self.forward.run(x, &[], mask.as_ref(), ctx)?;
        let (bseq, bstates) = self.backward.run(x, &[], mask.as_ref(), ctx)?;
        let merged = if self.forward.return_sequences {
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
        if self.forward.return_state {
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
        self.forward.trainable
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.forward.trainable = trainable;
        self.backward.trainable = trainable;
    }
    fn get_config(&self) -> serde_json::Value {
        json!({
            "name": self.name,
            "merge_mode": self.merge_mode.name(),
            "layer": {
                "class_name": C::CLASS,
                "config": Layer::<B>::get_config(&self.forward),
            },
        })
    }
}
