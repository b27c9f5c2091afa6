//! Convolution and pooling, channels-first.
//!
//! On the CPU, f32/f64 convolutions without groups and every max pooling run the fused
//! kernels of [`crate::kernels`] (any padding, stride and dilation; channels-last views read
//! in place). What follows describes the composite path everything else takes.
//!
//! candle's kernels take one padding, stride and dilation for both spatial axes, have no
//! groups in the transposed 2-D convolution, no backward for the transposed 1-D
//! convolution or for pooling whose stride differs from its kernel, and derive the
//! input-gradient size of a strided convolution from the height only. Everything here is
//! therefore routed so that candle always sees what it supports, with the rest done by
//! differentiable candle ops:
//!
//! - asymmetric padding: explicit zero padding, then a convolution with padding 0;
//! - different strides per axis: the gcd as candle's stride, then every n-th output kept
//!   (forward), or zeros inserted between input entries (transposed);
//! - different dilations per axis: zeros inserted into the kernel, the gcd as dilation;
//! - rows and columns no output reads are cropped, so candle's backward sizes are exact;
//! - 1-D convolutions run as 2-D ones of height 1; transposed convolutions with groups run
//!   per group; `padding` and `output_padding` of a transposed convolution crop and pad
//!   the full result;
//! - max pooling: a `max` reduction over the windows reshaped into their own axes (candle's
//!   max-pool backward scales the gradient by 1 / window size); pooling whose stride
//!   differs from its kernel: maximum / sum over the window's shifted, strided views.

use crate::kernels::{self, conv::ConvGeom};
use crate::{need_float, same_dtype, wrap, Candle};
use candle_core::Tensor;
use stratanet_frontend::backend::check::{
    check_conv_bias, check_conv_groups, check_conv_params, check_conv_ranks,
    check_conv_transpose_groups, check_output_padding, check_pool, check_transpose_crop,
    conv_window,
};
use stratanet_frontend::backend::{
    conv2d_nhwc_via_nchw, max_pool2d_nhwc_via_nchw, Conv1dParams, Conv2dParams, NnOps,
};
use stratanet_frontend::Result;

/// Greatest common divisor.
fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Inserts `s - 1` zeros between consecutive entries of `axis`: length `(l - 1) * s + 1`.
fn zero_insert(t: &Tensor, axis: usize, s: usize) -> candle_core::Result<Tensor> {
    let l = t.dim(axis)?;
    if s <= 1 || l == 0 {
        return Ok(t.clone());
    }
    let mut dims = t.dims().to_vec();
    dims[axis] = l * s;
    t.unsqueeze(axis + 1)?
        .pad_with_zeros(axis + 1, 0, s - 1)?
        .reshape(dims)?
        .narrow(axis, 0, (l - 1) * s + 1)?
        .contiguous()
}

/// Every `s`-th entry of `axis`, starting at 0.
fn subsample(t: &Tensor, axis: usize, s: usize) -> candle_core::Result<Tensor> {
    if s <= 1 {
        return Ok(t.clone());
    }
    let l = t.dim(axis)?;
    let idx = Tensor::arange_step(0i64, l as i64, s as i64, t.device())?;
    t.contiguous()?.index_select(&idx, axis)
}

/// Checks ranks, dtypes and the positive hyper-parameters shared by all convolutions.
fn check_common(
    op: &str,
    x: &Tensor,
    w: &Tensor,
    rank: usize,
    stride: &[usize],
    dilation: &[usize],
    groups: usize,
) -> Result<()> {
    check_conv_ranks(op, x.dims(), w.dims(), rank)?;
    same_dtype(op, x, w)?;
    need_float(op, "input", x)?;
    check_conv_params(op, x.dims(), w.dims(), stride, dilation, groups)
}

/// Checks the operands of a 2-D convolution (`x [N, C, H, W]`, `w [O, C / groups, KH, KW]`,
/// `b [O]`) and returns the padded input size and the output size.
fn conv_size(
    op: &str,
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    p: Conv2dParams,
) -> Result<([usize; 2], [usize; 2])> {
    check_conv_groups(op, x.dims(), w.dims(), p.groups)?;
    let k = [w.dims()[2], w.dims()[3]];
    let size = [x.dims()[2], x.dims()[3]];
    let mut padded = [0; 2];
    let mut out = [0; 2];
    for i in 0..2 {
        let (pad, eff) = conv_window(op, x.dims(), i, size[i], k[i], p.padding[i], p.dilation[i])?;
        padded[i] = pad;
        out[i] = (padded[i] - eff) / p.stride[i] + 1;
    }
    if let Some(b) = b {
        check_conv_bias(op, w.dims()[0], b.dims())?;
        same_dtype(op, x, b)?;
    }
    Ok((padded, out))
}

/// The im2col kernel's geometry for input dims `[N, C, H, W]`, kernel size `k` and output
/// size `out`.
fn kernel_geom(x: &[usize], k: [usize; 2], out: [usize; 2], p: Conv2dParams) -> ConvGeom {
    ConvGeom {
        n: x[0],
        c: x[1],
        size: [x[2], x[3]],
        k,
        out,
        stride: p.stride,
        dilation: p.dilation,
        pad: [p.padding[0].0, p.padding[1].0],
    }
}

/// The convolution plus the optional bias `[C_out]`, on 4-D tensors (1-D convolutions come
/// with height 1). f32/f64 on the CPU without groups run the im2col kernel
/// ([`kernels::conv`]); everything else candle's `conv2d` as described in the module docs.
fn conv2d_impl(
    op: &str,
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    p: Conv2dParams,
) -> Result<Tensor> {
    let (padded, out) = conv_size(op, x, w, b, p)?;
    let g = p.groups;
    let k = [w.dims()[2], w.dims()[3]];
    let c_out = w.dims()[0];
    if g == 1 && kernels::supported(x) && kernels::supported(w) && x.elem_count() > 0 {
        let geom = kernel_geom(x.dims(), k, out, p);
        return kernels::conv::conv2d(x, w, b, geom).map_err(wrap(op));
    }
    let stride = unify_axes(p.stride, [out[0] == 1, out[1] == 1]);
    let dilation = unify_axes(p.dilation, [k[0] == 1, k[1] == 1]);
    let gs = gcd(stride[0], stride[1]);
    let gd = gcd(dilation[0], dilation[1]);

    let mut w = w.clone();
    for (i, &d) in dilation.iter().enumerate() {
        w = zero_insert(&w, 2 + i, d / gd).map_err(wrap(op))?;
    }
    // Rows/columns of the padded input that candle's (gcd-)strided output reads.
    let mut needed = [0; 2];
    for i in 0..2 {
        let eff = p.dilation[i] * (k[i] - 1) + 1;
        needed[i] = (padded[i] - eff) / gs * gs + eff;
    }
    let symmetric = p
        .padding
        .iter()
        .all(|&(b, a)| b == a && a == p.padding[0].0);
    let (x, cp) = if symmetric && needed == padded {
        (x.clone(), p.padding[0].0)
    } else {
        let mut x = x.clone();
        for i in 0..2 {
            x = x
                .pad_with_zeros(2 + i, p.padding[i].0, p.padding[i].1)
                .map_err(wrap(op))?;
            if needed[i] < padded[i] {
                x = x.narrow(2 + i, 0, needed[i]).map_err(wrap(op))?;
            }
        }
        (x, 0)
    };
    let mut y = native_conv2d(&x, &w, cp, gs, gd, g).map_err(wrap(op))?;
    for (i, &s) in stride.iter().enumerate() {
        y = subsample(&y, 2 + i, s / gs).map_err(wrap(op))?;
    }
    if let Some(b) = b {
        y = b
            .reshape((1, c_out, 1, 1))
            .and_then(|b| y.broadcast_add(&b))
            .map_err(wrap(op))?;
    }
    Ok(y)
}

/// candle's `conv2d`. On the CPU, candle's im2col convolution has no bf16 matrix kernel
/// (its plain `matmul` widens bf16 to f32 itself; the convolution's does not): bf16 runs
/// in f32 and the result is rounded back to bf16, which is what candle's bf16 `matmul`
/// does too. Differentiable: the casts carry gradients.
fn native_conv2d(
    x: &Tensor,
    w: &Tensor,
    padding: usize,
    stride: usize,
    dilation: usize,
    groups: usize,
) -> candle_core::Result<Tensor> {
    use candle_core::DType as C;
    if x.dtype() == C::BF16 && x.device().is_cpu() {
        let y =
            x.to_dtype(C::F32)?
                .conv2d(&w.to_dtype(C::F32)?, padding, stride, dilation, groups)?;
        return y.to_dtype(C::BF16);
    }
    x.conv2d(w, padding, stride, dilation, groups)
}

/// Candle takes one stride (one dilation) for both axes of a 2-D convolution: an axis
/// whose value cannot matter (`free`: one output or input position, a kernel of 1) takes
/// the other axis' value.
fn unify_axes(mut v: [usize; 2], free: [bool; 2]) -> [usize; 2] {
    if free[0] {
        v[0] = v[1];
    }
    if free[1] {
        v[1] = v[0];
    }
    v
}

/// The transposed convolution, on 4-D tensors.
fn conv_transpose2d_impl(
    op: &str,
    x: &Tensor,
    w: &Tensor,
    p: Conv2dParams,
    output_padding: [usize; 2],
) -> Result<Tensor> {
    let g = p.groups;
    check_conv_transpose_groups(op, x.dims(), w.dims(), g)?;
    check_output_padding(op, &output_padding, &p.stride, &p.dilation)?;
    let k = [w.dims()[2], w.dims()[3]];
    let size = [x.dims()[2], x.dims()[3]];
    let stride = unify_axes(p.stride, [size[0] == 1, size[1] == 1]);
    let dilation = unify_axes(p.dilation, [k[0] == 1, k[1] == 1]);
    let gs = gcd(stride[0], stride[1]);
    let gd = gcd(dilation[0], dilation[1]);
    let mut full = [0; 2];
    for i in 0..2 {
        full[i] = (size[i] - 1) * p.stride[i] + p.dilation[i] * (k[i] - 1) + 1;
        check_transpose_crop(op, x.dims(), i, full[i] + output_padding[i], p.padding[i])?;
    }
    let mut x = x.clone();
    let mut w = w.clone();
    for i in 0..2 {
        x = zero_insert(&x, 2 + i, stride[i] / gs).map_err(wrap(op))?;
        w = zero_insert(&w, 2 + i, dilation[i] / gd).map_err(wrap(op))?;
    }
    let native = output_padding == [0, 0]
        && p.padding
            .iter()
            .all(|&(b, a)| b == a && a == p.padding[0].0);
    let cp = if native { p.padding[0].0 } else { 0 };
    let y = if g == 1 {
        x.conv_transpose2d(&w, cp, 0, gs, gd).map_err(wrap(op))?
    } else {
        let xs = x.chunk(g, 1).map_err(wrap(op))?;
        let ws = w.chunk(g, 0).map_err(wrap(op))?;
        let ys = xs
            .iter()
            .zip(&ws)
            .map(|(x, w)| x.conv_transpose2d(w, cp, 0, gs, gd))
            .collect::<candle_core::Result<Vec<_>>>()
            .map_err(wrap(op))?;
        Tensor::cat(&ys, 1).map_err(wrap(op))?
    };
    if native {
        return Ok(y);
    }
    let mut y = y;
    for i in 0..2 {
        let (b, a) = p.padding[i];
        y = y
            .pad_with_zeros(2 + i, 0, output_padding[i])
            .and_then(|y| y.narrow(2 + i, b, full[i] + output_padding[i] - b - a))
            .map_err(wrap(op))?;
    }
    Ok(y)
}

/// 1-D parameters as 2-D ones of height 1.
fn as_2d(p: Conv1dParams) -> Conv2dParams {
    Conv2dParams {
        stride: [1, p.stride],
        padding: [(0, 0), p.padding],
        dilation: [1, p.dilation],
        groups: p.groups,
    }
}

/// `[N, C, L]` as `[N, C, 1, L]`.
fn unsqueeze_h(op: &str, t: &Tensor) -> Result<Tensor> {
    t.unsqueeze(2).map_err(wrap(op))
}

/// Max pooling with non-overlapping windows (stride = kernel) on the cropped input: the
/// windows are moved to a last axis by one reshape-permute copy, then reduced with argmax +
/// gather (the first maximum in row-major window order gets the gradient, as in libtorch).
///
/// A channels-last batch seen as `[N, C, H, W]` (a permuted view whose channel stride is 1,
/// as the layers pass it) is tiled in its own `[N, H, W, C]` storage order and the result is
/// returned as the same kind of view, so no copy converts between the layouts.
fn max_pool_tiled(x: &Tensor, k: [usize; 2], out: [usize; 2]) -> candle_core::Result<Tensor> {
    let (n, c) = (x.dims()[0], x.dims()[1]);
    let (h, w) = (out[0] * k[0], out[1] * k[1]);
    let channels_last = x.permute((0, 2, 3, 1))?.is_contiguous();
    let crop = |t: Tensor, hx: usize, wx: usize| -> candle_core::Result<Tensor> {
        if t.dims()[hx] == h && t.dims()[wx] == w {
            Ok(t)
        } else {
            t.narrow(hx, 0, h)?.narrow(wx, 0, w)
        }
    };
    if channels_last {
        // [N, H, W, C] -> [N, oh, kh, ow, kw, C] -> [N, oh, ow, C, kh, kw]
        let xh = crop(x.permute((0, 2, 3, 1))?, 1, 2)?.contiguous()?;
        let win = xh
            .reshape(vec![n, out[0], k[0], out[1], k[1], c])?
            .permute(vec![0, 1, 3, 5, 2, 4])?
            .contiguous()?
            .reshape(vec![n, out[0], out[1], c, k[0] * k[1]])?;
        let idx = win.argmax_keepdim(4)?;
        let y = win.gather(&idx, 4)?.squeeze(4)?;
        y.permute((0, 3, 1, 2))
    } else {
        // [N, C, H, W] -> [N, C, oh, kh, ow, kw] -> [N, C, oh, ow, kh, kw]
        let xc = crop(x.clone(), 2, 3)?.contiguous()?;
        let win = xc
            .reshape(vec![n, c, out[0], k[0], out[1], k[1]])?
            .permute(vec![0, 1, 2, 4, 3, 5])?
            .contiguous()?
            .reshape(vec![n, c, out[0], out[1], k[0] * k[1]])?;
        let idx = win.argmax_keepdim(4)?;
        win.gather(&idx, 4)?.squeeze(4)
    }
}

/// Pooling. When the stride equals the kernel, on the cropped input (so backward sizes are
/// exact): candle's average pool, or [`max_pool_tiled`] (candle's own max-pool backward is
/// off by the window size). Otherwise a fold over the window's strided views.
fn pool(
    op: &str,
    x: &Tensor,
    kernel: [usize; 2],
    stride: [usize; 2],
    is_max: bool,
) -> Result<Tensor> {
    let out = check_pool(op, x.dims(), kernel, stride)?;
    if is_max && kernels::supported(x) {
        return kernels::pool::max_pool2d(x, kernel, stride, out).map_err(wrap(op));
    }
    let f = || -> candle_core::Result<Tensor> {
        if kernel == stride {
            let (h, w) = (out[0] * kernel[0], out[1] * kernel[1]);
            if is_max {
                return max_pool_tiled(x, kernel, out);
            }
            let x = if (h, w) == (x.dims()[2], x.dims()[3]) {
                x.clone()
            } else {
                x.narrow(2, 0, h)?.narrow(3, 0, w)?.contiguous()?
            };
            let k = (kernel[0], kernel[1]);
            return x.avg_pool2d_with_stride(k, k);
        }
        let mut taps = Vec::with_capacity(kernel[0] * kernel[1]);
        for a in 0..kernel[0] {
            for b in 0..kernel[1] {
                let tap = x.narrow(2, a, (out[0] - 1) * stride[0] + 1)?.narrow(
                    3,
                    b,
                    (out[1] - 1) * stride[1] + 1,
                )?;
                taps.push(subsample(&subsample(&tap, 2, stride[0])?, 3, stride[1])?);
            }
        }
        if is_max {
            // Windows stacked on a last axis in row-major order; the first maximum is
            // picked with argmax + gather, so on ties the gradient goes to that one
            // element only, as libtorch (and Keras/TF) do. (candle's own max-pool backward
            // scales the gradient by 1 / window size, and `max`/`maximum` share it among
            // tied elements.)
            let windows = Tensor::stack(&taps, 4)?.contiguous()?;
            let idx = windows.argmax_keepdim(4)?;
            return windows.gather(&idx.contiguous()?, 4)?.squeeze(4);
        }
        let mut acc: Option<Tensor> = None;
        for tap in taps {
            acc = Some(match acc {
                None => tap,
                Some(acc) => acc.add(&tap)?,
            });
        }
        let acc = acc.ok_or_else(|| candle_core::Error::Msg("empty pooling window".into()))?;
        acc.affine(1.0 / (kernel[0] * kernel[1]) as f64, 0.0)
    };
    f().map_err(wrap(op))
}

impl NnOps for Candle {
    fn conv1d(x: &Tensor, w: &Tensor, p: Conv1dParams) -> Result<Tensor> {
        let op = "conv1d";
        check_common(op, x, w, 3, &[p.stride], &[p.dilation], p.groups)?;
        let y = conv2d_impl(
            op,
            &unsqueeze_h(op, x)?,
            &unsqueeze_h(op, w)?,
            None,
            as_2d(p),
        )?;
        y.squeeze(2).map_err(wrap(op))
    }

    fn conv2d(x: &Tensor, w: &Tensor, p: Conv2dParams) -> Result<Tensor> {
        let op = "conv2d";
        check_common(op, x, w, 4, &p.stride, &p.dilation, p.groups)?;
        conv2d_impl(op, x, w, None, p)
    }

    /// The bias is added to the im2col kernel's `[N * OH * OW, C_out]` product (one
    /// broadcast add over a contiguous matrix).
    fn conv2d_bias(x: &Tensor, w: &Tensor, b: Option<&Tensor>, p: Conv2dParams) -> Result<Tensor> {
        check_common("conv2d", x, w, 4, &p.stride, &p.dilation, p.groups)?;
        conv2d_impl("conv2d_bias", x, w, b, p)
    }

    /// On the CPU in f32/f64 without groups: one fused op, channels-last in and out, with
    /// the ReLU inside (`kernels::conv`); otherwise the permuted channels-first path.
    fn conv2d_nhwc(
        x: &Tensor,
        w: &Tensor,
        b: Option<&Tensor>,
        p: Conv2dParams,
        relu: bool,
    ) -> Result<Tensor> {
        let op = "conv2d";
        let fused = p.groups == 1
            && kernels::supported(x)
            && kernels::supported(w)
            && x.rank() == 4
            && w.rank() == 4
            && x.elem_count() > 0;
        if !fused {
            return conv2d_nhwc_via_nchw::<Self>(x, w, b, p, relu);
        }
        // The checks and sizes of the channels-first form, on permuted views.
        let (xs, ws) = x
            .permute((0, 3, 1, 2))
            .and_then(|xs| Ok((xs, w.permute((3, 2, 0, 1))?)))
            .map_err(wrap(op))?;
        check_common(op, &xs, &ws, 4, &p.stride, &p.dilation, p.groups)?;
        let (_, out) = conv_size(op, &xs, &ws, b, p)?;
        let geom = kernel_geom(xs.dims(), [ws.dims()[2], ws.dims()[3]], out, p);
        kernels::conv::conv2d_nhwc(x, w, b, geom, relu).map_err(wrap(op))
    }

    /// On the CPU in f32/f64: the pooling kernel reading and writing channels-last.
    fn max_pool2d_nhwc(x: &Tensor, kernel: [usize; 2], stride: [usize; 2]) -> Result<Tensor> {
        let op = "max_pool2d";
        if !(kernels::supported(x) && x.rank() == 4) {
            return max_pool2d_nhwc_via_nchw::<Self>(x, kernel, stride);
        }
        let xs = x.permute((0, 3, 1, 2)).map_err(wrap(op))?;
        let out = check_pool(op, xs.dims(), kernel, stride)?;
        kernels::pool::max_pool2d_nhwc(x, kernel, stride, out).map_err(wrap(op))
    }

    /// Runs as a 2-D transposed convolution of height 1 (candle has no backward for its
    /// 1-D one).
    fn conv_transpose1d(
        x: &Tensor,
        w: &Tensor,
        p: Conv1dParams,
        output_padding: usize,
    ) -> Result<Tensor> {
        let op = "conv_transpose1d";
        check_common(op, x, w, 3, &[p.stride], &[p.dilation], p.groups)?;
        let y = conv_transpose2d_impl(
            op,
            &unsqueeze_h(op, x)?,
            &unsqueeze_h(op, w)?,
            as_2d(p),
            [0, output_padding],
        )?;
        y.squeeze(2).map_err(wrap(op))
    }

    fn conv_transpose2d(
        x: &Tensor,
        w: &Tensor,
        p: Conv2dParams,
        output_padding: [usize; 2],
    ) -> Result<Tensor> {
        let op = "conv_transpose2d";
        check_common(op, x, w, 4, &p.stride, &p.dilation, p.groups)?;
        conv_transpose2d_impl(op, x, w, p, output_padding)
    }

    fn max_pool2d(x: &Tensor, kernel: [usize; 2], stride: [usize; 2]) -> Result<Tensor> {
        pool("max_pool2d", x, kernel, stride, true)
    }

    fn avg_pool2d(x: &Tensor, kernel: [usize; 2], stride: [usize; 2]) -> Result<Tensor> {
        pool("avg_pool2d", x, kernel, stride, false)
    }
}
