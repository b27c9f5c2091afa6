//! `examples/text_classification.rs`, reduced: a tf-idf bag of words (`TextVectorization`
//! adapted on the training split of the bundled SMS Spam Collection, unigrams, 2,000 terms)
//! and one softmax `Dense` layer (logistic regression) beat the majority-class baseline of
//! the test split by at least 0.10, as the example must. Runs on candle and, with feature
//! `tch`, libtorch.

#[macro_use]
mod common;
use common::quiet;

use stratanet::layers::{Dense, Input, TextOutputMode, TextVectorization};
use stratanet::optimizers::Adam;
use stratanet::{datasets, Backend, Device, Sequential, Tensor};

fn beats_the_majority_baseline<B: Backend>() {
    let ((x_train, y_train), (x_test, y_test)) = datasets::sms_spam().unwrap();
    let mut vectorizer = TextVectorization::new()
        .output_mode(TextOutputMode::TfIdf)
        .max_tokens(2000);
    vectorizer.adapt(&x_train).unwrap();
    // The vocabulary is the training split's: no test message was seen by `adapt`.
    assert_eq!(vectorizer.depth(), 2000);
    let encode = |x: &[String]| vectorizer.encode::<B, _>(x, Device::Cpu).unwrap();
    let labels = |y: &[i64]| Tensor::<B>::from_vec(y.to_vec(), &[y.len()]).unwrap();

    let mut model = Sequential::<B>::new().with_seed(42);
    model.add(Input::new(&[2000])).unwrap();
    model.add(Dense::new(2).activation("softmax")).unwrap();
    model
        .compile(Adam::new(1e-2), "sparse_categorical_crossentropy", &["accuracy"])
        .unwrap();
    model
        .fit(&encode(&x_train), &labels(&y_train), quiet(5).seed(42))
        .unwrap();
    let scores = model
        .evaluate(&encode(&x_test), &labels(&y_test), 256)
        .unwrap();
    let accuracy = scores.get("accuracy").unwrap();

    let spam = y_test.iter().filter(|&&y| y == 1).count();
    let baseline = spam.max(y_test.len() - spam) as f64 / y_test.len() as f64;
    println!("test accuracy {accuracy:.4}, baseline accuracy {baseline:.4}");
    assert!((baseline - 965.0 / 1114.0).abs() < 1e-12, "{baseline}");
    assert!(
        accuracy >= baseline + 0.10,
        "test accuracy {accuracy:.4} does not beat the baseline {baseline:.4} by 0.10"
    );
}

engine_tests!(beats_the_majority_baseline);
