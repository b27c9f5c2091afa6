//! Layer behaviour and values against host computations.

use stratanet::initializers::{fans, Initializer};
use stratanet::layers::{
    layer_from_config, ActivationLayer, BuildContext, CallContext, Dense, Dropout, Flatten, Input,
    Layer, Reshape,
};
use stratanet::random::Rng;
use stratanet::regularizers::Regularizer;
use stratanet::{DType, DefaultBackend as B, Device, Error, Sequential, Tensor};

fn ctx(seed: u64) -> BuildContext {
    BuildContext::new(Device::Cpu, DType::F32, seed)
}

fn infer() -> CallContext {
    CallContext::inference()
}

fn t(data: Vec<f32>, shape: &[usize]) -> Tensor<B> {
    Tensor::<B>::from_vec(data, shape).unwrap()
}

fn assert_close(what: &str, got: &[f32], want: &[f64], rtol: f64, atol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let g = g as f64;
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{what}[{i}]: got {g}, expected {w}"
        );
    }
}

/// `x [n, k] @ w [k, m] + b [m]` on the host.
fn host_dense(x: &[f32], n: usize, k: usize, w: &[f32], m: usize, b: Option<&[f32]>) -> Vec<f64> {
    let mut out = vec![0.0f64; n * m];
    for r in 0..n {
        for c in 0..m {
            let mut s = b.map_or(0.0, |b| b[c] as f64);
            for i in 0..k {
                s += x[r * k + i] as f64 * w[i * m + c] as f64;
            }
            out[r * m + c] = s;
        }
    }
    out
}

fn built_dense(d: Dense<B>, input: &[usize], seed: u64) -> Dense<B> {
    let mut d = d;
    Layer::<B>::build(&mut d, input, &mut ctx(seed)).unwrap();
    d
}

// ------------------------------------------------------------------ Dense

#[test]
fn dense_constant_weights() {
    let d = built_dense(
        Dense::new(2)
            .kernel_initializer(Initializer::Constant(0.5))
            .bias_initializer(Initializer::Constant(-1.0)),
        &[3],
        0,
    );
    let x = t(vec![1.0, 2.0, 3.0, -4.0, 0.0, 2.0], &[2, 3]);
    let y = Layer::call(&d, &x, &mut infer()).unwrap();
    assert_eq!(y.shape(), vec![2, 2]);
    // row sums 6 and -2: 0.5 * sum - 1
    assert_eq!(y.to_vec_f32().unwrap(), vec![2.0, 2.0, -2.0, -2.0]);
    let names: Vec<String> = Layer::weights(&d).into_iter().map(|w| w.name).collect();
    assert_eq!(names, vec!["kernel", "bias"]);
    assert_eq!(d.kernel().unwrap().shape(), vec![3, 2]);
    assert_eq!(d.bias().unwrap().shape(), vec![2]);
    assert!(d.kernel().unwrap().is_param());
}

#[test]
fn dense_glorot_kernel_matches_host_matmul_with_activation() {
    let d = built_dense(
        Dense::new(5)
            .bias_initializer(Initializer::Constant(0.1))
            .activation("relu"),
        &[4],
        42,
    );
    let w = d.kernel().unwrap().to_vec_f32().unwrap();
    let b = d.bias().unwrap().to_vec_f32().unwrap();
    assert!(b.iter().all(|&v| v == 0.1));
    let xs: Vec<f32> = (0..12).map(|i| (i as f32 - 5.5) * 0.3).collect();
    let y = Layer::call(&d, &t(xs.clone(), &[3, 4]), &mut infer())
        .unwrap()
        .to_vec_f32()
        .unwrap();
    let want: Vec<f64> = host_dense(&xs, 3, 4, &w, 5, Some(&b))
        .into_iter()
        .map(|v| v.max(0.0))
        .collect();
    assert_close("dense relu", &y, &want, 1e-5, 1e-6);
}

#[test]
fn dense_on_rank3_input_applies_to_last_axis() {
    let d = built_dense(
        Dense::new(3).bias_initializer(Initializer::Constant(0.25)),
        &[5, 4],
        7,
    );
    assert_eq!(Layer::<B>::output_shape(&d, &[5, 4]).unwrap(), vec![5, 3]);
    let w = d.kernel().unwrap().to_vec_f32().unwrap();
    assert_eq!(d.kernel().unwrap().shape(), vec![4, 3]);
    let xs: Vec<f32> = (0..2 * 5 * 4)
        .map(|i| ((i * 7 % 11) as f32) / 5.0 - 1.0)
        .collect();
    let y = Layer::call(&d, &t(xs.clone(), &[2, 5, 4]), &mut infer()).unwrap();
    assert_eq!(y.shape(), vec![2, 5, 3]);
    let want = host_dense(&xs, 10, 4, &w, 3, Some(&[0.25, 0.25, 0.25]));
    assert_close("dense rank 3", &y.to_vec_f32().unwrap(), &want, 1e-5, 1e-6);
}

#[test]
fn dense_without_bias() {
    let d = built_dense(Dense::new(2).use_bias(false), &[3], 3);
    assert!(d.bias().is_none());
    let ws = Layer::weights(&d);
    assert_eq!(ws.len(), 1);
    assert_eq!(ws[0].name, "kernel");
    let w = d.kernel().unwrap().to_vec_f32().unwrap();
    let xs = vec![1.0f32, -2.0, 0.5, 3.0, 1.0, -1.0];
    let y = Layer::call(&d, &t(xs.clone(), &[2, 3]), &mut infer())
        .unwrap()
        .to_vec_f32()
        .unwrap();
    assert_close(
        "no bias",
        &y,
        &host_dense(&xs, 2, 3, &w, 2, None),
        1e-5,
        1e-6,
    );
}

#[test]
fn dense_wrong_last_dim_error_names_layer_and_shapes() {
    let d = built_dense(Dense::new(2).name("dense_7"), &[3], 0);
    let err = Layer::call(&d, &t(vec![0.0; 8], &[2, 4]), &mut infer()).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("dense_7"), "{msg}");
    assert!(msg.contains("last dimension 3"), "{msg}");
    assert!(msg.contains("[2, 4]"), "{msg}");
    // output_shape reports the same problem
    let err = Layer::<B>::output_shape(&d, &[4]).unwrap_err().to_string();
    assert!(
        err.contains("dense_7") && err.contains('3') && err.contains("[4]"),
        "{err}"
    );
}

#[test]
fn dense_call_before_build_and_zero_units_error() {
    let d = Dense::<B>::new(2).name("dense_x");
    let err = Layer::call(&d, &t(vec![0.0; 6], &[2, 3]), &mut infer()).unwrap_err();
    assert!(matches!(err, Error::NotReady { .. }), "{err:?}");
    assert!(err.to_string().contains("dense_x"));
    let z = Dense::<B>::new(0);
    assert!(Layer::validate(&z).is_err());
    let bad_act = Dense::<B>::new(2).activation("nope");
    assert!(Layer::validate(&bad_act).is_err());
}

#[test]
fn dense_gradients_match_closed_form() {
    let d = built_dense(
        Dense::new(2)
            .kernel_initializer(Initializer::RandomNormal(0.0, 1.0))
            .bias_initializer(Initializer::Constant(0.3)),
        &[3],
        11,
    );
    let (k, b) = (d.kernel().unwrap().clone(), d.bias().unwrap().clone());
    let w = k.to_vec_f32().unwrap();
    let bv = b.to_vec_f32().unwrap();
    let xs = vec![
        1.0f32, -2.0, 0.5, 3.0, 1.0, -1.0, 0.25, 0.5, 2.0, -0.5, -1.5, 1.0,
    ];
    let x = t(xs.clone(), &[4, 3]);

    // L = sum(y): dL/dW = x^T 1, dL/db = N
    let y = Layer::call(&d, &x, &mut infer()).unwrap();
    let g = y.sum_all().unwrap().grad(&[k.clone(), b.clone()]).unwrap();
    let gw = g[0].as_ref().unwrap().to_vec_f32().unwrap();
    let gb = g[1].as_ref().unwrap().to_vec_f32().unwrap();
    let mut want_w = vec![0.0f64; 6];
    for r in 0..4 {
        for i in 0..3 {
            for c in 0..2 {
                want_w[i * 2 + c] += xs[r * 3 + i] as f64;
            }
        }
    }
    assert_close("dW sum", &gw, &want_w, 1e-5, 1e-6);
    assert_close("db sum", &gb, &[4.0, 4.0], 1e-6, 1e-6);

    // L = sum(y^2): dL/dy = 2y, dL/dW = x^T 2y, dL/db = sum_n 2y
    let y = Layer::call(&d, &x, &mut infer()).unwrap();
    let g = y
        .square()
        .unwrap()
        .sum_all()
        .unwrap()
        .grad(&[k, b])
        .unwrap();
    let gw = g[0].as_ref().unwrap().to_vec_f32().unwrap();
    let gb = g[1].as_ref().unwrap().to_vec_f32().unwrap();
    let yh = host_dense(&xs, 4, 3, &w, 2, Some(&bv));
    let mut want_w = vec![0.0f64; 6];
    let mut want_b = [0.0f64; 2];
    for r in 0..4 {
        for c in 0..2 {
            let dy = 2.0 * yh[r * 2 + c];
            want_b[c] += dy;
            for i in 0..3 {
                want_w[i * 2 + c] += xs[r * 3 + i] as f64 * dy;
            }
        }
    }
    assert_close("dW sq", &gw, &want_w, 1e-5, 1e-5);
    assert_close("db sq", &gb, &want_b, 1e-5, 1e-5);
}

#[test]
fn dense_same_seed_same_weights() {
    let a = built_dense(Dense::new(8), &[16], 99);
    let b = built_dense(Dense::new(8), &[16], 99);
    let c = built_dense(Dense::new(8), &[16], 100);
    let (wa, wb, wc) = (
        a.kernel().unwrap().to_vec_f32().unwrap(),
        b.kernel().unwrap().to_vec_f32().unwrap(),
        c.kernel().unwrap().to_vec_f32().unwrap(),
    );
    assert_eq!(wa, wb);
    assert_ne!(wa, wc);
}

// ------------------------------------------------------------------ initializers

/// Asserts that `maxabs`, the largest magnitude drawn by `init`, stays within `bound` and
/// comes within the fraction `near` of it.
fn assert_reaches(init: &Initializer, maxabs: f64, bound: f64, near: f64) {
    assert!(
        maxabs <= bound * (1.0 + 1e-6),
        "{init:?}: {maxabs} beyond {bound}"
    );
    assert!(
        maxabs > bound * near,
        "{init:?}: max {maxabs} should approach {bound}"
    );
}

fn stats(v: &[f64]) -> (f64, f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    let maxabs = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    (mean, var.sqrt(), maxabs)
}

/// A large kernel drawn through a built Dense layer (so the layer path is covered too).
fn kernel_values(init: Initializer, fan_in: usize, fan_out: usize) -> Vec<f64> {
    let d = built_dense(Dense::new(fan_out).kernel_initializer(init), &[fan_in], 5);
    let k = d.kernel().unwrap();
    assert_eq!(k.shape(), vec![fan_in, fan_out]);
    k.to_vec_f64().unwrap()
}

#[test]
fn fans_follow_keras() {
    assert_eq!(fans(&[400, 600]), (400.0, 600.0));
    assert_eq!(fans(&[3, 3, 16, 32]), (144.0, 288.0));
    assert_eq!(fans(&[7]), (7.0, 7.0));
}

#[test]
fn uniform_initializers_bounds_and_std() {
    let (fi, fo) = (400usize, 600usize);
    for (init, limit) in [
        (Initializer::GlorotUniform, (6.0 / (fi + fo) as f64).sqrt()),
        (Initializer::HeUniform, (6.0 / fi as f64).sqrt()),
        (Initializer::LecunUniform, (3.0 / fi as f64).sqrt()),
    ] {
        let v = kernel_values(init, fi, fo);
        let (mean, std, maxabs) = stats(&v);
        assert_reaches(&init, maxabs, limit, 0.999);
        // uniform on [-l, l]: std = l / sqrt(3)
        let want = limit / 3f64.sqrt();
        assert!(
            (std - want).abs() < 0.01 * want,
            "{init:?}: std {std} vs {want}"
        );
        assert!(mean.abs() < 0.01 * want, "{init:?}: mean {mean}");
    }
}

#[test]
fn truncated_normal_initializers_std_and_truncation() {
    let (fi, fo) = (400usize, 600usize);
    for (init, var) in [
        (Initializer::GlorotNormal, 2.0 / (fi + fo) as f64),
        (Initializer::HeNormal, 2.0 / fi as f64),
        (Initializer::LecunNormal, 1.0 / fi as f64),
    ] {
        let v = kernel_values(init, fi, fo);
        let (mean, std, maxabs) = stats(&v);
        let want = var.sqrt();
        assert!(
            (std - want).abs() < 0.015 * want,
            "{init:?}: std {std} vs {want}"
        );
        assert!(mean.abs() < 0.01 * want, "{init:?}: mean {mean}");
        // truncated at two standard deviations of the underlying normal
        let cut = 2.0 * want / 0.879_625_661_034_239_8;
        assert_reaches(&init, maxabs, cut, 0.99);
    }
}

#[test]
fn constant_and_random_initializers() {
    let shape = [3usize, 4];
    let mut rng = Rng::new(1);
    assert_eq!(Initializer::Zeros.sample(&shape, &mut rng), vec![0.0; 12]);
    assert_eq!(Initializer::Ones.sample(&shape, &mut rng), vec![1.0; 12]);
    assert_eq!(
        Initializer::Constant(-2.5).sample(&shape, &mut rng),
        vec![-2.5; 12]
    );
    let z: Tensor<B> = Initializer::Ones
        .init(&shape, DType::F64, Device::Cpu, &mut rng)
        .unwrap();
    assert_eq!(z.dtype(), DType::F64);
    assert_eq!(z.shape(), vec![3, 4]);

    let u = Initializer::RandomUniform(2.0, 3.0).sample(&[100_000], &mut rng);
    assert!(u.iter().all(|&x| (2.0..3.0).contains(&x)));
    let (m, s, _) = stats(&u);
    assert!((m - 2.5).abs() < 0.005, "{m}");
    assert!((s - 1.0 / 12f64.sqrt()).abs() < 0.005, "{s}");

    let nrm = Initializer::RandomNormal(1.0, 0.5).sample(&[100_000], &mut rng);
    let (m, s, _) = stats(&nrm);
    assert!((m - 1.0).abs() < 0.01, "{m}");
    assert!((s - 0.5).abs() < 0.01, "{s}");
}

#[test]
fn initializer_names_and_configs() {
    for name in [
        "glorot_uniform",
        "glorot_normal",
        "he_uniform",
        "he_normal",
        "lecun_normal",
        "lecun_uniform",
        "zeros",
        "ones",
    ] {
        let i = Initializer::from_name(name).unwrap();
        assert_eq!(i.to_config(), serde_json::json!(name));
        assert_eq!(Initializer::from_config(&i.to_config()).unwrap(), i);
    }
    for i in [
        Initializer::Constant(0.3),
        Initializer::RandomUniform(-1.0, 2.0),
        Initializer::RandomNormal(0.5, 0.1),
    ] {
        assert_eq!(Initializer::from_config(&i.to_config()).unwrap(), i);
    }
    let err = Initializer::from_name("xavier").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("xavier") && msg.contains("glorot_uniform"),
        "{msg}"
    );
    // every name the error lists as known is accepted (Keras' defaults for the
    // parameterised ones)
    let Error::UnknownName { known, .. } = err else {
        panic!("expected UnknownName")
    };
    for name in &known {
        assert!(
            Initializer::from_name(name).is_ok(),
            "listed name {name} rejected"
        );
    }
    assert_eq!(
        Initializer::from_name("constant").unwrap(),
        Initializer::Constant(0.0)
    );
    assert_eq!(
        Initializer::from_name("random_uniform").unwrap(),
        Initializer::RandomUniform(-0.05, 0.05)
    );
    assert_eq!(
        Initializer::from_name("random_normal").unwrap(),
        Initializer::RandomNormal(0.0, 0.05)
    );
}

// ------------------------------------------------------------------ regularizers

#[test]
fn kernel_and_bias_regularization_penalty() {
    let d = built_dense(
        Dense::new(2)
            .kernel_initializer(Initializer::Constant(-0.5))
            .bias_initializer(Initializer::Constant(2.0))
            .kernel_regularizer(Regularizer::l1_l2(0.01, 0.02))
            .bias_regularizer(Regularizer::l2(0.1)),
        &[3],
        0,
    );
    // kernel: 0.01 * 6 * 0.5 + 0.02 * 6 * 0.25 = 0.06; bias: 0.1 * 2 * 4 = 0.8
    let p = Layer::regularization_loss(&d).unwrap().unwrap();
    assert_eq!(p.numel(), 1);
    assert!(
        (p.item().unwrap() - 0.86).abs() < 1e-6,
        "{}",
        p.item().unwrap()
    );

    // random kernel: compare to the host formula
    let d = built_dense(
        Dense::new(3).kernel_regularizer(Regularizer::l1(0.05)),
        &[4],
        8,
    );
    let w = d.kernel().unwrap().to_vec_f64().unwrap();
    let want = 0.05 * w.iter().map(|x| x.abs()).sum::<f64>();
    let got = Layer::regularization_loss(&d)
        .unwrap()
        .unwrap()
        .item()
        .unwrap();
    assert!((got - want).abs() < 1e-6 + 1e-5 * want, "{got} vs {want}");

    let plain = built_dense(Dense::new(3), &[4], 8);
    assert!(Layer::regularization_loss(&plain).unwrap().is_none());

    // the penalty is differentiable: d/dW l2 * sum(W^2) = 2 l2 W
    let d = built_dense(
        Dense::new(2).kernel_regularizer(Regularizer::l2(0.3)),
        &[2],
        4,
    );
    let k = d.kernel().unwrap().clone();
    let w = k.to_vec_f64().unwrap();
    let g = Layer::regularization_loss(&d)
        .unwrap()
        .unwrap()
        .grad(std::slice::from_ref(&k))
        .unwrap()[0]
        .as_ref()
        .unwrap()
        .to_vec_f32()
        .unwrap();
    let want: Vec<f64> = w.iter().map(|x| 0.6 * x).collect();
    assert_close("d penalty", &g, &want, 1e-5, 1e-6);
}

// ------------------------------------------------------------------ Dropout

#[test]
fn dropout_is_identity_at_inference() {
    let d = Dropout::new(0.5);
    let xs: Vec<f32> = (0..20).map(|i| i as f32 - 3.0).collect();
    let y = Layer::<B>::call(&d, &t(xs.clone(), &[4, 5]), &mut infer()).unwrap();
    assert_eq!(y.to_vec_f32().unwrap(), xs);
}

#[test]
fn dropout_training_rate_and_scale() {
    let rate = 0.3;
    let d = Dropout::new(rate);
    let n = 200 * 500;
    let xs: Vec<f32> = (0..n).map(|i| 1.0 + (i % 7) as f32).collect();
    let x = t(xs.clone(), &[200, 500]);
    let y = Layer::<B>::call(&d, &x, &mut CallContext::training(17))
        .unwrap()
        .to_vec_f32()
        .unwrap();
    let scale = 1.0 / (1.0 - rate);
    let mut zeros = 0usize;
    for (i, (&yi, &xi)) in y.iter().zip(&xs).enumerate() {
        if yi == 0.0 {
            zeros += 1;
        } else {
            let want = xi as f64 * scale;
            assert!(
                ((yi as f64) - want).abs() < 1e-5 * want,
                "[{i}]: survivor {yi} should be {xi} / (1 - rate) = {want}"
            );
        }
    }
    let frac = zeros as f64 / n as f64;
    // binomial sd is sqrt(0.21 / 1e5) ~ 0.0015
    assert!((frac - rate).abs() < 0.01, "dropped fraction {frac}");
    // rate 0 is the identity even in training
    let y0 = Layer::<B>::call(&Dropout::new(0.0), &x, &mut CallContext::training(17)).unwrap();
    assert_eq!(y0.to_vec_f32().unwrap(), xs);
}

#[test]
fn dropout_masks_are_seeded() {
    let x = Tensor::<B>::ones(&[8, 64], DType::F32, Device::Cpu).unwrap();
    let mask = |d: &Dropout, seed: u64| {
        Layer::<B>::call(d, &x, &mut CallContext::training(seed))
            .unwrap()
            .to_vec_f32()
            .unwrap()
    };
    let d = Dropout::new(0.5);
    assert_eq!(mask(&d, 3), mask(&d, 3));
    assert_ne!(mask(&d, 3), mask(&d, 4));
    let s = Dropout::new(0.5).seed(123);
    assert_eq!(mask(&s, 3), mask(&s, 3));
    assert_ne!(mask(&s, 3), mask(&d, 3));
    // two calls within one context draw different masks
    let mut c = CallContext::training(3);
    let a = Layer::<B>::call(&d, &x, &mut c)
        .unwrap()
        .to_vec_f32()
        .unwrap();
    let b = Layer::<B>::call(&d, &x, &mut c)
        .unwrap()
        .to_vec_f32()
        .unwrap();
    assert_ne!(a, b);
}

#[test]
fn dropout_rate_out_of_range_is_an_error() {
    for rate in [1.0, 1.5, -0.1, f64::NAN] {
        let mut d = Dropout::new(rate);
        Layer::<B>::set_name(&mut d, "dropout_9".into());
        let err = Layer::<B>::validate(&d).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("dropout_9") && msg.contains("rate"), "{msg}");
        assert!(Layer::<B>::build(&mut d, &[4], &mut ctx(0)).is_err());
        // called directly (outside a model) it errors too instead of producing NaN/inf
        let x = t(vec![1.0; 8], &[2, 4]);
        assert!(Layer::<B>::call(&d, &x, &mut CallContext::training(1)).is_err());
        let mut m = Sequential::<B>::new();
        m.add(Input::new(&[4])).unwrap();
        assert!(
            m.add(Dropout::new(rate)).is_err(),
            "rate {rate} accepted by add"
        );
    }
}

// ------------------------------------------------------------------ Flatten / Reshape

#[test]
fn flatten_keeps_row_major_order() {
    let f = Flatten::new();
    let xs: Vec<f32> = (0..24).map(|i| i as f32).collect();
    let y = Layer::<B>::call(&f, &t(xs.clone(), &[2, 3, 4]), &mut infer()).unwrap();
    assert_eq!(y.shape(), vec![2, 12]);
    assert_eq!(y.to_vec_f32().unwrap(), xs);
    assert_eq!(Layer::<B>::output_shape(&f, &[3, 4]).unwrap(), vec![12]);
    // [N] becomes [N, 1], like Keras
    let y = Layer::<B>::call(&f, &t(vec![1.0, 2.0], &[2]), &mut infer()).unwrap();
    assert_eq!(y.shape(), vec![2, 1]);
}

#[test]
fn reshape_with_inferred_dim() {
    let r = Reshape::new(&[-1, 2]);
    assert_eq!(Layer::<B>::output_shape(&r, &[3, 4]).unwrap(), vec![6, 2]);
    let xs: Vec<f32> = (0..24).map(|i| i as f32).collect();
    let y = Layer::<B>::call(&r, &t(xs.clone(), &[2, 3, 4]), &mut infer()).unwrap();
    assert_eq!(y.shape(), vec![2, 6, 2]);
    assert_eq!(y.to_vec_f32().unwrap(), xs);
    let r = Reshape::new(&[4, 3]);
    let y = Layer::<B>::call(&r, &t(xs.clone(), &[2, 12]), &mut infer()).unwrap();
    assert_eq!(y.shape(), vec![2, 4, 3]);
}

#[test]
fn reshape_incompatible_size_names_the_layer() {
    let mut r = Reshape::new(&[5]);
    Layer::<B>::set_name(&mut r, "reshape_3".into());
    let err = Layer::<B>::call(&r, &t(vec![0.0; 12], &[2, 6]), &mut infer()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("reshape_3"), "{msg}");
    assert!(msg.contains("[6]"), "{msg}");
    assert!(Layer::<B>::output_shape(&r, &[6]).is_err());
    assert!(Layer::<B>::build(&mut r, &[6], &mut ctx(0)).is_err());
    let mut r = Reshape::new(&[-1, 5]);
    Layer::<B>::set_name(&mut r, "reshape_4".into());
    let msg = Layer::<B>::output_shape(&r, &[6]).unwrap_err().to_string();
    assert!(msg.contains("reshape_4"), "{msg}");
    let two_holes = Reshape::new(&[-1, -1]);
    assert!(Layer::<B>::output_shape(&two_holes, &[6]).is_err());
}

#[test]
fn input_checks_per_sample_shape() {
    let mut i = Input::new(&[3]);
    Layer::<B>::set_name(&mut i, "input_1".into());
    assert!(Layer::<B>::call(&i, &t(vec![0.0; 6], &[2, 3]), &mut infer()).is_ok());
    let msg = Layer::<B>::call(&i, &t(vec![0.0; 8], &[2, 4]), &mut infer())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("input_1") && msg.contains("[2, 4]"), "{msg}");
}

// ------------------------------------------------------------------ configs

fn round_trip(layer: &dyn Layer<B>) {
    let cfg = layer.get_config();
    let back = layer_from_config::<B>(layer.class_name(), &cfg).unwrap();
    assert_eq!(back.class_name(), layer.class_name());
    assert_eq!(
        back.get_config(),
        cfg,
        "{} config round trip",
        layer.class_name()
    );
    assert_eq!(back.name(), layer.name());
}

#[test]
fn config_round_trips() {
    let mut input = Input::new(&[28, 28]);
    Layer::<B>::set_name(&mut input, "input_layer".into());
    round_trip(&input);

    let dense = Dense::<B>::new(7)
        .name("dense_3")
        .activation(stratanet::activations::Activation::LeakyRelu(0.1))
        .use_bias(false)
        .kernel_initializer(Initializer::Constant(0.2))
        .bias_initializer(Initializer::RandomNormal(0.0, 0.5))
        .kernel_regularizer(Regularizer::l1_l2(0.01, 0.001))
        .bias_regularizer(Regularizer::l2(0.1));
    round_trip(&dense);
    let cfg = Layer::get_config(&dense);
    assert_eq!(cfg["units"], 7);
    assert_eq!(cfg["use_bias"], false);
    round_trip(&Dense::<B>::new(1).activation("sigmoid"));

    let mut act = ActivationLayer::new("softmax");
    Layer::<B>::set_name(&mut act, "activation_2".into());
    round_trip(&act);

    let mut drop = Dropout::new(0.25).seed(9);
    Layer::<B>::set_name(&mut drop, "dropout".into());
    round_trip(&drop);
    round_trip(&Dropout::new(0.1));

    let mut flat = Flatten::new();
    Layer::<B>::set_name(&mut flat, "flatten".into());
    round_trip(&flat);

    let mut r = Reshape::new(&[-1, 4]);
    Layer::<B>::set_name(&mut r, "reshape".into());
    round_trip(&r);

    let err = layer_from_config::<B>("Conv9D", &serde_json::json!({})).unwrap_err();
    assert!(err.to_string().contains("Conv9D"));
    assert!(err.to_string().contains("Dense"));
    assert!(layer_from_config::<B>("Dense", &serde_json::json!({"name": "d"})).is_err());
}

#[test]
fn dense_from_config_builds_the_same_layer() {
    let a = Dense::<B>::new(4)
        .activation("tanh")
        .kernel_initializer(Initializer::HeNormal);
    let mut b = layer_from_config::<B>("Dense", &Layer::get_config(&a)).unwrap();
    let mut a = a;
    Layer::build(&mut a, &[3], &mut ctx(21)).unwrap();
    b.build(&[3], &mut ctx(21)).unwrap();
    let x = t(vec![0.5, -1.0, 2.0, 1.0, 0.0, -0.5], &[2, 3]);
    let ya = Layer::call(&a, &x, &mut infer())
        .unwrap()
        .to_vec_f32()
        .unwrap();
    let yb = b.call(&x, &mut infer()).unwrap().to_vec_f32().unwrap();
    assert_eq!(ya, yb);
}
