//! How `Device` maps to candle devices: `Cpu` always; `Cuda(i)` only in a build with the
//! `cuda` feature on a machine whose CUDA driver sees device `i`, and otherwise an `Err`
//! that says why (never a panic). On a GPU, `Cuda(0)` is one candle device: tensors made
//! from two `device(Cuda(0))` calls combine.

use stratanet_candle::Candle;
use stratanet_frontend::backend::{BackendBase, CreationOps, DType, Device};

#[test]
fn cpu_maps_to_candle_cpu() {
    let d = Candle::device(Device::Cpu).expect("device(Cpu)");
    assert!(d.is_cpu());
    let t = Candle::zeros(&[2], DType::F32, &d).expect("zeros");
    assert_eq!(Candle::device_of(&t), Device::Cpu);
}

/// Without the `cuda` feature: `cuda_is_available` is false and `Cuda(i)` is an error naming
/// the device and the missing feature.
#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_without_the_feature_is_a_clear_error() {
    assert!(!Candle::cuda_is_available());
    for i in [0, 3] {
        let e = Candle::device(Device::Cuda(i)).expect_err("device(Cuda) without the feature");
        let msg = e.to_string();
        assert!(msg.contains(&format!("cuda:{i}")), "{msg}");
        assert!(msg.contains("`cuda` feature"), "{msg}");
    }
}

/// With the `cuda` feature: `cuda_is_available` is what the driver says (false without a GPU
/// or a driver), a missing device is an error naming it, and `Cuda(0)` on a GPU is one
/// device whose tensors combine and report `Cuda(0)`.
#[cfg(feature = "cuda")]
#[test]
fn cuda_with_the_feature_follows_the_driver() {
    use stratanet_frontend::backend::MathOps;
    let far = Candle::device(Device::Cuda(1000)).expect_err("device(Cuda(1000))");
    assert!(far.to_string().contains("cuda:1000"), "{far}");
    if !Candle::cuda_is_available() {
        let e = Candle::device(Device::Cuda(0)).expect_err("device(Cuda(0)) without a GPU");
        assert!(e.to_string().contains("cuda:0"), "{e}");
        println!("skipped: no CUDA device ({e})");
        return;
    }
    let a = Candle::device(Device::Cuda(0)).expect("device(Cuda(0))");
    let b = Candle::device(Device::Cuda(0)).expect("device(Cuda(0)) again");
    assert!(
        a.same_device(&b),
        "two device(Cuda(0)) calls gave two candle devices"
    );
    let x = Candle::ones(&[3], DType::F32, &a).expect("ones");
    let y = Candle::ones(&[3], DType::F32, &b).expect("ones");
    let s = Candle::add(&x, &y).expect("add across two device(Cuda(0)) handles");
    assert_eq!(Candle::device_of(&s), Device::Cuda(0));
    let host = Candle::to_host(&s).expect("to_host").to_f32_vec();
    assert_eq!(host, vec![2.0, 2.0, 2.0]);
}
