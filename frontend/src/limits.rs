//! Ceilings on the sizes a model config may ask for, and the checks that enforce them.
//!
//! A model file's config is data from outside: anyone can write `units: 1e12` into it and
//! recompute the checksum. Every size read from a config is therefore checked before
//! anything is allocated:
//!
//! - each size field (`units`, `filters`, `kernel_size`, `strides`, `pool_size`,
//!   `input_dim`, `output_dim`, `num_heads`, `key_dim`, `n`, `num_tokens`, `num_bins`,
//!   input and target shapes, padding, up-sampling factors, ...) must be a whole number
//!   in `1..=`[`MAX_DIM`] (padding and cropping may be 0): zero, negative, fractional or
//!   larger values are an [`Error`] naming the layer and the field;
//! - shape inference uses checked arithmetic, so a shape whose element count would not fit
//!   in a `usize`, or a kernel larger than its input, is an error naming the layer;
//! - every weight tensor a layer creates holds at most [`MAX_WEIGHT_ELEMENTS`] values;
//! - while a model file is loaded (`Sequential::load`, `Model::load`), the weights created
//!   by building the model from the file's config may not hold more values in total than
//!   the file stores (weights plus optimizer slots): a model whose weights exceed what the
//!   file holds is refused before the weight is allocated;
//! - models nested in models (a `Functional` layer inside a model) may be at most
//!   [`MAX_MODEL_DEPTH`] deep, and a config's JSON at most [`MAX_JSON_NESTING`] levels.

use crate::error::{Error, Result};
use std::cell::RefCell;

/// The largest value of any one size read from a config (`units`, `filters`, a dimension
/// of an input shape, ...): `2^31 - 1`.
pub const MAX_DIM: usize = (1 << 31) - 1;

/// The largest number of values in one weight tensor a layer may create: `2^32`
/// (16 GiB of `f32`).
pub const MAX_WEIGHT_ELEMENTS: usize = 1 << 32;

/// The largest number of values a layer may expand from its config into state that is not
/// saved as a weight (`Normalization` with a scalar `mean` broadcast over its kept axes):
/// `2^24`.
pub const MAX_UNSAVED_ELEMENTS: usize = 1 << 24;

/// How deeply models may be nested in models (a `Functional` layer inside a model inside
/// a model ...): 32.
pub const MAX_MODEL_DEPTH: usize = 32;

/// How deeply a model file's config JSON may nest arrays and objects: 128 (serde_json's
/// own recursion limit, checked first so that the error says what it is).
pub const MAX_JSON_NESTING: usize = 128;

#[derive(Default)]
struct Scope {
    /// `(origin, values the file stores, values created so far)` while a file is loaded.
    budget: Option<(String, u128, u128)>,
    /// The layer being built (`dense_1 (Dense)`).
    layer: Option<String>,
    /// How many model configs are being read, one inside the other.
    depth: usize,
}

thread_local! {
    static SCOPE: RefCell<Scope> = RefCell::new(Scope::default());
}

/// Runs `f` (building a model from a file's config) with a budget of `stored` values: the
/// weights created meanwhile may not hold more values in total.
pub(crate) fn with_file_budget<T>(
    origin: &str,
    stored: u128,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    struct Restore(Option<(String, u128, u128)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let old = self.0.take();
            SCOPE.with(|s| s.borrow_mut().budget = old);
        }
    }
    let old = SCOPE.with(|s| {
        s.borrow_mut()
            .budget
            .replace((origin.to_string(), stored, 0))
    });
    let _restore = Restore(old);
    f()
}

/// Runs `f` (a layer's `build`) with `label` as the layer named by weight-size errors.
pub(crate) fn in_layer<T>(label: impl FnOnce() -> String, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<String>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let old = self.0.take();
            SCOPE.with(|s| s.borrow_mut().layer = old);
        }
    }
    let old = SCOPE.with(|s| s.borrow_mut().layer.replace(label()));
    let _restore = Restore(old);
    f()
}

/// Runs `f` (reading one model config) one nesting level deeper; refuses beyond
/// [`MAX_MODEL_DEPTH`] without calling `f`.
pub(crate) fn nested_model<T>(model: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            SCOPE.with(|s| s.borrow_mut().depth -= 1);
        }
    }
    let depth = SCOPE.with(|s| {
        let mut s = s.borrow_mut();
        s.depth += 1;
        s.depth
    });
    let _leave = Leave;
    if depth > MAX_MODEL_DEPTH {
        return Err(Error::invalid(
            if model.is_empty() {
                "model_config"
            } else {
                model
            },
            "layers",
            format!(
                "models nested {depth} deep (a 'Functional' layer inside a model inside ...); \
                 the limit is {MAX_MODEL_DEPTH}"
            ),
        ));
    }
    f()
}

fn current_layer() -> String {
    SCOPE
        .with(|s| s.borrow().layer.clone())
        .unwrap_or_else(|| "layer".to_string())
}

/// The number of values of `shape`, checked: an error naming `context` and `argument`
/// when the product does not fit in a `usize`.
///
/// # Errors
/// [`Error::InvalidArgument`] on overflow.
pub fn checked_numel(context: &str, argument: &str, shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            Error::invalid(
                context,
                argument,
                format!("shape {shape:?} has more elements than fit in memory addresses"),
            )
        })
}

/// Checks a weight of `shape` before it is allocated: its size against
/// [`MAX_WEIGHT_ELEMENTS`] and, while a file is loaded, against the values the file stores.
/// Returns the number of values.
///
/// # Errors
/// [`Error::InvalidArgument`] naming the layer being built and the shape.
pub fn reserve_weight(shape: &[usize]) -> Result<usize> {
    let layer = || current_layer();
    let n = checked_numel(&layer(), "weight", shape)?;
    if n > MAX_WEIGHT_ELEMENTS {
        return Err(Error::invalid(
            layer(),
            "weight",
            format!(
                "a weight of shape {shape:?} would hold {n} values; the limit is \
                 {MAX_WEIGHT_ELEMENTS} (check the layer's size fields and its input shape)"
            ),
        ));
    }
    SCOPE.with(|s| {
        let mut s = s.borrow_mut();
        let layer = s.layer.clone().unwrap_or_else(|| "layer".to_string());
        if let Some((origin, stored, used)) = &mut s.budget {
            let total = *used + n as u128;
            if total > *stored {
                return Err(Error::invalid(
                    layer,
                    "weight",
                    format!(
                        "asks for a weight of shape {shape:?} ({n} values, {total} with the \
                         layers before it) but the model file {origin} stores only {stored} \
                         values; the config does not match the file (check the layer's size \
                         fields and its input shape)"
                    ),
                ));
            }
            *used = total;
        }
        Ok(n)
    })
}

/// Checks state of `shape` that a layer expands from its config without saving it as a
/// weight, against [`MAX_UNSAVED_ELEMENTS`].
///
/// # Errors
/// [`Error::InvalidArgument`] naming `layer` and `argument`.
pub(crate) fn reserve_unsaved(layer: &str, argument: &str, shape: &[usize]) -> Result<usize> {
    let n = checked_numel(layer, argument, shape)?;
    if n > MAX_UNSAVED_ELEMENTS {
        return Err(Error::invalid(
            layer,
            argument,
            format!(
                "would be expanded to shape {shape:?} ({n} values); the limit is \
                 {MAX_UNSAVED_ELEMENTS}"
            ),
        ));
    }
    Ok(n)
}

/// How deeply `text` nests JSON arrays and objects (strings skipped).
pub(crate) fn json_nesting(text: &str) -> usize {
    let (mut depth, mut max, mut in_str, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Reads a size from a JSON value: a whole number in `min..=`[`MAX_DIM`].
///
/// # Errors
/// [`Error::InvalidArgument`] naming `layer` and `field`, saying what was given.
pub(crate) fn size_value(
    v: &serde_json::Value,
    layer: &str,
    field: &str,
    min: usize,
) -> Result<usize> {
    let bad = || {
        Error::invalid(
            layer,
            field,
            format!("must be a whole number in {min}..={MAX_DIM}, got {v}"),
        )
    };
    let n = v.as_u64().ok_or_else(bad)?;
    let n = usize::try_from(n).map_err(|_| bad())?;
    if n < min || n > MAX_DIM {
        return Err(bad());
    }
    Ok(n)
}

/// Checks a per-sample shape that flows from one layer to the next in a model: every
/// dimension at most [`MAX_DIM`] and the element count within a `usize`, so that the next
/// layer's shape arithmetic cannot overflow.
///
/// # Errors
/// [`Error::InvalidArgument`] naming `layer` and `argument` and the shape.
pub fn check_shape(layer: &str, argument: &str, shape: &[usize]) -> Result<()> {
    if let Some(d) = shape.iter().find(|&&d| d > MAX_DIM) {
        return Err(Error::invalid(
            layer,
            argument,
            format!("shape {shape:?} has a dimension of {d}; the limit is {MAX_DIM}"),
        ));
    }
    checked_numel(layer, argument, shape).map(|_| ())
}

/// `a + b` for sizes, checked.
///
/// # Errors
/// [`Error::InvalidArgument`] naming `layer` and `field` on overflow.
pub(crate) fn add(layer: &str, field: &str, a: usize, b: usize) -> Result<usize> {
    a.checked_add(b).ok_or_else(|| {
        Error::invalid(
            layer,
            field,
            format!("{a} + {b} does not fit in memory addresses"),
        )
    })
}

/// `a * b` for sizes, checked.
///
/// # Errors
/// [`Error::InvalidArgument`] naming `layer` and `field` on overflow.
pub(crate) fn mul(layer: &str, field: &str, a: usize, b: usize) -> Result<usize> {
    a.checked_mul(b).ok_or_else(|| {
        Error::invalid(
            layer,
            field,
            format!("{a} * {b} does not fit in memory addresses"),
        )
    })
}
