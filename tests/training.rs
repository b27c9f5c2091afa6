//! End-to-end training behaviour on candle CPU: learning the bundled digits, determinism,
//! validation split semantics, regularisation in the loss, batch-wise predict.

#[macro_use]
mod common;
use common::{dense_classifier, quiet};

use stratanet::prelude::*;
use stratanet::regularizers::Regularizer;
use stratanet::{datasets, DefaultBackend as B};

/// `Input [64] -> Dense 32 relu -> Dropout 0.1 -> Dense 10 softmax`, Adam(3e-3).
fn digits_model(seed: u64) -> Sequential<B> {
    dense_classifier(seed, 64, &[32], Some(0.1), 10, Adam::new(3e-3))
}

#[test]
fn learns_the_digits_on_a_held_out_split() {
    let (x, y) = datasets::digits::<B>(Device::Cpu).unwrap();
    let (xtr, xte, ytr, yte) = datasets::train_test_split(&x, &y, 0.25, 7).unwrap();
    let mut m = digits_model(3);
    let h = m.fit(&xtr, &ytr, quiet(8).batch_size(32).seed(5)).unwrap();
    let loss = h.get("loss").unwrap();
    assert!(loss[loss.len() - 1] < loss[0] * 0.5, "loss falls: {loss:?}");
    let scores = m.evaluate_with(&xte, &yte, 64).unwrap();
    let acc = scores.get("accuracy").unwrap();
    assert!(acc > 0.9, "test accuracy {acc}");
    // evaluate's accuracy equals argmax(predict) == label
    let pred = m
        .predict_with(&xte, 50)
        .unwrap()
        .argmax(-1, false)
        .unwrap()
        .to_vec_i64()
        .unwrap();
    let truth = yte.to_vec_i64().unwrap();
    let manual =
        pred.iter().zip(&truth).filter(|(a, b)| a == b).count() as f64 / truth.len() as f64;
    assert!((manual - acc).abs() < 1e-9, "{manual} vs {acc}");
}

#[test]
fn same_seed_gives_identical_history_and_weights() {
    let (x, y) = datasets::digits::<B>(Device::Cpu).unwrap();
    let x = x.narrow(0, 0, 400).unwrap();
    let y = y.narrow(0, 0, 400).unwrap();
    let run = |seed: u64| {
        let mut m = digits_model(11);
        let h = m
            .fit(
                &x,
                &y,
                quiet(3).batch_size(16).validation_split(0.2).seed(seed),
            )
            .unwrap();
        let w: Vec<Vec<f32>> = m
            .weights()
            .iter()
            .map(|(_, w)| w.value.to_vec_f32().unwrap())
            .collect();
        (h, w)
    };
    let (h1, w1) = run(99);
    let (h2, w2) = run(99);
    assert_eq!(h1, h2, "identical History");
    assert_eq!(w1, w2, "identical weights");
    let (h3, _) = run(100);
    assert_ne!(
        h1.get("loss"),
        h3.get("loss"),
        "another seed shuffles and drops differently"
    );
    assert_eq!(h1.epoch, vec![0, 1, 2]);
    for k in ["loss", "accuracy", "val_loss", "val_accuracy"] {
        assert_eq!(h1.get(k).map(|v| v.len()), Some(3), "{k}");
    }
}

#[test]
fn global_seed_makes_initial_weights_reproducible() {
    let build = || {
        let mut m = Sequential::<B>::new();
        m.add(Input::new(&[5])).unwrap();
        m.add(Dense::new(3)).unwrap();
        m.weights()[0].1.value.to_vec_f32().unwrap()
    };
    stratanet::set_random_seed(1234);
    let a = build();
    stratanet::set_random_seed(1234);
    let b = build();
    assert_eq!(a, b);
    // Glorot-uniform limit sqrt(6 / (5 + 3))
    let limit = (6.0f32 / 8.0).sqrt();
    assert!(a.iter().all(|v| v.abs() <= limit));
}

#[test]
fn validation_split_holds_out_the_last_samples() {
    // A model that outputs zeros: val_loss is then exactly mean(y_val^2).
    let mut m = zero_output_model();
    let x = Tensor::<B>::zeros(&[10, 1], DType::F32, Device::Cpu).unwrap();
    let y =
        Tensor::<B>::from_vec((1..=10).map(|v| v as f32).collect::<Vec<_>>(), &[10, 1]).unwrap();
    let h = m
        .fit(
            &x,
            &y,
            FitOptions::new()
                .validation_split(0.2)
                .batch_size(3)
                .verbose(0),
        )
        .unwrap();
    let expected_val = (81.0 + 100.0) / 2.0;
    let expected_train = (1..=8).map(|v| (v * v) as f64).sum::<f64>() / 8.0;
    assert!((h.last("val_loss").unwrap() - expected_val).abs() < 1e-4);
    assert!((h.last("loss").unwrap() - expected_train).abs() < 1e-4);
}

#[test]
fn kernel_regularizer_is_added_to_the_loss() {
    let mut m = sequential!(
        B,
        0,
        [2],
        Dense::new(1)
            .kernel_initializer(stratanet::initializers::Initializer::Constant(0.5))
            .kernel_regularizer(Regularizer::l2(0.1))
            .use_bias(false)
    );
    m.compile(Sgd::new(0.0), "mse", &[]).unwrap();
    let x = Tensor::<B>::from_vec(vec![1.0f32, 1.0], &[1, 2]).unwrap();
    let y = Tensor::<B>::from_vec(vec![0.0f32], &[1, 1]).unwrap();
    // prediction 1.0 -> mse 1.0; penalty 0.1 * (0.25 + 0.25) = 0.05
    let logs = m.evaluate_with(&x, &y, 1).unwrap();
    assert!((logs.get("loss").unwrap() - 1.05).abs() < 1e-6);
    // and it drives the gradient: one SGD step with lr 0.1. For each kernel entry w_i,
    // d/dw_i [(w_1 + w_2)^2 + 0.1 (w_1^2 + w_2^2)] = 2 (w_1 + w_2) + 0.2 w_i = 2.1 at 0.5
    m.compile(Sgd::new(0.1), "mse", &[]).unwrap();
    m.train_on_batch(&x, &y).unwrap();
    let w = m.weights()[0].1.value.to_vec_f32().unwrap();
    for v in w {
        assert!((v - (0.5 - 0.1 * 2.1)).abs() < 1e-6, "{v}");
    }
}

#[test]
fn predict_in_batches_equals_one_batch() {
    let m = digits_model(2);
    let (x, _) = datasets::digits::<B>(Device::Cpu).unwrap();
    let x = x.narrow(0, 0, 103).unwrap();
    let a = m.predict_with(&x, 103).unwrap().to_vec_f32().unwrap();
    let b = m.predict_with(&x, 10).unwrap().to_vec_f32().unwrap();
    assert_eq!(a.len(), 103 * 10);
    for (u, v) in a.iter().zip(&b) {
        assert!((u - v).abs() < 1e-6);
    }
    // softmax rows sum to one
    for row in a.chunks(10) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn summary_matches_keras_layout() {
    let m = sequential!(
        B,
        0,
        [64],
        Dense::new(64).activation("relu"),
        Dense::new(10)
    );
    let s = m.summary().unwrap();
    println!("{s}");
    assert!(s.starts_with("Model: \"sequential\"\n"));
    assert!(
        s.contains("│ dense (Dense)                   │ (None, 64)             │         4,160 │")
    );
    assert!(
        s.contains("│ dense_1 (Dense)                 │ (None, 10)             │           650 │")
    );
    assert!(s.contains(" Total params: 4,810 (18.79 KB)"));
    assert!(s.contains(" Trainable params: 4,810 (18.79 KB)"));
    assert!(s.contains(" Non-trainable params: 0 (0.00 B)"));
}

#[test]
fn model_built_from_first_fit_without_input() {
    let mut m = Sequential::<B>::new().with_seed(0);
    m.add(Dense::new(4).activation("tanh")).unwrap();
    m.add(Dense::new(1).activation("sigmoid")).unwrap();
    assert!(m.summary().is_err());
    m.compile("sgd", "binary_crossentropy", &["accuracy"])
        .unwrap();
    let x = common::uniform(&[20, 3], 0);
    let y = common::positive_sum_labels(&x, true, DType::F32);
    let h = m.fit(&x, &y, quiet(2)).unwrap();
    assert_eq!(m.input_shape(), Some(&[3usize][..]));
    assert!(h.last("accuracy").is_some());
    assert_eq!(m.count_params(), (3 * 4 + 4 + 4 + 1, 0));
}

#[test]
fn config_round_trip_rebuilds_the_same_architecture() {
    let m = digits_model(0);
    let cfg = m.get_config();
    let m2 = Sequential::<B>::from_config(&cfg).unwrap();
    assert_eq!(m2.get_config(), cfg);
    assert_eq!(m2.summary().unwrap(), m.summary().unwrap());
}

fn zero_output_model() -> Sequential<B> {
    let mut m = Sequential::<B>::new().with_seed(0);
    m.add(Input::new(&[1])).unwrap();
    m.add(
        Dense::new(1)
            .kernel_initializer(stratanet::initializers::Initializer::Zeros)
            .use_bias(false),
    )
    .unwrap();
    m.compile(Sgd::new(0.0), "mse", &[]).unwrap();
    m
}

#[test]
fn sample_weight_and_class_weight_weight_the_loss() {
    // zero predictions: per-sample mse = y^2
    let mut m = zero_output_model();
    let x = Tensor::<B>::zeros(&[4, 1], DType::F32, Device::Cpu).unwrap();
    let y = Tensor::<B>::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[4, 1]).unwrap();
    let w = Tensor::<B>::from_vec(vec![1.0f32, 0.0, 2.0, 0.5], &[4]).unwrap();
    let h = m
        .fit(
            &x,
            &y,
            FitOptions::new().batch_size(4).sample_weight(w).verbose(0),
        )
        .unwrap();
    // Keras sum_over_batch_size: sum(l * w) / n
    let expected = (1.0 + 0.0 + 2.0 * 9.0 + 0.5 * 16.0) / 4.0;
    assert!((h.last("loss").unwrap() - expected).abs() < 1e-5);

    // class_weight on integer labels -> the weight of each sample's class
    let mut m = sequential!(
        B,
        0,
        [2],
        Dense::new(2)
            .kernel_initializer(stratanet::initializers::Initializer::Zeros)
            .activation("softmax")
    );
    m.compile(Sgd::new(0.0), "sparse_categorical_crossentropy", &[])
        .unwrap();
    let x = Tensor::<B>::zeros(&[3, 2], DType::F32, Device::Cpu).unwrap();
    let y = Tensor::<B>::from_vec(vec![0i64, 1, 1], &[3]).unwrap();
    let h = m
        .fit(
            &x,
            &y,
            FitOptions::new().class_weight(vec![1.0, 4.0]).verbose(0),
        )
        .unwrap();
    // uniform softmax: every sample's CE is ln 2; weights 1, 4, 4
    let expected = std::f64::consts::LN_2 * 9.0 / 3.0;
    assert!((h.last("loss").unwrap() - expected).abs() < 1e-5);
    let e = m
        .fit(&x, &y, FitOptions::new().class_weight(vec![1.0]).verbose(0))
        .unwrap_err();
    assert!(e.to_string().contains("no weight for class 1"), "{e}");
    let e = m
        .fit(
            &x,
            &y,
            FitOptions::new()
                .sample_weight(Tensor::<B>::ones(&[2], DType::F32, Device::Cpu).unwrap())
                .verbose(0),
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("sample_weight expected shape [3], got shape [2]"),
        "{e}"
    );
}

#[test]
fn batch_level_api_and_custom_training_step() {
    let mut m = digits_model(4);
    let (x, y) = datasets::digits::<B>(Device::Cpu).unwrap();
    let (xb, yb) = (x.narrow(0, 0, 64).unwrap(), y.narrow(0, 0, 64).unwrap());
    let before = m.test_on_batch(&xb, &yb).unwrap().get("loss").unwrap();
    let p1 = m.predict_on_batch(&xb).unwrap();
    assert_eq!(p1.shape(), vec![64, 10]);
    // inference call equals predict
    let p2 = m.call(&xb, false).unwrap();
    assert_eq!(p1.to_vec_f32().unwrap(), p2.to_vec_f32().unwrap());
    // a hand-written loop: forward, loss, gradients, apply
    for _ in 0..20 {
        let pred = m.call(&xb, true).unwrap();
        let loss = m.compute_loss(&yb, &pred, None).unwrap();
        let grads = loss.grad(&m.trainable_weights()).unwrap();
        m.apply_gradients(&grads).unwrap();
    }
    let after = m.test_on_batch(&xb, &yb).unwrap().get("loss").unwrap();
    assert!(after < before * 0.8, "{before} -> {after}");
    let logs = m.train_on_batch(&xb, &yb).unwrap();
    assert!(logs.get("loss").is_some() && logs.get("accuracy").is_some());
    let e = m.apply_gradients(&[]).unwrap_err();
    assert!(
        e.to_string()
            .contains("0 gradients for 4 trainable weights"),
        "{e}"
    );
}
