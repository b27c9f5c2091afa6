//! Deterministic image preprocessing layers (Keras 3 names and semantics): [`Rescaling`],
//! [`Resizing`] and [`CenterCrop`]. Images are `channels_last`: batches
//! `[batch, height, width, channels]`.
//!
//! Resizing runs on the engine: the source pixels and weights of every output pixel are
//! worked out once on the host (`sampling`), then one `index_select` and a weighted sum
//! produce the output on the model's device.

use super::sampling::{self, Interpolation};
use crate::backend::{Backend, DType};
use crate::error::{Error, Result};
use crate::layers::config::{config_methods, config_setters, layer_config, layer_identity};
use crate::layers::{cfg_size, CallContext, Layer};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// A number, or one number per channel (Keras accepts either for `Rescaling`'s `scale`
/// and `offset`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PerChannel {
    /// The same value for every channel.
    One(f64),
    /// One value per channel (the last axis).
    Channels(Vec<f64>),
}

impl Default for PerChannel {
    fn default() -> Self {
        Self::One(0.0)
    }
}

impl From<f64> for PerChannel {
    fn from(v: f64) -> Self {
        Self::One(v)
    }
}

impl From<Vec<f64>> for PerChannel {
    fn from(v: Vec<f64>) -> Self {
        Self::Channels(v)
    }
}

/// The input as the image layers compute with it: the policy's compute dtype when one is
/// set, otherwise the input's own float dtype, `f32` for integer pixels (Keras casts to
/// the layer's compute dtype).
pub(crate) fn float_input<B: Backend>(x: &Tensor<B>, ctx: &CallContext) -> Result<Tensor<B>> {
    let want = match ctx.compute_dtype() {
        Some(d) => d,
        None if x.dtype().is_float() => return Ok(x.clone()),
        None => DType::F32,
    };
    if x.dtype() == want {
        Ok(x.clone())
    } else {
        x.to_dtype(want)
    }
}

/// `(batch, height, width, channels)` of a batch of images, or a shape error naming the
/// layer.
pub(crate) fn image_dims(layer: &str, shape: &[usize]) -> Result<(usize, usize, usize, usize)> {
    match *shape {
        [n, h, w, c] if h > 0 && w > 0 => Ok((n, h, w, c)),
        _ => Err(Error::shape(
            layer,
            "input",
            "images [batch, height, width, channels] (channels_last) with height and width >= 1",
            shape,
        )),
    }
}

/// The per-sample shape check of the image layers (`[height, width, channels]`).
pub(crate) fn sample_dims(layer: &str, shape: &[usize]) -> Result<(usize, usize, usize)> {
    match *shape {
        [h, w, c] if h > 0 && w > 0 => Ok((h, w, c)),
        _ => Err(Error::shape(
            layer,
            "input",
            "per-sample images [height, width, channels] (channels_last) with height and width >= 1",
            shape,
        )),
    }
}

/// Output sizes beyond [`crate::limits::MAX_UNSAVED_ELEMENTS`] pixels are refused (a
/// hostile config must not make `call` allocate without bound).
fn check_output_size(layer: &str, height: usize, width: usize) -> Result<()> {
    crate::layers::check_positive(layer, "height", height)?;
    crate::layers::check_positive(layer, "width", width)?;
    match height.checked_mul(width) {
        Some(p) if p <= crate::limits::MAX_UNSAVED_ELEMENTS => Ok(()),
        _ => Err(Error::invalid(
            layer,
            "height",
            format!(
                "an output of {height} x {width} pixels is larger than the limit of {} pixels",
                crate::limits::MAX_UNSAVED_ELEMENTS
            ),
        )),
    }
}

/// Only `channels_last` images are supported.
pub(crate) fn check_channels_last(layer: &str, data_format: &str) -> Result<()> {
    if data_format != "channels_last" {
        return Err(Error::invalid(
            layer,
            "data_format",
            format!(
                "'{data_format}' is not supported: the image layers take channels_last images \
                 [batch, height, width, channels]"
            ),
        ));
    }
    Ok(())
}

// ------------------------------------------------------------------------ Rescaling

/// Multiplies its input by `scale` and adds `offset` (Keras `Rescaling`): `x * scale +
/// offset`, in the compute dtype (integer pixels become `f32`). Each of `scale` and
/// `offset` is a number or one number per channel (the last axis).
///
/// ```
/// use stratanet::{layers::{Rescaling, Layer, CallContext}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let layer = Rescaling::new(1.0 / 127.5, -1.0);
/// let x = Tensor::<B>::from_vec(vec![0.0f32, 127.5, 255.0], &[1, 3])?;
/// let y = Layer::<B>::call(&layer, &x, &mut CallContext::inference())?.to_vec_f32()?;
/// assert_eq!(y, vec![-1.0, 0.0, 1.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Rescaling {
    config: RescalingConfig,
}

layer_config! {
    /// The hyper-parameters of [`Rescaling`] (Keras' names and defaults).
    pub struct RescalingConfig for "Rescaling" {
        /// The factor (required): a number or one per channel.
        scale: PerChannel = PerChannel::One(1.0),
        /// Added after scaling: a number or one per channel.
        offset: PerChannel = PerChannel::One(0.0),
    }
    check(config) {
        if config.get("scale").is_none() {
            return Err(Error::config("Rescaling.scale", "missing field"));
        }
        Ok(())
    }
}

impl Rescaling {
    /// `x * scale + offset`.
    pub fn new(scale: f64, offset: f64) -> Self {
        Self::with_config(RescalingConfig {
            scale: PerChannel::One(scale),
            offset: PerChannel::One(offset),
            ..Default::default()
        })
    }

    /// Per-channel `scale` and `offset` (each a number or one value per channel).
    pub fn per_channel(scale: impl Into<PerChannel>, offset: impl Into<PerChannel>) -> Self {
        Self::with_config(RescalingConfig {
            scale: scale.into(),
            offset: offset.into(),
            ..Default::default()
        })
    }

    config_methods!(RescalingConfig);

    /// `v` as an operand of `x`: a host number, or a per-channel tensor.
    fn operand<B: Backend>(
        &self,
        v: &PerChannel,
        arg: &str,
        x: &Tensor<B>,
    ) -> Result<std::result::Result<f64, Tensor<B>>> {
        match v {
            PerChannel::One(v) => Ok(Ok(*v)),
            PerChannel::Channels(vals) => {
                let s = x.shape();
                if s.last() != Some(&vals.len()) {
                    return Err(Error::shape(
                        &self.config.name,
                        "input",
                        format!(
                            "a last axis of {} channels (the length of {arg})",
                            vals.len()
                        ),
                        &s,
                    ));
                }
                let t = Tensor::<B>::from_vec_on(
                    vals.iter().map(|&v| v as f32).collect::<Vec<f32>>(),
                    &[vals.len()],
                    x.device(),
                )?;
                Ok(Err(t.to_dtype(x.dtype())?))
            }
        }
    }
}

impl<B: Backend> Layer<B> for Rescaling {
    layer_identity!("Rescaling");
    fn validate(&self) -> Result<()> {
        for (arg, v) in [
            ("scale", &self.config.scale),
            ("offset", &self.config.offset),
        ] {
            let finite = match v {
                PerChannel::One(v) => v.is_finite(),
                PerChannel::Channels(vs) => !vs.is_empty() && vs.iter().all(|v| v.is_finite()),
            };
            if !finite {
                return Err(Error::invalid(
                    &self.config.name,
                    arg,
                    format!("must be a finite number or a non-empty list of them, got {v:?}"),
                ));
            }
        }
        Ok(())
    }
    crate::layers::config::shape_preserving!();
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        let x = float_input(x, ctx)?;
        let scaled = match self.operand(&self.config.scale, "scale", &x)? {
            Ok(s) => x.mul_scalar(s)?,
            Err(t) => x.mul(&t)?,
        };
        match self.operand(&self.config.offset, "offset", &x)? {
            Ok(0.0) => Ok(scaled),
            Ok(o) => scaled.add_scalar(o),
            Err(t) => scaled.add(&t),
        }
    }
}

// ------------------------------------------------------------------------- Resizing

/// Resizes images to `height x width` (Keras `Resizing`): bilinear with half-pixel
/// centres and no antialiasing by default (as `tf.image.resize` and torch's
/// `interpolate(align_corners=False)`), or `"nearest"`. With `crop_to_aspect_ratio` the
/// largest centred window of the target's aspect ratio is resized (no distortion); with
/// `pad_to_aspect_ratio` the image is padded with `fill_value` to that ratio instead.
/// The output is in the compute dtype.
///
/// ```
/// use stratanet::{layers::{Resizing, Layer, CallContext}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// // One 2 x 2 grey image to 1 x 1: the mean of its pixels.
/// let x = Tensor::<B>::from_vec(vec![0.0f32, 1.0, 2.0, 3.0], &[1, 2, 2, 1])?;
/// let y = Layer::<B>::call(&Resizing::new(1, 1), &x, &mut CallContext::inference())?;
/// assert_eq!(y.shape(), vec![1, 1, 1, 1]);
/// assert_eq!(y.to_vec_f32()?, vec![1.5]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Resizing {
    config: ResizingConfig,
}

layer_config! {
    /// The hyper-parameters of [`Resizing`] (Keras' names and defaults).
    pub struct ResizingConfig for "Resizing" {
        /// Output height (required).
        height: usize = 1,
        /// Output width (required).
        width: usize = 1,
        /// `"bilinear"` or `"nearest"`.
        interpolation: String = "bilinear".into(),
        /// Resize the largest centred window with the output's aspect ratio.
        crop_to_aspect_ratio: bool = false,
        /// Pad to the output's aspect ratio (with `fill_value`) before resizing.
        pad_to_aspect_ratio: bool = false,
        /// How padding is filled: only `"constant"`.
        fill_mode: String = "constant".into(),
        /// The padding value.
        fill_value: f64 = 0.0,
        /// Antialiasing when downsampling: not supported (`false`).
        antialias: bool = false,
        /// Only `"channels_last"`.
        data_format: String = "channels_last".into(),
    }
    check(config) {
        cfg_size(config, "Resizing", "height")?;
        cfg_size(config, "Resizing", "width").map(|_| ())
    }
}

impl Resizing {
    /// Resizes to `height x width` (bilinear).
    pub fn new(height: usize, width: usize) -> Self {
        Self::with_config(ResizingConfig {
            height,
            width,
            ..Default::default()
        })
    }

    config_setters! {
        /// `"bilinear"` (default) or `"nearest"`.
        interpolation: lowercase,
        /// Crop to the output's aspect ratio before resizing (default `false`).
        crop_to_aspect_ratio: bool,
        /// Pad to the output's aspect ratio before resizing (default `false`).
        pad_to_aspect_ratio: bool,
        /// The padding value of `pad_to_aspect_ratio` (default 0).
        fill_value: f64,
    }
    config_methods!(ResizingConfig);
}

/// Resizes a batch of images `[n, h, w, c]` to `[n, out_h, out_w, c]` on the engine.
pub(crate) fn resize_images<B: Backend>(
    x: &Tensor<B>,
    out_h: usize,
    out_w: usize,
    interp: Interpolation,
    crop: bool,
    pad: bool,
    fill_value: f64,
) -> Result<Tensor<B>> {
    let s = x.shape();
    let (h, w) = (s[1], s[2]);
    let window = crop.then(|| sampling::aspect_crop(h, w, out_h, out_w));
    let padded = pad.then(|| sampling::aspect_pad(h, w, out_h, out_w));
    if window.is_none() && padded.is_none() && (h, w) == (out_h, out_w) {
        return Ok(x.clone());
    }
    let plan = sampling::resize_plan(h, w, out_h, out_w, interp, window, padded);
    sampling::apply(x, &plan, true, out_h, out_w, fill_value)
}

impl<B: Backend> Layer<B> for Resizing {
    layer_identity!("Resizing");
    fn validate(&self) -> Result<()> {
        let c = &self.config;
        check_output_size(&c.name, c.height, c.width)?;
        Interpolation::parse(&c.name, "interpolation", &c.interpolation)?;
        check_channels_last(&c.name, &c.data_format)?;
        if c.crop_to_aspect_ratio && c.pad_to_aspect_ratio {
            return Err(Error::invalid(
                &c.name,
                "crop_to_aspect_ratio",
                "only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be true",
            ));
        }
        if c.fill_mode != "constant" {
            return Err(Error::invalid(
                &c.name,
                "fill_mode",
                format!("only \"constant\" is supported, got '{}'", c.fill_mode),
            ));
        }
        if c.antialias {
            return Err(Error::invalid(
                &c.name,
                "antialias",
                "antialiasing is not supported (resize with antialias=false)",
            ));
        }
        Ok(())
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (_, _, c) = sample_dims(&self.config.name, input_shape)?;
        Ok(vec![self.config.height, self.config.width, c])
    }
    fn get_config(&self) -> serde_json::Value {
        crate::layers::config::to_json(&self.config)
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        image_dims(&self.config.name, &x.shape())?;
        let c = &self.config;
        let interp = Interpolation::parse(&c.name, "interpolation", &c.interpolation)?;
        resize_images(
            &float_input(x, ctx)?,
            c.height,
            c.width,
            interp,
            c.crop_to_aspect_ratio,
            c.pad_to_aspect_ratio,
            c.fill_value,
        )
    }
}

// ------------------------------------------------------------------------ CenterCrop

/// Crops the central `height x width` window of each image (Keras `CenterCrop`); an image
/// smaller than that on either side is instead cropped to the target's aspect ratio and
/// resized bilinearly (Keras' `smart_resize`). The output is in the compute dtype.
///
/// ```
/// use stratanet::{layers::{CenterCrop, Layer, CallContext}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let x = Tensor::<B>::from_vec((0..16).map(|v| v as f32).collect(), &[1, 4, 4, 1])?;
/// let y = Layer::<B>::call(&CenterCrop::new(2, 2), &x, &mut CallContext::inference())?;
/// assert_eq!(y.to_vec_f32()?, vec![5.0, 6.0, 9.0, 10.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CenterCrop {
    config: CenterCropConfig,
}

layer_config! {
    /// The hyper-parameters of [`CenterCrop`] (Keras' names and defaults).
    pub struct CenterCropConfig for "CenterCrop" {
        /// Output height (required).
        height: usize = 1,
        /// Output width (required).
        width: usize = 1,
        /// Only `"channels_last"`.
        data_format: String = "channels_last".into(),
    }
    check(config) {
        cfg_size(config, "CenterCrop", "height")?;
        cfg_size(config, "CenterCrop", "width").map(|_| ())
    }
}

impl CenterCrop {
    /// Crops the central `height x width` window.
    pub fn new(height: usize, width: usize) -> Self {
        Self::with_config(CenterCropConfig {
            height,
            width,
            ..Default::default()
        })
    }
    config_methods!(CenterCropConfig);
}

impl<B: Backend> Layer<B> for CenterCrop {
    layer_identity!("CenterCrop");
    fn validate(&self) -> Result<()> {
        let c = &self.config;
        check_output_size(&c.name, c.height, c.width)?;
        check_channels_last(&c.name, &c.data_format)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (_, _, c) = sample_dims(&self.config.name, input_shape)?;
        Ok(vec![self.config.height, self.config.width, c])
    }
    fn get_config(&self) -> serde_json::Value {
        crate::layers::config::to_json(&self.config)
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        let (_, h, w, _) = image_dims(&self.config.name, &x.shape())?;
        let (th, tw) = (self.config.height, self.config.width);
        let x = float_input(x, ctx)?;
        if h >= th && w >= tw {
            return x.narrow(1, (h - th) / 2, th)?.narrow(2, (w - tw) / 2, tw);
        }
        resize_images(&x, th, tw, Interpolation::Bilinear, true, false, 0.0)
    }
}
