//! Convolution and pooling layers against PyTorch references
//! (`scripts/make_layer_fixtures.py` -> `tests/fixtures/layers_{conv,pool}.safetensors`):
//! outputs and gradients with respect to the input and every weight, Keras layouts and
//! TensorFlow `same` padding; plus parameter counts, config round trips and errors. Each
//! body is generic over the engine and runs on candle and, with feature `tch`, libtorch.

#[macro_use]
mod common;

#[macro_use]
mod layer_fixtures;

use layer_fixtures::{call_error, check, round_trip, run_cases, Fixture};
use stratanet::layers::{
    AveragePooling1D, AveragePooling2D, BuildContext, CallContext, Conv1D, Conv2D, Conv2DTranspose,
    Dense, DepthwiseConv2D, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D,
    GlobalMaxPooling2D, Input, Layer, MaxPooling1D, MaxPooling2D, SeparableConv2D,
};
use stratanet::regularizers::Regularizer;
use stratanet::{Backend, DType, Device, Sequential, Tensor};

/// [`run_cases`] on `layers_conv.safetensors` for layers with a kernel and a bias.
fn conv_cases<B: Backend>(cases: Vec<(&str, Box<dyn Layer<B>>)>) {
    run_cases::<B>(
        &Fixture::load("layers_conv.safetensors"),
        &["kernel", "bias"],
        cases,
    );
}

fn conv2d_cases<B: Backend>() {
    conv_cases::<B>(layer_cases![
        "c2_valid" => Conv2D::<B>::new(4, [3, 2]),
        "c2_same_stride" => Conv2D::<B>::new(4, 3).strides(2).padding("same"),
        "c2_same_even_kernel" => Conv2D::<B>::new(3, [2, 4]).strides([2, 1]).padding("same"),
        "c2_dilation_groups" =>
            Conv2D::<B>::new(6, 3).padding("same").dilation_rate(2).groups(2),
    ]);
}

fn conv1d_cases<B: Backend>() {
    conv_cases::<B>(layer_cases![
        "c1_same_stride" => Conv1D::<B>::new(4, 3).strides(2).padding("same"),
        "c1_causal_dilation" => Conv1D::<B>::new(3, 3).padding("causal").dilation_rate(2),
        "c1_valid" => Conv1D::<B>::new(2, 4),
    ]);
}

fn conv_transpose_cases<B: Backend>() {
    conv_cases::<B>(layer_cases![
        "ct_same" => Conv2DTranspose::<B>::new(3, 3).strides(2).padding("same"),
        "ct_valid" => Conv2DTranspose::<B>::new(3, [3, 2]).strides([2, 3]),
        "ct_same_even" => Conv2DTranspose::<B>::new(2, 4).strides(2).padding("same"),
        "ct_output_padding" => Conv2DTranspose::<B>::new(2, 3).strides(2).output_padding([1, 0]),
    ]);
}

fn depthwise_separable_cases<B: Backend>() {
    let fx = Fixture::load("layers_conv.safetensors");
    conv_cases::<B>(layer_cases![
        "dw_same_stride" =>
            DepthwiseConv2D::<B>::new(3).depth_multiplier(2).strides(2).padding("same"),
    ]);
    run_cases::<B>(
        &fx,
        &["depthwise_kernel", "pointwise_kernel", "bias"],
        layer_cases!["sep_valid" => SeparableConv2D::<B>::new(4, 3).depth_multiplier(2)],
    );
}

fn pooling_cases<B: Backend>() {
    run_cases::<B>(
        &Fixture::load("layers_pool.safetensors"),
        &[],
        layer_cases![
            "max2d_valid" => MaxPooling2D::new(2),
            "max2d_same" => MaxPooling2D::new(3).strides(2).padding("same"),
            "avg2d_valid" => AveragePooling2D::new([3, 2]).strides([1, 2]),
            "avg2d_same" => AveragePooling2D::new(3).strides(2).padding("same"),
            "avg2d_same_s1" => AveragePooling2D::new([2, 3]).strides(1).padding("same"),
            "max1d_same" => MaxPooling1D::new(2).padding("same"),
            "avg1d_same" => AveragePooling1D::new(3).strides(2).padding("same"),
            "avg1d_valid" => AveragePooling1D::new(2),
            "gap2d" => GlobalAveragePooling2D::new(),
            "gmp2d" => GlobalMaxPooling2D::new(),
            "gap1d" => GlobalAveragePooling1D::new(),
            "gmp1d" => GlobalMaxPooling1D::new(),
        ],
    );
}

/// channels_first gives the channels_last result, transposed.
fn channels_first<B: Backend>() {
    let fx = Fixture::load("layers_conv.safetensors");
    let case = "c2_same_stride";
    let x = fx
        .tensor::<B>(&format!("{case}/x"))
        .permute(&[0, 3, 1, 2])
        .unwrap();
    let mut l = Conv2D::<B>::new(4, 3)
        .strides(2)
        .padding("same")
        .data_format("channels_first");
    l.build(
        &x.shape()[1..],
        &mut BuildContext::new(Device::Cpu, DType::F32, 0),
    )
    .unwrap();
    let w = l.weights();
    w[0].value
        .assign(&fx.tensor(&format!("{case}/kernel")))
        .unwrap();
    w[1].value
        .assign(&fx.tensor(&format!("{case}/bias")))
        .unwrap();
    let y = l.call(&x, &mut CallContext::inference()).unwrap();
    check(
        &fx,
        &format!("{case}/out"),
        &y.permute(&[0, 2, 3, 1]).unwrap(),
    );

    let fx = Fixture::load("layers_pool.safetensors");
    let x = fx
        .tensor::<B>("avg2d_same/x")
        .permute(&[0, 3, 1, 2])
        .unwrap();
    let p = AveragePooling2D::new(3)
        .strides(2)
        .padding("same")
        .data_format("channels_first");
    let y = Layer::<B>::call(&p, &x, &mut CallContext::inference()).unwrap();
    check(&fx, "avg2d_same/out", &y.permute(&[0, 2, 3, 1]).unwrap());
}

/// Parameter counts and output shapes as Keras' summary shows them.
fn param_counts<B: Backend>() {
    let mut m = Sequential::<B>::new();
    m.add(Input::new(&[28, 28, 1])).unwrap();
    m.add(Conv2D::<B>::new(32, 3).activation("relu")).unwrap();
    assert_eq!(m.count_params(), (320, 0));
    m.add(MaxPooling2D::new(2)).unwrap();
    m.add(Conv2D::<B>::new(64, 3).padding("same")).unwrap();
    m.add(DepthwiseConv2D::<B>::new(3).depth_multiplier(2))
        .unwrap();
    m.add(SeparableConv2D::<B>::new(16, 3)).unwrap();
    m.add(Conv2DTranspose::<B>::new(8, 3).strides(2).padding("same"))
        .unwrap();
    m.add(GlobalAveragePooling2D::new()).unwrap();
    assert_eq!(m.output_shape().unwrap(), vec![8]);
    let conv2 = 3 * 3 * 32 * 64 + 64;
    let dw = 3 * 3 * 64 * 2 + 128;
    let sep = 3 * 3 * 128 + 128 * 16 + 16;
    let ct = 3 * 3 * 8 * 16 + 8;
    assert_eq!(m.count_params(), (320 + conv2 + dw + sep + ct, 0));
    let mut m = Sequential::<B>::new();
    m.add(Input::new(&[10, 3])).unwrap();
    m.add(Conv1D::<B>::new(5, 3).groups(1)).unwrap();
    assert_eq!(m.output_shape().unwrap(), vec![8, 5]);
    assert_eq!(m.count_params(), (3 * 3 * 5 + 5, 0));
}

fn configs<B: Backend>() {
    let layers: Vec<Box<dyn Layer<B>>> = vec![
        Box::new(
            Conv2D::<B>::new(8, [3, 5])
                .strides([1, 2])
                .padding("same")
                .groups(2)
                .activation("relu")
                .kernel_regularizer(Regularizer::l2(0.01))
                .activity_regularizer(Regularizer::l1(0.1))
                .name("c"),
        ),
        Box::new(Conv1D::<B>::new(4, 3).padding("causal").dilation_rate(2)),
        Box::new(
            Conv2DTranspose::<B>::new(3, 3)
                .strides(2)
                .output_padding(1)
                .use_bias(false),
        ),
        Box::new(DepthwiseConv2D::<B>::new(3).depth_multiplier(3)),
        Box::new(SeparableConv2D::<B>::new(4, 3).data_format("channels_first")),
        Box::new(MaxPooling2D::new([2, 3]).padding("same")),
        Box::new(MaxPooling1D::new(2).strides(1)),
        Box::new(AveragePooling2D::new(2)),
        Box::new(AveragePooling1D::new(3)),
        Box::new(GlobalAveragePooling2D::new().keepdims(true)),
        Box::new(GlobalMaxPooling1D::new().data_format("channels_first")),
        Box::new(GlobalMaxPooling2D::new()),
        Box::new(GlobalAveragePooling1D::new()),
    ];
    for l in &layers {
        round_trip::<B>(l.as_ref());
    }
}

fn errors<B: Backend>() {
    let mut conv = Conv2D::<B>::new(4, 3).name("conv2d_1");
    conv.build(
        &[8, 8, 3],
        &mut BuildContext::new(Device::Cpu, DType::F32, 0),
    )
    .unwrap();
    // wrong rank
    let x = Tensor::<B>::zeros(&[2, 8, 3], DType::F32, Device::Cpu).unwrap();
    let msg = call_error::<B>(&conv, &x);
    assert!(
        msg.contains("conv2d_1") && msg.contains("[2, 8, 3]"),
        "{msg}"
    );
    assert!(msg.contains("3 channels"), "{msg}");
    // wrong channel count
    let x = Tensor::<B>::zeros(&[2, 8, 8, 5], DType::F32, Device::Cpu).unwrap();
    let msg = call_error::<B>(&conv, &x);
    assert!(
        msg.contains("conv2d_1") && msg.contains("[2, 8, 8, 5]"),
        "{msg}"
    );
    // too small for the window
    let x = Tensor::<B>::zeros(&[2, 2, 8, 3], DType::F32, Device::Cpu).unwrap();
    let msg = call_error::<B>(&conv, &x);
    assert!(msg.contains("conv2d_1") && msg.contains("window"), "{msg}");
    // bad hyper-parameters are errors when added to a model
    let mut m = Sequential::<B>::new();
    m.add(Input::new(&[8, 8, 3])).unwrap();
    let e = m.add(Conv2D::<B>::new(4, 3).padding("full")).err().unwrap();
    assert!(e.to_string().contains("padding"), "{e}");
    let e = m.add(Conv2D::<B>::new(5, 3).groups(2)).err().unwrap();
    assert!(e.to_string().contains("groups"), "{e}");
    // pooling
    let p = MaxPooling2D::new(2).name("pool");
    let x = Tensor::<B>::zeros(&[2, 8, 3], DType::F32, Device::Cpu).unwrap();
    let msg = call_error::<B>(&p, &x);
    assert!(msg.contains("pool") && msg.contains("[2, 8, 3]"), "{msg}");
    let g = GlobalAveragePooling2D::new().name("gap");
    let msg = call_error::<B>(&g, &x);
    assert!(msg.contains("gap") && msg.contains("rank 4"), "{msg}");
    let e = Layer::<B>::output_shape(&MaxPooling1D::new(4), &[3, 2]).unwrap_err();
    assert!(e.to_string().contains("window"), "{e}");
}

/// The activity penalty recorded in `ctx` (which must hold one), taken out.
fn take_penalty<B: Backend>(ctx: &mut CallContext) -> f64 {
    ctx.take_activity_loss::<B>()
        .unwrap()
        .unwrap()
        .item()
        .unwrap()
}

/// Activity regularisers: the penalty of the output is recorded in the CallContext.
fn activity<B: Backend>() {
    let fx = Fixture::load("layers_conv.safetensors");
    let mut l = Conv2D::<B>::new(4, [3, 2]).activity_regularizer(Regularizer::l1_l2(0.1, 0.01));
    let x = fx.tensor::<B>("c2_valid/x");
    l.build(
        &x.shape()[1..],
        &mut BuildContext::new(Device::Cpu, DType::F32, 0),
    )
    .unwrap();
    let w = l.weights();
    w[0].value.assign(&fx.tensor("c2_valid/kernel")).unwrap();
    w[1].value.assign(&fx.tensor("c2_valid/bias")).unwrap();
    let mut ctx = CallContext::training(0);
    let y = l.call(&x, &mut ctx).unwrap();
    assert_eq!(ctx.activity_loss_count(), 1);
    let want: f64 = y
        .to_vec_f64()
        .unwrap()
        .iter()
        .map(|v| 0.1 * v.abs() + 0.01 * v * v)
        .sum();
    let got = take_penalty::<B>(&mut ctx);
    assert!((got - want).abs() <= 1e-4 * want.abs(), "{got} vs {want}");
    assert_eq!(ctx.activity_loss_count(), 0);
    assert!(ctx.take_activity_loss::<B>().unwrap().is_none());
    // Dense too
    let mut d = Dense::<B>::new(2).activity_regularizer(Regularizer::l2(1.0));
    d.build(&[3], &mut BuildContext::new(Device::Cpu, DType::F32, 0))
        .unwrap();
    let x = Tensor::<B>::ones(&[2, 3], DType::F32, Device::Cpu).unwrap();
    let mut ctx = CallContext::inference();
    let y = d.call(&x, &mut ctx).unwrap();
    let want: f64 = y.to_vec_f64().unwrap().iter().map(|v| v * v).sum();
    let got = take_penalty::<B>(&mut ctx);
    assert!(
        (got - want).abs() <= 1e-5 * want.abs().max(1.0),
        "{got} vs {want}"
    );
    round_trip::<B>(&d);
}

engine_tests!(
    conv2d: conv2d_cases,
    conv1d: conv1d_cases,
    conv_transpose: conv_transpose_cases,
    depthwise_separable: depthwise_separable_cases,
    pooling: pooling_cases,
    channels_first,
    param_counts,
    configs,
    errors,
    activity,
);
