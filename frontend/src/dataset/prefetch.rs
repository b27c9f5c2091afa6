//! The background thread of `Dataset::prefetch` and its bounded channel.

use super::pipeline::Stream;
use crate::data::Batch;
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A running pass: inline, or on the prefetch thread.
pub(super) enum Live {
    Inline(Box<dyn Stream>),
    Thread(Prefetcher),
}

/// Messages from the prefetch thread: an element, the end of the pass, or an error.
pub(super) type Msg = Result<Option<Batch>>;

/// The background thread of [`Dataset::prefetch`], with its bounded channel.
pub(super) struct Prefetcher {
    pub(super) rx: Option<Receiver<Msg>>,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) handle: Option<JoinHandle<()>>,
    pub(super) finished: bool,
}

impl Prefetcher {
    pub(super) fn spawn(mut stream: Box<dyn Stream>, buffer: usize) -> Result<Self> {
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

    pub(super) fn next(&mut self) -> Result<Option<Batch>> {
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
