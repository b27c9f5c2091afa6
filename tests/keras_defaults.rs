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
    let (m, x, y) = setup::<B>();
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
    let (m, x, _) = setup::<B>();
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

/// Keras' spellings compile and name the same types as the Rust spellings (each `let`
/// with a type annotation fails to compile if an alias points elsewhere).
fn keras_spellings_are_aliases<B: Backend>() {
    use stratanet::callbacks::{
        CSVLogger, CsvLogger, ReduceLROnPlateau, ReduceLrOnPlateau, TerminateOnNaN, TerminateOnNan,
    };
    use stratanet::layers::{Gru, Lstm, SimpleRnn, GRU, LSTM};
    use stratanet::metrics::{Auc, MeanIoU, MeanIou, Metric, AUC};
    use stratanet::optimizers::{Optimizer, RMSprop, RmsProp, SGD};

    let sgd: Sgd<B> = SGD::new(0.05).momentum(0.9);
    assert_eq!(sgd.get_config()["momentum"], 0.9);
    let rms: RmsProp<B> = RMSprop::default();
    assert_eq!(rms.name(), "rmsprop");
    let _: TerminateOnNan = TerminateOnNaN::new();
    let _: ReduceLrOnPlateau = ReduceLROnPlateau::new("loss").factor(0.5);
    let dir = common::tmp_dir();
    let log_path = dir.join("log.csv");
    let _: CsvLogger = CSVLogger::new(&log_path);
    let mut auc: AUC<B> = Auc::new();
    let mut iou: MeanIoU<B> = MeanIou::new(2);
    let y = Tensor::<B>::from_vec(vec![0i64, 0, 1, 1], &[4]).unwrap();
    iou.update(&y, &Tensor::from_vec(vec![0i64, 1, 0, 1], &[4]).unwrap())
        .unwrap();
    assert!((iou.result().unwrap() - 1.0 / 3.0).abs() < 1e-12);
    let p = Tensor::<B>::from_vec(vec![0.1f32, 0.4, 0.35, 0.8], &[4]).unwrap();
    auc.update(&y.to_dtype(DType::F32).unwrap(), &p).unwrap();
    assert!((auc.result().unwrap() - 0.75).abs() < 1e-9);

    // A model written with the Keras spellings trains with the Keras-spelled callbacks.
    let mut m = Sequential::<B>::new().with_seed(3);
    m.add(Input::new(&[5, 2])).unwrap();
    m.add(Lstm::new(4).return_sequences(true)).unwrap();
    m.add(Gru::new(3).return_sequences(true)).unwrap();
    m.add(SimpleRnn::new(2)).unwrap();
    m.add(Dense::new(1)).unwrap();
    let _: Option<&LSTM<B>> = None;
    let _: Option<&GRU<B>> = None;
    m.compile(RMSprop::default(), "mse", &[]).unwrap();
    let x = Tensor::<B>::from_vec((0..40).map(|i| i as f32 / 40.0).collect(), &[4, 5, 2]).unwrap();
    let t = Tensor::<B>::from_vec(vec![0.1f32, 0.2, 0.3, 0.4], &[4, 1]).unwrap();
    let opts = common::quiet::<B>(2)
        .callback(TerminateOnNaN::new())
        .callback(ReduceLROnPlateau::new("loss"))
        .callback(CSVLogger::new(&log_path));
    let h = m.fit(&x, &t, opts).unwrap();
    assert_eq!(h.history["loss"].len(), 2);
    assert_eq!(
        std::fs::read_to_string(&log_path).unwrap().lines().count(),
        3
    );
}

/// `Default` for every optimizer is `keras.optimizers.<Name>()`: Keras 3's learning rates
/// (SGD 0.01, the others 0.001; AdamW's weight decay 0.004), and the same optimizer as the
/// name in `compile`.
fn optimizer_defaults_are_keras<B: Backend>() {
    use stratanet::optimizers::{
        self, Adadelta, Adagrad, Adam, AdamW, Adamax, Lion, Nadam, Optimizer, RmsProp,
    };
    let all: Vec<(&str, Box<dyn Optimizer<B>>, f64)> = vec![
        ("sgd", Box::new(Sgd::<B>::default()), 0.01),
        ("adam", Box::new(Adam::<B>::default()), 0.001),
        ("adamw", Box::new(AdamW::<B>::default()), 0.001),
        ("rmsprop", Box::new(RmsProp::<B>::default()), 0.001),
        ("adagrad", Box::new(Adagrad::<B>::default()), 0.001),
        ("adadelta", Box::new(Adadelta::<B>::default()), 0.001),
        ("adamax", Box::new(Adamax::<B>::default()), 0.001),
        ("nadam", Box::new(Nadam::<B>::default()), 0.001),
        ("lion", Box::new(Lion::<B>::default()), 0.001),
    ];
    for (name, opt, lr) in all {
        assert_eq!(opt.name(), name);
        assert_eq!(opt.learning_rate(), lr, "{name}");
        assert_eq!(
            opt.get_config(),
            optimizers::get::<B>(name).unwrap().get_config(),
            "{name}"
        );
    }
    assert_eq!(Adam::<B>::default().get_config()["beta_2"], 0.999);
    assert_eq!(AdamW::<B>::default().get_config()["weight_decay"], 0.004);
}

engine_tests!(
    evaluate_defaults_to_batches_of_32,
    predict_defaults_to_batches_of_32,
    keras_spellings_are_aliases,
    optimizer_defaults_are_keras,
);
