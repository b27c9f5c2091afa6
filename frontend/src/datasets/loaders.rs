//! The loaders of `keras.datasets`: MNIST, Fashion-MNIST, CIFAR-10 and IMDB, with Keras'
//! shapes, value ranges and (for IMDB) arguments and shuffling.

use super::formats::{self, Npy, Npz, CIFAR_RECORD};
use super::remote::DatasetSource;
use crate::data::HostTensor;
use crate::error::{Error, Result};
use std::collections::HashMap;

/// `((x_train, y_train), (x_test, y_test))`, as Keras' `load_data()` returns them. The
/// labels are always an `i64` [`HostTensor`]; `X` is a `HostTensor` of pixels for the image
/// sets and lists of word indices for IMDB.
pub type TrainTest<X> = ((X, HostTensor), (X, HostTensor));

/// Fashion-MNIST's class names, by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// CIFAR-10's class names, by label (`batches.meta.txt` of the tarball).
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// The arguments of Keras' `imdb.load_data`, with Keras' defaults (`num_words=None`,
/// `skip_top=0`, `maxlen=None`, `seed=113`, `start_char=1`, `oov_char=2`, `index_from=3`).
///
/// ```
/// use stratanet::datasets::ImdbOptions;
/// let options = ImdbOptions::new().num_words(10_000).maxlen(200);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImdbOptions {
    num_words: Option<usize>,
    skip_top: usize,
    maxlen: Option<usize>,
    seed: u32,
    start_char: Option<i64>,
    oov_char: Option<i64>,
    index_from: i64,
}

impl Default for ImdbOptions {
    fn default() -> Self {
        Self {
            num_words: None,
            skip_top: 0,
            maxlen: None,
            seed: 113,
            start_char: Some(1),
            oov_char: Some(2),
            index_from: 3,
        }
    }
}

impl ImdbOptions {
    crate::builder::setters! {
        /// Keras' defaults.
        new();
        /// Keeps the `n` most frequent words: indices (after `index_from` is added) of
        /// `n` and above become `oov_char` (or are dropped without one). `0` means all words,
        /// as in Keras; Keras' quirk is kept too: with all words, the largest index present
        /// is itself out of range.
        num_words(n: usize) => num_words = Some(n);
        /// Indices (after `index_from` is added) below `n` become `oov_char` (or are
        /// dropped without one); Keras' `skip_top`.
        skip_top(n: usize) => skip_top = n;
        /// Drops every review whose sequence (start mark included) has `n` or more
        /// entries. Keras' documentation says "truncated", but its code drops the review
        /// and its label; so does this. `0` means no limit, as in Keras.
        maxlen(n: usize) => maxlen = Some(n);
        /// The seed of the shuffle: numpy's `RandomState(seed)`, so the order matches Keras.
        seed(seed: u32) => seed = seed;
        /// Marks the start of every sequence with `c`; `None` for no mark.
        start_char(c: Option<i64>) => start_char = c;
        /// Replaces the words cut by `num_words` and `skip_top` with `c`; `None` drops them.
        oov_char(c: Option<i64>) => oov_char = c;
        /// Adds `n` to every word index of the file (which start at 1 for the most frequent
        /// word), leaving room for padding, start and out-of-vocabulary marks.
        index_from(n: i64) => index_from = n;
    }
}

fn origin(path: &std::path::Path) -> String {
    path.display().to_string()
}

/// Pixels (`u8`, as in the files) as an `f32` host tensor of `shape`.
fn pixels(values: &[u8], shape: &[usize]) -> Result<HostTensor> {
    HostTensor::f32(values.iter().map(|&v| v as f32).collect(), shape)
}

/// Labels as an `i64` host tensor of `shape`.
fn labels(values: impl IntoIterator<Item = i64>, shape: &[usize]) -> Result<HostTensor> {
    HostTensor::i64(values.into_iter().collect(), shape)
}

/// The images and labels of one split, checked to agree in count.
fn image_split(
    origin: &str,
    split: &str,
    (x_shape, x): (Vec<usize>, &[u8]),
    y: Vec<i64>,
) -> Result<(HostTensor, HostTensor)> {
    if x_shape.first() != Some(&y.len()) {
        return Err(Error::config(
            origin,
            format!(
                "x_{split} has shape {x_shape:?} but y_{split} holds {} labels",
                y.len()
            ),
        ));
    }
    let n = y.len();
    Ok((pixels(x, &x_shape)?, labels(y, &[n])?))
}

impl DatasetSource {
    /// MNIST, from `mnist.npz` (the file Keras downloads). See [`mnist`](super::mnist).
    ///
    /// # Errors
    /// Download and checksum errors (see [`fetch`](Self::fetch)); [`Error::Config`] naming
    /// the file for a malformed file.
    pub fn mnist(&self) -> Result<TrainTest<HostTensor>> {
        let path = self.fetch("mnist.npz")?;
        let origin = origin(&path);
        let mut npz = Npz::open(&path)?;
        let mut images = |name: &str| -> Result<(Vec<usize>, Vec<u8>)> {
            match npz.array(name)? {
                Npy::U8(shape, v) if shape.len() == 3 => Ok((shape, v)),
                _ => Err(Error::config(
                    &origin,
                    format!("{name} is not a 3-dimensional uint8 array"),
                )),
            }
        };
        let (x_train, x_test) = (images("x_train")?, images("x_test")?);
        let mut labels = |name: &str| -> Result<Vec<i64>> {
            match npz.array(name)? {
                Npy::U8(shape, v) if shape.len() == 1 => Ok(v.into_iter().map(i64::from).collect()),
                Npy::Int(shape, v) if shape.len() == 1 => Ok(v),
                _ => Err(Error::config(
                    &origin,
                    format!("{name} is not a 1-dimensional integer array"),
                )),
            }
        };
        let (y_train, y_test) = (labels("y_train")?, labels("y_test")?);
        Ok((
            image_split(&origin, "train", (x_train.0, &x_train.1), y_train)?,
            image_split(&origin, "test", (x_test.0, &x_test.1), y_test)?,
        ))
    }

    /// Fashion-MNIST, from its four IDX files. See [`fashion_mnist`](super::fashion_mnist).
    ///
    /// # Errors
    /// As [`mnist`](Self::mnist).
    pub fn fashion_mnist(&self) -> Result<TrainTest<HostTensor>> {
        let split = |images: &str, labels: &str, split: &str| {
            let images = self.fetch(&format!("fashion-mnist/{images}"))?;
            let labels = self.fetch(&format!("fashion-mnist/{labels}"))?;
            let x = formats::read_gz(&images)?;
            let y = formats::read_gz(&labels)?;
            let (x_shape, x) = formats::idx_u8(&x, &origin(&images), 3)?;
            let (_, y) = formats::idx_u8(&y, &origin(&labels), 1)?;
            image_split(
                &origin(&images),
                split,
                (x_shape, x),
                y.iter().map(|&v| v as i64).collect(),
            )
        };
        Ok((
            split(
                "train-images-idx3-ubyte.gz",
                "train-labels-idx1-ubyte.gz",
                "train",
            )?,
            split(
                "t10k-images-idx3-ubyte.gz",
                "t10k-labels-idx1-ubyte.gz",
                "test",
            )?,
        ))
    }

    /// CIFAR-10, from the binary tarball. See [`cifar10`](super::cifar10).
    ///
    /// # Errors
    /// As [`mnist`](Self::mnist).
    pub fn cifar10(&self) -> Result<TrainTest<HostTensor>> {
        let path = self.fetch("cifar-10-binary.tar.gz")?;
        let (train, test) = formats::cifar10_binary(&path)?;
        Ok((cifar_split(&train)?, cifar_split(&test)?))
    }

    /// IMDB reviews as word indices, from `imdb.npz`. See [`imdb`](super::imdb).
    ///
    /// # Errors
    /// As [`mnist`](Self::mnist); [`Error::InvalidArgument`] when `maxlen` leaves no
    /// review in a split, or an index overflows.
    pub fn imdb(&self, options: &ImdbOptions) -> Result<TrainTest<Vec<Vec<i64>>>> {
        let path = self.fetch("imdb.npz")?;
        let origin = origin(&path);
        let mut npz = Npz::open(&path)?;
        let mut sequences = |name: &str| match npz.array(name)? {
            Npy::Lists(v) => Ok(v),
            _ => Err(Error::config(
                &origin,
                format!("{name} is not an object array of lists"),
            )),
        };
        let (x_train, x_test) = (sequences("x_train")?, sequences("x_test")?);
        let mut labels = |name: &str| match npz.array(name)? {
            Npy::Int(shape, v) if shape.len() == 1 => Ok(v),
            Npy::U8(shape, v) if shape.len() == 1 => Ok(v.into_iter().map(i64::from).collect()),
            _ => Err(Error::config(
                &origin,
                format!("{name} is not a 1-dimensional integer array"),
            )),
        };
        let (y_train, y_test) = (labels("y_train")?, labels("y_test")?);
        for (split, x, y) in [("train", &x_train, &y_train), ("test", &x_test, &y_test)] {
            if x.len() != y.len() {
                return Err(Error::config(
                    &origin,
                    format!(
                        "x_{split} holds {} reviews but y_{split} {} labels",
                        x.len(),
                        y.len()
                    ),
                ));
            }
        }
        let ((x_train, y_train), (x_test, y_test)) =
            keras_imdb(options, (x_train, y_train), (x_test, y_test))?;
        let (n_train, n_test) = (y_train.len(), y_test.len());
        Ok((
            (x_train, labels_tensor(y_train, n_train)?),
            (x_test, labels_tensor(y_test, n_test)?),
        ))
    }

    /// The IMDB word index (`imdb_word_index.json`): word to its rank by frequency (1 for
    /// the most frequent word). See [`imdb_word_index`](super::imdb_word_index).
    ///
    /// # Errors
    /// Download and checksum errors; [`Error::Config`] naming the file when it is not a
    /// JSON object of integers.
    pub fn imdb_word_index(&self) -> Result<HashMap<String, i64>> {
        let path = self.fetch("imdb_word_index.json")?;
        let origin = origin(&path);
        let text = std::fs::read(&path)
            .map_err(|e| Error::config(&origin, format!("cannot read: {e}")))?;
        serde_json::from_slice(&text).map_err(|e| {
            Error::config(origin, format!("not a JSON object of word -> integer: {e}"))
        })
    }
}

/// MNIST handwritten digits, like `keras.datasets.mnist.load_data()`: 60,000 training and
/// 10,000 test images of 28 x 28 pixels, downloaded once (from Keras' `mnist.npz`) into the
/// cache folder (see [`DatasetSource::from_env`]) and checked against its SHA-256.
///
/// Returns `((x_train, y_train), (x_test, y_test))` as host tensors:
///
/// | | shape | dtype | values |
/// |---|---|---|---|
/// | `x_train` | `[60000, 28, 28]` | `f32` | 0 ..= 255 (the file's `u8` pixels, not scaled) |
/// | `y_train` | `[60000]` | `i64` | 0 ..= 9 |
/// | `x_test` | `[10000, 28, 28]` | `f32` | 0 ..= 255 |
/// | `y_test` | `[10000]` | `i64` | 0 ..= 9 |
///
/// Keras returns `uint8` arrays; stratanet's host tensors have no 8-bit type, so the pixels
/// come as `f32` holding the same integers (188 MB for `x_train`). Licence: CC BY-SA 3.0
/// (Yann LeCun and Corinna Cortes).
///
/// ```no_run
/// use stratanet::prelude::*;
/// # fn main() -> stratanet::Result<()> {
/// let ((x_train, y_train), (x_test, y_test)) = stratanet::datasets::mnist()?;
/// assert_eq!(x_train.shape, [60000, 28, 28]);
/// let x = x_train.to_tensor::<DefaultBackend>(Device::Cpu)?.mul_scalar(1.0 / 255.0)?;
/// let y = y_train.to_tensor::<DefaultBackend>(Device::Cpu)?;
/// let mut model = Sequential::<DefaultBackend>::new();
/// model.add(Input::new(&[28, 28]))?;
/// model.add(Flatten::new())?;
/// model.add(Dense::new(128).activation("relu"))?;
/// model.add(Dense::new(10).activation("softmax"))?;
/// model.compile(Adam::new(1e-3), "sparse_categorical_crossentropy", &["accuracy"])?;
/// model.fit(&x, &y, FitOptions::new().epochs(1).batch_size(128))?;
/// # let _ = (x_test, y_test);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// No cache folder; a failed download ([`Error::Config`] naming the URL); a download whose
/// SHA-256 does not match ([`Error::Config`] naming the file and both hashes; the download
/// is deleted); a malformed file ([`Error::Config`] naming it).
pub fn mnist() -> Result<TrainTest<HostTensor>> {
    DatasetSource::from_env()?.mnist()
}

/// Fashion-MNIST (Zalando), like `keras.datasets.fashion_mnist.load_data()`: the four
/// gzip-compressed IDX files Keras downloads, read in their original format. Shapes, types
/// and values as [`mnist`]; class names in [`FASHION_MNIST_CLASSES`]. Licence: MIT.
///
/// # Errors
/// As [`mnist`].
pub fn fashion_mnist() -> Result<TrainTest<HostTensor>> {
    DatasetSource::from_env()?.fashion_mnist()
}

/// CIFAR-10, like `keras.datasets.cifar10.load_data()`: 50,000 training and 10,000 test
/// colour images of 32 x 32 pixels in 10 classes ([`CIFAR10_CLASSES`]).
///
/// Keras downloads the Python-pickle tarball; stratanet downloads the **binary** version
/// from the same page, `https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz`
/// (170 MB, SHA-256 as pinned by TensorFlow Datasets), and reads `data_batch_1.bin` ...
/// `data_batch_5.bin` (training, in that order) and `test_batch.bin` from it.
///
/// Returns, like Keras with `channels_last`: `x_train [50000, 32, 32, 3]` and
/// `x_test [10000, 32, 32, 3]` as `f32` in 0 ..= 255 (the file's bytes, not scaled),
/// `y_train [50000, 1]` and `y_test [10000, 1]` as `i64` in 0 ..= 9 (note the trailing 1,
/// as in Keras).
///
/// # Errors
/// As [`mnist`].
pub fn cifar10() -> Result<TrainTest<HostTensor>> {
    DatasetSource::from_env()?.cifar10()
}

/// The IMDB movie-review sentiment set, like `keras.datasets.imdb.load_data(...)`: 25,000
/// training and 25,000 test reviews as lists of word indices (words ranked by frequency),
/// labels 0 (negative) and 1 (positive), from Keras' `imdb.npz`.
///
/// `options` are Keras' arguments ([`ImdbOptions`]), applied as Keras does: both splits
/// shuffled with numpy's `RandomState(seed)` (same order as Keras), every sequence starting
/// with `start_char`, word indices offset by `index_from`, reviews of `maxlen` or more
/// entries dropped, and indices outside `skip_top..num_words` replaced by `oov_char`.
/// Returns `((x_train, y_train), (x_test, y_test))` with `x` as `Vec<Vec<i64>>` and `y`
/// as `i64` host tensors of shape `[n]`.
///
/// ```no_run
/// use stratanet::datasets::{imdb, ImdbOptions};
/// # fn main() -> stratanet::Result<()> {
/// let ((x_train, y_train), _) = imdb(&ImdbOptions::new().num_words(10_000))?;
/// assert_eq!(x_train.len(), 25_000);
/// assert_eq!(x_train[0][0], 1); // start_char
/// assert!(x_train.iter().flatten().all(|&w| w < 10_000));
/// # let _ = y_train;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// As [`mnist`]; [`Error::InvalidArgument`] when `maxlen` keeps no review of a split.
pub fn imdb(options: &ImdbOptions) -> Result<TrainTest<Vec<Vec<i64>>>> {
    DatasetSource::from_env()?.imdb(options)
}

/// The IMDB word index, like `keras.datasets.imdb.get_word_index()`: each word and its
/// frequency rank (1 for the most frequent). A word of rank `r` appears in [`imdb`]'s
/// sequences as `r + index_from` (3 by default). The file is checked with the MD5 Keras
/// pins (no SHA-256 is published for it).
///
/// # Errors
/// As [`mnist`].
pub fn imdb_word_index() -> Result<HashMap<String, i64>> {
    DatasetSource::from_env()?.imdb_word_index()
}

fn labels_tensor(y: Vec<i64>, n: usize) -> Result<HostTensor> {
    labels(y, &[n])
}

/// Records of the CIFAR binary format as `x [n, 32, 32, 3]` (channels last, as Keras
/// returns them) and `y [n, 1]`.
fn cifar_split(records: &[u8]) -> Result<(HostTensor, HostTensor)> {
    let n = records.len() / CIFAR_RECORD;
    let mut x = vec![0f32; n * 3072];
    let mut y = Vec::with_capacity(n);
    for (r, record) in records.chunks_exact(CIFAR_RECORD).enumerate() {
        y.push(record[0] as i64);
        let planes = &record[1..];
        let out = &mut x[r * 3072..(r + 1) * 3072];
        for c in 0..3 {
            for p in 0..1024 {
                out[p * 3 + c] = planes[c * 1024 + p] as f32;
            }
        }
    }
    Ok((HostTensor::f32(x, &[n, 32, 32, 3])?, labels(y, &[n, 1])?))
}

type Split = (Vec<Vec<i64>>, Vec<i64>);

/// Keras' `imdb.load_data` after the file is read (`keras/src/datasets/imdb.py`): shuffle
/// both splits with one `RandomState(seed)`, add `start_char`/`index_from`, drop long
/// reviews, cut the vocabulary.
fn keras_imdb(o: &ImdbOptions, train: Split, test: Split) -> Result<(Split, Split)> {
    let mut rng = NumpyRandomState::new(o.seed);
    let mut prepare = |(x, y): Split| -> Result<Split> {
        let order = rng.permutation(x.len());
        let mut x: Vec<Option<Vec<i64>>> = x.into_iter().map(Some).collect();
        let mut xs = Vec::with_capacity(order.len());
        let mut ys = Vec::with_capacity(order.len());
        for &i in &order {
            let seq = x[i].take().unwrap_or_default();
            let mut out = Vec::with_capacity(seq.len() + 1);
            out.extend(o.start_char);
            for w in seq {
                out.push(w.checked_add(o.index_from).ok_or_else(|| {
                    Error::invalid(
                        "imdb",
                        "index_from",
                        format!("{w} + {} overflows", o.index_from),
                    )
                })?);
            }
            if let Some(maxlen) = o.maxlen.filter(|&m| m > 0) {
                if out.len() >= maxlen {
                    continue;
                }
            }
            xs.push(out);
            ys.push(y[i]);
        }
        Ok((xs, ys))
    };
    let (mut x_train, y_train) = prepare(train)?;
    let (mut x_test, y_test) = prepare(test)?;
    if let Some(maxlen) = o.maxlen.filter(|&m| m > 0) {
        if x_train.is_empty() || x_test.is_empty() {
            return Err(Error::invalid(
                "imdb",
                "maxlen",
                format!(
                    "after filtering for sequences shorter than maxlen={maxlen}, no sequence \
                     was kept; increase maxlen"
                ),
            ));
        }
    }
    let num_words: i128 = match o.num_words.filter(|&n| n > 0) {
        Some(n) => n as i128,
        None => x_train
            .iter()
            .chain(&x_test)
            .filter_map(|x| x.iter().max())
            .max()
            .map_or(0, |&m| m as i128),
    };
    let skip_top = o.skip_top as i128;
    let keep = |w: i64| skip_top <= w as i128 && (w as i128) < num_words;
    for x in x_train.iter_mut().chain(x_test.iter_mut()) {
        match o.oov_char {
            Some(oov) => x.iter_mut().filter(|w| !keep(**w)).for_each(|w| *w = oov),
            None => x.retain(|&w| keep(w)),
        }
    }
    Ok(((x_train, y_train), (x_test, y_test)))
}

/// numpy's legacy `RandomState` (MT19937 seeded by `init_genrand`), just enough for
/// `shuffle` of a one-dimensional array, so that Keras' IMDB order is reproduced exactly.
struct NumpyRandomState {
    mt: [u32; 624],
    index: usize,
}

impl NumpyRandomState {
    fn new(seed: u32) -> Self {
        let mut mt = [0u32; 624];
        mt[0] = seed;
        for i in 1..624 {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Self { mt, index: 624 }
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            for i in 0..624 {
                let y = (self.mt[i] & 0x8000_0000) | (self.mt[(i + 1) % 624] & 0x7fff_ffff);
                let mut v = self.mt[(i + 397) % 624] ^ (y >> 1);
                if y & 1 != 0 {
                    v ^= 0x9908_b0df;
                }
                self.mt[i] = v;
            }
            self.index = 0;
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// A value in `0..=max` by masked rejection (numpy's legacy `random_interval`).
    fn interval(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16] {
            mask |= mask >> shift;
        }
        loop {
            let v = self.next_u32() & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// `a = np.arange(n); rng.shuffle(a); a`.
    fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut a: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            // n is at most the reviews a file of at most 1 GiB holds; u32 suffices.
            let j = self.interval(i as u32) as usize;
            a.swap(i, j);
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffles_like_numpy_random_state() {
        // `r = np.random.RandomState(113); a = np.arange(10); r.shuffle(a)`, then a second
        // shuffle of `np.arange(7)` with the same `r` (numpy 2.4.6).
        let mut r = NumpyRandomState::new(113);
        assert_eq!(r.permutation(10), [9, 3, 6, 1, 0, 7, 4, 8, 2, 5]);
        assert_eq!(r.permutation(7), [5, 1, 0, 3, 6, 4, 2]);
        let mut r = NumpyRandomState::new(u32::MAX);
        let p = r.permutation(300);
        assert_eq!(
            &p[..12],
            [110, 21, 54, 6, 19, 166, 190, 59, 280, 170, 126, 97]
        );
        // `np.random.RandomState(5489).randint(0, 2**32, dtype=np.uint64)`, three times
        let mut r = NumpyRandomState::new(5489);
        assert_eq!(
            [r.next_u32(), r.next_u32(), r.next_u32()],
            [3499211612, 581869302, 3890346734]
        );
    }

    fn tiny() -> (Split, Split) {
        (
            (vec![vec![1, 2, 3], vec![4], vec![5, 1]], vec![0, 1, 1]),
            (vec![vec![2, 2], vec![9, 8, 7, 6]], vec![1, 0]),
        )
    }

    #[test]
    fn imdb_defaults_follow_keras() {
        let (train, test) = tiny();
        let ((x, y), (xt, yt)) = keras_imdb(&ImdbOptions::new(), train, test).unwrap();
        // order from RandomState(113): train [1, 2, 0] ... computed below
        let mut r = NumpyRandomState::new(113);
        let (p, q) = (r.permutation(3), r.permutation(2));
        let src = tiny();
        for (k, &i) in p.iter().enumerate() {
            let mut want = vec![1];
            want.extend(src.0 .0[i].iter().map(|w| w + 3));
            // num_words defaults to the largest index (12 = 9 + 3), which itself becomes OOV
            for w in want.iter_mut() {
                if *w >= 12 {
                    *w = 2;
                }
            }
            assert_eq!(x[k], want);
            assert_eq!(y[k], src.0 .1[i]);
        }
        assert_eq!(yt, q.iter().map(|&i| src.1 .1[i]).collect::<Vec<_>>());
        assert!(xt.iter().flatten().all(|&w| w < 12));
    }

    #[test]
    fn imdb_arguments() {
        let (train, test) = tiny();
        let o = ImdbOptions::new()
            .maxlen(3)
            .num_words(6)
            .skip_top(4)
            .oov_char(None)
            .start_char(None)
            .index_from(0);
        let ((x, y), (xt, yt)) = keras_imdb(&o, train, test).unwrap();
        // kept: lengths < 3 -> [4], [5, 1] (train), [2, 2] (test); words in 4..6 only
        let mut pairs: Vec<(Vec<i64>, i64)> = x.into_iter().zip(y).collect();
        pairs.sort();
        assert_eq!(pairs, [(vec![4], 1), (vec![5], 1)]);
        assert_eq!((xt, yt), (vec![vec![]], vec![1]));
        let (train, test) = tiny();
        let e = keras_imdb(&ImdbOptions::new().maxlen(1), train, test).unwrap_err();
        assert!(e.to_string().contains("maxlen=1"), "{e}");
    }
}
