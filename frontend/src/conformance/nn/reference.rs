//! Host references of the convolutions: naive loops in `f64` over every output (or input)
//! element, the expected values of the `nn` checks.

use crate::backend::{Conv1dParams, Conv2dParams};
use crate::conformance::Operand;

/// Where position `i` meets kernel tap `k` along `axis`: `i * stride + k * dilation -
/// pad_before`, `None` when that falls in the padding (outside `0..len`).
fn tap(p: &Conv2dParams, axis: usize, i: usize, k: usize, len: usize) -> Option<usize> {
    let at = (i * p.stride[axis] + k * p.dilation[axis]).checked_sub(p.padding[axis].0)?;
    (at < len).then_some(at)
}

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
                                let (Some(iy), Some(iz)) =
                                    (tap(&p, 0, y, a, h), tap(&p, 1, z, e, wd))
                                else {
                                    continue;
                                };
                                let xv = x[((b * c + ic) * h + iy) * wd + iz];
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
                                let (Some(oy), Some(oz)) =
                                    (tap(&p, 0, y, a, ho), tap(&p, 1, z, e, wo))
                                else {
                                    continue;
                                };
                                out[((b * o + oo) * ho + oy) * wo + oz] +=
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

/// A 1-D convolution's parameters as those of a 2-D one over `[N, C, 1, L]`.
pub(super) fn to2d(p: Conv1dParams) -> Conv2dParams {
    Conv2dParams {
        stride: [1, p.stride],
        padding: [(0, 0), p.padding],
        dilation: [1, p.dilation],
        groups: p.groups,
    }
}

/// A 1-D operand's shape `[N, C, L]` as `[N, C, 1, L]`.
pub(super) fn shape1d(s: &[usize]) -> Vec<usize> {
    vec![s[0], s[1], 1, s[2]]
}

/// [`host_conv2d`] of 1-D operands (`[N, C, L]`, seen as `[N, C, 1, L]`).
pub(super) fn host_conv1d(x: Operand, w: Operand, p: Conv1dParams) -> (Vec<f64>, Vec<usize>) {
    let (out, s) = host_conv2d(x.0, &shape1d(x.1), w.0, &shape1d(w.1), to2d(p));
    (out, vec![s[0], s[1], s[3]])
}

/// [`host_conv_transpose2d`] of 1-D operands (`[N, C, L]`, seen as `[N, C, 1, L]`).
pub(super) fn host_conv_transpose1d(
    x: Operand,
    w: Operand,
    p: Conv1dParams,
    output_padding: usize,
) -> (Vec<f64>, Vec<usize>) {
    let (xs, ws) = (shape1d(x.1), shape1d(w.1));
    let (out, s) = host_conv_transpose2d(x.0, &xs, w.0, &ws, to2d(p), [0, output_padding]);
    (out, vec![s[0], s[1], s[3]])
}
