//! Matrix multiplication.

use crate::{same_dtype, wrap, Candle};
use candle_core::Tensor;
use stratanet_frontend::backend::check::{check_matmul_ranks, check_matmul_shapes};
use stratanet_frontend::backend::LinalgOps;
use stratanet_frontend::Result;

impl LinalgOps for Candle {
    /// candle's `broadcast_matmul`; operands whose strides candle's kernel rejects (e.g.
    /// after a general permute) are made contiguous and retried.
    fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        let op = "matmul";
        check_matmul_ranks(op, a.dims(), b.dims())?;
        same_dtype(op, a, b)?;
        check_matmul_shapes(op, a.dims(), b.dims())?;
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
}
