//! Quickstart: a multilayer perceptron on the bundled UCI handwritten digits.
//!
//! ```text
//! cargo run --release --example quickstart
//! cargo run --release --features tch --example quickstart -- --backend tch
//! cargo run --release --features tch --example quickstart -- --backend tch --device cuda
//! cargo run --release --example quickstart -- --policy mixed_bfloat16   # or mixed_float16, float32
//! ```
//!
//! Builds a `Sequential` model whose input sizes are inferred, prints its summary, trains
//! it with a validation split and a Keras-style progress bar, and reports the accuracy on a
//! held-out test split that training never saw.

mod common;
use common::{compile_classifier, print_test_scores};

use stratanet::prelude::*;
use stratanet::{datasets, Backend};

fn run<B: Backend>(device: Device) -> stratanet::Result<()> {
    stratanet::set_random_seed(42);

    // 1,797 8x8 images scaled to [0, 1], labels 0..9; hold out 20% for the final test.
    let (x, y) = datasets::digits::<B>(device)?;
    let (x_train, x_test, y_train, y_test) = datasets::train_test_split(&x, &y, 0.2, 42)?;

    let mut model = Sequential::<B>::new().on_device(device);
    model.add(Input::new(&[64]))?;
    model.add(Dense::new(128).activation("relu"))?;
    model.add(Dropout::new(0.2))?;
    model.add(Dense::new(64).activation("relu"))?;
    model.add(Dense::new(10).activation("softmax"))?;
    println!("{}", model.summary()?);

    compile_classifier(&mut model, Adam::new(2e-3))?;

    let history = model.fit(
        &x_train,
        &y_train,
        FitOptions::new()
            .epochs(30)
            .batch_size(32)
            .validation_split(0.1)
            .seed(42),
    )?;

    let scores = model.evaluate(&x_test, &y_test)?;
    let probs = model.predict(&x_test.narrow(0, 0, 5)?)?;
    let predicted = probs.argmax(-1, false)?.to_vec_i64()?;
    let actual = y_test.narrow(0, 0, 5)?.to_vec_i64()?;
    println!(
        "final val_accuracy: {:.4}",
        history.last("val_accuracy").unwrap_or(f64::NAN)
    );
    println!("first test digits: predicted {predicted:?}, actual {actual:?}");
    print_test_scores(&scores);
    Ok(())
}

fn main() -> stratanet::Result<()> {
    stratanet::run_example!(run())
}
