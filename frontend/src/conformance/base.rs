//! Conformance of [`BackendBase`](crate::backend::BackendBase): dtypes, host round trips,
//! conversions, devices and threads.

use super::*;

/// The engine has a name.
pub fn name_is_set<B: Backend>() {
    assert!(!B::NAME.is_empty(), "NAME is empty");
}

/// `device(Cpu)` succeeds and tensors made on it report `Cpu`.
pub fn device_cpu<B: Backend>() {
    let d = ok("device(Cpu)", B::device(Device::Cpu));
    let t = ok("zeros", B::zeros(&[2], DType::F32, &d));
    assert_eq!(B::device_of(&t), Device::Cpu, "device_of");
}

/// `device_of` and `tensor_device` describe the tensor's device (the test's [`device()`]),
/// and the handle from `tensor_device` creates tensors that combine with the original.
pub fn device_of_and_tensor_device<B: Backend>() {
    let t = f32s::<B>(&[1.0, 2.0], &[2]);
    assert_eq!(B::device_of(&t), device(), "device_of");
    let d = B::tensor_device(&t);
    let o = ok("ones on tensor_device", B::ones(&[2], DType::F32, &d));
    assert_eq!(B::device_of(&o), device(), "device_of(ones)");
    let s = ok("add", B::add(&t, &o));
    assert_float::<B>("add on tensor_device", &s, DType::F32, &[2], &[2.0, 3.0]);
}

/// Without CUDA, asking for a CUDA device is an error, not a panic.
pub fn cuda_device_errs_without_cuda<B: Backend>() {
    if !B::cuda_is_available() {
        assert_err("device(Cuda(0)) without CUDA", B::device(Device::Cuda(0)));
    }
}

/// `to_device` onto the CPU keeps values, dtype and shape (from the test's [`device()`]).
pub fn to_device_cpu<B: Backend>() {
    let t = f64s::<B>(&[1.5, -2.0, 3.25, 4.0], &[2, 2]);
    let cpu = ok("device(Cpu)", B::device(Device::Cpu));
    let moved = ok("to_device", B::to_device(&t, &cpu));
    assert_eq!(B::device_of(&moved), Device::Cpu);
    assert_float::<B>(
        "to_device",
        &moved,
        DType::F64,
        &[2, 2],
        &[1.5, -2.0, 3.25, 4.0],
    );
    let i = i64s::<B>(&[7, -8], &[2]);
    let moved = ok("to_device i64", B::to_device(&i, &cpu));
    assert_eq!(B::device_of(&moved), Device::Cpu);
    assert_eq!(values_i64::<B>(&moved), vec![7, -8], "to_device i64");
    let back = ok("to_device back", B::to_device(&moved, &dev::<B>()));
    assert_eq!(B::device_of(&back), device(), "to_device back");
    assert_eq!(values_i64::<B>(&back), vec![7, -8], "to_device back");
}

/// Gradients flow through `to_device` (closed form: `d sum(to_device(x) * w) / dx = w`).
pub fn to_device_grad<B: Backend>() {
    let x = ok("param", B::param(&f64s::<B>(&[1.0, 2.0, 3.0], &[3])));
    let w = f64s::<B>(&[0.5, -1.0, 2.0], &[3]);
    let y = ok("to_device", B::to_device(&x, &dev::<B>()));
    let loss = ok("sum", B::sum(&ok("mul", B::mul(&y, &w)), &[0], false));
    let g = ok("grad", B::grad(&loss, std::slice::from_ref(&x)));
    let g = g[0].as_ref().expect("to_device: no gradient");
    assert_float::<B>("to_device grad", g, DType::F64, &[3], &[0.5, -1.0, 2.0]);
}

/// `dtype()` and `shape()` report what was created, for ranks 0 to 3 and every dtype.
pub fn dtype_and_shape_metadata<B: Backend>() {
    let cases: Vec<(B::Tensor, DType, Vec<usize>)> = vec![
        (f32s::<B>(&[1.0], &[]), DType::F32, vec![]),
        (f64s::<B>(&[1.0, 2.0, 3.0], &[3]), DType::F64, vec![3]),
        (
            i64s::<B>(&[1, 2, 3, 4, 5, 6], &[2, 3]),
            DType::I64,
            vec![2, 3],
        ),
        (
            bools::<B>(&[true; 24], &[2, 3, 4]),
            DType::Bool,
            vec![2, 3, 4],
        ),
    ];
    for (t, dtype, shape) in cases {
        assert_eq!(B::dtype(&t), dtype, "dtype()");
        assert_eq!(B::shape(&t), shape, "shape() of a {dtype} tensor");
    }
    let z = ok("zeros", B::zeros(&[4, 1], DType::I64, &dev::<B>()));
    assert_eq!(B::dtype(&z), DType::I64, "zeros dtype");
    assert_eq!(B::shape(&z), vec![4, 1], "zeros shape");
}

/// `t` reads back as exactly `want`; `label` names the check.
fn assert_host<B: Backend>(label: &str, t: &B::Tensor, want: HostData) {
    assert_eq!(ok("to_host", B::to_host(t)), want, "{label}");
}

/// `f32` data survives `from_host` / `to_host` bit for bit.
pub fn round_trip_f32<B: Backend>() {
    let v = vec![0.0f32, -1.5, 3.25e-8, 1.0e30, f32::MIN_POSITIVE, -7.0];
    let t = f32s::<B>(&v, &[2, 3]);
    assert_host::<B>("f32 round trip", &t, HostData::F32(v));
}

/// `f64` data survives the round trip bit for bit (no detour through `f32`).
pub fn round_trip_f64<B: Backend>() {
    let v = vec![
        0.1f64,
        -1.0 / 3.0,
        1.0e300,
        1.0 + 1e-15,
        -0.0,
        12345.678901234567,
    ];
    let t = f64s::<B>(&v, &[3, 2]);
    assert_host::<B>("f64 round trip", &t, HostData::F64(v));
}

/// `i64` data survives the round trip, including values beyond `f64`'s exact integers.
pub fn round_trip_i64<B: Backend>() {
    let v = vec![0i64, -1, 1 << 40, (1 << 53) + 1, i64::MAX, i64::MIN];
    let t = i64s::<B>(&v, &[6]);
    assert_host::<B>("i64 round trip", &t, HostData::I64(v));
}

/// Booleans survive the round trip and come back as [`HostData::Bool`].
pub fn round_trip_bool<B: Backend>() {
    let v = vec![true, false, false, true];
    let t = bools::<B>(&v, &[2, 2]);
    assert_eq!(B::dtype(&t), DType::Bool, "bool dtype");
    assert_host::<B>("bool round trip", &t, HostData::Bool(v));
}

/// `bf16` and `f16` data survive the round trip bit for bit (every finite value, a
/// subnormal, the extremes, infinities and a signed zero), as [`HostData::BF16`] /
/// [`HostData::F16`] with their dtype.
pub fn round_trip_half<B: Backend>() {
    use half::{bf16, f16};
    let b: Vec<bf16> = [
        1.0f32,
        -2.5,
        0.1,
        3.0e38,
        -1.0e-38,
        0.0,
        -0.0,
        f32::INFINITY,
    ]
    .iter()
    .map(|&x| bf16::from_f32(x))
    .chain([bf16::MAX, bf16::MIN_POSITIVE_SUBNORMAL])
    .collect();
    let t = from_data::<B>(HostData::BF16(b.clone()), &[2, 5]);
    assert_eq!(B::dtype(&t), DType::BF16, "bf16 dtype");
    assert_host::<B>("bf16 round trip", &t, HostData::BF16(b));
    let h: Vec<f16> = [
        1.0f32,
        -2.5,
        0.1,
        65504.0,
        -6.0e-8,
        0.0,
        -0.0,
        f32::NEG_INFINITY,
    ]
    .iter()
    .map(|&x| f16::from_f32(x))
    .chain([f16::MAX, f16::MIN_POSITIVE])
    .collect();
    let t = from_data::<B>(HostData::F16(h.clone()), &[10]);
    assert_eq!(B::dtype(&t), DType::F16, "f16 dtype");
    assert_host::<B>("f16 round trip", &t, HostData::F16(h));
}

/// `f32 -> bf16 / f16` rounds to the nearest value (as the `half` crate does on the host),
/// f16 overflows to infinity past 65,504, and widening back to `f32` is exact.
pub fn to_dtype_half_rounds_to_nearest<B: Backend>() {
    let v = [
        1.0f32,
        0.1,
        -3.0517,
        1.0 + 1.0 / 256.0,
        70000.0,
        1.0e-3,
        -0.0,
    ];
    let t = f32s::<B>(&v, &[7]);
    let b = ok("to_dtype f32->bf16", B::to_dtype(&t, DType::BF16));
    assert_eq!(B::dtype(&b), DType::BF16, "to_dtype(bf16) dtype");
    assert_host::<B>("f32 -> bf16", &b, HostData::from_f32(&v, DType::BF16));
    let h = ok("to_dtype f32->f16", B::to_dtype(&t, DType::F16));
    assert_eq!(B::dtype(&h), DType::F16, "to_dtype(f16) dtype");
    assert_host::<B>("f32 -> f16", &h, HostData::from_f32(&v, DType::F16));
    let back = ok("to_dtype bf16->f32", B::to_dtype(&b, DType::F32));
    let want = HostData::from_f32(&v, DType::BF16).to_f32_vec();
    assert_host::<B>("bf16 -> f32", &back, HostData::F32(want));
}

/// `f32 <-> f64` conversions keep values.
pub fn to_dtype_float_conversions<B: Backend>() {
    let t = f32s::<B>(&[1.5, -2.25, 0.1], &[3]);
    let d = ok("to_dtype f32->f64", B::to_dtype(&t, DType::F64));
    assert_eq!(B::dtype(&d), DType::F64);
    assert_host::<B>(
        "f32 -> f64",
        &d,
        HostData::F64(vec![1.5, -2.25, 0.1f32 as f64]),
    );
    let t = f64s::<B>(&[1.5, -2.25, 0.1], &[3]);
    let s = ok("to_dtype f64->f32", B::to_dtype(&t, DType::F32));
    assert_eq!(B::dtype(&s), DType::F32);
    assert_host::<B>("f64 -> f32", &s, HostData::F32(vec![1.5, -2.25, 0.1]));
}

/// Float to integer conversion truncates toward zero.
pub fn to_dtype_float_to_int_truncates<B: Backend>() {
    let v = [1.7, -1.7, 2.5, -0.5, 3.0, 0.0, 99.99, -99.99];
    for dtype in FLOATS {
        // The values the tensor holds (99.99 is 100 in bf16), truncated.
        let held = HostData::from_f64(&v, dtype).to_f64_vec();
        let want: Vec<i64> = held.iter().map(|&x| x.trunc() as i64).collect();
        let t = tensor::<B>(&v, &[2, 4], dtype);
        let i = ok("to_dtype float->i64", B::to_dtype(&t, DType::I64));
        assert_eq!(B::dtype(&i), DType::I64, "to_dtype({dtype} -> i64) dtype");
        assert_eq!(B::shape(&i), vec![2, 4], "to_dtype shape");
        assert_eq!(
            values_i64::<B>(&i),
            want,
            "to_dtype({dtype} -> i64) truncates toward zero"
        );
    }
}

/// Integers and booleans convert to floats (booleans as 0/1), booleans to `i64`.
pub fn to_dtype_int_and_bool_to_float<B: Backend>() {
    let i = i64s::<B>(&[-3, 0, 7], &[3]);
    for dtype in FLOATS {
        let f = ok("to_dtype i64->float", B::to_dtype(&i, dtype));
        assert_float::<B>("to_dtype(i64 -> float)", &f, dtype, &[3], &[-3.0, 0.0, 7.0]);
    }
    let b = bools::<B>(&[true, false, true], &[3]);
    for dtype in FLOATS {
        let f = ok("to_dtype bool->float", B::to_dtype(&b, dtype));
        assert_float::<B>("to_dtype(bool -> float)", &f, dtype, &[3], &[1.0, 0.0, 1.0]);
    }
    let bi = ok("to_dtype bool->i64", B::to_dtype(&b, DType::I64));
    assert_eq!(values_i64::<B>(&bi), vec![1, 0, 1], "to_dtype(bool -> i64)");
}

/// Converting to the tensor's own dtype keeps dtype and values.
pub fn to_dtype_same_dtype<B: Backend>() {
    let t = f32s::<B>(&[1.0, 2.0], &[2]);
    let s = ok("to_dtype same", B::to_dtype(&t, DType::F32));
    assert_float::<B>("to_dtype(f32 -> f32)", &s, DType::F32, &[2], &[1.0, 2.0]);
    let i = i64s::<B>(&[5], &[1]);
    let s = ok("to_dtype same", B::to_dtype(&i, DType::I64));
    assert_eq!(values_i64::<B>(&s), vec![5], "to_dtype(i64 -> i64)");
}

/// Gradients flow through float conversions: `d sum(f32(x) * w) / dx = w`, in `x`'s dtype.
pub fn to_dtype_grad<B: Backend>() {
    let x = ok("param", B::param(&f64s::<B>(&[1.0, -2.0, 3.0], &[3])));
    let y = ok("to_dtype", B::to_dtype(&x, DType::F32));
    let w = f32s::<B>(&[0.5, 1.5, -2.0], &[3]);
    let loss = ok("sum", B::sum(&ok("mul", B::mul(&y, &w)), &[0], false));
    let g = ok("grad", B::grad(&loss, std::slice::from_ref(&x)));
    let g = g[0].as_ref().expect("to_dtype: no gradient");
    assert_float::<B>("to_dtype grad", g, DType::F64, &[3], &[0.5, 1.5, -2.0]);
}

/// `num_threads` is at least 1 and is what the engine accepts as its current count:
/// `set_num_threads(num_threads())` is `Ok` (even after the thread pool started) and
/// leaves `num_threads()` unchanged. Thread counts are global to the process, so the test
/// never changes the count.
pub fn set_num_threads_to_the_current_count<B: Backend>() {
    let n = B::num_threads();
    assert!(n >= 1, "num_threads() = {n}");
    if let Err(e) = B::set_num_threads(n) {
        panic!("set_num_threads({n}) to the current count num_threads() failed: {e}");
    }
    assert_eq!(
        B::num_threads(),
        n,
        "num_threads() after set_num_threads({n})"
    );
}

/// `set_num_threads(0)` is an [`Error::InvalidArgument`](crate::Error::InvalidArgument) naming `set_num_threads` and `n`,
/// and leaves the count unchanged.
pub fn set_num_threads_zero_is_an_error<B: Backend>() {
    let n = B::num_threads();
    match B::set_num_threads(0) {
        Ok(()) => panic!("set_num_threads(0) returned Ok"),
        Err(crate::Error::InvalidArgument {
            context, argument, ..
        }) => {
            assert_eq!(context, "set_num_threads", "error context");
            assert_eq!(argument, "n", "error argument");
        }
        Err(e) => panic!("set_num_threads(0): expected InvalidArgument, got {e:?}"),
    }
    assert_eq!(
        B::num_threads(),
        n,
        "num_threads() after set_num_threads(0)"
    );
}

/// `synchronize` on the CPU is a successful no-op.
pub fn synchronize_cpu<B: Backend>() {
    ok("synchronize", B::synchronize(&dev::<B>()));
}
