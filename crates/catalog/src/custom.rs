//! Custom metadata tables: user-declared Arrow schemas, each its own Delta table at
//! `<catalog>/<name>/`, every row tied to a cache entry by a leading `cache_key` column.
//!
//! A table is declared once with its columns (re-declaring must give the same columns); rows
//! are attached to an entry, replacing that entry's earlier rows in that table, so an attach
//! that is retried never duplicates rows. Rows of entries that are invalidated are deleted by
//! the committer after it commits the invalidation (best effort: SQL shows only rows of live
//! entries in any case), and a clear empties every table.

use std::sync::Arc;

use deltalake::DeltaTable;
use deltalake::arrow::array::{ArrayRef, RecordBatch, StringArray};
use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use deltalake::datafusion::prelude::{col, lit};
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;

use crate::delta::delta_err;
use crate::error::{CatalogError, Result};
use crate::names::validate_name;
use cacheness_storage::Location;

/// The column that ties a row to its entry.
pub const KEY_COLUMN: &str = "cache_key";
/// How many times a write that lost a race with another writer is tried again.
const ATTEMPTS: usize = 20;
/// Most keys named in one delete predicate.
const DELETE_CHUNK: usize = 1000;

/// The type a column has once stored in Delta (Delta has one string, one binary and one
/// timestamp type per time zone flag): declared and attached types are compared modulo this.
fn stored_type(t: &DataType) -> DataType {
    match t {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
        DataType::Timestamp(_, tz) => {
            DataType::Timestamp(TimeUnit::Microsecond, tz.as_ref().map(|_| "UTC".into()))
        }
        DataType::Dictionary(_, v) => stored_type(v),
        other => other.clone(),
    }
}

/// The metadata tables of one catalog directory.
#[derive(Debug, Clone)]
pub struct MetadataTables {
    dir: Location,
}

/// How errors name the table at `location`.
fn label(location: &Location) -> String {
    location.label()
}

fn meta_err(name: &str, message: impl Into<String>) -> CatalogError {
    CatalogError::Metadata {
        table: name.to_string(),
        message: message.into(),
    }
}

impl MetadataTables {
    /// The metadata tables under the catalog location `dir` (`<root>/catalog`).
    pub fn new(dir: impl Into<Location>) -> Self {
        MetadataTables { dir: dir.into() }
    }

    fn path(&self, name: &str) -> Location {
        self.dir.join(name)
    }

    /// The names of the declared tables, sorted.
    pub async fn names(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for name in self.dir.child_dirs().await? {
            if validate_name(&name).is_ok() && self.path(&name).has_delta_log().await? {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    async fn load(&self, name: &str) -> Result<Option<DeltaTable>> {
        validate_name(name)?;
        let path = self.path(name);
        if !path.has_delta_log().await? {
            return Ok(None);
        }
        let table = path.delta_table().await?;
        Ok(table.version().is_some().then_some(table))
    }

    /// The table `name`, loaded; an error if it was never declared.
    pub async fn open(&self, name: &str) -> Result<DeltaTable> {
        self.load(name).await?.ok_or_else(|| {
            meta_err(
                name,
                "no such metadata table (declare it first with its schema)",
            )
        })
    }

    /// The user's columns of a loaded table (its schema without `cache_key`).
    pub fn columns(table: &DeltaTable, name: &str) -> Result<SchemaRef> {
        let schema = table
            .snapshot()
            .map_err(delta_err(table.table_url().as_str()))?
            .snapshot()
            .arrow_schema();
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .filter(|f| f.name() != KEY_COLUMN)
            .map(|f| f.as_ref().clone())
            .collect();
        if fields.len() + 1 != schema.fields().len() {
            return Err(meta_err(name, "the Delta table has no cache_key column"));
        }
        Ok(Arc::new(Schema::new(fields)))
    }

    /// Declare table `name` with `columns` (creating it), or check that an existing table
    /// has exactly these column names and types.
    pub async fn declare(&self, name: &str, columns: &Schema) -> Result<()> {
        validate_name(name)?;
        if columns.fields().is_empty() {
            return Err(meta_err(name, "a metadata table needs at least one column"));
        }
        if columns.field_with_name(KEY_COLUMN).is_ok() {
            return Err(meta_err(
                name,
                "cache_key is added by the cache; leave it out of the declared columns",
            ));
        }
        if let Some(table) = self.load(name).await? {
            let existing = Self::columns(&table, name)?;
            return check_same(name, &existing, columns);
        }
        let path = self.path(name);
        let mut fields = vec![Field::new(KEY_COLUMN, DataType::Utf8, false)];
        fields.extend(columns.fields().iter().map(|f| {
            let t = stored_type(f.data_type());
            f.as_ref().clone().with_data_type(t)
        }));
        let empty = RecordBatch::new_empty(Arc::new(Schema::new(fields)));
        let new = cacheness_storage::delta::NewTable {
            name: Some(name),
            configuration: &[],
        };
        // Declared by another process at the same moment: theirs must match.
        let table = cacheness_storage::delta::open_or_create(&path, empty, new).await?;
        let existing = Self::columns(&table, name)?;
        check_same(name, &existing, columns)
    }

    /// Check that `rows` could be attached to `key` in table `name` (the table is declared and
    /// the columns match), without writing anything.
    pub async fn check(&self, name: &str, key: &str, rows: &RecordBatch) -> Result<()> {
        let table = self.open(name).await?;
        let columns = Self::columns(&table, name)?;
        with_key(name, key, &columns, rows).map(drop)
    }

    /// Attach `rows` (the declared columns, in any order) to entry `key` in table `name`,
    /// replacing the rows it had there. Zero rows remove the entry's rows.
    pub async fn attach(&self, name: &str, key: &str, rows: &RecordBatch) -> Result<()> {
        let table = self.open(name).await?;
        let columns = Self::columns(&table, name)?;
        let batch = with_key(name, key, &columns, rows)?;
        let path = self.path(name);
        table
            .write(vec![batch])
            .with_save_mode(SaveMode::Overwrite)
            .with_replace_where(col(KEY_COLUMN).eq(lit(key)))
            .with_commit_properties(CommitProperties::default().with_max_retries(ATTEMPTS))
            .await
            .map_err(delta_err(&label(&path)))?;
        Ok(())
    }

    /// Delete the rows of `keys` from every table.
    pub async fn delete_keys(&self, keys: &[String]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        for name in self.names().await? {
            let mut table = self.open(&name).await?;
            let path = self.path(&name);
            for chunk in keys.chunks(DELETE_CHUNK) {
                let list = chunk.iter().map(|k| lit(k.as_str())).collect();
                let (t, _) = table
                    .delete()
                    .with_predicate(col(KEY_COLUMN).in_list(list, false))
                    .with_commit_properties(CommitProperties::default().with_max_retries(ATTEMPTS))
                    .await
                    .map_err(delta_err(&label(&path)))?;
                table = t;
            }
        }
        Ok(())
    }

    /// Delete every row of every table (the cache was cleared).
    pub async fn clear(&self) -> Result<()> {
        for name in self.names().await? {
            let table = self.open(&name).await?;
            let path = self.path(&name);
            table
                .delete()
                .with_commit_properties(CommitProperties::default().with_max_retries(ATTEMPTS))
                .await
                .map_err(delta_err(&label(&path)))?;
        }
        Ok(())
    }
}

fn describe(schema: &Schema) -> String {
    let cols: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), stored_type(f.data_type())))
        .collect();
    format!("({})", cols.join(", "))
}

/// An existing table's columns must be the declared ones (names and stored types, in order).
fn check_same(name: &str, existing: &Schema, declared: &Schema) -> Result<()> {
    let same = existing.fields().len() == declared.fields().len()
        && existing
            .fields()
            .iter()
            .zip(declared.fields())
            .all(|(a, b)| {
                a.name() == b.name() && stored_type(a.data_type()) == stored_type(b.data_type())
            });
    if same {
        return Ok(());
    }
    Err(meta_err(
        name,
        format!(
            "already declared as {}, not {}; declare a table with another name for other columns",
            describe(existing),
            describe(declared)
        ),
    ))
}

/// `rows` in the table's column order and stored types, with `cache_key` first.
fn with_key(name: &str, key: &str, columns: &Schema, rows: &RecordBatch) -> Result<RecordBatch> {
    let given = rows.schema();
    for f in given.fields() {
        if columns.field_with_name(f.name()).is_err() {
            return Err(meta_err(
                name,
                format!(
                    "column {} is not declared; the columns are {}",
                    f.name(),
                    describe(columns)
                ),
            ));
        }
    }
    let mut fields = vec![Field::new(KEY_COLUMN, DataType::Utf8, false)];
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(
        std::iter::repeat_n(key, rows.num_rows()),
    ))];
    for f in columns.fields() {
        let Some(array) = rows.column_by_name(f.name()) else {
            return Err(meta_err(
                name,
                format!("rows for entry {key} lack column {}", f.name()),
            ));
        };
        if stored_type(array.data_type()) != stored_type(f.data_type()) {
            return Err(meta_err(
                name,
                format!(
                    "column {} is declared {}, the rows for entry {key} have {}",
                    f.name(),
                    stored_type(f.data_type()),
                    array.data_type()
                ),
            ));
        }
        let array = deltalake::arrow::compute::cast(array, f.data_type())
            .map_err(|e| meta_err(name, format!("column {}: {e}", f.name())))?;
        fields.push(f.as_ref().clone());
        arrays.push(array);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| meta_err(name, format!("rows for entry {key}: {e}")))
}
