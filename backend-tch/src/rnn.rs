//! Recurrent kernels on libtorch's fused `lstm` / `gru` (cuDNN on CUDA).
//!
//! The frontend's layout is Keras' (`kernel [in, k * units]`, gates LSTM `i, f, c, o`,
//! GRU `z, r, h`); libtorch wants `w_ih [k * units, in]`, `w_hh [k * units, units]` with
//! gates LSTM `i, f, g, o` (the same order) and GRU `r, z, n` (the first two swapped). The
//! weights are transposed and, for the GRU, their gate blocks reordered with differentiable
//! ops on every call, so gradients reach the Keras-layout parameters. PyTorch's GRU is
//! Keras' `reset_after = true` form, with the input bias as `b_ih` and the recurrent bias
//! as `b_hh`. `train` is passed as true (the dropout between stacked layers is 0 anyway):
//! cuDNN keeps what its backward pass needs only in training mode.

use crate::{same_dtype, wrap, Tch, TchTensor};
use stratanet_frontend::backend::{check_rnn_shapes, BackendBase, CreationOps, RnnOps};
use stratanet_frontend::Result;
use tch::Tensor;

/// `[in, k * units]` Keras weight to libtorch's `[k * units, in]`, with the gate blocks in
/// `order` (indices into the Keras blocks).
fn to_torch_weight(w: &Tensor, units: usize, order: &[usize]) -> Result<Tensor> {
    let op = "rnn weight layout";
    let u = units as i64;
    let blocks: Vec<Tensor> = order
        .iter()
        .map(|&g| w.f_narrow(-1, g as i64 * u, u))
        .collect::<std::result::Result<_, _>>()
        .map_err(wrap(op))?;
    let joined = if order.iter().enumerate().all(|(i, &g)| i == g) {
        w.shallow_clone()
    } else {
        Tensor::f_cat(&blocks, -1).map_err(wrap(op))?
    };
    if joined.dim() == 1 {
        return joined.f_contiguous().map_err(wrap(op));
    }
    joined
        .f_tr()
        .and_then(|t| t.f_contiguous())
        .map_err(wrap(op))
}

/// The bias or zeros of `[k * units]`, reordered like the weights.
fn to_torch_bias(
    b: Option<&TchTensor>,
    like: &TchTensor,
    len: usize,
    units: usize,
    order: &[usize],
) -> Result<Tensor> {
    match b {
        Some(b) => to_torch_weight(b, units, order),
        None => Ok(Tch::zeros(&[len], Tch::dtype(like), &Tch::tensor_device(like))?.0),
    }
}

impl RnnOps for Tch {
    fn lstm_sequence(
        x: &TchTensor,
        h0: &TchTensor,
        c0: &TchTensor,
        kernel: &TchTensor,
        recurrent_kernel: &TchTensor,
        bias: Option<&TchTensor>,
    ) -> Result<(TchTensor, TchTensor, TchTensor)> {
        let op = "lstm_sequence";
        let (n, t, _, u) =
            check_rnn_shapes::<Tch>(op, 4, x, &[h0, c0], kernel, recurrent_kernel, &[bias])?;
        for other in [h0, c0, kernel, recurrent_kernel] {
            same_dtype(op, x, other)?;
        }
        if t == 0 {
            let out = Tch::zeros(&[n, 0, u], Tch::dtype(x), &Tch::tensor_device(x))?;
            return Ok((out, h0.clone(), c0.clone()));
        }
        let order = [0, 1, 2, 3];
        let params = [
            to_torch_weight(kernel, u, &order)?,
            to_torch_weight(recurrent_kernel, u, &order)?,
            to_torch_bias(bias, x, 4 * u, u, &order)?,
            Tch::zeros(&[4 * u], Tch::dtype(x), &Tch::tensor_device(x))?.0,
        ];
        let hx = [
            h0.f_unsqueeze(0).map_err(wrap(op))?,
            c0.f_unsqueeze(0).map_err(wrap(op))?,
        ];
        let (out, h, c) = x
            .f_lstm(&hx, &params, true, 1, 0.0, true, false, true)
            .map_err(wrap(op))?;
        let h = h.f_squeeze_dim(0).map_err(wrap(op))?;
        let c = c.f_squeeze_dim(0).map_err(wrap(op))?;
        Ok((TchTensor(out), TchTensor(h), TchTensor(c)))
    }

    fn gru_sequence(
        x: &TchTensor,
        h0: &TchTensor,
        kernel: &TchTensor,
        recurrent_kernel: &TchTensor,
        input_bias: Option<&TchTensor>,
        recurrent_bias: Option<&TchTensor>,
    ) -> Result<(TchTensor, TchTensor)> {
        let op = "gru_sequence";
        let (n, t, _, u) = check_rnn_shapes::<Tch>(
            op,
            3,
            x,
            &[h0],
            kernel,
            recurrent_kernel,
            &[input_bias, recurrent_bias],
        )?;
        for other in [h0, kernel, recurrent_kernel] {
            same_dtype(op, x, other)?;
        }
        if t == 0 {
            let out = Tch::zeros(&[n, 0, u], Tch::dtype(x), &Tch::tensor_device(x))?;
            return Ok((out, h0.clone()));
        }
        // Keras z, r, h -> PyTorch r, z, n.
        let order = [1, 0, 2];
        let params = [
            to_torch_weight(kernel, u, &order)?,
            to_torch_weight(recurrent_kernel, u, &order)?,
            to_torch_bias(input_bias, x, 3 * u, u, &order)?,
            to_torch_bias(recurrent_bias, x, 3 * u, u, &order)?,
        ];
        let hx = h0.f_unsqueeze(0).map_err(wrap(op))?;
        let (out, h) = x
            .f_gru(&hx, &params, true, 1, 0.0, true, false, true)
            .map_err(wrap(op))?;
        let h = h.f_squeeze_dim(0).map_err(wrap(op))?;
        Ok((TchTensor(out), TchTensor(h)))
    }
}
