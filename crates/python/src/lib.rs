//! The native module of the `cacheness` Python package (`cacheness._native`).
//!
//! The Pythonic API (`cacheness.Cache`, type dispatch for pandas, polars and pyarrow,
//! `docs/PYTHON.md`) is Python, in `python/cacheness/`; this module is the part that touches
//! the cache, and it releases the GIL around every call into it (I/O, codecs, SQL).
//!
//! - `lib.rs`: the module, [`Cache`] (one open cache), [`KeyParams`] (a call's parameters,
//!   keyed once), [`KeyLock`] and the error types;
//! - `params.rs`: key parameters from Python values (the keys Rust's `params!` gives);
//! - `object.rs`: Python values ↔ the container's MessagePack;
//! - `array.rs`: NumPy arrays ↔ Blosc2 arrays, by element type;
//! - `table.rs`: Arrow tables through the Arrow C stream interface, both ways;
//! - `datetime.rs`: Python dates and datetimes as days and microseconds;
//! - `pull.rs`: pull-through tables with Python fetchers (`PullTable`).

mod array;
mod datetime;
mod object;
mod params;
mod pull;
mod table;

use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use cacheness::keys::ContentHasher;
use cacheness::{CacheConfig, DataType, Params, PutOptions, RawObject};
use params::KeyCx;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// How often a wait for another process's key lock looks again (and checks for Ctrl-C).
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(5);

create_exception!(
    cacheness,
    CacheError,
    PyException,
    "An error of the cache: its message names the key, file or column at fault, and the cause."
);
create_exception!(
    cacheness,
    CacheClosedError,
    CacheError,
    "The cache was closed: open it again."
);
create_exception!(
    cacheness,
    StorageError,
    CacheError,
    "A file, directory or object of the cache could not be read or written (a full disk, \
     permissions, the small-entry store)."
);
create_exception!(
    cacheness,
    CatalogError,
    CacheError,
    "The Delta catalog or the journal failed."
);
create_exception!(
    cacheness,
    SqlError,
    CacheError,
    "A SQL statement failed: syntax, an unknown table or column, or a statement that would write."
);
create_exception!(
    cacheness,
    FormatError,
    CacheError,
    "A key could not be derived, a value not encoded, or a payload is not what it should be."
);
create_exception!(
    cacheness,
    ConfigError,
    CacheError,
    "A setting is invalid (cacheness.toml, CACHENESS_* variables, a TTL)."
);

/// A cache error as a Python exception of the class its kind maps to (`CacheError` or a
/// subclass), with its whole chain of causes in the message.
fn cache_err<E: std::error::Error + 'static>(e: E) -> PyErr {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let cause = s.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = s.source();
    }
    // A format error, alone or inside the cache's error: I/O is the storage's, the rest the
    // format's.
    let format_err = |f: &cacheness::FormatError, text| match f {
        cacheness::FormatError::Io { .. } => StorageError::new_err(text),
        _ => FormatError::new_err(text),
    };
    let any: &dyn std::any::Any = &e;
    if let Some(f) = any.downcast_ref::<cacheness::FormatError>() {
        return format_err(f, text);
    }
    use cacheness::Error as E;
    match any.downcast_ref::<E>() {
        Some(E::Closed { .. }) => CacheClosedError::new_err(text),
        Some(E::Storage(_) | E::OtherIo(_) | E::Read { .. } | E::SmallStore { .. }) => {
            StorageError::new_err(text)
        }
        Some(E::Catalog(_) | E::PutUndone { .. }) => CatalogError::new_err(text),
        Some(E::Sql(_)) => SqlError::new_err(text),
        Some(E::Format(f)) => format_err(f, text),
        Some(E::Config { .. } | E::InvalidTtl { .. }) => ConfigError::new_err(text),
        _ => CacheError::new_err(text),
    }
}

fn invalid(what: &str, e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("{what}: {e}"))
}

/// What a get read and decoded without the GIL, before it becomes a Python value.
enum Fetched {
    /// An object's MessagePack, and the type the binding facts name (a tuple).
    Object(Vec<u8>, Option<String>),
    /// Bytes as stored.
    Bytes(Vec<u8>),
    /// A JSON document's text.
    Json(String),
    /// An array payload (checked) and its metadata: decoded by element type.
    Array(bytes::Bytes, Box<cacheness::EntryMeta>),
    /// A table's schema and batches.
    Table(table::Table),
}

/// One open cache.
#[pyclass(frozen, module = "cacheness._native")]
struct Cache {
    /// The open cache; never dropped in a process forked from the one that opened it (its
    /// threads and locks belong to the parent).
    opened: ManuallyDrop<cacheness::blocking::Cache>,
    /// The process that opened it.
    pid: u32,
    /// Store other objects pickled, and unpickle them on a get (after the signature check).
    allow_pickle: bool,
    /// The fetchers of the pull-through tables opened on this cache, by table name: SQL
    /// statements fill those tables' gaps through them.
    fetchers: Mutex<HashMap<String, cacheness::pull::SharedFetcher>>,
}

/// Parameters keyed once (paths hashed, arrays and tables digested), to look up and store
/// under without keying them again: what `@cached` builds for a call.
#[pyclass(frozen, module = "cacheness._native")]
struct KeyParams {
    params: Params,
    key: String,
}

#[pymethods]
impl KeyParams {
    /// The key (16 hex digits).
    #[getter]
    fn key(&self) -> &str {
        &self.key
    }
}

/// The hasher of path parameters outside a cache (`cacheness.key`): no stat cache on disk.
fn process_hasher() -> &'static ContentHasher {
    static HASHER: LazyLock<ContentHasher> = LazyLock::new(ContentHasher::in_memory);
    &HASHER
}

/// Parameters given as a dict, or as [`KeyParams`] already keyed.
fn lookup_params(given: &Bound<'_, PyAny>, hasher: &ContentHasher) -> PyResult<Params> {
    if let Ok(keyed) = given.cast::<KeyParams>() {
        return Ok(keyed.get().params.clone());
    }
    let dict = given.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err(format!(
            "parameters must be a dict or KeyParams, not {}",
            object::type_name(given)
        ))
    })?;
    params::params(Params::new(), dict, KeyCx { hasher })
}

/// The binding facts of a value this package stores as something else, one fact `name` =
/// `value` (`type` = `tuple`, `order` = `F`): `{"python": {name: value}}` in the payload's
/// `info.binding`, read back by [`python_fact`].
fn binding_facts(name: &str, value: &str) -> serde_json::Value {
    serde_json::json!({ "python": { name: value } })
}

/// A fact this package recorded of a stored value (`info.binding.python.<name>`).
fn python_fact(meta: &cacheness::EntryMeta, name: &str) -> Option<String> {
    meta.info
        .get(cacheness::codec::BINDING_INFO)?
        .get("python")?
        .get(name)?
        .as_str()
        .map(str::to_owned)
}

/// What a put records besides the value.
fn put_options(ttl: Option<&str>, description: Option<String>) -> PyResult<PutOptions> {
    let ttl = ttl
        .map(cacheness::config::parse_duration)
        .transpose()
        .map_err(|e| invalid("ttl", e))?;
    Ok(PutOptions {
        ttl,
        description,
        ..Default::default()
    })
}

#[pymethods]
impl Cache {
    /// Open (creating if needed) the cache in `dir`. `default_ttl` ("7d", "1h") and
    /// `max_size` ("10GiB") override `cacheness.toml` and the `CACHENESS_*` variables.
    /// `allow_pickle` stores objects of other types pickled and unpickles them on a get.
    #[new]
    #[pyo3(signature = (dir, default_ttl=None, max_size=None, allow_pickle=false))]
    fn new(
        py: Python<'_>,
        dir: PathBuf,
        default_ttl: Option<&str>,
        max_size: Option<&str>,
        allow_pickle: bool,
    ) -> PyResult<Self> {
        let mut config = CacheConfig::new(&dir);
        if let Some(ttl) = default_ttl {
            let ttl =
                cacheness::config::parse_duration(ttl).map_err(|e| invalid("default_ttl", e))?;
            config = config.with_default_ttl(Some(ttl));
        }
        if let Some(size) = max_size {
            let size = cacheness::config::parse_size(size).map_err(|e| invalid("max_size", e))?;
            config = config.with_max_size_bytes(Some(size));
        }
        let inner = py
            .detach(|| cacheness::blocking::Cache::open_with(config))
            .map_err(cache_err)?;
        Ok(Cache {
            opened: ManuallyDrop::new(inner),
            pid: std::process::id(),
            allow_pickle,
            fetchers: Mutex::default(),
        })
    }

    /// Whether other objects are stored pickled (and unpickled on a get).
    #[getter]
    fn allow_pickle(&self) -> bool {
        self.allow_pickle
    }

    /// The key the parameters name (16 hex digits).
    fn key(&self, params: &Bound<'_, PyAny>) -> PyResult<String> {
        key_string(&self.params_of(params)?)
    }

    /// Key parameters once: `function` (its name) and `version` become the system parameters
    /// `_fn` and `_version` that Rust's `#[cached]` uses.
    #[pyo3(signature = (params, function=None, version=None))]
    fn key_params(
        &self,
        params: &Bound<'_, PyDict>,
        function: Option<&str>,
        version: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<KeyParams> {
        let cx = KeyCx {
            hasher: self.inner()?.content_hasher(),
        };
        let base = match function {
            Some(name) => {
                let version = version.map(|v| params::value(v, cx)).transpose()?;
                cacheness::function::function_params(name, version)
            }
            None => Params::new(),
        };
        let params = params::params(base, params, cx)?;
        let key = key_string(&params)?;
        Ok(KeyParams { params, key })
    }

    /// Remove every entry of a function (`_fn` = `function`, any version): how many.
    fn clear_function(&self, py: Python<'_>, function: &str) -> PyResult<usize> {
        let cache = self.inner()?;
        py.detach(|| cacheness::function::clear_function(cache, function))
            .map_err(cache_err)
    }

    /// Take the lock on `key` across processes (`<root>/locks/<key>.lock`), waiting for a
    /// holder in another process without the GIL; Ctrl-C (a signal) interrupts the wait.
    fn lock_key(&self, py: Python<'_>, key: &str) -> PyResult<KeyLock> {
        let root = self.inner()?.config().root.clone();
        loop {
            let got = py
                .detach(|| cacheness::memo::KeyLock::try_acquire(&root, key))
                .map_err(cache_err)?;
            if let Some(lock) = got {
                return Ok(KeyLock {
                    held: std::sync::Mutex::new(Some(lock)),
                    pid: std::process::id(),
                });
            }
            py.check_signals()?;
            py.detach(|| std::thread::sleep(LOCK_POLL));
        }
    }

    /// Store a dict, list, tuple, str, int, float, bool, None or bytes nested in those, as an
    /// object (MessagePack in the signed container).
    #[pyo3(signature = (value, params, ttl=None, description=None))]
    fn put_object(
        &self,
        py: Python<'_>,
        value: &Bound<'_, PyAny>,
        params: &Bound<'_, PyAny>,
        ttl: Option<&str>,
        description: Option<String>,
    ) -> PyResult<String> {
        let bytes = object::to_msgpack(value, self.allow_pickle).map_err(PyTypeError::new_err)?;
        let (params, mut opts) = self.put_request(params, ttl, description)?;
        if value.is_exact_instance_of::<pyo3::types::PyTuple>() {
            // MessagePack has no tuple: the value is stored as the array every reader reads,
            // and the binding facts say it was a tuple.
            opts.binding = Some(binding_facts("type", object::TUPLE));
        }
        self.put_value(py, &RawObject(bytes), &params, &opts)
    }

    /// Store bytes as they are.
    #[pyo3(signature = (value, params, ttl=None, description=None))]
    fn put_bytes(
        &self,
        py: Python<'_>,
        value: &[u8],
        params: &Bound<'_, PyAny>,
        ttl: Option<&str>,
        description: Option<String>,
    ) -> PyResult<String> {
        let (params, opts) = self.put_request(params, ttl, description)?;
        self.put_value(py, &value.to_vec(), &params, &opts)
    }

    /// Store a NumPy array (any numeric dtype or bool, any order and strides) as a Blosc2
    /// array.
    #[pyo3(signature = (value, params, ttl=None, description=None))]
    fn put_array(
        &self,
        py: Python<'_>,
        value: &Bound<'_, PyAny>,
        params: &Bound<'_, PyAny>,
        ttl: Option<&str>,
        description: Option<String>,
    ) -> PyResult<String> {
        let (params, mut opts) = self.put_request(params, ttl, description)?;
        if array::is_fortran(value) {
            // Blosc2 arrays are in C order: the binding facts say it was in Fortran order.
            opts.binding = Some(binding_facts("order", array::FORTRAN));
        }
        array::put(py, self.inner()?, value, &params, &opts)
    }

    /// Store an Arrow table given as a stream capsule (`table.__arrow_c_stream__()`).
    #[pyo3(signature = (stream, params, ttl=None, description=None))]
    fn put_table_stream(
        &self,
        py: Python<'_>,
        stream: &Bound<'_, PyAny>,
        params: &Bound<'_, PyAny>,
        ttl: Option<&str>,
        description: Option<String>,
    ) -> PyResult<String> {
        let (params, opts) = self.put_request(params, ttl, description)?;
        let (_, batches) = table::from_stream(stream)?;
        self.put_value(py, &batches, &params, &opts)
    }

    /// The entry's value as `(data_type, value)`, or `None` on a miss: an object or bytes
    /// value as itself, JSON as its text, an array as a NumPy array, a table as an Arrow
    /// stream capsule.
    fn get<'py>(
        &self,
        py: Python<'py>,
        params: &Bound<'py, PyAny>,
    ) -> PyResult<Option<(&'static str, Py<PyAny>)>> {
        Ok(self.load(py, params)?.map(|(_, kind, value)| (kind, value)))
    }

    /// [`Cache::get`] with the entry's catalog fields (key, parameters, times, sizes,
    /// description) as JSON text: `(data_type, value, info)`.
    fn get_with_info<'py>(
        &self,
        py: Python<'py>,
        params: &Bound<'py, PyAny>,
    ) -> PyResult<Option<(&'static str, Py<PyAny>, String)>> {
        let Some((info, kind, value)) = self.load(py, params)? else {
            return Ok(None);
        };
        let info = serde_json::to_string(&info).map_err(cache_err)?;
        Ok(Some((kind, value, info)))
    }

    /// Whether a live entry exists.
    fn exists(&self, py: Python<'_>, params: &Bound<'_, PyAny>) -> PyResult<bool> {
        let params = self.params_of(params)?;
        let cache = self.inner()?;
        py.detach(|| cache.exists(&params)).map_err(cache_err)
    }

    /// Remove an entry; whether there was one.
    fn invalidate(&self, py: Python<'_>, params: &Bound<'_, PyAny>) -> PyResult<bool> {
        let params = self.params_of(params)?;
        let cache = self.inner()?;
        py.detach(|| cache.invalidate(&params)).map_err(cache_err)
    }

    /// Renew an entry's TTL and access time; whether there was one.
    fn touch(&self, py: Python<'_>, params: &Bound<'_, PyAny>) -> PyResult<bool> {
        let params = self.params_of(params)?;
        let cache = self.inner()?;
        py.detach(|| cache.touch(&params)).map_err(cache_err)
    }

    /// Remove every entry; how many there were.
    fn clear(&self, py: Python<'_>) -> PyResult<usize> {
        let cache = self.inner()?;
        py.detach(|| cache.clear()).map_err(cache_err)
    }

    /// Remove expired entries; how many.
    fn cleanup_expired(&self, py: Python<'_>) -> PyResult<usize> {
        let cache = self.inner()?;
        py.detach(|| cache.cleanup_expired()).map_err(cache_err)
    }

    /// The live entries, as JSON text (a list of objects).
    fn list_entries_json(&self, py: Python<'_>) -> PyResult<String> {
        let cache = self.inner()?;
        let entries = py.detach(|| cache.list_entries()).map_err(cache_err)?;
        serde_json::to_string(&entries).map_err(cache_err)
    }

    /// Counts and sizes, as JSON text.
    fn stats_json(&self, py: Python<'_>) -> PyResult<String> {
        let cache = self.inner()?;
        let stats = py.detach(|| cache.stats()).map_err(cache_err)?;
        serde_json::to_string(&stats).map_err(cache_err)
    }

    /// What `verify` found, as JSON text.
    fn verify_json(&self, py: Python<'_>) -> PyResult<String> {
        let cache = self.inner()?;
        let report = py.detach(|| cache.verify()).map_err(cache_err)?;
        serde_json::to_string(&report).map_err(cache_err)
    }

    /// What `repair` found and did, as JSON text.
    fn repair_json(&self, py: Python<'_>) -> PyResult<String> {
        let cache = self.inner()?;
        let report = py.detach(|| cache.repair()).map_err(cache_err)?;
        serde_json::to_string(&report).map_err(cache_err)
    }

    /// The answer to a read-only SQL statement, as an Arrow stream capsule.
    fn sql_stream<'py>(&self, py: Python<'py>, query: &str) -> PyResult<Bound<'py, PyAny>> {
        let cache = self.inner()?;
        let fetchers = self.fetchers_lock().clone();
        let batches = py
            .detach(|| cache.sql_with_fetchers(query, fetchers))
            .map_err(cache_err)?;
        table::to_stream(py, (table::schema_of(&batches), batches))
    }

    /// Commit pending catalog rows to Delta.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let cache = self.inner()?;
        py.detach(|| cache.flush()).map_err(cache_err)
    }

    /// Flush and close; later calls raise `CacheError`.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let cache = self.inner()?;
        py.detach(|| cache.close()).map_err(cache_err)
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        if std::process::id() == self.pid {
            // SAFETY: dropped once, here; the field is not used after.
            unsafe { ManuallyDrop::drop(&mut self.opened) }
        }
    }
}

impl Cache {
    /// The table fetchers (a panic while the lock was held left the map whole).
    fn fetchers_lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, cacheness::pull::SharedFetcher>> {
        self.fetchers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Fill pull-through table `name` through `fetcher` in this cache's SQL statements.
    fn register_fetcher(
        &self,
        name: &str,
        fetcher: cacheness::pull::SharedFetcher,
    ) -> PyResult<()> {
        self.inner()?;
        self.fetchers_lock().insert(name.to_owned(), fetcher);
        Ok(())
    }

    /// The open cache, unless this process is a child forked from the one that opened it:
    /// its committer thread does not exist here, and its journal, lock files and LMDB
    /// environment are the parent's, so using it could hang or damage the parent's state.
    fn inner(&self) -> PyResult<&cacheness::blocking::Cache> {
        if std::process::id() != self.pid {
            return Err(CacheError::new_err(format!(
                "the cache at {} was opened by process {} before it forked this process, \
                 which cannot use it: open caches after the fork, or start workers with the \
                 'spawn' or 'forkserver' method",
                self.opened.config().root.display(),
                self.pid
            )));
        }
        Ok(&self.opened)
    }

    /// The entry under `params`, its data type and its value (see [`Cache::get`]).
    fn load<'py>(
        &self,
        py: Python<'py>,
        params: &Bound<'py, PyAny>,
    ) -> PyResult<Option<(cacheness::EntryInfo, &'static str, Py<PyAny>)>> {
        let params = self.params_of(params)?;
        let cache = self.inner()?;
        // Read, check and decode in one stretch without the GIL; build the Python value after.
        let fetched = py.detach(|| -> PyResult<Option<(cacheness::EntryInfo, Fetched)>> {
            let Some((info, bytes)) = cache.payload(&params).map_err(cache_err)? else {
                return Ok(None);
            };
            let what = format!("entry {}", info.cache_key);
            let (meta, _) = info.format.read_meta(&bytes, &what).map_err(cache_err)?;
            let fetched = match info.data_type {
                DataType::Object => Fetched::Object(
                    <RawObject as cacheness::Cacheable>::decode(bytes, &meta)
                        .map_err(cache_err)?
                        .0,
                    python_fact(&meta, "type"),
                ),
                DataType::Bytes => Fetched::Bytes(
                    <Vec<u8> as cacheness::Cacheable>::decode(bytes, &meta).map_err(cache_err)?,
                ),
                DataType::Json => Fetched::Json(
                    <serde_json::Value as cacheness::Cacheable>::decode(bytes, &meta)
                        .map_err(cache_err)?
                        .to_string(),
                ),
                DataType::Ndarray => Fetched::Array(bytes, Box::new(meta)),
                DataType::ArrowTable => Fetched::Table(table::decode(bytes, &meta)?),
            };
            Ok(Some((info, fetched)))
        })?;
        let Some((info, fetched)) = fetched else {
            return Ok(None);
        };
        let value: Py<PyAny> = match fetched {
            Fetched::Object(raw, facts) => {
                let value = object::from_msgpack(py, &raw, self.allow_pickle)
                    .map_err(|e| CacheError::new_err(format!("entry {}: {e}", info.cache_key)))?;
                match (
                    facts.as_deref(),
                    value.bind(py).cast::<pyo3::types::PyList>(),
                ) {
                    (Some(object::TUPLE), Ok(list)) => list.to_tuple().into_any().unbind(),
                    _ => value,
                }
            }
            Fetched::Bytes(raw) => PyBytes::new(py, &raw).into_any().unbind(),
            Fetched::Table(t) => table::to_stream(py, t)?.unbind(),
            Fetched::Json(text) => text.into_pyobject(py)?.into_any().unbind(),
            Fetched::Array(bytes, meta) => array::get(py, bytes, &meta)?,
        };
        let kind = info.data_type.as_str();
        Ok(Some((info, kind, value)))
    }

    /// The parameters `given` names (a dict, or [`KeyParams`]), keyed with this cache's hasher.
    fn params_of(&self, given: &Bound<'_, PyAny>) -> PyResult<Params> {
        lookup_params(given, self.inner()?.content_hasher())
    }

    /// A put's parameters, and what it records besides the value.
    fn put_request(
        &self,
        params: &Bound<'_, PyAny>,
        ttl: Option<&str>,
        description: Option<String>,
    ) -> PyResult<(Params, PutOptions)> {
        Ok((self.params_of(params)?, put_options(ttl, description)?))
    }

    fn put_value<T: cacheness::Cacheable + Sync>(
        &self,
        py: Python<'_>,
        value: &T,
        params: &Params,
        opts: &PutOptions,
    ) -> PyResult<String> {
        let cache = self.inner()?;
        py.detach(|| cache.put_with(value, params, opts))
            .map(|k| k.to_string())
            .map_err(cache_err)
    }
}

/// A held lock on one key across processes; released by `release()` or when dropped.
#[pyclass(frozen, module = "cacheness._native")]
struct KeyLock {
    held: std::sync::Mutex<Option<cacheness::memo::KeyLock>>,
    /// The process that took it: a forked child must not release it (the lock's open file
    /// is shared with the parent, and releasing it there would release the parent's).
    pid: u32,
}

impl Drop for KeyLock {
    fn drop(&mut self) {
        if std::process::id() != self.pid {
            let held = self.held.get_mut().unwrap_or_else(|p| p.into_inner());
            std::mem::forget(held.take());
        }
    }
}

#[pymethods]
impl KeyLock {
    /// Release the lock (again is a no-op).
    fn release(&self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let lock = held.take();
        if std::process::id() != self.pid {
            std::mem::forget(lock);
        }
    }
}

fn key_string(params: &Params) -> PyResult<String> {
    params.key().map(|k| k.to_string()).map_err(cache_err)
}

/// The key a dict of parameters names (16 hex digits), as `params!` would give it.
#[pyfunction]
fn key_of(params: &Bound<'_, PyDict>) -> PyResult<String> {
    let cx = KeyCx {
        hasher: process_hasher(),
    };
    key_string(&params::params(Params::new(), params, cx)?)
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Cache>()?;
    m.add_class::<KeyParams>()?;
    m.add_class::<KeyLock>()?;
    m.add_class::<pull::PullTable>()?;
    m.add_function(wrap_pyfunction!(key_of, m)?)?;
    m.add("CacheError", m.py().get_type::<CacheError>())?;
    m.add("CacheClosedError", m.py().get_type::<CacheClosedError>())?;
    m.add("StorageError", m.py().get_type::<StorageError>())?;
    m.add("CatalogError", m.py().get_type::<CatalogError>())?;
    m.add("SqlError", m.py().get_type::<SqlError>())?;
    m.add("FormatError", m.py().get_type::<FormatError>())?;
    m.add("ConfigError", m.py().get_type::<ConfigError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
