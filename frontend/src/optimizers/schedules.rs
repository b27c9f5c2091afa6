//! Learning-rate schedules, as in `keras.optimizers.schedules`.
//!
//! A schedule maps the optimizer's step count to a learning rate. Every optimizer accepts a
//! schedule wherever it accepts a rate (through [`LearningRate`]), evaluates it at its step
//! count before each update (as Keras does) and reports the current value through
//! [`Optimizer::learning_rate`](super::Optimizer::learning_rate).
//!
//! ```
//! use stratanet::optimizers::{Adam, Optimizer};
//! use stratanet::schedules::{ExponentialDecay, LearningRateSchedule};
//! use stratanet::DefaultBackend as B;
//!
//! let schedule = ExponentialDecay::new(0.1, 1000, 0.96);
//! assert_eq!(schedule.at(0), 0.1);
//! assert!((schedule.at(2000) - 0.1 * 0.96f64.powi(2)).abs() < 1e-15);
//!
//! let opt = Adam::<B>::new(schedule);
//! assert_eq!(opt.learning_rate(), 0.1); // the schedule at step 0
//! ```
//!
//! All schedules compute in `f64` on the host: a rate is a scalar and reading it never
//! touches the device.

use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::f64::consts::PI;
use std::fmt;
use std::sync::Arc;

/// A learning rate as a function of the optimizer's step count (Keras'
/// `LearningRateSchedule`).
///
/// Implement it for your own schedule, or wrap a closure in [`FnSchedule`].
///
/// ```
/// use stratanet::schedules::LearningRateSchedule;
///
/// /// `lr / (step + 1)`.
/// #[derive(Debug)]
/// struct InverseStep(f64);
///
/// impl LearningRateSchedule for InverseStep {
///     fn at(&self, step: u64) -> f64 {
///         self.0 / (step as f64 + 1.0)
///     }
///     fn get_config(&self) -> serde_json::Value {
///         serde_json::json!({"class_name": "InverseStep", "config": {"lr": self.0}})
///     }
/// }
/// assert_eq!(InverseStep(1.0).at(3), 0.25);
/// ```
pub trait LearningRateSchedule: Send + Sync + fmt::Debug {
    /// The learning rate at `step` (the number of steps taken before this one).
    fn at(&self, step: u64) -> f64;
    /// The schedule as Keras serialises it: `{"class_name": ..., "config": {...}}`.
    fn get_config(&self) -> Value;
    /// Checks the hyper-parameters; optimizers call it before their first update so that
    /// a bad schedule is an error rather than a NaN rate.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the schedule and the argument.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// A constant learning rate or a schedule: what optimizer constructors accept (`0.01`, a
/// schedule, or an `Arc<dyn LearningRateSchedule>` shared between optimizers).
///
/// ```
/// use stratanet::schedules::{CosineDecay, LearningRate};
///
/// let constant: LearningRate = 0.01.into();
/// assert_eq!(constant.at(500), 0.01);
/// let cosine: LearningRate = CosineDecay::new(0.1, 100).into();
/// assert!((cosine.at(50) - 0.05).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub enum LearningRate {
    /// The same rate at every step.
    Constant(f64),
    /// A rate that depends on the step count.
    Schedule(Arc<dyn LearningRateSchedule>),
}

impl LearningRate {
    /// The rate at `step`.
    pub fn at(&self, step: u64) -> f64 {
        match self {
            LearningRate::Constant(lr) => *lr,
            LearningRate::Schedule(s) => s.at(step),
        }
    }

    /// Whether this is a schedule (rather than a constant).
    pub fn is_schedule(&self) -> bool {
        matches!(self, LearningRate::Schedule(_))
    }

    /// The JSON form in an optimizer's config: a number, or the schedule's config.
    pub fn get_config(&self) -> Value {
        match self {
            LearningRate::Constant(lr) => json!(lr),
            LearningRate::Schedule(s) => s.get_config(),
        }
    }

    /// Checks a constant is finite and non-negative, or validates the schedule.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`].
    pub fn validate(&self, op: &str) -> Result<()> {
        match self {
            LearningRate::Constant(lr) if !lr.is_finite() || *lr < 0.0 => Err(Error::invalid(
                op,
                "learning_rate",
                format!("must be a finite number >= 0, got {lr}"),
            )),
            LearningRate::Constant(_) => Ok(()),
            LearningRate::Schedule(s) => s.validate(),
        }
    }
}

impl From<f64> for LearningRate {
    fn from(lr: f64) -> Self {
        LearningRate::Constant(lr)
    }
}

impl<S: LearningRateSchedule + 'static> From<S> for LearningRate {
    fn from(s: S) -> Self {
        LearningRate::Schedule(Arc::new(s))
    }
}

impl From<Arc<dyn LearningRateSchedule>> for LearningRate {
    fn from(s: Arc<dyn LearningRateSchedule>) -> Self {
        LearningRate::Schedule(s)
    }
}

/// Declares a schedule: the struct (serialized under Keras' field names), `new` with the
/// required arguments, one builder setter per optional field (`field: Type = default`),
/// fields without a setter after a `;`, and the [`LearningRateSchedule`] impl, whose
/// `get_config` is the struct under its class name, around the given `at` (and
/// `validate`, or one generated by `checks field;` that requires that step count > 0).
macro_rules! schedule {
    (
        $(#[$meta:meta])*
        pub struct $ty:ident {
            $(checks $steps:ident;)?
            $(#[$new_doc:meta])*
            new($($arg:ident: $aty:ty),*);
            $($(#[$doc:meta])* $field:ident: $fty:ty = $default:expr,)*
            $(; $($hidden:ident: $hty:ty = $hdefault:expr),*)?
        }
        $($items:tt)*
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, serde::Serialize)]
        pub struct $ty {
            $($arg: $aty,)*
            $($field: $fty,)*
            $($($hidden: $hty,)*)?
        }

        impl $ty {
            $(#[$new_doc])*
            pub fn new($($arg: $aty),*) -> Self {
                Self {
                    $($arg,)*
                    $($field: $default,)*
                    $($($hidden: $hdefault,)*)?
                }
            }
            $(
                $(#[$doc])*
                pub fn $field(mut self, $field: $fty) -> Self {
                    self.$field = $field;
                    self
                }
            )*
        }

        impl LearningRateSchedule for $ty {
            fn get_config(&self) -> Value {
                json!({"class_name": stringify!($ty), "config": self})
            }
            $(
                fn validate(&self) -> Result<()> {
                    check_steps(stringify!($ty), stringify!($steps), self.$steps)
                }
            )?
            $($items)*
        }
    };
}

/// `step / decay_steps`, floored with `staircase`.
fn progress(step: u64, decay_steps: u64, staircase: bool) -> f64 {
    let p = step as f64 / decay_steps as f64;
    if staircase {
        p.floor()
    } else {
        p
    }
}

fn check_steps(schedule: &str, arg: &str, steps: u64) -> Result<()> {
    if steps == 0 {
        return Err(Error::invalid(schedule, arg, "must be > 0, got 0"));
    }
    Ok(())
}

// ----------------------------------------------------------------------------- exponential

schedule! {
    /// `initial_learning_rate * decay_rate ^ (step / decay_steps)`, with the exponent floored
    /// when `staircase` is set (Keras' `ExponentialDecay`).
    ///
    /// ```
    /// use stratanet::schedules::{ExponentialDecay, LearningRateSchedule};
    /// let s = ExponentialDecay::new(0.1, 10, 0.5).staircase(true);
    /// assert_eq!(s.at(9), 0.1);
    /// assert_eq!(s.at(10), 0.05);
    /// ```
    pub struct ExponentialDecay {
        checks decay_steps;
        /// Decays by `decay_rate` every `decay_steps` steps (continuously unless
        /// [`staircase`](Self::staircase)).
        new(initial_learning_rate: f64, decay_steps: u64, decay_rate: f64);
        /// Decay in discrete steps (floor of `step / decay_steps`).
        staircase: bool = false,
    }
    fn at(&self, step: u64) -> f64 {
        let p = progress(step, self.decay_steps, self.staircase);
        self.initial_learning_rate * self.decay_rate.powf(p)
    }
}

// ----------------------------------------------------------------------------- inverse time

schedule! {
    /// `initial_learning_rate / (1 + decay_rate * step / decay_steps)`, with the ratio floored
    /// when `staircase` is set (Keras' `InverseTimeDecay`).
    ///
    /// ```
    /// use stratanet::schedules::{InverseTimeDecay, LearningRateSchedule};
    /// let s = InverseTimeDecay::new(0.1, 10, 0.5);
    /// assert!((s.at(20) - 0.05).abs() < 1e-15);
    /// ```
    pub struct InverseTimeDecay {
        checks decay_steps;
        /// Inverse-time decay with rate `decay_rate` per `decay_steps` steps.
        new(initial_learning_rate: f64, decay_steps: u64, decay_rate: f64);
        /// Decay in discrete steps (floor of `step / decay_steps`).
        staircase: bool = false,
    }
    fn at(&self, step: u64) -> f64 {
        let p = progress(step, self.decay_steps, self.staircase);
        self.initial_learning_rate / (1.0 + self.decay_rate * p)
    }
}

// ----------------------------------------------------------------------------- piecewise

schedule! {
    /// A constant per interval of steps (Keras' `PiecewiseConstantDecay`): `values[0]` while
    /// `step <= boundaries[0]`, `values[i]` while `boundaries[i-1] < step <= boundaries[i]`,
    /// and the last value after the last boundary. Needs one more value than boundaries.
    ///
    /// ```
    /// use stratanet::schedules::{LearningRateSchedule, PiecewiseConstantDecay};
    /// let s = PiecewiseConstantDecay::new(vec![100, 200], vec![1.0, 0.5, 0.1]);
    /// assert_eq!((s.at(100), s.at(101), s.at(200), s.at(201)), (1.0, 0.5, 0.5, 0.1));
    /// ```
    pub struct PiecewiseConstantDecay {
        /// Constant `values` between increasing `boundaries` (`values.len()` must be
        /// `boundaries.len() + 1`; checked by [`validate`](LearningRateSchedule::validate)).
        new(boundaries: Vec<u64>, values: Vec<f64>);
    }
    fn at(&self, step: u64) -> f64 {
        let i = self.boundaries.iter().take_while(|&&b| step > b).count();
        self.values
            .get(i)
            .or(self.values.last())
            .copied()
            .unwrap_or(f64::NAN)
    }
    fn validate(&self) -> Result<()> {
        if self.values.len() != self.boundaries.len() + 1 {
            return Err(Error::invalid(
                "PiecewiseConstantDecay",
                "values",
                format!(
                    "needs one more value than boundaries, got {} boundaries and {} values",
                    self.boundaries.len(),
                    self.values.len()
                ),
            ));
        }
        if self.boundaries.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::invalid(
                "PiecewiseConstantDecay",
                "boundaries",
                format!("must increase strictly, got {:?}", self.boundaries),
            ));
        }
        Ok(())
    }
}

// ----------------------------------------------------------------------------- polynomial

schedule! {
    /// Polynomial decay from `initial_learning_rate` to `end_learning_rate` over
    /// `decay_steps` (Keras' `PolynomialDecay`, defaults `end_learning_rate` 1e-4, `power` 1):
    ///
    /// ```text
    /// s = min(step, decay_steps)                   (or, with cycle, decay_steps is multiplied
    /// (initial - end) * (1 - s / decay_steps)^power + end      by ceil(step / decay_steps))
    /// ```
    ///
    /// ```
    /// use stratanet::schedules::{LearningRateSchedule, PolynomialDecay};
    /// let s = PolynomialDecay::new(1.0, 10).end_learning_rate(0.0).power(2.0);
    /// assert!((s.at(5) - 0.25).abs() < 1e-15);
    /// assert_eq!(s.at(50), 0.0);
    /// ```
    pub struct PolynomialDecay {
        checks decay_steps;
        /// Linear decay to `1e-4` over `decay_steps` (set `power` and `end_learning_rate` to
        /// change it).
        new(initial_learning_rate: f64, decay_steps: u64);
        /// The final rate (default 1e-4).
        end_learning_rate: f64 = 1e-4,
        /// The polynomial's power (default 1: linear).
        power: f64 = 1.0,
        /// Restart the decay after `decay_steps`, over ever longer periods (Keras' `cycle`).
        cycle: bool = false,
    }
    fn at(&self, step: u64) -> f64 {
        let mut s = step as f64;
        let mut decay_steps = self.decay_steps as f64;
        if self.cycle {
            let multiplier = if step == 0 {
                1.0
            } else {
                (s / decay_steps).ceil()
            };
            decay_steps *= multiplier;
        } else {
            s = s.min(decay_steps);
        }
        let p = s / decay_steps;
        (self.initial_learning_rate - self.end_learning_rate) * (1.0 - p).powf(self.power)
            + self.end_learning_rate
    }
}

// ----------------------------------------------------------------------------- cosine

schedule! {
    /// Cosine decay with optional linear warmup (Keras' `CosineDecay`).
    ///
    /// Without a warmup target: `lr(s) = initial * ((1 - alpha) * 0.5 * (1 + cos(pi * s /
    /// decay_steps)) + alpha)` with `s = min(step, decay_steps)`. With
    /// [`warmup`](Self::warmup)`(target, warmup_steps)`: the rate rises linearly from
    /// `initial` to `target` over `warmup_steps` steps, then decays from `target` by the
    /// formula above over the next `decay_steps` steps.
    ///
    /// ```
    /// use stratanet::schedules::{CosineDecay, LearningRateSchedule};
    /// let s = CosineDecay::new(0.0, 100).warmup(0.1, 10);
    /// assert!((s.at(5) - 0.05).abs() < 1e-15); // halfway through the warmup
    /// assert!((s.at(10) - 0.1).abs() < 1e-15); // the peak
    /// assert!(s.at(110).abs() < 1e-15);        // fully decayed (alpha = 0)
    /// ```
    pub struct CosineDecay {
        checks decay_steps;
        /// Cosine decay from `initial_learning_rate` to `alpha * initial_learning_rate` over
        /// `decay_steps` steps.
        new(initial_learning_rate: f64, decay_steps: u64);
        /// The final rate as a fraction of the decay's starting rate (default 0).
        alpha: f64 = 0.0,
        ; warmup_target: Option<f64> = None, warmup_steps: u64 = 0
    }
    fn at(&self, step: u64) -> f64 {
        let decay_steps = self.decay_steps as f64;
        let s = step as f64;
        match self.warmup_target {
            None => self.decay(s.min(decay_steps), self.initial_learning_rate),
            Some(target) => {
                let warmup_steps = self.warmup_steps as f64;
                let s = s.min(decay_steps + warmup_steps);
                if s < warmup_steps {
                    (target - self.initial_learning_rate) * (s / warmup_steps)
                        + self.initial_learning_rate
                } else {
                    self.decay(s - warmup_steps, target)
                }
            }
        }
    }
}

impl CosineDecay {
    /// A linear warmup from `initial_learning_rate` to `target` over `steps` steps before
    /// the decay (Keras' `warmup_target` and `warmup_steps`).
    pub fn warmup(mut self, target: f64, steps: u64) -> Self {
        self.warmup_target = Some(target);
        self.warmup_steps = steps;
        self
    }

    fn decay(&self, step: f64, from: f64) -> f64 {
        let fraction = step / self.decay_steps as f64;
        let cosine = 0.5 * (1.0 + (PI * fraction).cos());
        from * ((1.0 - self.alpha) * cosine + self.alpha)
    }
}

// ----------------------------------------------------------------------------- SGDR

schedule! {
    /// Cosine decay with warm restarts, SGDR (Keras' `CosineDecayRestarts`; defaults `t_mul`
    /// 2, `m_mul` 1, `alpha` 0): the first period lasts `first_decay_steps` steps, each next
    /// period `t_mul` times longer and starting from `m_mul` times the previous peak.
    ///
    /// ```
    /// use stratanet::schedules::{CosineDecayRestarts, LearningRateSchedule};
    /// let s = CosineDecayRestarts::new(1.0, 10).t_mul(2.0).m_mul(0.5);
    /// assert_eq!(s.at(0), 1.0);
    /// assert!((s.at(5) - 0.5).abs() < 1e-12);   // halfway through the first period
    /// assert!((s.at(10) - 0.5).abs() < 1e-12);  // restart at half the peak
    /// assert!((s.at(30) - 0.25).abs() < 1e-12); // second restart (period 20)
    /// ```
    pub struct CosineDecayRestarts {
        /// Restarts every `first_decay_steps * t_mul^i` steps.
        new(initial_learning_rate: f64, first_decay_steps: u64);
        /// Growth factor of the period length (default 2).
        t_mul: f64 = 2.0,
        /// Factor on the peak rate at each restart (default 1).
        m_mul: f64 = 1.0,
        /// The minimum rate as a fraction of the initial rate (default 0).
        alpha: f64 = 0.0,
    }
    fn at(&self, step: u64) -> f64 {
        let mut fraction = step as f64 / self.first_decay_steps as f64;
        let t_mul = self.t_mul;
        let i_restart = if t_mul == 1.0 {
            let i = fraction.floor();
            fraction -= i;
            i
        } else {
            // Keras' closed form for the period index, corrected by one where rounding
            // puts a step that starts a period at the end of the previous one.
            let start = |i: f64| (1.0 - t_mul.powf(i)) / (1.0 - t_mul);
            let mut i = ((1.0 - fraction * (1.0 - t_mul)).ln() / t_mul.ln()).floor();
            if start(i + 1.0) <= fraction {
                i += 1.0;
            } else if i > 0.0 && start(i) > fraction {
                i -= 1.0;
            }
            let sum_r = start(i);
            fraction = (fraction - sum_r) / t_mul.powf(i);
            i
        };
        let m_fac = self.m_mul.powf(i_restart);
        let cosine = 0.5 * m_fac * (1.0 + (PI * fraction).cos());
        self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)
    }
    fn validate(&self) -> Result<()> {
        check_steps(
            "CosineDecayRestarts",
            "first_decay_steps",
            self.first_decay_steps,
        )?;
        if self.t_mul.is_nan() || self.t_mul <= 0.0 {
            return Err(Error::invalid(
                "CosineDecayRestarts",
                "t_mul",
                format!("must be > 0, got {}", self.t_mul),
            ));
        }
        Ok(())
    }
}

// ----------------------------------------------------------------------------- closures

/// A schedule from a closure `step -> learning rate` (Keras accepts a callable).
///
/// ```
/// use stratanet::optimizers::{Optimizer, Sgd};
/// use stratanet::schedules::{FnSchedule, LearningRateSchedule};
/// use stratanet::DefaultBackend as B;
///
/// let warmup = FnSchedule::new(|step| 0.1 * ((step + 1) as f64 / 100.0).min(1.0));
/// assert!((warmup.at(49) - 0.05).abs() < 1e-15);
/// let opt = Sgd::<B>::new(warmup);
/// assert!((opt.learning_rate() - 0.001).abs() < 1e-15);
/// ```
#[derive(Clone)]
pub struct FnSchedule {
    f: Arc<dyn Fn(u64) -> f64 + Send + Sync>,
    name: String,
}

impl FnSchedule {
    /// Wraps `f`.
    pub fn new(f: impl Fn(u64) -> f64 + Send + Sync + 'static) -> Self {
        Self {
            f: Arc::new(f),
            name: "FnSchedule".into(),
        }
    }
    /// A name for its config and `Debug` output (default `FnSchedule`).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

impl fmt::Debug for FnSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FnSchedule({})", self.name)
    }
}

impl LearningRateSchedule for FnSchedule {
    fn at(&self, step: u64) -> f64 {
        (self.f)(step)
    }
    /// A closure cannot be serialised: the config names it only.
    fn get_config(&self) -> Value {
        json!({"class_name": "FnSchedule", "config": {"name": self.name}})
    }
}
