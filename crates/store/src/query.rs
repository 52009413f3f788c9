//! SQL over the cache, engine side: runs statements with `cacheness-sql` and answers its
//! payload lookups (`cached_table(...)`) with the same checks as a get.

use std::sync::Arc;

use cacheness_sql::payload::PayloadBytes;
use cacheness_sql::pull::FetchObserver;
use cacheness_sql::{Payloads, PullTables, TableLookup, TablePayload};
use deltalake::arrow::array::RecordBatch;
use deltalake::datafusion::common::ScalarValue;

use crate::codec::DataType;
use crate::core::{CacheCore, Lookup};
use crate::error::{Error, Result};
use crate::keys::{Params, Value};
use crate::ranged::PayloadData;

/// The cache's payloads, as the SQL layer sees them.
#[derive(Debug)]
struct CorePayloads(Arc<CacheCore>);

/// A SQL value as a key parameter value, with the types the CLI and the Rust API use for the
/// same literal (`10` an integer, `0.5` a float, `'x'` a string, `true` a boolean).
fn param_value(name: &str, v: &ScalarValue) -> std::result::Result<Value, String> {
    let unsupported = || {
        format!(
            "parameter {name}: a SQL value of type {} cannot be a key parameter",
            v.data_type()
        )
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

impl Payloads for CorePayloads {
    fn table(&self, lookup: &TableLookup) -> std::result::Result<Option<TablePayload>, String> {
        let found = match lookup {
            TableLookup::Key(k) => Lookup::key(k),
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
            Error::WrongType { key, stored, .. } => {
                format!("entry {key} holds {stored}, not an Arrow table")
            }
            e => e.to_string(),
        })?;
        let Some((info, data)) = found else {
            return Ok(None);
        };
        Ok(Some(TablePayload {
            key: info.cache_key,
            bytes: match data {
                PayloadData::Whole(b) => PayloadBytes::Whole(b),
                PayloadData::Parts(p) => PayloadBytes::Parts(p),
            },
        }))
    }
}

/// Run one statement over the cache; `observer` hears of pull-through tables' fetches.
pub(crate) async fn run(
    core: &Arc<CacheCore>,
    sql: &str,
    observer: Option<Arc<dyn FetchObserver>>,
) -> Result<Vec<RecordBatch>> {
    core.check_open()?;
    let payloads = Arc::new(CorePayloads(core.clone()));
    let pull = PullTables {
        root: Some(core.tables_root()),
        observer,
    };
    let limits = cacheness_sql::Limits {
        memory_bytes: usize::try_from(core.config().sql_memory_limit_bytes).unwrap_or(usize::MAX),
    };
    Ok(cacheness_sql::query(core.catalog(), payloads, &pull, limits, sql).await?)
}
