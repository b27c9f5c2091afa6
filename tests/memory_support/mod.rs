//! Peak-memory checks shared by `tests/memory*.rs`. Each of those files holds one test, so
//! each runs in a process of its own: the peak RSS (`VmHWM`) is global to a process.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use stratanet::callbacks::LambdaCallback;
use stratanet::prelude::*;
use stratanet::Backend;

/// The process' peak resident set size (`VmHWM`), in MB.
pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024.0
}

/// candle keeps the autograd graph of every tensor computed from a parameter alive for as
/// long as the tensor lives. `predict` and `evaluate` must hold only detached results, so
/// their peak memory must not grow with the number of batches (DESIGN.md).
pub fn predict_and_evaluate_peak_rss_does_not_grow_with_batches<B: Backend>() {
    let mut m = Sequential::<B>::new().with_seed(0);
    m.add(Input::new(&[64])).unwrap();
    m.add(Dense::new(512).activation("relu")).unwrap();
    m.add(Dense::new(512).activation("relu")).unwrap();
    m.add(Dense::new(10).activation("softmax")).unwrap();
    m.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])
        .unwrap();

    let n = 20_000;
    let x = Tensor::<B>::uniform(&[n, 64], 0.0, 1.0, 1, DType::F32, Device::Cpu).unwrap();
    let y = Tensor::<B>::from_vec((0..n as i64).map(|i| i % 10).collect::<Vec<_>>(), &[n]).unwrap();
    let small_x = x.narrow(0, 0, 1_000).unwrap();
    let small_y = y.narrow(0, 0, 1_000).unwrap();

    // Warm up allocators with the small runs (10 batches each), then run 200 batches.
    m.predict(&small_x, 100).unwrap();
    m.evaluate(&small_x, &small_y, 100).unwrap();
    let before = peak_rss_mb();
    let out = m.predict(&x, 100).unwrap();
    assert_eq!(out.shape(), vec![n, 10]);
    m.evaluate(&x, &y, 100).unwrap();
    let after = peak_rss_mb();
    // Outputs kept by predict: 20,000 x 10 f32 = 0.8 MB. A retained graph would keep about
    // 2 x 100 x 512 x 4 bytes = 0.4 MB of activations per batch, 80 MB for 200 batches.
    println!(
        "{}: peak RSS: {before:.1} MB after 10 batches, {after:.1} MB after 200 batches",
        B::NAME
    );
    assert!(
        after - before < 25.0,
        "{}: peak RSS grew by {:.1} MB over 190 more batches",
        B::NAME,
        after - before
    );
}

/// A long `fit` does not accumulate memory: 200 epochs of a small model (with validation,
/// so evaluation runs every epoch too), and the peak RSS after epoch 200 is within 5% of
/// the peak after epoch 20. Returns (peak after epoch 20, peak after epoch 200) in MB.
pub fn fit_peak_rss_is_flat_over_200_epochs<B: Backend>() -> (f64, f64) {
    let mut m = Sequential::<B>::new().with_seed(1);
    m.add(Input::new(&[16])).unwrap();
    m.add(Dense::new(64).activation("relu")).unwrap();
    m.add(Dense::new(64).activation("relu")).unwrap();
    m.add(Dense::new(4).activation("softmax")).unwrap();
    m.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])
        .unwrap();
    let n = 256;
    let x = Tensor::<B>::uniform(&[n, 16], -1.0, 1.0, 2, DType::F32, Device::Cpu).unwrap();
    let y = Tensor::<B>::from_vec((0..n as i64).map(|i| i % 4).collect::<Vec<_>>(), &[n]).unwrap();
    let xv = x.narrow(0, 0, 64).unwrap();
    let yv = y.narrow(0, 0, 64).unwrap();

    // Peak RSS at the end of each epoch.
    let peaks = Arc::new(Mutex::new(Vec::new()));
    let record = {
        let peaks = peaks.clone();
        LambdaCallback::new().on_epoch_end(move |_, _, _| {
            peaks.lock().unwrap().push(peak_rss_mb());
            Ok(())
        })
    };
    let h = m
        .fit(
            &x,
            &y,
            FitOptions::new()
                .epochs(200)
                .batch_size(32)
                .validation_data(&xv, &yv)
                .verbose(0)
                .callback(record),
        )
        .unwrap();
    assert_eq!(h.epoch.len(), 200);
    let peaks = peaks.lock().unwrap();
    assert_eq!(peaks.len(), 200);
    let (at20, at200) = (peaks[19], peaks[199]);
    println!(
        "{}: fit peak RSS: {at20:.1} MB after epoch 20, {at200:.1} MB after epoch 200 \
         (epoch 1: {:.1} MB)",
        B::NAME,
        peaks[0]
    );
    assert!(
        at200 <= at20 * 1.05,
        "{}: peak RSS grew from {at20:.1} MB after epoch 20 to {at200:.1} MB after epoch 200 \
         (more than 5%)",
        B::NAME
    );
    (at20, at200)
}
