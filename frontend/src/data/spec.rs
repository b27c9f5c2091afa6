//! [`Data`]: the inputs and targets given to `fit`, `evaluate` and `predict`: one tensor, a list by
//! position, or pairs by name.

use super::HostTensor;
use crate::backend::{Backend, Device, HostData};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::sync::Arc;

/// One or several tensors, by position or by input/output name.
///
/// `&x`, `x`, `vec![a, b]`, `&[a, b][..]` and `[("image", &a), ("meta", &b)]` all convert.
///
/// So do host arrays, which name no engine: a [`HostTensor`] (or a list, or name pairs of
/// them), values with a shape (`(vec, &[n, 64])`, `(&slice[..], &[n, 64])`, `f32` or
/// `i64`), a `Vec<i64>` or `Vec<f32>` (one value per sample) and rows (`Vec<Vec<f32>>`).
/// They are uploaded when the call runs and moved to the model's device like any tensor;
/// a shape that does not fit the values, or ragged rows, is an error of that call.
///
/// ```
/// use stratanet::prelude::*;
/// # fn main() -> stratanet::Result<()> {
/// let mut model = Sequential::<DefaultBackend>::new();
/// model.add(Input::new(&[2]))?;
/// model.add(Dense::new(3).activation("softmax"))?;
/// model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;
/// let x = vec![vec![0.0f32, 1.0], vec![1.0, 0.0], vec![0.5, 0.5]];
/// let y = vec![0i64, 1, 2];
/// model.fit(x.clone(), y.clone(), FitOptions::new().epochs(2).verbose(0))?;
/// let probs = model.predict((vec![0.0f32; 4], &[2, 2]))?;
/// assert_eq!(probs.shape(), [2, 3]);
/// let err = model.predict((vec![0.0f32; 5], &[2, 2])).unwrap_err();
/// assert!(err.to_string().contains("[2, 2]"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub enum Data<B: Backend> {
    /// A single tensor (single-input / single-output models).
    One(Tensor<B>),
    /// Tensors in the order of the model's inputs (or outputs).
    Many(Vec<Tensor<B>>),
    /// Tensors by input (or output) name.
    Named(Vec<(String, Tensor<B>)>),
    /// Host arrays in the order of the model's inputs (or outputs), uploaded when used;
    /// the error when the given values did not make an array (shared, so `Data` clones).
    Host(std::result::Result<Vec<HostTensor>, Arc<Error>>),
    /// Host arrays by input (or output) name, uploaded when used.
    HostNamed(std::result::Result<Vec<(String, HostTensor)>, Arc<Error>>),
}

impl<B: Backend> Data<B> {
    /// Orders the tensors like `names` (the model's input or output names).
    ///
    /// # Errors
    /// A wrong count, an unknown name or a missing name, naming `what` (`x`, `y`).
    pub fn resolve(self, names: &[String], what: &str) -> Result<Vec<Tensor<B>>> {
        let want = names.len();
        // Host arrays are uploaded to the CPU here; the call moves them to the model's
        // device with every other input.
        let upload = |h: &HostTensor| h.to_tensor::<B>(Device::Cpu);
        match self {
            Data::Host(v) => {
                let v = v.map_err(|e| unshare(e, what))?;
                let ts = v.iter().map(upload).collect::<Result<Vec<_>>>()?;
                Data::Many(ts).resolve(names, what)
            }
            Data::HostNamed(v) => {
                let v = v.map_err(|e| unshare(e, what))?;
                let ts = v
                    .into_iter()
                    .map(|(n, h)| Ok((n, upload(&h)?)))
                    .collect::<Result<Vec<_>>>()?;
                Data::Named(ts).resolve(names, what)
            }
            Data::One(t) => {
                if want != 1 {
                    return Err(Error::invalid(
                        what,
                        "count",
                        format!(
                            "the model has {want} of them ({}): give a list or name them",
                            names.join(", ")
                        ),
                    ));
                }
                Ok(vec![t])
            }
            Data::Many(v) => {
                if v.len() != want {
                    return Err(Error::invalid(
                        what,
                        "count",
                        format!(
                            "{} tensors given, the model has {want} ({})",
                            v.len(),
                            names.join(", ")
                        ),
                    ));
                }
                Ok(v)
            }
            Data::Named(pairs) => {
                for (n, _) in &pairs {
                    if !names.contains(n) {
                        return Err(Error::unknown(
                            format!("{what} name"),
                            n.clone(),
                            &names.iter().map(String::as_str).collect::<Vec<_>>(),
                        ));
                    }
                }
                names
                    .iter()
                    .map(|name| {
                        pairs
                            .iter()
                            .find(|(n, _)| n == name)
                            .map(|(_, t)| t.clone())
                            .ok_or_else(|| {
                                Error::invalid(what, name, "missing (no tensor given for it)")
                            })
                    })
                    .collect()
            }
        }
    }
}

/// The error inside an `Arc` (its message, naming `what`, when the `Arc` is shared by a
/// clone of the [`Data`]).
fn unshare(e: Arc<Error>, what: &str) -> Error {
    Arc::try_unwrap(e).unwrap_or_else(|e| Error::invalid(what, "values", e.to_string()))
}

impl<B: Backend> From<Tensor<B>> for Data<B> {
    fn from(t: Tensor<B>) -> Self {
        Data::One(t)
    }
}
impl<B: Backend> From<&Tensor<B>> for Data<B> {
    fn from(t: &Tensor<B>) -> Self {
        Data::One(t.clone())
    }
}
impl<B: Backend> From<Vec<Tensor<B>>> for Data<B> {
    fn from(v: Vec<Tensor<B>>) -> Self {
        Data::Many(v)
    }
}
impl<B: Backend> From<&[Tensor<B>]> for Data<B> {
    fn from(v: &[Tensor<B>]) -> Self {
        Data::Many(v.to_vec())
    }
}
impl<B: Backend> From<&Vec<Tensor<B>>> for Data<B> {
    fn from(v: &Vec<Tensor<B>>) -> Self {
        Data::Many(v.clone())
    }
}
impl<B: Backend, const N: usize> From<[&Tensor<B>; N]> for Data<B> {
    fn from(v: [&Tensor<B>; N]) -> Self {
        Data::Many(v.iter().map(|t| (*t).clone()).collect())
    }
}
impl<B: Backend, const N: usize> From<[(&str, &Tensor<B>); N]> for Data<B> {
    fn from(v: [(&str, &Tensor<B>); N]) -> Self {
        Data::Named(
            v.iter()
                .map(|(n, t)| (n.to_string(), (*t).clone()))
                .collect(),
        )
    }
}
impl<B: Backend> From<Vec<(String, Tensor<B>)>> for Data<B> {
    fn from(v: Vec<(String, Tensor<B>)>) -> Self {
        Data::Named(v)
    }
}

impl<B: Backend> From<HostTensor> for Data<B> {
    fn from(h: HostTensor) -> Self {
        Data::Host(Ok(vec![h]))
    }
}
impl<B: Backend> From<&HostTensor> for Data<B> {
    fn from(h: &HostTensor) -> Self {
        Data::Host(Ok(vec![h.clone()]))
    }
}
impl<B: Backend> From<Vec<HostTensor>> for Data<B> {
    fn from(v: Vec<HostTensor>) -> Self {
        Data::Host(Ok(v))
    }
}
impl<B: Backend, const N: usize> From<[&HostTensor; N]> for Data<B> {
    fn from(v: [&HostTensor; N]) -> Self {
        Data::Host(Ok(v.iter().map(|h| (*h).clone()).collect()))
    }
}
impl<B: Backend, const N: usize> From<[(&str, &HostTensor); N]> for Data<B> {
    fn from(v: [(&str, &HostTensor); N]) -> Self {
        Data::HostNamed(Ok(v
            .iter()
            .map(|(n, h)| (n.to_string(), (*h).clone()))
            .collect()))
    }
}

/// `From` impls for values with a shape, and one value per sample, of element type `$t`
/// (a [`HostData`] variant `$v`).
macro_rules! host_values {
    ($($t:ty => $v:ident),*) => {$(
        impl<B: Backend> From<(Vec<$t>, &[usize])> for Data<B> {
            fn from((v, shape): (Vec<$t>, &[usize])) -> Self {
                Data::Host(
                    HostTensor::checked(HostData::$v(v), shape)
                        .map(|h| vec![h])
                        .map_err(Arc::new),
                )
            }
        }
        impl<B: Backend, const R: usize> From<(Vec<$t>, &[usize; R])> for Data<B> {
            fn from((v, shape): (Vec<$t>, &[usize; R])) -> Self {
                Data::from((v, &shape[..]))
            }
        }
        impl<B: Backend> From<(&[$t], &[usize])> for Data<B> {
            fn from((v, shape): (&[$t], &[usize])) -> Self {
                Data::from((v.to_vec(), shape))
            }
        }
        impl<B: Backend, const R: usize> From<(&[$t], &[usize; R])> for Data<B> {
            fn from((v, shape): (&[$t], &[usize; R])) -> Self {
                Data::from((v.to_vec(), &shape[..]))
            }
        }
        impl<B: Backend> From<Vec<$t>> for Data<B> {
            fn from(v: Vec<$t>) -> Self {
                let n = v.len();
                Data::from((v, &[n][..]))
            }
        }
        impl<B: Backend> From<&[$t]> for Data<B> {
            fn from(v: &[$t]) -> Self {
                Data::from(v.to_vec())
            }
        }
        impl<B: Backend> From<&Vec<$t>> for Data<B> {
            fn from(v: &Vec<$t>) -> Self {
                Data::from(v.clone())
            }
        }
    )*};
}
host_values!(f32 => F32, i64 => I64);

/// Rows of equal length as a `[rows, len]` array (an error for ragged rows).
fn rows(v: &[Vec<f32>]) -> Result<HostTensor> {
    let width = v.first().map_or(0, Vec::len);
    if let Some((i, r)) = v.iter().enumerate().find(|(_, r)| r.len() != width) {
        return Err(Error::shape(
            "rows",
            format!("row {i}"),
            format!("{width} values, like row 0"),
            &[r.len()],
        ));
    }
    HostTensor::f32(v.concat(), &[v.len(), width])
}
impl<B: Backend> From<Vec<Vec<f32>>> for Data<B> {
    fn from(v: Vec<Vec<f32>>) -> Self {
        Data::Host(rows(&v).map(|h| vec![h]).map_err(Arc::new))
    }
}
impl<B: Backend> From<&Vec<Vec<f32>>> for Data<B> {
    fn from(v: &Vec<Vec<f32>>) -> Self {
        Data::Host(rows(v).map(|h| vec![h]).map_err(Arc::new))
    }
}
impl<B: Backend> From<&[Vec<f32>]> for Data<B> {
    fn from(v: &[Vec<f32>]) -> Self {
        Data::Host(rows(v).map(|h| vec![h]).map_err(Arc::new))
    }
}
