//! Built-in callbacks: early stopping with best-weight restore, checkpoints, learning-rate
//! control, CSV logging, NaN termination, lambdas.

#[macro_use]
mod common;
use common::{quiet, tmp_dir};

use std::sync::{Arc, Mutex};
use stratanet::callbacks::{
    CsvLogger, EarlyStopping, LambdaCallback, LearningRateScheduler, ModelCheckpoint,
    ReduceLrOnPlateau, TerminateOnNan,
};
use stratanet::prelude::*;
use stratanet::DefaultBackend as B;

fn regression() -> (Sequential<B>, Tensor<B>, Tensor<B>) {
    let m = sequential!(B, 3, [2], Dense::new(8).activation("tanh"), Dense::new(1));
    let x = common::uniform(&[64, 2], 1);
    let y = x.sum(&[-1], true).unwrap();
    (m, x, y)
}

#[test]
fn early_stopping_stops_on_a_plateau_and_restores_the_best_weights() {
    let (mut m, x, y) = regression();
    // A learning rate of 0 without shuffling makes every epoch identical: no improvement
    // after epoch 0.
    m.compile(Sgd::new(0.0), "mse", &[]).unwrap();
    let es = Arc::new(Mutex::new(EarlyStopping::new("loss").patience(2)));
    let h = m
        .fit(&x, &y, quiet(20).shuffle(false).callback(es.clone()))
        .unwrap();
    // epoch 0 sets the best; epochs 1 and 2 do not improve; stop at epoch 2.
    assert_eq!(h.epoch, vec![0, 1, 2]);
    assert_eq!(es.lock().unwrap().stopped_epoch(), Some(2));

    // With a rate that diverges, the best epoch is the first; its weights come back.
    let (mut m, x, y) = regression();
    m.compile(Sgd::new(5.0), "mse", &[]).unwrap();
    let snapshots = Arc::new(Mutex::new(Vec::new()));
    let snaps = snapshots.clone();
    let record = LambdaCallback::new().on_epoch_end(move |_, logs, ctx| {
        snaps
            .lock()
            .unwrap()
            .push((logs.get("loss").unwrap(), ctx.model.get_weights()?));
        Ok(())
    });
    let es = Arc::new(Mutex::new(
        EarlyStopping::new("loss")
            .patience(1)
            .restore_best_weights(true),
    ));
    m.fit(
        &x,
        &y,
        quiet(30)
            .batch_size(8)
            .shuffle(false)
            .callback(record)
            .callback(es.clone()),
    )
    .unwrap();
    let snaps = snapshots.lock().unwrap();
    let best = es.lock().unwrap().best_epoch();
    let best_loss = snaps.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    assert_eq!(snaps[best].0, best_loss);
    assert_eq!(
        m.get_weights().unwrap(),
        snaps[best].1,
        "best weights restored"
    );
}

/// The best `val_loss` falls in the middle of training, and `restore_best_weights` brings
/// back the weights of exactly that epoch: `evaluate` on the validation data afterwards
/// reproduces the best `val_loss` (Keras issue 20323 restored the weights one epoch off).
///
/// A single linear unit starting at `w = b = 0` learns `y = x` by full-batch SGD, so `w`
/// climbs from 0 towards 1 epoch after epoch. The validation targets are `0.5 x`: the
/// validation loss falls while `w` approaches 0.5 and rises once it has passed it.
#[test]
fn early_stopping_restores_the_weights_of_a_best_epoch_in_the_middle() {
    use stratanet::initializers::Initializer;
    let mut m = sequential!(
        B,
        5,
        [1],
        Dense::new(1)
            .kernel_initializer(Initializer::Zeros)
            .bias_initializer(Initializer::Zeros)
    );
    // w - 1 shrinks by 1 - 0.01 * 2 * E[x^2] = 0.973 per epoch: w passes 0.5 near epoch 26.
    m.compile(Sgd::new(0.01), "mse", &[]).unwrap();
    let x = Tensor::<B>::uniform(&[32, 1], -2.0, 2.0, 7, DType::F32, Device::Cpu).unwrap();
    let y = x.clone();
    let xv = Tensor::<B>::uniform(&[16, 1], -2.0, 2.0, 8, DType::F32, Device::Cpu).unwrap();
    let yv = xv.mul_scalar(0.5).unwrap();
    let epochs = 60;
    let es = Arc::new(Mutex::new(
        EarlyStopping::new("val_loss")
            .patience(epochs)
            .restore_best_weights(true),
    ));
    let h = m
        .fit(
            &x,
            &y,
            quiet(epochs)
                .batch_size(32)
                .shuffle(false)
                .validation_data(&xv, &yv)
                .callback(es.clone()),
        )
        .unwrap();
    let val = h.get("val_loss").unwrap();
    assert_eq!(
        val.len(),
        epochs,
        "patience covers every epoch: no early stop"
    );
    let (best, best_loss) = val.iter().copied().enumerate().fold(
        (0, f64::INFINITY),
        |a, (i, v)| if v < a.1 { (i, v) } else { a },
    );
    println!("val_loss per epoch: {val:?}; best epoch {best}");
    assert!(
        best > 0 && best < epochs - 1,
        "the best epoch {best} must lie strictly inside 0..{}: {val:?}",
        epochs - 1
    );
    // Training went on well past the best epoch and got clearly worse.
    assert!(val[epochs - 1] > 1.5 * best_loss, "{val:?}");
    let es = es.lock().unwrap();
    assert_eq!(es.best_epoch(), best);
    assert_eq!(es.best(), best_loss);
    // The restored model reproduces the best epoch's validation loss, not a neighbour's.
    let restored = m.evaluate_with(&xv, &yv, 32).unwrap().get("loss").unwrap();
    assert!(
        (restored - best_loss).abs() <= 1e-6 * best_loss.abs(),
        "evaluate after restore: {restored}, best val_loss {best_loss} (epoch {best}); \
         neighbours: {:?}",
        &val[best - 1..=best + 1]
    );
}

#[test]
fn model_checkpoint_writes_patterned_files_and_best_only() {
    let dir = tmp_dir();
    let (mut m, x, y) = regression();
    m.compile(Adam::new(0.01), "mse", &[]).unwrap();
    let pattern = dir.join("w_{epoch:02d}-{loss:.3f}.safetensors");
    let ck = Arc::new(Mutex::new(ModelCheckpoint::new(pattern.to_str().unwrap())));
    let h = m.fit(&x, &y, quiet(3).callback(ck.clone())).unwrap();
    let saved = ck.lock().unwrap().saved().to_vec();
    assert_eq!(saved.len(), 3);
    let expected = dir.join(format!("w_03-{:.3}.safetensors", h.last("loss").unwrap()));
    assert_eq!(saved[2], expected);
    // the last checkpoint holds the final weights
    let (mut m2, _, _) = regression();
    m2.load_weights(&saved[2]).unwrap();
    assert_eq!(m2.get_weights().unwrap(), m.get_weights().unwrap());

    // save_best_only with a rate of 0: only the first epoch improves.
    let best = dir.join("best.safetensors");
    m.compile(Sgd::new(0.0), "mse", &[]).unwrap();
    let ck = Arc::new(Mutex::new(
        ModelCheckpoint::new(best.to_str().unwrap())
            .monitor("val_loss")
            .save_best_only(true),
    ));
    m.fit(&x, &y, quiet(3).validation_split(0.25).callback(ck.clone()))
        .unwrap();
    assert_eq!(ck.lock().unwrap().saved().len(), 1);
    assert!(best.exists());
}

#[test]
fn learning_rate_callbacks_change_the_optimizer_rate() {
    let (mut m, x, y) = regression();
    m.compile(Sgd::new(0.1), "mse", &[]).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let sched = LearningRateScheduler::new(|epoch, lr| if epoch == 0 { lr } else { lr * 0.5 });
    let probe = LambdaCallback::new().on_epoch_end(move |_, _, ctx| {
        s.lock().unwrap().push(ctx.state.learning_rate);
        Ok(())
    });
    m.fit(&x, &y, quiet(4).callback(sched).callback(probe))
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![0.1, 0.05, 0.025, 0.0125]);
    assert_eq!(m.compiled().unwrap().optimizer.learning_rate(), 0.0125);

    // ReduceLROnPlateau: no improvement (rate 0) -> factor applied after `patience` epochs,
    // never below min_lr.
    let (mut m, x, y) = regression();
    m.compile(Sgd::new(0.0), "mse", &[]).unwrap();
    m.compile(Sgd::new(1e-9), "mse", &[]).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let probe = LambdaCallback::new().on_epoch_end(move |_, _, ctx| {
        s.lock().unwrap().push(ctx.state.learning_rate);
        Ok(())
    });
    let plateau = ReduceLrOnPlateau::new("loss")
        .patience(1)
        .factor(0.5)
        .min_delta(1.0)
        .min_lr(2e-10);
    m.fit(&x, &y, quiet(4).callback(plateau).callback(probe))
        .unwrap();
    let lrs = seen.lock().unwrap().clone();
    // epoch 0 sets best; epoch 1: wait 1 >= patience -> 5e-10; epoch 2 -> 2.5e-10;
    // epoch 3 -> max(1.25e-10, 2e-10) = 2e-10. (The probe runs after ReduceLROnPlateau.)
    let expected = [1e-9, 5e-10, 2.5e-10, 2e-10];
    for (a, b) in lrs.iter().zip(expected) {
        assert!((a - b).abs() < 1e-20, "{lrs:?}");
    }
}

#[test]
fn csv_logger_writes_a_header_and_one_row_per_epoch() {
    let dir = tmp_dir();
    let path = dir.join("log.csv");
    let (mut m, x, y) = regression();
    m.compile(Adam::new(0.01), "mse", &[]).unwrap();
    let h = m
        .fit(
            &x,
            &y,
            quiet(3)
                .validation_split(0.25)
                .callback(CsvLogger::new(&path)),
        )
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "epoch,loss,val_loss");
    assert_eq!(lines.len(), 4);
    let row: Vec<f64> = lines[3].split(',').map(|v| v.parse().unwrap()).collect();
    assert_eq!(row[0], 2.0);
    assert_eq!(row[1], h.last("loss").unwrap());
    assert_eq!(row[2], h.last("val_loss").unwrap());
    // append mode continues without a second header
    m.fit(
        &x,
        &y,
        quiet(1)
            .validation_split(0.25)
            .callback(CsvLogger::new(&path).append(true)),
    )
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 5);
    assert_eq!(text.lines().filter(|l| l.starts_with("epoch")).count(), 1);
}

#[test]
fn terminate_on_nan_stops_at_the_first_bad_batch() {
    let (mut m, x, _) = regression();
    m.compile(Sgd::new(0.1), "mse", &[]).unwrap();
    let mut yv = vec![0.0f32; 64];
    yv[20] = f32::NAN; // in the third batch of 8
    let y = Tensor::<B>::from_vec(yv, &[64, 1]).unwrap();
    let t = Arc::new(Mutex::new(TerminateOnNan::new()));
    let h = m
        .fit(
            &x,
            &y,
            quiet(5).batch_size(8).shuffle(false).callback(t.clone()),
        )
        .unwrap();
    assert_eq!(t.lock().unwrap().terminated_at(), Some(2));
    assert_eq!(h.epoch, vec![0]);
    assert!(h.last("loss").unwrap().is_nan());
}

#[test]
fn lambda_callback_sees_every_hook() {
    let (mut m, x, y) = regression();
    m.compile("adam", "mse", &[]).unwrap();
    let events = Arc::new(Mutex::new(Vec::<String>::new()));
    let (e1, e2, e3, e4, e5) = (
        events.clone(),
        events.clone(),
        events.clone(),
        events.clone(),
        events.clone(),
    );
    let cb = LambdaCallback::new()
        .on_train_begin(move |_| {
            e1.lock().unwrap().push("train_begin".into());
            Ok(())
        })
        .on_epoch_begin(move |e, _| {
            e2.lock().unwrap().push(format!("epoch_begin {e}"));
            Ok(())
        })
        .on_train_batch_end(move |s, _, _| {
            e3.lock().unwrap().push(format!("batch {s}"));
            Ok(())
        })
        .on_epoch_end(move |e, logs, _| {
            assert!(logs.get("loss").is_some());
            e4.lock().unwrap().push(format!("epoch_end {e}"));
            Ok(())
        })
        .on_train_end(move |_| {
            e5.lock().unwrap().push("train_end".into());
            Ok(())
        });
    m.fit(&x, &y, quiet(2).batch_size(32).callback(cb)).unwrap();
    assert_eq!(
        *events.lock().unwrap(),
        vec![
            "train_begin",
            "epoch_begin 0",
            "batch 0",
            "batch 1",
            "epoch_end 0",
            "epoch_begin 1",
            "batch 0",
            "batch 1",
            "epoch_end 1",
            "train_end"
        ]
    );
}

#[test]
fn a_failing_callback_stops_fit_with_its_error() {
    let (mut m, x, y) = regression();
    m.compile("adam", "mse", &[]).unwrap();
    let cb = LambdaCallback::new()
        .on_epoch_end(|_, _, _| Err(stratanet::Error::invalid("my_callback", "state", "broken")));
    let e = m.fit(&x, &y, quiet(3).callback(cb)).unwrap_err();
    assert_eq!(e.to_string(), "my_callback: invalid state: broken");
}

#[test]
fn evaluate_and_predict_hooks_run_per_batch() {
    use stratanet::callbacks::{BatchEnd, Callback, CallbackContext, Logs};
    #[derive(Default)]
    struct Recorder(Arc<Mutex<Vec<String>>>);
    impl Recorder {
        fn record(&self, event: impl Into<String>) -> stratanet::Result<()> {
            self.0.lock().unwrap().push(event.into());
            Ok(())
        }
    }
    impl Callback for Recorder {
        fn on_test_begin(&mut self, _: &mut CallbackContext<'_>) -> stratanet::Result<()> {
            self.record("test_begin")
        }
        fn on_test_batch_end(&mut self, end: BatchEnd<'_>) -> stratanet::Result<()> {
            let l = end.logs.logs()?;
            assert!(l.get("loss").is_some());
            self.record(format!("test_batch {}", end.step))
        }
        fn on_test_end(
            &mut self,
            logs: &Logs,
            _: &mut CallbackContext<'_>,
        ) -> stratanet::Result<()> {
            assert!(logs.get("loss").is_some());
            self.record("test_end")
        }
        fn on_predict_begin(&mut self, _: &mut CallbackContext<'_>) -> stratanet::Result<()> {
            self.record("predict_begin")
        }
        fn on_predict_batch_end(
            &mut self,
            step: usize,
            _: &mut CallbackContext<'_>,
        ) -> stratanet::Result<()> {
            self.record(format!("predict_batch {step}"))
        }
        fn on_predict_end(&mut self, _: &mut CallbackContext<'_>) -> stratanet::Result<()> {
            self.record("predict_end")
        }
    }
    let (mut m, x, y) = regression();
    m.compile("adam", "mse", &[]).unwrap();
    let ev = Arc::new(Mutex::new(Vec::new()));
    // Keras' default batch size (32): two batches of the 64 samples.
    m.evaluate_with(
        &x,
        &y,
        EvaluateOptions::new().callback(Recorder(ev.clone())),
    )
    .unwrap();
    assert_eq!(
        *ev.lock().unwrap(),
        vec!["test_begin", "test_batch 0", "test_batch 1", "test_end"]
    );
    let pv = Arc::new(Mutex::new(Vec::new()));
    let out = m
        .predict_all(
            &x,
            PredictOptions::new()
                .batch_size(40)
                .callback(Recorder(pv.clone())),
        )
        .unwrap();
    assert_eq!(out[0].shape(), vec![64, 1]);
    assert_eq!(
        *pv.lock().unwrap(),
        vec![
            "predict_begin",
            "predict_batch 0",
            "predict_batch 1",
            "predict_end"
        ]
    );
    // during fit, the validation pass runs the test hooks
    let fv = Arc::new(Mutex::new(Vec::new()));
    m.fit(
        &x,
        &y,
        quiet(1)
            .batch_size(16)
            .validation_split(0.5)
            .callback(Recorder(fv.clone())),
    )
    .unwrap();
    assert_eq!(
        *fv.lock().unwrap(),
        vec!["test_begin", "test_batch 0", "test_batch 1", "test_end"]
    );
}
