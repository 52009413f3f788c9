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
//! Modules: [`entries`] (the `cache_entries` table), [`error`] (the error type). The
//! statements and their semantics are documented in `docs/SQL.md`.

#![warn(missing_docs)]

pub mod entries;
pub mod error;

use cacheness_catalog::Catalog;
use deltalake::arrow::array::RecordBatch;
use deltalake::datafusion::prelude::SessionContext;

pub use error::{Result, SqlError};

/// A DataFusion session over the cache whose catalog is `catalog`, with `cache_entries`
/// registered as of now.
pub async fn session(catalog: &Catalog) -> Result<SessionContext> {
    let ctx = SessionContext::new();
    entries::register(&ctx, catalog).await?;
    Ok(ctx)
}

/// Run one SQL statement against the cache and collect its result.
pub async fn query(catalog: &Catalog, sql: &str) -> Result<Vec<RecordBatch>> {
    let ctx = session(catalog).await?;
    let df = ctx.sql(sql).await.map_err(|e| SqlError::query(sql, e))?;
    df.collect().await.map_err(|e| SqlError::query(sql, e))
}
