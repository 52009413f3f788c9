//! Cached tables under the names their entries were given: `SELECT * FROM train`.
//!
//! A put may name its entry (`PutOptions::name`, `cacheness put --name`); the name is stored
//! in the catalog column `entry_name` and in the payload's own metadata. Names are labels, not
//! keys: several entries may carry one (the train split of several dates, say), and a
//! statement that names a table no built-in or metadata table answers to reads the **newest
//! live entry** with that name (latest `created_at`). Older ones stay reachable by
//! `cached_table(key)` or their parameters.
//!
//! [`NamedTables`] is the session's default schema: it answers from the registered tables
//! first and only then looks a name up in `cache_entries`, so statements that use only
//! built-in tables pay nothing for it. Named tables are not listed by `SHOW TABLES`: the list
//! would cost a catalog scan per statement.

use std::sync::Arc;

use cacheness_catalog::names::validate_name;
use deltalake::arrow::array::{Array, StringArray};
use deltalake::datafusion::catalog::{SchemaProvider, TableProvider};
use deltalake::datafusion::common::plan_err;
use deltalake::datafusion::error::{DataFusionError, Result as DfResult};
use deltalake::datafusion::prelude::{SessionContext, col, lit};

use crate::payload::{ARROW_TABLE, PayloadTable, TableLookup};
use crate::store_payloads::Payloads;

/// The catalog column holding entry names.
pub const NAME_COLUMN: &str = "entry_name";

/// The session's default schema: its registered tables, then cached tables by entry name.
#[derive(Debug)]
pub struct NamedTables {
    registered: Arc<dyn SchemaProvider>,
    entries: Arc<dyn TableProvider>,
    payloads: Payloads,
}

impl NamedTables {
    /// A schema over `registered` (the built-in and metadata tables) that also resolves entry
    /// names through `entries` (the session's `cache_entries`) and `payloads`.
    pub fn new(
        registered: Arc<dyn SchemaProvider>,
        entries: Arc<dyn TableProvider>,
        payloads: Payloads,
    ) -> Self {
        NamedTables {
            registered,
            entries,
            payloads,
        }
    }

    /// The key and data type of the newest live entry named `name`, if there is one.
    async fn newest(&self, name: &str) -> DfResult<Option<(String, String)>> {
        if self.entries.schema().field_with_name(NAME_COLUMN).is_err() {
            return Ok(None); // a catalog from before names existed, not yet rewritten
        }
        let batches = SessionContext::new()
            .read_table(self.entries.clone())?
            .filter(col(NAME_COLUMN).eq(lit(name)))?
            .sort(vec![
                col("created_at").sort(false, false),
                col("cache_key").sort(false, false),
            ])?
            .limit(0, Some(1))?
            .select_columns(&["cache_key", "data_type"])?
            .collect()
            .await?;
        let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
            return Ok(None);
        };
        let text = |i: usize| -> DfResult<String> {
            let column = deltalake::arrow::compute::cast(
                batch.column(i),
                &deltalake::arrow::datatypes::DataType::Utf8,
            )?;
            let strings = column
                .as_any()
                .downcast_ref::<StringArray>()
                .filter(|a| !a.is_null(0))
                .ok_or_else(|| {
                    DataFusionError::Internal(format!("cache_entries: column {i} is not text"))
                })?;
            Ok(strings.value(0).to_string())
        };
        Ok(Some((text(0)?, text(1)?)))
    }
}

#[async_trait::async_trait]
impl SchemaProvider for NamedTables {
    fn table_names(&self) -> Vec<String> {
        self.registered.table_names()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if let Some(table) = self.registered.table(name).await? {
            return Ok(Some(table));
        }
        if validate_name(name).is_err() {
            return Ok(None); // no entry can carry it: "table not found" as usual
        }
        let Some((key, data_type)) = self.newest(name).await? else {
            return Ok(None);
        };
        if data_type != ARROW_TABLE {
            return plan_err!(
                "table {name}: the newest entry with this name ({key}) holds {data_type}, \
                 not an Arrow table"
            );
        }
        match self.payloads.table(&TableLookup::Key(key.clone())) {
            Ok(Some(payload)) => Ok(Some(Arc::new(PayloadTable::new(payload)?))),
            Ok(None) => plan_err!("table {name}: entry {key} was removed or has expired"),
            Err(e) => plan_err!("table {name}: {e}"),
        }
    }

    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> DfResult<Option<Arc<dyn TableProvider>>> {
        self.registered.register_table(name, table)
    }

    fn deregister_table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        self.registered.deregister_table(name)
    }

    fn table_exist(&self, name: &str) -> bool {
        self.registered.table_exist(name)
    }
}
