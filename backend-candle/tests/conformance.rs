//! The frontend's backend conformance suite (every op and gradient test), run on candle.
//!
//! Run one family with `cargo test -p stratanet-candle --test conformance nn::`.

stratanet_frontend::backend_conformance_tests!(stratanet_candle::Candle);
