//! Tensor layouts: how a torch weight's axis order becomes stratanet's (transposes and
//! the NCHW-flatten column permutation), and the host-side permutation they use.

use crate::backend::HostData;
use crate::data::HostTensor;
use crate::error::{Error, Result};

/// How a torch tensor's layout becomes stratanet's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Copied as is (biases, batch-norm statistics, anything already in Keras layout).
    Identity,
    /// `nn.Linear` weight `[out, in]` to `Dense` kernel `[in, out]` (a transpose).
    Linear,
    /// `nn.Linear` weight `[out, c * s]` that follows a torch `nn.Flatten` of an NCHW map
    /// with `channels` channels (`s` = height * width) to the `Dense` kernel `[s * c, out]`
    /// that follows stratanet's channels-last `Flatten`: rows in `[h, w, c]` order.
    LinearAfterNchwFlatten {
        /// Channels of the flattened feature map.
        channels: usize,
    },
    /// `nn.Conv2d` weight `[out, in, kh, kw]` to `Conv2D` kernel `[kh, kw, in, out]`.
    Conv2d,
    /// `nn.Conv1d` weight `[out, in, k]` to `Conv1D` kernel `[k, in, out]`.
    Conv1d,
}

impl Layout {
    /// Converts one tensor; `name` is used in errors.
    ///
    /// # Errors
    /// A tensor whose rank does not fit the layout.
    pub fn convert(&self, name: &str, t: &HostTensor) -> Result<HostTensor> {
        let s = &t.shape;
        let rank = |want: usize, what: &str| -> Result<()> {
            if s.len() != want {
                return Err(Error::shape(
                    name,
                    "torch tensor",
                    format!("rank {want} ({what})"),
                    s,
                ));
            }
            Ok(())
        };
        match *self {
            Layout::Identity => Ok(t.clone()),
            Layout::Linear => {
                rank(2, "an nn.Linear weight [out, in]")?;
                Ok(permute_host(t, &[1, 0]))
            }
            Layout::LinearAfterNchwFlatten { channels } => {
                rank(2, "an nn.Linear weight [out, in]")?;
                let (out, inp) = (s[0], s[1]);
                if channels == 0 || inp % channels != 0 {
                    return Err(Error::shape(
                        name,
                        "torch tensor",
                        format!(
                            "in_features divisible by the {channels} channels of the flattened map"
                        ),
                        s,
                    ));
                }
                let spatial = inp / channels;
                let r = HostTensor {
                    data: t.data.clone(),
                    shape: vec![out, channels, spatial],
                };
                let mut p = permute_host(&r, &[2, 1, 0]);
                p.shape = vec![spatial * channels, out];
                Ok(p)
            }
            Layout::Conv2d => {
                rank(4, "an nn.Conv2d weight [out, in, kh, kw]")?;
                Ok(permute_host(t, &[2, 3, 1, 0]))
            }
            Layout::Conv1d => {
                rank(3, "an nn.Conv1d weight [out, in, k]")?;
                Ok(permute_host(t, &[2, 1, 0]))
            }
        }
    }
}

fn permute_vec<T: Copy>(v: &[T], shape: &[usize], perm: &[usize]) -> Vec<T> {
    let rank = shape.len();
    let mut strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; rank];
    for _ in 0..n {
        let src: usize = (0..rank).map(|d| idx[d] * strides[perm[d]]).sum();
        out.push(v[src]);
        for d in (0..rank).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// Transposes a host tensor: output axis `i` is input axis `perm[i]`.
pub(crate) fn permute_host(t: &HostTensor, perm: &[usize]) -> HostTensor {
    let data = match &t.data {
        HostData::F32(v) => HostData::F32(permute_vec(v, &t.shape, perm)),
        HostData::F64(v) => HostData::F64(permute_vec(v, &t.shape, perm)),
        HostData::I64(v) => HostData::I64(permute_vec(v, &t.shape, perm)),
        HostData::Bool(v) => HostData::Bool(permute_vec(v, &t.shape, perm)),
        HostData::BF16(v) => HostData::BF16(permute_vec(v, &t.shape, perm)),
        HostData::F16(v) => HostData::F16(permute_vec(v, &t.shape, perm)),
    };
    HostTensor {
        data,
        shape: perm.iter().map(|&p| t.shape[p]).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let t = HostTensor {
            data: HostData::F32((0..6).map(|x| x as f32).collect()),
            shape: vec![2, 3],
        };
        let l = Layout::Linear.convert("w", &t).unwrap();
        assert_eq!(l.shape, vec![3, 2]);
        assert_eq!(l.data, HostData::F32(vec![0., 3., 1., 4., 2., 5.]));
        // [out=1, c=2, s=3] torch columns c*3+s -> rows s*2+c.
        let t = HostTensor {
            data: HostData::F32((0..6).map(|x| x as f32).collect()),
            shape: vec![1, 6],
        };
        let l = Layout::LinearAfterNchwFlatten { channels: 2 }
            .convert("w", &t)
            .unwrap();
        assert_eq!(l.shape, vec![6, 1]);
        assert_eq!(l.data, HostData::F32(vec![0., 3., 1., 4., 2., 5.]));
        let t = HostTensor {
            data: HostData::F32((0..24).map(|x| x as f32).collect()),
            shape: vec![2, 3, 2, 2],
        };
        let c = Layout::Conv2d.convert("w", &t).unwrap();
        assert_eq!(c.shape, vec![2, 2, 3, 2]);
        // c[kh=0, kw=1, in=2, out=1] = t[1, 2, 0, 1] = 12 + 8 + 1.
        if let HostData::F32(v) = &c.data {
            assert_eq!(v[(2 * 2) + 1 + 3 * 2], 21.0);
        }
        assert!(Layout::Conv2d.convert("w", &l).is_err());
    }
}
