//! [`Data`]: the inputs and targets given to `fit`, `evaluate` and `predict`: one tensor, a list by
//! position, or pairs by name.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// One or several tensors, by position or by input/output name.
///
/// `&x`, `x`, `vec![a, b]`, `&[a, b][..]` and `[("image", &a), ("meta", &b)]` all convert.
#[derive(Debug, Clone)]
pub enum Data<B: Backend> {
    /// A single tensor (single-input / single-output models).
    One(Tensor<B>),
    /// Tensors in the order of the model's inputs (or outputs).
    Many(Vec<Tensor<B>>),
    /// Tensors by input (or output) name.
    Named(Vec<(String, Tensor<B>)>),
}

impl<B: Backend> Data<B> {
    /// Orders the tensors like `names` (the model's input or output names).
    ///
    /// # Errors
    /// A wrong count, an unknown name or a missing name, naming `what` (`x`, `y`).
    pub fn resolve(self, names: &[String], what: &str) -> Result<Vec<Tensor<B>>> {
        let want = names.len();
        match self {
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
