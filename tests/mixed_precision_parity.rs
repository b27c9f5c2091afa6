//! bf16 forward outputs of Dense, Conv2D and LSTM against PyTorch's automatic mixed
//! precision (`scripts/make_autocast_fixtures.py` -> `tests/fixtures/autocast_bf16.safetensors`):
//! each layer holds the fixture's f32 weights and runs with the `mixed_bfloat16` compute
//! dtype (weights read through the cast, input cast on entry), on both engines.
//!
//! Tolerance, in units of bf16's epsilon (2^-7): |got - want| <= 2 eps (1 + |want|) for
//! Dense and Conv2D (both round one f32-accumulated sum to bf16: at most one rounding step
//! apart, as the engines sum in another order), 8 eps for the LSTM (six steps whose gates
//! and states are each rounded to bf16, so rounding differences compound). The test also
//! checks that each result differs from the f32 one by more than f32 rounding, i.e. that it
//! really was computed in bf16.

#[macro_use]
mod common;

mod layer_fixtures;

use layer_fixtures::Fixture;
use stratanet::layers::{BuildContext, CallContext, Conv2D, Dense, Layer, LSTM};
use stratanet::{Backend, DType, Device};

const EPS: f64 = 1.0 / 128.0;

fn fixture() -> Fixture {
    Fixture {
        name: "autocast_bf16.safetensors".into(),
        bytes: common::read_fixture("autocast_bf16.safetensors", "make_autocast_fixtures.py"),
    }
}

/// Builds `layer` for the case's input, assigns `weights` from the fixture, calls it under
/// the bf16 compute dtype and checks the output against `case/out_bf16`.
fn case<B: Backend>(name: &str, mut layer: impl Layer<B>, weights: &[&str], eps_multiple: f64) {
    let fx = fixture();
    let x = fx.tensor::<B>(&format!("{name}/x"));
    let mut build = BuildContext::new(Device::Cpu, DType::F32, 0);
    layer.build(&x.shape()[1..], &mut build).unwrap();
    let all = layer.weights();
    for w in weights {
        let slot = all.iter().find(|s| s.name == *w).unwrap();
        slot.value
            .assign(&fx.tensor(&format!("{name}/{w}")))
            .unwrap();
    }
    let mut ctx = CallContext::inference().with_compute_dtype(Some(DType::BF16));
    let y = layer.call(&x, &mut ctx).unwrap();
    assert_eq!(y.dtype(), DType::BF16, "{name}: computed in bf16");
    for w in layer.weights() {
        assert_eq!(w.value.dtype(), DType::F32, "{name}: {} stays f32", w.name);
    }
    let (shape, want) = fx.values(&format!("{name}/out_bf16"));
    let (_, f32_out) = fx.values(&format!("{name}/out"));
    assert_eq!(y.shape(), shape, "{name}: shape");
    let got = y.to_vec_f64().unwrap();
    let tol = eps_multiple * EPS;
    let mut worst = 0.0f64;
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let err = (g - w).abs() / (1.0 + w.abs());
        worst = worst.max(err);
        assert!(
            err <= tol,
            "{}: {name}[{i}]: got {g}, PyTorch autocast {w} (tolerance {eps_multiple} eps)",
            B::NAME
        );
    }
    let off_f32 = got
        .iter()
        .zip(&f32_out)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max);
    println!(
        "{}: {name}: worst |got - autocast| / (1 + |want|) = {:.2} eps; max |got - f32| = {off_f32:.2e}",
        B::NAME,
        worst / EPS
    );
    assert!(
        off_f32 > 1e-4,
        "{name}: bf16 result equals the f32 one ({off_f32})"
    );
}

fn dense<B: Backend>() {
    case::<B>("dense", Dense::new(12), &["kernel", "bias"], 2.0);
}

fn conv<B: Backend>() {
    case::<B>("conv", Conv2D::new(4, 3), &["kernel", "bias"], 2.0);
}

fn lstm<B: Backend>() {
    case::<B>(
        "lstm",
        LSTM::<B>::new(5),
        &["kernel", "recurrent_kernel", "bias"],
        8.0,
    );
}

engine_tests!(dense, conv, lstm);
