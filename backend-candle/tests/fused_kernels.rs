//! The fused CPU kernels (im2col convolution, max pooling, LSTM, ReLU) against candle's own
//! ops and the frontend's unrolled LSTM, in f32 at sizes and layouts the layers use
//! (channels-last views, bench-like sequence lengths), values and gradients.

use stratanet_candle::candle_core::{self, DType, Device, Tensor, Var};
use stratanet_candle::Candle;
use stratanet_frontend::backend::{lstm_unrolled, Conv2dParams, MathOps, NnOps, RnnOps};

type R = Result<(), Box<dyn std::error::Error>>;

/// Deterministic values in `[-scale, scale)`.
fn pseudo(shape: &[usize], seed: u64, scale: f32) -> candle_core::Result<Var> {
    let n: usize = shape.iter().product();
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect();
    Var::from_tensor(&Tensor::from_vec(v, shape, &Device::Cpu)?)
}

fn flat(t: &Tensor) -> candle_core::Result<Vec<f32>> {
    t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()
}

fn assert_close(what: &str, a: &Tensor, b: &Tensor, tol: f32) -> R {
    assert_eq!(a.dims(), b.dims(), "{what}: shapes");
    let (a, b) = (flat(a)?, flat(b)?);
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "{what}: element {i}: {x} vs {y}"
        );
    }
    Ok(())
}

/// A fixed weighting of `t`'s elements summed: a scalar loss that sees every element.
fn weighted_sum(t: &Tensor, seed: u64) -> candle_core::Result<Tensor> {
    let w = pseudo(t.dims(), seed, 1.0)?;
    (t * w.as_tensor())?.sum_all()
}

#[test]
fn lstm_fused_matches_unrolled_values_and_gradients() -> R {
    let (n, t, d, u) = (5, 50, 7, 6);
    let vars = [
        pseudo(&[n, t, d], 1, 2.0)?,
        pseudo(&[n, u], 2, 0.5)?,
        pseudo(&[n, u], 3, 0.5)?,
        pseudo(&[d, 4 * u], 4, 0.8)?,
        pseudo(&[u, 4 * u], 5, 0.8)?,
        pseudo(&[4 * u], 6, 0.3)?,
    ];
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let fused = Candle::lstm_sequence(&ts[0], &ts[1], &ts[2], &ts[3], &ts[4], Some(&ts[5]))?;
    let unrolled = lstm_unrolled::<Candle>(&ts[0], &ts[1], &ts[2], &ts[3], &ts[4], Some(&ts[5]))?;
    let mut grads = Vec::new();
    for (name, (out, h, c)) in [("fused", &fused), ("unrolled", &unrolled)] {
        assert_eq!(out.dims(), [n, t, u], "{name}");
        let loss = (weighted_sum(out, 10)? + weighted_sum(h, 11)?)?;
        let loss = (loss + weighted_sum(c, 12)?)?;
        grads.push(loss.backward()?);
    }
    assert_close("outputs", &fused.0, &unrolled.0, 1e-5)?;
    assert_close("h_T", &fused.1, &unrolled.1, 1e-5)?;
    assert_close("c_T", &fused.2, &unrolled.2, 1e-5)?;
    let names = ["x", "h0", "c0", "kernel", "recurrent_kernel", "bias"];
    for (v, name) in vars.iter().zip(names) {
        let a = grads[0].get(v.as_tensor()).ok_or("no fused gradient")?;
        let b = grads[1].get(v.as_tensor()).ok_or("no unrolled gradient")?;
        assert_close(&format!("gradient of {name}"), a, b, 1e-4)?;
    }
    Ok(())
}

#[test]
fn conv2d_on_channels_last_views_matches_candle() -> R {
    // (stride, padding, dilation) candle's own conv2d takes for both axes, on sizes whose
    // every row and column is read (candle's backward needs that; see `nn.rs`).
    for (k, (stride, pad, dil)) in [(1, 0, 1), (2, 1, 1), (1, 2, 2)].into_iter().enumerate() {
        let seed = 20 + 10 * k as u64;
        let (n, h, w, c, o) = (3, 9, 7, 5, 4);
        let x_nhwc = pseudo(&[n, h, w, c], seed, 1.0)?;
        let k_hwio = pseudo(&[3, 3, c, o], seed + 1, 0.5)?;
        let b = pseudo(&[o], seed + 2, 0.5)?;
        // As the layers pass them: permuted views of channels-last storage.
        let x = x_nhwc.as_tensor().permute((0, 3, 1, 2))?;
        let wt = k_hwio.as_tensor().permute((3, 2, 0, 1))?;
        let p = Conv2dParams {
            stride: [stride; 2],
            padding: [(pad, pad); 2],
            dilation: [dil; 2],
            groups: 1,
        };
        let fused = Candle::conv2d_bias(&x, &wt, Some(b.as_tensor()), p)?;
        let reference = x
            .contiguous()?
            .conv2d(&wt.contiguous()?, pad, stride, dil, 1)?
            .broadcast_add(&b.as_tensor().reshape((1, o, 1, 1))?)?;
        assert_close("conv2d values", &fused, &reference, 1e-5)?;
        let ga = weighted_sum(&fused, seed + 3)?.backward()?;
        let gb = weighted_sum(&reference, seed + 3)?.backward()?;
        for (v, name) in [(&x_nhwc, "input"), (&k_hwio, "kernel"), (&b, "bias")] {
            let a = ga.get(v.as_tensor()).ok_or("no fused gradient")?;
            let r = gb.get(v.as_tensor()).ok_or("no reference gradient")?;
            assert_close(&format!("conv2d gradient of {name}"), a, r, 1e-4)?;
        }
    }
    Ok(())
}

#[test]
fn max_pool_channels_last_view_equals_contiguous() -> R {
    for (kernel, stride) in [([2, 2], [2, 2]), ([3, 2], [2, 1])] {
        let x_nhwc = pseudo(&[2, 7, 6, 3], 40, 1.0)?;
        let x_nchw = Var::from_tensor(&x_nhwc.as_tensor().permute((0, 3, 1, 2))?.contiguous()?)?;
        let view = x_nhwc.as_tensor().permute((0, 3, 1, 2))?;
        let a = Candle::max_pool2d(&view, kernel, stride)?;
        let b = Candle::max_pool2d(x_nchw.as_tensor(), kernel, stride)?;
        assert_close("max_pool2d values", &a, &b, 0.0)?;
        let ga = weighted_sum(&a, 41)?.backward()?;
        let gb = weighted_sum(&b, 41)?.backward()?;
        let da = ga.get(x_nhwc.as_tensor()).ok_or("no gradient")?;
        let db = gb.get(x_nchw.as_tensor()).ok_or("no gradient")?;
        assert_close("max_pool2d gradient", &da.permute((0, 3, 1, 2))?, db, 0.0)?;
        // Each window's gradient lands on one element: the sum of the input gradient is
        // the sum of the output gradient.
        let w = pseudo(a.dims(), 41, 1.0)?;
        let total = w.as_tensor().sum_all()?.to_scalar::<f32>()?;
        let got = db.sum_all()?.to_scalar::<f32>()?;
        assert!((total - got).abs() < 1e-4, "{total} vs {got}");
    }
    Ok(())
}

#[test]
fn relu_keeps_nan_and_passes_gradient_where_not_negative() -> R {
    let x = Var::from_tensor(&Tensor::new(&[-1.0f32, 0.0, 2.0, f32::NAN], &Device::Cpu)?)?;
    let y = Candle::relu(x.as_tensor())?;
    let v = y.to_vec1::<f32>()?;
    assert_eq!(&v[..3], &[0.0, 0.0, 2.0]);
    assert!(v[3].is_nan());
    let g = (y * Tensor::new(&[3.0f32, 5.0, 7.0, 11.0], &Device::Cpu)?)?
        .sum_all()?
        .backward()?;
    let d = g
        .get(x.as_tensor())
        .ok_or("no gradient")?
        .to_vec1::<f32>()?;
    assert_eq!(d, [0.0, 5.0, 7.0, 11.0]);
    Ok(())
}
