//! Matrix multiplication.

use crate::{kernels, same_dtype, wrap, Candle};
use candle_core::Tensor;
use stratanet_frontend::backend::check::{
    check_dense_relu, check_matmul_bias, check_matmul_ranks, check_matmul_shapes,
};
use stratanet_frontend::backend::{dense_relu_via_parts, matmul_bias_via_add, LinalgOps};
use stratanet_frontend::Result;

impl LinalgOps for Candle {
    /// Two rank-2 f32/f64 CPU operands: one `gemm` whose backward computes only the
    /// gradients autograd needs ([`kernels::dense`]). Otherwise candle's
    /// `broadcast_matmul`; operands whose strides candle's kernel rejects (e.g. after a
    /// general permute) are made contiguous and retried.
    fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        let op = "matmul";
        check_matmul_ranks(op, a.dims(), b.dims())?;
        same_dtype(op, a, b)?;
        check_matmul_shapes(op, a.dims(), b.dims())?;
        if a.rank() == 2 && b.rank() == 2 && kernels::supported(a) && kernels::supported(b) {
            return kernels::dense::dense(a, b, None, false).map_err(wrap(op));
        }
        match a.broadcast_matmul(b) {
            Ok(c) => Ok(c),
            Err(_) if !a.is_contiguous() || !b.is_contiguous() => {
                let a = a.contiguous().map_err(wrap(op))?;
                let b = b.contiguous().map_err(wrap(op))?;
                a.broadcast_matmul(&b).map_err(wrap(op))
            }
            Err(e) => Err(wrap(op)(e)),
        }
    }

    /// f32/f64 on the CPU: one op, the product accumulated onto rows pre-filled with the
    /// bias, and a backward pass that skips the input's gradient when the input is data
    /// ([`kernels::dense`]). Otherwise matmul, then add.
    fn matmul_bias(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
        let op = "matmul_bias";
        check_matmul_bias(op, x.dims(), w.dims(), b.dims())?;
        same_dtype(op, x, w)?;
        same_dtype(op, x, b)?;
        if kernels::supported(x) && kernels::supported(w) && kernels::supported(b) {
            return kernels::dense::dense(x, w, Some(b), false).map_err(wrap(op));
        }
        matmul_bias_via_add::<Self>(x, w, b)
    }

    /// f32/f64 on the CPU: the [`matmul_bias`](Self::matmul_bias) op with the ReLU
    /// applied in place and its gradient masked inside the op's backward. Otherwise the
    /// parts.
    fn dense_relu(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
        let op = "dense_relu";
        let bs = b.map(|b| b.dims().to_vec());
        check_dense_relu(x.dims(), w.dims(), bs.as_deref())?;
        same_dtype(op, x, w)?;
        if let Some(b) = b {
            same_dtype(op, x, b)?;
        }
        if kernels::supported(x) && kernels::supported(w) && b.is_none_or(kernels::supported) {
            return kernels::dense::dense(x, w, b, true).map_err(wrap(op));
        }
        dense_relu_via_parts::<Self>(x, w, b)
    }
}
