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

use crate::backend::{Backend, DType, Device, HostData};
use crate::error::{Error, Result, ShapeList};
use crate::model::Data;
use crate::random::Rng;
use crate::saving::HostTensor;
use crate::tensor::Tensor;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Rows per chunk an in-memory source hands down the pipeline (the chunking never changes
/// the batches that come out).
const HOST_CHUNK: usize = 4096;
/// Samples a shuffle stage gathers into one chunk before handing them on.
const SHUFFLE_OUT: usize = 256;

impl HostTensor {
    /// An `f32` host tensor; `data.len()` must equal the product of `shape`.
    ///
    /// # Errors
    /// [`Error::Shape`] when the sizes disagree.
    pub fn f32(data: Vec<f32>, shape: &[usize]) -> Result<Self> {
        Self::checked(HostData::F32(data), shape)
    }

    /// An `i64` host tensor (class labels); `data.len()` must equal the product of `shape`.
    ///
    /// # Errors
    /// [`Error::Shape`] when the sizes disagree.
    pub fn i64(data: Vec<i64>, shape: &[usize]) -> Result<Self> {
        Self::checked(HostData::I64(data), shape)
    }

    /// A host tensor from any [`HostData`]; `data.len()` must equal the product of `shape`.
    ///
    /// # Errors
    /// [`Error::Shape`] when the sizes disagree.
    pub fn checked(data: HostData, shape: &[usize]) -> Result<Self> {
        let want: usize = shape.iter().product();
        if data.len() != want {
            return Err(Error::shape(
                "HostTensor",
                "data",
                format!("{want} values for shape {:?}", shape),
                &[data.len()],
            ));
        }
        Ok(Self {
            data,
            shape: shape.to_vec(),
        })
    }
}

/// One batch (or, before [`Dataset::batch`], one sample or a chunk of samples): the inputs
/// `x` in model-input order and the targets `y` in model-output order, as host tensors
/// whose first dimension is the sample (a single sample given to a sample-level
/// [`Dataset::map`] has no sample dimension).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Inputs, one tensor per model input.
    pub x: Vec<HostTensor>,
    /// Targets, one tensor per model output (empty for prediction-only data).
    pub y: Vec<HostTensor>,
}

impl Batch {
    /// A batch of inputs and targets.
    pub fn new(x: Vec<HostTensor>, y: Vec<HostTensor>) -> Self {
        Self { x, y }
    }

    /// Number of samples (the first dimension of the first tensor; 0 without tensors).
    pub fn len(&self) -> usize {
        self.tensors()
            .next()
            .and_then(|t| t.shape.first().copied())
            .unwrap_or(0)
    }

    /// `true` when the batch holds no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn tensors(&self) -> impl Iterator<Item = &HostTensor> {
        self.x.iter().chain(&self.y)
    }

    /// Checks the batch: at least one input, data sizes matching shapes, one sample count.
    fn check(&self, context: &str) -> Result<usize> {
        let first = self
            .x
            .first()
            .ok_or_else(|| Error::invalid(context, "x", "at least one input tensor"))?;
        for (i, t) in self.tensors().enumerate() {
            let want: usize = t.shape.iter().product();
            if t.data.len() != want || t.shape.is_empty() {
                return Err(Error::shape(
                    context,
                    format!("tensor {i}"),
                    format!("rank >= 1 and {} values", t.data.len()),
                    &t.shape,
                ));
            }
        }
        let n = first.shape[0];
        for t in self.tensors() {
            if t.shape[0] != n {
                return Err(Error::ShapeMismatch {
                    op: context.into(),
                    lhs: ShapeList(first.shape.clone()),
                    rhs: ShapeList(t.shape.clone()),
                    detail: Some(format!(
                        "x and y must have the same number of samples (first dimension): {} vs {}",
                        n, t.shape[0]
                    )),
                });
            }
        }
        Ok(n)
    }

    /// Rows `start..start + len`.
    fn slice(&self, start: usize, len: usize) -> Batch {
        let idx: Vec<usize> = (start..start + len).collect();
        self.take(&idx)
    }

    /// The given rows, in that order.
    fn take(&self, rows: &[usize]) -> Batch {
        let f = |t: &HostTensor| {
            let mut b = RowBuilder::like(t, rows.len());
            for &r in rows {
                b.push(t, r);
            }
            b.finish(rows.len())
        };
        Batch {
            x: self.x.iter().map(f).collect(),
            y: self.y.iter().map(f).collect(),
        }
    }

    /// Splits a batch into samples (tensors without the sample dimension).
    fn samples(&self) -> Vec<Batch> {
        (0..self.len())
            .map(|r| {
                let one = self.slice(r, 1);
                let squeeze = |t: HostTensor| HostTensor {
                    shape: t.shape[1..].to_vec(),
                    data: t.data,
                };
                Batch {
                    x: one.x.into_iter().map(squeeze).collect(),
                    y: one.y.into_iter().map(squeeze).collect(),
                }
            })
            .collect()
    }

    /// Stacks samples into a batch (the inverse of [`Batch::samples`]).
    fn stack(samples: &[Batch], context: &str) -> Result<Batch> {
        let unsqueezed: Vec<Batch> = samples
            .iter()
            .map(|s| {
                let f = |t: &HostTensor| HostTensor {
                    shape: std::iter::once(1).chain(t.shape.iter().copied()).collect(),
                    data: t.data.clone(),
                };
                Batch {
                    x: s.x.iter().map(f).collect(),
                    y: s.y.iter().map(f).collect(),
                }
            })
            .collect();
        let rows: Vec<(&Batch, usize)> = unsqueezed.iter().map(|b| (b, 0)).collect();
        gather(&rows, context)
    }
}

/// Builds one tensor row by row from source tensors of the same dtype and row shape.
struct RowBuilder {
    data: HostData,
    row_shape: Vec<usize>,
}

impl RowBuilder {
    fn like(t: &HostTensor, rows: usize) -> Self {
        let row: usize = t.shape[1..].iter().product();
        let cap = row * rows;
        let data = match &t.data {
            HostData::F32(_) => HostData::F32(Vec::with_capacity(cap)),
            HostData::F64(_) => HostData::F64(Vec::with_capacity(cap)),
            HostData::I64(_) => HostData::I64(Vec::with_capacity(cap)),
            HostData::Bool(_) => HostData::Bool(Vec::with_capacity(cap)),
        };
        Self {
            data,
            row_shape: t.shape[1..].to_vec(),
        }
    }

    /// `true` when `t`'s rows can be appended (same dtype and row shape).
    fn fits(&self, t: &HostTensor) -> bool {
        self.data.dtype() == t.data.dtype() && t.shape[1..] == self.row_shape[..]
    }

    /// Appends row `r` of `t` (which [`RowBuilder::fits`]).
    fn push(&mut self, t: &HostTensor, r: usize) {
        let row: usize = self.row_shape.iter().product();
        let span = r * row..(r + 1) * row;
        match (&mut self.data, &t.data) {
            (HostData::F32(d), HostData::F32(s)) => d.extend_from_slice(&s[span]),
            (HostData::F64(d), HostData::F64(s)) => d.extend_from_slice(&s[span]),
            (HostData::I64(d), HostData::I64(s)) => d.extend_from_slice(&s[span]),
            (HostData::Bool(d), HostData::Bool(s)) => d.extend_from_slice(&s[span]),
            _ => unreachable!("RowBuilder::push after a failed fits check"),
        }
    }

    fn finish(self, rows: usize) -> HostTensor {
        HostTensor {
            data: self.data,
            shape: std::iter::once(rows).chain(self.row_shape).collect(),
        }
    }
}

/// Gathers rows `(batch, row)` from several batches into one batch.
fn gather(rows: &[(&Batch, usize)], context: &str) -> Result<Batch> {
    let Some((first, _)) = rows.first() else {
        return Err(Error::invalid(context, "batch", "no samples to gather"));
    };
    let build = |pick: &dyn Fn(&Batch) -> &[HostTensor], what: &str| -> Result<Vec<HostTensor>> {
        let count = pick(first).len();
        (0..count)
            .map(|j| {
                let mut b = RowBuilder::like(&pick(first)[j], rows.len());
                for (batch, r) in rows {
                    let tensors = pick(batch);
                    let t = tensors.get(j).filter(|t| b.fits(t)).ok_or_else(|| {
                        let got = tensors.get(j).map(|t| t.shape.clone()).unwrap_or_default();
                        Error::invalid(
                            context,
                            format!("{what}[{j}]"),
                            format!(
                                "elements differ in count, dtype or shape: {:?} {:?} vs {:?} {:?} ({} vs {} tensors)",
                                pick(first)[j].data.dtype(),
                                pick(first)[j].shape,
                                tensors.get(j).map(|t| t.data.dtype()),
                                got,
                                count,
                                tensors.len()
                            ),
                        )
                    })?;
                    b.push(t, *r);
                }
                Ok(b.finish(rows.len()))
            })
            .collect()
    };
    for (b, _) in rows {
        if b.x.len() != first.x.len() || b.y.len() != first.y.len() {
            return Err(Error::invalid(
                context,
                "batch",
                format!(
                    "elements differ in their number of tensors: x {} / y {} vs x {} / y {}",
                    first.x.len(),
                    first.y.len(),
                    b.x.len(),
                    b.y.len()
                ),
            ));
        }
    }
    Ok(Batch {
        x: build(&|b: &Batch| &b.x, "x")?,
        y: build(&|b: &Batch| &b.y, "y")?,
    })
}

/// A user data source that hands out whole batches by index, like Keras' `PyDataset`.
///
/// ```
/// use stratanet::dataset::{Batch, BatchSource, Dataset};
/// use stratanet::saving::HostTensor;
///
/// /// Batches of `(i, 2 i)` pairs, computed on demand.
/// struct Doubles;
/// impl BatchSource for Doubles {
///     fn len(&self) -> usize {
///         3
///     }
///     fn get_batch(&mut self, i: usize) -> stratanet::Result<Batch> {
///         let x: Vec<f32> = (0..4).map(|k| (4 * i + k) as f32).collect();
///         let y: Vec<f32> = x.iter().map(|v| 2.0 * v).collect();
///         Ok(Batch::new(vec![HostTensor::f32(x, &[4, 1])?], vec![HostTensor::f32(y, &[4, 1])?]))
///     }
/// }
/// # fn main() -> stratanet::Result<()> {
/// let mut ds = Dataset::from_source(Doubles);
/// assert_eq!(ds.cardinality(), Some(3));
/// let batches = ds.collect_epoch()?;
/// assert_eq!(batches[2].y[0].data.to_f32_vec(), vec![16.0, 18.0, 20.0, 22.0]);
/// # Ok(())
/// # }
/// ```
pub trait BatchSource: Send {
    /// Number of batches in one pass.
    fn len(&self) -> usize;
    /// `true` when the source has no batches.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Batch `i` (`0 <= i < len()`).
    ///
    /// # Errors
    /// Whatever goes wrong producing the batch; it reaches `fit` as its error.
    fn get_batch(&mut self, i: usize) -> Result<Batch>;
    /// Called after each complete pass (reshuffle your own index here, for instance).
    fn on_epoch_end(&mut self) {}
}

/// A function applied to every element by [`Dataset::map`].
type MapFn = Arc<Mutex<Box<dyn FnMut(Batch) -> Result<Batch> + Send>>>;

/// A batch on an engine: its inputs and its targets.
pub type BatchTensors<B> = (Vec<Tensor<B>>, Vec<Tensor<B>>);

/// Where a dataset's elements come from.
enum Source {
    /// Samples in memory, handed down in chunks of the given number of rows.
    Host(Arc<Batch>, usize),
    Csv(Arc<CsvSpec>),
    User(Arc<Mutex<Box<dyn BatchSource>>>),
}

/// A CSV file streamed in chunks: which columns are inputs and which targets.
struct CsvSpec {
    path: PathBuf,
    options: crate::tabular::CsvOptions,
    features: Vec<String>,
    labels: Vec<String>,
    chunk_rows: usize,
}

#[derive(Clone)]
enum Op {
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
            let ts =
                match d {
                    Data::One(t) => vec![t],
                    Data::Many(v) => v,
                    Data::Named(_) => return Err(Error::invalid(
                        "Dataset::from_tensors",
                        what,
                        "named tensors are not supported: give them in model input/output order",
                    )),
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

    /// Shuffles the elements with a buffer of `buffer_size` (`tf.data` semantics: the
    /// buffer holds the next `buffer_size` elements; each output is a uniformly drawn
    /// buffer element, replaced by the next input). A buffer as large as the data shuffles
    /// uniformly. Each pass draws a new order, seeded by `(seed, pass)`.
    pub fn shuffle(mut self, buffer_size: usize, seed: u64) -> Self {
        if buffer_size == 0 {
            return self.invalid(
                "Dataset::shuffle",
                "buffer_size",
                "must be at least 1, got 0".into(),
            );
        }
        self.ops.push(Op::Shuffle {
            buffer: buffer_size,
            seed,
        });
        self
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

    fn batch_with(mut self, size: usize, drop_remainder: bool) -> Self {
        if size == 0 {
            return self.invalid(
                "Dataset::batch",
                "batch_size",
                "must be at least 1, got 0".into(),
            );
        }
        self.ops.push(Op::Batch {
            size,
            drop_remainder,
        });
        self
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
    pub fn prefetch(mut self, buffer: usize) -> Self {
        if buffer == 0 {
            return self.invalid(
                "Dataset::prefetch",
                "buffer",
                "must be at least 1, got 0".into(),
            );
        }
        self.prefetch = Some(buffer);
        self
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

impl Batch {
    /// Uploads the batch to `device` on engine `B`: `(inputs, targets)`.
    ///
    /// # Errors
    /// On engine errors.
    pub fn to_tensors<B: Backend>(&self, device: Device) -> Result<BatchTensors<B>> {
        let up = |ts: &[HostTensor]| -> Result<Vec<Tensor<B>>> {
            ts.iter().map(|t| t.to_tensor::<B>(device)).collect()
        };
        Ok((up(&self.x)?, up(&self.y)?))
    }
}

/// One stage of a running pass.
trait Stream: Send {
    /// The next element (a batch, or a chunk of samples), `None` at the end of the pass.
    fn next(&mut self) -> Result<Option<Batch>>;
}

/// Builds the stages of pass `pass`.
fn build(source: &Source, ops: &[Op], pass: u64) -> Result<Box<dyn Stream>> {
    let (mut s, mut batched): (Box<dyn Stream>, bool) = match source {
        Source::Host(b, chunk) => (
            Box::new(HostStream {
                data: b.clone(),
                chunk: *chunk,
                pos: 0,
            }),
            false,
        ),
        Source::Csv(spec) => (Box::new(CsvStream::open(spec.clone())?), false),
        Source::User(u) => (
            Box::new(UserStream {
                source: u.clone(),
                next: 0,
            }),
            true,
        ),
    };
    // Each shuffle stage draws from its own stream of (seed, pass, its index among the
    // shuffles), so a `map` added elsewhere does not change the order.
    let mut shuffles = 0u64;
    for op in ops {
        s = match op {
            Op::Shuffle { buffer, seed } => {
                shuffles += 1;
                let rng = Rng::new(Rng::derive(Rng::derive(*seed, pass), shuffles));
                if batched {
                    Box::new(BatchShuffle {
                        input: s,
                        shuffler: Shuffler::new(*buffer, rng),
                    })
                } else {
                    Box::new(RowShuffle {
                        input: RowReader::new(s),
                        shuffler: Shuffler::new(*buffer, rng),
                    })
                }
            }
            Op::Batch {
                size,
                drop_remainder,
            } => {
                batched = true;
                Box::new(Rebatch {
                    input: s,
                    size: *size,
                    drop_remainder: *drop_remainder,
                    parts: Vec::new(),
                    rows: 0,
                    done: false,
                })
            }
            Op::Map(f) => Box::new(MapStream {
                input: s,
                f: f.clone(),
                per_sample: !batched,
            }),
        };
    }
    Ok(s)
}

struct HostStream {
    data: Arc<Batch>,
    chunk: usize,
    pos: usize,
}

impl Stream for HostStream {
    fn next(&mut self) -> Result<Option<Batch>> {
        let n = self.data.len();
        if self.pos >= n {
            return Ok(None);
        }
        let len = self.chunk.min(n - self.pos);
        let b = self.data.slice(self.pos, len);
        self.pos += len;
        Ok(Some(b))
    }
}

struct UserStream {
    source: Arc<Mutex<Box<dyn BatchSource>>>,
    next: usize,
}

impl Stream for UserStream {
    fn next(&mut self) -> Result<Option<Batch>> {
        let mut src = self
            .source
            .lock()
            .map_err(|_| Error::invalid("Dataset::from_source", "source", "poisoned by a panic"))?;
        if self.next >= src.len() {
            src.on_epoch_end();
            return Ok(None);
        }
        let i = self.next;
        self.next += 1;
        let b = src.get_batch(i)?;
        b.check(&format!("Dataset::from_source (batch {i})"))?;
        Ok(Some(b))
    }
}

/// A CSV file read chunk by chunk, each chunk converted to a batch of samples.
struct CsvStream {
    spec: Arc<CsvSpec>,
    chunks: crate::tabular::CsvChunks,
    rows_before: usize,
    int_label: bool,
}

impl CsvStream {
    fn open(spec: Arc<CsvSpec>) -> Result<Self> {
        let chunks = crate::tabular::CsvChunks::open(&spec.path, &spec.options, spec.chunk_rows)?;
        let int_label = spec.labels.len() == 1
            && chunks
                .schema()
                .iter()
                .any(|(n, t)| n == &spec.labels[0] && *t == crate::tabular::ColumnType::Int);
        Ok(Self {
            spec,
            chunks,
            rows_before: 0,
            int_label,
        })
    }

    /// Columns `names` of `table` as `f32` `[rows, names.len()]`.
    fn floats(&self, table: &crate::tabular::Table, names: &[String]) -> Result<HostTensor> {
        let rows = table.n_rows();
        let mut out = vec![0f32; rows * names.len()];
        for (j, name) in names.iter().enumerate() {
            let col = table.column(name)?;
            let vals = col.as_f64().ok_or_else(|| {
                Error::config(
                    self.spec.path.display().to_string(),
                    format!(
                        "column '{name}' is not numeric ({:?}); Dataset::from_csv needs numbers",
                        col.dtype()
                    ),
                )
            })?;
            for (r, v) in vals.iter().enumerate() {
                out[r * names.len() + j] = v.ok_or_else(|| self.missing(r, name))? as f32;
            }
        }
        HostTensor::f32(out, &[rows, names.len()])
    }

    fn missing(&self, r: usize, name: &str) -> Error {
        Error::config(
            self.spec.path.display().to_string(),
            format!(
                "data row {}, column '{name}': missing value (Dataset::from_csv needs every value; drop or fill missing values first)",
                self.rows_before + r + 1
            ),
        )
    }
}

impl Stream for CsvStream {
    fn next(&mut self) -> Result<Option<Batch>> {
        let Some(table) = self.chunks.next() else {
            return Ok(None);
        };
        let table = table?;
        let x = self.floats(&table, &self.spec.features)?;
        let y = if self.spec.labels.is_empty() {
            Vec::new()
        } else if self.int_label {
            let name = &self.spec.labels[0];
            let col = table.column(name)?;
            let vals = match col {
                crate::tabular::Column::Int(v) => v,
                _ => {
                    return Err(Error::config(
                        self.spec.path.display().to_string(),
                        format!("column '{name}' changed type between chunks"),
                    ))
                }
            };
            let labels: Vec<i64> = vals
                .iter()
                .enumerate()
                .map(|(r, v)| v.ok_or_else(|| self.missing(r, name)))
                .collect::<Result<_>>()?;
            vec![HostTensor::i64(labels, &[table.n_rows()])?]
        } else {
            vec![self.floats(&table, &self.spec.labels)?]
        };
        self.rows_before += table.n_rows();
        Ok(Some(Batch { x: vec![x], y }))
    }
}

/// The shuffle buffer (`tf.data` semantics), shared by the sample and batch shuffles.
struct Shuffler<T> {
    buffer: Vec<T>,
    size: usize,
    rng: Rng,
}

impl<T> Shuffler<T> {
    fn new(size: usize, rng: Rng) -> Self {
        Self {
            buffer: Vec::new(),
            size,
            rng,
        }
    }

    /// The next element: fills the buffer, draws one element, and puts the next input in
    /// its place.
    fn emit(&mut self, pull: &mut dyn FnMut() -> Result<Option<T>>) -> Result<Option<T>> {
        while self.buffer.len() < self.size {
            match pull()? {
                Some(e) => self.buffer.push(e),
                None => break,
            }
        }
        if self.buffer.is_empty() {
            return Ok(None);
        }
        let i = self.rng.below(self.buffer.len() as u64) as usize;
        let out = match pull()? {
            Some(e) => std::mem::replace(&mut self.buffer[i], e),
            None => self.buffer.swap_remove(i),
        };
        Ok(Some(out))
    }
}

struct BatchShuffle {
    input: Box<dyn Stream>,
    shuffler: Shuffler<Batch>,
}

impl Stream for BatchShuffle {
    fn next(&mut self) -> Result<Option<Batch>> {
        let input = &mut self.input;
        self.shuffler.emit(&mut || input.next())
    }
}

/// Reads a stream of sample chunks one sample at a time, as `(chunk id, row)`; keeps each
/// chunk until all its rows have been handed out.
struct RowReader {
    input: Box<dyn Stream>,
    chunks: HashMap<u64, (Batch, usize)>,
    current: Option<(u64, usize, usize)>,
    next_id: u64,
    done: bool,
}

impl RowReader {
    fn new(input: Box<dyn Stream>) -> Self {
        Self {
            input,
            chunks: HashMap::new(),
            current: None,
            next_id: 0,
            done: false,
        }
    }

    fn pull(&mut self) -> Result<Option<(u64, usize)>> {
        loop {
            if let Some((id, row, n)) = self.current.as_mut() {
                if *row < *n {
                    *row += 1;
                    return Ok(Some((*id, *row - 1)));
                }
                self.current = None;
            }
            if self.done {
                return Ok(None);
            }
            match self.input.next()? {
                Some(b) => {
                    let n = b.len();
                    if n == 0 {
                        continue;
                    }
                    let id = self.next_id;
                    self.next_id += 1;
                    self.chunks.insert(id, (b, n));
                    self.current = Some((id, 0, n));
                }
                None => self.done = true,
            }
        }
    }

    /// Builds a batch of the given rows and releases chunks whose rows are all used.
    fn take(&mut self, picks: &[(u64, usize)]) -> Result<Batch> {
        let out = {
            let rows: Vec<(&Batch, usize)> = picks
                .iter()
                .map(|(id, r)| (&self.chunks[id].0, *r))
                .collect();
            gather(&rows, "Dataset::shuffle")?
        };
        for (id, _) in picks {
            let left = {
                let e = self.chunks.get_mut(id).map(|e| &mut e.1);
                match e {
                    Some(left) => {
                        *left -= 1;
                        *left
                    }
                    None => 1,
                }
            };
            if left == 0 {
                self.chunks.remove(id);
            }
        }
        Ok(out)
    }
}

struct RowShuffle {
    input: RowReader,
    shuffler: Shuffler<(u64, usize)>,
}

impl Stream for RowShuffle {
    fn next(&mut self) -> Result<Option<Batch>> {
        let mut picks = Vec::with_capacity(SHUFFLE_OUT);
        while picks.len() < SHUFFLE_OUT {
            let input = &mut self.input;
            match self.shuffler.emit(&mut || input.pull())? {
                Some(p) => picks.push(p),
                None => break,
            }
        }
        if picks.is_empty() {
            return Ok(None);
        }
        self.input.take(&picks).map(Some)
    }
}

struct Rebatch {
    input: Box<dyn Stream>,
    size: usize,
    drop_remainder: bool,
    /// Pending parts (each a batch and the first unused row).
    parts: Vec<(Batch, usize)>,
    rows: usize,
    done: bool,
}

impl Stream for Rebatch {
    fn next(&mut self) -> Result<Option<Batch>> {
        while self.rows < self.size && !self.done {
            match self.input.next()? {
                Some(b) => {
                    self.rows += b.len();
                    if !b.is_empty() {
                        self.parts.push((b, 0));
                    }
                }
                None => self.done = true,
            }
        }
        if self.rows == 0 || (self.rows < self.size && self.drop_remainder) {
            self.parts.clear();
            self.rows = 0;
            return Ok(None);
        }
        let take = self.size.min(self.rows);
        // Fast path: the first part is exactly one batch.
        if self.parts[0].1 == 0 && self.parts[0].0.len() == take {
            let (b, _) = self.parts.remove(0);
            self.rows -= take;
            return Ok(Some(b));
        }
        let mut picks: Vec<(usize, usize)> = Vec::with_capacity(take);
        let mut used_parts = 0;
        for (p, (b, start)) in self.parts.iter_mut().enumerate() {
            let avail = b.len() - *start;
            let k = avail.min(take - picks.len());
            picks.extend((*start..*start + k).map(|r| (p, r)));
            *start += k;
            if *start == b.len() {
                used_parts = p + 1;
            }
            if picks.len() == take {
                break;
            }
        }
        let out = {
            let rows: Vec<(&Batch, usize)> =
                picks.iter().map(|(p, r)| (&self.parts[*p].0, *r)).collect();
            gather(&rows, "Dataset::batch")?
        };
        self.parts.drain(..used_parts);
        self.rows -= take;
        Ok(Some(out))
    }
}

struct MapStream {
    input: Box<dyn Stream>,
    f: MapFn,
    per_sample: bool,
}

impl Stream for MapStream {
    fn next(&mut self) -> Result<Option<Batch>> {
        let Some(b) = self.input.next()? else {
            return Ok(None);
        };
        let mut f = self
            .f
            .lock()
            .map_err(|_| Error::invalid("Dataset::map", "f", "poisoned by a panic"))?;
        if self.per_sample {
            if b.is_empty() {
                return Ok(Some(b));
            }
            let samples: Vec<Batch> = b
                .samples()
                .into_iter()
                .map(|s| (*f)(s))
                .collect::<Result<_>>()?;
            Batch::stack(&samples, "Dataset::map").map(Some)
        } else {
            let out = (*f)(b)?;
            out.check("Dataset::map (result)")?;
            Ok(Some(out))
        }
    }
}

/// A running pass: inline, or on the prefetch thread.
enum Live {
    Inline(Box<dyn Stream>),
    Thread(Prefetcher),
}

/// Messages from the prefetch thread: an element, the end of the pass, or an error.
type Msg = Result<Option<Batch>>;

/// The background thread of [`Dataset::prefetch`], with its bounded channel.
struct Prefetcher {
    rx: Option<Receiver<Msg>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    finished: bool,
}

impl Prefetcher {
    fn spawn(mut stream: Box<dyn Stream>, buffer: usize) -> Result<Self> {
        let (tx, rx): (SyncSender<Msg>, Receiver<Msg>) = std::sync::mpsc::sync_channel(buffer);
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let handle = std::thread::Builder::new()
            .name("stratanet-prefetch".into())
            .spawn(move || {
                while !stop2.load(Ordering::Relaxed) {
                    let item = stream.next();
                    let last = !matches!(item, Ok(Some(_)));
                    if tx.send(item).is_err() || last {
                        break;
                    }
                }
            })?;
        Ok(Self {
            rx: Some(rx),
            stop,
            handle: Some(handle),
            finished: false,
        })
    }

    fn next(&mut self) -> Result<Option<Batch>> {
        if self.finished {
            return Ok(None);
        }
        let got = self.rx.as_ref().map(|rx| rx.recv());
        match got {
            Some(Ok(Ok(Some(b)))) => Ok(Some(b)),
            Some(Ok(Ok(None))) => {
                self.finished = true;
                Ok(None)
            }
            Some(Ok(Err(e))) => {
                self.finished = true;
                Err(e)
            }
            Some(Err(_)) | None => {
                // The thread ended without a final message: it panicked.
                self.finished = true;
                let msg = match self.handle.take().map(|h| h.join()) {
                    Some(Err(p)) => p
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".into()),
                    _ => "the thread ended early".into(),
                };
                Err(Error::invalid(
                    "Dataset::prefetch",
                    "thread",
                    format!("the background thread panicked: {msg}"),
                ))
            }
        }
    }
}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Dropping the receiver wakes a thread blocked on a full channel.
        self.rx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn host(n: usize) -> Dataset {
        let x = HostTensor::f32((0..2 * n).map(|v| v as f32).collect(), &[n, 2]).unwrap();
        let y = HostTensor::i64((0..n as i64).collect(), &[n]).unwrap();
        Dataset::from_host(vec![x], vec![y]).unwrap()
    }

    fn labels(bs: &[Batch]) -> Vec<Vec<i64>> {
        bs.iter().map(|b| b.y[0].data.to_i64_vec()).collect()
    }

    #[test]
    fn batches_in_order() {
        let mut ds = host(5).batch(2);
        assert_eq!(ds.cardinality(), Some(3));
        let bs = ds.collect_epoch().unwrap();
        assert_eq!(labels(&bs), vec![vec![0, 1], vec![2, 3], vec![4]]);
        assert_eq!(bs[1].x[0].shape, vec![2, 2]);
        assert_eq!(bs[1].x[0].data.to_f32_vec(), vec![4.0, 5.0, 6.0, 7.0]);
        let mut ds = host(5).batch_drop_remainder(2);
        assert_eq!(ds.cardinality(), Some(2));
        assert_eq!(
            labels(&ds.collect_epoch().unwrap()),
            vec![vec![0, 1], vec![2, 3]]
        );
    }

    #[test]
    fn shuffle_buffer_semantics() {
        // Buffer 1 keeps the order; a full buffer permutes; each pass reshuffles.
        let bs = host(10).shuffle(1, 3).batch(10).collect_epoch().unwrap();
        assert_eq!(labels(&bs), vec![(0..10).collect::<Vec<i64>>()]);
        let mut ds = host(10).shuffle(10, 3).batch(10);
        let a = labels(&ds.collect_epoch().unwrap())[0].clone();
        let b = labels(&ds.collect_epoch().unwrap())[0].clone();
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<i64>>());
        assert_ne!(a, (0..10).collect::<Vec<i64>>());
        assert_ne!(a, b, "a new order each pass");
        // Same seed and pass: same order; x rows follow their labels.
        let mut again = host(10).shuffle(10, 3).batch(10);
        let c = again.collect_epoch().unwrap();
        assert_eq!(labels(&c)[0], a);
        let x = c[0].x[0].data.to_f32_vec();
        for (i, l) in a.iter().enumerate() {
            assert_eq!(x[2 * i], (2 * l) as f32);
        }
        // A buffer of 2: element i comes out no earlier than position i - 1.
        let small = labels(&host(50).shuffle(2, 9).batch(50).collect_epoch().unwrap())[0].clone();
        for (pos, &v) in small.iter().enumerate() {
            assert!(v as usize <= pos + 1, "{v} at {pos}");
        }
    }

    #[test]
    fn chunking_does_not_change_batches() {
        // The same samples handed down in chunks of 3, 7 or 4096 rows: identical batches,
        // with and without a sample-level map, for buffers smaller and larger than a chunk.
        for buffer in [1, 5, 13, 64] {
            let run = |chunk: usize| {
                let mut ds = host(40);
                if let Source::Host(b, _) = &ds.source {
                    ds.source = Source::Host(b.clone(), chunk);
                }
                ds.shuffle(buffer, 11).map(Ok).batch(6).collect_epoch_test()
            };
            let whole = run(HOST_CHUNK);
            assert_eq!(whole.len(), 7);
            assert_eq!(run(3), whole, "buffer {buffer}");
            assert_eq!(run(7), whole, "buffer {buffer}");
        }
    }

    impl Dataset {
        fn collect_epoch_test(mut self) -> Vec<Batch> {
            self.collect_epoch().unwrap()
        }
    }

    #[test]
    fn sample_map_and_batch_map() {
        let bs = host(4)
            .map(|mut s| {
                assert_eq!(s.x[0].shape, vec![2]);
                s.x[0].data =
                    HostData::F32(s.x[0].data.to_f32_vec().iter().map(|v| v * 10.0).collect());
                Ok(s)
            })
            .batch(4)
            .map(|mut b| {
                assert_eq!(b.x[0].shape, vec![4, 2]);
                b.y[0].data =
                    HostData::I64(b.y[0].data.to_i64_vec().iter().map(|v| v + 1).collect());
                Ok(b)
            })
            .collect_epoch_test();
        assert_eq!(bs[0].x[0].data.to_f32_vec()[..4], [0.0, 10.0, 20.0, 30.0]);
        assert_eq!(labels(&bs), vec![vec![1, 2, 3, 4]]);
    }

    #[test]
    fn prefetch_matches_and_joins() {
        let plain = host(1000).shuffle(100, 5).batch(7).collect_epoch_test();
        let pre = host(1000)
            .shuffle(100, 5)
            .batch(7)
            .prefetch(2)
            .collect_epoch_test();
        assert_eq!(plain, pre);
        // Dropped mid-pass with a full channel: joins without hanging.
        let mut ds = host(10_000).batch(1).prefetch(1);
        assert!(ds.next_batch().unwrap().is_some());
        drop(ds);
    }

    #[test]
    fn errors() {
        let x = HostTensor::f32(vec![0.0; 6], &[3, 2]).unwrap();
        let y = HostTensor::f32(vec![0.0; 4], &[4, 1]).unwrap();
        let e = Dataset::from_host(vec![x.clone()], vec![y])
            .unwrap_err()
            .to_string();
        assert!(e.contains("[3, 2]") && e.contains("[4, 1]"), "{e}");
        let e = HostTensor::f32(vec![0.0; 5], &[3, 2])
            .unwrap_err()
            .to_string();
        assert!(e.contains("[3, 2]"), "{e}");
        let mut ds = Dataset::from_host(vec![x], vec![]).unwrap().batch(0);
        let e = ds.next_batch().unwrap_err().to_string();
        assert!(
            e.contains("batch_size") && e.contains("Dataset::batch"),
            "{e}"
        );
        let e = host(3).shuffle(0, 1).next_batch().unwrap_err().to_string();
        assert!(e.contains("buffer_size"), "{e}");
        let e = host(3).prefetch(0).next_batch().unwrap_err().to_string();
        assert!(e.contains("prefetch"), "{e}");
    }
}
