//! The convolution (plus bias) as one op: per image, im2col + one `gemm`.
//!
//! Each image's receptive fields are gathered into an `[OH * OW, KH * KW * C]` matrix
//! (column order `kh, kw, c`) read through the input's strides, so channels-last batches
//! the layers pass as permuted `[N, C, H, W]` views are never transposed first. Padding (per
//! side), stride and dilation (per axis) are handled in the gather. The product with the
//! kernel is written straight into the image's `[O, OH, OW]` block of a contiguous
//! `[N, O, OH, OW]` result, on top of the bias. Images run in parallel (rayon), each with
//! its own gather buffer, so no batch-sized im2col matrix is ever allocated.
//!
//! One op (rather than gather, matmul, bias add, reshape) keeps candle's autograd graph
//! to one node per convolution: candle's backward allocates and adds a zero gradient for
//! every node, which on activation-sized tensors costs more than the convolution. The
//! backward pass is hand-written (the gathers are recomputed per image, the kernel gradient
//! accumulated per thread, the input gradient scattered back with col2im); gradients of
//! the op's gradients (second order) are not available.

use super::{gemm_into, Elem, View4};
use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Storage, Tensor};
use rayon::prelude::*;

/// The geometry of one convolution: input `[n, c, h, w]`, kernel `k`, output `out`,
/// per-axis stride and dilation, and the zero padding before each spatial axis.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConvGeom {
    /// Batch size.
    pub n: usize,
    /// Input channels.
    pub c: usize,
    /// Input height and width.
    pub size: [usize; 2],
    /// Kernel height and width.
    pub k: [usize; 2],
    /// Output height and width.
    pub out: [usize; 2],
    /// Stride per axis.
    pub stride: [usize; 2],
    /// Dilation per axis.
    pub dilation: [usize; 2],
    /// Zeros before each axis (those after it are implied by `out`).
    pub pad: [usize; 2],
}

impl ConvGeom {
    /// Output positions per image: `oh * ow`.
    fn positions(&self) -> usize {
        self.out[0] * self.out[1]
    }

    /// Columns of an image's im2col matrix: `kh * kw * c`.
    fn cols(&self) -> usize {
        self.k[0] * self.k[1] * self.c
    }

    /// The input coordinate that output `o` reads with kernel tap `k` on `axis`, if inside.
    fn input_at(&self, axis: usize, o: usize, k: usize) -> Option<usize> {
        (o * self.stride[axis] + k * self.dilation[axis])
            .checked_sub(self.pad[axis])
            .filter(|&i| i < self.size[axis])
    }

    /// Calls `f(row, column offset, iy, ix)` for every in-bounds tap of image `n`'s output
    /// positions, `row` counted within the image.
    fn for_taps(&self, mut f: impl FnMut(usize, usize, usize, usize)) {
        for oy in 0..self.out[0] {
            for ox in 0..self.out[1] {
                let row = oy * self.out[1] + ox;
                for ky in 0..self.k[0] {
                    let Some(iy) = self.input_at(0, oy, ky) else {
                        continue;
                    };
                    for kx in 0..self.k[1] {
                        let Some(ix) = self.input_at(1, ox, kx) else {
                            continue;
                        };
                        f(row, (ky * self.k[1] + kx) * self.c, iy, ix);
                    }
                }
            }
        }
    }
}

/// Gathers image `n` of `x` (seen through `v`) into `cols [OH * OW, KH * KW * C]`.
fn im2col_image<T: Elem>(g: &ConvGeom, x: &[T], v: &View4, n: usize, cols: &mut [T]) {
    cols.fill(T::ZERO);
    let kc = g.cols();
    let [sn, sc, sh, sw] = v.strides;
    g.for_taps(|row, col, iy, ix| {
        let base = v.offset + n * sn + iy * sh + ix * sw;
        let dst = &mut cols[row * kc + col..][..g.c];
        if sc == 1 {
            dst.copy_from_slice(&x[base..base + g.c]);
        } else {
            for (ci, d) in dst.iter_mut().enumerate() {
                *d = x[base + ci * sc];
            }
        }
    });
}

/// Scatter-adds `cols [OH * OW, KH * KW * C]` into one contiguous `[H, W, C]` image.
fn col2im_image<T: Elem>(g: &ConvGeom, cols: &[T], img: &mut [T]) {
    let kc = g.cols();
    g.for_taps(|row, col, iy, ix| {
        let src = &cols[row * kc + col..][..g.c];
        let dst = &mut img[(iy * g.size[1] + ix) * g.c..][..g.c];
        for (d, &s) in dst.iter_mut().zip(src) {
            *d += s;
        }
    });
}

/// The kernel `w [O, C, KH, KW]` (any strides) as the matrix `[KH * KW * C, O]`.
fn weight_matrix<T: Elem>(
    g: &ConvGeom,
    o: usize,
    w: &[T],
    l: &Layout,
) -> candle_core::Result<Vec<T>> {
    let v = View4::of(l, [o, g.c, g.k[0], g.k[1]], "conv2d kernel")?;
    let [so, sc, sh, sw] = v.strides;
    let mut m = vec![T::ZERO; g.cols() * o];
    for ky in 0..g.k[0] {
        for kx in 0..g.k[1] {
            for ci in 0..g.c {
                let row = ((ky * g.k[1] + kx) * g.c + ci) * o;
                for (oi, d) in m[row..][..o].iter_mut().enumerate() {
                    *d = w[v.offset + oi * so + ci * sc + ky * sh + kx * sw];
                }
            }
        }
    }
    Ok(m)
}

/// The bias `[O]` (any stride) as a vector.
fn bias_vector<T: Elem>(o: usize, b: &[T], l: &Layout) -> candle_core::Result<Vec<T>> {
    if l.dims() != [o] {
        return Err(candle_core::Error::Msg(format!(
            "conv2d: bias of shape {:?}, expected [{o}]",
            l.dims()
        )));
    }
    let (off, s) = (l.start_offset(), l.stride()[0]);
    Ok((0..o).map(|i| b[off + i * s]).collect())
}

/// The fused convolution op: `(x, w)` or `(x, w, b)` to `[N, O, OH, OW]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Conv2d {
    g: ConvGeom,
    o: usize,
}

impl Conv2d {
    fn forward<T: Elem>(
        &self,
        (xs, xl): (&CpuStorage, &Layout),
        (ws, wl): (&CpuStorage, &Layout),
        b: Option<(&CpuStorage, &Layout)>,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (g, o) = (&self.g, self.o);
        let v = View4::of(xl, [g.n, g.c, g.size[0], g.size[1]], "conv2d")?;
        let x = T::slice(xs)?;
        let wm = weight_matrix::<T>(g, o, T::slice(ws)?, wl)?;
        let bias = match b {
            Some((bs, bl)) => Some(bias_vector::<T>(o, T::slice(bs)?, bl)?),
            None => None,
        };
        let (p, kc) = (g.positions(), g.cols());
        let mut y = vec![T::ZERO; g.n * o * p];
        y.par_chunks_mut(o * p).enumerate().for_each_init(
            || vec![T::ZERO; p * kc],
            |cols, (n, yn)| {
                im2col_image(g, x, &v, n, cols);
                if let Some(b) = &bias {
                    for (row, &bo) in yn.chunks_mut(p).zip(b) {
                        row.fill(bo);
                    }
                }
                // yn [O, P] (+)= wm^T [O, K] @ cols^T [K, P].
                // SAFETY: yn is o x p contiguous; wm is k x o contiguous (its transpose has
                // row stride 1, column stride o); cols is p x k contiguous.
                unsafe {
                    gemm_into::<T>(
                        (o, p, kc),
                        (yn.as_mut_ptr(), p),
                        bias.is_some(),
                        (wm.as_ptr(), 1, o),
                        (cols.as_ptr(), 1, kc),
                        false,
                    );
                }
            },
        );
        Ok((T::storage(y), Shape::from((g.n, o, g.out[0], g.out[1]))))
    }

    /// Gradients of `x`, `w` and `b` (each when wanted) from the result's gradient.
    fn backward<T: Elem>(
        &self,
        x: &Tensor,
        w: &Tensor,
        want: [bool; 3],
        grad: &Tensor,
    ) -> candle_core::Result<[Option<Tensor>; 3]> {
        let (g, o) = (&self.g, self.o);
        let (p, kc) = (g.positions(), g.cols());
        let dev = x.device().clone();
        let grad = grad.contiguous()?;
        let (xs, xl) = x.storage_and_layout();
        let (ws, wl) = w.storage_and_layout();
        let (Storage::Cpu(xs), Storage::Cpu(ws)) = (&*xs, &*ws) else {
            return Err(candle_core::Error::Msg(
                "conv2d backward: not on the CPU".into(),
            ));
        };
        let v = View4::of(xl, [g.n, g.c, g.size[0], g.size[1]], "conv2d backward")?;
        let x = T::slice(xs)?;
        let wm = weight_matrix::<T>(g, o, T::slice(ws)?, wl)?;
        super::cpu_data::<T, _>(&grad, |gy| {
            if gy.len() != g.n * o * p {
                return Err(candle_core::Error::Msg(format!(
                    "conv2d backward: gradient of {} elements",
                    gy.len()
                )));
            }
            let image = g.c * g.size[0] * g.size[1];
            let mut dx = vec![T::ZERO; if want[0] { g.n * image } else { 0 }];
            // One image: accumulates dwm [K, O] (when wanted) and writes dx (when given).
            let per_image =
                |state: &mut (Vec<T>, Vec<T>, Vec<T>), n: usize, dxn: Option<&mut [T]>| {
                    let (cols, dwm, dcols) = state;
                    let gyn = &gy[n * o * p..][..o * p];
                    if want[1] {
                        im2col_image(g, x, &v, n, cols);
                        // dwm [K, O] += cols^T [K, P] @ gyn^T [P, O].
                        // SAFETY: dwm k x o contiguous; cols p x k contiguous; gyn o x p.
                        unsafe {
                            gemm_into::<T>(
                                (kc, o, p),
                                (dwm.as_mut_ptr(), o),
                                true,
                                (cols.as_ptr(), 1, kc),
                                (gyn.as_ptr(), 1, p),
                                false,
                            );
                        }
                    }
                    if let Some(dxn) = dxn {
                        // dcols [P, K] = gyn^T [P, O] @ wm^T [O, K].
                        // SAFETY: dcols p x k contiguous; gyn o x p; wm k x o.
                        unsafe {
                            gemm_into::<T>(
                                (p, kc, o),
                                (dcols.as_mut_ptr(), kc),
                                false,
                                (gyn.as_ptr(), 1, p),
                                (wm.as_ptr(), 1, o),
                                false,
                            );
                        }
                        col2im_image(g, dcols, dxn);
                    }
                };
            let init = || {
                (
                    vec![T::ZERO; if want[1] { p * kc } else { 0 }],
                    vec![T::ZERO; if want[1] { kc * o } else { 0 }],
                    vec![T::ZERO; if want[0] { p * kc } else { 0 }],
                )
            };
            let add = |mut a: Vec<T>, b: Vec<T>| {
                if a.is_empty() {
                    return b;
                }
                for (a, b) in a.iter_mut().zip(b) {
                    *a += b;
                }
                a
            };
            let dwm = if want[0] && image > 0 {
                dx.par_chunks_mut(image)
                    .enumerate()
                    .fold(init, |mut s, (n, dxn)| {
                        per_image(&mut s, n, Some(dxn));
                        s
                    })
                    .map(|s| s.1)
                    .reduce(Vec::new, add)
            } else {
                (0..g.n)
                    .into_par_iter()
                    .fold(init, |mut s, n| {
                        per_image(&mut s, n, None);
                        s
                    })
                    .map(|s| s.1)
                    .reduce(Vec::new, add)
            };
            let dx = if want[0] {
                // Stored channels-last (see `conv2d`).
                let dx = Tensor::from_vec(dx, (g.n, g.size[0], g.size[1], g.c), &dev)?;
                Some(dx.permute((0, 3, 1, 2))?)
            } else {
                None
            };
            let dw = if want[1] {
                let dwm = if dwm.is_empty() {
                    vec![T::ZERO; kc * o]
                } else {
                    dwm
                };
                // [KH, KW, C, O] -> [O, C, KH, KW].
                Some(Tensor::from_vec(dwm, (g.k[0], g.k[1], g.c, o), &dev)?.permute((3, 2, 0, 1))?)
            } else {
                None
            };
            let db = if want[2] {
                let sums: Vec<T> = (0..o)
                    .map(|oi| {
                        let mut s = T::ZERO;
                        for n in 0..g.n {
                            for &e in &gy[(n * o + oi) * p..][..p] {
                                s += e;
                            }
                        }
                        s
                    })
                    .collect();
                Some(Tensor::from_vec(sums, o, &dev)?)
            } else {
                None
            };
            Ok([dx, dw, db])
        })
    }

    fn backward_any(
        &self,
        x: &Tensor,
        w: &Tensor,
        want: [bool; 3],
        grad: &Tensor,
    ) -> candle_core::Result<[Option<Tensor>; 3]> {
        match x.dtype() {
            candle_core::DType::F32 => self.backward::<f32>(x, w, want, grad),
            candle_core::DType::F64 => self.backward::<f64>(x, w, want, grad),
            _ => Err(candle_core::Error::Msg(
                "conv2d backward: no fused kernel for this dtype".into(),
            )),
        }
    }
}

impl CustomOp2 for Conv2d {
    fn name(&self) -> &'static str {
        "conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        super::dispatch_float!("conv2d", s1, self.forward((s1, l1), (s2, l2), None))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let [dx, dw, _] = self.backward_any(x, w, [x.track_op(), w.track_op(), false], grad)?;
        Ok((dx, dw))
    }
}

impl CustomOp3 for Conv2d {
    fn name(&self) -> &'static str {
        "conv2d_bias"
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
        super::dispatch_float!(
            "conv2d",
            s1,
            self.forward((s1, l1), (s2, l2), Some((s3, l3)))
        )
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let want = [x.track_op(), w.track_op(), b.track_op()];
        let [dx, dw, db] = self.backward_any(x, w, want, grad)?;
        Ok((dx, dw, db))
    }
}

/// `conv2d(x, w) (+ b)` with `groups = 1`: `x [N, C, H, W]` and `w [O, C, KH, KW]` (any
/// strides), `b [O]`; the result `[N, O, OH, OW]` is contiguous (so the activation that
/// follows runs on contiguous data). The gradient of `x` is stored channels-last, as a
/// permuted view: the layers reach the convolution through a permute of their
/// channels-last input, whose backward then adds a contiguous gradient.
pub(crate) fn conv2d(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    g: ConvGeom,
) -> candle_core::Result<Tensor> {
    let op = Conv2d { g, o: w.dim(0)? };
    match b {
        Some(b) => x.apply_op3(w, b, op),
        None => x.apply_op2(w, op),
    }
}
