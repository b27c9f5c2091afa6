//! What `fit` does differently under a [`DataParallel`] strategy of several ranks (the
//! contract is in [`crate::distribute`]): the rank's slice of each global batch, the fused
//! gradient all-reduce between backward and the optimizer step, the broadcasts of weights,
//! optimizer state and callback state from rank 0, and the epoch logs averaged across
//! ranks.

use super::compile::Compiled;
use super::feed::{narrow_all, FeedBatch};
use super::Network;
use crate::backend::{Backend, DType, HostData};
use crate::callbacks::{FitState, Logs};
use crate::data::HostTensor;
use crate::distribute::{shard_range, DataParallel};
use crate::error::{Error, Result};
use crate::losses::Reduction;
use crate::tensor::Tensor;

/// This rank's part of a global batch, and the global batch's sample count.
pub(super) fn shard_batch<B: Backend>(
    dp: &DataParallel,
    b: FeedBatch<B>,
) -> Result<(FeedBatch<B>, usize)> {
    let n = b.len;
    let (start, len) = dp.shard(n);
    if len == n {
        return Ok((b, n));
    }
    let sw = match &b.sw {
        Some(w) if len > 0 => Some(w.narrow(0, start, len)?),
        _ => None,
    };
    let (xs, ys) = if len > 0 {
        (
            narrow_all(&b.xs, start, len)?,
            narrow_all(&b.ys, start, len)?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok((
        FeedBatch {
            xs,
            ys,
            sw,
            len,
            targets_checked: b.targets_checked,
        },
        n,
    ))
}

/// Refuses losses whose gradient is not the sample-count-weighted mean of the ranks'
/// gradients (reduction `sum`).
pub(super) fn check_losses<B: Backend>(compiled: &Compiled<B>) -> Result<()> {
    for loss in compiled.losses.iter().flatten() {
        if loss.reduction() == Reduction::Sum {
            return Err(Error::invalid(
                "fit (distribute)",
                "loss",
                format!(
                    "{} has reduction 'sum', whose gradient depends on the per-rank batch \
                     size; use 'sum_over_batch_size' (the default) with a data-parallel \
                     strategy",
                    loss.name()
                ),
            ));
        }
    }
    Ok(())
}

/// A batch with sample weights under reduction `mean_with_sample_weight` is normalised by
/// its own weight sum, which differs between ranks: refused.
pub(super) fn check_batch_weights<B: Backend>(
    compiled: &Compiled<B>,
    b: &FeedBatch<B>,
) -> Result<()> {
    if b.sw.is_none() {
        return Ok(());
    }
    for loss in compiled.losses.iter().flatten() {
        if loss.reduction() == Reduction::MeanWithSampleWeight {
            return Err(Error::invalid(
                "fit (distribute)",
                "sample_weight",
                format!(
                    "{} has reduction 'mean_with_sample_weight', which normalises by each \
                     rank's own weight sum; use 'sum_over_batch_size' with a data-parallel \
                     strategy",
                    loss.name()
                ),
            ));
        }
    }
    Ok(())
}

/// Averages the gradients across ranks: one fused buffer of all parameters' gradients
/// (concatenated on the device, one transfer to the host), each rank's scaled by its share
/// `n_local / n_global` of the global batch, summed by one all-reduce. A `None` gradient
/// (a parameter this rank's graph did not reach, or a rank without samples) counts as
/// zeros; the result is `Some` where any rank had a gradient (a presence count travels in
/// the same buffer).
///
/// Buffers are `f32`, or `f64` when a parameter is `f64`.
pub(super) fn average_gradients<B: Backend>(
    dp: &DataParallel,
    params: &[Tensor<B>],
    grads: Vec<Option<Tensor<B>>>,
    n_local: usize,
    n_global: usize,
) -> Result<Vec<Option<Tensor<B>>>> {
    let Some(first) = params.first() else {
        return Ok(grads);
    };
    let device = first.device();
    let wide = params.iter().any(|p| p.dtype() == DType::F64);
    let flat_dtype = if wide { DType::F64 } else { DType::F32 };
    let scale = if n_global == 0 {
        0.0
    } else {
        n_local as f64 / n_global as f64
    };
    let mut parts = Vec::with_capacity(params.len());
    for (p, g) in params.iter().zip(&grads) {
        let part = match g {
            Some(g) => g.reshape_to(&[g.numel()])?.to_dtype(flat_dtype)?,
            None => Tensor::zeros(&[p.numel()], flat_dtype, device)?,
        };
        parts.push(part);
    }
    let presence: Vec<f64> = grads
        .iter()
        .map(|g| if g.is_some() { 1.0 } else { 0.0 })
        .collect();
    let flat = Tensor::concat(&parts, 0)?.mul_scalar(scale)?;
    let total = flat.numel();
    let (values, present): (HostData, Vec<bool>) = if wide {
        let mut buf = flat.to_vec_f64()?;
        buf.extend_from_slice(&presence);
        dp.collective().all_reduce_sum_f64(&mut buf)?;
        let present = buf[total..].iter().map(|c| *c > 0.0).collect();
        buf.truncate(total);
        (HostData::F64(buf), present)
    } else {
        let mut buf = flat.to_vec_f32()?;
        buf.extend(presence.iter().map(|v| *v as f32));
        dp.collective().all_reduce_sum_f32(&mut buf)?;
        let present = buf[total..].iter().map(|c| *c > 0.0).collect();
        buf.truncate(total);
        (HostData::F32(buf), present)
    };
    let reduced = Tensor::<B>::from_host(values, &[total], device)?;
    let mut out = Vec::with_capacity(params.len());
    let mut offset = 0;
    for ((p, g), present) in params.iter().zip(&grads).zip(present) {
        let n = p.numel();
        if present {
            let dtype = g.as_ref().map_or(p.dtype(), |g| g.dtype());
            out.push(Some(
                reduced
                    .narrow(0, offset, n)?
                    .reshape_to(&p.shape())?
                    .to_dtype(dtype)?,
            ));
        } else {
            out.push(None);
        }
        offset += n;
    }
    Ok(out)
}

/// The full outputs of a sharded `predict`, on every rank: `locals` holds this rank's
/// outputs (one tensor per model output, its slices of the global batches of
/// `batch_sizes`, in order); every rank's are gathered and put back in input order.
pub(super) fn gather_outputs<B: Backend>(
    dp: &DataParallel,
    locals: Vec<Tensor<B>>,
    batch_sizes: &[usize],
) -> Result<Vec<Tensor<B>>> {
    let (rank, size) = (dp.rank(), dp.size());
    let bad = |m: String| Error::distributed("predict (gather)", rank, size, m);
    let Some(device) = locals.first().map(Tensor::device) else {
        return Ok(locals);
    };
    let host = locals
        .iter()
        .enumerate()
        .map(|(i, t)| Ok((format!("output_{i}"), HostTensor::from_tensor(t)?)))
        .collect::<Result<Vec<_>>>()?;
    let per_rank = dp
        .all_gather_vec(encode(&host)?)?
        .iter()
        .map(|p| decode(p))
        .collect::<Result<Vec<_>>>()?;
    // Rows each rank holds, and where its rows start in the rank-major concatenation.
    let mut rows = vec![0usize; size];
    for &n in batch_sizes {
        for (r, count) in rows.iter_mut().enumerate() {
            *count += shard_range(n, r, size).1;
        }
    }
    let mut base = vec![0usize; size];
    for r in 1..size {
        base[r] = base[r - 1] + rows[r - 1];
    }
    // Input row i's position in that concatenation: batch by batch, rank by rank.
    let total: usize = batch_sizes.iter().sum();
    let mut order = Vec::with_capacity(total);
    let mut used = vec![0usize; size];
    for &n in batch_sizes {
        for r in 0..size {
            let len = shard_range(n, r, size).1;
            order.extend((0..len).map(|i| (base[r] + used[r] + i) as i64));
            used[r] += len;
        }
    }
    let order = Tensor::<B>::from_vec_on(order, &[total], device)?;
    let mut out = Vec::with_capacity(locals.len());
    for i in 0..locals.len() {
        let mut parts = Vec::with_capacity(size);
        for (r, outputs) in per_rank.iter().enumerate() {
            let (_, t) = outputs.get(i).ok_or_else(|| {
                bad(format!(
                    "rank {r} sent {} outputs, this rank has {}",
                    outputs.len(),
                    locals.len()
                ))
            })?;
            if t.shape.first() != Some(&rows[r]) {
                return Err(bad(format!(
                    "rank {r} sent output {i} of shape {:?}, expected {} rows",
                    t.shape, rows[r]
                )));
            }
            parts.push(t.to_tensor::<B>(device)?);
        }
        // An empty share is made as zeros of the model's dtype; use the dtype of the data.
        let dtype = parts
            .iter()
            .zip(&rows)
            .find(|(_, n)| **n > 0)
            .map_or(locals[i].dtype(), |(t, _)| t.dtype());
        let parts = parts
            .into_iter()
            .map(|t| t.to_dtype(dtype))
            .collect::<Result<Vec<_>>>()?;
        out.push(Tensor::concat(&parts, 0)?.index_select(&order, 0)?);
    }
    Ok(out)
}

/// Broadcasts what callbacks may change (`stop_training`, the learning rate) from rank 0,
/// where they run, with rank 0's `stop_now` flag; returns that flag.
pub(super) fn sync_state(dp: &DataParallel, state: &mut FitState, stop_now: bool) -> Result<bool> {
    let mut buf = [0u8; 9];
    buf[0] = u8::from(state.stop_training) | (u8::from(stop_now) << 1);
    buf[1..].copy_from_slice(&state.learning_rate.to_le_bytes());
    dp.collective().broadcast_bytes(&mut buf, 0)?;
    state.stop_training = buf[0] & 1 != 0;
    let mut lr = [0u8; 8];
    lr.copy_from_slice(&buf[1..]);
    state.learning_rate = f64::from_le_bytes(lr);
    Ok(buf[0] & 2 != 0)
}

/// The epoch's logs averaged across ranks, weighted by each rank's sample count.
pub(super) fn reduce_logs(dp: &DataParallel, logs: &Logs, samples: usize) -> Result<Logs> {
    let names: Vec<String> = logs.names().map(str::to_string).collect();
    let values: Vec<f64> = logs.iter().map(|(_, v)| v).collect();
    let means = dp.weighted_mean(&values, samples as f64)?;
    let mut out = Logs::new();
    for (n, v) in names.into_iter().zip(means) {
        out.insert(n, v);
    }
    Ok(out)
}

/// Makes every rank's weights rank 0's.
pub(super) fn broadcast_weights<B: Backend, N: Network<B> + ?Sized>(
    dp: &DataParallel,
    net: &mut N,
) -> Result<()> {
    let payload = if dp.is_root() {
        encode(&net.access().get_weights()?)?
    } else {
        Vec::new()
    };
    let payload = dp.broadcast_vec(payload)?;
    if !dp.is_root() {
        net.access().set_weights(&decode(&payload)?)?;
    }
    Ok(())
}

/// Makes every rank's weights, optimizer state and step count rank 0's (at the start of
/// `fit`: a fresh model, or one resumed from a file on rank 0).
pub(super) fn broadcast_model<B: Backend, N: Network<B> + ?Sized>(
    dp: &DataParallel,
    net: &mut N,
    compiled: &mut Compiled<B>,
) -> Result<()> {
    broadcast_weights(dp, net)?;
    let iterations = dp.broadcast_u64(compiled.optimizer.iterations())?;
    let payload = if dp.is_root() {
        let vars = compiled
            .optimizer
            .variables()
            .into_iter()
            .map(|(name, t)| Ok((name, HostTensor::from_tensor(&t)?)))
            .collect::<Result<Vec<_>>>()?;
        encode(&vars)?
    } else {
        Vec::new()
    };
    let payload = dp.broadcast_vec(payload)?;
    if !dp.is_root() {
        let device = net.device();
        let vars = decode(&payload)?
            .into_iter()
            .map(|(name, h)| Ok((name, h.to_tensor::<B>(device)?)))
            .collect::<Result<Vec<_>>>()?;
        compiled.optimizer.set_variables(&vars)?;
        compiled.optimizer.set_iterations(iterations);
    }
    Ok(())
}

/// Named host tensors as bytes: a JSON header (name, dtype tag, shape per tensor), its
/// length first, then the values little-endian.
fn encode(ts: &[(String, HostTensor)]) -> Result<Vec<u8>> {
    let header: Vec<(&str, u8, &[usize])> = ts
        .iter()
        .map(|(n, t)| (n.as_str(), tag(&t.data), t.shape.as_slice()))
        .collect();
    let header = serde_json::to_vec(&header)?;
    let mut out = Vec::new();
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    for (_, t) in ts {
        match &t.data {
            HostData::F32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            HostData::F64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            HostData::I64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            HostData::Bool(v) => out.extend(v.iter().map(|b| u8::from(*b))),
            HostData::BF16(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            HostData::F16(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        }
    }
    Ok(out)
}

fn tag(d: &HostData) -> u8 {
    match d {
        HostData::F32(_) => 0,
        HostData::F64(_) => 1,
        HostData::I64(_) => 2,
        HostData::Bool(_) => 3,
        HostData::BF16(_) => 4,
        HostData::F16(_) => 5,
    }
}

/// Inverse of [`encode`] (the bytes come from rank 0 of the same program; still checked).
fn decode(bytes: &[u8]) -> Result<Vec<(String, HostTensor)>> {
    let bad = |m: &str| Error::config("distribute (broadcast from rank 0)", m.to_string());
    let hlen = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
        .ok_or_else(|| bad("message shorter than its header length"))?;
    let hlen = usize::try_from(hlen).map_err(|_| bad("header length overflows"))?;
    let header = bytes
        .get(8..8usize.saturating_add(hlen))
        .ok_or_else(|| bad("message shorter than its header"))?;
    let header: Vec<(String, u8, Vec<usize>)> = serde_json::from_slice(header)?;
    let mut rest = &bytes[8 + hlen..];
    let mut out = Vec::with_capacity(header.len());
    for (name, tag, shape) in header {
        let n = shape
            .iter()
            .try_fold(1usize, |a, d| a.checked_mul(*d))
            .ok_or_else(|| bad("shape overflows"))?;
        let width = match tag {
            0 => 4,
            1 | 2 => 8,
            3 => 1,
            4 | 5 => 2,
            _ => return Err(bad("unknown dtype tag")),
        };
        let len = n.checked_mul(width).ok_or_else(|| bad("size overflows"))?;
        if rest.len() < len {
            return Err(bad("message shorter than its tensors"));
        }
        let (raw, tail) = rest.split_at(len);
        rest = tail;
        let data = match tag {
            0 => HostData::F32(
                raw.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            1 => HostData::F64(
                raw.chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect(),
            ),
            2 => HostData::I64(
                raw.chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect(),
            ),
            3 => HostData::Bool(raw.iter().map(|b| *b != 0).collect()),
            4 => HostData::BF16(
                raw.chunks_exact(2)
                    .map(|c| half::bf16::from_le_bytes([c[0], c[1]]))
                    .collect(),
            ),
            _ => HostData::F16(
                raw.chunks_exact(2)
                    .map(|c| half::f16::from_le_bytes([c[0], c[1]]))
                    .collect(),
            ),
        };
        out.push((name, HostTensor::checked(data, &shape)?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_tensors_round_trip() {
        let ts = vec![
            (
                "a/kernel".to_string(),
                HostTensor::f32(vec![1.5, -2.0], &[2, 1]).unwrap(),
            ),
            ("b".to_string(), HostTensor::i64(vec![7], &[1]).unwrap()),
            (
                "c".to_string(),
                HostTensor::checked(HostData::BF16(vec![half::bf16::from_f32(0.5)]), &[1]).unwrap(),
            ),
        ];
        let bytes = encode(&ts).unwrap();
        assert_eq!(decode(&bytes).unwrap(), ts);
        let e = decode(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(e.to_string().contains("shorter than its tensors"), "{e}");
    }
}
