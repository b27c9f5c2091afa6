//! Reference values from PyTorch: the committed fixtures in `tests/fixtures/` are written by
//! `scripts/make_fixtures.py` (torch 2.11.0; see its docstring for where Keras and PyTorch
//! semantics differ and how the references follow Keras). Every test body is generic over
//! the engine and runs on candle and, with feature `tch`, on libtorch, so a mistake shared
//! by both engines still fails here.
//!
//! Tolerance: relative 1e-5 with an absolute floor of 1e-6 (|got - want| <= 1e-6 + 1e-5 *
//! max(|got|, |want|)): f32 results that differ only in rounding and reduction order. No
//! test needs a looser bound.
//!
//! With `STRATANET_PYTHON` set (as `cargo xtask test` does) `fixtures_are_current` reruns
//! the script into a temporary folder and checks the committed fixtures still match it.

#[macro_use]
mod common;

use safetensors::{Dtype, SafeTensors};
use std::path::{Path, PathBuf};
use stratanet::activations::Activation;
use stratanet::losses::{
    BinaryCrossentropy, CategoricalCrossentropy, Huber, Loss, MeanAbsoluteError, MeanSquaredError,
    SparseCategoricalCrossentropy,
};
use stratanet::optimizers::{Adam, Optimizer, Sgd};
use stratanet::prelude::{Dense, Input};
use stratanet::{Backend, Sequential, Tensor};

const REL: f64 = 1e-5;
const ABS: f64 = 1e-6;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// One `.safetensors` file in memory.
struct Fixture {
    name: String,
    bytes: Vec<u8>,
}

impl Fixture {
    fn load(file: &str) -> Self {
        Self::load_from(&fixtures_dir(), file)
    }

    fn load_from(dir: &Path, file: &str) -> Self {
        let path = dir.join(file);
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run scripts/make_fixtures.py)", path.display()));
        Self {
            name: file.to_string(),
            bytes,
        }
    }

    fn st(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.bytes)
            .unwrap_or_else(|e| panic!("{}: not a safetensors file: {e}", self.name))
    }

    fn names(&self) -> Vec<String> {
        let mut n: Vec<String> = self.st().names().into_iter().map(String::from).collect();
        n.sort();
        n
    }

    fn view<T>(&self, key: &str, f: impl FnOnce(Dtype, &[usize], &[u8]) -> T) -> T {
        let st = self.st();
        let v = st
            .tensor(key)
            .unwrap_or_else(|e| panic!("{}: no tensor {key}: {e}", self.name));
        f(v.dtype(), v.shape(), v.data())
    }

    /// Shape and values of a float tensor (F32 or F64), as `f64`.
    fn values(&self, key: &str) -> (Vec<usize>, Vec<f64>) {
        let st = self.st();
        let v = st
            .tensor(key)
            .unwrap_or_else(|e| panic!("{}: no tensor {key}: {e}", self.name));
        let vals = common::tensor_f64(&format!("{}: {key}", self.name), &v);
        (v.shape().to_vec(), vals)
    }

    fn scalar(&self, key: &str) -> f64 {
        let (shape, v) = self.values(key);
        assert!(shape.is_empty(), "{key}: expected a scalar, got {shape:?}");
        v[0]
    }

    /// The tensor on engine `B` (F32 stays F32, I64 stays I64).
    fn tensor<B: Backend>(&self, key: &str) -> Tensor<B> {
        self.view(key, |dtype, shape, data| match dtype {
            Dtype::F32 => Tensor::from_vec(
                data.chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect::<Vec<f32>>(),
                shape,
            ),
            Dtype::I64 => Tensor::from_vec(
                data.chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
                    .collect::<Vec<i64>>(),
                shape,
            ),
            other => panic!("{}: {key} has unexpected dtype {other:?}", self.name),
        })
        .unwrap()
    }
}

/// Asserts `got` matches the fixture tensor `want` (shape and values).
fn check<B: Backend>(fx: &Fixture, want: &str, got: &Tensor<B>, what: &str) {
    let (shape, expected) = fx.values(want);
    assert_eq!(got.shape(), shape, "{}: {what}: shape", B::NAME);
    let got = got.to_vec_f64().unwrap();
    assert_close(&format!("{}: {what} vs {want}", B::NAME), &got, &expected);
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    common::assert_all_close(what, got, want, ABS, REL);
}

fn grad1<B: Backend>(loss: &Tensor<B>, p: &Tensor<B>) -> Tensor<B> {
    loss.grad(std::slice::from_ref(p)).unwrap()[0]
        .clone()
        .expect("a gradient")
}

// ---------------------------------------------------------------------------- dense

/// Dense(5 -> 3) with PyTorch's Linear weights (kernel = weight^T): outputs and the
/// gradients of `sum(out * w)` with respect to kernel, bias and input.
fn dense<B: Backend>() {
    let fx = Fixture::load("dense.safetensors");
    let mut model = Sequential::<B>::new().with_seed(0);
    model.add(Input::new(&[5])).unwrap();
    model.add(Dense::new(3)).unwrap();
    let weights = model.weights();
    let find = |suffix: &str| {
        weights
            .iter()
            .find(|(n, _)| n.ends_with(suffix))
            .unwrap_or_else(|| panic!("no weight */{suffix}"))
            .1
            .value
            .clone()
    };
    let (kernel, bias) = (find("/kernel"), find("/bias"));
    kernel.assign(&fx.tensor("kernel")).unwrap();
    bias.assign(&fx.tensor("bias")).unwrap();

    let x = fx.tensor::<B>("x");
    check(&fx, "out", &model.predict_with(&x, 4).unwrap(), "predict");

    let xp = x.to_param().unwrap();
    let out = model.call(&xp, false).unwrap();
    check(&fx, "out", &out, "forward");
    let loss = out
        .mul(&fx.tensor("loss_weight"))
        .unwrap()
        .sum_all()
        .unwrap();
    check(&fx, "loss", &loss, "loss");
    let grads = loss.grad(&[kernel, bias, xp]).unwrap();
    for (g, want) in grads.iter().zip(["grad_kernel", "grad_bias", "grad_x"]) {
        check(&fx, want, g.as_ref().expect("a gradient"), want);
    }
}

// ---------------------------------------------------------------------------- activations

/// Every activation: values and the gradient of `sum(act(x) * w)`, on inputs with large
/// magnitudes (and softmax rows that saturate or carry a large offset).
fn activations<B: Backend>() {
    let fx = Fixture::load("activations.safetensors");
    for name in common::fixture_activations() {
        let act = Activation::from_name(name).unwrap();
        let two_d = matches!(act, Activation::Softmax | Activation::LogSoftmax);
        let (xk, wk) = if two_d { ("x2d", "w2d") } else { ("x", "w") };
        let x = fx.tensor::<B>(xk).to_param().unwrap();
        let y = act.apply(&x).unwrap();
        check(&fx, &format!("{name}/out"), &y, name);
        let l = y.mul(&fx.tensor(wk)).unwrap().sum_all().unwrap();
        check(&fx, &format!("{name}/grad"), &grad1(&l, &x), name);
    }
}

// ---------------------------------------------------------------------------- losses

fn loss_by_fixture_name<B: Backend>(name: &str) -> Box<dyn Loss<B>> {
    match name {
        "mse" => Box::new(MeanSquaredError),
        "mae" => Box::new(MeanAbsoluteError),
        "huber" => Box::new(Huber::new(1.0)),
        "binary_crossentropy" => Box::new(BinaryCrossentropy::new()),
        "binary_crossentropy_from_logits" => Box::new(BinaryCrossentropy::new().from_logits(true)),
        "categorical_crossentropy" => Box::new(CategoricalCrossentropy::new()),
        "categorical_crossentropy_from_logits" => {
            Box::new(CategoricalCrossentropy::new().from_logits(true))
        }
        "sparse_categorical_crossentropy" => Box::new(SparseCategoricalCrossentropy::new()),
        "sparse_categorical_crossentropy_from_logits" => {
            Box::new(SparseCategoricalCrossentropy::new().from_logits(true))
        }
        other => panic!("unknown loss fixture {other}"),
    }
}

const LOSSES: [&str; 9] = [
    "mse",
    "mae",
    "huber",
    "binary_crossentropy",
    "binary_crossentropy_from_logits",
    "categorical_crossentropy",
    "categorical_crossentropy_from_logits",
    "sparse_categorical_crossentropy",
    "sparse_categorical_crossentropy_from_logits",
];

/// Every loss: per-sample values, the batch mean and its gradient with respect to y_pred.
fn losses<B: Backend>() {
    let fx = Fixture::load("losses.safetensors");
    for name in LOSSES {
        let loss = loss_by_fixture_name::<B>(name);
        let y_true = fx.tensor::<B>(&format!("{name}/y_true"));
        let y_pred = fx
            .tensor::<B>(&format!("{name}/y_pred"))
            .to_param()
            .unwrap();
        let per = loss.per_sample(&y_true, &y_pred).unwrap();
        check(&fx, &format!("{name}/per_sample"), &per, name);
        let mean = loss.call(&y_true, &y_pred).unwrap();
        check(&fx, &format!("{name}/mean"), &mean, name);
        check(&fx, &format!("{name}/grad"), &grad1(&mean, &y_pred), name);
    }
}

// ---------------------------------------------------------------------------- optimizers

/// 10 steps with fixed gradients: the parameter after every step and the final state
/// (Keras' SGD velocity, Adam's m and v).
fn optimizers<B: Backend>() {
    let fx = Fixture::load("optimizers.safetensors");
    let (gshape, grads) = fx.values("grads");
    let (_, grads_tiny) = fx.values("grads_tiny");
    let steps = gshape[0];
    let pshape = &gshape[1..];
    let per: usize = pshape.iter().product();
    let configs = [
        "sgd",
        "sgd_momentum",
        "sgd_nesterov",
        "sgd_momentum_wd",
        "sgd_nesterov_wd",
        "adam",
        "adam_wd",
        "adam_tiny_grads",
    ];
    for name in configs {
        let h = |k: &str| fx.scalar(&format!("{name}/{k}"));
        let mut opt: Box<dyn Optimizer<B>> = if name.starts_with("sgd") {
            Box::new(
                Sgd::new(h("lr"))
                    .momentum(h("momentum"))
                    .nesterov(h("nesterov") != 0.0)
                    .weight_decay(h("weight_decay")),
            )
        } else {
            Box::new(
                Adam::new(h("lr"))
                    .beta_1(h("beta_1"))
                    .beta_2(h("beta_2"))
                    .epsilon(h("epsilon"))
                    .weight_decay(h("weight_decay")),
            )
        };
        let g_all = if name == "adam_tiny_grads" {
            &grads_tiny
        } else {
            &grads
        };
        let p = fx.tensor::<B>("param0").to_param().unwrap();
        let (_, want) = fx.values(&format!("{name}/params"));
        for t in 0..steps {
            let g: Vec<f32> = g_all[t * per..(t + 1) * per]
                .iter()
                .map(|&v| v as f32)
                .collect();
            let g = Tensor::<B>::from_vec(g, pshape).unwrap();
            opt.apply(std::slice::from_ref(&p), &[Some(g)]).unwrap();
            assert_close(
                &format!("{}: {name}: parameter after step {}", B::NAME, t + 1),
                &p.to_vec_f64().unwrap(),
                &want[t * per..(t + 1) * per],
            );
        }
        assert_eq!(opt.iterations(), steps as u64);
        let vars = opt.variables();
        let var = |k: &str| {
            vars.iter()
                .find(|(n, _)| n == k)
                .unwrap_or_else(|| panic!("{name}: no optimizer variable {k}"))
                .1
                .clone()
        };
        if name.starts_with("sgd") {
            if h("momentum") > 0.0 {
                check(&fx, &format!("{name}/velocity"), &var("momentum/0"), name);
            } else {
                assert!(vars.is_empty(), "{name}: plain SGD keeps no state");
            }
        } else {
            check(&fx, &format!("{name}/m"), &var("m/0"), name);
            check(&fx, &format!("{name}/v"), &var("v/0"), name);
        }
    }
}

// ---------------------------------------------------------------------------- per engine

// ---------------------------------------------------------------------------- the script

/// The committed fixtures are what the committed script writes (needs `STRATANET_PYTHON`,
/// a Python with torch 2.11.0, safetensors and numpy). Ignored in a plain
/// `cargo test`; `cargo xtask test` runs it and fails when the interpreter is missing.
#[test]
#[ignore = "needs Python: run with cargo xtask test (sets STRATANET_PYTHON)"]
fn fixtures_are_current() {
    let out_dir = common::rerun_fixture_script("make_fixtures.py");
    let out = out_dir.path();
    for file in [
        "dense.safetensors",
        "activations.safetensors",
        "losses.safetensors",
        "optimizers.safetensors",
    ] {
        let (committed, fresh) = (Fixture::load(file), Fixture::load_from(out, file));
        assert_eq!(committed.names(), fresh.names(), "{file}: tensor names");
        for key in committed.names() {
            let ((s1, v1), (s2, v2)) = (committed.values(&key), fresh.values(&key));
            assert_eq!(s1, s2, "{file}: {key}: shape");
            assert_close(&format!("{file}: {key} (rerun the script)"), &v2, &v1);
        }
    }
}

engine_tests!(dense, activations, losses, optimizers,);
