//! ONNX export: an MLP, a small CNN (Conv2D / MaxPooling2D / AveragePooling2D /
//! BatchNormalization / Flatten / Dense) and a functional model with a residual `Add` and a
//! `Concatenate` are exported; the files decode with prost and hold the expected operators.
//! The `*_onnxruntime` tests also run each exported file in Python's `onnxruntime`, whose
//! outputs must match `predict` within 1e-5: they are ignored in a plain `cargo test` and
//! run by `cargo xtask test` (which sets `STRATANET_PYTHON`; they fail without it). Each body
//! is generic over the engine and runs on candle and, with feature `tch`, libtorch.

#[macro_use]
mod common;
use common::tmp;

use stratanet::interop::onnx;
use stratanet::interop::torch::StateDict;
use stratanet::layers::{
    Add, AveragePooling2D, BatchNormalization, Concatenate, Conv2D, Dense, Dropout, Flatten, Input,
    MaxPooling2D, Reshape,
};
use stratanet::model::{Apply, Model};
use stratanet::saving::HostTensor;
use stratanet::{Backend, Device, HostData, Sequential, Tensor};

fn ops(path: &std::path::Path) -> Vec<String> {
    let m = onnx::read(path).unwrap();
    assert_eq!(m.ir_version, Some(onnx::IR_VERSION));
    assert_eq!(m.opset_import[0].version, Some(onnx::OPSET));
    m.graph
        .unwrap()
        .node
        .iter()
        .map(|n| n.op_type.clone().unwrap())
        .collect()
}

fn input<B: Backend>(shape: &[usize], seed: u64) -> Tensor<B> {
    Tensor::<B>::normal(shape, 0.0, 1.0, seed, stratanet::DType::F32, Device::Cpu).unwrap()
}

/// Runs the exported model in onnxruntime on `x` and returns the largest difference from
/// `predict` (panics without a working `STRATANET_PYTHON`).
fn onnxruntime_diff<B: Backend>(path: &std::path::Path, x: &Tensor<B>, y: &Tensor<B>) -> f32 {
    let xin = path.with_extension("in.safetensors");
    let yout = path.with_extension("out.safetensors");
    StateDict::from_tensors(vec![("x".into(), HostTensor::from_tensor(x).unwrap())])
        .save(&xin)
        .unwrap();
    let script = "import sys\nimport onnxruntime as ort\nfrom safetensors.numpy import load_file, save_file\n\
s = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])\n\
x = load_file(sys.argv[2])['x']\n\
y = s.run(None, {s.get_inputs()[0].name: x})[0]\n\
save_file({'y': y}, sys.argv[3])\n";
    common::run_python_script(
        &format!("onnxruntime failed on {}", path.display()),
        script,
        &[path.as_os_str(), xin.as_os_str(), yout.as_os_str()],
    );
    let got = StateDict::load(&yout).unwrap();
    let got = got.get("y").unwrap();
    assert_eq!(got.shape, y.shape());
    let HostData::F32(g) = &got.data else {
        panic!("onnxruntime returned {:?}", got.data)
    };
    let want = y.to_vec_f32().unwrap();
    let _ = std::fs::remove_file(&xin);
    let _ = std::fs::remove_file(&yout);
    g.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// With `onnxruntime`, compares the exported file's outputs in onnxruntime with `y`.
fn check<B: Backend>(
    what: &str,
    path: &std::path::Path,
    x: &Tensor<B>,
    y: &Tensor<B>,
    onnxruntime: bool,
) {
    if onnxruntime {
        let d = onnxruntime_diff(path, x, y);
        println!("{}: {what}: max |onnxruntime - predict| = {d:e}", B::NAME);
        assert!(d < 1e-5, "{what}: {d}");
    }
    let _ = std::fs::remove_file(path);
}

fn mlp<B: Backend>(onnxruntime: bool) {
    let mut m = Sequential::<B>::new().with_seed(1);
    m.add(Input::new(&[6])).unwrap();
    m.add(Dense::new(16).activation("relu")).unwrap();
    m.add(Dropout::new(0.3)).unwrap();
    m.add(Dense::new(8).activation("gelu")).unwrap();
    m.add(Dense::new(4).activation("tanh")).unwrap();
    m.add(Reshape::new(&[2, 2])).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(3).activation("softmax")).unwrap();
    let path = tmp("mlp.onnx");
    onnx::export(&m, &path).unwrap();
    let ops = ops(&path);
    for op in [
        "MatMul", "Add", "Relu", "Identity", "Erf", "Tanh", "Reshape", "Flatten", "Softmax",
    ] {
        assert!(ops.iter().any(|o| o == op), "{op} not in {ops:?}");
    }
    let x = input::<B>(&[5, 6], 11);
    let y = m.predict_on_batch(&x).unwrap();
    check("mlp", &path, &x, &y, onnxruntime);
}

fn cnn<B: Backend>(onnxruntime: bool) {
    let mut m = Sequential::<B>::new().with_seed(2);
    m.add(Input::new(&[9, 9, 3])).unwrap();
    m.add(
        Conv2D::<B>::new(4, 3)
            .padding("same")
            .strides(2)
            .activation("relu"),
    )
    .unwrap();
    m.add(MaxPooling2D::new(2).padding("same")).unwrap();
    m.add(Conv2D::<B>::new(5, 2)).unwrap();
    m.add(BatchNormalization::<B>::new()).unwrap();
    m.add(AveragePooling2D::new(1)).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(3)).unwrap();
    // Non-trivial batch-norm statistics and affine parameters.
    let mut w = m.get_weights().unwrap();
    for (name, t) in w.iter_mut() {
        if name.starts_with("batch_normalization/") {
            let HostData::F32(v) = &mut t.data else {
                panic!()
            };
            for (i, x) in v.iter_mut().enumerate() {
                *x = 0.3 + 0.2 * i as f32;
            }
        }
    }
    m.set_weights(&w).unwrap();
    let path = tmp("cnn.onnx");
    onnx::export(&m, &path).unwrap();
    let ops = ops(&path);
    for op in [
        "Transpose",
        "Conv",
        "Relu",
        "MaxPool",
        "AveragePool",
        "Sub",
        "Mul",
        "Flatten",
        "MatMul",
    ] {
        assert!(ops.iter().any(|o| o == op), "{op} not in {ops:?}");
    }
    let x = input::<B>(&[4, 9, 9, 3], 12);
    let y = m.predict_on_batch(&x).unwrap();
    check("cnn", &path, &x, &y, onnxruntime);
}

fn residual<B: Backend>(onnxruntime: bool) {
    stratanet::set_random_seed(5);
    let x = Input::new(&[10]).tensor::<B>();
    let h = Dense::new(8).activation("relu").apply(&x).unwrap();
    let f = Dense::new(8).activation("silu").apply(&h).unwrap();
    let r = Add().apply_multi(&[h.clone(), f]).unwrap();
    let c = Concatenate::new(-1).apply_multi(&[r, h]).unwrap();
    let out = Dense::new(2).activation("sigmoid").apply(&c).unwrap();
    let m = Model::new(&[x], &[out]).unwrap();
    let path = tmp("residual.onnx");
    onnx::export(&m, &path).unwrap();
    let proto = onnx::read(&path).unwrap();
    let g = proto.graph.as_ref().unwrap();
    assert_eq!(g.input[0].name.as_deref(), Some("input_layer"));
    let ops = ops(&path);
    for op in ["MatMul", "Add", "Relu", "Sigmoid", "Mul", "Concat"] {
        assert!(ops.iter().any(|o| o == op), "{op} not in {ops:?}");
    }
    let xv = input::<B>(&[6, 10], 13);
    let y = m.predict_on_batch(&xv).unwrap();
    check("functional residual", &path, &xv, &y, onnxruntime);
}

fn unsupported<B: Backend>() {
    let mut m = Sequential::<B>::new();
    m.add(Input::new(&[5, 3])).unwrap();
    m.add(stratanet::layers::LSTM::<B>::new(4)).unwrap();
    let path = tmp("lstm.onnx");
    let e = onnx::export(&m, &path).unwrap_err().to_string();
    assert!(e.contains("layer 'lstm' (LSTM)"), "{e}");
    assert!(!path.exists());
}

engine_tests!(
    mlp: mlp(false),
    cnn: cnn(false),
    residual: residual(false),
    #[ignore = "needs Python: run with cargo xtask test (sets STRATANET_PYTHON)"]
    mlp_onnxruntime: mlp(true),
    #[ignore = "needs Python: run with cargo xtask test (sets STRATANET_PYTHON)"]
    cnn_onnxruntime: cnn(true),
    #[ignore = "needs Python: run with cargo xtask test (sets STRATANET_PYTHON)"]
    residual_onnxruntime: residual(true),
    unsupported,
);
