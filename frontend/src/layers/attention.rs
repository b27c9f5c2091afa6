//! `MultiHeadAttention`.

use super::config::{
    config_methods, config_setters, layer_config, layer_identity, to_json, trainable_config,
};
use super::weights::push_weight;
use super::{BuildContext, CallContext, Layer, Weight};
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
/// assert_eq!(model.predict_with(&x, 32)?.shape(), vec![3, 6, 16]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct MultiHeadAttention<B: Backend> {
    config: MultiHeadAttentionConfig,
    /// query, key, value, attention_output: (kernel, bias)
    dense: Vec<(Tensor<B>, Option<Tensor<B>>)>,
}

layer_config! {
    /// The hyper-parameters of [`MultiHeadAttention`] (Keras' names and defaults).
    pub struct MultiHeadAttentionConfig for "MultiHeadAttention" {
        /// Number of heads (required).
        num_heads: usize = 0,
        /// Size of each query and key head (required).
        key_dim: usize = 0,
        /// Size of each value head (`None`: `key_dim`; written resolved).
        value_dim: Option<usize> = None,
        /// Dropout on the attention probabilities in training.
        dropout: f64 = 0.0,
        /// Whether the projections have biases.
        use_bias: bool = true,
        /// Last dimension of the output (`None`: the query's).
        output_shape: Option<usize> = None,
        /// Whether future key steps are masked.
        use_causal_mask: bool = false,
        /// Whether the attention probabilities are a second output.
        return_attention_scores: bool = false,
        /// Fixed seed of the dropout masks.
        seed: Option<u64> = None,
        /// Kernel initialiser.
        kernel_initializer: Initializer = Initializer::GlorotUniform,
        /// Bias initialiser.
        bias_initializer: Initializer = Initializer::Zeros,
        /// Whether the weights are trained.
        trainable: bool = true,
    }
    check(config) {
        for key in ["num_heads", "key_dim"] {
            super::cfg_size(config, "MultiHeadAttention", key)?;
        }
        for key in ["value_dim", "output_shape"] {
            super::cfg_opt_size(config, "MultiHeadAttention", key)?;
        }
        Ok(())
    }
}

const PARTS: [&str; 4] = ["query", "key", "value", "attention_output"];

impl<B: Backend> MultiHeadAttention<B> {
    /// `num_heads` heads of size `key_dim` (values too, unless `value_dim` is set).
    pub fn new(num_heads: usize, key_dim: usize) -> Self {
        Self::with_config(MultiHeadAttentionConfig {
            num_heads,
            key_dim,
            ..Default::default()
        })
    }

    config_setters! {
        /// Size of each value head (default `key_dim`).
        value_dim: Option<usize>,
        /// Dropout on the attention probabilities in training.
        dropout: f64,
        /// Whether the projections have biases (default `true`).
        use_bias: bool,
        /// Last dimension of the output (Keras `output_shape`; default the query's).
        output_shape: Option<usize>,
        /// Mask future key steps (decoder self-attention).
        use_causal_mask: bool,
        /// Also output the attention probabilities `[batch, heads, T_q, T_k]`.
        return_attention_scores: bool,
        /// A fixed seed for the dropout masks.
        seed: Option<u64>,
        /// Kernel initialiser (default Glorot uniform).
        kernel_initializer: Initializer,
    }

    fn vdim(&self) -> usize {
        self.config.value_dim.unwrap_or(self.config.key_dim)
    }

    /// `[q, v, k]` per-sample shapes from 1 to 3 inputs, each checked to be `[time, dim]`.
    fn qvk_shapes(&self, shapes: &[Vec<usize>]) -> Result<[Vec<usize>; 3]> {
        let (q, v, k) = match shapes {
            [q] => (q, q, q),
            [q, v] => (q, v, v),
            [q, v, k] => (q, v, k),
            _ => {
                return Err(Error::invalid(
                    &self.config.name,
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
                    &self.config.name,
                    arg,
                    "[batch, time, features] (rank 3)",
                    s,
                ));
            }
        }
        if k[0] != v[0] {
            return Err(Error::shape(
                &self.config.name,
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
                        &self.config.name,
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
    fn project(&self, x: &Tensor<B>, part: usize, ctx: &CallContext) -> Result<Tensor<B>> {
        let kernel = &ctx.read(&self.dense[part].0)?;
        let bias = &ctx.read_opt(&self.dense[part].1)?;
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
    config_methods!(MultiHeadAttentionConfig, |config| Self {
        config,
        dense: Vec::new(),
    });
}

impl<B: Backend> Layer<B> for MultiHeadAttention<B> {
    layer_identity!("MultiHeadAttention", built: |l| !l.dense.is_empty());
    fn validate(&self) -> Result<()> {
        if self.config.num_heads == 0 || self.config.key_dim == 0 || self.vdim() == 0 {
            return Err(Error::invalid(
                &self.config.name,
                "num_heads/key_dim/value_dim",
                "must be at least 1",
            ));
        }
        if !(0.0..1.0).contains(&self.config.dropout) {
            return Err(Error::invalid(
                &self.config.name,
                "dropout",
                format!("must be in [0, 1), got {}", self.config.dropout),
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
        let (h, kd, vd) = (self.config.num_heads, self.config.key_dim, self.vdim());
        let out = self.config.output_shape.unwrap_or(q[1]);
        let specs: [(Vec<usize>, Vec<usize>); 4] = [
            (vec![q[1], h, kd], vec![h, kd]),
            (vec![k[1], h, kd], vec![h, kd]),
            (vec![v[1], h, vd], vec![h, vd]),
            (vec![h, vd, out], vec![out]),
        ];
        let mut dense = Vec::with_capacity(4);
        for (ks, bs) in specs {
            let kernel = self
                .config
                .kernel_initializer
                .init::<B>(&ks, ctx.dtype, ctx.device, &mut ctx.rng)?
                .to_param()?;
            let bias = if self.config.use_bias {
                Some(
                    self.config
                        .bias_initializer
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
        let out = self.config.output_shape.unwrap_or(q[1]);
        let mut o = vec![vec![q[0], out]];
        if self.config.return_attention_scores {
            o.push(vec![self.config.num_heads, q[0], v[0]]);
        }
        Ok(o)
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        Ok(self.call_multi(std::slice::from_ref(x), ctx)?.remove(0))
    }
    fn call_multi(&self, inputs: &[Tensor<B>], ctx: &mut CallContext) -> Result<Vec<Tensor<B>>> {
        if self.dense.is_empty() {
            return Err(Error::NotReady {
                op: format!("{}.call", self.config.name),
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
                    &self.config.name,
                    arg,
                    "[batch, time, features] (rank 3)",
                    &t.shape(),
                ));
            }
            if t.shape()[0] != inputs[0].shape()[0] {
                return Err(Error::shape(
                    &self.config.name,
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
        let (h, vd) = (self.config.num_heads, self.vdim());
        let q = self
            .project(query, 0, ctx)?
            .mul_scalar(1.0 / (self.config.key_dim as f64).sqrt())?;
        let k = self.project(key, 1, ctx)?;
        let v = self.project(value, 2, ctx)?;
        let mut scores = q.matmul(&k.transpose(-1, -2)?)?; // [N, H, Tq, Tk]
        if self.config.use_causal_mask {
            let allowed: Vec<bool> = (0..tq).flat_map(|i| (0..tk).map(move |j| j <= i)).collect();
            let m = Tensor::<B>::from_host(HostData::Bool(allowed), &[tq, tk], query.device())?;
            scores = m.where_cond(&scores, &scores.scalar_like(-1e9)?)?;
        }
        let probs = scores.softmax(-1)?;
        let dropped = if ctx.training && self.config.dropout > 0.0 {
            let seed = match self.config.seed {
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
                .ge(&u.scalar_like(self.config.dropout)?)?
                .to_dtype(probs.dtype())?;
            probs
                .mul(&keep)?
                .mul_scalar(1.0 / (1.0 - self.config.dropout))?
        } else {
            probs.clone()
        };
        let ctxv = dropped.matmul(&v)?.permute(&[0, 2, 1, 3])?; // [N, Tq, H, V]
        let (ok, ob) = (
            &ctx.read(&self.dense[3].0)?,
            &ctx.read_opt(&self.dense[3].1)?,
        );
        let out_dim = ok.shape()[2];
        let mut y = ctxv
            .reshape_to(&[n * tq, h * vd])?
            .matmul(&ok.reshape_to(&[h * vd, out_dim])?)?;
        if let Some(b) = ob {
            y = y.add(b)?;
        }
        let mut outs = vec![y.reshape_to(&[n, tq, out_dim])?];
        if self.config.return_attention_scores {
            outs.push(probs);
        }
        Ok(outs)
    }
    fn weights(&self) -> Vec<Weight<B>> {
        let mut w = Vec::new();
        for (part, (k, b)) in PARTS.iter().zip(&self.dense) {
            let trainable = self.config.trainable;
            w.push(Weight {
                name: format!("{part}/kernel"),
                value: k.clone(),
                trainable,
            });
            push_weight(&mut w, &format!("{part}/bias"), b, trainable);
        }
        w
    }
    trainable_config!(trainable only);
    fn get_config(&self) -> serde_json::Value {
        let mut c = to_json(&self.config);
        c["value_dim"] = json!(self.vdim());
        c
    }
}
