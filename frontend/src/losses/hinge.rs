//! Hinge losses for maximum-margin classification: hinge, squared hinge, categorical hinge.

use super::ops::*;
use super::{Loss, Reduction, TargetKind};
use crate::backend::Backend;
use crate::error::Result;
use crate::tensor::Tensor;

simple_loss!(
    /// Hinge: `mean(max(1 - y p, 0))`; 0/1 targets are mapped to -1/1 first (Keras).
    Hinge,
    "hinge",
    Regression,
    |y, p| {
        let y = hinge_labels(&y)?;
        mean_last(&y.mul(p)?.affine(-1.0, 1.0)?.relu()?)
    }
);

simple_loss!(
    /// Squared hinge: `mean(max(1 - y p, 0)^2)`; 0/1 targets are mapped to -1/1 (Keras).
    SquaredHinge,
    "squared_hinge",
    Regression,
    |y, p| {
        let y = hinge_labels(&y)?;
        mean_last(&y.mul(p)?.affine(-1.0, 1.0)?.relu()?.square()?)
    }
);

simple_loss!(
    /// Categorical hinge: `max(max((1 - y) p) - sum(y p) + 1, 0)` over the last axis, for
    /// one-hot targets.
    CategoricalHinge,
    "categorical_hinge",
    Categorical,
    |y, p| {
        let pos = y.mul(p)?.sum(&[-1], false)?;
        let neg = y.affine(-1.0, 1.0)?.mul(p)?.max(&[-1], false)?;
        per_sample_of(&neg.sub(&pos)?.add_scalar(1.0)?.relu()?)
    }
);
