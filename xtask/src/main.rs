//! `cargo xtask <command>`: project automation.
//!
//! - `cargo xtask libtorch`: makes sure libtorch 2.11.0 is available (idempotent). Unless
//!   `LIBTORCH` is already set, it creates once a Python virtual environment with
//!   `torch==2.11.0` (its `torch/` folder is a complete libtorch) in a cache folder outside
//!   the repository — `$STRATANET_CACHE`, else `$XDG_CACHE_HOME/stratanet`, else
//!   `~/.cache/stratanet` — and points the repository's `.libtorch` symlink at it (the
//!   workspace's `.cargo/config.toml` hands that path to torch-sys as `LIBTORCH`).
//! - `cargo xtask test`: `libtorch`, then every test of the workspace on both engines,
//!   including the `#[ignore]`d ones that need Python (`STRATANET_PYTHON` set to the venv's
//!   interpreter; they fail without it); then `mpi` and the data-parallel test
//!   (`tests/distributed.rs`, feature `mpi`, both engines, under `mpirun -np 2`; it fails
//!   here without `mpirun`), and `tests/nccl.rs` (feature `nccl`: builds without CUDA;
//!   clear errors and stand-in libraries without a GPU).
//! - `cargo xtask mpi`: installs Open MPI (`libopenmpi-dev`, `openmpi-bin`) and libclang
//!   with `apt-get` when missing, for the `mpi` feature (see `mpi.rs`).
//! - `cargo xtask bench [--quick] [ARGS]`: `libtorch`, then the benchmark program
//!   (`bench/`, release build): stratanet `fit`/`predict` against hand-written loops on
//!   candle and tch and against PyTorch from Python; prints the table and writes
//!   `target/bench/results.json`. Other arguments go to the program (`--threads N`,
//!   `--workloads mlp,cnn,lstm`, `--engines candle,tch`, `--no-python`, `--no-rss`,
//!   `--device cuda`: on the first GPU, tch and PyTorch; stops with an error naming the
//!   engine when it sees no CUDA device).
//! - `cargo xtask gpu-pack DIR`: `libtorch`, then release builds of the CUDA tests, the bench
//!   and the quickstart example, stripped, with `bench_torch.py` and a `run.sh`, in `DIR`:
//!   `bash DIR/run.sh` on a machine with an NVIDIA GPU and PyTorch 2.11 (no Rust toolchain)
//!   runs them all and writes `DIR/out/summary.json`. With the CUDA toolkit of `cargo xtask
//!   cuda`, candle's CUDA conformance suite too (`bin/candle_conformance`).
//! - `cargo xtask cuda [--check]`: installs the CUDA compiler and headers candle's `cuda`
//!   feature builds with, from PyPI, into the libtorch cache, and prints the environment;
//!   `--check` builds candle's CUDA engine with it (see `cuda.rs`). `cargo xtask test` ends
//!   with that check, so the CUDA build cannot rot on a machine without a GPU.

mod cuda;
mod mpi;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The libtorch version tch 0.24 binds.
const TORCH_VERSION: &str = "2.11.0";
/// Python packages installed next to torch: the fixture script and Python interop tests
/// use them.
const EXTRA_PACKAGES: &[&str] = &[
    "safetensors",
    "numpy",
    "scikit-learn",
    "onnxruntime",
    "tensorboard",
    // Keras' own loaders and layers are the reference of some tests (e.g. `imdb_matches_keras`).
    KERAS_PACKAGE,
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `python -m pip install --quiet PACKAGES` (into the venv that `python` belongs to).
fn pip_install(python: &Path, packages: &[&str]) -> Result<(), String> {
    run(Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
        ])
        .args(packages))
}

fn run(cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask: {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not run {:?}: {e}", cmd.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{:?} failed ({status})", cmd.get_program()))
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Runs `cargo <args>` (see [`run`]) with the environment variables `envs` added.
fn run_cargo(args: &[&str], envs: &[(&str, std::ffi::OsString)]) -> Result<(), String> {
    let mut c = cargo();
    c.args(args).envs(envs.iter().map(|(k, v)| (k, v)));
    run(&mut c)
}

fn cache_dir() -> Result<PathBuf, String> {
    if let Some(d) = std::env::var_os("STRATANET_CACHE") {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(d).join("stratanet"));
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache").join("stratanet"))
        .ok_or_else(|| "no cache folder: set STRATANET_CACHE".to_string())
}

/// The virtual environment holding torch.
fn venv_dir() -> Result<PathBuf, String> {
    Ok(cache_dir()?.join(format!("torch-{TORCH_VERSION}")))
}

/// The venv's python.
pub fn venv_python() -> Result<PathBuf, String> {
    Ok(venv_dir()?.join("bin").join("python"))
}

fn python_torch_dir(python: &Path) -> Option<PathBuf> {
    let out = Command::new(python)
        .args([
            "-c",
            "import torch, os; print(torch.__version__); print(os.path.dirname(torch.__file__))",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let version = lines.next()?.trim();
    let dir = lines.next()?.trim();
    (version.split('+').next() == Some(TORCH_VERSION)).then(|| PathBuf::from(dir))
}

/// Ensures libtorch is available; returns the folder to give torch-sys as `LIBTORCH`.
fn libtorch() -> Result<PathBuf, String> {
    let link = repo_root().join(".libtorch");
    // `.cargo/config.toml` sets LIBTORCH to the `.libtorch` link for every process cargo
    // starts, this one included: only another value is the user's own libtorch.
    let user_libtorch = std::env::var_os("LIBTORCH")
        .map(PathBuf::from)
        .filter(|p| p != &link);
    if let Some(user) = user_libtorch {
        if !user.join("lib").is_dir() {
            return Err(format!(
                "LIBTORCH={} has no lib/ folder: point it at a libtorch {TORCH_VERSION}",
                user.display()
            ));
        }
        eprintln!(
            "xtask: using LIBTORCH={} from the environment",
            user.display()
        );
        return Ok(user);
    }
    let venv = venv_dir()?;
    let python = venv_python()?;
    let torch = match python_torch_dir(&python) {
        Some(dir) => {
            eprintln!(
                "xtask: torch {TORCH_VERSION} already installed in {}",
                venv.display()
            );
            dir
        }
        None => {
            std::fs::create_dir_all(cache_dir()?).map_err(|e| e.to_string())?;
            if !python.exists() {
                run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
            }
            let mut pip = Command::new(&python);
            pip.args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
            ])
            .arg(format!("torch=={TORCH_VERSION}"))
            .args(EXTRA_PACKAGES);
            run(&mut pip)?;
            python_torch_dir(&python).ok_or_else(|| {
                format!(
                    "torch {TORCH_VERSION} did not import from {}",
                    python.display()
                )
            })?
        }
    };
    // Python packages the fixture script and interop tests use (cheap when present).
    let ok = Command::new(&python)
        .args([
            "-c",
            "import safetensors, numpy, sklearn, onnxruntime, tensorboard, keras",
        ])
        .env("KERAS_BACKEND", "torch")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        pip_install(&python, EXTRA_PACKAGES)?;
    }
    let current = std::fs::read_link(&link).ok();
    if current.as_deref() != Some(torch.as_path()) {
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&torch, &link).map_err(|e| {
            format!(
                "could not link {} -> {}: {e}",
                link.display(),
                torch.display()
            )
        })?;
    }
    eprintln!("xtask: libtorch {TORCH_VERSION} is at {}", torch.display());
    eprintln!("xtask: linked from {}", link.display());
    // Hand torch-sys the link (the same value `.cargo/config.toml` gives plain cargo
    // commands), so switching between them does not rebuild torch-sys.
    Ok(link)
}

fn test() -> Result<(), String> {
    let torch = libtorch()?;
    let python = venv_python()?;
    // The Python tests are mandatory here: no interpreter is an error, not a skip.
    if !python.exists() {
        return Err(format!(
            "the Python tests need {}, which `cargo xtask libtorch` should have created",
            python.display()
        ));
    }
    // Doc tests are linked by rustdoc, outside the build scripts that embed libtorch's
    // rpath in tests and examples: give them the library path.
    let lib = torch.join("lib");
    let ld_path = match std::env::var_os("LD_LIBRARY_PATH") {
        Some(old) if !old.is_empty() => {
            let mut v = lib.clone().into_os_string();
            v.push(":");
            v.push(old);
            v
        }
        _ => lib.clone().into_os_string(),
    };
    let mut torch_env = vec![
        ("LIBTORCH", torch.into_os_string()),
        ("LD_LIBRARY_PATH", ld_path),
        ("STRATANET_PYTHON", python.into_os_string()),
    ];
    // A one-shot CI build gains nothing from incremental caches, which would add
    // ~15 GB to the target folder.
    if std::env::var_os("CI").is_some() {
        torch_env.push(("CARGO_INCREMENTAL", "0".into()));
    }
    // Every crate, both engines: unit, conformance, parity, fixture, integration and doc
    // tests.
    run_cargo(
        &[
            "test",
            "--workspace",
            "--features",
            "stratanet/tch,stratanet/ndarray",
        ],
        &torch_env,
    )?;
    // The tests that need Python: `#[ignore = "needs Python: ..."]` (a plain `cargo test`
    // reports them as ignored), run here with the interpreter; they fail without it. Every
    // other `#[ignore]` of the workspace is a fixture generator named `regenerate_*`, run by
    // hand only (it rewrites committed files), hence `--skip regenerate_`. `--tests` leaves
    // out the doc tests, whose ```ignore blocks are not meant to run.
    run_cargo(
        &[
            "test",
            "--workspace",
            "--features",
            "stratanet/tch,stratanet/ndarray",
            "--tests",
            "--",
            "--ignored",
            "--skip",
            "regenerate_",
        ],
        &torch_env,
    )?;
    // Data-parallel training over MPI, both engines: mandatory here (Open MPI installed
    // first; the test fails rather than skips without `mpirun`).
    mpi::install()?;
    let mut mpi_env = torch_env.clone();
    mpi_env.push(("STRATANET_REQUIRE_MPI", "1".into()));
    run_cargo(
        &[
            "test",
            "-p",
            "stratanet",
            "--features",
            "mpi,tch",
            "--test",
            "distributed",
        ],
        &mpi_env,
    )?;
    // NCCL (feature `nccl`, implies `mpi`): compiles without CUDA or libnccl; without a GPU
    // its tests check the clear errors and run `Nccl` over stand-in libcuda/libnccl (the GPU
    // test itself is ignored; run it on a GPU machine with `-- --ignored`).
    run_cargo(
        &[
            "test",
            "-p",
            "stratanet",
            "--features",
            "nccl,tch",
            "--test",
            "nccl",
        ],
        &mpi_env,
    )?;
    // The examples build and the quickstart learns on both engines.
    run_cargo(
        &["build", "--release", "--features", "tch", "--examples"],
        &torch_env,
    )?;
    // candle's CUDA engine compiles and links (CUDA from PyPI; no GPU needed).
    cuda::check(&cuda::install()?)?;
    Ok(())
}

/// The Keras the bench's Keras column runs (on its torch backend, the venv's torch).
const KERAS_PACKAGE: &str = "keras==3.15.1";

/// Installs [`KERAS_PACKAGE`] into the venv unless `import keras` works there on the torch
/// backend; a failed install is reported and the bench runs without its Keras column.
fn ensure_keras(python: &Path) {
    let works = || {
        Command::new(python)
            .args(["-c", "import keras; assert keras.__version__ == '3.15.1'"])
            .env("KERAS_BACKEND", "torch")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if works() {
        return;
    }
    if let Err(e) = pip_install(python, &[KERAS_PACKAGE]) {
        eprintln!("xtask: could not install {KERAS_PACKAGE} ({e}): no Keras column");
    } else if !works() {
        eprintln!("xtask: {KERAS_PACKAGE} installed but does not import: no Keras column");
    }
}

fn bench(args: &[String]) -> Result<(), String> {
    let torch = libtorch()?;
    let python = venv_python()?;
    if python.exists() {
        ensure_keras(&python);
    }
    let mut c = cargo();
    c.args(["run", "--release", "--quiet", "-p", "stratanet-bench", "--"])
        .args(args)
        .env("LIBTORCH", &torch);
    if python.exists() {
        c.env("STRATANET_PYTHON", &python);
    }
    run(&mut c)
}

/// The run script of a GPU pack (see `gpu_pack`).
const GPU_PACK_RUN_SH: &str = include_str!("gpu_pack_run.sh");

/// `cargo build`/`cargo test --no-run` with JSON messages; returns the executables built.
fn build_executables(args: &[&str], torch: &Path) -> Result<Vec<PathBuf>, String> {
    build_executables_env(args, torch, &[])
}

/// [`build_executables`] with more environment variables (the CUDA toolkit's).
fn build_executables_env(
    args: &[&str],
    torch: &Path,
    envs: &[(&str, std::ffi::OsString)],
) -> Result<Vec<PathBuf>, String> {
    let mut c = cargo();
    c.args(args)
        .args(["--release", "--message-format=json-render-diagnostics"])
        .env("LIBTORCH", torch)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stderr(std::process::Stdio::inherit());
    eprintln!("xtask: {c:?}");
    let out = c
        .output()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo {} failed ({})", args.join(" "), out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let key = "\"executable\":\"";
    let exes = text
        .lines()
        .filter(|l| l.contains("\"reason\":\"compiler-artifact\""))
        .filter_map(|l| {
            let start = l.find(key)? + key.len();
            let end = start + l[start..].find('"')?;
            Some(PathBuf::from(&l[start..end]))
        })
        .collect();
    Ok(exes)
}

/// `readelf -d` of `exe` lists `libtorch_cuda.so` as NEEDED.
fn needs_libtorch_cuda(exe: &Path) -> Result<bool, String> {
    let out = Command::new("readelf")
        .arg("-d")
        .arg(exe)
        .output()
        .map_err(|e| format!("could not run readelf (binutils): {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .any(|l| l.contains("(NEEDED)") && l.contains("[libtorch_cuda.so]")))
}

/// `cargo xtask gpu-pack DIR`: release builds of the CUDA tests (`stratanet-tch`'s
/// `conformance` and `cuda`, the facade's `cuda_parity`), the bench and the quickstart example, stripped,
/// with `bench_torch.py` and `run.sh`, in `DIR` (a machine with an NVIDIA GPU, PyTorch 2.11
/// and no Rust toolchain runs `bash DIR/run.sh`). The binaries link libtorch dynamically
/// and find it through the `LD_LIBRARY_PATH` that `run.sh` sets to PyTorch's `torch/lib`;
/// libtorch itself is not copied. Also candle's conformance suite built with `--features
/// cuda` (`bin/candle_conformance.gz`; it finds the CUDA runtime and cuBLAS in PyTorch's
/// `nvidia/cu13/lib`) and the CUDA driver stub for machines without a driver (`bin/stubs`).
fn gpu_pack(args: &[String]) -> Result<(), String> {
    let dir = match args {
        [d] => PathBuf::from(d),
        _ => return Err("usage: cargo xtask gpu-pack DIR".into()),
    };
    let torch = libtorch()?;
    if !torch.join("lib").join("libtorch_cuda.so").exists() {
        return Err(format!(
            "{} has no lib/libtorch_cuda.so: a CPU-only libtorch cannot make a GPU pack",
            torch.display()
        ));
    }
    let mut exes = build_executables(
        &[
            "test",
            "--no-run",
            "-p",
            "stratanet-tch",
            "--test",
            "conformance",
            "--test",
            "cuda",
        ],
        &torch,
    )?;
    exes.extend(build_executables(
        &[
            "test",
            "--no-run",
            "-p",
            "stratanet",
            "--features",
            "tch",
            "--test",
            "cuda_parity",
            "--test",
            "devices",
            "--test",
            "device_env",
        ],
        &torch,
    )?);
    // candle's CUDA engine needs `cargo xtask cuda`'s toolkit to build.
    let cuda_root = cuda::install()?;
    let cuda_env = cuda::build_env(&cuda_root);
    // The bench with candle's CUDA engine beside libtorch, built before the plain bench
    // (both land on the same target path) and set aside at once.
    let candle_bench = dir.join(".stratanet-bench-candle-cuda");
    for exe in build_executables_env(
        &[
            "build",
            "-p",
            "stratanet-bench",
            "--bin",
            "stratanet-bench",
            "--features",
            "cuda",
        ],
        &torch,
        &cuda_env,
    )? {
        std::fs::copy(&exe, &candle_bench).map_err(|e| format!("copy {}: {e}", exe.display()))?;
    }
    exes.extend(build_executables(
        &["build", "-p", "stratanet-bench", "--bin", "stratanet-bench"],
        &torch,
    )?);
    exes.extend(build_executables(
        &[
            "build",
            "-p",
            "stratanet",
            "--features",
            "tch",
            "--example",
            "quickstart",
        ],
        &torch,
    )?);
    // candle's CUDA conformance suite, built with the toolkit of `cargo xtask cuda`.
    let candle_exes = build_executables_env(
        &[
            "test",
            "--no-run",
            "-p",
            "stratanet-candle",
            "--features",
            "cuda",
            "--test",
            "conformance",
        ],
        &torch,
        &cuda_env,
    )?;
    let bin = dir.join("bin");
    if bin.exists() {
        std::fs::remove_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    }
    std::fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let mut total = 0u64;
    for exe in &exes {
        let file = exe
            .file_name()
            .and_then(|f| f.to_str())
            .ok_or_else(|| format!("odd executable path {}", exe.display()))?;
        // Test binaries are `name-<hash>`; examples and bins have no hash.
        let name = match file.rsplit_once('-') {
            Some((stem, hash))
                if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) =>
            {
                stem
            }
            _ => file,
        };
        if !needs_libtorch_cuda(exe)? {
            return Err(format!(
                "{} does not list libtorch_cuda.so as NEEDED: its build script lacks \
                 -Wl,--no-as-needed -ltorch_cuda",
                exe.display()
            ));
        }
        total += pack_binary(exe, &bin, name)?;
    }
    // candle's binaries link the CUDA runtime and driver, not libtorch; `bin/stubs` holds the
    // driver stub that `run.sh` puts on the library path only on a machine with no driver.
    for exe in &candle_exes {
        // 51 MB stripped (candle's kernels for sm_90 and their PTX), ~12 MB gzipped.
        total += pack_binary(exe, &bin, "candle_conformance")?;
    }
    // The candle-CUDA bench: libtorch and candle's kernels.
    total += pack_binary(&candle_bench, &bin, "stratanet-bench-candle-cuda")?;
    std::fs::remove_file(&candle_bench).map_err(|e| format!("{}: {e}", candle_bench.display()))?;
    let stubs = bin.join("stubs");
    std::fs::create_dir_all(&stubs).map_err(|e| format!("{}: {e}", stubs.display()))?;
    std::fs::copy(
        cuda_root.join("lib").join("stubs").join("libcuda.so"),
        stubs.join("libcuda.so.1"),
    )
    .map_err(|e| format!("copy the libcuda stub: {e}"))?;
    let root = repo_root();
    for script in ["bench_torch.py", "bench_keras.py"] {
        std::fs::copy(root.join("bench").join(script), bin.join(script))
            .map_err(|e| format!("copy {script}: {e}"))?;
    }
    let script = dir.join("run.sh");
    std::fs::write(&script, GPU_PACK_RUN_SH).map_err(|e| format!("{}: {e}", script.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", script.display()))?;
    eprintln!(
        "xtask: GPU pack in {} ({} binaries, {:.1} MB); run it with `bash {}`",
        dir.display(),
        exes.len() + candle_exes.len() + 1,
        total as f64 / 1e6,
        script.display()
    );
    Ok(())
}

/// Copies `exe` into the pack's `bin` as `name`, stripped and gzipped (`run.sh` unpacks every
/// `*.gz` into its output folder; the pack stays under 60 MB), and returns the packed size.
fn pack_binary(exe: &Path, bin: &Path, name: &str) -> Result<u64, String> {
    let dest = bin.join(name);
    std::fs::copy(exe, &dest).map_err(|e| format!("copy {}: {e}", exe.display()))?;
    run(Command::new("strip").arg(&dest))?;
    run(Command::new("gzip").args(["-9", "-f"]).arg(&dest))?;
    let size = std::fs::metadata(bin.join(format!("{name}.gz"))).map_or(0, |m| m.len());
    eprintln!("xtask: packed {name}.gz ({:.1} MB)", size as f64 / 1e6);
    Ok(size)
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask <command>\n\ncommands:\n  libtorch  install libtorch {TORCH_VERSION} (once) and report where it is\n  test      libtorch, then every test of the workspace on both engines\n  bench     libtorch, then the benchmarks (--quick for a short run; see bench/)\n  gpu-pack DIR  release CUDA tests, bench and an example with a run.sh, for a GPU machine\n  cuda [--check]  CUDA {} compiler from PyPI for candle's `cuda` feature (--check: build it)\n  mpi       Open MPI and libclang with apt-get when missing (feature `mpi`)", cuda::CUDA_VERSION
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("libtorch") => libtorch().map(|p| {
            let resolved = std::fs::canonicalize(&p).unwrap_or(p);
            println!("{}", resolved.display())
        }),
        Some("test") => test(),
        Some("bench") => bench(&args[1..]),
        Some("gpu-pack") => gpu_pack(&args[1..]),
        Some("cuda") => cuda::command(&args[1..]),
        Some("mpi") => mpi::install(),
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
