//! Bad input gives a clear `stratanet::Error` (never a panic) whose message names the layer
//! or call, the argument and the shapes.

use stratanet::prelude::*;
use stratanet::{DefaultBackend as B, Error};

fn mlp(input: usize) -> Sequential<B> {
    let mut m = Sequential::<B>::new().with_seed(1);
    m.add(Input::new(&[input])).unwrap();
    m.add(Dense::new(8).activation("relu")).unwrap();
    m.add(Dense::new(3).activation("softmax")).unwrap();
    m
}

/// [`mlp`] compiled with `optimizer`, sparse categorical cross-entropy and `metrics`.
fn compiled(input: usize, optimizer: &str, metrics: &[&str]) -> Sequential<B> {
    let mut m = mlp(input);
    m.compile(optimizer, "sparse_categorical_crossentropy", metrics)
        .unwrap();
    m
}

/// The error `result` must hold, and its message (printed).
fn error<T: std::fmt::Debug>(result: stratanet::Result<T>) -> (Error, String) {
    let err = result.unwrap_err();
    let msg = err.to_string();
    println!("{msg}");
    (err, msg)
}

fn data(n: usize, d: usize) -> (Tensor<B>, Tensor<B>) {
    let x = Tensor::<B>::uniform(&[n, d], 0.0, 1.0, 3, DType::F32, Device::Cpu).unwrap();
    let y = Tensor::<B>::from_vec((0..n as i64).map(|i| i % 3).collect::<Vec<_>>(), &[n]).unwrap();
    (x, y)
}

#[test]
fn input_that_does_not_fit_the_first_layer() {
    let mut m = compiled(64, "adam", &["accuracy"]);
    let (x, y) = data(32, 10);
    let (err, msg) = error(m.fit(&x, &y, FitOptions::new().verbose(0)));
    assert!(matches!(err, Error::Shape { .. }));
    assert!(msg.contains("dense"), "names the layer: {msg}");
    assert!(
        msg.contains("[batch, 64]"),
        "names the expected shape: {msg}"
    );
    assert!(msg.contains("[32, 10]"), "names the actual shape: {msg}");
    // predict and evaluate give the same error
    assert!(m
        .predict_with(&x, 8)
        .unwrap_err()
        .to_string()
        .contains("[32, 10]"));
    assert!(m
        .evaluate_with(&x, &y, 8)
        .unwrap_err()
        .to_string()
        .contains("[32, 10]"));
}

#[test]
fn dense_called_directly_with_wrong_last_dim() {
    let mut m = Sequential::<B>::new().with_seed(1);
    m.add(Input::new(&[64])).unwrap();
    m.add(Dense::new(4)).unwrap();
    let x = Tensor::<B>::zeros(&[32, 10], DType::F32, Device::Cpu).unwrap();
    let layer = &m.layers()[0];
    let (_, msg) = error(layer.call(&x, &mut stratanet::layers::CallContext::inference()));
    assert_eq!(
        msg,
        "dense: input expected last dimension 64, got shape [32, 10]"
    );
}

#[test]
fn x_and_y_with_different_sample_counts() {
    let mut m = compiled(4, "adam", &[]);
    let (x, _) = data(10, 4);
    let (_, y) = data(9, 4);
    let (err, msg) = error(m.fit(&x, &y, FitOptions::new().verbose(0)));
    assert!(matches!(err, Error::ShapeMismatch { .. }));
    assert!(
        msg.contains("fit") && msg.contains("[10, 4]") && msg.contains("[9]"),
        "{msg}"
    );
    assert!(msg.contains("10 vs 9"), "{msg}");
    let err = m.evaluate_with(&x, &y, 4).unwrap_err();
    assert!(err.to_string().contains("evaluate"), "{err}");
}

#[test]
fn batch_size_of_zero() {
    let mut m = compiled(4, "sgd", &[]);
    let (x, y) = data(10, 4);
    for (err, msg) in [
        error(m.fit(&x, &y, FitOptions::new().batch_size(0).verbose(0))),
        error(m.evaluate_with(&x, &y, 0)),
        error(m.predict_with(&x, 0)),
    ] {
        assert!(matches!(err, Error::InvalidArgument { .. }));
        assert!(msg.contains("batch_size") && msg.contains("got 0"), "{msg}");
    }
}

#[test]
fn fit_before_compile() {
    let mut m = mlp(4);
    let (x, y) = data(10, 4);
    let (err, msg) = error(m.fit(&x, &y, FitOptions::new().verbose(0)));
    assert!(matches!(err, Error::NotReady { .. }));
    assert_eq!(
        msg,
        "fit: the model must be compiled first (call model.compile(optimizer, loss, metrics) before fit/evaluate)"
    );
    assert!(m
        .evaluate_with(&x, &y, 4)
        .unwrap_err()
        .to_string()
        .contains("compiled"));
    // predict needs no compile
    assert_eq!(m.predict_with(&x, 4).unwrap().shape(), vec![10, 3]);
}

#[test]
fn unknown_activation_name() {
    let mut m = Sequential::<B>::new();
    m.add(Input::new(&[4])).unwrap();
    let (err, msg) = error(m.add(Dense::new(8).activation("relux")));
    assert!(matches!(err, Error::UnknownName { .. }));
    assert!(
        msg.starts_with("unknown activation 'relux'; known: linear, relu, sigmoid"),
        "{msg}"
    );
    // nothing was added
    assert!(m.layers().is_empty());
    assert!(ActivationLayer::new("nope").validate_for_test().is_err());
}

trait ValidateForTest {
    fn validate_for_test(&self) -> stratanet::Result<()>;
}
impl ValidateForTest for ActivationLayer {
    fn validate_for_test(&self) -> stratanet::Result<()> {
        Layer::<B>::validate(self)
    }
}

#[test]
fn labels_out_of_range_for_sparse_cross_entropy() {
    let mut m = compiled(4, "adam", &["accuracy"]);
    let (x, _) = data(6, 4);
    let y = Tensor::<B>::from_vec(vec![0i64, 1, 2, 3, 1, 0], &[6]).unwrap();
    let (err, msg) = error(m.fit(&x, &y, FitOptions::new().verbose(0)));
    assert!(matches!(
        err,
        Error::LabelOutOfRange {
            label: 3,
            num_classes: 3,
            ..
        }
    ));
    assert!(msg.contains("label 3 out of range for 3 classes"), "{msg}");
    let y = Tensor::<B>::from_vec(vec![0i64, 1, 2, -1, 1, 0], &[6]).unwrap();
    let err = m.evaluate_with(&x, &y, 2).unwrap_err();
    assert!(err.to_string().contains("label -1"), "{err}");
    // the weights were not touched by the failed fit
    let before: Vec<f32> = m.weights()[0].1.value.to_vec_f32().unwrap();
    let _ = m.fit(&x, &y, FitOptions::new().verbose(0));
    assert_eq!(before, m.weights()[0].1.value.to_vec_f32().unwrap());
}

#[test]
fn unknown_loss_optimizer_and_metric_names() {
    let mut m = mlp(4);
    let e = m.compile("adam", "cross_entropy", &[]).unwrap_err();
    assert!(
        e.to_string().contains("unknown loss 'cross_entropy'"),
        "{e}"
    );
    let e = m.compile("adamw2", "mse", &[]).unwrap_err();
    assert!(e.to_string().contains("unknown optimizer 'adamw2'"), "{e}");
    let e = m.compile("adam", "mse", &["acuracy"]).unwrap_err();
    assert!(e.to_string().contains("unknown metric 'acuracy'"), "{e}");
}

#[test]
fn bad_validation_split_and_dropout_rate() {
    let mut m = compiled(4, "adam", &[]);
    let (x, y) = data(10, 4);
    let e = m
        .fit(&x, &y, FitOptions::new().validation_split(1.5).verbose(0))
        .unwrap_err();
    assert!(e.to_string().contains("validation_split"), "{e}");
    let mut m2 = Sequential::<B>::new();
    m2.add(Input::new(&[4])).unwrap();
    let e = m2.add(Dropout::new(1.0)).unwrap_err();
    assert!(e.to_string().contains("dropout: invalid rate"), "{e}");
}

#[test]
fn layer_shape_errors_at_add_time() {
    let mut m = Sequential::<B>::new();
    m.add(Input::new(&[4, 4])).unwrap();
    let (_, msg) = error(m.add(Reshape::new(&[3, -1])));
    assert!(msg.contains("reshape") && msg.contains("[4, 4]"), "{msg}");
}
