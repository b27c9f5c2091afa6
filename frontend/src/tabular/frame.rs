//! The pandas-style basics of a [`Table`]: [`Table::head`], [`Table::describe`],
//! [`Table::value_counts`], `Display`, [`Table::train_test_split`], derived columns
//! ([`Table::map_str`], [`Table::map_f64`]) and [`Table::with_columns`].

use std::collections::HashMap;
use std::fmt;

use super::table::{Column, Table};
use crate::error::{Error, Result};

/// A value a derived column can hold: `i64`, `f64`, `String`, `&str`, or any of them
/// in an `Option` (`None` is a missing value). See [`Table::map_str`].
pub trait CellValue {
    /// The column of these values.
    fn into_column(values: Vec<Option<Self>>) -> Column
    where
        Self: Sized;
}

impl CellValue for i64 {
    fn into_column(values: Vec<Option<i64>>) -> Column {
        Column::Int(values)
    }
}

impl CellValue for f64 {
    fn into_column(values: Vec<Option<f64>>) -> Column {
        Column::Float(values)
    }
}

impl CellValue for String {
    fn into_column(values: Vec<Option<String>>) -> Column {
        Column::Str(values)
    }
}

impl CellValue for &str {
    fn into_column(values: Vec<Option<&str>>) -> Column {
        Column::Str(values.into_iter().map(|v| v.map(str::to_string)).collect())
    }
}

/// What the function of a derived column returns: a [`CellValue`], or an `Option` of one
/// (`None`: missing, e.g. an unparsable string).
pub trait IntoCell {
    /// The value type.
    type Value: CellValue;
    /// The value, or `None` for a missing one.
    fn into_cell(self) -> Option<Self::Value>;
}

macro_rules! into_cell {
    ($($t:ty),*) => {$(
        impl IntoCell for $t {
            type Value = $t;
            fn into_cell(self) -> Option<$t> {
                Some(self)
            }
        }
        impl IntoCell for Option<$t> {
            type Value = $t;
            fn into_cell(self) -> Option<$t> {
                self
            }
        }
    )*};
}
into_cell!(i64, f64, String);

impl<'a> IntoCell for &'a str {
    type Value = &'a str;
    fn into_cell(self) -> Option<&'a str> {
        Some(self)
    }
}

impl<'a> IntoCell for Option<&'a str> {
    type Value = &'a str;
    fn into_cell(self) -> Option<&'a str> {
        self
    }
}

/// The names of [`Table::describe`]'s rows, in order (pandas').
pub const DESCRIBE_STATS: [&str; 8] = ["count", "mean", "std", "min", "25%", "50%", "75%", "max"];

/// How many rows `Display` shows before it truncates (to the first and last
/// [`DISPLAY_EDGE_ROWS`]), like pandas' `display.max_rows`.
pub const DISPLAY_MAX_ROWS: usize = 20;
/// Rows shown at each end of a truncated table.
pub const DISPLAY_EDGE_ROWS: usize = 5;
/// How many columns `Display` shows before it truncates (to the first and last
/// [`DISPLAY_EDGE_COLS`]).
pub const DISPLAY_MAX_COLS: usize = 12;
/// Columns shown at each end of a truncated table.
pub const DISPLAY_EDGE_COLS: usize = 5;
/// The widest a shown string value gets (longer ones end in `...`).
const DISPLAY_MAX_WIDTH: usize = 30;

impl Table {
    /// The first `n` rows (all of them when the table is shorter).
    ///
    /// ```
    /// use stratanet::tabular::{Column, Table};
    /// # fn main() -> stratanet::Result<()> {
    /// let t = Table::new(vec![("x".into(), Column::ints(vec![1, 2, 3]))])?;
    /// assert_eq!(t.head(2).column("x")?, &Column::ints(vec![1, 2]));
    /// assert_eq!(t.head(10).n_rows(), 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn head(&self, n: usize) -> Table {
        let idx: Vec<usize> = (0..n.min(self.n_rows())).collect();
        self.take(&idx)
    }

    /// The last `n` rows (all of them when the table is shorter).
    pub fn tail(&self, n: usize) -> Table {
        let idx: Vec<usize> = (self.n_rows().saturating_sub(n)..self.n_rows()).collect();
        self.take(&idx)
    }

    /// Summary statistics of every numeric column, like pandas' `describe()`: a table with
    /// a `stat` column ([`DESCRIBE_STATS`]: count, mean, std, min, 25%, 50%, 75%, max)
    /// and one float column per numeric column. Missing values are skipped; `std` is the
    /// sample standard deviation (`ddof = 1`), the quartiles interpolate linearly
    /// (numpy's default); a column without present values gives count 0 and missing
    /// statistics.
    ///
    /// ```
    /// use stratanet::tabular::{Column, Table};
    /// # fn main() -> stratanet::Result<()> {
    /// let t = Table::new(vec![
    ///     ("x".into(), Column::Float(vec![Some(1.0), Some(2.0), None, Some(4.0)])),
    ///     ("kind".into(), Column::strs(&["a", "b", "a", "c"])),
    /// ])?;
    /// let d = t.describe()?;
    /// assert_eq!(d.names(), ["stat", "x"]);
    /// let x = d.column("x")?.as_f64().unwrap();
    /// assert_eq!(x[0], Some(3.0)); // count
    /// assert_eq!(x[5], Some(2.0)); // median
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the table has no numeric column.
    pub fn describe(&self) -> Result<Table> {
        let mut cols: Vec<(String, Column)> = vec![("stat".into(), Column::strs(&DESCRIBE_STATS))];
        for (name, col) in self.names().iter().zip(self.columns()) {
            let Some(values) = col.as_f64() else {
                continue;
            };
            let mut v: Vec<f64> = values.into_iter().flatten().collect();
            v.sort_by(f64::total_cmp);
            let n = v.len();
            let stats = if n == 0 {
                vec![Some(0.0), None, None, None, None, None, None, None]
            } else {
                let mean = v.iter().sum::<f64>() / n as f64;
                let std = if n > 1 {
                    Some(
                        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt(),
                    )
                } else {
                    None
                };
                vec![
                    Some(n as f64),
                    Some(mean),
                    std,
                    Some(v[0]),
                    Some(quantile(&v, 0.25)),
                    Some(quantile(&v, 0.5)),
                    Some(quantile(&v, 0.75)),
                    Some(v[n - 1]),
                ]
            };
            cols.push((name.clone(), Column::Float(stats)));
        }
        if cols.len() == 1 {
            return Err(Error::invalid(
                "Table::describe",
                "table",
                format!(
                    "{} has no numeric column (columns: {:?})",
                    self.source(),
                    self.schema()
                ),
            ));
        }
        Ok(Table::new(cols)?.with_source(format!("describe({})", self.source())))
    }

    /// How often each value of column `name` occurs, like pandas' `value_counts()`: a table
    /// of the values (column `name`, same type) and their counts (`count`, int), most
    /// frequent first, ties in order of first appearance; missing values are not counted.
    ///
    /// ```
    /// use stratanet::tabular::{Column, Table};
    /// # fn main() -> stratanet::Result<()> {
    /// let t = Table::new(vec![("w".into(), Column::strs(&["sun", "rain", "sun", "fog", "rain", "sun"]))])?;
    /// let c = t.value_counts("w")?;
    /// assert_eq!(c.column("w")?, &Column::strs(&["sun", "rain", "fog"]));
    /// assert_eq!(c.column("count")?, &Column::ints(vec![3, 2, 1]));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownName`] for an unknown column.
    pub fn value_counts(&self, name: &str) -> Result<Table> {
        let col = self.column(name)?;
        // Keys: the value's text for strings and integers, its bits for floats.
        fn count<K: std::hash::Hash + Eq>(
            keys: impl Iterator<Item = Option<K>>,
        ) -> Vec<(usize, usize)> {
            let mut seen: HashMap<K, usize> = HashMap::new();
            let mut out: Vec<(usize, usize)> = Vec::new(); // (first row, count)
            for (row, k) in keys.enumerate() {
                let Some(k) = k else { continue };
                match seen.get(&k) {
                    Some(&i) => out[i].1 += 1,
                    None => {
                        seen.insert(k, out.len());
                        out.push((row, 1));
                    }
                }
            }
            out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            out
        }
        let counts = match col {
            Column::Str(v) => count(v.iter().map(|x| x.as_deref())),
            Column::Int(v) => count(v.iter().copied()),
            Column::Float(v) => count(v.iter().map(|x| x.map(f64::to_bits))),
        };
        let rows: Vec<usize> = counts.iter().map(|&(r, _)| r).collect();
        let n: Vec<i64> = counts.iter().map(|&(_, c)| c as i64).collect();
        Ok(Table::new(vec![
            (name.to_string(), col.take(&rows)),
            ("count".to_string(), Column::ints(n)),
        ])?
        .with_source(format!("value_counts({})", self.source())))
    }

    /// A `(train, test)` pair after a seeded shuffle, `test_size` (a fraction in `(0, 1)`)
    /// of the rows in `test`, like scikit-learn's `train_test_split`.
    ///
    /// ```
    /// use stratanet::tabular::{Column, Table};
    /// # fn main() -> stratanet::Result<()> {
    /// let t = Table::new(vec![("x".into(), Column::ints((0..10).collect()))])?;
    /// let (train, test) = t.train_test_split(0.2, 42)?;
    /// assert_eq!((train.n_rows(), test.n_rows()), (8, 2));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a `test_size` outside `(0, 1)`.
    pub fn train_test_split(&self, test_size: f64, seed: u64) -> Result<(Table, Table)> {
        check_test_size(test_size)?;
        let mut parts = self.split(&[1.0 - test_size, test_size], seed)?;
        let test = parts.pop().unwrap_or_else(|| self.head(0));
        let train = parts.pop().unwrap_or_else(|| self.head(0));
        Ok((train, test))
    }

    /// [`Table::train_test_split`] keeping the share of each class of column `label` in
    /// both parts (see [`Table::stratified_split`]).
    ///
    /// # Errors
    /// As [`Table::train_test_split`] and [`Table::stratified_split`].
    pub fn stratified_train_test_split(
        &self,
        label: &str,
        test_size: f64,
        seed: u64,
    ) -> Result<(Table, Table)> {
        check_test_size(test_size)?;
        let mut parts = self.stratified_split(label, &[1.0 - test_size, test_size], seed)?;
        let test = parts.pop().unwrap_or_else(|| self.head(0));
        let train = parts.pop().unwrap_or_else(|| self.head(0));
        Ok((train, test))
    }

    /// The table with a column `new` derived from the string column `source` by `f`
    /// (added last, or replacing a column of that name): `f` returns an `i64`, `f64`,
    /// `String` or `&str`, or an `Option` of one (`None`: a missing value); a missing
    /// source value stays missing (`f` is not called).
    ///
    /// ```
    /// use stratanet::tabular::{Column, Table};
    /// # fn main() -> stratanet::Result<()> {
    /// let t = Table::new(vec![("date".into(), Column::strs(&["2012/01/31", "2015/12/01"]))])?;
    /// let t = t
    ///     .map_str("date", "year", |d| d[..4].parse::<i64>().ok())?
    ///     .map_str("date", "month", |d| d[5..7].to_string())?;
    /// assert_eq!(t.column("year")?, &Column::ints(vec![2012, 2015]));
    /// assert_eq!(t.column("month")?, &Column::strs(&["01", "12"]));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownName`] for an unknown column; [`Error::InvalidArgument`] naming the
    /// column and its type when `source` is not a string column.
    pub fn map_str<R, F>(self, source: &str, new: &str, f: F) -> Result<Table>
    where
        F: Fn(&str) -> R,
        R: IntoCell,
    {
        let col = self.column(source)?;
        let Some(values) = col.as_str() else {
            return Err(wrong_source(
                "Table::map_str",
                source,
                col,
                "a string",
                "map_f64",
            ));
        };
        let out: Vec<Option<R::Value>> = values
            .into_iter()
            .map(|v| v.and_then(|s| f(s).into_cell()))
            .collect();
        let column = R::Value::into_column(out);
        self.with_column(new, column)
    }

    /// The table with a column `new` derived from the numeric (float or int) column
    /// `source` by `f` (on the values as `f64`); otherwise as [`Table::map_str`].
    ///
    /// ```
    /// use stratanet::tabular::{Column, Table};
    /// # fn main() -> stratanet::Result<()> {
    /// let t = Table::new(vec![("lbs".into(), Column::Int(vec![Some(2000), None]))])?;
    /// let t = t.map_f64("lbs", "kg", |w| w * 0.4536)?;
    /// assert_eq!(t.column("kg")?, &Column::Float(vec![Some(907.2), None]));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownName`] for an unknown column; [`Error::InvalidArgument`] naming the
    /// column and its type when `source` is a string column.
    pub fn map_f64<R, F>(self, source: &str, new: &str, f: F) -> Result<Table>
    where
        F: Fn(f64) -> R,
        R: IntoCell,
    {
        let col = self.column(source)?;
        let Some(values) = col.as_f64() else {
            return Err(wrong_source(
                "Table::map_f64",
                source,
                col,
                "a numeric",
                "map_str",
            ));
        };
        let out: Vec<Option<R::Value>> = values
            .into_iter()
            .map(|v| v.and_then(|x| f(x).into_cell()))
            .collect();
        let column = R::Value::into_column(out);
        self.with_column(new, column)
    }

    /// The table with several columns added (or replaced, by name), in order; see
    /// [`Table::with_column`].
    ///
    /// ```
    /// use stratanet::tabular::{Column, Table};
    /// # fn main() -> stratanet::Result<()> {
    /// let t = Table::new(vec![("x".into(), Column::ints(vec![1, 2]))])?;
    /// let t = t.with_columns(vec![
    ///     ("double", Column::ints(vec![2, 4])),
    ///     ("name", Column::strs(&["a", "b"])),
    /// ])?;
    /// assert_eq!(t.names(), ["x", "double", "name"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Table::with_column`], for the first column that does not fit.
    pub fn with_columns<S: AsRef<str>>(
        self,
        columns: impl IntoIterator<Item = (S, Column)>,
    ) -> Result<Table> {
        columns
            .into_iter()
            .try_fold(self, |t, (name, col)| t.with_column(name.as_ref(), col))
    }
}

fn check_test_size(test_size: f64) -> Result<()> {
    if !(test_size > 0.0 && test_size < 1.0) {
        return Err(Error::invalid(
            "Table::train_test_split",
            "test_size",
            format!("must be a fraction in (0, 1), got {test_size}"),
        ));
    }
    Ok(())
}

fn wrong_source(ctx: &str, name: &str, col: &Column, expected: &str, other: &str) -> Error {
    Error::invalid(
        ctx,
        format!("column '{name}'"),
        format!(
            "expected {expected} column, got a {} column (use Table::{other} for it)",
            col.dtype()
        ),
    )
}

/// numpy's default (linear) quantile of sorted, non-empty values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The shown text of every value of a column (at `rows`): floats with the fewest
/// decimals (at most 6) that show each of them, as pandas does per column.
fn cells(col: &Column, rows: &[usize]) -> Vec<String> {
    match col {
        Column::Float(v) => {
            let decimals = rows
                .iter()
                .filter_map(|&r| v[r])
                .map(|x| {
                    (0..=6)
                        .find(|&d| {
                            let s = format!("{x:.d$}");
                            s.parse::<f64>().is_ok_and(|p| p == x)
                        })
                        .unwrap_or(6)
                })
                .max()
                .unwrap_or(1)
                .max(1);
            rows.iter()
                .map(|&r| match v[r] {
                    Some(x) => format!("{x:.decimals$}"),
                    None => "NaN".into(),
                })
                .collect()
        }
        Column::Int(v) => rows
            .iter()
            .map(|&r| v[r].map_or("NaN".into(), |x| x.to_string()))
            .collect(),
        Column::Str(v) => rows
            .iter()
            .map(|&r| match &v[r] {
                Some(s) if s.chars().count() > DISPLAY_MAX_WIDTH => {
                    let cut: String = s.chars().take(DISPLAY_MAX_WIDTH - 3).collect();
                    format!("{cut}...")
                }
                Some(s) => s.clone(),
                None => "NaN".into(),
            })
            .collect(),
    }
}

/// Indices shown of `n`, with `None` where the `...` goes (more than `max`: the first and
/// last `edge`).
fn shown(n: usize, max: usize, edge: usize) -> Vec<Option<usize>> {
    if n <= max {
        (0..n).map(Some).collect()
    } else {
        (0..edge)
            .map(Some)
            .chain(std::iter::once(None))
            .chain((n - edge..n).map(Some))
            .collect()
    }
}

/// pandas-style text: a header of column names, one line per row with its 0-based index,
/// values right-aligned (strings too, as pandas does), missing values as `NaN`; more
/// than [`DISPLAY_MAX_ROWS`] rows or [`DISPLAY_MAX_COLS`] columns are cut to the first and
/// last ones around `...`, and a `[n rows x m columns]` footer says the full size.
///
/// ```
/// use stratanet::tabular::{Column, Table};
/// # fn main() -> stratanet::Result<()> {
/// let t = Table::new(vec![
///     ("x".into(), Column::Float(vec![Some(1.5), None])),
///     ("kind".into(), Column::strs(&["a", "bb"])),
/// ])?;
/// assert_eq!(t.to_string(), "     x  kind\n0  1.5     a\n1  NaN    bb\n\n[2 rows x 2 columns]");
/// # Ok(())
/// # }
/// ```
impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = shown(self.n_rows(), DISPLAY_MAX_ROWS, DISPLAY_EDGE_ROWS);
        let present: Vec<usize> = rows.iter().flatten().copied().collect();
        let cols = shown(self.n_cols(), DISPLAY_MAX_COLS, DISPLAY_EDGE_COLS);
        // Each shown column: header + one cell per shown row ("..." for the cut).
        let mut table: Vec<Vec<String>> = Vec::new();
        let index: Vec<String> = std::iter::once(String::new())
            .chain(
                rows.iter()
                    .map(|r| r.map_or("...".into(), |r| r.to_string())),
            )
            .collect();
        table.push(index);
        for c in &cols {
            let column: Vec<String> = match c {
                Some(c) => {
                    let mut values = cells(&self.columns()[*c], &present).into_iter();
                    std::iter::once(self.names()[*c].clone())
                        .chain(rows.iter().map(|r| match r {
                            Some(_) => values.next().unwrap_or_default(),
                            None => "...".into(),
                        }))
                        .collect()
                }
                None => std::iter::repeat_n("...".to_string(), rows.len() + 1).collect(),
            };
            table.push(column);
        }
        let widths: Vec<usize> = table
            .iter()
            .map(|c| c.iter().map(|s| s.chars().count()).max().unwrap_or(0))
            .collect();
        for line in 0..=rows.len() {
            let mut text = String::new();
            for (i, (c, &w)) in table.iter().zip(&widths).enumerate() {
                if i == 0 {
                    text.push_str(&format!("{:<w$}", c[line]));
                } else {
                    text.push_str(&format!("  {:>w$}", c[line]));
                }
            }
            writeln!(f, "{}", text.trim_end())?;
        }
        write!(f, "\n[{} rows x {} columns]", self.n_rows(), self.n_cols())
    }
}
