//! Conformance of [`CreationOps`](crate::backend::CreationOps): creation, host transfer and
//! seeded randomness.

use super::*;

/// A rank-0 tensor from one value.
pub fn from_host_rank0<B: Backend>() {
    let t = f64s::<B>(&[5.5], &[]);
    assert_float::<B>("from_host rank 0", &t, DType::F64, &[], &[5.5]);
}

/// A tensor with a zero-sized axis.
pub fn from_host_empty<B: Backend>() {
    let t = f32s::<B>(&[], &[0, 3]);
    assert_eq!(B::shape(&t), vec![0, 3], "empty shape");
    assert!(values::<B>(&t).is_empty(), "empty values");
}

/// `from_host` with an element count that does not match the shape is an error.
pub fn from_host_wrong_count_errs<B: Backend>() {
    let d = dev::<B>();
    assert_err(
        "from_host 5 values into [2, 3]",
        B::from_host(HostData::F32(vec![1.0; 5]), &[2, 3], &d),
    );
    assert_err(
        "from_host 7 values into [2, 3]",
        B::from_host(HostData::I64(vec![1; 7]), &[2, 3], &d),
    );
    assert_err(
        "from_host 2 values into []",
        B::from_host(HostData::F64(vec![1.0; 2]), &[], &d),
    );
}

/// `zeros`, `ones` and `full` in each float dtype and `i64`.
pub fn zeros_ones_full<B: Backend>() {
    let d = dev::<B>();
    for dtype in [DType::F32, DType::F64, DType::I64] {
        let z = ok("zeros", B::zeros(&[2, 3], dtype, &d));
        assert_eq!(B::dtype(&z), dtype, "zeros dtype");
        assert_tensor::<B>("zeros", &z, &[2, 3], &[0.0; 6], 0.0);
        let o = ok("ones", B::ones(&[3], dtype, &d));
        assert_eq!(B::dtype(&o), dtype, "ones dtype");
        assert_tensor::<B>("ones", &o, &[3], &[1.0; 3], 0.0);
        let f = ok("full", B::full(&[2, 2], 7.0, dtype, &d));
        assert_eq!(B::dtype(&f), dtype, "full dtype");
        assert_tensor::<B>("full", &f, &[2, 2], &[7.0; 4], 0.0);
        let s = ok("full rank 0", B::full(&[], -3.0, dtype, &d));
        assert_tensor::<B>("full rank 0", &s, &[], &[-3.0], 0.0);
    }
    let f = ok("full f32", B::full(&[2], 0.1, DType::F32, &d));
    assert_eq!(
        ok("to_host", B::to_host(&f)),
        HostData::F32(vec![0.1; 2]),
        "full(0.1, f32)"
    );
}

/// `full` converts its value to the dtype (truncation for `i64`, nonzero is `true`), and
/// `zeros`/`ones` work for booleans.
pub fn full_bool_and_int<B: Backend>() {
    let d = dev::<B>();
    let i = ok("full i64", B::full(&[2], 2.9, DType::I64, &d));
    assert_eq!(values_i64::<B>(&i), vec![2, 2], "full(2.9, i64)");
    let t = ok("full bool", B::full(&[2], 1.0, DType::Bool, &d));
    assert_eq!(values_bool::<B>(&t), vec![true, true], "full(1, bool)");
    let z = ok("zeros bool", B::zeros(&[3], DType::Bool, &d));
    assert_eq!(values_bool::<B>(&z), vec![false; 3], "zeros(bool)");
    let o = ok("ones bool", B::ones(&[1, 2], DType::Bool, &d));
    assert_eq!(values_bool::<B>(&o), vec![true; 2], "ones(bool)");
}

/// `arange` excludes its end, for integer and fractional steps.
pub fn arange_values<B: Backend>() {
    let d = dev::<B>();
    let a = ok("arange", B::arange(0.0, 5.0, 1.0, DType::F32, &d));
    assert_float::<B>(
        "arange(0, 5, 1)",
        &a,
        DType::F32,
        &[5],
        &[0.0, 1.0, 2.0, 3.0, 4.0],
    );
    let a = ok("arange", B::arange(1.0, 2.0, 0.25, DType::F64, &d));
    assert_float::<B>(
        "arange(1, 2, 0.25)",
        &a,
        DType::F64,
        &[4],
        &[1.0, 1.25, 1.5, 1.75],
    );
    let a = ok("arange", B::arange(0.0, 10.0, 3.0, DType::I64, &d));
    assert_eq!(B::dtype(&a), DType::I64, "arange i64 dtype");
    assert_eq!(
        values_i64::<B>(&a),
        vec![0, 3, 6, 9],
        "arange(0, 10, 3) i64"
    );
    let a = ok("arange", B::arange(-2.0, 1.0, 1.0, DType::I64, &d));
    assert_eq!(values_i64::<B>(&a), vec![-2, -1, 0], "arange(-2, 1, 1) i64");
}

fn draw<B: Backend>(
    normal: bool,
    shape: &[usize],
    a: f64,
    b: f64,
    seed: u64,
    dtype: DType,
) -> Vec<f64> {
    let d = dev::<B>();
    let t = if normal {
        ok("normal", B::normal(shape, a, b, seed, dtype, &d))
    } else {
        ok("uniform", B::uniform(shape, a, b, seed, dtype, &d))
    };
    assert_eq!(B::dtype(&t), dtype, "random dtype");
    assert_eq!(B::shape(&t), shape, "random shape");
    values::<B>(&t)
}

fn moments(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// The name of the distribution `draw` samples.
fn dist_name(normal: bool) -> &'static str {
    if normal {
        "normal"
    } else {
        "uniform"
    }
}

/// Two draws with parameters `(a, b)` and the same `seed` are identical, in each float
/// dtype.
fn check_same_seed<B: Backend>(normal: bool, shape: &[usize], (a, b): (f64, f64), seed: u64) {
    for dtype in FLOATS {
        let x = draw::<B>(normal, shape, a, b, seed, dtype);
        let y = draw::<B>(normal, shape, a, b, seed, dtype);
        assert_eq!(x, y, "{} with the same seed ({dtype})", dist_name(normal));
    }
}

/// Two draws with parameters `(a, b)` and different `seeds` differ.
fn check_different_seeds<B: Backend>(
    normal: bool,
    shape: &[usize],
    (a, b): (f64, f64),
    seeds: [u64; 2],
    dtype: DType,
) {
    let [x, y] = seeds.map(|seed| draw::<B>(normal, shape, a, b, seed, dtype));
    assert_ne!(x, y, "{} with different seeds", dist_name(normal));
}

/// Same seed: identical uniform values.
pub fn uniform_same_seed_same_values<B: Backend>() {
    check_same_seed::<B>(false, &[4, 5], (-1.0, 1.0), 42);
}

/// Different seeds: different uniform values.
pub fn uniform_different_seed<B: Backend>() {
    check_different_seeds::<B>(false, &[100], (0.0, 1.0), [1, 2], DType::F32);
}

/// Uniform values lie in `[low, high)` with mean and std near `(low+high)/2` and
/// `(high-low)/sqrt(12)` for 10,000 samples.
pub fn uniform_range_and_moments<B: Backend>() {
    let v = draw::<B>(false, &[100, 100], 2.0, 5.0, 7, DType::F64);
    assert!(
        v.iter().all(|&x| (2.0..5.0).contains(&x)),
        "uniform out of [2, 5)"
    );
    let (mean, std) = moments(&v);
    assert!(
        (mean - 3.5).abs() < 0.05,
        "uniform mean {mean}, expected 3.5"
    );
    let want_std = 3.0 / 12f64.sqrt();
    assert!(
        (std - want_std).abs() < 0.05,
        "uniform std {std}, expected {want_std}"
    );
    let v = draw::<B>(false, &[1000], -0.5, 0.5, 8, DType::F32);
    assert!(
        v.iter().all(|&x| (-0.5..=0.5).contains(&x)),
        "uniform f32 out of [-0.5, 0.5]"
    );
}

/// Same seed: identical normal values.
pub fn normal_same_seed_same_values<B: Backend>() {
    check_same_seed::<B>(true, &[3, 7], (0.0, 1.0), 9);
}

/// Different seeds: different normal values.
pub fn normal_different_seed<B: Backend>() {
    check_different_seeds::<B>(true, &[100], (0.0, 1.0), [3, 4], DType::F64);
}

/// Normal samples (n = 10,000) have mean and std near the requested ones.
pub fn normal_moments<B: Backend>() {
    let v = draw::<B>(true, &[10_000], 3.0, 2.0, 11, DType::F64);
    assert!(
        v.iter().all(|x| x.is_finite()),
        "normal gave a non-finite value"
    );
    let (mean, std) = moments(&v);
    assert!((mean - 3.0).abs() < 0.1, "normal mean {mean}, expected 3");
    assert!((std - 2.0).abs() < 0.1, "normal std {std}, expected 2");
    let v = draw::<B>(true, &[100, 100], -1.0, 0.5, 12, DType::F32);
    let (mean, std) = moments(&v);
    assert!(
        (mean + 1.0).abs() < 0.05,
        "normal f32 mean {mean}, expected -1"
    );
    assert!(
        (std - 0.5).abs() < 0.05,
        "normal f32 std {std}, expected 0.5"
    );
}
