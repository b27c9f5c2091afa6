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
use stratanet::metrics::mean_absolute_error;
use stratanet::prelude::*;
use stratanet::tabular::{write_submission, Column, FeatureSpace, Impute, LinearRegression};
use stratanet::{datasets, Backend};

fn run<B: Backend>(seed: u64, device: Device) -> stratanet::Result<()> {
    stratanet::set_random_seed(seed);
    let out = std::path::Path::new("target/tabular");
    std::fs::create_dir_all(out)?;

    // 406 cars; 8 have no MPG (the target) and are dropped; 6 have no horsepower.
    let cars = datasets::auto_mpg()?;
    let missing = cars.column("Horsepower")?.missing_count();
    println!("horsepower missing in {missing} rows");
    let ids = Column::ints((0..cars.n_rows() as i64).collect());
    let cars = cars.with_column("id", ids)?;
    let cars = cars.drop_missing(&["Miles_per_Gallon"])?;
    let (train, test) = cars.train_test_split(0.2, seed)?;
    println!("rows: {} train, {} test", train.n_rows(), test.n_rows());

    // Raw columns -> one feature matrix and the target; statistics and vocabulary from the
    // training rows.
    let mut features = FeatureSpace::new()
        .numeric_with("Horsepower", Impute::Median)
        .categorical_string("Origin")
        .target_numeric("Miles_per_Gallon");
    for name in "Cylinders Displacement Weight_in_lbs Acceleration Year".split(' ') {
        features = features.passthrough(name);
    }
    features.adapt(&train)?;
    let (x_train, y_train) = features.transform_xy::<B>(&train)?;
    let (x_test, y_test) = features.transform_xy::<B>(&test)?;

    let mut normalizer = Normalization::<B>::new();
    normalizer.adapt(&x_train)?;
    let mut model = Sequential::<B>::new().on_device(device);
    model.add(Input::new(&[features.output_dim()?]))?;
    model.add(normalizer)?;
    model.add(Dense::new(64).activation("relu"))?;
    model.add(Dense::new(64).activation("relu"))?;
    model.add(Dense::new(1))?;
    model.compile(Adam::new(1e-3), "mean_absolute_error", &[])?;
    let stop = EarlyStopping::new("val_loss").patience(50);
    let stop = stop.restore_best_weights(true);
    let opts = FitOptions::new().epochs(500).validation_split(0.2);
    let opts = opts.seed(seed).verbose(0);
    let history = model.fit(&x_train, &y_train, opts.callback(stop))?;
    let val_loss = history.get("val_loss").unwrap_or(&[]);
    let best = val_loss.iter().copied().fold(f64::INFINITY, f64::min);
    let epochs = history.epoch.len();
    println!("trained {epochs} epochs, best val_loss {best:.3}");

    let test_mae = model.evaluate(&x_test, &y_test)?.value("loss")?;
    let baseline = LinearRegression::fit(&x_train, &y_train)?.predict(&x_test)?;
    let baseline_mae = mean_absolute_error(&y_test, &baseline)?;
    println!("test MAE: {test_mae:.3}\nbaseline MAE: {baseline_mae:.3}");

    // One file holds the model, its Normalization statistics and (as a text asset) the
    // adapted FeatureSpace: a prediction script starts from raw rows and gets the same numbers.
    let path = out.join("auto_mpg.safetensors");
    model.set_asset("features", features.to_json());
    model.save(&path)?;
    // `load` places a model on the default device (auto); this one goes where `--device`
    // put the trained model, to compare the two.
    let loaded = Device::scope(device, || Sequential::<B>::load(&path))?;
    let loaded_features = FeatureSpace::from_json(loaded.asset("features").unwrap_or_default())?;
    let pred = model.predict(&x_test)?;
    let again = loaded.predict(&loaded_features.transform::<B>(&test, device)?)?;
    let diff = pred.sub(&again)?.abs()?.max(&[0, 1], false)?.item()?;
    println!("reloaded model + features from raw rows: max |prediction difference| = {diff:e}");

    let plot = out.join("auto_mpg_history.png");
    history.plot(&plot)?;
    history.to_csv(out.join("auto_mpg_history.csv"))?;
    let submission = out.join("auto_mpg_submission.csv");
    // f32 predictions, written at their shortest form (17.3, not 17.299999237060547).
    let mpg = [("Miles_per_Gallon", pred.to_vec_f32()?)];
    write_submission(&submission, "id", test.column("id")?, &mpg)?;
    println!("wrote {} and {}", plot.display(), submission.display());
    Ok(())
}

fn main() -> stratanet::Result<()> {
    let seed = seed_from_args()?;
    println!("seed: {seed}");
    stratanet::run_example!(run(seed))
}
