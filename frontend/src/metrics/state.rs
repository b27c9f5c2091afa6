//! Device-side running sums shared by the streaming metrics.

use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A running elementwise sum kept on the device in `f64` (detached, so no autograd graph is
/// kept alive). Only [`Sums::read`] copies it to the host.
#[derive(Debug)]
pub(crate) struct Sums<B: Backend> {
    total: Option<Tensor<B>>,
}

impl<B: Backend> Sums<B> {
    pub(crate) fn new() -> Self {
        Self { total: None }
    }

    /// Adds `value` (any shape, fixed across calls).
    pub(crate) fn add(&mut self, value: &Tensor<B>) -> Result<()> {
        let v = value.detach().to_dtype(DType::F64)?;
        self.total = Some(match &self.total {
            Some(t) => t.add(&v)?,
            None => v,
        });
        Ok(())
    }

    /// The sums on the host, `None` before the first update.
    pub(crate) fn read(&self) -> Result<Option<Vec<f64>>> {
        self.total.as_ref().map(|t| t.to_vec_f64()).transpose()
    }

    pub(crate) fn reset(&mut self) {
        self.total = None;
    }
}

/// `a / b`, 0 when `b == 0` (Keras' `divide_no_nan`).
pub(crate) fn div0(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

pub(crate) use crate::losses::align as align_to;

/// `y_pred` detached as `[batch, columns]` (a `[batch]` one gains an axis) and `y_true`
/// brought to it, in its dtype.
///
/// # Errors
/// [`Error::Shape`] naming `metric` when the targets do not fit, or the predictions are not
/// of rank 1 or 2 (`expected` describes them).
pub(crate) fn columns<B: Backend>(
    metric: &str,
    y_true: &Tensor<B>,
    y_pred: &Tensor<B>,
    expected: &str,
) -> Result<(Tensor<B>, Tensor<B>)> {
    let mut p = y_pred.detach();
    if p.rank() == 1 {
        p = p.unsqueeze(-1)?;
    }
    let y = align_to(metric, &y_true.detach(), &p)?;
    if p.rank() != 2 {
        return Err(Error::shape(
            metric,
            "y_pred",
            expected.to_string(),
            &p.shape(),
        ));
    }
    Ok((y, p))
}

/// Flattens to `[numel]`.
pub(crate) fn flat<B: Backend>(t: &Tensor<B>) -> Result<Tensor<B>> {
    t.reshape_to(&[t.numel()])
}

/// Declares a metric's hyper-parameters once: the public `…Config` struct (serde derives,
/// Keras' field names, its `name` first, `Default` with Keras' defaults) and, on the metric
/// type holding it as `config`, one builder setter per field (a field `Option<T>` gets a
/// setter taking `T`; `field as "key"` saves it under Keras' `key`), `named`, `config`,
/// `with_config` (the `state` fields start as given), with `new(field: Type, ..);` a
/// constructor taking those fields, and with `impl Default;` the `Default` impl. `metric_identity!()` inside the `Metric` impl
/// then reads the name and the config from it.
macro_rules! metric_config {
    (
        $(#[$meta:meta])*
        pub struct $config:ident($name:literal) for $ty:ident { $($fields:tt)* }
        state { $($state:ident: $init:expr),* $(,)? }
        $(new($($arg:ident: $aty:ty),*);)?
        $(impl $default:ident;)?
    ) => {
        metric_config!(@struct $(#[$meta])* $config($name) { $($fields)* });

        $(
            impl<B: Backend> $default for $ty<B> {
                fn default() -> Self {
                    Self::with_config($config::default())
                }
            }
        )?

        impl<B: Backend> $ty<B> {
            $(
                /// With these hyper-parameters and Keras' defaults for the others.
                pub fn new($($arg: $aty),*) -> Self {
                    Self::with_config($config {
                        $($arg,)*
                        ..Default::default()
                    })
                }
            )?
            /// With the hyper-parameters `config` and an empty state.
            pub fn with_config(config: $config) -> Self {
                Self {
                    config,
                    $($state: $init,)*
                }
            }
            metric_config!(@setters $($fields)*);
            /// Renames it.
            pub fn named(mut self, name: &str) -> Self {
                self.config.name = name.into();
                self
            }
            /// The hyper-parameters.
            pub fn config(&self) -> &$config {
                &self.config
            }
        }
    };
    (
        @struct $(#[$meta:meta])* $config:ident($name:literal) {
            $($(#[$doc:meta])* $field:ident $(as $key:literal)?: $fty:ty = $default:expr,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default)]
        pub struct $config {
            /// The name shown in logs.
            pub name: String,
            $($(#[$doc])* $(#[serde(rename = $key)])? pub $field: $fty,)*
        }

        impl Default for $config {
            fn default() -> Self {
                Self {
                    name: $name.into(),
                    $($field: $default,)*
                }
            }
        }
    };
    (@setters) => {};
    (
        @setters $(#[$doc:meta])* $field:ident $(as $key:literal)?: Option<$fty:ty> = $default:expr,
        $($rest:tt)*
    ) => {
        $(#[$doc])*
        pub fn $field(mut self, $field: $fty) -> Self {
            self.config.$field = Some($field);
            self
        }
        metric_config!(@setters $($rest)*);
    };
    (
        @setters $(#[$doc:meta])* $field:ident $(as $key:literal)?: $fty:ty = $default:expr,
        $($rest:tt)*
    ) => {
        $(#[$doc])*
        pub fn $field(mut self, $field: $fty) -> Self {
            self.config.$field = $field;
            self
        }
        metric_config!(@setters $($rest)*);
    };
}

/// `Metric::name` and `Metric::get_config` of a metric declared with [`metric_config!`].
macro_rules! metric_identity {
    () => {
        fn name(&self) -> &str {
            &self.config.name
        }
        fn get_config(&self) -> serde_json::Value {
            serde_json::to_value(&self.config).unwrap_or_default()
        }
    };
}
