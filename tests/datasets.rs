//! Datasets (issue 9): in-memory, streamed-CSV and user-source datasets give the same
//! batches for the same seed; map, prefetch (equivalence, errors from the thread, clean
//! drop); `fit_dataset`/`evaluate_dataset`/`predict_dataset`; `steps_per_epoch`,
//! `validation_freq` and `validation_batch_size`. Runs on both engines.

#[macro_use]
mod common;
use common::quiet;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use stratanet::callbacks::{Callback, EpochEnd};
use stratanet::dataset::{Batch, BatchSource, Dataset};
use stratanet::layers::{Dense, Input};
use stratanet::optimizers::Sgd;
use stratanet::saving::HostTensor;
use stratanet::tabular::{ColumnType, CsvOptions};
use stratanet::{Backend, DType, Device, FitOptions, History, Sequential, Tensor};

/// 40 samples: features `a = (7 i mod 13) / 4`, `b = (i mod 5) / 2 - 1`, an integer
/// class `i mod 3`, and a regression target `t = 2 a - 3 b + 0.5` (all exact in f32 and in
/// decimal).
fn numbers(n: usize) -> (Vec<f32>, Vec<i64>, Vec<f32>) {
    let mut x = Vec::new();
    let mut cls = Vec::new();
    let mut t = Vec::new();
    for i in 0..n {
        let a = ((7 * i) % 13) as f32 / 4.0;
        let b = (i % 5) as f32 / 2.0 - 1.0;
        x.extend([a, b]);
        cls.push((i % 3) as i64);
        t.push(2.0 * a - 3.0 * b + 0.5);
    }
    (x, cls, t)
}

/// Writes the same numbers as a CSV file (`a,b,class,t`).
fn write_csv(name: &str, n: usize) -> common::TmpPath {
    let (x, cls, t) = numbers(n);
    let mut text = String::from("a,b,class,t\n");
    for i in 0..n {
        text.push_str(&format!(
            "{},{},{},{}\n",
            x[2 * i],
            x[2 * i + 1],
            cls[i],
            t[i]
        ));
    }
    let path = common::tmp(&format!("{name}.csv"));
    std::fs::write(&path, text).unwrap();
    path
}

fn host_classes(n: usize) -> Dataset {
    let (x, cls, _) = numbers(n);
    Dataset::from_host(
        vec![HostTensor::f32(x, &[n, 2]).unwrap()],
        vec![HostTensor::i64(cls, &[n]).unwrap()],
    )
    .unwrap()
}

fn host_regression(n: usize) -> Dataset {
    let (x, _, t) = numbers(n);
    Dataset::from_host(
        vec![HostTensor::f32(x, &[n, 2]).unwrap()],
        vec![HostTensor::f32(t, &[n, 1]).unwrap()],
    )
    .unwrap()
}

fn first_column(batches: &[Batch]) -> Vec<Vec<f32>> {
    batches
        .iter()
        .map(|b| {
            b.x[0]
                .data
                .to_f32_vec()
                .iter()
                .step_by(2)
                .copied()
                .collect()
        })
        .collect()
}

#[test]
fn streamed_and_in_memory_datasets_give_the_same_batches() {
    let n = 40;
    let path = write_csv("same", n);
    for (buffer, seed) in [(1, 0), (8, 3), (40, 11), (100, 11)] {
        let mut mem = host_classes(n).shuffle(buffer, seed).batch(6);
        // Chunks of 7 rows: the chunking does not show in the batches.
        let mut csv = Dataset::from_csv(&path, &CsvOptions::new(), &["a", "b"], &["class"], 7)
            .unwrap()
            .shuffle(buffer, seed)
            .batch(6)
            .prefetch(2);
        for pass in 0..2 {
            let a = mem.collect_epoch().unwrap();
            let b = csv.collect_epoch().unwrap();
            assert_eq!(a.len(), 7);
            assert_eq!(a, b, "buffer {buffer}, seed {seed}, pass {pass}");
            assert_eq!(b[0].x[0].shape, vec![6, 2]);
            assert_eq!(b[0].y[0].shape, vec![6]);
            assert_eq!(b[6].y[0].shape, vec![4]);
        }
        // The row count of the CSV file is known after one pass.
        assert_eq!(csv.cardinality(), Some(7));
    }
    // A full buffer permutes: every sample once, not in order; a new order each pass, the
    // same orders for the same seed.
    let mut ds = host_classes(n).shuffle(n, 5).batch(n);
    let p0 = first_column(&ds.collect_epoch().unwrap())[0].clone();
    let p1 = first_column(&ds.collect_epoch().unwrap())[0].clone();
    let (x, _, _) = numbers(n);
    let in_order: Vec<f32> = x.iter().step_by(2).copied().collect();
    assert_ne!(p0, in_order);
    assert_ne!(p0, p1);
    let mut sorted = p0.clone();
    sorted.sort_by(f32::total_cmp);
    let mut want = in_order.clone();
    want.sort_by(f32::total_cmp);
    assert_eq!(sorted, want);
    let mut again = host_classes(n).shuffle(n, 5).batch(n);
    assert_eq!(first_column(&again.collect_epoch().unwrap())[0], p0);
    // Float targets from the CSV (a non-integer label column).
    let mut csv = Dataset::from_csv(&path, &CsvOptions::new(), &["a", "b"], &["t"], 9)
        .unwrap()
        .batch(40);
    let mut mem = host_regression(n).batch(40);
    assert_eq!(csv.collect_epoch().unwrap(), mem.collect_epoch().unwrap());
}

#[test]
fn map_on_samples_and_on_batches() {
    let n = 10;
    let mut ds = host_regression(n)
        .map(|mut s| {
            // A sample: no batch dimension.
            assert_eq!(s.x[0].shape, vec![2]);
            let v: Vec<f32> = s.x[0].data.to_f32_vec().iter().map(|v| v * 2.0).collect();
            s.x[0] = HostTensor::f32(v, &[2])?;
            Ok(s)
        })
        .batch(4)
        .map(|mut b| {
            let n = b.len();
            let v: Vec<f32> = b.y[0].data.to_f32_vec().iter().map(|v| v + 1.0).collect();
            b.y[0] = HostTensor::f32(v, &[n, 1])?;
            Ok(b)
        });
    let got = ds.collect_epoch().unwrap();
    let (x, _, t) = numbers(n);
    let xs: Vec<f32> = got.iter().flat_map(|b| b.x[0].data.to_f32_vec()).collect();
    let ys: Vec<f32> = got.iter().flat_map(|b| b.y[0].data.to_f32_vec()).collect();
    assert_eq!(xs, x.iter().map(|v| v * 2.0).collect::<Vec<_>>());
    assert_eq!(ys, t.iter().map(|v| v + 1.0).collect::<Vec<_>>());
    assert_eq!(
        got.iter().map(Batch::len).collect::<Vec<_>>(),
        vec![4, 4, 2]
    );
    // An error from `map` surfaces.
    let mut bad = host_regression(n)
        .batch(4)
        .map(|_| Err(stratanet::Error::invalid("my_map", "batch", "refused")));
    let e = bad.next_batch().unwrap_err().to_string();
    assert!(e.contains("my_map") && e.contains("refused"), "{e}");
}

/// A user source (Keras' `PyDataset`): batch `i` holds samples `4 i .. 4 i + 4` of
/// [`numbers`]; fails on batch `fail_at`, or panics there when `panic` is set.
struct Source {
    n: usize,
    fail_at: Option<usize>,
    panic: bool,
    epochs_ended: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
    delay_ms: u64,
}

impl Source {
    fn new(n: usize) -> Self {
        Self {
            n,
            fail_at: None,
            panic: false,
            epochs_ended: Arc::new(AtomicUsize::new(0)),
            dropped: Arc::new(AtomicBool::new(false)),
            delay_ms: 0,
        }
    }
}

impl BatchSource for Source {
    fn len(&self) -> usize {
        self.n.div_ceil(4)
    }
    fn get_batch(&mut self, i: usize) -> stratanet::Result<Batch> {
        if self.fail_at == Some(i) {
            if self.panic {
                panic!("source exploded at batch {i}");
            }
            return Err(stratanet::Error::config(
                "my_source",
                format!("batch {i} is unreadable"),
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(self.delay_ms));
        let (x, _, t) = numbers(self.n);
        let lo = 4 * i;
        let hi = (lo + 4).min(self.n);
        Ok(Batch::new(
            vec![HostTensor::f32(x[2 * lo..2 * hi].to_vec(), &[hi - lo, 2])?],
            vec![HostTensor::f32(t[lo..hi].to_vec(), &[hi - lo, 1])?],
        ))
    }
    fn on_epoch_end(&mut self) {
        self.epochs_ended.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[test]
fn batch_source_batches_shuffle_and_rebatch() {
    let src = Source::new(10);
    let ended = src.epochs_ended.clone();
    let mut ds = Dataset::from_source(src);
    assert_eq!(ds.cardinality(), Some(3));
    let b = ds.collect_epoch().unwrap();
    assert_eq!(b.iter().map(Batch::len).collect::<Vec<_>>(), vec![4, 4, 2]);
    assert_eq!(ended.load(Ordering::SeqCst), 1);
    // Shuffling a stream of batches shuffles whole batches.
    let mut ds = Dataset::from_source(Source::new(10)).shuffle(3, 2);
    let firsts: Vec<f32> = first_column(&ds.collect_epoch().unwrap())
        .iter()
        .map(|b| b[0])
        .collect();
    let (x, _, _) = numbers(10);
    let mut sorted = firsts.clone();
    sorted.sort_by(f32::total_cmp);
    let mut want = vec![x[0], x[8], x[16]];
    want.sort_by(f32::total_cmp);
    assert_eq!(sorted, want);
    // `batch` re-batches the samples of the source's batches: as from memory.
    let mut re = Dataset::from_source(Source::new(10)).batch(3);
    let mut mem = host_regression(10).batch(3);
    assert_eq!(re.collect_epoch().unwrap(), mem.collect_epoch().unwrap());
}

#[test]
fn errors_are_reported() {
    // x and y with different sample counts: both shapes named.
    let e = Dataset::from_host(
        vec![HostTensor::f32(vec![0.0; 6], &[3, 2]).unwrap()],
        vec![HostTensor::f32(vec![0.0; 4], &[4, 1]).unwrap()],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("Dataset::from_host") && e.contains("[3, 2]") && e.contains("[4, 1]"),
        "{e}"
    );
    // batch_size 0.
    let e = host_regression(4)
        .batch(0)
        .next_batch()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Dataset::batch") && e.contains("batch_size"),
        "{e}"
    );
    // A source error raised on the prefetch thread reaches the caller.
    let mut src = Source::new(20);
    src.fail_at = Some(2);
    let mut ds = Dataset::from_source(src).prefetch(2);
    assert!(ds.next_batch().unwrap().is_some());
    assert!(ds.next_batch().unwrap().is_some());
    let e = ds.next_batch().unwrap_err().to_string();
    assert!(
        e.contains("my_source") && e.contains("batch 2 is unreadable"),
        "{e}"
    );
    // A panic on the prefetch thread becomes an error.
    let mut src = Source::new(20);
    src.fail_at = Some(1);
    src.panic = true;
    let mut ds = Dataset::from_source(src).prefetch(1);
    let got: Vec<_> = (0..2).map(|_| ds.next_batch()).collect();
    let e = got[1].as_ref().unwrap_err().to_string();
    assert!(
        e.contains("panicked") && e.contains("source exploded at batch 1"),
        "{e}"
    );
    // CSV: unknown column, missing value.
    let path = common::tmp("bad.csv");
    std::fs::write(&path, "a,b,y\n1,2,0\n3,,1\n").unwrap();
    let e = Dataset::from_csv(&path, &CsvOptions::new(), &["a", "c"], &["y"], 10)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown column in") && e.contains("'c'") && e.contains("known: a, b, y"),
        "{e}"
    );
    let e = Dataset::from_csv(&path, &CsvOptions::new(), &["a", "b"], &["y"], 10)
        .unwrap()
        .next_batch()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("column 'b'") && e.contains("missing") && e.contains("row 2"),
        "{e}"
    );
}

#[test]
fn dropping_a_prefetching_dataset_mid_pass_joins_its_thread() {
    let mut src = Source::new(400);
    src.delay_ms = 1;
    let dropped = src.dropped.clone();
    let mut ds = Dataset::from_source(src).prefetch(2);
    assert!(ds.next_batch().unwrap().is_some());
    let t = std::time::Instant::now();
    drop(ds);
    // The thread held the source; it is gone once the thread has been joined.
    assert!(dropped.load(Ordering::SeqCst));
    assert!(t.elapsed().as_secs_f64() < 5.0);
}

fn linear<B: Backend>(seed: u64, lr: f64) -> Sequential<B> {
    let mut m = Sequential::<B>::new().with_seed(seed);
    m.add(Input::new(&[2])).unwrap();
    m.add(Dense::new(1)).unwrap();
    m.compile(Sgd::new(lr), "mse", &[]).unwrap();
    m
}

fn tensors<B: Backend>(n: usize) -> (Tensor<B>, Tensor<B>) {
    let (x, _, t) = numbers(n);
    (
        Tensor::from_vec_on(x, &[n, 2], Device::Cpu).unwrap(),
        Tensor::from_vec_on(t, &[n, 1], Device::Cpu).unwrap(),
    )
}

fn iterations<B: Backend>(m: &Sequential<B>) -> u64 {
    m.compiled().unwrap().optimizer.iterations()
}

fn weights<B: Backend>(m: &Sequential<B>) -> Vec<Vec<f32>> {
    m.get_weights()
        .unwrap()
        .iter()
        .map(|(_, w)| w.data.to_f32_vec())
        .collect()
}

/// Epochs on which `val_loss` was logged.
#[derive(Clone, Default)]
struct ValEpochs(Arc<Mutex<Vec<usize>>>);

impl Callback for ValEpochs {
    fn on_epoch_end(&mut self, end: EpochEnd<'_>) -> stratanet::Result<()> {
        if end.logs.get("val_loss").is_some() {
            self.0.lock().unwrap().push(end.epoch);
        }
        Ok(())
    }
}

fn fit_learns_a_linear_relation_from_a_csv_stream<B: Backend>() {
    let n = 40;
    let path = write_csv(&format!("linear-{}", B::NAME), n);
    let opts = CsvOptions::new().column_type("t", ColumnType::Float);
    let mut ds = Dataset::from_csv(&path, &opts, &["a", "b"], &["t"], 16)
        .unwrap()
        .shuffle(20, 1)
        .batch(8)
        .prefetch(2);
    // Unknown length before the first pass (the progress display copes: verbose 2).
    assert_eq!(ds.batches_per_pass(8), None);
    let mut m = linear::<B>(0, 0.05);
    let h = m
        .fit_dataset(&mut ds, FitOptions::new().epochs(150).verbose(2))
        .unwrap();
    assert_eq!(ds.cardinality(), Some(5));
    assert_eq!(iterations(&m), 150 * 5);
    let loss = h.get("loss").unwrap();
    assert!(*loss.last().unwrap() < 1e-6, "{loss:?}");
    // Closed form: kernel (2, -3), bias 0.5.
    let w = weights(&m);
    assert!(
        (w[0][0] - 2.0).abs() < 1e-3 && (w[0][1] + 3.0).abs() < 1e-3,
        "{w:?}"
    );
    assert!((w[1][0] - 0.5).abs() < 1e-3, "{w:?}");
    // evaluate / predict on the stream agree with the tensor forms.
    let (x, y) = tensors::<B>(n);
    let mut plain = Dataset::from_csv(&path, &opts, &["a", "b"], &["t"], 16).unwrap();
    let e1 = m
        .evaluate_dataset(&mut plain, 7)
        .unwrap()
        .get("loss")
        .unwrap();
    let e2 = m.evaluate_with(&x, &y, 7).unwrap().get("loss").unwrap();
    assert!((e1 - e2).abs() <= 1e-6 * e2.abs().max(1e-6), "{e1} vs {e2}");
    let p1 = m
        .predict_dataset(&mut plain, 7)
        .unwrap()
        .to_vec_f32()
        .unwrap();
    let p2 = m.predict_with(&x, 7).unwrap().to_vec_f32().unwrap();
    assert_eq!(p1, p2);
}

fn from_tensors_without_shuffle_equals_tensor_fit<B: Backend>() {
    let (x, y) = tensors::<B>(40);
    let mut a = linear::<B>(3, 0.02);
    let ha = a
        .fit(&x, &y, quiet(4).batch_size(6).shuffle(false))
        .unwrap();
    let mut b = linear::<B>(3, 0.02);
    let mut ds = Dataset::from_tensors(&x, &y).unwrap();
    let hb = b.fit_dataset(&mut ds, quiet(4).batch_size(6)).unwrap();
    assert_eq!(ha, hb);
    assert_eq!(weights(&a), weights(&b));
}

fn prefetched_equals_not_prefetched<B: Backend>() {
    let run = |prefetch: bool| -> (History, Vec<Vec<f32>>) {
        let mut ds = host_regression(40).shuffle(16, 9).batch(5);
        if prefetch {
            ds = ds.prefetch(3);
        }
        let mut val = host_regression(40).batch(7);
        if prefetch {
            val = val.prefetch(1);
        }
        let mut m = linear::<B>(4, 0.01);
        let h = m
            .fit_dataset(&mut ds, quiet(3).validation_dataset(val))
            .unwrap();
        (h, weights(&m))
    };
    let (h1, w1) = run(false);
    let (h2, w2) = run(true);
    assert_eq!(h1, h2);
    assert_eq!(w1, w2);
    assert_eq!(h1.get("val_loss").unwrap().len(), 3);
    // Same seed: identical History; another shuffle seed: a different one.
    assert_eq!(run(false).0, h1);
    let mut ds = host_regression(40).shuffle(16, 10).batch(5);
    let mut m = linear::<B>(4, 0.01);
    let h3 = m.fit_dataset(&mut ds, quiet(3)).unwrap();
    assert_ne!(h3.get("loss"), h1.get("loss"));
}

fn user_source_trains_and_reports_errors<B: Backend>() {
    let src = Source::new(10);
    let ended = src.epochs_ended.clone();
    let mut ds = Dataset::from_source(src).prefetch(2);
    let mut m = linear::<B>(1, 0.01);
    let h = m.fit_dataset(&mut ds, quiet(2)).unwrap();
    assert_eq!(h.get("loss").unwrap().len(), 2);
    assert_eq!(iterations(&m), 6);
    assert_eq!(ended.load(Ordering::SeqCst), 2);
    // The source's error, raised on the prefetch thread, is fit's error.
    let mut src = Source::new(20);
    src.fail_at = Some(3);
    let mut ds = Dataset::from_source(src).prefetch(2);
    let e = m.fit_dataset(&mut ds, quiet(2)).unwrap_err().to_string();
    assert!(e.contains("batch 3 is unreadable"), "{e}");
    // fit_dataset's own argument errors.
    let mut ds = host_regression(8);
    let e = m
        .fit_dataset(&mut ds, FitOptions::new().batch_size(0).verbose(0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("fit_dataset") && e.contains("batch_size"), "{e}");
    let e = m
        .fit_dataset(&mut ds, FitOptions::new().validation_split(0.2).verbose(0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("validation_split"), "{e}");
    // Three input tensors for a one-input model.
    let three = |n: usize| HostTensor::f32(vec![0.0; 2 * n], &[n, 2]).unwrap();
    let mut ds = Dataset::from_host(
        vec![three(4), three(4), three(4)],
        vec![HostTensor::f32(vec![0.0; 4], &[4, 1]).unwrap()],
    )
    .unwrap();
    let e = m
        .fit_dataset(&mut ds, FitOptions::new().verbose(0))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("3 input tensors") && e.contains("1 inputs"),
        "{e}"
    );
}

fn steps_per_epoch_counts_iterations<B: Backend>() {
    let (x, y) = tensors::<B>(64);
    // Tensors: 2 batches per epoch, continuing through the data: 2 epochs of 2 steps are
    // the same 4 steps as one epoch over all 64 samples.
    let mut a = linear::<B>(2, 0.02);
    a.fit(
        &x,
        &y,
        quiet(2).batch_size(16).steps_per_epoch(2).shuffle(false),
    )
    .unwrap();
    assert_eq!(iterations(&a), 4);
    let mut b = linear::<B>(2, 0.02);
    b.fit(&x, &y, quiet(1).batch_size(16).shuffle(false))
        .unwrap();
    assert_eq!(weights(&a), weights(&b));
    // Shuffled, 3 steps for 5 epochs over 4 batches a pass.
    let mut c = linear::<B>(2, 0.02);
    let h = c
        .fit(&x, &y, quiet(5).batch_size(16).steps_per_epoch(3).seed(1))
        .unwrap();
    assert_eq!(iterations(&c), 15);
    assert_eq!(h.get("loss").unwrap().len(), 5);
    // Datasets: 3 steps an epoch from a 4-batch dataset, restarting it when exhausted.
    let mut ds = host_regression(64).shuffle(64, 3).batch(16);
    let mut d = linear::<B>(2, 0.02);
    d.fit_dataset(&mut ds, quiet(5).steps_per_epoch(3)).unwrap();
    assert_eq!(iterations(&d), 15);
    // Resuming at epoch 2 continues as an uninterrupted run.
    let mut full = linear::<B>(5, 0.02);
    let mut ds = host_regression(64).shuffle(64, 3).batch(16);
    full.fit_dataset(&mut ds, quiet(4)).unwrap();
    let mut part = linear::<B>(5, 0.02);
    let mut ds = host_regression(64).shuffle(64, 3).batch(16);
    part.fit_dataset(&mut ds, quiet(2)).unwrap();
    part.fit_dataset(&mut ds, quiet(4).initial_epoch(2))
        .unwrap();
    assert_eq!(weights(&full), weights(&part));
}

fn validation_freq_and_batch_size<B: Backend>() {
    let (x, y) = tensors::<B>(40);
    let (vx, vy) = tensors::<B>(30);
    let run = |vbs: Option<usize>, freq: usize| -> (History, Vec<usize>) {
        let mut m = linear::<B>(6, 0.01);
        let rec = ValEpochs::default();
        let mut opts = quiet(5)
            .batch_size(8)
            .seed(2)
            .validation_data(&vx, &vy)
            .validation_freq(freq)
            .callback(rec.clone());
        if let Some(v) = vbs {
            opts = opts.validation_batch_size(v);
        }
        let h = m.fit(&x, &y, opts).unwrap();
        let epochs = rec.0.lock().unwrap().clone();
        (h, epochs)
    };
    let (h, epochs) = run(None, 2);
    assert_eq!(epochs, vec![1, 3]);
    let finite: Vec<usize> = h.history["val_loss"]
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, _)| h.epoch[i])
        .collect();
    assert_eq!(finite, vec![1, 3]);
    assert_eq!(run(None, 3).1, vec![2]);
    // The validation batch size changes val_loss by f32 rounding at most; training is
    // untouched.
    let (h1, e1) = run(Some(7), 1);
    let (h2, e2) = run(Some(30), 1);
    let (h3, _) = run(None, 1);
    assert_eq!(e1, vec![0, 1, 2, 3, 4]);
    assert_eq!(e1, e2);
    assert_eq!(h1.get("loss"), h2.get("loss"));
    for ((a, b), c) in h1
        .get("val_loss")
        .unwrap()
        .iter()
        .zip(h2.get("val_loss").unwrap())
        .zip(h3.get("val_loss").unwrap())
    {
        assert!((a - b).abs() <= 1e-5 * b.abs(), "{a} vs {b}");
        assert!((c - b).abs() <= 1e-5 * b.abs(), "{c} vs {b}");
    }
    // The same with a validation dataset, unbatched (batched by validation_batch_size).
    let mut m = linear::<B>(6, 0.01);
    let mut ds = Dataset::from_tensors(&x, &y).unwrap();
    let val = Dataset::from_tensors(&vx, &vy).unwrap();
    let rec = ValEpochs::default();
    m.fit_dataset(
        &mut ds,
        quiet(4)
            .batch_size(8)
            .validation_dataset(val)
            .validation_batch_size(4)
            .validation_freq(2)
            .callback(rec.clone()),
    )
    .unwrap();
    assert_eq!(*rec.0.lock().unwrap(), vec![1, 3]);
    // Bad values.
    let mut m = linear::<B>(6, 0.01);
    for (opts, arg) in [
        (FitOptions::new().validation_freq(0), "validation_freq"),
        (FitOptions::new().steps_per_epoch(0), "steps_per_epoch"),
        (
            FitOptions::new().validation_batch_size(0),
            "validation_batch_size",
        ),
    ] {
        let e = m.fit(&x, &y, opts.verbose(0)).unwrap_err().to_string();
        assert!(e.contains(arg) && e.contains("got 0"), "{e}");
    }
    let _ = DType::F32;
}

engine_tests!(
    fit_learns_a_linear_relation_from_a_csv_stream,
    from_tensors_without_shuffle_equals_tensor_fit,
    prefetched_equals_not_prefetched,
    user_source_trains_and_reports_errors,
    steps_per_epoch_counts_iterations,
    validation_freq_and_batch_size,
);
