//! Autograd: parameters, detaching, gradients and in-place assignment.

use super::Tensor;
use crate::backend::Backend;
use crate::error::{Error, Result};

impl<B: Backend> Tensor<B> {
    /// A trainable parameter holding a copy of these values.
    pub fn to_param(&self) -> Result<Self> {
        Ok(Self::new(B::param(&self.inner)?))
    }
    /// Whether this is a trainable parameter.
    pub fn is_param(&self) -> bool {
        B::is_param(&self.inner)
    }
    /// The same values cut from the autograd graph.
    pub fn detach(&self) -> Self {
        Self::new(B::detach(&self.inner))
    }
    /// Gradients of this scalar with respect to `params` (`None` where unused).
    pub fn grad(&self, params: &[Self]) -> Result<Vec<Option<Self>>> {
        if self.numel() != 1 {
            return Err(Error::shape("grad", "loss", "a scalar", &self.shape()));
        }
        let inner: Vec<B::Tensor> = params.iter().map(|p| p.inner.clone()).collect();
        Ok(B::grad(&self.inner, &inner)?
            .into_iter()
            .map(|g| g.map(Self::new))
            .collect())
    }
    /// Overwrites this parameter's values in place.
    pub fn assign(&self, value: &Self) -> Result<()> {
        if self.shape() != value.shape() {
            return Err(Error::mismatch("assign", &self.shape(), &value.shape()));
        }
        let v = value.to_dtype(self.dtype())?;
        B::assign(&self.inner, &v.inner)
    }
}
