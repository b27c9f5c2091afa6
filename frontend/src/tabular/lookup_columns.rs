//! [`StringLookupColumns`]: a [`StringLookup`] adapted on and applied to [`Column`]s of a
//! [`Table`](super::Table). It lives here because tabular depends on layers, never the
//! reverse: the layer only knows strings.

use super::table::Column;
use crate::error::{Error, Result};
use crate::layers::StringLookup;

/// [`StringLookup`] on string columns (`use stratanet::tabular::StringLookupColumns`).
pub trait StringLookupColumns {
    /// [`StringLookup::adapt`] on a string column of a [`Table`](super::Table).
    ///
    /// # Errors
    /// A column that is not a string column.
    fn adapt_column(&mut self, column: &Column) -> Result<()>;
    /// [`StringLookup::lookup`] of a string column.
    ///
    /// # Errors
    /// A column that is not a string column; as [`StringLookup::lookup`].
    fn lookup_column(&self, column: &Column) -> Result<Vec<i64>>;
}

impl StringLookupColumns for StringLookup {
    fn adapt_column(&mut self, column: &Column) -> Result<()> {
        let values = column_strs(self, column)?;
        self.adapt(&values);
        Ok(())
    }
    fn lookup_column(&self, column: &Column) -> Result<Vec<i64>> {
        self.lookup(&column_strs(self, column)?)
    }
}

/// The values of a string column, or an error naming the lookup.
fn column_strs<'c>(lookup: &StringLookup, column: &'c Column) -> Result<Vec<Option<&'c str>>> {
    column.as_str().ok_or_else(|| {
        Error::invalid(
            lookup.layer_name(),
            "column",
            format!(
                "expected a string column, got a {} column",
                column.dtype().name()
            ),
        )
    })
}
