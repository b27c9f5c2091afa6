//! The suite's macros: [`backend_conformance_tests!`](crate::backend_conformance_tests)
//! lists every test of every op family, and `__conformance_family!` stamps one family's
//! `#[test]`s for an engine and a device.

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
/// that device ([`dev`](crate::conformance::dev) returns it inside the tests; the default
/// is `Device::Cpu`). Stamp each device in its own module:
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
                round_trip_half,
                to_dtype_float_conversions,
                to_dtype_half_rounds_to_nearest,
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
                matmul_bias_values,
                matmul_bias_grad,
                matmul_bias_errs,
                dense_relu_values,
                dense_relu_grad,
                dense_relu_errs,
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
                conv2d_nhwc_matches_channels_first,
                max_pool2d_nhwc_matches_channels_first,
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
