//! Seeded shuffling with a `tf.data`-style buffer: of whole batches, or of samples read
//! one row at a time from a stream of sample chunks.

use super::pipeline::Stream;
use crate::data::{gather, Batch};
use crate::error::Result;
use crate::random::Rng;
use std::collections::HashMap;

/// Samples a shuffle stage gathers into one chunk before handing them on.
pub(super) const SHUFFLE_OUT: usize = 256;

/// The shuffle buffer (`tf.data` semantics), shared by the sample and batch shuffles.
pub(super) struct Shuffler<T> {
    pub(super) buffer: Vec<T>,
    pub(super) size: usize,
    pub(super) rng: Rng,
}

impl<T> Shuffler<T> {
    pub(super) fn new(size: usize, rng: Rng) -> Self {
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

pub(super) struct BatchShuffle {
    pub(super) input: Box<dyn Stream>,
    pub(super) shuffler: Shuffler<Batch>,
}

impl Stream for BatchShuffle {
    fn next(&mut self) -> Result<Option<Batch>> {
        let input = &mut self.input;
        self.shuffler.emit(&mut || input.next())
    }
}

/// Reads a stream of sample chunks one sample at a time, as `(chunk id, row)`; keeps each
/// chunk until all its rows have been handed out.
pub(super) struct RowReader {
    pub(super) input: Box<dyn Stream>,
    pub(super) chunks: HashMap<u64, (Batch, usize)>,
    pub(super) current: Option<(u64, usize, usize)>,
    pub(super) next_id: u64,
    pub(super) done: bool,
}

impl RowReader {
    pub(super) fn new(input: Box<dyn Stream>) -> Self {
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

pub(super) struct RowShuffle {
    pub(super) input: RowReader,
    pub(super) shuffler: Shuffler<(u64, usize)>,
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
