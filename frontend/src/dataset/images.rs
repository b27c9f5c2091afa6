//! Image folders as datasets (Keras' `image_dataset_from_directory`): one sub-folder per
//! class, PNG and JPEG files decoded and resized on the dataset's prefetch thread.
//!
//! The folder is indexed when the dataset is made (file names and labels only); the
//! pixels are read during iteration, a chunk of files at a time, decoded in parallel on
//! scoped worker threads inside the pipeline's prefetch thread, so the model does not wait
//! on the disk. Decoding: `png` (8-bit output: palettes expanded, 16-bit samples reduced
//! to their high byte) and `zune-jpeg`. Resizing: bilinear with half-pixel centres and no
//! antialiasing (`tf.image.resize`, the default of Keras), or nearest.
//!
//! Differences from Keras: only `.png`, `.jpg` and `.jpeg` files are indexed (Keras also
//! lists `.bmp` and `.gif`); the file list is shuffled by stratanet's seeded generator, not
//! numpy's, so the same seed splits the same folder differently from Keras (the split rule
//! is the same: the last `validation_split` fraction of the shuffled list is the
//! validation subset); each pass reshuffles the whole subset (Keras uses a buffer of 8
//! batches); `pad_to_aspect_ratio` and `data_format="channels_first"` are not supported.

use super::pipeline::Stream;
use super::{Dataset, Source};
use crate::data::{Batch, HostTensor};
use crate::error::{Error, Result};
use crate::layers::{aspect_crop, resize_taps, Interpolation};
use crate::random::Rng;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const WHERE: &str = "image_dataset_from_directory";

/// The largest image side decoded (hostile files declaring huge sizes are refused).
const MAX_SIDE: usize = 1 << 15;

/// Where labels come from (Keras `labels`).
#[derive(Debug, Clone, PartialEq)]
pub enum ImageLabels {
    /// From the sub-folder names, sorted (class `i` is the `i`-th name).
    Inferred,
    /// One label per file, in the sorted order of the file paths.
    Given(Vec<i64>),
    /// No labels: the dataset yields images only.
    None,
}

/// How labels are encoded (Keras `label_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelMode {
    /// `i64` class indices `[batch]` (for `sparse_categorical_crossentropy`).
    Int,
    /// One-hot `f32` rows `[batch, classes]` (for `categorical_crossentropy`).
    Categorical,
    /// `f32` 0/1 `[batch, 1]` (exactly 2 classes; for `binary_crossentropy`).
    Binary,
    /// No labels.
    None,
}

/// Channels of the decoded images (Keras `color_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    /// 1 channel (ITU-R 601 luma of colour images).
    Grayscale,
    /// 3 channels (grey replicated; alpha dropped).
    Rgb,
    /// 4 channels (opaque alpha added where there is none).
    Rgba,
}

impl ColorMode {
    fn channels(self) -> usize {
        match self {
            Self::Grayscale => 1,
            Self::Rgb => 3,
            Self::Rgba => 4,
        }
    }
}

/// Which part of a `validation_split` to return (Keras `subset`; `"both"` is
/// [`image_dataset_from_directory_split`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subset {
    /// The first `1 - validation_split` of the shuffled files.
    Training,
    /// The last `validation_split` of the shuffled files.
    Validation,
}

/// What to do with a file that is not a readable PNG or JPEG image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnBadImage {
    /// Fail with an error naming the file (during iteration, as Keras).
    #[default]
    Fail,
    /// Check every file's header when the dataset is made and leave out those that fail,
    /// with a warning on stderr naming each one.
    Skip,
}

/// The options of [`image_dataset_from_directory`], with Keras' names and defaults.
#[derive(Debug, Clone)]
pub struct ImageFolderOptions {
    labels: ImageLabels,
    label_mode: LabelMode,
    class_names: Option<Vec<String>>,
    color_mode: ColorMode,
    batch_size: Option<usize>,
    image_size: (usize, usize),
    shuffle: bool,
    seed: Option<u64>,
    validation_split: Option<f64>,
    subset: Option<Subset>,
    interpolation: String,
    follow_links: bool,
    crop_to_aspect_ratio: bool,
    on_bad_image: OnBadImage,
}

impl Default for ImageFolderOptions {
    fn default() -> Self {
        Self {
            labels: ImageLabels::Inferred,
            label_mode: LabelMode::Int,
            class_names: None,
            color_mode: ColorMode::Rgb,
            batch_size: Some(32),
            image_size: (256, 256),
            shuffle: true,
            seed: None,
            validation_split: None,
            subset: None,
            interpolation: "bilinear".into(),
            follow_links: false,
            crop_to_aspect_ratio: false,
            on_bad_image: OnBadImage::Fail,
        }
    }
}

impl ImageFolderOptions {
    /// Keras' defaults: inferred `int` labels, `rgb`, 256 x 256, batches of 32, shuffled.
    pub fn new() -> Self {
        Self::default()
    }
    /// Where labels come from (default [`ImageLabels::Inferred`]).
    pub fn labels(mut self, labels: ImageLabels) -> Self {
        self.labels = labels;
        self
    }
    /// How labels are encoded (default [`LabelMode::Int`]).
    pub fn label_mode(mut self, mode: LabelMode) -> Self {
        self.label_mode = mode;
        self
    }
    /// The sub-folders to use, in class order (default: all, sorted).
    pub fn class_names(mut self, names: &[&str]) -> Self {
        self.class_names = Some(names.iter().map(|s| s.to_string()).collect());
        self
    }
    /// Channels of the images (default [`ColorMode::Rgb`]).
    pub fn color_mode(mut self, mode: ColorMode) -> Self {
        self.color_mode = mode;
        self
    }
    /// Samples per batch; `None` yields single images (default `Some(32)`).
    pub fn batch_size(mut self, size: Option<usize>) -> Self {
        self.batch_size = size;
        self
    }
    /// `(height, width)` every image is resized to (default `(256, 256)`).
    pub fn image_size(mut self, height: usize, width: usize) -> Self {
        self.image_size = (height, width);
        self
    }
    /// Whether to shuffle the files (default `true`).
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }
    /// The seed of the shuffles (needed with `validation_split` and `shuffle`).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
    /// The fraction of files held out for validation, in (0, 1).
    pub fn validation_split(mut self, fraction: f64) -> Self {
        self.validation_split = Some(fraction);
        self
    }
    /// Which part of the split to return.
    pub fn subset(mut self, subset: Subset) -> Self {
        self.subset = Some(subset);
        self
    }
    /// `"bilinear"` (default) or `"nearest"`.
    pub fn interpolation(mut self, name: &str) -> Self {
        self.interpolation = name.to_lowercase();
        self
    }
    /// Whether to descend into symbolic links to folders (default `false`).
    pub fn follow_links(mut self, follow: bool) -> Self {
        self.follow_links = follow;
        self
    }
    /// Resize the largest centred window with the target's aspect ratio (default `false`).
    pub fn crop_to_aspect_ratio(mut self, crop: bool) -> Self {
        self.crop_to_aspect_ratio = crop;
        self
    }
    /// What to do with unreadable files (default [`OnBadImage::Fail`]).
    pub fn on_bad_image(mut self, what: OnBadImage) -> Self {
        self.on_bad_image = what;
        self
    }
}

/// A dataset of images from a folder, with what Keras attaches to it.
#[derive(Debug)]
pub struct ImageFolder {
    /// The pipeline: images `f32` `[batch, height, width, channels]` with values 0..=255,
    /// and labels as asked.
    pub dataset: Dataset,
    /// The class names (sub-folders, or the given labels as text); empty without labels.
    pub class_names: Vec<String>,
    /// The files, in the order of the (first pass's shuffled) index.
    pub file_paths: Vec<PathBuf>,
}

/// Everything the stream needs to read one subset.
pub(crate) struct ImageSpec {
    files: Vec<PathBuf>,
    labels: Option<Vec<i64>>,
    label_mode: LabelMode,
    num_classes: usize,
    color_mode: ColorMode,
    size: (usize, usize),
    interp: Interpolation,
    crop: bool,
    /// Reshuffle each pass with this seed.
    shuffle: Option<u64>,
    chunk: usize,
}

impl ImageSpec {
    pub(crate) fn len(&self) -> usize {
        self.files.len()
    }
    pub(crate) fn describe(&self) -> String {
        format!("images({} files)", self.files.len())
    }
}

/// A dataset of the images under `dir` (Keras `image_dataset_from_directory`): with
/// inferred labels, one sub-folder per class (`dir/cat/*.png`, `dir/dog/*.jpg`, searched
/// recursively), classes in sorted name order unless `class_names` says otherwise.
///
/// ```
/// use stratanet::datasets::{image_dataset_from_directory, ImageFolderOptions, Subset};
/// # fn main() -> stratanet::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # for (class, n) in [("cat", 3), ("dog", 5)] {
/// #     std::fs::create_dir(dir.path().join(class)).unwrap();
/// #     for i in 0..n {
/// #         let f = std::fs::File::create(dir.path().join(class).join(format!("{i}.png"))).unwrap();
/// #         let mut e = png::Encoder::new(f, 4, 2);
/// #         e.set_color(png::ColorType::Grayscale);
/// #         e.write_header().unwrap().write_image_data(&[i as u8 * 10; 8]).unwrap();
/// #     }
/// # }
/// let opts = ImageFolderOptions::new().image_size(8, 8).batch_size(Some(4)).seed(1)
///     .validation_split(0.25).subset(Subset::Training);
/// let mut train = image_dataset_from_directory(dir.path(), &opts)?;
/// assert_eq!(train.class_names, vec!["cat", "dog"]);
/// assert_eq!(train.file_paths.len(), 6); // 8 files, 2 held out
/// let batches = train.dataset.collect_epoch()?;
/// assert_eq!(batches[0].x[0].shape, vec![4, 8, 8, 3]);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// A folder that cannot be read, no images found, bad options (named as Keras names
/// them: a `validation_split` outside (0, 1), a `subset` without a split or the reverse,
/// a split of shuffled files without a `seed`, `class_names` that are not sub-folders,
/// `binary` labels for other than 2 classes, a `Given` label list whose length is not the
/// file count); an empty subset. A file that cannot be decoded fails the pass that reads
/// it, naming the file (or is left out with [`OnBadImage::Skip`]).
pub fn image_dataset_from_directory(
    dir: impl AsRef<Path>,
    options: &ImageFolderOptions,
) -> Result<ImageFolder> {
    let (files, labels, class_names, seed) = index(dir.as_ref(), options)?;
    let (files, labels) = match (options.validation_split, options.subset) {
        (Some(split), Some(subset)) => take_subset(files, labels, split, subset),
        _ => (files, labels),
    };
    let shuffle = options.shuffle.then_some(seed);
    make(options, files, labels, class_names, shuffle, dir.as_ref())
}

/// Keras' `subset="both"`: the training and the validation datasets of one split
/// (the validation one is not reshuffled between passes).
///
/// # Errors
/// As [`image_dataset_from_directory`]; `validation_split` must be set (and `subset` is
/// ignored).
pub fn image_dataset_from_directory_split(
    dir: impl AsRef<Path>,
    options: &ImageFolderOptions,
) -> Result<(ImageFolder, ImageFolder)> {
    let Some(split) = options.validation_split else {
        return Err(Error::invalid(
            WHERE,
            "validation_split",
            "subset \"both\" needs a validation_split",
        ));
    };
    let mut opts = options.clone();
    opts.subset = Some(Subset::Training);
    let (files, labels, class_names, seed) = index(dir.as_ref(), &opts)?;
    let (tf, tl) = take_subset(files.clone(), labels.clone(), split, Subset::Training);
    let (vf, vl) = take_subset(files, labels, split, Subset::Validation);
    let shuffle = options.shuffle.then_some(seed);
    let train = make(&opts, tf, tl, class_names.clone(), shuffle, dir.as_ref())?;
    let val = make(&opts, vf, vl, class_names, None, dir.as_ref())?;
    Ok((train, val))
}

/// Keras' `get_training_or_validation_split`.
fn take_subset(
    mut files: Vec<PathBuf>,
    labels: Option<Vec<i64>>,
    split: f64,
    subset: Subset,
) -> (Vec<PathBuf>, Option<Vec<i64>>) {
    let n_val = (split * files.len() as f64) as usize;
    let n_train = files.len() - n_val;
    match subset {
        Subset::Training => {
            files.truncate(n_train);
            (
                files,
                labels.map(|mut l| {
                    l.truncate(n_train);
                    l
                }),
            )
        }
        Subset::Validation => (
            files.split_off(n_train),
            labels.map(|mut l| l.split_off(n_train)),
        ),
    }
}

fn make(
    options: &ImageFolderOptions,
    files: Vec<PathBuf>,
    labels: Option<Vec<i64>>,
    class_names: Vec<String>,
    shuffle: Option<u64>,
    dir: &Path,
) -> Result<ImageFolder> {
    if files.is_empty() {
        return Err(Error::invalid(
            WHERE,
            "validation_split",
            format!(
                "the {} subset of {} is empty: use a larger folder or another split",
                match options.subset {
                    Some(Subset::Validation) => "validation",
                    _ => "training",
                },
                dir.display()
            ),
        ));
    }
    let interp = Interpolation::parse(WHERE, "interpolation", &options.interpolation)?;
    let spec = ImageSpec {
        files: files.clone(),
        labels,
        label_mode: options.label_mode,
        num_classes: class_names.len(),
        color_mode: options.color_mode,
        size: options.image_size,
        interp,
        crop: options.crop_to_aspect_ratio,
        shuffle,
        chunk: options.batch_size.unwrap_or(32).clamp(1, 256),
    };
    let mut ds = Dataset::with_source(Source::Images(Arc::new(spec)));
    if let Some(b) = options.batch_size {
        ds = ds.batch(b);
    }
    let files = match shuffle {
        Some(seed) => pass_order(files.len(), seed, 0)
            .into_iter()
            .map(|i| files[i].clone())
            .collect(),
        None => files,
    };
    Ok(ImageFolder {
        dataset: ds.prefetch(2),
        class_names,
        file_paths: files,
    })
}

type Index = (Vec<PathBuf>, Option<Vec<i64>>, Vec<String>, u64);

/// Keras' argument checks and `index_directory`: the files, their labels, the class names
/// and the seed used.
fn index(dir: &Path, o: &ImageFolderOptions) -> Result<Index> {
    check_options(o)?;
    let seed = o.seed.unwrap_or_else(crate::random::next_global_seed);
    let read_err = |p: &Path, e: std::io::Error| {
        Error::invalid(
            WHERE,
            "directory",
            format!("cannot read {}: {e}", p.display()),
        )
    };
    let subdirs: Vec<String> = match &o.labels {
        ImageLabels::Inferred => {
            let mut names = Vec::new();
            for entry in std::fs::read_dir(dir).map_err(|e| read_err(dir, e))? {
                let entry = entry.map_err(|e| read_err(dir, e))?;
                let name = entry.file_name().to_string_lossy().to_string();
                if !name.starts_with('.') && is_dir(&entry.path(), o.follow_links) {
                    names.push(name);
                }
            }
            names.sort();
            match &o.class_names {
                Some(given) => {
                    if let Some(bad) = given.iter().find(|c| !names.contains(c)) {
                        return Err(Error::invalid(
                            WHERE,
                            "class_names",
                            format!(
                                "'{bad}' is not a sub-folder of {}: expected a subset of {names:?}",
                                dir.display()
                            ),
                        ));
                    }
                    given.clone()
                }
                None => names,
            }
        }
        _ => vec![String::new()],
    };
    let mut files = Vec::new();
    let mut inferred = Vec::new();
    for (class, sub) in subdirs.iter().enumerate() {
        let root = if sub.is_empty() {
            dir.to_path_buf()
        } else {
            dir.join(sub)
        };
        let before = files.len();
        walk(&root, o.follow_links, &mut files)?;
        inferred.extend(std::iter::repeat_n(class as i64, files.len() - before));
    }
    let (mut labels, class_names) = match &o.labels {
        ImageLabels::Inferred => (Some(inferred), subdirs),
        ImageLabels::None => (None, Vec::new()),
        ImageLabels::Given(given) => {
            if given.len() != files.len() {
                return Err(Error::invalid(
                    WHERE,
                    "labels",
                    format!(
                        "{} labels given for the {} files found in {}",
                        given.len(),
                        files.len(),
                        dir.display()
                    ),
                ));
            }
            let mut names: Vec<i64> = given.clone();
            names.sort();
            names.dedup();
            (
                Some(given.clone()),
                names.iter().map(|v| v.to_string()).collect(),
            )
        }
    };
    if o.label_mode == LabelMode::None {
        labels = None;
    }
    if o.on_bad_image == OnBadImage::Skip {
        let mut kept_files = Vec::with_capacity(files.len());
        let mut kept_labels = labels.as_ref().map(|_| Vec::with_capacity(files.len()));
        for (i, f) in files.into_iter().enumerate() {
            match probe(&f) {
                Ok(()) => {
                    kept_files.push(f);
                    if let (Some(k), Some(l)) = (kept_labels.as_mut(), labels.as_ref()) {
                        k.push(l[i]);
                    }
                }
                Err(e) => eprintln!("warning: {WHERE}: skipping {}: {e}", f.display()),
            }
        }
        files = kept_files;
        labels = kept_labels;
    }
    if files.is_empty() {
        return Err(Error::invalid(
            WHERE,
            "directory",
            format!(
                "no images found in {} (looked for .png, .jpg, .jpeg files{})",
                dir.display(),
                if matches!(o.labels, ImageLabels::Inferred) {
                    " in its sub-folders"
                } else {
                    ""
                }
            ),
        ));
    }
    let num_classes = class_names.len();
    if o.label_mode == LabelMode::Binary && labels.is_some() && num_classes != 2 {
        return Err(Error::invalid(
            WHERE,
            "label_mode",
            format!("\"binary\" needs exactly 2 classes, found {num_classes}: {class_names:?}"),
        ));
    }
    if let (Some(l), LabelMode::Categorical | LabelMode::Binary) = (&labels, o.label_mode) {
        if let Some(bad) = l.iter().find(|&&v| v < 0 || v as usize >= num_classes) {
            return Err(Error::invalid(
                WHERE,
                "labels",
                format!("label {bad} is outside 0..{num_classes} (the number of classes)"),
            ));
        }
    }
    if o.shuffle {
        let perm = Rng::new(seed).permutation(files.len());
        files = perm.iter().map(|&i| files[i].clone()).collect();
        labels = labels.map(|l| perm.iter().map(|&i| l[i]).collect());
    }
    Ok((files, labels, class_names, seed))
}

/// Keras' `check_validation_split_arg` and the other argument checks.
fn check_options(o: &ImageFolderOptions) -> Result<()> {
    let (h, w) = o.image_size;
    if h == 0 || w == 0 || h > MAX_SIDE || w > MAX_SIDE {
        return Err(Error::invalid(
            WHERE,
            "image_size",
            format!("each side must be in 1..={MAX_SIDE}, got ({h}, {w})"),
        ));
    }
    if o.batch_size == Some(0) {
        return Err(Error::invalid(
            WHERE,
            "batch_size",
            "must be at least 1, got 0",
        ));
    }
    Interpolation::parse(WHERE, "interpolation", &o.interpolation)?;
    if o.class_names.is_some() && !matches!(o.labels, ImageLabels::Inferred) {
        return Err(Error::invalid(
            WHERE,
            "class_names",
            "can only be given with inferred labels (given labels name their own classes)",
        ));
    }
    if let Some(s) = o.validation_split {
        if !(s > 0.0 && s < 1.0) {
            return Err(Error::invalid(
                WHERE,
                "validation_split",
                format!("must be between 0 and 1 (exclusive), got {s}"),
            ));
        }
    }
    if o.validation_split.is_some() != o.subset.is_some() {
        return Err(Error::invalid(
            WHERE,
            "subset",
            "if subset is set, validation_split must be set, and inversely",
        ));
    }
    if o.validation_split.is_some() && o.shuffle && o.seed.is_none() {
        return Err(Error::invalid(
            WHERE,
            "seed",
            "with validation_split and shuffling, give a seed so that the training and \
             validation subsets do not overlap",
        ));
    }
    Ok(())
}

fn is_dir(path: &Path, follow_links: bool) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            follow_links && std::fs::metadata(path).is_ok_and(|m| m.is_dir())
        }
        Ok(m) => m.is_dir(),
        Err(_) => false,
    }
}

fn is_image_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .is_some_and(|e| e == "png" || e == "jpg" || e == "jpeg")
}

/// The image files under `root`, recursively: folders in sorted path order, files sorted
/// within each (as Keras' `os.walk` sorted by root, then sorted file names).
fn walk(root: &Path, follow_links: bool, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut pending = vec![root.to_path_buf()];
    let mut folders: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| {
            Error::invalid(
                WHERE,
                "directory",
                format!("cannot read {}: {e}", dir.display()),
            )
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| {
                Error::invalid(
                    WHERE,
                    "directory",
                    format!("cannot read {}: {e}", dir.display()),
                )
            })?;
            let p = entry.path();
            if is_dir(&p, follow_links) {
                pending.push(p);
            } else if is_image_name(&p) {
                files.push(p);
            }
        }
        files.sort();
        folders.push((dir, files));
    }
    folders.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    out.extend(folders.into_iter().flat_map(|(_, f)| f));
    Ok(())
}

/// The order of pass `pass` over `n` files.
fn pass_order(n: usize, seed: u64, pass: u64) -> Vec<usize> {
    Rng::new(Rng::derive(seed, pass)).permutation(n)
}

// --------------------------------------------------------------------- decoding

/// The error of a file that cannot be decoded.
fn bad(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::invalid(WHERE, "file", format!("{}: {why}", path.display()))
}

enum Format {
    Png,
    Jpeg,
}

fn sniff(path: &Path, bytes: &[u8]) -> Result<Format> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok(Format::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok(Format::Jpeg)
    } else {
        Err(bad(path, "not a PNG or JPEG image"))
    }
}

/// Reads a file's header only: a readable PNG or JPEG of acceptable size.
fn probe(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| bad(path, e))?;
    match sniff(path, &bytes)? {
        Format::Png => {
            let reader = png_decoder(&bytes).read_info().map_err(|e| bad(path, e))?;
            let info = reader.info();
            check_side(path, info.height as usize, info.width as usize)
        }
        Format::Jpeg => {
            let mut d = jpeg_decoder(&bytes, 3);
            d.decode_headers()
                .map_err(|e| bad(path, format!("{e:?}")))?;
            let (w, h) = d
                .dimensions()
                .ok_or_else(|| bad(path, "no image size in the header"))?;
            check_side(path, h, w)
        }
    }
}

fn check_side(path: &Path, h: usize, w: usize) -> Result<()> {
    if h == 0 || w == 0 || h > MAX_SIDE || w > MAX_SIDE {
        return Err(bad(
            path,
            format!("image size {w} x {h} is outside 1..={MAX_SIDE} per side"),
        ));
    }
    Ok(())
}

fn png_decoder(bytes: &[u8]) -> png::Decoder<std::io::Cursor<&[u8]>> {
    let mut d =
        png::Decoder::new_with_limits(std::io::Cursor::new(bytes), png::Limits { bytes: 1 << 30 });
    d.set_transformations(png::Transformations::normalize_to_color8());
    d
}

fn jpeg_decoder(
    bytes: &[u8],
    channels: usize,
) -> zune_jpeg::JpegDecoder<zune_jpeg::zune_core::bytestream::ZCursor<&[u8]>> {
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    let cs = match channels {
        1 => ColorSpace::Luma,
        4 => ColorSpace::RGBA,
        _ => ColorSpace::RGB,
    };
    let opts = zune_jpeg::zune_core::options::DecoderOptions::default()
        .jpeg_set_out_colorspace(cs)
        .set_max_width(MAX_SIDE)
        .set_max_height(MAX_SIDE);
    zune_jpeg::JpegDecoder::new_with_options(
        zune_jpeg::zune_core::bytestream::ZCursor::new(bytes),
        opts,
    )
}

/// Decodes `path` to 8-bit pixels with `mode`'s channels: `(pixels, height, width)`.
///
/// # Errors
/// An unreadable file, or one that is not a valid PNG or JPEG image, naming the file.
pub(crate) fn decode(path: &Path, mode: ColorMode) -> Result<(Vec<u8>, usize, usize)> {
    let bytes = std::fs::read(path).map_err(|e| bad(path, e))?;
    let c = mode.channels();
    match sniff(path, &bytes)? {
        Format::Png => {
            let mut reader = png_decoder(&bytes).read_info().map_err(|e| bad(path, e))?;
            let (w, h) = (reader.info().width as usize, reader.info().height as usize);
            check_side(path, h, w)?;
            let size = reader
                .output_buffer_size()
                .ok_or_else(|| bad(path, "image too large"))?;
            let mut buf = vec![0u8; size];
            let frame = reader.next_frame(&mut buf).map_err(|e| bad(path, e))?;
            let have = match frame.color_type {
                png::ColorType::Grayscale => 1,
                png::ColorType::GrayscaleAlpha => 2,
                png::ColorType::Rgb => 3,
                png::ColorType::Rgba => 4,
                png::ColorType::Indexed => {
                    return Err(bad(path, "palette was not expanded"));
                }
            };
            let line = frame.line_size;
            let mut packed = Vec::with_capacity(h * w * have);
            for row in buf.chunks(line).take(h) {
                packed.extend_from_slice(&row[..w * have]);
            }
            Ok((convert(&packed, have, c), h, w))
        }
        Format::Jpeg => {
            let mut d = jpeg_decoder(&bytes, c);
            let pixels = d.decode().map_err(|e| bad(path, format!("{e:?}")))?;
            let (w, h) = d.dimensions().ok_or_else(|| bad(path, "no image size"))?;
            check_side(path, h, w)?;
            if pixels.len() != h * w * c {
                return Err(bad(
                    path,
                    format!("decoded {} bytes for a {w} x {h} x {c} image", pixels.len()),
                ));
            }
            Ok((pixels, h, w))
        }
    }
}

/// Converts interleaved pixels of `have` channels (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA)
/// to `want` channels (1, 3 or 4).
fn convert(px: &[u8], have: usize, want: usize) -> Vec<u8> {
    if have == want {
        return px.to_vec();
    }
    let luma = |p: &[u8]| -> u8 {
        (0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32).round() as u8
    };
    let mut out = Vec::with_capacity(px.len() / have * want);
    for p in px.chunks_exact(have) {
        let (grey, rgb, alpha) = match have {
            1 => (p[0], [p[0]; 3], 255),
            2 => (p[0], [p[0]; 3], p[1]),
            3 => (luma(p), [p[0], p[1], p[2]], 255),
            _ => (luma(p), [p[0], p[1], p[2]], p[3]),
        };
        match want {
            1 => out.push(grey),
            3 => out.extend_from_slice(&rgb),
            _ => {
                out.extend_from_slice(&rgb);
                out.push(alpha);
            }
        }
    }
    out
}

/// Resizes 8-bit `h x w x c` pixels to `out_h x out_w` floats, bilinear as
/// `tf.image.resize` computes it (`top + (bottom - top) * dy` of two horizontal lerps,
/// half-pixel centres), or nearest; with `crop`, the centred window of the target's
/// aspect ratio.
pub(crate) fn resize(
    px: &[u8],
    (h, w, c): (usize, usize, usize),
    (out_h, out_w): (usize, usize),
    interp: Interpolation,
    crop: bool,
) -> Vec<f32> {
    let (top, hh, left, ww) = if crop {
        aspect_crop(h, w, out_h, out_w)
    } else {
        (0, h, 0, w)
    };
    let ys = resize_taps(top, hh, out_h, interp);
    let xs = resize_taps(left, ww, out_w, interp);
    let at = |y: usize, x: usize, k: usize| px[(y * w + x) * c + k] as f32;
    let mut out = Vec::with_capacity(out_h * out_w * c);
    for ty in &ys {
        for tx in &xs {
            for k in 0..c {
                let v = match interp {
                    Interpolation::Nearest => at(ty.i0, tx.i0, k),
                    Interpolation::Bilinear => {
                        let t = at(ty.i0, tx.i0, k);
                        let t = t + (at(ty.i0, tx.i1, k) - t) * tx.w1;
                        let b = at(ty.i1, tx.i0, k);
                        let b = b + (at(ty.i1, tx.i1, k) - b) * tx.w1;
                        t + (b - t) * ty.w1
                    }
                };
                out.push(v);
            }
        }
    }
    out
}

/// Reads one subset's files a chunk at a time (see the module docs).
pub(super) struct ImageStream {
    spec: Arc<ImageSpec>,
    order: Vec<usize>,
    pos: usize,
}

impl ImageStream {
    pub(super) fn new(spec: Arc<ImageSpec>, pass: u64) -> Self {
        let n = spec.files.len();
        let order = match spec.shuffle {
            Some(seed) => pass_order(n, seed, pass),
            None => (0..n).collect(),
        };
        Self {
            spec,
            order,
            pos: 0,
        }
    }

    /// Decodes and resizes file `i` of the subset.
    fn load(spec: &ImageSpec, i: usize) -> Result<Vec<f32>> {
        let path = &spec.files[i];
        let (px, h, w) = decode(path, spec.color_mode)?;
        Ok(resize(
            &px,
            (h, w, spec.color_mode.channels()),
            spec.size,
            spec.interp,
            spec.crop,
        ))
    }
}

impl Stream for ImageStream {
    fn next(&mut self) -> Result<Option<Batch>> {
        let spec = &self.spec;
        if self.pos >= self.order.len() {
            return Ok(None);
        }
        let end = (self.pos + spec.chunk).min(self.order.len());
        let ids = &self.order[self.pos..end];
        self.pos = end;
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8)
            .min(ids.len());
        let per = ids.len().div_ceil(workers);
        let parts: Vec<Result<Vec<Vec<f32>>>> = std::thread::scope(|s| {
            let handles: Vec<_> = ids
                .chunks(per)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .map(|&i| Self::load(spec, i))
                            .collect::<Result<Vec<_>>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::invalid(WHERE, "file", "an image decoder panicked"))
                    })
                })
                .collect()
        });
        let (h, w) = spec.size;
        let c = spec.color_mode.channels();
        let mut x = Vec::with_capacity(ids.len() * h * w * c);
        for part in parts {
            for img in part? {
                x.extend(img);
            }
        }
        let k = ids.len();
        let xs = HostTensor::f32(x, &[k, h, w, c])?;
        let y = match (&spec.labels, spec.label_mode) {
            (Some(l), LabelMode::Int) => {
                vec![HostTensor::i64(ids.iter().map(|&i| l[i]).collect(), &[k])?]
            }
            (Some(l), LabelMode::Categorical) => {
                let nc = spec.num_classes;
                let mut v = vec![0f32; k * nc];
                for (r, &i) in ids.iter().enumerate() {
                    v[r * nc + l[i] as usize] = 1.0;
                }
                vec![HostTensor::f32(v, &[k, nc])?]
            }
            (Some(l), LabelMode::Binary) => vec![HostTensor::f32(
                ids.iter().map(|&i| l[i] as f32).collect(),
                &[k, 1],
            )?],
            _ => Vec::new(),
        };
        Ok(Some(Batch { x: vec![xs], y }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_conversions() {
        assert_eq!(convert(&[10, 20], 1, 3), vec![10, 10, 10, 20, 20, 20]);
        assert_eq!(convert(&[10, 99], 2, 4), vec![10, 10, 10, 99]);
        assert_eq!(convert(&[255, 0, 0, 7], 4, 3), vec![255, 0, 0]);
        assert_eq!(convert(&[255, 255, 255], 3, 1), vec![255]);
        assert_eq!(convert(&[100, 100, 100], 3, 4), vec![100, 100, 100, 255]);
    }

    #[test]
    fn bilinear_resize_of_a_ramp() {
        // 1 x 4 ramp to 1 x 2: half-pixel centres at 0.5 and 2.5.
        let out = resize(
            &[0, 10, 20, 30],
            (1, 4, 1),
            (1, 2),
            Interpolation::Bilinear,
            false,
        );
        assert_eq!(out, vec![5.0, 25.0]);
    }
}
