//! `class_weight`: per-sample weights from the class of each target; [`ClassWeight`]
//! (explicit or balanced) and [`compute_class_weight`].

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Per-sample weights for `class_weight` (`weights[c]` for samples of class `c`): class
/// indices are the labels (`[N]`/`[N, 1]` integers), the argmax of one-hot targets, or
/// the rounded value of `[N, 1]` binary targets.
pub(super) fn class_sample_weights<B: Backend>(
    y: &Tensor<B>,
    class_weight: &[f64],
) -> Result<Tensor<B>> {
    let classes = class_indices(y)?;
    let w: Vec<f64> = classes
        .iter()
        .map(|&c| {
            usize::try_from(c)
                .ok()
                .and_then(|c| class_weight.get(c).copied())
                .ok_or_else(|| {
                    Error::invalid(
                        "fit",
                        "class_weight",
                        format!(
                            "no weight for class {c} ({} weights given)",
                            class_weight.len()
                        ),
                    )
                })
        })
        .collect::<Result<_>>()?;
    Tensor::from_vec_on(w, &[classes.len()], y.device())
}

/// The class of each target: the labels (`[N]`/`[N, 1]` integers), the argmax of one-hot
/// targets, or the rounded value of `[N, 1]` binary targets.
fn class_indices<B: Backend>(y: &Tensor<B>) -> Result<Vec<i64>> {
    let s = y.shape();
    Ok(match s.as_slice() {
        [_] | [_, 1] => y.to_vec_f64()?.iter().map(|v| v.round() as i64).collect(),
        [_, _] => y.argmax(-1, false)?.to_vec_i64()?,
        _ => {
            return Err(Error::shape(
                "fit",
                "class_weight targets",
                "rank 1 or 2 (labels, one-hot or binary)",
                &s,
            ))
        }
    })
}

/// Per-class loss weights for [`FitOptions::class_weight`](crate::FitOptions::class_weight).
///
/// ```
/// use stratanet::{ClassWeight, FitOptions, DefaultBackend as B};
/// // explicit weights, indexed by class (Keras' `class_weight={0: 1.0, 1: 5.0}`)
/// let opts = FitOptions::<B>::new().class_weight(vec![1.0, 5.0]);
/// assert_eq!(opts.class_weight, Some(ClassWeight::Explicit(vec![1.0, 5.0])));
/// // scikit-learn's "balanced": n_samples / (n_classes * count), from the labels of fit
/// let opts = FitOptions::<B>::new().class_weight(ClassWeight::Balanced);
/// assert_eq!(opts.class_weight, Some(ClassWeight::Balanced));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum ClassWeight {
    /// `weights[c]` for the samples of class `c`.
    Explicit(Vec<f64>),
    /// scikit-learn's `class_weight="balanced"`: `n_samples / (n_classes * count[c])`,
    /// computed by [`compute_class_weight`] from all the targets given to `fit` (those a
    /// `validation_split` holds out included, as the weights are set before the split).
    /// Not available with `fit_dataset` (the labels are not known up front): compute the
    /// weights with [`compute_class_weight`] and pass them.
    Balanced,
}

impl ClassWeight {
    /// The weights per class for the targets `y` (`Balanced` counts their classes).
    ///
    /// # Errors
    /// As [`compute_class_weight`] for `Balanced`; targets of rank above 2.
    pub fn weights_for<B: Backend>(&self, y: &Tensor<B>) -> Result<Vec<f64>> {
        match self {
            ClassWeight::Explicit(w) => Ok(w.clone()),
            ClassWeight::Balanced => compute_class_weight(&class_indices(y)?),
        }
    }

    /// The explicit weights; `Balanced` is an error naming `op` (a dataset's labels are not
    /// known before training).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `Balanced`.
    pub fn explicit(self, op: &str) -> Result<Vec<f64>> {
        match self {
            ClassWeight::Explicit(w) => Ok(w),
            ClassWeight::Balanced => Err(Error::invalid(
                op,
                "class_weight",
                "ClassWeight::Balanced needs every label before training, which a dataset does not give; \
                 compute the weights with compute_class_weight(&labels) and pass them",
            )),
        }
    }
}

impl From<Vec<f64>> for ClassWeight {
    fn from(w: Vec<f64>) -> Self {
        ClassWeight::Explicit(w)
    }
}

impl From<&[f64]> for ClassWeight {
    fn from(w: &[f64]) -> Self {
        ClassWeight::Explicit(w.to_vec())
    }
}

impl<const N: usize> From<[f64; N]> for ClassWeight {
    fn from(w: [f64; N]) -> Self {
        ClassWeight::Explicit(w.to_vec())
    }
}

/// scikit-learn's `compute_class_weight("balanced", classes=np.arange(k), y=labels)`: for
/// integer labels `0..k` (`k` = the largest label + 1), `n_samples / (k * count[c])` per
/// class `c`, so that every class weighs as much in the loss as a class of the average size.
///
/// ```
/// use stratanet::compute_class_weight;
/// # fn main() -> stratanet::Result<()> {
/// let w = compute_class_weight(&[0, 0, 0, 1])?;
/// assert_eq!(w, vec![4.0 / 6.0, 2.0]);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for no labels, a negative label, or a class below the
/// largest label that never occurs (its weight would be infinite; scikit-learn refuses
/// it too).
pub fn compute_class_weight(labels: &[i64]) -> Result<Vec<f64>> {
    const CTX: &str = "compute_class_weight";
    if labels.is_empty() {
        return Err(Error::invalid(CTX, "labels", "no labels given"));
    }
    if let Some((i, l)) = labels.iter().enumerate().find(|(_, &l)| l < 0) {
        return Err(Error::invalid(
            CTX,
            "labels",
            format!("label {l} at position {i} is negative (classes are 0..k)"),
        ));
    }
    let k = labels.iter().copied().max().unwrap_or(0) as usize + 1;
    let mut counts = vec![0usize; k];
    for &l in labels {
        counts[l as usize] += 1;
    }
    if let Some(c) = counts.iter().position(|&c| c == 0) {
        return Err(Error::invalid(
            CTX,
            "labels",
            format!(
                "class {c} never occurs among the {} labels (classes 0..{k}); its weight would be infinite",
                labels.len()
            ),
        ));
    }
    let n = labels.len() as f64;
    Ok(counts.iter().map(|&c| n / (k as f64 * c as f64)).collect())
}
