//! BatchNormalization and LayerNormalization against PyTorch references
//! (`scripts/make_layer_fixtures.py` -> `tests/fixtures/layers_norm.safetensors`):
//! training-mode outputs, gradients and updated moving statistics (Keras' momentum and
//! biased variance), inference with the moving statistics; plus parameter counts, config
//! round trips and errors. Runs on candle and, with feature `tch`, libtorch.

#[macro_use]
mod common;

mod layer_fixtures;

use layer_fixtures::{call_error, check, round_trip, run_case, Fixture};
use stratanet::layers::{
    BatchNormalization, BuildContext, CallContext, Input, Layer, LayerNormalization,
};
use stratanet::{Backend, DType, Device, Sequential, Tensor};

fn load_moving<B: Backend>(fx: &Fixture, case: &str, suffix: &str, l: &BatchNormalization<B>) {
    let w = l.weights();
    for (i, name) in [(2, "moving_mean"), (3, "moving_variance")] {
        assert_eq!(w[i].name, name);
        assert!(!w[i].trainable);
        w[i].value
            .assign(&fx.tensor(&format!("{case}/{name}{suffix}")))
            .unwrap();
    }
}

fn batch_norm<B: Backend>() {
    let fx = Fixture::load("layers_norm.safetensors");
    for case in ["bn_2d", "bn_4d"] {
        // "train": batch statistics, moving statistics updated in place from "_init";
        // "infer": the moving statistics, which stay unchanged
        for (mode, moving, training) in [("train", "_init", true), ("infer", "", false)] {
            let case = format!("{case}_{mode}");
            let x = fx.tensor::<B>(&format!("{case}/x"));
            let mut l = BatchNormalization::<B>::new().momentum(0.9);
            l.build(
                &x.shape()[1..],
                &mut BuildContext::new(Device::Cpu, DType::F32, 0),
            )
            .unwrap();
            load_moving(&fx, &case, moving, &l);
            let l = run_case::<B, _>(&fx, &case, l, &["gamma", "beta"], training);
            let w = l.weights();
            check(&fx, &format!("{case}/moving_mean"), &w[2].value);
            check(&fx, &format!("{case}/moving_variance"), &w[3].value);
        }
    }
}

/// A frozen BatchNormalization runs in inference mode even in training (Keras).
fn frozen_batch_norm<B: Backend>() {
    let fx = Fixture::load("layers_norm.safetensors");
    let mut l = BatchNormalization::<B>::new();
    let x = fx.tensor::<B>("bn_2d_infer/x");
    l.build(
        &x.shape()[1..],
        &mut BuildContext::new(Device::Cpu, DType::F32, 0),
    )
    .unwrap();
    load_moving(&fx, "bn_2d_infer", "", &l);
    let w = l.weights();
    w[0].value.assign(&fx.tensor("bn_2d_infer/gamma")).unwrap();
    w[1].value.assign(&fx.tensor("bn_2d_infer/beta")).unwrap();
    Layer::<B>::set_trainable(&mut l, false);
    let y = l.call(&x, &mut CallContext::training(1)).unwrap();
    check(&fx, "bn_2d_infer/out", &y);
    check(&fx, "bn_2d_infer/moving_mean", &l.weights()[2].value);
    assert!(l.weights().iter().all(|w| !w.trainable));
}

fn layer_norm<B: Backend>() {
    let fx = Fixture::load("layers_norm.safetensors");
    for training in [true, false] {
        run_case::<B, _>(
            &fx,
            "ln",
            LayerNormalization::<B>::new(),
            &["gamma", "beta"],
            training,
        );
    }
}

fn param_counts<B: Backend>() {
    let mut m = Sequential::<B>::new();
    m.add(Input::new(&[8, 8, 64])).unwrap();
    m.add(BatchNormalization::<B>::new()).unwrap();
    assert_eq!(m.count_params(), (128, 128));
    m.add(LayerNormalization::<B>::new()).unwrap();
    assert_eq!(m.count_params(), (256, 128));
    let mut m = Sequential::<B>::new();
    m.add(Input::new(&[3, 5])).unwrap();
    m.add(BatchNormalization::<B>::new().axis(1).center(false))
        .unwrap();
    assert_eq!(m.count_params(), (3, 6));
}

fn configs<B: Backend>() {
    round_trip::<B>(
        &BatchNormalization::<B>::new()
            .axis(1)
            .momentum(0.9)
            .epsilon(1e-5)
            .center(false),
    );
    round_trip::<B>(&LayerNormalization::<B>::new().epsilon(1e-6).scale(false));
}

fn errors<B: Backend>() {
    let mut bn = BatchNormalization::<B>::new().name("bn_1");
    bn.build(&[4], &mut BuildContext::new(Device::Cpu, DType::F32, 0))
        .unwrap();
    let x = Tensor::<B>::zeros(&[2, 5], DType::F32, Device::Cpu).unwrap();
    let msg = call_error::<B>(&bn, &x);
    assert!(
        msg.contains("bn_1") && msg.contains("[2, 5]") && msg.contains("4"),
        "{msg}"
    );
    let x = Tensor::<B>::zeros(&[4], DType::F32, Device::Cpu).unwrap();
    let msg = call_error::<B>(&bn, &x);
    assert!(msg.contains("bn_1") && msg.contains("[4]"), "{msg}");
    let mut ln = LayerNormalization::<B>::new().name("ln_1");
    ln.build(&[3, 4], &mut BuildContext::new(Device::Cpu, DType::F32, 0))
        .unwrap();
    let x = Tensor::<B>::zeros(&[2, 3, 5], DType::F32, Device::Cpu).unwrap();
    let msg = call_error::<B>(&ln, &x);
    assert!(msg.contains("ln_1") && msg.contains("[2, 3, 5]"), "{msg}");
    let mut m = Sequential::<B>::new();
    m.add(Input::new(&[4])).unwrap();
    let e = m
        .add(BatchNormalization::<B>::new().momentum(1.5))
        .err()
        .unwrap();
    assert!(e.to_string().contains("momentum"), "{e}");
}

engine_tests!(
    batch_norm,
    frozen_batch_norm,
    layer_norm,
    param_counts,
    configs,
    errors,
);
