//! The whole-sequence LSTM as one op with a hand-written backward pass (backpropagation
//! through time).
//!
//! The input projection `x @ kernel + bias` of every step is one candle `matmul` before
//! the op (so its gradient is candle's); the op [`LstmSeq`] takes that projection
//! `xw [N, T, 4U]`, the initial states side by side `hc0 [N, 2U]` and the recurrent kernel
//! `[U, 4U]`, and runs the recurrence with one `gemm` per step into preallocated buffers.
//! Its result `[N, T + 1, U]` holds `h_1 … h_T` and then `c_T`; the caller hands out the
//! outputs and both final states as views of it. What the backward pass needs besides
//! (every step's `c` and activated gates `i, f, g, o`) stays with the op instance, so
//! candle's graph carries only the small result. Gradients of the op's inputs are computed
//! directly (no candle graph), so a second-order gradient through it is not available.

use super::{cpu_data, gemm_into, Elem};
use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;
use std::sync::Mutex;

/// The fused LSTM recurrence over `t` steps of a batch of `n`, `u` units.
#[derive(Debug)]
pub(crate) struct LstmSeq {
    n: usize,
    t: usize,
    u: usize,
    /// Written by the forward pass: `[N, T, 5U]`, per step `c, i, f, g, o`.
    saved: Mutex<Option<CpuStorage>>,
}

fn check_len(op: &str, what: &str, got: usize, want: usize) -> candle_core::Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(candle_core::Error::Msg(format!(
            "{op}: {what} has {got} elements, expected {want}"
        )))
    }
}

impl LstmSeq {
    fn forward<T: Elem>(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let op = "lstm_sequence";
        let (n, t, u) = (self.n, self.t, self.u);
        let g4 = 4 * u;
        let xw = super::contiguous_slice::<T>(s1, l1, op)?;
        let hc0 = super::contiguous_slice::<T>(s2, l2, op)?;
        let r = super::contiguous_slice::<T>(s3, l3, op)?;
        check_len(op, "xw", xw.len(), n * t * g4)?;
        check_len(op, "initial states", hc0.len(), n * 2 * u)?;
        check_len(op, "recurrent kernel", r.len(), u * g4)?;
        let (ys, w5) = ((t + 1) * u, 5 * u);
        // y: per batch row, h_1 .. h_T then c_T; saved: per step c, i, f, g, o.
        let mut y = vec![T::ZERO; n * ys];
        let mut saved = vec![T::ZERO; n * t * w5];
        let mut z = vec![T::ZERO; n * g4];
        for step in 0..t {
            for (b, zb) in z.chunks_mut(g4).enumerate() {
                zb.copy_from_slice(&xw[(b * t + step) * g4..][..g4]);
            }
            let h_prev = if step == 0 {
                (hc0.as_ptr(), 2 * u, 1)
            } else {
                (y[(step - 1) * u..].as_ptr(), ys, 1)
            };
            // SAFETY: z is n x 4u contiguous; h_prev n x u rows (stride 2u in hc0,
            // (t + 1) u in y, both in bounds); r is u x 4u contiguous; z aliases neither.
            unsafe {
                gemm_into::<T>(
                    (n, g4, u),
                    (z.as_mut_ptr(), g4),
                    true,
                    h_prev,
                    (r.as_ptr(), g4, 1),
                    true,
                );
            }
            let z = &z;
            y.par_chunks_mut(ys)
                .zip(saved.par_chunks_mut(t * w5))
                .enumerate()
                .for_each(|(b, (yb, sb))| {
                    let zb = &z[b * g4..][..g4];
                    let (prev, row) = sb.split_at_mut(step * w5);
                    let row = &mut row[..w5];
                    let c_prev = if step == 0 {
                        &hc0[b * 2 * u + u..][..u]
                    } else {
                        &prev[(step - 1) * w5..][..u]
                    };
                    let h = &mut yb[step * u..][..u];
                    for j in 0..u {
                        let i = zb[j].sigmoid();
                        let f = zb[u + j].sigmoid();
                        let g = zb[2 * u + j].tanh();
                        let o = zb[3 * u + j].sigmoid();
                        let c = f * c_prev[j] + i * g;
                        h[j] = o * c.tanh();
                        row[j] = c;
                        row[u + j] = i;
                        row[2 * u + j] = f;
                        row[3 * u + j] = g;
                        row[4 * u + j] = o;
                    }
                });
        }
        for b in 0..n {
            let c_last = (b * t + t - 1) * w5;
            y[b * ys + t * u..][..u].copy_from_slice(&saved[c_last..][..u]);
        }
        if let Ok(mut slot) = self.saved.lock() {
            *slot = Some(T::storage(saved));
        }
        Ok((T::storage(y), Shape::from((n, t + 1, u))))
    }

    /// Gradients of `(xw, hc0, r)` from the result `y`, its gradient `dy` and what the
    /// forward pass saved.
    fn backward<T: Elem>(
        &self,
        hc0: &Tensor,
        r: &Tensor,
        y: &Tensor,
        dy: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        let op = "lstm_sequence backward";
        let (n, t, u) = (self.n, self.t, self.u);
        let (g4, w5, ys) = (4 * u, 5 * u, (t + 1) * u);
        let dev = y.device().clone();
        let dy = dy.contiguous()?;
        let guard = self
            .saved
            .lock()
            .map_err(|_| candle_core::Error::Msg(format!("{op}: saved state poisoned")))?;
        let Some(saved) = guard.as_ref() else {
            return Err(candle_core::Error::Msg(format!(
                "{op}: no forward pass ran"
            )));
        };
        let saved = T::slice(saved)?;
        check_len(op, "saved state", saved.len(), n * t * w5)?;
        cpu_data::<T, _>(hc0, |hc0| {
            cpu_data::<T, _>(r, |r| {
                cpu_data::<T, _>(y, |y| {
                    cpu_data::<T, _>(&dy, |dy| {
                        check_len(op, "result", y.len(), n * ys)?;
                        check_len(op, "gradient", dy.len(), n * ys)?;
                        let mut dxw = vec![T::ZERO; n * t * g4];
                        // Gradients flowing into step `step` from the later ones; c_T's
                        // own gradient is the last row of dy.
                        let mut dh = vec![T::ZERO; n * u];
                        let mut dc = vec![T::ZERO; n * u];
                        for (b, dcb) in dc.chunks_mut(u).enumerate() {
                            dcb.copy_from_slice(&dy[b * ys + t * u..][..u]);
                        }
                        for step in (0..t).rev() {
                            dxw.par_chunks_mut(t * g4)
                                .zip(dh.par_chunks(u))
                                .zip(dc.par_chunks_mut(u))
                                .enumerate()
                                .for_each(|(b, ((dzb, dhb), dcb))| {
                                    let sr = &saved[(b * t + step) * w5..][..w5];
                                    let dyr = &dy[b * ys + step * u..][..u];
                                    let c_prev = if step == 0 {
                                        &hc0[b * 2 * u + u..][..u]
                                    } else {
                                        &saved[(b * t + step - 1) * w5..][..u]
                                    };
                                    let dz = &mut dzb[step * g4..][..g4];
                                    for j in 0..u {
                                        let c = sr[j];
                                        let (i, f) = (sr[u + j], sr[2 * u + j]);
                                        let (g, o) = (sr[3 * u + j], sr[4 * u + j]);
                                        let tc = c.tanh();
                                        let dhj = dyr[j] + dhb[j];
                                        let dcj = dcb[j] + dhj * o * (T::ONE - tc * tc);
                                        dz[j] = dcj * g * i * (T::ONE - i);
                                        dz[u + j] = dcj * c_prev[j] * f * (T::ONE - f);
                                        dz[2 * u + j] = dcj * i * (T::ONE - g * g);
                                        dz[3 * u + j] = dhj * tc * o * (T::ONE - o);
                                        dcb[j] = dcj * f;
                                    }
                                });
                            // dh = dz_step @ r^T: r^T[a, j] = r[j * 4u + a].
                            // SAFETY: dh is n x u contiguous; dz_step n x 4u rows of
                            // stride t * 4u in dxw; r^T 4u x u; no aliasing.
                            unsafe {
                                gemm_into::<T>(
                                    (n, u, g4),
                                    (dh.as_mut_ptr(), u),
                                    false,
                                    (dxw[step * g4..].as_ptr(), t * g4, 1),
                                    (r.as_ptr(), 1, g4),
                                    true,
                                );
                            }
                        }
                        let mut dhc0 = vec![T::ZERO; n * 2 * u];
                        for b in 0..n {
                            dhc0[b * 2 * u..][..u].copy_from_slice(&dh[b * u..][..u]);
                            dhc0[b * 2 * u + u..][..u].copy_from_slice(&dc[b * u..][..u]);
                        }
                        // dr = h_prev^T @ dz over all (batch, step) rows.
                        let mut h_prev = vec![T::ZERO; n * t * u];
                        for b in 0..n {
                            for step in 0..t {
                                let src = if step == 0 {
                                    &hc0[b * 2 * u..][..u]
                                } else {
                                    &y[b * ys + (step - 1) * u..][..u]
                                };
                                h_prev[(b * t + step) * u..][..u].copy_from_slice(src);
                            }
                        }
                        let mut dr = vec![T::ZERO; u * g4];
                        // SAFETY: dr is u x 4u contiguous; h_prev^T u x (n t) with
                        // element (a, k) at k * u + a; dxw (n t) x 4u contiguous.
                        unsafe {
                            gemm_into::<T>(
                                (u, g4, n * t),
                                (dr.as_mut_ptr(), g4),
                                false,
                                (h_prev.as_ptr(), 1, u),
                                (dxw.as_ptr(), g4, 1),
                                true,
                            );
                        }
                        Ok((
                            Tensor::from_vec(dxw, (n, t, g4), &dev)?,
                            Tensor::from_vec(dhc0, (n, 2 * u), &dev)?,
                            Tensor::from_vec(dr, (u, g4), &dev)?,
                        ))
                    })
                })
            })
        })
    }
}

impl CustomOp3 for LstmSeq {
    fn name(&self) -> &'static str {
        "lstm_sequence"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        super::dispatch_float!("lstm_sequence", s1, self.forward(s1, l1, s2, l2, s3, l3))
    }

    fn bwd(
        &self,
        _xw: &Tensor,
        hc0: &Tensor,
        r: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (dxw, dhc0, dr) = match res.dtype() {
            candle_core::DType::F32 => self.backward::<f32>(hc0, r, res, grad)?,
            candle_core::DType::F64 => self.backward::<f64>(hc0, r, res, grad)?,
            _ => {
                return Err(candle_core::Error::Msg(
                    "lstm_sequence backward: no fused kernel for this dtype".into(),
                ))
            }
        };
        Ok((Some(dxw), Some(dhc0), Some(dr)))
    }
}

/// The LSTM of `RnnOps::lstm_sequence` (shapes already checked: `x [n, t, d]`, `t > 0`,
/// all operands f32 or f64 of one dtype on the CPU): `(outputs [n, t, u], h_T, c_T)`, the
/// outputs and states as views of the op's result.
#[allow(clippy::too_many_arguments)]
pub(crate) fn lstm_sequence(
    x: &Tensor,
    h0: &Tensor,
    c0: &Tensor,
    kernel: &Tensor,
    recurrent_kernel: &Tensor,
    bias: Option<&Tensor>,
    (n, t, d, u): (usize, usize, usize, usize),
) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
    let mut xw = x.reshape((n * t, d))?.matmul(kernel)?;
    if let Some(b) = bias {
        xw = xw.broadcast_add(b)?;
    }
    let xw = xw.reshape((n, t, 4 * u))?.contiguous()?;
    let hc0 = Tensor::cat(&[h0, c0], 1)?.contiguous()?;
    let r = recurrent_kernel.contiguous()?;
    let op = LstmSeq {
        n,
        t,
        u,
        saved: Mutex::new(None),
    };
    let y = xw.apply_op3(&hc0, &r, op)?;
    Ok((
        y.narrow(1, 0, t)?,
        y.narrow(1, t - 1, 1)?.squeeze(1)?,
        y.narrow(1, t, 1)?.squeeze(1)?,
    ))
}
