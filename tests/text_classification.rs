//! `examples/text_classification.rs` on the bundled SMS Spam Collection (its fixed
//! train/test split): a reduced model (tf-idf of 2,000 unigrams, one softmax `Dense` layer,
//! i.e. logistic regression) beats the majority-class baseline of the test split by at
//! least 0.10, as the example must; and the example's own model comes within 0.03 of
//! scikit-learn's logistic regression on TF-IDF features (`scripts/text_baseline_sklearn.py`,
//! C picked by cross-validation on the training split), which needs Python. Runs on candle
//! and, with feature `tch`, libtorch.

#[macro_use]
mod common;

use stratanet::layers::{Dense, Dropout, Input, TextOutputMode, TextVectorization};
use stratanet::optimizers::Adam;
use stratanet::{datasets, Backend, Device, FitOptions, Sequential, Tensor};

/// The accuracy of always answering the majority class of `y`.
fn majority_accuracy(y: &[i64]) -> f64 {
    let spam = y.iter().filter(|&&v| v == 1).count();
    spam.max(y.len() - spam) as f64 / y.len() as f64
}

/// Adapts `vectorizer` on the training split, trains `Input -> [Dense(units, relu) ->
/// Dropout(rate)] -> Dense(2, softmax)` (the bracket when `hidden` is `Some((units, rate))`)
/// with Adam(`lr`) and `options`, and returns the test accuracy and the majority-class
/// baseline of the test split.
fn train_and_score<B: Backend>(
    mut vectorizer: TextVectorization,
    hidden: Option<(usize, f64)>,
    lr: f64,
    options: FitOptions<B>,
) -> (f64, f64) {
    let ((x_train, y_train), (x_test, y_test)) = datasets::sms_spam().unwrap();
    vectorizer.adapt(&x_train).unwrap();
    let encode = |x: &[String]| vectorizer.encode::<B, _>(x, Device::Cpu).unwrap();
    let labels = |y: &[i64]| Tensor::<B>::from_vec(y.to_vec(), &[y.len()]).unwrap();

    let mut model = Sequential::<B>::new().with_seed(42);
    model.add(Input::new(&[vectorizer.depth()])).unwrap();
    if let Some((units, rate)) = hidden {
        model.add(Dense::new(units).activation("relu")).unwrap();
        model.add(Dropout::new(rate)).unwrap();
    }
    model.add(Dense::new(2).activation("softmax")).unwrap();
    model
        .compile(
            Adam::new(lr),
            "sparse_categorical_crossentropy",
            &["accuracy"],
        )
        .unwrap();
    model
        .fit(encode(&x_train), labels(&y_train), options)
        .unwrap();
    let scores = model.evaluate(encode(&x_test), labels(&y_test)).unwrap();
    let accuracy = scores.get("accuracy").unwrap();
    let baseline = majority_accuracy(&y_test);
    println!("test accuracy {accuracy:.4}, baseline accuracy {baseline:.4}");
    (accuracy, baseline)
}

fn beats_the_majority_baseline<B: Backend>() {
    let vectorizer = TextVectorization::new()
        .output_mode(TextOutputMode::TfIdf)
        .max_tokens(2000);
    let options = FitOptions::new().epochs(5).seed(42).verbose(0);
    let (accuracy, baseline) = train_and_score::<B>(vectorizer, None, 1e-2, options);
    assert!((baseline - 965.0 / 1114.0).abs() < 1e-12, "{baseline}");
    assert!(
        accuracy >= baseline + 0.10,
        "test accuracy {accuracy:.4} does not beat the baseline {baseline:.4} by 0.10"
    );
}

/// The value after `label` on the line of `out` that contains it.
fn figure(out: &str, label: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no line with {label:?} in the script's output:\n{out}"));
    line.rsplit(": ").next().unwrap().trim().parse().unwrap()
}

/// The example's model and options, kept in step with `examples/text_classification.rs`.
fn within_reach_of_scikit_learn<B: Backend>() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/text_baseline_sklearn.py"
    );
    let out = std::process::Command::new(common::python())
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = String::from_utf8(out.stdout).unwrap();
    let sklearn = figure(&out, "5-fold CV on train) test accuracy");

    let vectorizer = TextVectorization::new()
        .output_mode(TextOutputMode::TfIdf)
        .ngrams(2)
        .max_tokens(10_000);
    let options = FitOptions::new()
        .epochs(4)
        .batch_size(32)
        .validation_split(0.1)
        .seed(42)
        .verbose(0);
    let (accuracy, baseline) = train_and_score::<B>(vectorizer, Some((16, 0.5)), 1e-3, options);
    println!("scikit-learn: {sklearn:.4}");
    assert_eq!(
        figure(&out, "baseline accuracy"),
        (baseline * 1e4).round() / 1e4
    );
    assert!(
        accuracy >= sklearn - 0.03,
        "test accuracy {accuracy:.4} is not within 0.03 of scikit-learn's {sklearn:.4}"
    );
    assert!(
        accuracy >= baseline + 0.10,
        "{accuracy} vs baseline {baseline}"
    );
}

engine_tests!(
    beats_the_majority_baseline,
    #[ignore = "needs Python: run with cargo xtask test (sets STRATANET_PYTHON)"]
    within_reach_of_scikit_learn,
);
