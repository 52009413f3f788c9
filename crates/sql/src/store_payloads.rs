//! The payloads of `cached_table(...)` and of tables named after entries, found and checked
//! by the store's read path (the same checks as a get: content hash, key, expiry), and a
//! statement run over an open cache ([`run`]).

use std::collections::HashMap;
use std::sync::Arc;

use cacheness_format::Error as FormatError;
use cacheness_format::codec::DataType;
use cacheness_format::keys::{Params, Value};
use cacheness_pull::{FetchObserver, SharedFetcher, TablesRoot};
use cacheness_store::core::{CacheCore, Lookup};
use cacheness_store::ranged::PayloadData;
use deltalake::arrow::array::RecordBatch;
use deltalake::datafusion::common::ScalarValue;

use crate::error::SqlError;
use crate::payload::{PayloadBytes, TableLookup, TablePayload};
use crate::pull_tables::PullTables;

/// The payloads of an open cache, as SQL reads them (cheap to clone: a handle on the cache).
#[derive(Debug, Clone)]
pub struct Payloads(Arc<CacheCore>);

/// A SQL value as a key parameter value, with the types the CLI and the Rust API use for the
/// same literal (`10` an integer, `0.5` a float, `'x'` a string, `true` a boolean).
fn param_value(name: &str, v: &ScalarValue) -> cacheness_format::Result<Value> {
    let unsupported = || FormatError::InvalidParamValue {
        what: format!("parameter {name}"),
        reason: format!(
            "a SQL value of type {} cannot be a key parameter",
            v.data_type()
        ),
    };
    if v.is_null() {
        return Ok(Value::Null);
    }
    Ok(match v {
        ScalarValue::Boolean(Some(b)) => Value::Bool(*b),
        ScalarValue::Int8(Some(i)) => Value::Int(i64::from(*i)),
        ScalarValue::Int16(Some(i)) => Value::Int(i64::from(*i)),
        ScalarValue::Int32(Some(i)) => Value::Int(i64::from(*i)),
        ScalarValue::Int64(Some(i)) => Value::Int(*i),
        ScalarValue::UInt8(Some(i)) => Value::Int(i64::from(*i)),
        ScalarValue::UInt16(Some(i)) => Value::Int(i64::from(*i)),
        ScalarValue::UInt32(Some(i)) => Value::Int(i64::from(*i)),
        ScalarValue::UInt64(Some(i)) => Value::from(*i),
        ScalarValue::Float32(Some(f)) => Value::Float(f64::from(*f)),
        ScalarValue::Float64(Some(f)) => Value::Float(*f),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Value::Str(s.clone()),
        ScalarValue::Binary(Some(b))
        | ScalarValue::LargeBinary(Some(b))
        | ScalarValue::BinaryView(Some(b)) => Value::Bytes(b.clone()),
        ScalarValue::Date32(Some(d)) => Value::Date(*d),
        ScalarValue::TimestampSecond(Some(t), _) => Value::Timestamp(t.saturating_mul(1_000_000)),
        ScalarValue::TimestampMillisecond(Some(t), _) => Value::Timestamp(t.saturating_mul(1000)),
        ScalarValue::TimestampMicrosecond(Some(t), _) => Value::Timestamp(*t),
        ScalarValue::TimestampNanosecond(Some(t), _) => Value::Timestamp(t / 1000),
        _ => return Err(unsupported()),
    })
}

impl Payloads {
    /// The payloads of the cache `core` holds.
    pub fn new(core: Arc<CacheCore>) -> Self {
        Payloads(core)
    }

    /// The checked payload of the entry `lookup` names: `Ok(None)` if there is no live entry,
    /// an error naming the entry if it is not an Arrow table or cannot be read.
    pub fn table(&self, lookup: &TableLookup) -> cacheness_store::Result<Option<TablePayload>> {
        let found = match lookup {
            TableLookup::Key(k) => Lookup::parse_key(k),
            TableLookup::Params(pairs) => {
                let mut params = Params::new();
                for (name, value) in pairs {
                    params = params.with(name, param_value(name, value)?);
                }
                Lookup::params(&params)
            }
        }
        .and_then(|l| self.0.payload_parts(&l, DataType::ArrowTable))
        .map_err(|e| match e {
            cacheness_store::Error::Format(FormatError::WrongType { key, stored, .. }) => {
                FormatError::WrongType {
                    key,
                    stored,
                    requested: "an Arrow table".into(),
                }
                .into()
            }
            e => e,
        })?;
        let Some((info, data)) = found else {
            return Ok(None);
        };
        Ok(Some(TablePayload {
            key: info.cache_key.into(),
            bytes: match data {
                PayloadData::Whole(b) => PayloadBytes::Whole(b),
                PayloadData::Parts(p) => PayloadBytes::Parts(p),
            },
        }))
    }
}

/// Where the pull-through tables of the cache `core` holds live (`<root>/tables`), and this
/// host's directory for their lock files.
pub fn tables_root(core: &CacheCore) -> TablesRoot {
    TablesRoot {
        shared: core.location().join("tables"),
        local: core.root().join("tables"),
    }
}

/// Run one statement over the open cache `core`; `observer` hears of pull-through tables'
/// fetches, and `fetchers` (by table name) fill the tables whose settings name no source.
pub async fn run(
    core: &Arc<CacheCore>,
    sql: &str,
    observer: Option<Arc<dyn FetchObserver>>,
    fetchers: HashMap<String, SharedFetcher>,
) -> cacheness_store::Result<Vec<RecordBatch>> {
    core.check_open()?;
    let pull = PullTables {
        root: Some(tables_root(core)),
        observer,
        fetchers,
    };
    let limits = crate::Limits {
        memory_bytes: usize::try_from(core.config().sql_memory_limit_bytes).unwrap_or(usize::MAX),
    };
    let payloads = Payloads::new(core.clone());
    Ok(crate::query(core.catalog(), payloads, &pull, limits, sql).await?)
}

impl From<SqlError> for cacheness_store::Error {
    fn from(e: SqlError) -> Self {
        cacheness_store::Error::Sql(Box::new(e))
    }
}
