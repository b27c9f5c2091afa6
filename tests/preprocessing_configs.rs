//! The saved configs of the preprocessing layers: `get_config` writes exactly the keys and
//! values it always wrote (captured from the hand-written configs before they became
//! serde types), `from_config` reads them back to the same config, and malformed fields
//! name `Class.field`.

use serde_json::{json, Value};
use stratanet::layers::{
    CategoryEncoding, Discretization, Hashing, IntegerLookup, Layer, MaskValue, Normalization,
    OutputMode, StringLookup,
};
use stratanet::{DefaultBackend as B, Error, Tensor};

/// `get_config` equals `want`, and survives a `from_config` round trip.
fn same<L: Layer<B>>(layer: &L, want: Value, back: impl Fn(&Value) -> stratanet::Result<L>) {
    let got = layer.get_config();
    assert_eq!(got, want);
    assert_eq!(back(&got).unwrap().get_config(), want);
}

#[test]
fn configs_are_unchanged() {
    same(
        &CategoryEncoding::new(4).name("ce"),
        json!({"name": "ce", "num_tokens": 4, "output_mode": "multi_hot"}),
        CategoryEncoding::from_config,
    );
    same(
        &CategoryEncoding::new(3).output_mode(OutputMode::Count),
        json!({"name": "", "num_tokens": 3, "output_mode": "count"}),
        CategoryEncoding::from_config,
    );
    same(
        &Hashing::<B>::new(5).name("h"),
        json!({"name": "h", "num_bins": 5, "mask_value": null, "salt": null, "output_mode": "int"}),
        Hashing::from_config,
    );
    same(
        &Hashing::<B>::new(5)
            .salt(7)
            .mask_value(MaskValue::Int(3))
            .output_mode(OutputMode::OneHot),
        json!({"name": "", "num_bins": 5, "mask_value": 3, "salt": [7, 7], "output_mode": "one_hot"}),
        Hashing::from_config,
    );
    same(
        &Hashing::<B>::new(5)
            .salt_pair(1, 2)
            .mask_value(MaskValue::Str("x".into())),
        json!({"name": "", "num_bins": 5, "mask_value": "x", "salt": [1, 2], "output_mode": "int"}),
        Hashing::from_config,
    );
    same(
        &Discretization::<B>::with_bin_boundaries(&[0.5, 1.0]).name("d"),
        json!({"name": "d", "bin_boundaries": [0.5, 1.0], "num_bins": null, "epsilon": 0.01,
               "output_mode": "int"}),
        Discretization::from_config,
    );
    let mut d = Discretization::<B>::with_num_bins(2)
        .epsilon(0.1)
        .output_mode(OutputMode::OneHot);
    same(
        &d,
        json!({"name": "", "bin_boundaries": null, "num_bins": 2, "epsilon": 0.1,
               "output_mode": "one_hot"}),
        Discretization::from_config,
    );
    d.adapt(&Tensor::<B>::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[4, 1]).unwrap())
        .unwrap();
    let b = d.bin_boundaries().unwrap().to_vec();
    same(
        &d,
        json!({"name": "", "bin_boundaries": b, "num_bins": 2, "epsilon": 0.1,
               "output_mode": "one_hot"}),
        Discretization::from_config,
    );
    same(
        &Normalization::<B>::new(),
        json!({"name": "", "axis": [-1], "mean": null, "variance": null, "invert": false}),
        Normalization::from_config,
    );
    same(
        &Normalization::<B>::new()
            .axes(&[1, 2])
            .mean_variance(&[1.0], &[4.0])
            .invert(true)
            .name("n"),
        json!({"name": "n", "axis": [1, 2], "mean": [1.0], "variance": [4.0], "invert": true}),
        Normalization::from_config,
    );
    same(
        &Normalization::<B>::new().axis_none(),
        json!({"name": "", "axis": null, "mean": null, "variance": null, "invert": false}),
        Normalization::from_config,
    );
    let lookup_keys = |name: &str, vocab: Value, extra: Value| {
        let mut v = json!({"name": name, "max_tokens": null, "num_oov_indices": 1,
            "mask_token": null, "output_mode": "int", "pad_to_max_tokens": false,
            "vocabulary": vocab});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    same(
        &IntegerLookup::<B>::new(),
        lookup_keys(
            "",
            Value::Null,
            json!({"oov_token": -1, "invert": false, "vocabulary_dtype": "int64"}),
        ),
        IntegerLookup::from_config,
    );
    let il = IntegerLookup::<B>::new()
        .max_tokens(10)
        .num_oov_indices(2)
        .mask_token(0)
        .oov_token(-7)
        .output_mode(OutputMode::Int)
        .invert(true)
        .name("il")
        .with_vocabulary(&[5, 3, 9])
        .unwrap();
    same(
        &il,
        json!({"name": "il", "max_tokens": 10, "num_oov_indices": 2, "mask_token": 0,
            "oov_token": -7, "output_mode": "int", "pad_to_max_tokens": false,
            "vocabulary": [5, 3, 9], "invert": true, "vocabulary_dtype": "int64"}),
        IntegerLookup::from_config,
    );
    let mut il = IntegerLookup::<B>::new()
        .max_tokens(4)
        .pad_to_max_tokens(true)
        .output_mode(OutputMode::MultiHot);
    il.adapt_values(&[Some(1), Some(2), Some(2), None, Some(3)]);
    same(
        &il,
        json!({"name": "", "max_tokens": 4, "num_oov_indices": 1, "mask_token": null,
            "oov_token": -1, "output_mode": "multi_hot", "pad_to_max_tokens": true,
            "vocabulary": [2, 3, 1], "invert": false, "vocabulary_dtype": "int64"}),
        IntegerLookup::from_config,
    );

    let string_config = |s: &StringLookup, want: Value| {
        assert_eq!(s.get_config(), want);
        assert_eq!(StringLookup::from_config(&want).unwrap().get_config(), want);
        assert_eq!(
            StringLookup::from_json(&s.to_json()).unwrap().get_config(),
            want
        );
    };
    string_config(
        &StringLookup::new(),
        lookup_keys(
            "string_lookup",
            Value::Null,
            json!({"oov_token": "[UNK]", "vocabulary_dtype": "string"}),
        ),
    );
    let mut s = StringLookup::new()
        .name("s")
        .mask_token("")
        .oov_token("?")
        .num_oov_indices(2)
        .output_mode(OutputMode::Count);
    s.adapt(&[Some("b"), Some("a"), Some("b"), None]);
    string_config(
        &s,
        json!({"name": "s", "max_tokens": null, "num_oov_indices": 2, "mask_token": "",
            "oov_token": "?", "output_mode": "count", "pad_to_max_tokens": false,
            "vocabulary": ["b", "a"], "vocabulary_dtype": "string"}),
    );
}

/// The `Error::Config` path of a config error, or a description of another error.
fn config_path(e: Error) -> String {
    match e {
        Error::Config { path, .. } => path,
        other => format!("not a config error: {other}"),
    }
}

#[test]
fn malformed_fields_name_class_and_field() {
    let cases: Vec<(&str, stratanet::Result<()>)> = vec![
        (
            "Hashing.mask_value",
            Hashing::<B>::from_config(&json!({"num_bins": 3, "mask_value": 1.5})).map(|_| ()),
        ),
        (
            "Hashing.salt",
            Hashing::<B>::from_config(&json!({"num_bins": 3, "salt": [1, 2, 3]})).map(|_| ()),
        ),
        (
            "Hashing.output_mode",
            Hashing::<B>::from_config(&json!({"num_bins": 3, "output_mode": 3})).map(|_| ()),
        ),
        (
            "Discretization.bin_boundaries",
            Discretization::<B>::from_config(&json!({"bin_boundaries": "x"})).map(|_| ()),
        ),
        (
            "Normalization.axis",
            Normalization::<B>::from_config(&json!({"axis": "x"})).map(|_| ()),
        ),
        (
            "Normalization.mean",
            Normalization::<B>::from_config(&json!({"mean": [true]})).map(|_| ()),
        ),
        (
            "IntegerLookup.mask_token",
            IntegerLookup::<B>::from_config(&json!({"mask_token": "a"})).map(|_| ()),
        ),
        (
            "IntegerLookup.vocabulary",
            IntegerLookup::<B>::from_config(&json!({"vocabulary": ["a"]})).map(|_| ()),
        ),
        (
            "StringLookup.oov_token",
            StringLookup::from_config(&json!({"oov_token": 3})).map(|_| ()),
        ),
        (
            "StringLookup.vocabulary",
            StringLookup::from_config(&json!({"vocabulary": 3})).map(|_| ()),
        ),
    ];
    for (want, got) in cases {
        assert_eq!(config_path(got.unwrap_err()), want);
    }
    // Unknown output modes keep their own error.
    assert!(matches!(
        CategoryEncoding::from_config(&json!({"num_tokens": 3, "output_mode": "nope"})),
        Err(Error::UnknownName { .. })
    ));
    // A scalar mean/variance and a single axis are read as lists.
    let n =
        Normalization::<B>::from_config(&json!({"axis": 2, "mean": 1.0, "variance": 2})).unwrap();
    assert_eq!(
        n.get_config(),
        json!({"name": "", "axis": [2], "mean": [1.0], "variance": [2.0], "invert": false})
    );
    // A single salt is the pair [salt, salt]; an empty axis list is `axis=None`.
    let h = Hashing::<B>::from_config(&json!({"num_bins": 3, "salt": 9})).unwrap();
    assert_eq!(h.get_config()["salt"], json!([9, 9]));
    let n = Normalization::<B>::from_config(&json!({"axis": []})).unwrap();
    assert_eq!(n.get_config()["axis"], Value::Null);
}
