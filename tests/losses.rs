//! Loss values against per-sample closed forms computed on the host.

use stratanet::losses::{
    self, BinaryCrossentropy, CategoricalCrossentropy, Huber, Loss, MeanAbsoluteError,
    MeanSquaredError, SparseCategoricalCrossentropy, TargetKind,
};
use stratanet::{DefaultBackend as B, Error, Tensor};

fn t(data: Vec<f32>, shape: &[usize]) -> Tensor<B> {
    Tensor::<B>::from_vec(data, shape).unwrap()
}

fn ti(data: Vec<i64>, shape: &[usize]) -> Tensor<B> {
    Tensor::<B>::from_vec(data, shape).unwrap()
}

fn close(what: &str, got: f64, want: f64) {
    assert!(got.is_finite(), "{what}: non-finite {got}");
    assert!(
        (got - want).abs() <= 1e-6 + 1e-5 * want.abs(),
        "{what}: got {got}, expected {want}"
    );
}

/// The mean loss of `loss` on one batch, as a number.
fn value(loss: &dyn Loss<B>, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> f64 {
    loss.call(y_true, y_pred).unwrap().item().unwrap()
}

/// Three one-hot rows (classes 2, 1, 0) and the soft row `last`, `[4, 3]`.
fn one_hot_rows_and(last: [f32; 3]) -> Tensor<B> {
    let mut v = vec![
        0.0, 0.0, 1.0, //
        0.0, 1.0, 0.0, //
        1.0, 0.0, 0.0,
    ];
    v.extend(last);
    t(v, &[4, 3])
}

/// Checks per-sample values and the batch mean from `Loss::call`.
fn check(loss: &dyn Loss<B>, y_true: &Tensor<B>, y_pred: &Tensor<B>, want: &[f64]) {
    let ps = loss.per_sample(y_true, y_pred).unwrap();
    assert_eq!(
        ps.shape(),
        vec![want.len()],
        "{}: per-sample shape",
        loss.name()
    );
    for (i, (&g, &w)) in ps.to_vec_f64().unwrap().iter().zip(want).enumerate() {
        close(&format!("{}[{i}]", loss.name()), g, w);
    }
    let mean = loss.call(y_true, y_pred).unwrap();
    assert_eq!(mean.numel(), 1);
    let want_mean = want.iter().sum::<f64>() / want.len() as f64;
    close(
        &format!("{} mean", loss.name()),
        mean.item().unwrap(),
        want_mean,
    );
}

/// `ln` of an f32 probability after Keras' clipping to `[1e-7, 1 - 1e-7]` in f32.
fn clipped_ln(p: f32) -> f64 {
    let lo = 1e-7f32;
    let hi = 1.0f32 - 1e-7f32;
    (p.clamp(lo, hi) as f64).ln()
}

/// `ln(1 - p)` with the same clipping, `1 - p` taken in f32 as the library (and Keras) do.
fn clipped_ln_1m(p: f32) -> f64 {
    let lo = 1e-7f32;
    let hi = 1.0f32 - 1e-7f32;
    ((1.0f32 - p.clamp(lo, hi)) as f64).ln()
}

#[test]
fn mean_squared_and_absolute_error() {
    let y = t(vec![1.0, 2.0, 3.0, -1.0, 0.0, 0.5], &[2, 3]);
    let p = t(vec![1.5, 0.0, 3.0, 1.0, -2.0, 0.5], &[2, 3]);
    // errors: [-0.5, 2, 0], [-2, 2, 0]
    check(&MeanSquaredError, &y, &p, &[(0.25 + 4.0) / 3.0, 8.0 / 3.0]);
    check(&MeanAbsoluteError, &y, &p, &[2.5 / 3.0, 4.0 / 3.0]);
    // [N] targets against [N, 1] predictions
    let y1 = t(vec![1.0, 2.0, 3.0], &[3]);
    let p1 = t(vec![0.0, 2.5, 5.0], &[3, 1]);
    check(&MeanSquaredError, &y1, &p1, &[1.0, 0.25, 4.0]);
    check(&MeanAbsoluteError, &y1, &p1, &[1.0, 0.5, 2.0]);
    // and [N, 1] targets against [N] predictions
    check(&MeanSquaredError, &p1, &y1, &[1.0, 0.25, 4.0]);
}

#[test]
fn huber_both_branches() {
    let y = t(vec![0.0; 8], &[2, 4]);
    let e = [0.5f32, -1.5, 2.5, -3.0, 1.0, -0.1, 0.0, 4.0];
    let p = t(e.to_vec(), &[2, 4]);
    for delta in [1.0f64, 2.0] {
        let h = |x: f32| {
            let a = (x as f64).abs();
            if a <= delta {
                0.5 * a * a
            } else {
                delta * (a - 0.5 * delta)
            }
        };
        let want: Vec<f64> = e
            .chunks(4)
            .map(|r| r.iter().map(|&x| h(x)).sum::<f64>() / 4.0)
            .collect();
        check(&Huber::new(delta), &y, &p, &want);
    }
    // hand values for delta 1: 0.125, 1.0, 2.0, 2.5; delta 2: 0.125, 1.125, 3.0, 4.0
    let (zeros, errors) = (t(vec![0.0; 4], &[1, 4]), t(e[..4].to_vec(), &[1, 4]));
    for (what, loss, want) in [
        ("huber(1) hand", Huber::default(), 0.125 + 1.0 + 2.0 + 2.5),
        ("huber(2) hand", Huber::new(2.0), 0.125 + 1.125 + 3.0 + 4.0),
    ] {
        close(what, value(&loss, &zeros, &errors), want / 4.0);
    }
}

#[test]
fn binary_crossentropy_probabilities_with_clipping() {
    let ys = [1.0f32, 0.0, 1.0, 0.0, 1.0, 0.0];
    let ps = [0.9f32, 0.2, 0.0, 1.0, 1.0, 0.0];
    let per_elem: Vec<f64> = ys
        .iter()
        .zip(&ps)
        .map(|(&y, &p)| -(y as f64 * clipped_ln(p) + (1.0 - y as f64) * clipped_ln_1m(p)))
        .collect();
    // hand: -ln 0.9, -ln 0.8, ~ -ln 1e-7, ~ -ln 1.19e-7 (f32 1 - (1 - 1e-7)), ~0, ~0
    assert!((per_elem[0] + 0.9f64.ln()).abs() < 1e-7);
    assert!((per_elem[2] - 16.118_095_6).abs() < 1e-4);
    let want: Vec<f64> = per_elem.chunks(2).map(|c| (c[0] + c[1]) / 2.0).collect();
    let y = t(ys.to_vec(), &[3, 2]);
    let p = t(ps.to_vec(), &[3, 2]);
    check(&BinaryCrossentropy::new(), &y, &p, &want);
    // [N] targets, [N, 1] predictions
    let y = t(vec![1.0, 0.0, 1.0], &[3]);
    let p = t(vec![0.75, 0.25, 0.5], &[3, 1]);
    let l = std::f64::consts::LN_2;
    check(
        &BinaryCrossentropy::new(),
        &y,
        &p,
        &[-(0.75f32 as f64).ln(), -(0.75f32 as f64).ln(), l],
    );
}

#[test]
fn binary_crossentropy_from_logits_is_stable_and_exact() {
    let xs = [100.0f32, -100.0, 100.0, -100.0, 0.0, 2.0, -3.0, 40.0];
    let ys = [1.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.3];
    // softplus(x) - x y, computed stably: max(x, 0) - x y + ln(1 + e^-|x|)
    let per: Vec<f64> = xs
        .iter()
        .zip(&ys)
        .map(|(&x, &y)| {
            let (x, y) = (x as f64, y as f64);
            x.max(0.0) - x * y + (-x.abs()).exp().ln_1p()
        })
        .collect();
    assert!((per[2] - 100.0).abs() < 1e-12 && (per[3] - 100.0).abs() < 1e-12);
    let want: Vec<f64> = per.chunks(2).map(|c| (c[0] + c[1]) / 2.0).collect();
    let loss = BinaryCrossentropy::new().from_logits(true);
    check(
        &loss,
        &t(ys.to_vec(), &[4, 2]),
        &t(xs.to_vec(), &[4, 2]),
        &want,
    );
    // single-element cases by hand
    let one = |x: f32, y: f32| value(&loss, &t(vec![y], &[1, 1]), &t(vec![x], &[1, 1]));
    close("bce(100, 1)", one(100.0, 1.0), 0.0);
    close("bce(-100, 0)", one(-100.0, 0.0), 0.0);
    close("bce(100, 0)", one(100.0, 0.0), 100.0);
    close("bce(-100, 1)", one(-100.0, 1.0), 100.0);
    close("bce(0, 1)", one(0.0, 1.0), std::f64::consts::LN_2);
}

#[test]
fn categorical_crossentropy_probabilities_renormalised_then_clipped() {
    let y = one_hot_rows_and([0.3, 0.7, 0.0]);
    let p = t(
        vec![
            0.2, 0.3, 0.5, // sums to 1
            1.0, 2.0, 1.0, // renormalised to [.25, .5, .25]
            0.0, 1.0, 0.0, // true class has probability 0: clipped to 1e-7
            0.1, 0.1, 0.2, // renormalised to [.25, .25, .5]
        ],
        &[4, 3],
    );
    let want = [
        -(0.5f64).ln(),
        -(0.5f64).ln(),
        -clipped_ln(0.0),
        -(0.3 * 0.25f64.ln() + 0.7 * 0.25f64.ln()),
    ];
    check(&CategoricalCrossentropy::new(), &y, &p, &want);
    close("clip value", want[2], 16.118_095_650_958_32);
}

#[test]
fn categorical_crossentropy_from_logits() {
    let y = one_hot_rows_and([0.5, 0.5, 0.0]);
    let logits = [
        1.0f32, 2.0, 3.0, //
        1000.0, 0.0, -1000.0, //
        1000.0, 0.0, -1000.0, //
        0.0, 0.0, 0.0,
    ];
    let lse = |r: &[f32]| {
        let m = r.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
        m + r.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln()
    };
    let r0 = &logits[0..3];
    let want = [
        lse(r0) - 3.0, // = ln(1 + e^-1 + e^-2)
        1000.0,
        0.0,
        3f64.ln(),
    ];
    close("lse", want[0], (1.0 + (-1f64).exp() + (-2f64).exp()).ln());
    let loss = CategoricalCrossentropy::new().from_logits(true);
    check(&loss, &y, &t(logits.to_vec(), &[4, 3]), &want);
}

#[test]
fn sparse_categorical_crossentropy_label_forms() {
    let probs = vec![
        0.7f32, 0.2, 0.1, //
        0.1, 0.1, 0.8, //
        1.0, 1.0, 2.0, // renormalised to [.25, .25, .5]
        0.0, 1.0, 0.0, // clipped
    ];
    let p = t(probs, &[4, 3]);
    let want = [
        -(0.7f32 as f64).ln(),
        -(0.1f32 as f64).ln(),
        -(0.25f64).ln(),
        -clipped_ln(0.0),
    ];
    let labels = [0i64, 0, 1, 2];
    let loss = SparseCategoricalCrossentropy::new();
    check(&loss, &ti(labels.to_vec(), &[4]), &p, &want);
    check(&loss, &ti(labels.to_vec(), &[4, 1]), &p, &want);
    let lf: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
    check(&loss, &t(lf.clone(), &[4]), &p, &want);
    check(&loss, &t(lf, &[4, 1]), &p, &want);
}

#[test]
fn sparse_categorical_crossentropy_from_logits_stable() {
    let logits = t(
        vec![
            1000.0, 0.0, //
            1000.0, 0.0, //
            0.0, 0.0, //
            -2.0, 3.0,
        ],
        &[4, 2],
    );
    let labels = ti(vec![0, 1, 1, 0], &[4]);
    let want = [
        0.0,
        1000.0,
        std::f64::consts::LN_2,
        5.0 + (-5f64).exp().ln_1p(),
    ];
    let loss = SparseCategoricalCrossentropy::new().from_logits(true);
    check(&loss, &labels, &logits, &want);
    check(&loss, &t(vec![0.0, 1.0, 1.0, 0.0], &[4, 1]), &logits, &want);
    // many classes: -log_softmax(row)[label]
    let row: Vec<f32> = (0..10).map(|i| (i as f32 * 0.7).sin() * 3.0).collect();
    let lse = row.iter().map(|&v| (v as f64).exp()).sum::<f64>().ln();
    let l = value(&loss, &ti(vec![6], &[1]), &t(row.clone(), &[1, 10]));
    close("10 classes", l, lse - row[6] as f64);
}

#[test]
fn sparse_label_out_of_range() {
    let p = t(vec![0.2, 0.3, 0.5, 0.1, 0.1, 0.8], &[2, 3]);
    for (probs, loss) in [
        (true, SparseCategoricalCrossentropy::new()),
        (
            false,
            SparseCategoricalCrossentropy::new().from_logits(true),
        ),
    ] {
        let err = Loss::<B>::call(&loss, &ti(vec![1, 3], &[2]), &p).unwrap_err();
        match &err {
            Error::LabelOutOfRange {
                label, num_classes, ..
            } => {
                assert_eq!(*label, 3, "probs={probs}");
                assert_eq!(*num_classes, 3);
            }
            other => panic!("expected LabelOutOfRange, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("label 3"), "{msg}");
        assert!(msg.contains("3 classes"), "{msg}");
        let err = Loss::<B>::call(&loss, &ti(vec![-1, 0], &[2]), &p).unwrap_err();
        assert!(
            matches!(err, Error::LabelOutOfRange { label: -1, .. }),
            "{err:?}"
        );
        let err = Loss::<B>::call(&loss, &t(vec![0.0, 7.0], &[2, 1]), &p).unwrap_err();
        assert!(
            matches!(err, Error::LabelOutOfRange { label: 7, .. }),
            "{err:?}"
        );
    }
}

#[test]
fn shape_mismatches_are_errors() {
    let p = t(vec![0.5; 6], &[2, 3]);
    let bad = t(vec![0.5; 8], &[2, 4]);
    let losses: Vec<Box<dyn Loss<B>>> = vec![
        Box::new(MeanSquaredError),
        Box::new(MeanAbsoluteError),
        Box::new(Huber::default()),
        Box::new(BinaryCrossentropy::new()),
        Box::new(BinaryCrossentropy::new().from_logits(true)),
        Box::new(CategoricalCrossentropy::new()),
        Box::new(CategoricalCrossentropy::new().from_logits(true)),
    ];
    for l in &losses {
        let err = l.call(&bad, &p).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(l.name()), "{}: {msg}", l.name());
        assert!(msg.contains("[2, 4]"), "{}: {msg}", l.name());
        assert!(l.call(&t(vec![0.5; 3], &[3]), &p).is_err(), "{}", l.name());
    }
    let scce = SparseCategoricalCrossentropy::new();
    for wrong in [ti(vec![0, 1, 2], &[3]), ti(vec![0, 1, 0, 1], &[2, 2])] {
        let err = Loss::<B>::call(&scce, &wrong, &p).unwrap_err();
        assert!(
            err.to_string().contains("sparse_categorical_crossentropy"),
            "{err}"
        );
    }
}

#[test]
fn losses_by_name() {
    let cases = [
        ("mse", "mean_squared_error", TargetKind::Regression),
        (
            "mean_squared_error",
            "mean_squared_error",
            TargetKind::Regression,
        ),
        ("mae", "mean_absolute_error", TargetKind::Regression),
        (
            "mean_absolute_error",
            "mean_absolute_error",
            TargetKind::Regression,
        ),
        ("huber", "huber", TargetKind::Regression),
        (
            "binary_crossentropy",
            "binary_crossentropy",
            TargetKind::Binary,
        ),
        (
            "categorical_crossentropy",
            "categorical_crossentropy",
            TargetKind::Categorical,
        ),
        (
            "sparse_categorical_crossentropy",
            "sparse_categorical_crossentropy",
            TargetKind::SparseCategorical,
        ),
    ];
    for (alias, name, kind) in cases {
        let l = losses::get::<B>(alias).unwrap();
        assert_eq!(l.name(), name);
        assert_eq!(l.target_kind(), kind);
    }
    // by-name losses expect probabilities
    let l = losses::get::<B>("binary_crossentropy").unwrap();
    assert_eq!(l.get_config()["from_logits"], false);
    let v = l
        .call(&t(vec![1.0], &[1, 1]), &t(vec![0.5], &[1, 1]))
        .unwrap()
        .item()
        .unwrap();
    close("bce by name", v, std::f64::consts::LN_2);
    // huber by name has delta 1
    assert_eq!(
        losses::get::<B>("huber").unwrap().get_config()["delta"],
        1.0
    );

    let err = losses::get::<B>("hinge_squared").unwrap_err();
    assert!(matches!(err, Error::UnknownName { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("hinge_squared"), "{msg}");
    assert!(
        msg.contains("mse") && msg.contains("sparse_categorical_crossentropy"),
        "{msg}"
    );
}

#[test]
fn loss_gradients_match_closed_form() {
    // d/dp mean((y - p)^2) = -2 (y - p) / n
    let y = t(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let p = t(vec![0.0, 2.5, 3.0, 5.0], &[2, 2]).to_param().unwrap();
    let l = Loss::<B>::call(&MeanSquaredError, &y, &p).unwrap();
    let g = l.grad(std::slice::from_ref(&p)).unwrap()[0]
        .as_ref()
        .unwrap()
        .to_vec_f32()
        .unwrap();
    let want = [-0.5f32, 0.25, 0.0, 0.5];
    for (a, b) in g.iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "{g:?}");
    }
    // d/dz sparse CE from logits = (softmax(z) - onehot) / N, finite at 1000
    let z = t(vec![1000.0, 0.0, 0.0, 0.0], &[2, 2]).to_param().unwrap();
    let loss = SparseCategoricalCrossentropy::new().from_logits(true);
    let l = Loss::<B>::call(&loss, &ti(vec![1, 0], &[2]), &z).unwrap();
    let g = l.grad(std::slice::from_ref(&z)).unwrap()[0]
        .as_ref()
        .unwrap()
        .to_vec_f32()
        .unwrap();
    let want = [0.5f32, -0.5, -0.25, 0.25];
    for (a, b) in g.iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "{g:?}");
    }
}
