//! Which device a conformance test runs on: the per-thread device of the running test,
//! the skip of tests on a device the engine cannot use, and the device summary test.

use crate::backend::{Backend, Device};

thread_local! {
    /// The device of the test running on this thread (libtest gives every test a thread).
    static DEVICE: std::cell::Cell<Device> = const { std::cell::Cell::new(Device::Cpu) };
}

/// The device the running conformance test puts its tensors on: the one
/// [`backend_conformance_tests!`](crate::backend_conformance_tests) was stamped out for
/// (`Cpu` unless it was given one).
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
