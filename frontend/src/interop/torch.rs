//! Importing PyTorch weights: a `state_dict` saved with Python's
//! `safetensors.torch.save_file(model.state_dict(), path)` from an equivalent `torch.nn`
//! model, loaded into a built stratanet model.
//!
//! Each torch tensor is mapped to a stratanet weight path (`dense/kernel`) with a
//! [`Layout`] conversion:
//!
//! | torch                                   | stratanet                         | layout |
//! |-----------------------------------------|-----------------------------------|--------|
//! | `Linear.weight` `[out, in]`             | `Dense/kernel` `[in, out]`        | [`Layout::Linear`] (transpose) |
//! | `Conv2d.weight` `[out, in, kh, kw]`     | `Conv2D/kernel` `[kh, kw, in, out]` | [`Layout::Conv2d`] |
//! | `Conv1d.weight` `[out, in, k]`          | `Conv1D/kernel` `[k, in, out]`    | [`Layout::Conv1d`] |
//! | `BatchNorm*.weight`/`bias`/`running_mean`/`running_var` | `gamma`/`beta`/`moving_mean`/`moving_variance` | [`Layout::Identity`] |
//! | biases                                  | `bias`                            | [`Layout::Identity`] |
//!
//! **Flatten order.** stratanet is channels-last: `Flatten` after a `Conv2D` flattens
//! `[h, w, c]`, while torch's `nn.Flatten` on NCHW flattens `[c, h, w]`. The first `Linear`
//! after the convolutions therefore needs its input columns permuted:
//! [`Layout::LinearAfterNchwFlatten`] does that (only the channel count is needed).
//! [`NameMap::by_order`] applies it automatically to the first `Linear` that follows a
//! `Conv2d` (turn that off with [`NameMap::by_order_nhwc_flatten`] when the torch model
//! permutes to NHWC before flattening).
//!
//! ```
//! use stratanet::interop::torch::{import_torch_state_dict, Layout, NameMap, StateDict};
//! use stratanet::prelude::*;
//! # fn main() -> stratanet::Result<()> {
//! // A state_dict as torch writes it: nn.Sequential(nn.Linear(3, 2)) -> "0.weight" [2, 3].
//! # let dir = tempfile::tempdir()?;
//! let path = dir.path().join("state_dict.safetensors");
//! let w: Vec<f32> = (0..6).map(|i| i as f32).collect();
//! StateDict::from_tensors(vec![
//!     ("0.weight".into(), stratanet::saving::HostTensor { data: stratanet::HostData::F32(w), shape: vec![2, 3] }),
//!     ("0.bias".into(), stratanet::saving::HostTensor { data: stratanet::HostData::F32(vec![0.5, -0.5]), shape: vec![2] }),
//! ]).save(&path)?;
//!
//! let mut model = Sequential::<DefaultBackend>::new();
//! model.add(Input::new(&[3]))?;
//! model.add(Dense::new(2))?;
//! // Automatic, by module order ...
//! let map = NameMap::by_order(&model, &StateDict::load(&path)?)?;
//! // ... or by hand.
//! let same = NameMap::new()
//!     .map("0.weight", "dense/kernel", Layout::Linear)
//!     .map("0.bias", "dense/bias", Layout::Identity);
//! assert_eq!(map, same);
//! import_torch_state_dict(&mut model, &path, &map)?;
//! let y = model.predict_on_batch(&Tensor::from_vec(vec![1.0f32, 0.0, 0.0], &[1, 3])?)?;
//! assert_eq!(y.to_vec_f32()?, vec![0.5, 2.5]); // column 0 of the torch weight + bias
//! # Ok(())
//! # }
//! ```

use crate::backend::{Backend, HostData};
use crate::data::HostTensor;
use crate::error::{Error, Result};
use crate::model::ModelParts;
use crate::tensor::Tensor;
use safetensors::{Dtype, SafeTensors};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// How a torch tensor's layout becomes stratanet's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Copied as is (biases, batch-norm statistics, anything already in Keras layout).
    Identity,
    /// `nn.Linear` weight `[out, in]` to `Dense` kernel `[in, out]` (a transpose).
    Linear,
    /// `nn.Linear` weight `[out, c * s]` that follows a torch `nn.Flatten` of an NCHW map
    /// with `channels` channels (`s` = height * width) to the `Dense` kernel `[s * c, out]`
    /// that follows stratanet's channels-last `Flatten`: rows in `[h, w, c]` order.
    LinearAfterNchwFlatten {
        /// Channels of the flattened feature map.
        channels: usize,
    },
    /// `nn.Conv2d` weight `[out, in, kh, kw]` to `Conv2D` kernel `[kh, kw, in, out]`.
    Conv2d,
    /// `nn.Conv1d` weight `[out, in, k]` to `Conv1D` kernel `[k, in, out]`.
    Conv1d,
}

impl Layout {
    /// Converts one tensor; `name` is used in errors.
    ///
    /// # Errors
    /// A tensor whose rank does not fit the layout.
    pub fn convert(&self, name: &str, t: &HostTensor) -> Result<HostTensor> {
        let s = &t.shape;
        let rank = |want: usize, what: &str| -> Result<()> {
            if s.len() != want {
                return Err(Error::shape(
                    name,
                    "torch tensor",
                    format!("rank {want} ({what})"),
                    s,
                ));
            }
            Ok(())
        };
        match *self {
            Layout::Identity => Ok(t.clone()),
            Layout::Linear => {
                rank(2, "an nn.Linear weight [out, in]")?;
                Ok(permute_host(t, &[1, 0]))
            }
            Layout::LinearAfterNchwFlatten { channels } => {
                rank(2, "an nn.Linear weight [out, in]")?;
                let (out, inp) = (s[0], s[1]);
                if channels == 0 || inp % channels != 0 {
                    return Err(Error::shape(
                        name,
                        "torch tensor",
                        format!(
                            "in_features divisible by the {channels} channels of the flattened map"
                        ),
                        s,
                    ));
                }
                let spatial = inp / channels;
                let r = HostTensor {
                    data: t.data.clone(),
                    shape: vec![out, channels, spatial],
                };
                let mut p = permute_host(&r, &[2, 1, 0]);
                p.shape = vec![spatial * channels, out];
                Ok(p)
            }
            Layout::Conv2d => {
                rank(4, "an nn.Conv2d weight [out, in, kh, kw]")?;
                Ok(permute_host(t, &[2, 3, 1, 0]))
            }
            Layout::Conv1d => {
                rank(3, "an nn.Conv1d weight [out, in, k]")?;
                Ok(permute_host(t, &[2, 1, 0]))
            }
        }
    }
}

fn permute_vec<T: Copy>(v: &[T], shape: &[usize], perm: &[usize]) -> Vec<T> {
    let rank = shape.len();
    let mut strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; rank];
    for _ in 0..n {
        let src: usize = (0..rank).map(|d| idx[d] * strides[perm[d]]).sum();
        out.push(v[src]);
        for d in (0..rank).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// Transposes a host tensor: output axis `i` is input axis `perm[i]`.
pub(crate) fn permute_host(t: &HostTensor, perm: &[usize]) -> HostTensor {
    let data = match &t.data {
        HostData::F32(v) => HostData::F32(permute_vec(v, &t.shape, perm)),
        HostData::F64(v) => HostData::F64(permute_vec(v, &t.shape, perm)),
        HostData::I64(v) => HostData::I64(permute_vec(v, &t.shape, perm)),
        HostData::Bool(v) => HostData::Bool(permute_vec(v, &t.shape, perm)),
    };
    HostTensor {
        data,
        shape: perm.iter().map(|&p| t.shape[p]).collect(),
    }
}

/// A torch `state_dict` read from a `.safetensors` file (any writer: no stratanet metadata
/// or checksum is needed), names in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct StateDict {
    tensors: Vec<(String, HostTensor)>,
    origin: String,
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: normalise.
            let mut e = 127 - 15 + 1;
            let mut f = f;
            while f & 0x400 == 0 {
                f <<= 1;
                e -= 1;
            }
            sign | ((e as u32) << 23) | ((f & 0x3ff) << 13)
        }
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 127 - 15) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

impl StateDict {
    /// Reads a `.safetensors` file, e.g. one written by
    /// `safetensors.torch.save_file(model.state_dict(), path)`. Floating tensors of any
    /// width (f16, bf16, f32, f64) are read as f32/f64; integer ones (`num_batches_tracked`)
    /// as i64.
    ///
    /// # Errors
    /// I/O errors; a malformed file or an unsupported dtype ([`Error::Config`] naming the
    /// file and tensor). Never panics.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("reading {}: {e}", path.display()),
            ))
        })?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// Parses a safetensors buffer; `origin` names it in errors.
    ///
    /// # Errors
    /// As [`StateDict::load`].
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Self> {
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| Error::config(origin, format!("not a valid safetensors file ({e})")))?;
        let mut names: Vec<(usize, String)> = st
            .tensors()
            .into_iter()
            .map(|(n, v)| (v.data().as_ptr() as usize, n))
            .collect();
        names.sort();
        let mut tensors = Vec::with_capacity(names.len());
        for (_, name) in names {
            let v = st
                .tensor(&name)
                .map_err(|e| Error::config(origin, format!("tensor '{name}': {e}")))?;
            let d = v.data();
            let data = match v.dtype() {
                Dtype::F32 => HostData::F32(
                    d.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                ),
                Dtype::F64 => HostData::F64(
                    d.chunks_exact(8)
                        .map(|c| {
                            f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
                        })
                        .collect(),
                ),
                Dtype::F16 => HostData::F32(
                    d.chunks_exact(2)
                        .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                        .collect(),
                ),
                Dtype::BF16 => HostData::F32(
                    d.chunks_exact(2)
                        .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16))
                        .collect(),
                ),
                Dtype::I64 => HostData::I64(
                    d.chunks_exact(8)
                        .map(|c| {
                            i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
                        })
                        .collect(),
                ),
                Dtype::I32 => HostData::I64(
                    d.chunks_exact(4)
                        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                        .collect(),
                ),
                Dtype::BOOL => HostData::Bool(d.iter().map(|&b| b != 0).collect()),
                other => {
                    return Err(Error::config(
                        origin,
                        format!("tensor '{name}': unsupported dtype {other:?}"),
                    ))
                }
            };
            tensors.push((
                name,
                HostTensor {
                    data,
                    shape: v.shape().to_vec(),
                },
            ));
        }
        Ok(Self {
            tensors,
            origin: origin.to_string(),
        })
    }

    /// A state dict from named host tensors (for tests and programmatic use).
    pub fn from_tensors(tensors: Vec<(String, HostTensor)>) -> Self {
        Self {
            tensors,
            origin: "state_dict".into(),
        }
    }

    /// Writes the tensors as a plain `.safetensors` file (no stratanet metadata), as
    /// `safetensors.torch.save_file` would; Python's `safetensors.torch.load_file` reads it.
    ///
    /// # Errors
    /// Encoding and I/O errors.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        for (n, t) in &self.tensors {
            let (dt, bytes): (Dtype, Vec<u8>) = match &t.data {
                HostData::F32(v) => (Dtype::F32, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                HostData::F64(v) => (Dtype::F64, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                HostData::I64(v) => (Dtype::I64, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                HostData::Bool(v) => (Dtype::BOOL, v.iter().map(|&b| b as u8).collect()),
            };
            owned.push((n.clone(), dt, t.shape.clone(), bytes));
        }
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = owned
            .iter()
            .map(|(n, dt, s, b)| {
                safetensors::tensor::TensorView::new(*dt, s.clone(), b)
                    .map(|v| (n.clone(), v))
                    .map_err(|e| Error::config(n, format!("encoding: {e}")))
            })
            .collect::<Result<_>>()?;
        let bytes = safetensors::serialize(views, None)
            .map_err(|e| Error::config("state_dict", format!("encoding: {e}")))?;
        crate::saving::atomic_write(path.as_ref(), &bytes)
    }

    /// Tensor names and shapes, in file order.
    pub fn names(&self) -> Vec<(&str, &[usize])> {
        self.tensors
            .iter()
            .map(|(n, t)| (n.as_str(), t.shape.as_slice()))
            .collect()
    }

    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&HostTensor> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

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
        let missing_torch: Vec<&str> = map
            .entries
            .iter()
            .filter(|e| self.get(&e.torch).is_none())
            .map(|e| e.torch.as_str())
            .collect();
        if !missing_torch.is_empty() {
            problems.push(format!(
                "missing from the state_dict: {}",
                missing_torch.join(", ")
            ));
        }
        let unexpected_torch: Vec<&str> = self
            .tensors
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !mapped_torch.contains(n) && !is_ignored(n))
            .collect();
        if !unexpected_torch.is_empty() {
            problems.push(format!(
                "unexpected in the state_dict (not in the name map): {}",
                unexpected_torch.join(", ")
            ));
        }
        let unknown_target: Vec<&str> = map
            .entries
            .iter()
            .filter(|e| !by_target.contains_key(e.target.as_str()))
            .map(|e| e.target.as_str())
            .collect();
        if !unknown_target.is_empty() {
            problems.push(format!(
                "not weights of the model: {} (the model has: {})",
                unknown_target.join(", "),
                targets
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let unset: Vec<&str> = targets
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !mapped_target.contains(n))
            .collect();
        if !unset.is_empty() {
            problems.push(format!(
                "model weights with no torch tensor mapped to them: {}",
                unset.join(", ")
            ));
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

/// Buffers torch keeps that have no stratanet counterpart.
fn is_ignored(name: &str) -> bool {
    name.ends_with("num_batches_tracked")
}

/// One torch tensor → stratanet weight mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The `state_dict` key (`features.0.weight`).
    pub torch: String,
    /// The stratanet weight path (`conv2d/kernel`).
    pub target: String,
    /// The layout conversion.
    pub layout: Layout,
}

/// The torch name → stratanet weight path map used by [`import_torch_state_dict`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameMap {
    /// The mappings, in order.
    pub entries: Vec<Mapping>,
}

/// What a group of tensors (one module or layer) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dense,
    Conv2d,
    Conv1d,
    BatchNorm,
}

impl Kind {
    fn torch_name(self) -> &'static str {
        match self {
            Kind::Dense => "nn.Linear",
            Kind::Conv2d => "nn.Conv2d",
            Kind::Conv1d => "nn.Conv1d",
            Kind::BatchNorm => "nn.BatchNorm",
        }
    }
}

/// Compares `features.10.weight`-style names segment by segment, numbers numerically.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.split('.'), b.split('.'));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(p), Some(q)) => {
                let o = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(i), Ok(j)) => i.cmp(&j),
                    _ => p.cmp(q),
                };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

fn split_last(name: &str, sep: char) -> (&str, &str) {
    name.rsplit_once(sep).unwrap_or(("", name))
}

impl NameMap {
    /// An empty map; add entries with [`NameMap::map`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `torch` → `target` with `layout`.
    pub fn map(mut self, torch: &str, target: &str, layout: Layout) -> Self {
        self.entries.push(Mapping {
            torch: torch.to_string(),
            target: target.to_string(),
            layout,
        });
        self
    }

    /// Builds the map by order for stacks of `nn.Linear`, `nn.Conv2d`, `nn.Conv1d` and
    /// `nn.BatchNorm*` modules (parameter-free modules such as `ReLU`, pooling, `Flatten`
    /// and `Dropout` are skipped on both sides): the i-th torch module with weights goes to
    /// the i-th stratanet layer with weights. Torch modules are ordered by their
    /// `state_dict` names compared segment by segment, numbers numerically (`0`, `1`, ...,
    /// `10`): that is definition order for `nn.Sequential` and for modules named in
    /// definition order (`fc1`, `fc2`); otherwise build the map by hand with
    /// [`NameMap::map`].
    ///
    /// The first `nn.Linear` after an `nn.Conv2d` gets
    /// [`Layout::LinearAfterNchwFlatten`], for a torch model that flattens NCHW maps with
    /// `nn.Flatten` (the usual case); see [`NameMap::by_order_nhwc_flatten`].
    ///
    /// # Errors
    /// A module or layer of a kind it cannot map, a kind mismatch at some position, or
    /// different numbers of modules and layers: the message lists both sequences.
    pub fn by_order<B: Backend, M: ModelParts<B>>(
        model: &M,
        state_dict: &StateDict,
    ) -> Result<Self> {
        Self::build_by_order(model, state_dict, true)
    }

    /// As [`NameMap::by_order`], for a torch model that permutes its feature maps to NHWC
    /// before flattening (so that its flatten order already matches stratanet's): every
    /// `nn.Linear` gets the plain [`Layout::Linear`].
    ///
    /// # Errors
    /// As [`NameMap::by_order`].
    pub fn by_order_nhwc_flatten<B: Backend, M: ModelParts<B>>(
        model: &M,
        state_dict: &StateDict,
    ) -> Result<Self> {
        Self::build_by_order(model, state_dict, false)
    }

    fn build_by_order<B: Backend, M: ModelParts<B>>(
        model: &M,
        sd: &StateDict,
        nchw_flatten: bool,
    ) -> Result<Self> {
        let origin = &sd.origin;
        // Torch modules: prefix -> (suffix -> shape), ordered naturally.
        let mut prefixes: Vec<&str> = Vec::new();
        let mut torch_groups: HashMap<&str, Vec<(&str, &[usize])>> = HashMap::new();
        for (name, t) in &sd.tensors {
            if is_ignored(name) {
                continue;
            }
            let (prefix, leaf) = split_last(name, '.');
            if !torch_groups.contains_key(prefix) {
                prefixes.push(prefix);
            }
            torch_groups
                .entry(prefix)
                .or_default()
                .push((leaf, t.shape.as_slice()));
        }
        prefixes.sort_by(|a, b| natural_cmp(a, b));
        let mut torch_mods: Vec<(&str, Kind)> = Vec::new();
        for p in &prefixes {
            let g = &torch_groups[p];
            let has = |leaf: &str| g.iter().find(|(l, _)| *l == leaf).map(|(_, s)| *s);
            let kind = if has("running_mean").is_some() && has("running_var").is_some() {
                Kind::BatchNorm
            } else {
                match has("weight").map(|s| s.len()) {
                    Some(2) => Kind::Dense,
                    Some(4) => Kind::Conv2d,
                    Some(3) => Kind::Conv1d,
                    _ => {
                        return Err(Error::config(
                            origin,
                            format!(
                                "cannot map torch module '{p}' ({}) automatically: only nn.Linear, nn.Conv1d/2d and nn.BatchNorm* are; build the NameMap by hand",
                                g.iter().map(|(l, s)| format!("{l} {s:?}")).collect::<Vec<_>>().join(", ")
                            ),
                        ))
                    }
                }
            };
            torch_mods.push((p, kind));
        }
        // stratanet layers, in model order.
        let weights = model.named_weights();
        let mut layer_order: Vec<String> = Vec::new();
        let mut layer_groups: HashMap<String, Vec<(String, Vec<usize>)>> = HashMap::new();
        for (path, w) in &weights {
            let (layer, leaf) = split_last(path, '/');
            if !layer_groups.contains_key(layer) {
                layer_order.push(layer.to_string());
            }
            layer_groups
                .entry(layer.to_string())
                .or_default()
                .push((leaf.to_string(), w.value.shape()));
        }
        let mut layers: Vec<(&str, Kind)> = Vec::new();
        for l in &layer_order {
            let g = &layer_groups[l];
            let has = |leaf: &str| g.iter().find(|(x, _)| x == leaf).map(|(_, s)| s.len());
            let kind = if has("moving_mean").is_some() {
                Kind::BatchNorm
            } else {
                match has("kernel") {
                    Some(2) => Kind::Dense,
                    Some(4) => Kind::Conv2d,
                    Some(3) => Kind::Conv1d,
                    _ => {
                        return Err(Error::config(
                            origin,
                            format!(
                                "cannot map layer '{l}' (weights {}) automatically: only Dense, Conv1D/2D and BatchNormalization are; build the NameMap by hand",
                                g.iter().map(|(x, _)| x.as_str()).collect::<Vec<_>>().join(", ")
                            ),
                        ))
                    }
                }
            };
            layers.push((l, kind));
        }
        let describe_t = || {
            torch_mods
                .iter()
                .map(|(p, k)| format!("{p} ({})", k.torch_name()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let describe_s = || {
            layers
                .iter()
                .map(|(l, _)| l.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut map = NameMap::new();
        let mut conv_channels: Option<usize> = None;
        for ((p, tk), (l, lk)) in torch_mods.iter().zip(&layers) {
            if tk != lk {
                return Err(Error::config(
                    origin,
                    format!(
                        "torch module '{p}' ({}) lines up with layer '{l}' of another kind; torch: [{}]; stratanet: [{}]",
                        tk.torch_name(),
                        describe_t(),
                        describe_s()
                    ),
                ));
            }
            let tname = |leaf: &str| {
                if p.is_empty() {
                    leaf.to_string()
                } else {
                    format!("{p}.{leaf}")
                }
            };
            let g = &torch_groups[p];
            let has = |leaf: &str| g.iter().any(|(x, _)| *x == leaf);
            match tk {
                Kind::Dense => {
                    let layout = match conv_channels.take() {
                        Some(c) if nchw_flatten => Layout::LinearAfterNchwFlatten { channels: c },
                        _ => Layout::Linear,
                    };
                    map = map.map(&tname("weight"), &format!("{l}/kernel"), layout);
                    if has("bias") {
                        map = map.map(&tname("bias"), &format!("{l}/bias"), Layout::Identity);
                    }
                }
                Kind::Conv2d | Kind::Conv1d => {
                    let layout = if *tk == Kind::Conv2d {
                        conv_channels = g.iter().find(|(x, _)| *x == "weight").map(|(_, s)| s[0]);
                        Layout::Conv2d
                    } else {
                        conv_channels = None;
                        Layout::Conv1d
                    };
                    map = map.map(&tname("weight"), &format!("{l}/kernel"), layout);
                    if has("bias") {
                        map = map.map(&tname("bias"), &format!("{l}/bias"), Layout::Identity);
                    }
                }
                Kind::BatchNorm => {
                    for (t, s) in [
                        ("weight", "gamma"),
                        ("bias", "beta"),
                        ("running_mean", "moving_mean"),
                        ("running_var", "moving_variance"),
                    ] {
                        if has(t) {
                            map = map.map(&tname(t), &format!("{l}/{s}"), Layout::Identity);
                        }
                    }
                }
            }
        }
        if torch_mods.len() != layers.len() {
            return Err(Error::config(
                origin,
                format!(
                    "{} torch modules with weights but {} stratanet layers with weights; torch: [{}]; stratanet: [{}]",
                    torch_mods.len(),
                    layers.len(),
                    describe_t(),
                    describe_s()
                ),
            ));
        }
        Ok(map)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let t = HostTensor {
            data: HostData::F32((0..6).map(|x| x as f32).collect()),
            shape: vec![2, 3],
        };
        let l = Layout::Linear.convert("w", &t).unwrap();
        assert_eq!(l.shape, vec![3, 2]);
        assert_eq!(l.data, HostData::F32(vec![0., 3., 1., 4., 2., 5.]));
        // [out=1, c=2, s=3] torch columns c*3+s -> rows s*2+c.
        let t = HostTensor {
            data: HostData::F32((0..6).map(|x| x as f32).collect()),
            shape: vec![1, 6],
        };
        let l = Layout::LinearAfterNchwFlatten { channels: 2 }
            .convert("w", &t)
            .unwrap();
        assert_eq!(l.shape, vec![6, 1]);
        assert_eq!(l.data, HostData::F32(vec![0., 3., 1., 4., 2., 5.]));
        let t = HostTensor {
            data: HostData::F32((0..24).map(|x| x as f32).collect()),
            shape: vec![2, 3, 2, 2],
        };
        let c = Layout::Conv2d.convert("w", &t).unwrap();
        assert_eq!(c.shape, vec![2, 2, 3, 2]);
        // c[kh=0, kw=1, in=2, out=1] = t[1, 2, 0, 1] = 12 + 8 + 1.
        if let HostData::F32(v) = &c.data {
            assert_eq!(v[(2 * 2) + 1 + 3 * 2], 21.0);
        }
        assert!(Layout::Conv2d.convert("w", &l).is_err());
    }

    #[test]
    fn natural_order() {
        let mut v = vec!["10.weight", "2.weight", "1.weight", "fc.bias"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, vec!["1.weight", "2.weight", "10.weight", "fc.bias"]);
    }

    #[test]
    fn half() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    }
}
