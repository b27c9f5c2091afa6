//! What makes a script short (issue 19): host arrays given to `fit`/`evaluate`/`predict`
//! without an engine type, the chained `Sequential::layer` builder (errors at `compile`,
//! `build`, `fit`, `predict`), `evaluate`/`predict` on a shared model (`&self`, an
//! `Arc<Model>` serving threads), `History::best`/`stopped_epoch`, the typed `Padding`,
//! and the engine switch of `script!` (`STRATANET_BACKEND`). Generic over both engines.

#[macro_use]
mod common;

use std::sync::Arc;
use stratanet::datasets::{digits_host, train_test_split};
use stratanet::prelude::*;
use stratanet::{Backend, Error};

fn mlp<B: Backend>(seed: u64) -> Sequential<B> {
    let mut m = Sequential::<B>::new()
        .with_seed(seed)
        .layer(Input::new(&[64]))
        .layer(Dense::new(16).activation("relu"))
        .layer(Dense::new(10).activation("softmax"));
    m.compile(
        Sgd::new(0.1),
        "sparse_categorical_crossentropy",
        &["accuracy"],
    )
    .unwrap();
    m
}

fn opts<B: Backend>() -> FitOptions<B> {
    FitOptions::new()
        .epochs(2)
        .batch_size(64)
        .seed(3)
        .verbose(0)
}

/// Host arrays in every form train, evaluate and predict exactly like the same values
/// given as engine tensors.
fn host_forms_match_tensors<B: Backend>() {
    let (x, y) = digits_host().unwrap();
    let (x, y) = (x.head(300).unwrap(), y.head(300).unwrap());
    let xt = x.to_tensor::<B>(Device::Cpu).unwrap();
    let yt = y.to_tensor::<B>(Device::Cpu).unwrap();
    let xv = x.to_vec_f32();
    let yv = y.to_vec_i64();
    let rows: Vec<Vec<f32>> = xv.chunks(64).map(<[f32]>::to_vec).collect();

    let mut reference = mlp::<B>(1);
    reference.fit(&xt, &yt, opts()).unwrap();
    let want = reference.predict(&xt).unwrap().to_vec_f32().unwrap();
    let want_eval = reference.evaluate(&xt, &yt).unwrap();

    let mut a = mlp::<B>(1);
    a.fit(&x, &y, opts()).unwrap();
    let mut b = mlp::<B>(1);
    b.fit((xv.clone(), &[300, 64]), yv.clone(), opts()).unwrap();
    let mut c = mlp::<B>(1);
    c.fit(rows.clone(), &yv, opts()).unwrap();
    let mut d = mlp::<B>(1);
    d.fit((&xv[..], &[300usize, 64][..]), (&yv[..], &[300]), opts())
        .unwrap();
    for (name, m) in [
        ("HostTensor", &a),
        ("vec+shape", &b),
        ("rows", &c),
        ("slices", &d),
    ] {
        assert_eq!(m.predict(&x).unwrap().to_vec_f32().unwrap(), want, "{name}");
        assert_eq!(
            m.predict(rows.clone()).unwrap().to_vec_f32().unwrap(),
            want,
            "{name}"
        );
        let e = m.evaluate(&x, &y).unwrap();
        assert_eq!(
            e.value("loss").unwrap(),
            want_eval.value("loss").unwrap(),
            "{name}"
        );
    }
    // validation_data takes them too
    let mut v = mlp::<B>(1);
    let h = v.fit(&x, &y, opts().validation_data(&x, &y)).unwrap();
    assert!(h.last("val_accuracy").unwrap() > 0.0);
}

/// A shape that does not fit the values, ragged rows and a wrong count are errors of the
/// call, naming what is wrong; nothing panics.
fn host_form_errors<B: Backend>() {
    let m = mlp::<B>(1);
    let e = m.predict((vec![0.0f32; 10], &[2, 64])).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    assert!(
        e.to_string().contains("128 values for shape [2, 64]"),
        "{e}"
    );
    let ragged = vec![vec![0.0f32; 64], vec![0.0; 63]];
    let e = m.predict(ragged).unwrap_err();
    assert!(e.to_string().contains("row 1"), "{e}");
    let e = m
        .predict((vec![0.0f32; 6], &[2, 3]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("64") && e.contains('3'), "{e}");
    let x = HostTensor::f32(vec![0.0; 64], &[1, 64]).unwrap();
    let e = m.predict(vec![x.clone(), x]).unwrap_err().to_string();
    assert!(e.contains("2 tensors given"), "{e}");
}

/// `train_test_split` splits host arrays into the same rows as tensors.
fn split_host_like_tensors<B: Backend>() {
    let (x, y) = digits_host().unwrap();
    let (xt, yt) = (
        x.to_tensor::<B>(Device::Cpu).unwrap(),
        y.to_tensor::<B>(Device::Cpu).unwrap(),
    );
    let (a, b, c, d) = train_test_split(&x, &y, 0.2, 42).unwrap();
    let (at, bt, ct, dt) = train_test_split(&xt, &yt, 0.2, 42).unwrap();
    assert_eq!(a.shape, at.shape());
    assert_eq!(a.to_vec_f32(), at.to_vec_f32().unwrap());
    assert_eq!(b.to_vec_f32(), bt.to_vec_f32().unwrap());
    assert_eq!(c.to_vec_i64(), ct.to_vec_i64().unwrap());
    assert_eq!(d.to_vec_i64(), dt.to_vec_i64().unwrap());
    assert_eq!((b.n_rows(), d.n_rows()), (360, 360));
    let short = y.head(10).unwrap();
    assert!(train_test_split(&x, &short, 0.2, 0).is_err());
}

/// The chained builder makes the same model as `add`; its first error (and only it)
/// surfaces at compile, build, summary, fit and predict, and the layers after it are not
/// added.
fn chained_builder<B: Backend>() {
    let chained = mlp::<B>(5);
    let mut added = Sequential::<B>::new().with_seed(5);
    added.add(Input::new(&[64])).unwrap();
    added.add(Dense::new(16).activation("relu")).unwrap();
    added.add(Dense::new(10).activation("softmax")).unwrap();
    assert_eq!(chained.get_weights().unwrap(), added.get_weights().unwrap());

    let bad = || {
        Sequential::<B>::new()
            .layer(Input::new(&[4]))
            .layer(Dense::new(3))
            .layer(Reshape::new(&[5]))
            .layer(Dense::new(2))
    };
    let mut m = bad();
    assert_eq!(
        m.layers().len(),
        1,
        "layers after the failing one are not added"
    );
    let first = m.compile("adam", "mse", &[]).unwrap_err();
    assert!(matches!(first, Error::Shape { .. }), "{first}");
    // later calls report the same failure
    let again = m.compile("adam", "mse", &[]).unwrap_err().to_string();
    assert!(again.contains(&first.to_string()), "{again}");
    assert!(m.summary().unwrap_err().to_string().contains("reshape"));
    assert!(bad().build(&[4]).is_err());
    let x = HostTensor::f32(vec![0.0; 8], &[2, 4]).unwrap();
    assert!(m.predict(&x).unwrap_err().to_string().contains("reshape"));
    let mut f = bad();
    let e = f.fit(&x, (vec![0.0f32; 4], &[2, 2]), FitOptions::new().verbose(0));
    assert!(e.is_err());
}

/// `predict` and `evaluate` take `&self`: a loaded model needs no `mut`, and one model
/// behind an `Arc` serves eight threads, each getting the single-threaded result.
fn shared_model_serves_threads<B: Backend>() {
    fn assert_sync<T: Send + Sync>(_: &T) {}
    let (x, y) = digits_host().unwrap();
    let mut m = mlp::<B>(2);
    m.fit(&x, &y, opts()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    m.save(&path).unwrap();
    let loaded = Sequential::<B>::load(&path).unwrap();
    let want = loaded.predict(&x).unwrap().to_vec_f32().unwrap();
    assert_eq!(want, m.predict(&x).unwrap().to_vec_f32().unwrap());
    let scores = loaded.evaluate(&x, &y).unwrap();
    assert!(scores.value("accuracy").unwrap() > 0.2, "{scores}");

    let shared = Arc::new(loaded);
    assert_sync(&shared);
    let x = Arc::new(x);
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (m, x) = (Arc::clone(&shared), Arc::clone(&x));
            std::thread::spawn(move || {
                (0..5)
                    .map(|_| m.predict(&*x).unwrap().to_vec_f32().unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        for got in h.join().unwrap() {
            assert_eq!(got, want);
        }
    }
}

/// A Sequential model without an `Input` is built by `fit`; `predict` on it before that
/// says how to build it instead of building it behind a shared reference.
fn unbuilt_predict_explains<B: Backend>() {
    let mut m = Sequential::<B>::new().layer(Dense::new(2));
    let x = HostTensor::f32(vec![0.5; 6], &[2, 3]).unwrap();
    let e = m.predict(&x).unwrap_err();
    assert!(matches!(e, Error::NotReady { .. }), "{e}");
    assert!(e.to_string().contains("build(&[3])"), "{e}");
    m.compile("sgd", "mse", &[]).unwrap();
    m.fit(&x, (vec![0.0f32; 4], &[2, 2]), FitOptions::new().verbose(0))
        .unwrap();
    assert_eq!(m.predict(&x).unwrap().shape(), [2, 2]);
}

/// `History::best` picks the lowest loss and the highest accuracy (the epoch as logged);
/// `stopped_epoch` is where EarlyStopping stopped, and `None` when every epoch ran.
fn history_best_and_stopped_epoch<B: Backend>() {
    let (x, y) = digits_host().unwrap();
    let (x, y) = (x.head(400).unwrap(), y.head(400).unwrap());
    let mut m = mlp::<B>(4);
    let h = m
        .fit(&x, &y, opts().epochs(4).validation_split(0.2))
        .unwrap();
    assert_eq!(h.stopped_epoch(), None);
    let losses = h.get("val_loss").unwrap();
    let (e, v) = h.best("val_loss").unwrap();
    assert_eq!(v, losses.iter().copied().fold(f64::INFINITY, f64::min));
    assert_eq!(losses[e], v);
    let accs = h.get("val_accuracy").unwrap();
    let (e, v) = h.best("val_accuracy").unwrap();
    assert_eq!(v, accs.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    assert_eq!(accs[e], v);
    let (_, worst) = h.best_by("val_loss", Mode::Max).unwrap();
    assert_eq!(
        worst,
        losses.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    );
    let err = h.best("val_los").unwrap_err().to_string();
    assert!(err.contains("val_loss"), "{err}");

    // No change counts as an improvement after the first epoch (min_delta 1e9): stopped
    // after the second; initial_epoch counts.
    let mut m = mlp::<B>(4);
    let stop = EarlyStopping::new("val_loss").patience(1).min_delta(1e9);
    let h = m
        .fit(
            &x,
            &y,
            opts()
                .initial_epoch(3)
                .epochs(20)
                .validation_split(0.2)
                .callback(stop),
        )
        .unwrap();
    assert_eq!(h.epoch, vec![3, 4]);
    assert_eq!(h.stopped_epoch(), Some(4));
}

/// `Padding::Same` and `"same"` make the same layer and the same saved config.
fn typed_padding<B: Backend>() {
    let build = |p: Padding| {
        Sequential::<B>::new()
            .with_seed(0)
            .layer(Input::new(&[8, 8, 1]))
            .layer(Conv2D::new(2, 3).padding(p))
            .layer(MaxPooling2D::new(2).padding(Padding::Same))
    };
    let typed = build(Padding::Same);
    let mut named = Sequential::<B>::new().with_seed(0);
    named.add(Input::new(&[8, 8, 1])).unwrap();
    named.add(Conv2D::new(2, 3).padding("same")).unwrap();
    named.add(MaxPooling2D::new(2).padding("SAME")).unwrap();
    assert_eq!(typed.get_config(), named.get_config());
    assert!(typed
        .get_config()
        .to_string()
        .contains("\"padding\":\"same\""));
    assert_eq!(typed.output_shape().unwrap(), [4, 4, 2]);
    assert_eq!(build(Padding::Valid).output_shape().unwrap(), [3, 3, 2]);
    // an unknown name is still caught, naming it
    let mut bad = Sequential::<B>::new();
    bad.add(Input::new(&[8, 8, 1])).unwrap();
    let e = bad.add(Conv2D::new(2, 3).padding("full")).unwrap_err();
    assert!(e.to_string().contains("full"), "{e}");
}

engine_tests!(
    host_forms_match_tensors,
    host_form_errors,
    split_host_like_tensors,
    chained_builder,
    shared_model_serves_threads,
    unbuilt_predict_explains,
    history_best_and_stopped_epoch,
    typed_padding,
);

/// `script!`'s engine choice: `--backend` first, else `STRATANET_BACKEND`, else the
/// default; a bad name in the variable is an error naming it. (The only test in this
/// binary that reads the variable.)
#[test]
fn engine_from_env() {
    std::env::set_var("STRATANET_BACKEND", "candle");
    #[cfg(feature = "candle")]
    assert_eq!(stratanet::Engine::from_args().unwrap().name(), "candle");
    std::env::set_var("STRATANET_BACKEND", "mxnet");
    let e = stratanet::Engine::from_args().unwrap_err().to_string();
    assert!(
        e.contains("STRATANET_BACKEND") && e.contains("mxnet"),
        "{e}"
    );
    std::env::remove_var("STRATANET_BACKEND");
    assert_eq!(
        stratanet::Engine::from_args().unwrap(),
        stratanet::Engine::default_engine()
    );
}
