//! [`Dims`]: a window size, stride or dilation per spatial axis as a config field, written
//! as Keras' list and read from a list or one integer; [`Rank`] and [`Axes`], the number of
//! spatial axes as a type (serde's derive takes no const generics).

use super::Size2;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::marker::PhantomData;

/// A number of spatial axes (1 or 2) as a type parameter of a config.
pub trait Rank: std::fmt::Debug + Clone + Copy + Default + Send + Sync + 'static {
    /// The number of spatial axes.
    const N: usize;
}

/// `N` spatial axes: the [`Rank`] of a config (`ConvConfig<Axes<2>>` for `Conv2D`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Axes<const N: usize>;

impl<const N: usize> Rank for Axes<N> {
    const N: usize = N;
}

/// Sizes per spatial axis of an `R::N`-d window, kept as `[h, w]` with `h = 1` for one
/// axis. A config writes Keras' list (`[3, 3]`, `[3]`) and reads a list of `R::N` integers
/// or one integer for every axis (`null`: the default 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims<R: Rank>(pub(crate) [usize; 2], PhantomData<R>);

impl<R: Rank> Dims<R> {
    /// A size for this rank (one axis keeps the last entry of `s`).
    pub fn new(s: impl Into<Size2>) -> Self {
        let v = s.into().0;
        Self(if R::N == 1 { [1, v[1]] } else { v }, PhantomData)
    }

    /// The entries of the spatial axes.
    pub fn axes(&self) -> &[usize] {
        &self.0[2 - R::N..]
    }
}

impl<R: Rank> Default for Dims<R> {
    fn default() -> Self {
        Self::new(1)
    }
}

impl<R: Rank> Serialize for Dims<R> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.axes().serialize(s)
    }
}

impl<'de, R: Rank> Deserialize<'de> for Dims<R> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Null(()),
            One(usize),
            Many(Vec<usize>),
        }
        match Raw::deserialize(d)? {
            Raw::Null(()) => Ok(Self::default()),
            Raw::One(v) => Ok(Self::new(v)),
            Raw::Many(v) if v.len() == R::N => Ok(Self::new([v[0], v[R::N - 1]])),
            Raw::Many(v) => Err(serde::de::Error::custom(format!(
                "expected {} integers, got {}",
                R::N,
                v.len()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::config::{parse, parse_as, to_json};
    use crate::layers::{Axes, ConvConfig, PoolingConfig};
    use serde_json::json;

    #[test]
    fn one_integer_and_null_read_as_keras_does() {
        let p: PoolingConfig<Axes<2>> =
            parse_as(&json!({"pool_size": 2, "strides": null}), "MaxPooling2D").unwrap();
        let c = to_json(&p);
        assert_eq!(
            (&c["pool_size"], &c["strides"]),
            (&json!([2, 2]), &json!([1, 1]))
        );
        let conv: ConvConfig<Axes<1>> = parse(&json!({"filters": 2, "kernel_size": 3})).unwrap();
        assert_eq!(to_json(&conv)["kernel_size"], json!([3]));
        let e = parse::<ConvConfig<Axes<1>>>(&json!({"filters": 2, "kernel_size": [3, 3]}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Conv1D.kernel_size"), "{e}");
    }
}
