//! Embeds libtorch's library folder as an rpath in the benchmark binary and links libtorch's
//! CUDA library into it when libtorch has one (see `backend-tch/build.rs` for why: without
//! `--no-as-needed` the linker drops `libtorch_cuda.so` and `--device cuda` finds no GPU).

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        if Path::new(&lib).join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
            println!("cargo:rustc-link-arg=-ltorch_cuda");
            println!("cargo:rustc-link-arg=-Wl,--as-needed");
        }
    }
}
