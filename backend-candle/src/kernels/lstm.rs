//! The whole-sequence LSTM, input projection included, as one op with a hand-written
//! backward pass (backpropagation through time).
//!
//! The op [`LstmSeq`] takes the input `x [N, T, D]`, the weights packed into one matrix
//! `w [D (+ 1) + U, 4U]` (the kernel, the bias row when there is a bias, the recurrent
//! kernel) and the initial states side by side `hc0 [N, 2U]`. It computes the input
//! projection of every step with one `gemm`, then runs the recurrence with one `gemm` per
//! step accumulated in place into that projection, and the gates elementwise in a loop that
//! vectorizes (AVX2 + FMA when the CPU has them: see [`Elem::sigmoid`]). Its result
//! `[N, T + 1, U]` holds `h_1 … h_T` and then `c_T`; the caller hands out the outputs and
//! both final states as views of it. What the backward pass needs besides (every step's
//! `c` and activated gates `i, f, g, o`) stays with the op instance, in buffers of the
//! scratch pool ([`super::take`]) that go back to it when the op is dropped, so candle's
//! graph carries no activation-sized tensor of the LSTM at all: candle's backward adds
//! a zero tensor to every gradient it stores, which on the `[N, T, 4U]` projection cost
//! more than the recurrence. Gradients of the op's inputs are computed directly (no
//! candle graph), so a second-order gradient through it is not available.

use super::{cpu_data, gemm_into, give, has_avx2_fma, take, Elem};
use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;
use std::sync::Mutex;

/// Scratch buffers a forward pass leaves for the backward pass (pool buffers).
#[derive(Debug)]
enum Saved {
    /// Nothing (no gradient wanted, or not run yet).
    None,
    /// `[N, T, 5U]`: per step `c, i, f, g, o`.
    F32(Vec<f32>),
    /// As `F32`.
    F64(Vec<f64>),
}

/// The fused LSTM over `t` steps of a batch of `n`, `d` input features, `u` units.
#[derive(Debug)]
pub(crate) struct LstmSeq {
    n: usize,
    t: usize,
    d: usize,
    u: usize,
    /// Whether the packed weights hold a bias row.
    bias: bool,
    /// Whether a gradient may be asked for (else the forward pass keeps nothing).
    keep: bool,
    /// Written by the forward pass.
    saved: Mutex<Saved>,
}

impl Drop for LstmSeq {
    fn drop(&mut self) {
        if let Ok(s) = self.saved.get_mut() {
            match std::mem::replace(s, Saved::None) {
                Saved::F32(v) => give(v),
                Saved::F64(v) => give(v),
                Saved::None => {}
            }
        }
    }
}

/// The element types [`Saved`] holds.
trait SaveElem: Elem {
    /// `v` as saved state.
    fn wrap(v: Vec<Self>) -> Saved;
    /// The saved state, if it is of this type.
    fn unwrap(s: &Saved) -> Option<&[Self]>;
}

impl SaveElem for f32 {
    fn wrap(v: Vec<Self>) -> Saved {
        Saved::F32(v)
    }
    fn unwrap(s: &Saved) -> Option<&[Self]> {
        match s {
            Saved::F32(v) => Some(v),
            _ => None,
        }
    }
}

impl SaveElem for f64 {
    fn wrap(v: Vec<Self>) -> Saved {
        Saved::F64(v)
    }
    fn unwrap(s: &Saved) -> Option<&[Self]> {
        match s {
            Saved::F64(v) => Some(v),
            _ => None,
        }
    }
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

/// One batch row of one step, forward: gates from the pre-activations `z [4U]` (order
/// `i, f, g, o`) and the previous cell state; writes `h` and, in `save [5U]`, the new cell
/// state and the activated gates (`c, i, f, g, o`).
#[inline(always)]
fn cell_fwd<T: Elem>(z: &[T], c_prev: &[T], h: &mut [T], save: &mut [T]) {
    let u = h.len();
    let (zi, rest) = z.split_at(u);
    let (zf, rest) = rest.split_at(u);
    let (zg, zo) = rest.split_at(u);
    let (zo, c_prev) = (&zo[..u], &c_prev[..u]);
    let (sc, rest) = save.split_at_mut(u);
    let (si, rest) = rest.split_at_mut(u);
    let (sf, rest) = rest.split_at_mut(u);
    let (sg, so) = rest.split_at_mut(u);
    let so = &mut so[..u];
    for j in 0..u {
        let i = zi[j].sigmoid();
        let f = zf[j].sigmoid();
        let g = zg[j].tanh();
        let o = zo[j].sigmoid();
        let cj = f * c_prev[j] + i * g;
        h[j] = o * cj.tanh();
        sc[j] = cj;
        si[j] = i;
        sf[j] = f;
        sg[j] = g;
        so[j] = o;
    }
}

/// [`cell_fwd`] without saving: the cell state `c` is updated in place.
#[inline(always)]
fn cell_fwd_state<T: Elem>(z: &[T], c: &mut [T], h: &mut [T]) {
    let u = h.len();
    let (zi, rest) = z.split_at(u);
    let (zf, rest) = rest.split_at(u);
    let (zg, zo) = rest.split_at(u);
    let (zo, c) = (&zo[..u], &mut c[..u]);
    for j in 0..u {
        let i = zi[j].sigmoid();
        let f = zf[j].sigmoid();
        let g = zg[j].tanh();
        let o = zo[j].sigmoid();
        let cj = f * c[j] + i * g;
        h[j] = o * cj.tanh();
        c[j] = cj;
    }
}

/// [`cell_fwd`] compiled for AVX2 + FMA.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn cell_fwd_avx2<T: Elem>(z: &[T], c_prev: &[T], h: &mut [T], save: &mut [T]) {
    cell_fwd(z, c_prev, h, save)
}

/// [`cell_fwd_state`] compiled for AVX2 + FMA.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn cell_fwd_state_avx2<T: Elem>(z: &[T], c: &mut [T], h: &mut [T]) {
    cell_fwd_state(z, c, h)
}

/// One batch row of one step, backward: from the saved `c, i, f, g, o` (`sr [5U]`), the
/// previous cell state, the gradient of `h` from the output (`dy`) and from the later steps
/// (`dh`), and that of `c` (`dc`, updated to the gradient of the previous cell state),
/// writes the pre-activation gradients `dz [4U]`.
#[inline(always)]
fn cell_bwd<T: Elem>(sr: &[T], c_prev: &[T], dy: &[T], dh: &[T], dc: &mut [T], dz: &mut [T]) {
    let u = dc.len();
    let (sc, rest) = sr.split_at(u);
    let (si, rest) = rest.split_at(u);
    let (sf, rest) = rest.split_at(u);
    let (sg, so) = rest.split_at(u);
    let (so, c_prev, dy, dh) = (&so[..u], &c_prev[..u], &dy[..u], &dh[..u]);
    let (dzi, rest) = dz.split_at_mut(u);
    let (dzf, rest) = rest.split_at_mut(u);
    let (dzg, dzo) = rest.split_at_mut(u);
    let dzo = &mut dzo[..u];
    for j in 0..u {
        let (c, i, f, g, o) = (sc[j], si[j], sf[j], sg[j], so[j]);
        let tc = c.tanh();
        let dhj = dy[j] + dh[j];
        let dcj = dc[j] + dhj * o * (T::ONE - tc * tc);
        dzi[j] = dcj * g * i * (T::ONE - i);
        dzf[j] = dcj * c_prev[j] * f * (T::ONE - f);
        dzg[j] = dcj * i * (T::ONE - g * g);
        dzo[j] = dhj * tc * o * (T::ONE - o);
        dc[j] = dcj * f;
    }
}

/// [`cell_bwd`] compiled for AVX2 + FMA.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn cell_bwd_avx2<T: Elem>(
    sr: &[T],
    c_prev: &[T],
    dy: &[T],
    dh: &[T],
    dc: &mut [T],
    dz: &mut [T],
) {
    cell_bwd(sr, c_prev, dy, dh, dc, dz)
}

impl LstmSeq {
    /// Rows of the packed weights: kernel, bias, recurrent kernel.
    fn w_rows(&self) -> usize {
        self.d + usize::from(self.bias) + self.u
    }

    fn forward<T: SaveElem>(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let op = "lstm_sequence";
        let (n, t, d, u) = (self.n, self.t, self.d, self.u);
        let g4 = 4 * u;
        let x = super::contiguous_slice::<T>(s1, l1, op)?;
        let w = super::contiguous_slice::<T>(s2, l2, op)?;
        let hc0 = super::contiguous_slice::<T>(s3, l3, op)?;
        check_len(op, "x", x.len(), n * t * d)?;
        check_len(op, "packed weights", w.len(), self.w_rows() * g4)?;
        check_len(op, "initial states", hc0.len(), n * 2 * u)?;
        let r = &w[(d + usize::from(self.bias)) * g4..];
        let (ys, w5) = ((t + 1) * u, 5 * u);
        // z: per batch row and step the pre-activations, first x W (+ b), then + h R.
        let mut z = take::<T>(n * t * g4);
        if self.bias {
            let b = &w[d * g4..][..g4];
            for row in z.chunks_mut(g4) {
                row.copy_from_slice(b);
            }
        }
        // SAFETY: z is (n t) x 4u contiguous; x (n t) x d contiguous; the kernel d x 4u
        // contiguous at the start of w; z aliases neither.
        unsafe {
            gemm_into::<T>(
                (n * t, g4, d),
                (z.as_mut_ptr(), g4),
                self.bias,
                (x.as_ptr(), d, 1),
                (w.as_ptr(), g4, 1),
                true,
            );
        }
        // y: per batch row, h_1 .. h_T then c_T; saved: per step c, i, f, g, o.
        let mut y = vec![T::ZERO; n * ys];
        let mut saved = if self.keep {
            take::<T>(n * t * w5)
        } else {
            Vec::new()
        };
        let simd = has_avx2_fma();
        // The batch rows are independent through time: each task runs the whole sequence
        // for its block of rows (one single-threaded gemm per step), so the threads never
        // meet between steps.
        let m = rows_per_task(n);
        let keep = self.keep;
        let mut sblocks: Vec<&mut [T]> = if keep {
            saved.chunks_mut(m * t * w5).collect()
        } else {
            (0..n.div_ceil(m)).map(|_| <&mut [T]>::default()).collect()
        };
        y.par_chunks_mut(m * ys)
            .zip(z.par_chunks_mut(m * t * g4))
            .zip(hc0.par_chunks(m * 2 * u))
            .zip(sblocks.par_iter_mut())
            .for_each(|(((yc, zc), hc), sc)| {
                let rows = yc.len() / ys;
                for step in 0..t {
                    let h_prev = if step == 0 {
                        (hc.as_ptr(), 2 * u, 1)
                    } else {
                        (yc[(step - 1) * u..].as_ptr(), ys, 1)
                    };
                    // z_step (rows of stride t * 4u) += h_prev @ r.
                    // SAFETY: z_step is rows x 4u with row stride t 4u inside zc; h_prev
                    // rows x u (stride 2u in hc, (t + 1) u in yc, in bounds); r u x 4u
                    // contiguous; zc aliases neither.
                    unsafe {
                        gemm_into::<T>(
                            (rows, g4, u),
                            (zc[step * g4..].as_mut_ptr(), t * g4),
                            true,
                            h_prev,
                            (r.as_ptr(), g4, 1),
                            false,
                        );
                    }
                    for b in 0..rows {
                        let zb = &zc[(b * t + step) * g4..][..g4];
                        let yb = &mut yc[b * ys..][..ys];
                        if keep {
                            let sb = &mut sc[b * t * w5..][..t * w5];
                            let (prev, row) = sb.split_at_mut(step * w5);
                            let c_prev: &[T] = if step == 0 {
                                &hc[b * 2 * u + u..][..u]
                            } else {
                                &prev[(step - 1) * w5..][..u]
                            };
                            run_cell_fwd(
                                simd,
                                zb,
                                c_prev,
                                &mut yb[step * u..][..u],
                                &mut row[..w5],
                            );
                        } else {
                            // The running cell state lives in c_T's row of y.
                            let (hs, c) = yb.split_at_mut(t * u);
                            if step == 0 {
                                c.copy_from_slice(&hc[b * 2 * u + u..][..u]);
                            }
                            run_cell_fwd_state(simd, zb, c, &mut hs[step * u..][..u]);
                        }
                    }
                }
            });
        drop(sblocks);
        give(z);
        if self.keep {
            for b in 0..n {
                let c_last = (b * t + t - 1) * w5;
                y[b * ys + t * u..][..u].copy_from_slice(&saved[c_last..][..u]);
            }
            if let Ok(mut slot) = self.saved.lock() {
                *slot = T::wrap(saved);
            }
        }
        Ok((T::storage(y), Shape::from((n, t + 1, u))))
    }

    /// Gradients of `(x, w, hc0)` (`x`'s when `want_x`) from the result `y`, its gradient
    /// `dy` and what the forward pass saved.
    fn backward<T: SaveElem>(
        &self,
        (x, w, hc0): (&Tensor, &Tensor, &Tensor),
        y: &Tensor,
        dy: &Tensor,
        want_x: bool,
    ) -> candle_core::Result<(Option<Tensor>, Tensor, Tensor)> {
        let op = "lstm_sequence backward";
        let (n, t, d, u) = (self.n, self.t, self.d, self.u);
        let (g4, w5, ys) = (4 * u, 5 * u, (t + 1) * u);
        let nt = n * t;
        let dev = y.device().clone();
        let dy = dy.contiguous()?;
        let guard = self
            .saved
            .lock()
            .map_err(|_| candle_core::Error::Msg(format!("{op}: saved state poisoned")))?;
        let saved: &[T] = T::unwrap(&guard).ok_or_else(|| {
            candle_core::Error::Msg(format!("{op}: no forward pass saved its state"))
        })?;
        check_len(op, "saved state", saved.len(), n * t * w5)?;
        let simd = has_avx2_fma();
        cpu_data::<T, _>(x, |x| {
            cpu_data::<T, _>(w, |w| {
                cpu_data::<T, _>(hc0, |hc0| {
                    cpu_data::<T, _>(y, |y| {
                        cpu_data::<T, _>(&dy, |dy| {
                            check_len(op, "result", y.len(), n * ys)?;
                            check_len(op, "gradient", dy.len(), n * ys)?;
                            let r = &w[(d + usize::from(self.bias)) * g4..][..u * g4];
                            let mut dz = take::<T>(nt * g4);
                            // Gradients flowing into step `step` from the later ones;
                            // c_T's own gradient is the last row of dy.
                            let mut dh = vec![T::ZERO; n * u];
                            let mut dc = vec![T::ZERO; n * u];
                            for (b, dcb) in dc.chunks_mut(u).enumerate() {
                                dcb.copy_from_slice(&dy[b * ys + t * u..][..u]);
                            }
                            // As in the forward pass: each task runs its block of
                            // batch rows backwards through the whole sequence.
                            let m = rows_per_task(n);
                            dz.par_chunks_mut(m * t * g4)
                                .zip(dh.par_chunks_mut(m * u))
                                .zip(dc.par_chunks_mut(m * u))
                                .enumerate()
                                .for_each(|(k, ((dzc, dhc), dcc))| {
                                    let b0 = k * m;
                                    let rows = dhc.len() / u;
                                    for step in (0..t).rev() {
                                        for bl in 0..rows {
                                            let b = b0 + bl;
                                            let sr = &saved[(b * t + step) * w5..][..w5];
                                            let dyr = &dy[b * ys + step * u..][..u];
                                            let c_prev = if step == 0 {
                                                &hc0[b * 2 * u + u..][..u]
                                            } else {
                                                &saved[(b * t + step - 1) * w5..][..u]
                                            };
                                            let dzs = &mut dzc[(bl * t + step) * g4..][..g4];
                                            let dhb = &dhc[bl * u..][..u];
                                            let dcb = &mut dcc[bl * u..][..u];
                                            run_cell_bwd(simd, sr, c_prev, dyr, dhb, dcb, dzs);
                                        }
                                        // dh = dz_step @ r^T: r^T[a, j] = r[j * 4u + a].
                                        // SAFETY: dhc is rows x u contiguous; dz_step
                                        // rows x 4u of row stride t 4u in dzc; r^T 4u x u;
                                        // no aliasing.
                                        unsafe {
                                            gemm_into::<T>(
                                                (rows, u, g4),
                                                (dhc.as_mut_ptr(), u),
                                                false,
                                                (dzc[step * g4..].as_ptr(), t * g4, 1),
                                                (r.as_ptr(), 1, g4),
                                                false,
                                            );
                                        }
                                    }
                                });
                            let mut dhc0 = vec![T::ZERO; n * 2 * u];
                            for b in 0..n {
                                dhc0[b * 2 * u..][..u].copy_from_slice(&dh[b * u..][..u]);
                                dhc0[b * 2 * u + u..][..u].copy_from_slice(&dc[b * u..][..u]);
                            }
                            // The packed weights' gradient: [dkernel; dbias; dr].
                            let mut dw = vec![T::ZERO; self.w_rows() * g4];
                            // dkernel = x^T @ dz over all (batch, step) rows.
                            // SAFETY: dw's first d rows are d x 4u contiguous; x^T d x (n t)
                            // with element (a, k) at k * d + a; dz (n t) x 4u contiguous.
                            unsafe {
                                gemm_into::<T>(
                                    (d, g4, nt),
                                    (dw.as_mut_ptr(), g4),
                                    false,
                                    (x.as_ptr(), 1, d),
                                    (dz.as_ptr(), g4, 1),
                                    true,
                                );
                            }
                            if self.bias {
                                let db = &mut dw[d * g4..][..g4];
                                for row in dz.chunks(g4) {
                                    for (a, &b) in db.iter_mut().zip(row) {
                                        *a += b;
                                    }
                                }
                            }
                            // dr = h_prev^T @ dz over all (batch, step) rows.
                            let mut h_prev = take::<T>(nt * u);
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
                            let r0 = (d + usize::from(self.bias)) * g4;
                            // SAFETY: dw's last u rows are u x 4u contiguous; h_prev^T
                            // u x (n t) with element (a, k) at k * u + a; dz (n t) x 4u.
                            unsafe {
                                gemm_into::<T>(
                                    (u, g4, nt),
                                    (dw[r0..].as_mut_ptr(), g4),
                                    false,
                                    (h_prev.as_ptr(), 1, u),
                                    (dz.as_ptr(), g4, 1),
                                    true,
                                );
                            }
                            give(h_prev);
                            // dx = dz @ kernel^T: kernel^T[a, j] = w[j * 4u + a].
                            let dx = if want_x {
                                let mut dx = vec![T::ZERO; nt * d];
                                // SAFETY: dx (n t) x d contiguous; dz (n t) x 4u; kernel^T
                                // 4u x d; no aliasing.
                                unsafe {
                                    gemm_into::<T>(
                                        (nt, d, g4),
                                        (dx.as_mut_ptr(), d),
                                        false,
                                        (dz.as_ptr(), g4, 1),
                                        (w.as_ptr(), 1, g4),
                                        true,
                                    );
                                }
                                Some(Tensor::from_vec(dx, (n, t, d), &dev)?)
                            } else {
                                None
                            };
                            give(dz);
                            Ok((
                                dx,
                                Tensor::from_vec(dw, (self.w_rows(), g4), &dev)?,
                                Tensor::from_vec(dhc0, (n, 2 * u), &dev)?,
                            ))
                        })
                    })
                })
            })
        })
    }
}

/// Batch rows per task of the recurrence: the batch split evenly over candle's threads.
fn rows_per_task(n: usize) -> usize {
    n.div_ceil(candle_core::utils::get_num_threads().max(1))
        .max(1)
}

/// [`cell_fwd`], vectorized for AVX2 + FMA when `simd`.
#[inline]
fn run_cell_fwd<T: Elem>(simd: bool, z: &[T], c_prev: &[T], h: &mut [T], save: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: `simd` is `has_avx2_fma()`.
        unsafe { cell_fwd_avx2(z, c_prev, h, save) };
        return;
    }
    let _ = simd;
    cell_fwd(z, c_prev, h, save)
}

/// [`cell_fwd_state`], vectorized for AVX2 + FMA when `simd`.
#[inline]
fn run_cell_fwd_state<T: Elem>(simd: bool, z: &[T], c: &mut [T], h: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: `simd` is `has_avx2_fma()`.
        unsafe { cell_fwd_state_avx2(z, c, h) };
        return;
    }
    let _ = simd;
    cell_fwd_state(z, c, h)
}

/// [`cell_bwd`], vectorized for AVX2 + FMA when `simd`.
#[inline]
fn run_cell_bwd<T: Elem>(
    simd: bool,
    sr: &[T],
    c_prev: &[T],
    dy: &[T],
    dh: &[T],
    dc: &mut [T],
    dz: &mut [T],
) {
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: `simd` is `has_avx2_fma()`.
        unsafe { cell_bwd_avx2(sr, c_prev, dy, dh, dc, dz) };
        return;
    }
    let _ = simd;
    cell_bwd(sr, c_prev, dy, dh, dc, dz)
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
        x: &Tensor,
        w: &Tensor,
        hc0: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let args = (x, w, hc0);
        let want_x = x.track_op();
        let (dx, dw, dhc0) = match res.dtype() {
            candle_core::DType::F32 => self.backward::<f32>(args, res, grad, want_x)?,
            candle_core::DType::F64 => self.backward::<f64>(args, res, grad, want_x)?,
            _ => {
                return Err(candle_core::Error::Msg(
                    "lstm_sequence backward: no fused kernel for this dtype".into(),
                ))
            }
        };
        let dw = w.track_op().then_some(dw);
        let dhc0 = hc0.track_op().then_some(dhc0);
        Ok((dx, dw, dhc0))
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
    let x = x.contiguous()?;
    let mut parts = vec![kernel.clone()];
    if let Some(b) = bias {
        parts.push(b.reshape((1, 4 * u))?);
    }
    parts.push(recurrent_kernel.clone());
    let w = Tensor::cat(&parts, 0)?.contiguous()?;
    let hc0 = Tensor::cat(&[h0, c0], 1)?.contiguous()?;
    let keep = x.track_op() || w.track_op() || hc0.track_op();
    let op = LstmSeq {
        n,
        t,
        d,
        u,
        bias: bias.is_some(),
        keep,
        saved: Mutex::new(Saved::None),
    };
    let y = x.apply_op3(&w, &hc0, op)?;
    Ok((
        y.narrow(1, 0, t)?,
        y.narrow(1, t - 1, 1)?.squeeze(1)?,
        y.narrow(1, t, 1)?.squeeze(1)?,
    ))
}
