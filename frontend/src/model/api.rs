//! The user-facing model API shared by [`super::Sequential`] and [`super::Model`]:
//! compile, fit, evaluate, predict, batch-level and custom-step calls, weights I/O.
//! Written once as inherent methods of [`ModelCore`], the struct both model kinds are
//! aliases of, so they document and offer exactly the same calls without a trait import.

use super::training::{Compiled, Network};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

pub use super::parts::{Architecture, ModelParts, ModelState};

/// One model: an architecture `A` (the layer stack of a [`super::Sequential`], the layer
/// graph of a functional [`super::Model`]) and the compile state every model kind carries.
/// The user-facing API (compile, fit, evaluate, predict, batch-level and custom-step calls,
/// weights I/O) is written once here as inherent methods, so both model kinds offer and
/// document exactly the same calls without a trait import, the way Keras' `Sequential`
/// subclasses `Functional`.
pub struct ModelCore<B: Backend, A> {
    /// The architecture: what differs between model kinds.
    pub(super) arch: A,
    /// Compile state, seeds and assets.
    pub(super) state: ModelState<B>,
}

impl<B: Backend, A> ModelCore<B, A>
where
    Self: ModelParts<B>,
{
    /// Runs `f` with the model and its compile state (and the model's seed) borrowed
    /// apart: the state is taken out for the call and put back afterwards, also when `f`
    /// panics (the panic is resumed once the state is back), so a caught panic (a
    /// panicking callback) never leaves the model uncompiled.
    ///
    /// # Errors
    /// [`Error::NotReady`] when not compiled, or `f`'s error.
    fn with_compiled<R>(
        &mut self,
        op: &str,
        f: impl FnOnce(&mut Self, &mut Compiled<B>, u64) -> Result<R>,
    ) -> Result<R> {
        let mut compiled = self.state.take_compiled(op)?;
        let seed = self.state.seed;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            f(self, &mut compiled, seed)
        }));
        self.state.compiled = Some(compiled);
        r.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    /// Sets optimizer, loss and metrics, like `model.compile(...)`. Names (`"adam"`,
    /// `"sparse_categorical_crossentropy"`, `"accuracy"`) or values are accepted. With
    /// several outputs, every output gets this loss and these metrics; use
    /// [`Self::compile_with`] for one per output.
    ///
    /// # Errors
    /// Unknown optimizer, loss or metric names.
    pub fn compile(
        &mut self,
        optimizer: impl crate::optimizers::IntoOptimizer<B>,
        loss: impl crate::losses::IntoLoss<B>,
        metrics: impl crate::metrics::IntoMetrics<B>,
    ) -> Result<()> {
        self.pending_error()?;
        let names = self.output_names();
        let c = crate::model::training::compile_simple(&names, optimizer, loss, metrics)?;
        self.set_compiled(c);
        Ok(())
    }

    /// Compiles with a loss, loss weight and metrics per output name.
    ///
    /// # Errors
    /// Unknown output, loss, metric or optimizer names.
    pub fn compile_with(&mut self, c: crate::model::Compile<B>) -> Result<()> {
        self.pending_error()?;
        let names = self.output_names();
        let c = c.resolve(&names)?;
        self.set_compiled(c);
        Ok(())
    }

    /// Installs the compile state; under `mixed_float16` the optimizer is wrapped in a
    /// [`LossScaleOptimizer`](crate::optimizers::LossScaleOptimizer), as Keras does.
    fn set_compiled(&mut self, mut c: crate::model::Compiled<B>) {
        let needs_scaling = self.state().policy == crate::mixed_precision::Policy::MixedFloat16
            && c.optimizer.loss_scale().is_none();
        if needs_scaling {
            let placeholder: Box<dyn crate::optimizers::Optimizer<B>> =
                Box::new(crate::optimizers::Sgd::new(0.0));
            let inner = std::mem::replace(&mut c.optimizer, placeholder);
            c.optimizer = Box::new(crate::optimizers::LossScaleOptimizer::new(inner));
        }
        self.state_mut().compiled = Some(c);
    }

    /// The optimizer's current learning rate (what a schedule or a callback left it at),
    /// like Keras' `model.optimizer.learning_rate`.
    ///
    /// # Errors
    /// [`Error::NotReady`] when not compiled.
    pub fn learning_rate(&self) -> Result<f64> {
        Ok(self
            .state
            .require_compiled("learning_rate")?
            .optimizer
            .learning_rate())
    }

    /// The compiled optimizer, losses and metrics.
    pub fn compiled(&self) -> Option<&crate::model::Compiled<B>> {
        self.state().compiled.as_ref()
    }

    /// Trains the model, like `model.fit(x, y, ...)`; returns the per-epoch
    /// [`History`](crate::History). `x` and `y` are tensors, lists in input/output
    /// order, or `(name, tensor)` pairs.
    ///
    /// # Devices
    /// The inputs may live on any device: whatever is not on the model's
    /// [`device`](Self::device) is moved there once per call, as a whole tensor
    /// (`x`, `y`, `validation_data`, `sample_weight`; `class_weight` is expanded
    /// on the device of `y`), before the first batch, and batches are then cut on
    /// the device; a [`Dataset`](crate::dataset::Dataset) (in
    /// [`Self::fit_dataset`]) is uploaded once per batch. Nothing is moved per
    /// operation. The same holds for `evaluate`, `predict` and their dataset forms,
    /// `train_on_batch`, `test_on_batch`, `predict_on_batch` and `call`. Outputs
    /// (`predict`) stay on the model's device.
    ///
    /// # Errors
    /// Not compiled; `batch_size` 0; `x` and `y` with different sample counts; inputs
    /// that do not fit the first layer; labels out of range; a bad `validation_split`.
    pub fn fit(
        &mut self,
        x: impl Into<crate::model::Data<B>>,
        y: impl Into<crate::model::Data<B>>,
        opts: crate::FitOptions<B>,
    ) -> Result<crate::History> {
        self.with_compiled("fit", |model, compiled, seed| {
            crate::model::training::fit(model, compiled, seed, x.into(), y.into(), opts)
        })
    }

    /// Loss and metrics on `(x, y)` in inference mode, like Keras' `model.evaluate(x, y)`:
    /// batches of 32 (Keras' default; see [`Self::evaluate_with`] for another batch size or
    /// callbacks). Read a result with [`Logs::value`](crate::Logs::value), which names the
    /// available keys when one is missing.
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// # fn main() -> stratanet::Result<()> {
    /// let mut model = Sequential::<DefaultBackend>::new();
    /// model.add(Input::new(&[2]))?;
    /// model.add(Dense::new(3).activation("softmax"))?;
    /// model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;
    /// let x = Tensor::from_vec(vec![0.5f32; 8], &[4, 2])?;
    /// let y = Tensor::from_vec(vec![0i64, 1, 2, 0], &[4])?;
    /// let results = model.evaluate(&x, &y)?;
    /// let accuracy = results.value("accuracy")?;
    /// assert!((0.0..=1.0).contains(&accuracy));
    /// assert!(results.value("acc").unwrap_err().to_string().contains("accuracy, loss"));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Self::fit`].
    pub fn evaluate(
        &self,
        x: impl Into<crate::model::Data<B>>,
        y: impl Into<crate::model::Data<B>>,
    ) -> Result<crate::Logs> {
        self.evaluate_with(x, y, crate::model::EvaluateOptions::new())
    }

    /// [`Self::evaluate`] with options: a batch size (a plain `usize` converts,
    /// `model.evaluate_with(&x, &y, 128)`) or an
    /// [`EvaluateOptions`](crate::model::EvaluateOptions) with callbacks (their
    /// `on_test_*` hooks run, per batch too).
    ///
    /// # Errors
    /// As [`Self::evaluate`] (`batch_size` 0 included), or a callback's error.
    pub fn evaluate_with(
        &self,
        x: impl Into<crate::model::Data<B>>,
        y: impl Into<crate::model::Data<B>>,
        opts: impl Into<crate::model::EvaluateOptions>,
    ) -> Result<crate::Logs> {
        let crate::model::EvaluateOptions {
            batch_size,
            mut callbacks,
            distribute,
        } = opts.into();
        let compiled = self.state.require_compiled("evaluate")?;
        crate::model::training::evaluate(
            self,
            compiled,
            x.into(),
            y.into(),
            batch_size,
            &mut callbacks,
            distribute.as_ref(),
        )
    }

    /// Outputs for `x` in inference mode, like Keras' `model.predict(x)`: batches of 32
    /// (Keras' default; see [`Self::predict_with`]), the first output for models with
    /// several (see [`Self::predict_all`]).
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// # fn main() -> stratanet::Result<()> {
    /// let mut model = Sequential::<DefaultBackend>::new();
    /// model.add(Input::new(&[2]))?;
    /// model.add(Dense::new(3).activation("softmax"))?;
    /// let probs = model.predict(&Tensor::from_vec(vec![0.5f32; 80], &[40, 2])?)?;
    /// assert_eq!(probs.shape(), [40, 3]);
    /// let same = model.predict_with(&Tensor::from_vec(vec![0.5f32; 80], &[40, 2])?, 7)?;
    /// assert_eq!(same.to_vec_f32()?, probs.to_vec_f32()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Inputs that do not fit the model.
    pub fn predict(&self, x: impl Into<crate::model::Data<B>>) -> Result<Tensor<B>> {
        self.predict_with(x, crate::model::PredictOptions::new())
    }

    /// [`Self::predict`] with options: a batch size (a plain `usize` converts,
    /// `model.predict_with(&x, 256)`) or a [`PredictOptions`](crate::model::PredictOptions)
    /// with callbacks (their `on_predict_*` hooks run, per batch too).
    ///
    /// # Errors
    /// `batch_size` 0, inputs that do not fit the model, or a callback's error.
    pub fn predict_with(
        &self,
        x: impl Into<crate::model::Data<B>>,
        opts: impl Into<crate::model::PredictOptions>,
    ) -> Result<Tensor<B>> {
        let mut outs = self.predict_all(x, opts)?;
        Ok(outs.remove(0))
    }

    /// Every output for `x` in inference mode, in output order, with options as
    /// [`Self::predict_with`] (a batch size or [`PredictOptions`](crate::model::PredictOptions)).
    ///
    /// # Errors
    /// As [`Self::predict_with`].
    pub fn predict_all(
        &self,
        x: impl Into<crate::model::Data<B>>,
        opts: impl Into<crate::model::PredictOptions>,
    ) -> Result<Vec<Tensor<B>>> {
        let crate::model::PredictOptions {
            batch_size,
            mut callbacks,
            distribute,
        } = opts.into();
        crate::model::training::predict(
            self,
            x.into(),
            batch_size,
            &mut callbacks,
            distribute.as_ref(),
        )
    }

    /// Trains on a [`Dataset`](crate::dataset::Dataset), like Keras' `model.fit(ds,
    /// epochs=...)`: epoch `e` is pass `e` of the dataset (its shuffles seeded by the
    /// epoch), batched by `opts.batch_size` unless the dataset is batched itself;
    /// `opts.steps_per_epoch` takes that many batches per epoch, restarting the
    /// dataset when it runs out. Validation data: `opts.validation_dataset` (or
    /// `validation_data` tensors). The dataset is borrowed, so it keeps its learned
    /// length for the next call.
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// use stratanet::dataset::Dataset;
    /// use stratanet::optimizers::Optimizer;
    /// # fn main() -> stratanet::Result<()> {
    /// let x = Tensor::<DefaultBackend>::uniform(&[64, 3], -1.0, 1.0, 1, DType::F32, Device::Cpu)?;
    /// let y = x.sum(&[-1], true)?;
    /// let mut ds = Dataset::from_tensors(&x, &y)?.shuffle(64, 7).batch(16).prefetch(2);
    /// let mut model = Sequential::<DefaultBackend>::new().with_seed(0);
    /// model.add(Input::new(&[3]))?;
    /// model.add(Dense::new(1))?;
    /// model.compile(Sgd::new(0.1), "mse", &[])?;
    /// let h = model.fit_dataset(&mut ds, FitOptions::new().epochs(3).verbose(0))?;
    /// assert_eq!(h.get("loss").unwrap().len(), 3);
    /// assert_eq!(model.compiled().unwrap().optimizer.iterations(), 12);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Self::fit`]; `validation_split` and `sample_weight` are not available
    /// with a dataset; batches whose tensor counts do not match the model; an empty
    /// dataset; errors from the dataset (also those raised on its prefetch thread).
    pub fn fit_dataset(
        &mut self,
        train: &mut crate::dataset::Dataset,
        opts: crate::FitOptions<B>,
    ) -> Result<crate::History> {
        self.with_compiled("fit_dataset", |model, compiled, seed| {
            crate::model::training::fit_dataset(model, compiled, seed, train, opts)
        })
    }

    /// Loss and metrics over one pass of a [`Dataset`](crate::dataset::Dataset) in
    /// inference mode (batched by `batch_size` unless the dataset is batched).
    ///
    /// # Errors
    /// Not compiled, `batch_size` 0, an empty dataset, batches that do not fit the
    /// model, errors from the dataset.
    pub fn evaluate_dataset(
        &self,
        data: &mut crate::dataset::Dataset,
        batch_size: usize,
    ) -> Result<crate::Logs> {
        let compiled = self.state.require_compiled("evaluate_dataset")?;
        crate::model::training::evaluate_dataset(self, compiled, data, batch_size, &mut [])
    }

    /// Outputs (the first output) over one pass of a
    /// [`Dataset`](crate::dataset::Dataset) in inference mode; targets in the
    /// dataset are ignored.
    ///
    /// # Errors
    /// `batch_size` 0, an empty dataset, inputs that do not fit the model, errors
    /// from the dataset.
    pub fn predict_dataset(
        &self,
        data: &mut crate::dataset::Dataset,
        batch_size: usize,
    ) -> Result<Tensor<B>> {
        let mut outs = crate::model::training::predict_dataset(self, data, batch_size, &mut [])?;
        Ok(outs.remove(0))
    }

    /// [`Self::predict_dataset`] returning every output, in output order.
    ///
    /// # Errors
    /// As [`Self::predict_dataset`].
    pub fn predict_dataset_all(
        &self,
        data: &mut crate::dataset::Dataset,
        batch_size: usize,
    ) -> Result<Vec<Tensor<B>>> {
        crate::model::training::predict_dataset(self, data, batch_size, &mut [])
    }

    /// One gradient step on one batch; returns the loss and metrics of that batch.
    ///
    /// # Errors
    /// As [`Self::fit`].
    pub fn train_on_batch(
        &mut self,
        x: impl Into<crate::model::Data<B>>,
        y: impl Into<crate::model::Data<B>>,
    ) -> Result<crate::Logs> {
        let x = x.into();
        let n = x
            .clone()
            .resolve(&self.input_names(), "x")?
            .first()
            .and_then(|t| t.shape().first().copied())
            .unwrap_or(1);
        let h = self.with_compiled("train_on_batch", |model, compiled, seed| {
            let seed = crate::random::Rng::derive(seed, compiled.optimizer.iterations() + 1);
            let opts = crate::FitOptions::new()
                .epochs(1)
                .batch_size(n.max(1))
                .shuffle(false)
                .verbose(0);
            crate::model::training::fit(model, compiled, seed, x, y.into(), opts)
        })?;
        let mut logs = crate::Logs::new();
        for (k, v) in &h.history {
            if let Some(last) = v.last() {
                logs.insert(k.clone(), *last);
            }
        }
        Ok(logs)
    }

    /// Loss and metrics of one batch in inference mode, like Keras' `test_on_batch`.
    ///
    /// # Errors
    /// As [`Self::evaluate`].
    pub fn test_on_batch(
        &self,
        x: impl Into<crate::model::Data<B>>,
        y: impl Into<crate::model::Data<B>>,
    ) -> Result<crate::Logs> {
        self.evaluate_with(x, y, usize::MAX)
    }

    /// Outputs for one batch in inference mode, like Keras' `predict_on_batch`.
    ///
    /// # Errors
    /// As [`Self::predict`].
    pub fn predict_on_batch(&self, x: impl Into<crate::model::Data<B>>) -> Result<Tensor<B>> {
        self.predict_with(x, usize::MAX)
    }

    /// The forward pass, like calling a Keras model: `model(x, training=...)` (first
    /// output), on the model's device (inputs elsewhere are moved there, and the
    /// output stays there). In training mode random layers (dropout) draw fresh
    /// seeded masks on every call. The result keeps its autograd graph, for custom
    /// training loops:
    /// forward with `call`, then [`Self::compute_loss`], `Tensor::grad` over
    /// [`Self::trainable_weights`], and [`Self::apply_gradients`].
    ///
    /// # Errors
    /// Inputs that do not fit the model.
    pub fn call(
        &mut self,
        x: impl Into<crate::model::Data<B>>,
        training: bool,
    ) -> Result<Tensor<B>> {
        Ok(self.call_all(x, training)?.remove(0))
    }

    /// [`Self::call`] returning every output.
    ///
    /// # Errors
    /// Inputs that do not fit the model.
    pub fn call_all(
        &mut self,
        x: impl Into<crate::model::Data<B>>,
        training: bool,
    ) -> Result<Vec<Tensor<B>>> {
        let xs = x.into().resolve(&self.input_names(), "x")?;
        self.prepare_inputs(&xs)?;
        let dtype = self.dtype();
        let device = <Self as crate::model::Network<B>>::device(self);
        let xs: Vec<Tensor<B>> = xs
            .iter()
            .map(|x| {
                let x = x.to_device(device)?;
                if x.dtype().is_float() {
                    x.to_dtype(dtype)
                } else {
                    Ok(x)
                }
            })
            .collect::<Result<_>>()?;
        let mut ctx = if training {
            let st = self.state_mut();
            st.calls += 1;
            crate::layers::CallContext::training(crate::random::Rng::derive(
                st.seed ^ 0x5EED_CA11,
                st.calls,
            ))
        } else {
            crate::layers::CallContext::inference()
        };
        let out = self.forward(&xs, &mut ctx)?;
        self.state_mut().pending_activity = ctx.take_activity_loss::<B>()?;
        Ok(out)
    }

    /// The compiled loss of `y_pred` against `y` (optionally weighted per sample)
    /// plus the layers' regularisation penalties (and the activity penalties of the
    /// last training-mode [`Self::call`]): the objective `fit` minimises. `y` and
    /// `sample_weight` are moved to the model's device when they are elsewhere.
    ///
    /// # Errors
    /// Not compiled, or shapes that do not fit the loss.
    pub fn compute_loss(
        &self,
        y: impl Into<crate::model::Data<B>>,
        y_pred: impl Into<crate::model::Data<B>>,
        sample_weight: Option<&Tensor<B>>,
    ) -> Result<Tensor<B>> {
        let compiled = self.state().require_compiled("compute_loss")?;
        let names = self.output_names();
        let ys = y.into().resolve(&names, "y")?;
        let preds = y_pred.into().resolve(&names, "y_pred")?;
        let device = <Self as crate::model::Network<B>>::device(self);
        let ys: Vec<Tensor<B>> = ys
            .iter()
            .zip(&compiled.losses)
            .map(|(y, l)| {
                let y = y.to_device(device)?;
                match l {
                    Some(l) => y.to_dtype(l.target_dtype(self.dtype())),
                    None => Ok(y),
                }
            })
            .collect::<Result<_>>()?;
        let sample_weight = sample_weight.map(|w| w.to_device(device)).transpose()?;
        let mut ctx = crate::layers::CallContext::inference();
        let mut loss = crate::model::training::compute_loss(
            self,
            compiled,
            &ys,
            &preds,
            sample_weight.as_ref(),
            &mut ctx,
        )?;
        if let Some(a) = &self.state().pending_activity {
            loss = loss.add(&a.to_dtype(loss.dtype())?)?;
        }
        Ok(loss)
    }

    /// The trainable parameters, in the order [`Self::apply_gradients`] expects.
    pub fn trainable_weights(&self) -> Vec<Tensor<B>> {
        self.trainable_params()
    }

    /// Applies gradients (ordered like [`Self::trainable_weights`]) with the
    /// compiled optimizer, in place.
    ///
    /// # Errors
    /// Not compiled, or gradients that do not match the parameters.
    pub fn apply_gradients(&mut self, grads: &[Option<Tensor<B>>]) -> Result<()> {
        let params = self.trainable_params();
        let compiled = self.state_mut().require_compiled_mut("apply_gradients")?;
        if grads.len() != params.len() {
            return Err(Error::invalid(
                "apply_gradients",
                "grads",
                format!(
                    "{} gradients for {} trainable weights",
                    grads.len(),
                    params.len()
                ),
            ));
        }
        match compiled.optimizer.loss_scale() {
            // A loss-scaling optimizer unscales what it gets: hand it scaled gradients.
            Some(s) => {
                let scaled: Vec<Option<Tensor<B>>> = grads
                    .iter()
                    .map(|g| g.as_ref().map(|g| g.mul_scalar(s)).transpose())
                    .collect::<Result<_>>()?;
                compiled.optimizer.apply(&params, &scaled)
            }
            None => compiled.optimizer.apply(&params, grads),
        }
    }

    /// Every weight with its path (`dense_1/kernel`), trainable first per layer.
    pub fn weights(&self) -> Vec<(String, crate::layers::Weight<B>)> {
        self.named_weights()
    }

    /// Number of trainable and non-trainable parameters.
    pub fn count_params(&self) -> (usize, usize) {
        let mut t = 0;
        let mut nt = 0;
        for (_, w) in self.named_weights() {
            if w.trainable {
                t += w.value.numel();
            } else {
                nt += w.value.numel();
            }
        }
        (t, nt)
    }

    /// Copies every weight to the host, by path (Keras `get_weights`).
    ///
    /// # Errors
    /// On engine errors.
    pub fn get_weights(&self) -> Result<Vec<(String, crate::saving::HostTensor)>> {
        self.named_weights()
            .into_iter()
            .map(|(n, w)| Ok((n, crate::saving::HostTensor::from_tensor(&w.value)?)))
            .collect()
    }

    /// Overwrites weights in place from host copies matched by path (Keras
    /// `set_weights`).
    ///
    /// # Errors
    /// [`Error::Config`] listing missing, unexpected and mis-shaped tensors (nothing
    /// is changed then).
    pub fn set_weights(&mut self, weights: &[(String, crate::saving::HostTensor)]) -> Result<()> {
        let targets: Vec<(String, Tensor<B>)> = self.weight_handles();
        let name = self.model_name().to_string();
        crate::saving::assign_by_name(&targets, weights, &name)
    }

    /// Saves the weights to a `.safetensors` file (atomically), named by layer path
    /// (`dense_1/kernel`).
    ///
    /// # Errors
    /// I/O and engine errors; an existing file is left intact on failure.
    pub fn save_weights(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let tensors: Vec<(String, Tensor<B>)> = self.weight_handles();
        let mut meta = std::collections::HashMap::new();
        meta.insert("stratanet_kind".to_string(), "weights".to_string());
        crate::saving::save_tensors(path.as_ref(), &tensors, &meta)
    }

    /// Saves the whole model to one `.safetensors` file, atomically: architecture
    /// (config JSON in the header), weights by layer path, the training configuration
    /// (optimizer, losses, metrics) and the optimizer's state under `optimizer/`.
    /// `load` on either engine restores it, ready to predict or to resume training.
    ///
    /// # Errors
    /// Engine, encoding and I/O errors; an existing file is left intact on failure.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let config = self.model_config();
        crate::model::persist::save_model(self, path.as_ref(), self.model_class(), &config)
    }

    /// The dtype policy the model's layers run under (see [`crate::mixed_precision`]):
    /// the global policy when the model was made, or the one saved with it.
    pub fn dtype_policy(&self) -> crate::mixed_precision::Policy {
        self.state().policy
    }

    /// Runs the layers under `policy` from now on (variables stay as they are: `f32`).
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// use stratanet::mixed_precision::Policy;
    /// let mut model = Sequential::<DefaultBackend>::new();
    /// model.set_dtype_policy(Policy::MixedBFloat16);
    /// assert_eq!(model.dtype_policy().name(), "mixed_bfloat16");
    /// ```
    pub fn set_dtype_policy(&mut self, policy: crate::mixed_precision::Policy) {
        self.state_mut().policy = policy;
    }

    /// Stores a named text asset in the model; [`Self::save`] writes it into the model
    /// file and `load` restores it. For the host-side preprocessing that cannot be a
    /// layer (string columns): keep the adapted `FeatureSpace` or `StringLookup` with
    /// the model that was trained on its output, so a prediction script loads both
    /// from one file.
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// use stratanet::layers::StringLookup;
    /// # fn main() -> stratanet::Result<()> {
    /// let mut labels = StringLookup::new().num_oov_indices(0);
    /// labels.adapt(&[Some("rain"), Some("sun"), Some("sun")]);
    /// let mut model = Sequential::<DefaultBackend>::new();
    /// model.add(Input::new(&[3]))?;
    /// model.add(Dense::new(2))?;
    /// model.set_asset("labels", labels.to_json());
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("stratanet_asset_doc.safetensors");
    /// model.save(&path)?;
    /// let loaded = Sequential::<DefaultBackend>::load(&path)?;
    /// let labels = StringLookup::from_json(loaded.asset("labels").unwrap())?;
    /// assert_eq!(labels.vocabulary(), ["sun", "rain"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_asset(&mut self, name: &str, text: impl Into<String>) {
        self.state_mut()
            .assets
            .insert(name.to_string(), text.into());
    }

    /// The text asset `name` (see [`Self::set_asset`]).
    pub fn asset(&self, name: &str) -> Option<&str> {
        self.state().assets.get(name).map(String::as_str)
    }

    /// Names of the stored text assets, sorted.
    pub fn asset_names(&self) -> Vec<&str> {
        self.state().assets.keys().map(String::as_str).collect()
    }

    /// Loads weights saved by [`Self::save_weights`] (or the weights of a saved
    /// model), matching by name, on this model's engine and device.
    ///
    /// # Errors
    /// A malformed or foreign file, or [`Error::Config`] listing missing, unexpected
    /// and mis-shaped tensors. The model is unchanged on error.
    pub fn load_weights(&mut self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        let (tensors, _) = crate::saving::load_file(path).map_err(|e| e.in_call("load_weights"))?;
        let weights: Vec<(String, crate::saving::HostTensor)> = tensors
            .into_iter()
            .filter(|(n, _)| !n.starts_with("optimizer/"))
            .collect();
        let targets: Vec<(String, Tensor<B>)> = self.weight_handles();
        crate::saving::assign_by_name(&targets, &weights, &path.display().to_string())
            .map_err(|e| e.in_call("load_weights"))
    }
}

impl<B: Backend, A> crate::callbacks::ModelAccess for ModelCore<B, A>
where
    Self: ModelParts<B>,
{
    fn get_weights(&self) -> Result<Vec<(String, crate::saving::HostTensor)>> {
        Self::get_weights(self)
    }
    fn set_weights(&self, weights: &[(String, crate::saving::HostTensor)]) -> Result<()> {
        // Written in place through the parameter handles, as `set_weights` does.
        let targets: Vec<(String, Tensor<B>)> = self.weight_handles();
        crate::saving::assign_by_name(&targets, weights, self.model_name())
    }
    fn save_weights(&self, path: &std::path::Path) -> Result<()> {
        Self::save_weights(self, path)
    }
    fn layer_graph(&self) -> Result<Vec<crate::callbacks::LayerNode>> {
        ModelParts::layer_graph(self)
    }
}
