//! The training-toolkit losses against PyTorch on `tests/fixtures/losses_toolkit.safetensors`
//! (written by `scripts/make_metric_fixtures.py`; torch built-ins where torch has the loss,
//! the Keras formula with torch ops otherwise). Per-sample values within 1e-5 relative
//! (abs floor 1e-6); reductions and sample weights as Keras' `reduce_weighted_values`.

#[macro_use]
mod common;

use stratanet::losses::{
    self, BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
    CategoricalFocalCrossentropy, CategoricalHinge, CosineSimilarity, Hinge, KLDivergence, LogCosh,
    Loss, MeanAbsolutePercentageError, MeanSquaredError, MeanSquaredLogarithmicError, Poisson,
    Reduction, SparseCategoricalCrossentropy, SquaredHinge,
};
use stratanet::{Backend, Tensor};

use common::FixtureFile as Fixture;

/// `tests/fixtures/losses_toolkit.safetensors`.
fn fixture() -> Fixture {
    Fixture::load("losses_toolkit.safetensors", "make_metric_fixtures.py")
}

fn close_all(what: &str, got: &[f64], want: &[f64]) {
    common::assert_all_close(what, got, want, 1e-6, 1e-5);
}

/// Per-sample values and the default (mean) reduction against the fixture.
fn check<B: Backend>(f: &Fixture, what: &str, loss: &dyn Loss<B>, y: &str, p: &str, want: &str) {
    let (y, p) = (f.tensor_f32::<B>(y), f.tensor_f32::<B>(p));
    let (_, want) = f.values(want);
    let got = loss.per_sample(&y, &p).unwrap().to_vec_f64().unwrap();
    close_all(what, &got, &want);
    let mean = loss.call(&y, &p).unwrap().item().unwrap();
    close_all(
        &format!("{what} (mean)"),
        &[mean],
        &[want.iter().sum::<f64>() / want.len() as f64],
    );
}

fn values<B: Backend>() {
    let f = fixture();
    check::<B>(
        &f,
        "kld",
        &KLDivergence::new(),
        "kld/y",
        "kld/p",
        "kld/loss",
    );
    check::<B>(
        &f,
        "kld by name",
        &*losses::get::<B>("kld").unwrap(),
        "kld/y",
        "kld/p",
        "kld/loss",
    );
    check::<B>(
        &f,
        "poisson",
        &Poisson::new(),
        "poisson/y",
        "poisson/p",
        "poisson/loss",
    );
    check::<B>(
        &f,
        "hinge 0/1",
        &Hinge::new(),
        "hinge/y01",
        "hinge/p",
        "hinge/loss",
    );
    check::<B>(
        &f,
        "hinge -1/1",
        &Hinge::new(),
        "hinge/ypm",
        "hinge/p",
        "hinge/loss",
    );
    check::<B>(
        &f,
        "squared hinge 0/1",
        &SquaredHinge::new(),
        "hinge/y01",
        "hinge/p",
        "squared_hinge/loss",
    );
    check::<B>(
        &f,
        "squared hinge -1/1",
        &SquaredHinge::new(),
        "hinge/ypm",
        "hinge/p",
        "squared_hinge/loss",
    );
    check::<B>(
        &f,
        "categorical hinge",
        &CategoricalHinge::new(),
        "categorical_hinge/y",
        "categorical_hinge/p",
        "categorical_hinge/loss",
    );
    check::<B>(
        &f,
        "log cosh",
        &LogCosh::new(),
        "log_cosh/y",
        "log_cosh/p",
        "log_cosh/loss",
    );
    check::<B>(
        &f,
        "cosine",
        &CosineSimilarity::new(),
        "cosine/y",
        "cosine/p",
        "cosine/loss",
    );
    check::<B>(
        &f,
        "mape",
        &MeanAbsolutePercentageError::new(),
        "mape/y",
        "mape/p",
        "mape/loss",
    );
    check::<B>(
        &f,
        "msle",
        &MeanSquaredLogarithmicError::new(),
        "mape/y",
        "mape/p",
        "msle/loss",
    );
    let bce = BinaryCrossentropy::new().label_smoothing(0.1);
    check::<B>(
        &f,
        "bce ls probs",
        &bce,
        "bce_ls/y",
        "bce_ls/probs",
        "bce_ls/loss_probs",
    );
    check::<B>(
        &f,
        "bce ls logits",
        &bce.from_logits(true),
        "bce_ls/y",
        "bce_ls/logits",
        "bce_ls/loss_logits",
    );
    let cce = CategoricalCrossentropy::new().label_smoothing(0.2);
    check::<B>(
        &f,
        "cce ls probs",
        &cce,
        "cce_ls/y",
        "cce_ls/probs",
        "cce_ls/loss",
    );
    check::<B>(
        &f,
        "cce ls logits",
        &cce.from_logits(true),
        "cce_ls/y",
        "cce_ls/logits",
        "cce_ls/loss",
    );
    let bf = BinaryFocalCrossentropy::new();
    check::<B>(
        &f,
        "bfocal probs",
        &bf,
        "bfocal/y",
        "bfocal/probs",
        "bfocal/loss",
    );
    check::<B>(
        &f,
        "bfocal logits",
        &bf.from_logits(true),
        "bfocal/y",
        "bfocal/logits",
        "bfocal/loss",
    );
    check::<B>(
        &f,
        "bfocal balanced",
        &bf.from_logits(true).class_balancing(true, 0.25),
        "bfocal/y",
        "bfocal/logits",
        "bfocal/loss_balanced",
    );
    check::<B>(
        &f,
        "bfocal ls",
        &bf.label_smoothing(0.1),
        "bfocal/y",
        "bfocal/probs",
        "bfocal/loss_ls",
    );
    let cf = CategoricalFocalCrossentropy::new();
    check::<B>(
        &f,
        "cfocal probs",
        &cf,
        "cfocal/y",
        "cfocal/probs",
        "cfocal/loss",
    );
    check::<B>(
        &f,
        "cfocal logits",
        &cf.from_logits(true),
        "cfocal/y",
        "cfocal/logits",
        "cfocal/loss",
    );
    check::<B>(
        &f,
        "cfocal ls",
        &cf.label_smoothing(0.2),
        "cfocal/y",
        "cfocal/probs",
        "cfocal/loss_ls",
    );
}

fn reductions<B: Backend>() {
    let f = fixture();
    let (y, p, w) = (
        f.tensor_f32::<B>("reduce/y"),
        f.tensor_f32::<B>("reduce/p"),
        f.tensor_f32::<B>("reduce/w"),
    );
    let n = w.shape()[0];
    let w_col = w.reshape_to(&[n, 1]).unwrap();
    for (r, key) in [
        (Reduction::Sum, "reduce/sum"),
        (Reduction::SumOverBatchSize, "reduce/sum_over_batch_size"),
        (Reduction::Mean, "reduce/sum_over_batch_size"),
        (
            Reduction::MeanWithSampleWeight,
            "reduce/mean_with_sample_weight",
        ),
        (Reduction::None, "reduce/none"),
    ] {
        let (_, want) = f.values(key);
        for weights in [&w, &w_col] {
            let l = MeanSquaredError.reduction(r);
            let got = Loss::<B>::call_weighted(&l, &y, &p, Some(weights)).unwrap();
            close_all(r.as_str(), &got.to_vec_f64().unwrap(), &want);
            assert_eq!(Loss::<B>::get_config(&l)["reduction"], r.as_str());
            assert_eq!(Reduction::parse(r.as_str()).unwrap(), r);
        }
    }
    // builders on losses with their own field
    let h = Hinge::new().reduction(Reduction::Sum);
    assert_eq!(Loss::<B>::reduction(&h), Reduction::Sum);
    // scalar weight, and no weight: mean_with_sample_weight falls back to the mean
    let plain = Loss::<B>::call(&MeanSquaredError, &y, &p)
        .unwrap()
        .item()
        .unwrap();
    let two = Tensor::<B>::from_vec(vec![2.0f32], &[]).unwrap();
    let scaled = Loss::<B>::call_weighted(&MeanSquaredError, &y, &p, Some(&two))
        .unwrap()
        .item()
        .unwrap();
    close_all("scalar weight", &[scaled], &[2.0 * plain]);
    let mws = MeanSquaredError.reduction(Reduction::MeanWithSampleWeight);
    let unweighted = Loss::<B>::call_weighted(&mws, &y, &p, None)
        .unwrap()
        .item()
        .unwrap();
    close_all(
        "mean_with_sample_weight unweighted",
        &[unweighted],
        &[plain],
    );
    // all-zero weights: 0, not NaN
    let zeros = w.zeros_like().unwrap();
    let z = Loss::<B>::call_weighted(&mws, &y, &p, Some(&zeros))
        .unwrap()
        .item()
        .unwrap();
    assert_eq!(z, 0.0);
    // wrong weight shape is an error
    let bad = Tensor::<B>::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
    assert!(Loss::<B>::call_weighted(&MeanSquaredError, &y, &p, Some(&bad)).is_err());
    // sparse CE keeps its label check in call_weighted
    let logits = Tensor::<B>::from_vec(vec![0.0f32; 4], &[2, 2]).unwrap();
    let labels = Tensor::<B>::from_vec(vec![0i64, 7], &[2]).unwrap();
    let sce = SparseCategoricalCrossentropy::new().from_logits(true);
    assert!(Loss::<B>::call_weighted(&sce, &labels, &logits, None).is_err());
}

fn stability_and_names<B: Backend>() {
    // extreme logits stay finite
    let y = Tensor::<B>::from_vec(vec![1.0f32, 0.0, 1.0, 0.0], &[2, 2]).unwrap();
    let x = Tensor::<B>::from_vec(vec![-200.0f32, 200.0, 300.0, -300.0], &[2, 2]).unwrap();
    for l in [
        Box::new(BinaryFocalCrossentropy::new().from_logits(true)) as Box<dyn Loss<B>>,
        Box::new(CategoricalFocalCrossentropy::new().from_logits(true)),
        Box::new(
            BinaryCrossentropy::new()
                .from_logits(true)
                .label_smoothing(0.1),
        ),
        Box::new(LogCosh::new()),
    ] {
        let v = l.call(&y, &x).unwrap().item().unwrap();
        assert!(v.is_finite(), "{}: {v}", l.name());
    }
    for name in losses::LOSS_NAMES {
        let l = losses::get::<B>(name).unwrap();
        assert!(l.get_config().is_object(), "{name}");
    }
    assert_eq!(losses::get::<B>("kld").unwrap().name(), "kl_divergence");
    assert_eq!(losses::get::<B>("logcosh").unwrap().name(), "log_cosh");
    assert!(Reduction::parse("avg").is_err());
}

engine_tests!(values, reductions, stability_and_names,);
