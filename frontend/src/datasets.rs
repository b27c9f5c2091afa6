//! Small real datasets bundled with stratanet, and splitting helpers.
//!
//! No dataset is downloaded at run time: the data ships in the repository (`data/`), with
//! its licence and attribution.

use crate::backend::{Backend, Device};
use crate::error::{Error, Result};
use crate::random::Rng;
use crate::tensor::Tensor;

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

/// `(x_train, x_test, y_train, y_test)`, as returned by [`train_test_split`].
pub type Split<B> = (Tensor<B>, Tensor<B>, Tensor<B>, Tensor<B>);

/// Splits `(x, y)` into a training and a held-out test part after a seeded shuffle, like
/// scikit-learn's `train_test_split`. Returns `(x_train, x_test, y_train, y_test)`.
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
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// Different sample counts, or a `test_fraction` leaving an empty part.
pub fn train_test_split<B: Backend>(
    x: &Tensor<B>,
    y: &Tensor<B>,
    test_fraction: f64,
    seed: u64,
) -> Result<Split<B>> {
    let n = x.shape().first().copied().unwrap_or(0);
    if y.shape().first().copied() != Some(n) {
        return Err(Error::mismatch("train_test_split", &x.shape(), &y.shape()));
    }
    let n_test = ((n as f64) * test_fraction).ceil() as usize;
    if !(0.0..1.0).contains(&test_fraction) || n_test == 0 || n_test >= n {
        return Err(Error::invalid(
            "train_test_split",
            "test_fraction",
            format!("{test_fraction} of {n} samples leaves an empty part"),
        ));
    }
    let perm: Vec<i64> = Rng::new(seed)
        .permutation(n)
        .into_iter()
        .map(|i| i as i64)
        .collect();
    let device = x.device();
    let test_idx = Tensor::<B>::from_vec_on(perm[..n_test].to_vec(), &[n_test], device)?;
    let train_idx = Tensor::<B>::from_vec_on(perm[n_test..].to_vec(), &[n - n_test], device)?;
    Ok((
        x.index_select(&train_idx, 0)?,
        x.index_select(&test_idx, 0)?,
        y.index_select(&train_idx.to_device(y.device())?, 0)?,
        y.index_select(&test_idx.to_device(y.device())?, 0)?,
    ))
}
