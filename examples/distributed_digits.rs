//! Data-parallel training of the digits MLP over MPI (`stratanet::distribute`), and a
//! measurement of training throughput and all-reduce bandwidth.
//!
//! ```text
//! cargo xtask mpi                                   # Open MPI, once
//! cargo build --release --features mpi --example distributed_digits
//! mpirun -np 2 target/release/examples/distributed_digits            # two ranks, this machine
//! mpirun -H host1,host2 -np 2 target/release/examples/distributed_digits   # two machines
//! target/release/examples/distributed_digits                          # one process
//! # options: --epochs N, --batch N (global), --backend tch, --quiet,
//! #          --allreduce-bench (time the all-reduce of the model's gradient buffer)
//! ```
//!
//! Every rank trains a replica on its share of each global batch; only rank 0 prints the
//! progress bar. Started without `mpirun` it is one rank (the same program, the same
//! result up to float rounding).

use std::time::Instant;

use stratanet::distribute::DataParallel;
use stratanet::prelude::*;
use stratanet::{datasets, Backend};

struct Args {
    epochs: usize,
    batch: usize,
    quiet: bool,
    allreduce_bench: bool,
}

fn args() -> stratanet::Result<Args> {
    let a: Vec<String> = std::env::args().collect();
    let num = |name: &str, default: usize| -> stratanet::Result<usize> {
        match a.iter().position(|x| x == name) {
            None => Ok(default),
            Some(i) => a
                .get(i + 1)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| stratanet::Error::invalid(name, "value", "expected an integer")),
        }
    };
    Ok(Args {
        epochs: num("--epochs", 20)?,
        batch: num("--batch", 64)?,
        quiet: a.iter().any(|x| x == "--quiet"),
        allreduce_bench: a.iter().any(|x| x == "--allreduce-bench"),
    })
}

fn run<B: Backend>(strategy: &DataParallel, args: &Args, device: Device) -> stratanet::Result<()> {
    let root = strategy.is_root();
    let (x, y) = datasets::digits::<B>(device)?;
    let (x_train, x_test, y_train, y_test) = datasets::train_test_split(&x, &y, 0.2, 42)?;
    let mut model = Sequential::<B>::new().with_seed(42).on_device(device);
    model.add(Input::new(&[64]))?;
    model.add(Dense::new(128).activation("relu"))?;
    model.add(Dense::new(64).activation("relu"))?;
    model.add(Dense::new(10).activation("softmax"))?;
    model.compile(
        Adam::new(2e-3),
        "sparse_categorical_crossentropy",
        &["accuracy"],
    )?;
    let n = x_train.shape()[0];
    let start = Instant::now();
    let history = model.fit(
        &x_train,
        &y_train,
        FitOptions::new()
            .epochs(args.epochs)
            .batch_size(args.batch)
            .seed(42)
            .verbose(if args.quiet { 0 } else { 1 })
            .distribute(strategy),
    )?;
    let secs = start.elapsed().as_secs_f64();
    let scores = model.evaluate(&x_test, &y_test)?;
    if root {
        println!(
            "ranks {}, global batch {} ({} per rank), {} epochs of {n} samples: {secs:.2} s, \
             {:.0} samples/s",
            strategy.size(),
            args.batch,
            args.batch / strategy.size(),
            args.epochs,
            (n * args.epochs) as f64 / secs
        );
        println!(
            "final loss {:.4} (mean over ranks), test accuracy {:.4}",
            history.last("loss").unwrap_or(f64::NAN),
            scores.get("accuracy").unwrap_or(f64::NAN)
        );
    }
    if args.allreduce_bench {
        // The fused buffer: every gradient, plus one presence count per parameter tensor.
        let weights = model.get_weights()?;
        let fused = weights.len()
            + weights
                .iter()
                .map(|(_, t)| t.shape.iter().product::<usize>())
                .sum::<usize>();
        for floats in [fused, 1 << 20, 1 << 24] {
            let mut buf = vec![1.0f32; floats];
            let c = strategy.collective();
            c.barrier()?;
            let reps = if floats > 1 << 22 { 10 } else { 200 };
            for _ in 0..3 {
                c.all_reduce_sum_f32(&mut buf)?; // warm-up
            }
            c.barrier()?;
            let t = Instant::now();
            for _ in 0..reps {
                c.all_reduce_sum_f32(&mut buf)?;
            }
            let per = t.elapsed().as_secs_f64() / reps as f64;
            if root {
                let bytes = (floats * 4) as f64;
                println!(
                    "all-reduce of {floats} f32 ({:.2} MB){}: {:.1} us per call, {:.2} GB/s \
                     (buffer bytes / time)",
                    bytes / 1e6,
                    if floats == fused {
                        " = the MLP's fused gradient buffer"
                    } else {
                        ""
                    },
                    per * 1e6,
                    bytes / per / 1e9
                );
            }
        }
    }
    Ok(())
}

fn main() -> stratanet::Result<()> {
    let strategy = DataParallel::from_env()?;
    let args = args()?;
    let engine = stratanet::Engine::from_args()?;
    if strategy.is_root() {
        println!(
            "engine: {engine}, {} rank(s) over {}",
            strategy.size(),
            strategy.collective().name()
        );
    }
    stratanet::with_engine!(engine, B => {
        let device = Device::from_args::<B>()?;
        run::<B>(&strategy, &args, device)
    })
}
