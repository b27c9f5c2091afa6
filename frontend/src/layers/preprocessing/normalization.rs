//! [`Normalization`]: feature-wise standardisation with statistics learned by `adapt`.

use super::common::*;
use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::layers::config::{config_methods, config_setters, layer_config, to_json};
use crate::layers::{BuildContext, CallContext, Layer, Weight};
use crate::tensor::Tensor;
use serde::Deserialize;
use std::sync::atomic::{AtomicBool, Ordering};

// ------------------------------------------------------------------ Normalization

/// Keras' guard on the standard deviation: `max(sqrt(variance), 1e-7)`.
const NORM_EPSILON: f64 = 1e-7;

/// Feature-wise normalisation (Keras `Normalization`): `(x - mean) / max(sqrt(var), 1e-7)`,
/// or with `invert(true)` `mean + x * max(sqrt(var), 1e-7)`.
///
/// The mean and variance are either given ([`Normalization::mean_variance`]) or learned by
/// [`Normalization::adapt`] / [`Normalization::adapt_batches`]: per position of the kept
/// `axis` (default -1, the last), the mean and the *biased* variance (numpy `var`, ddof 0)
/// over every other axis, computed on the host in `f64`. Adapted statistics are the
/// non-trainable weights `mean`, `variance` and `count` (as in Keras, so a layer on 3
/// features has 7 parameters), saved with the model. `count` holds the number of values
/// per feature `adapt` saw (Keras 3 keeps it at 0); a layer whose `count` is 0 and that was
/// given no mean was never adapted, and calling it is an error.
///
/// ```
/// use stratanet::layers::{Normalization, Layer, CallContext};
/// use stratanet::{Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let data = Tensor::<B>::from_vec(vec![1.0f32, 10.0, 3.0, 30.0], &[2, 2])?;
/// let mut norm = Normalization::<B>::new();
/// norm.adapt(&data)?; // mean [2, 20], variance [1, 100]
/// let y = norm.call(&data, &mut CallContext::inference())?;
/// assert_eq!(y.to_vec_f32()?, vec![-1.0, -1.0, 1.0, 1.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Normalization<B: Backend> {
    config: NormalizationConfig,
    /// Per-sample input shape seen at build.
    input_shape: Option<Vec<usize>>,
    /// Kept axes of the full input (batch axis = 0), sorted.
    keep: Vec<usize>,
    mean: Option<Tensor<B>>,
    variance: Option<Tensor<B>>,
    count: Option<Tensor<B>>,
    adapted: AtomicBool,
}

layer_config! {
    /// The hyper-parameters of [`Normalization`] (Keras' names and defaults), with the
    /// given statistics.
    pub struct NormalizationConfig for "Normalization" {
        /// Kept axes (`None`: Keras `axis=None`, one scalar mean/variance); read from one
        /// integer, a list (an empty one is `None`) or `null`.
        #[serde(deserialize_with = "axes")]
        axis: Option<Vec<isize>> = Some(vec![-1]),
        /// Given mean (one value, broadcast, or one per kept position); read from a number
        /// or a list.
        #[serde(deserialize_with = "floats")]
        mean: Option<Vec<f64>> = None,
        /// Given variance, as `mean`.
        #[serde(deserialize_with = "floats")]
        variance: Option<Vec<f64>> = None,
        /// Denormalises instead: `mean + x * max(sqrt(var), 1e-7)`.
        invert: bool = false,
    }
}

/// One value or a list of them, as Keras writes `axis`, `mean` and `variance`.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> From<OneOrMany<T>> for Vec<T> {
    fn from(v: OneOrMany<T>) -> Self {
        match v {
            OneOrMany::One(x) => vec![x],
            OneOrMany::Many(v) => v,
        }
    }
}

/// Reads `axis`: an integer, a list of them (empty: all axes reduced, `None`) or `null`.
fn axes<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Vec<isize>>, D::Error> {
    let v = Option::<OneOrMany<isize>>::deserialize(d)?.map(Vec::from);
    Ok(v.filter(|a| !a.is_empty()))
}

/// Reads a statistic: a number, a list of numbers or `null`.
fn floats<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Vec<f64>>, D::Error> {
    Ok(Option::<OneOrMany<f64>>::deserialize(d)?.map(Vec::from))
}

impl<B: Backend> Default for Normalization<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> Normalization<B> {
    /// Keras defaults: axis -1, no given statistics (call `adapt`), not inverted.
    pub fn new() -> Self {
        Self::with_config(NormalizationConfig::default())
    }
    /// One kept (feature) axis; negative counts from the end, 0 (the batch axis) is refused.
    pub fn axis(mut self, axis: isize) -> Self {
        self.config.axis = Some(vec![axis]);
        self
    }
    /// Several kept axes (a mean per position of each), e.g. `[1, 2]` for `[batch, h, w]`.
    pub fn axes(mut self, axes: &[isize]) -> Self {
        self.config.axis = Some(axes.to_vec());
        self
    }
    /// Keras `axis=None`: one scalar mean and variance over all values.
    pub fn axis_none(mut self) -> Self {
        self.config.axis = None;
        self
    }
    /// Given statistics instead of `adapt`: one value each (broadcast to every feature) or
    /// one per position of the kept axes (row-major). The layer then has no weights, as in
    /// Keras; the values are saved in the config.
    pub fn mean_variance(mut self, mean: &[f64], variance: &[f64]) -> Self {
        self.config.mean = Some(mean.to_vec());
        self.config.variance = Some(variance.to_vec());
        self
    }
    config_setters! {
        /// Denormalises instead: `mean + x * max(sqrt(var), 1e-7)`.
        invert: bool,
    }
    config_methods!(NormalizationConfig, |config| Self {
        config,
        input_shape: None,
        keep: Vec::new(),
        mean: None,
        variance: None,
        count: None,
        adapted: AtomicBool::new(false),
    });
    label_or_default!("normalization");

    /// The learned or given mean per kept position (`None` before build/adapt).
    ///
    /// # Errors
    /// Engine errors reading it back.
    pub fn mean_values(&self) -> Result<Option<Vec<f32>>> {
        self.mean.as_ref().map(|m| m.to_vec_f32()).transpose()
    }

    /// The learned or given variance per kept position (`None` before build/adapt).
    ///
    /// # Errors
    /// Engine errors reading it back.
    pub fn variance_values(&self) -> Result<Option<Vec<f32>>> {
        self.variance.as_ref().map(|m| m.to_vec_f32()).transpose()
    }

    /// Resolves the kept axes for a per-sample shape (full rank = per_sample + 1).
    fn kept_axes(&self, per_sample: &[usize]) -> Result<Vec<usize>> {
        let rank = per_sample.len() as isize + 1;
        let mut keep = Vec::new();
        for &a in self.config.axis.as_deref().unwrap_or(&[]) {
            let r = if a < 0 { a + rank } else { a };
            if r < 1 || r >= rank {
                return Err(Error::shape(
                    self.label(),
                    "input",
                    format!("a rank that has axis {a} (not the batch axis)"),
                    per_sample,
                ));
            }
            if !keep.contains(&(r as usize)) {
                keep.push(r as usize);
            }
        }
        keep.sort_unstable();
        Ok(keep)
    }

    /// Computes the mean and biased variance of `data` (`[n, ...]`, the layer's input
    /// layout) per position of the kept axes, like Keras' `adapt` on an array
    /// (`np.mean`/`np.var` over the other axes). Builds the layer on the first call.
    ///
    /// # Errors
    /// A layer given `mean`/`variance`, data whose kept dimensions differ from the built
    /// shape, empty data, or non-finite values.
    pub fn adapt(&mut self, data: &Tensor<B>) -> Result<()> {
        self.adapt_batches(std::iter::once(data.clone()))
    }

    /// Streaming [`Normalization::adapt`] over batches, merging per-batch statistics with
    /// Keras' running formula (`mean = m*(1-w) + b*w`, `var = (var + (m - new)^2)*(1-w) +
    /// (bvar + (b - new)^2)*w`, `w = batch count / total count`), in `f64`.
    ///
    /// # Errors
    /// As [`Normalization::adapt`]; no batches at all.
    pub fn adapt_batches<I>(&mut self, batches: I) -> Result<()>
    where
        I: IntoIterator<Item = Tensor<B>>,
    {
        let label = self.label().to_string();
        if self.config.mean.is_some() {
            return Err(Error::invalid(
                &label,
                "adapt",
                "this layer was given mean and variance; adapt is for layers without them",
            ));
        }
        let mut total_mean: Vec<f64> = Vec::new();
        let mut total_var: Vec<f64> = Vec::new();
        let mut total_count = 0usize;
        let mut seen = false;
        for batch in batches {
            let shape = batch.shape();
            if shape.is_empty() || shape[0] == 0 {
                return Err(Error::shape(
                    &label,
                    "adapt data",
                    "[n, ...] with n > 0",
                    &shape,
                ));
            }
            let per_sample = &shape[1..];
            match &self.input_shape {
                None => {
                    let mut ctx = BuildContext::new(batch.device(), DType::F32, 0);
                    self.build(per_sample, &mut ctx)?;
                }
                Some(built) => {
                    if !self.matches_built(built, per_sample) {
                        return Err(Error::shape(
                            &label,
                            "adapt data",
                            format!(
                                "[n, ..] matching the built input shape {built:?} on the kept axes"
                            ),
                            &shape,
                        ));
                    }
                }
            }
            let values = batch.to_vec_f64()?;
            if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
                return Err(Error::invalid(
                    &label,
                    "adapt data",
                    format!("non-finite value {bad} (shape {shape:?})"),
                ));
            }
            let (bm, bv, bc) = kept_moments(&values, &shape, &self.keep);
            if !seen {
                total_mean = vec![0.0; bm.len()];
                total_var = vec![0.0; bm.len()];
                seen = true;
            }
            total_count += bc;
            let w = bc as f64 / total_count as f64;
            let e = 1.0 - w;
            for i in 0..bm.len() {
                let new_mean = total_mean[i] * e + bm[i] * w;
                total_var[i] = (total_var[i] + (total_mean[i] - new_mean).powi(2)) * e
                    + (bv[i] + (bm[i] - new_mean).powi(2)) * w;
                total_mean[i] = new_mean;
            }
        }
        if !seen {
            return Err(Error::invalid(
                &label,
                "adapt data",
                "no batches (expected at least one)",
            ));
        }
        let (m, v, c) = match (&self.mean, &self.variance, &self.count) {
            (Some(m), Some(v), Some(c)) => (m, v, c),
            _ => return Err(crate::layers::conv::not_built(&label)),
        };
        let shape = m.shape();
        let device = m.device();
        m.assign(&Tensor::from_vec_on(total_mean, &shape, device)?)?;
        v.assign(&Tensor::from_vec_on(total_var, &shape, device)?)?;
        c.assign(&Tensor::from_vec_on(vec![total_count as f64], &[], device)?)?;
        self.adapted.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Whether a per-sample shape has the rank of the built one and its sizes on the kept
    /// axes.
    fn matches_built(&self, built: &[usize], per_sample: &[usize]) -> bool {
        built.len() == per_sample.len()
            && self.keep.iter().all(|&a| built[a - 1] == per_sample[a - 1])
    }

    fn broadcast_shape(&self, per_sample: &[usize]) -> Vec<usize> {
        let mut s = vec![1usize; per_sample.len() + 1];
        for &a in &self.keep {
            s[a] = per_sample[a - 1];
        }
        s
    }

    fn ensure_ready(&self) -> Result<()> {
        if self.config.mean.is_some() || self.adapted.load(Ordering::Relaxed) {
            return Ok(());
        }
        let counted = match &self.count {
            Some(c) => c.item()? > 0.0,
            None => return Err(crate::layers::conv::not_built(self.label())),
        };
        if counted {
            self.adapted.store(true, Ordering::Relaxed);
            return Ok(());
        }
        Err(Error::NotReady {
            op: format!("{}.call", self.label()),
            needed: "adapted".into(),
            hint: "call adapt(data) first, or pass mean_variance(..)".into(),
        })
    }
}

/// Mean and biased variance per kept position (two passes, f64) and the count per position.
fn kept_moments(values: &[f64], shape: &[usize], keep: &[usize]) -> (Vec<f64>, Vec<f64>, usize) {
    let rank = shape.len();
    let mut full_strides = vec![1usize; rank];
    for a in (0..rank.saturating_sub(1)).rev() {
        full_strides[a] = full_strides[a + 1] * shape[a + 1];
    }
    let kept_len: usize = keep.iter().map(|&a| shape[a]).product();
    let mut kept_strides = vec![0usize; rank];
    let mut s = 1usize;
    for &a in keep.iter().rev() {
        kept_strides[a] = s;
        s *= shape[a];
    }
    let position = |i: usize| -> usize {
        keep.iter()
            .map(|&a| ((i / full_strides[a]) % shape[a]) * kept_strides[a])
            .sum()
    };
    let count = values.len() / kept_len.max(1);
    let mut sum = vec![0.0f64; kept_len];
    for (i, v) in values.iter().enumerate() {
        sum[position(i)] += v;
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / count as f64).collect();
    let mut sq = vec![0.0f64; kept_len];
    for (i, v) in values.iter().enumerate() {
        let p = position(i);
        sq[p] += (v - mean[p]).powi(2);
    }
    let var = sq.iter().map(|s| s / count as f64).collect();
    (mean, var, count)
}

impl<B: Backend> Layer<B> for Normalization<B> {
    preprocessing_layer_methods!("Normalization", built: |l| l.mean.is_some());
    fn validate(&self) -> Result<()> {
        match (&self.config.mean, &self.config.variance) {
            (None, None) => Ok(()),
            (Some(m), Some(v)) => {
                if m.len() != v.len() || m.is_empty() {
                    return Err(Error::invalid(
                        self.label(),
                        "mean/variance",
                        format!(
                            "need the same non-zero length, got {} and {}",
                            m.len(),
                            v.len()
                        ),
                    ));
                }
                if let Some(bad) = v.iter().find(|x| x.is_nan() || **x < 0.0) {
                    return Err(Error::invalid(
                        self.label(),
                        "variance",
                        format!("must be >= 0, got {bad}"),
                    ));
                }
                Ok(())
            }
            _ => Err(Error::invalid(
                self.label(),
                "mean/variance",
                "give both or neither",
            )),
        }
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        Layer::<B>::validate(self)?;
        let keep = self.kept_axes(input_shape)?;
        let kept_shape: Vec<usize> = keep.iter().map(|&a| input_shape[a - 1]).collect();
        // Checked before allocating: the statistics' size comes from the input shape.
        let n = if self.config.mean.is_some() {
            crate::limits::reserve_unsaved(self.label(), "mean/variance", &kept_shape)?
        } else {
            crate::limits::reserve_weight(&kept_shape)?;
            crate::limits::reserve_weight(&[])?;
            crate::limits::reserve_weight(&kept_shape)?
        };
        self.keep = keep;
        self.input_shape = Some(input_shape.to_vec());
        match (&self.config.mean, &self.config.variance) {
            (Some(m), Some(v)) => {
                let expand = |x: &[f64], what: &str| -> Result<Vec<f64>> {
                    if x.len() == 1 {
                        Ok(vec![x[0]; n])
                    } else if x.len() == n {
                        Ok(x.to_vec())
                    } else {
                        Err(Error::invalid(
                            &self.config.name,
                            what,
                            format!(
                                "has {} values; expected 1 or {n} (kept dims {kept_shape:?} of input {input_shape:?})",
                                x.len()
                            ),
                        ))
                    }
                };
                let (m, v) = (expand(m, "mean")?, expand(v, "variance")?);
                self.mean =
                    Some(Tensor::from_vec_on(m, &kept_shape, ctx.device)?.to_dtype(ctx.dtype)?);
                self.variance =
                    Some(Tensor::from_vec_on(v, &kept_shape, ctx.device)?.to_dtype(ctx.dtype)?);
                self.count = None;
            }
            _ => {
                self.mean = Some(Tensor::zeros(&kept_shape, ctx.dtype, ctx.device)?.to_param()?);
                self.variance = Some(Tensor::ones(&kept_shape, ctx.dtype, ctx.device)?.to_param()?);
                self.count = Some(Tensor::zeros(&[], ctx.dtype, ctx.device)?.to_param()?);
            }
        }
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if let Some(built) = &self.input_shape {
            if !self.matches_built(built, input_shape) {
                return Err(Error::shape(
                    self.label(),
                    "input",
                    format!("a per-sample shape matching {built:?} on the kept axes"),
                    input_shape,
                ));
            }
        } else {
            self.kept_axes(input_shape)?;
        }
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        let (mean, var) = match (&self.mean, &self.variance) {
            (Some(m), Some(v)) => (m, v),
            _ => return Err(crate::layers::conv::not_built(self.label())),
        };
        let s = x.shape();
        if s.is_empty() {
            return Err(Error::shape(self.label(), "input", "[batch, ...]", &s));
        }
        Layer::<B>::output_shape(self, &s[1..]).map_err(|_| {
            Error::shape(
                self.label(),
                "input",
                format!(
                    "[batch, ..] matching the built per-sample shape {:?} on the kept axes",
                    self.input_shape.clone().unwrap_or_default()
                ),
                &s,
            )
        })?;
        self.ensure_ready()?;
        let b = self.broadcast_shape(&s[1..]);
        let x = x.to_dtype(mean.dtype())?;
        let mean = mean.detach().reshape_to(&b)?;
        let std = var
            .detach()
            .reshape_to(&b)?
            .sqrt()?
            .maximum(&mean.scalar_like(NORM_EPSILON)?)?;
        if self.config.invert {
            mean.add(&x.mul(&std)?)
        } else {
            x.sub(&mean)?.div(&std)
        }
    }
    fn weights(&self) -> Vec<Weight<B>> {
        if self.config.mean.is_some() {
            return Vec::new();
        }
        [
            ("mean", &self.mean),
            ("variance", &self.variance),
            ("count", &self.count),
        ]
        .into_iter()
        .filter_map(|(n, t)| {
            t.as_ref().map(|t| Weight {
                name: n.into(),
                value: t.clone(),
                trainable: false,
            })
        })
        .collect()
    }
    fn get_config(&self) -> serde_json::Value {
        to_json(&self.config)
    }
}
