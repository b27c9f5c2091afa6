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
//! The channels-last form ([`conv2d_nhwc`], what `Conv2D` calls through
//! `NnOps::conv2d_nhwc`) takes `[N, H, W, C]` and the Keras kernel `[KH, KW, C, O]`, writes
//! each image's `[OH * OW, O]` rows, and can apply a ReLU in place (its backward masks the
//! gradient where the result is not positive). Channels-last inputs are gathered in runs
//! of `taps * C` values; a convolution whose taps all fall inside the input skips zeroing
//! the gather buffer.
//!
//! One op (rather than gather, matmul, bias add, reshape) keeps candle's autograd graph
//! to one node per convolution: candle's backward allocates and adds a zero gradient for
//! every node, which on activation-sized tensors costs more than the convolution. The
//! backward pass is hand-written (the gathers are recomputed per image, the kernel gradient
//! accumulated per thread, the input gradient scattered back with col2im); gradients of
//! the op's gradients (second order) are not available.

use super::{gemm_into, is_nan, Elem, View4};
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

    /// Whether every tap of every output reads inside the input (no padding read), so an
    /// im2col matrix needs no zeros.
    fn all_taps_inside(&self) -> bool {
        (0..2).all(|a| {
            self.pad[a] == 0
                && (self.out[a] == 0
                    || (self.out[a] - 1) * self.stride[a] + (self.k[a] - 1) * self.dilation[a]
                        < self.size[a])
        })
    }

    /// For output column `ox` with dilation 1 along the width: the first in-bounds kernel
    /// column, the input column it reads, and how many consecutive kernel columns are in
    /// bounds (`None` when none is).
    fn row_run(&self, ox: usize) -> Option<(usize, usize, usize)> {
        let start = ox * self.stride[1];
        let first = self.pad[1].saturating_sub(start);
        let end = (self.size[1] + self.pad[1])
            .saturating_sub(start)
            .min(self.k[1]);
        (first < end).then(|| (first, start + first - self.pad[1], end - first))
    }

    /// With dilation 1 along the width: calls `f(offset in an image's im2col matrix, iy,
    /// ix, len)` for every run of consecutive in-bounds taps of one kernel row, which
    /// covers `len = taps * c` values of the matrix from that offset, and of a contiguous
    /// `[H, W, C]` image from pixel `(iy, ix)`.
    fn for_runs(&self, mut f: impl FnMut(usize, usize, usize, usize)) {
        let kc = self.cols();
        for oy in 0..self.out[0] {
            for ky in 0..self.k[0] {
                let Some(iy) = self.input_at(0, oy, ky) else {
                    continue;
                };
                for ox in 0..self.out[1] {
                    let Some((kx, ix, taps)) = self.row_run(ox) else {
                        continue;
                    };
                    let row = oy * self.out[1] + ox;
                    f(
                        row * kc + (ky * self.k[1] + kx) * self.c,
                        iy,
                        ix,
                        taps * self.c,
                    );
                }
            }
        }
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
    let kc = g.cols();
    let [sn, sc, sh, sw] = v.strides;
    if !g.all_taps_inside() {
        cols.fill(T::ZERO);
    }
    if sc == 1 && sw == g.c && g.dilation[1] == 1 {
        // Channels-last rows: a run of taps is one run of values in the input too.
        g.for_runs(|at, iy, ix, len| {
            let src = v.offset + n * sn + iy * sh + ix * sw;
            cols[at..][..len].copy_from_slice(&x[src..src + len]);
        });
        return;
    }
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
    if g.dilation[1] == 1 {
        g.for_runs(|at, iy, ix, len| {
            let dst = &mut img[(iy * g.size[1] + ix) * g.c..][..len];
            for (d, &s) in dst.iter_mut().zip(&cols[at..][..len]) {
                *d += s;
            }
        });
        return;
    }
    g.for_taps(|row, col, iy, ix| {
        let src = &cols[row * kc + col..][..g.c];
        let dst = &mut img[(iy * g.size[1] + ix) * g.c..][..g.c];
        for (d, &s) in dst.iter_mut().zip(src) {
            *d += s;
        }
    });
}

/// The kernel `w [O, C, KH, KW]` (seen through `v`) as the matrix `[KH * KW * C, O]`.
fn weight_matrix<T: Elem>(g: &ConvGeom, o: usize, w: &[T], v: &View4) -> Vec<T> {
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
    m
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

/// One rayon task's buffers and sums in the convolution's backward pass (each empty when
/// not wanted).
struct GradState<T> {
    /// An image's im2col matrix `[P, K]`.
    cols: Vec<T>,
    /// The kernel gradient `[K, O]` summed over the task's images.
    dwm: Vec<T>,
    /// An image's input-column gradient `[P, K]`.
    dcols: Vec<T>,
    /// An image's result gradient after the ReLU's mask.
    masked: Vec<T>,
    /// The bias gradient `[O]` summed over the task's images.
    db: Vec<T>,
}

/// `a + b` elementwise into `a` (two sums of the same length; empty ones stay empty).
fn add_into<T: Elem>(mut a: Vec<T>, b: Vec<T>) -> Vec<T> {
    for (a, b) in a.iter_mut().zip(b) {
        *a += b;
    }
    a
}

/// The fused convolution op: `(x, w)` or `(x, w, b)` to `[N, O, OH, OW]`, or in the
/// channels-last form `x [N, H, W, C]`, `w [KH, KW, C, O]` to `[N, OH, OW, O]`, then
/// optionally a ReLU.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Conv2d {
    g: ConvGeom,
    o: usize,
    /// Channels-last operands and result (Keras' layouts) rather than channels-first.
    nhwc: bool,
    /// A ReLU applied to the result (NaN kept); its gradient masks where the result is
    /// not positive (libtorch's rule: none at 0).
    relu: bool,
}

impl Conv2d {
    /// `x` as an `[N, C, H, W]` view.
    fn input_view(&self, l: &Layout, op: &'static str) -> candle_core::Result<View4> {
        let g = &self.g;
        let [h, w] = g.size;
        if self.nhwc {
            View4::of_perm(l, [g.n, h, w, g.c], [0, 3, 1, 2], op)
        } else {
            View4::of(l, [g.n, g.c, h, w], op)
        }
    }

    /// The kernel as the matrix `[KH * KW * C, O]`.
    fn kernel_matrix<T: Elem>(
        &self,
        s: &CpuStorage,
        l: &Layout,
        op: &'static str,
    ) -> candle_core::Result<Vec<T>> {
        let (g, o) = (&self.g, self.o);
        let [kh, kw] = g.k;
        let v = if self.nhwc {
            View4::of_perm(l, [kh, kw, g.c, o], [3, 2, 0, 1], op)?
        } else {
            View4::of(l, [o, g.c, kh, kw], op)?
        };
        Ok(weight_matrix::<T>(g, o, T::slice(s)?, &v))
    }

    /// Row and column strides of one image's result (or gradient) as a `[P, O]` matrix.
    fn result_strides(&self) -> (usize, usize) {
        if self.nhwc {
            (self.o, 1)
        } else {
            (1, self.g.positions())
        }
    }

    fn forward<T: Elem>(
        &self,
        (xs, xl): (&CpuStorage, &Layout),
        (ws, wl): (&CpuStorage, &Layout),
        b: Option<(&CpuStorage, &Layout)>,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (g, o) = (&self.g, self.o);
        let v = self.input_view(xl, "conv2d")?;
        let x = T::slice(xs)?;
        let wm = self.kernel_matrix::<T>(ws, wl, "conv2d kernel")?;
        let bias = match b {
            Some((bs, bl)) => Some(bias_vector::<T>(o, T::slice(bs)?, bl)?),
            None => None,
        };
        let (p, kc) = (g.positions(), g.cols());
        let (rs, cs) = self.result_strides();
        let mut y = vec![T::ZERO; g.n * o * p];
        y.par_chunks_mut(o * p).enumerate().for_each_init(
            || vec![T::ZERO; p * kc],
            |cols, (n, yn)| {
                im2col_image(g, x, &v, n, cols);
                if let Some(b) = &bias {
                    if self.nhwc {
                        for row in yn.chunks_mut(o) {
                            row.copy_from_slice(b);
                        }
                    } else {
                        for (row, &bo) in yn.chunks_mut(p).zip(b) {
                            row.fill(bo);
                        }
                    }
                }
                // yn [P, O] (+)= cols [P, K] @ wm [K, O], written through the result's
                // strides (its transpose [O, P] when channels-first). gemm's destination has
                // column stride 1, so the channels-first product is computed transposed.
                // SAFETY: yn holds o * p elements; wm is k x o contiguous; cols is p x k
                // contiguous.
                unsafe {
                    if self.nhwc {
                        gemm_into::<T>(
                            (p, o, kc),
                            (yn.as_mut_ptr(), rs),
                            bias.is_some(),
                            (cols.as_ptr(), kc, 1),
                            (wm.as_ptr(), o, 1),
                            false,
                        );
                    } else {
                        gemm_into::<T>(
                            (o, p, kc),
                            (yn.as_mut_ptr(), cs),
                            bias.is_some(),
                            (wm.as_ptr(), 1, o),
                            (cols.as_ptr(), 1, kc),
                            false,
                        );
                    }
                }
                if self.relu {
                    for e in yn.iter_mut() {
                        // `< 0` is false for NaN, which is kept. A select, so it vectorises.
                        *e = if *e < T::ZERO { T::ZERO } else { *e };
                    }
                }
            },
        );
        let shape = if self.nhwc {
            Shape::from((g.n, g.out[0], g.out[1], o))
        } else {
            Shape::from((g.n, o, g.out[0], g.out[1]))
        };
        Ok((T::storage(y), shape))
    }

    /// Gradients of `x`, `w` and `b` (each when wanted) from the result `res` and its
    /// gradient.
    fn backward<T: Elem>(
        &self,
        x: &Tensor,
        w: &Tensor,
        want: [bool; 3],
        res: &Tensor,
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
        let v = self.input_view(xl, "conv2d backward")?;
        let x = T::slice(xs)?;
        let wm = self.kernel_matrix::<T>(ws, wl, "conv2d backward")?;
        let (rs, cs) = self.result_strides();
        let res = if self.relu {
            Some(res.contiguous()?)
        } else {
            None
        };
        let run = |gy: &[T], r: Option<&[T]>| {
            if gy.len() != g.n * o * p || r.is_some_and(|r| r.len() != gy.len()) {
                return Err(candle_core::Error::Msg(format!(
                    "conv2d backward: gradient of {} elements for a result of {}",
                    gy.len(),
                    g.n * o * p
                )));
            }
            let image = g.c * g.size[0] * g.size[1];
            let mut dx = vec![T::ZERO; if want[0] { g.n * image } else { 0 }];
            // One image: accumulates dwm [K, O] and the bias gradient (when wanted) and
            // writes dx (when given). gyn is the image's [P, O] gradient seen through
            // (rs, cs), masked by the ReLU first (into the state's buffer) when fused.
            let per_image = |s: &mut GradState<T>, n: usize, dxn: Option<&mut [T]>| {
                let mut gyn = &gy[n * o * p..][..o * p];
                if let Some(r) = r {
                    let rn = &r[n * o * p..][..o * p];
                    for ((m, &d), &r) in s.masked.iter_mut().zip(gyn).zip(rn) {
                        // Passes where the result is positive or NaN.
                        *m = if r > T::ZERO || is_nan(r) { d } else { T::ZERO };
                    }
                    gyn = &s.masked;
                }
                if want[2] {
                    if cs == 1 {
                        for row in gyn.chunks(o) {
                            for (d, &e) in s.db.iter_mut().zip(row) {
                                *d += e;
                            }
                        }
                    } else {
                        for (d, row) in s.db.iter_mut().zip(gyn.chunks(p)) {
                            for &e in row {
                                *d += e;
                            }
                        }
                    }
                }
                if want[1] {
                    im2col_image(g, x, &v, n, &mut s.cols);
                    // dwm [K, O] += cols^T [K, P] @ gyn [P, O].
                    // SAFETY: dwm k x o contiguous; cols p x k contiguous; gyn holds
                    // p * o elements at strides (rs, cs).
                    unsafe {
                        gemm_into::<T>(
                            (kc, o, p),
                            (s.dwm.as_mut_ptr(), o),
                            true,
                            (s.cols.as_ptr(), 1, kc),
                            (gyn.as_ptr(), rs, cs),
                            false,
                        );
                    }
                }
                if let Some(dxn) = dxn {
                    // dcols [P, K] = gyn [P, O] @ wm^T [O, K].
                    // SAFETY: dcols p x k contiguous; gyn as above; wm k x o.
                    unsafe {
                        gemm_into::<T>(
                            (p, kc, o),
                            (s.dcols.as_mut_ptr(), kc),
                            false,
                            (gyn.as_ptr(), rs, cs),
                            (wm.as_ptr(), 1, o),
                            false,
                        );
                    }
                    col2im_image(g, &s.dcols, dxn);
                }
            };
            let sized = |want: bool, len: usize| vec![T::ZERO; if want { len } else { 0 }];
            let init = || GradState {
                cols: sized(want[1], p * kc),
                dwm: sized(want[1], kc * o),
                dcols: sized(want[0], p * kc),
                masked: sized(r.is_some(), o * p),
                db: sized(want[2], o),
            };
            let add = |a: GradState<T>, b: GradState<T>| GradState {
                dwm: add_into(a.dwm, b.dwm),
                db: add_into(a.db, b.db),
                ..a
            };
            let sums = if want[0] && image > 0 {
                dx.par_chunks_mut(image)
                    .enumerate()
                    .fold(init, |mut s, (n, dxn)| {
                        per_image(&mut s, n, Some(dxn));
                        s
                    })
                    .reduce(init, add)
            } else {
                (0..g.n)
                    .into_par_iter()
                    .fold(init, |mut s, n| {
                        per_image(&mut s, n, None);
                        s
                    })
                    .reduce(init, add)
            };
            let (dwm, db) = (sums.dwm, sums.db);
            let dx = if want[0] {
                // Stored channels-last: the input's own layout in the channels-last form; in
                // the channels-first one, the layers reach the convolution through a permute
                // of their channels-last input, whose backward then adds a contiguous
                // gradient.
                let dx = Tensor::from_vec(dx, (g.n, g.size[0], g.size[1], g.c), &dev)?;
                Some(if self.nhwc {
                    dx
                } else {
                    dx.permute((0, 3, 1, 2))?
                })
            } else {
                None
            };
            let dw = if want[1] {
                // [KH, KW, C, O], the channels-last kernel; [O, C, KH, KW] otherwise.
                let dw = Tensor::from_vec(dwm, (g.k[0], g.k[1], g.c, o), &dev)?;
                Some(if self.nhwc {
                    dw
                } else {
                    dw.permute((3, 2, 0, 1))?
                })
            } else {
                None
            };
            let db = if want[2] {
                Some(Tensor::from_vec(db, o, &dev)?)
            } else {
                None
            };
            Ok([dx, dw, db])
        };
        match &res {
            Some(res) => super::cpu_data::<T, _>(res, |r| {
                super::cpu_data::<T, _>(&grad, |gy| run(gy, Some(r)))
            }),
            None => super::cpu_data::<T, _>(&grad, |gy| run(gy, None)),
        }
    }

    fn backward_any(
        &self,
        x: &Tensor,
        w: &Tensor,
        want: [bool; 3],
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<[Option<Tensor>; 3]> {
        match x.dtype() {
            candle_core::DType::F32 => self.backward::<f32>(x, w, want, res, grad),
            candle_core::DType::F64 => self.backward::<f64>(x, w, want, res, grad),
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
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let want = [x.track_op(), w.track_op(), false];
        let [dx, dw, _] = self.backward_any(x, w, want, res, grad)?;
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
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let want = [x.track_op(), w.track_op(), b.track_op()];
        let [dx, dw, db] = self.backward_any(x, w, want, res, grad)?;
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
    apply(
        x,
        w,
        b,
        Conv2d {
            g,
            o: w.dim(0)?,
            nhwc: false,
            relu: false,
        },
    )
}

/// The channels-last convolution: `x [N, H, W, C]` and `w [KH, KW, C, O]` (any strides),
/// `b [O]`, to a contiguous `[N, OH, OW, O]`, with the ReLU applied when `relu`. Its
/// gradients come in the operands' own layouts, so a network of these and
/// [`super::pool::max_pool2d_nhwc`] has no permute (and none of the activation-sized
/// gradient copies candle's autograd makes for every graph node) between layers.
pub(crate) fn conv2d_nhwc(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    g: ConvGeom,
    relu: bool,
) -> candle_core::Result<Tensor> {
    apply(
        x,
        w,
        b,
        Conv2d {
            g,
            o: w.dim(3)?,
            nhwc: true,
            relu,
        },
    )
}

fn apply(x: &Tensor, w: &Tensor, b: Option<&Tensor>, op: Conv2d) -> candle_core::Result<Tensor> {
    match b {
        Some(b) => x.apply_op3(w, b, op),
        None => x.apply_op2(w, op),
    }
}
