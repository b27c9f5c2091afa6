//! Single-input reshaping layers: `ZeroPadding2D`, `UpSampling2D`, `Permute`,
//! `RepeatVector`.

use super::config::{
    config_methods, config_setters, layer_config, layer_identity, lowercase, to_json, LayerConfig,
};
use super::conv::{cfg_str, check_data_format, Axes, Dims, Size2};
use super::{cfg_field, CallContext, Layer};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde::Deserialize;

/// The spatial axes (in the per-sample shape) of an image in `data_format`, once `shape`
/// is checked to have rank `rank` (3 per sample, 4 for a batch).
fn image_shape(layer: &str, data_format: &str, shape: &[usize], rank: usize) -> Result<[usize; 2]> {
    let channels_first = data_format == "channels_first";
    if shape.len() != rank {
        let expected = if channels_first {
            "rank 4 [batch, channels, height, width]"
        } else {
            "rank 4 [batch, height, width, channels]"
        };
        return Err(Error::shape(layer, "input", expected, shape));
    }
    Ok(if channels_first { [1, 2] } else { [0, 1] })
}

/// Pads images with zero rows and columns (Keras `ZeroPadding2D`):
/// `((top, bottom), (left, right))`.
#[derive(Debug, Clone)]
pub struct ZeroPadding2D {
    config: ZeroPadding2DConfig,
}

layer_config! {
    /// The hyper-parameters of [`ZeroPadding2D`] (Keras' names and defaults).
    pub struct ZeroPadding2DConfig for "ZeroPadding2D" {
        /// `[(top, bottom), (left, right)]`, written `[[t, b], [l, r]]` and read from Keras'
        /// `n`, `[h, w]` or `[[t, b], [l, r]]` (required).
        #[serde(deserialize_with = "padding_field")]
        padding: [(usize, usize); 2] = [(1, 1), (1, 1)],
        /// `"channels_last"` or `"channels_first"` (read case-insensitively).
        #[serde(deserialize_with = "lowercase")]
        data_format: String = "channels_last".into(),
    }
    check(config) {
        let p = cfg_field(config, "ZeroPadding2D", "padding")?;
        padding_pairs(p, &super::cfg_label(config, "ZeroPadding2D")).map(|_| ())
    }
}

/// Reads Keras' `n`, `[h, w]` or `[[t, b], [l, r]]` padding; `label` names the layer in
/// errors.
fn padding_pairs(p: &serde_json::Value, label: &str) -> Result<[(usize, usize); 2]> {
    let bad = || {
        Error::config(
            "ZeroPadding2D.padding",
            "expected n, [h, w] or [[t, b], [l, r]]",
        )
    };
    let size = |v: &serde_json::Value| crate::limits::size_value(v, label, "padding", 0);
    if p.is_number() {
        let n = size(p)?;
        return Ok([(n, n), (n, n)]);
    }
    let outer = p.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
    if outer.iter().all(|v| v.is_number()) {
        let (h, w) = (size(&outer[0])?, size(&outer[1])?);
        return Ok([(h, h), (w, w)]);
    }
    let pair = |v: &serde_json::Value| -> Result<(usize, usize)> {
        let a = v.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
        Ok((size(&a[0])?, size(&a[1])?))
    };
    Ok([pair(&outer[0])?, pair(&outer[1])?])
}

fn padding_field<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<[(usize, usize); 2], D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    padding_pairs(&v, ZeroPadding2DConfig::CLASS).map_err(crate::error::field_error)
}

impl ZeroPadding2D {
    /// The same `padding` on every side.
    pub fn new(padding: usize) -> Self {
        Self::asymmetric([(padding, padding), (padding, padding)])
    }
    /// `[(top, bottom), (left, right)]`.
    pub fn asymmetric(padding: [(usize, usize); 2]) -> Self {
        Self::with_config(ZeroPadding2DConfig {
            padding,
            ..Default::default()
        })
    }
    config_setters! {
        /// `"channels_last"` (default) or `"channels_first"`.
        data_format: lowercase,
    }
    config_methods!(ZeroPadding2DConfig);
}

impl<B: Backend> Layer<B> for ZeroPadding2D {
    layer_identity!("ZeroPadding2D");
    fn validate(&self) -> Result<()> {
        check_data_format(&self.config.name, &self.config.data_format)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (name, padding) = (&self.config.name, self.config.padding);
        let axes = image_shape(name, &self.config.data_format, input_shape, 3)?;
        let mut out = input_shape.to_vec();
        for (i, a) in axes.into_iter().enumerate() {
            let pad = crate::limits::add(name, "padding", padding[i].0, padding[i].1)?;
            out[a] = crate::limits::add(name, "padding", out[a], pad)?;
        }
        Ok(out)
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        let (name, padding) = (&self.config.name, self.config.padding);
        let axes = image_shape(name, &self.config.data_format, &x.shape(), 4)?;
        let mut y = x.clone();
        for (i, a) in axes.into_iter().enumerate() {
            y = y.pad(a as isize + 1, padding[i].0, padding[i].1, 0.0)?;
        }
        Ok(y)
    }
    fn get_config(&self) -> serde_json::Value {
        to_json(&self.config)
    }
}

/// Repeats image rows and columns (Keras `UpSampling2D`, nearest interpolation):
/// `[N, H, W, C] -> [N, H * sh, W * sw, C]`.
#[derive(Debug, Clone)]
pub struct UpSampling2D {
    config: UpSampling2DConfig,
}

layer_config! {
    /// The hyper-parameters of [`UpSampling2D`] (Keras' names and defaults).
    pub struct UpSampling2DConfig for "UpSampling2D" {
        /// Upsampling factors `(sh, sw)`.
        size: Dims<Axes<2>> = Dims::new(2),
        /// `"channels_last"` or `"channels_first"` (read case-insensitively).
        #[serde(deserialize_with = "lowercase")]
        data_format: String = "channels_last".into(),
        /// Only `"nearest"` is supported.
        interpolation: String = "nearest".into(),
    }
    check(config) {
        super::conv::cfg_sizes(config, "UpSampling2D", "size", 2)?;
        match cfg_str(config, "interpolation") {
            Some(i) if i != "nearest" => Err(Error::config(
                "UpSampling2D.interpolation",
                format!("only \"nearest\" is supported, got {i:?}"),
            )),
            _ => Ok(()),
        }
    }
}

impl UpSampling2D {
    /// Upsampling factors `(sh, sw)` (Keras' default is `(2, 2)`).
    pub fn new(size: impl Into<Size2>) -> Self {
        Self::with_config(UpSampling2DConfig {
            size: Dims::new(size),
            ..Default::default()
        })
    }
    config_setters! {
        /// `"channels_last"` (default) or `"channels_first"`.
        data_format: lowercase,
    }
    config_methods!(UpSampling2DConfig);
}

impl<B: Backend> Layer<B> for UpSampling2D {
    layer_identity!("UpSampling2D");
    fn validate(&self) -> Result<()> {
        let size = self.config.size.0;
        if size.contains(&0) {
            return Err(Error::invalid(
                &self.config.name,
                "size",
                format!("must be positive, got {size:?}"),
            ));
        }
        check_data_format(&self.config.name, &self.config.data_format)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (name, size) = (&self.config.name, self.config.size.0);
        let axes = image_shape(name, &self.config.data_format, input_shape, 3)?;
        let mut out = input_shape.to_vec();
        for (i, a) in axes.into_iter().enumerate() {
            out[a] = crate::limits::mul(name, "size", out[a], size[i])?;
        }
        Ok(out)
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        let (name, size) = (&self.config.name, self.config.size.0);
        let s = x.shape();
        // [N, H, W, C] -> [N, H, 1, W, 1, C] -> broadcast -> [N, H*sh, W*sw, C]
        // (channels_first: the same with the channel axis in front).
        let [ha, wa] = image_shape(name, &self.config.data_format, &s, 4)?.map(|a| a + 1);
        let mut expanded = Vec::with_capacity(6);
        let mut target = Vec::with_capacity(6);
        for (i, &d) in s.iter().enumerate() {
            expanded.push(d);
            target.push(d);
            if i == ha || i == wa {
                let f = if i == ha { size[0] } else { size[1] };
                expanded.push(1);
                target.push(f);
            }
        }
        let mut out = s.clone();
        out[ha] *= size[0];
        out[wa] *= size[1];
        let y = x.reshape_to(&expanded)?.broadcast_to(&target)?;
        let y = Tensor::new(B::contiguous(y.inner())?);
        y.reshape_to(&out)
    }
    fn get_config(&self) -> serde_json::Value {
        to_json(&self.config)
    }
}

/// Reorders the per-sample axes (Keras `Permute`); `dims` are 1-based like Keras':
/// `Permute::new(&[2, 1])` swaps the two axes of `[N, A, B]` samples.
#[derive(Debug, Clone)]
pub struct Permute {
    config: PermuteConfig,
}

layer_config! {
    /// The hyper-parameters of [`Permute`].
    pub struct PermuteConfig for "Permute" {
        /// The new order of the per-sample axes, 1-based (required).
        dims: Vec<usize> = Default::default(),
    }
    check(config) {
        cfg_field(config, "Permute", "dims").map(|_| ())
    }
}

impl Permute {
    /// A permutation of `1..=rank` (the batch axis stays first).
    pub fn new(dims: &[usize]) -> Self {
        Self::with_config(PermuteConfig {
            dims: dims.to_vec(),
            ..Default::default()
        })
    }
    config_methods!(PermuteConfig);
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

layer_config! {
    /// The hyper-parameters of [`RepeatVector`].
    pub struct RepeatVectorConfig for "RepeatVector" {
        /// Number of repetitions (required).
        n: usize = Default::default(),
    }
    check(config) {
        super::cfg_size(config, "RepeatVector", "n").map(|_| ())
    }
}

impl RepeatVector {
    /// Repeats each sample `n` times.
    pub fn new(n: usize) -> Self {
        Self::with_config(RepeatVectorConfig {
            n,
            ..Default::default()
        })
    }
    config_methods!(RepeatVectorConfig);
}

impl<B: Backend> Layer<B> for RepeatVector {
    layer_identity!("RepeatVector");
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
