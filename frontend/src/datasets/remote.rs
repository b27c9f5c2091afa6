//! Downloading and caching the files of the Keras datasets: [`DatasetSource`], the table of
//! known files with their pinned hashes ([`KNOWN_FILES`]), and the cache folder.

use crate::error::{Error, Result};
use md5::Md5;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The environment variable that replaces the download folder URL of every file (a mirror
/// holding the files under their plain names, e.g. `http://127.0.0.1:8000/`).
pub const URL_ENV: &str = "STRATANET_DATASETS_URL";

/// The largest download accepted, in bytes (1 GiB; the largest known file, the CIFAR-10
/// tarball, has 170,052,171 bytes). A server sending more is refused.
pub const MAX_DOWNLOAD_BYTES: u64 = 1 << 30;

/// Where Keras (and stratanet) download the MNIST, Fashion-MNIST and IMDB files from.
pub const KERAS_DATASETS_URL: &str = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/";

/// One file a loader needs: its name in the cache folder, where it is downloaded from, and
/// the hash it must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteFile {
    /// The path inside the cache folder (`mnist.npz`, `fashion-mnist/t10k-labels-idx1-ubyte.gz`).
    /// Its last component is the name the file has on the server.
    pub name: &'static str,
    /// The folder URL it is downloaded from (the file's last name component is appended).
    pub origin: &'static str,
    /// Lower-case hex digest of the file: 64 digits for SHA-256, 32 for MD5.
    pub hash: &'static str,
    /// Where the hash was taken from.
    pub hash_source: &'static str,
}

impl RemoteFile {
    /// The file's name on the server: the last component of [`name`](Self::name).
    pub fn file_name(&self) -> &'static str {
        self.name.rsplit('/').next().unwrap_or(self.name)
    }
}

/// Every file the loaders download, with its pinned hash: the one place where URLs and
/// hashes live.
///
/// - `mnist.npz`, `imdb.npz`: the SHA-256 values Keras pins (`keras/src/datasets/*.py`).
/// - Fashion-MNIST: Keras pins no hash; these are the SHA-256 values TensorFlow Datasets
///   pins (`tensorflow_datasets/url_checksums/fashion_mnist.txt`) for the same files on the
///   Fashion-MNIST project's own server (same sizes, and the MD5 values on the project's
///   README match the same files).
/// - `cifar-10-binary.tar.gz`: Keras downloads the *Python pickle* tarball; stratanet reads
///   the *binary* version from the same page (<https://www.cs.toronto.edu/~kriz/cifar.html>),
///   pinned by the SHA-256 TensorFlow Datasets uses (`url_checksums/cifar10.txt`;
///   170,052,171 bytes). The CIFAR page itself publishes only an MD5
///   (`c32a1d4ab5d03f1284b67883e8d87530`).
/// - `imdb_word_index.json`: Keras pins an MD5 only, and no SHA-256 is published anywhere we
///   could verify, so this one file is checked with Keras' MD5.
pub const KNOWN_FILES: &[RemoteFile] = &[
    RemoteFile {
        name: "mnist.npz",
        origin: KERAS_DATASETS_URL,
        hash: "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
        hash_source: "keras/src/datasets/mnist.py",
    },
    RemoteFile {
        name: "fashion-mnist/train-images-idx3-ubyte.gz",
        origin: KERAS_DATASETS_URL,
        hash: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        hash_source: "tensorflow_datasets/url_checksums/fashion_mnist.txt",
    },
    RemoteFile {
        name: "fashion-mnist/train-labels-idx1-ubyte.gz",
        origin: KERAS_DATASETS_URL,
        hash: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        hash_source: "tensorflow_datasets/url_checksums/fashion_mnist.txt",
    },
    RemoteFile {
        name: "fashion-mnist/t10k-images-idx3-ubyte.gz",
        origin: KERAS_DATASETS_URL,
        hash: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        hash_source: "tensorflow_datasets/url_checksums/fashion_mnist.txt",
    },
    RemoteFile {
        name: "fashion-mnist/t10k-labels-idx1-ubyte.gz",
        origin: KERAS_DATASETS_URL,
        hash: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        hash_source: "tensorflow_datasets/url_checksums/fashion_mnist.txt",
    },
    RemoteFile {
        name: "cifar-10-binary.tar.gz",
        origin: "https://www.cs.toronto.edu/~kriz/",
        hash: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
        hash_source: "tensorflow_datasets/url_checksums/cifar10.txt",
    },
    RemoteFile {
        name: "imdb.npz",
        origin: KERAS_DATASETS_URL,
        hash: "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
        hash_source: "keras/src/datasets/imdb.py",
    },
    RemoteFile {
        name: "imdb_word_index.json",
        origin: KERAS_DATASETS_URL,
        hash: "bfafd718b763782e994055a2d397834f",
        hash_source: "keras/src/datasets/imdb.py (MD5)",
    },
];

/// Where dataset files come from and where they are cached: the cache folder, an optional
/// mirror URL replacing every file's origin, and optional replacement hashes.
///
/// The free functions ([`mnist`](super::mnist), [`cifar10`](super::cifar10), ...) use
/// [`DatasetSource::from_env`]; build one yourself to use another folder or a mirror:
///
/// ```no_run
/// use stratanet::datasets::DatasetSource;
/// # fn main() -> stratanet::Result<()> {
/// let source = DatasetSource::new("/data/keras-datasets")
///     .base_url("http://mirror.example.org/tf-keras-datasets/");
/// let ((x_train, y_train), _test) = source.mnist()?;
/// assert_eq!(x_train.shape, [60000, 28, 28]);
/// # let _ = y_train;
/// # Ok(())
/// # }
/// ```
///
/// # Caching
///
/// A file is fetched once into the cache folder (`$STRATANET_CACHE/datasets`, see
/// [`DatasetSource::from_env`]):
///
/// 1. a file already in the cache is checked against its hash and used without a request
///    (a cached file whose hash does not match is deleted and fetched again);
/// 2. otherwise it is downloaded to `<name>.part`; an existing `.part` (an interrupted
///    download) is resumed with an HTTP `Range: bytes=<len>-` request, and restarted from the
///    beginning when the server answers with the whole file instead;
/// 3. the complete `.part` is hashed; only when the hash matches is it renamed to `<name>`
///    (atomic within the folder). On a mismatch the `.part` is deleted, so a bad download is
///    never left looking complete; a resumed download that fails the check is retried once
///    from the beginning (the kept part may have been stale).
///
/// Two processes downloading the same file at the same moment share one `.part` file and
/// corrupt it; the hash check then refuses the result (run one download first).
#[derive(Debug, Clone)]
pub struct DatasetSource {
    dir: PathBuf,
    base_url: Option<String>,
    hashes: BTreeMap<String, String>,
    progress: bool,
}

impl DatasetSource {
    /// Files cached directly in `dir` (created when needed), downloaded from the origins of
    /// [`KNOWN_FILES`], with a progress bar on the terminal. Reads no environment variable.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            base_url: None,
            hashes: BTreeMap::new(),
            progress: true,
        }
    }

    /// The default source: the cache folder `$STRATANET_CACHE/datasets`, else
    /// `$XDG_CACHE_HOME/stratanet/datasets`, else `~/.cache/stratanet/datasets` (the same
    /// cache root as `cargo xtask`); the mirror URL from `$STRATANET_DATASETS_URL` when set.
    ///
    /// # Errors
    /// [`Error::Config`] when none of `STRATANET_CACHE`, `XDG_CACHE_HOME` and `HOME` is set.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(|k| std::env::var_os(k))
    }

    /// [`from_env`](Self::from_env) with the variables read through `lookup`.
    fn from_vars(lookup: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<Self> {
        let var = |k: &str| lookup(k).filter(|v| !v.is_empty());
        let dir = cache_dir_from(var("STRATANET_CACHE"), var("XDG_CACHE_HOME"), var("HOME"))?;
        let mut source = Self::new(dir);
        if let Some(url) = var(URL_ENV) {
            source.base_url = Some(url.to_string_lossy().into_owned());
        }
        Ok(source)
    }

    /// Downloads every file from `url` (a folder URL; the file's plain name is appended,
    /// e.g. `http://127.0.0.1:8000/` gives `http://127.0.0.1:8000/mnist.npz`) instead of its
    /// origin. The hashes stay the same.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Expects `hash` (hex SHA-256, or hex MD5) for the file `name` (a name of
    /// [`KNOWN_FILES`], e.g. `mnist.npz` or `fashion-mnist/train-images-idx3-ubyte.gz`)
    /// instead of the pinned one: for a mirror holding other data, and for tests.
    pub fn expect_hash(mut self, name: impl Into<String>, hash: impl Into<String>) -> Self {
        self.hashes
            .insert(name.into(), hash.into().to_ascii_lowercase());
        self
    }

    /// Shows a progress bar while downloading (default `true`; drawn only on a terminal).
    pub fn progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    /// The cache folder.
    pub fn cache_dir(&self) -> &Path {
        &self.dir
    }

    /// The URL the file `name` is downloaded from.
    ///
    /// # Errors
    /// [`Error::UnknownName`] when `name` is not in [`KNOWN_FILES`].
    pub fn url(&self, name: &str) -> Result<String> {
        let file = known(name)?;
        Ok(match &self.base_url {
            Some(base) => format!("{}/{}", base.trim_end_matches('/'), file.file_name()),
            None => format!("{}{}", file.origin, file.file_name()),
        })
    }

    /// The hash the file `name` must have (hex; 64 digits SHA-256, 32 digits MD5).
    ///
    /// # Errors
    /// [`Error::UnknownName`] when `name` is not in [`KNOWN_FILES`].
    pub fn hash(&self, name: &str) -> Result<&str> {
        let file = known(name)?;
        Ok(self
            .hashes
            .get(name)
            .map(String::as_str)
            .unwrap_or(file.hash))
    }

    /// The path of the verified file `name` in the cache, downloading it first when it is
    /// missing (see [caching](DatasetSource#caching) for resuming and checking).
    ///
    /// # Errors
    /// [`Error::UnknownName`] for a name not in [`KNOWN_FILES`]; [`Error::Config`] naming
    /// the URL for a failed download (or, without the `download` feature, saying where to put
    /// the file), naming the file and both hashes when the download does not match its hash;
    /// I/O errors of the cache folder.
    pub fn fetch(&self, name: &str) -> Result<PathBuf> {
        let url = self.url(name)?;
        let hash = Hash::parse(name, self.hash(name)?)?;
        let dest = self.dir.join(name);
        if dest.is_file() {
            let actual = hash.of_file(&dest)?;
            if actual == hash.hex {
                return Ok(dest);
            }
            eprintln!(
                "stratanet: cached {} has {} {actual}, expected {}; downloading it again",
                dest.display(),
                hash.algorithm,
                hash.hex
            );
            fs::remove_file(&dest).map_err(|e| io_error(&dest, "remove", e))?;
        }
        let folder = dest.parent().unwrap_or(&self.dir);
        fs::create_dir_all(folder).map_err(|e| io_error(folder, "create", e))?;
        let part = part_path(&dest);
        // A complete part left by a run that stopped before the rename.
        if part.is_file() && hash.of_file(&part)? == hash.hex {
            return finish(&part, &dest);
        }
        let mut restarted = false;
        loop {
            let resumed = self.download(&url, &part)?;
            let actual = hash.of_file(&part)?;
            if actual == hash.hex {
                return finish(&part, &dest);
            }
            let _ = fs::remove_file(&part);
            if resumed && !restarted {
                restarted = true;
                eprintln!(
                    "stratanet: resumed download of {url} does not match its {}; \
                     downloading it again from the beginning",
                    hash.algorithm
                );
                continue;
            }
            return Err(Error::config(
                dest.display().to_string(),
                format!(
                    "checksum mismatch: downloaded from {url}, expected {} {}, got {actual}; \
                     the download was deleted",
                    hash.algorithm, hash.hex
                ),
            ));
        }
    }

    /// Downloads `url` into `part`, resuming from `part`'s length when it exists. Returns
    /// whether bytes kept from before were used (a resumed download).
    #[cfg(feature = "download")]
    fn download(&self, url: &str, part: &Path) -> Result<bool> {
        use std::fs::OpenOptions;
        use std::io::Write;
        let have = fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        let (status, content_range, length, body) = http::get(url, have)?;
        let mut file;
        let resumed;
        match status {
            206 if have > 0 && content_range_start(content_range.as_deref()) == Some(have) => {
                file = OpenOptions::new()
                    .append(true)
                    .open(part)
                    .map_err(|e| io_error(part, "open", e))?;
                resumed = true;
            }
            200 => {
                file = File::create(part).map_err(|e| io_error(part, "create", e))?;
                resumed = false;
            }
            // 416: the kept part is not a prefix the server can continue; 206 from another
            // offset than asked: the server's idea of the file differs. Start over.
            206 | 416 if have > 0 => {
                fs::remove_file(part).map_err(|e| io_error(part, "remove", e))?;
                return self.download(url, part);
            }
            _ => {
                return Err(Error::config(
                    url,
                    format!("download failed: HTTP status {status}"),
                ))
            }
        }
        let start = if resumed { have } else { 0 };
        let total = length.map(|n| n + start);
        if total.is_some_and(|t| t > MAX_DOWNLOAD_BYTES) {
            return Err(too_large(url));
        }
        let bar = self.progress_bar(url, part, start, total);
        let mut reader = body.take(MAX_DOWNLOAD_BYTES - start + 1);
        let mut buf = vec![0u8; 1 << 16];
        let mut written = start;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = file.sync_all();
                    return Err(Error::config(
                        url,
                        format!(
                            "download interrupted after {written} bytes: {e} (the part is kept \
                             in {} and resumed on the next call)",
                            part.display()
                        ),
                    ));
                }
            };
            file.write_all(&buf[..n])
                .map_err(|e| io_error(part, "write", e))?;
            written += n as u64;
            if let Some(bar) = &bar {
                bar.set_position(written);
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        if written > MAX_DOWNLOAD_BYTES {
            drop(file);
            let _ = fs::remove_file(part);
            return Err(too_large(url));
        }
        file.sync_all().map_err(|e| io_error(part, "write", e))?;
        Ok(resumed)
    }

    #[cfg(not(feature = "download"))]
    fn download(&self, url: &str, part: &Path) -> Result<bool> {
        let dest = part.with_extension("").to_path_buf();
        Err(Error::config(
            url,
            format!(
                "stratanet was built without the `download` feature: download the file \
                 yourself and put it at {}, or enable the feature",
                dest.display()
            ),
        ))
    }

    #[cfg(feature = "download")]
    fn progress_bar(
        &self,
        url: &str,
        part: &Path,
        start: u64,
        total: Option<u64>,
    ) -> Option<indicatif::ProgressBar> {
        if !self.progress {
            return None;
        }
        eprintln!("Downloading {url} to {}", part.display());
        let bar = indicatif::ProgressBar::with_draw_target(
            total,
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style);
        }
        bar.set_position(start);
        Some(bar)
    }
}

/// The blocking HTTP client (ureq with rustls).
#[cfg(feature = "download")]
mod http {
    use crate::error::{Error, Result};
    use std::io::Read;
    use std::time::Duration;

    /// `GET url` (from byte `offset` with a `Range` request when `offset > 0`): the status,
    /// the `Content-Range` header, the body length when known, and a reader of the body.
    pub(super) fn get(
        url: &str,
        offset: u64,
    ) -> Result<(u16, Option<String>, Option<u64>, impl Read)> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .user_agent(concat!("stratanet/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let mut request = agent.get(url);
        if offset > 0 {
            request = request.header("Range", format!("bytes={offset}-"));
        }
        let response = request
            .call()
            .map_err(|e| Error::config(url, format!("download failed: {e}")))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_range = header("content-range");
        let length = header("content-length").and_then(|v| v.trim().parse().ok());
        Ok((
            status,
            content_range,
            length,
            response.into_body().into_reader(),
        ))
    }
}

/// The first byte of a `Content-Range: bytes <first>-<last>/<total>` header.
#[cfg_attr(not(feature = "download"), allow(dead_code))]
fn content_range_start(header: Option<&str>) -> Option<u64> {
    let rest = header?.trim().strip_prefix("bytes")?.trim_start();
    rest.split('-').next()?.trim().parse().ok()
}

#[cfg_attr(not(feature = "download"), allow(dead_code))]
fn too_large(url: &str) -> Error {
    Error::config(
        url,
        format!("download refused: larger than {MAX_DOWNLOAD_BYTES} bytes"),
    )
}

/// The known file `name`.
fn known(name: &str) -> Result<&'static RemoteFile> {
    KNOWN_FILES.iter().find(|f| f.name == name).ok_or_else(|| {
        let names: Vec<&str> = KNOWN_FILES.iter().map(|f| f.name).collect();
        Error::unknown("dataset file", name, &names)
    })
}

/// `<dest>.part`.
fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

/// Renames the verified `part` to `dest` and syncs the folder.
fn finish(part: &Path, dest: &Path) -> Result<PathBuf> {
    fs::rename(part, dest).map_err(|e| io_error(dest, "rename", e))?;
    if let Some(Ok(d)) = dest.parent().map(File::open) {
        let _ = d.sync_all();
    }
    Ok(dest.to_path_buf())
}

fn io_error(path: &Path, what: &str, e: io::Error) -> Error {
    Error::config(path.display().to_string(), format!("cannot {what}: {e}"))
}

/// The cache folder from the values of `STRATANET_CACHE`, `XDG_CACHE_HOME` and `HOME`.
pub(crate) fn cache_dir_from(
    stratanet_cache: Option<std::ffi::OsString>,
    xdg_cache_home: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Result<PathBuf> {
    let root = if let Some(d) = stratanet_cache {
        PathBuf::from(d)
    } else if let Some(d) = xdg_cache_home {
        PathBuf::from(d).join("stratanet")
    } else if let Some(h) = home {
        PathBuf::from(h).join(".cache").join("stratanet")
    } else {
        return Err(Error::config(
            "datasets",
            "no cache folder: set STRATANET_CACHE (or HOME)",
        ));
    };
    Ok(root.join("datasets"))
}

/// An expected digest and its algorithm.
struct Hash<'a> {
    algorithm: &'static str,
    hex: &'a str,
}

impl<'a> Hash<'a> {
    fn parse(name: &str, hex: &'a str) -> Result<Self> {
        let algorithm = match hex.len() {
            64 => "SHA-256",
            32 => "MD5",
            _ => "",
        };
        if algorithm.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid(
                "DatasetSource",
                "hash",
                format!("for {name}: expected 64 (SHA-256) or 32 (MD5) hex digits, got {hex:?}"),
            ));
        }
        Ok(Self { algorithm, hex })
    }

    /// The lower-case hex digest of the file at `path`.
    fn of_file(&self, path: &Path) -> Result<String> {
        let mut file = File::open(path).map_err(|e| io_error(path, "open", e))?;
        let hex = if self.algorithm == "MD5" {
            digest_hex::<Md5>(&mut file)
        } else {
            digest_hex::<Sha256>(&mut file)
        };
        hex.map_err(|e| io_error(path, "read", e))
    }
}

fn digest_hex<D: Digest>(reader: &mut impl Read) -> io::Result<String> {
    let mut hasher = D::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_file_has_a_well_formed_hash_and_url() {
        for f in KNOWN_FILES {
            let h = Hash::parse(f.name, f.hash).unwrap();
            assert_eq!(h.hex, f.hash.to_ascii_lowercase(), "{}", f.name);
            let source = DatasetSource::new("/nonexistent");
            let url = source.url(f.name).unwrap();
            assert!(url.starts_with("https://"), "{url}");
            assert!(url.ends_with(f.file_name()), "{url}");
        }
        assert_eq!(
            DatasetSource::new("/x")
                .url("fashion-mnist/t10k-labels-idx1-ubyte.gz")
                .unwrap(),
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/t10k-labels-idx1-ubyte.gz"
        );
        assert_eq!(
            DatasetSource::new("/x")
                .base_url("http://127.0.0.1:9/mirror/")
                .url("cifar-10-binary.tar.gz")
                .unwrap(),
            "http://127.0.0.1:9/mirror/cifar-10-binary.tar.gz"
        );
    }

    #[test]
    fn unknown_names_and_bad_hashes_are_errors() {
        let s = DatasetSource::new("/x");
        let e = s.fetch("mnist.zip").unwrap_err().to_string();
        assert!(e.contains("mnist.zip") && e.contains("mnist.npz"), "{e}");
        let e = s
            .expect_hash("mnist.npz", "abc")
            .fetch("mnist.npz")
            .unwrap_err()
            .to_string();
        assert!(e.contains("64 (SHA-256)") && e.contains("\"abc\""), "{e}");
    }

    #[test]
    fn the_cache_folder_follows_xtask() {
        let os = |s: &str| Some(std::ffi::OsString::from(s));
        assert_eq!(
            cache_dir_from(os("/c"), os("/x"), os("/h")).unwrap(),
            PathBuf::from("/c/datasets")
        );
        assert_eq!(
            cache_dir_from(None, os("/x"), os("/h")).unwrap(),
            PathBuf::from("/x/stratanet/datasets")
        );
        assert_eq!(
            cache_dir_from(None, None, os("/h")).unwrap(),
            PathBuf::from("/h/.cache/stratanet/datasets")
        );
        assert!(cache_dir_from(None, None, None).is_err());
    }

    #[test]
    fn the_environment_sets_the_folder_and_the_mirror() {
        let vars = |k: &str| match k {
            "HOME" => Some("/home/u".into()),
            URL_ENV => Some("http://127.0.0.1:1/m".into()),
            _ => None,
        };
        let s = DatasetSource::from_vars(vars).unwrap();
        assert_eq!(
            s.cache_dir(),
            Path::new("/home/u/.cache/stratanet/datasets")
        );
        assert_eq!(s.url("imdb.npz").unwrap(), "http://127.0.0.1:1/m/imdb.npz");
        let s = DatasetSource::from_vars(|k| (k == "HOME").then(|| "/h".into())).unwrap();
        assert_eq!(
            s.url("imdb.npz").unwrap(),
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
        );
    }

    #[test]
    fn content_range_is_parsed() {
        assert_eq!(content_range_start(Some("bytes 100-199/200")), Some(100));
        assert_eq!(content_range_start(Some("bytes */200")), None);
        assert_eq!(content_range_start(None), None);
    }

    #[test]
    fn digests_match_known_values() {
        let mut r: &[u8] = b"abc";
        assert_eq!(
            digest_hex::<Sha256>(&mut r).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut r: &[u8] = b"abc";
        assert_eq!(
            digest_hex::<Md5>(&mut r).unwrap(),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }
}
