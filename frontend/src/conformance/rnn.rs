//! Recurrent kernels: [`RnnOps`](crate::backend::RnnOps) against a host closed form (plain
//! `f64` loops over time) and finite-difference gradients.

use super::*;

fn sig(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// `x[n, t, :] @ w + b` on the host for `w [d, g]`.
fn host_proj(x: &[f64], w: &[f64], b: Option<&[f64]>, d: usize, g: usize) -> Vec<f64> {
    (0..g)
        .map(|j| {
            let s: f64 = (0..d).map(|k| x[k] * w[k * g + j]).sum();
            s + b.map_or(0.0, |b| b[j])
        })
        .collect()
}

/// Host LSTM in Keras layout: returns (outputs, h, c), flattened.
#[allow(clippy::too_many_arguments)]
fn host_lstm(
    x: &[f64],
    h0: &[f64],
    c0: &[f64],
    k: &[f64],
    rk: &[f64],
    b: Option<&[f64]>,
    (n, t, d, u): (usize, usize, usize, usize),
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut out = vec![0.0; n * t * u];
    let (mut h, mut c) = (h0.to_vec(), c0.to_vec());
    for i in 0..n {
        let (mut hi, mut ci) = (h0[i * u..][..u].to_vec(), c0[i * u..][..u].to_vec());
        for s in 0..t {
            let xp = host_proj(&x[(i * t + s) * d..][..d], k, b, d, 4 * u);
            let hp = host_proj(&hi, rk, None, u, 4 * u);
            let z: Vec<f64> = xp.iter().zip(&hp).map(|(a, b)| a + b).collect();
            for j in 0..u {
                let (ig, fg) = (sig(z[j]), sig(z[u + j]));
                let (gg, og) = (z[2 * u + j].tanh(), sig(z[3 * u + j]));
                ci[j] = fg * ci[j] + ig * gg;
                hi[j] = og * ci[j].tanh();
                out[(i * t + s) * u + j] = hi[j];
            }
        }
        h[i * u..][..u].copy_from_slice(&hi);
        c[i * u..][..u].copy_from_slice(&ci);
    }
    (out, h, c)
}

/// Host GRU (`reset_after = true`) in Keras layout: returns (outputs, h), flattened.
#[allow(clippy::too_many_arguments)]
fn host_gru(
    x: &[f64],
    h0: &[f64],
    k: &[f64],
    rk: &[f64],
    bi: Option<&[f64]>,
    br: Option<&[f64]>,
    (n, t, d, u): (usize, usize, usize, usize),
) -> (Vec<f64>, Vec<f64>) {
    let mut out = vec![0.0; n * t * u];
    let mut h = h0.to_vec();
    for i in 0..n {
        let mut hi = h0[i * u..][..u].to_vec();
        for s in 0..t {
            let xp = host_proj(&x[(i * t + s) * d..][..d], k, bi, d, 3 * u);
            let hp = host_proj(&hi, rk, br, u, 3 * u);
            for j in 0..u {
                let z = sig(xp[j] + hp[j]);
                let r = sig(xp[u + j] + hp[u + j]);
                let cand = (xp[2 * u + j] + r * hp[2 * u + j]).tanh();
                hi[j] = z * hi[j] + (1.0 - z) * cand;
                out[(i * t + s) * u + j] = hi[j];
            }
        }
        h[i * u..][..u].copy_from_slice(&hi);
    }
    (out, h)
}

const DIMS: (usize, usize, usize, usize) = (2, 3, 4, 3);

fn scaled(n: usize, seed: u64, scale: f64) -> Vec<f64> {
    pseudo(n, seed).into_iter().map(|v| v * scale).collect()
}

/// LSTM outputs and final states match the host closed form, with and without a bias, in
/// `f32` and `f64`.
pub fn lstm_sequence_values<B: Backend>() {
    let (n, t, d, u) = DIMS;
    let x = scaled(n * t * d, 1, 0.5);
    let h0 = scaled(n * u, 2, 0.3);
    let c0 = scaled(n * u, 3, 0.3);
    let k = scaled(d * 4 * u, 4, 0.4);
    let rk = scaled(u * 4 * u, 5, 0.4);
    let b = scaled(4 * u, 6, 0.2);
    for dtype in FLOATS {
        for bias in [Some(&b[..]), None] {
            let tt = |v: &[f64], s: &[usize]| tensor::<B>(v, s, dtype);
            let bt = bias.map(|b| tt(b, &[4 * u]));
            let (out, h, c) = ok(
                "lstm_sequence",
                B::lstm_sequence(
                    &tt(&x, &[n, t, d]),
                    &tt(&h0, &[n, u]),
                    &tt(&c0, &[n, u]),
                    &tt(&k, &[d, 4 * u]),
                    &tt(&rk, &[u, 4 * u]),
                    bt.as_ref(),
                ),
            );
            let (wo, wh, wc) = host_lstm(&x, &h0, &c0, &k, &rk, bias, DIMS);
            let name = format!("lstm_sequence {dtype} bias={}", bias.is_some());
            assert_float::<B>(&format!("{name} outputs"), &out, dtype, &[n, t, u], &wo);
            assert_float::<B>(&format!("{name} h"), &h, dtype, &[n, u], &wh);
            assert_float::<B>(&format!("{name} c"), &c, dtype, &[n, u], &wc);
        }
    }
}

/// GRU (`reset_after`) outputs and final state match the host closed form, with both
/// biases, one of them, or none.
pub fn gru_sequence_values<B: Backend>() {
    let (n, t, d, u) = DIMS;
    let x = scaled(n * t * d, 11, 0.5);
    let h0 = scaled(n * u, 12, 0.3);
    let k = scaled(d * 3 * u, 14, 0.4);
    let rk = scaled(u * 3 * u, 15, 0.4);
    let bi = scaled(3 * u, 16, 0.2);
    let br = scaled(3 * u, 17, 0.2);
    for dtype in FLOATS {
        for (bi, br) in [
            (Some(&bi[..]), Some(&br[..])),
            (Some(&bi[..]), None),
            (None, None),
        ] {
            let tt = |v: &[f64], s: &[usize]| tensor::<B>(v, s, dtype);
            let (bit, brt) = (bi.map(|b| tt(b, &[3 * u])), br.map(|b| tt(b, &[3 * u])));
            let (out, h) = ok(
                "gru_sequence",
                B::gru_sequence(
                    &tt(&x, &[n, t, d]),
                    &tt(&h0, &[n, u]),
                    &tt(&k, &[d, 3 * u]),
                    &tt(&rk, &[u, 3 * u]),
                    bit.as_ref(),
                    brt.as_ref(),
                ),
            );
            let (wo, wh) = host_gru(&x, &h0, &k, &rk, bi, br, DIMS);
            let name = format!(
                "gru_sequence {dtype} biases={}/{}",
                bi.is_some(),
                br.is_some()
            );
            assert_float::<B>(&format!("{name} outputs"), &out, dtype, &[n, t, u], &wo);
            assert_float::<B>(&format!("{name} h"), &h, dtype, &[n, u], &wh);
        }
    }
}

/// LSTM gradients with respect to the input, both states, both kernels and the bias match
/// finite differences (through the outputs and the final cell state).
pub fn lstm_sequence_grads<B: Backend>() {
    let (n, t, d, u) = DIMS;
    let inputs = [
        input(&[n, t, d], scaled(n * t * d, 21, 0.5)),
        input(&[n, u], scaled(n * u, 22, 0.3)),
        input(&[n, u], scaled(n * u, 23, 0.3)),
        input(&[d, 4 * u], scaled(d * 4 * u, 24, 0.4)),
        input(&[u, 4 * u], scaled(u * 4 * u, 25, 0.4)),
        input(&[4 * u], scaled(4 * u, 26, 0.2)),
    ];
    check_grad::<B>("lstm_sequence", &inputs, |p| {
        let (out, _, c) = B::lstm_sequence(&p[0], &p[1], &p[2], &p[3], &p[4], Some(&p[5]))?;
        B::concat(&[B::reshape(&out, &[n, t * u])?, c], 1)
    });
}

/// GRU gradients with respect to the input, the state, both kernels and both biases match
/// finite differences.
pub fn gru_sequence_grads<B: Backend>() {
    let (n, t, d, u) = DIMS;
    let inputs = [
        input(&[n, t, d], scaled(n * t * d, 31, 0.5)),
        input(&[n, u], scaled(n * u, 32, 0.3)),
        input(&[d, 3 * u], scaled(d * 3 * u, 34, 0.4)),
        input(&[u, 3 * u], scaled(u * 3 * u, 35, 0.4)),
        input(&[3 * u], scaled(3 * u, 36, 0.2)),
        input(&[3 * u], scaled(3 * u, 37, 0.2)),
    ];
    check_grad::<B>("gru_sequence", &inputs, |p| {
        let (out, _) = B::gru_sequence(&p[0], &p[1], &p[2], &p[3], Some(&p[4]), Some(&p[5]))?;
        Ok(out)
    });
}

/// Shapes that do not fit together are errors, not panics.
pub fn rnn_shape_errors<B: Backend>() {
    let z = |s: &[usize]| tensor::<B>(&vec![0.1; s.iter().product()], s, DType::F32);
    let (x, h) = (z(&[2, 3, 4]), z(&[2, 5]));
    // kernel rows differ from the input features
    assert_err(
        "lstm_sequence kernel",
        B::lstm_sequence(&x, &h, &h, &z(&[3, 20]), &z(&[5, 20]), None),
    );
    // rank-2 input
    assert_err(
        "lstm_sequence x rank",
        B::lstm_sequence(&z(&[2, 4]), &h, &h, &z(&[4, 20]), &z(&[5, 20]), None),
    );
    // state batch differs
    assert_err(
        "gru_sequence h0",
        B::gru_sequence(&x, &z(&[3, 5]), &z(&[4, 15]), &z(&[5, 15]), None, None),
    );
    // bias length
    assert_err(
        "gru_sequence bias",
        B::gru_sequence(&x, &h, &z(&[4, 15]), &z(&[5, 15]), Some(&z(&[12])), None),
    );
}
