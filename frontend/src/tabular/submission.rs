//! Writing predictions as a CSV file in the shape competitions (Kaggle) expect: an id column
//! and prediction columns, or an id column and one predicted class name per row.

use std::path::Path;

use super::table::Column;
use crate::error::{Error, Result};
use crate::saving::atomic_write;

/// The id column's values as CSV fields.
fn id_fields(context: &str, id_name: &str, ids: &Column) -> Result<Vec<String>> {
    let missing = |r: usize| {
        Error::invalid(
            context,
            format!("ids ('{id_name}')"),
            format!("missing id at row {r} (0-based)"),
        )
    };
    match ids {
        Column::Int(v) => v
            .iter()
            .enumerate()
            .map(|(r, x)| x.map(|i| i.to_string()).ok_or_else(|| missing(r)))
            .collect(),
        Column::Float(v) => v
            .iter()
            .enumerate()
            .map(|(r, x)| x.map(|f| f.to_string()).ok_or_else(|| missing(r)))
            .collect(),
        Column::Str(v) => v
            .iter()
            .enumerate()
            .map(|(r, x)| x.clone().ok_or_else(|| missing(r)))
            .collect(),
    }
}

/// Serialises `header` and `rows` as CSV (`\n` line ends, quoting where needed) and writes
/// them atomically to `path`.
fn write_csv(path: &Path, header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<()> {
    let source = path.display().to_string();
    let err = |e: ::csv::Error| Error::config(&source, format!("cannot write CSV: {e}"));
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(header).map_err(err)?;
    for row in rows {
        w.write_record(&row).map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::config(&source, format!("cannot write CSV: {e}")))?;
    atomic_write(path, &bytes)
}

fn check_name(context: &str, seen: &mut Vec<String>, name: &str) -> Result<()> {
    if seen.iter().any(|s| s == name) {
        return Err(Error::invalid(
            context,
            "columns",
            format!("column name '{name}' used twice"),
        ));
    }
    seen.push(name.to_string());
    Ok(())
}

/// A prediction value [`write_submission`] can write: `f32` (a `predict` output's
/// `to_vec_f32()`) or `f64`, each written at the shortest form that reads back as the same
/// value of its own type (an `f32` `17.3` is written `17.3`, not the `17.299999237060547`
/// of its widening to `f64`).
pub trait SubmissionValue: Copy {
    /// `true` for a finite value.
    fn is_finite_value(self) -> bool;
    /// The shortest round-trip decimal form.
    fn to_field(self) -> String;
}

impl SubmissionValue for f32 {
    fn is_finite_value(self) -> bool {
        self.is_finite()
    }
    fn to_field(self) -> String {
        self.to_string()
    }
}

impl SubmissionValue for f64 {
    fn is_finite_value(self) -> bool {
        self.is_finite()
    }
    fn to_field(self) -> String {
        self.to_string()
    }
}

/// Writes a submission CSV: column `id_name` from `ids`, then one column per
/// `(name, values)` of predictions. Values are `f32` (straight from `predict(..)?
/// .to_vec_f32()?`) or `f64`, written with Rust's shortest round-trip formatting for their
/// own type (`0.1`, `12.5`, `3`; an `f32` `17.3` as `17.3`), so reading the file back gives
/// the same values.
/// The write is atomic (temporary file, then rename), so an interrupted run never leaves a
/// half-written file.
///
/// ```
/// use stratanet::tabular::{write_submission, Column, CsvOptions, Table};
/// # fn main() -> stratanet::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("stratanet-doc-sub.csv");
/// write_submission(&path, "id", &Column::ints(vec![7, 8]), &[("price", vec![0.1, 2.5])])?;
/// assert_eq!(std::fs::read_to_string(&path)?, "id,price\n7,0.1\n8,2.5\n");
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] when no prediction column is given, a column's length differs
/// from the number of ids, a name repeats, an id is missing or a prediction is not finite
/// (naming the column and row); I/O errors.
pub fn write_submission<T: SubmissionValue>(
    path: impl AsRef<Path>,
    id_name: &str,
    ids: &Column,
    columns: &[(&str, Vec<T>)],
) -> Result<()> {
    const CTX: &str = "write_submission";
    if columns.is_empty() {
        return Err(Error::invalid(
            CTX,
            "columns",
            "no prediction columns given",
        ));
    }
    let mut seen = vec![id_name.to_string()];
    let n = ids.len();
    for (name, values) in columns {
        check_name(CTX, &mut seen, name)?;
        if values.len() != n {
            return Err(Error::invalid(
                CTX,
                format!("columns ('{name}')"),
                format!("{} values for {n} ids", values.len()),
            ));
        }
        if let Some((r, v)) = values
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite_value())
        {
            return Err(Error::invalid(
                CTX,
                format!("columns ('{name}')"),
                format!("value {} at row {r} (0-based) is not finite", v.to_field()),
            ));
        }
    }
    let ids = id_fields(CTX, id_name, ids)?;
    let header: Vec<&str> = std::iter::once(id_name)
        .chain(columns.iter().map(|(name, _)| *name))
        .collect();
    let rows = ids.into_iter().enumerate().map(|(r, id)| {
        std::iter::once(id)
            .chain(columns.iter().map(|(_, v)| v[r].to_field()))
            .collect()
    });
    write_csv(path.as_ref(), &header, rows)
}

/// Writes a classification submission CSV: column `id_name` from `ids` and column
/// `class_column` holding, for each row, the name of the class with the highest score.
/// `scores` is row-major `[ids.len(), class_names.len()]` (e.g. the `predict` output's
/// `to_vec_f32()`); ties go to the first class, as `argmax`. The write is atomic.
///
/// ```
/// use stratanet::tabular::{write_class_submission, Column};
/// # fn main() -> stratanet::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("stratanet-doc-cls.csv");
/// let classes = vec!["rain".to_string(), "sun".to_string()];
/// let scores = [0.9, 0.1, 0.2, 0.8];
/// write_class_submission(&path, "date", &Column::strs(&["2016/01/01", "2016/01/02"]), "weather", &scores, &classes)?;
/// assert_eq!(std::fs::read_to_string(&path)?, "date,weather\n2016/01/01,rain\n2016/01/02,sun\n");
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for no class names, a `scores` length other than
/// `ids.len() * class_names.len()`, a score that is NaN (naming the row), a missing id or
/// `class_column == id_name`; I/O errors.
pub fn write_class_submission(
    path: impl AsRef<Path>,
    id_name: &str,
    ids: &Column,
    class_column: &str,
    scores: &[f32],
    class_names: &[String],
) -> Result<()> {
    const CTX: &str = "write_class_submission";
    let k = class_names.len();
    if k == 0 {
        return Err(Error::invalid(CTX, "class_names", "no class names given"));
    }
    check_name(CTX, &mut vec![id_name.to_string()], class_column)?;
    let n = ids.len();
    if scores.len() != n * k {
        return Err(Error::invalid(
            CTX,
            "scores",
            format!(
                "{} values for {n} ids x {k} classes (expected {})",
                scores.len(),
                n * k
            ),
        ));
    }
    let ids = id_fields(CTX, id_name, ids)?;
    let predicted: Vec<String> = crate::tensor::argmax_rows(scores, k, CTX)?
        .into_iter()
        .map(|j| class_names[j].clone())
        .collect();
    let rows = ids
        .into_iter()
        .zip(predicted)
        .map(|(id, class)| vec![id, class]);
    write_csv(path.as_ref(), &[id_name, class_column], rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tabular::{CsvOptions, Table};

    /// A file name in a fresh temporary folder (kept alive by the returned guard).
    fn tmp(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("{name}.csv"));
        (dir, path)
    }

    #[test]
    fn round_trips_values_exactly() {
        let (_dir, path) = tmp("round");
        let values = vec![0.1, 1.0 / 3.0, 1e-12, -2.5e20, 3.0, f64::MIN_POSITIVE];
        let ids = Column::strs(&["a,b", "c\"d", "e", "f", "g", "h"]);
        write_submission(
            &path,
            "id",
            &ids,
            &[("p", values.clone()), ("q", vec![0.0; 6])],
        )
        .unwrap();
        let t = Table::read_csv(&path, &CsvOptions::new()).unwrap();
        assert_eq!(t.names(), ["id", "p", "q"]);
        assert_eq!(t.column("id").unwrap(), &ids);
        assert_eq!(t.column("p").unwrap(), &Column::floats(values));
    }

    #[test]
    fn f32_values_at_their_shortest_form() {
        let (_dir, path) = tmp("f32");
        let values: Vec<f32> = vec![17.3, 0.1, 1.0 / 3.0, 25.0, -1e-7];
        let ids = Column::ints(vec![1, 2, 3, 4, 5]);
        write_submission(&path, "id", &ids, &[("mpg", values.clone())]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "id,mpg\n1,17.3\n2,0.1\n3,0.33333334\n4,25\n5,-0.0000001\n"
        );
        // Read back (as f64) and narrowed, every value is the f32 that was written.
        let t = Table::read_csv(&path, &CsvOptions::new()).unwrap();
        let Column::Float(back) = t.column("mpg").unwrap() else {
            panic!("mpg read back as {:?}", t.column("mpg"));
        };
        let back: Vec<f32> = back.iter().map(|v| v.unwrap() as f32).collect();
        assert_eq!(back, values);
        let e =
            write_submission(&path, "id", &ids, &[("mpg", vec![f32::INFINITY; 5])]).unwrap_err();
        assert!(e.to_string().contains("value inf at row 0"), "{e}");
    }

    #[test]
    fn class_submission_by_argmax() {
        let (_dir, path) = tmp("cls");
        let names: Vec<String> = ["drizzle", "rain", "sun"].map(String::from).to_vec();
        let scores = [0.1, 0.7, 0.2, 0.5, 0.5, 0.0, 0.0, 0.0, 1.0];
        write_class_submission(
            &path,
            "id",
            &Column::ints(vec![1, 2, 3]),
            "weather",
            &scores,
            &names,
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "id,weather\n1,rain\n2,drizzle\n3,sun\n");
    }

    #[test]
    fn errors_name_the_column_and_row() {
        let (dir, path) = tmp("err");
        let ids = Column::ints(vec![1, 2]);
        let e = write_submission(&path, "id", &ids, &[("p", vec![1.0])]).unwrap_err();
        assert!(
            e.to_string().contains("'p'") && e.to_string().contains("1 values for 2 ids"),
            "{e}"
        );
        let e = write_submission(&path, "id", &ids, &[("p", vec![1.0, f64::NAN])]).unwrap_err();
        assert!(e.to_string().contains("row 1"), "{e}");
        let e = write_submission(&path, "id", &ids, &[("id", vec![1.0, 2.0])]).unwrap_err();
        assert!(e.to_string().contains("'id' used twice"), "{e}");
        let e = write_submission(
            &path,
            "id",
            &Column::Int(vec![Some(1), None]),
            &[("p", vec![1.0, 2.0])],
        )
        .unwrap_err();
        assert!(e.to_string().contains("missing id at row 1"), "{e}");
        assert!(write_submission::<f64>(&path, "id", &ids, &[]).is_err());
        let names = vec!["a".to_string(), "b".to_string()];
        let e = write_class_submission(&path, "id", &ids, "y", &[0.0; 3], &names).unwrap_err();
        assert!(
            e.to_string().contains("3 values for 2 ids x 2 classes"),
            "{e}"
        );
        let e = write_class_submission(&path, "id", &ids, "y", &[0.0, f32::NAN, 1.0, 0.0], &names)
            .unwrap_err();
        assert!(e.to_string().contains("NaN score at row 0"), "{e}");
        assert!(!path.exists(), "nothing written on error");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no temporary file left"
        );
    }
}
