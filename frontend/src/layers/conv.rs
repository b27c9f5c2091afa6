//! Convolution layers: `Conv1D`, `Conv2D`, `Conv2DTranspose`, `DepthwiseConv2D`,
//! `SeparableConv2D`.
//!
//! Inputs follow Keras' `channels_last` default (`[N, L, C]`, `[N, H, W, C]`); kernels are
//! stored in Keras' layout (`[kh, kw, in / groups, filters]` for `Conv2D`), so weights
//! converted from Keras load as they are. The engines convolve channels-first, so `call`
//! permutes the input to `[N, C, H, W]` and the result back as views, and permutes the
//! kernel (a copy of the weights, which are small). Bias and elementwise activations run
//! on the contiguous `[N, C, H, W]` result, so a channels-last output is a permuted view of
//! it: the next convolution or pooling permutes it back to a contiguous tensor for free,
//! and only a layer that needs channels-last storage (a `Flatten`, say) copies it once. With `data_format("channels_first")`
//! the activations are not permuted at all. 1-D layers run the 2-D kernels on a height-1
//! image (a reshape, no copy).
//!
//! `padding("same")` follows TensorFlow/Keras: `out = ceil(in / stride)`, and when the total
//! padding is odd the extra entry goes at the end.

use super::{cfg_name, BuildContext, CallContext, Layer, Weight};
use crate::activations::{Activation, ActivationSpec};
use crate::backend::{Backend, Conv2dParams};
use crate::error::{Error, Result};
use crate::initializers::Initializer;
use crate::regularizers::Regularizer;
use crate::tensor::Tensor;
use serde_json::json;

/// A window size, stride or dilation: one integer for every axis or one per axis
/// (`3`, `[3, 3]` or `(3, 3)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size2(pub [usize; 2]);

impl From<usize> for Size2 {
    fn from(v: usize) -> Self {
        Size2([v, v])
    }
}
impl From<[usize; 2]> for Size2 {
    fn from(v: [usize; 2]) -> Self {
        Size2(v)
    }
}
impl From<(usize, usize)> for Size2 {
    fn from(v: (usize, usize)) -> Self {
        Size2([v.0, v.1])
    }
}

// ------------------------------------------------------------------------ shared helpers

/// Output length and `(before, after)` padding of a windowed op along one axis.
///
/// `mode` is `valid`, `same` (TensorFlow: extra pad at the end) or `causal` (all before).
/// `None` when the (padded) input is shorter than the window.
pub(crate) fn window_axis(
    len: usize,
    window: usize,
    stride: usize,
    dilation: usize,
    mode: &str,
) -> Option<(usize, (usize, usize))> {
    // Checked throughout: sizes may come from a file (a zero window or stride, or sizes
    // whose products overflow, give `None`, reported as an error by the callers).
    if stride == 0 {
        return None;
    }
    let k = window
        .checked_sub(1)?
        .checked_mul(dilation)?
        .checked_add(1)?;
    match mode {
        "same" => {
            let out = len.div_ceil(stride);
            let total = ((out.max(1) - 1).checked_mul(stride)?.checked_add(k)?).saturating_sub(len);
            if len == 0 {
                return None;
            }
            Some((out, (total / 2, total - total / 2)))
        }
        "causal" => {
            let padded = len.checked_add(k - 1)?;
            Some(((padded - k) / stride + 1, (k - 1, 0)))
        }
        _ => {
            if len < k {
                return None;
            }
            Some(((len - k) / stride + 1, (0, 0)))
        }
    }
}

/// Reads a size that may be one integer or a list of `n` integers, each in
/// `1..=`[`crate::limits::MAX_DIM`].
pub(crate) fn cfg_sizes(
    config: &serde_json::Value,
    layer: &str,
    key: &str,
    n: usize,
) -> Result<Option<Vec<usize>>> {
    cfg_sizes_min(config, layer, key, n, 1)
}

/// [`cfg_sizes`] with entries in `min..=`[`crate::limits::MAX_DIM`].
pub(crate) fn cfg_sizes_min(
    config: &serde_json::Value,
    layer: &str,
    key: &str,
    n: usize,
    min: usize,
) -> Result<Option<Vec<usize>>> {
    let Some(v) = config.get(key) else {
        return Ok(None);
    };
    if v.is_null() {
        return Ok(None);
    }
    let label = super::cfg_label(config, layer);
    if !v.is_array() {
        let i = crate::limits::size_value(v, &label, key, min)?;
        return Ok(Some(vec![i; n]));
    }
    let list: Vec<usize> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| crate::limits::size_value(x, &label, key, min))
        .collect::<Result<_>>()?;
    if list.len() != n {
        return Err(Error::config(
            format!("{layer}.{key}"),
            format!("expected {n} integers, got {}", list.len()),
        ));
    }
    Ok(Some(list))
}

/// Reads an optional string field.
pub(crate) fn cfg_str(config: &serde_json::Value, key: &str) -> Option<String> {
    config.get(key).and_then(|v| v.as_str()).map(str::to_string)
}

/// Checks a `data_format` name.
pub(crate) fn check_data_format(layer: &str, data_format: &str) -> Result<()> {
    if data_format != "channels_last" && data_format != "channels_first" {
        return Err(Error::invalid(
            layer,
            "data_format",
            format!("must be \"channels_last\" or \"channels_first\", got {data_format:?}"),
        ));
    }
    Ok(())
}

/// Error for a layer that is called before it was built.
pub(crate) fn not_built(name: &str) -> Error {
    Error::NotReady {
        op: format!("{name}.call"),
        needed: "built".into(),
        hint: "add it to a model with a known input shape, or call build".into(),
    }
}

/// Records `reg(y)` as an activity penalty in `ctx`.
pub(crate) fn record_activity<B: Backend>(
    reg: &Option<Regularizer>,
    y: &Tensor<B>,
    ctx: &mut CallContext,
) -> Result<()> {
    if let Some(r) = reg {
        ctx.add_activity_loss(r.penalty(y)?);
    }
    Ok(())
}

/// Sum of the penalties of the given (regulariser, weight) pairs.
pub(crate) fn weight_penalties<B: Backend>(
    pairs: &[(&Option<Regularizer>, &Option<Tensor<B>>)],
) -> Result<Option<Tensor<B>>> {
    let mut total: Option<Tensor<B>> = None;
    for (reg, w) in pairs {
        if let (Some(r), Some(w)) = (reg, w) {
            let p = r.penalty(w)?;
            total = Some(match total {
                Some(t) => t.add(&p)?,
                None => p,
            });
        }
    }
    Ok(total)
}

fn regularizer_config(r: &Option<Regularizer>) -> serde_json::Value {
    r.map(|r| r.to_config()).unwrap_or(serde_json::Value::Null)
}

fn push_weight<B: Backend>(w: &mut Vec<Weight<B>>, name: &str, t: &Option<Tensor<B>>, tr: bool) {
    if let Some(t) = t {
        w.push(Weight {
            name: name.into(),
            value: t.clone(),
            trainable: tr,
        });
    }
}

/// `(before, after)` padding for height and width.
pub(crate) type Pads2 = [(usize, usize); 2];

/// The spatial hyper-parameters shared by the convolution layers, and the layout
/// conversions between Keras' data formats and the engines' `[N, C, H, W]`.
///
/// Rank-1 layers keep a unit height axis internally (`kernel[0] == 1`).
#[derive(Debug, Clone)]
pub(crate) struct Spatial {
    pub(crate) rank: usize,
    pub(crate) kernel: [usize; 2],
    pub(crate) strides: [usize; 2],
    pub(crate) dilation: [usize; 2],
    pub(crate) padding: String,
    pub(crate) data_format: String,
}

impl Spatial {
    pub(crate) fn new(rank: usize, kernel: Size2) -> Self {
        let mut s = Self {
            rank,
            kernel: [1, 1],
            strides: [1, 1],
            dilation: [1, 1],
            padding: "valid".into(),
            data_format: "channels_last".into(),
        };
        s.kernel = s.norm(kernel);
        s
    }

    /// A size for this rank (rank 1 uses the last entry).
    pub(crate) fn norm(&self, s: Size2) -> [usize; 2] {
        if self.rank == 1 {
            [1, s.0[1]]
        } else {
            s.0
        }
    }

    fn axes(&self, v: [usize; 2]) -> Vec<usize> {
        v[2 - self.rank..].to_vec()
    }

    pub(crate) fn channels_last(&self) -> bool {
        self.data_format == "channels_last"
    }

    pub(crate) fn validate(&self, layer: &str, causal_ok: bool) -> Result<()> {
        let p = self.padding.as_str();
        if !(p == "valid" || p == "same" || (causal_ok && p == "causal")) {
            let allowed = if causal_ok {
                "\"valid\", \"same\" or \"causal\""
            } else {
                "\"valid\" or \"same\""
            };
            return Err(Error::invalid(
                layer,
                "padding",
                format!("must be {allowed}, got {p:?}"),
            ));
        }
        check_data_format(layer, &self.data_format)?;
        for (arg, v) in [
            ("kernel_size", self.kernel),
            ("strides", self.strides),
            ("dilation_rate", self.dilation),
        ] {
            if v.contains(&0) {
                return Err(Error::invalid(
                    layer,
                    arg,
                    format!("must be positive, got {:?}", self.axes(v)),
                ));
            }
        }
        if (self.strides[0] > 1 || self.strides[1] > 1)
            && (self.dilation[0] > 1 || self.dilation[1] > 1)
        {
            return Err(Error::invalid(
                layer,
                "strides",
                "strides > 1 are not supported together with dilation_rate > 1 (as in Keras)",
            ));
        }
        Ok(())
    }

    /// Describes the expected per-sample input for error messages.
    pub(crate) fn expected(&self, channels: Option<usize>) -> String {
        let sp = if self.rank == 1 {
            "steps"
        } else {
            "height, width"
        };
        let layout = if self.channels_last() {
            format!("[batch, {sp}, channels]")
        } else {
            format!("[batch, channels, {sp}]")
        };
        match channels {
            Some(c) => format!("rank {} {layout} with {c} channels", self.rank + 2),
            None => format!("rank {} {layout}", self.rank + 2),
        }
    }

    /// Splits a per-sample shape into spatial `[h, w]` (h = 1 for rank 1) and channels.
    pub(crate) fn split(
        &self,
        layer: &str,
        shape: &[usize],
        channels: Option<usize>,
    ) -> Result<([usize; 2], usize)> {
        let bad = || {
            let mut got = vec![0usize];
            got.extend_from_slice(shape);
            let exp = self.expected(channels);
            // Shapes in messages include a batch placeholder only in `call`; here the
            // per-sample shape is reported as is.
            Error::shape(layer, "input", exp, &got[1..])
        };
        if shape.len() != self.rank + 1 {
            return Err(bad());
        }
        let (c, sp) = if self.channels_last() {
            (shape[self.rank], &shape[..self.rank])
        } else {
            (shape[0], &shape[1..])
        };
        if channels.is_some_and(|ch| ch != c) || c == 0 {
            return Err(bad());
        }
        let hw = if self.rank == 1 {
            [1, sp[0]]
        } else {
            [sp[0], sp[1]]
        };
        Ok((hw, c))
    }

    /// Per-sample shape from spatial `[h, w]` and channels.
    pub(crate) fn join(&self, hw: [usize; 2], c: usize) -> Vec<usize> {
        let mut sp = self.axes(hw);
        if self.channels_last() {
            sp.push(c);
            sp
        } else {
            let mut v = vec![c];
            v.append(&mut sp);
            v
        }
    }

    /// Output size and padding of a convolution (or pooling) over `hw`.
    pub(crate) fn window(
        &self,
        layer: &str,
        hw: [usize; 2],
        per_sample: &[usize],
    ) -> Result<([usize; 2], Pads2)> {
        let mut out = [1; 2];
        let mut pads = [(0, 0); 2];
        for i in 0..2 {
            let r = window_axis(
                hw[i],
                self.kernel[i],
                self.strides[i],
                self.dilation[i],
                &self.padding,
            )
            .ok_or_else(|| {
                Error::shape(
                    layer,
                    "input",
                    format!(
                        "spatial size at least the (dilated) window (kernel_size or \
                         pool_size {:?}, strides {:?}, dilation {:?}) with padding {:?}",
                        self.axes(self.kernel),
                        self.axes(self.strides),
                        self.axes(self.dilation),
                        self.padding
                    ),
                    per_sample,
                )
            })?;
            out[i] = r.0;
            pads[i] = r.1;
        }
        Ok((out, pads))
    }

    /// Checks a batch and converts it to `[N, C, H, W]`.
    pub(crate) fn to_nchw<B: Backend>(
        &self,
        layer: &str,
        x: &Tensor<B>,
        channels: usize,
    ) -> Result<Tensor<B>> {
        let s = x.shape();
        if s.len() != self.rank + 2 {
            return Err(Error::shape(
                layer,
                "input",
                self.expected(Some(channels)),
                &s,
            ));
        }
        let c = if self.channels_last() {
            s[self.rank + 1]
        } else {
            s[1]
        };
        if c != channels {
            return Err(Error::shape(
                layer,
                "input",
                self.expected(Some(channels)),
                &s,
            ));
        }
        match (self.rank, self.channels_last()) {
            (2, true) => x.permute(&[0, 3, 1, 2]),
            (2, false) => Ok(x.clone()),
            (_, true) => x.unsqueeze(1)?.permute(&[0, 3, 1, 2]),
            (_, false) => x.unsqueeze(2),
        }
    }

    /// Converts `[N, C, H, W]` back to this layer's layout.
    pub(crate) fn nchw_to_layout<B: Backend>(&self, y: &Tensor<B>) -> Result<Tensor<B>> {
        let s = y.shape();
        match (self.rank, self.channels_last()) {
            (2, true) => y.permute(&[0, 2, 3, 1]),
            (2, false) => Ok(y.clone()),
            (_, true) => y.reshape_to(&[s[0], s[1], s[3]])?.permute(&[0, 2, 1]),
            (_, false) => y.reshape_to(&[s[0], s[1], s[3]]),
        }
    }

    /// Writes `kernel_size`, `strides`, `dilation_rate`, `padding`, `data_format`.
    pub(crate) fn write_config(&self, map: &mut serde_json::Value, kernel_key: &str) {
        map[kernel_key] = json!(self.axes(self.kernel));
        map["strides"] = json!(self.axes(self.strides));
        map["dilation_rate"] = json!(self.axes(self.dilation));
        map["padding"] = json!(self.padding);
        map["data_format"] = json!(self.data_format);
    }

    /// Reads what [`Spatial::write_config`] wrote.
    pub(crate) fn read_config(
        rank: usize,
        config: &serde_json::Value,
        layer: &str,
        kernel_key: &str,
    ) -> Result<Self> {
        let to2 = |v: Vec<usize>| if rank == 1 { [1, v[0]] } else { [v[0], v[1]] };
        let k = cfg_sizes(config, layer, kernel_key, rank)?
            .ok_or_else(|| Error::config(format!("{layer}.{kernel_key}"), "missing field"))?;
        let mut s = Self::new(rank, Size2(to2(k)));
        if let Some(v) = cfg_sizes(config, layer, "strides", rank)? {
            s.strides = to2(v);
        }
        if let Some(v) = cfg_sizes(config, layer, "dilation_rate", rank)? {
            s.dilation = to2(v);
        }
        if let Some(p) = cfg_str(config, "padding") {
            s.padding = p.to_lowercase();
        }
        if let Some(d) = cfg_str(config, "data_format") {
            s.data_format = d.to_lowercase();
        }
        Ok(s)
    }
}

/// The options every convolution shares: activation, bias, initialisers, regularisers.
#[derive(Debug, Clone)]
struct ConvOptions {
    activation: ActivationSpec,
    resolved: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    kernel_regularizer: Option<Regularizer>,
    bias_regularizer: Option<Regularizer>,
    activity_regularizer: Option<Regularizer>,
    trainable: bool,
    name: String,
}

impl Default for ConvOptions {
    fn default() -> Self {
        Self {
            activation: ActivationSpec::Known(Activation::Linear),
            resolved: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            bias_regularizer: None,
            activity_regularizer: None,
            trainable: true,
            name: String::new(),
        }
    }
}

impl ConvOptions {
    fn write_config(&self, map: &mut serde_json::Value, kernel_prefix: &str) {
        map["name"] = json!(self.name);
        map["activation"] = self.resolved.to_config();
        map["use_bias"] = json!(self.use_bias);
        map[format!("{kernel_prefix}_initializer")] = self.kernel_initializer.to_config();
        map["bias_initializer"] = self.bias_initializer.to_config();
        map[format!("{kernel_prefix}_regularizer")] = regularizer_config(&self.kernel_regularizer);
        map["bias_regularizer"] = regularizer_config(&self.bias_regularizer);
        map["activity_regularizer"] = regularizer_config(&self.activity_regularizer);
        map["trainable"] = json!(self.trainable);
    }

    fn read_config(&mut self, config: &serde_json::Value, kernel_prefix: &str) -> Result<()> {
        self.name = cfg_name(config);
        if let Some(a) = config.get("activation") {
            self.resolved = Activation::from_config(a)?;
            self.activation = ActivationSpec::Known(self.resolved);
        }
        if let Some(b) = config.get("use_bias").and_then(|b| b.as_bool()) {
            self.use_bias = b;
        }
        if let Some(i) = config.get(format!("{kernel_prefix}_initializer")) {
            self.kernel_initializer = Initializer::from_config(i)?;
        }
        if let Some(i) = config.get("bias_initializer") {
            self.bias_initializer = Initializer::from_config(i)?;
        }
        self.kernel_regularizer = config
            .get(format!("{kernel_prefix}_regularizer"))
            .and_then(Regularizer::from_config);
        self.bias_regularizer = config
            .get("bias_regularizer")
            .and_then(Regularizer::from_config);
        self.activity_regularizer = config
            .get("activity_regularizer")
            .and_then(Regularizer::from_config);
        if let Some(t) = config.get("trainable").and_then(|b| b.as_bool()) {
            self.trainable = t;
        }
        Ok(())
    }

    fn set_activation(&mut self, a: ActivationSpec) {
        self.activation = a;
        if let Ok(r) = self.activation.resolve() {
            self.resolved = r;
        }
    }

    fn init<B: Backend>(
        &self,
        init: &Initializer,
        shape: &[usize],
        ctx: &mut BuildContext,
    ) -> Result<Tensor<B>> {
        init.init::<B>(shape, ctx.dtype, ctx.device, &mut ctx.rng)?
            .to_param()
    }

    /// `kernel` and `bias` (those that exist) as the layer's weights.
    fn kernel_bias_weights<B: Backend>(
        &self,
        kernel: &Option<Tensor<B>>,
        bias: &Option<Tensor<B>>,
    ) -> Vec<Weight<B>> {
        let mut w = Vec::new();
        push_weight(&mut w, "kernel", kernel, self.trainable);
        push_weight(&mut w, "bias", bias, self.trainable);
        w
    }

    /// The kernel and bias regularisation penalties.
    fn kernel_bias_penalties<B: Backend>(
        &self,
        kernel: &Option<Tensor<B>>,
        bias: &Option<Tensor<B>>,
    ) -> Result<Option<Tensor<B>>> {
        weight_penalties(&[
            (&self.kernel_regularizer, kernel),
            (&self.bias_regularizer, bias),
        ])
    }

    /// From the engine's `[N, C, H, W]` result (bias already added): returns to the layer's
    /// layout, applies the activation and records the activity penalty.
    fn finish<B: Backend>(
        &self,
        spatial: &Spatial,
        y: Tensor<B>,
        ctx: &mut CallContext,
    ) -> Result<Tensor<B>> {
        // Elementwise activations commute with the permute: apply them to the engine's
        // contiguous `[N, C, H, W]` result, so the layer's channels-last output is a view of
        // it and a following pooling or convolution permutes it back without a copy.
        // Softmax variants (over the last axis) run in the layer's layout.
        let y = match self.resolved {
            Activation::Softmax | Activation::LogSoftmax => {
                self.resolved.apply(&spatial.nchw_to_layout(&y)?)?
            }
            a => spatial.nchw_to_layout(&a.apply(&y)?)?,
        };
        record_activity(&self.activity_regularizer, &y, ctx)?;
        Ok(y)
    }
}

/// Builder methods shared by the convolution layers.
macro_rules! conv_builders {
    ($kernel_init:ident, $kernel_reg:ident) => {
        /// Strides (one integer or one per spatial axis; default 1).
        pub fn strides(mut self, s: impl Into<Size2>) -> Self {
            self.spatial.strides = self.spatial.norm(s.into());
            self
        }
        /// `"valid"` (default) or `"same"` (TensorFlow's: `out = ceil(in / stride)`, extra
        /// padding at the end).
        pub fn padding(mut self, padding: &str) -> Self {
            self.spatial.padding = padding.to_lowercase();
            self
        }
        /// Dilation rate (one integer or one per spatial axis; default 1).
        pub fn dilation_rate(mut self, d: impl Into<Size2>) -> Self {
            self.spatial.dilation = self.spatial.norm(d.into());
            self
        }
        /// `"channels_last"` (default, `[N, .., C]`) or `"channels_first"` (`[N, C, ..]`).
        pub fn data_format(mut self, data_format: &str) -> Self {
            self.spatial.data_format = data_format.to_lowercase();
            self
        }
        /// Activation applied to the output (a name like `"relu"` or an [`Activation`]).
        pub fn activation(mut self, a: impl Into<ActivationSpec>) -> Self {
            self.opts.set_activation(a.into());
            self
        }
        /// Whether to add a bias (default `true`).
        pub fn use_bias(mut self, use_bias: bool) -> Self {
            self.opts.use_bias = use_bias;
            self
        }
        /// Kernel initialiser (default Glorot uniform, with Keras' fans).
        pub fn $kernel_init(mut self, init: Initializer) -> Self {
            self.opts.kernel_initializer = init;
            self
        }
        /// Bias initialiser (default zeros).
        pub fn bias_initializer(mut self, init: Initializer) -> Self {
            self.opts.bias_initializer = init;
            self
        }
        /// Penalty on the kernel, added to the training loss.
        pub fn $kernel_reg(mut self, r: Regularizer) -> Self {
            self.opts.kernel_regularizer = Some(r);
            self
        }
        /// Penalty on the bias, added to the training loss.
        pub fn bias_regularizer(mut self, r: Regularizer) -> Self {
            self.opts.bias_regularizer = Some(r);
            self
        }
        /// Penalty on the layer's output, recorded in the [`CallContext`] by `call`.
        pub fn activity_regularizer(mut self, r: Regularizer) -> Self {
            self.opts.activity_regularizer = Some(r);
            self
        }
        /// Sets the layer's name.
        pub fn name(mut self, name: &str) -> Self {
            self.opts.name = name.to_string();
            self
        }
    };
}

/// The `Layer` methods every convolution implements the same way.
macro_rules! conv_common_layer_methods {
    () => {
        fn name(&self) -> &str {
            &self.opts.name
        }
        fn set_name(&mut self, name: String) {
            self.opts.name = name;
        }
        fn trainable(&self) -> bool {
            self.opts.trainable
        }
        fn set_trainable(&mut self, trainable: bool) {
            self.opts.trainable = trainable;
        }
    };
}

// ------------------------------------------------------------------------ Conv1D / Conv2D

/// A 1-D or 2-D convolution (`RANK` 1 or 2); use the aliases [`Conv1D`] and [`Conv2D`].
///
/// The kernel is stored in Keras' layout `[kh, kw, in / groups, filters]` (`[k, in / groups,
/// filters]` for 1-D) and the bias as `[filters]`.
#[derive(Debug)]
pub struct Conv<B: Backend, const RANK: usize> {
    filters: usize,
    groups: usize,
    spatial: Spatial,
    opts: ConvOptions,
    kernel: Option<Tensor<B>>,
    bias: Option<Tensor<B>>,
}

/// 2-D convolution over `[N, H, W, C]` images (Keras `Conv2D`).
///
/// `Conv2D::new(32, 3)` on one input channel has `3 * 3 * 1 * 32 + 32 = 320` parameters.
///
/// ```
/// use stratanet::layers::{Conv2D, Input};
/// use stratanet::initializers::Initializer;
/// use stratanet::{Sequential, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let mut model = Sequential::<B>::new();
/// model.add(Input::new(&[4, 4, 1]))?;
/// model.add(Conv2D::new(2, 3).padding("same").kernel_initializer(Initializer::Ones))?;
/// assert_eq!(model.output_shape()?, vec![4, 4, 2]);
/// assert_eq!(model.count_params().0, 3 * 3 * 1 * 2 + 2);
/// // a 3x3 box sum of ones: 4 in a corner, 9 in the middle
/// let x = Tensor::<B>::ones(&[1, 4, 4, 1], stratanet::DType::F32, stratanet::Device::Cpu)?;
/// let y = model.predict(&x, 1)?.to_vec_f32()?;
/// assert_eq!((y[0], y[2 * (4 + 1)]), (4.0, 9.0));
/// # Ok(())
/// # }
/// ```
pub type Conv2D<B> = Conv<B, 2>;

/// 1-D convolution over `[N, steps, C]` sequences (Keras `Conv1D`); `padding("causal")`
/// pads only at the start.
pub type Conv1D<B> = Conv<B, 1>;

impl<B: Backend> Conv<B, 2> {
    /// `filters` output channels, a `kernel_size` window (`3` or `[3, 5]`), stride 1,
    /// `valid` padding, linear activation, a bias, Glorot-uniform kernel.
    pub fn new(filters: usize, kernel_size: impl Into<Size2>) -> Self {
        Self::with_rank(filters, kernel_size.into())
    }
}

impl<B: Backend> Conv<B, 1> {
    /// `filters` output channels over a window of `kernel_size` steps.
    pub fn new(filters: usize, kernel_size: usize) -> Self {
        Self::with_rank(filters, Size2::from(kernel_size))
    }
}

impl<B: Backend, const RANK: usize> Conv<B, RANK> {
    fn with_rank(filters: usize, kernel: Size2) -> Self {
        Self {
            filters,
            groups: 1,
            spatial: Spatial::new(RANK, kernel),
            opts: ConvOptions::default(),
            kernel: None,
            bias: None,
        }
    }

    conv_builders!(kernel_initializer, kernel_regularizer);

    /// Grouped convolution: input and output channels split into `groups` (default 1).
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }
    /// Number of output channels.
    pub fn filters(&self) -> usize {
        self.filters
    }
    /// The kernel in Keras' layout, once built.
    pub fn kernel(&self) -> Option<&Tensor<B>> {
        self.kernel.as_ref()
    }
    /// The bias `[filters]`, once built (and if used).
    pub fn bias(&self) -> Option<&Tensor<B>> {
        self.bias.as_ref()
    }

    fn class(&self) -> &'static str {
        if RANK == 1 {
            "Conv1D"
        } else {
            "Conv2D"
        }
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config or unknown names.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let class = if RANK == 1 { "Conv1D" } else { "Conv2D" };
        let filters = super::cfg_size(config, class, "filters")?;
        let mut l = Self::with_rank(filters, Size2([1, 1]));
        l.spatial = Spatial::read_config(RANK, config, class, "kernel_size")?;
        l.groups = super::cfg_opt_size(config, class, "groups")?.unwrap_or(1);
        l.opts.read_config(config, "kernel")?;
        Ok(l)
    }

    fn in_channels(&self) -> Option<usize> {
        self.kernel.as_ref().map(|k| k.shape()[RANK] * self.groups)
    }
}

impl<B: Backend, const RANK: usize> Layer<B> for Conv<B, RANK> {
    fn class_name(&self) -> &'static str {
        self.class()
    }
    conv_common_layer_methods!();
    fn built(&self) -> bool {
        self.kernel.is_some()
    }
    fn validate(&self) -> Result<()> {
        let name = &self.opts.name;
        if self.filters == 0 {
            return Err(Error::invalid(name, "filters", "must be at least 1, got 0"));
        }
        if self.groups == 0 || self.filters % self.groups != 0 {
            return Err(Error::invalid(
                name,
                "groups",
                format!(
                    "must be positive and divide filters ({}), got {}",
                    self.filters, self.groups
                ),
            ));
        }
        self.spatial.validate(name, RANK == 1)?;
        self.opts.activation.resolve().map(|_| ())
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        self.opts.resolved = self.opts.activation.resolve()?;
        let (_, c) = self.spatial.split(&self.opts.name, input_shape, None)?;
        if c % self.groups != 0 {
            return Err(Error::shape(
                &self.opts.name,
                "input",
                format!("a channel count divisible by groups ({})", self.groups),
                input_shape,
            ));
        }
        Layer::<B>::output_shape(self, input_shape)?;
        let k = self.spatial.kernel;
        let mut shape: Vec<usize> = if RANK == 1 { vec![k[1]] } else { k.to_vec() };
        shape.extend([c / self.groups, self.filters]);
        self.kernel = Some(
            self.opts
                .init::<B>(&self.opts.kernel_initializer, &shape, ctx)?,
        );
        if self.opts.use_bias {
            self.bias = Some(self.opts.init::<B>(
                &self.opts.bias_initializer,
                &[self.filters],
                ctx,
            )?);
        }
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (hw, _) = self
            .spatial
            .split(&self.opts.name, input_shape, self.in_channels())?;
        let (out, _) = self.spatial.window(&self.opts.name, hw, input_shape)?;
        Ok(self.spatial.join(out, self.filters))
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let kernel = self
            .kernel
            .as_ref()
            .ok_or_else(|| not_built(&self.opts.name))?;
        let c_in = self.in_channels().unwrap_or(0);
        let xs = self.spatial.to_nchw(&self.opts.name, x, c_in)?;
        let xs = xs.to_dtype(kernel.dtype())?;
        let s = xs.shape();
        let (_, pads) = self
            .spatial
            .window(&self.opts.name, [s[2], s[3]], &x.shape())?;
        // Keras [kh, kw, in/g, out] -> engine [out, in/g, kh, kw].
        let k4 = if RANK == 1 {
            let ks = kernel.shape();
            kernel.reshape_to(&[1, ks[0], ks[1], ks[2]])?
        } else {
            kernel.clone()
        };
        let w = k4.permute(&[3, 2, 0, 1])?;
        let p = Conv2dParams {
            stride: self.spatial.strides,
            padding: pads,
            dilation: self.spatial.dilation,
            groups: self.groups,
        };
        let b = self.bias.as_ref().map(Tensor::inner);
        let y = Tensor::new(B::conv2d_bias(xs.inner(), w.inner(), b, p)?);
        self.opts.finish(&self.spatial, y, ctx)
    }
    fn weights(&self) -> Vec<Weight<B>> {
        self.opts.kernel_bias_weights(&self.kernel, &self.bias)
    }
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>> {
        self.opts.kernel_bias_penalties(&self.kernel, &self.bias)
    }
    fn get_config(&self) -> serde_json::Value {
        let mut c = json!({"filters": self.filters, "groups": self.groups});
        self.spatial.write_config(&mut c, "kernel_size");
        self.opts.write_config(&mut c, "kernel");
        c
    }
}

// ------------------------------------------------------------------------ Conv2DTranspose

/// Transposed 2-D convolution (Keras `Conv2DTranspose`), the gradient of `Conv2D` with
/// respect to its input: upsamples by `strides`.
///
/// Output size per axis, as Keras/TensorFlow: without `output_padding`, `in * stride` for
/// `same` and `in * stride + max(k - stride, 0)` for `valid` (`k` the dilated window); with
/// it, `(in - 1) * stride + k - 2 * (k / 2 if same else 0) + output_padding`. The kernel is
/// stored as Keras does, `[kh, kw, filters, in]`.
#[derive(Debug)]
pub struct Conv2DTranspose<B: Backend> {
    filters: usize,
    output_padding: Option<[usize; 2]>,
    spatial: Spatial,
    opts: ConvOptions,
    kernel: Option<Tensor<B>>,
    bias: Option<Tensor<B>>,
}

impl<B: Backend> Conv2DTranspose<B> {
    /// `filters` output channels over a `kernel_size` window, stride 1, `valid` padding.
    pub fn new(filters: usize, kernel_size: impl Into<Size2>) -> Self {
        Self {
            filters,
            output_padding: None,
            spatial: Spatial::new(2, kernel_size.into()),
            opts: ConvOptions::default(),
            kernel: None,
            bias: None,
        }
    }

    conv_builders!(kernel_initializer, kernel_regularizer);

    /// Extra rows/columns at the end of the output (each smaller than the stride).
    pub fn output_padding(mut self, p: impl Into<Size2>) -> Self {
        self.output_padding = Some(p.into().0);
        self
    }
    /// The kernel `[kh, kw, filters, in]`, once built.
    pub fn kernel(&self) -> Option<&Tensor<B>> {
        self.kernel.as_ref()
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config or unknown names.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let class = "Conv2DTranspose";
        let filters = super::cfg_size(config, class, "filters")?;
        let mut l = Self::new(filters, 1);
        l.spatial = Spatial::read_config(2, config, class, "kernel_size")?;
        l.output_padding =
            cfg_sizes_min(config, class, "output_padding", 2, 0)?.map(|v| [v[0], v[1]]);
        l.opts.read_config(config, "kernel")?;
        Ok(l)
    }

    /// Per axis: output length, crop at the start, and the (crop at the end, extra zeros at
    /// the end) applied to the full transposed convolution.
    fn geometry(&self, hw: [usize; 2]) -> [(usize, (usize, usize), usize); 2] {
        let mut g = [(0, (0, 0), 0); 2];
        for i in 0..2 {
            let (n, s) = (hw[i], self.spatial.strides[i]);
            let k = (self.spatial.kernel[i] - 1) * self.spatial.dilation[i] + 1;
            let same = self.spatial.padding == "same";
            let len = match self.output_padding {
                None if same => n * s,
                None => n * s + k.saturating_sub(s),
                Some(op) => {
                    ((n - 1) * s + k + op[i]).saturating_sub(if same { 2 * (k / 2) } else { 0 })
                }
            };
            let full = (n - 1) * s + k;
            let before = if same {
                (full.saturating_sub(len)) / 2
            } else {
                0
            };
            let (after, extra) = if full - before >= len {
                (full - before - len, 0)
            } else {
                (0, len - (full - before))
            };
            g[i] = (len, (before, after), extra);
        }
        g
    }
}

impl<B: Backend> Layer<B> for Conv2DTranspose<B> {
    fn class_name(&self) -> &'static str {
        "Conv2DTranspose"
    }
    conv_common_layer_methods!();
    fn built(&self) -> bool {
        self.kernel.is_some()
    }
    fn validate(&self) -> Result<()> {
        let name = &self.opts.name;
        if self.filters == 0 {
            return Err(Error::invalid(name, "filters", "must be at least 1, got 0"));
        }
        self.spatial.validate(name, false)?;
        if let Some(op) = self.output_padding {
            for i in 0..2 {
                if op[i] >= self.spatial.strides[i].max(self.spatial.dilation[i]) {
                    return Err(Error::invalid(
                        name,
                        "output_padding",
                        format!(
                            "{op:?} must be smaller than the strides {:?} (or dilation)",
                            self.spatial.strides
                        ),
                    ));
                }
            }
        }
        self.opts.activation.resolve().map(|_| ())
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        self.opts.resolved = self.opts.activation.resolve()?;
        let (_, c) = self.spatial.split(&self.opts.name, input_shape, None)?;
        let k = self.spatial.kernel;
        let shape = [k[0], k[1], self.filters, c];
        self.kernel = Some(
            self.opts
                .init::<B>(&self.opts.kernel_initializer, &shape, ctx)?,
        );
        if self.opts.use_bias {
            self.bias = Some(self.opts.init::<B>(
                &self.opts.bias_initializer,
                &[self.filters],
                ctx,
            )?);
        }
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let c = self.kernel.as_ref().map(|k| k.shape()[3]);
        let (hw, _) = self.spatial.split(&self.opts.name, input_shape, c)?;
        let g = self.geometry(hw);
        Ok(self.spatial.join([g[0].0, g[1].0], self.filters))
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let kernel = self
            .kernel
            .as_ref()
            .ok_or_else(|| not_built(&self.opts.name))?;
        let c_in = kernel.shape()[3];
        let xs = self.spatial.to_nchw(&self.opts.name, x, c_in)?;
        let xs = xs.to_dtype(kernel.dtype())?;
        let s = xs.shape();
        let g = self.geometry([s[2], s[3]]);
        // Keras [kh, kw, out, in] -> engine [in, out, kh, kw].
        let w = kernel.permute(&[3, 2, 0, 1])?;
        let p = Conv2dParams {
            stride: self.spatial.strides,
            padding: [g[0].1, g[1].1],
            dilation: self.spatial.dilation,
            groups: 1,
        };
        let y = Tensor::new(B::conv_transpose2d(
            xs.inner(),
            w.inner(),
            p,
            [g[0].2, g[1].2],
        )?);
        let y = match &self.bias {
            Some(b) => y.add(&b.reshape_to(&[1, b.numel(), 1, 1])?)?,
            None => y,
        };
        self.opts.finish(&self.spatial, y, ctx)
    }
    fn weights(&self) -> Vec<Weight<B>> {
        self.opts.kernel_bias_weights(&self.kernel, &self.bias)
    }
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>> {
        self.opts.kernel_bias_penalties(&self.kernel, &self.bias)
    }
    fn get_config(&self) -> serde_json::Value {
        let mut c = json!({"filters": self.filters, "output_padding": self.output_padding});
        self.spatial.write_config(&mut c, "kernel_size");
        self.opts.write_config(&mut c, "kernel");
        c
    }
}

// ------------------------------------------------------------------------ depthwise

/// Depthwise 2-D convolution (Keras `DepthwiseConv2D`): each input channel convolved with
/// its own `depth_multiplier` filters; output channel `c * depth_multiplier + m`.
///
/// The kernel is stored as Keras does, `[kh, kw, in, depth_multiplier]`.
#[derive(Debug)]
pub struct DepthwiseConv2D<B: Backend> {
    depth_multiplier: usize,
    spatial: Spatial,
    opts: ConvOptions,
    kernel: Option<Tensor<B>>,
    bias: Option<Tensor<B>>,
}

/// `[kh, kw, in, mult]` -> engine `[in * mult, 1, kh, kw]` (groups = in).
fn depthwise_engine_kernel<B: Backend>(k: &Tensor<B>) -> Result<Tensor<B>> {
    let s = k.shape();
    let w = k.permute(&[2, 3, 0, 1])?;
    let w = Tensor::new(B::contiguous(w.inner())?);
    w.reshape_to(&[s[2] * s[3], 1, s[0], s[1]])
}

impl<B: Backend> DepthwiseConv2D<B> {
    /// A depthwise convolution over a `kernel_size` window with `depth_multiplier` 1.
    pub fn new(kernel_size: impl Into<Size2>) -> Self {
        Self {
            depth_multiplier: 1,
            spatial: Spatial::new(2, kernel_size.into()),
            opts: ConvOptions::default(),
            kernel: None,
            bias: None,
        }
    }

    conv_builders!(depthwise_initializer, depthwise_regularizer);

    /// Filters per input channel (default 1).
    pub fn depth_multiplier(mut self, m: usize) -> Self {
        self.depth_multiplier = m;
        self
    }
    /// The kernel `[kh, kw, in, depth_multiplier]`, once built.
    pub fn kernel(&self) -> Option<&Tensor<B>> {
        self.kernel.as_ref()
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config or unknown names.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let class = "DepthwiseConv2D";
        let mut l = Self::new(1);
        l.spatial = Spatial::read_config(2, config, class, "kernel_size")?;
        l.depth_multiplier = super::cfg_opt_size(config, class, "depth_multiplier")?.unwrap_or(1);
        l.opts.read_config(config, "depthwise")?;
        Ok(l)
    }
}

impl<B: Backend> Layer<B> for DepthwiseConv2D<B> {
    fn class_name(&self) -> &'static str {
        "DepthwiseConv2D"
    }
    conv_common_layer_methods!();
    fn built(&self) -> bool {
        self.kernel.is_some()
    }
    fn validate(&self) -> Result<()> {
        if self.depth_multiplier == 0 {
            return Err(Error::invalid(
                &self.opts.name,
                "depth_multiplier",
                "must be at least 1, got 0",
            ));
        }
        self.spatial.validate(&self.opts.name, false)?;
        self.opts.activation.resolve().map(|_| ())
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        self.opts.resolved = self.opts.activation.resolve()?;
        let (_, c) = self.spatial.split(&self.opts.name, input_shape, None)?;
        Layer::<B>::output_shape(self, input_shape)?;
        let k = self.spatial.kernel;
        let shape = [k[0], k[1], c, self.depth_multiplier];
        self.kernel = Some(
            self.opts
                .init::<B>(&self.opts.kernel_initializer, &shape, ctx)?,
        );
        if self.opts.use_bias {
            self.bias = Some(self.opts.init::<B>(
                &self.opts.bias_initializer,
                &[c * self.depth_multiplier],
                ctx,
            )?);
        }
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let c_known = self.kernel.as_ref().map(|k| k.shape()[2]);
        let (hw, c) = self.spatial.split(&self.opts.name, input_shape, c_known)?;
        let (out, _) = self.spatial.window(&self.opts.name, hw, input_shape)?;
        Ok(self.spatial.join(out, c * self.depth_multiplier))
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let kernel = self
            .kernel
            .as_ref()
            .ok_or_else(|| not_built(&self.opts.name))?;
        let c_in = kernel.shape()[2];
        let xs = self.spatial.to_nchw(&self.opts.name, x, c_in)?;
        let xs = xs.to_dtype(kernel.dtype())?;
        let s = xs.shape();
        let (_, pads) = self
            .spatial
            .window(&self.opts.name, [s[2], s[3]], &x.shape())?;
        let w = depthwise_engine_kernel(kernel)?;
        let p = Conv2dParams {
            stride: self.spatial.strides,
            padding: pads,
            dilation: self.spatial.dilation,
            groups: c_in,
        };
        let b = self.bias.as_ref().map(Tensor::inner);
        let y = Tensor::new(B::conv2d_bias(xs.inner(), w.inner(), b, p)?);
        self.opts.finish(&self.spatial, y, ctx)
    }
    fn weights(&self) -> Vec<Weight<B>> {
        self.opts.kernel_bias_weights(&self.kernel, &self.bias)
    }
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>> {
        self.opts.kernel_bias_penalties(&self.kernel, &self.bias)
    }
    fn get_config(&self) -> serde_json::Value {
        let mut c = json!({"depth_multiplier": self.depth_multiplier});
        self.spatial.write_config(&mut c, "kernel_size");
        self.opts.write_config(&mut c, "depthwise");
        c
    }
}

// ------------------------------------------------------------------------ separable

/// Depthwise-separable 2-D convolution (Keras `SeparableConv2D`): a depthwise convolution
/// (`[kh, kw, in, depth_multiplier]`, with the strides, padding and dilation) followed by a
/// pointwise one (`[1, 1, in * depth_multiplier, filters]`) and the bias.
///
/// The kernel regulariser and initialiser apply to both kernels.
#[derive(Debug)]
pub struct SeparableConv2D<B: Backend> {
    filters: usize,
    depth_multiplier: usize,
    spatial: Spatial,
    opts: ConvOptions,
    pointwise_initializer: Initializer,
    depthwise: Option<Tensor<B>>,
    pointwise: Option<Tensor<B>>,
    bias: Option<Tensor<B>>,
}

impl<B: Backend> SeparableConv2D<B> {
    /// `filters` output channels over a `kernel_size` window, depth multiplier 1.
    pub fn new(filters: usize, kernel_size: impl Into<Size2>) -> Self {
        Self {
            filters,
            depth_multiplier: 1,
            spatial: Spatial::new(2, kernel_size.into()),
            opts: ConvOptions::default(),
            pointwise_initializer: Initializer::GlorotUniform,
            depthwise: None,
            pointwise: None,
            bias: None,
        }
    }

    conv_builders!(depthwise_initializer, kernel_regularizer);

    /// Initialiser of the pointwise kernel (default Glorot uniform).
    pub fn pointwise_initializer(mut self, init: Initializer) -> Self {
        self.pointwise_initializer = init;
        self
    }
    /// Depthwise filters per input channel (default 1).
    pub fn depth_multiplier(mut self, m: usize) -> Self {
        self.depth_multiplier = m;
        self
    }
    /// The depthwise kernel `[kh, kw, in, depth_multiplier]`, once built.
    pub fn depthwise_kernel(&self) -> Option<&Tensor<B>> {
        self.depthwise.as_ref()
    }
    /// The pointwise kernel `[1, 1, in * depth_multiplier, filters]`, once built.
    pub fn pointwise_kernel(&self) -> Option<&Tensor<B>> {
        self.pointwise.as_ref()
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config or unknown names.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let class = "SeparableConv2D";
        let filters = super::cfg_size(config, class, "filters")?;
        let mut l = Self::new(filters, 1);
        l.spatial = Spatial::read_config(2, config, class, "kernel_size")?;
        l.depth_multiplier = super::cfg_opt_size(config, class, "depth_multiplier")?.unwrap_or(1);
        l.opts.read_config(config, "depthwise")?;
        if let Some(i) = config.get("pointwise_initializer") {
            l.pointwise_initializer = Initializer::from_config(i)?;
        }
        l.opts.kernel_regularizer = config
            .get("kernel_regularizer")
            .and_then(Regularizer::from_config);
        Ok(l)
    }
}

impl<B: Backend> Layer<B> for SeparableConv2D<B> {
    fn class_name(&self) -> &'static str {
        "SeparableConv2D"
    }
    conv_common_layer_methods!();
    fn built(&self) -> bool {
        self.depthwise.is_some()
    }
    fn validate(&self) -> Result<()> {
        let name = &self.opts.name;
        if self.filters == 0 || self.depth_multiplier == 0 {
            return Err(Error::invalid(
                name,
                "filters/depth_multiplier",
                format!(
                    "must be at least 1, got {} and {}",
                    self.filters, self.depth_multiplier
                ),
            ));
        }
        self.spatial.validate(name, false)?;
        self.opts.activation.resolve().map(|_| ())
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildContext) -> Result<()> {
        self.validate()?;
        self.opts.resolved = self.opts.activation.resolve()?;
        let (_, c) = self.spatial.split(&self.opts.name, input_shape, None)?;
        Layer::<B>::output_shape(self, input_shape)?;
        let k = self.spatial.kernel;
        let m = self.depth_multiplier;
        self.depthwise = Some(self.opts.init::<B>(
            &self.opts.kernel_initializer,
            &[k[0], k[1], c, m],
            ctx,
        )?);
        self.pointwise = Some(self.opts.init::<B>(
            &self.pointwise_initializer,
            &[1, 1, c * m, self.filters],
            ctx,
        )?);
        if self.opts.use_bias {
            self.bias = Some(self.opts.init::<B>(
                &self.opts.bias_initializer,
                &[self.filters],
                ctx,
            )?);
        }
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let c_known = self.depthwise.as_ref().map(|k| k.shape()[2]);
        let (hw, _) = self.spatial.split(&self.opts.name, input_shape, c_known)?;
        let (out, _) = self.spatial.window(&self.opts.name, hw, input_shape)?;
        Ok(self.spatial.join(out, self.filters))
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        let dw = self
            .depthwise
            .as_ref()
            .ok_or_else(|| not_built(&self.opts.name))?;
        let pw = self
            .pointwise
            .as_ref()
            .ok_or_else(|| not_built(&self.opts.name))?;
        let c_in = dw.shape()[2];
        let xs = self.spatial.to_nchw(&self.opts.name, x, c_in)?;
        let xs = xs.to_dtype(dw.dtype())?;
        let s = xs.shape();
        let (_, pads) = self
            .spatial
            .window(&self.opts.name, [s[2], s[3]], &x.shape())?;
        let p = Conv2dParams {
            stride: self.spatial.strides,
            padding: pads,
            dilation: self.spatial.dilation,
            groups: c_in,
        };
        let w = depthwise_engine_kernel(dw)?;
        let y = Tensor::<B>::new(B::conv2d(xs.inner(), w.inner(), p)?);
        let wp = pw.permute(&[3, 2, 0, 1])?;
        let b = self.bias.as_ref().map(Tensor::inner);
        let y = Tensor::<B>::new(B::conv2d_bias(
            y.inner(),
            wp.inner(),
            b,
            Conv2dParams::default(),
        )?);
        self.opts.finish(&self.spatial, y, ctx)
    }
    fn weights(&self) -> Vec<Weight<B>> {
        let mut w = Vec::new();
        push_weight(
            &mut w,
            "depthwise_kernel",
            &self.depthwise,
            self.opts.trainable,
        );
        push_weight(
            &mut w,
            "pointwise_kernel",
            &self.pointwise,
            self.opts.trainable,
        );
        push_weight(&mut w, "bias", &self.bias, self.opts.trainable);
        w
    }
    fn regularization_loss(&self) -> Result<Option<Tensor<B>>> {
        weight_penalties(&[
            (&self.opts.kernel_regularizer, &self.depthwise),
            (&self.opts.kernel_regularizer, &self.pointwise),
            (&self.opts.bias_regularizer, &self.bias),
        ])
    }
    fn get_config(&self) -> serde_json::Value {
        let mut c = json!({
            "filters": self.filters,
            "depth_multiplier": self.depth_multiplier,
            "pointwise_initializer": self.pointwise_initializer.to_config(),
        });
        self.spatial.write_config(&mut c, "kernel_size");
        self.opts.write_config(&mut c, "depthwise");
        c["kernel_regularizer"] = regularizer_config(&self.opts.kernel_regularizer);
        c
    }
}
