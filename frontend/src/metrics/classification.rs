//! Multi-class metrics: [`TopKAccuracy`], [`F1Score`] and [`MeanIoU`]. State lives on
//! the device; `result` reads it.

use super::state::{columns, div0, flat, Sums};
use super::{Mean, Metric};
use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Integer labels `[n]` from sparse (`[n]`, `[n, 1]`) or one-hot (`[n, classes]`) targets.
fn labels_of<B: Backend>(
    metric: &str,
    y_true: &Tensor<B>,
    pred_shape: &[usize],
    sparse: bool,
) -> Result<Tensor<B>> {
    let t = y_true.shape();
    let n = pred_shape.first().copied().unwrap_or(0);
    if sparse {
        let ok = (t.len() == 1 && t[0] == n) || (t.len() == 2 && t[0] == n && t[1] == 1);
        if !ok || pred_shape.len() != 2 {
            return Err(Error::shape(
                metric,
                "y_true",
                format!("labels of shape [{n}] for predictions {pred_shape:?}"),
                &t,
            ));
        }
        y_true.reshape_to(&[n])?.to_dtype(DType::I64)
    } else {
        if t != pred_shape || t.len() != 2 {
            return Err(Error::shape(
                metric,
                "y_true",
                format!("one-hot shape {pred_shape:?}"),
                &t,
            ));
        }
        y_true.argmax(-1, false)
    }
}

/// Sparse integer labels (`[n]` or `[n, 1]`) for predictions `[n, classes]` with several
/// classes, as one-hot rows `[n, classes]` in the predictions' dtype (on the device; a
/// label outside `0..classes` gives a zero row); other targets as they are.
pub(crate) fn one_hot_if_sparse<B: Backend>(
    y_true: &Tensor<B>,
    y_pred: &Tensor<B>,
) -> Result<Tensor<B>> {
    let (t, p) = (y_true.shape(), y_pred.shape());
    let sparse = p.len() == 2 && p[1] > 1 && (t == [p[0]] || t == [p[0], 1]);
    if !sparse {
        return Ok(y_true.clone());
    }
    let classes = Tensor::<B>::arange(p[1], y_pred.device())?.reshape_to(&[1, p[1]])?;
    y_true
        .detach()
        .reshape_to(&[p[0], 1])?
        .to_dtype(DType::I64)?
        .eq(&classes)?
        .to_dtype(y_pred.dtype())
}

/// Top-k accuracy: the true class is among the `k` highest scores (ties count as in, like
/// Keras' `in_top_k`). Sparse (integer labels) or categorical (one-hot) targets; default
/// `k` is 5.
///
/// ```
/// use stratanet::{metrics::{Metric, TopKAccuracy}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut m = TopKAccuracy::<B>::sparse(2);
/// let p = Tensor::<B>::from_vec(vec![0.5f32, 0.3, 0.2, 0.1, 0.2, 0.7], &[2, 3])?;
/// let y = Tensor::<B>::from_vec(vec![1i64, 0], &[2])?;
/// m.update(&y, &p)?;
/// assert_eq!(m.result()?, 0.5);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TopKAccuracy<B: Backend> {
    k: usize,
    sparse: bool,
    mean: Mean<B>,
}

impl<B: Backend> TopKAccuracy<B> {
    /// For one-hot targets (`top_k_categorical_accuracy`).
    pub fn categorical(k: usize) -> Self {
        Self {
            k,
            sparse: false,
            mean: Mean::new("top_k_categorical_accuracy"),
        }
    }
    /// For integer labels (`sparse_top_k_categorical_accuracy`).
    pub fn sparse(k: usize) -> Self {
        Self {
            k,
            sparse: true,
            mean: Mean::new("sparse_top_k_categorical_accuracy"),
        }
    }
    /// Renames it.
    pub fn named(mut self, name: &str) -> Self {
        self.mean = Mean::new(name);
        self
    }
}

impl<B: Backend> Metric<B> for TopKAccuracy<B> {
    fn name(&self) -> &str {
        self.mean.name()
    }
    fn update(&mut self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<()> {
        let p = y_pred.detach();
        let shape = p.shape();
        let labels = labels_of(self.mean.name(), &y_true.detach(), &shape, self.sparse)?;
        let n = shape[0];
        if n == 0 {
            return Ok(());
        }
        let target = p.gather(&labels.reshape_to(&[n, 1])?, 1)?;
        let above = p.gt(&target)?.to_dtype(DType::F32)?.sum(&[-1], false)?;
        let correct = above.affine(-1.0, self.k as f64)?.gt_scalar(0.5)?;
        self.mean
            .update_sum(&correct.to_dtype(DType::F32)?.sum_all()?, n as f64)
    }
    fn result(&self) -> Result<f64> {
        self.mean.result()
    }
    fn reset(&mut self) {
        self.mean.reset()
    }
}

/// How [`F1Score`] averages its per-class scores (saved as Keras' `"macro"`, `"micro"`,
/// `"weighted"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum F1Average {
    /// Unweighted mean of the per-class F1.
    Macro,
    /// F1 of the counts pooled over classes.
    Micro,
    /// Per-class F1 weighted by each class' support (number of true instances).
    Weighted,
}

/// F1 score (Keras' `F1Score`): per class from `tp`, `fp`, `fn` counts over the last axis
/// of one-hot (or multi-label) targets, with Keras' `1e-7` guards in the divisions. Sparse
/// integer labels (`[n]` or `[n, 1]` for `[n, classes]` predictions, as
/// `sparse_categorical_crossentropy` takes them) are one-hot encoded first, so
/// `compile(.., "sparse_categorical_crossentropy", &["f1_score"])` works.
///
/// Predictions: with `threshold` set, `y_pred > threshold` is positive; without, the
/// highest score of each row is (Keras' default, for softmax outputs).
/// [`F1Score::per_class`] gives the unaveraged scores (Keras' `average=None`).
///
/// ```
/// use stratanet::{metrics::{F1Average, F1Score, Metric}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut f1 = F1Score::<B>::new(F1Average::Macro);
/// let y = Tensor::<B>::from_vec(vec![1.0f32, 0.0, 0.0, 1.0, 0.0, 1.0], &[3, 2])?;
/// let p = Tensor::<B>::from_vec(vec![0.9f32, 0.1, 0.2, 0.8, 0.6, 0.4], &[3, 2])?;
/// f1.update(&y, &p)?;
/// // class 0: tp 1, fp 1 -> 2/3; class 1: tp 1, fn 1 -> 2/3
/// assert!((f1.result()? - 2.0 / 3.0).abs() < 1e-6);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct F1Score<B: Backend> {
    config: F1ScoreConfig,
    /// `[4, classes]`: tp, fp, fn, support.
    sums: Sums<B>,
}

metric_config! {
    /// [`F1Score`]'s hyper-parameters, with Keras' names and defaults.
    pub struct F1ScoreConfig("f1_score") for F1Score {
        /// How the per-class scores are averaged (default macro).
        average: F1Average = F1Average::Macro,
        /// `y_pred > threshold` counts as positive (for sigmoid outputs); none: the
        /// highest score of each row.
        threshold: Option<f64> = None,
        /// F-beta instead of F1 (Keras' `FBetaScore`).
        beta: f64 = 1.0,
    }
    state { sums: Sums::new() }
    new(average: F1Average);
}

impl<B: Backend> F1Score<B> {
    fn scores(&self, tp: &[f64], fp: &[f64], fneg: &[f64]) -> Vec<f64> {
        const EPS: f64 = 1e-7;
        let b2 = self.config.beta * self.config.beta;
        (0..tp.len())
            .map(|i| {
                let p = tp[i] / (tp[i] + fp[i] + EPS);
                let r = tp[i] / (tp[i] + fneg[i] + EPS);
                (1.0 + b2) * p * r / (b2 * p + r + EPS)
            })
            .collect()
    }

    /// The per-class scores (empty before the first update).
    ///
    /// # Errors
    /// On engine errors.
    pub fn per_class(&self) -> Result<Vec<f64>> {
        let Some(s) = self.sums.read()? else {
            return Ok(Vec::new());
        };
        let c = s.len() / 4;
        Ok(self.scores(&s[..c], &s[c..2 * c], &s[2 * c..3 * c]))
    }
}

impl<B: Backend> Metric<B> for F1Score<B> {
    metric_identity!();
    fn update(&mut self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<()> {
        let y_true = one_hot_if_sparse(y_true, y_pred)?;
        let (y, p) = columns(&self.config.name, &y_true, y_pred, "[batch, classes]")?;
        let pred = match self.config.threshold {
            Some(t) => p.gt_scalar(t)?.to_dtype(p.dtype())?,
            None => {
                let top = p.ge(&p.max(&[-1], true)?)?.to_dtype(p.dtype())?;
                let nonzero = p.abs()?.gt_scalar(1e-9)?.to_dtype(p.dtype())?;
                top.mul(&nonzero)?
            }
        };
        let tp = pred.mul(&y)?.sum(&[0], false)?;
        let fp = pred.sum(&[0], false)?.sub(&tp)?;
        let support = y.sum(&[0], false)?;
        let fneg = support.sub(&tp)?;
        self.sums.add(&Tensor::concat(&[tp, fp, fneg, support], 0)?)
    }
    fn result(&self) -> Result<f64> {
        const EPS: f64 = 1e-7;
        let Some(s) = self.sums.read()? else {
            return Ok(0.0);
        };
        let c = s.len() / 4;
        let (tp, fp, fneg, sup) = (&s[..c], &s[c..2 * c], &s[2 * c..3 * c], &s[3 * c..]);
        Ok(match self.config.average {
            F1Average::Micro => {
                let sum = |v: &[f64]| v.iter().sum::<f64>();
                self.scores(&[sum(tp)], &[sum(fp)], &[sum(fneg)])[0]
            }
            F1Average::Macro => self.scores(tp, fp, fneg).iter().sum::<f64>() / c.max(1) as f64,
            F1Average::Weighted => {
                let total: f64 = sup.iter().sum();
                self.scores(tp, fp, fneg)
                    .iter()
                    .zip(sup)
                    .map(|(f, w)| f * w / (total + EPS))
                    .sum()
            }
        })
    }
    fn reset(&mut self) {
        self.sums.reset()
    }
}

/// Mean intersection-over-union over `num_classes` classes (Keras' `MeanIoU`): a
/// `[classes, classes]` confusion matrix on the device; the result averages
/// `tp / (tp + fp + fn)` over classes that occur in targets or predictions.
///
/// By default both `y_true` and `y_pred` are integer labels (any shape, flattened);
/// [`MeanIoU::sparse_y_pred`]`(false)` takes the argmax of scores on the last axis, and
/// [`MeanIoU::sparse_y_true`]`(false)` the argmax of one-hot targets.
///
/// ```
/// use stratanet::{metrics::{MeanIoU, Metric}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut m = MeanIoU::<B>::new(2);
/// let y = Tensor::<B>::from_vec(vec![0i64, 0, 1, 1], &[4])?;
/// let p = Tensor::<B>::from_vec(vec![0i64, 1, 0, 1], &[4])?;
/// m.update(&y, &p)?;
/// assert!((m.result()? - 1.0 / 3.0).abs() < 1e-12);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[doc(alias = "MeanIou")]
pub struct MeanIoU<B: Backend> {
    config: MeanIoUConfig,
    confusion: Sums<B>,
}

/// [`MeanIoU`] spelled by Rust's API guidelines (acronyms as words).
pub type MeanIou<B> = MeanIoU<B>;

metric_config! {
    /// [`MeanIoU`]'s hyper-parameters, with Keras' names and defaults.
    pub struct MeanIoUConfig("mean_io_u") for MeanIoU {
        /// The number of classes.
        num_classes: usize = 2,
        /// `false`: `y_true` is one-hot (argmax over the last axis).
        sparse_y_true: bool = true,
        /// `false`: `y_pred` holds scores (argmax over the last axis).
        sparse_y_pred: bool = true,
        /// Elements whose true label is this class are skipped.
        ignore_class: Option<i64> = None,
    }
    state { confusion: Sums::new() }
    new(num_classes: usize);
}

impl<B: Backend> MeanIoU<B> {
    /// The confusion matrix, rows true, columns predicted (zeros before any update).
    ///
    /// # Errors
    /// On engine errors.
    pub fn confusion_matrix(&self) -> Result<Vec<Vec<f64>>> {
        let c = self.config.num_classes;
        let m = self.confusion.read()?.unwrap_or_else(|| vec![0.0; c * c]);
        Ok(m.chunks(c.max(1)).map(<[f64]>::to_vec).collect())
    }
}

impl<B: Backend> Metric<B> for MeanIoU<B> {
    metric_identity!();
    fn update(&mut self, y_true: &Tensor<B>, y_pred: &Tensor<B>) -> Result<()> {
        let c = self.config.num_classes;
        let labels = |t: &Tensor<B>, sparse: bool| -> Result<Tensor<B>> {
            let t = t.detach();
            let t = if sparse { t } else { t.argmax(-1, false)? };
            flat(&t.to_dtype(DType::I64)?)
        };
        let t = labels(y_true, self.config.sparse_y_true)?;
        let p = labels(y_pred, self.config.sparse_y_pred)?;
        if t.numel() != p.numel() {
            return Err(Error::shape(
                &self.config.name,
                "y_true",
                format!("{} labels (as y_pred)", p.numel()),
                &y_true.shape(),
            ));
        }
        let n = t.numel();
        let classes = Tensor::<B>::arange(c, t.device())?.reshape_to(&[1, c])?;
        let one_hot = |l: &Tensor<B>| -> Result<Tensor<B>> {
            l.reshape_to(&[n, 1])?.eq(&classes)?.to_dtype(DType::F32)
        };
        let mut ot = one_hot(&t)?;
        if let Some(ignore) = self.config.ignore_class {
            let keep = t
                .ne(&t.full_like_i64(ignore)?)?
                .to_dtype(DType::F32)?
                .reshape_to(&[n, 1])?;
            ot = ot.mul(&keep)?;
        }
        let op = one_hot(&p)?;
        self.confusion.add(&ot.transpose(0, 1)?.matmul(&op)?)
    }
    fn result(&self) -> Result<f64> {
        let m = self.confusion_matrix()?;
        let c = self.config.num_classes;
        let (mut sum, mut valid) = (0.0, 0usize);
        for (i, row_i) in m.iter().enumerate() {
            let tp = row_i[i];
            let row: f64 = row_i.iter().sum();
            let col: f64 = (0..c).map(|r| m[r][i]).sum();
            let denom = row + col - tp;
            if denom != 0.0 {
                valid += 1;
                sum += div0(tp, denom);
            }
        }
        Ok(div0(sum, valid as f64))
    }
    fn reset(&mut self) {
        self.confusion.reset()
    }
}

/// `i64` constants shaped like a tensor.
trait FullLikeI64: Sized {
    fn full_like_i64(&self, value: i64) -> Result<Self>;
}

impl<B: Backend> FullLikeI64 for Tensor<B> {
    fn full_like_i64(&self, value: i64) -> Result<Self> {
        Tensor::from_vec_on(vec![value], &[1], self.device())
    }
}
