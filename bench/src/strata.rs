//! (a) stratanet: `Sequential`, `compile`, `fit` (verbose 0), `predict`.

use crate::{make_data, rss_kb, AnyResult, CaseResult, CaseSpec, Workload};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use stratanet::callbacks::LambdaCallback;
use stratanet::layers::{Conv2D, MaxPooling2D, LSTM};
use stratanet::prelude::*;
use stratanet::Backend;

fn build<B: Backend>(w: Workload, device: Device) -> stratanet::Result<Sequential<B>> {
    let mut m = Sequential::<B>::new().on_device(device);
    m.add(Input::new(&w.sample_shape()))?;
    match w {
        Workload::Mlp => {
            m.add(Dense::new(512).activation("relu"))?;
            m.add(Dense::new(256).activation("relu"))?;
        }
        Workload::Cnn => {
            m.add(Conv2D::new(32, 3).activation("relu"))?;
            m.add(MaxPooling2D::new(2))?;
            m.add(Conv2D::new(64, 3).activation("relu"))?;
            m.add(MaxPooling2D::new(2))?;
            m.add(Flatten::new())?;
            m.add(Dense::new(128).activation("relu"))?;
        }
        Workload::Lstm => {
            m.add(LSTM::<B>::new(128))?;
        }
    }
    m.add(Dense::new(10))?;
    m.compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::new().from_logits(true),
        &[],
    )?;
    Ok(m)
}

/// Trains `spec.epochs` epochs with `fit` and times it (after a 4-step warm-up fit), then
/// times `predict`. With `rss`, records VmRSS/VmHWM after every epoch instead of timing
/// predict.
pub fn run<B: Backend>(spec: &CaseSpec, rss: bool) -> AnyResult<CaseResult> {
    let w = spec.workload;
    let n_data = spec.n.max(spec.n_predict);
    let (x, y) = make_data(w, n_data);
    let mut shape = vec![n_data];
    shape.extend(w.sample_shape());
    let device = if spec.cuda {
        Device::Cuda(0)
    } else {
        Device::Cpu
    };
    let x = Tensor::<B>::from_vec(x, &shape)?.to_device(device)?;
    let y = Tensor::<B>::from_vec(y, &[n_data])?.to_device(device)?;
    // Reads the clock only after the device has finished the queued work.
    let sync = || B::synchronize(&B::device(device)?);
    stratanet::set_random_seed(1);
    let mut model = build::<B>(w, device)?;
    let bs = w.batch();
    let mut result = CaseResult::default();

    let (xt, yt) = (x.narrow(0, 0, spec.n)?, y.narrow(0, 0, spec.n)?);
    if !rss {
        // Warm-up: a 4-step fit (allocator, thread pools, first-call kernel selection).
        let k = (4 * bs).min(spec.n);
        model.fit(
            &x.narrow(0, 0, k)?,
            &y.narrow(0, 0, k)?,
            FitOptions::new().epochs(1).batch_size(bs).verbose(0),
        )?;
    }
    let record = Arc::new(Mutex::new(Vec::new()));
    let mut opts = FitOptions::new()
        .epochs(spec.epochs)
        .batch_size(bs)
        .verbose(0)
        .seed(7);
    if rss {
        let rec = Arc::clone(&record);
        opts = opts.callback(LambdaCallback::new().on_epoch_end(move |e, _, _| {
            let (r, h) = rss_kb();
            rec.lock().unwrap().push((e, r, h));
            Ok(())
        }));
    }
    let t = Instant::now();
    model.fit(&xt, &yt, opts)?;
    sync()?;
    result.train_secs = t.elapsed().as_secs_f64();
    result.rss = record.lock().unwrap().clone();

    if spec.n_predict > 0 {
        let xp = x.narrow(0, 0, spec.n_predict)?;
        let _ = model.predict(&x.narrow(0, 0, (2 * bs).min(spec.n_predict))?, bs)?;
        let t = Instant::now();
        let p = model.predict(&xp, bs)?;
        sync()?;
        result.predict_secs = t.elapsed().as_secs_f64();
        assert_eq!(p.shape(), [spec.n_predict, 10]);
    }
    Ok(result)
}
