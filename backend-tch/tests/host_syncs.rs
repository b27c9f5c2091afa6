//! The training loop reads nothing back from the device per batch (issue 14, item 6).
//!
//! On CUDA every device-to-host read is a synchronisation: a loop that reads once per
//! batch leaves the GPU idle between batches. [`stratanet_tch::host_read_count`] counts the
//! engine's reads and its index range checks (which read back on CUDA) on every device, so
//! these tests run on the CPU: `fit` and `evaluate` on the same data with different batch
//! sizes must make exactly the same number of reads (a per-batch read would make the run
//! with more batches read more), and that number is below the batch count.
//!
//! The user-facing ops keep their checks: a direct `index_select` or sparse cross-entropy
//! still counts one read.

use std::sync::Mutex;
use stratanet_frontend::backend::{CompositeOps, Device, HostData};
use stratanet_frontend::layers::{Dense, Input, LSTM};
use stratanet_frontend::losses::SparseCategoricalCrossentropy;
use stratanet_frontend::optimizers::Adam;
use stratanet_frontend::{FitOptions, Sequential, Tensor};
use stratanet_tch::{host_read_count, Tch};

/// The counter is process-wide: tests that read it run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const N: usize = 96;
const CLASSES: usize = 5;

/// `N` samples of `features` values and labels in `0..CLASSES`, from a fixed LCG.
fn data(shape: &[usize]) -> (Tensor<Tch>, Tensor<Tch>) {
    let mut s = 12345u64;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as f64 / (1u64 << 31) as f64
    };
    let len: usize = shape.iter().product();
    let x: Vec<f32> = (0..len).map(|_| next() as f32).collect();
    let y: Vec<i64> = (0..shape[0])
        .map(|_| (next() * CLASSES as f64) as i64 % CLASSES as i64)
        .collect();
    (
        Tensor::from_vec(x, shape).unwrap(),
        Tensor::from_vec(y, &[shape[0]]).unwrap(),
    )
}

fn mlp(from_logits: bool) -> Sequential<Tch> {
    let mut m = Sequential::<Tch>::new().on_device(Device::Cpu);
    m.add(Input::new(&[8])).unwrap();
    m.add(Dense::new(16).activation("relu")).unwrap();
    if from_logits {
        m.add(Dense::new(CLASSES)).unwrap();
    } else {
        m.add(Dense::new(CLASSES).activation("softmax")).unwrap();
    }
    m.compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::new().from_logits(from_logits),
        &["accuracy"],
    )
    .unwrap();
    m
}

/// Host reads made by `f`.
fn reads(f: impl FnOnce()) -> u64 {
    let before = host_read_count();
    f();
    host_read_count() - before
}

/// Reads of a shuffled 3-epoch `fit` with validation data and of an `evaluate`, at
/// `batch` samples a batch, on a fresh model from `build`.
fn fit_and_evaluate_reads(
    build: &dyn Fn() -> Sequential<Tch>,
    shape: &[usize],
    batch: usize,
) -> (u64, u64) {
    let (x, y) = data(shape);
    let (vx, vy) = (x.narrow(0, 0, 32).unwrap(), y.narrow(0, 0, 32).unwrap());
    let mut m = build();
    let fit = reads(|| {
        let h = m
            .fit(
                &x,
                &y,
                FitOptions::new()
                    .epochs(3)
                    .batch_size(batch)
                    .shuffle(true)
                    .seed(3)
                    .verbose(0)
                    .validation_data(vx.clone(), vy.clone()),
            )
            .unwrap();
        assert_eq!(h.epoch.len(), 3);
        assert!(h
            .get("val_loss")
            .is_some_and(|v| v.iter().all(|l| l.is_finite())));
    });
    let eval = reads(|| {
        m.evaluate_with(&x, &y, batch).unwrap();
    });
    (fit, eval)
}

/// Same reads at 2 and 12 batches an epoch, and fewer reads than batches.
fn check_batch_independent(what: &str, build: &dyn Fn() -> Sequential<Tch>, shape: &[usize]) {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (fit_few, eval_few) = fit_and_evaluate_reads(build, shape, N / 2);
    let (fit_many, eval_many) = fit_and_evaluate_reads(build, shape, N / 12);
    eprintln!(
        "{what}: fit reads {fit_few} (2 batches/epoch) vs {fit_many} (12 batches/epoch); \
         evaluate {eval_few} vs {eval_many}"
    );
    assert_eq!(
        fit_few, fit_many,
        "{what}: fit's device reads depend on the number of batches (a per-batch sync)"
    );
    assert_eq!(
        eval_few, eval_many,
        "{what}: evaluate's device reads depend on the number of batches (a per-batch sync)"
    );
    // 3 epochs x (12 train + 3 validation batches) = 45 batches.
    assert!(fit_many < 45, "{what}: fit read {fit_many} times");
    assert!(eval_many < 12, "{what}: evaluate read {eval_many} times");
}

#[test]
fn fit_and_evaluate_read_per_epoch_not_per_batch_sparse_logits() {
    check_batch_independent("mlp, sparse CE from logits", &|| mlp(true), &[N, 8]);
}

#[test]
fn fit_and_evaluate_read_per_epoch_not_per_batch_sparse_probabilities() {
    check_batch_independent("mlp, sparse CE on probabilities", &|| mlp(false), &[N, 8]);
}

#[test]
fn fit_and_evaluate_read_per_epoch_not_per_batch_lstm_go_backwards() {
    let build = || {
        let mut m = Sequential::<Tch>::new().on_device(Device::Cpu);
        m.add(Input::new(&[4, 2])).unwrap();
        m.add(LSTM::<Tch>::new(6).go_backwards(true)).unwrap();
        m.add(Dense::new(CLASSES)).unwrap();
        m.compile(
            Adam::new(1e-3),
            SparseCategoricalCrossentropy::new().from_logits(true),
            &["accuracy"],
        )
        .unwrap();
        m
    };
    check_batch_independent("lstm go_backwards", &build, &[N, 4, 2]);
}

/// The user-facing ops keep their range checks (one counted read each), and an
/// out-of-range index is still an error.
#[test]
fn user_facing_index_ops_still_check() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let t = Tensor::<Tch>::from_vec(vec![1f32, 2., 3., 4.], &[4]).unwrap();
    let idx = Tensor::<Tch>::from_host(HostData::I64(vec![3, 0]), &[2], Device::Cpu).unwrap();
    assert_eq!(reads(|| drop(t.index_select(&idx, 0).unwrap())), 1);
    let bad = Tensor::<Tch>::from_host(HostData::I64(vec![4]), &[1], Device::Cpu).unwrap();
    assert!(t.index_select(&bad, 0).is_err());
    let logits = Tensor::<Tch>::from_vec(vec![0f32, 1., 2., 3.], &[2, 2]).unwrap();
    let labels = Tensor::<Tch>::from_host(HostData::I64(vec![1, 0]), &[2], Device::Cpu).unwrap();
    let n = reads(|| {
        Tch::sparse_softmax_cross_entropy(logits.inner(), labels.inner()).unwrap();
    });
    assert_eq!(n, 1);
    // The in-range variant skips the check (and gives the same values).
    let n = reads(|| {
        let a = Tch::sparse_softmax_cross_entropy_in_range(logits.inner(), labels.inner());
        let b = Tch::sparse_softmax_cross_entropy(logits.inner(), labels.inner());
        let (a, b) = (
            Tensor::<Tch>::new(a.unwrap()),
            Tensor::<Tch>::new(b.unwrap()),
        );
        assert_eq!(a.to_vec_f32().unwrap(), b.to_vec_f32().unwrap());
    });
    // The checked op's range check and the two `to_vec_f32` reads.
    assert_eq!(n, 3);
}
