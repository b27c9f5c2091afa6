//! PyTorch import: state_dicts written by `safetensors.torch.save_file` from torch.nn models
//! (`scripts/make_torch_import_fixture.py` -> `tests/fixtures/torch_import_*.safetensors`)
//! load into equivalent stratanet models and predict what torch predicted (within 1e-5).
//! The CNN is an ordinary NCHW torch model; stratanet runs it channels-last and the
//! importer permutes the first Dense kernel's rows (Layout::LinearAfterNchwFlatten).
//! Each body is generic over the engine and runs on candle and, with feature `tch`, libtorch.

#[macro_use]
mod common;

use stratanet::interop::torch::{import_torch_state_dict, Layout, NameMap, StateDict};
use stratanet::layers::{BatchNormalization, Conv2D, Dense, Flatten, Input, MaxPooling2D};
use stratanet::{Backend, Device, Error, Sequential, Tensor};

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn io<B: Backend>(name: &str) -> Tensor<B> {
    let sd = StateDict::load(fixture("torch_import_io.safetensors")).unwrap();
    sd.get(name).unwrap().to_tensor::<B>(Device::Cpu).unwrap()
}

fn max_diff<B: Backend>(a: &Tensor<B>, b: &Tensor<B>) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.to_vec_f32()
        .unwrap()
        .iter()
        .zip(b.to_vec_f32().unwrap())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn mlp<B: Backend>() -> Sequential<B> {
    let mut m = Sequential::<B>::new().with_seed(3);
    m.add(Input::new(&[6])).unwrap();
    m.add(Dense::new(16).activation("relu")).unwrap();
    m.add(Dense::new(8).activation("tanh")).unwrap();
    m.add(Dense::new(3)).unwrap();
    m
}

fn cnn<B: Backend>() -> Sequential<B> {
    let mut m = Sequential::<B>::new().with_seed(3);
    m.add(Input::new(&[8, 8, 3])).unwrap();
    m.add(Conv2D::<B>::new(4, 3).padding("same").activation("relu"))
        .unwrap();
    m.add(MaxPooling2D::new(2)).unwrap();
    m.add(Conv2D::<B>::new(6, 3)).unwrap();
    m.add(BatchNormalization::<B>::new().epsilon(1e-5)).unwrap();
    m.add(stratanet::layers::ActivationLayer::new("relu"))
        .unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(10).activation("relu")).unwrap();
    m.add(Dense::new(3)).unwrap();
    m
}

fn mlp_matches_torch<B: Backend>() {
    let path = fixture("torch_import_mlp.safetensors");
    let mut m = mlp::<B>();
    let map = NameMap::by_order(&m, &StateDict::load(&path).unwrap()).unwrap();
    assert_eq!(
        map,
        NameMap::new()
            .map("0.weight", "dense/kernel", Layout::Linear)
            .map("0.bias", "dense/bias", Layout::Identity)
            .map("2.weight", "dense_1/kernel", Layout::Linear)
            .map("2.bias", "dense_1/bias", Layout::Identity)
            .map("4.weight", "dense_2/kernel", Layout::Linear)
            .map("4.bias", "dense_2/bias", Layout::Identity)
    );
    import_torch_state_dict(&mut m, &path, &map).unwrap();
    let y = m.predict_on_batch(io::<B>("mlp_x")).unwrap();
    let d = max_diff(&y, &io::<B>("mlp_y"));
    println!("{}: MLP max |stratanet - torch| = {d:e}", B::NAME);
    assert!(d < 1e-5, "{d}");
}

fn cnn_matches_torch<B: Backend>() {
    let path = fixture("torch_import_cnn.safetensors");
    let mut m = cnn::<B>();
    let sd = StateDict::load(&path).unwrap();
    let map = NameMap::by_order(&m, &sd).unwrap();
    let layouts: Vec<(&str, Layout)> = map
        .entries
        .iter()
        .map(|e| (e.torch.as_str(), e.layout))
        .collect();
    assert!(layouts.contains(&("0.weight", Layout::Conv2d)));
    assert!(layouts.contains(&("7.weight", Layout::LinearAfterNchwFlatten { channels: 6 })));
    assert!(layouts.contains(&("9.weight", Layout::Linear)));
    assert!(map
        .entries
        .iter()
        .any(|e| e.torch == "4.running_var" && e.target == "batch_normalization/moving_variance"));
    sd.import_into(&mut m, &map).unwrap();
    let y = m.predict_on_batch(io::<B>("cnn_x")).unwrap();
    let d = max_diff(&y, &io::<B>("cnn_y"));
    println!("{}: CNN max |stratanet - torch| = {d:e}", B::NAME);
    assert!(d < 1e-5, "{d}");

    // Without the flatten-order permutation the predictions differ: the layout matters.
    let mut wrong = cnn::<B>();
    let plain = NameMap::by_order_nhwc_flatten(&wrong, &sd).unwrap();
    sd.import_into(&mut wrong, &plain).unwrap();
    let y = wrong.predict_on_batch(io::<B>("cnn_x")).unwrap();
    assert!(max_diff(&y, &io::<B>("cnn_y")) > 1e-3);
}

fn message(e: Error) -> String {
    e.to_string()
}

fn errors<B: Backend>() {
    let path = fixture("torch_import_mlp.safetensors");
    let sd = StateDict::load(&path).unwrap();
    let mut m = mlp::<B>();
    let before = m.get_weights().unwrap();
    let full = NameMap::by_order(&m, &sd).unwrap();

    // Missing torch tensor, unexpected torch tensor, unmapped model weight.
    let mut partial = full.clone();
    partial.entries.retain(|e| e.torch != "4.bias");
    partial = partial.map("5.bias", "dense_2/bias", Layout::Identity);
    let e = message(import_torch_state_dict(&mut m, &path, &partial).unwrap_err());
    assert!(e.contains("missing from the state_dict: 5.bias"), "{e}");
    assert!(
        e.contains("unexpected in the state_dict (not in the name map): 4.bias"),
        "{e}"
    );

    let mut unmapped = full.clone();
    unmapped.entries.retain(|e| e.torch != "4.bias");
    let e = message(sd.import_into(&mut m, &unmapped).unwrap_err());
    assert!(
        e.contains("model weights with no torch tensor mapped to them: dense_2/bias"),
        "{e}"
    );
    assert!(e.contains("4.bias"), "{e}");

    // Unknown target, wrong layout (shape mismatch names both shapes).
    let mut bad = full.clone();
    bad.entries[0].layout = Layout::Identity;
    bad.entries[1].target = "dense/nope".into();
    let e = message(sd.import_into(&mut m, &bad).unwrap_err());
    assert!(
        e.contains("mis-shaped: 0.weight [16, 6] -> dense/kernel"),
        "{e}"
    );
    assert!(e.contains("model [6, 16]"), "{e}");
    assert!(e.contains("not weights of the model: dense/nope"), "{e}");
    let mut conv_on_linear = full.clone();
    conv_on_linear.entries[0].layout = Layout::Conv2d;
    let e = message(sd.import_into(&mut m, &conv_on_linear).unwrap_err());
    assert!(e.contains("rank 4"), "{e}");

    // Nothing was written by the failed imports.
    assert_eq!(m.get_weights().unwrap(), before);

    // Architectures that do not line up.
    let cnn_sd = StateDict::load(fixture("torch_import_cnn.safetensors")).unwrap();
    let e = message(NameMap::by_order(&m, &cnn_sd).unwrap_err());
    assert!(
        e.contains("lines up with layer 'dense' of another kind"),
        "{e}"
    );
    let mut small = Sequential::<B>::new();
    small.add(Input::new(&[6])).unwrap();
    small.add(Dense::new(16)).unwrap();
    let e = message(NameMap::by_order(&small, &sd).unwrap_err());
    assert!(
        e.contains("3 torch modules with weights but 1 stratanet layers"),
        "{e}"
    );

    // Unbuilt model, foreign file.
    let mut unbuilt = Sequential::<B>::new();
    unbuilt.add(Dense::new(3)).unwrap();
    let e = message(import_torch_state_dict(&mut unbuilt, &path, &full).unwrap_err());
    assert!(e.contains("build it"), "{e}");
    let junk = common::tmp("junk.safetensors");
    std::fs::write(&junk, b"not a safetensors file at all").unwrap();
    let e = message(StateDict::load(&junk).unwrap_err());
    assert!(e.contains("not a valid safetensors file"), "{e}");
}

engine_tests!(mlp_matches_torch, cnn_matches_torch, errors,);
