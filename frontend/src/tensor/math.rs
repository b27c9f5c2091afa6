//! Element-wise math: binary and scalar arithmetic, matmul, comparisons, unary functions and activations, and the `+ - * /` operators.

use super::{broadcast_shape, resolve_axis, Tensor};
use crate::backend::Backend;
use crate::error::{Error, Result};

impl<B: Backend> Tensor<B> {
    fn check_binary(&self, other: &Self, op: &str) -> Result<()> {
        if self.dtype() != other.dtype() {
            return Err(Error::DType {
                op: op.into(),
                argument: "rhs".into(),
                expected: self.dtype().to_string(),
                got: other.dtype().to_string(),
            });
        }
        let (a, b) = (self.shape(), other.shape());
        if broadcast_shape(&a, &b).is_none() {
            return Err(Error::mismatch(op, &a, &b));
        }
        Ok(())
    }

    /// `self + other` (broadcasting).
    pub fn add(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "add")?;
        Ok(Self::new(B::add(&self.inner, &other.inner)?))
    }
    /// `self - other` (broadcasting).
    pub fn sub(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "sub")?;
        Ok(Self::new(B::sub(&self.inner, &other.inner)?))
    }
    /// `self * other` (broadcasting).
    pub fn mul(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "mul")?;
        Ok(Self::new(B::mul(&self.inner, &other.inner)?))
    }
    /// `self / other` (broadcasting).
    pub fn div(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "div")?;
        Ok(Self::new(B::div(&self.inner, &other.inner)?))
    }
    /// `self ^ other` (broadcasting).
    pub fn pow(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "pow")?;
        Ok(Self::new(B::pow(&self.inner, &other.inner)?))
    }
    /// Elementwise maximum.
    pub fn maximum(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "maximum")?;
        Ok(Self::new(B::maximum(&self.inner, &other.inner)?))
    }
    /// Elementwise minimum.
    pub fn minimum(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "minimum")?;
        Ok(Self::new(B::minimum(&self.inner, &other.inner)?))
    }
    /// `self * mul + add`.
    pub fn affine(&self, mul: f64, add: f64) -> Result<Self> {
        Ok(Self::new(B::affine(&self.inner, mul, add)?))
    }
    /// `self + value`.
    pub fn add_scalar(&self, value: f64) -> Result<Self> {
        self.affine(1.0, value)
    }
    /// `self * value`.
    pub fn mul_scalar(&self, value: f64) -> Result<Self> {
        self.affine(value, 0.0)
    }
    /// `self ^ exponent`.
    pub fn powf(&self, exponent: f64) -> Result<Self> {
        Ok(Self::new(B::powf(&self.inner, exponent)?))
    }
    /// Clamps into `[min, max]`.
    pub fn clamp(&self, min: f64, max: f64) -> Result<Self> {
        Ok(Self::new(B::clamp(&self.inner, min, max)?))
    }
    /// Batched matrix product (batch axes broadcast).
    pub fn matmul(&self, other: &Self) -> Result<Self> {
        let (a, b) = (self.shape(), other.shape());
        if a.len() < 2 || b.len() < 2 || a[a.len() - 1] != b[b.len() - 2] {
            return Err(Error::ShapeMismatch {
                op: "matmul".into(),
                lhs: crate::error::ShapeList(a),
                rhs: crate::error::ShapeList(b),
                detail: Some("expected [..., m, k] x [..., k, n]".into()),
            });
        }
        self.check_binary(other, "matmul").or_else(|e| match e {
            Error::ShapeMismatch { .. } => Ok(()),
            e => Err(e),
        })?;
        Ok(Self::new(B::matmul(&self.inner, &other.inner)?))
    }

    /// `self [m, k] x w [k, n] + b [n]`, the bias added to every row (a `Dense` layer's
    /// affine map), in one engine call where the engine has a fused kernel
    /// ([`LinalgOps::matmul_bias`](crate::backend::LinalgOps::matmul_bias)).
    ///
    /// # Errors
    /// [`Error::DType`] when `w` or `b` has another dtype; [`Error::Shape`] or
    /// [`Error::ShapeMismatch`] naming the operand whose shape does not fit.
    pub fn matmul_bias(&self, w: &Self, b: &Self) -> Result<Self> {
        self.same_dtypes("matmul_bias", &[("kernel", w), ("bias", b)])?;
        crate::backend::check::check_matmul_bias(
            "matmul_bias",
            &self.shape(),
            &w.shape(),
            &b.shape(),
        )?;
        Ok(Self::new(B::matmul_bias(&self.inner, &w.inner, &b.inner)?))
    }

    /// `max(self [m, k] x w [k, n] (+ b [n]), 0)`: a `Dense` layer with a ReLU, in one
    /// engine call where the engine fuses it
    /// ([`LinalgOps::dense_relu`](crate::backend::LinalgOps::dense_relu)).
    ///
    /// # Errors
    /// [`Error::DType`] when `w` or `b` has another dtype; [`Error::Shape`] or
    /// [`Error::ShapeMismatch`] naming the operand whose shape does not fit.
    pub fn dense_relu(&self, w: &Self, b: Option<&Self>) -> Result<Self> {
        let op = "dense_relu";
        match b {
            Some(b) => self.same_dtypes(op, &[("kernel", w), ("bias", b)])?,
            None => self.same_dtypes(op, &[("kernel", w)])?,
        }
        let bs = b.map(Self::shape);
        crate::backend::check::check_dense_relu(&self.shape(), &w.shape(), bs.as_deref())?;
        Ok(Self::new(B::dense_relu(
            &self.inner,
            &w.inner,
            b.map(|b| &b.inner),
        )?))
    }

    /// [`Error::DType`] naming the first of `others` whose dtype differs from `self`'s.
    fn same_dtypes(&self, op: &str, others: &[(&str, &Self)]) -> Result<()> {
        for (argument, t) in others {
            if t.dtype() != self.dtype() {
                return Err(Error::DType {
                    op: op.into(),
                    argument: (*argument).into(),
                    expected: self.dtype().to_string(),
                    got: t.dtype().to_string(),
                });
            }
        }
        Ok(())
    }

    /// Elementwise comparison `==` (result dtype `Bool`).
    pub fn eq(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "eq")?;
        Ok(Self::new(B::eq(&self.inner, &other.inner)?))
    }
    /// `!=`.
    pub fn ne(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "ne")?;
        Ok(Self::new(B::ne(&self.inner, &other.inner)?))
    }
    /// `<`.
    pub fn lt(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "lt")?;
        Ok(Self::new(B::lt(&self.inner, &other.inner)?))
    }
    /// `<=`.
    pub fn le(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "le")?;
        Ok(Self::new(B::le(&self.inner, &other.inner)?))
    }
    /// `>`.
    pub fn gt(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "gt")?;
        Ok(Self::new(B::gt(&self.inner, &other.inner)?))
    }
    /// `>=`.
    pub fn ge(&self, other: &Self) -> Result<Self> {
        self.check_binary(other, "ge")?;
        Ok(Self::new(B::ge(&self.inner, &other.inner)?))
    }
    /// Comparison with a scalar: `self > value`.
    pub fn gt_scalar(&self, value: f64) -> Result<Self> {
        self.gt(&self.scalar_like(value)?)
    }
    /// `on_true` where this `Bool` mask is set, else `on_false`.
    pub fn where_cond(&self, on_true: &Self, on_false: &Self) -> Result<Self> {
        Ok(Self::new(B::where_cond(
            &self.inner,
            &on_true.inner,
            &on_false.inner,
        )?))
    }
}

macro_rules! unary {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        impl<B: Backend> Tensor<B> {
            $(
                $(#[$doc])*
                pub fn $name(&self) -> Result<Self> {
                    Ok(Self::new(B::$name(&self.inner)?))
                }
            )*
        }
    };
}

unary!(
    /// `-self`.
    neg,
    /// `|self|`.
    abs,
    /// `e^self`.
    exp,
    /// Natural logarithm.
    log,
    /// Square root.
    sqrt,
    /// `self * self`.
    square,
    /// `1 / self`.
    recip,
    /// Sine.
    sin,
    /// Cosine.
    cos,
    /// Hyperbolic tangent.
    tanh,
    /// Error function.
    erf,
    /// ReLU.
    relu,
    /// Sign (-1, 0, 1).
    sign,
    /// Logistic sigmoid.
    sigmoid,
    /// Softplus.
    softplus,
    /// `log(sigmoid(self))`.
    log_sigmoid,
    /// GELU (exact).
    gelu,
    /// GELU (tanh approximation).
    gelu_tanh,
    /// SiLU / swish.
    silu,
    /// SELU.
    selu,
);

impl<B: Backend> Tensor<B> {
    /// ELU with `alpha`.
    pub fn elu(&self, alpha: f64) -> Result<Self> {
        Ok(Self::new(B::elu(&self.inner, alpha)?))
    }
    /// Leaky ReLU with slope `alpha` below zero.
    pub fn leaky_relu(&self, alpha: f64) -> Result<Self> {
        Ok(Self::new(B::leaky_relu(&self.inner, alpha)?))
    }
    /// Softmax along `axis`.
    pub fn softmax(&self, axis: isize) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "softmax", &s)?;
        Ok(Self::new(B::softmax(&self.inner, a)?))
    }
    /// Log-softmax along `axis`.
    pub fn log_softmax(&self, axis: isize) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "log_softmax", &s)?;
        Ok(Self::new(B::log_softmax(&self.inner, a)?))
    }
    /// `log(sum(exp(self)))` along `axis`.
    pub fn logsumexp(&self, axis: isize, keepdim: bool) -> Result<Self> {
        let s = self.shape();
        let a = resolve_axis(axis, s.len(), "logsumexp", &s)?;
        Ok(Self::new(B::logsumexp(&self.inner, &[a], keepdim)?))
    }
}

macro_rules! binop {
    ($tr:ident, $m:ident, $f:ident) => {
        impl<B: Backend> std::ops::$tr<&Tensor<B>> for &Tensor<B> {
            type Output = Result<Tensor<B>>;
            fn $m(self, rhs: &Tensor<B>) -> Result<Tensor<B>> {
                Tensor::$f(self, rhs)
            }
        }
        impl<B: Backend> std::ops::$tr<Tensor<B>> for Tensor<B> {
            type Output = Result<Tensor<B>>;
            fn $m(self, rhs: Tensor<B>) -> Result<Tensor<B>> {
                Tensor::$f(&self, &rhs)
            }
        }
        impl<B: Backend> std::ops::$tr<&Tensor<B>> for Tensor<B> {
            type Output = Result<Tensor<B>>;
            fn $m(self, rhs: &Tensor<B>) -> Result<Tensor<B>> {
                Tensor::$f(&self, rhs)
            }
        }
        impl<B: Backend> std::ops::$tr<Tensor<B>> for &Tensor<B> {
            type Output = Result<Tensor<B>>;
            fn $m(self, rhs: Tensor<B>) -> Result<Tensor<B>> {
                Tensor::$f(self, &rhs)
            }
        }
    };
}
binop!(Add, add, add);
binop!(Sub, sub, sub);
binop!(Mul, mul, mul);
binop!(Div, div, div);

impl<B: Backend> std::ops::Add<f64> for &Tensor<B> {
    type Output = Result<Tensor<B>>;
    fn add(self, rhs: f64) -> Result<Tensor<B>> {
        self.affine(1.0, rhs)
    }
}
impl<B: Backend> std::ops::Sub<f64> for &Tensor<B> {
    type Output = Result<Tensor<B>>;
    fn sub(self, rhs: f64) -> Result<Tensor<B>> {
        self.affine(1.0, -rhs)
    }
}
impl<B: Backend> std::ops::Mul<f64> for &Tensor<B> {
    type Output = Result<Tensor<B>>;
    fn mul(self, rhs: f64) -> Result<Tensor<B>> {
        self.affine(rhs, 0.0)
    }
}
impl<B: Backend> std::ops::Div<f64> for &Tensor<B> {
    type Output = Result<Tensor<B>>;
    fn div(self, rhs: f64) -> Result<Tensor<B>> {
        self.affine(1.0 / rhs, 0.0)
    }
}
impl<B: Backend> std::ops::Neg for &Tensor<B> {
    type Output = Result<Tensor<B>>;
    fn neg(self) -> Result<Tensor<B>> {
        Tensor::neg(self)
    }
}
