//! The forward pass of [`Recurrent`]: input and recurrent dropout masks, the fused
//! engine path and the step-by-step unrolled loop.

use super::{Cell, Recurrent};
use crate::activations::Activation;
use crate::backend::{Backend, HostData};
use crate::error::{Error, Result};
use crate::layers::CallContext;
use crate::random::Rng;
use crate::tensor::Tensor;

impl<B: Backend, C: Cell> Recurrent<B, C> {
    /// A dropout keep-mask `[n, d]` scaled by `1 / (1 - rate)`.
    pub(super) fn dropout_mask(
        &self,
        rate: f64,
        n: usize,
        d: usize,
        like: &Tensor<B>,
        ctx: &mut CallContext,
    ) -> Result<Tensor<B>> {
        let seed = match self.config.seed {
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
    pub(super) fn run(
        &self,
        x: &Tensor<B>,
        initial: &[Tensor<B>],
        mask: Option<&Tensor<B>>,
        ctx: &mut CallContext,
    ) -> Result<(Tensor<B>, Vec<Tensor<B>>)> {
        let (kernel, rk) = match (&self.kernel, &self.recurrent_kernel) {
            (Some(k), Some(r)) => (&ctx.read(k)?, &ctx.read(r)?),
            _ => return Err(self.not_ready()),
        };
        let bias = ctx.read_opt(&self.bias)?;
        let s = x.shape();
        if s.len() != 3 || s[2] != kernel.shape()[0] {
            return Err(Error::shape(
                &self.config.name,
                "input",
                format!("[batch, time, {}] (rank 3)", kernel.shape()[0]),
                &s,
            ));
        }
        let (n, t, d, u) = (s[0], s[1], s[2], self.config.units);
        let dtype = kernel.dtype();
        let mut x = x.to_dtype(dtype)?;
        let mut mask = match mask {
            Some(m) => Some(m.to_dtype(dtype)?),
            None => None,
        };
        let mut states: Vec<Tensor<B>> = Vec::with_capacity(C::STATES);
        if !initial.is_empty() && initial.len() != C::STATES {
            return Err(Error::invalid(
                &self.config.name,
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
                            &self.config.name,
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
        if self.config.go_backwards && t > 1 {
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
        if training && self.config.dropout > 0.0 {
            let m = self.dropout_mask(self.config.dropout, n, d, &x, ctx)?;
            x = x.mul(&m.unsqueeze(1)?)?;
        }
        let rec_mask = if training && self.config.recurrent_dropout > 0.0 {
            Some(self.dropout_mask(self.config.recurrent_dropout, n, u, &x, ctx)?)
        } else {
            None
        };
        let act = self.config.activation.resolve()?;
        let rec_act = self.config.recurrent_activation.resolve()?;
        let (in_bias, rec_bias) = match (&bias, C::CLASS) {
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
    pub(super) fn outputs(&self, seq: Tensor<B>, states: Vec<Tensor<B>>) -> Vec<Tensor<B>> {
        let first = if self.config.return_sequences {
            seq
        } else {
            states[0].clone()
        };
        let mut v = vec![first];
        if self.config.return_state {
            v.extend(states);
        }
        v
    }
}
