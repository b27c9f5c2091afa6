//! A model saved on one engine loads on the other and predicts the same (both directions),
//! and training resumes there.
#![cfg(feature = "tch")]

mod common;
use common::tmp;

use stratanet::layers::{BatchNormalization, Conv2D, MaxPooling2D};
use stratanet::prelude::*;
use stratanet::{Backend, Candle, Tch};

fn cnn<B: Backend>() -> Sequential<B> {
    let mut m = Sequential::<B>::new().with_seed(3);
    m.add(Input::new(&[8, 8, 1])).unwrap();
    m.add(Conv2D::new(4, 3).padding("same").activation("relu"))
        .unwrap();
    m.add(BatchNormalization::new()).unwrap();
    m.add(MaxPooling2D::new(2)).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(3).activation("softmax")).unwrap();
    // SGD with momentum: its state moves between engines exactly, and continued training
    // stays close (Adam's m / sqrt(v) magnifies last-bit differences of near-zero gradients
    // between engines; its exact resume on one engine is tested in tests/saving.rs).
    m.compile(
        Sgd::new(0.05).momentum(0.9),
        "sparse_categorical_crossentropy",
        &["accuracy"],
    )
    .unwrap();
    m
}

fn data<B: Backend>() -> (Tensor<B>, Tensor<B>) {
    let mut rng = stratanet::random::Rng::new(5);
    let x: Vec<f32> = (0..32 * 64).map(|_| rng.uniform(0.0, 1.0) as f32).collect();
    let y: Vec<i64> = (0..32).map(|i| i % 3).collect();
    (
        Tensor::<B>::from_vec(x, &[32, 8, 8, 1]).unwrap(),
        Tensor::<B>::from_vec(y, &[32]).unwrap(),
    )
}

fn close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!(
            (x - y).abs() <= 1e-5 + 1e-5 * x.abs().max(y.abs()),
            "{x} vs {y}"
        );
    }
}

fn round_trip<S: Backend, D: Backend>(tag: &str) {
    let (x, y) = data::<S>();
    let mut src = cnn::<S>();
    src.fit(&x, &y, FitOptions::new().epochs(2).batch_size(8).verbose(0))
        .unwrap();
    let path = tmp(&format!("{tag}.safetensors"));
    src.save(&path).unwrap();
    let mut dst = Sequential::<D>::load(&path).unwrap();
    let (xd, yd) = data::<D>();
    let p_src = src.predict_with(&x, 16).unwrap().to_vec_f32().unwrap();
    let p_dst = dst.predict_with(&xd, 16).unwrap().to_vec_f32().unwrap();
    close(&p_src, &p_dst);
    // weights and optimizer state are bit-identical after the move
    assert_eq!(src.get_weights().unwrap(), dst.get_weights().unwrap());
    let (sv, dv) = (optimizer_variables(&src), optimizer_variables(&dst));
    assert!(!sv.is_empty());
    assert_eq!(sv, dv);
    assert_eq!(
        src.compiled().unwrap().optimizer.iterations(),
        dst.compiled().unwrap().optimizer.iterations()
    );
    // training continues on the other engine from the restored optimizer state
    src.fit(&x, &y, one_epoch()).unwrap();
    dst.fit(&xd, &yd, one_epoch()).unwrap();
    let ws = src.get_weights().unwrap();
    let wd = dst.get_weights().unwrap();
    for ((n, a), (_, b)) in ws.iter().zip(&wd) {
        let (a, b) = (a.data.to_f32_vec(), b.data.to_f32_vec());
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-4 + 1e-4 * x.abs(), "{n}: {x} vs {y}");
        }
    }
}

/// One unshuffled epoch in batches of 8, quietly.
fn one_epoch<B: Backend>() -> FitOptions<B> {
    FitOptions::new()
        .epochs(1)
        .batch_size(8)
        .shuffle(false)
        .verbose(0)
}

/// The optimizer's variables of a compiled model, by name, on the host.
fn optimizer_variables<B: Backend>(m: &Sequential<B>) -> Vec<(String, Vec<f32>)> {
    m.compiled()
        .unwrap()
        .optimizer
        .variables()
        .into_iter()
        .map(|(n, t)| (n, t.to_vec_f32().unwrap()))
        .collect()
}

#[test]
fn candle_to_tch() {
    round_trip::<Candle, Tch>("c2t");
}

#[test]
fn tch_to_candle() {
    round_trip::<Tch, Candle>("t2c");
}
