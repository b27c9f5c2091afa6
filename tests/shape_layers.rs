//! Reshaping and regularisation layers: ZeroPadding2D, UpSampling2D, Permute and
//! RepeatVector against PyTorch references (`tests/fixtures/layers_shape.safetensors`,
//! values and input gradients); SpatialDropout1D/2D and GaussianNoise (seeded, training
//! only); config round trips and errors. Runs on candle and, with feature `tch`, libtorch.

#[macro_use]
mod common;

#[macro_use]
mod layer_fixtures;

use layer_fixtures::{call_error, round_trip, run_cases, Fixture};
use stratanet::layers::{
    CallContext, GaussianNoise, Layer, Permute, RepeatVector, SpatialDropout1D, SpatialDropout2D,
    UpSampling2D, ZeroPadding2D,
};
use stratanet::{Backend, DType, Device, Tensor};

fn fixtures<B: Backend>() {
    let fx = Fixture::load("layers_shape.safetensors");
    run_cases::<B>(
        &fx,
        &[],
        layer_cases![
            "zeropad" => ZeroPadding2D::asymmetric([(1, 3), (2, 0)]),
            "upsample" => UpSampling2D::new([2, 3]),
            "permute" => Permute::new(&[3, 1, 2]),
            "repeat" => RepeatVector::new(5),
        ],
    );
}

fn spatial_dropout<B: Backend>() {
    let x = Tensor::<B>::ones(&[8, 5, 6, 32], DType::F32, Device::Cpu).unwrap();
    let d = SpatialDropout2D::new(0.5).seed(3);
    let y = Layer::<B>::call(&d, &x, &mut CallContext::training(1)).unwrap();
    let v = y.to_vec_f32().unwrap();
    // whole channels: every (sample, channel) is all 0 or all 2 over the 5x6 positions
    let mut kept = 0;
    for n in 0..8 {
        for c in 0..32 {
            let first = v[n * 5 * 6 * 32 + c];
            assert!(first == 0.0 || first == 2.0);
            for p in 0..30 {
                assert_eq!(v[n * 5 * 6 * 32 + p * 32 + c], first);
            }
            kept += (first == 2.0) as usize;
        }
    }
    assert!((60..=196).contains(&kept), "kept {kept} of 256 channels");
    // deterministic for a seed; identity at inference
    let y2 = Layer::<B>::call(&d, &x, &mut CallContext::training(1)).unwrap();
    assert_eq!(y2.to_vec_f32().unwrap(), v);
    let z = Layer::<B>::call(&d, &x, &mut CallContext::inference()).unwrap();
    assert_eq!(z.to_vec_f32().unwrap(), x.to_vec_f32().unwrap());
    // 1-D, channels_first 2-D
    let x = Tensor::<B>::ones(&[4, 7, 16], DType::F32, Device::Cpu).unwrap();
    let y = Layer::<B>::call(
        &SpatialDropout1D::new(0.25),
        &x,
        &mut CallContext::training(2),
    )
    .unwrap()
    .to_vec_f32()
    .unwrap();
    for n in 0..4 {
        for c in 0..16 {
            let first = y[n * 7 * 16 + c];
            assert!((0..7).all(|t| y[n * 7 * 16 + t * 16 + c] == first));
        }
    }
    let x = Tensor::<B>::ones(&[2, 3, 4, 4], DType::F32, Device::Cpu).unwrap();
    let d = SpatialDropout2D::new(0.5).data_format("channels_first");
    let y = Layer::<B>::call(&d, &x, &mut CallContext::training(5))
        .unwrap()
        .to_vec_f32()
        .unwrap();
    for nc in 0..6 {
        assert!((0..16).all(|p| y[nc * 16 + p] == y[nc * 16]));
    }
}

fn gaussian_noise<B: Backend>() {
    let x = Tensor::<B>::zeros(&[100, 100], DType::F32, Device::Cpu).unwrap();
    let g = GaussianNoise::new(0.5).seed(1);
    let y = Layer::<B>::call(&g, &x, &mut CallContext::training(0)).unwrap();
    let v = y.to_vec_f64().unwrap();
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let std = (v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
    assert!(
        mean.abs() < 0.03 && (std - 0.5).abs() < 0.03,
        "{mean} {std}"
    );
    let y2 = Layer::<B>::call(&g, &x, &mut CallContext::training(0)).unwrap();
    assert_eq!(y2.to_vec_f64().unwrap(), v);
    let z = Layer::<B>::call(&g, &x, &mut CallContext::inference()).unwrap();
    assert_eq!(z.sum_all().unwrap().item().unwrap(), 0.0);
}

fn configs<B: Backend>() {
    let layers: Vec<Box<dyn Layer<B>>> = vec![
        Box::new(ZeroPadding2D::asymmetric([(1, 2), (3, 4)]).data_format("channels_first")),
        Box::new(UpSampling2D::new(2)),
        Box::new(Permute::new(&[2, 1])),
        Box::new(RepeatVector::new(3)),
        Box::new(SpatialDropout1D::new(0.2).seed(4)),
        Box::new(SpatialDropout2D::new(0.3)),
        Box::new(GaussianNoise::new(0.1).seed(2)),
    ];
    for l in &layers {
        round_trip::<B>(l.as_ref());
    }
    // Keras' short forms
    let z = ZeroPadding2D::from_config(&serde_json::json!({"padding": 2})).unwrap();
    assert_eq!(
        Layer::<B>::output_shape(&z, &[3, 3, 1]).unwrap(),
        vec![7, 7, 1]
    );
}

fn errors<B: Backend>() {
    let x3 = Tensor::<B>::zeros(&[2, 3, 4], DType::F32, Device::Cpu).unwrap();
    let msg = call_error::<B>(&ZeroPadding2D::new(1).name("zp"), &x3);
    assert!(
        msg.contains("zp") && msg.contains("[2, 3, 4]") && msg.contains("rank 4"),
        "{msg}"
    );
    let msg = call_error::<B>(&UpSampling2D::new(2).name("up"), &x3);
    assert!(msg.contains("up") && msg.contains("[2, 3, 4]"), "{msg}");
    let msg = call_error::<B>(&Permute::new(&[3, 2, 1]).name("perm"), &x3);
    assert!(msg.contains("perm") && msg.contains("[2, 3, 4]"), "{msg}");
    let msg = call_error::<B>(&RepeatVector::new(2).name("rep"), &x3);
    assert!(msg.contains("rep") && msg.contains("[2, 3, 4]"), "{msg}");
    let msg = call_error::<B>(&SpatialDropout2D::new(0.1).name("sd"), &x3);
    assert!(msg.contains("sd") && msg.contains("[2, 3, 4]"), "{msg}");
    let msg = call_error::<B>(&Permute::new(&[1, 1]).name("perm2"), &x3);
    assert!(msg.contains("perm2") && msg.contains("dims"), "{msg}");
    let msg = call_error::<B>(&GaussianNoise::new(-1.0).name("gn"), &x3);
    assert!(msg.contains("gn") && msg.contains("stddev"), "{msg}");
}

engine_tests!(fixtures, spatial_dropout, gaussian_noise, configs, errors,);
