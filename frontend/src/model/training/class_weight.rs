//! `class_weight`: per-sample weights from the class of each target.

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
    let s = y.shape();
    let classes: Vec<i64> = match s.as_slice() {
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
    };
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
