//! [`Spatial`]: the window every convolution and pooling shares (its config fields in
//! [`ConvWindow`]) and the layout conversions between Keras' data formats and the engines'
//! `[N, C, H, W]`.

use super::{common::*, Dims, Rank, Size2};
use crate::backend::{Backend, Conv2dParams};
use crate::error::{Error, Result};
use crate::layers::config::lowercase;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// `(before, after)` padding for height and width.
pub(crate) type Pads2 = [(usize, usize); 2];

/// The window of a convolution or pooling as the computations read it (borrowed from the
/// layer's config), and the layout conversions between Keras' data formats and the engines'
/// `[N, C, H, W]`.
///
/// Rank-1 layers keep a unit height axis internally (`kernel[0] == 1`).
#[derive(Debug, Clone)]
pub(crate) struct Spatial<'a> {
    pub(crate) rank: usize,
    pub(crate) kernel: [usize; 2],
    pub(crate) strides: [usize; 2],
    pub(crate) dilation: [usize; 2],
    pub(crate) padding: &'a str,
    pub(crate) data_format: &'a str,
}

/// The window fields of a convolution config (Keras' names): `kernel_size`, `strides`,
/// `dilation_rate`, `padding`, `data_format`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, bound = "")]
pub struct ConvWindow<R: Rank> {
    /// Window size per spatial axis (required).
    pub kernel_size: Dims<R>,
    /// Strides (default 1).
    pub strides: Dims<R>,
    /// Dilation rate (default 1).
    pub dilation_rate: Dims<R>,
    /// `"valid"`, `"same"` (or `"causal"` for `Conv1D`), read case-insensitively.
    #[serde(deserialize_with = "lowercase")]
    pub padding: String,
    /// `"channels_last"` or `"channels_first"`, read case-insensitively.
    #[serde(deserialize_with = "lowercase")]
    pub data_format: String,
}

impl<R: Rank> Default for ConvWindow<R> {
    fn default() -> Self {
        Self::new(Size2([1, 1]))
    }
}

impl<R: Rank> ConvWindow<R> {
    /// A `kernel_size` window, stride and dilation 1, `valid` padding, channels last.
    pub(crate) fn new(kernel_size: Size2) -> Self {
        Self {
            kernel_size: Dims::new(kernel_size),
            strides: Dims::default(),
            dilation_rate: Dims::default(),
            padding: "valid".into(),
            data_format: "channels_last".into(),
        }
    }

    /// The window as the computations read it.
    pub(crate) fn spatial(&self) -> Spatial<'_> {
        Spatial {
            rank: R::N,
            kernel: self.kernel_size.0,
            strides: self.strides.0,
            dilation: self.dilation_rate.0,
            padding: &self.padding,
            data_format: &self.data_format,
        }
    }
}

/// Checks the window fields `keys` of a raw config (one integer or a list of `rank`, each
/// within limits) before it is read, so errors name the layer and the field; the first key
/// (the window size) is required.
pub(crate) fn check_window(
    config: &serde_json::Value,
    class: &str,
    rank: usize,
    keys: &[&str],
) -> Result<()> {
    for (i, key) in keys.iter().enumerate() {
        if cfg_sizes(config, class, key, rank)?.is_none() && i == 0 {
            return Err(Error::config(format!("{class}.{key}"), "missing field"));
        }
    }
    Ok(())
}

/// The padding of a convolution or pooling window, as Keras' `padding=` names it. The
/// setters take this or its name: `.padding(Padding::Same)` and `.padding("same")` are the
/// same call, and a layer's saved config holds the name (`"same"`).
///
/// ```
/// use stratanet::layers::{Conv2D, MaxPooling2D, Padding};
/// type B = stratanet::DefaultBackend;
/// let a = Conv2D::<B>::new(8, 3).padding(Padding::Same);
/// let b = Conv2D::<B>::new(8, 3).padding("same");
/// assert_eq!(a.config().window.padding, "same");
/// assert_eq!(b.config().window.padding, "same");
/// assert_eq!(MaxPooling2D::new(2).padding(Padding::Valid).config().padding, "valid");
/// assert_eq!(Padding::from("SAME"), Padding::Same);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Padding {
    /// No padding: windows stay inside the input (the default).
    Valid,
    /// Pad so that `out = ceil(in / stride)`, the extra entry at the end (TensorFlow's).
    Same,
    /// Left padding only, so no output sees a later step (1-D convolutions).
    Causal,
    /// Another name, kept as given (lowercased) so the layer reports it when it is
    /// checked.
    Other(String),
}

impl Padding {
    /// The Keras name: `valid`, `same`, `causal` (or the other name as given).
    pub fn name(&self) -> &str {
        match self {
            Padding::Valid => "valid",
            Padding::Same => "same",
            Padding::Causal => "causal",
            Padding::Other(s) => s,
        }
    }
}

impl From<&str> for Padding {
    fn from(s: &str) -> Self {
        match s.to_lowercase().as_str() {
            "valid" => Padding::Valid,
            "same" => Padding::Same,
            "causal" => Padding::Causal,
            other => Padding::Other(other.to_string()),
        }
    }
}

impl From<String> for Padding {
    fn from(s: String) -> Self {
        Padding::from(s.as_str())
    }
}

impl From<&String> for Padding {
    fn from(s: &String) -> Self {
        Padding::from(s.as_str())
    }
}

impl std::fmt::Display for Padding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Builder setters of the window fields under `self.<path>`: `strides`, `padding`,
/// `data_format`.
macro_rules! window_setters {
    ($($path:ident).+) => {
        /// Strides (one integer or one per spatial axis).
        pub fn strides(mut self, s: impl Into<Size2>) -> Self {
            self.$($path).+.strides = Dims::new(s);
            self
        }
        /// [`Padding::Valid`](crate::layers::Padding) (default) or `Same` (TensorFlow's:
        /// `out = ceil(in / stride)`, extra padding at the end); the name as a string
        /// (`"same"`) works too. Saved configs hold the name.
        pub fn padding(mut self, padding: impl Into<$crate::layers::Padding>) -> Self {
            self.$($path).+.padding = padding.into().name().to_string();
            self
        }
        /// `"channels_last"` (default, `[N, .., C]`) or `"channels_first"` (`[N, C, ..]`).
        pub fn data_format(mut self, data_format: &str) -> Self {
            self.$($path).+.data_format = data_format.to_lowercase();
            self
        }
    };
}
pub(crate) use window_setters;

impl Spatial<'_> {
    fn axes(&self, v: [usize; 2]) -> Vec<usize> {
        v[2 - self.rank..].to_vec()
    }

    pub(crate) fn channels_last(&self) -> bool {
        self.data_format == "channels_last"
    }

    pub(crate) fn validate(&self, layer: &str, causal_ok: bool) -> Result<()> {
        let p = self.padding;
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
        check_data_format(layer, self.data_format)?;
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
                self.padding,
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

    /// Checks that a batch of shape `s` has this layer's rank and `channels` channels.
    pub(crate) fn check_input(&self, layer: &str, s: &[usize], channels: usize) -> Result<()> {
        if s.len() != self.rank + 2 {
            return Err(Error::shape(
                layer,
                "input",
                self.expected(Some(channels)),
                s,
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
                s,
            ));
        }
        Ok(())
    }

    /// Checks a batch and converts it to `[N, C, H, W]`.
    pub(crate) fn to_nchw<B: Backend>(
        &self,
        layer: &str,
        x: &Tensor<B>,
        channels: usize,
    ) -> Result<Tensor<B>> {
        self.check_input(layer, &x.shape(), channels)?;
        match (self.rank, self.channels_last()) {
            (2, true) => x.permute(&[0, 3, 1, 2]),
            (2, false) => Ok(x.clone()),
            (_, true) => x.unsqueeze(1)?.permute(&[0, 3, 1, 2]),
            (_, false) => x.unsqueeze(2),
        }
    }

    /// The input of a convolution with weights `kernel`: checked, converted to `[N, C, H, W]`
    /// in the kernel's dtype, with the window padding of its spatial size.
    pub(crate) fn conv_input<B: Backend>(
        &self,
        layer: &str,
        x: &Tensor<B>,
        kernel: &Tensor<B>,
        channels: usize,
    ) -> Result<(Tensor<B>, Pads2)> {
        let xs = self.to_nchw(layer, x, channels)?.to_dtype(kernel.dtype())?;
        let s = xs.shape();
        let (_, pads) = self.window(layer, [s[2], s[3]], &x.shape())?;
        Ok((xs, pads))
    }

    /// The engine parameters of a convolution with this window and `padding`.
    pub(crate) fn params(&self, padding: Pads2, groups: usize) -> Conv2dParams {
        Conv2dParams {
            stride: self.strides,
            padding,
            dilation: self.dilation,
            groups,
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
}
