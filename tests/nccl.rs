//! NCCL as the data-parallel transport (`stratanet::distribute::Nccl`, feature `nccl`).
//!
//! - `asking_for_nccl_gives_a_transport_or_a_clear_error` runs everywhere: on a machine
//!   without a GPU, libcuda or libnccl, `DataParallel::nccl()` and
//!   `STRATANET_COLLECTIVE=nccl` must give `Error::Distributed` naming `nccl` and the
//!   reason (never a panic); where NCCL does start, its sums must be right.
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
    assert!(loss.is_finite() && loss < 2.0, "rank {rank}: loss {loss}");
    // Every rank ends with rank 0's weights, bit for bit.
    let bytes: Vec<u8> = w.iter().flat_map(|v| v.to_le_bytes()).collect();
    let root = s.broadcast_vec(bytes.clone()).expect("broadcast weights");
    assert!(root == bytes, "rank {rank}: weights differ from rank 0's");
    if n == 1 {
        // One rank over NCCL trains as one process.
        let (w1, loss1) = train(&DataParallel::single()).expect("fit single");
        let worst = w
            .iter()
            .zip(&w1)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst < 1e-5, "NCCL vs single: weights differ by {worst}");
        assert!((loss - loss1).abs() < 1e-6, "loss {loss} vs {loss1}");
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
#[ignore = "needs a CUDA GPU and libnccl (two GPUs and mpirun for a two-rank job): cargo test --features nccl --test nccl -- --ignored"]
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
        .args(["--allow-run-as-root", "--oversubscribe", "--bind-to", "none"])
        .args(["-np", &ranks.to_string()])
        .args(["-x", "STRATANET_NCCL_WORKER=1", "-x", "STRATANET_COLLECTIVE=nccl"])
        .args(["-x", "STRATANET_COLLECTIVE_TIMEOUT=120"])
        .arg(exe)
        .args(["--exact", "nccl_all_reduce_on_gpus", "--ignored", "--nocapture"])
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
