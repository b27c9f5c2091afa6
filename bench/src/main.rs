//! `cargo xtask bench`: stratanet `fit`/`predict` against hand-written loops on the raw
//! engines (candle-core, tch) and against PyTorch from Python on the same libtorch.
//!
//! The driver (no `--case`) runs every measurement in a fresh child process of this binary
//! (so peak-RSS figures and thread pools do not leak between cases), runs the Python
//! script for the PyTorch column, prints a table of samples/s with the ratios, and writes
//! `target/bench/results.json`.
//!
//! ```text
//! stratanet-bench [--quick] [--threads N] [--workloads mlp,cnn,lstm] [--engines candle,tch]
//!                 [--python PATH] [--no-python] [--no-rss] [--out DIR] [--device cpu|cuda]
//!                 [--precision f32,bf16,f16]
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
mod strata;

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

/// The samples/s of one phase of a workload, by `(engine, variant)`.
type Pick<'a> = dyn Fn(&str, &str) -> Option<f64> + 'a;

/// Writes the row of a result table for `(workload, phase, pick)`.
type PhaseRow<'a> = dyn Fn(&str, &str, &Pick) + 'a;

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
    /// Run on the first CUDA device instead of the CPU.
    pub cuda: bool,
    /// The dtype policy of stratanet's model (`fit_bf16`, `fit_f16` variants).
    pub policy: stratanet::mixed_precision::Policy,
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
        cuda: parse_device(arg_value(args, "--device"))?,
        policy: variant_policy(&variant),
    };
    let variant = match variant.as_str() {
        "fit_bf16" | "fit_f16" => "fit".to_string(),
        _ => variant,
    };
    let r = match (engine.as_str(), variant.as_str()) {
        ("candle", "fit") => strata::run::<stratanet::Candle>(&spec, false)?,
        ("tch", "fit") => strata::run::<stratanet::Tch>(&spec, false)?,
        ("candle", "rss") => strata::run::<stratanet::Candle>(&spec, true)?,
        ("tch", "rss") => strata::run::<stratanet::Tch>(&spec, true)?,
        ("candle", "raw") => raw_candle::run(&spec)?,
        ("tch", "raw") => raw_tch::run(&spec)?,
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

/// `bench_torch.py`: next to this executable when it is there (a `cargo xtask gpu-pack`
/// folder, run without the repository), else in the bench crate's source folder.
fn torch_script() -> PathBuf {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("bench_torch.py")))
        .filter(|p| p.is_file());
    beside.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("bench_torch.py"))
}

/// One PyTorch run of `spec` by `bench_torch.py`; `fused`: `torch.optim.Adam(fused=True)`.
fn python_case(opts: &Options, py: &Path, spec: &CaseSpec, fused: bool) -> AnyResult<Value> {
    python_case_as(opts, py, spec, fused, None)
}

/// [`python_case`], under `torch.autocast(dtype=…)` when `autocast` names `bf16` or `f16`.
fn python_case_as(
    opts: &Options,
    py: &Path,
    spec: &CaseSpec,
    fused: bool,
    autocast: Option<&str>,
) -> AnyResult<Value> {
    let script = torch_script();
    let (xp, yp) = write_data(&opts.out, spec.workload, spec.n.max(spec.n_predict))?;
    let mut c = Command::new(py);
    c.arg(script)
        .args(["--workload", spec.workload.name()])
        .args(["--n", &spec.n.to_string()])
        .args(["--epochs", &spec.epochs.to_string()])
        .args(["--np", &spec.n_predict.to_string()])
        .args(["--threads", &opts.threads.to_string()])
        .args(["--device", if opts.cuda { "cuda" } else { "cpu" }])
        .args(fused.then_some("--fused"))
        .args(autocast.map(|a| format!("--autocast={a}")))
        .arg("--x")
        .arg(&xp)
        .arg("--y")
        .arg(&yp);
    let r = parse_result(c, &format!("{} pytorch", spec.workload.name()));
    let _ = std::fs::remove_file(xp);
    let _ = std::fs::remove_file(yp);
    r
}

fn sps(samples: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        samples as f64 / secs
    } else {
        f64::NAN
    }
}

fn driver(args: &[String]) -> AnyResult<()> {
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
    let opts = Options {
        cuda,
        precisions: parse_precisions(arg_value(args, "--precision"))?,
        quick,
        threads,
        workloads,
        engines,
        python,
        rss: !args.iter().any(|a| a == "--no-rss"),
        out,
    };

    let mut records: Vec<Value> = Vec::new();
    let mut step_lines: Vec<String> = Vec::new();
    let mut epoch_lines: Vec<String> = Vec::new();
    // (workload, engine, variant) -> (train sps, predict sps)
    let mut table: Vec<(String, String, String, f64, f64, usize, usize)> = Vec::new();
    let mut push = |w: Workload, engine: &str, variant: &str, spec: &CaseSpec, r: &Value| {
        let train = sps(
            spec.n * spec.epochs,
            r["train_secs"].as_f64().unwrap_or(0.0),
        );
        let pred = sps(spec.n_predict, r["predict_secs"].as_f64().unwrap_or(0.0));
        // Wall time per training step: on a GPU at a small batch the device idles most of
        // the step, so this is the per-step host overhead of each variant.
        let steps = spec.epochs * spec.n.div_ceil(w.batch());
        let us_per_step = r["train_secs"].as_f64().unwrap_or(0.0) * 1e6 / steps.max(1) as f64;
        for (phase, v) in [("train", train), ("predict", pred)] {
            let mut rec = json!({
                "workload": w.name(), "engine": engine, "variant": variant, "phase": phase,
                "samples_per_sec": v, "threads": threads,
                "device": if opts.cuda { "cuda" } else { "cpu" },
                "samples": if phase == "train" { spec.n } else { spec.n_predict },
                "epochs": if phase == "train" { spec.epochs } else { 1 },
            });
            if phase == "train" {
                if let Some(peak) = r.get("gpu_peak_bytes") {
                    rec["gpu_peak_bytes"] = peak.clone();
                }
                // Per timed epoch: device reads (tch fit) and the allocator's peak (CUDA).
                if let Some(e) = r
                    .get("epochs")
                    .filter(|e| e.as_array().is_some_and(|a| !a.is_empty()))
                {
                    rec["per_epoch"] = e.clone();
                }
                rec["batch"] = json!(w.batch());
                rec["steps"] = json!(steps);
                rec["us_per_step"] = json!(us_per_step);
            }
            records.push(rec);
        }
        if let Some(eps) = r
            .get("epochs")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
        {
            let col = |key: &str, scale: f64| {
                eps.iter()
                    .map(|e| {
                        e.get(key)
                            .and_then(Value::as_f64)
                            .map_or("-".to_string(), |v| format!("{:.1}", v / scale))
                    })
                    .collect::<Vec<_>>()
                    .join(" / ")
            };
            epoch_lines.push(format!(
                "| {} | {engine} | {variant} | {} | {} |",
                w.name(),
                col("gpu_peak_bytes", 1024.0 * 1024.0),
                col("host_reads", 1.0).replace(".0", ""),
            ));
        }
        step_lines.push(format!(
            "| {} | {engine} | {variant} | {} | {steps} | {us_per_step:.0} |",
            w.name(),
            w.batch()
        ));
        table.push((
            w.name().into(),
            engine.into(),
            variant.into(),
            train,
            pred,
            spec.n,
            spec.epochs,
        ));
    };
    for &w in &opts.workloads {
        for engine in &opts.engines {
            let spec = sizes(w, engine, opts.quick, opts.cuda);
            let mut variants = vec!["fit".to_string(), "raw".to_string()];
            variants.extend(opts.precisions[1..].iter().map(|p| format!("fit_{p}")));
            for variant in &variants {
                match child(&opts, &spec, engine, variant) {
                    Ok(r) => push(w, engine, variant, &spec, &r),
                    Err(e) => eprintln!("bench: {e}"),
                }
            }
            if engine == "tch" {
                if let Some(py) = &opts.python {
                    match python_case(&opts, py, &spec, false) {
                        Ok(r) => push(w, "tch", "pytorch", &spec, &r),
                        Err(e) => eprintln!("bench: {e}"),
                    }
                    for p in &opts.precisions[1..] {
                        match python_case_as(&opts, py, &spec, false, Some(p)) {
                            Ok(r) => push(w, "tch", &format!("pytorch_{p}"), &spec, &r),
                            Err(e) => eprintln!("bench: {e}"),
                        }
                    }
                    // On a GPU also PyTorch's fused Adam (one kernel for every update).
                    if opts.cuda {
                        match python_case(&opts, py, &spec, true) {
                            Ok(r) => push(w, "tch", "pytorch_fused", &spec, &r),
                            Err(e) => eprintln!("bench: {e}"),
                        }
                    }
                }
            }
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

    // The table.
    let get = |w: &str, e: &str, v: &str| {
        table
            .iter()
            .find(|r| r.0 == w && r.1 == e && r.2 == v)
            .map(|r| (r.3, r.4))
    };
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "-".into(),
    };
    let fmt = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.0}"));
    // Calls `row(workload, phase, pick)` for each workload and phase ("train", "predict"),
    // where `pick(engine, variant)` is that phase's samples/s.
    let per_phase = |row: &PhaseRow| {
        for &w in &opts.workloads {
            for phase in [0usize, 1] {
                let pick = |e: &str, v: &str| {
                    get(w.name(), e, v).map(|p| if phase == 0 { p.0 } else { p.1 })
                };
                row(
                    w.name(),
                    if phase == 0 { "train" } else { "predict" },
                    &pick,
                );
            }
        }
    };
    println!(
        "\nstratanet bench ({}, {threads} threads, {}; samples/s, warm-up excluded)\n",
        if opts.quick { "quick" } else { "full" },
        if opts.cuda { "cuda" } else { "cpu" }
    );
    println!("| workload | phase | engine | samples x epochs | fit | raw loop | PyTorch | fit/raw | fit/PyTorch |");
    println!("|---|---|---|---|---:|---:|---:|---:|---:|");
    per_phase(&|name, phase, pick| {
        for engine in &opts.engines {
            let (fit, raw) = (pick(engine, "fit"), pick(engine, "raw"));
            let py = if engine == "tch" {
                pick(engine, "pytorch")
            } else {
                None
            };
            let size = table
                .iter()
                .find(|r| r.0 == name && r.1 == *engine)
                .map(|r| {
                    if phase == "train" {
                        format!("{} x {}", r.5, r.6)
                    } else {
                        "predict".into()
                    }
                })
                .unwrap_or_default();
            println!(
                "| {name} | {phase} | {engine} | {size} | {} | {} | {} | {} | {} |",
                fmt(fit),
                fmt(raw),
                fmt(py),
                ratio(fit, raw),
                if engine == "tch" {
                    ratio(fit, py)
                } else {
                    "-".into()
                },
            );
        }
    });
    if table.iter().any(|r| r.2 == "pytorch_fused") {
        println!("\nstratanet-tch fit vs PyTorch with `torch.optim.Adam(fused=True)`:\n");
        println!("| workload | phase | fit | PyTorch fused | fit/PyTorch fused |");
        println!("|---|---|---:|---:|---:|");
        per_phase(&|name, phase, pick| {
            let (fit, fused) = (pick("tch", "fit"), pick("tch", "pytorch_fused"));
            println!(
                "| {name} | {phase} | {} | {} | {} |",
                fmt(fit),
                fmt(fused),
                ratio(fit, fused),
            );
        });
    }
    for p in &opts.precisions[1..] {
        let (fit_p, torch_p) = (format!("fit_{p}"), format!("pytorch_{p}"));
        println!(
            "\nMixed precision, {p} (stratanet: Keras policy, f32 variables; PyTorch: \
             torch.autocast(dtype={p})):\n"
        );
        println!(
            "| workload | phase | engine | f32 fit | {p} fit | {p}/f32 | PyTorch f32 | \
             PyTorch {p} | {p} fit/PyTorch {p} |"
        );
        println!("|---|---|---|---:|---:|---:|---:|---:|---:|");
        per_phase(&|name, phase, pick| {
            for engine in &opts.engines {
                let (f32_fit, half_fit) = (pick(engine, "fit"), pick(engine, &fit_p));
                let torch = |v: &str| {
                    if engine == "tch" {
                        pick("tch", v)
                    } else {
                        None
                    }
                };
                let (t32, th) = (torch("pytorch"), torch(&torch_p));
                println!(
                    "| {name} | {phase} | {engine} | {} | {} | {} | {} | {} | {} |",
                    fmt(f32_fit),
                    fmt(half_fit),
                    ratio(half_fit, f32_fit),
                    fmt(t32),
                    fmt(th),
                    ratio(half_fit, th),
                );
            }
        });
    }
    println!("\ncandle / tch (same variant):\n");
    println!("| workload | phase | fit | raw loop |");
    println!("|---|---|---:|---:|");
    per_phase(&|name, phase, pick| {
        println!(
            "| {name} | {phase} | {} | {} |",
            ratio(pick("candle", "fit"), pick("tch", "fit")),
            ratio(pick("candle", "raw"), pick("tch", "raw")),
        );
    });
    println!(
        "\nWall time per training step (µs; on a GPU at these batch sizes, mostly host time):\n"
    );
    println!("| workload | engine | variant | batch | steps | µs/step |");
    println!("|---|---|---|---:|---:|---:|");
    for l in &step_lines {
        println!("{l}");
    }
    if !epoch_lines.is_empty() {
        println!(
            "\nPer timed epoch: GPU memory peak (MiB, the caching allocator's allocated-bytes \
             peak, reset each epoch; `-` on the CPU or without bench/cuda_mem.cpp) and device \
             reads (tch fit; the first epoch includes fit's one-off label check):\n"
        );
        println!("| workload | engine | variant | GPU peak per epoch | device reads per epoch |");
        println!("|---|---|---|---|---|");
        for l in &epoch_lines {
            println!("{l}");
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
