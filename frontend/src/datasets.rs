//! Datasets: small real ones bundled with stratanet (digits as tensors; Auto MPG and
//! Seattle weather as [`Table`]s; the SMS Spam Collection as texts, [`sms_spam`]),
//! splitting helpers, image folders ([`image_dataset_from_directory`]), and loaders of the
//! larger sets Keras downloads (`keras.datasets`).
//!
//! The bundled data ships in the repository (`data/`), with its licence and attribution.
//!
//! [`mnist`], [`fashion_mnist`], [`cifar10`] and [`imdb`] download their files once from
//! the URLs Keras uses (the CIFAR-10 *binary* tarball from the CIFAR page), into
//! `$STRATANET_CACHE/datasets` (default `~/.cache/stratanet/datasets`), check each file's
//! SHA-256 ([`KNOWN_FILES`]), and parse the original formats (IDX, CIFAR binary, `.npz`).
//! Set `STRATANET_DATASETS_URL` to download from a mirror, or use a [`DatasetSource`].
//! Downloading needs the `download` feature (on by default in `stratanet`).

use crate::backend::{Backend, Device};
use crate::data::HostTensor;
use crate::error::{Error, Result};
use crate::random::Rng;
use crate::tabular::{CsvOptions, Table};
use crate::tensor::Tensor;

mod formats;
mod loaders;
mod pickle;
mod remote;
mod text;

pub use crate::dataset::{
    image_dataset_from_directory, image_dataset_from_directory_split, ColorMode, ImageFolder,
    ImageFolderOptions, ImageLabels, LabelMode, OnBadImage, Subset,
};
pub use formats::MAX_DECODED_BYTES;
pub use loaders::{
    cifar10, fashion_mnist, imdb, imdb_word_index, mnist, ImdbOptions, TrainTest, CIFAR10_CLASSES,
    FASHION_MNIST_CLASSES,
};
pub use remote::{
    DatasetSource, RemoteFile, KERAS_DATASETS_URL, KNOWN_FILES, MAX_DOWNLOAD_BYTES, URL_ENV,
};
pub use text::{sms_spam, LabelledTexts, SMS_SPAM_CLASSES};

const DIGITS_CSV: &str = include_str!("../../data/digits/digits.csv");

/// Number of samples in the UCI digits set.
pub const DIGITS_SAMPLES: usize = 1797;

/// The UCI ML handwritten digits (optical recognition, test set; 1,797 8x8 images with
/// pixel values 0..16, 10 classes), as bundled by scikit-learn (`load_digits`).
///
/// Returns `(pixels, labels)` on the host: `pixels` is row-major `[1797, 64]` as `f32`
/// in 0..=16, `labels` is `[1797]` in 0..=9. Licence: CC BY 4.0 (UCI), see
/// `data/digits/README.md`.
///
/// ```
/// let (x, y) = stratanet::datasets::load_digits()?;
/// assert_eq!(x.len(), 1797 * 64);
/// assert_eq!(y.len(), 1797);
/// assert!(y.iter().all(|&c| (0..10).contains(&c)));
/// # Ok::<(), stratanet::Error>(())
/// ```
///
/// # Errors
/// Only if the bundled file is corrupt ([`Error::Config`] naming line and column).
pub fn load_digits() -> Result<(Vec<f32>, Vec<i64>)> {
    let mut x = Vec::with_capacity(DIGITS_SAMPLES * 64);
    let mut y = Vec::with_capacity(DIGITS_SAMPLES);
    for (i, line) in DIGITS_CSV.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != 65 {
            return Err(Error::config(
                format!("data/digits/digits.csv:{}", i + 1),
                format!("expected 65 fields, got {}", fields.len()),
            ));
        }
        for (j, f) in fields.iter().enumerate() {
            let v: f32 = f.trim().parse().map_err(|_| {
                Error::config(
                    format!("data/digits/digits.csv:{}:{}", i + 1, j + 1),
                    format!("not a number: {f:?}"),
                )
            })?;
            if j < 64 {
                x.push(v);
            } else {
                y.push(v as i64);
            }
        }
    }
    Ok((x, y))
}

/// The digits as tensors on `device`: `x [1797, 8, 8]`-flattened `[1797, 64]` scaled to
/// `[0, 1]`, `y [1797]` (`i64`).
///
/// # Errors
/// Device errors.
pub fn digits<B: Backend>(device: Device) -> Result<(Tensor<B>, Tensor<B>)> {
    let (x, y) = load_digits()?;
    let x: Vec<f32> = x.into_iter().map(|v| v / 16.0).collect();
    let n = y.len();
    Ok((
        Tensor::from_vec_on(x, &[n, 64], device)?,
        Tensor::from_vec_on(y, &[n], device)?,
    ))
}

/// The digits as host arrays, engine-free: `x [1797, 64]` (`f32`, scaled to `[0, 1]`)
/// and `y [1797]` (`i64`). `fit`, `evaluate` and `predict` take them as they are.
///
/// ```
/// let (x, y) = stratanet::datasets::digits_host()?;
/// assert_eq!((x.shape.as_slice(), y.shape.as_slice()), (&[1797, 64][..], &[1797][..]));
/// # Ok::<(), stratanet::Error>(())
/// ```
///
/// # Errors
/// Only if the bundled file is corrupt.
pub fn digits_host() -> Result<(HostTensor, HostTensor)> {
    let (x, y) = load_digits()?;
    let x: Vec<f32> = x.into_iter().map(|v| v / 16.0).collect();
    let n = y.len();
    Ok((HostTensor::f32(x, &[n, 64])?, HostTensor::i64(y, &[n])?))
}

/// `(x_train, x_test, y_train, y_test)`, as returned by [`train_test_split`] on tensors.
pub type Split<B> = (Tensor<B>, Tensor<B>, Tensor<B>, Tensor<B>);

/// What [`train_test_split`] splits: samples along the first dimension, picked by index.
/// Implemented by [`Tensor`] (on its device) and [`HostTensor`].
pub trait SplitRows: Sized {
    /// The number of samples.
    fn n_rows(&self) -> usize;
    /// The samples at `rows`, in that order.
    ///
    /// # Errors
    /// Indices out of range, engine errors.
    fn take_rows(&self, rows: &[usize]) -> Result<Self>;
    /// The shape (for error messages).
    fn dims(&self) -> Vec<usize>;
}

impl<B: Backend> SplitRows for Tensor<B> {
    fn n_rows(&self) -> usize {
        self.shape().first().copied().unwrap_or(0)
    }
    fn take_rows(&self, rows: &[usize]) -> Result<Self> {
        let idx: Vec<i64> = rows.iter().map(|&i| i as i64).collect();
        let idx = Tensor::<B>::from_vec_on(idx, &[rows.len()], self.device())?;
        self.index_select(&idx, 0)
    }
    fn dims(&self) -> Vec<usize> {
        self.shape()
    }
}

impl SplitRows for HostTensor {
    fn n_rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(0)
    }
    fn take_rows(&self, rows: &[usize]) -> Result<Self> {
        HostTensor::take_rows(self, rows)
    }
    fn dims(&self) -> Vec<usize> {
        self.shape.clone()
    }
}

/// Splits `(x, y)` into a training and a held-out test part after a seeded shuffle, like
/// scikit-learn's `train_test_split`. Returns `(x_train, x_test, y_train, y_test)`. Works
/// on tensors and on host arrays ([`HostTensor`], e.g. from [`digits_host`]).
///
/// ```
/// use stratanet::{datasets, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let x = Tensor::<B>::from_vec((0..10).map(|i| i as f32).collect(), &[10, 1])?;
/// let y = Tensor::<B>::from_vec((0..10).collect::<Vec<i64>>(), &[10])?;
/// let (xtr, xte, ytr, yte) = datasets::train_test_split(&x, &y, 0.3, 0)?;
/// assert_eq!((xtr.shape()[0], xte.shape()[0]), (7, 3));
/// // rows stay paired
/// assert_eq!(xte.to_vec_f32()?, yte.to_vec_f32()?);
/// # let _ = ytr;
/// // the same split of host arrays
/// let (hx, hy) = (stratanet::HostTensor::from_tensor(&x)?, stratanet::HostTensor::from_tensor(&y)?);
/// let (_, hxte, _, _) = datasets::train_test_split(&hx, &hy, 0.3, 0)?;
/// assert_eq!(hxte.to_tensor::<B>(stratanet::Device::Cpu)?.to_vec_f32()?, xte.to_vec_f32()?);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// Different sample counts, or a `test_fraction` leaving an empty part.
pub fn train_test_split<X: SplitRows, Y: SplitRows>(
    x: &X,
    y: &Y,
    test_fraction: f64,
    seed: u64,
) -> Result<(X, X, Y, Y)> {
    let n = x.n_rows();
    if y.n_rows() != n {
        return Err(Error::mismatch("train_test_split", &x.dims(), &y.dims()));
    }
    let n_test = ((n as f64) * test_fraction).ceil() as usize;
    if !(0.0..1.0).contains(&test_fraction) || n_test == 0 || n_test >= n {
        return Err(Error::invalid(
            "train_test_split",
            "test_fraction",
            format!("{test_fraction} of {n} samples leaves an empty part"),
        ));
    }
    let perm = Rng::new(seed).permutation(n);
    let (test, train) = perm.split_at(n_test);
    Ok((
        x.take_rows(train)?,
        x.take_rows(test)?,
        y.take_rows(train)?,
        y.take_rows(test)?,
    ))
}

const AUTO_MPG_CSV: &str = include_str!("../../data/auto-mpg/auto-mpg.csv");
const SEATTLE_WEATHER_CSV: &str = include_str!("../../data/seattle-weather/seattle-weather.csv");

/// The Auto MPG data set (StatLib / UCI, via vega-datasets 0.9.0): 406 cars, 9 columns.
///
/// | column | type | missing |
/// |---|---|---|
/// | `Name` | str | 0 |
/// | `Miles_per_Gallon` | float | 8 |
/// | `Cylinders` | int | 0 |
/// | `Displacement` | float | 0 |
/// | `Horsepower` | int | 6 |
/// | `Weight_in_lbs` | int | 0 |
/// | `Acceleration` | float | 0 |
/// | `Year` | int (1970..=1982) | 0 |
/// | `Origin` | str (`USA`, `Japan`, `Europe`) | 0 |
///
/// `Miles_per_Gallon` is the usual regression target; drop the rows with missing values
/// first ([`Table::drop_missing`]: 392 complete rows). Licence: CC BY 4.0 (UCI), see
/// `data/auto-mpg/README.md`.
///
/// ```
/// use stratanet::tabular::ColumnType;
/// let cars = stratanet::datasets::auto_mpg()?;
/// assert_eq!((cars.n_rows(), cars.n_cols()), (406, 9));
/// assert_eq!(cars.column("Horsepower")?.missing_count(), 6);
/// assert_eq!(cars.column_type("Origin")?, ColumnType::Str);
/// let complete = cars.drop_missing(&["Miles_per_Gallon", "Horsepower"])?;
/// assert_eq!(complete.n_rows(), 392);
/// # Ok::<(), stratanet::Error>(())
/// ```
///
/// # Errors
/// Only if the bundled file is corrupt ([`Error::Config`] naming line and column).
pub fn auto_mpg() -> Result<Table> {
    Table::from_csv_str(AUTO_MPG_CSV, &CsvOptions::new())
        .map(|t| t.with_source("data/auto-mpg/auto-mpg.csv"))
}

/// Daily Seattle weather 2012-2015 (NOAA, via vega-datasets 0.9.0): 1,461 rows, no missing
/// values; columns `date` (str, `2012/01/01`), `precipitation`, `temp_max`, `temp_min`,
/// `wind` (float) and `weather` (str: `sun` 714, `fog` 411, `rain` 259, `drizzle` 54,
/// `snow` 23), the usual classification target. Public-domain data, see
/// `data/seattle-weather/README.md`.
///
/// ```
/// let days = stratanet::datasets::seattle_weather()?;
/// assert_eq!((days.n_rows(), days.n_cols()), (1461, 6));
/// assert_eq!(days.column("weather")?.as_str().unwrap()[0], Some("drizzle"));
/// # Ok::<(), stratanet::Error>(())
/// ```
///
/// # Errors
/// Only if the bundled file is corrupt ([`Error::Config`] naming line and column).
pub fn seattle_weather() -> Result<Table> {
    Table::from_csv_str(SEATTLE_WEATHER_CSV, &CsvOptions::new())
        .map(|t| t.with_source("data/seattle-weather/seattle-weather.csv"))
}

#[cfg(test)]
mod tabular_tests {
    use super::*;
    use crate::tabular::{Column, ColumnType};

    /// Counts printed by `scripts/convert_vega_datasets.py` (Python's `csv` module), which
    /// applies the same type-inference rule and missing-value markers.
    #[test]
    fn auto_mpg_matches_the_conversion_script() {
        let t = auto_mpg().unwrap();
        let expected = [
            ("Name", ColumnType::Str, 0, None),
            (
                "Miles_per_Gallon",
                ColumnType::Float,
                8,
                Some(9358.800000000003),
            ),
            ("Cylinders", ColumnType::Int, 0, Some(2223.0)),
            ("Displacement", ColumnType::Float, 0, Some(79080.5)),
            ("Horsepower", ColumnType::Int, 6, Some(42033.0)),
            ("Weight_in_lbs", ColumnType::Int, 0, Some(1209642.0)),
            (
                "Acceleration",
                ColumnType::Float,
                0,
                Some(6300.999999999994),
            ),
            ("Year", ColumnType::Int, 0, Some(802254.0)),
            ("Origin", ColumnType::Str, 0, None),
        ];
        let origins = [("USA", 254), ("Japan", 79), ("Europe", 73)];
        check(&t, 406, &expected, ("Origin", &origins));
        assert_eq!(
            t.take(&[0]).column("Name").unwrap(),
            &Column::strs(&["chevrolet chevelle malibu"])
        );
    }

    #[test]
    fn seattle_weather_matches_the_conversion_script() {
        let t = seattle_weather().unwrap();
        let expected = [
            ("date", ColumnType::Str, 0, None),
            (
                "precipitation",
                ColumnType::Float,
                0,
                Some(4426.000000000008),
            ),
            ("temp_max", ColumnType::Float, 0, Some(24017.499999999953)),
            ("temp_min", ColumnType::Float, 0, Some(12031.000000000015)),
            ("wind", ColumnType::Float, 0, Some(4735.299999999992)),
            ("weather", ColumnType::Str, 0, None),
        ];
        let weather = [
            ("drizzle", 54),
            ("fog", 411),
            ("rain", 259),
            ("snow", 23),
            ("sun", 714),
        ];
        check(&t, 1461, &expected, ("weather", &weather));
    }

    /// `t` has `n_rows` rows and the `expected` columns (name, type, missing count, sum),
    /// and its string column `category` holds each listed value the listed number of times.
    fn check(
        t: &Table,
        n_rows: usize,
        expected: &[(&str, ColumnType, usize, Option<f64>)],
        (category, counts): (&str, &[(&str, usize)]),
    ) {
        assert_eq!(t.n_rows(), n_rows);
        let names: Vec<&str> = expected.iter().map(|e| e.0).collect();
        assert_eq!(t.names(), names);
        for &(name, ty, missing, sum) in expected {
            let c = t.column(name).unwrap();
            assert_eq!((c.dtype(), c.missing_count()), (ty, missing), "{name}");
            if let Some(sum) = sum {
                // summed in file order, as Python's `sum`, so the f64 result is identical
                let s: f64 = c.as_f64().unwrap().into_iter().flatten().sum();
                assert_eq!(s, sum, "{name}");
            }
        }
        let values = t.column(category).unwrap().as_str().unwrap();
        for &(value, n) in counts {
            let got = values.iter().filter(|v| **v == Some(value)).count();
            assert_eq!(got, n, "{category} = {value}");
        }
    }
}
