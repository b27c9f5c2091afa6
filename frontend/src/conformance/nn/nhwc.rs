//! Conformance of the channels-last entry points [`NnOps::conv2d_nhwc`] and
//! [`NnOps::max_pool2d_nhwc`]: an engine's own versions give the values and gradients of
//! the channels-first ops they stand for ([`conv2d_nhwc_via_nchw`],
//! [`max_pool2d_nhwc_via_nchw`]), for contiguous inputs and permuted views, with NaN kept
//! the same way.
//!
//! [`NnOps::conv2d_nhwc`]: crate::backend::NnOps::conv2d_nhwc
//! [`NnOps::max_pool2d_nhwc`]: crate::backend::NnOps::max_pool2d_nhwc

use super::reference::host_conv2d;
use crate::backend::{
    conv2d_nhwc_via_nchw, max_pool2d_nhwc_via_nchw, Backend, Conv2dParams, DType,
};
use crate::conformance::*;
use crate::error::Result;

/// What one run gives: the result's shape and values, and the gradients of
/// `sum(result * weights)` with respect to every input (fixed weights `1 + i % 5`).
type Run = (Vec<usize>, Vec<f64>, Vec<Vec<f64>>);

/// An op under test, on its inputs.
type Op<'a, B> = &'a dyn Fn(
    &[<B as crate::backend::BackendBase>::Tensor],
) -> Result<<B as crate::backend::BackendBase>::Tensor>;

/// A convolution case: input `[N, H, W, C]`, kernel `[KH, KW, C / groups, O]`, parameters,
/// with a bias, with the ReLU.
type ConvCase<'a> = (&'a [usize], &'a [usize], Conv2dParams, bool, bool);

/// Runs `f` on `inputs` (f64 parameters). With `view`, the first input is made a permuted
/// view: its values are laid out `[N, C, H, W]` and permuted to the `[N, H, W, C]` shape
/// given, as a channels-first producer would hand it over.
fn run<B: Backend>(inputs: &[(Vec<f64>, Vec<usize>)], view: bool, f: Op<'_, B>) -> Run {
    let params: Vec<B::Tensor> = inputs
        .iter()
        .enumerate()
        .map(|(i, (v, s))| {
            let shape = if view && i == 0 {
                vec![s[0], s[3], s[1], s[2]]
            } else {
                s.clone()
            };
            ok("param", B::param(&f64s::<B>(v, &shape)))
        })
        .collect();
    let mut args = params.clone();
    if view {
        args[0] = ok("permute", B::permute(&params[0], &[0, 2, 3, 1]));
    }
    let y = ok("op", f(&args));
    let shape = B::shape(&y);
    let k: usize = shape.iter().product();
    let wts: Vec<f64> = (0..k).map(|i| 1.0 + (i % 5) as f64).collect();
    let wts = f64s::<B>(&wts, &shape);
    let loss = ok(
        "sum",
        B::sum(&ok("mul", B::mul(&y, &wts)), &[0, 1, 2, 3], false),
    );
    let grads = ok("grad", B::grad(&loss, &params));
    let grads = grads
        .iter()
        .map(|g| values::<B>(g.as_ref().expect("a gradient for every input")))
        .collect();
    (shape, values::<B>(&y), grads)
}

/// Asserts two runs agree: shapes, values (NaN where the other has NaN) and gradients.
fn assert_runs(what: &str, got: &Run, want: &Run) {
    assert_eq!(got.0, want.0, "{what}: shape");
    let nan = |v: &[f64]| v.iter().map(|x| x.is_nan()).collect::<Vec<_>>();
    assert_eq!(nan(&got.1), nan(&want.1), "{what}: NaN positions");
    let finite = |v: &[f64]| {
        v.iter()
            .map(|&x| if x.is_nan() { 0.0 } else { x })
            .collect::<Vec<_>>()
    };
    assert_close(
        &format!("{what}: values"),
        &finite(&got.1),
        &finite(&want.1),
        TOL_F64,
    );
    for (i, (g, w)) in got.2.iter().zip(&want.2).enumerate() {
        assert_close(&format!("{what}: gradient of input {i}"), g, w, TOL_F64);
    }
}

/// `conv2d_nhwc` equals the permuted channels-first convolution: with and without bias and
/// ReLU, stride, asymmetric padding, dilation, groups, one input channel, a permuted view
/// as input (values also against the host reference, gradients also by finite
/// differences); and with a NaN in the input, which the ReLU keeps.
pub fn conv2d_nhwc_matches_channels_first<B: Backend>() {
    let p = |stride, padding, dilation, groups| Conv2dParams {
        stride,
        padding,
        dilation,
        groups,
    };
    let d = Conv2dParams::default();
    let cases: [ConvCase; 6] = [
        (&[2, 5, 6, 3], &[3, 3, 3, 4], d, true, true),
        (
            &[1, 7, 6, 2],
            &[2, 3, 2, 3],
            p([2, 1], [(1, 0), (0, 2)], [1, 2], 1),
            true,
            false,
        ),
        (
            &[2, 4, 4, 4],
            &[2, 2, 2, 4],
            p([1, 1], [(1, 1), (0, 1)], [1, 1], 2),
            true,
            true,
        ),
        (&[2, 6, 5, 1], &[3, 3, 1, 2], d, false, true),
        (
            &[1, 5, 5, 3],
            &[2, 2, 3, 2],
            p([2, 2], [(0, 0); 2], [1, 1], 1),
            false,
            false,
        ),
        (
            &[1, 5, 4, 3],
            &[3, 2, 3, 2],
            p([1, 2], [(2, 1), (1, 1)], [1, 1], 1),
            true,
            false,
        ),
    ];
    for (k, &(xs, ws, p, bias, relu)) in (0..).zip(&cases) {
        let mut inputs = vec![pseudo_input(xs, 300 + 3 * k), pseudo_input(ws, 301 + 3 * k)];
        if bias {
            inputs.push(pseudo_input(&[ws[3]], 302 + 3 * k));
        }
        let call = |fused: bool| {
            move |t: &[B::Tensor]| {
                let b = t.get(2);
                if fused {
                    B::conv2d_nhwc(&t[0], &t[1], b, p, relu)
                } else {
                    conv2d_nhwc_via_nchw::<B>(&t[0], &t[1], b, p, relu)
                }
            }
        };
        for view in [false, true] {
            let what =
                format!("conv2d_nhwc x {xs:?} w {ws:?} {p:?} bias {bias} relu {relu} view {view}");
            let got = run::<B>(&inputs, view, &call(true));
            let want = run::<B>(&inputs, view, &call(false));
            assert_runs(&what, &got, &want);
        }
        // Values against the host reference (channels-first data, transposed on the host).
        let (y, ys) = host_conv2d(
            &transpose(&inputs[0].0, xs, [0, 3, 1, 2]),
            &[xs[0], xs[3], xs[1], xs[2]],
            &transpose(&inputs[1].0, ws, [3, 2, 0, 1]),
            &[ws[3], ws[2], ws[0], ws[1]],
            p,
        );
        let mut want = transpose(&y, &ys, [0, 2, 3, 1]);
        for (i, v) in want.iter_mut().enumerate() {
            if let Some((b, _)) = inputs.get(2) {
                *v += b[i % ws[3]];
            }
            if relu && *v < 0.0 {
                *v = 0.0;
            }
        }
        let t: Vec<B::Tensor> = inputs.iter().map(|(v, s)| f64s::<B>(v, s)).collect();
        let got = values::<B>(&ok("conv2d_nhwc", call(true)(&t)));
        assert_close(
            &format!("conv2d_nhwc case {k} against the host"),
            &got,
            &want,
            TOL_F64,
        );
        // Finite differences (without the ReLU's kink).
        if !relu {
            check_grad::<B>(&format!("conv2d_nhwc case {k}"), &inputs, call(true));
        }
        // f32 values.
        let t: Vec<B::Tensor> = inputs
            .iter()
            .map(|(v, s)| tensor::<B>(v, s, DType::F32))
            .collect();
        let got = values::<B>(&ok("conv2d_nhwc f32", call(true)(&t)));
        let want = values::<B>(&ok("conv2d_nhwc_via_nchw f32", call(false)(&t)));
        assert_close(&format!("conv2d_nhwc f32 case {k}"), &got, &want, TOL_F32);
    }
    // A NaN input: the outputs that read it are NaN with and without the ReLU.
    let (mut xv, xs) = pseudo_input(&[1, 4, 4, 2], 330);
    xv[9] = f64::NAN;
    let inputs = [
        (xv, xs),
        pseudo_input(&[2, 2, 2, 3], 331),
        pseudo_input(&[3], 332),
    ];
    for relu in [false, true] {
        let tensors: Vec<B::Tensor> = inputs.iter().map(|(v, s)| f64s::<B>(v, s)).collect();
        let p = Conv2dParams::default();
        let got = values::<B>(&ok(
            "conv2d_nhwc",
            B::conv2d_nhwc(&tensors[0], &tensors[1], Some(&tensors[2]), p, relu),
        ));
        let want = values::<B>(&ok(
            "conv2d_nhwc_via_nchw",
            conv2d_nhwc_via_nchw::<B>(&tensors[0], &tensors[1], Some(&tensors[2]), p, relu),
        ));
        let what = format!("conv2d_nhwc with a NaN input, relu {relu}");
        let run = |v: Vec<f64>| (vec![], v, vec![]);
        assert_runs(&what, &run(got.clone()), &run(want));
        assert!(got.iter().any(|v| v.is_nan()), "{what}: the NaN was lost");
    }
}

/// `max_pool2d_nhwc` equals the permuted channels-first pooling: values and gradients, with
/// ties (the first maximum of a window takes the gradient), overlapping windows, sizes the
/// window does not divide, a permuted view, and a NaN (the window's maximum).
pub fn max_pool2d_nhwc_matches_channels_first<B: Backend>() {
    let (n, h, w, c) = (2, 5, 7, 3);
    let len = n * h * w * c;
    // Quarter-steps make ties inside windows.
    let vals: Vec<f64> = (0..len).map(|i| ((i * 7) % 9) as f64 * 0.25).collect();
    let mut with_nan = vals.clone();
    with_nan[17] = f64::NAN;
    for (k, s) in [([2, 2], [2, 2]), ([3, 2], [1, 2]), ([2, 2], [1, 1])] {
        for (x, label) in [(&vals, "ties"), (&with_nan, "NaN")] {
            let inputs = [(x.clone(), vec![n, h, w, c])];
            for view in [false, true] {
                let what = format!("max_pool2d_nhwc {label} window {k:?} stride {s:?} view {view}");
                let got = run::<B>(&inputs, view, &|t| B::max_pool2d_nhwc(&t[0], k, s));
                let want = run::<B>(&inputs, view, &|t| {
                    max_pool2d_nhwc_via_nchw::<B>(&t[0], k, s)
                });
                assert_runs(&what, &got, &want);
            }
        }
    }
}

/// `v` of shape `s` with its axes permuted by `order` (row-major, on the host).
fn transpose(v: &[f64], s: &[usize], order: [usize; 4]) -> Vec<f64> {
    let out: Vec<usize> = order.iter().map(|&a| s[a]).collect();
    let strides = strides(s);
    let mut r = Vec::with_capacity(v.len());
    for i in 0..v.len() {
        let idx = unravel(i, &out);
        r.push(v[(0..4).map(|j| idx[j] * strides[order[j]]).sum::<usize>()]);
    }
    r
}
