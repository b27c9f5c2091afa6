//! Keras' approximate quantile sketch (`summarize`, `merge_summaries`,
//! `compress_summary`) and numpy's `interp`, used by `Discretization::adapt`.

/// Keras' `summarize`: sorted values, every `step`-th from `step - 1`, weight `step`.
pub(super) fn quantile_summary(mut values: Vec<f32>, epsilon: f64) -> (Vec<f32>, Vec<f32>) {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    let num_buckets = 1.0 / epsilon;
    let increment = n as f64 / num_buckets;
    let step = increment.max(1.0);
    let start = step - 1.0;
    let (start, stride) = (start as usize, step as usize);
    let vals: Vec<f32> = values
        .into_iter()
        .skip(start)
        .step_by(stride.max(1))
        .collect();
    let weights = vec![step as f32; vals.len()];
    (vals, weights)
}

/// Keras' `merge_summaries`: concatenate, sort by value (stable), compress.
pub(super) fn merge_summaries(
    prev: (Vec<f32>, Vec<f32>),
    next: (Vec<f32>, Vec<f32>),
    epsilon: f64,
) -> (Vec<f32>, Vec<f32>) {
    let mut pts: Vec<(f32, f32)> = prev.0.into_iter().zip(prev.1).collect();
    pts.extend(next.0.into_iter().zip(next.1));
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (v, w) = pts.into_iter().unzip();
    compress_summary((v, w), epsilon)
}

/// Keras' `compress_summary`.
pub(super) fn compress_summary(
    summary: (Vec<f32>, Vec<f32>),
    epsilon: f64,
) -> (Vec<f32>, Vec<f32>) {
    let (vals, weights) = summary;
    if (vals.len() as f64) * epsilon < 1.0 {
        return (vals, weights);
    }
    let n_p = (1.0 / epsilon).ceil() as usize;
    let percents: Vec<f64> = (0..n_p).map(|i| epsilon + i as f64 * epsilon).collect();
    let mut cum = Vec::with_capacity(weights.len());
    let mut acc = 0.0f32;
    for w in &weights {
        acc += w;
        cum.push(acc);
    }
    let total = *cum.last().unwrap_or(&1.0);
    let xp: Vec<f64> = cum.iter().map(|c| (c / total) as f64).collect();
    let fv: Vec<f64> = vals.iter().map(|&v| v as f64).collect();
    let fc: Vec<f64> = cum.iter().map(|&c| c as f64).collect();
    let new_bins = np_interp(&percents, &xp, &fv);
    let new_cum = np_interp(&percents, &xp, &fc);
    let mut new_w = Vec::with_capacity(new_cum.len());
    let mut prev = 0.0f64;
    for c in &new_cum {
        new_w.push((c - prev) as f32);
        prev = *c;
    }
    (new_bins.into_iter().map(|v| v as f32).collect(), new_w)
}

/// numpy's `interp` (monotonic `xp`, default left/right), with its exact tie rules.
pub(super) fn np_interp(x: &[f64], xp: &[f64], fp: &[f64]) -> Vec<f64> {
    let n = xp.len();
    x.iter()
        .map(|&xv| {
            if xv.is_nan() {
                return xv;
            }
            if n == 1 {
                return fp[0];
            }
            if xv < xp[0] {
                return fp[0];
            }
            if xv > xp[n - 1] {
                return fp[n - 1];
            }
            let j = xp.partition_point(|&v| v <= xv) - 1;
            if j == n - 1 || xp[j] == xv {
                return fp[j];
            }
            let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
            let mut r = slope * (xv - xp[j]) + fp[j];
            if r.is_nan() {
                r = slope * (xv - xp[j + 1]) + fp[j + 1];
                if r.is_nan() && fp[j] == fp[j + 1] {
                    r = fp[j];
                }
            }
            r
        })
        .collect()
}
