//! Embeds libtorch's library folder as an rpath in this crate's tests, and passes it on to
//! dependents (as `DEP_STRATANET_TCH_LIBTORCH_LIB`) so they can do the same.
//!
//! torch-sys declares `links = "tch"` and prints `cargo:libtorch_lib=...`, which cargo hands
//! to this script as `DEP_TCH_LIBTORCH_LIB`.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        println!("cargo:libtorch_lib={lib}");
    }
}
