//! `cargo xtask bench`: stratanet `fit`/`predict` against hand-written loops on the raw
//! engines (candle-core, tch), against PyTorch from Python on the same libtorch (default,
//! `foreach` and `fused` Adam; the CNN also in channels-last), and against Keras 3 on its
//! torch backend.
//!
//! The driver (no `--case`) runs every measurement in a fresh child process of this binary
//! (so peak-RSS figures and thread pools do not leak between cases) or of the Python
//! scripts, `--repeats` rounds (default 5) of every case of a workload, interleaved (A B C,
//! then a seeded shuffle per round: C A B, B C A …) so that drift and a case's position in
//! the round hit every variant alike. It prints tables of median samples/s and
//! of ratios taken per round (`median [min–max]`), and writes `target/bench/results.json`:
//! per case and phase `median`, `min`, `max` and every run, then the ratios (`kind:
//! "ratio"`).
//!
//! ```text
//! stratanet-bench [--quick] [--repeats N] [--threads N] [--workloads mlp,cnn,lstm]
//!                 [--engines candle,tch] [--python PATH] [--no-python] [--no-rss]
//!                 [--out DIR] [--device cpu|cuda] [--precision f32,bf16,f16]
//! ```
//!
//! `--precision` (default `f32`) adds, per 16-bit type, stratanet's `fit`/`predict` under
//! the matching Keras policy (`mixed_bfloat16`, `mixed_float16`: f32 variables, 16-bit
//! compute) as the variant `fit_bf16` / `fit_f16`, and PyTorch's same model under
//! `torch.autocast(dtype=…)` as `pytorch_bf16` / `pytorch_f16`, and prints a mixed
//! precision table (16-bit vs f32, stratanet vs PyTorch autocast).
//!
//! `--device cuda` runs every case on the first CUDA device (stratanet's models and data
//! on `Device::Cuda(0)`, the raw tch loop on `tch::Device::Cuda(0)`, PyTorch on `"cuda"`),
//! synchronizing before each timer is read. It checks first that every requested engine
//! sees a CUDA device and stops with an error naming the engine otherwise (a CPU-only
//! libtorch, no visible GPU, or candle built without the bench's `cuda` feature); with
//! `--device cuda` the engines default to `tch`, and to `candle,tch` in a build with the
//! `cuda` feature (`cargo xtask gpu-pack` packs one as `stratanet-bench-candle-cuda`).

mod cuda_mem;
mod raw_candle;
mod raw_tch;
mod report;
mod strata;
mod tables;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A benchmark workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// MLP 784-512-256-10, batch 128.
    Mlp,
    /// Conv2D(32,3)-MaxPool-Conv2D(64,3)-MaxPool-Dense(128)-Dense(10), batch 64.
    Cnn,
    /// LSTM(128) over 50 steps of 32 features, then Dense(10), batch 64.
    Lstm,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Mlp => "mlp",
            Workload::Cnn => "cnn",
            Workload::Lstm => "lstm",
        }
    }
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "mlp" => Ok(Workload::Mlp),
            "cnn" => Ok(Workload::Cnn),
            "lstm" => Ok(Workload::Lstm),
            o => Err(format!("unknown workload {o} (mlp, cnn, lstm)")),
        }
    }
    /// Batch size: 128 for the MLP, 64 otherwise; `STRATANET_BENCH_BATCH=N` sets it for
    /// every workload (child processes and `bench_torch.py` read the same variable).
    pub fn batch(self) -> usize {
        if let Some(b) = std::env::var("STRATANET_BENCH_BATCH")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&b| b > 0)
        {
            return b;
        }
        match self {
            Workload::Mlp => 128,
            Workload::Cnn | Workload::Lstm => 64,
        }
    }
    /// Shape of one sample in stratanet's (Keras, channels-last) layout.
    pub fn sample_shape(self) -> Vec<usize> {
        match self {
            Workload::Mlp => vec![784],
            Workload::Cnn => vec![28, 28, 1],
            Workload::Lstm => vec![50, 32],
        }
    }
    pub fn sample_len(self) -> usize {
        self.sample_shape().iter().product()
    }
}

/// Generated data: `n` samples (pixels uniform in [0, 1), sequences standard normal) and
/// labels in 0..10, from `stratanet::random::Rng` seeded by the workload.
pub fn make_data(w: Workload, n: usize) -> (Vec<f32>, Vec<i64>) {
    let mut rng = stratanet::random::Rng::new(1000 + w as u64);
    let len = n * w.sample_len();
    let x: Vec<f32> = match w {
        Workload::Lstm => (0..len).map(|_| rng.standard_normal() as f32).collect(),
        _ => (0..len).map(|_| rng.next_f64() as f32).collect(),
    };
    let y: Vec<i64> = (0..n).map(|_| rng.below(10) as i64).collect();
    (x, y)
}

/// The shuffle of epoch `epoch` (the same for every Rust variant).
pub fn permutation(n: usize, epoch: usize) -> Vec<usize> {
    stratanet::random::Rng::new(77 + epoch as u64).permutation(n)
}

/// [`permutation`] as the index type of an engine (`u32` for candle, `i64` for libtorch).
pub fn permutation_as<T: TryFrom<usize>>(n: usize, epoch: usize) -> Vec<T>
where
    T::Error: std::fmt::Debug,
{
    permutation(n, epoch)
        .into_iter()
        .map(|i| T::try_from(i).expect("sample index fits the index type"))
        .collect()
}

/// What one case measures.
#[derive(Clone, Debug)]
pub struct CaseSpec {
    pub workload: Workload,
    /// Training samples per epoch.
    pub n: usize,
    /// Timed epochs (after a warm-up of a few steps).
    pub epochs: usize,
    /// Samples for the timed predict.
    pub n_predict: usize,
    /// Timed predict calls over those samples, back to back (the predict figure is
    /// `n_predict * predict_passes` over their total time): one call of the bench's sizes
    /// takes about 0.1-0.2 s, short enough for a passing burst of other work to move it.
    pub predict_passes: usize,
    /// Run on the first CUDA device instead of the CPU.
    pub cuda: bool,
    /// The dtype policy of stratanet's model (`fit_bf16`, `fit_f16` variants).
    pub policy: stratanet::mixed_precision::Policy,
}

impl CaseSpec {
    /// Samples the timed predict covers: `n_predict` per pass, `predict_passes` passes.
    pub fn predict_samples(&self) -> usize {
        self.n_predict * self.predict_passes
    }
}

/// What one case reports.
#[derive(Default, Debug)]
pub struct CaseResult {
    pub train_secs: f64,
    pub predict_secs: f64,
    /// `(epoch, VmRSS kB, VmHWM kB)` after each epoch (fit's RSS case only).
    pub rss: Vec<(usize, u64, u64)>,
    /// Per timed epoch: `{"epoch", "host_reads"?, "gpu_peak_bytes"?, ...}` (see
    /// `strata::run` and `raw_tch::run`).
    pub epochs: Vec<Value>,
}

/// `VmRSS` and `VmHWM` of this process, in kB.
pub fn rss_kb() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn arg_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Child process: `--case WORKLOAD ENGINE VARIANT --n N --epochs E --np NP --threads T`.
fn run_case(args: &[String]) -> AnyResult<()> {
    let i = args.iter().position(|a| a == "--case").unwrap();
    let w = Workload::parse(&args[i + 1])?;
    let engine = args[i + 2].clone();
    let variant = args[i + 3].clone();
    let num = |name: &str| -> AnyResult<usize> {
        Ok(arg_value(args, name)
            .ok_or(format!("missing {name}"))?
            .parse()?)
    };
    let threads = num("--threads")?;
    // First thing: both engines compute with the same number of threads.
    stratanet::set_num_threads(threads)?;
    let spec = CaseSpec {
        workload: w,
        n: num("--n")?,
        epochs: num("--epochs")?,
        n_predict: num("--np")?,
        predict_passes: arg_value(args, "--passes").map_or(Ok(1), |p| p.parse())?,
        cuda: parse_device(arg_value(args, "--device"))?,
        policy: variant_policy(&variant),
    };
    let variant = match variant.as_str() {
        "fit_bf16" | "fit_f16" => "fit".to_string(),
        _ => variant,
    };
    if variant.starts_with("raw") {
        // The raw loops run under the `malloc` settings the engines apply on their first
        // device call, so fit/raw compares the code above the engine, not two allocator
        // configurations (with glibc's defaults the raw tch loops swung between two speeds
        // from one process to the next; BENCHMARKS.md run 19).
        stratanet::backend::malloc::tune_once();
    }
    let r = match (engine.as_str(), variant.as_str()) {
        ("candle", "fit") => strata::run::<stratanet::Candle>(&spec, false)?,
        ("tch", "fit") => strata::run::<stratanet::Tch>(&spec, false)?,
        ("candle", "rss") => strata::run::<stratanet::Candle>(&spec, true)?,
        ("tch", "rss") => strata::run::<stratanet::Tch>(&spec, true)?,
        ("candle", "raw") => raw_candle::run(&spec)?,
        ("tch", "raw") => raw_tch::run(&spec, false)?,
        ("tch", "raw_cl") => raw_tch::run(&spec, true)?,
        (e, v) => return Err(format!("unknown case {e} {v}").into()),
    };
    let out = json!({
        "train_secs": r.train_secs,
        "predict_secs": r.predict_secs,
        "rss": r.rss.iter().map(|&(e, rss, hwm)| json!({"epoch": e + 1, "vmrss_kb": rss, "vmhwm_kb": hwm})).collect::<Vec<_>>(),
        "epochs": r.epochs,
    });
    println!("RESULT {out}");
    Ok(())
}

/// The policy of a stratanet variant: `fit_bf16`, `fit_f16`, else float32.
fn variant_policy(variant: &str) -> stratanet::mixed_precision::Policy {
    use stratanet::mixed_precision::Policy;
    match variant {
        "fit_bf16" => Policy::MixedBFloat16,
        "fit_f16" => Policy::MixedFloat16,
        _ => Policy::Float32,
    }
}

/// `--precision`: a comma list of `f32`, `bf16`, `f16` (always including `f32`).
fn parse_precisions(v: Option<String>) -> AnyResult<Vec<String>> {
    let mut out = vec!["f32".to_string()];
    for p in v.unwrap_or_default().split(',').filter(|p| !p.is_empty()) {
        match p {
            "f32" => {}
            "bf16" | "f16" => out.push(p.to_string()),
            o => return Err(format!("unknown --precision {o} (f32, bf16, f16)").into()),
        }
    }
    Ok(out)
}

/// `--device`: `cpu` (default) or `cuda`; true for CUDA.
fn parse_device(v: Option<String>) -> AnyResult<bool> {
    match v.as_deref() {
        None | Some("cpu") => Ok(false),
        Some("cuda") => Ok(true),
        Some(o) => Err(format!("unknown --device {o} (cpu, cuda)").into()),
    }
}

/// Whether `engine` can run on a CUDA device in this build, and why not.
fn cuda_check(engine: &str) -> Result<(), String> {
    use stratanet::backend::BackendBase;
    match engine {
        "tch" if tch::Cuda::is_available() => Ok(()),
        "tch" => Err(format!(
            "tch: libtorch reports no CUDA device (tch::Cuda::device_count() = {}; a CPU-only \
             libtorch, or no GPU visible to this process)",
            tch::Cuda::device_count()
        )),
        "candle" if <stratanet::Candle as BackendBase>::cuda_is_available() => Ok(()),
        "candle" => Err(if cfg!(feature = "cuda") {
            "candle: the CUDA driver reports no device"
        } else {
            "candle: this bench was built without its `cuda` feature (`cargo xtask gpu-pack` \
                 builds one with it as stratanet-bench-candle-cuda); run `--engines tch`"
        }
        .to_string()),
        other => Err(format!("unknown engine {other}")),
    }
}

struct Options {
    cuda: bool,
    /// Rounds: every case runs once per round, the cases of a workload interleaved.
    repeats: usize,
    /// `f32`, then the 16-bit types of `--precision`.
    precisions: Vec<String>,
    quick: bool,
    threads: usize,
    workloads: Vec<Workload>,
    engines: Vec<String>,
    python: Option<PathBuf>,
    rss: bool,
    out: PathBuf,
}

/// Timed predict calls per run in a full bench (see [`CaseSpec::predict_passes`]).
const PREDICT_PASSES: usize = 4;

fn sizes(w: Workload, engine: &str, quick: bool, cuda: bool) -> CaseSpec {
    // (samples per epoch, timed epochs, predict samples)
    let (n, epochs, np) = match (w, quick) {
        (Workload::Mlp, false) => (20_000, 3, 20_000),
        (Workload::Mlp, true) => (20_000, 1, 10_000),
        (Workload::Cnn, false) if engine == "candle" => (2_048, 2, 2_048),
        (Workload::Cnn, false) => (4_096, 2, 4_096),
        (Workload::Cnn, true) => (1_024, 1, 1_024),
        (Workload::Lstm, false) if engine == "candle" => (1_024, 2, 1_024),
        (Workload::Lstm, false) => (2_048, 2, 2_048),
        (Workload::Lstm, true) => (512, 1, 512),
    };
    CaseSpec {
        workload: w,
        n,
        epochs,
        n_predict: np,
        predict_passes: if quick { 1 } else { PREDICT_PASSES },
        cuda,
        policy: stratanet::mixed_precision::Policy::Float32,
    }
}

fn child(opts: &Options, spec: &CaseSpec, engine: &str, variant: &str) -> AnyResult<Value> {
    let exe = std::env::current_exe()?;
    let mut c = Command::new(exe);
    c.args(["--case", spec.workload.name(), engine, variant])
        .args(["--n", &spec.n.to_string()])
        .args(["--epochs", &spec.epochs.to_string()])
        .args(["--np", &spec.n_predict.to_string()])
        .args(["--passes", &spec.predict_passes.to_string()])
        .args(["--threads", &opts.threads.to_string()])
        .args(["--device", if opts.cuda { "cuda" } else { "cpu" }])
        .env("RAYON_NUM_THREADS", opts.threads.to_string());
    parse_result(c, &format!("{} {engine} {variant}", spec.workload.name()))
}

fn parse_result(mut c: Command, what: &str) -> AnyResult<Value> {
    eprintln!("bench: {what} ...");
    let out = c.output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| format!("{what}: no RESULT line in\n{stdout}"))?;
    Ok(serde_json::from_str(line)?)
}

fn write_data(dir: &Path, w: Workload, n: usize) -> AnyResult<(PathBuf, PathBuf)> {
    let (x, y) = make_data(w, n);
    let xp = dir.join(format!("{}_x_{n}.f32", w.name()));
    let yp = dir.join(format!("{}_y_{n}.i64", w.name()));
    std::fs::write(
        &xp,
        x.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>(),
    )?;
    std::fs::write(
        &yp,
        y.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>(),
    )?;
    Ok((xp, yp))
}

/// A Python script of the bench (`bench_torch.py`, `bench_keras.py`): next to this
/// executable when it is there (a `cargo xtask gpu-pack` folder, run without the
/// repository), else in the bench crate's source folder.
fn script_path(name: &str) -> PathBuf {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(name)))
        .filter(|p| p.is_file());
    beside.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(name))
}

/// The data files of `spec` for a Python script: written, handed to `run`, removed.
fn with_data_files(
    opts: &Options,
    spec: &CaseSpec,
    run: impl FnOnce(&Path, &Path) -> AnyResult<Value>,
) -> AnyResult<Value> {
    let (xp, yp) = write_data(&opts.out, spec.workload, spec.n.max(spec.n_predict))?;
    let r = run(&xp, &yp);
    let _ = std::fs::remove_file(xp);
    let _ = std::fs::remove_file(yp);
    r
}

/// The arguments every Python script takes.
fn python_args(c: &mut Command, opts: &Options, spec: &CaseSpec, xp: &Path, yp: &Path) {
    c.args(["--workload", spec.workload.name()])
        .args(["--n", &spec.n.to_string()])
        .args(["--epochs", &spec.epochs.to_string()])
        .args(["--np", &spec.n_predict.to_string()])
        .args(["--passes", &spec.predict_passes.to_string()])
        .args(["--threads", &opts.threads.to_string()])
        .args(["--device", if opts.cuda { "cuda" } else { "cpu" }])
        .arg("--x")
        .arg(xp)
        .arg("--y")
        .arg(yp);
}

/// One PyTorch run of `spec` by `bench_torch.py`, as variant `v` asks.
fn python_case(opts: &Options, spec: &CaseSpec, v: &TorchVariant, what: &str) -> AnyResult<Value> {
    let py = opts.python.as_deref().ok_or("no python")?;
    with_data_files(opts, spec, |xp, yp| {
        let mut c = Command::new(py);
        c.arg(script_path("bench_torch.py"))
            .args(["--adam", v.adam])
            .args(v.channels_last.then_some("--channels-last"))
            .args(v.autocast.as_ref().map(|a| format!("--autocast={a}")));
        python_args(&mut c, opts, spec, xp, yp);
        parse_result(c, what)
    })
}

/// Whether Keras 3 imports on its torch backend from `py`.
fn keras_check(py: &Path) -> Result<(), String> {
    let out = Command::new(py)
        .args([
            "-c",
            "import keras; print(keras.__version__, keras.backend.backend())",
        ])
        .env("KERAS_BACKEND", "torch")
        .output()
        .map_err(|e| format!("{}: {e}", py.display()))?;
    if out.status.success() {
        eprintln!(
            "bench: Keras column: keras {}",
            String::from_utf8_lossy(&out.stdout).trim()
        );
        return Ok(());
    }
    Err(format!(
        "`import keras` fails in {} (`cargo xtask bench` installs it): {}",
        py.display(),
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("")
    ))
}

/// One Keras 3 (torch backend) run of `spec` by `bench_keras.py`.
fn keras_case(opts: &Options, py: &Path, spec: &CaseSpec, what: &str) -> AnyResult<Value> {
    with_data_files(opts, spec, |xp, yp| {
        let mut c = Command::new(py);
        c.arg(script_path("bench_keras.py"))
            .env("KERAS_BACKEND", "torch");
        python_args(&mut c, opts, spec, xp, yp);
        parse_result(c, what)
    })
}

/// How a PyTorch variant trains.
#[derive(Clone, Debug)]
struct TorchVariant {
    /// `torch.optim.Adam`: `default`, `foreach` or `fused`.
    adam: &'static str,
    /// The CNN in channels-last memory format.
    channels_last: bool,
    /// `torch.autocast` to `bf16` / `f16`.
    autocast: Option<String>,
}

/// What runs a case.
enum Runner {
    /// A child process of this binary (stratanet and the raw loops).
    Child,
    /// `bench_torch.py`.
    Torch(TorchVariant),
    /// `bench_keras.py`.
    Keras,
}

/// One case of a workload: `(engine, variant)` and how it runs.
struct Case {
    engine: String,
    variant: String,
    spec: CaseSpec,
    runner: Runner,
}

/// The cases of workload `w`, in the order each round runs them: per engine stratanet's
/// `fit`, the raw loop (and on tch the CNN's channels-last raw loop), the 16-bit `fit`s;
/// then the Python variants on tch's sizes: PyTorch with each Adam (and the CNN in
/// channels-last), PyTorch autocast per 16-bit type, Keras on torch.
fn cases_of(opts: &Options, w: Workload, keras: bool) -> Vec<Case> {
    let mut out = Vec::new();
    for engine in &opts.engines {
        let spec = sizes(w, engine, opts.quick, opts.cuda);
        let mut variants = vec!["fit".to_string(), "raw".to_string()];
        if engine == "tch" && w == Workload::Cnn {
            variants.push("raw_cl".into());
        }
        variants.extend(opts.precisions[1..].iter().map(|p| format!("fit_{p}")));
        for variant in variants {
            out.push(Case {
                engine: engine.clone(),
                variant,
                spec: spec.clone(),
                runner: Runner::Child,
            });
        }
    }
    if opts.python.is_none() || !opts.engines.iter().any(|e| e == "tch") {
        return out;
    }
    let spec = sizes(w, "tch", opts.quick, opts.cuda);
    let mut torch = |variant: String, adam, channels_last, autocast: Option<String>| {
        out.push(Case {
            engine: "tch".into(),
            variant,
            spec: spec.clone(),
            runner: Runner::Torch(TorchVariant {
                adam,
                channels_last,
                autocast,
            }),
        })
    };
    torch("pytorch".into(), "default", false, None);
    torch("pytorch_foreach".into(), "foreach", false, None);
    torch("pytorch_fused".into(), "fused", false, None);
    if w == Workload::Cnn {
        torch("pytorch_fused_cl".into(), "fused", true, None);
    }
    for p in &opts.precisions[1..] {
        torch(format!("pytorch_{p}"), "default", false, Some(p.clone()));
    }
    if keras {
        out.push(Case {
            engine: "tch".into(),
            variant: "keras".into(),
            spec,
            runner: Runner::Keras,
        });
    }
    out
}

fn sps(samples: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        samples as f64 / secs
    } else {
        f64::NAN
    }
}

/// The order of `n` cases in round `round` (0-based): as listed in the first round, then a
/// permutation seeded by the round.
fn round_order(n: usize, round: usize) -> Vec<usize> {
    if round == 0 {
        (0..n).collect()
    } else {
        permutation(n, 1_000 + round)
    }
}

/// The driver's usage line (`--help`, and the error for an unknown argument).
const USAGE: &str = "stratanet-bench [--quick] [--repeats N] [--threads N] \
     [--workloads mlp,cnn,lstm] [--engines candle,tch] [--python PATH] [--no-python] \
     [--no-rss] [--out DIR] [--device cpu|cuda] [--precision f32,bf16,f16]";

/// Checks the driver's arguments before a run of many minutes starts: `Ok(false)` after
/// printing the usage for `--help` / `-h`, an error naming an unknown argument or a flag
/// without its value.
fn check_driver_args(args: &[String]) -> AnyResult<bool> {
    const FLAGS: [&str; 3] = ["--quick", "--no-python", "--no-rss"];
    const WITH_VALUE: [&str; 8] = [
        "--repeats",
        "--threads",
        "--workloads",
        "--engines",
        "--python",
        "--out",
        "--device",
        "--precision",
    ];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--help" | "-h" => {
                println!("usage: {USAGE}");
                return Ok(false);
            }
            f if FLAGS.contains(&f) => {}
            f if WITH_VALUE.contains(&f) => {
                if it.next().is_none() {
                    return Err(format!("{f} needs a value\nusage: {USAGE}").into());
                }
            }
            other => return Err(format!("unknown argument {other}\nusage: {USAGE}").into()),
        }
    }
    Ok(true)
}

fn driver(args: &[String]) -> AnyResult<()> {
    if !check_driver_args(args)? {
        return Ok(());
    }
    let quick = args.iter().any(|a| a == "--quick");
    let threads = match arg_value(args, "--threads") {
        Some(t) => t.parse()?,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let workloads = arg_value(args, "--workloads")
        .unwrap_or_else(|| "mlp,cnn,lstm".into())
        .split(',')
        .map(Workload::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let cuda = parse_device(arg_value(args, "--device"))?;
    let engines: Vec<String> = arg_value(args, "--engines")
        .unwrap_or_else(|| {
            // On a GPU: libtorch, and candle too when this build has its CUDA engine.
            if cuda && !cfg!(feature = "cuda") {
                "tch"
            } else {
                "candle,tch"
            }
            .into()
        })
        .split(',')
        .map(str::to_string)
        .collect();
    let python = if args.iter().any(|a| a == "--no-python") {
        None
    } else {
        arg_value(args, "--python")
            .or_else(|| std::env::var("STRATANET_PYTHON").ok())
            .map(PathBuf::from)
    };
    let out = arg_value(args, "--out")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
                .join("bench")
        });
    std::fs::create_dir_all(&out)?;
    if cuda {
        let missing: Vec<String> = engines.iter().filter_map(|e| cuda_check(e).err()).collect();
        if !missing.is_empty() {
            return Err(format!("--device cuda: {}", missing.join("; ")).into());
        }
        if !cuda_mem::available() {
            eprintln!(
                "bench: this build has no CUDA allocator statistics (bench/build.rs did not \
                 compile cuda_mem.cpp; see its build warning): no stratanet GPU peaks"
            );
        }
    }
    let repeats = match arg_value(args, "--repeats") {
        Some(r) => r.parse::<usize>().ok().filter(|&r| r > 0).ok_or_else(|| {
            format!("--repeats {r}: expected a whole number of rounds, at least 1")
        })?,
        None => 5,
    };
    let opts = Options {
        cuda,
        repeats,
        precisions: parse_precisions(arg_value(args, "--precision"))?,
        quick,
        threads,
        workloads,
        engines,
        python,
        rss: !args.iter().any(|a| a == "--no-rss"),
        out,
    };

    let keras = opts.python.as_deref().and_then(|py| match keras_check(py) {
        Ok(()) => Some(py.to_path_buf()),
        Err(e) => {
            eprintln!("bench: no Keras column ({e})");
            None
        }
    });
    let mut runs = report::Runs::new();
    for &w in &opts.workloads {
        let cases = cases_of(&opts, w, keras.is_some());
        for round in 0..opts.repeats {
            // A seeded shuffle of the cases per round: a case's position in the round (which
            // case ran just before it, how long since the machine was last busy) moves its
            // figures systematically, so no variant keeps the same slot every round.
            for case in round_order(cases.len(), round)
                .into_iter()
                .map(|i| &cases[i])
            {
                let what = format!(
                    "{} {} {} (round {}/{})",
                    w.name(),
                    case.engine,
                    case.variant,
                    round + 1,
                    opts.repeats
                );
                let r = match &case.runner {
                    Runner::Child => child(&opts, &case.spec, &case.engine, &case.variant),
                    Runner::Torch(v) => python_case(&opts, &case.spec, v, &what),
                    Runner::Keras => keras.as_deref().map_or_else(
                        || Err("no keras".into()),
                        |py| keras_case(&opts, py, &case.spec, &what),
                    ),
                };
                match r {
                    Ok(r) => {
                        let spec = &case.spec;
                        let secs = |k: &str| r[k].as_f64().unwrap_or(0.0);
                        let steps = spec.epochs * spec.n.div_ceil(w.batch());
                        runs.entry((w.name().into(), case.engine.clone(), case.variant.clone()))
                            .or_default()
                            .push(report::Run {
                                round,
                                train: sps(spec.n * spec.epochs, secs("train_secs")),
                                predict: sps(spec.predict_samples(), secs("predict_secs")),
                                us_per_step: secs("train_secs") * 1e6 / steps.max(1) as f64,
                                raw: r,
                            });
                    }
                    Err(e) => eprintln!("bench: {what}: {e}"),
                }
            }
        }
    }
    report::add_pooled_predict(&mut runs);
    let rep = report::Report::new(&runs);
    let ratios = tables::print_tables(&opts, &rep, &runs);
    let base = json!({
        "threads": threads,
        "device": if opts.cuda { "cuda" } else { "cpu" },
        "repeats": opts.repeats,
    });
    let mut records = rep.records(&base, &ratios);
    for rec in records.iter_mut().filter(|r| r.get("kind").is_none()) {
        let w = Workload::parse(rec["workload"].as_str().unwrap_or(""))?;
        let spec = sizes(
            w,
            rec["engine"].as_str().unwrap_or(""),
            opts.quick,
            opts.cuda,
        );
        let train = rec["phase"] == "train";
        rec["samples"] = json!(if train {
            spec.n
        } else {
            spec.predict_samples()
        });
        rec["epochs"] = json!(if train { spec.epochs } else { 1 });
        if train {
            rec["batch"] = json!(w.batch());
            rec["steps"] = json!(spec.epochs * spec.n.div_ceil(w.batch()));
        }
    }
    let mut rss_lines = Vec::new();
    if opts.rss {
        for engine in &opts.engines {
            let spec = CaseSpec {
                workload: Workload::Mlp,
                n: if opts.quick { 5_120 } else { 20_000 },
                epochs: 10,
                n_predict: 0,
                predict_passes: 1,
                cuda: opts.cuda,
                policy: stratanet::mixed_precision::Policy::Float32,
            };
            match child(&opts, &spec, engine, "rss") {
                Ok(r) => {
                    let at = |e: u64| {
                        r["rss"]
                            .as_array()
                            .and_then(|a| a.iter().find(|x| x["epoch"].as_u64() == Some(e)))
                            .map(|x| {
                                (
                                    x["vmrss_kb"].as_u64().unwrap_or(0),
                                    x["vmhwm_kb"].as_u64().unwrap_or(0),
                                )
                            })
                            .unwrap_or((0, 0))
                    };
                    let (r2, h2) = at(2);
                    let (r10, h10) = at(10);
                    records.push(json!({
                        "workload": "mlp", "engine": engine, "variant": "fit", "phase": "rss",
                        "samples": spec.n, "threads": threads,
                        "vmrss_kb_epoch2": r2, "vmhwm_kb_epoch2": h2,
                        "vmrss_kb_epoch10": r10, "vmhwm_kb_epoch10": h10,
                        "per_epoch": r["rss"].clone(),
                    }));
                    rss_lines.push(format!(
                        "| {engine:6} | {} | {:.1} MB | {:.1} MB | {:.1} MB | {:.1} MB | {:+.1}% |",
                        spec.n,
                        r2 as f64 / 1024.0,
                        r10 as f64 / 1024.0,
                        h2 as f64 / 1024.0,
                        h10 as f64 / 1024.0,
                        100.0 * (h10 as f64 / h2.max(1) as f64 - 1.0)
                    ));
                }
                Err(e) => eprintln!("bench: {e}"),
            }
        }
    }

    if !rss_lines.is_empty() {
        println!("\nMLP fit memory (10 epochs):\n");
        println!("| engine | samples | VmRSS epoch 2 | VmRSS epoch 10 | VmHWM epoch 2 | VmHWM epoch 10 | HWM growth |");
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for l in &rss_lines {
            println!("{l}");
        }
    }
    let path = opts.out.join("results.json");
    std::fs::write(&path, serde_json::to_string_pretty(&Value::Array(records))?)?;
    println!("\nwrote {}", path.display());
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = if args.iter().any(|a| a == "--case") {
        run_case(&args)
    } else {
        driver(&args)
    };
    if let Err(e) = r {
        eprintln!("stratanet-bench: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::check_driver_args;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_round_runs_every_case_once_in_a_new_order() {
        let orders: Vec<Vec<usize>> = (0..5).map(|r| super::round_order(9, r)).collect();
        for o in &orders {
            let mut sorted = o.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..9).collect::<Vec<_>>());
        }
        assert_eq!(orders[0], (0..9).collect::<Vec<_>>());
        // The case in slot 0 is not the same in every round.
        assert!(orders.iter().any(|o| o[0] != orders[0][0]));
    }

    #[test]
    fn driver_arguments_are_checked_before_a_run() {
        assert!(check_driver_args(&args(&["--quick", "--repeats", "3", "--no-rss"])).unwrap());
        assert!(!check_driver_args(&args(&["--help"])).unwrap());
        let e = check_driver_args(&args(&["--repeat", "3"])).unwrap_err();
        assert!(e.to_string().contains("unknown argument --repeat"), "{e}");
        let e = check_driver_args(&args(&["--quick", "--workloads"])).unwrap_err();
        assert!(e.to_string().contains("--workloads needs a value"), "{e}");
    }
}
