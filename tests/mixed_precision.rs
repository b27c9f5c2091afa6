//! Mixed precision on both engines: the digits MLP and a small CNN trained under
//! `mixed_bfloat16` (and `mixed_float16`) reach the test accuracy of `float32` within
//! 0.01; variables stay `f32` while the layers compute in 16 bits; outputs, the loss and
//! `predict` are `f32`; the policy is saved and restored, the file holds `f32` variables
//! and loads whatever the global policy; a weights file in bf16 loads into an `f32`
//! model. Each body is generic over the engine and runs on candle and, with feature
//! `tch`, on libtorch.
//!
//! Every model here sets its policy with `set_dtype_policy`, never the global policy
//! (tests of one binary share it and run in parallel), except `global_policy_is_taken`,
//! which sets and restores it inside one test and only reads models it made itself.

#[macro_use]
mod common;

use stratanet::layers::{
    Add, CallContext, Conv2D, Dense, Flatten, Input, Layer, LayerDtype, MaxPooling2D,
};
use stratanet::mixed_precision::{self, Policy};
use stratanet::model::{Apply, Model};
use stratanet::optimizers::{Adam, LossScaleOptimizer, Optimizer};
use stratanet::saving::HostTensor;
use stratanet::{datasets, Backend, DType, Device, FitOptions, HostData, Sequential, Tensor};

/// The digits test accuracy of `model` (input `shape` per sample) trained under `policy`
/// with Adam(`lr`) for `epochs` (split and shuffles seeded by `seed`); its variables must
/// stay f32.
fn digits_accuracy<B: Backend>(
    mut model: Sequential<B>,
    policy: Policy,
    shape: &[isize],
    lr: f64,
    epochs: usize,
    seed: u64,
) -> f64 {
    let (x, y) = datasets::digits::<B>(Device::Cpu).unwrap();
    let x = x.reshape(shape).unwrap();
    let (x_train, x_test, y_train, y_test) = datasets::train_test_split(&x, &y, 0.2, seed).unwrap();
    model.set_dtype_policy(policy);
    model
        .compile(
            Adam::new(lr),
            "sparse_categorical_crossentropy",
            &["accuracy"],
        )
        .unwrap();
    let opts = FitOptions::new()
        .epochs(epochs)
        .batch_size(32)
        .seed(seed)
        .verbose(0);
    model.fit(&x_train, &y_train, opts).unwrap();
    for (name, w) in model.weights() {
        assert_eq!(
            w.value.dtype(),
            DType::F32,
            "{name} stays f32 under {policy}"
        );
    }
    let scores = model.evaluate_with(&x_test, &y_test, 128).unwrap();
    scores.get("accuracy").unwrap()
}

/// The test accuracy of the digits MLP of `examples/quickstart.rs` (without dropout),
/// trained for `epochs` under `policy`.
fn mlp_accuracy<B: Backend>(policy: Policy, epochs: usize) -> f64 {
    let mut model = Sequential::<B>::new().with_seed(42);
    model.add(Input::new(&[64])).unwrap();
    model.add(Dense::new(128).activation("relu")).unwrap();
    model.add(Dense::new(64).activation("relu")).unwrap();
    model.add(Dense::new(10).activation("softmax")).unwrap();
    digits_accuracy(model, policy, &[-1, 64], 2e-3, epochs, 42)
}

/// The test accuracy of a small digits CNN trained under `policy`.
fn cnn_accuracy<B: Backend>(policy: Policy) -> f64 {
    let mut model = Sequential::<B>::new().with_seed(7);
    model.add(Input::new(&[8, 8, 1])).unwrap();
    model
        .add(Conv2D::new(16, 3).padding("same").activation("relu"))
        .unwrap();
    model.add(MaxPooling2D::new(2)).unwrap();
    model.add(Flatten::new()).unwrap();
    model.add(Dense::new(10).activation("softmax")).unwrap();
    digits_accuracy(model, policy, &[-1, 8, 8, 1], 3e-3, 8, 7)
}

fn mlp_bf16_matches_f32<B: Backend>() {
    let f32_acc = mlp_accuracy::<B>(Policy::Float32, 20);
    let bf16_acc = mlp_accuracy::<B>(Policy::MixedBFloat16, 20);
    println!(
        "{}: MLP test accuracy f32 {f32_acc:.4}, mixed_bfloat16 {bf16_acc:.4}",
        B::NAME
    );
    assert!(f32_acc > 0.93, "f32 MLP learns: {f32_acc}");
    assert!(
        (bf16_acc - f32_acc).abs() <= 0.01,
        "mixed_bfloat16 {bf16_acc} vs float32 {f32_acc}"
    );
}

fn mlp_f16_matches_f32<B: Backend>() {
    let f32_acc = mlp_accuracy::<B>(Policy::Float32, 20);
    let f16_acc = mlp_accuracy::<B>(Policy::MixedFloat16, 20);
    println!(
        "{}: MLP test accuracy f32 {f32_acc:.4}, mixed_float16 {f16_acc:.4}",
        B::NAME
    );
    assert!(
        (f16_acc - f32_acc).abs() <= 0.01,
        "mixed_float16 {f16_acc} vs float32 {f32_acc}"
    );
}

fn cnn_bf16_matches_f32<B: Backend>() {
    let f32_acc = cnn_accuracy::<B>(Policy::Float32);
    let bf16_acc = cnn_accuracy::<B>(Policy::MixedBFloat16);
    println!(
        "{}: CNN test accuracy f32 {f32_acc:.4}, mixed_bfloat16 {bf16_acc:.4}",
        B::NAME
    );
    assert!(f32_acc > 0.9, "f32 CNN learns: {f32_acc}");
    assert!(
        (bf16_acc - f32_acc).abs() <= 0.01,
        "mixed_bfloat16 {bf16_acc} vs float32 {f32_acc}"
    );
}

/// A built two-layer model under `policy` (input 4, Dense 3 linear, Dense 2 softmax).
fn small<B: Backend>(policy: Policy) -> Sequential<B> {
    let mut m = Sequential::<B>::new().with_seed(3);
    m.set_dtype_policy(policy);
    m.add(Input::new(&[4])).unwrap();
    m.add(Dense::new(3)).unwrap();
    m.add(Dense::new(2).activation("softmax")).unwrap();
    m
}

/// [`small`] under `policy`, compiled (Adam, sparse categorical cross-entropy) and trained
/// one step on [`x4`]; with that batch and its labels.
fn trained_small<B: Backend>(policy: Policy) -> (Sequential<B>, Tensor<B>, Tensor<B>) {
    let mut m = small::<B>(policy);
    m.compile(Adam::new(1e-2), "sparse_categorical_crossentropy", &[])
        .unwrap();
    let x = x4::<B>();
    let y = Tensor::<B>::from_vec(vec![0i64, 1, 1], &[3]).unwrap();
    m.train_on_batch(&x, &y).unwrap();
    (m, x, y)
}

fn x4<B: Backend>() -> Tensor<B> {
    let v: Vec<f32> = (0..12).map(|i| (i as f32 - 5.5) / 4.0).collect();
    Tensor::from_vec(v, &[3, 4]).unwrap()
}

/// Layers compute in the policy's dtype; the model's output, `predict` and the loss are
/// f32 and close to the float32 model's with the same weights.
fn dtypes_inside_and_out<B: Backend>() {
    let mut mixed = small::<B>(Policy::MixedBFloat16);
    let mut plain = small::<B>(Policy::Float32);
    plain.set_weights(&mixed.get_weights().unwrap()).unwrap();
    let x = x4::<B>();
    let pm = mixed.predict_with(&x, 32).unwrap();
    let pp = plain.predict_with(&x, 32).unwrap();
    assert_eq!(
        pm.dtype(),
        DType::F32,
        "predict is f32 under mixed_bfloat16"
    );
    let (a, b) = (pm.to_vec_f32().unwrap(), pp.to_vec_f32().unwrap());
    for (g, w) in a.iter().zip(&b) {
        // Two bf16 layers: a few roundings of 2^-8 relative on values below 1.
        assert!((g - w).abs() <= 0.03, "bf16 {a:?} vs f32 {b:?}");
    }
    assert_ne!(a, b, "the mixed model really computed in bf16");
    // One layer called with the compute dtype set computes in bf16.
    let dense = &mixed.layers()[0];
    let ctx = &mut CallContext::inference().with_compute_dtype(Some(DType::BF16));
    let h = dense.call(&x, ctx).unwrap();
    assert_eq!(h.dtype(), DType::BF16, "Dense under bf16 compute");
    // The loss is f32 and finite.
    mixed
        .compile(Adam::new(1e-3), "sparse_categorical_crossentropy", &[])
        .unwrap();
    let y = Tensor::<B>::from_vec(vec![0i64, 1, 1], &[3]).unwrap();
    let logs = mixed.train_on_batch(&x, &y).unwrap();
    assert!(logs.get("loss").unwrap().is_finite());
    for (name, w) in mixed.weights() {
        assert_eq!(w.value.dtype(), DType::F32, "{name}");
    }
    let s = mixed.summary().unwrap();
    assert!(
        s.contains("Dtype policy: mixed_bfloat16 (variables f32, compute bf16)"),
        "{s}"
    );
    assert!(!plain.summary().unwrap().contains("Dtype policy"));
}

/// Saved under mixed_float16: the file's variables are f32, the policy comes back with
/// the model, and the loaded model predicts exactly what the saved one did.
fn save_and_load_keep_policy_and_f32_variables<B: Backend>() {
    let (m, x, _) = trained_small::<B>(Policy::MixedFloat16);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.safetensors");
    m.save(&path).unwrap();
    let (tensors, meta) = stratanet::saving::load_file(&path).unwrap();
    for (name, t) in &tensors {
        // The loss-scale state is two exact f64 scalars; weights and slots are f32.
        if t.data.dtype().is_float() && !name.starts_with("optimizer/loss_scale/") {
            assert_eq!(t.data.dtype(), DType::F32, "{name} saved as f32");
        }
    }
    assert_eq!(
        meta.get("dtype_policy").map(String::as_str),
        Some("mixed_float16")
    );
    let loaded = Sequential::<B>::load(&path).unwrap();
    assert_eq!(loaded.dtype_policy(), Policy::MixedFloat16);
    let mut loaded = loaded;
    assert_eq!(
        loaded.predict_with(&x, 32).unwrap().to_vec_f32().unwrap(),
        m.predict_with(&x, 32).unwrap().to_vec_f32().unwrap()
    );
    // The same file computes in f32 once told to: the variables are f32 either way.
    loaded.set_dtype_policy(Policy::Float32);
    let p = loaded.predict_with(&x, 32).unwrap();
    assert_eq!(p.dtype(), DType::F32);
    // A float32 model's file has no policy entry.
    let plain = small::<B>(Policy::Float32);
    let p2 = dir.path().join("plain.safetensors");
    plain.save(&p2).unwrap();
    assert!(!stratanet::saving::load_file(&p2)
        .unwrap()
        .1
        .contains_key("dtype_policy"));
}

/// A weights file whose tensors are bf16 (written after casting the variables) loads
/// into an f32 model: the values are widened, exactly.
fn bf16_weights_file_loads<B: Backend>() {
    let m = small::<B>(Policy::Float32);
    let weights = m.get_weights().unwrap();
    let bf16: Vec<(String, HostTensor)> = weights
        .iter()
        .map(|(n, t)| {
            let data = HostData::from_f32(&t.data.to_f32_vec(), DType::BF16);
            (
                n.clone(),
                HostTensor {
                    data,
                    shape: t.shape.clone(),
                },
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bf16_weights.safetensors");
    let meta = [("stratanet_kind".to_string(), "weights".to_string())].into();
    let bytes = stratanet::saving::to_bytes(&bf16, &meta).unwrap();
    stratanet::saving::atomic_write(&path, &bytes).unwrap();
    let mut fresh = small::<B>(Policy::Float32);
    fresh.load_weights(&path).unwrap();
    for ((n, got), (_, want)) in fresh.get_weights().unwrap().iter().zip(&bf16) {
        assert_eq!(got.data.dtype(), DType::F32, "{n} widened to f32");
        assert_eq!(got.data.to_f32_vec(), want.data.to_f32_vec(), "{n}");
    }
}

/// A model made after `set_global_policy` takes that policy; the global policy is
/// restored at the end (no other test reads it).
fn global_policy_is_taken<B: Backend>() {
    let before = mixed_precision::global_policy();
    mixed_precision::set_global_policy("mixed_bfloat16").unwrap();
    let m = Sequential::<B>::new();
    mixed_precision::set_global_policy(before.name()).unwrap();
    assert_eq!(m.dtype_policy(), Policy::MixedBFloat16);
    let e = mixed_precision::set_global_policy("mixed_float8").unwrap_err();
    assert!(e.to_string().contains("mixed_float8"), "{e}");
}

/// Keras' dynamic loss scaling: a non-finite gradient skips the step and halves the
/// scale; finite gradients are unscaled (the step equals the inner optimizer's on the
/// unscaled gradients) and `dynamic_growth_steps` of them in a row double the scale.
fn loss_scale_optimizer_semantics<B: Backend>() {
    let p = |v: f32| {
        Tensor::<B>::from_vec(vec![v, -v], &[2])
            .unwrap()
            .to_param()
            .unwrap()
    };
    let g = |v: f32| Some(Tensor::<B>::from_vec(vec![v, 2.0 * v], &[2]).unwrap());
    let mut lso = LossScaleOptimizer::<B>::new(Box::new(Adam::new(0.1)))
        .dynamic_growth_steps(2)
        .unwrap();
    let mut plain = Adam::<B>::new(0.1);
    assert_eq!(lso.scale(), 32768.0);
    let (a, b) = (p(1.0), p(1.0));
    // inf and NaN: skipped, halved, nothing moves.
    lso.apply(std::slice::from_ref(&a), &[g(f32::INFINITY)])
        .unwrap();
    lso.apply(std::slice::from_ref(&a), &[g(f32::NAN)]).unwrap();
    assert_eq!((lso.scale(), lso.iterations()), (8192.0, 0));
    assert_eq!(a.to_vec_f32().unwrap(), vec![1.0, -1.0]);
    assert!(lso
        .variables()
        .iter()
        .all(|(n, _)| n.starts_with("loss_scale/")));
    // Finite: the inner step on grads / scale; two in a row double the scale.
    for step in 0..2 {
        let s = lso.scale() as f32;
        lso.apply(std::slice::from_ref(&a), &[g(0.5 * s)]).unwrap();
        plain.apply(std::slice::from_ref(&b), &[g(0.5)]).unwrap();
        assert_eq!(
            a.to_vec_f32().unwrap(),
            b.to_vec_f32().unwrap(),
            "step {step}"
        );
    }
    assert_eq!((lso.scale(), lso.iterations()), (16384.0, 2));
    // Its state round-trips through variables / set_variables and get_config.
    let mut back = stratanet::optimizers::from_config::<B>(&lso.get_config()).unwrap();
    back.set_variables(&lso.variables()).unwrap();
    assert_eq!(back.loss_scale(), Some(16384.0));
    assert_eq!(back.get_config(), lso.get_config());
    assert!(LossScaleOptimizer::<B>::new(Box::new(Adam::new(0.1)))
        .initial_scale(0.5)
        .is_err());
}

/// Under `mixed_float16`, `compile` wraps the optimizer in a LossScaleOptimizer (Keras);
/// training moves the weights, and the scale is saved and restored with the model.
fn mixed_float16_compiles_with_loss_scaling<B: Backend>() {
    let mut m = small::<B>(Policy::MixedFloat16);
    m.compile("adam", "sparse_categorical_crossentropy", &[])
        .unwrap();
    let opt = &m.compiled().unwrap().optimizer;
    assert_eq!(opt.name(), "loss_scale_optimizer");
    assert_eq!(opt.loss_scale(), Some(32768.0));
    let before = m.get_weights().unwrap();
    let x = x4::<B>();
    let y = Tensor::<B>::from_vec(vec![0i64, 1, 1], &[3]).unwrap();
    for _ in 0..3 {
        m.train_on_batch(&x, &y).unwrap();
    }
    let after = m.get_weights().unwrap();
    assert_ne!(
        before[0].1.data, after[0].1.data,
        "training moved the kernel"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f16.safetensors");
    m.save(&path).unwrap();
    let loaded = Sequential::<B>::load(&path).unwrap();
    let lo = &loaded.compiled().unwrap().optimizer;
    assert_eq!(lo.name(), "loss_scale_optimizer");
    assert_eq!(
        lo.loss_scale(),
        m.compiled().unwrap().optimizer.loss_scale()
    );
    assert_eq!(
        lo.iterations(),
        m.compiled().unwrap().optimizer.iterations()
    );
    // Under bf16 (f32's range) there is no scaling, as in Keras.
    let mut b = small::<B>(Policy::MixedBFloat16);
    b.compile("adam", "sparse_categorical_crossentropy", &[])
        .unwrap();
    assert_eq!(b.compiled().unwrap().optimizer.name(), "adam");
}

/// A nested functional model computes under its own policy: a float32 model called inside
/// a bf16 computation stays f32 (same values as alone), a mixed one computes in bf16 and
/// hands back f32.
fn nested_model_keeps_its_policy<B: Backend>() {
    let make = |policy: Policy| {
        let x = Input::new(&[4]).tensor::<B>();
        let y = Dense::new(3).apply(&x).unwrap();
        let mut m = Model::new(&[x], &[y]).unwrap();
        m.set_dtype_policy(policy);
        m
    };
    let plain = make(Policy::Float32);
    let x = x4::<B>();
    let alone = plain.call(&x, &mut CallContext::inference()).unwrap();
    let mut bf16_ctx = CallContext::inference().with_compute_dtype(Some(DType::BF16));
    let nested = plain.call(&x, &mut bf16_ctx).unwrap();
    assert_eq!(nested.dtype(), DType::F32);
    assert_eq!(nested.to_vec_f32().unwrap(), alone.to_vec_f32().unwrap());
    assert_eq!(bf16_ctx.compute_dtype(), Some(DType::BF16), "restored");
    let mut mixed = make(Policy::MixedBFloat16);
    mixed.set_weights(&plain.get_weights().unwrap()).unwrap();
    let y = mixed.call(&x, &mut CallContext::inference()).unwrap();
    assert_eq!(y.dtype(), DType::F32, "widened back");
    assert_ne!(
        y.to_vec_f32().unwrap(),
        alone.to_vec_f32().unwrap(),
        "computed in bf16"
    );
}

/// `.dtype(policy)` runs one layer under its own policy: a `float32` last layer in a
/// `mixed_bfloat16` model computes in f32 (its output equals the f32 layer applied to the
/// bf16 hidden values, widened), a bf16 layer in a `float32` model computes in bf16; the
/// policy is in the layer's config and survives `save`/`load`; training runs and keeps
/// the variables f32.
fn per_layer_policy_overrides_the_model<B: Backend>() {
    let x = x4::<B>();
    let make = |model: Policy, last: Option<Policy>| {
        let mut m = Sequential::<B>::new().with_seed(3);
        m.set_dtype_policy(model);
        m.add(Input::new(&[4])).unwrap();
        m.add(Dense::new(3)).unwrap();
        let out = Dense::new(2).activation("softmax");
        match last {
            Some(p) => m.add(out.dtype(p)).unwrap(),
            None => m.add(out).unwrap(),
        };
        m
    };
    let mixed = make(Policy::MixedBFloat16, None);
    let mut f32_last = make(Policy::MixedBFloat16, Some(Policy::Float32));
    f32_last.set_weights(&mixed.get_weights().unwrap()).unwrap();
    let last = &f32_last.layers()[1];
    assert_eq!(last.dtype_policy(), Some(Policy::Float32));
    assert_eq!(last.class_name(), "Dense");
    assert_eq!(last.get_config()["dtype"], "float32");
    assert_eq!(f32_last.layers()[0].dtype_policy(), None);
    // By hand: the first layer in bf16, the last in f32 on the widened hidden values.
    let bf16_ctx = &mut CallContext::inference().with_compute_dtype(Some(DType::BF16));
    let h = f32_last.layers()[0].call(&x, bf16_ctx).unwrap();
    assert_eq!(h.dtype(), DType::BF16);
    let plain_ctx = &mut CallContext::inference();
    let want = mixed.layers()[1]
        .call(&h.to_dtype(DType::F32).unwrap(), plain_ctx)
        .unwrap();
    let got = f32_last.predict_with(&x, 32).unwrap();
    assert_eq!(got.dtype(), DType::F32);
    assert_eq!(got.to_vec_f32().unwrap(), want.to_vec_f32().unwrap());
    assert_ne!(
        got.to_vec_f32().unwrap(),
        mixed.predict_with(&x, 32).unwrap().to_vec_f32().unwrap(),
        "the all-bf16 model differs in its last layer"
    );
    // A bf16 layer inside a float32 model: output f32, close to but not the f32 model's.
    let plain = make(Policy::Float32, None);
    let mut bf16_last = make(Policy::Float32, Some(Policy::MixedBFloat16));
    bf16_last
        .set_weights(&plain.get_weights().unwrap())
        .unwrap();
    let (a, b) = (
        bf16_last.predict_with(&x, 32).unwrap(),
        plain.predict_with(&x, 32).unwrap(),
    );
    assert_eq!(
        a.dtype(),
        DType::F32,
        "a bf16 last layer's output is widened"
    );
    let (a, b) = (a.to_vec_f32().unwrap(), b.to_vec_f32().unwrap());
    assert_ne!(a, b);
    for (g, w) in a.iter().zip(&b) {
        assert!((g - w).abs() <= 0.02, "{a:?} vs {b:?}");
    }
    // Saved and loaded with the model.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("per_layer.safetensors");
    f32_last.save(&path).unwrap();
    let back = Sequential::<B>::load(&path).unwrap();
    assert_eq!(back.layers()[1].dtype_policy(), Some(Policy::Float32));
    assert_eq!(
        back.predict_with(&x, 32).unwrap().to_vec_f32().unwrap(),
        f32_last.predict_with(&x, 32).unwrap().to_vec_f32().unwrap()
    );
    // It trains; the variables stay f32.
    f32_last
        .compile(Adam::new(1e-2), "sparse_categorical_crossentropy", &[])
        .unwrap();
    let y = Tensor::<B>::from_vec(vec![0i64, 1, 1], &[3]).unwrap();
    let first = f32_last
        .train_on_batch(&x, &y)
        .unwrap()
        .get("loss")
        .unwrap();
    for _ in 0..20 {
        f32_last.train_on_batch(&x, &y).unwrap();
    }
    let later = f32_last
        .train_on_batch(&x, &y)
        .unwrap()
        .get("loss")
        .unwrap();
    assert!(later < first, "loss {first} -> {later}");
    for (name, w) in f32_last.weights() {
        assert_eq!(w.value.dtype(), DType::F32, "{name}");
    }
}

/// In a functional model, branches under different policies meet in a merge: `Add` of a
/// bf16 branch and an f32 branch works under either model policy.
fn merge_of_mixed_branches<B: Backend>() {
    for model_policy in [Policy::MixedBFloat16, Policy::Float32] {
        let x = Input::new(&[4]).tensor::<B>();
        let a = Dense::new(3).apply(&x).unwrap();
        let b = Dense::new(3).dtype(Policy::Float32).apply(&x).unwrap();
        let c = Dense::new(3)
            .dtype(Policy::MixedBFloat16)
            .apply(&x)
            .unwrap();
        let s = Add().apply_multi(&[a, b, c]).unwrap();
        let mut m = Model::new(&[x], &[s]).unwrap();
        m.set_dtype_policy(model_policy);
        let y = m.predict_with(x4::<B>(), 32).unwrap();
        assert_eq!(y.dtype(), DType::F32, "{model_policy}");
        assert!(y.to_vec_f32().unwrap().iter().all(|v| v.is_finite()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("branches.safetensors");
        m.save(&path).unwrap();
        let back = Model::<B>::load(&path).unwrap();
        let config = back.get_config().to_string();
        assert!(
            config.contains(r#""dtype":"float32""#)
                && config.contains(r#""dtype":"mixed_bfloat16""#),
            "{config}"
        );
        assert_eq!(
            back.predict_with(x4::<B>(), 32)
                .unwrap()
                .to_vec_f32()
                .unwrap(),
            y.to_vec_f32().unwrap()
        );
    }
}

/// A layer config's `"dtype"` is read as a policy: stratanet's string, Keras 3's
/// `DTypePolicy` object; anything else is an error naming the layer and the field.
fn dtype_in_layer_configs<B: Backend>() {
    use stratanet::model::layer_from_config;
    let l = layer_from_config::<B>(
        "Dense",
        &serde_json::json!({"units": 2, "dtype": "mixed_float16"}),
    )
    .unwrap();
    assert_eq!(l.dtype_policy(), Some(Policy::MixedFloat16));
    let keras = serde_json::json!({"units": 2, "dtype": {"module": "keras",
        "class_name": "DTypePolicy", "config": {"name": "mixed_bfloat16"}}});
    let l = layer_from_config::<B>("Dense", &keras).unwrap();
    assert_eq!(l.dtype_policy(), Some(Policy::MixedBFloat16));
    assert_eq!(
        layer_from_config::<B>("Dense", &serde_json::json!({"units": 2}))
            .unwrap()
            .dtype_policy(),
        None
    );
    for bad in [serde_json::json!("float8"), serde_json::json!(3)] {
        let e = layer_from_config::<B>("Dense", &serde_json::json!({"units": 2, "dtype": bad}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Dense.dtype"), "{e}");
    }
}

/// `cast_variables(BF16)` then `save` writes a bf16 file half the size; it loads (a
/// Sequential with bf16 variables predicting exactly as the cast model, a functional
/// model with the values widened to f32) and training continues; a non-float dtype is
/// refused.
fn cast_variables_and_save_bf16<B: Backend>() {
    let (mut m, x, y) = trained_small::<B>(Policy::MixedBFloat16);
    let dir = tempfile::tempdir().unwrap();
    let f32_path = dir.path().join("f32.safetensors");
    m.save(&f32_path).unwrap();
    let before = m.predict_with(&x, 32).unwrap().to_vec_f32().unwrap();
    let e = m.cast_variables(DType::I64).unwrap_err().to_string();
    assert!(e.contains("cast_variables(dtype)"), "{e}");
    m.cast_variables(DType::BF16).unwrap();
    for (name, w) in m.weights() {
        assert_eq!(w.value.dtype(), DType::BF16, "{name}");
    }
    // (Softmax runs in f32 after a 16-bit layer, so this model's output is f32.)
    let p = m.predict_with(&x, 32).unwrap();
    let cast_pred = p.to_vec_f32().unwrap();
    for (g, w) in cast_pred.iter().zip(&before) {
        assert!((g - w).abs() <= 0.03, "{cast_pred:?} vs {before:?}");
    }
    let path = dir.path().join("bf16.safetensors");
    m.save(&path).unwrap();
    let (tensors, _) = stratanet::saving::load_file(&path).unwrap();
    for (name, t) in &tensors {
        if !name.starts_with("optimizer/loss_scale/") && t.data.dtype().is_float() {
            assert_eq!(t.data.dtype(), DType::BF16, "{name} saved as bf16");
        }
    }
    let (big, small_size) = (
        std::fs::metadata(&f32_path).unwrap().len(),
        std::fs::metadata(&path).unwrap().len(),
    );
    assert!(
        small_size < big,
        "bf16 file {small_size} B, f32 file {big} B"
    );
    let mut back = Sequential::<B>::load(&path).unwrap();
    for (name, w) in back.weights() {
        assert_eq!(w.value.dtype(), DType::BF16, "{name}");
    }
    assert_eq!(
        back.predict_with(&x, 32).unwrap().to_vec_f32().unwrap(),
        cast_pred
    );
    let loss = back.train_on_batch(&x, &y).unwrap().get("loss").unwrap();
    assert!(loss.is_finite(), "training continues in bf16: {loss}");
    // A functional model's bf16 file loads with the values widened to f32.
    let xi = Input::new(&[4]).tensor::<B>();
    let out = Dense::new(2).apply(&xi).unwrap();
    let mut f = Model::new(&[xi], &[out]).unwrap();
    f.cast_variables(DType::BF16).unwrap();
    let fpath = dir.path().join("functional_bf16.safetensors");
    f.save(&fpath).unwrap();
    let fb = Model::<B>::load(&fpath).unwrap();
    for ((n, got), (_, want)) in fb
        .get_weights()
        .unwrap()
        .iter()
        .zip(&f.get_weights().unwrap())
    {
        assert_eq!(got.data.to_f32_vec(), want.data.to_f32_vec(), "{n}");
    }
}

engine_tests!(
    per_layer_policy_overrides_the_model,
    merge_of_mixed_branches,
    dtype_in_layer_configs,
    cast_variables_and_save_bf16,
    nested_model_keeps_its_policy,
    loss_scale_optimizer_semantics,
    mixed_float16_compiles_with_loss_scaling,
    mlp_bf16_matches_f32,
    mlp_f16_matches_f32,
    cnn_bf16_matches_f32,
    dtypes_inside_and_out,
    save_and_load_keep_policy_and_f32_variables,
    bf16_weights_file_loads,
    global_policy_is_taken,
);
