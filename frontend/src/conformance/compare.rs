//! Conformance of [`CompareOps`](crate::backend::CompareOps): comparisons (boolean results,
//! broadcasting) and `where_cond`.

use super::*;

type CmpOp<B> = fn(
    &<B as crate::backend::BackendBase>::Tensor,
    &<B as crate::backend::BackendBase>::Tensor,
) -> Result<<B as crate::backend::BackendBase>::Tensor>;

/// Name, op and host reference.
type CmpCase<B> = (&'static str, CmpOp<B>, fn(f64, f64) -> bool);

fn all_compare<B: Backend>() -> [CmpCase<B>; 6] {
    [
        ("eq", B::eq, |a, b| a == b),
        ("ne", B::ne, |a, b| a != b),
        ("lt", B::lt, |a, b| a < b),
        ("le", B::le, |a, b| a <= b),
        ("gt", B::gt, |a, b| a > b),
        ("ge", B::ge, |a, b| a >= b),
    ]
}

fn check_bools<B: Backend>(op: &str, t: &B::Tensor, shape: &[usize], want: &[bool]) {
    assert_eq!(B::dtype(t), DType::Bool, "{op}: result dtype");
    assert_eq!(B::shape(t), shape, "{op}: shape");
    assert_eq!(values_bool::<B>(t), want, "{op}: values");
}

/// Each comparison by hand, in both float dtypes; results are [`DType::Bool`].
pub fn compare_values<B: Backend>() {
    let t = true;
    let f = false;
    let wants: [[bool; 3]; 6] = [
        [f, t, f], // eq
        [t, f, t], // ne
        [t, f, f], // lt
        [t, t, f], // le
        [f, f, t], // gt
        [f, t, t], // ge
    ];
    for dtype in FLOATS {
        let a = tensor::<B>(&[1.0, 2.0, 3.0], &[3], dtype);
        let b = tensor::<B>(&[2.0, 2.0, 2.0], &[3], dtype);
        for ((op, cmp, _), want) in all_compare::<B>().into_iter().zip(wants) {
            let out = ok(op, cmp(&a, &b));
            check_bools::<B>(&format!("{op} ({dtype})"), &out, &[3], &want);
        }
    }
}

/// Comparisons of `i64` tensors (label checks).
pub fn compare_i64<B: Backend>() {
    let a = i64s::<B>(&[3, -1, 7, 1 << 40], &[4]);
    let b = i64s::<B>(&[3, 0, 2, (1 << 40) + 1], &[4]);
    for (op, cmp, h) in all_compare::<B>() {
        let out = ok(op, cmp(&a, &b));
        let want: Vec<bool> = [(3, 3), (-1, 0), (7, 2), (1i64 << 40, (1i64 << 40) + 1)]
            .iter()
            .map(|&(x, y)| h(x as f64, y as f64))
            .collect();
        check_bools::<B>(&format!("{op} (i64)"), &out, &[4], &want);
    }
}

/// Every comparison broadcasts by numpy rules.
pub fn compare_broadcast<B: Backend>() {
    // Small integers so that equal values occur.
    let gen = |n: usize, seed: u64| -> Vec<f64> {
        pseudo(n, seed).iter().map(|x| (x * 1.5).round()).collect()
    };
    for dtype in [DType::F32, DType::I64] {
        for (op, cmp, h) in all_compare::<B>() {
            for &(sa, sb) in BROADCAST_CASES {
                let a = gen(sa.iter().product(), 3);
                let b = gen(sb.iter().product(), 4);
                let (want, shape) =
                    host_binary(&a, sa, &b, sb, |x, y| if h(x, y) { 1.0 } else { 0.0 });
                let want: Vec<bool> = want.iter().map(|&v| v == 1.0).collect();
                let name = format!("{op} {sa:?} with {sb:?} ({dtype})");
                let out = ok(
                    &name,
                    cmp(&tensor::<B>(&a, sa, dtype), &tensor::<B>(&b, sb, dtype)),
                );
                check_bools::<B>(&name, &out, &shape, &want);
            }
        }
    }
}

/// Comparing different dtypes, or incompatible shapes, is an error.
pub fn compare_dtype_mismatch_errs<B: Backend>() {
    let a = f32s::<B>(&[1.0, 2.0], &[2]);
    let b = f64s::<B>(&[1.0, 2.0], &[2]);
    let c = f32s::<B>(&[1.0, 2.0, 3.0], &[3]);
    for (op, cmp, _) in all_compare::<B>() {
        assert_err(&format!("{op} f32 with f64"), cmp(&a, &b));
        assert_err(&format!("{op} [2] with [3]"), cmp(&a, &c));
    }
}

/// `where_cond` picks per element, for float and `i64` branches.
pub fn where_cond_values<B: Backend>() {
    let mask = bools::<B>(&[true, false, false, true], &[2, 2]);
    for dtype in FLOATS {
        let a = tensor::<B>(&[1.0, 2.0, 3.0, 4.0], &[2, 2], dtype);
        let b = tensor::<B>(&[-1.0, -2.0, -3.0, -4.0], &[2, 2], dtype);
        let w = ok("where_cond", B::where_cond(&mask, &a, &b));
        assert_float::<B>("where_cond", &w, dtype, &[2, 2], &[1.0, -2.0, -3.0, 4.0]);
    }
    let a = i64s::<B>(&[1, 2, 3, 4], &[2, 2]);
    let b = i64s::<B>(&[0, 0, 0, 0], &[2, 2]);
    let w = ok("where_cond i64", B::where_cond(&mask, &a, &b));
    assert_eq!(values_i64::<B>(&w), vec![1, 0, 0, 4], "where_cond i64");
    // A mask made by a comparison.
    let x = f32s::<B>(&[-1.0, 2.0, -3.0], &[3]);
    let zero = f32s::<B>(&[0.0], &[]);
    let m = ok("gt", B::gt(&x, &zero));
    let w = ok("where_cond", B::where_cond(&m, &x, &zero));
    assert_float::<B>(
        "where_cond(x > 0, x, 0)",
        &w,
        DType::F32,
        &[3],
        &[0.0, 2.0, 0.0],
    );
}

/// Mask and both branches broadcast together.
pub fn where_cond_broadcast<B: Backend>() {
    let mask = bools::<B>(&[true, false], &[2, 1]);
    let a = f32s::<B>(&[1.0, 2.0, 3.0], &[1, 3]);
    let b = f32s::<B>(&[9.0], &[]);
    let w = ok("where_cond", B::where_cond(&mask, &a, &b));
    assert_float::<B>(
        "where_cond [2,1], [1,3], []",
        &w,
        DType::F32,
        &[2, 3],
        &[1.0, 2.0, 3.0, 9.0, 9.0, 9.0],
    );
    let mask = bools::<B>(&[true, false, true], &[3]);
    let a = f64s::<B>(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let b = f64s::<B>(&[-1.0, -2.0], &[2, 1]);
    let w = ok("where_cond", B::where_cond(&mask, &a, &b));
    assert_float::<B>(
        "where_cond [3], [2,3], [2,1]",
        &w,
        DType::F64,
        &[2, 3],
        &[1.0, -1.0, 3.0, 4.0, -2.0, 6.0],
    );
}

/// Gradients flow to the selected branch only, through broadcasting too.
pub fn where_cond_grad<B: Backend>() {
    let mask = bools::<B>(&[true, false, false, true, true, false], &[2, 3]);
    check_grad::<B>(
        "where_cond",
        &[input(&[2, 3], pseudo(6, 70)), input(&[2, 3], pseudo(6, 71))],
        |x| B::where_cond(&mask, &x[0], &x[1]),
    );
    let mask = bools::<B>(&[true, false, true], &[3]);
    check_grad::<B>(
        "where_cond broadcast",
        &[input(&[2, 1], pseudo(2, 72)), input(&[], pseudo(1, 73))],
        |x| B::where_cond(&mask, &x[0], &x[1]),
    );
}
