//! Where a dataset's elements come from: the [`BatchSource`] trait for user sources, and
//! the streams of the built-in sources (in-memory host arrays, CSV files read in chunks,
//! user sources).

use super::pipeline::Stream;
use super::CsvSpec;
use crate::data::{Batch, HostTensor};
use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};

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

pub(super) struct HostStream {
    pub(super) data: Arc<Batch>,
    pub(super) chunk: usize,
    pub(super) pos: usize,
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

pub(super) struct UserStream {
    pub(super) source: Arc<Mutex<Box<dyn BatchSource>>>,
    pub(super) next: usize,
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
pub(super) struct CsvStream {
    pub(super) spec: Arc<CsvSpec>,
    pub(super) chunks: crate::tabular::CsvChunks,
    pub(super) rows_before: usize,
    pub(super) int_label: bool,
}

impl CsvStream {
    pub(super) fn open(spec: Arc<CsvSpec>) -> Result<Self> {
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
