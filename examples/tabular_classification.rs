//! Tabular classification, Kaggle style: the weather of a day in Seattle (sun, rain, fog,
//! drizzle, snow) from its precipitation, temperatures, wind and date
//! (`data/seattle-weather/seattle-weather.csv`, bundled; see its README for the source).
//!
//! ```text
//! cargo run --release --example tabular_classification
//! cargo run --release --example tabular_classification -- --seed 7
//! cargo run --release --features tch --example tabular_classification -- --backend tch
//! cargo run --release --features tch --example tabular_classification -- --backend tch --device cuda
//! ```
//!
//! The string label becomes class indices (`FeatureSpace::target_categorical`; its classes
//! name the submission's predictions); year and month come from the date string and are
//! one-hot encoded (the labelling of this table changes between years, so the year
//! matters); the rare classes get larger class weights. Prints the test accuracy and macro
//! F1 on a stratified held-out split, and writes a submission CSV with class names.

mod common;
use common::seed_from_args;

use stratanet::callbacks::EarlyStopping;
use stratanet::metrics::{accuracy_score, f1_score, Average};
use stratanet::prelude::*;
use stratanet::tabular::{write_class_submission, FeatureSpace};
use stratanet::{compute_class_weight, datasets, Backend};

fn run<B: Backend>(seed: u64, device: Device) -> stratanet::Result<()> {
    stratanet::set_random_seed(seed);
    let out = std::path::Path::new("target/tabular");
    std::fs::create_dir_all(out)?;

    // Dates are `2012/01/31`: the year and the month as categories.
    let days = datasets::seattle_weather()?
        .map_str("date", "year", |d| d.get(..4).map(String::from))?
        .map_str("date", "month", |d| d.get(5..7).map(String::from))?;
    // Stratified: every class keeps its share in both parts (snow has 23 days in all).
    let (train, test) = days.stratified_train_test_split("weather", 0.2, seed)?;
    // Numbers normalised, strings one-hot, the weather names to class indices; all learned
    // from the training rows.
    let mut features = FeatureSpace::infer(&train, &["date", "weather"])?;
    features = features.target_categorical("weather");
    features.adapt(&train)?;
    let (x_train, y_train) = features.transform_xy::<B>(&train)?;
    let (x_test, y_test) = features.transform_xy::<B>(&test)?;
    let classes = features.target_classes()?;

    // Class weights: the square root of scikit-learn's "balanced" ones, so that drizzle and
    // snow count more without giving up the accuracy on the common classes.
    let labels = y_train.to_vec_i64()?;
    let weights: Vec<f64> = compute_class_weight(&labels)?
        .iter()
        .map(|w| w.sqrt())
        .collect();
    let counts: Vec<usize> = (0..classes.len() as i64)
        .map(|c| labels.iter().filter(|&&l| l == c).count())
        .collect();
    for ((name, c), w) in classes.iter().zip(&counts).zip(&weights) {
        println!("class {name:>8}: {c:>4} training days, weight {w:.2}");
    }

    let mut model = Sequential::<B>::new().on_device(device);
    model.add(Input::new(&[features.output_dim()?]))?;
    model.add(Dense::new(64).activation("relu"))?;
    model.add(Dense::new(32).activation("relu"))?;
    model.add(Dense::new(classes.len()).activation("softmax"))?;
    model.compile(
        Adam::new(1e-3),
        "sparse_categorical_crossentropy",
        &["accuracy"],
    )?;
    let stop = EarlyStopping::new("val_loss").patience(20);
    // validation_split holds out the last 20% of the training rows: a random sample, since
    // the split above shuffled them.
    let opts = FitOptions::new()
        .epochs(200)
        .validation_split(0.2)
        .class_weight(weights);
    let opts = opts.seed(seed).verbose(0);
    let history = model.fit(
        &x_train,
        &y_train,
        opts.callback(stop.restore_best_weights(true)),
    )?;
    println!("trained {} epochs", history.epoch.len());

    let probs = model.predict_with(&x_test, 256)?;
    println!("test accuracy: {:.4}", accuracy_score(&y_test, &probs)?);
    println!(
        "macro F1: {:.4}",
        f1_score(&y_test, &probs, Average::Macro)?
    );
    let majority = counts.iter().max().copied().unwrap_or(0) as f64 / labels.len() as f64;
    println!("(majority class share in training: {majority:.4})");

    let plot = out.join("seattle_weather_history.svg");
    history.plot(&plot)?;
    let submission = out.join("seattle_weather_submission.csv");
    let (dates, probs) = (test.column("date")?, probs.to_vec_f32()?);
    write_class_submission(&submission, "date", dates, "weather", &probs, &classes)?;
    println!("wrote {} and {}", plot.display(), submission.display());
    Ok(())
}

fn main() -> stratanet::Result<()> {
    let seed = seed_from_args()?;
    println!("seed: {seed}");
    stratanet::run_example!(run(seed))
}
