//! Matrix multiplication.

use crate::{same_dtype, wrap, Tch, TchTensor};
use stratanet_frontend::backend::check::{check_matmul_ranks, check_matmul_shapes};
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
}
