//! [`Spatial`]: the window hyper-parameters every convolution shares and the layout
//! conversions between Keras' data formats and the engines' `[N, C, H, W]`.

use super::{common::*, Size2};
use crate::backend::{Backend, Conv2dParams};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde_json::json;

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
