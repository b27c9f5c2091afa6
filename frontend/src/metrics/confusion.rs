//! Confusion-count metrics for binary (or multi-label) predictions: [`Precision`],
//! [`Recall`] and [`AUC`]. Counts live on the device; `result` reads them.

use super::state::{align_to, div0, flat, Sums};
use super::Metric;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Selects `class_id` (last axis) and flattens labels (`!= 0` is positive) and scores.
fn binary_inputs<B: Backend>(
    metric: &str,
    y_true: &Tensor<B>,
    y_pred: &Tensor<B>,
    class_id: Option<usize>,
) -> Result<(Tensor<B>, Tensor<B>)> {
    let p = y_pred.detach();
    let mut y = align_to(metric, &y_true.detach(), &p)?;
    let mut p = p;
    if let Some(c) = class_id {
        let classes = p.shape().last().copied().unwrap_or(0);
        if c >= classes || p.rank() < 2 {
            return Err(Error::shape(
                metric,
                "y_pred",
                format!("[batch, classes] with more than {c} classes (class_id {c})"),
                &p.shape(),
            ));
        }
        y = y.narrow(-1, c, 1)?;
        p = p.narrow(-1, c, 1)?;
    }
    let p = flat(&p)?;
    let y = flat(&y)?;
    let labels = y.ne(&y.zeros_like()?)?.to_dtype(p.dtype())?;
    Ok((labels, p))
}

/// Adds one batch's thresholded `[tp, fp, fn]` to `sums`.
fn count<B: Backend>(
    name: &str,
    threshold: f64,
    class_id: Option<usize>,
    sums: &mut Sums<B>,
    y_true: &Tensor<B>,
    y_pred: &Tensor<B>,
) -> Result<()> {
    let (lab, p) = binary_inputs(name, y_true, y_pred, class_id)?;
    let pred = p.gt_scalar(threshold)?.to_dtype(p.dtype())?;
    let tp = pred.mul(&lab)?.sum_all()?;
    let fp = pred.sum_all()?.sub(&tp)?;
    let fneg = lab.sum_all()?.sub(&tp)?;
    sums.add(&Tensor::stack(&[tp, fp, fneg], 0)?)
}

/// A thresholded ratio of confusion counts, state `[tp, fp, fn]` on the device.
macro_rules! ratio_metric {
    ($(#[$doc:meta])* $t:ident, $config:ident, $name:literal, |$c:ident| $ratio:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $t<B: Backend> {
            config: $config,
            sums: Sums<B>,
        }

        metric_config! {
            #[doc = concat!(
                "[`", stringify!($t), "`]'s hyper-parameters, with Keras' names and defaults."
            )]
            pub struct $config($name) for $t {
                /// A prediction counts as positive when `y_pred > threshold` (default 0.5).
                threshold as "thresholds": f64 = 0.5,
                /// Only this class (index on the last axis) counts; none: all classes
                /// (elements) pooled.
                class_id: Option<usize> = None,
            }
            state { sums: Sums::new() }
            new();
            impl Default;
        }

        impl<B: Backend> Metric<B> for $t<B> {
            metric_identity!();
            fn update(&mut self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<()> {
                let c = &self.config;
                count(&c.name, c.threshold, c.class_id, &mut self.sums, y_true, y_pred)
            }
            fn result(&self) -> Result<f64> {
                Ok(self.sums.read()?.map_or(0.0, |$c| $ratio))
            }
            fn reset(&mut self) {
                self.sums.reset()
            }
        }
    };
}

ratio_metric!(
    /// Precision `tp / (tp + fp)` of `y_pred > threshold` against nonzero labels (Keras'
    /// `Precision`; 0 when nothing was predicted positive).
    ///
    /// ```
    /// use stratanet::{metrics::{Metric, Precision}, Tensor, DefaultBackend as B};
    /// # fn main() -> stratanet::Result<()> {
    /// let mut m = Precision::<B>::new();
    /// let y = Tensor::<B>::from_vec(vec![1.0f32, 0.0, 1.0, 0.0], &[4, 1])?;
    /// let p = Tensor::<B>::from_vec(vec![0.9f32, 0.8, 0.2, 0.1], &[4, 1])?;
    /// m.update(&y, &p)?;
    /// assert_eq!(m.result()?, 0.5);
    /// # Ok(())
    /// # }
    /// ```
    Precision,
    PrecisionConfig,
    "precision",
    |c| div0(c[0], c[0] + c[1])
);

ratio_metric!(
    /// Recall `tp / (tp + fn)` of `y_pred > threshold` against nonzero labels (Keras'
    /// `Recall`; 0 when there were no positives).
    ///
    /// ```
    /// use stratanet::{metrics::{Metric, Recall}, Tensor, DefaultBackend as B};
    /// # fn main() -> stratanet::Result<()> {
    /// let mut m = Recall::<B>::new();
    /// let y = Tensor::<B>::from_vec(vec![1.0f32, 1.0, 1.0, 0.0], &[4])?;
    /// let p = Tensor::<B>::from_vec(vec![0.9f32, 0.8, 0.2, 0.7], &[4])?;
    /// m.update(&y, &p)?;
    /// assert!((m.result()? - 2.0 / 3.0).abs() < 1e-12);
    /// # Ok(())
    /// # }
    /// ```
    Recall,
    RecallConfig,
    "recall",
    |c| div0(c[0], c[0] + c[2])
);

/// Confusion counts per threshold: `(tp, fp, tn, fn)`.
pub type Confusion = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

/// The curve an [`AUC`] integrates (saved as Keras' `"ROC"`, `"PR"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Curve {
    /// Receiver operating characteristic: recall against false-positive rate.
    Roc,
    /// Precision against recall.
    Pr,
}

/// How an [`AUC`] sums the area between thresholds (Keras' `summation_method`, saved as
/// `"interpolation"`, `"minoring"`, `"majoring"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Summation {
    /// Trapezoids for ROC; for PR the Davis & Goadrich interpolation (Keras' default).
    Interpolation,
    /// Left Riemann sum with the smaller height.
    Minoring,
    /// Riemann sum with the larger height.
    Majoring,
}

/// Area under the ROC or PR curve from confusion counts at `num_thresholds` evenly spaced
/// thresholds (Keras' `AUC`: default 200 thresholds, the first `-1e-7` and the last
/// `1 + 1e-7`, `y_pred > threshold` is positive). Labels: nonzero is positive; every
/// element of multi-label input is pooled (`multi_label=False`).
///
/// Per batch the update is one `[n, num_thresholds]` comparison and a sum over the batch
/// on the device.
///
/// ```
/// use stratanet::{metrics::{Metric, AUC}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut auc = AUC::<B>::new();
/// let y = Tensor::<B>::from_vec(vec![0.0f32, 0.0, 1.0, 1.0], &[4, 1])?;
/// let p = Tensor::<B>::from_vec(vec![0.1f32, 0.4, 0.35, 0.8], &[4, 1])?;
/// auc.update(&y, &p)?;
/// assert!((auc.result()? - 0.75).abs() < 1e-9);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[allow(clippy::upper_case_acronyms)]
#[doc(alias = "Auc")]
pub struct AUC<B: Backend> {
    config: AUCConfig,
    /// `[2, T]`: true and false positives per threshold.
    positives: Sums<B>,
    /// `[2]`: label positives and element count.
    totals: Sums<B>,
}

/// [`AUC`] spelled by Rust's API guidelines (acronyms as words).
pub type Auc<B> = AUC<B>;

metric_config! {
    /// [`AUC`]'s hyper-parameters, with Keras' names and defaults.
    pub struct AUCConfig("auc") for AUC {
        /// The curve (default ROC).
        curve: Curve = Curve::Roc,
        /// The summation method (default interpolation).
        summation as "summation_method": Summation = Summation::Interpolation,
        /// Predictions are logits (a sigmoid is applied first).
        from_logits: bool = false,
        /// The number of thresholds (default 200; fewer than 2 count as 2).
        num_thresholds: usize = 200,
    }
    state { positives: Sums::new(), totals: Sums::new() }
    new();
    impl Default;
}

impl<B: Backend> AUC<B> {
    /// The number of thresholds used (at least 2).
    fn threshold_count(&self) -> usize {
        self.config.num_thresholds.max(2)
    }

    /// Keras' thresholds: `-1e-7, 1/(T-1), ..., (T-2)/(T-1), 1 + 1e-7`.
    pub fn thresholds(&self) -> Vec<f64> {
        let t = self.threshold_count();
        let mut v = Vec::with_capacity(t);
        v.push(-1e-7);
        for i in 0..t - 2 {
            v.push((i + 1) as f64 / (t - 1) as f64);
        }
        v.push(1.0 + 1e-7);
        v
    }

    /// Confusion counts per threshold `(tp, fp, tn, fn)` read from the device.
    ///
    /// # Errors
    /// On engine errors.
    pub fn confusion(&self) -> Result<Confusion> {
        let t = self.threshold_count();
        let (Some(pos), Some(tot)) = (self.positives.read()?, self.totals.read()?) else {
            return Ok((vec![0.0; t], vec![0.0; t], vec![0.0; t], vec![0.0; t]));
        };
        let (tp, fp) = (pos[..t].to_vec(), pos[t..].to_vec());
        let (p, n) = (tot[0], tot[1] - tot[0]);
        let fneg = tp.iter().map(|x| p - x).collect();
        let tn = fp.iter().map(|x| n - x).collect();
        Ok((tp, fp, tn, fneg))
    }

    fn interpolate_pr(tp: &[f64], fp: &[f64], fneg: &[f64]) -> f64 {
        let t = tp.len();
        let mut total = 0.0;
        for i in 0..t - 1 {
            let dtp = tp[i] - tp[i + 1];
            let (p0, p1) = (tp[i] + fp[i], tp[i + 1] + fp[i + 1]);
            let dp = p0 - p1;
            let slope = div0(dtp, dp.max(0.0));
            let intercept = tp[i + 1] - slope * p1;
            let ratio = if p0 > 0.0 && p1 > 0.0 {
                div0(p0, p1.max(0.0))
            } else {
                1.0
            };
            total += div0(
                slope * (dtp + intercept * ratio.ln()),
                (tp[i + 1] + fneg[i + 1]).max(0.0),
            );
        }
        total
    }
}

impl<B: Backend> Metric<B> for AUC<B> {
    metric_identity!();
    fn update(&mut self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<()> {
        let (lab, p) = binary_inputs(&self.config.name, y_true, y_pred, None)?;
        let p = if self.config.from_logits {
            p.sigmoid()?
        } else {
            p
        };
        let n = p.numel();
        let thr = Tensor::<B>::from_vec_on(
            self.thresholds()
                .iter()
                .map(|&x| x as f32)
                .collect::<Vec<f32>>(),
            &[1, self.threshold_count()],
            p.device(),
        )?
        .to_dtype(p.dtype())?;
        let above = p.reshape_to(&[n, 1])?.gt(&thr)?.to_dtype(p.dtype())?;
        let tp = above.mul(&lab.reshape_to(&[n, 1])?)?.sum(&[0], false)?;
        let fp = above.sum(&[0], false)?.sub(&tp)?;
        self.positives.add(&Tensor::concat(&[tp, fp], 0)?)?;
        let count = lab.ones_like()?.sum_all()?;
        self.totals
            .add(&Tensor::stack(&[lab.sum_all()?, count], 0)?)
    }
    fn result(&self) -> Result<f64> {
        let (tp, fp, tn, fneg) = self.confusion()?;
        if self.config.curve == Curve::Pr && self.config.summation == Summation::Interpolation {
            return Ok(Self::interpolate_pr(&tp, &fp, &fneg));
        }
        let t = tp.len();
        let recall: Vec<f64> = (0..t).map(|i| div0(tp[i], tp[i] + fneg[i])).collect();
        let (x, y): (Vec<f64>, Vec<f64>) = match self.config.curve {
            Curve::Roc => ((0..t).map(|i| div0(fp[i], fp[i] + tn[i])).collect(), recall),
            Curve::Pr => (recall, (0..t).map(|i| div0(tp[i], tp[i] + fp[i])).collect()),
        };
        Ok((0..t - 1)
            .map(|i| {
                let h = match self.config.summation {
                    Summation::Interpolation => (y[i] + y[i + 1]) / 2.0,
                    Summation::Minoring => y[i].min(y[i + 1]),
                    Summation::Majoring => y[i].max(y[i + 1]),
                };
                (x[i] - x[i + 1]) * h
            })
            .sum())
    }
    fn reset(&mut self) {
        self.positives.reset();
        self.totals.reset();
    }
}
