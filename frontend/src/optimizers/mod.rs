//! Optimizers, following Keras 3: [`Sgd`], [`Adam`], [`AdamW`], [`RmsProp`], [`Adagrad`],
//! [`Adadelta`], [`Adamax`], [`Nadam`] and [`Lion`].
//!
//! They update parameters in place (the parameter keeps its identity, so the model sees the
//! new values) and keep their state as named tensors on the device. Every optimizer shares
//! Keras' base options ([`OptimizerOptions`]), set through the same builder methods on each
//! type:
//!
//! - a learning rate or a [schedule](schedules), evaluated at the step count;
//! - `weight_decay`: decoupled, `p -= p * weight_decay * lr` before each update;
//! - `clipnorm` (each gradient clipped to that L2 norm), `global_clipnorm` (all gradients
//!   scaled together so that their joint norm is at most that) or `clipvalue` (each
//!   element clamped to `[-v, v]`): at most one of the three;
//! - `gradient_accumulation_steps(n)`: the parameters change only every `n`-th call to
//!   [`Optimizer::apply`], with the mean of the last `n` gradients.
//!
//! Per update, in Keras' order: accumulate (or average the accumulated gradients), clip,
//! decay the weights, then the optimizer's own rule.
//!
//! ```
//! use stratanet::optimizers::{Adam, Optimizer};
//! use stratanet::schedules::CosineDecay;
//! use stratanet::{DefaultBackend as B, Tensor};
//! # fn main() -> stratanet::Result<()> {
//! let w = Tensor::<B>::from_vec(vec![1.0f32, -2.0, 0.5], &[3])?.to_param()?;
//! let mut opt = Adam::<B>::new(CosineDecay::new(0.01, 1000))
//!     .amsgrad(true)
//!     .weight_decay(0.01)
//!     .global_clipnorm(1.0);
//! for _ in 0..3 {
//!     let loss = w.square()?.sum_all()?;
//!     let grads = loss.grad(std::slice::from_ref(&w))?;
//!     opt.apply(std::slice::from_ref(&w), &grads)?;
//! }
//! assert_eq!(opt.iterations(), 3);
//! let names: Vec<String> = opt.variables().into_iter().map(|(n, _)| n).collect();
//! assert_eq!(names, ["m/0", "v/0", "vhat/0"]);
//! # Ok(())
//! # }
//! ```

pub mod schedules;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde_json::{json, Map, Value};
use std::fmt;

pub use schedules::{LearningRate, LearningRateSchedule};

/// A gradient-descent optimizer.
pub trait Optimizer<B: Backend>: Send + std::fmt::Debug {
    /// Keras name (`adam`).
    fn name(&self) -> &'static str;
    /// The learning rate the next update will use (for a schedule: its value at the
    /// current step count).
    fn learning_rate(&self) -> f64;
    /// Sets a constant learning rate (replacing any schedule), as callbacks such as
    /// `ReduceLROnPlateau` do.
    fn set_learning_rate(&mut self, lr: f64);
    /// Number of update steps applied so far (with gradient accumulation: updates, not
    /// calls to [`apply`](Self::apply), like Keras' `optimizer.iterations`).
    fn iterations(&self) -> u64;
    /// Sets the step count, when restoring a saved optimizer (bias corrections and
    /// schedules continue from there). With gradient accumulation the position inside the
    /// current accumulation cycle is kept (it is restored by
    /// [`set_variables`](Self::set_variables) from `gradient_accumulator/count`).
    fn set_iterations(&mut self, n: u64);
    /// Applies one update. `params[i]` pairs with `grads[i]` across calls (the slot order
    /// is fixed by the model); a `None` gradient leaves that parameter unchanged.
    ///
    /// # Errors
    /// When a gradient's shape differs from its parameter's, or on engine errors.
    fn apply(&mut self, params: &[Tensor<B>], grads: &[Option<Tensor<B>>]) -> Result<()>;
    /// State tensors by name (`m/3`, `v/3`: slot `m` of parameter 3), for saving.
    ///
    /// Like Keras' `optimizer.variables`, these are the live state: optimizers with a
    /// fused step (Adam, AdamW, SGD) update them in place, so a later
    /// [`apply`](Self::apply) changes their values. Copy them to keep a snapshot.
    fn variables(&self) -> Vec<(String, Tensor<B>)>;
    /// Restores state tensors saved from [`variables`](Self::variables). Slots not named
    /// keep their values; slots of a parameter not yet seen are created. The values are
    /// copied: the given tensors are never updated by later steps.
    ///
    /// ```
    /// use stratanet::optimizers::{Adam, Optimizer};
    /// use stratanet::{DefaultBackend as B, Tensor};
    /// # fn main() -> stratanet::Result<()> {
    /// let g = Tensor::<B>::from_vec(vec![0.5f32, -1.0], &[2])?;
    /// let p1 = Tensor::<B>::from_vec(vec![1.0f32, 2.0], &[2])?.to_param()?;
    /// let mut a = Adam::<B>::new(0.1);
    /// a.apply(&[p1.clone()], &[Some(g.clone())])?;
    /// // `b` continues from a copy of `a`'s state: both then take the same step.
    /// let p2 = Tensor::<B>::from_vec(p1.to_vec_f32()?, &[2])?.to_param()?;
    /// let mut b = Adam::<B>::new(0.1);
    /// b.set_variables(&a.variables())?;
    /// b.set_iterations(a.iterations());
    /// a.apply(&[p1.clone()], &[Some(g.clone())])?;
    /// b.apply(&[p2.clone()], &[Some(g)])?;
    /// assert_eq!(p1.to_vec_f32()?, p2.to_vec_f32()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] for a name this optimizer does not have (or a parameter given
    /// only some of its slots), [`Error::Shape`] when the slots of one parameter disagree
    /// in shape or differ from the current state's shape. Nothing changes on error.
    fn set_variables(&mut self, vars: &[(String, Tensor<B>)]) -> Result<()>;
    /// Hyper-parameters as JSON.
    fn get_config(&self) -> serde_json::Value;
}

pub(crate) fn check_pair<B: Backend>(op: &str, p: &Tensor<B>, g: &Tensor<B>) -> Result<()> {
    if p.shape() != g.shape() {
        return Err(Error::mismatch(
            format!("{op}: parameter and gradient"),
            &p.shape(),
            &g.shape(),
        ));
    }
    Ok(())
}

// ----------------------------------------------------------------------------- options

/// The options every optimizer shares: Keras' base-optimizer arguments.
///
/// Each optimizer type sets them with builder methods of the same names
/// (`Adam::new(lr).clipnorm(1.0)`), or all at once with `with_options`.
///
/// ```
/// use stratanet::optimizers::{OptimizerOptions, Optimizer, RmsProp};
/// use stratanet::DefaultBackend as B;
///
/// let mut shared = OptimizerOptions::new(0.01);
/// shared.clipvalue = Some(0.5);
/// shared.gradient_accumulation_steps = Some(4);
/// let opt = RmsProp::<B>::new(0.0).with_options(shared);
/// assert_eq!(opt.learning_rate(), 0.01);
/// assert_eq!(opt.get_config()["gradient_accumulation_steps"], 4);
/// ```
#[derive(Clone, Debug)]
pub struct OptimizerOptions {
    /// Constant rate or schedule.
    pub learning_rate: LearningRate,
    /// Decoupled weight decay: `p -= p * weight_decay * lr` before each update.
    pub weight_decay: Option<f64>,
    /// Clip each gradient to this L2 norm: `g * clipnorm / max(|g|, clipnorm)`.
    pub clipnorm: Option<f64>,
    /// Clamp each gradient element to `[-clipvalue, clipvalue]`.
    pub clipvalue: Option<f64>,
    /// Scale all gradients by `min(1, global_clipnorm / global_norm)`, where the global
    /// norm is the L2 norm of all gradients together.
    pub global_clipnorm: Option<f64>,
    /// Update only every `n`-th call (`n >= 2`), with the mean of the last `n` gradients.
    pub gradient_accumulation_steps: Option<u64>,
}

impl OptimizerOptions {
    /// The given rate and no weight decay, clipping or accumulation.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Self {
            learning_rate: learning_rate.into(),
            weight_decay: None,
            clipnorm: None,
            clipvalue: None,
            global_clipnorm: None,
            gradient_accumulation_steps: None,
        }
    }

    /// Checks the values as Keras does (one clipping option at most, accumulation over at
    /// least 2 steps, non-negative factors).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the optimizer and the option.
    pub fn validate(&self, op: &str) -> Result<()> {
        self.learning_rate.validate(op)?;
        for (arg, v) in [
            ("weight_decay", self.weight_decay),
            ("clipnorm", self.clipnorm),
            ("clipvalue", self.clipvalue),
            ("global_clipnorm", self.global_clipnorm),
        ] {
            if let Some(v) = v {
                if !v.is_finite() || v < 0.0 {
                    return Err(Error::invalid(
                        op,
                        arg,
                        format!("must be a finite number >= 0, got {v}"),
                    ));
                }
            }
        }
        let clips = [self.clipnorm, self.clipvalue, self.global_clipnorm]
            .iter()
            .filter(|c| c.is_some())
            .count();
        if clips > 1 {
            return Err(Error::invalid(
                op,
                "clipnorm",
                format!(
                    "only one of clipnorm, clipvalue and global_clipnorm can be set, got \
                     clipnorm={:?}, clipvalue={:?}, global_clipnorm={:?}",
                    self.clipnorm, self.clipvalue, self.global_clipnorm
                ),
            ));
        }
        if let Some(n) = self.gradient_accumulation_steps {
            if n < 2 {
                return Err(Error::invalid(
                    op,
                    "gradient_accumulation_steps",
                    format!("must be an integer >= 2, got {n}"),
                ));
            }
        }
        Ok(())
    }

    fn config(&self, map: &mut Map<String, Value>) {
        map.insert("learning_rate".into(), self.learning_rate.get_config());
        map.insert("weight_decay".into(), json!(self.weight_decay));
        map.insert("clipnorm".into(), json!(self.clipnorm));
        map.insert("clipvalue".into(), json!(self.clipvalue));
        map.insert("global_clipnorm".into(), json!(self.global_clipnorm));
        map.insert(
            "gradient_accumulation_steps".into(),
            json!(self.gradient_accumulation_steps),
        );
    }
}

// ----------------------------------------------------------------------------- rules

/// One optimizer's own update rule; the shared machinery (accumulation, clipping, weight
/// decay, state bookkeeping) lives in [`Core`].
pub(crate) trait Rule: Send + fmt::Debug {
    /// Keras name.
    fn name(&self) -> &'static str;
    /// Checks the rule's hyper-parameters.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    /// The state slots kept per parameter, with their initial fill value, in order.
    fn slots(&self) -> Vec<(&'static str, f64)>;
    /// Called once per update before the per-parameter updates, with the 1-based step.
    fn begin_step(&mut self, _step: u64) {}
    /// The new value of a parameter `w` (already weight-decayed) given its gradient `g`
    /// (already averaged and clipped) and its slots (in [`slots`](Self::slots) order,
    /// updated in place), at 1-based step `step`.
    fn update<B: Backend>(
        &self,
        w: &Tensor<B>,
        g: &Tensor<B>,
        slots: &mut [Tensor<B>],
        lr: f64,
        step: u64,
    ) -> Result<Tensor<B>>;
    /// Updates the parameter `p` in place: decoupled weight decay by the factor `decay`
    /// (`1 - lr * weight_decay`, or `None`), then [`update`](Self::update). Rules with a
    /// fused engine step ([`OptimOps`](crate::backend::OptimOps)) override this and update
    /// their slots in place; the default computes new values and assigns them.
    fn step<B: Backend>(
        &self,
        p: &Tensor<B>,
        g: &Tensor<B>,
        slots: &mut [Tensor<B>],
        lr: f64,
        step: u64,
        decay: Option<f64>,
    ) -> Result<()> {
        let mut w = p.detach();
        if let Some(k) = decay {
            w = w.affine(k, 0.0)?;
        }
        let result = self.update(&w, g, slots, lr, step)?;
        p.assign(&result)
    }
    /// The rule's hyper-parameters for `get_config`.
    fn config(&self, map: &mut Map<String, Value>);
}

const ACCUMULATOR: &str = "gradient_accumulator";

/// The state and update loop every optimizer shares: a [`Rule`], the
/// [`OptimizerOptions`], the step counter, per-parameter slots and gradient accumulators.
#[derive(Debug)]
pub(crate) struct Core<B: Backend, R: Rule> {
    pub(crate) rule: R,
    pub(crate) options: OptimizerOptions,
    /// Calls to `apply` (Keras' raw `_iterations`).
    calls: u64,
    /// `state[i]`: the slots of parameter `i`, once it has had a gradient.
    state: Vec<Option<Vec<Tensor<B>>>>,
    /// Gradient sums of the current accumulation cycle.
    accum: Vec<Option<Tensor<B>>>,
}

impl<B: Backend, R: Rule> Core<B, R> {
    pub(crate) fn new(rule: R, learning_rate: LearningRate) -> Self {
        Self {
            rule,
            options: OptimizerOptions {
                learning_rate,
                ..OptimizerOptions::new(0.0)
            },
            calls: 0,
            state: Vec::new(),
            accum: Vec::new(),
        }
    }

    fn accumulation(&self) -> u64 {
        self.options.gradient_accumulation_steps.unwrap_or(1).max(1)
    }

    pub(crate) fn iterations(&self) -> u64 {
        self.calls / self.accumulation()
    }

    pub(crate) fn set_iterations(&mut self, n: u64) {
        let k = self.accumulation();
        self.calls = n * k + self.calls % k;
    }

    /// Keras evaluates a schedule at the raw call count (`optimizer._iterations`), which
    /// equals the update count without accumulation.
    pub(crate) fn learning_rate(&self) -> f64 {
        self.options.learning_rate.at(self.calls)
    }

    pub(crate) fn set_learning_rate(&mut self, lr: f64) {
        self.options.learning_rate = LearningRate::Constant(lr);
    }

    pub(crate) fn get_config(&self) -> Value {
        let mut map = Map::new();
        map.insert("name".into(), json!(self.rule.name()));
        self.options.config(&mut map);
        self.rule.config(&mut map);
        Value::Object(map)
    }

    pub(crate) fn variables(&self) -> Vec<(String, Tensor<B>)> {
        let kinds = self.rule.slots();
        let mut out = Vec::new();
        for (i, slots) in self.state.iter().enumerate() {
            if let Some(slots) = slots {
                for ((kind, _), t) in kinds.iter().zip(slots) {
                    out.push((format!("{kind}/{i}"), t.clone()));
                }
            }
        }
        if self.options.gradient_accumulation_steps.is_some() {
            let mut any = None;
            for (i, a) in self.accum.iter().enumerate() {
                if let Some(a) = a {
                    out.push((format!("{ACCUMULATOR}/{i}"), a.clone()));
                    any = Some(a);
                }
            }
            let count = (self.calls % self.accumulation()) as f64;
            if let Some(c) = any.and_then(|a| a.scalar_like(count).ok()) {
                out.push((format!("{ACCUMULATOR}/count"), c));
            }
        }
        out
    }

    pub(crate) fn set_variables(&mut self, vars: &[(String, Tensor<B>)]) -> Result<()> {
        let name = self.rule.name();
        let kinds = self.rule.slots();
        let accumulating = self.options.gradient_accumulation_steps.is_some();
        let mut expected: Vec<String> = kinds.iter().map(|(k, _)| format!("{k}/<i>")).collect();
        if accumulating {
            expected.push(format!("{ACCUMULATOR}/<i>"));
            expected.push(format!("{ACCUMULATOR}/count"));
        }
        let context = format!("{name} optimizer state");
        let unknown = |var: &str| {
            Error::config(
                context.clone(),
                format!(
                    "unknown variable '{var}'; this optimizer has {}",
                    expected.join(", ")
                ),
            )
        };
        // index -> one tensor per slot kind
        let mut slots: std::collections::BTreeMap<usize, Vec<Option<Tensor<B>>>> =
            Default::default();
        let mut accum: Vec<(usize, Tensor<B>)> = Vec::new();
        let mut count = None;
        for (var, t) in vars {
            let (kind, idx) = var.rsplit_once('/').ok_or_else(|| unknown(var))?;
            if accumulating && kind == ACCUMULATOR && idx == "count" {
                let c = t.item()?;
                let k = self.accumulation();
                if !(c >= 0.0 && c < k as f64 && c.fract() == 0.0) {
                    return Err(Error::config(
                        context.clone(),
                        format!("{var} must be an integer in 0..{k}, got {c}"),
                    ));
                }
                count = Some(c as u64);
                continue;
            }
            let i: usize = idx.parse().map_err(|_| unknown(var))?;
            if accumulating && kind == ACCUMULATOR {
                if let Some(Some(a)) = self.accum.get(i) {
                    if a.shape() != t.shape() {
                        return Err(Error::shape(
                            name,
                            format!("optimizer variable {var}"),
                            format!("shape {:?} (the current accumulator's)", a.shape()),
                            &t.shape(),
                        ));
                    }
                }
                accum.push((i, Tensor::new(B::copy(t.inner())?)));
                continue;
            }
            let k = kinds
                .iter()
                .position(|(n, _)| *n == kind)
                .ok_or_else(|| unknown(var))?;
            slots.entry(i).or_insert_with(|| vec![None; kinds.len()])[k] =
                Some(Tensor::new(B::copy(t.inner())?));
        }
        let mut restored = Vec::new();
        for (i, group) in slots {
            let mut shape: Option<(String, Vec<usize>)> = self
                .state
                .get(i)
                .and_then(|s| s.as_ref())
                .and_then(|s| s.first())
                .map(|t| ("the current state's".to_string(), t.shape()));
            let mut full = Vec::with_capacity(kinds.len());
            for ((kind, _), t) in kinds.iter().zip(group) {
                let Some(t) = t else {
                    return Err(Error::config(
                        context.clone(),
                        format!(
                            "missing variable {kind}/{i} (every slot of a parameter must be given)"
                        ),
                    ));
                };
                match &shape {
                    Some((what, s)) if *s != t.shape() => {
                        return Err(Error::shape(
                            name,
                            format!("optimizer variable {kind}/{i}"),
                            format!("shape {s:?} ({what})"),
                            &t.shape(),
                        ));
                    }
                    Some(_) => {}
                    None => shape = Some((format!("as {kind}/{i}"), t.shape())),
                }
                full.push(t);
            }
            restored.push((i, full));
        }
        // Everything checked: commit.
        for (i, full) in restored {
            if self.state.len() <= i {
                self.state.resize(i + 1, None);
            }
            self.state[i] = Some(full);
        }
        for (i, a) in accum {
            if self.accum.len() <= i {
                self.accum.resize(i + 1, None);
            }
            self.accum[i] = Some(a);
        }
        if let Some(c) = count {
            let k = self.accumulation();
            self.calls = self.calls / k * k + c;
        }
        Ok(())
    }

    /// Clips the gradients as configured (on the device: no host reads).
    fn clip(&self, grads: &mut [(usize, Tensor<B>)]) -> Result<()> {
        let o = &self.options;
        if let Some(c) = o.clipnorm.filter(|&c| c > 0.0) {
            for (_, g) in grads.iter_mut() {
                // g * c / max(|g|, c)
                let norm = g.square()?.sum_all()?.sqrt()?;
                let denom = norm.maximum(&norm.scalar_like(c)?)?;
                *g = g.mul_scalar(c)?.div(&denom)?;
            }
        } else if let Some(c) = o.global_clipnorm.filter(|&c| c > 0.0) {
            let Some(dtype) = grads.first().map(|(_, g)| g.dtype()) else {
                return Ok(());
            };
            let mut total: Option<Tensor<B>> = None;
            for (_, g) in grads.iter() {
                let s = g.square()?.sum_all()?.to_dtype(dtype)?;
                total = Some(match total {
                    Some(t) => t.add(&s)?,
                    None => s,
                });
            }
            let norm = total.expect("at least one gradient").sqrt()?;
            // Keras: c * min(1 / norm, 1 / c), plus (norm - norm) so that an infinite or
            // NaN norm gives NaN rather than silently zeroing the gradients.
            let scale = norm
                .recip()?
                .minimum(&norm.scalar_like(1.0 / c)?)?
                .mul_scalar(c)?
                .add(&norm.sub(&norm)?)?;
            for (_, g) in grads.iter_mut() {
                let s = if g.dtype() == dtype {
                    scale.clone()
                } else {
                    scale.to_dtype(g.dtype())?
                };
                *g = g.mul(&s)?;
            }
        } else if let Some(v) = o.clipvalue.filter(|&v| v > 0.0) {
            for (_, g) in grads.iter_mut() {
                *g = g.clamp(-v, v)?;
            }
        }
        Ok(())
    }

    pub(crate) fn apply(
        &mut self,
        params: &[Tensor<B>],
        grads: &[Option<Tensor<B>>],
    ) -> Result<()> {
        let name = self.rule.name();
        if params.len() != grads.len() {
            return Err(Error::invalid(
                name,
                "grads",
                format!("{} gradients for {} parameters", grads.len(), params.len()),
            ));
        }
        self.options.validate(name)?;
        self.rule.validate()?;
        let kinds = self.rule.slots();
        // Check everything before changing anything.
        let mut present: Vec<(usize, Tensor<B>)> = Vec::with_capacity(params.len());
        for (i, (p, g)) in params.iter().zip(grads).enumerate() {
            let Some(g) = g else { continue };
            check_pair(name, p, g)?;
            if let Some(Some(slots)) = self.state.get(i) {
                for ((kind, _), s) in kinds.iter().zip(slots) {
                    if s.shape() != p.shape() {
                        return Err(Error::mismatch(
                            format!("{name}: parameter {i} and its optimizer slot {kind}/{i}"),
                            &p.shape(),
                            &s.shape(),
                        ));
                    }
                }
            }
            if let Some(Some(a)) = self.accum.get(i) {
                if a.shape() != p.shape() {
                    return Err(Error::mismatch(
                        format!("{name}: parameter {i} and its {ACCUMULATOR}/{i}"),
                        &p.shape(),
                        &a.shape(),
                    ));
                }
            }
            let g = g.detach();
            let g = if g.dtype() == p.dtype() {
                g
            } else {
                g.to_dtype(p.dtype())?
            };
            present.push((i, g));
        }
        if self.state.len() < params.len() {
            self.state.resize(params.len(), None);
        }

        if let Some(k) = self.options.gradient_accumulation_steps {
            if self.accum.len() < params.len() {
                self.accum.resize(params.len(), None);
            }
            if (self.calls + 1) % k != 0 {
                // Not an update step: only accumulate.
                for (i, g) in present {
                    self.accum[i] = Some(match &self.accum[i] {
                        Some(a) => a.add(&g)?,
                        None => g,
                    });
                }
                self.calls += 1;
                return Ok(());
            }
            // Update step: the mean of this cycle's gradients; reset the accumulators.
            for (i, g) in present.iter_mut() {
                if let Some(a) = &self.accum[*i] {
                    *g = g.add(a)?;
                }
                *g = g.mul_scalar(1.0 / k as f64)?;
            }
            for a in self.accum.iter_mut().flatten() {
                *a = a.zeros_like()?;
            }
            for (i, g) in &present {
                if self.accum[*i].is_none() {
                    self.accum[*i] = Some(g.zeros_like()?);
                }
            }
        }

        self.clip(&mut present)?;
        let lr = self.learning_rate();
        let step = self.iterations() + 1;
        self.rule.begin_step(step);
        let decay = self.options.weight_decay.filter(|&wd| wd != 0.0);
        for (i, g) in present {
            let p = &params[i];
            let mut slots = match self.state[i].take() {
                Some(s) => s,
                None => kinds
                    .iter()
                    .map(|&(_, init)| {
                        if init == 0.0 {
                            g.zeros_like()
                        } else {
                            g.zeros_like()?.add_scalar(init)
                        }
                    })
                    .collect::<Result<Vec<_>>>()?,
            };
            let result = self
                .rule
                .step(p, &g, &mut slots, lr, step, decay.map(|wd| 1.0 - lr * wd));
            self.state[i] = Some(slots);
            result?;
        }
        self.calls += 1;
        Ok(())
    }
}

/// Generates, for an optimizer type with a `core: Core<B, Rule>` field, the builder
/// methods of the shared options, the `Optimizer` impl and the `IntoOptimizer` impl.
macro_rules! optimizer_common {
    ($ty:ident) => {
        impl<B: $crate::backend::Backend> $ty<B> {
            /// Decoupled weight decay: `p -= p * weight_decay * lr` before each update
            /// (Keras' `weight_decay`).
            pub fn weight_decay(mut self, weight_decay: f64) -> Self {
                self.core.options.weight_decay = Some(weight_decay);
                self
            }
            /// Clips each gradient to this L2 norm before the update (Keras' `clipnorm`).
            pub fn clipnorm(mut self, clipnorm: f64) -> Self {
                self.core.options.clipnorm = Some(clipnorm);
                self
            }
            /// Clamps each gradient element to `[-clipvalue, clipvalue]` (Keras'
            /// `clipvalue`).
            pub fn clipvalue(mut self, clipvalue: f64) -> Self {
                self.core.options.clipvalue = Some(clipvalue);
                self
            }
            /// Scales all gradients together so that their joint L2 norm is at most this
            /// (Keras' `global_clipnorm`).
            pub fn global_clipnorm(mut self, global_clipnorm: f64) -> Self {
                self.core.options.global_clipnorm = Some(global_clipnorm);
                self
            }
            /// Updates only every `steps`-th call to `apply` (`steps >= 2`), with the mean
            /// of the gradients since the last update (Keras'
            /// `gradient_accumulation_steps`).
            pub fn gradient_accumulation_steps(mut self, steps: u64) -> Self {
                self.core.options.gradient_accumulation_steps = Some(steps);
                self
            }
            /// Replaces all shared options (rate, weight decay, clipping, accumulation).
            pub fn with_options(mut self, options: $crate::optimizers::OptimizerOptions) -> Self {
                self.core.options = options;
                self
            }
            /// The shared options.
            pub fn options(&self) -> &$crate::optimizers::OptimizerOptions {
                &self.core.options
            }
        }

        impl<B: $crate::backend::Backend> $crate::optimizers::Optimizer<B> for $ty<B> {
            fn name(&self) -> &'static str {
                $crate::optimizers::Rule::name(&self.core.rule)
            }
            fn learning_rate(&self) -> f64 {
                self.core.learning_rate()
            }
            fn set_learning_rate(&mut self, lr: f64) {
                self.core.set_learning_rate(lr)
            }
            fn iterations(&self) -> u64 {
                self.core.iterations()
            }
            fn set_iterations(&mut self, n: u64) {
                self.core.set_iterations(n)
            }
            fn apply(
                &mut self,
                params: &[$crate::tensor::Tensor<B>],
                grads: &[Option<$crate::tensor::Tensor<B>>],
            ) -> $crate::error::Result<()> {
                self.core.apply(params, grads)
            }
            fn variables(&self) -> Vec<(String, $crate::tensor::Tensor<B>)> {
                self.core.variables()
            }
            fn set_variables(
                &mut self,
                vars: &[(String, $crate::tensor::Tensor<B>)],
            ) -> $crate::error::Result<()> {
                self.core.set_variables(vars)
            }
            fn get_config(&self) -> serde_json::Value {
                self.core.get_config()
            }
        }

        impl<B: $crate::backend::Backend> $crate::optimizers::IntoOptimizer<B> for $ty<B> {
            fn into_optimizer(
                self,
            ) -> $crate::error::Result<Box<dyn $crate::optimizers::Optimizer<B>>> {
                Ok(Box::new(self))
            }
        }
    };
}

mod adadelta;
mod adagrad;
mod adam;
mod adamax;
mod adamw;
mod config;
mod lion;
mod nadam;
mod rmsprop;
mod sgd;

pub use adadelta::Adadelta;
pub use adagrad::Adagrad;
pub use adam::Adam;
pub use adamax::Adamax;
pub use adamw::AdamW;
pub use config::{from_config, learning_rate_from_config};
pub use lion::Lion;
pub use nadam::Nadam;
pub use rmsprop::RmsProp;
pub use sgd::Sgd;

/// Known optimizer names.
pub const OPTIMIZER_NAMES: &[&str] = &[
    "sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "lion",
];

/// An optimizer by Keras name with Keras' defaults (`sgd`: lr 0.01; all others lr 0.001;
/// `adamw`: weight decay 0.004).
///
/// ```
/// use stratanet::optimizers::{self, Optimizer};
/// use stratanet::DefaultBackend as B;
/// let opt = optimizers::get::<B>("rmsprop")?;
/// assert_eq!(opt.get_config()["rho"], 0.9);
/// # Ok::<(), stratanet::Error>(())
/// ```
///
/// # Errors
/// [`Error::UnknownName`].
pub fn get<B: Backend>(name: &str) -> Result<Box<dyn Optimizer<B>>> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "sgd" => Box::new(Sgd::new(0.01)),
        "adam" => Box::new(Adam::new(0.001)),
        "adamw" => Box::new(AdamW::new(0.001)),
        "rmsprop" => Box::new(RmsProp::new(0.001)),
        "adagrad" => Box::new(Adagrad::new(0.001)),
        "adadelta" => Box::new(Adadelta::new(0.001)),
        "adamax" => Box::new(Adamax::new(0.001)),
        "nadam" => Box::new(Nadam::new(0.001)),
        "lion" => Box::new(Lion::new(0.001)),
        other => return Err(Error::unknown("optimizer", other, OPTIMIZER_NAMES)),
    })
}

/// Anything `compile` accepts as an optimizer: a name, a boxed optimizer or any optimizer
/// type.
pub trait IntoOptimizer<B: Backend> {
    /// Resolves into a boxed optimizer.
    ///
    /// # Errors
    /// For unknown names.
    fn into_optimizer(self) -> Result<Box<dyn Optimizer<B>>>;
}

impl<B: Backend> IntoOptimizer<B> for &str {
    fn into_optimizer(self) -> Result<Box<dyn Optimizer<B>>> {
        get(self)
    }
}
impl<B: Backend> IntoOptimizer<B> for Box<dyn Optimizer<B>> {
    fn into_optimizer(self) -> Result<Box<dyn Optimizer<B>>> {
        Ok(self)
    }
}
