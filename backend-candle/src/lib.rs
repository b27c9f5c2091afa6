pub use candle_core;
