//! Embeds libtorch's library folder as an rpath in the benchmark binary and links libtorch's
//! CUDA library into it when libtorch has one (see `backend-tch/build.rs` for why: without
//! `--no-as-needed` the linker drops `libtorch_cuda.so` and `--device cuda` finds no GPU).
//!
//! It also compiles `cuda_mem.cpp`, a few lines of C++ that read libtorch's CUDA caching
//! allocator statistics (tch binds none), against libtorch's headers and the CUDA runtime
//! headers (`cuda_runtime_api.h`, from the `nvidia` wheel PyTorch installs beside `torch/`,
//! `$STRATANET_CUDA_INCLUDE`, `$CUDA_HOME/include` or `/usr/local/cuda/include`). When
//! libtorch has no `libc10_cuda.so` or those headers are missing, the shim is left out
//! (with a build warning) and the bench reports no allocator figures: cfg `cuda_mem_shim`
//! says which.

use std::path::{Path, PathBuf};

/// A folder holding `cuda_runtime_api.h`.
fn cuda_include(libtorch_lib: &Path) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    for var in ["STRATANET_CUDA_INCLUDE", "CUDA_HOME", "CUDA_PATH"] {
        println!("cargo:rerun-if-env-changed={var}");
        if let Ok(v) = std::env::var(var) {
            let p = PathBuf::from(v);
            candidates.push(p.join("include"));
            candidates.push(p);
        }
    }
    // `site-packages/torch/lib` -> `site-packages/nvidia/<cu13|cuda_runtime|...>/include`.
    if let Some(site) = libtorch_lib.parent().and_then(Path::parent) {
        if let Ok(dirs) = std::fs::read_dir(site.join("nvidia")) {
            let mut found: Vec<PathBuf> =
                dirs.flatten().map(|d| d.path().join("include")).collect();
            found.sort();
            candidates.extend(found);
        }
    }
    candidates.push(PathBuf::from("/usr/local/cuda/include"));
    candidates
        .into_iter()
        .find(|d| d.join("cuda_runtime_api.h").is_file())
}

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-changed=cuda_mem.cpp");
    println!("cargo::rustc-check-cfg=cfg(cuda_mem_shim)");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        return;
    };
    // `.libtorch` is a symlink into a Python `site-packages`: resolve it to find `nvidia/`.
    let lib_dir = &std::fs::canonicalize(&lib).unwrap_or_else(|_| PathBuf::from(&lib));
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    if !lib_dir.join("libtorch_cuda.so").exists() {
        return;
    }
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-ltorch_cuda");
    println!("cargo:rustc-link-arg=-Wl,--as-needed");

    let include = lib_dir.join("..").join("include");
    let why_not = if !lib_dir.join("libc10_cuda.so").exists() {
        Some("libtorch has no libc10_cuda.so".to_string())
    } else if !include.join("c10/cuda/CUDACachingAllocator.h").is_file() {
        Some(format!("no c10/cuda headers under {}", include.display()))
    } else {
        None
    };
    let cuda_inc = cuda_include(lib_dir);
    let why_not = why_not.or_else(|| {
        cuda_inc
            .is_none()
            .then(|| "no cuda_runtime_api.h (set STRATANET_CUDA_INCLUDE or CUDA_HOME)".to_string())
    });
    if let Some(why) = why_not {
        println!("cargo:warning=stratanet-bench: no CUDA allocator statistics: {why}");
        return;
    }
    // libtorch's wheels since 2.7 use the C++11 ABI (`std::__cxx11` symbols in libc10).
    let built = cc::Build::new()
        .cpp(true)
        .file("cuda_mem.cpp")
        .include(&include)
        .include(cuda_inc.unwrap())
        .flag("-std=c++17")
        .define("_GLIBCXX_USE_CXX11_ABI", "1")
        .warnings(false)
        .try_compile("stratanet_bench_cuda_mem");
    match built {
        Ok(()) => {
            println!("cargo:rustc-link-search=native={lib}");
            println!("cargo:rustc-link-lib=dylib=c10_cuda");
            println!("cargo:rustc-link-lib=dylib=c10");
            println!("cargo:rustc-cfg=cuda_mem_shim");
        }
        Err(e) => println!(
            "cargo:warning=stratanet-bench: no CUDA allocator statistics: cuda_mem.cpp did not \
             compile: {e}"
        ),
    }
}
