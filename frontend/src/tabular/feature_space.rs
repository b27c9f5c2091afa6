//! [`FeatureSpace`]: named raw columns of a [`Table`] (numbers, string or integer
//! categories, with missing values) turned into one `f32` feature tensor, like Keras'
//! `FeatureSpace` utility; adapted on a training table, saved next to the model as JSON.

use super::table::{Column, ColumnType, Table};
use crate::backend::{Backend, Device};
use crate::error::{Error, Result};
use crate::layers::{fingerprint64, LookupCore, OutputMode, StringLookup};
use crate::tensor::Tensor;
use serde_json::json;
use std::path::Path;

const CONTEXT: &str = "FeatureSpace";
/// Version of the JSON layout written by [`FeatureSpace::to_json`]: 1 without a target,
/// 2 with one (the `target` entry), so that a build that knows no targets refuses a file
/// with one instead of dropping it.
const FORMAT_VERSION: u64 = 2;

/// The most output columns the declarations of a [`FeatureSpace`] may ask for, vocabulary
/// tokens not counted: the sum over its features of 1 per numeric or passthrough feature,
/// `bins` per hashed feature, and the OOV, mask and padding columns
/// (`num_oov_indices`, `pad_to_max_tokens` up to `max_tokens`) of each lookup: `2^20`
/// (1,048,576). [`FeatureSpace::from_json`] and [`FeatureSpace::adapt`] refuse more,
/// before anything of that size is allocated; vocabularies are not limited (their tokens
/// are data the table or the JSON itself holds).
pub const MAX_DECLARED_COLUMNS: usize = 1 << 20;

/// How a numeric feature fills its missing values (statistics of the adapted table's
/// present values).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Impute {
    /// The mean (the default).
    Mean,
    /// The median (numpy's: the mean of the two middle values for an even count).
    Median,
    /// A fixed value.
    Constant(f64),
}

#[derive(Debug, Clone)]
enum Kind {
    /// Impute, then `(x - mean) / max(sqrt(var), 1e-7)` (Keras `Normalization`).
    Numeric(Numeric),
    /// `StringLookup` one-hot (missing and unseen strings -> the OOV column).
    StrCategory(Box<StringLookup>),
    /// `IntegerLookup` one-hot (missing and unseen values -> the OOV column).
    IntCategory(Box<LookupCore<i64>>),
    /// The value as it is (missing is an error).
    Passthrough,
    /// One-hot of `fingerprint64(value as string) % bins` (missing -> a zero row).
    Hashed { bins: usize },
}

/// A numeric feature's imputation rule and learned state.
#[derive(Debug, Clone)]
struct Numeric {
    impute: Impute,
    /// The value a missing entry takes.
    fill: f64,
    mean: f64,
    variance: f64,
}

#[derive(Debug, Clone)]
struct Feature {
    name: String,
    kind: Kind,
}

/// The target column of a [`FeatureSpace`] ([`FeatureSpace::target_categorical`],
/// [`FeatureSpace::target_numeric`]).
#[derive(Debug, Clone)]
enum Target {
    /// String classes -> indices over a `StringLookup` vocabulary without OOV index.
    Categorical {
        name: String,
        lookup: Box<StringLookup>,
    },
    /// A numeric column as it is, `f32 [n, 1]`.
    Numeric { name: String },
}

impl Target {
    fn name(&self) -> &str {
        match self {
            Target::Categorical { name, .. } | Target::Numeric { name } => name,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Target::Categorical { .. } => "target_categorical",
            Target::Numeric { .. } => "target_numeric",
        }
    }
}

/// The target values of a table, on the host ([`FeatureSpace::transform_y_host`]).
#[derive(Debug, Clone, PartialEq)]
pub enum TargetValues {
    /// Class indices `[n]` (a [`FeatureSpace::target_categorical`] target).
    Classes(Vec<i64>),
    /// Values `[n, 1]` (a [`FeatureSpace::target_numeric`] target).
    Values(Vec<f32>),
}

/// Turns named raw columns into one `f32` feature matrix `[n_rows, output_dim]`, in the
/// order the features were declared (Keras `FeatureSpace` with `output_mode="concat"`):
///
/// - [`FeatureSpace::numeric`]: missing values imputed (mean by default, or
///   [`FeatureSpace::numeric_with`] median / constant), then normalised with the mean and
///   biased variance of the imputed training column, `(x - mean) / max(sqrt(var), 1e-7)`
///   (Keras' `Normalization`). One column.
/// - [`FeatureSpace::categorical_string`]: one-hot over a [`StringLookup`] vocabulary
///   (Keras' order: by descending frequency, ties by descending string) with one OOV column
///   first; missing values and strings first seen at transform time go to the OOV column.
/// - [`FeatureSpace::categorical_int`]: the same for an integer column (Keras'
///   `IntegerLookup` order).
/// - [`FeatureSpace::passthrough`]: a numeric column as it is (a missing value is an error).
/// - [`FeatureSpace::hashed`]: one-hot of the FarmHash bin of the value (integers hashed as
///   their decimal strings, as Keras' `Hashing`); a missing value gives a zero row.
///
/// The statistics and vocabularies come from [`FeatureSpace::adapt`] on a training table
/// and are saved by [`FeatureSpace::save`] (JSON), so a prediction script transforms new
/// rows exactly as at training time.
///
/// [`FeatureSpace::infer`] declares every column of a table by its type; a target column
/// ([`FeatureSpace::target_categorical`] for string classes, [`FeatureSpace::target_numeric`])
/// makes [`FeatureSpace::transform_xy`] give the features and the target together, and its
/// state (the class vocabulary, [`FeatureSpace::target_classes`]) is saved with the rest.
///
/// ```
/// use stratanet::tabular::{CsvOptions, FeatureSpace, Table};
/// use stratanet::{Device, DefaultBackend as B};
/// # fn main() -> stratanet::Result<()> {
/// let train = Table::from_csv_str(
///     "mpg,weight,origin\n18,3504,USA\n26,,Japan\n,2130,Japan\n",
///     &CsvOptions::new(),
/// )?;
/// let mut fs = FeatureSpace::new().numeric("weight").categorical_string("origin");
/// fs.adapt(&train)?;
/// assert_eq!(fs.feature_names()?, ["weight", "origin=[UNK]", "origin=Japan", "origin=USA"]);
/// let x = fs.transform::<B>(&train, Device::Cpu)?;
/// assert_eq!(x.shape(), vec![3, 4]);
/// // the missing weight is imputed with the mean (2817): normalised to 0
/// assert_eq!(x.to_vec_f32()?[4..8], [0.0, 0.0, 1.0, 0.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct FeatureSpace {
    features: Vec<Feature>,
    target: Option<Target>,
    adapted: bool,
}

impl FeatureSpace {
    /// An empty feature space.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(mut self, name: &str, kind: Kind) -> Self {
        self.features.push(Feature {
            name: name.to_string(),
            kind,
        });
        self.adapted = false;
        self
    }

    /// A numeric column, mean-imputed and normalised.
    pub fn numeric(self, name: &str) -> Self {
        self.numeric_with(name, Impute::Mean)
    }

    /// A numeric column imputed with `impute`, then normalised.
    pub fn numeric_with(self, name: &str, impute: Impute) -> Self {
        self.push(
            name,
            Kind::Numeric(Numeric {
                impute,
                fill: 0.0,
                mean: 0.0,
                variance: 1.0,
            }),
        )
    }

    /// A string column, one-hot over its vocabulary (OOV column first).
    pub fn categorical_string(self, name: &str) -> Self {
        let lookup = StringLookup::new()
            .name(name)
            .output_mode(OutputMode::OneHot);
        self.push(name, Kind::StrCategory(Box::new(lookup)))
    }

    /// An integer column, one-hot over its vocabulary (OOV column first).
    pub fn categorical_int(self, name: &str) -> Self {
        let core = LookupCore::default().with_output_mode(OutputMode::OneHot);
        self.push(name, Kind::IntCategory(Box::new(core)))
    }

    /// A numeric column used as it is.
    pub fn passthrough(self, name: &str) -> Self {
        self.push(name, Kind::Passthrough)
    }

    /// A string or integer column hashed into `bins` one-hot columns.
    pub fn hashed(self, name: &str, bins: usize) -> Self {
        self.push(name, Kind::Hashed { bins })
    }

    /// A feature space for every column of `table` but those in `exclude` (the target,
    /// ids, raw dates): [`FeatureSpace::categorical_string`] for string columns,
    /// [`FeatureSpace::numeric`] (mean-imputed, normalised) for float and int columns, in
    /// the table's order. Declare integer categories by hand, or turn them into strings
    /// ([`Table::map_f64`]) first. Not adapted yet.
    ///
    /// ```
    /// use stratanet::tabular::{CsvOptions, FeatureSpace, Table};
    /// # fn main() -> stratanet::Result<()> {
    /// let t = Table::from_csv_str("id,mpg,weight,origin\n1,18,3504,USA\n2,26,2130,Japan\n", &CsvOptions::new())?;
    /// let mut fs = FeatureSpace::infer(&t, &["id", "mpg"])?.target_numeric("mpg");
    /// fs.adapt(&t)?;
    /// assert_eq!(fs.feature_names()?, ["weight", "origin=[UNK]", "origin=USA", "origin=Japan"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownName`] for a name in `exclude` that `table` lacks.
    pub fn infer(table: &Table, exclude: &[&str]) -> Result<Self> {
        for name in exclude {
            table.column(name)?;
        }
        let mut fs = FeatureSpace::new();
        for (name, dtype) in table.schema() {
            if exclude.contains(&name.as_str()) {
                continue;
            }
            fs = match dtype {
                ColumnType::Str => fs.categorical_string(&name),
                ColumnType::Float | ColumnType::Int => fs.numeric(&name),
            };
        }
        Ok(fs)
    }

    /// A string target column: its classes become indices `0..k` over a vocabulary
    /// learned by [`FeatureSpace::adapt`] (Keras' `StringLookup` order: by descending
    /// frequency, ties by descending string; no OOV class), given back by
    /// [`FeatureSpace::target_classes`]. [`FeatureSpace::transform_xy`] gives the
    /// `i64 [n]` labels with the features; [`FeatureSpace::transform`] ignores the target
    /// (test tables need not have it). Saved with the rest of the feature space.
    ///
    /// ```
    /// use stratanet::tabular::{CsvOptions, FeatureSpace, Table};
    /// use stratanet::DefaultBackend as B;
    /// # fn main() -> stratanet::Result<()> {
    /// let t = Table::from_csv_str("wind,weather\n1.5,sun\n4.0,rain\n0.5,sun\n", &CsvOptions::new())?;
    /// let mut fs = FeatureSpace::new().numeric("wind").target_categorical("weather");
    /// fs.adapt(&t)?;
    /// let (x, y) = fs.transform_xy::<B>(&t)?;
    /// assert_eq!((x.shape(), y.to_vec_i64()?), (vec![3, 1], vec![0, 1, 0]));
    /// assert_eq!(fs.target_classes()?, ["sun", "rain"]);
    /// // a numeric column is refused, naming it and its type
    /// let mut wrong = FeatureSpace::new().numeric("wind").target_categorical("wind2");
    /// let t2 = t.clone().with_column("wind2", t.column("wind")?.clone())?;
    /// assert!(wrong.adapt(&t2).unwrap_err().to_string().contains("got a float column"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn target_categorical(mut self, name: &str) -> Self {
        let lookup = StringLookup::new().name(name).num_oov_indices(0);
        self.target = Some(Target::Categorical {
            name: name.to_string(),
            lookup: Box::new(lookup),
        });
        self.adapted = false;
        self
    }

    /// A numeric (float or int) target column, given by [`FeatureSpace::transform_xy`] as
    /// `f32 [n, 1]` values as they are (a missing value is an error).
    pub fn target_numeric(mut self, name: &str) -> Self {
        self.target = Some(Target::Numeric {
            name: name.to_string(),
        });
        self.adapted = false;
        self
    }

    /// The target column's name, if one is declared.
    pub fn target_name(&self) -> Option<&str> {
        self.target.as_ref().map(Target::name)
    }

    /// The class names of a [`FeatureSpace::target_categorical`] target, in index order
    /// (class `i` is `target_classes()[i]`): predictions map back to names with them.
    ///
    /// # Errors
    /// Not adapted; no categorical target declared.
    pub fn target_classes(&self) -> Result<Vec<String>> {
        self.ensure_adapted("target_classes")?;
        match &self.target {
            Some(Target::Categorical { lookup, .. }) => Ok(lookup.vocabulary()),
            other => Err(Error::invalid(
                format!("{CONTEXT}.target_classes"),
                "target",
                match other {
                    Some(t) => format!("'{}' is a numeric target, it has no classes", t.name()),
                    None => "none declared (add target_categorical(..))".to_string(),
                },
            )),
        }
    }

    /// Number of declared features (columns used).
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether no feature is declared.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Whether [`FeatureSpace::adapt`] has run (or the space was loaded adapted).
    pub fn is_adapted(&self) -> bool {
        self.adapted
    }

    /// The table columns used, in declaration order.
    pub fn column_names(&self) -> Vec<&str> {
        self.features.iter().map(|f| f.name.as_str()).collect()
    }

    fn check_declared(&self) -> Result<()> {
        if self.features.is_empty() {
            return Err(Error::invalid(
                CONTEXT,
                "features",
                "none declared (add numeric(..), categorical_string(..), ...)",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for f in &self.features {
            if self.target_name() == Some(f.name.as_str()) {
                return Err(Error::invalid(
                    CONTEXT,
                    "features",
                    format!(
                        "column '{}' is both the target and a feature (exclude it from the features)",
                        f.name
                    ),
                ));
            }
            if !seen.insert(f.name.as_str()) {
                return Err(Error::invalid(
                    CONTEXT,
                    "features",
                    format!("column '{}' is declared twice", f.name),
                ));
            }
            if let Kind::Hashed { bins: 0 } = f.kind {
                return Err(Error::invalid(
                    CONTEXT,
                    format!("hashed('{}')", f.name),
                    "bins must be at least 1",
                ));
            }
        }
        let mut declared = 0usize;
        for f in &self.features {
            let (what, width) = match &f.kind {
                Kind::Numeric(_) => ("numeric", 1),
                Kind::Passthrough => ("passthrough", 1),
                Kind::Hashed { bins } => ("hashed", *bins),
                Kind::StrCategory(l) => (
                    "categorical_string",
                    l.depth().saturating_sub(l.tokens().len()),
                ),
                Kind::IntCategory(c) => (
                    "categorical_int",
                    c.depth().saturating_sub(c.tokens().len()),
                ),
            };
            declared = declared
                .checked_add(width)
                .filter(|&d| d <= MAX_DECLARED_COLUMNS)
                .ok_or_else(|| {
                    Error::invalid(
                        CONTEXT,
                        format!("{what}('{}')", f.name),
                        format!(
                            "asks for {width} output columns (bins, OOV, mask or padding columns), \
                             {declared} declared before it; the limit for all features together \
                             is MAX_DECLARED_COLUMNS = {MAX_DECLARED_COLUMNS}"
                        ),
                    )
                })?;
        }
        Ok(())
    }

    fn ensure_adapted(&self, op: &str) -> Result<()> {
        if !self.adapted {
            return Err(Error::NotReady {
                op: format!("{CONTEXT}.{op}"),
                needed: "adapted".into(),
                hint: "call adapt(&training_table) first, or load a saved feature space".into(),
            });
        }
        Ok(())
    }

    /// Learns the imputation values, normalisation statistics and vocabularies from
    /// `table` (replacing earlier ones).
    ///
    /// # Errors
    /// No features declared, more than [`MAX_DECLARED_COLUMNS`] declared output columns, an
    /// unknown column (the error lists the table's columns), a column of the wrong type, a
    /// numeric column with no present value.
    pub fn adapt(&mut self, table: &Table) -> Result<()> {
        self.check_declared()?;
        let mut features = self.features.clone();
        for f in &mut features {
            let col = table
                .column(&f.name)
                .map_err(|e| absent_column(e, "adapt"))?;
            match &mut f.kind {
                Kind::Numeric(num) => {
                    let values = numeric_values(&f.name, col, "numeric")?;
                    let present: Vec<f64> = values.iter().flatten().copied().collect();
                    if present.is_empty() {
                        return Err(Error::invalid(
                            CONTEXT,
                            format!("numeric('{}')", f.name),
                            format!(
                                "the column has no present value in {} ({} rows) to learn from",
                                table.source(),
                                table.n_rows()
                            ),
                        ));
                    }
                    num.fill = match num.impute {
                        Impute::Mean => present.iter().sum::<f64>() / present.len() as f64,
                        Impute::Median => median(&present),
                        Impute::Constant(c) => c,
                    };
                    let filled: Vec<f64> = values.iter().map(|v| v.unwrap_or(num.fill)).collect();
                    let n = filled.len() as f64;
                    let m = filled.iter().sum::<f64>() / n;
                    num.mean = m;
                    num.variance = filled.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
                }
                Kind::StrCategory(lookup) => {
                    let values = col.as_str().ok_or_else(|| {
                        wrong_type(&f.name, col, "categorical_string", "a string")
                    })?;
                    lookup.adapt(&values);
                }
                Kind::IntCategory(core) => {
                    let Column::Int(values) = col else {
                        return Err(wrong_type(&f.name, col, "categorical_int", "an integer"));
                    };
                    core.adapt(values.iter().flatten().copied());
                }
                Kind::Passthrough => {
                    numeric_values(&f.name, col, "passthrough")?;
                }
                Kind::Hashed { .. } => {
                    if col.dtype() == ColumnType::Float {
                        return Err(wrong_type(&f.name, col, "hashed", "a string or integer"));
                    }
                }
            }
        }
        let mut target = self.target.clone();
        if let Some(t) = &mut target {
            let name = t.name().to_string();
            let kind = t.kind();
            let col = table.column(&name).map_err(|e| absent_column(e, "adapt"))?;
            match t {
                Target::Categorical { lookup, .. } => {
                    let values = col
                        .as_str()
                        .ok_or_else(|| wrong_type(&name, col, kind, "a string"))?;
                    if let Some(r) = values.iter().position(Option::is_none) {
                        return Err(missing_target(&name, kind, r, table));
                    }
                    lookup.adapt(&values);
                }
                Target::Numeric { .. } => {
                    numeric_values(&name, col, kind)?;
                }
            }
        }
        self.features = features;
        self.target = target;
        self.adapted = true;
        Ok(())
    }

    /// Width of each feature's block, in declaration order.
    fn widths(&self) -> Vec<usize> {
        self.features
            .iter()
            .map(|f| match &f.kind {
                Kind::Numeric(_) | Kind::Passthrough => 1,
                Kind::StrCategory(l) => l.depth(),
                Kind::IntCategory(c) => c.depth(),
                Kind::Hashed { bins } => *bins,
            })
            .collect()
    }

    /// Number of output columns.
    ///
    /// # Errors
    /// Not adapted (the vocabulary sizes are unknown).
    pub fn output_dim(&self) -> Result<usize> {
        self.ensure_adapted("output_dim")?;
        Ok(self.widths().iter().sum())
    }

    /// Names of the output columns: `weight` for numeric and passthrough features,
    /// `origin=USA` (and `origin=[UNK]`, `cylinders=[UNK]` for the OOV columns) for categories, `zip#3` for hash
    /// bins.
    ///
    /// # Errors
    /// Not adapted.
    pub fn feature_names(&self) -> Result<Vec<String>> {
        self.ensure_adapted("feature_names")?;
        let mut out = Vec::new();
        for f in &self.features {
            match &f.kind {
                Kind::Numeric(_) | Kind::Passthrough => out.push(f.name.clone()),
                Kind::StrCategory(l) => {
                    out.extend(l.vocabulary().iter().map(|t| format!("{}={t}", f.name)))
                }
                Kind::IntCategory(c) => {
                    let specials = c.token_start();
                    out.extend(c.vocabulary().iter().enumerate().map(|(i, t)| {
                        if i < specials {
                            format!("{}=[UNK]", f.name)
                        } else {
                            format!("{}={t}", f.name)
                        }
                    }))
                }
                Kind::Hashed { bins } => out.extend((0..*bins).map(|i| format!("{}#{i}", f.name))),
            }
        }
        Ok(out)
    }

    /// The features of `table` as host values, row-major `[n_rows, output_dim]`.
    ///
    /// # Errors
    /// As [`FeatureSpace::transform`].
    pub fn transform_host(&self, table: &Table) -> Result<Vec<f32>> {
        self.ensure_adapted("transform")?;
        let widths = self.widths();
        let dim: usize = widths.iter().sum();
        let n = table.n_rows();
        let len = n.checked_mul(dim).ok_or_else(|| {
            Error::invalid(
                format!("{CONTEXT}.transform"),
                "table",
                format!("{n} rows x {dim} output columns do not fit in memory"),
            )
        })?;
        let mut out = vec![0.0f32; len];
        let mut offset = 0;
        for (f, &w) in self.features.iter().zip(&widths) {
            let col = table
                .column(&f.name)
                .map_err(|e| absent_column(e, "transform"))?;
            match &f.kind {
                Kind::Numeric(num) => {
                    let values = numeric_values(&f.name, col, "numeric")?;
                    let std = num.variance.sqrt().max(1e-7);
                    for (r, v) in values.iter().enumerate() {
                        out[r * dim + offset] = ((v.unwrap_or(num.fill) - num.mean) / std) as f32;
                    }
                }
                Kind::Passthrough => {
                    let values = numeric_values(&f.name, col, "passthrough")?;
                    for (r, v) in values.iter().enumerate() {
                        let v = v.ok_or_else(|| {
                            Error::invalid(
                                CONTEXT,
                                format!("passthrough('{}')", f.name),
                                format!(
                                    "missing value in row {} of {} (passthrough does not impute; use numeric_with)",
                                    r + 1,
                                    table.source()
                                ),
                            )
                        })?;
                        out[r * dim + offset] = v as f32;
                    }
                }
                Kind::StrCategory(lookup) => {
                    let values = col.as_str().ok_or_else(|| {
                        wrong_type(&f.name, col, "categorical_string", "a string")
                    })?;
                    for (r, idx) in lookup.lookup(&values)?.into_iter().enumerate() {
                        set_hot(&mut out, r * dim + offset, w, idx);
                    }
                }
                Kind::IntCategory(core) => {
                    let Column::Int(values) = col else {
                        return Err(wrong_type(&f.name, col, "categorical_int", "an integer"));
                    };
                    for (r, v) in values.iter().enumerate() {
                        let idx = core.lookup(&f.name, v.as_ref())?;
                        set_hot(&mut out, r * dim + offset, w, idx);
                    }
                }
                Kind::Hashed { bins } => {
                    let strings: Vec<Option<String>> = match col {
                        Column::Str(v) => v.clone(),
                        Column::Int(v) => v.iter().map(|x| x.map(|i| i.to_string())).collect(),
                        Column::Float(_) => {
                            return Err(wrong_type(&f.name, col, "hashed", "a string or integer"))
                        }
                    };
                    for (r, s) in strings.iter().enumerate() {
                        if let Some(s) = s {
                            let idx = (fingerprint64(s.as_bytes()) % *bins as u64) as i64;
                            set_hot(&mut out, r * dim + offset, w, idx);
                        }
                    }
                }
            }
            offset += w;
        }
        Ok(out)
    }

    /// The features of `table` as an `f32` tensor `[n_rows, output_dim]` on `device`.
    /// Extra columns of the table are ignored; a category first seen here goes to its OOV
    /// column.
    ///
    /// # Errors
    /// Not adapted, an unknown column, a column of the wrong type, a missing value in a
    /// passthrough column.
    pub fn transform<B: Backend>(&self, table: &Table, device: Device) -> Result<Tensor<B>> {
        let values = self.transform_host(table)?;
        let dim = self.output_dim()?;
        Tensor::from_vec_on(values, &[table.n_rows(), dim], device)
    }

    /// The target of `table` on the host: class indices for a categorical target, values
    /// for a numeric one.
    ///
    /// # Errors
    /// Not adapted; no target declared; the table lacks the target column; a column of
    /// the wrong type; a missing value; a class not seen by [`FeatureSpace::adapt`].
    pub fn transform_y_host(&self, table: &Table) -> Result<TargetValues> {
        self.ensure_adapted("transform_y")?;
        let Some(t) = &self.target else {
            return Err(Error::invalid(
                format!("{CONTEXT}.transform_y"),
                "target",
                "none declared (add target_categorical(..) or target_numeric(..))",
            ));
        };
        let (name, kind) = (t.name(), t.kind());
        let col = table
            .column(name)
            .map_err(|e| absent_column(e, "transform_y"))?;
        match t {
            Target::Categorical { lookup, .. } => {
                let values = col
                    .as_str()
                    .ok_or_else(|| wrong_type(name, col, kind, "a string"))?;
                if let Some(r) = values.iter().position(Option::is_none) {
                    return Err(missing_target(name, kind, r, table));
                }
                let classes = lookup.vocabulary();
                let idx = lookup.lookup(&values).map_err(|_| {
                    let unknown = values
                        .iter()
                        .flatten()
                        .find(|v| !classes.iter().any(|c| c == *v))
                        .unwrap_or(&"");
                    Error::invalid(
                        CONTEXT,
                        format!("{kind}('{name}')"),
                        format!(
                            "class '{unknown}' of {} was not in the adapted table; known: {}",
                            table.source(),
                            classes.join(", ")
                        ),
                    )
                })?;
                Ok(TargetValues::Classes(idx))
            }
            Target::Numeric { .. } => {
                let values = numeric_values(name, col, kind)?;
                values
                    .iter()
                    .enumerate()
                    .map(|(r, v)| {
                        v.map(|v| v as f32)
                            .ok_or_else(|| missing_target(name, kind, r, table))
                    })
                    .collect::<Result<Vec<f32>>>()
                    .map(TargetValues::Values)
            }
        }
    }

    /// The target of `table` as a tensor on the CPU (the model moves it to its device):
    /// `i64 [n]` class indices or `f32 [n, 1]` values.
    ///
    /// # Errors
    /// As [`FeatureSpace::transform_y_host`].
    pub fn transform_y<B: Backend>(&self, table: &Table) -> Result<Tensor<B>> {
        let n = table.n_rows();
        match self.transform_y_host(table)? {
            TargetValues::Classes(v) => Tensor::from_vec(v, &[n]),
            TargetValues::Values(v) => Tensor::from_vec(v, &[n, 1]),
        }
    }

    /// The features and the target of `table`, as tensors on the CPU (the model moves
    /// them to its device): `f32 [n, output_dim]` and the target as
    /// [`FeatureSpace::transform_y`] gives it.
    ///
    /// # Errors
    /// As [`FeatureSpace::transform`] and [`FeatureSpace::transform_y_host`].
    pub fn transform_xy<B: Backend>(&self, table: &Table) -> Result<(Tensor<B>, Tensor<B>)> {
        let y = self.transform_y(table)?;
        Ok((self.transform(table, Device::Cpu)?, y))
    }

    /// The feature space (declarations and learned state) as JSON.
    pub fn to_json(&self) -> String {
        let features: Vec<serde_json::Value> = self
            .features
            .iter()
            .map(|f| match &f.kind {
                Kind::Numeric(num) => {
                    let impute = match num.impute {
                        Impute::Mean => json!("mean"),
                        Impute::Median => json!("median"),
                        Impute::Constant(c) => json!({ "constant": c }),
                    };
                    json!({"name": f.name, "kind": "numeric", "impute": impute,
                           "fill": num.fill, "mean": num.mean, "variance": num.variance})
                }
                Kind::StrCategory(l) => {
                    json!({"name": f.name, "kind": "categorical_string", "lookup": l.get_config()})
                }
                Kind::IntCategory(c) => {
                    json!({"name": f.name, "kind": "categorical_int", "lookup": c.config_json(&f.name)})
                }
                Kind::Passthrough => json!({"name": f.name, "kind": "passthrough"}),
                Kind::Hashed { bins } => json!({"name": f.name, "kind": "hashed", "bins": bins}),
            })
            .collect();
        let mut out = json!({
            "class_name": "FeatureSpace",
            "format_version": if self.target.is_some() { FORMAT_VERSION } else { 1 },
            "adapted": self.adapted,
            "features": features,
        });
        if let Some(t) = &self.target {
            out["target"] = match t {
                Target::Categorical { name, lookup } => {
                    json!({"name": name, "kind": "categorical", "lookup": lookup.get_config()})
                }
                Target::Numeric { name } => json!({"name": name, "kind": "numeric"}),
            };
        }
        out.to_string()
    }

    /// Inverse of [`FeatureSpace::to_json`].
    ///
    /// # Errors
    /// Malformed JSON, a missing or mistyped field, an unknown feature kind, a newer format,
    /// more than [`MAX_DECLARED_COLUMNS`] declared output columns (hash bins, OOV, mask and
    /// padding columns), checked before anything of that size is allocated.
    pub fn from_json(text: &str) -> Result<Self> {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::from(e).in_call("FeatureSpace::from_json"))?;
        let bad =
            |path: &str, msg: &str| Error::config(format!("FeatureSpace.{path}"), msg.to_string());
        if v.get("class_name").and_then(|c| c.as_str()) != Some("FeatureSpace") {
            return Err(bad("class_name", "expected \"FeatureSpace\""));
        }
        let version = v
            .get("format_version")
            .and_then(|x| x.as_u64())
            .unwrap_or(0);
        if version > FORMAT_VERSION {
            return Err(bad(
                "format_version",
                &format!("{version} is newer than this build reads ({FORMAT_VERSION})"),
            ));
        }
        let adapted = v.get("adapted").and_then(|a| a.as_bool()).unwrap_or(false);
        let list = v
            .get("features")
            .and_then(|f| f.as_array())
            .ok_or_else(|| bad("features", "expected a list"))?;
        let mut features = Vec::with_capacity(list.len());
        for (i, f) in list.iter().enumerate() {
            let at = |k: &str| format!("features[{i}].{k}");
            let name = f
                .get("name")
                .and_then(|n| n.as_str())
                .ok_or_else(|| bad(&at("name"), "expected a string"))?
                .to_string();
            let num = |k: &str| -> Result<f64> {
                f.get(k)
                    .and_then(|x| x.as_f64())
                    .ok_or_else(|| bad(&at(k), "expected a number"))
            };
            let kind = match f.get("kind").and_then(|k| k.as_str()).unwrap_or("") {
                "numeric" => {
                    let impute = match f.get("impute") {
                        Some(serde_json::Value::String(s)) if s == "mean" => Impute::Mean,
                        Some(serde_json::Value::String(s)) if s == "median" => Impute::Median,
                        Some(o) if o.get("constant").and_then(|c| c.as_f64()).is_some() => {
                            Impute::Constant(o["constant"].as_f64().unwrap_or(0.0))
                        }
                        _ => {
                            return Err(bad(
                                &at("impute"),
                                "expected \"mean\", \"median\" or {\"constant\": x}",
                            ))
                        }
                    };
                    Kind::Numeric(Numeric {
                        impute,
                        fill: num("fill")?,
                        mean: num("mean")?,
                        variance: num("variance")?,
                    })
                }
                "categorical_string" => {
                    let cfg = f
                        .get("lookup")
                        .ok_or_else(|| bad(&at("lookup"), "missing"))?;
                    Kind::StrCategory(Box::new(StringLookup::from_config(cfg)?))
                }
                "categorical_int" => {
                    let cfg = f
                        .get("lookup")
                        .ok_or_else(|| bad(&at("lookup"), "missing"))?;
                    Kind::IntCategory(Box::new(LookupCore::from_config(cfg)?))
                }
                "passthrough" => Kind::Passthrough,
                "hashed" => Kind::Hashed {
                    bins: f
                        .get("bins")
                        .and_then(|b| b.as_u64())
                        .ok_or_else(|| bad(&at("bins"), "expected an integer"))?
                        as usize,
                },
                other => {
                    return Err(Error::unknown(
                        "FeatureSpace feature kind",
                        other,
                        &[
                            "numeric",
                            "categorical_string",
                            "categorical_int",
                            "passthrough",
                            "hashed",
                        ],
                    ))
                }
            };
            features.push(Feature { name, kind });
        }
        let target = match v.get("target") {
            None | Some(serde_json::Value::Null) => None,
            Some(t) => {
                let name = t
                    .get("name")
                    .and_then(|n| n.as_str())
                    .ok_or_else(|| bad("target.name", "expected a string"))?
                    .to_string();
                match t.get("kind").and_then(|k| k.as_str()).unwrap_or("") {
                    "categorical" => {
                        let cfg = t
                            .get("lookup")
                            .ok_or_else(|| bad("target.lookup", "missing"))?;
                        Some(Target::Categorical {
                            name,
                            lookup: Box::new(StringLookup::from_config(cfg)?),
                        })
                    }
                    "numeric" => Some(Target::Numeric { name }),
                    other => {
                        return Err(Error::unknown(
                            "FeatureSpace target kind",
                            other,
                            &["categorical", "numeric"],
                        ))
                    }
                }
            }
        };
        let fs = FeatureSpace {
            features,
            target,
            adapted,
        };
        fs.check_declared()?;
        Ok(fs)
    }

    /// Writes [`FeatureSpace::to_json`] to `path` atomically ([`crate::saving::atomic_write`]).
    ///
    /// # Errors
    /// I/O errors, naming the path.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::saving::atomic_write(path.as_ref(), self.to_json().as_bytes())
    }

    /// Reads a feature space written by [`FeatureSpace::save`].
    ///
    /// # Errors
    /// I/O errors naming the path; as [`FeatureSpace::from_json`] (prefixed by the path).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("reading {}: {e}", path.display()),
            ))
        })?;
        Self::from_json(&text).map_err(|e| Error::config(path.display().to_string(), e.to_string()))
    }
}

fn set_hot(out: &mut [f32], row_start: usize, width: usize, idx: i64) {
    if idx >= 0 && (idx as usize) < width {
        out[row_start + idx as usize] = 1.0;
    }
}

fn wrong_type(name: &str, col: &Column, kind: &str, expected: &str) -> Error {
    Error::invalid(
        CONTEXT,
        format!("{kind}('{name}')"),
        format!(
            "expected {expected} column, got a {} column",
            col.dtype().name()
        ),
    )
}

fn numeric_values(name: &str, col: &Column, kind: &str) -> Result<Vec<Option<f64>>> {
    col.as_f64()
        .ok_or_else(|| wrong_type(name, col, kind, "a numeric (float or int)"))
}

fn missing_target(name: &str, kind: &str, row: usize, table: &Table) -> Error {
    Error::invalid(
        CONTEXT,
        format!("{kind}('{name}')"),
        format!(
            "missing value at row {row} (0-based) of {}; drop the rows without a target first (Table::drop_missing)",
            table.source()
        ),
    )
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Names the call in the error for a declared column that `table` lacks.
fn absent_column(e: Error, op: &str) -> Error {
    match e {
        Error::UnknownName { kind, name, known } => Error::UnknownName {
            kind: format!("{kind} for {CONTEXT}::{op}"),
            name,
            known,
        },
        other => other,
    }
}
