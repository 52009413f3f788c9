//! Pull-through tables in the session: every table under `<root>/tables/` (a directory or an
//! object store prefix) is registered under its name, fetching from the source its settings name
//! (`docs/PULL_THROUGH.md`), or through a fetcher the caller gives for it (a Python function).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use cacheness_pull::{FetchObserver, PullProvider, PullTable, SharedFetcher, TablesRoot};
use deltalake::datafusion::prelude::SessionContext;

use crate::error::{Result, SqlError};

/// Where a session finds pull-through tables, and who hears of their fetches.
#[derive(Clone, Default)]
pub struct PullTables {
    /// Where the cache's tables live (`<root>/tables/<name>/`); `None`: no pull-through tables.
    pub root: Option<TablesRoot>,
    /// Told of each fetch (the CLI's progress bar).
    pub observer: Option<Arc<dyn FetchObserver>>,
    /// Fetchers by table name, used instead of the source a table's settings name (a table
    /// filled by a function of the caller's has none).
    pub fetchers: HashMap<String, SharedFetcher>,
}

impl std::fmt::Debug for PullTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullTables")
            .field("root", &self.root)
            .field("observer", &self.observer.is_some())
            .field("fetchers", &self.fetchers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl PullTables {
    /// The tables of the cache whose root directory is `root`.
    pub fn under(root: &Path) -> Self {
        Self::at(TablesRoot::under(root))
    }

    /// The tables at `root` (on a local disk or an object store).
    pub fn at(root: TablesRoot) -> Self {
        PullTables {
            root: Some(root),
            ..PullTables::default()
        }
    }
}

/// Register each pull-through table of `tables` in `ctx`.
pub async fn register(ctx: &SessionContext, tables: &PullTables) -> Result<()> {
    let Some(root) = &tables.root else {
        return Ok(());
    };
    let names = PullTable::list(root)
        .await
        .map_err(|e| SqlError::table("tables", e))?;
    for name in names {
        let table = PullTable::open(root, &name)
            .await
            .map_err(|e| SqlError::table(&name, e))?;
        let fetcher = match tables.fetchers.get(&name) {
            Some(given) => given.clone(),
            None => table.fetcher().map_err(|e| SqlError::table(&name, e))?,
        };
        let mut provider = PullProvider::new(Arc::new(table), fetcher)
            .await
            .map_err(|e| SqlError::table(&name, e))?;
        if let Some(o) = &tables.observer {
            provider = provider.with_observer(o.clone());
        }
        ctx.register_table(name.as_str(), Arc::new(provider))
            .map_err(|e| SqlError::table(&name, e))?;
    }
    Ok(())
}
