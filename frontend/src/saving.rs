//! The `.safetensors` weights format of DESIGN.md: tensors named by layer path
//! (`dense_1/kernel`), optimizer slots under `optimizer/`, and string metadata in the
//! header (format version, model and training configs). Files load on any engine, and
//! Python's `safetensors` reads them. Writes are atomic: a temporary file in the same
//! folder, `fsync`, then `rename`, so a crash mid-save leaves the previous file intact.

use crate::backend::{Backend, DType, Device, HostData};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use safetensors::{Dtype, SafeTensors, View};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// Version of the file layout written by this build. Files with a larger version are
/// refused with a clear error.
pub const FORMAT_VERSION: u32 = 1;

/// Metadata key holding [`FORMAT_VERSION`].
pub const VERSION_KEY: &str = "stratanet_format_version";

/// Named host tensors (in file order) and the header's string metadata.
pub type Loaded = (Vec<(String, HostTensor)>, HashMap<String, String>);

/// A tensor's contents on the host, engine-independent.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Values, row-major.
    pub data: HostData,
    /// Dimensions.
    pub shape: Vec<usize>,
}

impl HostTensor {
    /// Copies a tensor to the host.
    ///
    /// # Errors
    /// On engine errors.
    pub fn from_tensor<B: Backend>(t: &Tensor<B>) -> Result<Self> {
        Ok(Self {
            data: t.to_host()?,
            shape: t.shape(),
        })
    }

    /// Uploads to `device` on engine `B`.
    ///
    /// # Errors
    /// On engine errors.
    pub fn to_tensor<B: Backend>(&self, device: Device) -> Result<Tensor<B>> {
        Tensor::from_host(self.data.clone(), &self.shape, device)
    }

    fn bytes(&self) -> Vec<u8> {
        match &self.data {
            HostData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            HostData::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            HostData::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            HostData::Bool(v) => v.iter().map(|&b| b as u8).collect(),
        }
    }
}

struct Bytes {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &Bytes {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn st_dtype(d: DType) -> Dtype {
    match d {
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
        DType::I64 => Dtype::I64,
        DType::Bool => Dtype::BOOL,
    }
}

/// Writes `bytes` to `path` atomically (temporary file + fsync + rename + directory fsync).
///
/// # Errors
/// I/O errors; the destination is untouched when any step fails.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::config(path.display().to_string(), "not a file path"))?
        .to_string_lossy()
        .to_string();
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Io(std::io::Error::new(
            e.kind(),
            format!("writing {}: {e}", path.display()),
        )));
    }
    Ok(())
}

/// Serialises named host tensors and string metadata (the format version is added).
///
/// # Errors
/// When the safetensors encoder refuses the data (e.g. duplicate names).
pub fn to_bytes(
    tensors: &[(String, HostTensor)],
    metadata: &HashMap<String, String>,
) -> Result<Vec<u8>> {
    let mut meta = metadata.clone();
    meta.insert(VERSION_KEY.into(), FORMAT_VERSION.to_string());
    let owned: Vec<(String, Bytes)> = tensors
        .iter()
        .map(|(n, t)| {
            (
                n.clone(),
                Bytes {
                    dtype: st_dtype(t.data.dtype()),
                    shape: t.shape.clone(),
                    data: t.bytes(),
                },
            )
        })
        .collect();
    safetensors::serialize(owned.iter().map(|(n, b)| (n.as_str(), b)), Some(meta))
        .map_err(|e| Error::config("safetensors", format!("could not serialise: {e}")))
}

/// Writes named tensors and metadata to `path` atomically.
///
/// # Errors
/// Engine, encoding or I/O errors.
pub fn save_tensors<B: Backend>(
    path: &Path,
    tensors: &[(String, Tensor<B>)],
    metadata: &HashMap<String, String>,
) -> Result<()> {
    let host: Vec<(String, HostTensor)> = tensors
        .iter()
        .map(|(n, t)| Ok((n.clone(), HostTensor::from_tensor(t)?)))
        .collect::<Result<_>>()?;
    atomic_write(path, &to_bytes(&host, metadata)?)
}

fn decode(
    name: &str,
    dtype: Dtype,
    shape: &[usize],
    data: &[u8],
    origin: &str,
) -> Result<HostTensor> {
    let n: usize = shape.iter().product();
    let bad = |what: &str| Error::config(origin.to_string(), format!("tensor '{name}': {what}"));
    let width = match dtype {
        Dtype::F32 => 4,
        Dtype::F64 | Dtype::I64 => 8,
        Dtype::BOOL => 1,
        other => return Err(bad(&format!("unsupported dtype {other:?}"))),
    };
    if data.len() != n * width {
        return Err(bad(&format!("{} bytes for shape {shape:?}", data.len())));
    }
    let chunks = data.chunks_exact(width);
    let data = match dtype {
        Dtype::F32 => HostData::F32(
            chunks
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        Dtype::F64 => HostData::F64(
            chunks
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
        Dtype::I64 => HostData::I64(
            chunks
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
        _ => HostData::Bool(data.iter().map(|&b| b != 0).collect()),
    };
    Ok(HostTensor {
        data,
        shape: shape.to_vec(),
    })
}

/// Parses a safetensors buffer into named host tensors (in file order) and metadata.
///
/// # Errors
/// [`Error::Config`] naming `origin` for anything malformed, truncated, foreign (not
/// written by stratanet) or from a newer format version. Never panics.
pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Loaded> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::config(origin, format!("not a valid safetensors file ({e})")))?;
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::config(origin, format!("not a valid safetensors file ({e})")))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let version: u32 = meta
        .get(VERSION_KEY)
        .ok_or_else(|| {
            Error::config(
                origin,
                format!("not a stratanet file (no '{VERSION_KEY}' in the header metadata)"),
            )
        })?
        .parse()
        .map_err(|_| Error::config(origin, format!("malformed '{VERSION_KEY}'")))?;
    if version > FORMAT_VERSION {
        return Err(Error::config(
            origin,
            format!("written by a newer stratanet (format version {version}; this build reads up to {FORMAT_VERSION})"),
        ));
    }
    let mut names: Vec<(usize, String)> = header
        .tensors()
        .into_iter()
        .map(|(n, info)| (info.data_offsets.0, n))
        .collect();
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for (_, name) in names {
        let view = st
            .tensor(&name)
            .map_err(|e| Error::config(origin, format!("tensor '{name}': {e}")))?;
        out.push((
            name.clone(),
            decode(&name, view.dtype(), view.shape(), view.data(), origin)?,
        ));
    }
    Ok((out, meta))
}

/// Reads a file written by [`save_tensors`].
///
/// # Errors
/// As [`from_bytes`], plus I/O errors naming the path.
pub fn load_file(path: &Path) -> Result<Loaded> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("reading {}: {e}", path.display()),
        ))
    })?;
    from_bytes(&bytes, &path.display().to_string())
}

/// Copies `loaded` values into `targets` (parameter handles, in place), matching by name.
///
/// # Errors
/// [`Error::Config`] listing every missing, unexpected and mis-shaped tensor; nothing is
/// written unless everything matches.
pub fn assign_by_name<B: Backend>(
    targets: &[(String, Tensor<B>)],
    loaded: &[(String, HostTensor)],
    origin: &str,
) -> Result<()> {
    let by_name: HashMap<&str, &HostTensor> = loaded.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let wanted: std::collections::HashSet<&str> = targets.iter().map(|(n, _)| n.as_str()).collect();
    let mut missing = Vec::new();
    let mut misshaped = Vec::new();
    for (name, t) in targets {
        match by_name.get(name.as_str()) {
            None => missing.push(name.clone()),
            Some(h) if h.shape != t.shape() => misshaped.push(format!(
                "{name} (model {:?}, file {:?})",
                t.shape(),
                h.shape
            )),
            Some(_) => {}
        }
    }
    let unexpected: Vec<String> = loaded
        .iter()
        .map(|(n, _)| n)
        .filter(|n| !wanted.contains(n.as_str()))
        .cloned()
        .collect();
    if !missing.is_empty() || !unexpected.is_empty() || !misshaped.is_empty() {
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(format!("missing: {}", missing.join(", ")));
        }
        if !unexpected.is_empty() {
            parts.push(format!("unexpected: {}", unexpected.join(", ")));
        }
        if !misshaped.is_empty() {
            parts.push(format!("mis-shaped: {}", misshaped.join(", ")));
        }
        return Err(Error::config(
            origin,
            format!("weights do not match the model; {}", parts.join("; ")),
        ));
    }
    for (name, t) in targets {
        let h = by_name[name.as_str()];
        let v = h.to_tensor::<B>(t.device())?.to_dtype(t.dtype())?;
        t.assign(&v)?;
    }
    Ok(())
}
