//! Keras' defaults and spellings (issue 19 items 2 and 10): `evaluate(&x, &y)` and
//! `predict(&x)` in batches of 32, options by batch size or `EvaluateOptions` /
//! `PredictOptions`, results read by name with an error listing the names present; and the
//! Keras spellings of optimizer, callback and layer names as aliases.

#[macro_use]
mod common;

use std::sync::{Arc, Mutex};
use stratanet::callbacks::{BatchEnd, Callback, CallbackContext};
use stratanet::prelude::*;
use stratanet::{Backend, Error};

/// Counts evaluation and prediction batches.
struct Batches(Arc<Mutex<(usize, usize)>>);

impl Callback for Batches {
    fn on_test_batch_end(&mut self, _: BatchEnd<'_>) -> stratanet::Result<()> {
        self.0.lock().unwrap().0 += 1;
        Ok(())
    }
    fn on_predict_batch_end(
        &mut self,
        _: usize,
        _: &mut CallbackContext<'_>,
    ) -> stratanet::Result<()> {
        self.0.lock().unwrap().1 += 1;
        Ok(())
    }
}

/// 70 samples of 4 features and labels in 0..3, and a compiled classifier.
fn setup<B: Backend>() -> (Sequential<B>, Tensor<B>, Tensor<B>) {
    let m = common::dense_classifier::<B>(7, 4, &[8], None, 3, "adam");
    let x: Vec<f32> = (0..280)
        .map(|i| ((i * 37) % 19) as f32 / 19.0 - 0.5)
        .collect();
    let y: Vec<i64> = (0..70).map(|i| (i % 3) as i64).collect();
    let x = Tensor::from_vec(x, &[70, 4]).unwrap();
    let y = Tensor::from_vec(y, &[70]).unwrap();
    (m, x, y)
}

fn evaluate_defaults_to_batches_of_32<B: Backend>() {
    let (mut m, x, y) = setup::<B>();
    let counts = Arc::new(Mutex::new((0, 0)));
    let counter = || Batches(counts.clone());
    // The default: 70 samples in batches of 32, 32 and 6.
    let results = m.evaluate(&x, &y).unwrap();
    m.evaluate_with(&x, &y, EvaluateOptions::new().callback(counter()))
        .unwrap();
    assert_eq!(counts.lock().unwrap().0, 3);
    // A batch size as a plain usize, or in the options.
    let whole = m.evaluate_with(&x, &y, 70).unwrap();
    m.evaluate_with(&x, &y, EvaluateOptions::from(10).callback(counter()))
        .unwrap();
    assert_eq!(counts.lock().unwrap().0, 3 + 7);
    for name in ["loss", "accuracy"] {
        let (a, b) = (results.value(name).unwrap(), whole.value(name).unwrap());
        assert!((a - b).abs() < 1e-5, "{name}: {a} vs {b}");
    }
    assert!((0.0..=1.0).contains(&results.value("accuracy").unwrap()));
    assert_eq!(results.names().collect::<Vec<_>>(), ["accuracy", "loss"]);
    // A missing name: an error naming it and the names present (the Option form stays).
    let e = results.value("acc").unwrap_err();
    assert!(matches!(e, Error::UnknownName { .. }), "{e:?}");
    assert_eq!(e.to_string(), "unknown result 'acc'; known: accuracy, loss");
    assert_eq!(results.get("acc"), None);
    let e = m.evaluate_with(&x, &y, 0).unwrap_err();
    assert!(e.to_string().contains("batch_size"), "{e}");
}

fn predict_defaults_to_batches_of_32<B: Backend>() {
    let (mut m, x, _) = setup::<B>();
    let counts = Arc::new(Mutex::new((0, 0)));
    let p = m.predict(&x).unwrap();
    assert_eq!(p.shape(), [70, 3]);
    let q = m
        .predict_with(&x, PredictOptions::new().callback(Batches(counts.clone())))
        .unwrap();
    assert_eq!(counts.lock().unwrap().1, 3);
    let whole = m.predict_with(&x, 70).unwrap();
    let all = m
        .predict_all(
            &x,
            PredictOptions::from(8).callback(Batches(counts.clone())),
        )
        .unwrap();
    assert_eq!(counts.lock().unwrap().1, 3 + 9);
    assert_eq!(all.len(), 1);
    let p = p.to_vec_f32().unwrap();
    assert_eq!(p, q.to_vec_f32().unwrap());
    for other in [whole, all[0].clone()] {
        let d = p
            .iter()
            .zip(other.to_vec_f32().unwrap())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(d < 1e-5, "batching changed predictions by {d}");
    }
    assert!(m.predict_with(&x, 0).is_err());
}

engine_tests!(
    evaluate_defaults_to_batches_of_32,
    predict_defaults_to_batches_of_32
);
