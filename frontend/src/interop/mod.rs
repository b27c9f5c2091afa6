//! Exchanging models with other frameworks: importing PyTorch `state_dict`s
//! ([`torch`]) and exporting to ONNX ([`onnx`]).

pub mod onnx;
pub mod torch;

pub use onnx::export as export_onnx;
pub use torch::{import_torch_state_dict, Layout, NameMap, StateDict};

use crate::error::{Error, Result};
use std::path::Path;

/// Reads the whole file at `path`; an I/O error names the path.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("reading {}: {e}", path.display()),
        ))
    })
}
