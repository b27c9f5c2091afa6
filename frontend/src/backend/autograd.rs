//! Trainable parameters and the engine's own automatic differentiation.

use super::base::BackendBase;
use crate::error::Result;

/// Autograd, delegated to the engine (candle `Var` + `backward`, libtorch `requires_grad` +
/// `run_backward`). The frontend never differentiates by itself.
pub trait AutogradOps: BackendBase {
    /// A new trainable leaf holding a copy of `t`'s values (float dtypes only).
    fn param(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// Whether `t` is a trainable leaf made by [`AutogradOps::param`].
    fn is_param(t: &Self::Tensor) -> bool;
    /// The same values, cut from the autograd graph (shares storage, no copy).
    fn detach(t: &Self::Tensor) -> Self::Tensor;
    /// Gradients of the scalar `loss` with respect to each of `params`; `None` where a
    /// parameter does not influence the loss. Frees the graph.
    fn grad(loss: &Self::Tensor, params: &[Self::Tensor]) -> Result<Vec<Option<Self::Tensor>>>;
    /// Overwrites `param`'s values with `value` in place: the parameter keeps its identity
    /// (every handle to it sees the new values) and no graph is recorded.
    fn assign(param: &Self::Tensor, value: &Self::Tensor) -> Result<()>;
    /// Runs `f` without recording a graph where the engine has such a mode (libtorch);
    /// engines without one (candle) run `f` as is and callers detach results.
    fn no_grad<R>(f: impl FnOnce() -> R) -> R {
        f()
    }
}
