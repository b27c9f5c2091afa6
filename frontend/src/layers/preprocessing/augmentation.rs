//! Random image augmentation layers (Keras 3 names and semantics): [`RandomFlip`],
//! [`RandomRotation`], [`RandomZoom`], [`RandomTranslation`], [`RandomContrast`],
//! [`RandomBrightness`]. Images are `channels_last` batches `[batch, height, width,
//! channels]`.
//!
//! Like `Dropout`, they act only in training (`CallContext::training`, which `fit` sets);
//! at inference they return their input (in the compute dtype). Each call draws one set of
//! parameters per image (an angle, a zoom, a shift, a contrast or brightness factor, a
//! flip) from the frontend's seeded host generator, seeded by the layer's `seed` mixed
//! with the call's seed (or the call's alone), so the same seeds give the same
//! augmentation on both engines.
//!
//! The geometric layers are Keras' affine transform: each output pixel reads the input at
//! a transformed point, bilinearly (or nearest) interpolated, with points outside the
//! image filled by `fill_mode` (`reflect`, `wrap`, `constant`, `nearest`). The source
//! indices and weights are computed on the host per batch (`sampling`); the pixels are
//! gathered and weighted on the engine (`index_select` and a sum), so images stay on the
//! model's device.

use super::image::{check_channels_last, float_input, image_dims, sample_dims};
use super::sampling::{self, FillMode, Interpolation};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::layers::config::{
    config_methods, config_setters, layer_config, layer_identity, shape_preserving,
};
use crate::layers::regularization::op_seed;
use crate::layers::{CallContext, Layer};
use crate::random::Rng;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// A factor of a random layer (Keras' `factor`, `height_factor`, ...): one number `f`
/// (the range `[-f, f]`, clipped to what the layer allows) or an explicit range
/// `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Factor {
    /// `f`: the range `[-|f|, |f|]`.
    One(f64),
    /// `[low, high]` (given in either order).
    Range(f64, f64),
}

impl Default for Factor {
    fn default() -> Self {
        Self::One(0.0)
    }
}

impl From<f64> for Factor {
    fn from(f: f64) -> Self {
        Self::One(f)
    }
}

impl From<(f64, f64)> for Factor {
    fn from((a, b): (f64, f64)) -> Self {
        Self::Range(a, b)
    }
}

impl Factor {
    /// Keras' base-layer rule (`_set_factor`, bounds `[min, max]`): a number must lie in
    /// the bounds and gives `[max(-|f|, min), |f|]`; a range must overlap them and is
    /// sorted.
    fn base_bounds(self, layer: &str, arg: &str, min: f64, max: f64) -> Result<(f64, f64)> {
        let bad = || {
            Error::invalid(
                layer,
                arg,
                format!("must be a number or a pair of numbers in [{min}, {max}], got {self:?}"),
            )
        };
        match self {
            Factor::One(f) if f.is_finite() && (min..=max).contains(&f) => {
                Ok(((-f.abs()).max(min), f.abs()))
            }
            Factor::Range(a, b) if a.is_finite() && b.is_finite() && a <= max && b >= min => {
                Ok((a.min(b), a.max(b)))
            }
            _ => Err(bad()),
        }
    }

    /// The rule of `RandomZoom`/`RandomTranslation`: every number in `(low_open ? (-1, 1]
    /// : [-1, 1])`; a number `f` gives `[-|f|, |f|]`.
    fn symmetric_bounds(self, layer: &str, arg: &str, open_low: bool) -> Result<(f64, f64)> {
        let ok = |v: f64| v.is_finite() && v <= 1.0 && if open_low { v > -1.0 } else { v >= -1.0 };
        let range = if open_low { "(-1, 1]" } else { "[-1, 1]" };
        let bad = || {
            Error::invalid(
                layer,
                arg,
                format!("must be a number or a pair of numbers in {range}, got {self:?}"),
            )
        };
        match self {
            Factor::One(f) if ok(f) => Ok((-f.abs(), f.abs())),
            Factor::Range(a, b) if ok(a) && ok(b) => Ok((a.min(b), a.max(b))),
            _ => Err(bad()),
        }
    }
}

/// A sorted `(low, high)` range of draws.
type Bounds = (f64, f64);

/// `n` draws uniform in `[low, high)` (exactly `low` when the range is empty).
fn draws(rng: &mut Rng, n: usize, (low, high): (f64, f64)) -> Vec<f64> {
    (0..n)
        .map(|_| {
            if high > low {
                rng.uniform(low, high)
            } else {
                low
            }
        })
        .collect()
}

/// The seeded generator of one call.
fn call_rng(seed: Option<u64>, ctx: &mut CallContext) -> Rng {
    Rng::new(op_seed(seed, ctx))
}

/// A per-image `[n, 1, 1, 1]` tensor of `values` in `x`'s dtype and device.
fn per_image<B: Backend>(x: &Tensor<B>, values: &[f64]) -> Result<Tensor<B>> {
    Tensor::<B>::from_vec_on(
        values.iter().map(|&v| v as f32).collect::<Vec<f32>>(),
        &[values.len(), 1, 1, 1],
        x.device(),
    )?
    .to_dtype(x.dtype())
}

// ------------------------------------------------------------------------ RandomFlip

/// Flips each image left-right and/or top-bottom with probability 1/2 in training (Keras
/// `RandomFlip`). `mode` is `"horizontal"`, `"vertical"` or
/// `"horizontal_and_vertical"` (the default; as in Keras one draw per image flips it both
/// ways, so each image comes out unchanged or rotated by 180 degrees).
///
/// ```
/// use stratanet::{layers::{RandomFlip, Layer, CallContext}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let layer = RandomFlip::new("horizontal").seed(1);
/// let x = Tensor::<B>::from_vec(vec![1.0f32, 2.0, 3.0], &[1, 1, 3, 1])?;
/// let y = Layer::<B>::call(&layer, &x, &mut CallContext::training(0))?.to_vec_f32()?;
/// assert!(y == vec![1.0, 2.0, 3.0] || y == vec![3.0, 2.0, 1.0]);
/// // inference: identity
/// let z = Layer::<B>::call(&layer, &x, &mut CallContext::inference())?.to_vec_f32()?;
/// assert_eq!(z, vec![1.0, 2.0, 3.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RandomFlip {
    config: RandomFlipConfig,
}

layer_config! {
    /// The hyper-parameters of [`RandomFlip`] (Keras' names and defaults).
    pub struct RandomFlipConfig for "RandomFlip" {
        /// `"horizontal"`, `"vertical"` or `"horizontal_and_vertical"`.
        mode: String = "horizontal_and_vertical".into(),
        /// Fixed seed of the flips.
        seed: Option<u64> = None,
        /// Only `"channels_last"`.
        data_format: String = "channels_last".into(),
    }
}

impl RandomFlip {
    /// Flips in `mode` (`"horizontal"`, `"vertical"`, `"horizontal_and_vertical"`).
    pub fn new(mode: &str) -> Self {
        Self::with_config(RandomFlipConfig {
            mode: mode.to_string(),
            ..Default::default()
        })
    }
    config_setters! {
        /// A fixed seed for the flips (otherwise derived from `fit`'s seed).
        seed: Option<u64>,
    }
    config_methods!(RandomFlipConfig);

    fn axes(&self) -> Result<(bool, bool)> {
        match self.config.mode.as_str() {
            "horizontal" => Ok((true, false)),
            "vertical" => Ok((false, true)),
            "horizontal_and_vertical" => Ok((true, true)),
            other => Err(Error::unknown(
                format!("{} mode", self.config.name),
                other,
                &["horizontal", "vertical", "horizontal_and_vertical"],
            )),
        }
    }
}

impl<B: Backend> Layer<B> for RandomFlip {
    layer_identity!("RandomFlip");
    fn validate(&self) -> Result<()> {
        self.axes()?;
        check_channels_last(&self.config.name, &self.config.data_format)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        sample_dims(&self.config.name, input_shape)?;
        Ok(input_shape.to_vec())
    }
    fn get_config(&self) -> serde_json::Value {
        crate::layers::config::to_json(&self.config)
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        let (n, h, w, _) = image_dims(&self.config.name, &x.shape())?;
        let x = float_input(x, ctx)?;
        if !ctx.training {
            return Ok(x);
        }
        let (horizontal, vertical) = self.axes()?;
        let mut rng = call_rng(self.config.seed, ctx);
        let flips: Vec<bool> = (0..n).map(|_| rng.next_f64() <= 0.5).collect();
        if !flips.iter().any(|&f| f) {
            return Ok(x);
        }
        let mut source = Vec::with_capacity(n * h * w);
        for (b, &flip) in flips.iter().enumerate() {
            for y in 0..h {
                for xx in 0..w {
                    let sy = if flip && vertical { h - 1 - y } else { y };
                    let sx = if flip && horizontal { w - 1 - xx } else { xx };
                    source.push(((b * h + sy) * w + sx) as i64);
                }
            }
        }
        sampling::apply(&x, &sampling::gather_plan(source), false, h, w, 0.0)
    }
}

// ------------------------------------------------------------ the geometric layers

/// The fill and interpolation arguments of the geometric layers.
fn geometry(
    layer: &str,
    fill_mode: &str,
    interpolation: &str,
) -> Result<(FillMode, Interpolation)> {
    Ok((
        FillMode::parse(layer, fill_mode)?,
        Interpolation::parse(layer, "interpolation", interpolation)?,
    ))
}

/// Applies one affine transform per image (Keras' `affine_transform`, see the module
/// docs).
fn transform_images<B: Backend>(
    x: &Tensor<B>,
    transforms: &[[f64; 6]],
    interp: Interpolation,
    fill: FillMode,
    fill_value: f64,
) -> Result<Tensor<B>> {
    let s = x.shape();
    let (h, w) = (s[1], s[2]);
    let plan = sampling::affine_plan(transforms, h, w, interp, fill);
    sampling::apply(x, &plan, false, h, w, fill_value)
}

/// Declares the shared setters of the geometric layers.
macro_rules! geometry_setters {
    () => {
        config_setters! {
            /// How points outside the image are filled: `"reflect"` (default), `"wrap"`,
            /// `"constant"` or `"nearest"`.
            fill_mode: lowercase,
            /// `"bilinear"` (default) or `"nearest"`.
            interpolation: lowercase,
            /// A fixed seed (otherwise derived from `fit`'s seed).
            seed: Option<u64>,
            /// The value of `fill_mode="constant"` (default 0).
            fill_value: f64,
        }
    };
}

/// Rotates each image by a random angle in training (Keras `RandomRotation`): `factor`
/// is a fraction of a full turn, the angle drawn uniformly in `[low * 360, high * 360]`
/// degrees (a number `f` gives `[-f, f]`), about the image centre; positive angles turn
/// counter-clockwise.
///
/// ```
/// use stratanet::{layers::{RandomRotation, Layer, CallContext}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// // A quarter turn exactly (factor range [0.25, 0.25]).
/// let layer = RandomRotation::new((0.25, 0.25));
/// let x = Tensor::<B>::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[1, 2, 2, 1])?;
/// let y = Layer::<B>::call(&layer, &x, &mut CallContext::training(0))?.to_vec_f32()?;
/// let rounded: Vec<f32> = y.iter().map(|v| v.round()).collect();
/// assert_eq!(rounded, vec![2.0, 4.0, 1.0, 3.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RandomRotation {
    config: RandomRotationConfig,
}

layer_config! {
    /// The hyper-parameters of [`RandomRotation`] (Keras' names and defaults).
    pub struct RandomRotationConfig for "RandomRotation" {
        /// Fraction of a full turn (required): `f` or `[low, high]`, in [-1, 1].
        factor: Factor = Factor::One(0.0),
        /// `"reflect"`, `"wrap"`, `"constant"` or `"nearest"`.
        fill_mode: String = "reflect".into(),
        /// `"bilinear"` or `"nearest"`.
        interpolation: String = "bilinear".into(),
        /// Fixed seed of the angles.
        seed: Option<u64> = None,
        /// The value of `fill_mode="constant"`.
        fill_value: f64 = 0.0,
        /// Only `"channels_last"`.
        data_format: String = "channels_last".into(),
    }
    check(config) {
        crate::layers::cfg_field(config, "RandomRotation", "factor").map(|_| ())
    }
}

impl RandomRotation {
    /// Rotations by `factor` of a full turn (`0.1`, or a range `(-0.1, 0.2)`).
    pub fn new(factor: impl Into<Factor>) -> Self {
        Self::with_config(RandomRotationConfig {
            factor: factor.into(),
            ..Default::default()
        })
    }
    geometry_setters!();
    config_methods!(RandomRotationConfig);

    fn bounds(&self) -> Result<(f64, f64)> {
        self.config
            .factor
            .base_bounds(&self.config.name, "factor", -1.0, 1.0)
    }
}

impl<B: Backend> Layer<B> for RandomRotation {
    layer_identity!("RandomRotation");
    fn validate(&self) -> Result<()> {
        let c = &self.config;
        self.bounds()?;
        geometry(&c.name, &c.fill_mode, &c.interpolation)?;
        check_channels_last(&c.name, &c.data_format)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        sample_dims(&self.config.name, input_shape)?;
        Ok(input_shape.to_vec())
    }
    fn get_config(&self) -> serde_json::Value {
        crate::layers::config::to_json(&self.config)
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        let c = &self.config;
        let (n, h, w, _) = image_dims(&c.name, &x.shape())?;
        let x = float_input(x, ctx)?;
        if !ctx.training {
            return Ok(x);
        }
        let (fill, interp) = geometry(&c.name, &c.fill_mode, &c.interpolation)?;
        let (low, high) = self.bounds()?;
        let mut rng = call_rng(c.seed, ctx);
        let angles = draws(&mut rng, n, (low * 360.0, high * 360.0));
        let (cx, cy) = (0.5 * (w as f64 - 1.0), 0.5 * (h as f64 - 1.0));
        let transforms: Vec<[f64; 6]> = angles
            .iter()
            .map(|deg| {
                let (sin, cos) = deg.to_radians().sin_cos();
                let (a0, a1, b0, b1) = (cos, -sin, sin, cos);
                [
                    a0,
                    a1,
                    cx - cx * a0 - cy * a1,
                    b0,
                    b1,
                    cy - cx * b0 - cy * b1,
                ]
            })
            .collect();
        transform_images(&x, &transforms, interp, fill, c.fill_value)
    }
}

/// Zooms each image in or out by a random factor in training (Keras `RandomZoom`): the
/// height is zoomed by `1 + u`, `u` uniform in `height_factor`'s range (a number `f`
/// gives `[-f, f]`; each value in (-1, 1]); positive values zoom *out*, negative values
/// in. `width_factor` does the same for the width; when `None` the width keeps the aspect
/// ratio (the same draw as the height).
///
/// ```
/// use stratanet::{layers::{RandomZoom, Layer, CallContext}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// // factor 0: no zoom.
/// let x = Tensor::<B>::from_vec((0..9).map(|v| v as f32).collect(), &[1, 3, 3, 1])?;
/// let y = Layer::<B>::call(&RandomZoom::new(0.0), &x, &mut CallContext::training(3))?;
/// assert_eq!(y.to_vec_f32()?, x.to_vec_f32()?);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RandomZoom {
    config: RandomZoomConfig,
}

layer_config! {
    /// The hyper-parameters of [`RandomZoom`] (Keras' names and defaults).
    pub struct RandomZoomConfig for "RandomZoom" {
        /// Zoom of the height (required): `f` or `[low, high]`, each in (-1, 1].
        height_factor: Factor = Factor::One(0.0),
        /// Zoom of the width; `None` keeps the aspect ratio.
        width_factor: Option<Factor> = None,
        /// `"reflect"`, `"wrap"`, `"constant"` or `"nearest"`.
        fill_mode: String = "reflect".into(),
        /// `"bilinear"` or `"nearest"`.
        interpolation: String = "bilinear".into(),
        /// Fixed seed of the zooms.
        seed: Option<u64> = None,
        /// The value of `fill_mode="constant"`.
        fill_value: f64 = 0.0,
        /// Only `"channels_last"`.
        data_format: String = "channels_last".into(),
    }
    check(config) {
        crate::layers::cfg_field(config, "RandomZoom", "height_factor").map(|_| ())
    }
}

impl RandomZoom {
    /// Zooms the height by `1 + u`, `u` in `height_factor` (the width follows).
    pub fn new(height_factor: impl Into<Factor>) -> Self {
        Self::with_config(RandomZoomConfig {
            height_factor: height_factor.into(),
            ..Default::default()
        })
    }
    /// Zooms the width independently by `1 + u`, `u` in `factor`.
    pub fn width_factor(mut self, factor: impl Into<Factor>) -> Self {
        self.config.width_factor = Some(factor.into());
        self
    }
    geometry_setters!();
    config_methods!(RandomZoomConfig);

    fn bounds(&self) -> Result<(Bounds, Option<Bounds>)> {
        let c = &self.config;
        let h = c
            .height_factor
            .symmetric_bounds(&c.name, "height_factor", true)?;
        let w = c
            .width_factor
            .map(|f| f.symmetric_bounds(&c.name, "width_factor", true))
            .transpose()?;
        Ok((h, w))
    }
}

impl<B: Backend> Layer<B> for RandomZoom {
    layer_identity!("RandomZoom");
    fn validate(&self) -> Result<()> {
        let c = &self.config;
        self.bounds()?;
        geometry(&c.name, &c.fill_mode, &c.interpolation)?;
        check_channels_last(&c.name, &c.data_format)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        sample_dims(&self.config.name, input_shape)?;
        Ok(input_shape.to_vec())
    }
    fn get_config(&self) -> serde_json::Value {
        crate::layers::config::to_json(&self.config)
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        let c = &self.config;
        let (n, h, w, _) = image_dims(&c.name, &x.shape())?;
        let x = float_input(x, ctx)?;
        if !ctx.training {
            return Ok(x);
        }
        let (fill, interp) = geometry(&c.name, &c.fill_mode, &c.interpolation)?;
        let ((hl, hh), wb) = self.bounds()?;
        let mut rng = call_rng(c.seed, ctx);
        let zy = draws(&mut rng, n, (1.0 + hl, 1.0 + hh));
        let zx = match wb {
            Some((wl, wh)) => draws(&mut rng, n, (1.0 + wl, 1.0 + wh)),
            None => zy.clone(),
        };
        let (hf, wf) = (h as f64, w as f64);
        let transforms: Vec<[f64; 6]> = zx
            .iter()
            .zip(&zy)
            .map(|(&zx, &zy)| {
                [
                    zx,
                    0.0,
                    (wf - 1.0) / 2.0 * (1.0 - zx),
                    0.0,
                    zy,
                    (hf - 1.0) / 2.0 * (1.0 - zy),
                ]
            })
            .collect();
        transform_images(&x, &transforms, interp, fill, c.fill_value)
    }
}

/// Shifts each image by a random offset in training (Keras `RandomTranslation`): down by
/// `u * height` pixels, `u` uniform in `height_factor`'s range (a number `f` gives
/// `[-f, f]`, each value in [-1, 1]), and right by `v * width`, `v` in `width_factor`'s.
///
/// ```
/// use stratanet::{layers::{RandomTranslation, Layer, CallContext}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// // One pixel to the right exactly (1/4 of the width), zeros coming in.
/// let layer = RandomTranslation::new(0.0, (0.25, 0.25)).fill_mode("constant");
/// let x = Tensor::<B>::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[1, 1, 4, 1])?;
/// let y = Layer::<B>::call(&layer, &x, &mut CallContext::training(0))?.to_vec_f32()?;
/// assert_eq!(y, vec![0.0, 1.0, 2.0, 3.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RandomTranslation {
    config: RandomTranslationConfig,
}

layer_config! {
    /// The hyper-parameters of [`RandomTranslation`] (Keras' names and defaults).
    pub struct RandomTranslationConfig for "RandomTranslation" {
        /// Vertical shift as a fraction of the height (required): `f` or `[low, high]`.
        height_factor: Factor = Factor::One(0.0),
        /// Horizontal shift as a fraction of the width (required).
        width_factor: Factor = Factor::One(0.0),
        /// `"reflect"`, `"wrap"`, `"constant"` or `"nearest"`.
        fill_mode: String = "reflect".into(),
        /// `"bilinear"` or `"nearest"`.
        interpolation: String = "bilinear".into(),
        /// Fixed seed of the shifts.
        seed: Option<u64> = None,
        /// The value of `fill_mode="constant"`.
        fill_value: f64 = 0.0,
        /// Only `"channels_last"`.
        data_format: String = "channels_last".into(),
    }
    check(config) {
        crate::layers::cfg_field(config, "RandomTranslation", "height_factor")?;
        crate::layers::cfg_field(config, "RandomTranslation", "width_factor").map(|_| ())
    }
}

impl RandomTranslation {
    /// Shifts by fractions `height_factor` of the height and `width_factor` of the width.
    pub fn new(height_factor: impl Into<Factor>, width_factor: impl Into<Factor>) -> Self {
        Self::with_config(RandomTranslationConfig {
            height_factor: height_factor.into(),
            width_factor: width_factor.into(),
            ..Default::default()
        })
    }
    geometry_setters!();
    config_methods!(RandomTranslationConfig);

    fn bounds(&self) -> Result<((f64, f64), (f64, f64))> {
        let c = &self.config;
        Ok((
            c.height_factor
                .symmetric_bounds(&c.name, "height_factor", false)?,
            c.width_factor
                .symmetric_bounds(&c.name, "width_factor", false)?,
        ))
    }
}

impl<B: Backend> Layer<B> for RandomTranslation {
    layer_identity!("RandomTranslation");
    fn validate(&self) -> Result<()> {
        let c = &self.config;
        self.bounds()?;
        geometry(&c.name, &c.fill_mode, &c.interpolation)?;
        check_channels_last(&c.name, &c.data_format)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        sample_dims(&self.config.name, input_shape)?;
        Ok(input_shape.to_vec())
    }
    fn get_config(&self) -> serde_json::Value {
        crate::layers::config::to_json(&self.config)
    }
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        let c = &self.config;
        let (n, h, w, _) = image_dims(&c.name, &x.shape())?;
        let x = float_input(x, ctx)?;
        if !ctx.training {
            return Ok(x);
        }
        let (fill, interp) = geometry(&c.name, &c.fill_mode, &c.interpolation)?;
        let (hb, wb) = self.bounds()?;
        let mut rng = call_rng(c.seed, ctx);
        let dy = draws(&mut rng, n, hb);
        let dx = draws(&mut rng, n, wb);
        let transforms: Vec<[f64; 6]> = dx
            .iter()
            .zip(&dy)
            .map(|(&dx, &dy)| [1.0, 0.0, -dx * w as f64, 0.0, 1.0, -dy * h as f64])
            .collect();
        transform_images(&x, &transforms, interp, fill, c.fill_value)
    }
}

// -------------------------------------------------------------- the colour layers

/// `value_range` sorted, or an error naming the layer.
fn value_range(layer: &str, range: [f64; 2]) -> Result<(f64, f64)> {
    let [a, b] = range;
    if !(a.is_finite() && b.is_finite()) {
        return Err(Error::invalid(
            layer,
            "value_range",
            format!("must be two finite numbers, got {range:?}"),
        ));
    }
    Ok((a.min(b), a.max(b)))
}

/// Scales each image's contrast by a random factor in training (Keras `RandomContrast`):
/// `(x - mean) * f + mean` per image and channel (`mean` over height and width), clipped
/// to `value_range`. As in Keras 3, `factor` bounds `(low, high)` give `f` uniform in
/// `[1 - low, 1 + high]`, where a number `f` means `(0, f)` (so `factor=0.2` draws from
/// `[1, 1.2]`) and a pair is sorted; values lie in [0, 1].
///
/// ```
/// use stratanet::{layers::{RandomContrast, Layer, CallContext}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let layer = RandomContrast::new(0.5).seed(2);
/// let x = Tensor::<B>::from_vec(vec![100.0f32, 120.0, 140.0, 160.0], &[1, 2, 2, 1])?;
/// let y = Layer::<B>::call(&layer, &x, &mut CallContext::training(0))?;
/// // the mean (130) is kept, the spread grows
/// assert!((y.mean_all()?.item()? - 130.0).abs() < 1e-3);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RandomContrast {
    config: RandomContrastConfig,
}

layer_config! {
    /// The hyper-parameters of [`RandomContrast`] (Keras' names and defaults).
    pub struct RandomContrastConfig for "RandomContrast" {
        /// `f` or `[low, high]` (required), in [0, 1].
        factor: Factor = Factor::One(0.0),
        /// Outputs are clipped to this range.
        value_range: [f64; 2] = [0.0, 255.0],
        /// Fixed seed of the factors.
        seed: Option<u64> = None,
    }
    check(config) {
        crate::layers::cfg_field(config, "RandomContrast", "factor").map(|_| ())
    }
}

impl RandomContrast {
    /// Contrast factors drawn from `factor` (see the type's docs).
    pub fn new(factor: impl Into<Factor>) -> Self {
        Self::with_config(RandomContrastConfig {
            factor: factor.into(),
            ..Default::default()
        })
    }
    config_setters! {
        /// The pixel range outputs are clipped to (default `[0, 255]`).
        value_range: [f64; 2],
        /// A fixed seed (otherwise derived from `fit`'s seed).
        seed: Option<u64>,
    }
    config_methods!(RandomContrastConfig);

    fn bounds(&self) -> Result<(f64, f64)> {
        self.config
            .factor
            .base_bounds(&self.config.name, "factor", 0.0, 1.0)
    }
}

impl<B: Backend> Layer<B> for RandomContrast {
    layer_identity!("RandomContrast");
    fn validate(&self) -> Result<()> {
        self.bounds()?;
        value_range(&self.config.name, self.config.value_range).map(|_| ())
    }
    shape_preserving!();
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        let c = &self.config;
        let (n, _, _, _) = image_dims(&c.name, &x.shape())?;
        let x = float_input(x, ctx)?;
        if !ctx.training {
            return Ok(x);
        }
        let (low, high) = self.bounds()?;
        let (vmin, vmax) = value_range(&c.name, c.value_range)?;
        let mut rng = call_rng(c.seed, ctx);
        let f = per_image(&x, &draws(&mut rng, n, (1.0 - low, 1.0 + high)))?;
        let mean = x.mean(&[1, 2], true)?;
        x.sub(&mean)?.mul(&f)?.add(&mean)?.clamp(vmin, vmax)
    }
}

/// Shifts each image's brightness by a random amount in training (Keras
/// `RandomBrightness`): adds `u * (value_range[1] - value_range[0])` to every pixel, `u`
/// uniform in `factor`'s range (a number `f` gives `[-f, f]`, values in [-1, 1]), and
/// clips to `value_range`.
///
/// ```
/// use stratanet::{layers::{RandomBrightness, Layer, CallContext}, Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// // + 0.1 of the range [0, 1] exactly.
/// let layer = RandomBrightness::new((0.1, 0.1)).value_range([0.0, 1.0]);
/// let x = Tensor::<B>::from_vec(vec![0.2f32, 0.95], &[1, 1, 2, 1])?;
/// let y = Layer::<B>::call(&layer, &x, &mut CallContext::training(0))?.to_vec_f32()?;
/// assert!((y[0] - 0.3).abs() < 1e-6 && y[1] == 1.0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RandomBrightness {
    config: RandomBrightnessConfig,
}

layer_config! {
    /// The hyper-parameters of [`RandomBrightness`] (Keras' names and defaults).
    pub struct RandomBrightnessConfig for "RandomBrightness" {
        /// `f` or `[low, high]` (required), in [-1, 1].
        factor: Factor = Factor::One(0.0),
        /// The pixel range: shifts are fractions of it, outputs are clipped to it.
        value_range: [f64; 2] = [0.0, 255.0],
        /// Fixed seed of the shifts.
        seed: Option<u64> = None,
    }
    check(config) {
        crate::layers::cfg_field(config, "RandomBrightness", "factor").map(|_| ())
    }
}

impl RandomBrightness {
    /// Brightness shifts drawn from `factor` (see the type's docs).
    pub fn new(factor: impl Into<Factor>) -> Self {
        Self::with_config(RandomBrightnessConfig {
            factor: factor.into(),
            ..Default::default()
        })
    }
    config_setters! {
        /// The pixel range (default `[0, 255]`).
        value_range: [f64; 2],
        /// A fixed seed (otherwise derived from `fit`'s seed).
        seed: Option<u64>,
    }
    config_methods!(RandomBrightnessConfig);

    fn bounds(&self) -> Result<(f64, f64)> {
        self.config
            .factor
            .base_bounds(&self.config.name, "factor", -1.0, 1.0)
    }
}

impl<B: Backend> Layer<B> for RandomBrightness {
    layer_identity!("RandomBrightness");
    fn validate(&self) -> Result<()> {
        self.bounds()?;
        value_range(&self.config.name, self.config.value_range).map(|_| ())
    }
    shape_preserving!();
    fn call(&self, x: &Tensor<B>, ctx: &mut CallContext) -> Result<Tensor<B>> {
        Layer::<B>::validate(self)?;
        let c = &self.config;
        let (n, _, _, _) = image_dims(&c.name, &x.shape())?;
        let x = float_input(x, ctx)?;
        if !ctx.training {
            return Ok(x);
        }
        let bounds = self.bounds()?;
        let (vmin, vmax) = value_range(&c.name, c.value_range)?;
        let mut rng = call_rng(c.seed, ctx);
        let deltas: Vec<f64> = draws(&mut rng, n, bounds)
            .into_iter()
            .map(|u| u * (vmax - vmin))
            .collect();
        x.add(&per_image(&x, &deltas)?)?.clamp(vmin, vmax)
    }
}
