//! Peak-memory checks shared by `tests/memory*.rs`. Each of those files holds one test, so
//! each runs in a process of its own: the peak RSS (`VmHWM`) is global to a process.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use stratanet::callbacks::{BatchEnd, Callback, CallbackContext, LambdaCallback};
use stratanet::prelude::*;
use stratanet::Backend;

#[path = "../common/mod.rs"]
mod common;

/// The process' peak resident set size (`VmHWM`), in MB.
pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024.0
}

/// Records the peak RSS at the end of chosen predict and test batches.
struct PeakAtBatches {
    at: Vec<usize>,
    peaks: Arc<Mutex<Vec<f64>>>,
}

impl PeakAtBatches {
    fn record(&self, step: usize) {
        if self.at.contains(&step) {
            self.peaks.lock().unwrap().push(peak_rss_mb());
        }
    }
}

impl Callback for PeakAtBatches {
    fn on_predict_batch_end(
        &mut self,
        step: usize,
        _: &mut CallbackContext<'_>,
    ) -> stratanet::Result<()> {
        self.record(step);
        Ok(())
    }
    fn on_test_batch_end(&mut self, end: BatchEnd<'_>) -> stratanet::Result<()> {
        self.record(end.step);
        Ok(())
    }
}

/// candle keeps the autograd graph of every tensor computed from a parameter alive for as
/// long as the tensor lives. `predict` and `evaluate` must hold only detached results, so
/// their peak memory must not grow with the number of batches (docs/ARCHITECTURE.md,
/// "Detached results").
///
/// After a warm-up run of 100 batches, runs of 600 batches read the peak RSS at the end of
/// their batch 100 and batch 600: it may grow by less than 40 MB in between. A retained
/// graph keeps about 2 x 100 x 512 x 4 bytes = 0.4 MB of activations per batch: 200 MB for
/// the 500 batches in between; the outputs `predict` keeps are 100 x 10 x 4 bytes = 4 KB a
/// batch (2 MB). Measured: candle flat to 0.1 MB; libtorch +3.2 MB. Before `predict`
/// joined its outputs in chunks, libtorch grew by 0.19 MB a batch (393 -> 489 MB from batch
/// 100 to 600, and 18 s instead of 0.8 s): not a retained graph, but each small output
/// tensor kept between batches pinning the freed batch buffers around it (keeping 300
/// outputs of `predict_on_batch` raised the RSS by 57 MB, keeping their host copies by
/// nothing).
pub fn predict_and_evaluate_peak_rss_does_not_grow_with_batches<B: Backend>() {
    let m = common::dense_classifier::<B>(0, 64, &[512, 512], None, 10, "adam");

    let n = 60_000;
    let x = Tensor::<B>::uniform(&[n, 64], 0.0, 1.0, 1, DType::F32, Device::Cpu).unwrap();
    let y = Tensor::<B>::from_vec((0..n as i64).map(|i| i % 10).collect::<Vec<_>>(), &[n]).unwrap();
    let small_x = x.narrow(0, 0, 10_000).unwrap();
    let small_y = y.narrow(0, 0, 10_000).unwrap();

    // Warm up allocators with 100 batches each.
    drop(m.predict_with(&small_x, 100).unwrap());
    m.evaluate_with(&small_x, &small_y, 100).unwrap();
    let peaks = Arc::new(Mutex::new(Vec::new()));
    let probe = || -> Vec<Box<dyn Callback>> {
        vec![Box::new(PeakAtBatches {
            at: vec![99, 599],
            peaks: peaks.clone(),
        })]
    };
    let out = m
        .predict_all(&x, PredictOptions::new().batch_size(100).callbacks(probe()))
        .unwrap();
    assert_eq!(out[0].shape(), vec![n, 10]);
    // `predict` joins its batch outputs in chunks of 64 batches while it runs: the rows
    // across a chunk boundary (row 6,400) are the model's outputs for those rows.
    let across = out[0].narrow(0, 6_350, 100).unwrap().to_vec_f32().unwrap();
    let direct = m
        .predict_on_batch(x.narrow(0, 6_350, 100).unwrap())
        .unwrap()
        .to_vec_f32()
        .unwrap();
    let diff = across
        .iter()
        .zip(&direct)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        diff < 1e-5,
        "{}: rows 6,350..6,450 differ by {diff}",
        B::NAME
    );
    m.evaluate_with(&x, &y, EvaluateOptions::from(100).callbacks(probe()))
        .unwrap();
    let p = peaks.lock().unwrap().clone();
    assert_eq!(
        p.len(),
        4,
        "peaks at batches 100 and 600 of predict and evaluate"
    );
    println!(
        "{}: peak RSS: predict {:.1} MB at batch 100, {:.1} MB at batch 600; evaluate {:.1} MB \
         at batch 100, {:.1} MB at batch 600",
        B::NAME,
        p[0],
        p[1],
        p[2],
        p[3]
    );
    for (what, before, after) in [("predict", p[0], p[1]), ("evaluate", p[2], p[3])] {
        assert!(
            after - before < 40.0,
            "{}: {what}: peak RSS grew by {:.1} MB from batch 100 to batch 600",
            B::NAME,
            after - before
        );
    }
}

/// A long `fit` does not accumulate memory: 200 epochs of a small model (with validation,
/// so evaluation runs every epoch too), and the peak RSS after epoch 200 is within 5% of
/// the peak after epoch 20. Returns (peak after epoch 20, peak after epoch 200) in MB.
pub fn fit_peak_rss_is_flat_over_200_epochs<B: Backend>() -> (f64, f64) {
    let mut m = common::dense_classifier::<B>(1, 16, &[64, 64], None, 4, "adam");
    let n = 128;
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
                .batch_size(64)
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
