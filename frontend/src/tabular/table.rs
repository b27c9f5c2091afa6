//! [`Column`] and [`Table`]: named host columns of equal length (a small data frame).

use std::fmt;

use crate::backend::{Backend, Device};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The element type of a [`Column`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// 64-bit floating point numbers.
    Float,
    /// 64-bit signed integers.
    Int,
    /// UTF-8 strings (categories, names, dates).
    Str,
}

impl ColumnType {
    /// The lower-case name used in messages: `float`, `int` or `str`.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Float => "float",
            ColumnType::Int => "int",
            ColumnType::Str => "str",
        }
    }

    /// Whether the type is numeric (`Float` or `Int`).
    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Float | ColumnType::Int)
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One column of host data; `None` is a missing value.
///
/// ```
/// use stratanet::tabular::{Column, ColumnType};
/// let c = Column::Int(vec![Some(3), None, Some(5)]);
/// assert_eq!(c.len(), 3);
/// assert_eq!(c.dtype(), ColumnType::Int);
/// assert_eq!(c.missing_count(), 1);
/// assert_eq!(c.as_f64(), Some(vec![Some(3.0), None, Some(5.0)]));
/// assert_eq!(c.take(&[2, 0]), Column::Int(vec![Some(5), Some(3)]));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Floating point values.
    Float(Vec<Option<f64>>),
    /// Integer values.
    Int(Vec<Option<i64>>),
    /// String values.
    Str(Vec<Option<String>>),
}

impl Column {
    /// A float column without missing values.
    pub fn floats(values: Vec<f64>) -> Column {
        Column::Float(values.into_iter().map(Some).collect())
    }

    /// An integer column without missing values.
    pub fn ints(values: Vec<i64>) -> Column {
        Column::Int(values.into_iter().map(Some).collect())
    }

    /// A string column without missing values.
    pub fn strs(values: &[&str]) -> Column {
        Column::Str(values.iter().map(|s| Some(s.to_string())).collect())
    }

    /// Number of values (missing ones included).
    pub fn len(&self) -> usize {
        match self {
            Column::Float(v) => v.len(),
            Column::Int(v) => v.len(),
            Column::Str(v) => v.len(),
        }
    }

    /// Whether the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type.
    pub fn dtype(&self) -> ColumnType {
        match self {
            Column::Float(_) => ColumnType::Float,
            Column::Int(_) => ColumnType::Int,
            Column::Str(_) => ColumnType::Str,
        }
    }

    /// Number of missing values.
    pub fn missing_count(&self) -> usize {
        match self {
            Column::Float(v) => v.iter().filter(|x| x.is_none()).count(),
            Column::Int(v) => v.iter().filter(|x| x.is_none()).count(),
            Column::Str(v) => v.iter().filter(|x| x.is_none()).count(),
        }
    }

    /// Whether value `i` is missing (`false` when `i` is out of range).
    pub fn is_missing(&self, i: usize) -> bool {
        match self {
            Column::Float(v) => matches!(v.get(i), Some(None)),
            Column::Int(v) => matches!(v.get(i), Some(None)),
            Column::Str(v) => matches!(v.get(i), Some(None)),
        }
    }

    /// The values at `idx`, in that order (indices may repeat).
    ///
    /// # Panics
    /// When an index is `>= self.len()`; [`Column::try_take`] returns an error instead.
    pub fn take(&self, idx: &[usize]) -> Column {
        match self {
            Column::Float(v) => Column::Float(idx.iter().map(|&i| v[i]).collect()),
            Column::Int(v) => Column::Int(idx.iter().map(|&i| v[i]).collect()),
            Column::Str(v) => Column::Str(idx.iter().map(|&i| v[i].clone()).collect()),
        }
    }

    /// [`Column::take`] with an error for an index out of range.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the first index `>= self.len()`.
    pub fn try_take(&self, idx: &[usize]) -> Result<Column> {
        check_indices("Column::take", idx, self.len())?;
        Ok(self.take(idx))
    }

    /// The values as `f64` for a `Float` or `Int` column; `None` for a `Str` column.
    pub fn as_f64(&self) -> Option<Vec<Option<f64>>> {
        match self {
            Column::Float(v) => Some(v.clone()),
            Column::Int(v) => Some(v.iter().map(|x| x.map(|i| i as f64)).collect()),
            Column::Str(_) => None,
        }
    }

    /// The values as string slices for a `Str` column; `None` otherwise.
    pub fn as_str(&self) -> Option<Vec<Option<&str>>> {
        match self {
            Column::Str(v) => Some(v.iter().map(|x| x.as_deref()).collect()),
            _ => None,
        }
    }

    /// The columns one after another.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the columns' types differ.
    pub fn concat(columns: &[&Column]) -> Result<Column> {
        let Some(first) = columns.first() else {
            return Err(Error::invalid(
                "Column::concat",
                "columns",
                "no columns given",
            ));
        };
        let dtype = first.dtype();
        if let Some(other) = columns.iter().find(|c| c.dtype() != dtype) {
            return Err(Error::invalid(
                "Column::concat",
                "columns",
                format!("mixed types {dtype} and {}", other.dtype()),
            ));
        }
        // Every column has `dtype` (checked above): `part` never misses.
        fn joined<T: Clone>(columns: &[&Column], part: fn(&Column) -> Option<&[T]>) -> Vec<T> {
            columns
                .iter()
                .filter_map(|c| part(c))
                .flatten()
                .cloned()
                .collect()
        }
        Ok(match dtype {
            ColumnType::Float => Column::Float(joined(columns, |c| match c {
                Column::Float(v) => Some(v),
                _ => None,
            })),
            ColumnType::Int => Column::Int(joined(columns, |c| match c {
                Column::Int(v) => Some(v),
                _ => None,
            })),
            ColumnType::Str => Column::Str(joined(columns, |c| match c {
                Column::Str(v) => Some(v),
                _ => None,
            })),
        })
    }
}

fn check_indices(context: &str, idx: &[usize], n: usize) -> Result<()> {
    if let Some((pos, &i)) = idx.iter().enumerate().find(|(_, &i)| i >= n) {
        return Err(Error::invalid(
            context,
            "rows",
            format!("index {i} (at position {pos}) out of range for {n} rows"),
        ));
    }
    Ok(())
}

/// Named columns of equal length (a small data frame), e.g. read from a CSV file.
///
/// ```
/// use stratanet::tabular::{Column, CsvOptions, Table};
/// # fn main() -> stratanet::Result<()> {
/// let t = Table::from_csv_str("x,y,kind\n1,2.5,a\n2,,b\n3,4.0,a\n", &CsvOptions::new())?;
/// assert_eq!((t.n_rows(), t.n_cols()), (3, 3));
/// assert_eq!(t.column("x")?, &Column::ints(vec![1, 2, 3]));
/// assert_eq!(t.column("y")?.missing_count(), 1);
/// let complete = t.drop_missing(&["y"])?;
/// assert_eq!(complete.n_rows(), 2);
/// let x = complete.to_tensor::<stratanet::DefaultBackend>(&["x", "y"], stratanet::Device::Cpu)?;
/// assert_eq!(x.to_vec_f32()?, vec![1.0, 2.5, 3.0, 4.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Table {
    names: Vec<String>,
    columns: Vec<Column>,
    n_rows: usize,
    source: String,
}

/// Tables are equal when their names and columns are; the source is not compared.
impl PartialEq for Table {
    fn eq(&self, other: &Self) -> bool {
        self.names == other.names && self.columns == other.columns && self.n_rows == other.n_rows
    }
}

impl Table {
    /// A table from `(name, column)` pairs; its source (used in messages) is `<table>`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for columns of different lengths or a repeated name.
    pub fn new(columns: Vec<(String, Column)>) -> Result<Table> {
        let n_rows = columns.first().map(|(_, c)| c.len()).unwrap_or(0);
        let mut names: Vec<String> = Vec::with_capacity(columns.len());
        let mut cols = Vec::with_capacity(columns.len());
        for (name, col) in columns {
            if col.len() != n_rows {
                return Err(Error::invalid(
                    "Table::new",
                    "columns",
                    format!(
                        "column '{name}' has {} rows, column '{}' has {n_rows}",
                        col.len(),
                        names[0]
                    ),
                ));
            }
            if names.contains(&name) {
                return Err(Error::invalid(
                    "Table::new",
                    "columns",
                    format!("duplicate column name '{name}'"),
                ));
            }
            names.push(name);
            cols.push(col);
        }
        Ok(Table {
            names,
            columns: cols,
            n_rows,
            source: "<table>".to_string(),
        })
    }

    /// Builds a table from parts already checked by the caller (same length, unique names).
    pub(crate) fn from_parts(
        names: Vec<String>,
        columns: Vec<Column>,
        n_rows: usize,
        source: String,
    ) -> Table {
        debug_assert_eq!(names.len(), columns.len());
        debug_assert!(columns.iter().all(|c| c.len() == n_rows));
        Table {
            names,
            columns,
            n_rows,
            source,
        }
    }

    /// Where the table came from (a file path, `<string>` or `<table>`), used in messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The table with its source (used in messages) set to `source`.
    pub fn with_source(mut self, source: impl Into<String>) -> Table {
        self.source = source.into();
        self
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.columns.len()
    }

    /// Column names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Columns, in the order of [`Table::names`].
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// `(name, type)` of every column, in order.
    pub fn schema(&self) -> Vec<(String, ColumnType)> {
        self.names
            .iter()
            .cloned()
            .zip(self.columns.iter().map(Column::dtype))
            .collect()
    }

    fn index_of(&self, name: &str) -> Result<usize> {
        self.names.iter().position(|n| n == name).ok_or_else(|| {
            let known: Vec<&str> = self.names.iter().map(String::as_str).collect();
            Error::unknown(format!("column (in {})", self.source), name, &known)
        })
    }

    /// The column called `name`.
    ///
    /// # Errors
    /// [`Error::UnknownName`] listing the known names.
    pub fn column(&self, name: &str) -> Result<&Column> {
        Ok(&self.columns[self.index_of(name)?])
    }

    /// The type of the column called `name`.
    ///
    /// # Errors
    /// [`Error::UnknownName`] listing the known names.
    pub fn column_type(&self, name: &str) -> Result<ColumnType> {
        Ok(self.column(name)?.dtype())
    }

    /// A table of the named columns, in the order given.
    ///
    /// # Errors
    /// [`Error::UnknownName`] for an unknown name; [`Error::InvalidArgument`] for a name
    /// given twice.
    pub fn select(&self, names: &[&str]) -> Result<Table> {
        let mut out_names = Vec::with_capacity(names.len());
        let mut cols = Vec::with_capacity(names.len());
        for &name in names {
            let i = self.index_of(name)?;
            if out_names.iter().any(|n: &String| n == name) {
                return Err(Error::invalid(
                    "Table::select",
                    "names",
                    format!("column '{name}' given twice"),
                ));
            }
            out_names.push(name.to_string());
            cols.push(self.columns[i].clone());
        }
        Ok(Table::from_parts(
            out_names,
            cols,
            self.n_rows,
            self.source.clone(),
        ))
    }

    /// The table without the named columns.
    ///
    /// # Errors
    /// [`Error::UnknownName`] for an unknown name.
    pub fn drop(&self, names: &[&str]) -> Result<Table> {
        for &name in names {
            self.index_of(name)?;
        }
        let (names_kept, cols): (Vec<String>, Vec<Column>) = self
            .names
            .iter()
            .zip(&self.columns)
            .filter(|(n, _)| !names.contains(&n.as_str()))
            .map(|(n, c)| (n.clone(), c.clone()))
            .unzip();
        Ok(Table::from_parts(
            names_kept,
            cols,
            self.n_rows,
            self.source.clone(),
        ))
    }

    /// The rows at `rows`, in that order (a subset, a reordering, or with repeats).
    ///
    /// # Panics
    /// When an index is `>= self.n_rows()`; [`Table::try_take`] returns an error instead.
    pub fn take(&self, rows: &[usize]) -> Table {
        Table::from_parts(
            self.names.clone(),
            self.columns.iter().map(|c| c.take(rows)).collect(),
            rows.len(),
            self.source.clone(),
        )
    }

    /// [`Table::take`] with an error for an index out of range.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the first index `>= self.n_rows()`.
    pub fn try_take(&self, rows: &[usize]) -> Result<Table> {
        check_indices("Table::take", rows, self.n_rows)?;
        Ok(self.take(rows))
    }

    /// The rows without a missing value in any of the named columns (all columns when
    /// `names` is empty), in their original order.
    ///
    /// # Errors
    /// [`Error::UnknownName`] for an unknown name.
    pub fn drop_missing(&self, names: &[&str]) -> Result<Table> {
        let idx: Vec<usize> = if names.is_empty() {
            (0..self.n_cols()).collect()
        } else {
            names
                .iter()
                .map(|n| self.index_of(n))
                .collect::<Result<_>>()?
        };
        let keep: Vec<usize> = (0..self.n_rows)
            .filter(|&r| idx.iter().all(|&c| !self.columns[c].is_missing(r)))
            .collect();
        Ok(self.take(&keep))
    }

    /// The table with `col` added as the last column, or replacing the column called
    /// `name` in place.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `col`'s length differs from the row count (a table
    /// without columns takes any length).
    pub fn with_column(mut self, name: &str, col: Column) -> Result<Table> {
        if !self.columns.is_empty() && col.len() != self.n_rows {
            return Err(Error::invalid(
                "Table::with_column",
                format!("column '{name}'"),
                format!("has {} rows, the table has {}", col.len(), self.n_rows),
            ));
        }
        self.n_rows = col.len();
        match self.names.iter().position(|n| n == name) {
            Some(i) => self.columns[i] = col,
            None => {
                self.names.push(name.to_string());
                self.columns.push(col);
            }
        }
        Ok(self)
    }

    /// The tables' rows one after another; every table must have the same column names and
    /// types (e.g. the chunks of a [`CsvChunks`](super::CsvChunks) reader).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when no table is given or the schemas differ.
    pub fn concat(tables: &[Table]) -> Result<Table> {
        let Some(first) = tables.first() else {
            return Err(Error::invalid("Table::concat", "tables", "no tables given"));
        };
        let schema = first.schema();
        if let Some((i, t)) = tables
            .iter()
            .enumerate()
            .find(|(_, t)| t.schema() != schema)
        {
            return Err(Error::invalid(
                "Table::concat",
                "tables",
                format!(
                    "table {i} has schema {:?}, table 0 has {:?}",
                    t.schema(),
                    schema
                ),
            ));
        }
        let columns = (0..first.n_cols())
            .map(|c| {
                let parts: Vec<&Column> = tables.iter().map(|t| &t.columns[c]).collect();
                Column::concat(&parts)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Table::from_parts(
            first.names.clone(),
            columns,
            tables.iter().map(|t| t.n_rows).sum(),
            first.source.clone(),
        ))
    }

    /// An `f32` tensor `[n_rows, names.len()]` of numeric columns, row-major.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the column (and, for a missing value, the 0-based
    /// row) for a string column or a missing value; [`Error::UnknownName`] for an unknown
    /// column; device errors.
    pub fn to_tensor<B: Backend>(&self, names: &[&str], device: Device) -> Result<Tensor<B>> {
        const CTX: &str = "Table::to_tensor";
        if names.is_empty() {
            return Err(Error::invalid(CTX, "names", "no columns given"));
        }
        let k = names.len();
        let mut data = vec![0f32; self.n_rows * k];
        for (j, &name) in names.iter().enumerate() {
            let col = self.column(name)?;
            let values = col.as_f64().ok_or_else(|| {
                Error::invalid(
                    CTX,
                    format!("column '{name}'"),
                    format!(
                        "is a string column of {}; encode it as numbers first",
                        self.source
                    ),
                )
            })?;
            for (r, v) in values.into_iter().enumerate() {
                data[r * k + j] =
                    v.ok_or_else(|| missing_error(CTX, name, r, &self.source))? as f32;
            }
        }
        Tensor::from_vec_on(data, &[self.n_rows, k], device)
    }

    /// An `i64` tensor `[n_rows]` of an `Int` column (class labels).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the column for a non-`Int` column or a missing
    /// value (with its 0-based row); [`Error::UnknownName`] for an unknown column; device
    /// errors.
    pub fn to_labels<B: Backend>(&self, name: &str, device: Device) -> Result<Tensor<B>> {
        const CTX: &str = "Table::to_labels";
        let Column::Int(values) = self.column(name)? else {
            return Err(Error::invalid(
                CTX,
                format!("column '{name}'"),
                format!(
                    "expected an int column, got a {} column of {} (declare it with CsvOptions::column_type or encode the classes as integers)",
                    self.column(name)?.dtype(),
                    self.source
                ),
            ));
        };
        let data = values
            .iter()
            .enumerate()
            .map(|(r, v)| v.ok_or_else(|| missing_error(CTX, name, r, &self.source)))
            .collect::<Result<Vec<i64>>>()?;
        Tensor::from_vec_on(data, &[self.n_rows], device)
    }
}

fn missing_error(ctx: &str, name: &str, row: usize, source: &str) -> Error {
    Error::invalid(
        ctx,
        format!("column '{name}'"),
        format!(
            "missing value at row {row} (0-based) of {source}; drop or fill missing values first"
        ),
    )
}
