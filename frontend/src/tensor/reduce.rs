//! Reductions over axes: sum, mean, max, min, argmax, argmin.

use super::{resolve_axis, Tensor};
use crate::backend::Backend;
use crate::error::Result;

/// An engine reduction over axes (`B::sum`, `B::mean`, `B::max`, `B::min`): tensor, axes,
/// `keepdim`.
type Reduction<T> = fn(&T, &[usize], bool) -> Result<T>;

impl<B: Backend> Tensor<B> {
    fn axes(&self, axes: &[isize], op: &str) -> Result<Vec<usize>> {
        let s = self.shape();
        let mut out = Vec::with_capacity(axes.len());
        for &a in axes {
            let r = resolve_axis(a, s.len(), op, &s)?;
            if !out.contains(&r) {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// `f` (one of the engine's reductions) over `axes` resolved for `op`.
    fn reduce(
        &self,
        axes: &[isize],
        keepdim: bool,
        op: &str,
        f: Reduction<B::Tensor>,
    ) -> Result<Self> {
        let a = self.axes(axes, op)?;
        Ok(Self::new(f(&self.inner, &a, keepdim)?))
    }
    /// Sum over `axes`.
    pub fn sum(&self, axes: &[isize], keepdim: bool) -> Result<Self> {
        self.reduce(axes, keepdim, "sum", B::sum)
    }
    /// Mean over `axes`.
    pub fn mean(&self, axes: &[isize], keepdim: bool) -> Result<Self> {
        self.reduce(axes, keepdim, "mean", B::mean)
    }
    /// Maximum over `axes`.
    pub fn max(&self, axes: &[isize], keepdim: bool) -> Result<Self> {
        self.reduce(axes, keepdim, "max", B::max)
    }
    /// Minimum over `axes`.
    pub fn min(&self, axes: &[isize], keepdim: bool) -> Result<Self> {
        self.reduce(axes, keepdim, "min", B::min)
    }
    /// Sum of every element (rank 0).
    pub fn sum_all(&self) -> Result<Self> {
        let all: Vec<usize> = (0..self.rank()).collect();
        Ok(Self::new(B::sum(&self.inner, &all, false)?))
    }
    /// Mean of every element (rank 0).
    pub fn mean_all(&self) -> Result<Self> {
        let all: Vec<usize> = (0..self.rank()).collect();
        Ok(Self::new(B::mean(&self.inner, &all, false)?))
    }
    /// Index of the maximum along `axis` (`i64`).
    pub fn argmax(&self, axis: isize, keepdim: bool) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "argmax", &s)?;
        Ok(Self::new(B::argmax(&self.inner, a, keepdim)?))
    }
    /// Index of the minimum along `axis` (`i64`).
    pub fn argmin(&self, axis: isize, keepdim: bool) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "argmin", &s)?;
        Ok(Self::new(B::argmin(&self.inner, a, keepdim)?))
    }
}
