//! Datasets for `fit`, `evaluate` and `predict`: in-memory host data, CSV files streamed in
//! chunks (for files larger than memory), or a user type implementing [`BatchSource`] (like
//! Keras' `PyDataset`), with seeded shuffling, batching, `map` and prefetching on a
//! background thread.
//!
//! A [`Dataset`] is a host-side pipeline: its elements are host arrays ([`HostTensor`]s
//! grouped in a [`Batch`]), uploaded to the model's device on the training thread, so the
//! pipeline can run on another thread while the engine computes. Tensors that fit in memory
//! train fastest through the tensor form of `fit`, which batches on the device; datasets are
//! for data that does not fit, that is produced on the fly, or that needs host-side
//! preprocessing.
//!
//! The stream is one of *samples* (from [`Dataset::from_host`], [`Dataset::from_tensors`],
//! [`Dataset::from_csv`]) until [`Dataset::batch`] groups them, or of *batches* (from
//! [`Dataset::from_source`], or after `batch`). [`Dataset::shuffle`] and [`Dataset::map`] act
//! on the stream's current elements, as in `tf.data`. How a source happens to chunk its
//! samples (a CSV file's chunk size, for instance) never changes which batches come out:
//! the same samples with the same seed give the same batches from memory and from a file.
//!
//! ```
//! use stratanet::dataset::Dataset;
//! use stratanet::saving::HostTensor;
//! # fn main() -> stratanet::Result<()> {
//! // 6 samples with 2 features and one target each.
//! let x = HostTensor::f32((0..12).map(|v| v as f32).collect(), &[6, 2])?;
//! let y = HostTensor::f32((0..6).map(|v| v as f32).collect(), &[6, 1])?;
//! let mut ds = Dataset::from_host(vec![x], vec![y])?.shuffle(6, 42).batch(4).prefetch(2);
//! let batches = ds.collect_epoch()?;
//! assert_eq!(batches.len(), 2);
//! assert_eq!(batches[0].len(), 4);
//! assert_eq!(batches[1].len(), 2);
//! # Ok(())
//! # }
//! ```

mod images;
mod pipeline;
mod prefetch;
mod shuffle;
mod source;
#[cfg(test)]
mod tests;

pub use crate::data::{Batch, BatchTensors, HostTensor};
pub use images::{
    image_dataset_from_directory, image_dataset_from_directory_split, ColorMode, ImageFolder,
    ImageFolderOptions, ImageLabels, LabelMode, OnBadImage, Subset,
};
pub use source::BatchSource;

use pipeline::build;
use prefetch::{Live, Prefetcher};

use crate::backend::{Backend, DType, Device};
use crate::data::Data;
use crate::error::{Error, Result};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Rows per chunk an in-memory source hands down the pipeline (the chunking never changes
/// the batches that come out).
const HOST_CHUNK: usize = 4096;

/// A function applied to every element by [`Dataset::map`].
pub(crate) type MapFn = Arc<Mutex<Box<dyn FnMut(Batch) -> Result<Batch> + Send>>>;

/// Where a dataset's elements come from.
pub(crate) enum Source {
    /// Samples in memory, handed down in chunks of the given number of rows.
    Host(Arc<Batch>, usize),
    Csv(Arc<CsvSpec>),
    User(Arc<Mutex<Box<dyn BatchSource>>>),
    /// Image files decoded during iteration (`image_dataset_from_directory`).
    Images(Arc<images::ImageSpec>),
}

/// A CSV file streamed in chunks: which columns are inputs and which targets.
pub(crate) struct CsvSpec {
    path: PathBuf,
    options: crate::tabular::CsvOptions,
    features: Vec<String>,
    labels: Vec<String>,
    chunk_rows: usize,
}

#[derive(Clone)]
pub(crate) enum Op {
    Shuffle { buffer: usize, seed: u64 },
    Batch { size: usize, drop_remainder: bool },
    Map(MapFn),
}

/// A pipeline of host data for `fit_dataset`, `evaluate_dataset` and `predict_dataset`.
///
/// Built from a source and combinators; iterated one pass (epoch) at a time. Each pass
/// reshuffles, seeded by the shuffle seed and the pass number, so runs are reproducible and
/// `fit` passes its epoch number (a resumed run shuffles as an uninterrupted one).
///
/// Invalid arguments to a combinator (`batch(0)`, ...) are reported as an error when the
/// dataset is first iterated.
pub struct Dataset {
    source: Source,
    ops: Vec<Op>,
    prefetch: Option<usize>,
    invalid: Option<(String, String, String)>,
    /// Number of the pass the next (or current) iteration uses.
    pass: u64,
    live: Option<Live>,
    /// Elements per pass learned from a complete pass, with the batch size `fit` added to
    /// that pass (`None`: the dataset's own elements).
    learned_len: Option<(Option<usize>, usize)>,
    /// The batch size added to the running pass.
    live_auto: Option<usize>,
    /// Elements handed out in the current pass.
    served: usize,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.source {
            Source::Host(b, _) => format!("host({} samples)", b.len()),
            Source::Csv(c) => format!("csv({})", c.path.display()),
            Source::User(_) => "source".to_string(),
            Source::Images(spec) => spec.describe(),
        };
        f.debug_struct("Dataset")
            .field("source", &source)
            .field("ops", &self.ops.len())
            .field("prefetch", &self.prefetch)
            .field("pass", &self.pass)
            .finish_non_exhaustive()
    }
}

impl Dataset {
    fn with_source(source: Source) -> Self {
        Self {
            source,
            ops: Vec::new(),
            prefetch: None,
            invalid: None,
            pass: 0,
            live: None,
            learned_len: None,
            live_auto: None,
            served: 0,
        }
    }

    /// Samples held in memory: `x` (one tensor per model input) and `y` (one per output, or
    /// none for prediction), all with the same first dimension (the sample).
    ///
    /// # Errors
    /// No input tensor, a tensor whose data does not match its shape, or tensors with
    /// different sample counts (naming both shapes).
    pub fn from_host(x: Vec<HostTensor>, y: Vec<HostTensor>) -> Result<Self> {
        let b = Batch { x, y };
        b.check("Dataset::from_host")?;
        Ok(Self::with_source(Source::Host(Arc::new(b), HOST_CHUNK)))
    }

    /// Samples from engine tensors (a tensor, a list in input order, ...), copied to the
    /// host once. Use an empty list for `y` when there are no targets.
    ///
    /// # Errors
    /// Named tensors (give them in input/output order), or as [`Dataset::from_host`].
    pub fn from_tensors<B: Backend>(x: impl Into<Data<B>>, y: impl Into<Data<B>>) -> Result<Self> {
        let host = |d: Data<B>, what: &str| -> Result<Vec<HostTensor>> {
            let ts = match d {
                Data::One(t) => vec![t],
                Data::Many(v) => v,
                Data::Host(v) => {
                    return v
                        .map_err(|e| Error::invalid("Dataset::from_tensors", what, e.to_string()))
                }
                Data::Named(_) | Data::HostNamed(_) => {
                    return Err(Error::invalid(
                        "Dataset::from_tensors",
                        what,
                        "named tensors are not supported: give them in model input/output order",
                    ))
                }
            };
            ts.iter().map(HostTensor::from_tensor).collect()
        };
        let x = host(x.into(), "x")?;
        let y = host(y.into(), "y")?;
        let b = Batch { x, y };
        b.check("Dataset::from_tensors")?;
        Ok(Self::with_source(Source::Host(Arc::new(b), HOST_CHUNK)))
    }

    /// A CSV file streamed `chunk_rows` rows at a time (files larger than memory): each
    /// sample's input is the `features` columns as one `f32` vector `[features.len()]`;
    /// its target is the `labels` columns as `f32` `[labels.len()]`, except a single
    /// integer-typed label column, which gives `i64` class labels `[]` (declare its type
    /// Float in `options` for a regression target). With no labels there are no targets.
    ///
    /// The file is opened, and its header checked, now; it is read on iteration, once per
    /// pass.
    ///
    /// # Errors
    /// `chunk_rows` 0, no features, a missing file, an unknown column (listing the file's
    /// columns). Reading errors (a value that does not parse, a missing value) surface
    /// during iteration, naming the file, row and column.
    pub fn from_csv(
        path: impl AsRef<std::path::Path>,
        options: &crate::tabular::CsvOptions,
        features: &[&str],
        labels: &[&str],
        chunk_rows: usize,
    ) -> Result<Self> {
        let path = path.as_ref();
        if chunk_rows == 0 {
            return Err(Error::invalid(
                "Dataset::from_csv",
                "chunk_rows",
                "must be at least 1, got 0",
            ));
        }
        if features.is_empty() {
            return Err(Error::invalid(
                "Dataset::from_csv",
                "features",
                "at least one feature column",
            ));
        }
        let spec = CsvSpec {
            path: path.to_path_buf(),
            options: options.clone(),
            features: features.iter().map(|s| s.to_string()).collect(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
            chunk_rows,
        };
        let chunks = crate::tabular::CsvChunks::open(path, options, chunk_rows)?;
        let names: Vec<&str> = chunks.schema().iter().map(|(n, _)| n.as_str()).collect();
        for c in spec.features.iter().chain(&spec.labels) {
            if !names.contains(&c.as_str()) {
                return Err(Error::unknown(
                    format!("column in {}", path.display()),
                    c.clone(),
                    &names,
                ));
            }
        }
        Ok(Self::with_source(Source::Csv(Arc::new(spec))))
    }

    /// Batches from a user type (Keras' `PyDataset`): pass `p` yields `get_batch(0)` ..
    /// `get_batch(len - 1)`, then calls `on_epoch_end`.
    pub fn from_source(source: impl BatchSource + 'static) -> Self {
        Self::with_source(Source::User(Arc::new(Mutex::new(Box::new(source)))))
    }

    fn invalid(mut self, context: &str, argument: &str, message: String) -> Self {
        if self.invalid.is_none() {
            self.invalid = Some((context.into(), argument.into(), message));
        }
        self
    }

    /// Applies `set` when `count` (a size the pipeline needs at least one of) is at least
    /// 1; otherwise records the invalid-argument error naming `context` and `argument`.
    fn with_count(
        mut self,
        count: usize,
        context: &str,
        argument: &str,
        set: impl FnOnce(&mut Self),
    ) -> Self {
        if count == 0 {
            return self.invalid(context, argument, "must be at least 1, got 0".into());
        }
        set(&mut self);
        self
    }

    /// Shuffles the elements with a buffer of `buffer_size` (`tf.data` semantics: the
    /// buffer holds the next `buffer_size` elements; each output is a uniformly drawn
    /// buffer element, replaced by the next input). A buffer as large as the data shuffles
    /// uniformly. Each pass draws a new order, seeded by `(seed, pass)`.
    pub fn shuffle(self, buffer_size: usize, seed: u64) -> Self {
        self.with_count(buffer_size, "Dataset::shuffle", "buffer_size", |d| {
            d.ops.push(Op::Shuffle {
                buffer: buffer_size,
                seed,
            })
        })
    }

    /// Groups samples into batches of `batch_size` (the last one smaller, unless
    /// [`Dataset::batch_drop_remainder`]). On a stream of batches (a [`BatchSource`], or
    /// after an earlier `batch`) it re-batches their samples.
    pub fn batch(self, batch_size: usize) -> Self {
        self.batch_with(batch_size, false)
    }

    /// [`Dataset::batch`] that drops a last, incomplete batch.
    pub fn batch_drop_remainder(self, batch_size: usize) -> Self {
        self.batch_with(batch_size, true)
    }

    fn batch_with(self, size: usize, drop_remainder: bool) -> Self {
        self.with_count(size, "Dataset::batch", "batch_size", |d| {
            d.ops.push(Op::Batch {
                size,
                drop_remainder,
            })
        })
    }

    /// Applies `f` to every element: to each sample before [`Dataset::batch`] (its
    /// tensors have no sample dimension), to each batch after it (or on a
    /// [`BatchSource`]). Runs on the prefetch thread when there is one.
    pub fn map<F>(mut self, f: F) -> Self
    where
        F: FnMut(Batch) -> Result<Batch> + Send + 'static,
    {
        self.ops.push(Op::Map(Arc::new(Mutex::new(Box::new(f)))));
        self
    }

    /// Runs the whole pipeline (reading, parsing, shuffling, `map`, batching) on a
    /// background thread that keeps up to `buffer` elements ready, so the training thread
    /// does not wait on it. Errors from the thread surface on the training thread;
    /// dropping the dataset mid-pass stops and joins the thread.
    pub fn prefetch(self, buffer: usize) -> Self {
        self.with_count(buffer, "Dataset::prefetch", "buffer", |d| {
            d.prefetch = Some(buffer)
        })
    }

    /// `true` when the stream yields batches (after [`Dataset::batch`] or from a
    /// [`BatchSource`]), `false` when it yields samples.
    pub fn is_batched(&self) -> bool {
        let mut batched = matches!(self.source, Source::User(_));
        for op in &self.ops {
            if let Op::Batch { .. } = op {
                batched = true;
            }
        }
        batched
    }

    /// Elements (batches, or samples when not batched) per pass, when known: from the
    /// source's size, or learned from a complete pass (a CSV file's row count is known
    /// after the first pass).
    pub fn cardinality(&self) -> Option<usize> {
        self.count(None)
    }

    /// Batches per pass when `fit_dataset` batches by `batch_size` (used when the dataset
    /// has no [`Dataset::batch`] of its own), when known.
    pub fn batches_per_pass(&self, batch_size: usize) -> Option<usize> {
        self.count((!self.is_batched()).then_some(batch_size))
    }

    fn count(&self, auto: Option<usize>) -> Option<usize> {
        if let Some((a, n)) = self.learned_len {
            if a == auto {
                return Some(n);
            }
        }
        let (mut n, mut batched) = match &self.source {
            Source::Host(b, _) => (Some(b.len()), false),
            Source::Csv(_) => (None, false),
            Source::User(u) => (u.lock().ok().map(|u| u.len()), true),
            Source::Images(spec) => (Some(spec.len()), false),
        };
        let extra = auto.map(|size| Op::Batch {
            size,
            drop_remainder: false,
        });
        for op in self.ops.iter().chain(extra.as_ref()) {
            if let Op::Batch {
                size,
                drop_remainder,
            } = op
            {
                n = if batched || *size == 0 {
                    None
                } else if *drop_remainder {
                    n.map(|n| n / size)
                } else {
                    n.map(|n| n.div_ceil(*size))
                };
                batched = true;
            }
        }
        n
    }

    /// Sets the pass number (the epoch) the next iteration uses, abandoning a pass in
    /// progress. `fit_dataset` calls it with the epoch number.
    pub fn set_epoch(&mut self, epoch: u64) {
        self.live = None;
        self.pass = epoch;
        self.served = 0;
    }

    /// The pass number the next (or the current) iteration uses.
    pub fn epoch(&self) -> u64 {
        self.pass
    }

    /// The next element of the current pass, starting a pass if none is running; `None`
    /// ends the pass (the next call starts the next pass, with a new shuffle order).
    ///
    /// # Errors
    /// An invalid combinator argument, or an error from reading, parsing, `map` or a
    /// [`BatchSource`] (also when it happened on the prefetch thread).
    pub fn next_batch(&mut self) -> Result<Option<Batch>> {
        self.next_with(None)
    }

    /// [`Dataset::next_batch`] batching samples by `batch_size` when the dataset has no
    /// [`Dataset::batch`] of its own (how `fit_dataset` applies its `batch_size`).
    ///
    /// # Errors
    /// As [`Dataset::next_batch`].
    pub fn next_batch_or(&mut self, batch_size: usize) -> Result<Option<Batch>> {
        self.next_with(Some(batch_size))
    }

    fn next_with(&mut self, auto_batch: Option<usize>) -> Result<Option<Batch>> {
        if let Some((c, a, m)) = &self.invalid {
            return Err(Error::invalid(c, a, m.clone()));
        }
        if self.live.is_none() {
            let mut ops = self.ops.clone();
            let auto = auto_batch.filter(|_| !self.is_batched());
            self.live_auto = auto;
            if let Some(size) = auto {
                if size == 0 {
                    return Err(Error::invalid(
                        "Dataset",
                        "batch_size",
                        "must be at least 1, got 0",
                    ));
                }
                ops.push(Op::Batch {
                    size,
                    drop_remainder: false,
                });
            }
            let stream = build(&self.source, &ops, self.pass)?;
            self.live = Some(match self.prefetch {
                Some(n) => Live::Thread(Prefetcher::spawn(stream, n)?),
                None => Live::Inline(stream),
            });
            self.served = 0;
        }
        let item = match self.live.as_mut() {
            Some(Live::Inline(s)) => s.next(),
            Some(Live::Thread(p)) => p.next(),
            None => Ok(None),
        };
        match item {
            Ok(Some(b)) => {
                self.served += 1;
                Ok(Some(b))
            }
            Ok(None) => {
                self.live = None;
                self.learned_len = Some((self.live_auto, self.served));
                self.served = 0;
                self.pass += 1;
                Ok(None)
            }
            Err(e) => {
                self.live = None;
                self.served = 0;
                Err(e)
            }
        }
    }

    /// Every element of one pass (the rest of the current pass, if one is running).
    ///
    /// # Errors
    /// As [`Dataset::next_batch`].
    pub fn collect_epoch(&mut self) -> Result<Vec<Batch>> {
        let mut out = Vec::new();
        while let Some(b) = self.next_batch()? {
            out.push(b);
        }
        Ok(out)
    }
}

/// Conversion of dataset batches to a model's device and dtypes.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub device: Device,
    pub dtype: DType,
    /// Per output: the dtype its loss wants for targets.
    pub target_dtypes: Vec<DType>,
}

impl Upload {
    /// Inputs (floats in the model's dtype) and targets (in the losses' dtypes).
    pub fn batch<B: Backend>(&self, b: &Batch) -> Result<BatchTensors<B>> {
        let (xs, ys) = b.to_tensors::<B>(self.device)?;
        let xs = xs
            .into_iter()
            .map(|x| {
                if x.dtype().is_float() && x.dtype() != self.dtype {
                    x.to_dtype(self.dtype)
                } else {
                    Ok(x)
                }
            })
            .collect::<Result<_>>()?;
        let ys = ys
            .into_iter()
            .zip(&self.target_dtypes)
            .map(|(y, &d)| if y.dtype() != d { y.to_dtype(d) } else { Ok(y) })
            .collect::<Result<_>>()?;
        Ok((xs, ys))
    }
}
