//! Conformance of [`OptimOps`](crate::backend::OptimOps): the fused, in-place optimizer
//! steps against Keras' formulas computed on the host in `f64`, the state updated in place,
//! the parameter's identity kept, and bad operands rejected without changing anything.

use super::*;
use crate::backend::{AdamStep, SgdStep};

/// Host Adam (Keras' formula) on `f64` values; returns `(p, m, v, vhat)` after the step.
#[allow(clippy::too_many_arguments)]
fn host_adam(
    p: &[f64],
    g: &[f64],
    m: &[f64],
    v: &[f64],
    vhat: Option<&[f64]>,
    h: &AdamStep,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Option<Vec<f64>>) {
    let n = p.len();
    let (mut po, mut mo, mut vo) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut vho = vhat.map(|_| vec![0.0; n]);
    for i in 0..n {
        mo[i] = m[i] + (g[i] - m[i]) * (1.0 - h.beta_1);
        vo[i] = v[i] + (g[i] * g[i] - v[i]) * (1.0 - h.beta_2);
        let d = match (vhat, vho.as_mut()) {
            (Some(vh), Some(out)) => {
                out[i] = vh[i].max(vo[i]);
                out[i]
            }
            _ => vo[i],
        };
        po[i] = p[i] * h.decay - h.lr_t * mo[i] / (d.sqrt() + h.epsilon);
    }
    (po, mo, vo, vho)
}

/// Host SGD (Keras' formula); returns `(p, velocity)` after the step.
fn host_sgd(p: &[f64], g: &[f64], vel: Option<&[f64]>, h: &SgdStep) -> (Vec<f64>, Vec<f64>) {
    let mut po = Vec::with_capacity(p.len());
    let mut vo = Vec::with_capacity(p.len());
    for i in 0..p.len() {
        let w = p[i] * h.decay;
        match vel {
            Some(v) => {
                let nv = h.momentum * v[i] - h.lr * g[i];
                let upd = if h.nesterov {
                    h.momentum * nv - h.lr * g[i]
                } else {
                    nv
                };
                vo.push(nv);
                po.push(w + upd);
            }
            None => po.push(w - h.lr * g[i]),
        }
    }
    (po, vo)
}

fn tol(dtype: DType) -> f64 {
    tolerance(dtype)
}

/// Three Adam steps (with and without AMSGrad and weight decay, both float dtypes) match
/// the host formula; `m`, `v`, `vhat` and the parameter are updated through the handles
/// given (in place), and the parameter stays a parameter.
pub fn adam_step_values<B: Backend>() {
    let shape = [2, 3];
    for dtype in WIDE_FLOATS {
        for (amsgrad, decay) in [(false, 1.0), (true, 1.0), (false, 0.99), (true, 0.995)] {
            let name = format!("adam_step ({dtype}, amsgrad {amsgrad}, decay {decay})");
            let p0 = pseudo(6, 11);
            let p = ok("param", B::param(&tensor::<B>(&p0, &shape, dtype)));
            let handle = p.clone();
            let zeros = vec![0.0; 6];
            let m = tensor::<B>(&zeros, &shape, dtype);
            let v = tensor::<B>(&zeros, &shape, dtype);
            let vh = tensor::<B>(&zeros, &shape, dtype);
            let (mut hp, mut hm, mut hv, mut hvh) =
                (values::<B>(&p), zeros.clone(), zeros.clone(), zeros.clone());
            for step in 1..=3u64 {
                let gv = pseudo(6, 20 + step);
                let g = tensor::<B>(&gv, &shape, dtype);
                let gv = values::<B>(&g);
                let t = step as f64;
                let h = AdamStep {
                    lr_t: 0.01 * (1.0 - 0.999f64.powf(t)).sqrt() / (1.0 - 0.9f64.powf(t)),
                    beta_1: 0.9,
                    beta_2: 0.999,
                    epsilon: 1e-7,
                    decay,
                };
                let vhat = amsgrad.then_some(&vh);
                ok(&name, B::adam_step(&p, &g, &m, &v, vhat, &h));
                let (np, nm, nv, nvh) =
                    host_adam(&hp, &gv, &hm, &hv, amsgrad.then_some(&hvh[..]), &h);
                let what = format!("{name} step {step}");
                assert_tensor::<B>(&format!("{what}: m"), &m, &shape, &nm, tol(dtype));
                assert_tensor::<B>(&format!("{what}: v"), &v, &shape, &nv, tol(dtype));
                if let Some(nvh) = &nvh {
                    assert_tensor::<B>(&format!("{what}: vhat"), &vh, &shape, nvh, tol(dtype));
                }
                assert_tensor::<B>(&format!("{what}: param"), &handle, &shape, &np, tol(dtype));
                // Continue from the engine's values (as rounded to the dtype).
                hp = values::<B>(&p);
                hm = values::<B>(&m);
                hv = values::<B>(&v);
                hvh = values::<B>(&vh);
            }
            assert_eq!(B::dtype(&p), dtype, "{name}: dtype kept");
            assert!(B::is_param(&handle), "{name}: still a parameter");
            // The parameter still takes part in the graph after in-place steps.
            let loss = ok("sum", B::sum(&ok("mul", B::mul(&p, &p)), &[0, 1], false));
            let g = ok("grad", B::grad(&loss, std::slice::from_ref(&p)));
            let want: Vec<f64> = values::<B>(&p).iter().map(|x| 2.0 * x).collect();
            assert_tensor::<B>(
                &format!("{name}: gradient after the steps"),
                g[0].as_ref().expect("gradient of the parameter"),
                &shape,
                &want,
                tol(dtype),
            );
        }
    }
}

/// SGD steps, plain, with momentum and with Nesterov momentum, with and without weight
/// decay, in both float dtypes, match the host formula; the velocity is updated in place.
pub fn sgd_step_values<B: Backend>() {
    let shape = [4];
    for dtype in WIDE_FLOATS {
        for (momentum, nesterov, decay) in [
            (0.0, false, 1.0),
            (0.0, false, 0.98),
            (0.9, false, 1.0),
            (0.9, true, 1.0),
            (0.5, true, 0.97),
        ] {
            let name = format!(
                "sgd_step ({dtype}, momentum {momentum}, nesterov {nesterov}, decay {decay})"
            );
            let p = ok(
                "param",
                B::param(&tensor::<B>(&pseudo(4, 5), &shape, dtype)),
            );
            let vel = tensor::<B>(&[0.0; 4], &shape, dtype);
            let with_v = momentum > 0.0;
            let (mut hp, mut hv) = (values::<B>(&p), vec![0.0; 4]);
            for step in 1..=3u64 {
                let g = tensor::<B>(&pseudo(4, 40 + step), &shape, dtype);
                let gv = values::<B>(&g);
                let h = SgdStep {
                    lr: 0.1,
                    momentum,
                    nesterov,
                    decay,
                };
                ok(&name, B::sgd_step(&p, &g, with_v.then_some(&vel), &h));
                let (np, nv) = host_sgd(&hp, &gv, with_v.then_some(&hv[..]), &h);
                let what = format!("{name} step {step}");
                assert_tensor::<B>(&format!("{what}: param"), &p, &shape, &np, tol(dtype));
                if with_v {
                    assert_tensor::<B>(&format!("{what}: velocity"), &vel, &shape, &nv, tol(dtype));
                }
                hp = values::<B>(&p);
                hv = values::<B>(&vel);
            }
            assert!(B::is_param(&p), "{name}: still a parameter");
        }
    }
}

/// A non-contiguous gradient (a transposed view) gives the same step as its contiguous
/// copy.
pub fn optim_step_noncontiguous_grad<B: Backend>() {
    let gt = f32s::<B>(&[0.5, -1.0, 2.0, 0.25, -0.75, 1.5], &[3, 2]);
    let g = ok("permute", B::permute(&gt, &[1, 0]));
    let gc = ok("contiguous", B::contiguous(&g));
    let h = AdamStep {
        lr_t: 0.05,
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
        decay: 1.0,
    };
    let run = |g: &B::Tensor| {
        let p = ok(
            "param",
            B::param(&f32s::<B>(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])),
        );
        let m = f32s::<B>(&[0.0; 6], &[2, 3]);
        let v = f32s::<B>(&[0.0; 6], &[2, 3]);
        ok("adam_step", B::adam_step(&p, g, &m, &v, None, &h));
        let s = SgdStep {
            lr: 0.1,
            momentum: 0.0,
            nesterov: false,
            decay: 1.0,
        };
        ok("sgd_step", B::sgd_step(&p, g, None, &s));
        (values::<B>(&p), values::<B>(&m), values::<B>(&v))
    };
    let (pa, ma, va) = run(&g);
    let (pb, mb, vb) = run(&gc);
    assert_close("step with a transposed gradient: param", &pa, &pb, TOL_F32);
    assert_close("step with a transposed gradient: m", &ma, &mb, TOL_F32);
    assert_close("step with a transposed gradient: v", &va, &vb, TOL_F32);
}

/// Operands whose shape or dtype differ from the parameter's are errors, and nothing is
/// changed.
pub fn optim_step_bad_operands_err<B: Backend>() {
    let p = ok("param", B::param(&f32s::<B>(&[1.0, 2.0], &[2])));
    let g = f32s::<B>(&[0.5, 0.5], &[2]);
    let z = f32s::<B>(&[0.0, 0.0], &[2]);
    let z3 = f32s::<B>(&[0.0; 3], &[3]);
    let z64 = f64s::<B>(&[0.0, 0.0], &[2]);
    let h = AdamStep {
        lr_t: 0.1,
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
        decay: 1.0,
    };
    let s = SgdStep {
        lr: 0.1,
        momentum: 0.9,
        nesterov: false,
        decay: 1.0,
    };
    let g3 = f32s::<B>(&[0.5; 3], &[3]);
    assert_err(
        "adam_step, grad of another shape",
        B::adam_step(&p, &g3, &z, &z, None, &h),
    );
    assert_err(
        "adam_step, m of another shape",
        B::adam_step(&p, &g, &z3, &z, None, &h),
    );
    assert_err(
        "adam_step, v of another dtype",
        B::adam_step(&p, &g, &z, &z64, None, &h),
    );
    assert_err(
        "adam_step, vhat of another shape",
        B::adam_step(&p, &g, &z, &z, Some(&z3), &h),
    );
    assert_err(
        "adam_step, integer parameter",
        B::adam_step(&i64s::<B>(&[1, 2], &[2]), &g, &z, &z, None, &h),
    );
    assert_err(
        "sgd_step, grad of another shape",
        B::sgd_step(&p, &g3, None, &s),
    );
    assert_err(
        "sgd_step, velocity of another dtype",
        B::sgd_step(&p, &g, Some(&z64), &s),
    );
    assert_float::<B>(
        "param after rejected steps",
        &p,
        DType::F32,
        &[2],
        &[1.0, 2.0],
    );
    assert_float::<B>(
        "state after rejected steps",
        &z,
        DType::F32,
        &[2],
        &[0.0, 0.0],
    );
}

/// `copy` gives independent, contiguous storage with the same values, dtype and shape
/// (also from a transposed view), cut from the graph.
pub fn copy_is_independent<B: Backend>() {
    for dtype in WIDE_FLOATS {
        let p = ok(
            "param",
            B::param(&tensor::<B>(&[1.0, 2.0, 3.0, 4.0], &[2, 2], dtype)),
        );
        let c = ok("copy", B::copy(&p));
        assert!(!B::is_param(&c), "a copy is not a parameter");
        ok(
            "assign",
            B::assign(&p, &tensor::<B>(&[9.0; 4], &[2, 2], dtype)),
        );
        assert_float::<B>(
            "copy after assigning the source",
            &c,
            dtype,
            &[2, 2],
            &[1.0, 2.0, 3.0, 4.0],
        );
        let t = ok("permute", B::permute(&c, &[1, 0]));
        let ct = ok("copy", B::copy(&t));
        assert_float::<B>(
            "copy of a transposed view",
            &ct,
            dtype,
            &[2, 2],
            &[1.0, 3.0, 2.0, 4.0],
        );
        // The copy can be a fused step's state: updated in place, the source unchanged.
        let m = ok("copy", B::copy(&c));
        let q = ok("param", B::param(&tensor::<B>(&[0.0; 4], &[2, 2], dtype)));
        let s = SgdStep {
            lr: 1.0,
            momentum: 0.5,
            nesterov: false,
            decay: 1.0,
        };
        ok(
            "sgd_step",
            B::sgd_step(&q, &tensor::<B>(&[1.0; 4], &[2, 2], dtype), Some(&m), &s),
        );
        assert_float::<B>(
            "velocity copy after a step",
            &m,
            dtype,
            &[2, 2],
            &[-0.5, 0.0, 0.5, 1.0],
        );
        assert_float::<B>(
            "source of the velocity copy",
            &c,
            dtype,
            &[2, 2],
            &[1.0, 2.0, 3.0, 4.0],
        );
    }
}
