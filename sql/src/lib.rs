//! SQL over a Cacheness cache, answered by DataFusion.
//!
//! [`session`] builds a DataFusion `SessionContext` for one cache in which the table
//! **`cache_entries`** is the catalog as a listing sees it: the Delta snapshot of
//! `<root>/catalog/cache_entries`, with the rows the journals hold but Delta does not yet (so a
//! query right after a put sees it), without entries deleted or replaced since, and without
//! expired entries. It has the catalog's fixed columns and one column per key parameter, so
//! `WHERE model = 'xgboost' AND epochs > 10` works; filters and projections reach the Delta
//! scan, which skips data files by their column statistics.
//!
//! The session also has the **custom metadata tables** (each under its name, rows of live
//! entries only), **`cached_table(...)`** (a cached Arrow table by key or parameters),
//! **named cached tables** (`SELECT * FROM train`: the newest live entry put with that name),
//! **`cache_history`** (the catalog's Delta versions), **`cache_entries_at(...)`** (the
//! catalog as of a version or time) and the **pull-through tables** under `<root>/tables/`
//! ([`pull_tables`], `docs/PULL_THROUGH.md`), which fetch what a query asks for and lack.
//!
//! Modules: [`entries`] (`cache_entries`), [`metadata`] (custom metadata tables), [`payload`]
//! (`cached_table` and the engine's [`Payloads`] lookups), [`named`] (tables by entry name),
//! [`history`] (`cache_history`, `cache_entries_at`), [`pull_tables`], `args` (constant arguments of table
//! functions), [`error`] (the error type). The statements and their semantics are documented
//! in `docs/SQL.md`.

#![warn(missing_docs)]

mod args;
pub mod entries;
pub mod error;
pub mod history;
pub mod metadata;
pub mod named;
pub mod payload;
pub mod pull_tables;

use std::sync::Arc;

use cacheness_catalog::Catalog;
use deltalake::arrow::array::RecordBatch;
use deltalake::datafusion::prelude::SessionContext;

pub use cacheness_pull as pull;
pub use error::{Result, SqlError};
pub use payload::{Payloads, TableLookup, TablePayload};
pub use pull_tables::PullTables;

/// A DataFusion session over the cache whose catalog is `catalog` and whose payloads
/// `payloads` reads, with its tables and table functions registered as of now, and the
/// pull-through tables of `pull`.
pub async fn session(
    catalog: &Catalog,
    payloads: Arc<dyn Payloads>,
    pull: &PullTables,
) -> Result<SessionContext> {
    let ctx = SessionContext::new();
    pull_tables::register(&ctx, pull).await?;
    let (table, overlay) = catalog.table_and_overlay().await?;
    let schema = entries::register(&ctx, &table, &overlay).await?;
    metadata::register(&ctx, &catalog.metadata_tables()).await?;
    ctx.register_table(
        history::HISTORY,
        Arc::new(history::HistoryTable::new(table.clone())),
    )
    .map_err(|e| SqlError::table(history::HISTORY, e))?;
    ctx.register_udtf(
        history::AT_FUNCTION,
        Arc::new(history::EntriesAtFunction::new(table, schema)),
    );
    ctx.register_udtf(
        payload::FUNCTION,
        Arc::new(payload::CachedTableFunction::new(payloads.clone())),
    );
    use_named_tables(&ctx, payloads).await?;
    Ok(ctx)
}

/// Make the session's default schema a [`named::NamedTables`] over the tables registered so
/// far, so that unknown table names are looked up as entry names.
async fn use_named_tables(ctx: &SessionContext, payloads: Arc<dyn Payloads>) -> Result<()> {
    let options = ctx.state().config_options().catalog.clone();
    let missing = |what: &str| SqlError::table("named tables", format!("no default {what}"));
    let catalog = ctx
        .catalog(&options.default_catalog)
        .ok_or_else(|| missing("catalog"))?;
    let registered = catalog
        .schema(&options.default_schema)
        .ok_or_else(|| missing("schema"))?;
    let entries = ctx
        .table_provider(entries::TABLE)
        .await
        .map_err(|e| SqlError::table(entries::TABLE, e))?;
    catalog
        .register_schema(
            &options.default_schema,
            Arc::new(named::NamedTables::new(registered, entries, payloads)),
        )
        .map_err(|e| SqlError::table("named tables", e))?;
    Ok(())
}

/// Run one SQL statement against the cache and collect its result. An empty result is one
/// empty batch, so the answer always carries its schema.
pub async fn query(
    catalog: &Catalog,
    payloads: Arc<dyn Payloads>,
    pull: &PullTables,
    sql: &str,
) -> Result<Vec<RecordBatch>> {
    let ctx = session(catalog, payloads, pull).await?;
    let df = ctx.sql(sql).await.map_err(|e| SqlError::query(sql, e))?;
    let schema = entries::plain_types(df.schema().as_arrow());
    let mut batches = df.collect().await.map_err(|e| SqlError::query(sql, e))?;
    batches.retain(|b| b.num_rows() > 0);
    if batches.is_empty() {
        return Ok(vec![RecordBatch::new_empty(schema)]);
    }
    batches
        .iter()
        .map(|b| plain_batch(b).map_err(|e| SqlError::query(sql, e.into())))
        .collect()
}

/// A batch with string and binary views as plain strings and binaries: scans may produce
/// views whatever the plan declares, and answers should have one type per column.
fn plain_batch(
    batch: &RecordBatch,
) -> std::result::Result<RecordBatch, deltalake::arrow::error::ArrowError> {
    let schema = entries::plain_types(&batch.schema());
    if schema.as_ref() == batch.schema().as_ref() {
        return Ok(batch.clone());
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| deltalake::arrow::compute::cast(c, f.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema, columns)
}
