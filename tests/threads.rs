//! What may be shared across threads, proven on both engines.
//!
//! - Tensors (`Tensor<B>`, and so the engine's tensor: candle's `Tensor`, and `TchTensor`,
//!   which `stratanet-tch` declares `Sync` by an `unsafe impl`) are `Send + Sync`: several
//!   threads may compute from `&Tensor` at once. Proven here by eight threads running a
//!   trained model's forward pass 200 times each through shared references to its live
//!   weight tensors and to one input tensor: every result is bitwise equal to a
//!   single-threaded run.
//! - Models (`Sequential<B>`, `Model<B>`) are `Send + Sync` (layers, optimizers, losses
//!   and metrics are), and `predict`/`evaluate` take `&self`: one model behind an `Arc`
//!   serves several threads at once (`tests/scripts.rs`, `shared_model_serves_threads`).
//!   `fit` takes `&mut self`; a model that is trained meanwhile goes behind a `Mutex`, as
//!   proven here by eight threads calling `predict` 200 times each on one model in a
//!   `Mutex`.

#[macro_use]
mod common;

use std::sync::Mutex;
use stratanet::prelude::*;
use stratanet::Backend;

const THREADS: usize = 8;
const CALLS: usize = 200;

fn assert_send<T: Send>() {}
fn assert_send_sync<T: Send + Sync>() {}

/// A small classifier trained for a few epochs, and an input batch.
fn trained<B: Backend>() -> (Sequential<B>, Tensor<B>) {
    let mut m = Sequential::<B>::new().with_seed(7);
    m.add(Input::new(&[4])).unwrap();
    m.add(Dense::new(16).activation("relu")).unwrap();
    m.add(Dense::new(3).activation("softmax")).unwrap();
    m.compile("adam", "sparse_categorical_crossentropy", &[])
        .unwrap();
    let n = 64;
    let x = Tensor::<B>::uniform(&[n, 4], -1.0, 1.0, 1, DType::F32, Device::Cpu).unwrap();
    let y = Tensor::<B>::from_vec((0..n as i64).map(|i| i % 3).collect::<Vec<_>>(), &[n]).unwrap();
    m.fit(
        &x,
        &y,
        FitOptions::new().epochs(3).batch_size(16).verbose(0),
    )
    .unwrap();
    let batch = x.narrow(0, 0, 8).unwrap();
    (m, batch)
}

/// The model's forward pass written with tensor ops on its weights:
/// `softmax(relu(x k1 + b1) k2 + b2)`.
fn forward<B: Backend>(x: &Tensor<B>, w: &[Tensor<B>]) -> Vec<f32> {
    x.matmul(&w[0])
        .unwrap()
        .add(&w[1])
        .unwrap()
        .relu()
        .unwrap()
        .matmul(&w[2])
        .unwrap()
        .add(&w[3])
        .unwrap()
        .softmax(-1)
        .unwrap()
        .to_vec_f32()
        .unwrap()
}

/// Eight threads compute from the same weight and input tensors through `&` at once.
fn shared_tensors_from_eight_threads<B: Backend>() {
    assert_send_sync::<Tensor<B>>();
    assert_send_sync::<B::Tensor>();
    let (m, x) = trained::<B>();
    let named = m.weights();
    let names: Vec<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "dense/kernel",
            "dense/bias",
            "dense_1/kernel",
            "dense_1/bias"
        ]
    );
    // Handles to the model's live parameters (no copy).
    let w: Vec<Tensor<B>> = named.into_iter().map(|(_, w)| w.value).collect();
    let single = forward(&x, &w);
    // The hand-written pass is the model's.
    let predicted = m.predict_with(&x, 8).unwrap().to_vec_f32().unwrap();
    let diff = single
        .iter()
        .zip(&predicted)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(diff < 1e-6, "forward vs predict: {diff}");
    every_call_matches::<B>(&single, || forward(&x, &w));
}

/// Eight threads call `predict` on one model behind a `Mutex`, with one shared input.
fn one_model_behind_a_mutex_from_eight_threads<B: Backend>() {
    assert_send::<Sequential<B>>();
    assert_send::<stratanet::model::Model<B>>();
    let (m, x) = trained::<B>();
    let single: Vec<f32> = m.predict_with(&x, 4).unwrap().to_vec_f32().unwrap();
    let model = Mutex::new(m);
    every_call_matches::<B>(&single, || {
        let out = model.lock().unwrap().predict_with(&x, 4).unwrap();
        // The host copy is made outside the lock, concurrently.
        out.to_vec_f32().unwrap()
    });
}

/// `THREADS` threads run `call` `CALLS` times each, concurrently; every result must equal
/// `single` bit for bit.
fn every_call_matches<B: Backend>(single: &[f32], call: impl Fn() -> Vec<f32> + Sync) {
    let call = &call;
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || {
                    for call_no in 0..CALLS {
                        let got = call();
                        assert!(
                            got.iter()
                                .zip(single)
                                .all(|(a, b)| a.to_bits() == b.to_bits()),
                            "{}: thread {t}, call {call_no}: {got:?} != {single:?}",
                            B::NAME
                        );
                    }
                })
            })
            .collect();
        for h in workers {
            h.join().expect("a worker thread panicked");
        }
    });
}

engine_tests!(
    shared_tensors_from_eight_threads,
    one_model_behind_a_mutex_from_eight_threads,
);
