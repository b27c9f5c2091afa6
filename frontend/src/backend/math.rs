//! Elementwise arithmetic.

use super::base::BackendBase;
use crate::error::Result;

/// Elementwise math. Binary operations broadcast by numpy rules; both operands must have
/// the same dtype.
pub trait MathOps: BackendBase {
    /// `a + b`.
    fn add(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// `a - b`.
    fn sub(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// `a * b`.
    fn mul(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// `a / b`.
    fn div(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// `a ^ b` (floats).
    fn pow(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// Elementwise maximum (gradient flows to the larger operand).
    fn maximum(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// Elementwise minimum.
    fn minimum(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;

    /// `t * mul + add` with host scalars (no host sync).
    fn affine(t: &Self::Tensor, mul: f64, add: f64) -> Result<Self::Tensor>;
    /// `t ^ exponent` with a host scalar exponent.
    fn powf(t: &Self::Tensor, exponent: f64) -> Result<Self::Tensor>;
    /// Clamps into `[min, max]`.
    fn clamp(t: &Self::Tensor, min: f64, max: f64) -> Result<Self::Tensor>;

    /// `-t`.
    fn neg(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// `|t|`.
    fn abs(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// `e^t`.
    fn exp(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// Natural logarithm.
    fn log(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// Square root.
    fn sqrt(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// `t * t`.
    fn square(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// `1 / t`.
    fn recip(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// Sine.
    fn sin(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// Cosine.
    fn cos(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// Hyperbolic tangent.
    fn tanh(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// Gauss error function.
    fn erf(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// `max(t, 0)`.
    fn relu(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// Sign: -1, 0 or 1 (no gradient).
    fn sign(t: &Self::Tensor) -> Result<Self::Tensor>;
}
