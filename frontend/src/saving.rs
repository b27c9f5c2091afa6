//! The `.safetensors` weights format of docs/ARCHITECTURE.md: tensors named by layer path
//! (`dense_1/kernel`), optimizer slots under `optimizer/`, and string metadata in the
//! header (format version, model and training configs). Files load on any engine, and
//! Python's `safetensors` reads them. Writes are atomic: a uniquely named temporary file
//! in the same folder, `fsync`, then `rename`, so a crash mid-save leaves the previous file
//! intact and concurrent saves to one path never collide.

use crate::backend::{Backend, DType, HostData};
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

/// Metadata key holding a 64-bit FNV-1a checksum (hex) over everything else in the file:
/// the other metadata entries, each tensor's name, dtype, shape and bytes. Any flipped or
/// lost byte that changes what the file means is caught on load.
pub const CHECKSUM_KEY: &str = "stratanet_checksum";

struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= x as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Length-delimit fields so that moving bytes between them changes the sum.
        for x in (b.len() as u64).to_le_bytes() {
            self.0 ^= x as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

fn checksum<'a>(
    meta: &HashMap<String, String>,
    tensors: impl Iterator<Item = (&'a str, &'a str, &'a [usize], &'a [u8])>,
) -> String {
    let mut h = Fnv::new();
    let mut keys: Vec<&String> = meta.keys().filter(|k| k.as_str() != CHECKSUM_KEY).collect();
    keys.sort();
    for k in keys {
        h.bytes(k.as_bytes());
        h.bytes(meta[k].as_bytes());
    }
    // By name: the encoder orders tensors in the file by its own rules.
    let mut tensors: Vec<_> = tensors.collect();
    tensors.sort_by(|a, b| a.0.cmp(b.0));
    for (name, dtype, shape, data) in tensors {
        h.bytes(name.as_bytes());
        h.bytes(dtype.as_bytes());
        let dims: Vec<u8> = shape
            .iter()
            .flat_map(|d| (*d as u64).to_le_bytes())
            .collect();
        h.bytes(&dims);
        h.bytes(data);
    }
    format!("{:016x}", h.0)
}

thread_local! {
    static FAIL_AFTER: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Test hook: makes the next [`atomic_write`] on this thread fail after writing `bytes`
/// bytes of the temporary file, as a crash or a full disk would. Used by the tests that
/// prove a failed save leaves the previous file intact.
#[doc(hidden)]
pub fn fail_next_write_after(bytes: usize) {
    FAIL_AFTER.with(|f| f.set(Some(bytes)));
}

pub use crate::data::HostTensor;

/// Named host tensors (in file order) and the header's string metadata.
pub type Loaded = (Vec<(String, HostTensor)>, HashMap<String, String>);

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

fn dtype_name(d: Dtype) -> &'static str {
    match d {
        Dtype::F32 => "F32",
        Dtype::F64 => "F64",
        Dtype::I64 => "I64",
        Dtype::BOOL => "BOOL",
        Dtype::BF16 => "BF16",
        Dtype::F16 => "F16",
        _ => "OTHER",
    }
}

fn st_dtype(d: DType) -> Dtype {
    match d {
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
        DType::I64 => Dtype::I64,
        DType::Bool => Dtype::BOOL,
        DType::BF16 => Dtype::BF16,
        DType::F16 => Dtype::F16,
    }
}

/// Writes `bytes` to `path` atomically: a uniquely named temporary file in the same folder
/// (`tempfile`, so no other writer — thread or process — can pick the same name), `fsync`,
/// rename over `path`, then `fsync` of the folder. Concurrent writers to one path each
/// succeed, and the last rename wins: readers see one complete file or another, never a
/// mix, and no temporary file is left behind.
///
/// # Errors
/// I/O errors naming `path`; the destination is untouched when any step fails.
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
    let result = (|| -> std::io::Result<()> {
        // Removed on drop (any early return below) unless persisted.
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{file_name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)?;
        if let Some(n) = FAIL_AFTER.with(|f| f.take()) {
            tmp.write_all(&bytes[..n.min(bytes.len())])?;
            return Err(std::io::Error::other(
                "simulated failure in the middle of the write",
            ));
        }
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("writing {}: {e}", path.display()),
        ))
    })
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
    let sum = checksum(
        &meta,
        owned.iter().map(|(n, b)| {
            (
                n.as_str(),
                dtype_name(b.dtype),
                b.shape.as_slice(),
                b.data.as_slice(),
            )
        }),
    );
    meta.insert(CHECKSUM_KEY.into(), sum);
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
        Dtype::BF16 | Dtype::F16 => 2,
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
        Dtype::BF16 => HostData::BF16(
            chunks
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]))
                .collect(),
        ),
        Dtype::F16 => HostData::F16(
            chunks
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]))
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
    let mut views = Vec::with_capacity(names.len());
    for (_, name) in &names {
        let view = st
            .tensor(name)
            .map_err(|e| Error::config(origin, format!("tensor '{name}': {e}")))?;
        views.push((name.clone(), view));
    }
    let want = meta.get(CHECKSUM_KEY).ok_or_else(|| {
        Error::config(
            origin,
            format!("no '{CHECKSUM_KEY}' in the header metadata"),
        )
    })?;
    let got = checksum(
        &meta,
        views
            .iter()
            .map(|(n, v)| (n.as_str(), dtype_name(v.dtype()), v.shape(), v.data())),
    );
    if &got != want {
        return Err(Error::config(
            origin,
            format!("corrupted: checksum mismatch (header says {want}, contents give {got})"),
        ));
    }
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
