//! Streaming accuracy against host counts.

use stratanet::losses::TargetKind;
use stratanet::metrics::{self, Accuracy, AccuracyKind, Metric};
use stratanet::{DefaultBackend as B, Error, Tensor};

fn t(data: Vec<f32>, shape: &[usize]) -> Tensor<B> {
    Tensor::<B>::from_vec(data, shape).unwrap()
}

fn ti(data: Vec<i64>, shape: &[usize]) -> Tensor<B> {
    Tensor::<B>::from_vec(data, shape).unwrap()
}

fn close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() < 1e-9,
        "{what}: got {got}, expected {want}"
    );
}

/// Deterministic pseudo-random values in [0, 1).
fn pseudo(n: usize, salt: u64) -> Vec<f32> {
    let mut s = 0x9E37_79B9_7F4A_7C15u64 ^ salt;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

/// Feeds `[start, end)` row ranges to the metric; returns the streaming result.
fn stream(m: &mut dyn Metric<B>, y: &Tensor<B>, p: &Tensor<B>, cuts: &[usize]) -> f64 {
    for w in cuts.windows(2) {
        let (a, len) = (w[0], w[1] - w[0]);
        m.update(&y.narrow(0, a, len).unwrap(), &p.narrow(0, a, len).unwrap())
            .unwrap();
    }
    m.result().unwrap()
}

#[test]
fn binary_accuracy_threshold_and_target_shapes() {
    // > 0.5 counts as 1; exactly 0.5 counts as 0 (Keras: y_pred > threshold).
    let p = t(vec![0.9, 0.1, 0.5, 0.51, 0.3, 0.7], &[6, 1]);
    let y_n = t(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], &[6]);
    let y_n1 = t(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], &[6, 1]);
    for y in [&y_n, &y_n1] {
        let mut acc = Accuracy::<B>::new(AccuracyKind::Binary);
        acc.update(y, &p).unwrap();
        close("binary", acc.result().unwrap(), 5.0 / 6.0);
    }
    // several outputs per sample: the mean over all elements
    let p = t(vec![0.9, 0.2, 0.6, 0.4, 0.1, 0.8], &[3, 2]);
    let y = t(vec![1.0, 1.0, 1.0, 0.0, 0.0, 0.0], &[3, 2]);
    let mut acc = Accuracy::<B>::new(AccuracyKind::Binary);
    acc.update(&y, &p).unwrap();
    close("binary 2 outputs", acc.result().unwrap(), 4.0 / 6.0);
}

#[test]
fn binary_accuracy_streams_to_overall_mean() {
    let n = 103;
    let p = pseudo(n, 1);
    let y: Vec<f32> = pseudo(n, 2)
        .iter()
        .map(|&v| (v > 0.4) as u8 as f32)
        .collect();
    let correct = p
        .iter()
        .zip(&y)
        .filter(|(&p, &y)| ((p > 0.5) as u8 as f32) == y)
        .count();
    let want = correct as f64 / n as f64;
    let (pt, yt) = (t(p, &[n, 1]), t(y, &[n]));
    let mut acc = Accuracy::<B>::new(AccuracyKind::Binary);
    close(
        "stream",
        stream(&mut acc, &yt, &pt, &[0, 32, 64, 96, 103]),
        want,
    );
    acc.reset();
    assert_eq!(acc.result().unwrap(), 0.0);
    close(
        "after reset",
        stream(&mut acc, &yt, &pt, &[0, 1, 50, 103]),
        want,
    );
}

#[test]
fn categorical_accuracy_streams_to_overall_mean() {
    let (n, c) = (57, 4);
    let p = pseudo(n * c, 3);
    let labels: Vec<usize> = pseudo(n, 4)
        .iter()
        .map(|&v| (v * c as f32) as usize)
        .collect();
    let mut onehot = vec![0.0f32; n * c];
    for (i, &l) in labels.iter().enumerate() {
        onehot[i * c + l] = 1.0;
    }
    let argmax = |row: &[f32]| {
        row.iter()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
                if v > bv {
                    (i, v)
                } else {
                    (bi, bv)
                }
            })
            .0
    };
    let correct = p
        .chunks(c)
        .zip(&labels)
        .filter(|(row, &l)| argmax(row) == l)
        .count();
    let want = correct as f64 / n as f64;
    assert!(correct > 0 && correct < n);
    let (pt, yt) = (t(p, &[n, c]), t(onehot, &[n, c]));
    let mut acc = Accuracy::<B>::new(AccuracyKind::Categorical);
    close(
        "categorical",
        stream(&mut acc, &yt, &pt, &[0, 20, 40, 57]),
        want,
    );

    // sparse on the same data, labels as [N] i64 and [N, 1] f32
    let li: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    let lf: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
    for y in [ti(li, &[n]), t(lf, &[n, 1])] {
        let mut acc = Accuracy::<B>::new(AccuracyKind::SparseCategorical);
        close("sparse", stream(&mut acc, &y, &pt, &[0, 10, 11, 57]), want);
        acc.reset();
        close("sparse reset", stream(&mut acc, &y, &pt, &[0, 57]), want);
    }
}

#[test]
fn sparse_accuracy_by_hand() {
    let p = t(vec![0.1, 0.7, 0.2, 0.5, 0.3, 0.2, 0.0, 0.1, 0.9], &[3, 3]);
    let y = ti(vec![1, 1, 2], &[3]);
    let mut acc = Accuracy::<B>::new(AccuracyKind::SparseCategorical);
    acc.update(&y, &p).unwrap();
    close("sparse", acc.result().unwrap(), 2.0 / 3.0);
    // second batch: all wrong -> (2 + 0) / (3 + 2)
    acc.update(&ti(vec![0, 0], &[2]), &t(vec![0.0, 1.0, 0.2, 0.8], &[2, 2]))
        .unwrap();
    close("sparse 2", acc.result().unwrap(), 2.0 / 5.0);
}

#[test]
fn shape_errors() {
    let p = t(vec![0.5; 6], &[3, 2]);
    let mut cat = Accuracy::<B>::new(AccuracyKind::Categorical);
    assert!(cat.update(&t(vec![0.0; 9], &[3, 3]), &p).is_err());
    let mut sparse = Accuracy::<B>::new(AccuracyKind::SparseCategorical);
    assert!(sparse.update(&ti(vec![0, 1], &[2]), &p).is_err());
    let mut bin = Accuracy::<B>::new(AccuracyKind::Binary);
    assert!(bin.update(&t(vec![0.0; 4], &[4]), &p).is_err());
}

#[test]
fn infer_kind_like_keras() {
    use AccuracyKind::*;
    let cases: [(TargetKind, &[usize], &[usize], AccuracyKind); 10] = [
        (TargetKind::Binary, &[32], &[32, 1], Binary),
        (TargetKind::Binary, &[32, 3], &[32, 3], Binary),
        (
            TargetKind::SparseCategorical,
            &[32],
            &[32, 10],
            SparseCategorical,
        ),
        (
            TargetKind::SparseCategorical,
            &[32, 1],
            &[32, 10],
            SparseCategorical,
        ),
        (TargetKind::Categorical, &[32, 10], &[32, 10], Categorical),
        // regression losses: decided by shapes
        (TargetKind::Regression, &[32, 1], &[32, 1], Binary),
        (TargetKind::Regression, &[32], &[32, 1], Binary),
        (TargetKind::Regression, &[32], &[32, 5], SparseCategorical),
        (
            TargetKind::Regression,
            &[32, 1],
            &[32, 5],
            SparseCategorical,
        ),
        (TargetKind::Regression, &[32, 5], &[32, 5], Categorical),
    ];
    for (target, y_true, y_pred, want) in cases {
        assert_eq!(
            Accuracy::<B>::infer_kind(target, y_true, y_pred),
            want,
            "{target:?}, y_true {y_true:?}, y_pred {y_pred:?}"
        );
    }
}

#[test]
fn metrics_by_name() {
    let m = metrics::get::<B>("accuracy", TargetKind::SparseCategorical, &[4], &[4, 3]).unwrap();
    assert_eq!(m.name(), "accuracy");
    let m = metrics::get::<B>("acc", TargetKind::Binary, &[4], &[4, 1]).unwrap();
    assert_eq!(m.name(), "acc");
    for name in [
        "binary_accuracy",
        "categorical_accuracy",
        "sparse_categorical_accuracy",
    ] {
        let m = metrics::get::<B>(name, TargetKind::Regression, &[4], &[4, 1]).unwrap();
        assert_eq!(m.name(), name);
        assert!(metrics::check_name(name).is_ok());
    }
    // "accuracy" resolved from the loss computes the matching kind
    let mut m = metrics::get::<B>("accuracy", TargetKind::Binary, &[3], &[3, 1]).unwrap();
    m.update(
        &t(vec![1.0, 0.0, 1.0], &[3]),
        &t(vec![0.8, 0.6, 0.4], &[3, 1]),
    )
    .unwrap();
    close("accuracy by name", m.result().unwrap(), 1.0 / 3.0);

    let err = metrics::get::<B>("f1_macro", TargetKind::Binary, &[3], &[3, 1]).unwrap_err();
    assert!(matches!(err, Error::UnknownName { .. }), "{err:?}");
    assert!(err.to_string().contains("f1_macro") && err.to_string().contains("accuracy"));
    assert!(metrics::check_name("f1_macro").is_err());
}
