//! The bad-input catalogue: one table of wrong calls, each run on every engine inside
//! `catch_unwind`. Every case must return an `Err` (never `Ok`, never a panic) whose
//! message contains the words listed with it: the function, layer or file that refused the
//! input, and the offending argument (with its value or shape where there is one). All
//! failures are collected and reported together, so one run shows every problem.
//!
//! What is *not* an error here, because it is not one in Keras either: NaN or infinite
//! values in the data (training goes on; `TerminateOnNan` stops it and `History` records
//! the NaN epoch: see `nan_in_data_is_not_an_error`), `epochs = 0` (nothing to do),
//! `validation_split = 0.0` (the default: no validation), `initial_epoch == epochs`,
//! `load_weights` on a whole-model file (it loads that file's weights), float labels
//! holding whole numbers for a sparse loss (Keras casts them) and integer `x` for a
//! `Dense` layer (Keras promotes it to the layer's float dtype). Fractional or NaN float
//! labels for a sparse loss *are* errors here, where Keras would silently truncate them.
//! Negative sizes cannot be written: sizes are `usize`.

#[macro_use]
mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use stratanet::callbacks::TerminateOnNan;
use stratanet::dataset::Dataset;
use stratanet::initializers::Initializer;
use stratanet::layers::{
    ActivationLayer, Add, Concatenate, Conv2D, Dense, Dropout, Flatten, Input, Reshape,
};
use stratanet::model::Apply;
use stratanet::tabular::{ColumnType, CsvOptions, FeatureSpace, Table};
use stratanet::{Backend, DType, Device, FitOptions, Model, Result, Sequential, Tensor};

/// A bad call, given a temporary folder for its files.
type Run = Box<dyn Fn(&Path) -> Result<()>>;

/// One bad call: what it is, the call, and the words its error message must contain.
struct Case {
    name: &'static str,
    run: Run,
    expect: &'static [&'static str],
}

/// Builds a [`Case`]; the closure gets a temporary folder for its files, and its success
/// value is discarded.
fn case<T>(
    name: &'static str,
    expect: &'static [&'static str],
    run: impl Fn(&Path) -> Result<T> + 'static,
) -> Case {
    Case {
        name,
        run: Box::new(move |dir| run(dir).map(drop)),
        expect,
    }
}

/// `Input [4] -> Dense 8 relu -> Dense 3 softmax`, not compiled.
fn mlp<B: Backend>() -> Result<Sequential<B>> {
    let mut m = Sequential::<B>::new().with_seed(1);
    m.add(Input::new(&[4]))?;
    m.add(Dense::new(8).activation("relu"))?;
    m.add(Dense::new(3).activation("softmax"))?;
    Ok(m)
}

/// [`mlp`] compiled with Adam, sparse categorical cross-entropy and accuracy.
fn classifier<B: Backend>() -> Result<Sequential<B>> {
    let mut m = mlp::<B>()?;
    m.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;
    Ok(m)
}

/// [`mlp`] compiled with `loss` and `metrics`.
fn compiled<B: Backend>(loss: &str, metrics: &[&str]) -> Result<Sequential<B>> {
    let mut m = mlp::<B>()?;
    m.compile("adam", loss, metrics)?;
    Ok(m)
}

/// Uniform `f32` features `[shape]`.
fn x<B: Backend>(shape: &[usize]) -> Result<Tensor<B>> {
    Tensor::<B>::uniform(shape, 0.0, 1.0, 3, DType::F32, Device::Cpu)
}

/// Integer labels `0, 1, 2, 0, ...` `[n]`.
fn y<B: Backend>(n: usize) -> Result<Tensor<B>> {
    Tensor::<B>::from_vec((0..n as i64).map(|i| i % 3).collect::<Vec<_>>(), &[n])
}

/// One-hot `f32` targets `[n, 3]`.
fn one_hot<B: Backend>(n: usize) -> Result<Tensor<B>> {
    let v: Vec<f32> = (0..n)
        .flat_map(|i| (0..3).map(move |c| if i % 3 == c { 1.0 } else { 0.0 }))
        .collect();
    Tensor::<B>::from_vec(v, &[n, 3])
}

/// Labels given as written.
fn labels<B: Backend>(v: &[i64]) -> Result<Tensor<B>> {
    Tensor::<B>::from_vec(v.to_vec(), &[v.len()])
}

/// Silent one-epoch options.
fn quiet<B: Backend>() -> FitOptions<B> {
    FitOptions::new().epochs(1).verbose(0)
}

/// `fit` of [`classifier`] on 8 good samples with `opts`.
fn fit_with<B: Backend>(opts: FitOptions<B>) -> Result<()> {
    classifier::<B>()?.fit(&x::<B>(&[8, 4])?, &y::<B>(8)?, opts)?;
    Ok(())
}

/// Writes `bytes` to `dir/name` and returns the path.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let p = dir.join(name);
    std::fs::write(&p, bytes)?;
    Ok(p)
}

/// A two-input functional model `a [3], b [3] -> Add -> Dense 1`.
fn two_inputs<B: Backend>() -> Result<Model<B>> {
    let a = Input::new(&[3]).name("a").tensor::<B>();
    let b = Input::new(&[3]).name("b").tensor::<B>();
    let s = Add().apply_multi(&[a.clone(), b.clone()])?;
    let out = Dense::new(1).apply(&s)?;
    let mut m = Model::new(&[a, b], &[out])?.with_seed(2);
    m.compile("sgd", "mse", &[])?;
    Ok(m)
}

/// The catalogue, on engine `B`.
fn catalogue<B: Backend>() -> Vec<Case> {
    vec![
        // ---- wrong rank, wrong feature count ------------------------------------------
        case(
            "fit: x with 5 features for Input [4]",
            &["dense", "input", "[8, 5]"],
            |_| classifier::<B>()?.fit(&x::<B>(&[8, 5])?, &y::<B>(8)?, quiet()),
        ),
        case(
            "evaluate: x with 5 features for Input [4]",
            &["dense", "input", "[8, 5]"],
            |_| classifier::<B>()?.evaluate_with(&x::<B>(&[8, 5])?, &y::<B>(8)?, 4),
        ),
        case(
            "predict: x with 5 features for Input [4]",
            &["dense", "input", "[8, 5]"],
            |_| classifier::<B>()?.predict_with(&x::<B>(&[8, 5])?, 4),
        ),
        case(
            "fit: x of rank 3 for Input [4]",
            &["dense", "input", "[8, 4, 2]"],
            |_| classifier::<B>()?.fit(&x::<B>(&[8, 4, 2])?, &y::<B>(8)?, quiet()),
        ),
        case(
            "predict: x of rank 1 for Input [4]",
            &["dense", "input", "[8]"],
            |_| classifier::<B>()?.predict_with(&x::<B>(&[8])?, 4),
        ),
        case(
            "predict: a scalar x (rank 0)",
            &["predict", "x", "rank >= 1", "[]"],
            |_| classifier::<B>()?.predict_with(Tensor::<B>::scalar(1.0)?, 4),
        ),
        case(
            "train_on_batch: x with 5 features",
            &["dense", "input", "[8, 5]"],
            |_| classifier::<B>()?.train_on_batch(&x::<B>(&[8, 5])?, &y::<B>(8)?),
        ),
        // ---- wrong dtype ----------------------------------------------------------------
        case(
            "fit: fractional float labels for a sparse loss",
            &["fit", "y", "sparse_categorical_crossentropy", "0.5"],
            |_| {
                let yf =
                    Tensor::<B>::from_vec(vec![0.0f32, 1.0, 2.0, 0.5, 1.0, 2.0, 0.0, 1.0], &[8])?;
                classifier::<B>()?.fit(&x::<B>(&[8, 4])?, &yf, quiet())
            },
        ),
        case(
            "evaluate: NaN label for a sparse loss",
            &["evaluate", "y", "sparse_categorical_crossentropy", "NaN"],
            |_| {
                let yf = Tensor::<B>::from_vec(vec![0.0f32, 1.0, f32::NAN, 2.0], &[4])?;
                classifier::<B>()?.evaluate_with(&x::<B>(&[4, 4])?, &yf, 4)
            },
        ),
        case(
            "fit: one-hot float targets for a sparse loss",
            &["sparse_categorical_crossentropy", "y_true", "[8, 3]"],
            |_| classifier::<B>()?.fit(&x::<B>(&[8, 4])?, &one_hot::<B>(8)?, quiet()),
        ),
        case(
            "fit: integer labels for categorical_crossentropy",
            &["categorical_crossentropy", "y_true", "[8]"],
            |_| {
                compiled::<B>("categorical_crossentropy", &[])?.fit(
                    &x::<B>(&[8, 4])?,
                    &y::<B>(8)?,
                    quiet(),
                )
            },
        ),
        case(
            "fit: mse targets [8, 2] for a [8, 3] output",
            &["mean_squared_error", "y_true", "[8, 2]"],
            |_| compiled::<B>("mse", &[])?.fit(&x::<B>(&[8, 4])?, &x::<B>(&[8, 2])?, quiet()),
        ),
        case(
            "Table::to_labels: a float column as class labels",
            &["Table::to_labels", "column 'x'", "int column"],
            |_| {
                Table::from_csv_str("x\n1.5\n2.5\n", &CsvOptions::new())?
                    .to_labels::<B>("x", Device::Cpu)
            },
        ),
        case(
            "Table::to_tensor: a string column as features",
            &["Table::to_tensor", "column 'name'", "string column"],
            |_| {
                Table::from_csv_str("name,v\na,1\nb,2\n", &CsvOptions::new())?
                    .to_tensor::<B>(&["name", "v"], Device::Cpu)
            },
        ),
        // ---- empty x, x/y length mismatch -------------------------------------------
        case(
            "fit: empty x [0, 4]",
            &["fit", "x", "no samples", "[0, 4]"],
            |_| classifier::<B>()?.fit(&x::<B>(&[0, 4])?, &y::<B>(0)?, quiet()),
        ),
        case(
            "evaluate: empty x [0, 4]",
            &["evaluate", "x", "no samples", "[0, 4]"],
            |_| classifier::<B>()?.evaluate_with(&x::<B>(&[0, 4])?, &y::<B>(0)?, 4),
        ),
        case(
            "fit: 8 samples in x, 7 in y",
            &["fit", "[8, 4]", "[7]", "8 vs 7"],
            |_| classifier::<B>()?.fit(&x::<B>(&[8, 4])?, &y::<B>(7)?, quiet()),
        ),
        case(
            "evaluate: 8 samples in x, 7 in y",
            &["evaluate", "[8, 4]", "[7]", "8 vs 7"],
            |_| classifier::<B>()?.evaluate_with(&x::<B>(&[8, 4])?, &y::<B>(7)?, 4),
        ),
        case(
            "fit: validation_data with 6 samples in x, 5 in y",
            &["fit (validation_data)", "[6, 4]", "[5]", "6 vs 5"],
            |_| fit_with::<B>(quiet().validation_data(x::<B>(&[6, 4])?, y::<B>(5)?)),
        ),
        case(
            "fit: validation_data with 5 features",
            &["dense", "input", "[6, 5]"],
            |_| fit_with::<B>(quiet().validation_data(x::<B>(&[6, 5])?, y::<B>(6)?)),
        ),
        case(
            "fit: sample_weight of length 7 for 8 samples",
            &["fit", "sample_weight", "[8]", "[7]"],
            |_| {
                fit_with::<B>(quiet().sample_weight(Tensor::<B>::ones(
                    &[7],
                    DType::F32,
                    Device::Cpu,
                )?))
            },
        ),
        case(
            "fit: sample_weight and class_weight together",
            &["fit", "sample_weight", "class_weight"],
            |_| {
                fit_with::<B>(
                    quiet()
                        .sample_weight(Tensor::<B>::ones(&[8], DType::F32, Device::Cpu)?)
                        .class_weight(vec![1.0, 1.0, 1.0]),
                )
            },
        ),
        case(
            "fit: class_weight with no weight for class 2",
            &["fit", "class_weight", "class 2"],
            |_| fit_with::<B>(quiet().class_weight(vec![1.0, 2.0])),
        ),
        // ---- labels out of range, negative labels -------------------------------------
        case(
            "fit: label 3 for 3 classes",
            &["sparse_categorical_crossentropy", "label 3", "3 classes"],
            |_| classifier::<B>()?.fit(&x::<B>(&[4, 4])?, &labels::<B>(&[0, 1, 3, 2])?, quiet()),
        ),
        case(
            "evaluate: label 7 for 3 classes",
            &["sparse_categorical_crossentropy", "label 7", "3 classes"],
            |_| {
                classifier::<B>()?.evaluate_with(&x::<B>(&[4, 4])?, &labels::<B>(&[0, 7, 1, 2])?, 2)
            },
        ),
        case(
            "fit: negative label -1",
            &["sparse_categorical_crossentropy", "label -1"],
            |_| classifier::<B>()?.fit(&x::<B>(&[4, 4])?, &labels::<B>(&[0, -1, 1, 2])?, quiet()),
        ),
        // ---- batch sizes, epochs, validation_split and other options ----------------
        case("fit: batch_size 0", &["fit", "batch_size", "got 0"], |_| {
            fit_with::<B>(quiet().batch_size(0))
        }),
        case(
            "evaluate: batch_size 0",
            &["evaluate", "batch_size", "got 0"],
            |_| classifier::<B>()?.evaluate_with(&x::<B>(&[8, 4])?, &y::<B>(8)?, 0),
        ),
        case(
            "predict: batch_size 0",
            &["predict", "batch_size", "got 0"],
            |_| classifier::<B>()?.predict_with(&x::<B>(&[8, 4])?, 0),
        ),
        case(
            "fit: validation_split 1.0",
            &["fit", "validation_split", "got 1"],
            |_| fit_with::<B>(quiet().validation_split(1.0)),
        ),
        case(
            "fit: validation_split -0.1",
            &["fit", "validation_split", "-0.1"],
            |_| fit_with::<B>(quiet().validation_split(-0.1)),
        ),
        case(
            "fit: validation_split 1.5",
            &["fit", "validation_split", "1.5"],
            |_| fit_with::<B>(quiet().validation_split(1.5)),
        ),
        case(
            "fit: validation_split NaN",
            &["fit", "validation_split", "NaN"],
            |_| fit_with::<B>(quiet().validation_split(f64::NAN)),
        ),
        case(
            "fit: validation_split 0.9 of 8 samples (empty training set)",
            &["fit", "validation_split", "0.9", "empty"],
            |_| fit_with::<B>(quiet().validation_split(0.9)),
        ),
        case(
            "fit: steps_per_epoch 0",
            &["fit", "steps_per_epoch", "got 0"],
            |_| fit_with::<B>(quiet().steps_per_epoch(0)),
        ),
        case(
            "fit: validation_freq 0",
            &["fit", "validation_freq", "got 0"],
            |_| fit_with::<B>(quiet().validation_freq(0)),
        ),
        case(
            "fit: validation_batch_size 0",
            &["fit", "validation_batch_size", "got 0"],
            |_| fit_with::<B>(quiet().validation_batch_size(0)),
        ),
        case(
            "fit: initial_epoch 5 past epochs 3",
            &["fit", "initial_epoch", "5", "epochs = 3"],
            |_| fit_with::<B>(quiet().epochs(3).initial_epoch(5)),
        ),
        // ---- datasets -----------------------------------------------------------------
        case(
            "Dataset::batch(0)",
            &["Dataset::batch", "batch_size", "got 0"],
            |_| {
                let mut ds = Dataset::from_tensors(&x::<B>(&[8, 4])?, &y::<B>(8)?)?.batch(0);
                classifier::<B>()?.fit_dataset(&mut ds, quiet())
            },
        ),
        case(
            "Dataset::shuffle(0, _)",
            &["Dataset::shuffle", "buffer_size", "got 0"],
            |_| {
                let mut ds = Dataset::from_tensors(&x::<B>(&[8, 4])?, &y::<B>(8)?)?.shuffle(0, 1);
                classifier::<B>()?.fit_dataset(&mut ds, quiet())
            },
        ),
        case(
            "Dataset::prefetch(0)",
            &["Dataset::prefetch", "buffer", "got 0"],
            |_| {
                let mut ds = Dataset::from_tensors(&x::<B>(&[8, 4])?, &y::<B>(8)?)?.prefetch(0);
                classifier::<B>()?.evaluate_dataset(&mut ds, 4)
            },
        ),
        case(
            "Dataset::from_tensors: 8 samples in x, 7 in y",
            &["Dataset::from_tensors", "8", "7"],
            |_| Dataset::from_tensors(&x::<B>(&[8, 4])?, &y::<B>(7)?),
        ),
        case(
            "fit_dataset: an empty dataset",
            &["fit_dataset", "dataset", "no batches"],
            |_| {
                let mut ds = Dataset::from_tensors(&x::<B>(&[0, 4])?, &y::<B>(0)?)?;
                classifier::<B>()?.fit_dataset(&mut ds, quiet())
            },
        ),
        case(
            "fit_dataset: validation_split (needs a validation dataset)",
            &["fit_dataset", "validation_split"],
            |_| {
                let mut ds = Dataset::from_tensors(&x::<B>(&[8, 4])?, &y::<B>(8)?)?;
                classifier::<B>()?.fit_dataset(&mut ds, quiet().validation_split(0.2))
            },
        ),
        case(
            "fit_dataset: batches with 5 features",
            &["dense", "input", "5"],
            |_| {
                let mut ds = Dataset::from_tensors(&x::<B>(&[8, 5])?, &y::<B>(8)?)?;
                classifier::<B>()?.fit_dataset(&mut ds, quiet())
            },
        ),
        // ---- unknown names ------------------------------------------------------------
        case(
            "compile: unknown loss",
            &["unknown loss", "cross_entropy"],
            |_| mlp::<B>()?.compile("adam", "cross_entropy", &[]),
        ),
        case(
            "compile: unknown optimizer",
            &["unknown optimizer", "adamw2"],
            |_| mlp::<B>()?.compile("adamw2", "mse", &[]),
        ),
        case(
            "compile: unknown metric",
            &["unknown metric", "acuracy"],
            |_| mlp::<B>()?.compile("adam", "mse", &["acuracy"]),
        ),
        case(
            "Dense: unknown activation",
            &["unknown activation", "relux"],
            |_| {
                let mut m = Sequential::<B>::new();
                m.add(Input::new(&[4]))?;
                m.add(Dense::new(8).activation("relux")).map(drop)
            },
        ),
        case(
            "Activation layer: unknown activation",
            &["unknown activation", "sigmoidd"],
            |_| {
                let mut m = Sequential::<B>::new();
                m.add(Input::new(&[4]))?;
                m.add(ActivationLayer::new("sigmoidd")).map(drop)
            },
        ),
        case(
            "initializer: unknown name",
            &["unknown initializer", "glorot_unifrom"],
            |_| Initializer::from_name("glorot_unifrom"),
        ),
        case(
            "Sequential::from_config: unknown layer class",
            &["unknown", "layer", "Dense2"],
            |_| {
                Sequential::<B>::from_config(&serde_json::json!({
                    "name": "m",
                    "layers": [{"class_name": "Dense2", "config": {"units": 3}}]
                }))
            },
        ),
        // ---- metrics that do not fit the loss or targets -----------------------------
        case(
            "fit: categorical_accuracy with integer labels",
            &["categorical_accuracy", "y_true", "[8]"],
            |_| {
                compiled::<B>("sparse_categorical_crossentropy", &["categorical_accuracy"])?.fit(
                    &x::<B>(&[8, 4])?,
                    &y::<B>(8)?,
                    quiet(),
                )
            },
        ),
        case(
            "fit: sparse_categorical_accuracy with one-hot targets",
            &["sparse_categorical_accuracy", "y_true", "[8, 3]"],
            |_| {
                compiled::<B>("categorical_crossentropy", &["sparse_categorical_accuracy"])?.fit(
                    &x::<B>(&[8, 4])?,
                    &one_hot::<B>(8)?,
                    quiet(),
                )
            },
        ),
        // ---- not compiled, not built ------------------------------------------------
        case("fit before compile", &["fit", "compiled"], |_| {
            mlp::<B>()?.fit(&x::<B>(&[8, 4])?, &y::<B>(8)?, quiet())
        }),
        case("evaluate before compile", &["evaluate", "compiled"], |_| {
            mlp::<B>()?.evaluate_with(&x::<B>(&[8, 4])?, &y::<B>(8)?, 4)
        }),
        case(
            "fit_dataset before compile",
            &["fit_dataset", "compiled"],
            |_| {
                let mut ds = Dataset::from_tensors(&x::<B>(&[8, 4])?, &y::<B>(8)?)?;
                mlp::<B>()?.fit_dataset(&mut ds, quiet())
            },
        ),
        case(
            "train_on_batch before compile",
            &["train_on_batch", "compiled"],
            |_| mlp::<B>()?.train_on_batch(&x::<B>(&[8, 4])?, &y::<B>(8)?),
        ),
        case(
            "compute_loss before compile",
            &["compute_loss", "compiled"],
            |_| mlp::<B>()?.compute_loss(&y::<B>(8)?, &x::<B>(&[8, 3])?, None),
        ),
        case(
            "predict on a Sequential with no layers",
            &["predict", "no layers", "model.add"],
            |_| Sequential::<B>::new().predict_with(&x::<B>(&[8, 4])?, 4),
        ),
        case(
            "summary of a model without Input, never built",
            &["summary", "built"],
            |_| {
                let mut m = Sequential::<B>::new();
                m.add(Dense::new(3))?;
                m.summary()
            },
        ),
        // ---- layers given incompatible shapes ------------------------------------------
        case(
            "Conv2D on a rank-2 input [batch, 4]",
            &["conv2d", "input", "[4]"],
            |_| {
                let mut m = Sequential::<B>::new();
                m.add(Input::new(&[4]))?;
                m.add(Conv2D::new(2, 3)).map(drop)
            },
        ),
        case(
            "Conv2D with a kernel larger than its input",
            &["conv2d", "kernel", "[2, 2, 1]"],
            |_| {
                let mut m = Sequential::<B>::new();
                m.add(Input::new(&[2, 2, 1]))?;
                m.add(Conv2D::new(1, 3)).map(drop)
            },
        ),
        case(
            "fit: Dense after Conv2D without Flatten, sparse labels",
            &["sparse_categorical_crossentropy", "y_true", "[8, 2, 2, 3]"],
            |_| {
                let mut m = Sequential::<B>::new().with_seed(1);
                m.add(Input::new(&[4, 4, 1]))?;
                m.add(Conv2D::new(2, 3))?;
                m.add(Dense::new(3).activation("softmax"))?;
                m.compile("adam", "sparse_categorical_crossentropy", &[])?;
                m.fit(&x::<B>(&[8, 4, 4, 1])?, &y::<B>(8)?, quiet())
            },
        ),
        case("Add of [3] and [4]", &["add", "[3]", "[4]"], |_| {
            let a = Input::new(&[3]).tensor::<B>();
            let b = Input::new(&[4]).tensor::<B>();
            Add().apply_multi(&[a, b])
        }),
        case(
            "Concatenate on the last axis of [2, 3] and [3, 3]",
            &["concatenate", "[2, 3]", "[3, 3]"],
            |_| {
                let a = Input::new(&[2, 3]).tensor::<B>();
                let b = Input::new(&[3, 3]).tensor::<B>();
                Concatenate::new(-1).apply_multi(&[a, b])
            },
        ),
        case(
            "Reshape [4, 4] to [3, -1]",
            &["reshape", "[4, 4]", "[3, -1]"],
            |_| {
                let mut m = Sequential::<B>::new();
                m.add(Input::new(&[4, 4]))?;
                m.add(Reshape::new(&[3, -1])).map(drop)
            },
        ),
        case("Dense with 0 units", &["dense", "units", "0"], |_| {
            let mut m = Sequential::<B>::new();
            m.add(Input::new(&[4]))?;
            m.add(Dense::new(0)).map(drop)
        }),
        case("Dropout rate 1.0", &["dropout", "rate", "1"], |_| {
            let mut m = Sequential::<B>::new();
            m.add(Input::new(&[4]))?;
            m.add(Dropout::new(1.0)).map(drop)
        }),
        case("Dropout rate -0.1", &["dropout", "rate", "-0.1"], |_| {
            let mut m = Sequential::<B>::new();
            m.add(Input::new(&[4]))?;
            m.add(Dropout::new(-0.1)).map(drop)
        }),
        case(
            "a second Input in a Sequential",
            &["Input", "first"],
            |_| {
                let mut m = Sequential::<B>::new();
                m.add(Input::new(&[4]))?;
                m.add(Flatten::new())?;
                m.add(Input::new(&[4])).map(drop)
            },
        ),
        case(
            "two layers with one name",
            &["layer name", "'d'", "unique"],
            |_| {
                let mut m = Sequential::<B>::new();
                m.add(Input::new(&[4]))?;
                m.add(Dense::new(2).name("d"))?;
                m.add(Dense::new(2).name("d")).map(drop)
            },
        ),
        case(
            "Model::new: an output not computed from the inputs",
            &["input", "c"],
            |_| {
                let a = Input::new(&[3]).name("a").tensor::<B>();
                let c = Input::new(&[3]).name("c").tensor::<B>();
                let out = Dense::new(1).apply(&c)?;
                Model::new(&[a], &[out])
            },
        ),
        case(
            "fit: one x for a model with two inputs",
            &["x", "count", "a, b"],
            |_| two_inputs::<B>()?.fit(&x::<B>(&[8, 3])?, &x::<B>(&[8, 1])?, quiet()),
        ),
        case(
            "predict: an input named 'c' in a model with a and b",
            &["x name", "'c'", "a, b"],
            |_| {
                let xa = x::<B>(&[8, 3])?;
                two_inputs::<B>()?.predict_with([("a", &xa), ("c", &xa)], 4)
            },
        ),
        // ---- CSV files ------------------------------------------------------------------
        case(
            "read_csv: an empty file",
            &["read_csv", "empty.csv", "empty file"],
            |dir| Table::read_csv(write(dir, "empty.csv", b"")?, &CsvOptions::new()),
        ),
        case(
            "read_csv: a ragged row",
            &[
                "read_csv",
                "ragged.csv",
                "line 3",
                "expected 3 fields",
                "column 'c'",
            ],
            |dir| {
                Table::read_csv(
                    write(dir, "ragged.csv", b"a,b,c\n1,2,3\n4,5\n")?,
                    &CsvOptions::new(),
                )
            },
        ),
        case(
            "read_csv: binary garbage (a PNG header)",
            &["read_csv", "garbage.csv", "line 1", "utf-8"],
            |dir| {
                let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\xff\xfe\x00\x01";
                Table::read_csv(write(dir, "garbage.csv", png)?, &CsvOptions::new())
            },
        ),
        case(
            "read_csv: duplicate header names",
            &["read_csv", "dup.csv", "column 'a'", "duplicate column name"],
            |dir| {
                Table::read_csv(
                    write(dir, "dup.csv", b"a,b,a\n1,2,3\n")?,
                    &CsvOptions::new(),
                )
            },
        ),
        case(
            "read_csv: a header with fewer names than the rows have fields",
            &[
                "read_csv",
                "short_header.csv",
                "line 2",
                "expected 2 fields",
                "extra field after column 'b'",
            ],
            |dir| {
                Table::read_csv(
                    write(dir, "short_header.csv", b"a,b\n1,2,3\n")?,
                    &CsvOptions::new(),
                )
            },
        ),
        case(
            "read_csv: no header line, then a column asked by name",
            &["column", "price", "no_header.csv", "known: 1, 2.5"],
            |dir| {
                let t = Table::read_csv(
                    write(dir, "no_header.csv", b"1,2.5\n3,4.5\n")?,
                    &CsvOptions::new(),
                )?;
                t.to_tensor::<B>(&["price"], Device::Cpu)
            },
        ),
        case(
            "read_csv: CsvOptions::columns names an absent column",
            &[
                "read_csv",
                "cols.csv",
                "unknown column 'zz'",
                "CsvOptions::columns",
            ],
            |dir| {
                Table::read_csv(
                    write(dir, "cols.csv", b"a,b\n1,2\n")?,
                    &CsvOptions::new().columns(&["a", "zz"]),
                )
            },
        ),
        case(
            "read_csv: a declared Int column holding text",
            &["read_csv", "typed.csv", "column 'n'", "\"abc\"", "integer"],
            |dir| {
                Table::read_csv(
                    write(dir, "typed.csv", b"n\n1\nabc\n")?,
                    &CsvOptions::new().column_type("n", ColumnType::Int),
                )
            },
        ),
        case(
            "read_csv: a missing file",
            &["read_csv", "absent.csv", "cannot open"],
            |dir| Table::read_csv(dir.join("absent.csv"), &CsvOptions::new()),
        ),
        // ---- FeatureSpace -----------------------------------------------------------------
        case(
            "FeatureSpace::adapt: an absent column",
            &["FeatureSpace::adapt", "price", "known: hp, origin"],
            |_| {
                let t = Table::from_csv_str("hp,origin\n1,usa\n2,eu\n", &CsvOptions::new())?;
                FeatureSpace::new().numeric("hp").numeric("price").adapt(&t)
            },
        ),
        case(
            "FeatureSpace::transform: a table without an adapted column",
            &["FeatureSpace::transform", "origin", "known: hp"],
            |_| {
                let t = Table::from_csv_str("hp,origin\n1,usa\n2,eu\n", &CsvOptions::new())?;
                let mut fs = FeatureSpace::new()
                    .numeric("hp")
                    .categorical_string("origin");
                fs.adapt(&t)?;
                let new = Table::from_csv_str("hp\n3\n", &CsvOptions::new())?;
                fs.transform::<B>(&new, Device::Cpu)
            },
        ),
        case(
            "FeatureSpace::from_json: not JSON",
            &["FeatureSpace::from_json", "malformed JSON"],
            |_| FeatureSpace::from_json("{\"features\": ["),
        ),
        // ---- weights and model files --------------------------------------------------
        case(
            "load_weights: weights of another architecture",
            &[
                "load_weights",
                "other.safetensors",
                "dense/kernel",
                "[4, 8]",
            ],
            |dir| {
                let mut other = Sequential::<B>::new().with_seed(1);
                other.add(Input::new(&[4]))?;
                other.add(Dense::new(5))?;
                other.add(Dense::new(3))?;
                let p = dir.join("other.safetensors");
                other.save_weights(&p)?;
                mlp::<B>()?.load_weights(&p)
            },
        ),
        case(
            "load_weights: a missing file",
            &["load_weights", "absent.safetensors"],
            |dir| mlp::<B>()?.load_weights(dir.join("absent.safetensors")),
        ),
        case(
            "load_weights: a file that is not safetensors",
            &["load_weights", "text.safetensors"],
            |dir| mlp::<B>()?.load_weights(write(dir, "text.safetensors", b"hello, world\n")?),
        ),
        case(
            "Sequential::load: a weights-only file",
            &["weights.safetensors", "weights only", "load_weights"],
            |dir| {
                let p = dir.join("weights.safetensors");
                mlp::<B>()?.save_weights(&p)?;
                Sequential::<B>::load(&p)
            },
        ),
        case(
            "Model::load: a Sequential model file",
            &[
                "seq.safetensors",
                "holds a Sequential model",
                "Sequential::load",
            ],
            |dir| {
                let p = dir.join("seq.safetensors");
                mlp::<B>()?.save(&p)?;
                Model::<B>::load(&p)
            },
        ),
        case(
            "set_weights: a kernel of the wrong shape",
            &["dense/kernel", "[4, 8]", "[8, 4]"],
            |_| {
                let mut m = mlp::<B>()?;
                let mut w = m.get_weights()?;
                let bad = stratanet::saving::HostTensor::from_tensor(&x::<B>(&[8, 4])?)?;
                w[0].1 = bad;
                m.set_weights(&w)
            },
        ),
        // ---- tensors and splits -------------------------------------------------------
        case(
            "Tensor::from_vec: 5 values for shape [2, 3]",
            &["from_vec", "[2, 3]", "5"],
            |_| Tensor::<B>::from_vec(vec![1.0f32; 5], &[2, 3]),
        ),
        case(
            "train_test_split: test_fraction 1.5",
            &["train_test_split", "test_fraction", "1.5"],
            |_| stratanet::datasets::train_test_split(&x::<B>(&[8, 4])?, &y::<B>(8)?, 1.5, 1),
        ),
    ]
}

/// The text of a panic payload.
fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-text panic payload)".into())
}

/// Runs every case of the catalogue on engine `B` and fails once, listing every case that
/// panicked, returned `Ok`, or gave a message without its expected words.
fn run_catalogue<B: Backend>() {
    let dir = tempfile::TempDir::new().unwrap();
    let cases = catalogue::<B>();
    assert!(cases.len() >= 50, "only {} cases", cases.len());
    let mut names = std::collections::HashSet::new();
    for c in &cases {
        assert!(names.insert(c.name), "case name used twice: {}", c.name);
    }
    let mut failures = Vec::new();
    for c in &cases {
        match catch_unwind(AssertUnwindSafe(|| (c.run)(dir.path()))) {
            Err(p) => failures.push(format!("{}: PANICKED: {}", c.name, panic_text(&*p))),
            Ok(Ok(())) => failures.push(format!("{}: returned Ok", c.name)),
            Ok(Err(e)) => {
                let msg = e.to_string();
                println!("{}: {msg}", c.name);
                let missing: Vec<&str> = c
                    .expect
                    .iter()
                    .copied()
                    .filter(|w| !msg.contains(w))
                    .collect();
                if !missing.is_empty() {
                    failures.push(format!("{}: message lacks {missing:?}: {msg}", c.name));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad-input cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// NaN (or an infinity) in the data is not an error, as in Keras: `fit` trains on, the loss
/// becomes NaN at the first batch that sees it, `TerminateOnNan` stops training there, and
/// `History` records that epoch with its NaN loss. `predict` returns NaN rows, no error.
fn nan_in_data_is_not_an_error<B: Backend>() {
    for bad in [f32::NAN, f32::INFINITY] {
        let mut m = classifier::<B>().unwrap();
        // 16 samples, batch 4, no shuffling: batches 0 and 1 are clean, sample 9 (batch 2
        // of epoch 0) holds the bad value.
        let mut v = x::<B>(&[16, 4]).unwrap().to_vec_f32().unwrap();
        v[9 * 4 + 2] = bad;
        let xb = Tensor::<B>::from_vec(v, &[16, 4]).unwrap();
        let h = m
            .fit(
                &xb,
                y::<B>(16).unwrap(),
                FitOptions::new()
                    .epochs(5)
                    .batch_size(4)
                    .shuffle(false)
                    .verbose(0)
                    .callback(TerminateOnNan::new()),
            )
            .unwrap_or_else(|e| panic!("{bad} in x is not an error, got {e}"));
        assert_eq!(h.epoch, vec![0], "{bad}: stopped in the first epoch");
        let loss = h.get("loss").unwrap();
        assert_eq!(loss.len(), 1, "{bad}: one epoch recorded");
        assert!(
            loss[0].is_nan(),
            "{bad}: the recorded loss is NaN: {loss:?}"
        );
        // the NaN loss reached the weights through the gradient step of batch 2, so later
        // predictions are NaN too; before any training, only the bad row is NaN
        let fresh = classifier::<B>().unwrap();
        let p = fresh.predict_with(&xb, 8).unwrap().to_vec_f32().unwrap();
        for (row, probs) in p.chunks(3).enumerate() {
            assert_eq!(
                probs.iter().any(|v| v.is_nan()),
                row == 9,
                "{bad}: row {row} gives {probs:?}"
            );
        }
        // evaluate reports the NaN loss, no error
        let logs = fresh.evaluate_with(&xb, y::<B>(16).unwrap(), 8).unwrap();
        assert!(logs.get("loss").unwrap().is_nan(), "{bad}: {logs:?}");
    }
}

/// The run stops at the first NaN loss: `TerminateOnNan` records the batch, and the
/// epochs after it never run.
fn terminate_on_nan_stops_at_the_first_nan_batch<B: Backend>() {
    let mut m = classifier::<B>().unwrap();
    let mut v = x::<B>(&[16, 4]).unwrap().to_vec_f32().unwrap();
    v[13 * 4] = f32::NAN; // batch 3 (samples 12..16) of epoch 0
    let xb = Tensor::<B>::from_vec(v, &[16, 4]).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let counter =
        stratanet::callbacks::LambdaCallback::new().on_train_batch_end(move |step, _logs, _ctx| {
            log.lock().unwrap().push(step);
            Ok(())
        });
    let h = m
        .fit(
            &xb,
            y::<B>(16).unwrap(),
            FitOptions::new()
                .epochs(3)
                .batch_size(4)
                .shuffle(false)
                .verbose(0)
                .callback(TerminateOnNan::new())
                .callback(counter),
        )
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![0, 1, 2, 3], "batches that ran");
    assert_eq!(h.epoch, vec![0]);
    assert!(h.get("loss").unwrap()[0].is_nan());
}

engine_tests!(
    catalogue: run_catalogue,
    nan_in_data_is_not_an_error,
    terminate_on_nan_stops_at_the_first_nan_batch,
);
