//! Max pooling over `[N, C, H, W]` read through its strides, any kernel and stride; or
//! over a channels-last `[N, H, W, C]` tensor with a `[N, OH, OW, C]` result
//! ([`max_pool2d_nhwc`]). With contiguous channels, each window reduces whole rows of `C`
//! values at once.
//!
//! A channels-last input (a permuted view whose channel stride is 1, as the layers pass
//! it) gives a contiguous `[N, OH, OW, C]` result returned as a `[N, C, OH, OW]` view, so
//! no copy converts between layouts. The gradient goes to the first maximum of each window
//! in row-major window order (libtorch's and Keras' choice); a NaN in a window is its
//! maximum, as in libtorch.

use super::{dispatch_float, is_nan, Elem, View4};
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

/// One max pooling: input `[n, c, h, w]`, window `k`, `stride`, output `out`, and whether
/// results are laid out channels-last.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolGeom {
    /// Input dims `[n, c, h, w]`.
    pub dims: [usize; 4],
    /// Window height and width.
    pub k: [usize; 2],
    /// Stride per axis.
    pub stride: [usize; 2],
    /// Output height and width.
    pub out: [usize; 2],
    /// Results stored `[N, H, W, C]` rather than `[N, C, H, W]`.
    pub channels_last: bool,
    /// The input, result and gradients are channels-last tensors `[N, H, W, C]` (rather
    /// than `[N, C, H, W]` views); implies `channels_last`.
    pub nhwc: bool,
}

impl PoolGeom {
    /// The input as an `[N, C, H, W]` view.
    fn view(&self, l: &Layout, op: &'static str) -> candle_core::Result<View4> {
        let [n, c, h, w] = self.dims;
        if self.nhwc {
            View4::of_perm(l, [n, h, w, c], [0, 3, 1, 2], op)
        } else {
            View4::of(l, self.dims, op)
        }
    }

    /// The contiguous storage shape of a `[n, c, h, w]` tensor in this layout.
    fn storage_shape(&self, h: usize, w: usize) -> Shape {
        let [n, c, _, _] = self.dims;
        if self.channels_last {
            Shape::from((n, h, w, c))
        } else {
            Shape::from((n, c, h, w))
        }
    }

    /// Index within one image of element `(ci, y, x)` of an `h x w` map, channels-last or
    /// channels-first.
    fn index(&self, cl: bool, ci: usize, y: usize, x: usize, h: usize, w: usize) -> usize {
        let c = self.dims[1];
        if cl {
            (y * w + x) * c + ci
        } else {
            (ci * h + y) * w + x
        }
    }

    /// The input offset (within the view, without batch) of the first maximum of the window
    /// of output `(ci, oy, ox)` of image `n`, and its value.
    fn argmax<T: Elem>(
        &self,
        x: &[T],
        v: &View4,
        n: usize,
        ci: usize,
        oy: usize,
        ox: usize,
    ) -> (usize, usize, T) {
        let [sn, sc, sh, sw] = v.strides;
        let base = v.offset + n * sn + ci * sc;
        let (y0, x0) = (oy * self.stride[0], ox * self.stride[1]);
        let mut best = (y0, x0, x[base + y0 * sh + x0 * sw]);
        if is_nan(best.2) {
            return best;
        }
        for a in 0..self.k[0] {
            for b in 0..self.k[1] {
                let (y, xx) = (y0 + a, x0 + b);
                let val = x[base + y * sh + xx * sw];
                if is_nan(val) {
                    return (y, xx, val);
                }
                if val > best.2 {
                    best = (y, xx, val);
                }
            }
        }
        best
    }
}

impl PoolGeom {
    /// Forward of image `n` when channels are contiguous (`v`'s channel stride 1) and the
    /// result channels-last: each window's rows of `c` values are reduced with a
    /// channel-wise maximum (vectorised), with [`PoolGeom::argmax`]'s rule: the first NaN
    /// in window order, else the first maximum.
    fn max_rows<T: Elem>(&self, x: &[T], v: &View4, n: usize, img: &mut [T]) {
        #[cfg(target_arch = "x86_64")]
        if super::has_avx2_fma() {
            // SAFETY: the CPU has AVX2 and FMA.
            unsafe { self.max_rows_avx2(x, v, n, img) };
            return;
        }
        self.max_rows_any(x, v, n, img)
    }

    /// [`PoolGeom::max_rows`] compiled for AVX2 (the selects become blends; the baseline
    /// SSE2 build branches per element).
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn max_rows_avx2<T: Elem>(&self, x: &[T], v: &View4, n: usize, img: &mut [T]) {
        self.max_rows_any(x, v, n, img)
    }

    /// The body of [`PoolGeom::max_rows`], for any target.
    #[inline(always)]
    fn max_rows_any<T: Elem>(&self, x: &[T], v: &View4, n: usize, img: &mut [T]) {
        let [sn, _, sh, sw] = v.strides;
        let c = self.dims[1];
        let [oh, ow] = self.out;
        for oy in 0..oh {
            for ox in 0..ow {
                let dst = &mut img[(oy * ow + ox) * c..][..c];
                let (y0, x0) = (oy * self.stride[0], ox * self.stride[1]);
                for a in 0..self.k[0] {
                    for b in 0..self.k[1] {
                        let src = &x[v.offset + n * sn + (y0 + a) * sh + (x0 + b) * sw..][..c];
                        if a == 0 && b == 0 {
                            dst.copy_from_slice(src);
                            continue;
                        }
                        for (d, &e) in dst.iter_mut().zip(src) {
                            // A select (no branch), so the loop vectorises.
                            *d = if takes(*d, e) { e } else { *d };
                        }
                    }
                }
            }
        }
    }

    /// Backward of image `n` in the layout of [`PoolGeom::max_rows`]: finds each window's
    /// maximum per channel (into `best`, its tap into `at`) and adds the gradient `gi`
    /// (channels-last) there in `img` (`[H, W, C]`).
    #[allow(clippy::too_many_arguments)]
    fn scatter_rows<T: Elem>(
        &self,
        x: &[T],
        v: &View4,
        n: usize,
        gi: &[T],
        img: &mut [T],
        best: &mut [T],
        at: &mut [u32],
    ) {
        #[cfg(target_arch = "x86_64")]
        if super::has_avx2_fma() {
            // SAFETY: the CPU has AVX2 and FMA.
            unsafe { self.scatter_rows_avx2(x, v, n, gi, img, best, at) };
            return;
        }
        self.scatter_rows_any(x, v, n, gi, img, best, at)
    }

    /// [`PoolGeom::scatter_rows`] compiled for AVX2.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn scatter_rows_avx2<T: Elem>(
        &self,
        x: &[T],
        v: &View4,
        n: usize,
        gi: &[T],
        img: &mut [T],
        best: &mut [T],
        at: &mut [u32],
    ) {
        self.scatter_rows_any(x, v, n, gi, img, best, at)
    }

    /// The body of [`PoolGeom::scatter_rows`], for any target.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn scatter_rows_any<T: Elem>(
        &self,
        x: &[T],
        v: &View4,
        n: usize,
        gi: &[T],
        img: &mut [T],
        best: &mut [T],
        at: &mut [u32],
    ) {
        let [sn, _, sh, sw] = v.strides;
        let [_, c, _, w] = self.dims;
        let [oh, ow] = self.out;
        for oy in 0..oh {
            for ox in 0..ow {
                let (y0, x0) = (oy * self.stride[0], ox * self.stride[1]);
                for a in 0..self.k[0] {
                    for b in 0..self.k[1] {
                        // Fits: `pool_bwd` takes this path only when `h * w` fits a u32 (a
                        // u32 rather than a usize keeps the loop below vectorisable).
                        let tap = ((y0 + a) * w + x0 + b) as u32;
                        let src = &x[v.offset + n * sn + (y0 + a) * sh + (x0 + b) * sw..][..c];
                        if a == 0 && b == 0 {
                            best.copy_from_slice(src);
                            at.fill(tap);
                            continue;
                        }
                        for ((d, t), &e) in best.iter_mut().zip(at.iter_mut()).zip(src) {
                            let take = takes(*d, e);
                            *t = if take { tap } else { *t };
                            *d = if take { e } else { *d };
                        }
                    }
                }
                let g = &gi[(oy * ow + ox) * c..][..c];
                for (ci, (&t, &e)) in at.iter().zip(g).enumerate() {
                    img[t as usize * c + ci] += e;
                }
            }
        }
    }
}

/// Whether a window's running maximum `d` gives way to the next value `e`: the first NaN
/// wins and stays, otherwise a strictly larger value (so ties keep the first).
#[inline(always)]
fn takes<T: Elem>(d: T, e: T) -> bool {
    !is_nan(d) && (e > d || is_nan(e))
}

/// The max pooling forward op.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MaxPool(pub PoolGeom);

/// The max pooling backward op: `(x, grad of the result)` to the gradient of `x`, stored
/// `[N, H, W, C]`.
#[derive(Clone, Copy, Debug)]
struct MaxPoolGrad(PoolGeom);

fn pool_fwd<T: Elem>(
    g: &PoolGeom,
    s: &CpuStorage,
    l: &Layout,
) -> candle_core::Result<(CpuStorage, Shape)> {
    let v = g.view(l, "max_pool2d")?;
    let x = T::slice(s)?;
    let [n, c, _, _] = g.dims;
    let [oh, ow] = g.out;
    let per_image = c * oh * ow;
    let mut out = vec![T::ZERO; n * per_image];
    if per_image > 0 {
        out.par_chunks_mut(per_image)
            .enumerate()
            .for_each(|(ni, img)| {
                if g.channels_last && v.strides[1] == 1 {
                    g.max_rows(x, &v, ni, img);
                    return;
                }
                for ci in 0..c {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            img[g.index(g.channels_last, ci, oy, ox, oh, ow)] =
                                g.argmax(x, &v, ni, ci, oy, ox).2;
                        }
                    }
                }
            });
    }
    Ok((T::storage(out), g.storage_shape(oh, ow)))
}

fn pool_bwd<T: Elem>(
    g: &PoolGeom,
    s1: &CpuStorage,
    l1: &Layout,
    s2: &CpuStorage,
    l2: &Layout,
) -> candle_core::Result<(CpuStorage, Shape)> {
    let v = g.view(l1, "max_pool2d backward")?;
    let x = T::slice(s1)?;
    let grad = super::contiguous_slice::<T>(s2, l2, "max_pool2d backward")?;
    let [n, c, h, w] = g.dims;
    let [oh, ow] = g.out;
    if grad.len() != n * c * oh * ow {
        return Err(candle_core::Error::Msg(format!(
            "max_pool2d backward: gradient of shape {:?}",
            l2.dims()
        )));
    }
    let per_image = c * h * w;
    let mut out = vec![T::ZERO; n * per_image];
    if per_image > 0 && oh * ow > 0 {
        out.par_chunks_mut(per_image).enumerate().for_each_init(
            || (vec![T::ZERO; c], vec![0u32; c]),
            |(best, at), (ni, img)| {
                let gi = &grad[ni * c * oh * ow..][..c * oh * ow];
                if g.channels_last && v.strides[1] == 1 && h * w <= u32::MAX as usize {
                    g.scatter_rows(x, &v, ni, gi, img, best, at);
                    return;
                }
                for ci in 0..c {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let (y, xx, _) = g.argmax(x, &v, ni, ci, oy, ox);
                            img[g.index(true, ci, y, xx, h, w)] +=
                                gi[g.index(g.channels_last, ci, oy, ox, oh, ow)];
                        }
                    }
                }
            },
        );
    }
    Ok((T::storage(out), Shape::from((n, h, w, c))))
}

/// The gradient of the result in storage order as the input's `[N, C, H, W]` gradient.
fn to_nchw(g: &PoolGeom, t: Tensor) -> candle_core::Result<Tensor> {
    if g.channels_last {
        t.permute((0, 3, 1, 2))
    } else {
        Ok(t)
    }
}

impl CustomOp1 for MaxPool {
    fn name(&self) -> &'static str {
        "max_pool2d"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        dispatch_float!("max_pool2d", s, pool_fwd(&self.0, s, l))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        // Stored channels-last whatever the input's layout: the input's own in the
        // channels-last form; otherwise the layers reach the pooling through a permute of
        // their channels-last input, whose backward then adds a contiguous gradient.
        let gx = arg.apply_op2_no_bwd(&grad.contiguous()?, &MaxPoolGrad(self.0))?;
        Ok(Some(if self.0.nhwc {
            gx
        } else {
            gx.permute((0, 3, 1, 2))?
        }))
    }
}

impl CustomOp2 for MaxPoolGrad {
    fn name(&self) -> &'static str {
        "max_pool2d_backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        dispatch_float!("max_pool2d backward", s1, pool_bwd(&self.0, s1, l1, s2, l2))
    }
}

/// Max pooling of `x [N, C, H, W]` (any strides) with window `k` and `stride` to `out`;
/// the result is `[N, C, OH, OW]`, a view of `[N, OH, OW, C]` storage when `x` is a
/// channels-last view.
pub(crate) fn max_pool2d(
    x: &Tensor,
    k: [usize; 2],
    stride: [usize; 2],
    out: [usize; 2],
) -> candle_core::Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let channels_last = x.permute((0, 2, 3, 1))?.is_contiguous();
    let g = PoolGeom {
        dims: [n, c, h, w],
        k,
        stride,
        out,
        channels_last,
        nhwc: false,
    };
    to_nchw(&g, x.apply_op1(MaxPool(g))?)
}

/// Max pooling of a channels-last `x [N, H, W, C]` (any strides) to a contiguous
/// `[N, OH, OW, C]`, whose gradient is `[N, H, W, C]` too (no permute in the graph).
pub(crate) fn max_pool2d_nhwc(
    x: &Tensor,
    k: [usize; 2],
    stride: [usize; 2],
    out: [usize; 2],
) -> candle_core::Result<Tensor> {
    let (n, h, w, c) = x.dims4()?;
    let g = PoolGeom {
        dims: [n, c, h, w],
        k,
        stride,
        out,
        channels_last: true,
        nhwc: true,
    };
    x.apply_op1(MaxPool(g))
}
