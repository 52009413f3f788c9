//! Custom metadata tables in SQL: each declared table under its own name, showing the rows of
//! live entries only (a semi-join on `cache_key` with `cache_entries`), so rows of invalidated
//! or expired entries never appear, even before the committer deletes them.

use std::sync::Arc;

use cacheness_catalog::MetadataTables;
use cacheness_catalog::custom::KEY_COLUMN;
use deltalake::datafusion::catalog::TableProvider;
use deltalake::datafusion::common::JoinType;
use deltalake::datafusion::prelude::{SessionContext, col};

use crate::entries::{self, InexactFilters};
use crate::error::{Result, SqlError};

/// Register every declared metadata table of `tables` in `ctx` (after `cache_entries`).
pub async fn register(ctx: &SessionContext, tables: &MetadataTables) -> Result<()> {
    for name in tables.names().await? {
        let err = |e: &dyn std::fmt::Display| SqlError::table(&name, e);
        let table = tables.open(&name).await?;
        table
            .update_datafusion_session(&ctx.state())
            .map_err(|e| err(&e))?;
        let provider: Arc<dyn TableProvider> = Arc::new(InexactFilters::new(
            table.table_provider().await.map_err(|e| err(&e))?,
        ));
        let live = ctx
            .table(entries::TABLE)
            .await
            .and_then(|e| e.select(vec![col(KEY_COLUMN).alias("_live_key")]))
            .map_err(|e| err(&e))?;
        let rows = ctx
            .read_table(provider)
            .and_then(|m| {
                m.join(
                    live,
                    JoinType::LeftSemi,
                    &[KEY_COLUMN],
                    &["_live_key"],
                    None,
                )
            })
            .map_err(|e| err(&e))?;
        ctx.register_table(name.as_str(), rows.into_view())
            .map_err(|e| err(&e))?;
    }
    Ok(())
}
