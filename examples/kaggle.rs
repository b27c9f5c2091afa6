use stratanet::callbacks::EarlyStopping;
use stratanet::prelude::*;
use stratanet::tabular::{write_submission, CsvOptions, FeatureSpace, Impute, Table};

fn main() -> stratanet::Result<()> {
    type B = DefaultBackend;
    let device = Device::from_args::<B>()?; // --device auto|cpu|cuda|cuda:N (default auto)
    println!("device: {device}"); // auto: the GPU when the engine sees one, else the CPU
    let cars = Table::read_csv("data/auto-mpg/auto-mpg.csv", &CsvOptions::new())?;
    let cars = cars.drop_missing(&["Miles_per_Gallon"])?;
    let (train, test) = cars.train_test_split(0.2, 42)?;
    println!("{}", train.describe()?); // count, mean, std, quartiles of the numeric columns

    // Impute and normalise the numbers, one-hot the string column; adapted on train only.
    let mut features = FeatureSpace::new().numeric_with("Horsepower", Impute::Median);
    for column in ["Weight_in_lbs", "Displacement", "Year"] {
        features = features.numeric(column);
    }
    let mut features = features
        .categorical_string("Origin")
        .target_numeric("Miles_per_Gallon");
    features.adapt(&train)?;
    let (x, y) = features.transform_xy::<B>(&train)?; // features, target
    let mut model = Sequential::<B>::new().on_device(device);
    model.add(Dense::new(64).activation("relu"))?;
    model.add(Dense::new(64).activation("relu"))?;
    model.add(Dense::new(1))?;
    model.compile(Adam::new(1e-3), "mae", &[])?;
    let stop = EarlyStopping::new("val_loss").patience(30);
    let opts = FitOptions::new().epochs(500).validation_split(0.2);
    let history = model.fit(&x, &y, opts.callback(stop.restore_best_weights(true)))?;
    history.plot("history.png")?;
    let pred = model.predict(&features.transform::<B>(&test, device)?)?;
    let ids = test.column("Name")?;
    let mpg = pred.to_vec_f32()?; // f32 values, written at their shortest form
    write_submission("submission.csv", "Name", ids, &[("mpg", mpg)])?;
    model.set_asset("features", features.to_json()); // preprocessing travels with the model
    model.save("model.safetensors")
}
