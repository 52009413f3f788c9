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
    /// The statement is not a query: SQL over a cache only reads (no DDL, DML, `COPY` or
    /// statements such as `SET`; docs/SQL.md).
    #[error(
        "`{sql}` is refused: SQL over a cache only reads; it runs queries, not DDL, DML or other statements ({message})"
    )]
    NotAQuery {
        /// The statement.
        sql: String,
        /// What kind of statement DataFusion saw.
        message: String,
    },
    /// The statement needed more memory than a statement may use (its joins, sorts and
    /// aggregates and its answer together).
    #[error(
        "`{sql}` needs more memory than the {limit} bytes a SQL statement may use (sql_memory_limit_bytes; docs/SQL.md): add a LIMIT or a WHERE, aggregate, or raise the limit ({message})"
    )]
    MemoryLimit {
        /// The statement.
        sql: String,
        /// The limit, in bytes.
        limit: usize,
        /// What DataFusion was doing when it ran out.
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
        SqlError::Query {
            sql: sql.to_string(),
            message: root_message(&e),
        }
    }

    /// A statement refused by the read-only check.
    pub(crate) fn not_a_query(sql: &str, e: DataFusionError) -> Self {
        SqlError::NotAQuery {
            sql: sql.to_string(),
            message: root_message(&e),
        }
    }

    pub(crate) fn memory_limit(sql: &str, limits: crate::Limits, message: &str) -> Self {
        SqlError::MemoryLimit {
            sql: sql.to_string(),
            limit: limits.memory_bytes,
            message: message.to_string(),
        }
    }

    pub(crate) fn table(table: &str, e: impl std::fmt::Display) -> Self {
        SqlError::Table {
            table: table.to_string(),
            message: e.to_string(),
        }
    }
}

/// DataFusion's message for `e`, stripped of its internal prefixes.
fn root_message(e: &DataFusionError) -> String {
    match e.find_root() {
        DataFusionError::SQL(e, _) => e.to_string(),
        DataFusionError::Plan(m) | DataFusionError::Execution(m) => m.clone(),
        DataFusionError::SchemaError(e, _) => e.to_string(),
        other => other.to_string(),
    }
}

/// Result alias for SQL operations.
pub type Result<T> = std::result::Result<T, SqlError>;
