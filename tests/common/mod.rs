//! Helpers shared by the integration tests (`mod common;`).
//!
//! Every test that writes files gets a folder of its own from `tempfile` (a fresh, uniquely
//! named `TempDir` per call), so no two tests, threads or processes ever share a file name,
//! and the folder is removed when the value drops.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A path inside a temporary folder that belongs to it alone; the folder (and whatever was
/// written in it) is removed when this value drops. Derefs to [`Path`].
pub struct TmpPath {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl TmpPath {
    /// The folder holding the path.
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }
}

impl std::ops::Deref for TmpPath {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for TmpPath {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<std::ffi::OsStr> for TmpPath {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.path.as_os_str()
    }
}

impl std::fmt::Debug for TmpPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.path.fmt(f)
    }
}

/// `name` inside a fresh temporary folder of its own (the file itself is not created).
pub fn tmp(name: &str) -> TmpPath {
    let dir = tempfile::Builder::new()
        .prefix("stratanet-test-")
        .tempdir()
        .expect("creating a temporary folder");
    let path = dir.path().join(name);
    TmpPath { _dir: dir, path }
}

/// A fresh, empty temporary folder of its own.
pub fn tmp_dir() -> TmpPath {
    let dir = tempfile::Builder::new()
        .prefix("stratanet-test-")
        .tempdir()
        .expect("creating a temporary folder");
    let path = dir.path().to_path_buf();
    TmpPath { _dir: dir, path }
}

/// The reason carried by every test that needs Python: plain `cargo test` skips them (and
/// reports them as ignored, never as passed); `cargo xtask test` runs them with
/// `--ignored`, with `STRATANET_PYTHON` set.
pub const NEEDS_PYTHON: &str = "needs Python: run with cargo xtask test (sets STRATANET_PYTHON)";

/// The Python interpreter named by `STRATANET_PYTHON` (`cargo xtask test` sets it). A test
/// that needs Python is `#[ignore]`d in a plain `cargo test`; when it runs, Python is
/// mandatory: this panics when the variable is unset or the interpreter does not start.
pub fn python() -> PathBuf {
    let Some(python) = std::env::var_os("STRATANET_PYTHON") else {
        panic!(
            "this test needs Python: STRATANET_PYTHON is not set (run `cargo xtask test`, \
             which installs the interpreter and sets it)"
        );
    };
    let python = PathBuf::from(python);
    match std::process::Command::new(&python)
        .arg("--version")
        .output()
    {
        Ok(o) if o.status.success() => python,
        Ok(o) => panic!(
            "STRATANET_PYTHON={} does not run: {}",
            python.display(),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!(
            "STRATANET_PYTHON={} cannot be started: {e}",
            python.display()
        ),
    }
}

/// `f32` values uniform in `[-1, 1)` of `shape` on the CPU, drawn with `seed`.
pub fn uniform<B: stratanet::Backend>(shape: &[usize], seed: u64) -> stratanet::Tensor<B> {
    stratanet::Tensor::<B>::uniform(
        shape,
        -1.0,
        1.0,
        seed,
        stratanet::DType::F32,
        stratanet::Device::Cpu,
    )
    .unwrap()
}

/// The symbolic tensor of an `Input` of `shape` named `name`.
pub fn named_input<B: stratanet::Backend>(
    name: &str,
    shape: &[usize],
) -> stratanet::model::SymbolicTensor<B> {
    stratanet::layers::Input::new(shape)
        .name(name)
        .tensor::<B>()
}

/// Every path that makes weights on an unusable device refuses, naming `needle`: a
/// `Sequential`'s first `add` (an `Input`; naming the model and `device` too) and a later
/// one (a layer), its `build`, a functional `apply` that builds a layer (naming the layer)
/// and `Model::new` of a model without weights (naming `Model::new`).
pub fn weight_making_fails_naming<B: stratanet::Backend>(needle: &str, device: &str) {
    use stratanet::layers::{Dense, Input};
    use stratanet::model::Apply;
    // `new` cannot fail: the first add says why.
    let mut m = stratanet::Sequential::<B>::new().with_name("net");
    let e = m.add(Input::new(&[3])).unwrap_err().to_string();
    assert!(
        e.contains("net") && e.contains(needle) && e.contains(device),
        "{e}"
    );
    let mut m = stratanet::Sequential::<B>::new();
    let e = m.add(Dense::new(2)).map(|_| ()).unwrap_err().to_string();
    assert!(e.contains(needle), "{e}");
    let e = stratanet::Sequential::<B>::new()
        .build(&[3])
        .unwrap_err()
        .to_string();
    assert!(e.contains(needle), "{e}");
    let x = Input::new(&[3]).tensor::<B>();
    let e = Dense::new(2)
        .name("proj")
        .apply(&x)
        .unwrap_err()
        .to_string();
    assert!(e.contains("proj") && e.contains(needle), "{e}");
    let e = stratanet::Model::new(std::slice::from_ref(&x), std::slice::from_ref(&x))
        .unwrap_err()
        .to_string();
    assert!(e.contains("Model::new") && e.contains(needle), "{e}");
}

/// The table of the CSV `text`, read with the default options.
pub fn csv_table(text: &str) -> stratanet::tabular::Table {
    stratanet::tabular::Table::from_csv_str(text, &stratanet::tabular::CsvOptions::new()).unwrap()
}

/// Runs `python -c script args…` with the interpreter of [`python`] and returns its
/// standard output; panics with `what` and the script's standard error when it fails.
pub fn run_python_script(what: &str, script: &str, args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Labels of the rows of `x`: whether their sum (over the last axis, kept when `keepdim`)
/// is positive, as `dtype`.
pub fn positive_sum_labels<B: stratanet::Backend>(
    x: &stratanet::Tensor<B>,
    keepdim: bool,
    dtype: stratanet::DType,
) -> stratanet::Tensor<B> {
    x.sum(&[-1], keepdim)
        .unwrap()
        .gt_scalar(0.0)
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
}

/// The activations with PyTorch references in `tests/fixtures/activations.safetensors`:
/// every accepted name ([`stratanet::activations::ACTIVATION_NAMES`]) but `linear` and the
/// alias `swish`, in that list's order (the fixture's).
pub fn fixture_activations() -> impl Iterator<Item = &'static str> {
    stratanet::activations::ACTIVATION_NAMES
        .iter()
        .copied()
        .filter(|name| !matches!(*name, "linear" | "swish"))
}

/// The bytes of the committed fixture `tests/fixtures/<file>`; panics naming the file and
/// `script`, the script that writes it, when it cannot be read.
pub fn read_fixture(file: &str, script: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(file);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/{script})", path.display()))
}

/// The elements of a float (F32, F64) or I64 safetensors tensor as `f64`; panics naming
/// `what` on any other dtype.
pub fn tensor_f64(what: &str, v: &safetensors::tensor::TensorView<'_>) -> Vec<f64> {
    let data = v.data();
    match v.dtype() {
        safetensors::Dtype::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()) as f64)
            .collect(),
        safetensors::Dtype::F64 => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        safetensors::Dtype::I64 => data
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f64)
            .collect(),
        other => panic!("{what} has unexpected dtype {other:?}"),
    }
}

/// A committed safetensors fixture (`tests/fixtures/<file>`), held in memory.
pub struct FixtureFile(Vec<u8>);

impl FixtureFile {
    /// Reads `tests/fixtures/<file>`, written by `scripts/<script>` (see [`read_fixture`]).
    pub fn load(file: &str, script: &str) -> Self {
        Self(read_fixture(file, script))
    }

    /// `f` of the tensor `key`; panics naming a missing key.
    pub fn view<T>(
        &self,
        key: &str,
        f: impl FnOnce(&safetensors::tensor::TensorView<'_>) -> T,
    ) -> T {
        let st = safetensors::SafeTensors::deserialize(&self.0).unwrap();
        let v = st.tensor(key).unwrap_or_else(|e| panic!("no {key}: {e}"));
        f(&v)
    }

    /// The shape and the elements (as `f64`, see [`tensor_f64`]) of `key`.
    pub fn values(&self, key: &str) -> (Vec<usize>, Vec<f64>) {
        self.view(key, |v| (v.shape().to_vec(), tensor_f64(key, v)))
    }

    /// The first element of the `F64` tensor `key`.
    pub fn scalar(&self, key: &str) -> f64 {
        self.view(key, |v| {
            assert_eq!(v.dtype(), safetensors::Dtype::F64, "{key}");
            f64::from_le_bytes(v.data()[..8].try_into().unwrap())
        })
    }

    /// `key` as an `f32` tensor, whatever its stored dtype.
    pub fn tensor_f32<B: stratanet::Backend>(&self, key: &str) -> stratanet::Tensor<B> {
        let (shape, v) = self.values(key);
        let v: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        stratanet::Tensor::from_vec(v, &shape).unwrap()
    }

    /// `key` as a tensor of its stored dtype (`F32` or `I64`).
    pub fn tensor<B: stratanet::Backend>(&self, key: &str) -> stratanet::Tensor<B> {
        self.view(key, |v| {
            let (shape, d) = (v.shape(), v.data());
            match v.dtype() {
                safetensors::Dtype::F32 => stratanet::Tensor::from_vec(
                    d.chunks_exact(4)
                        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                        .collect::<Vec<f32>>(),
                    shape,
                ),
                safetensors::Dtype::I64 => stratanet::Tensor::from_vec(
                    d.chunks_exact(8)
                        .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
                        .collect::<Vec<i64>>(),
                    shape,
                ),
                other => panic!("{key}: unexpected dtype {other:?}"),
            }
            .unwrap()
        })
    }
}

/// Runs the fixture script `scripts/<script> --out <folder>` with the Python of [`python`]
/// into a fresh temporary folder and returns that folder (removed when it drops); panics
/// when the script fails.
pub fn rerun_fixture_script(script: &str) -> tempfile::TempDir {
    let python = python();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().expect("temporary folder");
    let status = std::process::Command::new(&python)
        .arg(root.join("scripts").join(script))
        .arg("--out")
        .arg(out.path())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("run scripts/{script}: {e}"));
    assert!(status.success(), "scripts/{script} failed");
    out
}

/// Asserts `got` and `want` have the same length and agree element by element within
/// `|got - want| <= abs + rel * max(|got|, |want|)`; a NaN on either side fails (every
/// comparison with NaN is false). The message names `what`, the first element off, and
/// both vectors.
pub fn assert_all_close(what: &str, got: &[f64], want: &[f64], abs: f64, rel: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if let Some(i) = (0..got.len()).find(|&i| {
        let (g, w) = (got[i], want[i]);
        let ok = (g - w).abs() <= abs + rel * g.abs().max(w.abs());
        !ok
    }) {
        panic!(
            "{what}: element {i}: got {}, want {} (|diff| {:.3e} > {abs:e} + {rel:e} * |value|)\n\
             got:  {got:?}\nwant: {want:?}",
            got[i],
            want[i],
            (got[i] - want[i]).abs(),
        );
    }
}

/// Stamps each named generic test `fn name<B: Backend>()` into `mod candle` (feature
/// `candle`) and `mod tch` (feature `tch`) as `#[test] fn name()`, so one test body runs
/// on both engines. `test_name: function` names the test apart from the generic function
/// it calls, `test_name: function(args)` passes it arguments; attributes written before a
/// name (`#[ignore = "…"]`) go on both copies.
///
/// ```ignore
/// engine_tests!(batch_norm, conv2d: conv2d_cases, #[ignore = "needs Python"] parity,
///               mlp_onnxruntime: mlp(true));
/// ```
#[allow(unused_macros)]
macro_rules! engine_tests {
    (@call $b:ty, $name:ident) => {
        super::$name::<$b>()
    };
    (@call $b:ty, $name:ident $func:ident) => {
        super::$func::<$b>()
    };
    (@call $b:ty, $name:ident $func:ident ($($arg:expr),*)) => {
        super::$func::<$b>($($arg),*)
    };
    (@engine $feature:literal, $m:ident, $b:ty;
     $($(#[$attr:meta])* $name:ident $(: $func:ident $(($($arg:expr),*))?)?),*) => {
        #[cfg(feature = $feature)]
        mod $m {
            $(
                #[test]
                $(#[$attr])*
                fn $name() {
                    engine_tests!(@call $b, $name $($func $(($($arg),*))?)?);
                }
            )*
        }
    };
    ($($(#[$attr:meta])* $name:ident $(: $func:ident $(($($arg:expr),* $(,)?))?)?),* $(,)?) => {
        engine_tests!(@engine "candle", candle, stratanet::Candle;
            $($(#[$attr])* $name $(: $func $(($($arg),*))?)?),*);
        engine_tests!(@engine "tch", tch, stratanet::Tch;
            $($(#[$attr])* $name $(: $func $(($($arg),*))?)?),*);
    };
}

/// `Input [inputs] -> Dense relu` for each of `hidden` (each followed by `Dropout(rate)`
/// when `dropout` is given) `-> Dense classes softmax`, seeded with `seed`, compiled with
/// `optimizer`, sparse categorical cross-entropy and accuracy.
pub fn dense_classifier<B: stratanet::Backend>(
    seed: u64,
    inputs: usize,
    hidden: &[usize],
    dropout: Option<f64>,
    classes: usize,
    optimizer: impl stratanet::optimizers::IntoOptimizer<B>,
) -> stratanet::Sequential<B> {
    use stratanet::layers::{Dense, Dropout, Input};
    let mut m = stratanet::Sequential::<B>::new().with_seed(seed);
    m.add(Input::new(&[inputs])).unwrap();
    for &units in hidden {
        m.add(Dense::new(units).activation("relu")).unwrap();
        if let Some(rate) = dropout {
            m.add(Dropout::new(rate)).unwrap();
        }
    }
    m.add(Dense::new(classes).activation("softmax")).unwrap();
    m.compile(optimizer, "sparse_categorical_crossentropy", &["accuracy"])
        .unwrap();
    m
}

/// Silent fit options for `epochs` epochs (`verbose(0)`).
pub fn quiet<B: stratanet::Backend>(epochs: usize) -> stratanet::FitOptions<B> {
    stratanet::FitOptions::new().epochs(epochs).verbose(0)
}

/// `sequential!(B, seed, [input dims], layer, …)`: a `Sequential<B>` seeded with `seed`
/// holding an `Input` of those dims and then each layer (every `add` unwrapped).
#[allow(unused_macros)]
macro_rules! sequential {
    ($b:ty, $seed:expr, [$($dim:expr),* $(,)?], $($layer:expr),+ $(,)?) => {{
        let mut m = stratanet::Sequential::<$b>::new().with_seed($seed);
        m.add(stratanet::layers::Input::new(&[$($dim),*])).unwrap();
        $(m.add($layer).unwrap();)+
        m
    }};
}

/// Nested JSON number lists (a fixture's arrays) flattened: (values, shape).
pub fn nums(v: &serde_json::Value) -> (Vec<f64>, Vec<usize>) {
    fn walk(v: &serde_json::Value, depth: usize, out: &mut Vec<f64>, shape: &mut Vec<usize>) {
        match v {
            serde_json::Value::Array(a) => {
                if shape.len() == depth {
                    shape.push(a.len());
                }
                for x in a {
                    walk(x, depth + 1, out, shape);
                }
            }
            x => out.push(x.as_f64().unwrap()),
        }
    }
    let (mut out, mut shape) = (Vec::new(), Vec::new());
    walk(v, 0, &mut out, &mut shape);
    (out, shape)
}
