//! Event files: TFRecord framing of [`Event`] messages, the writer the callback uses and a
//! checking reader.
//!
//! A record is `length` (u64, little-endian), the masked CRC-32C of those 8 bytes (u32 LE),
//! `length` bytes of data, and the masked CRC-32C of the data (u32 LE). The mask is
//! TensorFlow's: `((crc >> 15) | (crc << 17)) + 0xa282ead8` (wrapping).

use super::proto::{event, Event};
use crate::callbacks::history_io::io_error_at;
use crate::error::{Error, Result};
use prost::Message;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The CRC-32C (Castagnoli, `CRC_32_ISCSI`) TFRecord uses.
const CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

/// The `file_version` of the first record of every event file.
pub const FILE_VERSION: &str = "brain.Event:2";

/// The masked CRC-32C of `bytes`, as TFRecord stores it.
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    // TensorFlow's `((crc >> 15) | (crc << 17)) + 0xa282ead8`.
    CRC32C
        .checksum(bytes)
        .rotate_right(15)
        .wrapping_add(0xa282_ead8)
}

/// `data` framed as one TFRecord.
pub fn frame(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
    out
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub(super) fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Distinguishes the files one process opens within the same second.
static FILE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The host name for the file name, reduced to characters that are safe in one.
fn host_name() -> String {
    let host: String = gethostname::gethostname()
        .to_string_lossy()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if host.is_empty() {
        "localhost".into()
    } else {
        host
    }
}

/// Appends framed events to one event file, buffered; [`EventWriter::flush`] pushes them to
/// the file. Every record is framed whole before it is buffered, so the file holds whole
/// records after each flush.
#[derive(Debug)]
pub(super) struct EventWriter {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
}

impl EventWriter {
    /// Creates `dir` if needed and a new event file in it named like TensorFlow's
    /// (`events.out.tfevents.<unix seconds>.<host>.<pid>.<counter>.v2`; never an existing
    /// file), and writes the `file_version` record.
    pub(super) fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| io_error_at(dir, e))?;
        let wall_time = now_secs();
        let (host, pid) = (host_name(), std::process::id());
        let file = loop {
            let n = FILE_COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(
                "events.out.tfevents.{:010}.{host}.{pid}.{n}.v2",
                wall_time as u64
            ));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(f) => break (path, f),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_error_at(&path, e)),
            }
        };
        let mut w = Self {
            path: file.0,
            out: std::io::BufWriter::new(file.1),
        };
        w.write(&Event {
            wall_time,
            step: 0,
            what: Some(event::What::FileVersion(FILE_VERSION.into())),
        })?;
        w.flush()?;
        Ok(w)
    }

    /// The file written.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Buffers one framed event.
    pub(super) fn write(&mut self, event: &Event) -> Result<()> {
        let record = frame(&event.encode_to_vec());
        self.out
            .write_all(&record)
            .map_err(|e| io_error_at(&self.path, e))
    }

    /// Writes the buffered events to the file.
    pub(super) fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| io_error_at(&self.path, e))
    }

    /// Flushes and syncs the file to the disk.
    pub(super) fn close(mut self) -> Result<()> {
        self.flush()?;
        self.out
            .get_ref()
            .sync_all()
            .map_err(|e| io_error_at(&self.path, e))
    }
}

/// The events of one event file, in order, every record's length and CRCs checked.
///
/// ```no_run
/// use stratanet::callbacks::tensorboard::{proto::event::What, read_event_file};
/// # fn main() -> stratanet::Result<()> {
/// let events = read_event_file("logs/train/events.out.tfevents.1700000000.host.1.0.v2")?;
/// assert!(matches!(&events[0].what, Some(What::FileVersion(v)) if v == "brain.Event:2"));
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// I/O errors naming the file; a truncated record, a length or data CRC that does not
/// match, or a record that is not an `Event`, naming the file and the record's byte offset.
pub fn read_event_file(path: impl AsRef<Path>) -> Result<Vec<Event>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_error_at(path, e))?;
    let bad = |offset: usize, what: String| {
        Error::config(
            path.display().to_string(),
            format!("event file record at byte {offset}: {what}"),
        )
    };
    let mut events = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let header = bytes.get(pos..pos + 12).ok_or_else(|| {
            bad(
                pos,
                format!("truncated header ({} bytes)", bytes.len() - pos),
            )
        })?;
        let (len_bytes, len_crc) = header.split_at(8);
        let len_crc = u32::from_le_bytes([len_crc[0], len_crc[1], len_crc[2], len_crc[3]]);
        if masked_crc32c(len_bytes) != len_crc {
            return Err(bad(pos, "length CRC mismatch".into()));
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(len_bytes);
        let len = u64::from_le_bytes(len);
        let start = pos + 12;
        // The length is checked against what the file holds before anything is sliced.
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .and_then(|e| e.checked_add(4))
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| {
                bad(
                    pos,
                    format!(
                        "length {len} runs past the end of the file ({} bytes)",
                        bytes.len()
                    ),
                )
            })?;
        let data = &bytes[start..end - 4];
        let crc = &bytes[end - 4..end];
        if masked_crc32c(data) != u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) {
            return Err(bad(pos, "data CRC mismatch".into()));
        }
        let event =
            Event::decode(data).map_err(|e| bad(pos, format!("not an Event message: {e}")))?;
        events.push(event);
        pos = end;
    }
    Ok(events)
}

/// The event files (names containing `tfevents`, as TensorBoard finds them) directly in
/// `dir`, sorted by name (so in the order they were created, within one process).
///
/// # Errors
/// I/O errors naming the folder.
pub fn event_files(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_error_at(dir, e))? {
        let entry = entry.map_err(|e| io_error_at(dir, e))?;
        if entry.file_name().to_string_lossy().contains("tfevents") {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_and_mask_match_tensorflow() {
        // CRC-32C check value of "123456789" (the catalog's `check`).
        assert_eq!(CRC32C.checksum(b"123456789"), 0xe306_9283);
        // Masked, as TensorBoard's own `masked_crc32c` (its TensorFlow stub) gives it.
        assert_eq!(masked_crc32c(b"123456789"), 0xc78a_b0e5);
        assert_eq!(masked_crc32c(b""), 0xa282_ead8);
        // An empty record: 8 zero length bytes, their CRC, no data, the CRC of nothing.
        let r = frame(&[]);
        assert_eq!(r.len(), 16);
        assert_eq!(&r[..8], &[0; 8]);
        assert_eq!(r[12..16], masked_crc32c(&[]).to_le_bytes());
    }

    #[test]
    fn writes_and_reads_back_and_refuses_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EventWriter::create(&dir.path().join("run")).unwrap();
        w.write(&Event {
            wall_time: 1.5,
            step: 7,
            what: None,
        })
        .unwrap();
        let path = w.path().to_path_buf();
        w.close().unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(name.starts_with("events.out.tfevents.") && name.ends_with(".v2"));
        assert_eq!(
            event_files(dir.path().join("run")).unwrap(),
            vec![path.clone()]
        );
        let events = read_event_file(&path).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0].what,
            Some(event::What::FileVersion(FILE_VERSION.into()))
        );
        assert_eq!((events[1].step, events[1].wall_time), (7, 1.5));

        let good = std::fs::read(&path).unwrap();
        let check = |bytes: &[u8], needle: &str| {
            std::fs::write(&path, bytes).unwrap();
            let e = read_event_file(&path).unwrap_err().to_string();
            assert!(e.contains(needle) && e.contains(&name), "{e}");
        };
        let mut flipped = good.clone();
        let last = flipped.len() - 6;
        flipped[last] ^= 1;
        check(&flipped, "data CRC mismatch");
        let mut bad_len = good.clone();
        bad_len[0] ^= 1;
        check(&bad_len, "length CRC mismatch");
        check(&good[..good.len() - 3], "runs past the end");
        check(&good[..good.len() - 20], "truncated header");
        // A huge length with a valid length CRC.
        let mut huge = (u64::MAX).to_le_bytes().to_vec();
        huge.extend_from_slice(&masked_crc32c(&huge).to_le_bytes());
        check(&huge, "runs past the end");
        // A valid frame around bytes that are not an Event.
        check(&frame(&[0xff, 0xff, 0xff]), "not an Event");
    }
}
