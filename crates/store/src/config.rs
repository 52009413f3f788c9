//! Cache configuration: the [`CacheConfig`] builder, then `cacheness.toml` in the cache root,
//! then `CACHENESS_*` environment variables, each overriding the one before (see
//! `docs/CONFIGURATION.md`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use cacheness_format::codec::{Blosc2Codec, CodecOptions, ParquetCompression};

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

/// A size as written in settings: bytes, or a number with a unit (`KB`, `MB`, `GB`, `TB` in
/// powers of 1000; `KiB`, `MiB`, `GiB`, `TiB` in powers of 1024; `B`), case-insensitive,
/// e.g. `10GiB`, `500 MB`, `1.5GB`.
pub fn parse_size(text: &str) -> std::result::Result<u64, cacheness_format::Invalid> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let bad = || {
        format!(
            "{text:?} is not a size (bytes, or a number with B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"
        )
    };
    let n: f64 = number.parse().map_err(|_| bad())?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "mb" | "m" => 1_000_000,
        "gb" | "g" => 1_000_000_000,
        "tb" | "t" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return Err(bad().into()),
    };
    let bytes = (n * scale as f64).round();
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(bad().into());
    }
    Ok(bytes as u64)
}

/// A size setting in `cacheness.toml`: an integer (bytes) or a string with a unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SizeSetting {
    /// Bytes.
    Bytes(u64),
    /// A number with a unit ([`parse_size`]).
    Text(String),
}

impl SizeSetting {
    fn bytes(&self) -> std::result::Result<u64, cacheness_format::Invalid> {
        match self {
            SizeSetting::Bytes(b) => Ok(*b),
            SizeSetting::Text(t) => parse_size(t),
        }
    }
}

/// Whether writes are fsync'd before a put returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Leave flushing to the OS: survives a crash of the process, not of the machine.
    #[default]
    Buffered,
    /// fsync payloads, their directory and each journal record: survives power loss.
    Fsync,
}

/// How a cache is opened. Build with [`CacheConfig::new`] and the `with_*` methods.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// The cache root directory. For a cache on an object store ([`Self::location`]) this is
    /// the host's local state directory instead: journals, usage counters, lock files, the
    /// stat cache (`docs/SCALE.md`).
    pub root: PathBuf,
    /// The object store URL the cache lives at (`s3://bucket/prefix`, `gs://…`, `az://…`);
    /// `None` for a cache in the local directory [`Self::root`].
    pub location: Option<String>,
    /// Object store settings (credentials, endpoint, region: the keys `object_store` takes,
    /// such as `aws_endpoint` or `aws_allow_http`); they override the environment's.
    pub storage_options: std::collections::HashMap<String, String>,
    /// For a cache on an object store: keep copies of hot payloads in
    /// `<local state>/read-through`, at most this many bytes, revalidated on every get with
    /// one conditional request (`docs/SCALE.md`). `None`: off.
    pub read_through_max_bytes: Option<u64>,
    /// The memory a SQL statement may use: DataFusion's operators (joins, sorts,
    /// aggregates) and the answer it collects together (`docs/SQL.md`).
    pub sql_memory_limit_bytes: u64,
    /// Write durability.
    pub durability: Durability,
    /// TTL for entries put without one; `None` (or zero) means entries never expire.
    pub default_ttl: Option<Duration>,
    /// The group commit's time bound.
    pub commit_interval: Duration,
    /// The group commit's row bound.
    pub commit_max_rows: usize,
    /// Codec settings.
    pub codec: CodecOptions,
    /// How long catalog maintenance keeps data files removed from the catalog and old log
    /// files: reading the catalog as of an older version may fail (`docs/RELIABILITY.md`).
    pub maintenance_retention: Duration,
    /// Remove expired entries when the cache is opened (reads the catalog: milliseconds at
    /// 10,000 entries, more at millions; off by default, since gets treat expired entries as
    /// misses anyway).
    pub cleanup_on_open: bool,
    /// Where the signing key comes from (`docs/SECURITY.md`).
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
    pub max_size_bytes: Option<u64>,
    /// The most entries the cache keeps (evicted like the size limit). `None`: no limit.
    pub max_entries: Option<u64>,
    /// The fraction of each limit an eviction pass evicts down to (in `(0, 1]`; 0.8).
    pub eviction_low_watermark: f64,
    /// Compute-once lookups (`get_or_insert_with`, `#[cached]`) that miss take a per-key lock
    /// file, so processes wait for the first one's result instead of computing it too
    /// (`docs/FUNCTIONS.md`). Off by default: it costs two file operations per miss.
    pub lock_across_processes: bool,
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

    /// Apply `cacheness.toml` from the root (if present), then the environment.
    pub fn resolve(mut self) -> Result<Self> {
        let file = self.root.join("cacheness.toml");
        if let Some(settings) = Settings::from_file(&file)? {
            settings.apply(&mut self, &file.display().to_string())?;
        }
        Settings::from_env(|k| std::env::var(k).ok())?.apply(&mut self, ENVIRONMENT)?;
        Ok(self)
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

/// Settings as written in `cacheness.toml` (and, upper-cased with a `CACHENESS_` prefix, in the
/// environment). Every field is optional: only what is set overrides.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `buffered` or `fsync`.
    pub durability: Option<String>,
    /// Default TTL in seconds; 0 means none.
    pub default_ttl_seconds: Option<u64>,
    /// Group commit time bound in milliseconds.
    pub commit_interval_ms: Option<u64>,
    /// Group commit row bound.
    pub commit_max_rows: Option<usize>,
    /// zstd level for objects, bytes and JSON.
    pub zstd_level: Option<i32>,
    /// `none`, `snappy`, `lz4`, `zstd` or `zstd:<level>`.
    pub parquet_compression: Option<String>,
    /// `lz4` or `zstd`.
    pub blosc2_codec: Option<String>,
    /// Blosc2 level 0-9.
    pub blosc2_level: Option<u8>,
    /// Compression threads.
    pub threads: Option<usize>,
    /// Remove expired entries at open (`true`/`false`; in the environment also `1`/`0`).
    pub cleanup_on_open: Option<bool>,
    /// Compute-once misses wait for other processes (`true`/`false`; in the environment also
    /// `1`/`0`).
    pub lock_across_processes: Option<bool>,
    /// Maintenance retention in seconds.
    pub maintenance_retention_seconds: Option<u64>,
    /// The signing key source ([`cacheness_format::signing::SigningKey::parse`]). Environment only.
    pub signing_key: Option<String>,
    /// Remove payloads with invalid signatures. Environment only.
    pub delete_invalid_signatures: Option<bool>,
    /// Serve unsigned payloads. Environment only.
    pub allow_unsigned_entries: Option<bool>,
    /// The size limit: bytes or a size with a unit (`"10GiB"`); 0 means none.
    pub max_size_bytes: Option<SizeSetting>,
    /// The entry limit; 0 means none.
    pub max_entries: Option<u64>,
    /// The read-through layer's bound: bytes or a size with a unit; 0 means off.
    pub read_through_max_bytes: Option<SizeSetting>,
    /// The fraction of a limit eviction evicts down to, in `(0, 1]`.
    pub eviction_low_watermark: Option<f64>,
    /// The memory one SQL statement may use: bytes or a size with a unit.
    pub sql_memory_limit_bytes: Option<SizeSetting>,
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

/// The environment variables read: `CACHENESS_` and each field of [`Settings`] upper-cased,
/// derived from the fields themselves (`crate::env_settings`).
pub fn env_vars() -> Vec<String> {
    crate::env_settings::fields_of::<Settings>()
        .iter()
        .map(|f| crate::env_settings::var_of(f))
        .collect()
}

impl Settings {
    fn from_file(path: &Path) -> Result<Option<Settings>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, e)),
        };
        let settings: Settings = toml::from_str(&text).map_err(|e| Error::Config {
            source_name: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let set = [
            settings.signing_key.is_some(),
            settings.delete_invalid_signatures.is_some(),
            settings.allow_unsigned_entries.is_some(),
        ];
        if let Some((name, _)) = SECURITY_SETTINGS.iter().zip(set).find(|(_, s)| *s) {
            return Err(Error::Config {
                source_name: path.display().to_string(),
                reason: format!(
                    "{name} is not read from cacheness.toml: whoever can write the cache \
                     directory could change it; set it in code or in the environment \
                     (docs/SECURITY.md)"
                ),
            });
        }
        Ok(Some(settings))
    }

    /// Settings from `CACHENESS_*` variables, read through `get`: each field from the variable
    /// named after it ([`env_vars`]).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Settings> {
        crate::env_settings::from_env(get).map_err(|e| Error::Config {
            source_name: ENVIRONMENT.into(),
            reason: e.to_string(),
        })
    }

    /// Override `config` with every setting present here; `source` names where they came from.
    pub fn apply(self, config: &mut CacheConfig, source: &str) -> Result<()> {
        // A setting is named as its source spells it: the field in a file, the variable in
        // the environment.
        let bad = |field: &str, reason: String| Error::Config {
            source_name: source.to_string(),
            reason: match source == ENVIRONMENT {
                true => format!("{}: {reason}", crate::env_settings::var_of(field)),
                false => format!("{field}: {reason}"),
            },
        };
        if let Some(d) = self.durability {
            config.durability = match d.trim() {
                "buffered" => Durability::Buffered,
                "fsync" => Durability::Fsync,
                other => {
                    return Err(bad(
                        "durability",
                        format!("{other:?} is not buffered or fsync"),
                    ));
                }
            };
        }
        if let Some(s) = self.default_ttl_seconds {
            let ttl = Duration::from_secs(s);
            effective_ttl(None, Some(ttl))
                .map_err(|reason| bad("default_ttl_seconds", reason.to_string()))?;
            config.default_ttl = (s > 0).then_some(ttl);
        }
        if let Some(ms) = self.commit_interval_ms {
            config.commit_interval = Duration::from_millis(ms.max(1));
        }
        if let Some(n) = self.commit_max_rows {
            config.commit_max_rows = n.max(1);
        }
        if let Some(l) = self.zstd_level {
            if !(1..=22).contains(&l) {
                return Err(bad("zstd_level", format!("{l} is not in 1..=22")));
            }
            config.codec.zstd_level = l;
        }
        if let Some(c) = self.parquet_compression {
            config.codec.parquet_compression = match c.trim() {
                "none" => ParquetCompression::None,
                "snappy" => ParquetCompression::Snappy,
                "lz4" => ParquetCompression::Lz4,
                "zstd" => ParquetCompression::Zstd(1),
                other => match other
                    .strip_prefix("zstd:")
                    .and_then(|l| l.parse::<i32>().ok())
                {
                    Some(l) if (1..=22).contains(&l) => ParquetCompression::Zstd(l),
                    _ => {
                        return Err(bad(
                            "parquet_compression",
                            format!("{other:?} is not none, snappy, lz4, zstd or zstd:<1-22>"),
                        ));
                    }
                },
            };
        }
        if let Some(c) = self.blosc2_codec {
            config.codec.blosc2_codec = match c.trim() {
                "lz4" => Blosc2Codec::Lz4,
                "zstd" => Blosc2Codec::Zstd,
                other => return Err(bad("blosc2_codec", format!("{other:?} is not lz4 or zstd"))),
            };
        }
        if let Some(l) = self.blosc2_level {
            if l > 9 {
                return Err(bad("blosc2_level", format!("{l} is not in 0..=9")));
            }
            config.codec.blosc2_level = l;
        }
        if let Some(t) = self.threads {
            config.codec.threads = t.clamp(1, 64);
        }
        if let Some(on) = self.cleanup_on_open {
            config.cleanup_on_open = on;
        }
        if let Some(on) = self.lock_across_processes {
            config.lock_across_processes = on;
        }
        if let Some(s) = self.maintenance_retention_seconds {
            config.maintenance_retention = Duration::from_secs(s);
        }
        if let Some(spec) = self.signing_key {
            config.signing_key = cacheness_format::signing::SigningKey::parse(&spec)
                .map_err(|reason| bad("signing_key", reason.to_string()))?;
        }
        if let Some(on) = self.delete_invalid_signatures {
            config.delete_invalid_signatures = on;
        }
        if let Some(on) = self.allow_unsigned_entries {
            config.allow_unsigned_entries = on;
        }
        if let Some(size) = self.max_size_bytes {
            let b = size
                .bytes()
                .map_err(|e| bad("max_size_bytes", e.to_string()))?;
            config.max_size_bytes = (b > 0).then_some(b);
        }
        if let Some(n) = self.max_entries {
            config.max_entries = (n > 0).then_some(n);
        }
        if let Some(size) = self.read_through_max_bytes {
            let b = size
                .bytes()
                .map_err(|e| bad("read_through_max_bytes", e.to_string()))?;
            config.read_through_max_bytes = (b > 0).then_some(b);
        }
        if let Some(w) = self.eviction_low_watermark {
            if !(w > 0.0 && w <= 1.0) {
                return Err(bad(
                    "eviction_low_watermark",
                    format!("{w} is not in (0, 1]"),
                ));
            }
            config.eviction_low_watermark = w;
        }
        if let Some(size) = self.sql_memory_limit_bytes {
            let b = size
                .bytes()
                .map_err(|e| bad("sql_memory_limit_bytes", e.to_string()))?;
            if b < MIN_SQL_MEMORY_LIMIT {
                return Err(bad(
                    "sql_memory_limit_bytes",
                    format!(
                        "{b} is below the least a statement needs, {MIN_SQL_MEMORY_LIMIT} (16 MiB)"
                    ),
                ));
            }
            config.sql_memory_limit_bytes = b;
        }
        Ok(())
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
            let _ = toml::from_str::<Settings>(&String::from_utf8_lossy(&b));
        }
    }

    #[test]
    fn file_then_env_override_the_builder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cacheness.toml"),
            "durability = \"fsync\"\nblosc2_level = 7\n",
        )
        .unwrap();
        let mut c = CacheConfig::new(dir.path()).with_default_ttl(Some(Duration::from_secs(5)));
        let file = Settings::from_file(&dir.path().join("cacheness.toml"))
            .unwrap()
            .unwrap();
        file.apply(&mut c, "file").unwrap();
        assert_eq!(c.durability, Durability::Fsync);
        assert_eq!(c.codec.blosc2_level, 7);
        assert_eq!(c.default_ttl, Some(Duration::from_secs(5)));
        let env = Settings::from_env(|k| (k == "CACHENESS_BLOSC2_LEVEL").then(|| "2".to_string()))
            .unwrap();
        env.apply(&mut c, "env").unwrap();
        assert_eq!(c.codec.blosc2_level, 2);
        assert_eq!(c.durability, Durability::Fsync);
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
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cacheness.toml"),
            "max_size_bytes = \"2 MiB\"\nmax_entries = 100\neviction_low_watermark = 0.5\n",
        )
        .unwrap();
        let c = CacheConfig::new(dir.path()).resolve().unwrap();
        assert_eq!(c.max_size_bytes, Some(2 << 20));
        assert_eq!(c.max_entries, Some(100));
        assert_eq!(c.eviction_low_watermark, 0.5);
        std::fs::write(dir.path().join("cacheness.toml"), "max_size_bytes = 4096\n").unwrap();
        let mut c = CacheConfig::new(dir.path()).resolve().unwrap();
        assert_eq!(c.max_size_bytes, Some(4096));
        // The environment overrides, and 0 lifts a limit.
        Settings::from_env(|k| (k == "CACHENESS_MAX_SIZE_BYTES").then(|| "0".into()))
            .unwrap()
            .apply(&mut c, "env")
            .unwrap();
        assert_eq!(c.max_size_bytes, None);
        for (var, value) in [
            ("CACHENESS_MAX_SIZE_BYTES", "lots"),
            ("CACHENESS_EVICTION_LOW_WATERMARK", "1.5"),
            ("CACHENESS_EVICTION_LOW_WATERMARK", "0"),
            ("CACHENESS_MAX_ENTRIES", "-1"),
        ] {
            let err = Settings::from_env(|k| (k == var).then(|| value.into()))
                .and_then(|s| s.apply(&mut CacheConfig::new("x"), var))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(var) || err.contains(value),
                "{var}={value}: {err}"
            );
        }
    }

    #[test]
    fn every_setting_is_read_from_its_variable_and_from_the_file() {
        // A valid text for each field: a field added without one fails here.
        let sample = |field: &str| match field {
            "durability" => "fsync",
            "parquet_compression" => "zstd:3",
            "blosc2_codec" => "zstd",
            "signing_key" => "env:SOME_KEY",
            "max_size_bytes" | "read_through_max_bytes" | "sql_memory_limit_bytes" => "1GiB",
            "eviction_low_watermark" => "0.5",
            "cleanup_on_open"
            | "lock_across_processes"
            | "delete_invalid_signatures"
            | "allow_unsigned_entries" => "true",
            _ => "3",
        };
        let fields = crate::env_settings::fields_of::<Settings>();
        assert_eq!(fields.len(), env_vars().len());
        assert!(env_vars().contains(&"CACHENESS_LOCK_ACROSS_PROCESSES".to_string()));
        for field in fields {
            let var = crate::env_settings::var_of(field);
            let from_env = Settings::from_env(|k| (k == var).then(|| sample(field).to_string()))
                .unwrap_or_else(|e| panic!("{var}: {e}"));
            let shown = format!("{from_env:?}");
            assert!(shown.contains(&format!("{field}: Some(")), "{var}: {shown}");
            if SECURITY_SETTINGS.contains(field) {
                continue; // never read from the file
            }
            let value = sample(field);
            let toml_value = match value.parse::<f64>() {
                Ok(_) => value.to_string(),
                Err(_) if value == "true" => value.to_string(),
                Err(_) => format!("{value:?}"),
            };
            let from_file: Settings = toml::from_str(&format!("{field} = {toml_value}"))
                .unwrap_or_else(|e| panic!("{field}: {e}"));
            let shown = format!("{from_file:?}");
            assert!(
                shown.contains(&format!("{field}: Some(")),
                "{field}: {shown}"
            );
        }
    }

    #[test]
    fn bad_settings_name_their_source() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cacheness.toml"), "durabilty = 1").unwrap();
        let err = CacheConfig::new(dir.path())
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cacheness.toml") && err.contains("durabilty"),
            "{err}"
        );
        let err =
            Settings::from_env(|k| (k == "CACHENESS_THREADS").then(|| "many".into())).unwrap_err();
        assert!(err.to_string().contains("CACHENESS_THREADS"));
        let err =
            Settings::from_env(|k| (k == "CACHENESS_CLEANUP_ON_OPEN").then(|| "maybe".into()))
                .unwrap_err();
        assert!(
            err.to_string().contains("CACHENESS_CLEANUP_ON_OPEN"),
            "{err}"
        );
        let on =
            Settings::from_env(|k| (k == "CACHENESS_CLEANUP_ON_OPEN").then(|| "1".into())).unwrap();
        let mut c = CacheConfig::new("x");
        on.apply(&mut c, "env").unwrap();
        assert!(c.cleanup_on_open);
        let lock =
            Settings::from_env(|k| (k == "CACHENESS_LOCK_ACROSS_PROCESSES").then(|| "true".into()))
                .unwrap();
        let mut c = CacheConfig::new("x");
        assert!(!c.lock_across_processes);
        lock.apply(&mut c, "env").unwrap();
        assert!(c.lock_across_processes);
        let from_file: Settings = toml::from_str("lock_across_processes = true").unwrap();
        assert_eq!(from_file.lock_across_processes, Some(true));
        let mut c = CacheConfig::new("x");
        let err = Settings {
            durability: Some("sometimes".into()),
            ..Default::default()
        }
        .apply(&mut c, "env");
        assert!(err.unwrap_err().to_string().contains("sometimes"));
    }
}
