//! libtorch-specific behaviour beyond the conformance suite: seeded randomness under
//! concurrency, integer division, unused parameters, errors instead of aborts, fused
//! composites against their closed forms at libtorch's thresholds.

use stratanet_frontend::backend::{
    AutogradOps, BackendBase, CompositeOps, CreationOps, DType, Device, HostData, MathOps,
    ReduceOps, ShapeOps,
};
use stratanet_tch::Tch;

fn cpu() -> tch::Device {
    Tch::device(Device::Cpu).unwrap()
}

fn f64s(v: &[f64]) -> <Tch as BackendBase>::Tensor {
    Tch::from_host(HostData::F64(v.to_vec()), &[v.len()], &cpu()).unwrap()
}

fn i64s(v: &[i64]) -> <Tch as BackendBase>::Tensor {
    Tch::from_host(HostData::I64(v.to_vec()), &[v.len()], &cpu()).unwrap()
}

/// Seeded draws from many threads at once stay reproducible (the reseed-and-draw is
/// serialised).
#[test]
fn seeded_draws_are_reproducible_across_threads() {
    let reference: Vec<HostData> = (0..8u64)
        .map(|s| {
            Tch::to_host(&Tch::normal(&[256], 0.0, 1.0, s, DType::F32, &cpu()).unwrap()).unwrap()
        })
        .collect();
    let handles: Vec<_> = (0..8u64)
        .map(|s| {
            std::thread::spawn(move || {
                (0..20)
                    .map(|_| {
                        Tch::to_host(&Tch::normal(&[256], 0.0, 1.0, s, DType::F32, &cpu()).unwrap())
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for (s, h) in handles.into_iter().enumerate() {
        for got in h.join().unwrap() {
            assert_eq!(got, reference[s], "seed {s}");
        }
    }
}

/// Integer division truncates toward zero; division by zero and `i64::MIN / -1` are errors.
#[test]
fn integer_division() {
    let q = Tch::div(&i64s(&[7, -7, 7, -7]), &i64s(&[2, 2, -2, -2])).unwrap();
    assert_eq!(Tch::dtype(&q), DType::I64);
    assert_eq!(Tch::to_host(&q).unwrap(), HostData::I64(vec![3, -3, -3, 3]));
    assert!(Tch::div(&i64s(&[1, 2]), &i64s(&[1, 0])).is_err());
    assert!(Tch::div(&i64s(&[i64::MIN]), &i64s(&[-1])).is_err());
}

/// Integer affine stays `i64` and exact.
#[test]
fn integer_affine() {
    let t = Tch::affine(&i64s(&[1 << 53, -3]), 2.0, 1.0).unwrap();
    assert_eq!(
        Tch::to_host(&t).unwrap(),
        HostData::I64(vec![(1 << 54) + 1, -5])
    );
}

/// A loss that does not depend on any parameter gives `None` everywhere; non-parameters
/// get `None`.
#[test]
fn grad_of_constant_loss_and_plain_tensors() {
    let p = Tch::param(&f64s(&[1.0, 2.0])).unwrap();
    let c = f64s(&[3.0]);
    let loss = Tch::sum(&c, &[0], false).unwrap();
    let g = Tch::grad(&loss, std::slice::from_ref(&p)).unwrap();
    assert!(g[0].is_none());
    let loss = Tch::sum(&Tch::mul(&p, &p).unwrap(), &[0], false).unwrap();
    let g = Tch::grad(&loss, &[p.clone(), c.clone()]).unwrap();
    assert!(g[0].is_some());
    assert!(g[1].is_none());
    // Nothing accumulates into `.grad`.
    assert!(!p.grad().defined());
}

/// Out-of-range indices and bad labels are errors, not aborts.
#[test]
fn bad_indices_are_errors() {
    let t = f64s(&[1.0, 2.0, 3.0]);
    assert!(Tch::index_select(&t, &i64s(&[3]), 0).is_err());
    assert!(Tch::index_select(&t, &i64s(&[-1]), 0).is_err());
    let logits = Tch::from_host(HostData::F64(vec![0.0; 6]), &[2, 3], &cpu()).unwrap();
    assert!(Tch::sparse_softmax_cross_entropy(&logits, &i64s(&[0, 3])).is_err());
    assert!(Tch::sparse_softmax_cross_entropy(&logits, &i64s(&[0, -100])).is_err());
    assert!(Tch::set_num_threads(0).is_err());
}

/// libtorch's softplus returns `x` above its threshold 20: within `f32` tolerance of the
/// closed form there, and exact below.
#[test]
fn softplus_threshold_matches_closed_form() {
    let xs = [-30.0, -5.0, 0.0, 5.0, 19.9, 20.0, 20.1, 30.0];
    let y = Tch::to_host(&Tch::softplus(&f64s(&xs)).unwrap())
        .unwrap()
        .to_f64_vec();
    for (x, y) in xs.iter().zip(y) {
        let want = x.max(0.0) + (-x.abs()).exp().ln_1p();
        assert!(
            (y - want).abs() <= 1e-7 * (1.0 + want.abs()),
            "softplus({x}) = {y}, want {want}"
        );
    }
}

/// Fused ELU and leaky ReLU with non-default slopes match the closed forms.
#[test]
fn elu_and_leaky_relu_alphas() {
    let xs = [-2.0, -0.5, 0.0, 0.5, 2.0];
    for alpha in [0.2, 1.0, 1.7] {
        let y = Tch::to_host(&Tch::elu(&f64s(&xs), alpha).unwrap())
            .unwrap()
            .to_f64_vec();
        for (x, y) in xs.iter().zip(y) {
            let want = if *x > 0.0 {
                *x
            } else {
                alpha * (x.exp() - 1.0)
            };
            assert!(
                (y - want).abs() < 1e-12,
                "elu({x}, {alpha}) = {y}, want {want}"
            );
        }
    }
    for alpha in [0.01, 0.3] {
        let y = Tch::to_host(&Tch::leaky_relu(&f64s(&xs), alpha).unwrap())
            .unwrap()
            .to_f64_vec();
        for (x, y) in xs.iter().zip(y) {
            let want = if *x >= 0.0 { *x } else { alpha * x };
            assert!(
                (y - want).abs() < 1e-12,
                "leaky_relu({x}, {alpha}) = {y}, want {want}"
            );
        }
    }
    let s = Tch::from_host(HostData::F64(vec![-2.0]), &[], &cpu()).unwrap();
    let y = Tch::leaky_relu(&s, 0.3).unwrap();
    assert_eq!(Tch::shape(&y), Vec::<usize>::new());
    assert!((Tch::to_host(&y).unwrap().to_f64_vec()[0] + 0.6).abs() < 1e-12);
}

/// `no_grad` records no graph; grad mode is back afterwards.
#[test]
fn no_grad_records_nothing() {
    let p = Tch::param(&f64s(&[1.0])).unwrap();
    let y = Tch::no_grad(|| Tch::mul(&p, &p).unwrap());
    assert!(!y.requires_grad());
    let z = Tch::mul(&p, &p).unwrap();
    assert!(z.requires_grad());
    let _ = Tch::reshape(&z, &[1]).unwrap();
}

/// The one-pass CPU `f32` Adam (on the calling thread, and for a parameter of 32 Ki
/// elements or more split across libtorch's OpenMP threads; AMSGrad, decay) gives what the
/// frontend's default chain of libtorch ops gives, to f32 rounding; a non-contiguous
/// gradient takes the libtorch path and agrees too.
#[test]
fn adam_cpu_fast_path_matches_the_default_chain() {
    use stratanet_frontend::backend::{AdamStep, OptimOps};
    // Neither length is a multiple of a vector or of a thread's range; the second is above
    // the threshold where the pass is split across threads.
    for n in [1_003usize, 100_003] {
        adam_fast_path_agrees(n);
    }
    // A transposed (non-contiguous) gradient falls back to libtorch's ops.
    let host = |t: &<Tch as BackendBase>::Tensor| match Tch::to_host(t).unwrap() {
        HostData::F32(v) => v,
        other => panic!("expected f32, got {other:?}"),
    };
    let p = Tch::from_host(HostData::F32(vec![1.0; 6]), &[2, 3], &cpu()).unwrap();
    let z = || Tch::from_host(HostData::F32(vec![0.0; 6]), &[2, 3], &cpu()).unwrap();
    let gt = Tch::from_host(HostData::F32(vec![0.5; 6]), &[3, 2], &cpu()).unwrap();
    let g = Tch::permute(&gt, &[1, 0]).unwrap();
    let h = AdamStep {
        lr_t: 0.1,
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
        decay: 1.0,
    };
    let (m, v) = (z(), z());
    Tch::adam_step(&p, &g, &m, &v, None, &h).unwrap();
    // m = 0.05, v = 0.00025, p = 1 - 0.1 * 0.05 / (sqrt(0.00025) + 1e-7)
    let want = 1.0 - 0.1 * 0.05 / (0.00025f32.sqrt() + 1e-7);
    for x in host(&p) {
        assert!((x - want).abs() < 1e-5, "{x} vs {want}");
    }
}

/// Three steps of [`Tch::adam_step`] (its one-pass CPU path) and of the frontend's default
/// chain on `n` elements agree to f32 rounding, with and without AMSGrad and decay.
fn adam_fast_path_agrees(n: usize) {
    use stratanet_frontend::backend::{adam_step_default, AdamStep, OptimOps};
    let vals = |seed: u64| -> Vec<f32> {
        (0..n)
            .map(|i| (((i as u64 * 2_654_435_761 + seed * 97) % 1000) as f32 - 500.0) / 250.0)
            .collect()
    };
    let make = |v: Vec<f32>| Tch::from_host(HostData::F32(v), &[n], &cpu()).unwrap();
    let host = |t: &<Tch as BackendBase>::Tensor| match Tch::to_host(t).unwrap() {
        HostData::F32(v) => v,
        other => panic!("expected f32, got {other:?}"),
    };
    for (amsgrad, decay) in [(false, 1.0), (true, 0.99)] {
        let fast: Vec<_> = (0..4).map(|k| make(vals(k))).collect();
        let slow: Vec<_> = (0..4).map(|k| make(vals(k))).collect();
        let (vh_fast, vh_slow) = (make(vec![0.0; n]), make(vec![0.0; n]));
        for step in 1..=3 {
            let t = f64::from(step);
            let h = AdamStep {
                lr_t: 0.01 * (1.0 - 0.999f64.powf(t)).sqrt() / (1.0 - 0.9f64.powf(t)),
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
                decay,
            };
            let g = make(vals(10 + step as u64));
            let vf = amsgrad.then_some(&vh_fast);
            let vs = amsgrad.then_some(&vh_slow);
            Tch::adam_step(&fast[0], &g, &fast[2], &fast[3], vf, &h).unwrap();
            adam_step_default::<Tch>(&slow[0], &g, &slow[2], &slow[3], vs, &h).unwrap();
        }
        for (what, a, b) in [
            ("param", &fast[0], &slow[0]),
            ("m", &fast[2], &slow[2]),
            ("v", &fast[3], &slow[3]),
            ("vhat", &vh_fast, &vh_slow),
        ] {
            let (a, b) = (host(a), host(b));
            let worst = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs() / y.abs().max(1e-3))
                .fold(0.0f32, f32::max);
            assert!(
                worst < 1e-5,
                "n {n}, amsgrad {amsgrad}: {what} differs by {worst} (relative)"
            );
        }
    }
}
