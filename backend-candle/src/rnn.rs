//! Recurrent kernels: the frontend's unrolled defaults (candle has no fused LSTM/GRU).

use crate::Candle;
use stratanet_frontend::backend::RnnOps;

impl RnnOps for Candle {}
