//! Exchanging models with other frameworks: importing PyTorch `state_dict`s
//! ([`torch`]) and exporting to ONNX ([`onnx`]).

pub mod onnx;
pub mod torch;

pub use onnx::export as export_onnx;
pub use torch::{import_torch_state_dict, Layout, NameMap, StateDict};
