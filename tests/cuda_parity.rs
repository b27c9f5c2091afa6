//! CPU <-> CUDA parity on libtorch: the same model, from the same seed (initialisers draw on
//! the host, so the weights are bit-identical on both devices), gives the same outputs,
//! losses, gradients and weights after 5 SGD (momentum) and 5 Adam steps on `Device::Cpu`
//! and on `Device::Cuda(0)`, for every activation and every loss; a small CNN and an LSTM
//! train 5 Adam steps alike; a model saved on one device loads on the other.
//!
//! Tolerance: |cpu - cuda| <= 1e-6 + 1e-4 * max(|cpu|, |cuda|) (cuBLAS and cuDNN sum in other
//! orders than the CPU kernels; the absolute floor covers values that nearly cancel). Each
//! test prints its worst element as a fraction of that bound (`--show-output`).
//!
//! The CNN and LSTM are checked in `f64` against that bound, and in `f32` against a bound 100
//! times wider: libtorch lets cuDNN use TF32 tensor cores for `f32` convolutions and RNNs
//! by default (PyTorch's `torch.backends.cudnn.allow_tf32 = True`, which tch cannot switch
//! off), and TF32 keeps 10 mantissa bits, so `f32` results differ from the CPU's by ~1e-3
//! relative on GPUs that have it. The `f32` worst case is printed beside the `f64` one.
//!
//! Without a CUDA device every test prints "skipped: no CUDA device" and passes.

#![cfg(feature = "tch")]

mod common;
mod parity_support;

use parity_support::{
    activation_cases, data, loss_cases, print_header, print_row, run, snapshot, Case, Snapshot,
    Tolerance, BATCH, STEPS,
};
use stratanet::layers::LSTM;
use stratanet::optimizers::Adam;
use stratanet::prelude::{Dense, Flatten, Input};
use stratanet::random::Rng;
use stratanet::{DType, Device, Sequential, Tch, Tensor};

const TOLERANCE: Tolerance = Tolerance {
    rel: 1e-4,
    abs: 1e-6,
    left: "cpu",
    right: "cuda",
};
/// Extra factor on the bound for `f32` convolutions and RNNs (cuDNN's TF32).
const TF32_FACTOR: f64 = 100.0;

const SEED: u64 = 4242;
const CUDA: Device = Device::Cuda(0);

/// The device compared with the CPU: `Cuda(0)` when libtorch sees one. Without one, `None`
/// (the test prints its skip line and passes), unless `STRATANET_PARITY_SELF_CHECK=1` asks
/// to compare the CPU with itself, which runs every line of the test (what `run.sh` of the
/// GPU pack does on a machine without a GPU, so the test code is exercised before a GPU run).
fn target(test: &str) -> Option<Device> {
    if Device::cuda_if_available::<Tch>() != Device::Cpu {
        return Some(CUDA);
    }
    if std::env::var("STRATANET_PARITY_SELF_CHECK").as_deref() == Ok("1") {
        println!("no CUDA device: self-check, comparing the CPU with itself ({test})");
        return Some(Device::Cpu);
    }
    println!("skipped: no CUDA device ({test})");
    None
}

fn assert_close(what: &str, c: &[f64], g: &[f64], limit: f64) -> f64 {
    TOLERANCE.assert_close(what, c, g, limit)
}

fn assert_weights_close(what: &str, c: &Snapshot, g: &Snapshot, limit: f64) -> f64 {
    TOLERANCE.assert_weights_close(what, c, g, limit)
}

fn check_all(what: &str, cases: Vec<Case>, first_seed: u64, device: Device) {
    println!("worst |cpu - {device}| as a fraction of 1e-6 + 1e-4 * max of the two:");
    print_header();
    let mut overall = 0.0f64;
    for (i, case) in cases.into_iter().enumerate() {
        let d = data(case.loss, first_seed + i as u64);
        let c = run::<Tch>(case, &d, SEED, Device::Cpu);
        let g = run::<Tch>(case, &d, SEED, device);
        let r = TOLERANCE.compare(case, &c, &g);
        overall = r.iter().copied().fold(overall, f64::max);
        print_row(case, &r);
    }
    println!("worst case, {what} (cpu vs {device}): {overall:.3} of the bound");
}

#[test]
fn every_activation_cpu_vs_cuda() {
    if let Some(d) = target("every_activation_cpu_vs_cuda") {
        check_all("every activation", activation_cases(), 100, d);
    }
}

#[test]
fn every_loss_cpu_vs_cuda() {
    if let Some(d) = target("every_loss_cpu_vs_cuda") {
        check_all("every loss", loss_cases(), 200, d);
    }
}

/// Inputs of shape `[BATCH, ..sample]` (standard normal) and sparse labels in `0..classes`.
fn host_batch(sample: &[usize], classes: u64, seed: u64) -> (Vec<f64>, Vec<usize>, Vec<i64>) {
    let mut rng = Rng::new(seed);
    let mut shape = vec![BATCH];
    shape.extend_from_slice(sample);
    let n: usize = shape.iter().product();
    let x = (0..n).map(|_| rng.standard_normal()).collect();
    let y = (0..BATCH).map(|_| rng.below(classes) as i64).collect();
    (x, shape, y)
}

/// Trains `build(device)` for 5 Adam steps on the same batch on both devices; returns the
/// worst difference (fraction of the 1e-4 bound) of the losses and the final weights.
fn train_parity(
    what: &str,
    device: Device,
    build: impl Fn(Device) -> Sequential<Tch>,
    sample: &[usize],
    dtype: DType,
    limit: f64,
) -> f64 {
    let (x, shape, y) = host_batch(sample, 3, 77);
    let on = |device: Device| {
        let xt = Tensor::<Tch>::from_vec_on(x.clone(), &shape, device)
            .unwrap()
            .to_dtype(dtype)
            .unwrap();
        let yt = Tensor::<Tch>::from_vec_on(y.clone(), &[BATCH], device).unwrap();
        let mut m = build(device);
        let initial = snapshot(&m, device);
        m.compile(Adam::new(0.01), "sparse_categorical_crossentropy", &[])
            .unwrap();
        let losses: Vec<f64> = (0..STEPS)
            .map(|_| m.train_on_batch(&xt, &yt).unwrap().get("loss").unwrap())
            .collect();
        let out = m.call(&xt, false).unwrap();
        assert_eq!(out.device(), device, "{what}: output device");
        (
            initial,
            losses,
            out.to_vec_f64().unwrap(),
            snapshot(&m, device),
        )
    };
    let c = on(Device::Cpu);
    let g = on(device);
    assert_eq!(c.0, g.0, "{what}: initial weights differ");
    let r = assert_close(&format!("{what}: losses"), &c.1, &g.1, limit)
        .max(assert_close(&format!("{what}: output"), &c.2, &g.2, limit))
        .max(assert_weights_close(
            &format!("{what}: after {STEPS} Adam steps"),
            &c.3,
            &g.3,
            limit,
        ));
    println!(
        "{what}: worst |cpu - {device}| = {r:.3} of the 1e-4 bound (limit {limit}); losses cpu {:?} {device} {:?}",
        c.1, g.1
    );
    r
}

/// [`train_parity`] of `build` in `f64` (limit 1) and in `f32` (limit [`TF32_FACTOR`]), as
/// "`what` f64" and "`what` f32".
fn both_dtypes(
    what: &str,
    device: Device,
    build: fn(Device, DType) -> Sequential<Tch>,
    sample: &[usize],
) {
    for (name, dtype, limit) in [("f64", DType::F64, 1.0), ("f32", DType::F32, TF32_FACTOR)] {
        let what = format!("{what} {name}");
        train_parity(&what, device, |d| build(d, dtype), sample, dtype, limit);
    }
}

fn cnn(device: Device, dtype: DType) -> Sequential<Tch> {
    use stratanet::layers::{Conv2D, MaxPooling2D};
    let mut m = Sequential::<Tch>::new()
        .with_seed(SEED)
        .on_device(device)
        .with_dtype(dtype);
    m.add(Input::new(&[8, 8, 2])).unwrap();
    m.add(Conv2D::new(4, 3).padding("same").activation("relu"))
        .unwrap();
    m.add(MaxPooling2D::new(2)).unwrap();
    m.add(Conv2D::new(6, 3).activation("tanh")).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(3).activation("softmax")).unwrap();
    m
}

fn lstm(device: Device, dtype: DType) -> Sequential<Tch> {
    let mut m = Sequential::<Tch>::new()
        .with_seed(SEED)
        .on_device(device)
        .with_dtype(dtype);
    m.add(Input::new(&[7, 5])).unwrap();
    m.add(LSTM::<Tch>::new(8)).unwrap();
    m.add(Dense::new(3).activation("softmax")).unwrap();
    m
}

#[test]
fn cnn_cpu_vs_cuda() {
    let Some(dev) = target("cnn_cpu_vs_cuda") else {
        return;
    };
    both_dtypes("cnn", dev, cnn, &[8, 8, 2]);
}

#[test]
fn lstm_cpu_vs_cuda() {
    let Some(dev) = target("lstm_cpu_vs_cuda") else {
        return;
    };
    both_dtypes("lstm", dev, lstm, &[7, 5]);
}

/// A CNN trained on CUDA, saved, loads on the CPU (`Sequential::load`) with the same
/// weights and predictions; weights saved from the CPU load into a model on CUDA.
#[test]
fn save_on_cuda_load_on_cpu_and_back() {
    let Some(dev) = target("save_on_cuda_load_on_cpu_and_back") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (x, shape, y) = host_batch(&[8, 8, 2], 3, 91);
    let xg = Tensor::<Tch>::from_vec_on(x.clone(), &shape, dev)
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap();
    let yg = Tensor::<Tch>::from_vec_on(y, &[BATCH], dev).unwrap();
    let mut g = cnn(dev, DType::F32);
    g.compile(Adam::new(0.01), "sparse_categorical_crossentropy", &[])
        .unwrap();
    for _ in 0..3 {
        g.train_on_batch(&xg, &yg).unwrap();
    }
    let path = dir.path().join("cuda.safetensors");
    g.save(&path).unwrap();

    // `load` lands on the default placement (`Device::auto`: CUDA on a GPU machine); a
    // `Device::scope` puts the model on the CPU.
    let mut c = Device::scope(Device::Cpu, || Sequential::<Tch>::load(&path)).unwrap();
    let wc = snapshot(&c, Device::Cpu);
    let wg = snapshot(&g, dev);
    assert_eq!(wc, wg, "weights saved on CUDA, loaded on the CPU");
    let xc = Tensor::<Tch>::from_vec_on(x, &shape, Device::Cpu)
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap();
    let pc = c.call(&xc, false).unwrap().to_vec_f64().unwrap();
    let pg = g.call(&xg, false).unwrap().to_vec_f64().unwrap();
    let r = assert_close("prediction after CUDA -> CPU load", &pc, &pg, TF32_FACTOR);
    println!("CUDA -> CPU load: weights identical, predictions {r:.3} of the 1e-4 bound");

    // And back: the CPU model's weights into a fresh model on CUDA.
    let wpath = dir.path().join("cpu.weights.safetensors");
    c.save_weights(&wpath).unwrap();
    let mut back = cnn(dev, DType::F32);
    back.load_weights(&wpath).unwrap();
    assert_eq!(
        snapshot(&back, dev),
        wc,
        "weights saved on the CPU, loaded on CUDA"
    );
    println!("CPU -> CUDA load_weights: weights identical");

    // A whole model saved on the CPU loads on the default placement (CUDA when there is one).
    let cpath = dir.path().join("cpu.safetensors");
    c.save(&cpath).unwrap();
    let auto = Device::auto::<Tch>().unwrap();
    let l = Sequential::<Tch>::load(&cpath).unwrap();
    assert_eq!(l.device(), auto);
    assert_eq!(snapshot(&l, auto), wc, "saved on the CPU, loaded on {auto}");
    println!("CPU -> {auto} load: weights identical");
}
