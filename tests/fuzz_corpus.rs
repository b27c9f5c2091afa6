//! Replays every committed fuzz input on the stable toolchain: each file of
//! `fuzz/corpus/<target>/` (the minimised corpus of a `cargo fuzz` run) and of
//! `fuzz/regressions/<target>/` (inputs that once crashed, kept after the fix) goes through
//! the same entry point as the fuzz target (`fuzz/entry_points.rs`, included below), under
//! `catch_unwind`. A panic fails the test with the file's name, so a crash found once
//! cannot come back unnoticed; an empty or missing corpus folder fails it too.

#![cfg(feature = "candle")]

#[path = "../fuzz/entry_points.rs"]
mod entry_points;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The files of `dir`, sorted (none when the folder does not exist).
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `entry` on every file of `root/corpus/<target>/` and `root/regressions/<target>/`;
/// returns how many ran. Panics naming every input that panicked, or when the corpus
/// folder is missing or empty.
fn replay_in(root: &Path, target: &str, entry: fn(&[u8])) -> usize {
    let corpus = files_in(&root.join("corpus").join(target));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{target}/ is missing or empty: the committed corpus was lost"
    );
    let regressions = files_in(&root.join("regressions").join(target));
    let mut failures = Vec::new();
    let mut count = 0;
    for file in corpus.iter().chain(&regressions) {
        let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if catch_unwind(AssertUnwindSafe(|| entry(&bytes))).is_err() {
            failures.push(file.display().to_string());
        }
        count += 1;
    }
    assert!(
        failures.is_empty(),
        "{target}: {} of {count} inputs panicked: {failures:#?}",
        failures.len()
    );
    count
}

/// [`replay_in`] on the repository's `fuzz/` folder.
fn replay(target: &str, entry: fn(&[u8])) -> usize {
    replay_in(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz"),
        target,
        entry,
    )
}

#[test]
fn load_model_corpus_does_not_panic() {
    assert!(replay("load_model", entry_points::load_model) > 0);
}

#[test]
fn read_csv_corpus_does_not_panic() {
    assert!(replay("read_csv", entry_points::read_csv) > 0);
}

#[test]
fn feature_space_corpus_does_not_panic() {
    assert!(replay("feature_space", entry_points::feature_space) > 0);
}

/// The replay can fail: an input that panics is reported by name, and a missing or empty
/// corpus folder is an error.
#[test]
fn replay_reports_panicking_inputs_and_empty_corpora() {
    let dir = tempfile::TempDir::new().unwrap();
    let root = dir.path();
    let message = |r: std::thread::Result<usize>| match r {
        Ok(n) => panic!("replay passed ({n} inputs)"),
        Err(e) => e
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| e.downcast_ref::<&str>().unwrap().to_string()),
    };
    let missing = message(catch_unwind(|| replay_in(root, "t", |_| ())));
    assert!(
        missing.contains("fuzz/corpus/t/ is missing or empty"),
        "{missing}"
    );

    std::fs::create_dir_all(root.join("corpus/t")).unwrap();
    std::fs::create_dir_all(root.join("regressions/t")).unwrap();
    std::fs::write(root.join("corpus/t/good"), b"").unwrap();
    std::fs::write(root.join("regressions/t/bad"), b"boom").unwrap();
    let entry: fn(&[u8]) = |data| assert!(data.is_empty(), "non-empty input");
    let failed = message(catch_unwind(|| replay_in(root, "t", entry)));
    assert!(failed.contains("1 of 2 inputs panicked"), "{failed}");
    assert!(failed.contains("regressions/t/bad"), "{failed}");
    assert!(!failed.contains("corpus/t/good"), "{failed}");
    assert_eq!(replay_in(root, "t", |_| ()), 2);
}
