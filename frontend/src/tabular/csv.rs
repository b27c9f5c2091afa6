//! CSV reading: [`CsvOptions`], whole files ([`Table::read_csv`]) and streamed chunks
//! ([`CsvChunks`]). Quoting and escaping are the `csv` crate's (RFC 4180).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use ::csv::{ReaderBuilder, StringRecord};

use super::table::{Column, ColumnType, Table};
use crate::error::{Error, Result};

/// The missing-value markers used unless [`CsvOptions::na_values`] replaces them.
pub const DEFAULT_NA_VALUES: [&str; 7] = ["", "NA", "NaN", "nan", "null", "NULL", "N/A"];

/// How to read a CSV file: delimiter, header, missing-value markers, column selection and
/// declared column types.
///
/// ```
/// use stratanet::tabular::{ColumnType, CsvOptions, Table};
/// # fn main() -> stratanet::Result<()> {
/// let opts = CsvOptions::new()
///     .delimiter(b';')
///     .na_values(&["?"])
///     .columns(&["id", "score"])
///     .column_type("id", ColumnType::Str);
/// let t = Table::from_csv_str("id;score;note\n007;1.5;x\n008;?;y\n", &opts)?;
/// assert_eq!(t.names(), ["id", "score"]);
/// assert_eq!(t.column("id")?.as_str(), Some(vec![Some("007"), Some("008")]));
/// assert_eq!(t.column("score")?.as_f64(), Some(vec![Some(1.5), None]));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CsvOptions {
    delimiter: u8,
    has_header: bool,
    na_values: Vec<String>,
    columns: Option<Vec<String>>,
    types: Vec<(String, ColumnType)>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            has_header: true,
            na_values: DEFAULT_NA_VALUES.iter().map(|s| s.to_string()).collect(),
            columns: None,
            types: Vec::new(),
        }
    }
}

impl CsvOptions {
    crate::builder::setters! {
        /// Comma-delimited, with a header line, missing values [`DEFAULT_NA_VALUES`], every
        /// column, types inferred.
        new();
        /// The field delimiter (`b','` by default; `b';'`, `b'\t'`, ...).
        delimiter(delimiter: u8) => delimiter = delimiter;
        /// Whether the first line holds the column names (default `true`). Without a header
        /// the columns are named `"0"`, `"1"`, ... (as pandas' `header=None`).
        has_header(has_header: bool) => has_header = has_header;
        /// The strings read as a missing value (compared after trimming surrounding
        /// whitespace), replacing [`DEFAULT_NA_VALUES`]. Include `""` to keep empty fields
        /// missing.
        na_values(values: &[&str]) => na_values = values.iter().map(|s| s.to_string()).collect();
        /// Reads only these columns, in this order.
        columns(names: &[&str]) => columns = Some(names.iter().map(|s| s.to_string()).collect());
    }

    /// Declares the type of column `name` instead of inferring it; a value that does not
    /// parse in a declared numeric type is an error naming file, line and column.
    pub fn column_type(mut self, name: &str, t: ColumnType) -> Self {
        self.types.retain(|(n, _)| n != name);
        self.types.push((name.to_string(), t));
        self
    }

    fn reader<R: Read>(&self, r: R) -> CsvReader<R> {
        ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(LineCounter::new(r))
    }

    fn is_na(&self, value: &str) -> bool {
        let v = value.trim();
        self.na_values.iter().any(|na| na == v)
    }
}

/// Where a CSV file's columns are and which types were declared.
#[derive(Debug)]
struct Layout {
    source: String,
    /// Selected column names, in output order.
    names: Vec<String>,
    /// Field index of each selected column.
    fields: Vec<usize>,
    /// Every column name in the file (for messages).
    all_names: Vec<String>,
    /// Declared type of each selected column.
    declared: Vec<Option<ColumnType>>,
    has_header: bool,
}

/// Raw field values of some rows, per selected column, with their 1-based line numbers.
struct Raw {
    cols: Vec<Vec<Option<String>>>,
    lines: Vec<u64>,
}

/// A `csv` reader over a [`LineCounter`].
type CsvReader<R> = ::csv::Reader<LineCounter<R>>;

/// Counts the newlines of the bytes passing through, so that a record's byte offset can be
/// turned into its 1-based line number. (The `csv` crate's own line numbers do not count
/// blank lines, which it skips.) Only newlines not yet behind the current record are kept:
/// at most a read buffer's worth.
struct LineCounter<R> {
    inner: R,
    offset: u64,
    pending: VecDeque<u64>,
    lines_before: u64,
}

impl<R> LineCounter<R> {
    fn new(inner: R) -> Self {
        LineCounter {
            inner,
            offset: 0,
            pending: VecDeque::new(),
            lines_before: 0,
        }
    }

    /// The 1-based line holding byte `byte`; offsets should not decrease between calls (an
    /// earlier offset gets the line of the latest one).
    fn line_at(&mut self, byte: u64) -> u64 {
        while self.pending.front().is_some_and(|&nl| nl < byte) {
            self.pending.pop_front();
            self.lines_before += 1;
        }
        self.lines_before + 1
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, _) in buf[..n].iter().enumerate().filter(|(_, &b)| b == b'\n') {
            self.pending.push_back(self.offset + i as u64);
        }
        self.offset += n as u64;
        Ok(n)
    }
}

fn csv_error<R: Read>(rdr: &mut CsvReader<R>, source: &str, e: ::csv::Error) -> Error {
    match e.position() {
        Some(p) => {
            let line = rdr.get_mut().line_at(p.byte());
            Error::config(format!("{source}: line {line}"), e.to_string())
        }
        None => Error::config(source, e.to_string()),
    }
}

/// Reads the next record into `rec`; its 1-based line, or `None` at the end.
fn next_record<R: Read>(
    rdr: &mut CsvReader<R>,
    rec: &mut StringRecord,
    source: &str,
) -> Result<Option<u64>> {
    match rdr.read_record(rec) {
        Ok(false) => Ok(None),
        Ok(true) => {
            // The record's own position lies before any blank lines the reader skipped, so
            // count back from its end: the reader now stands after the record's terminator,
            // on its last line, and the record spans as many more lines as its fields
            // (quoted) contain newlines.
            let end = rdr.position().byte();
            let last = rdr.get_mut().line_at(end.saturating_sub(1));
            let inner: usize = rec
                .iter()
                .map(|f| f.bytes().filter(|&b| b == b'\n').count())
                .sum();
            Ok(Some(last.saturating_sub(inner as u64).max(1)))
        }
        Err(e) => Err(csv_error(rdr, source, e)),
    }
}

impl Layout {
    /// Reads the first record (the header, or the first data row without a header) into
    /// `rec`; returns the layout and whether `rec` holds a data row still to be used.
    fn read<R: Read>(
        rdr: &mut CsvReader<R>,
        rec: &mut StringRecord,
        opts: &CsvOptions,
        source: &str,
    ) -> Result<(Layout, Option<u64>)> {
        let Some(line) = next_record(rdr, rec, source)? else {
            let what = if opts.has_header {
                "empty file: no header line"
            } else {
                "empty file: no rows"
            };
            return Err(Error::config(format!("{source}: line 1"), what));
        };
        let all_names: Vec<String> = if opts.has_header {
            rec.iter()
                .enumerate()
                .map(|(i, n)| {
                    let n = n.trim();
                    if n.is_empty() {
                        format!("Unnamed: {i}")
                    } else {
                        n.to_string()
                    }
                })
                .collect()
        } else {
            (0..rec.len()).map(|i| i.to_string()).collect()
        };
        for (j, name) in all_names.iter().enumerate() {
            if let Some(i) = all_names[..j].iter().position(|n| n == name) {
                return Err(Error::config(
                    format!("{source}: line {line}, column '{name}'"),
                    format!(
                        "duplicate column name (fields {} and {} of the header)",
                        i + 1,
                        j + 1
                    ),
                ));
            }
        }
        let unknown = |name: &str, option: &str| {
            Error::config(
                format!("{source}: line {line}"),
                format!(
                    "unknown column '{name}' in CsvOptions::{option}; known: {}",
                    all_names.join(", ")
                ),
            )
        };
        let fields: Vec<usize> = match &opts.columns {
            None => (0..all_names.len()).collect(),
            Some(sel) => {
                if sel.is_empty() {
                    return Err(Error::invalid(
                        format!("CsvOptions::columns ({source})"),
                        "names",
                        "empty column selection",
                    ));
                }
                let mut fields = Vec::with_capacity(sel.len());
                for (k, name) in sel.iter().enumerate() {
                    let i = all_names
                        .iter()
                        .position(|n| n == name)
                        .ok_or_else(|| unknown(name, "columns"))?;
                    if sel[..k].contains(name) {
                        return Err(Error::invalid(
                            format!("CsvOptions::columns ({source})"),
                            "names",
                            format!("column '{name}' selected twice"),
                        ));
                    }
                    fields.push(i);
                }
                fields
            }
        };
        for (name, _) in &opts.types {
            if !all_names.contains(name) {
                return Err(unknown(name, "column_type"));
            }
        }
        let names: Vec<String> = fields.iter().map(|&i| all_names[i].clone()).collect();
        let declared = names
            .iter()
            .map(|n| opts.types.iter().find(|(d, _)| d == n).map(|(_, t)| *t))
            .collect();
        let layout = Layout {
            source: source.to_string(),
            names,
            fields,
            all_names,
            declared,
            has_header: opts.has_header,
        };
        Ok((layout, (!opts.has_header).then_some(line)))
    }

    /// Reads up to `max` data rows; `pending` is the line of a row `rec` already holds.
    fn read_rows<R: Read>(
        &self,
        rdr: &mut CsvReader<R>,
        rec: &mut StringRecord,
        opts: &CsvOptions,
        max: usize,
        pending: &mut Option<u64>,
    ) -> Result<Raw> {
        let mut raw = Raw {
            cols: vec![Vec::new(); self.names.len()],
            lines: Vec::new(),
        };
        while raw.lines.len() < max {
            let line = match pending.take() {
                Some(line) => line,
                None => match next_record(rdr, rec, &self.source)? {
                    Some(line) => line,
                    None => break,
                },
            };
            let n = self.all_names.len();
            if rec.len() != n {
                let what = if self.has_header {
                    "the header"
                } else {
                    "the first line"
                };
                let detail = if rec.len() < n {
                    format!("no value for column '{}'", self.all_names[rec.len()])
                } else {
                    format!("extra field after column '{}'", self.all_names[n - 1])
                };
                return Err(Error::config(
                    format!("{}: line {line}", self.source),
                    format!(
                        "expected {n} fields (as in {what}), got {}: {detail}",
                        rec.len()
                    ),
                ));
            }
            for (col, &f) in raw.cols.iter_mut().zip(&self.fields) {
                let v = &rec[f];
                col.push(if opts.is_na(v) {
                    None
                } else {
                    Some(v.to_string())
                });
            }
            raw.lines.push(line);
        }
        Ok(raw)
    }

    /// The declared type of each column, else the type inferred from `raw`.
    fn infer(&self, raw: &Raw) -> Vec<ColumnType> {
        self.declared
            .iter()
            .zip(&raw.cols)
            .map(|(d, values)| d.unwrap_or_else(|| infer_type(values)))
            .collect()
    }

    /// Converts `raw` into a table of the given column types; `hint` is appended to parse
    /// errors.
    fn convert(&self, raw: Raw, types: &[ColumnType], hint: &str) -> Result<Table> {
        let n_rows = raw.lines.len();
        let mut columns = Vec::with_capacity(types.len());
        for (c, (values, &t)) in raw.cols.into_iter().zip(types).enumerate() {
            let hint = if self.declared[c].is_none() { hint } else { "" };
            let err = |r: usize, v: &str, what: &str| {
                Error::config(
                    format!(
                        "{}: line {}, column '{}'",
                        self.source, raw.lines[r], self.names[c]
                    ),
                    format!("cannot parse {v:?} as {what}{hint}"),
                )
            };
            columns.push(match t {
                ColumnType::Int => Column::Int(parse_values(&values, "an integer", err)?),
                ColumnType::Float => Column::Float(parse_values(&values, "a number", err)?),
                ColumnType::Str => Column::Str(values),
            });
        }
        Ok(Table::from_parts(
            self.names.clone(),
            columns,
            n_rows,
            self.source.clone(),
        ))
    }
}

/// `Int` if every present value parses as `i64`, else `Float` if every one parses as
/// `f64`, else `Str`; `Float` when no value is present.
/// Parses the present values (trimmed) as `T`; a bad one gives `err(row, value, what)`.
fn parse_values<T: std::str::FromStr>(
    values: &[Option<String>],
    what: &str,
    err: impl Fn(usize, &str, &str) -> Error,
) -> Result<Vec<Option<T>>> {
    values
        .iter()
        .enumerate()
        .map(|(r, v)| match v {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| err(r, v, what)),
        })
        .collect()
}

fn infer_type(values: &[Option<String>]) -> ColumnType {
    let mut present = values.iter().flatten().map(|v| v.trim());
    if present.clone().all(|v| v.parse::<i64>().is_ok()) {
        if values.iter().all(Option::is_none) {
            ColumnType::Float
        } else {
            ColumnType::Int
        }
    } else if present.all(|v| v.parse::<f64>().is_ok()) {
        ColumnType::Float
    } else {
        ColumnType::Str
    }
}

/// Reads a whole CSV stream into a table (types inferred from all rows).
pub(crate) fn read_table<R: Read>(r: R, opts: &CsvOptions, source: String) -> Result<Table> {
    let mut rdr = opts.reader(r);
    let mut rec = StringRecord::new();
    let (layout, mut pending) = Layout::read(&mut rdr, &mut rec, opts, &source)?;
    let raw = layout.read_rows(&mut rdr, &mut rec, opts, usize::MAX, &mut pending)?;
    let types = layout.infer(&raw);
    layout.convert(raw, &types, "")
}

/// Streams a CSV file as [`Table`]s of at most `chunk_rows` rows with one fixed schema, for
/// files larger than memory.
///
/// Column types are the declared ones ([`CsvOptions::column_type`]), else inferred from the
/// first chunk. A later value that does not parse in its column's type is an error naming
/// the file, line and column (an `Int` column is not widened to `Float`: declare the type
/// instead). Parsing, selection and missing values are as in [`Table::read_csv`], so the
/// chunks concatenated equal `read_csv` of the same file whenever the first chunk's types
/// are those of the whole file. After an error the iterator ends.
///
/// ```
/// use stratanet::tabular::{ColumnType, CsvChunks, CsvOptions, Table};
/// # fn main() -> stratanet::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("stratanet-doc-chunks.csv");
/// std::fs::write(&path, "x,y\n1,a\n2,b\n3,c\n4,d\n5,e\n")?;
/// let chunks = CsvChunks::open(&path, &CsvOptions::new(), 2)?;
/// assert_eq!(chunks.schema()[0], ("x".to_string(), ColumnType::Int));
/// let tables = chunks.collect::<stratanet::Result<Vec<Table>>>()?;
/// assert_eq!(tables.iter().map(Table::n_rows).collect::<Vec<_>>(), [2, 2, 1]);
/// assert_eq!(Table::concat(&tables)?, Table::read_csv(&path, &CsvOptions::new())?);
/// # Ok(())
/// # }
/// ```
pub struct CsvChunks {
    reader: CsvReader<BufReader<File>>,
    record: StringRecord,
    opts: CsvOptions,
    layout: Layout,
    schema: Vec<(String, ColumnType)>,
    types: Vec<ColumnType>,
    chunk_rows: usize,
    first: Option<Result<Table>>,
    hint: String,
    rows_read: usize,
    done: bool,
}

impl std::fmt::Debug for CsvChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvChunks")
            .field("source", &self.layout.source)
            .field("schema", &self.schema)
            .field("chunk_rows", &self.chunk_rows)
            .field("rows_read", &self.rows_read)
            .field("done", &self.done)
            .finish()
    }
}

impl CsvChunks {
    /// Opens `path`, reads the header and the first chunk (which fixes the inferred types).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `chunk_rows == 0`; otherwise the header errors of
    /// [`Table::read_csv`] (I/O, empty file, duplicate or unknown column), and a row error
    /// in the first chunk.
    pub fn open(path: impl AsRef<Path>, opts: &CsvOptions, chunk_rows: usize) -> Result<Self> {
        let path = path.as_ref();
        let source = path.display().to_string();
        if chunk_rows == 0 {
            return Err(Error::invalid(
                format!("CsvChunks::open ({source})"),
                "chunk_rows",
                "must be at least 1",
            ));
        }
        let file = File::open(path).map_err(|e| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("{source}: cannot open: {e}"),
            ))
        })?;
        let mut reader = opts.reader(BufReader::new(file));
        let mut record = StringRecord::new();
        let (layout, mut pending) = Layout::read(&mut reader, &mut record, opts, &source)?;
        let raw = layout.read_rows(&mut reader, &mut record, opts, chunk_rows, &mut pending)?;
        let types = layout.infer(&raw);
        let n_first = raw.lines.len();
        let hint = format!(
            " (column types not declared are inferred from the first {chunk_rows} rows; \
             declare this one with CsvOptions::column_type)"
        );
        let first = layout.convert(raw, &types, "");
        let schema = layout
            .names
            .iter()
            .cloned()
            .zip(types.iter().copied())
            .collect();
        Ok(CsvChunks {
            reader,
            record,
            opts: opts.clone(),
            layout,
            schema,
            types,
            chunk_rows,
            done: n_first == 0,
            first: (n_first > 0).then_some(first),
            hint,
            rows_read: 0,
        })
    }

    /// `(name, type)` of every column, fixed for all chunks.
    pub fn schema(&self) -> &[(String, ColumnType)] {
        &self.schema
    }

    /// Number of data rows returned so far.
    pub fn rows_read(&self) -> usize {
        self.rows_read
    }

    fn next_chunk(&mut self) -> Result<Option<Table>> {
        if let Some(first) = self.first.take() {
            let t = first?;
            if t.n_rows() < self.chunk_rows {
                self.done = true;
            }
            return Ok(Some(t));
        }
        let raw = self.layout.read_rows(
            &mut self.reader,
            &mut self.record,
            &self.opts,
            self.chunk_rows,
            &mut None,
        )?;
        if raw.lines.len() < self.chunk_rows {
            self.done = true;
        }
        if raw.lines.is_empty() {
            return Ok(None);
        }
        self.layout.convert(raw, &self.types, &self.hint).map(Some)
    }
}

impl Iterator for CsvChunks {
    type Item = Result<Table>;

    fn next(&mut self) -> Option<Result<Table>> {
        if self.done && self.first.is_none() {
            return None;
        }
        match self.next_chunk() {
            Ok(Some(t)) => {
                self.rows_read += t.n_rows();
                Some(Ok(t))
            }
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                self.first = None;
                Some(Err(e))
            }
        }
    }
}

/// Reading CSV into a [`Table`] (the CSV side of `Table`, kept here so `table.rs` knows
/// nothing of CSV).
impl Table {
    /// Reads a CSV file; see [`CsvOptions`] for the delimiter, header, missing-value markers,
    /// column selection and declared types. Column types not declared are inferred: `Int`
    /// if every present value parses as `i64`, else `Float` if every one parses as `f64`,
    /// else `Str` (a column with no present value is `Float`).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be opened; [`Error::Config`] naming the file, the
    /// 1-based line and the column for an empty file, a duplicate or unknown column name, a
    /// row with the wrong number of fields, or a value that does not parse in a declared
    /// numeric type.
    pub fn read_csv(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<Table> {
        let path = path.as_ref();
        let source = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("{source}: cannot open: {e}"),
            ))
            .in_call("Table::read_csv")
        })?;
        read_table(std::io::BufReader::new(file), opts, source)
            .map_err(|e| e.in_call("Table::read_csv"))
    }

    /// Parses CSV text (as [`Table::read_csv`]); messages name the source `<string>`.
    ///
    /// # Errors
    /// As [`Table::read_csv`].
    pub fn from_csv_str(text: &str, opts: &CsvOptions) -> Result<Table> {
        read_table(text.as_bytes(), opts, "<string>".to_string())
    }
}
