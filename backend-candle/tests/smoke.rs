//! Quick checks of the candle backend (the full suite is `tests/conformance.rs`).

use stratanet_candle::candle_core::{self, Tensor};
use stratanet_candle::Candle;
use stratanet_frontend::backend::{
    AutogradOps, BackendBase, CompareOps, Conv1dParams, Conv2dParams, CreationOps, DType, HostData,
    LinalgOps, MathOps, NnOps, ReduceOps, ShapeOps,
};
use stratanet_frontend::conformance::nn::host_conv2d;

type R = stratanet_frontend::Result<()>;

fn dev() -> candle_core::Device {
    candle_core::Device::Cpu
}

fn f64s(v: &[f64], shape: &[usize]) -> Tensor {
    Candle::from_host(HostData::F64(v.to_vec()), shape, &dev()).expect("from_host")
}

fn host(t: &Tensor) -> Vec<f64> {
    Candle::to_host(t).expect("to_host").to_f64_vec()
}

fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-9 * (1.0 + y.abs()), "{a:?} vs {b:?}");
    }
}

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

#[test]
fn add_broadcasts() -> R {
    let a = f64s(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
    let b = f64s(&[10., 20., 30.], &[3]);
    let c = Candle::add(&a, &b)?;
    assert_eq!(Candle::shape(&c), vec![2, 3]);
    close(&host(&c), &[11., 22., 33., 14., 25., 36.]);
    let col = f64s(&[1., 2.], &[2, 1]);
    assert_eq!(Candle::shape(&Candle::mul(&col, &b)?), vec![2, 3]);
    assert!(Candle::add(&a, &f64s(&[1., 2.], &[2])).is_err());
    let i = Candle::from_host(HostData::I64(vec![1, 2, 3]), &[3], &dev())?;
    assert!(matches!(
        Candle::add(&b, &i),
        Err(stratanet_frontend::Error::DType { .. })
    ));
    Ok(())
}

#[test]
fn matmul_batched_and_strided() -> R {
    let a = f64s(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
    let b = f64s(&[1., 0., 0., 1., 1., 1.], &[3, 2]);
    close(&host(&Candle::matmul(&a, &b)?), &[4., 5., 10., 11.]);
    // Batched lhs against a shared rhs, and a permuted (strided) operand.
    let a3 = f64s(&values(24, 1), &[2, 3, 4]);
    let p = Candle::permute(&a3, &[1, 0, 2])?; // [3, 2, 4], not contiguous
    let w = f64s(&values(8, 2), &[4, 2]);
    let y = Candle::matmul(&p, &w)?;
    let y_ref = Candle::matmul(&Candle::contiguous(&p)?, &w)?;
    assert_eq!(Candle::shape(&y), vec![3, 2, 2]);
    close(&host(&y), &host(&y_ref));
    let bad = Candle::matmul(&a, &a).unwrap_err().to_string();
    assert!(bad.contains("[2, 3]"), "{bad}");
    Ok(())
}

#[test]
fn grad_of_sum_of_squares() -> R {
    let x = Candle::param(&f64s(&[1., -2., 3.], &[3]))?;
    assert!(Candle::is_param(&x));
    let loss = Candle::sum(&Candle::mul(&x, &x)?, &[0], false)?;
    let g = Candle::grad(&loss, std::slice::from_ref(&x))?;
    close(&host(g[0].as_ref().expect("gradient")), &[2., -4., 6.]);
    let unused = Candle::param(&f64s(&[1.], &[1]))?;
    let g = Candle::grad(&loss, &[unused])?;
    assert!(g[0].is_none());
    assert!(Candle::grad(&Candle::mul(&x, &x)?, &[x]).is_err());
    Ok(())
}

#[test]
fn assign_keeps_identity() -> R {
    let p = Candle::param(&f64s(&[1., 2., 3., 4.], &[2, 2]))?;
    let alias = p.clone();
    let y = Candle::affine(&p, 2.0, 0.0)?;
    Candle::assign(&p, &y)?;
    close(&host(&alias), &[2., 4., 6., 8.]);
    assert!(Candle::is_param(&alias));
    // A value sharing the parameter's storage.
    let view = Candle::reshape(&p, &[2, 2])?;
    Candle::assign(&p, &Candle::permute(&view, &[1, 0])?)?;
    close(&host(&alias), &[2., 6., 4., 8.]);
    Candle::assign(&p, &Candle::reshape(&p, &[2, 2])?)?;
    close(&host(&alias), &[2., 6., 4., 8.]);
    // Rank 0.
    let s = Candle::param(&f64s(&[1.], &[]))?;
    let s2 = s.clone();
    Candle::assign(&s, &f64s(&[5.], &[]))?;
    close(&host(&s2), &[5.]);
    assert!(Candle::assign(&p, &f64s(&[1., 2.], &[2])).is_err());
    // The gradient still reaches the updated parameter.
    let loss = Candle::sum(&Candle::square(&p)?, &[0, 1], false)?;
    let g = Candle::grad(&loss, std::slice::from_ref(&p))?;
    close(&host(g[0].as_ref().expect("gradient")), &[4., 12., 8., 16.]);
    Ok(())
}

#[test]
fn indices_out_of_range_are_errors() -> R {
    let t = f64s(&[1., 2., 3., 4.], &[2, 2]);
    let idx = |v: Vec<i64>, s: &[usize]| Candle::from_host(HostData::I64(v), s, &dev());
    assert!(Candle::index_select(&t, &idx(vec![0, 2], &[2])?, 0).is_err());
    assert!(Candle::index_select(&t, &idx(vec![-1], &[1])?, 1).is_err());
    assert!(Candle::gather(&t, &idx(vec![0, 5], &[2, 1])?, 1).is_err());
    let g = Candle::gather(&t, &idx(vec![1, 0], &[2, 1])?, 1)?;
    close(&host(&g), &[2., 3.]);
    let z = Candle::from_host(HostData::I64(vec![1, 0]), &[2], &dev())?;
    assert!(Candle::div(&z, &z).is_err());
    assert!(Candle::concat(&[f64s(&[1.], &[])], 0).is_err());
    Ok(())
}

#[test]
fn reductions_compare_and_dtypes() -> R {
    let t = f64s(&[1., 5., 5., 0., 2., -1.], &[2, 3]);
    close(&host(&Candle::max(&t, &[0, 1], false)?), &[5.]);
    close(&host(&Candle::min(&t, &[1], true)?), &[1., -1.]);
    close(&host(&Candle::mean(&t, &[0], false)?), &[0.5, 3.5, 2.]);
    let am = Candle::argmax(&t, 1, false)?;
    assert_eq!(Candle::dtype(&am), DType::I64);
    assert_eq!(Candle::to_host(&am)?, HostData::I64(vec![1, 1]));
    let am = Candle::argmin(&f64s(&[3., 1., 1., 2.], &[4]), 0, true)?;
    assert_eq!(Candle::to_host(&am)?, HostData::I64(vec![1]));
    let m = Candle::gt(&t, &f64s(&[1.], &[1]))?;
    assert_eq!(Candle::dtype(&m), DType::Bool);
    let w = Candle::where_cond(&m, &t, &f64s(&[0.], &[]))?;
    close(&host(&w), &[0., 5., 5., 0., 2., 0.]);
    let b = Candle::to_dtype(&f64s(&[0.5, 0., -2.], &[3]), DType::Bool)?;
    assert_eq!(
        Candle::to_host(&b)?,
        HostData::Bool(vec![true, false, true])
    );
    let c = Candle::clamp(&t, 0.0, 2.0)?;
    close(&host(&c), &[1., 2., 2., 0., 2., 0.]);
    Ok(())
}

/// Checks a convolution against the reference, and its gradients against differences.
fn check_conv2d(p: Conv2dParams, xs: [usize; 4], ws: [usize; 4], channels_last: bool) -> R {
    let xv = values(xs.iter().product(), 3);
    let wv = values(ws.iter().product(), 4);
    let x = Candle::param(&f64s(&xv, &xs))?;
    let w = Candle::param(&f64s(&wv, &ws))?;
    // Through an NHWC tensor permuted back, as channels-last layers call it (strided).
    let xin = if channels_last {
        let nhwc = Candle::contiguous(&Candle::permute(&x, &[0, 2, 3, 1])?)?;
        Candle::permute(&nhwc, &[0, 3, 1, 2])?
    } else {
        x.clone()
    };
    let y = Candle::conv2d(&xin, &w, p)?;
    let (yr, ys) = host_conv2d(&xv, &xs, &wv, &ws, p);
    assert_eq!(Candle::shape(&y), ys.to_vec());
    close(&host(&y), &yr);
    // Gradient of sum(y * r) against finite differences (exact: the loss is linear).
    let r = values(yr.len(), 5);
    let loss = Candle::sum(&Candle::mul(&y, &f64s(&r, &ys))?, &[0, 1, 2, 3], false)?;
    let g = Candle::grad(&loss, &[x.clone(), w.clone()])?;
    let gx = host(g[0].as_ref().expect("dx"));
    let gw = host(g[1].as_ref().expect("dw"));
    let f = |xv: &[f64], wv: &[f64]| -> f64 {
        let (y, _) = host_conv2d(xv, &xs, wv, &ws, p);
        y.iter().zip(&r).map(|(a, b)| a * b).sum()
    };
    // Every 7th input element and every 3rd weight, each raised by 1.
    for (what, step, g) in [("dx", 7, &gx), ("dw", 3, &gw)] {
        let n = if what == "dx" { xv.len() } else { wv.len() };
        for k in (0..n).step_by(step) {
            let (mut xp, mut wp) = (xv.clone(), wv.clone());
            if what == "dx" {
                xp[k] += 1.0;
            } else {
                wp[k] += 1.0;
            }
            assert!(
                (f(&xp, &wp) - f(&xv, &wv) - g[k]).abs() < 1e-9,
                "{what}[{k}] {p:?}"
            );
        }
    }
    Ok(())
}

#[test]
fn conv2d_matches_reference_and_differentiates() -> R {
    let p = |stride, padding, dilation, groups| Conv2dParams {
        stride,
        padding,
        dilation,
        groups,
    };
    let (no_pad, one) = ([(0, 0), (0, 0)], [1, 1]);
    check_conv2d(
        p([2, 3], [(1, 0), (2, 1)], [1, 2], 2),
        [2, 4, 7, 8],
        [6, 2, 3, 2],
        false,
    )?;
    // Same stride on both axes, but a column no output reads (cropped).
    check_conv2d(p([2, 2], no_pad, one, 1), [1, 2, 5, 6], [3, 2, 3, 3], true)?;
    check_conv2d(
        p(one, [(1, 1), (1, 1)], one, 1),
        [2, 3, 4, 5],
        [2, 3, 3, 3],
        true,
    )?;
    Ok(())
}

#[test]
fn conv1d_and_transposed_shapes_and_grads() -> R {
    let x = Candle::param(&f64s(&values(2 * 4 * 9, 6), &[2, 4, 9]))?;
    let w = Candle::param(&f64s(&values(6 * 2 * 3, 7), &[6, 2, 3]))?;
    let p = Conv1dParams {
        stride: 2,
        padding: (2, 0),
        dilation: 2,
        groups: 2,
    };
    let y = Candle::conv1d(&x, &w, p)?;
    assert_eq!(Candle::shape(&y), vec![2, 6, 4]);
    // Transposed: [C_in, C_out / groups, K]; out = (L-1)s - pb - pa + d(K-1) + op + 1.
    let wt = Candle::param(&f64s(&values(4 * 3 * 3, 8), &[4, 3, 3]))?;
    let p = Conv1dParams {
        stride: 3,
        padding: (1, 2),
        dilation: 1,
        groups: 2,
    };
    let yt = Candle::conv_transpose1d(&x, &wt, p, 1)?;
    assert_eq!(Candle::shape(&yt), vec![2, 6, 8 * 3 - 3 + 2 + 1 + 1]);
    let loss = Candle::sum(
        &Candle::add(
            &Candle::sum(&y, &[0, 1, 2], false)?,
            &Candle::sum(&yt, &[0, 1, 2], false)?,
        )?,
        &[],
        false,
    )?;
    let g = Candle::grad(&loss, &[x, w, wt])?;
    assert!(g.iter().all(Option::is_some));
    // Transposed 2-D with unequal strides: the adjoint of the forward convolution.
    let x2 = f64s(&values(3 * 4 * 5, 9), &[1, 3, 4, 5]);
    let w2 = f64s(&values(3 * 2 * 3 * 2, 10), &[3, 2, 3, 2]);
    let p2 = Conv2dParams {
        stride: [2, 3],
        padding: [(0, 1), (1, 0)],
        dilation: [1, 2],
        groups: 1,
    };
    let yt2 = Candle::conv_transpose2d(&x2, &w2, p2, [1, 0])?;
    let s = Candle::shape(&yt2);
    assert_eq!(s, vec![1, 2, 3 * 2 + 2 + 1 - 1 + 1, 4 * 3 + 2 - 1 + 1]);
    // <conv_transpose(x), z> == <x, conv(z)> with the kernel read as [C_out=C_in, C_in=C_out].
    let z = f64s(&values(s.iter().product(), 11), &s);
    let lhs: f64 = host(&yt2).iter().zip(host(&z)).map(|(a, b)| a * b).sum();
    let cz = Candle::conv2d(&z, &w2, p2)?;
    assert_eq!(Candle::shape(&cz), vec![1, 3, 4, 5]);
    let rhs: f64 = host(&cz).iter().zip(host(&x2)).map(|(a, b)| a * b).sum();
    assert!((lhs - rhs).abs() < 1e-9, "{lhs} vs {rhs}");
    // The same with groups.
    let x3 = f64s(&values(4 * 4 * 5, 12), &[1, 4, 4, 5]);
    let w3 = f64s(&values(4 * 3 * 2, 13), &[4, 1, 3, 2]);
    let p3 = Conv2dParams { groups: 2, ..p2 };
    let yt3 = Candle::conv_transpose2d(&x3, &w3, p3, [1, 0])?;
    let s3 = Candle::shape(&yt3);
    assert_eq!(s3[1], 2);
    let z3 = f64s(&values(s3.iter().product(), 14), &s3);
    let lhs: f64 = host(&yt3).iter().zip(host(&z3)).map(|(a, b)| a * b).sum();
    let cz3 = Candle::conv2d(&z3, &w3, p3)?;
    let rhs: f64 = host(&cz3).iter().zip(host(&x3)).map(|(a, b)| a * b).sum();
    assert!((lhs - rhs).abs() < 1e-9, "{lhs} vs {rhs}");
    Ok(())
}

#[test]
fn pooling_with_and_without_matching_stride() -> R {
    let x = Candle::param(&f64s(
        &(0..35).map(f64::from).collect::<Vec<_>>(),
        &[1, 1, 5, 7],
    ))?;
    let m = Candle::max_pool2d(&x, [2, 2], [2, 2])?;
    close(&host(&m), &[8., 10., 12., 22., 24., 26.]);
    let m2 = Candle::max_pool2d(&x, [3, 2], [2, 3])?;
    close(&host(&m2), &[15., 18., 29., 32.]);
    let a = Candle::avg_pool2d(&x, [2, 3], [3, 2])?;
    assert_eq!(Candle::shape(&a), vec![1, 1, 2, 3]);
    close(&host(&a), &[4.5, 6.5, 8.5, 25.5, 27.5, 29.5]);
    let loss = Candle::add(
        &Candle::sum(&m, &[0, 1, 2, 3], false)?,
        &Candle::sum(
            &Candle::add(
                &Candle::sum(&m2, &[0, 1, 2, 3], false)?,
                &Candle::sum(&a, &[0, 1, 2, 3], false)?,
            )?,
            &[],
            false,
        )?,
    )?;
    let g = Candle::grad(&loss, std::slice::from_ref(&x))?;
    let g = host(g[0].as_ref().expect("dx"));
    assert!((g[8] - (1.0 + 1.0 / 6.0)).abs() < 1e-12 && (g[15] - 1.0).abs() < 1e-12);
    assert!((g.iter().sum::<f64>() - 16.0).abs() < 1e-9);
    let p1 = Candle::max_pool1d(&f64s(&[1., 3., 2., 5., 4.], &[1, 1, 5]), 2, 1)?;
    close(&host(&p1), &[3., 3., 5., 5.]);
    Ok(())
}

#[test]
fn indexing_grads_with_broadcast_upstream() -> R {
    let x = Candle::param(&f64s(&values(12, 12), &[3, 4]))?;
    let xt = Candle::permute(&x, &[1, 0])?; // strided
    let idx = Candle::from_host(HostData::I64(vec![2, 0, 2]), &[3], &dev())?;
    let s = Candle::index_select(&xt, &idx, 1)?;
    let gi = Candle::from_host(HostData::I64(vec![1, 3, 0]), &[3, 1], &dev())?;
    let g = Candle::gather(&x, &gi, 1)?;
    let loss = Candle::add(
        &Candle::sum(&s, &[0, 1], false)?,
        &Candle::mean(&g, &[0, 1], false)?,
    )?;
    let grads = Candle::grad(&loss, std::slice::from_ref(&x))?;
    let d = host(grads[0].as_ref().expect("dx"));
    let third = 1.0 / 3.0;
    let mut want = vec![0.0; 12];
    for j in 0..4 {
        want[j] = 1.0;
        want[8 + j] = 2.0;
    }
    want[1] += third;
    want[4 + 3] += third;
    want[8] += third;
    close(&d, &want);
    Ok(())
}
