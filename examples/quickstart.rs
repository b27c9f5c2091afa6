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

use stratanet::prelude::*;

fn main() -> stratanet::Result<()> {
    stratanet::script! {
        stratanet::set_random_seed(42);
        // 1,797 8x8 images scaled to [0, 1], labels 0..9; hold out 20% for the final test.
        let (x, y) = stratanet::datasets::digits_host()?;
        let (x_train, x_test, y_train, y_test) = train_test_split(&x, &y, 0.2, 42)?;

        let mut model = Sequential::new()
            .layer(Input::new(&[64]))
            .layer(Dense::new(128).activation("relu"))
            .layer(Dropout::new(0.2))
            .layer(Dense::new(64).activation("relu"))
            .layer(Dense::new(10).activation("softmax"));
        println!("{}", model.summary()?);
        model.compile(Adam::new(2e-3), "sparse_categorical_crossentropy", &["accuracy"])?;
        let opts = FitOptions::new().epochs(30).validation_split(0.1).seed(42);
        let history = model.fit(&x_train, &y_train, opts)?;

        let scores = model.evaluate(&x_test, &y_test)?;
        let predicted = model.predict(x_test.head(5)?)?.argmax(-1, false)?.to_vec_i64()?;
        println!("final val_accuracy: {:.4}", history.last("val_accuracy").unwrap_or(f64::NAN));
        let actual = y_test.head(5)?.to_vec_i64();
        println!("first test digits: predicted {predicted:?}, actual {actual:?}");
        println!("test loss: {:.4}", scores.value("loss")?);
        println!("test accuracy: {:.4}", scores.value("accuracy")?);
    }
}
