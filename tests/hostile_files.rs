//! Hostile model files: a valid checksum (anyone can recompute it) over a config that asks
//! for absurd sizes. Each file must be refused with an error naming the layer and the
//! field, before anything large is allocated: every case runs in well under a second, and
//! the process's peak resident memory stays small.
//!
//! The files are real: a small model is saved, its `model_config` metadata replaced, and
//! the file re-encoded with `saving::to_bytes` (which recomputes the checksum). The same
//! configs given to `Sequential::from_config` / `Model::from_config` directly give the
//! same errors.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use stratanet::prelude::*;
use stratanet::saving;
use stratanet::Backend;

/// Every refusal must come this fast (the checks run before any allocation).
const FAST: Duration = Duration::from_secs(1);

/// A real model file (a small Sequential: 8 -> 4 -> 2, 46 stored values) whose class and
/// config are replaced by `class` and `config_text`, with a valid checksum.
fn hostile_file<B: Backend>(dir: &Path, name: &str, class: &str, config_text: &str) -> PathBuf {
    let mut m = Sequential::<B>::new().with_seed(1);
    m.add(Input::new(&[8])).unwrap();
    m.add(Dense::new(4).name("dense_1")).unwrap();
    m.add(Dense::new(2).name("dense_2")).unwrap();
    let real = dir.join(format!("{name}.real.safetensors"));
    m.save(&real).unwrap();
    let bytes = std::fs::read(&real).unwrap();
    let (tensors, mut meta) = saving::from_bytes(&bytes, "real").unwrap();
    let stored: usize = tensors.iter().map(|(_, t)| t.data.len()).sum();
    assert_eq!(stored, 8 * 4 + 4 + 4 * 2 + 2);
    meta.insert("model_class".into(), class.into());
    meta.insert("model_config".into(), config_text.into());
    meta.remove(saving::CHECKSUM_KEY);
    let out = dir.join(format!("{name}.safetensors"));
    std::fs::write(&out, saving::to_bytes(&tensors, &meta).unwrap()).unwrap();
    // the checksum is valid: the file itself reads back
    saving::load_file(&out).unwrap();
    out
}

/// A Sequential config: `Input(shape)` then `layers` (`(class, config)`).
fn seq(shape: Value, layers: &[(&str, Value)]) -> Value {
    let mut all = vec![
        json!({"class_name": "InputLayer", "config": {"shape": shape, "name": "input_layer"}}),
    ];
    all.extend(
        layers
            .iter()
            .map(|(c, cfg)| json!({"class_name": c, "config": cfg})),
    );
    json!({"name": "hostile", "layers": all})
}

/// A functional config: `Input(shape)` named `x`, then `layers` applied in a chain.
fn functional(shape: Value, layers: &[(&str, Value)]) -> Value {
    let mut ls = Vec::new();
    let mut nodes = vec![json!({"input": "x", "shape": shape})];
    for (i, (c, cfg)) in layers.iter().enumerate() {
        let name = cfg["name"].as_str().unwrap();
        ls.push(json!({"class_name": c, "name": name, "config": cfg}));
        nodes.push(json!({"layer": name, "inputs": [[i, 0]]}));
    }
    json!({"name": "hostile_fn", "layers": ls, "nodes": nodes, "inputs": [0], "outputs": [[layers.len(), 0]]})
}

fn dense(units: Value) -> (&'static str, Value) {
    ("Dense", json!({"name": "dense_1", "units": units}))
}

/// Loads `path` as `class`, expecting a fast refusal whose message holds every `needle`.
fn refused<B: Backend>(path: &Path, class: &str, needles: &[&str]) -> String {
    let t = Instant::now();
    let e = match class {
        "Sequential" => Sequential::<B>::load(path).map(|_| ()),
        _ => Model::<B>::load(path).map(|_| ()),
    }
    .expect_err("a hostile file must be refused");
    let took = t.elapsed();
    let msg = e.to_string();
    assert!(took < FAST, "{path:?}: refusal took {took:?}: {msg}");
    for n in needles {
        assert!(msg.contains(n), "{path:?}: expected {n:?} in: {msg}");
    }
    msg
}

/// `from_config` on `config` directly: the same refusal.
fn refused_direct<B: Backend>(class: &str, config: &Value, needles: &[&str]) {
    let t = Instant::now();
    let e = match class {
        "Sequential" => Sequential::<B>::from_config(config).map(|_| ()),
        _ => Model::<B>::from_config(config).map(|_| ()),
    }
    .expect_err("a hostile config must be refused");
    assert!(t.elapsed() < FAST, "from_config took {:?}", t.elapsed());
    let msg = e.to_string();
    for n in needles {
        assert!(msg.contains(n), "from_config: expected {n:?} in: {msg}");
    }
}

/// Peak resident memory of this process in KiB (Linux), if known.
fn vm_hwm_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The bad sizes of one field, with the words their errors must contain.
fn bad_sizes() -> Vec<(Value, &'static str)> {
    vec![
        (json!(1_000_000_000_000u64), "1000000000000"),
        (json!(1u64 << 62), "4611686018427387904"),
        (json!(-3), "-3"),
        (json!(0), "got 0"),
        (json!(2.5), "2.5"),
        (json!("8"), "\"8\""),
    ]
}

fn size_fields<B: Backend>() {
    let dir = tempfile::TempDir::new().unwrap();
    // The templates are valid with sane sizes: the refusals below come from the sizes.
    let sane: Vec<(&str, Value)> = vec![
        ("Sequential", seq(json!([8]), &[dense(json!(4))])),
        ("Functional", functional(json!([8]), &[dense(json!(4))])),
    ];
    for (class, cfg) in &sane {
        match *class {
            "Sequential" => drop(Sequential::<B>::from_config(cfg).unwrap()),
            _ => drop(Model::<B>::from_config(cfg).unwrap()),
        }
    }
    let mut cases: Vec<(String, &str, Value, Vec<String>)> = Vec::new();
    let mut add = |what: String, class: &'static str, cfg: Value, needles: Vec<String>| {
        cases.push((what, class, cfg, needles));
    };
    for (i, (v, shown)) in bad_sizes().into_iter().enumerate() {
        let n = |layer: &str, field: &str| {
            vec![layer.to_string(), field.to_string(), shown.to_string()]
        };
        add(
            format!("dense_units_{i}"),
            "Sequential",
            seq(json!([8]), &[dense(v.clone())]),
            n("dense_1", "units"),
        );
        add(
            format!("fn_dense_units_{i}"),
            "Functional",
            functional(json!([8]), &[dense(v.clone())]),
            n("dense_1", "units"),
        );
        add(
            format!("input_shape_{i}"),
            "Sequential",
            seq(json!([8, v.clone()]), &[dense(json!(4))]),
            n("input_layer", "shape"),
        );
        add(
            format!("fn_input_shape_{i}"),
            "Functional",
            functional(json!([v.clone()]), &[dense(json!(4))]),
            n("input 'x'", "shape"),
        );
        add(
            format!("embedding_input_dim_{i}"),
            "Sequential",
            seq(
                json!([5]),
                &[(
                    "Embedding",
                    json!({"name": "emb", "input_dim": v.clone(), "output_dim": 4}),
                )],
            ),
            n("emb", "input_dim"),
        );
        add(
            format!("embedding_output_dim_{i}"),
            "Sequential",
            seq(
                json!([5]),
                &[(
                    "Embedding",
                    json!({"name": "emb", "input_dim": 10, "output_dim": v.clone()}),
                )],
            ),
            n("emb", "output_dim"),
        );
        add(
            format!("conv_filters_{i}"),
            "Sequential",
            seq(
                json!([6, 6, 1]),
                &[(
                    "Conv2D",
                    json!({"name": "conv", "filters": v.clone(), "kernel_size": 3}),
                )],
            ),
            n("conv", "filters"),
        );
        add(
            format!("conv_kernel_{i}"),
            "Sequential",
            seq(
                json!([6, 6, 1]),
                &[(
                    "Conv2D",
                    json!({"name": "conv", "filters": 2, "kernel_size": [3, v.clone()]}),
                )],
            ),
            n("conv", "kernel_size"),
        );
        add(
            format!("conv_strides_{i}"),
            "Sequential",
            seq(
                json!([6, 6, 1]),
                &[(
                    "Conv2D",
                    json!({"name": "conv", "filters": 2, "kernel_size": 3, "strides": v.clone()}),
                )],
            ),
            n("conv", "strides"),
        );
        add(
            format!("pool_size_{i}"),
            "Sequential",
            seq(
                json!([6, 6, 1]),
                &[(
                    "MaxPooling2D",
                    json!({"name": "pool", "pool_size": v.clone()}),
                )],
            ),
            n("pool", "pool_size"),
        );
        add(
            format!("lstm_units_{i}"),
            "Sequential",
            seq(
                json!([5, 3]),
                &[("LSTM", json!({"name": "lstm", "units": v.clone()}))],
            ),
            n("lstm", "units"),
        );
        add(
            format!("mha_heads_{i}"),
            "Functional",
            functional(
                json!([5, 4]),
                &[(
                    "MultiHeadAttention",
                    json!({"name": "mha", "num_heads": v.clone(), "key_dim": 2}),
                )],
            ),
            n("mha", "num_heads"),
        );
        add(
            format!("repeat_n_{i}"),
            "Sequential",
            seq(
                json!([4]),
                &[("RepeatVector", json!({"name": "rep", "n": v.clone()}))],
            ),
            n("rep", "n"),
        );
        add(
            format!("reshape_{i}"),
            "Sequential",
            seq(
                json!([4]),
                &[(
                    "Reshape",
                    json!({"name": "resh", "target_shape": [v.clone(), 2]}),
                )],
            ),
            n("resh", "target_shape"),
        );
        add(
            format!("upsampling_{i}"),
            "Sequential",
            seq(
                json!([4, 4, 1]),
                &[("UpSampling2D", json!({"name": "up", "size": v.clone()}))],
            ),
            n("up", "size"),
        );
        add(
            format!("category_encoding_{i}"),
            "Sequential",
            seq(
                json!([3]),
                &[(
                    "CategoryEncoding",
                    json!({"name": "enc", "num_tokens": v.clone()}),
                )],
            ),
            n("enc", "num_tokens"),
        );
        add(
            format!("hashing_{i}"),
            "Sequential",
            seq(
                json!([3]),
                &[("Hashing", json!({"name": "hash", "num_bins": v.clone()}))],
            ),
            n("hash", "num_bins"),
        );
    }
    // ZeroPadding may be 0; negative, fractional and huge paddings are refused.
    for (i, v) in [json!(-1), json!(1.5), json!(1u64 << 40)]
        .into_iter()
        .enumerate()
    {
        add(
            format!("zero_padding_{i}"),
            "Sequential",
            seq(
                json!([4, 4, 1]),
                &[(
                    "ZeroPadding2D",
                    json!({"name": "pad", "padding": [[0, v.clone()], [1, 1]]}),
                )],
            ),
            vec!["pad".into(), "padding".into()],
        );
    }
    // A kernel larger than its input.
    add(
        "kernel_larger_than_input".into(),
        "Sequential",
        seq(
            json!([4, 4, 1]),
            &[(
                "Conv2D",
                json!({"name": "conv", "filters": 2, "kernel_size": 9}),
            )],
        ),
        vec![
            "conv".into(),
            "kernel_size".into(),
            "[9, 9]".into(),
            "[4, 4, 1]".into(),
        ],
    );
    add(
        "pool_larger_than_input".into(),
        "Functional",
        functional(
            json!([4, 4, 1]),
            &[("MaxPooling2D", json!({"name": "pool", "pool_size": 5}))],
        ),
        vec![
            "pool".into(),
            "pool_size".into(),
            "[5, 5]".into(),
            "[4, 4, 1]".into(),
        ],
    );
    // Shapes whose element count overflows: every dimension allowed, the product not.
    let big = (1u64 << 31) - 1;
    add(
        "input_product_overflow".into(),
        "Sequential",
        seq(json!([big, big, big]), &[dense(json!(4))]),
        vec!["input_layer".into(), "shape".into()],
    );
    add(
        "upsampling_overflow".into(),
        "Sequential",
        seq(
            json!([big, 2, 1]),
            &[("UpSampling2D", json!({"name": "up", "size": [big, 1]}))],
        ),
        vec!["up".into(), "output shape".into(), "2147483647".into()],
    );
    // A weight over MAX_WEIGHT_ELEMENTS even with every size in range: [2^20, 2^20].
    add(
        "weight_over_ceiling".into(),
        "Sequential",
        seq(json!([1 << 20]), &[dense(json!(1 << 20))]),
        vec![
            "dense_1 (Dense)".into(),
            "weight".into(),
            "[1048576, 1048576]".into(),
            "4294967296".into(),
        ],
    );

    for (what, class, cfg, needles) in &cases {
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        let path = hostile_file::<B>(dir.path(), what, class, &cfg.to_string());
        refused::<B>(&path, class, &needles);
        refused_direct::<B>(class, cfg, &needles);
    }
    assert!(cases.len() > 100, "{} cases", cases.len());
}

/// Weights that fit every ceiling but not the file: refused before the weight is made.
fn weights_beyond_file<B: Backend>() {
    let dir = tempfile::TempDir::new().unwrap();
    let cases: Vec<(&str, &str, Value, Vec<&str>)> = vec![
        // [100000, 1000] = 10^8 values (800 MB as f64) in a file of 46.
        (
            "dense",
            "Sequential",
            seq(json!([100_000]), &[dense(json!(1000))]),
            vec![
                "dense_1 (Dense)",
                "weight",
                "[100000, 1000]",
                "stores only 46 values",
            ],
        ),
        (
            "fn_dense",
            "Functional",
            functional(json!([100_000]), &[dense(json!(1000))]),
            vec![
                "dense_1 (Dense)",
                "weight",
                "[100000, 1000]",
                "stores only 46 values",
            ],
        ),
        // a huge Embedding table
        (
            "embedding",
            "Sequential",
            seq(
                json!([5]),
                &[(
                    "Embedding",
                    json!({"name": "emb", "input_dim": 1_000_000_000, "output_dim": 4}),
                )],
            ),
            vec![
                "emb (Embedding)",
                "weight",
                "[1000000000, 4]",
                "stores only 46 values",
            ],
        ),
        // within budget for the first layer, beyond it with the second
        (
            "second_layer",
            "Sequential",
            seq(
                json!([8]),
                &[
                    dense(json!(4)),
                    ("Dense", json!({"name": "dense_big", "units": 50_000_000})),
                ],
            ),
            vec![
                "dense_big (Dense)",
                "[4, 50000000]",
                "stores only 46 values",
            ],
        ),
        (
            "conv",
            "Sequential",
            seq(
                json!([6, 6, 1]),
                &[(
                    "Conv2D",
                    json!({"name": "conv", "filters": 1_000_000, "kernel_size": 3}),
                )],
            ),
            vec![
                "conv (Conv2D)",
                "weight",
                "[3, 3, 1, 1000000]",
                "stores only 46 values",
            ],
        ),
        (
            "lstm",
            "Sequential",
            seq(
                json!([5, 3]),
                &[("LSTM", json!({"name": "lstm", "units": 100_000}))],
            ),
            vec![
                "lstm (LSTM)",
                "weight",
                "[3, 400000]",
                "stores only 46 values",
            ],
        ),
        (
            "normalization",
            "Sequential",
            seq(
                json!([100_000_000]),
                &[("Normalization", json!({"name": "norm"}))],
            ),
            vec![
                "norm (Normalization)",
                "weight",
                "[100000000]",
                "stores only 46 values",
            ],
        ),
    ];
    for (what, class, cfg, needles) in &cases {
        let path = hostile_file::<B>(dir.path(), what, class, &cfg.to_string());
        let msg = refused::<B>(&path, class, needles);
        assert!(msg.contains(&path.display().to_string()), "{msg}");
    }
    // The same architecture with weights the file holds loads (and fails only on names).
    let ok = seq(
        json!([8]),
        &[
            dense(json!(4)),
            ("Dense", json!({"name": "dense_2", "units": 2})),
        ],
    );
    let path = hostile_file::<B>(dir.path(), "fits", "Sequential", &ok.to_string());
    Sequential::<B>::load(&path).unwrap();
}

/// A nested model config `depth` levels deep, as text: Sequential > Functional > ... .
fn deep_text(depth: usize) -> String {
    let mut s = String::new();
    for i in 0..depth {
        s.push_str(&format!(
            r#"{{"name": "f{i}", "layers": [{{"class_name": "Functional", "name": "f{}", "config": "#,
            i + 1
        ));
    }
    s.push_str(r#"{"name": "leaf", "layers": [], "nodes": [], "inputs": [], "outputs": []}"#);
    for _ in 0..depth {
        s.push_str(r#"}], "nodes": [], "inputs": [], "outputs": []}"#);
    }
    s
}

/// The config of [`deep_text`] as a `Value`, built by moving (`json!` would clone each
/// level: quadratic).
fn deep_value(depth: usize) -> Value {
    let mut v = json!({"name": "leaf", "layers": [], "nodes": [], "inputs": [], "outputs": []});
    for i in (0..depth).rev() {
        let mut layer = json!({"class_name": "Functional", "name": format!("f{}", i + 1)});
        layer["config"] = v;
        let mut m = json!({"name": format!("f{i}"), "nodes": [], "inputs": [], "outputs": []});
        m["layers"] = Value::Array(vec![layer]);
        v = m;
    }
    v
}

fn nesting_and_not_json<B: Backend>() {
    let dir = tempfile::TempDir::new().unwrap();
    let text = deep_text(10_000);
    for class in ["Functional", "Sequential"] {
        let path = hostile_file::<B>(dir.path(), &format!("deep_{class}"), class, &text);
        refused::<B>(
            &path,
            class,
            &["model_config", "levels", "the limit is 128"],
        );
    }
    for (i, junk) in [
        "this is {not json",
        "",
        "{\"layers\": [",
        "\u{0}\u{1}binary",
    ]
    .into_iter()
    .enumerate()
    {
        let path = hostile_file::<B>(dir.path(), &format!("junk{i}"), "Sequential", junk);
        refused::<B>(&path, "Sequential", &["model_config", "not valid JSON"]);
    }
    // A config built as a Value by code, 10,000 models deep: from_config stops at the
    // depth limit (no recursion through the rest, no clone of it). The Value itself is
    // built and dropped on a thread with a large stack (serde_json drops it recursively).
    std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(|| {
            let v = deep_value(10_000);
            let mut outer = json!({"name": "outer", "layers": [{"class_name": "Functional"}]});
            outer["layers"][0]["config"] = deep_value(10_000);
            let s = outer;
            // from_config runs on a thread with an ordinary stack, so that a deep
            // recursion would show; the Values are shared, not cloned, with it
            let (v, s) = (std::sync::Arc::new(v), std::sync::Arc::new(s));
            let (v2, s2) = (v.clone(), s.clone());
            std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || {
                    refused_direct::<B>(
                        "Functional",
                        &v2,
                        &["f32", "layers", "nested 33 deep", "the limit is 32"],
                    );
                    refused_direct::<B>(
                        "Sequential",
                        &s2,
                        &["f31", "nested 33 deep", "the limit is 32"],
                    );
                })
                .unwrap()
                .join()
                .unwrap();
            drop(s);
            drop(v);
        })
        .unwrap()
        .join()
        .unwrap();
}

fn peak_memory_small() {
    if let Some(kib) = vm_hwm_kib() {
        eprintln!("hostile_files: peak resident memory {} MiB", kib / 1024);
        assert!(kib < 1 << 20, "peak resident memory {kib} KiB");
    }
}

macro_rules! engine_tests {
    ($m:ident, $b:ty) => {
        mod $m {
            #[test]
            fn size_fields() {
                super::size_fields::<$b>();
                super::peak_memory_small();
            }
            #[test]
            fn weights_beyond_file() {
                super::weights_beyond_file::<$b>();
                super::peak_memory_small();
            }
            #[test]
            fn nesting_and_not_json() {
                super::nesting_and_not_json::<$b>();
                super::peak_memory_small();
            }
        }
    };
}

#[cfg(feature = "candle")]
engine_tests!(candle, stratanet::Candle);
#[cfg(feature = "tch")]
engine_tests!(tch, stratanet::Tch);
