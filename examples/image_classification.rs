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

use std::path::Path;
use stratanet::datasets::{self, image_dataset_from_directory, image_dataset_from_directory_split};
use stratanet::datasets::{ColorMode, ImageFolderOptions};
use stratanet::layers::{RandomRotation, RandomTranslation, RandomZoom};
use stratanet::prelude::*;
use stratanet::random::Rng;

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

fn main() -> stratanet::Result<()> {
    stratanet::script! {
        stratanet::set_random_seed(7);
        let dir = tempfile::Builder::new().prefix("stratanet-digits-").tempdir()?;
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
        let test_dir = dir.path().join("test");
        let mut test = image_dataset_from_directory(test_dir, &options.shuffle(false))?;
        println!("classes: {:?}", train.class_names);

        let mut model = Sequential::new()
            .layer(Input::new(&[32, 32, 1]))
            .layer(Rescaling::new(1.0 / 255.0, 0.0))
            .layer(RandomRotation::new(0.04)) // up to ~15 degrees
            .layer(RandomZoom::new(0.1))
            .layer(RandomTranslation::new(0.1, 0.1))
            .layer(Conv2D::new(16, 3).padding(Padding::Same).activation("relu"))
            .layer(MaxPooling2D::new(2))
            .layer(Conv2D::new(32, 3).padding(Padding::Same).activation("relu"))
            .layer(MaxPooling2D::new(2))
            .layer(Conv2D::new(64, 3).padding(Padding::Same).activation("relu"))
            .layer(MaxPooling2D::new(2))
            .layer(Flatten::new())
            .layer(Dropout::new(0.3))
            .layer(Dense::new(64).activation("relu"))
            .layer(Dense::new(10).activation("softmax"));
        println!("{}", model.summary()?);
        model.compile(Adam::new(2e-3), "sparse_categorical_crossentropy", &["accuracy"])?;
        let stop = EarlyStopping::new("val_loss").patience(6).restore_best_weights(true);
        let opts = FitOptions::new().epochs(40).seed(7).validation_dataset(val.dataset);
        let start = std::time::Instant::now();
        let history = model.fit_dataset(&mut train.dataset, opts.callback(stop))?;
        let (seconds, epochs) = (start.elapsed().as_secs_f64(), history.epoch.len());
        let per_epoch = seconds / epochs.max(1) as f64;
        println!("training time: {seconds:.1} s ({epochs} epochs, {per_epoch:.2} s/epoch)");

        let scores = model.evaluate_dataset(&mut test.dataset, 128)?;
        println!("test loss: {:.4}", scores.value("loss")?);
        println!("test accuracy: {:.4}", scores.value("accuracy")?);
    }
}
