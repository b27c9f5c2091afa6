//! Streaming metrics against scikit-learn (and Keras' AUC definition) on the committed
//! fixture `tests/fixtures/metrics.safetensors`, written by `scripts/make_metric_fixtures.py`.
//!
//! Every check feeds the data once in one batch and once in uneven batches (the streamed
//! result must equal the one-shot value within 1e-12 relative), then resets and refeeds.
//!
//! Tolerances against the references:
//! - counts-based metrics (accuracy, top-k, precision, recall, mean IoU): 1e-9 (exact);
//! - F1: 1e-6 (Keras adds 1e-7 to each denominator, scikit-learn does not);
//! - MAE/MSE/RMSE/R²: 1e-5 relative (f32 inputs, f64 sums on the device);
//! - AUC: Keras' thresholded definition (numpy, in the script) to 1e-9; scikit-learn's exact
//!   ROC AUC to 1e-9 on scores at bucket midpoints (where Keras' trapezoids are exact) and
//!   to 2e-3 on continuous scores; scikit-learn's step average precision is not Keras'
//!   interpolated PR AUC: within the measured gap stored in the fixture plus 0.01.

#[macro_use]
mod common;

use stratanet::losses::TargetKind;
use stratanet::metrics::{
    self, Curve, F1Average, F1Score, MeanAbsoluteError, MeanIoU, MeanSquaredError, Metric,
    MetricSpec, Precision, R2Aggregation, R2Score, Recall, RootMeanSquaredError, TopKAccuracy, AUC,
};
use stratanet::{Backend, Tensor};

use common::FixtureFile as Fixture;

/// `tests/fixtures/metrics.safetensors`.
fn fixture() -> Fixture {
    Fixture::load("metrics.safetensors", "make_metric_fixtures.py")
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol * want.abs().max(1.0),
        "{what}: got {got}, expected {want} (tol {tol})"
    );
}

/// One-shot value, streamed value over uneven batches (must agree), reset and refeed.
fn check<B: Backend>(
    what: &str,
    mut m: Box<dyn Metric<B>>,
    y: &Tensor<B>,
    p: &Tensor<B>,
    want: f64,
    tol: f64,
) {
    let n = y.shape()[0];
    m.update(y, p).unwrap();
    let one = m.result().unwrap();
    close(what, one, want, tol);
    m.reset();
    assert_eq!(m.result().unwrap(), 0.0, "{what}: reset");
    let cuts = [0, 1, 8, 9, 40, 77, n];
    for w in cuts.windows(2) {
        let (a, len) = (w[0], w[1] - w[0]);
        m.update(&y.narrow(0, a, len).unwrap(), &p.narrow(0, a, len).unwrap())
            .unwrap();
    }
    let streamed = m.result().unwrap();
    close(&format!("{what} (streamed)"), streamed, one, 1e-12);
}

fn binary<B: Backend>() {
    let f = fixture();
    let (y, p) = (f.tensor::<B>("binary/y"), f.tensor::<B>("binary/p"));
    let p2 = p.unsqueeze(-1).unwrap(); // [n, 1] predictions against [n] labels
    let get = |name: &str| metrics::get::<B>(name, TargetKind::Binary, &y.shape(), &p2.shape());
    check(
        "accuracy",
        get("accuracy").unwrap(),
        &y,
        &p2,
        f.scalar("binary/accuracy"),
        1e-9,
    );
    check(
        "binary_accuracy",
        get("binary_accuracy").unwrap(),
        &y,
        &p,
        f.scalar("binary/accuracy"),
        1e-9,
    );
    check(
        "precision",
        get("precision").unwrap(),
        &y,
        &p2,
        f.scalar("binary/precision"),
        1e-9,
    );
    check(
        "recall",
        get("recall").unwrap(),
        &y,
        &p2,
        f.scalar("binary/recall"),
        1e-9,
    );
    check(
        "precision@0.3",
        Box::new(Precision::<B>::new().threshold(0.3)),
        &y,
        &p,
        f.scalar("binary/precision_t03"),
        1e-9,
    );
    check(
        "recall@0.3",
        Box::new(Recall::<B>::new().threshold(0.3)),
        &y,
        &p2,
        f.scalar("binary/recall_t03"),
        1e-9,
    );
    check(
        "f1 (binary)",
        get("f1_score").unwrap(),
        &y,
        &p2,
        f.scalar("binary/f1"),
        1e-6,
    );
    check(
        "auc roc (keras)",
        get("auc").unwrap(),
        &y,
        &p2,
        f.scalar("binary/auc_roc_keras"),
        1e-9,
    );
    check(
        "auc roc (sklearn, continuous)",
        get("auc").unwrap(),
        &y,
        &p,
        f.scalar("binary/roc_auc_sklearn"),
        2e-3,
    );
    let grid = f.tensor::<B>("binary/p_grid");
    check(
        "auc roc (sklearn, bucket midpoints)",
        Box::new(AUC::<B>::new()),
        &y,
        &grid,
        f.scalar("binary/roc_auc_grid_sklearn"),
        1e-9,
    );
    let pr = || Box::new(AUC::<B>::new().curve(Curve::Pr));
    check(
        "auc pr (keras)",
        pr(),
        &y,
        &p,
        f.scalar("binary/auc_pr_keras"),
        1e-9,
    );
    check(
        "auc pr (sklearn AP)",
        pr(),
        &y,
        &p,
        f.scalar("binary/average_precision_sklearn"),
        f.scalar("binary/auc_pr_gap") + 0.01,
    );
    // from_logits: the same scores through a logit
    let logits = p
        .clamp(1e-6, 1.0 - 1e-6)
        .unwrap()
        .div(
            &p.clamp(1e-6, 1.0 - 1e-6)
                .unwrap()
                .affine(-1.0, 1.0)
                .unwrap(),
        )
        .unwrap()
        .log()
        .unwrap();
    check(
        "auc from logits",
        Box::new(AUC::<B>::new().from_logits(true)),
        &y,
        &logits,
        f.scalar("binary/auc_roc_keras"),
        1e-3,
    );
}

fn multiclass<B: Backend>() {
    let f = fixture();
    let labels = f.tensor::<B>("multi/labels");
    let one_hot = f.tensor::<B>("multi/one_hot");
    let probs = f.tensor::<B>("multi/probs");
    let get = |name: &str, kind| metrics::get::<B>(name, kind, &labels.shape(), &probs.shape());
    let acc = f.scalar("multi/accuracy");
    check(
        "sparse accuracy",
        get("accuracy", TargetKind::SparseCategorical).unwrap(),
        &labels,
        &probs,
        acc,
        1e-9,
    );
    check(
        "categorical_accuracy",
        get("categorical_accuracy", TargetKind::Categorical).unwrap(),
        &one_hot,
        &probs,
        acc,
        1e-9,
    );
    check(
        "sparse_categorical_accuracy",
        get("sparse_categorical_accuracy", TargetKind::Regression).unwrap(),
        &labels,
        &probs,
        acc,
        1e-9,
    );
    for k in [2usize, 3] {
        let want = f.scalar(&format!("multi/top{k}"));
        check(
            "sparse top-k",
            Box::new(TopKAccuracy::<B>::sparse(k)),
            &labels,
            &probs,
            want,
            1e-9,
        );
        check(
            "top-k",
            Box::new(TopKAccuracy::<B>::categorical(k)),
            &one_hot,
            &probs,
            want,
            1e-9,
        );
    }
    // k = 5 >= classes: always right
    check(
        "top-5 by name",
        get("top_k_categorical_accuracy", TargetKind::Categorical).unwrap(),
        &one_hot,
        &probs,
        1.0,
        1e-12,
    );
    check(
        "sparse top-5 by name",
        get(
            "sparse_top_k_categorical_accuracy",
            TargetKind::SparseCategorical,
        )
        .unwrap(),
        &labels,
        &probs,
        1.0,
        1e-12,
    );
    for (avg, key) in [
        (F1Average::Macro, "macro"),
        (F1Average::Micro, "micro"),
        (F1Average::Weighted, "weighted"),
    ] {
        let want = f.scalar(&format!("multi/f1_{key}"));
        check(
            key,
            Box::new(F1Score::<B>::new(avg)),
            &one_hot,
            &probs,
            want,
            1e-6,
        );
        let (ml_y, ml_p) = (f.tensor::<B>("multilabel/y"), f.tensor::<B>("multilabel/p"));
        let want = f.scalar(&format!("multilabel/f1_{key}_t04"));
        check(
            key,
            Box::new(F1Score::<B>::new(avg).threshold(0.4)),
            &ml_y,
            &ml_p,
            want,
            1e-6,
        );
    }
    check(
        "f1 by name (macro)",
        get("f1_score", TargetKind::Categorical).unwrap(),
        &one_hot,
        &probs,
        f.scalar("multi/f1_macro"),
        1e-6,
    );
    let iou = f.scalar("multi/mean_iou");
    let pred_labels = f.tensor::<B>("multi/pred_labels");
    check(
        "mean iou (labels)",
        Box::new(MeanIoU::<B>::new(5)),
        &labels,
        &pred_labels,
        iou,
        1e-9,
    );
    check(
        "mean iou (scores)",
        Box::new(MeanIoU::<B>::new(5).sparse_y_pred(false)),
        &labels,
        &probs,
        iou,
        1e-9,
    );
    check(
        "mean iou (one-hot, scores)",
        Box::new(
            MeanIoU::<B>::new(5)
                .sparse_y_true(false)
                .sparse_y_pred(false),
        ),
        &one_hot,
        &probs,
        iou,
        1e-9,
    );
    check(
        "precision class 2",
        Box::new(Precision::<B>::new().class_id(2)),
        &one_hot,
        &probs,
        f.scalar("multi/precision_class2"),
        1e-9,
    );
    check(
        "recall class 2",
        Box::new(Recall::<B>::new().class_id(2)),
        &one_hot,
        &probs,
        f.scalar("multi/recall_class2"),
        1e-9,
    );
}

fn regression<B: Backend>() {
    let f = fixture();
    let (y, p) = (f.tensor::<B>("reg/y"), f.tensor::<B>("reg/p"));
    let get = |name: &str| {
        metrics::get::<B>(name, TargetKind::Regression, &y.shape(), &p.shape()).unwrap()
    };
    for (names, key) in [
        (["mae", "mean_absolute_error"], "reg/mae"),
        (["mse", "mean_squared_error"], "reg/mse"),
        (["rmse", "root_mean_squared_error"], "reg/rmse"),
    ] {
        for name in names {
            let m = get(name);
            assert_eq!(m.name(), name);
            check(name, m, &y, &p, f.scalar(key), 1e-5);
        }
    }
    check(
        "MeanAbsoluteError",
        Box::new(MeanAbsoluteError::<B>::new()),
        &y,
        &p,
        f.scalar("reg/mae"),
        1e-5,
    );
    check(
        "MeanSquaredError",
        Box::new(MeanSquaredError::<B>::new()),
        &y,
        &p,
        f.scalar("reg/mse"),
        1e-5,
    );
    check(
        "RootMeanSquaredError",
        Box::new(RootMeanSquaredError::<B>::new()),
        &y,
        &p,
        f.scalar("reg/rmse"),
        1e-5,
    );
    check(
        "r2",
        get("r2_score"),
        &y,
        &p,
        f.scalar("reg/r2_uniform"),
        1e-5,
    );
    check(
        "r2 variance weighted",
        Box::new(R2Score::<B>::new().aggregation(R2Aggregation::VarianceWeighted)),
        &y,
        &p,
        f.scalar("reg/r2_variance_weighted"),
        1e-5,
    );
    let (y1, p1) = (y.narrow(1, 1, 1).unwrap(), p.narrow(1, 1, 1).unwrap());
    let y1 = y1.reshape_to(&[y1.shape()[0]]).unwrap(); // [n] targets against [n, 1]
    check(
        "r2 single output",
        Box::new(R2Score::<B>::new()),
        &y1,
        &p1,
        f.scalar("reg/r2_single"),
        1e-5,
    );
}

fn specs_and_errors<B: Backend>() {
    let specs: Vec<MetricSpec<B>> = vec![
        "auc".into(),
        String::from("mse").into(),
        Precision::<B>::new().named("p").into(),
        (Box::new(AUC::<B>::new()) as Box<dyn Metric<B>>).into(),
    ];
    let names: Vec<String> = specs.iter().map(MetricSpec::name).collect();
    assert_eq!(names, ["auc", "mse", "p", "auc"]);
    assert!(specs.iter().all(|s| s.check().is_ok()));
    assert!(MetricSpec::<B>::from("f1_macro").check().is_err());
    for s in specs {
        let m = s.resolve(TargetKind::Binary, &[4], &[4, 1]).unwrap();
        assert_eq!(m.result().unwrap(), 0.0);
    }
    for name in metrics::METRIC_NAMES {
        assert!(metrics::check_name(name).is_ok());
        metrics::get::<B>(name, TargetKind::Binary, &[4], &[4, 1]).unwrap();
    }
    // shape errors, no panic
    let y = Tensor::<B>::from_vec(vec![0.0f32, 1.0, 1.0], &[3]).unwrap();
    let p = Tensor::<B>::from_vec(vec![0.1f32, 0.9], &[2]).unwrap();
    assert!(AUC::<B>::new().update(&y, &p).is_err());
    assert!(Precision::<B>::new().class_id(3).update(&y, &y).is_err());
    let labels = Tensor::<B>::from_vec(vec![0i64, 1], &[2]).unwrap();
    assert!(MeanIoU::<B>::new(2).update(&labels, &y).is_err());
}

engine_tests!(binary, multiclass, regression, specs_and_errors,);
