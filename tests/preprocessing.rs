//! Preprocessing layers against Keras 3 (`scripts/make_preprocessing_fixtures.py` ->
//! `tests/fixtures/preprocessing.json`, keras 3.15.1 + tensorflow 2.21.0): Normalization
//! statistics (also vs numpy) and outputs, Discretization boundaries (Keras' approximate
//! quantile algorithm, bit for bit) and encodings, CategoryEncoding, IntegerLookup and
//! StringLookup vocabularies / lookups / inversions, FarmHash Fingerprint64 and SipHash
//! against TensorFlow's hash buckets, Hashing layers; models holding preprocessing layers
//! predict identically after save/load. Runs on candle and, with feature `tch`, libtorch.

#[macro_use]
mod common;
use common::{nums, tmp};

use serde_json::Value;
use stratanet::layers::{
    fingerprint64, siphash24, CallContext, CategoryEncoding, Dense, Discretization, Flatten,
    Hashing, Input, IntegerLookup, Layer, MaskValue, Normalization, OutputMode, StringLookup,
};
use stratanet::tabular::StringLookupColumns;
use stratanet::{Backend, Device, Error, Sequential, Tensor};

fn fixtures() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/preprocessing.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Flattens nested JSON number lists; returns (values, shape).
/// An integer tensor's values as `f64`, to compare with the fixtures' JSON numbers.
fn i64s<B: Backend>(t: &Tensor<B>) -> Vec<f64> {
    t.to_vec_i64()
        .unwrap()
        .into_iter()
        .map(|v| v as f64)
        .collect()
}

fn f32_tensor<B: Backend>(v: &Value) -> Tensor<B> {
    let (x, s) = nums(v);
    Tensor::from_vec(x.into_iter().map(|v| v as f32).collect::<Vec<_>>(), &s).unwrap()
}

fn i64_tensor<B: Backend>(v: &Value) -> Tensor<B> {
    let (x, s) = nums(v);
    Tensor::from_vec(x.into_iter().map(|v| v as i64).collect::<Vec<_>>(), &s).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn opt_strs(v: &[String]) -> Vec<Option<&str>> {
    v.iter().map(|s| Some(s.as_str())).collect()
}

fn close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (*g as f64 - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: got {g}, want {w}"
        );
    }
}

fn run<B: Backend, L: Layer<B>>(l: &L, x: &Tensor<B>) -> Tensor<B> {
    l.call(x, &mut CallContext::inference()).unwrap()
}

fn run_err<B: Backend, L: Layer<B>>(l: &L, x: &Tensor<B>) -> String {
    l.call(x, &mut CallContext::inference())
        .unwrap_err()
        .to_string()
}

fn normalization<B: Backend>() {
    let fx = fixtures();
    let n = &fx["normalization"];
    let a = &n["adapt"];
    let mut l = Normalization::<B>::new();
    l.adapt(&f32_tensor(&a["x"])).unwrap();
    let mean = l.mean_values().unwrap().unwrap();
    let var = l.variance_values().unwrap().unwrap();
    close(&mean, &nums(&a["mean"]).0, 1e-6, "mean vs keras");
    close(&var, &nums(&a["variance"]).0, 1e-6, "variance vs keras");
    close(&mean, &nums(&a["numpy_mean"]).0, 1e-6, "mean vs numpy");
    close(&var, &nums(&a["numpy_var"]).0, 1e-6, "variance vs numpy");
    assert_eq!(var[2], 0.0, "constant feature");
    let y = run(&l, &f32_tensor::<B>(&a["y"]));
    // constant feature: (y - 5) / 1e-7, Keras' epsilon guard
    close(
        &y.to_vec_f32().unwrap(),
        &nums(&a["out"]).0,
        1e-5,
        "normalized",
    );
    let params: usize = l.weights().iter().map(|w| w.value.numel()).sum();
    assert_eq!(params, a["param_count"].as_u64().unwrap() as usize);
    assert!(l.weights().iter().all(|w| !w.trainable));
    let names: Vec<String> = l.weights().into_iter().map(|w| w.name).collect();
    assert_eq!(names, ["mean", "variance", "count"]);

    let mut inv = Normalization::<B>::new().invert(true);
    inv.adapt(&f32_tensor(&n["invert"]["x"])).unwrap();
    let y = run(&inv, &f32_tensor::<B>(&n["invert"]["y"]));
    close(
        &y.to_vec_f32().unwrap(),
        &nums(&n["invert"]["out"]).0,
        1e-5,
        "inverted",
    );

    // streaming adapt: Keras' running merge over three batches
    let b = &n["batches"];
    let mut s = Normalization::<B>::new();
    s.adapt_batches(b["batches"].as_array().unwrap().iter().map(f32_tensor::<B>))
        .unwrap();
    close(
        &s.mean_values().unwrap().unwrap(),
        &nums(&b["mean"]).0,
        1e-6,
        "stream mean",
    );
    close(
        &s.variance_values().unwrap().unwrap(),
        &nums(&b["variance"]).0,
        1e-5,
        "stream var",
    );

    // given statistics on a rank-3 input: no weights
    let g = &n["given"];
    let mut gl =
        Normalization::<B>::new().mean_variance(&nums(&g["mean"]).0, &nums(&g["variance"]).0);
    let x = f32_tensor::<B>(&g["x"]);
    gl.build(
        &x.shape()[1..],
        &mut stratanet::layers::BuildContext::new(Device::Cpu, stratanet::DType::F32, 0),
    )
    .unwrap();
    assert!(gl.weights().is_empty());
    close(
        &run(&gl, &x).to_vec_f32().unwrap(),
        &nums(&g["out"]).0,
        1e-6,
        "given",
    );

    // axis=None: one scalar mean/variance
    let an = &n["axis_none"];
    let mut al = Normalization::<B>::new().axis_none();
    al.adapt(&f32_tensor(&an["x"])).unwrap();
    close(
        &al.mean_values().unwrap().unwrap(),
        &[an["mean"].as_f64().unwrap()],
        1e-6,
        "scalar mean",
    );
    close(
        &al.variance_values().unwrap().unwrap(),
        &[an["variance"].as_f64().unwrap()],
        1e-6,
        "scalar var",
    );
    close(
        &run(&al, &f32_tensor::<B>(&a["y"])).to_vec_f32().unwrap(),
        &nums(&an["out"]).0,
        1e-5,
        "axis none",
    );
    // config round trip
    let back = Normalization::<B>::from_config(&Layer::<B>::get_config(&gl)).unwrap();
    assert_eq!(Layer::<B>::get_config(&back), Layer::<B>::get_config(&gl));
}

fn normalization_errors<B: Backend>() {
    let x = Tensor::<B>::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    // never adapted: clear error at call
    let mut m = Sequential::<B>::new();
    m.add(Input::new(&[2])).unwrap();
    m.add(Normalization::<B>::new()).unwrap();
    let e = m.predict_with(&x, 8).unwrap_err();
    assert!(matches!(e, Error::NotReady { .. }), "{e}");
    assert!(
        e.to_string().contains("normalization") && e.to_string().contains("adapt"),
        "{e}"
    );
    // adapt with other feature counts than built
    let mut l = Normalization::<B>::new().name("norm");
    l.adapt(&x).unwrap();
    let y = Tensor::<B>::from_vec(vec![1.0f32, 2.0, 3.0], &[1, 3]).unwrap();
    let e = l.adapt(&y).unwrap_err();
    assert!(
        e.to_string().contains("norm") && e.to_string().contains("[1, 3]"),
        "{e}"
    );
    let e = run_err(&l, &y);
    assert!(e.contains("norm") && e.contains("[1, 3]"), "{e}");
    // given statistics: adapt is refused, a wrong length is reported at build
    let mut g = Normalization::<B>::new()
        .mean_variance(&[1.0, 2.0, 3.0], &[1.0, 1.0, 1.0])
        .name("g");
    assert!(g
        .adapt(&x)
        .unwrap_err()
        .to_string()
        .contains("mean and variance"));
    let mut m = Sequential::<B>::new();
    m.add(Input::new(&[2])).unwrap();
    let e = m.add(g).unwrap_err();
    assert!(
        e.to_string().contains("g: invalid mean") && e.to_string().contains("expected 1 or 2"),
        "{e}"
    );
    let e =
        Normalization::<B>::new().adapt(&Tensor::from_vec(vec![f32::NAN, 1.0], &[2, 1]).unwrap());
    assert!(e.unwrap_err().to_string().contains("non-finite"));
}

fn discretization<B: Backend>() {
    let fx = fixtures();
    let d = &fx["discretization"];
    let bounds = nums(&d["given"]["bin_boundaries"]).0;
    for (mode, m) in [
        ("int", OutputMode::Int),
        ("one_hot", OutputMode::OneHot),
        ("multi_hot", OutputMode::MultiHot),
        ("count", OutputMode::Count),
    ] {
        let c = &d["given"]["modes"][mode];
        let mut l = Discretization::<B>::with_bin_boundaries(&bounds).output_mode(m);
        let x = f32_tensor::<B>(&c["x"]);
        let ctx = &mut stratanet::layers::BuildContext::new(Device::Cpu, stratanet::DType::F32, 0);
        l.build(&x.shape()[1..], ctx).unwrap();
        let y = run(&l, &x);
        let (want, shape) = nums(&c["out"]);
        assert_eq!(y.shape(), shape, "{mode}");
        assert_eq!(
            Layer::<B>::output_shape(&l, &x.shape()[1..]).unwrap(),
            shape[1..].to_vec()
        );
        let got: Vec<f64> = if m == OutputMode::Int {
            i64s(&y)
        } else {
            y.to_vec_f32()
                .unwrap()
                .into_iter()
                .map(|v| v as f64)
                .collect()
        };
        assert_eq!(got, want, "{mode}");
    }
    for (i, c) in d["adapt"].as_array().unwrap().iter().enumerate() {
        let nb = c["num_bins"].as_u64().unwrap() as usize;
        let mut l = Discretization::<B>::with_num_bins(nb).epsilon(c["epsilon"].as_f64().unwrap());
        l.adapt_batches(c["batches"].as_array().unwrap().iter().map(f32_tensor::<B>))
            .unwrap();
        let got = l.bin_boundaries().unwrap().to_vec();
        assert_eq!(
            got,
            nums(&c["bin_boundaries"]).0,
            "case {i}: Keras boundaries"
        );
        // approximate quantiles: as many as np.quantile gives, and each within
        // epsilon * batches + 1/n in rank of the exact quantile k / num_bins
        let q = nums(&c["np_quantile"]).0;
        assert_eq!(got.len(), q.len());
        let data: Vec<f32> = c["batches"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|b| nums(b).0)
            .map(|v| v as f32)
            .collect();
        let n = data.len() as f64;
        let tol = c["epsilon"].as_f64().unwrap() * c["batches"].as_array().unwrap().len() as f64
            + 1.0 / n;
        for (k, b) in got.iter().enumerate() {
            let rank = data.iter().filter(|&&x| x <= *b as f32).count() as f64 / n;
            let target = (k + 1) as f64 / nb as f64;
            assert!(
                (rank - target).abs() <= tol + 1e-12,
                "case {i}: boundary {k} at rank {rank}, target {target}"
            );
        }
    }
    let mut l = Discretization::<B>::with_bin_boundaries(&[0.0]);
    assert!(l
        .adapt(&Tensor::from_vec(vec![1.0f32], &[1]).unwrap())
        .unwrap_err()
        .to_string()
        .contains("num_bins"));
    let e =
        Layer::<B>::validate(&Discretization::<B>::with_bin_boundaries(&[1.0, 0.0])).unwrap_err();
    assert!(e.to_string().contains("strictly increasing"), "{e}");
    let e = run_err(
        &Discretization::<B>::with_num_bins(3),
        &Tensor::from_vec(vec![1.0f32], &[1]).unwrap(),
    );
    assert!(e.contains("adapt"), "{e}");
}

fn category_encoding<B: Backend>() {
    let fx = fixtures();
    for (mode, m) in [
        ("one_hot", OutputMode::OneHot),
        ("multi_hot", OutputMode::MultiHot),
        ("count", OutputMode::Count),
    ] {
        let c = &fx["category_encoding"][mode];
        let l = CategoryEncoding::new(4).output_mode(m);
        let y = run::<B, _>(&l, &i64_tensor(&c["x"]));
        let (want, shape) = nums(&c["out"]);
        assert_eq!(y.shape(), shape, "{mode}");
        close(&y.to_vec_f32().unwrap(), &want, 0.0, mode);
        // float inputs holding integers work the same
        let yf = run::<B, _>(&l, &f32_tensor(&c["x"]));
        close(&yf.to_vec_f32().unwrap(), &want, 0.0, mode);
    }
    let l = CategoryEncoding::new(3).name("cats");
    let e = run_err::<B, _>(&l, &Tensor::from_vec(vec![0i64, 3], &[2]).unwrap());
    assert!(e.contains("cats") && e.contains("got 3"), "{e}");
    let e = run_err::<B, _>(&l, &Tensor::from_vec(vec![0.5f32], &[1]).unwrap());
    assert!(e.contains("integer"), "{e}");
}

/// Applies a fixture case's Keras kwargs (`mask_token`, read with `$mask`,
/// `num_oov_indices`, `max_tokens`) to a lookup layer builder.
macro_rules! with_lookup_kwargs {
    ($layer:expr, $kw:expr, $mask:ident) => {{
        let (mut l, kw) = ($layer, $kw);
        if let Some(m) = kw.get("mask_token") {
            l = l.mask_token(m.$mask().unwrap());
        }
        if let Some(n) = kw.get("num_oov_indices") {
            l = l.num_oov_indices(n.as_u64().unwrap() as usize);
        }
        if let Some(n) = kw.get("max_tokens") {
            l = l.max_tokens(n.as_u64().unwrap() as usize);
        }
        l
    }};
}

fn integer_lookup<B: Backend>() {
    let fx = fixtures();
    let il = &fx["integer_lookup"];
    let data = Tensor::<B>::from_vec(
        vec![12i64, 36, 1138, 42, 42, 36, 36, 7, 7, 99, 0, 0, 0, -1],
        &[14],
    )
    .unwrap();
    for case in ["default", "mask_oov2", "max_tokens", "no_oov"] {
        let c = &il[case];
        let kw = &c["kwargs"];
        let configure = |l: IntegerLookup<B>| with_lookup_kwargs!(l, kw, as_i64);
        let mut l = configure(IntegerLookup::<B>::new());
        l.adapt(&data).unwrap();
        let vocab: Vec<f64> = l.vocabulary().into_iter().map(|v| v as f64).collect();
        assert_eq!(vocab, nums(&c["vocabulary"]).0, "{case}: vocabulary");
        let y = run(&l, &i64_tensor::<B>(&c["query"]));
        let (want, shape) = nums(&c["out"]);
        assert_eq!(y.shape(), shape);
        let got = i64s(&y);
        assert_eq!(got, want, "{case}: lookup");
        // inverse layer built from the learned tokens
        let tokens = learned(&l);
        let inv = configure(IntegerLookup::<B>::new().invert(true))
            .with_vocabulary(&tokens)
            .unwrap();
        let y = run(&inv, &i64_tensor::<B>(&c["invert_in"]));
        let got = i64s(&y);
        assert_eq!(got, nums(&c["invert_out"]).0, "{case}: invert");
    }
    let e = run_err(
        &configure_no_oov::<B>(),
        &Tensor::from_vec(vec![12i64, 5], &[2]).unwrap(),
    );
    assert!(
        e.contains("5 is not in the vocabulary") && e.contains("num_oov_indices"),
        "{e}"
    );
    for (mode, m) in [
        ("one_hot", OutputMode::OneHot),
        ("multi_hot", OutputMode::MultiHot),
        ("count", OutputMode::Count),
    ] {
        let c = &il[mode];
        let l = IntegerLookup::<B>::new()
            .output_mode(m)
            .mask_token(0)
            .with_vocabulary(&[12, 36, 42])
            .unwrap();
        let y = run(&l, &i64_tensor::<B>(&c["query"]));
        let (want, shape) = nums(&c["out"]);
        assert_eq!(y.shape(), shape, "{mode}");
        close(&y.to_vec_f32().unwrap(), &want, 0.0, mode);
        let back = IntegerLookup::<B>::from_config(&Layer::<B>::get_config(&l)).unwrap();
        assert_eq!(Layer::<B>::get_config(&back), Layer::<B>::get_config(&l));
    }
    // host API: missing values go to the OOV index
    let l = IntegerLookup::<B>::new().with_vocabulary(&[5, 6]).unwrap();
    assert_eq!(l.lookup(&[Some(6), None, Some(9)]).unwrap(), vec![2, 0, 0]);
    assert_eq!(l.invert_indices(&[1, 2, 3]).unwrap(), vec![5, 6, -1]);
    let e = IntegerLookup::<B>::new()
        .with_vocabulary(&[1, 1])
        .unwrap_err();
    assert!(e.to_string().contains("repeated"), "{e}");
    let e = run_err(
        &IntegerLookup::<B>::new().name("il"),
        &Tensor::from_vec(vec![1i64], &[1]).unwrap(),
    );
    assert!(e.contains("il") && e.contains("adapt"), "{e}");
}

/// The learned tokens (the vocabulary without the mask/OOV prefix), as saved in the config.
fn learned<B: Backend>(l: &IntegerLookup<B>) -> Vec<i64> {
    let cfg = Layer::<B>::get_config(l);
    let v = cfg["vocabulary"].as_array().unwrap();
    v.iter().map(|t| t.as_i64().unwrap()).collect()
}

fn configure_no_oov<B: Backend>() -> IntegerLookup<B> {
    IntegerLookup::<B>::new()
        .num_oov_indices(0)
        .with_vocabulary(&[12, 36])
        .unwrap()
}

fn string_lookup<B: Backend>() {
    let fx = fixtures();
    let sl = &fx["string_lookup"];
    let data = [
        "b", "a", "c", "a", "d", "d", "b", "b", "", "[UNK]", "zz", "c", "a",
    ];
    let data: Vec<Option<&str>> = data.iter().map(|s| Some(*s)).collect();
    for case in ["default", "mask_oov3", "max_tokens"] {
        let c = &sl[case];
        let kw = &c["kwargs"];
        let configure = |l: StringLookup| with_lookup_kwargs!(l, kw, as_str);
        let mut l = configure(StringLookup::new());
        l.adapt(&data);
        assert_eq!(l.vocabulary(), strings(&c["vocabulary"]), "{case}");
        let q = strings(&c["query"]);
        let got: Vec<f64> = l
            .lookup(&opt_strs(&q))
            .unwrap()
            .into_iter()
            .map(|v| v as f64)
            .collect();
        assert_eq!(got, nums(&c["out"]).0, "{case}: lookup");
        // Keras' inverse layer from the learned tokens
        let toks: Vec<&str> = l.tokens().iter().map(String::as_str).collect();
        let inv = configure(StringLookup::new())
            .with_vocabulary(&toks)
            .unwrap();
        let idx: Vec<i64> = nums(&c["invert_in"])
            .0
            .into_iter()
            .map(|v| v as i64)
            .collect();
        assert_eq!(
            inv.invert(&idx).unwrap(),
            strings(&c["invert_out"]),
            "{case}: invert"
        );
        // JSON round trip keeps everything
        let back = StringLookup::from_json(&l.to_json()).unwrap();
        assert_eq!(back.vocabulary(), l.vocabulary());
        assert_eq!(
            back.lookup(&opt_strs(&q)).unwrap(),
            l.lookup(&opt_strs(&q)).unwrap()
        );
    }
    for (mode, m) in [
        ("one_hot", OutputMode::OneHot),
        ("multi_hot", OutputMode::MultiHot),
        ("count", OutputMode::Count),
    ] {
        let c = &sl[mode];
        let vocab = strings(&c["vocabulary"]);
        let vocab: Vec<&str> = vocab.iter().map(String::as_str).collect();
        let l = StringLookup::new()
            .output_mode(m)
            .with_vocabulary(&vocab)
            .unwrap();
        let q = strings(&c["query"]);
        let y: Tensor<B> = match c["rows"].as_u64() {
            Some(r) => l
                .encode_shaped(
                    &opt_strs(&q),
                    &[r as usize, q.len() / r as usize],
                    Device::Cpu,
                )
                .unwrap(),
            None => l.encode(&opt_strs(&q), Device::Cpu).unwrap(),
        };
        let (want, shape) = nums(&c["out"]);
        assert_eq!(y.shape(), shape, "{mode}");
        close(&y.to_vec_f32().unwrap(), &want, 0.0, mode);
    }
    // from table columns
    let mut c = StringLookup::new().name("city");
    let col = stratanet::tabular::Column::Str(vec![
        Some("b".into()),
        None,
        Some("b".into()),
        Some("a".into()),
    ]);
    c.adapt_column(&col).unwrap();
    assert_eq!(c.vocabulary(), ["[UNK]", "b", "a"]);
    assert_eq!(c.lookup_column(&col).unwrap(), vec![1, 0, 1, 2]);
    let e = c
        .lookup_column(&stratanet::tabular::Column::Int(vec![Some(1)]))
        .unwrap_err();
    assert!(
        e.to_string().contains("city") && e.to_string().contains("int column"),
        "{e}"
    );
    let l = StringLookup::new().with_vocabulary(&["x"]).unwrap();
    let t: Tensor<B> = l
        .encode(&[Some("x"), None, Some("q")], Device::Cpu)
        .unwrap();
    assert_eq!(t.to_vec_i64().unwrap(), vec![1, 0, 0]);
    let e = StringLookup::new()
        .num_oov_indices(0)
        .with_vocabulary(&["x"])
        .unwrap()
        .lookup(&[Some("y")])
        .unwrap_err();
    assert!(
        e.to_string().contains("\"y\" is not in the vocabulary"),
        "{e}"
    );
    let e = StringLookup::new().lookup(&[Some("y")]).unwrap_err();
    assert!(e.to_string().contains("adapt"), "{e}");
    let e = StringLookup::new()
        .mask_token("")
        .with_vocabulary(&["a", ""])
        .unwrap_err();
    assert!(e.to_string().contains("mask token"), "{e}");
    let e = StringLookup::new()
        .max_tokens(2)
        .with_vocabulary(&["a", "b"])
        .unwrap_err();
    assert!(e.to_string().contains("max_tokens 2"), "{e}");
}

fn hashing<B: Backend>() {
    let fx = fixtures();
    let h = &fx["hashing"];
    let doc = &h["doc_example"];
    let l = Hashing::<B>::new(3);
    let got: Vec<f64> = l
        .hash_strings(
            &strings(&doc["x"])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
        .unwrap()
        .into_iter()
        .map(|v| v as f64)
        .collect();
    assert_eq!(got, nums(&doc["out"]).0);
    assert_eq!(got, vec![1.0, 0.0, 1.0, 1.0, 2.0]); // the TF/Keras documentation example

    let fp = &h["fingerprint"];
    let words = strings(&fp["strings"]);
    let big = (1u64 << 63) - 1;
    for (i, w) in words.iter().enumerate() {
        let f = fingerprint64(w.as_bytes());
        assert_eq!(
            f % big,
            fp["mod_2p63m1"][i].as_u64().unwrap(),
            "fingerprint64({w:?}) len {}",
            w.len()
        );
        assert_eq!(
            f % 1_000_003,
            fp["mod_1000003"][i].as_u64().unwrap(),
            "fingerprint64({w:?})"
        );
        let sp = &h["siphash"];
        assert_eq!(
            siphash24([123, 456], w.as_bytes()) % big,
            sp["mod_2p63m1"][i].as_u64().unwrap(),
            "siphash({w:?})"
        );
        assert_eq!(
            siphash24([7, 7], w.as_bytes()) % 97,
            sp["mod_97"][i].as_u64().unwrap(),
            "siphash({w:?})"
        );
    }

    let cases = h["layers"].as_object().unwrap();
    for (name, c) in cases {
        let kw = &c["kwargs"];
        let mut l = Hashing::<B>::new(kw["num_bins"].as_u64().unwrap() as usize);
        match kw.get("mask_value") {
            Some(Value::String(s)) => l = l.mask_value(MaskValue::Str(s.clone())),
            Some(v) if v.is_i64() => l = l.mask_value(MaskValue::Int(v.as_i64().unwrap())),
            _ => {}
        }
        match kw.get("salt") {
            Some(v) if v.is_u64() => l = l.salt(v.as_u64().unwrap()),
            Some(Value::Array(p)) => {
                l = l.salt_pair(p[0].as_u64().unwrap(), p[1].as_u64().unwrap())
            }
            _ => {}
        }
        if let Some(m) = kw.get("output_mode") {
            l = l.output_mode(OutputMode::parse(m.as_str().unwrap()).unwrap());
        }
        let (want, shape) = nums(&c["out"]);
        let y = if name.starts_with("ints") {
            let y = run(&l, &i64_tensor::<B>(&c["x"]));
            // the same on float inputs holding integers
            let (xf, xs) = nums(&c["x"]);
            let yf = run(&l, &Tensor::<B>::from_vec(xf, &xs).unwrap());
            assert_eq!(
                y.to_vec_f64().unwrap(),
                yf.to_vec_f64().unwrap(),
                "{name}: floats"
            );
            y
        } else {
            let x = strings(&c["x"]);
            let x: Vec<&str> = x.iter().map(String::as_str).collect();
            let rows = c["rows"].as_u64().unwrap() as usize;
            l.encode_strings(&x, &[rows, x.len() / rows], Device::Cpu)
                .unwrap()
        };
        assert_eq!(y.shape(), shape, "{name}");
        assert_eq!(y.to_vec_f64().unwrap(), want, "{name}");
        let back = Hashing::<B>::from_config(&Layer::<B>::get_config(&l)).unwrap();
        assert_eq!(Layer::<B>::get_config(&back), Layer::<B>::get_config(&l));
    }
    let e = run_err(
        &Hashing::<B>::new(0).name("h0"),
        &Tensor::from_vec(vec![1i64], &[1]).unwrap(),
    );
    assert!(e.contains("h0") && e.contains("num_bins"), "{e}");
}

fn saved_models_predict_identically<B: Backend>() {
    let x = Tensor::<B>::from_vec(
        (0..24)
            .map(|i| ((i * 7) % 11) as f32 * 0.5 - 1.0)
            .collect::<Vec<_>>(),
        &[8, 3],
    )
    .unwrap();
    let ids = Tensor::<B>::from_vec(
        vec![3i64, 9, 9, 4, 3, 3, 7, 9, 1, 4, 4, 3, 9, 9, 2, 3],
        &[8, 2],
    )
    .unwrap();

    // Normalization (adapted) -> Dense
    let mut norm = Normalization::<B>::new();
    norm.adapt(&x).unwrap();
    let mut a = Sequential::<B>::new().with_seed(1);
    a.add(Input::new(&[3])).unwrap();
    a.add(norm).unwrap();
    a.add(Dense::new(2)).unwrap();

    // IntegerLookup (adapted, int) -> CategoryEncoding(count) -> Dense
    let mut lookup = IntegerLookup::<B>::new().mask_token(0);
    lookup.adapt(&ids).unwrap();
    let depth = lookup.vocabulary_size();
    let mut b = Sequential::<B>::new().with_seed(2);
    b.add(Input::new(&[2])).unwrap();
    b.add(lookup).unwrap();
    b.add(CategoryEncoding::new(depth).output_mode(OutputMode::Count))
        .unwrap();
    b.add(Dense::new(2)).unwrap();

    // Discretization (adapted, one_hot) -> Flatten -> Dense ; Hashing(multi_hot) -> Dense
    let mut disc = Discretization::<B>::with_num_bins(3).output_mode(OutputMode::OneHot);
    disc.adapt(&x).unwrap();
    let mut c = Sequential::<B>::new().with_seed(3);
    c.add(Input::new(&[3])).unwrap();
    c.add(disc).unwrap();
    c.add(Flatten::new()).unwrap();
    c.add(Dense::new(2)).unwrap();
    let mut d = Sequential::<B>::new().with_seed(4);
    d.add(Input::new(&[2])).unwrap();
    d.add(
        Hashing::<B>::new(5)
            .salt(3)
            .output_mode(OutputMode::MultiHot),
    )
    .unwrap();
    d.add(Dense::new(2)).unwrap();

    for (name, m, input) in [
        ("norm", a, &x),
        ("lookup", b, &ids),
        ("disc", c, &x),
        ("hash", d, &ids),
    ] {
        let before = m.predict_with(input, 4).unwrap().to_vec_f32().unwrap();
        let path = tmp(&format!("{name}.safetensors"));
        m.save(&path).unwrap();
        let back = Sequential::<B>::load(&path).unwrap();
        assert_eq!(back.get_config(), m.get_config(), "{name}");
        assert_eq!(
            back.get_weights().unwrap(),
            m.get_weights().unwrap(),
            "{name}"
        );
        let after = back.predict_with(input, 4).unwrap().to_vec_f32().unwrap();
        assert_eq!(before, after, "{name}: predictions after load");
        std::fs::remove_file(&path).ok();
    }
}

engine_tests!(
    normalization,
    normalization_errors,
    discretization,
    category_encoding,
    integer_lookup,
    string_lookup,
    hashing,
    saved_models_predict_identically,
);
