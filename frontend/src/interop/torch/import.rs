//! Copying a torch `state_dict` into a built model through a [`NameMap`], checking every
//! name and converted shape before anything is written.

use super::name_map::NameMap;
use super::state_dict::{is_ignored, StateDict};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::model::ModelParts;
use crate::tensor::Tensor;
use std::collections::{HashMap, HashSet};
use std::path::Path;

impl StateDict {
    /// Copies the mapped tensors into `model`, converting layouts. See
    /// [`import_torch_state_dict`].
    ///
    /// # Errors
    /// As [`import_torch_state_dict`].
    pub fn import_into<B: Backend, M: ModelParts<B>>(
        &self,
        model: &mut M,
        map: &NameMap,
    ) -> Result<()> {
        let origin = &self.origin;
        let targets: Vec<(String, Tensor<B>)> = model
            .named_weights()
            .into_iter()
            .map(|(n, w)| (n, w.value))
            .collect();
        if targets.is_empty() {
            return Err(Error::config(
                origin,
                "the model has no weights yet: build it (give it an Input) before importing",
            ));
        }
        let by_target: HashMap<&str, &Tensor<B>> =
            targets.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let mapped_torch: HashSet<&str> = map.entries.iter().map(|e| e.torch.as_str()).collect();
        let mapped_target: HashSet<&str> = map.entries.iter().map(|e| e.target.as_str()).collect();
        let mut problems = Vec::new();
        let model_has = targets
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        // (what, names, a note after the names)
        let checks: [(&str, Vec<&str>, String); 4] = [
            (
                "missing from the state_dict",
                map.entries
                    .iter()
                    .filter(|e| self.get(&e.torch).is_none())
                    .map(|e| e.torch.as_str())
                    .collect(),
                String::new(),
            ),
            (
                "unexpected in the state_dict (not in the name map)",
                self.tensors
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .filter(|n| !mapped_torch.contains(n) && !is_ignored(n))
                    .collect(),
                String::new(),
            ),
            (
                "not weights of the model",
                map.entries
                    .iter()
                    .filter(|e| !by_target.contains_key(e.target.as_str()))
                    .map(|e| e.target.as_str())
                    .collect(),
                format!(" (the model has: {model_has})"),
            ),
            (
                "model weights with no torch tensor mapped to them",
                targets
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .filter(|n| !mapped_target.contains(n))
                    .collect(),
                String::new(),
            ),
        ];
        for (what, names, note) in checks {
            if !names.is_empty() {
                problems.push(format!("{what}: {}{note}", names.join(", ")));
            }
        }
        let mut converted = Vec::new();
        let mut misshaped = Vec::new();
        for e in &map.entries {
            let (Some(src), Some(dst)) = (self.get(&e.torch), by_target.get(e.target.as_str()))
            else {
                continue;
            };
            match e.layout.convert(&e.torch, src) {
                Ok(c) if c.shape == dst.shape() => converted.push((*dst, c)),
                Ok(c) => misshaped.push(format!(
                    "{} {:?} -> {} (as {:?}: {:?}, model {:?})",
                    e.torch,
                    src.shape,
                    e.target,
                    e.layout,
                    c.shape,
                    dst.shape()
                )),
                Err(err) => misshaped.push(format!("{} -> {}: {err}", e.torch, e.target)),
            }
        }
        if !misshaped.is_empty() {
            problems.push(format!("mis-shaped: {}", misshaped.join("; ")));
        }
        if !problems.is_empty() {
            return Err(Error::config(
                origin,
                format!(
                    "the state_dict does not match the model; {}",
                    problems.join("; ")
                ),
            ));
        }
        for (dst, c) in converted {
            let v = c.to_tensor::<B>(dst.device())?.to_dtype(dst.dtype())?;
            dst.assign(&v)?;
        }
        Ok(())
    }
}

/// Loads the `state_dict` at `path` (written with `safetensors.torch.save_file`) into
/// `model` (a built `Sequential` or functional `Model`), converting layouts as `map` says.
/// Nothing is written unless every tensor fits.
///
/// # Errors
/// [`Error::Config`] naming the file and listing every problem: map entries whose torch
/// tensor is missing, torch tensors the map does not mention (`num_batches_tracked` is
/// ignored), targets that are not weights of the model, model weights nothing maps to, and
/// tensors whose converted shape differs from the weight's (both shapes given).
pub fn import_torch_state_dict<B: Backend, M: ModelParts<B>>(
    model: &mut M,
    path: impl AsRef<Path>,
    map: &NameMap,
) -> Result<()> {
    StateDict::load(path)?.import_into(model, map)
}
