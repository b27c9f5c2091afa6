//! Image resampling shared by the image layers and the image-folder dataset: where each
//! output pixel reads its input (Keras' `affine_transform` with its fill modes, and
//! `resize` with half-pixel centres), worked out on the host as a *plan* of source indices
//! and weights, then applied on the engine as one `index_select` and a weighted sum, so
//! the pixels themselves never leave the device.
//!
//! The formulas follow Keras 3 on its PyTorch backend (`keras/src/backend/torch/image.py`):
//! `map_coordinates` (bilinear taps `floor(c)`, `floor(c) + 1`; nearest taps
//! `round(c)`, ties to even; the index fixers of `reflect`, `wrap`, `nearest`,
//! `constant`) and `F.interpolate(mode="bilinear", align_corners=False)` /
//! `"nearest-exact"`, which equal `tf.image.resize` without antialiasing.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// How pixels between input pixels are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interpolation {
    /// Weighted mean of the 2 x 2 nearest input pixels.
    Bilinear,
    /// The nearest input pixel.
    Nearest,
}

impl Interpolation {
    /// Parses Keras' name, for `layer`'s argument `arg`.
    pub(crate) fn parse(layer: &str, arg: &str, name: &str) -> Result<Self> {
        match name {
            "bilinear" => Ok(Self::Bilinear),
            "nearest" => Ok(Self::Nearest),
            other => Err(Error::invalid(
                layer,
                arg,
                format!("'{other}' is not supported: use \"bilinear\" or \"nearest\""),
            )),
        }
    }
}

/// How points outside the input are filled (Keras' `fill_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FillMode {
    /// `d c b a | a b c d | d c b a`: reflected about the edge of the last pixel.
    Reflect,
    /// `a b c d | a b c d | a b c d`.
    Wrap,
    /// `k k k k | a b c d | k k k k` with `k = fill_value`.
    Constant,
    /// `a a a a | a b c d | d d d d`.
    Nearest,
}

impl FillMode {
    /// Parses Keras' name, for `layer`.
    pub(crate) fn parse(layer: &str, name: &str) -> Result<Self> {
        match name {
            "reflect" => Ok(Self::Reflect),
            "wrap" => Ok(Self::Wrap),
            "constant" => Ok(Self::Constant),
            "nearest" => Ok(Self::Nearest),
            other => Err(Error::invalid(
                layer,
                "fill_mode",
                format!(
                    "'{other}' is not supported: use \"reflect\", \"wrap\", \"constant\" or \"nearest\""
                ),
            )),
        }
    }

    /// The in-range index an out-of-range `index` reads (Keras' index fixers).
    fn fix(self, index: i64, size: i64) -> i64 {
        match self {
            Self::Constant | Self::Nearest => index.clamp(0, size - 1),
            Self::Wrap => index.rem_euclid(size),
            Self::Reflect => {
                // floor((mirror(2 i + 1, 2 n + 1) - 1) / 2), mirror(i, n) = |(i + s) % 2s - s|
                // with s = n - 1 and a floored modulo, as Keras writes it.
                let mirror = |i: i64, n: i64| {
                    let s = n - 1;
                    ((i + s).rem_euclid(2 * s) - s).abs()
                };
                (mirror(2 * index + 1, 2 * size + 1) - 1).div_euclid(2)
            }
        }
    }
}

/// Where the output pixels of a batch read their input: `taps` entries per output pixel,
/// row-major over `[batch?, out_h, out_w]`; each tap an index into the flattened input
/// pixels and a weight; `fill` is the weight of the constant fill value per output pixel
/// (`None` when no tap falls outside).
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) taps: usize,
    pub(crate) index: Vec<i64>,
    pub(crate) weight: Vec<f32>,
    pub(crate) fill: Option<Vec<f32>>,
}

impl Plan {
    fn with_capacity(pixels: usize, taps: usize) -> Self {
        Self {
            taps,
            index: Vec::with_capacity(pixels * taps),
            weight: Vec::with_capacity(pixels * taps),
            fill: None,
        }
    }

    /// Whether every tap has weight 1 and nothing is filled (a pure gather).
    fn is_gather(&self) -> bool {
        self.taps == 1 && self.fill.is_none() && self.weight.iter().all(|&w| w == 1.0)
    }

    fn push_fill(&mut self, pixel: usize, w: f32, pixels: usize) {
        let fill = self.fill.get_or_insert_with(|| vec![0.0; pixels]);
        fill[pixel] += w;
    }
}

/// The 1-D taps of coordinate `c` on an axis of `size` pixels: `(index, weight, valid)`
/// with the index already fixed by `fill`.
fn axis_taps(c: f64, size: usize, interp: Interpolation, fill: FillMode) -> [(i64, f64, bool); 2] {
    let n = size as i64;
    let tap = |i: i64, w: f64| (fill.fix(i, n), w, (0..n).contains(&i));
    match interp {
        Interpolation::Bilinear => {
            let lower = c.floor();
            let up = c - lower;
            let i = lower as i64;
            [tap(i, 1.0 - up), tap(i + 1, up)]
        }
        Interpolation::Nearest => {
            // torch.round: ties to even.
            let i = c.round_ties_even() as i64;
            [tap(i, 1.0), (0, 0.0, true)]
        }
    }
}

/// The plan of an affine transform per image (Keras' `affine_transform`): output pixel
/// `(y, x)` of image `b` reads input point `(b0 x + b1 y + b2, a0 x + a1 y + a2)` with
/// `transforms[b] = [a0, a1, a2, b0, b1, b2]`, on images of `h x w` pixels. Indices are
/// into the batch's flattened `[batch * h * w]` pixels.
pub(crate) fn affine_plan(
    transforms: &[[f64; 6]],
    h: usize,
    w: usize,
    interp: Interpolation,
    fill: FillMode,
) -> Plan {
    let taps = match interp {
        Interpolation::Bilinear => 4,
        Interpolation::Nearest => 1,
    };
    let pixels = transforms.len() * h * w;
    let mut plan = Plan::with_capacity(pixels, taps);
    let mut pixel = 0;
    for (b, t) in transforms.iter().enumerate() {
        let base = (b * h * w) as i64;
        for y in 0..h {
            for x in 0..w {
                let (xf, yf) = (x as f64, y as f64);
                let sx = t[0] * xf + t[1] * yf + t[2];
                let sy = t[3] * xf + t[4] * yf + t[5];
                let ty = axis_taps(sy, h, interp, fill);
                let tx = axis_taps(sx, w, interp, fill);
                let ny = if taps == 4 { 2 } else { 1 };
                for &(iy, wy, vy) in &ty[..ny] {
                    for &(ix, wx, vx) in &tx[..ny] {
                        let wt = (wy * wx) as f32;
                        plan.index.push(base + iy * w as i64 + ix);
                        if fill == FillMode::Constant && !(vy && vx) {
                            plan.weight.push(0.0);
                            if wt != 0.0 {
                                plan.push_fill(pixel, wt, pixels);
                            }
                        } else {
                            plan.weight.push(wt);
                        }
                    }
                }
                pixel += 1;
            }
        }
    }
    plan
}

/// One output position of a 1-D resize: `(1 - w1) * v[i0] + w1 * v[i1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tap {
    pub(crate) i0: usize,
    pub(crate) i1: usize,
    pub(crate) w1: f32,
}

/// The taps resizing `len` input pixels starting at `start` to `out` pixels, with
/// half-pixel centres and no antialiasing (`F.interpolate(..., align_corners=False)`,
/// `"nearest-exact"`; the same as `tf.image.resize`).
pub(crate) fn resize_taps(start: usize, len: usize, out: usize, interp: Interpolation) -> Vec<Tap> {
    let scale = len as f64 / out as f64;
    (0..out)
        .map(|o| match interp {
            Interpolation::Bilinear => {
                let src = ((o as f64 + 0.5) * scale - 0.5).max(0.0);
                let i0 = (src.floor() as usize).min(len - 1);
                let i1 = (i0 + 1).min(len - 1);
                Tap {
                    i0: start + i0,
                    i1: start + i1,
                    w1: (src - i0 as f64) as f32,
                }
            }
            Interpolation::Nearest => {
                let i = (((o as f64 + 0.5) * scale).floor() as usize).min(len - 1);
                Tap {
                    i0: start + i,
                    i1: start + i,
                    w1: 0.0,
                }
            }
        })
        .collect()
}

/// The centred crop of an `h x w` image with the aspect ratio of `th x tw`: `(top,
/// height, left, width)` (Keras' `crop_to_aspect_ratio` and `smart_resize`).
pub(crate) fn aspect_crop(
    h: usize,
    w: usize,
    th: usize,
    tw: usize,
) -> (usize, usize, usize, usize) {
    let ch = ((w * th) as f64 / tw as f64) as usize;
    let ch = ch.min(h).max(1);
    let cw = ((h * tw) as f64 / th as f64) as usize;
    let cw = cw.min(w).max(1);
    ((h - ch) / 2, ch, (w - cw) / 2, cw)
}

/// The padded size of an `h x w` image with the aspect ratio of `th x tw`: `(top,
/// padded height, left, padded width)` (Keras' `pad_to_aspect_ratio`).
pub(crate) fn aspect_pad(h: usize, w: usize, th: usize, tw: usize) -> (usize, usize, usize, usize) {
    let ph = (((w * th) as f64 / tw as f64) as usize).max(h);
    let pw = (((h * tw) as f64 / th as f64) as usize).max(w);
    ((ph - h) / 2, ph, (pw - w) / 2, pw)
}

/// The plan of resizing one `h x w` image to `out_h x out_w` (shared by every image of a
/// batch: indices into one image's `h * w` pixels). `window` restricts the input to
/// `(top, height, left, width)` (a crop); `pad` instead places the image at `(top, left)`
/// in a larger `(height, width)` canvas of the fill value.
pub(crate) fn resize_plan(
    h: usize,
    w: usize,
    out_h: usize,
    out_w: usize,
    interp: Interpolation,
    window: Option<(usize, usize, usize, usize)>,
    pad: Option<(usize, usize, usize, usize)>,
) -> Plan {
    let pixels = out_h * out_w;
    let mut plan = Plan::with_capacity(pixels, 4);
    let (top, hh, left, ww) = window.or(pad).unwrap_or((0, h, 0, w));
    let (ys, xs) = if pad.is_some() {
        (
            resize_taps(0, hh, out_h, interp),
            resize_taps(0, ww, out_w, interp),
        )
    } else {
        (
            resize_taps(top, hh, out_h, interp),
            resize_taps(left, ww, out_w, interp),
        )
    };
    for (oy, ty) in ys.iter().enumerate() {
        for (ox, tx) in xs.iter().enumerate() {
            let pixel = oy * out_w + ox;
            for (iy, wy) in [(ty.i0, 1.0 - ty.w1), (ty.i1, ty.w1)] {
                for (ix, wx) in [(tx.i0, 1.0 - tx.w1), (tx.i1, tx.w1)] {
                    let wt = wy * wx;
                    // Inside the image, or (padding) on the canvas around it?
                    let src = match pad {
                        Some(_) => {
                            let inside =
                                (top..top + h).contains(&iy) && (left..left + w).contains(&ix);
                            inside.then(|| (iy - top, ix - left))
                        }
                        None => Some((iy, ix)),
                    };
                    match src {
                        Some((sy, sx)) => {
                            plan.index.push((sy * w + sx) as i64);
                            plan.weight.push(wt);
                        }
                        None => {
                            plan.index.push(0);
                            plan.weight.push(0.0);
                            if wt != 0.0 {
                                plan.push_fill(pixel, wt, pixels);
                            }
                        }
                    }
                }
            }
        }
    }
    plan
}

/// The plan reading pixel `source[p]` for output pixel `p` (flips, crops): one tap of
/// weight 1 each.
pub(crate) fn gather_plan(source: Vec<i64>) -> Plan {
    let n = source.len();
    Plan {
        taps: 1,
        index: source,
        weight: vec![1.0; n],
        fill: None,
    }
}

/// Applies `plan` to images `x` `[batch, h, w, c]`, giving `[batch, out_h, out_w, c]`.
/// With `shared`, the plan indexes one image's pixels and serves every image; otherwise
/// it indexes the whole batch's pixels. Constant-filled points get `fill_value`.
///
/// # Errors
/// Engine errors.
pub(crate) fn apply<B: Backend>(
    x: &Tensor<B>,
    plan: &Plan,
    shared: bool,
    out_h: usize,
    out_w: usize,
    fill_value: f64,
) -> Result<Tensor<B>> {
    let s = x.shape();
    let (n, h, w, c) = (s[0], s[1], s[2], s[3]);
    let device = x.device();
    let k = plan.taps;
    let idx = Tensor::<B>::from_vec_on(plan.index.clone(), &[plan.index.len()], device)?;
    let (flat, axis) = if shared {
        (x.reshape_to(&[n, h * w, c])?, 1)
    } else {
        (x.reshape_to(&[n * h * w, c])?, 0)
    };
    // The plan's indices were built in range of the pixels above.
    let picked = Tensor::new(B::index_select_in_range(flat.inner(), idx.inner(), axis)?);
    let lead: Vec<usize> = if shared {
        vec![n, out_h * out_w]
    } else {
        vec![n * out_h * out_w]
    };
    if plan.is_gather() {
        return picked.reshape_to(&[n, out_h, out_w, c]);
    }
    let wshape: Vec<usize> = if shared {
        vec![1, out_h * out_w * k, 1]
    } else {
        vec![n * out_h * out_w * k, 1]
    };
    let weights =
        Tensor::<B>::from_vec_on(plan.weight.clone(), &wshape, device)?.to_dtype(x.dtype())?;
    let mut grouped_shape = lead.clone();
    grouped_shape.extend([k, c]);
    let mut out = picked
        .mul(&weights)?
        .reshape_to(&grouped_shape)?
        .sum(&[lead.len() as isize], false)?;
    if let (Some(fill), true) = (&plan.fill, fill_value != 0.0) {
        let mut fshape = if shared {
            vec![1, out_h * out_w]
        } else {
            vec![n * out_h * out_w]
        };
        fshape.push(1);
        let f = Tensor::<B>::from_vec_on(fill.clone(), &fshape, device)?
            .to_dtype(x.dtype())?
            .mul_scalar(fill_value)?;
        out = out.add(&f)?;
    }
    out.reshape_to(&[n, out_h, out_w, c])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_and_wrap_fixers_follow_keras() {
        // size 4: ... 1 0 | 0 1 2 3 | 3 2 ...
        let r: Vec<i64> = (-3..7).map(|i| FillMode::Reflect.fix(i, 4)).collect();
        assert_eq!(r, vec![2, 1, 0, 0, 1, 2, 3, 3, 2, 1]);
        let w: Vec<i64> = (-3..7).map(|i| FillMode::Wrap.fix(i, 4)).collect();
        assert_eq!(w, vec![1, 2, 3, 0, 1, 2, 3, 0, 1, 2]);
        let n: Vec<i64> = (-2..6).map(|i| FillMode::Nearest.fix(i, 4)).collect();
        assert_eq!(n, vec![0, 0, 0, 1, 2, 3, 3, 3]);
    }

    #[test]
    fn resize_taps_use_half_pixel_centres() {
        // 4 -> 2: sources at 0.5 and 2.5.
        let t = resize_taps(0, 4, 2, Interpolation::Bilinear);
        assert_eq!((t[0].i0, t[0].i1, t[0].w1), (0, 1, 0.5));
        assert_eq!((t[1].i0, t[1].i1, t[1].w1), (2, 3, 0.5));
        // 2 -> 4: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (last pixel twice).
        let t = resize_taps(0, 2, 4, Interpolation::Bilinear);
        assert_eq!((t[0].i0, t[0].w1), (0, 0.0));
        assert_eq!((t[1].i0, t[1].i1, t[1].w1), (0, 1, 0.25));
        assert_eq!((t[3].i0, t[3].i1), (1, 1));
    }

    #[test]
    fn aspect_crop_matches_keras_smart_resize() {
        // 10 x 20 to a square: the central 10 x 10.
        assert_eq!(aspect_crop(10, 20, 5, 5), (0, 10, 5, 10));
        assert_eq!(aspect_crop(7, 3, 2, 4), (3, 1, 0, 3));
    }
}
