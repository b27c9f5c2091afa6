//! The stages of one pass: the [`Stream`] trait, [`build`] (source plus combinators into a
//! chain of stages), batching of samples and `map`.

use super::shuffle::{BatchShuffle, RowReader, RowShuffle, Shuffler};
use super::source::{CsvStream, HostStream, UserStream};
use super::{MapFn, Op, Source};
use crate::data::{gather, Batch};
use crate::error::{Error, Result};
use crate::random::Rng;

/// One stage of a running pass.
pub(super) trait Stream: Send {
    /// The next element (a batch, or a chunk of samples), `None` at the end of the pass.
    fn next(&mut self) -> Result<Option<Batch>>;
}

/// Builds the stages of pass `pass`.
pub(super) fn build(source: &Source, ops: &[Op], pass: u64) -> Result<Box<dyn Stream>> {
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
        Source::Images(spec) => (
            Box::new(super::images::ImageStream::new(spec.clone(), pass)),
            false,
        ),
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

pub(super) struct Rebatch {
    pub(super) input: Box<dyn Stream>,
    pub(super) size: usize,
    pub(super) drop_remainder: bool,
    /// Pending parts (each a batch and the first unused row).
    pub(super) parts: Vec<(Batch, usize)>,
    pub(super) rows: usize,
    pub(super) done: bool,
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

pub(super) struct MapStream {
    pub(super) input: Box<dyn Stream>,
    pub(super) f: MapFn,
    pub(super) per_sample: bool,
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
