//! The functional API: a model with two inputs (a digit's 64 pixels and its 8 row sums),
//! a residual block, and two outputs (the digit, and whether it is even), each with its
//! own loss, loss weight and metric.
//!
//! ```text
//! cargo run --release --example functional
//! cargo run --release --features tch --example functional -- --backend tch
//! ```
//!
//! Prints the model's summary (the graph, with the inputs each layer reads), the
//! per-output losses and accuracies of every epoch, and their values on a held-out test
//! split.

use stratanet::prelude::*;

/// Each image's 8 row sums (scaled to [0, 1]): the second input.
fn row_sums(x: &HostTensor) -> stratanet::Result<HostTensor> {
    let sums = x
        .to_vec_f32()
        .chunks(8)
        .map(|r| r.iter().sum::<f32>() / 8.0)
        .collect();
    HostTensor::f32(sums, &[x.n_rows(), 8])
}

/// 1 for an even digit, else 0: the second target.
fn even(y: &HostTensor) -> stratanet::Result<HostTensor> {
    let flags = y
        .to_vec_i64()
        .iter()
        .map(|d| (d % 2 == 0) as i64 as f32)
        .collect();
    HostTensor::f32(flags, &[y.n_rows(), 1])
}

fn main() -> stratanet::Result<()> {
    stratanet::script! {
        stratanet::set_random_seed(42);
        let (x, y) = stratanet::datasets::digits_host()?;
        let (x_train, x_test, y_train, y_test) = train_test_split(&x, &y, 0.2, 42)?;

        let pixels = Input::new(&[64]).name("pixels").tensor();
        let rows = Input::new(&[8]).name("row_sums").tensor();
        let h = Dense::new(64).activation("relu").apply(&pixels)?;
        let h = Add().apply_multi(&[h.clone(), Dense::new(64).activation("relu").apply(&h)?])?;
        let r = Dense::new(16).activation("relu").apply(&rows)?;
        let h = Concatenate::new(-1).apply_multi(&[h, r])?;
        let digit = Dense::new(10).activation("softmax").name("digit").apply(&h)?;
        let is_even = Dense::new(1).activation("sigmoid").name("even").apply(&h)?;
        let mut model = Model::new(&[pixels, rows], &[digit, is_even])?;
        println!("{}", model.summary()?);

        model.compile_with(
            Compile::new(Adam::new(2e-3))
                .loss("digit", "sparse_categorical_crossentropy")
                .loss("even", "binary_crossentropy")
                .loss_weight("even", 0.5)
                .metrics("digit", &["accuracy"])
                .metrics("even", &["accuracy"]),
        )?;
        model.fit(
            [("pixels", &x_train), ("row_sums", &row_sums(&x_train)?)],
            [("digit", &y_train), ("even", &even(&y_train)?)],
            FitOptions::new().epochs(20).validation_split(0.1).verbose(2),
        )?;
        let scores = model.evaluate(
            [("pixels", &x_test), ("row_sums", &row_sums(&x_test)?)],
            [("digit", &y_test), ("even", &even(&y_test)?)],
        )?;
        for (name, value) in scores.iter() {
            println!("test {name}: {value:.4}");
        }
    }
}
