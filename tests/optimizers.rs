//! Optimizer steps against plain-Rust reimplementations of the documented Keras formulas.

use stratanet::optimizers::{self, Adam, Optimizer, Sgd};
use stratanet::{DType, DefaultBackend as B, Error, Tensor};

const P0: [f64; 5] = [1.0, -2.0, 0.5, 3.0, -0.25];

/// Gradient at step `t` (0-based): varies in sign and size across steps; one entry is zero.
fn grad(t: usize) -> Vec<f64> {
    let s = t as f64;
    vec![
        0.5 + 0.1 * s,
        -1.0 + 0.3 * s,
        0.0,
        2.0 * (s + 1.0).sin(),
        -0.05 * (s + 1.0),
    ]
}

fn param(dtype: DType) -> Tensor<B> {
    Tensor::<B>::from_vec(P0.to_vec(), &[5])
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
        .to_param()
        .unwrap()
}

fn grad_tensor(t: usize, dtype: DType) -> Tensor<B> {
    Tensor::<B>::from_vec(grad(t), &[5])
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
}

fn assert_close(what: &str, got: &[f64], want: &[f64], rtol: f64, atol: f64) {
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{what}[{i}]: got {g}, expected {w}"
        );
    }
}

/// Host Keras SGD (see the doc comment of `Sgd`).
fn host_sgd(lr: f64, momentum: f64, nesterov: bool, wd: f64, steps: usize) -> Vec<f64> {
    let mut p = P0.to_vec();
    let mut v = vec![0.0; p.len()];
    for t in 0..steps {
        let g = grad(t);
        for i in 0..p.len() {
            p[i] -= lr * wd * p[i];
            if momentum > 0.0 {
                v[i] = momentum * v[i] - lr * g[i];
                if nesterov {
                    p[i] += momentum * v[i] - lr * g[i];
                } else {
                    p[i] += v[i];
                }
            } else {
                p[i] -= lr * g[i];
            }
        }
    }
    p
}

/// Host Keras Adam (see the doc comment of `Adam`).
fn host_adam(lr: f64, b1: f64, b2: f64, eps: f64, wd: f64, steps: usize) -> Vec<f64> {
    let mut p = P0.to_vec();
    let mut m = vec![0.0; p.len()];
    let mut v = vec![0.0; p.len()];
    for t in 0..steps {
        let g = grad(t);
        let step = (t + 1) as f64;
        let lr_t = lr * (1.0 - b2.powf(step)).sqrt() / (1.0 - b1.powf(step));
        for i in 0..p.len() {
            p[i] -= lr * wd * p[i];
            m[i] += (g[i] - m[i]) * (1.0 - b1);
            v[i] += (g[i] * g[i] - v[i]) * (1.0 - b2);
            p[i] -= lr_t * m[i] / (v[i].sqrt() + eps);
        }
    }
    p
}

fn run(opt: &mut dyn Optimizer<B>, dtype: DType, steps: usize) -> Vec<f64> {
    let p = param(dtype);
    for t in 0..steps {
        opt.apply(std::slice::from_ref(&p), &[Some(grad_tensor(t, dtype))])
            .unwrap();
    }
    assert_eq!(opt.iterations(), steps as u64);
    assert_eq!(p.dtype(), dtype);
    p.to_vec_f64().unwrap()
}

#[test]
fn sgd_plain_one_step_by_hand() {
    let p = param(DType::F32);
    let mut opt = Sgd::<B>::new(0.1);
    opt.apply(
        std::slice::from_ref(&p),
        &[Some(grad_tensor(0, DType::F32))],
    )
    .unwrap();
    // p - 0.1 * [0.5, -1, 0, 2 sin 1, -0.05]
    let want = [0.95, -1.9, 0.5, 3.0 - 0.2 * 1f64.sin(), -0.245];
    assert_close("sgd", &p.to_vec_f64().unwrap(), &want, 1e-6, 1e-7);
}

#[test]
fn sgd_variants_match_host_reference() {
    let variants: [(&str, f64, bool, f64); 5] = [
        ("plain", 0.0, false, 0.0),
        ("momentum", 0.9, false, 0.0),
        ("nesterov", 0.9, true, 0.0),
        ("weight decay", 0.0, false, 0.1),
        ("momentum + decay", 0.5, true, 0.2),
    ];
    let lr = 0.05;
    for (what, momentum, nesterov, wd) in variants {
        let want = host_sgd(lr, momentum, nesterov, wd, 5);
        for (dtype, rtol) in [(DType::F32, 1e-6), (DType::F64, 1e-12)] {
            let mut opt = Sgd::<B>::new(lr)
                .momentum(momentum)
                .nesterov(nesterov)
                .weight_decay(wd);
            let got = run(&mut opt, dtype, 5);
            assert_close(&format!("sgd {what} {dtype}"), &got, &want, rtol, rtol);
        }
    }
}

#[test]
fn sgd_momentum_two_steps_by_hand() {
    // g = 1 on a scalar, lr 0.1, momentum 0.9:
    // v1 = -0.1, p1 = 0.9; v2 = -0.09 - 0.1 = -0.19, p2 = 0.71
    // nesterov: p1 = 1 + 0.9 * -0.1 - 0.1 = 0.81; p2 = 0.81 + 0.9 * -0.19 - 0.1 = 0.539
    for (nesterov, want) in [(false, [0.9, 0.71]), (true, [0.81, 0.539])] {
        let p = Tensor::<B>::from_vec(vec![1.0f64], &[1])
            .unwrap()
            .to_param()
            .unwrap();
        let g = Tensor::<B>::from_vec(vec![1.0f64], &[1]).unwrap();
        let mut opt = Sgd::<B>::new(0.1).momentum(0.9).nesterov(nesterov);
        for w in want {
            opt.apply(std::slice::from_ref(&p), &[Some(g.clone())])
                .unwrap();
            assert_close("momentum", &p.to_vec_f64().unwrap(), &[w], 1e-12, 1e-12);
        }
        assert_eq!(opt.variables().len(), 1);
    }
}

#[test]
fn adam_matches_host_reference_for_five_steps() {
    let configs: [(f64, f64, f64, f64, f64); 3] = [
        (0.001, 0.9, 0.999, 1e-7, 0.0),
        (0.1, 0.8, 0.99, 1e-3, 0.0),
        (0.01, 0.9, 0.999, 1e-7, 0.05),
    ];
    for (lr, b1, b2, eps, wd) in configs {
        let want = host_adam(lr, b1, b2, eps, wd, 5);
        for (dtype, rtol) in [(DType::F32, 1e-6), (DType::F64, 1e-12)] {
            let mut opt = Adam::<B>::new(lr)
                .beta_1(b1)
                .beta_2(b2)
                .epsilon(eps)
                .weight_decay(wd);
            let got = run(&mut opt, dtype, 5);
            assert_close(
                &format!("adam lr={lr} wd={wd} {dtype}"),
                &got,
                &want,
                rtol,
                rtol,
            );
        }
    }
}

#[test]
fn adam_first_step_by_hand() {
    // Step 1: m = 0.1 g, v = 0.001 g^2, lr_t = lr sqrt(0.001) / 0.1,
    // so p -= lr * g / (|g| + eps / sqrt(0.001)) ~ lr * sign(g).
    let p = Tensor::<B>::from_vec(vec![1.0f64, 1.0, 1.0], &[3])
        .unwrap()
        .to_param()
        .unwrap();
    let g = Tensor::<B>::from_vec(vec![2.0f64, -0.5, 0.0], &[3]).unwrap();
    let mut opt = Adam::<B>::new(0.01);
    opt.apply(std::slice::from_ref(&p), &[Some(g)]).unwrap();
    let e = 1e-7 / 0.001f64.sqrt();
    let want = [
        1.0 - 0.01 * 2.0 / (2.0 + e),
        1.0 + 0.01 * 0.5 / (0.5 + e),
        1.0,
    ];
    assert_close("adam step 1", &p.to_vec_f64().unwrap(), &want, 1e-12, 1e-12);
    let names: Vec<String> = opt.variables().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["m/0", "v/0"]);
}

#[test]
fn parameters_keep_identity() {
    for opt in [
        Box::new(Sgd::<B>::new(0.5)) as Box<dyn Optimizer<B>>,
        Box::new(Sgd::<B>::new(0.5).momentum(0.9)),
        Box::new(Adam::<B>::new(0.5)),
    ] {
        let mut opt = opt;
        let p = param(DType::F32);
        let alias = p.clone();
        let before = alias.to_vec_f32().unwrap();
        opt.apply(
            std::slice::from_ref(&p),
            &[Some(grad_tensor(0, DType::F32))],
        )
        .unwrap();
        assert!(alias.is_param(), "{}: no longer a parameter", opt.name());
        assert_eq!(alias.to_vec_f32().unwrap(), p.to_vec_f32().unwrap());
        assert_ne!(alias.to_vec_f32().unwrap(), before, "{}", opt.name());
        // the parameter still takes part in autograd after the update
        let l = alias.square().unwrap().sum_all().unwrap();
        assert!(l.grad(std::slice::from_ref(&p)).unwrap()[0].is_some());
    }
}

#[test]
fn none_gradient_leaves_parameter_unchanged() {
    let a = param(DType::F32);
    let b = param(DType::F32);
    for mut opt in [
        Box::new(Sgd::<B>::new(0.1).momentum(0.9)) as Box<dyn Optimizer<B>>,
        Box::new(Adam::<B>::new(0.1)),
    ] {
        let before_b = b.to_vec_f32().unwrap();
        let before_a = a.to_vec_f32().unwrap();
        for t in 0..3 {
            opt.apply(
                &[a.clone(), b.clone()],
                &[Some(grad_tensor(t, DType::F32)), None],
            )
            .unwrap();
        }
        assert_eq!(b.to_vec_f32().unwrap(), before_b, "{}", opt.name());
        assert_ne!(a.to_vec_f32().unwrap(), before_a, "{}", opt.name());
        assert_eq!(opt.iterations(), 3);
    }
}

#[test]
fn mismatched_gradients_are_errors() {
    let p = param(DType::F32);
    let wrong = Tensor::<B>::from_vec(vec![1.0f32; 4], &[4]).unwrap();
    for mut opt in [
        Box::new(Sgd::<B>::new(0.1)) as Box<dyn Optimizer<B>>,
        Box::new(Adam::<B>::new(0.1)),
    ] {
        let before = p.to_vec_f32().unwrap();
        let err = opt
            .apply(std::slice::from_ref(&p), &[Some(wrong.clone())])
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("[5]") && msg.contains("[4]"), "{msg}");
        assert_eq!(p.to_vec_f32().unwrap(), before);
        // slot count mismatch
        assert!(opt.apply(std::slice::from_ref(&p), &[]).is_err());
    }
    let mut bad = Sgd::<B>::new(0.1).momentum(1.0);
    let err = bad
        .apply(
            std::slice::from_ref(&p),
            &[Some(grad_tensor(0, DType::F32))],
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
}

#[test]
fn optimizers_by_name() {
    let adam = optimizers::get::<B>("adam").unwrap();
    assert_eq!(adam.name(), "adam");
    assert!((adam.learning_rate() - 0.001).abs() < 1e-15);
    assert_eq!(adam.get_config()["beta_1"], 0.9);
    assert_eq!(adam.get_config()["beta_2"], 0.999);
    assert_eq!(adam.get_config()["epsilon"], 1e-7);
    let sgd = optimizers::get::<B>("SGD").unwrap();
    assert_eq!(sgd.name(), "sgd");
    assert!((sgd.learning_rate() - 0.01).abs() < 1e-15);
    let err = optimizers::get::<B>("rmsprop2").unwrap_err();
    assert!(matches!(err, Error::UnknownName { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("rmsprop2") && msg.contains("adam") && msg.contains("sgd"),
        "{msg}"
    );

    let mut o = Sgd::<B>::new(0.1);
    o.set_learning_rate(0.25);
    assert_eq!(o.learning_rate(), 0.25);
}
