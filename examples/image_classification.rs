//! Image classification from a folder of PNG files, with augmentation (Keras' "image
//! classification from scratch" recipe).
//!
//! ```text
//! cargo run --release --example image_classification
//! cargo run --release --features tch --example image_classification -- --backend tch
//! cargo run --release --features tch --example image_classification -- --backend tch --device cuda
//! cargo run --release --example image_classification -- --policy mixed_bfloat16
//! ```
//!
//! The example first writes an image folder from the bundled UCI digits: each 8x8 image
//! (values 0..16) is upscaled to a 32x32 grey PNG (values 0..255) in a folder named after
//! its class, `train/0/..` to `train/9/..` and, for a seeded 20 % held out, `test/0/..`.
//! Then it reads the folders back as Keras would: `image_dataset_from_directory` with a
//! validation split of the training folder, a small CNN whose first layers rescale the
//! pixels and augment them (small rotations, zooms and shifts: no flips, digits are not
//! symmetric), early stopping on the validation loss, and the accuracy on the test folder.

mod common;
use common::{compile_classifier, print_test_scores};

use std::path::Path;
use std::time::Instant;
use stratanet::callbacks::EarlyStopping;
use stratanet::datasets::{
    image_dataset_from_directory, image_dataset_from_directory_split, ColorMode, ImageFolderOptions,
};
use stratanet::layers::{
    Conv2D, MaxPooling2D, RandomRotation, RandomTranslation, RandomZoom, Rescaling,
};
use stratanet::prelude::*;
use stratanet::{datasets, random::Rng, Backend};

/// Writes the digits as 32x32 PNG files under `dir/train/<class>/` and, for 20 % of them
/// (a seeded draw), `dir/test/<class>/`.
fn write_digit_folders(dir: &Path, seed: u64) -> stratanet::Result<()> {
    let (x, y) = datasets::load_digits()?;
    let order = Rng::new(seed).permutation(y.len());
    let n_test = y.len() / 5;
    for (rank, &i) in order.iter().enumerate() {
        let split = if rank < n_test { "test" } else { "train" };
        let class_dir = dir.join(split).join(y[i].to_string());
        std::fs::create_dir_all(&class_dir)?;
        // Each of the 8x8 pixels becomes a 4x4 block; 0..16 becomes 0..255.
        let pixels: Vec<u8> = (0..32 * 32)
            .map(|k| (x[i * 64 + (k / 32 / 4) * 8 + (k % 32) / 4] * 255.0 / 16.0).round() as u8)
            .collect();
        let file = std::fs::File::create(class_dir.join(format!("{i:04}.png")))?;
        let mut png = png::Encoder::new(std::io::BufWriter::new(file), 32, 32);
        png.set_color(png::ColorType::Grayscale);
        png.write_header()
            .and_then(|mut w| w.write_image_data(&pixels))
            .map_err(std::io::Error::from)?;
    }
    Ok(())
}

fn run<B: Backend>(device: Device) -> stratanet::Result<()> {
    stratanet::set_random_seed(7);
    let dir = tempfile::Builder::new()
        .prefix("stratanet-digits-")
        .tempdir()?;
    write_digit_folders(dir.path(), 7)?;
    println!("image folder: {}", dir.path().display());

    let options = ImageFolderOptions::new()
        .image_size(32, 32)
        .color_mode(ColorMode::Grayscale)
        .batch_size(Some(32))
        .seed(7);
    let (mut train, val) = image_dataset_from_directory_split(
        dir.path().join("train"),
        &options.clone().validation_split(0.2),
    )?;
    let mut test = image_dataset_from_directory(dir.path().join("test"), &options.shuffle(false))?;
    println!(
        "classes: {:?}; {} training, {} validation, {} test images",
        train.class_names,
        train.file_paths.len(),
        val.file_paths.len(),
        test.file_paths.len()
    );

    let mut model = Sequential::<B>::new().on_device(device);
    model.add(Input::new(&[32, 32, 1]))?;
    model.add(Rescaling::new(1.0 / 255.0, 0.0))?;
    model.add(RandomRotation::new(0.04))?; // up to ~15 degrees
    model.add(RandomZoom::new(0.1))?;
    model.add(RandomTranslation::new(0.1, 0.1))?;
    model.add(Conv2D::new(16, 3).padding("same").activation("relu"))?;
    model.add(MaxPooling2D::new(2))?;
    model.add(Conv2D::new(32, 3).padding("same").activation("relu"))?;
    model.add(MaxPooling2D::new(2))?;
    model.add(Conv2D::new(64, 3).padding("same").activation("relu"))?;
    model.add(MaxPooling2D::new(2))?;
    model.add(Flatten::new())?;
    model.add(Dropout::new(0.3))?;
    model.add(Dense::new(64).activation("relu"))?;
    model.add(Dense::new(10).activation("softmax"))?;
    println!("{}", model.summary()?);

    compile_classifier(&mut model, Adam::new(2e-3))?;
    let start = Instant::now();
    let history = model.fit_dataset(
        &mut train.dataset,
        FitOptions::new()
            .epochs(40)
            .seed(7)
            .validation_dataset(val.dataset)
            .callback(
                EarlyStopping::new("val_loss")
                    .patience(6)
                    .restore_best_weights(true),
            ),
    )?;
    let seconds = start.elapsed().as_secs_f64();
    let epochs = history.get("loss").map_or(0, |l| l.len());
    println!(
        "training time: {seconds:.1} s ({epochs} epochs, {:.2} s/epoch)",
        seconds / epochs.max(1) as f64
    );
    let scores = model.evaluate_dataset(&mut test.dataset, 128)?;
    print_test_scores(&scores);
    Ok(())
}

fn main() -> stratanet::Result<()> {
    stratanet::run_example!(run())
}
