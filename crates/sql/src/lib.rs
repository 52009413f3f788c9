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
//! (`cached_table`), [`store_payloads`] (the payloads of an open cache, found and checked
//! by the store's read path, and [`run`], a statement over an open cache), [`named`] (tables by entry name),
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
pub mod store_payloads;

use std::sync::Arc;

use cacheness_catalog::Catalog;
use deltalake::arrow::array::RecordBatch;
use deltalake::datafusion::error::DataFusionError;
use deltalake::datafusion::execution::context::SQLOptions;
use deltalake::datafusion::execution::memory_pool::MemoryConsumer;
use deltalake::datafusion::execution::runtime_env::RuntimeEnvBuilder;
use deltalake::datafusion::prelude::SessionConfig;
use deltalake::datafusion::prelude::SessionContext;
use futures::StreamExt;

pub use error::{Result, SqlError};
pub use payload::{TableLookup, TablePayload};
pub use pull_tables::PullTables;
pub use store_payloads::{Payloads, run, tables_root};

/// What one statement may use.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The memory of DataFusion's operators (joins, sorts, aggregates; sorts spill to the
    /// temporary directory past it) and of the collected answer, together.
    pub memory_bytes: usize,
}

/// A DataFusion session over the cache whose catalog is `catalog` and whose payloads
/// `payloads` reads, with its tables and table functions registered as of now, and the
/// pull-through tables of `pull`, within `limits`.
pub async fn session(
    catalog: &Catalog,
    payloads: Payloads,
    pull: &PullTables,
    limits: Limits,
) -> Result<SessionContext> {
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(limits.memory_bytes, 1.0)
        .build_arc()
        .map_err(|e| SqlError::table("the SQL session", e))?;
    let ctx = SessionContext::new_with_config_rt(SessionConfig::new(), runtime);
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
async fn use_named_tables(ctx: &SessionContext, payloads: Payloads) -> Result<()> {
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
/// empty batch, so the answer always carries its schema. Only queries run ([`read_only`]), and
/// the statement's operators and its answer share the memory of `limits`: past it, the
/// statement fails with [`SqlError::MemoryLimit`] instead of taking the process down.
pub async fn query(
    catalog: &Catalog,
    payloads: Payloads,
    pull: &PullTables,
    limits: Limits,
    sql: &str,
) -> Result<Vec<RecordBatch>> {
    let ctx = session(catalog, payloads, pull, limits).await?;
    let plan = ctx
        .state()
        .create_logical_plan(sql)
        .await
        .map_err(|e| SqlError::query(sql, e))?;
    read_only()
        .verify_plan(&plan)
        .map_err(|e| SqlError::not_a_query(sql, e))?;
    let df = ctx
        .execute_logical_plan(plan)
        .await
        .map_err(|e| SqlError::query(sql, e))?;
    let schema = entries::plain_types(df.schema().as_arrow());
    let failed = |e: DataFusionError| match e.find_root() {
        DataFusionError::ResourcesExhausted(m) => SqlError::memory_limit(sql, limits, m),
        _ => SqlError::query(sql, e),
    };
    let mut stream = df.execute_stream().await.map_err(failed)?;
    let answer = MemoryConsumer::new("the answer of a SQL statement")
        .register(&ctx.runtime_env().memory_pool);
    let mut batches = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(failed)?;
        if batch.num_rows() == 0 {
            continue;
        }
        answer
            .try_grow(batch.get_array_memory_size())
            .map_err(|e| SqlError::memory_limit(sql, limits, &e.to_string()))?;
        batches.push(batch);
    }
    if batches.is_empty() {
        return Ok(vec![RecordBatch::new_empty(schema)]);
    }
    batches
        .iter()
        .map(|b| plain_batch(b).map_err(|e| SqlError::query(sql, e.into())))
        .collect()
}

/// What SQL over a cache may do: read. No DDL (`CREATE`, `DROP`, `CREATE EXTERNAL TABLE`,
/// which would read any file the process can), no DML (`INSERT`, `UPDATE`, `DELETE`, `COPY ...
/// TO`, which would write any file the process can, the signing key included), no statements
/// (`SET`, `PREPARE`, transactions). The check walks the whole plan, subqueries and `EXPLAIN`
/// included, before anything runs.
pub fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
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
