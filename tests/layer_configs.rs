//! Layer configs as types: the JSON a layer's `get_config` writes is the one written before
//! the configs became serde structs, and a bad field is reported at `Class.field`.

use serde_json::json;
use stratanet::activations::Activation;
use stratanet::initializers::Initializer;
use stratanet::layers::{layer_from_config, Dense, Dropout, Embedding, Layer};
use stratanet::regularizers::Regularizer;
use stratanet::DefaultBackend as B;

/// The JSON the hand-written `get_config` of Dense wrote before configs became types.
#[test]
fn dense_config_json_is_unchanged() {
    let d = Dense::<B>::new(3)
        .activation(Activation::LeakyRelu(0.1))
        .use_bias(false)
        .kernel_initializer(Initializer::RandomNormal(0.0, 0.5))
        .bias_initializer(Initializer::Constant(2.0))
        .kernel_regularizer(Regularizer { l1: 0.0, l2: 0.01 })
        .name("d");
    let expected = json!({
        "name": "d",
        "units": 3,
        "activation": {"name": "leaky_relu", "negative_slope": 0.1},
        "use_bias": false,
        "kernel_initializer": {"name": "random_normal", "mean": 0.0, "stddev": 0.5},
        "bias_initializer": {"name": "constant", "value": 2.0},
        "kernel_regularizer": {"l1": 0.0, "l2": 0.01},
        "bias_regularizer": null,
        "activity_regularizer": null,
        "trainable": true,
    });
    assert_eq!(d.get_config(), expected);
    let back = layer_from_config::<B>("Dense", &expected).unwrap();
    assert_eq!(back.get_config(), expected);
    let plain = Layer::<B>::get_config(&Dense::<B>::new(2));
    assert_eq!(plain["activation"], json!("linear"));
    assert_eq!(plain["kernel_initializer"], json!("glorot_uniform"));
}

#[test]
fn other_configs_json_is_unchanged() {
    let d = Dropout::new(0.25).seed(7);
    let cfg = Layer::<B>::get_config(&d);
    assert_eq!(cfg, json!({"name": "", "rate": 0.25, "seed": 7}));
    let e = Embedding::<B>::new(10, 4).mask_zero(true);
    assert_eq!(
        e.get_config(),
        json!({"name": "", "input_dim": 10, "output_dim": 4, "mask_zero": true,
               "embeddings_initializer": {"name": "random_uniform", "minval": -0.05, "maxval": 0.05},
               "trainable": true})
    );
}

#[test]
fn bad_field_names_layer_and_field() {
    let e = layer_from_config::<B>("Dense", &json!({"units": 2, "use_bias": "yes"}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("Dense.use_bias"), "{e}");
    // an unknown name keeps its own error (listing the known names)
    let e =
        layer_from_config::<B>("Dense", &json!({"units": 2, "activation": "nope"})).unwrap_err();
    assert!(matches!(e, stratanet::Error::UnknownName { .. }), "{e:?}");
    let e = layer_from_config::<B>("Dense2", &json!({}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("Dense") && e.contains("Concatenate"), "{e}");
}

/// Checks `get_config` against the JSON main wrote before the migration, and that
/// `layer_from_config` reads it back to the same JSON.
fn pinned(class: &str, layer: &dyn Layer<B>, expected: serde_json::Value) {
    assert_eq!(layer.get_config(), expected, "{class}");
    let back = layer_from_config::<B>(class, &expected).unwrap();
    assert_eq!(back.get_config(), expected, "{class} round trip");
}

#[test]
fn pooling_configs_json_is_unchanged() {
    use stratanet::layers::{AveragePooling1D, GlobalAveragePooling1D, MaxPooling2D};
    let mp = MaxPooling2D::new([2, 3])
        .strides(1)
        .padding("same")
        .name("mp");
    pinned(
        "MaxPooling2D",
        &mp,
        json!({"data_format": "channels_last", "name": "mp", "padding": "same",
               "pool_size": [2, 3], "strides": [1, 1]}),
    );
    pinned(
        "AveragePooling1D",
        &AveragePooling1D::new(3),
        json!({"data_format": "channels_last", "name": "", "padding": "valid",
               "pool_size": [3], "strides": [3]}),
    );
    pinned(
        "GlobalAveragePooling1D",
        &GlobalAveragePooling1D::new().keepdims(true).name("g"),
        json!({"data_format": "channels_last", "keepdims": true, "name": "g"}),
    );
}

#[test]
fn reshaping_configs_json_is_unchanged() {
    use stratanet::layers::{Permute, RepeatVector, UpSampling2D, ZeroPadding2D};
    pinned(
        "ZeroPadding2D",
        &ZeroPadding2D::asymmetric([(1, 2), (0, 3)]).name("z"),
        json!({"data_format": "channels_last", "name": "z", "padding": [[1, 2], [0, 3]]}),
    );
    pinned(
        "UpSampling2D",
        &UpSampling2D::new([2, 3]),
        json!({"data_format": "channels_last", "interpolation": "nearest", "name": "",
               "size": [2, 3]}),
    );
    pinned(
        "Permute",
        &Permute::new(&[2, 1]),
        json!({"dims": [2, 1], "name": ""}),
    );
    pinned(
        "RepeatVector",
        &RepeatVector::new(4),
        json!({"n": 4, "name": ""}),
    );
}

#[test]
fn core_configs_json_is_unchanged() {
    use stratanet::layers::{ActivationLayer, Flatten, Input, Reshape};
    pinned(
        "InputLayer",
        &Input::new(&[3, 4]).name("in"),
        json!({"name": "in", "shape": [3, 4]}),
    );
    pinned(
        "Activation",
        &ActivationLayer::new("relu"),
        json!({"activation": "relu", "name": ""}),
    );
    pinned("Flatten", &Flatten::new(), json!({"name": ""}));
    pinned(
        "Reshape",
        &Reshape::new(&[-1, 2]),
        json!({"name": "", "target_shape": [-1, 2]}),
    );
}

#[test]
fn merging_configs_json_is_unchanged() {
    use stratanet::layers::{Add, Concatenate};
    pinned("Add", &Add().name("a"), json!({"name": "a"}));
    pinned(
        "Concatenate",
        &Concatenate::new(1),
        json!({"axis": 1, "name": ""}),
    );
}

#[test]
fn attention_config_json_is_unchanged() {
    use stratanet::layers::MultiHeadAttention;
    let mha = MultiHeadAttention::<B>::new(2, 4)
        .dropout(0.1)
        .seed(3)
        .name("att");
    pinned(
        "MultiHeadAttention",
        &mha,
        json!({"bias_initializer": "zeros", "dropout": 0.1, "kernel_initializer": "glorot_uniform",
               "key_dim": 4, "name": "att", "num_heads": 2, "output_shape": null,
               "return_attention_scores": false, "seed": 3, "trainable": true, "use_bias": true,
               "use_causal_mask": false, "value_dim": 4}),
    );
}

#[test]
fn conv_and_recurrent_configs_json_is_unchanged() {
    use stratanet::layers::{Conv1D, Conv2D, LSTM};
    let c = Conv2D::<B>::new(4, [3, 2])
        .strides(2)
        .padding("same")
        .activation("relu");
    pinned(
        "Conv2D",
        &c,
        json!({"activation": "relu", "activity_regularizer": null, "bias_initializer": "zeros",
               "bias_regularizer": null, "data_format": "channels_last", "dilation_rate": [1, 1],
               "filters": 4, "groups": 1, "kernel_initializer": "glorot_uniform",
               "kernel_regularizer": null, "kernel_size": [3, 2], "name": "", "padding": "same",
               "strides": [2, 2], "trainable": true, "use_bias": true}),
    );
    pinned(
        "Conv1D",
        &Conv1D::<B>::new(4, 3),
        json!({"activation": "linear", "activity_regularizer": null, "bias_initializer": "zeros",
               "bias_regularizer": null, "data_format": "channels_last", "dilation_rate": [1],
               "filters": 4, "groups": 1, "kernel_initializer": "glorot_uniform",
               "kernel_regularizer": null, "kernel_size": [3], "name": "", "padding": "valid",
               "strides": [1], "trainable": true, "use_bias": true}),
    );
    pinned(
        "LSTM",
        &LSTM::<B>::new(5).return_sequences(true),
        json!({"activation": "tanh", "bias_initializer": "zeros", "dropout": 0.0,
               "go_backwards": false, "kernel_initializer": "glorot_uniform", "name": "",
               "recurrent_activation": "sigmoid", "recurrent_dropout": 0.0,
               "recurrent_initializer": "orthogonal", "return_sequences": true,
               "return_state": false, "seed": null, "trainable": true, "unit_forget_bias": true,
               "units": 5, "use_bias": true}),
    );
}

/// The keys the hand-written recurrent `get_config` wrote per class: SimpleRNN has no
/// `recurrent_activation`, only the LSTM writes `unit_forget_bias`, only the GRU
/// `reset_after`; `Bidirectional` nests its layer under `layer`.
#[test]
fn recurrent_family_configs_json_is_unchanged() {
    use stratanet::layers::{Bidirectional, MergeMode, SimpleRNN, GRU};
    let base = json!({"activation": "tanh", "bias_initializer": "zeros", "dropout": 0.0,
                      "go_backwards": false, "kernel_initializer": "glorot_uniform",
                      "name": "", "recurrent_dropout": 0.0,
                      "recurrent_initializer": "orthogonal", "return_sequences": false,
                      "return_state": false, "seed": null, "trainable": true, "units": 3,
                      "use_bias": true});
    pinned("SimpleRNN", &SimpleRNN::<B>::new(3), base.clone());
    let mut gru = base.clone();
    gru["recurrent_activation"] = json!("sigmoid");
    gru["reset_after"] = json!(true);
    gru["dropout"] = json!(0.25);
    gru["seed"] = json!(9);
    gru["recurrent_initializer"] = json!("zeros");
    pinned(
        "GRU",
        &GRU::<B>::new(3)
            .dropout(0.25)
            .seed(9)
            .recurrent_initializer(Initializer::Zeros),
        gru.clone(),
    );
    let bi = Bidirectional::new(GRU::<B>::new(3).dropout(0.25).seed(9))
        .merge_mode(MergeMode::Sum)
        .name("bi");
    let mut inner = gru.clone();
    inner["recurrent_initializer"] = json!("orthogonal");
    inner["name"] = json!("bi/forward_gru");
    let expected = json!({"name": "bi", "merge_mode": "sum",
                          "layer": {"class_name": "GRU", "config": inner}});
    let mut bi = bi;
    Layer::<B>::set_name(&mut bi, "bi".into());
    assert_eq!(Layer::<B>::get_config(&bi), expected);
    let back = layer_from_config::<B>("Bidirectional", &expected).unwrap();
    assert_eq!(back.get_config()["merge_mode"], json!("sum"));
    assert_eq!(back.get_config()["layer"]["config"]["dropout"], json!(0.25));
}

#[test]
fn recurrent_bad_fields_name_class_and_field() {
    let cfg = |extra: serde_json::Value| {
        let mut c = json!({"units": 2});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    for (class, extra, path) in [
        ("LSTM", json!({"use_bias": "yes"}), "LSTM.use_bias"),
        ("GRU", json!({"dropout": "half"}), "GRU.dropout"),
        ("GRU", json!({"reset_after": false}), "GRU.reset_after"),
        ("SimpleRNN", json!({"units": -1}), "SimpleRNN"),
    ] {
        let e = layer_from_config::<B>(class, &cfg(extra))
            .unwrap_err()
            .to_string();
        assert!(e.contains(path), "{class}: {e}");
    }
    let bad_mode = json!({"merge_mode": "stack",
                          "layer": {"class_name": "LSTM", "config": {"units": 2}}});
    let e = layer_from_config::<B>("Bidirectional", &bad_mode)
        .unwrap_err()
        .to_string();
    assert!(e.contains("stack"), "{e}");
}
