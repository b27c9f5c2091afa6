//! Conformance of [`AutogradOps`](crate::backend::AutogradOps): parameters, gradients,
//! detach, in-place assignment and no-grad evaluation.

use super::*;

fn grads<B: Backend>(loss: &B::Tensor, params: &[B::Tensor]) -> Vec<Option<B::Tensor>> {
    let g = ok("grad", B::grad(loss, params));
    assert_eq!(g.len(), params.len(), "grad: one entry per parameter");
    g
}

fn total<B: Backend>(t: &B::Tensor) -> B::Tensor {
    let axes: Vec<usize> = (0..B::shape(t).len()).collect();
    ok("sum", B::sum(t, &axes, false))
}

/// `param` makes a trainable leaf with the same values, dtype and shape; plain tensors are
/// not parameters.
pub fn param_is_param<B: Backend>() {
    for dtype in FLOATS {
        let t = tensor::<B>(&[1.0, 2.0, 3.0, 4.0], &[2, 2], dtype);
        assert!(
            !B::is_param(&t),
            "a tensor from from_host is not a parameter"
        );
        let p = ok("param", B::param(&t));
        assert!(B::is_param(&p), "param() result is a parameter");
        assert!(
            B::is_param(&p.clone()),
            "a clone of a parameter is a parameter"
        );
        assert_float::<B>("param values", &p, dtype, &[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let y = ok("mul", B::mul(&p, &p));
        assert!(
            !B::is_param(&y),
            "a result computed from a parameter is not a parameter"
        );
    }
}

/// `param` copies: assigning to the parameter leaves the source tensor unchanged.
pub fn param_copies_values<B: Backend>() {
    let t = f64s::<B>(&[1.0, 2.0], &[2]);
    let p = ok("param", B::param(&t));
    ok("assign", B::assign(&p, &f64s::<B>(&[5.0, 6.0], &[2])));
    assert_float::<B>("param after assign", &p, DType::F64, &[2], &[5.0, 6.0]);
    assert_float::<B>(
        "source of param after assign",
        &t,
        DType::F64,
        &[2],
        &[1.0, 2.0],
    );
}

/// Integer and boolean tensors cannot be parameters.
pub fn param_i64_errs<B: Backend>() {
    assert_err(
        "param of an i64 tensor",
        B::param(&i64s::<B>(&[1, 2], &[2])),
    );
    assert_err(
        "param of a bool tensor",
        B::param(&bools::<B>(&[true], &[1])),
    );
}

/// `d/da sum(a*b + a*a) = b + 2a`, `d/db = a`, in both float dtypes (gradients keep the
/// parameter's dtype and shape).
pub fn grad_closed_form<B: Backend>() {
    for dtype in FLOATS {
        let a = ok(
            "param",
            B::param(&tensor::<B>(&[1.0, 2.0, 3.0, -1.0], &[2, 2], dtype)),
        );
        let b = ok(
            "param",
            B::param(&tensor::<B>(&[4.0, 5.0, 6.0, 0.5], &[2, 2], dtype)),
        );
        let y = ok(
            "add",
            B::add(&ok("mul", B::mul(&a, &b)), &ok("mul", B::mul(&a, &a))),
        );
        let g = grads::<B>(&total::<B>(&y), &[a, b]);
        let ga = g[0].as_ref().expect("grad of a");
        let gb = g[1].as_ref().expect("grad of b");
        assert_float::<B>("grad a", ga, dtype, &[2, 2], &[6.0, 9.0, 12.0, -1.5]);
        assert_float::<B>("grad b", gb, dtype, &[2, 2], &[1.0, 2.0, 3.0, -1.0]);
    }
    // A rank-0 parameter.
    let s = ok("param", B::param(&f64s::<B>(&[3.0], &[])));
    let y = ok("powf", B::powf(&s, 2.0));
    let g = grads::<B>(&y, std::slice::from_ref(&s));
    assert_float::<B>(
        "grad of s^2 (rank 0)",
        g[0].as_ref().expect("grad"),
        DType::F64,
        &[],
        &[6.0],
    );
}

/// Parameters that do not influence the loss get `None`.
pub fn grad_none_for_unused_param<B: Backend>() {
    let a = ok("param", B::param(&f32s::<B>(&[1.0, 2.0], &[2])));
    let b = ok("param", B::param(&f32s::<B>(&[3.0, 4.0], &[2])));
    let c = ok("param", B::param(&f32s::<B>(&[5.0], &[1])));
    let loss = total::<B>(&ok("affine", B::affine(&a, 2.0, 0.0)));
    let g = grads::<B>(&loss, &[a, b, c]);
    assert_float::<B>(
        "grad of used param",
        g[0].as_ref().expect("grad a"),
        DType::F32,
        &[2],
        &[2.0, 2.0],
    );
    assert!(g[1].is_none(), "grad of an unused param must be None");
    assert!(g[2].is_none(), "grad of an unused param must be None");
}

/// A detached tensor has the same values, is not a parameter and passes no gradient.
pub fn detach_gives_no_gradient<B: Backend>() {
    let a = ok("param", B::param(&f64s::<B>(&[1.0, 2.0], &[2])));
    let b = ok("param", B::param(&f64s::<B>(&[3.0, 4.0], &[2])));
    let d = B::detach(&a);
    assert!(!B::is_param(&d), "detach() result is not a parameter");
    assert_float::<B>("detach values", &d, DType::F64, &[2], &[1.0, 2.0]);
    let loss = total::<B>(&ok("mul", B::mul(&d, &b)));
    let g = grads::<B>(&loss, &[a.clone(), b]);
    assert!(
        g[0].is_none(),
        "a parameter used only through detach() must get no gradient"
    );
    assert_float::<B>(
        "grad b",
        g[1].as_ref().expect("grad b"),
        DType::F64,
        &[2],
        &[1.0, 2.0],
    );
    // Detaching a computed tensor cuts the graph too.
    let y = B::detach(&ok("mul", B::mul(&a, &a)));
    let loss = ok("add", B::add(&total::<B>(&y), &total::<B>(&a)));
    let g = grads::<B>(&loss, std::slice::from_ref(&a));
    assert_float::<B>(
        "grad through detach(a*a) + a",
        g[0].as_ref().expect("grad a"),
        DType::F64,
        &[2],
        &[1.0, 1.0],
    );
}

/// `assign` overwrites in place: a handle cloned before sees the new values, stays a
/// parameter, and gradients flow to it at the new values.
pub fn assign_keeps_identity<B: Backend>() {
    let p = ok("param", B::param(&f32s::<B>(&[1.0, 2.0], &[2])));
    let h = p.clone();
    ok("assign", B::assign(&p, &f32s::<B>(&[7.0, 8.0], &[2])));
    assert_float::<B>("clone after assign", &h, DType::F32, &[2], &[7.0, 8.0]);
    assert!(
        B::is_param(&h),
        "a parameter stays a parameter after assign"
    );
    let loss = total::<B>(&ok("mul", B::mul(&h, &h)));
    let g = grads::<B>(&loss, std::slice::from_ref(&p));
    assert_float::<B>(
        "grad after assign",
        g[0].as_ref().expect("grad p"),
        DType::F32,
        &[2],
        &[14.0, 16.0],
    );
    // A second assign, from a computed tensor.
    ok(
        "assign",
        B::assign(&h, &ok("affine", B::affine(&h, 0.5, 1.0))),
    );
    assert_float::<B>(
        "param after second assign",
        &p,
        DType::F32,
        &[2],
        &[4.5, 5.0],
    );
}

/// `assign` records no graph: after `p <- 2 q`, a loss on `p` gives `q` no gradient from it.
pub fn assign_records_no_graph<B: Backend>() {
    let p = ok("param", B::param(&f64s::<B>(&[1.0, 2.0], &[2])));
    let q = ok("param", B::param(&f64s::<B>(&[3.0, 4.0], &[2])));
    ok(
        "assign",
        B::assign(&p, &ok("affine", B::affine(&q, 2.0, 0.0))),
    );
    assert_float::<B>("assigned values", &p, DType::F64, &[2], &[6.0, 8.0]);
    let loss = ok(
        "add",
        B::add(
            &total::<B>(&ok("affine", B::affine(&p, 3.0, 0.0))),
            &total::<B>(&q),
        ),
    );
    let g = grads::<B>(&loss, &[p, q]);
    assert_float::<B>(
        "grad p",
        g[0].as_ref().expect("grad p"),
        DType::F64,
        &[2],
        &[3.0, 3.0],
    );
    assert_float::<B>(
        "grad q (no path through assign)",
        g[1].as_ref().expect("grad q"),
        DType::F64,
        &[2],
        &[1.0, 1.0],
    );
}

/// `assign` of a value with another shape is an error.
pub fn assign_mismatched_shape_errs<B: Backend>() {
    let p = ok("param", B::param(&f32s::<B>(&[1.0, 2.0], &[2])));
    assert_err(
        "assign [3] to [2]",
        B::assign(&p, &f32s::<B>(&[1.0, 2.0, 3.0], &[3])),
    );
    assert_err(
        "assign [2,1] to [2]",
        B::assign(&p, &f32s::<B>(&[1.0, 2.0], &[2, 1])),
    );
    assert_float::<B>(
        "param after failed assign",
        &p,
        DType::F32,
        &[2],
        &[1.0, 2.0],
    );
}

/// `no_grad` runs the closure and returns its result; ops inside compute normally.
pub fn no_grad_runs_closure<B: Backend>() {
    let p = ok("param", B::param(&f32s::<B>(&[1.0, 2.0], &[2])));
    let y = B::no_grad(|| B::affine(&p, 2.0, 1.0));
    let y = B::detach(&ok("affine under no_grad", y));
    assert_float::<B>("affine under no_grad", &y, DType::F32, &[2], &[3.0, 5.0]);
    assert_eq!(
        B::no_grad(|| 41 + 1),
        42,
        "no_grad returns the closure's value"
    );
    // Parameters still work after a no-grad section.
    let loss = total::<B>(&ok("mul", B::mul(&p, &p)));
    let g = grads::<B>(&loss, std::slice::from_ref(&p));
    assert_float::<B>(
        "grad after no_grad",
        g[0].as_ref().expect("grad"),
        DType::F32,
        &[2],
        &[2.0, 4.0],
    );
}
