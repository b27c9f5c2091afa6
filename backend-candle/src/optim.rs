//! Fused optimizer steps as candle in-place custom ops (`InplaceOp2`/`InplaceOp3`).
//!
//! On the CPU, for contiguous `f32`/`f64` tensors, an Adam step is three or four passes
//! that write `m`, `v` (`vhat`) and the parameter where they are, instead of about ten
//! allocating kernels and a copy; SGD is one or two passes. Each pass performs, element by
//! element, the same `f32`/`f64` operations in the same order as the frontend's default
//! (candle's `affine` is `x * mul + add`), so the results are bit-identical to it. Other
//! devices, dtypes and layouts use the default.

use crate::{wrap, Candle};
use candle_core::{CpuStorage, InplaceOp2, InplaceOp3, Layout, Tensor};
use stratanet_frontend::backend::{
    adam_step_default, check_adam_operands, check_sgd_operands, sgd_step_default, AdamStep,
    OptimOps, SgdStep,
};
use stratanet_frontend::Result;

/// Elementwise `f32`/`f64` arithmetic for the kernels.
trait Elem: Copy + std::ops::Add<Output = Self> + std::ops::Sub<Output = Self> {
    fn of(x: f64) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    fn sqrt(self) -> Self;
    fn max(self, o: Self) -> Self;
}

macro_rules! elem {
    ($t:ty) => {
        impl Elem for $t {
            fn of(x: f64) -> Self {
                x as $t
            }
            fn mul(self, o: Self) -> Self {
                self * o
            }
            fn div(self, o: Self) -> Self {
                self / o
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn max(self, o: Self) -> Self {
                // candle's `maximum`: the first operand unless the second is larger.
                if o > self {
                    o
                } else {
                    self
                }
            }
        }
    };
}
elem!(f32);
elem!(f64);

/// The contiguous window of a storage slice a layout describes.
fn window<'a, T>(name: &str, data: &'a [T], l: &Layout) -> candle_core::Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => candle_core::bail!("{name}: operands must be contiguous"),
    }
}

fn window_mut<'a, T>(
    name: &str,
    data: &'a mut [T],
    l: &Layout,
) -> candle_core::Result<&'a mut [T]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&mut data[a..b]),
        None => candle_core::bail!("{name}: operands must be contiguous"),
    }
}

/// `dst = f(dst, src)` elementwise.
#[derive(Clone, Copy, Debug)]
enum Op2 {
    /// `d + (s - d) * w` (Adam's first moment).
    Lerp(f64),
    /// `d + (s * s - d) * w` (Adam's second moment).
    LerpSquare(f64),
    /// `max(d, s)` (AMSGrad).
    Max,
    /// `d * momentum - s * lr` (SGD's velocity).
    Velocity { momentum: f64, lr: f64 },
    /// `d * decay - s * lr` (plain SGD; the decay is skipped when 1).
    Descend { decay: f64, lr: f64 },
    /// `d * decay + s` (SGD with momentum: adds the velocity).
    AddDecayed { decay: f64 },
}

impl Op2 {
    fn run<T: Elem>(self, d: &mut [T], s: &[T]) {
        match self {
            Op2::Lerp(w) => {
                let w = T::of(w);
                for (d, &s) in d.iter_mut().zip(s) {
                    *d = *d + (s - *d).mul(w);
                }
            }
            Op2::LerpSquare(w) => {
                let w = T::of(w);
                for (d, &s) in d.iter_mut().zip(s) {
                    *d = *d + (s.mul(s) - *d).mul(w);
                }
            }
            Op2::Max => {
                for (d, &s) in d.iter_mut().zip(s) {
                    *d = d.max(s);
                }
            }
            Op2::Velocity { momentum, lr } => {
                let (mo, lr) = (T::of(momentum), T::of(lr));
                for (d, &s) in d.iter_mut().zip(s) {
                    *d = d.mul(mo) - s.mul(lr);
                }
            }
            Op2::Descend { decay, lr } => {
                let lr = T::of(lr);
                if decay == 1.0 {
                    for (d, &s) in d.iter_mut().zip(s) {
                        *d = *d - s.mul(lr);
                    }
                } else {
                    let k = T::of(decay);
                    for (d, &s) in d.iter_mut().zip(s) {
                        *d = d.mul(k) - s.mul(lr);
                    }
                }
            }
            Op2::AddDecayed { decay } => {
                if decay == 1.0 {
                    for (d, &s) in d.iter_mut().zip(s) {
                        *d = *d + s;
                    }
                } else {
                    let k = T::of(decay);
                    for (d, &s) in d.iter_mut().zip(s) {
                        *d = d.mul(k) + s;
                    }
                }
            }
        }
    }
}

/// `dst = f(dst, a, b)` elementwise.
#[derive(Clone, Copy, Debug)]
enum Op3 {
    /// `d * decay - (a / (sqrt(b) + eps)) * lr_t` (Adam's parameter update, `a = m`,
    /// `b = v` or `vhat`; the decay is skipped when 1).
    Adam { decay: f64, lr_t: f64, eps: f64 },
    /// `d * decay + ((a * momentum - b * lr))` (Nesterov SGD, `a` the new velocity, `b`
    /// the gradient).
    Nesterov { decay: f64, momentum: f64, lr: f64 },
}

impl Op3 {
    fn run<T: Elem>(self, d: &mut [T], a: &[T], b: &[T]) {
        match self {
            Op3::Adam { decay, lr_t, eps } => {
                let (lr_t, eps) = (T::of(lr_t), T::of(eps));
                let k = T::of(decay);
                let skip = decay == 1.0;
                for ((d, &a), &b) in d.iter_mut().zip(a).zip(b) {
                    let w = if skip { *d } else { d.mul(k) };
                    *d = w - a.div(b.sqrt() + eps).mul(lr_t);
                }
            }
            Op3::Nesterov {
                decay,
                momentum,
                lr,
            } => {
                let (mo, lr) = (T::of(momentum), T::of(lr));
                let k = T::of(decay);
                let skip = decay == 1.0;
                for ((d, &a), &b) in d.iter_mut().zip(a).zip(b) {
                    let w = if skip { *d } else { d.mul(k) };
                    *d = w + (a.mul(mo) - b.mul(lr));
                }
            }
        }
    }
}

/// Implements candle's in-place custom-op trait for a kernel enum with a
/// `run(dst, operands...)` method: the CPU forward takes the contiguous windows of
/// `f32`/`f64` storages of one dtype and hands them to `run`.
macro_rules! cpu_inplace_op {
    ($op:ty: $trait:ident, $($s:ident $l:ident),+) => {
        impl $trait for $op {
            fn name(&self) -> &'static str {
                "stratanet-optimizer-step"
            }
            fn cpu_fwd(
                &self,
                s1: &mut CpuStorage,
                l1: &Layout,
                $($s: &CpuStorage, $l: &Layout),+
            ) -> candle_core::Result<()> {
                let name = self.name();
                match (s1, $($s),+) {
                    (CpuStorage::F32(d), $(CpuStorage::F32($s)),+) => {
                        self.run(window_mut(name, d, l1)?, $(window(name, $s, $l)?),+)
                    }
                    (CpuStorage::F64(d), $(CpuStorage::F64($s)),+) => {
                        self.run(window_mut(name, d, l1)?, $(window(name, $s, $l)?),+)
                    }
                    _ => candle_core::bail!("{name}: f32 or f64 operands of one dtype expected"),
                }
                Ok(())
            }
        }
    };
}
cpu_inplace_op!(Op2: InplaceOp2, s2 l2);
cpu_inplace_op!(Op3: InplaceOp3, s2 l2, s3 l3);

/// Whether the in-place kernels apply: CPU, `f32`/`f64`, every written tensor contiguous.
fn fusable(written: &[&Tensor]) -> bool {
    written.iter().all(|t| {
        t.device().is_cpu()
            && matches!(t.dtype(), candle_core::DType::F32 | candle_core::DType::F64)
            && t.is_contiguous()
    })
}

impl OptimOps for Candle {
    /// `detach` + `copy` (candle's `copy` always allocates contiguous storage).
    fn copy(t: &Tensor) -> Result<Tensor> {
        t.detach().copy().map_err(wrap("copy"))
    }

    /// In-place custom ops on the CPU: `m` and `v` (and `vhat`) in one pass each, then the
    /// parameter in one pass; the default elsewhere.
    fn adam_step(
        param: &Tensor,
        grad: &Tensor,
        m: &Tensor,
        v: &Tensor,
        vhat: Option<&Tensor>,
        h: &AdamStep,
    ) -> Result<()> {
        let op = "adam_step";
        let mut written = vec![param, m, v];
        written.extend(vhat);
        if !fusable(&written) {
            return adam_step_default::<Candle>(param, grad, m, v, vhat, h);
        }
        check_adam_operands::<Candle>(param, grad, m, v, vhat)?;
        let g = grad.detach().contiguous().map_err(wrap(op))?;
        m.inplace_op2(&g, &Op2::Lerp(1.0 - h.beta_1))
            .map_err(wrap(op))?;
        v.inplace_op2(&g, &Op2::LerpSquare(1.0 - h.beta_2))
            .map_err(wrap(op))?;
        let denom = match vhat {
            Some(vh) => {
                vh.inplace_op2(v, &Op2::Max).map_err(wrap(op))?;
                vh
            }
            None => v,
        };
        param
            .inplace_op3(
                m,
                denom,
                &Op3::Adam {
                    decay: h.decay,
                    lr_t: h.lr_t,
                    eps: h.epsilon,
                },
            )
            .map_err(wrap(op))
    }

    /// In-place custom ops on the CPU: the velocity in one pass, the parameter in one
    /// pass; the default elsewhere.
    fn sgd_step(
        param: &Tensor,
        grad: &Tensor,
        velocity: Option<&Tensor>,
        h: &SgdStep,
    ) -> Result<()> {
        let op = "sgd_step";
        let mut written = vec![param];
        written.extend(velocity);
        if !fusable(&written) {
            return sgd_step_default::<Candle>(param, grad, velocity, h);
        }
        check_sgd_operands::<Candle>(param, grad, velocity)?;
        let g = grad.detach().contiguous().map_err(wrap(op))?;
        let Some(v) = velocity else {
            return param
                .inplace_op2(
                    &g,
                    &Op2::Descend {
                        decay: h.decay,
                        lr: h.lr,
                    },
                )
                .map_err(wrap(op));
        };
        v.inplace_op2(
            &g,
            &Op2::Velocity {
                momentum: h.momentum,
                lr: h.lr,
            },
        )
        .map_err(wrap(op))?;
        if h.nesterov {
            param
                .inplace_op3(
                    v,
                    &g,
                    &Op3::Nesterov {
                        decay: h.decay,
                        momentum: h.momentum,
                        lr: h.lr,
                    },
                )
                .map_err(wrap(op))
        } else {
            param
                .inplace_op2(v, &Op2::AddDecayed { decay: h.decay })
                .map_err(wrap(op))
        }
    }
}
