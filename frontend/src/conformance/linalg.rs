//! Conformance of [`LinalgOps`](crate::backend::LinalgOps): batched matmul with broadcast
//! batch axes.

use super::*;

/// Host reference: `[..., m, k] x [..., k, n]` with broadcast batch axes.
pub fn host_matmul(a: &[f64], sa: &[usize], b: &[f64], sb: &[usize]) -> (Vec<f64>, Vec<usize>) {
    let (m, k) = (sa[sa.len() - 2], sa[sa.len() - 1]);
    let (k2, n) = (sb[sb.len() - 2], sb[sb.len() - 1]);
    assert_eq!(k, k2, "host_matmul: inner dimensions");
    let ba = &sa[..sa.len() - 2];
    let bb = &sb[..sb.len() - 2];
    let batch = broadcast_shape(ba, bb).expect("host_matmul: batch shapes");
    let nb: usize = batch.iter().product();
    let mut out = vec![0.0; nb * m * n];
    for bi in 0..nb {
        let idx = unravel(bi, &batch);
        let oa = broadcast_source(&idx, ba) * m * k;
        let ob = broadcast_source(&idx, bb) * k * n;
        for i in 0..m {
            for j in 0..n {
                out[(bi * m + i) * n + j] =
                    (0..k).map(|p| a[oa + i * k + p] * b[ob + p * n + j]).sum();
            }
        }
    }
    let mut shape = batch;
    shape.extend([m, n]);
    (out, shape)
}

/// Checks `matmul` of the operands `a` and `b` in each of `dtypes`: a tensor of `shape`
/// holding `want`.
fn matmul_case<B: Backend>(
    label: &str,
    dtypes: &[DType],
    a: Operand,
    b: Operand,
    shape: &[usize],
    want: &[f64],
) {
    check_op::<B>(label, dtypes, &[a, b], shape, want, |t| {
        B::matmul(&t[0], &t[1])
    });
}

/// A `[2, 3] x [3, 2]` product by hand.
pub fn matmul_2d<B: Backend>() {
    let a: Operand = (&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let b: Operand = (&[7.0, 8.0, 9.0, 10.0, 11.0, 12.0], &[3, 2]);
    let want = [58.0, 64.0, 139.0, 154.0];
    matmul_case::<B>("matmul [2,3]x[3,2]", &FLOATS, a, b, &[2, 2], &want);
    let a: Operand = (&[1.0, 2.0], &[1, 2]);
    let b: Operand = (&[3.0, 4.0], &[2, 1]);
    matmul_case::<B>("matmul [1,2]x[2,1]", &[DType::F32], a, b, &[1, 1], &[11.0]);
    let want = [3.0, 6.0, 4.0, 8.0];
    matmul_case::<B>("matmul [2,1]x[1,2]", &[DType::F32], b, a, &[2, 2], &want);
}

/// Batched product with equal batch axes, by hand.
pub fn matmul_batched<B: Backend>() {
    let a: Operand = (&[1.0, 0.0, 0.0, 1.0, 1.0, 2.0, 3.0, 4.0], &[2, 2, 2]);
    let b: Operand = (&[5.0, 6.0, 7.0, 8.0, 1.0, 1.0, 0.0, 1.0], &[2, 2, 2]);
    let want = [5.0, 6.0, 7.0, 8.0, 1.0, 3.0, 3.0, 7.0];
    matmul_case::<B>("matmul batched", &[DType::F32], a, b, &[2, 2, 2], &want);
}

/// Batch axes broadcast: `[2,1,2,3] x [3,3,2]`, `[2,2,3] x [3,2]`, `[2,3] x [4,3,2]`.
pub fn matmul_broadcast_batch<B: Backend>() {
    let cases: [(&[usize], &[usize]); 3] = [
        (&[2, 1, 2, 3], &[3, 3, 2]),
        (&[2, 2, 3], &[3, 2]),
        (&[2, 3], &[4, 3, 2]),
    ];
    for (k, (sa, sb)) in cases.iter().enumerate() {
        let a = pseudo(sa.iter().product(), 90 + k as u64);
        let b = pseudo(sb.iter().product(), 95 + k as u64);
        let (want, shape) = host_matmul(&a, sa, &b, sb);
        let c = ok("matmul", B::matmul(&f64s::<B>(&a, sa), &f64s::<B>(&b, sb)));
        assert_float::<B>(
            &format!("matmul {sa:?} x {sb:?}"),
            &c,
            DType::F64,
            &shape,
            &want,
        );
    }
    // By hand: one left matrix against a batch of two.
    let a: Operand = (&[1.0, 2.0], &[1, 2]);
    let b: Operand = (&[1.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 3.0], &[2, 2, 2]);
    let want = [1.0, 2.0, 2.0, 6.0];
    matmul_case::<B>(
        "matmul [1,2] x [2,2,2]",
        &[DType::F32],
        a,
        b,
        &[2, 1, 2],
        &want,
    );
}

/// Inner-dimension and batch mismatches are errors.
pub fn matmul_inner_mismatch_errs<B: Backend>() {
    let a = f32s::<B>(&[0.0; 6], &[2, 3]);
    let b = f32s::<B>(&[0.0; 4], &[2, 2]);
    assert_err("matmul [2,3] x [2,2]", B::matmul(&a, &b));
    let a = f32s::<B>(&[0.0; 12], &[2, 2, 3]);
    let b = f32s::<B>(&[0.0; 18], &[3, 3, 2]);
    assert_err("matmul [2,2,3] x [3,3,2]", B::matmul(&a, &b));
}

/// Gradient of a 2-D matmul.
pub fn matmul_grad<B: Backend>() {
    check_grad::<B>(
        "matmul",
        &[
            input(&[2, 3], pseudo(6, 100)),
            input(&[3, 4], pseudo(12, 101)),
        ],
        |x| B::matmul(&x[0], &x[1]),
    );
}

/// Gradient of a batched matmul with broadcast batch axes (summed over broadcast ones).
pub fn matmul_broadcast_batch_grad<B: Backend>() {
    check_grad::<B>(
        "matmul broadcast batch",
        &[
            input(&[2, 1, 2, 3], pseudo(12, 102)),
            input(&[3, 3, 2], pseudo(18, 103)),
        ],
        |x| B::matmul(&x[0], &x[1]),
    );
    check_grad::<B>(
        "matmul [2,2,3] x [3,2]",
        &[
            input(&[2, 2, 3], pseudo(12, 104)),
            input(&[3, 2], pseudo(6, 105)),
        ],
        |x| B::matmul(&x[0], &x[1]),
    );
}

/// `matmul_bias` (`x [m, k] x w [k, n] + b [n]`) in every float dtype matches the host
/// product plus the bias on every row, on a `[3, 4] x [4, 5]` case and one with a single
/// row and a single column.
pub fn matmul_bias_values<B: Backend>() {
    for (k, (m, kk, n)) in [(3, 4, 5), (1, 3, 1)].into_iter().enumerate() {
        let x = pseudo(m * kk, 110 + k as u64);
        let w = pseudo(kk * n, 112 + k as u64);
        let b = pseudo(n, 114 + k as u64);
        let (mut want, shape) = host_matmul(&x, &[m, kk], &w, &[kk, n]);
        for (i, v) in want.iter_mut().enumerate() {
            *v += b[i % n];
        }
        check_op::<B>(
            &format!("matmul_bias [{m},{kk}]x[{kk},{n}]+[{n}]"),
            &FLOATS,
            &[(&x, &[m, kk]), (&w, &[kk, n]), (&b, &[n])],
            &shape,
            &want,
            |t| B::matmul_bias(&t[0], &t[1], &t[2]),
        );
    }
}

/// Gradients of `matmul_bias` for the input, the kernel and the bias.
pub fn matmul_bias_grad<B: Backend>() {
    check_grad::<B>(
        "matmul_bias",
        &[
            input(&[3, 4], pseudo(12, 120)),
            input(&[4, 2], pseudo(8, 121)),
            input(&[2], pseudo(2, 122)),
        ],
        |x| B::matmul_bias(&x[0], &x[1], &x[2]),
    );
}

/// A bias of the wrong length, an input of rank 3, inner dimensions that differ and a bias
/// of another dtype are errors.
pub fn matmul_bias_errs<B: Backend>() {
    let x = f32s::<B>(&[0.0; 6], &[2, 3]);
    let w = f32s::<B>(&[0.0; 12], &[3, 4]);
    let b3 = f32s::<B>(&[0.0; 3], &[3]);
    assert_err(
        "matmul_bias, bias [3] for 4 units",
        B::matmul_bias(&x, &w, &b3),
    );
    let x3 = f32s::<B>(&[0.0; 12], &[2, 2, 3]);
    let b = f32s::<B>(&[0.0; 4], &[4]);
    assert_err("matmul_bias, input of rank 3", B::matmul_bias(&x3, &w, &b));
    let w2 = f32s::<B>(&[0.0; 8], &[2, 4]);
    assert_err("matmul_bias, [2,3] x [2,4]", B::matmul_bias(&x, &w2, &b));
    let b64 = f64s::<B>(&[0.0; 4], &[4]);
    assert_err("matmul_bias, f64 bias", B::matmul_bias(&x, &w, &b64));
}

/// `dense_relu` (`max(x [m, k] x w [k, n] (+ b [n]), 0)`) in every float dtype matches the
/// host reference, with and without a bias, on a `[3, 4] x [4, 5]` case (mixed signs
/// before the ReLU) and one with a single row and a single column.
pub fn dense_relu_values<B: Backend>() {
    for (k, (m, kk, n)) in [(3, 4, 5), (1, 3, 1)].into_iter().enumerate() {
        let x = pseudo(m * kk, 130 + k as u64);
        let w = pseudo(kk * n, 132 + k as u64);
        let b = pseudo(n, 134 + k as u64);
        let (product, shape) = host_matmul(&x, &[m, kk], &w, &[kk, n]);
        let relu = |v: f64| v.max(0.0);
        let with_bias: Vec<f64> = (product.iter().enumerate())
            .map(|(i, v)| relu(v + b[i % n]))
            .collect();
        let without: Vec<f64> = product.iter().map(|&v| relu(v)).collect();
        check_op::<B>(
            &format!("dense_relu [{m},{kk}]x[{kk},{n}]+[{n}]"),
            &FLOATS,
            &[(&x, &[m, kk]), (&w, &[kk, n]), (&b, &[n])],
            &shape,
            &with_bias,
            |t| B::dense_relu(&t[0], &t[1], Some(&t[2])),
        );
        check_op::<B>(
            &format!("dense_relu [{m},{kk}]x[{kk},{n}]"),
            &FLOATS,
            &[(&x, &[m, kk]), (&w, &[kk, n])],
            &shape,
            &without,
            |t| B::dense_relu(&t[0], &t[1], None),
        );
    }
}

/// Gradients of `dense_relu` for the input, the kernel and the bias, with and without a
/// bias. The product is small (inputs scaled by 0.1) and the bias alternates between
/// 1.5 and -1.5, so half the units pass the gradient and half block it, each far from
/// the kink that finite differences cannot cross.
pub fn dense_relu_grad<B: Backend>() {
    let small = |n: usize, seed: u64| -> Vec<f64> {
        pseudo(n, seed).into_iter().map(|v| v * 0.1).collect()
    };
    let bias = vec![1.5, -1.5, 1.5, -1.5];
    check_grad::<B>(
        "dense_relu",
        &[
            input(&[3, 3], small(9, 140)),
            input(&[3, 4], small(12, 141)),
            input(&[4], bias.clone()),
        ],
        |x| B::dense_relu(&x[0], &x[1], Some(&x[2])),
    );
    // Without a bias the product's sign decides: the kernel's columns are shifted to
    // make each output column clearly positive or negative.
    let w: Vec<f64> = (small(12, 143).into_iter().enumerate())
        .map(|(i, v)| v + bias[i % 4])
        .collect();
    let x: Vec<f64> = small(9, 142).into_iter().map(|v| v.abs() + 0.5).collect();
    check_grad::<B>(
        "dense_relu without bias",
        &[input(&[3, 3], x), input(&[3, 4], w)],
        |x| B::dense_relu(&x[0], &x[1], None),
    );
}

/// A bias of the wrong length, an input of rank 3, inner dimensions that differ and
/// operands of another dtype are errors, with and without a bias.
pub fn dense_relu_errs<B: Backend>() {
    let x = f32s::<B>(&[0.0; 6], &[2, 3]);
    let w = f32s::<B>(&[0.0; 12], &[3, 4]);
    let b3 = f32s::<B>(&[0.0; 3], &[3]);
    assert_err(
        "dense_relu, bias [3] for 4 units",
        B::dense_relu(&x, &w, Some(&b3)),
    );
    let x3 = f32s::<B>(&[0.0; 12], &[2, 2, 3]);
    assert_err("dense_relu, input of rank 3", B::dense_relu(&x3, &w, None));
    let w2 = f32s::<B>(&[0.0; 8], &[2, 4]);
    assert_err("dense_relu, [2,3] x [2,4]", B::dense_relu(&x, &w2, None));
    let b64 = f64s::<B>(&[0.0; 4], &[4]);
    assert_err("dense_relu, f64 bias", B::dense_relu(&x, &w, Some(&b64)));
    let w64 = f64s::<B>(&[0.0; 12], &[3, 4]);
    assert_err("dense_relu, f64 kernel", B::dense_relu(&x, &w64, None));
}
