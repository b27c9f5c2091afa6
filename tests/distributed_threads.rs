//! The data-parallel `fit` path (`stratanet::distribute`) without MPI: ranks as threads of
//! this test, over a small in-process [`Collective`] written here against the public
//! trait. Runs in a plain `cargo test` (no `mpi` feature, no `mpirun`); the MPI transport
//! itself is tested by `tests/distributed.rs` (feature `mpi`, `cargo xtask test`).
//!
//! Checked: three ranks with a global batch of 48 (and a short last batch of 20, split
//! 6/7/7) give the weights and History of one process; a loss with reduction `sum` is
//! refused with a clear error; the strategy of one rank changes nothing; sharded `evaluate`
//! and `predict` (`EvaluateOptions`/`PredictOptions::distribute`) return one process'
//! figures and outputs on every rank, in input order, also when a rank gets no rows, with
//! callbacks on rank 0 only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use stratanet::callbacks::{BatchEnd, Callback, CallbackContext};
use stratanet::distribute::{Collective, DataParallel};
use stratanet::losses::{Loss, MeanSquaredError, Reduction};
use stratanet::prelude::*;
use stratanet::saving::HostTensor;
use stratanet::{datasets, DefaultBackend as B};

/// A generation-counted rendezvous: every rank adds its buffer, the last to arrive
/// publishes the result, everyone copies it out.
#[derive(Debug, Default)]
struct Shared {
    state: Mutex<Round>,
    cv: Condvar,
}

#[derive(Debug, Default)]
struct Round {
    generation: u64,
    arrived: usize,
    acc: Vec<f64>,
    result: Vec<f64>,
}

#[derive(Debug)]
struct ThreadRank {
    rank: usize,
    size: usize,
    shared: Arc<Shared>,
}

impl ThreadRank {
    /// Combines every rank's `buf` (sum, or rank 0's alone for a broadcast).
    fn exchange(&self, buf: &mut [f64], root_only: Option<usize>) {
        let mut st = self.shared.state.lock().unwrap();
        let generation = st.generation;
        if st.arrived == 0 {
            st.acc = vec![0.0; buf.len()];
        }
        assert_eq!(
            st.acc.len(),
            buf.len(),
            "ranks disagree on the buffer length"
        );
        match root_only {
            Some(root) if root == self.rank => st.acc.copy_from_slice(buf),
            Some(_) => {}
            None => st.acc.iter_mut().zip(buf.iter()).for_each(|(a, b)| *a += b),
        }
        st.arrived += 1;
        if st.arrived == self.size {
            st.result = std::mem::take(&mut st.acc);
            st.arrived = 0;
            st.generation += 1;
            self.shared.cv.notify_all();
        } else {
            while st.generation == generation {
                st = self.shared.cv.wait(st).unwrap();
            }
        }
        buf.copy_from_slice(&st.result);
    }
}

impl Collective for ThreadRank {
    fn name(&self) -> &'static str {
        "threads"
    }
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn all_reduce_sum_f32(&self, buf: &mut [f32]) -> stratanet::Result<()> {
        let mut w: Vec<f64> = buf.iter().map(|v| *v as f64).collect();
        self.exchange(&mut w, None);
        buf.iter_mut().zip(w).for_each(|(b, v)| *b = v as f32);
        Ok(())
    }
    fn all_reduce_sum_f64(&self, buf: &mut [f64]) -> stratanet::Result<()> {
        self.exchange(buf, None);
        Ok(())
    }
    fn broadcast_bytes(&self, buf: &mut [u8], root: usize) -> stratanet::Result<()> {
        let mut w: Vec<f64> = buf.iter().map(|v| *v as f64).collect();
        self.exchange(&mut w, Some(root));
        buf.iter_mut().zip(w).for_each(|(b, v)| *b = v as u8);
        Ok(())
    }
    fn barrier(&self) -> stratanet::Result<()> {
        self.exchange(&mut [], None);
        Ok(())
    }
}

type Weights = Vec<(String, Vec<f32>)>;

const N: usize = 500; // 10 global batches of 48, then 20
const BATCH: usize = 48;

fn model(seed: u64) -> stratanet::Result<Sequential<B>> {
    let mut m = Sequential::<B>::new().with_seed(seed);
    m.add(Input::new(&[64]))?;
    m.add(Dense::new(32).activation("relu"))?;
    m.add(Dense::new(10).activation("softmax"))?;
    m.compile(
        Adam::new(3e-3),
        "sparse_categorical_crossentropy",
        &["accuracy"],
    )?;
    Ok(m)
}

/// Two epochs on the first `N` digits; `seed` differs per rank on purpose (rank 0's
/// weights and shuffle seed must win).
fn train(strategy: Option<&DataParallel>, seed: u64) -> stratanet::Result<(Weights, Vec<f64>)> {
    train_steered(strategy, seed, false)
}

/// A callback that changes the learning rate before step 2 of epoch 0 and stops training
/// after step 6 of epoch 1 (under a strategy it runs on rank 0 only).
struct Steer;

impl Callback for Steer {
    fn on_train_batch_begin(
        &mut self,
        step: usize,
        ctx: &mut CallbackContext<'_>,
    ) -> stratanet::Result<()> {
        if ctx.state.epoch == 0 && step == 2 {
            ctx.state.learning_rate = 1e-2;
        }
        Ok(())
    }
    fn on_train_batch_end(&mut self, end: BatchEnd<'_>) -> stratanet::Result<()> {
        if end.ctx.state.epoch == 1 && end.step == 6 {
            end.ctx.state.stop_training = true;
        }
        Ok(())
    }
}

fn train_steered(
    strategy: Option<&DataParallel>,
    seed: u64,
    steer: bool,
) -> stratanet::Result<(Weights, Vec<f64>)> {
    let (x, y) = datasets::digits::<B>(Device::Cpu)?;
    let (vx, vy) = (x.narrow(0, N, 100)?, y.narrow(0, N, 100)?);
    let (x, y) = (x.narrow(0, 0, N)?, y.narrow(0, 0, N)?);
    let mut m = model(seed)?;
    let mut opts = FitOptions::new()
        .epochs(2)
        .batch_size(BATCH)
        .verbose(0)
        .validation_data(&vx, &vy);
    if let Some(s) = strategy {
        opts = opts.distribute(s);
    }
    if steer {
        opts = opts.epochs(3).callback(Steer);
    }
    let h = m.fit(&x, &y, opts)?;
    let w = m
        .get_weights()?
        .into_iter()
        .map(|(n, t)| (n, t.data.to_f32_vec()))
        .collect();
    let mut logs = Vec::new();
    for k in ["loss", "accuracy", "val_loss", "val_accuracy"] {
        logs.extend_from_slice(h.get(k).unwrap_or(&[]));
    }
    Ok((w, logs))
}

fn ranks(size: usize) -> Vec<DataParallel> {
    let shared = Arc::new(Shared::default());
    (0..size)
        .map(|rank| {
            DataParallel::new(ThreadRank {
                rank,
                size,
                shared: shared.clone(),
            })
        })
        .collect()
}

fn worst_relative(a: &Weights, b: &Weights) -> f64 {
    let mut worst = 0.0f64;
    for ((_, va), (_, vb)) in a.iter().zip(b) {
        let scale = vb.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
        let diff = va
            .iter()
            .zip(vb)
            .fold(0.0f64, |m, (x, y)| m.max((*x as f64 - *y as f64).abs()));
        worst = worst.max(diff / scale);
    }
    worst
}

#[test]
fn three_thread_ranks_equal_one_process() {
    let (w_ref, logs_ref) = train(None, 11).unwrap();
    let handles: Vec<_> = ranks(3)
        .into_iter()
        .enumerate()
        .map(|(r, s)| {
            // Rank 0 has the reference seed; the others' models start elsewhere and their
            // seeds would shuffle differently: the broadcasts must override both.
            let seed = if r == 0 { 11 } else { 1000 + r as u64 };
            std::thread::spawn(move || train(Some(&s), seed).unwrap())
        })
        .collect();
    let results: Vec<(Weights, Vec<f64>)> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();
    for (r, (w, logs)) in results.iter().enumerate() {
        assert_eq!(w, &results[0].0, "rank {r}'s weights differ from rank 0's");
        assert_eq!(
            logs, &results[0].1,
            "rank {r}'s History differs from rank 0's"
        );
        let worst = worst_relative(w, &w_ref);
        assert!(worst < 1e-5, "rank {r}: weights differ by {worst:.2e}");
        for (a, b) in logs.iter().zip(&logs_ref) {
            assert!(
                ((a - b) / b).abs() < 1e-5,
                "rank {r}: logs {logs:?} vs {logs_ref:?}"
            );
        }
    }
    assert_eq!(logs_ref.len(), 8);
    let (w_init, _) = (model(11).unwrap().get_weights().unwrap(), ());
    let init: Weights = w_init
        .into_iter()
        .map(|(n, t)| (n, t.data.to_f32_vec()))
        .collect();
    assert!(
        worst_relative(&w_ref, &init) > 1e-2,
        "training did not move the weights"
    );
}

#[test]
fn one_rank_strategy_changes_nothing() {
    let single = DataParallel::single();
    assert_eq!(train(Some(&single), 5).unwrap(), train(None, 5).unwrap());
}

#[test]
fn sum_reduction_is_refused() {
    let handles: Vec<_> = ranks(2)
        .into_iter()
        .map(|s| {
            std::thread::spawn(move || -> String {
                let (x, y) = datasets::digits::<B>(Device::Cpu).unwrap();
                let y = y.to_dtype(DType::F32).unwrap().reshape(&[-1, 1]).unwrap();
                let mut m = Sequential::<B>::new().with_seed(1);
                m.add(Input::new(&[64])).unwrap();
                m.add(Dense::new(1)).unwrap();
                let loss = MeanSquaredError.reduction(Reduction::Sum);
                assert_eq!(Loss::<B>::reduction(&loss), Reduction::Sum);
                m.compile(Adam::new(1e-3), loss, &[]).unwrap();
                let opts = FitOptions::new().verbose(0).distribute(&s);
                m.fit(&x, &y, opts).unwrap_err().to_string()
            })
        })
        .collect();
    for h in handles {
        let e = h.join().unwrap();
        assert!(e.contains("reduction 'sum'"), "{e}");
    }
}

#[test]
fn rank_zero_callbacks_steer_every_rank() {
    // A learning-rate change at a batch's begin and a stop at a batch's end, made by the
    // callback on rank 0 only, reach the other ranks at the same step.
    let (w_ref, logs_ref) = train_steered(None, 3, true).unwrap();
    assert_eq!(
        logs_ref.len(),
        8,
        "two epochs: the stop in epoch 1 ended training"
    );
    let handles: Vec<_> = ranks(2)
        .into_iter()
        .map(|s| std::thread::spawn(move || train_steered(Some(&s), 3, true).unwrap()))
        .collect();
    for h in handles {
        let (w, logs) = h.join().unwrap();
        let worst = worst_relative(&w, &w_ref);
        assert!(worst < 1e-5, "weights differ by {worst:.2e}");
        assert_eq!(logs.len(), logs_ref.len());
        for (a, b) in logs.iter().zip(&logs_ref) {
            assert!(((a - b) / b).abs() < 1e-5, "logs {logs:?} vs {logs_ref:?}");
        }
    }
    // Without the callback the run differs (the callback did something).
    let (w_plain, _) = train(None, 3).unwrap();
    assert!(worst_relative(&w_plain, &w_ref) > 1e-3);
}

/// Counts `on_predict_batch_end` / `on_test_batch_end` calls.
struct CountBatches(Arc<AtomicUsize>);

impl Callback for CountBatches {
    fn on_predict_batch_end(
        &mut self,
        _step: usize,
        _ctx: &mut CallbackContext<'_>,
    ) -> stratanet::Result<()> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn on_test_batch_end(&mut self, _end: BatchEnd<'_>) -> stratanet::Result<()> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Two heads of different widths over the digits, so the gather handles several outputs
/// (weights set to `weights` when given).
fn two_heads(seed: u64, weights: Option<&[(String, HostTensor)]>) -> stratanet::Result<Model<B>> {
    let x = Input::new(&[64]).tensor::<B>();
    let h = Dense::new(16).activation("relu").apply(&x)?;
    let digit = Dense::new(10)
        .activation("softmax")
        .name("digit")
        .apply(&h)?;
    let big = Dense::new(1).name("big").apply(&h)?;
    let mut m = Model::new(&[x], &[digit, big])?.with_seed(seed);
    m.compile_with(
        Compile::new(Adam::new(1e-3))
            .loss("digit", "sparse_categorical_crossentropy")
            .loss("big", "mse")
            .metrics("digit", &["accuracy"]),
    )?;
    if let Some(w) = weights {
        m.set_weights(w)?;
    }
    Ok(m)
}

type Inference = (Vec<Vec<f32>>, Vec<f64>, usize);

/// `predict_all` and `evaluate` of [`two_heads`] on the first `n` digits at `batch`,
/// sharded by `strategy` when given; also the number of batch hooks the callbacks saw.
fn infer(
    strategy: Option<&DataParallel>,
    weights: &[(String, HostTensor)],
    n: usize,
    batch: usize,
) -> stratanet::Result<Inference> {
    let (x, y) = datasets::digits::<B>(Device::Cpu)?;
    let (x, y) = (x.narrow(0, 0, n)?, y.narrow(0, 0, n)?);
    let big = y.to_dtype(DType::F32)?.reshape(&[-1, 1])?.mul_scalar(0.5)?;
    let m = two_heads(21, Some(weights))?;
    let seen = Arc::new(AtomicUsize::new(0));
    let mut p = PredictOptions::new()
        .batch_size(batch)
        .callback(CountBatches(seen.clone()));
    let mut e = EvaluateOptions::new()
        .batch_size(batch)
        .callback(CountBatches(seen.clone()));
    if let Some(s) = strategy {
        p = p.distribute(s);
        e = e.distribute(s);
    }
    let outs = m
        .predict_all(&x, p)?
        .iter()
        .map(|t| t.to_vec_f32())
        .collect::<stratanet::Result<Vec<_>>>()?;
    let logs = m.evaluate_with(vec![x.clone()], vec![y, big], e)?;
    let mut figures: Vec<f64> = logs.iter().map(|(_, v)| v).collect();
    figures.push(logs.names().count() as f64);
    Ok((outs, figures, seen.load(Ordering::SeqCst)))
}

#[test]
fn sharded_evaluate_and_predict_equal_one_process() {
    // 500 rows at 48: a short last batch of 20 (6/7/7 over three ranks); 41 rows at 2:
    // rank 0 of three gets no row of any batch.
    // The ranks' models are built apart (as after a `fit` that left them equal).
    let weights = Arc::new(two_heads(21, None).unwrap().get_weights().unwrap());
    for (n, batch) in [(500, 48), (41, 2)] {
        let (outs_ref, logs_ref, seen_ref) = infer(None, &weights, n, batch).unwrap();
        let steps = n.div_ceil(batch);
        assert_eq!(seen_ref, 2 * steps, "one predict and one evaluate pass");
        assert_eq!(outs_ref[0].len(), n * 10);
        assert_eq!(outs_ref[1].len(), n);
        let handles: Vec<_> = ranks(3)
            .into_iter()
            .map(|s| {
                let w = weights.clone();
                std::thread::spawn(move || (s.rank(), infer(Some(&s), &w, n, batch).unwrap()))
            })
            .collect();
        for h in handles {
            let (rank, (outs, logs, seen)) = h.join().unwrap();
            assert_eq!(
                seen,
                if rank == 0 { seen_ref } else { 0 },
                "rank {rank}: hooks"
            );
            for (o, (got, want)) in outs.iter().zip(&outs_ref).enumerate() {
                assert_eq!(got.len(), want.len(), "rank {rank} output {o}");
                for (i, (g, w)) in got.iter().zip(want).enumerate() {
                    assert!(
                        (g - w).abs() <= 1e-6 * w.abs().max(1.0),
                        "n {n} batch {batch} rank {rank} output {o}[{i}]: {g} vs {w}"
                    );
                }
            }
            assert_eq!(logs.len(), logs_ref.len(), "{logs:?} vs {logs_ref:?}");
            for (a, b) in logs.iter().zip(&logs_ref) {
                assert!(
                    (a - b).abs() <= 1e-6 * b.abs().max(1e-3),
                    "n {n} batch {batch} rank {rank}: logs {logs:?} vs {logs_ref:?}"
                );
            }
        }
    }
}
