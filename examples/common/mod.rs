//! Helpers shared by the examples (`mod common;`): the compile step of the digit
//! classifiers, the test-score report and the `--seed` argument of the tabular examples.

#![allow(dead_code)]

use stratanet::optimizers::IntoOptimizer;
use stratanet::{Backend, Logs, Sequential};

/// Compiles `model` as a classifier of integer labels: `optimizer`, sparse categorical
/// cross-entropy, accuracy.
pub fn compile_classifier<B: Backend>(
    model: &mut Sequential<B>,
    optimizer: impl IntoOptimizer<B>,
) -> stratanet::Result<()> {
    model.compile(optimizer, "sparse_categorical_crossentropy", &["accuracy"])
}

/// Prints the test loss and the test accuracy of `scores` (NaN when absent).
pub fn print_test_scores(scores: &Logs) {
    println!("test loss: {:.4}", scores.get("loss").unwrap_or(f64::NAN));
    println!(
        "test accuracy: {:.4}",
        scores.get("accuracy").unwrap_or(f64::NAN)
    );
}

/// `--seed N` (default 42).
pub fn seed_from_args() -> stratanet::Result<u64> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--seed") {
        None => Ok(42),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| stratanet::Error::invalid("--seed", "value", "expected an integer")),
    }
}
