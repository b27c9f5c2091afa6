//! Whole-sequence recurrent kernels (LSTM, GRU), overridable with fused engine kernels.
//!
//! ## Layout
//!
//! One fixed layout, Keras', for every engine: `x [N, T, in]` (batch first), states
//! `[N, units]`, `kernel [in, k * units]`, `recurrent_kernel [units, k * units]`, biases
//! `[k * units]`, gates in Keras order (LSTM `i, f, c, o`; GRU `z, r, h` with
//! `reset_after = true`, the Keras 3 default and PyTorch's only form). An engine with fused
//! kernels converts the weights to its own layout inside its override (differentiably), so
//! the layers and their saved weights never see the engine's layout.

use super::composite::CompositeOps;
use super::linalg::LinalgOps;
use crate::error::{Error, Result};

/// Checks the shapes of one recurrent call: `x [N, T, in]`, `kernel [in, gates * units]`,
/// `recurrent_kernel [units, gates * units]`, `states` each `[N, units]`, `biases`
/// each `[gates * units]`. Returns `(n, t, in, units)`.
pub fn check_rnn_shapes<B: RnnOps>(
    op: &str,
    gates: usize,
    x: &B::Tensor,
    states: &[&B::Tensor],
    kernel: &B::Tensor,
    recurrent_kernel: &B::Tensor,
    biases: &[Option<&B::Tensor>],
) -> Result<(usize, usize, usize, usize)> {
    let xs = B::shape(x);
    if xs.len() != 3 {
        return Err(Error::shape(op, "x", "rank 3 [batch, time, features]", &xs));
    }
    let rk = B::shape(recurrent_kernel);
    if rk.len() != 2 || rk[1] != gates * rk[0] || rk[0] == 0 {
        return Err(Error::shape(
            op,
            "recurrent_kernel",
            format!("[units, {gates} * units]"),
            &rk,
        ));
    }
    let units = rk[0];
    let k = B::shape(kernel);
    if k != [xs[2], gates * units] {
        return Err(Error::shape(
            op,
            "kernel",
            format!("[{}, {}]", xs[2], gates * units),
            &k,
        ));
    }
    for s in states {
        let ss = B::shape(s);
        if ss != [xs[0], units] {
            return Err(Error::shape(
                op,
                "initial state",
                format!("[{}, {units}]", xs[0]),
                &ss,
            ));
        }
    }
    for b in biases.iter().flatten() {
        let bs = B::shape(b);
        if bs != [gates * units] {
            return Err(Error::shape(
                op,
                "bias",
                format!("[{}]", gates * units),
                &bs,
            ));
        }
    }
    Ok((xs[0], xs[1], xs[2], units))
}

/// Recurrent layers over a whole sequence, in Keras' weight layout (see the module docs).
///
/// The defaults unroll the recurrence over time with the primitive ops (matmul, sigmoid,
/// tanh, narrow, stack): the input projection of every step is one matmul, each step one
/// matmul with the recurrent kernel. Overrides (libtorch's `lstm`/`gru` kernels) must give
/// the same values and gradients; the conformance suite checks both against the defaults'
/// closed form and finite differences.
pub trait RnnOps: CompositeOps + LinalgOps {
    /// LSTM with `tanh` activation and `sigmoid` recurrent activation, gates `i, f, c, o`:
    /// `c_t = f * c_{t-1} + i * tanh(g)`, `h_t = o * tanh(c_t)`.
    ///
    /// Returns `(outputs [N, T, units], h_T [N, units], c_T [N, units])`.
    ///
    /// # Errors
    /// [`Error::Shape`] for shapes that do not fit together, engine errors.
    fn lstm_sequence(
        x: &Self::Tensor,
        h0: &Self::Tensor,
        c0: &Self::Tensor,
        kernel: &Self::Tensor,
        recurrent_kernel: &Self::Tensor,
        bias: Option<&Self::Tensor>,
    ) -> Result<(Self::Tensor, Self::Tensor, Self::Tensor)> {
        lstm_unrolled::<Self>(x, h0, c0, kernel, recurrent_kernel, bias)
    }

    /// GRU with `tanh` activation, `sigmoid` recurrent activation and `reset_after = true`,
    /// gates `z, r, h`: with `xz, xr, xh` the input projection plus `input_bias` and
    /// `hz, hr, hh` the recurrent projection plus `recurrent_bias`,
    /// `z = σ(xz + hz)`, `r = σ(xr + hr)`, `n = tanh(xh + r * hh)`,
    /// `h_t = z * h_{t-1} + (1 - z) * n`.
    ///
    /// Returns `(outputs [N, T, units], h_T [N, units])`.
    ///
    /// # Errors
    /// [`Error::Shape`] for shapes that do not fit together, engine errors.
    fn gru_sequence(
        x: &Self::Tensor,
        h0: &Self::Tensor,
        kernel: &Self::Tensor,
        recurrent_kernel: &Self::Tensor,
        input_bias: Option<&Self::Tensor>,
        recurrent_bias: Option<&Self::Tensor>,
    ) -> Result<(Self::Tensor, Self::Tensor)> {
        let (n, t, d, u) = check_rnn_shapes::<Self>(
            "gru_sequence",
            3,
            x,
            &[h0],
            kernel,
            recurrent_kernel,
            &[input_bias, recurrent_bias],
        )?;
        let xw = project::<Self>(x, kernel, input_bias, n, t, d)?;
        let mut h = h0.clone();
        let mut outs = Vec::with_capacity(t);
        for step in 0..t {
            let xt = Self::reshape(&Self::narrow(&xw, 1, step, 1)?, &[n, 3 * u])?;
            let mut hw = Self::matmul(&h, recurrent_kernel)?;
            if let Some(b) = recurrent_bias {
                hw = Self::add(&hw, b)?;
            }
            let z = Self::sigmoid(&Self::add(
                &Self::narrow(&xt, 1, 0, u)?,
                &Self::narrow(&hw, 1, 0, u)?,
            )?)?;
            let r = Self::sigmoid(&Self::add(
                &Self::narrow(&xt, 1, u, u)?,
                &Self::narrow(&hw, 1, u, u)?,
            )?)?;
            let cand = Self::tanh(&Self::add(
                &Self::narrow(&xt, 1, 2 * u, u)?,
                &Self::mul(&r, &Self::narrow(&hw, 1, 2 * u, u)?)?,
            )?)?;
            // z * h + (1 - z) * n = n + z * (h - n)
            h = Self::add(&cand, &Self::mul(&z, &Self::sub(&h, &cand)?)?)?;
            outs.push(h.clone());
        }
        let out = stack_outputs::<Self>(&outs, h0, n, u)?;
        Ok((out, h))
    }
}

/// The unrolled LSTM that [`RnnOps::lstm_sequence`] defaults to, callable by an engine
/// whose override handles only some cases (dtypes, devices) and falls back for the rest.
///
/// # Errors
/// [`Error::Shape`] for shapes that do not fit together, engine errors.
pub fn lstm_unrolled<B: RnnOps>(
    x: &B::Tensor,
    h0: &B::Tensor,
    c0: &B::Tensor,
    kernel: &B::Tensor,
    recurrent_kernel: &B::Tensor,
    bias: Option<&B::Tensor>,
) -> Result<(B::Tensor, B::Tensor, B::Tensor)> {
    let (n, t, d, u) = check_rnn_shapes::<B>(
        "lstm_sequence",
        4,
        x,
        &[h0, c0],
        kernel,
        recurrent_kernel,
        &[bias],
    )?;
    let xw = project::<B>(x, kernel, bias, n, t, d)?;
    let (mut h, mut c) = (h0.clone(), c0.clone());
    let mut outs = Vec::with_capacity(t);
    for step in 0..t {
        let xt = B::reshape(&B::narrow(&xw, 1, step, 1)?, &[n, 4 * u])?;
        let z = B::add(&xt, &B::matmul(&h, recurrent_kernel)?)?;
        let i = B::sigmoid(&B::narrow(&z, 1, 0, u)?)?;
        let f = B::sigmoid(&B::narrow(&z, 1, u, u)?)?;
        let g = B::tanh(&B::narrow(&z, 1, 2 * u, u)?)?;
        let o = B::sigmoid(&B::narrow(&z, 1, 3 * u, u)?)?;
        c = B::add(&B::mul(&f, &c)?, &B::mul(&i, &g)?)?;
        h = B::mul(&o, &B::tanh(&c)?)?;
        outs.push(h.clone());
    }
    let out = stack_outputs::<B>(&outs, &h0.clone(), n, u)?;
    Ok((out, h, c))
}

/// `x @ kernel + bias` for every step at once: `[N, T, in] -> [N, T, gates * units]`.
fn project<B: RnnOps>(
    x: &B::Tensor,
    kernel: &B::Tensor,
    bias: Option<&B::Tensor>,
    n: usize,
    t: usize,
    d: usize,
) -> Result<B::Tensor> {
    let g = B::shape(kernel)[1];
    let flat = B::reshape(x, &[n * t, d])?;
    let mut xw = B::matmul(&flat, kernel)?;
    if let Some(b) = bias {
        xw = B::add(&xw, b)?;
    }
    B::reshape(&xw, &[n, t, g])
}

/// Stacks per-step outputs along time; an empty sequence gives `[N, 0, units]`.
fn stack_outputs<B: RnnOps>(
    outs: &[B::Tensor],
    like: &B::Tensor,
    n: usize,
    u: usize,
) -> Result<B::Tensor> {
    if outs.is_empty() {
        return B::zeros(&[n, 0, u], B::dtype(like), &B::tensor_device(like));
    }
    B::stack(outs, 1)
}
