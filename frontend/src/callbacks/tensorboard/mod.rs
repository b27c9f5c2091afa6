//! `TensorBoard`: event files for TensorBoard, like `keras.callbacks.TensorBoard`.
//!
//! What is written, following Keras 3 (`keras/src/callbacks/tensorboard.py`):
//!
//! - `log_dir/train/events.out.tfevents.*`: per epoch (step = epoch, 0-based) one scalar
//!   `epoch_<name>` per training log (`epoch_loss`, `epoch_accuracy`, …) and
//!   `epoch_learning_rate` (the optimizer's rate at the end of the epoch); with
//!   `update_freq` `Batch` or `Every(n)`, `batch_<name>` (the running value over the epoch so
//!   far) every `n` batches, at the global batch count (1-based, counted over the `fit`); with
//!   `histogram_freq` `n > 0`, a histogram `<weight path>/histogram` (`dense/kernel/histogram`,
//!   the weight's name in `get_weights` and saved files; Keras 3 prefixes a `Sequential`'s
//!   with the model name, `sequential/dense/kernel/histogram`) of every weight at epochs
//!   0, n, 2n, …; with `write_graph`, the layer graph (a
//!   `GraphDef`, one node per layer, its class as the op, its config and output shapes as
//!   attributes).
//! - `log_dir/validation/…`: per validated epoch, `epoch_<name>` of the `val_` logs with the
//!   prefix removed (`val_loss` → `epoch_loss`), and after every validation pass
//!   `evaluation_<name>_vs_iterations` at the number of training batches so far.
//!
//! Scalars are `simple_value` summaries (`float32`), histograms `HistogramProto`s with 30
//! equal-width buckets between the weight's minimum and maximum, as `tf.summary.histogram`
//! (which Keras 3 calls) buckets them.
//!
//! Not supported (Keras arguments): `write_images`, `profile_batch`, `embeddings_freq`,
//! `embeddings_metadata`.

pub mod proto;
mod record;

pub use record::{event_files, frame, masked_crc32c, read_event_file, FILE_VERSION};

use super::monitor::config_setters;
use super::{BatchEnd, Callback, CallbackContext, EpochEnd, LayerNode, Logs};
use crate::error::{Error, Result};
use proto::{event, summary, Event, HistogramProto, Summary};
use record::{now_secs, EventWriter};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How often [`TensorBoard`] writes batch-level scalars (Keras' `update_freq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "UpdateFreqRepr", into = "UpdateFreqRepr")]
pub enum UpdateFreq {
    /// Only per-epoch scalars (Keras' `"epoch"`, the default).
    #[default]
    Epoch,
    /// `batch_<name>` after every batch (Keras' `"batch"`, the same as `Every(1)`).
    Batch,
    /// `batch_<name>` after every `n`-th batch (Keras' integer `update_freq`; `n` ≥ 1).
    Every(usize),
}

impl UpdateFreq {
    /// The batch interval, `None` for `Epoch`.
    fn interval(self) -> Option<usize> {
        match self {
            UpdateFreq::Epoch => None,
            UpdateFreq::Batch => Some(1),
            UpdateFreq::Every(n) => Some(n),
        }
    }
}

/// Keras' spelling: `"epoch"`, `"batch"` or an integer.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum UpdateFreqRepr {
    Name(String),
    Every(usize),
}

impl TryFrom<UpdateFreqRepr> for UpdateFreq {
    type Error = String;
    fn try_from(r: UpdateFreqRepr) -> std::result::Result<Self, String> {
        match r {
            UpdateFreqRepr::Name(n) if n == "epoch" => Ok(UpdateFreq::Epoch),
            UpdateFreqRepr::Name(n) if n == "batch" => Ok(UpdateFreq::Batch),
            UpdateFreqRepr::Name(n) => Err(format!(
                "update_freq must be \"epoch\", \"batch\" or a number of batches, got {n:?}"
            )),
            UpdateFreqRepr::Every(n) => Ok(UpdateFreq::Every(n)),
        }
    }
}

impl From<UpdateFreq> for UpdateFreqRepr {
    fn from(f: UpdateFreq) -> Self {
        match f {
            UpdateFreq::Epoch => UpdateFreqRepr::Name("epoch".into()),
            UpdateFreq::Batch => UpdateFreqRepr::Name("batch".into()),
            UpdateFreq::Every(n) => UpdateFreqRepr::Every(n),
        }
    }
}

/// The hyper-parameters of [`TensorBoard`], with Keras' names and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TensorBoardConfig {
    /// The folder of the run (`train/` and `validation/` are made in it; default `logs`).
    pub log_dir: PathBuf,
    /// Write weight histograms every this many epochs (0: never, the default).
    pub histogram_freq: usize,
    /// Write the model's layer graph (default `true`).
    pub write_graph: bool,
    /// Also write `epoch_steps_per_second` (and `batch_steps_per_second` with the batch
    /// scalars); default `false`.
    pub write_steps_per_second: bool,
    /// Batch-level scalars: never (`Epoch`, the default), every batch, or every n batches.
    pub update_freq: UpdateFreq,
}

impl Default for TensorBoardConfig {
    fn default() -> Self {
        Self {
            log_dir: PathBuf::from("logs"),
            histogram_freq: 0,
            write_graph: true,
            write_steps_per_second: false,
            update_freq: UpdateFreq::Epoch,
        }
    }
}

/// Writes TensorBoard event files during `fit`, like `keras.callbacks.TensorBoard`: loss,
/// metrics and learning rate per epoch (and per batch when asked), weight histograms, the
/// layer graph; `log_dir/train` and `log_dir/validation` as in Keras (see the
/// [module documentation](self) for every tag). View them with
/// `tensorboard --logdir logs`.
///
/// Each `fit` opens new event files (one per folder, named like TensorFlow's
/// `events.out.tfevents.<unix seconds>.<host>.<pid>.<n>.v2`); they are flushed at the end of
/// every epoch and synced to the disk when training ends. An I/O error ends `fit` with an
/// error naming the file.
///
/// ```no_run
/// use stratanet::callbacks::{TensorBoard, UpdateFreq};
/// use stratanet::prelude::*;
/// # fn main() -> stratanet::Result<()> {
/// let mut model = Sequential::<DefaultBackend>::new();
/// model.add(Input::new(&[4]))?;
/// model.add(Dense::new(8).activation("relu"))?;
/// model.add(Dense::new(1))?;
/// model.compile(Adam::new(1e-3), "mse", &[])?;
/// let x = Tensor::<DefaultBackend>::uniform(&[64, 4], -1.0, 1.0, 0, DType::F32, Device::Cpu)?;
/// let y = x.sum(&[-1], true)?;
/// let tb = TensorBoard::new("logs")
///     .histogram_freq(1)
///     .update_freq(UpdateFreq::Every(10));
/// model.fit(&x, &y, FitOptions::new().epochs(5).validation_split(0.2).callback(tb))?;
/// // Then, in a shell: tensorboard --logdir logs
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TensorBoard {
    config: TensorBoardConfig,
    train: Option<EventWriter>,
    validation: Option<EventWriter>,
    /// Training batches of the current `fit` (Keras' `_global_train_batch`, 1-based once
    /// counted).
    global_train_batch: u64,
    /// Training batches over every `fit` this callback saw (Keras reads
    /// `optimizer.iterations`).
    iterations: u64,
    epoch_start: Option<(Instant, u64)>,
    batch_start: Option<Instant>,
    files: Vec<PathBuf>,
}

impl TensorBoard {
    /// Writes under `log_dir` with Keras' defaults (no histograms, the graph, epoch scalars).
    pub fn new(log_dir: impl Into<PathBuf>) -> Self {
        Self::from_config(TensorBoardConfig {
            log_dir: log_dir.into(),
            ..Default::default()
        })
    }
    /// A callback with the hyper-parameters of `config`.
    pub fn from_config(config: TensorBoardConfig) -> Self {
        Self {
            config,
            train: None,
            validation: None,
            global_train_batch: 0,
            iterations: 0,
            epoch_start: None,
            batch_start: None,
            files: Vec::new(),
        }
    }
    /// Its hyper-parameters.
    pub fn config(&self) -> &TensorBoardConfig {
        &self.config
    }
    config_setters! {
        /// Write weight histograms every this many epochs (0: never).
        histogram_freq: usize,
        /// Write the model's layer graph.
        write_graph: bool,
        /// Also write `epoch_steps_per_second` (and `batch_steps_per_second`).
        write_steps_per_second: bool,
        /// Batch-level scalars: `Epoch` (none), `Batch`, or `Every(n)`.
        update_freq: UpdateFreq,
    }
    /// The event files written so far, in the order they were created.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    fn open(dir: PathBuf, files: &mut Vec<PathBuf>) -> Result<EventWriter> {
        let w = EventWriter::create(&dir)?;
        files.push(w.path().to_path_buf());
        Ok(w)
    }

    fn train_writer(&mut self) -> Result<&mut EventWriter> {
        let w = match self.train.take() {
            Some(w) => w,
            None => Self::open(self.config.log_dir.join("train"), &mut self.files)?,
        };
        Ok(self.train.insert(w))
    }

    fn validation_writer(&mut self) -> Result<&mut EventWriter> {
        let w = match self.validation.take() {
            Some(w) => w,
            None => Self::open(self.config.log_dir.join("validation"), &mut self.files)?,
        };
        Ok(self.validation.insert(w))
    }

    fn write_graph_event(&mut self, nodes: &[LayerNode]) -> Result<()> {
        let graph = graph_def(nodes)?;
        let w = self.train_writer()?;
        w.write(&Event {
            wall_time: now_secs(),
            step: 0,
            what: Some(event::What::GraphDef(prost::Message::encode_to_vec(&graph))),
        })
    }

    fn flush(&mut self) -> Result<()> {
        for w in [self.train.as_mut(), self.validation.as_mut()]
            .into_iter()
            .flatten()
        {
            w.flush()?;
        }
        Ok(())
    }
}

/// An event holding one summary value.
fn summary_event(step: i64, tag: String, value: summary::value::Value) -> Event {
    Event {
        wall_time: now_secs(),
        step,
        what: Some(event::What::Summary(Summary {
            value: vec![summary::Value {
                tag,
                value: Some(value),
                ..Default::default()
            }],
        })),
    }
}

/// Writes `prefix<name>` for every `(name, value)` at `step`.
fn write_scalars<'a>(
    w: &mut EventWriter,
    step: i64,
    prefix: &str,
    values: impl IntoIterator<Item = (&'a str, f64)>,
) -> Result<()> {
    for (name, v) in values {
        w.write(&summary_event(
            step,
            format!("{prefix}{name}"),
            summary::value::Value::SimpleValue(v as f32),
        ))?;
    }
    Ok(())
}

/// A step as the `int64` of an event (saturating; no run gets near it).
fn step_i64(step: impl TryInto<i64>) -> i64 {
    step.try_into().unwrap_or(i64::MAX)
}

/// The number of buckets `tf.summary.histogram` uses by default.
pub const HISTOGRAM_BUCKETS: usize = 30;

/// The histogram of `values` as `tf.summary.histogram` buckets it: [`HISTOGRAM_BUCKETS`]
/// equal-width buckets from the minimum to the maximum (bucket `i` holds
/// `[min + i w, min + (i + 1) w)`, the last one also the maximum); when every value is the
/// same, that many zero-width buckets at it with every count in the last; no buckets when
/// there are no values. Non-finite values are left out (of the counts and the statistics).
pub fn histogram(values: &[f64]) -> HistogramProto {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let Some(&first) = finite.first() else {
        return HistogramProto::default();
    };
    let (min, max) = finite
        .iter()
        .fold((first, first), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let n = HISTOGRAM_BUCKETS;
    let mut bucket = vec![0.0; n];
    let bucket_limit = if max > min {
        let width = (max - min) / n as f64;
        for &v in &finite {
            // `as` saturates: a NaN quotient (an infinite range) lands in bucket 0.
            let i = ((v - min) / width).floor() as usize;
            bucket[i.min(n - 1)] += 1.0;
        }
        let mut limits: Vec<f64> = (1..n).map(|i| min + i as f64 * width).collect();
        limits.push(max);
        limits
    } else {
        bucket[n - 1] = finite.len() as f64;
        vec![max; n]
    };
    HistogramProto {
        min,
        max,
        num: finite.len() as f64,
        sum: finite.iter().sum(),
        sum_squares: finite.iter().map(|v| v * v).sum(),
        bucket_limit,
        bucket,
    }
}

/// A per-sample shape as a `TensorShapeProto` with an unknown batch dimension first.
fn shape_proto(shape: &[usize]) -> proto::TensorShapeProto {
    let dim = std::iter::once(-1)
        .chain(shape.iter().map(|&d| step_i64(d)))
        .map(|size| proto::tensor_shape_proto::Dim {
            size,
            name: String::new(),
        })
        .collect();
    proto::TensorShapeProto {
        dim,
        unknown_rank: false,
    }
}

/// The layer graph as a `GraphDef`: one `NodeDef` per layer (op = class, inputs = the
/// producers, `name:k` for output `k > 0`), with `_output_shapes` (which TensorBoard draws
/// on the edges) and the layer's `config` JSON as attributes.
fn graph_def(nodes: &[LayerNode]) -> Result<proto::GraphDef> {
    use proto::attr_value::{ListValue, Value};
    let mut out = Vec::with_capacity(nodes.len());
    for n in nodes {
        let mut attr = std::collections::BTreeMap::new();
        if !n.output_shapes.is_empty() {
            let list = ListValue {
                s: Vec::new(),
                shape: n.output_shapes.iter().map(|s| shape_proto(s)).collect(),
            };
            attr.insert(
                "_output_shapes".to_string(),
                proto::AttrValue {
                    value: Some(Value::List(list)),
                },
            );
        }
        if let Some(c) = &n.config {
            attr.insert(
                "config".to_string(),
                proto::AttrValue {
                    value: Some(Value::S(serde_json::to_vec(c)?)),
                },
            );
        }
        out.push(proto::NodeDef {
            name: n.name.clone(),
            op: n.class_name.clone(),
            input: n
                .inputs
                .iter()
                .map(|(p, k)| {
                    if *k == 0 {
                        p.clone()
                    } else {
                        format!("{p}:{k}")
                    }
                })
                .collect(),
            device: String::new(),
            attr,
        });
    }
    Ok(proto::GraphDef {
        node: out,
        versions: Some(proto::VersionDef {
            producer: 0,
            min_consumer: 0,
        }),
    })
}

impl Callback for TensorBoard {
    fn on_train_begin(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        if self.config.update_freq == UpdateFreq::Every(0) {
            return Err(Error::invalid(
                "TensorBoard",
                "update_freq",
                "Every(n) needs n >= 1 (use UpdateFreq::Epoch for no batch scalars)",
            ));
        }
        // New files per `fit`, as Keras makes new writers in `set_model`.
        self.close_writers()?;
        self.global_train_batch = 0;
        self.train_writer()?;
        if self.config.write_graph {
            let nodes = ctx.model.layer_graph()?;
            if !nodes.is_empty() {
                self.write_graph_event(&nodes)?;
            }
        }
        self.flush()
    }

    fn on_epoch_begin(&mut self, _epoch: usize, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        if self.config.write_steps_per_second {
            self.epoch_start = Some((Instant::now(), self.global_train_batch));
        }
        Ok(())
    }

    fn on_train_batch_begin(&mut self, _step: usize, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.global_train_batch += 1;
        self.iterations += 1;
        if self.config.write_steps_per_second {
            self.batch_start = Some(Instant::now());
        }
        Ok(())
    }

    fn on_train_batch_end(&mut self, end: BatchEnd<'_>) -> Result<()> {
        let Some(every) = self.config.update_freq.interval() else {
            return Ok(());
        };
        if every == 0 || self.global_train_batch % every as u64 != 0 {
            return Ok(());
        }
        let step = step_i64(self.global_train_batch);
        let logs = end.logs.logs()?;
        let per_second = self
            .batch_start
            .filter(|_| self.config.write_steps_per_second)
            .map(|t| 1.0 / t.elapsed().as_secs_f64().max(f64::MIN_POSITIVE));
        let w = self.train_writer()?;
        write_scalars(w, step, "batch_", logs.iter())?;
        if let Some(s) = per_second {
            write_scalars(w, step, "batch_", [("steps_per_second", s)])?;
        }
        Ok(())
    }

    fn on_test_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.validation_writer().map(|_| ())
    }

    fn on_test_end(&mut self, logs: &Logs, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        let step = step_i64(self.iterations);
        let w = self.validation_writer()?;
        for (name, v) in logs.iter() {
            write_scalars(
                w,
                step,
                "evaluation_",
                [(format!("{name}_vs_iterations").as_str(), v)],
            )?;
        }
        w.flush()
    }

    fn on_epoch_end(&mut self, end: EpochEnd<'_>) -> Result<()> {
        let EpochEnd { epoch, logs, ctx } = end;
        let step = step_i64(epoch);
        let mut train = Logs::new();
        let mut validation = Logs::new();
        for (k, v) in logs.iter() {
            match k.strip_prefix("val_") {
                Some(name) => validation.insert(name, v),
                None => train.insert(k, v),
            }
        }
        train.insert("learning_rate", ctx.state.learning_rate);
        if let Some((start, batches)) = self.epoch_start.take() {
            let steps = (self.global_train_batch - batches) as f64;
            let secs = start.elapsed().as_secs_f64().max(f64::MIN_POSITIVE);
            train.insert("steps_per_second", steps / secs);
        }
        write_scalars(self.train_writer()?, step, "epoch_", train.iter())?;
        if !validation.is_empty() {
            write_scalars(self.validation_writer()?, step, "epoch_", validation.iter())?;
        }
        let freq = self.config.histogram_freq;
        if freq > 0 && epoch % freq == 0 {
            let weights = ctx.model.get_weights()?;
            let w = self.train_writer()?;
            for (name, t) in &weights {
                let tag = format!("{}/histogram", name.replace(':', "_"));
                let histo = histogram(&t.data.to_f64_vec());
                w.write(&summary_event(
                    step,
                    tag,
                    summary::value::Value::Histo(histo),
                ))?;
            }
        }
        self.flush()
    }

    fn on_train_end(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.close_writers()
    }
}

impl TensorBoard {
    /// Flushes, syncs and drops the open writers (the next `fit` opens new files).
    fn close_writers(&mut self) -> Result<()> {
        let train = self.train.take();
        let validation = self.validation.take();
        for w in [train, validation].into_iter().flatten() {
            w.close()?;
        }
        Ok(())
    }

    /// The folder of the run.
    pub fn log_dir(&self) -> &Path {
        &self.config.log_dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_like_tf_summary() {
        let h = histogram(&[0.0, 1.0, 2.0, 3.0, f64::NAN]);
        assert_eq!(
            (h.min, h.max, h.num, h.sum, h.sum_squares),
            (0.0, 3.0, 4.0, 6.0, 14.0)
        );
        assert_eq!((h.bucket.len(), h.bucket_limit.len()), (30, 30));
        assert_eq!(h.bucket.iter().sum::<f64>(), 4.0);
        // Width 0.1: 0 -> bucket 0, 1 -> 10, 2 -> 20, 3 (the maximum) -> the last.
        for (i, c) in h.bucket.iter().enumerate() {
            let want = if [0, 10, 20, 29].contains(&i) {
                1.0
            } else {
                0.0
            };
            assert_eq!(*c, want, "bucket {i}");
        }
        assert!((h.bucket_limit[0] - 0.1).abs() < 1e-12);
        assert_eq!(h.bucket_limit[29], 3.0);
        // One value: zero-width buckets, the count in the last (tf.summary's layout).
        let h = histogram(&[0.5; 7]);
        assert_eq!(h.bucket_limit, vec![0.5; 30]);
        assert_eq!((h.bucket[29], h.bucket.iter().sum::<f64>()), (7.0, 7.0));
        // Nothing.
        assert_eq!(histogram(&[]), HistogramProto::default());
    }

    #[test]
    fn update_freq_uses_keras_spelling() {
        for (f, json) in [
            (UpdateFreq::Epoch, "\"epoch\""),
            (UpdateFreq::Batch, "\"batch\""),
            (UpdateFreq::Every(5), "5"),
        ] {
            assert_eq!(serde_json::to_string(&f).unwrap(), json);
            assert_eq!(serde_json::from_str::<UpdateFreq>(json).unwrap(), f);
        }
        let e = serde_json::from_str::<UpdateFreq>("\"often\"").unwrap_err();
        assert!(e.to_string().contains("update_freq"), "{e}");
        let c: TensorBoardConfig =
            serde_json::from_str(r#"{"log_dir": "runs", "update_freq": 3}"#).unwrap();
        assert_eq!(c.update_freq, UpdateFreq::Every(3));
        assert_eq!((c.histogram_freq, c.write_graph), (0, true));
    }

    #[test]
    fn graph_def_names_inputs_and_shapes() {
        let nodes = vec![
            LayerNode {
                name: "x".into(),
                class_name: "InputLayer".into(),
                inputs: vec![],
                output_shapes: vec![vec![4]],
                config: None,
            },
            LayerNode {
                name: "lstm".into(),
                class_name: "LSTM".into(),
                inputs: vec![("x".into(), 0)],
                output_shapes: vec![vec![8], vec![8]],
                config: Some(serde_json::json!({"units": 8})),
            },
            LayerNode {
                name: "add".into(),
                class_name: "Add".into(),
                inputs: vec![("lstm".into(), 0), ("lstm".into(), 1)],
                output_shapes: vec![],
                config: Some(serde_json::json!({})),
            },
        ];
        let g = graph_def(&nodes).unwrap();
        assert_eq!(g.node.len(), 3);
        assert_eq!(g.node[2].input, vec!["lstm", "lstm:1"]);
        assert_eq!(g.node[1].op, "LSTM");
        let Some(proto::attr_value::Value::List(l)) = &g.node[1].attr["_output_shapes"].value
        else {
            panic!("no _output_shapes")
        };
        let dims: Vec<i64> = l.shape[1].dim.iter().map(|d| d.size).collect();
        assert_eq!(dims, vec![-1, 8]);
        assert!(!g.node[2].attr.contains_key("_output_shapes"));
        assert!(!g.node[0].attr.contains_key("config"));
    }
}
