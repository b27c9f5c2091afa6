//! Callbacks: a learning-rate schedule, early stopping that restores the best weights, a
//! checkpoint of the best epoch, a CSV log, then a resume from the checkpoint.
//!
//! ```text
//! cargo run --release --example callbacks
//! cargo run --release --features tch --example callbacks -- --backend tch
//! ```
//!
//! Prints where early stopping stopped and which epoch was best (from the `History`), the
//! learning rate the schedule left, the files written (checkpoint, log), the test accuracy
//! with the restored best weights, and the epochs and accuracy of the resumed run.

use stratanet::prelude::*;

fn main() -> stratanet::Result<()> {
    stratanet::script! {
        stratanet::set_random_seed(42);
        let (x, y) = stratanet::datasets::digits_host()?;
        let (x_train, x_test, y_train, y_test) = train_test_split(&x, &y, 0.2, 42)?;
        std::fs::create_dir_all("target/callbacks")?;
        let (checkpoint, log) = ("target/callbacks/best.safetensors", "target/callbacks/log.csv");
        let mlp = || -> stratanet::Result<Sequential> {
            let mut model = Sequential::new()
                .layer(Input::new(&[64]))
                .layer(Dense::new(64).activation("relu"))
                .layer(Dense::new(10).activation("softmax"));
            model.compile(Adam::new(1e-2), "sparse_categorical_crossentropy", &["accuracy"])?;
            Ok(model)
        };
        let rows = || std::fs::read_to_string(log).map(|s| s.lines().count() - 1);

        let mut model = mlp()?;
        let opts = FitOptions::new()
            .epochs(100)
            .validation_split(0.1)
            .verbose(0)
            .callback(LearningRateScheduler::new(|epoch, _| 1e-2 * 0.8f64.powi(epoch as i32)))
            .callback(EarlyStopping::new("val_loss").patience(5).restore_best_weights(true))
            .callback(ModelCheckpoint::new(checkpoint).save_best_only(true))
            .callback(CsvLogger::new(log));
        let history = model.fit(&x_train, &y_train, opts)?;
        let (best, val_loss) = history.best("val_loss")?;
        let stopped = history.stopped_epoch().map_or(0, |e| e + 1);
        println!("early stopping: stopped after epoch {stopped} (0: never stopped)");
        println!("best epoch {} (val_loss {val_loss:.4})", best + 1);
        println!("learning rate went from 1e-2 to {:.2e}", model.learning_rate()?);
        println!("files: checkpoint {checkpoint}, log {log} ({} rows)", rows()?);
        let accuracy = model.evaluate(&x_test, &y_test)?.value("accuracy")?;
        println!("test accuracy (restored best weights): {accuracy:.4}");

        let mut resumed = mlp()?;
        resumed.load_weights(checkpoint)?;
        let opts = FitOptions::new()
            .initial_epoch(best + 1)
            .epochs(best + 6)
            .validation_split(0.1)
            .verbose(0)
            .callback(CsvLogger::new(log).append(true));
        let more = resumed.fit(&x_train, &y_train, opts)?;
        let epochs: Vec<usize> = more.epoch.iter().map(|e| e + 1).collect();
        println!("resumed from the epoch-{} checkpoint: epochs {epochs:?}", best + 1);
        println!("log now {} rows", rows()?);
        let accuracy = resumed.evaluate(&x_test, &y_test)?.value("accuracy")?;
        println!("test accuracy after resume: {accuracy:.4}");
    }
}
