//! Matrix multiplication.

use crate::{broadcast_shape, same_dtype, wrap, Candle};
use candle_core::Tensor;
use stratanet_frontend::backend::LinalgOps;
use stratanet_frontend::error::ShapeList;
use stratanet_frontend::{Error, Result};

impl LinalgOps for Candle {
    /// candle's `broadcast_matmul`; operands whose strides candle's kernel rejects (e.g.
    /// after a general permute) are made contiguous and retried.
    fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        let op = "matmul";
        for (argument, t) in [("lhs", a), ("rhs", b)] {
            if t.rank() < 2 {
                return Err(Error::shape(op, argument, "rank 2 or more", t.dims()));
            }
        }
        same_dtype(op, a, b)?;
        let (ad, bd) = (a.dims(), b.dims());
        let k_ok = ad[ad.len() - 1] == bd[bd.len() - 2];
        let batch_ok = broadcast_shape(&ad[..ad.len() - 2], &bd[..bd.len() - 2]).is_some();
        if !k_ok || !batch_ok {
            let detail = if k_ok {
                "batch axes do not broadcast"
            } else {
                "inner dimensions differ"
            };
            return Err(Error::ShapeMismatch {
                op: op.to_string(),
                lhs: ShapeList(ad.to_vec()),
                rhs: ShapeList(bd.to_vec()),
                detail: Some(detail.to_string()),
            });
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
}
