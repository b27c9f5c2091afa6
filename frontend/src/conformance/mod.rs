//! The backend conformance suite: every op and gradient test, written once, generic over
//! `B: Backend`, and stamped out for one engine by [`backend_conformance_tests!`].
//!
//! Compiled only with the frontend's `conformance` cargo feature, which engine crates enable
//! in their `[dev-dependencies]`.
//!
//! ## Layout
//!
//! One module per op family, mirroring `frontend/src/backend/`: [`base`] (dtypes, devices,
//! threads), [`creation`], [`shape`], [`math`], [`compare`], [`reduce`], [`linalg`], [`nn`],
//! [`autograd`], [`composite`], [`rnn`] and [`optim`]. Each test is a `pub fn name<B: Backend>()` that panics
//! on failure. Expected values are closed-form: written by hand, or computed on the host
//! with plain loops and `f64` math, never with the backend's own ops.
//!
//! Gradients are checked by [`check_grad`]: central finite differences in `f64` on
//! host-created inputs, compared with [`AutogradOps::grad`](crate::backend::AutogradOps::grad)
//! of a weighted sum of the op's output, so every output element's Jacobian row counts.

pub mod autograd;
pub mod base;
pub mod compare;
pub mod composite;
pub mod creation;
pub mod linalg;
pub mod math;
pub mod nn;
pub mod optim;
pub mod reduce;
pub mod rnn;
pub mod shape;

use crate::backend::{Backend, DType, Device, HostData};
use crate::error::Result;
use crate::random::Rng;

/// Tolerance (absolute plus relative, see [`assert_close`]) for `f32` value tests.
pub const TOL_F32: f64 = 1e-5;
/// Tolerance for `f64` value tests.
pub const TOL_F64: f64 = 1e-10;
/// Tolerance of [`check_grad`]: `|analytic - numeric| <= GRAD_TOL * (1 + |numeric|)`.
pub const GRAD_TOL: f64 = 1e-6;
/// Step of the central finite differences in [`check_grad`].
pub const FD_STEP: f64 = 1e-5;

thread_local! {
    /// The device of the test running on this thread (libtest gives every test a thread).
    static DEVICE: std::cell::Cell<Device> = const { std::cell::Cell::new(Device::Cpu) };
}

/// The device the running conformance test puts its tensors on: the one
/// [`backend_conformance_tests!`] was stamped out for (`Cpu` unless it was given one).
pub fn device() -> Device {
    DEVICE.with(|d| d.get())
}

/// The backend's handle for [`device()`], the device of the running test.
pub fn dev<B: Backend>() -> B::Device {
    let d = device();
    match B::device(d) {
        Ok(h) => h,
        Err(e) => panic!("{}: device({d:?}) failed: {e}", B::NAME),
    }
}

/// Whether engine `B` can put tensors on `device` (`Cpu` always; `Cuda(i)` when the engine
/// sees more than `i` CUDA devices).
pub fn device_available<B: Backend>(device: Device) -> bool {
    match device {
        Device::Cpu => true,
        Device::Cuda(_) => B::cuda_is_available() && B::device(device).is_ok(),
    }
}

/// Runs one conformance test on `device` (what the tests of [`backend_conformance_tests!`]
/// call). When the engine cannot use `device` it prints a skip line and returns: the test
/// passes vacuously, and [`device_summary`] says so.
#[doc(hidden)]
pub fn run_on<B: Backend>(device: Device, name: &str, test: fn()) {
    if !device_available::<B>(device) {
        println!(
            "skipped: no CUDA device for {name} on {device:?} ({})",
            B::NAME
        );
        return;
    }
    struct Reset(Device);
    impl Drop for Reset {
        fn drop(&mut self) {
            DEVICE.with(|d| d.set(self.0));
        }
    }
    let _reset = Reset(DEVICE.with(|d| d.replace(device)));
    test();
}

/// The `conformance_device_summary` test of [`backend_conformance_tests!`]: prints how many
/// of the suite's `count` tests run on `device` (all of them, or none with the skip reason).
/// Panics when `device` is the CPU and unavailable.
#[doc(hidden)]
pub fn device_summary<B: Backend>(device: Device, count: usize) {
    if device_available::<B>(device) {
        println!(
            "conformance on {device:?} ({}): {count} tests ran on the device",
            B::NAME
        );
    } else {
        assert!(device != Device::Cpu, "{}: the CPU is unavailable", B::NAME);
        println!(
            "conformance on {device:?} ({}): 0 of {count} tests ran (skipped: no CUDA device)",
            B::NAME
        );
    }
}

/// Unwraps `r`, panicking with the op name and the error.
pub fn ok<T>(op: &str, r: Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{op}: unexpected error: {e}"),
    }
}

/// Asserts that `r` is an error (a bad argument must give `Err`, not a value or a panic).
pub fn assert_err<T: std::fmt::Debug>(op: &str, r: Result<T>) {
    if let Ok(v) = r {
        panic!("{op}: expected an error, got Ok({v:?})");
    }
}

/// A tensor holding `data` with `shape` on the CPU device.
pub fn from_data<B: Backend>(data: HostData, shape: &[usize]) -> B::Tensor {
    ok("from_host", B::from_host(data, shape, &dev::<B>()))
}

/// An `f32` tensor.
pub fn f32s<B: Backend>(v: &[f32], shape: &[usize]) -> B::Tensor {
    from_data::<B>(HostData::F32(v.to_vec()), shape)
}

/// An `f64` tensor.
pub fn f64s<B: Backend>(v: &[f64], shape: &[usize]) -> B::Tensor {
    from_data::<B>(HostData::F64(v.to_vec()), shape)
}

/// An `i64` tensor.
pub fn i64s<B: Backend>(v: &[i64], shape: &[usize]) -> B::Tensor {
    from_data::<B>(HostData::I64(v.to_vec()), shape)
}

/// A boolean tensor.
pub fn bools<B: Backend>(v: &[bool], shape: &[usize]) -> B::Tensor {
    from_data::<B>(HostData::Bool(v.to_vec()), shape)
}

/// A tensor of `dtype` holding `v` (converted on the host).
pub fn tensor<B: Backend>(v: &[f64], shape: &[usize], dtype: DType) -> B::Tensor {
    from_data::<B>(HostData::from_f64(v, dtype), shape)
}

/// A tensor's values, converted to `f64` on the host.
pub fn values<B: Backend>(t: &B::Tensor) -> Vec<f64> {
    ok("to_host", B::to_host(t)).to_f64_vec()
}

/// A tensor's values, which must be `i64`.
pub fn values_i64<B: Backend>(t: &B::Tensor) -> Vec<i64> {
    match ok("to_host", B::to_host(t)) {
        HostData::I64(v) => v,
        other => panic!("to_host: expected i64 data, got {}", other.dtype()),
    }
}

/// A tensor's values, which must be booleans.
pub fn values_bool<B: Backend>(t: &B::Tensor) -> Vec<bool> {
    match ok("to_host", B::to_host(t)) {
        HostData::Bool(v) => v,
        other => panic!("to_host: expected bool data, got {}", other.dtype()),
    }
}

/// Asserts `|got - want| <= tol * (1 + |want|)` elementwise (infinities must match exactly;
/// NaN never passes), naming `op` in the message.
pub fn assert_close(op: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(
        got.len(),
        want.len(),
        "{op}: got {} values, expected {}\n got: {got:?}\nwant: {want:?}",
        got.len(),
        want.len()
    );
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let close = if w.is_infinite() {
            g == w
        } else {
            (g - w).abs() <= tol * (1.0 + w.abs())
        };
        assert!(
            close,
            "{op}: element {i}: got {g}, expected {w} (tolerance {tol})\n got: {got:?}\nwant: {want:?}"
        );
    }
}

/// Asserts a tensor's shape and (all-close) values.
pub fn assert_tensor<B: Backend>(op: &str, t: &B::Tensor, shape: &[usize], want: &[f64], tol: f64) {
    assert_eq!(B::shape(t), shape, "{op}: shape");
    assert_close(op, &values::<B>(t), want, tol);
}

/// Asserts a tensor's shape, dtype and values, for `f32` (tolerance [`TOL_F32`]) or `f64`
/// ([`TOL_F64`]) tensors.
pub fn assert_float<B: Backend>(
    op: &str,
    t: &B::Tensor,
    dtype: DType,
    shape: &[usize],
    want: &[f64],
) {
    assert_eq!(B::dtype(t), dtype, "{op}: dtype");
    let tol = if dtype == DType::F64 {
        TOL_F64
    } else {
        TOL_F32
    };
    assert_tensor::<B>(op, t, shape, want, tol);
}

/// `n` deterministic values in `[-2, -0.1] ∪ [0.1, 2]`: inputs away from the kinks of
/// `relu`, `abs` and friends, and (almost surely) without ties.
pub fn pseudo(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let u = rng.uniform(-1.0, 1.0);
            u.signum() * (0.1 + 1.9 * u.abs())
        })
        .collect()
}

/// `n` deterministic values in `[0.5, 2)` (inputs for `log`, `sqrt`, `recip`, `pow`).
pub fn positive(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.uniform(0.5, 2.0)).collect()
}

/// Numpy broadcast of two shapes, `None` when incompatible.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for (i, o) in out.iter_mut().enumerate() {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        *o = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Row-major strides of a shape.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The flat index into a tensor of `in_shape` that broadcasts to position `out_index` (a
/// multi-index into the broadcast shape).
pub fn broadcast_source(out_index: &[usize], in_shape: &[usize]) -> usize {
    let offset = out_index.len() - in_shape.len();
    let st = strides(in_shape);
    in_shape
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            if d == 1 {
                0
            } else {
                out_index[i + offset] * st[i]
            }
        })
        .sum()
}

/// The multi-index of flat position `flat` in `shape`.
pub fn unravel(flat: usize, shape: &[usize]) -> Vec<usize> {
    let st = strides(shape);
    shape
        .iter()
        .enumerate()
        .map(|(i, &d)| (flat / st[i]) % d.max(1))
        .collect()
}

/// Host reference of an elementwise broadcasting binary op.
pub fn host_binary(
    a: &[f64],
    sa: &[usize],
    b: &[f64],
    sb: &[usize],
    f: impl Fn(f64, f64) -> f64,
) -> (Vec<f64>, Vec<usize>) {
    let shape = broadcast_shape(sa, sb).expect("host_binary: incompatible shapes");
    let n: usize = shape.iter().product();
    let out = (0..n)
        .map(|k| {
            let idx = unravel(k, &shape);
            f(a[broadcast_source(&idx, sa)], b[broadcast_source(&idx, sb)])
        })
        .collect();
    (out, shape)
}

/// Shape pairs every broadcasting binary op is checked on.
pub const BROADCAST_CASES: &[(&[usize], &[usize])] = &[
    (&[2, 3], &[2, 3]),
    (&[2, 3], &[3]),
    (&[3], &[2, 3]),
    (&[2, 1], &[1, 3]),
    (&[], &[2, 3]),
    (&[2, 3], &[]),
    (&[2, 1, 3], &[4, 1]),
];

/// Checks a broadcasting binary op on every pair of [`BROADCAST_CASES`] in `dtype`, against
/// the host function `f` (inputs from `gen(n, seed)`).
pub fn check_broadcast<B: Backend>(
    op: &str,
    dtype: DType,
    gen: impl Fn(usize, u64) -> Vec<f64>,
    b_op: impl Fn(&B::Tensor, &B::Tensor) -> Result<B::Tensor>,
    f: impl Fn(f64, f64) -> f64,
) {
    for (case, &(sa, sb)) in BROADCAST_CASES.iter().enumerate() {
        let na: usize = sa.iter().product();
        let nb: usize = sb.iter().product();
        let a = gen(na, 100 + case as u64);
        let b = gen(nb, 200 + case as u64);
        let ta = tensor::<B>(&a, sa, dtype);
        let tb = tensor::<B>(&b, sb, dtype);
        // Expected values from the inputs as the engine holds them (after rounding to dtype).
        let a = values::<B>(&ta);
        let b = values::<B>(&tb);
        let (want, shape) = host_binary(&a, sa, &b, sb, &f);
        let name = format!("{op} {sa:?} with {sb:?} ({dtype})");
        let out = ok(&name, b_op(&ta, &tb));
        let tol = if dtype == DType::F64 {
            TOL_F64
        } else {
            TOL_F32
        };
        assert_tensor::<B>(&name, &out, &shape, &want, tol);
    }
}

/// Gradient check of `f` at `inputs` (values and shapes, made `f64`).
///
/// The analytic side makes each input a parameter with
/// [`AutogradOps::param`](crate::backend::AutogradOps::param), builds the scalar
/// `sum(f(inputs) * w)` for fixed, unequal weights `w`, and asks
/// [`AutogradOps::grad`](crate::backend::AutogradOps::grad). The numeric side perturbs each
/// input element by `±FD_STEP` on the host, evaluates `f` on plain tensors and forms the same
/// weighted sum on the host. A missing gradient counts as zeros.
pub fn check_grad<B: Backend>(
    op: &str,
    inputs: &[(Vec<f64>, Vec<usize>)],
    f: impl Fn(&[B::Tensor]) -> Result<B::Tensor>,
) {
    let params: Vec<B::Tensor> = inputs
        .iter()
        .map(|(v, s)| ok(op, B::param(&f64s::<B>(v, s))))
        .collect();
    let out = ok(op, f(&params));
    let out_shape = B::shape(&out);
    let n_out: usize = out_shape.iter().product();
    let w: Vec<f64> = (0..n_out)
        .map(|k| 0.5 + ((k * 7) % 11) as f64 / 10.0)
        .collect();
    let wt = tensor::<B>(&w, &out_shape, B::dtype(&out));
    let axes: Vec<usize> = (0..out_shape.len()).collect();
    let loss = ok(op, B::sum(&ok(op, B::mul(&out, &wt)), &axes, false));
    let grads = ok(&format!("{op}: grad"), B::grad(&loss, &params));
    assert_eq!(
        grads.len(),
        params.len(),
        "{op}: grad returned the wrong count"
    );

    let eval = |vals: &[Vec<f64>]| -> f64 {
        let ts: Vec<B::Tensor> = vals
            .iter()
            .zip(inputs)
            .map(|(v, (_, s))| f64s::<B>(v, s))
            .collect();
        let o = ok(op, f(&ts));
        values::<B>(&o).iter().zip(&w).map(|(a, b)| a * b).sum()
    };
    let base: Vec<Vec<f64>> = inputs.iter().map(|(v, _)| v.clone()).collect();
    for (i, (v, s)) in inputs.iter().enumerate() {
        let analytic = match &grads[i] {
            Some(g) => {
                assert_eq!(B::shape(g), *s, "{op}: gradient {i} shape");
                values::<B>(g)
            }
            None => vec![0.0; v.len()],
        };
        let mut numeric = Vec::with_capacity(v.len());
        for j in 0..v.len() {
            let mut plus = base.clone();
            plus[i][j] += FD_STEP;
            let mut minus = base.clone();
            minus[i][j] -= FD_STEP;
            numeric.push((eval(&plus) - eval(&minus)) / (2.0 * FD_STEP));
        }
        assert_close(
            &format!("{op}: gradient of input {i} (analytic vs finite differences)"),
            &analytic,
            &numeric,
            GRAD_TOL,
        );
    }
}

/// Shorthand for a [`check_grad`] input: `n` values from `gen` with `shape`.
pub fn input(shape: &[usize], values: Vec<f64>) -> (Vec<f64>, Vec<usize>) {
    assert_eq!(
        values.len(),
        shape.iter().product::<usize>(),
        "input: element count"
    );
    (values, shape.to_vec())
}

/// Expands to the whole conformance suite for one backend, one `mod` per op family with one
/// `#[test]` per conformance test.
///
/// An engine crate instantiates it once, in `backend-X/tests/conformance.rs`, with the
/// frontend's `conformance` feature enabled in its `[dev-dependencies]`:
///
/// ```ignore
/// stratanet_frontend::backend_conformance_tests!(stratanet_candle::Candle);
/// ```
///
/// Run one family with `cargo test -p stratanet-candle --test conformance math::`. The type
/// may be given by a path or by a name imported in the calling module. A test an engine
/// cannot pass is skipped there with a `#[cfg]` and a reason comment, not removed here.
///
/// A second argument, a [`Device`](crate::backend::Device) expression, runs the suite on
/// that device ([`dev`] returns it inside the tests; the default is `Device::Cpu`). Stamp
/// each device in its own module:
///
/// ```ignore
/// mod cpu {
///     stratanet_frontend::backend_conformance_tests!(stratanet_tch::Tch);
/// }
/// mod cuda {
///     use stratanet_frontend::backend::Device;
///     stratanet_frontend::backend_conformance_tests!(stratanet_tch::Tch, Device::Cuda(0));
/// }
/// ```
///
/// When the engine cannot use the device (no GPU), each test prints a skip line and passes
/// vacuously, and the extra test `conformance_device_summary` prints how many ran.
#[macro_export]
macro_rules! backend_conformance_tests {
    ($backend:ty) => {
        $crate::backend_conformance_tests!($backend, $crate::backend::Device::Cpu);
    };
    ($backend:ty, $device:expr) => {
        #[test]
        fn conformance_device_summary() {
            let count = base::TESTS.len()
                + creation::TESTS.len()
                + shape::TESTS.len()
                + math::TESTS.len()
                + compare::TESTS.len()
                + reduce::TESTS.len()
                + linalg::TESTS.len()
                + nn::TESTS.len()
                + autograd::TESTS.len()
                + composite::TESTS.len()
                + rnn::TESTS.len()
                + optim::TESTS.len();
            $crate::conformance::device_summary::<$backend>($device, count);
        }
        $crate::__conformance_family!(
            $backend,
            $device,
            base,
            [
                name_is_set,
                device_cpu,
                device_of_and_tensor_device,
                cuda_device_errs_without_cuda,
                to_device_cpu,
                to_device_grad,
                dtype_and_shape_metadata,
                round_trip_f32,
                round_trip_f64,
                round_trip_i64,
                round_trip_bool,
                to_dtype_float_conversions,
                to_dtype_float_to_int_truncates,
                to_dtype_int_and_bool_to_float,
                to_dtype_same_dtype,
                to_dtype_grad,
                set_num_threads_to_the_current_count,
                set_num_threads_zero_is_an_error,
                synchronize_cpu,
            ]
        );
        $crate::__conformance_family!(
            $backend,
            $device,
            creation,
            [
                from_host_rank0,
                from_host_empty,
                from_host_wrong_count_errs,
                zeros_ones_full,
                full_bool_and_int,
                arange_values,
                uniform_same_seed_same_values,
                uniform_different_seed,
                uniform_range_and_moments,
                normal_same_seed_same_values,
                normal_different_seed,
                normal_moments,
            ]
        );
        $crate::__conformance_family!(
            $backend,
            $device,
            shape,
            [
                reshape_values,
                reshape_wrong_count_errs,
                reshape_grad,
                permute_2d,
                permute_3d,
                permute_grad,
                broadcast_to_values,
                broadcast_to_incompatible_errs,
                broadcast_to_grad,
                narrow_values,
                narrow_out_of_range_errs,
                narrow_grad,
                concat_values,
                concat_mismatch_errs,
                concat_grad,
                stack_values,
                stack_mismatch_errs,
                stack_grad,
                index_select_values,
                index_select_out_of_range_errs,
                gather_out_of_range_errs,
                index_select_grad,
                gather_values,
                gather_grad,
                contiguous_values,
                contiguous_grad,
                pad_values,
                pad_grad,
            ]
        );
        $crate::__conformance_family!(
            $backend,
            $device,
            math,
            [
                add_values,
                sub_values,
                mul_values,
                div_values,
                pow_values,
                maximum_minimum_values,
                int_arithmetic,
                binary_broadcast_f32,
                binary_broadcast_f64,
                binary_broadcast_i64,
                binary_shape_mismatch_errs,
                binary_dtype_mismatch_errs,
                affine_values,
                powf_values,
                clamp_values,
                unary_values_f32,
                unary_values_f64,
                erf_values,
                relu_sign_values,
                binary_grads,
                binary_broadcast_grads,
                scalar_op_grads,
                unary_grads,
                sign_has_no_gradient,
            ]
        );
        $crate::__conformance_family!(
            $backend,
            $device,
            compare,
            [
                compare_values,
                compare_i64,
                compare_broadcast,
                compare_dtype_mismatch_errs,
                where_cond_values,
                where_cond_broadcast,
                where_cond_grad,
            ]
        );
        $crate::__conformance_family!(
            $backend,
            $device,
            reduce,
            [
                sum_single_axis,
                sum_multi_axis_keepdim,
                sum_all_to_scalar,
                sum_empty_axes_is_identity,
                sum_i64,
                mean_values,
                max_min_values,
                argmax_argmin_values,
                argmax_argmin_ties_first,
                argmax_argmin_keepdim,
                reduce_grads,
            ]
        );
        $crate::__conformance_family!(
            $backend,
            $device,
            linalg,
            [
                matmul_2d,
                matmul_batched,
                matmul_broadcast_batch,
                matmul_inner_mismatch_errs,
                matmul_grad,
                matmul_broadcast_batch_grad,
            ]
        );
        $crate::__conformance_family!(
            $backend,
            $device,
            nn,
            [
                conv1d_basic,
                conv1d_stride_padding,
                conv1d_dilation,
                conv1d_channels_and_groups,
                conv1d_reference,
                conv2d_basic,
                conv2d_stride_asymmetric_padding,
                conv2d_dilation,
                conv2d_channels_and_groups,
                conv2d_reference,
                conv2d_bias_values,
                conv_transpose1d_reference,
                conv_transpose1d_padding_output_padding,
                conv_transpose1d_groups,
                conv_transpose2d_basic,
                conv_transpose2d_reference,
                conv_transpose2d_padding_output_padding,
                conv_transpose2d_groups,
                max_pool2d_values,
                max_pool2d_tie_gradient,
                pool2d_channels_last_view,
                avg_pool2d_values,
                pool2d_overlapping_and_floor,
                pool1d_values,
                conv1d_grad,
                conv2d_grad,
                conv2d_grad_groups,
                conv2d_bias_grad,
                conv_transpose1d_grad,
                conv_transpose2d_grad,
                pool2d_grads,
                pool1d_grads,
            ]
        );
        $crate::__conformance_family!(
            $backend,
            $device,
            autograd,
            [
                param_is_param,
                param_copies_values,
                param_i64_errs,
                grad_closed_form,
                grad_none_for_unused_param,
                detach_gives_no_gradient,
                assign_keeps_identity,
                assign_records_no_graph,
                assign_mismatched_shape_errs,
                no_grad_runs_closure,
            ]
        );
        $crate::__conformance_family!(
            $backend,
            $device,
            composite,
            [
                scalar_like_values,
                sigmoid_values,
                softplus_log_sigmoid_values,
                logsumexp_values,
                softmax_values,
                log_softmax_values,
                gelu_values,
                gelu_tanh_values,
                silu_values,
                elu_selu_values,
                leaky_relu_values,
                cross_entropy_values,
                stability_large_magnitudes,
                activation_grads,
                softmax_family_grads,
                cross_entropy_grad,
            ]
        );
        $crate::__conformance_family!(
            $backend,
            $device,
            rnn,
            [
                lstm_sequence_values,
                gru_sequence_values,
                lstm_sequence_grads,
                gru_sequence_grads,
                rnn_shape_errors,
            ]
        );
        $crate::__conformance_family!(
            $backend,
            $device,
            optim,
            [
                adam_step_values,
                sgd_step_values,
                optim_step_noncontiguous_grad,
                optim_step_bad_operands_err,
                copy_is_independent,
            ]
        );
    };
}

/// One op family of [`backend_conformance_tests!`]: a `mod` with a `#[test]` per name.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_family {
    ($backend:ty, $device:expr, $family:ident, [$($test:ident),* $(,)?]) => {
        mod $family {
            #[allow(unused_imports)]
            use super::*;
            /// The family's tests, for `conformance_device_summary`.
            pub const TESTS: &[&str] = &[$(stringify!($test)),*];
            $(
                #[test]
                fn $test() {
                    $crate::conformance::run_on::<$backend>(
                        $device,
                        concat!(stringify!($family), "::", stringify!($test)),
                        $crate::conformance::$family::$test::<$backend>,
                    )
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    /// Every `pub fn name<B: Backend>()` in a family file must be listed under that family in
    /// `backend_conformance_tests!`, and every listed name must exist.
    #[test]
    fn every_test_is_wired_into_the_macro() {
        let macro_src = include_str!("mod.rs");
        let families: &[(&str, &str)] = &[
            ("base", include_str!("base.rs")),
            ("creation", include_str!("creation.rs")),
            ("shape", include_str!("shape.rs")),
            ("math", include_str!("math.rs")),
            ("compare", include_str!("compare.rs")),
            ("reduce", include_str!("reduce.rs")),
            ("linalg", include_str!("linalg.rs")),
            ("nn", include_str!("nn.rs")),
            ("autograd", include_str!("autograd.rs")),
            ("composite", include_str!("composite.rs")),
            ("rnn", include_str!("rnn.rs")),
            ("optim", include_str!("optim.rs")),
        ];
        // The macro's body with whitespace removed: `$crate::__conformance_family!($backend,
        // $device,family,[a,b,]);` per family.
        let body: String = macro_src[macro_src
            .find("macro_rules! backend_conformance_tests")
            .unwrap()..]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for (family, src) in families {
            let key = format!("__conformance_family!($backend,$device,{family},[");
            let start = body
                .find(&key)
                .unwrap_or_else(|| panic!("family {family} missing from the macro"))
                + key.len();
            let end = start + body[start..].find(']').unwrap();
            let listed: Vec<&str> = body[start..end]
                .split(',')
                .filter(|s| !s.is_empty())
                .collect();
            let defined: Vec<&str> = src
                .lines()
                .filter_map(|l| l.trim().strip_prefix("pub fn "))
                .filter_map(|l| l.strip_suffix("<B: Backend>() {"))
                .collect();
            for name in &defined {
                assert!(
                    listed.contains(name),
                    "{family}::{name} is not in the macro"
                );
            }
            for name in &listed {
                assert!(
                    defined.contains(name),
                    "{family}::{name} is listed but not defined"
                );
            }
        }
    }
}
