//! The matrix product of a dense layer, `x [m, k] @ w [k, n] (+ b [n])`, optionally
//! followed by a ReLU, as one op.
//!
//! Forward: one `gemm` into rows pre-filled with the bias (no zero fill, no separate
//! broadcast add), the ReLU applied in place. Backward: the gradient masked by the ReLU's
//! output, then only the gradients of operands that take part in autograd, the bias's as
//! a row-wise column sum.
//! candle's own matmul backward always computes both operand gradients, so the first
//! layer of every network paid a whole wasted product for the gradient of its input batch
//! (as large as the layer's forward product, and in `gemm`'s slow transposed orientation),
//! and its broadcast add cost a reduction plus a zero-filled buffer and an add per step.

use super::{dispatch_float, gemm_into, Elem};
use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};

/// A 2-D operand of a product: its storage from the first element, its size and strides
/// (already swapped for a transposed operand).
struct Mat<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a, T: Elem> Mat<'a, T> {
    /// The matrix a rank-2 layout describes (its transpose when `t`); errors unless the
    /// storage holds `T` and covers every element the layout addresses.
    fn of(s: &'a CpuStorage, l: &Layout, t: bool, op: &'static str) -> candle_core::Result<Self> {
        let (dims, stride) = (l.dims(), l.stride());
        if dims.len() != 2 {
            return Err(candle_core::Error::Msg(format!(
                "{op}: expected a rank-2 operand, got shape {dims:?}"
            )));
        }
        let all = T::slice(s)?;
        let data = &all[l.start_offset().min(all.len())..];
        if dims[0] * dims[1] > 0
            && (dims[0] - 1) * stride[0] + (dims[1] - 1) * stride[1] >= data.len()
        {
            return Err(candle_core::Error::Msg(format!(
                "{op}: layout {dims:?} / {stride:?} runs past its storage"
            )));
        }
        let (rows, cols, rs, cs) = if t {
            (dims[1], dims[0], stride[1], stride[0])
        } else {
            (dims[0], dims[1], stride[0], stride[1])
        };
        Ok(Self {
            data,
            rows,
            cols,
            rs,
            cs,
        })
    }
}

/// `a @ b (+ bias)` into a new contiguous `[a.rows, b.cols]` buffer, with gemm's threads.
fn product<T: Elem>(
    a: Mat<'_, T>,
    b: Mat<'_, T>,
    bias: Option<(&CpuStorage, &Layout)>,
    op: &'static str,
) -> candle_core::Result<(Vec<T>, Shape)> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k {
        return Err(candle_core::Error::Msg(format!(
            "{op}: inner sizes differ ([{m}, {k}] @ [{}, {n}])",
            b.rows
        )));
    }
    let mut out = match bias {
        Some((s, l)) => {
            if l.dims() != [n] {
                return Err(candle_core::Error::Msg(format!(
                    "{op}: bias of shape {:?} for {n} output columns",
                    l.dims()
                )));
            }
            let data = T::slice(s)?;
            let (o, st) = (l.start_offset(), l.stride()[0]);
            if n > 0 && o + (n - 1) * st >= data.len() {
                return Err(candle_core::Error::Msg(format!(
                    "{op}: bias layout runs past its storage"
                )));
            }
            let row: Vec<T> = (0..n).map(|j| data[o + j * st]).collect();
            let mut out = Vec::with_capacity(m * n);
            for _ in 0..m {
                out.extend_from_slice(&row);
            }
            out
        }
        None => Vec::with_capacity(m * n),
    };
    if m * n > 0 {
        // SAFETY: `Mat::of` checked that every addressed element of `a` and `b` lies in
        // its slice; `out` has room for the contiguous `[m, n]` result. Without a bias,
        // gemm is told not to read the destination: it then only stores, every element
        // (zeros when `k == 0`), so the whole buffer is written before `set_len`.
        unsafe {
            gemm_into::<T>(
                (m, n, k),
                (out.as_mut_ptr(), n),
                bias.is_some(),
                (a.data.as_ptr(), a.rs, a.cs),
                (b.data.as_ptr(), b.rs, b.cs),
                true,
            );
            out.set_len(m * n);
        }
    }
    Ok((out, Shape::from((m, n))))
}

/// `x @ w` (CPU, f32/f64, rank 2, any strides), then `max(., 0)` when `relu`, with a
/// backward pass that skips the gradients nobody asked for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Product {
    relu: bool,
}

/// `x @ w + b`, the same with the bias pre-filled into the result.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Affine {
    relu: bool,
}

/// Elements per rayon task of the ReLU passes.
const RELU_CHUNK: usize = 1 << 14;

/// `max(v, 0)` in place, NaN kept (as torch's `relu` keeps it).
fn relu_in_place<T: Elem>(out: &mut [T]) {
    use rayon::prelude::*;
    out.par_chunks_mut(RELU_CHUNK).for_each(|c| {
        for v in c {
            // False for NaN, which is kept.
            if *v < T::ZERO {
                *v = T::ZERO;
            }
        }
    });
}

/// The gradient through a fused ReLU from its output `y`: `grad` where `y > 0`, else 0
/// (0 at the kink and for NaN, as torch's `threshold_backward`).
#[derive(Clone, Copy, Debug)]
struct ReluMask;

fn relu_mask<T: Elem>(
    y: (&CpuStorage, &Layout),
    grad: (&CpuStorage, &Layout),
) -> candle_core::Result<(CpuStorage, Shape)> {
    super::act::masked_grad::<T>(y, grad, |y| y > T::ZERO)
}

impl CustomOp2 for ReluMask {
    fn name(&self) -> &'static str {
        "relu_backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        dispatch_float!("relu backward", s1, relu_mask((s1, l1), (s2, l2)))
    }
}

/// The output gradient of the product itself: `grad` masked by the ReLU's output `res`
/// when `relu`.
fn through_relu(relu: bool, res: &Tensor, grad: &Tensor) -> candle_core::Result<Tensor> {
    if relu {
        res.apply_op2_no_bwd(&grad.contiguous()?, &ReluMask)
    } else {
        Ok(grad.clone())
    }
}

/// `op(a) @ op(b)` without a backward pass, `op` transposing where asked: the gradient
/// products `g @ w^T` and `x^T @ g`.
#[derive(Clone, Copy, Debug)]
struct Gemm {
    ta: bool,
    tb: bool,
}

impl Gemm {
    fn run<T: Elem>(
        &self,
        (s1, l1): (&CpuStorage, &Layout),
        (s2, l2): (&CpuStorage, &Layout),
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let op = "matmul backward";
        let (out, shape) = product::<T>(
            Mat::of(s1, l1, self.ta, op)?,
            Mat::of(s2, l2, self.tb, op)?,
            None,
            op,
        )?;
        Ok((T::storage(out), shape))
    }
}

impl CustomOp2 for Gemm {
    fn name(&self) -> &'static str {
        "matmul_backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        dispatch_float!("matmul backward", s1, self.run((s1, l1), (s2, l2)))
    }
}

/// The gradients of `x`, `w` (and `b`) for the output gradient `g`, each only when `want`.
fn backward(
    x: &Tensor,
    w: &Tensor,
    grad: &Tensor,
    want: [bool; 3],
) -> candle_core::Result<[Option<Tensor>; 3]> {
    let dx = if want[0] {
        Some(grad.apply_op2_no_bwd(
            w,
            &Gemm {
                ta: false,
                tb: true,
            },
        )?)
    } else {
        None
    };
    let dw = if want[1] {
        Some(x.apply_op2_no_bwd(
            grad,
            &Gemm {
                ta: true,
                tb: false,
            },
        )?)
    } else {
        None
    };
    let db = if want[2] {
        Some(grad.apply_op1_no_bwd(&ColumnSum)?)
    } else {
        None
    };
    Ok([dx, dw, db])
}

/// The column sums of a `[m, n]` matrix (the bias gradient), row by row so that the
/// loop vectorizes; candle's `sum(0)` walks the matrix a column at a time.
#[derive(Clone, Copy, Debug)]
struct ColumnSum;

/// Rows per rayon task of [`ColumnSum`].
const SUM_ROWS: usize = 64;

fn column_sum<T: Elem>(s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
    let g = Mat::of(s, l, false, "bias gradient")?;
    let (m, n) = (g.rows, g.cols);
    let row_sums = |rows: std::ops::Range<usize>| {
        let mut acc = vec![T::ZERO; n];
        for i in rows {
            let row = &g.data[i * g.rs..];
            if g.cs == 1 {
                for (a, &v) in acc.iter_mut().zip(&row[..n]) {
                    *a += v;
                }
            } else {
                for (j, a) in acc.iter_mut().enumerate() {
                    *a += row[j * g.cs];
                }
            }
        }
        acc
    };
    let sums = if m * n < 1 << 16 || m <= SUM_ROWS {
        row_sums(0..m)
    } else {
        use rayon::prelude::*;
        (0..m.div_ceil(SUM_ROWS))
            .into_par_iter()
            .map(|c| row_sums(c * SUM_ROWS..((c + 1) * SUM_ROWS).min(m)))
            .reduce(
                || vec![T::ZERO; n],
                |mut a, b| {
                    for (a, b) in a.iter_mut().zip(b) {
                        *a += b;
                    }
                    a
                },
            )
    };
    Ok((T::storage(sums), Shape::from(n)))
}

impl candle_core::CustomOp1 for ColumnSum {
    fn name(&self) -> &'static str {
        "bias_gradient"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        dispatch_float!("bias gradient", s, column_sum(s, l))
    }
}

/// `x @ w (+ b)`, then the ReLU when `relu`.
fn affine<T: Elem>(
    x: (&CpuStorage, &Layout),
    w: (&CpuStorage, &Layout),
    b: Option<(&CpuStorage, &Layout)>,
    relu: bool,
) -> candle_core::Result<(CpuStorage, Shape)> {
    let op = "matmul_bias";
    let (mut out, shape) = product::<T>(
        Mat::of(x.0, x.1, false, op)?,
        Mat::of(w.0, w.1, false, op)?,
        b,
        op,
    )?;
    if relu {
        relu_in_place(&mut out);
    }
    Ok((T::storage(out), shape))
}

impl CustomOp2 for Product {
    fn name(&self) -> &'static str {
        "matmul"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        dispatch_float!("matmul", s1, affine((s1, l1), (s2, l2), None, self.relu))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = through_relu(self.relu, res, grad)?;
        let [dx, dw, _] = backward(x, w, &grad, [x.track_op(), w.track_op(), false])?;
        Ok((dx, dw))
    }
}

impl CustomOp3 for Affine {
    fn name(&self) -> &'static str {
        "matmul_bias"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        dispatch_float!(
            "matmul_bias",
            s1,
            affine((s1, l1), (s2, l2), Some((s3, l3)), self.relu)
        )
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let want = [x.track_op(), w.track_op(), b.track_op()];
        let grad = through_relu(self.relu, res, grad)?;
        let [dx, dw, db] = backward(x, w, &grad, want)?;
        Ok((dx, dw, db))
    }
}

/// `x [m, k] @ w [k, n] (+ b [n])`, then `max(., 0)` when `relu`, for rank-2 f32/f64
/// CPU tensors of one dtype.
pub(crate) fn dense(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    relu: bool,
) -> candle_core::Result<Tensor> {
    match b {
        Some(b) => x.apply_op3(w, b, Affine { relu }),
        None => x.apply_op2(w, Product { relu }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn mat(rows: usize, cols: usize, seed: f32) -> Tensor {
        let v: Vec<f32> = (0..rows * cols)
            .map(|i| ((i as f32 * 0.37 + seed).sin() * 2.0).round() / 4.0)
            .collect();
        Tensor::from_vec(v, (rows, cols), &Device::Cpu).unwrap()
    }

    fn close(a: &Tensor, b: &Tensor) {
        let d = (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(d < 1e-5, "differ by {d}");
    }

    /// Values and gradients match candle's own matmul + broadcast add, for contiguous and
    /// transposed operands; the input gradient is skipped for an input that does not track.
    #[test]
    fn matches_candle_and_skips_untracked_gradients() {
        for transposed in [false, true] {
            let x = mat(5, 7, 0.1);
            // The kernel variable, used as is or through a transposed view of its storage.
            let (wv, w) = if transposed {
                let wv = Var::from_tensor(&mat(3, 7, 0.5)).unwrap();
                let w = wv.as_tensor().t().unwrap();
                (wv, w)
            } else {
                let wv = Var::from_tensor(&mat(7, 3, 0.5)).unwrap();
                let w = wv.as_tensor().clone();
                (wv, w)
            };
            let b = Var::from_tensor(&mat(1, 3, 0.9).flatten_all().unwrap()).unwrap();
            let fused = dense(&x, &w, Some(b.as_tensor()), false).unwrap();
            let plain = x.matmul(&w).unwrap().broadcast_add(b.as_tensor()).unwrap();
            close(&fused, &plain);
            let gf = (fused.sqr().unwrap())
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let gp = (plain.sqr().unwrap())
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            close(
                gf.get(wv.as_tensor()).unwrap(),
                gp.get(wv.as_tensor()).unwrap(),
            );
            close(
                gf.get(b.as_tensor()).unwrap(),
                gp.get(b.as_tensor()).unwrap(),
            );
            assert!(gf.get(&x).is_none(), "no gradient for an untracked input");
            let (dx, dw, db) = (Affine { relu: false })
                .bwd(&x, &w, b.as_tensor(), &fused, &fused.ones_like().unwrap())
                .unwrap();
            assert!(dx.is_none() && dw.is_some() && db.is_some());
        }
    }

    /// The bias gradient matches candle's `sum(0)` on the serial and the parallel path,
    /// for contiguous and transposed matrices.
    #[test]
    fn column_sums_match_candle() {
        for (m, n) in [(5, 3), (300, 300), (1000, 70)] {
            let g = mat(m, n, 0.2);
            close(&g.apply_op1_no_bwd(&ColumnSum).unwrap(), &g.sum(0).unwrap());
            let gt = mat(n, m, 0.4).t().unwrap();
            close(
                &gt.apply_op1_no_bwd(&ColumnSum).unwrap(),
                &gt.sum(0).unwrap(),
            );
        }
    }

    /// The input gradient, when the input tracks, matches candle's.
    #[test]
    fn input_gradient_matches_candle() {
        let x = Var::from_tensor(&mat(4, 6, 0.3)).unwrap();
        let w = mat(6, 2, 0.7);
        let y = dense(x.as_tensor(), &w, None, false).unwrap();
        close(&y, &x.as_tensor().matmul(&w).unwrap());
        let g = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let r = x
            .as_tensor()
            .matmul(&w)
            .unwrap()
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        close(g.get(x.as_tensor()).unwrap(), r.get(x.as_tensor()).unwrap());
        assert!(g.get(&w).is_none());
    }
}
