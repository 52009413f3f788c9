//! The HTTP fetcher: a GET per fetch to a URL template, its body read as JSON (array or
//! lines), CSV, Parquet or Arrow IPC into the table's schema.
//!
//! The template's placeholders (`{key}`, `{start}`, `{end}`, `{last}`, as in
//! [`FetchRequest::render`]) are percent-encoded, so a key cannot change the URL's shape. Each
//! attempt has a timeout; a connection error, a timeout, a 5xx or a 429 is retried with
//! exponential backoff (other statuses fail at once); at most `concurrency` requests run at
//! a time, whatever the table's parallelism. A failure names the key, interval, URL, status and
//! the start of the body.

use std::sync::Arc;
use std::time::Duration;

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::datatypes::SchemaRef;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::sync::Semaphore;

use crate::decode::{Format, decode};
use crate::fetch::{FetchError, FetchRequest, Fetcher};
use crate::interval::RangeKind;

/// What a placeholder's value may keep unencoded: RFC 3986's unreserved characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How many bytes of an error body a failure quotes.
const QUOTED_BODY: usize = 200;

/// GETs a URL per fetch.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    url: String,
    format: Format,
    schema: SchemaRef,
    kind: RangeKind,
    headers: Vec<(String, String)>,
    key_columns: Vec<String>,
    timeout: Duration,
    retries: u32,
    backoff: Duration,
    client: reqwest::Client,
    slots: Arc<Semaphore>,
}

/// The defaults of [`HttpFetcher::new`].
impl HttpFetcher {
    /// Each attempt's timeout by default.
    pub const TIMEOUT: Duration = Duration::from_secs(crate::source::defaults::TIMEOUT_SECONDS);
    /// Retries after the first attempt by default.
    pub const RETRIES: u32 = crate::source::defaults::HTTP_RETRIES;
    /// The pause before the first retry by default (doubled for each next one).
    pub const BACKOFF: Duration = Duration::from_millis(200);
    /// Requests at once by default.
    pub const CONCURRENCY: usize = crate::source::defaults::HTTP_CONCURRENCY;

    /// Fetch from `url` (a template), decoding `format` into `schema`, ticks written as `kind`.
    pub fn new(url: &str, format: Format, schema: SchemaRef, kind: RangeKind) -> HttpFetcher {
        HttpFetcher {
            url: url.to_string(),
            format,
            schema,
            kind,
            headers: Vec::new(),
            key_columns: Vec::new(),
            timeout: Self::TIMEOUT,
            retries: Self::RETRIES,
            backoff: Self::BACKOFF,
            client: reqwest::Client::new(),
            slots: Arc::new(Semaphore::new(Self::CONCURRENCY)),
        }
    }

    /// Each attempt's timeout (connecting and reading the body).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retries after the first attempt, the first after `backoff`, each next after twice the
    /// pause before.
    pub fn retries(mut self, retries: u32, backoff: Duration) -> Self {
        self.retries = retries;
        self.backoff = backoff;
        self
    }

    /// The most requests at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.slots = Arc::new(Semaphore::new(n.max(1)));
        self
    }

    /// Send `name: value` with every request (an API key, `Accept`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The table's key columns, for `{key.NAME}` placeholders.
    pub fn key_columns(mut self, columns: &[String]) -> Self {
        self.key_columns = columns.to_vec();
        self
    }

    /// The URL of one fetch.
    pub fn url_of(&self, req: &FetchRequest<String>) -> String {
        req.render(&self.url, self.kind, &self.key_columns, |s| {
            utf8_percent_encode(s, UNRESERVED).to_string()
        })
    }

    /// One attempt: the body, or why not and whether to try again.
    async fn attempt(&self, url: &str) -> Result<Vec<u8>, (String, bool)> {
        let mut request = self.client.get(url).timeout(self.timeout);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| (describe(&e), true))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| (describe(&e), true))?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        let quoted = String::from_utf8_lossy(&body[..body.len().min(QUOTED_BODY)]).into_owned();
        let again = status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
        Err((format!("HTTP {status}: {}", quoted.trim()), again))
    }
}

/// A transport error with its causes (reqwest's own message omits them).
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl Fetcher<String> for HttpFetcher {
    async fn fetch(&self, req: &FetchRequest<String>) -> Result<RecordBatch, FetchError> {
        let url = self.url_of(req);
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| FetchError::of(req, e))?;
        let mut pause = self.backoff;
        let mut attempt = 0;
        let body = loop {
            attempt += 1;
            match self.attempt(&url).await {
                Ok(body) => break body,
                Err((why, again)) if again && attempt <= self.retries => {
                    tracing::debug!(url, attempt, "retrying after {why}");
                    tokio::time::sleep(pause).await;
                    pause = pause.saturating_mul(2);
                }
                Err((why, _)) => {
                    return Err(FetchError::of(
                        req,
                        format!("GET {url} failed after {attempt} attempt(s): {why}"),
                    ));
                }
            }
        };
        decode(body, self.format, &self.schema)
            .map_err(|e| FetchError::of(req, format!("GET {url}: {e}")))
    }
}
