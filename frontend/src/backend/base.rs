//! Engine-independent dtypes, devices and host data, and the base of the backend trait.

use crate::error::Result;
use std::fmt::Debug;

/// Element type of a tensor, as the frontend sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// 32-bit float, the default for weights and activations.
    F32,
    /// 64-bit float.
    F64,
    /// 64-bit signed integer (labels, indices).
    I64,
    /// Boolean masks (results of comparisons). candle stores them as `u8`.
    Bool,
    /// bfloat16: f32's 8-bit exponent with a 7-bit mantissa (machine epsilon 2^-7).
    /// The compute type of the `mixed_bfloat16` policy.
    BF16,
    /// IEEE half precision: 5-bit exponent, 10-bit mantissa (machine epsilon 2^-10,
    /// largest finite value 65,504). The compute type of the `mixed_float16` policy.
    F16,
}

impl DType {
    /// `true` for the floating-point dtypes (`F32`, `F64`, `BF16`, `F16`).
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64 | DType::BF16 | DType::F16)
    }

    /// `true` for the 16-bit floats `BF16` and `F16`.
    pub fn is_half(self) -> bool {
        matches!(self, DType::BF16 | DType::F16)
    }

    /// Machine epsilon of a float dtype (the gap between 1 and the next value):
    /// 2^-7 for bf16, 2^-10 for f16, 2^-23 for f32, 2^-52 for f64; `None` for integers
    /// and booleans. Tolerances of 16-bit results are stated as multiples of it.
    pub fn epsilon(self) -> Option<f64> {
        match self {
            DType::BF16 => Some(f64::from(half::bf16::EPSILON)),
            DType::F16 => Some(f64::from(half::f16::EPSILON)),
            DType::F32 => Some(f64::from(f32::EPSILON)),
            DType::F64 => Some(f64::EPSILON),
            DType::I64 | DType::Bool => None,
        }
    }

    /// Lower-case name (`f32`).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::I64 => "i64",
            DType::Bool => "bool",
            DType::BF16 => "bf16",
            DType::F16 => "f16",
        }
    }

    /// Size of one element in bytes (as stored by the engines).
    pub fn size_in_bytes(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 | DType::I64 => 8,
            DType::Bool => 1,
            DType::BF16 | DType::F16 => 2,
        }
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a tensor lives, as the frontend sees it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum Device {
    /// The host CPU.
    #[default]
    Cpu,
    /// CUDA GPU with the given ordinal.
    Cuda(usize),
}

impl Device {
    /// `Cuda(0)` when engine `B` can use a CUDA device, else `Cpu`.
    ///
    /// ```
    /// use stratanet::{Device, DefaultBackend as B};
    /// let d = Device::cuda_if_available::<B>();
    /// assert!(matches!(d, Device::Cpu | Device::Cuda(0)));
    /// ```
    pub fn cuda_if_available<B: BackendBase>() -> Device {
        if B::cuda_is_available() {
            Device::Cuda(0)
        } else {
            Device::Cpu
        }
    }

    /// Whether this is a CUDA device.
    pub fn is_cuda(&self) -> bool {
        matches!(self, Device::Cuda(_))
    }

    /// The Keras placement: the first CUDA device when engine `B` can use one, else the
    /// CPU; the environment variable `STRATANET_DEVICE` (`auto`, `cpu`, `cuda` or
    /// `cuda:N`) overrides it, as in [`Device::for_engine`].
    ///
    /// This is where [`Sequential`](crate::Sequential) and the functional
    /// [`Model`](crate::model::Model) place their weights unless told otherwise (see
    /// [`Device::placement`]), and where `Sequential::load` / `Model::load` put a loaded
    /// model, whichever device it was saved from.
    ///
    /// ```
    /// use stratanet::{Device, DefaultBackend as B};
    /// let d = Device::auto::<B>()?;
    /// assert!(d == Device::Cpu || d.is_cuda());
    /// # Ok::<(), stratanet::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) naming `STRATANET_DEVICE`
    /// when it is not one of those names, or asks for a CUDA device engine `B` cannot use.
    pub fn auto<B: BackendBase>() -> crate::Result<Device> {
        match std::env::var("STRATANET_DEVICE") {
            Ok(v) if !v.trim().is_empty() => Self::resolve::<B>(&v, "STRATANET_DEVICE"),
            _ => Ok(Self::cuda_if_available::<B>()),
        }
    }

    /// The device named `name` (`auto`, `cpu`, `cuda` or `cuda:N`, as an example's
    /// `--device` flag takes it), checked against engine `B`: `auto` is
    /// [`Device::cuda_if_available`], a CUDA device must be one `B` can use.
    ///
    /// ```
    /// use stratanet::{Device, DefaultBackend as B};
    /// assert_eq!(Device::for_engine::<B>("cpu")?, Device::Cpu);
    /// assert!(Device::for_engine::<B>("tpu").is_err());
    /// # Ok::<(), stratanet::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for another name, or a
    /// CUDA device engine `B` cannot use.
    pub fn for_engine<B: BackendBase>(name: &str) -> crate::Result<Device> {
        Self::resolve::<B>(name, "device")
    }

    /// [`Device::for_engine`] with the error naming `argument` (the flag or variable the
    /// name came from, e.g. `--device` or `STRATANET_DEVICE`).
    ///
    /// # Errors
    /// As [`Device::for_engine`].
    pub fn resolve<B: BackendBase>(name: &str, argument: &str) -> crate::Result<Device> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("auto") {
            return Ok(Self::cuda_if_available::<B>());
        }
        let d = name.parse::<Device>().map_err(|_| {
            crate::Error::invalid(
                "Device",
                argument,
                format!("{name:?} is not a device (auto, cpu, cuda, cuda:N)"),
            )
        })?;
        Self::usable::<B>(d, argument, name)
    }

    /// `d` when engine `B` can place tensors on it, else an error naming `argument`.
    fn usable<B: BackendBase>(d: Device, argument: &str, name: &str) -> crate::Result<Device> {
        if d.is_cuda() && (!B::cuda_is_available() || B::device(d).is_err()) {
            let seen = if B::cuda_is_available() {
                "that device does not exist"
            } else {
                "it sees no CUDA device"
            };
            return Err(crate::Error::invalid(
                "Device",
                argument,
                format!("{name:?}: engine {} cannot use {d} ({seen})", B::NAME),
            ));
        }
        Ok(d)
    }

    /// Reads `--device NAME` or `--device=NAME` (`auto`, `cpu`, `cuda` or `cuda:N`) from the
    /// command line, as every example does; absent or `auto`, [`Device::auto`] (so
    /// `STRATANET_DEVICE` still applies).
    ///
    /// # Errors
    /// As [`Device::from_arg_list`].
    pub fn from_args<B: BackendBase>() -> crate::Result<Device> {
        Self::from_arg_list::<B>(std::env::args().skip(1))
    }

    /// [`Device::from_args`] over an explicit argument list.
    ///
    /// ```
    /// use stratanet::{Device, DefaultBackend as B};
    /// let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    /// assert_eq!(Device::from_arg_list::<B>(args(&["--device", "cpu"]))?, Device::Cpu);
    /// assert_eq!(Device::from_arg_list::<B>(args(&["--device=CPU"]))?, Device::Cpu);
    /// let e = Device::from_arg_list::<B>(args(&["--device", "tpu"])).unwrap_err();
    /// assert!(e.to_string().contains("--device"));
    /// assert!(Device::from_arg_list::<B>(args(&["--device"])).is_err());
    /// # Ok::<(), stratanet::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) naming `--device`: a flag
    /// without a value, a name that is not a device, a CUDA device engine `B` cannot use;
    /// for `auto` or no flag, the errors of [`Device::auto`].
    pub fn from_arg_list<B: BackendBase>(
        args: impl IntoIterator<Item = String>,
    ) -> crate::Result<Device> {
        let value = flag_value(args, "--device").map_err(|()| {
            crate::Error::invalid("Device", "--device", "expected auto, cpu, cuda or cuda:N")
        })?;
        match value {
            Some(v) if !v.trim().eq_ignore_ascii_case("auto") => Self::resolve::<B>(&v, "--device"),
            _ => Self::auto::<B>(),
        }
    }

    /// Runs `f` with `device` as this thread's default placement, like Keras'
    /// `with keras.device("cpu"):` block: models built, moved by rebuilding or loaded
    /// inside `f` (`Sequential::add`, `Input(...).tensor()` + `apply`, `Sequential::load`,
    /// `Model::load`) put their weights on `device` instead of [`Device::auto`]. Scopes nest
    /// (the innermost wins); the previous placement comes back when `f` returns or panics.
    /// An explicit [`Sequential::on_device`](crate::Sequential::on_device) still wins.
    ///
    /// ```
    /// use stratanet::prelude::*;
    /// # fn main() -> stratanet::Result<()> {
    /// let m = Device::scope(Device::Cpu, || -> stratanet::Result<_> {
    ///     let mut m = Sequential::<DefaultBackend>::new();
    ///     m.add(Input::new(&[3]))?;
    ///     m.add(Dense::new(2))?;
    ///     Ok(m)
    /// })?;
    /// assert!(m.weights().iter().all(|(_, w)| w.value.device() == Device::Cpu));
    /// # Ok(())
    /// # }
    /// ```
    pub fn scope<T>(device: Device, f: impl FnOnce() -> T) -> T {
        struct Restore(Option<Device>);
        impl Drop for Restore {
            fn drop(&mut self) {
                SCOPED_DEVICE.with(|c| c.set(self.0));
            }
        }
        let _restore = Restore(SCOPED_DEVICE.with(|c| c.replace(Some(device))));
        f()
    }

    /// The default placement on this thread for engine `B`: the innermost
    /// [`Device::scope`], else [`Device::auto`]. Models resolve it when their first layer is
    /// built.
    ///
    /// # Errors
    /// A scoped CUDA device engine `B` cannot use (naming `Device::scope`), or the errors of
    /// [`Device::auto`] (an invalid `STRATANET_DEVICE`).
    pub fn placement<B: BackendBase>() -> crate::Result<Device> {
        match SCOPED_DEVICE.with(|c| c.get()) {
            Some(d) => Self::usable::<B>(d, "Device::scope", &d.to_string()),
            None => Self::auto::<B>(),
        }
    }
}

thread_local! {
    /// The placement set by [`Device::scope`] on this thread.
    static SCOPED_DEVICE: std::cell::Cell<Option<Device>> = const { std::cell::Cell::new(None) };
}

impl std::str::FromStr for Device {
    type Err = crate::Error;

    /// `cpu`, `cuda` (`Cuda(0)`) or `cuda:N`, case-insensitive; no engine check (see
    /// [`Device::for_engine`]).
    fn from_str(s: &str) -> crate::Result<Device> {
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|i| i.parse::<usize>().ok())
                .map(Device::Cuda)
                .ok_or_else(|| {
                    crate::Error::invalid(
                        "Device::from_str",
                        "s",
                        format!("{s:?} is not a device (cpu, cuda, cuda:N)"),
                    )
                }),
        }
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

/// Tensor contents on the host, row-major and contiguous.
#[derive(Debug, Clone, PartialEq)]
pub enum HostData {
    /// `f32` values.
    F32(Vec<f32>),
    /// `f64` values.
    F64(Vec<f64>),
    /// `i64` values.
    I64(Vec<i64>),
    /// Booleans.
    Bool(Vec<bool>),
    /// `bf16` values.
    BF16(Vec<half::bf16>),
    /// `f16` values.
    F16(Vec<half::f16>),
}

impl HostData {
    /// The dtype of the data.
    pub fn dtype(&self) -> DType {
        match self {
            HostData::F32(_) => DType::F32,
            HostData::F64(_) => DType::F64,
            HostData::I64(_) => DType::I64,
            HostData::Bool(_) => DType::Bool,
            HostData::BF16(_) => DType::BF16,
            HostData::F16(_) => DType::F16,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            HostData::F32(v) => v.len(),
            HostData::F64(v) => v.len(),
            HostData::I64(v) => v.len(),
            HostData::Bool(v) => v.len(),
            HostData::BF16(v) => v.len(),
            HostData::F16(v) => v.len(),
        }
    }

    /// `true` when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values converted to `f64` (booleans as 0/1).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match self {
            HostData::F32(v) => v.iter().map(|&x| x as f64).collect(),
            HostData::F64(v) => v.clone(),
            HostData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            HostData::Bool(v) => v.iter().map(|&x| if x { 1.0 } else { 0.0 }).collect(),
            HostData::BF16(v) => v.iter().map(|&x| f64::from(x)).collect(),
            HostData::F16(v) => v.iter().map(|&x| f64::from(x)).collect(),
        }
    }

    /// `values` (given as `f32`) converted to `dtype`, without the detour through `f64`
    /// for the float dtypes (round to nearest for `BF16` and `F16`).
    pub fn from_f32(values: &[f32], dtype: DType) -> HostData {
        match dtype {
            DType::F32 => HostData::F32(values.to_vec()),
            DType::BF16 => {
                HostData::BF16(values.iter().map(|&x| half::bf16::from_f32(x)).collect())
            }
            DType::F16 => HostData::F16(values.iter().map(|&x| half::f16::from_f32(x)).collect()),
            other => {
                let v: Vec<f64> = values.iter().map(|&x| f64::from(x)).collect();
                HostData::from_f64(&v, other)
            }
        }
    }

    /// The values converted to `f32` (booleans as 0/1).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match self {
            HostData::F32(v) => v.clone(),
            HostData::BF16(v) => v.iter().map(|&x| f32::from(x)).collect(),
            HostData::F16(v) => v.iter().map(|&x| f32::from(x)).collect(),
            other => other.to_f64_vec().into_iter().map(|x| x as f32).collect(),
        }
    }

    /// The values converted to `i64` (floats truncated toward zero).
    pub fn to_i64_vec(&self) -> Vec<i64> {
        match self {
            HostData::I64(v) => v.clone(),
            HostData::F32(v) => v.iter().map(|&x| x as i64).collect(),
            HostData::F64(v) => v.iter().map(|&x| x as i64).collect(),
            HostData::Bool(v) => v.iter().map(|&x| x as i64).collect(),
            HostData::BF16(v) => v.iter().map(|&x| f32::from(x) as i64).collect(),
            HostData::F16(v) => v.iter().map(|&x| f32::from(x) as i64).collect(),
        }
    }

    /// `values` (given as `f64`) converted to `dtype` (to the nearest 16-bit value for
    /// `BF16` and `F16`).
    pub fn from_f64(values: &[f64], dtype: DType) -> HostData {
        match dtype {
            DType::BF16 => {
                HostData::BF16(values.iter().map(|&x| half::bf16::from_f64(x)).collect())
            }
            DType::F16 => HostData::F16(values.iter().map(|&x| half::f16::from_f64(x)).collect()),
            DType::F32 => HostData::F32(values.iter().map(|&x| x as f32).collect()),
            DType::F64 => HostData::F64(values.to_vec()),
            DType::I64 => HostData::I64(values.iter().map(|&x| x as i64).collect()),
            DType::Bool => HostData::Bool(values.iter().map(|&x| x != 0.0).collect()),
        }
    }
}

/// Types and metadata every engine provides: its tensor and device handles, dtype, shape,
/// conversions, devices and threads.
pub trait BackendBase: Copy + Clone + Debug + Default + Send + Sync + 'static {
    /// The engine's tensor handle: cheap to clone (reference-counted), dynamic dtype and shape.
    type Tensor: Clone + Debug + Send + Sync + 'static;
    /// The engine's device handle.
    type Device: Clone + Debug + Send + Sync + 'static;

    /// Engine name used in errors and saved files (`"candle"`, `"tch"`).
    const NAME: &'static str;

    /// Maps a frontend [`Device`] onto the engine's device.
    ///
    /// # Errors
    /// When the device is not available (no CUDA support compiled in, bad ordinal).
    fn device(device: Device) -> Result<Self::Device>;
    /// The frontend [`Device`] a tensor lives on.
    fn device_of(t: &Self::Tensor) -> Device;
    /// The engine device handle of a tensor (cheap; no device re-initialisation).
    fn tensor_device(t: &Self::Tensor) -> Self::Device;
    /// Whether a CUDA device is usable with this engine build.
    fn cuda_is_available() -> bool;
    /// Element type of a tensor.
    fn dtype(t: &Self::Tensor) -> DType;
    /// Dimensions of a tensor.
    fn shape(t: &Self::Tensor) -> Vec<usize>;
    /// Converts to another dtype (floats to integers truncate toward zero).
    fn to_dtype(t: &Self::Tensor, dtype: DType) -> Result<Self::Tensor>;
    /// Moves a tensor to another device.
    fn to_device(t: &Self::Tensor, device: &Self::Device) -> Result<Self::Tensor>;
    /// Sets the number of CPU threads the engine's kernels use.
    ///
    /// # Errors
    /// When the engine cannot change it any more (e.g. after its thread pool started).
    fn set_num_threads(n: usize) -> Result<()>;
    /// Number of CPU threads the engine's kernels use.
    fn num_threads() -> usize;
    /// Waits for queued work on the device to finish (a no-op on CPU).
    fn synchronize(device: &Self::Device) -> Result<()>;
}

/// The value of the first `FLAG VALUE` or `FLAG=VALUE` in `args` (the examples' flags:
/// `--device`, `--policy`): `Ok(None)` without the flag, `Err(())` for the flag last with
/// no value.
pub(crate) fn flag_value(
    args: impl IntoIterator<Item = String>,
    flag: &str,
) -> std::result::Result<Option<String>, ()> {
    let mut it = args.into_iter();
    let prefix = format!("{flag}=");
    while let Some(a) = it.next() {
        if a == flag {
            return it.next().map(Some).ok_or(());
        }
        if let Some(v) = a.strip_prefix(&prefix) {
            return Ok(Some(v.to_string()));
        }
    }
    Ok(None)
}
