//! [`Discretization`]: bucketing by bin boundaries, learned as approximate quantiles.

use super::common::*;
use super::quantile_sketch::*;
use crate::backend::{Backend, DType, Device};
use crate::error::{Error, Result};
use crate::layers::config::{config_methods, config_setters, layer_config, to_json};
use crate::layers::{cfg_opt_size, BuildContext, CallContext, Layer};
use crate::tensor::Tensor;

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
    config: DiscretizationConfig,
    built: bool,
    device: Device,
    bounds: Option<Tensor<B>>,
}

layer_config! {
    /// The hyper-parameters of [`Discretization`] (Keras' names and defaults), with the
    /// boundaries given or learned by `adapt`.
    pub struct DiscretizationConfig for "Discretization" {
        /// Increasing boundaries (`n` give `n + 1` bins); `None` before `adapt`.
        bin_boundaries: Option<Vec<f64>> = None,
        /// Number of bins `adapt` learns.
        num_bins: Option<usize> = None,
        /// Accuracy of the `adapt` summary (default 0.01, as Keras).
        epsilon: f64 = 0.01,
        /// Output encoding (default int).
        output_mode: OutputMode = OutputMode::Int,
    }
    check(config) { cfg_opt_size(config, "Discretization", "num_bins").map(|_| ()) }
}

impl<B: Backend> Discretization<B> {
    /// A layer with fixed, increasing boundaries (`n` boundaries give `n + 1` bins). They
    /// are kept at `f32` precision, the precision of the comparison (as Keras/TensorFlow).
    pub fn with_bin_boundaries(bounds: &[f64]) -> Self {
        Self::with_config(DiscretizationConfig {
            bin_boundaries: Some(to_f32_precision(bounds)),
            ..Default::default()
        })
    }
    /// A layer to `adapt` into `num_bins` bins of about equal counts.
    pub fn with_num_bins(num_bins: usize) -> Self {
        Self::with_config(DiscretizationConfig {
            num_bins: Some(num_bins),
            ..Default::default()
        })
    }
    config_setters! {
        /// Accuracy of the `adapt` summary (default 0.01, as Keras).
        epsilon: f64,
        /// Output encoding (default [`OutputMode::Int`]).
        output_mode: OutputMode,
    }
    config_methods!(DiscretizationConfig, |config| Self {
        config,
        built: false,
        device: Device::Cpu,
        bounds: None,
    });
    label_or_default!("discretization");
    /// The boundaries (given or adapted); `None` before `adapt`.
    pub fn bin_boundaries(&self) -> Option<&[f64]> {
        self.config.bin_boundaries.as_deref()
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
        let Some(num_bins) = self.config.num_bins else {
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
            let s = quantile_summary(values, self.config.epsilon);
            summary = merge_summaries(summary, s, self.config.epsilon);
        }
        if !any {
            return Err(Error::invalid(&label, "adapt data", "no values"));
        }
        let (vals, _) = compress_summary(summary, 1.0 / num_bins as f64);
        let n = vals.len().saturating_sub(1);
        self.config.bin_boundaries = Some(vals[..n].iter().map(|&v| v as f64).collect());
        if self.built {
            self.bounds = Some(self.bounds_tensor(self.device)?);
        }
        Ok(())
    }

    fn bounds_tensor(&self, device: Device) -> Result<Tensor<B>> {
        let b: Vec<f32> = self
            .bin_boundaries()
            .unwrap_or(&[])
            .iter()
            .map(|&v| v as f32)
            .collect();
        let n = b.len();
        Tensor::from_vec_on(b, &[n], device)
    }

    fn depth(&self) -> Option<usize> {
        self.config
            .bin_boundaries
            .as_ref()
            .map(|b| b.len() + 1)
            .or(self.config.num_bins)
    }
}

/// Rounds to `f32` (boundaries compare in `f32`; this also makes a JSON round trip exact).
fn to_f32_precision(v: &[f64]) -> Vec<f64> {
    v.iter().map(|&x| x as f32 as f64).collect()
}
impl<B: Backend> Layer<B> for Discretization<B> {
    preprocessing_layer_methods!("Discretization", built: |l| l.built);
    fn validate(&self) -> Result<()> {
        match (&self.config.bin_boundaries, self.config.num_bins) {
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
        if let Some(b) = &self.config.bin_boundaries {
            if b.windows(2).any(|w| w[0] >= w[1]) || b.iter().any(|v| !v.is_finite()) {
                return Err(Error::invalid(
                    self.label(),
                    "bin_boundaries",
                    format!("must be finite and strictly increasing, got {b:?}"),
                ));
            }
        }
        if !(self.config.epsilon > 0.0 && self.config.epsilon < 1.0) {
            return Err(Error::invalid(
                self.label(),
                "epsilon",
                format!("must be in (0, 1), got {}", self.config.epsilon),
            ));
        }
        Ok(())
    }
    fn build(&mut self, _input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        Layer::<B>::validate(self)?;
        self.device = ctx.device;
        self.built = true;
        if self.config.bin_boundaries.is_some() {
            self.bounds = Some(self.bounds_tensor(ctx.device)?);
        }
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let depth = self.depth().unwrap_or(1);
        Ok(self.config.output_mode.output_shape(input_shape, depth))
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        check_rank1(self.label(), x)?;
        let Some(b) = &self.config.bin_boundaries else {
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
        encode(&idx, self.config.output_mode, depth)
    }
    fn get_config(&self) -> serde_json::Value {
        to_json(&self.config)
    }
}
