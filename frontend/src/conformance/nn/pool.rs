//! Conformance of the pooling ops: `max_pool1d`, `avg_pool1d`, `max_pool2d` and
//! `avg_pool2d`, their values (overlapping windows, floor sizes, tie gradients, strided
//! views) and gradients.

use super::conv::X33;
use crate::backend::{Backend, DType};
use crate::conformance::*;
use crate::error::Result;

/// A pooling op: `max_pool1d`/`max_pool2d` or `avg_pool1d`/`avg_pool2d`.
#[derive(Clone, Copy, PartialEq)]
enum Pool {
    Max,
    Avg,
}

impl Pool {
    /// Both pooling ops.
    const BOTH: [Pool; 2] = [Pool::Max, Pool::Avg];

    /// The op's name for `dims` spatial dimensions, e.g. `max_pool2d`.
    fn name(self, dims: usize) -> String {
        let kind = if self == Pool::Max { "max" } else { "avg" };
        format!("{kind}_pool{dims}d")
    }

    /// `max_pool1d` or `avg_pool1d`.
    fn pool1d<B: Backend>(self, x: &B::Tensor, kernel: usize, stride: usize) -> Result<B::Tensor> {
        match self {
            Pool::Max => B::max_pool1d(x, kernel, stride),
            Pool::Avg => B::avg_pool1d(x, kernel, stride),
        }
    }

    /// `max_pool2d` or `avg_pool2d`.
    fn pool2d<B: Backend>(self, x: &B::Tensor, window: Window) -> Result<B::Tensor> {
        let (kernel, stride) = window;
        match self {
            Pool::Max => B::max_pool2d(x, kernel, stride),
            Pool::Avg => B::avg_pool2d(x, kernel, stride),
        }
    }
}

/// A 2-D pooling window: kernel and stride.
type Window = ([usize; 2], [usize; 2]);

/// Checks `pool` of `x` in each of `dtypes` against `shape` and `want`.
fn pool2d_case<B: Backend>(
    pool: Pool,
    dtypes: &[DType],
    x: Operand,
    window: Window,
    shape: &[usize],
    want: &[f64],
) {
    let op = format!("{} {window:?}", pool.name(2));
    check_op::<B>(&op, dtypes, &[x], shape, want, |t| {
        pool.pool2d::<B>(&t[0], window)
    });
}

const P44: [f64; 16] = [
    1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 8.0, 1.0, 0.0, 2.0, 6.0, 7.0, 9.0, 1.0, 3.0, 5.0,
];

/// `max_pool2d` with 2x2 windows at stride 2, over two channels.
pub fn max_pool2d_values<B: Backend>() {
    let x: Vec<f64> = P44.iter().copied().chain(P44.iter().map(|v| -v)).collect();
    let want = [5.0, 8.0, 9.0, 7.0, -1.0, 0.0, 0.0, -3.0];
    let (x, shape) = ((&x[..], &[1, 2, 4, 4][..]), [1, 2, 2, 2]);
    pool2d_case::<B>(Pool::Max, &FLOATS, x, ([2, 2], [2, 2]), &shape, &want);
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
        let run = |contiguous: bool, pool: Pool| {
            let x = ok("param", B::param(&f64s::<B>(&vals, &[n, h, w, c])));
            let v = ok("permute", B::permute(&x, &[0, 3, 1, 2]));
            let v = if contiguous {
                ok("contiguous", B::contiguous(&v))
            } else {
                v
            };
            let y = ok(&pool.name(2), pool.pool2d::<B>(&v, ([2, 2], [2, 2])));
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
        for pool in Pool::BOTH {
            let what = format!(
                "{} of a channels-last view [{n}, {c}, {h}, {w}]",
                pool.name(2)
            );
            let (sa, ya, ga) = run(false, pool);
            let (sb, yb, gb) = run(true, pool);
            assert_eq!(sa, sb, "{what}: shape");
            assert_eq!(sa, vec![n, c, h / 2, w / 2], "{what}: shape");
            assert_close(&format!("{what}: values"), &ya, &yb, TOL_F64);
            assert_close(&format!("{what}: gradient"), &ga, &gb, TOL_F64);
        }
    }
}

/// `avg_pool2d` with 2x2 windows at stride 2.
pub fn avg_pool2d_values<B: Backend>() {
    let (x, shape, want) = (
        (&P44[..], &[1, 1, 4, 4][..]),
        [1, 1, 2, 2],
        [3.25, 2.75, 3.0, 5.25],
    );
    pool2d_case::<B>(Pool::Avg, &FLOATS, x, ([2, 2], [2, 2]), &shape, &want);
}

/// Overlapping windows (stride 1) and sizes that do not divide (floor).
pub fn pool2d_overlapping_and_floor<B: Backend>() {
    let f32 = [DType::F32];
    for (pool, want) in [
        (Pool::Max, [5.0, 6.0, 8.0, 9.0]),
        (Pool::Avg, [3.0, 4.0, 6.0, 7.0]),
    ] {
        pool2d_case::<B>(pool, &f32, X33, ([2, 2], [1, 1]), &[1, 1, 2, 2], &want);
    }
    let x: Vec<f64> = (1..=25).map(f64::from).collect();
    let x5: Operand = (&x, &[1, 1, 5, 5]);
    for (pool, window, want) in [
        (Pool::Max, ([2, 2], [2, 2]), [7.0, 9.0, 17.0, 19.0]),
        (Pool::Avg, ([2, 2], [2, 2]), [4.0, 6.0, 14.0, 16.0]),
        (Pool::Max, ([3, 1], [2, 3]), [11.0, 14.0, 21.0, 24.0]),
    ] {
        pool2d_case::<B>(pool, &[DType::F64], x5, window, &[1, 1, 2, 2], &want);
    }
}

/// `max_pool1d` and `avg_pool1d` over two channels and two window setups.
pub fn pool1d_values<B: Backend>() {
    let v = [1.0, 3.0, 2.0, 5.0, 4.0, -1.0, -3.0, -2.0, -5.0, -4.0];
    let (a, b) = (10.0 / 3.0, 11.0 / 3.0);
    let max31 = [3.0, 5.0, 5.0, -1.0, -2.0, -2.0];
    // The op, kernel, stride, and the expected shape and values.
    type Case<'a> = (Pool, usize, usize, &'a [usize], &'a [f64]);
    let cases: [Case; 4] = [
        (Pool::Max, 2, 2, &[1, 2, 2], &[3.0, 5.0, -1.0, -2.0]),
        (Pool::Avg, 2, 2, &[1, 2, 2], &[2.0, 3.5, -2.0, -3.5]),
        (Pool::Max, 3, 1, &[1, 2, 3], &max31),
        (Pool::Avg, 3, 1, &[1, 2, 3], &[2.0, a, b, -2.0, -a, -b]),
    ];
    for (pool, kernel, stride, shape, want) in cases {
        let op = format!("{} k{kernel} s{stride}", pool.name(1));
        check_op::<B>(&op, &FLOATS, &[(&v, &[1, 2, 5])], shape, want, |t| {
            pool.pool1d::<B>(&t[0], kernel, stride)
        });
    }
}

/// Gradients of `max_pool2d` (to the window maxima) and `avg_pool2d`, with disjoint and
/// overlapping windows.
pub fn pool2d_grads<B: Backend>() {
    let windows = [([2, 2], [2, 2]), ([2, 2], [1, 1]), ([3, 2], [2, 1])];
    for (k, window) in windows.into_iter().enumerate() {
        let x = [pseudo_input(&[2, 2, 5, 4], 190 + k as u64)];
        for pool in Pool::BOTH {
            let op = format!("{} {window:?}", pool.name(2));
            check_grad::<B>(&op, &x, |x| pool.pool2d::<B>(&x[0], window));
        }
    }
}

/// Gradients of `max_pool1d` and `avg_pool1d`.
pub fn pool1d_grads<B: Backend>() {
    for (k, (kernel, stride)) in [(2, 2), (3, 1)].into_iter().enumerate() {
        let x = [pseudo_input(&[2, 2, 7], 195 + k as u64)];
        for pool in Pool::BOTH {
            let op = format!("{} {kernel} {stride}", pool.name(1));
            check_grad::<B>(&op, &x, |x| pool.pool1d::<B>(&x[0], kernel, stride));
        }
    }
}
