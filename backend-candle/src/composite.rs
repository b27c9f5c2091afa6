//! Composite operations: the frontend's defaults, built on the primitives above.
//!
//! candle's fused kernels (`candle_nn::ops::softmax_last_dim`, its GELU and SiLU) are not
//! used: they live in `candle-nn` or differ in formula or last bits from the defaults,
//! which the conformance suite holds every engine to.

use crate::Candle;
use stratanet_frontend::backend::CompositeOps;

impl CompositeOps for Candle {}
