//! [`Discretization`]: bucketing by bin boundaries, learned as approximate quantiles.

use super::common::*;
use super::quantile_sketch::*;
use crate::backend::{Backend, DType, Device};
use crate::error::{Error, Result};
use crate::layers::{cfg_name, BuildContext, CallContext, Layer};
use crate::tensor::Tensor;
use serde_json::json;

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
    field_setters! {
        /// Accuracy of the `adapt` summary (default 0.01, as Keras).
        epsilon: epsilon = f64,
        /// Output encoding (default [`OutputMode::Int`]).
        output_mode: output_mode = OutputMode,
    }
    name_and_label!("discretization");
    /// The boundaries (given or adapted); `None` before `adapt`.
    pub fn bin_boundaries(&self) -> Option<&[f64]> {
        self.bin_boundaries.as_deref()
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
        let num_bins = crate::layers::cfg_opt_size(config, "Discretization", "num_bins")?;
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
