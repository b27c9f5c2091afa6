//! Choosing the engine at run time when several are compiled in.

use stratanet_frontend::{Error, Result};

/// An engine compiled into this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Hugging Face candle (pure Rust).
    #[cfg(feature = "candle")]
    Candle,
    /// libtorch through tch.
    #[cfg(feature = "tch")]
    Tch,
}

/// Every engine name stratanet knows, compiled in or not.
pub const ENGINE_NAMES: &[&str] = &["candle", "tch"];

impl Engine {
    /// The engines compiled into this build, the default first.
    pub fn available() -> Vec<Engine> {
        vec![
            #[cfg(feature = "candle")]
            Engine::Candle,
            #[cfg(feature = "tch")]
            Engine::Tch,
        ]
    }

    /// The engine of [`crate::DefaultBackend`].
    pub fn default_engine() -> Engine {
        Self::available()[0]
    }

    /// `candle` or `tch`.
    pub fn name(&self) -> &'static str {
        match *self {
            #[cfg(feature = "candle")]
            Engine::Candle => "candle",
            #[cfg(feature = "tch")]
            Engine::Tch => "tch",
        }
    }

    /// Parses `candle` / `tch` (also `libtorch`, `torch`).
    ///
    /// # Errors
    /// An unknown name, or an engine whose cargo feature is not enabled (the message says
    /// which feature to enable).
    pub fn from_name(name: &str) -> Result<Engine> {
        let canonical = match name.to_ascii_lowercase().as_str() {
            "candle" => "candle",
            "tch" | "libtorch" | "torch" => "tch",
            other => return Err(Error::unknown("backend", other, ENGINE_NAMES)),
        };
        Self::available()
            .into_iter()
            .find(|e| e.name() == canonical)
            .ok_or_else(|| {
                Error::invalid(
                    "--backend",
                    "engine",
                    format!(
                        "{canonical} is not compiled into this build; build with \
                         `--features {canonical}` (compiled in: {})",
                        Self::available()
                            .iter()
                            .map(|e| e.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
    }

    /// Reads `--backend NAME` or `--backend=NAME` from the command line; when absent, the
    /// environment variable `STRATANET_BACKEND` (`candle`, `tch`; empty means unset); else
    /// the default engine.
    ///
    /// # Errors
    /// As [`Engine::from_name`] (naming `STRATANET_BACKEND` when the name came from it), or
    /// `--backend` without a value.
    pub fn from_args() -> Result<Engine> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let flagged = args
            .iter()
            .any(|a| a == "--backend" || a.starts_with("--backend="));
        match std::env::var("STRATANET_BACKEND") {
            Ok(v) if !flagged && !v.trim().is_empty() => Self::from_name(v.trim())
                .map_err(|e| Error::invalid("STRATANET_BACKEND", "engine", e.to_string())),
            _ => Self::from_arg_list(args),
        }
    }

    /// [`Engine::from_args`] over an explicit argument list.
    ///
    /// # Errors
    /// As [`Engine::from_args`].
    pub fn from_arg_list(args: impl IntoIterator<Item = String>) -> Result<Engine> {
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            if a == "--backend" {
                let v = it.next().ok_or_else(|| {
                    Error::invalid("--backend", "value", "expected candle or tch")
                })?;
                return Self::from_name(&v);
            }
            if let Some(v) = a.strip_prefix("--backend=") {
                return Self::from_name(v);
            }
        }
        Ok(Self::default_engine())
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Sets the number of CPU threads of every compiled-in engine, so both engines compute with
/// the same parallelism.
///
/// # Errors
/// When an engine can no longer change it (candle's thread pool starts on first use: call
/// this at the start of `main`).
pub fn set_num_threads(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::invalid(
            "set_num_threads",
            "n",
            "must be at least 1, got 0",
        ));
    }
    #[cfg(feature = "candle")]
    <stratanet_candle::Candle as stratanet_frontend::backend::BackendBase>::set_num_threads(n)?;
    #[cfg(feature = "tch")]
    <stratanet_tch::Tch as stratanet_frontend::backend::BackendBase>::set_num_threads(n)?;
    Ok(())
}

/// Defines `with_engine!` for one set of compiled-in engines (each engine's `Engine`
/// variant and backend type share a name); `$d` is a literal `$`, so the generated macro
/// can declare its own fragments.
macro_rules! define_with_engine {
    ($d:tt #[$cfg:meta] $($engine:ident),+) => {
        /// Runs `$body` with the type alias `$B` bound to the engine chosen at run time.
        ///
        /// ```
        /// use stratanet::prelude::*;
        /// fn params<B: stratanet::Backend>() -> stratanet::Result<usize> {
        ///     let mut m = Sequential::<B>::new();
        ///     m.add(Input::new(&[3]))?;
        ///     m.add(Dense::new(2))?;
        ///     Ok(m.count_params().0)
        /// }
        /// # fn main() -> stratanet::Result<()> {
        /// let engine = stratanet::Engine::from_arg_list(["--backend".to_string(), "candle".to_string()])?;
        /// let n = stratanet::with_engine!(engine, B => params::<B>())?;
        /// assert_eq!(n, 8);
        /// # Ok(())
        /// # }
        /// ```
        #[$cfg]
        #[macro_export]
        macro_rules! with_engine {
            ($d engine:expr, $d B:ident => $d body:expr) => {
                match $d engine {
                    $($d crate::Engine::$engine => {
                        type $d B = $d crate::$engine;
                        $d body
                    })+
                }
            };
        }
    };
}

define_with_engine!($ #[cfg(all(feature = "candle", feature = "tch"))] Candle, Tch);
define_with_engine!($ #[cfg(all(feature = "candle", not(feature = "tch")))] Candle);
define_with_engine!($ #[cfg(all(not(feature = "candle"), feature = "tch"))] Tch);

/// The `main` of an example: picks the engine (`--backend`), the device (`--device
/// auto|cpu|cuda|cuda:N`, default auto: the GPU when the engine sees one) and the dtype
/// policy (`--policy float32|mixed_bfloat16|mixed_float16`, default the global policy) from
/// the command line, prints them, and returns `$run::<B>(args..., device)` for that engine.
///
/// ```no_run
/// fn run<B: stratanet::Backend>(seed: u64, device: stratanet::Device) -> stratanet::Result<()> {
///     println!("{seed} on {device}");
///     Ok(())
/// }
/// fn main() -> stratanet::Result<()> {
///     stratanet::run_example!(run(42))
/// }
/// ```
#[macro_export]
macro_rules! run_example {
    ($run:ident($($arg:expr),* $(,)?)) => {{
        let engine = $crate::Engine::from_args()?;
        println!("engine: {engine}");
        let policy = $crate::mixed_precision::set_global_policy_from_args()?;
        if policy.is_mixed() {
            println!("dtype policy: {policy}");
        }
        $crate::with_engine!(engine, B => {
            let device = $crate::Device::from_args::<B>()?;
            println!("device: {device}");
            $run::<B>($($arg,)* device)
        })
    }};
}

/// A training script's body, run on the engine, device and dtype policy chosen on the
/// command line, without naming an engine type: inside the body `Sequential`, `Model` and
/// `Tensor` are the engine's types (type aliases bound per engine), models are placed on
/// the chosen device (a [`Device::scope`](crate::Device::scope)), and `?` works on any
/// stratanet error. The body ends with an implicit `Ok(())`.
///
/// Flags, as every example takes them: `--backend candle|tch` (else the environment
/// variable `STRATANET_BACKEND`, else the default engine), `--device auto|cpu|cuda|cuda:N`
/// (default auto: the GPU when the engine sees one; `STRATANET_DEVICE` applies) and
/// `--policy float32|mixed_bfloat16|mixed_float16`. The choices are printed
/// (`engine: candle`, `device: cpu`).
///
/// The body is compiled once per engine in the build (a runtime switch between engine
/// types needs that; the generics stay inside the macro). For a script that never
/// switches, `Sequential::<DefaultBackend>::new()` needs no macro at all.
///
/// ```no_run
/// use stratanet::prelude::*;
///
/// fn main() -> stratanet::Result<()> {
///     stratanet::script! {
///         let (x, y) = stratanet::datasets::digits_host()?;
///         let mut model = Sequential::new()
///             .layer(Input::new(&[64]))
///             .layer(Dense::new(10).activation("softmax"));
///         model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;
///         model.fit(&x, &y, FitOptions::new().epochs(2))?;
///         println!("{}", model.evaluate(&x, &y)?);
///     }
/// }
/// ```
#[macro_export]
macro_rules! script {
    ($($body:tt)*) => {{
        let engine = $crate::Engine::from_args()?;
        println!("engine: {engine}");
        let policy = $crate::mixed_precision::set_global_policy_from_args()?;
        if policy.is_mixed() {
            println!("dtype policy: {policy}");
        }
        $crate::with_engine!(engine, ScriptEngine => {
            #[allow(dead_code)]
            type Sequential = $crate::Sequential<ScriptEngine>;
            #[allow(dead_code)]
            type Model = $crate::Model<ScriptEngine>;
            #[allow(dead_code)]
            type Tensor = $crate::Tensor<ScriptEngine>;
            let device = $crate::Device::from_args::<ScriptEngine>()?;
            println!("device: {device}");
            $crate::Device::scope(device, || -> $crate::Result<()> {
                $($body)*
                #[allow(unreachable_code)]
                Ok(())
            })
        })
    }};
}
