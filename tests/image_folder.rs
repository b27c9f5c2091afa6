//! `image_dataset_from_directory`: folders of PNG and JPEG files written by the tests into
//! temporary folders; labels, class order, label modes, splits with a seed, pixel values
//! after resizing against Keras (`tests/fixtures/image_layers.safetensors`, the
//! `folder_*` entries written by `scripts/make_image_fixtures.py`: Keras 3.15.1's
//! `keras.ops.image.resize` / `smart_resize` on the torch backend, which is the same
//! half-pixel bilinear formula as the `tf.image.resize` Keras uses for folders), bad files,
//! and training a model from a folder. The dataset is host-side: one engine suffices, the
//! fit tests (a toy folder, and the digits pipeline of `examples/image_classification.rs`
//! reduced to 4 epochs of a smaller CNN) run on both.

#[macro_use]
mod common;

#[macro_use]
mod layer_fixtures;

use layer_fixtures::Fixture;
use std::path::Path;
use stratanet::datasets::{
    image_dataset_from_directory, image_dataset_from_directory_split, ColorMode,
    ImageFolderOptions, ImageLabels, LabelMode, OnBadImage, Subset,
};
use stratanet::Backend;

/// Writes `px` (`h x w x c`, c in 1..=4) as a PNG file.
fn write_png(path: &Path, px: &[u8], h: usize, w: usize, c: usize) {
    let f = std::fs::File::create(path).unwrap();
    let mut e = png::Encoder::new(f, w as u32, h as u32);
    e.set_color(match c {
        1 => png::ColorType::Grayscale,
        2 => png::ColorType::GrayscaleAlpha,
        3 => png::ColorType::Rgb,
        _ => png::ColorType::Rgba,
    });
    e.write_header().unwrap().write_image_data(px).unwrap();
}

/// A flat grey PNG of value `v`.
fn grey_png(path: &Path, v: u8) {
    write_png(path, &[v; 4 * 6], 4, 6, 1);
}

/// `classes` sub-folders with `counts[i]` grey images each, image `j` of class `i` having
/// value `10 i + j`.
fn folder(classes: &[&str], counts: &[usize]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (i, (c, &n)) in classes.iter().zip(counts).enumerate() {
        std::fs::create_dir(dir.path().join(c)).unwrap();
        for j in 0..n {
            grey_png(
                &dir.path().join(c).join(format!("img{j:02}.png")),
                (10 * i + j) as u8,
            );
        }
    }
    dir
}

fn first_pixels(b: &stratanet::dataset::Batch) -> Vec<f32> {
    let x = b.x[0].data.to_f32_vec();
    let per: usize = b.x[0].shape[1..].iter().product();
    x.chunks(per).map(|img| img[0]).collect()
}

#[test]
fn inferred_labels_follow_sorted_folders() {
    let dir = folder(&["b_dog", "a_cat", "c_bird"], &[2, 3, 1]);
    // a hidden folder and a non-image file are ignored
    std::fs::create_dir(dir.path().join(".cache")).unwrap();
    grey_png(&dir.path().join(".cache").join("x.png"), 1);
    std::fs::write(dir.path().join("a_cat").join("notes.txt"), "hello").unwrap();
    let opts = ImageFolderOptions::new()
        .image_size(4, 6)
        .shuffle(false)
        .batch_size(Some(4))
        .color_mode(ColorMode::Grayscale);
    let mut f = image_dataset_from_directory(dir.path(), &opts).unwrap();
    assert_eq!(f.class_names, vec!["a_cat", "b_dog", "c_bird"]);
    assert_eq!(f.file_paths.len(), 6);
    assert!(f.file_paths[0].ends_with("a_cat/img00.png"));
    assert_eq!(f.dataset.cardinality(), Some(2));
    let batches = f.dataset.collect_epoch().unwrap();
    assert_eq!(batches[0].x[0].shape, vec![4, 4, 6, 1]);
    assert_eq!(batches[1].x[0].shape, vec![2, 4, 6, 1]);
    let labels: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.y[0].data.to_i64_vec())
        .collect();
    assert_eq!(labels, vec![0, 0, 0, 1, 1, 2]);
    // folder a_cat is the second one written (values 10..), b_dog the first (0..)
    let px: Vec<f32> = batches.iter().flat_map(first_pixels).collect();
    assert_eq!(px, vec![10.0, 11.0, 12.0, 0.0, 1.0, 20.0]);

    // class_names picks and orders the classes
    let opts = opts.clone().class_names(&["c_bird", "a_cat"]);
    let mut f = image_dataset_from_directory(dir.path(), &opts).unwrap();
    assert_eq!(f.class_names, vec!["c_bird", "a_cat"]);
    let b = f.dataset.collect_epoch().unwrap();
    assert_eq!(b[0].y[0].data.to_i64_vec(), vec![0, 1, 1, 1]);
    let e = image_dataset_from_directory(
        dir.path(),
        &ImageFolderOptions::new().class_names(&["fish"]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("fish") && e.contains("a_cat"), "{e}");
}

#[test]
fn label_modes() {
    let dir = folder(&["no", "yes"], &[2, 3]);
    let base = ImageFolderOptions::new()
        .image_size(2, 3)
        .shuffle(false)
        .batch_size(Some(8));
    let get = |o: ImageFolderOptions| {
        image_dataset_from_directory(dir.path(), &o)
            .unwrap()
            .dataset
            .collect_epoch()
            .unwrap()
            .remove(0)
    };
    let b = get(base.clone().label_mode(LabelMode::Categorical));
    assert_eq!(b.y[0].shape, vec![5, 2]);
    assert_eq!(
        b.y[0].data.to_f32_vec(),
        vec![1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    );
    let b = get(base.clone().label_mode(LabelMode::Binary));
    assert_eq!(b.y[0].shape, vec![5, 1]);
    assert_eq!(b.y[0].data.to_f32_vec(), vec![0.0, 0.0, 1.0, 1.0, 1.0]);
    let b = get(base.clone().label_mode(LabelMode::None));
    assert!(b.y.is_empty());
    assert_eq!(b.x[0].shape, vec![5, 2, 3, 3]);
    // labels given per file (sorted path order): class names are the sorted labels
    let given = base.clone().labels(ImageLabels::Given(vec![3, 1, 1, 3, 1]));
    let f = image_dataset_from_directory(dir.path(), &given).unwrap();
    assert_eq!(f.class_names, vec!["1", "3"]);
    // RGBA output, unbatched samples
    let mut f = image_dataset_from_directory(
        dir.path(),
        &base.clone().color_mode(ColorMode::Rgba).batch_size(None),
    )
    .unwrap();
    assert!(!f.dataset.is_batched());
    let chunks = f.dataset.collect_epoch().unwrap();
    let samples: Vec<f32> = chunks
        .iter()
        .flat_map(|c| c.x[0].data.to_f32_vec())
        .collect();
    assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), 5);
    assert_eq!(chunks[0].x[0].shape[1..], [2, 3, 4]);
    // sample 2 is the first of folder "yes": value 10, opaque
    assert_eq!(&samples[2 * 24..2 * 24 + 4], &[10.0, 10.0, 10.0, 255.0]);
    // binary needs 2 classes; given labels must match the file count
    let three = folder(&["a", "b", "c"], &[1, 1, 1]);
    let e = image_dataset_from_directory(three.path(), &base.clone().label_mode(LabelMode::Binary))
        .unwrap_err()
        .to_string();
    assert!(e.contains("binary") && e.contains("3"), "{e}");
    let e = image_dataset_from_directory(
        dir.path(),
        &base.clone().labels(ImageLabels::Given(vec![0; 4])),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("4 labels") && e.contains("5 files"), "{e}");
}

#[test]
fn validation_split_with_a_seed() {
    let dir = folder(&["a", "b"], &[10, 10]);
    let opts = ImageFolderOptions::new()
        .image_size(4, 6)
        .batch_size(Some(3))
        .seed(7)
        .validation_split(0.25);
    let values = |o: &ImageFolderOptions| -> Vec<f32> {
        let mut f = image_dataset_from_directory(dir.path(), o).unwrap();
        f.dataset
            .collect_epoch()
            .unwrap()
            .iter()
            .flat_map(first_pixels)
            .collect()
    };
    let train = values(&opts.clone().subset(Subset::Training));
    let val = values(&opts.clone().subset(Subset::Validation));
    // Keras: int(0.25 * 20) = 5 validation files, the rest for training, disjoint
    assert_eq!((train.len(), val.len()), (15, 5));
    let mut all: Vec<f32> = train.iter().chain(&val).copied().collect();
    all.sort_by(f32::total_cmp);
    let mut want: Vec<f32> = (0..10).chain(10..20).map(|v| v as f32).collect();
    want.sort_by(f32::total_cmp);
    assert_eq!(all, want);
    // the same seed gives the same split; the files come out in another order each pass
    assert_eq!(values(&opts.clone().subset(Subset::Validation)), val);
    let (mut t, mut v) = image_dataset_from_directory_split(dir.path(), &opts).unwrap();
    assert_eq!(t.file_paths.len(), 15);
    assert_eq!(v.file_paths.len(), 5);
    let mut t_vals: Vec<f32> = t
        .dataset
        .collect_epoch()
        .unwrap()
        .iter()
        .flat_map(first_pixels)
        .collect();
    let v_vals: Vec<f32> = v
        .dataset
        .collect_epoch()
        .unwrap()
        .iter()
        .flat_map(first_pixels)
        .collect();
    let mut v_sorted = v_vals.clone();
    v_sorted.sort_by(f32::total_cmp);
    let mut val_sorted = val.clone();
    val_sorted.sort_by(f32::total_cmp);
    assert_eq!(v_sorted, val_sorted, "'both' splits as the two subsets do");
    t.dataset.set_epoch(1);
    let second: Vec<f32> = t
        .dataset
        .collect_epoch()
        .unwrap()
        .iter()
        .flat_map(first_pixels)
        .collect();
    assert_ne!(second, t_vals, "training files are reshuffled each pass");
    t_vals.sort_by(f32::total_cmp);
    let mut s2 = second.clone();
    s2.sort_by(f32::total_cmp);
    assert_eq!(s2, t_vals);
    // Keras' argument rules
    let err = |o: ImageFolderOptions| {
        image_dataset_from_directory(dir.path(), &o)
            .unwrap_err()
            .to_string()
    };
    let e = err(ImageFolderOptions::new()
        .validation_split(0.2)
        .subset(Subset::Training));
    assert!(e.contains("seed"), "{e}");
    let e = err(ImageFolderOptions::new().validation_split(0.2).seed(1));
    assert!(e.contains("subset"), "{e}");
    let e = err(ImageFolderOptions::new()
        .validation_split(1.5)
        .seed(1)
        .subset(Subset::Training));
    assert!(e.contains("validation_split"), "{e}");
    let e = err(ImageFolderOptions::new()
        .validation_split(0.01)
        .seed(1)
        .subset(Subset::Validation));
    assert!(e.contains("empty"), "{e}");
}

#[test]
fn pixels_after_resize_match_keras() {
    let fx = Fixture::load("image_layers.safetensors");
    for (mode, color) in [
        ("gray", ColorMode::Grayscale),
        ("rgb", ColorMode::Rgb),
        ("rgba", ColorMode::Rgba),
    ] {
        let (shape, px) = fx.values(&format!("folder_{mode}/pixels"));
        let (h, w, c) = (shape[0], shape[1], shape[2]);
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("only")).unwrap();
        let bytes: Vec<u8> = px.iter().map(|&v| v as u8).collect();
        write_png(&dir.path().join("only").join("img.png"), &bytes, h, w, c);
        for (case, interp, crop) in [
            ("bilinear", "bilinear", false),
            ("nearest", "nearest", false),
            ("crop", "bilinear", true),
        ] {
            let opts = ImageFolderOptions::new()
                .image_size(8, 10)
                .color_mode(color)
                .interpolation(interp)
                .crop_to_aspect_ratio(crop);
            let mut f = image_dataset_from_directory(dir.path(), &opts).unwrap();
            let b = f.dataset.collect_epoch().unwrap().remove(0);
            assert_eq!(b.x[0].shape, vec![1, 8, 10, c], "{mode} {case}");
            let got: Vec<f64> = b.x[0].data.to_f32_vec().iter().map(|&v| v as f64).collect();
            let (_, want) = fx.values(&format!("folder_{mode}/{case}"));
            common::assert_all_close(&format!("{mode} {case}"), &got, &want, 1e-3, 1e-6);
        }
    }
}

/// JPEG files decode (lossy: close to the pixels written), grey and colour, and colour
/// modes convert between them.
#[test]
fn jpeg_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("x")).unwrap();
    let (h, w) = (16, 24);
    // smooth colour gradient: JPEG keeps it within a few levels
    let px: Vec<u8> = (0..h * w)
        .flat_map(|i| {
            let (y, x) = (i / w, i % w);
            [(40 + 5 * x) as u8, (60 + 6 * y) as u8, 128u8]
        })
        .collect();
    jpeg_encoder::Encoder::new_file(dir.path().join("x").join("a.JPG"), 100)
        .unwrap()
        .encode(&px, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let opts = ImageFolderOptions::new().image_size(h, w);
    let mut f = image_dataset_from_directory(dir.path(), &opts).unwrap();
    let got = f.dataset.collect_epoch().unwrap().remove(0).x[0]
        .data
        .to_f32_vec();
    let worst = got
        .iter()
        .zip(&px)
        .map(|(a, &b)| (a - b as f32).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= 6.0, "JPEG round trip differs by {worst}");
    // grayscale of the same file: the luma
    let mut f =
        image_dataset_from_directory(dir.path(), &opts.clone().color_mode(ColorMode::Grayscale))
            .unwrap();
    let grey = f.dataset.collect_epoch().unwrap().remove(0).x[0]
        .data
        .to_f32_vec();
    assert_eq!(grey.len(), h * w);
    let luma = 0.299 * px[0] as f32 + 0.587 * px[1] as f32 + 0.114 * px[2] as f32;
    assert!((grey[0] - luma).abs() <= 6.0, "{} vs {luma}", grey[0]);
}

#[test]
fn bad_files_are_named_or_skipped() {
    let dir = folder(&["a", "b"], &[2, 2]);
    let broken = dir.path().join("b").join("broken.png");
    std::fs::write(&broken, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let text = dir.path().join("a").join("fake.jpg");
    std::fs::write(&text, b"hello, I am text").unwrap();
    let opts = ImageFolderOptions::new()
        .image_size(4, 6)
        .shuffle(false)
        .batch_size(Some(2));
    let mut f = image_dataset_from_directory(dir.path(), &opts).unwrap();
    assert_eq!(f.file_paths.len(), 6);
    let e = f.dataset.collect_epoch().unwrap_err().to_string();
    assert!(
        e.contains("fake.jpg") && e.contains("not a PNG or JPEG"),
        "{e}"
    );
    // skipping checks headers up front and leaves both out
    let mut f =
        image_dataset_from_directory(dir.path(), &opts.clone().on_bad_image(OnBadImage::Skip))
            .unwrap();
    assert_eq!(f.file_paths.len(), 4);
    let n: usize = f
        .dataset
        .collect_epoch()
        .unwrap()
        .iter()
        .map(|b| b.len())
        .sum();
    assert_eq!(n, 4);
    // a truncated PNG with a valid header fails while decoding, naming the file
    let dir = folder(&["a"], &[1]);
    let good = dir.path().join("a").join("img00.png");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(
        dir.path().join("a").join("cut.png"),
        &bytes[..bytes.len() - 20],
    )
    .unwrap();
    let mut f = image_dataset_from_directory(dir.path(), &opts).unwrap();
    let e = f.dataset.collect_epoch().unwrap_err().to_string();
    assert!(e.contains("cut.png"), "{e}");
    // empty folder
    let empty = tempfile::tempdir().unwrap();
    let e = image_dataset_from_directory(empty.path(), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no images found"), "{e}");
    let e = image_dataset_from_directory(empty.path().join("missing"), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing"), "{e}");
}

/// A small CNN with augmentation trains from an image folder through `fit_dataset`
/// (decoding on the prefetch thread) and learns to tell dark from bright images.
fn fit_from_folder<B: Backend>() {
    use stratanet::layers::{Conv2D, Dense, Flatten, Input, RandomFlip, Rescaling};
    let dir = tempfile::tempdir().unwrap();
    for (class, base) in [("dark", 30u8), ("bright", 200u8)] {
        std::fs::create_dir(dir.path().join(class)).unwrap();
        for j in 0..12u8 {
            let px: Vec<u8> = (0..8 * 8 * 3)
                .map(|k| base + ((k as u8 + j) % 20))
                .collect();
            write_png(
                &dir.path().join(class).join(format!("{j}.png")),
                &px,
                8,
                8,
                3,
            );
        }
    }
    let opts = ImageFolderOptions::new()
        .image_size(8, 8)
        .batch_size(Some(8))
        .seed(3);
    let mut f = image_dataset_from_directory(dir.path(), &opts).unwrap();
    let mut m = stratanet::Sequential::<B>::new().with_seed(1);
    m.add(Input::new(&[8, 8, 3])).unwrap();
    m.add(Rescaling::new(1.0 / 255.0, 0.0)).unwrap();
    m.add(RandomFlip::new("horizontal")).unwrap();
    m.add(Conv2D::new(4, 3).activation("relu")).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(2).activation("softmax")).unwrap();
    m.compile(
        stratanet::optimizers::Adam::new(0.01),
        "sparse_categorical_crossentropy",
        &["accuracy"],
    )
    .unwrap();
    let h = m
        .fit_dataset(
            &mut f.dataset,
            stratanet::FitOptions::new().epochs(20).verbose(0),
        )
        .unwrap();
    let acc = h.get("accuracy").unwrap();
    assert_eq!(acc.len(), 20);
    assert!(*acc.last().unwrap() >= 0.99, "accuracy {acc:?}");
}

/// The pipeline of `examples/image_classification.rs`, reduced: the bundled digits
/// written as 32x32 PNG folders (a seeded 20 % in a separate test folder), read back
/// with a validation split, a smaller CNN behind `Rescaling` and the
/// rotation/zoom/translation augmentation, 4 epochs (about 0.96 on both engines; the full
/// example reaches 0.99), accuracy on the test folder.
fn digits_folder_pipeline<B: Backend>() {
    use stratanet::layers::{
        Conv2D, Dense, Flatten, Input, MaxPooling2D, RandomRotation, RandomTranslation, RandomZoom,
        Rescaling,
    };
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = stratanet::datasets::load_digits().unwrap();
    let order = stratanet::random::Rng::new(7).permutation(y.len());
    for (rank, &i) in order.iter().enumerate() {
        let split = if rank < y.len() / 5 { "test" } else { "train" };
        let class_dir = dir.path().join(split).join(y[i].to_string());
        std::fs::create_dir_all(&class_dir).unwrap();
        let px: Vec<u8> = (0..32 * 32)
            .map(|k| (x[i * 64 + (k / 128) * 8 + (k % 32) / 4] * 255.0 / 16.0).round() as u8)
            .collect();
        write_png(&class_dir.join(format!("{i:04}.png")), &px, 32, 32, 1);
    }
    let opts = ImageFolderOptions::new()
        .image_size(32, 32)
        .color_mode(ColorMode::Grayscale)
        .seed(7);
    let (mut train, val) = image_dataset_from_directory_split(
        dir.path().join("train"),
        &opts.clone().validation_split(0.2),
    )
    .unwrap();
    let mut test =
        image_dataset_from_directory(dir.path().join("test"), &opts.shuffle(false)).unwrap();
    assert_eq!(train.class_names.len(), 10);
    assert_eq!(
        (
            train.file_paths.len(),
            val.file_paths.len(),
            test.file_paths.len()
        ),
        (1151, 287, 359)
    );

    let mut m = stratanet::Sequential::<B>::new().with_seed(7);
    m.add(Input::new(&[32, 32, 1])).unwrap();
    m.add(Rescaling::new(1.0 / 255.0, 0.0)).unwrap();
    m.add(RandomRotation::new(0.04)).unwrap();
    m.add(RandomZoom::new(0.1)).unwrap();
    m.add(RandomTranslation::new(0.1, 0.1)).unwrap();
    m.add(Conv2D::new(8, 3).padding("same").activation("relu"))
        .unwrap();
    m.add(MaxPooling2D::new(2)).unwrap();
    m.add(Conv2D::new(16, 3).padding("same").activation("relu"))
        .unwrap();
    m.add(MaxPooling2D::new(2)).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(10).activation("softmax")).unwrap();
    m.compile(
        stratanet::optimizers::Adam::new(5e-3),
        "sparse_categorical_crossentropy",
        &["accuracy"],
    )
    .unwrap();
    let t = std::time::Instant::now();
    let h = m
        .fit_dataset(
            &mut train.dataset,
            stratanet::FitOptions::new()
                .epochs(4)
                .verbose(0)
                .validation_dataset(val.dataset),
        )
        .unwrap();
    let acc = m
        .evaluate_dataset(&mut test.dataset, 128)
        .unwrap()
        .get("accuracy")
        .unwrap();
    eprintln!(
        "{}: {:.1} s, val_accuracy {:?}, test accuracy {acc:.4}",
        B::NAME,
        t.elapsed().as_secs_f64(),
        h.get("val_accuracy").unwrap()
    );
    assert!(acc >= 0.9, "test accuracy {acc}");
}

engine_tests!(fit_from_folder, digits_folder_pipeline);
