//! Matrix multiplication.

use crate::{broadcast_shape, same_dtype, wrap, Tch, TchTensor};
use stratanet_frontend::backend::LinalgOps;
use stratanet_frontend::error::ShapeList;
use stratanet_frontend::{Error, Result};

impl LinalgOps for Tch {
    /// libtorch's `matmul`, which broadcasts the batch axes.
    fn matmul(a: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        let op = "matmul";
        let (ad, bd) = (a.dims(), b.dims());
        for (argument, d) in [("lhs", &ad), ("rhs", &bd)] {
            if d.len() < 2 {
                return Err(Error::shape(op, argument, "rank 2 or more", d));
            }
        }
        same_dtype(op, a, b)?;
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
                lhs: ShapeList(ad),
                rhs: ShapeList(bd),
                detail: Some(detail.to_string()),
            });
        }
        a.f_matmul(b).map(TchTensor).map_err(wrap(op))
    }
}
