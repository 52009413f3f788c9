//! The SQL layer's error type.

use deltalake::datafusion::error::DataFusionError;

/// What can go wrong answering SQL over a cache.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The statement failed to plan or run (syntax, unknown table or column, types).
    #[error("SQL error in `{sql}`: {message}")]
    Query {
        /// The statement.
        sql: String,
        /// DataFusion's explanation.
        message: String,
    },
    /// The catalog could not be read.
    #[error(transparent)]
    Catalog(#[from] cacheness_catalog::CatalogError),
    /// Building the `cache_entries` table failed.
    #[error("cannot build table {table}: {message}")]
    Table {
        /// The table being built.
        table: String,
        /// Why.
        message: String,
    },
}

impl SqlError {
    /// A failed statement, with DataFusion's message stripped of its internal prefixes.
    pub fn query(sql: &str, e: DataFusionError) -> Self {
        let message = match e.find_root() {
            DataFusionError::SQL(e, _) => e.to_string(),
            DataFusionError::Plan(m) | DataFusionError::Execution(m) => m.clone(),
            DataFusionError::SchemaError(e, _) => e.to_string(),
            other => other.to_string(),
        };
        SqlError::Query {
            sql: sql.to_string(),
            message,
        }
    }

    pub(crate) fn table(table: &str, e: impl std::fmt::Display) -> Self {
        SqlError::Table {
            table: table.to_string(),
            message: e.to_string(),
        }
    }
}

/// Result alias for SQL operations.
pub type Result<T> = std::result::Result<T, SqlError>;
