//! Convolution and pooling, channels-first, on libtorch's `convolution` and pooling
//! kernels.
//!
//! libtorch takes per-axis strides and dilations and a symmetric padding per axis.
//! Asymmetric padding of a convolution is an explicit zero padding first (then padding 0);
//! a transposed convolution with asymmetric padding runs unpadded and the full result is
//! extended by `output_padding` zeros at the end and cropped by `(before, after)`, which
//! is exactly the definition the trait documents (and libtorch's own for symmetric
//! padding).

use crate::{i64s, need_float, same_dtype, wrap, Tch, TchTensor};
use stratanet_frontend::backend::check::{
    check_conv_bias, check_conv_groups, check_conv_params, check_conv_ranks,
    check_conv_transpose_groups, check_output_padding, check_pool, check_transpose_crop,
    conv_window,
};
use stratanet_frontend::backend::{Conv1dParams, Conv2dParams, NnOps, ShapeOps};
use stratanet_frontend::Result;
use tch::Tensor;

/// Spatial hyper-parameters of a 1-D or 2-D convolution, one entry per spatial axis.
struct Spec<'a> {
    stride: &'a [usize],
    padding: &'a [(usize, usize)],
    dilation: &'a [usize],
    groups: usize,
}

impl<'a> Spec<'a> {
    /// The one spatial axis of a 1-D convolution.
    fn of_1d(p: &'a Conv1dParams) -> Self {
        Spec {
            stride: std::slice::from_ref(&p.stride),
            padding: std::slice::from_ref(&p.padding),
            dilation: std::slice::from_ref(&p.dilation),
            groups: p.groups,
        }
    }

    /// The two spatial axes of a 2-D convolution.
    fn of_2d(p: &'a Conv2dParams) -> Self {
        Spec {
            stride: &p.stride,
            padding: &p.padding,
            dilation: &p.dilation,
            groups: p.groups,
        }
    }
}

/// Checks ranks, dtypes and the positive hyper-parameters shared by all convolutions.
fn check_common(op: &str, x: &TchTensor, w: &TchTensor, rank: usize, s: &Spec) -> Result<()> {
    let (xd, wd) = (x.dims(), w.dims());
    check_conv_ranks(op, &xd, &wd, rank)?;
    same_dtype(op, x, w)?;
    need_float(op, "input", x)?;
    check_conv_params(op, &xd, &wd, s.stride, s.dilation, s.groups)
}

/// libtorch's `constant_pad_nd` list for `(before, after)` per spatial axis (last axis
/// first).
fn pad_list(padding: &[(usize, usize)]) -> Vec<i64> {
    padding
        .iter()
        .rev()
        .flat_map(|&(b, a)| [b as i64, a as i64])
        .collect()
}

/// The convolution, for 1 or 2 spatial axes.
fn conv_impl(
    op: &str,
    x: &TchTensor,
    w: &TchTensor,
    bias: Option<&TchTensor>,
    s: &Spec,
) -> Result<TchTensor> {
    let (xd, wd) = (x.dims(), w.dims());
    let g = s.groups;
    check_conv_groups(op, &xd, &wd, g)?;
    for i in 0..s.stride.len() {
        conv_window(
            op,
            &xd,
            i,
            xd[2 + i],
            wd[2 + i],
            s.padding[i],
            s.dilation[i],
        )?;
    }
    let symmetric = s.padding.iter().all(|&(b, a)| b == a);
    let padded;
    let (input, padding): (&Tensor, Vec<i64>) = if symmetric {
        (x, s.padding.iter().map(|&(b, _)| b as i64).collect())
    } else {
        padded = x.f_constant_pad_nd(pad_list(s.padding)).map_err(wrap(op))?;
        (&padded, vec![0; s.padding.len()])
    };
    let n = s.stride.len();
    input
        .f_convolution(
            w,
            bias.map(|b| &b.0),
            i64s(s.stride),
            padding,
            i64s(s.dilation),
            false,
            vec![0i64; n],
            g as i64,
        )
        .map(TchTensor)
        .map_err(wrap(op))
}

/// A 2-D convolution with an optional bias `[C_out]` passed to libtorch's kernel.
fn conv2d_op(
    op: &str,
    x: &TchTensor,
    w: &TchTensor,
    b: Option<&TchTensor>,
    p: Conv2dParams,
) -> Result<TchTensor> {
    let s = Spec::of_2d(&p);
    check_common(op, x, w, 4, &s)?;
    if let Some(b) = b {
        check_conv_bias(op, w.dims()[0], &b.dims())?;
    }
    conv_impl(op, x, w, b, &s)
}

/// The transposed convolution, for 1 or 2 spatial axes.
fn conv_transpose_impl(
    op: &str,
    x: &TchTensor,
    w: &TchTensor,
    s: &Spec,
    output_padding: &[usize],
) -> Result<TchTensor> {
    let (xd, wd) = (x.dims(), w.dims());
    let g = s.groups;
    check_conv_transpose_groups(op, &xd, &wd, g)?;
    check_output_padding(op, output_padding, s.stride, s.dilation)?;
    let n = s.stride.len();
    let mut full = vec![0; n];
    for i in 0..n {
        full[i] = (xd[2 + i] - 1) * s.stride[i] + s.dilation[i] * (wd[2 + i] - 1) + 1;
        check_transpose_crop(op, &xd, i, full[i] + output_padding[i], s.padding[i])?;
    }
    let symmetric = s.padding.iter().all(|&(b, a)| b == a);
    let run = |padding: Vec<i64>, output_padding: Vec<i64>| {
        x.f_convolution(
            w,
            None::<&Tensor>,
            i64s(s.stride),
            padding,
            i64s(s.dilation),
            true,
            output_padding,
            g as i64,
        )
        .map_err(wrap(op))
    };
    if symmetric {
        let padding = s.padding.iter().map(|&(b, _)| b as i64).collect();
        return run(padding, i64s(output_padding)).map(TchTensor);
    }
    let mut y = run(vec![0; n], vec![0; n])?;
    let extra: Vec<(usize, usize)> = output_padding.iter().map(|&p| (0, p)).collect();
    if extra.iter().any(|&(_, p)| p > 0) {
        y = y.f_constant_pad_nd(pad_list(&extra)).map_err(wrap(op))?;
    }
    for i in 0..n {
        let (b, a) = s.padding[i];
        let len = full[i] + output_padding[i] - b - a;
        y = y
            .f_narrow(2 + i as i64, b as i64, len as i64)
            .map_err(wrap(op))?;
    }
    Ok(TchTensor(y))
}

/// The largest window (in elements) [`max_of_views`] pools: a 2x2 window is three
/// element-wise maxima.
const MAX_VIEW_WINDOW: usize = 4;

/// Max pooling without indices, for inference on the CPU: the element-wise maximum of
/// the window's `kernel[0] * kernel[1]` (2 to [`MAX_VIEW_WINDOW`]) strided views of
/// `x [N, C, H, W]` (checked by `check_pool`). libtorch's CPU `max_pool2d` always writes
/// the int64 argmax indices its backward needs, which for a 2x2 window on a
/// `[64, 32, 26, 26]` channels-last activation takes about 2.5 times as long as the three
/// maxima; the result is the same (NaN propagates through `maximum` as through the
/// pooling kernel) and keeps the input's memory format. Used only where no gradient can
/// be asked for (`x` does not require one).
fn max_of_views(
    x: &Tensor,
    dims: &[usize],
    kernel: [usize; 2],
    stride: [usize; 2],
) -> Result<Tensor, tch::TchError> {
    let out = |axis: usize| (dims[2 + axis] - kernel[axis]) / stride[axis] + 1;
    let (oh, ow) = (out(0), out(1));
    // The inputs at offset `(i, j)` of every window.
    let view = |(i, j): (usize, usize)| -> Result<Tensor, tch::TchError> {
        let end = |start: usize, o: usize, s: usize| (start + (o - 1) * s + 1) as i64;
        x.f_slice(2, i as i64, end(i, oh, stride[0]), stride[0] as i64)?
            .f_slice(3, j as i64, end(j, ow, stride[1]), stride[1] as i64)
    };
    let offsets: Vec<(usize, usize)> = (0..kernel[0])
        .flat_map(|i| (0..kernel[1]).map(move |j| (i, j)))
        .collect();
    let acc = view(offsets[0])?.f_maximum(&view(offsets[1])?)?;
    for &o in &offsets[2..] {
        let _ = acc.f_maximum_out(&acc, &view(o)?)?;
    }
    Ok(acc)
}

impl NnOps for Tch {
    fn conv1d(x: &TchTensor, w: &TchTensor, p: Conv1dParams) -> Result<TchTensor> {
        let op = "conv1d";
        let s = Spec::of_1d(&p);
        check_common(op, x, w, 3, &s)?;
        conv_impl(op, x, w, None, &s)
    }

    fn conv2d(x: &TchTensor, w: &TchTensor, p: Conv2dParams) -> Result<TchTensor> {
        conv2d_op("conv2d", x, w, None, p)
    }

    fn conv2d_bias(
        x: &TchTensor,
        w: &TchTensor,
        b: Option<&TchTensor>,
        p: Conv2dParams,
    ) -> Result<TchTensor> {
        conv2d_op("conv2d_bias", x, w, b, p)
    }

    /// Keras' layouts as permuted views (libtorch's channels-last memory format, which
    /// oneDNN convolves without copies), then, for `relu`, libtorch's in-place `relu_` on
    /// the fresh result: one activation-sized buffer and one pass fewer per layer than a
    /// separate `relu`, as `nn.ReLU(inplace=True)` after `nn.Conv2d`. Autograd allows it:
    /// the convolution's backward reads its input and weight, not its output.
    fn conv2d_nhwc(
        x: &TchTensor,
        w: &TchTensor,
        b: Option<&TchTensor>,
        p: Conv2dParams,
        relu: bool,
    ) -> Result<TchTensor> {
        let op = "conv2d_nhwc";
        let xs = Tch::permute(x, &[0, 3, 1, 2])?;
        let ws = Tch::permute(w, &[3, 2, 0, 1])?;
        let mut y = conv2d_op(op, &xs, &ws, b, p)?;
        if relu {
            y = TchTensor(y.0.f_relu_().map_err(wrap(op))?);
        }
        Tch::permute(&y, &[0, 2, 3, 1])
    }

    fn conv_transpose1d(
        x: &TchTensor,
        w: &TchTensor,
        p: Conv1dParams,
        output_padding: usize,
    ) -> Result<TchTensor> {
        let op = "conv_transpose1d";
        let s = Spec::of_1d(&p);
        check_common(op, x, w, 3, &s)?;
        conv_transpose_impl(op, x, w, &s, &[output_padding])
    }

    fn conv_transpose2d(
        x: &TchTensor,
        w: &TchTensor,
        p: Conv2dParams,
        output_padding: [usize; 2],
    ) -> Result<TchTensor> {
        let op = "conv_transpose2d";
        let s = Spec::of_2d(&p);
        check_common(op, x, w, 4, &s)?;
        conv_transpose_impl(op, x, w, &s, &output_padding)
    }

    /// libtorch's `max_pool2d` (no padding, floor mode); the gradient goes to the first
    /// maximum of each window. On the CPU, an input that does not require a gradient is
    /// pooled by [`max_of_views`] when the window has 2 to 4 elements (same values).
    fn max_pool2d(x: &TchTensor, kernel: [usize; 2], stride: [usize; 2]) -> Result<TchTensor> {
        let op = "max_pool2d";
        let dims = x.dims();
        check_pool(op, &dims, kernel, stride)?;
        if (2..=MAX_VIEW_WINDOW).contains(&(kernel[0] * kernel[1]))
            && !x.requires_grad()
            && x.device() == tch::Device::Cpu
        {
            return max_of_views(x, &dims, kernel, stride)
                .map(TchTensor)
                .map_err(wrap(op));
        }
        x.f_max_pool2d(i64s(&kernel), i64s(&stride), [0, 0], [1, 1], false)
            .map(TchTensor)
            .map_err(wrap(op))
    }

    /// libtorch's `avg_pool2d` (no padding, floor mode).
    fn avg_pool2d(x: &TchTensor, kernel: [usize; 2], stride: [usize; 2]) -> Result<TchTensor> {
        let op = "avg_pool2d";
        check_pool(op, &x.dims(), kernel, stride)?;
        x.f_avg_pool2d(i64s(&kernel), i64s(&stride), [0, 0], false, true, None)
            .map(TchTensor)
            .map_err(wrap(op))
    }
}
