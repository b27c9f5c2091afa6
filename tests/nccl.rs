//! NCCL as the data-parallel transport (`stratanet::distribute::Nccl`, feature `nccl`).
//!
//! - `asking_for_nccl_gives_a_transport_or_a_clear_error` runs everywhere: on a machine
//!   without a GPU, libcuda or libnccl, `DataParallel::nccl()` and
//!   `STRATANET_COLLECTIVE=nccl` must give `Error::Distributed` naming `nccl` and the
//!   reason (never a panic); where NCCL does start, its sums must be right.
//! - `nccl_over_stand_in_cuda_and_nccl_libraries` runs everywhere on Linux: stand-in
//!   libcuda/libnccl (tests/nccl_stub, C, built by the test with `cc`) whose "device" is host
//!   memory, loaded through cudarc's real dynamic loading in child processes: the staging
//!   round trip at growing and shrinking lengths, the timeout, NCCL's asynchronous error, a
//!   missing symbol, no device, and missing libraries, each an `Error::Distributed`.
//! - `two_ranks_train_over_stand_in_nccl` (needs `mpirun` and `mpicc`; required under
//!   `STRATANET_REQUIRE_MPI`): `mpirun -np 2` over a stand-in libnccl whose all-reduce is
//!   `MPI_Allreduce`: the NCCL id's trip, the sums across ranks, a `fit` whose weights match
//!   one process; and a rank without a GPU failing both ranks instead of hanging.
//! - `nccl_all_reduce_on_gpus` (ignored: needs a CUDA GPU and libnccl) runs the collectives
//!   and a short `fit` over NCCL: under `mpirun -np 2` when the machine has two GPUs and
//!   `mpirun`, otherwise as a one-rank job in this process. It launches this test binary
//!   under `mpirun` itself (`STRATANET_NCCL_WORKER` set: one rank of the job).

use std::process::{Command, Stdio};

use stratanet::distribute::DataParallel;
use stratanet::prelude::*;
use stratanet::{datasets, Candle, Error};

/// Checks the collectives of `s` against sums computed here; returns a description of the
/// first wrong value.
fn check_collectives(s: &DataParallel) -> Result<(), String> {
    let (rank, n) = (s.rank(), s.size());
    let c = s.collective();
    // Growing, then smaller (the device buffer is reused), then empty.
    for len in [1usize, 7, 100_003, 5, 0] {
        let mut f: Vec<f32> = (0..len)
            .map(|i| (rank + 1) as f32 * (i % 1000) as f32 * 0.5)
            .collect();
        c.all_reduce_sum_f32(&mut f).map_err(|e| e.to_string())?;
        let ranks_sum = (n * (n + 1) / 2) as f32;
        for (i, v) in f.iter().enumerate() {
            let want = ranks_sum * (i % 1000) as f32 * 0.5;
            if *v != want {
                return Err(format!("f32 all-reduce of {len}: [{i}] = {v}, want {want}"));
            }
        }
        let mut d: Vec<f64> = (0..len).map(|i| (rank + 1) as f64 * i as f64).collect();
        c.all_reduce_sum_f64(&mut d).map_err(|e| e.to_string())?;
        for (i, v) in d.iter().enumerate() {
            let want = (n * (n + 1) / 2) as f64 * i as f64;
            if *v != want {
                return Err(format!("f64 all-reduce of {len}: [{i}] = {v}, want {want}"));
            }
        }
    }
    let b = s
        .broadcast_u64(if rank == 0 { 0xC0FFEE } else { 1 })
        .map_err(|e| e.to_string())?;
    if b != 0xC0FFEE {
        return Err(format!("broadcast gave {b:#x}"));
    }
    c.barrier().map_err(|e| e.to_string())?;
    // Rank r holds value r with weight r + 1.
    let m = s
        .weighted_mean(&[rank as f64], (rank + 1) as f64)
        .map_err(|e| e.to_string())?;
    let want = (0..n).map(|r| (r * (r + 1)) as f64).sum::<f64>() / (n * (n + 1) / 2) as f64;
    if (m[0] - want).abs() > 1e-12 {
        return Err(format!("weighted mean {} want {want}", m[0]));
    }
    Ok(())
}

/// One epoch of the digits MLP under `s` (model on the CPU); the flattened weights and
/// the epoch loss.
fn train(s: &DataParallel) -> stratanet::Result<(Vec<f32>, f64)> {
    let (x, y) = datasets::digits::<Candle>(Device::Cpu)?;
    let (x, y) = (x.narrow(0, 0, 1280)?, y.narrow(0, 0, 1280)?);
    let mut model = Sequential::<Candle>::new().with_seed(7);
    model.add(Input::new(&[64]))?;
    model.add(Dense::new(64).activation("relu"))?;
    model.add(Dense::new(10).activation("softmax"))?;
    model.compile(Adam::new(2e-3), "sparse_categorical_crossentropy", &[])?;
    let opts = FitOptions::new()
        .epochs(1)
        .batch_size(64)
        .seed(7)
        .verbose(0)
        .distribute(s);
    let history = model.fit(&x, &y, opts)?;
    let weights = model
        .get_weights()?
        .into_iter()
        .flat_map(|(_, t)| t.data.to_f32_vec())
        .collect();
    let loss = history.get("loss").and_then(|l| l.last().copied());
    Ok((weights, loss.unwrap_or(f64::NAN)))
}

/// The body of one rank: collectives, then training; panics on a wrong result.
fn rank_checks(s: &DataParallel) {
    let (rank, n) = (s.rank(), s.size());
    assert_eq!(s.collective().name(), "nccl");
    check_collectives(s).unwrap_or_else(|e| panic!("rank {rank} of {n}: {e}"));
    let (w, loss) = train(s).expect("fit over NCCL");
    // Below ln(10) = 2.30, the loss of a uniform guess over the 10 digits.
    assert!(loss.is_finite() && loss < 2.3, "rank {rank}: loss {loss}");
    // Every rank ends with rank 0's weights, bit for bit.
    let bytes: Vec<u8> = w.iter().flat_map(|v| v.to_le_bytes()).collect();
    let root = s.broadcast_vec(bytes.clone()).expect("broadcast weights");
    assert!(root == bytes, "rank {rank}: weights differ from rank 0's");
    // (`fit` with one rank does not distribute: there is nothing to compare then.)
    if n > 1 {
        // n ranks over NCCL train as one process on the same global batches.
        let (w1, loss1) = train(&DataParallel::single()).expect("fit single");
        let scale = w1.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let worst = w
            .iter()
            .zip(&w1)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()))
            / scale;
        assert!(
            worst < 1e-5,
            "rank {rank}: {n} ranks vs one process: weights differ by {worst:.2e} (relative)"
        );
        assert!(
            ((loss - loss1) / loss1).abs() < 1e-5,
            "rank {rank}: loss {loss} vs {loss1}"
        );
        println!("rank {rank}: {n} ranks vs one process: worst weight difference {worst:.2e}");
    }
    println!("nccl rank {rank} of {n} ok (loss {loss:.4})");
}

#[test]
fn asking_for_nccl_gives_a_transport_or_a_clear_error() {
    // The environment is changed only in this test of this binary (the other one is
    // ignored unless run on a GPU machine, by name).
    for how in ["DataParallel::nccl()", "STRATANET_COLLECTIVE=nccl"] {
        let result = if how.starts_with("STRATANET") {
            std::env::set_var("STRATANET_COLLECTIVE", "nccl");
            let r = DataParallel::from_env();
            std::env::remove_var("STRATANET_COLLECTIVE");
            r
        } else {
            DataParallel::nccl()
        };
        match result {
            Ok(s) => {
                assert_eq!(s.collective().name(), "nccl");
                check_collectives(&s).unwrap_or_else(|e| panic!("{how}: {e}"));
            }
            Err(e) => {
                assert!(matches!(e, Error::Distributed { .. }), "{how}: {e:?}");
                let msg = e.to_string();
                assert!(msg.contains("nccl init"), "{how}: {msg}");
                let reasons = ["libcuda", "libnccl", "no CUDA device", "CUDA:", "NCCL"];
                assert!(
                    reasons.iter().any(|r| msg.contains(r)),
                    "{how}: the error gives no reason: {msg}"
                );
                println!("{how} without a usable GPU: {msg}");
            }
        }
    }
    std::env::set_var("STRATANET_COLLECTIVE", "gloo");
    let e = DataParallel::from_env().unwrap_err();
    std::env::set_var("STRATANET_COLLECTIVE", "single");
    let single = DataParallel::from_env();
    std::env::remove_var("STRATANET_COLLECTIVE");
    assert!(
        e.to_string()
            .contains("STRATANET_COLLECTIVE=\"gloo\": expected nccl, mpi, single or auto"),
        "{e}"
    );
    assert_eq!(single.expect("single").size(), 1);
}

/// GPUs on this machine, by `nvidia-smi -L` (0 without it).
fn gpu_count() -> usize {
    Command::new("nvidia-smi")
        .arg("-L")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| l.starts_with("GPU "))
                .count()
        })
        .unwrap_or(0)
}

#[test]
#[ignore = "needs a CUDA GPU and libnccl (and Open MPI; two GPUs and mpirun for a two-rank job): cargo test --features nccl --test nccl -- --ignored"]
fn nccl_all_reduce_on_gpus() {
    if std::env::var_os("STRATANET_NCCL_WORKER").is_some() {
        let s = DataParallel::from_env().expect("NCCL init (STRATANET_COLLECTIVE=nccl)");
        rank_checks(&s);
        return;
    }
    let have_mpirun = Command::new("mpirun")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let ranks = gpu_count().min(2);
    if ranks < 2 || !have_mpirun {
        println!("one GPU (or no mpirun): a one-rank NCCL job in this process");
        let s = DataParallel::nccl().expect("NCCL on this machine's GPU");
        assert_eq!(s.size(), 1);
        rank_checks(&s);
        return;
    }
    let exe = std::env::current_exe().expect("current exe");
    let out = Command::new("mpirun")
        .args([
            "--allow-run-as-root",
            "--oversubscribe",
            "--bind-to",
            "none",
        ])
        .args(["-np", &ranks.to_string()])
        .args([
            "-x",
            "STRATANET_NCCL_WORKER=1",
            "-x",
            "STRATANET_COLLECTIVE=nccl",
        ])
        .args(["-x", "STRATANET_COLLECTIVE_TIMEOUT=120"])
        .arg(exe)
        .args([
            "--exact",
            "nccl_all_reduce_on_gpus",
            "--ignored",
            "--nocapture",
        ])
        .output()
        .expect("spawn mpirun");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "mpirun -np {ranks} failed");
    for r in 0..ranks {
        let line = format!("nccl rank {r} of {ranks} ok");
        assert!(text.contains(&line), "missing '{line}'");
    }
}

// ------------------------------------------------ NCCL over stand-in libraries (no GPU)

/// Builds the stand-in `libcuda.so` and `libnccl.so` of `tests/nccl_stub` into `dir` (with
/// the C compiler that links Rust programs, `$CC` or `cc`); `nccl_name` names the NCCL one,
/// built by `nccl_cc` with the extra `-D` flags `defines`.
fn build_stubs(dir: &std::path::Path, nccl_name: &str, defines: &[&str], nccl_cc: &str) {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nccl_stub");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    for (file, out, defs, cc) in [
        ("cuda.c", "libcuda.so", &[][..], cc.as_str()),
        ("nccl.c", nccl_name, defines, nccl_cc),
    ] {
        let status = Command::new(cc)
            .args(["-shared", "-fPIC", "-O1", "-o"])
            .arg(dir.join(out))
            .arg(src.join(file))
            .args(defs)
            .status()
            .unwrap_or_else(|e| panic!("run the C compiler {cc:?}: {e}"));
        assert!(status.success(), "{cc} failed on {file}");
    }
}

/// Runs this test in a child process with the stubs of `dir` on the loader path (read
/// only at process start, hence the child) and `STRATANET_NCCL_STUB=mode`; its output.
fn run_stub_child(dir: &std::path::Path, mode: &str, env: &[(&str, &str)]) -> String {
    let exe = std::env::current_exe().expect("current exe");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "nccl_over_stand_in_cuda_and_nccl_libraries",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .env("LD_LIBRARY_PATH", dir)
    .env("STRATANET_NCCL_STUB", mode)
    // A one-rank MPI job without mpirun (singleton), as root in containers too.
    .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
    .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    .env_remove("STRATANET_COLLECTIVE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let text = output_of_success(&mut cmd, &format!("stub child '{mode}'"));
    assert!(
        text.contains(&format!("stub {mode} ok")),
        "stub child '{mode}' did not finish:\n{text}"
    );
    // libtest puts "test NAME ... " before the child's first line.
    let pat = format!("{mode}: ");
    for line in text.lines().filter_map(|l| l.find(&pat).map(|i| &l[i..])) {
        println!("{line}");
    }
    text
}

/// The child's side: what `mode` must give over the stand-in libraries.
fn stub_child(mode: &str) {
    let expect_err = |r: stratanet::Result<DataParallel>, parts: &[&str]| {
        let e = r.expect_err("NCCL must fail here");
        assert!(matches!(e, Error::Distributed { .. }), "{e:?}");
        let msg = e.to_string();
        for p in parts {
            assert!(msg.contains(p), "'{p}' not in: {msg}");
        }
        println!("{mode}: {msg}");
    };
    match mode {
        // Data goes to the device, through the all-reduce (x3) and back, at every length.
        "sums" => {
            let s = DataParallel::nccl().expect("NCCL over the stand-ins");
            assert_eq!((s.collective().name(), s.rank(), s.size()), ("nccl", 0, 1));
            let c = s.collective();
            for len in [1usize, 7, 100_003, 5, 0, 100_003] {
                let mut f: Vec<f32> = (0..len).map(|i| i as f32 * 0.25 - 3.0).collect();
                c.all_reduce_sum_f32(&mut f).expect("f32 all-reduce");
                for (i, v) in f.iter().enumerate() {
                    assert_eq!(*v, (i as f32 * 0.25 - 3.0) * 3.0, "f32 [{i}] of {len}");
                }
                let mut d: Vec<f64> = (0..len).map(|i| i as f64 * 1e-3 + 1.0).collect();
                c.all_reduce_sum_f64(&mut d).expect("f64 all-reduce");
                for (i, v) in d.iter().enumerate() {
                    assert_eq!(*v, (i as f64 * 1e-3 + 1.0) * 3.0, "f64 [{i}] of {len}");
                }
            }
            // Broadcasts and barriers go over MPI (one rank).
            assert_eq!(s.broadcast_u64(11).unwrap(), 11);
            c.barrier().unwrap();
            let e = c.broadcast_bytes(&mut [0u8; 3], 1).unwrap_err();
            assert!(e.to_string().contains("root 1 is not a rank"), "{e}");
        }
        "hang" => {
            let s = DataParallel::nccl().expect("NCCL over the stand-ins");
            let e = s
                .collective()
                .all_reduce_sum_f32(&mut [1.0; 4])
                .unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains("nccl: timed out after 1.0 s"), "{msg}");
            let again = s
                .collective()
                .all_reduce_sum_f64(&mut [1.0; 4])
                .unwrap_err();
            assert!(
                again
                    .to_string()
                    .contains("unusable after an earlier failure"),
                "{again}"
            );
            let b = s.collective().barrier().unwrap_err();
            assert!(b.to_string().contains("unusable"), "{b}");
            println!("{mode}: {msg}");
        }
        "async_error" => {
            let s = DataParallel::nccl().expect("NCCL over the stand-ins");
            let e = s
                .collective()
                .all_reduce_sum_f32(&mut [1.0; 4])
                .unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains("NCCL reported ncclSystemError (stub NCCL error)"),
                "{msg}"
            );
            println!("{mode}: {msg}");
        }
        // A library without a symbol: cudarc's loader panics; it must come back as an error.
        "missing_symbol" => {
            let s = DataParallel::nccl().expect("NCCL over the stand-ins");
            let e = s
                .collective()
                .all_reduce_sum_f32(&mut [1.0; 4])
                .unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains("panicked") && msg.contains("ncclCommGetAsyncError"),
                "{msg}"
            );
            println!("{mode}: {msg}");
        }
        // One rank of `mpirun -np 2` over the MPI-backed stand-in NCCL.
        "mpi" => {
            let s = DataParallel::from_env().expect("NCCL (STRATANET_COLLECTIVE=nccl)");
            assert_eq!(s.size(), 2);
            rank_checks(&s);
        }
        // Rank 1 has no GPU: both ranks must fail (rank 0 without waiting in NCCL's init).
        "mpi_no_gpu_on_rank_1" => {
            let e = DataParallel::from_env().expect_err("a rank without a GPU");
            let msg = e.to_string();
            let rank = std::env::var("OMPI_COMM_WORLD_RANK").unwrap_or_default();
            let want = if rank == "1" {
                "cannot count the GPUs"
            } else {
                "1 other rank(s) could not set up their GPU"
            };
            assert!(msg.contains("nccl init") && msg.contains(want), "{msg}");
            println!("{mode}: {msg}");
        }
        "no_device" => expect_err(
            DataParallel::nccl(),
            &["nccl init", "cannot count the GPUs", "CUDA_ERROR_NO_DEVICE"],
        ),
        "only_so2" => expect_err(
            DataParallel::nccl(),
            &["nccl init", "link it as libnccl.so"],
        ),
        "no_nccl" => {
            // With the tch engine, libtorch's CUDA build has loaded the nvidia wheel's
            // libnccl.so.2 into this process: then the fix is the libnccl.so link.
            let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
            let fix = if maps.contains("/libnccl.so.2") {
                "link it as libnccl.so"
            } else {
                "install NCCL"
            };
            expect_err(DataParallel::nccl(), &["nccl init", fix])
        }
        other => panic!("unknown stub mode {other}"),
    }
    match std::env::var("OMPI_COMM_WORLD_RANK") {
        Ok(r) => println!("stub {mode} ok (rank {r})"),
        Err(_) => println!("stub {mode} ok"),
    }
}

/// The whole of `Nccl` on a machine without a GPU: stand-in libcuda/libnccl (C, built
/// here) stage the buffers through host memory, so the copies, the buffer reuse, the
/// timeout, NCCL's asynchronous errors, a missing symbol and missing libraries are all
/// exercised through cudarc's real dynamic loading, each in a child process.
#[test]
fn nccl_over_stand_in_cuda_and_nccl_libraries() {
    if let Ok(mode) = std::env::var("STRATANET_NCCL_STUB") {
        stub_child(&mode);
        return;
    }
    if cfg!(not(target_os = "linux")) {
        println!("stand-in libraries are built for Linux only: not run");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let (full, no_async, so2, no_nccl) = (
        d.join("full"),
        d.join("noasync"),
        d.join("so2"),
        d.join("nonccl"),
    );
    for p in [&full, &no_async, &so2, &no_nccl] {
        std::fs::create_dir(p).expect("mkdir");
    }
    build_stubs(&full, "libnccl.so", &[], "cc");
    build_stubs(&no_async, "libnccl.so", &["-DSTUB_NO_ASYNC"], "cc");
    build_stubs(&so2, "libnccl.so.2", &[], "cc");
    build_stubs(&no_nccl, "unused-libnccl.so", &[], "cc");
    run_stub_child(&full, "sums", &[("STUB_SCALE", "3")]);
    let hang = run_stub_child(
        &full,
        "hang",
        &[("STUB_HANG", "1"), ("STRATANET_COLLECTIVE_TIMEOUT", "1")],
    );
    assert!(
        hang.contains("stub: ncclCommAbort"),
        "no abort after the timeout:\n{hang}"
    );
    let failed = run_stub_child(&full, "async_error", &[("STUB_ASYNC_ERR", "1")]);
    assert!(
        failed.contains("stub: ncclCommAbort"),
        "no abort after the error:\n{failed}"
    );
    run_stub_child(&no_async, "missing_symbol", &[]);
    run_stub_child(&full, "no_device", &[("STUB_NO_DEVICE", "1")]);
    run_stub_child(&so2, "only_so2", &[]);
    run_stub_child(&no_nccl, "no_nccl", &[]);
}

/// Whether `prog --version` runs.
fn runs(prog: &str) -> bool {
    Command::new(prog)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Data-parallel training over `Nccl` across two processes without a GPU: `mpirun -np 2`
/// of this binary with the stand-in libcuda and a stand-in libnccl built by `mpicc` whose
/// all-reduce is `MPI_Allreduce`. Checks the NCCL id's trip from rank 0, the communicator's
/// ranks, the staged sums across ranks, and a `fit` whose weights match one process.
/// Without `mpirun`/`mpicc` it says so and passes, unless `STRATANET_REQUIRE_MPI` is set.
#[test]
fn two_ranks_train_over_stand_in_nccl() {
    if let Ok(mode) = std::env::var("STRATANET_NCCL_STUB") {
        stub_child(&mode);
        return;
    }
    if cfg!(not(target_os = "linux")) {
        println!("stand-in libraries are built for Linux only: not run");
        return;
    }
    if !runs("mpirun") || !runs("mpicc") {
        let why = "needs mpirun and mpicc (Open MPI): cargo xtask mpi installs them";
        assert!(std::env::var_os("STRATANET_REQUIRE_MPI").is_none(), "{why}");
        println!("two_ranks_train_over_stand_in_nccl: SKIPPED (not run, not passed): {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    build_stubs(d, "libnccl.so", &["-DSTUB_MPI"], "mpicc");
    let text = mpirun_stub_job(d, "mpi", &[]);
    for r in 0..2 {
        let line = format!("nccl rank {r} of 2 ok");
        assert!(text.contains(&line), "missing '{line}':\n{text}");
    }
    for line in text
        .lines()
        .filter_map(|l| l.find("ranks vs one process").map(|_| l))
    {
        println!("{line}");
    }
    // A rank without a GPU: an error on both ranks, no hang in ncclCommInitRank.
    let text = mpirun_stub_job(d, "mpi_no_gpu_on_rank_1", &[("STUB_NO_DEVICE_RANK", "1")]);
    for r in ["0", "1"] {
        let line = format!("stub mpi_no_gpu_on_rank_1 ok (rank {r})");
        assert!(text.contains(&line), "missing '{line}':\n{text}");
    }
    for line in text
        .lines()
        .filter_map(|l| l.find("mpi_no_gpu_on_rank_1: ").map(|i| &l[i..]))
    {
        println!("{line}");
    }
}

/// `mpirun -np 2` of this test binary as ranks in `mode`, the stand-ins of `dir` on the
/// loader path; its output, after checking that it succeeded.
fn mpirun_stub_job(dir: &std::path::Path, mode: &str, env: &[(&str, &str)]) -> String {
    let exe = std::env::current_exe().expect("current exe");
    let mut cmd = Command::new("mpirun");
    cmd.args([
        "--allow-run-as-root",
        "--oversubscribe",
        "--bind-to",
        "none",
        "-np",
        "2",
    ]);
    let ld = dir.display().to_string();
    let mut vars = vec![
        ("LD_LIBRARY_PATH", ld.as_str()),
        ("STRATANET_NCCL_STUB", mode),
        ("STRATANET_COLLECTIVE", "nccl"),
        ("STRATANET_COLLECTIVE_TIMEOUT", "120"),
        // One compute thread per rank: the ranks may share two cores.
        ("RAYON_NUM_THREADS", "1"),
        ("OMP_NUM_THREADS", "1"),
    ];
    vars.extend_from_slice(env);
    for (k, v) in vars {
        cmd.args(["-x", &format!("{k}={v}")]);
    }
    cmd.arg(exe).args([
        "--exact",
        "two_ranks_train_over_stand_in_nccl",
        "--nocapture",
        "--test-threads",
        "1",
    ]);
    output_of_success(&mut cmd, &format!("mpirun -np 2 ({mode})"))
}

/// Runs `cmd` (`what`, for the messages) and returns its stdout and stderr, after checking
/// that it succeeded.
fn output_of_success(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{text}",
        out.status
    );
    text
}
