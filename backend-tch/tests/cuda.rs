//! CUDA smoke test: a few ops, a gradient, seeded randomness and an in-place update on
//! `Device::Cuda(0)`. Skipped (with a message) when libtorch sees no CUDA device.
//!
//! Plus two checks that run everywhere and fail when `libtorch_cuda.so` is not linked into
//! the binary (the linker's `--as-needed` drops it unless the build script keeps it): the
//! library is mapped into this process, and asking for a CUDA tensor reaches libtorch's CUDA
//! backend (on a machine without a GPU: its "no NVIDIA driver" error, never "Could not run
//! ... from the 'CUDA' backend").

use stratanet_frontend::backend::{
    AutogradOps, BackendBase, CompositeOps, Conv2dParams, CreationOps, DType, Device, HostData,
    LinalgOps, MathOps, NnOps, ReduceOps, ShapeOps,
};
use stratanet_tch::Tch;

fn close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
            "got {got:?}, want {want:?}"
        );
    }
}

fn host(t: &<Tch as BackendBase>::Tensor) -> Vec<f32> {
    Tch::to_host(t).expect("to_host").to_f32_vec()
}

#[test]
fn cuda_smoke() {
    if !tch::Cuda::is_available() {
        println!("skipped: no CUDA device");
        return;
    }
    let d = Tch::device(Device::Cuda(0)).expect("device cuda:0");
    let a = Tch::from_host(HostData::F32(vec![1.0, 2.0, 3.0, 4.0]), &[2, 2], &d).unwrap();
    assert_eq!(Tch::device_of(&a), Device::Cuda(0));
    let b = Tch::from_host(HostData::F32(vec![0.5, -1.0, 2.0, 1.0]), &[2, 2], &d).unwrap();
    let c = Tch::matmul(&a, &b).unwrap();
    close(&host(&c), &[4.5, 1.0, 9.5, 1.0]);
    let s = Tch::softmax(&c, 1).unwrap();
    let row = host(&Tch::sum(&s, &[1], false).unwrap());
    close(&row, &[1.0, 1.0]);

    // Gradient of sum(a * p) with respect to a parameter p is a.
    let p = Tch::param(&b).unwrap();
    let loss = Tch::sum(&Tch::mul(&a, &p).unwrap(), &[0, 1], false).unwrap();
    let g = Tch::grad(&loss, std::slice::from_ref(&p)).unwrap();
    close(
        &host(g[0].as_ref().expect("gradient")),
        &[1.0, 2.0, 3.0, 4.0],
    );

    // In-place update keeps identity.
    let h = p.clone();
    Tch::assign(&p, &a).unwrap();
    close(&host(&h), &[1.0, 2.0, 3.0, 4.0]);
    assert!(Tch::is_param(&h));

    // Seeded randomness on the device.
    let u1 = Tch::uniform(&[64], -1.0, 1.0, 7, DType::F32, &d).unwrap();
    let u2 = Tch::uniform(&[64], -1.0, 1.0, 7, DType::F32, &d).unwrap();
    assert_eq!(host(&u1), host(&u2), "same seed, same values on cuda:0");
    let n1 = Tch::normal(&[64], 0.0, 1.0, 3, DType::F64, &d).unwrap();
    let n2 = Tch::normal(&[64], 0.0, 1.0, 3, DType::F64, &d).unwrap();
    assert_eq!(host(&n1), host(&n2));

    // A convolution, pooling and an index_select.
    let x = Tch::ones(&[1, 1, 4, 4], DType::F32, &d).unwrap();
    let w = Tch::ones(&[1, 1, 2, 2], DType::F32, &d).unwrap();
    let y = Tch::conv2d(&x, &w, Conv2dParams::default()).unwrap();
    assert_eq!(Tch::shape(&y), vec![1, 1, 3, 3]);
    close(&host(&y), &[4.0; 9]);
    let m = Tch::max_pool2d(&x, [2, 2], [2, 2]).unwrap();
    close(&host(&m), &[1.0; 4]);
    let idx = Tch::from_host(HostData::I64(vec![1, 0]), &[2], &d).unwrap();
    let r = Tch::index_select(&a, &idx, 0).unwrap();
    close(&host(&r), &[3.0, 4.0, 1.0, 2.0]);
    let e = Tch::exp(&Tch::affine(&a, 0.0, 0.0).unwrap()).unwrap();
    close(&host(&e), &[1.0; 4]);

    // Round trip to the CPU and back.
    let cpu = Tch::to_device(&a, &Tch::device(Device::Cpu).unwrap()).unwrap();
    assert_eq!(Tch::device_of(&cpu), Device::Cpu);
    Tch::synchronize(&d).unwrap();
}

/// Whether the libtorch this was built against ships `libtorch_cuda.so` (set by build.rs).
fn libtorch_has_cuda() -> bool {
    env!("STRATANET_TCH_LIBTORCH_CUDA") == "1"
}

#[test]
#[cfg(target_os = "linux")]
fn libtorch_cuda_is_loaded() {
    if !libtorch_has_cuda() {
        println!("skipped: this libtorch is a CPU-only build (no libtorch_cuda.so)");
        return;
    }
    // Touch libtorch so the process has certainly loaded it (it is linked, not dlopened).
    let _ = tch::Cuda::is_available();
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    let cuda: Vec<&str> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.ends_with("/libtorch_cuda.so"))
        .collect();
    assert!(
        !cuda.is_empty(),
        "libtorch_cuda.so is not mapped into the test process: the linker dropped it \
         (missing -Wl,--no-as-needed -ltorch_cuda in the build script)"
    );
    let cpu = maps.lines().any(|l| l.ends_with("/libtorch_cpu.so"));
    assert!(
        cpu,
        "libtorch_cpu.so is not mapped either: /proc/self/maps parse broken?"
    );
    println!("libtorch_cuda.so mapped from {}", cuda[0]);
}

#[test]
fn cuda_tensor_reaches_the_cuda_backend() {
    if !libtorch_has_cuda() {
        println!("skipped: this libtorch is a CPU-only build (no libtorch_cuda.so)");
        return;
    }
    match tch::Tensor::f_zeros([1], (tch::Kind::Float, tch::Device::Cuda(0))) {
        Ok(t) => {
            assert_eq!(t.device(), tch::Device::Cuda(0));
            assert!(
                tch::Cuda::is_available(),
                "a CUDA tensor without a CUDA device?"
            );
            println!(
                "CUDA tensor created; {} device(s) visible",
                tch::Cuda::device_count()
            );
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                !msg.contains("from the 'CUDA' backend"),
                "libtorch has no CUDA backend (libtorch_cuda.so not linked): {msg}"
            );
            // The errors of libtorch's CUDA backend when the machine has no usable GPU.
            let no_gpu = [
                "NVIDIA driver",
                "no CUDA-capable device",
                "CUDA driver version is insufficient",
                "no CUDA GPUs are available",
            ];
            assert!(
                no_gpu.iter().any(|m| msg.contains(m)),
                "unexpected error for a CUDA tensor: {msg}"
            );
            assert!(!tch::Cuda::is_available());
            println!("no CUDA device: {}", msg.lines().next().unwrap_or(""));
        }
    }
}

/// `Device::auto` follows libtorch's CUDA availability, and `STRATANET_DEVICE` overrides it
/// (the only test of this binary that reads or writes the variable).
#[test]
fn device_auto_and_stratanet_device() {
    let gpu = tch::Cuda::is_available();
    let expected = if gpu { Device::Cuda(0) } else { Device::Cpu };
    std::env::remove_var("STRATANET_DEVICE");
    assert_eq!(Device::auto::<Tch>().unwrap(), expected);
    std::env::set_var("STRATANET_DEVICE", "cpu");
    assert_eq!(Device::auto::<Tch>().unwrap(), Device::Cpu);
    std::env::set_var("STRATANET_DEVICE", "auto");
    assert_eq!(Device::auto::<Tch>().unwrap(), expected);
    std::env::set_var("STRATANET_DEVICE", "tpu");
    let e = Device::auto::<Tch>().unwrap_err().to_string();
    assert!(
        e.contains("STRATANET_DEVICE") && e.contains("tpu"),
        "error names the variable and value: {e}"
    );
    std::env::set_var("STRATANET_DEVICE", "cuda:0");
    match Device::auto::<Tch>() {
        Ok(d) => assert!(gpu && d == Device::Cuda(0), "{d:?} without a GPU"),
        Err(e) => {
            assert!(!gpu, "cuda:0 refused on a GPU machine: {e}");
            assert!(e.to_string().contains("STRATANET_DEVICE"), "{e}");
        }
    }
    std::env::remove_var("STRATANET_DEVICE");
    let n = tch::Cuda::device_count() as usize;
    let beyond = Device::for_engine::<Tch>(&format!("cuda:{n}"));
    assert!(beyond.is_err(), "cuda:{n} with {n} devices: {beyond:?}");
    assert_eq!(Device::for_engine::<Tch>("CPU").unwrap(), Device::Cpu);
    assert_eq!("cuda:3".parse::<Device>().unwrap(), Device::Cuda(3));
    assert_eq!("cuda".parse::<Device>().unwrap(), Device::Cuda(0));
    assert!("cuda:x".parse::<Device>().is_err());
    assert!("".parse::<Device>().is_err());
}
