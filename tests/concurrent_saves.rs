//! Atomic writes under concurrency: 8 threads each save a different model to the same path
//! 50 times. Every save must succeed (each write has a temporary file no other writer can
//! pick), the final file must load and equal one of the 8 models, and no temporary file may
//! be left behind. Runs on candle and, with feature `tch`, libtorch.

#[macro_use]
mod common;

use stratanet::prelude::*;
use stratanet::Backend;

const THREADS: u64 = 8;
const SAVES: usize = 50;

/// `Input [6] -> Dense 16 relu -> Dense 3 softmax`, Adam(1e-3).
fn model<B: Backend>(seed: u64) -> Sequential<B> {
    common::dense_classifier(seed, 6, &[16], None, 3, Adam::new(1e-3))
}

fn weights<B: Backend>(m: &Sequential<B>) -> Vec<(String, stratanet::saving::HostTensor)> {
    m.get_weights().unwrap()
}

fn concurrent_saves_to_one_path<B: Backend>() {
    let path = common::tmp("shared.safetensors");
    let expected: Vec<_> = (0..THREADS).map(|s| weights(&model::<B>(s))).collect();
    // The seeds give 8 different models.
    for i in 0..expected.len() {
        for j in i + 1..expected.len() {
            assert_ne!(expected[i], expected[j], "models {i} and {j} are equal");
        }
    }
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|seed| {
                let path = &path;
                scope.spawn(move || {
                    let m = model::<B>(seed);
                    let mut errors = Vec::new();
                    for i in 0..SAVES {
                        if let Err(e) = m.save(&**path) {
                            errors.push(format!("thread {seed} save {i}: {e}"));
                        }
                    }
                    errors
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a saving thread panicked"))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "failed saves:\n{}",
        failures.join("\n")
    );
    let loaded = weights(&Sequential::<B>::load(&*path).unwrap());
    assert!(
        expected.contains(&loaded),
        "the final file is none of the 8 models"
    );
    let entries: Vec<String> = std::fs::read_dir(path.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        entries,
        vec!["shared.safetensors".to_string()],
        "temporary files left behind"
    );
}

engine_tests!(concurrent_saves_to_one_path,);
