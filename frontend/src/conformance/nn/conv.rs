//! Conformance of the convolutions: `conv1d`, `conv2d`, `conv2d_bias` and the transposed
//! convolutions, their values (by hand and against the host reference) and gradients.

use super::reference::{host_conv1d, host_conv2d, host_conv_transpose1d, host_conv_transpose2d};
use crate::backend::{Backend, Conv1dParams, Conv2dParams, DType};
use crate::conformance::*;
use crate::error::Result;

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

/// Convolution parameters, which pick the op a case checks: `conv1d` or `conv2d`.
trait ConvRun: Copy + std::fmt::Debug {
    /// The convolution of `x` and `w` with these parameters.
    fn conv<B: Backend>(self, x: &B::Tensor, w: &B::Tensor) -> Result<B::Tensor>;
}

impl ConvRun for Conv1dParams {
    fn conv<B: Backend>(self, x: &B::Tensor, w: &B::Tensor) -> Result<B::Tensor> {
        B::conv1d(x, w, self)
    }
}

impl ConvRun for Conv2dParams {
    fn conv<B: Backend>(self, x: &B::Tensor, w: &B::Tensor) -> Result<B::Tensor> {
        B::conv2d(x, w, self)
    }
}

/// Checks the convolution (`conv1d` or `conv2d`, by `p`'s type) of `x` and `w` with `p`,
/// in `f32` and `f64`.
fn conv_case<B: Backend>(
    op: &str,
    x: Operand,
    w: Operand,
    p: impl ConvRun,
    shape: &[usize],
    want: &[f64],
) {
    check_op::<B>(&format!("{op} {p:?}"), &FLOATS, &[x, w], shape, want, |t| {
        p.conv::<B>(&t[0], &t[1])
    });
}

/// Checks `conv_transpose1d` of `x` and `w` against the host reference, in `f32` and `f64`.
fn conv_t1d_case<B: Backend>(op: &str, x: Operand, w: Operand, p: Conv1dParams, op_pad: usize) {
    let (want, shape) = host_conv_transpose1d(x, w, p, op_pad);
    let op = format!("{op} {p:?}, output_padding {op_pad}");
    check_op::<B>(&op, &FLOATS, &[x, w], &shape, &want, |t| {
        B::conv_transpose1d(&t[0], &t[1], p, op_pad)
    });
}

/// Checks `conv_transpose2d` of `x` and `w` against the host reference, in `f32` and `f64`.
fn conv_t2d_case<B: Backend>(
    op: &str,
    x: Operand,
    w: Operand,
    p: Conv2dParams,
    op_pad: [usize; 2],
) {
    let (want, shape) = host_conv_transpose2d(x.0, x.1, w.0, w.1, p, op_pad);
    let op = format!("{op} {p:?}, output_padding {op_pad:?}");
    check_op::<B>(&op, &FLOATS, &[x, w], &shape, &want, |t| {
        B::conv_transpose2d(&t[0], &t[1], p, op_pad)
    });
}

const X5: Operand<'static> = (&[1.0, 2.0, 3.0, 4.0, 5.0], &[1, 1, 5]);
const K3: Operand<'static> = (&[1.0, 2.0, 3.0], &[1, 1, 3]);

/// `conv1d` is a cross-correlation: `[1..5] * [1, 2, 3] = [14, 20, 26]`; batches are
/// independent.
pub fn conv1d_basic<B: Backend>() {
    let p = Conv1dParams::default();
    conv_case::<B>("conv1d", X5, K3, p, &[1, 1, 3], &[14.0, 20.0, 26.0]);
    let x2 = [1.0, 2.0, 3.0, 4.0, 5.0, -1.0, -2.0, -3.0, -4.0, -5.0];
    let want = [14.0, 20.0, 26.0, -14.0, -20.0, -26.0];
    conv_case::<B>(
        "conv1d batch 2",
        (&x2, &[2, 1, 5]),
        K3,
        p,
        &[2, 1, 3],
        &want,
    );
}

/// Stride with padding before, and asymmetric padding after only.
pub fn conv1d_stride_padding<B: Backend>() {
    // [0, 1, 2, 3, 4, 5] at stride 2: [0+2+6, 2+6+12].
    let p = c1(2, (1, 0), 1, 1);
    conv_case::<B>("conv1d", X5, K3, p, &[1, 1, 2], &[8.0, 20.0]);
    // [1, 2, 3, 4, 5, 0, 0].
    let p = c1(1, (0, 2), 1, 1);
    conv_case::<B>(
        "conv1d",
        X5,
        K3,
        p,
        &[1, 1, 5],
        &[14.0, 20.0, 26.0, 14.0, 5.0],
    );
}

/// Dilation 2: `x0 + 2 x2 + 3 x4 = 22`.
pub fn conv1d_dilation<B: Backend>() {
    conv_case::<B>("conv1d", X5, K3, c1(1, (0, 0), 2, 1), &[1, 1, 1], &[22.0]);
}

/// Channels summed without groups; kept apart with `groups = 2`.
pub fn conv1d_channels_and_groups<B: Backend>() {
    let x: Operand = (&[1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0], &[1, 2, 4]);
    let w = [1.0, 1.0, 1.0, -1.0];
    let (w1, w2): (Operand, Operand) = ((&w, &[1, 2, 2]), (&w, &[2, 1, 2]));
    let (p, want) = (c1(1, (0, 0), 1, 1), [-7.0, -5.0, -3.0]);
    conv_case::<B>("conv1d 2 channels", x, w1, p, &[1, 1, 3], &want);
    let (p, want) = (c1(1, (0, 0), 1, 2), [3.0, 5.0, 7.0, -10.0, -10.0, -10.0]);
    conv_case::<B>("conv1d groups 2", x, w2, p, &[1, 2, 3], &want);
}

/// `conv1d` with every parameter at once, against the host reference.
pub fn conv1d_reference<B: Backend>() {
    let (x, w) = (pseudo(2 * 4 * 9, 110), pseudo(6 * 2 * 3, 111));
    let (x, w): (Operand, Operand) = ((&x, &[2, 4, 9]), (&w, &[6, 2, 3]));
    let p = c1(2, (2, 1), 2, 2);
    let (want, shape) = host_conv1d(x, w, p);
    conv_case::<B>("conv1d reference", x, w, p, &shape, &want);
}

/// `[[1, 2, 3], [4, 5, 6], [7, 8, 9]]`, one image of one channel.
pub(super) const X33: Operand<'static> = (
    &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    &[1, 1, 3, 3],
);
const K22: Operand<'static> = (&[1.0, 2.0, 3.0, 4.0], &[1, 1, 2, 2]);

/// `[[1,2,3],[4,5,6],[7,8,9]] * [[1,2],[3,4]] = [[37,47],[67,77]]`.
pub fn conv2d_basic<B: Backend>() {
    let (p, want) = (Conv2dParams::default(), [37.0, 47.0, 67.0, 77.0]);
    conv_case::<B>("conv2d", X33, K22, p, &[1, 1, 2, 2], &want);
}

/// Stride 2 with a zero row on top and a zero column on the right.
pub fn conv2d_stride_asymmetric_padding<B: Backend>() {
    let (p, want) = (
        c2([2, 2], [(1, 0), (0, 1)], [1, 1], 1),
        [11.0, 9.0, 67.0, 33.0],
    );
    conv_case::<B>("conv2d", X33, K22, p, &[1, 1, 2, 2], &want);
    // Only a zero row below: [[37,47],[67,77],[7+16, 8+18]].
    let p = c2([1, 1], [(0, 1), (0, 0)], [1, 1], 1);
    let want = [37.0, 47.0, 67.0, 77.0, 23.0, 26.0];
    conv_case::<B>("conv2d", X33, K22, p, &[1, 1, 3, 2], &want);
}

/// Dilation 2 picks the corners: `1 + 2*3 + 3*7 + 4*9 = 64`.
pub fn conv2d_dilation<B: Backend>() {
    let p = c2([1, 1], [(0, 0); 2], [2, 2], 1);
    conv_case::<B>("conv2d", X33, K22, p, &[1, 1, 1, 1], &[64.0]);
}

/// Several output channels (1x1 kernels) and `groups = 2`.
pub fn conv2d_channels_and_groups<B: Backend>() {
    let x: Operand = (&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], &[1, 2, 2, 2]);
    let w: Operand = (&[1.0, 0.0, 0.0, 1.0, 1.0, -1.0], &[3, 2, 1, 1]);
    let mut want = x.0.to_vec();
    want.extend([-4.0; 4]);
    let p = Conv2dParams::default();
    conv_case::<B>("conv2d 1x1, 3 outputs", x, w, p, &[1, 3, 2, 2], &want);
    let w: Operand = (&[1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, -1.0], &[2, 1, 2, 2]);
    let p = c2([1, 1], [(0, 0); 2], [1, 1], 2);
    conv_case::<B>("conv2d groups 2", x, w, p, &[1, 2, 1, 1], &[10.0, -3.0]);
}

/// `conv2d` with every parameter at once, against the host reference.
pub fn conv2d_reference<B: Backend>() {
    let xs = [2, 4, 7, 6];
    let x = pseudo(xs.iter().product(), 120);
    for (p, ws, seed) in [
        (c2([2, 1], [(1, 2), (0, 1)], [1, 2], 2), [6, 2, 3, 2], 121),
        (c2([1, 2], [(0, 0), (2, 0)], [2, 1], 1), [6, 4, 3, 2], 122),
    ] {
        let w = pseudo(ws.iter().product(), seed);
        let (want, shape) = host_conv2d(&x, &xs, &w, &ws, p);
        conv_case::<B>("conv2d reference", (&x, &xs), (&w, &ws), p, &shape, &want);
    }
}

/// `conv_transpose1d` by hand (`[1,2,3]` with `[1,-1]` -> `[1,1,1,-3]`), then stride and
/// dilation against the host reference.
pub fn conv_transpose1d_reference<B: Backend>() {
    let by_hand: [Operand; 2] = [(&[1.0, 2.0, 3.0], &[1, 1, 3]), (&[1.0, -1.0], &[1, 1, 2])];
    let (op, p, want) = (
        "conv_transpose1d by hand",
        c1(1, (0, 0), 1, 1),
        [1.0, 1.0, 1.0, -3.0],
    );
    check_op::<B>(op, &[DType::F32], &by_hand, &[1, 1, 4], &want, |t| {
        B::conv_transpose1d(&t[0], &t[1], p, 0)
    });
    let (x, w) = (pseudo(30, 130), pseudo(18, 131));
    let (x, w): (Operand, Operand) = ((&x, &[2, 3, 5]), (&w, &[3, 2, 3]));
    for (stride, dilation) in [(1, 1), (2, 1), (1, 2), (3, 2)] {
        let p = c1(stride, (0, 0), dilation, 1);
        conv_t1d_case::<B>("conv_transpose1d", x, w, p, 0);
    }
}

/// `conv_transpose1d` with symmetric and asymmetric padding and output padding.
pub fn conv_transpose1d_padding_output_padding<B: Backend>() {
    let (x, w) = (pseudo(12, 132), pseudo(18, 133));
    let (x, w): (Operand, Operand) = ((&x, &[1, 2, 6]), (&w, &[2, 3, 3]));
    for (padding, op_pad) in [((1, 1), 0), ((1, 1), 1), ((2, 0), 0), ((0, 1), 1)] {
        conv_t1d_case::<B>("conv_transpose1d", x, w, c1(2, padding, 1, 1), op_pad);
    }
}

/// `conv_transpose1d` with `groups = 2`.
pub fn conv_transpose1d_groups<B: Backend>() {
    let (x, w) = (pseudo(40, 134), pseudo(24, 135));
    let (x, w): (Operand, Operand) = ((&x, &[2, 4, 5]), (&w, &[4, 3, 2]));
    for (p, op_pad) in [(c1(1, (0, 0), 1, 2), 0), (c1(2, (1, 0), 1, 2), 1)] {
        conv_t1d_case::<B>("conv_transpose1d groups", x, w, p, op_pad);
    }
}

/// `conv_transpose2d` by hand: a 2x2 kernel of ones spreads `[[1,2],[3,4]]` into
/// `[[1,3,2],[4,10,6],[3,7,4]]`; at stride 2 the blocks `x[i][j] * w` tile the output.
pub fn conv_transpose2d_basic<B: Backend>() {
    let x: Operand = (&[1.0, 2.0, 3.0, 4.0], &[1, 1, 2, 2]);
    let ones: Operand = (&[1.0; 4], &[1, 1, 2, 2]);
    let want = [1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 3.0, 7.0, 4.0];
    let (op, p) = ("conv_transpose2d by hand", Conv2dParams::default());
    check_op::<B>(op, &[DType::F32], &[x, ones], &[1, 1, 3, 3], &want, |t| {
        B::conv_transpose2d(&t[0], &t[1], p, [0, 0])
    });
    let want = [
        1.0, 2.0, 2.0, 4.0, 3.0, 4.0, 6.0, 8.0, 3.0, 6.0, 4.0, 8.0, 9.0, 12.0, 12.0, 16.0,
    ];
    let (op, p) = (
        "conv_transpose2d stride 2 by hand",
        c2([2, 2], [(0, 0); 2], [1, 1], 1),
    );
    check_op::<B>(op, &[DType::F32], &[x, K22], &[1, 1, 4, 4], &want, |t| {
        B::conv_transpose2d(&t[0], &t[1], p, [0, 0])
    });
}

/// `conv_transpose2d` with several channels, strides and dilations, against the host
/// reference.
pub fn conv_transpose2d_reference<B: Backend>() {
    let (x, w) = (pseudo(72, 140), pseudo(36, 141));
    let (x, w): (Operand, Operand) = ((&x, &[2, 3, 4, 3]), (&w, &[3, 2, 3, 2]));
    for (stride, dilation) in [([1, 1], [1, 1]), ([2, 3], [1, 1]), ([1, 2], [2, 1])] {
        let p = c2(stride, [(0, 0); 2], dilation, 1);
        conv_t2d_case::<B>("conv_transpose2d", x, w, p, [0, 0]);
    }
}

/// `conv_transpose2d` with symmetric and asymmetric padding and output padding.
pub fn conv_transpose2d_padding_output_padding<B: Backend>() {
    let (x, w) = (pseudo(32, 142), pseudo(36, 143));
    let (x, w): (Operand, Operand) = ((&x, &[1, 2, 4, 4]), (&w, &[2, 2, 3, 3]));
    for (padding, op_pad) in [
        ([(1, 1), (1, 1)], [0, 0]),
        ([(1, 1), (1, 1)], [1, 1]),
        ([(0, 1), (2, 0)], [1, 0]),
    ] {
        let p = c2([2, 2], padding, [1, 1], 1);
        conv_t2d_case::<B>("conv_transpose2d", x, w, p, op_pad);
    }
}

/// `conv_transpose2d` with `groups = 2`.
pub fn conv_transpose2d_groups<B: Backend>() {
    let (x, w) = (pseudo(36, 144), pseudo(32, 145));
    let (x, w): (Operand, Operand) = ((&x, &[1, 4, 3, 3]), (&w, &[4, 2, 2, 2]));
    for (p, op_pad) in [
        (c2([1, 1], [(0, 0); 2], [1, 1], 2), [0, 0]),
        (c2([2, 2], [(1, 0), (0, 1)], [1, 1], 2), [1, 1]),
    ] {
        conv_t2d_case::<B>("conv_transpose2d groups", x, w, p, op_pad);
    }
}

/// `conv2d_bias` adds one value per output channel to `conv2d`: `[[37,47],[67,77]]` with
/// bias 0.5 on the first and -1 on the second channel (a kernel of ones); no bias is plain
/// `conv2d`; a bias that is not `[C_out]` is an error.
pub fn conv2d_bias_values<B: Backend>() {
    let k2: Vec<f64> = K22.0.iter().chain(&[1.0; 4]).copied().collect();
    let (w, b): (Operand, Operand) = ((&k2, &[2, 1, 2, 2]), (&[0.5, -1.0], &[2]));
    let (p, shape) = (Conv2dParams::default(), [1, 2, 2, 2]);
    let want = [37.5, 47.5, 67.5, 77.5, 11.0, 15.0, 23.0, 27.0];
    check_op::<B>("conv2d_bias", &FLOATS, &[X33, w, b], &shape, &want, |t| {
        B::conv2d_bias(&t[0], &t[1], Some(&t[2]), p)
    });
    let want = [37.0, 47.0, 67.0, 77.0, 12.0, 16.0, 24.0, 28.0];
    let op = "conv2d_bias without bias";
    check_op::<B>(op, &FLOATS, &[X33, w], &shape, &want, |t| {
        B::conv2d_bias(&t[0], &t[1], None, p)
    });
    for dtype in FLOATS {
        let bad: Operand = (&[1.0, 2.0, 3.0], &[3]);
        let [x, w, bad] = [X33, w, bad].map(|(v, s)| tensor::<B>(v, s, dtype));
        assert_err(
            "conv2d_bias with a [3] bias for 2 channels",
            B::conv2d_bias(&x, &w, Some(&bad), p),
        );
    }
}

/// Gradients of `conv1d` with respect to input and kernel.
pub fn conv1d_grad<B: Backend>() {
    let cases = [c1(1, (0, 0), 1, 1), c1(2, (2, 1), 2, 2)];
    for (k, p) in (0..).zip(cases) {
        let xs = [2, 2, 7];
        let ws = [4, 2 / p.groups, 3];
        let x = [pseudo_input(&xs, 150 + k), pseudo_input(&ws, 152 + k)];
        check_grad::<B>(&format!("conv1d {p:?}"), &x, |x| B::conv1d(&x[0], &x[1], p));
    }
}

/// [`check_grad`] of `conv2d` with `p` at pseudo-random inputs of shapes `xs` and `ws`
/// (seeds `seed` and `seed + 1`).
fn conv2d_grad_case<B: Backend>(p: Conv2dParams, xs: &[usize], ws: &[usize], seed: u64) {
    let x = [pseudo_input(xs, seed), pseudo_input(ws, seed + 1)];
    check_grad::<B>(&format!("conv2d {p:?}"), &x, |x| B::conv2d(&x[0], &x[1], p));
}

/// Gradients of `conv2d` (stride, asymmetric padding, dilation).
pub fn conv2d_grad<B: Backend>() {
    let p = Conv2dParams::default();
    conv2d_grad_case::<B>(p, &[2, 2, 4, 4], &[3, 2, 2, 2], 160);
    let p = c2([2, 1], [(1, 0), (0, 2)], [1, 2], 1);
    conv2d_grad_case::<B>(p, &[1, 2, 5, 4], &[2, 2, 3, 2], 162);
}

/// Gradients of `conv2d_bias` for the input, the kernel and the bias.
pub fn conv2d_bias_grad<B: Backend>() {
    let p = c2([2, 1], [(1, 0), (0, 1)], [1, 1], 1);
    let x = [
        pseudo_input(&[2, 2, 4, 4], 170),
        pseudo_input(&[3, 2, 2, 2], 171),
        pseudo_input(&[3], 172),
    ];
    check_grad::<B>(&format!("conv2d_bias {p:?}"), &x, |x| {
        B::conv2d_bias(&x[0], &x[1], Some(&x[2]), p)
    });
}

/// Gradients of a grouped `conv2d`.
pub fn conv2d_grad_groups<B: Backend>() {
    let p = c2([1, 1], [(1, 1), (1, 1)], [1, 1], 2);
    conv2d_grad_case::<B>(p, &[1, 4, 3, 3], &[4, 2, 2, 2], 164);
}

/// Gradients of `conv_transpose1d`.
pub fn conv_transpose1d_grad<B: Backend>() {
    let cases = [(c1(1, (0, 0), 1, 1), 0), (c1(2, (1, 1), 1, 1), 1)];
    for (k, (p, op_pad)) in (0..).zip(cases) {
        let x = [
            pseudo_input(&[2, 2, 4], 170 + k),
            pseudo_input(&[2, 3, 3], 172 + k),
        ];
        let op = format!("conv_transpose1d {p:?} output_padding {op_pad}");
        check_grad::<B>(&op, &x, |x| B::conv_transpose1d(&x[0], &x[1], p, op_pad));
    }
}

/// Gradients of `conv_transpose2d`.
pub fn conv_transpose2d_grad<B: Backend>() {
    let cases = [
        (Conv2dParams::default(), [0, 0]),
        (c2([2, 2], [(1, 1), (1, 1)], [1, 1], 1), [1, 1]),
    ];
    for (k, (p, op_pad)) in (0..).zip(cases) {
        let x = [
            pseudo_input(&[1, 2, 3, 3], 180 + k),
            pseudo_input(&[2, 2, 2, 2], 182 + k),
        ];
        let op = format!("conv_transpose2d {p:?} output_padding {op_pad:?}");
        check_grad::<B>(&op, &x, |x| B::conv_transpose2d(&x[0], &x[1], p, op_pad));
    }
}
