//! Shape ops: reshape, permute, broadcast, squeeze, slicing, concatenation, gather, padding.

use super::{numel, resolve_axis, Tensor};
use crate::backend::Backend;
use crate::error::{Error, Result};

impl<B: Backend> Tensor<B> {
    /// New shape with the same element count; one entry may be `-1` (inferred).
    pub fn reshape(&self, shape: &[isize]) -> Result<Self> {
        let cur = self.shape();
        let n = numel(&cur);
        let known: usize = shape
            .iter()
            .filter(|&&d| d >= 0)
            .map(|&d| d as usize)
            .product();
        let holes = shape.iter().filter(|&&d| d < 0).count();
        let bad = || {
            Error::shape(
                "reshape",
                "input",
                format!("{} elements to fit shape {:?}", n, shape),
                &cur,
            )
        };
        if holes > 1 || shape.iter().any(|&d| d < -1) {
            return Err(bad());
        }
        let target: Vec<usize> = if holes == 1 {
            if known == 0 || n % known != 0 {
                return Err(bad());
            }
            shape
                .iter()
                .map(|&d| if d < 0 { n / known } else { d as usize })
                .collect()
        } else {
            shape.iter().map(|&d| d as usize).collect()
        };
        if numel(&target) != n {
            return Err(bad());
        }
        if target == cur {
            return Ok(self.clone());
        }
        Ok(Self::new(B::reshape(&self.inner, &target)?))
    }

    /// Reshape to an exact `usize` shape.
    pub fn reshape_to(&self, shape: &[usize]) -> Result<Self> {
        let s: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
        self.reshape(&s)
    }

    /// Reorders axes.
    pub fn permute(&self, axes: &[usize]) -> Result<Self> {
        let s = self.shape();
        let mut seen = vec![false; s.len()];
        if axes.len() != s.len()
            || axes
                .iter()
                .any(|&a| a >= s.len() || std::mem::replace(&mut seen[a], true))
        {
            return Err(Error::shape(
                "permute",
                "axes",
                format!("a permutation of 0..{} (got {:?})", s.len(), axes),
                &s,
            ));
        }
        Ok(Self::new(B::permute(&self.inner, axes)?))
    }

    /// Swaps two axes.
    pub fn transpose(&self, a: isize, b: isize) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(a, s.len(), "transpose", &s)?;
        let b = resolve_axis(b, s.len(), "transpose", &s)?;
        let mut axes: Vec<usize> = (0..s.len()).collect();
        axes.swap(a, b);
        self.permute(&axes)
    }

    /// Broadcasts to `shape`.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Self> {
        Ok(Self::new(B::broadcast_to(&self.inner, shape)?))
    }

    /// Inserts a size-1 axis at `axis`.
    pub fn unsqueeze(&self, axis: isize) -> Result<Self> {
        let mut s = self.shape();
        let a = resolve_axis(axis, s.len() + 1, "unsqueeze", &s)?;
        s.insert(a, 1);
        self.reshape_to(&s)
    }

    /// Removes a size-1 axis.
    pub fn squeeze(&self, axis: isize) -> Result<Self> {
        let mut s = self.shape();
        let a = resolve_axis(axis, s.len(), "squeeze", &s)?;
        if s[a] != 1 {
            return Err(Error::shape(
                "squeeze",
                "input",
                format!("size 1 on axis {axis}"),
                &s,
            ));
        }
        s.remove(a);
        self.reshape_to(&s)
    }

    /// Flattens every axis after the first: `[N, ...] -> [N, prod(...)]`.
    pub fn flatten_from_1(&self) -> Result<Self> {
        let s = self.shape();
        if s.is_empty() {
            return Err(Error::shape("flatten", "input", "rank at least 1", &s));
        }
        self.reshape_to(&[s[0], numel(&s[1..])])
    }

    /// `len` entries of `axis` from `start`.
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "narrow", &s)?;
        if start + len > s[a] {
            return Err(Error::shape(
                "narrow",
                "input",
                format!("axis {a} of size at least {}", start + len),
                &s,
            ));
        }
        Ok(Self::new(B::narrow(&self.inner, a, start, len)?))
    }

    /// Joins along an existing axis.
    pub fn concat(ts: &[Self], axis: isize) -> Result<Self> {
        let first = ts
            .first()
            .ok_or_else(|| Error::invalid("concat", "tensors", "at least one tensor"))?;
        let s = first.shape();
        let a = resolve_axis(axis, s.len(), "concat", &s)?;
        for t in ts {
            let o = t.shape();
            if o.len() != s.len()
                || o.iter()
                    .zip(&s)
                    .enumerate()
                    .any(|(i, (x, y))| i != a && x != y)
            {
                return Err(Error::mismatch("concat", &s, &o));
            }
        }
        let inner: Vec<B::Tensor> = ts.iter().map(|t| t.inner.clone()).collect();
        Ok(Self::new(B::concat(&inner, a)?))
    }

    /// Joins along a new axis.
    pub fn stack(ts: &[Self], axis: isize) -> Result<Self> {
        let first = ts
            .first()
            .ok_or_else(|| Error::invalid("stack", "tensors", "at least one tensor"))?;
        let s = first.shape();
        let a = resolve_axis(axis, s.len() + 1, "stack", &s)?;
        for t in ts {
            if t.shape() != s {
                return Err(Error::mismatch("stack", &s, &t.shape()));
            }
        }
        let inner: Vec<B::Tensor> = ts.iter().map(|t| t.inner.clone()).collect();
        Ok(Self::new(B::stack(&inner, a)?))
    }

    /// Rows (or entries of `axis`) selected by an `i64` index tensor.
    pub fn index_select(&self, indices: &Self, axis: isize) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "index_select", &s)?;
        Ok(Self::new(B::index_select(&self.inner, &indices.inner, a)?))
    }

    /// torch-style `gather` along `axis`.
    pub fn gather(&self, indices: &Self, axis: isize) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "gather", &s)?;
        Ok(Self::new(B::gather(&self.inner, &indices.inner, a)?))
    }

    /// Pads `axis` with `before`/`after` entries of `value`.
    pub fn pad(&self, axis: isize, before: usize, after: usize, value: f64) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "pad", &s)?;
        Ok(Self::new(B::pad(&self.inner, a, before, after, value)?))
    }
}
