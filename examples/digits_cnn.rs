//! A small convolutional network on the bundled UCI digits (8x8 grey images).
//!
//! ```text
//! cargo run --release --example digits_cnn
//! cargo run --release --features tch --example digits_cnn -- --backend tch
//! cargo run --release --features tch --example digits_cnn -- --backend tch --device cuda
//! cargo run --release --example digits_cnn -- --policy mixed_bfloat16   # or mixed_float16, float32
//! ```
//!
//! Images are `[N, 8, 8, 1]` (channels last, Keras' default). Two 3x3 convolutions with
//! max pooling, then a dense head; early stopping on the validation loss restores the best
//! weights; the accuracy is measured on a held-out test split.

mod common;
use common::{compile_classifier, print_test_scores};

use stratanet::callbacks::EarlyStopping;
use stratanet::layers::{Conv2D, MaxPooling2D};
use stratanet::prelude::*;
use stratanet::{datasets, Backend};

fn run<B: Backend>(device: Device) -> stratanet::Result<()> {
    stratanet::set_random_seed(7);
    let (x, y) = datasets::digits::<B>(device)?;
    let x = x.reshape(&[-1, 8, 8, 1])?;
    let (x_train, x_test, y_train, y_test) = datasets::train_test_split(&x, &y, 0.2, 7)?;

    let mut model = Sequential::<B>::new().on_device(device);
    model.add(Input::new(&[8, 8, 1]))?;
    model.add(Conv2D::new(32, 3).padding("same").activation("relu"))?;
    model.add(MaxPooling2D::new(2))?;
    model.add(Conv2D::new(64, 3).padding("same").activation("relu"))?;
    model.add(MaxPooling2D::new(2))?;
    model.add(Flatten::new())?;
    model.add(Dropout::new(0.3))?;
    model.add(Dense::new(64).activation("relu"))?;
    model.add(Dense::new(10).activation("softmax"))?;
    println!("{}", model.summary()?);

    compile_classifier(&mut model, Adam::new(1e-3))?;
    model.fit(
        &x_train,
        &y_train,
        FitOptions::new()
            .epochs(40)
            .batch_size(32)
            .validation_split(0.1)
            .seed(7)
            .callback(
                EarlyStopping::new("val_loss")
                    .patience(8)
                    .restore_best_weights(true),
            ),
    )?;
    let scores = model.evaluate_with(&x_test, &y_test, 128)?;
    print_test_scores(&scores);
    Ok(())
}

fn main() -> stratanet::Result<()> {
    stratanet::run_example!(run())
}
