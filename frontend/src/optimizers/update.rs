//! The update loop every optimizer shares: the [`Rule`] trait (one optimizer's own
//! formula) and [`Core`] (gradient accumulation, clipping, weight decay, the step counter
//! and the per-parameter state, saved and restored as named variables).

use super::{LearningRate, OptimizerOptions};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::fmt;

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

/// `Ok` when `ok`, else [`Error::InvalidArgument`] for the hyper-parameter `arg` of
/// optimizer `name`: it "must be `rule`, got `value`".
pub(crate) fn require(ok: bool, name: &str, arg: &str, rule: &str, value: f64) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            name,
            arg,
            format!("must be {rule}, got {value}"),
        ))
    }
}

/// One update of one parameter, as [`Rule::update`] receives it.
pub(crate) struct Update<'a, B: Backend> {
    /// The parameter, updated in place (it keeps its identity).
    pub(crate) p: &'a Tensor<B>,
    /// Its gradient, already averaged and clipped.
    pub(crate) g: &'a Tensor<B>,
    /// Its slots, in [`Rule::slots`] order, updated in place.
    pub(crate) slots: &'a mut [Tensor<B>],
    /// The learning rate of this step.
    pub(crate) lr: f64,
    /// The 1-based step.
    pub(crate) step: u64,
    /// Decoupled weight decay as the factor `1 - lr * weight_decay`, or `None`.
    pub(crate) decay: Option<f64>,
}

impl<B: Backend> Update<'_, B> {
    /// The parameter's value after the weight decay, detached: the `w` of the formulas
    /// that compute the new value (and [`assign`](Tensor::assign) it to `p`).
    pub(crate) fn decayed(&self) -> Result<Tensor<B>> {
        let w = self.p.detach();
        match self.decay {
            Some(k) => w.affine(k, 0.0),
            None => Ok(w),
        }
    }
}

/// One optimizer's own update rule, its hyper-parameters serialized as its `get_config`
/// fields; the shared machinery (accumulation, clipping, weight decay, state bookkeeping)
/// lives in [`Core`].
pub(crate) trait Rule: Send + fmt::Debug + Serialize {
    /// Checks the rule's hyper-parameters; `name` is the optimizer's Keras name.
    fn validate(&self, _name: &str) -> Result<()> {
        Ok(())
    }
    /// The state slots kept per parameter, with their initial fill value, in order.
    fn slots(&self) -> Vec<(&'static str, f64)>;
    /// Called once per update before the per-parameter updates, with the 1-based step.
    fn begin_step(&mut self, _step: u64) {}
    /// The formula, written once: updates `u.p` (decoupled weight decay by `u.decay`
    /// first) and its slots in place, either through a fused engine step
    /// ([`OptimOps`](crate::backend::OptimOps)) or by computing the new value from
    /// [`Update::decayed`] and assigning it.
    fn update<B: Backend>(&self, u: Update<'_, B>) -> Result<()>;
}

const ACCUMULATOR: &str = "gradient_accumulator";

/// The state and update loop every optimizer shares: a [`Rule`], the
/// [`OptimizerOptions`], the step counter, per-parameter slots and gradient accumulators.
#[derive(Debug)]
pub(crate) struct Core<B: Backend, R: Rule> {
    /// The optimizer's Keras name (`adam`).
    pub(crate) name: &'static str,
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
    pub(crate) fn new(name: &'static str, rule: R, learning_rate: LearningRate) -> Self {
        Self {
            name,
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
        map.insert("name".into(), json!(self.name));
        self.options.config(&mut map);
        super::hyper::write_config(&self.rule, &mut map);
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
        let name = self.name;
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
        let name = self.name;
        if params.len() != grads.len() {
            return Err(Error::invalid(
                name,
                "grads",
                format!("{} gradients for {} parameters", grads.len(), params.len()),
            ));
        }
        self.options.validate(name)?;
        self.rule.validate(name)?;
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
            let result = self.rule.update(Update {
                p,
                g: &g,
                slots: &mut slots,
                lr,
                step,
                decay: decay.map(|wd| 1.0 - lr * wd),
            });
            self.state[i] = Some(slots);
            result?;
        }
        self.calls += 1;
        Ok(())
    }
}
