//! Embeds libtorch's library folder as an rpath in this crate's tests, links libtorch's CUDA
//! library into them, and passes the folder on to dependents (as
//! `DEP_STRATANET_TCH_LIBTORCH_LIB`) so their build scripts can do the same.
//!
//! torch-sys declares `links = "tch"` and prints `cargo:libtorch_lib=...`, which cargo hands
//! to this script as `DEP_TCH_LIBTORCH_LIB`.
//!
//! Why the CUDA lines: torch-sys asks for `-ltorch_cuda`, but the linker runs with
//! `--as-needed` and no symbol of `libtorch_cuda.so` is referenced, so the library is dropped
//! from the binary; libtorch registers its CUDA backend from that library's static
//! initialisers, so without it `tch::Cuda::is_available()` is false even on a GPU machine.
//! `-Wl,--no-as-needed -ltorch_cuda -Wl,--as-needed` keeps it. `cargo:rustc-link-arg` from a
//! library's build script only reaches that package's own tests, examples and binaries, so
//! every package with tch binaries (the facade, the bench, user crates) prints the same lines.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        let has_cuda = Path::new(&lib).join("libtorch_cuda.so").exists();
        if has_cuda {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
            println!("cargo:rustc-link-arg=-ltorch_cuda");
            println!("cargo:rustc-link-arg=-Wl,--as-needed");
        }
        // Read by tests/cuda.rs: whether libtorch_cuda.so must be loaded in the test process.
        println!(
            "cargo:rustc-env=STRATANET_TCH_LIBTORCH_CUDA={}",
            u8::from(has_cuda)
        );
        println!("cargo:libtorch_lib={lib}");
    }
}
