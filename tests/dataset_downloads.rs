//! The dataset loaders (`datasets::mnist()` ...) against a local HTTP/1.1 server on
//! 127.0.0.1 serving small files made here in the real formats: download, cache, checksum
//! failure, resuming a partial download with a `Range` request, and hostile contents. No
//! test needs the internet.
//!
//! `imdb_matches_keras` (needs Python) compares `imdb()` with Keras' own `load_data` on an
//! `.npz` written by numpy.

#![cfg(feature = "download")]

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Cursor, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use stratanet::data::HostTensor;
use stratanet::datasets::{DatasetSource, ImdbOptions, TrainTest};
use stratanet::HostData;

// ---------------------------------------------------------------------------------------
// A tiny HTTP/1.1 server: GET only, `Range: bytes=N-`, one request per connection.

#[derive(Default)]
struct State {
    files: HashMap<String, Vec<u8>>,
    /// `(path, Range header)` of every request, in order.
    log: Vec<(String, Option<String>)>,
    /// Answer range requests with the whole file (`200`), as servers without range support do.
    ignore_range: bool,
    /// Close the connection after this many body bytes of the next response.
    cut_next_after: Option<usize>,
}

struct Server {
    url: String,
    state: Arc<Mutex<State>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = handle(stream, &shared);
            }
        });
        Server { url, state }
    }

    fn serve(&self, name: &str, bytes: Vec<u8>) {
        self.state
            .lock()
            .unwrap()
            .files
            .insert(format!("/{name}"), bytes);
    }

    fn log(&self) -> Vec<(String, Option<String>)> {
        self.state.lock().unwrap().log.clone()
    }

    fn source(&self, dir: &Path) -> DatasetSource {
        DatasetSource::new(dir).base_url(&self.url).progress(false)
    }
}

fn handle(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut range = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("range") {
                range = Some(v.trim().to_string());
            }
        }
    }
    let mut st = state.lock().unwrap();
    st.log.push((path.clone(), range.clone()));
    let mut out = stream;
    let Some(file) = st.files.get(&path).cloned() else {
        return out.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    };
    let start = range.filter(|_| !st.ignore_range).and_then(|r| {
        r.strip_prefix("bytes=")?
            .strip_suffix('-')?
            .parse::<usize>()
            .ok()
    });
    let (status, body, extra) = match start {
        Some(s) if s >= file.len() => {
            let h = format!("Content-Range: bytes */{}\r\n", file.len());
            ("416 Range Not Satisfiable", Vec::new(), h)
        }
        Some(s) => {
            let h = format!(
                "Content-Range: bytes {s}-{}/{}\r\n",
                file.len() - 1,
                file.len()
            );
            ("206 Partial Content", file[s..].to_vec(), h)
        }
        None => ("200 OK", file, String::new()),
    };
    let cut = st.cut_next_after.take();
    drop(st);
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    )?;
    out.write_all(&body[..cut.unwrap_or(body.len()).min(body.len())])?;
    out.flush()
}

// ---------------------------------------------------------------------------------------
// Files in the real formats.

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    v.extend(data);
    v
}

/// A `.npy` file (format 1.0) with `descr`, `shape` (Python tuple text) and raw data.
fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
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

/// The pickle numpy (< 2, protocol 3) writes for a one-dimensional object array of integer
/// lists: `_reconstruct(ndarray, (0,), b'b')` with the state
/// `(1, (n,), dtype('O8'), False, [list, ...])`.
fn pickle_object_array(lists: &[Vec<i64>]) -> Vec<u8> {
    fn int(v: &mut Vec<u8>, x: i64) {
        if let Ok(x) = i32::try_from(x) {
            v.push(b'J');
            v.extend(x.to_le_bytes());
        } else {
            v.extend([0x8a, 8]);
            v.extend(x.to_le_bytes());
        }
    }
    let mut v = b"\x80\x03cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00\x85q\x02C\x01bq\x03\x87q\x04Rq\x05(K\x01".to_vec();
    int(&mut v, lists.len() as i64);
    v.extend(b"\x85q\x06cnumpy\ndtype\nq\x07X\x02\x00\x00\x00O8q\x08\x89\x88\x87q\tRq\n(K\x03X\x01\x00\x00\x00|q\x0bNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tq\x0cb\x89]q\r(");
    for list in lists {
        v.push(b']');
        if !list.is_empty() {
            v.push(b'(');
            for &x in list {
                int(&mut v, x);
            }
            v.push(b'e');
        }
    }
    v.extend(b"etq\x0eb.");
    v
}

/// An `.npz` archive (deflate-compressed, as `np.savez_compressed` writes) of `.npy` files.
fn npz(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        w.start_file(format!("{name}.npy"), options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A `.tar.gz` of `(path, bytes)` entries.
fn tar_gz(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, bytes) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, &bytes[..]).unwrap();
    }
    gzip(&b.into_inner().unwrap())
}

/// `n` images of `h x w` pixels whose values encode their position.
fn images(n: usize, h: usize, w: usize, salt: usize) -> Vec<u8> {
    (0..n * h * w)
        .map(|i| ((i * 7 + salt) % 251) as u8)
        .collect()
}

fn f32s(t: &HostTensor) -> &[f32] {
    match &t.data {
        HostData::F32(v) => v,
        other => panic!("expected f32, got {other:?}"),
    }
}

fn i64s(t: &HostTensor) -> &[i64] {
    match &t.data {
        HostData::I64(v) => v,
        other => panic!("expected i64, got {other:?}"),
    }
}

fn as_f32(v: &[u8]) -> Vec<f32> {
    v.iter().map(|&b| b as f32).collect()
}

/// A small `mnist.npz`: 3 training and 2 test images of 28 x 28.
fn mnist_npz() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (x_train, x_test) = (images(3, 28, 28, 1), images(2, 28, 28, 2));
    let bytes = npz(&[
        ("x_train", npy("|u1", "(3, 28, 28)", &x_train)),
        ("y_train", npy("|u1", "(3,)", &[5, 0, 4])),
        ("x_test", npy("|u1", "(2, 28, 28)", &x_test)),
        ("y_test", npy("|u1", "(2,)", &[7, 2])),
    ]);
    (bytes, x_train, x_test)
}

fn check_mnist(data: &TrainTest<HostTensor>, x_train: &[u8], x_test: &[u8]) {
    let ((xtr, ytr), (xte, yte)) = data;
    assert_eq!(xtr.shape, [3, 28, 28]);
    assert_eq!(f32s(xtr), as_f32(x_train));
    assert_eq!(
        (ytr.shape.as_slice(), i64s(ytr)),
        (&[3][..], &[5, 0, 4][..])
    );
    assert_eq!(xte.shape, [2, 28, 28]);
    assert_eq!(f32s(xte), as_f32(x_test));
    assert_eq!(i64s(yte), [7, 2]);
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------

#[test]
fn mnist_is_downloaded_once_parsed_and_then_read_from_the_cache() {
    let server = Server::start();
    let (bytes, x_train, x_test) = mnist_npz();
    let hash = sha256(&bytes);
    server.serve("mnist.npz", bytes.clone());
    let dir = tempfile::tempdir().unwrap();
    let source = server.source(dir.path()).expect_hash("mnist.npz", &hash);

    check_mnist(&source.mnist().unwrap(), &x_train, &x_test);
    assert_eq!(server.log(), [("/mnist.npz".to_string(), None)]);
    assert_eq!(files_in(dir.path()), ["mnist.npz"]);
    assert_eq!(std::fs::read(dir.path().join("mnist.npz")).unwrap(), bytes);

    // the second call reads the cache: no request
    check_mnist(&source.mnist().unwrap(), &x_train, &x_test);
    assert_eq!(server.log().len(), 1);
}

#[test]
fn a_checksum_mismatch_is_an_error_naming_the_file_and_both_hashes() {
    let server = Server::start();
    let (bytes, _, _) = mnist_npz();
    let actual = sha256(&bytes);
    server.serve("mnist.npz", bytes);
    let dir = tempfile::tempdir().unwrap();
    let wrong = "0".repeat(64);
    let e = server
        .source(dir.path())
        .expect_hash("mnist.npz", &wrong)
        .mnist()
        .unwrap_err()
        .to_string();
    assert!(e.contains("mnist.npz"), "{e}");
    assert!(e.contains(&wrong) && e.contains(&actual), "{e}");
    assert!(e.contains(&server.url), "{e}");
    // nothing is left that looks complete (nor a part to resume)
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
}

#[test]
fn the_pinned_hash_is_used_without_an_override() {
    // A mirror serving other bytes than the real mnist.npz fails Keras' pinned SHA-256.
    let server = Server::start();
    server.serve("mnist.npz", mnist_npz().0);
    let dir = tempfile::tempdir().unwrap();
    let e = server.source(dir.path()).mnist().unwrap_err().to_string();
    assert!(
        e.contains("731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"),
        "{e}"
    );
}

#[test]
fn an_interrupted_download_is_resumed_with_a_range_request() {
    let server = Server::start();
    let (bytes, x_train, x_test) = mnist_npz();
    let hash = sha256(&bytes);
    server.serve("mnist.npz", bytes.clone());
    server.state.lock().unwrap().cut_next_after = Some(1000);
    let dir = tempfile::tempdir().unwrap();
    let source = server.source(dir.path()).expect_hash("mnist.npz", &hash);

    let e = source.mnist().unwrap_err().to_string();
    assert!(
        e.contains("interrupted") && e.contains("mnist.npz.part"),
        "{e}"
    );
    assert_eq!(files_in(dir.path()), ["mnist.npz.part"]);
    assert_eq!(
        std::fs::read(dir.path().join("mnist.npz.part")).unwrap(),
        &bytes[..1000]
    );

    check_mnist(&source.mnist().unwrap(), &x_train, &x_test);
    assert_eq!(
        server.log(),
        [
            ("/mnist.npz".to_string(), None),
            ("/mnist.npz".to_string(), Some("bytes=1000-".to_string())),
        ]
    );
    assert_eq!(files_in(dir.path()), ["mnist.npz"]);
    assert_eq!(std::fs::read(dir.path().join("mnist.npz")).unwrap(), bytes);
}

#[test]
fn a_server_ignoring_range_restarts_the_download() {
    let server = Server::start();
    let (bytes, x_train, x_test) = mnist_npz();
    let hash = sha256(&bytes);
    server.serve("mnist.npz", bytes.clone());
    server.state.lock().unwrap().ignore_range = true;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mnist.npz.part"), &bytes[..777]).unwrap();
    let source = server.source(dir.path()).expect_hash("mnist.npz", &hash);

    check_mnist(&source.mnist().unwrap(), &x_train, &x_test);
    assert_eq!(
        server.log(),
        [("/mnist.npz".to_string(), Some("bytes=777-".to_string()))]
    );
    assert_eq!(std::fs::read(dir.path().join("mnist.npz")).unwrap(), bytes);
}

#[test]
fn a_stale_part_is_discarded_and_the_download_restarted() {
    // The kept part is not a prefix of the file: the resumed download fails the check,
    // and the file is fetched once more from the beginning.
    let server = Server::start();
    let (bytes, x_train, x_test) = mnist_npz();
    let hash = sha256(&bytes);
    server.serve("mnist.npz", bytes.clone());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mnist.npz.part"), vec![0xAB; 500]).unwrap();
    let source = server.source(dir.path()).expect_hash("mnist.npz", &hash);

    check_mnist(&source.mnist().unwrap(), &x_train, &x_test);
    assert_eq!(
        server.log(),
        [
            ("/mnist.npz".to_string(), Some("bytes=500-".to_string())),
            ("/mnist.npz".to_string(), None),
        ]
    );
    assert_eq!(files_in(dir.path()), ["mnist.npz"]);
}

#[test]
fn a_part_longer_than_the_file_is_restarted_after_416() {
    let server = Server::start();
    let (bytes, x_train, x_test) = mnist_npz();
    let hash = sha256(&bytes);
    server.serve("mnist.npz", bytes.clone());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mnist.npz.part"), vec![1; bytes.len() + 10]).unwrap();
    let source = server.source(dir.path()).expect_hash("mnist.npz", &hash);
    check_mnist(&source.mnist().unwrap(), &x_train, &x_test);
    let log = server.log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[1], ("/mnist.npz".to_string(), None));
}

#[test]
fn a_corrupt_cached_file_is_downloaded_again() {
    let server = Server::start();
    let (bytes, x_train, x_test) = mnist_npz();
    let hash = sha256(&bytes);
    server.serve("mnist.npz", bytes);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mnist.npz"), b"not the file").unwrap();
    let source = server.source(dir.path()).expect_hash("mnist.npz", &hash);
    check_mnist(&source.mnist().unwrap(), &x_train, &x_test);
    assert_eq!(server.log().len(), 1);
}

#[test]
fn a_missing_file_on_the_server_is_an_error_naming_the_url() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let e = server.source(dir.path()).mnist().unwrap_err().to_string();
    assert!(
        e.contains(&format!("{}mnist.npz", server.url)) && e.contains("404"),
        "{e}"
    );
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
}

/// Serves the four Fashion-MNIST files made from `train`/`test` IDX contents.
fn serve_fashion(
    server: &Server,
    source: DatasetSource,
    files: [(&str, Vec<u8>); 4],
) -> DatasetSource {
    let mut source = source;
    for (name, content) in files {
        let gz = gzip(&content);
        source = source.expect_hash(format!("fashion-mnist/{name}"), sha256(&gz));
        server.serve(name, gz);
    }
    source
}

#[test]
fn fashion_mnist_reads_gzip_idx_files() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let (x_train, x_test) = (images(4, 28, 28, 3), images(2, 28, 28, 4));
    let source = serve_fashion(
        &server,
        server.source(dir.path()),
        [
            ("train-images-idx3-ubyte.gz", idx(&[4, 28, 28], &x_train)),
            ("train-labels-idx1-ubyte.gz", idx(&[4], &[9, 0, 0, 3])),
            ("t10k-images-idx3-ubyte.gz", idx(&[2, 28, 28], &x_test)),
            ("t10k-labels-idx1-ubyte.gz", idx(&[2], &[9, 2])),
        ],
    );
    let ((xtr, ytr), (xte, yte)) = source.fashion_mnist().unwrap();
    assert_eq!(xtr.shape, [4, 28, 28]);
    assert_eq!(f32s(&xtr), as_f32(&x_train));
    assert_eq!(i64s(&ytr), [9, 0, 0, 3]);
    assert_eq!(xte.shape, [2, 28, 28]);
    assert_eq!(f32s(&xte), as_f32(&x_test));
    assert_eq!(i64s(&yte), [9, 2]);
    assert_eq!(server.log().len(), 4);
    assert_eq!(files_in(dir.path()), ["fashion-mnist"]);
    assert_eq!(files_in(&dir.path().join("fashion-mnist")).len(), 4);
}

#[test]
fn hostile_idx_files_with_valid_checksums_are_errors() {
    let good_x = idx(&[2, 28, 28], &images(2, 28, 28, 0));
    let mut wrong_magic = good_x.clone();
    wrong_magic[..4].copy_from_slice(&[0x1f, 0x8b, 8, 3]);
    let cases: Vec<(&str, Vec<u8>, Vec<u8>, &str)> = vec![
        (
            "truncated",
            good_x[..good_x.len() - 5].to_vec(),
            idx(&[2], &[1, 2]),
            "need 1568 bytes",
        ),
        ("wrong magic", wrong_magic, idx(&[2], &[1, 2]), "magic"),
        (
            "huge dims",
            idx(&[u32::MAX, u32::MAX, u32::MAX], &[0; 64]),
            idx(&[2], &[1, 2]),
            "IDX",
        ),
        (
            "label count",
            good_x.clone(),
            idx(&[3], &[1, 2, 3]),
            "3 labels",
        ),
        (
            "labels are images",
            good_x.clone(),
            good_x.clone(),
            "dimensions",
        ),
        (
            "empty",
            Vec::new(),
            idx(&[2], &[1, 2]),
            "shorter than the magic",
        ),
    ];
    for (what, x, y, says) in cases {
        let server = Server::start();
        let dir = tempfile::tempdir().unwrap();
        let source = serve_fashion(
            &server,
            server.source(dir.path()),
            [
                ("train-images-idx3-ubyte.gz", x),
                ("train-labels-idx1-ubyte.gz", y),
                ("t10k-images-idx3-ubyte.gz", good_x.clone()),
                ("t10k-labels-idx1-ubyte.gz", idx(&[2], &[1, 2])),
            ],
        );
        let e = source.fashion_mnist().unwrap_err().to_string();
        assert!(e.contains("-idx"), "{what}: {e}");
        assert!(e.contains(says), "{what}: {e}");
    }
}

/// A CIFAR-10 binary tarball: `per_batch` records in each training batch, `n_test` in the
/// test batch; returns the tarball and the record bytes (train concatenated, test).
fn cifar_tarball(per_batch: usize, n_test: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let record = |k: usize| {
        let mut r = vec![(k % 10) as u8];
        r.extend((0..3072).map(|i| ((i * 13 + k * 31) % 256) as u8));
        r
    };
    let mut entries = vec![(
        "cifar-10-batches-bin/batches.meta.txt",
        b"airplane\n".to_vec(),
    )];
    let mut train = Vec::new();
    let names = [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
    ];
    let paths: Vec<String> = names
        .iter()
        .map(|n| format!("cifar-10-batches-bin/{n}"))
        .collect();
    let mut batches = Vec::new();
    for b in 0..5 {
        let bytes: Vec<u8> = (0..per_batch).flat_map(|k| record(b * 100 + k)).collect();
        train.extend(&bytes);
        batches.push(bytes);
    }
    // written out of order: the loader orders the batches by name
    for b in [3, 0, 4, 1, 2] {
        entries.push((paths[b].as_str(), batches[b].clone()));
    }
    let test: Vec<u8> = (0..n_test).flat_map(|k| record(1000 + k)).collect();
    entries.push(("cifar-10-batches-bin/test_batch.bin", test.clone()));
    (tar_gz(&entries), train, test)
}

#[test]
fn cifar10_reads_the_binary_tarball_channels_last() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let (tarball, train, test) = cifar_tarball(2, 3);
    let source = server
        .source(dir.path())
        .expect_hash("cifar-10-binary.tar.gz", sha256(&tarball));
    server.serve("cifar-10-binary.tar.gz", tarball);
    let ((xtr, ytr), (xte, yte)) = source.cifar10().unwrap();
    assert_eq!(
        (xtr.shape.as_slice(), ytr.shape.as_slice()),
        (&[10, 32, 32, 3][..], &[10, 1][..])
    );
    assert_eq!(
        (xte.shape.as_slice(), yte.shape.as_slice()),
        (&[3, 32, 32, 3][..], &[3, 1][..])
    );
    for (x, y, records) in [(&xtr, &ytr, &train), (&xte, &yte, &test)] {
        let (x, y) = (f32s(x), i64s(y));
        for (n, r) in records.chunks(3073).enumerate() {
            assert_eq!(y[n], r[0] as i64);
            for (row, col, c) in [(0, 0, 0), (5, 17, 1), (31, 31, 2), (12, 3, 0)] {
                let want = r[1 + c * 1024 + row * 32 + col] as f32;
                assert_eq!(
                    x[((n * 32 + row) * 32 + col) * 3 + c],
                    want,
                    "{n} {row} {col} {c}"
                );
            }
        }
    }
}

#[test]
fn hostile_cifar_tarballs_are_errors() {
    let (good, _, _) = cifar_tarball(1, 1);
    let record = vec![0u8; 3073];
    let mut bad_label = record.clone();
    bad_label[0] = 10;
    let batches = |test: Vec<u8>| {
        let mut e: Vec<(String, Vec<u8>)> = (1..=5)
            .map(|b| {
                (
                    format!("cifar-10-batches-bin/data_batch_{b}.bin"),
                    record.clone(),
                )
            })
            .collect();
        e.push(("cifar-10-batches-bin/test_batch.bin".into(), test));
        e
    };
    let build = |e: Vec<(String, Vec<u8>)>| {
        let refs: Vec<(&str, Vec<u8>)> = e.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
        tar_gz(&refs)
    };
    let mut missing = batches(record.clone());
    missing.remove(2);
    let cases = [
        ("truncated gzip", good[..good.len() / 2].to_vec(), "tar"),
        (
            "partial record",
            build(batches(record[..3000].to_vec())),
            "3073-byte records",
        ),
        ("label 10", build(batches(bad_label)), "label 10"),
        ("missing batch", build(missing), "data_batch_3.bin"),
        ("not gzip", b"hello".to_vec(), "cifar-10-binary.tar.gz"),
    ];
    for (what, tarball, says) in cases {
        let server = Server::start();
        let dir = tempfile::tempdir().unwrap();
        let source = server
            .source(dir.path())
            .expect_hash("cifar-10-binary.tar.gz", sha256(&tarball));
        server.serve("cifar-10-binary.tar.gz", tarball);
        let e = source.cifar10().unwrap_err().to_string();
        assert!(e.contains(says), "{what}: {e}");
    }
}

/// A small `imdb.npz` (object arrays of word-index lists, int64 labels).
fn imdb_npz(train: &[Vec<i64>], y_train: &[i64], test: &[Vec<i64>], y_test: &[i64]) -> Vec<u8> {
    let labels = |y: &[i64]| {
        let data: Vec<u8> = y.iter().flat_map(|v| v.to_le_bytes()).collect();
        npy("<i8", &format!("({},)", y.len()), &data)
    };
    npz(&[
        (
            "x_test",
            npy(
                "|O",
                &format!("({},)", test.len()),
                &pickle_object_array(test),
            ),
        ),
        (
            "x_train",
            npy(
                "|O",
                &format!("({},)", train.len()),
                &pickle_object_array(train),
            ),
        ),
        ("y_train", labels(y_train)),
        ("y_test", labels(y_test)),
    ])
}

#[test]
fn imdb_reads_object_arrays_and_applies_keras_arguments() {
    let train: Vec<Vec<i64>> = (0..40)
        .map(|i| (0..(i % 9 + 1)).map(|k| 1 + (i * 7 + k * 3) % 50).collect())
        .collect();
    let y_train: Vec<i64> = (0..40).map(|i| i % 2).collect();
    let test: Vec<Vec<i64>> = (0..25).map(|i| vec![1 + i % 30, 2, 100_000]).collect();
    let y_test: Vec<i64> = (0..25).map(|i| (i / 3) % 2).collect();
    let bytes = imdb_npz(&train, &y_train, &test, &y_test);
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let source = server
        .source(dir.path())
        .expect_hash("imdb.npz", sha256(&bytes));
    server.serve("imdb.npz", bytes);

    // Defaults: a permutation of the reviews, each `[1] + [w + 3 ...]`; the largest index
    // (100_003) is out of range with `num_words=None`, as in Keras.
    let ((x, y), (xt, yt)) = source.imdb(&ImdbOptions::new()).unwrap();
    assert_eq!((x.len(), y.shape.as_slice()), (40, &[40][..]));
    let mut got: Vec<(Vec<i64>, i64)> = x.iter().cloned().zip(i64s(&y).iter().copied()).collect();
    let mut want: Vec<(Vec<i64>, i64)> = train
        .iter()
        .map(|s| [vec![1], s.iter().map(|w| w + 3).collect()].concat())
        .zip(y_train.iter().copied())
        .collect();
    assert_ne!(got, want, "shuffled");
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(xt.len(), 25);
    assert!(
        xt.iter().all(|s| s[0] == 1 && s[2] == 5 && s[3] == 2),
        "{xt:?}"
    );
    assert_eq!(i64s(&yt).iter().sum::<i64>(), y_test.iter().sum::<i64>());

    // The same seed gives the same order; another seed another.
    let again = source.imdb(&ImdbOptions::new()).unwrap();
    assert_eq!(again.0 .0, x);
    assert_ne!(source.imdb(&ImdbOptions::new().seed(1)).unwrap().0 .0, x);

    // num_words, skip_top, maxlen, oov_char, index_from, start_char
    let o = ImdbOptions::new().num_words(20).skip_top(5).maxlen(6);
    let ((x, y), (xt, _)) = source.imdb(&o).unwrap();
    let kept = train.iter().filter(|s| s.len() + 1 < 6).count();
    assert_eq!((x.len(), y.shape[0]), (kept, kept));
    assert!(x.iter().flatten().all(|&w| w == 2 || (5..20).contains(&w)));
    assert!(x.iter().all(|s| s.len() < 6 && s[0] == 2)); // start_char 1 < skip_top
    assert_eq!(xt.len(), 25);
    let o = ImdbOptions::new()
        .start_char(None)
        .oov_char(None)
        .index_from(0)
        .num_words(10);
    let ((x, _), _) = source.imdb(&o).unwrap();
    assert!(x.iter().flatten().all(|&w| (0..10).contains(&w)));
    assert_eq!(
        x.iter().map(Vec::len).sum::<usize>(),
        train.iter().flatten().filter(|&&w| w < 10).count()
    );
    let e = source
        .imdb(&ImdbOptions::new().maxlen(2))
        .unwrap_err()
        .to_string();
    assert!(e.contains("maxlen=2"), "{e}");
}

#[test]
fn hostile_imdb_files_are_errors() {
    let one = vec![vec![1, 2]];
    let good = pickle_object_array(&one);
    let mut evil = good.clone();
    let global = b"numpy.core.multiarray\n_reconstruct\n";
    let at = evil
        .windows(global.len())
        .position(|w| w == global)
        .unwrap();
    evil.splice(at..at + global.len(), b"os\nsystem\n".iter().copied());
    let label = npy("<i8", "(1,)", &1i64.to_le_bytes());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "os.system",
            npz(&[
                ("x_train", npy("|O", "(1,)", &evil)),
                ("y_train", label.clone()),
                ("x_test", npy("|O", "(1,)", &good)),
                ("y_test", label.clone()),
            ]),
            "os.system",
        ),
        (
            "truncated pickle",
            npz(&[
                ("x_train", npy("|O", "(1,)", &good[..good.len() - 4])),
                ("y_train", label.clone()),
                ("x_test", npy("|O", "(1,)", &good)),
                ("y_test", label.clone()),
            ]),
            "x_train.npy",
        ),
        (
            "shape disagrees",
            npz(&[
                ("x_train", npy("|O", "(7,)", &good)),
                ("y_train", label.clone()),
                ("x_test", npy("|O", "(1,)", &good)),
                ("y_test", label.clone()),
            ]),
            "7",
        ),
        (
            "labels missing",
            npz(&[
                ("x_train", npy("|O", "(1,)", &good)),
                ("x_test", npy("|O", "(1,)", &good)),
                ("y_test", label.clone()),
            ]),
            "y_train",
        ),
        (
            "huge npy shape",
            npz(&[
                ("x_train", npy("|O", "(1,)", &good)),
                ("y_train", npy("<i8", "(4611686018427387904,)", &[0; 8])),
                ("x_test", npy("|O", "(1,)", &good)),
                ("y_test", label.clone()),
            ]),
            "y_train.npy",
        ),
        ("not a zip", b"PK\x03\x04 nonsense".to_vec(), "zip"),
    ];
    for (what, bytes, says) in cases {
        let server = Server::start();
        let dir = tempfile::tempdir().unwrap();
        let source = server
            .source(dir.path())
            .expect_hash("imdb.npz", sha256(&bytes));
        server.serve("imdb.npz", bytes);
        let e = source.imdb(&ImdbOptions::new()).unwrap_err().to_string();
        assert!(e.contains("imdb.npz") && e.contains(says), "{what}: {e}");
    }
}

#[test]
fn the_imdb_word_index_is_checked_with_keras_md5() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let json = br#"{"the": 1, "and": 2, "fawn": 34701}"#.to_vec();
    server.serve("imdb_word_index.json", json.clone());
    // The pinned MD5 does not match these bytes.
    let e = server
        .source(dir.path())
        .imdb_word_index()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("MD5") && e.contains("bfafd718b763782e994055a2d397834f"),
        "{e}"
    );
    let index = server
        .source(dir.path())
        .expect_hash("imdb_word_index.json", sha256(&json))
        .imdb_word_index()
        .unwrap();
    assert_eq!((index.len(), index["fawn"]), (3, 34701));
}

/// Runs Keras' own `imdb.load_data` on an `.npz` that numpy writes, and compares its
/// output, for several argument sets, with `DatasetSource::imdb` on the same file.
#[test]
#[ignore = "needs Python: run with cargo xtask test (sets STRATANET_PYTHON)"]
fn imdb_matches_keras() {
    let python = std::env::var("STRATANET_PYTHON").expect("STRATANET_PYTHON");
    let dir = tempfile::tempdir().unwrap();
    let npz_path = dir.path().join("numpy-imdb.npz");
    let script = r#"
import json, os, sys
os.environ.setdefault("KERAS_BACKEND", "torch")
import numpy as np
path, out = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)
def reviews(n):
    a = np.empty(n, dtype=object)
    for i in range(n):
        a[i] = [int(w) for w in rng.zipf(1.3, size=int(rng.integers(1, 30))) if w < 5000]
    return a
np.savez_compressed(path, x_train=reviews(300), y_train=rng.integers(0, 2, 300),
                    x_test=reviews(200), y_test=rng.integers(0, 2, 200))
from keras.src.datasets import imdb
imdb.get_file = lambda *a, **k: path
cases = [dict(), dict(num_words=50, skip_top=3), dict(maxlen=12, seed=7),
         dict(start_char=None, oov_char=None, index_from=0, num_words=20)]
res = []
for c in cases:
    (x, y), (xt, yt) = imdb.load_data(**c)
    res.append(dict(args=c, x=[list(map(int, s)) for s in x], y=[int(v) for v in y],
                    xt=[list(map(int, s)) for s in xt], yt=[int(v) for v in yt]))
json.dump(res, open(out, "w"))
"#;
    let out = dir.path().join("keras.json");
    let status = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(&npz_path)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&npz_path).unwrap();
    let server = Server::start();
    let source = server
        .source(dir.path().join("cache").as_path())
        .expect_hash("imdb.npz", sha256(&bytes));
    server.serve("imdb.npz", bytes);
    let cases: serde_json::Value = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let args = &case["args"];
        let mut o = ImdbOptions::new();
        if let Some(n) = args["num_words"].as_u64() {
            o = o.num_words(n as usize);
        }
        if let Some(n) = args["skip_top"].as_u64() {
            o = o.skip_top(n as usize);
        }
        if let Some(n) = args["maxlen"].as_u64() {
            o = o.maxlen(n as usize);
        }
        if let Some(n) = args["seed"].as_u64() {
            o = o.seed(n as u32);
        }
        if args.get("start_char").is_some() {
            o = o.start_char(args["start_char"].as_i64());
        }
        if args.get("oov_char").is_some() {
            o = o.oov_char(args["oov_char"].as_i64());
        }
        if let Some(n) = args["index_from"].as_i64() {
            o = o.index_from(n);
        }
        let ((x, y), (xt, yt)) = source.imdb(&o).unwrap();
        let seqs =
            |v: &serde_json::Value| -> Vec<Vec<i64>> { serde_json::from_value(v.clone()).unwrap() };
        let ints =
            |v: &serde_json::Value| -> Vec<i64> { serde_json::from_value(v.clone()).unwrap() };
        assert_eq!(x, seqs(&case["x"]), "{args}");
        assert_eq!(i64s(&y), ints(&case["y"]), "{args}");
        assert_eq!(xt, seqs(&case["xt"]), "{args}");
        assert_eq!(i64s(&yt), ints(&case["yt"]), "{args}");
    }
}
