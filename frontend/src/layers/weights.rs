//! Weight lists and weight penalties, shared by the layers that hold weights.

use super::Weight;
use crate::backend::Backend;
use crate::error::Result;
use crate::regularizers::Regularizer;
use crate::tensor::Tensor;

/// The weights that exist among `named` (`("kernel", &self.kernel)`, ..), in order, all
/// with the same `trainable` flag.
pub(crate) fn named_weights<B: Backend>(
    trainable: bool,
    named: &[(&str, &Option<Tensor<B>>)],
) -> Vec<Weight<B>> {
    let mut w = Vec::new();
    for (name, t) in named {
        push_weight(&mut w, name, t, trainable);
    }
    w
}

/// Sum of the penalties of the given (regulariser, weight) pairs.
pub(crate) fn weight_penalties<B: Backend>(
    pairs: &[(&Option<Regularizer>, &Option<Tensor<B>>)],
) -> Result<Option<Tensor<B>>> {
    let mut total: Option<Tensor<B>> = None;
    for (reg, w) in pairs {
        if let (Some(r), Some(w)) = (reg, w) {
            let p = r.penalty(w)?;
            total = Some(match total {
                Some(t) => t.add(&p)?,
                None => p,
            });
        }
    }
    Ok(total)
}

/// Appends `t` as weight `name` when it exists.
pub(crate) fn push_weight<B: Backend>(
    w: &mut Vec<Weight<B>>,
    name: &str,
    t: &Option<Tensor<B>>,
    tr: bool,
) {
    if let Some(t) = t {
        w.push(Weight {
            name: name.into(),
            value: t.clone(),
            trainable: tr,
        });
    }
}
