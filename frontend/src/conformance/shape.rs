//! Conformance of [`ShapeOps`](crate::backend::ShapeOps): reshape, permute, broadcast,
//! narrow, concat, stack, index_select, gather, contiguous and pad.

use super::*;

fn iota(n: usize) -> Vec<f64> {
    (0..n).map(|i| i as f64).collect()
}

/// Reshape keeps row-major order, including to and from rank 0.
pub fn reshape_values<B: Backend>() {
    let t = f32s::<B>(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let r = ok("reshape", B::reshape(&t, &[3, 2]));
    assert_float::<B>(
        "reshape [2,3]->[3,2]",
        &r,
        DType::F32,
        &[3, 2],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    );
    let r = ok("reshape", B::reshape(&t, &[6]));
    assert_float::<B>(
        "reshape [2,3]->[6]",
        &r,
        DType::F32,
        &[6],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    );
    let s = f64s::<B>(&[4.0], &[1]);
    let r = ok("reshape", B::reshape(&s, &[]));
    assert_float::<B>("reshape [1]->[]", &r, DType::F64, &[], &[4.0]);
    let r = ok("reshape", B::reshape(&r, &[1, 1]));
    assert_float::<B>("reshape []->[1,1]", &r, DType::F64, &[1, 1], &[4.0]);
    let i = i64s::<B>(&[1, 2, 3, 4], &[4]);
    let r = ok("reshape i64", B::reshape(&i, &[2, 2]));
    assert_eq!(values_i64::<B>(&r), vec![1, 2, 3, 4], "reshape i64");
}

/// Reshape to a different element count is an error.
pub fn reshape_wrong_count_errs<B: Backend>() {
    let t = f32s::<B>(&[0.0; 6], &[2, 3]);
    assert_err("reshape [2,3]->[4]", B::reshape(&t, &[4]));
    assert_err("reshape [2,3]->[2,4]", B::reshape(&t, &[2, 4]));
}

/// Gradient of reshape.
pub fn reshape_grad<B: Backend>() {
    check_grad::<B>("reshape", &[input(&[2, 3], pseudo(6, 1))], |x| {
        B::reshape(&x[0], &[3, 1, 2])
    });
}

/// 2-D transpose through permute.
pub fn permute_2d<B: Backend>() {
    let t = f32s::<B>(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let p = ok("permute", B::permute(&t, &[1, 0]));
    assert_float::<B>(
        "permute [1,0]",
        &p,
        DType::F32,
        &[3, 2],
        &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0],
    );
}

/// 3-D permute against a host reference; `to_host` of the strided result is row-major.
pub fn permute_3d<B: Backend>() {
    let shape = [2, 3, 4];
    let t = f64s::<B>(&iota(24), &shape);
    for axes in [[2, 0, 1], [1, 2, 0], [0, 2, 1]] {
        let p = ok("permute", B::permute(&t, &axes));
        let out_shape: Vec<usize> = axes.iter().map(|&a| shape[a]).collect();
        let st = strides(&shape);
        let want: Vec<f64> = (0..24)
            .map(|k| {
                let idx = unravel(k, &out_shape);
                let src: usize = (0..3).map(|i| idx[i] * st[axes[i]]).sum();
                src as f64
            })
            .collect();
        assert_float::<B>(
            &format!("permute {axes:?}"),
            &p,
            DType::F64,
            &out_shape,
            &want,
        );
    }
}

/// Gradient of permute.
pub fn permute_grad<B: Backend>() {
    check_grad::<B>("permute", &[input(&[2, 3, 2], pseudo(12, 2))], |x| {
        B::permute(&x[0], &[2, 0, 1])
    });
}

/// `broadcast_to` stretches size-1 axes and adds leading ones.
pub fn broadcast_to_values<B: Backend>() {
    let t = f32s::<B>(&[1.0, 2.0, 3.0], &[3]);
    let b = ok("broadcast_to", B::broadcast_to(&t, &[2, 3]));
    assert_float::<B>(
        "broadcast_to [3]->[2,3]",
        &b,
        DType::F32,
        &[2, 3],
        &[1.0, 2.0, 3.0, 1.0, 2.0, 3.0],
    );
    let t = f32s::<B>(&[1.0, 2.0], &[2, 1]);
    let b = ok("broadcast_to", B::broadcast_to(&t, &[2, 3]));
    assert_float::<B>(
        "broadcast_to [2,1]->[2,3]",
        &b,
        DType::F32,
        &[2, 3],
        &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0],
    );
    let t = f64s::<B>(&[7.0], &[]);
    let b = ok("broadcast_to", B::broadcast_to(&t, &[2, 2]));
    assert_float::<B>("broadcast_to []->[2,2]", &b, DType::F64, &[2, 2], &[7.0; 4]);
    let t = f64s::<B>(&[1.0, 2.0, 3.0], &[1, 3]);
    let b = ok("broadcast_to", B::broadcast_to(&t, &[2, 1, 3]));
    assert_float::<B>(
        "broadcast_to [1,3]->[2,1,3]",
        &b,
        DType::F64,
        &[2, 1, 3],
        &[1.0, 2.0, 3.0, 1.0, 2.0, 3.0],
    );
    let i = i64s::<B>(&[4, 5], &[2, 1]);
    let b = ok("broadcast_to i64", B::broadcast_to(&i, &[2, 2]));
    assert_eq!(values_i64::<B>(&b), vec![4, 4, 5, 5], "broadcast_to i64");
}

/// Broadcasting to an incompatible shape is an error.
pub fn broadcast_to_incompatible_errs<B: Backend>() {
    let t = f32s::<B>(&[1.0, 2.0], &[2]);
    assert_err("broadcast_to [2]->[3]", B::broadcast_to(&t, &[3]));
    assert_err("broadcast_to [2]->[2,3]", B::broadcast_to(&t, &[2, 3]));
}

/// Gradient of broadcast_to (sums over the stretched axes).
pub fn broadcast_to_grad<B: Backend>() {
    check_grad::<B>("broadcast_to", &[input(&[2, 1], pseudo(2, 3))], |x| {
        B::broadcast_to(&x[0], &[3, 2, 4])
    });
    check_grad::<B>("broadcast_to rank 0", &[input(&[], pseudo(1, 4))], |x| {
        B::broadcast_to(&x[0], &[2, 3])
    });
}

/// `narrow` along each axis.
pub fn narrow_values<B: Backend>() {
    let t = f32s::<B>(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let n = ok("narrow", B::narrow(&t, 1, 1, 2));
    assert_float::<B>(
        "narrow(axis 1, 1, 2)",
        &n,
        DType::F32,
        &[2, 2],
        &[2.0, 3.0, 5.0, 6.0],
    );
    let n = ok("narrow", B::narrow(&t, 0, 1, 1));
    assert_float::<B>(
        "narrow(axis 0, 1, 1)",
        &n,
        DType::F32,
        &[1, 3],
        &[4.0, 5.0, 6.0],
    );
    let n = ok("narrow", B::narrow(&t, 1, 0, 3));
    assert_float::<B>(
        "narrow(axis 1, 0, 3)",
        &n,
        DType::F32,
        &[2, 3],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    );
    let i = i64s::<B>(&[1, 2, 3, 4, 5], &[5]);
    let n = ok("narrow i64", B::narrow(&i, 0, 2, 3));
    assert_eq!(values_i64::<B>(&n), vec![3, 4, 5], "narrow i64");
}

/// `narrow` past the end, or on a missing axis, is an error.
pub fn narrow_out_of_range_errs<B: Backend>() {
    let t = f32s::<B>(&[0.0; 6], &[2, 3]);
    assert_err("narrow(axis 1, 2, 2) of [2,3]", B::narrow(&t, 1, 2, 2));
    assert_err("narrow(axis 0, 3, 1) of [2,3]", B::narrow(&t, 0, 3, 1));
    assert_err("narrow(axis 2, ..) of [2,3]", B::narrow(&t, 2, 0, 1));
}

/// Gradient of narrow.
pub fn narrow_grad<B: Backend>() {
    check_grad::<B>("narrow", &[input(&[3, 4], pseudo(12, 5))], |x| {
        B::narrow(&x[0], 1, 1, 2)
    });
}

/// `concat` along each axis, of three tensors.
pub fn concat_values<B: Backend>() {
    let a = f32s::<B>(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let b = f32s::<B>(&[5.0, 6.0], &[1, 2]);
    let c = ok("concat", B::concat(&[a.clone(), b], 0));
    assert_float::<B>(
        "concat axis 0",
        &c,
        DType::F32,
        &[3, 2],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    );
    let b = f32s::<B>(&[5.0, 6.0], &[2, 1]);
    let e = f32s::<B>(&[7.0, 8.0, 9.0, 10.0], &[2, 2]);
    let c = ok("concat", B::concat(&[a, b, e], 1));
    assert_float::<B>(
        "concat axis 1",
        &c,
        DType::F32,
        &[2, 5],
        &[1.0, 2.0, 5.0, 7.0, 8.0, 3.0, 4.0, 6.0, 9.0, 10.0],
    );
    let i = ok(
        "concat i64",
        B::concat(&[i64s::<B>(&[1], &[1]), i64s::<B>(&[2, 3], &[2])], 0),
    );
    assert_eq!(values_i64::<B>(&i), vec![1, 2, 3], "concat i64");
}

/// `concat` of tensors whose other axes differ is an error.
pub fn concat_mismatch_errs<B: Backend>() {
    let a = f32s::<B>(&[0.0; 4], &[2, 2]);
    let b = f32s::<B>(&[0.0; 3], &[1, 3]);
    assert_err(
        "concat [2,2] and [1,3] on axis 0",
        B::concat(&[a.clone(), b], 0),
    );
    let c = f32s::<B>(&[0.0; 2], &[2]);
    assert_err("concat [2,2] and [2] on axis 0", B::concat(&[a, c], 0));
}

/// Gradient of concat.
pub fn concat_grad<B: Backend>() {
    check_grad::<B>(
        "concat",
        &[input(&[2, 2], pseudo(4, 6)), input(&[2, 3], pseudo(6, 7))],
        |x| B::concat(x, 1),
    );
}

/// `stack` along a new first, middle and last axis.
pub fn stack_values<B: Backend>() {
    let a = f32s::<B>(&[1.0, 2.0], &[2]);
    let b = f32s::<B>(&[3.0, 4.0], &[2]);
    let s = ok("stack", B::stack(&[a.clone(), b.clone()], 0));
    assert_float::<B>(
        "stack axis 0",
        &s,
        DType::F32,
        &[2, 2],
        &[1.0, 2.0, 3.0, 4.0],
    );
    let s = ok("stack", B::stack(&[a, b], 1));
    assert_float::<B>(
        "stack axis 1",
        &s,
        DType::F32,
        &[2, 2],
        &[1.0, 3.0, 2.0, 4.0],
    );
    let a = f64s::<B>(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let b = f64s::<B>(&[5.0, 6.0, 7.0, 8.0], &[2, 2]);
    let c = f64s::<B>(&[9.0, 10.0, 11.0, 12.0], &[2, 2]);
    let s = ok("stack", B::stack(&[a, b, c], 1));
    assert_float::<B>(
        "stack axis 1 of [2,2]",
        &s,
        DType::F64,
        &[2, 3, 2],
        &[
            1.0, 2.0, 5.0, 6.0, 9.0, 10.0, 3.0, 4.0, 7.0, 8.0, 11.0, 12.0,
        ],
    );
}

/// `stack` of tensors with different shapes is an error.
pub fn stack_mismatch_errs<B: Backend>() {
    let a = f32s::<B>(&[0.0; 2], &[2]);
    let b = f32s::<B>(&[0.0; 3], &[3]);
    assert_err("stack [2] and [3]", B::stack(&[a, b], 0));
}

/// Gradient of stack.
pub fn stack_grad<B: Backend>() {
    check_grad::<B>(
        "stack",
        &[input(&[2, 2], pseudo(4, 8)), input(&[2, 2], pseudo(4, 9))],
        |x| B::stack(x, 2),
    );
}

/// `index_select` with repeated indices along each axis, on float and `i64` data.
pub fn index_select_values<B: Backend>() {
    let t = f32s::<B>(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
    let idx = i64s::<B>(&[2, 0, 2], &[3]);
    let s = ok("index_select", B::index_select(&t, &idx, 0));
    assert_float::<B>(
        "index_select axis 0",
        &s,
        DType::F32,
        &[3, 2],
        &[5.0, 6.0, 1.0, 2.0, 5.0, 6.0],
    );
    let idx = i64s::<B>(&[1, 1, 0, 1], &[4]);
    let s = ok("index_select", B::index_select(&t, &idx, 1));
    assert_float::<B>(
        "index_select axis 1",
        &s,
        DType::F32,
        &[3, 4],
        &[2.0, 2.0, 1.0, 2.0, 4.0, 4.0, 3.0, 4.0, 6.0, 6.0, 5.0, 6.0],
    );
    let labels = i64s::<B>(&[10, 20, 30, 40], &[4]);
    let s = ok(
        "index_select i64",
        B::index_select(&labels, &i64s::<B>(&[3, 1], &[2]), 0),
    );
    assert_eq!(
        values_i64::<B>(&s),
        vec![40, 20],
        "index_select of i64 data"
    );
}

/// An index past the axis is an error, not a panic.
pub fn index_select_out_of_range_errs<B: Backend>() {
    let t = f32s::<B>(&[0.0; 6], &[3, 2]);
    let idx = i64s::<B>(&[0, 3], &[2]);
    assert_err(
        "index_select index 3 of axis size 3",
        B::index_select(&t, &idx, 0),
    );
    let idx = i64s::<B>(&[5], &[1]);
    assert_err(
        "index_select index 5 of axis size 2",
        B::index_select(&t, &idx, 1),
    );
}

/// Out-of-range and negative indices are an error from `gather` (on every device: on CUDA
/// before a kernel's device-side assert could poison the context).
pub fn gather_out_of_range_errs<B: Backend>() {
    let t = f32s::<B>(&[0.0; 6], &[2, 3]);
    let idx = i64s::<B>(&[0, 3, 1, 2], &[2, 2]);
    assert_err("gather index 3 of axis size 3", B::gather(&t, &idx, 1));
    let idx = i64s::<B>(&[0, -1], &[1, 2]);
    assert_err("gather index -1", B::gather(&t, &idx, 1));
    // The device still works afterwards.
    let idx = i64s::<B>(&[2, 0], &[1, 2]);
    ok("gather after errors", B::gather(&t, &idx, 1));
}

/// Gradient of index_select; repeated indices accumulate.
pub fn index_select_grad<B: Backend>() {
    let idx = i64s::<B>(&[0, 2, 0, 3], &[4]);
    check_grad::<B>(
        "index_select axis 0",
        &[input(&[4, 3], pseudo(12, 10))],
        |x| B::index_select(&x[0], &idx, 0),
    );
    let idx = i64s::<B>(&[1, 1, 2], &[3]);
    check_grad::<B>(
        "index_select axis 1",
        &[input(&[2, 3], pseudo(6, 11))],
        |x| B::index_select(&x[0], &idx, 1),
    );
}

/// `gather` along each axis (torch.gather semantics).
pub fn gather_values<B: Backend>() {
    let t = f32s::<B>(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let idx = i64s::<B>(&[2, 0, 1, 1], &[2, 2]);
    let g = ok("gather", B::gather(&t, &idx, 1));
    assert_float::<B>(
        "gather axis 1",
        &g,
        DType::F32,
        &[2, 2],
        &[3.0, 1.0, 5.0, 5.0],
    );
    let idx = i64s::<B>(&[1, 0, 1], &[1, 3]);
    let g = ok("gather", B::gather(&t, &idx, 0));
    assert_float::<B>("gather axis 0", &g, DType::F32, &[1, 3], &[4.0, 2.0, 6.0]);
}

/// Gradient of gather.
pub fn gather_grad<B: Backend>() {
    let idx = i64s::<B>(&[0, 2, 2, 1, 1, 0], &[2, 3]);
    check_grad::<B>("gather", &[input(&[2, 4], pseudo(8, 12))], |x| {
        B::gather(&x[0], &idx, 1)
    });
}

/// `contiguous` of a strided (permuted, narrowed) tensor keeps shape and values.
pub fn contiguous_values<B: Backend>() {
    let t = f32s::<B>(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let p = ok("permute", B::permute(&t, &[1, 0]));
    let c = ok("contiguous", B::contiguous(&p));
    assert_float::<B>(
        "contiguous(permute)",
        &c,
        DType::F32,
        &[3, 2],
        &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0],
    );
    let n = ok("narrow", B::narrow(&t, 1, 1, 1));
    let c = ok("contiguous", B::contiguous(&n));
    assert_float::<B>("contiguous(narrow)", &c, DType::F32, &[2, 1], &[2.0, 5.0]);
    let c = ok("contiguous", B::contiguous(&t));
    assert_float::<B>(
        "contiguous(contiguous)",
        &c,
        DType::F32,
        &[2, 3],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    );
}

/// Gradient of contiguous.
pub fn contiguous_grad<B: Backend>() {
    check_grad::<B>("contiguous", &[input(&[2, 3], pseudo(6, 13))], |x| {
        B::contiguous(&B::permute(&x[0], &[1, 0])?)
    });
}

/// `pad` before and after along each axis, with a fill value; no padding is the identity.
pub fn pad_values<B: Backend>() {
    let t = f32s::<B>(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let p = ok("pad", B::pad(&t, 1, 1, 2, -1.0));
    assert_float::<B>(
        "pad axis 1 (1, 2)",
        &p,
        DType::F32,
        &[2, 5],
        &[-1.0, 1.0, 2.0, -1.0, -1.0, -1.0, 3.0, 4.0, -1.0, -1.0],
    );
    let p = ok("pad", B::pad(&t, 0, 0, 1, 0.0));
    assert_float::<B>(
        "pad axis 0 (0, 1)",
        &p,
        DType::F32,
        &[3, 2],
        &[1.0, 2.0, 3.0, 4.0, 0.0, 0.0],
    );
    let p = ok("pad", B::pad(&t, 0, 0, 0, 9.0));
    assert_float::<B>("pad (0, 0)", &p, DType::F32, &[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let i = ok("pad i64", B::pad(&i64s::<B>(&[5, 6], &[2]), 0, 1, 0, 0.0));
    assert_eq!(values_i64::<B>(&i), vec![0, 5, 6], "pad i64");
}

/// Gradient of pad.
pub fn pad_grad<B: Backend>() {
    check_grad::<B>("pad", &[input(&[2, 3], pseudo(6, 14))], |x| {
        B::pad(&x[0], 1, 2, 1, 0.5)
    });
}
