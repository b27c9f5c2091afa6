//! Helpers shared by the integration tests (`mod common;`).
//!
//! Every test that writes files gets a folder of its own from `tempfile` (a fresh, uniquely
//! named `TempDir` per call), so no two tests, threads or processes ever share a file name,
//! and the folder is removed when the value drops.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A path inside a temporary folder that belongs to it alone; the folder (and whatever was
/// written in it) is removed when this value drops. Derefs to [`Path`].
pub struct TmpPath {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl TmpPath {
    /// The folder holding the path.
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }
}

impl std::ops::Deref for TmpPath {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for TmpPath {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<std::ffi::OsStr> for TmpPath {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.path.as_os_str()
    }
}

impl std::fmt::Debug for TmpPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.path.fmt(f)
    }
}

/// `name` inside a fresh temporary folder of its own (the file itself is not created).
pub fn tmp(name: &str) -> TmpPath {
    let dir = tempfile::Builder::new()
        .prefix("stratanet-test-")
        .tempdir()
        .expect("creating a temporary folder");
    let path = dir.path().join(name);
    TmpPath { _dir: dir, path }
}

/// A fresh, empty temporary folder of its own.
pub fn tmp_dir() -> TmpPath {
    let dir = tempfile::Builder::new()
        .prefix("stratanet-test-")
        .tempdir()
        .expect("creating a temporary folder");
    let path = dir.path().to_path_buf();
    TmpPath { _dir: dir, path }
}
