//! The [`Data`] spec now lives in [`crate::data`]; re-exported here so `model::Data` keeps
//! working.

pub use crate::data::Data;
