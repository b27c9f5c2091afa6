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
