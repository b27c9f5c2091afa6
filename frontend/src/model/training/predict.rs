//! `predict` and `predict_dataset`: batched inference, detached outputs joined on the
//! device.

use super::distributed;
use super::feed::{DatasetFeed, Feed, TensorFeed};
use super::inputs::{check_batch_size, count_samples, full_shape, to_model};
use super::{each, Network};
use crate::backend::Backend;
use crate::callbacks::{Callback, FitState};
use crate::dataset::Dataset;
use crate::distribute::DataParallel;
use crate::error::Result;
use crate::layers::CallContext;
use crate::model::Data;
use crate::tensor::Tensor;

/// Batch outputs `predict` joins into one tensor while it runs.
pub(super) const PREDICT_CHUNK: usize = 64;

/// A prediction pass over `feed`: detached outputs joined on the device, one tensor per
/// output. With a data-parallel strategy of several ranks (`dist`) each rank predicts its
/// slice of every batch, the slices are gathered on every rank in input order, and only
/// rank 0 runs the callbacks.
pub(super) fn predict_feed<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    feed: &mut dyn Feed<B>,
    callbacks: &mut [Box<dyn Callback>],
    dist: Option<&DataParallel>,
) -> Result<Vec<Tensor<B>>> {
    let dist = dist.filter(|dp| dp.size() > 1);
    let callbacks = match dist {
        Some(dp) if !dp.is_root() => &mut [],
        _ => callbacks,
    };
    // The global batch sizes, to put the ranks' slices back in order.
    let mut batch_sizes = Vec::new();
    feed.begin_epoch(0)?;
    let steps = feed.steps().unwrap_or(0);
    let n_out = net.output_names().len();
    let mut outs: Vec<Vec<Tensor<B>>> = vec![Vec::with_capacity(steps); n_out];
    // Batch outputs not yet joined into a chunk, per output.
    let mut pending = vec![0usize; n_out];
    let mut state = FitState {
        epochs: 0,
        steps,
        verbose: 0,
        stop_training: false,
        learning_rate: 0.0,
        epoch: 0,
    };
    each(callbacks, &mut state, net, |cb, ctx| {
        cb.on_predict_begin(ctx)
    })?;
    B::no_grad(|| -> Result<()> {
        let mut step = 0;
        while let Some(b) = feed.next_batch()? {
            each(callbacks, &mut state, net, |cb, ctx| {
                cb.on_predict_batch_begin(step, ctx)
            })?;
            let b = match dist {
                Some(dp) => {
                    batch_sizes.push(b.len);
                    distributed::shard_batch(dp, b)?.0
                }
                None => b,
            };
            // A rank without samples in a short batch computes nothing but still runs the
            // batch hooks.
            let preds = if b.len > 0 {
                net.forward(&b.xs, &mut CallContext::inference())?
            } else {
                Vec::new()
            };
            for ((o, k), p) in outs.iter_mut().zip(pending.iter_mut()).zip(preds) {
                o.push(p.detach());
                *k += 1;
                // Join every PREDICT_CHUNK batch outputs into one tensor: one small tensor
                // kept per batch pins the freed batch buffers around it on libtorch (about
                // 0.19 MB a batch, tests/memory_tch.rs); chunks keep that bounded and copy
                // each output once more.
                if *k == PREDICT_CHUNK {
                    let start = o.len() - PREDICT_CHUNK;
                    let joined = Tensor::concat(&o[start..], 0)?;
                    o.truncate(start);
                    o.push(joined);
                    *k = 0;
                }
            }
            each(callbacks, &mut state, net, |cb, ctx| {
                cb.on_predict_batch_end(step, ctx)
            })?;
            step += 1;
        }
        Ok(())
    })?;
    each(callbacks, &mut state, net, |cb, ctx| cb.on_predict_end(ctx))?;
    let out_shapes = net.output_shapes()?;
    let outs = outs
        .into_iter()
        .enumerate()
        .map(|(i, mut o)| match o.len() {
            0 => Tensor::zeros(&full_shape(0, &out_shapes[i]), net.dtype(), net.device()),
            1 => Ok(o.remove(0)),
            _ => Tensor::concat(&o, 0),
        })
        .collect::<Result<Vec<_>>>()?;
    match dist {
        Some(dp) => distributed::gather_outputs(dp, outs, &batch_sizes),
        None => Ok(outs),
    }
}

/// The `predict` computation: batched inference, detached outputs joined on the device,
/// one tensor per output; with a data-parallel strategy (`dist`) each rank predicts its
/// slice of every batch and every rank returns all the outputs.
///
/// # Errors
/// `batch_size` 0, or inputs that do not fit the model.
pub fn predict<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    x: Data<B>,
    batch_size: usize,
    callbacks: &mut [Box<dyn Callback>],
    dist: Option<&DataParallel>,
) -> Result<Vec<Tensor<B>>> {
    check_batch_size("predict", batch_size)?;
    let xs = x.resolve(&net.input_names(), "x")?;
    count_samples("predict", &xs, &[])?;
    net.check_inputs(&xs)?;
    let xs = to_model(net, &xs)?;
    let mut feed = TensorFeed::new(xs, Vec::new(), batch_size, net.device());
    predict_feed(net, &mut feed, callbacks, dist)
}

/// `predict` on a [`Dataset`] (its targets, if any, are ignored): one pass (pass 0),
/// batched by `batch_size` when the dataset has no `batch` of its own.
///
/// # Errors
/// `batch_size` 0, an empty dataset, inputs that do not fit the model, errors from the
/// dataset.
pub fn predict_dataset<B: Backend, N: Network<B> + ?Sized>(
    net: &N,
    data: &mut Dataset,
    batch_size: usize,
    callbacks: &mut [Box<dyn Callback>],
) -> Result<Vec<Tensor<B>>> {
    check_batch_size("predict_dataset", batch_size)?;
    data.set_epoch(0);
    let mut feed = DatasetFeed::new(data, "predict_dataset", batch_size, net, None);
    let first_xs = feed.peek()?.xs.clone();
    net.check_inputs(&first_xs)?;
    predict_feed(net, &mut feed, callbacks, None)
}
