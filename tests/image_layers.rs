//! Image preprocessing and augmentation layers: Rescaling, Resizing, CenterCrop and the
//! Random* layers against Keras 3 (`tests/fixtures/image_layers.safetensors`, written by
//! `scripts/make_image_fixtures.py` with keras 3.15.1 on torch; the random layers with a
//! factor range of zero width, i.e. one known transform), statistical properties of the
//! random draws, seeding, inference identity, config round trips and saving inside a
//! model. Runs on candle and, with feature `tch`, libtorch.

#[macro_use]
mod common;

#[macro_use]
mod layer_fixtures;

use layer_fixtures::{call_error, round_trip, Fixture};
use stratanet::layers::{
    CallContext, CenterCrop, Conv2D, Dense, Flatten, Input, Layer, RandomBrightness,
    RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom, Rescaling, Resizing,
};
use stratanet::{Backend, DType, Device, Sequential, Tensor};

/// Values in 0..255: rounding of the sampling coordinates (Keras computes them in f32)
/// moves outputs by ~1e-4.
const ABS: f64 = 2e-3;
const REL: f64 = 1e-5;

fn check<B: Backend>(fx: &Fixture, case: &str, layer: &dyn Layer<B>, training: bool) {
    let x = fx.tensor::<B>(&format!("{case}/x"));
    let mut ctx = if training {
        CallContext::training(11)
    } else {
        CallContext::inference()
    };
    let y = layer
        .call(&x, &mut ctx)
        .unwrap_or_else(|e| panic!("{case}: {e}"));
    let (shape, want) = fx.values(&format!("{case}/y"));
    assert_eq!(y.shape(), shape, "{}: {case}: shape", B::NAME);
    common::assert_all_close(
        &format!("{}: {case}", B::NAME),
        &y.to_vec_f64().unwrap(),
        &want,
        ABS,
        REL,
    );
    // The declared output shape agrees with the computed one.
    assert_eq!(
        layer.output_shape(&x.shape()[1..]).unwrap(),
        shape[1..].to_vec(),
        "{case}: output_shape"
    );
    round_trip::<B>(layer);
}

fn keras_fixtures<B: Backend>() {
    let fx = Fixture::load("image_layers.safetensors");
    let cases: Vec<(&str, Box<dyn Layer<B>>, bool)> = vec![
        (
            "rescaling",
            Box::new(Rescaling::new(1.0 / 127.5, -1.0)),
            false,
        ),
        (
            "rescaling_channels",
            Box::new(Rescaling::per_channel(
                vec![0.5, 2.0, -1.0],
                vec![1.0, 0.0, 3.0],
            )),
            false,
        ),
        ("resize_down", Box::new(Resizing::new(4, 5)), false),
        ("resize_up", Box::new(Resizing::new(11, 13)), false),
        ("resize_mixed", Box::new(Resizing::new(3, 14)), false),
        (
            "resize_nearest",
            Box::new(Resizing::new(5, 4).interpolation("nearest")),
            false,
        ),
        (
            "resize_crop",
            Box::new(Resizing::new(4, 4).crop_to_aspect_ratio(true)),
            false,
        ),
        (
            "resize_crop_wide",
            Box::new(Resizing::new(3, 8).crop_to_aspect_ratio(true)),
            false,
        ),
        (
            "resize_pad",
            Box::new(
                Resizing::new(6, 6)
                    .pad_to_aspect_ratio(true)
                    .fill_value(7.0),
            ),
            false,
        ),
        ("center_crop", Box::new(CenterCrop::new(4, 6)), false),
        ("center_crop_odd", Box::new(CenterCrop::new(5, 4)), false),
        ("center_crop_up", Box::new(CenterCrop::new(8, 6)), false),
        (
            "rotation_nearest_interp",
            Box::new(
                RandomRotation::new((-0.1, -0.1))
                    .interpolation("nearest")
                    .fill_mode("constant"),
            ),
            true,
        ),
        ("rotation_zero", Box::new(RandomRotation::new(0.0)), true),
        (
            "rotation_inference",
            Box::new(RandomRotation::new(0.3)),
            false,
        ),
        (
            "zoom_out",
            Box::new(
                RandomZoom::new((0.3, 0.3))
                    .fill_mode("constant")
                    .fill_value(4.0),
            ),
            true,
        ),
        (
            "zoom_in_width",
            Box::new(RandomZoom::new((-0.4, -0.4)).width_factor((0.2, 0.2))),
            true,
        ),
        (
            "zoom_wrap",
            Box::new(
                RandomZoom::new((0.5, 0.5))
                    .width_factor((0.5, 0.5))
                    .fill_mode("wrap"),
            ),
            true,
        ),
        (
            "translation",
            Box::new(RandomTranslation::new((0.25, 0.25), (-0.1, -0.1))),
            true,
        ),
        (
            "translation_constant",
            Box::new(RandomTranslation::new((-0.3, -0.3), (0.35, 0.35)).fill_mode("constant")),
            true,
        ),
        (
            "translation_nearest",
            Box::new(
                RandomTranslation::new((0.5, 0.5), (0.5, 0.5))
                    .fill_mode("nearest")
                    .interpolation("nearest"),
            ),
            true,
        ),
        ("contrast", Box::new(RandomContrast::new((-0.5, 0.5))), true),
        (
            "contrast_unit",
            Box::new(RandomContrast::new((-0.3, 0.3)).value_range([0.0, 1.0])),
            true,
        ),
        (
            "brightness_up",
            Box::new(RandomBrightness::new((0.2, 0.2))),
            true,
        ),
        (
            "brightness_down",
            Box::new(RandomBrightness::new((-0.3, -0.3)).value_range([0.0, 1.0])),
            true,
        ),
    ];
    for (case, layer, training) in &cases {
        check::<B>(&fx, case, layer.as_ref(), *training);
    }
    for mode in ["reflect", "wrap", "constant", "nearest"] {
        let layer = RandomRotation::new((0.125, 0.125))
            .fill_mode(mode)
            .fill_value(9.0);
        check::<B>(&fx, &format!("rotation_{mode}"), &layer, true);
    }
}

/// Every output image of RandomFlip is its input or Keras' flip of it, and a big batch
/// flips about half of them.
fn flip_matches_keras<B: Backend>() {
    let fx = Fixture::load("image_layers.safetensors");
    for mode in ["horizontal", "vertical", "horizontal_and_vertical"] {
        let x = fx.tensor::<B>(&format!("flip_{mode}/x"));
        let (_, full) = fx.values(&format!("flip_{mode}/full"));
        let xs = x.to_vec_f64().unwrap();
        let layer = RandomFlip::new(mode).seed(5);
        let y = Layer::<B>::call(&layer, &x, &mut CallContext::training(1))
            .unwrap()
            .to_vec_f64()
            .unwrap();
        let per = 12;
        let mut flipped = 0;
        for i in 0..64 {
            let r = i * per..(i + 1) * per;
            if y[r.clone()] == full[r.clone()] {
                flipped += 1;
            } else {
                assert_eq!(y[r.clone()], xs[r], "{mode}: image {i} is neither");
            }
        }
        assert!(
            (16..=48).contains(&flipped),
            "{mode}: {flipped} of 64 flipped"
        );
    }
}

fn random_images<B: Backend>(n: usize, h: usize, w: usize, c: usize, seed: u64) -> Tensor<B> {
    Tensor::<B>::uniform(&[n, h, w, c], 20.0, 230.0, seed, DType::F32, Device::Cpu).unwrap()
}

/// RandomFlip("horizontal") flips ~50% of a big batch; seeded calls repeat; different
/// call seeds differ; inference is the identity.
fn flip_statistics<B: Backend>() {
    let x = random_images::<B>(2000, 2, 3, 1, 3);
    let xs = x.to_vec_f32().unwrap();
    let layer = RandomFlip::new("horizontal").seed(42);
    let y = Layer::<B>::call(&layer, &x, &mut CallContext::training(7))
        .unwrap()
        .to_vec_f32()
        .unwrap();
    let mut flipped = 0;
    for i in 0..2000 {
        let img = &xs[i * 6..(i + 1) * 6];
        let out = &y[i * 6..(i + 1) * 6];
        let mirror: Vec<f32> = [2, 1, 0, 5, 4, 3].iter().map(|&k| img[k]).collect();
        if out == mirror.as_slice() {
            flipped += 1;
        } else {
            assert_eq!(out, img);
        }
    }
    let share = flipped as f64 / 2000.0;
    assert!((share - 0.5).abs() < 0.05, "flipped {share}");
    let again = Layer::<B>::call(&layer, &x, &mut CallContext::training(7)).unwrap();
    assert_eq!(again.to_vec_f32().unwrap(), y, "same seeds, same flips");
    let other = Layer::<B>::call(&layer, &x, &mut CallContext::training(8)).unwrap();
    assert_ne!(
        other.to_vec_f32().unwrap(),
        y,
        "another call seed, other flips"
    );
    let z = Layer::<B>::call(&layer, &x, &mut CallContext::inference()).unwrap();
    assert_eq!(z.to_vec_f32().unwrap(), xs);
}

/// Brightness shifts stay within factor * range, one shift per image, spread over it.
fn brightness_statistics<B: Backend>() {
    let x = Tensor::<B>::uniform(&[500, 4, 4, 3], 30.0, 220.0, 9, DType::F32, Device::Cpu).unwrap();
    let xs = x.to_vec_f32().unwrap();
    let layer = RandomBrightness::new(0.1).seed(1);
    let y = Layer::<B>::call(&layer, &x, &mut CallContext::training(2))
        .unwrap()
        .to_vec_f32()
        .unwrap();
    let per = 48;
    let mut deltas = Vec::new();
    for i in 0..500 {
        let d0 = y[i * per] - xs[i * per];
        for k in 0..per {
            let (a, b) = (xs[i * per + k], y[i * per + k]);
            // inputs lie in [30, 220]: a shift of at most 25.5 never clips
            assert!((b - a - d0).abs() < 1e-3, "one shift per image");
        }
        assert!(d0.abs() <= 25.5 + 1e-3, "shift {d0}");
        deltas.push(d0 as f64);
    }
    let mean = deltas.iter().sum::<f64>() / 500.0;
    assert!(mean.abs() < 2.5, "mean shift {mean}");
    assert!(deltas.iter().any(|&d| d > 20.0) && deltas.iter().any(|&d| d < -20.0));
    // clipping to value_range
    let big = RandomBrightness::new((1.0, 1.0)).seed(1);
    let y = Layer::<B>::call(&big, &x, &mut CallContext::training(2)).unwrap();
    assert!(y.to_vec_f32().unwrap().iter().all(|&v| v == 255.0));
    let z = Layer::<B>::call(&layer, &x, &mut CallContext::inference()).unwrap();
    assert_eq!(z.to_vec_f32().unwrap(), xs);
}

/// Contrast keeps each image's per-channel mean (no clipping for mid-range inputs) and
/// draws factors in [1, 1 + f] for a number f (Keras 3's rule).
fn contrast_statistics<B: Backend>() {
    let x =
        Tensor::<B>::uniform(&[300, 5, 5, 2], 100.0, 150.0, 4, DType::F32, Device::Cpu).unwrap();
    let layer = RandomContrast::new(0.4).seed(3);
    let y = Layer::<B>::call(&layer, &x, &mut CallContext::training(5)).unwrap();
    let (mx, my) = (
        x.mean(&[1, 2], false).unwrap().to_vec_f32().unwrap(),
        y.mean(&[1, 2], false).unwrap().to_vec_f32().unwrap(),
    );
    for (a, b) in mx.iter().zip(&my) {
        assert!((a - b).abs() < 1e-3, "mean {a} -> {b}");
    }
    // the spread scales by the factor: std(y) / std(x) in [1, 1.4], varied
    let sx = x
        .sub(&x.mean(&[1, 2], true).unwrap())
        .unwrap()
        .square()
        .unwrap();
    let sy = y
        .sub(&y.mean(&[1, 2], true).unwrap())
        .unwrap()
        .square()
        .unwrap();
    let vx = sx.sum(&[1, 2, 3], false).unwrap().to_vec_f64().unwrap();
    let vy = sy.sum(&[1, 2, 3], false).unwrap().to_vec_f64().unwrap();
    let ratios: Vec<f64> = vx.iter().zip(&vy).map(|(a, b)| (b / a).sqrt()).collect();
    assert!(
        ratios
            .iter()
            .all(|&r| (1.0 - 1e-4..=1.4 + 1e-4).contains(&r)),
        "{ratios:?}"
    );
    assert!(ratios.iter().any(|&r| r < 1.1) && ratios.iter().any(|&r| r > 1.3));
}

/// Factor 0 is the identity for every geometric layer, and inference is the identity for
/// all of them; seeded runs repeat, both for the layer seed and the call seed.
fn identities_and_seeds<B: Backend>() {
    let x = random_images::<B>(4, 6, 7, 3, 1);
    let xs = x.to_vec_f32().unwrap();
    let zero: Vec<Box<dyn Layer<B>>> = vec![
        Box::new(RandomRotation::new(0.0)),
        Box::new(RandomZoom::new(0.0)),
        Box::new(RandomTranslation::new(0.0, 0.0)),
        Box::new(RandomBrightness::new(0.0)),
        Box::new(RandomContrast::new(0.0)),
    ];
    for l in &zero {
        let y = l.call(&x, &mut CallContext::training(3)).unwrap();
        let d = y
            .sub(&x)
            .unwrap()
            .abs()
            .unwrap()
            .max(&[0, 1, 2, 3], false)
            .unwrap();
        assert!(d.item().unwrap() < 1e-3, "{} factor 0", l.class_name());
    }
    let random: Vec<Box<dyn Layer<B>>> = vec![
        Box::new(RandomFlip::new("horizontal_and_vertical")),
        Box::new(RandomRotation::new(0.2)),
        Box::new(RandomZoom::new(0.3)),
        Box::new(RandomTranslation::new(0.2, 0.2)),
        Box::new(RandomBrightness::new(0.3)),
        Box::new(RandomContrast::new(0.5)),
    ];
    for l in &random {
        let z = l.call(&x, &mut CallContext::inference()).unwrap();
        assert_eq!(
            z.to_vec_f32().unwrap(),
            xs,
            "{} at inference",
            l.class_name()
        );
        let a = l
            .call(&x, &mut CallContext::training(21))
            .unwrap()
            .to_vec_f32()
            .unwrap();
        let b = l
            .call(&x, &mut CallContext::training(21))
            .unwrap()
            .to_vec_f32()
            .unwrap();
        assert_eq!(a, b, "{} repeats", l.class_name());
        let c = l
            .call(&x, &mut CallContext::training(22))
            .unwrap()
            .to_vec_f32()
            .unwrap();
        assert_ne!(a, c, "{} varies with the call seed", l.class_name());
        assert_ne!(a, xs, "{} changes its input in training", l.class_name());
    }
    // a layer seed changes the draws for the same call seed
    let a = Layer::<B>::call(
        &RandomRotation::new(0.2).seed(1),
        &x,
        &mut CallContext::training(4),
    )
    .unwrap();
    let b = Layer::<B>::call(
        &RandomRotation::new(0.2).seed(2),
        &x,
        &mut CallContext::training(4),
    )
    .unwrap();
    assert_ne!(a.to_vec_f32().unwrap(), b.to_vec_f32().unwrap());
}

/// Rotation angles spread over [-f, f] turns: a 90-degree range rotates a one-hot image's
/// corner pixel to every corner, within the layer's bounds.
fn rotation_quarter_turns<B: Backend>() {
    // quarter turns exactly: factors +-0.25 and 0.5 give exact permutations
    let x = Tensor::<B>::from_vec(
        (0..9).map(|v| v as f32).collect::<Vec<f32>>(),
        &[1, 3, 3, 1],
    )
    .unwrap();
    let turn = |f: f64| {
        let y = Layer::<B>::call(
            &RandomRotation::new((f, f)),
            &x,
            &mut CallContext::training(0),
        )
        .unwrap()
        .to_vec_f32()
        .unwrap();
        y.iter().map(|v| v.round() as i32).collect::<Vec<i32>>()
    };
    assert_eq!(turn(0.5), vec![8, 7, 6, 5, 4, 3, 2, 1, 0]);
    let ccw = turn(0.25);
    let cw = turn(-0.25);
    assert_ne!(ccw, cw);
    // two quarter turns one way make a half turn
    let mut sorted = ccw.clone();
    sorted.sort();
    assert_eq!(sorted, (0..9).collect::<Vec<i32>>());
}

/// Shape and argument errors name the layer and the argument.
fn errors<B: Backend>() {
    let flat = Tensor::<B>::zeros(&[2, 5], DType::F32, Device::Cpu).unwrap();
    let e = call_error::<B>(&Resizing::new(2, 2).name("resize"), &flat);
    assert!(e.contains("resize") && e.contains("[2, 5]"), "{e}");
    let img = Tensor::<B>::zeros(&[1, 4, 4, 3], DType::F32, Device::Cpu).unwrap();
    let e = call_error::<B>(&RandomRotation::new(1.5).name("rot"), &img);
    assert!(e.contains("rot") && e.contains("factor"), "{e}");
    let e = call_error::<B>(&RandomZoom::new(-1.0), &img);
    assert!(e.contains("height_factor"), "{e}");
    let e = call_error::<B>(&RandomFlip::new("diagonal"), &img);
    assert!(e.contains("diagonal") && e.contains("horizontal"), "{e}");
    let e = call_error::<B>(&RandomTranslation::new(0.1, 0.1).fill_mode("mirror"), &img);
    assert!(e.contains("fill_mode") && e.contains("mirror"), "{e}");
    let e = call_error::<B>(&Resizing::new(2, 2).interpolation("lanczos3"), &img);
    assert!(e.contains("interpolation") && e.contains("lanczos3"), "{e}");
    let e = call_error::<B>(&RandomContrast::new(-0.5), &img);
    assert!(e.contains("factor"), "{e}");
    let e = call_error::<B>(&Rescaling::per_channel(vec![1.0, 2.0], 0.0), &img);
    assert!(e.contains("2 channels"), "{e}");
    // a bad config names the class and field
    let e = stratanet::layers::layer_from_config::<B>(
        "Resizing",
        &serde_json::json!({"height": 0, "width": 2}),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("height"), "{e}");
    let huge = stratanet::layers::layer_from_config::<B>(
        "Resizing",
        &serde_json::json!({"height": 1_000_000, "width": 1_000_000}),
    )
    .unwrap();
    let e = call_error::<B>(huge.as_ref(), &img);
    assert!(e.contains("larger than the limit"), "{e}");
    let e = stratanet::layers::layer_from_config::<B>("RandomRotation", &serde_json::json!({}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("RandomRotation.factor"), "{e}");
    // Keras' own config form loads (factor as a pair, value_range as a list)
    let l = stratanet::layers::layer_from_config::<B>(
        "RandomBrightness",
        &serde_json::json!({"name": "rb", "factor": [-0.2, 0.3], "value_range": [0, 1], "seed": null, "trainable": true}),
    )
    .unwrap();
    assert_eq!(l.get_config()["factor"], serde_json::json!([-0.2, 0.3]));
}

/// A model with preprocessing and augmentation layers trains, saves and loads with its
/// configs, and predicts the same (augmentation is off in predict).
fn saved_with_model<B: Backend>() {
    let mut m = Sequential::<B>::new().with_seed(3);
    m.add(Input::new(&[12, 10, 3])).unwrap();
    m.add(Resizing::new(8, 8).crop_to_aspect_ratio(true))
        .unwrap();
    m.add(Rescaling::new(1.0 / 255.0, 0.0)).unwrap();
    m.add(RandomFlip::new("horizontal").seed(4)).unwrap();
    m.add(RandomRotation::new(0.1).fill_mode("nearest"))
        .unwrap();
    m.add(RandomZoom::new(0.2).width_factor((-0.1, 0.1)))
        .unwrap();
    m.add(RandomTranslation::new(0.1, (-0.2, 0.1))).unwrap();
    m.add(RandomContrast::new(0.2).value_range([0.0, 1.0]))
        .unwrap();
    m.add(RandomBrightness::new(0.1).value_range([0.0, 1.0]))
        .unwrap();
    m.add(CenterCrop::new(6, 6)).unwrap();
    m.add(Conv2D::new(4, 3).activation("relu")).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(2).activation("softmax")).unwrap();
    m.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])
        .unwrap();
    let x = Tensor::<B>::uniform(&[16, 12, 10, 3], 0.0, 255.0, 1, DType::F32, Device::Cpu).unwrap();
    let y = Tensor::<B>::from_vec((0..16).map(|i| (i % 2) as i64).collect::<Vec<i64>>(), &[16])
        .unwrap();
    m.fit(
        &x,
        &y,
        stratanet::FitOptions::new()
            .epochs(2)
            .batch_size(8)
            .verbose(0),
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!(
        "stratanet-image-layers-{}-{}",
        B::NAME,
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("aug.safetensors");
    m.save(&path).unwrap();
    let back = Sequential::<B>::load(&path).unwrap();
    assert_eq!(back.get_config(), m.get_config());
    let p1 = m.predict_with(&x, 8).unwrap().to_vec_f32().unwrap();
    let p2 = back.predict_with(&x, 8).unwrap().to_vec_f32().unwrap();
    assert_eq!(p1, p2);
    std::fs::remove_dir_all(&dir).ok();
}

engine_tests!(
    keras_fixtures,
    flip_matches_keras,
    flip_statistics,
    brightness_statistics,
    contrast_statistics,
    identities_and_seeds,
    rotation_quarter_turns,
    errors,
    saved_with_model,
);

/// The pinned JSON of the image layers: Keras' field names, factors as a number or a
/// `[low, high]` pair.
#[test]
fn image_configs_json_is_pinned() {
    use serde_json::json;
    type B = stratanet::DefaultBackend;
    let z = RandomZoom::new((-0.2, 0.3))
        .width_factor(0.1)
        .fill_mode("constant")
        .seed(4)
        .name("zoom");
    let want = json!({
        "name": "zoom", "height_factor": [-0.2, 0.3], "width_factor": 0.1,
        "fill_mode": "constant", "interpolation": "bilinear", "seed": 4,
        "fill_value": 0.0, "data_format": "channels_last",
    });
    assert_eq!(Layer::<B>::get_config(&z), want);
    let r = Resizing::new(64, 48).crop_to_aspect_ratio(true).name("r");
    let want = json!({
        "name": "r", "height": 64, "width": 48, "interpolation": "bilinear",
        "crop_to_aspect_ratio": true, "pad_to_aspect_ratio": false, "fill_mode": "constant",
        "fill_value": 0.0, "antialias": false, "data_format": "channels_last",
    });
    assert_eq!(Layer::<B>::get_config(&r), want);
    let s = Rescaling::new(0.5, 1.0).name("s");
    assert_eq!(
        Layer::<B>::get_config(&s),
        json!({"name": "s", "scale": 0.5, "offset": 1.0})
    );
    let f = RandomFlip::new("vertical").name("f");
    assert_eq!(
        Layer::<B>::get_config(&f),
        json!({"name": "f", "mode": "vertical", "seed": null, "data_format": "channels_last"})
    );
}
