//! `callbacks::TensorBoard`: the event files it writes are read back (framing and CRCs
//! checked by `read_event_file`) and every scalar, histogram and graph node is compared with
//! what `fit` reported; a Python test reads them with TensorBoard's own `EventAccumulator`.

#[macro_use]
mod common;
use common::{quiet, tmp, tmp_dir};

use prost::Message;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use stratanet::callbacks::tensorboard::proto::{event::What, summary, GraphDef, HistogramProto};
use stratanet::callbacks::tensorboard::{event_files, read_event_file, FILE_VERSION};
use stratanet::callbacks::{
    Callback, CallbackContext, FitState, LambdaCallback, LearningRateScheduler, Logs, TensorBoard,
    UpdateFreq,
};
use stratanet::prelude::*;
use stratanet::DefaultBackend as B;

/// What one folder's event file holds.
#[derive(Default, Debug)]
struct Run {
    scalars: BTreeMap<String, Vec<(i64, f32)>>,
    histograms: BTreeMap<String, Vec<(i64, HistogramProto)>>,
    graphs: Vec<GraphDef>,
    records: usize,
}

/// Reads the single event file in `dir` (asserting there is exactly one, that it starts
/// with the `file_version` record and that every other record is a summary or a graph).
fn read_run(dir: &Path) -> Run {
    let files = event_files(dir).unwrap();
    assert_eq!(files.len(), 1, "one event file in {}", dir.display());
    read_file(&files[0])
}

fn read_file(path: &PathBuf) -> Run {
    let events = read_event_file(path).unwrap();
    assert_eq!(
        events[0].what,
        Some(What::FileVersion(FILE_VERSION.to_string()))
    );
    let mut run = Run {
        records: events.len(),
        ..Run::default()
    };
    for e in &events[1..] {
        assert!(e.wall_time > 1.6e9, "wall time in seconds since 1970");
        match &e.what {
            Some(What::Summary(s)) => {
                for v in &s.value {
                    match &v.value {
                        Some(summary::value::Value::SimpleValue(x)) => run
                            .scalars
                            .entry(v.tag.clone())
                            .or_default()
                            .push((e.step, *x)),
                        Some(summary::value::Value::Histo(h)) => run
                            .histograms
                            .entry(v.tag.clone())
                            .or_default()
                            .push((e.step, h.clone())),
                        None => panic!("empty summary value {}", v.tag),
                    }
                }
            }
            Some(What::GraphDef(bytes)) => run.graphs.push(GraphDef::decode(&bytes[..]).unwrap()),
            other => panic!("unexpected event {other:?}"),
        }
    }
    run
}

/// A small binary classifier, its training data (32 rows: 4 batches of 8) and validation
/// data (16 rows).
fn classifier() -> (Sequential<B>, [Tensor<B>; 4]) {
    let m = sequential!(
        B,
        7,
        [4],
        Dense::new(8).activation("relu"),
        Dense::new(1).activation("sigmoid")
    );
    let x = common::uniform::<B>(&[32, 4], 1);
    let y = common::positive_sum_labels(&x, true, DType::F32);
    let xv = common::uniform::<B>(&[16, 4], 2);
    let yv = common::positive_sum_labels(&xv, true, DType::F32);
    (m, [x, y, xv, yv])
}

/// The running logs after every training batch, recorded by a `LambdaCallback` that sees
/// the same logs as the `TensorBoard` callback.
type BatchLogs = Arc<Mutex<Vec<Logs>>>;

fn batch_recorder() -> (LambdaCallback, BatchLogs) {
    let seen: BatchLogs = Arc::default();
    let s = seen.clone();
    let cb = LambdaCallback::new().on_train_batch_end(move |_, logs, _| {
        s.lock().unwrap().push(logs.logs()?);
        Ok(())
    });
    (cb, seen)
}

/// `values` as the `f32` scalars an event file holds, at steps `0, 1, …`.
fn per_epoch(values: &[f64]) -> Vec<(i64, f32)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (i as i64, *v as f32))
        .collect()
}

#[test]
fn scalars_learning_rate_batches_histograms_and_graph_read_back() {
    let (mut m, [x, y, xv, yv]) = classifier();
    m.compile(Sgd::new(0.1), "binary_crossentropy", &["accuracy"])
        .unwrap();
    let logs = tmp_dir();
    let tb = Arc::new(Mutex::new(
        TensorBoard::new(logs.join("run"))
            .histogram_freq(2)
            .update_freq(UpdateFreq::Every(3)),
    ));
    let (recorder, batches) = batch_recorder();
    let schedule = LearningRateScheduler::new(|epoch, _| 0.1 / (epoch + 1) as f64);
    let h = m
        .fit(
            &x,
            &y,
            quiet(3)
                .batch_size(8)
                .shuffle(false)
                .validation_data(xv, yv)
                .callback(schedule)
                .callback(recorder)
                .callback(tb.clone()),
        )
        .unwrap();
    let files = tb.lock().unwrap().files().to_vec();
    assert_eq!(files.len(), 2, "{files:?}");
    let train = read_run(&logs.join("run/train"));
    let val = read_run(&logs.join("run/validation"));

    // Per-epoch scalars: the History's figures, in f32.
    assert_eq!(
        train.scalars["epoch_loss"],
        per_epoch(h.get("loss").unwrap())
    );
    assert_eq!(
        train.scalars["epoch_accuracy"],
        per_epoch(h.get("accuracy").unwrap())
    );
    assert_eq!(
        train.scalars["epoch_learning_rate"],
        per_epoch(&[0.1, 0.05, 0.1 / 3.0])
    );
    assert_eq!(
        val.scalars["epoch_loss"],
        per_epoch(h.get("val_loss").unwrap())
    );
    assert_eq!(
        val.scalars["epoch_accuracy"],
        per_epoch(h.get("val_accuracy").unwrap())
    );
    // Keras' evaluation scalars: each validation pass at the training batches so far.
    let at_iterations = |name: &str| -> Vec<(i64, f32)> {
        h.get(name)
            .unwrap()
            .iter()
            .enumerate()
            .map(|(e, v)| (4 * (e as i64 + 1), *v as f32))
            .collect()
    };
    assert_eq!(
        val.scalars["evaluation_loss_vs_iterations"],
        at_iterations("val_loss")
    );
    assert_eq!(
        val.scalars["evaluation_accuracy_vs_iterations"],
        at_iterations("val_accuracy")
    );

    // Batch scalars every 3rd of the 12 global batches (1-based), with the running logs.
    let batches = batches.lock().unwrap();
    assert_eq!(batches.len(), 12);
    for name in ["loss", "accuracy"] {
        let want: Vec<(i64, f32)> = [3usize, 6, 9, 12]
            .iter()
            .map(|&s| (s as i64, batches[s - 1].get(name).unwrap() as f32))
            .collect();
        assert_eq!(train.scalars[&format!("batch_{name}")], want, "{name}");
    }
    // The running logs after an epoch's last batch (global batch 12) are that epoch's logs.
    assert_eq!(
        train.scalars["batch_loss"][3],
        (12, h.get("loss").unwrap()[2] as f32)
    );
    let train_tags: Vec<&str> = train.scalars.keys().map(String::as_str).collect();
    assert_eq!(
        train_tags,
        [
            "batch_accuracy",
            "batch_loss",
            "epoch_accuracy",
            "epoch_learning_rate",
            "epoch_loss"
        ]
    );
    assert_eq!(val.scalars.len(), 4);

    // Histograms at epochs 0 and 2; those of epoch 2 describe the final weights.
    let weights = m.get_weights().unwrap();
    let tags: Vec<String> = weights
        .iter()
        .map(|(n, _)| format!("{n}/histogram"))
        .collect();
    assert_eq!(train.histograms.keys().cloned().collect::<Vec<_>>(), {
        let mut t = tags.clone();
        t.sort();
        t
    });
    for (name, w) in &weights {
        let hs = &train.histograms[&format!("{name}/histogram")];
        assert_eq!(hs.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![0, 2]);
        let last = &hs[1].1;
        let v = w.data.to_f64_vec();
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!((last.num, last.min, last.max), (v.len() as f64, min, max));
        assert!((last.sum - v.iter().sum::<f64>()).abs() < 1e-9);
        assert_eq!(last.bucket.iter().sum::<f64>(), v.len() as f64);
        assert_eq!(last.bucket.len(), 30);
    }

    // The graph: a chain of the two layers with their output shapes.
    assert_eq!(train.graphs.len(), 1);
    let g = &train.graphs[0];
    let nodes: Vec<(&str, &str, Vec<String>)> = g
        .node
        .iter()
        .map(|n| (n.name.as_str(), n.op.as_str(), n.input.clone()))
        .collect();
    assert_eq!(
        nodes,
        vec![
            ("dense", "Dense", vec![]),
            ("dense_1", "Dense", vec!["dense".to_string()])
        ]
    );
    use stratanet::callbacks::tensorboard::proto::attr_value::Value;
    let Some(Value::List(shapes)) = &g.node[0].attr["_output_shapes"].value else {
        panic!("no _output_shapes");
    };
    let dims: Vec<i64> = shapes.shape[0].dim.iter().map(|d| d.size).collect();
    assert_eq!(dims, vec![-1, 8]);
    let Some(Value::S(config)) = &g.node[1].attr["config"].value else {
        panic!("no config");
    };
    let config: serde_json::Value = serde_json::from_slice(config).unwrap();
    assert_eq!(config["activation"], "sigmoid");
}

#[test]
fn epoch_only_by_default_and_new_files_per_fit() {
    let (mut m, [x, y, ..]) = classifier();
    m.compile(Adam::new(1e-2), "binary_crossentropy", &[])
        .unwrap();
    let logs = tmp_dir();
    let tb = Arc::new(Mutex::new(
        TensorBoard::new(logs.to_path_buf()).write_graph(false),
    ));
    m.fit(&x, &y, quiet(2).batch_size(16).callback(tb.clone()))
        .unwrap();
    let h = m
        .fit(&x, &y, quiet(1).batch_size(16).callback(tb.clone()))
        .unwrap();
    // No validation: no validation folder; each fit its own file.
    assert!(!logs.join("validation").exists());
    let files = event_files(logs.join("train")).unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(tb.lock().unwrap().files(), files.as_slice());
    let first = read_file(&files[0]);
    let second = read_file(&files[1]);
    assert!(first.graphs.is_empty() && first.histograms.is_empty());
    assert_eq!(
        first.scalars.keys().collect::<Vec<_>>(),
        ["epoch_learning_rate", "epoch_loss"]
    );
    assert_eq!(first.scalars["epoch_loss"].len(), 2);
    assert_eq!(
        second.scalars["epoch_loss"],
        per_epoch(h.get("loss").unwrap())
    );
    // file_version + 2 scalars per epoch.
    assert_eq!((first.records, second.records), (5, 3));
}

#[test]
fn steps_per_second_when_asked() {
    let (mut m, [x, y, ..]) = classifier();
    m.compile(Sgd::new(0.1), "binary_crossentropy", &[])
        .unwrap();
    let logs = tmp_dir();
    let tb = TensorBoard::new(logs.to_path_buf())
        .write_steps_per_second(true)
        .update_freq(UpdateFreq::Batch);
    m.fit(&x, &y, quiet(2).batch_size(8).callback(tb)).unwrap();
    let run = read_run(&logs.join("train"));
    let epoch = &run.scalars["epoch_steps_per_second"];
    let batch = &run.scalars["batch_steps_per_second"];
    assert_eq!(epoch.iter().map(|p| p.0).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(
        batch.iter().map(|p| p.0).collect::<Vec<_>>(),
        (1..=8).collect::<Vec<i64>>()
    );
    for (_, v) in epoch.iter().chain(batch) {
        assert!(v.is_finite() && *v > 0.0, "{v}");
    }
}

#[test]
fn functional_graph_has_inputs_and_shared_layers() {
    use stratanet::layers::Add;
    let a = common::named_input::<B>("a", &[3]);
    let b = common::named_input::<B>("b", &[3]);
    let shared = Shared::new(Dense::new(2).name("shared"));
    let ha = shared.apply(&a).unwrap();
    let hb = shared.apply(&b).unwrap();
    let sum = Add().name("sum").apply_multi(&[ha, hb]).unwrap();
    let mut model = Model::new(&[a, b], &[sum]).unwrap();

    // The hooks can be driven by hand (here: outside `fit`).
    let logs = tmp_dir();
    let mut tb = TensorBoard::new(logs.to_path_buf());
    let mut state = FitState {
        epochs: 1,
        steps: 0,
        verbose: 0,
        stop_training: false,
        learning_rate: 0.01,
        epoch: 0,
    };
    let mut ctx = CallbackContext {
        state: &mut state,
        model: &mut model,
    };
    tb.on_train_begin(&mut ctx).unwrap();
    tb.on_train_end(&mut ctx).unwrap();
    let run = read_run(&logs.join("train"));
    assert_eq!(run.graphs.len(), 1);
    let nodes: Vec<(&str, &str, Vec<String>)> = run.graphs[0]
        .node
        .iter()
        .map(|n| (n.name.as_str(), n.op.as_str(), n.input.clone()))
        .collect();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        nodes,
        vec![
            ("a", "InputLayer", vec![]),
            ("b", "InputLayer", vec![]),
            ("shared", "Dense", s(&["a", "b"])),
            ("sum", "Add", s(&["shared", "shared"])),
        ]
    );
}

#[test]
fn bad_settings_and_unwritable_folders_are_errors() {
    let (mut m, [x, y, ..]) = classifier();
    m.compile(Sgd::new(0.1), "binary_crossentropy", &[])
        .unwrap();
    let logs = tmp_dir();
    let e = m
        .fit(
            &x,
            &y,
            quiet(1)
                .callback(TensorBoard::new(logs.to_path_buf()).update_freq(UpdateFreq::Every(0))),
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("TensorBoard") && e.contains("update_freq"),
        "{e}"
    );

    // A log folder below a regular file cannot be made: the error names the path.
    let file = tmp("not_a_folder");
    std::fs::write(&file, "x").unwrap();
    let e = m
        .fit(
            &x,
            &y,
            quiet(1).callback(TensorBoard::new(file.join("run"))),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("not_a_folder/run/train"), "{e}");
}

/// TensorBoard's own reader: `EventAccumulator` (with every event kept) loads both folders;
/// every scalar (tags, steps, values) equals the History's figures in f32 and the recorded
/// batch logs, the histograms of every weight are there for every epoch, the graph has the
/// layers; TensorBoard's record reader (which checks both CRCs of every record) reads as
/// many records as ours.
#[test]
#[ignore = "needs Python: run with cargo xtask test (sets STRATANET_PYTHON)"]
fn tensorboard_event_accumulator_reads_every_scalar() {
    let (mut m, [x, y, xv, yv]) = classifier();
    m.compile(Adam::new(0.05), "binary_crossentropy", &["accuracy"])
        .unwrap();
    let logs = tmp_dir();
    let (recorder, batches) = batch_recorder();
    let tb = TensorBoard::new(logs.to_path_buf())
        .histogram_freq(1)
        .update_freq(UpdateFreq::Batch);
    let h = m
        .fit(
            &x,
            &y,
            quiet(3)
                .batch_size(8)
                .validation_data(xv, yv)
                .callback(recorder)
                .callback(tb),
        )
        .unwrap();
    let script = r#"
import sys, json, glob, os
from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.tensorflow_stub import pywrap_tensorflow
out = {}
for run in ("train", "validation"):
    path = os.path.join(sys.argv[1], run)
    acc = EventAccumulator(path, size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0, ea.COMPRESSED_HISTOGRAMS: 0, ea.TENSORS: 0, ea.IMAGES: 0, ea.AUDIO: 0})
    acc.Reload()
    tags = acc.Tags()
    r = {"scalars": {}, "histograms": {}, "graph": None, "records": 0}
    for t in tags["scalars"]:
        r["scalars"][t] = [[e.step, e.value] for e in acc.Scalars(t)]
    for t in tags["histograms"]:
        r["histograms"][t] = [[e.step, e.histogram_value.num, e.histogram_value.min, e.histogram_value.max] for e in acc.Histograms(t)]
    if tags["graph"]:
        r["graph"] = [[n.name, n.op, list(n.input)] for n in acc.Graph().node]
    for f in glob.glob(os.path.join(path, "*tfevents*")):
        reader = pywrap_tensorflow.PyRecordReader_New(f)
        while True:
            try:
                reader.GetNext()
            except Exception as e:
                if type(e).__name__ != "OutOfRangeError":
                    raise
                break
            r["records"] += 1
    out[run] = r
print(json.dumps(out))
"#;
    let out = common::run_python_script("EventAccumulator", script, &[logs.as_os_str()]);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();

    let scalars = |run: &str| -> BTreeMap<String, Vec<(i64, f32)>> {
        v[run]["scalars"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(tag, points)| {
                let points = points
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| (p[0].as_i64().unwrap(), p[1].as_f64().unwrap() as f32))
                    .collect();
                (tag.clone(), points)
            })
            .collect()
    };
    let mut want_train: BTreeMap<String, Vec<(i64, f32)>> = BTreeMap::new();
    let mut want_val: BTreeMap<String, Vec<(i64, f32)>> = BTreeMap::new();
    for (name, values) in &h.history {
        match name.strip_prefix("val_") {
            Some(n) => {
                want_val.insert(format!("epoch_{n}"), per_epoch(values));
                let at: Vec<(i64, f32)> = values
                    .iter()
                    .enumerate()
                    .map(|(e, v)| (4 * (e as i64 + 1), *v as f32))
                    .collect();
                want_val.insert(format!("evaluation_{n}_vs_iterations"), at);
            }
            None => {
                want_train.insert(format!("epoch_{name}"), per_epoch(values));
            }
        }
    }
    want_train.insert("epoch_learning_rate".into(), per_epoch(&[0.05; 3]));
    let batches = batches.lock().unwrap();
    assert_eq!(batches.len(), 12);
    for name in ["loss", "accuracy"] {
        let points = batches
            .iter()
            .enumerate()
            .map(|(i, l)| (i as i64 + 1, l.get(name).unwrap() as f32))
            .collect();
        want_train.insert(format!("batch_{name}"), points);
    }
    assert_eq!(scalars("train"), want_train);
    assert_eq!(scalars("validation"), want_val);

    let histograms = v["train"]["histograms"].as_object().unwrap();
    let weights = m.get_weights().unwrap();
    assert_eq!(histograms.len(), weights.len());
    for (name, w) in &weights {
        let hs = histograms[&format!("{name}/histogram")].as_array().unwrap();
        let steps: Vec<i64> = hs.iter().map(|p| p[0].as_i64().unwrap()).collect();
        assert_eq!(steps, vec![0, 1, 2], "{name}");
        assert_eq!(hs[2][1].as_f64().unwrap(), w.data.len() as f64, "{name}");
    }
    assert!(v["validation"]["histograms"]
        .as_object()
        .unwrap()
        .is_empty());
    assert_eq!(
        v["train"]["graph"],
        serde_json::json!([["dense", "Dense", []], ["dense_1", "Dense", ["dense"]]])
    );
    for run in ["train", "validation"] {
        let ours = read_run(&logs.join(run)).records;
        assert_eq!(v[run]["records"].as_u64().unwrap() as usize, ours, "{run}");
    }
}
