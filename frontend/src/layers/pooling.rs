//! Pooling layers: `MaxPooling1D/2D`, `AveragePooling1D/2D`, `GlobalAveragePooling1D/2D`,
//! `GlobalMaxPooling1D/2D`.
//!
//! Like the convolutions, windowed pooling permutes `channels_last` inputs to the engines'
//! `[N, C, H, W]` and back. `padding("same")` follows TensorFlow/Keras: `out = ceil(in /
//! stride)` with the extra padding at the end; max pooling pads with `-inf` (padding never
//! wins), average pooling divides each window by the number of real (unpadded) entries in
//! it, as Keras/TensorFlow do.

use super::config::{
    config_methods, config_setters, layer_config, layer_identity, lowercase, parse_as, to_json,
    LayerConfig,
};
use super::conv::{
    check_data_format, check_window, expected_rank, window_setters, Axes, Dims, Rank, Size2,
    Spatial,
};
use super::{CallContext, Layer};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// Windowed max or average pooling (`RANK` 1 or 2, `MAX` true for max); use the aliases
/// [`MaxPooling1D`], [`MaxPooling2D`], [`AveragePooling1D`] and [`AveragePooling2D`].
#[derive(Debug, Clone)]
pub struct Pooling<const RANK: usize, const MAX: bool> {
    config: PoolingConfig<Axes<RANK>>,
}

/// The hyper-parameters of the windowed pooling layers (Keras' names and defaults).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, bound = "")]
pub struct PoolingConfig<R: Rank> {
    /// Instance name.
    pub name: String,
    /// Window size per spatial axis (required).
    pub pool_size: Dims<R>,
    /// Strides (default: the pool size).
    pub strides: Dims<R>,
    /// `"valid"` or `"same"` (read case-insensitively).
    #[serde(deserialize_with = "lowercase")]
    pub padding: String,
    /// `"channels_last"` or `"channels_first"` (read case-insensitively).
    #[serde(deserialize_with = "lowercase")]
    pub data_format: String,
}

impl<R: Rank> Default for PoolingConfig<R> {
    fn default() -> Self {
        Self {
            name: String::new(),
            pool_size: Dims::default(),
            strides: Dims::default(),
            padding: "valid".into(),
            data_format: "channels_last".into(),
        }
    }
}

impl<R: Rank> LayerConfig for PoolingConfig<R> {
    const CLASS: &'static str = "Pooling";
}

impl<R: Rank> PoolingConfig<R> {
    /// The window as the computations read it.
    fn spatial(&self) -> Spatial<'_> {
        Spatial {
            rank: R::N,
            kernel: self.pool_size.0,
            strides: self.strides.0,
            dilation: [1, 1],
            padding: &self.padding,
            data_format: &self.data_format,
        }
    }
}

/// 2-D max pooling over `[N, H, W, C]` (Keras `MaxPooling2D`); strides default to the pool
/// size.
///
/// ```
/// use stratanet::layers::{Layer, CallContext, MaxPooling2D};
/// use stratanet::{Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let pool = MaxPooling2D::new(2);
/// // one 4x4 single-channel image holding 0..16
/// let x = Tensor::<B>::from_vec((0..16).map(|v| v as f32).collect(), &[1, 4, 4, 1])?;
/// let y = Layer::<B>::call(&pool, &x, &mut CallContext::inference())?;
/// assert_eq!(y.shape(), vec![1, 2, 2, 1]);
/// assert_eq!(y.to_vec_f32()?, vec![5.0, 7.0, 13.0, 15.0]);
/// # Ok(())
/// # }
/// ```
pub type MaxPooling2D = Pooling<2, true>;
/// 1-D max pooling over `[N, steps, C]` (Keras `MaxPooling1D`).
pub type MaxPooling1D = Pooling<1, true>;
/// 2-D average pooling over `[N, H, W, C]` (Keras `AveragePooling2D`); with `same`
/// padding the padded entries are not counted.
pub type AveragePooling2D = Pooling<2, false>;
/// 1-D average pooling over `[N, steps, C]` (Keras `AveragePooling1D`).
pub type AveragePooling1D = Pooling<1, false>;

impl<const MAX: bool> Pooling<2, MAX> {
    /// Pooling over `pool_size` windows (`2` or `[2, 3]`), strides equal to the pool size,
    /// `valid` padding.
    pub fn new(pool_size: impl Into<Size2>) -> Self {
        Self::with_rank(pool_size.into())
    }
}

impl<const MAX: bool> Pooling<1, MAX> {
    /// Pooling over windows of `pool_size` steps, stride `pool_size`, `valid` padding.
    pub fn new(pool_size: usize) -> Self {
        Self::with_rank(Size2::from(pool_size))
    }
}

impl<const RANK: usize, const MAX: bool> Pooling<RANK, MAX> {
    fn with_rank(pool: Size2) -> Self {
        let pool_size = Dims::new(pool);
        Self::with_config(PoolingConfig {
            pool_size,
            strides: pool_size,
            ..Default::default()
        })
    }

    window_setters!(config);
    config_methods!(PoolingConfig<Axes<RANK>>, without from_config);

    fn class() -> &'static str {
        match (RANK, MAX) {
            (1, true) => "MaxPooling1D",
            (1, false) => "AveragePooling1D",
            (_, true) => "MaxPooling2D",
            (_, false) => "AveragePooling2D",
        }
    }

    /// Inverse of `get_config`; strides default to the pool size.
    ///
    /// # Errors
    /// On a malformed config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let class = Self::class();
        check_window(config, class, RANK, &["pool_size", "strides"])?;
        let mut config_read: PoolingConfig<Axes<RANK>> = parse_as(config, class)?;
        if config.get("strides").is_none_or(serde_json::Value::is_null) {
            config_read.strides = config_read.pool_size;
        }
        Ok(Self::with_config(config_read))
    }

    /// Pools `[N, C, H, W]`.
    fn pool_nchw<B: Backend>(&self, x: &Tensor<B>, pads: [(usize, usize); 2]) -> Result<Tensor<B>> {
        let (k, s) = (self.config.pool_size.0, self.config.strides.0);
        let padded = pads.iter().any(|&(b, a)| b + a > 0);
        if MAX {
            let mut xp = x.clone();
            if padded {
                for (i, &(b, a)) in pads.iter().enumerate() {
                    xp = xp.pad(2 + i as isize, b, a, f64::NEG_INFINITY)?;
                }
            }
            return Ok(Tensor::new(B::max_pool2d(xp.inner(), k, s)?));
        }
        if !padded {
            return Ok(Tensor::new(B::avg_pool2d(x.inner(), k, s)?));
        }
        // mean over the real entries: pooled zero-padded input / pooled padded ones
        let shape = x.shape();
        let mut xp = x.clone();
        let mut ones = Tensor::<B>::ones(&[1, 1, shape[2], shape[3]], x.dtype(), x.device())?;
        for (i, &(b, a)) in pads.iter().enumerate() {
            xp = xp.pad(2 + i as isize, b, a, 0.0)?;
            ones = ones.pad(2 + i as isize, b, a, 0.0)?;
        }
        let sum = Tensor::new(B::avg_pool2d(xp.inner(), k, s)?);
        let count = Tensor::new(B::avg_pool2d(ones.inner(), k, s)?);
        sum.div(&count)
    }

    fn channels<B: Backend>(&self, x: &Tensor<B>) -> Result<usize> {
        let s = x.shape();
        let spatial = self.config.spatial();
        if s.len() != RANK + 2 {
            return Err(Error::shape(
                &self.config.name,
                "input",
                spatial.expected(None),
                &s,
            ));
        }
        Ok(if spatial.channels_last() {
            s[RANK + 1]
        } else {
            s[1]
        })
    }
}

impl<B: Backend, const RANK: usize, const MAX: bool> Layer<B> for Pooling<RANK, MAX> {
    layer_identity!(Self::class());
    fn validate(&self) -> Result<()> {
        self.config.spatial().validate(&self.config.name, false)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (name, spatial) = (&self.config.name, self.config.spatial());
        let (hw, c) = spatial.split(name, input_shape, None)?;
        let (out, _) = spatial.window(name, hw, input_shape)?;
        Ok(spatial.join(out, c))
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        let (name, spatial) = (&self.config.name, self.config.spatial());
        let c = self.channels(x)?;
        if MAX && RANK == 2 && spatial.channels_last() {
            let s = x.shape();
            let (_, pads) = spatial.window(name, [s[1], s[2]], &s)?;
            if pads.iter().all(|&(b, a)| b + a == 0) {
                let (k, st) = (self.config.pool_size.0, self.config.strides.0);
                return Ok(Tensor::new(B::max_pool2d_nhwc(x.inner(), k, st)?));
            }
        }
        let xs = spatial.to_nchw(name, x, c)?;
        let s = xs.shape();
        let (_, pads) = spatial.window(name, [s[2], s[3]], &x.shape())?;
        let y = self.pool_nchw(&xs, pads)?;
        spatial.nchw_to_layout(&y)
    }
    fn get_config(&self) -> serde_json::Value {
        to_json(&self.config)
    }
}

/// Global max or average pooling over the spatial axes (`RANK` 1 or 2, `MAX` true for max);
/// use the aliases [`GlobalMaxPooling1D`], [`GlobalMaxPooling2D`],
/// [`GlobalAveragePooling1D`] and [`GlobalAveragePooling2D`].
#[derive(Debug, Clone)]
pub struct GlobalPooling<const RANK: usize, const MAX: bool> {
    config: GlobalPoolingConfig,
}

layer_config! {
    /// The hyper-parameters of the global pooling layers (Keras' names and defaults).
    pub struct GlobalPoolingConfig for "GlobalPooling" {
        /// `"channels_last"` or `"channels_first"` (read case-insensitively).
        #[serde(deserialize_with = "lowercase")]
        data_format: String = "channels_last".into(),
        /// Whether the pooled axes are kept with size 1.
        keepdims: bool = false,
    }
}

/// Mean over height and width: `[N, H, W, C] -> [N, C]` (Keras `GlobalAveragePooling2D`).
pub type GlobalAveragePooling2D = GlobalPooling<2, false>;
/// Mean over the steps: `[N, T, C] -> [N, C]` (Keras `GlobalAveragePooling1D`).
pub type GlobalAveragePooling1D = GlobalPooling<1, false>;
/// Max over height and width: `[N, H, W, C] -> [N, C]` (Keras `GlobalMaxPooling2D`).
pub type GlobalMaxPooling2D = GlobalPooling<2, true>;
/// Max over the steps: `[N, T, C] -> [N, C]` (Keras `GlobalMaxPooling1D`).
pub type GlobalMaxPooling1D = GlobalPooling<1, true>;

impl<const RANK: usize, const MAX: bool> Default for GlobalPooling<RANK, MAX> {
    fn default() -> Self {
        Self {
            config: GlobalPoolingConfig::default(),
        }
    }
}

impl<const RANK: usize, const MAX: bool> GlobalPooling<RANK, MAX> {
    /// A global pooling layer (channels last, spatial axes dropped).
    pub fn new() -> Self {
        Self::default()
    }

    config_setters! {
        /// Keep the pooled axes with size 1 (default `false`).
        keepdims: bool,
        /// `"channels_last"` (default) or `"channels_first"`.
        data_format: lowercase,
    }
    config_methods!(GlobalPoolingConfig, class: Self::class());

    fn class() -> &'static str {
        match (RANK, MAX) {
            (1, true) => "GlobalMaxPooling1D",
            (1, false) => "GlobalAveragePooling1D",
            (_, true) => "GlobalMaxPooling2D",
            (_, false) => "GlobalAveragePooling2D",
        }
    }

    /// Spatial axes within a per-sample shape (batch excluded).
    fn spatial_axes(&self) -> Vec<usize> {
        if self.config.data_format == "channels_last" {
            (0..RANK).collect()
        } else {
            (1..=RANK).collect()
        }
    }

    fn expected(&self) -> String {
        expected_rank(RANK, &self.config.data_format)
    }
}

impl<B: Backend, const RANK: usize, const MAX: bool> Layer<B> for GlobalPooling<RANK, MAX> {
    layer_identity!(Self::class());
    fn validate(&self) -> Result<()> {
        check_data_format(&self.config.name, &self.config.data_format)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.len() != RANK + 1 {
            return Err(Error::shape(
                &self.config.name,
                "input",
                self.expected(),
                input_shape,
            ));
        }
        let axes = self.spatial_axes();
        Ok(input_shape
            .iter()
            .enumerate()
            .filter_map(|(i, &d)| match (axes.contains(&i), self.config.keepdims) {
                (true, true) => Some(1),
                (true, false) => None,
                (false, _) => Some(d),
            })
            .collect())
    }
    fn call(&self, x: &Tensor<B>, _ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        if x.rank() != RANK + 2 {
            return Err(Error::shape(
                &self.config.name,
                "input",
                self.expected(),
                &x.shape(),
            ));
        }
        let axes: Vec<isize> = self
            .spatial_axes()
            .iter()
            .map(|&a| a as isize + 1)
            .collect();
        if MAX {
            x.max(&axes, self.config.keepdims)
        } else {
            x.mean(&axes, self.config.keepdims)
        }
    }
    fn get_config(&self) -> serde_json::Value {
        to_json(&self.config)
    }
}
