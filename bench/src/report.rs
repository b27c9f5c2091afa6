//! The driver's report: the repeated runs of every case reduced to medians and min–max
//! spreads, ratios taken per round (a variant against another measured in the same round,
//! so drift hits both), the printed tables and the records of `results.json`.

use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One timed run of a case.
#[derive(Clone, Debug)]
pub struct Run {
    /// The round it ran in (every case runs once per round, interleaved).
    pub round: usize,
    /// Training samples/s.
    pub train: f64,
    /// Predict samples/s.
    pub predict: f64,
    /// Wall time per training step, µs.
    pub us_per_step: f64,
    /// The case's own JSON (per-epoch figures, GPU peaks).
    pub raw: Value,
}

/// Runs by `(workload, engine, variant)`.
pub type Runs = BTreeMap<(String, String, String), Vec<Run>>;

/// The f32 PyTorch variants: the default Adam, `foreach=True`, `fused=True`, and the CNN in
/// channels-last with the fused Adam.
pub const TORCH_VARIANTS: [&str; 4] = [
    "pytorch",
    "pytorch_foreach",
    "pytorch_fused",
    "pytorch_fused_cl",
];

/// The NCHW PyTorch variants: they differ only in their Adam, so their predict code is the
/// same program run three times per round.
pub const TORCH_SAME_PREDICT: [&str; 3] = ["pytorch", "pytorch_foreach", "pytorch_fused"];

/// The predict baseline of those three variants pooled: per round, the median of their
/// three predict figures (see [`add_pooled_predict`]).
pub const TORCH_PREDICT_POOLED: &str = "pytorch_predict_pooled";

/// Adds, per workload, the pseudo-variant [`TORCH_PREDICT_POOLED`]: in each round, the
/// median predict samples/s of the [`TORCH_SAME_PREDICT`] runs of that round (no training
/// figure). Taking the best of their three medians instead would pick the luckiest of
/// three draws of one program, an upward bias of the baseline that grows with the noise.
pub fn add_pooled_predict(runs: &mut Runs) {
    let workloads: std::collections::BTreeSet<String> = runs
        .keys()
        .filter(|k| k.1 == "tch" && TORCH_SAME_PREDICT.contains(&k.2.as_str()))
        .map(|k| k.0.clone())
        .collect();
    for w in workloads {
        let mut by_round: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
        for v in TORCH_SAME_PREDICT {
            for r in runs
                .get(&(w.clone(), "tch".to_string(), v.to_string()))
                .into_iter()
                .flatten()
            {
                by_round.entry(r.round).or_default().push(r.predict);
            }
        }
        let pooled: Vec<Run> = by_round
            .into_iter()
            .filter_map(|(round, values)| {
                let (median, _, _) = spread(&values)?;
                Some(Run {
                    round,
                    train: f64::NAN,
                    predict: median,
                    us_per_step: f64::NAN,
                    raw: json!({ "pooled_from": TORCH_SAME_PREDICT, "runs": values }),
                })
            })
            .collect();
        if !pooled.is_empty() {
            runs.insert((w, "tch".into(), TORCH_PREDICT_POOLED.into()), pooled);
        }
    }
}

/// `(median, min, max)` of the finite values, `None` without any.
pub fn spread(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some((median, v[0], v[n - 1]))
}

/// Samples/s of `phase` (`"train"` or `"predict"`) of one run.
fn phase_value(r: &Run, phase: &str) -> f64 {
    if phase == "train" {
        r.train
    } else {
        r.predict
    }
}

/// The reduced runs, with the lookups the tables need.
pub struct Report<'a> {
    runs: &'a Runs,
}

impl<'a> Report<'a> {
    pub fn new(runs: &'a Runs) -> Self {
        Self { runs }
    }

    fn runs_of(&self, w: &str, engine: &str, variant: &str) -> Option<&'a Vec<Run>> {
        self.runs
            .get(&(w.to_string(), engine.to_string(), variant.to_string()))
            .filter(|v| !v.is_empty())
    }

    /// `(median, min, max)` samples/s of a case's phase.
    pub fn sps(
        &self,
        w: &str,
        engine: &str,
        variant: &str,
        phase: &str,
    ) -> Option<(f64, f64, f64)> {
        let runs = self.runs_of(w, engine, variant)?;
        spread(
            &runs
                .iter()
                .map(|r| phase_value(r, phase))
                .collect::<Vec<_>>(),
        )
    }

    /// Per-round ratios `a / b` of a phase (rounds where both ran), reduced.
    pub fn ratio(
        &self,
        w: &str,
        phase: &str,
        a: (&str, &str),
        b: (&str, &str),
    ) -> Option<(f64, f64, f64, usize)> {
        let (ra, rb) = (self.runs_of(w, a.0, a.1)?, self.runs_of(w, b.0, b.1)?);
        let ratios: Vec<f64> = ra
            .iter()
            .filter_map(|x| {
                let y = rb.iter().find(|y| y.round == x.round)?;
                let d = phase_value(y, phase);
                (d > 0.0).then(|| phase_value(x, phase) / d)
            })
            .collect();
        let (m, lo, hi) = spread(&ratios)?;
        Some((m, lo, hi, ratios.len()))
    }

    /// The f32 PyTorch variant with the highest median for `(w, phase)`. For `predict`
    /// the candidates are the programs that differ: the pooled NCHW variants
    /// ([`TORCH_PREDICT_POOLED`]) and channels-last; for `train`, all four variants.
    pub fn best_torch(&self, w: &str, phase: &str) -> Option<&'static str> {
        let predict = [TORCH_PREDICT_POOLED, "pytorch_fused_cl"];
        let candidates: &[&'static str] = if phase == "predict" {
            &predict
        } else {
            &TORCH_VARIANTS
        };
        candidates
            .iter()
            .copied()
            .filter_map(|v| self.sps(w, "tch", v, phase).map(|s| (v, s.0)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(v, _)| v)
    }

    /// The records of `results.json`: one per case and phase (`samples_per_sec` = `median`,
    /// `min`, `max`, every run in `runs`), then one per ratio (`kind: "ratio"`).
    pub fn records(&self, base: &Value, ratios: &[RatioRow]) -> Vec<Value> {
        let mut out = Vec::new();
        for ((w, engine, variant), runs) in self.runs {
            for phase in ["train", "predict"] {
                let values: Vec<f64> = runs.iter().map(|r| phase_value(r, phase)).collect();
                let Some((m, lo, hi)) = spread(&values) else {
                    continue;
                };
                let mut rec = base.clone();
                rec["workload"] = json!(w);
                rec["engine"] = json!(engine);
                rec["variant"] = json!(variant);
                rec["phase"] = json!(phase);
                rec["samples_per_sec"] = json!(m);
                rec["median"] = json!(m);
                rec["min"] = json!(lo);
                rec["max"] = json!(hi);
                rec["runs"] = json!(values);
                if phase == "train" {
                    let steps: Vec<f64> = runs.iter().map(|r| r.us_per_step).collect();
                    rec["us_per_step"] = json!(spread(&steps).map(|s| s.0));
                    let first = &runs[0].raw;
                    if let Some(e) = first
                        .get("epochs")
                        .filter(|e| e.as_array().is_some_and(|a| !a.is_empty()))
                    {
                        rec["per_epoch"] = e.clone();
                    }
                    if let Some(p) = first.get("gpu_peak_bytes") {
                        rec["gpu_peak_bytes"] = p.clone();
                    }
                }
                out.push(rec);
            }
        }
        for r in ratios {
            out.push(json!({
                "kind": "ratio", "workload": r.workload, "phase": r.phase, "ratio": r.name,
                "median": r.value.0, "min": r.value.1, "max": r.value.2, "pairs": r.value.3,
            }));
        }
        out
    }
}

/// One reduced ratio, as recorded.
pub struct RatioRow {
    pub workload: String,
    pub phase: String,
    /// `candle fit / tch fit`, `tch fit / pytorch_fused`, ….
    pub name: String,
    pub value: (f64, f64, f64, usize),
}

/// `12,345`-style samples/s (median), `-` when absent.
pub fn fmt_sps(v: Option<(f64, f64, f64)>) -> String {
    v.map_or("-".into(), |(m, _, _)| format!("{m:.0}"))
}

/// `1.23 [1.10–1.40]`: a ratio's median and spread, `-` when absent.
pub fn fmt_ratio(v: Option<(f64, f64, f64, usize)>) -> String {
    v.map_or("-".into(), |(m, lo, hi, _)| {
        format!("{m:.2} [{lo:.2}–{hi:.2}]")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(round: usize, train: f64, predict: f64) -> Run {
        Run {
            round,
            train,
            predict,
            us_per_step: 1.0,
            raw: json!({}),
        }
    }

    fn key(v: &str) -> (String, String, String) {
        ("mlp".into(), "tch".into(), v.into())
    }

    #[test]
    fn pooled_predict_is_the_per_round_median_of_the_same_program() {
        let mut runs = Runs::new();
        // Round 0: 100, 130, 90 -> 100; round 1: 80, 70, 120 -> 80.
        runs.insert(key("pytorch"), vec![run(0, 5.0, 100.0), run(1, 5.0, 80.0)]);
        runs.insert(
            key("pytorch_foreach"),
            vec![run(0, 6.0, 130.0), run(1, 6.0, 70.0)],
        );
        runs.insert(
            key("pytorch_fused"),
            vec![run(0, 7.0, 90.0), run(1, 7.0, 120.0)],
        );
        add_pooled_predict(&mut runs);
        let pooled = &runs[&key(TORCH_PREDICT_POOLED)];
        let got: Vec<(usize, f64)> = pooled.iter().map(|r| (r.round, r.predict)).collect();
        assert_eq!(got, vec![(0, 100.0), (1, 80.0)]);
        assert!(pooled.iter().all(|r| r.train.is_nan()));

        let rep = Report::new(&runs);
        // Predict: the pooled program (median of 100 and 80: 90), not the luckiest
        // variant (fused's median of 90 and 120, 105, the old rule's pick).
        assert_eq!(rep.best_torch("mlp", "predict"), Some(TORCH_PREDICT_POOLED));
        assert_eq!(
            rep.sps("mlp", "tch", TORCH_PREDICT_POOLED, "predict")
                .unwrap()
                .0,
            90.0
        );
        // Training: the variants differ, the fastest one is the baseline.
        assert_eq!(rep.best_torch("mlp", "train"), Some("pytorch_fused"));
        assert_eq!(rep.sps("mlp", "tch", TORCH_PREDICT_POOLED, "train"), None);
    }

    #[test]
    fn channels_last_predict_competes_with_the_pooled_nchw() {
        let mut runs = Runs::new();
        for v in TORCH_SAME_PREDICT {
            runs.insert(key(v), vec![run(0, 1.0, 50.0)]);
        }
        runs.insert(key("pytorch_fused_cl"), vec![run(0, 1.0, 60.0)]);
        add_pooled_predict(&mut runs);
        let rep = Report::new(&runs);
        assert_eq!(rep.best_torch("mlp", "predict"), Some("pytorch_fused_cl"));
    }
}
