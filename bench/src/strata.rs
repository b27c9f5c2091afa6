//! (a) stratanet: `Sequential`, `compile`, `fit` (verbose 0), `predict`.

use crate::{cuda_mem, make_data, rss_kb, AnyResult, CaseResult, CaseSpec, Workload};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use stratanet::callbacks::LambdaCallback;
use stratanet::layers::{Conv2D, MaxPooling2D, LSTM};
use stratanet::prelude::*;
use stratanet::Backend;

fn build<B: Backend>(
    w: Workload,
    device: Device,
    policy: stratanet::mixed_precision::Policy,
) -> stratanet::Result<Sequential<B>> {
    let mut m = Sequential::<B>::new().on_device(device);
    m.set_dtype_policy(policy);
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
/// predict. Every epoch records, in `CaseResult::epochs`, the tch engine's device reads
/// (`stratanet_tch::host_read_count`) and on CUDA libtorch's allocator peak over the epoch
/// (`cuda_mem`, the figure `torch.cuda.max_memory_allocated` gives PyTorch), for the
/// `fit` that is timed.
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
    let mut model = build::<B>(w, device, spec.policy)?;
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
    let epochs = Arc::new(Mutex::new(Vec::new()));
    let is_tch = B::NAME == "tch";
    let reads_at = Arc::new(Mutex::new(stratanet_tch::host_read_count()));
    let (ep, at) = (Arc::clone(&epochs), Arc::clone(&reads_at));
    let cuda = spec.cuda;
    if cuda {
        cuda_mem::reset_peak(0);
    }
    let mut opts = FitOptions::new()
        .epochs(spec.epochs)
        .batch_size(bs)
        .verbose(0)
        .seed(7)
        .callback(LambdaCallback::new().on_epoch_end(move |e, _, _| {
            let mut rec = json!({ "epoch": e + 1 });
            if is_tch {
                let now = stratanet_tch::host_read_count();
                let mut at = at.lock().unwrap();
                rec["host_reads"] = json!(now - *at);
                *at = now;
            }
            if cuda {
                if let Some(m) = cuda_mem::stats(0) {
                    rec["gpu_peak_bytes"] = json!(m.allocated_peak);
                    rec["gpu_allocated_bytes"] = json!(m.allocated);
                    rec["gpu_reserved_peak_bytes"] = json!(m.reserved_peak);
                    rec["gpu_reserved_bytes"] = json!(m.reserved);
                }
                cuda_mem::reset_peak(0);
            }
            if rec.as_object().is_some_and(|o| o.len() > 1) {
                ep.lock().unwrap().push(rec);
            }
            Ok(())
        }));
    if rss {
        let rec = Arc::clone(&record);
        opts = opts.callback(LambdaCallback::new().on_epoch_end(move |e, _, _| {
            let (r, h) = rss_kb();
            rec.lock().unwrap().push((e, r, h));
            Ok(())
        }));
    }
    *reads_at.lock().unwrap() = stratanet_tch::host_read_count();
    let t = Instant::now();
    model.fit(&xt, &yt, opts)?;
    sync()?;
    result.train_secs = t.elapsed().as_secs_f64();
    result.rss = record.lock().unwrap().clone();
    result.epochs = epochs.lock().unwrap().clone();

    if spec.n_predict > 0 {
        let xp = x.narrow(0, 0, spec.n_predict)?;
        let _ = model.predict_with(&x.narrow(0, 0, (2 * bs).min(spec.n_predict))?, bs)?;
        let t = Instant::now();
        let mut p = model.predict_with(&xp, bs)?;
        for _ in 1..spec.predict_passes {
            p = model.predict_with(&xp, bs)?;
        }
        sync()?;
        result.predict_secs = t.elapsed().as_secs_f64();
        assert_eq!(p.shape(), [spec.n_predict, 10]);
    }
    Ok(result)
}
