//! Recurrent kernels: the fused whole-sequence LSTM ([`crate::kernels::lstm`]) for f32 and
//! f64 on the CPU; the frontend's unrolled defaults for everything else (16-bit dtypes,
//! CUDA, empty sequences) and for the GRU.

use crate::kernels;
use crate::{same_dtype, wrap, Candle};
use candle_core::Tensor;
use stratanet_frontend::backend::{check_rnn_shapes, lstm_unrolled, RnnOps};
use stratanet_frontend::Result;

impl RnnOps for Candle {
    fn lstm_sequence(
        x: &Tensor,
        h0: &Tensor,
        c0: &Tensor,
        kernel: &Tensor,
        recurrent_kernel: &Tensor,
        bias: Option<&Tensor>,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let op = "lstm_sequence";
        let (n, t, d, u) =
            check_rnn_shapes::<Candle>(op, 4, x, &[h0, c0], kernel, recurrent_kernel, &[bias])?;
        let operands = [
            Some(x),
            Some(h0),
            Some(c0),
            Some(kernel),
            Some(recurrent_kernel),
            bias,
        ];
        let fused = n > 0
            && t > 0
            && operands
                .iter()
                .flatten()
                .all(|o| kernels::supported(o) && o.dtype() == x.dtype());
        if !fused {
            return lstm_unrolled::<Candle>(x, h0, c0, kernel, recurrent_kernel, bias);
        }
        same_dtype(op, x, kernel)?;
        kernels::lstm::lstm_sequence(x, h0, c0, kernel, recurrent_kernel, bias, (n, t, d, u))
            .map_err(wrap(op))
    }
}
