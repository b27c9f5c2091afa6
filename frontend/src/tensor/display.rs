//! Reading results out of a tensor: numpy-style printing (`Display`), 2-D extraction and
//! argmax to class names.

use super::Tensor;
use crate::backend::{Backend, HostData};
use crate::error::{Error, Result};
use std::fmt;

/// Above this many elements a tensor prints summarised, as numpy's `threshold`.
pub const PRINT_THRESHOLD: usize = 1000;
/// Items kept at each end of a summarised axis, as numpy's `edgeitems`.
pub const PRINT_EDGE_ITEMS: usize = 3;
/// Most digits after the decimal point, as numpy's default `precision`.
const PRECISION: usize = 8;

/// How the printed elements of one tensor are laid out (chosen once for all of them, so
/// columns line up).
enum Style {
    /// Integers and booleans: right-aligned.
    Right,
    /// Positional floats: aligned on the decimal point (left and right widths).
    Point(usize, usize),
}

/// `x` at its shortest round-trip form (`s` from the dtype's own `Display`), capped at
/// [`PRECISION`] decimals, with numpy's trailing point for whole numbers (`2.`).
fn positional(s: String, x: f64) -> String {
    if !x.is_finite() {
        return non_finite(x);
    }
    let s = match s.split_once('.') {
        Some((_, frac)) if frac.len() > PRECISION => {
            let t = format!("{x:.PRECISION$}");
            t.trim_end_matches('0').to_string()
        }
        _ => s,
    };
    if s.contains('.') {
        s
    } else {
        format!("{s}.")
    }
}

/// `x` in scientific notation as (mantissa, exponent): the mantissa at its shortest form
/// (`short`, the dtype's own `{:e}`), capped at [`PRECISION`] decimals, with a trailing
/// point when whole (`1.`); `None` for NaN and the infinities.
fn scientific(x: f64, short: String) -> Option<(String, i32)> {
    if !x.is_finite() {
        return None;
    }
    let (m, e) = short.split_once('e').unwrap_or((&short, "0"));
    let m = match m.split_once('.') {
        Some((_, frac)) if frac.len() > PRECISION => {
            let t = format!("{x:.PRECISION$e}");
            let (m, e) = t.split_once('e').unwrap_or((&t, "0"));
            return scientific(x, format!("{}e{e}", m.trim_end_matches('0')));
        }
        Some(_) => m.to_string(),
        None => format!("{m}."),
    };
    Some((m, e.parse().unwrap_or(0)))
}

/// An element in scientific notation: its row-major offset, value and
/// [`scientific`] parts.
type SciPart = (usize, f64, Option<(String, i32)>);

/// numpy's scientific layout: mantissas padded with zeros to the same decimals (`1.0e-05`,
/// `2.5e+02`), exponents with a sign and at least two digits.
fn scientific_strings(parts: Vec<SciPart>) -> Vec<(usize, String)> {
    let decimals = parts
        .iter()
        .filter_map(|(_, _, p)| p.as_ref())
        .map(|(m, _)| m.split_once('.').map_or(0, |(_, f)| f.len()))
        .max()
        .unwrap_or(0);
    parts
        .into_iter()
        .map(|(o, x, p)| {
            let s = match p {
                None => non_finite(x),
                Some((m, e)) => {
                    let sign = if e < 0 { '-' } else { '+' };
                    format!(
                        "{m:0<w$}e{sign}{:02}",
                        e.abs(),
                        w = m.find('.').unwrap_or(0) + 1 + decimals
                    )
                }
            };
            (o, s)
        })
        .collect()
}

/// numpy's spelling of NaN and the infinities.
fn non_finite(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x > 0.0 {
        "inf".into()
    } else {
        "-inf".into()
    }
}

/// The indices printed along an axis of size `n`: all of them, or the first and last
/// [`PRINT_EDGE_ITEMS`] with `None` for the `...` between them.
fn shown(n: usize, summarise: bool) -> Vec<Option<usize>> {
    if summarise && n > 2 * PRINT_EDGE_ITEMS {
        (0..PRINT_EDGE_ITEMS)
            .map(Some)
            .chain(std::iter::once(None))
            .chain((n - PRINT_EDGE_ITEMS..n).map(Some))
            .collect()
    } else {
        (0..n).map(Some).collect()
    }
}

/// The row-major offsets of every printed element (in print order).
fn shown_offsets(shape: &[usize], summarise: bool) -> Vec<usize> {
    let mut out = vec![0usize];
    for (axis, &n) in shape.iter().enumerate() {
        let stride: usize = shape[axis + 1..].iter().product();
        let idx: Vec<usize> = shown(n, summarise).into_iter().flatten().collect();
        out = out
            .iter()
            .flat_map(|base| idx.iter().map(move |i| base + i * stride))
            .collect();
    }
    out
}

/// The printed form of every element, indexed by row-major offset (only the printed ones
/// are filled), and the layout style.
fn element_strings(data: &HostData, offsets: &[usize]) -> (Vec<(usize, String)>, Style) {
    let float = |vals: Vec<(usize, f64, String)>, sci_short: &dyn Fn(f64) -> String| {
        let finite: Vec<f64> = vals
            .iter()
            .map(|v| v.1.abs())
            .filter(|a| a.is_finite())
            .collect();
        let max = finite.iter().cloned().fold(0.0, f64::max);
        let min_nonzero = finite
            .iter()
            .cloned()
            .filter(|a| *a > 0.0)
            .fold(f64::INFINITY, f64::min);
        // numpy's rule for switching to scientific notation.
        let sci = max >= 1e8
            || (min_nonzero.is_finite() && (min_nonzero < 1e-4 || max / min_nonzero > 1e3));
        if sci {
            let parts = vals
                .into_iter()
                .map(|(o, x, _)| (o, x, scientific(x, sci_short(x))))
                .collect();
            (scientific_strings(parts), Style::Right)
        } else {
            let strs: Vec<(usize, String)> = vals
                .into_iter()
                .map(|(o, x, s)| (o, positional(s, x)))
                .collect();
            let (mut l, mut r) = (0, 0);
            // nan / inf have no point: they only widen the field (see `pad`).
            for (a, b) in strs.iter().filter_map(|(_, s)| s.split_once('.')) {
                l = l.max(a.len());
                r = r.max(b.len());
            }
            (strs, Style::Point(l, r))
        }
    };
    match data {
        HostData::F32(v) => float(
            offsets
                .iter()
                .map(|&o| (o, v[o] as f64, v[o].to_string()))
                .collect(),
            &|x| format!("{:e}", x as f32),
        ),
        HostData::F64(v) => float(
            offsets
                .iter()
                .map(|&o| (o, v[o], v[o].to_string()))
                .collect(),
            &|x| format!("{x:e}"),
        ),
        HostData::BF16(v) => float(
            offsets
                .iter()
                .map(|&o| (o, f64::from(v[o]), v[o].to_string()))
                .collect(),
            &|x| format!("{:e}", half::bf16::from_f64(x)),
        ),
        HostData::F16(v) => float(
            offsets
                .iter()
                .map(|&o| (o, f64::from(v[o]), v[o].to_string()))
                .collect(),
            &|x| format!("{:e}", half::f16::from_f64(x)),
        ),
        HostData::I64(v) => (
            offsets.iter().map(|&o| (o, v[o].to_string())).collect(),
            Style::Right,
        ),
        HostData::Bool(v) => (
            offsets.iter().map(|&o| (o, v[o].to_string())).collect(),
            Style::Right,
        ),
    }
}

/// Pads `s` to the common layout.
fn pad(s: &str, style: &Style, width: usize) -> String {
    match style {
        Style::Right => format!("{s:>width$}"),
        Style::Point(l, r) => {
            let field = width.max(l + 1 + r);
            match s.split_once('.') {
                Some((a, b)) => format!("{:>field$}", format!("{a:>l$}.{b:<r$}")),
                // nan / inf: right-aligned over the whole field.
                None => format!("{s:>field$}"),
            }
        }
    }
}

/// Writes the block of `shape` starting at row-major offset `base`.
fn write_block(
    f: &mut fmt::Formatter<'_>,
    shape: &[usize],
    base: usize,
    depth: usize,
    summarise: bool,
    cell: &dyn Fn(usize) -> String,
) -> fmt::Result {
    f.write_str("[")?;
    let n = shape[0];
    let stride: usize = shape[1..].iter().product();
    let rest = shape.len() - 1;
    for (k, i) in shown(n, summarise).into_iter().enumerate() {
        if k > 0 {
            if rest == 0 {
                f.write_str(" ")?;
            } else {
                // One line break per remaining axis, then indent under the opening bracket.
                f.write_str(&"\n".repeat(rest))?;
                f.write_str(&" ".repeat(depth + 1))?;
            }
        }
        match i {
            None => f.write_str("...")?,
            Some(i) if rest == 0 => f.write_str(&cell(base + i))?,
            Some(i) => write_block(
                f,
                &shape[1..],
                base + i * stride,
                depth + 1,
                summarise,
                cell,
            )?,
        }
    }
    f.write_str("]")
}

/// Prints the values the way numpy's `str(array)` does: nested brackets, one row per line,
/// columns aligned (floats on the decimal point, `2.` for whole floats, scientific notation
/// when magnitudes span more than 1e3 or reach 1e8), and past
/// [`PRINT_THRESHOLD`] elements only the first and last [`PRINT_EDGE_ITEMS`] of each axis
/// with `...` between them. Floats show their shortest round-trip form in their own dtype
/// (an `f32` `0.1` prints `0.1`), at most 8 decimals. numpy's 75-column line wrapping is not
/// reproduced. A tensor that cannot be read back prints its error in angle brackets.
///
/// ```
/// use stratanet::{Tensor, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let t = Tensor::<B>::from_vec(vec![1.0f32, 2.5, -3.0, 0.1], &[2, 2])?;
/// assert_eq!(t.to_string(), "[[ 1.   2.5]\n [-3.   0.1]]");
/// let big = Tensor::<B>::from_vec((0..2000i64).collect::<Vec<_>>(), &[2000])?;
/// assert_eq!(big.to_string(), "[   0    1    2 ... 1997 1998 1999]");
/// # Ok(())
/// # }
/// ```
impl<B: Backend> fmt::Display for Tensor<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = match self.to_host() {
            Ok(d) => d,
            Err(e) => return write!(f, "<tensor not readable: {e}>"),
        };
        let shape = self.shape();
        let numel: usize = shape.iter().product();
        if numel == 0 {
            // numpy prints an empty array as `[]` whatever its shape.
            return f.write_str("[]");
        }
        let summarise = numel > PRINT_THRESHOLD;
        let offsets = shown_offsets(&shape, summarise);
        let (strs, style) = element_strings(&data, &offsets);
        let width = strs.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
        let by_offset: std::collections::HashMap<usize, String> = strs.into_iter().collect();
        let cell = |o: usize| pad(by_offset.get(&o).map_or("", |s| s), &style, width);
        if shape.is_empty() {
            return f.write_str(cell(0).trim_start());
        }
        write_block(f, &shape, 0, 0, summarise, &cell)
    }
}

impl<B: Backend> Tensor<B> {
    /// The `[rows, cols]` dimensions of a 2-D tensor, or a shape error naming `op`.
    fn dims2(&self, op: &str) -> Result<(usize, usize)> {
        match self.shape()[..] {
            [r, c] => Ok((r, c)),
            ref s => Err(Error::shape(op, "tensor", "a 2-D tensor [rows, cols]", s)),
        }
    }

    /// Contents of a 2-D tensor as rows of `f32` (converted from any dtype), like
    /// `array.tolist()` on a matrix.
    ///
    /// ```
    /// use stratanet::{Tensor, DefaultBackend as B};
    /// # fn main() -> stratanet::Result<()> {
    /// let t = Tensor::<B>::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    /// assert_eq!(t.to_vec2_f32()?, vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::Shape`] when the tensor is not 2-D.
    pub fn to_vec2_f32(&self) -> Result<Vec<Vec<f32>>> {
        let (r, c) = self.dims2("to_vec2_f32")?;
        Ok(rows(self.to_vec_f32()?, r, c))
    }

    /// Contents of a 2-D tensor as rows of `f64`.
    ///
    /// # Errors
    /// [`Error::Shape`] when the tensor is not 2-D.
    pub fn to_vec2_f64(&self) -> Result<Vec<Vec<f64>>> {
        let (r, c) = self.dims2("to_vec2_f64")?;
        Ok(rows(self.to_vec_f64()?, r, c))
    }

    /// Contents of a 2-D tensor as rows of `i64` (floats truncated toward zero).
    ///
    /// # Errors
    /// [`Error::Shape`] when the tensor is not 2-D.
    pub fn to_vec2_i64(&self) -> Result<Vec<Vec<i64>>> {
        let (r, c) = self.dims2("to_vec2_i64")?;
        Ok(rows(self.to_vec_i64()?, r, c))
    }

    /// For scores (probabilities or logits) `[n, k]`, the name of the highest-scoring
    /// class of each row: `class_names[argmax(row)]`, ties to the first class as `argmax`.
    /// Turns a classifier's `predict` output into labels.
    ///
    /// ```
    /// use stratanet::{Tensor, DefaultBackend as B};
    /// # fn main() -> stratanet::Result<()> {
    /// let probs = Tensor::<B>::from_vec(vec![0.9f32, 0.1, 0.3, 0.7], &[2, 2])?;
    /// assert_eq!(probs.argmax_names(&["rain", "sun"])?, ["rain", "sun"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::Shape`] when the tensor is not `[n, class_names.len()]`;
    /// [`Error::InvalidArgument`] for a NaN score (naming the row).
    pub fn argmax_names<S: AsRef<str>>(&self, class_names: &[S]) -> Result<Vec<String>> {
        const OP: &str = "argmax_names";
        let k = class_names.len();
        let (_, c) = self.dims2(OP)?;
        if c != k || k == 0 {
            return Err(Error::shape(
                OP,
                "scores",
                format!("[n, {k}] (one column per class name)"),
                &self.shape(),
            ));
        }
        argmax_rows(&self.to_vec_f64()?, k, OP)?
            .into_iter()
            .map(|j| Ok(class_names[j].as_ref().to_string()))
            .collect()
    }
}

/// `flat` (`n_rows * cols` values) cut into `n_rows` rows of `cols` values.
fn rows<T: Clone>(flat: Vec<T>, n_rows: usize, cols: usize) -> Vec<Vec<T>> {
    if cols == 0 {
        return vec![Vec::new(); n_rows];
    }
    flat.chunks(cols).map(<[T]>::to_vec).collect()
}

/// The argmax of each row of `k` values (ties to the first); an error naming the row for a
/// NaN value.
pub(crate) fn argmax_rows<T: Copy + PartialOrd>(
    flat: &[T],
    k: usize,
    op: &str,
) -> Result<Vec<usize>> {
    flat.chunks(k)
        .enumerate()
        .map(|(r, row)| {
            if row.iter().any(|v| v.partial_cmp(v).is_none()) {
                return Err(Error::invalid(
                    op,
                    "scores",
                    format!("NaN score at row {r} (0-based)"),
                ));
            }
            Ok(row
                .iter()
                .enumerate()
                .fold(0, |best, (j, v)| if *v > row[best] { j } else { best }))
        })
        .collect()
}
