//! The running loss and metrics of one pass (training, validation or evaluation), read
//! by callbacks and turned into the epoch's logs.

use super::compile::Compiled;
use super::inputs::full_shape;
use crate::backend::Backend;
use crate::callbacks::{LogSource, Logs};
use crate::error::Result;
use crate::metrics::{Mean, Metric};
use crate::tensor::Tensor;

/// Running loss and metrics of one pass.
pub(super) struct Tracker<B: Backend> {
    pub(super) loss: Mean<B>,
    /// Per-output loss means (only with several trained outputs).
    pub(super) output_losses: Vec<Option<Mean<B>>>,
    /// Per-output metrics.
    metrics: Vec<Vec<Box<dyn Metric<B>>>>,
    prefixes: Vec<String>,
}

impl<B: Backend> Tracker<B> {
    pub(super) fn new(
        compiled: &Compiled<B>,
        ys: &[Tensor<B>],
        out_shapes: &[Vec<usize>],
    ) -> Result<Self> {
        let multi = compiled.output_names.len() > 1;
        let prefixes: Vec<String> = compiled
            .output_names
            .iter()
            .map(|n| {
                if multi {
                    format!("{n}_")
                } else {
                    String::new()
                }
            })
            .collect();
        let mut metrics = Vec::new();
        for (i, names) in compiled.metrics.iter().enumerate() {
            let kind = compiled.losses[i]
                .as_ref()
                .map(|l| l.target_kind())
                .unwrap_or(crate::losses::TargetKind::Regression);
            let n = ys[i].shape().first().copied().unwrap_or(0);
            let pred_shape = full_shape(n, &out_shapes[i]);
            let mut ms = Vec::new();
            for name in names {
                ms.push(name.instantiate(kind, &ys[i].shape(), &pred_shape)?);
            }
            metrics.push(ms);
        }
        let output_losses = compiled
            .losses
            .iter()
            .map(|l| (multi && l.is_some()).then(|| Mean::new("loss")))
            .collect();
        Ok(Self {
            loss: Mean::new("loss"),
            output_losses,
            metrics,
            prefixes,
        })
    }

    pub(super) fn reset(&mut self) {
        self.loss.reset();
        for m in self.output_losses.iter_mut().flatten() {
            m.reset();
        }
        for m in self.metrics.iter_mut().flatten() {
            m.reset();
        }
    }

    pub(super) fn update_metrics(&mut self, ys: &[Tensor<B>], preds: &[Tensor<B>]) -> Result<()> {
        for (i, ms) in self.metrics.iter_mut().enumerate() {
            for m in ms.iter_mut() {
                m.update(&ys[i], &preds[i])?;
            }
        }
        Ok(())
    }

    pub(super) fn logs(&self) -> Result<Logs> {
        let mut l = Logs::new();
        l.insert("loss", self.loss.result()?);
        for (i, m) in self.output_losses.iter().enumerate() {
            if let Some(m) = m {
                l.insert(format!("{}loss", self.prefixes[i]), m.result()?);
            }
        }
        for (i, ms) in self.metrics.iter().enumerate() {
            for m in ms {
                l.insert(format!("{}{}", self.prefixes[i], m.name()), m.result()?);
            }
        }
        Ok(l)
    }
}

impl<B: Backend> LogSource for Tracker<B> {
    fn logs(&mut self) -> Result<Logs> {
        Tracker::logs(self)
    }
}
