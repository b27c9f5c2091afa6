//! Preprocessing layers with Keras 3 semantics: [`Normalization`], [`Discretization`],
//! [`CategoryEncoding`], [`IntegerLookup`], [`Hashing`] (engine layers that join a model and
//! save with it) and the host-side [`StringLookup`] (strings are not engine tensors).
//!
//! The statistics a layer learns with `adapt` are saved with the model: `Normalization`'s
//! mean and variance as non-trainable weights (`normalization/mean`, ...), the vocabulary of
//! `IntegerLookup` and the bin boundaries of `Discretization` in the layer config. A loaded
//! model therefore preprocesses exactly as at training time.
//!
//! Hashing uses the same functions as Keras/TensorFlow: FarmHash `Fingerprint64`
//! ([`fingerprint64`], TensorFlow's `to_hash_bucket_fast`) and, with a salt, SipHash-2-4
//! ([`siphash24`], `to_hash_bucket_strong`); integers are hashed as their decimal strings.

use super::{cfg_name, BuildContext, CallContext, Layer, Weight};
use crate::backend::{Backend, DType, Device};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde_json::json;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};

// ------------------------------------------------------------------ output modes

/// How a categorical layer writes its result (Keras `output_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// The integer index (`i64`), same shape as the input.
    Int,
    /// One `f32` row of `depth` per value: a last axis of size 1 is replaced by `depth`,
    /// otherwise `depth` is appended.
    OneHot,
    /// One `f32` row of `depth` per sample: 1 where an index occurs in the sample's last
    /// axis.
    MultiHot,
    /// As `MultiHot`, with the number of occurrences.
    Count,
}

impl OutputMode {
    /// Keras' name (`"one_hot"`).
    pub fn as_str(self) -> &'static str {
        match self {
            OutputMode::Int => "int",
            OutputMode::OneHot => "one_hot",
            OutputMode::MultiHot => "multi_hot",
            OutputMode::Count => "count",
        }
    }

    /// Parses Keras' name (`"binary"` is Keras' old name of `"multi_hot"`).
    ///
    /// # Errors
    /// [`Error::UnknownName`] for another name.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "int" => OutputMode::Int,
            "one_hot" => OutputMode::OneHot,
            "multi_hot" | "binary" => OutputMode::MultiHot,
            "count" => OutputMode::Count,
            other => {
                return Err(Error::unknown(
                    "output_mode",
                    other,
                    &["int", "one_hot", "multi_hot", "count"],
                ))
            }
        })
    }

    /// Per-sample output shape for a per-sample input shape and `depth` classes.
    ///
    /// A per-sample shape `[]` (inputs `[batch]`) gives `[depth]` in every non-int mode:
    /// each sample is one value (Keras collapses the batch axis in `multi_hot`/`count` for
    /// rank-1 inputs; stratanet keeps one row per sample).
    pub fn output_shape(self, per_sample: &[usize], depth: usize) -> Vec<usize> {
        match self {
            OutputMode::Int => per_sample.to_vec(),
            OutputMode::OneHot => {
                let mut s = per_sample.to_vec();
                if s.last() == Some(&1) {
                    s.pop();
                }
                s.push(depth);
                s
            }
            OutputMode::MultiHot | OutputMode::Count => {
                let mut s = per_sample.to_vec();
                s.pop();
                s.push(depth);
                s
            }
        }
    }
}

fn cfg_mode(config: &serde_json::Value, layer: &str, default: OutputMode) -> Result<OutputMode> {
    match config.get("output_mode") {
        None | Some(serde_json::Value::Null) => Ok(default),
        Some(v) => {
            OutputMode::parse(v.as_str().ok_or_else(|| {
                Error::config(format!("{layer}.output_mode"), "expected a string")
            })?)
        }
    }
}

/// Encodes `i64` indices `[batch, ...]` on the engine. Indices outside `[0, depth)` give
/// all-zero rows (Keras' treatment of the mask in non-int modes).
fn encode<B: Backend>(idx: &Tensor<B>, mode: OutputMode, depth: usize) -> Result<Tensor<B>> {
    let s = idx.shape();
    let range = Tensor::<B>::arange(depth, idx.device())?;
    match mode {
        OutputMode::Int => Ok(idx.clone()),
        OutputMode::OneHot => {
            let idx = if s.len() > 1 && s[s.len() - 1] == 1 {
                idx.squeeze(-1)?
            } else {
                idx.clone()
            };
            idx.unsqueeze(-1)?.eq(&range)?.to_dtype(DType::F32)
        }
        OutputMode::MultiHot | OutputMode::Count => {
            let idx = if s.len() == 1 {
                idx.unsqueeze(-1)?
            } else {
                idx.clone()
            };
            let hot = idx.unsqueeze(-1)?.eq(&range)?.to_dtype(DType::F32)?;
            if mode == OutputMode::MultiHot {
                hot.max(&[-2], false)
            } else {
                hot.sum(&[-2], false)
            }
        }
    }
}

/// Integer values of a tensor on the host (floats must be whole numbers).
fn integer_values<B: Backend>(layer: &str, x: &Tensor<B>) -> Result<Vec<i64>> {
    if x.dtype() == DType::I64 {
        return x.to_vec_i64();
    }
    let v = x.to_vec_f64()?;
    v.iter()
        .map(|&f| {
            if f.fract() == 0.0 && f.abs() < 9.2e18 {
                Ok(f as i64)
            } else {
                Err(Error::invalid(
                    layer,
                    "input",
                    format!("expected integer values, got {f} (shape {:?})", x.shape()),
                ))
            }
        })
        .collect()
}

/// The `Layer` methods every preprocessing layer implements the same way: its Keras class
/// name, the `name` field, and no trainable weights.
macro_rules! preprocessing_layer_methods {
    ($class:literal) => {
        fn class_name(&self) -> &'static str {
            $class
        }
        fn name(&self) -> &str {
            &self.name
        }
        fn set_name(&mut self, name: String) {
            self.name = name;
        }
        fn trainable(&self) -> bool {
            false
        }
    };
}

/// The name errors give a layer: its `name`, or `default` (Keras' snake-case class name)
/// while it has none.
fn label_or<'a>(name: &'a str, default: &'static str) -> &'a str {
    if name.is_empty() {
        default
    } else {
        name
    }
}

/// Checks that `n` host values fill `shape` (`[batch, ...]`, row-major).
fn check_layout(layer: &str, n: usize, shape: &[usize]) -> Result<()> {
    if shape.is_empty() || shape.iter().product::<usize>() != n {
        return Err(Error::shape(
            layer,
            "values",
            format!("{n} values laid out as [batch, ...]"),
            shape,
        ));
    }
    Ok(())
}

fn check_rank1<B: Backend>(layer: &str, x: &Tensor<B>) -> Result<()> {
    if x.rank() == 0 {
        return Err(Error::shape(
            layer,
            "input",
            "[batch, ...] (rank 1 or more)",
            &x.shape(),
        ));
    }
    Ok(())
}

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
    /// Kept axes (`None`: Keras `axis=None`, one scalar mean/variance).
    axis: Option<Vec<isize>>,
    given_mean: Option<Vec<f64>>,
    given_variance: Option<Vec<f64>>,
    invert: bool,
    name: String,
    /// Per-sample input shape seen at build.
    input_shape: Option<Vec<usize>>,
    /// Kept axes of the full input (batch axis = 0), sorted.
    keep: Vec<usize>,
    mean: Option<Tensor<B>>,
    variance: Option<Tensor<B>>,
    count: Option<Tensor<B>>,
    adapted: AtomicBool,
}

impl<B: Backend> Default for Normalization<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> Normalization<B> {
    /// Keras defaults: axis -1, no given statistics (call `adapt`), not inverted.
    pub fn new() -> Self {
        Self {
            axis: Some(vec![-1]),
            given_mean: None,
            given_variance: None,
            invert: false,
            name: String::new(),
            input_shape: None,
            keep: Vec::new(),
            mean: None,
            variance: None,
            count: None,
            adapted: AtomicBool::new(false),
        }
    }
    /// One kept (feature) axis; negative counts from the end, 0 (the batch axis) is refused.
    pub fn axis(mut self, axis: isize) -> Self {
        self.axis = Some(vec![axis]);
        self
    }
    /// Several kept axes (a mean per position of each), e.g. `[1, 2]` for `[batch, h, w]`.
    pub fn axes(mut self, axes: &[isize]) -> Self {
        self.axis = Some(axes.to_vec());
        self
    }
    /// Keras `axis=None`: one scalar mean and variance over all values.
    pub fn axis_none(mut self) -> Self {
        self.axis = None;
        self
    }
    /// Given statistics instead of `adapt`: one value each (broadcast to every feature) or
    /// one per position of the kept axes (row-major). The layer then has no weights, as in
    /// Keras; the values are saved in the config.
    pub fn mean_variance(mut self, mean: &[f64], variance: &[f64]) -> Self {
        self.given_mean = Some(mean.to_vec());
        self.given_variance = Some(variance.to_vec());
        self
    }
    /// Denormalises instead: `mean + x * max(sqrt(var), 1e-7)`.
    pub fn invert(mut self, invert: bool) -> Self {
        self.invert = invert;
        self
    }
    /// Sets the layer's name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut l = Self::new();
        l.name = cfg_name(config);
        match config.get("axis") {
            None => {}
            Some(serde_json::Value::Null) => l.axis = None,
            Some(a) if a.is_i64() => l.axis = Some(vec![a.as_i64().unwrap_or(-1) as isize]),
            Some(a) => {
                let v: Vec<isize> = serde_json::from_value(a.clone()).map_err(|_| {
                    Error::config("Normalization.axis", "expected an integer, a list or null")
                })?;
                l.axis = if v.is_empty() { None } else { Some(v) };
            }
        }
        let floats = |key: &str| -> Result<Option<Vec<f64>>> {
            match config.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(v) if v.is_number() => Ok(v.as_f64().map(|f| vec![f])),
                Some(v) => serde_json::from_value::<Vec<f64>>(v.clone())
                    .map(Some)
                    .map_err(|_| {
                        Error::config(
                            format!("Normalization.{key}"),
                            "expected a number or a list of numbers",
                        )
                    }),
            }
        };
        l.given_mean = floats("mean")?;
        l.given_variance = floats("variance")?;
        l.invert = config
            .get("invert")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        Ok(l)
    }

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

    fn label(&self) -> &str {
        label_or(&self.name, "normalization")
    }

    /// Resolves the kept axes for a per-sample shape (full rank = per_sample + 1).
    fn kept_axes(&self, per_sample: &[usize]) -> Result<Vec<usize>> {
        let rank = per_sample.len() as isize + 1;
        let mut keep = Vec::new();
        for &a in self.axis.as_deref().unwrap_or(&[]) {
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
        if self.given_mean.is_some() {
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
            _ => return Err(super::conv::not_built(&label)),
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
        if self.given_mean.is_some() || self.adapted.load(Ordering::Relaxed) {
            return Ok(());
        }
        let counted = match &self.count {
            Some(c) => c.item()? > 0.0,
            None => return Err(super::conv::not_built(self.label())),
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
    preprocessing_layer_methods!("Normalization");
    fn built(&self) -> bool {
        self.mean.is_some()
    }
    fn validate(&self) -> Result<()> {
        match (&self.given_mean, &self.given_variance) {
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
        let n = if self.given_mean.is_some() {
            crate::limits::reserve_unsaved(self.label(), "mean/variance", &kept_shape)?
        } else {
            crate::limits::reserve_weight(&kept_shape)?;
            crate::limits::reserve_weight(&[])?;
            crate::limits::reserve_weight(&kept_shape)?
        };
        self.keep = keep;
        self.input_shape = Some(input_shape.to_vec());
        match (&self.given_mean, &self.given_variance) {
            (Some(m), Some(v)) => {
                let expand = |x: &[f64], what: &str| -> Result<Vec<f64>> {
                    if x.len() == 1 {
                        Ok(vec![x[0]; n])
                    } else if x.len() == n {
                        Ok(x.to_vec())
                    } else {
                        Err(Error::invalid(
                            &self.name,
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
            _ => return Err(super::conv::not_built(self.label())),
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
        if self.invert {
            mean.add(&x.mul(&std)?)
        } else {
            x.sub(&mean)?.div(&std)
        }
    }
    fn weights(&self) -> Vec<Weight<B>> {
        if self.given_mean.is_some() {
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
        json!({
            "name": self.name,
            "axis": self.axis,
            "mean": self.given_mean,
            "variance": self.given_variance,
            "invert": self.invert,
        })
    }
}

// ------------------------------------------------------------------ Discretization

/// Buckets numbers by boundaries (Keras `Discretization`): index `i` where
/// `bounds[i-1] <= x < bounds[i]` (numpy `digitize`), encoded by `output_mode` (default
/// int, `i64`). Computed on the engine by comparing with the boundaries.
///
/// Boundaries are given ([`Discretization::with_bin_boundaries`]) or learned by
/// [`Discretization::adapt`] for `num_bins` bins. `adapt` reproduces Keras' algorithm
/// exactly: the values (as `f32`) are summarised into about `1/epsilon` weighted points
/// (`summarize`), merged batch by batch (`merge_summaries`, a stable sort here where numpy
/// uses an unstable one: it only matters for equal values from different batches) and
/// compressed to `num_bins` quantiles by linear interpolation of the cumulative weights
/// (`np.interp`, reproduced with its tie rules). These are *approximate* quantiles: they
/// match Keras to the last bit, and are within about `epsilon` (in rank) of
/// `np.quantile`. The boundaries are saved in the config.
#[derive(Debug)]
pub struct Discretization<B: Backend> {
    bin_boundaries: Option<Vec<f64>>,
    num_bins: Option<usize>,
    epsilon: f64,
    output_mode: OutputMode,
    name: String,
    built: bool,
    device: Device,
    bounds: Option<Tensor<B>>,
}

impl<B: Backend> Discretization<B> {
    /// A layer with fixed, increasing boundaries (`n` boundaries give `n + 1` bins). They
    /// are kept at `f32` precision, the precision of the comparison (as Keras/TensorFlow).
    pub fn with_bin_boundaries(bounds: &[f64]) -> Self {
        Self::raw(Some(to_f32_precision(bounds)), None)
    }
    /// A layer to `adapt` into `num_bins` bins of about equal counts.
    pub fn with_num_bins(num_bins: usize) -> Self {
        Self::raw(None, Some(num_bins))
    }
    fn raw(bin_boundaries: Option<Vec<f64>>, num_bins: Option<usize>) -> Self {
        Self {
            bin_boundaries,
            num_bins,
            epsilon: 0.01,
            output_mode: OutputMode::Int,
            name: String::new(),
            built: false,
            device: Device::Cpu,
            bounds: None,
        }
    }
    /// Accuracy of the `adapt` summary (default 0.01, as Keras).
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }
    /// Output encoding (default [`OutputMode::Int`]).
    pub fn output_mode(mut self, mode: OutputMode) -> Self {
        self.output_mode = mode;
        self
    }
    /// Sets the layer's name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
    /// The boundaries (given or adapted); `None` before `adapt`.
    pub fn bin_boundaries(&self) -> Option<&[f64]> {
        self.bin_boundaries.as_deref()
    }
    fn label(&self) -> &str {
        label_or(&self.name, "discretization")
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let bounds = match config.get("bin_boundaries") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(serde_json::from_value::<Vec<f64>>(v.clone()).map_err(|_| {
                Error::config(
                    "Discretization.bin_boundaries",
                    "expected a list of numbers",
                )
            })?),
        };
        let num_bins = super::cfg_opt_size(config, "Discretization", "num_bins")?;
        let mut l = Self::raw(bounds, num_bins);
        l.name = cfg_name(config);
        if let Some(e) = config.get("epsilon").and_then(|v| v.as_f64()) {
            l.epsilon = e;
        }
        l.output_mode = cfg_mode(config, "Discretization", OutputMode::Int)?;
        Ok(l)
    }

    /// Learns `num_bins - 1` boundaries from `data` (any shape), as Keras' `adapt`.
    ///
    /// # Errors
    /// A layer built with boundaries, empty data, NaN values.
    pub fn adapt(&mut self, data: &Tensor<B>) -> Result<()> {
        self.adapt_batches(std::iter::once(data.clone()))
    }

    /// [`Discretization::adapt`] over several batches (Keras `adapt` on an iterable).
    ///
    /// # Errors
    /// As [`Discretization::adapt`].
    pub fn adapt_batches<I>(&mut self, batches: I) -> Result<()>
    where
        I: IntoIterator<Item = Tensor<B>>,
    {
        let label = self.label().to_string();
        let Some(num_bins) = self.num_bins else {
            return Err(Error::invalid(
                &label,
                "adapt",
                "this layer was given bin_boundaries; build it with num_bins to adapt",
            ));
        };
        let mut summary: (Vec<f32>, Vec<f32>) = (Vec::new(), Vec::new());
        let mut any = false;
        for b in batches {
            let values: Vec<f32> = b.to_vec_f64()?.into_iter().map(|v| v as f32).collect();
            if values.iter().any(|v| v.is_nan()) {
                return Err(Error::invalid(&label, "adapt data", "contains NaN"));
            }
            any |= !values.is_empty();
            let s = quantile_summary(values, self.epsilon);
            summary = merge_summaries(summary, s, self.epsilon);
        }
        if !any {
            return Err(Error::invalid(&label, "adapt data", "no values"));
        }
        let (vals, _) = compress_summary(summary, 1.0 / num_bins as f64);
        let n = vals.len().saturating_sub(1);
        self.bin_boundaries = Some(vals[..n].iter().map(|&v| v as f64).collect());
        if self.built {
            self.bounds = Some(self.bounds_tensor(self.device)?);
        }
        Ok(())
    }

    fn bounds_tensor(&self, device: Device) -> Result<Tensor<B>> {
        let b: Vec<f32> = self
            .bin_boundaries
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .map(|&v| v as f32)
            .collect();
        let n = b.len();
        Tensor::from_vec_on(b, &[n], device)
    }

    fn depth(&self) -> Option<usize> {
        self.bin_boundaries
            .as_ref()
            .map(|b| b.len() + 1)
            .or(self.num_bins)
    }
}

/// Rounds to `f32` (boundaries compare in `f32`; this also makes a JSON round trip exact).
fn to_f32_precision(v: &[f64]) -> Vec<f64> {
    v.iter().map(|&x| x as f32 as f64).collect()
}

/// Keras' `summarize`: sorted values, every `step`-th from `step - 1`, weight `step`.
fn quantile_summary(mut values: Vec<f32>, epsilon: f64) -> (Vec<f32>, Vec<f32>) {
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
fn merge_summaries(
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
fn compress_summary(summary: (Vec<f32>, Vec<f32>), epsilon: f64) -> (Vec<f32>, Vec<f32>) {
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
fn np_interp(x: &[f64], xp: &[f64], fp: &[f64]) -> Vec<f64> {
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

impl<B: Backend> Layer<B> for Discretization<B> {
    preprocessing_layer_methods!("Discretization");
    fn built(&self) -> bool {
        self.built
    }
    fn validate(&self) -> Result<()> {
        match (&self.bin_boundaries, self.num_bins) {
            (None, None) => {
                return Err(Error::invalid(
                    self.label(),
                    "bin_boundaries/num_bins",
                    "set one of them",
                ))
            }
            (None, Some(0)) => {
                return Err(Error::invalid(
                    self.label(),
                    "num_bins",
                    "must be at least 1",
                ))
            }
            _ => {}
        }
        if let Some(b) = &self.bin_boundaries {
            if b.windows(2).any(|w| w[0] >= w[1]) || b.iter().any(|v| !v.is_finite()) {
                return Err(Error::invalid(
                    self.label(),
                    "bin_boundaries",
                    format!("must be finite and strictly increasing, got {b:?}"),
                ));
            }
        }
        if !(self.epsilon > 0.0 && self.epsilon < 1.0) {
            return Err(Error::invalid(
                self.label(),
                "epsilon",
                format!("must be in (0, 1), got {}", self.epsilon),
            ));
        }
        Ok(())
    }
    fn build(&mut self, _input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        Layer::<B>::validate(self)?;
        self.device = ctx.device;
        self.built = true;
        if self.bin_boundaries.is_some() {
            self.bounds = Some(self.bounds_tensor(ctx.device)?);
        }
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let depth = self.depth().unwrap_or(1);
        Ok(self.output_mode.output_shape(input_shape, depth))
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        check_rank1(self.label(), x)?;
        let Some(b) = &self.bin_boundaries else {
            return Err(Error::NotReady {
                op: format!("{}.call", self.label()),
                needed: "adapted".into(),
                hint: "call adapt(data) first, or give bin_boundaries".into(),
            });
        };
        let depth = b.len() + 1;
        let bounds = match &self.bounds {
            Some(t) if t.device() == x.device() => t.clone(),
            _ => self.bounds_tensor(x.device())?,
        };
        let x = x.to_dtype(DType::F32)?;
        let idx = if b.is_empty() {
            x.zeros_like()?.to_dtype(DType::I64)?
        } else {
            x.unsqueeze(-1)?
                .ge(&bounds)?
                .to_dtype(DType::F32)?
                .sum(&[-1], false)?
                .to_dtype(DType::I64)?
        };
        encode(&idx, self.output_mode, depth)
    }
    fn get_config(&self) -> serde_json::Value {
        json!({
            "name": self.name,
            "bin_boundaries": self.bin_boundaries,
            "num_bins": self.num_bins,
            "epsilon": self.epsilon,
            "output_mode": self.output_mode.as_str(),
        })
    }
}

// ------------------------------------------------------------------ CategoryEncoding

/// Encodes integer categories in `[0, num_tokens)` (Keras `CategoryEncoding`): `one_hot`,
/// `multi_hot` (default) or `count`, as `f32`, on the engine. Values are checked on the
/// host first (one device-to-host copy per call): one outside the range is an error naming
/// the layer, as in Keras.
#[derive(Debug)]
pub struct CategoryEncoding {
    num_tokens: usize,
    output_mode: OutputMode,
    name: String,
    built: bool,
}

impl CategoryEncoding {
    /// `num_tokens` categories, Keras' default mode `multi_hot`.
    pub fn new(num_tokens: usize) -> Self {
        Self {
            num_tokens,
            output_mode: OutputMode::MultiHot,
            name: String::new(),
            built: false,
        }
    }
    /// Output encoding (`OneHot`, `MultiHot` or `Count`).
    pub fn output_mode(mut self, mode: OutputMode) -> Self {
        self.output_mode = mode;
        self
    }
    /// Sets the layer's name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
    fn label(&self) -> &str {
        label_or(&self.name, "category_encoding")
    }
    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let n = super::cfg_size(config, "CategoryEncoding", "num_tokens")?;
        let mut l = Self::new(n);
        l.name = cfg_name(config);
        l.output_mode = cfg_mode(config, "CategoryEncoding", OutputMode::MultiHot)?;
        Ok(l)
    }
}

impl<B: Backend> Layer<B> for CategoryEncoding {
    preprocessing_layer_methods!("CategoryEncoding");
    fn built(&self) -> bool {
        self.built
    }
    fn validate(&self) -> Result<()> {
        if self.num_tokens == 0 {
            return Err(Error::invalid(
                self.label(),
                "num_tokens",
                "must be at least 1",
            ));
        }
        if self.output_mode == OutputMode::Int {
            return Err(Error::invalid(
                self.label(),
                "output_mode",
                "must be one_hot, multi_hot or count",
            ));
        }
        Ok(())
    }
    fn build(&mut self, _input_shape: &[usize], _ctx: &mut BuildContext) -> Result<()> {
        Layer::<B>::validate(self)?;
        self.built = true;
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(self.output_mode.output_shape(input_shape, self.num_tokens))
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        check_rank1(self.label(), x)?;
        let values = integer_values(self.label(), x)?;
        if let Some(bad) = values
            .iter()
            .find(|&&v| v < 0 || v >= self.num_tokens as i64)
        {
            return Err(Error::invalid(
                self.label(),
                "input",
                format!(
                    "values must be in [0, {}) (num_tokens), got {bad} in input of shape {:?}",
                    self.num_tokens,
                    x.shape()
                ),
            ));
        }
        let idx = x.to_dtype(DType::I64)?;
        encode(&idx, self.output_mode, self.num_tokens)
    }
    fn get_config(&self) -> serde_json::Value {
        json!({
            "name": self.name,
            "num_tokens": self.num_tokens,
            "output_mode": self.output_mode.as_str(),
        })
    }
}

// ------------------------------------------------------------------ hashing functions

const K0: u64 = 0xc3a5_c85c_97cb_3127;
const K1: u64 = 0xb492_b66f_be98_f273;
const K2: u64 = 0x9ae1_6a3b_2f90_404f;

fn fetch64(s: &[u8], i: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&s[i..i + 8]);
    u64::from_le_bytes(b)
}
fn fetch32(s: &[u8], i: usize) -> u64 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&s[i..i + 4]);
    u32::from_le_bytes(b) as u64
}
fn shift_mix(v: u64) -> u64 {
    v ^ (v >> 47)
}
fn hash_len16(u: u64, v: u64, mul: u64) -> u64 {
    let mut a = (u ^ v).wrapping_mul(mul);
    a ^= a >> 47;
    let mut b = (v ^ a).wrapping_mul(mul);
    b ^= b >> 47;
    b.wrapping_mul(mul)
}
fn hash_len_0_to_16(s: &[u8]) -> u64 {
    let len = s.len();
    if len >= 8 {
        let mul = K2.wrapping_add(len as u64 * 2);
        let a = fetch64(s, 0).wrapping_add(K2);
        let b = fetch64(s, len - 8);
        let c = b.rotate_right(37).wrapping_mul(mul).wrapping_add(a);
        let d = a.rotate_right(25).wrapping_add(b).wrapping_mul(mul);
        return hash_len16(c, d, mul);
    }
    if len >= 4 {
        let mul = K2.wrapping_add(len as u64 * 2);
        let a = fetch32(s, 0);
        return hash_len16((len as u64).wrapping_add(a << 3), fetch32(s, len - 4), mul);
    }
    if len > 0 {
        let (a, b, c) = (s[0] as u32, s[len >> 1] as u32, s[len - 1] as u32);
        let y = a.wrapping_add(b << 8);
        let z = (len as u32).wrapping_add(c << 2);
        return shift_mix((y as u64).wrapping_mul(K2) ^ (z as u64).wrapping_mul(K0))
            .wrapping_mul(K2);
    }
    K2
}
fn hash_len_17_to_32(s: &[u8]) -> u64 {
    let len = s.len();
    let mul = K2.wrapping_add(len as u64 * 2);
    let a = fetch64(s, 0).wrapping_mul(K1);
    let b = fetch64(s, 8);
    let c = fetch64(s, len - 8).wrapping_mul(mul);
    let d = fetch64(s, len - 16).wrapping_mul(K2);
    hash_len16(
        a.wrapping_add(b)
            .rotate_right(43)
            .wrapping_add(c.rotate_right(30))
            .wrapping_add(d),
        a.wrapping_add(b.wrapping_add(K2).rotate_right(18))
            .wrapping_add(c),
        mul,
    )
}
fn hash_len_33_to_64(s: &[u8]) -> u64 {
    let len = s.len();
    let mul = K2.wrapping_add(len as u64 * 2);
    let a = fetch64(s, 0).wrapping_mul(K2);
    let b = fetch64(s, 8);
    let c = fetch64(s, len - 8).wrapping_mul(mul);
    let d = fetch64(s, len - 16).wrapping_mul(K2);
    let y = a
        .wrapping_add(b)
        .rotate_right(43)
        .wrapping_add(c.rotate_right(30))
        .wrapping_add(d);
    let z = hash_len16(
        y,
        a.wrapping_add(b.wrapping_add(K2).rotate_right(18))
            .wrapping_add(c),
        mul,
    );
    let e = fetch64(s, 16).wrapping_mul(mul);
    let f = fetch64(s, 24);
    let g = y.wrapping_add(fetch64(s, len - 32)).wrapping_mul(mul);
    let h = z.wrapping_add(fetch64(s, len - 24)).wrapping_mul(mul);
    hash_len16(
        e.wrapping_add(f)
            .rotate_right(43)
            .wrapping_add(g.rotate_right(30))
            .wrapping_add(h),
        e.wrapping_add(f.wrapping_add(a).rotate_right(18))
            .wrapping_add(g),
        mul,
    )
}
fn weak_hash_len32_with_seeds(s: &[u8], i: usize, a: u64, b: u64) -> (u64, u64) {
    let (w, x, y, z) = (
        fetch64(s, i),
        fetch64(s, i + 8),
        fetch64(s, i + 16),
        fetch64(s, i + 24),
    );
    let mut a = a.wrapping_add(w);
    let mut b = b.wrapping_add(a).wrapping_add(z).rotate_right(21);
    let c = a;
    a = a.wrapping_add(x).wrapping_add(y);
    b = b.wrapping_add(a.rotate_right(44));
    (a.wrapping_add(z), b.wrapping_add(c))
}

/// FarmHash `Fingerprint64` (`farmhashna::Hash64`, google/farmhash), the hash behind
/// TensorFlow's `tf.strings.to_hash_bucket_fast` and so Keras' `Hashing` without salt and
/// the OOV buckets of `StringLookup`. Stable across platforms and versions.
///
/// ```
/// // Keras: Hashing(num_bins=3) on ["A", "B", "C", "D", "E"] gives [1, 0, 1, 1, 2]
/// use stratanet::layers::fingerprint64;
/// let bins: Vec<u64> = ["A", "B", "C", "D", "E"].iter().map(|s| fingerprint64(s.as_bytes()) % 3).collect();
/// assert_eq!(bins, vec![1, 0, 1, 1, 2]);
/// ```
pub fn fingerprint64(s: &[u8]) -> u64 {
    let len = s.len();
    if len <= 16 {
        return hash_len_0_to_16(s);
    }
    if len <= 32 {
        return hash_len_17_to_32(s);
    }
    if len <= 64 {
        return hash_len_33_to_64(s);
    }
    let seed: u64 = 81;
    let mut x = seed;
    let mut y = seed.wrapping_mul(K1).wrapping_add(113);
    let mut z = shift_mix(y.wrapping_mul(K2).wrapping_add(113)).wrapping_mul(K2);
    let mut v = (0u64, 0u64);
    let mut w = (0u64, 0u64);
    x = x.wrapping_mul(K2).wrapping_add(fetch64(s, 0));
    let end = ((len - 1) / 64) * 64;
    let last64 = end + ((len - 1) & 63) - 63;
    let mut p = 0usize;
    loop {
        x = x
            .wrapping_add(y)
            .wrapping_add(v.0)
            .wrapping_add(fetch64(s, p + 8))
            .rotate_right(37)
            .wrapping_mul(K1);
        y = y
            .wrapping_add(v.1)
            .wrapping_add(fetch64(s, p + 48))
            .rotate_right(42)
            .wrapping_mul(K1);
        x ^= w.1;
        y = y.wrapping_add(v.0).wrapping_add(fetch64(s, p + 40));
        z = z.wrapping_add(w.0).rotate_right(33).wrapping_mul(K1);
        v = weak_hash_len32_with_seeds(s, p, v.1.wrapping_mul(K1), x.wrapping_add(w.0));
        w = weak_hash_len32_with_seeds(
            s,
            p + 32,
            z.wrapping_add(w.1),
            y.wrapping_add(fetch64(s, p + 16)),
        );
        std::mem::swap(&mut z, &mut x);
        p += 64;
        if p == end {
            break;
        }
    }
    let mul = K1.wrapping_add((z & 0xff) << 1);
    p = last64;
    w.0 = w.0.wrapping_add(((len - 1) & 63) as u64);
    v.0 = v.0.wrapping_add(w.0);
    w.0 = w.0.wrapping_add(v.0);
    x = x
        .wrapping_add(y)
        .wrapping_add(v.0)
        .wrapping_add(fetch64(s, p + 8))
        .rotate_right(37)
        .wrapping_mul(mul);
    y = y
        .wrapping_add(v.1)
        .wrapping_add(fetch64(s, p + 48))
        .rotate_right(42)
        .wrapping_mul(mul);
    x ^= w.1.wrapping_mul(9);
    y = y
        .wrapping_add(v.0.wrapping_mul(9))
        .wrapping_add(fetch64(s, p + 40));
    z = z.wrapping_add(w.0).rotate_right(33).wrapping_mul(mul);
    v = weak_hash_len32_with_seeds(s, p, v.1.wrapping_mul(mul), x.wrapping_add(w.0));
    w = weak_hash_len32_with_seeds(
        s,
        p + 32,
        z.wrapping_add(w.1),
        y.wrapping_add(fetch64(s, p + 16)),
    );
    std::mem::swap(&mut z, &mut x);
    hash_len16(
        hash_len16(v.0, w.0, mul)
            .wrapping_add(shift_mix(y).wrapping_mul(K0))
            .wrapping_add(z),
        hash_len16(v.1, w.1, mul).wrapping_add(x),
        mul,
    )
}

/// SipHash-2-4 with the 128-bit key `[k0, k1]`, the keyed hash of TensorFlow's
/// `tf.strings.to_hash_bucket_strong` (Keras' `Hashing(salt=...)`).
pub fn siphash24(key: [u64; 2], data: &[u8]) -> u64 {
    let mut v0 = 0x736f_6d65_7073_6575u64 ^ key[0];
    let mut v1 = 0x646f_7261_6e64_6f6du64 ^ key[1];
    let mut v2 = 0x6c79_6765_6e65_7261u64 ^ key[0];
    let mut v3 = 0x7465_6462_7974_6573u64 ^ key[1];
    let round = |v0: &mut u64, v1: &mut u64, v2: &mut u64, v3: &mut u64| {
        *v0 = v0.wrapping_add(*v1);
        *v1 = v1.rotate_left(13) ^ *v0;
        *v0 = v0.rotate_left(32);
        *v2 = v2.wrapping_add(*v3);
        *v3 = v3.rotate_left(16) ^ *v2;
        *v0 = v0.wrapping_add(*v3);
        *v3 = v3.rotate_left(21) ^ *v0;
        *v2 = v2.wrapping_add(*v1);
        *v1 = v1.rotate_left(17) ^ *v2;
        *v2 = v2.rotate_left(32);
    };
    let chunks = data.len() / 8;
    for i in 0..chunks {
        let m = fetch64(data, i * 8);
        v3 ^= m;
        round(&mut v0, &mut v1, &mut v2, &mut v3);
        round(&mut v0, &mut v1, &mut v2, &mut v3);
        v0 ^= m;
    }
    let mut last = (data.len() as u64 & 0xff) << 56;
    for (i, &byte) in data[chunks * 8..].iter().enumerate() {
        last |= (byte as u64) << (8 * i);
    }
    v3 ^= last;
    round(&mut v0, &mut v1, &mut v2, &mut v3);
    round(&mut v0, &mut v1, &mut v2, &mut v3);
    v0 ^= last;
    v2 ^= 0xff;
    for _ in 0..4 {
        round(&mut v0, &mut v1, &mut v2, &mut v3);
    }
    v0 ^ v1 ^ v2 ^ v3
}

// ------------------------------------------------------------------ Hashing

/// The `mask_value` of a [`Hashing`] layer: hashed to bin 0, other values to `1..num_bins`.
#[derive(Debug, Clone, PartialEq)]
pub enum MaskValue {
    /// For integer inputs (tensors).
    Int(i64),
    /// For string inputs ([`Hashing::hash_strings`]).
    Str(String),
}

/// Hashes values into `num_bins` bins (Keras `Hashing`), bit-identical to Keras/TensorFlow:
/// bin = `fingerprint64(s) % num_bins`, or `siphash24(salt, s) % num_bins` with a salt,
/// where integers are hashed as their decimal strings (floats are truncated to integers
/// first, as Keras). With a `mask_value`, the mask goes to bin 0 and other values to
/// `1 + hash % (num_bins - 1)`.
///
/// As a layer it hashes integer tensors (a host round trip in `call`; the encoding runs on
/// the engine); strings are hashed on the host by [`Hashing::hash_strings`] /
/// [`Hashing::encode_strings`].
///
/// ```
/// use stratanet::layers::Hashing;
/// use stratanet::DefaultBackend as B;
/// # fn main() -> stratanet::Result<()> {
/// let h = Hashing::<B>::new(3);
/// assert_eq!(h.hash_strings(&["A", "B", "C", "D", "E"])?, vec![1, 0, 1, 1, 2]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Hashing<B: Backend> {
    num_bins: usize,
    mask_value: Option<MaskValue>,
    salt: Option<[u64; 2]>,
    output_mode: OutputMode,
    name: String,
    built: bool,
    _b: std::marker::PhantomData<fn() -> B>,
}

impl<B: Backend> Hashing<B> {
    /// `num_bins` bins, no mask, no salt, `int` output.
    pub fn new(num_bins: usize) -> Self {
        Self {
            num_bins,
            mask_value: None,
            salt: None,
            output_mode: OutputMode::Int,
            name: String::new(),
            built: false,
            _b: std::marker::PhantomData,
        }
    }
    /// A value hashed to bin 0.
    pub fn mask_value(mut self, mask: MaskValue) -> Self {
        self.mask_value = Some(mask);
        self
    }
    /// Keyed SipHash with key `[salt, salt]` (Keras' single-integer salt).
    pub fn salt(mut self, salt: u64) -> Self {
        self.salt = Some([salt, salt]);
        self
    }
    /// Keyed SipHash with the key `[k0, k1]`.
    pub fn salt_pair(mut self, k0: u64, k1: u64) -> Self {
        self.salt = Some([k0, k1]);
        self
    }
    /// Output encoding (default int).
    pub fn output_mode(mut self, mode: OutputMode) -> Self {
        self.output_mode = mode;
        self
    }
    /// Sets the layer's name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
    fn label(&self) -> &str {
        label_or(&self.name, "hashing")
    }

    fn check(&self) -> Result<()> {
        if self.num_bins == 0 {
            return Err(Error::invalid(
                self.label(),
                "num_bins",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    fn bin(&self, bytes: &[u8], masked: bool) -> i64 {
        let use_mask = self.mask_value.is_some() && self.num_bins > 1;
        if use_mask && masked {
            return 0;
        }
        let bins = if use_mask {
            self.num_bins - 1
        } else {
            self.num_bins
        } as u64;
        let h = match self.salt {
            Some(k) => siphash24(k, bytes),
            None => fingerprint64(bytes),
        };
        (h % bins) as i64 + i64::from(use_mask)
    }

    /// Bin of each string.
    ///
    /// # Errors
    /// `num_bins` of 0.
    pub fn hash_strings(&self, values: &[&str]) -> Result<Vec<i64>> {
        self.check()?;
        Ok(values
            .iter()
            .map(|s| {
                let masked = matches!(&self.mask_value, Some(MaskValue::Str(m)) if m == s);
                self.bin(s.as_bytes(), masked)
            })
            .collect())
    }

    /// Bin of each integer (hashed as its decimal string).
    ///
    /// # Errors
    /// `num_bins` of 0.
    pub fn hash_ints(&self, values: &[i64]) -> Result<Vec<i64>> {
        self.check()?;
        Ok(values
            .iter()
            .map(|v| {
                let masked = matches!(&self.mask_value, Some(MaskValue::Int(m)) if m == v);
                self.bin(v.to_string().as_bytes(), masked)
            })
            .collect())
    }

    /// Hashes strings laid out as `shape` (`[batch, ...]`, row-major) and encodes them by
    /// the output mode on `device`.
    ///
    /// # Errors
    /// `values.len()` not the product of `shape`, or engine errors.
    pub fn encode_strings(
        &self,
        values: &[&str],
        shape: &[usize],
        device: Device,
    ) -> Result<Tensor<B>> {
        check_layout(self.label(), values.len(), shape)?;
        let idx = Tensor::<B>::from_vec_on(self.hash_strings(values)?, shape, device)?;
        encode(&idx, self.output_mode, self.num_bins)
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let n = super::cfg_size(config, "Hashing", "num_bins")?;
        let mut l = Self::new(n);
        l.name = cfg_name(config);
        l.output_mode = cfg_mode(config, "Hashing", OutputMode::Int)?;
        l.mask_value = match config.get("mask_value") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(MaskValue::Str(s.clone())),
            Some(v) => Some(MaskValue::Int(v.as_i64().ok_or_else(|| {
                Error::config(
                    "Hashing.mask_value",
                    "expected an integer, a string or null",
                )
            })?)),
        };
        l.salt = match config.get("salt") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) if v.is_u64() => v.as_u64().map(|s| [s, s]),
            Some(v) => {
                let p: Vec<u64> = serde_json::from_value(v.clone()).map_err(|_| {
                    Error::config("Hashing.salt", "expected an integer or two integers")
                })?;
                match p.as_slice() {
                    [a, b] => Some([*a, *b]),
                    _ => {
                        return Err(Error::config(
                            "Hashing.salt",
                            "expected an integer or two integers",
                        ))
                    }
                }
            }
        };
        Ok(l)
    }
}

impl<B: Backend> Layer<B> for Hashing<B> {
    preprocessing_layer_methods!("Hashing");
    fn built(&self) -> bool {
        self.built
    }
    fn validate(&self) -> Result<()> {
        self.check()
    }
    fn build(&mut self, _input_shape: &[usize], _ctx: &mut BuildContext) -> Result<()> {
        self.check()?;
        self.built = true;
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(self.output_mode.output_shape(input_shape, self.num_bins))
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        check_rank1(self.label(), x)?;
        self.check()?;
        // Keras compares with the mask before truncating floats to integers.
        let bins: Vec<i64> = if x.dtype() == DType::I64 {
            self.hash_ints(&x.to_vec_i64()?)?
        } else {
            let mask = match &self.mask_value {
                Some(MaskValue::Int(m)) => Some(*m as f64),
                _ => None,
            };
            x.to_vec_f64()?
                .into_iter()
                .map(|v| self.bin((v as i64).to_string().as_bytes(), Some(v) == mask))
                .collect()
        };
        let idx = Tensor::<B>::from_vec_on(bins, &x.shape(), x.device())?;
        encode(&idx, self.output_mode, self.num_bins)
    }
    fn get_config(&self) -> serde_json::Value {
        let mask = match &self.mask_value {
            None => serde_json::Value::Null,
            Some(MaskValue::Int(i)) => json!(i),
            Some(MaskValue::Str(s)) => json!(s),
        };
        json!({
            "name": self.name,
            "num_bins": self.num_bins,
            "mask_value": mask,
            "salt": self.salt.map(|k| vec![k[0], k[1]]),
            "output_mode": self.output_mode.as_str(),
        })
    }
}

// ------------------------------------------------------------------ lookup core

/// Token types of the lookup tables.
pub(crate) trait LookupToken:
    Clone + Eq + Hash + Ord + std::fmt::Debug + serde::Serialize
{
    /// OOV bucket when there are several OOV indices.
    fn oov_bucket(&self, n: usize) -> i64;
}
impl LookupToken for i64 {
    fn oov_bucket(&self, n: usize) -> i64 {
        self.rem_euclid(n as i64)
    }
}
impl LookupToken for String {
    fn oov_bucket(&self, n: usize) -> i64 {
        (fingerprint64(self.as_bytes()) % n as u64) as i64
    }
}

/// Index layout and vocabulary shared by `IntegerLookup` and `StringLookup`.
#[derive(Debug, Clone)]
pub(crate) struct LookupCore<T: LookupToken> {
    pub(crate) layer: &'static str,
    pub(crate) max_tokens: Option<usize>,
    pub(crate) num_oov_indices: usize,
    pub(crate) mask_token: Option<T>,
    pub(crate) oov_token: T,
    pub(crate) output_mode: OutputMode,
    pub(crate) pad_to_max_tokens: bool,
    /// Learned or given tokens (no mask/OOV).
    pub(crate) tokens: Option<Vec<T>>,
    pub(crate) index: HashMap<T, i64>,
    pub(crate) counts: HashMap<T, u64>,
}

impl<T: LookupToken> LookupCore<T> {
    pub(crate) fn new(layer: &'static str, oov_token: T) -> Self {
        Self {
            layer,
            max_tokens: None,
            num_oov_indices: 1,
            mask_token: None,
            oov_token,
            output_mode: OutputMode::Int,
            pad_to_max_tokens: false,
            tokens: None,
            index: HashMap::new(),
            counts: HashMap::new(),
        }
    }
    pub(crate) fn oov_start(&self) -> usize {
        usize::from(self.mask_token.is_some() && self.output_mode == OutputMode::Int)
    }
    pub(crate) fn token_start(&self) -> usize {
        self.oov_start() + self.num_oov_indices
    }
    pub(crate) fn vocabulary_size(&self) -> usize {
        self.token_start() + self.tokens.as_ref().map_or(0, |t| t.len())
    }
    pub(crate) fn depth(&self) -> usize {
        match (self.pad_to_max_tokens, self.max_tokens) {
            (true, Some(m)) => m,
            _ => self.vocabulary_size(),
        }
    }
    pub(crate) fn validate(&self, name: &str) -> Result<()> {
        if let Some(m) = self.max_tokens {
            if m <= 1 {
                return Err(Error::invalid(
                    name,
                    "max_tokens",
                    format!("must be > 1, got {m}"),
                ));
            }
        }
        if self.pad_to_max_tokens && self.max_tokens.is_none() {
            return Err(Error::invalid(
                name,
                "pad_to_max_tokens",
                "needs max_tokens",
            ));
        }
        Ok(())
    }
    pub(crate) fn vocabulary(&self) -> Vec<T> {
        let mut v = Vec::new();
        if let (Some(m), 1) = (&self.mask_token, self.oov_start()) {
            v.push(m.clone());
        }
        v.extend(std::iter::repeat_n(
            self.oov_token.clone(),
            self.num_oov_indices,
        ));
        v.extend(self.tokens.iter().flatten().cloned());
        v
    }
    /// Sets a vocabulary as Keras' `set_vocabulary` (a leading mask/OOV prefix is dropped).
    pub(crate) fn set_vocabulary(&mut self, name: &str, vocab: Vec<T>) -> Result<()> {
        if vocab.is_empty() {
            return Err(Error::invalid(name, "vocabulary", "is empty"));
        }
        let special: Vec<T> = {
            let mut s = Vec::new();
            if let (Some(m), 1) = (&self.mask_token, self.oov_start()) {
                s.push(m.clone());
            }
            s.extend(std::iter::repeat_n(
                self.oov_token.clone(),
                self.num_oov_indices,
            ));
            s
        };
        let tokens: Vec<T> =
            if vocab.len() >= special.len() && vocab[..special.len()] == special[..] {
                vocab[special.len()..].to_vec()
            } else {
                vocab
            };
        let mut seen = std::collections::HashSet::new();
        let repeated: Vec<&T> = tokens.iter().filter(|t| !seen.insert(*t)).collect();
        if !repeated.is_empty() {
            return Err(Error::invalid(
                name,
                "vocabulary",
                format!("has repeated terms {repeated:?}"),
            ));
        }
        if let Some(m) = &self.mask_token {
            if tokens.contains(m) {
                return Err(Error::invalid(
                    name,
                    "vocabulary",
                    format!("contains the mask token {m:?}; leave it out (it gets index 0)"),
                ));
            }
        }
        let size = self.token_start() + tokens.len();
        if let Some(m) = self.max_tokens {
            if size > m {
                return Err(Error::invalid(
                    name,
                    "vocabulary",
                    format!("has size {size} with special tokens, above max_tokens {m}"),
                ));
            }
        }
        self.install(tokens);
        Ok(())
    }
    pub(crate) fn install(&mut self, tokens: Vec<T>) {
        let start = self.token_start() as i64;
        self.index = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), start + i as i64))
            .collect();
        self.tokens = Some(tokens);
    }
    pub(crate) fn count(&mut self, token: &T) {
        *self.counts.entry(token.clone()).or_insert(0) += 1;
    }
    /// Learns the vocabulary from `tokens` (counted, then [`LookupCore::finalize`]),
    /// replacing an earlier one.
    pub(crate) fn adapt<I: IntoIterator<Item = T>>(&mut self, tokens: I) {
        self.counts.clear();
        for t in tokens {
            *self.counts.entry(t).or_insert(0) += 1;
        }
        self.finalize();
    }
    /// Keras' `finalize_state`: drop mask and OOV tokens, sort by count descending then
    /// token descending, keep `max_tokens - token_start`.
    pub(crate) fn finalize(&mut self) {
        let mut counts: Vec<(T, u64)> = std::mem::take(&mut self.counts).into_iter().collect();
        counts.retain(|(t, _)| Some(t) != self.mask_token.as_ref() && *t != self.oov_token);
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
        if let Some(m) = self.max_tokens {
            counts.truncate(m.saturating_sub(self.token_start()));
        }
        self.install(counts.into_iter().map(|(t, _)| t).collect());
    }
    pub(crate) fn ready(&self, name: &str) -> Result<()> {
        if self.tokens.is_none() {
            return Err(Error::NotReady {
                op: format!("{name}.lookup"),
                needed: "given a vocabulary".into(),
                hint: "call adapt(data) or set the vocabulary first".into(),
            });
        }
        Ok(())
    }
    /// Index of a token. In non-int modes the mask maps to -1 (encoded as a zero row).
    pub(crate) fn lookup(&self, name: &str, token: Option<&T>) -> Result<i64> {
        let Some(token) = token else {
            return self.oov(name, None);
        };
        if self.mask_token.as_ref() == Some(token) {
            return Ok(if self.output_mode == OutputMode::Int {
                0
            } else {
                -1
            });
        }
        match self.index.get(token) {
            Some(&i) => Ok(i),
            None => self.oov(name, Some(token)),
        }
    }
    pub(crate) fn oov(&self, name: &str, token: Option<&T>) -> Result<i64> {
        let start = self.oov_start() as i64;
        match (self.num_oov_indices, token) {
            (0, _) => Err(Error::invalid(
                name,
                "input",
                format!(
                    "{} is not in the vocabulary and num_oov_indices is 0 (set num_oov_indices(1) to map unknown values to an OOV index)",
                    token.map_or("a missing value".to_string(), |t| format!("{t:?}"))
                ),
            )),
            (1, _) | (_, None) => Ok(start),
            (n, Some(t)) => Ok(start + t.oov_bucket(n)),
        }
    }
    /// Token of an index (Keras `invert`): 0 is the mask when there is one, vocabulary
    /// indices give their token, everything else the OOV token.
    pub(crate) fn invert(&self, index: i64) -> T {
        if let (Some(m), 1, 0) = (&self.mask_token, self.oov_start(), index) {
            return m.clone();
        }
        let start = self.token_start() as i64;
        self.tokens
            .as_ref()
            .and_then(|t| {
                if index >= start {
                    t.get((index - start) as usize)
                } else {
                    None
                }
            })
            .cloned()
            .unwrap_or_else(|| self.oov_token.clone())
    }
    pub(crate) fn config(&self, name: &str) -> serde_json::Value {
        json!({
            "name": name,
            "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "mask_token": self.mask_token,
            "oov_token": self.oov_token,
            "output_mode": self.output_mode.as_str(),
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary": self.tokens,
        })
    }
    pub(crate) fn read_config<F>(&mut self, config: &serde_json::Value, parse: F) -> Result<()>
    where
        F: Fn(&serde_json::Value) -> Option<T>,
    {
        let layer = self.layer;
        let bad = |k: &str, m: &str| Error::config(format!("{layer}.{k}"), m.to_string());
        if let Some(v) = config.get("max_tokens") {
            self.max_tokens = if v.is_null() {
                None
            } else {
                Some(crate::limits::size_value(
                    v,
                    &super::cfg_label(config, layer),
                    "max_tokens",
                    1,
                )?)
            };
        }
        if let Some(v) = config.get("num_oov_indices") {
            self.num_oov_indices = crate::limits::size_value(
                v,
                &super::cfg_label(config, layer),
                "num_oov_indices",
                0,
            )?;
        }
        if let Some(v) = config.get("mask_token") {
            self.mask_token = if v.is_null() {
                None
            } else {
                Some(parse(v).ok_or_else(|| bad("mask_token", "wrong type"))?)
            };
        }
        if let Some(v) = config.get("oov_token") {
            if !v.is_null() {
                self.oov_token = parse(v).ok_or_else(|| bad("oov_token", "wrong type"))?;
            }
        }
        self.output_mode = cfg_mode(config, layer, OutputMode::Int)?;
        self.pad_to_max_tokens = config
            .get("pad_to_max_tokens")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if let Some(v) = config.get("vocabulary") {
            if let Some(list) = v.as_array() {
                let toks = list
                    .iter()
                    .map(|t| parse(t).ok_or_else(|| bad("vocabulary", "wrong token type")))
                    .collect::<Result<Vec<T>>>()?;
                self.set_vocabulary(layer, toks)?;
            } else if !v.is_null() {
                return Err(bad("vocabulary", "expected a list or null"));
            }
        }
        Ok(())
    }
}

// ------------------------------------------------------------------ IntegerLookup

/// Maps integer values to contiguous indices (Keras `IntegerLookup`), or back with
/// `invert(true)`.
///
/// Index layout, as Keras: with a `mask_token` (and int output) index 0 is the mask, then
/// `num_oov_indices` OOV indices (default 1; with several, an unknown value `v` goes to
/// `floormod(v, num_oov_indices)`), then the vocabulary. `adapt` orders the vocabulary by
/// descending frequency, ties by descending value, and keeps `max_tokens` minus the special
/// indices; the mask and OOV tokens (default -1) are never learned. Inverted, index 0 is
/// the mask token and any index outside the vocabulary gives the OOV token.
///
/// Lookups run on the host (one round trip per call: `call` copies the values to the
/// host, looks them up and uploads the indices); the one-hot/multi-hot/count encoding
/// runs on the engine. The vocabulary is saved in the layer config.
#[derive(Debug)]
pub struct IntegerLookup<B: Backend> {
    core: LookupCore<i64>,
    invert: bool,
    name: String,
    built: bool,
    _b: std::marker::PhantomData<fn() -> B>,
}

impl<B: Backend> Default for IntegerLookup<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> IntegerLookup<B> {
    /// Keras defaults: no max_tokens, 1 OOV index, no mask token, OOV token -1, int output.
    pub fn new() -> Self {
        Self {
            core: LookupCore::new("IntegerLookup", -1),
            invert: false,
            name: String::new(),
            built: false,
            _b: std::marker::PhantomData,
        }
    }
    /// A layer with a given vocabulary (a leading mask/OOV prefix as returned by
    /// [`IntegerLookup::vocabulary`] is accepted and dropped).
    ///
    /// # Errors
    /// Empty vocabulary, repeated values, the mask among the values, or above `max_tokens`
    /// (set the other options first).
    pub fn with_vocabulary(mut self, vocabulary: &[i64]) -> Result<Self> {
        let name = self.label().to_string();
        self.core.set_vocabulary(&name, vocabulary.to_vec())?;
        Ok(self)
    }
    /// Largest vocabulary size, special indices included.
    pub fn max_tokens(mut self, max_tokens: usize) -> Self {
        self.core.max_tokens = Some(max_tokens);
        self
    }
    /// Number of OOV indices (default 1; 0 makes unknown values an error).
    pub fn num_oov_indices(mut self, n: usize) -> Self {
        self.core.num_oov_indices = n;
        self
    }
    /// A value that maps to index 0 (padding).
    pub fn mask_token(mut self, token: i64) -> Self {
        self.core.mask_token = Some(token);
        self
    }
    /// The value inverted OOV indices map to (default -1).
    pub fn oov_token(mut self, token: i64) -> Self {
        self.core.oov_token = token;
        self
    }
    /// Output encoding (default int).
    pub fn output_mode(mut self, mode: OutputMode) -> Self {
        self.core.output_mode = mode;
        self
    }
    /// Pads encoded outputs to `max_tokens` columns.
    pub fn pad_to_max_tokens(mut self, pad: bool) -> Self {
        self.core.pad_to_max_tokens = pad;
        self
    }
    /// Maps indices back to values.
    pub fn invert(mut self, invert: bool) -> Self {
        self.invert = invert;
        self
    }
    /// Sets the layer's name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
    fn label(&self) -> &str {
        label_or(&self.name, "integer_lookup")
    }
    /// Learns the vocabulary from the values of `data` (any shape; floats must be whole).
    ///
    /// # Errors
    /// A layer given a vocabulary, non-integer values.
    pub fn adapt(&mut self, data: &Tensor<B>) -> Result<()> {
        self.adapt_batches(std::iter::once(data.clone()))
    }
    /// [`IntegerLookup::adapt`] over several batches (counts add up).
    ///
    /// # Errors
    /// As [`IntegerLookup::adapt`].
    pub fn adapt_batches<I: IntoIterator<Item = Tensor<B>>>(&mut self, batches: I) -> Result<()> {
        let name = self.label().to_string();
        self.core.counts.clear();
        for b in batches {
            for v in integer_values(&name, &b)? {
                self.core.count(&v);
            }
        }
        self.core.finalize();
        Ok(())
    }
    /// Learns the vocabulary from host values (`None` = missing, not counted).
    pub fn adapt_values(&mut self, values: &[Option<i64>]) {
        self.core.adapt(values.iter().flatten().copied());
    }
    /// The vocabulary with the special tokens first (index order), as Keras
    /// `get_vocabulary()`.
    pub fn vocabulary(&self) -> Vec<i64> {
        self.core.vocabulary()
    }
    /// Number of indices (special ones included), the `one_hot` depth.
    pub fn vocabulary_size(&self) -> usize {
        self.core.vocabulary_size()
    }
    /// Indices of host values (`None`, a missing value, goes to the first OOV index).
    ///
    /// # Errors
    /// No vocabulary yet; an unknown value with `num_oov_indices(0)`.
    pub fn lookup(&self, values: &[Option<i64>]) -> Result<Vec<i64>> {
        let name = self.label();
        self.core.ready(name)?;
        values
            .iter()
            .map(|v| self.core.lookup(name, v.as_ref()))
            .collect()
    }
    /// Values of indices (the inverse of [`IntegerLookup::lookup`]).
    ///
    /// # Errors
    /// No vocabulary yet.
    pub fn invert_indices(&self, indices: &[i64]) -> Result<Vec<i64>> {
        self.core.ready(self.label())?;
        Ok(indices.iter().map(|&i| self.core.invert(i)).collect())
    }
    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut l = Self::new();
        l.name = cfg_name(config);
        l.invert = config
            .get("invert")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        l.core.read_config(config, |v| v.as_i64())?;
        Ok(l)
    }
}

impl<B: Backend> Layer<B> for IntegerLookup<B> {
    preprocessing_layer_methods!("IntegerLookup");
    fn built(&self) -> bool {
        self.built
    }
    fn validate(&self) -> Result<()> {
        self.core.validate(self.label())?;
        if self.invert && self.core.output_mode != OutputMode::Int {
            return Err(Error::invalid(
                self.label(),
                "output_mode",
                "must be int when invert is set",
            ));
        }
        Ok(())
    }
    fn build(&mut self, _input_shape: &[usize], _ctx: &mut BuildContext) -> Result<()> {
        Layer::<B>::validate(self)?;
        self.built = true;
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if self.core.output_mode != OutputMode::Int
            && self.core.tokens.is_none()
            && !self.core.pad_to_max_tokens
        {
            return Err(Error::NotReady {
                op: format!("{}.output_shape", self.label()),
                needed: "given a vocabulary".into(),
                hint: format!(
                    "output_mode {} needs the vocabulary size: adapt or set the vocabulary before adding the layer to a model",
                    self.core.output_mode.as_str()
                ),
            });
        }
        Ok(self
            .core
            .output_mode
            .output_shape(input_shape, self.core.depth()))
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        let name = self.label();
        check_rank1(name, x)?;
        self.core.ready(name)?;
        let values = integer_values(name, x)?;
        let out: Vec<i64> = if self.invert {
            values.iter().map(|&i| self.core.invert(i)).collect()
        } else {
            values
                .iter()
                .map(|v| self.core.lookup(name, Some(v)))
                .collect::<Result<_>>()?
        };
        let idx = Tensor::<B>::from_vec_on(out, &x.shape(), x.device())?;
        encode(&idx, self.core.output_mode, self.core.depth())
    }
    fn get_config(&self) -> serde_json::Value {
        let mut c = self.core.config(&self.name);
        c["invert"] = json!(self.invert);
        c["vocabulary_dtype"] = json!("int64");
        c
    }
}

// ------------------------------------------------------------------ StringLookup

/// Maps strings to integer indices on the host (Keras `StringLookup`); strings cannot be
/// engine tensors, so this is an encoder the input pipeline runs before the model, not a
/// model layer. Save it next to the model with [`StringLookup::get_config`] /
/// [`StringLookup::to_json`] (the vocabulary is in the config).
///
/// Index layout, as Keras: with a `mask_token` (and int output) index 0 is the mask, then
/// `num_oov_indices` OOV indices (default 1; with several an unknown string goes to
/// `fingerprint64(s) % num_oov_indices`, as Keras), then the vocabulary. `adapt` orders by
/// descending frequency, ties by descending string (bytewise), and never learns the mask or
/// the OOV token (default `"[UNK]"`). The empty string `""` is an ordinary token unless it
/// is the mask token, as in Keras.
///
/// Missing values (`None`, a concept Keras does not have): not counted by `adapt`, and
/// looked up as the first OOV index (an error with `num_oov_indices(0)`).
///
/// ```
/// use stratanet::layers::{StringLookup, OutputMode};
/// use stratanet::{Device, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut lookup = StringLookup::new();
/// lookup.adapt(&[Some("b"), Some("a"), Some("b"), None]);
/// assert_eq!(lookup.vocabulary(), vec!["[UNK]", "b", "a"]);
/// assert_eq!(lookup.lookup(&[Some("a"), Some("zebra"), None])?, vec![2, 0, 0]);
/// assert_eq!(lookup.invert(&[1, 2, 7])?, vec!["b", "a", "[UNK]"]);
/// let one_hot = lookup.clone().output_mode(OutputMode::OneHot)
///     .encode::<B>(&[Some("a"), Some("b")], Device::Cpu)?;
/// assert_eq!(one_hot.to_vec_f32()?, vec![0.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct StringLookup {
    core: LookupCore<String>,
    name: String,
}

impl Default for StringLookup {
    fn default() -> Self {
        Self::new()
    }
}

impl StringLookup {
    /// Keras defaults: no max_tokens, 1 OOV index, no mask, OOV token `"[UNK]"`, int output.
    pub fn new() -> Self {
        Self {
            core: LookupCore::new("StringLookup", "[UNK]".to_string()),
            name: "string_lookup".into(),
        }
    }
    /// Sets a vocabulary (a leading mask/OOV prefix as returned by
    /// [`StringLookup::vocabulary`] is accepted and dropped).
    ///
    /// # Errors
    /// Empty vocabulary, repeated strings, the mask among them, or above `max_tokens` (set
    /// the other options first).
    pub fn with_vocabulary(mut self, vocabulary: &[&str]) -> Result<Self> {
        let v = vocabulary.iter().map(|s| s.to_string()).collect();
        self.core.set_vocabulary(&self.name, v)?;
        Ok(self)
    }
    /// Largest vocabulary size, special indices included.
    pub fn max_tokens(mut self, max_tokens: usize) -> Self {
        self.core.max_tokens = Some(max_tokens);
        self
    }
    /// Number of OOV indices (default 1; 0 makes unknown strings an error).
    pub fn num_oov_indices(mut self, n: usize) -> Self {
        self.core.num_oov_indices = n;
        self
    }
    /// A string that maps to index 0 (padding), e.g. `""`.
    pub fn mask_token(mut self, token: &str) -> Self {
        self.core.mask_token = Some(token.to_string());
        self
    }
    /// The string OOV indices invert to (default `"[UNK]"`).
    pub fn oov_token(mut self, token: &str) -> Self {
        self.core.oov_token = token.to_string();
        self
    }
    /// Output encoding of [`StringLookup::encode`] (default int).
    pub fn output_mode(mut self, mode: OutputMode) -> Self {
        self.core.output_mode = mode;
        self
    }
    /// Pads encoded outputs to `max_tokens` columns.
    pub fn pad_to_max_tokens(mut self, pad: bool) -> Self {
        self.core.pad_to_max_tokens = pad;
        self
    }
    /// A name used in error messages and the config (default `string_lookup`).
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
    /// The output mode.
    pub fn mode(&self) -> OutputMode {
        self.core.output_mode
    }
    /// Learns the vocabulary (`None` values are not counted). Replaces an earlier one.
    pub fn adapt(&mut self, values: &[Option<&str>]) {
        self.adapt_chunks(std::iter::once(values));
    }
    /// [`StringLookup::adapt`] over several chunks (counts add up).
    pub fn adapt_chunks<'a, I>(&mut self, chunks: I)
    where
        I: IntoIterator<Item = &'a [Option<&'a str>]>,
    {
        let tokens = chunks.into_iter().flatten().flatten();
        self.core.adapt(tokens.map(|v| v.to_string()));
    }
    /// [`StringLookup::adapt`] on a string column of a [`crate::tabular::Table`].
    ///
    /// # Errors
    /// A column that is not a string column.
    pub fn adapt_column(&mut self, column: &crate::tabular::Column) -> Result<()> {
        let values = self.column_strs(column)?;
        self.adapt(&values);
        Ok(())
    }
    /// [`StringLookup::lookup`] of a string column.
    ///
    /// # Errors
    /// A column that is not a string column; as [`StringLookup::lookup`].
    pub fn lookup_column(&self, column: &crate::tabular::Column) -> Result<Vec<i64>> {
        self.lookup(&self.column_strs(column)?)
    }
    fn column_strs<'c>(&self, column: &'c crate::tabular::Column) -> Result<Vec<Option<&'c str>>> {
        column.as_str().ok_or_else(|| {
            Error::invalid(
                &self.name,
                "column",
                format!(
                    "expected a string column, got a {} column",
                    column.dtype().name()
                ),
            )
        })
    }
    /// Whether a vocabulary is set.
    pub fn is_adapted(&self) -> bool {
        self.core.tokens.is_some()
    }
    /// The vocabulary with the special tokens first (index order), as Keras
    /// `get_vocabulary()`.
    pub fn vocabulary(&self) -> Vec<String> {
        self.core.vocabulary()
    }
    /// The learned tokens only (Keras `get_vocabulary(include_special_tokens=False)`).
    pub fn tokens(&self) -> &[String] {
        self.core.tokens.as_deref().unwrap_or(&[])
    }
    /// Number of indices (special ones included): the one-hot depth.
    pub fn vocabulary_size(&self) -> usize {
        self.core.vocabulary_size()
    }
    /// Width of one encoded row (`vocabulary_size`, or `max_tokens` when padded).
    pub fn depth(&self) -> usize {
        self.core.depth()
    }
    /// Index of each string. In a non-int output mode the mask token gives -1 (an empty
    /// row when encoded).
    ///
    /// # Errors
    /// No vocabulary yet; an unknown string with `num_oov_indices(0)`.
    pub fn lookup(&self, values: &[Option<&str>]) -> Result<Vec<i64>> {
        self.core.ready(&self.name)?;
        values
            .iter()
            .map(|v| {
                let owned = v.map(|s| s.to_string());
                self.core.lookup(&self.name, owned.as_ref())
            })
            .collect()
    }
    /// Strings of indices (Keras `invert=True`): 0 is the mask token when there is one,
    /// vocabulary indices their string, anything else the OOV token.
    ///
    /// # Errors
    /// No vocabulary yet.
    pub fn invert(&self, indices: &[i64]) -> Result<Vec<String>> {
        self.core.ready(&self.name)?;
        Ok(indices.iter().map(|&i| self.core.invert(i)).collect())
    }
    /// Encodes one value per sample: `int` gives `i64 [n]`, the other modes `f32 [n, depth]`
    /// (one-hot, multi-hot and count coincide for one value).
    ///
    /// # Errors
    /// As [`StringLookup::lookup`].
    pub fn encode<B: Backend>(&self, values: &[Option<&str>], device: Device) -> Result<Tensor<B>> {
        self.encode_shaped(values, &[values.len()], device)
    }
    /// Encodes values laid out as `shape` (`[batch, ...]`, row-major): `int` gives `i64`
    /// of that shape; `one_hot` replaces a last axis of 1 by `depth` (else appends it);
    /// `multi_hot`/`count` reduce the last axis to `depth` (a `[batch]` layout is one value
    /// per sample).
    ///
    /// # Errors
    /// As [`StringLookup::lookup`]; `values.len()` not the product of `shape`.
    pub fn encode_shaped<B: Backend>(
        &self,
        values: &[Option<&str>],
        shape: &[usize],
        device: Device,
    ) -> Result<Tensor<B>> {
        check_layout(&self.name, values.len(), shape)?;
        let idx = Tensor::<B>::from_vec_on(self.lookup(values)?, shape, device)?;
        encode(&idx, self.core.output_mode, self.core.depth())
    }
    /// The config (Keras' `StringLookup` fields, the vocabulary included).
    pub fn get_config(&self) -> serde_json::Value {
        let mut c = self.core.config(&self.name);
        c["vocabulary_dtype"] = json!("string");
        c
    }
    /// Inverse of [`StringLookup::get_config`].
    ///
    /// # Errors
    /// On a malformed config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut l = Self::new();
        let n = cfg_name(config);
        if !n.is_empty() {
            l.name = n;
        }
        l.core
            .read_config(config, |v| v.as_str().map(|s| s.to_string()))?;
        l.core.validate(&l.name)?;
        Ok(l)
    }
    /// The config as a JSON string.
    pub fn to_json(&self) -> String {
        self.get_config().to_string()
    }
    /// Inverse of [`StringLookup::to_json`].
    ///
    /// # Errors
    /// Malformed JSON or config.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_config(&serde_json::from_str(text)?)
    }
}
