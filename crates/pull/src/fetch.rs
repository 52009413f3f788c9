//! Fetchers: what asks the source for one key's interval and returns its rows as Arrow.

use std::fmt::Debug;
use std::future::Future;

use deltalake::arrow::array::RecordBatch;

use crate::interval::{Interval, RangeKind};

/// One request to the source: a key and an interval of its range column (aligned to the
/// table's granularity).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FetchRequest<K> {
    /// The key (the values of the key columns).
    pub key: K,
    /// The interval, `[start, end)` in ticks.
    pub interval: Interval,
}

impl FetchRequest<String> {
    /// `template` with this request's placeholders filled: `{key}` the key text, `{key.NAME}`
    /// the value of key column `NAME` (of `key_columns`, for tables with several), `{start}`
    /// the first tick of the interval, `{end}` the first tick after it, `{last}` the last tick
    /// in it, each written as the range column reads ([`RangeKind::text`]) and passed through
    /// `encode` (URL encoding for URLs, nothing for arguments).
    pub fn render(
        &self,
        template: &str,
        kind: RangeKind,
        key_columns: &[String],
        encode: impl Fn(&str) -> String,
    ) -> String {
        let i = self.interval;
        let mut text = template.to_string();
        if text.contains("{key.") {
            let parts = crate::key::decode(&self.key, key_columns.len())
                .unwrap_or_else(|_| vec![self.key.clone()]);
            for (column, part) in key_columns.iter().zip(&parts) {
                text = text.replace(&format!("{{key.{column}}}"), &encode(part));
            }
        }
        text.replace("{key}", &encode(&self.key))
            .replace("{start}", &encode(&kind.text(i.start)))
            .replace("{end}", &encode(&kind.text(i.end)))
            .replace("{last}", &encode(&kind.text(i.end.saturating_sub(1))))
    }
}

/// Why a fetch failed: the key and interval, and the source's reason.
#[derive(Debug, Clone, thiserror::Error)]
#[error("fetching {key}{} failed: {reason}", shown_interval(.interval, .shown.as_deref()))]
pub struct FetchError {
    /// The key that failed, as text.
    pub key: String,
    /// The interval that failed.
    pub interval: Interval,
    /// The interval as the range column reads it (` [2024-01-01, 2024-01-11)`; empty for a
    /// lookup table), once the table that fetched has said ([`crate::fill::FillError::shown`]);
    /// until then the interval shows in ticks.
    pub shown: Option<String>,
    /// The source's reason.
    pub reason: String,
}

/// An interval in an error: as the range column reads it if known, else in ticks.
pub(crate) fn shown_interval(interval: &Interval, shown: Option<&str>) -> String {
    match shown {
        Some(text) => text.to_string(),
        None => format!(" {interval}"),
    }
}

impl FetchError {
    /// A failure of `request` for `reason`.
    pub fn of<K: Debug>(request: &FetchRequest<K>, reason: impl std::fmt::Display) -> Self {
        FetchError {
            key: format!("{:?}", request.key),
            interval: request.interval,
            shown: None,
            reason: reason.to_string(),
        }
    }
}

/// A source of rows by key and interval. An empty batch is an answer (the range has no rows),
/// and is covered like any other.
pub trait Fetcher<K>: Send + Sync {
    /// The rows of `request`'s key in its interval.
    fn fetch(
        &self,
        request: &FetchRequest<K>,
    ) -> impl Future<Output = Result<RecordBatch, FetchError>> + Send;
}

/// A fetcher from an async closure: `from_fn(|req| async move { ... })`.
pub struct FnFetcher<F>(F);

/// Wrap an async closure as a [`Fetcher`].
pub fn from_fn<K, F, Fut>(f: F) -> FnFetcher<F>
where
    F: Fn(FetchRequest<K>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<RecordBatch, FetchError>> + Send,
{
    FnFetcher(f)
}

impl<K, F, Fut> Fetcher<K> for FnFetcher<F>
where
    K: Clone + Send + Sync,
    F: Fn(FetchRequest<K>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<RecordBatch, FetchError>> + Send,
{
    fn fetch(
        &self,
        request: &FetchRequest<K>,
    ) -> impl Future<Output = Result<RecordBatch, FetchError>> + Send {
        (self.0)(request.clone())
    }
}

/// A [`Fetcher`] behind a pointer, for owners that choose their fetcher at run time (the SQL
/// provider, the CLI): `SharedFetcher::new(fetcher)`.
#[derive(Clone)]
pub struct SharedFetcher(std::sync::Arc<dyn DynFetcher>);

/// The object-safe form of [`Fetcher<String>`], implemented for every such fetcher.
pub trait DynFetcher: Send + Sync {
    /// [`Fetcher::fetch`], boxed.
    fn fetch_boxed<'a>(
        &'a self,
        request: &'a FetchRequest<String>,
    ) -> futures::future::BoxFuture<'a, Result<RecordBatch, FetchError>>;
}

impl<F: Fetcher<String>> DynFetcher for F {
    fn fetch_boxed<'a>(
        &'a self,
        request: &'a FetchRequest<String>,
    ) -> futures::future::BoxFuture<'a, Result<RecordBatch, FetchError>> {
        Box::pin(self.fetch(request))
    }
}

impl SharedFetcher {
    /// Share `fetcher`.
    pub fn new(fetcher: impl Fetcher<String> + 'static) -> Self {
        SharedFetcher(std::sync::Arc::new(fetcher))
    }
}

impl Fetcher<String> for SharedFetcher {
    fn fetch(
        &self,
        request: &FetchRequest<String>,
    ) -> impl Future<Output = Result<RecordBatch, FetchError>> + Send {
        let (fetcher, request) = (self.0.clone(), request.clone());
        async move { fetcher.fetch_boxed(&request).await }
    }
}

impl Debug for SharedFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedFetcher")
    }
}
