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
//! The string label goes through a `StringLookup` (its vocabulary gives the class names of
//! the submission); year and month come from the date string and are one-hot encoded as
//! integer categories (the labelling of this table changes between years, so the year
//! matters); the rare classes get larger class weights. Prints the test accuracy and macro
//! F1 on a stratified held-out split, and writes a submission CSV with class names.

mod common;
use common::{compile_classifier, seed_from_args};

use stratanet::callbacks::EarlyStopping;
use stratanet::layers::{OutputMode, StringLookup};
use stratanet::metrics::{F1Average, F1Score, Metric};
use stratanet::prelude::*;
use stratanet::tabular::{write_class_submission, Column, FeatureSpace, Table};
use stratanet::{datasets, Backend};

/// Adds integer `year` and `month` columns parsed from `date` (`2012/01/31`).
fn with_year_month(t: Table) -> stratanet::Result<Table> {
    let dates = t.column("date")?.as_str().unwrap_or_default();
    let part = |i: usize| -> Vec<Option<i64>> {
        dates
            .iter()
            .map(|d| {
                d.and_then(|d| d.split('/').nth(i))
                    .and_then(|p| p.parse().ok())
            })
            .collect()
    };
    let (year, month) = (Column::Int(part(0)), Column::Int(part(1)));
    t.with_column("year", year)?.with_column("month", month)
}

fn run<B: Backend>(seed: u64, device: Device) -> stratanet::Result<()> {
    stratanet::set_random_seed(seed);
    let out = std::path::Path::new("target/tabular");
    std::fs::create_dir_all(out)?;

    let days = with_year_month(datasets::seattle_weather()?)?;
    // Stratified: every class keeps its share in both parts (snow has 23 days in all).
    let parts = days.stratified_split("weather", &[0.8, 0.2], seed)?;
    let (train, test) = (&parts[0], &parts[1]);

    // Class names -> indices, learned from the training labels (no OOV class).
    let mut labels = StringLookup::new().num_oov_indices(0);
    labels.adapt(&train.column("weather")?.as_str().unwrap_or_default());
    let classes = labels.vocabulary();
    let to_labels = |t: &Table| -> stratanet::Result<Tensor<B>> {
        let idx = labels.lookup(&t.column("weather")?.as_str().unwrap_or_default())?;
        Tensor::from_vec(idx, &[t.n_rows()])
    };
    let (y_train, y_test) = (to_labels(train)?, to_labels(test)?);

    let mut features = FeatureSpace::new()
        .numeric("precipitation")
        .numeric("temp_max")
        .numeric("temp_min")
        .numeric("wind")
        .categorical_int("year")
        .categorical_int("month");
    features.adapt(train)?;
    let x_train = features.transform::<B>(train, device)?;
    let x_test = features.transform::<B>(test, device)?;

    // Class weights: the square root of the "balanced" weights n / (k * count), so that
    // drizzle and snow count more without giving up the accuracy on the common classes.
    let counts = {
        let mut c = vec![0usize; classes.len()];
        for &l in &y_train.to_vec_i64()? {
            c[l as usize] += 1;
        }
        c
    };
    let n = train.n_rows() as f64;
    let k = classes.len() as f64;
    let class_weight: Vec<f64> = counts
        .iter()
        .map(|&c| (n / (k * c as f64)).sqrt())
        .collect();
    for ((name, c), w) in classes.iter().zip(&counts).zip(&class_weight) {
        println!("class {name:>8}: {c:>4} training days, weight {w:.2}");
    }

    let mut model = Sequential::<B>::new().on_device(device);
    model.add(Input::new(&[features.output_dim()?]))?;
    model.add(Dense::new(64).activation("relu"))?;
    model.add(Dense::new(32).activation("relu"))?;
    model.add(Dense::new(classes.len()).activation("softmax"))?;
    compile_classifier(&mut model, Adam::new(1e-3))?;
    // validation_split holds out the last 20% of the training rows: a random sample, since
    // the split above shuffled them.
    let history = model.fit(
        &x_train,
        &y_train,
        FitOptions::new()
            .epochs(200)
            .batch_size(32)
            .validation_split(0.2)
            .class_weight(class_weight)
            .seed(seed)
            .verbose(0)
            .callback(
                EarlyStopping::new("val_loss")
                    .patience(20)
                    .restore_best_weights(true),
            ),
    )?;
    println!("trained {} epochs", history.epoch.len());

    let probs = model.predict_with(&x_test, 256)?;
    let predicted = probs.argmax(-1, false)?.to_vec_i64()?;
    let actual = y_test.to_vec_i64()?;
    let accuracy = predicted
        .iter()
        .zip(&actual)
        .filter(|(p, a)| p == a)
        .count() as f64
        / actual.len() as f64;
    println!("test accuracy: {accuracy:.4}");
    // Macro F1 (scikit-learn's `f1_score(average="macro")`) against one-hot test labels.
    let mut f1 = F1Score::<B>::new(F1Average::Macro);
    let one_hot = labels.clone().output_mode(OutputMode::OneHot);
    let test_weather = test.column("weather")?.as_str().unwrap_or_default();
    f1.update(&one_hot.encode::<B>(&test_weather, device)?, &probs)?;
    println!("macro F1: {:.4}", f1.result()?);
    let majority = *counts.iter().max().unwrap_or(&0) as f64 / n;
    println!("(majority class share in training: {majority:.4})");

    let plot = out.join("seattle_weather_history.svg");
    history.plot(&plot)?;
    let submission = out.join("seattle_weather_submission.csv");
    write_class_submission(
        &submission,
        "date",
        test.column("date")?,
        "weather",
        &probs.to_vec_f32()?,
        &classes,
    )?;
    println!("wrote {} and {}", plot.display(), submission.display());
    Ok(())
}

fn main() -> stratanet::Result<()> {
    let seed = seed_from_args()?;
    println!("seed: {seed}");
    stratanet::run_example!(run(seed))
}
