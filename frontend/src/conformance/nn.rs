//! Conformance of [`NnOps`](crate::backend::NnOps): convolutions (stride, asymmetric
//! padding, dilation, groups), transposed convolutions against a naive host reference, and
//! pooling.

use super::*;
use crate::backend::{Conv1dParams, Conv2dParams};

/// Host reference of a grouped, strided, padded, dilated 2-D cross-correlation:
/// `x [N, C, H, W]`, `w [O, C / groups, KH, KW]`.
pub fn host_conv2d(
    x: &[f64],
    xs: &[usize],
    w: &[f64],
    ws: &[usize],
    p: Conv2dParams,
) -> (Vec<f64>, Vec<usize>) {
    let (n, c, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
    let (o, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
    let g = p.groups;
    assert_eq!(c, cg * g, "host_conv2d: channels");
    let og = o / g;
    let ho = (h + p.padding[0].0 + p.padding[0].1 - p.dilation[0] * (kh - 1) - 1) / p.stride[0] + 1;
    let wo =
        (wd + p.padding[1].0 + p.padding[1].1 - p.dilation[1] * (kw - 1) - 1) / p.stride[1] + 1;
    let mut out = vec![0.0; n * o * ho * wo];
    for b in 0..n {
        for oc in 0..o {
            let grp = oc / og;
            for y in 0..ho {
                for z in 0..wo {
                    let mut acc = 0.0;
                    for ci in 0..cg {
                        let ic = grp * cg + ci;
                        for a in 0..kh {
                            for e in 0..kw {
                                let iy = (y * p.stride[0] + a * p.dilation[0]) as isize
                                    - p.padding[0].0 as isize;
                                let iz = (z * p.stride[1] + e * p.dilation[1]) as isize
                                    - p.padding[1].0 as isize;
                                if iy < 0 || iz < 0 || iy >= h as isize || iz >= wd as isize {
                                    continue;
                                }
                                let xv = x[((b * c + ic) * h + iy as usize) * wd + iz as usize];
                                acc += xv * w[((oc * cg + ci) * kh + a) * kw + e];
                            }
                        }
                    }
                    out[((b * o + oc) * ho + y) * wo + z] = acc;
                }
            }
        }
    }
    (out, vec![n, o, ho, wo])
}

/// Host reference of a transposed 2-D convolution (the adjoint of [`host_conv2d`] with the
/// same parameters): `x [N, C_in, H, W]`, `w [C_in, C_out / groups, KH, KW]`; output size
/// `(H - 1) * stride - pad_before - pad_after + dilation * (K - 1) + output_padding + 1`.
pub fn host_conv_transpose2d(
    x: &[f64],
    xs: &[usize],
    w: &[f64],
    ws: &[usize],
    p: Conv2dParams,
    output_padding: [usize; 2],
) -> (Vec<f64>, Vec<usize>) {
    let (n, cin, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
    let (cin2, og, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
    assert_eq!(cin, cin2, "host_conv_transpose2d: channels");
    let g = p.groups;
    let cg = cin / g;
    let o = og * g;
    let size = |i: usize, len: usize, k: usize| -> usize {
        (len - 1) * p.stride[i] + p.dilation[i] * (k - 1) + output_padding[i] + 1
            - p.padding[i].0
            - p.padding[i].1
    };
    let (ho, wo) = (size(0, h, kh), size(1, wd, kw));
    let mut out = vec![0.0; n * o * ho * wo];
    for b in 0..n {
        for ic in 0..cin {
            let grp = ic / cg;
            for oc in 0..og {
                let oo = grp * og + oc;
                for y in 0..h {
                    for z in 0..wd {
                        let xv = x[((b * cin + ic) * h + y) * wd + z];
                        for a in 0..kh {
                            for e in 0..kw {
                                let oy = (y * p.stride[0] + a * p.dilation[0]) as isize
                                    - p.padding[0].0 as isize;
                                let oz = (z * p.stride[1] + e * p.dilation[1]) as isize
                                    - p.padding[1].0 as isize;
                                if oy < 0 || oz < 0 || oy >= ho as isize || oz >= wo as isize {
                                    continue;
                                }
                                out[((b * o + oo) * ho + oy as usize) * wo + oz as usize] +=
                                    xv * w[((ic * og + oc) * kh + a) * kw + e];
                            }
                        }
                    }
                }
            }
        }
    }
    (out, vec![n, o, ho, wo])
}

fn to2d(p: Conv1dParams) -> Conv2dParams {
    Conv2dParams {
        stride: [1, p.stride],
        padding: [(0, 0), p.padding],
        dilation: [1, p.dilation],
        groups: p.groups,
    }
}

fn shape1d(s: &[usize]) -> Vec<usize> {
    vec![s[0], s[1], 1, s[2]]
}

fn c1(stride: usize, padding: (usize, usize), dilation: usize, groups: usize) -> Conv1dParams {
    Conv1dParams {
        stride,
        padding,
        dilation,
        groups,
    }
}

fn c2(
    stride: [usize; 2],
    padding: [(usize, usize); 2],
    dilation: [usize; 2],
    groups: usize,
) -> Conv2dParams {
    Conv2dParams {
        stride,
        padding,
        dilation,
        groups,
    }
}

// Input, kernel, parameters and the expected result: one argument each reads best here.
#[allow(clippy::too_many_arguments)]
fn conv1d_case<B: Backend>(
    op: &str,
    x: &[f64],
    xs: &[usize],
    w: &[f64],
    ws: &[usize],
    p: Conv1dParams,
    shape: &[usize],
    want: &[f64],
) {
    for dtype in [DType::F32, DType::F64] {
        let out = ok(
            op,
            B::conv1d(&tensor::<B>(x, xs, dtype), &tensor::<B>(w, ws, dtype), p),
        );
        assert_float::<B>(&format!("{op} ({dtype}, {p:?})"), &out, dtype, shape, want);
    }
}

// Input, kernel, parameters and the expected result: one argument each reads best here.
#[allow(clippy::too_many_arguments)]
fn conv2d_case<B: Backend>(
    op: &str,
    x: &[f64],
    xs: &[usize],
    w: &[f64],
    ws: &[usize],
    p: Conv2dParams,
    shape: &[usize],
    want: &[f64],
) {
    for dtype in [DType::F32, DType::F64] {
        let out = ok(
            op,
            B::conv2d(&tensor::<B>(x, xs, dtype), &tensor::<B>(w, ws, dtype), p),
        );
        assert_float::<B>(&format!("{op} ({dtype}, {p:?})"), &out, dtype, shape, want);
    }
}

const X5: [f64; 5] = [1.0, 2.0, 3.0, 4.0, 5.0];
const K3: [f64; 3] = [1.0, 2.0, 3.0];

/// `conv1d` is a cross-correlation: `[1..5] * [1, 2, 3] = [14, 20, 26]`; batches are
/// independent.
pub fn conv1d_basic<B: Backend>() {
    conv1d_case::<B>(
        "conv1d",
        &X5,
        &[1, 1, 5],
        &K3,
        &[1, 1, 3],
        Conv1dParams::default(),
        &[1, 1, 3],
        &[14.0, 20.0, 26.0],
    );
    let x2 = [1.0, 2.0, 3.0, 4.0, 5.0, -1.0, -2.0, -3.0, -4.0, -5.0];
    conv1d_case::<B>(
        "conv1d batch 2",
        &x2,
        &[2, 1, 5],
        &K3,
        &[1, 1, 3],
        Conv1dParams::default(),
        &[2, 1, 3],
        &[14.0, 20.0, 26.0, -14.0, -20.0, -26.0],
    );
}

/// Stride with padding before, and asymmetric padding after only.
pub fn conv1d_stride_padding<B: Backend>() {
    // [0, 1, 2, 3, 4, 5] at stride 2: [0+2+6, 2+6+12].
    conv1d_case::<B>(
        "conv1d",
        &X5,
        &[1, 1, 5],
        &K3,
        &[1, 1, 3],
        c1(2, (1, 0), 1, 1),
        &[1, 1, 2],
        &[8.0, 20.0],
    );
    // [1, 2, 3, 4, 5, 0, 0].
    conv1d_case::<B>(
        "conv1d",
        &X5,
        &[1, 1, 5],
        &K3,
        &[1, 1, 3],
        c1(1, (0, 2), 1, 1),
        &[1, 1, 5],
        &[14.0, 20.0, 26.0, 14.0, 5.0],
    );
}

/// Dilation 2: `x0 + 2 x2 + 3 x4 = 22`.
pub fn conv1d_dilation<B: Backend>() {
    conv1d_case::<B>(
        "conv1d",
        &X5,
        &[1, 1, 5],
        &K3,
        &[1, 1, 3],
        c1(1, (0, 0), 2, 1),
        &[1, 1, 1],
        &[22.0],
    );
}

/// Channels summed without groups; kept apart with `groups = 2`.
pub fn conv1d_channels_and_groups<B: Backend>() {
    let x = [1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0];
    let w = [1.0, 1.0, 1.0, -1.0];
    conv1d_case::<B>(
        "conv1d 2 channels",
        &x,
        &[1, 2, 4],
        &w,
        &[1, 2, 2],
        c1(1, (0, 0), 1, 1),
        &[1, 1, 3],
        &[-7.0, -5.0, -3.0],
    );
    conv1d_case::<B>(
        "conv1d groups 2",
        &x,
        &[1, 2, 4],
        &w,
        &[2, 1, 2],
        c1(1, (0, 0), 1, 2),
        &[1, 2, 3],
        &[3.0, 5.0, 7.0, -10.0, -10.0, -10.0],
    );
}

/// `conv1d` with every parameter at once, against the host reference.
pub fn conv1d_reference<B: Backend>() {
    let (xs, ws) = ([2, 4, 9], [6, 2, 3]);
    let x = pseudo(2 * 4 * 9, 110);
    let w = pseudo(6 * 2 * 3, 111);
    let p = c1(2, (2, 1), 2, 2);
    let (want, shape) = host_conv2d(&x, &shape1d(&xs), &w, &shape1d(&ws), to2d(p));
    let shape = [shape[0], shape[1], shape[3]];
    conv1d_case::<B>("conv1d reference", &x, &xs, &w, &ws, p, &shape, &want);
}

const X33: [f64; 9] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
const K22: [f64; 4] = [1.0, 2.0, 3.0, 4.0];

/// `[[1,2,3],[4,5,6],[7,8,9]] * [[1,2],[3,4]] = [[37,47],[67,77]]`.
pub fn conv2d_basic<B: Backend>() {
    conv2d_case::<B>(
        "conv2d",
        &X33,
        &[1, 1, 3, 3],
        &K22,
        &[1, 1, 2, 2],
        Conv2dParams::default(),
        &[1, 1, 2, 2],
        &[37.0, 47.0, 67.0, 77.0],
    );
}

/// Stride 2 with a zero row on top and a zero column on the right.
pub fn conv2d_stride_asymmetric_padding<B: Backend>() {
    conv2d_case::<B>(
        "conv2d",
        &X33,
        &[1, 1, 3, 3],
        &K22,
        &[1, 1, 2, 2],
        c2([2, 2], [(1, 0), (0, 1)], [1, 1], 1),
        &[1, 1, 2, 2],
        &[11.0, 9.0, 67.0, 33.0],
    );
    // Only a zero row below: [[37,47],[67,77],[7+16, 8+18]].
    conv2d_case::<B>(
        "conv2d",
        &X33,
        &[1, 1, 3, 3],
        &K22,
        &[1, 1, 2, 2],
        c2([1, 1], [(0, 1), (0, 0)], [1, 1], 1),
        &[1, 1, 3, 2],
        &[37.0, 47.0, 67.0, 77.0, 23.0, 26.0],
    );
}

/// Dilation 2 picks the corners: `1 + 2*3 + 3*7 + 4*9 = 64`.
pub fn conv2d_dilation<B: Backend>() {
    conv2d_case::<B>(
        "conv2d",
        &X33,
        &[1, 1, 3, 3],
        &K22,
        &[1, 1, 2, 2],
        c2([1, 1], [(0, 0); 2], [2, 2], 1),
        &[1, 1, 1, 1],
        &[64.0],
    );
}

/// Several output channels (1x1 kernels) and `groups = 2`.
pub fn conv2d_channels_and_groups<B: Backend>() {
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let w = [1.0, 0.0, 0.0, 1.0, 1.0, -1.0];
    conv2d_case::<B>(
        "conv2d 1x1, 3 outputs",
        &x,
        &[1, 2, 2, 2],
        &w,
        &[3, 2, 1, 1],
        Conv2dParams::default(),
        &[1, 3, 2, 2],
        &[
            1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, -4.0, -4.0, -4.0, -4.0,
        ],
    );
    let w = [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, -1.0];
    conv2d_case::<B>(
        "conv2d groups 2",
        &x,
        &[1, 2, 2, 2],
        &w,
        &[2, 1, 2, 2],
        c2([1, 1], [(0, 0); 2], [1, 1], 2),
        &[1, 2, 1, 1],
        &[10.0, -3.0],
    );
}

/// `conv2d` with every parameter at once, against the host reference.
pub fn conv2d_reference<B: Backend>() {
    let (xs, ws) = ([2, 4, 7, 6], [6, 2, 3, 2]);
    let x = pseudo(xs.iter().product(), 120);
    let w = pseudo(ws.iter().product(), 121);
    for p in [
        c2([2, 1], [(1, 2), (0, 1)], [1, 2], 2),
        c2([1, 2], [(0, 0), (2, 0)], [2, 1], 1),
    ] {
        let (w, ws) = if p.groups == 1 {
            (pseudo(6 * 4 * 3 * 2, 122), [6, 4, 3, 2])
        } else {
            (w.clone(), ws)
        };
        let (want, shape) = host_conv2d(&x, &xs, &w, &ws, p);
        conv2d_case::<B>("conv2d reference", &x, &xs, &w, &ws, p, &shape, &want);
    }
}

fn conv_t1d_case<B: Backend>(
    op: &str,
    x: &[f64],
    xs: &[usize],
    w: &[f64],
    ws: &[usize],
    p: Conv1dParams,
    op_pad: usize,
) {
    let (want, shape) =
        host_conv_transpose2d(x, &shape1d(xs), w, &shape1d(ws), to2d(p), [0, op_pad]);
    let shape = [shape[0], shape[1], shape[3]];
    for dtype in [DType::F32, DType::F64] {
        let out = ok(
            op,
            B::conv_transpose1d(
                &tensor::<B>(x, xs, dtype),
                &tensor::<B>(w, ws, dtype),
                p,
                op_pad,
            ),
        );
        assert_float::<B>(
            &format!("{op} ({dtype}, {p:?}, output_padding {op_pad})"),
            &out,
            dtype,
            &shape,
            &want,
        );
    }
}

fn conv_t2d_case<B: Backend>(
    op: &str,
    x: &[f64],
    xs: &[usize],
    w: &[f64],
    ws: &[usize],
    p: Conv2dParams,
    op_pad: [usize; 2],
) {
    let (want, shape) = host_conv_transpose2d(x, xs, w, ws, p, op_pad);
    for dtype in [DType::F32, DType::F64] {
        let out = ok(
            op,
            B::conv_transpose2d(
                &tensor::<B>(x, xs, dtype),
                &tensor::<B>(w, ws, dtype),
                p,
                op_pad,
            ),
        );
        assert_float::<B>(
            &format!("{op} ({dtype}, {p:?}, output_padding {op_pad:?})"),
            &out,
            dtype,
            &shape,
            &want,
        );
    }
}

/// `conv_transpose1d` by hand (`[1,2,3]` with `[1,-1]` -> `[1,1,1,-3]`), then stride and
/// dilation against the host reference.
pub fn conv_transpose1d_reference<B: Backend>() {
    let out = ok(
        "conv_transpose1d",
        B::conv_transpose1d(
            &f32s::<B>(&[1.0, 2.0, 3.0], &[1, 1, 3]),
            &f32s::<B>(&[1.0, -1.0], &[1, 1, 2]),
            Conv1dParams::default(),
            0,
        ),
    );
    assert_float::<B>(
        "conv_transpose1d by hand",
        &out,
        DType::F32,
        &[1, 1, 4],
        &[1.0, 1.0, 1.0, -3.0],
    );
    let (xs, ws) = ([2, 3, 5], [3, 2, 3]);
    let x = pseudo(30, 130);
    let w = pseudo(18, 131);
    conv_t1d_case::<B>("conv_transpose1d", &x, &xs, &w, &ws, c1(1, (0, 0), 1, 1), 0);
    conv_t1d_case::<B>("conv_transpose1d", &x, &xs, &w, &ws, c1(2, (0, 0), 1, 1), 0);
    conv_t1d_case::<B>("conv_transpose1d", &x, &xs, &w, &ws, c1(1, (0, 0), 2, 1), 0);
    conv_t1d_case::<B>("conv_transpose1d", &x, &xs, &w, &ws, c1(3, (0, 0), 2, 1), 0);
}

/// `conv_transpose1d` with symmetric and asymmetric padding and output padding.
pub fn conv_transpose1d_padding_output_padding<B: Backend>() {
    let (xs, ws) = ([1, 2, 6], [2, 3, 3]);
    let x = pseudo(12, 132);
    let w = pseudo(18, 133);
    conv_t1d_case::<B>("conv_transpose1d", &x, &xs, &w, &ws, c1(2, (1, 1), 1, 1), 0);
    conv_t1d_case::<B>("conv_transpose1d", &x, &xs, &w, &ws, c1(2, (1, 1), 1, 1), 1);
    conv_t1d_case::<B>("conv_transpose1d", &x, &xs, &w, &ws, c1(2, (2, 0), 1, 1), 0);
    conv_t1d_case::<B>("conv_transpose1d", &x, &xs, &w, &ws, c1(2, (0, 1), 1, 1), 1);
}

/// `conv_transpose1d` with `groups = 2`.
pub fn conv_transpose1d_groups<B: Backend>() {
    let (xs, ws) = ([2, 4, 5], [4, 3, 2]);
    let x = pseudo(40, 134);
    let w = pseudo(24, 135);
    conv_t1d_case::<B>(
        "conv_transpose1d groups",
        &x,
        &xs,
        &w,
        &ws,
        c1(1, (0, 0), 1, 2),
        0,
    );
    conv_t1d_case::<B>(
        "conv_transpose1d groups",
        &x,
        &xs,
        &w,
        &ws,
        c1(2, (1, 0), 1, 2),
        1,
    );
}

/// `conv_transpose2d` by hand: a 2x2 kernel of ones spreads `[[1,2],[3,4]]` into
/// `[[1,3,2],[4,10,6],[3,7,4]]`; at stride 2 the blocks `x[i][j] * w` tile the output.
pub fn conv_transpose2d_basic<B: Backend>() {
    let x = f32s::<B>(&[1.0, 2.0, 3.0, 4.0], &[1, 1, 2, 2]);
    let ones = f32s::<B>(&[1.0; 4], &[1, 1, 2, 2]);
    let out = ok(
        "conv_transpose2d",
        B::conv_transpose2d(&x, &ones, Conv2dParams::default(), [0, 0]),
    );
    assert_float::<B>(
        "conv_transpose2d by hand",
        &out,
        DType::F32,
        &[1, 1, 3, 3],
        &[1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 3.0, 7.0, 4.0],
    );
    let w = f32s::<B>(&[1.0, 2.0, 3.0, 4.0], &[1, 1, 2, 2]);
    let out = ok(
        "conv_transpose2d",
        B::conv_transpose2d(&x, &w, c2([2, 2], [(0, 0); 2], [1, 1], 1), [0, 0]),
    );
    assert_float::<B>(
        "conv_transpose2d stride 2 by hand",
        &out,
        DType::F32,
        &[1, 1, 4, 4],
        &[
            1.0, 2.0, 2.0, 4.0, 3.0, 4.0, 6.0, 8.0, 3.0, 6.0, 4.0, 8.0, 9.0, 12.0, 12.0, 16.0,
        ],
    );
}

/// `conv_transpose2d` with several channels, strides and dilations, against the host
/// reference.
pub fn conv_transpose2d_reference<B: Backend>() {
    let (xs, ws) = ([2, 3, 4, 3], [3, 2, 3, 2]);
    let x = pseudo(72, 140);
    let w = pseudo(36, 141);
    conv_t2d_case::<B>(
        "conv_transpose2d",
        &x,
        &xs,
        &w,
        &ws,
        Conv2dParams::default(),
        [0, 0],
    );
    conv_t2d_case::<B>(
        "conv_transpose2d",
        &x,
        &xs,
        &w,
        &ws,
        c2([2, 3], [(0, 0); 2], [1, 1], 1),
        [0, 0],
    );
    conv_t2d_case::<B>(
        "conv_transpose2d",
        &x,
        &xs,
        &w,
        &ws,
        c2([1, 2], [(0, 0); 2], [2, 1], 1),
        [0, 0],
    );
}

/// `conv_transpose2d` with symmetric and asymmetric padding and output padding.
pub fn conv_transpose2d_padding_output_padding<B: Backend>() {
    let (xs, ws) = ([1, 2, 4, 4], [2, 2, 3, 3]);
    let x = pseudo(32, 142);
    let w = pseudo(36, 143);
    conv_t2d_case::<B>(
        "conv_transpose2d",
        &x,
        &xs,
        &w,
        &ws,
        c2([2, 2], [(1, 1), (1, 1)], [1, 1], 1),
        [0, 0],
    );
    conv_t2d_case::<B>(
        "conv_transpose2d",
        &x,
        &xs,
        &w,
        &ws,
        c2([2, 2], [(1, 1), (1, 1)], [1, 1], 1),
        [1, 1],
    );
    conv_t2d_case::<B>(
        "conv_transpose2d",
        &x,
        &xs,
        &w,
        &ws,
        c2([2, 2], [(0, 1), (2, 0)], [1, 1], 1),
        [1, 0],
    );
}

/// `conv_transpose2d` with `groups = 2`.
pub fn conv_transpose2d_groups<B: Backend>() {
    let (xs, ws) = ([1, 4, 3, 3], [4, 2, 2, 2]);
    let x = pseudo(36, 144);
    let w = pseudo(32, 145);
    conv_t2d_case::<B>(
        "conv_transpose2d groups",
        &x,
        &xs,
        &w,
        &ws,
        c2([1, 1], [(0, 0); 2], [1, 1], 2),
        [0, 0],
    );
    conv_t2d_case::<B>(
        "conv_transpose2d groups",
        &x,
        &xs,
        &w,
        &ws,
        c2([2, 2], [(1, 0), (0, 1)], [1, 1], 2),
        [1, 1],
    );
}

const P44: [f64; 16] = [
    1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 8.0, 1.0, 0.0, 2.0, 6.0, 7.0, 9.0, 1.0, 3.0, 5.0,
];

/// `max_pool2d` with 2x2 windows at stride 2, over two channels.
pub fn max_pool2d_values<B: Backend>() {
    let mut x = P44.to_vec();
    x.extend(P44.iter().map(|v| -v));
    for dtype in [DType::F32, DType::F64] {
        let out = ok(
            "max_pool2d",
            B::max_pool2d(&tensor::<B>(&x, &[1, 2, 4, 4], dtype), [2, 2], [2, 2]),
        );
        assert_float::<B>(
            "max_pool2d",
            &out,
            dtype,
            &[1, 2, 2, 2],
            &[5.0, 8.0, 9.0, 7.0, -1.0, 0.0, 0.0, -3.0],
        );
    }
}

/// On ties, `max_pool2d` sends the whole gradient to the first maximum of each window in
/// row-major order (libtorch's and Keras' convention; ties are common after ReLU).
pub fn max_pool2d_tie_gradient<B: Backend>() {
    let x = B::param(&tensor::<B>(
        &[1.0, 1.0, 0.0, 2.0, 1.0, 1.0, 2.0, 2.0],
        &[1, 1, 2, 4],
        DType::F64,
    ))
    .expect("param");
    for stride in [[2, 2], [1, 2]] {
        let y = ok("max_pool2d", B::max_pool2d(&x, [2, 2], stride));
        let loss = ok("sum", B::sum(&y, &[0, 1, 2, 3], false));
        let g = ok("grad", B::grad(&loss, std::slice::from_ref(&x)));
        let g = g[0].clone().expect("gradient");
        assert_float::<B>(
            "max_pool2d tie gradient",
            &g,
            DType::F64,
            &[1, 1, 2, 4],
            &[1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        );
    }
}

/// Pooling a channels-last batch seen as `[N, C, H, W]` (a permuted view, as the layers
/// pass it) gives the values and gradients of pooling its contiguous copy, for cropped and
/// uncropped sizes, with ties resolved to the first element of the window.
pub fn pool2d_channels_last_view<B: Backend>() {
    for (h, w) in [(4, 6), (5, 7)] {
        let (n, c) = (2, 3);
        let len = n * h * w * c;
        // Quarter-steps make ties inside windows.
        let vals: Vec<f64> = (0..len).map(|i| ((i * 7) % 9) as f64 * 0.25).collect();
        let run = |contiguous: bool, is_max: bool| {
            let x = ok("param", B::param(&f64s::<B>(&vals, &[n, h, w, c])));
            let v = ok("permute", B::permute(&x, &[0, 3, 1, 2]));
            let v = if contiguous {
                ok("contiguous", B::contiguous(&v))
            } else {
                v
            };
            let y = if is_max {
                ok("max_pool2d", B::max_pool2d(&v, [2, 2], [2, 2]))
            } else {
                ok("avg_pool2d", B::avg_pool2d(&v, [2, 2], [2, 2]))
            };
            let shape = B::shape(&y);
            let k: usize = shape.iter().product();
            let wts = tensor::<B>(
                &(0..k).map(|i| 1.0 + (i % 5) as f64).collect::<Vec<_>>(),
                &shape,
                DType::F64,
            );
            let loss = ok(
                "sum",
                B::sum(&ok("mul", B::mul(&y, &wts)), &[0, 1, 2, 3], false),
            );
            let g = ok("grad", B::grad(&loss, std::slice::from_ref(&x)));
            (
                shape,
                values::<B>(&y),
                values::<B>(g[0].as_ref().expect("gradient")),
            )
        };
        for is_max in [true, false] {
            let what = format!(
                "{} of a channels-last view [{n}, {c}, {h}, {w}]",
                if is_max { "max_pool2d" } else { "avg_pool2d" }
            );
            let (sa, ya, ga) = run(false, is_max);
            let (sb, yb, gb) = run(true, is_max);
            assert_eq!(sa, sb, "{what}: shape");
            assert_eq!(sa, vec![n, c, h / 2, w / 2], "{what}: shape");
            assert_close(&format!("{what}: values"), &ya, &yb, TOL_F64);
            assert_close(&format!("{what}: gradient"), &ga, &gb, TOL_F64);
        }
    }
}

/// `avg_pool2d` with 2x2 windows at stride 2.
pub fn avg_pool2d_values<B: Backend>() {
    for dtype in [DType::F32, DType::F64] {
        let out = ok(
            "avg_pool2d",
            B::avg_pool2d(&tensor::<B>(&P44, &[1, 1, 4, 4], dtype), [2, 2], [2, 2]),
        );
        assert_float::<B>(
            "avg_pool2d",
            &out,
            dtype,
            &[1, 1, 2, 2],
            &[3.25, 2.75, 3.0, 5.25],
        );
    }
}

/// Overlapping windows (stride 1) and sizes that do not divide (floor).
pub fn pool2d_overlapping_and_floor<B: Backend>() {
    let x = f32s::<B>(&X33.map(|v| v as f32), &[1, 1, 3, 3]);
    let m = ok("max_pool2d", B::max_pool2d(&x, [2, 2], [1, 1]));
    assert_float::<B>(
        "max_pool2d stride 1",
        &m,
        DType::F32,
        &[1, 1, 2, 2],
        &[5.0, 6.0, 8.0, 9.0],
    );
    let a = ok("avg_pool2d", B::avg_pool2d(&x, [2, 2], [1, 1]));
    assert_float::<B>(
        "avg_pool2d stride 1",
        &a,
        DType::F32,
        &[1, 1, 2, 2],
        &[3.0, 4.0, 6.0, 7.0],
    );
    let v: Vec<f64> = (1..=25).map(|i| i as f64).collect();
    let x = f64s::<B>(&v, &[1, 1, 5, 5]);
    let m = ok("max_pool2d", B::max_pool2d(&x, [2, 2], [2, 2]));
    assert_float::<B>(
        "max_pool2d 5x5 floor",
        &m,
        DType::F64,
        &[1, 1, 2, 2],
        &[7.0, 9.0, 17.0, 19.0],
    );
    let a = ok("avg_pool2d", B::avg_pool2d(&x, [2, 2], [2, 2]));
    assert_float::<B>(
        "avg_pool2d 5x5 floor",
        &a,
        DType::F64,
        &[1, 1, 2, 2],
        &[4.0, 6.0, 14.0, 16.0],
    );
    let m = ok("max_pool2d", B::max_pool2d(&x, [3, 1], [2, 3]));
    assert_float::<B>(
        "max_pool2d [3,1] stride [2,3]",
        &m,
        DType::F64,
        &[1, 1, 2, 2],
        &[11.0, 14.0, 21.0, 24.0],
    );
}

/// `max_pool1d` and `avg_pool1d` over two channels and two window setups.
pub fn pool1d_values<B: Backend>() {
    let x = [1.0, 3.0, 2.0, 5.0, 4.0, -1.0, -3.0, -2.0, -5.0, -4.0];
    for dtype in [DType::F32, DType::F64] {
        let t = tensor::<B>(&x, &[1, 2, 5], dtype);
        let m = ok("max_pool1d", B::max_pool1d(&t, 2, 2));
        assert_float::<B>(
            "max_pool1d k2 s2",
            &m,
            dtype,
            &[1, 2, 2],
            &[3.0, 5.0, -1.0, -2.0],
        );
        let a = ok("avg_pool1d", B::avg_pool1d(&t, 2, 2));
        assert_float::<B>(
            "avg_pool1d k2 s2",
            &a,
            dtype,
            &[1, 2, 2],
            &[2.0, 3.5, -2.0, -3.5],
        );
        let m = ok("max_pool1d", B::max_pool1d(&t, 3, 1));
        assert_float::<B>(
            "max_pool1d k3 s1",
            &m,
            dtype,
            &[1, 2, 3],
            &[3.0, 5.0, 5.0, -1.0, -2.0, -2.0],
        );
        let a = ok("avg_pool1d", B::avg_pool1d(&t, 3, 1));
        assert_float::<B>(
            "avg_pool1d k3 s1",
            &a,
            dtype,
            &[1, 2, 3],
            &[2.0, 10.0 / 3.0, 11.0 / 3.0, -2.0, -10.0 / 3.0, -11.0 / 3.0],
        );
    }
}

/// Gradients of `conv1d` with respect to input and kernel.
pub fn conv1d_grad<B: Backend>() {
    for (k, p) in [c1(1, (0, 0), 1, 1), c1(2, (2, 1), 2, 2)]
        .into_iter()
        .enumerate()
    {
        check_grad::<B>(
            &format!("conv1d {p:?}"),
            &[
                input(&[2, 2, 7], pseudo(28, 150 + k as u64)),
                input(&[4, 2 / p.groups, 3], pseudo(24 / p.groups, 152 + k as u64)),
            ],
            |x| B::conv1d(&x[0], &x[1], p),
        );
    }
}

/// Gradients of `conv2d` (stride, asymmetric padding, dilation).
pub fn conv2d_grad<B: Backend>() {
    check_grad::<B>(
        "conv2d",
        &[
            input(&[2, 2, 4, 4], pseudo(64, 160)),
            input(&[3, 2, 2, 2], pseudo(24, 161)),
        ],
        |x| B::conv2d(&x[0], &x[1], Conv2dParams::default()),
    );
    let p = c2([2, 1], [(1, 0), (0, 2)], [1, 2], 1);
    check_grad::<B>(
        &format!("conv2d {p:?}"),
        &[
            input(&[1, 2, 5, 4], pseudo(40, 162)),
            input(&[2, 2, 3, 2], pseudo(24, 163)),
        ],
        |x| B::conv2d(&x[0], &x[1], p),
    );
}

/// `conv2d_bias` adds one value per output channel to `conv2d`: `[[37,47],[67,77]]` with
/// bias 0.5 on the first and -1 on the second channel (a kernel of ones); no bias is plain
/// `conv2d`; a bias that is not `[C_out]` is an error.
pub fn conv2d_bias_values<B: Backend>() {
    let k2: Vec<f64> = K22.iter().chain([1.0; 4].iter()).copied().collect();
    for dtype in [DType::F32, DType::F64] {
        let x = tensor::<B>(&X33, &[1, 1, 3, 3], dtype);
        let w = tensor::<B>(&k2, &[2, 1, 2, 2], dtype);
        let b = tensor::<B>(&[0.5, -1.0], &[2], dtype);
        let p = Conv2dParams::default();
        let out = ok("conv2d_bias", B::conv2d_bias(&x, &w, Some(&b), p));
        assert_float::<B>(
            &format!("conv2d_bias ({dtype})"),
            &out,
            dtype,
            &[1, 2, 2, 2],
            &[37.5, 47.5, 67.5, 77.5, 11.0, 15.0, 23.0, 27.0],
        );
        let plain = ok("conv2d_bias", B::conv2d_bias(&x, &w, None, p));
        assert_float::<B>(
            &format!("conv2d_bias without bias ({dtype})"),
            &plain,
            dtype,
            &[1, 2, 2, 2],
            &[37.0, 47.0, 67.0, 77.0, 12.0, 16.0, 24.0, 28.0],
        );
        let bad = tensor::<B>(&[1.0, 2.0, 3.0], &[3], dtype);
        assert_err(
            "conv2d_bias with a [3] bias for 2 channels",
            B::conv2d_bias(&x, &w, Some(&bad), p),
        );
    }
}

/// Gradients of `conv2d_bias` for the input, the kernel and the bias.
pub fn conv2d_bias_grad<B: Backend>() {
    let p = c2([2, 1], [(1, 0), (0, 1)], [1, 1], 1);
    check_grad::<B>(
        &format!("conv2d_bias {p:?}"),
        &[
            input(&[2, 2, 4, 4], pseudo(64, 170)),
            input(&[3, 2, 2, 2], pseudo(24, 171)),
            input(&[3], pseudo(3, 172)),
        ],
        |x| B::conv2d_bias(&x[0], &x[1], Some(&x[2]), p),
    );
}

/// Gradients of a grouped `conv2d`.
pub fn conv2d_grad_groups<B: Backend>() {
    let p = c2([1, 1], [(1, 1), (1, 1)], [1, 1], 2);
    check_grad::<B>(
        &format!("conv2d {p:?}"),
        &[
            input(&[1, 4, 3, 3], pseudo(36, 164)),
            input(&[4, 2, 2, 2], pseudo(32, 165)),
        ],
        |x| B::conv2d(&x[0], &x[1], p),
    );
}

/// Gradients of `conv_transpose1d`.
pub fn conv_transpose1d_grad<B: Backend>() {
    for (k, (p, op_pad)) in [(c1(1, (0, 0), 1, 1), 0), (c1(2, (1, 1), 1, 1), 1)]
        .into_iter()
        .enumerate()
    {
        check_grad::<B>(
            &format!("conv_transpose1d {p:?} output_padding {op_pad}"),
            &[
                input(&[2, 2, 4], pseudo(16, 170 + k as u64)),
                input(&[2, 3, 3], pseudo(18, 172 + k as u64)),
            ],
            |x| B::conv_transpose1d(&x[0], &x[1], p, op_pad),
        );
    }
}

/// Gradients of `conv_transpose2d`.
pub fn conv_transpose2d_grad<B: Backend>() {
    for (k, (p, op_pad)) in [
        (Conv2dParams::default(), [0, 0]),
        (c2([2, 2], [(1, 1), (1, 1)], [1, 1], 1), [1, 1]),
    ]
    .into_iter()
    .enumerate()
    {
        check_grad::<B>(
            &format!("conv_transpose2d {p:?} output_padding {op_pad:?}"),
            &[
                input(&[1, 2, 3, 3], pseudo(18, 180 + k as u64)),
                input(&[2, 2, 2, 2], pseudo(16, 182 + k as u64)),
            ],
            |x| B::conv_transpose2d(&x[0], &x[1], p, op_pad),
        );
    }
}

/// Gradients of `max_pool2d` (to the window maxima) and `avg_pool2d`, with disjoint and
/// overlapping windows.
pub fn pool2d_grads<B: Backend>() {
    for (k, (kernel, stride)) in [([2, 2], [2, 2]), ([2, 2], [1, 1]), ([3, 2], [2, 1])]
        .into_iter()
        .enumerate()
    {
        let x = || [input(&[2, 2, 5, 4], pseudo(80, 190 + k as u64))];
        check_grad::<B>(&format!("max_pool2d {kernel:?} {stride:?}"), &x(), |x| {
            B::max_pool2d(&x[0], kernel, stride)
        });
        check_grad::<B>(&format!("avg_pool2d {kernel:?} {stride:?}"), &x(), |x| {
            B::avg_pool2d(&x[0], kernel, stride)
        });
    }
}

/// Gradients of `max_pool1d` and `avg_pool1d`.
pub fn pool1d_grads<B: Backend>() {
    for (k, (kernel, stride)) in [(2, 2), (3, 1)].into_iter().enumerate() {
        let x = || [input(&[2, 2, 7], pseudo(28, 195 + k as u64))];
        check_grad::<B>(&format!("max_pool1d {kernel} {stride}"), &x(), |x| {
            B::max_pool1d(&x[0], kernel, stride)
        });
        check_grad::<B>(&format!("avg_pool1d {kernel} {stride}"), &x(), |x| {
            B::avg_pool1d(&x[0], kernel, stride)
        });
    }
}
