//! Conformance of [`MathOps`](crate::backend::MathOps): elementwise arithmetic with
//! broadcasting, scalar ops, unary functions and their gradients.

use super::*;

type BinOp<B> = fn(
    &<B as crate::backend::BackendBase>::Tensor,
    &<B as crate::backend::BackendBase>::Tensor,
) -> Result<<B as crate::backend::BackendBase>::Tensor>;
type UnOp<B> = fn(
    &<B as crate::backend::BackendBase>::Tensor,
) -> Result<<B as crate::backend::BackendBase>::Tensor>;

fn binary_case<B: Backend>(op: &str, f: BinOp<B>, a: &[f64], b: &[f64], want: &[f64]) {
    for dtype in FLOATS {
        let ta = tensor::<B>(a, &[a.len()], dtype);
        let tb = tensor::<B>(b, &[b.len()], dtype);
        let out = ok(op, f(&ta, &tb));
        assert_float::<B>(&format!("{op} ({dtype})"), &out, dtype, &[want.len()], want);
    }
}

/// Writes one public case per line: `name: op a, b => want;` checks `B::op` on `a` and `b`
/// against `want` with [`binary_case`].
macro_rules! binary_cases {
    ($($(#[$doc:meta])* $name:ident: $op:ident $a:expr, $b:expr => $want:expr;)*) => {
        $(
            $(#[$doc])*
            pub fn $name<B: Backend>() {
                binary_case::<B>(stringify!($op), B::$op, &$a, &$b, &$want);
            }
        )*
    };
}

binary_cases! {
    /// `add` by hand.
    add_values: add [1.0, 2.0, -3.5], [10.0, 0.5, 1.5] => [11.0, 2.5, -2.0];
    /// `sub` by hand.
    sub_values: sub [1.0, 2.0, -3.5], [10.0, 0.5, 1.5] => [-9.0, 1.5, -5.0];
    /// `mul` by hand.
    mul_values: mul [1.0, 2.0, -3.5], [10.0, 0.5, 2.0] => [10.0, 1.0, -7.0];
    /// `div` by hand.
    div_values: div [1.0, 3.0, -3.5], [4.0, -2.0, 0.5] => [0.25, -1.5, -7.0];
    /// `pow` by hand (integer, fractional and negative exponents).
    pow_values: pow [2.0, 9.0, 4.0, 1.5, 5.0], [3.0, 0.5, -1.0, 2.0, 0.0] => [8.0, 3.0, 0.25, 2.25, 1.0];
}

/// `maximum` and `minimum` by hand.
pub fn maximum_minimum_values<B: Backend>() {
    let a = [1.0, -2.0, 3.0, 0.5];
    let b = [0.0, -1.0, 3.0, 2.0];
    binary_case::<B>("maximum", B::maximum, &a, &b, &[1.0, -1.0, 3.0, 2.0]);
    binary_case::<B>("minimum", B::minimum, &a, &b, &[0.0, -2.0, 3.0, 0.5]);
}

/// `add`, `sub`, `mul`, `maximum`, `minimum` on `i64` stay exact and `i64`.
pub fn int_arithmetic<B: Backend>() {
    let a = i64s::<B>(&[5, -3, 1 << 40, 7], &[4]);
    let b = i64s::<B>(&[2, 4, 1, -7], &[4]);
    let cases: [(&str, BinOp<B>, Vec<i64>); 5] = [
        ("add", B::add, vec![7, 1, (1 << 40) + 1, 0]),
        ("sub", B::sub, vec![3, -7, (1 << 40) - 1, 14]),
        ("mul", B::mul, vec![10, -12, 1 << 40, -49]),
        ("maximum", B::maximum, vec![5, 4, 1 << 40, 7]),
        ("minimum", B::minimum, vec![2, -3, 1, -7]),
    ];
    for (op, f, want) in cases {
        let out = ok(op, f(&a, &b));
        assert_eq!(B::dtype(&out), DType::I64, "{op} i64 dtype");
        assert_eq!(values_i64::<B>(&out), want, "{op} i64");
    }
}

/// Name, op and host reference.
type BinCase<B> = (&'static str, BinOp<B>, fn(f64, f64) -> f64);
/// Name, op, host reference and inputs.
type UnCase<B> = (&'static str, UnOp<B>, fn(f64) -> f64, Vec<f64>);

fn all_binary<B: Backend>() -> [BinCase<B>; 7] {
    [
        ("add", B::add, |a, b| a + b),
        ("sub", B::sub, |a, b| a - b),
        ("mul", B::mul, |a, b| a * b),
        ("div", B::div, |a, b| a / b),
        ("pow", B::pow, f64::powf),
        ("maximum", B::maximum, f64::max),
        ("minimum", B::minimum, f64::min),
    ]
}

/// Every binary op broadcasts by numpy rules (`[2,3]` with `[3]`, `[2,1]` with `[1,3]`,
/// rank 0 with `[2,3]`, ...), in `f32`.
pub fn binary_broadcast_f32<B: Backend>() {
    for (op, f, h) in all_binary::<B>() {
        check_broadcast::<B>(op, DType::F32, positive, f, h);
    }
}

/// Every binary op broadcasts in `f64`.
pub fn binary_broadcast_f64<B: Backend>() {
    for (op, f, h) in all_binary::<B>() {
        check_broadcast::<B>(op, DType::F64, positive, f, h);
    }
}

/// Integer binary ops broadcast.
pub fn binary_broadcast_i64<B: Backend>() {
    let ints = |n: usize, seed: u64| -> Vec<f64> {
        pseudo(n, seed).iter().map(|x| (x * 10.0).round()).collect()
    };
    for (op, f, h) in all_binary::<B>() {
        if op == "div" || op == "pow" {
            continue;
        }
        check_broadcast::<B>(op, DType::I64, ints, f, h);
    }
}

/// Binary ops on incompatible shapes are errors.
pub fn binary_shape_mismatch_errs<B: Backend>() {
    let a = f32s::<B>(&[0.0; 6], &[2, 3]);
    let b = f32s::<B>(&[0.0; 4], &[2, 2]);
    let c = f32s::<B>(&[0.0; 2], &[2]);
    for (op, f, _) in all_binary::<B>() {
        assert_err(&format!("{op} [2,3] with [2,2]"), f(&a, &b));
        assert_err(&format!("{op} [2,3] with [2]"), f(&a, &c));
    }
}

/// Binary ops on different dtypes are errors.
pub fn binary_dtype_mismatch_errs<B: Backend>() {
    let a = f32s::<B>(&[1.0, 2.0], &[2]);
    let b = f64s::<B>(&[1.0, 2.0], &[2]);
    let i = i64s::<B>(&[1, 2], &[2]);
    for (op, f, _) in all_binary::<B>() {
        assert_err(&format!("{op} f32 with f64"), f(&a, &b));
        assert_err(&format!("{op} f32 with i64"), f(&a, &i));
    }
}

/// `affine` is `t * mul + add`.
pub fn affine_values<B: Backend>() {
    for dtype in FLOATS {
        let t = tensor::<B>(&[1.0, -2.0, 0.5], &[3], dtype);
        let a = ok("affine", B::affine(&t, 2.0, 0.5));
        assert_float::<B>("affine(2, 0.5)", &a, dtype, &[3], &[2.5, -3.5, 1.5]);
        let a = ok("affine", B::affine(&t, -1.0, 0.0));
        assert_float::<B>("affine(-1, 0)", &a, dtype, &[3], &[-1.0, 2.0, -0.5]);
    }
}

/// `powf` with integer, fractional and negative exponents.
pub fn powf_values<B: Backend>() {
    for dtype in FLOATS {
        let t = tensor::<B>(&[4.0, 0.25, 9.0], &[3], dtype);
        let p = ok("powf", B::powf(&t, 2.0));
        assert_float::<B>("powf 2", &p, dtype, &[3], &[16.0, 0.0625, 81.0]);
        let p = ok("powf", B::powf(&t, 0.5));
        assert_float::<B>("powf 0.5", &p, dtype, &[3], &[2.0, 0.5, 3.0]);
        let p = ok("powf", B::powf(&t, -1.0));
        assert_float::<B>("powf -1", &p, dtype, &[3], &[0.25, 4.0, 1.0 / 9.0]);
    }
}

/// `clamp` into `[min, max]`.
pub fn clamp_values<B: Backend>() {
    for dtype in FLOATS {
        let t = tensor::<B>(&[-3.0, -0.5, 0.25, 2.0, 5.0], &[5], dtype);
        let c = ok("clamp", B::clamp(&t, -1.0, 2.0));
        assert_float::<B>(
            "clamp(-1, 2)",
            &c,
            dtype,
            &[5],
            &[-1.0, -0.5, 0.25, 2.0, 2.0],
        );
    }
}

fn unary_table<B: Backend>() -> Vec<UnCase<B>> {
    let any = vec![-2.0, -0.5, 0.0, 0.75, 3.0];
    let pos = vec![0.25, 1.0, 2.0, 4.0, 100.0];
    vec![
        ("neg", B::neg, |x| -x, any.clone()),
        ("abs", B::abs, f64::abs, any.clone()),
        ("exp", B::exp, f64::exp, any.clone()),
        ("log", B::log, f64::ln, pos.clone()),
        ("sqrt", B::sqrt, f64::sqrt, pos.clone()),
        ("square", B::square, |x| x * x, any.clone()),
        (
            "recip",
            B::recip,
            f64::recip,
            vec![-2.0, -0.5, 0.25, 1.0, 4.0],
        ),
        ("sin", B::sin, f64::sin, any.clone()),
        ("cos", B::cos, f64::cos, any.clone()),
        (
            "tanh",
            B::tanh,
            f64::tanh,
            vec![-20.0, -0.5, 0.0, 0.75, 20.0],
        ),
        ("relu", B::relu, |x| x.max(0.0), any),
    ]
}

fn unary_values<B: Backend>(dtype: DType) {
    for (op, f, h, xs) in unary_table::<B>() {
        let t = tensor::<B>(&xs, &[xs.len()], dtype);
        let xs = values::<B>(&t);
        let want: Vec<f64> = xs.iter().map(|&x| h(x)).collect();
        let out = ok(op, f(&t));
        assert_float::<B>(&format!("{op} ({dtype})"), &out, dtype, &[xs.len()], &want);
    }
    let ln2 = std::f64::consts::LN_2;
    let t = tensor::<B>(&[0.0, 1.0, -1.0, 4.0, 0.25], &[5], dtype);
    let e = ok("exp", B::exp(&tensor::<B>(&[0.0, ln2], &[2], dtype)));
    assert_float::<B>("exp by hand", &e, dtype, &[2], &[1.0, 2.0]);
    let a = ok("abs", B::abs(&t));
    assert_float::<B>("abs by hand", &a, dtype, &[5], &[0.0, 1.0, 1.0, 4.0, 0.25]);
    let s = ok("sqrt", B::sqrt(&ok("abs", B::abs(&t))));
    assert_float::<B>("sqrt by hand", &s, dtype, &[5], &[0.0, 1.0, 1.0, 2.0, 0.5]);
}

/// Every unary function in `f32`, against `f64` host math.
pub fn unary_values_f32<B: Backend>() {
    unary_values::<B>(DType::F32);
}

/// Every unary function in `f64`.
pub fn unary_values_f64<B: Backend>() {
    unary_values::<B>(DType::F64);
}

/// `erf` against tabulated values.
pub fn erf_values<B: Backend>() {
    let xs = [0.0, 0.5, 1.0, -1.0, 2.0, 3.0, -0.25];
    let want = [
        0.0,
        0.520_499_877_813_046_5,
        0.842_700_792_949_714_9,
        -0.842_700_792_949_714_9,
        0.995_322_265_018_952_7,
        0.999_977_909_503_001_4,
        -0.276_326_390_168_236_9,
    ];
    for dtype in FLOATS {
        let t = tensor::<B>(&xs, &[7], dtype);
        let e = ok("erf", B::erf(&t));
        let tol = if dtype == DType::F64 {
            1e-12
        } else {
            tolerance(dtype)
        };
        assert_eq!(B::dtype(&e), dtype, "erf dtype");
        assert_tensor::<B>(&format!("erf ({dtype})"), &e, &[7], &want, tol);
    }
}

/// `relu` and `sign`, including at zero.
pub fn relu_sign_values<B: Backend>() {
    for dtype in FLOATS {
        let t = tensor::<B>(&[-2.0, -0.0, 0.0, 0.5, 3.0], &[5], dtype);
        let r = ok("relu", B::relu(&t));
        assert_float::<B>("relu", &r, dtype, &[5], &[0.0, 0.0, 0.0, 0.5, 3.0]);
        let s = ok("sign", B::sign(&t));
        assert_float::<B>("sign", &s, dtype, &[5], &[-1.0, 0.0, 0.0, 1.0, 1.0]);
    }
}

/// Gradients of every binary op on equal shapes.
pub fn binary_grads<B: Backend>() {
    for (op, f, _) in all_binary::<B>() {
        // pow needs a positive base; the others are smooth at these (tie-free) inputs.
        check_grad::<B>(
            op,
            &[
                input(&[2, 3], positive(6, 20)),
                input(&[2, 3], positive(6, 21)),
            ],
            |x| f(&x[0], &x[1]),
        );
    }
}

/// Gradients of every binary op through broadcasting (summed over the stretched axes).
pub fn binary_broadcast_grads<B: Backend>() {
    let cases: [(&[usize], &[usize]); 3] = [(&[2, 3], &[3]), (&[2, 1], &[1, 3]), (&[], &[2, 3])];
    for (op, f, _) in all_binary::<B>() {
        for (k, (sa, sb)) in cases.iter().enumerate() {
            let na = sa.iter().product();
            let nb = sb.iter().product();
            check_grad::<B>(
                &format!("{op} {sa:?} with {sb:?}"),
                &[
                    input(sa, positive(na, 30 + k as u64)),
                    input(sb, positive(nb, 40 + k as u64)),
                ],
                |x| f(&x[0], &x[1]),
            );
        }
    }
}

/// Gradients of `affine`, `powf` and `clamp` (inside and outside the range).
pub fn scalar_op_grads<B: Backend>() {
    check_grad::<B>("affine", &[input(&[2, 3], pseudo(6, 50))], |x| {
        B::affine(&x[0], -1.5, 0.25)
    });
    check_grad::<B>("powf 3", &[input(&[2, 3], pseudo(6, 51))], |x| {
        B::powf(&x[0], 3.0)
    });
    check_grad::<B>("powf 0.5", &[input(&[2, 3], positive(6, 52))], |x| {
        B::powf(&x[0], 0.5)
    });
    check_grad::<B>("powf -2", &[input(&[2, 3], positive(6, 53))], |x| {
        B::powf(&x[0], -2.0)
    });
    check_grad::<B>("clamp", &[input(&[3, 4], pseudo(12, 54))], |x| {
        B::clamp(&x[0], -0.5, 0.7)
    });
}

/// Gradients of every differentiable unary function.
pub fn unary_grads<B: Backend>() {
    let erf: UnOp<B> = B::erf;
    let mut table: Vec<(&str, UnOp<B>, bool)> = unary_table::<B>()
        .into_iter()
        .map(|(op, f, _, _)| (op, f, matches!(op, "log" | "sqrt" | "recip")))
        .collect();
    table.push(("erf", erf, false));
    for (k, (op, f, needs_positive)) in table.into_iter().enumerate() {
        let xs = if needs_positive {
            positive(6, 60 + k as u64)
        } else {
            pseudo(6, 60 + k as u64)
        };
        check_grad::<B>(op, &[input(&[2, 3], xs)], |x| f(&x[0]));
    }
}

/// `sign` passes no gradient: `d/dx sum(sign(x) * w + x) = 1`.
pub fn sign_has_no_gradient<B: Backend>() {
    let x = ok("param", B::param(&f64s::<B>(&[-1.5, 0.5, 2.0], &[3])));
    let w = f64s::<B>(&[2.0, 3.0, 4.0], &[3]);
    let y = ok(
        "add",
        B::add(&ok("mul", B::mul(&ok("sign", B::sign(&x)), &w)), &x),
    );
    let loss = ok("sum", B::sum(&y, &[0], false));
    let g = ok("grad", B::grad(&loss, std::slice::from_ref(&x)));
    let g = g[0]
        .as_ref()
        .expect("sign: no gradient at all (the + x term has one)");
    assert_float::<B>("sign gradient", g, DType::F64, &[3], &[1.0, 1.0, 1.0]);
}
