//! Conformance of [`ReduceOps`](crate::backend::ReduceOps): sums, means, extrema and
//! arg-extrema over axes, with and without `keepdim`.

use super::*;

/// `[2, 3, 4]` tensor with element `(i, j, k) = 12 i + 4 j + k`.
fn cube<B: Backend>(dtype: DType) -> B::Tensor {
    let v: Vec<f64> = (0..24).map(|i| i as f64).collect();
    tensor::<B>(&v, &[2, 3, 4], dtype)
}

/// An engine reduction over axes: tensor, axes, `keepdim`.
type Reduction<T> = fn(&T, &[usize], bool) -> Result<T>;

/// `f` (`B::sum`, `B::mean`, `B::max` or `B::min`) of `t` over `axes`: a tensor of `t`'s
/// dtype and of `shape` holding `want`; `label` names the case.
fn check_reduce<B: Backend>(
    label: &str,
    t: &B::Tensor,
    f: Reduction<B::Tensor>,
    axes: &[usize],
    keepdim: bool,
    shape: &[usize],
    want: &[f64],
) {
    let r = ok(label, f(t, axes, keepdim));
    assert_float::<B>(label, &r, B::dtype(t), shape, want);
}

/// `sum` over one axis, with and without `keepdim`.
pub fn sum_single_axis<B: Backend>() {
    for dtype in FLOATS {
        let t = tensor::<B>(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], dtype);
        let sum = |label, axes, keepdim, shape, want| {
            check_reduce::<B>(label, &t, B::sum, axes, keepdim, shape, want)
        };
        sum("sum axis 0", &[0], false, &[3], &[5.0, 7.0, 9.0]);
        sum("sum axis 1", &[1], false, &[2], &[6.0, 15.0]);
        sum("sum axis 1 keepdim", &[1], true, &[2, 1], &[6.0, 15.0]);
        sum("sum axis 0 keepdim", &[0], true, &[1, 3], &[5.0, 7.0, 9.0]);
    }
}

/// `sum` over several (non-adjacent) axes: for `12 i + 4 j + k` over `i` and `k`,
/// `60 + 32 j`.
pub fn sum_multi_axis_keepdim<B: Backend>() {
    let t = cube::<B>(DType::F32);
    let sum = |label, axes, keepdim, shape, want| {
        check_reduce::<B>(label, &t, B::sum, axes, keepdim, shape, want)
    };
    sum("sum axes [0,2]", &[0, 2], false, &[3], &[60.0, 92.0, 124.0]);
    sum(
        "sum axes [0,2] keepdim",
        &[0, 2],
        true,
        &[1, 3, 1],
        &[60.0, 92.0, 124.0],
    );
    // Over j and k: sum_j sum_k (12 i + 4 j + k) = 144 i + 48 + 18 = 144 i + 66.
    sum(
        "sum axes [1,2] keepdim",
        &[1, 2],
        true,
        &[2, 1, 1],
        &[66.0, 210.0],
    );
}

/// Summing every axis gives rank 0 (or all ones with `keepdim`).
pub fn sum_all_to_scalar<B: Backend>() {
    let t = cube::<B>(DType::F64);
    let sum = |label, axes, keepdim, shape, want| {
        check_reduce::<B>(label, &t, B::sum, axes, keepdim, shape, want)
    };
    sum("sum all", &[0, 1, 2], false, &[], &[276.0]);
    sum("sum all keepdim", &[0, 1, 2], true, &[1, 1, 1], &[276.0]);
}

/// An empty axis list reduces nothing.
pub fn sum_empty_axes_is_identity<B: Backend>() {
    let t = f32s::<B>(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    for (op, f) in [
        ("sum", B::sum as Reduction<B::Tensor>),
        ("mean", B::mean),
        ("max", B::max),
        ("min", B::min),
    ] {
        let label = format!("{op} over no axes");
        check_reduce::<B>(&label, &t, f, &[], false, &[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    }
}

/// `sum` of `i64` stays `i64`.
pub fn sum_i64<B: Backend>() {
    let t = i64s::<B>(&[1, 2, 3, 4, 5, 1 << 40], &[2, 3]);
    let s = ok("sum i64", B::sum(&t, &[1], false));
    assert_eq!(B::dtype(&s), DType::I64, "sum i64 dtype");
    assert_eq!(values_i64::<B>(&s), vec![6, 9 + (1 << 40)], "sum i64");
}

/// `mean` over one and several axes.
pub fn mean_values<B: Backend>() {
    for dtype in FLOATS {
        let t = tensor::<B>(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], dtype);
        let mean = |label, axes, keepdim, shape, want| {
            check_reduce::<B>(label, &t, B::mean, axes, keepdim, shape, want)
        };
        mean("mean axis 1", &[1], false, &[2], &[2.0, 5.0]);
        mean("mean axis 0 keepdim", &[0], true, &[1, 3], &[2.5, 3.5, 4.5]);
        mean("mean all", &[0, 1], false, &[], &[3.5]);
    }
    let t = cube::<B>(DType::F64);
    let want = [7.5, 11.5, 15.5];
    check_reduce::<B>(
        "mean axes [0,2] keepdim",
        &t,
        B::mean,
        &[0, 2],
        true,
        &[1, 3, 1],
        &want,
    );
}

/// `max` and `min` over one and several axes: for `12 i + 4 j + k` over `i` and `k`,
/// `15 + 4 j` and `4 j`.
pub fn max_min_values<B: Backend>() {
    let t = f32s::<B>(&[1.0, 5.0, -2.0, 4.0, 0.0, 3.0], &[2, 3]);
    check_reduce::<B>("max axis 1", &t, B::max, &[1], false, &[2], &[5.0, 4.0]);
    let want = [1.0, 0.0, -2.0];
    check_reduce::<B>("min axis 0 keepdim", &t, B::min, &[0], true, &[1, 3], &want);
    let c = cube::<B>(DType::F64);
    let on_c = |label, f, axes, keepdim, shape, want| {
        check_reduce::<B>(label, &c, f, axes, keepdim, shape, want)
    };
    on_c(
        "max axes [0,2]",
        B::max,
        &[0, 2],
        false,
        &[3],
        &[15.0, 19.0, 23.0],
    );
    on_c(
        "min axes [0,2] keepdim",
        B::min,
        &[0, 2],
        true,
        &[1, 3, 1],
        &[0.0, 4.0, 8.0],
    );
    on_c("max all", B::max, &[0, 1, 2], false, &[], &[23.0]);
    let i = i64s::<B>(&[3, -7, 2, 9], &[2, 2]);
    let m = ok("max i64", B::max(&i, &[1], false));
    assert_eq!(values_i64::<B>(&m), vec![3, 9], "max i64");
    let m = ok("min i64", B::min(&i, &[1], false));
    assert_eq!(values_i64::<B>(&m), vec![-7, 2], "min i64");
}

/// `arg` (`B::argmax` or `B::argmin`) of `t` along `axis`: an `i64` tensor of `shape`
/// holding `want`; `op` names the case.
fn check_arg<B: Backend>(
    op: &str,
    t: &B::Tensor,
    arg: fn(&B::Tensor, usize, bool) -> crate::error::Result<B::Tensor>,
    axis: usize,
    keepdim: bool,
    shape: &[usize],
    want: &[i64],
) {
    let t = &ok(op, arg(t, axis, keepdim));
    assert_eq!(B::dtype(t), DType::I64, "{op}: dtype must be i64");
    assert_eq!(B::shape(t), shape, "{op}: shape");
    assert_eq!(values_i64::<B>(t), want, "{op}: values");
}

/// `argmax` and `argmin` along each axis, as `i64`.
pub fn argmax_argmin_values<B: Backend>() {
    for dtype in [DType::F32, DType::F64, DType::I64] {
        let t = tensor::<B>(&[1.0, 7.0, -3.0, 4.0, 0.0, 9.0], &[2, 3], dtype);
        check_arg::<B>("argmax axis 1", &t, B::argmax, 1, false, &[2], &[1, 2]);
        check_arg::<B>("argmin axis 1", &t, B::argmin, 1, false, &[2], &[2, 1]);
        check_arg::<B>("argmax axis 0", &t, B::argmax, 0, false, &[3], &[1, 0, 1]);
        check_arg::<B>("argmin axis 0", &t, B::argmin, 0, false, &[3], &[0, 1, 0]);
    }
}

/// Ties resolve to the first index.
pub fn argmax_argmin_ties_first<B: Backend>() {
    let t = f32s::<B>(&[1.0, 3.0, 3.0, 5.0, 5.0, 0.0, 2.0, 2.0, 2.0], &[3, 3]);
    check_arg::<B>("argmax ties", &t, B::argmax, 1, false, &[3], &[1, 0, 0]);
    check_arg::<B>("argmin ties", &t, B::argmin, 1, false, &[3], &[0, 2, 0]);
    let t = f64s::<B>(&[4.0, 4.0, 1.0, 1.0], &[4]);
    check_arg::<B>("argmax ties rank 1", &t, B::argmax, 0, false, &[], &[0]);
    check_arg::<B>("argmin ties rank 1", &t, B::argmin, 0, false, &[], &[2]);
}

/// `keepdim` keeps the reduced axis with size 1.
pub fn argmax_argmin_keepdim<B: Backend>() {
    let t = f32s::<B>(&[1.0, 7.0, -3.0, 4.0, 0.0, 9.0], &[2, 3]);
    check_arg::<B>("argmax keepdim", &t, B::argmax, 1, true, &[2, 1], &[1, 2]);
    check_arg::<B>(
        "argmin keepdim",
        &t,
        B::argmin,
        0,
        true,
        &[1, 3],
        &[0, 1, 0],
    );
}

/// Gradients of `sum`, `mean`, `max` and `min` over one and several axes, with and without
/// `keepdim`.
pub fn reduce_grads<B: Backend>() {
    let axes_cases: [(&[usize], bool); 4] = [
        (&[1], false),
        (&[0, 2], true),
        (&[0, 2], false),
        (&[0, 1, 2], false),
    ];
    for (k, &(axes, keepdim)) in axes_cases.iter().enumerate() {
        let x = || [input(&[2, 3, 4], pseudo(24, 80 + k as u64))];
        check_grad::<B>(&format!("sum {axes:?} keepdim={keepdim}"), &x(), |x| {
            B::sum(&x[0], axes, keepdim)
        });
        check_grad::<B>(&format!("mean {axes:?} keepdim={keepdim}"), &x(), |x| {
            B::mean(&x[0], axes, keepdim)
        });
        check_grad::<B>(&format!("max {axes:?} keepdim={keepdim}"), &x(), |x| {
            B::max(&x[0], axes, keepdim)
        });
        check_grad::<B>(&format!("min {axes:?} keepdim={keepdim}"), &x(), |x| {
            B::min(&x[0], axes, keepdim)
        });
    }
}
