//! Function caching: the runtime `#[cached]` functions run on (`docs/FUNCTIONS.md`).
//!
//! A call's key is its function's identity ([`function_params`]: `_fn`, and `_version` when
//! given) plus its arguments by name, through the same canonical spec as `put`: so
//! `cache.get(&function_params("my_crate::train", None).with("epochs", 10))` finds what
//! `train(10)` stored. Per function, [`FunctionInfo`] counts hits, misses and errors in this
//! process, and [`clear_function`] removes the function's entries, found through the catalog
//! (so also those of earlier runs).
//!
//! A cache failure never fails the function: a key that cannot be derived (a missing file), a
//! cache that cannot open, an unreadable entry, each is logged, counted in
//! [`FunctionInfo::errors`], and the function runs uncached.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::error::{Error, Result};
use crate::keys::{Params, Value};

/// The cache directory of `#[cached]` functions given no `cache`: `$CACHENESS_DIR`, else this
/// directory under the working directory (as for the CLI).
pub const DEFAULT_DIR: &str = ".cacheness";
/// The system parameter naming a function (`_fn`).
pub const FUNCTION_PARAM: &str = "fn";
/// The system parameter holding a function's version (`_version`).
pub const VERSION_PARAM: &str = "version";

/// The key parameters identifying a function: `_fn` = its name, and `_version` when given.
/// Add the arguments by name to get a call's parameters.
pub fn function_params(function: &str, version: Option<Value>) -> Params {
    let p = Params::new().with_system(FUNCTION_PARAM, function);
    match version {
        Some(v) => p.with_system(VERSION_PARAM, v),
        None => p,
    }
}

/// A function's calls in this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionInfo {
    /// The function's name in its keys (`_fn`).
    pub function: String,
    /// Calls answered from the cache.
    pub hits: u64,
    /// Calls that ran the function.
    pub misses: u64,
    /// Calls that ran uncached because the cache failed (each was logged).
    pub errors: u64,
}

/// Per-function counters.
#[derive(Debug, Default)]
pub struct FunctionState {
    hits: AtomicU64,
    misses: AtomicU64,
    errors: AtomicU64,
}

impl FunctionState {
    /// The counters of `function` in this process (created on first use).
    pub fn of(function: &str) -> Arc<FunctionState> {
        static ALL: OnceLock<Mutex<HashMap<String, Arc<FunctionState>>>> = OnceLock::new();
        let mut all = ALL
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Look up before inserting: a call's lookup allocates nothing.
        if let Some(state) = all.get(function) {
            return state.clone();
        }
        all.entry(function.to_string()).or_default().clone()
    }

    /// Snapshot the counters.
    pub fn info(&self, function: &str) -> FunctionInfo {
        FunctionInfo {
            function: function.to_string(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }

    fn count(&self, outcome: crate::memo::Outcome) {
        let counter = match outcome {
            crate::memo::Outcome::Hit => &self.hits,
            crate::memo::Outcome::Computed => &self.misses,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn failed(&self, function: &str, e: &Error) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(function, "running uncached: {e}");
    }
}

/// Remove every entry of `function` (any version), found through the catalog: also those
/// stored by earlier processes. Returns how many were removed.
pub fn clear_function(cache: &crate::blocking::Cache, function: &str) -> Result<usize> {
    let name = format!("_{FUNCTION_PARAM}");
    let mut removed = 0;
    for entry in cache.list_entries()? {
        if entry.params.get(&name).and_then(|v| v.as_str()) == Some(function)
            && cache.invalidate(&entry.cache_key)?
        {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Something a `#[cached(cache = ...)]` expression may give: a cache (either API), a
/// reference to one, or anything that dereferences to one (`LazyLock<Cache>`, `Arc<Cache>`).
pub trait CacheHandle {
    /// A blocking handle on the cache.
    fn cache_handle(&self) -> Result<crate::blocking::Cache>;
}

impl CacheHandle for crate::blocking::Cache {
    fn cache_handle(&self) -> Result<crate::blocking::Cache> {
        Ok(self.clone())
    }
}

impl CacheHandle for crate::Cache {
    fn cache_handle(&self) -> Result<crate::blocking::Cache> {
        Ok(self.blocking())
    }
}

impl<C: CacheHandle + ?Sized> CacheHandle for &C {
    fn cache_handle(&self) -> Result<crate::blocking::Cache> {
        (**self).cache_handle()
    }
}

impl<C: CacheHandle> CacheHandle for Result<C> {
    fn cache_handle(&self) -> Result<crate::blocking::Cache> {
        match self {
            Ok(c) => c.cache_handle(),
            Err(e) => Err(Error::Background {
                reason: format!("the cache of this function did not open: {e}"),
            }),
        }
    }
}

/// The process-wide cache of `#[cached]` functions given no `cache`: opened on first use at
/// `$CACHENESS_DIR`, else [`DEFAULT_DIR`]. If it cannot open, every call says why.
pub fn default_cache() -> Result<crate::blocking::Cache> {
    static DEFAULT: OnceLock<std::result::Result<crate::blocking::Cache, Arc<Error>>> =
        OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            let dir = std::env::var_os("CACHENESS_DIR").unwrap_or_else(|| DEFAULT_DIR.into());
            crate::blocking::Cache::open(&dir).map_err(Arc::new)
        })
        .clone()
        .map_err(|cause| Error::Background {
            reason: format!("the default cache of #[cached] functions did not open: {cause}"),
        })
}

/// What `#[cached]` expands to calls. Not a stable API.
#[doc(hidden)]
pub mod __private {
    use std::convert::Infallible;
    use std::future::Future;
    use std::marker::PhantomData;

    use super::*;
    use crate::codec::{Cacheable, Serde};
    use crate::keys::{KeyContext, KeyParam};
    use crate::memo::{MemoError, MemoOptions};

    /// An argument on its way to a key value: `(&&KeyArg(&x)).key_value(cx, "x")` picks
    /// [`KeyParam`] when the type implements it, and serde otherwise.
    pub struct KeyArg<'a, T: ?Sized>(pub &'a T);

    /// The [`KeyParam`] route.
    pub trait ViaKeyParam {
        /// The argument's key value.
        fn key_value(&self, cx: &KeyContext<'_>, name: &str) -> Result<Value>;
    }

    impl<T: KeyParam + ?Sized> ViaKeyParam for &KeyArg<'_, T> {
        fn key_value(&self, cx: &KeyContext<'_>, _: &str) -> Result<Value> {
            Ok(self.0.key_value(cx)?)
        }
    }

    /// The serde route.
    pub trait ViaSerde {
        /// The argument's key value.
        fn key_value(&self, cx: &KeyContext<'_>, name: &str) -> Result<Value>;
    }

    impl<T: serde::Serialize + ?Sized> ViaSerde for KeyArg<'_, T> {
        fn key_value(&self, _: &KeyContext<'_>, name: &str) -> Result<Value> {
            Ok(crate::keys::param::serde_value_of(self.0, name)?)
        }
    }

    /// How a function's results are stored: as themselves when [`Cacheable`] (tables,
    /// arrays, bytes, JSON), else in a [`Serde`] wrapper.
    pub trait Store<T> {
        /// The stored type.
        type Stored: Cacheable;
        /// Into the stored type.
        fn wrap(&self, v: T) -> Self::Stored;
        /// Back out of it.
        fn unwrap(&self, s: Self::Stored) -> T;
        /// Look inside it.
        fn peek<'a>(&self, s: &'a Self::Stored) -> &'a T;
    }

    /// Results stored as themselves.
    pub struct Direct<T>(PhantomData<fn() -> T>);
    /// Results stored through serde.
    pub struct Wrapped<T>(PhantomData<fn() -> T>);

    impl<T: Cacheable> Store<T> for Direct<T> {
        type Stored = T;
        fn wrap(&self, v: T) -> T {
            v
        }
        fn unwrap(&self, s: T) -> T {
            s
        }
        fn peek<'a>(&self, s: &'a T) -> &'a T {
            s
        }
    }

    impl<T: serde::Serialize + serde::de::DeserializeOwned> Store<T> for Wrapped<T> {
        type Stored = Serde<T>;
        fn wrap(&self, v: T) -> Serde<T> {
            Serde(v)
        }
        fn unwrap(&self, s: Serde<T>) -> T {
            s.0
        }
        fn peek<'a>(&self, s: &'a Serde<T>) -> &'a T {
            &s.0
        }
    }

    /// A type, for picking its store: `(&&tag).store()`.
    pub struct Tag<T>(PhantomData<fn() -> T>);

    /// The tag of a computation's success type.
    pub fn tag_of<T, E>(_: &impl FnOnce() -> std::result::Result<T, E>) -> Tag<T> {
        Tag(PhantomData)
    }

    /// The tag of an async computation's success type.
    pub fn tag_of_async<T, E, F: Future<Output = std::result::Result<T, E>>>(
        _: &impl FnOnce() -> F,
    ) -> Tag<T> {
        Tag(PhantomData)
    }

    /// Pin an async block's output type (so `?` inside it knows its error type).
    pub fn typed_future<R, F: Future<Output = R>>(f: F) -> F {
        f
    }

    /// The [`Cacheable`] route.
    pub trait ViaCacheable<T> {
        /// The store.
        fn store(&self) -> Direct<T>;
    }

    impl<T: Cacheable> ViaCacheable<T> for &Tag<T> {
        fn store(&self) -> Direct<T> {
            Direct(PhantomData)
        }
    }

    /// The serde route.
    pub trait ViaSerdeStore<T> {
        /// The store.
        fn store(&self) -> Wrapped<T>;
    }

    impl<T: serde::Serialize + serde::de::DeserializeOwned> ViaSerdeStore<T> for Tag<T> {
        fn store(&self) -> Wrapped<T> {
            Wrapped(PhantomData)
        }
    }

    /// A `Result` whose error cannot happen (functions that do not return `Result`).
    pub fn never<T>(r: std::result::Result<T, Infallible>) -> T {
        match r {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// One call's cache and key: the cache from its handle, then the key from the arguments.
    pub fn key(
        cache: Result<crate::blocking::Cache>,
        build: impl FnOnce(&KeyContext<'_>) -> Result<Params>,
        missing: crate::keys::MissingPath,
    ) -> Result<(crate::blocking::Cache, Params)> {
        let cache = cache?;
        let hasher = cache.content_hasher();
        let params = build(&KeyContext::new(hasher).missing_paths(missing))?;
        Ok((cache, params))
    }

    /// Run a synchronous `#[cached]` call.
    pub fn call<T, E, S: Store<T>>(
        function: &str,
        keyed: Result<(crate::blocking::Cache, Params)>,
        opts: &MemoOptions,
        keep: impl FnOnce(&T) -> bool,
        store: S,
        compute: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let state = FunctionState::of(function);
        let (cache, params) = match keyed {
            Ok(k) => k,
            Err(e) => {
                state.failed(function, &e);
                return compute();
            }
        };
        let store = &store;
        let mut slot = Some(move || compute().map(|v| store.wrap(v)));
        let result = cache.memoize_in(&params, opts, |s| keep(store.peek(s)), &mut slot);
        if let Some(answer) = settle(function, &state, store, result) {
            return answer;
        }
        match slot.take() {
            Some(compute) => compute().map(|v| store.unwrap(v)),
            None => unreachable_taken(function),
        }
    }

    /// Run an async `#[cached]` call.
    pub async fn call_async<T, E, S: Store<T>, F>(
        function: &str,
        keyed: Result<(crate::blocking::Cache, Params)>,
        opts: &MemoOptions,
        keep: impl FnOnce(&T) -> bool,
        store: S,
        compute: impl FnOnce() -> F,
    ) -> std::result::Result<T, E>
    where
        F: Future<Output = std::result::Result<T, E>>,
        S::Stored: Send + 'static,
    {
        let state = FunctionState::of(function);
        let (cache, params) = match keyed {
            Ok(k) => k,
            Err(e) => {
                state.failed(function, &e);
                return compute().await;
            }
        };
        let store = &store;
        let mut slot = Some(move || async move { compute().await.map(|v| store.wrap(v)) });
        let result = cache
            .nonblocking()
            .memoize_in(&params, opts, |s| keep(store.peek(s)), &mut slot)
            .await;
        if let Some(answer) = settle(function, &state, store, result) {
            return answer;
        }
        match slot.take() {
            Some(compute) => compute().await.map(|v| store.unwrap(v)),
            None => unreachable_taken(function),
        }
    }

    /// Count a memoized call's outcome and give its answer; `None` when the cache failed (it
    /// is logged and counted) and the computation must run uncached.
    fn settle<T, E, S: Store<T>>(
        function: &str,
        state: &FunctionState,
        store: &S,
        result: std::result::Result<(S::Stored, crate::memo::Outcome), MemoError<E>>,
    ) -> Option<std::result::Result<T, E>> {
        match result {
            Ok((v, outcome)) => {
                state.count(outcome);
                Some(Ok(store.unwrap(v)))
            }
            Err(MemoError::Compute(e)) => {
                state.count(crate::memo::Outcome::Computed);
                Some(Err(e))
            }
            Err(MemoError::Cache(e)) => {
                state.failed(function, &e);
                None
            }
        }
    }

    /// `memoize_in` takes the computation only after its last cache operation that can fail,
    /// so a cache error always leaves it in the slot.
    #[cold]
    fn unreachable_taken(function: &str) -> ! {
        unreachable!("{function}: the cache failed after taking the computation")
    }
}
