//! Devices the Keras way (issue 14 item 2): models are placed on `Device::auto` (the GPU
//! when the engine sees one) unless a `Device::scope` or `on_device` says otherwise;
//! `to_device` / `Model::on_device` move a built (and compiled, trained) model with its
//! optimizer state; `fit`, `evaluate`, `predict`, `call` and their variants move inputs
//! from any device to the model's; `load` lands on the default placement; `--device`
//! parsing. Both engines.
//!
//! This binary never sets `STRATANET_DEVICE` (tests/device_env.rs does, in a binary of its
//! own). The parts that need two devices run when the engine sees a CUDA device and print
//! "skipped: no CUDA device (...)" otherwise; their code still runs with both devices set
//! to the CPU, so every path is exercised here.

#[macro_use]
mod common;

use stratanet::dataset::Dataset;
use stratanet::layers::{BatchNormalization, Concatenate, Normalization};
use stratanet::prelude::*;
use stratanet::Backend;

/// A device the engine cannot use on any machine this runs on.
const NO_SUCH_DEVICE: Device = Device::Cuda(1000);

fn gpu<B: Backend>() -> Option<Device> {
    let d = Device::cuda_if_available::<B>();
    d.is_cuda().then_some(d)
}

fn all_on<B: Backend>(weights: &[(String, stratanet::layers::Weight<B>)], d: Device) -> bool {
    weights.iter().all(|(_, w)| w.value.device() == d)
}

/// Deterministic features in [-1, 1] and labels in 0..3 (from the features).
fn data(n: usize, f: usize, seed: u64) -> (Vec<f32>, Vec<i64>) {
    let mut rng = stratanet::random::Rng::new(seed);
    let x: Vec<f32> = (0..n * f).map(|_| rng.uniform(-1.0, 1.0) as f32).collect();
    let y = (0..n)
        .map(|i| {
            let s: f32 = x[i * f..(i + 1) * f].iter().sum();
            if s < -0.5 {
                0
            } else if s < 0.5 {
                1
            } else {
                2
            }
        })
        .collect();
    (x, y)
}

fn weights_host<B: Backend>(m: &[(String, stratanet::layers::Weight<B>)]) -> Vec<Vec<f64>> {
    m.iter()
        .map(|(_, w)| w.value.to_vec_f64().unwrap())
        .collect()
}

fn default_placement_is_auto<B: Backend>() {
    let expected = Device::auto::<B>().unwrap();
    assert_eq!(Device::placement::<B>().unwrap(), expected);
    // Before any layer the model reports where it will go.
    let mut m = Sequential::<B>::new();
    assert_eq!(m.device(), expected);
    m.add(Input::new(&[4])).unwrap();
    m.add(Dense::new(3)).unwrap();
    assert_eq!(m.device(), expected);
    assert!(all_on(&m.weights(), expected));
    assert_eq!(m.weights().len(), 2);

    let x = Input::new(&[4]).tensor::<B>();
    let y = Dense::new(2).apply(&x).unwrap();
    let f = Model::new(&[x], &[y]).unwrap();
    assert_eq!(f.device(), expected);
    assert!(all_on(&f.weights(), expected));

    // A scope wins over auto, for both model kinds, and ends with its closure.
    let (s, f) = Device::scope(Device::Cpu, || {
        assert_eq!(Device::placement::<B>().unwrap(), Device::Cpu);
        let mut s = Sequential::<B>::new();
        s.add(Input::new(&[4])).unwrap();
        s.add(Dense::new(3)).unwrap();
        let x = Input::new(&[4]).tensor::<B>();
        let y = Dense::new(2).apply(&x).unwrap();
        (s, Model::new(&[x], &[y]).unwrap())
    });
    assert!(all_on(&s.weights(), Device::Cpu) && s.device() == Device::Cpu);
    assert!(all_on(&f.weights(), Device::Cpu) && f.device() == Device::Cpu);
    assert_eq!(Device::placement::<B>().unwrap(), expected);

    // Nested scopes: the innermost wins, the outer comes back.
    Device::scope(NO_SUCH_DEVICE, || {
        assert!(Device::placement::<B>().is_err());
        Device::scope(Device::Cpu, || {
            assert_eq!(Device::placement::<B>().unwrap(), Device::Cpu)
        });
        assert!(Device::placement::<B>().is_err());
    });
    // ... also after a panic inside the scope.
    let r = std::panic::catch_unwind(|| Device::scope(NO_SUCH_DEVICE, || panic!("inside")));
    assert!(r.is_err());
    assert_eq!(Device::placement::<B>().unwrap(), expected);

    // on_device wins over the placement (even an unusable one: it is never resolved).
    let m = Device::scope(NO_SUCH_DEVICE, || {
        let mut m = Sequential::<B>::new().on_device(Device::Cpu);
        m.add(Input::new(&[4])).unwrap();
        m.add(Dense::new(3)).unwrap();
        m
    });
    assert!(all_on(&m.weights(), Device::Cpu));
}

fn unusable_placement_is_an_error<B: Backend>() {
    Device::scope(NO_SUCH_DEVICE, || {
        // `new` cannot fail; the first add (an Input or a layer), build, the functional
        // apply that builds a layer and Model::new without weights say why.
        common::weight_making_fails_naming::<B>("Device::scope", "cuda:1000");
    });
}

/// The same small classifier (seeded), with a BatchNormalization (non-trainable weights).
fn classifier<B: Backend>(device: Device, dtype: DType) -> Sequential<B> {
    let mut m = Sequential::<B>::new()
        .with_seed(11)
        .on_device(device)
        .with_dtype(dtype);
    m.add(Input::new(&[5])).unwrap();
    m.add(Dense::new(8).activation("relu")).unwrap();
    m.add(BatchNormalization::new()).unwrap();
    m.add(Dense::new(3).activation("softmax")).unwrap();
    m.compile(
        Adam::new(0.05),
        "sparse_categorical_crossentropy",
        &["accuracy"],
    )
    .unwrap();
    m
}

fn to_device_keeps_weights_and_optimizer_state<B: Backend>() {
    let (xv, yv) = data(48, 5, 1);
    let x = Tensor::<B>::from_vec(xv, &[48, 5]).unwrap();
    let y = Tensor::<B>::from_vec(yv, &[48]).unwrap();
    let opts = || {
        FitOptions::new()
            .epochs(2)
            .batch_size(16)
            .seed(3)
            .verbose(0)
    };
    let mut a = classifier::<B>(Device::Cpu, DType::F32);
    let mut b = classifier::<B>(Device::Cpu, DType::F32);
    let mut c = classifier::<B>(Device::Cpu, DType::F32);
    for m in [&mut a, &mut b, &mut c] {
        m.fit(&x, &y, opts()).unwrap();
    }
    let before = b.predict_with(&x, 16).unwrap().to_vec_f32().unwrap();
    let old_kernel = b.weights()[0].1.value.clone();
    b.to_device(Device::Cpu).unwrap();
    assert_eq!(b.device(), Device::Cpu);
    assert_eq!(weights_host(&b.weights()), weights_host(&a.weights()));
    assert_eq!(
        b.predict_with(&x, 16).unwrap().to_vec_f32().unwrap(),
        before
    );
    // Non-trainable weights stay non-trainable.
    assert_eq!(b.count_params(), a.count_params());
    assert!(a.count_params().1 > 0);
    let iters = |m: &Sequential<B>| m.compiled().unwrap().optimizer.iterations();
    assert_eq!(iters(&b), iters(&a));
    // The handle taken before the move is a copy now: writing it leaves the model alone.
    old_kernel
        .assign(&old_kernel.zeros_like().unwrap())
        .unwrap();
    assert_eq!(weights_host(&b.weights()), weights_host(&a.weights()));

    // Training continues exactly as without the move (Adam's moments and step count
    // moved); a fresh optimizer (c, recompiled) takes other steps, so this can fail.
    c.compile(
        Adam::new(0.05),
        "sparse_categorical_crossentropy",
        &["accuracy"],
    )
    .unwrap();
    let ha = a.fit(&x, &y, opts()).unwrap();
    let hb = b.fit(&x, &y, opts()).unwrap();
    c.fit(&x, &y, opts()).unwrap();
    assert_eq!(ha.get("loss"), hb.get("loss"));
    assert_eq!(weights_host(&b.weights()), weights_host(&a.weights()));
    assert_ne!(weights_host(&c.weights()), weights_host(&a.weights()));

    // Through the GPU and back, when there is one: training on it continues from the same
    // state (up to summation order), and the way back is exact.
    match gpu::<B>() {
        Some(g) => {
            let mut a2 = classifier::<B>(Device::Cpu, DType::F64);
            let mut b2 = classifier::<B>(Device::Cpu, DType::F64);
            a2.fit(&x, &y, opts()).unwrap();
            b2.fit(&x, &y, opts()).unwrap();
            b2.to_device(g).unwrap();
            assert!(all_on(&b2.weights(), g) && b2.device() == g);
            assert_eq!(weights_host(&b2.weights()), weights_host(&a2.weights()));
            let ha = a2.fit(&x, &y, opts()).unwrap();
            let hb = b2.fit(&x, &y, opts()).unwrap();
            close(
                "loss after the move",
                hb.get("loss").unwrap(),
                ha.get("loss").unwrap(),
                1e-6,
            );
            let on_gpu = weights_host(&b2.weights());
            b2.to_device(Device::Cpu).unwrap();
            assert!(all_on(&b2.weights(), Device::Cpu));
            assert_eq!(weights_host(&b2.weights()), on_gpu);
            for (wa, wb) in weights_host(&a2.weights()).iter().zip(&on_gpu) {
                close("weights after training on the GPU", wb, wa, 1e-6);
            }
        }
        None => println!("skipped: no CUDA device (to_device to the GPU and back)"),
    }

    // An unusable device is an error naming to_device; the model is unchanged.
    let e = b.to_device(NO_SUCH_DEVICE).unwrap_err().to_string();
    assert!(e.contains("to_device") && e.contains("cuda:1000"), "{e}");
    assert_eq!(b.device(), Device::Cpu);
    assert_eq!(weights_host(&b.weights()), weights_host(&a.weights()));
    assert_eq!(
        b.predict_with(&x, 16).unwrap().to_vec_f32().unwrap(),
        a.predict_with(&x, 16).unwrap().to_vec_f32().unwrap()
    );
}

/// Overwrites every weight with values drawn from a fixed seed: the functional API draws
/// its initial weights from the global generator, which concurrent tests also draw from.
fn fixed_weights<B: Backend>(m: &mut Model<B>) {
    let mut rng = stratanet::random::Rng::new(77);
    let ws: Vec<(String, stratanet::saving::HostTensor)> = m
        .get_weights()
        .unwrap()
        .into_iter()
        .map(|(n, h)| {
            let v = (0..h.data.len())
                .map(|_| rng.uniform(-0.5, 0.5) as f32)
                .collect();
            (n, stratanet::saving::HostTensor::f32(v, &h.shape).unwrap())
        })
        .collect();
    m.set_weights(&ws).unwrap();
}

fn on_device_after_building<B: Backend>() {
    let (xv, yv) = data(24, 5, 6);
    let x = Tensor::<B>::from_vec(xv, &[24, 5]).unwrap();
    let y = Tensor::<B>::from_vec(yv, &[24]).unwrap();
    let mut m = classifier::<B>(Device::Cpu, DType::F32);
    m.fit(&x, &y, FitOptions::new().epochs(1).verbose(0))
        .unwrap();
    let want = m.predict_with(&x, 8).unwrap().to_vec_f32().unwrap();
    // A move that cannot happen leaves the weights where they are, and every later call
    // that would compute says why (instead of computing on the wrong device).
    let mut m = m.on_device(NO_SUCH_DEVICE);
    assert!(all_on(&m.weights(), Device::Cpu));
    for e in [
        m.predict_with(&x, 8).map(|_| ()).unwrap_err(),
        m.evaluate_with(&x, &y, 8).map(|_| ()).unwrap_err(),
        m.fit(&x, &y, FitOptions::new().epochs(1).verbose(0))
            .map(|_| ())
            .unwrap_err(),
        m.call(&x, false).map(|_| ()).unwrap_err(),
        m.add(Dense::new(2)).map(|_| ()).unwrap_err(),
    ] {
        let e = e.to_string();
        assert!(e.contains("to_device") && e.contains("cuda:1000"), "{e}");
    }
    // Asking for a usable device again: the same model, the same predictions.
    let m = m.on_device(Device::Cpu);
    assert_eq!(m.device(), Device::Cpu);
    assert_eq!(m.predict_with(&x, 8).unwrap().to_vec_f32().unwrap(), want);
    if let Some(g) = gpu::<B>() {
        let m = m.on_device(g);
        assert!(all_on(&m.weights(), g));
        let got = m.predict_with(&x, 8).unwrap().to_vec_f64().unwrap();
        let want: Vec<f64> = want.iter().map(|&v| v as f64).collect();
        close("on_device(cuda) after building", &got, &want, 1e-4);
    }
}

/// A two-input functional model: a shared encoder, a nested model, a frozen layer
/// (weights from a fixed seed).
fn functional<B: Backend>() -> Model<B> {
    let inner_in = Input::new(&[3]).tensor::<B>();
    let inner_out = Dense::new(4)
        .activation("tanh")
        .name("inner_dense")
        .apply(&inner_in)
        .unwrap();
    let inner = Model::new(&[inner_in], &[inner_out])
        .unwrap()
        .with_name("inner");
    let a = Input::new(&[3]).name("a").tensor::<B>();
    let b = Input::new(&[3]).name("b").tensor::<B>();
    let encoder = Shared::new(Dense::new(4).activation("relu").name("encoder"));
    let ea = encoder.apply(&a).unwrap();
    let eb = encoder.apply(&b).unwrap();
    let nested = inner.apply(&a).unwrap();
    let mut frozen = Dense::new(4).name("frozen");
    Layer::<B>::set_trainable(&mut frozen, false);
    let fb = frozen.apply(&eb).unwrap();
    let joined = Concatenate::new(-1).apply_multi(&[ea, fb, nested]).unwrap();
    let out = Dense::new(3)
        .activation("softmax")
        .name("out")
        .apply(&joined)
        .unwrap();
    let mut m = Model::new(&[a, b], &[out]).unwrap().with_seed(9);
    fixed_weights(&mut m);
    m.compile(Adam::new(0.05), "sparse_categorical_crossentropy", &[])
        .unwrap();
    m
}

fn model_on_device_round_trip<B: Backend>() {
    let (xv, yv) = data(32, 6, 2);
    let both = Tensor::<B>::from_vec(xv, &[32, 6]).unwrap();
    let xa = both.narrow(1, 0, 3).unwrap();
    let xb = both.narrow(1, 3, 3).unwrap();
    let y = Tensor::<B>::from_vec(yv, &[32]).unwrap();
    let opts = || FitOptions::new().epochs(2).batch_size(8).seed(4).verbose(0);
    let (mut m, mut control) =
        Device::scope(Device::Cpu, || (functional::<B>(), functional::<B>()));
    m.fit([&xa, &xb], &y, opts()).unwrap();
    control.fit([&xa, &xb], &y, opts()).unwrap();
    let before = m.predict_with([&xa, &xb], 8).unwrap().to_vec_f32().unwrap();
    let names = m.layer_names();
    let params = m.count_params();
    assert!(params.1 > 0, "the frozen layer counts as non-trainable");
    let mut m = m.on_device(Device::Cpu).unwrap();
    assert_eq!(m.device(), Device::Cpu);
    assert!(all_on(&m.weights(), Device::Cpu));
    assert_eq!(m.layer_names(), names);
    assert_eq!(m.count_params(), params);
    assert_eq!(
        m.predict_with([&xa, &xb], 8).unwrap().to_vec_f32().unwrap(),
        before
    );
    assert_eq!(weights_host(&m.weights()), weights_host(&control.weights()));
    // Training continues as without the move (optimizer state moved).
    let h1 = m.fit([&xa, &xb], &y, opts()).unwrap();
    let h2 = control.fit([&xa, &xb], &y, opts()).unwrap();
    assert_eq!(h1.get("loss"), h2.get("loss"));
    assert_eq!(weights_host(&m.weights()), weights_host(&control.weights()));
    let e = m.on_device(NO_SUCH_DEVICE).unwrap_err().to_string();
    assert!(e.contains("to_device"), "{e}");
}

fn close(what: &str, got: &[f64], want: &[f64], rel: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-7 + rel * g.abs().max(w.abs()),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

/// Every entry point with the model on `model_dev` and every input on `input_dev`; the
/// numbers it computed (f64 model, then f32 functional model).
fn every_path<B: Backend>(model_dev: Device, input_dev: Device) -> (Vec<f64>, Vec<f64>) {
    let (xv, yv) = data(40, 5, 3);
    let x = Tensor::<B>::from_vec_on(xv.clone(), &[40, 5], input_dev).unwrap();
    let y = Tensor::<B>::from_vec_on(yv.clone(), &[40], input_dev).unwrap();
    let w = Tensor::<B>::from_vec_on(
        (0..40).map(|i| 0.5 + (i % 3) as f32).collect(),
        &[40],
        input_dev,
    )
    .unwrap();
    let opts = || {
        FitOptions::new()
            .epochs(2)
            .batch_size(16)
            .seed(1)
            .verbose(0)
    };
    let mut out = Vec::new();
    let mut m = classifier::<B>(model_dev, DType::F64);
    assert!(all_on(&m.weights(), model_dev));
    // Tensor fit with validation data and sample weights.
    let h = m
        .fit(
            &x,
            &y,
            opts()
                .validation_data(x.narrow(0, 0, 10).unwrap(), y.narrow(0, 0, 10).unwrap())
                .sample_weight(w.clone()),
        )
        .unwrap();
    out.extend(h.get("loss").unwrap());
    out.extend(h.get("val_loss").unwrap());
    // validation_split and class weights.
    let h = m
        .fit(
            &x,
            &y,
            opts()
                .validation_split(0.25)
                .class_weight(vec![1.0, 2.0, 0.5]),
        )
        .unwrap();
    out.extend(h.get("loss").unwrap());
    out.extend(h.get("val_loss").unwrap());
    // A dataset (host batches uploaded per batch), with a class weight.
    let mut ds = Dataset::from_tensors(&x, &y).unwrap();
    let h = m
        .fit_dataset(&mut ds, opts().class_weight(vec![1.0, 1.5, 1.0]))
        .unwrap();
    out.extend(h.get("loss").unwrap());
    out.push(m.evaluate_with(&x, &y, 16).unwrap().get("loss").unwrap());
    out.push(
        m.evaluate_dataset(&mut ds, 16)
            .unwrap()
            .get("loss")
            .unwrap(),
    );
    let p = m.predict_with(&x, 16).unwrap();
    assert_eq!(
        p.device(),
        model_dev,
        "predict's output stays on the model's device"
    );
    out.extend(p.to_vec_f64().unwrap());
    out.extend(
        m.predict_dataset(&mut ds, 16)
            .unwrap()
            .to_vec_f64()
            .unwrap(),
    );
    out.push(m.train_on_batch(&x, &y).unwrap().get("loss").unwrap());
    out.push(m.test_on_batch(&x, &y).unwrap().get("loss").unwrap());
    out.extend(m.predict_on_batch(&x).unwrap().to_vec_f64().unwrap());
    // A custom step: call, compute_loss (y and sample weights elsewhere), gradients.
    let pred = m.call(&x, true).unwrap();
    assert_eq!(pred.device(), model_dev);
    let loss = m.compute_loss(&y, &pred, Some(&w)).unwrap();
    out.push(loss.item().unwrap());
    let grads = loss.grad(&m.trainable_weights()).unwrap();
    m.apply_gradients(&grads).unwrap();
    out.extend(m.call(&x, false).unwrap().to_vec_f64().unwrap());
    assert!(all_on(&m.weights(), model_dev));

    // A Normalization adapted on input_dev joins a model on model_dev with its statistics.
    let mut norm = Normalization::<B>::new();
    norm.adapt(&x).unwrap();
    let mut s = Sequential::<B>::new()
        .on_device(model_dev)
        .with_dtype(DType::F64);
    s.add(Input::new(&[5])).unwrap();
    s.add(norm).unwrap();
    assert!(all_on(&s.weights(), model_dev));
    out.extend(s.predict_with(&x, 40).unwrap().to_vec_f64().unwrap());

    // A functional model with two inputs, named, elsewhere.
    let mut f = Device::scope(model_dev, functional::<B>);
    assert_eq!(f.device(), model_dev);
    let xa = x.narrow(1, 0, 3).unwrap();
    let xb = x.narrow(1, 2, 3).unwrap();
    let h = f.fit([("b", &xb), ("a", &xa)], &y, opts()).unwrap();
    let mut out32: Vec<f64> = h.get("loss").unwrap().to_vec();
    let p = f.predict_all([("a", &xa), ("b", &xb)], 16).unwrap();
    assert_eq!(p[0].device(), model_dev);
    out32.extend(p[0].to_vec_f64().unwrap());
    (out, out32)
}

fn inputs_on_any_device<B: Backend>() {
    let (cc, cc32) = every_path::<B>(Device::Cpu, Device::Cpu);
    assert!(cc.iter().chain(&cc32).all(|v| v.is_finite()));
    let Some(g) = gpu::<B>() else {
        println!("skipped: no CUDA device (inputs on one device, the model on another)");
        return;
    };
    // The model on the CPU: inputs from the GPU give the same numbers exactly.
    let (cg, cg32) = every_path::<B>(Device::Cpu, g);
    assert_eq!(cg, cc);
    assert_eq!(cg32, cc32);
    // The model on the GPU, inputs on the CPU or on the GPU: the same up to summation order.
    for input in [Device::Cpu, g] {
        let (gx, gx32) = every_path::<B>(g, input);
        close(
            &format!("model on {g}, inputs on {input} (f64)"),
            &gx,
            &cc,
            1e-6,
        );
        close(
            &format!("model on {g}, inputs on {input} (f32)"),
            &gx32,
            &cc32,
            1e-3,
        );
    }
}

fn load_lands_on_the_default_placement<B: Backend>() {
    let dir = tempfile::tempdir().unwrap();
    let (xv, yv) = data(24, 5, 4);
    let x = Tensor::<B>::from_vec(xv, &[24, 5]).unwrap();
    let y = Tensor::<B>::from_vec(yv, &[24]).unwrap();
    let auto = Device::auto::<B>().unwrap();
    let devices: Vec<Device> = std::iter::once(Device::Cpu).chain(gpu::<B>()).collect();
    for &saved_on in &devices {
        let mut m = classifier::<B>(saved_on, DType::F32);
        m.fit(&x, &y, FitOptions::new().epochs(1).batch_size(8).verbose(0))
            .unwrap();
        let path = dir.path().join(format!(
            "on_{}.safetensors",
            saved_on.to_string().replace(':', "_")
        ));
        m.save(&path).unwrap();
        let want = m.predict_with(&x, 8).unwrap().to_vec_f64().unwrap();
        let snapshot = weights_host(&m.weights());
        for scope in std::iter::once(None).chain(devices.iter().copied().map(Some)) {
            let load = || Sequential::<B>::load(&path);
            let (mut l, expected) = match scope {
                None => (load().unwrap(), auto),
                Some(d) => (Device::scope(d, load).unwrap(), d),
            };
            assert_eq!(l.device(), expected, "saved on {saved_on}, scope {scope:?}");
            assert!(all_on(&l.weights(), expected));
            assert_eq!(weights_host(&l.weights()), snapshot, "saved on {saved_on}");
            close(
                &format!("saved on {saved_on}, loaded on {expected}"),
                &l.predict_with(&x, 8).unwrap().to_vec_f64().unwrap(),
                &want,
                1e-4,
            );
            // The optimizer's state came along on the right device: training continues.
            let h = l
                .fit(&x, &y, FitOptions::new().epochs(1).batch_size(8).verbose(0))
                .unwrap();
            assert!(h.get("loss").unwrap()[0].is_finite());
        }
    }
    // The functional model too.
    let f = Device::scope(Device::Cpu, functional::<B>);
    let path = dir.path().join("functional.safetensors");
    f.save(&path).unwrap();
    let l = Model::<B>::load(&path).unwrap();
    assert_eq!(l.device(), auto);
    assert!(all_on(&l.weights(), auto));
    assert_eq!(weights_host(&l.weights()), weights_host(&f.weights()));
    let e = Device::scope(NO_SUCH_DEVICE, || {
        Sequential::<B>::load(dir.path().join("on_cpu.safetensors"))
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("Device::scope"), "{e}");
    if gpu::<B>().is_none() {
        println!("skipped: no CUDA device (saved on CUDA, loaded on the CPU and back)");
    }
    let _ = f.predict_with(
        [&x.narrow(1, 0, 3).unwrap(), &x.narrow(1, 1, 3).unwrap()],
        8,
    );
}

fn device_flag<B: Backend>() {
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let parse = |a: &[&str]| Device::from_arg_list::<B>(args(a));
    let auto = Device::auto::<B>().unwrap();
    assert_eq!(parse(&[]).unwrap(), auto);
    assert_eq!(parse(&["--backend", "candle"]).unwrap(), auto);
    assert_eq!(parse(&["--device", "auto"]).unwrap(), auto);
    assert_eq!(parse(&["--device", "cpu"]).unwrap(), Device::Cpu);
    assert_eq!(
        parse(&["--seed", "3", "--device=CPU"]).unwrap(),
        Device::Cpu
    );
    for bad in [
        &["--device"][..],
        &["--device", "tpu"],
        &["--device=cuda:1000"],
        &["--device", "cuda:x"],
    ] {
        let e = parse(bad).unwrap_err().to_string();
        assert!(e.contains("--device"), "{bad:?}: {e}");
    }
    match gpu::<B>() {
        Some(g) => {
            assert_eq!(parse(&["--device", "cuda"]).unwrap(), g);
            assert_eq!(parse(&["--device", "cuda:0"]).unwrap(), g);
        }
        None => {
            let e = parse(&["--device", "cuda"]).unwrap_err().to_string();
            assert!(
                e.contains("--device") && e.contains("cannot use cuda:0"),
                "{e}"
            );
        }
    }
    assert_eq!(Device::resolve::<B>("cpu", "x").unwrap(), Device::Cpu);
    assert!(Device::resolve::<B>("gpu:0", "STRATANET_X")
        .unwrap_err()
        .to_string()
        .contains("STRATANET_X"));
}

engine_tests!(
    default_placement_is_auto,
    unusable_placement_is_an_error,
    to_device_keeps_weights_and_optimizer_state,
    on_device_after_building,
    model_on_device_round_trip,
    inputs_on_any_device,
    load_lands_on_the_default_placement,
    device_flag,
);
