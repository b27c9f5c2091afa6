//! Tabular regression, Kaggle style: predict a car's fuel economy (miles per gallon) from
//! the Auto MPG table (`data/auto-mpg/auto-mpg.csv`, bundled; see its README for the
//! source and licence).
//!
//! ```text
//! cargo run --release --example tabular_regression
//! cargo run --release --example tabular_regression -- --seed 7
//! cargo run --release --features tch --example tabular_regression -- --backend tch
//! cargo run --release --features tch --example tabular_regression -- --backend tch --device cuda
//! ```
//!
//! Drops the rows without MPG, imputes the missing horsepower values with the training
//! median, one-hot encodes the string `Origin` column (`FeatureSpace`), normalises every
//! feature with a `Normalization` layer `adapt`ed on the training rows (it is saved with the
//! model), and trains an MLP with early stopping. Prints the test MAE next to the MAE of a
//! least-squares linear model fitted on the same split, writes the training curves
//! (PNG), the history (CSV) and a submission CSV, and checks that the saved model predicts
//! the same after loading.

mod common;
use common::seed_from_args;

use stratanet::callbacks::EarlyStopping;
use stratanet::layers::Normalization;
use stratanet::prelude::*;
use stratanet::tabular::{write_submission, Column, FeatureSpace, Impute};
use stratanet::{datasets, Backend};

/// The features the model sees, in order.
const NUMERIC: [&str; 5] = [
    "Cylinders",
    "Displacement",
    "Weight_in_lbs",
    "Acceleration",
    "Year",
];

fn run<B: Backend>(seed: u64, device: Device) -> stratanet::Result<()> {
    stratanet::set_random_seed(seed);
    let out = std::path::Path::new("target/tabular");
    std::fs::create_dir_all(out)?;

    // 406 cars; 8 have no MPG (the target) and are dropped; 6 have no horsepower.
    let cars = datasets::auto_mpg()?;
    let ids = Column::ints((0..cars.n_rows() as i64).collect());
    let cars = cars
        .with_column("id", ids)?
        .drop_missing(&["Miles_per_Gallon"])?;
    let parts = cars.split(&[0.8, 0.2], seed)?;
    let (train, test) = (&parts[0], &parts[1]);
    println!(
        "rows: {} train, {} test (horsepower missing in {} of them)",
        train.n_rows(),
        test.n_rows(),
        cars.column("Horsepower")?.missing_count()
    );

    // Raw columns -> one feature matrix; statistics and vocabulary from the training rows.
    let mut features = FeatureSpace::new()
        .numeric_with("Horsepower", Impute::Median)
        .categorical_string("Origin");
    for name in NUMERIC {
        features = features.passthrough(name);
    }
    features.adapt(train)?;
    println!("features: {}", features.feature_names()?.join(", "));
    let x_train = features.transform::<B>(train, device)?;
    let y_train = train.to_tensor::<B>(&["Miles_per_Gallon"], device)?;
    let x_test = features.transform::<B>(test, device)?;
    let y_test = test.to_tensor::<B>(&["Miles_per_Gallon"], device)?;

    let mut normalizer = Normalization::<B>::new();
    normalizer.adapt(&x_train)?;
    let mut model = Sequential::<B>::new().on_device(device);
    model.add(Input::new(&[features.output_dim()?]))?;
    model.add(normalizer)?;
    model.add(Dense::new(64).activation("relu"))?;
    model.add(Dense::new(64).activation("relu"))?;
    model.add(Dense::new(1))?;
    model.compile(Adam::new(1e-3), "mean_absolute_error", &[])?;

    let history = model.fit(
        &x_train,
        &y_train,
        FitOptions::new()
            .epochs(500)
            .batch_size(32)
            .validation_split(0.2)
            .seed(seed)
            .verbose(0)
            .callback(
                EarlyStopping::new("val_loss")
                    .patience(50)
                    .restore_best_weights(true),
            ),
    )?;
    println!(
        "trained {} epochs, best val_loss {:.3}",
        history.epoch.len(),
        history
            .get("val_loss")
            .unwrap_or(&[])
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
    );

    let test_mae = model
        .evaluate_with(&x_test, &y_test, 128)?
        .get("loss")
        .unwrap_or(f64::NAN);
    let baseline_mae = least_squares_mae(
        &x_train.to_vec_f32()?,
        &y_train.to_vec_f32()?,
        &x_test.to_vec_f32()?,
        &y_test.to_vec_f32()?,
        features.output_dim()?,
    );
    println!("test MAE: {test_mae:.3}");
    println!("baseline MAE: {baseline_mae:.3}");

    // One file holds the model, its Normalization statistics and (as a text asset) the
    // adapted FeatureSpace: a prediction script starts from raw rows and gets the same numbers.
    let path = out.join("auto_mpg.safetensors");
    model.set_asset("features", features.to_json());
    model.save(&path)?;
    // `load` places a model on the default device (auto); this one goes where `--device`
    // put the trained model, to compare the two.
    let loaded = Device::scope(device, || Sequential::<B>::load(&path))?;
    let loaded_features = FeatureSpace::from_json(loaded.asset("features").unwrap_or_default())?;
    let pred = model.predict_with(&x_test, 128)?;
    let diff = pred
        .sub(&loaded.predict_with(&loaded_features.transform::<B>(test, device)?, 128)?)?
        .abs()?
        .max(&[0, 1], false)?
        .item()?;
    println!("reloaded model + features from raw rows: max |prediction difference| = {diff:e}");

    let plot = out.join("auto_mpg_history.png");
    history.plot(&plot)?;
    history.to_csv(out.join("auto_mpg_history.csv"))?;
    let submission = out.join("auto_mpg_submission.csv");
    // f32 predictions, written at their shortest form (17.3, not 17.299999237060547).
    let mpg = pred.to_vec_f32()?;
    write_submission(
        &submission,
        "id",
        test.column("id")?,
        &[("Miles_per_Gallon", mpg)],
    )?;
    println!("wrote {} and {}", plot.display(), submission.display());
    Ok(())
}

/// MAE on the test rows of the least-squares fit `y ≈ X w + b` on the training rows
/// (normal equations, solved in f64; a 1e-6 ridge keeps them solvable where columns are
/// collinear, as the one-hot columns are with the intercept).
fn least_squares_mae(x: &[f32], y: &[f32], x_test: &[f32], y_test: &[f32], d: usize) -> f64 {
    let k = d + 1;
    let row = |x: &[f32], i: usize| -> Vec<f64> {
        let mut r: Vec<f64> = x[i * d..(i + 1) * d]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        r.push(1.0);
        r
    };
    // [X^T X + λI | X^T y]
    let mut a = vec![vec![0.0f64; k + 1]; k];
    for (i, &yi) in y.iter().enumerate() {
        let r = row(x, i);
        for (p, ap) in a.iter_mut().enumerate() {
            for (q, &rq) in r.iter().enumerate() {
                ap[q] += r[p] * rq;
            }
            ap[k] += r[p] * f64::from(yi);
        }
    }
    for (p, rowp) in a.iter_mut().enumerate() {
        rowp[p] += 1e-6;
    }
    // Gaussian elimination with partial pivoting.
    for c in 0..k {
        let piv = (c..k)
            .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
            .unwrap_or(c);
        a.swap(c, piv);
        let pivot_row = a[c].clone();
        for (r, ar) in a.iter_mut().enumerate() {
            if r != c {
                let f = ar[c] / pivot_row[c];
                for (v, &pv) in ar[c..].iter_mut().zip(&pivot_row[c..]) {
                    *v -= f * pv;
                }
            }
        }
    }
    let w: Vec<f64> = (0..k).map(|i| a[i][k] / a[i][i]).collect();
    let n = y_test.len();
    (0..n)
        .map(|i| {
            let p: f64 = row(x_test, i).iter().zip(&w).map(|(a, b)| a * b).sum();
            (p - f64::from(y_test[i])).abs()
        })
        .sum::<f64>()
        / n as f64
}

fn main() -> stratanet::Result<()> {
    let seed = seed_from_args()?;
    println!("seed: {seed}");
    stratanet::run_example!(run(seed))
}
