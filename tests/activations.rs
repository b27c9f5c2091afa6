//! Activation values against closed forms computed on the host in f64.

use stratanet::activations::{Activation, ACTIVATION_NAMES};
use stratanet::layers::{ActivationLayer, CallContext, Layer};
use stratanet::{DefaultBackend as B, Error, Tensor};

const XS: [f32; 13] = [
    -1000.0, -20.0, -3.0, -1.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 1.0, 3.0, 20.0, 1000.0,
];

// Keras' SELU constants.
const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

/// erf in f64: Maclaurin series for |x| < 3, continued fraction for erfc beyond.
fn erf(x: f64) -> f64 {
    let a = x.abs();
    let v = if a == 0.0 {
        0.0
    } else if a < 3.0 {
        let mut term = a;
        let mut sum = a;
        let mut n = 0.0;
        loop {
            n += 1.0;
            term *= -a * a / n;
            let t = term / (2.0 * n + 1.0);
            sum += t;
            if t.abs() <= 1e-17 * sum.abs() || n > 200.0 {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // erfc(a) = exp(-a^2)/sqrt(pi) * 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + ...))))
        let mut f = a;
        for k in (1..80).rev() {
            f = a + (k as f64 / 2.0) / f;
        }
        1.0 - (-a * a).exp() / std::f64::consts::PI.sqrt() / f
    };
    v.copysign(x)
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn log_softmax(row: &[f64]) -> Vec<f64> {
    let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
    row.iter().map(|v| v - lse).collect()
}

fn elementwise(name: &str, x: f64) -> f64 {
    match name {
        "linear" => x,
        "relu" => x.max(0.0),
        "sigmoid" => sigmoid(x),
        "tanh" => x.tanh(),
        "gelu" => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
        "silu" | "swish" => x * sigmoid(x),
        "elu" => {
            if x > 0.0 {
                x
            } else {
                x.exp_m1()
            }
        }
        "selu" => SELU_SCALE * if x > 0.0 { x } else { SELU_ALPHA * x.exp_m1() },
        "leaky_relu" => {
            if x >= 0.0 {
                x
            } else {
                0.2 * x
            }
        }
        "softplus" => softplus(x),
        other => panic!("no elementwise reference for {other}"),
    }
}

/// Host reference for an activation over the last axis of a `[rows, cols]` matrix.
fn reference(name: &str, xs: &[f32], cols: usize) -> Vec<f64> {
    let xs: Vec<f64> = xs.iter().map(|&v| v as f64).collect();
    match name {
        "softmax" | "log_softmax" => xs
            .chunks(cols)
            .flat_map(|row| {
                let l = log_softmax(row);
                if name == "softmax" {
                    l.into_iter().map(f64::exp).collect::<Vec<_>>()
                } else {
                    l
                }
            })
            .collect(),
        _ => xs.iter().map(|&x| elementwise(name, x)).collect(),
    }
}

fn assert_close(what: &str, got: &[f32], want: &[f64], rtol: f64, atol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let g = g as f64;
        assert!(
            g.is_finite(),
            "{what}[{i}]: got non-finite {g} where {w} was expected"
        );
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{what}[{i}]: got {g}, expected {w} (|diff| {})",
            (g - w).abs()
        );
    }
}

#[test]
fn host_erf_matches_known_values() {
    // Sanity of the reference itself.
    assert!((erf(1.0) - 0.842_700_792_949_714_9).abs() < 1e-15);
    assert!((erf(0.5) - 0.520_499_877_813_046_5).abs() < 1e-15);
    assert!((erf(3.5) - 0.999_999_256_901_627_7).abs() < 1e-14);
    assert!((erf(-2.0) + 0.995_322_265_018_952_7).abs() < 1e-15);
    let gelu1 = 0.5 * (1.0 + erf(1.0 / std::f64::consts::SQRT_2));
    assert!((gelu1 - 0.841_344_746_068_542_9).abs() < 1e-15);
}

#[test]
fn every_activation_matches_closed_form_including_large_magnitudes() {
    let x = Tensor::<B>::from_vec(XS.to_vec(), &[XS.len()]).unwrap();
    for &name in ACTIVATION_NAMES {
        let act = Activation::from_name(name).unwrap();
        let got = act.apply(&x).unwrap();
        assert_eq!(got.shape(), vec![XS.len()], "{name}: shape");
        let got = got.to_vec_f32().unwrap();
        let want = reference(name, &XS, XS.len());
        assert_close(name, &got, &want, 1e-5, 1e-6);
    }
}

#[test]
fn known_values() {
    let x = Tensor::<B>::from_vec(vec![1.0f32, -1.0, 0.0], &[3]).unwrap();
    for (name, act, want) in [
        (
            "gelu",
            Activation::Gelu,
            [0.841_344_746_068_542_9, -0.158_655_253_931_457_05, 0.0],
        ),
        (
            "selu",
            Activation::Selu,
            [1.050_700_987_355_480_5, -1.111_330_737_812_562_4, 0.0],
        ),
    ] {
        let got = act.apply(&x).unwrap().to_vec_f32().unwrap();
        assert_close(name, &got, &want, 1e-6, 1e-7);
    }
    // selu saturates at -scale * alpha
    let big = Tensor::<B>::from_vec(vec![-1000.0f32], &[1]).unwrap();
    let s = Activation::Selu.apply(&big).unwrap().to_vec_f32().unwrap()[0] as f64;
    assert!(
        (s + SELU_SCALE * SELU_ALPHA).abs() < 1e-5,
        "selu(-1000) = {s}"
    );
    let lr = Activation::from_name("leaky_relu").unwrap();
    assert_eq!(lr, Activation::LeakyRelu(0.2));
    let v = lr.apply(&x).unwrap().to_vec_f32().unwrap();
    assert_close("leaky_relu", &v, &[1.0, -0.2, 0.0], 1e-6, 1e-7);
    let custom = Activation::LeakyRelu(0.01)
        .apply(&x)
        .unwrap()
        .to_vec_f32()
        .unwrap();
    assert_close("leaky_relu(0.01)", &custom, &[1.0, -0.01, 0.0], 1e-6, 1e-7);
    let sp = Activation::Softplus
        .apply(&x)
        .unwrap()
        .to_vec_f32()
        .unwrap();
    assert_close(
        "softplus",
        &sp,
        &[
            1.313_261_687_518_222_8,
            0.313_261_687_518_222_8,
            std::f64::consts::LN_2,
        ],
        1e-6,
        1e-7,
    );
}

#[test]
fn softmax_variants_act_on_last_axis_of_a_batch() {
    let rows: Vec<f32> = vec![
        1.0, 2.0, 3.0, 4.0, //
        -1000.0, 0.0, 1000.0, 999.0, //
        5.0, 5.0, 5.0, 5.0,
    ];
    let x = Tensor::<B>::from_vec(rows.clone(), &[3, 4]).unwrap();
    for name in ["softmax", "log_softmax"] {
        let act = Activation::from_name(name).unwrap();
        let got = act.apply(&x).unwrap();
        assert_eq!(got.shape(), vec![3, 4]);
        let got = got.to_vec_f32().unwrap();
        assert_close(name, &got, &reference(name, &rows, 4), 1e-5, 1e-6);
        // the layer form does the same
        let layer = ActivationLayer::new(name);
        let y = Layer::<B>::call(&layer, &x, &mut CallContext::inference())
            .unwrap()
            .to_vec_f32()
            .unwrap();
        assert_eq!(
            y, got,
            "{name}: ActivationLayer differs from Activation::apply"
        );
    }
    let sm = Activation::Softmax.apply(&x).unwrap().to_vec_f32().unwrap();
    for (r, row) in sm.chunks(4).enumerate() {
        let s: f32 = row.iter().sum();
        assert!((s - 1.0).abs() < 1e-6, "row {r} sums to {s}");
    }
}

#[test]
fn names_and_aliases() {
    assert_eq!(Activation::from_name("swish").unwrap(), Activation::Silu);
    assert_eq!(Activation::from_name("silu").unwrap(), Activation::Silu);
    assert_eq!(Activation::from_name("").unwrap(), Activation::Linear);
    assert_eq!(Activation::from_name("linear").unwrap(), Activation::Linear);
    assert_eq!("tanh".parse::<Activation>().unwrap(), Activation::Tanh);
    for &name in ACTIVATION_NAMES {
        let a = Activation::from_name(name).unwrap();
        let canonical = if name == "swish" { "silu" } else { name };
        assert_eq!(a.name(), canonical);
    }
}

#[test]
fn unknown_name_lists_known_names() {
    let err = Activation::from_name("relu6x").unwrap_err();
    match &err {
        Error::UnknownName { kind, name, known } => {
            assert_eq!(kind, "activation");
            assert_eq!(name, "relu6x");
            for n in ACTIVATION_NAMES {
                assert!(known.iter().any(|k| k == n), "{n} missing from known list");
            }
        }
        other => panic!("expected UnknownName, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("relu6x"), "{msg}");
    for n in [
        "relu",
        "sigmoid",
        "softmax",
        "gelu",
        "leaky_relu",
        "softplus",
    ] {
        assert!(msg.contains(n), "message should list {n}: {msg}");
    }
    // An ActivationLayer with an unknown name fails validation, not at construction.
    let layer = ActivationLayer::new("nope");
    assert!(Layer::<B>::validate(&layer).is_err());
}

#[test]
fn config_round_trip() {
    let all = [
        Activation::Linear,
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softmax,
        Activation::LogSoftmax,
        Activation::Gelu,
        Activation::Silu,
        Activation::Elu,
        Activation::Selu,
        Activation::LeakyRelu(0.2),
        Activation::LeakyRelu(0.05),
        Activation::Softplus,
    ];
    for a in all {
        let cfg = a.to_config();
        let back = Activation::from_config(&cfg).unwrap();
        assert_eq!(back, a, "round trip of {cfg}");
        // and through a JSON string
        let s = serde_json::to_string(&cfg).unwrap();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(Activation::from_config(&v).unwrap(), a);
    }
    assert_eq!(Activation::Relu.to_config(), serde_json::json!("relu"));
    assert_eq!(
        Activation::LeakyRelu(0.05).to_config(),
        serde_json::json!({"name": "leaky_relu", "negative_slope": 0.05})
    );
    assert_eq!(
        Activation::from_config(&serde_json::Value::Null).unwrap(),
        Activation::Linear
    );
    assert!(Activation::from_config(&serde_json::json!("bogus")).is_err());
    assert!(Activation::from_config(&serde_json::json!(3)).is_err());
}

#[test]
fn gradients_are_finite_at_large_magnitudes() {
    // d/dx of softplus is sigmoid, of sigmoid is s(1-s): both finite (and exact) at ±1000.
    let x = Tensor::<B>::from_vec(vec![-1000.0f32, 0.0, 1000.0], &[3])
        .unwrap()
        .to_param()
        .unwrap();
    let l = Activation::Softplus.apply(&x).unwrap().sum_all().unwrap();
    let g = l.grad(std::slice::from_ref(&x)).unwrap()[0]
        .clone()
        .unwrap()
        .to_vec_f32()
        .unwrap();
    assert_close("d softplus", &g, &[0.0, 0.5, 1.0], 1e-6, 1e-7);
}
