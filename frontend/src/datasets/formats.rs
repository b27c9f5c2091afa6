//! Readers for the original file formats of the Keras datasets: gzip-compressed IDX files
//! (MNIST family), the CIFAR-10 binary tarball, and `.npz` archives of `.npy` arrays
//! (numeric, and the numpy object arrays of `imdb.npz`, see [`super::pickle`]).
//!
//! A file is hostile until checked, even with a valid checksum (a mirror or an
//! [`expect_hash`](super::DatasetSource::expect_hash) override can serve anything): every
//! decompressed stream is capped at [`MAX_DECODED_BYTES`], every size a header declares is
//! checked with checked arithmetic against the bytes that are really there before anything
//! is allocated for it, and every malformed input is an [`Error::Config`] naming the file.

use super::pickle;
use crate::error::{Error, Result};
use crate::limits::checked_numel;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// The most bytes one decompressed file, archive member or tar entry may hold: 1 GiB (the
/// largest real one, a CIFAR batch, holds 30,730,000; `x_train` of `imdb.npz` about 50 MB).
pub const MAX_DECODED_BYTES: u64 = 1 << 30;

/// The longest `.npy` header accepted (numpy writes 128 bytes or a little more).
const MAX_NPY_HEADER: usize = 1 << 16;

pub(crate) fn bad(origin: impl Into<String>, message: impl Into<String>) -> Error {
    Error::config(origin, message)
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| bad(path.display().to_string(), format!("cannot open: {e}")))
}

/// Reads all of `reader`, refusing more than `limit` bytes ([`MAX_DECODED_BYTES`]).
fn read_capped(reader: impl Read, origin: &str, limit: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| bad(origin, format!("cannot read or decompress: {e}")))?;
    if out.len() as u64 > limit {
        return Err(bad(
            origin,
            format!("decompresses to more than {limit} bytes"),
        ));
    }
    Ok(out)
}

/// The decompressed contents of the gzip file at `path`.
pub(crate) fn read_gz(path: &Path) -> Result<Vec<u8>> {
    let origin = path.display().to_string();
    let gz = flate2::read::GzDecoder::new(BufReader::new(open(path)?));
    read_capped(gz, &origin, MAX_DECODED_BYTES)
}

/// An IDX file of unsigned bytes (type code `0x08`) with `ndim` dimensions: its shape and
/// values.
pub(crate) fn idx_u8<'a>(
    bytes: &'a [u8],
    origin: &str,
    ndim: usize,
) -> Result<(Vec<usize>, &'a [u8])> {
    if bytes.len() < 4 {
        return Err(bad(
            origin,
            format!(
                "not an IDX file: {} bytes, shorter than the magic",
                bytes.len()
            ),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad(
            origin,
            format!(
                "not an IDX file: the magic starts {:02x} {:02x}, expected 00 00",
                bytes[0], bytes[1]
            ),
        ));
    }
    if bytes[2] != 0x08 {
        return Err(bad(
            origin,
            format!(
                "IDX type code 0x{:02x} is not 0x08 (unsigned byte)",
                bytes[2]
            ),
        ));
    }
    if bytes[3] as usize != ndim {
        return Err(bad(
            origin,
            format!("IDX file has {} dimensions, expected {ndim}", bytes[3]),
        ));
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(bad(
            origin,
            format!(
                "truncated IDX header: {} bytes, needs {header}",
                bytes.len()
            ),
        ));
    }
    let shape: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let n = checked_numel(origin, "IDX dimensions", &shape)?;
    let data = &bytes[header..];
    if data.len() != n {
        return Err(bad(
            origin,
            format!(
                "IDX dimensions {shape:?} need {n} bytes of data, the file holds {}",
                data.len()
            ),
        ));
    }
    Ok((shape, data))
}

/// A numeric or object array read from a `.npy` member.
#[derive(Debug)]
pub(crate) enum Npy {
    /// `|u1` values.
    U8(Vec<usize>, Vec<u8>),
    /// Any other integer dtype, widened.
    Int(Vec<usize>, Vec<i64>),
    /// A one-dimensional object array of integer lists.
    Lists(Vec<Vec<i64>>),
}

/// The `.npz` archive at `path`.
pub(crate) struct Npz {
    archive: zip::ZipArchive<BufReader<File>>,
    origin: String,
}

impl Npz {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let origin = path.display().to_string();
        let archive = zip::ZipArchive::new(BufReader::new(open(path)?))
            .map_err(|e| bad(&origin, format!("not a valid .npz (zip) archive: {e}")))?;
        Ok(Self { archive, origin })
    }

    /// The array `name` (the member `name.npy`).
    pub(crate) fn array(&mut self, name: &str) -> Result<Npy> {
        let member = format!("{name}.npy");
        let origin = format!("{}:{member}", self.origin);
        let file = self.archive.by_name(&member).map_err(|e| {
            bad(
                &self.origin,
                format!("cannot read the array '{name}' ({member}): {e}"),
            )
        })?;
        if file.size() > MAX_DECODED_BYTES {
            return Err(bad(
                &origin,
                format!(
                    "declares {} bytes; the limit is {MAX_DECODED_BYTES}",
                    file.size()
                ),
            ));
        }
        let bytes = read_capped(file, &origin, MAX_DECODED_BYTES)?;
        npy(&bytes, &origin)
    }
}

/// Parses one `.npy` file.
pub(crate) fn npy(bytes: &[u8], origin: &str) -> Result<Npy> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad(origin, "not a .npy array (bad magic)"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => {
            return Err(bad(
                origin,
                format!(".npy format version {v} is not supported"),
            ))
        }
    };
    if header_len > MAX_NPY_HEADER || start + header_len > bytes.len() {
        return Err(bad(
            origin,
            format!(
                ".npy header of {header_len} bytes does not fit in the {} bytes of the file",
                bytes.len()
            ),
        ));
    }
    let header = std::str::from_utf8(&bytes[start..start + header_len])
        .map_err(|_| bad(origin, ".npy header is not text"))?;
    let data = &bytes[start + header_len..];
    let descr = header_string(header, "descr")
        .ok_or_else(|| bad(origin, format!(".npy header without 'descr': {header:?}")))?;
    let fortran = header_word(header, "fortran_order");
    let shape = header_shape(header).ok_or_else(|| {
        bad(
            origin,
            format!(".npy header without a valid 'shape': {header:?}"),
        )
    })?;
    if fortran != Some("False") && shape.len() > 1 {
        return Err(bad(
            origin,
            format!("Fortran-ordered (or unreadable fortran_order) arrays are not supported: {header:?}"),
        ));
    }
    let n = checked_numel(origin, "shape", &shape)?;
    if descr == "|O" || descr == "<O" {
        if shape.len() != 1 {
            return Err(bad(
                origin,
                format!("object array of shape {shape:?}, expected one dimension"),
            ));
        }
        let lists = pickle::object_array_of_int_lists(data, origin)?;
        if lists.len() != n {
            return Err(bad(
                origin,
                format!(
                    "header shape {shape:?}, the pickle holds {} elements",
                    lists.len()
                ),
            ));
        }
        return Ok(Npy::Lists(lists));
    }
    let (width, signed) = match descr {
        "|u1" => (1, false),
        "|i1" => (1, true),
        "<u2" => (2, false),
        "<i2" => (2, true),
        "<u4" => (4, false),
        "<i4" => (4, true),
        "<i8" => (8, true),
        _ => {
            return Err(bad(
                origin,
                format!("dtype '{descr}' is not supported (expected integers or objects)"),
            ))
        }
    };
    let need = n
        .checked_mul(width)
        .ok_or_else(|| bad(origin, format!("shape {shape:?} is too large")))?;
    if data.len() != need {
        return Err(bad(
            origin,
            format!(
                "shape {shape:?} of '{descr}' needs {need} bytes of data, the file holds {}",
                data.len()
            ),
        ));
    }
    if width == 1 && !signed {
        return Ok(Npy::U8(shape, data.to_vec()));
    }
    let values = data
        .chunks_exact(width)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..width].copy_from_slice(c);
            if signed && c[width - 1] & 0x80 != 0 {
                b[width..].fill(0xff);
            }
            i64::from_le_bytes(b)
        })
        .collect();
    Ok(Npy::Int(shape, values))
}

/// The text after `'key':` in a `.npy` header.
fn after_key<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = &header[at + key.len() + 2..];
    Some(rest.trim_start().strip_prefix(':')?.trim_start())
}

fn header_string<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let rest = after_key(header, key)?;
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let rest = &rest[1..];
    Some(&rest[..rest.find(quote)?])
}

fn header_word<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let rest = after_key(header, key)?;
    let end = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

fn header_shape(header: &str) -> Option<Vec<usize>> {
    let rest = after_key(header, "shape")?.strip_prefix('(')?;
    let inner = &rest[..rest.find(')')?];
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse().ok())
        .collect()
}

/// The bytes of one CIFAR-10 record: a label byte, then 3 x 32 x 32 pixels (red plane,
/// green plane, blue plane, each row-major).
pub(crate) const CIFAR_RECORD: usize = 1 + 3 * 32 * 32;

/// The records of `data_batch_1.bin` ... `data_batch_5.bin` (concatenated in that order)
/// and of `test_batch.bin` from the CIFAR-10 binary tarball at `path`.
pub(crate) fn cifar10_binary(path: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    let origin = path.display().to_string();
    let gz = flate2::read::GzDecoder::new(BufReader::new(open(path)?));
    let mut archive = tar::Archive::new(gz);
    let mut batches: [Option<Vec<u8>>; 6] = Default::default();
    let entries = archive
        .entries()
        .map_err(|e| bad(&origin, format!("not a tar.gz archive: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| bad(&origin, format!("corrupt tar.gz archive: {e}")))?;
        let name = entry
            .path()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let slot = match name.as_str() {
            "data_batch_1.bin" => 0,
            "data_batch_2.bin" => 1,
            "data_batch_3.bin" => 2,
            "data_batch_4.bin" => 3,
            "data_batch_5.bin" => 4,
            "test_batch.bin" => 5,
            _ => continue,
        };
        let member = format!("{origin}:{name}");
        let declared = entry.header().size().unwrap_or(u64::MAX);
        if declared > MAX_DECODED_BYTES {
            return Err(bad(
                &member,
                format!("declares {declared} bytes; the limit is {MAX_DECODED_BYTES}"),
            ));
        }
        let bytes = read_capped(entry, &member, MAX_DECODED_BYTES)?;
        if bytes.is_empty() || bytes.len() % CIFAR_RECORD != 0 {
            return Err(bad(
                &member,
                format!(
                    "{} bytes is not a whole number of {CIFAR_RECORD}-byte records",
                    bytes.len()
                ),
            ));
        }
        if let Some(r) = bytes.chunks_exact(CIFAR_RECORD).position(|r| r[0] > 9) {
            return Err(bad(
                &member,
                format!(
                    "record {r} has label {}, expected 0..=9",
                    bytes[r * CIFAR_RECORD]
                ),
            ));
        }
        if batches[slot].is_some() {
            return Err(bad(&member, "appears twice in the archive"));
        }
        batches[slot] = Some(bytes);
    }
    let names = [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
    ];
    if let Some(k) = batches.iter().position(Option::is_none) {
        return Err(bad(
            &origin,
            format!(
                "the archive has no {} (expected cifar-10-batches-bin/{})",
                names[k], names[k]
            ),
        ));
    }
    let [b1, b2, b3, b4, b5, test] = batches.map(Option::unwrap_or_default);
    let mut train = b1;
    for b in [b2, b3, b4, b5] {
        train.extend_from_slice(&b);
    }
    Ok((train, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            v.extend(d.to_be_bytes());
        }
        v.extend(data);
        v
    }

    #[test]
    fn decompression_is_capped() {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&[0u8; 100_000]).unwrap();
        let gz = e.finish().unwrap();
        let read = |limit| read_capped(flate2::read::GzDecoder::new(&gz[..]), "bomb.gz", limit);
        assert_eq!(read(100_000).unwrap().len(), 100_000);
        let e = read(99_999).unwrap_err().to_string();
        assert!(
            e.contains("bomb.gz") && e.contains("more than 99999 bytes"),
            "{e}"
        );
    }

    #[test]
    fn idx_reads_shape_and_values() {
        let bytes = idx(&[2, 1, 3], &[1, 2, 3, 4, 5, 6]);
        let (shape, data) = idx_u8(&bytes, "t", 3).unwrap();
        assert_eq!(shape, [2, 1, 3]);
        assert_eq!(data, [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn idx_refuses_malformed_files() {
        let good = idx(&[2, 3], &[1, 2, 3, 4, 5, 6]);
        for n in 0..good.len() {
            assert!(idx_u8(&good[..n], "t", 2).is_err(), "{n}");
        }
        let mut magic = good.clone();
        magic[0] = 0x1f;
        assert!(idx_u8(&magic, "t", 2)
            .unwrap_err()
            .to_string()
            .contains("magic"));
        let mut ty = good.clone();
        ty[2] = 0x0d;
        assert!(idx_u8(&ty, "t", 2)
            .unwrap_err()
            .to_string()
            .contains("0x0d"));
        assert!(idx_u8(&good, "t", 3).is_err());
        let huge = idx(&[u32::MAX, u32::MAX, u32::MAX], &[0; 8]);
        assert!(idx_u8(&huge, "t", 3).is_err());
    }

    fn npy_bytes(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend((header.len() as u16).to_le_bytes());
        v.extend(header.as_bytes());
        v.extend(data);
        v
    }

    #[test]
    fn npy_reads_integer_arrays() {
        match npy(&npy_bytes("|u1", "(2, 2)", &[1, 2, 3, 255]), "t").unwrap() {
            Npy::U8(shape, v) => assert_eq!((shape, v), (vec![2, 2], vec![1, 2, 3, 255])),
            other => panic!("{other:?}"),
        }
        let data: Vec<u8> = [-1i64, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        match npy(&npy_bytes("<i8", "(2,)", &data), "t").unwrap() {
            Npy::Int(shape, v) => assert_eq!((shape, v), (vec![2], vec![-1, 7])),
            other => panic!("{other:?}"),
        }
        let data: Vec<u8> = [-2i32, 9].iter().flat_map(|v| v.to_le_bytes()).collect();
        match npy(&npy_bytes("<i4", "(2,)", &data), "t").unwrap() {
            Npy::Int(_, v) => assert_eq!(v, [-2, 9]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn npy_refuses_malformed_arrays() {
        let good = npy_bytes("|u1", "(2, 2)", &[1, 2, 3, 4]);
        for n in 0..good.len() {
            assert!(npy(&good[..n], "t").is_err(), "{n}");
        }
        for bad in [
            npy_bytes("<f4", "(1,)", &[0; 4]),
            npy_bytes(">i8", "(1,)", &[0; 8]),
            npy_bytes("|u1", "(4294967295, 4294967295, 4294967295)", &[0; 4]),
            npy_bytes("|u1", "(3,)", &[0; 4]),
            npy_bytes("|u1", "(x,)", &[0; 4]),
            npy_bytes("|O", "(1, 1)", &[0; 4]),
            npy_bytes("|O", "(1,)", b"\x80\x02."),
        ] {
            assert!(npy(&bad, "t").is_err());
        }
    }
}
