//! Custom metadata tables, store side: declaring them, attaching rows to entries (also as
//! part of a put), and emptying them when the cache is cleared. The tables themselves are
//! `cacheness_catalog::custom`; SQL shows them joined to live entries (`docs/SQL.md`).

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::datatypes::Schema;

use crate::core::{CacheCore, Lookup, PutOptions};
use crate::error::{Error, Result};
use cacheness_format::keys::Params;

/// Declare table `name` with `columns`, or check an existing declaration. A name that live
/// entries carry is refused: the metadata table would hide those cached tables in SQL.
pub async fn declare(core: &CacheCore, name: &str, columns: &Schema) -> Result<()> {
    core.check_open()?;
    let now = crate::core::now_micros();
    if let Some(entry) = core
        .catalog()
        .list()
        .await?
        .into_iter()
        .find(|row| row.name.as_deref() == Some(name) && row.expires_at.is_none_or(|e| e > now))
    {
        return Err(cacheness_catalog::CatalogError::InvalidName {
            name: name.to_string(),
            reason: format!("cache entry {} has this name", entry.cache_key),
        }
        .into());
    }
    Ok(core
        .catalog()
        .metadata_tables()
        .declare(name, columns)
        .await?)
}

/// Attach `rows` to the live entry `lookup` names, replacing its rows in `table`.
pub async fn attach(
    core: &CacheCore,
    lookup: &Lookup,
    table: &str,
    rows: &RecordBatch,
) -> Result<()> {
    if !core.exists(lookup)? {
        return Err(Error::NotFound {
            key: lookup.cache_key().to_string(),
        });
    }
    attach_to_key(core, lookup.cache_key(), table, rows).await
}

async fn attach_to_key(core: &CacheCore, key: &str, table: &str, rows: &RecordBatch) -> Result<()> {
    Ok(core
        .catalog()
        .metadata_tables()
        .attach(table, key, rows)
        .await?)
}

/// Check the metadata rows a put carries before it writes anything, so a put whose rows are
/// refused leaves no entry behind.
pub async fn check_put(core: &CacheCore, params: &Params, opts: &PutOptions) -> Result<()> {
    if opts.metadata.is_empty() {
        return Ok(());
    }
    let key = params.key()?;
    let tables = core.catalog().metadata_tables();
    for (table, rows) in &opts.metadata {
        tables.check(table, &key, rows).await?;
    }
    Ok(())
}

/// The metadata rows a put carries, attached to the entry it just wrote.
pub async fn attach_put(core: &CacheCore, key: &str, opts: &PutOptions) -> Result<()> {
    for (table, rows) in &opts.metadata {
        attach_to_key(core, key, table, rows).await?;
    }
    Ok(())
}

/// Empty every metadata table (after a clear).
pub async fn clear(core: &CacheCore) -> Result<()> {
    Ok(core.catalog().metadata_tables().clear().await?)
}
