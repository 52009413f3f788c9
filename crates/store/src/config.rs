//! Cache configuration: the [`CacheConfig`] builder, then `cacheness.toml` in the cache root,
//! then `CACHENESS_*` environment variables, each overriding the one before (see
//! `docs/CONFIGURATION.md`).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use cacheness_format::codec::CodecOptions;

/// The default of [`CacheConfig::eviction_low_watermark`].
pub const DEFAULT_LOW_WATERMARK: f64 = 0.8;

/// The default of [`CacheConfig::sql_memory_limit_bytes`]: 2 GiB.
pub const DEFAULT_SQL_MEMORY_LIMIT: u64 = 2 << 30;

/// The least [`CacheConfig::sql_memory_limit_bytes`] may be: 16 MiB.
pub const MIN_SQL_MEMORY_LIMIT: u64 = 16 << 20;

/// The longest TTL an entry may have: 1,000 years (365.25-day years), far inside what every
/// timestamp type that reads the catalog can hold.
pub const MAX_TTL: Duration = Duration::from_secs(1_000 * 31_557_600);

/// The TTL a put gives its entry, by the one rule of `docs/LIFECYCLE.md`: the put's own TTL,
/// else the cache's default; zero means "never expires" (so a put can opt out of a default);
/// more than [`MAX_TTL`] is an error, whose reason this returns.
pub fn effective_ttl(
    put: Option<Duration>,
    default: Option<Duration>,
) -> std::result::Result<Option<Duration>, cacheness_format::Invalid> {
    match put.or(default) {
        Some(t) if t > MAX_TTL => Err(format!(
            "{} is longer than the longest TTL, {} (1,000 years); for no expiry give none, or 0",
            humanize_secs(t.as_secs()),
            humanize_secs(MAX_TTL.as_secs())
        )
        .into()),
        Some(t) if t.is_zero() => Ok(None),
        t => Ok(t),
    }
}

/// Whole seconds as days when that is what they are (`96000000d`), else seconds.
fn humanize_secs(secs: u64) -> String {
    if secs.is_multiple_of(86_400) {
        format!("{}d", secs / 86_400)
    } else {
        format!("{secs}s")
    }
}

/// `text` as a number times the scale of the unit after it (`scale` of the unit, trimmed),
/// rounded: `None` if the number or the unit does not read, or the product is not a `u64`.
fn number_with_unit(text: &str, scale: impl Fn(&str) -> Option<f64>) -> Option<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value = (number.parse::<f64>().ok()? * scale(unit.trim())?).round();
    (value.is_finite() && value >= 0.0 && value <= u64::MAX as f64).then_some(value as u64)
}

/// A duration as written in settings: a number with a unit (`ns`, `us`, `ms`, `s`, `m`, `h`,
/// `d`), e.g. `90s`, `1.5h`, `7d`.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, cacheness_format::Invalid> {
    let nanos = number_with_unit(text, |unit| {
        Some(match unit {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3_600e9,
            "d" => 86_400e9,
            _ => return None,
        })
    });
    nanos.map(Duration::from_nanos).ok_or_else(|| {
        format!("{text:?} is not a duration (a number with ns, us, ms, s, m, h or d)").into()
    })
}

/// A size as written in settings: bytes, or a number with a unit (`KB`, `MB`, `GB`, `TB` in
/// powers of 1000; `KiB`, `MiB`, `GiB`, `TiB` in powers of 1024; `B`), case-insensitive,
/// e.g. `10GiB`, `500 MB`, `1.5GB`.
pub fn parse_size(text: &str) -> std::result::Result<u64, cacheness_format::Invalid> {
    let bytes = number_with_unit(text, |unit| {
        let scale: u64 = match unit.to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" | "k" => 1_000,
            "mb" | "m" => 1_000_000,
            "gb" | "g" => 1_000_000_000,
            "tb" | "t" => 1_000_000_000_000,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            "tib" => 1 << 40,
            _ => return None,
        };
        Some(scale as f64)
    });
    bytes.ok_or_else(|| {
        format!(
            "{text:?} is not a size (bytes, or a number with B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"
        )
        .into()
    })
}

/// How each setting is written in `cacheness.toml` and the environment, where its Rust type is
/// not the text itself: durations in whole seconds or milliseconds, sizes as bytes or a number
/// with a unit, limits where 0 means none, the signing key source as its text.
mod repr {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// A size: an integer (bytes) or a string with a unit (`super::parse_size`).
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }

    fn size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        match Size::deserialize(d)? {
            Size::Bytes(b) => Ok(b),
            Size::Text(t) => super::parse_size(&t).map_err(D::Error::custom),
        }
    }

    /// TOML integers are signed: a size past `i64::MAX` is written as `i64::MAX`.
    fn write_u64<S: Serializer>(n: u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(i64::try_from(n).unwrap_or(i64::MAX))
    }

    /// Bytes, or a number with a unit.
    pub mod bytes {
        use super::*;
        pub fn serialize<S: Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
            write_u64(*n, s)
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
            size(d)
        }
    }

    /// Bytes, or a number with a unit; 0 means none.
    pub mod bytes_or_none {
        use super::*;
        pub fn serialize<S: Serializer>(n: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
            write_u64(n.unwrap_or(0), s)
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
            size(d).map(|b| (b > 0).then_some(b))
        }
    }

    /// A count; 0 means none.
    pub mod count_or_none {
        use super::*;
        pub fn serialize<S: Serializer>(n: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
            write_u64(n.unwrap_or(0), s)
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
            u64::deserialize(d).map(|n| (n > 0).then_some(n))
        }
    }

    /// A duration: an integer in the setting's unit (seconds, or milliseconds), or a string
    /// with a unit (`"90s"`, `"50ms"`, `"7d"`: `ns`, `us`, `ms`, `s`, `m`, `h`, `d`). Written
    /// as an integer when it is whole in the unit, else in nanoseconds, so a builder's value
    /// survives the layers exactly.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Span {
        Count(u64),
        Text(String),
    }

    fn duration<'de, D: Deserializer<'de>>(
        d: D,
        count: fn(u64) -> Duration,
    ) -> Result<Duration, D::Error> {
        match Span::deserialize(d)? {
            Span::Count(n) => Ok(count(n)),
            Span::Text(t) => super::parse_duration(&t).map_err(D::Error::custom),
        }
    }

    fn write_duration<S: Serializer>(t: Duration, unit: Duration, s: S) -> Result<S::Ok, S::Error> {
        let (nanos, per) = (t.as_nanos(), unit.as_nanos());
        if nanos % per == 0 {
            write_u64(u64::try_from(nanos / per).unwrap_or(u64::MAX), s)
        } else {
            s.serialize_str(&format!("{nanos}ns"))
        }
    }

    const SECOND: Duration = Duration::from_secs(1);
    const MILLI: Duration = Duration::from_millis(1);

    /// Seconds.
    pub mod seconds {
        use super::*;
        pub fn serialize<S: Serializer>(t: &Duration, s: S) -> Result<S::Ok, S::Error> {
            write_duration(*t, SECOND, s)
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
            duration(d, Duration::from_secs)
        }
    }

    /// Seconds; 0 means none.
    pub mod seconds_or_none {
        use super::*;
        pub fn serialize<S: Serializer>(t: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            write_duration(t.unwrap_or_default(), SECOND, s)
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            duration(d, Duration::from_secs).map(|t| (!t.is_zero()).then_some(t))
        }
    }

    /// Milliseconds, at least 1.
    pub mod millis {
        use super::*;
        pub fn serialize<S: Serializer>(t: &Duration, s: S) -> Result<S::Ok, S::Error> {
            write_duration(*t, MILLI, s)
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
            duration(d, Duration::from_millis).map(|t| t.max(MILLI))
        }
    }

    /// The signing key source as `SigningKey::parse` reads it. A key given as bytes is not
    /// written out (a configuration printed must not show it): it is written `"<key>"`, which
    /// does not parse, and a layer that states no key keeps the builder's (`super::layered`).
    pub mod signing_key {
        use cacheness_format::signing::SigningKey;

        use super::*;
        pub fn serialize<S: Serializer>(k: &SigningKey, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&match k {
                SigningKey::Default => "default".to_string(),
                SigningKey::InMemory => "in-memory".to_string(),
                SigningKey::File(p) => format!("file:{}", p.display()),
                SigningKey::Env(v) => format!("env:{v}"),
                SigningKey::Bytes(_) => "<key>".to_string(),
            })
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SigningKey, D::Error> {
            SigningKey::parse(&String::deserialize(d)?).map_err(D::Error::custom)
        }
    }
}

/// Whether writes are fsync'd before a put returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Leave flushing to the OS: survives a crash of the process, not of the machine.
    #[default]
    Buffered,
    /// fsync payloads, their directory and each journal record: survives power loss.
    Fsync,
}

/// How a cache is opened. Build with [`CacheConfig::new`] and the `with_*` methods.
///
/// Every field but where the cache is ([`Self::root`], [`Self::location`],
/// [`Self::storage_options`]) is a setting, declared here once: its serde name is its key in
/// `cacheness.toml` and, upper-cased after `CACHENESS_`, its environment variable
/// ([`CacheConfig::layered`], `docs/CONFIGURATION.md`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheConfig {
    /// The cache root directory. For a cache on an object store ([`Self::location`]) this is
    /// the host's local state directory instead: journals, usage counters, lock files, the
    /// stat cache (`docs/SCALE.md`).
    #[serde(skip)]
    pub root: PathBuf,
    /// The object store URL the cache lives at (`s3://bucket/prefix`, `gs://…`, `az://…`);
    /// `None` for a cache in the local directory [`Self::root`].
    #[serde(skip)]
    pub location: Option<String>,
    /// Object store settings (credentials, endpoint, region: the keys `object_store` takes,
    /// such as `aws_endpoint` or `aws_allow_http`); they override the environment's.
    #[serde(skip)]
    pub storage_options: std::collections::HashMap<String, String>,
    /// For a cache on an object store: keep copies of hot payloads in
    /// `<local state>/read-through`, at most this many bytes, revalidated on every get with
    /// one conditional request (`docs/SCALE.md`). `None`: off.
    #[serde(with = "repr::bytes_or_none")]
    pub read_through_max_bytes: Option<u64>,
    /// The memory a SQL statement may use: DataFusion's operators (joins, sorts,
    /// aggregates) and the answer it collects together (`docs/SQL.md`).
    #[serde(with = "repr::bytes")]
    pub sql_memory_limit_bytes: u64,
    /// Write durability.
    pub durability: Durability,
    /// TTL for entries put without one; `None` (or zero) means entries never expire.
    #[serde(rename = "default_ttl_seconds", with = "repr::seconds_or_none")]
    pub default_ttl: Option<Duration>,
    /// The group commit's time bound.
    #[serde(rename = "commit_interval_ms", with = "repr::millis")]
    pub commit_interval: Duration,
    /// The group commit's row bound.
    pub commit_max_rows: usize,
    /// Codec settings.
    #[serde(flatten)]
    pub codec: CodecOptions,
    /// How long catalog maintenance keeps data files removed from the catalog and old log
    /// files: reading the catalog as of an older version may fail (`docs/RELIABILITY.md`).
    #[serde(rename = "maintenance_retention_seconds", with = "repr::seconds")]
    pub maintenance_retention: Duration,
    /// Remove expired entries when the cache is opened (reads the catalog: milliseconds at
    /// 10,000 entries, more at millions; off by default, since gets treat expired entries as
    /// misses anyway).
    pub cleanup_on_open: bool,
    /// Where the signing key comes from (`docs/SECURITY.md`).
    #[serde(with = "repr::signing_key")]
    pub signing_key: cacheness_format::signing::SigningKey,
    /// Remove payloads whose signature does not verify (true), or leave them on disk for
    /// inspection (false). Either way they are never served.
    pub delete_invalid_signatures: bool,
    /// Serve payloads that carry no signature (written before signing existed), checked by
    /// their content hash alone. Off by default: such a payload could have been written by
    /// anyone who can write the directory, and reaches the format decoders.
    pub allow_unsigned_entries: bool,
    /// The most payload bytes the cache keeps; a put that passes it evicts least-recently-used
    /// entries down to the low watermark (`docs/LIFECYCLE.md`). `None`: no limit.
    #[serde(with = "repr::bytes_or_none")]
    pub max_size_bytes: Option<u64>,
    /// The most entries the cache keeps (evicted like the size limit). `None`: no limit.
    #[serde(with = "repr::count_or_none")]
    pub max_entries: Option<u64>,
    /// The fraction of each limit an eviction pass evicts down to (in `(0, 1]`; 0.8).
    pub eviction_low_watermark: f64,
    /// Compute-once lookups (`get_or_insert_with`, `#[cached]`) that miss take a per-key lock
    /// file, so processes wait for the first one's result instead of computing it too
    /// (`docs/FUNCTIONS.md`). Off by default: it costs two file operations per miss.
    pub lock_across_processes: bool,
    /// Keep container payloads (objects, bytes, JSON) under 64 KiB of a cache on disk as
    /// records of the small-entry store
    /// (`<root>/small/`, LMDB; `docs/ARCHITECTURE.md`, "Small entries") instead of a file
    /// each. On by default; turn it off for a cache on a network file system (NFS, SMB),
    /// where LMDB's locks do not hold across machines. Records already stored are still
    /// read, and a put replaces them with files.
    pub small_entry_store: bool,
}

impl CacheConfig {
    /// Defaults for a cache at `root`: a local directory, or an object store URL
    /// (`s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix`; `file://` URLs are
    /// local directories). A cache on an object store keeps this host's state in
    /// `$CACHENESS_LOCAL_STATE` if set, else in `~/.cache/cacheness/hosts/<hash of the URL>`
    /// ([`Self::with_local_state`] to choose).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root: PathBuf = root.into();
        let text = root.to_string_lossy();
        let (root, location) = if cacheness_storage::Location::is_remote_url(&text) {
            let url = text.trim_end_matches('/').to_string();
            (default_local_state(&url), Some(url))
        } else {
            match text.strip_prefix("file://") {
                Some(path) => (PathBuf::from(path), None),
                None => (root, None),
            }
        };
        CacheConfig {
            root,
            location,
            storage_options: Default::default(),
            read_through_max_bytes: None,
            sql_memory_limit_bytes: DEFAULT_SQL_MEMORY_LIMIT,
            durability: Durability::Buffered,
            default_ttl: None,
            commit_interval: Duration::from_millis(1000),
            commit_max_rows: 10_000,
            codec: CodecOptions::default(),
            cleanup_on_open: false,
            lock_across_processes: false,
            small_entry_store: true,
            maintenance_retention: cacheness_catalog::maintenance::DEFAULT_RETENTION,
            signing_key: cacheness_format::signing::SigningKey::Default,
            delete_invalid_signatures: true,
            allow_unsigned_entries: false,
            max_size_bytes: None,
            max_entries: None,
            eviction_low_watermark: DEFAULT_LOW_WATERMARK,
        }
    }

    /// Keep this host's state of a cache on an object store (journals, counters, locks) in
    /// `dir` instead of the default (see [`Self::new`]). Two processes are the same host when
    /// they share this directory.
    pub fn with_local_state(mut self, dir: impl Into<PathBuf>) -> Self {
        self.root = dir.into();
        self
    }

    /// Set an object store option (e.g. `aws_endpoint`, `aws_region`, `aws_allow_http`); it
    /// overrides the environment's.
    pub fn with_storage_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.storage_options.insert(key.into(), value.into());
        self
    }

    /// Keep up to `max` bytes of hot remote payloads in a local read-through directory
    /// (`None`: off; see [`Self::read_through_max_bytes`]).
    pub fn with_read_through(mut self, max: Option<u64>) -> Self {
        self.read_through_max_bytes = max;
        self
    }

    /// Limit the memory one SQL statement may use (see [`Self::sql_memory_limit_bytes`]).
    pub fn with_sql_memory_limit(mut self, bytes: u64) -> Self {
        self.sql_memory_limit_bytes = bytes;
        self
    }

    /// Limit the payload bytes the cache keeps (`None`: no limit).
    pub fn with_max_size_bytes(mut self, max: Option<u64>) -> Self {
        self.max_size_bytes = max;
        self
    }

    /// Limit the number of entries the cache keeps (`None`: no limit).
    pub fn with_max_entries(mut self, max: Option<u64>) -> Self {
        self.max_entries = max;
        self
    }

    /// Set the fraction of a limit that eviction evicts down to (clamped to `(0, 1]`).
    pub fn with_eviction_low_watermark(mut self, fraction: f64) -> Self {
        self.eviction_low_watermark = if fraction.is_finite() && fraction > 0.0 {
            fraction.min(1.0)
        } else {
            DEFAULT_LOW_WATERMARK
        };
        self
    }

    /// Whether a size or entry limit is set.
    pub fn has_limits(&self) -> bool {
        self.max_size_bytes.is_some() || self.max_entries.is_some()
    }

    /// Take the signing key from `source`.
    pub fn with_signing_key(mut self, source: cacheness_format::signing::SigningKey) -> Self {
        self.signing_key = source;
        self
    }

    /// Remove (true, the default) or keep payloads whose signature does not verify.
    pub fn with_delete_invalid_signatures(mut self, on: bool) -> Self {
        self.delete_invalid_signatures = on;
        self
    }

    /// Serve unsigned payloads (false by default).
    pub fn with_allow_unsigned_entries(mut self, on: bool) -> Self {
        self.allow_unsigned_entries = on;
        self
    }

    /// Set the durability.
    pub fn with_durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }

    /// Set the default TTL.
    pub fn with_default_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// Set the group commit's time bound.
    pub fn with_commit_interval(mut self, d: Duration) -> Self {
        self.commit_interval = d;
        self
    }

    /// Set the group commit's row bound.
    pub fn with_commit_max_rows(mut self, n: usize) -> Self {
        self.commit_max_rows = n.max(1);
        self
    }

    /// Set how long catalog maintenance keeps removed data files and old log files.
    pub fn with_maintenance_retention(mut self, retention: Duration) -> Self {
        self.maintenance_retention = retention;
        self
    }

    /// Remove expired entries when the cache is opened.
    pub fn with_cleanup_on_open(mut self, on: bool) -> Self {
        self.cleanup_on_open = on;
        self
    }

    /// Keep small payloads in the small-entry store, or each in a file of its own (see
    /// [`Self::small_entry_store`]).
    pub fn with_small_entry_store(mut self, on: bool) -> Self {
        self.small_entry_store = on;
        self
    }

    /// Make compute-once lookups that miss wait for other processes computing the same key.
    pub fn with_lock_across_processes(mut self, on: bool) -> Self {
        self.lock_across_processes = on;
        self
    }

    /// Set the codec options.
    pub fn with_codec(mut self, codec: CodecOptions) -> Self {
        self.codec = codec;
        self
    }
}

/// The default local state directory of the cache at object store URL `url`:
/// `$CACHENESS_LOCAL_STATE`, else `$XDG_CACHE_HOME` (or `~/.cache`)`/cacheness/hosts/<hash>`.
fn default_local_state(url: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("CACHENESS_LOCAL_STATE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    let hash = xxhash_rust::xxh3::xxh3_64(url.as_bytes());
    base.join("cacheness")
        .join("hosts")
        .join(format!("{hash:016x}"))
}

/// The settings `cacheness.toml` may not hold: whoever can write the cache directory could
/// otherwise point the key at one they know, or turn checks off.
pub const SECURITY_SETTINGS: [&str; 3] = [
    "signing_key",
    "delete_invalid_signatures",
    "allow_unsigned_entries",
];

/// The source name of settings from the environment (in errors).
pub const ENVIRONMENT: &str = "environment";

/// The prefix of every variable.
const ENV_PREFIX: &str = "CACHENESS_";

/// The variable that sets `setting`.
pub fn env_var(setting: &str) -> String {
    format!("{ENV_PREFIX}{}", setting.to_ascii_uppercase())
}

/// The settings and how each is written: the [`CacheConfig`] fields a layer can state, as the
/// builder's configuration serializes them (so a field added to `CacheConfig` is a setting at
/// once, in the file and in the environment).
fn settings_of(config: &CacheConfig) -> Result<toml::Table> {
    toml::Table::try_from(config).map_err(|e| Error::Config {
        source_name: "CacheConfig".into(),
        reason: format!("cannot be written as settings: {e}"),
    })
}

/// The names of the settings, as `cacheness.toml` spells them.
pub fn setting_names() -> Vec<String> {
    settings_of(&CacheConfig::new("settings"))
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

/// The environment variables read: `CACHENESS_` and each setting's name upper-cased.
pub fn env_vars() -> Vec<String> {
    setting_names().iter().map(|s| env_var(s)).collect()
}

/// An environment variable's text as the value of a setting whose value in the builder's
/// configuration is `like`: a boolean as `true`/`false`, `1`/`0`, `yes`/`no` or `on`/`off`,
/// a number as a number, anything else as text (a size with a unit, a codec name), for the
/// setting's own reading to accept or refuse.
fn env_value(text: &str, like: &toml::Value, var: &str) -> Result<toml::Value> {
    let t = text.trim();
    Ok(match like {
        toml::Value::Boolean(_) => toml::Value::Boolean(match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => {
                return Err(Error::Config {
                    source_name: ENVIRONMENT.into(),
                    reason: format!("{var}: {t:?} is not true/false, 1/0, yes/no or on/off"),
                });
            }
        }),
        toml::Value::Integer(_) => t
            .parse::<i64>()
            .map_or_else(|_| toml::Value::String(t.into()), toml::Value::Integer),
        toml::Value::Float(_) => t
            .parse::<f64>()
            .map_or_else(|_| toml::Value::String(t.into()), toml::Value::Float),
        _ => toml::Value::String(t.into()),
    })
}

/// One layer of settings: where they come from, and the settings it states.
struct Layer {
    source: String,
    /// Whether it is the environment (an error names the variable, not the setting).
    environment: bool,
    stated: toml::Table,
}

impl Layer {
    fn error(&self, setting: &str, reason: impl std::fmt::Display) -> Error {
        Error::Config {
            source_name: self.source.clone(),
            reason: match self.environment {
                true => format!("{}: {reason}", env_var(setting)),
                false => format!("{setting}: {reason}"),
            },
        }
    }
}

/// `base` with `setting` set to `value`, read back: the setting's own reading decides.
fn with_setting(
    base: &toml::Table,
    setting: &str,
    value: &toml::Value,
) -> std::result::Result<CacheConfig, toml::de::Error> {
    let mut t = base.clone();
    t.insert(setting.to_string(), value.clone());
    CacheConfig::deserialize(toml::Value::Table(t))
}

impl CacheConfig {
    /// Apply `cacheness.toml` from the root (if present), then the `CACHENESS_*` environment.
    pub fn resolve(self) -> Result<Self> {
        let file = self.root.join("cacheness.toml");
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&file, e)),
        };
        let file_name = file.display().to_string();
        self.layered(text.as_deref().map(|t| (file_name.as_str(), t)), |var| {
            std::env::var(var).ok()
        })
    }

    /// The builder's configuration overridden by the settings a file states (`(name, text)`
    /// of a `cacheness.toml`), then by those the environment states (read through `env`).
    /// Only what a layer states overrides; an unknown setting, a security setting in the file,
    /// or a value that does not read is an error naming the file or variable.
    pub fn layered(
        self,
        file: Option<(&str, &str)>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let mut builder = settings_of(&self)?;
        if let cacheness_format::signing::SigningKey::Bytes(_) = self.signing_key {
            // Not written out (`repr::signing_key`): read the layers over a source that
            // parses, and keep the builder's key below unless a layer names another.
            builder.insert("signing_key".into(), toml::Value::String("default".into()));
        }
        let mut layers = Vec::new();
        if let Some((name, text)) = file {
            let stated: toml::Table = toml::from_str(text).map_err(|e| Error::Config {
                source_name: name.to_string(),
                reason: e.to_string(),
            })?;
            let layer = Layer {
                source: name.to_string(),
                environment: false,
                stated,
            };
            for setting in layer.stated.keys() {
                if !builder.contains_key(setting) {
                    return Err(layer.error(setting, "there is no such setting"));
                }
                if SECURITY_SETTINGS.contains(&setting.as_str()) {
                    return Err(layer.error(
                        setting,
                        "is not read from cacheness.toml: whoever can write the cache \
                         directory could change it; set it in code or in the environment \
                         (docs/SECURITY.md)",
                    ));
                }
            }
            layers.push(layer);
        }
        let mut stated = toml::Table::new();
        for (setting, like) in &builder {
            let var = env_var(setting);
            if let Some(text) = env(&var) {
                stated.insert(setting.clone(), env_value(&text, like, &var)?);
            }
        }
        layers.push(Layer {
            source: ENVIRONMENT.into(),
            environment: true,
            stated,
        });
        let mut merged = builder;
        // The configuration read back after the last stated setting: every layer applied.
        let mut last = None;
        for layer in &layers {
            for (setting, value) in &layer.stated {
                let read =
                    with_setting(&merged, setting, value).map_err(|e| layer.error(setting, e))?;
                read.check(setting)
                    .map_err(|reason| layer.error(setting, reason))?;
                merged.insert(setting.clone(), value.clone());
                last = Some(read);
            }
        }
        let Some(mut config) = last else {
            return Ok(self); // no layer states anything: the builder's, exactly
        };
        // What is not a setting stays the builder's: where the cache is, and a signing key
        // given as bytes when no layer names another source.
        let stated_key = layers.iter().any(|l| l.stated.contains_key("signing_key"));
        config.root = self.root;
        config.location = self.location;
        config.storage_options = self.storage_options;
        if !stated_key {
            config.signing_key = self.signing_key;
        }
        Ok(config)
    }

    /// Whether `setting`'s value is in its range; why not.
    fn check(&self, setting: &str) -> std::result::Result<(), cacheness_format::Invalid> {
        match setting {
            "default_ttl_seconds" => effective_ttl(None, self.default_ttl).map(drop),
            "zstd_level" if !(1..=22).contains(&self.codec.zstd_level) => {
                Err(format!("{} is not in 1..=22", self.codec.zstd_level).into())
            }
            "blosc2_level" if self.codec.blosc2_level > 9 => {
                Err(format!("{} is not in 0..=9", self.codec.blosc2_level).into())
            }
            "threads" if !(1..=64).contains(&self.codec.threads) => {
                Err(format!("{} is not in 1..=64", self.codec.threads).into())
            }
            "commit_max_rows" if self.commit_max_rows == 0 => Err("0 is not at least 1".into()),
            "eviction_low_watermark"
                if !(self.eviction_low_watermark > 0.0 && self.eviction_low_watermark <= 1.0) =>
            {
                Err(format!("{} is not in (0, 1]", self.eviction_low_watermark).into())
            }
            "sql_memory_limit_bytes" if self.sql_memory_limit_bytes < MIN_SQL_MEMORY_LIMIT => {
                Err(format!(
                    "{} is below the least a statement needs, {MIN_SQL_MEMORY_LIMIT} (16 MiB)",
                    self.sql_memory_limit_bytes
                )
                .into())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// `cacheness.toml` is read from disk: any text gives settings or an error, never a
        /// panic (the format's decoders are fed arbitrary bytes the same way).
        #[test]
        fn any_text_parses_or_fails_cleanly(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = CacheConfig::new("x").layered(Some(("f", &String::from_utf8_lossy(&b))), |_| None);
        }
    }

    /// The environment of a test: the variables given, nothing else.
    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(v, _)| *v == k)
                .map(|(_, t)| t.to_string())
        }
    }

    fn with(file: &str, vars: &[(&str, &str)]) -> Result<CacheConfig> {
        CacheConfig::new("x").layered(Some(("cacheness.toml", file)), env(vars))
    }

    #[test]
    fn file_then_env_override_the_builder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cacheness.toml"),
            "durability = \"fsync\"\nblosc2_level = 7\n",
        )
        .unwrap();
        let builder = CacheConfig::new(dir.path())
            .with_default_ttl(Some(Duration::from_secs(5)))
            .with_signing_key(cacheness_format::signing::SigningKey::Bytes([7; 32]));
        let c = builder.clone().resolve().unwrap();
        assert_eq!(c.durability, Durability::Fsync);
        assert_eq!(c.codec.blosc2_level, 7);
        assert_eq!(c.default_ttl, Some(Duration::from_secs(5)));
        assert_eq!(c.root, dir.path());
        // A key given as bytes is kept when no layer names another source.
        assert_eq!(
            c.signing_key,
            cacheness_format::signing::SigningKey::Bytes([7; 32])
        );
        let text = std::fs::read_to_string(dir.path().join("cacheness.toml")).unwrap();
        let c = builder
            .layered(
                Some(("f", &text)),
                env(&[
                    ("CACHENESS_BLOSC2_LEVEL", "2"),
                    ("CACHENESS_SIGNING_KEY", "in-memory"),
                ]),
            )
            .unwrap();
        assert_eq!(c.codec.blosc2_level, 2);
        assert_eq!(c.durability, Durability::Fsync);
        assert_eq!(
            c.signing_key,
            cacheness_format::signing::SigningKey::InMemory
        );
    }

    #[test]
    fn sizes_parse_with_units_and_limits_come_from_file_and_env() {
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size("10GiB"), Ok(10 << 30));
        assert_eq!(parse_size(" 500 MB "), Ok(500_000_000));
        assert_eq!(parse_size("1.5kb"), Ok(1500));
        for bad in ["", "ten", "10 parsecs", "-5", "1e3", "1.2.3GB"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
        let c = with(
            "max_size_bytes = \"2 MiB\"\nmax_entries = 100\neviction_low_watermark = 0.5\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.max_size_bytes, Some(2 << 20));
        assert_eq!(c.max_entries, Some(100));
        assert_eq!(c.eviction_low_watermark, 0.5);
        let c = with("max_size_bytes = 4096\n", &[]).unwrap();
        assert_eq!(c.max_size_bytes, Some(4096));
        // The environment overrides, and 0 lifts a limit.
        let c = with(
            "max_size_bytes = 4096\n",
            &[("CACHENESS_MAX_SIZE_BYTES", "0")],
        )
        .unwrap();
        assert_eq!(c.max_size_bytes, None);
        let c = with("", &[("CACHENESS_MAX_SIZE_BYTES", "3GiB")]).unwrap();
        assert_eq!(c.max_size_bytes, Some(3 << 30));
        for (var, value) in [
            ("CACHENESS_MAX_SIZE_BYTES", "lots"),
            ("CACHENESS_EVICTION_LOW_WATERMARK", "1.5"),
            ("CACHENESS_EVICTION_LOW_WATERMARK", "0"),
            ("CACHENESS_MAX_ENTRIES", "-1"),
            ("CACHENESS_SQL_MEMORY_LIMIT_BYTES", "1MiB"),
            ("CACHENESS_ZSTD_LEVEL", "30"),
            ("CACHENESS_DEFAULT_TTL_SECONDS", "99999999999999"),
        ] {
            let err = with("", &[(var, value)]).unwrap_err().to_string();
            assert!(
                err.contains(var) && err.contains("environment"),
                "{var}={value}: {err}"
            );
        }
    }

    /// A sample text of each setting, as the environment gives it, and the value it reads as.
    fn sample(setting: &str) -> (&'static str, toml::Value) {
        use toml::Value::{Boolean, Float, Integer, String as S};
        match setting {
            "durability" => ("fsync", S("fsync".into())),
            "parquet_compression" => ("zstd:3", S("zstd:3".into())),
            "blosc2_codec" => ("zstd", S("zstd".into())),
            "signing_key" => ("env:SOME_KEY", S("env:SOME_KEY".into())),
            "max_size_bytes" | "read_through_max_bytes" | "sql_memory_limit_bytes" => {
                ("1GiB", Integer(1 << 30))
            }
            "eviction_low_watermark" => ("0.5", Float(0.5)),
            "cleanup_on_open" | "lock_across_processes" | "allow_unsigned_entries" => {
                ("on", Boolean(true))
            }
            "delete_invalid_signatures" | "small_entry_store" => ("off", Boolean(false)),
            "blosc2_level" => ("7", Integer(7)),
            _ => ("13", Integer(13)),
        }
    }

    #[test]
    fn every_setting_round_trips_through_each_layer() {
        let names = setting_names();
        assert_eq!(names.len(), 21, "{names:?}");
        assert_eq!(env_vars().len(), names.len());
        assert!(env_vars().contains(&"CACHENESS_LOCK_ACROSS_PROCESSES".to_string()));
        let defaults = settings_of(&CacheConfig::new("x")).unwrap();
        for setting in &names {
            let (text, read) = sample(setting);
            assert_ne!(
                defaults[setting], read,
                "{setting}: the sample is the default"
            );
            let var = env_var(setting);
            let from_env = CacheConfig::new("x")
                .layered(None, env(&[(&var, text)]))
                .unwrap_or_else(|e| panic!("{var}: {e}"));
            assert_eq!(settings_of(&from_env).unwrap()[setting], read, "{var}");
            if SECURITY_SETTINGS.contains(&setting.as_str()) {
                let err = with(&format!("{setting} = {read}"), &[]).unwrap_err();
                assert!(
                    err.to_string().contains("not read from cacheness.toml"),
                    "{err}"
                );
                continue;
            }
            let from_file = with(&format!("{setting} = {read}"), &[])
                .unwrap_or_else(|e| panic!("{setting}: {e}"));
            assert_eq!(settings_of(&from_file).unwrap()[setting], read, "{setting}");
            // The builder's value survives a layer that does not state it.
            let other = if setting == "durability" {
                "threads"
            } else {
                "durability"
            };
            let (other_text, _) = sample(other);
            let kept = from_file
                .clone()
                .layered(None, env(&[(&env_var(other), other_text)]))
                .unwrap();
            assert_eq!(settings_of(&kept).unwrap()[setting], read, "{setting} kept");
        }
    }

    #[test]
    fn builder_values_survive_layers_exactly_and_durations_take_units() {
        let c = CacheConfig::new("x")
            .with_default_ttl(Some(Duration::from_millis(50)))
            .with_commit_interval(Duration::from_micros(1500))
            .layered(Some(("f", "durability = \"fsync\"")), env(&[]))
            .unwrap();
        assert_eq!(c.default_ttl, Some(Duration::from_millis(50)));
        assert_eq!(c.commit_interval, Duration::from_micros(1500));
        let c = with(
            "maintenance_retention_seconds = \"2h\"",
            &[
                ("CACHENESS_DEFAULT_TTL_SECONDS", "7d"),
                ("CACHENESS_COMMIT_INTERVAL_MS", "2s"),
            ],
        )
        .unwrap();
        assert_eq!(c.maintenance_retention, Duration::from_secs(7200));
        assert_eq!(c.default_ttl, Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(c.commit_interval, Duration::from_secs(2));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        for bad in ["", "7", "7 fortnights", "-1s", "1e3s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_settings_name_their_source() {
        let err = with("durabilty = 1", &[]).unwrap_err().to_string();
        assert!(
            err.contains("cacheness.toml") && err.contains("durabilty"),
            "{err}"
        );
        let err = with("root = \"/etc\"", &[]).unwrap_err().to_string();
        assert!(
            err.contains("root") && err.contains("no such setting"),
            "{err}"
        );
        let err = with("threads = \"many\"", &[]).unwrap_err().to_string();
        assert!(
            err.contains("cacheness.toml") && err.contains("threads"),
            "{err}"
        );
        let err = with("", &[("CACHENESS_THREADS", "many")]).unwrap_err();
        assert!(err.to_string().contains("CACHENESS_THREADS"), "{err}");
        let err = with("", &[("CACHENESS_CLEANUP_ON_OPEN", "maybe")]).unwrap_err();
        assert!(
            err.to_string().contains("CACHENESS_CLEANUP_ON_OPEN"),
            "{err}"
        );
        for on in ["1", "true", "YES", "on"] {
            assert!(
                with("", &[("CACHENESS_CLEANUP_ON_OPEN", on)])
                    .unwrap()
                    .cleanup_on_open
            );
        }
        let c = with("", &[("CACHENESS_LOCK_ACROSS_PROCESSES", "true")]).unwrap();
        assert!(c.lock_across_processes);
        assert!(!CacheConfig::new("x").lock_across_processes);
        assert!(
            with("lock_across_processes = true", &[])
                .unwrap()
                .lock_across_processes
        );
        let err = with("", &[("CACHENESS_DURABILITY", "sometimes")]).unwrap_err();
        assert!(err.to_string().contains("sometimes"), "{err}");
        let err = with("parquet_compression = \"zstd:99\"", &[]).unwrap_err();
        assert!(err.to_string().contains("zstd:99"), "{err}");
        // Variables that are not settings are not read.
        assert!(with("", &[("CACHENESS_NOT_A_SETTING", "x")]).is_ok());
    }
}
