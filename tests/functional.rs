//! The functional API: graphs of layers with several inputs and outputs, shared layers,
//! residual merges, nested models, per-output losses, and graph errors.

mod common;

use stratanet::initializers::Initializer;
use stratanet::layers::{Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract};
use stratanet::prelude::*;
use stratanet::DefaultBackend as B;

fn t(v: Vec<f32>, shape: &[usize]) -> Tensor<B> {
    Tensor::<B>::from_vec(v, shape).unwrap()
}

#[test]
fn merges_compute_their_closed_forms() {
    let a = common::named_input("a", &[3]);
    let b = common::named_input("b", &[3]);
    let outs = vec![
        Add().apply_multi(&[a.clone(), b.clone()]).unwrap(),
        Subtract().apply_multi(&[a.clone(), b.clone()]).unwrap(),
        Multiply().apply_multi(&[a.clone(), b.clone()]).unwrap(),
        Average().apply_multi(&[a.clone(), b.clone()]).unwrap(),
        Maximum().apply_multi(&[a.clone(), b.clone()]).unwrap(),
        Minimum().apply_multi(&[a.clone(), b.clone()]).unwrap(),
        Concatenate::new(-1)
            .apply_multi(&[a.clone(), b.clone()])
            .unwrap(),
    ];
    let m = Model::new(&[a, b], &outs).unwrap();
    assert_eq!(m.count_params(), (0, 0));
    let xa = t(vec![1.0, -2.0, 3.0, 0.5, 0.0, -1.0], &[2, 3]);
    let xb = t(vec![2.0, 2.0, -1.0, 0.5, 4.0, -3.0], &[2, 3]);
    let r = m.predict_all([("b", &xb), ("a", &xa)], 8).unwrap();
    let va = xa.to_vec_f32().unwrap();
    let vb = xb.to_vec_f32().unwrap();
    let zip = |f: fn(f32, f32) -> f32| {
        va.iter()
            .zip(&vb)
            .map(|(x, y)| f(*x, *y))
            .collect::<Vec<_>>()
    };
    assert_eq!(r[0].to_vec_f32().unwrap(), zip(|x, y| x + y));
    assert_eq!(r[1].to_vec_f32().unwrap(), zip(|x, y| x - y));
    assert_eq!(r[2].to_vec_f32().unwrap(), zip(|x, y| x * y));
    assert_eq!(r[3].to_vec_f32().unwrap(), zip(|x, y| (x + y) / 2.0));
    assert_eq!(r[4].to_vec_f32().unwrap(), zip(f32::max));
    assert_eq!(r[5].to_vec_f32().unwrap(), zip(f32::min));
    assert_eq!(r[6].shape(), vec![2, 6]);
    assert_eq!(
        r[6].to_vec_f32().unwrap(),
        vec![1.0, -2.0, 3.0, 2.0, 2.0, -1.0, 0.5, 0.0, -1.0, 0.5, 4.0, -3.0]
    );
}

#[test]
fn residual_block_equals_x_plus_f_x() {
    stratanet::set_random_seed(5);
    let x = Input::new(&[4]).tensor::<B>();
    let h = Dense::new(4).activation("tanh").apply(&x).unwrap();
    let y = Add().apply_multi(&[x.clone(), h]).unwrap();
    let m = Model::new(&[x], &[y]).unwrap();
    let w = m.weights();
    let kernel = w[0].1.value.to_vec_f32().unwrap();
    let bias = w[1].1.value.to_vec_f32().unwrap();
    let input = vec![0.5f32, -1.0, 2.0, 0.25];
    let out = m
        .predict_with(t(input.clone(), &[1, 4]), 1)
        .unwrap()
        .to_vec_f32()
        .unwrap();
    for j in 0..4 {
        let z: f32 = (0..4).map(|i| input[i] * kernel[i * 4 + j]).sum::<f32>() + bias[j];
        assert!((out[j] - (input[j] + z.tanh())).abs() < 1e-5);
    }
}

#[test]
fn shared_layer_has_one_set_of_weights_trained_through_both_uses() {
    stratanet::set_random_seed(6);
    let a = Input::new(&[2]).tensor::<B>();
    let b = Input::new(&[2]).tensor::<B>();
    let shared = Shared::new(
        Dense::new(1)
            .use_bias(false)
            .kernel_initializer(Initializer::Ones),
    );
    let ya = shared.apply(&a).unwrap();
    let yb = shared.apply(&b).unwrap();
    let y = Add().apply_multi(&[ya, yb]).unwrap();
    let mut m = Model::new(&[a, b], &[y]).unwrap();
    assert_eq!(m.count_params(), (2, 0));
    m.compile(Sgd::new(0.1), "mse", &[]).unwrap();
    let xa = t(vec![1.0, 0.0], &[1, 2]);
    let xb = t(vec![0.0, 2.0], &[1, 2]);
    let y = t(vec![0.0], &[1, 1]);
    // y_hat = w.xa + w.xb = w1 + 2 w2 = 3; loss = 9; dL/dw = 2 * 3 * (xa + xb) = [6, 12]
    m.train_on_batch(vec![xa, xb], &y).unwrap();
    let w = m.weights()[0].1.value.to_vec_f32().unwrap();
    assert!(
        (w[0] - (1.0 - 0.6)).abs() < 1e-6 && (w[1] - (1.0 - 1.2)).abs() < 1e-6,
        "{w:?}"
    );
}

#[test]
fn multi_output_losses_are_weighted_and_logged_per_output() {
    stratanet::set_random_seed(7);
    let x = common::named_input("x", &[2]);
    let zeros = || {
        Dense::new(1)
            .kernel_initializer(Initializer::Zeros)
            .use_bias(false)
    };
    let o1 = zeros().name("first").apply(&x).unwrap();
    let o2 = zeros().name("second").apply(&x).unwrap();
    let mut m = Model::new(&[x], &[o1, o2]).unwrap();
    m.compile_with(
        Compile::new(Sgd::new(0.0))
            .loss("first", "mse")
            .loss("second", "mae")
            .loss_weight("second", 0.5),
    )
    .unwrap();
    let xs = Tensor::<B>::zeros(&[4, 2], DType::F32, Device::Cpu).unwrap();
    let y1 = t(vec![1.0, 2.0, 3.0, 4.0], &[4, 1]);
    let y2 = t(vec![-2.0, 2.0, -2.0, 2.0], &[4, 1]);
    let logs = m
        .evaluate_with(&xs, [("second", &y2), ("first", &y1)], 4)
        .unwrap();
    let mse = (1.0 + 4.0 + 9.0 + 16.0) / 4.0;
    let mae = 2.0;
    assert!((logs.get("first_loss").unwrap() - mse).abs() < 1e-6);
    assert!((logs.get("second_loss").unwrap() - mae).abs() < 1e-6);
    assert!((logs.get("loss").unwrap() - (mse + 0.5 * mae)).abs() < 1e-6);
    // by position works too
    let logs2 = m
        .evaluate_with(&xs, vec![y1.clone(), y2.clone()], 2)
        .unwrap();
    assert_eq!(logs, logs2);
    // errors name what is wrong
    let e = m.evaluate_with(&xs, [("third", &y1)], 4).unwrap_err();
    assert!(
        e.to_string()
            .contains("unknown y name 'third'; known: first, second"),
        "{e}"
    );
    let e = m.evaluate_with(&xs, &y1, 4).unwrap_err();
    assert!(
        e.to_string()
            .contains("the model has 2 of them (first, second)"),
        "{e}"
    );
    let e = m
        .compile_with(Compile::new("sgd").loss("nope", "mse"))
        .unwrap_err();
    assert!(e.to_string().contains("unknown output 'nope'"), "{e}");
}

#[test]
fn functional_model_trains_like_the_equivalent_sequential() {
    let build_seq = || {
        let mut s = Sequential::<B>::new().with_seed(42);
        s.add(Input::new(&[3])).unwrap();
        s.add(Dense::new(5).activation("relu")).unwrap();
        s.add(Dense::new(2).activation("softmax")).unwrap();
        s
    };
    let mut s = build_seq();
    let x = Input::new(&[3]).tensor::<B>();
    let h = Dense::new(5).activation("relu").apply(&x).unwrap();
    let y = Dense::new(2).activation("softmax").apply(&h).unwrap();
    let mut f = Model::new(&[x], &[y]).unwrap().with_seed(1);
    // same starting weights
    f.set_weights(&s.get_weights().unwrap()).unwrap();
    let xs = common::uniform(&[32, 3], 3);
    let ys = common::positive_sum_labels(&xs, false, DType::I64);
    s.compile(
        Adam::new(0.01),
        "sparse_categorical_crossentropy",
        &["accuracy"],
    )
    .unwrap();
    f.compile(
        Adam::new(0.01),
        "sparse_categorical_crossentropy",
        &["accuracy"],
    )
    .unwrap();
    let opts = || FitOptions::new().epochs(3).batch_size(8).seed(9).verbose(0);
    let hs = s.fit(&xs, &ys, opts()).unwrap();
    let hf = f.fit(&xs, &ys, opts()).unwrap();
    assert_eq!(hs, hf);
    assert_eq!(s.get_weights().unwrap(), f.get_weights().unwrap());
}

#[test]
fn nested_model_is_a_layer_sharing_its_weights() {
    stratanet::set_random_seed(8);
    let xi = Input::new(&[4]).tensor::<B>();
    let enc = Dense::new(2).activation("tanh").apply(&xi).unwrap();
    let encoder = Model::new(&[xi], &[enc]).unwrap().with_name("encoder");
    let encoder = Shared::new(encoder);
    let x = Input::new(&[4]).tensor::<B>();
    let z = encoder.apply(&x).unwrap();
    let out = Dense::new(1).apply(&z).unwrap();
    let mut m = Model::new(&[x], &[out]).unwrap();
    assert_eq!(m.count_params().0, 4 * 2 + 2 + 2 + 1);
    let names: Vec<String> = m.weights().into_iter().map(|(n, _)| n).collect();
    assert!(
        names.contains(&"encoder/dense/kernel".to_string()),
        "{names:?}"
    );
    let before = m.get_weights().unwrap();
    m.compile("adam", "mse", &[]).unwrap();
    let xs = common::uniform(&[8, 4], 1);
    let ys = Tensor::<B>::ones(&[8, 1], DType::F32, Device::Cpu).unwrap();
    m.fit(&xs, &ys, FitOptions::new().epochs(2).verbose(0))
        .unwrap();
    let after = m.get_weights().unwrap();
    assert_ne!(before[0], after[0], "the nested encoder's kernel trained");
    let s = m.summary().unwrap();
    println!("{s}");
    assert!(s.contains("encoder (Functional)"), "{s}");
    assert!(s.contains("Connected to"), "{s}");
}

#[test]
fn summary_lists_connections() {
    stratanet::set_random_seed(9);
    let x = Input::new(&[4]).name("features").tensor::<B>();
    let h = Dense::new(4).apply(&x).unwrap();
    let y = Add().apply_multi(&[x.clone(), h]).unwrap();
    let m = Model::new(&[x], &[y]).unwrap();
    let s = m.summary().unwrap();
    println!("{s}");
    assert!(s.contains("│ features (InputLayer)"), "{s}");
    assert!(s.contains("│ dense (Dense)"), "{s}");
    assert!(s.contains("features[0][0]"), "{s}");
    assert!(
        s.contains("features[0][0], dense[0][0]") || s.contains("features[0][0],"),
        "{s}"
    );
    assert!(s.contains("Connected to"), "{s}");
    assert!(s.contains(" Total params: 20 (80.00 B)"), "{s}");
}

#[test]
fn graph_errors_are_clear() {
    // merge of mismatched shapes: at apply time, naming the layer and both shapes
    let a = Input::new(&[3]).tensor::<B>();
    let b = Input::new(&[4]).tensor::<B>();
    let e = Add().apply_multi(&[a.clone(), b.clone()]).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("add") && msg.contains("[3]") && msg.contains("[4]"),
        "{msg}"
    );
    let e = Concatenate::new(-1)
        .apply_multi(&[a.clone(), Input::new(&[2, 2]).tensor::<B>()])
        .unwrap_err();
    assert!(e.to_string().contains("concatenate"), "{e}");
    // an output that depends on an input not given
    let y = Concatenate::new(-1)
        .apply_multi(&[a.clone(), Input::new(&[1]).name("extra").tensor::<B>()])
        .unwrap();
    let e = Model::new(std::slice::from_ref(&a), &[y]).unwrap_err();
    assert!(
        e.to_string().contains("disconnected") && e.to_string().contains("'extra'"),
        "{e}"
    );
    // a non-input as input
    let h = Dense::new(2).apply(&a).unwrap();
    let e = Model::new(std::slice::from_ref(&h), std::slice::from_ref(&h)).unwrap_err();
    assert!(e.to_string().contains("not an Input tensor"), "{e}");
    // a layer given the wrong shape at apply time
    let e = Dense::new(2)
        .apply(&Input::new(&[]).tensor::<B>())
        .unwrap_err();
    assert!(e.to_string().contains("dense"), "{e}");
    // a single-input layer given two inputs
    let e = Dense::new(2)
        .apply_multi(&[a.clone(), a.clone()])
        .unwrap_err();
    assert!(e.to_string().contains("takes one input, got 2"), "{e}");
    // wrong input shape at fit time names the input
    let out = Dense::new(1).apply(&a).unwrap();
    let mut m = Model::new(&[a], &[out]).unwrap();
    m.compile("sgd", "mse", &[]).unwrap();
    let e = m
        .fit(
            Tensor::<B>::zeros(&[5, 7], DType::F32, Device::Cpu).unwrap(),
            Tensor::<B>::zeros(&[5, 1], DType::F32, Device::Cpu).unwrap(),
            FitOptions::new().verbose(0),
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "input_layer: input expected shape [batch, 3], got shape [5, 7]"
    );
}

#[test]
fn functional_config_round_trip_rebuilds_the_graph() {
    stratanet::set_random_seed(10);
    let a = common::named_input("a", &[3]);
    let b = common::named_input("b", &[3]);
    let shared = Shared::new(Dense::new(4).activation("relu"));
    let ha = shared.apply(&a).unwrap();
    let hb = shared.apply(&b).unwrap();
    let merged = Concatenate::new(-1).apply_multi(&[ha, hb]).unwrap();
    let out = Dense::new(2).name("out").apply(&merged).unwrap();
    let m = Model::new(&[a, b], &[out]).unwrap().with_name("siamese");
    let cfg = m.get_config();
    let mut m2 = Model::<B>::from_config(&cfg).unwrap();
    assert_eq!(m2.get_config(), cfg);
    assert_eq!(m2.summary().unwrap(), m.summary().unwrap());
    assert_eq!(m2.count_params(), m.count_params());
    // same weights -> same predictions
    m2.set_weights(&m.get_weights().unwrap()).unwrap();
    let xa = common::uniform(&[5, 3], 1);
    let xb = common::uniform(&[5, 3], 2);
    let p1 = m
        .predict_with(vec![xa.clone(), xb.clone()], 5)
        .unwrap()
        .to_vec_f32()
        .unwrap();
    let p2 = m2
        .predict_with(vec![xa, xb], 5)
        .unwrap()
        .to_vec_f32()
        .unwrap();
    assert_eq!(p1, p2);
    // a malformed config is an error, not a panic
    let mut broken = cfg.clone();
    broken["nodes"][3]["inputs"] = serde_json::json!([[42, 0]]);
    assert!(Model::<B>::from_config(&broken).is_err());
    let mut unknown = cfg.clone();
    unknown["layers"][0]["class_name"] = serde_json::json!("NoSuchLayer");
    let e = Model::<B>::from_config(&unknown).unwrap_err();
    assert!(e.to_string().contains("register_layer"), "{e}");
}

#[test]
fn custom_layers_load_once_registered() {
    use stratanet::layers::{register_layer, BuildContext, CallContext, Layer};
    #[derive(Debug)]
    struct Scale {
        factor: f64,
        name: String,
    }
    impl Layer<B> for Scale {
        fn class_name(&self) -> &'static str {
            "TestScale"
        }
        fn name(&self) -> &str {
            &self.name
        }
        fn set_name(&mut self, name: String) {
            self.name = name;
        }
        fn built(&self) -> bool {
            true
        }
        fn build(&mut self, _: &[usize], _: &mut BuildContext) -> stratanet::Result<()> {
            Ok(())
        }
        fn output_shape(&self, s: &[usize]) -> stratanet::Result<Vec<usize>> {
            Ok(s.to_vec())
        }
        fn call(&self, x: &Tensor<B>, _: &mut CallContext) -> stratanet::Result<Tensor<B>> {
            x.mul_scalar(self.factor)
        }
        fn get_config(&self) -> serde_json::Value {
            serde_json::json!({"name": self.name, "factor": self.factor})
        }
    }
    let mut m = Sequential::<B>::new().with_seed(0);
    m.add(Input::new(&[2])).unwrap();
    m.add(Scale {
        factor: 3.0,
        name: String::new(),
    })
    .unwrap();
    let cfg = m.get_config();
    let e = Sequential::<B>::from_config(&cfg).unwrap_err();
    assert!(
        e.to_string().contains("unknown layer class") && e.to_string().contains("TestScale"),
        "{e}"
    );
    register_layer::<B>("TestScale", |cfg| {
        Ok(Box::new(Scale {
            factor: cfg["factor"].as_f64().unwrap_or(1.0),
            name: cfg["name"].as_str().unwrap_or("").to_string(),
        }))
    });
    let m2 = Sequential::<B>::from_config(&cfg).unwrap();
    let x = t(vec![1.0, -2.0], &[1, 2]);
    assert_eq!(
        m2.predict_with(&x, 1).unwrap().to_vec_f32().unwrap(),
        vec![3.0, -6.0]
    );
    assert_eq!(
        m.predict_with(&x, 1).unwrap().to_vec_f32().unwrap(),
        vec![3.0, -6.0]
    );
}
