//! `STRATANET_DEVICE` sets the default placement of models (issue 14 item 2). This binary
//! is the only one that writes the variable; its tests (both engines) hold one lock while
//! they set and read it, so they never race each other.

#[macro_use]
mod common;

use std::sync::{Mutex, MutexGuard};
use stratanet::prelude::*;
use stratanet::Backend;

static ENV: Mutex<()> = Mutex::new(());

/// Holds the lock and restores the variable's previous value when dropped.
struct EnvGuard {
    previous: Option<String>,
    _lock: MutexGuard<'static, ()>,
}

impl EnvGuard {
    fn new() -> Self {
        let lock = ENV.lock().unwrap_or_else(|e| e.into_inner());
        Self {
            previous: std::env::var("STRATANET_DEVICE").ok(),
            _lock: lock,
        }
    }
    fn set(&self, value: Option<&str>) {
        match value {
            Some(v) => std::env::set_var("STRATANET_DEVICE", v),
            None => std::env::remove_var("STRATANET_DEVICE"),
        }
    }
}

impl Drop for EnvGuard {
    fn drop(&mut self) {
        self.set(self.previous.clone().as_deref());
    }
}

fn seq<B: Backend>() -> stratanet::Result<Sequential<B>> {
    let mut m = Sequential::<B>::new().with_name("seq");
    m.add(Input::new(&[3]))?;
    m.add(Dense::new(2))?;
    Ok(m)
}

fn functional<B: Backend>() -> stratanet::Result<Model<B>> {
    let x = Input::new(&[3]).tensor::<B>();
    let y = Dense::new(2).name("proj").apply(&x)?;
    Model::new(&[x], &[y])
}

fn on<B: Backend>(w: &[(String, stratanet::layers::Weight<B>)]) -> Vec<Device> {
    w.iter().map(|(_, w)| w.value.device()).collect()
}

fn placement_follows_the_variable<B: Backend>() {
    let env = EnvGuard::new();
    let gpu = Device::cuda_if_available::<B>();
    for (value, want) in [
        (None, gpu),
        (Some(""), gpu),
        (Some("auto"), gpu),
        (Some("cpu"), Device::Cpu),
        (Some(" CPU "), Device::Cpu),
    ] {
        env.set(value);
        let s = seq::<B>().unwrap();
        assert_eq!(s.device(), want, "STRATANET_DEVICE={value:?}");
        assert!(on(&s.weights()).iter().all(|d| *d == want));
        let f = functional::<B>().unwrap();
        assert_eq!(f.device(), want, "STRATANET_DEVICE={value:?}");
        assert!(on(&f.weights()).iter().all(|d| *d == want));
    }
    // A model resolves its device once, at its first layer: a later change of the variable
    // does not split it across devices.
    env.set(Some("cpu"));
    let mut s = Sequential::<B>::new();
    s.add(Input::new(&[3])).unwrap();
    env.set(Some("no-such-device"));
    s.add(Dense::new(2)).unwrap();
    assert_eq!(s.device(), Device::Cpu);
    // cuda: used when the engine sees a GPU, an error naming the variable otherwise.
    env.set(Some("cuda"));
    match seq::<B>() {
        Ok(s) => {
            assert!(gpu.is_cuda(), "cuda accepted without a GPU");
            assert_eq!(s.device(), Device::Cuda(0));
        }
        Err(e) => {
            assert!(!gpu.is_cuda(), "cuda refused with a GPU: {e}");
            let e = e.to_string();
            assert!(e.contains("STRATANET_DEVICE") && e.contains("cuda"), "{e}");
            println!("skipped: no CUDA device (STRATANET_DEVICE=cuda refused: {e})");
        }
    }
}

fn invalid_variable_is_an_error_not_a_panic<B: Backend>() {
    let env = EnvGuard::new();
    env.set(Some("tpu"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    // the first add, add, build, the functional apply that builds a layer, Model::new
    // without weights.
    common::weight_making_fails_naming::<B>("STRATANET_DEVICE", "tpu");
    // on_device and a scope override the variable.
    let mut m = Sequential::<B>::new().on_device(Device::Cpu);
    m.add(Input::new(&[3])).unwrap();
    m.add(Dense::new(2)).unwrap();
    assert_eq!(m.device(), Device::Cpu);
    let f = Device::scope(Device::Cpu, functional::<B>).unwrap();
    assert_eq!(f.device(), Device::Cpu);
    // Loading: the model file is fine, the placement is not.
    m.save(&path).unwrap();
    let e = Sequential::<B>::load(&path).unwrap_err().to_string();
    assert!(e.contains("STRATANET_DEVICE"), "{e}");
    let back = Device::scope(Device::Cpu, || Sequential::<B>::load(&path)).unwrap();
    assert_eq!(back.device(), Device::Cpu);
    // Back to a valid value: the same calls work.
    env.set(Some("cpu"));
    let l = Sequential::<B>::load(&path).unwrap();
    assert_eq!(l.device(), Device::Cpu);
}

engine_tests!(
    placement_follows_the_variable,
    invalid_variable_is_an_error_not_a_panic,
);
