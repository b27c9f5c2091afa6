//! Shared helpers for the layer fixture tests (tests/conv_layers.rs, norm_layers.rs,
//! shape_layers.rs): loading `tests/fixtures/layers_*.safetensors` (written by
//! `scripts/make_layer_fixtures.py`), running one layer on a case and comparing its output
//! and gradients.
//!
//! Tolerance: |got - want| <= ABS + REL * max(|got|, |want|) with REL 1e-5 and ABS 1e-5:
//! f32 results that differ in rounding and reduction order (convolutions accumulate up to
//! ~50 products per output and the engines use different kernels than torch's).

#![allow(dead_code)]

use safetensors::{Dtype, SafeTensors};
use stratanet::layers::{BuildContext, CallContext, Layer};
use stratanet::{Backend, DType, Device, Tensor};

pub const REL: f64 = 1e-5;
pub const ABS: f64 = 1e-5;

/// One fixture file in memory.
pub struct Fixture {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl Fixture {
    pub fn load(file: &str) -> Self {
        Self {
            name: file.to_string(),
            bytes: crate::common::read_fixture(file, "make_layer_fixtures.py"),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        SafeTensors::deserialize(&self.bytes)
            .unwrap()
            .names()
            .contains(&key)
    }

    pub fn values(&self, key: &str) -> (Vec<usize>, Vec<f64>) {
        let st = SafeTensors::deserialize(&self.bytes).unwrap();
        let v = st
            .tensor(key)
            .unwrap_or_else(|e| panic!("{}: no tensor {key}: {e}", self.name));
        assert_eq!(v.dtype(), Dtype::F32, "{key}");
        let vals = v
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()) as f64)
            .collect();
        (v.shape().to_vec(), vals)
    }

    pub fn tensor<B: Backend>(&self, key: &str) -> Tensor<B> {
        let (shape, v) = self.values(key);
        Tensor::from_vec(v.iter().map(|&x| x as f32).collect::<Vec<f32>>(), &shape).unwrap()
    }
}

/// [`crate::common::assert_all_close`] with this module's tolerance.
pub fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    crate::common::assert_all_close(what, got, want, ABS, REL);
}

/// Asserts `got` matches the fixture tensor `key` (shape and values).
pub fn check<B: Backend>(fx: &Fixture, key: &str, got: &Tensor<B>) {
    let (shape, want) = fx.values(key);
    assert_eq!(got.shape(), shape, "{}: {key}: shape", B::NAME);
    assert_close(
        &format!("{}: {key}", B::NAME),
        &got.to_vec_f64().unwrap(),
        &want,
    );
}

/// Builds `layer` for the case's input, loads the named weights from the fixture, runs it
/// (training or inference) and checks the output, the loss and the gradients with respect
/// to the input and those weights. Returns the layer for further checks.
pub fn run_case<B: Backend, L: Layer<B>>(
    fx: &Fixture,
    case: &str,
    mut layer: L,
    weights: &[&str],
    training: bool,
) -> L {
    run_layer_case(fx, case, &mut layer, weights, training);
    layer
}

/// [`run_case`] in inference mode for each `(case, layer)` row of a table, in order; the
/// failure message of every check names the case.
pub fn run_cases<B: Backend>(
    fx: &Fixture,
    weights: &[&str],
    cases: Vec<(&str, Box<dyn Layer<B>>)>,
) {
    for (case, mut layer) in cases {
        run_layer_case(fx, case, layer.as_mut(), weights, false);
    }
}

/// The `(case, layer)` rows of a [`run_cases`] table: `layer_cases!["c1" => Conv1D::new(2, 4), …]`.
#[allow(unused_macros)]
macro_rules! layer_cases {
    ($($case:literal => $layer:expr),* $(,)?) => {
        vec![$(($case, Box::new($layer))),*]
    };
}

fn run_layer_case<B: Backend>(
    fx: &Fixture,
    case: &str,
    layer: &mut dyn Layer<B>,
    weights: &[&str],
    training: bool,
) {
    let x = fx.tensor::<B>(&format!("{case}/x"));
    let shape = x.shape();
    layer.set_name(case.to_string());
    if !layer.built() {
        let mut ctx = BuildContext::new(Device::Cpu, DType::F32, 0);
        layer.build(&shape[1..], &mut ctx).unwrap();
    }
    let all = layer.weights();
    let mut params = Vec::new();
    for w in weights {
        let found = all
            .iter()
            .find(|x| x.name == *w)
            .unwrap_or_else(|| panic!("{case}: no weight {w}"));
        found
            .value
            .assign(&fx.tensor(&format!("{case}/{w}")))
            .unwrap();
        params.push(found.value.clone());
    }
    let out_shape = layer.output_shape(&shape[1..]).unwrap();
    let xp = x.to_param().unwrap();
    let mut ctx = if training {
        CallContext::training(0)
    } else {
        CallContext::inference()
    };
    let out = layer.call(&xp, &mut ctx).unwrap();
    assert_eq!(out.shape()[1..], out_shape[..], "{case}: output_shape");
    check(fx, &format!("{case}/out"), &out);
    let loss = out
        .mul(&fx.tensor(&format!("{case}/loss_weight")))
        .unwrap()
        .sum_all()
        .unwrap();
    check(fx, &format!("{case}/loss"), &loss);
    let mut wrt = vec![xp];
    wrt.extend(params);
    let grads = loss.grad(&wrt).unwrap();
    for (g, name) in grads.iter().zip(std::iter::once(&"x").chain(weights)) {
        check(
            fx,
            &format!("{case}/grad_{name}"),
            g.as_ref()
                .unwrap_or_else(|| panic!("{case}: no gradient for {name}")),
        );
    }
}

/// `get_config` -> JSON text -> `layer_from_config` gives the same config.
pub fn round_trip<B: Backend>(layer: &dyn Layer<B>) {
    let cfg = layer.get_config();
    let text = serde_json::to_string(&cfg).unwrap();
    let back: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rebuilt = stratanet::layers::layer_from_config::<B>(layer.class_name(), &back)
        .unwrap_or_else(|e| panic!("{}: {e}", layer.class_name()));
    assert_eq!(rebuilt.class_name(), layer.class_name());
    assert_eq!(rebuilt.get_config(), cfg, "{}", layer.class_name());
}

/// Calls `layer` on `x` and returns the error message (panics when it succeeds).
pub fn call_error<B: Backend>(layer: &dyn Layer<B>, x: &Tensor<B>) -> String {
    match layer.call(x, &mut CallContext::inference()) {
        Ok(y) => panic!("expected an error, got shape {:?}", y.shape()),
        Err(e) => e.to_string(),
    }
}
