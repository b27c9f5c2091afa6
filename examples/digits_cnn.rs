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

use stratanet::prelude::*;

fn main() -> stratanet::Result<()> {
    stratanet::script! {
        stratanet::set_random_seed(7);
        let (x, y) = stratanet::datasets::digits_host()?;
        let x = x.reshape(&[-1, 8, 8, 1])?;
        let (x_train, x_test, y_train, y_test) = train_test_split(&x, &y, 0.2, 7)?;

        let mut model = Sequential::new()
            .layer(Input::new(&[8, 8, 1]))
            .layer(Conv2D::new(32, 3).padding(Padding::Same).activation("relu"))
            .layer(MaxPooling2D::new(2))
            .layer(Conv2D::new(64, 3).padding(Padding::Same).activation("relu"))
            .layer(MaxPooling2D::new(2))
            .layer(Flatten::new())
            .layer(Dropout::new(0.3))
            .layer(Dense::new(64).activation("relu"))
            .layer(Dense::new(10).activation("softmax"));
        println!("{}", model.summary()?);
        model.compile(Adam::new(1e-3), "sparse_categorical_crossentropy", &["accuracy"])?;
        let stop = EarlyStopping::new("val_loss").patience(8).restore_best_weights(true);
        let opts = FitOptions::new().epochs(40).validation_split(0.1).seed(7).callback(stop);
        model.fit(&x_train, &y_train, opts)?;

        let scores = model.evaluate_with(&x_test, &y_test, 128)?;
        println!("test loss: {:.4}", scores.value("loss")?);
        println!("test accuracy: {:.4}", scores.value("accuracy")?);
    }
}
