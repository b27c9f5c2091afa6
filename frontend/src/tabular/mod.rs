//! Tabular data: a small host data frame ([`Table`] of [`Column`]s) read from CSV files
//! ([`Table::read_csv`], streamed with [`CsvChunks`]), looked at like a pandas DataFrame
//! (`Display`, [`Table::head`], [`Table::describe`], [`Table::value_counts`]), split
//! ([`Table::train_test_split`]), extended ([`Table::map_str`], [`Table::with_columns`]),
//! turned into tensors ([`Table::to_tensor`], [`Table::to_labels`], [`FeatureSpace`]), with a
//! least-squares baseline ([`LinearRegression`]).
//!
//! ```
//! use stratanet::tabular::{CsvOptions, Table};
//! # fn main() -> stratanet::Result<()> {
//! let t = Table::from_csv_str("a,b,label\n1,2,0\n3,4,1\n", &CsvOptions::new())?;
//! let x = t.to_tensor::<stratanet::DefaultBackend>(&["a", "b"], stratanet::Device::Cpu)?;
//! let y = t.to_labels::<stratanet::DefaultBackend>("label", stratanet::Device::Cpu)?;
//! assert_eq!((x.shape(), y.shape()), (vec![2, 2], vec![2]));
//! # Ok(())
//! # }
//! ```

mod csv;
pub mod feature_space;
mod frame;
mod linear;
mod lookup_columns;
mod split;
mod submission;
mod table;

pub use self::csv::{CsvChunks, CsvOptions, DEFAULT_NA_VALUES};
pub use self::feature_space::*;
pub use self::frame::{
    CellValue, IntoCell, DESCRIBE_STATS, DISPLAY_EDGE_COLS, DISPLAY_EDGE_ROWS, DISPLAY_MAX_COLS,
    DISPLAY_MAX_ROWS,
};
pub use self::linear::LinearRegression;
pub use self::lookup_columns::StringLookupColumns;
pub use self::split::{
    kfold_indices, split_indices, stratified_kfold_indices, stratified_split_indices, Fold,
};
pub use self::submission::{write_class_submission, write_submission, SubmissionValue};
pub use self::table::{Column, ColumnType, Table};
