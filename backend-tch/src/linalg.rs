//! Matrix multiplication.

use crate::{same_dtype, wrap, Tch, TchTensor};
use stratanet_frontend::backend::check::{
    check_dense_relu, check_matmul_bias, check_matmul_ranks, check_matmul_shapes,
};
use stratanet_frontend::backend::LinalgOps;
use stratanet_frontend::Result;

impl LinalgOps for Tch {
    /// libtorch's `matmul`, which broadcasts the batch axes.
    fn matmul(a: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        let op = "matmul";
        let (ad, bd) = (a.dims(), b.dims());
        check_matmul_ranks(op, &ad, &bd)?;
        same_dtype(op, a, b)?;
        check_matmul_shapes(op, &ad, &bd)?;
        a.f_matmul(b).map(TchTensor).map_err(wrap(op))
    }

    /// libtorch's `addmm(b, x, w)`: one GEMM that starts from the bias broadcast over the
    /// rows, as PyTorch's `nn.Linear` does, instead of a product and a separate pass adding
    /// the bias.
    fn matmul_bias(x: &TchTensor, w: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        let op = "matmul_bias";
        check_matmul_bias(op, &x.dims(), &w.dims(), &b.dims())?;
        same_dtype(op, x, w)?;
        same_dtype(op, x, b)?;
        b.f_addmm(x, w).map(TchTensor).map_err(wrap(op))
    }

    /// `addmm` (or `mm` without a bias), then libtorch's in-place `relu_` on the fresh
    /// product: one buffer and one pass per layer fewer than a separate `relu`. Autograd
    /// allows it, as for `nn.ReLU(inplace=True)` after `nn.Linear`: neither product's
    /// backward reads its output.
    fn dense_relu(x: &TchTensor, w: &TchTensor, b: Option<&TchTensor>) -> Result<TchTensor> {
        let op = "dense_relu";
        let bs = b.map(|b| b.dims());
        check_dense_relu(&x.dims(), &w.dims(), bs.as_deref())?;
        same_dtype(op, x, w)?;
        if let Some(b) = b {
            same_dtype(op, x, b)?;
        }
        let mut y = match b {
            Some(b) => b.f_addmm(x, w),
            None => x.f_mm(w),
        }
        .map_err(wrap(op))?;
        y.f_relu_().map(TchTensor).map_err(wrap(op))
    }
}
