//! `MultiHeadAttention`.

use super::config::layer_identity;
use super::{cfg_name, BuildContext, CallContext, Layer, Weight};
use crate::backend::{Backend, HostData};
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::tensor::Tensor;
use serde_json::json;

/// Multi-head scaled dot-product attention (Keras `MultiHeadAttention`).
///
/// Inputs `[query, value]` or `[query, value, key]` (key defaults to value) through
/// `call_multi` / `apply` with a list; a single input is self-attention. Weights in Keras'
/// layout: `query/kernel [d_q, heads, key_dim]`, `key/kernel [d_k, heads, key_dim]`,
/// `value/kernel [d_v, heads, value_dim]`, `attention_output/kernel [heads, value_dim,
/// out]`, with biases `[heads, dim]` and `[out]`. Scores are scaled by `1/sqrt(key_dim)`;
/// `use_causal_mask` lets query step `i` see key steps `j <= i`; `dropout` drops attention
/// probabilities in training. With `return_attention_scores`, a second output holds the
/// probabilities `[batch, heads, T_q, T_k]`.
///
/// ```
/// use stratanet::{layers::{Input, MultiHeadAttention}, Sequential, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut model = Sequential::<B>::new();
/// model.add(Input::new(&[6, 16]))?;
/// model.add(MultiHeadAttention::new(2, 8).use_causal_mask(true))?;
/// // 3 * (16 * 2 * 8 + 2 * 8) + (2 * 8 * 16 + 16)
/// assert_eq!(model.count_params(), (1_088, 0));
/// let x = Tensor::<B>::ones(&[3, 6, 16], stratanet::DType::F32, stratanet::Device::Cpu)?;
/// assert_eq!(model.predict(&x, 32)?.shape(), vec![3, 6, 16]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct MultiHeadAttention<B: Backend> {
    num_heads: usize,
    key_dim: usize,
    value_dim: Option<usize>,
    dropout: f64,
    use_bias: bool,
    output_dim: Option<usize>,
    use_causal_mask: bool,
    return_attention_scores: bool,
    seed: Option<u64>,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    trainable: bool,
    name: String,
    /// query, key, value, attention_output: (kernel, bias)
    dense: Vec<(Tensor<B>, Option<Tensor<B>>)>,
}

const PARTS: [&str; 4] = ["query", "key", "value", "attention_output"];

impl<B: Backend> MultiHeadAttention<B> {
    /// `num_heads` heads of size `key_dim` (values too, unless `value_dim` is set).
    pub fn new(num_heads: usize, key_dim: usize) -> Self {
        Self {
            num_heads,
            key_dim,
            value_dim: None,
            dropout: 0.0,
            use_bias: true,
            output_dim: None,
            use_causal_mask: false,
            return_attention_scores: false,
            seed: None,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            trainable: true,
            name: String::new(),
            dense: Vec::new(),
        }
    }
    /// Size of each value head (default `key_dim`).
    pub fn value_dim(mut self, d: usize) -> Self {
        self.value_dim = Some(d);
        self
    }
    /// Dropout on the attention probabilities in training.
    pub fn dropout(mut self, rate: f64) -> Self {
        self.dropout = rate;
        self
    }
    /// Whether the projections have biases (default `true`).
    pub fn use_bias(mut self, b: bool) -> Self {
        self.use_bias = b;
        self
    }
    /// Last dimension of the output (Keras `output_shape`; default the query's).
    pub fn output_shape(mut self, d: usize) -> Self {
        self.output_dim = Some(d);
        self
    }
    /// Mask future key steps (decoder self-attention).
    pub fn use_causal_mask(mut self, b: bool) -> Self {
        self.use_causal_mask = b;
        self
    }
    /// Also output the attention probabilities `[batch, heads, T_q, T_k]`.
    pub fn return_attention_scores(mut self, b: bool) -> Self {
        self.return_attention_scores = b;
        self
    }
    /// A fixed seed for the dropout masks.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
    /// Kernel initialiser (default Glorot uniform).
    pub fn kernel_initializer(mut self, init: Initializer) -> Self {
        self.kernel_initializer = init;
        self
    }
    /// Sets the layer's name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    fn vdim(&self) -> usize {
        self.value_dim.unwrap_or(self.key_dim)
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let int = |k: &str| super::cfg_size(config, "MultiHeadAttention", k);
        let mut l = Self::new(int("num_heads")?, int("key_dim")?);
        l.name = cfg_name(config);
        l.value_dim = super::cfg_opt_size(config, "MultiHeadAttention", "value_dim")?;
        l.output_dim = super::cfg_opt_size(config, "MultiHeadAttention", "output_shape")?;
        l.dropout = config
            .get("dropout")
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        let flag = |k: &str, d: bool| config.get(k).and_then(|v| v.as_bool()).unwrap_or(d);
        l.use_bias = flag("use_bias", true);
        l.use_causal_mask = flag("use_causal_mask", false);
        l.return_attention_scores = flag("return_attention_scores", false);
        l.trainable = flag("trainable", true);
        l.seed = config.get("seed").and_then(|v| v.as_u64());
        if let Some(i) = config.get("kernel_initializer") {
            l.kernel_initializer = Initializer::from_config(i)?;
        }
        if let Some(i) = config.get("bias_initializer") {
            l.bias_initializer = Initializer::from_config(i)?;
        }
        Ok(l)
    }

    /// `[q, v, k]` per-sample shapes from 1 to 3 inputs, each checked to be `[time, dim]`.
    fn qvk_shapes(&self, shapes: &[Vec<usize>]) -> Result<[Vec<usize>; 3]> {
        let (q, v, k) = match shapes {
            [q] => (q, q, q),
            [q, v] => (q, v, v),
            [q, v, k] => (q, v, k),
            _ => {
                return Err(Error::invalid(
                    &self.name,
                    "inputs",
                    format!(
                        "expected [query, value] or [query, value, key], got {} inputs",
                        shapes.len()
                    ),
                ))
            }
        };
        for (arg, s) in [("query", q), ("value", v), ("key", k)] {
            if s.len() != 2 {
                return Err(Error::shape(
                    &self.name,
                    arg,
                    "[batch, time, features] (rank 3)",
                    s,
                ));
            }
        }
        if k[0] != v[0] {
            return Err(Error::shape(
                &self.name,
                "key",
                format!("the value's time steps [{}, _]", v[0]),
                k,
            ));
        }
        if !self.dense.is_empty() {
            for (i, (arg, s)) in [("query", q), ("key", k), ("value", v)]
                .into_iter()
                .enumerate()
            {
                let want = self.dense[i].0.shape()[0];
                if s[1] != want {
                    return Err(Error::shape(
                        &self.name,
                        arg,
                        format!("[batch, time, {want}]"),
                        s,
                    ));
                }
            }
        }
        Ok([q.clone(), v.clone(), k.clone()])
    }

    /// `x [N, T, d] -> [N, heads, T, dim]` through `kernel [d, heads, dim]`.
    fn project(&self, x: &Tensor<B>, part: usize) -> Result<Tensor<B>> {
        let (kernel, bias) = &self.dense[part];
        let ks = kernel.shape();
        let (d, h, dim) = (ks[0], ks[1], ks[2]);
        let s = x.shape();
        let mut y = x
            .to_dtype(kernel.dtype())?
            .reshape_to(&[s[0] * s[1], d])?
            .matmul(&kernel.reshape_to(&[d, h * dim])?)?;
        if let Some(b) = bias {
            y = y.add(&b.reshape_to(&[h * dim])?)?;
        }
        y.reshape_to(&[s[0], s[1], h, dim])?.permute(&[0, 2, 1, 3])
    }
}

impl<B: Backend> Layer<B> for MultiHeadAttention<B> {
    layer_identity!("MultiHeadAttention", field: name, built: |l| !l.dense.is_empty());
    fn validate(&self) -> Result<()> {
        if self.num_heads == 0 || self.key_dim == 0 || self.vdim() == 0 {
            return Err(Error::invalid(
                &self.name,
                "num_heads/key_dim/value_dim",
                "must be at least 1",
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::invalid(
                &self.name,
                "dropout",
                format!("must be in [0, 1), got {}", self.dropout),
            ));
        }
        Ok(())
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.build_multi(&[input_shape.to_vec()], ctx)
    }
    fn build_multi(&mut self, input_shapes: &[Vec<usize>], ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        let [q, v, k] = self.qvk_shapes(input_shapes)?;
        let (h, kd, vd) = (self.num_heads, self.key_dim, self.vdim());
        let out = self.output_dim.unwrap_or(q[1]);
        let specs: [(Vec<usize>, Vec<usize>); 4] = [
            (vec![q[1], h, kd], vec![h, kd]),
            (vec![k[1], h, kd], vec![h, kd]),
            (vec![v[1], h, vd], vec![h, vd]),
            (vec![h, vd, out], vec![out]),
        ];
        let mut dense = Vec::with_capacity(4);
        for (ks, bs) in specs {
            let kernel = self
                .kernel_initializer
                .init::<B>(&ks, ctx.dtype, ctx.device, &mut ctx.rng)?
                .to_param()?;
            let bias = if self.use_bias {
                Some(
                    self.bias_initializer
                        .init::<B>(&bs, ctx.dtype, ctx.device, &mut ctx.rng)?
                        .to_param()?,
                )
            } else {
                None
            };
            dense.push((kernel, bias));
        }
        self.dense = dense;
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(self.output_shapes(&[input_shape.to_vec()])?.remove(0))
    }
    fn output_shapes(&self, input_shapes: &[Vec<usize>]) -> Result<Vec<Vec<usize>>> {
        let [q, v, _] = self.qvk_shapes(input_shapes)?;
        let out = self.output_dim.unwrap_or(q[1]);
        let mut o = vec![vec![q[0], out]];
        if self.return_attention_scores {
            o.push(vec![self.num_heads, q[0], v[0]]);
        }
        Ok(o)
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        Ok(self.call_multi(std::slice::from_ref(x), ctx)?.remove(0))
    }
    fn call_multi(&self, inputs: &[Tensor<B>], ctx: &mut CallContext) -> Result<Vec<Tensor<B>>> {
        if self.dense.is_empty() {
            return Err(Error::NotReady {
                op: format!("{}.call", self.name),
                needed: "built".into(),
                hint: "add it to a model with a known input shape, or call build".into(),
            });
        }
        let shapes: Vec<Vec<usize>> = inputs
            .iter()
            .map(|t| {
                let s = t.shape();
                if s.len() == 3 {
                    s[1..].to_vec()
                } else {
                    s
                }
            })
            .collect();
        for (t, arg) in inputs.iter().zip(["query", "value", "key"]) {
            if t.rank() != 3 {
                return Err(Error::shape(
                    &self.name,
                    arg,
                    "[batch, time, features] (rank 3)",
                    &t.shape(),
                ));
            }
            if t.shape()[0] != inputs[0].shape()[0] {
                return Err(Error::shape(
                    &self.name,
                    arg,
                    format!("the query's batch size {}", inputs[0].shape()[0]),
                    &t.shape(),
                ));
            }
        }
        self.qvk_shapes(&shapes)?;
        let (query, value) = (&inputs[0], inputs.get(1).unwrap_or(&inputs[0]));
        let key = inputs.get(2).unwrap_or(value);
        let n = query.shape()[0];
        let (tq, tk) = (query.shape()[1], key.shape()[1]);
        let (h, vd) = (self.num_heads, self.vdim());
        let q = self
            .project(query, 0)?
            .mul_scalar(1.0 / (self.key_dim as f64).sqrt())?;
        let k = self.project(key, 1)?;
        let v = self.project(value, 2)?;
        let mut scores = q.matmul(&k.transpose(-1, -2)?)?; // [N, H, Tq, Tk]
        if self.use_causal_mask {
            let allowed: Vec<bool> = (0..tq).flat_map(|i| (0..tk).map(move |j| j <= i)).collect();
            let m = Tensor::<B>::from_host(HostData::Bool(allowed), &[tq, tk], query.device())?;
            scores = m.where_cond(&scores, &scores.scalar_like(-1e9)?)?;
        }
        let probs = scores.softmax(-1)?;
        let dropped = if ctx.training && self.dropout > 0.0 {
            let seed = match self.seed {
                Some(s) => crate::random::Rng::derive(s, ctx.next_seed()),
                None => ctx.next_seed(),
            };
            let u = Tensor::<B>::new(B::uniform(
                &probs.shape(),
                0.0,
                1.0,
                seed,
                probs.dtype(),
                &probs.engine_device(),
            )?);
            let keep = u
                .ge(&u.scalar_like(self.dropout)?)?
                .to_dtype(probs.dtype())?;
            probs.mul(&keep)?.mul_scalar(1.0 / (1.0 - self.dropout))?
        } else {
            probs.clone()
        };
        let ctxv = dropped.matmul(&v)?.permute(&[0, 2, 1, 3])?; // [N, Tq, H, V]
        let (ok, ob) = &self.dense[3];
        let out_dim = ok.shape()[2];
        let mut y = ctxv
            .reshape_to(&[n * tq, h * vd])?
            .matmul(&ok.reshape_to(&[h * vd, out_dim])?)?;
        if let Some(b) = ob {
            y = y.add(b)?;
        }
        let mut outs = vec![y.reshape_to(&[n, tq, out_dim])?];
        if self.return_attention_scores {
            outs.push(probs);
        }
        Ok(outs)
    }
    fn weights(&self) -> Vec<Weight<B>> {
        let mut w = Vec::new();
        for (part, (k, b)) in PARTS.iter().zip(&self.dense) {
            w.push(Weight {
                name: format!("{part}/kernel"),
                value: k.clone(),
                trainable: self.trainable,
            });
            if let Some(b) = b {
                w.push(Weight {
                    name: format!("{part}/bias"),
                    value: b.clone(),
                    trainable: self.trainable,
                });
            }
        }
        w
    }
    fn trainable(&self) -> bool {
        self.trainable
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
    }
    fn get_config(&self) -> serde_json::Value {
        json!({
            "name": self.name,
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.vdim(),
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "output_shape": self.output_dim,
            "use_causal_mask": self.use_causal_mask,
            "return_attention_scores": self.return_attention_scores,
            "seed": self.seed,
            "kernel_initializer": self.kernel_initializer.to_config(),
            "bias_initializer": self.bias_initializer.to_config(),
            "trainable": self.trainable,
        })
    }
}
