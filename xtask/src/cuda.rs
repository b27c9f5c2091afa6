//! `cargo xtask cuda`: the CUDA compiler, headers and link libraries that candle's `cuda`
//! feature builds with, from PyPI, with no system CUDA.
//!
//! torch 2.11.0 (the wheel `cargo xtask libtorch` installs) depends on PyPI's
//! `cuda-toolkit==13.0.2` meta-package for its CUDA runtime, cuBLAS, cuRAND and NVRTC. This
//! adds the same release's compiler parts to that virtual environment (`nvcc`, `nvvm`: cicc
//! and libdevice, `crt` and `cccl` headers; about 100 MB to download), so every piece comes
//! from one toolkit release and nothing is installed twice. Then it assembles a CUDA root in
//! the same cache, `cuda-13.0/`, of symlinks into the venv's `nvidia/cu13` (`bin`, `nvvm`,
//! `include`, `lib` plus the unversioned `libcudart.so`, `libcublas.so`... that `-l` needs),
//! and a `lib/stubs/libcuda.so`: the CUDA driver's library is not on PyPI (it comes with the
//! NVIDIA driver), yet candle 0.11 has cudarc link it (`dynamic-linking`), so the stub is
//! generated from `cuda.h`, like the toolkit's own stub: every driver function returns
//! `CUDA_ERROR_STUB_LIBRARY`. It is only for linking, and for running here without a driver
//! (candle then reports no CUDA device); on a GPU machine the driver's `libcuda.so.1` is used.
//!
//! - `cargo xtask cuda`: installs (once; instant when cached) and prints the environment
//!   as `export` lines, for `eval "$(cargo xtask cuda)"`.
//! - `cargo xtask cuda --check`: also builds stratanet-candle with `--features cuda`, links
//!   its conformance and device tests and the facade's library tests, and runs
//!   candle's device and conformance tests (without a GPU the `cuda::` copy reports its
//!   skip).

use super::{cache_dir, pip_install, run, run_cargo, venv_dir, venv_python};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The CUDA release of torch 2.11.0's wheel.
pub const CUDA_VERSION: &str = "13.0";
/// The PyPI packages: torch's own `cuda-toolkit` release with the parts candle's build needs
/// (`cudart`, `cublas`, `curand`, `nvrtc` are already torch's dependencies).
const CUDA_TOOLKIT: &str = "cuda-toolkit[nvcc,nvvm,crt,cccl,cudart,cublas,curand,nvrtc]==13.0.2";
/// The compute capability the kernels are compiled for when `CUDA_COMPUTE_CAP` is unset
/// (there is no `nvidia-smi` to ask here): 90, the H100/H200.
const DEFAULT_COMPUTE_CAP: &str = "90";
/// Libraries linked by name (`-lcudart`, ...) that the wheels ship only as `libX.so.N`.
const LINKED: &[&str] = &["cudart", "cublas", "cublasLt", "curand", "nvrtc"];
/// `CUDA_ERROR_STUB_LIBRARY`, what every function of the generated `libcuda` stub returns.
const CUDA_ERROR_STUB_LIBRARY: u32 = 34;

/// The assembled CUDA root: `$STRATANET_CACHE/cuda-13.0` (see [`cache_dir`]).
fn root() -> Result<PathBuf, String> {
    Ok(cache_dir()?.join(format!("cuda-{CUDA_VERSION}")))
}

/// The venv's `site-packages/nvidia/cu13`, where the CUDA wheels install.
fn wheel_tree(python: &Path) -> Result<PathBuf, String> {
    let out = Command::new(python)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .map_err(|e| format!("could not run {}: {e}", python.display()))?;
    let purelib = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || purelib.is_empty() {
        return Err(format!(
            "{} did not print its site-packages",
            python.display()
        ));
    }
    Ok(PathBuf::from(purelib).join("nvidia").join("cu13"))
}

/// Ensures the toolkit is installed and the root assembled; returns the root.
pub fn install() -> Result<PathBuf, String> {
    let root = root()?;
    let stamp = root.join(".stratanet-cuda");
    let stub = root.join("lib").join("stubs").join("libcuda.so");
    // `exists` follows the symlinks: a venv removed since then means installing again.
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(CUDA_TOOLKIT)
        && root.join("bin").join("nvcc").exists()
        && root.join("include").join("crt").exists()
        && stub.exists()
    {
        eprintln!("xtask: CUDA {CUDA_VERSION} already at {}", root.display());
        return Ok(root);
    }
    let python = venv_python()?;
    if !python.exists() {
        std::fs::create_dir_all(cache_dir()?).map_err(|e| e.to_string())?;
        run(Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(venv_dir()?))?;
    }
    pip_install(&python, &[CUDA_TOOLKIT])?;
    let tree = wheel_tree(&python)?;
    if !tree.join("bin").join("nvcc").exists() {
        return Err(format!("{CUDA_TOOLKIT} left no nvcc in {}", tree.display()));
    }
    // The root, built afresh: symlinks into the wheels, the linker names, the stub.
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    }
    let lib = root.join("lib");
    std::fs::create_dir_all(lib.join("stubs")).map_err(|e| format!("{}: {e}", lib.display()))?;
    let link = |target: &Path, name: &Path| {
        std::os::unix::fs::symlink(target, name)
            .map_err(|e| format!("link {} -> {}: {e}", name.display(), target.display()))
    };
    for dir in ["bin", "nvvm", "include"] {
        link(&tree.join(dir), &root.join(dir))?;
    }
    let entries = std::fs::read_dir(tree.join("lib")).map_err(|e| e.to_string())?;
    for entry in entries.flatten() {
        link(&entry.path(), &lib.join(entry.file_name()))?;
    }
    for name in LINKED {
        let prefix = format!("lib{name}.so.");
        let versioned = std::fs::read_dir(tree.join("lib"))
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|f| f.starts_with(&prefix))
            .min_by_key(|f| f.len())
            .ok_or_else(|| format!("no {prefix}* in {}", tree.join("lib").display()))?;
        link(
            &tree.join("lib").join(versioned),
            &lib.join(format!("lib{name}.so")),
        )?;
    }
    write_libcuda_stub(&root.join("include").join("cuda.h"), &stub)?;
    link(
        Path::new("libcuda.so"),
        &lib.join("stubs").join("libcuda.so.1"),
    )?;
    std::fs::write(&stamp, CUDA_TOOLKIT).map_err(|e| format!("{}: {e}", stamp.display()))?;
    eprintln!("xtask: CUDA {CUDA_VERSION} assembled at {}", root.display());
    Ok(root)
}

/// Compiles `stub`, a `libcuda.so.1` that defines every driver function `cuda_h` declares
/// (both the current and the `__CUDA_API_VERSION_INTERNAL` legacy names), each returning
/// `CUDA_ERROR_STUB_LIBRARY`.
fn write_libcuda_stub(cuda_h: &Path, stub: &Path) -> Result<(), String> {
    let include = cuda_h.parent().unwrap_or(Path::new("."));
    let mut names = BTreeSet::new();
    for define in [None, Some("-D__CUDA_API_VERSION_INTERNAL")] {
        let mut cc = Command::new("cc");
        cc.args(["-E", "-P", "-x", "c"]).arg("-I").arg(include);
        cc.args(define).arg("-");
        cc.stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = cc.spawn().map_err(|e| format!("could not run cc: {e}"))?;
        child
            .stdin
            .take()
            .ok_or("no stdin for cc")?
            .write_all(b"#include <cuda.h>\n")
            .map_err(|e| e.to_string())?;
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("cc -E of {} failed", cuda_h.display()));
        }
        names.extend(function_names(&String::from_utf8_lossy(&out.stdout)));
    }
    if !names.contains("cuInit") {
        return Err(format!("no cuInit declared in {}", cuda_h.display()));
    }
    let mut c = String::from("/* Generated by `cargo xtask cuda`: a stub of the CUDA driver. */\n");
    for name in &names {
        c.push_str(&format!(
            "int {name}(void) {{ return {CUDA_ERROR_STUB_LIBRARY}; }}\n"
        ));
    }
    let source = stub.with_extension("c");
    std::fs::write(&source, c).map_err(|e| format!("{}: {e}", source.display()))?;
    run(Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-Wl,-soname,libcuda.so.1", "-o"])
        .arg(stub)
        .arg(&source))?;
    eprintln!("xtask: libcuda stub with {} driver functions", names.len());
    Ok(())
}

/// The identifiers `cuX...` (a capital after `cu`) directly followed by `(` in C source.
fn function_names(source: &str) -> Vec<String> {
    let bytes = source.as_bytes();
    let mut names = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if starts_word && bytes[i..].starts_with(b"cu") {
            let end = i + bytes[i..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            let next = bytes[end..].iter().find(|b| !b.is_ascii_whitespace());
            if end > i + 2 && bytes[i + 2].is_ascii_uppercase() && next == Some(&b'(') {
                names.push(source[i..end].to_string());
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    names
}

/// Whether the system's dynamic loader knows a `libcuda.so.1` (an NVIDIA driver).
fn system_has_libcuda() -> bool {
    Command::new("/sbin/ldconfig")
        .arg("-p")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("libcuda.so.1"))
        .unwrap_or(false)
}

/// The environment that builds candle's CUDA kernels against `root`: `nvcc` on `PATH` (cudarc
/// asks it for the CUDA version), the root under every name the build scripts read, and the
/// compute capability.
pub fn build_env(root: &Path) -> Vec<(&'static str, OsString)> {
    let mut path = root.join("bin").into_os_string();
    if let Some(old) = std::env::var_os("PATH") {
        path.push(":");
        path.push(old);
    }
    let cap = std::env::var_os("CUDA_COMPUTE_CAP").unwrap_or_else(|| DEFAULT_COMPUTE_CAP.into());
    let mut env = vec![("PATH", path)];
    for name in [
        "CUDA_ROOT",
        "CUDA_PATH",
        "CUDA_HOME",
        "CUDA_TOOLKIT_ROOT_DIR",
    ] {
        env.push((name, root.as_os_str().to_owned()));
    }
    env.push(("NVCC", root.join("bin").join("nvcc").into_os_string()));
    env.push(("CUDA_COMPUTE_CAP", cap));
    env
}

/// The root's `lib` (the CUDA runtime, cuBLAS, ...), and its `lib/stubs` when the system has
/// no NVIDIA driver.
fn cuda_library_path(root: &Path) -> OsString {
    let mut v = root.join("lib").into_os_string();
    if !system_has_libcuda() {
        v.push(":");
        v.push(root.join("lib").join("stubs"));
    }
    v
}

/// `LD_LIBRARY_PATH` for running what was built here: the root's `lib` (the CUDA runtime,
/// cuBLAS, ...), and its `lib/stubs` when the system has no NVIDIA driver.
pub fn run_library_path(root: &Path) -> OsString {
    let mut v = cuda_library_path(root);
    if let Some(old) = std::env::var_os("LD_LIBRARY_PATH").filter(|o| !o.is_empty()) {
        v.push(":");
        v.push(old);
    }
    v
}

/// Builds candle's CUDA engine: stratanet-candle's library, its conformance and device tests
/// and the facade's library tests with `--features cuda`, then runs candle's device and conformance tests (the
/// `cuda::` copy skips without a GPU).
pub fn check(root: &Path) -> Result<(), String> {
    let mut env = build_env(root);
    let candle_tests = ["--test", "device", "--test", "conformance"];
    let candle_cuda = ["test", "-p", "stratanet-candle", "--features", "cuda"];
    run_cargo(
        &[&candle_cuda[..], &["--no-run"], &candle_tests].concat(),
        &env,
    )?;
    run_cargo(
        &[
            "test",
            "-p",
            "stratanet",
            "--features",
            "cuda",
            "--lib",
            "--no-run",
        ],
        &env,
    )?;
    env.push(("LD_LIBRARY_PATH", run_library_path(root)));
    run_cargo(&[&candle_cuda[..], &candle_tests].concat(), &env)
}

/// `cargo xtask cuda [--check]`.
pub fn command(args: &[String]) -> Result<(), String> {
    let check_too = match args {
        [] => false,
        [a] if a == "--check" => true,
        _ => return Err("usage: cargo xtask cuda [--check]".into()),
    };
    let root = install()?;
    let mut lines = String::new();
    for (k, v) in build_env(&root) {
        if k == "PATH" {
            let bin = root.join("bin");
            lines += &format!("export PATH=\"{}:$PATH\"\n", bin.to_string_lossy());
        } else {
            lines += &format!("export {k}='{}'\n", v.to_string_lossy());
        }
    }
    // Before the caller's own LD_LIBRARY_PATH, not this process's (cargo run adds to it).
    let lib = cuda_library_path(&root);
    lines += &format!(
        "export LD_LIBRARY_PATH=\"{}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}\"\n",
        lib.to_string_lossy()
    );
    // A reader that stops early (`| head`) is not an error of ours: no panic on a closed pipe.
    let _ = std::io::stdout().write_all(lines.as_bytes());
    if check_too {
        check(&root)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::function_names;

    #[test]
    fn finds_driver_function_names() {
        let src =
            "CUresult cuInit(unsigned int Flags);\nCUresult  cuMemAlloc_v2 (CUdeviceptr *p);\n\
                   typedef struct CUctx_st *CUcontext; int cudaMalloc(void); x = cuda(1); recu(2);";
        assert_eq!(function_names(src), vec!["cuInit", "cuMemAlloc_v2"]);
    }
}
