//! Fused optimizer steps with libtorch's in-place kernels.
//!
//! Adam is `lerp_` for both moments (`m + (g - m) * (1 - beta_1)` is exactly Keras'
//! formula; libtorch's vectorised `lerp` may use a fused multiply-add, so results can
//! differ from the default in the last bit), `maximum` into `vhat` for AMSGrad, then
//! `sqrt`, `add_`, `div` into the same buffer, `mul_` and `sub_` on the parameter: two
//! temporary tensors per parameter instead of about ten, and no copy back. SGD is `mul_`
//! and `sub_`/`add_` on the velocity and parameter. Everything runs under no-grad, on any
//! device libtorch supports.
//!
//! On the CPU, for contiguous `f32` operands, Adam is instead one pass in Rust over the
//! five buffers ([`adam_cpu_f32`]), split across libtorch's intra-op thread count for large
//! parameters: the role `torch.optim.Adam(fused=True)` plays in PyTorch. libtorch's
//! in-place chain above reads and writes each buffer about eight times.

use crate::{wrap, Tch, TchTensor};
use stratanet_frontend::backend::{
    check_adam_operands, check_sgd_operands, AdamStep, OptimOps, SgdStep,
};
use stratanet_frontend::Result;
use tch::TchError;

/// A second handle to the same tensor, for libtorch's `&mut self` in-place calls.
fn handle(t: &TchTensor) -> tch::Tensor {
    t.0.shallow_clone()
}

/// A handle to `param`, multiplied in place by `decay` (decoupled weight decay) unless it
/// is 1.
fn decayed(param: &TchTensor, decay: f64) -> std::result::Result<tch::Tensor, TchError> {
    let mut p = handle(param);
    if decay != 1.0 {
        let _ = p.f_mul_scalar_(decay)?;
    }
    Ok(p)
}

/// Runs an in-place update under no-grad, its libtorch errors wrapped as `op`'s.
fn fused(op: &str, update: impl FnOnce() -> std::result::Result<(), TchError>) -> Result<()> {
    let _guard = tch::no_grad_guard();
    update().map_err(wrap(op))
}

impl OptimOps for Tch {
    /// `detach_copy`, made contiguous when libtorch kept the source's strides.
    fn copy(t: &TchTensor) -> Result<TchTensor> {
        let c = t.0.f_detach_copy().map_err(wrap("copy"))?;
        if c.is_contiguous() {
            Ok(TchTensor(c))
        } else {
            c.f_contiguous().map(TchTensor).map_err(wrap("copy"))
        }
    }

    fn adam_step(
        param: &TchTensor,
        grad: &TchTensor,
        m: &TchTensor,
        v: &TchTensor,
        vhat: Option<&TchTensor>,
        h: &AdamStep,
    ) -> Result<()> {
        check_adam_operands::<Tch>(param, grad, m, v, vhat)?;
        if adam_cpu_f32(param, grad, m, v, vhat, h) {
            return Ok(());
        }
        fused("adam_step", || {
            let mut p = decayed(param, h.decay)?;
            let _ = handle(m).f_lerp_(&grad.0, 1.0 - h.beta_1)?;
            let _ = handle(v).f_lerp_(&grad.0.f_square()?, 1.0 - h.beta_2)?;
            let denom_v = match vhat {
                Some(vh) => {
                    let _ = vh.0.f_maximum_out(&vh.0, &v.0)?;
                    &vh.0
                }
                None => &v.0,
            };
            // d = (m / (sqrt(v) + eps)) * lr_t, in one buffer; then p -= d.
            let mut d = denom_v.f_sqrt()?;
            let _ = d.f_add_scalar_(h.epsilon)?;
            let _ = m.0.f_div_out(&d, &d)?;
            let _ = d.f_mul_scalar_(h.lr_t)?;
            let _ = p.f_sub_(&d)?;
            Ok(())
        })
    }

    fn sgd_step(
        param: &TchTensor,
        grad: &TchTensor,
        velocity: Option<&TchTensor>,
        h: &SgdStep,
    ) -> Result<()> {
        check_sgd_operands::<Tch>(param, grad, velocity)?;
        fused("sgd_step", || {
            let mut p = decayed(param, h.decay)?;
            let lr_g = grad.0.f_mul_scalar(h.lr)?;
            match velocity {
                None => {
                    let _ = p.f_sub_(&lr_g)?;
                }
                Some(v) => {
                    let mut vv = handle(v);
                    let _ = vv.f_mul_scalar_(h.momentum)?;
                    let _ = vv.f_sub_(&lr_g)?;
                    if h.nesterov {
                        let mut upd = v.0.f_mul_scalar(h.momentum)?;
                        let _ = upd.f_sub_(&lr_g)?;
                        let _ = p.f_add_(&upd)?;
                    } else {
                        let _ = p.f_add_(&v.0)?;
                    }
                }
            }
            Ok(())
        })
    }
}

/// Elements below which a parameter's Adam step runs on one thread.
const PARALLEL_MIN: usize = 1 << 15;

/// One-pass Adam on contiguous CPU `f32` buffers; `false` (nothing written) when an operand
/// is on another device, of another dtype, not contiguous, or shares storage with another
/// (then the libtorch chain runs).
///
/// Per element, in `f32` (the formula of [`AdamStep`]): `m += (g - m) * (1 - beta_1)`,
/// `v += (g * g - v) * (1 - beta_2)`, `vhat = max(vhat, v)` under AMSGrad, then
/// `p = p * decay - lr_t * m / (sqrt(vhat or v) + epsilon)`.
fn adam_cpu_f32(
    param: &TchTensor,
    grad: &TchTensor,
    m: &TchTensor,
    v: &TchTensor,
    vhat: Option<&TchTensor>,
    h: &AdamStep,
) -> bool {
    let mut all = vec![&param.0, &grad.0, &m.0, &v.0];
    all.extend(vhat.map(|t| &t.0));
    let n = param.0.numel();
    let eligible = all.iter().all(|t| {
        t.device() == tch::Device::Cpu
            && t.kind() == tch::Kind::Float
            && t.is_contiguous()
            && t.numel() == n
    });
    if !eligible || n == 0 {
        return false;
    }
    let ptrs: Vec<usize> = all.iter().map(|t| t.data_ptr() as usize).collect();
    let bytes = n * std::mem::size_of::<f32>();
    for (i, &a) in ptrs.iter().enumerate() {
        if ptrs[i + 1..]
            .iter()
            .any(|&b| a < b + bytes && b < a + bytes)
        {
            return false;
        }
    }
    // SAFETY: every buffer is a live, contiguous CPU f32 tensor of `n` elements (checked
    // above), they do not overlap (checked above), and the tensors outlive this call; the
    // gradient is only read. Libtorch runs nothing on these tensors meanwhile: the step
    // happens between backward and the next forward, on the calling thread.
    let (p, g, mm, vv, vh) = unsafe {
        (
            std::slice::from_raw_parts_mut(ptrs[0] as *mut f32, n),
            std::slice::from_raw_parts(ptrs[1] as *const f32, n),
            std::slice::from_raw_parts_mut(ptrs[2] as *mut f32, n),
            std::slice::from_raw_parts_mut(ptrs[3] as *mut f32, n),
            ptrs.get(4)
                .map(|&a| std::slice::from_raw_parts_mut(a as *mut f32, n)),
        )
    };
    let threads = usize::try_from(tch::get_num_threads()).unwrap_or(1).max(1);
    let parts = if n >= PARALLEL_MIN {
        threads.min(n / (PARALLEL_MIN / 2))
    } else {
        1
    };
    if parts <= 1 {
        adam_slices(p, g, mm, vv, vh, h);
        return true;
    }
    let chunk = n.div_ceil(parts);
    std::thread::scope(|s| {
        let mut vh_chunks = vh.map(|x| x.chunks_mut(chunk));
        let mut work = Vec::with_capacity(parts);
        for (((p, g), mm), vv) in p
            .chunks_mut(chunk)
            .zip(g.chunks(chunk))
            .zip(mm.chunks_mut(chunk))
            .zip(vv.chunks_mut(chunk))
        {
            let vh = vh_chunks.as_mut().and_then(Iterator::next);
            work.push((p, g, mm, vv, vh));
        }
        let last = work.pop();
        for (p, g, mm, vv, vh) in work {
            s.spawn(move || adam_slices(p, g, mm, vv, vh, h));
        }
        if let Some((p, g, mm, vv, vh)) = last {
            adam_slices(p, g, mm, vv, vh, h);
        }
    });
    true
}

/// The per-element Adam update of [`adam_cpu_f32`] on one chunk.
fn adam_slices(
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    vhat: Option<&mut [f32]>,
    h: &AdamStep,
) {
    let (w1, w2) = ((1.0 - h.beta_1) as f32, (1.0 - h.beta_2) as f32);
    let (lr_t, eps, decay) = (h.lr_t as f32, h.epsilon as f32, h.decay as f32);
    match vhat {
        None => {
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m += (g - *m) * w1;
                *v += (g * g - *v) * w2;
                *p = *p * decay - lr_t * (*m / (v.sqrt() + eps));
            }
        }
        Some(vh) => {
            let it = p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut());
            for ((((p, &g), m), v), vh) in it.zip(vh.iter_mut()) {
                *m += (g - *m) * w1;
                *v += (g * g - *v) * w2;
                *vh = vh.max(*v);
                *p = *p * decay - lr_t * (*m / (vh.sqrt() + eps));
            }
        }
    }
}
