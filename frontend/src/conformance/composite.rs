//! Conformance of [`CompositeOps`](crate::backend::CompositeOps): activations, softmax
//! family and cross-entropy, whether an engine keeps the defaults or overrides them. Values
//! are closed-form host math, including the numerically hard large magnitudes.

use super::*;

type UnOp<B> = fn(
    &<B as crate::backend::BackendBase>::Tensor,
) -> Result<<B as crate::backend::BackendBase>::Tensor>;

const XS: [f64; 6] = [-3.0, -1.0, -0.25, 0.0, 0.5, 2.0];
const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn softplus(x: f64) -> f64 {
    x.exp().ln_1p()
}

fn gelu_tanh(x: f64) -> f64 {
    let c = (2.0 / std::f64::consts::PI).sqrt();
    0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
}

fn elu(x: f64, alpha: f64) -> f64 {
    if x > 0.0 {
        x
    } else {
        alpha * (x.exp() - 1.0)
    }
}

/// Applies `f` to `xs` in both float dtypes and compares with `h`.
fn unary_case<B: Backend>(
    op: &str,
    f: impl Fn(&B::Tensor) -> Result<B::Tensor>,
    xs: &[f64],
    h: impl Fn(f64) -> f64,
) {
    let want: Vec<f64> = xs.iter().map(|&x| h(x)).collect();
    for dtype in FLOATS {
        let out = ok(op, f(&tensor::<B>(xs, &[xs.len()], dtype)));
        assert_float::<B>(&format!("{op} ({dtype})"), &out, dtype, &[xs.len()], &want);
    }
}

/// `scalar_like` is rank 0 with the tensor's dtype.
pub fn scalar_like_values<B: Backend>() {
    for dtype in [DType::F32, DType::F64, DType::I64] {
        let t = tensor::<B>(&[1.0, 2.0], &[2], dtype);
        let s = ok("scalar_like", B::scalar_like(&t, 3.0));
        assert_eq!(B::dtype(&s), dtype, "scalar_like dtype");
        assert_tensor::<B>("scalar_like", &s, &[], &[3.0], 0.0);
    }
}

/// `sigmoid` against `1 / (1 + e^-x)`; `sigmoid(0) = 0.5`.
pub fn sigmoid_values<B: Backend>() {
    unary_case::<B>("sigmoid", B::sigmoid, &XS, sigmoid);
    unary_case::<B>("sigmoid by hand", B::sigmoid, &[0.0], |_| 0.5);
}

/// `softplus = ln(1 + e^x)` (`softplus(0) = ln 2`) and `log_sigmoid = -ln(1 + e^-x)`.
pub fn softplus_log_sigmoid_values<B: Backend>() {
    unary_case::<B>("softplus", B::softplus, &XS, softplus);
    unary_case::<B>("softplus by hand", B::softplus, &[0.0], |_| {
        std::f64::consts::LN_2
    });
    unary_case::<B>("log_sigmoid", B::log_sigmoid, &XS, |x| -softplus(-x));
}

/// `logsumexp` over one axis (with and without `keepdim`) and over all axes.
pub fn logsumexp_values<B: Backend>() {
    let e = std::f64::consts::E;
    let row0 = (e + e * e + e * e * e).ln();
    let row1 = 1.0 + 3f64.ln();
    for dtype in FLOATS {
        let t = tensor::<B>(&[1.0, 2.0, 3.0, 1.0, 1.0, 1.0], &[2, 3], dtype);
        let l = ok("logsumexp", B::logsumexp(&t, &[1], false));
        assert_float::<B>("logsumexp axis 1", &l, dtype, &[2], &[row0, row1]);
        let l = ok("logsumexp", B::logsumexp(&t, &[1], true));
        assert_float::<B>(
            "logsumexp axis 1 keepdim",
            &l,
            dtype,
            &[2, 1],
            &[row0, row1],
        );
        let all = (e + e * e + e * e * e + 3.0 * e).ln();
        let l = ok("logsumexp", B::logsumexp(&t, &[0, 1], false));
        assert_float::<B>("logsumexp all", &l, dtype, &[], &[all]);
        // Over axis 0: column j holds (x0j, x1j).
        let cols = [(2.0 * e).ln(), (e * e + e).ln(), (e * e * e + e).ln()];
        let l = ok("logsumexp", B::logsumexp(&t, &[0], false));
        assert_float::<B>("logsumexp axis 0", &l, dtype, &[3], &cols);
    }
}

fn host_softmax(xs: &[f64]) -> Vec<f64> {
    let s: f64 = xs.iter().map(|x| x.exp()).sum();
    xs.iter().map(|x| x.exp() / s).collect()
}

/// `softmax` along the last and the first axis; `softmax([0, ln 3]) = [0.25, 0.75]`.
pub fn softmax_values<B: Backend>() {
    for dtype in FLOATS {
        let t = tensor::<B>(&[0.0, 3f64.ln()], &[1, 2], dtype);
        let s = ok("softmax", B::softmax(&t, 1));
        assert_float::<B>("softmax by hand", &s, dtype, &[1, 2], &[0.25, 0.75]);
        let t = tensor::<B>(&[1.0, 2.0, 3.0, -1.0, 0.0, 0.5], &[2, 3], dtype);
        let mut want = host_softmax(&[1.0, 2.0, 3.0]);
        want.extend(host_softmax(&[-1.0, 0.0, 0.5]));
        let s = ok("softmax", B::softmax(&t, 1));
        assert_float::<B>("softmax axis 1", &s, dtype, &[2, 3], &want);
        let c: Vec<Vec<f64>> = [(1.0, -1.0), (2.0, 0.0), (3.0, 0.5)]
            .iter()
            .map(|&(a, b)| host_softmax(&[a, b]))
            .collect();
        let want: Vec<f64> = (0..2)
            .flat_map(|i| c.iter().map(move |col| col[i]))
            .collect();
        let s = ok("softmax", B::softmax(&t, 0));
        assert_float::<B>("softmax axis 0", &s, dtype, &[2, 3], &want);
    }
}

/// `log_softmax = x - logsumexp(x)` along each axis.
pub fn log_softmax_values<B: Backend>() {
    for dtype in FLOATS {
        let t = tensor::<B>(&[1.0, 2.0, 3.0, -1.0, 0.0, 0.5], &[2, 3], dtype);
        let mut want: Vec<f64> = host_softmax(&[1.0, 2.0, 3.0])
            .iter()
            .map(|p| p.ln())
            .collect();
        want.extend(host_softmax(&[-1.0, 0.0, 0.5]).iter().map(|p| p.ln()));
        let s = ok("log_softmax", B::log_softmax(&t, 1));
        assert_float::<B>("log_softmax axis 1", &s, dtype, &[2, 3], &want);
        let t = tensor::<B>(&[0.0, 0.0, 3f64.ln(), 0.0], &[2, 2], dtype);
        let s = ok("log_softmax", B::log_softmax(&t, 0));
        let (q, h) = (0.25f64.ln(), 0.5f64.ln());
        assert_float::<B>(
            "log_softmax axis 0 by hand",
            &s,
            dtype,
            &[2, 2],
            &[q, h, 0.75f64.ln(), h],
        );
    }
}

/// Exact GELU against `x * Phi(x)` from tables.
pub fn gelu_values<B: Backend>() {
    let xs = [-1.0, 0.0, 0.5, 1.0, 2.0];
    let phi = [
        0.158_655_253_931_457_05,
        0.5,
        0.691_462_461_274_013_1,
        0.841_344_746_068_542_9,
        0.977_249_868_051_820_8,
    ];
    let want: Vec<f64> = xs.iter().zip(phi).map(|(x, p)| x * p).collect();
    for dtype in FLOATS {
        let g = ok("gelu", B::gelu(&tensor::<B>(&xs, &[5], dtype)));
        let tol = if dtype == DType::F64 {
            1e-12
        } else {
            tolerance(dtype)
        };
        assert_eq!(B::dtype(&g), dtype, "gelu dtype");
        assert_tensor::<B>(&format!("gelu ({dtype})"), &g, &[5], &want, tol);
    }
}

/// Tanh-approximated GELU against its formula.
pub fn gelu_tanh_values<B: Backend>() {
    unary_case::<B>("gelu_tanh", B::gelu_tanh, &XS, gelu_tanh);
}

/// `silu = x * sigmoid(x)`.
pub fn silu_values<B: Backend>() {
    unary_case::<B>("silu", B::silu, &XS, |x| x * sigmoid(x));
}

/// `elu` with two alphas, and `selu` with Keras' constants.
pub fn elu_selu_values<B: Backend>() {
    unary_case::<B>("elu(1)", |t| B::elu(t, 1.0), &XS, |x| elu(x, 1.0));
    unary_case::<B>("elu(0.5)", |t| B::elu(t, 0.5), &XS, |x| elu(x, 0.5));
    unary_case::<B>("selu", B::selu, &XS, |x| SELU_SCALE * elu(x, SELU_ALPHA));
}

/// `leaky_relu` by hand.
pub fn leaky_relu_values<B: Backend>() {
    unary_case::<B>(
        "leaky_relu(0.2)",
        |t| B::leaky_relu(t, 0.2),
        &[-5.0, -0.5, 0.0, 1.5],
        |x| {
            if x >= 0.0 {
                x
            } else {
                0.2 * x
            }
        },
    );
}

/// Cross-entropy of integer labels: `logsumexp(row) - row[label]`.
pub fn cross_entropy_values<B: Backend>() {
    let e = std::f64::consts::E;
    let want = [
        (e + e * e + e * e * e).ln() - 3.0,
        3f64.ln(),
        (e + e * e + e * e * e).ln() - 1.0,
    ];
    let labels = i64s::<B>(&[2, 0, 0], &[3]);
    for dtype in FLOATS {
        let logits = tensor::<B>(
            &[1.0, 2.0, 3.0, 1.0, 1.0, 1.0, 1.0, 2.0, 3.0],
            &[3, 3],
            dtype,
        );
        let l = ok(
            "sparse_softmax_cross_entropy",
            B::sparse_softmax_cross_entropy(&logits, &labels),
        );
        assert_float::<B>("sparse_softmax_cross_entropy", &l, dtype, &[3], &want);
    }
}

/// Large magnitudes give exact limits, never NaN or infinity.
pub fn stability_large_magnitudes<B: Backend>() {
    let ln2 = std::f64::consts::LN_2;
    for dtype in FLOATS {
        let t = |v: &[f64], s: &[usize]| tensor::<B>(v, s, dtype);
        let big = t(&[-1000.0, 1000.0], &[2]);
        let s = ok("sigmoid", B::sigmoid(&big));
        assert_float::<B>("sigmoid(+-1000)", &s, dtype, &[2], &[0.0, 1.0]);
        let s = ok("softplus", B::softplus(&big));
        assert_float::<B>("softplus(+-1000)", &s, dtype, &[2], &[0.0, 1000.0]);
        let s = ok("log_sigmoid", B::log_sigmoid(&big));
        assert_float::<B>("log_sigmoid(+-1000)", &s, dtype, &[2], &[-1000.0, 0.0]);
        let s = ok("silu", B::silu(&big));
        assert_float::<B>("silu(+-1000)", &s, dtype, &[2], &[0.0, 1000.0]);
        let s = ok("elu", B::elu(&big, 1.0));
        assert_float::<B>("elu(+-1000)", &s, dtype, &[2], &[-1.0, 1000.0]);
        let s = ok("gelu", B::gelu(&big));
        assert_float::<B>("gelu(+-1000)", &s, dtype, &[2], &[0.0, 1000.0]);
        let s = ok("gelu_tanh", B::gelu_tanh(&big));
        assert_float::<B>("gelu_tanh(+-1000)", &s, dtype, &[2], &[0.0, 1000.0]);
        let l = t(&[1000.0, 0.0, -1000.0, 1000.0, 1000.0, 0.0], &[2, 3]);
        let s = ok("softmax", B::softmax(&l, 1));
        assert_float::<B>(
            "softmax large logits",
            &s,
            dtype,
            &[2, 3],
            &[1.0, 0.0, 0.0, 0.5, 0.5, 0.0],
        );
        let s = ok("log_softmax", B::log_softmax(&l, 1));
        assert_float::<B>(
            "log_softmax large logits",
            &s,
            dtype,
            &[2, 3],
            &[0.0, -1000.0, -2000.0, -ln2, -ln2, -1000.0 - ln2],
        );
        let s = ok(
            "logsumexp",
            B::logsumexp(
                &t(&[1000.0, 1000.0, -1000.0, -1000.0], &[2, 2]),
                &[1],
                false,
            ),
        );
        assert_float::<B>(
            "logsumexp large",
            &s,
            dtype,
            &[2],
            &[1000.0 + ln2, -1000.0 + ln2],
        );
        let labels = i64s::<B>(&[1, 0], &[2]);
        let s = ok(
            "ce",
            B::sparse_softmax_cross_entropy(&t(&[1000.0, 0.0, 0.0, 1000.0], &[2, 2]), &labels),
        );
        assert_float::<B>(
            "sparse_softmax_cross_entropy large logits",
            &s,
            dtype,
            &[2],
            &[1000.0, 1000.0],
        );
    }
    // Gradients at large logits are finite: d/dx sum(log_softmax(x) * w) = w - softmax(x) sum(w).
    let x = ok("param", B::param(&f64s::<B>(&[1000.0, 0.0], &[1, 2])));
    let w = f64s::<B>(&[1.0, 2.0], &[1, 2]);
    let loss = ok(
        "sum",
        B::sum(
            &ok("mul", B::mul(&ok("log_softmax", B::log_softmax(&x, 1)), &w)),
            &[0, 1],
            false,
        ),
    );
    let g = ok("grad", B::grad(&loss, std::slice::from_ref(&x)));
    assert_float::<B>(
        "log_softmax grad at large logits",
        g[0].as_ref().expect("grad"),
        DType::F64,
        &[1, 2],
        &[-2.0, 2.0],
    );
    let x = ok("param", B::param(&f64s::<B>(&[-1000.0, 1000.0], &[2])));
    let loss = ok("sum", B::sum(&ok("sigmoid", B::sigmoid(&x)), &[0], false));
    let g = ok("grad", B::grad(&loss, std::slice::from_ref(&x)));
    assert_float::<B>(
        "sigmoid grad at +-1000",
        g[0].as_ref().expect("grad"),
        DType::F64,
        &[2],
        &[0.0, 0.0],
    );
}

/// Gradients of every activation, away from kinks.
pub fn activation_grads<B: Backend>() {
    let table: [(&str, UnOp<B>); 6] = [
        ("sigmoid", B::sigmoid),
        ("softplus", B::softplus),
        ("log_sigmoid", B::log_sigmoid),
        ("gelu", B::gelu),
        ("gelu_tanh", B::gelu_tanh),
        ("silu", B::silu),
    ];
    for (k, (op, f)) in table.into_iter().enumerate() {
        check_grad::<B>(op, &[input(&[2, 4], pseudo(8, 200 + k as u64))], |x| {
            f(&x[0])
        });
    }
    check_grad::<B>("selu", &[input(&[2, 4], pseudo(8, 210))], |x| {
        B::selu(&x[0])
    });
    check_grad::<B>("elu", &[input(&[2, 4], pseudo(8, 211))], |x| {
        B::elu(&x[0], 0.7)
    });
    check_grad::<B>("leaky_relu", &[input(&[2, 4], pseudo(8, 212))], |x| {
        B::leaky_relu(&x[0], 0.1)
    });
}

/// Gradients of `softmax`, `log_softmax` (both axes) and `logsumexp`.
pub fn softmax_family_grads<B: Backend>() {
    for axis in [0, 1] {
        let x = || [input(&[3, 4], pseudo(12, 220 + axis as u64))];
        check_grad::<B>(&format!("softmax axis {axis}"), &x(), |x| {
            B::softmax(&x[0], axis)
        });
        check_grad::<B>(&format!("log_softmax axis {axis}"), &x(), |x| {
            B::log_softmax(&x[0], axis)
        });
    }
    let x = || [input(&[2, 3, 2], pseudo(12, 225))];
    check_grad::<B>("logsumexp [1]", &x(), |x| B::logsumexp(&x[0], &[1], false));
    check_grad::<B>("logsumexp [0,2] keepdim", &x(), |x| {
        B::logsumexp(&x[0], &[0, 2], true)
    });
    check_grad::<B>("logsumexp all", &x(), |x| {
        B::logsumexp(&x[0], &[0, 1, 2], false)
    });
}

/// Gradient of cross-entropy with respect to the logits, by finite differences and in closed
/// form (`softmax(logits) - one_hot(labels)` per row).
pub fn cross_entropy_grad<B: Backend>() {
    let labels = i64s::<B>(&[1, 3, 0], &[3]);
    check_grad::<B>(
        "sparse_softmax_cross_entropy",
        &[input(&[3, 4], pseudo(12, 230))],
        |x| B::sparse_softmax_cross_entropy(&x[0], &labels),
    );
    let x = ok("param", B::param(&f64s::<B>(&[0.0, 3f64.ln()], &[1, 2])));
    let ce = ok(
        "ce",
        B::sparse_softmax_cross_entropy(&x, &i64s::<B>(&[1], &[1])),
    );
    let loss = ok("sum", B::sum(&ce, &[0], false));
    let g = ok("grad", B::grad(&loss, std::slice::from_ref(&x)));
    assert_float::<B>(
        "cross-entropy grad by hand",
        g[0].as_ref().expect("grad"),
        DType::F64,
        &[1, 2],
        &[0.25, -0.25],
    );
}
