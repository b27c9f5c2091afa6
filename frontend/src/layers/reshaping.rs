//! Single-input reshaping layers: `ZeroPadding2D`, `UpSampling2D`, `Permute`,
//! `RepeatVector`.

use super::config::{layer_identity, parse, to_json, LayerConfig};
use super::conv::{cfg_str, check_data_format};
use super::{cfg_field, cfg_name, BuildContext, CallContext, Layer};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Spatial axes (in the per-sample shape) of a rank-3 image in `data_format`.
fn image_axes(data_format: &str) -> [usize; 2] {
    if data_format == "channels_first" {
        [1, 2]
    } else {
        [0, 1]
    }
}

fn image_expected(data_format: &str) -> &'static str {
    if data_format == "channels_first" {
        "rank 4 [batch, channels, height, width]"
    } else {
        "rank 4 [batch, height, width, channels]"
    }
}

/// Pads images with zero rows and columns (Keras `ZeroPadding2D`):
/// `((top, bottom), (left, right))`.
#[derive(Debug, Clone)]
pub struct ZeroPadding2D {
    padding: [(usize, usize); 2],
    data_format: String,
    name: String,
}

impl ZeroPadding2D {
    /// The same `padding` on every side.
    pub fn new(padding: usize) -> Self {
        Self::asymmetric([(padding, padding), (padding, padding)])
    }
    /// `[(top, bottom), (left, right)]`.
    pub fn asymmetric(padding: [(usize, usize); 2]) -> Self {
        Self {
            padding,
            data_format: "channels_last".into(),
            name: String::new(),
        }
    }
    /// `"channels_last"` (default) or `"channels_first"`.
    pub fn data_format(mut self, data_format: &str) -> Self {
        self.data_format = data_format.to_lowercase();
        self
    }
    /// Sets the layer's name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Inverse of `get_config` (also accepts Keras' `1` and `[1, 2]` forms).
    ///
    /// # Errors
    /// On a malformed config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let p = cfg_field(config, "ZeroPadding2D", "padding")?;
        let bad = || {
            Error::config(
                "ZeroPadding2D.padding",
                "expected n, [h, w] or [[t, b], [l, r]]",
            )
        };
        let label = super::cfg_label(config, "ZeroPadding2D");
        let size = |v: &serde_json::Value| crate::limits::size_value(v, &label, "padding", 0);
        let padding = if p.is_number() {
            let n = size(p)?;
            [(n, n), (n, n)]
        } else {
            let outer = p.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
            if outer.iter().all(|v| v.is_number()) {
                let (h, w) = (size(&outer[0])?, size(&outer[1])?);
                [(h, h), (w, w)]
            } else {
                let pair = |v: &serde_json::Value| -> Result<(usize, usize)> {
                    let a = v.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
                    Ok((size(&a[0])?, size(&a[1])?))
                };
                [pair(&outer[0])?, pair(&outer[1])?]
            }
        };
        let mut l = Self::asymmetric(padding);
        if let Some(d) = cfg_str(config, "data_format") {
            l.data_format = d.to_lowercase();
        }
        l.name = cfg_name(config);
        Ok(l)
    }
}

impl<B: Backend> Layer<B> for ZeroPadding2D {
    layer_identity!("ZeroPadding2D", field: name);
    fn validate(&self) -> Result<()> {
        check_data_format(&self.name, &self.data_format)
    }
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildContext) -> Result<()> {
        Layer::<B>::validate(self)?;
        Layer::<B>::output_shape(self, input_shape).map(|_| ())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.len() != 3 {
            return Err(Error::shape(
                &self.name,
                "input",
                image_expected(&self.data_format),
                input_shape,
            ));
        }
        let mut out = input_shape.to_vec();
        for (i, a) in image_axes(&self.data_format).into_iter().enumerate() {
            let pad =
                crate::limits::add(&self.name, "padding", self.padding[i].0, self.padding[i].1)?;
            out[a] = crate::limits::add(&self.name, "padding", out[a], pad)?;
        }
        Ok(out)
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        if x.rank() != 4 {
            return Err(Error::shape(
                &self.name,
                "input",
                image_expected(&self.data_format),
                &x.shape(),
            ));
        }
        let mut y = x.clone();
        for (i, a) in image_axes(&self.data_format).into_iter().enumerate() {
            y = y.pad(a as isize + 1, self.padding[i].0, self.padding[i].1, 0.0)?;
        }
        Ok(y)
    }
    fn get_config(&self) -> serde_json::Value {
        let p = self.padding;
        json!({
            "name": self.name,
            "padding": [[p[0].0, p[0].1], [p[1].0, p[1].1]],
            "data_format": self.data_format,
        })
    }
}

/// Repeats image rows and columns (Keras `UpSampling2D`, nearest interpolation):
/// `[N, H, W, C] -> [N, H * sh, W * sw, C]`.
#[derive(Debug, Clone)]
pub struct UpSampling2D {
    size: [usize; 2],
    data_format: String,
    name: String,
}

impl UpSampling2D {
    /// Upsampling factors `(sh, sw)` (Keras' default is `(2, 2)`).
    pub fn new(size: impl Into<super::conv::Size2>) -> Self {
        Self {
            size: size.into().0,
            data_format: "channels_last".into(),
            name: String::new(),
        }
    }
    /// `"channels_last"` (default) or `"channels_first"`.
    pub fn data_format(mut self, data_format: &str) -> Self {
        self.data_format = data_format.to_lowercase();
        self
    }
    /// Sets the layer's name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config or an interpolation other than `nearest`.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let size = super::conv::cfg_sizes(config, "UpSampling2D", "size", 2)?.unwrap_or(vec![2, 2]);
        let mut l = Self::new([size[0], size[1]]);
        if let Some(d) = cfg_str(config, "data_format") {
            l.data_format = d.to_lowercase();
        }
        if let Some(i) = cfg_str(config, "interpolation") {
            if i != "nearest" {
                return Err(Error::config(
                    "UpSampling2D.interpolation",
                    format!("only \"nearest\" is supported, got {i:?}"),
                ));
            }
        }
        l.name = cfg_name(config);
        Ok(l)
    }
}

impl<B: Backend> Layer<B> for UpSampling2D {
    layer_identity!("UpSampling2D", field: name);
    fn validate(&self) -> Result<()> {
        if self.size.contains(&0) {
            return Err(Error::invalid(
                &self.name,
                "size",
                format!("must be positive, got {:?}", self.size),
            ));
        }
        check_data_format(&self.name, &self.data_format)
    }
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildContext) -> Result<()> {
        Layer::<B>::validate(self)?;
        Layer::<B>::output_shape(self, input_shape).map(|_| ())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.len() != 3 {
            return Err(Error::shape(
                &self.name,
                "input",
                image_expected(&self.data_format),
                input_shape,
            ));
        }
        let mut out = input_shape.to_vec();
        for (i, a) in image_axes(&self.data_format).into_iter().enumerate() {
            out[a] = crate::limits::mul(&self.name, "size", out[a], self.size[i])?;
        }
        Ok(out)
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        let s = x.shape();
        if s.len() != 4 {
            return Err(Error::shape(
                &self.name,
                "input",
                image_expected(&self.data_format),
                &s,
            ));
        }
        // [N, H, W, C] -> [N, H, 1, W, 1, C] -> broadcast -> [N, H*sh, W*sw, C]
        // (channels_first: the same with the channel axis in front).
        let [ha, wa] = image_axes(&self.data_format).map(|a| a + 1);
        let mut expanded = Vec::with_capacity(6);
        let mut target = Vec::with_capacity(6);
        for (i, &d) in s.iter().enumerate() {
            expanded.push(d);
            target.push(d);
            if i == ha || i == wa {
                let f = if i == ha { self.size[0] } else { self.size[1] };
                expanded.push(1);
                target.push(f);
            }
        }
        let mut out = s.clone();
        out[ha] *= self.size[0];
        out[wa] *= self.size[1];
        let y = x.reshape_to(&expanded)?.broadcast_to(&target)?;
        let y = Tensor::new(B::contiguous(y.inner())?);
        y.reshape_to(&out)
    }
    fn get_config(&self) -> serde_json::Value {
        json!({
            "name": self.name,
            "size": self.size,
            "data_format": self.data_format,
            "interpolation": "nearest",
        })
    }
}

/// Reorders the per-sample axes (Keras `Permute`); `dims` are 1-based like Keras':
/// `Permute::new(&[2, 1])` swaps the two axes of `[N, A, B]` samples.
#[derive(Debug, Clone)]
pub struct Permute {
    config: PermuteConfig,
}

/// The hyper-parameters of [`Permute`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PermuteConfig {
    /// Instance name.
    pub name: String,
    /// The new order of the per-sample axes, 1-based (required).
    pub dims: Vec<usize>,
}

impl LayerConfig for PermuteConfig {
    const CLASS: &'static str = "Permute";
    fn check_raw(config: &serde_json::Value) -> Result<()> {
        cfg_field(config, Self::CLASS, "dims").map(|_| ())
    }
}

impl Permute {
    /// A permutation of `1..=rank` (the batch axis stays first).
    pub fn new(dims: &[usize]) -> Self {
        Self {
            config: PermuteConfig {
                dims: dims.to_vec(),
                ..PermuteConfig::default()
            },
        }
    }
    /// Sets the layer's name.
    pub fn name(mut self, name: &str) -> Self {
        self.config.name = name.to_string();
        self
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        parse(config).map(|config| Self { config })
    }
}

impl<B: Backend> Layer<B> for Permute {
    layer_identity!("Permute");
    fn validate(&self) -> Result<()> {
        let mut sorted = self.config.dims.clone();
        sorted.sort_unstable();
        if sorted != (1..=self.config.dims.len()).collect::<Vec<_>>() {
            return Err(Error::invalid(
                &self.config.name,
                "dims",
                format!(
                    "must be a permutation of 1..={} (1-based, the batch axis excluded), got {:?}",
                    self.config.dims.len(),
                    self.config.dims
                ),
            ));
        }
        Ok(())
    }
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildContext) -> Result<()> {
        Layer::<B>::validate(self)?;
        Layer::<B>::output_shape(self, input_shape).map(|_| ())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.len() != self.config.dims.len() {
            return Err(Error::shape(
                &self.config.name,
                "input",
                format!(
                    "rank {} per sample for dims {:?}",
                    self.config.dims.len(),
                    self.config.dims
                ),
                input_shape,
            ));
        }
        Ok(self
            .config
            .dims
            .iter()
            .map(|&d| input_shape[d - 1])
            .collect())
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        if x.rank() != self.config.dims.len() + 1 {
            return Err(Error::shape(
                &self.config.name,
                "input",
                format!(
                    "rank {} [batch, ...] for dims {:?}",
                    self.config.dims.len() + 1,
                    self.config.dims
                ),
                &x.shape(),
            ));
        }
        let axes: Vec<usize> = std::iter::once(0)
            .chain(self.config.dims.iter().copied())
            .collect();
        x.permute(&axes)
    }
    fn get_config(&self) -> serde_json::Value {
        to_json(&self.config)
    }
}

/// Repeats a vector `n` times (Keras `RepeatVector`): `[N, F] -> [N, n, F]`.
#[derive(Debug, Clone)]
pub struct RepeatVector {
    config: RepeatVectorConfig,
}

/// The hyper-parameters of [`RepeatVector`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RepeatVectorConfig {
    /// Instance name.
    pub name: String,
    /// Number of repetitions (required).
    pub n: usize,
}

impl LayerConfig for RepeatVectorConfig {
    const CLASS: &'static str = "RepeatVector";
    fn check_raw(config: &serde_json::Value) -> Result<()> {
        super::cfg_size(config, Self::CLASS, "n").map(|_| ())
    }
}

impl RepeatVector {
    /// Repeats each sample `n` times.
    pub fn new(n: usize) -> Self {
        Self {
            config: RepeatVectorConfig {
                n,
                ..RepeatVectorConfig::default()
            },
        }
    }
    /// Sets the layer's name.
    pub fn name(mut self, name: &str) -> Self {
        self.config.name = name.to_string();
        self
    }

    /// Inverse of `get_config`.
    ///
    /// # Errors
    /// On a malformed config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        parse(config).map(|config| Self { config })
    }
}

impl<B: Backend> Layer<B> for RepeatVector {
    layer_identity!("RepeatVector");
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildContext) -> Result<()> {
        Layer::<B>::output_shape(self, input_shape).map(|_| ())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.len() != 1 {
            return Err(Error::shape(
                &self.config.name,
                "input",
                "rank 2 [batch, features]",
                input_shape,
            ));
        }
        Ok(vec![self.config.n, input_shape[0]])
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        let s = x.shape();
        if s.len() != 2 {
            return Err(Error::shape(
                &self.config.name,
                "input",
                "rank 2 [batch, features]",
                &s,
            ));
        }
        let y = x.unsqueeze(1)?.broadcast_to(&[s[0], self.config.n, s[1]])?;
        Ok(Tensor::new(B::contiguous(y.inner())?))
    }
    fn get_config(&self) -> serde_json::Value {
        to_json(&self.config)
    }
}
