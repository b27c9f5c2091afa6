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
