//! The printed tables of the driver (markdown): samples/s as medians of the rounds, ratios
//! as `median [min–max]` of per-round ratios. Returns the ratios for `results.json`.

use crate::report::{fmt_ratio, fmt_sps, RatioRow, Report, Runs, TORCH_VARIANTS};
use crate::Options;

/// A ratio of one phase: `(label, (engine, variant), (engine, variant))`.
type RatioSpec<'a> = (String, (&'a str, &'a str), (&'a str, &'a str));

/// Prints every table; returns the ratios it printed.
pub fn print_tables(opts: &Options, rep: &Report, runs: &Runs) -> Vec<RatioRow> {
    let mut ratios: Vec<RatioRow> = Vec::new();
    let mut ratio = |w: &str, phase: &str, spec: &RatioSpec| {
        let v = rep.ratio(w, phase, spec.1, spec.2);
        if let Some(value) = v {
            ratios.push(RatioRow {
                workload: w.to_string(),
                phase: phase.to_string(),
                name: spec.0.clone(),
                value,
            });
        }
        fmt_ratio(v)
    };
    let phases = ["train", "predict"];
    println!(
        "\nstratanet bench ({}, {} threads, {}; samples/s: medians of {} interleaved rounds, \
         warm-up excluded; ratios: median [min–max] of the per-round ratios)\n",
        if opts.quick { "quick" } else { "full" },
        opts.threads,
        if opts.cuda { "cuda" } else { "cpu" },
        opts.repeats,
    );
    println!(
        "| workload | phase | engine | fit | raw loop | PyTorch (best) | Keras 3 (torch) | \
         fit/raw | fit/PyTorch best | fit/Keras |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for w in opts.workloads.iter().map(|w| w.name()) {
        for phase in phases {
            for engine in &opts.engines {
                let e = engine.as_str();
                let fit = rep.sps(w, e, "fit", phase);
                // The raw loop a strong user writes: the faster of NCHW and channels-last.
                let raw_variant = ["raw", "raw_cl"]
                    .into_iter()
                    .filter_map(|v| rep.sps(w, e, v, phase).map(|s| (v, s.0)))
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map_or("raw", |(v, _)| v);
                let raw = rep.sps(w, e, raw_variant, phase);
                let fit_raw = ratio(
                    w,
                    phase,
                    &(
                        format!("{e} fit/{raw_variant}"),
                        (e, "fit"),
                        (e, raw_variant),
                    ),
                );
                let (torch, keras, fit_torch, fit_keras) = if e == "tch" {
                    let best = rep.best_torch(w, phase);
                    let torch = best.and_then(|b| rep.sps(w, "tch", b, phase));
                    let fit_torch = best.map_or("-".to_string(), |b| {
                        let r = ratio(
                            w,
                            phase,
                            &(format!("tch fit/{b}"), ("tch", "fit"), ("tch", b)),
                        );
                        format!("{r} ({b})")
                    });
                    let keras = rep.sps(w, "tch", "keras", phase);
                    let fit_keras = ratio(
                        w,
                        phase,
                        &("tch fit/keras".into(), ("tch", "fit"), ("tch", "keras")),
                    );
                    (torch, keras, fit_torch, fit_keras)
                } else {
                    (None, None, "-".into(), "-".into())
                };
                println!(
                    "| {w} | {phase} | {e} | {} | {} ({raw_variant}) | {} | {} | {fit_raw} | \
                     {fit_torch} | {fit_keras} |",
                    fmt_sps(fit),
                    fmt_sps(raw),
                    fmt_sps(torch),
                    fmt_sps(keras),
                );
            }
        }
    }
    if TORCH_VARIANTS
        .iter()
        .any(|v| runs.keys().any(|k| k.2 == *v))
    {
        println!("\nPyTorch variants on the same libtorch (samples/s, medians):\n");
        println!("| workload | phase | Adam default | Adam foreach | Adam fused | fused + channels-last | raw tch NCHW | raw tch channels-last |");
        println!("|---|---|---:|---:|---:|---:|---:|---:|");
        for w in opts.workloads.iter().map(|w| w.name()) {
            for phase in phases {
                let cols: Vec<String> = TORCH_VARIANTS
                    .iter()
                    .chain(&["raw", "raw_cl"])
                    .map(|v| fmt_sps(rep.sps(w, "tch", v, phase)))
                    .collect();
                println!("| {w} | {phase} | {} |", cols.join(" | "));
            }
        }
    }
    // Identical predict code under two names: how far apart the round-by-round ratios of
    // one program fall on this machine, the bench's resolution for a row at parity.
    let floor_rows: Vec<String> = opts
        .workloads
        .iter()
        .map(|w| w.name())
        .filter(|w| {
            rep.sps(w, "tch", "pytorch", "predict").is_some()
                && rep.sps(w, "tch", "pytorch_foreach", "predict").is_some()
        })
        .map(|w| {
            let r = ratio(
                w,
                "predict",
                &(
                    "pytorch_foreach/pytorch (same predict code)".into(),
                    ("tch", "pytorch_foreach"),
                    ("tch", "pytorch"),
                ),
            );
            format!("| {w} | {r} |")
        })
        .collect();
    if !floor_rows.is_empty() {
        println!(
            "\nNoise floor: PyTorch's `foreach` and default variants run the same predict code; \
             their round-by-round ratio shows how far one program's figures fall apart here:\n"
        );
        println!("| workload | predict, foreach/default |");
        println!("|---|---:|");
        for l in &floor_rows {
            println!("{l}");
        }
    }
    for p in &opts.precisions[1..] {
        let (fit_p, torch_p) = (format!("fit_{p}"), format!("pytorch_{p}"));
        println!(
            "\nMixed precision, {p} (stratanet: Keras policy, f32 variables; PyTorch: \
             torch.autocast(dtype={p})):\n"
        );
        println!(
            "| workload | phase | engine | f32 fit | {p} fit | {p}/f32 | PyTorch {p} | \
             {p} fit/PyTorch {p} |"
        );
        println!("|---|---|---|---:|---:|---:|---:|---:|");
        for w in opts.workloads.iter().map(|w| w.name()) {
            for phase in phases {
                for engine in &opts.engines {
                    let e = engine.as_str();
                    let half_f32 = ratio(
                        w,
                        phase,
                        &(format!("{e} {fit_p}/fit"), (e, &fit_p), (e, "fit")),
                    );
                    let (th, vs_torch) = if e == "tch" {
                        (
                            rep.sps(w, "tch", &torch_p, phase),
                            ratio(
                                w,
                                phase,
                                &(
                                    format!("tch {fit_p}/{torch_p}"),
                                    ("tch", &fit_p),
                                    ("tch", &torch_p),
                                ),
                            ),
                        )
                    } else {
                        (None, "-".into())
                    };
                    println!(
                        "| {w} | {phase} | {e} | {} | {} | {half_f32} | {} | {vs_torch} |",
                        fmt_sps(rep.sps(w, e, "fit", phase)),
                        fmt_sps(rep.sps(w, e, &fit_p, phase)),
                        fmt_sps(th),
                    );
                }
            }
        }
    }
    if opts.engines.iter().any(|e| e == "candle") && opts.engines.iter().any(|e| e == "tch") {
        println!("\ncandle / tch (same variant; target of issue 17: at least 0.5):\n");
        println!("| workload | phase | fit | raw loop |");
        println!("|---|---|---:|---:|");
        for w in opts.workloads.iter().map(|w| w.name()) {
            for phase in phases {
                let fit = ratio(
                    w,
                    phase,
                    &(
                        "candle fit/tch fit".into(),
                        ("candle", "fit"),
                        ("tch", "fit"),
                    ),
                );
                let raw = ratio(
                    w,
                    phase,
                    &(
                        "candle raw/tch raw".into(),
                        ("candle", "raw"),
                        ("tch", "raw"),
                    ),
                );
                println!("| {w} | {phase} | {fit} | {raw} |");
            }
        }
    }
    println!(
        "\nWall time per training step (µs, median; on a GPU at these batch sizes, mostly host \
         time):\n"
    );
    println!("| workload | engine | variant | batch | µs/step |");
    println!("|---|---|---|---:|---:|");
    for ((w, e, v), rs) in runs {
        let steps: Vec<f64> = rs.iter().map(|r| r.us_per_step).collect();
        let batch = crate::Workload::parse(w).map_or(0, |w| w.batch());
        if let Some((m, _, _)) = crate::report::spread(&steps) {
            println!("| {w} | {e} | {v} | {batch} | {m:.0} |");
        }
    }
    let epoch_lines: Vec<String> = runs
        .iter()
        .filter_map(|((w, e, v), rs)| {
            let eps = rs.first()?.raw.get("epochs")?.as_array()?;
            if eps.is_empty() {
                return None;
            }
            let col = |key: &str, scale: f64| {
                eps.iter()
                    .map(|x| {
                        x.get(key)
                            .and_then(serde_json::Value::as_f64)
                            .map_or("-".to_string(), |v| format!("{:.1}", v / scale))
                    })
                    .collect::<Vec<_>>()
                    .join(" / ")
            };
            Some(format!(
                "| {w} | {e} | {v} | {} | {} |",
                col("gpu_peak_bytes", 1024.0 * 1024.0),
                col("host_reads", 1.0).replace(".0", ""),
            ))
        })
        .collect();
    if !epoch_lines.is_empty() {
        println!(
            "\nPer timed epoch of the first round: GPU memory peak (MiB, the caching \
             allocator's allocated-bytes peak, reset each epoch; `-` on the CPU or without \
             bench/cuda_mem.cpp) and device reads (tch fit; the first epoch includes fit's \
             one-off label check):\n"
        );
        println!("| workload | engine | variant | GPU peak per epoch | device reads per epoch |");
        println!("|---|---|---|---|---|");
        for l in &epoch_lines {
            println!("{l}");
        }
    }
    ratios
}
