//! The one error type of stratanet.
//!
//! Every fallible operation returns [`Result<T>`]. Messages name the layer (or operation),
//! the argument and the shapes involved, e.g.
//! `dense: input expected last dimension 64, got shape [32, 10]`.

use std::fmt;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Boxed error from an engine (candle, libtorch), kept as `source`.
pub type EngineError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Shapes printed as `[32, 10]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeList(pub Vec<usize>);

impl fmt::Display for ShapeList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// Everything that can go wrong in stratanet.
///
/// The enum is `#[non_exhaustive]`: match the variants you care about and keep a `_` arm.
///
/// `Debug` prints the same message as `Display` (plus the engine's error chain), so a
/// `main` that returns `stratanet::Result<()>` reports errors readably.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input or weight whose shape does not fit a layer or operation.
    #[error("{layer}: {argument} expected {expected}, got shape {got}")]
    Shape {
        /// Layer or operation name (`dense_1`, `matmul`).
        layer: String,
        /// Which argument (`input`, `y_true`, `kernel`).
        argument: String,
        /// What was expected, in words (`last dimension 64`).
        expected: String,
        /// The shape received.
        got: ShapeList,
    },
    /// Two tensors whose shapes are incompatible for a binary operation.
    #[error("{op}: incompatible shapes {lhs} and {rhs}{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    ShapeMismatch {
        /// The operation (`add`, `matmul`, `fit`).
        op: String,
        /// Left-hand shape.
        lhs: ShapeList,
        /// Right-hand shape.
        rhs: ShapeList,
        /// Optional explanation.
        detail: Option<String>,
    },
    /// A tensor of the wrong dtype.
    #[error("{op}: {argument} expected dtype {expected}, got {got}")]
    DType {
        /// The operation.
        op: String,
        /// Which argument.
        argument: String,
        /// Expected dtype(s), in words.
        expected: String,
        /// The dtype received.
        got: String,
    },
    /// An argument value outside its valid range (`batch_size` of 0, a rate above 1, ...).
    #[error("{context}: invalid {argument}: {message}")]
    InvalidArgument {
        /// Function or layer name.
        context: String,
        /// The argument.
        argument: String,
        /// What is wrong with it.
        message: String,
    },
    /// An unknown name for an activation, loss, metric, optimizer, initializer or layer.
    #[error("unknown {kind} '{name}'; known: {}", known.join(", "))]
    UnknownName {
        /// What kind of thing (`activation`).
        kind: String,
        /// The name given.
        name: String,
        /// The names that are known.
        known: Vec<String>,
    },
    /// A model used before `compile` (or before it could be built).
    #[error("{op}: the model must be {needed} first ({hint})")]
    NotReady {
        /// The call (`fit`).
        op: String,
        /// What is missing (`compiled`, `built`).
        needed: String,
        /// How to fix it.
        hint: String,
    },
    /// A class label outside `[0, num_classes)`.
    #[error("{context}: label {label} out of range for {num_classes} classes (labels must be in 0..{num_classes})")]
    LabelOutOfRange {
        /// The loss or metric.
        context: String,
        /// The offending label.
        label: i64,
        /// Number of classes (last dimension of the prediction).
        num_classes: usize,
    },
    /// A malformed configuration, file or dataset.
    #[error("{path}: {message}")]
    Config {
        /// Where (file path, config key, `file:line:column`).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// An error from the engine, with the operation that raised it.
    #[error("{engine} engine error in {op}: {source}")]
    Backend {
        /// `candle` or `tch`.
        engine: &'static str,
        /// The operation.
        op: String,
        /// The engine's own error.
        #[source]
        source: EngineError,
    },
    /// A collective operation of data-parallel training failed: a peer process died or
    /// hangs (the operation timed out), or the transport reported an error.
    #[error("distributed {op} on rank {rank} of {size}: {message}")]
    Distributed {
        /// The collective (`all_reduce_sum`, `broadcast`, `barrier`, `init`).
        op: String,
        /// This process' rank.
        rank: usize,
        /// Number of processes.
        size: usize,
        /// What went wrong.
        message: String,
    },
    /// An I/O error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A JSON (de)serialisation error.
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")?;
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            write!(f, "\n  caused by: {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

impl Error {
    /// Shorthand for [`Error::Shape`].
    pub fn shape(
        layer: impl Into<String>,
        argument: impl Into<String>,
        expected: impl Into<String>,
        got: &[usize],
    ) -> Self {
        Error::Shape {
            layer: layer.into(),
            argument: argument.into(),
            expected: expected.into(),
            got: ShapeList(got.to_vec()),
        }
    }

    /// Shorthand for [`Error::ShapeMismatch`].
    pub fn mismatch(op: impl Into<String>, lhs: &[usize], rhs: &[usize]) -> Self {
        Error::ShapeMismatch {
            op: op.into(),
            lhs: ShapeList(lhs.to_vec()),
            rhs: ShapeList(rhs.to_vec()),
            detail: None,
        }
    }

    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(
        context: impl Into<String>,
        argument: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::InvalidArgument {
            context: context.into(),
            argument: argument.into(),
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::UnknownName`].
    pub fn unknown(kind: impl Into<String>, name: impl Into<String>, known: &[&str]) -> Self {
        Error::UnknownName {
            kind: kind.into(),
            name: name.into(),
            known: known.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Shorthand for [`Error::Distributed`].
    pub fn distributed(
        op: impl Into<String>,
        rank: usize,
        size: usize,
        message: impl Into<String>,
    ) -> Self {
        Error::Distributed {
            op: op.into(),
            rank,
            size,
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::Config`].
    pub fn config(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Names the call `op` (`Table::read_csv`, `load_weights`) in a file, I/O or JSON
    /// error, whose message otherwise names only the file: `Config` and `Io` messages get
    /// the prefix `op: `, and a JSON error becomes a `Config` error of `op`. Other errors,
    /// which already name their layer or call, are returned unchanged.
    pub fn in_call(self, op: &str) -> Self {
        match self {
            Error::Config { path, message } => Error::Config {
                path: format!("{op}: {path}"),
                message,
            },
            Error::Io(e) => Error::Io(std::io::Error::new(e.kind(), format!("{op}: {e}"))),
            Error::Json(e) => Error::config(op, format!("malformed JSON: {e}")),
            other => other,
        }
    }

    /// Wraps an engine error with the engine and operation names.
    pub fn backend(
        engine: &'static str,
        op: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Backend {
            engine,
            op: op.into(),
            source: Box::new(source),
        }
    }
}

thread_local! {
    /// The stratanet error behind the last failed field deserialization, if any (so that an
    /// unknown activation name in a config stays an [`Error::UnknownName`], not a serde
    /// message).
    static FIELD_ERROR: std::cell::RefCell<Option<Error>> = const { std::cell::RefCell::new(None) };
}

/// Turns a stratanet error met while deserializing a config field (an initializer,
/// activation or regularizer) into a serde error, keeping the original for the config
/// reader to return through [`take_field_error`].
pub(crate) fn field_error<E: serde::de::Error>(e: Error) -> E {
    let message = e.to_string();
    FIELD_ERROR.with(|slot| *slot.borrow_mut() = Some(e));
    E::custom(message)
}

/// Takes the error kept by the last [`field_error`] on this thread, if any.
pub(crate) fn take_field_error() -> Option<Error> {
    FIELD_ERROR.with(|slot| slot.borrow_mut().take())
}
