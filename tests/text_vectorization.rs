//! TextVectorization against Keras 3 (`scripts/make_text_vectorization_fixtures.py` ->
//! `tests/fixtures/text_vectorization.json`, keras 3.15.1 + tensorflow 2.21.0): for 27
//! configurations (the four output modes, standardizations, splits, n-grams, max_tokens,
//! output_sequence_length, pad_to_max_tokens, given vocabularies and idf weights) the
//! adapted vocabulary, the idf weights and the outputs on a query batch; configs (ours and
//! Keras') round-trip; argument and input errors; a model trained on its output predicts
//! identically after save/load with the vectorizer as an asset. Runs on candle and, with
//! feature `tch`, libtorch.

#[macro_use]
mod common;
use common::{nums, tmp};

use serde_json::{json, Value};
use stratanet::layers::{
    Dense, Input, Ngrams, Split, Standardize, TextOutputMode, TextVectorization,
};
use stratanet::{Backend, Device, Error, Sequential, Tensor};

fn fixtures() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/text_vectorization.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The layer a fixture case describes, built with the builder API.
fn from_args(args: &Value) -> TextVectorization {
    let mut tv = TextVectorization::new();
    if let Some(m) = args.get("max_tokens").and_then(Value::as_u64) {
        tv = tv.max_tokens(m as usize);
    }
    if let Some(s) = args.get("standardize") {
        tv = tv.standardize(s.as_str().map(|s| Standardize::parse(s).unwrap()));
    }
    if let Some(s) = args.get("split") {
        tv = tv.split(s.as_str().map(|s| Split::parse(s).unwrap()));
    }
    match args.get("ngrams") {
        Some(Value::Array(w)) => {
            let w: Vec<usize> = w.iter().map(|v| v.as_u64().unwrap() as usize).collect();
            tv = tv.ngram_widths(&w);
        }
        Some(v) if v.is_u64() => tv = tv.ngrams(v.as_u64().unwrap() as usize),
        _ => {}
    }
    if let Some(m) = args.get("output_mode").and_then(Value::as_str) {
        tv = tv.output_mode(TextOutputMode::parse(m).unwrap());
    }
    if let Some(n) = args.get("output_sequence_length").and_then(Value::as_u64) {
        tv = tv.output_sequence_length(n as usize);
    }
    if let Some(p) = args.get("pad_to_max_tokens").and_then(Value::as_bool) {
        tv = tv.pad_to_max_tokens(p);
    }
    if let Some(v) = args.get("vocabulary") {
        let v = strings(v);
        tv = match args.get("idf_weights") {
            Some(w) => {
                let w: Vec<f32> = nums(w).0.into_iter().map(|x| x as f32).collect();
                tv.with_vocabulary_and_idf(&v, &w).unwrap()
            }
            None => tv.with_vocabulary(&v).unwrap(),
        };
    }
    tv
}

fn close(got: &[f32], want: &[f64], rel: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let tol = rel * w.abs().max(1e-30);
        assert!(
            (f64::from(g) - w).abs() <= tol,
            "{what}[{i}]: got {g}, Keras {w} (relative tolerance {rel})"
        );
    }
}

/// Compares the encoded query with Keras': int and multi_hot/count exactly, tf_idf within
/// 1e-6 relative (Keras' OOV weight is a float32 `reduce_mean`; ours sums in f64).
///
/// Without a split, Keras' output depends on the texts' layout: `[batch, 1]` texts (the
/// fixture's `output_column`) are compared through `encode_shaped`; for `[batch]` texts
/// `int` is compared too, while Keras' `multi_hot` collapses the batch into one row where
/// stratanet keeps a row per text (their maximum is Keras' row).
fn check_output<B: Backend>(tv: &TextVectorization, c: &Value, what: &str) {
    let query = strings(&c["query"]);
    if let Some(column) = c.get("output_column") {
        let y: Tensor<B> = tv
            .encode_shaped(&query, &[query.len(), 1], Device::Cpu)
            .unwrap();
        compare(tv, &y, column, &format!("{what} [batch, 1]"));
        if tv.mode() != TextOutputMode::Int {
            let y: Tensor<B> = tv.encode(&query, Device::Cpu).unwrap();
            compare(tv, &y.max(&[0], false).unwrap(), &c["output"], what);
            return;
        }
    }
    let y: Tensor<B> = tv.encode(&query, Device::Cpu).unwrap();
    compare(tv, &y, &c["output"], what);
}

fn compare<B: Backend>(tv: &TextVectorization, y: &Tensor<B>, want: &Value, what: &str) {
    let (want, shape) = nums(want);
    assert_eq!(y.shape(), shape, "{what}: shape");
    match tv.mode() {
        TextOutputMode::Int => {
            let got: Vec<f64> = y.to_vec_i64().unwrap().iter().map(|&v| v as f64).collect();
            assert_eq!(got, want, "{what}: indices");
        }
        TextOutputMode::TfIdf => close(&y.to_vec_f32().unwrap(), &want, 1e-6, what),
        _ => {
            let got: Vec<f64> = y
                .to_vec_f32()
                .unwrap()
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            assert_eq!(got, want, "{what}: values");
        }
    }
}

fn keras_cases<B: Backend>() {
    let f = fixtures();
    let corpus = strings(&f["corpus"]);
    let cases = f["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 27);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let mut tv = from_args(&c["args"]);
        if c["adapted"].as_bool().unwrap() {
            tv.adapt(&corpus).unwrap();
        }
        assert_eq!(
            tv.vocabulary(),
            strings(&c["vocabulary"]),
            "{name}: vocabulary"
        );
        assert_eq!(
            tv.vocabulary_size() as u64,
            c["vocabulary_size"].as_u64().unwrap(),
            "{name}: vocabulary_size"
        );
        if let Some(w) = c.get("idf_weights") {
            // Keras' idf variable is padded with zeros to max_tokens; ours stops at the
            // vocabulary (the padding columns weigh 0 in encode).
            let (want, _) = nums(w);
            let got = tv.idf_weights().unwrap();
            close(got, &want[..got.len()], 1e-6, &format!("{name}: idf"));
            assert!(want[got.len()..].iter().all(|&v| v == 0.0), "{name}");
            assert_eq!(want.len(), tv.depth(), "{name}: idf length");
        }
        check_output::<B>(&tv, c, name);

        // Our config round-trips exactly.
        let back = TextVectorization::from_json(&tv.to_json()).unwrap();
        assert_eq!(back.get_config(), tv.get_config(), "{name}: config");
        assert_eq!(back.idf_weights(), tv.idf_weights(), "{name}: idf");
        check_output::<B>(&back, c, &format!("{name} (reloaded)"));

        // It has Keras' keys (bar the dtype policy and trainable flag of every layer).
        let ours = tv.get_config();
        for key in strings(&c["config_keys"]) {
            if key != "dtype" && key != "trainable" {
                assert!(ours.get(&key).is_some(), "{name}: config key {key}");
            }
        }

        // Keras' own config: given vocabularies load as they are; adapted layers (whose
        // vocabulary Keras keeps in an asset) re-adapt to the same result.
        let mut keras = TextVectorization::from_config(&c["config"]).unwrap();
        if !c["adapted"].as_bool().unwrap() {
            check_output::<B>(&keras, c, &format!("{name} (Keras config)"));
        } else {
            keras.adapt(&corpus).unwrap();
            assert_eq!(keras.vocabulary(), tv.vocabulary(), "{name}: Keras config");
            check_output::<B>(&keras, c, &format!("{name} (Keras config, adapted)"));
        }
    }
}

fn tokenization() {
    let tv = TextVectorization::new();
    // ASCII lowercasing only, ASCII punctuation only, ASCII whitespace only.
    assert_eq!(
        tv.tokenize("Café,  ÉCOLE!\tno\u{a0}break\x0bX"),
        ["café", "École", "no\u{a0}break", "x"]
    );
    let chars = TextVectorization::new()
        .split(Some(Split::Character))
        .ngram_widths(&[2]);
    assert_eq!(chars.tokenize("Ab é"), ["a b", "b  ", "  é"]);
    let up_to = TextVectorization::new().ngrams(3);
    assert_eq!(
        up_to.tokenize("a b c"),
        ["a", "b", "c", "a b", "b c", "a b c"]
    );
    // A huge n costs no more than the text is long.
    let huge = TextVectorization::new().ngrams(usize::MAX);
    assert_eq!(huge.tokenize("a b"), ["a", "b", "a b"]);
    let raw = TextVectorization::new().standardize(None).split(None);
    assert_eq!(raw.tokenize(" A, b "), [" A, b "]);
}

fn adapt_batches_add_up<B: Backend>() {
    let corpus = strings(&fixtures()["corpus"]);
    let mut whole = TextVectorization::new().output_mode(TextOutputMode::TfIdf);
    whole.adapt(&corpus).unwrap();
    let mut parts = TextVectorization::new().output_mode(TextOutputMode::TfIdf);
    let (a, b) = corpus.split_at(11);
    parts.adapt_batches([a, b]).unwrap();
    assert_eq!(parts.vocabulary(), whole.vocabulary());
    assert_eq!(parts.idf_weights(), whole.idf_weights());
    // adapt replaces the vocabulary learned before
    parts.adapt(&["zzz zzz yyy"]).unwrap();
    assert_eq!(parts.vocabulary(), ["[UNK]", "zzz", "yyy"]);
    let y: Tensor<B> = parts.encode(&["zzz qqq", ""], Device::Cpu).unwrap();
    let idf = parts.idf_weights().unwrap().to_vec();
    // one document: idf = ln(1 + 1/2) for both terms, OOV their mean
    let w = (1.5f64).ln() as f32;
    assert_eq!(idf, vec![w, w, w]);
    assert_eq!(y.to_vec_f32().unwrap(), vec![w, w, 0.0, 0.0, 0.0, 0.0]);
    // empty batches: shapes [0, ..]
    let none: [&str; 0] = [];
    let y: Tensor<B> = parts.encode(&none, Device::Cpu).unwrap();
    assert_eq!(y.shape(), [0, 3]);
}

fn config_path(e: &Error) -> String {
    match e {
        Error::Config { path, .. } => path.clone(),
        other => panic!("expected a Config error, got {other:?}"),
    }
}

fn argument_errors<B: Backend>() {
    let texts = ["a b c", "b c"];
    let adapt_err = |tv: TextVectorization| {
        let mut tv = tv;
        config_path(&tv.adapt(&texts).unwrap_err())
    };
    assert_eq!(
        adapt_err(TextVectorization::new().max_tokens(1)),
        "TextVectorization.max_tokens"
    );
    assert_eq!(
        adapt_err(TextVectorization::new().pad_to_max_tokens(true)),
        "TextVectorization.pad_to_max_tokens"
    );
    assert_eq!(
        adapt_err(
            TextVectorization::new()
                .output_mode(TextOutputMode::Count)
                .output_sequence_length(3)
        ),
        "TextVectorization.output_sequence_length"
    );
    assert_eq!(
        adapt_err(TextVectorization::new().output_sequence_length(0)),
        "TextVectorization.output_sequence_length"
    );
    assert_eq!(
        adapt_err(TextVectorization::new().ngrams(0)),
        "TextVectorization.ngrams"
    );
    assert_eq!(
        adapt_err(TextVectorization::new().ngram_widths(&[])),
        "TextVectorization.ngrams"
    );
    for name in ["upper", "UPPER"] {
        let e = Standardize::parse(name).unwrap_err();
        assert_eq!(config_path(&e), "TextVectorization.standardize");
    }
    assert_eq!(
        config_path(&Split::parse("comma").unwrap_err()),
        "TextVectorization.split"
    );
    let e = TextOutputMode::parse("one_hot").unwrap_err();
    assert_eq!(config_path(&e), "TextVectorization.output_mode");

    // vocabularies
    let vocab_err =
        |tv: TextVectorization, v: &[&str]| config_path(&tv.with_vocabulary(v).unwrap_err());
    let empty: [&str; 0] = [];
    assert_eq!(
        vocab_err(TextVectorization::new(), &empty),
        "TextVectorization.vocabulary"
    );
    assert_eq!(
        vocab_err(TextVectorization::new(), &["a", "b", "a"]),
        "TextVectorization.vocabulary"
    );
    assert_eq!(
        vocab_err(TextVectorization::new(), &["a", ""]),
        "TextVectorization.vocabulary"
    );
    assert_eq!(
        vocab_err(TextVectorization::new().max_tokens(3), &["a", "b"]),
        "TextVectorization.vocabulary"
    );
    // tf_idf needs weights, of the vocabulary's length, finite; other modes refuse them
    let tf_idf = || TextVectorization::new().output_mode(TextOutputMode::TfIdf);
    assert_eq!(vocab_err(tf_idf(), &["a"]), "TextVectorization.idf_weights");
    let e = tf_idf()
        .with_vocabulary_and_idf(&["a", "b"], &[1.0])
        .unwrap_err();
    assert_eq!(config_path(&e), "TextVectorization.idf_weights");
    assert!(e.to_string().contains("1 weights for 2 terms"), "{e}");
    let e = tf_idf()
        .with_vocabulary_and_idf(&["a"], &[f32::NAN])
        .unwrap_err();
    assert_eq!(config_path(&e), "TextVectorization.idf_weights");
    let e = TextVectorization::new()
        .with_vocabulary_and_idf(&["a"], &[1.0])
        .unwrap_err();
    assert_eq!(config_path(&e), "TextVectorization.idf_weights");
    // a max_tokens set below a vocabulary already there
    let small = TextVectorization::new()
        .with_vocabulary(&["a", "b", "c"])
        .unwrap()
        .max_tokens(3);
    let e = small.encode::<B, _>(&texts, Device::Cpu).unwrap_err();
    assert_eq!(config_path(&e), "TextVectorization.max_tokens");

    // not ready
    let e = TextVectorization::new()
        .encode::<B, _>(&texts, Device::Cpu)
        .unwrap_err();
    assert!(matches!(e, Error::NotReady { .. }), "{e}");
    let e = TextVectorization::new()
        .with_vocabulary(&["a"])
        .unwrap()
        .output_mode(TextOutputMode::TfIdf)
        .encode::<B, _>(&texts, Device::Cpu)
        .unwrap_err();
    assert!(e.to_string().contains("idf"), "{e}");
    let mut nothing = TextVectorization::new().name("tv");
    let e = nothing.adapt(&["", " ..."]).unwrap_err();
    assert!(
        e.to_string().contains("tv") && e.to_string().contains("no tokens"),
        "{e}"
    );

    // inputs laid out as [batch] or [batch, 1]; anything else names the shapes
    let tv = TextVectorization::new()
        .with_vocabulary(&["a", "b"])
        .unwrap();
    let y: Tensor<B> = tv.encode_shaped(&texts, &[2, 1], Device::Cpu).unwrap();
    assert_eq!(y.to_vec_i64().unwrap(), vec![2, 3, 1, 3, 1, 0]);
    let e = tv
        .encode_shaped::<B, _>(&["a", "b", "c", "d"], &[2, 2], Device::Cpu)
        .unwrap_err();
    assert!(
        matches!(e, Error::Shape { .. }) && e.to_string().contains("[2, 2]"),
        "{e}"
    );
    let e = tv
        .encode_shaped::<B, _>(&texts, &[3], Device::Cpu)
        .unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
}

fn hostile_configs() {
    let base = TextVectorization::new()
        .output_mode(TextOutputMode::TfIdf)
        .with_vocabulary_and_idf(&["a", "b"], &[1.0, 2.0])
        .unwrap()
        .get_config();
    let bad = |key: &str, value: Value| {
        let mut c = base.clone();
        c[key] = value;
        TextVectorization::from_config(&c).unwrap_err().to_string()
    };
    for (key, value) in [
        ("max_tokens", json!("ten")),
        ("max_tokens", json!(-3)),
        ("max_tokens", json!(1)),
        ("max_tokens", json!(1u64 << 40)),
        ("output_sequence_length", json!(1u64 << 40)),
        ("output_sequence_length", json!(4)),
        ("ngrams", json!(-1)),
        ("ngrams", json!([2, 0])),
        ("ngrams", json!("two")),
        ("standardize", json!("upper")),
        ("standardize", json!({"class_name": "Callable"})),
        ("split", json!(3)),
        ("output_mode", json!("one_hot")),
        ("sparse", json!(true)),
        ("ragged", json!(true)),
        ("encoding", json!("latin-1")),
        ("vocabulary", json!(["[UNK]", "a", "a"])),
        ("vocabulary", json!([])),
        ("idf_weights", json!([1.0])),
        ("idf_weights", json!(null)),
        ("idf_weights", json!(["x", 1.0, 2.0])),
    ] {
        let e = bad(key, value.clone());
        assert!(e.contains(key), "{key} = {value}: {e}");
    }
    let mut c = base.clone();
    c["vocabulary"] = Value::Null;
    let e = TextVectorization::from_config(&c).unwrap_err().to_string();
    assert!(e.contains("idf_weights"), "{e}");
    // The config keeps the weights of every index, OOV first.
    assert_eq!(base["idf_weights"], json!([1.5, 1.0, 2.0]));
    assert_eq!(base["vocabulary"], json!(["[UNK]", "a", "b"]));
    assert_eq!(base["vocabulary_size"], json!(3));
    assert!(matches!(
        serde_json::from_value::<Ngrams>(json!([1, 2])).unwrap(),
        Ngrams::Widths(_)
    ));
}

/// A bag-of-words model on the vectorizer's output, saved with the vectorizer as an asset:
/// the loaded pair predicts exactly as before.
fn saved_with_model<B: Backend>() {
    let corpus = strings(&fixtures()["corpus"]);
    let mut tv = TextVectorization::new()
        .output_mode(TextOutputMode::TfIdf)
        .max_tokens(40)
        .pad_to_max_tokens(true)
        .ngrams(2);
    tv.adapt(&corpus).unwrap();
    let x: Tensor<B> = tv.encode(&corpus, Device::Cpu).unwrap();
    assert_eq!(x.shape(), [corpus.len(), 40]);
    let mut m = Sequential::<B>::new().with_seed(5);
    m.add(Input::new(&[40])).unwrap();
    m.add(Dense::new(3)).unwrap();
    m.set_asset("text", tv.to_json());
    let before = m.predict_with(&x, 8).unwrap().to_vec_f32().unwrap();
    let path = tmp("text.safetensors");
    m.save(&path).unwrap();
    let back = Sequential::<B>::load(&path).unwrap();
    let tv2 = TextVectorization::from_json(back.asset("text").unwrap()).unwrap();
    assert_eq!(tv2.vocabulary(), tv.vocabulary());
    assert_eq!(tv2.idf_weights(), tv.idf_weights());
    let x2: Tensor<B> = tv2.encode(&corpus, Device::Cpu).unwrap();
    assert_eq!(x2.to_vec_f32().unwrap(), x.to_vec_f32().unwrap());
    let back = back;
    let after = back.predict_with(&x2, 8).unwrap().to_vec_f32().unwrap();
    assert_eq!(before, after);
}

#[test]
fn tokenization_follows_tensorflow() {
    tokenization();
}

#[test]
fn hostile_configs_are_errors() {
    hostile_configs();
}

engine_tests!(
    keras_cases,
    adapt_batches_add_up,
    argument_errors,
    saved_with_model,
);
