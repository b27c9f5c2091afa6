//! [`Batch`]: host tensors grouped as a model's inputs and targets, with the row
//! operations (slice, take, split into samples, stack, gather) the dataset pipeline uses.

use super::HostTensor;
use crate::backend::{Backend, Device, HostData};
use crate::error::{Error, Result, ShapeList};
use crate::tensor::Tensor;

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

    pub(crate) fn tensors(&self) -> impl Iterator<Item = &HostTensor> {
        self.x.iter().chain(&self.y)
    }

    /// Checks the batch: at least one input, data sizes matching shapes, one sample count.
    pub(crate) fn check(&self, context: &str) -> Result<usize> {
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
    pub(crate) fn slice(&self, start: usize, len: usize) -> Batch {
        let idx: Vec<usize> = (start..start + len).collect();
        self.take(&idx)
    }

    /// The given rows, in that order.
    pub(crate) fn take(&self, rows: &[usize]) -> Batch {
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
    pub(crate) fn samples(&self) -> Vec<Batch> {
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
    pub(crate) fn stack(samples: &[Batch], context: &str) -> Result<Batch> {
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
pub(crate) struct RowBuilder {
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
            HostData::BF16(_) => HostData::BF16(Vec::with_capacity(cap)),
            HostData::F16(_) => HostData::F16(Vec::with_capacity(cap)),
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
            (HostData::BF16(d), HostData::BF16(s)) => d.extend_from_slice(&s[span]),
            (HostData::F16(d), HostData::F16(s)) => d.extend_from_slice(&s[span]),
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
pub(crate) fn gather(rows: &[(&Batch, usize)], context: &str) -> Result<Batch> {
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

/// A batch on an engine: its inputs and its targets.
pub type BatchTensors<B> = (Vec<Tensor<B>>, Vec<Tensor<B>>);

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
