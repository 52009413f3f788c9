//! The synchronous core shared by the async [`crate::Cache`] and [`crate::blocking::Cache`].
//!
//! Write path: derive the key, encode, seal (content hash) and sign the payload, write it
//! atomically, journal the catalog row (the group commit takes it to Delta later). Read path:
//! derive the key, read the payload at the path the key names, check its signature, then its
//! own metadata (key, parameters, expiry, type), and decode. No read touches the Delta table.

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use cacheness_catalog::{Catalog, CatalogOp, CatalogRow, ColumnValue, CommitPolicy};
use chrono::{DateTime, Utc};

use crate::access::AccessLog;
use crate::config::CacheConfig;
use crate::error::{Error, Result};
use crate::ranged::{Opened, PayloadData, RangedPayload};
use crate::sealing_write;
use crate::stats::{CacheStats, Counters, RemovalReason, ReportInputs};
use crate::store::BlobStore;
use cacheness_format::Error as FormatError;
use cacheness_format::codec::array::{self, Element, MappedArray, Slice};
use cacheness_format::codec::{
    BINDING_INFO, Cacheable, CheckedFrame, DataType, EncodeCtx, EntryMeta, Format,
};
use cacheness_format::keys::{CacheKey, Params, hex};
use cacheness_format::seal;
use cacheness_format::signing::{Record, Signer, SigningKey, Unverified};
use ndarray::ArrayD;

/// Options of one put.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// A description stored with the entry.
    pub description: Option<String>,
    /// Time to live; `None` uses the cache's default TTL, zero means the entry never expires
    /// (whatever the default), and more than [`crate::config::MAX_TTL`] is an error
    /// (`docs/LIFECYCLE.md`).
    pub ttl: Option<Duration>,
    /// Rows to attach to the entry in custom metadata tables (table name, rows), replacing
    /// the rows the key had there. The put returns once they are committed.
    pub metadata: Vec<(String, deltalake::arrow::array::RecordBatch)>,
    /// A name for the entry (`[a-z_][a-z0-9_]*`, at most 63 characters, not `cache_*`): a
    /// cached table is queryable in SQL as `SELECT * FROM <name>`, the newest live entry of
    /// that name answering. Several entries may share a name.
    pub name: Option<String>,
    /// Facts a language binding records about the value, kept in the payload's metadata
    /// (`info.binding`, [`cacheness_format::codec::BINDING_INFO`]) and given back by gets
    /// that return the metadata: the Python package marks a tuple and a Fortran-order array.
    pub binding: Option<serde_json::Value>,
}

impl PutOptions {
    /// Set the description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// Set the TTL.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Name the entry (see [`PutOptions::name`]).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Attach `rows` (the declared columns of custom metadata table `table`) to the entry.
    pub fn metadata(
        mut self,
        table: impl Into<String>,
        rows: deltalake::arrow::array::RecordBatch,
    ) -> Self {
        self.metadata.push((table.into(), rows));
        self
    }
}

/// What the cache knows about one entry.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EntryInfo {
    /// The entry's key.
    pub cache_key: CacheKey,
    /// What it holds (`arrow_table`, `ndarray`, `object`, `bytes`, `json` in the catalog).
    #[serde(serialize_with = "catalog_name")]
    pub data_type: DataType,
    /// Its payload format (`parquet`, `b2nd`, `cnobj` in the catalog).
    #[serde(serialize_with = "catalog_name")]
    pub format: Format,
    /// Payload path relative to the cache root.
    pub path: String,
    /// Size of the value in memory.
    pub raw_bytes: u64,
    /// Size of the payload file.
    pub stored_bytes: u64,
    /// XXH3-128 of the payload (32 hex digits).
    pub content_hash: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// The user's description.
    pub description: Option<String>,
    /// Its key parameters as JSON (see `Params::to_json`).
    pub params: serde_json::Value,
    /// The name the user gave it, if any.
    pub name: Option<String>,
    /// Its signature (`docs/SECURITY.md`); `None` for an unsigned entry.
    pub signature: Option<String>,
}

fn micros_to_time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

pub(crate) fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

impl EntryInfo {
    /// The fields its signature covers (for tools that check or make signatures).
    pub fn record(&self) -> Record<'_> {
        Record {
            key: &self.cache_key,
            data_type: self.data_type.as_str(),
            format: self.format.as_str(),
            raw_bytes: self.raw_bytes,
            stored_bytes: self.stored_bytes,
            content_hash: &self.content_hash,
            created_at: self.created_at.timestamp_micros(),
            expires_at: self.expires_at.map(|t| t.timestamp_micros()),
            description: self.description.as_deref(),
            name: self.name.as_deref(),
        }
    }

    /// The entry a catalog row describes; `None` for a row whose key is malformed or whose
    /// data type or format this version does not know (`verify` reports such rows; no get
    /// could read their payload).
    fn from_row(row: CatalogRow) -> Option<Self> {
        let (Ok(cache_key), Some(data_type), Some(format)) = (
            CacheKey::parse(&row.cache_key),
            DataType::from_name(&row.data_type),
            Format::from_name(&row.format),
        ) else {
            tracing::warn!(
                key = %row.cache_key,
                data_type = %row.data_type,
                format = %row.format,
                "catalog row of a malformed key or an unknown data type or format left out of \
                 the listing"
            );
            return None;
        };
        Some(EntryInfo {
            params: serde_json::from_str(&row.params_json).unwrap_or(serde_json::Value::Null),
            cache_key,
            data_type,
            format,
            path: row.path,
            raw_bytes: row.raw_bytes.max(0) as u64,
            stored_bytes: row.stored_bytes.max(0) as u64,
            content_hash: row.content_hash,
            created_at: micros_to_time(row.created_at),
            expires_at: row.expires_at.map(micros_to_time),
            description: row.description,
            name: row.name,
            signature: row.signature,
        })
    }

    fn from_loaded(loaded: &Loaded, params: &Params) -> Result<Self> {
        let (meta, format, hash) = (&loaded.meta, loaded.format, &loaded.hash);
        let stored = loaded.stored_bytes;
        Ok(EntryInfo {
            cache_key: CacheKey::parse(&meta.key)?,
            data_type: meta.data_type,
            format,
            path: BlobStore::rel_path(&meta.key, format),
            raw_bytes: meta.raw_bytes,
            stored_bytes: stored,
            content_hash: hash.to_string(),
            created_at: micros_to_time(meta.created_at),
            expires_at: meta.expires_at.map(micros_to_time),
            description: meta.description.clone(),
            params: params.to_json(),
            name: meta.name.clone(),
            signature: loaded.signature.as_ref().map(|s| s.text()),
        })
    }
}

/// How a lookup names its entry: by parameters (checked against the stored ones) or by key.
#[derive(Debug, Clone)]
pub struct Lookup {
    key: CacheKey,
    /// The canonical parameters, when looked up by parameters (checked against the payload).
    canonical: Option<Vec<u8>>,
}

impl Lookup {
    /// Look up by parameters.
    pub fn params(p: &Params) -> Result<Self> {
        let canonical = p.canonical()?;
        Ok(Lookup {
            key: CacheKey::of_canonical(&canonical),
            canonical: Some(canonical),
        })
    }

    /// The key this lookup names.
    pub fn cache_key(&self) -> &CacheKey {
        &self.key
    }

    /// Look up by a key given as text (a catalog row's, a file name's): an
    /// [`FormatError::InvalidKey`] unless it is 16 lower-case hex digits.
    pub fn parse_key(text: &str) -> Result<Self> {
        Ok(Lookup::key(&CacheKey::parse(text)?))
    }

    /// Look up by key.
    pub fn key(key: &CacheKey) -> Self {
        Lookup {
            key: key.clone(),
            canonical: None,
        }
    }
}

/// What a call names an entry by: its parameters (`&Params`) or its key (`&CacheKey`,
/// `CacheKey`). Every API call about one entry takes `impl IntoLookup`, so there is one
/// method for both (`cache.get(&params)`, `cache.get(&key)`).
pub trait IntoLookup {
    /// The lookup; parameters that cannot be keyed are an error here.
    fn into_lookup(self) -> Result<Lookup>;
}

impl IntoLookup for &Params {
    fn into_lookup(self) -> Result<Lookup> {
        Lookup::params(self)
    }
}

impl IntoLookup for &CacheKey {
    fn into_lookup(self) -> Result<Lookup> {
        Ok(Lookup::key(self))
    }
}

impl IntoLookup for CacheKey {
    fn into_lookup(self) -> Result<Lookup> {
        Ok(Lookup {
            key: self,
            canonical: None,
        })
    }
}

/// Why [`Inspector::inspect`] refused a payload.
pub(crate) enum Rejection {
    /// It failed a check (the reason); it must not be served.
    Corrupt(String),
    /// Its bytes are intact (they match their content hash) but its signature does not verify:
    /// altered and re-hashed, signed with another key, or unsigned. Never served.
    Unsigned(Unverified),
    /// It is another entry's valid payload (a 64-bit key collision on a lookup by parameters).
    Collision,
}

/// What a payload's metadata states: the entry's metadata and the content hash it claims.
pub(crate) struct Stated {
    pub meta: EntryMeta,
    pub hash: String,
    /// The payload file's size.
    pub file_len: u64,
}

/// A payload that passed every check.
pub(crate) struct Loaded {
    pub bytes: Bytes,
    pub meta: EntryMeta,
    /// The canonical parameter encoding stored in the payload.
    pub canonical: Vec<u8>,
    pub format: Format,
    pub hash: String,
    /// The payload file's size (`bytes` may hold only its first bytes: a streamed read).
    pub stored_bytes: u64,
    /// The signature (`None`: an unsigned payload, served only when allowed).
    pub signature: Option<cacheness_format::signing::Signature>,
}

impl Loaded {
    /// Whether the entry's expiry has passed at `now` (µs since the epoch).
    pub(crate) fn expired(&self, now: i64) -> bool {
        self.meta.expires_at.is_some_and(|e| e <= now)
    }

    /// The stored parameters (decoded on demand: a get by parameters never needs them).
    pub(crate) fn params(&self) -> Result<Params> {
        Ok(Params::from_canonical(&self.canonical)?)
    }

    /// The catalog row its own metadata gives.
    pub(crate) fn row(&self) -> Result<CatalogRow> {
        Ok(catalog_row(
            &self.meta,
            &self.params()?,
            self.format,
            self.meta.raw_bytes,
            self.stored_bytes,
            self.hash.clone(),
            self.signature.as_ref().map(|s| s.text()),
        ))
    }

    pub(crate) fn info(&self) -> Result<EntryInfo> {
        EntryInfo::from_loaded(self, &self.params()?)
    }

    /// The fields its signature covers.
    fn record(&self) -> Record<'_> {
        Record {
            key: &self.meta.key,
            data_type: self.meta.data_type.as_str(),
            format: self.format.as_str(),
            raw_bytes: self.meta.raw_bytes,
            stored_bytes: self.stored_bytes,
            content_hash: &self.hash,
            created_at: self.meta.created_at,
            expires_at: self.meta.expires_at,
            description: self.meta.description.as_deref(),
            name: self.meta.name.as_deref(),
        }
    }
}

/// The state of one open cache.
pub struct CacheCore {
    config: CacheConfig,
    /// Where the shared files live: the root directory, or the object store prefix.
    shared: cacheness_storage::Location,
    store: BlobStore,
    catalog: Catalog,
    signer: Signer,
    counters: Counters,
    /// Gets not yet recorded in payload times; only kept when a limit is set.
    access: Option<AccessLog>,
    /// Hashes content-hashed key parameters; its stat cache is kept under the root.
    hasher: cacheness_format::keys::ContentHasher,
    closed: AtomicBool,
}

impl std::fmt::Debug for CacheCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheCore")
            .field("root", &self.config.root)
            .finish()
    }
}

/// Refuse a cache root that cannot be one, before anything is written: a path that is not
/// UTF-8 (the catalog addresses its files by URL) or an existing file that is not a directory.
fn check_root(root: &Path) -> Result<()> {
    if root.to_str().is_none() {
        return Err(Error::Config {
            source_name: format!("cache directory {}", root.display()),
            reason: "the path is not valid UTF-8, which the catalog's file URLs need".into(),
        });
    }
    match std::fs::metadata(root) {
        Ok(m) if !m.is_dir() => Err(Error::io(
            root,
            std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "the cache directory exists and is not a directory",
            ),
        )),
        _ => Ok(()),
    }
}

/// A missing key file is created only in a cache without entries: over signed entries, a new
/// key would make every one of them fail its check, and the first get of each would remove it
/// while saying only "not found". So name what happened and what to do instead.
fn refuse_new_key_over_entries(source: &SigningKey, root: &Path) -> Result<()> {
    let Some(file) = source.file(root) else {
        return Ok(());
    };
    if file.exists() {
        return Ok(());
    }
    let Some(entry) = BlobStore::first_payload(root) else {
        return Ok(());
    };
    Err(FormatError::SigningKey {
        source_name: file.display().to_string(),
        reason: format!(
            "the key file is missing, but the cache holds entries signed with it (such as {}). \
             A new key would make every entry fail its check and be removed. Restore the key \
             file from a backup (or give the key with CACHENESS_SIGNING_KEY); to discard the \
             entries instead, delete {}, {} and {}",
            entry,
            root.join("blobs").display(),
            root.join(crate::small_store::DIR).display(),
            root.join("catalog").display(),
        ),
    }
    .into())
}

impl CacheCore {
    /// Open (creating if needed) the cache described by `config` (after resolving the config
    /// file and environment).
    pub fn open(config: CacheConfig) -> Result<Self> {
        let root = &config.root;
        crate::forked::refuse_after_fork(root)?;
        check_root(root)?;
        std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
        let root = std::path::absolute(root).map_err(|e| Error::io(root, e))?;
        let config = CacheConfig { root, ..config }.resolve()?;
        let remote = match &config.location {
            Some(url) => Some(cacheness_storage::Location::parse(
                url,
                &config.storage_options,
            )?),
            None => None,
        };
        let shared = remote
            .clone()
            .unwrap_or_else(|| cacheness_storage::Location::Local(config.root.clone()));
        let (signer, store, shared_catalog) = match remote.as_ref().and_then(|l| l.remote()) {
            Some(r) => (
                match config.signing_key {
                    SigningKey::Default => {
                        Signer::from_key(&crate::remote_blobs::shared_signing_key(r)?)
                    }
                    ref other => Signer::load(other, &config.root)?,
                },
                BlobStore::open_remote(
                    &config.root,
                    config.durability,
                    r.clone(),
                    config.read_through_max_bytes,
                )?,
                cacheness_storage::Location::Remote(r.clone()).join("catalog"),
            ),
            None => (
                {
                    refuse_new_key_over_entries(&config.signing_key, &config.root)?;
                    Signer::load(&config.signing_key, &config.root)?
                },
                BlobStore::open(&config.root, config.durability, config.small_entry_store)?,
                cacheness_storage::Location::Local(config.root.join("catalog")),
            ),
        };
        let catalog = Catalog::open(
            cacheness_catalog::CatalogPlace {
                shared: shared_catalog,
                local: config.root.join("catalog"),
            },
            CommitPolicy {
                interval: config.commit_interval,
                max_rows: config.commit_max_rows,
                fsync: config.durability == crate::config::Durability::Fsync,
                retention: config.maintenance_retention,
                // On an object store a commit does not look for each row's payload (a
                // request per row); docs/SCALE.md.
                payloads: match store.is_remote() {
                    true => None,
                    false => Some(std::sync::Arc::new(
                        crate::payload_probe::DiskPayloads::open(
                            &config.root,
                            store.small().cloned(),
                            signer.clone(),
                            config.allow_unsigned_entries,
                        )?,
                    )),
                },
            },
        )?;
        let access = config
            .has_limits()
            .then(|| AccessLog::new(config.root.clone(), store.small().cloned()));
        let hasher = cacheness_format::keys::ContentHasher::persistent(
            config
                .root
                .join(cacheness_format::keys::content::STAT_CACHE_FILE),
            signer.clone(),
        );
        let core = CacheCore {
            config,
            shared,
            store,
            catalog,
            signer,
            counters: Counters::default(),
            access,
            hasher,
            closed: AtomicBool::new(false),
        };
        if core.config.cleanup_on_open {
            core.cleanup_expired_rows(&core.catalog.sizes_blocking()?)?;
        }
        Ok(core)
    }

    /// The hasher of content-hashed key parameters (its stat cache is `<root>/stat-cache.v1`).
    pub fn content_hasher(&self) -> &cacheness_format::keys::ContentHasher {
        &self.hasher
    }

    /// The payload files.
    pub(crate) fn store(&self) -> &BlobStore {
        &self.store
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.config.root
    }

    /// The resolved configuration.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The signer (the cache's signing key).
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// An error if the cache was closed.
    pub fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed {
                root: self.config.root.clone(),
            });
        }
        Ok(())
    }

    /// Store a value; returns its key.
    pub fn put<T: Cacheable>(
        &self,
        value: &T,
        params: &Params,
        opts: &PutOptions,
    ) -> Result<CacheKey> {
        let meta = self.new_meta(params, opts, T::DATA_TYPE)?;
        let key = meta.key.clone();
        let mut encoded = value.encode(&EncodeCtx {
            meta: &meta,
            options: &self.config.codec,
            mappable: !self.store.is_remote(),
        })?;
        let format = T::DATA_TYPE.format();
        let at = format.slot_at();
        let stored = encoded.bytes.len();
        // The signature covers the fields of the entry's catalog row.
        let row = |hash| {
            catalog_row(
                &meta,
                params,
                format,
                encoded.raw_bytes,
                stored as u64,
                hash,
                None,
            )
        };
        let no_slots = || FormatError::Encode {
            key: key.clone(),
            what: format!("{} payload", format.as_str()),
            reason: "the encoded file has no hash and signature slots".into(),
        };
        if !self.store.is_remote() && sealing_write::writes_sealing(stored, at) {
            // A large payload on disk: sealed and signed as it is written (one pass).
            let mut draft = self.store.draft(&key, format)?;
            let path = draft.path().to_path_buf();
            let row = sealing_write::write_sealing(
                &mut encoded.bytes,
                draft.file(),
                &path,
                &self.signer,
                row,
            )?;
            let replaces = draft.place()?;
            return self.journal_put(row, format, replaces);
        }
        let row = self
            .seal_and_sign_in_memory(&mut encoded.bytes, at, row)
            .ok_or_else(no_slots)?;
        // Write first: a put that fails (a full disk) leaves the key's previous entry, in any
        // format, as it was.
        let outboard = match self.store.is_remote() {
            true => self.signer.outboard(&encoded.bytes, at),
            false => None,
        };
        let replaces = self
            .store
            .put_payload(&key, format, &encoded.bytes, outboard)?;
        self.journal_put(row, format, replaces)
    }

    /// Seal and sign a payload held in memory whose slots hold their placeholders: fill its
    /// hash slot, then its signature slot for the catalog row that `row` makes from the
    /// content hash. Returns the row with its signature, or `None` if a slot is missing.
    pub(crate) fn seal_and_sign_in_memory(
        &self,
        buf: &mut [u8],
        at: cacheness_format::seal::SlotAt,
        row: impl FnOnce(String) -> CatalogRow,
    ) -> Option<CatalogRow> {
        let mut row = row(seal::seal(buf, at)?);
        row.signature = Some(self.signer.sign(buf, at, &row.record())?);
        Some(row)
    }

    /// The metadata of a new entry of `data_type` under `params`: its key, times (the TTL
    /// checked), description and name. Fails if the cache is closed.
    pub(crate) fn new_meta(
        &self,
        params: &Params,
        opts: &PutOptions,
        data_type: DataType,
    ) -> Result<EntryMeta> {
        self.check_open()?;
        let canonical = params.canonical()?;
        let key = CacheKey::of_canonical(&canonical);
        if let Some(name) = &opts.name {
            self.check_entry_name(name)?;
        }
        let created_at = now_micros();
        let expires_at = crate::config::effective_ttl(opts.ttl, self.config.default_ttl)
            .map_err(|reason| Error::InvalidTtl {
                key: key.to_string(),
                reason: reason.to_string(),
            })?
            .map(|t| created_at.saturating_add(t.as_micros() as i64));
        Ok(EntryMeta {
            v: 1,
            key: key.to_string(),
            params: hex(&canonical),
            data_type,
            created_at,
            expires_at,
            description: opts.description.clone(),
            raw_bytes: 0,
            info: match &opts.binding {
                Some(facts) => serde_json::json!({ BINDING_INFO: facts }),
                None => serde_json::Value::Null,
            },
            name: opts.name.clone(),
        })
    }

    /// Journal the catalog row of a payload just stored (in `format`; `replaces` if it
    /// replaced one) and run an eviction pass if a limit is passed; returns the key.
    pub(crate) fn journal_put(
        &self,
        row: CatalogRow,
        format: Format,
        replaces: bool,
    ) -> Result<CacheKey> {
        let key = CacheKey::parse(&row.cache_key)?;
        // The row is the other half of the entry. If it cannot be journaled (a full disk),
        // the payload goes again, so that nothing is served that the catalog cannot list and
        // the put's error tells the truth: the key holds no value (docs/RELIABILITY.md).
        if let Err(source) = self.catalog.submit(CatalogOp::Put {
            row: Box::new(row),
            replaces,
        }) {
            if let Err(e) = self.store.remove(&key, format) {
                tracing::warn!(key = %key, "cannot remove the payload of an undone put: {e}");
            }
            return Err(Error::PutUndone {
                key: key.to_string(),
                source,
            });
        }
        // The entry is stored: a pass that fails (an unreadable shard, say) is reported, not
        // turned into a failed put that the caller would retry. `evict()` returns its error.
        if crate::eviction::needed(self)
            && let Err(e) = crate::eviction::run(self, Some(&key))
        {
            tracing::warn!(key = %key, "eviction pass after a put failed: {e}");
        }
        Ok(key)
    }

    /// Run an eviction pass now, whether or not a limit is passed (`crate::eviction`): it
    /// recalibrates the usage counters and evicts down to the low watermark of any limit
    /// passed. Skipped if another process is running one.
    pub fn evict(&self) -> Result<crate::eviction::EvictionReport> {
        self.check_open()?;
        crate::eviction::run(self, None)
    }

    /// Write the pending access times to the payload files (`crate::access`).
    pub(crate) fn flush_accesses(&self) {
        if let Some(a) = &self.access {
            a.flush();
        }
    }

    /// An entry name must be a valid SQL table name that no custom metadata table has (the
    /// metadata table would shadow it in SQL).
    fn check_entry_name(&self, name: &str) -> Result<()> {
        cacheness_catalog::names::validate_name(name)?;
        let tables = self.catalog.metadata_tables();
        if cacheness_storage::wait(tables.names())?
            .iter()
            .any(|t| t == name)
        {
            return Err(cacheness_catalog::CatalogError::InvalidName {
                name: name.to_string(),
                reason: "a custom metadata table has this name".into(),
            }
            .into());
        }
        Ok(())
    }

    /// Remove an entry's payload and catalog row; counts the reason.
    pub(crate) fn remove(&self, key: &str, format: Format, reason: RemovalReason) -> Result<bool> {
        let removed = self.store.remove(key, format)?;
        if removed {
            self.counters.removed(reason);
            self.catalog.submit(CatalogOp::Delete {
                cache_key: key.to_string(),
            })?;
        }
        Ok(removed)
    }

    /// Find and check the payload of a lookup. `want` is the data type the caller asks for:
    /// its format is read; if only another format exists, that is a type error.
    pub(crate) fn load(&self, lookup: &Lookup, want: Option<DataType>) -> Result<Option<Loaded>> {
        self.check_open()?;
        let formats: Vec<Format> = match want {
            Some(dt) => std::iter::once(dt.format())
                .chain(Format::ALL.into_iter().filter(|f| *f != dt.format()))
                .collect(),
            None => Format::ALL.to_vec(),
        };
        if let Some((i, format, bytes)) = self.store.read_first(&lookup.key, &formats)? {
            let Some(loaded) = self.check(lookup, format, bytes)? else {
                return Ok(None);
            };
            if let Some(dt) = want
                && (i > 0 || loaded.meta.data_type != dt)
            {
                return Err(FormatError::WrongType {
                    key: lookup.key.to_string(),
                    stored: loaded.meta.data_type.as_str().to_string(),
                    requested: dt.as_str().to_string(),
                }
                .into());
            }
            return Ok(Some(loaded));
        }
        Ok(None)
    }

    /// Check a payload against its lookup. Failures remove it (corrupt, expired) or leave it
    /// (collision: it is another entry's valid payload) and give `None`.
    fn check(&self, lookup: &Lookup, format: Format, bytes: Bytes) -> Result<Option<Loaded>> {
        let judged = self.inspector().inspect(lookup, format, bytes);
        // A local read-through copy that fails is dropped and the object read again: the
        // bucket's object may be sound, and is judged (and removed if need be) on its own.
        if matches!(judged, Err(Rejection::Corrupt(_) | Rejection::Unsigned(_)))
            && self.store.forget_copy(&lookup.key, format)
        {
            tracing::warn!(key = %lookup.key, "dropped a read-through copy that failed its checks");
            return match self.store.read(&lookup.key, format)? {
                Some(fresh) => {
                    let judged = self.inspector().inspect(lookup, format, fresh);
                    self.judged(lookup, format, judged)
                }
                None => Ok(None),
            };
        }
        self.judged(lookup, format, judged)
    }

    /// Act on the judgement of a payload: remove it (expired, corrupt), count it, or pass it.
    pub(crate) fn judged(
        &self,
        lookup: &Lookup,
        format: Format,
        judged: std::result::Result<Loaded, Rejection>,
    ) -> Result<Option<Loaded>> {
        match judged {
            Ok(loaded) if loaded.expired(now_micros()) => {
                self.remove(&lookup.key, format, RemovalReason::Expired)?;
                Ok(None)
            }
            Ok(loaded) => Ok(Some(loaded)),
            Err(Rejection::Corrupt(reason)) => {
                let path = self.store.describe(&lookup.key, format);
                tracing::warn!(path = %path, "removing corrupt payload: {reason}");
                self.remove(&lookup.key, format, RemovalReason::Corrupt)?;
                Ok(None)
            }
            Err(Rejection::Unsigned(why)) => {
                self.counters
                    .invalid_signatures
                    .fetch_add(1, Ordering::Relaxed);
                let path = self.store.describe(&lookup.key, format);
                if self.config.delete_invalid_signatures {
                    tracing::warn!(path = %path, "removing payload: {why}");
                    self.remove(&lookup.key, format, RemovalReason::InvalidSignature)?;
                } else {
                    tracing::warn!(path = %path, "not serving payload (kept): {why}");
                }
                Ok(None)
            }
            Err(Rejection::Collision) => {
                self.counters.collisions.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(key = %lookup.key, "64-bit key collision: the entry was made from other parameters");
                Ok(None)
            }
        }
    }

    /// The payload checks of this cache ([`Inspector`]).
    pub(crate) fn inspector(&self) -> Inspector<'_> {
        Inspector {
            signer: &self.signer,
            allow_unsigned: self.config.allow_unsigned_entries,
        }
    }

    /// [`Self::load`] for the methods that count as gets: nothing found is a counted miss
    /// (`exists` and `info` do not count).
    fn load_for_get(&self, lookup: &Lookup, want: Option<DataType>) -> Result<Option<Loaded>> {
        let loaded = self.load(lookup, want)?;
        self.count_lookup(lookup, loaded.as_ref());
        Ok(loaded)
    }

    /// Count a get's lookup: a miss, or an access (for LRU eviction).
    pub(crate) fn count_lookup(&self, lookup: &Lookup, loaded: Option<&Loaded>) {
        match (loaded, &self.access) {
            (None, _) => self.counters.miss(),
            (Some(l), Some(access)) => access.record(&lookup.key, l.format),
            (Some(_), None) => {}
        }
    }

    /// Count a hit (a get that served a value).
    pub(crate) fn count_hit(&self) {
        self.counters.hit();
    }

    /// [`Self::load_for_get`] of a value of type `want` that reads its payload in checked
    /// parts where it can (a large payload on an object store, `crate::ranged`). The same
    /// checks as a get, but the payload MAC is checked part by part as parts are read; the
    /// `Loaded` bytes then hold only the parts read so far.
    fn load_parts(
        &self,
        lookup: &Lookup,
        want: DataType,
    ) -> Result<Option<(Loaded, Option<Box<RangedPayload>>)>> {
        self.check_open()?;
        let format = want.format();
        let (loaded, parts) = match self.store.open_ranged(&lookup.key, format, &self.signer)? {
            // Another format, or nothing: the plain load tells which (a miss, a wrong type).
            Opened::Missing => (self.load(lookup, Some(want))?, None),
            Opened::Whole(bytes) => (self.check(lookup, format, bytes)?, None),
            Opened::Ranged(parts, sig) => {
                // The metadata may reach past the first answer's leaves (a footer over
                // 512 KiB): fetch the rest before it is read, or a sound payload would be
                // judged corrupt. If its extent cannot be found, the whole payload is read and
                // judged as a get judges it.
                let meta = format
                    .meta_ranges(&parts.sparse(), &lookup.key)
                    .map_err(Error::from);
                match meta.and_then(|m| parts.prefetch(&m)) {
                    Ok(()) => {
                        let known = Bytes::from(parts.sparse());
                        let judged = self.inspector().inspect_checked(
                            lookup,
                            format,
                            known,
                            Some(sig),
                            None,
                        );
                        (self.judged(lookup, format, judged)?, Some(parts))
                    }
                    Err(e) => {
                        tracing::debug!(key = %lookup.key, "ranged read falls back to whole: {e}");
                        match self.store.read(&lookup.key, format)? {
                            Some(bytes) => (self.check(lookup, format, bytes)?, None),
                            None => (None, None),
                        }
                    }
                }
            }
        };
        self.count_lookup(lookup, loaded.as_ref());
        let Some(loaded) = loaded else {
            return Ok(None);
        };
        if loaded.meta.data_type != want {
            return Err(FormatError::WrongType {
                key: lookup.key.to_string(),
                stored: loaded.meta.data_type.as_str().to_string(),
                requested: want.as_str().to_string(),
            }
            .into());
        }
        Ok(Some((loaded, parts)))
    }

    /// The payload of a value of type `want`, whole or (a large payload on an object store)
    /// in checked parts, with the entry's info: what `cached_table` scans read.
    pub fn payload_parts(
        &self,
        lookup: &Lookup,
        want: DataType,
    ) -> Result<Option<(EntryInfo, PayloadData)>> {
        let Some((loaded, parts)) = self.load_parts(lookup, want)? else {
            return Ok(None);
        };
        self.counters.hit();
        let info = loaded.info()?;
        Ok(Some(match parts {
            Some(p) => (info, PayloadData::Parts(std::sync::Arc::from(p))),
            None => (info, PayloadData::Whole(loaded.bytes)),
        }))
    }

    /// Get part of an array: one range of indices per dimension. Only the Blosc2 chunks the
    /// part touches are decompressed, and on an object store only they are fetched (with the
    /// frame's header, offsets and trailer), each fetched part checked before C reads it.
    pub fn get_array_slice<T: Element>(
        &self,
        lookup: &Lookup,
        ranges: &Slice,
    ) -> Result<Option<ArrayD<T>>> {
        let Some((loaded, parts)) = self.load_parts(lookup, DataType::Ndarray)? else {
            return Ok(None);
        };
        let key = &lookup.key;
        let value = match parts {
            None => array::decode_slice::<T>(&loaded.bytes, &loaded.meta, ranges)?,
            Some(parts) => {
                // The loaded bytes hold the header, offsets and trailer (fetched to read the
                // metadata): all that finding the chunks needs.
                let chunks = array::slice_chunk_ranges(&loaded.bytes, key, ranges)?;
                parts.prefetch(&chunks)?;
                array::decode_slice::<T>(&parts.sparse(), &loaded.meta, ranges)?
            }
        };
        self.counters.hit();
        Ok(Some(value))
    }

    /// Get an array without copying its values where its payload allows: on a local cache an
    /// array stored as is (data that does not compress) is a view of its payload file mapped
    /// into memory, checked first as every get checks a payload (its payload MAC over every
    /// byte); other arrays are decoded as [`Self::get`] decodes them
    /// ([`MappedArray::is_zero_copy`] tells which). The view stays valid, and its values as
    /// they were, if the entry is replaced or removed meanwhile.
    pub fn get_array_mapped<T: Element>(&self, lookup: &Lookup) -> Result<Option<MappedArray<T>>> {
        if let Some(view) = self.view_mapped::<T>(lookup)? {
            self.counters.hit();
            return Ok(Some(view));
        }
        // Anything else (a compressed array, a payload that fails a check, another format, a
        // miss, an object store) is read, judged and decoded as a get does it.
        let want = Some(DataType::Ndarray);
        let Some(loaded) = self.load_for_get(lookup, want)? else {
            return Ok(None);
        };
        let value = MappedArray::from_payload(loaded.bytes, &loaded.meta)?;
        self.counters.hit();
        Ok(Some(value))
    }

    /// The array of `lookup` as a view of its payload file mapped into memory, if the file is
    /// on disk, holds an array stored as is in one chunk, and passes every check
    /// ([`Self::map_as_is`], [`Self::check_as_is`] over the map's own data). `None` for
    /// anything else: the caller reads the payload, and judges a failed one as any get does.
    fn view_mapped<T: Element>(&self, lookup: &Lookup) -> Result<Option<MappedArray<T>>> {
        let Some(MappedAsIs { map, span, own }) = self.map_as_is(lookup, 0)? else {
            return Ok(None);
        };
        let Some(loaded) = self.check_as_is(lookup, own, span.clone(), &map[span.clone()]) else {
            return Ok(None);
        };
        let view = MappedArray::from_mapped(&loaded.bytes, map, span, &loaded.meta)?;
        if view.is_some() {
            self.count_lookup(lookup, Some(&loaded));
        }
        Ok(view)
    }

    /// A get of an array stored as is in one chunk of a payload file on disk, in one copy:
    /// the elements are copied out of the mapped file into the value's own buffer, and the
    /// payload is checked with those bytes in it, so the value holds exactly the bytes checked
    /// and no read buffer or decode pass is needed. `None` for anything else (the ordinary
    /// get follows).
    fn get_copied<T: Cacheable>(&self, lookup: &Lookup) -> Result<Option<T>> {
        // Smaller payloads cost little to read, and most are compressed.
        const COPY_MIN: u64 = 1 << 20;
        let Some(MappedAsIs { map, span, own }) = self.map_as_is(lookup, COPY_MIN)? else {
            return Ok(None);
        };
        let mut own = Some(own);
        let mut checked = None;
        let value = T::from_copied_elements(span.len(), &mut |out| {
            out.copy_from_slice(&map[span.clone()]);
            let loaded = self.check_as_is(lookup, own.take()?, span.clone(), out)?;
            let frame = CheckedFrame {
                frame: loaded.bytes.clone(),
                meta: loaded.meta.clone(),
                span: span.clone(),
            };
            checked = Some(loaded);
            Some(frame)
        })?;
        if value.is_some() {
            self.count_lookup(lookup, checked.as_ref());
        }
        Ok(value)
    }

    /// The `.b2nd` payload of `lookup` mapped into memory, if it is on disk, of `min_len`
    /// bytes or more, and its frame looks like one chunk stored as is: the map, where the
    /// chunk's data would lie (`array::chunk_data_span`, read in Rust from unchecked bytes),
    /// and the cache's own copy of every byte outside it (the frame header, the chunk header,
    /// the offsets and the trailer: all that is parsed), in memory that is zero pages but for
    /// those bytes.
    /// Parsing only the copy, checked with the data beside it ([`Self::check_as_is`]), means a
    /// file rewritten in place cannot change what is parsed.
    fn map_as_is(&self, lookup: &Lookup, min_len: u64) -> Result<Option<MappedAsIs>> {
        self.check_open()?;
        let format = DataType::Ndarray.format();
        let Some(map) = self.store.map(&lookup.key, format, min_len)? else {
            return Ok(None);
        };
        let Some(span) = array::chunk_data_span(&map) else {
            return Ok(None);
        };
        let mut own = vec![0u8; map.len()];
        own[..span.start].copy_from_slice(&map[..span.start]);
        own[span.end..].copy_from_slice(&map[span.end..]);
        Ok(Some(MappedAsIs { map, span, own }))
    }

    /// Check a payload held as the cache's copy `own` of its frame with `data` in `span`:
    /// the payload MAC over exactly those bytes, then the metadata, key, parameters and entry
    /// HMAC read from the copy. The live entry if all pass; `None` otherwise (the ordinary
    /// read path then judges it, and removes and counts a failed one).
    fn check_as_is(
        &self,
        lookup: &Lookup,
        own: Vec<u8>,
        span: Range<usize>,
        data: &[u8],
    ) -> Option<Loaded> {
        let format = DataType::Ndarray.format();
        let pieces = [&own[..span.start], data, &own[span.end..]];
        let signature = self
            .signer
            .check_payload_pieces(&pieces, format.slot_at())
            .ok()?;
        let loaded = self
            .inspector()
            .inspect_checked(lookup, format, Bytes::from(own), Some(signature), None)
            .ok()?;
        let live = !loaded.expired(now_micros()) && loaded.meta.data_type == DataType::Ndarray;
        live.then_some(loaded)
    }

    /// Get a value.
    pub fn get<T: Cacheable>(&self, lookup: &Lookup) -> Result<Option<T>> {
        if T::DATA_TYPE == DataType::Ndarray
            && let Some(value) = self.get_copied::<T>(lookup)?
        {
            self.counters.hit();
            return Ok(Some(value));
        }
        let Some(loaded) = self.load_for_get(lookup, Some(T::DATA_TYPE))? else {
            return Ok(None);
        };
        let value = T::decode(loaded.bytes, &loaded.meta)?;
        self.counters.hit();
        Ok(Some(value))
    }

    /// Get a value and what the cache knows about it.
    pub fn get_with_metadata<T: Cacheable>(
        &self,
        lookup: &Lookup,
    ) -> Result<Option<(T, EntryInfo)>> {
        let Some(loaded) = self.load_for_get(lookup, Some(T::DATA_TYPE))? else {
            return Ok(None);
        };
        let info = loaded.info()?;
        let value = T::decode(loaded.bytes, &loaded.meta)?;
        self.counters.hit();
        Ok(Some((value, info)))
    }

    /// What the cache knows about an entry, without decoding its value.
    pub fn info(&self, lookup: &Lookup) -> Result<Option<EntryInfo>> {
        self.load(lookup, None)?.map(|l| l.info()).transpose()
    }

    /// The checked payload file of an entry and what the cache knows about it (for tools that
    /// hand the payload on in its own format, like `cacheness get`).
    pub fn payload(&self, lookup: &Lookup) -> Result<Option<(EntryInfo, Bytes)>> {
        let Some(loaded) = self.load_for_get(lookup, None)? else {
            return Ok(None);
        };
        self.counters.hit();
        Ok(Some((loaded.info()?, loaded.bytes)))
    }

    /// Whether a live, valid entry exists.
    pub fn exists(&self, lookup: &Lookup) -> Result<bool> {
        Ok(self.load(lookup, None)?.is_some())
    }

    /// Remove an entry; true if there was one.
    pub fn invalidate(&self, lookup: &Lookup) -> Result<bool> {
        self.check_open()?;
        let mut any = false;
        for format in Format::ALL {
            any |= self.remove(&lookup.key, format, RemovalReason::Invalidated)?;
        }
        if !any {
            // No payload, but perhaps a row: a payload deleted outside the cache (by hand, by
            // another tool) leaves its row, which must not outlive an invalidate. A delete of
            // a key without a row changes nothing.
            self.catalog.submit(CatalogOp::Delete {
                cache_key: lookup.key.to_string(),
            })?;
        }
        Ok(any)
    }

    /// Restart an entry's TTL from now (its payload is rewritten with the new times); true if
    /// the entry exists.
    pub fn touch(&self, lookup: &Lookup) -> Result<bool> {
        let Some(loaded) = self.load(lookup, None)? else {
            return Ok(false);
        };
        let ttl = loaded
            .meta
            .expires_at
            .map(|e| Duration::from_micros(e.saturating_sub(loaded.meta.created_at).max(0) as u64));
        let opts = PutOptions {
            description: loaded.meta.description.clone(),
            ttl,
            metadata: Vec::new(),
            name: loaded.meta.name.clone(),
            binding: loaded.meta.info.get(BINDING_INFO).cloned(),
        };
        let params = loaded.params()?;
        let meta = loaded.meta.clone();
        match meta.data_type {
            DataType::Object | DataType::Bytes => {
                let raw = cacheness_format::codec::object::payload(
                    &loaded.bytes,
                    &meta.key,
                    meta.raw_bytes,
                )?;
                self.put_raw_container(&raw, &params, &opts, meta.data_type)?;
            }
            DataType::Json => {
                let v = <serde_json::Value as Cacheable>::decode(loaded.bytes, &meta)?;
                self.put(&v, &params, &opts)?;
            }
            DataType::ArrowTable => {
                let v = <Vec<deltalake::arrow::array::RecordBatch> as Cacheable>::decode(
                    loaded.bytes,
                    &meta,
                )?;
                self.put(&v, &params, &opts)?;
            }
            DataType::Ndarray => retouch_array(self, loaded.bytes, &meta, &params, &opts)?,
        }
        Ok(true)
    }

    /// Re-put a container payload as is (keeps objects' MessagePack bytes without a type).
    fn put_raw_container(
        &self,
        raw: &[u8],
        params: &Params,
        opts: &PutOptions,
        dt: DataType,
    ) -> Result<()> {
        match dt {
            DataType::Bytes => self.put(&raw.to_vec(), params, opts).map(drop),
            _ => self
                .put(
                    &cacheness_format::codec::object::RawObject(raw.to_vec()),
                    params,
                    opts,
                )
                .map(drop),
        }
    }

    /// Run a catalog maintenance pass now (compaction, checkpoint, log cleanup, vacuum;
    /// `cacheness_catalog::maintenance`); skipped if another process is maintaining.
    pub fn maintain(&self) -> Result<cacheness_catalog::maintenance::MaintenanceReport> {
        self.check_open()?;
        Ok(self.catalog.maintain_blocking(true)?)
    }

    /// Remove every expired entry, payload and catalog row; returns how many were removed.
    pub fn cleanup_expired(&self) -> Result<usize> {
        self.check_open()?;
        self.cleanup_expired_rows(&self.catalog.sizes_blocking()?)
    }

    /// [`Self::cleanup_expired`] over catalog rows already read. A row only nominates its
    /// entry: the payload decides (another process may have put the key again since the row
    /// was read), and `load` removes it if it has expired or is corrupt. A row whose payload is
    /// gone (a crash between the unlink and the journal) is deleted. The removals reach Delta
    /// as one group commit, like any other.
    pub(crate) fn cleanup_expired_rows(&self, rows: &[CatalogRow]) -> Result<usize> {
        let now = now_micros();
        let mut removed = 0;
        for row in rows.iter().filter(|r| !is_live(r, now)) {
            let Ok(lookup) = Lookup::parse_key(&row.cache_key) else {
                continue; // not a key this cache could have written: repair's business
            };
            let has_payload = |core: &Self| {
                Format::ALL
                    .into_iter()
                    .any(|f| core.store.exists(&row.cache_key, f))
            };
            if !has_payload(self) {
                self.catalog.submit(CatalogOp::Delete {
                    cache_key: row.cache_key.clone(),
                })?;
                removed += 1;
            } else if self.load(&lookup, None)?.is_none() && !has_payload(self) {
                removed += 1; // `load` removed it and journaled the delete
            }
        }
        Ok(removed)
    }

    /// Remove every entry; returns how many there were.
    pub fn clear(&self) -> Result<usize> {
        self.check_open()?;
        let rows = self.catalog.sizes_blocking()?;
        let mut n = 0;
        for row in &rows {
            for format in Format::ALL {
                if CacheKey::is_valid(&row.cache_key)
                    && self.store.remove(&row.cache_key, format)?
                {
                    n += 1;
                }
            }
        }
        self.catalog.submit(CatalogOp::Clear)?;
        Ok(n)
    }

    /// Every live entry (the catalog snapshot plus journaled rows), expired ones left out.
    pub fn list_entries(&self) -> Result<Vec<EntryInfo>> {
        self.check_open()?;
        Ok(live(self.catalog.list_blocking()?))
    }

    /// The stats report.
    pub fn stats(&self) -> Result<CacheStats> {
        self.check_open()?;
        Ok(self.stats_from(&self.catalog.sizes_blocking()?))
    }

    /// Stats from catalog rows: live rows counted and summed directly (no entry conversion).
    pub fn stats_from(&self, rows: &[CatalogRow]) -> CacheStats {
        let now = now_micros();
        let mut inputs = ReportInputs {
            max_size_bytes: self.config.max_size_bytes,
            max_entries: self.config.max_entries,
            evictions: self.store.usage().evictions(),
            read_through_hits: self.store.read_through_hits(),
            ranged: self.store.ranged_counts(),
            ..Default::default()
        };
        for r in rows.iter().filter(|r| is_live(r, now)) {
            inputs.entries += 1;
            inputs.stored_bytes += r.stored_bytes.max(0) as u64;
            inputs.raw_bytes += r.raw_bytes.max(0) as u64;
        }
        self.counters.report(inputs)
    }

    /// Commit pending catalog rows to Delta.
    pub fn flush(&self) -> Result<()> {
        self.check_open()?;
        Ok(self.catalog.flush_blocking()?)
    }

    /// Flush and stop the committer; later calls fail with [`Error::Closed`].
    pub fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.flush_accesses();
        Ok(self.catalog.close()?)
    }

    /// Where the cache lives: its root directory, or its object store prefix.
    pub fn location(&self) -> &cacheness_storage::Location {
        &self.shared
    }

    /// Where the Delta table lives (for tools that read the catalog directly).
    pub fn catalog_table(&self) -> cacheness_storage::Location {
        self.catalog.table_location()
    }
}

/// A payload file mapped for a get of an array stored as is ([`CacheCore::map_as_is`]).
struct MappedAsIs {
    /// The mapped file.
    map: Bytes,
    /// Where the chunk's data lies, as the unchecked frame header says.
    span: Range<usize>,
    /// The cache's copy of every byte outside `span` (zeros in it).
    own: Vec<u8>,
}

/// The checks a get makes of a payload (`docs/ARCHITECTURE.md`, read path): a cache's key
/// and whether it serves unsigned payloads. The catalog's commits use them too, to adopt a
/// payload whose put died before journaling its row (`crate::payload_probe`).
pub(crate) struct Inspector<'a> {
    pub signer: &'a Signer,
    pub allow_unsigned: bool,
}

impl Inspector<'_> {
    /// Judge a payload read for `lookup` in `format`, changing nothing: every integrity check a
    /// get makes (`docs/ARCHITECTURE.md`, read path), in that order. Expiry is the caller's
    /// next question ([`Loaded::expired`]).
    pub(crate) fn inspect(
        &self,
        lookup: &Lookup,
        format: Format,
        bytes: Bytes,
    ) -> std::result::Result<Loaded, Rejection> {
        // The payload MAC first: bytes nobody with the key wrote never reach a format decoder
        // (Blosc2's is C). A signed file that verifies is intact, so its content hash is not
        // recomputed.
        let at = format.slot_at();
        let (signature, verified_hash) = self
            .trust(self.signer.check_payload(&bytes, at), || {
                seal::check(&bytes, at)
            })?;
        self.inspect_checked(lookup, format, bytes, signature, verified_hash)
    }

    /// What a payload's signature check (`signed`) establishes: its signature, or for an
    /// unsigned payload (if the configuration allows them) its content hash, which
    /// `content_hash` checks (the hash if the file matches it). On a failed signature the
    /// content hash tells damage from tampering.
    pub(crate) fn trust(
        &self,
        signed: std::result::Result<cacheness_format::signing::Signature, Unverified>,
        content_hash: impl FnOnce() -> Option<String>,
    ) -> std::result::Result<
        (Option<cacheness_format::signing::Signature>, Option<String>),
        Rejection,
    > {
        match signed {
            Ok(sig) => Ok((Some(sig), None)),
            Err(why) => match content_hash() {
                None => Err(Rejection::Corrupt("content hash mismatch".into())),
                Some(hash) if why == Unverified::Unsigned && self.allow_unsigned => {
                    Ok((None, Some(hash)))
                }
                Some(_) => Err(Rejection::Unsigned(why)),
            },
        }
    }

    /// The checks of [`Self::inspect`] after the payload MAC (or content hash) has passed:
    /// metadata, key, parameters, entry HMAC. `bytes` may hold only the parts the metadata
    /// lies in (a ranged read, whose parts passed the signed tree), at their file positions.
    fn inspect_checked(
        &self,
        lookup: &Lookup,
        format: Format,
        bytes: Bytes,
        signature: Option<cacheness_format::signing::Signature>,
        verified_hash: Option<String>,
    ) -> std::result::Result<Loaded, Rejection> {
        let what = BlobStore::rel_path(&lookup.key, format);
        match format.read_meta(&bytes, &what) {
            Ok((meta, claimed)) => {
                let stated = Stated {
                    meta,
                    hash: claimed,
                    file_len: bytes.len() as u64,
                };
                self.inspect_meta(lookup, format, bytes, stated, signature, verified_hash)
            }
            Err(e) => Err(Rejection::Corrupt(e.to_string())),
        }
    }

    /// The checks of [`Self::inspect_checked`] once the metadata is read: key, parameters,
    /// entry HMAC. `bytes` become the [`Loaded`] bytes.
    pub(crate) fn inspect_meta(
        &self,
        lookup: &Lookup,
        format: Format,
        bytes: Bytes,
        stated: Stated,
        signature: Option<cacheness_format::signing::Signature>,
        verified_hash: Option<String>,
    ) -> std::result::Result<Loaded, Rejection> {
        let corrupt = |reason: &str| Err(Rejection::Corrupt(reason.to_string()));
        let Stated {
            meta,
            hash,
            file_len,
        } = stated;
        if verified_hash.is_some_and(|h| h != hash) {
            return corrupt("its metadata names another content hash");
        }
        if meta.key != lookup.key {
            return corrupt(&format!("it belongs to key {}", meta.key));
        }
        let Some(stored_canonical) = cacheness_format::keys::unhex(&meta.params) else {
            return corrupt("stored parameters are not hex");
        };
        match &lookup.canonical {
            // By parameters: equal encodings are the same parameters, whose key this is.
            Some(c) if *c == stored_canonical => {}
            Some(_) | None => {
                if let Err(e) = Params::from_canonical(&stored_canonical) {
                    return corrupt(&e.to_string());
                }
                if CacheKey::of_canonical(&stored_canonical) != lookup.key {
                    return corrupt("stored parameters do not give this key");
                }
                if lookup.canonical.is_some() {
                    return Err(Rejection::Collision);
                }
            }
        }
        let mut loaded = Loaded {
            bytes,
            meta,
            canonical: stored_canonical,
            format,
            hash,
            stored_bytes: file_len,
            signature: None,
        };
        if let Some(sig) = signature {
            if !self.signer.check_record(&sig, &loaded.record()) {
                return Err(Rejection::Unsigned(Unverified::Mismatch));
            }
            loaded.signature = Some(sig);
        }
        Ok(loaded)
    }
}

/// Catalog rows as entries, expired ones left out (one TTL rule everywhere).
pub fn live(rows: Vec<CatalogRow>) -> Vec<EntryInfo> {
    let now = now_micros();
    rows.into_iter()
        .filter(|r| is_live(r, now))
        .filter_map(EntryInfo::from_row)
        .collect()
}

/// Serialize a data type or format as the catalog names it (its `Display`).
fn catalog_name<S: serde::Serializer, T: std::fmt::Display>(
    value: &T,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// The catalog row of an entry: what its payload (`meta`, `format`, sizes, hash) says. Puts
/// and repair's re-indexing build rows only here, so a rebuilt row equals the original.
pub(crate) fn catalog_row(
    meta: &EntryMeta,
    params: &Params,
    format: Format,
    raw_bytes: u64,
    stored_bytes: u64,
    content_hash: String,
    signature: Option<String>,
) -> CatalogRow {
    CatalogRow {
        cache_key: meta.key.clone(),
        data_type: meta.data_type.as_str().to_string(),
        format: format.as_str().to_string(),
        path: BlobStore::rel_path(&meta.key, format),
        raw_bytes: i64::try_from(raw_bytes).unwrap_or(i64::MAX),
        stored_bytes: i64::try_from(stored_bytes).unwrap_or(i64::MAX),
        content_hash,
        created_at: meta.created_at,
        expires_at: meta.expires_at,
        description: meta.description.clone(),
        params_json: params.to_json().to_string(),
        params: ColumnValue::columns_of(params),
        name: meta.name.clone(),
        signature,
    }
}

/// The one TTL rule: an entry whose expiry has passed is gone.
fn is_live(row: &CatalogRow, now: i64) -> bool {
    row.expires_at.is_none_or(|e| e > now)
}

/// Decode an array of whatever element type it stores and put it again with new options
/// (used by `touch`).
fn retouch_array(
    core: &CacheCore,
    bytes: bytes::Bytes,
    meta: &EntryMeta,
    params: &Params,
    opts: &PutOptions,
) -> Result<()> {
    let dtype = meta
        .info
        .get("dtype")
        .and_then(|d| d.as_str())
        .unwrap_or("");
    macro_rules! by_dtype {
        ($($t:ty),*) => {
            $(if dtype == <$t as Element>::NAME {
                let a = <ArrayD<$t> as Cacheable>::decode(bytes, meta)?;
                return core.put(&a, params, opts).map(drop);
            })*
        };
    }
    by_dtype!(bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);
    Err(Error::corrupt(
        format!("payload of {}", meta.key),
        format!("unknown dtype {dtype:?}"),
    ))
}
