//! `cacheness table ...`: create pull-through tables, list them, show their coverage and
//! invalidate a key's range (`docs/PULL_THROUGH.md`, `docs/CLI.md`). Querying them is
//! `cacheness sql`.

use std::time::Duration;

use cacheness::pull::columns::{parse_columns, range_kind};
use cacheness::pull::interval::{Interval, RangeKind};
use cacheness::pull::source::{SourceSettings, demo_schema};
use cacheness::pull::table::{RangeSettings, Settings, WithoutBounds};
use cacheness::pull::{PullTable, TablesRoot, decode::Format};

use crate::CliResult;

/// The presets of `table create --preset`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// Historical ranges: fetched once, kept (no TTL, no volatile window).
    Timeseries,
    /// Live data: a 5-minute TTL, the last 2 granules refetched on every query.
    RealtimeTimeseries,
    /// Records by key, no range column: missing keys fetched, kept a day.
    LookupTable,
    /// Bulk scans: like timeseries, 4 fetches at a time.
    AnalyticsTable,
}

/// `table create`'s arguments.
#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// The table's name (lower-case letters, digits and _).
    pub name: String,
    /// The columns, `name:type,...`; types: str, int (64-bit), int32, float (64-bit), float32,
    /// bool, date, timestamp (µs, UTC). With --demo: the demo's columns.
    #[arg(long, value_name = "NAME:TYPE,...", required_unless_present = "demo")]
    pub columns: Option<String>,
    /// The key column, or several separated by commas (`symbol,venue`).
    #[arg(long, default_value = "symbol")]
    pub key: String,
    /// The range column (not for --preset lookup-table).
    #[arg(long)]
    pub range: Option<String>,
    /// The unit fetches align to: ticks (days for dates, µs for timestamps) or a duration
    /// (`1h`) for timestamps.
    #[arg(long, default_value = "1")]
    pub granularity: String,
    /// The preset the settings start from.
    #[arg(long, value_enum, default_value = "timeseries")]
    pub preset: Preset,
    /// Fetch with GET on this URL template ({key}, {start}, {end}, {last}).
    #[arg(long, group = "source")]
    pub url: Option<String>,
    /// Fetch by running this command line (split like a shell, not run by one; arguments
    /// may hold {key}, {start}, {end}, {last}).
    #[arg(long, group = "source")]
    pub command: Option<String>,
    /// Fetch by running --query on this PostgreSQL server (`host=... port=... user=...
    /// dbname=...` or a postgresql:// URL; the password from PGPASSWORD if not in it).
    #[arg(long, group = "source", requires = "query", value_name = "CONNINFO")]
    pub postgres: Option<String>,
    /// The PostgreSQL query: $1 is the key, $2 and $3 the range's first value and the one
    /// after its last (a lookup table's query takes $1 only).
    #[arg(long, requires = "postgres")]
    pub query: Option<String>,
    /// Fetch from the built-in deterministic demo source (daily prices).
    #[arg(long, group = "source")]
    pub demo: bool,
    /// The source's answer format: csv, jsonl, json, parquet, arrow.
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// How long fetched ranges count (e.g. `1h`; default: the preset's).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub ttl: Option<Duration>,
    /// Ticks at the end of the range that are never final (default: the preset's).
    #[arg(long)]
    pub volatile_window: Option<i64>,
    /// Fetches at once (default: the preset's).
    #[arg(long)]
    pub parallelism: Option<usize>,
    /// Queries that do not say which keys or range to fetch read stored rows only (default:
    /// they fail, naming the missing predicate).
    #[arg(long)]
    pub cache_only_without_bounds: bool,
    /// A fetch's timeout.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30s")]
    pub timeout: Duration,
    /// HTTP retries after a failed attempt.
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// HTTP requests (PostgreSQL connections) at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

/// A runtime for one command's table operations.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

fn granularity(text: &str, kind: RangeKind) -> Result<i64, String> {
    if let Ok(n) = text.parse::<i64>() {
        return Ok(n);
    }
    match kind {
        RangeKind::Timestamp => humantime::parse_duration(text)
            .map_err(|e| format!("granularity {text:?}: {e}"))
            .and_then(|d| i64::try_from(d.as_micros()).map_err(|e| e.to_string())),
        _ => Err(format!(
            "granularity {text:?}: a number of ticks (a duration only for timestamps)"
        )),
    }
}

/// `table create`: the settings and schema from the arguments, then the table.
pub fn create(root: &TablesRoot, a: &CreateArgs) -> CliResult<Settings> {
    let schema = match (&a.columns, a.demo) {
        (_, true) => demo_schema(),
        (Some(c), false) => parse_columns(c)?,
        (None, false) => return Err("--columns is required".into()),
    };
    let range = match (&a.range, a.preset) {
        (Some(_), Preset::LookupTable) => {
            return Err("a lookup table has no range column: drop --range".into());
        }
        (None, Preset::LookupTable) => None,
        (None, _) if a.demo => Some("day".to_string()),
        (None, _) => return Err("--range is required (the ordered column fetched by range)".into()),
        (Some(r), _) => Some(r.clone()),
    };
    let range = match range {
        None => None,
        Some(column) => {
            let kind = range_kind(&schema, &column)?;
            Some(RangeSettings {
                kind,
                granularity: granularity(&a.granularity, kind)?,
                column,
            })
        }
    };
    let mut settings = match (a.preset, range) {
        (Preset::LookupTable, _) => Settings::for_lookup_table(&a.key),
        (_, None) => return Err("--range is required".into()),
        (Preset::Timeseries, Some(r)) => Settings::for_timeseries(&a.key, r),
        (Preset::RealtimeTimeseries, Some(r)) => Settings::for_realtime_timeseries(&a.key, r),
        (Preset::AnalyticsTable, Some(r)) => Settings::for_analytics_table(&a.key, r),
    };
    let keys: Vec<&str> = a
        .key
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect();
    settings = settings.with_key_columns(&keys);
    if let Some(ttl) = a.ttl {
        settings.ttl_seconds = Some(ttl.as_secs().max(1));
    }
    if let Some(w) = a.volatile_window {
        settings.volatile_window = Some(w);
    }
    if let Some(p) = a.parallelism {
        settings.parallelism = p;
    }
    if a.cache_only_without_bounds {
        settings.without_bounds = WithoutBounds::CacheOnly;
    }
    let timeout_seconds = a.timeout.as_secs().max(1);
    let source = if a.demo {
        Some(SourceSettings::Demo)
    } else if let Some(url) = &a.url {
        a.format.parse::<Format>()?;
        Some(SourceSettings::Http {
            url: url.clone(),
            format: a.format.clone(),
            timeout_seconds,
            retries: a.retries,
            concurrency: a.concurrency,
        })
    } else if let (Some(conninfo), Some(query)) = (&a.postgres, &a.query) {
        Some(SourceSettings::Postgres {
            conninfo: conninfo.clone(),
            query: query.clone(),
            timeout_seconds,
            concurrency: a.concurrency,
        })
    } else if let Some(line) = &a.command {
        a.format.parse::<Format>()?;
        let mut words = shlex::split(line)
            .filter(|w| !w.is_empty())
            .ok_or_else(|| format!("--command {line:?}: unbalanced quotes"))?
            .into_iter();
        let program = words.next().ok_or("--command is empty")?;
        Some(SourceSettings::Command {
            program,
            args: words.collect(),
            format: a.format.clone(),
            timeout_seconds,
        })
    } else {
        None
    };
    // The source must be usable now, not at the first query, and nothing is created if not.
    if let Some(source) = &source {
        let kind = match &settings.range {
            Some(r) => Some(range_kind(&schema, &r.column)?),
            None => None,
        };
        source.fetcher(&schema, kind, &settings.key_columns)?;
    }
    settings.source = source;
    let rt = runtime()?;
    let table = rt.block_on(PullTable::create(root, &a.name, schema, settings))?;
    Ok(table.settings().clone())
}

/// `table coverage`: one JSON object per fetched span.
pub fn coverage(root: &TablesRoot, name: &str, key: Option<&str>) -> CliResult<()> {
    let rt = runtime()?;
    let table = rt.block_on(PullTable::open(root, name))?;
    let kind = table.kind();
    let lookup = table.settings().range.is_none();
    let micros = |t: i64| RangeKind::Timestamp.text(t);
    let mut out = crate::output::stdout();
    for (k, spans) in rt.block_on(table.coverage())? {
        if key.is_some_and(|want| want != k) {
            continue;
        }
        for s in spans {
            let mut row = serde_json::json!({
                "key": k,
                "fetched_at": micros(s.fetched_at),
                "valid_until": s.valid_until.map(micros),
            });
            if !lookup {
                row["start"] = kind.text(s.interval.start).into();
                row["last"] = kind.text(s.interval.end.saturating_sub(1)).into();
            }
            serde_json::to_writer(&mut out, &row)?;
            std::io::Write::write_all(&mut out, b"\n")?;
        }
    }
    Ok(())
}

/// A tick from the text of a range bound (a date, an RFC 3339 time or an integer).
fn tick(kind: RangeKind, text: &str) -> Result<i64, String> {
    let bad = |e: &dyn std::fmt::Display| format!("{text:?} is not a {kind:?} bound: {e}");
    match kind {
        RangeKind::Integer => text.parse().map_err(|e| bad(&e)),
        RangeKind::Date => {
            let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| bad(&e))?;
            Ok(d.signed_duration_since(chrono::NaiveDate::default())
                .num_days())
        }
        RangeKind::Timestamp => chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.timestamp_micros())
            .map_err(|e| bad(&e)),
    }
}

/// `table invalidate`: forget `key`'s coverage from `from` to `last` (inclusive; all of it
/// without bounds).
pub fn invalidate(
    root: &TablesRoot,
    name: &str,
    key: &str,
    from: Option<&str>,
    last: Option<&str>,
) -> CliResult<()> {
    let rt = runtime()?;
    let table = rt.block_on(PullTable::open(root, name))?;
    let kind = table.kind();
    let range = match (from, last) {
        (None, None) => None,
        (from, last) => {
            let start = from.map(|f| tick(kind, f)).transpose()?.unwrap_or(i64::MIN);
            let end = match last {
                Some(l) => tick(kind, l)?.saturating_add(1),
                None => i64::MAX,
            };
            Some(Interval::new(start, end).ok_or("--from is after --last")?)
        }
    };
    rt.block_on(table.invalidate(key, range))?;
    Ok(())
}

/// `table ls`: one JSON object per table, its settings.
pub fn list(root: &TablesRoot) -> CliResult<()> {
    let rt = runtime()?;
    let mut out = crate::output::stdout();
    for (name, settings) in rt.block_on(PullTable::list_settings(root))? {
        let settings = serde_json::to_value(settings)?;
        serde_json::to_writer(
            &mut out,
            &serde_json::json!({ "name": name, "settings": settings }),
        )?;
        std::io::Write::write_all(&mut out, b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_and_granularities_parse_with_clear_errors() {
        assert_eq!(tick(RangeKind::Date, "2024-01-01"), Ok(19_723));
        assert_eq!(granularity("1h", RangeKind::Timestamp), Ok(3_600_000_000));
        assert!(granularity("1h", RangeKind::Date).is_err());
    }
}
